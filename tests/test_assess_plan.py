"""Assessments, versioned case plans and a supervisor's approval.

The rules are tested at the service level over a repository in memory (tests/memory_repo.py,
no disk, git or age); a thin layer runs the same commands end to end through the CLI, git and
age, for the exit codes, the --json shape and one commit per command."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from conftest import commit_count, library_session, register
from cpcm import service
from cpcm.errors import InvalidInput, Refused
from memory_repo import MemoryRepo

INITIAL = ["--set", "safe=yes", "--set", "basic_needs.food=no", "--set", "basic_needs.shelter=yes",
           "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=no", "--outcome", "proceed"]
COMPREHENSIVE = {
    "dimensions": {"physical": {"risks": "underweight", "strengths": "healthy otherwise", "rating": 2},
                   "family_relationships": {"strengths": "close to grandmother"}},
    "child_views": "wants to go back to school",
    "outcome_explained_to_child": "yes",
    "consulted": ["child", "caregivers", "home_visit"],
    "needs": ["to go to school", "enough food"],
}


def plan_doc(reason="initial", **extra):
    doc = {
        "reason": reason,
        "goals": [{"term": "short", "goal": "Back in school", "need": "to go to school"},
                  {"term": "medium", "goal": "Enough food", "need": "enough food"}],
        "actions": [{"what": "Pay fees through the bursary", "who": "service", "by": "2026-12-15", "mode": "referral", "goal": "G1"},
                    {"what": "Go to school", "who": "child", "by": "2027-01-10", "mode": "direct", "goal": "G1"}],
        "closure_criteria": ["in school for 3 months"],
        "contingency": "The aunt takes the child in if needed.",
        "participants": {"child": "yes", "caregivers": "yes"},
    }
    doc.update(extra)
    return doc


INITIAL_DATA = {"safe": "yes", "basic_needs": {"food": "no", "shelter": "yes", "medical": "yes"},
                "interim_plan_needed": "no", "outcome": "proceed"}


def assessed_initial(cli, risk="high") -> str:
    """A case registered and given its initial assessment at `risk`."""
    case_id = register(cli)
    result = cli("assess", case_id, "--type", "initial", "--risk", risk, *INITIAL,
                 *(["--risk-reason", "re-rated at the home visit"] if risk != "high" else []))
    assert result.code == 0, result.stderr
    return case_id


def assessed(cli, risk="high"):
    case_id = assessed_initial(cli, risk)
    result = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE))
    assert result.code == 0, result.stderr
    return case_id


def assessed_in(mem: MemoryRepo, worker: str = "amina") -> str:
    """A case with its initial and comprehensive assessments, in the memory repository."""
    ctx = mem.as_(worker)
    case_id = mem.register(ctx)
    service.assess(ctx, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    service.assess(ctx, case_id, "comprehensive", COMPREHENSIVE)
    return case_id


def fields(error: InvalidInput) -> set[str]:
    return {e.field for e in error.errors}


# -- the rules, at the service level ---------------------------------------------------------------
def test_comprehensive_assessment__refused_without_the_childs_views():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    before = mem.commits()
    doc = dict(COMPREHENSIVE)
    del doc["child_views"]
    with pytest.raises(InvalidInput) as refused:
        service.assess(amina, case_id, "comprehensive", doc)
    assert "child_views" in fields(refused.value) and "required" in str(refused.value)
    assert mem.commits() == before


def test_initial_assessment__a_changed_risk_needs_a_reason_and_rerates_the_case():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    with pytest.raises(InvalidInput) as refused:
        service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="medium"))
    assert fields(refused.value) == {"risk_reason"}
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="medium", risk_reason="safe with the aunt"))
    assert service.show(amina, case_id)["risk"] == "medium"


def test_initial_assessment__next_says_the_response_to_the_risk_first_with_its_time_and_source():
    """The response to a high risk falls due 72 hours after the initial assessment, weeks before
    the comprehensive assessment: the next: line that named only the comprehensive assessment let
    a worker who reads it (and not `cpcm due`) miss it."""
    from cpcm.domain.dates import local_text
    from cpcm.workflow.deadlines import zone_of

    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    written = service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    response = next(i for i in service.due(amina) if i.case_id == case_id and i.code == "risk-response")
    first, then = written.next_steps
    assert first.startswith(f"respond to high risk by {local_text(response.due, zone_of(amina.now))} "), first
    assert f"cpcm followup {case_id}" in first and "IAG §3 Step 2" in first, first
    assert then == f"the comprehensive assessment: cpcm assess {case_id} --type comprehensive"
    # immediate protection actions recorded in the assessment are the response: nothing more to say
    other = mem.register(amina)
    acted = service.assess(amina, other, "initial", dict(INITIAL_DATA, risk="high", immediate_actions=["moved to the aunt's"]))
    assert acted.next_steps == (f"the comprehensive assessment: cpcm assess {other} --type comprehensive",)


def test_plan__needs_a_supervisor_and_is_not_in_force_until_approved():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = assessed_in(mem)
    written = service.plan(amina, case_id, plan_doc())
    assert "cpcm approve" in written.next_steps[0]
    with pytest.raises(Refused) as own:  # a caseworker cannot approve
        service.approve(amina, case_id, "plan")
    assert own.value.rule == "approval-needs-supervisor"
    # an unapproved plan is not in force: the plan deadline stays, check warns
    assert "case-plan" in {i.code for i in service.due(amina, within_days=30) if i.case_id == case_id}
    assert "plan-not-approved" in {p.code for p in service.check(amina, case_id)}
    # the supervisor sees the approval waiting, and approves
    assert (case_id, "plan-approval") in {(i.case_id, i.code) for i in service.due(sup)}
    service.approve(sup, case_id, "plan", note="good plan")
    after = {i.code for i in service.due(amina, within_days=120) if i.case_id == case_id}
    assert "case-plan" not in after and "review" in after
    assert "plan-not-approved" not in {p.code for p in service.check(amina, case_id)}
    last = service.load_records(amina, case_id)[-1]
    assert (last.kind, last.by, last.body["note"]) == ("approval", "sup", "good plan")


def test_plan__a_supervisor_cannot_approve_a_plan_they_wrote():
    mem = MemoryRepo()
    sup = mem.as_("sup")
    case_id = assessed_in(mem, "sup")
    service.plan(sup, case_id, plan_doc())
    with pytest.raises(Refused) as refused:
        service.approve(sup, case_id, "plan")
    assert refused.value.rule == "self-approval" and "self_approval" in str(refused.value.hint)


def test_plan__self_approval_allowed_where_the_policy_says_so():
    mem = MemoryRepo(rules={"plan_approval": {"self_approval": True}})
    sup = mem.as_("sup")
    case_id = assessed_in(mem, "sup")
    service.plan(sup, case_id, plan_doc())
    with pytest.raises(InvalidInput) as no_reason:  # one's own plan: only with the reason recorded
        service.approve(sup, case_id, "plan")
    assert fields(no_reason.value) == {"note"}
    written = service.approve(sup, case_id, "plan", note="the only supervisor of the agency")
    assert written.kind == "approval"
    last = service.load_records(sup, case_id)[-1]
    assert last.body["self_approval"] is True and last.body["note"] == "the only supervisor of the agency"


def test_plan__rejection_needs_a_note_and_keeps_the_plan_out_of_force():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = assessed_in(mem)
    service.plan(amina, case_id, plan_doc())
    with pytest.raises(InvalidInput) as refused:
        service.reject(sup, case_id, "plan")
    assert fields(refused.value) == {"note"}
    service.reject(sup, case_id, "plan", note="add a goal for food at home")
    shown = service.show(amina, case_id)
    assert shown["plan"]["rejected_at"] and not shown["plan"]["approved_at"]
    # the worker reads who rejected it, when, and what to change
    rejection = shown["plan"]["rejection"]
    assert (rejection["by"], rejection["note"]) == ("sup", "add a goal for food at home")
    assert rejection["at"] == shown["plan"]["rejected_at"]
    with pytest.raises(Refused) as nothing:  # nothing waits now
        service.approve(sup, case_id, "plan")
    assert nothing.value.rule == "nothing-to-approve"


def test_plan__show_gives_the_worker_the_rejections_reason(cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = assessed(amina)
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("reject", case_id, "plan", "--note", "add a goal for food at home").code == 0
    row = next(line for line in amina("show", case_id).stdout.splitlines() if line.startswith("plan\t"))
    assert row.endswith("rejected by sup on 2026-11-23 (add a goal for food at home): a new version is needed")
    # a new version waits again: the old rejection is not shown for it
    assert amina("plan", case_id, "--from-current", "--reason", "correction", "--no-input").code == 0
    row = next(line for line in amina("show", case_id).stdout.splitlines() if line.startswith("plan\t"))
    assert "rejected" not in row and "waiting for a supervisor's approval" in row
    assert service.show(library_session(amina), case_id)["plan"]["rejection"] is None


def test_plan__three_versions_all_in_the_history_the_latest_in_force():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = assessed_in(mem)
    for reason in ("initial", "review", "crisis"):
        service.plan(amina, case_id, plan_doc(reason))
        service.approve(sup, case_id, "plan")
    plans = [r for r in service.load_records(amina, case_id) if r.kind == "plan"]
    assert [r.body["reason"] for r in plans] == ["initial", "review", "crisis"] and len({r.id for r in plans}) == 3
    shown = service.show(amina, case_id)
    assert shown["plan"]["version"] == 3 and shown["plan"]["reason"] == "crisis" and shown["plan"]["approved_at"]


def test_plan__bad_goal_link_and_missing_closure_criteria_are_refused_with_the_path():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = assessed_in(mem)
    doc = plan_doc()
    doc["actions"][0]["goal"] = "G9"
    del doc["closure_criteria"]
    with pytest.raises(InvalidInput) as refused:
        service.plan(amina, case_id, doc)
    assert fields(refused.value) == {"closure_criteria", "actions[1].goal"}  # every problem at once
    doc["closure_criteria"] = ["x"]
    with pytest.raises(InvalidInput) as refused:
        service.plan(amina, case_id, doc)
    assert fields(refused.value) == {"actions[1].goal"}
    doc["actions"][0]["who"] = "nobody"
    with pytest.raises(InvalidInput) as refused:
        service.plan(amina, case_id, doc)
    assert fields(refused.value) == {"actions[1].who", "actions[1].goal"}


def test_reassessment__show_lists_what_changed():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = assessed_in(mem)
    service.assess(amina, case_id, "comprehensive", dict(COMPREHENSIVE, child_views="wants to live with the aunt",
                                                         needs=["to go to school"]))
    assessments = [a for a in service.show(amina, case_id)["assessments"] if a["type"] == "comprehensive"]
    assert len(assessments) == 2
    assert {c["field"] for c in assessments[1]["changed"]} == {"child_views", "needs"}


def test_best_interests__options_and_reasons_are_required():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = assessed_in(mem)
    with pytest.raises(InvalidInput) as refused:
        service.assess(amina, case_id, "best-interests", {"decision": "alternative_care_placement", "care_away_needed": "yes"})
    assert {"family_support_tried", "options", "chosen", "why_least_harmful", "child_views"} <= fields(refused.value)
    doc = {"decision": "alternative_care_placement", "care_away_needed": "yes", "family_support_tried": ["cash transfer"],
           "options": [{"kind": "kinship", "assessment": "aunt willing"}, {"kind": "foster_care", "assessment": "none nearby"}],
           "chosen": "kinship", "why_least_harmful": "stays in the family and school", "child_views": "wants the aunt",
           "outcome_explained_to_child": "yes"}
    assert service.assess(amina, case_id, "best-interests", doc).kind == "assessment"


# -- end to end: the CLI, git and age --------------------------------------------------------------
def test_cli__a_refused_assessment_exits_4_naming_the_field_and_commits_nothing(cli, repo):
    case_id = register(cli)
    before = commit_count(repo)
    doc = dict(COMPREHENSIVE)
    del doc["child_views"]
    result = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(doc))
    assert result.code == 4
    assert "child_views" in result.stderr and "required" in result.stderr
    assert commit_count(repo) == before


def test_cli__assess_plan_approve_one_commit_each_with_the_json_shape(cli, cli_as, repo):
    case_id = register(cli)
    before = commit_count(repo)
    assessed_json = cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL, "--json")
    assert assessed_json.code == 0, assessed_json.stderr
    assert set(assessed_json.json()) == {"case_id", "record_id", "kind", "warnings", "next_steps"}
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    planned = cli("plan", case_id, "--from-file", "-", "--json", input=json.dumps(plan_doc()))
    assert planned.code == 0 and planned.json()["kind"] == "plan" and planned.json()["case_id"] == case_id
    assert commit_count(repo) == before + 3
    assert cli("approve", case_id, "plan").code == 4  # a caseworker: refused, nothing written
    assert commit_count(repo) == before + 3
    approved = cli_as("sup")("approve", case_id, "plan", "--note", "good plan", "--json")
    assert approved.code == 0, approved.stderr
    assert approved.json()["kind"] == "approval" and approved.json()["record_id"]
    assert commit_count(repo) == before + 4
    assert [e["kind"] for e in cli("log", case_id, "--json").json()][-1] == "approval"


def test_cli__an_interim_plan_asked_for_is_due_and_checked_until_a_plan_is_written(cli):
    """IAG §3 Step 2 [L825]: the initial assessment found an interim plan needed. `due` lists
    "record the interim plan" (interim_plan.limit, 72 hours, from that assessment) and the next: line
    says by when; a follow-up answers the risk, not the plan; once overdue `check` reports
    interim-plan-overdue (exit 1); an interim plan written takes it away."""
    case_id = register(cli)
    needed = [a.replace("interim_plan_needed=no", "interim_plan_needed=yes") for a in INITIAL]  # given twice: refused
    asked = cli("assess", case_id, "--type", "initial", "--risk", "high", *needed)
    assert asked.code == 0, asked.stderr
    assert "record an interim plan now (by 2026-11-26 09:00 +03:00, cpcm's choice; IAG §3 Step 2 [L825])" in asked.stderr
    assert visit_(cli, case_id).code == 0  # the risk answered (a follow-up); the interim plan still to write

    def interim(env=None):
        return [i for i in cli("due", "--within", "30", "--json", env=env).json() if i["case_id"] == case_id and i["code"] == "interim-plan"]
    [item] = interim()
    assert (item["title"], item["due"], item["rule"], item["state"]) == (
        "record the interim plan", "2026-11-26T09:00+03:00", "interim_plan", "due_soon")
    assert "IAG §3 Step 2 [L825]" in item["source"] and "cpcm's choice" in item["source"]
    late = {"CPCM_NOW": "2026-11-26T09:01:00+03:00"}
    checked = cli("check", case_id, "--json", env=late)
    assert checked.code == 1
    assert [p["rule"] for p in checked.json() if p["code"] == "interim-plan-overdue"] == ["interim_plan"]
    assert [i["state"] for i in interim(late)] == ["overdue"]
    written = cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc(interim="yes")), env=late)
    assert written.code == 0 and "an interim plan (before the comprehensive assessment)" in written.stderr, written.stderr
    assert f"cpcm assess {case_id} --type comprehensive, then cpcm plan {case_id}" in written.stderr
    assert interim(late) == []
    assert "interim-plan-overdue" not in {p["code"] for p in cli("check", case_id, "--json", env=late).json()}


def visit_(cli, case_id):
    return cli("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check safety",
               "--visited-by", "professional", "--risk-increased", "no")


def test_cli__self_approval_allowed_by_the_repositorys_policy_file(cli_as, repo):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_approval:\n    self_approval: true\n")
    sup = cli_as("sup")
    case_id = assessed(sup)
    assert sup("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan").code == 4  # one's own plan needs the reason
    assert sup("approve", case_id, "plan", "--note", "the only supervisor here").code == 0


@pytest.mark.parametrize("kind", ["registration", "assessment-initial", "assessment-comprehensive", "best-interests", "plan"])
def test_form_blank__every_form_gives_a_yaml_skeleton_naming_its_fields(cli, kind):
    from ruamel.yaml import YAML

    from cpcm.store import forms

    result = cli("form", "blank", kind)
    assert result.code == 0
    YAML(typ="safe").load(result.stdout)
    for field in forms.load(kind).fields:
        assert field.key.split(".")[-1] + ":" in result.stdout


# -- the initial assessment's outcome ---------------------------------------------------------------------
def concluding(outcome: str) -> dict:
    """An initial assessment that concludes `outcome` (close_not_eligible with the feedback given to the referrer)."""
    feedback = {"referrer_feedback": "Told the referring school by phone"} if outcome == "close_not_eligible" else {}
    return dict(INITIAL_DATA, risk="high", outcome=outcome, **feedback)


@pytest.mark.parametrize("outcome, remedy", [("close_no_concerns", "--reason no_concerns"),
                                             ("close_registered_in_error", "--reason registered_in_error"),
                                             ("close_not_eligible", "--reason not_eligible"),
                                             ("transfer", "cpcm transfer")])
def test_comprehensive_assessment__refused_after_an_initial_assessment_that_concluded_close_or_transfer(outcome, remedy):
    """IAG Step 2 [L810]: the initial assessment goes on to the comprehensive assessment, or the
    case is closed or transferred. A case it closed or transferred takes no comprehensive
    assessment, plan or approval, until a new initial assessment concludes proceed."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.assess(amina, case_id, "initial", concluding(outcome))
    before = mem.commits()
    for run in (lambda: service.assess(amina, case_id, "comprehensive", COMPREHENSIVE),
                lambda: service.plan(amina, case_id, plan_doc())):
        with pytest.raises(Refused) as refused:
            run()
        assert refused.value.rule == "initial-assessment-outcome" and refused.value.exit_code == 4
        assert outcome in str(refused.value) and remedy in refused.value.hint and "--outcome proceed" in refused.value.hint
    assert mem.commits() == before  # nothing written
    # the situation changed: a new initial assessment that concludes proceed lets the case go on
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    service.assess(amina, case_id, "comprehensive", COMPREHENSIVE)
    service.plan(amina, case_id, plan_doc())
    assert service.approve(mem.as_("sup"), case_id, "plan", note="agreed").kind == "approval"


