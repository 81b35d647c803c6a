"""CaseStore: read a case's records, write new ones in a transaction that ends in one commit.

A transaction holds the repository lock, notes in `.cpcm/pending.json` that a write is under
way (verb and worker id only), writes files atomically and commits them. If a command dies
half-way, the next transaction rolls back whatever it left (uncommitted files in cpcm's own
folders, temp files), so a write is either one whole commit or nothing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Sequence

from cpcm.crypto import cipher
from cpcm.domain.records import Record
from cpcm.errors import CannotDecrypt, Corrupt
from cpcm.store import atomic, codec
from cpcm.store.git import Git
from cpcm.store.layout import (CASES, CONFIG, PENDING, POLICY, RECIPIENTS, RECORD_FILE, SERVICES, TEAM, LOCK,
                               case_dir, record_name)
from cpcm.store.lock import RepoLock

CONFERENCES = "conferences"  # conferences/<CONF-ID>/: records of a case conference, like a case's
MANAGED = (CASES, CONFERENCES, TEAM, SERVICES, CONFIG, POLICY, ".gitignore", ".gitattributes")


class CaseStore:
    def __init__(self, root: Path):
        self.root = root
        self.git = Git(root)

    # -- reading -------------------------------------------------------------------------
    def case_ids(self, top: str = CASES) -> list[str]:
        """The case folders (or, with top=conferences, the conference folders)."""
        folder = self.root / top
        if not folder.is_dir():
            return []
        return sorted(entry.name for entry in os.scandir(folder) if entry.is_dir() and not entry.name.startswith("."))

    def exists(self, case_id: str) -> bool:
        return (case_dir(self.root, case_id) / RECIPIENTS).is_file()

    def recipients(self, case_id: str, folder: str = CASES) -> list[str]:
        """Worker ids who may read the case (the plaintext `recipients` file); `folder`:
        CONFERENCES for a conference."""
        path = self.root / folder / case_id / RECIPIENTS
        try:
            text = path.read_text()
        except FileNotFoundError:
            return []
        return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]

    def record_files(self, case_id: str, top: str = CASES) -> list[Path]:
        folder = self.root / top / case_id
        if not folder.is_dir():
            return []
        return sorted(Path(e.path) for e in os.scandir(folder) if RECORD_FILE.match(e.name))

    def read_file(self, path: Path, keys: Sequence) -> Record:
        return self.read_raw(path, keys)[0]

    def read_raw(self, path: Path, keys: Sequence) -> tuple[Record, bytes]:
        """A record file decrypted and checked, with its plaintext bytes exactly as stored (what a
        transfer bundle carries)."""
        rel = self.rel(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise Corrupt(f"cannot read {rel}: {exc.strerror}", rel) from None
        try:
            plaintext = cipher.decrypt(data, keys)
        except cipher.NotARecipient:
            raise CannotDecrypt(
                f"{rel} is not encrypted to your key",
                "Only the case's worker, supervisors and managers can read it; check --identity.",
            ) from None
        except cipher.Damaged as exc:
            raise Corrupt(f"{rel} is damaged or truncated ({exc})", rel, "Restore it from git: git checkout -- " + rel) from None
        try:
            record = Record.from_dict(codec.loads(plaintext))
        except codec.BadYaml as exc:
            raise Corrupt(f"{rel} decrypts but is not a valid record ({exc})", rel) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Corrupt(f"{rel} decrypts but is not a valid record (missing or bad '{exc}')", rel) from None
        match = RECORD_FILE.match(path.name)
        if not match or match["id"] != record.id or path.parent.name != record.case:
            raise Corrupt(f"{rel} holds a record whose id or case does not match its file name", rel)
        return record, plaintext

    def read_records(self, case_id: str, keys: Sequence, top: str = CASES) -> list[Record]:
        return [self.read_file(path, keys) for path in self.record_files(case_id, top)]

    def read_records_raw(self, case_id: str, keys: Sequence, top: str = CASES) -> list[tuple[Record, bytes]]:
        """Every record of a case with its plaintext bytes as stored, each read once."""
        return [self.read_raw(path, keys) for path in self.record_files(case_id, top)]

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    # -- writing -------------------------------------------------------------------------
    def transaction(self, verb: str, worker: str, author: str, email: str) -> "Transaction":
        return Transaction(self, verb, worker, author, email)


class Transaction:
    def __init__(self, store: CaseStore, verb: str, worker: str, author: str, email: str):
        self.store = store
        self.verb = verb
        self.worker = worker
        self.author = author
        self.email = email
        self.written: list[str] = []
        self.recovered: dict | None = None
        self._lock = RepoLock(store.root / LOCK)
        self._committed = False

    def __enter__(self) -> "Transaction":
        self._lock.__enter__()
        try:
            self.recovered = recover(self.store)
            atomic.write(self.store.root / PENDING, json.dumps({"verb": self.verb, "worker": self.worker}).encode())
        except BaseException:
            self._lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None or not self._committed:
                rollback(self.store, self.written)
            _remove(self.store.root / PENDING)
        finally:
            self._lock.__exit__(exc_type, exc, tb)

    def write_record(self, record: Record, recipients: Iterable[str], top: str = CASES) -> str:
        """Encrypt and write one new record file under `top` (cases/, or conferences/ for a
        conference's records); never overwrites."""
        rel = f"{top}/{record.case}/{record_name(record.id, record.kind)}"
        data = cipher.encrypt(codec.dumps(record.to_dict()), recipients)
        atomic.write(self.store.root / rel, data, exclusive=True)
        self.written.append(rel)
        return rel

    def replace_file(self, rel: str, data: bytes) -> str:
        atomic.write(self.store.root / rel, data)
        self.written.append(rel)
        return rel

    def delete_file(self, rel: str) -> str:
        _remove(self.store.root / rel)
        self.written.append(rel)
        return rel

    def commit(self, message: str) -> str:
        sha = self.store.git.commit(self.written, message, self.author, self.email)
        self._committed = True
        return sha


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_new(root: Path, rel: str) -> None:
    """Remove a file that was never committed, and the folders it leaves empty (a new case's
    folder), up to but not including the top-level folder (cases/)."""
    _remove(root / rel)
    folder = (root / rel).parent
    while folder.parent != root and folder.parent != folder:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            break
        folder = folder.parent


def rollback(store: CaseStore, paths: Sequence[str]) -> None:
    """Undo uncommitted changes to `paths`: untracked files go, tracked ones are restored."""
    if not paths:
        return
    git = store.git
    if git.head() is None:
        for rel in paths:
            _remove_new(store.root, rel)
        return
    tracked = set(git.run(["ls-files", "-z", "--", *paths]).split("\0")) - {""}
    git.run(["reset", "-q", "--", *paths])
    for rel in paths:
        if rel not in tracked:
            _remove_new(store.root, rel)
    restore = [rel for rel in paths if rel in tracked]
    if restore:
        git.run(["checkout", "-q", "HEAD", "--", *restore])


def recover(store: CaseStore) -> dict | None:
    """Roll back what an interrupted write left behind; None when there was none."""
    pending = store.root / PENDING
    if not pending.exists():
        return None
    try:
        note = json.loads(pending.read_text())
    except (OSError, ValueError):
        note = {}
    paths = [p for p in MANAGED if (store.root / p).exists()]
    left = []
    if paths and store.git.head() is not None:
        out = store.git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--", *paths])
        entries = [e for e in out.split("\0") if e]
        left = [e[3:] for e in entries]
    stray_tmp = [p for p in left if Path(p).name.startswith(".tmp-")]
    for rel in stray_tmp:
        _remove_new(store.root, rel)
    rollback(store, [p for p in left if p not in stray_tmp])
    _remove(pending)
    note["rolled_back"] = len(left)
    return note
