"""A batch (many files in one transaction) fsyncs its first files one by one and flushes the rest
of them together before its commit (cpcm/store/atomic.py); killed anywhere before the commit, the
next command rolls the whole batch back, as for a single write."""
from __future__ import annotations

import json
import os
import signal

import pytest

from conftest import commit_count, head
from cpcm import service
from cpcm.store import atomic
from cpcm.store.casestore import DURABLE_EACH
from test_crash import leftovers, listed, run_killed
from test_followup_close import REVIEW, _planned_cases

CASES = DURABLE_EACH + 4  # more records than are fsynced one by one


@pytest.fixture
def batch(cli, repo, team, tmp_path):
    ids = _planned_cases(repo, team["amina"][0], CASES)
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps([dict(REVIEW, case=case_id) for case_id in ids]))
    return ids, path


def test_a_batch_fsyncs_its_first_files_and_flushes_the_rest_once_before_its_commit(cli, repo, batch, monkeypatch):
    import threading
    import time

    from cpcm.store.git import Git

    steps = []
    real_run = Git.run
    monkeypatch.setattr(os, "fsync", lambda fd: steps.append("fsync"))

    def slow_flush(folder):  # a slow disk: the branch must still wait for the flush to end
        time.sleep(0.3)
        steps.append(("flush", str(folder), threading.current_thread() is threading.main_thread()))
    monkeypatch.setattr(atomic, "flush_file_system", slow_flush)
    monkeypatch.setattr(Git, "run", lambda self, args, *a, **k: (steps.append(args[0]), real_run(self, args, *a, **k))[1])
    real_move = Git._move_head  # the branch moved: written as git does, or by `git update-ref`
    monkeypatch.setattr(Git, "_move_head", lambda self, *a, **k: (steps.append("move"), real_move(self, *a, **k))[1])
    result = cli("review", "--batch", str(batch[1]), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["reviewed"] == CASES
    flush = ("flush", str(repo), False)  # in a thread of its own, while git stages the files
    assert steps.count(flush) == 1 and not any(s[0] == "flush" for s in steps if isinstance(s, tuple) and s != flush)
    # the journal and its folder, then each of the first files and its folder; the flush of the rest before the
    # branch moves
    assert steps[:steps.index(flush)].count("fsync") == 2 + 2 * DURABLE_EACH
    assert steps.index(flush) < steps.index("move") and steps.count("move") == 1
    assert "fsync" not in steps[steps.index(flush):steps.index("move")]


def test_a_single_write_is_never_left_to_a_flush(cli, repo, monkeypatch):
    from conftest import register

    flushed = []
    monkeypatch.setattr(atomic, "flush_file_system", lambda folder: flushed.append(folder))
    register(cli)
    assert flushed == []


@pytest.mark.parametrize("step", [f"atomic-renamed#{DURABLE_EACH + 2}", "batch-flushed"])
def test_a_batch_killed_before_its_commit_is_rolled_back_by_the_next_command(cli, repo, batch, step):
    before_head, before = head(repo), listed(cli)
    done = run_killed(cli, {"CPCM_TEST_CRASH_AT": step}, "review", "--batch", str(batch[1]))
    assert done.returncode == -signal.SIGKILL, f"did not reach {step}: {done.returncode} {done.stderr}"
    assert head(repo) == before_head
    assert listed(cli) == before  # the reader recovers: no review of the batch is left
    assert leftovers(repo) == []
    count = commit_count(repo)
    again = cli("review", "--batch", str(batch[1]), "--json")
    assert again.code == 0 and again.json()["reviewed"] == CASES
    assert commit_count(repo) == count + 1 and leftovers(repo) == []


def test_flush_file_system_makes_the_files_durable_with_one_call(tmp_path, monkeypatch):
    calls = []
    if atomic._LIBC is not None and hasattr(atomic._LIBC, "syncfs"):
        real = atomic._LIBC.syncfs
        monkeypatch.setattr(atomic, "_LIBC", type("C", (), {"syncfs": staticmethod(lambda fd: (calls.append(fd), real(fd))[1])})())
    else:
        monkeypatch.setattr(os, "sync", lambda: calls.append("sync"))
    atomic.write(tmp_path / "a", b"x", durable=False)
    atomic.flush_file_system(tmp_path)
    assert len(calls) == 1 and (tmp_path / "a").read_bytes() == b"x"


def test_a_large_batch_is_encrypted_on_every_core_and_reads_back(cli, repo, batch, monkeypatch):
    from cpcm.service import followups
    from cpcm.store import casestore, parallel

    used, sealed_here = [], []
    real, real_seal = parallel.run_chunks, casestore.seal
    monkeypatch.setattr(followups, "SPREAD_FROM", 2)
    monkeypatch.setattr(followups, "SPREAD_CHUNK", 3)
    monkeypatch.setattr(parallel, "run_chunks", lambda job, chunks, *a: (used.append(job), real(job, chunks, *a))[1])
    monkeypatch.setattr(casestore, "seal", lambda *a: (sealed_here.append(os.getpid()), real_seal(*a))[1])
    count = commit_count(repo)
    result = cli("review", "--batch", str(batch[1]), "--json")
    assert result.code == 0, result.stderr
    assert len(used) == 1  # the rows checked and their reviews made and encrypted in worker processes...
    assert sealed_here == []  # ...none of them in this one
    assert commit_count(repo) == count + 1 and leftovers(repo) == []
    records = {r["case_id"]: r["record_id"] for r in result.json()["records"]}
    assert list(records) == batch[0]  # in row order
    for case_id, record_id in records.items():
        shown = cli("show", case_id, record_id, "--json")
        assert shown.code == 0, shown.stderr
        assert shown.json()["kind"] == "review" and shown.json()["fields"]["chair"] == "sup"


@pytest.mark.parametrize("spread", [False, True])
def test_reviews_written_before_a_later_row_is_found_wrong_are_taken_back(cli, repo, batch, monkeypatch, tmp_path, spread):
    from cpcm.service import followups
    from cpcm.store.casestore import Transaction

    ids, _ = batch
    rows = [dict(REVIEW, case=case_id) for case_id in ids]
    rows[-1] = dict(REVIEW, case=ids[-1], plan_still_right="maybe")  # a bad choice, in the last chunk
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(rows))
    written = []
    real = Transaction.write_sealed
    monkeypatch.setattr(Transaction, "write_sealed", lambda self, *a: (written.append(1), real(self, *a))[1])
    monkeypatch.setattr(followups, "SPREAD_CHUNK", 3)
    if spread:
        monkeypatch.setattr(followups, "SPREAD_FROM", 2)
    before_head, count = head(repo), commit_count(repo)
    result = cli("review", "--batch", str(path), "--json")
    assert result.code != 0 and f"row {CASES}" in result.stderr and "nothing was written" in result.stderr
    if not spread:
        assert written  # the chunks come back in order: the first ones were written before the last was checked
    assert head(repo) == before_head and commit_count(repo) == count
    assert leftovers(repo) == []  # no file, no staged entry, no note


