"""The local cache: each readable case's folded state, a small index of what every write needs,
and each record as parsed, all encrypted to the local worker only (the cache holds the same
personal data as the records it is made from) in `.cpcm/cache/<worker>/` (git-ignored).

Three tables, each a folder of encrypted segments (`Table`):

- `summary`: case id -> the folded case, with the git tree id of the case's folder it was made
  from. An entry is used only for exactly that tree, so it can never be stale (any change to the
  case changes the tree id). Made by the fold: tagged with the fold's fingerprint.
- `index`: case id -> the few fields the duplicate and caseload checks read (the service
  decides which), keyed by tree id like the summary, so a write does not load every folded case.
  Names stay encrypted in it, as in the summary.
- `records` (256 shards by case: `record_shard`): a record file's blob id (the hash git gives
  its bytes) -> the record as its YAML parsed. Made by the codec alone, so an upgrade of cpcm that changes the
  fold (and empties the summaries) re-folds from these with no decryption and no YAML. When a
  shard's segments are merged, the records no longer in the last commit (re-encrypted to new
  readers, a case merged or transferred away) are left out: the table does not grow with
  every re-encryption.

Beside them, tables of values the service derives from each case (`derived_table`: `due` and
`statistics`, made by cpcm/service/tables.py), keyed by case id and tree like the summary, in
the same folder and encrypted the same way.

A change is written as a new segment holding only what changed; a table is merged into one file
when it has many segments. Concurrent commands may each add a segment; a merge removes only
the segments it read. Whatever is lost that way is a cache miss, never a wrong answer.

When a case's folder differs from the last commit (a record damaged, edited or deleted on disk,
an interrupted write), its entry is neither used nor stored: the case is read from its files, so
`show` reports the damage instead of showing the committed summary. A fill finds which differ from
what it reads (the folder's tree id as read, `fill.fill`), and asks git only of the rest (`DiskChanges`).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import secrets
import shutil
import stat
import time
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from cpcm.crypto import cipher
from cpcm.store import atomic
from cpcm.store.layout import CACHE_DIR, CASES, TMP_PREFIX, case_rel, shard

VERSION = 2
MERGE_FROM = 12  # segments in a table before a save merges them into one


def dirty_cases(root: Path, names: Iterable[str] | None = None, trees: Mapping[str, str] | None = None,
                added: bool = True) -> set[str]:
    """The case folders with a committed file changed or deleted on disk (or staged). Over every
    folder, files never committed are not looked for: scanning 10,000 folders for them would
    double the cost (`cpcm verify` reports them); in a few named folders they are.
    `names`: look only at these case folders (git looks at their files only); `trees`: their
    tree ids in the last commit, when the caller has them (then git reads those small trees
    rather than the `cases` tree, 4 MB at 100,000 cases).
    Read from git's index and the files when the repository is as cpcm's writes leave it (no
    process: `Git.changed_on_disk`), or for a few named folders from their files and the commit's
    (`_few_changed`, which also finds a record file on disk that the commit does not hold);
    otherwise `git status` answers. `added=False`: a file on disk that the commit does not hold
    does not count in a few named folders either (as over every folder: `DiskChanges.among`)."""
    from cpcm.store.git import Git, GitError

    wanted = None if names is None else list(names)
    paths = [CASES] if wanted is None else [case_rel(name) for name in wanted]
    if not paths:
        return set()
    git = Git(root)
    found = _few_changed(git, paths, trees, added) if wanted is not None and len(wanted) <= FEW else None
    if found is None:
        found = git.changed_on_disk(CASES, wanted)
    if found is not None:
        return found
    try:
        out = git.run(["status", "--porcelain=v1", "-z", "--untracked-files=no", "--", *paths])
    except GitError:
        return set()  # no commit yet, or git cannot say: nothing is cached without a tree id anyway
    folders, skip = set(), False
    for entry in out.split("\0"):
        if skip or not entry:
            skip = False
            continue
        skip = "R" in entry[:2] or "C" in entry[:2]  # the next entry is the old name
        parts = entry[3:].split("/")
        if len(parts) >= 4 and parts[0] == CASES and shard(parts[2]) == parts[1]:
            folders.add(parts[2])
    return folders


FEW = 64  # case folders named beyond which `dirty_cases` leaves them to git's index
FEW_TREES = 8  # case folders up to which each one's tree is listed on its own (one git each)


def _ls_tree(out: str, prefix: str = "") -> list[tuple[str, str, str]]:
    """(mode, path, id) of each entry `git ls-tree -r -z` listed, its path after `prefix`; mode "" for
    anything but a file."""
    listed = []
    for entry in filter(None, out.split("\0")):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        listed.append((parts[0] if len(parts) == 3 and parts[1] == "blob" else "", prefix + path, parts[-1]))
    return listed


def _few_changed(git, paths: list[str], trees: Mapping[str, str] | None = None, added: bool = True) -> set[str] | None:
    """The folders of `paths` (cases/ID) with a committed file changed or deleted on disk, or a
    record file or readers' list on disk that the last commit does not hold (a fill would read
    it): each file of the commit there compared with its bytes on disk (`Git.edited`), without
    git's index (`git status` reads all of it: 0.15 s at 100,000 cases, for one case folder).
    What is staged and not committed counts by what is on disk, which is what a fill reads.
    None when git cannot say (no commit yet) or lists something that is not a file (git
    answers then)."""
    from cpcm.store.git import GitError, tree_files
    from cpcm.store.layout import RECIPIENTS, RECORD_FILE

    folders = [path.rsplit("/", 1)[1] for path in paths]
    git_dir = git.git_dir
    listed: list[tuple[str, str, str]] | None = None
    known_trees = trees is not None and all(name in trees for name in folders)
    if known_trees:
        read = [tree_files(git_dir, trees[name], f"{case_rel(name)}/") for name in folders]  # from git's files
        listed = None if None in read else [entry for entries in read for entry in entries]
    try:
        if listed is None and known_trees and len(paths) <= FEW_TREES:
            listed = [entry for name in folders for entry in
                      _ls_tree(git.run(["ls-tree", "-r", "-z", trees[name]], env=git.tree_only()), f"{case_rel(name)}/")]
        elif listed is None:
            listed = _ls_tree(git.run(["ls-tree", "-r", "-z", "HEAD", "--", *paths], env=git.tree_only()))
    except GitError:
        return None
    expected: dict[str, str | None] = {}
    executable: dict[str, bool] = {}
    for mode, path, sha in listed:
        if mode not in ("100644", "100755"):
            return None
        expected[path], executable[path] = sha, mode == "100755"
    edited = set(git.edited(expected))
    for path in expected.keys() - edited:  # the same bytes: a plain file, with its mode as git compares it (the x bit)
        try:
            mode = os.lstat(os.path.join(git.root, path)).st_mode
        except OSError:
            mode = 0
        if not stat.S_ISREG(mode) or bool(mode & 0o100) != executable[path]:
            edited.add(path)
    found = {path.split("/")[2] for path in edited}  # cases/XX/ID/name
    for folder in paths if added else ():
        try:
            names = os.listdir(os.path.join(git.root, folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        if any((name == RECIPIENTS or RECORD_FILE.match(name)) and f"{folder}/{name}" not in expected for name in names):
            found.add(folder.rsplit("/", 1)[1])
    return found


class DiskChanges:
    """The case folders changed on disk since the last commit (`dirty_cases`), asked as a command needs them: all
    at once (`every`: from git's index, which `git status` reads whole, 350 MB at 1.25 million files), or those among
    names (`among`, the same answer for them: a file on disk that the commit does not hold does not count, as `git
    status --untracked-files=no` does not count it): a few asked of their own files and the commit's, more (in
    one call or in all) from git's index once. What was found is kept. A case asked neither way is looked for with every other (`in`)."""

    def __init__(self, root: Path):
        self.root = root
        self._every: set[str] | None = None
        self._found: set[str] = set()  # the changed among the cases asked by name
        self._asked: set[str] = set()
        self._proven: set[str] = set()  # found the commit's as read (`proven`): not asked, not counted as asked

    def every(self) -> set[str]:
        if self._every is None:
            self._every = dirty_cases(self.root)
        return self._every

    def set_every(self, found: set[str]) -> None:
        """Every case changed, as the caller found them in this command: git is not asked again."""
        self._every = found

    def among(self, names: Iterable[str]) -> set[str]:
        names = set(names)
        if self._every is None:
            asked = names - self._asked - self._proven
            if len(self._asked) + len(asked) <= FEW:  # asked a few at a time (a fill's chunks): many in all go to git's index
                if asked:
                    self._found |= dirty_cases(self.root, sorted(asked), added=False)
                    self._asked |= asked
                return self._found & names
        return self.every() & names

    def proven(self, case_ids: Iterable[str]) -> None:
        """Cases whose folders, as just read whole, are the last commit's (their tree ids as read: `fill.fill`):
        not changed, and not asked of git."""
        self._proven.update(case_ids)

    def __contains__(self, case_id: str) -> bool:
        if self._every is None and (case_id in self._asked or case_id in self._proven):
            return case_id in self._found
        return case_id in self.every()


