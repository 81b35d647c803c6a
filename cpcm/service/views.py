"""Views of the whole `cases` folder, kept in the local cache for one version of it: what
`cpcm list` prints (its rows in their order, the printed text ready) and what `cpcm report
statistics` counts (every case's events added up), so that these commands read one small file
instead of an entry per case.

A view records the git tree id of `cases` it describes (`Git.tree_id`: one `git rev-parse`)
and is used as a whole when that is the tree of the commit readers read. When the tree moved
(a write, a sync), `Git.changed_names` gives the case folders that differ, and only those are
read again (their files, decrypted: a few cases, no table of every case); when many changed, or
there is no view yet, it is made from the per-case tables (service/fill.py, service/tables.py),
which fill what they miss. A case that cannot be read is kept out, its id noted in the view and
read again (and reported) by every command.

**A view describes the last commit.** The case folders are not compared with it file by file
(`git status` looks at every file: over a second at 100,000 cases): a record changed or damaged
on disk since the last commit is reported by `cpcm show`, `cpcm check`, `cpcm due` and
`cpcm verify`, not by `list` or `report statistics` (docs/security.md). A write cpcm left
half-done is rolled back before any command reads (store/casestore.py `open_for_read`), and a
write under way makes readers read the last commit. What a view holds is made from committed
files only: a case that differs on disk is read as the last commit holds it (from git's objects,
`CaseStore.read_as_committed`) when a view is made or brought up to date, so that a cold `list`
shows what a warm one does, and the view is not stored while it differs.

Each view is one file, `.cpcm/cache/<worker>/views/<name>.view`, age-encrypted to the worker like
the rest of the cache, replaced whole (atomically) when it changes. Its tag names the code its rows
come from (the fold, the list row, the statistics rows, this module) and, for list and
statistics, the time zone of `now` (the list's times are local to it): a view of another tag is
made again. Nothing here decides anything: a view
holds what the per-case functions returned, and is read back into the same values.
"""
from __future__ import annotations

import bisect
import hashlib
import heapq
import io
import itertools
import json
import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import pyrage

from cpcm.crypto import cipher
from cpcm.domain.case import Case
from cpcm.domain.team import RECOVERY_READER
from cpcm.store.layout import CASES, case_rel

VERSION = 1
SMALL = 200  # changed cases read one by one when a view is brought up to date; more: from the per-case tables
FOLDER = "views"


# -- the file -----------------------------------------------------------------------------------------
def read_view(path: Path, keys: Sequence, tag: str | None = None) -> tuple[dict, memoryview] | None:
    """The view's head (a JSON line) and the bytes after it, None when there is none or it cannot
    be read. `tag`: None too when the head is of another tag, known from the file's first chunk
    (a view of other code, after an upgrade, is not decrypted whole to be dropped)."""
    try:
        handle = open(path, "rb")
    except OSError:
        return None
    with handle:
        try:
            if handle.read(len(cipher.MAGIC)) != cipher.MAGIC:  # armored, or damaged: read whole
                handle.seek(0)
                return _parsed_view(cipher.decrypt(handle.read(), keys), tag)
            handle.seek(0)
            plain = _Plain(tag)
            pyrage.decrypt_io(handle, plain, list(keys))
        except (OSError, cipher.NotARecipient, cipher.Damaged, ValueError, pyrage.DecryptError, _OtherView):
            return None
    return _parsed_view(plain.data, tag, plain.head)


class _OtherView(Exception):
    """The view being read is of another version or tag: it is not read further."""


class _Plain(io.RawIOBase):
    """Where a view is decrypted to: its bytes, the head checked as soon as its line is whole."""

    def __init__(self, tag: str | None):
        self.data = bytearray()
        self.tag = tag
        self.checked = tag is None
        self.head: dict | None = None  # the head, read once its line is whole (a large JSON line: parsed once)

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        start = len(self.data)
        self.data += chunk
        if not self.checked:
            end = self.data.find(b"\n", start)
            if end >= 0:
                self.checked = True
                self.head = _head_of(bytes(self.data[:end]), self.tag)
                if self.head is None:
                    raise _OtherView
        return len(chunk)


def _head_of(line: bytes, tag: str | None) -> dict | None:
    try:
        head = json.loads(line)
    except ValueError:
        return None
    if not isinstance(head, dict) or head.get("version") != VERSION or (tag is not None and head.get("tag") != tag):
        return None
    return head


def _parsed_view(data: bytes | bytearray, tag: str | None, head: dict | None = None) -> tuple[dict, memoryview] | None:
    """The view's head (`head`, where it was read already: `_Plain`) and the bytes after its line."""
    end = data.find(b"\n")
    if head is None:
        head = _head_of(bytes(data[:end]), tag) if end >= 0 else None
    if head is None:
        return None
    return head, memoryview(data)[end + 1:]


def write_view(path: Path, recipient: str, head: dict, body: bytes | Iterable[bytes]) -> None:
    """Replace the view with `head` (JSON: json.dumps writes no raw line break) and `body` (bytes,
    or pieces of it), encrypted as written: no copy of the whole (store/cache.py `write_encrypted`)."""
    from cpcm.store.cache import write_encrypted

    pieces = [body] if isinstance(body, (bytes, bytearray, memoryview)) else body
    write_encrypted(path, recipient, itertools.chain([_dumps(head).encode() + b"\n"], pieces))


def sections(texts: dict[str, Any]) -> tuple[dict[str, list[int]], bytes]:
    """Texts (or bytes, or an array's items) laid end to end: where each is (byte offsets), and the bytes."""
    where, parts = laid_out(texts)
    return where, b"".join(parts.values())


