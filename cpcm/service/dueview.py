"""The due view: every deadline of every case the worker reads, kept for one version of the
`cases` folder (service/views.py: the tree id, the cases changed since read again, the last
commit described), ordered by due time, so that `cpcm due` reads one file and makes no object per
deadline for what it prints.

What it holds is the due table's (service/tables.py): each case's deadlines as
`workflow/deadlines.py` computed them, for every time over which they stay the same
(`workflow/intervals.py`: a piece [lo, hi) of time per answer). Every deadline of every piece is
one item, with its piece (the bounds kept once per distinct piece), its due time, target and aim
(the target, else the due time) as instants, its risk rank, its case,
its owner, and the text `cpcm due` prints for it that does not depend on `now` (the case, the
title, the due time in the agency's zone; the reason with the rule's source). `due` keeps the
items whose piece holds `now` and that are for the worker asked for, inside the window, and
decides each one's state from the instants: since the items are in the order of (due time, risk,
case), each state's items come out in the order `deadlines.urgency` sorts them, with no sort (the
few items cpcm calls URGENT, which it lists first, are found by their static texts, named in
`urgent`).
The view is used while `now` lies where every case's pieces reach; outside, it is made again.
What `due` picks from it for `now`, and how it prints the lines, is service/duelines.py (not part
of the tag: how `due` reads a view never makes it again).

What cannot be kept exactly is computed each time: a case whose deadlines depend on `now`
otherwise than by comparison (tables.py gives no entry), a case that cannot be read; the
conference items (service/conferences.py `due_items`, from the conference folders), the
supervision items (service/supervision.py `due_items`, from the supervision folders) and the
complaint items (service/complaints.py `due_items`, of the complaints the worker reads), with the
conference after an admission from the rows kept here, and the `case-readers` item, due at once, of each case
whose `recipients` file has `# rekey:` lines, from the mark kept here (`rekey_items`: no case read). Those are put
in their place in the order.
Its tag adds to the due table's (the code, the policy in force, the zone) this module's code.
"""
from __future__ import annotations

import json
import re
import secrets
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

from cpcm.domain.policy import risk_rank
from cpcm.service import tables, views
from cpcm.store.memo import file_key
from cpcm.workflow.deadlines import URGENT, Deadline

if TYPE_CHECKING:
    from cpcm.service.duelines import DueView

DUE = "due"


_text_key = json.JSONEncoder(separators=(",", ":")).encode  # a static text's key, and its line in the view


# the key (`_text_key`) of the static text of an item cpcm calls URGENT: its code, then its title with the mark
_URGENT_KEY = re.compile(r'\["[a-z0-9-]*",' + re.escape(_text_key(URGENT)[:-1]))


def _urgent_texts(keys: Iterable[str]) -> list[int]:
    """The numbers of the static texts (by their keys, in the order of their numbers) of the items
    cpcm calls URGENT (`deadlines.is_urgent`: the title's mark): `due` lists those items first (duelines.py)."""
    match = _URGENT_KEY.match
    return [n for n, key in enumerate(keys) if match(key)]


def cell(value: Any) -> str:
    return "" if value is None else str(value).replace("\t", " ").replace("\n", " ")


NONE_LO, NONE_HI = -(2 ** 63), 2 ** 63 - 1  # an unbounded piece, in the columns of 64-bit instants
NO_TARGET = -(2 ** 63)
# columns of 64-bit ints ('q'): per item its due time, target (NO_TARGET: none) and aim (the target,
# else the due time); per case where its pieces reach; per piece of time its bounds
_INSTANTS = ("due", "target", "aim", "span_lo", "span_hi", "piece_lo", "piece_hi")
# columns of ints ('i'): per item its risk rank, case, owner, reason, static texts, (owner, reason)
# pair and piece; per case its worker
_NUMBERS = ("rank", "case", "owner", "why", "static", "worker", "tail", "piece")


def _code_of(at: int, odd: Any) -> Any:
    """A stored time's code (tables._time_code) from its instant, or as kept when it is odd."""
    if odd is not None:
        return odd
    seconds, part = divmod(at, 1_000_000)
    return seconds if part == 0 else [at]


def _odd(code: Any) -> Any:
    """The code when the instant alone does not give it back (a local time in a gap of daylight saving)."""
    return code if isinstance(code, list) and len(code) == 3 else None


class _Builder:
    """The items of a view, case by case, then in order."""

    def __init__(self, ctx, zone):
        self.ctx, self.zone = ctx, zone
        self.cases: list[tuple] = []  # (case id, worker, covers, lo, hi): lo and hi where its pieces reach
        self.items: list[tuple] = []
        self.owners: dict[str, int] = {}
        self.whys: dict[str, int] = {}
        self.texts: dict[str, int] = {}  # a text's JSON -> its number
        self.pieces: dict[tuple[int, int], int] = {}  # a piece's bounds -> its number
        self.admission: list[list] = []
        self.keyworkers: dict[str, list] = {}  # case id -> [keyworker, risk, since] (`tables.worker_cell`)
        self.rekeys: dict[str, list] = {}  # case id -> its `# rekey:` mark, [restricted, risk] (`tables.rekey_mark`)
        self.lo: int | None = None  # the view holds while every case's pieces reach
        self.hi: int | None = None

    def add(self, case_id: str, worker: Any, covers: dict, pieces: list[tuple[int | None, int | None, int, list]]) -> None:
        """`pieces`: (lo, hi, n, [(static texts, due code, target code), ...]) as the due table has
        them (the first n the case's deadlines, the rest the conference after an admission), in
        time order: they reach from the first's lo to the last's hi. `worker`: the entry's
        (`tables.worker_cell`: the worker, or with the keyworker)."""
        from cpcm.domain.dates import local_text

        index = len(self.cases)
        first, last = pieces[0][0], pieces[-1][1]
        if "\n" in case_id or not all(isinstance(static[2], str) for _lo, _hi, n, triples in pieces for static, _, _ in triples[:n]):
            raise tables.NotKept  # before anything is added: a case not kept leaves nothing (`due` prints the owner as text)
        worker, keyworker, risk, since, rekey = tables.worker_of(worker)
        if keyworker is not None or risk is not None:  # [keyworker or None, risk, since]: `keyworker_items`, `cadre_items`
            self.keyworkers[case_id] = [keyworker, risk, since]
        if rekey is not None:  # its `case-readers` item, due at once: made when `due` runs (`rekey_items`)
            self.rekeys[case_id] = rekey
        self.cases.append((case_id, worker, covers, first, last))
        if first is not None and (self.lo is None or first > self.lo):
            self.lo = first
        if last is not None and (self.hi is None or last < self.hi):
            self.hi = last
        admission = []
        for lo, hi, n, triples in pieces:
            for position, (static, due, target) in enumerate(triples[:n]):
                code, title, owner, rule, why, source, risk, requested_by, barred = static
                local = "\t".join((cell(case_id), cell(title), cell(local_text(tables.time_of(due, self.zone), self.zone))))
                reason = cell(f"{why} ({self.ctx.policy.short_source(rule)})")
                key = _text_key(static)
                bounds = (NONE_LO if lo is None else lo, NONE_HI if hi is None else hi)
                self.items.append((tables.code_instant(due), risk_rank(risk), case_id, position,
                                   self.pieces.setdefault(bounds, len(self.pieces)),
                                   NO_TARGET if target is None else tables.code_instant(target), index,
                                   self.owners.setdefault(owner, len(self.owners)), self.whys.setdefault(reason, len(self.whys)),
                                   self.texts.setdefault(key, len(self.texts)), local, _odd(due), _odd(target)))
            if len(triples) > n:
                admission.append([lo, hi, [[*static, due, target] for static, due, target in triples[n:]]])
        if admission:
            self.admission.append([case_id, worker, admission])

    def body(self) -> tuple[dict, bytes]:
        """The view's head (its small parts, JSON) and its columns laid end to end."""
        from array import array

        self.items.sort(key=lambda item: item[:4])
        columns = {name: array("q") for name in _INSTANTS}
        columns.update({name: array("i") for name in _NUMBERS})
        local: list[str] = []
        odd: dict[str, list] = {}
        tails: dict[tuple[int, int], int] = {}
        for k, (at, rank, _case, _position, piece, target, index, owner, why, static, text, odd_due, odd_target) in \
                enumerate(self.items):
            columns["piece"].append(piece)
            columns["due"].append(at)
            columns["target"].append(target)
            columns["aim"].append(at if target == NO_TARGET else target)
            columns["rank"].append(rank)
            columns["case"].append(index)
            columns["owner"].append(owner)
            columns["why"].append(why)
            columns["static"].append(static)
            columns["tail"].append(tails.setdefault((owner, why), len(tails)))
            local.append(text)
            if odd_due is not None or odd_target is not None:
                odd[str(k)] = [odd_due, odd_target]
        workers: dict[str, int] = {}
        covers: dict[str, dict] = {}
        for index, (case_id, worker, cover, first, last) in enumerate(self.cases):
            columns["worker"].append(workers.setdefault(worker, len(workers)))
            columns["span_lo"].append(NONE_LO if first is None else first)
            columns["span_hi"].append(NONE_HI if last is None else last)
            if cover:
                covers[str(index)] = cover
        for lo, hi in self.pieces:
            columns["piece_lo"].append(lo)
            columns["piece_hi"].append(hi)
        texts = {"local": "\n".join(local), "ids": "\n".join(case[0] for case in self.cases), "texts": "\n".join(self.texts)}
        where, data = views.sections({**{name: column.tobytes() for name, column in columns.items()},
                                       **{name: text.encode() for name, text in texts.items()}})
        owners, whys = list(self.owners), list(self.whys)
        small = {"owners": owners, "whys": whys, "tails": [[o, w] for o, w in tails],
                 "workers": list(workers), "covers": covers, "keyworkers": dict(sorted(self.keyworkers.items())),
                 "rekey": dict(sorted(self.rekeys.items())), "admission": self.admission, "odd": odd, "sections": where,
                 "items": len(self.items), "cases": len(self.cases), "urgent": _urgent_texts(self.texts)}
        return small, data


