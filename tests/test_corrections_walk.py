"""A case file written with mistakes and corrected, walked through the CLI as a worker would
(docs/commands/update-correct.md): a mistyped birth date and a misspelt village, a wrong answer in
the initial assessment, a plan action with a wrong date and a wrong person responsible, a review
with a wrong outcome, a follow-up dated on the wrong day, a placement with the wrong start date.

After each correction every place that shows or uses the value uses the corrected one: `show`
(table and `--json`), `due --json` (the turning-18 item, the plan action, the next monitoring
visit), `list`, the documents; the old value stays readable as history (`log`, `show` of the
original); a correction of a correction is the one in force; a correction dated in the future or
naming a record of another case is refused and writes nothing. Each test builds its own case."""
from __future__ import annotations

import json

from conftest import CANARY, Cli, build_planned, commit_count, register
from test_assess_plan import COMPREHENSIVE, plan_doc
from test_placements import BID

LATER = "2026-12-01T09:00:00+03:00"  # when the worker finds the mistakes
WRONG_INITIAL = ["--set", "safe=yes", "--set", "basic_needs.food=yes", "--set", "basic_needs.shelter=yes",
                 "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=no", "--outcome", "proceed"]
REVIEW = {"chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
          "decisions": ["continue the plan"], "outcome": "replan"}  # the outcome is the mistake: it was "continue"


def at(cli: Cli, now: str) -> Cli:
    return Cli({**cli.env, "CPCM_NOW": now})


def _due(cli: Cli, case_id: str) -> dict[str, list[str]]:
    due = cli("due", "--within", "400", "--json")
    assert due.code == 0, due.stderr
    found: dict[str, list[str]] = {}
    for item in due.json():
        if item["case_id"] == case_id:
            found.setdefault(item["title"], []).append(item["due"][:10])
    return found