@pytest.mark.parametrize("where", ["written", "folder-fsync"])
def test_a_ctrl_c_just_after_a_review_file_is_written_leaves_nothing_the_next_command_keeps(cli, repo, batch, monkeypatch, where):
    """Ctrl-C once a record file is on disk and before the transaction has noted it (just after `atomic.write`
    returned, or inside it, the file linked and its folder being fsynced): the transaction's own roll-back takes
    the file back with the others, so that no record file is left uncommitted once its note is gone (no later
    command would roll it back, and the batch run again would count that review as recorded)."""
    from cpcm.store import casestore

    ids, path = batch
    before_head, count = head(repo), commit_count(repo)
    reviews = []
    real_write, real_fsync_dir = atomic.write, atomic.fsync_dir

    def write(target, data, *args, **kwargs):
        real_write(target, data, *args, **kwargs)
        if str(target).endswith(".review.yaml.age"):
            reviews.append(target)
            if where == "written" and len(reviews) == DURABLE_EACH + 2:  # past the files fsynced one by one
                raise KeyboardInterrupt

    def fsync_dir(folder):
        real_fsync_dir(folder)
        if len(reviews) == 0 and any(name.endswith(".review.yaml.age") for name in os.listdir(folder)):
            raise KeyboardInterrupt  # the first review linked in its case's folder, `atomic.write` not yet returned
    with monkeypatch.context() as patch:
        patch.setattr(casestore.atomic, "write", write)
        patch.setattr(casestore.atomic, "fsync_dir", fsync_dir)
        stopped = cli("review", "--batch", str(path))
    assert stopped.code == 130 and "nothing was written" in stopped.stderr
    assert head(repo) == before_head and commit_count(repo) == count
    assert leftovers(repo) == []  # the transaction took the file back itself...
    assert cli("list").code == 0 and leftovers(repo) == []  # ...and the next command finds nothing to roll back
    again = cli("review", "--batch", str(path), "--json")
    assert again.code == 0, again.stderr
    assert again.json()["reviewed"] == CASES and "already_recorded" not in again.json()
    assert commit_count(repo) == count + 1 and leftovers(repo) == []
