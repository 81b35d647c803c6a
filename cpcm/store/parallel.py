"""Work spread over every core (a cold cache: the first use, a new identity, an upgrade):
decrypting and parsing many record files (`parse_all`), or any job over chunks of cases
(`run_chunks`). The worker processes are forked: they inherit the identity's keys in memory, and
send back what they made through a pipe; nothing is written to disk."""
from __future__ import annotations

import gc
import multiprocessing
import os
import signal
from multiprocessing import connection
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Iterable, Iterator, Sequence

from cpcm.crypto import cipher
from cpcm.store import codec

WORTH_IT = 200  # fewer files than this are read one by one: starting the workers costs more
CHUNK = 64
SMALL = 16 << 10  # bytes: a chunk this small may wait in a worker's pipe beside another (a pipe holds far more)

_KEYS: Sequence = ()


def _parse(item: tuple[str, bytes]) -> tuple[str, Any]:
    blob, data = item
    try:
        return blob, codec.loads_plain(cipher.decrypt(data, _KEYS))
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


def _serve(conn: Any, job: Callable[[Any], Any], theirs: Sequence[Any] = ()) -> None:
    """A worker process of `run_chunks`: `job(chunk)` of each chunk received, sent back as
    (True, result), or (False, the exception it raised), until the parent sends None or goes.
    Ctrl-C is the parent's to handle: it ends the workers. `theirs`: the parent's ends of the
    pipes, inherited by the fork, closed here: a pipe reads as ended only when every copy of its
    other end is closed, so a worker holding them would wait for ever once the parent is gone."""
    for other in theirs:
        other.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        try:
            answer = (True, job(chunk))
        except Exception as exc:  # noqa: BLE001 - raised again in the parent
            answer = (False, exc)
        try:
            conn.send(answer)
        except (EOFError, OSError):
            return
        except Exception as exc:  # noqa: BLE001 - what it made cannot be pickled: said so, without its content
            conn.send((False, RuntimeError(f"a worker process could not send its result ({type(exc).__name__})")))


_ENDED = "a worker process ended before it finished its work"  # killed (by the out-of-memory killer, say)


def run_chunks(job: Callable[[Any], Any], chunks: Iterable[Any], window: int = 0,
               prepare: Callable[[], None] | None = None) -> Iterator[Any]:
    """`job(chunk)` for each chunk on every core (forked worker processes, which inherit what
    `job` needs in memory: the identity's keys too; nothing is written to disk), yielded in the
    order they finish. At most `window` chunks (two per worker at most, the default) are handed
    out and not yet taken by the caller, so a slow caller holds a bounded number of results
    however many chunks there are. On one core, or where processes cannot be forked, run here in turn.

    Each worker has a pipe of its own, which the caller's thread reads itself: no threads in
    the parent beside it, so the parent's share of the cores goes to what the caller does with
    the results. A worker is handed its next chunk before its result is given to the caller, and
    a small chunk (`SMALL`) waits in its pipe while it works on the one before, so it is seldom
    idle. A larger chunk goes only to a worker with nothing to do: the parent never waits to
    write to a worker that is itself waiting for the parent to read its result.

    `prepare()`: called here just before the workers are forked (not when the chunks are run
    here), for what every worker would otherwise do for itself on its first chunk (import
    modules, compile patterns, fill caches): done once, each worker has it from the fork."""
    count = workers()
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(job, chunks)
        return
    # chunks handed to each worker ahead of its results: one at work, at most one more waiting in its pipe
    ahead = min(2, max(1, (window or 2 * count) // count))
    context = multiprocessing.get_context("fork")
    todo = (bytes(ForkingPickler.dumps(chunk)) for chunk in chunks)  # what `Connection.send` writes
    waiting: list[bytes] = []  # a large chunk taken from `todo`, for the next worker with nothing to do
    started: list[tuple[Any, Any]] = []  # (process, the parent's end of its pipe)
    out: dict[Any, int] = {}  # a worker's pipe -> its chunks not yet answered

    def hand(conn: Any) -> None:
        while out[conn] < ahead:
            data = waiting.pop() if waiting else next(todo, None)
            if data is None:
                return
            if out[conn] and len(data) > SMALL:
                waiting.append(data)
                return
            try:
                conn.send_bytes(data)
            except OSError:  # the worker has ended: its pipe is broken
                raise RuntimeError(_ENDED) from None
            out[conn] += 1

    if prepare is not None:
        prepare()
    try:
        gc.freeze()  # what the parent holds is not scanned by the workers' collector (nor copied by it)
        try:
            for _ in range(count):
                here, there = context.Pipe()
                process = context.Process(target=_serve, args=(there, job, [here, *(c for _, c in started)]), daemon=True)
                process.start()
                there.close()
                started.append((process, here))
        finally:
            gc.unfreeze()
        for _, conn in started:
            out[conn] = 0
            hand(conn)
        while any(out.values()):
            for conn in connection.wait([c for c, n in out.items() if n]):
                try:
                    ok, result = conn.recv()
                except (EOFError, OSError):  # OSError: it ended with a chunk unread in its pipe (reset)
                    raise RuntimeError(_ENDED) from None
                out[conn] -= 1
                hand(conn)
                if not ok:
                    raise result
                yield result
    finally:
        for process, conn in started:
            process.terminate()
        for process, conn in started:
            process.join()
            conn.close()
