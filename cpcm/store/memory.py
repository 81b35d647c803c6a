"""A case store in memory: the store contract (store/contract.py) without files, git or age.

Records are kept as data, with the plaintext the real store would encrypt and the age
recipients they were written to; reading one needs a key of one of them, as with age. The history
is a list of commits, one per transaction. Nothing is written anywhere, so the service layer can
be tested in a fraction of the time the real store takes; `tests/test_store_contract.py` holds
both stores to the same contract.
"""
from __future__ import annotations

import copy
import hashlib
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from cpcm.domain.records import Record
from cpcm.errors import Busy, CannotDecrypt, Corrupt
from cpcm.store import codec
from cpcm.store.contract import read_each
from cpcm.store.git import Commit, GitError
from cpcm.store.layout import (CASES, RECIPIENTS, RECORD_FILE, case_rel, folder_rel, split_rel, readers_hint, readers_from, named_as,
                               record_name, rekey_from, restricted_from)

# Not a folder on disk: a path of this store that leaked to code reading files fails loudly.
ROOT = PurePosixPath("/cpcm-memory-store")


class Sealed:
    """A record file: the record's data and the age recipients it is readable by. Its plaintext,
    the YAML text the real store encrypts, is made when first asked for: most reads need only
    the record, and making the text is most of what writing a record costs."""

    def __init__(self, data: Mapping[str, Any], recipients: Iterable[str], plaintext: bytes | None = None):
        readers = frozenset(recipients)
        if not readers:
            raise ValueError("no recipients to encrypt to")
        self.recipients = readers
        self.source = copy.deepcopy(dict(data))  # as written; Record.from_dict reads it as from the YAML text
        self._plaintext = plaintext

    @property
    def plaintext(self) -> bytes:
        if self._plaintext is None:
            self._plaintext = codec.dumps(self.source)
        return self._plaintext


def recipients_of(keys: Sequence) -> set[str]:
    """The age recipients (public keys) of identities."""
    return {str(key.to_public()) for key in keys}


