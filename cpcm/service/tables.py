"""What each case gives `cpcm due` and `cpcm report statistics`, kept next to the summary cache
(`.cpcm/cache/<worker>/due/` and `.../statistics/`, encrypted to the worker like it), so that
these commands read a small row per case instead of building every folded case.

- due: case id -> the case's deadlines as `workflow/deadlines.py` computed them (and the
  conference after an admission to a CCI, `workflow/conferences.py`), for every time over which
  they stay the same (`workflow/intervals.py`). A deadline is a time computed from the case's
  records and the policy; of the rules, only one depends on `now`, and only by comparing it with
  a time of the case (the turning-18 item appears when its notice opens; the review interval
  after a reunification is decided by when the review clock starts, not by `now`). An entry
  holds the deadlines for the time it was made and for the times just after (and before) each
  such change; a time outside them is a miss and the case's deadlines are computed again.
  Whether an item is overdue, due soon or inside the `--within` window is decided when `due`
  runs, from the stored times.
- statistics: case id -> the events the statistics report counts (`reports/statistics.py`
  `case_rows`), each with its day in the agency's zone: a period is a filter of these rows.

Each entry is made from exactly one git tree of the case's folder, as a summary is (a case
changed on disk is read from its files and not stored); each table's tag names the code that
makes its rows (the fold, the workflow and domain modules, the statistics report, this module),
the time zone of `now` and, for due, the policy in force: a change to any of them empties the
table, which is filled again as cases are read. Nothing is decided here: a row is what the
workflow or the report returned, encoded, and read back into the same values.

Filled where a case is folded for the summary cache (`context._load_cases` calls `put` and
`save`), by a cold fill (`Bulk`, the entries made in its worker processes), and by `due_rows` and
`statistics_rows` for the cases they miss: a few read from their files, many (an upgrade that
changed this code, a first use) made again in segments from the summary table (`_rebuild`), so
that memory does not grow with the number of cases.
"""
from __future__ import annotations

import hashlib
import json
import weakref
from contextlib import ExitStack
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from cpcm.domain.case import Case
from cpcm.domain.team import RECOVERY_READER
from cpcm.store.cache import DiskChanges, Table, derived_table, json_encoder, plain_json
from cpcm.store.layout import CASES, RECIPIENTS, case_dir, rekey_from, restricted_from
from cpcm.workflow import conferences as conference_rules
from cpcm.workflow import deadlines, intervals
from cpcm.workflow.deadlines import Deadline

VERSION = 1
BULK_FROM = 300  # rows made by a command that did not read the table: stored from this many (a cold cache)
FILE_COST = 100  # a case read from its files costs about as much as this many from the summary cache
TEXT = "~"       # keys of the due table's shared texts start with this (case ids never do)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_TICK = timedelta(microseconds=1)
# the fields of a Deadline, in order: a table made for other fields is not used (see `_session`). Its `asks` (what
# `deadlines.at_stage` reads) is not stored: the table holds the items that filter listed; one read back has None
DEADLINE_FIELDS = ("case_id", "code", "title", "due", "target", "owner", "rule", "why", "source", "risk", "requested_by",
                   "barred", "covered_by", "worker_removed", "nobody_may_decide", "next_decidable", "asks")
_STATIC = ("code", "title", "owner", "rule", "why", "source", "risk", "requested_by", "barred")
STATIC_BARRED = _STATIC.index("barred")  # where a static text keeps who may not decide an approval
_STATIC_TITLE, _STATIC_WHY = _STATIC.index("title"), _STATIC.index("why")
# a case's own ID in the title or reason of one of its deadlines, as the due table keeps the text (`_due_entry`): the
# rules name the case in what to run ("cpcm followup CP-… --done A1"), and a text kept with the ID in it was one text
# a case (about 1 KB each: at 100,000 cases with plans, 100 MB of the table, held whole by a cold fill)
CASE_MARK = "\x00case\x00"


def marked(text: Any, case_id: str) -> Any:
    """`text` as the due table keeps it: the case's own ID in it marked (`CASE_MARK`)."""
    return text.replace(case_id, CASE_MARK) if text.__class__ is str and case_id in text else text


def holds_case(static: Sequence, why: bool = True) -> bool:
    """Whether a static text as the due table keeps it (`_STATIC`'s fields) holds a case's ID (`marked`) in its title
    (or, with `why`, in its reason)."""
    return any(value.__class__ is str and CASE_MARK in value
               for value in ((static[_STATIC_TITLE], static[_STATIC_WHY]) if why else (static[_STATIC_TITLE],)))


def with_case(static: Sequence, case_id: str, why: bool = True) -> Sequence:
    """A static text as the due table keeps it with the case's ID in place of its mark in its title (and, with `why`,
    its reason), as the rules wrote it; the same text where it holds none. The due view keeps the reasons marked:
    `due` puts the ID back as it prints each item (service/duelines.py)."""
    if not holds_case(static, why):
        return static
    found = list(static)
    for at in (_STATIC_TITLE, _STATIC_WHY) if why else (_STATIC_TITLE,):
        if found[at].__class__ is str:
            found[at] = unmarked(found[at], case_id)
    return found


def unmarked(text: str, case_id: str) -> str:
    """A text the due table or view keeps (a reason, a line) with the case's ID in place of its mark."""
    return text.replace(CASE_MARK, case_id) if CASE_MARK in text else text


# json.dumps(value, separators=(",", ":")) of the lists the tables hold (made here, never cyclic), its encoder made
# once (a fill encodes two entries a case)
_compact = json_encoder()


class _NotKept(Exception):
    """A case's answer that cannot be stored exactly: it is computed each time instead."""


# -- keys -------------------------------------------------------------------------------------------
def zone_key(zone: tzinfo | None) -> str | None:
    """A name for a time zone that is the same in every process, or None (then nothing is kept)."""
    from zoneinfo import ZoneInfo

    if isinstance(zone, ZoneInfo) and zone.key:
        return f"zone:{zone.key}"
    if isinstance(zone, timezone):
        return f"fixed:{zone!r}"
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def code_fingerprint() -> str:
    """A digest of the code the rows come from: this module and the rules it runs (the deadlines,
    the admission conference's rule, the intervals they are kept for, the statistics report),
    with every module those import (`codeprint.digest`). The folded case they are made of has
    its own, `fold_fingerprint`, in the tables' tags."""
    from cpcm.store import codeprint

    return codeprint.digest(own=(__file__,))[:24]


def policy_fingerprint(policy) -> str:
    """A digest of the policy in force (its rules and where each was set, which its sources name,
    and when each reportable concern was listed, where that was after the start)."""
    parts = [policy.profile, policy.title, policy.rules, policy.origins]
    if policy.reportable_since:  # (a policy that records none digests as before)
        parts.append(dict(policy.reportable_since))
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# -- times ------------------------------------------------------------------------------------------
def instant(moment: datetime) -> int:
    """An aware time as microseconds since 1970 (UTC): what the table compares."""
    return (moment - _EPOCH) // _TICK