class ViewBody:
    """A view's columns as read back: `items` (each column by name), the case ids, and its small
    parts. The columns are read in place in the view's bytes (`memoryview.cast`: indexed, sliced
    and iterated as the arrays they were written from), not copied out: about 14 MB at 233,000
    items."""

    def __init__(self, small: dict, data, local: list[str] | None = None, parts: dict[str, Any] | None = None):
        """`data`: the view's body, or None with `parts`, its sections' bytes by name (`views.laid_out`);
        `local`: the printed texts when they are at hand."""
        self.small = small
        if parts is None:
            whole = memoryview(data).cast("B")
            parts = {name: whole[start:end] for name, (start, end) in small["sections"].items()}
        self._parts = parts
        # TypeError: not whole items
        self.items: dict[str, Any] = {name: memoryview(parts[name]).cast("B").cast("q" if name in _INSTANTS else "i")
                                      for name in (*_INSTANTS, *_NUMBERS)}
        self.ids = self._lines("ids")
        self._local, self._texts = local, None
        self.owners, self.whys = small["owners"], small["whys"]
        self.workers, self.admission, self.odd = small["workers"], small["admission"], small["odd"]
        self.tails = small["tails"]
        self.covers = {int(k): v for k, v in small["covers"].items()}
        self.keyworkers: dict[str, list] = small["keyworkers"]  # case id -> [keyworker, risk, since] (`tables.worker_cell`)
        self.rekeys: dict[str, list] = small["rekey"]  # case id -> its `# rekey:` mark (`tables.rekey_mark`)
        self.urgent: list[int] = small["urgent"]  # the static texts of the items cpcm calls URGENT (`_urgent_texts`)

    @property
    def local(self) -> list[str]:
        """Each item's case, title and due time as printed (tab-separated), in the items' order:
        one text split at once, so the strings lie in memory in the order `due` prints them (made
        from parts kept once, they were read all over memory: twice as slow at 100,000 cases)."""
        if self._local is None:
            self._local = self._lines("local")
        return self._local

    def _lines(self, name: str) -> list[str]:
        text = str(self._parts[name], "utf-8")
        return text.split("\n") if text else []

    @property
    def text_keys(self) -> list[str]:
        """Each static text as its JSON (`_text_key`), by its number."""
        return self._lines("texts")

    @property
    def texts(self) -> list[list]:
        """Each static text (code, title, owner, rule, reason, source, risk, requested by, barred),
        by its number: read from the view once asked for (one parse of all)."""
        if self._texts is None:
            self._texts = json.loads(b"[" + bytes(self._parts["texts"]).replace(b"\n", b",") + b"]")
        return self._texts

    def worker(self, index: int) -> str:
        return self.workers[self.items["worker"][index]]

    def urgent_items(self) -> list[int]:
        """The items cpcm calls URGENT (their static text is one of `urgent`), in order: each text
        looked for in the column's bytes (a few texts, no pass over the column in Python)."""
        return _positions(self.items["static"], self.urgent) if self.urgent else []

    def codes(self, k: int) -> tuple[Any, Any]:
        odd = self.odd.get(str(k)) or (None, None)
        target = self.items["target"][k]
        return _code_of(self.items["due"][k], odd[0]), None if target == NO_TARGET else _code_of(target, odd[1])


def _pieces(entry: list, texts: dict, case_id: str) -> list[tuple] | None:
    """A due table entry's pieces with their texts (the case's ID in their titles, the reasons kept marked:
    `tables.with_case`); None when a text is missing."""
    found = []
    for piece in entry[2:]:
        triples = []
        for i in range(3, len(piece), 3):
            static = texts.get(tables.TEXT + piece[i])
            if static is None:
                return None
            triples.append((tables.with_case(static, case_id, why=False), piece[i + 1], piece[i + 2]))
        found.append((piece[0], piece[1], piece[2], triples))
    return found


def _case_pieces(ctx, session, case) -> tuple[Any, list[tuple] | None]:
    """A folded case's worker cell (`tables.worker_cell`, with its `# rekey:` mark) and pieces as `_Builder.add`
    takes them; (None, None) when they cannot be kept."""
    try:
        entry = tables.due_entry(ctx, session, case, "")
    except Exception:  # noqa: BLE001 - as tables._entry: computed each time instead
        return None, None
    return entry[1], _pieces(entry, {tables.TEXT + k: v for k, v in session.texts.items()}, case.id)


