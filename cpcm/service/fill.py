"""Filling the local cache's per-case tables (store/cache.py) from the case files, and the
compact table `cpcm list` reads.

Every table a fill writes is a `CaseTable`: a folder of the worker's cache and a function that
makes, from a folded case, the value kept for it (JSON-compatible; a dataclass is kept as its
fields); an entry is `{"tree": TREE, FIELD: value}`
(value None: the worker does not read the case), used only while the case's folder has that git
tree id. A table's tag names what else its values depend on: the fold (`fold_fingerprint`), and
for the rows `cpcm list` prints, their code and the agency's zone too (`listrow.rows_tag`); a segment of
another tag is not read, so an upgrade or a change of zone makes the values again. `TABLES`
lists them: the summaries and the index (as `load_cases` and `load_index` read them) and the
rows `cpcm list` prints. **A new table is filled with the others by adding a
`CaseTable` to `TABLES` (`add_table`)**: its `make(ctx, case)` runs for every case a fill reads,
in the worker processes during a cold fill.

A cold fill (`fill`: many cases missing, the first use, a new identity, an upgrade of cpcm that
changed the fold) reads cases in chunks on every core (store/parallel.py `run_chunks`): a worker
process checks the case is readable, decrypts and parses its records, folds it and makes every
table's value as JSON text, each step for `STAGED` cases at a time (`read_chunk`). The parent
writes each value as it comes to new segments of each table (`cache.Appender`, a segment every
few MB), and each record as parsed to the record table, holding nothing else: memory stays flat
in the number of cases, and a fill interrupted midway leaves the segments written so far, which
the next command uses. Its chunks are cut along the record table's shards (by case:
`cache.record_shard`), so a worker looks records up in one small shard at a time: after an
upgrade that changed the fold, every case is folded again from the records as parsed, without
decrypting, however large the table. A chunk is then a shard's cases (about 400 at 100,000
cases), never more than `LARGEST_CHUNK`: the results waiting for the parent (two chunks a worker
at most) stay bounded whatever the number of cases.
"""
from __future__ import annotations

import json
from collections import abc
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, is_dataclass
from datetime import date
from functools import cached_property
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from cpcm.domain.case import Case
from cpcm.domain.team import RECOVERY_READER
from cpcm.errors import CannotDecrypt, Corrupt
from cpcm.service.context import Context, case_index, fold_fingerprint, read_case
from cpcm.service.listrow import list_row, rows_tag
from cpcm.store import cache as cache_mod
from cpcm.store.cache import Appender, SummaryCache, Table, record_shard
from cpcm.store.git import file_in_tree, tree_id
from cpcm.store.layout import RECIPIENTS
from cpcm.workflow.fold import fold

CHUNK = 16            # cases a worker process reads at a time (at least, on every core: whole shards)
LARGEST_CHUNK = 1024  # cases of one shard beyond which it is read in more than one chunk
FILL_FROM = 200       # cases missing before they are read on every core
PILE_UP = 24          # segments of a table beyond which a fill leaves it to its own reader
STAGED = 64           # cases of a chunk read a step at a time together (`read_chunk`): their files and records held at once


@dataclass(frozen=True)
class CaseTable:
    """A table of the cache with one entry per case: `{"tree": TREE, field: make(ctx, case)}`.
    `tag(ctx, cache)`: what its entries depend on besides the case's tree (default: the fold's
    fingerprint, `cache.fingerprint`); a segment of another tag is not read."""

    name: str
    field: str
    make: Callable[[Context, Case], Any]
    tag: Callable[[Context, SummaryCache], str] | None = None


def table_tag(table: CaseTable, ctx: Context, cache: SummaryCache) -> str:
    return cache.fingerprint if table.tag is None else table.tag(ctx, cache)


def _dataclass_json(value: Any) -> Any:
    if is_dataclass(value):
        return vars(value)  # its fields, in order: what `asdict` gives, without copying it first
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any) -> str:
    """A table value as JSON text; a dataclass (the folded `Case`) as `Case.to_dict()` would give it."""
    return _dumps(value)


# json.dumps(value, separators=(",", ":"), default=...): the encoder made once, not at every call
_dumps = cache_mod.json_encoder(default=_dataclass_json)
_compact = cache_mod.json_encoder(allow_nan=False)  # refuses NaN and infinities: `_Collect.put`


ROWS = CaseTable("rows", "row", list_row, rows_tag)
INDEX = CaseTable("index", "index", lambda ctx, case: case_index(case))
TABLES: list[CaseTable] = [
    CaseTable("summary", "case", lambda ctx, case: case),  # the case itself, as `Case.to_dict()`: see `dumps`
    INDEX,
    ROWS,
]