_PLAIN = frozenset((str, int, bool, type(None)))  # types that read back from JSON as they are


def plain_json(value: Any) -> bool:
    """The value reads back from JSON exactly as it is (no tuple, date, non-text key, NaN). A
    parsed record's dicts, lists and scalars are taken by their exact type first (every record
    of a cold fill is checked); anything else as `_plain_json` says."""
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                return False
            if type(item) not in _PLAIN and not plain_json(item):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) not in _PLAIN and not plain_json(item):
                return False
        return True
    return _plain_json(value)


def _plain_json(value: Any) -> bool:
    if isinstance(value, str) or value is None or isinstance(value, bool) or isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_json(v) for v in value)
    return False


class Table:
    """A map of JSON values kept in encrypted segment files in one folder, read lazily. Entries
    are merged in the order of the segments' names (the time they were written); a deleted entry
    is written as null."""

    def __init__(self, folder: Path, recipient: str, keys: Sequence, tag: str,
                 keep: Callable[[], set[str] | None] | None = None):
        """`keep()`: the keys worth keeping when the segments are merged (None: all of them)."""
        self.folder = folder
        self.keep = keep
        self.recipient = recipient
        self.keys = keys
        self.tag = tag
        self.entries: dict[str, Any] = {}
        self.pending: dict[str, Any] = {}
        self.files: list[str] = []   # the segments read
        self.size = 0                # their bytes on disk
        self.stale = False           # a segment of other code, another key or damaged: merge at the next save
        self.loaded = False

    def load(self) -> "Table":
        if self.loaded:
            return self
        self.loaded = True
        for name in self.segments():
            try:
                raw = (self.folder / name).read_bytes()
            except FileNotFoundError:
                continue  # merged away by another command meanwhile
            except OSError:
                self.stale = True
                continue
            self.files.append(name)
            self.size += len(raw)
            data = _segment(raw, self.keys, self.tag)
            if data is None:
                self.stale = True
                continue
            for key, value in (data.get("entries") or {}).items():
                if value is None:
                    self.entries.pop(key, None)
                else:
                    self.entries[key] = value
        for key, value in self.pending.items():  # added before the table was read (`add`): newer than any segment
            if value is None:
                self.entries.pop(key, None)
            else:
                self.entries[key] = value
        return self

    def segments(self) -> list[str]:
        """The names of the table's segments on disk, oldest first."""
        return segment_names(self.folder)

    def stream(self, wanted: set[str], others: set[str] | None = None) -> Iterator[tuple[str, Any]]:
        """(key, value) of each key of `wanted` the table holds, as `load` would give it, read one
        segment at a time, newest first (memory: one segment's entries, not the table's). A key
        deleted in a newer segment is not given; nothing is kept in `entries`. `others`: gets the
        keys held that are not wanted. A segment that cannot be read, or of other code, marks the
        table `stale` (its next merge leaves it out)."""
        seen: set[str] = set()
        for name in reversed(self.segments()):
            data = self.segment_entries(name)
            if data is None:
                continue
            for key, value in data.items():
                if key in seen:
                    continue
                seen.add(key)
                if key not in wanted:
                    if others is not None and value is not None:
                        others.add(key)
                elif value is not None:
                    yield key, value
            del data

    def segment_entries(self, name: str) -> dict[str, Any] | None:
        """The entries of the segment `name` (None for a deleted key); None when it is gone (merged away by
        another command meanwhile: its entries are in the merged one), or cannot be read or is of other
        code (then the table is marked `stale`)."""
        try:
            raw = (self.folder / name).read_bytes()
        except OSError:
            return None
        data = _segment(raw, self.keys, self.tag)
        if data is None:
            self.stale = True
            return None
        return data.get("entries") or {}

    def drop_stale(self) -> bool:
        """Remove the segments of other code, another key or damaged, when none is of this table
        (a table made by an earlier version: nothing in it can be used); whether it did. A table
        with a segment of its own is left as it is (its next merge leaves the others out)."""
        names = self.segments()
        for name in names:
            try:
                raw = (self.folder / name).read_bytes()
            except OSError:
                continue
            if _segment(raw, self.keys, self.tag, head_only=True) is not None:
                return False
        _remove(self.folder, names)
        self.files = [f for f in self.files if f not in names]
        if not self.files:
            self.stale = False
        return bool(names)

    def get(self, key: str) -> Any:
        return self.load().entries.get(key)

    def set(self, key: str, value: Any) -> None:
        self.load()
        self.entries[key] = value
        self.pending[key] = value

    def add(self, key: str, value: Any) -> None:
        """`set`, without reading the table first when it is not read yet: the entry is written by the next `save`
        as a segment of its own (a table not read is never merged). For a command that reads the table a segment at a
        time (`newest_entries`) and stores the few entries it found out of date."""
        if self.loaded:
            self.set(key, value)
        else:
            self.pending[key] = value

    def delete(self, key: str) -> None:
        self.load()
        if key in self.entries:
            del self.entries[key]
            self.pending[key] = None

    @property
    def changed(self) -> bool:
        return bool(self.pending) or (self.stale and self.loaded)

    def save(self) -> None:
        if not self.changed:
            return
        merge = self.loaded and (self.stale or many_segments(len(self.files) + 1, self.size))  # not read: only what was added
        if merge and self.keep is not None:
            live = self.keep()
            if live is not None:
                self.entries = {k: v for k, v in self.entries.items() if k in live}
        if not merge:
            payload = json.dumps({"version": VERSION, "tag": self.tag, "entries": self.pending}, separators=(",", ":"))
            self.files.append(write_segment(self.folder, self.recipient, payload.encode()))
            self.size += len(payload)
            self.pending = {}
            return
        # merged into segments of about `APPEND_LIMIT` each, as a fill writes them: a command that reads the table a
        # segment at a time (`newest_entries`) holds one of them, not the whole table
        writer = _rewrite(self, self.entries.items(), self.files)
        self.files, self.size, self.stale, self.pending = writer.written, writer.bytes, False, {}


