"""A referral's status update, and the referral itself, corrected with `cpcm correct`, walked
through the CLI as a worker would (docs/commands/update-correct.md, docs/commands/referrals.md).

A worker types `declined` when the provider accepted: the correction (`R1@declined`, or the
update's record ID from `cpcm log`) is checked as `cpcm referral` checks an update at that point
of the referral's history, and the case reads it in the original's place: `due` shows the
outcome clock, not the follow-up; `show`, the referral letter, `check` and the statistics read
it; `log` keeps both. A correction that would make a later update impossible is refused naming
that update (exit 4, nothing written). A referral's need typed wrong is corrected, and its
letter carries the corrected need; its service and its time are not."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import CANARY, NOW, Cli, commit_count, make_repo, register
from test_referrals import CLINIC, CONSENT

LATER = "2026-11-26T10:00:00+03:00"  # when the worker finds the mistake


def at(cli: Cli, now: str) -> Cli:
    return Cli({**cli.env, "CPCM_NOW": now})


def _referred(cli: Cli, need: str = "treatment for malnutrition") -> str:
    assert cli(*CLINIC).code == 0
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-03-02", "disability": "no"})
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    sent = cli("refer", case_id, "--service", "clinic", "--need", need, "--check", "all")
    assert sent.code == 0, sent.stderr
    return case_id


def _due_codes(cli: Cli, case_id: str) -> dict[str, str]:
    due = cli("due", "--within", "400", "--json")
    assert due.code == 0, due.stderr
    return {item["code"]: item["due"][:10] for item in due.json() if item["case_id"] == case_id}


def _log_lines(cli: Cli, case_id: str) -> dict[str, str]:
    log = cli("log", case_id)
    assert log.code == 0, log.stderr
    return {line.split("\t")[5]: line for line in log.stdout.splitlines() if line.count("\t") >= 5}


def test_declined_typed_for_accepted__corrected_due_show_letter_check_and_log_read_the_correction(cli, repo):
    case_id = _referred(cli)
    typed = cli("referral", case_id, "R1", "--status", "declined", "--feedback", "no places", "--json")
    assert typed.code == 0, typed.stderr
    wrong = typed.json()["record_id"]
    assert "referral-follow-up" in _due_codes(cli, case_id) and "referral-outcome" not in _due_codes(cli, case_id)

    worker = at(cli, LATER)
    before = commit_count(repo)
    done = worker("correct", case_id, "R1@declined", "--set", "status=accepted", "--set", "start=2026-11-30",
                  "--set", "expected_duration=3mo", "--set", "feedback=", "--reason", "the provider accepted", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["kind"] == "referral_update" and done.json()["supersedes"] == wrong
    correction = done.json()["record_id"]
    assert commit_count(repo) == before + 1
    assert CANARY not in done.stderr + done.stdout

    # due: the outcome clock (the service's expected end), not the follow-up of a decline
    codes = _due_codes(worker, case_id)
    assert "referral-follow-up" not in codes and "referral-feedback" not in codes
    assert codes["referral-outcome"] == "2027-02-28"  # 3 months from the start, 2026-11-30

    # show: the referral accepted, its history as the correction says
    shown = worker("show", case_id, "--json").json()["referrals"][0]
    assert (shown["status"], shown["start"], shown["expected_duration"], shown["feedback"]) == ("accepted", "2026-11-30", "3mo", None)
    assert [h["status"] for h in shown["history"]] == ["sent", "accepted"]
    one = worker("show", case_id, wrong, "--json").json()
    assert one["superseded_by"] == correction and one["ref"] == "R1"

    # the referral letter still reads back the referral (its need), and check has nothing to say of R1
    letter = worker("render", "referral-letter", case_id, "R1")
    assert letter.code == 0, letter.stderr
    assert "treatment for malnutrition" in letter.stdout and f"{case_id} R1" in letter.stdout
    check = worker("check", case_id, "--json")
    assert all("R1" not in p.get("message", "") for p in check.json()), check.stdout

    # log keeps both: the original marked corrected, the correction naming it
    lines = _log_lines(worker, case_id)
    assert f"[corrected by {correction}]" in lines[wrong] and "R1 declined" in lines[wrong]
    assert f"R1 accepted; corrects {wrong}" in lines[correction]

    # the next update follows the corrected status: accepted -> delivered
    delivered = worker("referral", case_id, "R1", "--status", "delivered", "--feedback", "treated")
    assert delivered.code == 0, delivered.stderr
    assert "referral-outcome" not in _due_codes(worker, case_id)


def test_a_correction_that_makes_a_later_update_impossible_is_refused_naming_it_nothing_written(cli, repo):
    case_id = _referred(cli)
    accepted = cli("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-24", "--expected-duration", "6w", "--json")
    assert accepted.code == 0, accepted.stderr
    delivered = cli("referral", case_id, "R1", "--status", "delivered", "--feedback", "treated", "--json")
    assert delivered.code == 0, delivered.stderr
    later_id = delivered.json()["record_id"]
    worker = at(cli, LATER)
    before = commit_count(repo)

    impossible = worker("correct", case_id, accepted.json()["record_id"], "--set", "status=declined", "--set", "feedback=full",
                        "--reason", "typed wrong", "--json")
    assert impossible.code == 4, impossible.stdout
    assert impossible.json()["rule"] == "referral-lifecycle"
    assert later_id in impossible.json()["message"] and "'delivered'" in impossible.json()["message"]
    # the status before it: accepted -> declined is no step of the machine
    jump = worker("correct", case_id, "R1@delivered", "--set", "status=declined", "--reason", "typed wrong", "--json")
    assert jump.code == 4 and jump.json()["rule"] == "referral-lifecycle", jump.stdout
    assert "was 'accepted'" in jump.json()["message"]
    assert commit_count(repo) == before

    # a status of the machine that fits both: delivered corrected to not delivered
    fits = worker("correct", case_id, "R1@2", "--set", "status=not_delivered", "--reason", "the child was not seen", "--json")
    assert fits.code == 0, fits.stderr
    assert worker("show", case_id, "--json").json()["referrals"][0]["status"] == "not_delivered"
    assert "referral-follow-up" in _due_codes(worker, case_id)
    assert commit_count(repo) == before + 1


def test_a_corrected_update_is_checked_as_cpcm_referral_checks_one_every_bad_field_named(cli, repo):
    case_id = _referred(cli)
    typed = cli("referral", case_id, "R1", "--status", "declined", "--feedback", "no places", "--json")
    assert typed.code == 0, typed.stderr
    worker = at(cli, LATER)
    before = commit_count(repo)

    bare = worker("correct", case_id, "R1@declined", "--set", "status=accepted", "--set", "feedback=", "--reason", "x", "--json")
    assert bare.code == 4, bare.stdout
    assert [f["field"] for f in bare.json()["fields"]] == ["start", "expected_duration"]
    early = worker("correct", case_id, "R1@declined", "--set", "status=accepted", "--set", "start=2026-11-01",
                   "--set", "expected_duration=3mo", "--at", "2026-11-20T09:00", "--reason", "x", "--json")
    assert early.code == 4, early.stdout
    fields = {f["field"]: f["reason"] for f in early.json()["fields"]}
    assert set(fields) == {"start", "at"} and fields["at"].startswith("is before the referral was sent (2026-11-23")
    other = worker("correct", case_id, "R1@declined", "--set", f"referral={typed.json()['record_id']}",
                   "--set", f"{CANARY}=1", "--reason", "x", "--json")
    assert other.code == 4, other.stdout
    assert [f["field"] for f in other.json()["fields"]] == ["referral", "…"]
    assert CANARY not in other.stdout + other.stderr
    unknown = worker("correct", case_id, "R1@accepted", "--set", "status=accepted", "--reason", "x")
    assert unknown.code == 3, unknown.stderr
    assert commit_count(repo) == before

    # the time corrected, within the referral's history: the follow-up clock counts from it
    moved = worker("correct", case_id, "R1@declined", "--at", "2026-11-24T15:00", "--reason", "it was the next day", "--json")
    assert moved.code == 0, moved.stderr
    assert worker("show", case_id, "--json").json()["referrals"][0]["history"][1]["at"].startswith("2026-11-24T15:00")
    assert _due_codes(worker, case_id)["referral-follow-up"] == "2026-11-24"


def test_a_referrals_need_is_corrected_and_its_letter_carries_it_the_service_and_time_are_not(cli, repo):
    case_id = _referred(cli, need="treatmnt for malnutriton")
    worker = at(cli, LATER)
    before = commit_count(repo)
    refused = worker("correct", case_id, "R1", "--set", "service=other", "--set", "consent_ids=[]",
                     "--at", "2026-11-23T09:00", "--reason", "x", "--json")
    assert refused.code == 4, refused.stdout
    assert [f["field"] for f in refused.json()["fields"]] == ["service", "consent_ids", "at"]
    assert commit_count(repo) == before

    done = worker("correct", case_id, "R1", "--set", "need=treatment for malnutrition", "--set", "urgent=yes",
                  "--reason", "need misspelt, and it is urgent", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["kind"] == "referral"
    shown = worker("show", case_id, "--json").json()["referrals"]
    assert [(r["ref"], r["need"], r["urgent"], r["status"]) for r in shown] == [("R1", "treatment for malnutrition", True, "sent")]
    letter = worker("render", "referral-letter", case_id, "R1").stdout
    assert "treatment for malnutrition" in letter and "treatmnt" not in letter and "urgently" in letter
    # the next update names the referral by R1 as before, and reads through the correction
    accepted = worker("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-27", "--expected-duration", "1mo")
    assert accepted.code == 0, accepted.stderr
    assert worker("show", case_id, "--json").json()["referrals"][0]["status"] == "accepted"
    assert f"[corrected by {done.json()['record_id']}]" in "\n".join(_log_lines(worker, case_id).values())


def test_a_referrals_yes_or_no_is_corrected_in_the_repositorys_language_as_refer_takes_it(tmp_env, team, tmp_path):
    """In a Kiswahili repository `cpcm refer --set urgent=hapana` is taken, and so is the same answer
    to `cpcm correct CASE R1` (--set and --from-file), as the referral form's yes-or-no fields read
    it (register.md: a yes-or-no as ndiyo or hapana, everywhere a record is typed); a refusal is in
    Kiswahili and never repeats the value. Was: exit 4, "urgent: is yes or no" (English words only)."""
    sw = Cli({"CPCM_REPO": str(make_repo(tmp_env / "kiswahili", team, "--language", "sw")),
              "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    assert sw(*CLINIC).code == 0
    case_id = register(sw, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-03-02", "disability": "no"})
    for giver in ("child", "caregiver"):
        assert sw("consent", case_id, *CONSENT, "--by", giver).code == 0
    sent = sw("refer", case_id, "--service", "clinic", "--need", "a check-up", "--check", "all", "--set", "urgent=ndiyo")
    assert sent.code == 0, sent.stderr
    worker = at(sw, LATER)
    done = worker("correct", case_id, "R1", "--set", "urgent=hapana", "--set", "accompany=Ndiyo", "--reason", "x", "--json")
    assert done.code == 0, done.stderr
    fixed = tmp_path / "swfix.yaml"
    fixed.write_text("urgent: ndiyo\naccompany: hapana\n")
    again = worker("correct", case_id, done.json()["record_id"], "--from-file", str(fixed), "--reason", "x", "--json")
    assert again.code == 0, again.stderr
    fields = worker("show", case_id, again.json()["record_id"], "--json").json()["fields"]
    assert (fields["urgent"], fields["accompany"]) == (True, False)  # the record holds the code
    before = commit_count(Path(sw.env["CPCM_REPO"]))
    refused = worker("correct", case_id, "R1", "--set", "urgent=labda", "--reason", "x")
    assert refused.code == 4 and "- urgent: si ndiyo wala hapana" in refused.stderr and "labda" not in refused.stderr, refused.stderr
    assert commit_count(Path(sw.env["CPCM_REPO"])) == before


def test_a_referrals_checks_are_not_corrected_and_the_refusal_says_why_truly(cli, repo):
    """The checks before referring are the worker's answers (ESARO S4), not set from the directory,
    the consent or the policy: `--set checks.provider_told=no` is refused (update-correct.md: the
    referral was sent on them) with that reason and the note that puts a check not done right,
    nothing written. Was: "it is set by cpcm refer from the directory, the consent and the policy"."""
    case_id = _referred(cli)
    before = commit_count(repo)
    refused = at(cli, LATER)("correct", case_id, "R1", "--set", "checks.provider_told=no", "--reason", "x", "--json")
    assert refused.code == 4, refused.stdout
    [field] = refused.json()["fields"]
    assert field["field"] == "checks" and "confirmed before R1 was sent (ESARO S4)" in field["reason"], field
    assert f"cpcm note {case_id} --text" in field["reason"] and "directory" not in field["reason"]
    assert commit_count(repo) == before


def test_a_referral_corrected_after_its_consent_was_withdrawn_and_overridden_stays_overridden(cli, cli_as, repo):
    case_id = _referred(cli)
    refusal = cli("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", "caregiver", "--status", "refused",
                  "--reason", "changed their mind", "--explained", "all")
    assert refusal.code == 0, refusal.stderr
    assert any(p["code"] == "referral-consent-withdrawn" for p in cli("check", case_id, "--json").json())
    sup = cli_as("sup")
    override = sup("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis", "best_interests",
                   "--reason", "the child needs the treatment")
    assert override.code == 0, override.stderr
    assert not any(p["code"] == "referral-consent-withdrawn" for p in cli("check", case_id, "--json").json())
    done = at(cli, LATER)("correct", case_id, "R1", "--set", "need=treatment and feeding", "--reason", "need incomplete")
    assert done.code == 0, done.stderr
    problems = at(cli, LATER)("check", case_id, "--json").json()
    assert not any(p["code"] == "referral-consent-withdrawn" for p in problems), problems


def test_a_plain_update_dated_before_the_referral_was_sent_or_before_its_latest_update_is_refused_as_a_correction_is(cli, repo):
    """`cpcm referral --at` takes the bounds a correction of an update keeps: not before the referral
    was sent, not before its latest update (exit 4 as every invalid field, the field named, nothing
    written). The case is registered on the 23rd and the referral sent on the 24th."""
    assert cli(*CLINIC).code == 0
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-03-02", "disability": "no"})
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    worker = at(cli, "2026-11-24T10:00:00+03:00")
    assert worker("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    before = commit_count(repo)
    early = worker("referral", case_id, "R1", "--status", "acknowledged", "--at", "2026-11-23T15:00")
    assert early.code == 4 and commit_count(repo) == before, early.stderr
    assert "--at (at): is before the referral was sent (2026-11-24 10:00 +03:00)" in early.stderr and "then or later" in early.stderr
    later = at(cli, LATER)
    assert later("referral", case_id, "R1", "--status", "acknowledged", "--at", "2026-11-25T12:00").code == 0
    before = commit_count(repo)
    backward = later("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-30", "--expected-duration", "3mo",
                     "--at", "2026-11-25T09:00")
    assert backward.code == 4 and commit_count(repo) == before, backward.stderr
    assert "--at (at): is before its latest update (2026-11-25 12:00 +03:00)" in backward.stderr
    assert CANARY not in early.stderr + backward.stderr
    assert later("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-30", "--expected-duration", "3mo",
                 "--at", "2026-11-25T13:00").code == 0


def _referred_for_action(cli: Cli, cli_as, need: str) -> str:
    """An assessed case with an approved plan (plan_doc: A1 for 2026-12-15, A2), consent for the clinic, and
    referral R1 sent for action A1; returns the case ID."""
    from test_assess_plan import assessed, plan_doc

    sup = cli_as("sup")
    assert cli(*CLINIC).code == 0
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    sent = cli("refer", case_id, "--service", "clinic", "--need", need, "--check", "all", "--action", "A1")
    assert sent.code == 0, sent.stderr
    return case_id


def test_a_referral_linked_to_the_wrong_plan_action_is_corrected_or_unlinked(cli, cli_as):
    """`refer --action A1` typed for A2: `cpcm correct CASE R1 --set action=A2` moves the link (show
    reads A2 → R1); an action the plan does not have is refused naming the plan's actions, nothing
    written; `--set action=` takes the link away."""
    case_id = _referred_for_action(cli, cli_as, "a check-up")
    assert "A1 → R1" in cli("show", case_id).stdout
    worker = at(cli, LATER)
    wrong = worker("correct", case_id, "R1", "--set", "action=A9", "--reason", "wrong action")
    assert wrong.code == 4 and "- action: is not an action of the plan (its actions: A1, A2)" in wrong.stderr, wrong.stderr
    moved = worker("correct", case_id, "R1", "--set", "action=A2", "--reason", "it is for the check-up action", "--json")
    assert moved.code == 0, moved.stderr
    shown = worker("show", case_id, "--json").json()
    assert shown["referrals"][0]["plan_action"] == "A2"
    table = worker("show", case_id).stdout
    assert "A2 → R1" in table and "A1 → R1" not in table
    unlinked = worker("correct", case_id, moved.json()["record_id"], "--set", "action=", "--reason", "no action of the plan")
    assert unlinked.code == 0, unlinked.stderr
    assert worker("show", case_id, "--json").json()["referrals"][0].get("plan_action") is None


def test_plan_action_carried_out_by_a_referral_leaves_due_until_the_referral_ends_without_the_service(cli, cli_as):
    """`refer --action A1`: past A1's date, `due` lists the referral's clocks, not the action, while the
    referral is open; declined, the action is due again, naming the referral."""
    case_id = _referred_for_action(cli, cli_as, "bursary")
    late = at(cli, "2026-12-20T09:00:00+03:00")  # A1 was for 2026-12-15

    def actions() -> list[str]:
        due = late("due", "--within", "60", "--json")
        assert due.code == 0, due.stderr
        return [item["why"] for item in due.json() if item["case_id"] == case_id and item["title"].startswith("plan action A1")]
    assert actions() == []
    assert late("referral", case_id, "R1", "--status", "declined", "--feedback", "no places this term").code == 0
    (why,) = actions()
    assert "action A1 for 2026-12-15; its referral R1 ended 'declined': find another service or replan" in why, why


def test_show__a_plan_action_a_referral_carries_out_is_not_late_until_it_is_due_again(cli, cli_as):
    """Was: `show --json` marked A1 `"late": true` (the table `(late)`) past its date while its
    referral R1 was still open, though `due` and `check` leave A1 out (cases.md: late is "its date
    has passed and it is due"); `show` now reads the rule `due` lists plan actions by. Declined, A1
    is due again, and late."""
    case_id = _referred_for_action(cli, cli_as, "bursary")
    late = at(cli, "2026-12-20T09:00:00+03:00")  # A1 was for 2026-12-15

    def shown() -> tuple[dict, str]:
        data = late("show", case_id, "--json").json()
        table = late("show", case_id).stdout
        line = next(line for line in table.splitlines() if "A1 → R1" in line)
        return {a["item"]: a["late"] for a in data["open_actions"]}, line

    marks, line = shown()
    assert marks["A1"] is False and "(late)" not in line, (marks, line)
    assert late("referral", case_id, "R1", "--status", "declined", "--feedback", "no places this term").code == 0
    marks, line = shown()
    assert marks["A1"] is True and "(late)" in line, (marks, line)


def test_an_override_a_referral_went_on_keeps_its_purpose_and_agency_when_corrected(cli, cli_as, repo):
    """A consent override is corrected as `cpcm consent --override` records one (by a supervisor: its reason, say),
    but not into another purpose or agency once a referral went on it: the referral would be left resting on an
    override for something else. Refused naming the field, nothing written; another is an override of its own."""
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    sup = cli_as("sup")
    override = sup("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis", "best_interests",
                   "--reason", "urgent treatment", "--json")
    assert override.code == 0, override.stderr
    record = override.json()["record_id"]
    assert cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    before = commit_count(repo)
    for field, value in (("purpose", "assessment"), ("agency", "")):
        moved = sup("correct", case_id, record, "--set", f"{field}={value}", "--reason", "typed wrong", "--json")
        assert moved.code == 4, (field, moved.stdout)
        assert (field, f"an action relied on this override for its {field}: it is not corrected; for another, a supervisor or "
                       f"manager records an override of its own (cpcm consent {case_id} --override ...)"
                ) in [(f["field"], f["reason"]) for f in moved.json()["fields"]], moved.json()
    assert commit_count(repo) == before
    assert sup("correct", case_id, record, "--set", "reason=urgent treatment, the caregiver unreachable",
               "--reason", "reason incomplete").code == 0
