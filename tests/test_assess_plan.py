"""Assessments, versioned case plans and a supervisor's approval, end to end."""
from __future__ import annotations

import json

import pytest

from conftest import register

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


def assessed(cli, risk="high"):
    case_id = register(cli)
    result = cli("assess", case_id, "--type", "initial", "--risk", risk, *INITIAL,
                 *(["--risk-reason", "re-rated at the home visit"] if risk != "high" else []))
    assert result.code == 0, result.stderr
    result = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE))
    assert result.code == 0, result.stderr
    return case_id


def test_comprehensive_assessment__refused_without_the_childs_views(cli, repo):
    case_id = register(cli)
    before = (repo / ".git" / "refs" / "heads" / "main").read_text()
    doc = dict(COMPREHENSIVE)
    del doc["child_views"]
    result = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(doc))
    assert result.code == 4
    assert "child_views" in result.stderr and "required" in result.stderr
    assert (repo / ".git" / "refs" / "heads" / "main").read_text() == before


def test_initial_assessment__a_changed_risk_needs_a_reason_and_rerates_the_case(cli):
    case_id = register(cli)
    refused = cli("assess", case_id, "--type", "initial", "--risk", "medium", *INITIAL)
    assert refused.code == 4 and "risk_reason" in refused.stderr
    done = cli("assess", case_id, "--type", "initial", "--risk", "medium", "--risk-reason", "safe with the aunt", *INITIAL)
    assert done.code == 0, done.stderr
    assert cli("show", case_id, "--json").json()["risk"] == "medium"


def test_plan__needs_a_supervisor_and_self_approval_is_refused(cli, cli_as, repo):
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    # a caseworker cannot approve
    own = cli("approve", case_id, "plan")
    assert own.code == 4 and "supervisor" in own.stderr
    # an unapproved plan is not in force: the plan deadline stays, check warns
    due = {i["code"] for i in cli("due", "--json", "--within", "30").json() if i["case_id"] == case_id}
    assert "case-plan" in due
    codes = {p["code"] for p in cli("check", case_id, "--json").json()}
    assert "plan-not-approved" in codes
    # the supervisor sees the approval waiting, and approves
    sup = cli_as("sup")
    waiting = {(i["case_id"], i["code"]) for i in sup("due", "--json").json()}
    assert (case_id, "plan-approval") in waiting
    approved = sup("approve", case_id, "plan", "--note", "good plan")
    assert approved.code == 0, approved.stderr
    after = {i["code"] for i in cli("due", "--json", "--within", "120").json() if i["case_id"] == case_id}
    assert "case-plan" not in after and "review" in after
    assert "plan-not-approved" not in {p["code"] for p in cli("check", case_id, "--json").json()}
    kinds = [e["kind"] for e in cli("log", case_id, "--json").json()]
    assert kinds[-1] == "approval"


def test_plan__a_supervisor_cannot_approve_a_plan_they_wrote(cli_as):
    sup = cli_as("sup")
    case_id = assessed(sup)
    assert sup("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    result = sup("approve", case_id, "plan")
    assert result.code == 4 and "self_approval" in result.stderr


def test_plan__self_approval_allowed_where_the_policy_says_so(cli_as, repo):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_approval:\n    self_approval: true\n")
    sup = cli_as("sup")
    case_id = assessed(sup)
    assert sup("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan").code == 0


def test_plan__rejection_needs_a_note_and_keeps_the_plan_out_of_force(cli, cli_as):
    case_id = assessed(cli)
    cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc()))
    sup = cli_as("sup")
    assert sup("reject", case_id, "plan").code == 4
    assert sup("reject", case_id, "plan", "--note", "add a goal for food at home").code == 0
    shown = cli("show", case_id, "--json").json()
    assert shown["plan"]["rejected_at"] and not shown["plan"]["approved_at"]
    assert sup("approve", case_id, "plan").code == 4  # nothing waits now


def test_plan__three_versions_all_in_the_history_the_latest_in_force(cli, cli_as):
    case_id = assessed(cli)
    sup = cli_as("sup")
    for reason in ("initial", "review", "crisis"):
        assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc(reason))).code == 0
        assert sup("approve", case_id, "plan").code == 0
    log = cli("log", case_id, "--json").json()
    assert [e["kind"] for e in log].count("plan") == 3
    shown = cli("show", case_id, "--json").json()
    assert shown["plan"]["version"] == 3 and shown["plan"]["reason"] == "crisis" and shown["plan"]["approved_at"]
    records = [json.loads(json.dumps(r)) for r in log if r["kind"] == "plan"]
    assert len({r["record_id"] for r in records}) == 3


def test_plan__bad_goal_link_and_missing_closure_criteria_are_refused_with_the_path(cli):
    case_id = assessed(cli)
    doc = plan_doc()
    doc["actions"][0]["goal"] = "G9"
    del doc["closure_criteria"]
    result = cli("plan", case_id, "--from-file", "-", input=json.dumps(doc))
    assert result.code == 4
    assert "closure_criteria" in result.stderr
    doc["closure_criteria"] = ["x"]
    result = cli("plan", case_id, "--from-file", "-", input=json.dumps(doc))
    assert result.code == 4 and "actions[1].goal" in result.stderr
    doc["actions"][0]["who"] = "nobody"
    result = cli("plan", case_id, "--from-file", "-", input=json.dumps(doc))
    assert "actions[1].who" in result.stderr


def test_reassessment__show_lists_what_changed(cli):
    case_id = assessed(cli)
    doc = dict(COMPREHENSIVE, child_views="wants to live with the aunt", needs=["to go to school"])
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(doc)).code == 0
    assessments = [a for a in cli("show", case_id, "--json").json()["assessments"] if a["type"] == "comprehensive"]
    assert len(assessments) == 2
    changed = {c["field"] for c in assessments[1]["changed"]}
    assert changed == {"child_views", "needs"}


def test_best_interests__options_and_reasons_are_required(cli):
    case_id = assessed(cli)
    result = cli("assess", case_id, "--type", "best-interests", "--from-file", "-",
                 input=json.dumps({"decision": "alternative_care_placement", "care_away_needed": "yes"}))
    assert result.code == 4
    for field in ("family_support_tried", "options", "chosen", "why_least_harmful", "child_views"):
        assert field in result.stderr
    doc = {"decision": "alternative_care_placement", "care_away_needed": "yes", "family_support_tried": ["cash transfer"],
           "options": [{"kind": "kinship", "assessment": "aunt willing"}, {"kind": "foster_care", "assessment": "none nearby"}],
           "chosen": "kinship", "why_least_harmful": "stays in the family and school", "child_views": "wants the aunt",
           "outcome_explained_to_child": "yes"}
    assert cli("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(doc)).code == 0


@pytest.mark.parametrize("kind", ["registration", "assessment-initial", "assessment-comprehensive", "best-interests", "plan"])
def test_form_blank__every_form_gives_a_yaml_skeleton_naming_its_fields(cli, kind):
    from ruamel.yaml import YAML

    from cpcm.store import forms

    result = cli("form", "blank", kind)
    assert result.code == 0
    YAML(typ="safe").load(result.stdout)
    for field in forms.load(kind).fields:
        assert field.key.split(".")[-1] + ":" in result.stdout