def add_table(table: CaseTable) -> None:
    """Have a cold fill (and `table_values`) fill this table too."""
    if all(t.name != table.name for t in TABLES):
        TABLES.append(table)


@dataclass
class Filled:
    """A case read by a fill: `values` (table name -> JSON text of its value), None when the
    worker does not read the case; `records`: (case id, blob id, JSON text) of each record parsed afresh;
    `keep`: False when a write may have landed while it was read (not stored, only used); `proven`: what was read
    of its folder on disk is the last commit's (`_proven`); `stored`: its entries were written to the tables."""

    case_id: str
    values: dict[str, str] | None
    records: list[tuple[str, str, str]]
    keep: bool = True
    rows: dict | None = None  # the due and statistics entries made with it (`tables.made_rows`), when asked
    proven: bool = False
    stored: bool = False

    @cached_property
    def case(self) -> Case | None:
        """The folded case (from the summary table's value), made once; None when not readable."""
        return None if self.values is None else Case.from_dict(value(self, TABLES[0]))


class _Collect:
    """Stands in for the store's record cache while a fill reads a case: a record the table
    holds is used (when `source` is given: looked up one shard at a time), a record parsed afresh
    is collected to be written."""

    keeps_values = False  # what `put` is given is made text at once: the store need not copy it

    def __init__(self, source):
        self.source = source
        self.found: list[tuple[str, str, str]] = []  # (case id, blob id, JSON text)

    def usable(self, keys: Sequence) -> bool:
        return True

    def get(self, blob: str, case_id: str):
        return self.source.lookup(blob, case_id) if self.source is not None else None

    def put(self, blob: str, loaded, case_id: str) -> None:
        """Collect a record as `plain` made it, as JSON text, when it reads back from JSON
        exactly as it is (`plain_json`). Of a value `plain` made (no tuple, every key text),
        that is when the encoder takes it without a float that is not finite or a value of
        another type: its refusal is the check, and the value is walked once."""
        try:
            text = _compact(loaded)
        except (ValueError, TypeError, RecursionError):  # RecursionError: nested too deep, or holding itself
            return
        self.found.append((case_id, blob, text))


Collector = _Collect  # for reading a few cases without loading the record table's shards (service/views.py)


def read_one(ctx: Context, case_id: str, tables: Sequence[CaseTable], source=None, kinds: Sequence[str] = (),
             tree: str | None = None) -> Filled:
    """Read, fold and make the tables' values of one case; Corrupt or CannotDecrypt as
    `read_case` raises them. `source`: the record table to look records up in (None: decrypt).
    `kinds` (with the case's `tree`): the due and statistics entries to make too."""
    lines: dict[str, tuple[bool, tuple[str, ...]]] = {}
    if not _reader(ctx, lines)(case_id):
        return _unread(ctx, case_id, kinds, tree)
    collect = _Collect(source)
    with collecting(ctx.store, collect):
        records = read_case(ctx, case_id)[0]
    case = fold(case_id, records)
    return Filled(case_id, _values(ctx, case, tables), collect.found, rows=_made(ctx, case, kinds, tree, lines.get(case_id)))


def read_chunk(ctx: Context, case_ids: Sequence[str], tables: Sequence[CaseTable], source=None,
               kinds: Sequence[str] = (), trees: Mapping[str, str] | None = None) -> list[Filled | None]:
    """`read_one` of each case of a fill's chunk, each step done for every case before the next
    (the store's reads, `CaseStore.read_many`; the folds; the tables' values; the due and
    statistics entries): each step's code stays warm in the processor's caches, and a cold fill
    costs about a fifth less CPU than case after case (docs/performance.md). None in the place of a
    case that the store could not read this way (`read_one` says why)."""
    trees = trees or {}
    # each case's `# restricted` line and the workers of its `# rekey:` lines, read with its readers (`_reader`)
    lines: dict[str, tuple[bool, tuple[str, ...]]] = {}
    noting = getattr(ctx.store, "noting", None)
    with noting() if noting is not None else nullcontext({}) as noted:
        readable = set(filter(_reader(ctx, lines), case_ids))
        collect = _Collect(source)
        with collecting(ctx.store, collect):
            read = ctx.store.read_many([case_id for case_id in case_ids if case_id in readable], ctx.keys)
    found: dict[str, list[tuple[str, str, str]]] = {case_id: [] for case_id in read}
    for entry in collect.found:
        if entry[0] in found:
            found[entry[0]].append(entry)
    cases = {case_id: fold(case_id, records) for case_id, records in read.items()}
    values = {case_id: _values(ctx, case, tables) for case_id, case in cases.items()}
    made = {case_id: _made(ctx, case, kinds, trees.get(case_id), lines.get(case_id)) for case_id, case in cases.items()}
    done = [Filled(case_id, values[case_id], found[case_id], rows=made[case_id]) if case_id in cases
            else None if case_id in readable else _unread(ctx, case_id, kinds, trees.get(case_id))
            for case_id in case_ids]
    for item in done:
        if item is not None:
            item.proven = _proven(ctx, noted.get(item.case_id), trees.get(item.case_id), item.values is not None)
    return done


