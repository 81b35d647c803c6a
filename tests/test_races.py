"""Checks that decide a write are made inside the repository lock, on the state the write lands
on. Each race of issue 11 is forced: one cpcm process is stopped (SIGSTOP) at `write-begin`,
after its checks and before its write, and another command is started against it; then the
first is let go. Before the fix the second command's checks ran on the state before the first
one's write (or the first one's on the state before the second's), so the write was wrong."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from conftest import NOW, Cli, git, git_status, make_identity, record_files, registration, stray_files
from cpcm.store.layout import case_dir

CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
          "--cost", "free"]
CONSENT = ["--purpose", "referral", "--agency", "clinic", "--status", "given", "--explained", "all", "--one-off"]
REFER = ["--service", "clinic", "--need", "treatment for malnutrition", "--check", "all", "--json"]

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to see a command wait for the lock")


def start(cli: Cli, args, input: str = "", env: dict | None = None):
    proc = cli.process(*args, wait=False, env=env)
    proc.stdin.write(input)
    proc.stdin.close()
    return proc


def paused(cli: Cli, args, input: str = ""):
    """A cpcm process stopped at `write-begin`: its checks are made, its write not begun."""
    proc = start(cli, args, input, env={"CPCM_TEST_PAUSE_AT": "write-begin"})
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"the command ended before its write: {proc.stderr.read()}"
    return proc


def waits_for_lock_or_ends(proc, repo) -> None:
    """Until `proc` has the repository lock file open (it waits for the lock) or has ended."""
    lock = str((repo / ".cpcm" / "lock").resolve())
    deadline = time.monotonic() + 120  # a bound on a hung test only, not a timed assertion
    while proc.poll() is None:
        try:
            if any(os.path.realpath(f"/proc/{proc.pid}/fd/{fd}") == lock for fd in os.listdir(f"/proc/{proc.pid}/fd")):
                return
        except (FileNotFoundError, ProcessLookupError):
            pass
        assert time.monotonic() < deadline, "the command neither reached the lock nor ended"
        time.sleep(0.02)


def finish(proc) -> tuple[int, str, str]:
    """Let a stopped process go (a no-op for a running one) and collect it."""
    os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.stdout.read(), proc.stderr.read()
    return proc.wait(timeout=120), out, err


def race(repo, first: tuple, *others: tuple) -> list[tuple[int, str, str]]:
    """`first` (cli, args, stdin) stopped between its checks and its write; each of `others`
    started and waiting for the lock (or done); then all of them to the end. Results in that
    order: (exit code, stdout, stderr)."""
    held = paused(*first)
    procs = []
    try:
        for other in others:
            proc = start(*other)
            waits_for_lock_or_ends(proc, repo)
            procs.append(proc)
    except BaseException:
        held.kill()
        for proc in procs:
            proc.kill()
        raise
    results = [finish(held)]
    results += [finish(proc) for proc in procs]
    return results


def readable_by(cli: Cli, case_id: str) -> list[str]:
    """The kinds of the case's records this worker reads, or [] when they cannot read the case."""
    shown = cli("show", case_id, "--json")
    return [e["kind"] for e in shown.json()["history"]] if shown.code == 0 else []


def decrypts(repo, identity_path, path) -> bool:
    from cpcm.crypto import cipher, identity

    try:
        cipher.decrypt(path.read_bytes(), identity.load(identity_path, lambda: None).keys)
    except cipher.NotARecipient:
        return False
    return True


# -- assign and note at once --------------------------------------------------------------------
def test_note_then_assign__the_note_lands_first_and_goes_with_the_case_to_the_new_worker(cli_as, repo, team):
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    case_id = json.loads(amina("register", "--from-file", "-", "--json", input=json.dumps(registration())).stdout)["case_id"]
    (noted, _, err), (assigned, _, err2) = race(repo, (amina, ["note", case_id, "--text", "seen at school"]),
                                                (sup, ["assign", case_id, "--worker", "otieno"]))
    assert (noted, assigned) == (0, 0), (err, err2)
    note_file = next(p for p in record_files(repo, case_id) if p.name.endswith(".note.yaml.age"))
    assert decrypts(repo, team["otieno"][0], note_file)
    assert not decrypts(repo, team["amina"][0], note_file)
    assert readable_by(otieno, case_id) == ["registration", "note", "assignment"]
    assert readable_by(amina, case_id) == []
    assert git_status(repo) == [] and stray_files(repo) == []


