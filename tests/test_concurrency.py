"""Two writers at once: the repository lock serialises them and nothing is lost; a lock held too
long gives exit 6 and writes nothing; readers never wait for a write."""
from __future__ import annotations

import fcntl
import signal
import json
import os
import time

import pytest

from conftest import commit_count, git, git_status, head, record_files, register, registration, stray_files


@pytest.fixture
def held_lock(repo):
    """Hold the repository lock as another cpcm command would, until the test ends."""
    fd = os.open(repo / ".cpcm" / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    yield
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def holds_open(pid: int, path) -> bool:
    """Whether process `pid` has `path` open (it is then inside the lock's retry loop)."""
    try:
        return any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


def test_register__two_processes_at_once_both_land(cli, repo):
    before = commit_count(repo)
    docs = [registration(child={"name": f"Child {n}", "sex": "male", "age_estimate": 5 + n}) for n in (1, 2)]
    procs = [cli.process("register", "--from-file", "-", "--json", wait=False) for _ in docs]
    for proc, doc in zip(procs, docs):
        proc.stdin.write(json.dumps(doc))
        proc.stdin.close()
    outputs = [(proc.stdout.read(), proc.stderr.read()) for proc in procs]
    for proc in procs:
        proc.wait(timeout=120)
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    created = [json.loads(out) for out, _ in outputs]
    case_ids = {c["case_id"] for c in created}
    assert len(case_ids) == 2
    assert commit_count(repo) == before + 2
    subjects = git(repo, "log", "-2", "--format=%s").splitlines()
    assert sorted(subjects) == sorted(f"register {c['case_id']} {c['record_id']}" for c in created)
    # each commit holds one whole case: its recipients file and its one record
    for sha in git(repo, "log", "-2", "--format=%H").split():
        files = git(repo, "show", "--name-only", "--format=", sha).split()
        assert len(files) == 2 and any(f.endswith("/recipients") for f in files)
    assert {p.parent.name for p in record_files(repo)} == case_ids
    assert git_status(repo) == [] and stray_files(repo) == []
    listed = cli("list", "--json")
    assert listed.code == 0, listed.stderr
    ages = {c["case_id"]: c["age"] for c in listed.json()}
    assert sorted(ages.values()) == [6, 7]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to see that both writers wait for the lock")
def test_register__two_writers_waiting_on_the_lock_both_land_once_it_is_free(cli, repo):
    """Both processes are made to wait on the lock at the same time, then it is released."""
    lock = (repo / ".cpcm" / "lock").resolve()
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        docs = [registration(child={"name": f"Child {n}", "sex": "female", "age_estimate": 9 + n}) for n in (1, 2)]
        procs = [cli.process("register", "--from-file", "-", "--json", wait=False) for _ in docs]
        for proc, doc in zip(procs, docs):
            proc.stdin.write(json.dumps(doc))
            proc.stdin.close()
        deadline = time.monotonic() + 120  # a bound on a hung test only, not a timed assertion
        while not all(holds_open(p.pid, lock) for p in procs):
            assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs]
            assert time.monotonic() < deadline, "the writers never reached the lock"
            time.sleep(0.05)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    outputs = [(p.stdout.read(), p.stderr.read(), p.wait(timeout=120)) for p in procs]
    assert [code for _, _, code in outputs] == [0, 0], [err for _, err, _ in outputs]
    case_ids = {json.loads(out)["case_id"] for out, _, _ in outputs}
    assert len(case_ids) == 2
    assert {p.parent.name for p in record_files(repo)} == case_ids
    assert git(repo, "log", "-2", "--format=%s").count("register ") == 2
    assert git_status(repo) == [] and stray_files(repo) == []


def test_register__busy_lock_gives_exit_6_and_writes_nothing(cli, repo, held_lock):
    before = head(repo)
    result = cli("register", "--from-file", "-", input=json.dumps(registration()), env={"CPCM_LOCK_TIMEOUT": "1"})
    assert result.code == 6, result.stderr
    assert "busy" in result.stderr and "CPCM_LOCK_TIMEOUT" in result.stderr
    assert "Traceback" not in result.stderr
    assert head(repo) == before
    assert record_files(repo) == []
    assert git_status(repo) == [] and stray_files(repo) == []