def laid_out(texts: dict[str, Any]) -> tuple[dict[str, list[int]], dict[str, Any]]:
    """`sections` without joining them: where each would be, and each one's bytes (`memoryview`
    or `bytes`; written one after the other, in this order)."""
    where, parts, at = {}, {}, 0
    for name, text in texts.items():
        data = text.encode() if isinstance(text, str) else memoryview(text).cast("B")
        where[name] = [at, at + len(data)]
        parts[name] = data
        at += len(data)
    return where, parts


def _section(head: dict, body: memoryview, name: str) -> str:
    start, end = head["sections"][name]
    return str(body[start:end], "utf-8")


def _dumps(value: Any) -> str:
    """`json.dumps(value, separators=(",", ":"))`, its encoder made once (a list view is made of
    a text for each of 100,000 rows)."""
    return _encode(value)


def _encode_first(value: Any) -> str:
    global _encode
    from cpcm.store.cache import json_encoder

    _encode = json_encoder()
    return _encode(value)


_encode: Callable[[Any], str] = _encode_first


def _code_fingerprint() -> str:
    """The code a view's rows come from: the fold (`fold_fingerprint`), the list row (listrow.py)
    and the fill that reads the rows (fill.py), the due and statistics rows (tables.py), the due
    view (dueview.py) with the covers it reads from a case's recipients file (store/layout.py), and
    this module, with the rules each runs (`codeprint.digest`)."""
    from cpcm.service import dueview, fill, listrow, tables
    from cpcm.service.context import fold_fingerprint
    from cpcm.store import codeprint, layout

    code = codeprint.digest(own=tuple(module.__file__ for module in (fill, listrow, tables, dueview, layout)) + (__file__,))
    return hashlib.sha256(f"{VERSION}\0{fold_fingerprint()}\0{code}".encode()).hexdigest()[:24]


# -- where a view stands ----------------------------------------------------------------------------------
@dataclass
class _Place:
    """A session's view of `name`: the cache it lives in, the tree of `cases` now, its file."""

    ctx: Any
    cache: Any
    tree: str
    path: Path
    tag: str
    generation: int
    worker: str
    memo: dict = field(default_factory=dict)  # `_changes` found, by (tree, retry)

    def reads(self, case_id: str) -> bool:
        return self.worker == RECOVERY_READER or self.worker in self.ctx.store.recipients(case_id)


def place_for(ctx, name: str, tag: str = "") -> _Place | None:
    """None when the session keeps no views (a repository in memory, no commit yet)."""
    from cpcm.service.context import fold_fingerprint
    from cpcm.store.cache import SummaryCache, worker_folder

    git = getattr(ctx.store, "git", None)
    if git is None or ctx.root is None or ctx.identity is None:
        return None
    worker = ctx.need_worker()
    generation = ctx.store.generation()
    tree = git.tree_id(CASES)
    if tree is None:  # no case in the last commit (or no commit): no view holds anything of one
        shutil.rmtree(worker_folder(ctx.root, worker.id) / FOLDER, ignore_errors=True)
        return None
    cache = ctx.store.summaries(worker.id, ctx.identity.recipient, ctx.keys, fold_fingerprint())
    if not isinstance(cache, SummaryCache):
        return None
    return _Place(ctx, cache, tree, cache.folder / FOLDER / f"{name}.view",
                  _digest(name, _code_fingerprint(), tag), generation, worker.id)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


@dataclass
class _Changes:
    """The cases to read again to bring a view of tree `old` to the tree now: `gone` left the
    folder; `cases` (id -> folded case, None when the worker does not read it) were read;
    `failed` could not be read (reported in ctx.problems); `clean`: none of them differs on disk
    from the commit, and no write landed meanwhile (the view may be stored)."""

    cases: dict[str, Case | None] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    clean: bool = True
    added: int = 0  # case folders now, less before, among those changed
    records: list = field(default_factory=list)  # (case id, blob id, JSON) read, for the record table (`changes_since`)


def _tree_ids(git, names: Sequence[str]) -> dict[str, str]:
    """The tree id of each of these case folders at the commit readers read (absent: not there)."""
    found: dict[str, str] = {}
    names = list(names)
    for start in range(0, len(names), 500):
        out = git.run(["ls-tree", "-z", f"{git.rev}:{CASES}", "--",
                       *(case_rel(name).partition("/")[2] for name in names[start:start + 500])])
        for entry in out.split("\0"):
            meta, _, path = entry.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "tree":
                found[path.rpartition("/")[2]] = parts[2]
    return found


def changes_since(place: _Place, old_tree: str, retry: Sequence[str], keep: bool = True) -> _Changes | None:
    """What changed in `cases` since `old_tree`, the cases of `retry` read again too; None when
    too many changed (or git cannot say): the view is then made anew. Read once per place. The
    records read are added to the record table (`keep`) unless the caller does not store its
    view (`due` over a view kept as it is: it would add them again at every run)."""
    key = (old_tree, tuple(retry))
    if key not in place.memo:
        place.memo[key] = _read_changes_since(place, old_tree, retry)
    found = place.memo[key]
    if keep and found is not None and found.records:
        records, found.records = found.records, []
        if found.clean:
            _keep_records(place, records)
    return found


def unchanged(place: _Place, head: dict) -> bool:
    """Whether the view of `head` holds for the tree now: the same tree, and the cases it could not
    read still cannot be read (read again, so that each command reports them)."""
    if head["tree"] != place.tree:
        return False
    if not head["retry"]:
        return True
    found = changes_since(place, head["tree"], head["retry"])
    return found is not None and not found.cases and not found.gone and found.failed == set(head["retry"])


