"""Decrypting and parsing many record files on every core (a cold cache: the first use, a new
identity). The worker processes are forked: they inherit the identity's keys in memory, and
send back the parsed records through a pipe; nothing is written to disk."""
from __future__ import annotations

import multiprocessing
import os
from typing import Any, Callable, Iterator, Sequence

from cpcm.crypto import cipher
from cpcm.domain.records import plain
from cpcm.store import codec

WORTH_IT = 200  # fewer files than this are read one by one: starting the workers costs more
CHUNK = 64

_KEYS: Sequence = ()


def _parse(item: tuple[str, bytes]) -> tuple[str, Any]:
    blob, data = item
    try:
        return blob, plain(codec.loads(cipher.decrypt(data, _KEYS)))
    except Exception:  # unreadable here: the read that follows reports it
        return blob, None


def workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def parse_all(items: list[tuple[str, bytes]], keys: Sequence,
              progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[str, Any]]:
    """(blob id, parsed record or None) for each (blob id, ciphertext), in any order."""
    global _KEYS
    total = len(items)
    count = workers()
    _KEYS = keys
    try:
        if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
            results: Iterator[tuple[str, Any]] = map(_parse, items)
            pool = None
        else:
            pool = multiprocessing.get_context("fork").Pool(count)
            results = pool.imap_unordered(_parse, items, chunksize=CHUNK)
        try:
            for done, (blob, loaded) in enumerate(results, start=1):
                if progress is not None and (done % CHUNK == 0 or done == total):
                    progress(done, total)
                if loaded is not None:
                    yield blob, loaded
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    finally:
        _KEYS = ()