def many_segments(count: int, size: int, allowance: int | None = None) -> bool:
    """Whether a table of `count` segments and `size` bytes has many: `allowance` (default `MERGE_FROM`) segments
    more than its size fills (`APPEND_LIMIT` each, as a merge writes them), so that a table merged is not many."""
    return count >= (MERGE_FROM if allowance is None else allowance) + size // APPEND_LIMIT


def segment_names(folder: Path) -> list[str]:
    """The names of the segments of the table in `folder` (written whole: no temp file), oldest first."""
    try:
        return sorted(n for n in os.listdir(folder) if n.endswith(".age") and not n.startswith(TMP_PREFIX))
    except OSError:
        return []


def segment_sizes(folder: Path) -> dict[str, int]:
    """The size on disk of each segment of the table in `folder`, by name, oldest first."""
    sizes = {}
    for name in segment_names(folder):
        try:
            sizes[name] = (folder / name).stat().st_size
        except OSError:
            pass  # merged away meanwhile
    return sizes


def merge_read(table: Table, wanted: Callable[[str], bool]) -> bool:
    """Merge the segments of a table a command reads a segment and an entry at a time (`newest_entries`) and never
    loads whole, so that no `Table.save` merges it, when they are many (`many_segments`) or one holds most of the
    table and is much larger than a merge writes (an earlier version's merge wrote a table as one segment): each
    key's newest entry that is `wanted`, written to new segments (`Appender`, a few MB each) before the segments read
    are removed. Memory: one segment's text and the entries waiting to be written. A write that fails leaves the
    table as it was. Whether it merged."""
    if table.loaded:
        return False
    sizes = segment_sizes(table.folder)
    size = sum(sizes.values())
    if not many_segments(len(sizes), size) and max(sizes.values(), default=0) <= max(2 * APPEND_LIMIT, size // 2):
        return False  # about as many segments as the merged table fills, none holding most of it: merged already
    names = list(sizes)
    try:
        _rewrite(table, ((key, value) for key, value in newest_entries(table, names) if wanted(key)), names)
    except OSError:
        return False  # a read never fails because the local cache cannot be written
    return True


def _rewrite(table: Table, entries: Iterable[tuple[str, Any]], old: Iterable[str]) -> "Appender":
    """Write `entries` as new segments of the table (`Appender`, about `APPEND_LIMIT` each), then remove the segments
    `old`; a write that fails removes what it wrote and raises: the table as it was. The writer (what it wrote)."""
    writer = Appender(table.folder, table.recipient, table.tag)
    try:
        for key, value in entries:
            writer.add(key, _ENCODE(value))
        writer.flush()
    except BaseException:
        _remove(table.folder, writer.written)
        raise
    _remove(table.folder, old)
    return writer


def _remove(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        try:
            os.unlink(folder / name)
        except OSError:
            pass


def _segment(raw: bytes, keys: Sequence, tag: str, head_only: bool = False) -> dict | None:
    """A segment's content when it is of this version and `tag` (None: another, damaged, not
    ours). Every writer puts the version and tag first, so a segment of other code is known
    without parsing its entries (an upgrade finds whole tables of them). `head_only`: only say
    whether it is (an empty dict)."""
    try:
        text = cipher.decrypt(raw, keys)
    except (ValueError, cipher.NotARecipient, cipher.Damaged):
        return None
    if head_only:
        return {} if text.startswith(_head(tag)) else None
    return _parsed(text, tag)


def _head(tag: str) -> bytes:
    """How every segment of this version and `tag` begins (`Appender` and `Table.save` write it first)."""
    return b'{"version":%d,"tag":%s,' % (VERSION, json.dumps(tag).encode())


def write_segment(folder: Path, recipient: str, payload: bytes) -> str:
    """Write one encrypted segment of a table (the JSON `payload`) into `folder`; its name."""
    name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(3)}.age"
    atomic.write_local(folder / name, cipher.encrypt(payload, [recipient]))  # no fsync: a cache lost in a power cut is rebuilt
    return name


class _Pieces(io.RawIOBase):
    """A reader of the bytes of `pieces` one after the other, none joined (what `encrypt_io` reads)."""

    def __init__(self, pieces: Iterable[bytes]):
        self._pieces = iter(pieces)
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not len(self._left):
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._left = memoryview(piece).cast("B")
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def write_encrypted(path: Path, recipient: str, pieces: Iterable[bytes]) -> None:
    """Replace a local file of the cache with the bytes of `pieces` (in order), encrypted to
    `recipient` as they are read: neither the whole plaintext nor the whole ciphertext is held
    in memory (a view of 100,000 cases is tens of MB). Written by `atomic.write_local` (a temp
    name renamed, readable by the user only, no fsync); the temp file holds ciphertext only."""
    import pyrage

    atomic.write_local(path, lambda handle: pyrage.encrypt_io(
        io.BufferedReader(_Pieces(pieces), 1 << 20), handle, [cipher.parse_recipient(recipient)]))


APPEND_LIMIT = 4 << 20  # characters of JSON an Appender holds before it writes them as a segment


def json_encoder(default: Callable[[Any], Any] | None = None, allow_nan: bool = True) -> Callable[[Any], str]:
    """`json.JSONEncoder(separators=(",", ":"), default=default, allow_nan=allow_nan).encode`
    (ASCII only, keys in order), the same text, with its C encoder made once rather than at every
    call (`JSONEncoder.encode` makes one each time, with a dictionary of the containers it is
    in) and without that check for circular references: a value that holds itself raises
    RecursionError rather than ValueError. A cold fill encodes tens of thousands of values."""
    from json import encoder

    options = dict(separators=(",", ":"), default=default, allow_nan=allow_nan)
    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - no C accelerator: the encoder as json makes it
        return json.JSONEncoder(check_circular=False, **options).encode  # type: ignore[arg-type]
    spec = json.JSONEncoder(**options)  # type: ignore[arg-type]
    made = make(None, spec.default, encoder.encode_basestring_ascii, None, spec.key_separator, spec.item_separator,
                False, False, allow_nan)
    join = "".join

    def encode(value: Any) -> str:
        return join(made(value, 0))
    return encode


_ENCODE = json_encoder()  # a table's value as `Table.save` and the merges write it


def quoted(key) -> str:
    """`json.dumps(key)`; of a string (a table's key, a tree id) without its checks of the
    arguments and the encoder made at every call."""
    return json.encoder.encode_basestring_ascii(key) if type(key) is str else json.dumps(key)


class Appender:
    """Entries added to a table without reading it (a cold fill: thousands of cases, none of
    them in the table): the entries go to new segments of at most about `limit` characters,
    written as they fill, so memory stays flat however many are added; a fill interrupted
    midway leaves the segments written so far, which the next command uses. Each value is given
    as its JSON text (made where the value was made, in a worker process). A table left with
    many segments is merged by the next `Table.save` that changes it."""

    def __init__(self, folder: Path, recipient: str, tag: str, limit: int | None = None):
        self.folder = folder
        self.recipient = recipient
        self.tag = tag
        self.limit = APPEND_LIMIT if limit is None else limit
        self.parts: list[str] = []
        self.size = 0
        self.written: list[str] = []  # the segments written, by name
        self.bytes = 0                # their JSON text's length

    def add(self, key: str, value_json: str) -> None:
        part = quoted(key) + ":" + value_json
        self.parts.append(part)
        self.size += len(part)
        if self.size >= self.limit:
            self.flush()

    def add_text(self, entry: str) -> None:
        """An entry given as its whole text, `KEY:VALUE` in JSON (what `add` makes of a key and
        a value's text): for a caller that made the key's JSON once for several tables."""
        self.parts.append(entry)
        self.size += len(entry)
        if self.size >= self.limit:
            self.flush()

    def flush(self) -> None:
        if not self.parts:
            return
        payload = '{"version":%d,"tag":%s,"entries":{%s}}' % (VERSION, json.dumps(self.tag), ",".join(self.parts))
        self.parts, self.size = [], 0
        self.written.append(write_segment(self.folder, self.recipient, payload.encode()))
        self.bytes += len(payload)


def codec_fingerprint() -> str:
    """What a record's entry in the record table depends on: the form `codec.loads` reads text to
    (`codec.PARSED_FORM`) and the YAML library (ruamel.yaml's version and its libyaml's). Records
    parsed otherwise are not used. A new release of cpcm whose reading is the same keeps the table,
    so the next command folds cases again from it (no decryption, no YAML) instead of filling cold."""
    import ruamel.yaml

    from cpcm.store import codec

    try:
        import _ruamel_yaml

        libyaml = _ruamel_yaml.get_version_string()
    except ImportError:  # pragma: no cover - without the C extension
        libyaml = "none"
    form = f"{codec.PARSED_FORM} ruamel.yaml {ruamel.yaml.__version__} libyaml {libyaml}"
    return hashlib.sha256(form.encode()).hexdigest()[:16]


def _publics(keys: Sequence) -> set[str]:
    try:
        return {str(k.to_public()) for k in keys}
    except AttributeError:
        return {repr(k) for k in keys}


RECORD_SHARDS = 256  # shards of the record table, by case


def record_shard(case_id: str) -> str:
    """The shard of the record table that holds the records of the case (or conference) whose
    folder is `case_id`: every record of a case in one shard, so reading a case, or a fill's
    chunk of cases, loads one small shard, not a part of every shard. Any folder name has one
    (a name that is not UTF-8 comes as lone surrogates: their code points are hashed)."""
    return "%02x" % (zlib.crc32(case_id.encode("utf-8", "surrogatepass")) % RECORD_SHARDS)


class RecordCache:
    """Each record file's YAML as parsed, by the file's blob id, in `RECORD_SHARDS` shards by the
    case the file is in (`record_shard`), each read as needed. Used only with the keys it was made
    for (`usable`): a hit is a file this worker has decrypted."""

    def __init__(self, folder: Path, recipient: str, keys: Sequence, live: Callable[[], set[str] | None] | None = None):
        """`live()`: the blob id of every record file in the last commit (None when it cannot be
        said); a shard keeps only these when its segments are merged. Asked once at most."""
        self.folder = folder
        self.recipient = recipient
        self.keys = keys
        self._tag: str | None = None
        self._also: Sequence | None = None
        self._live = live
        self._live_ids: set[str] | None = None
        self._asked = False
        self._held: str | None = None  # `lookup`'s shard
        self._one = False  # `get` holds one shard at a time (`one_shard`)
        self.shards: dict[str, Table] = {}  # the shards used so far, by name
        _drop_blob_shards(folder)

    @property
    def tag(self) -> str:
        """`codec_fingerprint()`, asked when a shard is first opened (it imports ruamel, which a
        command answered from the summary table does not need)."""
        if self._tag is None:
            self._tag = codec_fingerprint()
        return self._tag

    def shard(self, name: str) -> Table:
        table = self.shards.get(name)
        if table is None:
            table = self.shards[name] = Table(self.folder / name, self.recipient, self.keys, self.tag,
                                              self._keep if self._live is not None else None)
        return table

    def every_shard(self) -> list[Table]:
        return [self.shard("%02x" % n) for n in range(RECORD_SHARDS)]

    def _keep(self) -> set[str] | None:
        if not self._asked and self._live is not None:
            self._asked = True
            self._live_ids = self._live()
        return self._live_ids

    def usable(self, keys: Sequence) -> bool:
        if keys is self.keys or keys is self._also:
            return True
        if _publics(keys) == _publics(self.keys):
            self._also = keys  # the same identity, loaded again
            return True
        return False

    def get(self, blob: str, case_id: str) -> Any:
        if self._one:
            return self.lookup(blob, case_id)
        return self.shard(record_shard(case_id)).get(blob)

    @contextmanager
    def one_shard(self) -> Iterator[None]:
        """While it lasts, `get` holds no other shard loaded than the case's (as `lookup`); after it, the shards
        held are let go but those with changes to save. For a reader of many cases' records in the shards' order
        (`context.CaseStream.read_each`): it holds one shard, not every shard it read."""
        self._one = True
        try:
            yield
        finally:
            self._one = False
            self._held = None
            for name in [name for name, table in self.shards.items() if not table.changed]:
                del self.shards[name]

    def lookup(self, blob: str, case_id: str) -> Any:
        """`get`, holding no other shard loaded than this case's: the shard used before is let go
        unless it has changes to save. A fill's worker reads its cases shard by shard, so its
        memory is one shard, not the table."""
        name = record_shard(case_id)
        if name != self._held:
            before = self.shards.get(self._held) if self._held is not None else None
            if before is not None and not before.changed:
                del self.shards[self._held]
            self._held = name
        return self.shard(name).get(blob)

    def has(self, blob: str, case_id: str) -> bool:
        return blob in self.shard(record_shard(case_id)).load().entries

    def put(self, blob: str, loaded: Any, case_id: str) -> None:
        if plain_json(loaded):
            self.shard(record_shard(case_id)).set(blob, loaded)

    @property
    def changed(self) -> bool:
        return any(shard.changed for shard in self.shards.values())

    def save(self) -> None:
        for shard in self.shards.values():
            shard.save()
        if self._live_ids is not None:  # a shard was merged: the others read so far are pruned too
            for shard in self.shards.values():
                if shard.loaded and not self._live_ids.issuperset(shard.entries):
                    shard.stale = True
                    shard.save()


def _drop_blob_shards(folder: Path) -> None:
    """Remove the record table of earlier versions, in 16 shards by the first digit of the blob
    id (`records/0` to `records/f`): nothing reads it (the shards are by case now). Those
    versions made a shard's folder only when a record went into it, and a removal may have been
    cut short: any of the 16 found is removed, and nothing else."""
    try:
        with os.scandir(folder) as entries:
            old = [e.name for e in entries if len(e.name) == 1 and e.name in _BLOB_DIGITS and e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for digit in old:
        shutil.rmtree(folder / digit, ignore_errors=True)


_BLOB_DIGITS = "0123456789abcdef"


class SummaryCache:
    def __init__(self, root: Path, worker: str, recipient: str, keys: Sequence, fingerprint: str,
                 live_blobs: Callable[[], set[str] | None] | None = None,
                 changes: Callable[[], DiskChanges] | None = None):
        """`fingerprint` names the code that folds a case (the service's `fold_fingerprint`): a
        summary or index made by other code is not used, so a change to the fold can never leave
        stale summaries behind, same version or not. The record table does not depend on it.
        `live_blobs()`: the blob ids of the record files in the last commit, for pruning the
        record table (RecordCache). `changes()`: what changed on disk, as the store asks it for
        the command (`CaseStore.disk_changes`); by default the cache's own."""
        self.root = root
        self.folder = worker_folder(root, worker)
        self.legacy = root / CACHE_DIR / f"{worker}.age"  # the one-file cache of earlier versions
        self.recipient = recipient
        self.keys = keys
        self.fingerprint = fingerprint
        self.summary = Table(self.folder / "summary", recipient, keys, fingerprint)
        self.index = Table(self.folder / "index", recipient, keys, fingerprint)
        self.records = RecordCache(self.folder / "records", recipient, keys, live_blobs)
        if changes is None:
            own = DiskChanges(root)
            changes = lambda: own  # noqa: E731
        self._changes_of = changes

    @property
    def dirty(self) -> set[str]:
        """The cases changed on disk since the last commit (`git status`: a look at every file,
        so asked only when a summary is read or an entry stored, not for an index entry, which
        describes the last commit)."""
        return self._changes_of().every()

    @dirty.setter
    def dirty(self, found: set[str]) -> None:
        """The same cases as found by the caller in this command (`dirty_cases`): git is not asked again."""
        self._changes_of().set_every(found)

    def dirty_among(self, names: Iterable[str]) -> set[str]:
        """The cases of `names` changed on disk (`DiskChanges.among`: a few asked of their own files)."""
        return self._changes_of().among(names)

    def proven(self, case_ids: Iterable[str]) -> None:
        """`DiskChanges.proven`."""
        self._changes_of().proven(case_ids)

    def differs(self, case_id: str) -> bool:
        """Whether the case changed on disk: as asked by name before, else with every case (`dirty`)."""
        return case_id in self._changes_of()

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        return self.summary.load().entries

    @property
    def changed(self) -> bool:
        return self.summary.changed or self.index.changed or self.records.changed

    def get(self, case_id: str, tree: str | None) -> dict[str, Any] | None:
        """The cached entry ({"tree", "case"}) when it was made from exactly this tree."""
        if tree is None or self.differs(case_id):
            return None
        entry = self.summary.get(case_id)
        if entry is not None and entry.get("tree") == tree:
            return entry
        return None

    def get_index(self, case_id: str, tree: str | None) -> dict[str, Any] | None:
        """The index entry ({"tree", "index"}) when it was made from exactly this tree, without
        reading the summaries. It describes the case as last committed, even when its files
        were changed on disk since (`list` and `verify` report those)."""
        if tree is None:
            return None
        entry = self.index.get(case_id)
        if entry is not None and entry.get("tree") == tree:
            return entry
        return None

    def put(self, case_id: str, tree: str | None, case: dict | None, index: dict | None = None) -> None:
        """Store a case's folded state (None: the worker does not read it) and, when given or
        when the case is not readable, its index entry."""
        if tree is None or self.differs(case_id):
            return
        self.summary.set(case_id, {"tree": tree, "case": case})
        if index is not None or case is None:
            self.put_index(case_id, tree, index)

    def append(self, case_id: str, tree: str | None, case: dict | None, index: dict | None) -> None:
        """`put` of a case whose entries are out of date (its tree changed, or it had none), without reading either
        table (`Table.add`): for a command that read the summaries a segment at a time (`context.CaseStream`)."""
        if tree is None or self.differs(case_id):
            return
        self.summary.add(case_id, {"tree": tree, "case": case})
        self.index.add(case_id, {"tree": tree, "index": index})

    def put_index(self, case_id: str, tree: str | None, index: dict | None) -> None:
        if tree is None or self.differs(case_id):
            return
        current = self.index.get(case_id)
        if current is None or current.get("tree") != tree or current.get("index") != index:
            self.index.set(case_id, {"tree": tree, "index": index})

    def prune(self, case_ids: set[str]) -> None:
        """Forget the cases not in `case_ids` (in the tables read so far)."""
        for table in (self.summary, self.index):
            if table.loaded:
                for gone in set(table.entries) - case_ids:
                    table.delete(gone)

    def save(self) -> None:
        self.summary.save()
        self.index.save()
        self.records.save()
        try:
            os.unlink(self.legacy)
        except OSError:
            pass


def derived_table(root: Path, worker: str, name: str, recipient: str, keys: Sequence, tag: str,
                  keep: Callable[[], set[str] | None] | None = None) -> Table:
    """A table of values made from each case (the service's due and statistics rows, by case
    id), in the worker's cache folder next to the summaries and encrypted like them. `tag` names
    everything the values depend on besides the case's tree (which each entry carries): a table
    of another tag is not read, and is replaced at its next save."""
    return Table(worker_folder(root, worker) / name, recipient, keys, tag, keep)


def worker_folder(root: Path, worker: str) -> Path:
    """The worker's cache folder (`.cpcm/cache/<worker>`, mode 0700), once it is seen that no one
    else can have put files in it: its entries are encrypted to the worker's public key, which
    anyone may use, so a folder another user can write to could hold entries made up to hide a
    case or a deadline from `list` and `due`. What the user owns is put right (`_made_private`);
    refused (`cache-not-yours`) when the folder is a symbolic link or another user's, or when
    `.cpcm/cache` is another user's and not sticky. A few system calls, each time a command (or
    the agent) opens the cache."""
    folder = root / CACHE_DIR / worker
    problem = _untrusted(folder.parent, whole=False) or _untrusted(folder, whole=True)
    if problem:
        from cpcm.errors import Refused

        raise Refused(f"the cache folder {problem}: cpcm does not use what it holds",
                      "Remove that folder (the cache is made again from the records) and run the command again, as "
                      "the user who works with this copy; where several users share the copy, make .cpcm/cache "
                      "sticky (chmod 1777 .cpcm/cache), as /tmp is, or give each user their own copy.",
                      rule="cache-not-yours")
    return folder


def forget_worker(root: Path, worker: str) -> str:
    """Delete a worker's cache on this computer (`.cpcm/cache/<worker>/`, and the one-file cache
    of earlier versions), as their removal from the team asks: it holds what the records hold
    (names, dates of birth, histories), encrypted to a key that no longer belongs to the team, and
    is made again from the records by whoever may read them. Returns "deleted", "none" (there was
    none here) or "left" (it could not be deleted: another user's folder, say)."""
    folder, legacy = root / CACHE_DIR / worker, root / CACHE_DIR / f"{worker}.age"
    found = False
    try:
        for path in (folder, legacy):
            if path.is_symlink() or path.is_file():
                found = True
                path.unlink()
            elif path.is_dir():
                found = True
                shutil.rmtree(path)
    except OSError:
        return "left"
    return "deleted" if found else "none"


def _untrusted(path: Path, whole: bool) -> str | None:
    """Why another user may have put files in `path` ("PATH is ..."; None: they cannot). `whole`:
    the worker's own folder; else the folder holding it, where another user must not be able to
    put another folder in its place."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # no user ids here (Windows): the folder's access list is the system's
        return None
    try:
        seen = os.lstat(path)
    except FileNotFoundError:
        if whole:
            try:
                os.makedirs(path, mode=0o700, exist_ok=True)
            except OSError:
                return None  # a copy this user cannot write to: no cache is kept (the callers' concern)
        return None
    if stat.S_ISLNK(seen.st_mode):
        return f"{path} is a symbolic link"
    if seen.st_uid == getuid():
        _made_private(path, seen, whole)
        return None
    if whole:
        return f"{path} belongs to another user"
    if seen.st_uid != 0 and not seen.st_mode & stat.S_ISVTX:
        return f"{path} belongs to another user, who could put another folder in the place of yours"
    return None


def _made_private(path: Path, seen: os.stat_result, whole: bool) -> None:
    """A folder of the user's that others may write to (others', or a group's that is not the
    user's own) made safe: the worker's folder emptied (what is in it may be made up; it is made
    again from the records) and made 0700; `.cpcm/cache` made sticky, so that others keep their own
    folders in it but cannot move the user's. The worker's folder open to the user's own group only
    (a umask of 002, as earlier versions left it) is made 0700 and kept. Nothing is done where the
    file system keeps no modes (a change of mode does not hold)."""
    open_to_others = seen.st_mode & 0o002 or (seen.st_mode & 0o020 and seen.st_gid != os.getgid())
    if not whole:
        if open_to_others and not seen.st_mode & stat.S_ISVTX:
            os.chmod(path, stat.S_IMODE(seen.st_mode) | stat.S_ISVTX)
        return
    if not seen.st_mode & 0o077:
        return
    os.chmod(path, 0o700)
    if open_to_others and not os.lstat(path).st_mode & 0o077:  # the mode held: others could write there
        shutil.rmtree(path)
        os.mkdir(path, 0o700)


_SCAN = json.JSONDecoder().raw_decode
_WHITE = " \t\n\r"


def newest_entries(table: Table, names: Sequence[str] | None = None) -> Iterator[tuple[str, Any]]:
    """(key, value) of every key the table holds, as `Table.load` would give it, read one segment
    at a time, newest first, and within a segment one entry at a time: memory is one segment's
    text and one value, not a segment's entries (a merged segment holds a whole table). A key
    deleted in a newer segment is not given. `names`: only these segments (of `table.segments()`).
    A segment that cannot be read, or of other code, marks the table `stale`, as `stream` does.
    Within a segment each key is given once, at its first place (`Table.save` and `Appender`
    write each key once)."""
    seen: set[str] = set()
    head = _head(table.tag) + b'"entries":{'
    for name in reversed(table.segments() if names is None else list(names)):
        try:
            raw = (table.folder / name).read_bytes()
        except OSError:
            continue  # merged away by another command meanwhile: its entries are in the merged one
        try:
            plain = cipher.decrypt(raw, table.keys)
        except (ValueError, cipher.NotARecipient, cipher.Damaged):
            table.stale = True
            continue
        del raw
        if not plain.startswith(head):
            data = _parsed(plain, table.tag)  # of other code (or written otherwise): read whole, as `_segment` does
            if data is None:
                table.stale = True
                continue
            found: Iterable[tuple[str, Any]] = (data.get("entries") or {}).items()
        else:
            try:
                found = _entries_of(plain.decode("utf-8"), len(head))
            except UnicodeDecodeError:
                table.stale = True
                continue
        del plain
        try:
            for key, value in found:
                if key in seen:
                    continue
                seen.add(key)
                if value is not None:
                    yield key, value
        except (ValueError, IndexError):
            table.stale = True  # not JSON after all: what it gave stands, as any cache miss would
        data = found = None


def _parsed(plain: bytes, tag: str) -> dict | None:
    """A segment's decrypted text parsed whole when it is of this version and `tag`."""
    if not plain.startswith(_head(tag)):
        return None  # of another version or tag (or not JSON): not read further
    try:
        data = json.loads(plain)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION or data.get("tag") != tag:
        return None
    return data


def _entries_of(text: str, pos: int) -> Iterator[tuple[str, Any]]:
    """The entries of a segment's JSON text from `pos` (just after `"entries":{`), one at a time."""
    end = len(text)
    while pos < end and text[pos] in _WHITE:
        pos += 1
    if pos < end and text[pos] == "}":
        return
    while pos < end:
        key, pos = _SCAN(text, pos)
        while text[pos] in _WHITE:
            pos += 1
        if text[pos] != ":" or not isinstance(key, str):
            raise ValueError("not a table segment")
        pos += 1
        while text[pos] in _WHITE:
            pos += 1
        value, pos = _SCAN(text, pos)
        yield key, value
        while text[pos] in _WHITE:
            pos += 1
        if text[pos] == "}":
            return
        if text[pos] != ",":
            raise ValueError("not a table segment")
        pos += 1
        while text[pos] in _WHITE:
            pos += 1