def _read_changes_since(place: _Place, old_tree: str, retry: Sequence[str]) -> _Changes | None:
    from cpcm.service.context import folded_or_noted
    from cpcm.service.fill import Collector, collecting
    from cpcm.store.cache import dirty_cases
    from cpcm.store.git import GitError

    ctx = place.ctx
    git = ctx.store.git
    try:
        changed = git.changed_entries(old_tree, place.tree) if old_tree != place.tree else {}
        names = set(changed) | set(retry)
        if len(names) > SMALL:
            return None
        present = {name: now for name, (_was, now) in changed.items() if now is not None}
        again = sorted(set(retry) - set(changed))  # not changed: the same folder in both trees, or none
        if again:
            present.update(_tree_ids(git, again))
    except GitError:
        return None
    found = _Changes(gone=names - set(present), added=sum((now is not None) - (was is not None) for was, now in changed.values()))
    if not present:
        return found
    changed_on_disk = dirty_cases(ctx.root, present, present if git.rev == "HEAD" else None)
    found.clean = not changed_on_disk
    with ctx.store.read_as_committed(changed_on_disk), \
            collecting(ctx.store, Collector(None)) as collect:  # a few cases: decrypted, without loading the record table's shards
        # a view describes the last commit: a case changed on disk is read as committed
        for case_id in sorted(present):
            if not place.reads(case_id):
                found.cases[case_id] = None
                continue
            case = folded_or_noted(ctx, case_id)
            if case is None:
                found.failed.add(case_id)
            else:
                found.cases[case_id] = case
    found.records = collect.found
    return found


def _keep_records(place: _Place, records: list[tuple[str, str, str]]) -> None:
    """The records parsed here ((case id, blob id, JSON text)), added to the record table (a small
    segment per shard, not read): an upgrade that changes the fold refolds them without
    decrypting, as the fill's."""
    from cpcm.service.fill import RecordWriters

    if not records or not place.cache.records.usable(place.ctx.keys) or not still(place):
        return
    writers = RecordWriters(place.cache)
    for case_id, blob, text in records:
        writers.add(case_id, blob, text)
    writers.flush()


def still(place: _Place) -> bool:
    """No write started or ended since the place was found (what was read is of one commit)."""
    return place.ctx.store.generation() == place.generation and place.generation % 2 == 0


# -- cpcm list -------------------------------------------------------------------------------------------
# Two files. `list.view`: its head {version, tag, tree, retry: [case id], exact: bool, stamp,
# sections}, then the text of each section: "pre" (each line's start: case id ... sex, as printed),
# "born" (ISO dates), "post" (registered, as printed), "name" (as printed), each the rows' values
# joined by "\n", in the order `cpcm list` prints them (registered, then case id). `exact`: no
# status, stage, risk or worker holds a tab or a line break, so the printed text filters as the
# values do. `list-rows.view`: the head {version, tag, stamp}, then the rows as JSON,
# [[case id, list_row], ...] in the same order (for --json, a table on a terminal, and bringing the
# view up to date); `stamp` ties the two files. A "key" section ("registered NUL case id", the order
# the rows are in) when every row's key can be written so (`keyed` in the head): the view can then
# be brought up to date by a third file, `list-changes.view`: its head {version, tag, base (the
# stamp of the view it changes), tree, retry, exact}, then {"rows": [[case id, list_row], ...] of
# the cases changed since that view, in order, "gone": [case id, ...] whose row in it is left out}.
# Read, the view's lines are taken with the rows gone left out and the changed rows put in their
# places (`_merged`); a write touches only that small file, until more than `CHANGES_MAX` cases
# changed, or a changed case left the folder or the worker's readers: then the view is made again
# whole (so that no row of a case the worker no longer reads stays in it).
LIST = "list"
CHANGES_MAX = 100  # cases changed since the list view was made whole, kept in its changes file


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("\t", " ").replace("\n", " ")


def _list_text(rows: list[list]) -> tuple[dict[str, str], bool]:
    pre, born, post, name = [], [], [], []
    exact = True
    for case_id, row in rows:
        status, stage, risk, worker, registered_at, sex, birth, _records, _last, child = row
        cells = (case_id, status, stage, risk, worker, sex)
        try:
            line = "\t".join(cells)  # every cell text: the usual row
        except TypeError:
            line = None
        if line is None or line.count("\t") != 5 or "\n" in line:  # a cell not text, or holding a tab or a line break
            for value in (status, stage, risk, worker):
                if value is not None and (not isinstance(value, str) or "\t" in value or "\n" in value):
                    exact = False
            line = "\t".join(map(_cell, cells))
        pre.append(line)  # otherwise each cell is as `_cell` gives it
        born.append(birth or "")
        post.append(_cell((registered_at or "")[:10]))
        name.append(_cell(child))
    return {"pre": "\n".join(pre), "born": "\n".join(born), "post": "\n".join(post), "name": "\n".join(name)}, exact


def _sort_key(item: list) -> tuple:
    return (item[1][4] or "", item[0])