_SECOND = 1_000_000


def _time_code(moment: datetime | None, zone: tzinfo) -> Any:
    """A deadline's time as stored, read back in `zone` as the same local time: its instant in
    seconds (an int) when it falls on a whole second, else [microseconds]; [microseconds, local
    time, fold] where the instant would read back as another local time (in a gap of daylight
    saving)."""
    if moment is None:
        return None
    if moment.tzinfo is not zone:
        raise _NotKept
    # `instant`, and below `_time_of`, without the calls: ~5 times a case in a fill
    since = moment - _EPOCH
    code: Any
    if since.microseconds == 0:  # on a whole second (the usual): its seconds read off the difference, not divided out
        code = since.days * 86400 + since.seconds
        if type(zone) is timezone:  # a fixed offset: always the same local time
            return code
        back = datetime.fromtimestamp(code, zone)
    else:
        code = [since // _TICK]
        if type(zone) is timezone:
            return code
        back = (_EPOCH + timedelta(microseconds=code[0])).astimezone(zone)
    if back.tzinfo is zone:  # both in this zone object: == compares the local times as written (not the instants)
        if back == moment and back.fold == moment.fold:
            return code
    elif back.replace(tzinfo=None) == moment.replace(tzinfo=None) and back.fold == moment.fold:
        return code
    return [since // _TICK, (moment.replace(tzinfo=None) - _NAIVE_EPOCH) // _TICK, moment.fold]


def _time_of(code: Any, zone: tzinfo) -> datetime | None:
    if code is None:
        return None
    if type(code) is int:
        return datetime.fromtimestamp(code, zone)
    if len(code) == 1:
        return (_EPOCH + timedelta(microseconds=code[0])).astimezone(zone)
    return (_NAIVE_EPOCH + timedelta(microseconds=code[1])).replace(tzinfo=zone, fold=code[2])


def _code_instant(code: Any) -> int:
    """A stored time as an `instant`."""
    return code * _SECOND if type(code) is int else code[0]


# -- the session's tables ---------------------------------------------------------------------------
@dataclass
class _Session:
    root: Path
    worker: str
    recipient: str
    keys: Any
    zone: tzinfo
    zone_key: str
    _due: Table | None = None
    _policy: Any = None
    _stats: Table | None = None
    changes: Callable[[], DiskChanges] | None = None  # the cases changed on disk, as the store asks them (`dirty`)
    staged: dict[str, dict[str, list | None]] = field(default_factory=dict)  # kind -> case id -> entry (None: not kept)
    texts: dict[str, list] = field(default_factory=dict)  # the due texts made here, by id
    text_ids: dict[tuple, str] = field(default_factory=dict)  # and their ids, by the texts
    ids: list[str] | None = None  # the case ids of the repository, once read

    def table(self, ctx, kind: str) -> Table:
        if kind == "due":
            if self._due is not None and ctx.policy is not self._policy:  # the policy was read again (a write)
                try:
                    self._due.save()
                except OSError:
                    pass
                self._due = None
            if self._due is None:
                self._policy = ctx.policy
                self._due = derived_table(self.root, self.worker, "due", self.recipient, self.keys, self.tag(ctx, "due"),
                                          lambda: self._keep("due"))
            return self._due
        if self._stats is None:
            self._stats = derived_table(self.root, self.worker, "statistics", self.recipient, self.keys,
                                        self.tag(ctx, "statistics"), lambda: self._keep("statistics"))
        return self._stats

    def tag(self, ctx, kind: str) -> str:
        """What table `kind`'s rows depend on besides each case's tree: the code, the zone, and for
        due the policy in force (with when each reportable concern was listed: `policy_fingerprint`)
        and when it took effect."""
        from cpcm.service.context import fold_fingerprint

        if kind == "due":
            return _digest("due", str(VERSION), fold_fingerprint(), code_fingerprint(), policy_fingerprint(ctx.policy),
                           self.zone_key, ctx.config.policy_since or "")
        return _digest("statistics", str(VERSION), fold_fingerprint(), code_fingerprint(), self.zone_key)

    def loaded(self, kind: str) -> bool:
        table = self._due if kind == "due" else self._stats
        return table is not None and table.loaded

    def _keep(self, kind: str) -> set[str] | None:
        """When a table's segments are merged: the entries of the cases in the repository (when
        this command listed them) and the texts they use."""
        table = self._due if kind == "due" else self._stats
        if self.ids is None or table is None:
            return None
        keep = set(self.ids).intersection(table.entries)
        if kind == "due":
            entries = table.entries
            for key in list(keep):
                for piece in entries[key][2:]:
                    keep.update(TEXT + text_id for text_id in piece[3::3])
        return keep

    def dirty(self, names: Iterable[str] | None = None) -> set[str]:
        """The cases changed on disk since the last commit (`cache.dirty_cases`), or those of them among `names`:
        a few asked of their own files and the commit's, many (or all) from git's index once for the command (at
        100,000 cases of a dozen files each, `git status` reads an index of 350 MB). A table's entry is of the
        tree it was made from, and describes the last commit whatever the disk holds now: only the cases read from
        their files need asking."""
        if self.changes is None:
            own = DiskChanges(self.root)
            self.changes = lambda: own  # noqa: E731
        changes = self.changes()
        return changes.every() if names is None else changes.among(names)


_SESSIONS: dict[int, tuple[weakref.ref, _Session | None]] = {}


def _plain_deadline() -> bool:
    """Whether a Deadline is what the due table stores and makes: these fields, kept in the
    instance's __dict__, with nothing run after __init__."""
    return (tuple(f.name for f in fields(Deadline)) == DEADLINE_FIELDS and not hasattr(Deadline, "__post_init__")
            and not hasattr(Deadline, "__slots__"))


def _session(ctx) -> _Session | None:
    """The tables of this session: None for a repository in memory, a `now` in a zone without a
    lasting name, or a Deadline of other fields than the table stores."""
    key = id(ctx)
    found = _SESSIONS.get(key)
    if found is not None and found[0]() is ctx:
        return found[1]
    session = None
    zone = ctx.now.tzinfo
    name = zone_key(zone)
    if ctx.root is not None and ctx.identity is not None and ctx.worker is not None and name is not None and _plain_deadline():
        session = _Session(ctx.root, ctx.worker.id, ctx.identity.recipient, ctx.keys, zone, name,
                           changes=getattr(ctx.store, "disk_changes", None))
    _SESSIONS[key] = (weakref.ref(ctx, lambda _ref, key=key: _SESSIONS.pop(key, None)), session)
    return session


# What service/views.py and service/dueview.py share with this module (each calls the name here,
# so a test that replaces it replaces it for them too).
NotKept = _NotKept


def session(ctx) -> "_Session | None":
    return _session(ctx)


def time_of(code: Any, zone: tzinfo) -> datetime | None:
    return _time_of(code, zone)


def code_instant(code: Any) -> int:
    return _code_instant(code)


# -- making rows ------------------------------------------------------------------------------------
# An entry is a list (JSON arrays read back fastest): [tree] for a case the worker does not read;
# due: [tree, worker, piece, ...], each piece [lo, hi, n, text id, due, target, ...] (lo and hi as
# `instant`s, None unbounded; the first n triples are the case's deadlines, the rest the conference
# after an admission); statistics: [tree, [row, ...]] (`case_rows`).
TREE = 20  # hex digits of the case's tree id kept (80 bits: an entry of another tree is never taken for it)
TEXT_ID = 10  # hex digits of a text's digest; two texts with one id are detected and the case is not kept


def _case_answer(case: Case, ctx, line: tuple[bool, tuple[str, ...]] | bool | None = None
                 ) -> Callable[[datetime], tuple[list[Deadline], list[Deadline]]]:
    """A case's deadlines at a `now` (and the conference after an admission); with them, where its `recipients`
    file's `# restricted` line (`line`: as `_lines`) says other than its records, the managers'
    `restriction-mismatch` item (`deadlines.restriction_mismatch`): kept in the entry as any other. Not the
    `case-readers` item of its `# rekey:` lines: due at once, it is made when `due` runs from the mark the entry
    keeps (`worker_cell`, `rekey_mark`), so that the entry is kept and such a case is not read again by every `due`."""
    policy, since = ctx.policy, profile_since(ctx)
    restricted = _lines(ctx, case, line)[0]
    mismatch = deadlines.restriction_mismatch

    def answer(now: datetime) -> tuple[list[Deadline], list[Deadline]]:
        return (deadlines.deadlines(case, policy, now) + mismatch(case, policy, now, restricted),
                conference_rules.admission_conference_due(case, policy, now, (), since))
    return answer


def _lines(ctx, case: Case, line: tuple[bool, tuple[str, ...]] | bool | None) -> tuple[bool, tuple[str, ...]]:
    """The `# restricted` line of the case's `recipients` file and the workers of its `# rekey:` lines: `line` as
    given (both, or the first alone, then no `# rekey:` line), else read (`case_lines`)."""
    if line is None:
        return case_lines(ctx, case.id)
    return (line, ()) if isinstance(line, bool) else line


def rekey_mark(case: Case, line: tuple[bool, tuple[str, ...]]) -> list | None:
    """What the due entry keeps of a case whose `recipients` file has `# rekey:` lines (`line`: as `_lines` gives
    it), for the `case-readers` item `due` makes of it (`CaseDue.rekey_item`, `deadlines.case_rekey_item`):
    [restricted to the managers, the case's risk level]; None without such a line. No worker id: the item names
    the case, never a worker."""
    restricted, rekey = line
    return [bool(restricted), case.risk] if tuple(rekey) else None


def case_lines(ctx, case_id: str) -> tuple[bool, tuple[str, ...]]:
    """Whether the case's `recipients` file, as readers read it, says it is restricted to the managers (its
    `# restricted` line, `layout.restricted_from`), and the workers its `# rekey:` lines name (`layout.rekey_from`),
    from one read of it: for a case whose folder was not just read (a fill reads the file once, for whether the
    worker reads the case and these lines: `fill._reader`). (False, ()) where it cannot be read."""
    try:
        text = ctx.store.read_bytes(case_dir(ctx.store.root, case_id) / RECIPIENTS).decode("utf-8", "replace")
    except (OSError, KeyError, ValueError):
        return False, ()
    return restricted_from(text), tuple(rekey_from(text))


def profile_since(ctx) -> datetime | None:
    """When the profile in force took effect (the config's `policy_since`): what the conference
    after an admission counts from for a child assessed before it."""
    return conference_rules.profile_start(ctx.config.policy_since)


def _due_entry(ctx, session: _Session, case: Case, tree: str,
               line: tuple[bool, tuple[str, ...]] | bool | None = None) -> list:
    """The due table's entry of a folded case; its texts go to `session.texts`. _NotKept when the
    deadlines depend on `now` other than by comparison, or hold a time in another zone. `line`: the
    `# restricted` line of the case's `recipients` file in `tree` and the workers of its `# rekey:` lines (None: read,
    `case_lines`)."""
    line = _lines(ctx, case, line)
    found = intervals.pieces(_case_answer(case, ctx, line), ctx.now)
    if found is None:
        raise _NotKept
    texts = session.texts
    zone = session.zone
    entry: list = [tree[:TREE], worker_cell(case, rekey_mark(case, line))]
    for piece in found:
        items, admission = piece.answer
        flat: list = [None if piece.lo is None else instant(piece.lo), None if piece.hi is None else instant(piece.hi), len(items)]
        for item in items + admission:
            if item.case_id != case.id or item.covered_by is not None:
                raise _NotKept
            static = (item.code, marked(item.title, case.id), item.owner, item.rule, marked(item.why, case.id), item.source,
                      item.risk, item.requested_by, item.barred)
            text_id = session.text_ids.get(static)
            if text_id is None:
                if not all(v is None or type(v) is str for v in static[:-1]) or not all(type(v) is str for v in item.barred):
                    raise _NotKept
                value = [*static[:-1], list(item.barred)]
                text_id = hashlib.sha256(_compact(value).encode()).hexdigest()[:TEXT_ID]
                if texts.setdefault(text_id, value) != value:
                    raise _NotKept  # two texts with one id
                session.text_ids[static] = text_id
            flat += [text_id, _time_code(item.due, zone), _time_code(item.target, zone)]
        entry.append(flat)
    return entry


_case_rows: Callable | None = None  # `reports.statistics.case_rows`, imported with the first entry (the reports cost start-up)


def worker_cell(case: Case, rekey: list | None = None) -> Any:
    """What a due entry keeps of the case beside its deadlines: its worker; with a colleague nominated
    keyworker who is not its worker (`rules.keyworker_in_team`), [worker, keyworker, risk, since], so that
    `due` lists `keyworker-off-team` for it once that colleague leaves the team (the team is read when
    `due` runs: `team remove` changes no case, and no entry); with the risk level of an open case too,
    [worker, keyworker or None, risk, since], so that `due` lists `cadre-escalation` for it while its worker's
    cadre, as the team has it then, may not hold that risk (`rules.cadre_escalation_item`), dated `since`
    (`rules.cadre_since`: when it would have gone above the cadre, None without a risk) with no case read; with
    the mark of a case whose `recipients` file has `# rekey:` lines (`rekey`: `rekey_mark`), [worker, keyworker or
    None, risk or None, since or None, mark], so that `due` lists its `case-readers` item, due at once, with no case
    read (`CaseDue.rekey_item`)."""
    from cpcm.workflow.rules import cadre_since, keyworker_in_team

    keyworker = keyworker_in_team(case)
    if keyworker is None and (case.status != "open" or not case.risk):
        return case.worker if rekey is None else [case.worker, None, None, None, rekey]
    cell = [case.worker, keyworker, case.risk, cadre_since(case) if case.risk else None]
    return cell if rekey is None else [*cell, rekey]


def worker_of(cell: Any) -> tuple[str | None, str | None, str | None, str | None, list | None]:
    """(worker, keyworker, risk, since, rekey mark) of an entry's `worker_cell`."""
    if isinstance(cell, list):
        return cell[0], cell[1], cell[2], cell[3], cell[4] if len(cell) > 4 else None
    return cell, None, None, None, None


def _statistics_entry(session: _Session, case: Case, tree: str) -> list:
    global _case_rows
    if _case_rows is None:  # an import statement here would cost a microsecond for every case of a fill
        from cpcm.reports.statistics import case_rows as _case_rows

    rows = _case_rows(case, session.zone)
    if not plain_json(rows):
        raise _NotKept
    return [tree[:TREE], rows]


def _entry(ctx, session: _Session, kind: str, tree: str, case: Case | None,
           line: tuple[bool, tuple[str, ...]] | bool | None = None) -> list | None:
    """A case's entry in table `kind`; None when the rules fail on the case (they fail again where
    the case is used, which reports it) or their answer cannot be stored exactly. `line`: as `_due_entry`."""
    if case is None:
        return [tree[:TREE]]
    try:
        if kind == "due":
            return _due_entry(ctx, session, case, tree, line)
        return _statistics_entry(session, case, tree)
    except Exception:  # noqa: BLE001 - see the docstring
        return None


def _store(session: _Session, table: Table, case_id: str, entry: list | None) -> None:
    if entry is None:
        table.delete(case_id)
        return
    if len(entry) > 1 and table is session._due:
        for piece in entry[2:]:
            for text_id in piece[3::3]:
                key = TEXT + text_id
                current = table.entries.get(key)
                if current is None:
                    table.set(key, session.texts[text_id])
                elif current != session.texts[text_id]:  # the id of another text, stored by another command
                    table.delete(case_id)
                    return
    table.set(case_id, entry)


def due_entry(ctx, session: _Session, case: Case, tree: str) -> list:
    """`_due_entry`, for the due view."""
    return _due_entry(ctx, session, case, tree)


def live(case: Case, ctx) -> "CaseDue":
    """A case's deadlines now, computed (`_live`)."""
    return _live(case, ctx)


def _put(ctx, session: _Session, case_id: str, tree: str, case: Case | None, kind: str) -> None:
    _store(session, session.table(ctx, kind), case_id, _entry(ctx, session, kind, tree, case))


def put(ctx, cache, case_id: str, tree: str | None, case: Case | None) -> None:
    """A case's rows for both tables, made as its summary is stored (`case`: None when the worker
    does not read it), kept until `save`. Nothing for a case changed on disk or a session with no
    tables."""
    session = _session(ctx)
    if session is None or tree is None or cache.differs(case_id):
        return
    for kind in ("due", "statistics"):
        session.staged.setdefault(kind, {})[case_id] = _entry(ctx, session, kind, tree, case)


class Bulk:
    """The due and statistics rows of a cold fill, written to new segments of each table as the
    fill goes (`cache.Appender`, like the fill's other tables) instead of kept until it ends:
    memory stays flat in the number of cases. Used for a table this command has not read (a
    command that read it stores its rows there, `put`). A due text is written before the first
    entry that uses it, so every segment written holds the texts of its entries or follows one
    that does."""

    def __init__(self, ctx, session: _Session, cache, kinds: Iterable[str]):
        from cpcm.store.cache import Appender

        self.ctx, self.session = ctx, session
        self.writers = {kind: Appender(cache.folder / kind, cache.recipient, session.tag(ctx, kind)) for kind in kinds}
        self.sent: set[str] = set()  # the due texts written
        self.missed: dict[str, set[str]] = {kind: set() for kind in kinds}  # the cases whose rows are not kept

    def add(self, case_id: str, tree: str, case: Case | None) -> None:
        session = self.session
        for kind, writer in self.writers.items():
            entry = _entry(self.ctx, session, kind, tree, case)
            if entry is None:
                self.missed[kind].add(case_id)
                continue  # not kept: a miss, computed where it is used
            if kind == "due":
                for piece in entry[2:]:
                    for text_id in piece[3::3]:
                        if text_id not in self.sent:
                            self.sent.add(text_id)
                            writer.add(TEXT + text_id, _compact(session.texts[text_id]))
            writer.add(case_id, _compact(entry))

    def add_made(self, case_id: str, made: dict[str, tuple[str | None, dict]]) -> None:
        """`add`, with each table's entry made elsewhere (`made_rows`, in a fill's worker process):
        its JSON text (None: not kept) and the due texts it uses."""
        for kind, writer in self.writers.items():
            text, texts = made[kind]
            if text is not None and kind == "due":
                for text_id, value in texts.items():
                    known = self.session.texts.setdefault(text_id, value)
                    if known != value:  # two texts with one id
                        text = None
                        break
            if text is None:
                self.missed[kind].add(case_id)
                continue
            if kind == "due":
                for text_id in texts:
                    if text_id not in self.sent:
                        self.sent.add(text_id)
                        writer.add(TEXT + text_id, _compact(self.session.texts[text_id]))
            writer.add(case_id, text)

    def flush(self) -> None:
        for writer in self.writers.values():
            writer.flush()


def made_rows(ctx, kinds: Iterable[str], tree: str, case: Case | None,
              line: tuple[bool, tuple[str, ...]] | bool | None = None) -> dict[str, tuple[str | None, dict]]:
    """Each table's entry of a case as `Bulk.add_made` takes it, made where the case was folded
    (a fill's worker process: the rules run on every core, and the parent builds no `Case`).
    `line`: the `# restricted` line of its `recipients` file and the workers of its `# rekey:` lines, as the fill read
    them (None: read here)."""
    session = _session(ctx)
    made: dict[str, tuple[str | None, dict]] = {}
    for kind in kinds:
        entry = _entry(ctx, session, kind, tree, case, line)
        if entry is None:
            made[kind] = (None, {})
            continue
        texts = {}
        if kind == "due":
            for piece in entry[2:]:
                for text_id in piece[3::3]:
                    texts[text_id] = session.texts[text_id]
        made[kind] = (_compact(entry), texts)
    return made


def bulk(ctx, cache) -> Bulk | None:
    """A `Bulk` writer of the tables this command has not read, for a cold fill of many cases;
    None when the session keeps no tables or has read both."""
    session = _session(ctx)
    if session is None:
        return None
    kinds = [kind for kind in ("due", "statistics") if not session.loaded(kind)]
    return Bulk(ctx, session, cache, kinds) if kinds else None


def put_bulk(ctx, cache, writer: Bulk | None, case_id: str, tree: str | None, case: Case | None) -> None:
    """`put`, with the rows of the tables `writer` writes appended there."""
    if writer is None:
        put(ctx, cache, case_id, tree, case)
        return
    session = writer.session
    if tree is None or cache.differs(case_id):
        return
    writer.add(case_id, tree, case)
    for kind in ("due", "statistics"):
        if kind not in writer.writers:
            session.staged.setdefault(kind, {})[case_id] = _entry(ctx, session, kind, tree, case)


def put_made(ctx, cache, writer: Bulk | None, item, tree: str | None) -> None:
    """`put_bulk` of a case a fill read (`fill.Filled`): the rows its worker process made
    (`item.rows`, for the tables `writer` writes) when there are, else from its folded case."""
    made = getattr(item, "rows", None)
    if writer is None or made is None or set(made) != set(writer.writers) or tree is None or cache.differs(item.case_id):
        put_bulk(ctx, cache, writer, item.case_id, tree, item.case)
        return
    writer.add_made(item.case_id, made)
    for kind in ("due", "statistics"):
        if kind not in writer.writers:
            writer.session.staged.setdefault(kind, {})[item.case_id] = _entry(ctx, writer.session, kind, tree, item.case)


def save(ctx) -> None:
    """Store the rows made since the last save and write what changed. The rows of a few cases
    are stored only in a table this command has read (`due` reads its own; the `list` or the
    `register` after a write does not load a whole table for the cases it changed: `due` reads
    those few from their files); the rows of many (a cold cache) are always stored. A read never
    fails because of the cache."""
    session = _session(ctx)
    if session is None:
        return
    for kind, staged in session.staged.items():
        current = session._due if kind == "due" else session._stats
        if not staged or ((current is None or not current.loaded) and len(staged) < BULK_FROM):
            continue
        table = session.table(ctx, kind)
        for case_id, entry in staged.items():
            _store(session, table, case_id, entry)
    session.staged = {}
    for table in (session._due, session._stats):
        if table is not None:
            try:
                table.save()
            except OSError:
                pass


# -- reading rows -----------------------------------------------------------------------------------
@dataclass(slots=True)
class CaseDue:
    """A case's deadlines at `now`: `items` and `admission` (the conference after an admission,
    computed without the conferences) as (a Deadline with the case's texts, due, target): the
    times as stored (`zone` set) or, for a case computed now, None (the Deadline holds them)."""

    case_id: str
    worker: str | None
    items: list[tuple[Deadline, Any, Any]]
    admission: list[tuple[Deadline, Any, Any]]
    case: Case | None = None  # the folded case, when it was read to compute them
    zone: tzinfo | None = None  # the zone stored times are read in
    keyworker: str | None = None  # a colleague nominated keyworker other than the worker (`worker_cell`)
    risk: str | None = None  # the case's risk level, with `keyworker` or while it is open (`worker_cell`)
    cadre_since: str | None = None  # with `risk`: when the case would have gone above its worker's cadre (`worker_cell`)
    rekey: list | None = None  # its `recipients` file's `# rekey:` lines: [restricted, risk] (`rekey_mark`)

    def rekey_item(self, now: datetime) -> Deadline | None:
        """The case's `case-readers` item, due at once (`now`), where its `recipients` file has `# rekey:` lines."""
        if self.rekey is None:
            return None
        restricted, risk = self.rekey
        return deadlines.case_rekey_item(self.case_id, now, restricted, risk)

    def deadline(self, entry: tuple[Deadline, Any, Any], covered_by: str | None = None) -> Deadline:
        item, due, target = entry
        if self.zone is None:  # computed now
            return replace(item, covered_by=covered_by) if covered_by else item
        # the item's texts with this case's id and times: the fields set as Deadline's __init__
        # sets them (a frozen dataclass of plain fields, checked in `_session`), at a fifth of its cost
        values = dict(item.__dict__)
        values.update(case_id=self.case_id, due=_time_of(due, self.zone), target=_time_of(target, self.zone),
                      covered_by=covered_by)
        for name in ("title", "why"):  # the case's own ID where the table keeps its mark (`marked`)
            if values[name].__class__ is str:
                values[name] = unmarked(values[name], self.case_id)
        made = object.__new__(Deadline)
        object.__setattr__(made, "__dict__", values)
        return made

    def instant_of(self, entry: tuple[Deadline, Any, Any]) -> int:
        """The instant `due` compares with its window: the target where there is one, else the due time."""
        item, due, target = entry
        if self.zone is None:
            return instant(item.target or item.due)
        return _code_instant(target if target is not None else due)


def _live(case: Case, ctx) -> CaseDue:
    line = case_lines(ctx, case.id)
    items, admission = _case_answer(case, ctx, line)(ctx.now)
    _worker, keyworker, risk, since, rekey = worker_of(worker_cell(case, rekey_mark(case, line)))
    return CaseDue(case.id, case.worker, [(i, None, None) for i in items], [(i, None, None) for i in admission], case,
                   keyworker=keyworker, risk=risk, cadre_since=since, rekey=rekey)


def _read_rows(ctx, kind: str, use: Callable[[list, str], Any], make: Callable[[Case, str | None], Any],
               info: dict | None = None) -> list[Any] | None:
    """The value of every case the worker reads, in the order of the case ids: `use(entry, id)`
    of its table entry (None: a miss), else `make(case, tree)` of the case read from its files
    (or, when they are many for the size of the repository, through the summary cache, which
    keeps them for the next command). A damaged case is left out and noted in
    `ctx.problems`, as `load_cases` does. None when the session keeps no tables. `info`, when
    given, gets "values" (case id -> value), "failed" (the readable cases that could not be
    read), "total" (the case folders) and "clean" (no case read from files that differ from the last commit)."""
    session = _session(ctx)
    if session is None:
        return None
    with ExitStack() as committed:
        return _rows_read(ctx, session, committed, kind, use, make, info)


def case_folders(ctx, changed: Callable[[Iterable[str]], set[str]]) -> tuple[dict[str, str], list[str], set[str]]:
    """The tree id of each case folder of the last commit, the case folders (those of the commit deleted from the
    disk by hand too: the views describe the last commit) and those deleted (`changed(names)`: those of the names
    changed on disk, `DiskChanges.among`)."""
    trees = ctx.store.versions(CASES)
    ids = ctx.store.case_ids()
    deleted = changed(set(trees).difference(ids))
    if deleted:
        with ctx.store.read_as_committed(deleted):
            ids = ctx.store.case_ids()
    return trees, ids, deleted


def _rows_read(ctx, session: _Session, committed: ExitStack, kind: str, use: Callable[[list, str], Any],
               make: Callable[[Case, str | None], Any], info: dict | None) -> list[Any]:
    """`_read_rows`; the cases it reads that differ on disk from the last commit read as committed (in `committed`,
    which the caller ends), as the views describe it."""
    from cpcm.service.context import folded_or_noted, load_cases

    worker = ctx.need_worker()
    trees, ids, deleted = case_folders(ctx, session.dirty)
    table = session.table(ctx, kind).load()
    entries = table.entries
    session.ids = ids  # a merge of the table's segments keeps these cases' entries only (`_keep`)

    def stored(case_id: str) -> list | None:
        entry = entries.get(case_id)
        tree = trees.get(case_id)
        if entry is None or tree is None or entry[0] != tree[:TREE]:
            return None
        return entry

    values: dict[str, Any] = {}

    def stored_values(case_ids: Iterable[str]) -> list[str]:
        """`use` of each case's entry into `values`; the cases with none (`stored`, written out:
        this loop runs for every case)."""
        missing: list[str] = []
        for case_id in case_ids:
            entry = entries.get(case_id)
            if entry is not None:  # of the tree it was made from: the last commit's, whatever the disk holds
                tree = trees.get(case_id)
                if tree is not None and entry[0] == tree[:TREE]:
                    if len(entry) == 1:  # a case this worker does not read
                        continue
                    value = use(entry, case_id)
                    if value is not None:
                        values[case_id] = value
                        continue
            missing.append(case_id)
        return missing

    missing = stored_values(ids)
    tried: set[str] = set()
    differs: set[str] = set()  # of the cases the rebuild read from their files, those changed on disk (read as committed)
    again = [c for c in missing if c in trees] if len(missing) >= REBUILD_FROM else []
    if len(again) >= REBUILD_FROM:  # many (an upgrade, a first use): made again in segments, then read back
        made = _rebuild(ctx, session, kind, again, trees, make, differs)
        if made is not None:
            extra, tried = made
            table = session.table(ctx, kind).load()
            entries = table.entries
            missing = stored_values(missing)
            values.update((c, v) for c, v in extra.items() if c in trees)
            missing = [c for c in missing if c not in extra and c not in tried]
    dirty = differs | session.dirty([*missing, *deleted])  # git asked only of the cases still to read
    committed.enter_context(ctx.store.read_as_committed(dirty))
    readable = [c for c in missing if worker.id in ctx.store.recipients(c) or worker.id == RECOVERY_READER]
    for case_id in set(missing).difference(readable):
        if case_id not in dirty and trees.get(case_id) is not None:
            _put(ctx, session, case_id, trees[case_id], None, kind)
    if readable and len(readable) * FILE_COST >= len(ids):  # many: through the summary cache (decrypted once for every command)
        cases = load_cases(ctx)  # stores the rows of every case it folds from its files
        for case_id in readable:
            if case_id not in cases:
                continue
            entry = stored(case_id)  # stored just now by load_cases?
            value = use(entry, case_id) if entry is not None and len(entry) > 1 else None
            values[case_id] = value if value is not None else make(cases[case_id], trees.get(case_id))
    else:
        for case_id in readable:
            case = folded_or_noted(ctx, case_id)
            if case is not None:
                values[case_id] = make(case, trees.get(case_id))
    present = set(ids)
    table = session.table(ctx, kind)
    for gone in [k for k in table.entries if k not in present and not k.startswith(TEXT)]:
        table.delete(gone)  # a case that left the folder (its texts are left out when the table is merged)
    save(ctx)
    if info is not None:
        info.update(values=values, failed={c for c in (*readable, *tried) if c not in values}, total=len(ids),
                    clean=set(ids) == set(trees) and not (dirty & set(ids)))
    return list(values.values()) if not missing and not tried else [values[c] for c in ids if c in values]


def merge_table(ctx, session: _Session, kind: str) -> bool:
    """Merge the segments of table `kind` (due or statistics) when they are many (`cache.merge_read`): a view made
    anew reads the table a segment and an entry at a time (`due_stream`, `statistics_stream`) and never loads it
    whole, so no `Table.save` merges them; every rebuild (an upgrade, a large sync) and every view made anew that
    misses cases adds segments, each read in full (its old entries too) by the next view made anew, and the table
    grows on disk. The cases gone from the folder are left out (`session.ids`, as the stream read them). Whether
    it merged."""
    from cpcm.store import cache as cache_mod

    table = session.table(ctx, kind)
    if session.ids is None:
        return False
    present = set(session.ids)
    return cache_mod.merge_read(table, lambda key: key.startswith(TEXT) or key in present)


REBUILD_FROM = 300  # cases missing from a table (an upgrade that changed its code, a first use) made again in segments


def _rebuild(ctx, session: _Session, kind: str, case_ids: list[str], trees: dict[str, str],
             make: Callable[[Case, str | None], Any], differs: set[str]) -> tuple[dict[str, Any], set[str]] | None:
    """Make the rows of table `kind` for `case_ids` (folders of the last commit) as a cold fill
    does: each folded case taken from the summary table one segment at a time (or, for the cases
    it misses, read on every core by `fill.fill`), its rows written to new segments of the table
    as they come (`Bulk`): memory stays flat in the number of cases, whatever the table held
    before. The other table (due or statistics) is written in the same pass when it holds nothing
    of this code either (the next command finds it ready). Returns the values (`make`) of the cases
    whose rows cannot be kept (or were not stored), and the cases that could not be read (noted in
    `ctx.problems`); None when there is no summary table (a repository in memory). Each case is made
    as the last commit holds it: one read from its files that changed on disk is read as committed
    (`fill.fill`) and added to `differs`."""
    from cpcm.service import fill
    from cpcm.service.context import fold_fingerprint
    from cpcm.store import parallel
    from cpcm.store.cache import SummaryCache

    worker = ctx.need_worker()
    cache = ctx.store.summaries(worker.id, ctx.identity.recipient, ctx.keys, fold_fingerprint())
    if not isinstance(cache, SummaryCache):
        return None
    kinds = [kind]
    for other in ("due", "statistics"):
        if other != kind and not session.loaded(other):
            table = session.table(ctx, other)
            if table.drop_stale() or not table.segments():  # nothing of this code in it: written in this pass too
                kinds.append(other)
    table = session.table(ctx, kind)
    if not table.entries:
        table.drop_stale()  # an earlier version's table: nothing in it is read again
    writer = Bulk(ctx, session, cache, kinds)
    missed = writer.missed[kind]
    extra: dict[str, Any] = {}
    wanted = set(case_ids)
    failed: set[str] = set()
    try:
        names = cache.summary.segments()
        if len(wanted) >= fill.FILL_FROM and len(names) > 1 and parallel.workers() > 1:
            # on every core, a segment of the summary table at a time: each case's rows made where it is folded
            job = _rebuild_job(ctx, cache, list(writer.writers), trees, wanted)
            for results in parallel.run_chunks(job, ([name] for name in reversed(names))):
                for case_id, made, plain in results:
                    if case_id not in wanted:
                        continue  # in more than one segment, for the same tree: its rows are the same
                    wanted.discard(case_id)
                    writer.add_made(case_id, made)
                    if plain is not None and case_id in missed:
                        extra[case_id] = make(Case.from_dict(plain), None)
        else:
            for case_id, entry in cache.summary.stream(wanted):
                tree = trees[case_id]
                if entry.get("tree") != tree:
                    continue
                wanted.discard(case_id)
                case = None if entry["case"] is None else Case.from_dict(entry["case"])
                writer.add(case_id, tree, case)
                if case is not None and case_id in missed:
                    extra[case_id] = make(case, None)
        if wanted:  # not in the summary table (a new fold, a first use): read from the files, on every core when many
            rest = [c for c in case_ids if c in wanted]
            failed = set(rest)
            for item in fill.fill(ctx, cache, trees, rest, spread=len(rest) >= fill.FILL_FROM, rows=writer,
                                  differs=differs):
                failed.discard(item.case_id)
                if item.case is not None and (item.case_id in missed or not item.stored):  # not stored: its value here
                    extra[item.case_id] = make(item.case, None)
    finally:
        try:
            writer.flush()
        except OSError:
            pass  # a read never fails because the local cache cannot be written
    for name in kinds:  # read again from the segments just written
        if name == "due":
            session._due = None
        else:
            session._stats = None
    return extra, failed


def _rebuild_job(ctx, cache, kinds: list[str], trees: Mapping[str, str],
                 wanted: set[str]) -> Callable[[list[str]], list[tuple[str, dict, dict | None]]]:
    """What a worker process of `_rebuild` does with segments of the summary table (by name): for
    each case of `wanted` whose entry there is of its tree now, its rows of `kinds` (`made_rows`),
    with the `# restricted` and `# rekey:` lines of its `recipients` file read as a fill reads them
    (`CaseStore.read_steady`: the write generation checked once around the segment; when a write
    started or ended meanwhile, each case's rows are made again with each read checked), and the
    folded case as stored when a table does not keep its rows (the parent makes its value)."""
    store = ctx.store
    basis = store.generation()
    steady = getattr(store, "read_steady", None)
    summary = cache.summary

    def rows(segment_names: list[str], lines: bool) -> list[tuple[str, dict, dict | None]]:
        found = []
        for name in segment_names:
            for case_id, entry in (summary.segment_entries(name) or {}).items():  # none: its cases read from their files
                if entry is None or case_id not in wanted or entry.get("tree") != trees[case_id]:
                    continue
                plain = entry["case"]
                case = None if plain is None else Case.from_dict(plain)
                line = None
                if case is not None and lines:
                    _readers, restricted, rekey = store.recipients_lines(case_id)
                    line = (restricted, tuple(rekey))
                made = made_rows(ctx, kinds, trees[case_id], case, line)
                found.append((case_id, made, plain if case is not None and any(text is None for text, _ in made.values())
                               else None))
        return found

    def job(segment_names: list[str]) -> list[tuple[str, dict, dict | None]]:
        if steady is not None and basis % 2 == 0:
            done, held = steady(lambda: rows(segment_names, True), basis)
            if held:
                return done
        return rows(segment_names, False)  # each `recipients` file read the usual way (`case_lines`)
    return job


def due_rows(ctx, info: dict | None = None) -> list[CaseDue] | None:
    """Every readable case's deadlines at `ctx.now`, in the order of the case ids; None when the
    session keeps no tables (then `due` computes them from the folded cases). `info`: as
    `_read_rows` fills it."""
    session = _session(ctx)
    if session is None:
        return None
    now = instant(ctx.now)
    zone = session.zone
    texts: dict[str, Deadline] = {}

    def text(text_id: str) -> Deadline | None:
        static = session.table(ctx, "due").entries.get(TEXT + text_id)  # the table as read last (`_rebuild` reads it again)
        if static is None:
            return None
        code, title, owner, rule, why, source, risk, requested_by, barred = static
        found = texts[text_id] = Deadline("", code, title, None, None, owner, rule, why, source, risk, requested_by,
                                          tuple(barred))
        return found

    def use(entry: list, case_id: str) -> CaseDue | None:
        for piece in entry[2:]:
            lo, hi = piece[0], piece[1]
            if (lo is None or now >= lo) and (hi is None or now < hi):
                triples = []
                for i in range(3, len(piece), 3):
                    item = texts.get(piece[i]) or text(piece[i])
                    if item is None:
                        return None  # its text is not in the table (another command's segment was lost)
                    triples.append((item, piece[i + 1], piece[i + 2]))
                n = piece[2]
                worker, keyworker, risk, since, rekey = worker_of(entry[1])
                if n == len(triples):
                    return CaseDue(case_id, worker, triples, [], None, zone, keyworker, risk, since, rekey)
                return CaseDue(case_id, worker, triples[:n], triples[n:], None, zone, keyworker, risk, since, rekey)
        return None

    def make(case: Case, tree: str | None) -> CaseDue:
        if tree is not None and not session.dirty([case.id]):  # asked already by `_rows_read`
            _put(ctx, session, case.id, tree, case, "due")
            entry = session.table(ctx, "due").entries.get(case.id)
            found = use(entry, case.id) if entry is not None and len(entry) > 1 else None
            if found is not None:
                found.case = case
                return found
        return _live(case, ctx)

    return _read_rows(ctx, "due", use, make, info)


def admission_items(ctx, rows: list[CaseDue], conferenced: Mapping[str, Iterable[str]]) -> list[Deadline]:
    """The conference-after-admission items of `rows` given the conferences each case was taken
    to (`conferenced`: case id -> meeting times): a case taken to one is computed again with them."""
    from cpcm.service.context import load_case

    items: list[Deadline] = []
    for row in rows:
        if not row.admission:
            continue
        if row.case_id in conferenced:
            case = row.case or load_case(ctx, row.case_id)
            items += conference_rules.admission_conference_due(case, ctx.policy, ctx.now, conferenced[row.case_id],
                                                               profile_since(ctx))
        else:
            items += [row.deadline(entry) for entry in row.admission]
    return items


def statistics_rows(ctx, info: dict | None = None) -> tuple[list[list[list]], tzinfo] | None:
    """Every readable case's statistics rows (`reports.statistics.case_rows`), in the order of
    the case ids, and the zone they were made in; None when the session keeps no tables.
    `info`: as `_read_rows` fills it."""
    session = _session(ctx)
    if session is None:
        return None

    def use(entry: list, case_id: str) -> list[list]:
        return entry[1]

    def make(case: Case, tree: str | None) -> list[list]:
        from cpcm.reports.statistics import case_rows

        if tree is not None and not session.dirty([case.id]):  # asked already by `_rows_read`
            _put(ctx, session, case.id, tree, case, "statistics")
        return case_rows(case, session.zone)

    rows = _read_rows(ctx, "statistics", use, make, info)
    return (rows, session.zone) if rows is not None else None


def due_stream(ctx, info: dict) -> Iterator[tuple[str, str, Any]] | None:
    """The due table's entries of every readable case, for making the due view case by case
    (service/dueview.py): read one segment and one entry at a time (`cache.newest_entries`),
    never the table whole; the cases the table misses made as `due_rows` makes them (many: again
    in segments, `_rebuild`; a few: read from their files, their entries appended to the table).
    Gives ("text", text id, text) for each text of the table or made here (a text may come after
    an entry that uses it), ("entry", case id, entry) for each case whose entry holds for its
    tree and for `now` (a case the worker does not read is left out), and ("live", case id,
    `CaseDue`) for a case whose answer cannot be kept. Rows of cases that left the folder are
    deleted from the table (appended as deletions). When done, `info` holds "failed" (the
    readable cases that could not be read, noted in `ctx.problems`), "total" (the case folders)
    and "clean" (as `_read_rows` says it). None when the session keeps no tables."""
    session = _session(ctx)
    if session is None:
        return None
    return _stream(ctx, session, "due", info)


def statistics_stream(ctx, info: dict) -> Iterator[tuple[str, str, Any]] | None:
    """`due_stream` of the statistics table, for making the statistics view case by case (service/views.py):
    ("entry", case id, [tree, rows]) for each case whose entry holds for its tree, ("live", case id, rows) for a
    case whose rows cannot be kept (`reports.statistics.case_rows`); no texts. None when the session keeps no
    tables."""
    session = _session(ctx)
    if session is None:
        return None
    return _stream(ctx, session, "statistics", info)


def _stream(ctx, session: _Session, kind: str, info: dict) -> Iterator[tuple[str, str, Any]]:
    with ExitStack() as committed:
        yield from _stream_read(ctx, session, kind, committed, info)


def _stream_read(ctx, session: _Session, kind: str, committed: ExitStack, info: dict) -> Iterator[tuple[str, str, Any]]:
    """`_stream` of table `kind`; the cases it reads that differ on disk from the last commit read as committed (in
    `committed`, as `_rows_read`), and added to the set `info["dirty"]` (made here if the caller made none) once
    the table's entries are given."""
    from cpcm.service.context import folded_or_noted
    from cpcm.store.cache import Appender, newest_entries

    def live(case: Case, tree: str | None) -> Any:
        """What is given for a case whose entry cannot be kept."""
        if kind == "due":
            return _live(case, ctx)
        from cpcm.reports.statistics import case_rows

        return case_rows(case, session.zone)

    worker = ctx.need_worker()
    trees, ids, deleted = case_folders(ctx, session.dirty)
    session.ids = ids
    present = set(ids)
    now = instant(ctx.now)
    given: set[str] = set()  # the cases given (or not read by the worker)
    text_ids: set[str] = set()  # the texts given
    stored: set[str] = set()  # the texts in the table (read from it, or appended here)
    gone: list[str] = []

    def holds(entry: list) -> bool:
        if kind != "due":
            return True  # a statistics entry holds for its tree
        for piece in entry[2:]:
            if (piece[0] is None or now >= piece[0]) and (piece[1] is None or now < piece[1]):
                return True
        return False

    def entries(source: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, str, Any]]:
        for key, value in source:
            if key.startswith(TEXT):
                text_ids.add(key[len(TEXT):])
                stored.add(key[len(TEXT):])
                yield "text", key[len(TEXT):], value
                continue
            if key not in present:
                gone.append(key)
                continue
            if key in given:
                continue
            tree = trees.get(key)  # an entry of the tree it was made from: the last commit's, whatever the disk holds
            if tree is None or value[0] != tree[:TREE]:
                continue
            if len(value) == 1:  # a case this worker does not read
                given.add(key)
            elif holds(value):
                given.add(key)
                yield "entry", key, value

    table = session.table(ctx, kind)
    yield from entries(table.entries.items() if table.loaded else newest_entries(table))
    missing = [c for c in ids if c not in given]
    tried: set[str] = set()
    differs: set[str] = set()  # as in `_rows_read`
    made = None
    again = [c for c in missing if c in trees]
    if len(again) >= REBUILD_FROM or (again and len(again) * FILE_COST >= len(ids)):
        before = set(table.segments())
        made = _rebuild(ctx, session, kind, again, trees, live, differs)
    rest = [c for c in missing if c not in trees] if made is not None else missing  # not read by the rebuild
    dirty = differs | session.dirty([*rest, *deleted])  # git asked only of the cases still to read
    info.setdefault("dirty", set()).update(dirty)  # the same set as the caller may hold
    committed.enter_context(ctx.store.read_as_committed(dirty))
    if made is not None:
        extra, tried = made
        for case_id, row in extra.items():
            given.add(case_id)
            yield "live", case_id, row
        table = session.table(ctx, kind)
        yield from entries(newest_entries(table, [n for n in table.segments() if n not in before]))
        missing = [c for c in missing if c not in given and c not in tried]
        late = session.dirty([c for c in missing if c in trees])  # rows the rebuild could not write: read below
        if late:
            dirty |= late
            info["dirty"].update(late)
            committed.enter_context(ctx.store.read_as_committed(late))
    writer = Appender(table.folder, session.recipient, table.tag)
    readable = []
    for case_id in missing:
        if worker.id in ctx.store.recipients(case_id) or worker.id == RECOVERY_READER:
            readable.append(case_id)
        elif case_id not in dirty and case_id in trees:
            writer.add(case_id, json.dumps([trees[case_id][:TREE]]))
    failed: set[str] = set(tried)
    for case_id in readable:
        case = folded_or_noted(ctx, case_id)
        if case is None:
            failed.add(case_id)
            continue
        tree = trees.get(case_id)
        kept = tree is not None and case_id not in dirty
        entry = _entry(ctx, session, kind, tree or "", case)
        if entry is None:
            yield "live", case_id, live(case, tree)
            continue
        for piece in entry[2:]:
            for text_id in piece[3::3]:
                if kept and text_id not in stored:  # written before the first entry that uses it
                    stored.add(text_id)
                    writer.add(TEXT + text_id, _compact(session.texts[text_id]))
                if text_id not in text_ids:
                    text_ids.add(text_id)
                    yield "text", text_id, session.texts[text_id]
        if kept:
            writer.add(case_id, _compact(entry))
        yield "entry", case_id, entry
    for case_id in gone:  # a case that left the folder (its texts are left out when the table is merged)
        writer.add(case_id, "null")
    try:
        writer.flush()
    except OSError:
        pass  # a read never fails because the local cache cannot be written
    save(ctx)
    info.update(failed=failed, total=len(ids), clean=set(ids) == set(trees) and not (dirty & present))