def _load(place, keys, read: dict | None = None) -> tuple[dict, Callable[[], ViewBody]] | None:
    """The view's head and what reads its body, None where there is none of `place`'s tag. `read`:
    the views this command read (`Context.views`), each kept by its file's identity and tag (a view
    written since is read again), its body made once."""
    key = (file_key(place.path), place.tag)
    if read is not None and key[0] is not None and key in read:
        return read[key]
    found = views.read_view(place.path, keys, place.tag)  # of another tag (an upgrade): its first chunk read, no more
    if found is None:
        return None
    head, data = found
    made: list[ViewBody] = []

    def body() -> ViewBody:
        if not made:
            made.append(ViewBody(head["body"], data))
        return made[0]
    if read is not None and key[0] is not None:
        read.clear()  # one view kept: the latest
        read[key] = (head, body)
    return head, body


def due_view(ctx, whose: str, oversees: bool, horizon: datetime, soon: timedelta, overdue_only: bool) -> DueView | None:
    """The items `cpcm due` lists (see `worklist.due`), from the due view brought up to date;
    None when the session keeps no views."""
    from dataclasses import replace

    from cpcm.service import complaints, conferences, confidential, supervision
    from cpcm.workflow import cover as cover_rules
    from cpcm.workflow import rules

    session = tables.session(ctx)
    if session is None:
        return None
    place = views.place_for(ctx, DUE, session.tag(ctx, "due") + sys.byteorder)  # columns in the machine's byte order
    if place is None:
        return None
    now = ctx.now
    now_us = tables.instant(now)
    loaded = _load(place, ctx.keys, ctx.views)
    head = body = None
    live: list = []
    if loaded is not None:
        head = loaded[0]
        window = head["window"]
        if (window[0] is not None and now_us < window[0]) or (window[1] is not None and now_us >= window[1]):
            loaded = None  # `now` is beyond where the cases' pieces reach: made anew
    hidden: list[int] = []
    changed: set[str] = set()
    if loaded is not None and views.unchanged(place, head):
        try:
            body = loaded[1]()
        except (KeyError, TypeError, ValueError):  # a view of another layout under the same tag: made anew
            body, loaded = None, None
        else:
            live = _live_rows(ctx, head.get("live", ()))
    elif loaded is not None:
        overlaid = _overlaid(ctx, place, loaded)
        if overlaid is not None:
            body, live, hidden, changed = overlaid
    if body is None:
        if loaded is not None:
            try:
                old = loaded[1]()
                loaded = (loaded[0], lambda: old)
            except (KeyError, TypeError, ValueError):
                loaded = None
        made = _made(ctx, session, place, loaded)
        if made is None:
            return None
        body, live = made
    removed = rules.off_team(ctx.team)
    unattended = rules.sees_unattended(whose, oversees, removed)
    undecided = rules.NobodyDecides(ctx.team)
    from cpcm.service.worklist import manages_list

    manages = manages_list(ctx, whose)  # a closed case's retention: the managers' lists only (workflow/retention.py)
    extra = []
    live_ids = {row.case_id for row in live}
    for worker, item in [(row.worker, row.deadline(entry)) for row in live for entry in row.items] + \
            rekey_items(body, live, changed | live_ids, now):
        orphan = bool(removed) and rules.unattended_item(item, removed)
        if orphan and unattended:  # whenever it falls, as `worklist.due` lists it
            keep, covered_by = not overdue_only or item.state(now, soon) == "overdue", None
        else:
            keep, covered_by = _listed(item, ctx, whose, oversees, horizon, soon, overdue_only, worker, undecided, manages)
        if keep:
            made = replace(item, covered_by=covered_by) if covered_by else item
            extra.append(undecided.told(replace(made, worker_removed=True)) if orphan
                         else undecided.marked(made, worker) if undecided(made) else undecided.told(made))
    admission_rows = [_admission_row(row, session.zone, now_us) for row in body.admission if row[0] not in changed]
    admission_rows = [row for row in admission_rows if row is not None] + [row for row in live if row.admission]
    extra += conferences.due_items(ctx, whose, horizon, overdue_only, soon,
                                   admission=lambda conferenced: tables.admission_items(ctx, admission_rows, conferenced))
    extra += supervision.due_items(ctx, whose, horizon, overdue_only, soon)  # each caseworker's next supervision session
    # the cases whose keyworker has left the team: told from the team now (`team remove` changes no case, nor the view)
    if removed:
        kept = [(case_id, body.worker(index), *body.keyworkers[case_id][:2]) for case_id, index in
                _keyworker_cases(body, removed, changed | live_ids)]
        extra += keyworker_items(ctx, whose, oversees, overdue_only, removed,
                                 kept + [(row.case_id, row.worker, row.keyworker, row.risk) for row in live if row.keyworker])
    # the open cases above what their worker's cadre may hold: told from the team now (`team cadre` changes no case)
    if rules.cadre_restricted(ctx.team, ctx.policy):
        kept = [(case_id, body.worker(index), *body.keyworkers[case_id][1:]) for case_id, index in
                _risk_cases(body, changed | live_ids)]
        extra += cadre_items(ctx, whose, oversees, overdue_only,
                             kept + [(row.case_id, row.worker, row.risk, row.cadre_since) for row in live if row.risk])
    extra += complaints.due_items(ctx, whose, horizon, overdue_only, soon)  # a response to each open complaint you read
    extra += confidential.due_items(ctx, whose, horizon, overdue_only, soon)  # an entry you read whose readers lag the team
    from cpcm.service.duelines import DueView

    return DueView(body, session.zone, now, soon, horizon, whose, oversees, overdue_only, extra,
                   lambda covers: cover_rules.covering(covers, whose, now), hidden, removed if unattended else frozenset(),
                   removed, undecided, manages)


def rekey_items(body: ViewBody, live: list, leave: set[str], now: datetime) -> list[tuple[str | None, Deadline]]:
    """The `case-readers` items, due at once (`now`), of the cases of the view marked for their readers (their
    `recipients` file's `# rekey:` lines, as the view keeps them: `tables.rekey_mark`), but those of `leave`, whose
    rows are computed now, and of the rows computed now (`live`), each with its case's worker: made here, from what
    the view keeps, so that no case is read for them and their cases' entries stay kept."""
    kept = [(body.worker(index), tables.CaseDue(case_id, None, [], [], rekey=body.rekeys[case_id]))
            for case_id, index in _placed(body, [case_id for case_id in body.rekeys if case_id not in leave])]
    return [(worker, row.rekey_item(now)) for worker, row in kept + [(row.worker, row) for row in live if row.rekey]]


def _keyworker_cases(body: ViewBody, removed, leave: set[str]) -> Iterator[tuple[str, int]]:
    """The cases of the view (but those of `leave`, whose rows are computed now) whose keyworker is off
    the team (`removed`: `rules.off_team`), with their place among the view's cases."""
    return _placed(body, [case_id for case_id, (keyworker, _risk, _since) in body.keyworkers.items()
                          if keyworker in removed and case_id not in leave])


def _risk_cases(body: ViewBody, leave: set[str]) -> Iterator[tuple[str, int]]:
    """The open cases of the view with a risk level (but those of `leave`, whose rows are computed now), with
    their place among the view's cases."""
    return _placed(body, [case_id for case_id, (_keyworker, risk, _since) in body.keyworkers.items() if risk and case_id not in leave])