class ListView:
    """What `cpcm list` prints from the view: a Sequence of `case_summary` dicts (made as read, from
    the rows, for --json and a table on a terminal), and `plain_text` (the printed lines, made
    from the text kept ready, a few thousand at a time)."""

    def __init__(self, head: dict, text: Callable[[str], str], rows: Callable[[], list], today: date, names: bool,
                 filters: tuple, count: int | None = None):
        self.head, self._text, self._rows, self.today, self.names, self.filters = head, text, rows, today, names, filters
        self._texts: dict[str, list[str]] = {}
        self._selected: list[int] | None = None
        self._summaries = None
        self._count = count

    def column(self, name: str) -> list[str]:
        if name not in self._texts:
            self._texts[name] = _split(self._text(name), self.count())
        return self._texts[name]

    def count(self) -> int:
        """How many rows the view holds (each row's "pre" holds its case id: never empty)."""
        if self._count is None:
            pre = self._text("pre")
            self._count = pre.count("\n") + 1 if pre else 0
        return self._count

    def _all_rows(self) -> list:
        if callable(self._rows):
            self._rows = self._rows()
        return self._rows

    def _index(self) -> list[int] | None:
        """The positions of the rows the filters keep (None: every row)."""
        if self._selected is None:
            status, risk, worker, stage = self.filters
            if not (status or risk or worker or stage):
                return None
            if self.head.get("exact"):
                wanted = [(col, value) for col, value in ((1, status), (2, stage), (3, risk), (4, worker)) if value]
                self._selected = [n for n, line in enumerate(self.column("pre"))
                                  if all(cells[col] == value for cells in (line.split("\t"),) for col, value in wanted)]
            else:
                self._selected = [n for n, (_, row) in enumerate(self._all_rows())
                                  if (not status or row[0] == status) and (not risk or row[2] == risk)
                                  and (not worker or row[3] == worker) and (not stage or row[1] == stage)]
        return self._selected

    def summaries(self):
        from cpcm.service.fill import Summaries

        if self._summaries is None:
            rows = self._all_rows()
            index = self._index()
            self._summaries = Summaries(rows if index is None else [rows[n] for n in index], self.today, self.names)
        return self._summaries

    def __len__(self) -> int:
        index = self._index()
        return self.count() if index is None else len(index)

    def __getitem__(self, index):
        return self.summaries()[index]

    def __iter__(self) -> Iterator[dict]:
        return iter(self.summaries())

    def json_items(self) -> Iterator[str]:
        return self.summaries().json_items()

    def plain_text(self, header: str) -> Iterator[str]:
        """The lines `print_table` prints when it does not draw a table: `header`, then a line per
        row (case id, status, stage, risk, worker, sex, age, registered, and name with --names),
        given `LINES` rows at a time (never the whole list's text, nor its sections split at once)."""
        names = ["pre", "born", "post"] + (["name"] if self.names else [])
        index = self._index()
        if index is not None:
            picked = [[column[n] for n in index] for column in map(self.column, names)]
            batches: Iterator[list[list[str]]] = (
                [column[start:start + LINES] for column in picked] for start in range(0, len(index), LINES))
        else:
            count = self.count()
            batches = zip(*(_batches(self._text(name), count, LINES) for name in names))
        today = self.today
        year, day = today.year, today.isoformat()[5:]
        ages: dict[str, str] = {}
        line = "\t".join(["{}"] * len(names)).format
        yield header + "\n"
        for columns in batches:
            columns = list(columns)
            for b in set(columns[1]).difference(ages):
                # the age as `summary_of` counts it: whole years from the date of birth to today
                ages[b] = str(year - int(b[:4]) - (day < b[5:])) if b else ""
            columns[1] = map(ages.__getitem__, columns[1])
            yield "\n".join(map(line, *columns)) + "\n"


LINES = 10_000  # rows of the list laid out (or printed) at a time


def _split(text: str, count: int) -> list[str]:
    """A section's lines: `count` of them (one row with an empty value is one empty line)."""
    return text.split("\n") if count else []


def _batches(text: str, count: int, size: int) -> Iterator[list[str]]:
    """A section's `count` lines, `size` at a time (the rest of the text split as it goes)."""
    rest, left = text, count
    while left > 0:
        if left <= size:
            lines, rest = rest.split("\n"), ""
        else:
            lines = rest.split("\n", size)
            rest = lines.pop()
        left -= len(lines)
        yield lines


def _list_files(place: _Place) -> tuple[Path, Path]:
    return place.path, place.path.with_name(f"{LIST}-rows.view")


def _rows_reader(place: _Place, stamp: str, changes: dict | None = None) -> Callable[[], list]:
    """The rows of the view of `stamp` (with `changes`: its changes file's), read when asked; made
    from the per-case tables when the rows file is of another view (replaced by another command
    meanwhile)."""
    def read() -> list:
        found = _rows_file(place, stamp)
        if found is not None:
            rows = json.loads(bytes(found))
            return rows if changes is None else _with_changes(rows, changes)
        made = _made(place, None)
        return [item for item, _text in made.rows]
    return read


# -- the list view's changes file ----------------------------------------------------------------------------
def _changes_path(place: _Place) -> Path:
    return place.path.with_name(f"{LIST}-changes.view")


def _changes_of(place: _Place, head: dict) -> dict | None:
    """The changes file of the view of `head`, its head with its "rows" and "gone"; None when
    there is none for that view."""
    if not head.get("keyed"):
        return None
    found = read_view(_changes_path(place), place.ctx.keys, place.tag)
    if found is None or found[0].get("base") != head["stamp"]:
        return None
    try:
        body = json.loads(bytes(found[1]))
    except ValueError:
        return None
    if _keys(body["rows"]) is None:
        return None
    return {**found[0], "rows": body["rows"], "gone": body["gone"]}


def _changed(place: _Place, head: dict, body: memoryview, state: dict, changes: dict | None) -> dict | None:
    """The changes file of the view of `head` for the tree now (stored when it may be): the one
    read (`changes`, or none: `state` is then `head`) with the cases changed since `state`'s tree.
    None when the view is to be made again whole: more than `CHANGES_MAX` cases changed since it
    was, a key cannot be written, or a case that has a row in the view or its changes left the
    folder or the worker's readers (no row of it may stay). A case that never had a row there
    (another worker's) changes nothing."""
    from cpcm.service import listrow

    found = changes_since(place, state["tree"], state["retry"])
    if found is None:
        return None
    rows = {} if changes is None else {case_id: row for case_id, row in changes["rows"]}
    gone = set() if changes is None else set(changes["gone"])
    left = found.gone | {case_id for case_id, case in found.cases.items() if case is None}
    if left:
        listed = {key.partition("\0")[2] for key in _split(_section(head, body, "key"), _count(head, body))}
        if any(case_id in listed or case_id in rows for case_id in left):
            return None
    for case_id in (*(c for c in found.cases if c not in left), *found.failed):
        rows.pop(case_id, None)
        gone.add(case_id)
    if len(gone) > CHANGES_MAX:
        return None
    for case_id, case in found.cases.items():
        if case is not None:
            rows[case_id] = listrow.list_row(place.ctx, case)
    items = sorted(([case_id, row] for case_id, row in rows.items()), key=_sort_key)
    if _keys(items) is None:
        return None
    new = {"version": VERSION, "tag": place.tag, "base": head["stamp"], "tree": place.tree, "retry": sorted(found.failed),
           "exact": _list_text(items)[1]}
    if found.clean and still(place):
        try:
            write_view(_changes_path(place), place.cache.recipient, new, _dumps({"rows": items, "gone": sorted(gone)}).encode())
        except OSError:
            pass  # a read never fails because the local cache cannot be written
    return {**new, "rows": items, "gone": sorted(gone)}


