"""The register of the plaintext files cpcm wrote for a worker (`cpcm outputs`, `cpcm evacuate`).

One file beside the worker's identity (`identity.outputs` beside `identity`), never in the
casefile repository: it is not committed nor carried by a sync, it survives the cache's and the
repository's removal, and one register covers every repository the worker uses. It starts with
a line that says what it is (`MAGIC`); each further line is one entry, a JSON object padded to a
multiple of `PAD` bytes and age-encrypted to the worker's key on its own, in base64. So an entry is
added with the worker's public key alone (no passphrase), and what a reader of the file without
the key learns is how many entries there are and roughly when the file changed: no path, no case
ID, no name. Each change is the whole file written again atomically (`atomic.write_private`,
mode 600) while the identity's folder is locked (`flock`), so two commands adding an entry at
once both keep theirs.

`shred` overwrites a file with random bytes, flushes it to the disk and removes it (what
`cpcm evacuate` does to the identity, and to every registered file still there).
"""
from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import Iterator, Sequence

from cpcm.crypto import cipher
from cpcm.store import atomic

MAGIC = b"cpcm-outputs 1\n"
PAD = 512  # an entry's JSON padded to a multiple of this: a longer path does not show in its size (many case IDs do)
SUFFIX = ".outputs"


def register_path(identity: Path) -> Path:
    """Where the register of the worker whose identity is at `identity` is kept."""
    identity = Path(os.path.abspath(Path(identity).expanduser()))
    return identity.with_name(identity.name + SUFFIX)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # the lock goes with the descriptor


def _sealed(entry: dict, recipient: str) -> bytes:
    payload = json.dumps(entry, sort_keys=True, ensure_ascii=False).encode("utf-8")
    payload += b" " * (-len(payload) % PAD)  # JSON allows white space after the value
    return base64.b64encode(cipher.encrypt(payload, [recipient])) + b"\n"


class NotARegister(ValueError):
    """The file at the register's path is not one cpcm wrote."""


def append(path: Path, recipient: str, entries: Sequence[dict]) -> None:
    """Add `entries` to the register at `path` (made when missing), encrypted to `recipient`."""
    lines = b"".join(_sealed(entry, recipient) for entry in entries)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(path.parent):
        try:
            old = path.read_bytes()
        except FileNotFoundError:
            old = MAGIC
        if not old.startswith(MAGIC):
            raise NotARegister("the file is not a register of cpcm's")
        if not old.endswith(b"\n"):  # a line cut short (written by hand): kept, on a line of its own
            old += b"\n"
        atomic.write_private(path, old + lines)


def _lines(data: bytes, keys: Sequence) -> Iterator[tuple[bytes, dict | None]]:
    """Each entry line of a register's bytes `data` with what `keys` open of it: the entry, or None
    for a line of another key's or a damaged one. NotARegister when the bytes are not a register."""
    if not data.startswith(MAGIC):
        raise NotARegister("the file is not a register of cpcm's")
    for line in data[len(MAGIC):].splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(cipher.decrypt(base64.b64decode(line, validate=True), keys).decode("utf-8"))
        except Exception:  # noqa: BLE001 - a line of another key's, or damaged: never shown
            entry = None
        yield line, entry if isinstance(entry, dict) else None


def reseal(path: Path, keys: Sequence, recipient: str) -> int:
    """Encrypt every entry of the register at `path` that `keys` open to `recipient` instead (a
    key rotated: the new key must read what the old one did), in one atomic write; an entry the
    keys do not open is kept as it is. How many entries were re-encrypted."""
    if not os.path.lexists(path):
        return 0
    with _locked(path.parent):
        lines, done = [], 0
        for line, entry in _lines(path.read_bytes(), keys):
            if entry is None:  # another key's, or damaged: kept as it is
                lines.append(line + b"\n")
            else:
                lines.append(_sealed(entry, recipient))
                done += 1
        atomic.write_private(path, MAGIC + b"".join(lines))
    return done


def count(path: Path) -> int:
    """How many entries the register at `path` holds (0 when there is none), read without the key."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return max(0, len([line for line in data.splitlines() if line.strip()]) - 1)


def read(path: Path, keys: Sequence) -> tuple[list[dict], int]:
    """The register's entries, in the order they were added, and how many lines could not be read
    with `keys` (another key's, or damaged). No register: ([], 0). NotARegister when the file is
    not one; OSError when it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    entries, unread = [], 0
    for _, entry in _lines(data, keys):
        if entry is None:  # a line of another key's, or damaged: counted, never shown
            unread += 1
        else:
            entries.append(entry)
    return entries, unread


def shred(path: Path, failed: list[str]) -> bool:
    """Overwrite the file with random bytes (flushed to the disk), then remove it; a symbolic link
    is removed with the file it points to. False (its path added to `failed`) when it stays."""
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        size = target.stat().st_size
        fd = os.open(target, os.O_WRONLY)
        try:
            written = 0
            while written < size:
                written += os.write(fd, os.urandom(min(65536, size - written)))
            os.fsync(fd)
        finally:
            os.close(fd)
    except FileNotFoundError:
        pass
    except OSError:
        pass  # removing it still ends what it opens on this computer
    for name in dict.fromkeys((target, path)):
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
        except OSError:
            pass
    if os.path.lexists(path) or os.path.lexists(target):
        failed.append(str(path))
        return False
    return True
