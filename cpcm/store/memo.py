"""What this process has already read, kept in its memory only (never on disk) so that reading it
again costs nothing: a command reads a case's records, the team and the policy more than once,
and a process that runs several commands (a test run, the unlock agent) reads them again.

Each entry is keyed by what makes it right: a file by its identity on disk (inode, size and
times: cpcm replaces a file by renaming a new one over it, so any write changes the inode), a
record by its ciphertext's digest and the public keys of the identity that decrypted it (a worker
never gets from here what their own key could not decrypt)."""
from __future__ import annotations

import gc
import os
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Hashable


_ABSENT = object()


class Bounded:
    """A dictionary that forgets its least recently used entries beyond `size`."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        value = self._data.get(key, _ABSENT)  # a miss costs no exception (a cold fill misses every record)
        if value is _ABSENT:
            return None
        self._data.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def file_key(path: os.PathLike | str) -> tuple | None:
    """A file's identity as it is now: (path, inode, size, mtime, ctime), None when it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.fspath(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


RECORDS = Bounded(4096)  # (ciphertext digest, readers' public keys) -> (plaintext, parsed YAML)
FILES = Bounded(64)  # file_key -> parsed YAML of a plaintext file (configuration, team)
POLICIES = Bounded(16)  # (profile, override file_key) -> Policy


def forget_records() -> None:
    """Drop every decrypted record kept: the unlock agent does after each command it runs, so no
    case data outlives the command that read it. (The configuration, team and policy kept hold
    none, and stay right by their files' identity.)"""
    RECORDS.clear()


HELD_FROM = 2_000  # cases loaded at once from which `held_long` takes them out of the collector's sight


@contextmanager
def held_long(many: bool = True):
    """Around the making of many objects that live until the command ends (every folded case a
    report or `check` reads: about ten million objects at 100,000 cases): the cyclic collector is
    paused while they are made, and they are then put out of its sight (`gc.freeze`), so that the
    full collections the rest of the command triggers do not walk them again and again (about a
    third of `report timeliness`'s CPU time at 100,000 cases, docs/performance.md). Reference counting still
    frees each of them once unused; `let_go` gives them back to the collector (the unlock agent,
    after each command it runs; `cpcm.cli.main`, before each command of a process that runs many:
    a test run). Not `many` (fewer cases than `HELD_FROM`): nothing is done, the collections are
    few and short."""
    if not many:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def let_go() -> None:
    """The objects `held_long` put out of the collector's sight given back to it: a command's are, once it ended."""
    gc.unfreeze()