def _count(head: dict, body: memoryview) -> int:
    """How many rows a list view holds (each row's "pre" holds its case id: never empty)."""
    pre = _section(head, body, "pre")
    return pre.count("\n") + 1 if pre else 0


def _kept_list(place: _Place, head: dict, body: memoryview, today: date, names: bool, filters: tuple
               ) -> tuple[ListView | None, bool]:
    """The list from the view kept (with its changes file, brought up to date there when few
    cases changed), and whether cases were read for a changes file: (None, ...) when the view
    is to be made whole."""
    changes = _changes_of(place, head)
    state = head if changes is None else changes
    if not unchanged(place, state):
        changes = _changed(place, head, body, state, changes) if head.get("keyed") else None
        if changes is None:
            return None, state is not head
    if changes is None:
        return ListView(head, lambda name: _section(head, body, name), _rows_reader(place, head["stamp"]), today, names,
                        filters), False
    merged: dict[str, str] = {}
    held = [body]  # let go once merged

    def section(name: str) -> str:  # merged when first asked for: --json reads the rows, not the printed lines
        if not merged:
            merged.update(_merged(head, held.pop(), changes)[1])
        return merged[name]
    return ListView(_merged_head(head, changes), section, _rows_reader(place, head["stamp"], changes), today, names,
                    filters), True


def _with_changes(rows: list, changes: dict) -> list:
    """The rows of a view (in order) with its changes: the rows gone left out, the changed rows
    put in their places."""
    gone = set(changes["gone"])
    rows = [item for item in rows if item[0] not in gone]
    for item in changes["rows"]:
        rows.insert(bisect.bisect_left(rows, _sort_key(item), key=_sort_key), item)
    return rows


def _merged_head(head: dict, changes: dict) -> dict:
    """The head of the view of `head` with its `changes`."""
    return {**head, "tree": changes["tree"], "retry": changes["retry"], "exact": head["exact"] and changes["exact"]}


def _merged(head: dict, body: memoryview, changes: dict) -> tuple[dict, dict[str, str], int]:
    """The view of `head` with its `changes`: the head they make, the sections' texts (the rows
    gone left out, the changed rows in their places by their keys), and how many rows."""
    count = _count(head, body)
    keys = _split(_section(head, body, "key"), count)
    gone = set(changes["gone"])
    keep = [n for n, key in enumerate(keys) if key.partition("\0")[2] not in gone]
    kept_keys = [keys[n] for n in keep]
    rows = changes["rows"]
    texts = _list_text(rows)[0]
    texts["key"] = "\n".join(_keys(rows))
    places = [bisect.bisect_left(kept_keys, key) for key in _split(texts["key"], len(rows))]
    merged = {}
    for name in ("pre", "born", "post", "name", "key"):
        lines = _split(_section(head, body, name), count)
        kept = [lines[n] for n in keep]
        out: list[str] = []
        at = 0
        for place, line in zip(places, _split(texts[name], len(rows))):
            out += kept[at:place]
            out.append(line)
            at = place
        out += kept[at:]
        merged[name] = "\n".join(out)
    return _merged_head(head, changes), merged, len(keep) + len(rows)


def _rows_file(place: _Place, stamp: str) -> memoryview | None:
    """The JSON of the rows file of the view of `stamp`, None when it is of another view."""
    found = read_view(_list_files(place)[1], place.ctx.keys)
    if found is not None and found[0].get("stamp") == stamp and found[0].get("tag") == place.tag:
        return found[1]
    return None


# -- the rows of a list view, in order ---------------------------------------------------------------------
# Made anew (a cold cache, many cases changed), the rows are kept while they are read as one text
# each (`_packed`): the sort key, then the JSON the rows file holds, so that 100,000 rows are
# 100,000 strings sorted as strings (about 200 bytes each) and not lists of values (about 500).
# Brought up to date, the rows file is read one row at a time and the changed rows merged in.
# Either way the rows file and the printed sections are then made as the rows pass, in order.
def _packed(case_id: str, row: list) -> str | tuple[None, str]:
    """A row as kept until the rows are in order: "registered NUL case id NUL JSON", where JSON is
    [case id, row] as the rows file holds it. NUL is below every other character, so these texts
    sort as (registered, case id) do (`_sort_key`); a key that holds a NUL, or is not text, is
    kept as (None, JSON), and the rows are then sorted by `_sort_key` itself."""
    text = _dumps([case_id, row])
    key = _key(case_id, row)
    return (None, text) if key is None else f"{key}\0{text}"


def _key(case_id: Any, row: list) -> str | None:
    """A row's place in the list as text, "registered NUL case id" (NUL is below every other
    character: these texts sort as `_sort_key` does); None when a part is not text or holds a NUL."""
    registered = row[4] or ""
    if type(registered) is str and type(case_id) is str and "\0" not in registered and "\0" not in case_id:
        return f"{registered}\0{case_id}"
    return None


