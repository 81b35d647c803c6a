"""CaseStore: read a case's records, write new ones in a transaction that ends in one commit.

A transaction holds the repository lock, makes the write generation odd (store/lock.py), notes
in `.cpcm/pending.json` that a write is under way (verb and worker id only), writes files
atomically and commits them, then removes the note and makes the generation even. If a command
dies half-way, the next command that finds the lock free rolls back whatever it left
(the uncommitted files it made in cpcm's own folders, temp files, git's `index.lock`; a file a
person put there is left alone), so a write is
either one whole commit or nothing.

Readers never take the lock and never wait. What a reader sees (docs/case-format.md, "Locking"):
the working tree when no write is under way, which is then exactly the last commit; and, when a
write is under way or one changed files while it read (the generation is odd or moved), the
last commit, read from git's objects, pinned for the rest of the command (`one_command`); in a
session that runs many operations (a script using cpcm.service), until a write starts or ends
again. Every file is written atomically, so a reader never sees half a record either way.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from cpcm.crypto import cipher
from cpcm.domain.records import Record, plain, record_damage
from cpcm.errors import LINE_ENDINGS_HINT, CannotDecrypt, Corrupt, NotWritable, restore_hint, unstage_hint
from cpcm.store import atomic, codec, emit, memo
from cpcm.store.cache import DiskChanges, RecordCache, SummaryCache, record_shard
from cpcm.store.contract import read_each
from cpcm.store.faults import crash_point
from cpcm.store.git import INDEX_LOCK, Background, Commit, Git, GitError, blob_id, in_chunks
from cpcm.store.layout import (readers_from, rekey_from, restricted_from, CASES, CONFIG, CPCM_DIR, PENDING, POLICY, RECIPIENTS, RECORD_FILE, SERVICES, SUPERVISION, COMPLAINTS, CONFIDENTIAL, TEAM, LOCK,
                               TMP_PREFIX, CONFERENCES, case_rel, current_rel, folder_rel, named_as, readers_hint, record_name, shard,
                               split_rel)
from cpcm.store.lock import RepoLock, generation
from cpcm.store.snapshot import Snapshot

MANAGED = (CASES, CONFERENCES, SUPERVISION, COMPLAINTS, CONFIDENTIAL, TEAM, SERVICES, CONFIG, POLICY, f"{CPCM_DIR}/forms", ".gitignore", ".gitattributes")

T = TypeVar("T")
DURABLE_EACH = 8  # files of a transaction fsynced one by one; the rest of a batch is flushed at once before its commit


def _read_all(path: Path | str) -> bytes:
    """A file's bytes, with open, read and close alone (a cold fill reads tens of thousands of
    small files: `Path.read_bytes` adds a stat, a terminal check and two seeks to each)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, 1 << 16)
        if data:
            pieces = [data]
            while piece := os.read(fd, 1 << 16):
                pieces.append(piece)
            if len(pieces) > 1:
                data = b"".join(pieces)
        return data
    finally:
        os.close(fd)


def _one_name(name: str) -> bool:
    """`name` joined to a path with "/" gives the same text as pathlib's `path / name` (one
    component that pathlib keeps as it is)."""
    return "/" not in name and name != "." and name != ""


def _plain_folder(folder: str) -> bool:
    """Every part of `folder` (a `folder_rel`: a case's has the ID's two characters after "CP-" too, which an odd
    ID can make "." or "") is `_one_name`: the text of the path is the one pathlib makes of it."""
    return all(_one_name(part) for part in folder.split("/"))