def _proven(ctx: Context, read: dict[str, str] | None, tree: str | None, whole: bool) -> bool:
    """Whether what a fill read of a case folder (`read`: the blob id of each file, `CaseStore.noting`) is the
    last commit's, whose tree id for the folder is `tree`: with its records (`whole`), the folder's tree id made
    of them is `tree` (`git.tree_id`: no file changed, deleted or added); for a case the worker does not read
    (only its readers were read, and its entries hold nothing else), its `recipients` file is the commit's."""
    if read is None or tree is None:
        return False
    if whole:
        return tree_id(read) == tree
    blob = read.get(RECIPIENTS)
    return blob is not None and file_in_tree(ctx.store.root, tree, RECIPIENTS) == blob


def _reader(ctx: Context, lines: dict[str, tuple[bool, tuple[str, ...]]] | None = None) -> Callable[[str], bool]:
    """Whether the acting worker reads a case (a recipient of it, or the recovery reader), the
    worker looked up once for a chunk of cases. `lines`, when given, gets each case's `# restricted`
    line and the workers of its `# rekey:` lines from the same read of its `recipients` file
    (`CaseStore.recipients_lines`): the due entry made from the case compares the one with the records
    (`tables.case_lines`, `restriction-mismatch`) and says the other (`case-readers`)."""
    me = ctx.need_worker().id
    if lines is None:
        if me == RECOVERY_READER:
            return lambda case_id: True
        recipients = ctx.store.recipients
        return lambda case_id: me in recipients(case_id)
    read = ctx.store.recipients_lines

    def reads(case_id: str) -> bool:
        readers, restricted, rekey = read(case_id)
        lines[case_id] = (restricted, tuple(rekey))
        return me in readers or me == RECOVERY_READER
    return reads


def _unread(ctx: Context, case_id: str, kinds: Sequence[str], tree: str | None) -> Filled:
    """A case this worker cannot read: no values; its due and statistics entries say so."""
    return Filled(case_id, None, [], rows=_made(ctx, None, kinds, tree))


@contextmanager
def collecting(store, collect: _Collect) -> Iterator[_Collect]:
    """The store's reads go through `collect` (a `Collector`) instead of its record cache meanwhile."""
    held = getattr(store, "record_cache", None)
    store.record_cache = collect
    try:
        yield collect
    finally:
        store.record_cache = held


def _values(ctx: Context, case: Case, tables: Sequence[CaseTable]) -> dict[str, str]:
    return {t.name: _dumps(t.make(ctx, case)) for t in tables}


def _made(ctx: Context, case: Case | None, kinds: Sequence[str], tree: str | None,
          line: tuple[bool, tuple[str, ...]] | None = None):
    from cpcm.service import tables as rows_mod

    return rows_mod.made_rows(ctx, kinds, tree, case, line) if kinds and tree is not None else None


def _chunk_job(ctx: Context, basis: int, source, trees: Mapping[str, str] | None = None,
               kinds: Sequence[str] = ()) -> Callable[[list[str]], list[Filled | str]]:
    """What a worker process does with a chunk of case ids; with `kinds`, the due and statistics
    entries of each case are made there too (`tables.made_rows`). The chunk is read from the
    working tree with the write generation checked once around it (`CaseStore.read_steady`),
    each step for every case at once (`read_chunk`); when a write started or ended meanwhile, it
    is read again case by case, each read checked (the last commit from then on) and each case
    kept only when the generation is still `basis`. A case that `read_chunk` cannot take, and
    every case of a group of `STAGED` where it raised, is read on its own too."""
    def read(case_ids: list[str], checked: bool) -> list[Filled | str]:
        done: list[Filled | str | None] = [None] * len(case_ids)
        if not checked:
            for n in range(0, len(case_ids), STAGED):
                try:
                    done[n:n + STAGED] = read_chunk(ctx, case_ids[n:n + STAGED], TABLES, source, kinds, trees)
                except Exception:  # noqa: BLE001 - these cases read one by one below, where an error is told
                    pass
        for at, case_id in enumerate(case_ids):
            if done[at] is not None:
                continue
            try:
                filled = read_one(ctx, case_id, TABLES, source, kinds=kinds, tree=(trees or {}).get(case_id))
            except (Corrupt, CannotDecrypt):
                done[at] = case_id  # read again by the parent, which reports it
                continue
            except Exception:  # noqa: BLE001 - anything else: the parent reads it and raises it there
                done[at] = case_id
                continue
            if checked:
                filled.keep = ctx.store.generation() == basis
            done[at] = filled
        return done  # type: ignore[return-value] - every place filled above

    def job(case_ids: list[str]) -> list[Filled | str]:
        steady = getattr(ctx.store, "read_steady", None)
        if steady is not None:
            done, held = steady(lambda: read(case_ids, False), basis)
            if held:
                return done  # every case read while the generation stayed `basis`: kept
        return read(case_ids, True)
    return job