def _json_of(packed: str | tuple[None, str]) -> str:
    return packed[1] if type(packed) is tuple else packed.split("\0", 2)[2]


def _in_order(packed: list) -> Iterator[tuple[list, str]]:
    """(row, its JSON) of each packed row, in the order `cpcm list` prints them; the list is
    emptied as it is read."""
    if all(type(p) is str for p in packed):
        packed.sort()
    else:
        packed.sort(key=lambda p: _sort_key(json.loads(_json_of(p))))
    packed.reverse()
    while packed:  # each row's text freed as it is read
        text = _json_of(packed.pop())
        yield json.loads(text), text


def _items(data: memoryview) -> Iterator[tuple[list, str]]:
    """(row, its JSON) of each row of a rows file's JSON ([[case id, row], ...]), one at a time."""
    text = str(data, "utf-8")
    del data
    scan = _SCAN
    pos = text.index("[") + 1
    end = len(text)
    while pos < end and text[pos] in _WHITE:
        pos += 1
    if pos < end and text[pos] == "]":
        return
    while pos < end:
        item, stop = scan(text, pos)
        yield item, text[pos:stop]
        pos = stop
        while text[pos] in _WHITE:
            pos += 1
        if text[pos] == "]":
            return
        if text[pos] != ",":
            raise ValueError("not a rows file")
        pos += 1
        while text[pos] in _WHITE:
            pos += 1


_SCAN = json.JSONDecoder().raw_decode
_WHITE = " \t\n\r"


@dataclass
class _Rows:
    """The rows of the tree now, in order (`rows`: (row, its JSON), read once), the cases that
    could not be read, and whether the view may be stored."""

    rows: Iterator[tuple[list, str]]
    failed: set[str]
    clean: bool


class _Layout:
    """The list view's sections ("pre", "born", "post", "name") made from the rows as they pass,
    `LINES` at a time, and whether they filter exactly (`_list_text`)."""

    def __init__(self):
        self.parts: dict[str, list[str]] = {"pre": [], "born": [], "post": [], "name": [], "key": []}
        self.exact = True
        self.keyed = True
        self.count = 0

    def take(self, items: list[list]) -> None:
        texts, exact = _list_text(items)
        self.exact = self.exact and exact
        for name, text in texts.items():
            self.parts[name].append(text)
        if self.keyed:
            keys = _keys(items)
            if keys is None:
                self.keyed = False
                self.parts["key"] = []
            else:
                self.parts["key"].append("\n".join(keys))
        self.count += len(items)

    def texts(self) -> dict[str, str]:
        texts = {name: "\n".join(parts) for name, parts in self.parts.items() if name != "key" or self.keyed}
        self.parts = {}
        return texts


def _keys(items: list[list]) -> list[str] | None:
    """Each row's `_key`, one a line; None when one has none or holds a line break."""
    keys = []
    for case_id, row in items:
        key = _key(case_id, row)
        if key is None or "\n" in key:
            return None
        keys.append(key)
    return keys


def _passed(rows: Iterable[tuple[list, str]], layout: _Layout) -> Iterator[bytes]:
    """The rows file's JSON (`_dumps` of [[case id, row], ...]), a few thousand rows at a time,
    each batch laid out in `layout` as it passes."""
    yield b"["
    first = True
    batch: list[tuple[list, str]] = []
    for pair in itertools.chain(rows, [None]):
        if pair is not None:
            batch.append(pair)
            if len(batch) < LINES:
                continue
        if batch:
            layout.take([item for item, _text in batch])
            yield (b"" if first else b",") + ",".join(text for _item, text in batch).encode()
            first = False
            batch = []
    yield b"]"


def _made(place: _Place, kept: tuple[dict, Callable[[], memoryview | None]] | None) -> _Rows:
    """The rows of the tree now, in order: from the view `kept` (its head, its rows file's JSON)
    and the cases changed since, or anew."""
    from cpcm.service import fill, listrow, tables

    ctx = place.ctx
    changes = changes_since(place, kept[0]["tree"], kept[0]["retry"]) if kept is not None else None
    data = kept[1]() if changes is not None else None
    if changes is None or data is None:  # made anew from the per-case row table
        failed: set[str] = set()
        changed: set[str] = set()  # the cases read from their files that differ from the last commit: read from it
        trees, ids, deleted = tables.case_folders(ctx, place.cache.dirty_among)  # a case folder deleted by hand too
        with ctx.store.read_as_committed(deleted):  # the view describes the last commit: as `_read_changes_since`
            packed = list(fill.rows_of(ctx, place.cache, trees, ids, failed, shape=_packed, changed=changed).values())
        clean = set(ids) == set(trees) and not changed
        del trees, ids
        return _Rows(_in_order(packed), failed, clean)
    drop = changes.gone | set(changes.cases) | changes.failed
    old = ((item, text) for item, text in _items(data) if item[0] not in drop)
    del data
    new = sorted(((item, _dumps(item)) for item in ([case_id, listrow.list_row(ctx, case)] for case_id, case in changes.cases.items()
                                                     if case is not None)), key=lambda pair: _sort_key(pair[0]))
    return _Rows(heapq.merge(old, new, key=lambda pair: _sort_key(pair[0])), changes.failed, changes.clean)