class CaseStore:
    """The store of a casefile repository: age-encrypted record files in git (the contract it
    honours is store/contract.py)."""

    def __init__(self, root: Path):
        self.root = root
        self.git = Git(root)
        self.view: Snapshot | None = None  # the pinned last commit, while another cpcm writes
        self._pinned_at = 0  # the write generation when it was pinned
        # the store serves one command (the command line opens one per command, the agent too): a pin lasts for the
        # rest of it, so everything the command reads after is of one commit. Otherwise (a script's session, which runs
        # many operations) a pin lasts while the generation stays where it was: a later read once that write has ended
        # (or another started) reads the repository as it is then, not the commit pinned, which is stale by then
        self.one_command = False
        self.recovery_error: GitError | None = None
        # files a recovery found changed or new in cpcm's folders and not named as cpcm names the files
        # the interrupted write makes: left as they are (a person's), and named to the user (`recover`)
        self.left_in_place: list[str] = []
        self._writing = False  # inside this process's own transaction: read the working tree
        self._held: RepoLock | None = None  # the lock `locked()` holds; transactions inside reuse it
        self.record_cache: RecordCache | None = None  # records as parsed, by blob id (set by `summaries`)
        self._steady = False  # inside `read_steady`: the working tree, the generation checked around the whole
        self._as_committed: frozenset[str] = frozenset()  # case folders read from the last commit (`read_as_committed`)
        self._committed: Snapshot | None = None  # the last commit, for them
        self._changes: DiskChanges | None = None  # `disk_changes`: made again by each write of this process
        self.noted: dict[str, dict[str, str]] | None = None  # `noting`: blob ids of the files read, by case folder

    # -- opening -------------------------------------------------------------------------
    def open_for_read(self) -> None:
        """Make the repository readable without waiting: if a cpcm write was interrupted (its
        note is left, or the generation is odd) and no cpcm holds the lock, roll it back now;
        if a cpcm command is writing (it holds the lock), read the last commit instead."""
        lock_path = self.root / LOCK
        if not (self.root / PENDING).exists() and generation(lock_path) % 2 == 0:
            return
        lock = RepoLock(lock_path)
        try:
            acquired = lock.try_acquire()
        except NotWritable:  # a read-only repository: nothing can be rolled back; the last commit is read
            acquired = False
        if not acquired:
            self.pin()  # a live writer: neither wait nor touch its files
            return
        try:
            lock.begin_write()
            recover(self)
            lock.end_write()
        except (GitError, OSError) as exc:
            # left odd: every reader reads the last commit; writers stop with this message
            self.recovery_error = exc if isinstance(exc, GitError) else GitError(f"cannot roll back an interrupted write: {exc}")
            self.pin()
        finally:
            lock.release()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the repository lock (waiting for it as a writer does) across the reads that
        decide a write and the transactions that make it; a transaction inside reuses the lock.
        Reads inside see the working tree, which is then the last commit (a write another cpcm
        left half-done is rolled back first) but for files changed by hand, which a
        `read_as_committed` block reads from the commit. Nested: the outer one holds the lock."""
        if self._held is not None:
            yield
            return
        lock = RepoLock(self.root / LOCK)
        lock.__enter__()
        try:
            _remove_own_ref_locks(self.root)  # a killed git's, as the lock now proves (a joining sync fetches here)
            if (self.root / PENDING).exists() or generation(self.root / LOCK) % 2:
                lock.begin_write()
                recover(self)  # raises when it cannot: the generation stays odd, the next command retries
                lock.end_write()
            self.recovery_error = None
            self.unpin()
            self._held = lock
            yield
        finally:
            self._held = None
            lock.release()

    def generation(self) -> int:
        """The write generation (store/lock.py): it moves whenever a write starts or ends."""
        return generation(self.root / LOCK)

    @contextmanager
    def noting(self) -> Iterator[dict[str, dict[str, str]]]:
        """The blob id of each file of a case folder read from the working tree meanwhile (its record files as
        `read_many` reads them, its `recipients` file), by case: the folder's tree id made of them
        (`git.tree_id`) equal to the last commit's proves that what was read is the commit's, without asking git
        (a fill: `fill.read_chunk`)."""
        held, self.noted = self.noted, {}
        try:
            yield self.noted
        finally:
            self.noted = held

    def disk_changes(self) -> DiskChanges:
        """The case folders changed on disk since the last commit, asked as this command needs them
        (`cache.DiskChanges`): one for the store, so that what the summary
        cache and the due and statistics tables ask is asked of git once (at 100,000 cases of a dozen
        files each, `git status` reads an index of 350 MB). A write of this process (`Transaction`) starts
        a new one: what it commits, or a recovery rolls back, is then asked again; so does each reading of
        the cache (`summaries`) in a session of many operations (not `one_command`), whose files may be
        changed between them. Asked for every case a fill stores: no file is read here."""
        if self._changes is None:
            self._changes = DiskChanges(self.root)
        return self._changes

    def pin(self) -> None:
        """Read the last commit (from git's objects) for the rest of this command (see `one_command`)."""
        if self.view is not None:
            return
        self._pinned_at = generation(self.root / LOCK)
        self.view = Snapshot(self.git, self.git.head())
        if self.view.commit:
            self.git.rev = self.view.commit

    def unpin(self) -> None:
        self.view = None
        self.git.rev = "HEAD"

    def _let_stale_pin_go(self) -> None:
        """In a session of many operations (not `one_command`): unpin when a write started or
        ended since the pin (the generation moved), so the operation reading now sees the
        commits made since, not the one pinned for an earlier read (the pin is taken again if a
        write is still under way)."""
        if self.view is not None and not self.one_command and generation(self.root / LOCK) != self._pinned_at:
            self.unpin()

    @contextmanager
    def read_as_committed(self, case_ids: Iterable[str]) -> Iterator[None]:
        """Inside the block, read these case folders (changed on disk since the last commit) as
        the last commit holds them, from git's objects; the others as before. `case_ids()` lists
        such a folder the commit holds and the disk does not (deleted by hand) too. For what
        describes the last commit (the views of list, due and report statistics, and a write's
        duplicate and caseload checks, under the lock before its transaction); not inside a
        transaction, whose own files are the state. It ends with the block: a later read sees the folder (restored, committed) as it
        is then, and the commit read is the one HEAD names then. Nested blocks add to the outer one's."""
        outer, committed = self._as_committed, self._committed
        self._as_committed = outer | frozenset(case_ids)
        try:
            yield
        finally:
            self._as_committed, self._committed = outer, committed

    def _last_commit(self) -> Snapshot:
        """The last commit, for the folders `read_as_committed` names (the pinned one when pinned)."""
        if self.view is not None:
            return self.view
        if self._committed is None:
            self._committed = Snapshot(self.git, self.git.head())
        return self._committed

    def _read(self, live: Callable[[], T], committed: Callable[[Snapshot], T], case: str | None = None) -> T:
        """`live()` from the working tree when no write is under way before or during it (the
        generation is even and unchanged); otherwise `committed(snapshot)` of the last commit.
        `case`: the case folder read, which `read_as_committed` may name. In a session of many
        operations (not `one_command`), a commit pinned before a write started or ended since is
        stale: it is let go, and this read is made as the first was."""
        self._let_stale_pin_go()
        if case is not None and case in self._as_committed and not self._writing:
            return committed(self._last_commit())
        if self._writing or self._held is not None or self._steady:
            # this process's own write, or holding the lock: the working tree is the state;
            # or inside `read_steady`, which checks the generation once around all its reads
            return live()
        if self.view is None:
            lock_path = self.root / LOCK
            before = generation(lock_path)
            if before % 2 == 0:
                try:
                    result = live()
                except (Corrupt, CannotDecrypt, OSError):
                    if generation(lock_path) == before:
                        raise
                else:
                    if generation(lock_path) == before:
                        return result
            self.pin()
        assert self.view is not None
        return committed(self.view)

    def read_steady(self, reads: Callable[[], T], basis: int) -> tuple[T | None, bool]:
        """`reads()` (many reads: a chunk of cases in a cold fill) from the working tree, with
        the write generation read once before and once after all of them instead of around each
        read: (its result, True) when the generation was `basis` (even: no write under way)
        before and after, so no write started or ended meanwhile and every read saw the last
        commit's files. Otherwise (None, False), and nothing `reads()` returned is to be used:
        the caller reads again the usual way (each read checked, the last commit when a write
        moved the generation). Not steady either when the last commit is pinned already, or
        inside this process's own write or lock (the usual way reads the working tree then).
        An exception from `reads()` is raised when the generation held, and swallowed (the
        caller reads again) when it moved."""
        if (basis % 2 or self.view is not None or self._writing or self._held is not None or self._steady
                or self.generation() != basis):
            return None, False
        self._steady = True
        try:
            result = reads()
        except (Corrupt, CannotDecrypt, OSError):
            if self.generation() == basis:
                raise
            return None, False
        finally:
            self._steady = False
        if self.generation() != basis:
            return None, False
        return result, True

    # -- reading -------------------------------------------------------------------------
    def case_ids(self, top: str = CASES) -> list[str]:
        """The case folders (or, with top=conferences, the conference folders)."""
        def live() -> list[str]:
            folder = self.root / top
            if not folder.is_dir():
                return []
            if top != CASES:
                return sorted(entry.name for entry in os.scandir(folder) if entry.is_dir() and not entry.name.startswith("."))
            found = []
            for level in os.scandir(folder):  # cases/XX/ID (store/layout.py)
                if level.is_dir() and not level.name.startswith("."):
                    found.extend(entry.name for entry in os.scandir(level.path)
                                 if shard(entry.name) == level.name and entry.is_dir() and not entry.name.startswith("."))
            return sorted(found)

        def committed(view: Snapshot) -> list[str]:
            if top != CASES:
                return [n for n in view.subfolders(top) if not n.startswith(".")]
            return sorted(n for level in view.subfolders(top) if not level.startswith(".")
                          for n in view.subfolders(f"{top}/{level}") if shard(n) == level and not n.startswith("."))
        names = self._read(live, committed)
        if top == CASES and self._as_committed.difference(names) and not self._writing:
            # a folder read as committed and deleted on disk: listed as the commit holds it
            names = sorted({*names, *(case_id for case_id in self._as_committed
                                      if self._last_commit().is_folder(case_rel(case_id)))})
        return names

    def exists(self, case_id: str) -> bool:
        rel = f"{case_rel(case_id)}/{RECIPIENTS}"
        return self._read(lambda: (self.root / rel).is_file(), lambda view: view.is_file(rel), case_id)

    def recipients(self, case_id: str, folder: str = CASES) -> list[str]:
        """Worker ids who may read the case (the plaintext `recipients` file); `folder`:
        CONFERENCES for a conference."""
        return readers_from(self._recipients_text(case_id, folder))

    def recipients_lines(self, case_id: str) -> tuple[list[str], bool, list[str]]:
        """The readers of a case's `recipients` file, whether it says the case is restricted to the managers (its
        `# restricted` line, `layout.restricted_from`), and the workers its `# rekey:` lines name (`layout.rekey_from`),
        from one read of the file: what a fill asks of every case it reads."""
        text = self._recipients_text(case_id, CASES)
        return readers_from(text), restricted_from(text), rekey_from(text)

    def recipients_rekey(self, folder_id: str, top: str) -> tuple[list[str], list[str]]:
        """`recipients` of a folder (a complaint's, a strictly confidential entry's), and the workers its file says
        its records are still encrypted to an earlier key of (its `# rekey:` lines, `layout.rekey_from`), from one
        read of the file."""
        text = self._recipients_text(folder_id, top)
        return readers_from(text), rekey_from(text)

    def _recipients_text(self, case_id: str, folder: str) -> str:
        place = folder_rel(folder, case_id)
        rel = f"{place}/{RECIPIENTS}"

        # as text when it is the same path (pathlib's joins cost more than the read, case after case)
        on_disk = f"{self.root}/{rel}" if _plain_folder(place) else self.root / rel

        def live() -> str:
            try:
                data = _read_all(on_disk)
            except FileNotFoundError:
                return ""
            if self.noted is not None and folder == CASES:
                self.noted.setdefault(case_id, {})[RECIPIENTS] = blob_id(data)
            return data.decode("utf-8")

        def committed(view: Snapshot) -> str:
            return view.read(rel).decode("utf-8", "replace") if view.is_file(rel) else ""
        return self._read(live, committed, case_id if folder == CASES else None)

    def record_files(self, case_id: str, top: str = CASES) -> list[Path]:
        return self._read(lambda: self._files_live(case_id, top), lambda view: self._files_committed(view, case_id, top),
                          case_id if top == CASES else None)

    def edited_by_hand(self, case_id: str, top: str = CASES) -> list[str]:
        """The files of a case's folder that the last commit holds and the working tree has
        deleted or changed since (its record files and its `recipients` file), repository-relative;
        none while reading the commit. Files added by hand are not looked at."""
        if self.view is not None:
            return []
        folder = folder_rel(top, case_id)
        expected = {f"{folder}/{name}": blob for name, blob in self.git.file_ids(folder).items()
                    if RECORD_FILE.match(name) or name == RECIPIENTS}
        return self.git.edited(expected) if expected else []

    def line_endings_only(self, rels: Sequence[str]) -> bool:
        """Whether each file of `rels` differs from the last commit only in its line endings (`Git.converted`): a
        copy whose git converts them, not an edit by hand."""
        expected = {rel: self.git.file_ids(rel.rpartition("/")[0]).get(rel.rpartition("/")[2]) for rel in rels}
        return bool(rels) and len(self.git.converted(expected)) == len(expected)

    def settings_edited(self) -> list[str]:
        """`.cpcm/team.yaml` and `.cpcm/config.yaml` when the working tree's differs from the last
        commit's (edited by hand, outside a commit): whom records are encrypted to comes from them."""
        committed = self.git.file_ids(CPCM_DIR)
        expected = {rel: committed[rel.rsplit("/", 1)[1]] for rel in (TEAM, CONFIG) if rel.rsplit("/", 1)[1] in committed}
        return self.git.edited(expected) if expected else []

    def _files_live(self, case_id: str, top: str) -> list[Path]:
        folder = self.root / folder_rel(top, case_id)
        return [folder / name for name in _record_names(folder)]

    def _places_live(self, case_id: str, top: str) -> list[tuple[str, str, str, os.PathLike | str]]:
        """The record files of a case in the working tree, in order, as (path in the repository,
        file name, name of its folder, path on disk): what `_files_live` lists, in text when that
        is the same path (a cold fill opens tens of thousands of files: pathlib's joins cost more
        than the reads)."""
        folder = folder_rel(top, case_id)
        if not _plain_folder(folder):
            return [(self.rel(path), path.name, path.parent.name, path) for path in self._files_live(case_id, top)]
        on_disk = f"{self.root}/{folder}"
        return [(f"{folder}/{name}", name, case_id, f"{on_disk}/{name}") for name in _record_names(on_disk)]

    def _files_committed(self, view: Snapshot, case_id: str, top: str) -> list[Path]:
        folder = folder_rel(top, case_id)
        return [self.root / folder / name for name in view.names(folder) if RECORD_FILE.match(name)]

    def read_bytes(self, path: Path) -> bytes:
        """A file's bytes as readers see them (the last commit while another cpcm writes)."""
        rel = self.rel(path)
        return self._read(path.read_bytes, lambda view: view.read(rel), _case_of(rel))

    def read_file(self, path: Path, keys: Sequence) -> Record:
        return self.read_raw(path, keys)[0]

    def read_raw(self, path: Path, keys: Sequence) -> tuple[Record, bytes]:
        """A record file decrypted and checked, with its plaintext bytes exactly as stored (what a
        transfer bundle carries)."""
        rel = self.rel(path)
        try:
            data = self._read(path.read_bytes, lambda view: view.read(rel), _case_of(rel))
        except OSError as exc:
            raise Corrupt(f"cannot read {rel}: {exc.strerror or 'not in the last commit'}", rel) from None
        return self._decode_raw(rel, path.name, path.parent.name, data, keys)

    # A record file is named to these by its path in the repository (`rel`, as messages name it),
    # its file name and the name of the folder it is in (the case's id, which the record must hold).
    def _decode(self, rel: str, name: str, folder: str, data: bytes, keys: Sequence,
                readers: frozenset[str] | None = None) -> Record:
        known, blob = self._known(rel, name, folder, data, keys, readers)
        if known is not None:
            return known
        return self._fresh(rel, name, folder, blob, self._parse(rel, self._decrypt(rel, data, keys)))

    def _known(self, rel: str, name: str, folder: str, data: bytes, keys: Sequence,
               readers: frozenset[str] | None) -> tuple[Record | None, str]:
        """(the record, when the record table or this process's memo gives it without decrypting it
        here, or when there is no record table to fill; its blob id)."""
        cache = self.record_cache
        blob = blob_id(data)
        if readers is None:
            readers = _readers(keys)
        if cache is None or not cache.usable(keys) or memo.RECORDS.get((blob, readers)) is not None:
            return self._decode_raw(rel, name, folder, data, keys, blob, readers)[0], blob
        loaded = cache.get(blob, folder)
        return (None if loaded is None else self._checked(rel, name, folder, loaded)), blob

    def _fresh(self, rel: str, name: str, folder: str, blob: str, loaded) -> Record:
        """The record of a file decrypted and parsed afresh, its parsed form given to the record table."""
        cache = self.record_cache
        record, value = self._record(rel, name, folder, loaded, own=True)
        # only a record that read whole is kept; the record holds the lists and mappings of `value`,
        # so a cache that keeps what it is given gets its own copy
        cache.put(blob, plain(value) if getattr(cache, "keeps_values", True) else value, folder)
        return record

    def _decode_raw(self, rel: str, name: str, folder: str, data: bytes, keys: Sequence, blob: str | None = None,
                    readers: frozenset[str] | None = None) -> tuple[Record, bytes]:
        key = (blob or blob_id(data), _readers(keys) if readers is None else readers)
        known = memo.RECORDS.get(key)  # decrypted and parsed before in this process, by these keys
        if known is None:
            plaintext = self._decrypt(rel, data, keys)
            known = plaintext, self._parse(rel, plaintext)
        record = self._checked(rel, name, folder, known[1])  # a new Record (and body) each time
        memo.RECORDS.put(key, known)  # only a record that read whole is kept
        return record, known[0]

    def _decrypt(self, rel: str, data: bytes, keys: Sequence) -> bytes:
        try:
            return cipher.decrypt(data, keys)
        except cipher.NotARecipient:
            raise CannotDecrypt(
                f"{rel} is not encrypted to your key",
                readers_hint(rel),
                record_file=rel,
            ) from None
        except cipher.Damaged as exc:  # what age says of a file it cannot decrypt (no plaintext was made)
            raise Corrupt(f"{rel} is damaged or truncated ({exc})", rel, restore_hint(rel)) from None

    def _parse(self, rel: str, plaintext: bytes):
        """The record file's YAML as `plain` makes it, a document of its own (`codec.loads_plain`)."""
        try:
            return codec.loads_plain(plaintext)
        except codec.BadYaml:  # the parser's words may quote the plaintext: the file and the damage only
            raise Corrupt(f"{rel} decrypts but is not a valid record (it is not YAML cpcm reads)", rel) from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise _not_a_record(rel, exc) from None

    def _checked(self, rel: str, name: str, folder: str, loaded) -> Record:
        """The record a file's parsed YAML holds, checked against the file's name."""
        return self._record(rel, name, folder, loaded)[0]

    def _record(self, rel: str, name: str, folder: str, loaded, own: bool = False) -> tuple[Record, object]:
        """`_checked`, with `plain(loaded)`, which the record's body shares (`Record.from_plain`);
        `own`: `loaded` is what `_parse` gave and nothing else holds: it is that already."""
        try:
            value = loaded if own else plain(loaded)
            record = Record.from_plain(value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _not_a_record(rel, exc) from None
        if not named_as(name, folder, record):
            raise Corrupt(f"{rel} holds a record whose id, kind or case does not match its file name", rel)
        return record, value

    def read_records(self, case_id: str, keys: Sequence, top: str = CASES) -> list[Record]:
        """A case's records, all from one state: the working tree with no write under way, or
        the last commit."""
        def live() -> list[Record]:
            records = []
            readers = None
            for rel, name, folder, on_disk in self._places_live(case_id, top):
                try:
                    data = _read_all(on_disk)
                except OSError as exc:
                    raise Corrupt(f"cannot read {rel}: {exc.strerror}", rel) from None
                if readers is None:
                    readers = _readers(keys)
                records.append(self._decode(rel, name, folder, data, keys, readers))
            return records

        def committed(view: Snapshot) -> list[Record]:
            paths = self._files_committed(view, case_id, top)
            found = view.read_many(self.rel(p) for p in paths)
            return [self._decode(self.rel(p), p.name, p.parent.name, found[self.rel(p)], keys) for p in paths]
        return self._read(live, committed, case_id if top == CASES else None)

    def read_many(self, case_ids: Sequence[str], keys: Sequence, top: str = CASES) -> dict[str, list[Record]]:
        """The records of many cases (a cold fill's chunk), read as `read_records` reads each, all from
        one state, and each step done for all of them before the next (list, read, decrypt, parse,
        make the records): a step's code stays warm in the processor's caches (`fill.read_chunk`).
        A case that cannot be read this way is left out: `read_records` of it raises why (a case
        read as committed too: `read_records` reads it so)."""
        case_ids = [case_id for case_id in dict.fromkeys(case_ids) if top != CASES or case_id not in self._as_committed]

        def live() -> dict[str, list[Record]]:
            failed: set[str] = set()
            places = []  # (case id, path in the repository, file name, folder name, the file's bytes)
            for case_id in case_ids:
                for rel, name, folder, on_disk in self._places_live(case_id, top):
                    try:
                        places.append((case_id, rel, name, folder, _read_all(on_disk)))
                    except OSError:
                        failed.add(case_id)
            readers = _readers(keys)
            known: list[tuple[Record | None, str]] = []  # by place: (the record the table or memo gives, blob id)
            for case_id, rel, name, folder, data in places:
                record, blob = None, ""
                if case_id not in failed:
                    try:
                        record, blob = self._known(rel, name, folder, data, keys, readers)
                    except (Corrupt, CannotDecrypt):
                        failed.add(case_id)
                known.append((record, blob))
            if self.noted is not None and top == CASES:
                for (case_id, _, name, _, _), (_, blob) in zip(places, known):
                    if blob:
                        self.noted.setdefault(case_id, {})[name] = blob
            fresh = {}  # by place: each file no table or memo gives decrypted, then each of them parsed
            for at, (record, _) in enumerate(known):
                case_id, rel, _, _, data = places[at]
                if record is None and case_id not in failed:
                    try:
                        fresh[at] = self._decrypt(rel, data, keys)
                    except (Corrupt, CannotDecrypt):
                        failed.add(case_id)
            for at, plaintext in fresh.items():
                case_id, rel = places[at][:2]
                if case_id not in failed:
                    try:
                        fresh[at] = self._parse(rel, plaintext)
                    except Corrupt:
                        failed.add(case_id)
            read: dict[str, list[Record]] = {case_id: [] for case_id in case_ids}
            for at, (case_id, rel, name, folder, _) in enumerate(places):
                if case_id not in failed:
                    record, blob = known[at]
                    try:
                        read[case_id].append(self._fresh(rel, name, folder, blob, fresh[at]) if record is None else record)
                    except Corrupt:
                        failed.add(case_id)
            return {case_id: records for case_id, records in read.items() if case_id not in failed}

        return self._read(live, lambda view: read_each(self, case_ids, keys, top))

    def read_records_raw(self, case_id: str, keys: Sequence, top: str = CASES) -> list[tuple[Record, bytes]]:
        """Every record of a case with its plaintext bytes as stored, each read once."""
        return [self.read_raw(path, keys) for path in self.record_files(case_id, top)]

    def has_file(self, rel: str) -> bool:
        """Whether the repository holds the file `rel` (repository-relative), as readers see it."""
        return self._read(lambda: (self.root / rel).is_file(), lambda view: view.is_file(rel))

    def read_plain(self, rel: str) -> bytes | None:
        """A plain shared file's bytes as stored (`.cpcm/services.yaml`), as readers see it;
        None when there is none. Not for a record file (its bytes are ciphertext: `read_raw`)."""
        if RECORD_FILE.match(Path(rel).name):
            raise ValueError(f"{rel} is a record file, not a plain file")

        def live() -> bytes | None:
            path = self.root / rel
            return path.read_bytes() if path.is_file() else None
        return self._read(live, lambda view: view.read(rel) if view.is_file(rel) else None)

    def is_committed(self, rel: str) -> bool:
        return not self.git.edited({rel: self._head_blob(rel)})

    def read_committed(self, rel: str) -> bytes | None:
        """`rel` as the last commit has it; None when it holds none."""
        blob = self._head_blob(rel)
        return self.git.run(["cat-file", "blob", blob]).encode("utf-8") if blob else None

    def restorable(self, rel: str) -> bool:
        """Whether the last commit holds a copy of `rel` that the working tree's file differs from
        (changed, truncated or deleted on disk since): `git checkout HEAD -- rel` brings it back."""
        blob = self._head_blob(rel)
        return blob is not None and bool(self.git.edited({rel: blob}))

    def committed(self, rel: str) -> bool:
        """Whether the last commit holds `rel` at all (a file added by hand is not)."""
        return self._head_blob(rel) is not None

    def good_copy(self, rel: str, keys: Sequence) -> str | None:
        """Where the last commit holds the record file `rel` damaged (as the working tree does: not
        `restorable`): the newest earlier commit whose copy of it reads (`keys` open it, and it holds
        its own record), found as `cpcm verify` reads a record's versions in history (`audit.read_blobs`);
        None when git holds no good copy (it was committed that way): `git checkout SHA -- rel`."""
        from cpcm.store.audit import read_blobs

        head = self._head_blob(rel)
        if head is None or not RECORD_FILE.match(rel.rsplit("/", 1)[-1]):
            return None
        out = self.git.run(["log", "--format=%H", "--raw", "--no-abbrev", "--no-renames", "HEAD", "--", rel])
        versions, sha = [], None  # (the commit that wrote a version, its blob), newest first
        for line in out.splitlines():
            if line.startswith(":"):
                blob = line.split("\t", 1)[0].split()[3]
                if sha and blob != head and blob.strip("0"):
                    versions.append((sha, blob))
            elif line.strip():
                sha = line.strip()
        blobs = read_blobs(self.root, [blob for _, blob in versions])
        folder, name = rel.rsplit("/", 2)[-2:]
        for sha, blob in versions:
            try:
                self._decode_raw(rel, name, folder, blobs.get(blob, b""), keys, blob)
            except (Corrupt, CannotDecrypt):
                continue
            return sha
        return None

    def _head_blob(self, rel: str) -> str | None:
        try:
            return self.git.run(["rev-parse", "--verify", "-q", f"HEAD:{rel}"]).strip() or None
        except GitError:  # no such file in the last commit, or no commit yet
            return None

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    # -- history -------------------------------------------------------------------------
    def versions(self, top: str = CASES) -> dict[str, str]:
        """Each folder under `top` with its git tree id at the commit readers read."""
        self._let_stale_pin_go()
        return self.git.tree_ids(top)

    def summaries(self, worker: str, recipient: str, keys: Sequence, fingerprint: str) -> SummaryCache:
        """The worker's cache; from here on this store reads the records it decrypts with `keys`
        through the cache's record table (by blob id: no decryption, no YAML for a file seen before)."""
        if not self.one_command:
            self._changes = None  # another operation of a session: the disk is asked again (`disk_changes`)
        cache = SummaryCache(self.root, worker, recipient, keys, fingerprint, self.live_blobs, self.disk_changes)
        self.record_cache = cache.records
        return cache

    def live_blobs(self) -> set[str] | None:
        """The blob id of every file under cases/ and conferences/ in the commit readers read
        (one `git ls-tree`); None when git cannot say (no commit yet)."""
        try:
            out = self.git.run(["ls-tree", "-r", "-z", self.git.rev, "--", CASES, CONFERENCES, SUPERVISION, COMPLAINTS, CONFIDENTIAL])
        except GitError:
            return None
        blobs = set()
        for entry in out.split("\0"):
            meta = entry.partition("\t")[0].split(" ")
            if len(meta) == 3 and meta[1] == "blob":
                blobs.add(meta[2])
        return blobs

    def prefetch(self, case_ids: Iterable[str], keys: Sequence, progress: Callable[[int, int], None] | None = None) -> int:
        """Load the record table's shards of `case_ids`, and decrypt and parse on every core the
        records of those cases it lacks (a cold table: the first use, a new identity), so that
        reading them next costs no decryption and no YAML. Returns how many were parsed. The files are found by their blob
        ids in the commit readers read (one `git ls-tree`, no file read for a record the table
        holds); a file changed on disk since is left to the read of its case, as is anything that
        cannot be read (the read reports it). `progress(done, total)` is called as they come in."""
        from cpcm.store import parallel

        cache = self.record_cache
        if cache is None or not cache.usable(keys):
            return 0
        wanted = set(case_ids)
        listing = Background(self.git.run, ["ls-tree", "-r", "-z", self.git.rev, "--", CASES])
        for part in {record_shard(case_id) for case_id in wanted}:  # the cases' shards loaded while git lists the files
            cache.shard(part).load()
        try:
            out = listing.result()
        except GitError:
            return 0
        missing: dict[str, str] = {}
        for entry in out.split("\0"):
            meta, _, rel = entry.partition("\t")
            parts = split_rel(rel)
            fields = meta.split(" ")
            if parts and parts[1] in wanted and len(fields) == 3 and RECORD_FILE.match(parts[2]) \
                    and not cache.has(fields[2], parts[1]):
                missing.setdefault(fields[2], rel)
        if len(missing) < parallel.WORTH_IT:
            return 0

        def live() -> dict[str, bytes]:
            found = {}
            for rel in missing.values():
                try:
                    found[rel] = (self.root / rel).read_bytes()
                except OSError:
                    continue
            return found
        found = self._read(live, lambda view: view.read_many(missing.values()))
        todo = [(blob, found[rel]) for blob, rel in missing.items() if rel in found and blob_id(found[rel]) == blob]
        for blob, loaded in parallel.parse_all(todo, keys, progress):
            cache.put(blob, loaded, missing[blob].split("/")[2])  # cases/XX/ID/name
        return len(todo)

    def log(self, paths: Sequence[str] = (), added_only: bool = False, limit: int | None = None) -> list[Commit]:
        return self.git.log(paths, added_only, limit)

    # -- writing -------------------------------------------------------------------------
    def transaction(self, verb: str, worker: str, author: str, email: str) -> "Transaction":
        return Transaction(self, verb, worker, author, email)

    def seal(self, record: Record, recipients: Iterable[str]) -> bytes:
        """The bytes `Transaction.write_sealed` writes for `record`, readable by `recipients`:
        made outside the transaction, in any process (a batch seals its records on every core)."""
        return seal(record, recipients)


SPREAD_FROM = 200  # records of a batch from which they are encrypted on every core
SPREAD_CHUNK = 100


def seal(record: Record, recipients: Iterable[str]) -> bytes:
    """A record file's bytes: the record as YAML (`emit.dumps`: the same text as `codec.dumps`),
    encrypted with age to `recipients`."""
    return cipher.encrypt(emit.dumps(record.to_dict()), recipients)


def _seal_chunk(chunk: list[tuple[int, tuple[Record, list[str]]]]) -> list[tuple[int, bytes]]:
    """Records as `write_record` writes them (YAML, then age to the recipients), by position."""
    return [(n, seal(record, recipients)) for n, (record, recipients) in chunk]


SAVED: list[str] = []  # the commits this process's transactions made, newest last (an error after one says so: cli.main)


class Transaction:
    def __init__(self, store: CaseStore, verb: str, worker: str, author: str, email: str):
        self.store = store
        self.verb = verb
        self.worker = worker
        self.author = author
        self.email = email
        # the files this transaction changes, each noted before it is written or removed: what `__exit__` rolls back
        # before it removes the note (pending.json), after which no later command would. A file noted after it was
        # written would stay uncommitted for good when stopped between the two (Ctrl-C, or an error once it is in
        # place: its folder's fsync); one noted and not written yet is nothing to roll back
        self.written: list[str] = []
        self.recovered: dict | None = None
        self._own_lock = store._held is None  # inside `store.locked()` the lock is already held
        self._lock = RepoLock(store.root / LOCK) if self._own_lock else store._held
        self._committed = False
        self._head: str | None = None
        self._unflushed = False  # files written without their own fsync (a batch), flushed before the commit

    def __enter__(self) -> "Transaction":
        if self._own_lock:
            self._lock.__enter__()
        try:
            self._lock.begin_write()  # from here readers read the last commit
            self.store.unpin()
            self.store._writing = True
            self.store._changes = None  # `disk_changes`: asked again after this write
            self.recovered = recover(self.store)
            self._head = self.store.git.head()  # what the branch named before: `__exit__` tells whether it moved
            if (self.store.root / INDEX_LOCK).exists():
                # not a killed cpcm's (that one is gone with its note): some git command is or was running
                self._lock.end_write()  # nothing was written
                raise self.store.git.index_locked("commit")
            crash_point("journal-write")
            atomic.write(self.store.root / PENDING, json.dumps({"verb": self.verb, "worker": self.worker}).encode())
            crash_point("journal-written")
        except BaseException:
            self.store._writing = False
            if self._own_lock:
                self._lock.release()  # the generation stays odd when recovery failed: the next command retries
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None and not self._committed:
                self._moved()
            if exc_type is not None or not self._committed:
                rollback(self.store, self.written)
            _remove(self.store.root / PENDING)
            crash_point("journal-removed")
            self._lock.end_write()
        finally:
            self.store._writing = False
            self.store._changes = None
            if self._own_lock:
                self._lock.release()

    def _moved(self) -> None:
        """Stopped (Ctrl-C, an error) once the branch had moved to the new commit, before this knew it (git's
        `update-ref` done, say): the commit stands, and is counted as made (`SAVED`: the message says so). Its
        files are the commit's, which the rollback that follows restores them to."""
        try:
            head = self.store.git.head()
        except BaseException:  # noqa: BLE001 - unknown: as before, not counted
            return
        if head is not None and head != self._head:
            self._committed = True
            SAVED.append(head)

    def write_record(self, record: Record, recipients: Iterable[str], top: str = CASES) -> str:
        """Encrypt and write one new record file under `top` (cases/, or conferences/ for a
        conference's records); never overwrites."""
        return self._write_sealed(record, seal(record, recipients), top)

    def write_sealed(self, record: Record, sealed: bytes, top: str = CASES) -> str:
        """Write one new record file whose bytes `CaseStore.seal` made (in a worker process, say);
        never overwrites."""
        return self._write_sealed(record, sealed, top)

    def _write_sealed(self, record: Record, data: bytes, top: str) -> str:
        rel = f"{folder_rel(top, record.case)}/{record_name(record.id, record.kind)}"
        durable = self._durable_each()
        self.written.append(rel)  # noted before it is written (`self.written`)
        try:
            atomic.write(self.store.root / rel, data, exclusive=True, durable=durable)
        except FileExistsError:
            self.written.remove(rel)  # another's file, left as it is: a record is never overwritten, nor rolled back
            raise
        return rel

    def write_records(self, items: Sequence[tuple[Record, Iterable[str]]], top: str = CASES) -> list[str]:
        """`write_record` for each (record, recipients) of a batch, in order; from `SPREAD_FROM`
        records on, written as YAML and encrypted on every core (store/parallel.py), then
        written to disk here."""
        from cpcm.store import parallel

        items = [(record, list(recipients)) for record, recipients in items]
        if len(items) < SPREAD_FROM:
            return [self.write_record(record, recipients, top) for record, recipients in items]
        numbered = list(enumerate(items))
        sealed: dict[int, bytes] = {}
        for done in parallel.run_chunks(_seal_chunk, [numbered[n:n + SPREAD_CHUNK] for n in range(0, len(items), SPREAD_CHUNK)]):
            sealed.update(done)
        return [self._write_sealed(record, sealed[n], top) for n, (record, _) in numbered]

    def _durable_each(self) -> bool:
        """Each of the first few files of a transaction is made durable as it is written; past
        them (a batch) they are flushed together before the commit (atomic.py)."""
        if len(self.written) < DURABLE_EACH:
            return True
        self._unflushed = True
        return False

    def reencrypt(self, path: Path, keys: Sequence, recipients: Iterable[str]) -> str:
        """Encrypt the record file at `path` (read with `keys`) again, to `recipients` only."""
        plaintext = cipher.decrypt(path.read_bytes(), keys)
        return self.replace_file(self.store.rel(path), cipher.encrypt(plaintext, recipients))

    def reencrypt_records(self, paths: Iterable[Path], keys: Sequence, recipients: Iterable[str]) -> list[str]:
        """`reencrypt` of each record file at `paths`, every one read before any is written: one that
        `keys` do not open (cipher.NotARecipient) stops it with nothing written; one that is not a whole
        age file (cipher.Damaged: no key opens it) is left as it is, and its name returned."""
        opened, damaged = [], []
        for path in paths:
            try:
                opened.append((path, cipher.decrypt(path.read_bytes(), keys)))
            except cipher.Damaged:
                damaged.append(self.store.rel(path))
        recipients = list(recipients)
        for path, plaintext in opened:
            self.replace_file(self.store.rel(path), cipher.encrypt(plaintext, recipients))
        return damaged

    def replace_file(self, rel: str, data: bytes) -> str:
        durable = self._durable_each()
        self.written.append(rel)  # noted before it is written (`self.written`)
        atomic.write(self.store.root / rel, data, durable=durable)
        return rel

    def delete_file(self, rel: str) -> str:
        self.written.append(rel)  # noted before it is removed (`self.written`)
        _remove(self.store.root / rel)
        return rel

    def commit(self, message: str) -> str:
        if not self._unflushed:
            sha = self.store.git.commit(self.written, message, self.author, self.email)
        else:
            # a batch: its files are flushed to disk while git stages them (the flush waits on the disk,
            # git on the processor), and the branch moves only once the flush is done
            flush = Background(atomic.flush_file_system, self.store.root)

            def flushed() -> None:
                flush.result()
                crash_point("batch-flushed")
            try:
                sha = self.store.git.commit(self.written, message, self.author, self.email, ready=flushed)
            finally:
                flush.join()
        self._committed = True
        SAVED.append(sha)
        return sha

    def move_to(self, commit: str) -> None:
        """Make `commit` (a sync's merge, built as git objects, a descendant of HEAD) the last
        commit: the index and working tree first (the files that differ only: store/remote.py
        `check_out`), then the branch, in one step (`update-ref` with the old value). Killed or
        failing before the branch moves, the transaction rolls the files back to the old commit;
        after, it is done."""
        from cpcm.store import remote

        git = self.store.git
        old = git.head()
        if old is None:
            raise GitError("sync needs a repository with at least one commit")
        changed = remote.changed_files(git, old, commit)
        dirty = git.edited({path: change.old.blob if change.old else None for path, change in changed.items()})
        from cpcm.store.audit import shown_path, typed_paths  # a name cpcm does not make may be a child's

        if dirty and len(git.converted({path: changed[path].old.blob for path in dirty if changed[path].old})) == len(dirty):
            raise GitError(f"{len(dirty)} file(s) the sync would update differ from the last commit only in their line "
                           f"endings (first: {shown_path(dirty[0], 'git status')}); nothing was changed", LINE_ENDINGS_HINT)
        if dirty:  # an edit by hand: never overwritten, and never rolled back over
            held = typed_paths([path for path in dirty if changed[path].old is not None])
            # not in the last commit: nothing to restore
            added = typed_paths([path for path in dirty if changed[path].old is None])
            # never "commit it by hand": the other copies refuse an unsigned commit (docs/team.md)
            steps = [restore_hint(held, " (to keep an edit, copy the file elsewhere first and make the change again "
                                        "through cpcm after the sync: a commit made by hand is refused by the other "
                                        "copies)")] if held else []
            if added:
                steps.append(f"{'move' if held else 'Move'} {' '.join(added)} out of the repository (not in the last "
                             "commit; the sync brings its own)")
            raise GitError(f"{len(dirty)} file(s) the sync would update differ from the last commit (first: "
                           f"{shown_path(dirty[0], 'git status')}); nothing was changed", "; ".join(steps) + "; then sync again")
        staged = remote.staged_by_hand(git, old, changed)
        if staged:  # kept as the person staged it: refused before anything is written (a rollback would unstage it)
            raise GitError(f"{len(staged)} file(s) the sync would update are staged by hand (git add or git rm; first: "
                           f"{shown_path(staged[0], 'git status')}); nothing was changed",
                           unstage_hint(typed_paths(staged), "sync again"))
        self.written.extend(changed)
        crash_point("sync-checkout")
        remote.check_out(git, old, commit, changed)
        crash_point("sync-checked-out")
        git.run(["update-ref", "-m", "cpcm sync", "HEAD", commit, old])
        crash_point("sync-moved")  # the branch moved, not yet counted (a stop point for the tests: `_moved`)
        self._committed = True
        SAVED.append(commit)


_PUBLIC = memo.Bounded(16)  # id(identity) -> (the identity, kept so that its id stays its own; its public key)


def _case_of(rel: str) -> str | None:
    """The case folder of a path under cases/ (`read_as_committed` names them), else None."""
    parts = split_rel(rel)
    return parts[1] if parts and parts[0] == CASES else None


def _not_a_record(rel: str, exc: Exception) -> Corrupt:
    """A file that decrypts to YAML that is no record (a header key missing or of the wrong kind).
    The exception's text is not shown (`int()` of a value quotes it): a missing header key is named."""
    return Corrupt(f"{rel} decrypts but is not a valid record ({record_damage(exc)})", rel)


def _record_names(folder: os.PathLike | str) -> list[str]:
    """The names of the record files in `folder`, in order; none when there is no such folder."""
    try:
        names = os.listdir(folder)  # names only: no entry object made for each (a cold fill lists every case folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    match = RECORD_FILE.match
    found = [name for name in names if match(name)]
    found.sort()
    return found


def _readers(keys: Sequence) -> frozenset[str]:
    """The public keys of the identities a record is decrypted with: part of its memo key."""
    found = []
    for key in keys:
        known = _PUBLIC.get(id(key))
        if known is None or known[0] is not key:
            known = key, str(key.to_public())
            _PUBLIC.put(id(key), known)
        found.append(known[1])
    return frozenset(found)


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def rollback(store: CaseStore, paths: Sequence[str]) -> None:
    """Undo uncommitted changes to `paths`: untracked files go, tracked ones are restored."""
    if not paths:
        return
    git = store.git
    # the new files go before git writes its index again: a write that stopped on a full disk needs the room
    # they take for that (git reset on a full disk fails too, and would leave them all there)
    if git.head() is None:
        for rel in paths:
            atomic.remove_file(store.root, rel, keep_top=True)
        for chunk in in_chunks(paths):  # staged by the first commit, which did not happen
            git.run(["rm", "-q", "--cached", "--ignore-unmatch", "-r", "--", *chunk])
        return
    # in the last commit (not merely in the index: a write killed after `git add` staged its new files)
    tracked = set()
    for chunk in in_chunks(paths):
        tracked |= set(git.run(["ls-tree", "-r", "-z", "--name-only", "HEAD", "--", *chunk]).split("\0")) - {""}
    for rel in paths:
        if rel not in tracked:
            atomic.remove_file(store.root, rel, keep_top=True)
    for chunk in in_chunks(paths):
        git.run(["reset", "-q", "--", *chunk])
    restore = [rel for rel in paths if rel in tracked]
    for chunk in in_chunks(restore):
        git.run(["checkout", "-q", "HEAD", "--", *chunk])


# the plain files a write may make at the top or in .cpcm/ whatever its verb; an agency's policy and
# forms files are also put there by hand (then committed by `cpcm policy set` and `cpcm form set`)
_SETTINGS_FILES = {TEAM, CONFIG, SERVICES, ".gitignore", ".gitattributes", f"{CASES}/.keep"}
_PUT_BY = {POLICY: ("policy-set", "sync"), f"{CPCM_DIR}/forms": ("form-set", "sync")}  # a sync brings the other copy's


def written_by_cpcm(rel: str, verb: str) -> bool:
    """Whether a file that differs from the last commit (new, changed or deleted) is one an
    interrupted write of `verb` (from its note) writes, by its name: a temp file (`.tmp-…`), a
    record file or a `recipients` file of a case or conference folder, a settings file cpcm
    writes; the agency's policy and form files only for the command that puts them in place (or a
    sync, which brings the other copy's), since people also put them there or edit them by hand
    before committing them with that command. Anything else is a person's: not cpcm's to remove
    or to restore."""
    parts = rel.split("/")
    name = parts[-1]
    if name.startswith(TMP_PREFIX):
        return True
    if split_rel(current_rel(rel)):  # a write of an earlier release, in format 1, killed before the upgrade too
        return name == RECIPIENTS or RECORD_FILE.match(name) is not None
    if rel in _SETTINGS_FILES:
        return True
    if rel in _PUT_BY:
        return verb in _PUT_BY[rel]
    if len(parts) == 3 and f"{parts[0]}/{parts[1]}" in _PUT_BY and name.endswith(".yaml"):
        return verb in _PUT_BY[f"{parts[0]}/{parts[1]}"]
    return False


def _scan(folder: str) -> list[os.DirEntry]:
    try:
        return list(os.scandir(folder))
    except OSError:
        return []


def _remove_strays(root: Path) -> None:
    """Temp files an interrupted write left in cpcm's own folder (the note's) and at the top."""
    for folder in (root / CPCM_DIR, root):
        atomic.remove_strays(folder)


def _remove_own_ref_locks(root: Path) -> None:
    """The `.lock` files of cpcm's own refs (`refs/cpcm/*`: what a sync fetched, an import's trees)
    that a killed git left: git takes one while it sets such a ref (`update-ref`, `fetch`,
    `fast-import`), and killed with cpcm (`timeout -s KILL`, a laptop switched off) leaves it, after
    which every git command setting that ref fails. No git but cpcm's sets those refs, and cpcm only
    while it holds the repository lock: called under that lock, a `.lock` among them is a killed
    one's, whether or not a write note was left (a sync fetches before its transaction too)."""
    for ref_lock in (root / ".git" / "refs" / "cpcm").rglob("*.lock"):
        _remove(ref_lock)


def _remove_empty_folders(root: Path) -> None:
    """Case and conference folders an interrupted write made and left empty (killed between
    making a new case's folder and writing its first file, or while a recovery was removing
    them): git keeps no empty folder, so nothing would remove them, and verify would report
    each one as a folder without recipients. Only empty folders go (rmdir)."""
    for top in (CASES, CONFERENCES, SUPERVISION, COMPLAINTS, CONFIDENTIAL):
        try:
            entries = list(os.scandir(root / top))
        except OSError:
            continue
        if top == CASES:  # cases/XX/ID: the case folders of each second-level folder, then it if left empty
            entries = [case for level in entries if level.is_dir(follow_symlinks=False)
                       for case in _scan(level.path)] + entries
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                try:
                    os.rmdir(entry.path)
                except OSError:
                    pass  # not empty: a case


def recover(store: CaseStore) -> dict | None:
    """Roll back what an interrupted cpcm write left behind; None when there was none.

    Call only while holding the repository lock. The lock is what proves that no cpcm writer is
    alive. cpcm is the only program that writes a casefile repository, and it runs git commands
    that take `.git/index.lock` (add, write-tree, reset, checkout) only while holding that lock;
    its read-only git commands run with GIT_OPTIONAL_LOCKS=0 and take no lock. So an
    `index.lock` found here, with the write note left, is a killed cpcm's, and is removed; so is
    a branch's `.lock` (from `git update-ref`, the last step of a commit). A `.lock` of cpcm's own
    refs is removed with or without the note (`_remove_own_ref_locks`).
    (Whether some other git process is using the repository cannot be known in general; a
    person running git by hand in a casefile repository while cpcm writes is outside this.)
    Only the files a cpcm write makes are removed or restored (`written_by_cpcm`, by their
    names): a file a person put in a case folder, or a policy file edited by hand, is left as it
    is, listed in the note (`left_in_place`) and in `store.left_in_place` (the command names it;
    `cpcm verify` reports it as uncommitted-change or config-uncommitted).
    """
    _remove_strays(store.root)
    _remove_own_ref_locks(store.root)  # before the note's sync drops its fetched ref, which the lock would stop
    pending = store.root / PENDING
    if not pending.exists():
        return None
    try:
        note = json.loads(pending.read_text())
    except (OSError, ValueError):
        note = {}
    if not isinstance(note, dict):
        note = {}
    index_lock = store.root / INDEX_LOCK
    if index_lock.exists():
        _remove(index_lock)
        note["index_lock_removed"] = True
    for ref_lock in (store.root / ".git" / "HEAD.lock", *(store.root / ".git" / "refs" / "heads").glob("*.lock")):
        _remove(ref_lock)  # a killed `git update-ref`'s, like the index.lock above
    paths = [p for p in MANAGED if (store.root / p).exists()]
    left = []
    if paths and store.git.head() is not None:
        out = store.git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--", *paths])
        entries = [e for e in out.split("\0") if e]
        left = [e[3:] for e in entries]
        kept = [p for p in left if not written_by_cpcm(p, str(note.get("verb") or ""))]
        if kept:
            left = [p for p in left if p not in kept]
            store.left_in_place = sorted(set(store.left_in_place) | set(kept))
            note["left_in_place"] = kept
    stray_tmp = [p for p in left if Path(p).name.startswith(TMP_PREFIX)]
    for rel in stray_tmp:
        atomic.remove_file(store.root, rel, keep_top=True)
    rollback(store, [p for p in left if p not in stray_tmp])
    _remove_empty_folders(store.root)
    if note.get("verb") == "sync":  # what a killed sync fetched is dropped with its merge (store/remote.py)
        from cpcm.store import remote

        remote.drop_ref(store.git, remote.INCOMING)
        _remove(store.root / ".git" / remote.MERGE_INDEX)
    _remove(pending)
    crash_point("recovered")
    note["rolled_back"] = len(left)
    return note