def chunks_of(case_ids: Sequence[str], spread: bool) -> list[list[str]]:
    """The chunks a fill reads `case_ids` in: of `CHUNK` cases in their order when read here;
    on every core, whole shards of the record table (`record_shard`) of at least `CHUNK` cases
    together, a shard of more than `LARGEST_CHUNK` cases in pieces, so that a worker looks
    records up in one shard at a time and the parent writes each shard's new records at once."""
    if not spread:
        return [list(case_ids[n:n + CHUNK]) for n in range(0, len(case_ids), CHUNK)]
    by_shard: dict[str, list[str]] = {}
    for case_id in case_ids:
        by_shard.setdefault(record_shard(case_id), []).append(case_id)
    chunks: list[list[str]] = []
    chunk: list[str] = []
    for name in sorted(by_shard):
        ids = by_shard[name]
        for n in range(0, len(ids), LARGEST_CHUNK):
            chunk.extend(ids[n:n + LARGEST_CHUNK])
            if len(chunk) >= CHUNK:
                chunks.append(chunk)
                chunk = []
    if chunk:
        chunks.append(chunk)
    return chunks


def _appendable(folder, recipient: str, keys, tag: str) -> bool:
    """Whether a fill appends to the table in `folder`: it has fewer than `PILE_UP` segments more than
    its size fills (`cache.many_segments`: a table of 100,000 summaries is about 40 segments of 4 MB), or
    only segments of other code (an upgrade that changed the fold or the codec: nothing in them
    can be used), which are removed first. A table piled up with segments of its own is left to
    its reader, which merges them."""
    sizes = cache_mod.segment_sizes(folder)
    if not cache_mod.many_segments(len(sizes), sum(sizes.values()), PILE_UP):
        return True
    return Table(folder, recipient, keys, tag).drop_stale()


