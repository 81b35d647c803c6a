"""Plan actions on the due list: their own rule and source, and a reopened case (IAG Step 6
[L946]: a reopened case restarts at assessment) has no actions due from the plan in force
before its closure, only the new cycle's clocks, until a plan written after the reopening is
in force. Through the CLI, as a worker and a supervisor use it."""
from __future__ import annotations

import json

from conftest import reunified
from test_readiness import KENYA_GOALS_MET, answers, record

LATER = "2027-05-01T09:00:00+03:00"  # after both actions' dates (2026-12-15, 2027-01-10)


def _close_and_reopen(kenya, case_id: str) -> str:
    """Readiness recorded, the case closed (its open items explained) and approved, then reopened at LATER."""
    amina, sup = kenya("amina"), kenya("sup")
    assert record(amina, case_id, answers()).code == 0
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "the family carries on")
    assert closed.code == 0, closed.stderr
    assert sup("approve", case_id, "closure").code == 0
    reopened = kenya("amina", LATER)("reopen", case_id, "--reason", "new report from the school")
    assert reopened.code == 0, reopened.stderr
    return case_id


def _closed_and_reopened(kenya) -> str:
    return _close_and_reopen(kenya, reunified(kenya))


def test_reopen__the_old_plans_actions_are_not_due_the_new_cycles_clocks_are(kenya):
    case_id = _closed_and_reopened(kenya)
    amina = kenya("amina", LATER)
    due = amina("due", "--json")
    assert due.code == 0, due.stderr
    items = [i for i in due.json() if i["case_id"] == case_id]
    codes = {i["code"] for i in items}
    assert "plan-action" not in codes, items
    assert {"initial-assessment", "comprehensive-assessment"} <= codes  # the reopened case goes back to assessment
    assert all(i["source"] for i in items)
    check = amina("check", case_id, "--json")
    assert "plan-action-overdue" not in check.stdout, check.stdout
    shown = amina("show", case_id, "--json").json()  # cpcm show says the same: not late, and why
    assert shown["plan"]["before_reopening"] is True
    assert [(a["item"], a["late"]) for a in shown["open_actions"]] == [("A1", False), ("A2", False)]
    table = amina("show", case_id).stdout
    assert "(late)" not in table and "from before the reopening: its actions are not due" in " ".join(table.split())


def _plan_items(cli, case_id: str, *args: str) -> list[dict]:
    due = cli("due", "--within", "90", "--json", *args)
    assert due.code == 0, due.stderr
    return [i for i in due.json() if i["case_id"] == case_id and i["code"] == "plan-action"]


def test_reopen__a_new_assessment_and_plan_bring_the_new_plans_actions_due(kenya):
    """After the reopening: the case plan is due from the new comprehensive assessment; a new plan
    written and approved has its actions due, those of the old plan being carried only by it."""
    from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc

    case_id = _closed_and_reopened(kenya)
    amina, sup = kenya("amina", LATER), kenya("sup", LATER)
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    items = {i["code"]: i for i in amina("due", "--within", "90", "--json").json() if i["case_id"] == case_id}
    assert items["case-plan"]["rule"] == "case_plan" and "Step 3 [L837]" in items["case-plan"]["source"]
    assert "plan-action" not in items
    new_plan = plan_doc(actions=[{"what": "Enrol in the new school", "who": "family", "by": "2027-05-20", "mode": "direct",
                                  "goal": "G1"}])
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(new_plan)).code == 0
    assert _plan_items(amina, case_id) == []  # written, not yet in force: the old plan stays in force, and is not due
    assert sup("approve", case_id, "plan").code == 0
    found = _plan_items(amina, case_id)
    assert [(i["title"], i["due"][:10], i["rule"]) for i in found] == [("plan action A3 (family)", "2027-05-20", "plan_action")]
    shown = kenya("amina", "2027-05-25T09:00:00+03:00")("show", case_id, "--json").json()
    assert shown["plan"]["before_reopening"] is False and [(a["item"], a["late"]) for a in shown["open_actions"]] == [("A3", True)]