def test_assign_then_note__the_note_is_encrypted_to_the_new_readers(cli_as, repo, team):
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    case_id = json.loads(amina("register", "--from-file", "-", "--json", input=json.dumps(registration())).stdout)["case_id"]
    (assigned, _, err), (noted, _, err2) = race(repo, (sup, ["assign", case_id, "--worker", "otieno"]),
                                                (sup, ["note", case_id, "--text", "called the school"]))
    assert (assigned, noted) == (0, 0), (err, err2)
    note_file = next(p for p in record_files(repo, case_id) if p.name.endswith(".note.yaml.age"))
    assert decrypts(repo, team["otieno"][0], note_file)
    assert not decrypts(repo, team["amina"][0], note_file)
    assert readable_by(otieno, case_id) == ["registration", "assignment", "note"]
    assert amina("show", case_id).code == 5


def test_assign_then_a_note_by_the_old_worker__refused_and_nothing_written(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = json.loads(amina("register", "--from-file", "-", "--json", input=json.dumps(registration())).stdout)["case_id"]
    (assigned, _, err), (noted, _, err2) = race(repo, (sup, ["assign", case_id, "--worker", "otieno"]),
                                                (amina, ["note", case_id, "--text", "late visit"]))
    assert assigned == 0, err
    assert noted == 5, err2  # amina checked the case under the lock: no longer one of its readers
    assert not any(p.name.endswith(".note.yaml.age") for p in record_files(repo, case_id))
    assert git_status(repo) == [] and stray_files(repo) == []


# -- team remove during registers ---------------------------------------------------------------
@pytest.fixture
def manager(repo, team, tmp_env):
    """A manager (a reader of every case) who is then removed: (worker id, identity path)."""
    path = tmp_env / "keys" / "mgr.txt"
    recipient = make_identity(path)
    sup = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    added = sup("team", "add", "mgr", "--role", "manager", "--recipient", recipient)
    assert added.code == 0, added.stderr
    return "mgr", path


def registered_case(out: str) -> str:
    return json.loads(out)["case_id"]


def test_team_remove_then_register__the_later_case_is_not_encrypted_to_the_removed_member(cli_as, repo, manager):
    amina, sup = cli_as("amina"), cli_as("sup")
    worker, identity_path = manager
    doc = json.dumps(registration())
    held = paused(sup, ["team", "remove", worker])
    later = []
    try:
        for _ in range(2):
            proc = start(amina, ["register", "--from-file", "-", "--json"], doc)
            waits_for_lock_or_ends(proc, repo)
            later.append(proc)
    except BaseException:
        held.kill()
        raise
    removed, _, err = finish(held)
    assert removed == 0, err
    results = [finish(proc) for proc in later]
    assert [code for code, _, _ in results] == [0, 0], [e for _, _, e in results]
    for _, out, _ in results:
        case_id = registered_case(out)
        assert worker not in (case_dir(repo, case_id) / "recipients").read_text().split()
        for path in record_files(repo, case_id):
            assert not decrypts(repo, identity_path, path)
    assert git_status(repo) == [] and stray_files(repo) == []


def test_register_then_team_remove__the_case_registered_first_is_reencrypted_without_the_member(cli_as, repo, manager):
    amina, sup = cli_as("amina"), cli_as("sup")
    worker, identity_path = manager
    (registered, out, err), (removed, _, err2) = race(
        repo, (amina, ["register", "--from-file", "-", "--json"], json.dumps(registration())), (sup, ["team", "remove", worker]))
    assert (registered, removed) == (0, 0), (err, err2)
    case_id = registered_case(out)
    assert worker not in (case_dir(repo, case_id) / "recipients").read_text().split()
    assert not any(decrypts(repo, identity_path, p) for p in record_files(repo, case_id))
    assert git(repo, "log", "-1", "--format=%s").strip() == f"team remove {worker}"


# -- three refers on one one-off consent ---------------------------------------------------------
def test_three_refers_on_one_one_off_consent__exactly_one_lands_the_others_are_refused_by_the_consent_rule(cli, repo):
    assert cli(*CLINIC).code == 0
    case_id = json.loads(cli("register", "--from-file", "-", "--json", input=json.dumps(registration())).stdout)["case_id"]
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    results = race(repo, *[(cli, ["refer", case_id, *REFER])] * 3)
    codes = [code for code, _, _ in results]
    assert codes == [0, 4, 4], [err for _, _, err in results]
    for _, out, err in results[1:]:
        assert json.loads(out)["rule"] == "consent-required"
        assert "already used" in err
    referrals = [p for p in record_files(repo, case_id) if p.name.endswith(".referral.yaml.age")]
    assert len(referrals) == 1
    assert git_status(repo) == [] and stray_files(repo) == []


# -- a write outside the lock on state read before it --------------------------------------------
def test_transaction__refuses_a_write_decided_on_state_another_write_has_changed(cli, repo, team):
    """A service function that did not run under `writes` still cannot write on stale state."""
    from cpcm import service
    from cpcm.errors import Busy

    case_id = json.loads(cli("register", "--from-file", "-", "--json", input=json.dumps(registration())).stdout)["case_id"]
    ctx = service.open_repo(repo, team["amina"][0], now=None)
    case = service.load_case(ctx, case_id)  # read outside any lock
    assert cli("note", case_id, "--text", "another command wrote meanwhile").code == 0
    before = git(repo, "rev-parse", "HEAD")
    with pytest.raises(Busy):
        service.append(ctx, case, "note", "note", {"text": "decided on what was read before"}, None)
    assert git(repo, "rev-parse", "HEAD") == before
    assert git_status(repo) == [] and stray_files(repo) == []
    fresh = service.open_repo(repo, team["amina"][0])
    service.append(fresh, service.load_case(fresh, case_id), "note", "note", {"text": "on current state"}, None)
    assert len(record_files(repo, case_id)) == 3


# -- the clock warning of a command that waited for another's write --------------------------------
def test_a_command_that_waited_for_anothers_write_is_not_told_the_clock_is_behind(cli_as, repo):
    """Two notes at once, on the computer's clock (no $CPCM_NOW). The first read the clock, then
    waited for the lock while the second wrote; it then compared the time it read before waiting
    with the second's record, and warned that the computer's clock was behind. Its time is now
    read again once it holds the lock: its record comes after the other, with no warning."""
    clock = {"CPCM_NOW": ""}  # the computer's clock
    amina = cli_as("amina", **clock)
    case_id = json.loads(amina("register", "--from-file", "-", "--json", input=json.dumps(registration())).stdout)["case_id"]
    first = start(amina, ["note", case_id, "--text", "seen at school"], env={"CPCM_TEST_PAUSE_AT": "lock-wait", **clock})
    _, status = os.waitpid(first.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), first.stderr.read()  # its clock read, the lock not yet taken
    stopped = time.time()
    while time.time() < int(stopped) + 1:  # records keep whole seconds: the other's lands in a later one
        time.sleep(0.05)
    second = amina("note", case_id, "--text", "called the caregiver")
    assert second.code == 0 and "earlier" not in second.stderr, second.stderr
    code, _, err = finish(first)
    assert code == 0, err
    assert "clock" not in err and "earlier than the latest record" not in err, err
    history = amina("show", case_id, "--json").json()["history"]
    notes = [entry for entry in history if entry["kind"] == "note"]
    assert len(notes) == 2
    assert notes[0]["at"] <= notes[1]["at"], notes  # dated in the order written
    assert git_status(repo) == [] and stray_files(repo) == []


def test_an_override_in_several_cases_takes_the_lock_before_its_checks(cli_as, repo):
    """`cpcm consent CASE CASE --override` checks its cases in the repository lock, as every write does: a note
    written to another case while it waits for the lock does not make it fail as 'the repository changed'."""
    amina, sup = cli_as("amina"), cli_as("sup")

    def registered(**consent) -> str:
        done = amina("register", "--from-file", "-", "--json", input=json.dumps(registration(**({"consent": consent} if consent else {}))))
        return json.loads(done.stdout)["case_id"]
    impossible = {"child": "not_possible", "caregiver": "not_possible", "explained": True}
    first, second, other = registered(**impossible), registered(**impossible), registered()
    override = ["consent", first, second, "--override", "--purpose", "registration", "--basis", "legal_mandate",
                "--reason", "committal order on file"]
    proc = start(sup, override, env={"CPCM_TEST_PAUSE_AT": "lock-wait"})
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), proc.stderr.read()
    assert amina("note", other, "--text", "called the school").code == 0
    code, _, err = finish(proc)
    assert code == 0, err
    assert git(repo, "log", "-1", "--format=%s").strip() == "consent batch 2 cases"
