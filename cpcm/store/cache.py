"""The local summary cache: each readable case's folded state, keyed by the git tree id of
its folder, so an entry can never be stale (any change to the case changes the tree id).

The cache lives in `.cpcm/cache/<worker>.age` (git-ignored), encrypted to the local worker
only, and holds the same personal data as the records it summarises.

When a case's folder differs from the last commit (a record damaged, edited or deleted on disk,
an interrupted write), its entry is neither used nor stored: the case is read from its files, so
`list` and `due` report the damage instead of showing the committed summary.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from cpcm.crypto import cipher
from cpcm.store import atomic
from cpcm.store.layout import CACHE_DIR, CASES

VERSION = 1


def dirty_cases(root: Path) -> set[str]:
    """The case folders with a committed file changed or deleted on disk (or staged). Files
    never committed are not looked for: scanning 10,000 folders for them would double the
    cost, and they cannot make a committed summary wrong (`cpcm verify` reports them)."""
    from cpcm.store.git import Git, GitError

    try:
        out = Git(root).run(["status", "--porcelain=v1", "-z", "--untracked-files=no", "--", CASES])
    except GitError:
        return set()  # no commit yet, or git cannot say: nothing is cached without a tree id anyway
    folders, skip = set(), False
    for entry in out.split("\0"):
        if skip or not entry:
            skip = False
            continue
        skip = "R" in entry[:2] or "C" in entry[:2]  # the next entry is the old name
        parts = entry[3:].split("/")
        if len(parts) >= 3 and parts[0] == CASES:
            folders.add(parts[1])
    return folders


class SummaryCache:
    def __init__(self, root: Path, worker: str, recipient: str, keys: Sequence, fingerprint: str):
        """`fingerprint` names the code that folds a case (the service's `fold_fingerprint`): a
        cache made by other code is dropped, so a change to the fold can never leave stale
        summaries behind, same version or not."""
        self.path = root / CACHE_DIR / f"{worker}.age"
        self.recipient = recipient
        self.keys = keys
        self.entries: dict[str, dict[str, Any]] = {}
        self.changed = False
        self.fingerprint = fingerprint
        self.dirty = dirty_cases(root)
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(cipher.decrypt(self.path.read_bytes(), self.keys))
        except (OSError, ValueError, cipher.NotARecipient, cipher.Damaged):
            return  # a missing or unreadable cache is rebuilt
        if data.get("version") == VERSION and data.get("fold") == self.fingerprint:
            self.entries = data.get("cases", {})

    def get(self, case_id: str, tree: str | None) -> dict[str, Any] | None:
        """The cached entry when it was made from exactly this tree."""
        if case_id in self.dirty:
            return None
        entry = self.entries.get(case_id)
        if entry is not None and tree is not None and entry.get("tree") == tree:
            return entry
        return None

    def put(self, case_id: str, tree: str | None, case: dict | None) -> None:
        if tree is None or case_id in self.dirty:
            return
        self.entries[case_id] = {"tree": tree, "case": case}
        self.changed = True

    def prune(self, case_ids: set[str]) -> None:
        for gone in set(self.entries) - case_ids:
            del self.entries[gone]
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        payload = json.dumps({"version": VERSION, "fold": self.fingerprint, "cases": self.entries}, separators=(",", ":"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write(self.path, cipher.encrypt(payload.encode(), [self.recipient]), mode=0o600)
        self.changed = False