def _placed(body: ViewBody, wanted: list[str]) -> Iterator[tuple[str, int]]:
    """Each case of `wanted` with its place among the view's cases."""
    if len(wanted) > FEW:
        places = {case_id: index for index, case_id in enumerate(body.ids)}
        yield from ((case_id, places[case_id]) for case_id in wanted if case_id in places)
        return
    for case_id in wanted:
        for index in _index_of(body.ids, (case_id,)):
            yield case_id, index


def cadre_items(ctx, whose: str, oversees: bool, overdue_only: bool,
                cases: Iterable[tuple[str, str | None, str | None, str | None]]) -> list[Deadline]:
    """`due`'s items of the open cases (case id, worker, risk, since) whose risk is above what their worker's
    cadre may hold (`rules.cadre_escalation_item`), for those whose list holds them (the case's worker's, every
    supervisor's and manager's: `rules.keyworker_item_listed`). Each is dated `since`, when the case went above
    the cadre (`rules.cadre_since`), as the view keeps it (`tables.worker_cell`) or the folded case gives it: no
    case is read for it."""
    from cpcm.workflow import rules

    items = []
    for case_id, worker, risk, since in cases:
        if whose not in ("all", worker) and not oversees:
            continue
        item = rules.cadre_escalation_item(case_id, worker, risk, ctx.team, ctx.policy, ctx.now, since)
        if item is None or not rules.keyworker_item_listed(item, whose, oversees):
            continue
        if not overdue_only or item.state(ctx.now, timedelta(0)) == "overdue":
            items.append(item)
    return items


def keyworker_items(ctx, whose: str, oversees: bool, overdue_only: bool, removed,
                    cases: Iterable[tuple[str, str | None, str | None, str | None]]) -> list[Deadline]:
    """`due`'s items of the cases (case id, worker, keyworker, risk) whose keyworker is off the team
    (`removed`), for those whose list holds them (`rules.keyworker_item_listed`), whenever they fall."""
    from cpcm.workflow import rules

    items = []
    for case_id, worker, keyworker, risk in cases:
        item = rules.keyworker_off_team_item(case_id, worker, keyworker, risk, ctx.team, removed, ctx.now)
        if item is not None and rules.keyworker_item_listed(item, whose, oversees) and \
                (not overdue_only or item.state(ctx.now, timedelta(0)) == "overdue"):
            items.append(item)
    return items


OVERLAY = 8  # cases changed since the due view's commit that `due` takes from their files over the view as it is
OVERLAY_FROM = 50_000  # items in the view from which that is worth it (below, splicing and writing it costs less than 0.1 s)


def _overlaid(ctx, place, loaded) -> tuple[ViewBody, list, list[int], set[str]] | None:
    """The view as it is with the cases changed since its commit taken from their files instead:
    the body, their rows computed now (`tables.CaseDue`, as for a case whose answer is not kept),
    the view's items of those cases (to be left out) and their ids; None when more than OVERLAY
    changed, when a case left the folder, cannot be read or is no longer the worker's (nothing of
    it stays in the stored view), when the view is small (OVERLAY_FROM items), or when it cannot
    be read: `_made` splices the view and stores it. So `due` right after a write or a few
    neither splices nor writes the whole view (at 100,000 cases 0.35 s of 1.2); each `due` until
    then reads the few cases from their files again and asks git what changed (`diff-tree`:
    0.09 s at 100,000 cases)."""
    head = loaded[0]
    if head["body"].get("items", 0) < OVERLAY_FROM:
        return None
    was_live, retry = set(head.get("live", ())), set(head["retry"])
    changes = views.changes_since(place, head["tree"], sorted(retry | was_live), keep=False)
    if changes is None:
        return None
    # every case changed counts (those the worker does not read too: they would pile up until the
    # view is made anew); not those read again each time (computed each time, or unreadable)
    if len((set(changes.cases) | changes.gone | changes.failed) - was_live - retry) > OVERLAY:
        return None
    try:
        body = loaded[1]()
    except (KeyError, TypeError, ValueError):  # a view of another layout under the same tag: made anew
        return None
    changed = {case_id for case_id, case in changes.cases.items() if case is not None}
    if any(True for _ in _index_of(body.ids, changes.gone | changes.failed | (set(changes.cases) - changed))):
        return None  # a case of the view gone, unreadable or no longer the worker's: taken out of the stored view
    live = [tables.live(changes.cases[case_id], ctx) for case_id in sorted(changed)]
    hidden = _positions(body.items["case"], sorted(_index_of(body.ids, changed)))
    return body, live, hidden, changed


def _listed(item: Deadline, ctx, whose: str, oversees: bool, horizon: datetime, soon: timedelta, overdue_only: bool,
            worker: str | None, undecided: Callable[[Deadline], bool], manages: bool = False) -> tuple[bool, str | None]:
    """Whether a case's item computed now goes on the list, and who it names as covering the case
    (as `worklist.due` decides for a row; `worker`: the case's; `undecided`: `rules.NobodyDecides`)."""
    from cpcm.service.context import case_covers
    from cpcm.workflow import cover as cover_rules
    from cpcm.workflow import deadlines as deadlines_mod

    if not deadlines_mod.told_to(item, manages):  # the managers' items: their lists only
        return False, None
    if tables.instant(item.target or item.due) > tables.instant(horizon):
        return False, None
    if overdue_only and item.state(ctx.now, soon) != "overdue":
        return False, None
    if whose == "all" or deadlines_mod.for_worker(item, whose, oversees, manages):
        return True, None
    if (not oversees and whose not in ("all", worker) and item.owner == worker
            and cover_rules.covering(case_covers(ctx, item.case_id), whose, ctx.now)):
        return True, whose
    if undecided(item) and undecided.sees(whose, item, worker):
        return True, None
    return False, None


def _admission_row(row: list, zone, now_us: int) -> tables.CaseDue | None:
    case_id, worker, pieces = row
    for lo, hi, triples in pieces:
        if (lo is None or now_us >= lo) and (hi is None or now_us < hi):
            made = []
            for values in triples:
                code, title, owner, rule, why, source, risk, requested_by, barred, due, target = values
                made.append((Deadline("", code, title, None, None, owner, rule, why, source, risk, requested_by, tuple(barred)),
                             due, target))
            return tables.CaseDue(case_id, worker, [], made, None, zone)
    return None