def test_plan__an_interim_plan_waiting_is_not_approved_after_the_initial_assessment_closed_the_case():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.plan(amina, case_id, plan_doc(interim=True))
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high", outcome="close_no_concerns"))
    with pytest.raises(Refused) as refused:
        service.approve(mem.as_("sup"), case_id, "plan", note="agreed")
    assert refused.value.rule == "initial-assessment-outcome"
    # the supervisor's list says what the decision can be, and that one is taken
    waiting = [i for i in service.due(mem.as_("sup"), worker="all") if i.code == "plan-approval"]
    assert len(waiting) == 1 and "concluded 'close_no_concerns', so it can only be rejected" in waiting[0].why
    assert f"cpcm reject {case_id} plan --note" in waiting[0].why
    service.reject(mem.as_("sup"), case_id, "plan", note="the case closes")
    assert [i for i in service.due(mem.as_("sup"), worker="all") if i.code == "plan-approval"] == []


def test_cli__comprehensive_after_an_initial_that_concluded_close_exits_4_and_commits_nothing(cli, repo):
    case_id = register(cli)
    outcome = [a if a != "proceed" else "close_no_concerns" for a in INITIAL]
    assessed = cli("assess", case_id, "--type", "initial", "--risk", "high", *outcome)
    assert assessed.code == 0 and f"next: request closure: cpcm close {case_id} --reason no_concerns" in assessed.stderr
    before = commit_count(repo)
    result = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE))
    assert result.code == 4, result.stderr
    assert "close_no_concerns" in result.stderr and f"cpcm close {case_id}" in result.stderr
    assert commit_count(repo) == before