def _corrected(cli: Cli, case_id: str, record: str, *args: str) -> str:
    done = cli("correct", case_id, record, *args, "--json")
    assert done.code == 0, done.stderr
    return done.json()["record_id"]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_case_written_with_mistakes__each_correction_is_what_show_due_list_and_the_documents_use(cli, cli_as, repo, tmp_path):
    sup = cli_as("sup")
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2009-12-20", "disability": "no"},
                       location="Nyalenda, Kisumo")
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *WRONG_INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    wrong_plan = plan_doc()
    wrong_plan["actions"][0].update(by="2027-02-15", who="family")
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(wrong_plan)).code == 0
    assert sup("approve", case_id, "plan").code == 0
    reviewed = at(cli, "2026-11-30T10:00:00+03:00")("review", case_id, "--from-file", "-", input=json.dumps(REVIEW))
    assert reviewed.code == 0, reviewed.stderr

    worker = at(cli, LATER)
    before = _due(worker, case_id)
    assert "turns 18: propose closure (reached_18) or record why the case stays open" not in before  # 2027: not yet
    assert before["plan action A1 (family)"] == ["2027-02-15"]

    # the birth date and the village
    registration = _corrected(worker, case_id, "registration", "--set", "child.date_of_birth=2008-12-20",
                              "--set", "location=Nyalenda, Kisumu", "--reason", "birth date and village mistyped")
    # the initial assessment's answer
    _corrected(worker, case_id, "assessment@initial", "--set", "basic_needs.food=no", "--reason", "the child had no food")
    # the plan's action: its date and who does it. The version is approved: its worker is refused (the change is
    # a next version, waiting for approval: test_correct_decided.py); the supervisor, who may decide it, corrects
    # it, and the approval stands for that correction
    supervisor = at(sup, LATER)
    refused = worker("correct", case_id, "plan", "--set", "actions.A1.by=2026-12-15", "--set", "actions.A1.who=service",
                     "--reason", "the bursary office does it, by mid-December", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "correction-changes-decided", refused.stderr
    plan = _corrected(supervisor, case_id, "plan", "--set", "actions.A1.by=2026-12-15", "--set", "actions.A1.who=service",
                      "--reason", "the bursary office does it, by mid-December")
    # the review's outcome
    _corrected(worker, case_id, "review", "--set", "outcome=continue", "--reason", "the review decided to go on with the plan")

    due = _due(worker, case_id)
    assert due["turns 18: propose closure (reached_18) or record why the case stays open"] == ["2026-12-20"]
    assert due["plan action A1 (service)"] == ["2026-12-15"] and "plan action A1 (family)" not in due

    shown = worker("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    text = shown.stdout
    assert "2008-12-20" in text and "Nyalenda, Kisumu" in text
    assert "2009-12-20" not in text and "Kisumo" not in text and "2027-02-15" not in text
    table = _flat(worker("show", case_id).stdout)
    assert "Nyalenda, Kisumu" in table and "Kisumo" not in table and "in force (approved)" in table
    assert "A1 Pay fees through the bursary service 2026-12-15" in table
    assert "continue" in table.split("# Reviews")[1].split("#")[0]
    listed = {row["case_id"]: row for row in worker("list", "--json").json()}
    assert listed[case_id]["age"] == 17 and listed[case_id]["stage"] == "implementation"

    case_plan = _flat(worker("render", "case-plan", case_id).stdout)
    assert "born 20 December 2008" in case_plan and "by: 15 December 2026" in case_plan and "This plan is in force" in case_plan
    assert "15 February 2027" not in case_plan
    case_file = _flat(worker("render", "case-file", case_id).stdout)
    assert "Where the child lives now:** Nyalenda, Kisumu" in case_file
    assert f"Corrected by record {registration}: the case no longer uses this record." in case_file  # the history, marked

    # the old values stay readable as history, with the correction named
    log = _flat(worker("log", case_id).stdout)
    assert "registration [corrected by" in log and "review replan [corrected by" in log
    first = next(r for r in worker("log", case_id, "--json").json() if r["superseded_by"] == registration)
    old = worker("show", case_id, first["record_id"])  # the registration as written: the old values, marked
    assert old.code == 0 and "Kisumo" in old.stdout and f"CORRECTED by {registration}" in old.stdout
    why = worker("show", case_id, registration)  # the correction: who made it and why
    assert "by amina" in why.stdout and "birth date and village mistyped" in why.stdout
    original = worker("show", case_id, "plan@1")
    assert original.code == 0  # plan@1 is the version in force: the correction
    assert "2026-12-15" in original.stdout and "corrects" in original.stdout

    exported = tmp_path / "cases.json"
    assert worker("export", "--format", "json", "--plaintext", "--out", str(exported)).code == 0
    row = next(c for c in json.loads(exported.read_text())["cases"] if c["case_id"] == case_id)
    assert (row["age"], row["age_band"]) == (17, "15-17")
    exported.unlink()

    # a correction of the correction is the one in force
    again = _corrected(supervisor, case_id, "plan", "--set", "actions.A1.by=2026-12-16", "--reason", "the office said the 16th")
    assert _due(worker, case_id)["plan action A1 (service)"] == ["2026-12-16"]
    assert f"[corrected by {again}]" in worker("log", case_id).stdout and plan in worker("log", case_id).stdout

    # refused, nothing written: a date in the future; a record of another case
    commits = commit_count(repo)
    future = worker("correct", case_id, "review", "--at", "2027-06-01T10:00:00+03:00", "--reason", "x")
    assert future.code == 4 and "--at (at): is in the future" in future.stderr, future.stderr
    other = register(worker)
    commits = commit_count(repo)
    elsewhere = worker("correct", other, registration, "--set", "location=Kondele", "--reason", "x")
    assert elsewhere.code == 3 and f"{other} has no record matching" in elsewhere.stderr, elsewhere.stderr
    assert commit_count(repo) == commits
    assert CANARY not in future.stderr + elsewhere.stderr


def test_a_registration_moved_after_the_cases_first_record_is_refused(cli, repo):
    """A registration's time may move earlier (update-correct.md), or up to the case's earliest
    record, not past it: the records then dated before the registration would count for no clock
    (the initial assessment listed as due again). Refused naming `at` and the record, nothing written."""
    from test_assess_plan import INITIAL

    case_id = register(cli, "--at", "2026-11-20T10:20")
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL, "--at", "2026-11-20T11:20").code == 0
    assessment = next(r["record_id"] for r in cli("log", case_id, "--json").json() if r["kind"] == "assessment")
    commits = commit_count(repo)
    later = cli("correct", case_id, "registration", "--at", "2026-11-20T12:00", "--reason", "the time was mistyped")
    assert later.code == 4, later.stderr
    assert (f"--at (at): is after the case's earliest record, the assessment {assessment} (2026-11-20 11:20 +03:00)"
            in later.stderr), later.stderr
    assert commit_count(repo) == commits
    assert "initial assessment" not in _due(cli, case_id)
    moved = cli("correct", case_id, "registration", "--at", "2026-11-20T11:20", "--reason", "the time was mistyped")
    assert moved.code == 0, moved.stderr
    assert "initial assessment" not in _due(cli, case_id)


def test_a_referral_outcome_recorded_wrongly_is_corrected_as_its_update_not_as_the_referral(cli, cli_as):
    """A referral's status is recorded by its updates (`cpcm referral`): 'declined' recorded by
    mistake is corrected as that update (`R1@declined`), which the refusal of the referral
    itself names (docs: update-correct.md; the whole walk: test_referral_correct.py)."""
    from conftest import CLINIC, consent_both

    case_id = register(cli)
    assert cli_as("sup")(*CLINIC).code == 0
    consent_both(cli, case_id)
    assert cli("refer", case_id, "--service", "clinic", "--need", "medical exam", "--check", "all").code == 0
    assert cli("referral", case_id, "R1", "--status", "declined", "--feedback", "no space").code == 0
    refused = cli("correct", case_id, "R1", "--set", "status=accepted", "--reason", "it was accepted")
    assert refused.code == 4 and "status: is moved along by the referral's updates" in refused.stderr
    assert f"cpcm correct {case_id} R1@declined --set status=..." in " ".join(refused.stderr.split())
    corrected = cli("correct", case_id, "R1@declined", "--set", "status=accepted", "--set", "start=2026-11-30",
                    "--set", "expected_duration=1mo", "--reason", "it was accepted")
    assert corrected.code == 0, corrected.stderr
    assert cli("show", case_id, "--json").json()["referrals"][0]["status"] == "accepted"


def test_a_placement_dated_late_and_a_visit_on_the_wrong_day(kenya):
    """kenya: monitoring visits every month after a child goes home. A follow-up dated on the wrong
    day, corrected, moves the next visit. A placement recorded with a start date after the real one
    is corrected to its day (checked again as a placement is); a placement dated before the
    best-interests record is refused, and the refusal said the case had no best-interests record at all."""
    case_id = build_planned(kenya)
    amina = kenya("amina", LATER)
    assessed = amina("assess", case_id, "--type", "best-interests", "--from-file", "-", "--at", "2026-11-24T10:00:00+03:00",
                     "--json", input=json.dumps(BID))
    assert assessed.code == 0, assessed.stderr
    home = ("placement", case_id, "--care-type", "kinship", "--caregiver", "Test Caregiver", "--relationship", "grandmother",
            "--address", "Nyakach", "--no-input")
    assert amina(*home, "--at", "2026-11-26T10:00:00+03:00").code == 0
    moved = amina("correct", case_id, "last", "--at", "2026-11-25T10:00:00+03:00", "--reason", "started a day earlier")
    assert moved.code == 0, moved.stderr
    assert "since 2026-11-25" in amina("show", case_id).stdout
    # the placement dated before its best-interests record: which record, and what to do
    commits = commit_count(kenya.root)
    early = amina(*home, "--at", "2026-11-23T12:00:00+03:00")
    assert early.code == 4 and commit_count(kenya.root) == commits
    said = _flat(early.stderr)
    assert "has none made by the placement's date (2026-11-23)" in said, said
    assert "its best-interests record is dated 2026-11-24, after the placement" in said
    assert f"cpcm correct {case_id} {assessed.json()['record_id']} --at WHEN" in said  # that record, by its ID

    visit = ("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check",
             "--visited-by", "professional", "--risk-increased", "no")
    assert amina(*visit, "--at", "2026-11-28T10:00:00+03:00").code == 0
    assert _due(amina, case_id)["monitoring visit 2 after reunification"] == ["2026-12-28"]
    _corrected(amina, case_id, "followup", "--at", "2026-11-29T10:00:00+03:00", "--reason", "the visit was on Sunday")
    assert _due(amina, case_id)["monitoring visit 2 after reunification"] == ["2026-12-29"]
    shown = _flat(amina("show", case_id).stdout)
    assert "2026-12-29" in shown and "2026-12-28" not in shown


def test_corrected_after_the_closure_request__the_closure_report_still_counts_the_visit_and_the_review(cli, cli_as):
    """A follow-up corrected (its day) after the closure was requested, and the plan corrected
    after it was reviewed: each correction stands where its original was. The closure report said
    "No monitoring visits since plan version 1" (now "No follow-ups"), lost the actions the visit found done and said
    "The plan was not reviewed before closure": it compared the records' IDs, and a correction's is
    the moment it was written."""
    from test_followup_close import GOALS_MET

    sup = cli_as("sup")
    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *WRONG_INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan").code == 0
    worker = at(cli, "2026-12-05T09:00:00+03:00")
    review = dict(REVIEW, outcome="continue")
    assert worker("review", case_id, "--from-file", "-", "--at", "2026-12-01T10:00:00+03:00", input=json.dumps(review)).code == 0
    visited = worker("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
                     "--visited-by", "professional", "--risk-increased", "no", "--done", "A1", "--done", "A2",
                     "--at", "2026-12-02T10:00:00+03:00")
    assert visited.code == 0, visited.stderr
    closed = worker("close", case_id, "--reason", "goals_met", *GOALS_MET)
    assert closed.code == 0, closed.stderr
    _corrected(worker, case_id, "followup", "--at", "2026-12-03T10:00:00+03:00", "--reason", "the visit was on the 3rd")
    # the approved plan's contingency: corrected by the supervisor, who may decide it (test_correct_decided.py)
    _corrected(at(sup, "2026-12-05T09:00:00+03:00"), case_id, "plan", "--set", "contingency=The aunt in Kondele takes the child.",
               "--reason", "wording")
    assert at(sup, "2026-12-05T10:00:00+03:00")("approve", case_id, "closure").code == 0
    report = _flat(at(cli, "2026-12-06T09:00:00+03:00")("render", "closure-report", case_id).stdout)
    assert "1 follow-up since plan version 1 of 23 November 2026, the last on 3 December 2026" in report, report
    assert "| A1 | Pay fees through the bursary | a service | done |" in report
    assert "The plan was not reviewed before closure" not in report


def test_a_refused_correction_of_a_registration_corrected_before_names_the_registration(cli):
    """`cpcm correct CASE registration --set lives_with=x` on a registration corrected before said 'correction of
    <the earlier correction's ID> is not valid', not the registration asked for. It names the registration now, with
    the correction that stands for it, and the field, never the value typed."""
    case_id = register(cli)
    first = _corrected(cli, case_id, "registration", "--set", "location=Kondele", "--reason", "village mistyped")
    registration = next(r["record_id"] for r in cli("log", case_id, "--json").json() if r["superseded_by"] == first)
    refused = cli("correct", case_id, "registration", "--set", f"lives_with={CANARY}", "--reason", "x")
    assert refused.code == 4, refused.stderr
    assert f"correction of {registration} (corrected by {first}) is not valid" in refused.stderr, refused.stderr
    assert "lives_with" in refused.stderr and CANARY not in refused.stderr