def fill(ctx: Context, cache: SummaryCache, trees: dict[str, str], case_ids: Sequence[str],
         direct: dict[str, Table] | None = None, spread: bool = True, rows=None,
         differs: set[str] | None = None) -> Iterator[Filled]:
    """Read every case of `case_ids` (on every core when `spread`), write its entry in every
    table of `TABLES` and its records in the record table, and yield it. `direct`: tables (by
    name) loaded by the caller, into which entries are set rather than appended. A table that
    already has many segments (`PILE_UP`) waiting for its reader to merge them is not appended
    to: its reader fills its own misses; one whose segments are all of other code (an upgrade)
    is emptied and written. A case that cannot be read is noted in `ctx.problems`
    and not yielded. `rows`: the `tables.Bulk` the due and statistics rows go to (default: one
    of the tables this command has not read, for many cases on every core).
    A case is stored when what was read is the last commit's: its folder's tree id as read
    (`Filled.proven`) is the commit's, or else git says it did not change on disk (asked only of
    those: at 100,000 cases of a dozen files each, `git status` reads an index of 350 MB).
    `differs`, for a caller that describes the last commit (the views): a case changed on disk
    is read again as committed, yielded so, and added to this set."""
    from cpcm.service import tables
    from cpcm.store import parallel

    direct = direct or {}
    basis = ctx.store.generation()
    if basis % 2:
        basis = -1  # a write under way: what is read is used, not stored
    source = cache.records if cache.records.usable(ctx.keys) else None
    tags = {t.name: table_tag(t, ctx, cache) for t in TABLES}
    writers = {t.name: Appender(cache.folder / t.name, cache.recipient, tags[t.name]) for t in TABLES
               if t.name not in direct and _appendable(cache.folder / t.name, cache.recipient, cache.keys, tags[t.name])}
    shards = RecordWriters(cache) if source is not None else None
    total, done = len(case_ids), 0
    chunks = chunks_of(case_ids, spread)
    # the due and statistics rows: to new segments as they come when many (and not read by this command),
    # made in the worker processes
    rows_writer = rows if rows is not None else tables.bulk(ctx, cache) if spread and total >= tables.BULK_FROM else None
    kinds = list(rows_writer.writers) if rows_writer is not None and spread else []
    job = _chunk_job(ctx, basis, source, trees, kinds)
    warm = lambda: _warm_up(ctx, basis, source, trees, kinds, chunks)  # noqa: E731
    try:
        for results in parallel.run_chunks(job, chunks, prepare=warm) if spread else map(job, chunks):
            items = [item for item in results if not isinstance(item, str)]
            again = [item for item in results if isinstance(item, str)]  # the worker could not read it: read here
            unsure = [item.case_id for item in items if item.keep and not item.proven and item.case_id in trees]
            cache.proven(item.case_id for item in items if item.proven)
            dirty = cache.dirty_among([*unsure, *again]) if unsure or again else set()
            if differs is not None and dirty:
                differs.update(dirty)
                again += [item.case_id for item in items if item.case_id in dirty]
                items = [item for item in items if item.case_id not in dirty]
            with ctx.store.read_as_committed(dirty) if differs is not None and dirty else nullcontext():
                for case_id in again:
                    try:
                        item = read_one(ctx, case_id, TABLES)
                    except (Corrupt, CannotDecrypt) as exc:
                        ctx.problems.append(exc)  # reported
                        continue
                    item.keep = ctx.store.generation() == basis
                    items.append(item)
            for item in items:
                tree = trees.get(item.case_id)
                if item.keep and tree is not None and item.case_id not in dirty:
                    _store(item, tree, writers, direct, shards)
                    # and its rows for due and statistics (service/tables.py), made here from the folded case
                    tables.put_made(ctx, cache, rows_writer, item, tree)
                    item.stored = True
                yield item
            done += len(results)
            if spread and shards is not None:
                shards.flush()  # a chunk's shards are whole: each written as one segment
            if spread and ctx.progress is not None:
                ctx.progress(done, total)
    finally:
        for writer in (*writers.values(), *([shards] if shards is not None else []),
                       *([rows_writer] if rows_writer is not None else [])):
            try:
                writer.flush()
            except OSError:
                pass  # a read never fails because the local cache cannot be written
        tables.save(ctx)
        if spread:
            give_back()


def _warm_up(ctx: Context, basis: int, source, trees: Mapping[str, str], kinds: Sequence[str],
             chunks: list[list[str]]) -> None:
    """Read the first case of a fill here, just before the worker processes are forked, and drop
    what was made: what a worker does once, on its first case (importing the YAML library for
    the record table's tag, the rules and reports; compiling their patterns; the due texts and
    other caches), is then each worker's from the fork instead of being done by every worker;
    so is the import of the age reader's quick way (crypto/agefile.py), which every worker of a
    fill takes after its first few files. About 50 ms a worker. Nothing is kept, written or
    reported: the case is read again, and stored, by its worker (and a case that cannot be read
    is read there too, and reported). Read as a worker reads a chunk (`read_steady`: the
    working tree while the generation holds), or not at all: nothing here pins the last
    commit for the rest of the command."""
    steady = getattr(ctx.store, "read_steady", None)
    if not chunks or not chunks[0] or steady is None:
        return
    try:
        from cpcm.crypto import agefile  # noqa: F401 - imported for the workers (see above)

        steady(lambda: read_chunk(ctx, chunks[0][:1], TABLES, source, kinds, trees), basis)
    except Exception:  # noqa: BLE001 - its worker reads it again, and the parent reports what fails
        pass


def give_back() -> None:
    """Hand the memory a cold fill freed back to the system. The C library keeps the heap pages
    of the large buffers it freed (segments written, results received: about 40 MB at 100,000
    cases) and Python's small objects never reuse them, so whatever the command does after the
    fill would count on top of them in its peak. Where the C library has no `malloc_trim`
    (not glibc), nothing is done."""
    global _TRIM
    if _TRIM is None:
        try:
            import ctypes

            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None