def list_view(ctx, status: str | None, risk: str | None, worker: str | None, stage: str | None,
              names: bool) -> ListView | None:
    """What `cpcm list` prints, from the list view (brought up to date first); None when the
    session keeps no views."""
    from cpcm.service import listrow

    place = place_for(ctx, LIST, listrow.zone_name(ctx))  # the rows' times are local (`listrow.list_row`): another zone, another view
    if place is None:
        return None
    today = ctx.now.date()
    filters = (status, risk, worker, stage)
    found = read_view(place.path, ctx.keys, place.tag)
    kept = None
    if found is not None:
        head, body = found
        noted = len(ctx.problems)
        view, read_for_changes = _kept_list(place, head, body, today, names, filters)
        if view is not None:
            return view
        if read_for_changes:  # the cases read then are read again below, and what they hold is noted there
            del ctx.problems[noted:]
        old_stamp = head["stamp"]
        kept = (head, lambda: _rows_file(place, old_stamp))
        del found, body
    made = _made(place, kept)
    layout = _Layout()
    stamp = secrets.token_hex(8)
    rows_head = {"version": VERSION, "tag": place.tag, "stamp": stamp}
    stored = False
    if made.clean and still(place):
        try:  # the rows first (laid out as they are written): a reader of the new head finds them
            write_view(_list_files(place)[1], place.cache.recipient, rows_head, _passed(made.rows, layout))
            stored = True
        except OSError:  # a read never fails because the local cache cannot be written
            # the rows passed to the write that failed: made again, from the view kept when there is one
            # (its rows file is the one the failed write left in place)
            made, layout = _made(place, kept), _Layout()
    del kept
    read_rows: Callable[[], list]
    if stored:
        read_rows = _rows_reader(place, stamp)  # read again if asked: not held while the lines are printed
    else:  # the rows' JSON held, for --json and a table on a terminal
        held = b"".join(_passed(made.rows, layout))
        read_rows = lambda: json.loads(held)  # noqa: E731
    texts = layout.texts()
    where, body = sections(texts)
    head = {"version": VERSION, "tag": place.tag, "tree": place.tree, "retry": sorted(made.failed), "exact": layout.exact,
            "keyed": layout.keyed, "stamp": stamp, "sections": where}
    if stored:
        try:
            write_view(place.path, place.cache.recipient, head, body)
            _changes_path(place).unlink(missing_ok=True)  # of the view replaced: no longer read
        except OSError:
            pass  # a read never fails because the local cache cannot be written
    del body
    return ListView(head, texts.__getitem__, read_rows, today, names, filters, layout.count)


# -- cpcm report statistics -------------------------------------------------------------------------------
# Two files, as for list. `statistics.view`: its head {version, tag, tree, retry, stamp, cases (how
# many cases the worker reads)}, then every distinct statistics row of those cases
# (`reports.statistics.case_rows`) with how many times it occurs, [[*row, count], ...] as JSON: a
# period counts the rows dated in it, whichever case they come from. `statistics-cases.view`: the
# head {version, tag, stamp}, then each case's rows {case id: rows} (to bring the view up to date).
STATISTICS = "statistics"


def _tally(counted: dict[str, int]) -> list[list]:
    """Every distinct row counted (its JSON -> how many times it occurs) as [[*row, count], ...], in the
    order of the rows' JSON."""
    return [[*json.loads(key), n] for key, n in sorted(counted.items())]


def _tally_updated(earlier: list[list], removed: dict[str, list[list]], added: dict[str, list[list]]) -> list[list]:
    """The tally `earlier` (as `_tally` makes it) less the rows of `removed`, with the rows of
    `added`: what `_tally` makes of the cases now. Each row changed is found by halving the tally
    (it is in the order of the rows' JSON), so only those rows are made JSON, not every row of
    the tally (about 20,000 at 100,000 cases). KeyError: a row taken out that `earlier` does not
    count (the view's two files disagree)."""
    tally = list(earlier)

    def key(item: list) -> str:
        return _dumps(item[:-1])

    for rows in removed.values():
        for row in rows:
            wanted = _dumps(row)
            at = bisect.bisect_left(tally, wanted, key=key)
            if at == len(tally) or key(tally[at]) != wanted:
                raise KeyError(wanted)
            count = tally[at][-1]
            if count == 1:
                del tally[at]
            else:
                tally[at] = [*tally[at][:-1], count - 1]
    for rows in added.values():
        for row in rows:
            wanted = _dumps(row)
            at = bisect.bisect_left(tally, wanted, key=key)
            if at < len(tally) and key(tally[at]) == wanted:
                tally[at] = [*tally[at][:-1], tally[at][-1] + 1]
            else:
                tally.insert(at, [*json.loads(wanted), 1])  # as read back from the file
    return tally


def _statistics_made(place: _Place) -> tuple[list[list], list[str], int, set[str], bool, int] | None:
    """The statistics view of the tree now, made from the per-case statistics table a case at a time
    (`tables.statistics_stream`: the table is never held whole): the tally (as `_tally` gives it), the
    per-case file's entries as JSON text ('"case id":rows'), how many cases they come from, the cases that
    could not be read, whether it may be stored, and how many case folders there are."""
    from cpcm.service import tables

    info: dict = {}
    stream = tables.statistics_stream(place.ctx, info)
    if stream is None:
        return None
    counted: dict[str, int] = {}
    entries: list[str] = []
    for what, case_id, value in stream:
        rows = value[1] if what == "entry" else value
        texts = [_dumps(row) for row in rows]
        for text in texts:
            counted[text] = counted.get(text, 0) + 1
        entries.append(f"{_dumps(case_id)}:[{','.join(texts)}]")
    tables.merge_table(place.ctx, tables.session(place.ctx), "statistics")  # as `due` merges the due table's
    return _tally(counted), entries, len(entries), info["failed"], info["clean"], info["total"]