def test_plan_action__cites_its_own_rule_and_source_in_due_and_check(cli, cli_as, kenya):
    """A plan action's date is the plan's own (IAG Step 3 [L858]: what, who, by when; Step 4: the
    caseworker follows the actions up), not the case-plan deadline's 14 days after the assessment."""
    from test_assess_plan import assessed, plan_doc

    from cpcm.store import policies

    for run, sup, profile in ((cli, cli_as("sup"), "inter-agency"), (kenya("amina"), kenya("sup"), "kenya")):
        policy = policies.load(profile)
        case_id = assessed(run)
        assert run("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
        assert sup("approve", case_id, "plan").code == 0
        later = type(run)({**run.env, "CPCM_NOW": LATER})
        found = _plan_items(later, case_id)
        assert [(i["title"], i["rule"], i["source"]) for i in found] == [
            ("plan action A1 (service)", "plan_action", policy.source("plan_action")),
            ("plan action A2 (child)", "plan_action", policy.source("plan_action"))], profile
        assert "within 2 weeks of the comprehensive assessment" not in found[0]["source"]
        short = policy.short_source("plan_action")
        assert short == {"inter-agency": "IAG §3 Step 3 [L858], Step 4 [L876-886]",
                         "kenya": "Kenya SOP glossary and Forms 7 and 8"}[profile]
        table = later("due", "--within", "90")
        assert table.code == 0 and f"({short})" in " ".join(table.stdout.split()), table.stdout
        check = later("check", case_id, "--json")
        assert check.code == 1, check.stdout
        overdue = [p for p in check.json() if p["code"] == "plan-action-overdue"]
        assert [(p["rule"], p["source"]) for p in overdue] == [("plan_action", policy.source("plan_action"))] * 2, profile


def test_reopen__closing_again_without_a_new_plan_does_not_ask_to_explain_the_old_plans_actions(kenya):
    """The old plan's actions are not due after the reopening (`plan_action.due_after_reopening:
    false`), so closing the reopened case again does not make them open items to explain; they are
    kept apart in the closure record."""
    from conftest import library_session
    from cpcm.service.context import load_records
    from cpcm.workflow.fold import fold
    from cpcm.workflow.open_items import unfinished

    case_id = _closed_and_reopened(kenya)
    amina = kenya("amina", LATER)
    closed = amina("close", case_id, "--reason", "declined", "--check", "all")
    assert closed.code == 0, closed.stderr
    records = load_records(library_session(amina), case_id)
    body = [r for r in records if r.kind == "closure"][-1].body
    assert body["open_items"] == {"referrals": [], "actions": [], "actions_before_reopening": ["A1", "A2"]}
    assert unfinished(fold(case_id, records), records)["actions"] == ["A1", "A2"]  # without a policy: every open action


def test_reopen__the_old_plans_actions_stay_open_items_where_the_policy_keeps_them_due(kenya):
    case_id = _closed_and_reopened(kenya)
    (kenya.root / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_action:\n    due_after_reopening: true\n", encoding="utf-8")
    closed = kenya("amina", LATER)("close", case_id, "--reason", "declined", "--check", "all")
    assert closed.code == 4 and "open_items_explained" in closed.stderr and "action A1" in closed.stderr


def _referred_closed_and_reopened(kenya) -> str:
    """The reunified case with a referral R1 still waiting for the provider's feedback when the case
    is closed (explained with --explain-open), then reopened."""
    amina = kenya("amina")
    case_id = reunified(kenya)
    assert amina("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
                 "--contact", "Nurse in charge").code == 0
    for giver in ("child", "caregiver"):
        assert amina("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", giver, "--status", "given",
                     "--explained", "all").code == 0
    referred = amina("refer", case_id, "--service", "clinic", "--need", "a health check", "--check", "all")
    assert referred.code == 0, referred.stderr
    return _close_and_reopen(kenya, case_id)


def test_reopen__a_referral_explained_at_the_closure_is_not_due_after_the_reopening(kenya):
    """A referral still open at the closure, explained there, is treated as the old plan's actions
    are (`plan_action.due_after_reopening: false`): the reopened case restarts at assessment, so its
    feedback is not listed overdue; updating the referral after the reopening brings it back."""
    case_id = _referred_closed_and_reopened(kenya)
    amina = kenya("amina", LATER)
    due = amina("due", "--json")
    assert due.code == 0, due.stderr
    codes = {i["code"] for i in due.json() if i["case_id"] == case_id}
    assert not {"referral-feedback", "referral-follow-up", "referral-outcome"} & codes, codes
    assert {"initial-assessment", "comprehensive-assessment"} <= codes
    check = amina("check", case_id, "--json")
    assert "referral-feedback" not in check.stdout, check.stdout
    # the worker updates the referral after the reopening: it is tracked again
    updated = amina("referral", case_id, "R1", "--status", "declined", "--feedback", "no places left")
    assert updated.code == 0, updated.stderr
    codes = {i["code"] for i in amina("due", "--json").json() if i["case_id"] == case_id}
    assert "referral-follow-up" in codes, codes


def test_reopen__a_referral_from_before_stays_due_where_the_policy_keeps_them_due(kenya):
    case_id = _referred_closed_and_reopened(kenya)
    (kenya.root / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_action:\n    due_after_reopening: true\n", encoding="utf-8")
    due = kenya("amina", LATER)("due", "--json")
    assert due.code == 0, due.stderr
    assert "referral-feedback" in {i["code"] for i in due.json() if i["case_id"] == case_id}
