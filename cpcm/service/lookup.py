"""The split index a registration reads: what the duplicate and caseload checks need, without
loading every case.

In the worker's cache folder (`.cpcm/cache/<worker>/lookup/`, git-ignored), every file
encrypted to the worker like the rest of the cache (the names in it are personal data):

- `head`: the git tree id of `cases/` the index describes, the fingerprint of the code that made
  it, a random key for the bucket hashes, the open cases of each worker (the caseload), and the
  cases that could not be read (read again at every update, so that each command reports them
  as `load_index` does);
- year buckets `y-NN`: case id -> its duplicate key (duplicates.Key: normalised name, normalised
  caregiver, birth year), its status (open, closed, transferred: what a registration says of
  each possible duplicate) and the case it was merged into, if it was (a registration names that one) for each readable case with a name and a known or estimated birth
  year, in the bucket of a keyed hash of that year (a child is compared by name similarity only
  with those born the same year);
- caregiver buckets `c-NN`: the same, for each case with a name and a caregiver, in the bucket
  of a keyed hash of its normalised caregiver and each pair of its name's words (`caregiver_buckets`:
  the other test, the same caregiver and the same name, or one that holds the other's words, in any
  year; a name that holds another's words has each of its pairs). Not by the caregiver alone: a
  home that registers every child with one caregiver's name (the matron's) had them all in one
  bucket, read and compared whole at each registration of another of its children;
- map shards `m-NN` (by case id): which buckets each case is in and the worker whose caseload it
  counts in, so that a case that changed is taken out of the buckets it was in.

The hashes are keyed (HMAC with the key in `head`) so that which file a write touched does not
tell a birth year or a name. A registration reads `head`, the year bucket and the caregiver
buckets of the new child (one a pair of its name's words: one for a name of two words, three
for three), and, when the repository changed since the index was made, the map
shards and buckets of the cases that changed (`git diff-tree` between the tree the index
describes and the current one: proportional to the change) and those cases' records. Memory and time do not grow
with the number of cases, only with the cases born the same year (and those of the same
caregiver that share two words of a name: a few siblings).

The index is rebuilt from every case (`each_indexed`, through the summary cache) when there is
none, when it was made by other code or with another key, when a file of it cannot be read, or
when more than `REBUILD_FROM` cases changed at once (a sync bringing many cases). While it is
being brought up to date `head` is removed first and written last: an update interrupted midway
leaves no head, and the next command rebuilds. Only a command holding the repository lock
writes it (every write does); anything else reads the cases as before.

Like the summary index, it describes the cases as last committed: a record file damaged or
edited on disk after its commit is reported by `list` and `verify`, not here."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cpcm.crypto import cipher
from cpcm.domain.case import Case
from cpcm.domain.team import RECOVERY_READER
from cpcm.store import atomic, codeprint
from cpcm.store.cache import json_encoder, quoted
from cpcm.store.layout import CASES, case_dir
from cpcm.workflow import duplicates
from cpcm.workflow.duplicates import Key

FORMAT = 4  # 2: caregiver buckets in place of name buckets; 3: by the caregiver and a pair of the name's words;
# 4: each case's merged_into with its status
YEAR_BUCKETS = 64
CAREGIVER_BUCKETS = 256
MAP_SHARDS = 64
REBUILD_FROM = 200  # cases changed since the index was made from which it is rebuilt from the summary cache
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's id of a tree with nothing in it


_JSON = json_encoder()  # json.dumps(value, separators=(",", ":")), its encoder made once


class Unusable(Exception):
    """A file of the index cannot be read (another key, damaged, of other code): rebuild it."""


def fingerprint() -> str:
    """The code the index depends on: the fold (as the summary cache) and the duplicate key."""
    from cpcm.service.context import fold_fingerprint

    return hashlib.sha256(f"{fold_fingerprint()}\0{codeprint.digest(own=(__file__,))}".encode()).hexdigest()[:16]


def counted_worker(case: Case) -> str | None:
    """The worker whose caseload the case counts in (rules.caseloads): open cases only."""
    return case.worker if case.status == "open" and case.worker else None


class Lookup:
    """The index files of one worker; files read as needed and written by `save`."""

    def __init__(self, folder: Path, recipient: str, keys, tag: str):
        self.folder = folder
        self.recipient = recipient
        self.keys = keys
        self.tag = tag
        self.tree: str | None = None
        self.key = b""
        self.counts: dict[str, int] = {}
        self.damaged: set[str] = set()
        self.files: dict[str, dict[str, Any]] = {}
        self.changed: set[str] = set()
        # an index made anew (`clear`): each file's entries as JSON text, as they come, until `save` writes them (a
        # rebuild at 100,000 cases held every entry as lists and strings: 90 MB more); None otherwise
        self.made: dict[str, list[str]] | None = None

    # -- files ---------------------------------------------------------------------------
    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            raw = (self.folder / f"{name}.age").read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Unusable(name) from exc
        try:
            data = json.loads(cipher.decrypt(raw, self.keys))
        except (ValueError, cipher.NotARecipient, cipher.Damaged) as exc:
            raise Unusable(name) from exc
        if not isinstance(data, dict):
            raise Unusable(name)
        return data

    def _file(self, name: str) -> dict[str, Any]:
        if name not in self.files:
            self.files[name] = self._read(name) or {}
        return self.files[name]

    def _write(self, name: str, data: dict[str, Any] | str) -> None:
        # no fsync: a cache lost in a power cut is rebuilt
        text = data if isinstance(data, str) else _JSON(data)
        atomic.write_local(self.folder / f"{name}.age", cipher.encrypt(text.encode(), [self.recipient]))

    def open(self) -> bool:
        """Read `head`; False when there is none usable (of other code or format)."""
        head = self._read("head")
        if head is None or head.get("format") != FORMAT or head.get("tag") != self.tag:
            return False
        self.tree = head.get("tree")
        self.key = bytes.fromhex(head["key"])
        self.counts = {w: int(n) for w, n in (head.get("counts") or {}).items()}
        self.damaged = set(head.get("damaged") or ())
        return True

    def clear(self) -> None:
        """Start empty, with a new key: every file of the index is removed."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            names = []
        for name in names:
            try:
                os.unlink(self.folder / name)
            except OSError:
                pass
        self.tree, self.key, self.counts, self.damaged = None, secrets.token_bytes(32), {}, set()
        self.files, self.changed, self.made = {}, set(), {}

    def save(self, tree: str | None) -> None:
        """Write what changed, `head` last (removed first: an interrupted save leaves no head)."""
        self.tree = tree
        try:
            os.unlink(self.folder / "head.age")
        except FileNotFoundError:
            pass
        for name in sorted(self.changed):
            self._write(name, self.files[name])
        for name, entries in sorted((self.made or {}).items()):
            self._write(name, "{" + ",".join(entries) + "}")  # read back from the file when asked
        self.changed, self.made = set(), None
        self._write("head", {"format": FORMAT, "tag": self.tag, "tree": tree, "key": self.key.hex(),
                             "counts": self.counts, "damaged": sorted(self.damaged)})

    # -- buckets -------------------------------------------------------------------------
    def _bucket(self, kind: bytes, text: str, buckets: int) -> int:
        digest = hmac.new(self.key, kind + b"\0" + text.encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big") % buckets

    def year_bucket(self, key: Key) -> str | None:
        if not key.name or key.year is None:
            return None
        return f"y-{self._bucket(b'year', str(key.year), YEAR_BUCKETS):02x}"

    def caregiver_buckets(self, key: Key) -> list[str]:
        """The caregiver buckets of a key with a name and a caregiver: one for each pair of its name's words
        (`duplicates.word_pairs`), by a keyed hash of the caregiver and the pair. A case is in each; a child
        is compared with the cases of its own buckets, which hold every case of the same caregiver that
        `duplicates.matches` can report (the same name, or one holding the other's words, has every pair of
        the shorter name's), not every child of a home whose children share one caregiver (the matron)."""
        if not key.name or not key.caregiver:
            return []
        return sorted({f"c-{self._bucket(b'caregiver', key.caregiver + chr(0) + ' '.join(pair), CAREGIVER_BUCKETS):02x}"
                       for pair in duplicates.word_pairs(key.name)})

    @staticmethod
    def map_shard(case_id: str) -> str:
        return f"m-{hashlib.sha256(case_id.encode()).digest()[0] % MAP_SHARDS:02x}"

    def _set(self, name: str, case_id: str, value: Any) -> None:
        if self.made is not None:  # made anew: each case is added once, nothing is removed
            if value is not None:
                self.made.setdefault(name, []).append(f"{quoted(case_id)}:{_JSON(value)}")
            return
        entries = self._file(name)
        if value is None:
            if case_id not in entries:
                return
            del entries[case_id]
        else:
            entries[case_id] = value
        self.changed.add(name)

    def add(self, case_id: str, case: Case) -> None:
        """A readable case, as it is now (after `remove` of what it was)."""
        key = duplicates.key_of(case)
        value = [key.name, key.caregiver, key.year, case.status, case.merged_into]
        year, caregivers, worker = self.year_bucket(key), self.caregiver_buckets(key), counted_worker(case)
        for bucket in ([year] if year else []) + caregivers:
            self._set(bucket, case_id, value)
        if worker:
            self.counts[worker] = self.counts.get(worker, 0) + 1
        self._set(self.map_shard(case_id), case_id, [year, caregivers, worker])

    def remove(self, case_id: str) -> None:
        """Take a case out of the buckets and the caseload it was counted in."""
        self.damaged.discard(case_id)
        where = self._file(self.map_shard(case_id)).get(case_id)
        if where is None:
            return
        year, caregivers, worker = where
        for bucket in ([year] if year else []) + caregivers:
            self._set(bucket, case_id, None)
        if worker:
            left = self.counts.get(worker, 0) - 1
            if left > 0:
                self.counts[worker] = left
            else:
                self.counts.pop(worker, None)
        self._set(self.map_shard(case_id), case_id, None)

    def _entries(self, key: Key) -> dict[str, list]:
        """Case id -> [name, caregiver, year, status, merged_into] of the cases `duplicates.matches` may report
        for a child of this key: those born the same year, and those with the same caregiver."""
        found: dict[str, list] = {}
        year = self.year_bucket(key)
        if year is not None:
            found.update((case_id, entry) for case_id, entry in self._file(year).items() if entry[2] == key.year)
        for bucket in self.caregiver_buckets(key):
            found.update((case_id, entry) for case_id, entry in self._file(bucket).items() if entry[1] == key.caregiver)
        return found

    def candidates(self, key: Key) -> list[tuple[str, Key]]:
        """The cases `duplicates.matches` may report for a child of this key, in case id order as
        the full scan gives them."""
        return sorted((case_id, Key(*entry[:3])) for case_id, entry in self._entries(key).items())

    def statuses(self, key: Key) -> dict[str, str]:
        """Case id -> status of the same cases, as the index holds them (no case is read)."""
        return {case_id: entry[3] for case_id, entry in self._entries(key).items() if entry[3]}

    def about(self, case_id: str) -> tuple[str | None, str | None] | None:
        """(status, the case it was merged into) of a case as the index holds it, found through its map
        shard (no case is read); None for one the index has in no bucket (no name, or not read here)."""
        where = self._file(self.map_shard(case_id)).get(case_id)
        if where is None:
            return None
        year, caregivers, _worker = where
        for bucket in ([year] if year else []) + caregivers:
            entry = self._file(bucket).get(case_id)
            if entry is not None:
                return entry[3] or None, entry[4] if len(entry) > 4 else None
        return None

    def duplicates(self, key: Key, exclude: str = "") -> list[tuple[str, str]]:
        return duplicates.matches(key, [(c, k) for c, k in self.candidates(key) if c != exclude])


# -- brought up to date ----------------------------------------------------------------------------
def usable(ctx) -> bool:
    """The index serves this command: a repository in git, the acting worker's identity, and
    the repository lock held (the index is written only under it)."""
    return (ctx.root is not None and getattr(ctx.store, "git", None) is not None and ctx.identity is not None
            and ctx.worker is not None and ctx._locked and ctx.worker.id != RECOVERY_READER)


def current(ctx) -> Lookup:
    """The worker's index brought up to date with the last commit (`usable(ctx)` must hold)."""
    from cpcm.store.cache import worker_folder
    from cpcm.store.git import GitError

    git = ctx.store.git
    tree = git.tree_id(CASES)
    look = Lookup(worker_folder(ctx.root, ctx.worker.id) / "lookup", ctx.identity.recipient, ctx.keys, fingerprint())
    try:
        if look.open():
            if look.tree == tree and not look.damaged:
                return look
            changed = set(look.damaged)
            if look.tree != tree:
                changed |= git.changed_names(look.tree or EMPTY_TREE, tree or EMPTY_TREE)
            if len(changed) < REBUILD_FROM:
                for case_id in sorted(changed):
                    look.remove(case_id)
                    case = _read_one(ctx, case_id, look)
                    if case is not None:
                        look.add(case_id, case)
                look.save(tree)
                return look
    except (Unusable, GitError, KeyError, ValueError, TypeError):
        pass
    return rebuild(ctx, look, tree)


def duplicates_of(ctx, look: Lookup, key: Key, exclude: str = "") -> tuple[Lookup, list[tuple[str, str]]]:
    """The index's answer for a child of `key`, and the index that gave it: a bucket found
    damaged only now (`current` reads only the buckets of the cases that changed) makes the index
    again, which is asked again."""
    try:
        return look, look.duplicates(key, exclude)
    except Unusable:
        look = rebuild(ctx, look, look.tree)
        return look, look.duplicates(key, exclude)


def rebuild(ctx, look: Lookup, tree: str | None) -> Lookup:
    """The index made again from every case the worker reads (through the summary cache), a case at a time: only
    the index's own entries are held, not the cases they come from."""
    from cpcm.service.context import each_indexed

    look.clear()
    added: set[str] = set()

    def add(case_id: str, case: Case) -> None:
        look.add(case_id, case)
        added.add(case_id)

    each_indexed(ctx, add)
    look.damaged = {c for c in ctx.store.case_ids() if c not in added and _readable(ctx, c)}
    look.save(tree)
    return look


def _readable(ctx, case_id: str) -> bool:
    return ctx.worker.id in ctx.store.recipients(case_id)


def _read_one(ctx, case_id: str, look: Lookup) -> Case | None:
    """A case that changed, folded from its records; None when it is gone or not the worker's to
    read; a damaged case is noted in `ctx.problems` and in `look.damaged` (read again next time)."""
    from cpcm.service.context import folded_or_noted

    if not case_dir(ctx.root, case_id).is_dir() or case_id.startswith(".") or not _readable(ctx, case_id):
        return None
    case = folded_or_noted(ctx, case_id)
    if case is None:
        look.damaged.add(case_id)
    return case


def after_register(ctx, look: Lookup, case_id: str, case: Case, readable: bool) -> None:
    """The index moved on to the commit a registration just made: the tree it described and the
    new case, nothing else (the repository lock was held throughout): nothing to read next time."""
    tree = ctx.store.git.tree_id(CASES)
    if tree is None or tree == look.tree:
        return
    if readable:
        look.add(case_id, case)
    look.save(tree)


def caseload(look: Lookup, worker_id: str) -> int:
    return look.counts.get(worker_id, 0)
