"""What `cpcm due` lists from the due view (service/dueview.py), for `now`: the items picked and
their printed lines, made in bulk.

The view's items are in the order of (due time, risk, case, place in the case), in columns of
numbers (`array`). Which of them `due` lists, and in which state, is decided over whole columns
with `map`, `compress` and `bisect` (the loops run in C): the items whose piece of time holds
`now` (decided once per distinct piece), inside the window, for the worker asked for (covers of
the case included). An item is overdue when its due time has passed: those are a prefix of the
order (`bisect`). Of the others, its target passed (where there is one) or within the due-soon
window or later is decided from its "aim", the target where there is one, else the due time.
The items cpcm calls URGENT (`deadlines.is_urgent`: a few, found by their static texts, which
the view names) are taken out first and listed before every other item, in groups of their own
by state (`GROUP_STATES`). Each group's items stay in the view's order, which is the order
`deadlines.urgency` sorts them in; what is computed each time (conference items, a case whose
answer is not kept) is put in its place (bisect, after the kept items it ties with).

The plain lines: an item's line is its state's label, its case, title and due time as the view
keeps them printed, the "when" (hours or days to or since the due time), and its owner and
reason. Within a group the due times only grow, and
the "when" text is the same over one stretch of due times (`when` gives each text over one
interval of hours, as the CLI's does), so it is computed once per stretch (bisect by the text)
and the lines of a stretch are one join of their cells, laid out by slice assignments from the
columns: no call, format or object per line.

This module only reads a view: it is not part of the view's tag (views.py), so changing how
`due` prints never makes a view again.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import compress, filterfalse, islice, repeat
from operator import add, and_, floordiv, is_, itemgetter, le, mod, or_, sub
from typing import Any, Callable, Iterator, Sequence

from cpcm.domain.policy import risk_rank
from cpcm.service import tables
from cpcm.service.dueview import NO_TARGET, ViewBody, cell
from cpcm.workflow.approvals import may_decide
from cpcm.workflow.clocks import MANAGERS, SUPERVISORS
from cpcm.workflow.deadlines import OVERSEEN_CODES, STATES, Deadline, is_urgent

_TICK = timedelta(microseconds=1)
# The groups `due` lists, in order: the items cpcm calls URGENT (deadlines.is_urgent) in each
# state, then every other item in each state. Each group's state, by its number in STATES.
GROUP_STATES = tuple(range(len(STATES))) * 2
_OTHERS = len(STATES)  # the number of the first group of the items not urgent
PIECE = 20_000  # lines written at once: the output is never held whole
JSON_PIECE = 2_000  # objects of `due --json` made at once (about 1 MB of text)


class LocalClock:
    """Instants (`tables.instant`) in `zone`, by arithmetic: the zone's offset looked up once per
    hour of time (where it is the same over the whole hour; else each instant asks the zone) and
    each day's date once (a fifth of the time of a datetime per instant)."""

    HOUR, DAY, MINUTE = 3_600_000_000, 86_400_000_000, 60_000_000

    def __init__(self, zone):
        self.zone = zone
        # an hour since 1970 -> (its offset in microseconds, the offset's text, as UTF-8), or None where it changes within the hour
        self._hours = _Table(self._offset, 100_000)
        self._days = _Table(self._day_offset)  # a day since 1970 -> its offset as `_hours`, where it is the same all day
        self._dates = _Table(lambda day: (_NAIVE_EPOCH + timedelta(days=day)).date().isoformat())  # a local day -> its date
        self._clock = [f"{hour:02d}:{minute:02d}" for hour in range(24) for minute in range(60)]
        self._t_clock = ["T" + text for text in self._clock]
        self._t_clock_bytes = [text.encode() for text in self._t_clock]
        self._date_bytes = _Table(lambda day: self._dates[day].encode())

    def _offset(self, hour: int) -> tuple[int, str, bytes] | None:
        first = datetime.fromtimestamp(hour * 3600, self.zone)
        last = datetime.fromtimestamp(hour * 3600 + 3599, self.zone)
        if first.utcoffset() != last.utcoffset():
            return None
        text = first.isoformat(timespec="minutes")[16:]
        return first.utcoffset() // _TICK, text, text.encode()

    def _day_offset(self, day: int) -> tuple[int, str, bytes] | None:
        """A day of UTC's offset, where it is the same at each of its hours' starts and the next
        day's (so each hour's, as `_offset` sees it); else None."""
        first = day * 86_400
        if len({datetime.fromtimestamp(first + 3_600 * hour, self.zone).utcoffset() for hour in range(25)}) > 1:
            return None
        return self._hours[day * 24]

    def text(self, at: int) -> str:
        """As `datetime.isoformat(timespec="minutes")` writes the instant in the zone."""
        found = self._hours[at // self.HOUR]
        if found is None:
            return tables.time_of([at], self.zone).isoformat(timespec="minutes")
        day, rest = divmod(at + found[0], self.DAY)
        return f"{self._dates[day]}T{self._clock[rest // self.MINUTE]}{found[1]}"

    def columns(self, ats: Sequence[int], utf8: bool = False) -> tuple[list, list, list]:
        """`text` of each instant of `ats` in three parts whose concatenation is its text: the date,
        "T" and the clock time, the offset (`utf8`: each part as its UTF-8 bytes). Made over whole
        columns (the loops run in C): a call per distinct day (and hour, on a day the offset
        changes), not per instant; instants in order (a list's due times) a stretch of one local
        day at a time."""
        if all(map(le, ats, islice(ats, 1, None))):
            return self._ordered_columns(ats, utf8)
        days = list(map(self._days.__getitem__, map(floordiv, ats, repeat(self.DAY))))
        odd = list(compress(range(len(days)), map(is_, days, repeat(None))))
        for i in odd:  # a day on which the offset changes: each instant alone
            days[i] = (0, "", b"")
        walls = list(map(add, ats, map(itemgetter(0), days)))
        dated, clock = (self._date_bytes, self._t_clock_bytes) if utf8 else (self._dates, self._t_clock)
        dates = list(map(dated.__getitem__, map(floordiv, walls, repeat(self.DAY))))
        clocks = list(map(clock.__getitem__, map(floordiv, map(mod, walls, repeat(self.DAY)), repeat(self.MINUTE))))
        offsets = list(map(itemgetter(2 if utf8 else 1), days))
        empty = b"" if utf8 else ""
        for i in odd:
            text = self.text(ats[i])
            dates[i], clocks[i], offsets[i] = text.encode() if utf8 else text, empty, empty
        return dates, clocks, offsets

    def _ordered_columns(self, ats: Sequence[int], utf8: bool) -> tuple[list, list, list]:
        """`columns` of instants in order: each stretch within one day of UTC and one local day
        has one date and one offset, and its clock times are minutes since the local day began."""
        dates: list = []
        clocks: list = []
        offsets: list = []
        dated, clock, empty = (self._date_bytes, self._t_clock_bytes, b"") if utf8 else (self._dates, self._t_clock, "")
        i, count = 0, len(ats)
        while i < count:
            day = ats[i] // self.DAY
            found = self._days[day]
            if found is None:  # a day on which the offset changes: each instant alone
                j = bisect_left(ats, (day + 1) * self.DAY, i)
                texts = map(self.text, ats[i:j])
                dates += map(str.encode, texts) if utf8 else texts
                clocks += repeat(empty, j - i)
                offsets += repeat(empty, j - i)
                i = j
                continue
            offset, offset_text = found[0], found[2 if utf8 else 1]
            local_day = (ats[i] + offset) // self.DAY
            start = local_day * self.DAY - offset  # the instant the local day began
            j = bisect_left(ats, min((day + 1) * self.DAY, start + self.DAY), i)
            dates += repeat(dated[local_day], j - i)
            clocks += map(clock.__getitem__, map(floordiv, map(sub, ats[i:j], repeat(start)), repeat(self.MINUTE)))
            offsets += repeat(offset_text, j - i)
            i = j
        return dates, clocks, offsets

    def wall(self, at: int) -> int:
        """The instant's local time (the clock on the wall) as microseconds since 1970-01-01 00:00."""
        found = self._hours[at // self.HOUR]
        if found is None:
            return (tables.time_of([at], self.zone).replace(tzinfo=None) - _NAIVE_EPOCH) // _TICK
        return at + found[0]


class _Table(dict):
    """A dictionary that makes the value of a key it lacks (`make(key)`) and keeps it while it
    holds fewer than `most` keys: `map(table.__getitem__, keys)` calls `make` once per new key."""

    def __init__(self, make: Callable[[int], Any], most: int | None = None):
        super().__init__()
        self.make, self.most = make, most

    def __missing__(self, key: int) -> Any:
        value = self.make(key)
        if self.most is None or len(self) < self.most:
            self[key] = value
        return value


def wall_state(due: int, target: int | None, now: int, soon: int) -> str:
    """`Deadline.state` on local times (microseconds, `LocalClock.wall`): what it gives when `now`
    and the deadline's times share one tzinfo, as Python then compares and subtracts them by
    their clock times, not as instants (a change of the clocks between them moves the edges)."""
    if now > due:
        return "overdue"
    if target is not None and now > target:
        return "target_missed"
    return "due_soon" if (due if target is None else target) - now <= soon else "upcoming"


_NAIVE_EPOCH = datetime(1970, 1, 1)


class DueView:
    """What `cpcm due` lists, from the view: a Sequence of Deadlines in `deadlines.urgency` order
    (made as read, for --json, --ics and a table on a terminal) and `plain_text`, the printed
    lines made from the text kept ready."""

    def __init__(self, body: ViewBody, zone, now: datetime, soon: timedelta, horizon: datetime, whose: str, oversees: bool,
                 overdue_only: bool, extra: list[Deadline], covering: Callable[[dict], bool], hidden: Sequence[int] = (),
                 unattended: Any = frozenset(), removed: Any = frozenset(),
                 undecided: Any = None, manages: bool = False):
        """`removed`: the workers not active members of the team (`rules.off_team`);
        `unattended`: the same when this list holds the deadlines of the cases they still have,
        whenever they fall (`rules.sees_unattended`), else empty. Those deadlines, and any of them
        listed otherwise, are listed as computed now, marked `worker_removed`. `undecided`: the
        waiting approvals nobody in the team may decide (`rules.NobodyDecides`), listed as
        computed now on the list of whoever can act on each (`NobodyDecides.holder`) and every case's, marked `nobody_may_decide`.
        `manages`: whether the list holds the items only a manager acts on (`clocks.MANAGERS`: a
        closed case's retention; `worklist.manages_list`)."""
        self.body, self.zone, self.now, self.soon, self.whose = body, zone, now, soon, whose
        items = body.items
        now_us, last, soon_us = tables.instant(now), tables.instant(horizon), soon // _TICK
        dues = items["due"]
        n = len(dues)
        aim = items["aim"]
        # the piece of now (lo <= now < hi: decided once per piece), inside the window (aim <= last)
        now_in = [lo <= now_us < hi for lo, hi in zip(items["piece_lo"], items["piece_hi"])]
        keep: Any = map(and_, map(now_in.__getitem__, items["piece"]), map(last.__ge__, aim))
        covered: set[int] = set()
        if whose != "all":
            inside = list(keep)
            mine = self._mine(body, whose, oversees, manages)
            covered = self._covered(body, whose, oversees, covering, mine)
            keep = list(map(and_, inside, mine))
            for k in covered:
                keep[k] = inside[k]
        elif not manages and MANAGERS in body.owners:  # every case's list: a manager's only holds the retention items
            keep = list(map(and_, keep, map(body.owners.index(MANAGERS).__ne__, items["owner"])))
        if hidden:  # the items of cases changed since the view was written (theirs are in `extra`)
            keep = list(keep)
            for k in hidden:
                keep[k] = False
        orphans = self._orphans(body, removed, now_in, hidden) if removed else []
        if orphans:  # the deadlines of a case nobody has: listed as computed now, marked so
            keep = list(keep)
            extra = list(extra)
            for k in orphans:
                listed = (not overdue_only or dues[k] < now_us) if unattended else keep[k]
                keep[k] = False
                if listed:
                    made = replace(self.deadline(~k if k in covered else k), worker_removed=True)
                    extra.append(undecided.told(made) if undecided is not None else made)
        reworded = self._reworded(body, undecided, now_in, hidden, orphans) if undecided is not None else []
        if reworded:  # what waits on a closure whose ways out differ in this team: listed as computed now, worded for it
            keep = list(keep)
            extra = list(extra)
            for k in reworded:
                listed = keep[k] and (not overdue_only or dues[k] < now_us)  # as the view's own items are (`_states`)
                keep[k] = False
                if listed:
                    extra.append(undecided.told(self.deadline(~k if k in covered else k)))
        stuck = self._undecided(body, undecided, now_in, hidden) if undecided is not None else []
        if stuck:  # approvals nobody may decide: off the supervisors' lists, on the list of whoever can act, marked so
            keep = list(keep)
            extra = list(extra)
            for k in stuck:
                keep[k] = False
                if aim[k] <= last and (not overdue_only or dues[k] < now_us):
                    stuck_item, case_worker = self.deadline(k), body.worker(items["case"][k])
                    if undecided.sees(whose, stuck_item, case_worker):
                        extra.append(undecided.marked(stuck_item, case_worker))
        picked = list(compress(range(n), keep))
        # the items cpcm calls URGENT (a few) are a group listed before the rest, each state's
        # apart: within every group the due times still only grow
        urgent = self._urgent(body, picked)
        if urgent:
            gone = set(urgent)
            picked = list(filterfalse(gone.__contains__, picked))
        buckets = self._states(urgent, dues, aim, now_us, soon_us, overdue_only) + \
            self._states(picked, dues, aim, now_us, soon_us, overdue_only)
        self.special = [False] * len(buckets)  # whether a group holds an item not printed in bulk
        if covered:
            for group, bucket in enumerate(buckets):
                if not covered.isdisjoint(bucket):
                    buckets[group] = [~k if k in covered else k for k in bucket]
                    self.special[group] = True
        # what is computed each time, in its place: after the kept items it ties with (they come first in
        # the order `due` lists before sorting: the cases' rows, then the conference items)
        for item in extra:
            group = STATES.index(item.state(now, soon)) + (0 if is_urgent(item) else _OTHERS)
            key = (tables.instant(item.due), risk_rank(item.risk), item.case_id)
            bucket = buckets[group]
            bucket.insert(bisect_right(bucket, key, key=self._key), (key, item))
            self.special[group] = True
        self.buckets = buckets  # per group (GROUP_STATES), its items in order
        self._selected: list | None = None

    @staticmethod
    def _states(picked: list[int], dues, aim, now_us: int, soon_us: int, overdue_only: bool) -> list[list[int]]:
        """View items `picked` (in the view's order) by state, in the order of STATES."""
        # overdue (due < now) is a prefix of the order; of the rest, by the aim: target missed
        # (aim < now, only where there is a target: else the aim is the due time, not passed),
        # due soon (aim - now <= soon), upcoming
        split = bisect_left(picked, bisect_left(dues, now_us))
        buckets: list[list] = [picked[:split], [], [], []]
        if not overdue_only and split < len(picked):
            rest = picked[split:]
            rest_aims = list(map(aim.__getitem__, rest))
            edge = now_us + soon_us
            buckets[1] = list(compress(rest, map(now_us.__gt__, rest_aims)))
            buckets[2] = list(compress(rest, map(and_, map(now_us.__le__, rest_aims), map(edge.__ge__, rest_aims))))
            buckets[3] = list(compress(rest, map(and_, map(now_us.__le__, rest_aims), map(edge.__lt__, rest_aims))))
        return buckets

    @staticmethod
    def _urgent(body: ViewBody, picked: list[int]) -> list[int]:
        """Those of view items `picked` (in order) that cpcm calls URGENT (`ViewBody.urgent_items`), in order."""
        if not body.urgent or not picked:
            return []
        found = []
        for k in body.urgent_items():
            at = bisect_left(picked, k)
            if at < len(picked) and picked[at] == k:
                found.append(k)
        return found

    def _orphans(self, body: ViewBody, removed: frozenset[str], now_in: list[bool], hidden: Sequence[int]) -> list[int]:
        """The view's items, in the piece of `now`, that are deadlines of an open case whose worker
        is no longer on the team (`rules.unattended_item`): looked for only among the items of
        those workers (none, but for a case brought in by a sync after its worker was removed)."""
        from cpcm.workflow.rules import unattended_item

        numbers = {number for number, owner in enumerate(body.owners) if owner in removed}
        if not numbers:
            return []
        items = body.items
        pieces, gone = items["piece"], set(hidden)
        return [k for k in compress(range(len(pieces)), map(numbers.__contains__, items["owner"]))
                if now_in[pieces[k]] and k not in gone and unattended_item(self.deadline(k), removed)]

    @staticmethod
    def _reworded(body: ViewBody, undecided: Any, now_in: list[bool], hidden: Sequence[int], orphans: Sequence[int]) -> list[int]:
        """The view's items, in the piece of `now`, whose text names ways out of a closure's wait
        that this team does not have (`rules.NobodyDecides.rewords`, once per distinct text): a
        supervisor's rejection where nobody may decide it, a withdrawal whose asker left. Not those
        of `hidden` or `orphans` (listed apart, worded there)."""
        texts = body.texts
        found = {number for number in range(len(texts)) if undecided.rewords(texts[number])}
        if not found:
            return []
        items = body.items
        pieces, gone = items["piece"], set(hidden) | set(orphans)
        return [k for k in compress(range(len(pieces)), map(found.__contains__, items["static"]))
                if now_in[pieces[k]] and k not in gone]

    @staticmethod
    def _undecided(body: ViewBody, undecided: Any, now_in: list[bool], hidden: Sequence[int]) -> list[int]:
        """The view's items, in the piece of `now`, that are waiting approvals nobody in the team may
        decide (`rules.NobodyDecides`, told from who each bars): looked for only among the
        approvals' (the supervisors') items, once per distinct text."""
        owners = body.owners
        if SUPERVISORS not in owners:
            return []
        items = body.items
        pieces, statics, gone = items["piece"], items["static"], set(hidden)
        waiting = list(compress(range(len(pieces)), map(owners.index(SUPERVISORS).__eq__, items["owner"])))
        stuck = {static for static in {statics[k] for k in waiting} if undecided.barring(body.texts[static][tables.STATIC_BARRED])}
        return [k for k in waiting if statics[k] in stuck and now_in[pieces[k]] and k not in gone] if stuck else []

    @staticmethod
    def _mine(body: ViewBody, whose: str, oversees: bool, manages: bool = False) -> list[bool]:
        """Per item: whether it is for `whose` (theirs, or an approval they may decide:
        `approvals.may_decide`, as `deadlines.for_worker` asks it, once per distinct text; with
        `manages`, a closed case's retention: `clocks.MANAGERS`; with `oversees`, the items of
        `deadlines.OVERSEEN_CODES`)."""
        items = body.items
        owners = body.owners
        owner_of = items["owner"]
        whose_index = owners.index(whose) if whose in owners else -1
        mine = map(whose_index.__eq__, owner_of)
        if manages and MANAGERS in owners:
            mine = map(or_, mine, map(owners.index(MANAGERS).__eq__, owner_of))
        if oversees:  # a case's worker's item every supervisor's and manager's list holds too (deadlines.OVERSEEN_CODES)
            overseen = [static[0] in OVERSEEN_CODES for static in body.texts]
            if any(overseen):
                mine = map(or_, mine, map(overseen.__getitem__, items["static"]))
        sup_index = owners.index(SUPERVISORS) if SUPERVISORS in owners else -1
        if oversees and sup_index >= 0:
            allowed = [may_decide(whose, oversees, static[tables.STATIC_BARRED]) for static in body.texts]
            decides = map(and_, map(sup_index.__eq__, owner_of), map(allowed.__getitem__, items["static"]))
            mine = map(or_, mine, decides)
        return list(mine)

    @staticmethod
    def _covered(body: ViewBody, whose: str, oversees: bool, covering: Callable[[dict], bool], mine: list[bool]) -> set[int]:
        """The items on the list as covered: their case's worker's, while `whose` covers the case
        (a colleague covering it; a supervisor or manager never covers: they read every case)."""
        if oversees:
            return set()
        owners = body.owners
        cases: dict[int, int] = {}  # case -> its worker's number among the owners
        for index, covers in body.covers.items():
            worker = body.worker(index)
            if whose != worker and covering(covers):
                cases[index] = owners.index(worker) if worker in owners else -2
        if not cases:
            return set()
        items = body.items
        case_of, owner_of = items["case"], items["owner"]
        return {k for k in compress(range(len(case_of)), map(cases.__contains__, case_of))
                if not mine[k] and cases[case_of[k]] == owner_of[k]}

    def _key(self, x) -> tuple:
        if isinstance(x, tuple):
            return x[0]
        k = ~x if x < 0 else x
        items = self.body.items
        return (items["due"][k], items["rank"][k], self.body.ids[items["case"][k]])

    @property
    def selected(self) -> list:
        """The items listed, in order: a number k for the view's item k (~k: listed as covered), or
        (key, Deadline) for one computed now."""
        if self._selected is None:
            self._selected = [x for bucket in self.buckets for x in bucket]
        return self._selected

    def __len__(self) -> int:
        return sum(map(len, self.buckets))

    def deadline(self, x) -> Deadline:
        if isinstance(x, tuple):
            return x[1]
        k = ~x if x < 0 else x
        body = self.body
        due, target = body.codes(k)
        code, title, owner, rule, why, source, risk, requested_by, barred = body.texts[body.items["static"][k]]
        case_id = body.ids[body.items["case"][k]]
        return Deadline(case_id, code, title, tables.time_of(due, self.zone), tables.time_of(target, self.zone), owner, rule,
                        tables.unmarked(why, case_id), source, risk, requested_by, tuple(barred), self.whose if x < 0 else None)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.deadline(x) for x in self.selected[index]]
        return self.deadline(self.selected[index])

    def __iter__(self) -> Iterator[Deadline]:
        for x in self.selected:
            yield self.deadline(x)

    def tally(self, counted: Callable[[str, str, bool], bool]) -> tuple[list[str], list[str]]:
        """The case of each item listed that is URGENT and not overdue, and of each overdue item, of
        those `counted(owner, code, worker_removed)` keeps: told from the view's columns by the group
        each item is in, without a Deadline made for each (a supervisor's `due` counts the team's
        lists: at 100,000 cases, hundreds of thousands of items)."""
        body, urgent, overdue = self.body, [], []
        texts, ids, static_of, case_of = body.texts, body.ids, body.items["static"], body.items["case"]
        kept: dict[int, bool] = {}  # a static text's number (its code and owner: `deadline`) -> counted, asked once each
        for group, bucket in enumerate(self.buckets):
            if group >= _OTHERS and GROUP_STATES[group] != 0:
                continue  # neither URGENT nor overdue
            into = overdue if GROUP_STATES[group] == 0 else urgent
            for x in bucket:
                if isinstance(x, tuple):
                    item = x[1]
                    if counted(item.owner, item.code, bool(getattr(item, "worker_removed", False))):
                        into.append(item.case_id)
                    continue
                k = ~x if x < 0 else x
                static = static_of[k]
                keep = kept.get(static)
                if keep is None:
                    code, _title, owner = texts[static][:3]
                    keep = kept[static] = counted(owner, code, False)
                if keep:
                    into.append(ids[case_of[k]])
        return urgent, overdue

    def plain_text(self, header: str, labels: Sequence[str], when: Callable[[float], str],
                   row: Callable[[Deadline], list[str]]) -> Iterator[str]:
        """The lines `print_table` prints when it draws no table, in pieces of at most PIECE lines:
        `header`, then per item its state's label (`labels`, in the order of deadlines.STATES), the
        case, what, the due time, `when(hours until due)`, the owner and why. `when` must give each
        text over one interval of hours (it is asked once per stretch of equal texts). `row(item)`:
        the cells of an item computed each time."""
        body = self.body
        tails = [f"{cell(body.owners[o])}\t{body.whys[w]}\n" for o, w in body.tails]
        yield header + "\n"
        for group, bucket in enumerate(self.buckets):
            label = labels[GROUP_STATES[group]]
            alone: list[str] = []
            for run in (self._runs(bucket) if self.special[group] else [bucket]):
                if run.__class__ is not list:
                    alone.append(self._line(run, label, when, row) + "\n")
                    if len(alone) >= PIECE:
                        yield "".join(alone)
                        alone.clear()
                    continue
                if alone:
                    yield "".join(alone)
                    alone.clear()
                for start in range(0, len(run), PIECE):
                    yield self._bulk(run[start:start + PIECE], label, when, tails)
            if alone:
                yield "".join(alone)

    def json_items(self) -> Iterator[bytes]:
        """What `due --json` prints, item by item, as UTF-8: each item's object as `json.dumps([item.to_json(now,
        soon) for item in self], indent=2, ensure_ascii=False)` writes it inside the list (see
        `cli.common.write_json_list`). A view item's object is made from parts turned into JSON once
        (its static text's fields, its case id, its due and target times), not a Deadline and a dict
        per item (at 100,000 cases the whole list held as objects and then as one text took 4-6 s
        and 400-700 MB). The parts are bytes, joined as bytes: a text holding one character
        beyond ASCII (the sources' "§") is encoded a character at a time, and the 49 MB of text at
        100,000 cases took 0.12 s to encode."""
        import json
        from json.encoder import encode_basestring

        def quoted(value: Any) -> str:  # a field's value as json.dumps(the list, indent=2, ensure_ascii=False) writes it
            if value.__class__ is str:
                return encode_basestring(value)
            return json.dumps(value, indent=2, ensure_ascii=False, default=str).replace("\n", "\n    ")

        body, zone = self.body, self.zone
        clock = LocalClock(zone)
        minutes = clock.text
        items, odd, ids, texts = body.items, body.odd, body.ids, body.texts
        due_of, target_of, static_of, case_of = items["due"], items["target"], items["static"], items["case"]
        # an item's state is its list's (decided on instants); `to_json` decides it on clock times when `now`
        # has the view's zone: the two differ only near `now` or the due-soon edge, across a change of the
        # clocks (offsets differ by a day at most), so there it is decided again as `to_json` does
        now_us, soon_us, aims = tables.instant(self.now), self.soon // _TICK, items["aim"]
        near = 2 * clock.DAY if self.now.tzinfo is zone else 0
        edge, now_wall = now_us + soon_us, (self.now.replace(tzinfo=None) - _NAIVE_EPOCH) // _TICK  # as `now` reads on its clock

        def state_near(k: int, x: int) -> str:
            if odd and str(k) in odd:
                found = self.deadline(x).state(self.now, self.soon)
            else:
                target = target_of[k]
                found = wall_state(clock.wall(due_of[k]), None if target == NO_TARGET else clock.wall(target), now_wall, soon_us)
            return f',\n    "state": "{found}"'

        def static_parts(number: int) -> tuple[str, str]:
            """A static text's fields before the due time and after the state."""
            code, title, owner, rule, why, source, risk, _requested_by, _barred = texts[number]
            return (f',\n    "code": {quoted(code)},\n    "title": {quoted(title)},\n    "due": ',
                    f',\n    "owner": {quoted(owner)},\n    "rule": {quoted(rule)},\n    "why": {quoted(why)},'
                    f'\n    "source": {quoted(source)},\n    "risk": {quoted(risk)}')

        statics = _Table(static_parts)  # a static text's number -> its fields before and after the times
        covered = f',\n    "covered_by": {quoted(self.whose)}\n  }}' if self.whose else "\n  }"  # to_json leaves out an empty one

        def iso(code: Any) -> str:
            return "null" if code is None else f'"{tables.time_of(code, zone).isoformat(timespec="minutes")}"'

        marked = encode_basestring(tables.CASE_MARK)[1:-1]  # the mark as a JSON string holds it

        def item(x: int, state: str) -> str:
            """View item x's object (~k: item k, listed as covered)."""
            k, end = (~x, covered) if x < 0 else (x, "\n  }")
            static = statics[static_of[k]]
            if marked in static[1]:  # a reason that names its case (tables.CASE_MARK): the case's ID put back
                static = (static[0], static[1].replace(marked, encode_basestring(ids[case_of[k]])[1:-1]))
            if odd and str(k) in odd:  # a time kept as its local time
                due, target = body.codes(k)
                when = f'{iso(due)},\n    "target": {iso(target)}'
            else:
                target = target_of[k]
                when = f'"{minutes(due_of[k])}",\n    "target": ' + ("null" if target == NO_TARGET else f'"{minutes(target)}"')
            aim = aims[k]
            if -near < aim - now_us < near or -near < aim - edge < near or -near < due_of[k] - now_us < near:
                state = state_near(k, x)
            return f'  {{\n    "case_id": {encode_basestring(ids[case_of[k]])}{static[0]}{when}{state}{static[1]}{end}'

        befores = _Table(lambda number: (statics[number][0] + '"').encode())  # a static text's fields before the due time, and its quote
        afters = _Table(lambda number: (statics[number][1] + "\n  },\n").encode())  # ... after the state, to the object's end and the comma
        odd_items = {int(k) for k in odd} if odd else set()
        marked_bytes = marked.encode()
        marked_afters = {number for number in range(len(texts)) if marked in statics[number][1]}  # the reasons that name a case

        def bulk(run: list[int], state: str) -> bytes:
            """The objects of view items `run` as `item` makes them, each followed by ",\\n" but the
            last: laid out over columns and joined, a call per distinct case, static text, hour and
            day rather than per item."""
            size, width = len(run), 12
            dues, targets = list(map(due_of.__getitem__, run)), list(map(target_of.__getitem__, run))
            none = list(compress(range(size), map(NO_TARGET.__eq__, targets)))
            for i in none:
                targets[i] = 0
            kinds = list(map(static_of.__getitem__, run))
            state_end = ('"' + state).encode()
            cells: list[bytes] = [state_end] * (width * size)
            cells[0::width] = repeat(b'  {\n    "case_id": ', size)
            cells[1::width] = map(str.encode, map(encode_basestring, map(ids.__getitem__, map(case_of.__getitem__, run))))
            cells[2::width] = map(befores.__getitem__, kinds)
            cells[3::width], cells[4::width], cells[5::width] = clock.columns(dues, utf8=True)
            cells[6::width] = repeat(b'",\n    "target": "', size)
            cells[7::width], cells[8::width], cells[9::width] = clock.columns(targets, utf8=True)
            cells[11::width] = map(afters.__getitem__, kinds)
            if marked_afters:  # a reason that names its case (tables.CASE_MARK): the case's ID put back
                for i in compress(range(size), map(marked_afters.__contains__, kinds)):
                    cells[width * i + 11] = cells[width * i + 11].replace(
                        marked_bytes, encode_basestring(ids[case_of[run[i]]])[1:-1].encode())
            for i in none:
                cells[width * i + 6:width * i + 11] = [b'",\n    "target": null', b"", b"", b"", state.encode()]
            # made whole by `item`: an item whose time is kept as its local time, and one near `now`
            # or the due-soon edge (its state decided again)
            again = set(compress(range(size), map(odd_items.__contains__, run))) if odd_items else set()
            if near:  # (the due times only grow along a run)
                again.update(range(bisect_right(dues, now_us - near), bisect_left(dues, now_us + near)))
                aims_run = list(map(aims.__getitem__, run))
                for lo, hi in ((now_us - near, now_us + near), (edge - near, edge + near)):
                    again.update(compress(range(size), map(and_, map(lo.__lt__, aims_run), map(hi.__gt__, aims_run))))
            for i in again:
                cells[width * i:width * (i + 1)] = [(item(run[i], state) + ",\n").encode()] + [b""] * (width - 1)
            last = len(cells) - 1 if cells[-1] else len(cells) - width  # the last item's last cell: no ",\n" after it
            cells[last] = cells[last][:-2]
            return b"".join(cells)

        for group, bucket in enumerate(self.buckets):
            state_field = f',\n    "state": "{STATES[GROUP_STATES[group]]}"'
            for run in (self._runs(bucket) if self.special[group] else [bucket]):
                if run.__class__ is list:
                    for start in range(0, len(run), JSON_PIECE):
                        yield bulk(run[start:start + JSON_PIECE], state_field)
                elif run.__class__ is tuple:  # computed now: its own object
                    yield ("  " + json.dumps(run[1].to_json(self.now, self.soon), indent=2, ensure_ascii=False,
                                             default=str).replace("\n", "\n  ")).encode()
                else:
                    yield item(run, state_field).encode()

    @staticmethod
    def _runs(bucket: list) -> Iterator[Any]:
        """A state's items: lists of view items printed in bulk, and each other item alone."""
        run: list[int] = []
        for x in bucket:
            if x.__class__ is int and x >= 0:
                run.append(x)
                continue
            if run:
                yield run
                run = []
            yield x
        if run:
            yield run

    def _line(self, x, label: str, when: Callable[[float], str], row: Callable[[Deadline], list[str]]) -> str:
        """The line of an item computed now, or of a view item listed as covered."""
        if x.__class__ is tuple:
            return "\t".join(cell(v) for v in row(x[1]))
        body = self.body
        k = ~x
        items = body.items
        hours = (items["due"][k] - tables.instant(self.now)) / 10**6 / 3600
        owner = cell(f"{body.owners[items['owner'][k]]} (covered by {self.whose})")
        why = tables.unmarked(body.whys[items['why'][k]], body.ids[items["case"][k]])  # the case's ID in it (tables.CASE_MARK)
        return f"{label}\t{body.local[k]}\t{when(hours)}\t{owner}\t{why}"

    def _bulk(self, run: list[int], label: str, when: Callable[[float], str], tails: list[str]) -> str:
        """The lines of view items `run` (in the view's order: their due times only grow), each
        ending in a line break. `tails`: each (owner, why) pair's end of line."""
        body = self.body
        items = body.items
        now_us = tables.instant(self.now)
        dues = list(map(items["due"].__getitem__, run))
        middle, tail_of, ids, case_of = body.local, items["tail"], body.ids, items["case"]
        marked_tails = {n for n, tail in enumerate(tails) if tables.CASE_MARK in tail}

        def text(i: int) -> str:
            return when((dues[i] - now_us) / 10**6 / 3600)

        head = f"{label}\t"
        made: list[str] = []
        start, count = 0, len(run)
        while start < count:
            said = text(start)
            # the first item after `start` whose text differs (the texts are in stretches)
            end = bisect_right(range(count), False, lo=start + 1, key=lambda i: text(i) != said)
            part = run[start:end]
            size = len(part)
            # per line: the label, the text kept (case, title, due time), the when, the owner and why
            cells: list[str] = [head] * (4 * size)
            cells[1::4] = map(middle.__getitem__, part)
            cells[2::4] = [f"\t{said}\t"] * size
            cells[3::4] = map(tails.__getitem__, map(tail_of.__getitem__, part))
            if marked_tails:  # a reason that names its case, as the view keeps it (tables.CASE_MARK): the case's ID put back
                for i, k in enumerate(part):
                    if tail_of[k] in marked_tails:
                        cells[4 * i + 3] = tables.unmarked(cells[4 * i + 3], ids[case_of[k]])
            made.append("".join(cells))
            start = end
        return "".join(made)
