"""The keyworker of a case (IAG Step 3, L864-866): `cpcm assign CASE --keyworker WORKER` (a
colleague) or `--keyworker-name NAME --keyworker-role ROLE` (someone outside the team), each with
`--reason`; read back by `show` (and `--json`), `log` (codes only), the case file and the referral
letter; corrected with `cpcm correct`; the caseworker is the keyworker until one is nominated.
The name of someone outside the team is the canary: never in a commit, a file name, the log or
a message."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, commit_count, consent_both, git, register, settling_said
from test_privacy import TEMPLATES, files_with_marker, git_log_patch, git_objects, leaks

CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
          "--cost", "free"]


def keyworker_of(cli, case_id: str) -> dict:
    return cli("show", case_id, "--json").json()["keyworker"]


def test_walk__outside_keyworker_nominated_read_back_changed_corrected_and_never_leaked(repo, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    stderr = []

    # without a nomination, the caseworker is the keyworker, and show says so
    before = keyworker_of(amina, case_id)
    assert before["nominated"] is False and before["worker"] == "amina" and before["is_caseworker"] is True
    assert "amina (the caseworker: no keyworker nominated)" in amina("show", case_id).stdout

    # someone outside the team: the child's teacher
    done = amina("assign", case_id, "--keyworker-name", CANARY, "--keyworker-role", "teacher",
                 "--keyworker-contact", f"{CANARY} school", "--reason", f"the child trusts {CANARY}")
    assert done.code == 0, done.stderr
    stderr.append(done.stderr)
    said = done.stdout + done.stderr
    assert "outside the team (teacher)" in said and "caseworker: amina" in said
    assert not leaks(said.encode())
    now = keyworker_of(amina, case_id)
    assert now["nominated"] is True and now["outside"] is True
    assert now["name"] == CANARY and now["role"] == "teacher" and now["contact"] == f"{CANARY} school"
    assert now["reason"] == f"the child trusts {CANARY}" and now["by"] == "amina"
    shown = amina("show", case_id).stdout
    assert CANARY in shown and "outside the team" in shown and "Keyworker nominations" in shown

    # changed, with a reason, to a colleague (by a supervisor)
    changed = sup("assign", case_id, "--keyworker", "otieno", "--reason", "the child needs a male worker", "--json")
    assert changed.code == 0, changed.stderr
    stderr.append(changed.stderr)
    assert changed.json()["kind"] == "keyworker" and changed.json()["keyworker"] == "otieno (of the team)"
    history = amina("show", case_id, "--json").json()["keyworkers"]
    assert [(k["outside"], k["worker"], k["reason"]) for k in history] == [
        (True, None, f"the child trusts {CANARY}"), (False, "otieno", "the child needs a male worker")]
    assert all(k["case_worker"] == "amina" for k in history)

    # the log names codes and worker ids only
    log = amina("log", case_id, "--json").json()
    whats = [e["what"] for e in log if e["kind"] == "keyworker"]
    assert whats == ["outside the team (teacher)", "otieno (of the team)"]
    assert not leaks(amina("log", case_id).stdout.encode())

    # the first nomination corrected: the name was misspelt
    first = history[0]["record_id"]
    fixed = amina("correct", case_id, first, "--set", f"name={CANARY} Jr", "--reason", "name misspelt", "--json")
    assert fixed.code == 0, fixed.stderr
    stderr.append(fixed.stderr)
    again = amina("show", case_id, "--json").json()["keyworkers"]
    assert again[0]["name"] == f"{CANARY} Jr" and again[0]["corrects"] == first and again[0]["role"] == "teacher"
    assert keyworker_of(amina, case_id)["worker"] == "otieno"  # the later nomination still stands
    # a correction refused names the record's fields as --set gives them, not cpcm assign's options
    latest = again[0]["record_id"]  # the correction in force
    refused = amina("correct", case_id, latest, "--set", "role=astronaut", "--reason", "r")
    assert refused.code == 4 and "  - role: is not one of" in refused.stderr and "keyworker_role" not in refused.stderr, refused.stderr
    refused = amina("correct", case_id, latest, "--set", "worker=nobody", "--reason", "r")
    assert refused.code == 4 and "  - worker: " in refused.stderr and "--set name=" in refused.stderr, refused.stderr
    assert "--keyworker" not in refused.stderr

    # refused, nothing written: every message names the field, never the value typed
    commits = commit_count(repo)
    for args in (("--keyworker-name", CANARY, "--reason", "x"),  # no role
                 ("--keyworker-name", CANARY, "--keyworker-role", CANARY, "--reason", "x"),  # not a role
                 ("--keyworker", CANARY, "--reason", "x"),  # a name typed as a worker id
                 ("--keyworker-name", CANARY, "--keyworker-role", "teacher"),  # no reason
                 ("--keyworker", "otieno", "--reason", CANARY)):  # already the keyworker
        refused = amina("assign", case_id, *args)
        assert refused.code == 4, (args, refused.stderr)
        stderr.append(refused.stderr)
    assert commit_count(repo) == commits

    # the case file names the keyworker and the caseworker
    rendered = amina("render", "case-file", case_id)
    assert rendered.code == 0, rendered.stderr
    assert "Keyworker" in rendered.stdout and "otieno" in rendered.stdout
    assert CANARY in rendered.stdout  # the record of the first nomination, in full, in the whole case file

    # nowhere in plaintext: stderr, files, file names, temp files, git objects and commit messages
    assert not any(leaks(text.encode()) for text in stderr), stderr
    assert files_with_marker(repo) == []
    assert files_with_marker(tmp_env / "tmp") == []
    assert not leaks("\n".join(str(p) for p in repo.rglob("*")).encode())
    assert not leaks(git_objects(repo)) and not leaks(git_log_patch(repo))
    messages = [m.strip() for m in git(repo, "log", "--format=%B%x00").split("\0") if m.strip()]
    assert messages and all(TEMPLATES.match(m) for m in messages), messages
    assert amina("verify").code == 0


def test_refusals__each_names_its_field_exit_4_and_nothing_is_written(repo, cli_as):
    amina = cli_as("amina")
    case_id = register(amina)
    commits = commit_count(repo)
    cases = {
        ("--keyworker-name", "A Teacher", "--reason", "trust"): "keyworker_role: is required",
        ("--keyworker-name", "A Teacher", "--keyworker-role", "headmaster", "--reason", "trust"): "keyworker_role: is not one of",
        ("--keyworker", "nobody", "--reason", "trust"): "keyworker: is no active worker of the team",
        ("--keyworker", "otieno"): "reason: is required",
        ("--keyworker", "otieno", "--keyworker-name", "A Teacher", "--keyworker-role", "teacher", "--reason", "x"):
            "keyworker: is a worker of the team: give it alone",
        ("--keyworker-role", "teacher", "--reason", "x"): "keyworker_name: is required with --keyworker-role",
        ("--keyworker", "otieno", "--keyworker-contact", "0700", "--reason", "x"): "keyworker_contact: goes with --keyworker-name",
        ("--keyworker", "amina", "--reason", "x"): "already-keyworker",  # the caseworker, by default
    }
    for args, said in cases.items():
        refused = amina("assign", case_id, *args, "--json")
        assert refused.code == 4, (args, refused.stderr)
        assert said in refused.stderr or said in refused.stdout, (args, refused.stderr, refused.stdout)
        assert "nobody" not in refused.stderr and "headmaster" not in refused.stderr and "A Teacher" not in refused.stderr
    assert commit_count(repo) == commits
    assert keyworker_of(amina, case_id)["nominated"] is False


def test_who__the_cases_worker_or_a_supervisor_nominates_another_caseworker_is_refused(repo, cli_as):
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    case_id = register(amina)
    assert sup("assign", case_id, "--cover", "otieno", "--until", "2026-12-31").code == 0  # otieno reads and writes it
    commits = commit_count(repo)
    refused = otieno("assign", case_id, "--keyworker", "otieno", "--reason", "x")
    assert refused.code == 4 and "only the case's worker, a supervisor or a manager nominates the keyworker" in refused.stderr
    assert commit_count(repo) == commits
    assert sup("assign", case_id, "--keyworker", "otieno", "--reason", "knows the family").code == 0


def test_a_colleague_who_does_not_read_the_case_is_warned_of(repo, cli_as):
    amina = cli_as("amina")
    case_id = register(amina)
    done = amina("assign", case_id, "--keyworker", "otieno", "--reason", "knows the family")
    assert done.code == 0, done.stderr
    assert "otieno is the keyworker of" in done.stderr and "does not read it" in done.stderr


def test_usage__a_nomination_goes_alone_and_reason_only_with_one(repo, cli_as):
    amina = cli_as("amina")
    case_id = register(amina)
    both = amina("assign", case_id, "--keyworker", "otieno", "--worker", "otieno", "--reason", "x")
    assert both.code == 2 and "--worker goes with assigning the case, not with nominating its keyworker" in both.stderr
    stray = amina("assign", case_id, "--worker", "otieno", "--reason", "x")
    assert stray.code == 2 and "--reason goes with --keyworker or --keyworker-name" in stray.stderr
    assert keyworker_of(amina, case_id)["nominated"] is False


def test_transitions__a_nomination_at_every_open_stage_none_on_a_closed_or_transferred_case():
    from cpcm.workflow import transitions

    assert "keyworker" in transitions.allowed("implementation")
    assert "keyworker" not in transitions.allowed("closed") and "keyworker" not in transitions.allowed("transferred")


def test_referral_letter__names_the_keyworker_and_the_caseworker_if_different(repo, cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    assert sup(*CLINIC).code == 0
    consent_both(amina, case_id)
    assert amina("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    plain = amina("render", "referral-letter", case_id, "R1")
    assert plain.code == 0, plain.stderr
    assert "Keyworker" not in plain.stdout  # the caseworker is the keyworker: one person, as before
    assert amina("assign", case_id, "--keyworker-name", CANARY, "--keyworker-role", "teacher", "--reason", "trust").code == 0
    letter = amina("render", "referral-letter", case_id, "R1").stdout
    assert "Keyworker" in letter and "Caseworker" in letter and "teacher" in letter
    shares_contact = "contact" in json.loads(json.dumps(amina("show", case_id, "R1", "--json").json()))["fields"].get("shared_groups", [])
    assert (CANARY in letter) == shares_contact  # the person's name goes where how to reach the child goes


@pytest.mark.parametrize("role", ["teacher", "community_volunteer"])
def test_pure__problems_and_described(role):
    from cpcm.workflow import keyworker

    assert keyworker.problems({"name": "X", "role": role, "reason": "r"}, ["amina"]) == []
    assert keyworker.described({"name": "X", "role": role}) == f"outside the team ({role.replace('_', ' ')})"
    assert keyworker.described({"name": "X", "role": "X"}) == "outside the team"  # a role not of the list is not repeated
    assert keyworker.described({"worker": "amina"}) == "amina (of the team)"
    assert [f for f, _ in keyworker.problems({}, ["amina"])] == ["keyworker", "reason"]
    # a colleague with a contact: the contact is what goes with --keyworker-name, and nothing says "not both"
    # of a name and role never given
    assert keyworker.problems({"worker": "amina", "contact": "0700", "reason": "r"}, ["amina"]) == [
        ("keyworker_contact", "goes with --keyworker-name: how to reach someone outside the team")]


@pytest.fixture
def laptops(repo, team, tmp_env):
    from test_sync import Laptops

    return Laptops(repo, team, tmp_env)


def test_sync__two_copies_nominating_different_keyworkers_apart_is_a_conflict_settled_by_nominating_again(laptops):
    """amina nominates the child's teacher on her laptop while the supervisor nominates otieno on
    theirs: the later stands, and the other would be gone without a word. The merge records
    `keyworkers-concurrent`; check reports it until the keyworker is nominated again (the one that
    stands may be confirmed) or a note. The same keyworker nominated on both copies is none."""
    from test_sync import check_codes, merge_both, shared_case

    amina, sup, case_id = shared_case(laptops)
    assert amina("assign", case_id, "--keyworker-name", CANARY, "--keyworker-role", "teacher", "--reason", "trust").code == 0
    assert sup("assign", case_id, "--keyworker", "otieno", "--reason", "a male worker").code == 0
    merged = merge_both(laptops)
    conflicts = [c for c in merged["conflicts"] if c["case"] == case_id]
    assert [c["code"] for c in conflicts] == ["keyworkers-concurrent"] and len(conflicts[0]["records"]) == 2, conflicts
    assert "keyworkers-concurrent" in check_codes(sup, case_id) and "keyworkers-concurrent" in check_codes(amina, case_id)
    advice = next(p["message"] for p in json.loads(amina("check", case_id, "--json").stdout) if p["code"] == "keyworkers-concurrent")
    assert f"cpcm assign {case_id} --keyworker WORKER" in advice and not leaks(advice.encode())
    standing = keyworker_of(amina, case_id)
    again = (("--keyworker", standing["worker"]) if not standing["outside"]
             else ("--keyworker-name", standing["name"], "--keyworker-role", standing["role"]))
    confirmed = amina("assign", case_id, *again, "--reason", "checked with the supervisor")  # the one that stands: allowed now
    assert confirmed.code == 0, confirmed.stderr
    assert "settles the sync conflict (keyworkers-concurrent)" in confirmed.stdout + confirmed.stderr
    assert len(settling_said(confirmed, "keyworkers-concurrent")) == 1, confirmed.stderr  # said once: not again as a warning
    assert "keyworkers-concurrent" not in check_codes(amina, case_id)
    merge_both(laptops)
    assert "keyworkers-concurrent" not in check_codes(sup, case_id)
    # the same keyworker on both copies: no conflict
    assert amina("assign", case_id, "--keyworker", "amina", "--reason", "back to the caseworker").code == 0
    assert sup("assign", case_id, "--keyworker", "amina", "--reason", "back to the caseworker").code == 0
    merged = merge_both(laptops)
    assert [c for c in merged["conflicts"] if c["case"] == case_id] == []


def test_a_colleague_nominated_who_leaves_the_team_is_said_so_by_show(repo, cli_as):
    """otieno is nominated keyworker and then leaves the team: `show` no longer reads as if the
    child still had him as their point of contact; it says he left and how to nominate another
    (`off_team` in --json), `team remove` names the case and `cpcm check` warns of it. Another keyworker
    nominated, it is said no more."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    assert amina("assign", case_id, "--keyworker", "otieno", "--reason", "knows the family").code == 0
    assert keyworker_of(amina, case_id)["off_team"] is False
    removed = sup("team", "remove", "otieno")
    assert removed.code == 0, removed.stderr
    assert "otieno was the keyworker of 1 open case(s) of others" in removed.stderr and case_id in removed.stderr
    row = next(line for line in amina("show", case_id).stdout.splitlines() if line.startswith("keyworker"))
    assert "otieno" in row and "no longer on the team" in row and f"cpcm assign {case_id} --keyworker WORKER" in row
    assert keyworker_of(amina, case_id)["off_team"] is True
    warned = [p for p in sup("check", "--json").json() if p["code"] == "keyworker-off-team"]
    assert [(p["case_id"], p["severity"]) for p in warned] == [(case_id, "warning")], warned
    assert f"cpcm assign {case_id} --keyworker WORKER" in warned[0]["message"]
    assert amina("assign", case_id, "--keyworker", "amina", "--reason", "otieno left").code == 0
    assert keyworker_of(amina, case_id)["off_team"] is False
    assert not [p for p in sup("check", "--json").json() if p["code"] == "keyworker-off-team"]
    assert "no longer on the team" not in amina("show", case_id).stdout


def test_a_colleague_nominated_who_leaves_the_team_is_said_so_by_the_case_file_and_left_out_of_letters(repo, cli_as):
    """The case file says the keyworker who left is no longer on the team; a referral letter does
    not give a provider a colleague who has left as the child's point of contact (the caseworker
    who signs it is, as where none was nominated)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    assert sup(*CLINIC).code == 0
    consent_both(amina, case_id)
    assert amina("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    assert amina("assign", case_id, "--keyworker", "otieno", "--reason", "knows the family").code == 0
    assert "Keyworker" in amina("render", "referral-letter", case_id, "R1").stdout  # the test can fail
    assert sup("team", "remove", "otieno").code == 0
    for fmt in ("md", "html"):
        whole = amina("render", "case-file", case_id, "--format", fmt)
        assert whole.code == 0, whole.stderr
        assert "no longer on the team: a new keyworker is to be nominated" in whole.stdout
        letter = amina("render", "referral-letter", case_id, "R1", "--format", fmt)
        assert letter.code == 0, letter.stderr
        assert "Keyworker" not in letter.stdout, letter.stdout  # as where none was nominated: the caseworker signs it