class MemoryStore:
    def __init__(self, now: Callable[[], datetime] | None = None):
        self.root = ROOT
        self.files: dict[str, bytes | Sealed] = {}
        self.commits: list[Commit] = []  # oldest first
        self._added: list[frozenset[str]] = []  # per commit: the files it added
        self._caches: dict[str, dict[str, dict[str, Any]]] = {}
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._tx: MemoryTransaction | None = None
        self._generation = 0  # odd while a transaction is open
        self._held = 0  # depth of `locked()`

    # -- reading -------------------------------------------------------------------------
    def _view(self) -> dict[str, bytes | Sealed]:
        """What readers see: the last commit, and inside this store's own transaction what it
        has written so far (as the real store reads its working tree while it writes)."""
        if self._tx is None:
            return self.files
        view = dict(self.files)
        for rel, entry in self._tx.staged.items():
            if entry is None:
                view.pop(rel, None)
            else:
                view[rel] = entry
        return view

    def case_ids(self, top: str = CASES) -> list[str]:
        names = {parts[1] for parts in map(split_rel, self._view()) if parts and parts[0] == top}
        return sorted(n for n in names if not n.startswith("."))

    def exists(self, case_id: str) -> bool:
        return f"{case_rel(case_id)}/{RECIPIENTS}" in self._view()

    def recipients(self, case_id: str, folder: str = CASES) -> list[str]:
        return self._recipients(case_id, folder)[0]

    def recipients_lines(self, case_id: str) -> tuple[list[str], bool, list[str]]:
        entry = self._view().get(f"{case_rel(case_id)}/{RECIPIENTS}")
        text = entry.decode("utf-8", "replace") if isinstance(entry, bytes) else ""
        return readers_from(text), restricted_from(text), rekey_from(text)

    def recipients_rekey(self, folder_id: str, top: str) -> tuple[list[str], list[str]]:
        entry = self._view().get(f"{folder_rel(top, folder_id)}/{RECIPIENTS}")
        text = entry.decode("utf-8", "replace") if isinstance(entry, bytes) else ""
        return readers_from(text), rekey_from(text)

    def _recipients(self, case_id: str, folder: str) -> tuple[list[str], bool]:
        entry = self._view().get(f"{folder_rel(folder, case_id)}/{RECIPIENTS}")
        text = entry.decode("utf-8", "replace") if isinstance(entry, bytes) else ""
        return readers_from(text), restricted_from(text)

    def record_files(self, case_id: str, top: str = CASES) -> list[PurePosixPath]:
        folder = folder_rel(top, case_id)
        prefix = f"{folder}/"
        names = sorted(rel[len(prefix):] for rel in self._view() if rel.startswith(prefix))
        return [ROOT / folder / name for name in names if "/" not in name and RECORD_FILE.match(name)]

    def rel(self, path) -> str:
        try:
            return str(PurePosixPath(path).relative_to(ROOT))
        except ValueError:
            return str(path)

    def read_bytes(self, path) -> bytes:
        """A file's bytes; a record file's plaintext (no ciphertext is kept here)."""
        entry = self._view().get(self.rel(path))
        if entry is None:
            raise FileNotFoundError(self.rel(path))
        return entry.plaintext if isinstance(entry, Sealed) else entry

    def _unseal(self, path, keys: Sequence) -> tuple[Record, Sealed]:
        rel = self.rel(path)
        entry = self._view().get(rel)
        if not isinstance(entry, Sealed):
            raise Corrupt(f"cannot read {rel}: not in the last commit", rel)
        if not entry.recipients & recipients_of(keys):
            raise CannotDecrypt(
                f"{rel} is not encrypted to your key",
                readers_hint(rel),
                record_file=rel,
            )
        record = Record.from_dict(copy.deepcopy(entry.source))
        name = PurePosixPath(rel)
        if not named_as(name.name, name.parent.name, record):
            raise Corrupt(f"{rel} holds a record whose id, kind or case does not match its file name", rel)
        return record, entry

    def read_raw(self, path, keys: Sequence) -> tuple[Record, bytes]:
        record, entry = self._unseal(path, keys)
        return record, entry.plaintext

    def read_file(self, path, keys: Sequence) -> Record:
        return self._unseal(path, keys)[0]

    def read_records(self, case_id: str, keys: Sequence, top: str = CASES) -> list[Record]:
        return [self._unseal(path, keys)[0] for path in self.record_files(case_id, top)]

    def read_many(self, case_ids: Sequence[str], keys: Sequence, top: str = CASES) -> dict[str, list[Record]]:
        return read_each(self, case_ids, keys, top)

    def read_records_raw(self, case_id: str, keys: Sequence, top: str = CASES) -> list[tuple[Record, bytes]]:
        return [self.read_raw(path, keys) for path in self.record_files(case_id, top)]

    def has_file(self, rel: str) -> bool:
        return rel in self._view()

    def read_plain(self, rel: str) -> bytes | None:
        """A plain file's bytes as written (`replace_file`); None when there is none."""
        if RECORD_FILE.match(PurePosixPath(rel).name):
            raise ValueError(f"{rel} is a record file, not a plain file")
        entry = self._view().get(rel)
        return entry if isinstance(entry, bytes) else None

    def is_committed(self, rel: str) -> bool:
        return True  # each write here is its commit: nothing is put in place by hand

    def read_committed(self, rel: str) -> bytes | None:
        return self.read_plain(rel)  # each write here is its commit

    def restorable(self, rel: str) -> bool:
        return False  # nothing here is changed by hand

    def committed(self, rel: str) -> bool:
        return True  # every file here is written by a commit

    def good_copy(self, rel: str, keys: Sequence) -> str | None:
        return None  # nothing here is committed damaged

    def edited_by_hand(self, case_id: str, top: str = CASES) -> list[str]:
        return []

    def settings_edited(self) -> list[str]:
        return []

    def line_endings_only(self, rels: Sequence[str]) -> bool:
        return False  # nothing here is written by git

    # -- history ---------------------------------------------------------------------------
    def versions(self, top: str = CASES) -> dict[str, str]:
        """Each folder under `top` with the id of the last commit that changed it."""
        found: dict[str, str] = {}
        for commit in self.commits:
            for rel in commit.files:
                parts = split_rel(rel)
                if parts and parts[0] == top:
                    found[parts[1]] = commit.sha
        return {name: sha for name, sha in found.items() if name in self.case_ids(top)}

    def log(self, paths: Sequence[str] = (), added_only: bool = False, limit: int | None = None) -> list[Commit]:
        def wanted(rel: str) -> bool:
            return not paths or any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in paths)

        out = []
        for commit, added in zip(reversed(self.commits), reversed(self._added)):
            files = tuple(f for f in commit.files if wanted(f) and (not added_only or f in added))
            if files:
                out.append(Commit(commit.sha, commit.author, commit.email, commit.date, commit.message, files))
        return out[:limit] if limit else out

    def prefetch(self, case_ids, keys: Sequence, progress=None) -> int:
        return 0  # the records are in memory already

    def summaries(self, worker: str, recipient: str, keys: Sequence, fingerprint: str) -> "MemorySummaries":
        return MemorySummaries(self._caches.setdefault(f"{worker} {fingerprint}", {}))

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def locked(self) -> Iterator[None]:
        """One process holds a store in memory: the lock is a depth count, so a transaction
        inside knows it runs under it."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    def generation(self) -> int:
        return self._generation

    def seal(self, record: Record, recipients: Iterable[str]) -> Sealed:
        return Sealed(record.to_dict(), recipients)

    def transaction(self, verb: str, worker: str, author: str, email: str) -> "MemoryTransaction":
        return MemoryTransaction(self, verb, worker, author, email)

    def _commit(self, staged: dict[str, bytes | Sealed | None], message: str, author: str, email: str) -> str:
        added = frozenset(rel for rel, entry in staged.items() if entry is not None and rel not in self.files)
        for rel, entry in staged.items():
            if entry is None:
                self.files.pop(rel, None)
            else:
                self.files[rel] = entry
        parent = self.commits[-1].sha if self.commits else ""
        sha = hashlib.sha1(f"{parent}\n{message}\n{author}\n{len(self.commits)}".encode()).hexdigest()
        date = self._now().isoformat(timespec="seconds")
        self.commits.append(Commit(sha, author, email, date, message, tuple(sorted(staged))))
        self._added.append(added)
        return sha


class MemoryTransaction:
    def __init__(self, store: MemoryStore, verb: str, worker: str, author: str, email: str):
        self.store = store
        self.verb = verb
        self.worker = worker
        self.author = author
        self.email = email
        self.written: list[str] = []
        self.staged: dict[str, bytes | Sealed | None] = {}
        self._committed = False

    def __enter__(self) -> "MemoryTransaction":
        if self.store._tx is not None:
            raise Busy("the casefile repository is busy: another transaction is open",
                       "Wait for it to finish and try again.")
        self.store._tx = self
        self.store._generation += 1
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.store._tx = None
        self.store._generation += 1
        self.staged = {}  # committed or not, nothing more comes from this transaction

    def _stage(self, rel: str, entry: bytes | Sealed | None) -> str:
        if self.store._tx is not self:
            raise RuntimeError("write outside the transaction")
        self.staged[rel] = entry
        self.written.append(rel)
        return rel

    def write_record(self, record: Record, recipients: Iterable[str], top: str = CASES) -> str:
        rel = f"{folder_rel(top, record.case)}/{record_name(record.id, record.kind)}"
        sealed = Sealed(record.to_dict(), recipients)
        if rel in self.store._view():
            raise FileExistsError(rel)  # records are never overwritten
        return self._stage(rel, sealed)

    def write_records(self, items: Sequence[tuple[Record, Iterable[str]]], top: str = CASES) -> list[str]:
        return [self.write_record(record, recipients, top) for record, recipients in items]

    def write_sealed(self, record: Record, sealed: Sealed, top: str = CASES) -> str:
        rel = f"{folder_rel(top, record.case)}/{record_name(record.id, record.kind)}"
        if rel in self.store._view():
            raise FileExistsError(rel)  # records are never overwritten
        return self._stage(rel, sealed)

    def reencrypt(self, path, keys: Sequence, recipients: Iterable[str]) -> str:
        _record, entry = self.store._unseal(path, keys)  # only a reader can give a record to new readers
        return self._stage(self.store.rel(path), Sealed(entry.source, recipients, entry._plaintext))

    def reencrypt_records(self, paths, keys: Sequence, recipients: Iterable[str]) -> list[str]:
        opened = [(path, self.store._unseal(path, keys)[1]) for path in paths]  # all read before any is written
        recipients = list(recipients)
        for path, entry in opened:
            self._stage(self.store.rel(path), Sealed(entry.source, recipients, entry._plaintext))
        return []  # nothing here is damaged

    def replace_file(self, rel: str, data: bytes) -> str:
        return self._stage(rel, bytes(data))

    def delete_file(self, rel: str) -> str:
        return self._stage(rel, None)

    def commit(self, message: str) -> str:
        if not self.staged:
            raise GitError("git commit failed: nothing to commit")
        sha = self.store._commit(self.staged, message, self.author, self.email)
        self.staged = {}
        self._committed = True
        return sha


class MemorySummaries:
    """The summary cache kept in the store's memory (for as long as the store lives)."""

    def __init__(self, entries: dict[str, dict[str, Any]]):
        self.entries = entries

    def get(self, case_id: str, version: str | None) -> dict[str, Any] | None:
        entry = self.entries.get(case_id)
        if entry is not None and version is not None and entry.get("tree") == version:
            return entry
        return None

    def get_index(self, case_id: str, version: str | None) -> dict[str, Any] | None:
        entry = self.get(case_id, version)
        if entry is None or "index" not in entry:
            return None
        return {"tree": version, "index": entry["index"]}

    def put(self, case_id: str, version: str | None, case: dict | None, index: dict | None = None) -> None:
        if version is not None:
            self.entries[case_id] = {"tree": version, "case": case}
            if index is not None or case is None:
                self.entries[case_id]["index"] = index

    def put_index(self, case_id: str, version: str | None, index: dict | None) -> None:
        entry = self.get(case_id, version)
        if entry is not None:
            entry["index"] = index

    def prune(self, case_ids: set[str]) -> None:
        for gone in set(self.entries) - case_ids:
            del self.entries[gone]

    def save(self) -> None:
        pass  # kept in memory already
