"""The repository lock: one writer at a time; readers never wait."""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from cpcm.errors import Busy


class RepoLock:
    def __init__(self, path: Path, timeout: float | None = None):
        self.path = path
        self.timeout = float(os.environ.get("CPCM_LOCK_TIMEOUT", "60")) if timeout is None else timeout
        self._fd: int | None = None

    def __enter__(self) -> "RepoLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
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
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
