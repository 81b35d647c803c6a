"""A correction does not change what a supervisor decided (docs/commands/update-correct.md,
"What a supervisor decided"): once a plan version or a closure request is approved (or
rejected), a correction that changes a field its form marks `decided: true` (a plan's goals,
actions, review date, closure criteria, contingency ...; a closure's reason and checklist ...)
is refused, rule `correction-changes-decided`, unless the worker correcting may decide it
(workflow/approvals.py `may_correct`, `may_decide`). Without this the approval was read as
covering the correction: the plan in force said "approved" while holding actions no supervisor
saw. Walked through the CLI as a caseworker and a supervisor would."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, commit_count, register
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc

NEW_WHAT = "Pay the fees from the parish fund"  # the action as the worker wants it now


def _planned(cli, sup) -> str:
    """A case registered by amina (with the canary's name), assessed, its first plan approved by sup."""
    case_id = register(cli, child={"name": CANARY, "sex": "female", "age_estimate": 12})
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan").code == 0
    return case_id


def _refused(result) -> dict:
    assert result.code == 4, result.stderr
    error = result.json()
    assert error["rule"] == "correction-changes-decided", error
    assert CANARY not in result.stderr and NEW_WHAT not in result.stderr and NEW_WHAT not in result.stdout
    return error


def _action(plan: dict, action_id: str) -> dict:
    return next(a for a in plan["content"]["actions"] if a["id"] == action_id)


def test_an_approved_plan__the_worker_writes_the_next_version_and_a_supervisor_corrects(cli, cli_as, repo):
    sup = cli_as("sup")
    case_id = _planned(cli, sup)
    before = commit_count(repo)

    # the caseworker corrects an action of the approved version: refused, nothing written, the way out named
    tried = cli("correct", case_id, "plan", "--set", f"actions.A1.what={NEW_WHAT}", "--set", "actions.A2.by=2027-01-20",
                "--reason", "the fund changed", "--json")
    error = _refused(tried)
    assert "was approved by sup" in error["message"] and "(actions)" in error["message"]
    line = (f"cpcm plan {case_id} --from-current --reason correction --set actions.A1.what=... "
            f"--set actions.A2.by=...")
    assert line in error["hint"], error["hint"]
    assert "(not amina)" in error["hint"]
    assert commit_count(repo) == before
    # a goal, the contingency: the same
    _refused(cli("correct", case_id, "plan", "--set", "goals.G1.goal=Back in class", "--reason", "wording", "--json"))
    _refused(cli("correct", case_id, "plan", "--set", "contingency=The uncle takes the child in.", "--reason", "x", "--json"))
    assert commit_count(repo) == before

    # the line it gave: a version waits, the approved one stays in force
    written = cli("plan", case_id, "--from-current", "--reason", "correction", "--set", f"actions.A1.what={NEW_WHAT}",
                  "--set", "actions.A2.by=2027-01-20")
    assert written.code == 0, written.stderr
    plan = cli("show", case_id, "--json").json()["plan"]
    assert plan["version"] == 2 and plan["approved_at"] is None
    assert plan["previous"]["version"] == 1 and plan["previous"]["approved_by"] == "sup"
    shown = cli("show", case_id).stdout
    assert "version 1" in shown, shown

    # the waiting version stays correctable by its worker (the supervisor decides the correction)
    assert cli("correct", case_id, "plan", "--set", "actions.A2.by=2027-01-25", "--reason", "date mistyped").code == 0
    assert sup("approve", case_id, "plan").code == 0
    plan = cli("show", case_id, "--json").json()["plan"]
    assert plan["version"] == 2 and plan["approved_by"] == "sup"
    assert _action(plan, "A1")["what"] == NEW_WHAT and _action(plan, "A2")["by"] == "2027-01-25"

    # what was not approved (the notes, who took part) is corrected by the worker as before
    noted = cli("correct", case_id, "plan", "--set", "notes=The aunt came too.", "--set", "participants.others=aunt",
                "--reason", "left out", "--json")
    assert noted.code == 0, noted.stderr
    # the supervisor, who may decide it, corrects an action of the approved version
    fixed = sup("correct", case_id, "plan", "--set", "actions.A1.by=2026-12-20", "--reason", "the fund pays on the 20th", "--json")
    assert fixed.code == 0, fixed.stderr
    plan = cli("show", case_id, "--json").json()["plan"]
    assert plan["approved_by"] == "sup" and _action(plan, "A1")["by"] == "2026-12-20"
    assert plan["content"]["notes"] == "The aunt came too."

    # a correction of that correction is the same case: the caseworker is refused
    again = cli("correct", case_id, "plan", "--set", "actions.A1.by=2026-12-22", "--reason", "x", "--json")
    error = _refused(again)
    assert fixed.json()["record_id"] in error["message"]


def test_an_agencys_own_plan_form_that_marks_nothing_decided_keeps_cpcms_marks(cli, cli_as, repo):
    """An agency that replaces the plan form (.cpcm/forms/plan.yaml, not `extends:`) without the
    `decided:` marks does not open what a supervisor approved to its workers' corrections."""
    from cpcm.store import forms as forms_store

    own = "\n".join(line for line in (forms_store.HERE / "plan.yaml").read_text().splitlines() if "decided:" not in line)
    (repo / ".cpcm" / "forms").mkdir(exist_ok=True)
    (repo / ".cpcm" / "forms" / "plan.yaml").write_text(own + "\n")
    assert not forms_store.load("plan", repo).decided
    sup = cli_as("sup")
    case_id = _planned(cli, sup)
    before = commit_count(repo)
    _refused(cli("correct", case_id, "plan", "--set", f"actions.A1.what={NEW_WHAT}", "--reason", "x", "--json"))
    assert commit_count(repo) == before
    assert cli("correct", case_id, "plan", "--set", "notes=The aunt came too.", "--reason", "left out").code == 0


def test_a_rejected_plan_version__its_content_is_changed_by_the_next_version(cli, cli_as, repo):
    """A rejected version is not in force, but the rejection (its note: what to change) stands on
    what the supervisor read: a correction would make it the rejection of another plan, and would
    not bring the version back for a decision. The next version does."""
    sup = cli_as("sup")
    case_id = _planned(cli, sup)
    assert cli("plan", case_id, "--from-current", "--reason", "review", "--set", "actions.A2.by=2027-03-01").code == 0
    assert sup("reject", case_id, "plan", "--note", "too late for the term").code == 0
    before = commit_count(repo)
    error = _refused(cli("correct", case_id, "plan", "--set", "actions.A2.by=2027-01-15", "--reason", "x", "--json"))
    assert "was rejected by sup" in error["message"]
    assert f"cpcm plan {case_id} --from-current --reason correction --set actions.A2.by=..." in error["hint"]
    assert commit_count(repo) == before
    assert cli("correct", case_id, "plan", "--set", "notes=Discussed with the school.", "--reason", "left out").code == 0


def test_an_approved_closure__its_reason_and_checklist_are_not_corrected_by_the_worker(cli, cli_as, repo):
    from test_followup_close import GOALS_MET, REVIEW

    sup = cli_as("sup")
    case_id = _planned(cli, sup)
    assert cli("review", case_id, "--from-file", "-", input=json.dumps(REVIEW)).code == 0
    visited = cli("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
                  "--visited-by", "professional", "--risk-increased", "no", "--done", "A1", "--done", "A2")
    assert visited.code == 0, visited.stderr
    assert cli("close", case_id, "--reason", "goals_met", *GOALS_MET).code == 0
    # waiting: its worker corrects it, and the supervisor decides the correction
    assert cli("correct", case_id, "closure", "--set", "summary=Back in school, fed.", "--reason", "summary").code == 0
    assert sup("approve", case_id, "closure").code == 0
    before = commit_count(repo)
    # the reason alone: refused as a change of what was decided, not by the new reason's checklist first
    alone = _refused(cli("correct", case_id, "closure", "--set", "reason=declined", "--reason", "x", "--json"))
    assert "was approved by sup" in alone["message"] and "checklist" not in alone["message"] + alone.get("hint", "")
    error = _refused(cli("correct", case_id, "closure", "--set", "reason=declined", "--set",
                         "checklist=decision_respected;no_grounds_to_override;child_safe_enough", "--reason", "x", "--json"))
    assert "closure request" in error["message"] and "was approved by sup" in error["message"]
    assert "reason" in error["message"] and "checklist" in error["message"]
    assert "(not amina)" in error["hint"] and f"cpcm note {case_id}" in error["hint"]
    assert commit_count(repo) == before
    # the notes: as before; the supervisor may correct what was approved
    assert cli("correct", case_id, "closure", "--set", "notes=The family moved on 1 December.", "--reason", "left out").code == 0
    assert sup("correct", case_id, "closure", "--set", "open_items_explained=Nothing open.", "--reason", "wording").code == 0


@pytest.mark.parametrize("self_approval", [False, True])
def test_may_correct__the_rule_of_who_decides(self_approval):
    """Pure: `may_correct` is `may_decide` told of a request decided already: an active supervisor or
    manager, not the one who asked (nor, for a closure, the case's worker) unless the policy allows
    self-approval; a caseworker never."""
    from cpcm.domain.case import Case
    from cpcm.domain.policy import Policy
    from cpcm.domain.team import Worker
    from cpcm.workflow import approvals

    policy = Policy("test", "test", {"plan_approval": {"required": True, "self_approval": self_approval},
                                     "closure_approval": {"required": True, "self_approval": self_approval}})
    case = Case(id="CP-TEST-0001", worker="amina")
    sup, amina = Worker("sup", "Sup", ("supervisor",), "age1sup"), Worker("amina", "Amina", ("caseworker",), "age1amina")
    left = Worker("old", "Old", ("supervisor",), "age1old", removed="2026-11-01")
    assert approvals.may_correct(policy, "plan", sup, case, "amina")
    assert not approvals.may_correct(policy, "plan", amina, case, "amina")
    assert not approvals.may_correct(policy, "plan", left, case, "amina")
    assert approvals.may_correct(policy, "plan", sup, case, "sup") is self_approval
    case_of_sup = Case(id="CP-TEST-0002", worker="sup")
    assert approvals.may_correct(policy, "closure", sup, case_of_sup, "amina") is self_approval


def test_the_forms_say_what_a_decision_stands_on():
    """The list is data, on the fields of cpcm's own forms (`decided: true`), read by `Form.decided`;
    a definition's `decided` is true or false, or the form is refused naming the field."""
    from cpcm.domain.forms import definition_problems, parse_form
    from cpcm.store import forms as forms_store

    plan = forms_store.load("plan", None)
    assert {"goals", "actions", "permanency_goal", "review_date", "closure_criteria", "contingency", "interim"} <= set(plan.decided)
    assert not {"notes", "participants.child", "participants.caregivers", "participants.others", "child_copy_given"} & set(plan.decided)
    closure = forms_store.load("closure", None)
    assert {"reason", "checklist", "open_items_explained"} <= set(closure.decided)
    assert not {"notes", "summary", "feedback.child"} & set(closure.decided)
    field = {"key": "goal", "type": "text", "decided": "yes"}
    with pytest.raises(ValueError, match=r"fields\[1\]: decided is true or false"):
        parse_form({"kind": "plan", "fields": [field]})
    assert definition_problems({"kind": "plan", "fields": [dict(field, decided=True)]}, "plan") == []