@pytest.mark.parametrize("outcome, remedy", [("close_no_concerns", "--reason no_concerns"), ("close_not_eligible", "--reason not_eligible"),
                                             ("transfer", "cpcm transfer")])
def test_due_and_check__after_an_initial_assessment_that_concluded_close_or_transfer_ask_for_that_not_a_comprehensive_one(
        outcome, remedy):
    """`cpcm assess --type comprehensive` is refused for such a case: `cpcm due` and `cpcm check`
    must not ask for it, but for what the initial assessment concluded."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.assess(amina, case_id, "initial", concluding(outcome))
    items = [i for i in service.due(amina, worker="all", within_days=60) if i.case_id == case_id]
    (step,) = [i for i in items if i.code == "comprehensive-assessment"]  # the same clock: what comes after the initial assessment
    assert "comprehensive" not in step.title and outcome in step.title
    assert f"cpcm {'close' if 'close' in outcome else 'transfer'} {case_id}" in step.why and remedy in step.why
    later = mem.as_("amina", now=(mem.now + timedelta(days=62)).isoformat())
    (problem,) = [p for p in service.check(later, case_id) if p.code == "comprehensive-assessment-overdue"]
    assert "comprehensive" not in problem.message.split(":")[0] and remedy in problem.message
    # a new initial assessment that concludes proceed: the comprehensive assessment is asked for again
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    (step,) = [i for i in service.due(amina, worker="all", within_days=60) if i.case_id == case_id and i.code == "comprehensive-assessment"]
    assert step.title == "comprehensive assessment"


# -- the dates of a plan's actions --------------------------------------------------------------------
LATE = "2026-12-20T10:00:00+03:00"  # after plan_doc's A1 (2026-12-15), before its A2 (2027-01-10)


def test_plan__an_action_dated_before_the_plan_is_refused_naming_it_and_nothing_is_written():
    mem = MemoryRepo()
    case_id = assessed_in(mem)
    amina = mem.as_("amina", now=LATE)
    before = mem.commits()
    doc = plan_doc()
    doc["actions"].append({"what": "Get the birth certificate", "who": "caseworker", "by": "2026-09-30", "mode": "direct"})
    with pytest.raises(InvalidInput) as refused:
        service.plan(amina, case_id, doc)
    assert fields(refused.value) == {"actions[1].by", "actions[3].by"}  # every such action at once
    reasons = {e.field: e.reason for e in refused.value.errors}
    assert reasons["actions[3].by"].startswith("(A3) is 2026-09-30, before the plan's own date (2026-12-20)")
    assert reasons["actions[1].by"].startswith("(A1) is 2026-12-15")
    assert mem.commits() == before
    # the same plan agreed on paper on 2026-12-01, recorded with that day: A3's date is still before it
    with pytest.raises(InvalidInput) as refused:
        service.plan(amina, case_id, doc, at=datetime.fromisoformat("2026-12-01T10:00:00+03:00"))
    assert fields(refused.value) == {"actions[3].by"}
    doc["actions"][2]["by"] = "2026-12-05"
    written = service.plan(amina, case_id, doc, at=datetime.fromisoformat("2026-12-01T10:00:00+03:00"))
    assert written.extra["actions"] == ["A1", "A2", "A3"] and written.warnings == ()


def test_plan__a_missing_field_an_action_dated_before_the_plan_and_a_time_ahead_are_named_together():
    """An action's date and the plan's --at are checked with the form: one refusal names them
    all, rather than the date only once the missing field is given."""
    from datetime import timedelta

    mem = MemoryRepo()
    case_id = assessed_in(mem)
    amina = mem.as_("amina", now=LATE)
    doc = {k: v for k, v in plan_doc().items() if k != "contingency"}
    with pytest.raises(InvalidInput) as refused:
        service.plan(amina, case_id, doc)
    assert fields(refused.value) == {"contingency", "actions[1].by"}, str(refused.value)
    with pytest.raises(InvalidInput) as ahead:
        service.plan(amina, case_id, doc, at=amina.now + timedelta(days=1))
    assert fields(ahead.value) == {"contingency", "at", "actions[1].by"}, str(ahead.value)


def test_plan__a_new_version_keeping_an_open_late_action_is_written_with_a_warning_a_date_typed_in_it_is_checked():
    mem = MemoryRepo()
    case_id = assessed_in(mem)
    service.plan(mem.as_("amina"), case_id, plan_doc())  # on 2026-11-23: A1 by 2026-12-15, A2 by 2027-01-10
    service.approve(mem.as_("sup"), case_id, "plan")
    amina = mem.as_("amina", now=LATE)  # A1's date has passed, A1 still open
    kept = service.plan_revise(amina, case_id, "review", {"contingency": "The grandmother takes her in."})
    assert kept.extra["actions"] == ["A1", "A2"]
    assert [w for w in kept.warnings if "kept from the version before" in w] == [
        f"{case_id}: action(s) A1 kept from the version before with a date before this plan's (2026-12-20): still open, "
        f"they are overdue (plan-action-overdue). Give a new date (cpcm plan {case_id} --from-current --reason ... "
        f"--set actions.A1.by=DATE) or, if done, record it (cpcm followup {case_id} ... --done A1)"]
    # the whole plan written again from its file keeps A1's date as it was: no new date, no refusal
    again = service.plan(amina, case_id, plan_doc("review"))
    assert any("action(s) A1 kept" in w for w in again.warnings)
    # a date typed in the version is checked: a changed one, a new action's
    for changes, field in (({"actions": {"A1": {"by": "2026-12-18"}}}, "actions[1].by"),
                           ({"actions": {"new": {"what": "Visit the school", "who": "caseworker", "by": "2026-12-01",
                                                 "mode": "direct"}}}, "actions[3].by")):
        with pytest.raises(InvalidInput) as refused:
            service.plan_revise(amina, case_id, "review", changes)
        assert fields(refused.value) == {field}
    moved = service.plan_revise(amina, case_id, "review", {"actions": {"A1": {"by": "2027-01-05"}}})
    assert not any("kept from the version before" in w for w in moved.warnings)