def _made(ctx, session, place, loaded) -> tuple[ViewBody, list] | None:
    """The view's body for the tree now (stored when it may be), and the rows computed now
    (`tables.CaseDue`, not kept); None when the session keeps no tables."""
    from cpcm.service.context import case_covers

    zone = session.zone
    builder = _Builder(ctx, zone)
    retry: set[str] = set()
    live: list = []
    changes = views.changes_since(place, loaded[0]["tree"], sorted({*loaded[0]["retry"], *loaded[0].get("live", ())})) \
        if loaded is not None else None
    if changes is None:  # anew, from the due table case by case (which computes what it misses)
        made = _made_anew(ctx, session)
        if made is None:
            return None
        builder, retry, live, clean = made
    else:  # the old view's items kept as they are, the changed cases' put in their places (`_spliced`)
        old = loaded[1]()
        drop = changes.gone | set(changes.cases) | changes.failed
        for case_id, case in changes.cases.items():
            if case is None:
                continue
            worker, pieces = _case_pieces(ctx, session, case)
            try:
                if pieces is None:
                    raise tables.NotKept
                builder.add(case_id, worker, case_covers(ctx, case_id), pieces)
            except tables.NotKept:
                retry.add(case_id)
                live.append(tables.live(case, ctx))
        retry |= changes.failed
        clean = changes.clean
    if changes is None:
        small, data = builder.body()
        window, local, parts = [builder.lo, builder.hi], None, None
    else:
        small, parts, window, local = _spliced(old, drop, builder)
        data = None
        del old
    del builder  # its items, before the view is read back
    body = ViewBody(small, data, local, parts)
    if clean and views.still(place):
        live_ids = {row.case_id for row in live}
        head = {"version": views.VERSION, "tag": place.tag, "tree": place.tree, "retry": sorted(retry - live_ids),
                "live": sorted(live_ids), "window": window, "stamp": secrets.token_hex(8), "body": small}
        try:
            views.write_view(place.path, place.cache.recipient, head, data if parts is None else parts.values())
        except OSError:
            pass  # a read never fails because the local cache cannot be written
        else:  # the next `due_view` of this command (the team's lists after the worker's) takes it as `_load` would
            key = file_key(place.path)
            if key is not None:
                ctx.views.clear()
                ctx.views[(key, place.tag)] = (head, lambda: body)
    return body, live


def _live_rows(ctx, case_ids) -> list:
    """The deadlines now of the cases whose answer is not kept (`tables.CaseDue`), read from their
    files; a case that cannot be read is reported and left out."""
    from cpcm.service.context import folded_or_noted
    from cpcm.service.fill import Collector, collecting

    rows = []
    with collecting(ctx.store, Collector(None)):
        for case_id in case_ids:
            case = folded_or_noted(ctx, case_id)
            if case is not None:
                rows.append(tables.live(case, ctx))
    return rows


FEW = 64  # up to this many cases dropped from a view: looked for one by one (else in one pass)