@pytest.mark.parametrize("value", ["abc", "-5", "nan", "inf"])
def test_a_lock_timeout_that_is_no_number_of_seconds_gives_a_usage_error_and_writes_nothing(cli, repo, value):
    case_id = register(cli)
    before = head(repo)
    result = cli("note", case_id, "--text", "x", "--json", env={"CPCM_LOCK_TIMEOUT": value})
    assert result.code == 2, result.stderr
    assert "CPCM_LOCK_TIMEOUT" in result.json()["message"]
    assert head(repo) == before


def test_assign__busy_lock_gives_exit_6(cli_as, repo):
    case_id = register(cli_as("amina"))
    before = head(repo)
    fd = os.open(repo / ".cpcm" / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = cli_as("sup")("assign", case_id, "--worker", "otieno", env={"CPCM_LOCK_TIMEOUT": "1"})
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert result.code == 6, result.stderr
    assert head(repo) == before and git_status(repo) == []
    assert cli_as("sup")("assign", case_id, "--worker", "otieno").code == 0  # once the lock is free


def test_reads__do_not_wait_for_a_write_under_way(cli, repo):
    """A write under way, exactly as a writer leaves it: the lock held and `.cpcm/pending.json` written."""
    from cpcm.store.casestore import CaseStore, Transaction
    from cpcm.store.layout import PENDING

    case_id = register(cli)
    before = head(repo)
    # a timeout of 0 would make any reader that takes the lock fail at once
    env = {"CPCM_LOCK_TIMEOUT": "0"}
    with Transaction(CaseStore(repo), "note", "sup", "sup", "sup@test") as writing:
        assert (repo / PENDING).exists() and writing.recovered is None
        results = [cli("show", case_id, env=env), cli("list", env=env), cli("log", case_id, env=env)]
        assert (repo / PENDING).exists()  # no reader rolled back the write under way
    assert head(repo) == before
    assert [r.code for r in results] == [0, 0, 0], [r.stderr for r in results]


# -- readers during a write: the last commit, never the writer's files ----------------------------
def paused_writer(cli, step: str, *args: str):
    """A real cpcm process stopped (SIGSTOP) at `step` of its write, holding the lock."""
    proc = cli.process(*args, wait=False, env={"CPCM_TEST_PAUSE_AT": step})
    proc.stdin.close()
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"the writer ended before {step}: {proc.stderr.read()}"
    return proc


def resume(proc) -> int:
    os.kill(proc.pid, signal.SIGCONT)
    err = proc.stderr.read()
    code = proc.wait(timeout=120)
    assert code == 0, err
    return code


def test_reads__during_a_paused_note_see_the_last_commit_and_leave_the_write_alone(cli, repo):
    case_id = register(cli)
    before = cli("show", case_id, "--json").json()
    listed = cli("list", "--json").json()
    # paused after the note's record file is in place (atomic write 2: the note record), before git add
    writer = paused_writer(cli, "atomic-dir-fsynced#2", "note", case_id, "--text", "seen at school")
    try:
        on_disk = git_status(repo)
        assert any(line.startswith("??") and line.endswith(".note.yaml.age") for line in on_disk), on_disk
        env = {"CPCM_LOCK_TIMEOUT": "0"}  # a reader that took the lock would fail at once
        shown, listing, verified = cli("show", case_id, "--json", env=env), cli("list", "--json", env=env), cli("log", case_id, env=env)
        assert [shown.code, listing.code, verified.code] == [0, 0, 0], [shown.stderr, listing.stderr, verified.stderr]
        assert shown.json()["history"] == before["history"]  # the uncommitted note is not there
        assert listing.json() == listed
        assert git_status(repo) == on_disk and (repo / ".cpcm" / "pending.json").exists()  # not rolled back
    except BaseException:
        writer.kill()
        raise
    resume(writer)
    after = cli("show", case_id, "--json").json()
    assert [e["kind"] for e in after["history"]] == [e["kind"] for e in before["history"]] + ["note"]
    assert git_status(repo) == [] and stray_files(repo) == []


def test_reads__during_a_paused_assign_see_the_readers_of_the_last_commit(cli_as, repo):
    amina, otieno = cli_as("amina"), cli_as("otieno")
    case_id = register(amina)
    # paused after every record is re-encrypted to the new readers and staged, before the commit
    writer = paused_writer(cli_as("sup"), "git-update-index-done", "assign", case_id, "--worker", "otieno")
    try:
        shown = amina("show", case_id, "--json")
        assert shown.code == 0, shown.stderr  # the committed files are still amina's to read
        assert [e["kind"] for e in shown.json()["history"]] == ["registration"]
        assert otieno("show", case_id).code == 5  # not a reader until the assignment is committed
        assert case_id in {c["case_id"] for c in amina("list", "--json").json()}
    except BaseException:
        writer.kill()
        raise
    resume(writer)
    assert amina("show", case_id).code == 5
    assert otieno("show", case_id).code == 0
    assert case_id not in {c["case_id"] for c in amina("list", "--json").json()}  # no stale summary cached


def test_reads__a_session_s_pin_ends_once_the_write_that_needed_it_has_a_command_s_lasts_for_the_command(cli, repo, monkeypatch):
    """A write that starts while a case is read pins the last commit. A script's session
    (service.open_repo, many operations in one process) kept reading that commit until it wrote
    itself: a note committed since by another command was missing from every later read. Its pin
    now ends once the generation moves again; a command's store keeps its pin to its end."""
    from conftest import library_session
    from cpcm import service
    from cpcm.store.casestore import CaseStore

    case_id = register(cli)
    session, command = library_session(cli), library_session(cli)
    command.store.one_command = True  # as the command line opens its store (cli.common.open_ctx)
    real_decode = CaseStore._decode
    for ctx in (session, command):
        assert [r.kind for r in service.load_records(ctx, case_id)] == ["registration"]
        writer = CaseStore(repo).transaction("note", "amina", "amina", "amina@test.invalid")
        started = []

        def decode(self, *args, **kwargs):
            if self is ctx.store and not started:  # another cpcm starts a write while this one reads
                started.append(writer.__enter__())
            return real_decode(self, *args, **kwargs)

        monkeypatch.setattr(CaseStore, "_decode", decode)
        try:
            assert [r.kind for r in service.load_records(ctx, case_id)] == ["registration"]
        finally:
            writer.__exit__(None, None, None)
            monkeypatch.setattr(CaseStore, "_decode", real_decode)
        assert started and ctx.store.view is not None  # pinned to the last commit
    assert cli("note", case_id, "--text", "second visit").code == 0  # another command commits a record
    assert [r.kind for r in service.load_records(session, case_id)] == ["registration", "note"]
    assert session.store.view is None
    assert [r.kind for r in service.load_records(command, case_id)] == ["registration"]  # for the rest of the command


def test_reads__a_write_that_starts_while_a_case_is_read_sends_the_reader_to_the_last_commit(cli, repo, team, monkeypatch):
    """The seqlock: a reader that began on the working tree and sees the write generation move
    reads the case again from the last commit."""
    from cpcm.crypto import identity
    from cpcm.store.casestore import CaseStore

    case_id = register(cli)
    assert cli("note", case_id, "--text", "first visit").code == 0
    keys = identity.load(team["amina"][0], lambda: None).keys
    reader = CaseStore(repo)
    reader.open_for_read()
    assert reader.view is None  # no write under way: the working tree
    files = reader.record_files(case_id)
    assert len(files) == 2
    writer = CaseStore(repo).transaction("note", "amina", "amina", "amina@test.invalid")
    real_decode = CaseStore._decode
    started = []

    def decode(self, *args, **kwargs):
        if self is reader and not started:  # a writer starts between the reader's two files
            started.append(writer.__enter__())
            writer.replace_file(writer.store.rel(files[1]), b"age-encryption.org/v1\n-> X25519 half")
        return real_decode(self, *args, **kwargs)

    monkeypatch.setattr(CaseStore, "_decode", decode)
    try:
        records = reader.read_records(case_id, keys)
    finally:
        writer.__exit__(None, None, None)
    assert started and reader.view is not None
    assert [r.kind for r in records] == ["registration", "note"]
    assert git_status(repo) == [] and stray_files(repo) == []
