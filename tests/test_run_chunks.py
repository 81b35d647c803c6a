"""store/parallel.py `run_chunks` on forked worker processes: every chunk's result once, an
exception in a worker raised in the caller, and no worker left behind when the caller stops
early or fails."""
from __future__ import annotations

import multiprocessing
import os

import pytest

from cpcm.store import parallel

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")


@pytest.fixture(autouse=True)
def two(monkeypatch):
    monkeypatch.setattr(parallel, "workers", lambda: 2)


def _square_sum(chunk):
    return os.getpid(), sum(n * n for n in chunk)


def test_every_chunk_is_answered_once_by_the_worker_processes():
    chunks = [list(range(n, n + 7)) for n in range(0, 700, 7)]
    done = list(parallel.run_chunks(_square_sum, chunks))
    assert sorted(total for _, total in done) == sorted(sum(n * n for n in chunk) for chunk in chunks)
    assert os.getpid() not in {pid for pid, _ in done}
    assert multiprocessing.active_children() == []


def test_no_chunks_and_fewer_chunks_than_workers():
    assert list(parallel.run_chunks(_square_sum, [])) == []
    assert [total for _, total in parallel.run_chunks(_square_sum, [[3]])] == [9]


def _fails_on_five(chunk):
    if 5 in chunk:
        raise LookupError("chunk with five")
    return chunk


def test_an_exception_in_a_worker_is_raised_in_the_caller_and_the_workers_end():
    with pytest.raises(LookupError, match="chunk with five"):
        list(parallel.run_chunks(_fails_on_five, [[n] for n in range(20)]))
    assert multiprocessing.active_children() == []


def test_a_caller_that_stops_early_leaves_no_worker_behind():
    results = parallel.run_chunks(_square_sum, [[n] for n in range(1000)], window=4)
    first = next(results)
    assert first[1] in {n * n for n in range(1000)}
    results.close()
    assert multiprocessing.active_children() == []


def test_a_result_that_cannot_be_sent_is_an_error_that_names_no_content():
    with pytest.raises(RuntimeError, match="could not send its result") as raised:
        list(parallel.run_chunks(lambda chunk: (lambda: chunk), [["private text"]]))
    assert "private" not in str(raised.value)


def test_one_worker_runs_the_chunks_here_in_turn(monkeypatch):
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    assert [pid for pid, _ in parallel.run_chunks(_square_sum, [[1], [2]])] == [os.getpid(), os.getpid()]


def _echo(chunk):
    return chunk * 2


def test_large_chunks_and_large_results_pass_through_the_pipes_both_ways():
    """Chunks and results far larger than a pipe holds: a worker busy sending its result is never
    sent a chunk it has no room for (the parent would wait for it as it waits for the parent)."""
    chunks = [[str(n) * 100_000] for n in range(12)]
    done = list(parallel.run_chunks(_echo, chunks))
    assert sorted(d[0] for d in done) == sorted(c[0] for c in chunks)


def test_small_and_large_chunks_mixed_are_each_answered_once():
    chunks = [[n] if n % 3 else [n, "x" * 50_000] for n in range(40)]
    done = list(parallel.run_chunks(_echo, chunks, window=8))
    assert sorted(d[0] for d in done) == list(range(40))
    assert multiprocessing.active_children() == []


_KILLED_PARENT = """
import os, sys, time
from cpcm.store import parallel
parallel.workers = lambda: 2
def job(chunk):
    time.sleep(0.05)
    return chunk
for _ in parallel.run_chunks(job, [[n] for n in range(10_000)]):
    import multiprocessing
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    time.sleep(600)
"""


def _ended(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # ended, not yet waited for
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no /proc here")
def test_workers_end_when_the_parent_is_killed(tmp_path):
    """The parent killed (the OOM killer, kill -9) while its workers work: each worker finds its
    pipe ended and stops, rather than waiting for ever for a chunk (holding the identity's keys
    in memory)."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(parallel.__file__).resolve().parents[2])
    parent = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": root})
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert len(pids) == 2
    try:
        for _ in range(600):  # up to a minute on a busy machine; it takes a few milliseconds
            if all(_ended(pid) for pid in pids):
                break
            time.sleep(0.1)
        assert all(_ended(pid) for pid in pids), "a worker outlived its parent"
    finally:
        for pid in pids:
            if not _ended(pid):
                os.kill(pid, signal.SIGKILL)


_WIDE_WINDOW = """
from cpcm.store import parallel
parallel.workers = lambda: 2
def job(chunk):
    return "r" * 1_000_000
print(sum(1 for _ in parallel.run_chunks(job, [["x" * 8000] for _ in range(200)], window=100)))
"""


def test_a_wide_window_with_large_results_does_not_deadlock(tmp_path):
    """However wide the window, no more small chunks wait in a worker's pipe than it holds: else
    the parent waits to write to a worker that waits to write its result to the parent."""
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(parallel.__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", _WIDE_WINDOW], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": root})
    assert (done.returncode, done.stdout.strip()) == (0, "200"), done.stderr


def _killed_on_five(chunk):
    if chunk[0] == 5:
        os.kill(os.getpid(), 9)  # as the out-of-memory killer does
    return chunk * chunk[1]


@pytest.mark.parametrize("size", [1, 200_000], ids=["small", "large"])
def test_a_worker_killed_mid_chunk_is_an_error_saying_so(size):
    """Whether its pipe reads as ended, is reset (a chunk left unread in it) or is broken (the
    parent writing the next chunk), a worker killed while it works is the same error."""
    with pytest.raises(RuntimeError, match="a worker process ended before it finished its work"):
        list(parallel.run_chunks(_killed_on_five, [[n, size] for n in range(40)]))
    assert multiprocessing.active_children() == []


_PREPARED: list[int] = []


def _prepared(chunk):
    return os.getpid(), list(_PREPARED)


def test_prepare_runs_here_once_before_the_workers_are_forked_and_not_when_the_chunks_run_here(monkeypatch):
    _PREPARED.clear()
    done = list(parallel.run_chunks(_prepared, [[n] for n in range(6)], prepare=lambda: _PREPARED.append(os.getpid())))
    assert _PREPARED == [os.getpid()]
    assert all(seen == [os.getpid()] for _, seen in done)  # every worker has what it made, from the fork
    _PREPARED.clear()
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    done = list(parallel.run_chunks(_prepared, [[n] for n in range(3)], prepare=lambda: _PREPARED.append(os.getpid())))
    assert _PREPARED == [] and all(seen == [] for _, seen in done)