def statistics_rows(ctx) -> tuple[list[list[list]], Any, int, int] | None:
    """The statistics rows of every case the worker reads, as groups of equal rows (what
    `reports.statistics.statistics_of_rows` and `counts_of_rows` take), the zone they were made
    in, how many cases they come from and how many case folders there are; None when the
    session keeps no views. The view kept is brought up to date in place when it can be
    (`_statistics_spliced`), else made anew."""
    from cpcm.service import tables

    session = tables.session(ctx)
    if session is None:
        return None
    place = place_for(ctx, STATISTICS, session.zone_key)
    if place is None:
        return None
    cases_file = place.path.with_name(f"{STATISTICS}-cases.view")
    found = read_view(place.path, ctx.keys, place.tag)
    if found is not None:
        head, body = found
        if unchanged(place, head):
            return _groups(json.loads(bytes(body))), session.zone, head["cases"], head["total"]
        spliced = _statistics_spliced(place, head, body, cases_file, session.zone)
        if spliced is not None:
            return spliced
        del found, body
    made = _statistics_made(place)
    if made is None:
        return None
    tally, entries, count, failed, clean, total = made
    if clean and still(place):
        _statistics_stored(place, cases_file, failed, count, total, lambda: "{%s}" % ",".join(entries), tally)
    return _groups(tally), session.zone, count, total


def _statistics_stored(place: _Place, cases_file: Path, failed: Iterable[str], count: int, total: int,
                       cases_json: Callable[[], str], tally: list[list]) -> None:
    """The statistics view of the tree now written: its per-case file (`cases_json()`: the JSON
    text {case id: rows}) first, then the tally with the head that names it."""
    head = {"version": VERSION, "tag": place.tag, "tree": place.tree, "retry": sorted(failed), "stamp": secrets.token_hex(8),
            "cases": count, "total": total}
    try:
        write_view(cases_file, place.cache.recipient, {"version": VERSION, "tag": place.tag, "stamp": head["stamp"]},
                   cases_json().encode())
        write_view(place.path, place.cache.recipient, head, _dumps(tally).encode())
    except OSError:
        pass  # a read never fails because the local cache cannot be written


def _statistics_spliced(place: _Place, head: dict, body: memoryview, cases_file: Path, zone
                       ) -> tuple[list[list[list]], Any, int, int] | None:
    """`statistics_rows` brought up to date from the view of `head` without reading its per-case
    file whole: the changed cases' entries found in its text (`_case_entries`) and replaced there
    (`_spliced_cases`), the tally brought up to date in place (`_tally_updated`). None when it
    cannot be (too many changed, the files of other views, an entry not found): the caller
    reads the per-case file whole."""
    from cpcm.reports.statistics import case_rows

    changes = changes_since(place, head["tree"], head["retry"])
    if changes is None:
        return None
    found = read_view(cases_file, place.ctx.keys)
    if found is None or found[0].get("stamp") != head["stamp"] or found[0].get("tag") != place.tag:
        return None
    try:
        text = str(found[1], "utf-8")
        entries = _case_entries(text, changes.gone | set(changes.cases) | changes.failed)
        added = {case_id: json.loads(_dumps(case_rows(case, zone)))  # as read back from the file
                 for case_id, case in changes.cases.items() if case is not None}
        tally = _tally_updated(json.loads(bytes(body)), {case_id: rows for case_id, (_s, _e, rows) in entries.items()},
                               added)
    except (ValueError, KeyError):
        return None
    count, total = head["cases"] - len(entries) + len(added), head["total"] + changes.added
    if changes.clean and still(place):
        _statistics_stored(place, cases_file, changes.failed, count, total,
                           lambda: _spliced_cases(text, [(start, end) for start, end, _rows in entries.values()], added), tally)
    return _groups(tally), zone, count, total


def _case_entries(text: str, case_ids: Iterable[str]) -> dict[str, tuple[int, int, list]]:
    """Where the entries of these cases are in a per-case file's JSON text ({case id: rows}, as
    `_dumps` writes it): case id -> (start, end, its rows); a case with no entry is left out.
    A key is found by its JSON text and a colon after a brace or comma: inside a value's text a
    quote is escaped, and after a value's closing quote comes a separator, never a letter or a
    digit, so a case id that starts with one is found only where it is a key. ValueError for a
    case id that does not (a folder named by hand), or when what follows is not JSON."""
    found = {}
    wanted = set(case_ids)
    if not all(case_id[:1].isascii() and case_id[:1].isalnum() for case_id in wanted):
        raise ValueError("a case id that does not start with a letter or digit")  # see below
    if len(wanted) > FIND_EACH:  # many: every key found in one pass over the text (a search per case costs a pass each)
        starts = {}
        for match in _KEY.finditer(text):
            case_id = json.loads(match[1])
            if case_id in wanted:
                starts[case_id] = match.start(1)
    else:
        starts = {}
        for case_id in wanted:
            needle = _dumps(case_id) + ":"
            at = text.find(needle)
            while at > 0 and text[at - 1] not in "{,":
                at = text.find(needle, at + 1)
            if at > 0:
                starts[case_id] = at
    for case_id, at in starts.items():
        rows, end = _SCAN(text, at + len(_dumps(case_id)) + 1)
        found[case_id] = (at, end, rows)
    return found


FIND_EACH = 16  # cases whose entries `_case_entries` looks for one by one; more: in one pass
_KEY = re.compile(r'[{,]("(?:[^"\\]|\\.)*"):')  # a key of a mapping in compact JSON, after the brace or comma before it


def _spliced_cases(text: str, spans: Iterable[tuple[int, int]], added: dict[str, list]) -> str:
    """A per-case file's JSON text with the entries at `spans` taken out and those of `added` put
    in (at the end: the file is read as a mapping)."""
    parts, at = [], 1
    for start, end in sorted(spans):
        parts.append(text[at:start].strip(","))  # between entries: the separators at its ends dropped
        at = end
    parts.append(text[at:len(text) - 1].strip(","))
    parts += [f"{_dumps(case_id)}:{_dumps(rows)}" for case_id, rows in added.items()]
    return "{" + ",".join(part for part in parts if part) + "}"


def _groups(tally: list[list]) -> list[list[list]]:
    """[[*row, count], ...] as groups of equal rows, each `count` times the same row."""
    return [[row[:-1]] * row[-1] for row in tally]
