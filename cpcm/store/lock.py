"""The repository lock: one writer at a time; readers never wait.

`.cpcm/lock` is flock'ed by the one cpcm command that writes. It also holds the write
generation, a counter that a writer makes odd when it starts changing files and even when it
has committed or rolled back (a seqlock). A reader that sees an odd generation, or a generation
that changed while it read, knows a write is (or was) under way and reads the last commit
instead of the working tree. The counter is a number: it holds no personal data.
"""
from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

from cpcm.errors import Busy, NotWritable

_WIDTH = 20


def generation(path: Path) -> int:
    """The write generation in the lock file (0 when there is none yet). Odd: a write is under
    way, or one was interrupted and not yet recovered."""
    try:
        with open(path, "rb") as handle:
            text = handle.read(_WIDTH)
    except (FileNotFoundError, NotADirectoryError):  # no repository there (a file: load_config says so)
        return 0
    try:
        return int(text.strip() or b"0")
    except ValueError:
        return -1  # torn or damaged: never equal to a value read before, so the reader re-reads


def _timeout_from_env() -> float:
    """$CPCM_LOCK_TIMEOUT: how many seconds a writer waits for another's lock (default 60)."""
    text = os.environ.get("CPCM_LOCK_TIMEOUT", "").strip()
    if not text:
        return 60.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        from cpcm.errors import UsageError

        raise UsageError("$CPCM_LOCK_TIMEOUT is not a number of seconds (0 or more)",
                         "Set it to how long a command waits for another's write, e.g. CPCM_LOCK_TIMEOUT=60, or unset it.")
    return seconds


def _not_writable(code: int) -> NotWritable:
    """The lock file cannot be made or opened for writing: the repository's folder is on a read-only
    disk (EROFS) or is not the user's to write in (EACCES, EPERM). Said as such, with what to do; not
    by its path, which the worker gave (--repo, $CPCM_REPO) and a folder's name may be a name."""
    if code == errno.EROFS:
        return NotWritable(
            "the casefile repository is on a read-only disk; nothing was written",
            "Commands that only read (show, list, due, verify) still work. To write, mount the disk read-write "
            "again (or copy the repository to a disk that can be written) and run the command again.")
    return NotWritable(
        "the casefile repository cannot be written: you may not write in its folder (permission denied); "
        "nothing was written",
        "Commands that only read (show, list, due, verify) still work. To write, run cpcm as the user the folder "
        "belongs to, or have them let you write in it (.cpcm/ and .git/ too), and run the command again.")


class RepoLock:
    def __init__(self, path: Path, timeout: float | None = None):
        self.path = path
        self.timeout = _timeout_from_env() if timeout is None else timeout
        self._fd: int | None = None

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            raise _not_writable(exc.errno) from None

    def try_acquire(self) -> bool:
        """Take the lock if no other cpcm command holds it; never waits."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def __enter__(self) -> "RepoLock":
        fd = self._open()
        deadline = time.monotonic() + self.timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise Busy(
                        f"the casefile repository is busy: another cpcm command has held its lock for over {self.timeout:.0f} s",
                        "Wait for it to finish and try again ($CPCM_LOCK_TIMEOUT sets how long to wait).",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    # -- the write generation (only while holding the lock) -----------------------------
    def _bump(self, odd: bool) -> None:
        assert self._fd is not None, "the generation changes only under the lock"
        try:
            current = int(os.pread(self._fd, _WIDTH, 0).strip() or b"0")
        except ValueError:
            current = 0
        new = current + 1
        if (new % 2 == 1) != odd:
            new += 1
        os.pwrite(self._fd, str(new).rjust(_WIDTH).encode(), 0)

    def begin_write(self) -> None:
        """Mark the working tree as being changed (the generation becomes odd)."""
        self._bump(odd=True)

    def end_write(self) -> None:
        """Mark the working tree as equal to the last commit again (the generation becomes even)."""
        self._bump(odd=False)