def _positions(column, values: Sequence[int], first: bool = False) -> list[int]:
    """Where a column of ints ('i': an array or a memoryview) holds any of `values`, in order (with
    `first`: only the first place of each): each value looked for in the column's bytes (a few
    cases' items: no pass over the column in Python), or one pass when there are many."""
    from array import array

    if len(values) > FEW:
        wanted = set(values)
        found = [k for k, value in enumerate(column) if value in wanted]
        return sorted({column[k]: k for k in reversed(found)}.values()) if first else found
    raw, size = bytes(memoryview(column).cast("B")), column.itemsize
    found = []
    for value in values:
        pattern = array("i", [value]).tobytes()
        at = raw.find(pattern)
        while at >= 0:
            if at % size == 0:
                found.append(at // size)
                if first:
                    break
            at = raw.find(pattern, at + 1)
    found.sort()
    return found


def _index_of(ids: list[str], wanted: Iterable[str]) -> Iterator[int]:
    """The places of those of `wanted` that `ids` holds (each once: a view's case ids are unique)."""
    for case_id in wanted:
        try:
            yield ids.index(case_id)
        except ValueError:
            pass


def _spliced(old: ViewBody, drop: set[str], new: _Builder) -> tuple[dict, dict[str, Any], list, list[str]]:
    """The view `old` without the cases of `drop` and with the cases `new` holds, as `body` gives
    it but in parts (`views.laid_out`), its window, and its printed texts (`ViewBody.local`): the
    old items kept as they are and in their order (their columns copied in runs, nothing made
    again), the new ones put in their places by (due time, risk, case). A new case takes the number of a case dropped (a case written is
    dropped and added again: its number stays), a case dropped and not replaced gives its number
    to one of the last cases, so that the kept items' case numbers are copied with them. What the
    items number (owners, reasons, texts, owner and reason pairs, pieces, workers) keeps its old
    numbers and adds the new ones, then loses what nothing uses any more (nothing of a case the
    worker no longer reads stays). `due` prints from it what it prints from a view made anew (an
    item's place among the items of other cases is decided by that key alone; tests/test_views.py).
    A write changes a case or two: at 100,000 cases, this instead of making every case's items
    again (14 s)."""
    from array import array
    from bisect import bisect_left, bisect_right

    items, ids = old.items, old.ids
    n_cases, n_items = len(ids), len(items["due"])
    gone = sorted(_index_of(ids, drop)) if len(drop) <= FEW else [index for index, case_id in enumerate(ids) if case_id in drop]
    dropped = _positions(items["case"], gone)  # their items
    added = new.cases
    slot = [gone[j] if j < len(gone) else n_cases + j - len(gone) for j in range(len(added))]  # a new case's number
    count = n_cases - len(gone) + len(added)
    gone_set = set(gone)
    moved = dict(zip((index for index in range(count, n_cases) if index not in gone_set),
                     (hole for hole in gone[len(added):] if hole < count)))  # a last case -> the number it takes

    # the old numbers kept, `new`'s (its dicts number their keys in order) turned into them
    owners, whys, statics = _Numbering(old.owners), _Numbering(old.whys), _Numbering(old.text_keys)
    bounds = _Numbering(zip(items["piece_lo"], items["piece_hi"]))
    tails, workers = _Numbering(tuple(pair) for pair in old.tails), _Numbering(old.workers)
    owner_of, why_of = [owners.of(o) for o in new.owners], [whys.of(w) for w in new.whys]
    static_of, piece_of = [statics.of(t) for t in new.texts], [bounds.of(b) for b in new.pieces]

    fresh = sorted(new.items, key=lambda item: item[:4])
    due, rank, case = items["due"], items["rank"], items["case"]

    def place_of(key: tuple) -> int:
        """How many old items come before an item of `key` (no kept item has its case)."""
        lo, hi = 0, n_items
        while lo < hi:
            mid = (lo + hi) // 2
            if (due[mid], rank[mid], ids[case[mid]]) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    places = [place_of((item[0], item[1], item[2])) for item in fresh]

    def runs(a: int, b: int):
        """The old items from the a-th to before the b-th that are kept, as runs [start, end)."""
        start = a
        for gap in dropped[bisect_left(dropped, a):bisect_left(dropped, b)]:
            if gap > start:
                yield start, gap
            start = gap + 1
        if start < b:
            yield start, b

    copied = ("due", "target", "aim", "rank", "owner", "why", "static", "tail", "piece", "case")
    columns = {name: array(items[name].format) for name in copied}
    local: list[str] = []
    old_local = old.local
    done = 0
    for place, item in [*zip(places, fresh), (n_items, None)]:
        for start, end in runs(done, place):  # copied as they are
            for name in copied:
                columns[name].frombytes(items[name][start:end].cast("B"))
            local.extend(old_local[start:end])
        done = place
        if item is None:
            break
        at, risk, _case, _position, piece, target, index, owner, why, static, text, _odd_due, _odd_target = item
        owner, why = owner_of[owner], why_of[why]
        for name, value in (("due", at), ("target", target), ("aim", at if target == NO_TARGET else target), ("rank", risk),
                            ("owner", owner), ("why", why), ("static", static_of[static]), ("tail", tails.of((owner, why))),
                            ("piece", piece_of[piece]), ("case", slot[index])):
            columns[name].append(value)
        local.append(text)
    if moved:
        numbers = columns["case"]
        for k in _positions(numbers, list(moved)):
            numbers[k] = moved[numbers[k]]
    odd: dict[str, list] = {}
    for key, codes in old.odd.items():  # an old item's place: less the dropped before it, after the new put before it
        k = int(key)
        j = bisect_left(dropped, k)
        if j == len(dropped) or dropped[j] != k:
            odd[str(k - j + bisect_right(places, k))] = codes
    for i, item in enumerate(fresh):
        if item[11] is not None or item[12] is not None:
            odd[str(places[i] - bisect_left(dropped, places[i]) + i)] = [item[11], item[12]]

    # per case: the new cases in their numbers, the last cases moved into the numbers left
    case_ids = list(ids)
    per_case = {name: array(items[name].format, items[name].cast("B").tobytes()) for name in ("worker", "span_lo", "span_hi")}
    covers = {index: cover for index, cover in old.covers.items() if index not in gone_set}
    for (case_id, worker, cover, first, last), at in zip(added, slot):
        values = ((case_ids, case_id), (per_case["worker"], workers.of(worker)),
                  (per_case["span_lo"], NONE_LO if first is None else first), (per_case["span_hi"], NONE_HI if last is None else last))
        for column, value in values:
            if at < n_cases:
                column[at] = value
            else:
                column.append(value)
        if cover:
            covers[at] = cover
    for last, hole in moved.items():
        for column in (case_ids, *per_case.values()):
            column[hole] = column[last]
        if last in covers:
            covers[hole] = covers.pop(last)
    for column in (case_ids, *per_case.values()):
        del column[count:]
    columns.update(per_case)
    # what no item (or case) uses any more is left out: a case dropped takes its texts, reasons and
    # the rest with it, as from a view made anew (no text of a case the worker no longer reads is
    # kept), and the tables do not grow with every write. Only what the cases dropped used may have
    # gone out of use: when all of it is still used, nothing is renumbered
    def compacted(table: list, name: str, rows: Sequence[int]) -> tuple[list, list[int] | None]:
        was = items[name]
        return _compacted(table, columns, name, None if len(rows) > FEW else {was[k] for k in rows})

    owner_list, owner_map = compacted(owners.values, "owner", dropped)
    why_list, why_map = compacted(whys.values, "why", dropped)
    static_list, _ = compacted(statics.values, "static", dropped)
    bound_list, _ = compacted(bounds.values, "piece", dropped)
    worker_list, _ = compacted(workers.values, "worker", gone)
    tail_list, _ = compacted(tails.values, "tail", dropped)
    tail_list = [(owner_map[o] if owner_map else o, why_map[w] if why_map else w) for o, w in tail_list]
    columns["piece_lo"] = array("q", (lo for lo, _ in bound_list))
    columns["piece_hi"] = array("q", (hi for _, hi in bound_list))
    first, last = max(columns["span_lo"], default=NONE_LO), min(columns["span_hi"], default=NONE_HI)  # the unbounded: extremes
    window = [None if first == NONE_LO else first, None if last == NONE_HI else last]
    texts = {"local": "\n".join(local), "ids": "\n".join(case_ids), "texts": "\n".join(static_list)}
    where, parts = views.laid_out({**{name: columns[name] for name in (*_INSTANTS, *_NUMBERS)}, **texts})
    admission = [row for row in old.admission if row[0] not in drop] + new.admission
    keyworkers = {case_id: found for case_id, found in old.keyworkers.items() if case_id not in drop}
    keyworkers.update(new.keyworkers)
    rekeys = {case_id: found for case_id, found in old.rekeys.items() if case_id not in drop}
    rekeys.update(new.rekeys)
    small = {"owners": owner_list, "whys": why_list, "tails": [[o, w] for o, w in tail_list], "workers": worker_list,
             "covers": {str(index): cover for index, cover in covers.items()}, "keyworkers": dict(sorted(keyworkers.items())),
             "rekey": dict(sorted(rekeys.items())), "admission": admission, "odd": odd,
             "sections": where, "items": len(columns["due"]), "cases": len(case_ids), "urgent": _urgent_texts(static_list)}
    return small, parts, window, local


class _Numbering:
    """Values numbered in the order they were first given (`of`: a value's number, a new one
    added at the end)."""

    def __init__(self, values: Iterable):
        self.values = list(values)
        self._number = {value: n for n, value in enumerate(self.values)}

    def of(self, value: Any) -> int:
        found = self._number.get(value)
        if found is None:
            found = self._number[value] = len(self.values)
            self.values.append(value)
        return found


def _compacted(table: list, columns: dict, name: str, maybe: set[int] | None = None) -> tuple[list, list[int] | None]:
    """`table` without the entries the column `name` does not number, that column renumbered to
    match, and the new number of each old one (None: all in use, nothing changed). `maybe`: the
    only numbers that may be out of use (each looked for in the column's bytes), when known."""
    from array import array

    if maybe is not None and len(_positions(columns[name], sorted(maybe), first=True)) == len(maybe):
        return table, None
    used = set(columns[name])
    if len(used) == len(table):
        return table, None
    renumbered = [-1] * len(table)
    kept = sorted(used)
    for n, k in enumerate(kept):
        renumbered[k] = n
    columns[name] = array(columns[name].typecode, map(renumbered.__getitem__, columns[name]))
    return [table[k] for k in kept], renumbered


# -- the view made anew, case by case ---------------------------------------------------------------
LINES = 10_000  # the printed texts of this many items encoded at once


class _Streamed:
    """The items of a view made anew from the due table, case by case as its entries are read
    (`tables.due_stream`), in columns of numbers: per item its due time, target, text (a number
    per text id: a text may be read after an entry that uses it), case, place and piece; the
    rest (risk rank, owner, reason, the printed text) made from the texts once every entry is
    read (`body`), when the items are put in order. Memory: about 40 bytes an item, not an
    object per item, per case or per entry. Gives the same view as `_Builder` given the same
    cases (tests/test_dueview_stream.py)."""

    def __init__(self, ctx, zone):
        from array import array

        self.ctx, self.zone = ctx, zone
        self.texts: dict[str, list] = {}  # text id -> text, as the table has it
        self.text_no: dict[str, int] = {}  # text id -> its number in the items
        self.ids: list[str] = []
        self.workers: dict[str | None, int] = {}
        self.worker_of = array("i")
        self.span_lo, self.span_hi = array("q"), array("q")
        self.covers: dict[int, dict] = {}
        self.keyworkers: dict[str, list] = {}  # case id -> [keyworker, risk, since] (`tables.worker_cell`)
        self.rekeys: dict[str, list] = {}  # case id -> its `# rekey:` mark, [restricted, risk] (`tables.rekey_mark`)
        self.admission: dict[int, list] = {}  # case -> its conference after an admission, text ids unresolved
        self.due, self.target = array("q"), array("q")
        self.text, self.case, self.place, self.piece = array("i"), array("i"), array("i"), array("i")
        self.odd: dict[int, list] = {}  # item -> [due code, target code] where the instant does not give them back
        self.pieces: dict[tuple[int, int], int] = {}
        self.lo: int | None = None
        self.hi: int | None = None
        self.leave: set[str] = set()  # the cases left out of the view (`left_out`)

    def add(self, case_id: str, worker: Any, covers: dict, entry: list) -> None:
        """A case's due table entry ([tree, worker, [lo, hi, n, text id, due, target, ...], ...]; its
        worker as `tables.worker_cell` keeps it)."""
        index = len(self.ids)
        self.ids.append(case_id)
        worker, keyworker, risk, since, rekey = tables.worker_of(worker)
        if keyworker is not None or risk is not None:  # [keyworker or None, risk, since]: `keyworker_items`, `cadre_items`
            self.keyworkers[case_id] = [keyworker, risk, since]
        if rekey is not None:  # its `case-readers` item, due at once: made when `due` runs (`rekey_items`)
            self.rekeys[case_id] = rekey
        self.worker_of.append(self.workers.setdefault(worker, len(self.workers)))
        first, last = entry[2][0], entry[-1][1]
        self.span_lo.append(NONE_LO if first is None else first)
        self.span_hi.append(NONE_HI if last is None else last)
        if covers:
            self.covers[index] = covers
        text_no = self.text_no
        admission = []
        for piece in entry[2:]:
            lo, hi, n = piece[0], piece[1], piece[2]
            bounds = (NONE_LO if lo is None else lo, NONE_HI if hi is None else hi)
            piece_no = self.pieces.setdefault(bounds, len(self.pieces))
            for position, i in enumerate(range(3, 3 + 3 * n, 3)):
                due, target = piece[i + 1], piece[i + 2]
                odd_due, odd_target = _odd(due), _odd(target)
                if odd_due is not None or odd_target is not None:
                    self.odd[len(self.due)] = [odd_due, odd_target]
                self.due.append(tables.code_instant(due))
                self.target.append(NO_TARGET if target is None else tables.code_instant(target))
                self.text.append(text_no.setdefault(piece[i], len(text_no)))
                self.case.append(index)
                self.place.append(position)
                self.piece.append(piece_no)
            if len(piece) > 3 + 3 * n:
                admission.append([lo, hi, [piece[i:i + 3] for i in range(3 + 3 * n, len(piece), 3)]])
        if admission:
            self.admission[index] = admission

    def _with_cases(self, by_no: list[str], ranks: list[int], text_of, order) -> None:
        """The texts whose title holds a case's ID, as the table keeps them with its mark (`tables.marked`: one text
        for many cases), made a text of each case's own in the view (`tables.with_case`; a reason stays marked, and `due`
        puts the ID back as it prints it): the items of such a text (`text_of`, in `order`) numbered anew, one number a
        case, after the others (`by_no`, `ranks`)."""
        marks = {no for no, text_id in enumerate(by_no)
                 if (static := self.texts.get(text_id)) is not None and tables.holds_case(static, why=False)}
        if not marks:
            return
        own: dict[tuple[int, int], int] = {}
        for position, no in enumerate(text_of):
            if no in marks:
                index = self.case[order[position]]
                mine = own.get((no, index))
                if mine is None:
                    mine = own[(no, index)] = len(by_no)
                    text_id = f"{by_no[no]}\n{self.ids[index]}"  # never a text id of the table (hex digits)
                    self.texts[text_id] = tables.with_case(self.texts[by_no[no]], self.ids[index], why=False)
                    by_no.append(text_id)
                    ranks.append(ranks[no])
                text_of[position] = mine

    def left_out(self) -> set[str]:
        """The cases whose entry cannot be kept in the view: a text it uses is not in the table, an
        item's owner is no text (`due` prints it as text), a line break in the case id."""
        from itertools import compress

        by_no = list(self.text_no)
        bad_no = [self.texts.get(text_id) is None or not isinstance(self.texts[text_id][2], str) for text_id in by_no]
        cases = {self.case[k] for k in compress(range(len(self.text)), map(bad_no.__getitem__, self.text))}
        for index, admission in self.admission.items():
            if any(self.texts.get(triple[0]) is None for _lo, _hi, triples in admission for triple in triples):
                cases.add(index)
        return {self.ids[index] for index in cases} | {case_id for case_id in self.ids if "\n" in case_id}

    def body(self) -> tuple[dict, bytearray]:
        """The view's head (its small parts) and its columns laid end to end, as `_Builder.body`
        lays them; the cases of `leave` left out."""
        from array import array

        from cpcm.domain.dates import local_text

        zone, policy, leave = self.zone, self.ctx.policy, self.leave
        # the cases kept, in the order of their ids (the order of the items between cases)
        kept = sorted((i for i, case_id in enumerate(self.ids) if case_id not in leave), key=self.ids.__getitem__)
        new_index = array("i", [-1]) * len(self.ids)
        for position, index in enumerate(kept):
            new_index[index] = position
        for index in kept:
            first, last = self.span_lo[index], self.span_hi[index]
            if first != NONE_LO and (self.lo is None or first > self.lo):
                self.lo = first
            if last != NONE_HI and (self.hi is None or last < self.hi):
                self.hi = last
        # each text's risk rank (its owner and reason are numbered once the items are in order)
        by_no = list(self.text_no)
        ranks = [0] * len(by_no)
        for no, text_id in enumerate(by_no):
            static = self.texts.get(text_id)
            if static is not None:
                ranks[no] = risk_rank(static[6])
        # the order of (due time, risk, case, place), ties in the order read: one number per item
        count = len(self.due)
        ranks_n, cases_n = max(ranks, default=0) + 1, max(len(kept), 1)
        places_n = max(self.place, default=0) + 1
        keys = [(((due * ranks_n + ranks[text]) * cases_n + new_index[case]) * places_n + place) * count + k
                for k, (due, text, case, place) in enumerate(zip(self.due, self.text, self.case, self.place))
                if new_index[case] >= 0]
        keys.sort()
        order = array("i", [key % count for key in keys]) if count else array("i")
        del keys
        # each column in that order, taken over the whole column (the loops run in C)
        text_of = array("i", map(self.text.__getitem__, order))
        self._with_cases(by_no, ranks, text_of, order)
        statics = {text: n for n, text in enumerate(dict.fromkeys(text_of))}  # a text's number -> its number in the view
        owners: dict[str, int] = {}
        whys: dict[str, int] = {}
        tails: dict[tuple[int, int], int] = {}
        owner_no, why_no, tail_no = {}, {}, {}
        for text in statics:
            code, title, owner, rule, why, source, risk, requested_by, barred = self.texts[by_no[text]]
            owner_no[text] = owners.setdefault(owner, len(owners))
            why_no[text] = whys.setdefault(cell(f"{why} ({policy.short_source(rule)})"), len(whys))
            tail_no[text] = tails.setdefault((owner_no[text], why_no[text]), len(tails))
        columns = {name: array("q") for name in _INSTANTS}
        columns.update({name: array("i") for name in _NUMBERS})
        columns["piece"] = array("i", map(self.piece.__getitem__, order))
        dues = columns["due"] = array("q", map(self.due.__getitem__, order))
        targets = columns["target"] = array("q", map(self.target.__getitem__, order))
        columns["aim"] = array("q", [at if target == NO_TARGET else target for at, target in zip(dues, targets)])
        columns["rank"] = array("i", map(ranks.__getitem__, text_of))
        cases = columns["case"] = array("i", map(new_index.__getitem__, map(self.case.__getitem__, order)))
        columns["owner"] = array("i", map(owner_no.__getitem__, text_of))
        columns["why"] = array("i", map(why_no.__getitem__, text_of))
        columns["static"] = array("i", map(statics.__getitem__, text_of))
        columns["tail"] = array("i", map(tail_no.__getitem__, text_of))
        odd: dict[str, list] = {}
        if self.odd:
            for position, k in enumerate(order):
                if k in self.odd:
                    odd[str(position)] = self.odd[k]
        # the printed texts (case, title, due time), a piece at a time, straight into the body
        case_cells = [cell(self.ids[index]) for index in kept]
        title_cells = {text: cell(self.texts[by_no[text]][1]) for text in statics}
        data = bytearray()  # the printed texts first; the columns after
        last_at: int | None = None
        when = ""
        for start in range(0, len(order), LINES):
            whens = []
            for position in range(start, min(start + LINES, len(order))):
                at = dues[position]
                found = odd.get(str(position)) if odd else None
                if found is not None or at != last_at:  # the items come in the order of their due times
                    when = cell(local_text(tables.time_of(_code_of(at, found[0] if found else None), zone), zone))
                    last_at = at if found is None else None
                whens.append(when)
            end = start + len(whens)
            lines = map("\t".join, zip(map(case_cells.__getitem__, cases[start:end]),
                                       map(title_cells.__getitem__, text_of[start:end]), whens))
            data += (b"\n" if start else b"") + "\n".join(lines).encode()
        where: dict[str, list[int]] = {"local": [0, len(data)]}
        workers: dict[str | None, int] = {}
        worker_names = list(self.workers)
        covers: dict[str, dict] = {}
        admission = []
        for position, index in enumerate(kept):
            columns["worker"].append(workers.setdefault(worker_names[self.worker_of[index]], len(workers)))
            columns["span_lo"].append(self.span_lo[index])
            columns["span_hi"].append(self.span_hi[index])
            if index in self.covers:
                covers[str(position)] = self.covers[index]
            if index in self.admission:
                admission.append([self.ids[index], worker_names[self.worker_of[index]],
                                  [[lo, hi, [[*tables.with_case(self.texts[text_id], self.ids[index], why=False), due, target]
                                             for text_id, due, target in triples]]
                                   for lo, hi, triples in self.admission[index]]])
        for lo, hi in self.pieces:
            columns["piece_lo"].append(lo)
            columns["piece_hi"].append(hi)
        for name, column in columns.items():
            where[name] = [len(data), len(data) + len(column) * column.itemsize]
            data += column.tobytes()
        del columns
        start = len(data)
        data += "\n".join(self.ids[index] for index in kept).encode()
        where["ids"] = [start, len(data)]
        start = len(data)
        keys = [_text_key(self.texts[by_no[text]]) for text in statics]  # in the order of their numbers
        data += "\n".join(keys).encode()
        where["texts"] = [start, len(data)]
        keyworkers = {case_id: found for case_id, found in sorted(self.keyworkers.items()) if case_id not in leave}
        rekeys = {case_id: found for case_id, found in sorted(self.rekeys.items()) if case_id not in leave}
        small = {"owners": list(owners), "whys": list(whys), "tails": [[o, w] for o, w in tails],
                 "workers": list(workers), "covers": covers, "keyworkers": keyworkers, "rekey": rekeys, "admission": admission,
                 "odd": odd, "sections": where, "items": len(order), "cases": len(kept), "urgent": _urgent_texts(keys)}
        return small, data


def _covers_reader(ctx, dirty: set[str]) -> Callable[[str], dict]:
    """Each case's covers (`context.case_covers`) from one place: the `recipients` file of every
    case folder at the commit readers read, listed by one `git ls-tree` (read as it comes) and
    each distinct file read once (`git cat-file`: most cases share a few), instead of a file read
    per case. A case of `dirty` (changed on disk: a set the caller may fill in meanwhile), or not
    in that commit, is read from its file."""
    import subprocess

    from cpcm.service.context import case_covers
    from cpcm.store.git import GitError, git_env
    from cpcm.store.layout import CASES, RECIPIENTS, covers_from, shard

    git = ctx.store.git
    by_blob: dict[str, list[str]] = {}
    ending = b"/" + RECIPIENTS.encode()
    try:
        process = subprocess.Popen(git.command(["ls-tree", "-r", "-z", f"{git.rev}:{CASES}"]), cwd=git.root,
                                   env=git_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert process.stdout is not None
        left = b""
        while True:
            chunk = process.stdout.read(1 << 20)
            if not chunk:
                break
            entries = (left + chunk).split(b"\0")
            left = entries.pop()
            for entry in entries:
                if entry.endswith(ending):
                    meta, _, path = entry.partition(b"\t")
                    level, _, case_id = path[:-len(ending)].decode("utf-8", "replace").partition("/")
                    if "/" not in case_id and shard(case_id) == level:  # XX/ID/recipients (store/layout.py)
                        by_blob.setdefault(meta[-40:].decode(), []).append(case_id)
        if process.wait() != 0:
            by_blob = {}
        found: dict[str, dict] = {}
        listed: set[str] = set()
        if by_blob:
            blobs = list(by_blob)
            out = subprocess.run(git.command(["cat-file", "--batch"]), cwd=git.root, env=git_env(),
                                 input="".join(f"{blob}\n" for blob in blobs).encode(), capture_output=True, check=True).stdout
            at = 0
            for blob in blobs:
                end = out.index(b"\n", at)
                name, kind, size = out[at:end].split(b" ")
                if name.decode() != blob or kind != b"blob":
                    raise ValueError(blob)
                text = out[end + 1:end + 1 + int(size)].decode("utf-8", "replace")
                at = end + 1 + int(size) + 1
                covers = covers_from(text)
                for case_id in by_blob[blob]:
                    listed.add(case_id)
                    if covers:
                        found[case_id] = covers
    except (OSError, ValueError, subprocess.CalledProcessError, GitError):
        return lambda case_id: case_covers(ctx, case_id)
    del by_blob

    def covers_of(case_id: str) -> dict:
        if case_id in dirty or case_id not in listed:
            return case_covers(ctx, case_id)
        return found.get(case_id, {})
    return covers_of


def _made_anew(ctx, session) -> tuple[_Streamed, set[str], list, set[str]] | None:
    """The view made anew from the due table (`tables.due_stream`, which makes what it misses),
    case by case: its items, the cases read again by every command (`retry`), the rows computed
    now (`tables.CaseDue`, in the order of the case ids) and whether the view may be stored."""
    info: dict = {}
    stream = tables.due_stream(ctx, info)
    if stream is None:
        return None
    # the cases read as committed: filled in by the stream once it has given the table's entries, before any case it
    # reads (`tables._stream_read`); a case given from the table is given the last commit's covers, as its entry is
    covers_of = _covers_reader(ctx, info.setdefault("dirty", set()))
    builder = _Streamed(ctx, session.zone)
    live: dict[str, Any] = {}
    for kind, key, value in stream:
        if kind == "text":
            builder.texts[key] = value
        elif kind == "entry":
            builder.add(key, value[1], covers_of(key), value)
        else:
            live[key] = value
    leave = builder.leave = builder.left_out()
    retry = set(info["failed"])
    for row in _live_rows(ctx, sorted(leave)):  # their answer cannot be kept: computed each time
        live[row.case_id] = row
    retry |= leave - set(live)
    merge_due_table(ctx, session)
    return builder, retry | set(live), [live[case_id] for case_id in sorted(live)], info["clean"]


def merge_due_table(ctx, session) -> bool:
    """`tables.merge_table` of the due table."""
    return tables.merge_table(ctx, session, "due")
