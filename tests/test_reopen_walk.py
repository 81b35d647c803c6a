"""A closed case comes back: walked through the CLI as a worker and a supervisor would (IAG Step 6
[L944-946], ESARO S6: a post-closure visit, and a closed case reopened at any time, back to
assessment and a new plan).

(a) the post-closure visit finds the child at risk again and the worker reopens the case; the
reopened case is worked to a new plan, approved, and closed a second time;
(b) months after closure the same child is registered again: the registration says the earlier
case is closed and can be reopened, and merge-cases says the kept case must be reopened first;
(c) kenya: a reunified child's case (reviews every 6 months for 2 years after reunification) is
reopened after its closure.

After the reopening: `due` (the assessment clocks again, no action of the old plan, no review, no
post-closure visit), `show` and the case plan document (the old plan from before the reopening,
not in force), `check`, `log`, `list`, and the reports (statistics, timeliness) over both episodes.
Each test builds its own case and passes alone."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from conftest import Cli, commit_count, library_session, register, registration, reunified
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_followup_close import GOALS_MET

CLOSED_AT = "2027-01-20T09:00:00+03:00"
VISIT_AT = "2027-03-10T09:00:00+03:00"  # the post-closure visit, within 3 months of the closure
NEXT_DAY = "2027-03-11T09:00:00+03:00"


def at(cli: Cli, now: str) -> Cli:
    return Cli({**cli.env, "CPCM_NOW": now})


CONSENT = ("--purpose", "assessment", "--status", "given", "--explained", "all", "--by", "caregiver")


def _closed(cli: Cli, sup: Cli, consent: bool = False, approval_note: str | None = None) -> str:
    """A case assessed, planned (approved, with `approval_note` when given), its actions done at a
    monitoring visit, closed as goals met and the closure approved on CLOSED_AT (`consent`: the
    caregiver's consent to the assessment recorded first)."""
    case_id = register(cli)
    assert not consent or cli("consent", case_id, *CONSENT).code == 0
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan", *(("--note", approval_note) if approval_note else ())).code == 0
    worker = at(cli, CLOSED_AT)
    visited = worker("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
                     "--visited-by", "professional", "--risk-increased", "no", "--done", "A1", "--done", "A2")
    assert visited.code == 0, visited.stderr
    closed = worker("close", case_id, "--reason", "goals_met", *GOALS_MET)
    assert closed.code == 0, closed.stderr
    assert at(sup, "2027-01-20T10:00:00+03:00")("approve", case_id, "closure").code == 0
    return case_id


def _reopened_at_the_visit(cli: Cli, sup: Cli) -> str:
    """(a): the post-closure visit finds the risk increased; the worker reopens the case, both dated
    when she was there."""
    case_id = _closed(cli, sup)
    worker = at(cli, VISIT_AT)
    visit = worker("followup", case_id, "--method", "home_visit", "--purpose", "post_closure", "--purpose-detail", "feedback",
                   "--visited-by", "professional", "--risk-increased", "yes")
    assert visit.code == 0 and f"cpcm reopen {case_id}" in visit.stdout + visit.stderr, visit.stderr
    urgent = [i for i in worker("due", "--json").json() if i["case_id"] == case_id]
    assert [i["code"] for i in urgent] == ["risk-increased"] and "reopen" in urgent[0]["title"]
    reopened = worker("reopen", case_id, "--reason", "risk found at the post-closure visit")
    assert reopened.code == 0, reopened.stderr
    return case_id


def _codes(cli: Cli, case_id: str, *args: str) -> list[str]:
    due = cli("due", "--within", "400", "--json", *args)
    assert due.code == 0, due.stderr
    return [i["code"] for i in due.json() if i["case_id"] == case_id]


def test_reopened_at_the_post_closure_visit__due_check_log_list_say_it_starts_again_at_assessment(cli, cli_as):
    case_id = _reopened_at_the_visit(cli, cli_as("sup"))
    worker = at(cli, NEXT_DAY)
    # the urgent re-rating first, then the assessment clocks from the reopening; nothing of the old plan,
    # no review (the case is not planned), no post-closure visit (the case is open)
    assert _codes(worker, case_id) == ["risk-increased", "initial-assessment", "comprehensive-assessment"]
    check = worker("check", case_id, "--json")
    assert [p["code"] for p in check.json()] == ["risk-increased-overdue"], check.stdout  # the one real problem
    log = worker("log", case_id, "--json")
    assert [r["kind"] for r in log.json()][-3:] == ["approval", "followup", "reopen"]  # the history kept
    listed = {row["case_id"]: row for row in worker("list", "--json").json()}
    assert (listed[case_id]["status"], listed[case_id]["stage"]) == ("open", "reopened")


def test_reopened__a_version_rejected_before_the_closure_is_not_asked_for_again(cli, cli_as):
    """Version 2 was rejected while version 1 stayed in force, then the case was closed and reopened:
    `cpcm check` does not warn that version 2 'was rejected: it is not in force', a version of the
    episode the closure ended, while the reopened case waits to be assessed and planned again."""
    sup = cli_as("sup")
    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan").code == 0
    assert cli("plan", case_id, "--from-current", "--reason", "review", "--set", "actions.A1.by=2027-01-10").code == 0
    assert sup("reject", case_id, "plan", "--note", "keep the first dates").code == 0
    worker = at(cli, CLOSED_AT)
    assert worker("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
                  "--visited-by", "professional", "--risk-increased", "no", "--done", "A1", "--done", "A2").code == 0
    assert worker("close", case_id, "--reason", "goals_met", *GOALS_MET).code == 0
    assert at(sup, "2027-01-20T10:00:00+03:00")("approve", case_id, "closure").code == 0
    assert at(cli, VISIT_AT)("reopen", case_id, "--reason", "new concern").code == 0
    check = at(cli, NEXT_DAY)("check", case_id, "--json")
    assert "plan-not-approved" not in [p["code"] for p in check.json()], check.stdout


def test_reopened__show_and_the_plan_document_say_the_old_plan_is_not_in_force(cli, cli_as):
    """The plan approved before the closure is kept on the file, but it is not the plan in force
    of the reopened case (its actions are not due, `plan_action.due_after_reopening`): `show` and
    the worker's and the child's copies of the plan said "in force" / "This plan is in force"."""
    case_id = _reopened_at_the_visit(cli, cli_as("sup"))
    worker = at(cli, NEXT_DAY)
    shown = " ".join(worker("show", case_id).stdout.split())
    assert "version 1 (initial), approved before the reopening, not in force since" in shown, shown
    assert "in force (approved)" not in shown
    plan = worker("render", "case-plan", case_id)
    assert plan.code == 0, plan.stderr
    text = " ".join(plan.stdout.split())
    assert "This plan is in force" not in text and "**Not in force.**" in text, text
    assert "From before the case was closed and reopened" in text
    sw = worker("render", "case-plan", case_id, "--lang", "sw")
    assert sw.code == 0 and "Mpango huu unatumika" not in sw.stdout
    child = " ".join(worker("render", "child-plan", case_id).stdout.split())
    assert "This plan is being changed" in child


def test_reopened__a_new_plan_waiting_does_not_say_the_old_one_stays_in_force(cli, cli_as):
    case_id = _reopened_at_the_visit(cli, cli_as("sup"))
    worker = at(cli, NEXT_DAY)
    assert worker("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert worker("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    new_plan = plan_doc("crisis", actions=[{"what": "Attend the clinic", "who": "family", "by": "2027-04-20", "mode": "direct",
                                            "goal": "G1"}])
    written = worker("plan", case_id, "--from-file", "-", input=json.dumps(new_plan))
    assert written.code == 0, written.stderr
    said = " ".join((written.stdout + written.stderr).split())
    assert "version 1 stays in force" not in said and "version 1 is from before the reopening and not in force" in said, said
    shown = " ".join(worker("show", case_id).stdout.split())
    assert "version 1 stays in force" not in shown and "version 1, approved before the reopening, is not in force" in shown
    rejected = at(cli_as("sup"), NEXT_DAY)("reject", case_id, "plan", "--note", "add the school")
    assert rejected.code == 0 and "version 1 stays in force" not in rejected.stdout + rejected.stderr


def test_reopened__a_new_plans_action_is_due_though_one_of_its_id_was_done_before_the_reopening(cli, cli_as):
    """An action marked done before the reopening was done for the plan of before: the new plan's
    action with that ID, given (A1) or kept for the same text (A2), is due by its own date on
    `due`, `check` and `show`, and open when the case closes again, until marked done after the
    reopening (plan_actions.marks_since)."""
    from cpcm.service.context import load_records
    from cpcm.workflow.fold import fold
    from cpcm.workflow.open_items import unfinished

    sup = cli_as("sup")
    case_id = _reopened_at_the_visit(cli, sup)  # A1 and A2 of version 1 marked done before the closure
    worker = at(cli, NEXT_DAY)
    assert worker("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    new_plan = plan_doc("after_reopening", actions=[
        {"id": "A1", "what": "Attend the clinic", "who": "family", "by": "2027-04-20", "mode": "direct", "goal": "G1"},
        {"what": "Go to school", "who": "child", "by": "2027-04-22", "mode": "direct", "goal": "G1"}])
    written = worker("plan", case_id, "--from-file", "-", input=json.dumps(new_plan))
    assert written.code == 0 and "actions A1, A2" in written.stderr, written.stderr
    assert at(sup, "2027-03-12T09:00:00+03:00")("approve", case_id, "plan").code == 0
    later = at(cli, "2027-04-25T09:00:00+03:00")
    due = [(i["title"], i["due"][:10], i["state"]) for i in later("due", "--json").json()
           if i["case_id"] == case_id and i["code"] == "plan-action"]
    assert due == [("plan action A1 (family)", "2027-04-20", "overdue"), ("plan action A2 (child)", "2027-04-22", "overdue")]
    check = later("check", case_id, "--json")
    assert [p["code"] for p in check.json()].count("plan-action-overdue") == 2, check.stdout
    shown = later("show", case_id, "--json").json()
    assert [(a["item"], a["late"]) for a in shown["open_actions"]] == [("A1", True), ("A2", True)]
    records = load_records(library_session(later), case_id)
    assert unfinished(fold(case_id, records), records)["actions"] == ["A1", "A2"]
    # marked done since the reopening: done for this plan
    done = later("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check clinic",
                 "--visited-by", "professional", "--risk-increased", "no", "--done", "A1")
    assert done.code == 0, done.stderr
    assert [i["title"] for i in later("due", "--json").json() if i["case_id"] == case_id and i["code"] == "plan-action"] == [
        "plan action A2 (child)"]
    assert [a["item"] for a in later("show", case_id, "--json").json()["open_actions"]] == ["A2"]


def test_reopened__no_review_is_due_from_the_old_plan_while_the_new_one_waits_for_approval(cli, cli_as):
    """Planned again after the reopening, with the new version waiting for approval: the version
    approved before the reopening is not in force, so no review clock runs from it (`due` listed a
    review three months after its approval, `check` called it overdue) and `check` says the new
    version is not approved (it took the old one as in force); `due`, `show` and `check` agree.
    Once the new version is approved, the review is due from that approval."""
    sup = cli_as("sup")
    case_id = _reopened_at_the_visit(cli, sup)  # version 1 approved 2026-11-23: its review fell due 2027-02-23
    worker = at(cli, NEXT_DAY)
    assert worker("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert worker("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    new_plan = plan_doc("after_reopening", actions=[{"what": "Attend the clinic", "who": "family", "by": "2027-04-20",
                                                     "mode": "direct", "goal": "G1"}])
    assert worker("plan", case_id, "--from-file", "-", input=json.dumps(new_plan)).code == 0
    assert _codes(worker, case_id) == ["case-plan"]  # the approval is on the supervisors' list
    assert "review" not in [i["code"] for i in worker("show", case_id, "--json").json()["due"]]
    check = worker("check", case_id, "--json")
    assert [(p["code"], p["message"]) for p in check.json()] == [
        ("plan-not-approved", "plan version 2 waits for approval: it is not in force")], check.stdout
    assert at(sup, "2027-03-12T09:00:00+03:00")("approve", case_id, "plan").code == 0
    later = at(cli, "2027-03-13T09:00:00+03:00")
    review = [i for i in later("due", "--within", "400", "--json").json() if i["case_id"] == case_id and i["code"] == "review"]
    assert [i["due"] for i in review] == ["2027-06-12T09:00+03:00"], review  # three months from the new approval
    assert later("check", case_id, "--json").json() == []


@pytest.mark.parametrize("keeps_due", [False, True])
def test_reopened__a_new_version_rejected_is_rejected_with_no_plan_in_force(cli, cli_as, repo, keeps_due):
    """The version approved before the reopening is not in force after it (unless the policy keeps
    its actions due, `plan_action.due_after_reopening`), so an interim plan rejected after the
    reopening puts "write a new plan version (the last was rejected)" on `cpcm due` within the
    response time of the risk (immediate: the same day), not the revision item that said version 1
    stays in force and sent the worker to a case review the stage refuses; `show`'s `plan approval`
    row says the same as its plan row."""
    sup = cli_as("sup")
    case_id = _closed(cli, sup, approval_note="on condition the fees are paid")
    assert at(cli, VISIT_AT)("reopen", case_id, "--reason", "new report from the school").code == 0
    if keeps_due:
        (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_action:\n    due_after_reopening: true\n", encoding="utf-8")
    worker = at(cli, NEXT_DAY)
    assessed = worker("assess", case_id, "--type", "initial", "--risk", "immediate", "--risk-reason", "violence at home",
                      "--set", "safe=no", "--set", "basic_needs.food=no", "--set", "basic_needs.shelter=yes",
                      "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=yes", "--outcome", "proceed")
    assert assessed.code == 0, assessed.stderr
    interim = plan_doc("after_reopening", interim="yes", actions=[{"what": "Attend the clinic", "who": "family",
                                                                   "by": "2027-03-20", "mode": "direct", "goal": "G1"}])
    assert worker("plan", case_id, "--from-file", "-", input=json.dumps(interim)).code == 0
    rejected = at(sup, "2027-03-11T10:00:00+03:00")("reject", case_id, "plan", "--note", "add the clinic visit")
    assert rejected.code == 0, rejected.stderr
    later = at(cli, "2027-03-11T11:00:00+03:00")
    items = {i["code"]: i for i in later("due", "--within", "30", "--json").json() if i["case_id"] == case_id}
    row = [line.split("\t", 1)[1] for line in later("show", case_id).stdout.splitlines() if line.startswith("plan approval\t")]
    if keeps_due:  # version 1 stays in force: a revision turned down
        assert items["plan-revision"]["due"].startswith("2027-03-25T10:00") and "case-plan" not in items, items
        assert "cpcm review" not in items["plan-revision"]["why"]  # the stage (initial_assessment) refuses a review
        assert "review" not in items and later("check", case_id, "--json").json() == []  # no review from version 1
        assert row == ["version 1, in force: by sup on 2026-11-23: on condition the fees are paid"], row
        return
    assert "plan-revision" not in items, items
    plan = items["case-plan"]
    assert (plan["title"], plan["due"], plan["rule"]) == ("write a new plan version (the last was rejected)",
                                                          "2027-03-12T00:00+03:00", "case_plan"), plan  # by midnight
    assert "no plan is in force" in plan["why"] and "stays in force" not in plan["why"] and "cpcm review" not in plan["why"]
    assert row == ["version 1, approved before the reopening, not in force: by sup on 2026-11-23: on condition the fees are "
                   "paid"], row
    shown = " ".join(later("show", case_id).stdout.split())
    assert "version 1, approved before the reopening, is not in force" in shown and ", in force:" not in shown


def test_reopened__a_records_time_from_before_the_reopening_is_corrected_within_its_cycle(cli, cli_as, repo):
    """`cpcm correct CASE followup@1 --at`: the monitoring visit of before the closure moved to
    another time before the reopening is taken; moved into the reopened case, refused naming --at
    and the reopening, nothing written."""
    sup = cli_as("sup")
    case_id = _reopened_at_the_visit(cli, sup)
    worker = at(cli, NEXT_DAY)
    moved = worker("correct", case_id, "followup@1", "--at", "2027-01-19T15:00", "--reason", "time wrong")
    assert moved.code == 0, moved.stderr
    commits = commit_count(repo)
    refused = worker("correct", case_id, "followup@1", "--at", "2027-03-10T12:00", "--reason", "time wrong")
    assert refused.code == 4 and "--at (at): is after the case was reopened (2027-03-10 09:00 +03:00)" in refused.stderr, refused.stderr
    assert commit_count(repo) == commits
    # the reopening's own reason is not corrected: the refusal says how to put it right (a note), in words
    refused = worker("correct", case_id, "reopen", "--set", "reason=risk found", "--reason", "r")
    assert refused.code == 4 and f"cpcm note {case_id} --text TEXT" in refused.stderr and "referral update," in refused.stderr, refused.stderr
    assert commit_count(repo) == commits


@pytest.mark.parametrize("reason", ["crisis", "after_reopening"])
def test_reopened_and_closed_again__the_reports_count_both_episodes(cli, cli_as, reason):
    """The second episode to a new plan, approval and a second closure: timeliness counts each
    cycle's clocks once, the first post-closure visit met (made before the reopening, at the same
    time); statistics count both closures in their own months and the reopening once. The new
    plan's reason (`after_reopening`, the one for it, or `crisis`, what a worker picked before
    there was one) changes nothing the reports, `due` or `check` say."""
    from cpcm.reports.statistics import MEASURE_KEYS, counts
    from cpcm.reports.timeliness import case_clocks
    from cpcm.service.context import load_cases

    sup = cli_as("sup")
    case_id = _reopened_at_the_visit(cli, sup)
    worker = at(cli, NEXT_DAY)
    assert worker("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert worker("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    new_plan = plan_doc(reason, actions=[{"what": "Attend the clinic", "who": "family", "by": "2027-04-20", "mode": "direct",
                                            "goal": "G1"}])
    assert worker("plan", case_id, "--from-file", "-", input=json.dumps(new_plan)).code == 0
    assert at(sup, "2027-03-12T09:00:00+03:00")("approve", case_id, "plan").code == 0
    later = at(cli, "2027-04-25T09:00:00+03:00")
    assert _codes(later, case_id) == ["plan-action", "review"]  # the new plan's action (late) and its review
    assert f"version 2 ({reason}), in force (approved)" in " ".join(later("show", case_id).stdout.split())
    visit = later("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check clinic",
                  "--visited-by", "professional", "--risk-increased", "no", "--done", "A3")
    assert visit.code == 0, visit.stderr
    assert later("close", case_id, "--reason", "goals_met", *GOALS_MET).code == 0
    assert at(sup, "2027-04-26T09:00:00+03:00")("approve", case_id, "closure").code == 0
    end = at(cli, "2027-05-01T09:00:00+03:00")
    assert _codes(end, case_id) == ["post-closure-visit"]
    assert end("check", case_id, "--json").json() == []

    session = library_session(end)
    case = load_cases(session)[case_id]
    outcomes: dict[str, list[str]] = {}
    now = datetime.fromisoformat("2027-05-01T09:00:00+03:00")
    for clock in case_clocks(case, session.policy, now.tzinfo):
        outcomes.setdefault(clock.clock, []).append(clock.outcome(now))
    assert outcomes["initial_assessment"] == ["on_time", "on_time"]
    assert outcomes["comprehensive_assessment"] == ["on_time", "on_time"]
    assert outcomes["case_plan"] == ["on_time", "on_time"]
    assert outcomes["post_closure_visit"] == ["on_time", "open"]  # the first met by the visit that led to the reopening
    table = end("report", "timeliness", "--json")
    assert table.code == 0, table.stderr

    found = counts([case], session.policy, date(2026, 11, 1), date(2027, 5, 1))["measures"]
    total = {m: sum(cell[-1] for cell in found.get(m, ())) for m in MEASURE_KEYS}
    assert (total["registrations"], total["closures"], total["reopenings"]) == (1, 2, 1)
    in_january = counts([case], session.policy, date(2027, 1, 1), date(2027, 1, 31))["measures"]
    assert sum(cell[-1] for cell in in_january.get("closures", ())) == 1  # the first closure stays in its month


def test_registered_again_months_after_closure__told_to_reopen_and_merge_cases_says_so(cli, cli_as):
    """(b) five months after closure a new report: the same child registered again by a worker who
    can read the earlier case is told that it is closed and can be reopened; a supervisor who links
    the two into the closed case is told to reopen it, and the new one to close as registered in error."""
    sup = cli_as("sup")
    case_id = _closed(cli, sup)
    worker = at(cli, "2027-06-20T09:00:00+03:00")
    again = worker("register", "--from-file", "-", "--json", input=json.dumps(registration()))
    assert again.code == 0, again.stderr
    new_id = again.json()["case_id"]
    assert again.json()["possible_duplicates"] == [
        {"case_id": case_id, "reason": "same or similar name and the same birth year", "status": "closed"}]
    assert f"which is closed; if it is the same child, reopen it rather than work on a new case (cpcm reopen {case_id}" in \
        " ".join(again.stderr.split()), again.stderr
    assert "Test Child" not in again.stderr
    merged = at(sup, "2027-06-20T10:00:00+03:00")("merge-cases", case_id, new_id)
    assert merged.code == 0, merged.stderr
    said = " ".join((merged.stdout + merged.stderr).split())
    assert f"{case_id} is closed: the work on the child goes on there once it is reopened (cpcm reopen {case_id}" in said, said
    assert f"cpcm close {new_id} --reason registered_in_error" in said
    reopened = at(cli, "2027-06-20T11:00:00+03:00")("reopen", case_id, "--reason", "new report")
    assert reopened.code == 0, reopened.stderr
    assert _codes(at(cli, "2027-06-20T12:00:00+03:00"), case_id) == ["initial-assessment", "comprehensive-assessment"]


def test_kenya_reunified_case_reopened__no_review_or_old_actions_due_and_the_plan_not_in_force(kenya):
    """(c) a reunified child's case (kenya: reviews every 6 months for 2 years after reunification)
    closed and reopened: the assessment clocks again and the monitoring visits of the placement the
    child still lives in; no review until a new plan, no action of the old plan; the old plan not in
    force in show and its document."""
    from test_readiness import KENYA_GOALS_MET, answers, record

    case_id = reunified(kenya)
    amina, sup = kenya("amina"), kenya("sup")
    assert record(amina, case_id, answers()).code == 0
    assert amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "the family carries on").code == 0
    assert sup("approve", case_id, "closure").code == 0
    later = kenya("amina", "2027-05-01T09:00:00+03:00")
    assert later("reopen", case_id, "--reason", "new report from the school").code == 0
    assert _codes(later, case_id) == ["initial-assessment", "comprehensive-assessment", "monitoring-visit"]
    assert later("check", case_id, "--json").json() == []
    shown = " ".join(later("show", case_id).stdout.split())
    assert "approved before the reopening, not in force since" in shown and "in force (approved)" not in shown
    plan = " ".join(later("render", "case-plan", case_id).stdout.split())
    assert "This plan is in force" not in plan and "**Not in force.**" in plan


def test_reopened__the_first_plan_after_it_has_its_own_reason_and_show_marks_the_earlier_episode(cli, cli_as):
    """A reopened case reads as two episodes: `cpcm reopen` suggests the plan reason
    `after_reopening` (no `crisis` for want of one), which the plan form takes and `show` and the
    case plan print; `show` marks the assessments, consents and referrals recorded before the
    latest reopening (a row mark and an `episode` column piped, `before_reopening` in --json);
    the reason starts nothing else (no reunification) and the reports count it as any plan."""
    sup = cli_as("sup")
    case_id = _closed(cli, sup, consent=True)
    worker = at(cli, VISIT_AT)
    reopened = worker("reopen", case_id, "--reason", "new report from the school")
    assert reopened.code == 0, reopened.stderr
    said = " ".join((reopened.stdout + reopened.stderr).split())
    assert f"cpcm plan {case_id} --from-file F, reason after_reopening" in said, said
    worker = at(cli, NEXT_DAY)
    assert worker("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assessed = worker("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE))
    assert assessed.code == 0 and "(reason after_reopening)" in " ".join((assessed.stdout + assessed.stderr).split())
    consented = worker("consent", case_id, *CONSENT)
    assert consented.code == 0, consented.stderr
    new_plan = plan_doc("after_reopening", actions=[{"what": "Attend the clinic", "who": "family", "by": "2027-04-20",
                                                     "mode": "direct", "goal": "G1"}])
    written = worker("plan", case_id, "--from-file", "-", input=json.dumps(new_plan))
    assert written.code == 0, written.stderr
    assert at(sup, "2027-03-12T09:00:00+03:00")("approve", case_id, "plan").code == 0
    later = at(cli, "2027-03-13T09:00:00+03:00")

    data = later("show", case_id, "--json").json()
    assert data["reopened_at"].startswith("2027-03-10T09:00")
    assert [(a["type"], a["before_reopening"]) for a in data["assessments"]] == [
        ("initial", True), ("comprehensive", True), ("initial", False), ("comprehensive", False)]
    assert [c["before_reopening"] for c in data["consents"]] == [True, False]
    assert data["plan"]["reason"] == "after_reopening" and data["plan"]["before_reopening"] is False
    piped = later("show", case_id).stdout
    table = piped.split("\n\n")[0]
    marked = [line for line in table.splitlines() if line.split("\t")[0].endswith("assessment")]
    assert [line.endswith("; before the reopening") for line in marked] == [True, True, False, False], marked
    assert "reopened\t2027-03-10" in table
    assert "version 2 (after_reopening), in force (approved)" in " ".join(piped.split())
    consents = piped.split("# Consents on file\n")[1].split("\n\n")[0].splitlines()
    assert consents[0].split("\t")[-1] == "episode", consents
    assert [row.split("\t")[-1] for row in consents[1:]] == ["before the reopening", "since the reopening"], consents
    plan = " ".join(later("render", "case-plan", case_id).stdout.split())
    assert "first plan after the case was reopened" in plan
    sw = " ".join(later("render", "case-plan", case_id, "--lang", "sw").stdout.split())
    assert "mpango wa kwanza baada ya kesi kufunguliwa upya" in sw
    case_file = later("render", "case-file", case_id)
    assert case_file.code == 0, case_file.stderr
    text = " ".join(case_file.stdout.split())
    assert "**Reopened:** 10 March 2027 (the assessments, consents, referrals and reviews before it are marked" in text
    records = case_file.stdout.split("\n### ")[1:]
    marked = [r.splitlines()[0].split(". ", 1)[1] for r in records if "**before the reopening**" in r]
    assert marked == ["Consent", "Assessment: initial", "Assessment: comprehensive"], marked  # not the new episode's
    html = later("render", "case-file", case_id, "--format", "html")
    assert html.code == 0 and html.stdout.count("<strong>before the reopening</strong>") == 3
    sw = later("render", "case-file", case_id, "--lang", "sw")
    assert sw.code == 0 and sw.stdout.count("**kabla ya kesi kufunguliwa upya**") == 3
    # nothing else follows from the reason: the plan's own action and its review, as after any plan
    assert _codes(at(cli, "2027-04-25T09:00:00+03:00"), case_id) == ["plan-action", "review"]
    assert "reunification_done" not in later("log", case_id, "--json").stdout


def test_show__a_case_never_reopened_has_no_mark_and_no_episode_column(cli, cli_as):
    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("consent", case_id, *CONSENT).code == 0
    data = cli("show", case_id, "--json").json()
    assert data["reopened_at"] is None and [a["before_reopening"] for a in data["assessments"]] == [False]
    assert [c["before_reopening"] for c in data["consents"]] == [False]
    piped = cli("show", case_id).stdout
    assert "before the reopening" not in piped and "episode" not in piped and "\nreopened\t" not in piped
    case_file = cli("render", "case-file", case_id).stdout
    assert "before the reopening" not in case_file and "Reopened" not in case_file


@pytest.mark.parametrize("keeps_due", [False, True])
def test_reopened__writing_rejecting_and_withdrawing_a_new_plan_say_alike_whether_the_old_one_stays_in_force(cli, cli_as, repo,
                                                                                                          keeps_due):
    """The three places that tell what a new version leaves in force (planning._plan_left) say the
    same of the plan from before the reopening: not in force, unless the policy keeps its actions
    due (`plan_action.due_after_reopening`), when it stays in force."""
    case_id = _reopened_at_the_visit(cli, cli_as("sup"))
    if keeps_due:
        (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_action:\n    due_after_reopening: true\n", encoding="utf-8")
    worker, sup = at(cli, NEXT_DAY), at(cli_as("sup"), NEXT_DAY)
    assert worker("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert worker("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    new_plan = json.dumps(plan_doc("crisis", actions=[{"what": "Attend the clinic", "who": "family", "by": "2027-04-20",
                                                       "mode": "direct", "goal": "G1"}]))
    before = "version 1 is from before the reopening and not in force: its actions are not due"

    def said(result) -> str:
        assert result.code == 0, result.stderr
        return " ".join((result.stdout + result.stderr).split())
    written = said(worker("plan", case_id, "--from-file", "-", input=new_plan))
    rejected = said(sup("reject", case_id, "plan", "--note", "add the school"))
    assert said(worker("plan", case_id, "--from-file", "-", input=new_plan))
    withdrawn = said(worker("plan", case_id, "--withdraw", "--reason", "written before the school's report"))
    if keeps_due:
        assert "until then version 1 stays in force" in written and before not in written, written
        assert "plan version 2 is not in force and version 1 stays in force" in rejected, rejected
        assert "version 1 stays in force" in withdrawn and before not in withdrawn, withdrawn
    else:
        assert before in written and "stays in force" not in written, written
        assert f"plan version 2 is not in force and the case has no plan in force ({before})" in rejected, rejected
        assert f"the case has no plan in force since the reopening ({before}): write one (cpcm plan {case_id})" in withdrawn, withdrawn
