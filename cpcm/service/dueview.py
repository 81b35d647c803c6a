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
case), each state's items come out in the order `deadlines.urgency` sorts them, with no sort.
The view is used while `now` lies where every case's pieces reach; outside, it is made again.
What `due` picks from it for `now`, and how it prints the lines, is service/duelines.py (not part
of the tag: how `due` reads a view never makes it again).

What cannot be kept exactly is computed each time: a case whose deadlines depend on `now`
otherwise than by comparison (tables.py gives no entry), a case that cannot be read; the
conference items (service/conferences.py `due_items`, from the conference folders), with the
conference after an admission from the rows kept here. Those are put in their place in the order.
Its tag adds to the due table's (the code, the policy in force, the zone) this module's code.
"""
from __future__ import annotations

import json
import secrets
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from cpcm.domain.policy import risk_rank
from cpcm.service import tables, views
from cpcm.workflow.clocks import SUPERVISORS
from cpcm.workflow.deadlines import Deadline

if TYPE_CHECKING:
    from cpcm.service.duelines import DueView

DUE = "due"


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
        self.lo: int | None = None  # the view holds while every case's pieces reach
        self.hi: int | None = None

    def add(self, case_id: str, worker: str | None, covers: dict, pieces: list[tuple[int | None, int | None, int, list]],
            span: tuple[int | None, int | None] | None = None) -> None:
        """`pieces`: (lo, hi, n, [(static texts, due code, target code), ...]) as the due table has
        them (the first n the case's deadlines, the rest the conference after an admission), in
        time order; `span`: where they reach (default: from the first's lo to the last's hi)."""
        from cpcm.domain.dates import local_text

        index = len(self.cases)
        first, last = span if span is not None else (pieces[0][0], pieces[-1][1])
        if "\n" in case_id:
            raise tables.NotKept
        self.cases.append((case_id, worker, covers, first, last))
        if first is not None and (self.lo is None or first > self.lo):
            self.lo = first
        if last is not None and (self.hi is None or last < self.hi):
            self.hi = last
        admission = []
        for lo, hi, n, triples in pieces:
            for position, (static, due, target) in enumerate(triples[:n]):
                code, title, owner, rule, why, source, risk, requested_by, barred = static
                if not isinstance(owner, str):
                    raise tables.NotKept  # `due` prints the owner as text
                local = "\t".join((cell(case_id), cell(title), cell(local_text(tables.time_of(due, self.zone), self.zone))))
                reason = cell(f"{why} ({self.ctx.policy.short_source(rule)})")
                key = json.dumps(static, separators=(",", ":"))
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
        statics = [json.loads(key) for key in self.texts]
        texts = {"local": "\n".join(local), "ids": "\n".join(case[0] for case in self.cases)}
        where, data = views.sections({**{name: column.tobytes() for name, column in columns.items()},
                                       **{name: text.encode() for name, text in texts.items()}})
        owners, whys = list(self.owners), list(self.whys)
        small = {"owners": owners, "whys": whys, "texts": statics, "tails": [[o, w] for o, w in tails],
                 "workers": list(workers), "covers": covers,
                 "admission": self.admission, "odd": odd, "sections": where, "items": len(self.items),
                 "cases": len(self.cases)}
        return small, data


class ViewBody:
    """A view's columns as read back: `items` (each column by name), the case ids, and its small parts."""

    def __init__(self, small: dict, data):
        from array import array

        self.small = small
        where = small["sections"]
        self.items: dict[str, Any] = {}
        for name in (*_INSTANTS, *_NUMBERS):
            column = array("q" if name in _INSTANTS else "i")
            start, end = where[name]
            column.frombytes(data[start:end])
            self.items[name] = column
        start, end = where["ids"]
        text = str(data[start:end], "utf-8")
        self.ids = text.split("\n") if text else []
        self._data, self._local = data, None
        self.owners, self.whys, self.texts = small["owners"], small["whys"], small["texts"]
        self.workers, self.admission, self.odd = small["workers"], small["admission"], small["odd"]
        self.tails = small["tails"]
        self.covers = {int(k): v for k, v in small["covers"].items()}

    @property
    def local(self) -> list[str]:
        """Each item's case, title and due time as printed (tab-separated), in the items' order:
        one text split at once, so the strings lie in memory in the order `due` prints them (made
        from parts kept once, they were read all over memory: twice as slow at 100,000 cases)."""
        if self._local is None:
            start, end = self.small["sections"]["local"]
            text = str(self._data[start:end], "utf-8")
            self._local = text.split("\n") if text else []
        return self._local

    def worker(self, index: int) -> str:
        return self.workers[self.items["worker"][index]]

    def codes(self, k: int) -> tuple[Any, Any]:
        odd = self.odd.get(str(k)) or (None, None)
        target = self.items["target"][k]
        return _code_of(self.items["due"][k], odd[0]), None if target == NO_TARGET else _code_of(target, odd[1])


def _pieces(entry: list, texts: dict) -> list[tuple] | None:
    """A due table entry's pieces with their texts; None when a text is missing."""
    found = []
    for piece in entry[2:]:
        triples = []
        for i in range(3, len(piece), 3):
            static = texts.get(tables.TEXT + piece[i])
            if static is None:
                return None
            triples.append((static, piece[i + 1], piece[i + 2]))
        found.append((piece[0], piece[1], piece[2], triples))
    return found


def _case_pieces(ctx, session, case) -> list[tuple] | None:
    """A folded case's pieces as `_Builder.add` takes them; None when they cannot be kept."""
    try:
        entry = tables.due_entry(ctx, session, case, "")
    except Exception:  # noqa: BLE001 - as tables._entry: computed each time instead
        return None
    return _pieces(entry, {tables.TEXT + k: v for k, v in session.texts.items()})


def _load(place, keys) -> tuple[dict, Callable[[], ViewBody]] | None:
    found = views.read_view(place.path, keys)
    if found is None or found[0].get("tag") != place.tag:
        return None
    head, data = found
    return head, lambda: ViewBody(head["body"], data)


def due_view(ctx, whose: str, oversees: bool, horizon: datetime, soon: timedelta, overdue_only: bool) -> DueView | None:
    """The items `cpcm due` lists (see `worklist.due`), from the due view brought up to date;
    None when the session keeps no views."""
    from cpcm.service import conferences
    from cpcm.workflow import cover as cover_rules

    session = tables.session(ctx)
    if session is None:
        return None
    place = views.place_for(ctx, DUE, session.tag(ctx, "due") + sys.byteorder)  # columns in the machine's byte order
    if place is None:
        return None
    now = ctx.now
    now_us = tables.instant(now)
    loaded = _load(place, ctx.keys)
    head = body = None
    live: list = []
    if loaded is not None:
        head = loaded[0]
        window = head["window"]
        if (window[0] is not None and now_us < window[0]) or (window[1] is not None and now_us >= window[1]):
            loaded = None  # `now` is beyond where the cases' pieces reach: made anew
    if loaded is not None and views.unchanged(place, head):
        try:
            body = loaded[1]()
        except (KeyError, TypeError, ValueError):  # a view of another layout under the same tag: made anew
            body, loaded = None, None
        else:
            live = _live_rows(ctx, head.get("live", ()))
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
    extra = []
    for row in live:
        for entry in row.items:
            item = row.deadline(entry)
            keep, covered_by = _listed(item, ctx, whose, oversees, horizon, soon, overdue_only, row.worker)
            if keep:
                extra.append(row.deadline(entry, covered_by))
    admission_rows = [_admission_row(row, session.zone, now_us) for row in body.admission]
    admission_rows = [row for row in admission_rows if row is not None] + [row for row in live if row.admission]
    extra += conferences.due_items(ctx, whose, horizon, overdue_only, soon,
                                   admission=lambda conferenced: tables.admission_items(ctx, admission_rows, conferenced))
    from cpcm.service.duelines import DueView

    return DueView(body, session.zone, now, soon, horizon, whose, oversees, overdue_only, extra,
                   lambda covers: cover_rules.covering(covers, whose, now))


def _listed(item: Deadline, ctx, whose: str, oversees: bool, horizon: datetime, soon: timedelta, overdue_only: bool,
            worker: str | None) -> tuple[bool, str | None]:
    """Whether a case's item computed now goes on the list, and who it names as covering the case
    (as `worklist.due` decides for a row; `worker`: the case's)."""
    from cpcm.service.context import case_covers
    from cpcm.workflow import cover as cover_rules
    from cpcm.workflow import deadlines as deadlines_mod

    if tables.instant(item.target or item.due) > tables.instant(horizon):
        return False, None
    if overdue_only and item.state(ctx.now, soon) != "overdue":
        return False, None
    if whose == "all" or deadlines_mod.for_worker(item, whose, oversees):
        return True, None
    if (not oversees and whose not in ("all", worker) and item.owner == worker
            and cover_rules.covering(case_covers(ctx, item.case_id), whose, ctx.now)):
        return True, whose
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
    if changes is None:  # anew, from the due table (which computes what it misses)
        info: dict = {}
        if tables.due_rows(ctx, info) is None:
            return None
        entries = session.table(ctx, "due").entries
        for case_id, row in info["values"].items():
            entry = entries.get(case_id)
            pieces = _pieces(entry, entries) if row.zone is not None and entry is not None and len(entry) > 1 else None
            if pieces is None:
                retry.add(case_id)
                live.append(row)
                continue
            try:
                builder.add(case_id, row.worker, case_covers(ctx, case_id), pieces)
            except tables.NotKept:
                retry.add(case_id)
                live.append(row)
        retry |= info["failed"]
        clean = info["clean"]
    else:
        old = loaded[1]()
        drop = changes.gone | set(changes.cases) | changes.failed
        kept = _old_cases(old, drop)
        for case_id, (worker, covers, pieces, span) in kept.items():
            builder.add(case_id, worker, covers, pieces, span)
        for case_id, case in changes.cases.items():
            if case is None:
                continue
            pieces = _case_pieces(ctx, session, case)
            try:
                if pieces is None:
                    raise tables.NotKept
                builder.add(case_id, case.worker, case_covers(ctx, case_id), pieces)
            except tables.NotKept:
                retry.add(case_id)
                live.append(tables.live(case, ctx))
        retry |= changes.failed
        clean = changes.clean
    small, data = builder.body()
    window = [builder.lo, builder.hi]
    if clean and views.still(place):
        live_ids = {row.case_id for row in live}
        head = {"version": views.VERSION, "tag": place.tag, "tree": place.tree, "retry": sorted(retry - live_ids),
                "live": sorted(live_ids), "window": window, "stamp": secrets.token_hex(8), "body": small}
        try:
            views.write_view(place.path, place.cache.recipient, head, data)
        except OSError:
            pass  # a read never fails because the local cache cannot be written
    return ViewBody(small, memoryview(data)), live


def _live_rows(ctx, case_ids) -> list:
    """The deadlines now of the cases whose answer is not kept (`tables.CaseDue`), read from their
    files; a case that cannot be read is reported and left out."""
    from cpcm.service.context import folded_or_noted
    from cpcm.service.fill import Collector

    rows = []
    store = ctx.store
    held = store.record_cache
    store.record_cache = Collector(None)
    try:
        for case_id in case_ids:
            case = folded_or_noted(ctx, case_id)
            if case is not None:
                rows.append(tables.live(case, ctx))
    finally:
        store.record_cache = held
    return rows


def _old_cases(body: ViewBody, drop: set[str]) -> dict[str, tuple]:
    """The cases of a view's body not in `drop`, as `_Builder.add` takes them (in case order)."""
    items = body.items
    texts = body.texts
    found: dict[int, dict[tuple, list]] = {}
    los, his, piece_of = items["piece_lo"], items["piece_hi"], items["piece"]
    for k in range(len(items["due"])):
        index = items["case"][k]
        pieces = found.setdefault(index, {})
        due, target = body.codes(k)
        lo, hi = los[piece_of[k]], his[piece_of[k]]
        bounds = (None if lo == NONE_LO else lo, None if hi == NONE_HI else hi)
        pieces.setdefault(bounds, []).append((texts[items["static"][k]], due, target))
    out: dict[str, tuple] = {}
    admission = {row[0]: row[2] for row in body.admission}
    span_lo, span_hi = items["span_lo"], items["span_hi"]
    for index, case_id in enumerate(body.ids):
        if case_id in drop:
            continue
        own = found.get(index, {})
        extra = {(lo, hi): [(values[:9], values[9], values[10]) for values in triples] for lo, hi, triples in admission.get(case_id, ())}
        bounds = sorted(set(own) | set(extra), key=lambda b: (b[0] is not None, b[0] or 0))
        pieces = [(lo, hi, len(own.get((lo, hi), [])), own.get((lo, hi), []) + extra.get((lo, hi), [])) for lo, hi in bounds]
        first, last = span_lo[index], span_hi[index]
        out[case_id] = (body.worker(index), body.covers.get(index, {}), pieces,
                        (None if first == NONE_LO else first, None if last == NONE_HI else last))
    return out
