"""Work spread over every core (a cold cache: the first use, a new identity, an upgrade):
decrypting and parsing many record files (`parse_all`), or any job over chunks of cases
(`run_chunks`). The worker processes are forked: they inherit the identity's keys in memory, and
send back what they made through a pipe; nothing is written to disk."""
from __future__ import annotations

import multiprocessing
import os
import queue
from typing import Any, Callable, Iterable, Iterator, Sequence

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


_JOB: Callable[[Any], Any] | None = None


def _run(chunk: Any) -> Any:
    assert _JOB is not None
    return _JOB(chunk)


def run_chunks(job: Callable[[Any], Any], chunks: Iterable[Any], window: int = 0) -> Iterator[Any]:
    """`job(chunk)` for each chunk on every core (forked worker processes, which inherit what
    `job` needs in memory: the identity's keys too; nothing is written to disk), yielded in the
    order they finish. At most `window` chunks (default: four per worker) are handed out and
    not yet taken by the caller, so a slow caller holds a bounded number of results however
    many chunks there are. On one core, or where processes cannot be forked, run here in turn."""
    global _JOB
    count = workers()
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(job, chunks)
        return
    window = window or 4 * count
    done: queue.SimpleQueue = queue.SimpleQueue()
    _JOB = job
    pool = multiprocessing.get_context("fork").Pool(count)
    try:
        todo = iter(chunks)
        out = 0
        for chunk in todo:
            pool.apply_async(_run, (chunk,), callback=lambda r: done.put((True, r)), error_callback=lambda e: done.put((False, e)))
            out += 1
            if out < window:
                continue
            ok, result = done.get()
            out -= 1
            if not ok:
                raise result
            yield result
        while out:
            ok, result = done.get()
            out -= 1
            if not ok:
                raise result
            yield result
    finally:
        _JOB = None
        pool.terminate()
        pool.join()
