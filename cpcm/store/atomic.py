"""Atomic file writes: a temp file in the same folder, fsync, rename (or link when the file
must not exist yet), then fsync the folder. A crash leaves the old file or the new one whole,
never half; a stray temp file holds only what was being written (ciphertext for records).

A transaction that writes many files (a batch) writes them with `durable=False` and makes them
durable together with one `flush_file_system` before its commit: one flush instead of two
fsyncs a file (on a laptop's disk 3-5 ms each, so seconds for a batch of 1,000). Until that
commit the files belong to an unfinished transaction, which the next command rolls back."""
from __future__ import annotations

import ctypes
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Callable

from cpcm.store.faults import crash_point
from cpcm.store.layout import TMP_PREFIX


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flush_file_system(folder: Path) -> None:
    """Make every file written on `folder`'s file system durable: syncfs(2) on Linux, sync(2)
    where that is missing."""
    syncfs = getattr(_LIBC, "syncfs", None) if _LIBC is not None else None
    if syncfs is None:
        os.sync()
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()  # the call failed: the whole system's flush does the same, slower
    finally:
        os.close(fd)


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - no C library to load: sync(2) instead
    _LIBC = None


def write(path: Path, data: bytes, exclusive: bool = False, mode: int = 0o644, durable: bool = True,
          step=crash_point) -> None:
    """Write `data` to `path` atomically; with `exclusive`, FileExistsError if it exists.
    `durable=False`: no fsync of the file or its folder (the caller flushes them all later).
    `step`: called at each step (the crash points of the fault-injection tests)."""
    write_with(path, lambda handle: handle.write(data), exclusive, mode, durable, step)


def write_with(path: Path, fill: Callable[[BinaryIO], object], exclusive: bool = False, mode: int = 0o644,
               durable: bool = True, step=crash_point, folder_mode: int | None = None) -> None:
    """`write`, with the file's bytes written by `fill(handle)` (a stream too large to hold whole).
    `folder_mode`: the folder is made (with this mode) only when the temp file cannot be made
    for want of it, rather than asked for before every write (a local file of the cache)."""
    folder = path.parent
    if folder_mode is None:
        folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{TMP_PREFIX}{secrets.token_hex(8)}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileNotFoundError:
        if folder_mode is None:
            raise
        folder.mkdir(parents=True, exist_ok=True, mode=folder_mode)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            step("atomic-written")
            if durable:
                os.fsync(handle.fileno())
                step("atomic-fsynced")
        if exclusive:
            os.link(tmp, path)  # fails if the name is taken: never overwrite a record
            step("atomic-linked")
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
        step("atomic-renamed")
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(folder)
        step("atomic-dir-fsynced")


def write_private(path: Path, data: bytes, exclusive: bool = False) -> None:
    """A file cpcm writes outside the repository for a person (a rendered document, an export, a
    return, a calendar, a transfer bundle or receipt, a sync bundle): atomic, and readable by its
    owner only (mode 600), encrypted or not: who may read it is the user's choice, not the
    computer's other accounts'. `exclusive`: FileExistsError if it exists."""
    write(path, data, exclusive=exclusive, mode=0o600)


def write_local(path: Path, data: bytes | Callable[[BinaryIO], object]) -> None:
    """Replace a local file that is made again when lost (the cache: never committed): written
    whole under a temp name and renamed, so that a reader never sees half of it, readable by the
    user only; no fsync, and not a step of a write (no crash points). `data`: the bytes, or a
    function that writes them to the file (`write_with`)."""
    fill = data if callable(data) else (lambda handle: handle.write(data))
    write_with(path, fill, mode=0o600, durable=False, step=_no_step, folder_mode=0o700)  # its folder made when missing


def _no_step(name: str) -> None:
    pass


def remove_file(root: Path | str, rel: str, keep_top: bool = False) -> None:
    """Remove the file `rel` (a path under `root`; nothing to do when it is gone), then the folders it
    leaves empty, up to `root`; with `keep_top`, not the top-level folder it is in (cases/)."""
    try:
        os.unlink(os.path.join(root, rel))
    except FileNotFoundError:
        pass
    folder = os.path.dirname(rel)
    while folder and not (keep_top and "/" not in folder):
        try:
            os.rmdir(os.path.join(root, folder))  # only when empty
        except OSError:
            break
        folder = os.path.dirname(folder)


def remove_strays(folder: Path) -> list[Path]:
    """Delete temp files an interrupted write left behind in `folder`."""
    removed = []
    if folder.is_dir():
        for entry in os.scandir(folder):
            if entry.name.startswith(TMP_PREFIX):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