class RecordWriters:
    """The records a fill parsed, to new segments of their shards of the record table: a shard
    piled up with segments (`PILE_UP`) is left to its reader, which merges them."""

    def __init__(self, cache: SummaryCache):
        self.records = cache.records
        self.recipient = cache.recipient
        self.keys = cache.keys
        self.writers: dict[str, Appender | None] = {}

    def add(self, case_id: str, blob: str, text: str) -> None:
        self.add_each(((case_id, blob, text),))

    def add_each(self, records: Iterable[tuple[str, str, str]]) -> None:
        """`add` of each (case id, blob id, JSON text), the shard found once for the records of
        one case that come together (a case's records, as a fill reads them)."""
        last, writer = None, None
        for case_id, blob, text in records:
            if case_id != last:
                last, writer = case_id, self._writer(record_shard(case_id))
            if writer is not None:
                try:
                    writer.add(blob, text)  # which writes a segment when it is full
                except OSError:
                    pass  # a read never fails because the local cache cannot be written

    def _writer(self, name: str) -> Appender | None:
        writer = self.writers.get(name, False)
        if writer is False:
            table = self.records.shard(name)
            writer = self.writers[name] = Appender(table.folder, self.recipient, table.tag, limit=cache_mod.APPEND_LIMIT // 4) \
                if _appendable(table.folder, self.recipient, self.keys, table.tag) else None
        return writer

    def flush(self) -> None:
        for writer in self.writers.values():
            if writer is not None:
                try:
                    writer.flush()
                except OSError:
                    pass  # as above; what it held is dropped


def _store(item: Filled, tree: str, writers: dict[str, Appender], direct: dict[str, Table],
           shards: RecordWriters | None) -> None:
    # each entry's text made at once, the key's and the tree's JSON once for every table (`Appender.add` of
    # the entry {"tree": tree, field: value}, whose value's text the worker made)
    head = None
    values = item.values
    for table in TABLES:
        name = table.name
        text = "null" if values is None else values[name]
        if name in direct:
            direct[name].set(item.case_id, {"tree": tree, table.field: json.loads(text)})
        else:
            writer = writers.get(name)
            if writer is not None:
                if head is None:
                    head = '%s:{"tree":%s,"' % (cache_mod.quoted(item.case_id), cache_mod.quoted(tree))
                writer.add_text('%s%s":%s}' % (head, table.field, text))
    if shards is not None:
        shards.add_each(item.records)


def value(item: Filled, table: CaseTable) -> Any:
    """The value a fill made of `table` for a case (None: not readable)."""
    return None if item.values is None else json.loads(item.values[table.name])


def case_rows(ctx: Context) -> dict[str, list]:
    """Every case the worker can read -> its `list_row`, in the order of the case ids, from the
    cache's row table: no case is folded but those changed since the table was written (a cold
    table is filled on every core, with every other table). A damaged case is left out and noted
    in `ctx.problems`. As `list` describes it: the last commit (a case folder deleted by hand too,
    `tables.case_folders`), each case read from its files asked whether it changed on disk only
    when not proven the commit's as read (`rows_of`)."""
    from cpcm.service import tables

    worker = ctx.need_worker()
    cache = ctx.store.summaries(worker.id, ctx.identity.recipient, ctx.keys, fold_fingerprint())
    if not isinstance(cache, SummaryCache):  # a repository in memory: no files to keep tables in
        from cpcm.service.context import load_cases

        return {case_id: list_row(ctx, case) for case_id, case in load_cases(ctx).items()}
    trees, ids, _ = tables.case_folders(ctx, cache.dirty_among)
    return rows_of(ctx, cache, trees, ids)


def rows_of(ctx: Context, cache: SummaryCache, trees: dict[str, str], ids: list[str],
            failed: set[str] | None = None, shape: Callable[[str, list], Any] | None = None,
            changed: set[str] | None = None) -> dict[str, Any]:
    """`case_rows` of the cases `ids` (their tree ids in `trees`), through `cache`'s row table;
    the readable cases that could not be read are added to `failed`. `shape(case_id, row)`: what
    is kept of each row as it is read (default: the row itself; service/views.py keeps one text).
    A row of the table is of the tree it was made from, the last commit's whatever the disk holds:
    the cases read from their files are read as committed when they changed on disk (`fill`'s
    `differs`: git is asked only of those not proven the commit's as read); they are added to `changed`."""
    keep = _keeper(shape)
    table = Table(cache.folder / ROWS.name, cache.recipient, cache.keys, rows_tag(ctx, cache))
    sizes = cache_mod.segment_sizes(table.folder)
    differs: set[str] = set()
    if cache_mod.many_segments(len(sizes) + 1, sum(sizes.values())):  # many segments: read whole, and merged when saved
        found = _rows_loaded(ctx, cache, table.load(), trees, ids, failed, keep, differs)
        if changed is not None:
            changed.update(differs)
        return found
    rows: dict[str, list] = {}
    gone: set[str] = set()
    for case_id, entry in table.stream(set(ids), gone):  # a segment at a time: no table held beside the rows
        if entry["tree"] == trees.get(case_id) and entry["row"] is not None:
            rows[case_id] = keep(case_id, entry["row"])
        elif entry["tree"] == trees.get(case_id):
            rows[case_id] = None  # a case the worker does not read
    missing = [case_id for case_id in ids if case_id not in rows]
    _fill_missing(ctx, cache, table, trees, missing, differs, rows, keep, failed)
    if changed is not None:
        changed.update(differs)
    if gone:  # cases that left the folder: forgotten (a segment of deletions)
        writer = Appender(table.folder, cache.recipient, table.tag)
        for case_id in sorted(gone):
            writer.add(case_id, "null")
        try:
            writer.flush()
        except OSError:
            pass  # a read never fails because the local cache cannot be written
    return {case_id: rows[case_id] for case_id in ids if case_id in rows}


def _fill_missing(ctx: Context, cache: SummaryCache, table: Table, trees: dict[str, str], missing: list[str],
                  differs: set[str], rows: dict[str, Any], keep: Callable[[str, list], Any], failed: set[str] | None) -> None:
    """`rows_of`'s cases not in the row table (`missing`) read as committed and added to `rows`, those the worker
    does not read taken out of it; those changed on disk added to `differs`."""
    if table.stale and not rows:
        table.drop_stale()  # an earlier version's table: nothing of it is read again
    for case_id in [c for c, row in rows.items() if row is None]:
        del rows[case_id]
    read = set()
    cold = len(missing) >= FILL_FROM
    later: set[str] = set()  # rows the fill writes to the table: read back when it ends, not held while it reads
    for item in fill(ctx, cache, trees, missing, spread=cold, differs=differs):  # new segments of every table
        read.add(item.case_id)
        if item.values is None:
            continue
        if cold and item.stored:
            later.add(item.case_id)
        else:
            rows[item.case_id] = keep(item.case_id, value(item, ROWS))
    if later:
        written = Table(table.folder, cache.recipient, cache.keys, table.tag)
        for case_id, entry in cache_mod.newest_entries(written):  # an entry at a time: no segment parsed whole
            if case_id in later and entry["tree"] == trees.get(case_id) and entry["row"] is not None:
                rows[case_id] = keep(case_id, entry["row"])
                later.discard(case_id)
        if later:  # not in the table (it could not be written): read again, and held
            for item in fill(ctx, cache, trees, sorted(later), spread=len(later) >= FILL_FROM, differs=differs):
                if item.values is not None:
                    rows[item.case_id] = keep(item.case_id, value(item, ROWS))
    if failed is not None:
        failed.update(c for c in missing if c not in read)


def _rows_loaded(ctx: Context, cache: SummaryCache, table: Table, trees: dict[str, str], ids: list[str],
                 failed: set[str] | None, keep: Callable[[str, list], Any], differs: set[str]) -> dict[str, Any]:
    """`rows_of` through the whole row table, merged when saved; the cases read from their files as `_fill_missing`
    reads them."""
    entries = table.entries
    rows: dict[str, list] = {}
    missing = []
    for case_id in ids:
        entry = entries.get(case_id)
        tree = trees.get(case_id)
        if entry is not None and tree is not None and entry["tree"] == tree:  # the last commit's, whatever the disk holds
            if entry["row"] is not None:
                rows[case_id] = keep(case_id, entry["row"])
        else:
            missing.append(case_id)
    cold = len(missing) >= FILL_FROM  # written in segments as the cases come; a few: with the table's own save
    read = set()
    for item in fill(ctx, cache, trees, missing, direct={} if cold else {ROWS.name: table}, spread=cold, differs=differs):
        read.add(item.case_id)
        if item.values is not None:
            rows[item.case_id] = keep(item.case_id, value(item, ROWS))
    if failed is not None:
        failed.update(c for c in missing if c not in read)
    for gone in set(entries) - set(ids):
        table.delete(gone)
    try:
        table.save()
    except OSError:
        pass  # a read never fails because the local cache cannot be written
    return {case_id: rows[case_id] for case_id in ids if case_id in rows}


_COMMON: dict = {}


def _keeper(shape: Callable[[str, list], Any] | None) -> Callable[[str, list], Any]:
    if shape is None:
        return lambda case_id, row: _shared(row)
    return shape


def _shared(row: list) -> list:
    """The row with one string object for each value of its few-valued columns (status, stage,
    risk, worker, sex): 100,000 rows hold a handful of strings, not 500,000."""
    for column in (0, 1, 2, 3, 5):
        text = row[column]
        if text is not None:
            row[column] = _COMMON.setdefault(text, text)
    return row


def age_on(born: str | None, today: date) -> int | None:
    """Whole years from a date of birth (ISO text; None: not known) to `today`."""
    if born is None:
        return None
    b = date.fromisoformat(born)
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def summary_of(row: list, case_id: str, today: date, names: bool) -> dict:
    """`case_summary` of a case from its `list_row`: the same keys, values and order."""
    status, stage, risk, worker, registered_at, sex, born, records, last_at, name = row
    data = {"case_id": case_id, "status": status, "stage": stage, "risk": risk, "worker": worker,
            "registered_at": registered_at, "sex": sex, "age": age_on(born, today), "records": records, "last_at": last_at}
    if names:
        data["name"] = name
    return data


def _json_template(names: bool) -> str:
    """A summary's text in a list as `json.dumps(..., indent=2)` lays it out, a `%s` for each
    value, the keys those of `summary_of` in its order."""
    keys = list(summary_of([None] * 10, "", date.min, names))
    return "  {\n" + ",\n".join(f"    {json.dumps(key)}: %s" for key in keys) + "\n  }"


def _json_scalar(value: Any) -> str | None:
    """A value of a summary as json writes it (not ASCII-only) when it is text, a whole number, a
    boolean or null; None for anything else."""
    kind = value.__class__
    if kind is str:
        return _ESCAPED(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    return None


_ESCAPED = json.encoder.encode_basestring  # json's escaping of text when not ASCII-only


class Summaries(abc.Sequence):
    """`summary_of` each of the rows, made as they are read: printing 100,000 rows holds one
    summary at a time, not 100,000 dictionaries."""

    def __init__(self, rows: list[tuple[str, list]], today: date, names: bool):
        self.rows, self.today, self.names = rows, today, names

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [summary_of(row, case_id, self.today, self.names) for case_id, row in self.rows[index]]
        case_id, row = self.rows[index]
        return summary_of(row, case_id, self.today, self.names)

    def __iter__(self):
        for case_id, row in self.rows:
            yield summary_of(row, case_id, self.today, self.names)

    def json_items(self) -> Iterator[str]:
        """Each summary's text as `json.dumps` of the list with `indent=2`, not ASCII-only, writes
        it (cli/common.py `print_json_of`), laid out from the row without making the summary: the
        values of the few-valued columns escaped once each, each age counted once per date of
        birth (at 100,000 cases `list --json` spent half its time making and laying out the
        summaries one value at a time). A row holding anything but text, whole numbers, booleans
        and null (a value written by hand) is written by `json.dumps` of its summary."""
        template, today, names = _json_template(self.names), self.today, self.names
        escaped, scalar = _ESCAPED, _json_scalar
        few: dict[Any, str] = {None: "null"}  # a value of status, stage, risk, worker or sex -> its JSON
        ages: dict[Any, str] = {None: "null"}  # a date of birth -> the age's JSON

        def common(value: Any) -> str | None:
            text = scalar(value)
            if value.__class__ is str and len(few) < 4096:  # (True and 1 are one key of a dict: text only)
                few[value] = text
            return text

        def age(born: Any) -> str | None:
            if born.__class__ is not str:
                return None  # not a date: summary_of says so
            try:
                text = ages[born] = str(age_on(born, today))
            except ValueError:
                return None
            return text

        for case_id, row in self.rows:
            status, stage, risk, worker, registered_at, sex, born, records, last_at, name = row
            try:
                values = (escaped(case_id) if case_id.__class__ is str else scalar(case_id),
                          few.get(status) or common(status), few.get(stage) or common(stage),
                          few.get(risk) or common(risk), few.get(worker) or common(worker),
                          escaped(registered_at) if registered_at.__class__ is str else scalar(registered_at),
                          few.get(sex) or common(sex), ages.get(born) or age(born),
                          int.__repr__(records) if records.__class__ is int else scalar(records),
                          escaped(last_at) if last_at.__class__ is str else scalar(last_at),
                          *((scalar(name),) if names else ()))
            except TypeError:  # a value that is not hashable: a list or a mapping written by hand
                values = (None,)
            if None in values:
                yield "  " + json.dumps(summary_of(row, case_id, today, names), indent=2, ensure_ascii=False,
                                        default=str).replace("\n", "\n  ")
            else:
                yield template % values


def rows_matching(rows: Iterable[tuple[str, list]], status: str | None, risk: str | None, worker: str | None,
                  stage: str | None) -> list[tuple[str, list]]:
    """The rows `cpcm list` shows with these filters, in its order (registered, then case id)."""
    selected = [(case_id, row) for case_id, row in rows
                if (not status or row[0] == status) and (not risk or row[2] == risk)
                and (not worker or row[3] == worker) and (not stage or row[1] == stage)]
    return sorted(selected, key=lambda item: (item[1][4] or "", item[0]))
