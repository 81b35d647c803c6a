"""Revising a case plan from its current version: goals and actions with stable IDs, referrals
linked by those IDs, plan actions on the due list until marked done, the approved version in
force while a newer one waits, and a one-supervisor agency's ways out (withdraw, the warning,
self-approval with a reason).

The rules are tested over a repository in memory (tests/memory_repo.py) and on records built by
hand (the fold of plans written before action IDs); a thin layer runs the commands through the
CLI for the exit codes, --json, one commit each, the editor's private file and the referral link."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import datetime

import pytest

from conftest import commit_count, git, register
from cpcm import service
from cpcm.errors import InvalidInput, NotFound, Refused
from cpcm.workflow import open_items, plan_actions
from memory_repo import MemoryRepo
from test_assess_plan import COMPREHENSIVE, INITIAL, assessed, assessed_in, plan_doc
from test_rules import D, INTER, T0, registered


def approved_case(mem: MemoryRepo) -> str:
    """amina's assessed case with plan version 1 (A1, A2; goals G1, G2) approved by sup."""
    case_id = assessed_in(mem)
    service.plan(mem.as_("amina"), case_id, plan_doc())
    service.approve(mem.as_("sup"), case_id, "plan", note="good plan")
    return case_id


def actions_of(ctx, case_id: str) -> list[dict]:
    return service.plan_current(ctx, case_id)[1]["actions"]


# -- IDs that last -----------------------------------------------------------------------------------
def test_from_current__unchanged_actions_keep_their_ids_new_ones_take_the_next_never_reused():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    first = [(a["id"], a["what"]) for a in actions_of(amina, case_id)]
    assert first == [("A1", "Pay fees through the bursary"), ("A2", "Go to school")]
    before = mem.commits()
    written = service.plan_revise(amina, case_id, "review",
                                  {"actions": {"A2": {"by": "2027-02-01"},
                                               "new": {"what": "Buy a uniform", "who": "family", "by": "2026-12-20", "mode": "direct",
                                                       "goal": "G1"}}},
                                  remove=["A1"])
    assert mem.commits() == before + 1 and written.extra["version"] == 2
    second = actions_of(amina, case_id)
    assert [(a["id"], a["what"]) for a in second] == [("A2", "Go to school"), ("A3", "Buy a uniform")]
    assert second[0]["by"] == "2027-02-01" and second[0]["goal"] == "G1"
    plan_record = service.load_records(amina, case_id)[-1]
    assert [a["id"] for a in plan_record.body["actions"]] == ["A2", "A3"]  # written into the version itself
    assert [g["id"] for g in plan_record.body["goals"]] == ["G1", "G2"] and plan_record.body["reason"] == "review"
    service.approve(sup, case_id, "plan")
    # A1 was taken out: a new action never gets its ID again; a new goal takes G3
    service.plan_revise(amina, case_id, "crisis", {"goals": {"new": {"term": "short", "goal": "Safe at night", "need": "safety"}},
                                                   "actions": {"new": {"what": "Night visit", "who": "caseworker", "by": "2026-12-01",
                                                                       "mode": "direct", "goal": "new"}}})
    third = service.plan_current(amina, case_id)[1]
    assert [a["id"] for a in third["actions"]] == ["A2", "A3", "A4"] and third["actions"][2]["goal"] == "G3"
    assert [g["id"] for g in third["goals"]] == ["G1", "G2", "G3"]


def test_from_current__bad_changes_name_the_path_and_write_nothing():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = approved_case(mem)
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        service.plan_revise(amina, case_id, "review", {"actions": {"A9": {"by": "2027-01-01"}, "A1": {"id": "A7"}}}, remove=["G9"])
    assert {e.field for e in refused.value.errors} == {"actions.A9", "actions.A1.id", "--remove goal"}
    with pytest.raises(InvalidInput) as no_reason:
        service.plan_revise(amina, case_id, None, {})
    assert {e.field for e in no_reason.value.errors} == {"reason"}
    with pytest.raises(InvalidInput) as bad_date:  # the revised version passes the plan form like any other
        service.plan_revise(amina, case_id, "review", {"actions": {"A2": {"by": "soon"}}})
    assert any(e.field.startswith("actions") for e in bad_date.value.errors)
    assert mem.commits() == before


def test_from_current__one_field_of_a_group_changes_and_every_other_field_of_the_group_stays():
    """--set contingency_child_words.sw=..., actions.A1.child_words.sw=... and participants.child=no
    change that one answer of the current version (assess-plan.md: "changed only where you say"),
    as `cpcm correct` lays them over (was: the whole group replaced, so the English child's words
    were lost and the child's plan printed the worker's own contingency and action instead)."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = assessed_in(mem)
    doc = plan_doc(contingency_child_words={"en": "Tell your teacher or call 116."},
                   participants={"child": "yes", "caregivers": "yes", "others": "the aunt"})
    doc["actions"][1]["child_words"] = {"en": "You will go to school every day."}
    service.plan(amina, case_id, doc)
    service.approve(sup, case_id, "plan")
    service.plan_revise(amina, case_id, "review", {"contingency_child_words": {"sw": "Mwambie mwalimu."},
                                                   "actions": {"A2": {"child_words": {"sw": "Utaenda shule kila siku."}}}})
    service.approve(sup, case_id, "plan")
    body = service.plan_current(amina, case_id)[1]
    assert body["contingency_child_words"] == {"en": "Tell your teacher or call 116.", "sw": "Mwambie mwalimu."}
    assert body["actions"][1]["child_words"] == {"en": "You will go to school every day.", "sw": "Utaenda shule kila siku."}
    assert body["actions"][1]["what"] == "Go to school" and body["contingency"] == doc["contingency"]
    english = service.render(amina, "child-plan", case_id, lang="en").text
    assert "Tell your teacher or call 116." in english and "You will go to school every day." in english
    assert doc["contingency"] not in english  # the worker's own text stays out of the child's copy
    assert "Mwambie mwalimu." in service.render(amina, "child-plan", case_id, lang="sw").text
    service.plan_revise(amina, case_id, "review", {"participants": {"child": "no"}})  # assess-plan.md's own example
    assert service.plan_current(amina, case_id)[1]["participants"] == {"child": "no", "caregivers": "yes", "others": "the aunt"}


def test_cli__from_current_set_of_one_participant_keeps_the_others(cli, cli_as):
    """`cpcm plan CASE --from-current --set participants.child=no`, as assess-plan.md gives it: was
    refused for participants.caregivers, which version 1 holds."""
    case_id = assessed(cli)
    doc = plan_doc(participants={"child": "yes", "caregivers": "yes", "others": "the aunt"})
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(doc)).code == 0
    assert cli_as("sup")("approve", case_id, "plan").code == 0
    revised = cli("plan", case_id, "--from-current", "--reason", "review", "--set", "participants.child=no")
    assert revised.code == 0, revised.stderr
    fields = cli("show", case_id, "plan", "--json").json()["fields"]
    assert fields["participants"] == {"child": "no", "caregivers": "yes", "others": "the aunt"}


def test_fold__plans_written_before_ids_keep_an_action_id_by_its_text_and_an_old_link_stays_with_its_action():
    """The walk's B3: the hospital referral linked to action 2 of the interim plan; version 2's
    second action is the reunification. Old records carry no IDs: the fold works them out."""
    records = registered().add("plan", T0 + D, closure_criteria=["safe"], goals=[{"id": "G1", "goal": "health"}],
                               actions=[{"what": "Placement at the centre"}, {"what": "Medical check at the clinic"}])
    first_plan = records.items[-1].id
    records.add("referral", T0 + 2 * D, service="hospital", need="x", plan_action={"plan": first_plan, "action": 2})
    records.add("plan", T0 + 3 * D, closure_criteria=["safe"], goals=[{"id": "G1", "goal": "health"}],
                actions=[{"what": "medical check at the  clinic"}, {"what": "Reunification with the grandmother"}])
    records.add("plan", T0 + 4 * D, closure_criteria=["safe"], actions=[{"what": "Reunification with the grandmother"}])
    case = records.case()
    assert case.referrals[0]["plan_action"] == "A2"
    assert [a["id"] for a in case.plan["actions"]] == ["A3"]  # the reunification: never A2
    ids = plan_actions.ids_by_version(records.items)
    assert [v["actions"] for v in ids.values()] == [["A1", "A2"], ["A2", "A3"], ["A3"]]
    # a review of the old version 2 wrote "A1" for its first action (by position): that is A2
    rebuilt = registered().add("plan", T0 + D, closure_criteria=["safe"], actions=[{"what": "a"}, {"what": "b"}])
    rebuilt.add("plan", T0 + 2 * D, closure_criteria=["safe"], actions=[{"what": "b"}, {"what": "c"}])
    rebuilt.add("review", T0 + 3 * D, progress=[{"item": "A1", "status": "done"}])
    assert open_items.unfinished(rebuilt.case(), rebuilt.items)["actions"] == ["A3"]
    assert plan_actions.action_status(rebuilt.case().plan, "A2") == "done"


def test_referral__linked_to_a2_in_version_1_stays_linked_to_that_action_in_version_3(cli, cli_as):
    sup = cli_as("sup")
    assert cli("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "care").code == 0
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", giver, "--status", "given",
                   "--explained", "all").code == 0
    referred = cli("refer", case_id, "--service", "clinic", "--need", "school fees", "--check", "all", "--action", "A2")
    assert referred.code == 0, referred.stderr
    # version 2 takes A1 out (A2 moves to the first place); version 3 adds an action in front of it
    v2 = cli("plan", case_id, "--from-current", "--reason", "review", "--remove", "A1", "--json")
    assert v2.code == 0, v2.stderr
    assert v2.json()["actions"] == ["A2"]
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    v3 = cli("plan", case_id, "--from-current", "--reason", "crisis", "--set", "actions.new.what=Enrol at the new school",
             "--set", "actions.new.who=caseworker", "--set", "actions.new.by=2026-12-20", "--set", "actions.new.mode=direct", "--json")
    assert v3.code == 0, v3.stderr
    assert v3.json()["actions"] == ["A2", "A3"] and v3.json()["new_actions"] == ["A3"]
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    shown = cli("show", case_id, "--json").json()
    assert shown["plan"]["version"] == 3 and shown["referrals"][0]["plan_action"] == "A2"
    linked = [a for a in shown["plan"]["content"]["actions"] if a["id"] == "A2"]
    assert [a["what"] for a in linked] == ["Go to school"]  # the same action as in version 1
    table = cli("show", case_id).stdout
    assert "A2 → R1" in table and "A3 → R1" not in table
    # a second referral for A2, closed at once (a duplicate): the action still points to the open one
    again = cli("refer", case_id, "--service", "clinic", "--need", "school fees", "--check", "all", "--action", "A2")
    assert again.code == 0, again.stderr
    assert cli("referral", case_id, "R2", "--status", "closed", "--feedback", "sent twice").code == 0
    table = cli("show", case_id).stdout
    assert "A2 → R1" in table and "A2 → R2" not in table


# -- the approved version stays in force while a newer one waits --------------------------------------
def test_approved_plan_stays_in_force_while_version_2_waits__check_clean_review_clock_present():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    service.plan_revise(amina, case_id, "review", {"contingency": "The grandmother takes the child in."})
    later = mem.as_("amina", now="2026-12-10T10:00:00+03:00")  # past the case-plan limit, before any action date
    codes = {i.code for i in service.due(later, within_days=120) if i.case_id == case_id}
    assert "review" in codes and "case-plan" not in codes
    assert [p.code for p in service.check(later, case_id)] == []
    shown = service.show(later, case_id)
    assert shown["plan"]["version"] == 2 and shown["plan"]["previous"]["version"] == 1
    # the supervisor still has the waiting version on the due list
    assert (case_id, "plan-approval") in {(i.case_id, i.code) for i in service.due(mem.as_("sup"))}
    service.approve(sup, case_id, "plan")
    assert {i.code for i in service.due(later, within_days=120) if i.case_id == case_id} >= {"review"}


def test_a_rejected_version_over_an_approved_one__check_clean_the_approved_version_in_force():
    """As docs/workflow.md says: `plan-not-approved` only when no version is in force. A rejected
    review version was reported 'plan version 2 was rejected: it is not in force' while version 1
    stayed in force."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    service.plan_revise(amina, case_id, "review", {"contingency": "The grandmother takes the child in."})
    service.reject(sup, case_id, "plan", note="one more goal")
    assert [p.code for p in service.check(amina, case_id)] == []
    assert service.show(amina, case_id)["plan"]["previous"]["version"] == 1
    codes = {i.code for i in service.due(amina, within_days=120) if i.case_id == case_id}
    assert "review" in codes and "case-plan" not in codes


def test_conference_close_style_version_does_not_make_the_case_overdue():
    """A version appended after the approved one (as a conference's close writes) and left
    waiting: the plan in force is still the approved one, for the pure rules too."""
    records = registered().add("assessment", T0, type="comprehensive")
    records.add("plan", T0 + D, closure_criteria=["safe"]).add("approval", T0 + D, by="sup", subject="plan")
    records.add("plan", T0 + 2 * D, reason="conference_decision", closure_criteria=["safe"])
    from cpcm.workflow.deadlines import deadlines
    from cpcm.workflow.rules import check_case

    case = records.case()
    now = T0 + 40 * D
    assert {d.code for d in deadlines(case, INTER, now)} >= {"review", "plan-approval"}
    assert "case-plan" not in {d.code for d in deadlines(case, INTER, now)}
    assert check_case(case, INTER, now) == []


# -- one supervisor ----------------------------------------------------------------------------------
def test_withdraw__only_the_author_of_a_waiting_version_and_the_version_before_stays_in_force():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    service.plan_revise(sup, case_id, "correction", {"actions": {"A1": {"by": "2026-12-01"}}})
    with pytest.raises(Refused) as not_hers:
        service.plan_withdraw(amina, case_id, "not mine")
    assert not_hers.value.rule == "withdraw-own-only"
    with pytest.raises(InvalidInput):
        service.plan_withdraw(sup, case_id, " ")
    written = service.plan_withdraw(sup, case_id, "written by mistake")
    assert written.kind == "withdrawal" and "version 1 stays in force" in written.next_steps[0]
    record = service.load_records(sup, case_id)[-1]
    assert (record.kind, record.body["subject"], record.body["reason"]) == ("withdrawal", "plan", "written by mistake")
    with pytest.raises(Refused) as nothing:  # nothing waits now: neither a decision nor a second withdrawal
        service.approve(sup, case_id, "plan")
    assert nothing.value.rule == "nothing-to-approve"
    with pytest.raises(Refused):
        service.plan_withdraw(sup, case_id, "again")
    assert "plan-approval" not in {i.code for i in service.due(sup) if i.case_id == case_id}
    assert service.check(amina, case_id) == []
    # the next revision starts from the version in force, and the withdrawn version's number is not reused
    assert actions_of(amina, case_id)[0]["by"] == "2026-12-15"
    assert service.plan_revise(amina, case_id, "review", {"notes": "after the withdrawal"}).extra["version"] == 3


def test_withdraw__where_the_policy_asks_for_no_approval_a_version_in_force_is_not_withdrawn():
    """Without plan approval each version is in force when written: nothing waits for a decision,
    so nothing is withdrawn (it was, and the message said the withdrawn version "stays in force")."""
    mem = MemoryRepo(rules={"plan_approval": {"required": False}})
    amina = mem.as_("amina")
    case_id = assessed_in(mem)
    service.plan(amina, case_id, plan_doc())
    service.plan_revise(amina, case_id, "review", {"notes": "second version"})
    with pytest.raises(Refused) as refused:
        service.plan_withdraw(amina, case_id, "written by mistake")
    assert refused.value.rule == "nothing-to-approve" and "required is off" in refused.value.message
    assert "--from-current" in refused.value.hint
    assert [r.kind for r in service.load_records(amina, case_id)].count("withdrawal") == 0
    assert service.plan_current(amina, case_id)[1].get("notes") == "second version"


def test_approve__where_the_policy_asks_for_no_approval_a_version_in_force_is_neither_approved_nor_rejected():
    """Without plan approval a version is in force once written, with no approval record, and no
    due list holds an approval of it: `approve` and `reject` find nothing to decide (approve wrote
    an approval record; a rejection took the version in force out of force)."""
    mem = MemoryRepo(rules={"plan_approval": {"required": False}})
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = assessed_in(mem)
    service.plan(amina, case_id, plan_doc())
    before = [r.kind for r in service.load_records(amina, case_id)]
    for decide, note in ((service.approve, None), (service.reject, "not this one")):
        with pytest.raises(Refused) as refused:
            decide(sup, case_id, "plan", note)
        assert refused.value.rule == "nothing-to-approve", refused.value
        assert "plan_approval.required is off" in refused.value.message and "--from-current" in refused.value.hint
    assert [r.kind for r in service.load_records(amina, case_id)] == before
    assert "plan-approval" not in {i.code for i in service.due(sup, worker="all", within_days=400)}
    assert service.plan_current(amina, case_id)[1]["actions"]  # still the version in force


def closure_asked_over_a_waiting_version():
    """amina's assessed case with plan version 1 waiting for approval, and then its closure asked for:
    (amina, sup, case id)."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = assessed_in(mem)
    service.plan(amina, case_id, plan_doc())
    service.close(amina, case_id, {"reason": "registered_in_error", "checklist": ["error_confirmed"],
                                   "open_items_explained": "registered in error"})
    return amina, sup, case_id


def test_approve__a_version_left_waiting_when_the_case_closed_is_not_decided():
    """No due list holds the approval of a version still waiting when its case was closed: nobody
    decides it, and the refusal says why."""
    amina, sup, case_id = closure_asked_over_a_waiting_version()
    service.approve(sup, case_id, "closure")
    before = [r.kind for r in service.load_records(amina, case_id)]
    with pytest.raises(Refused) as refused:
        service.approve(sup, case_id, "plan")
    assert refused.value.rule == "nothing-to-approve" and "the case is closed" in refused.value.message, refused.value
    assert [r.kind for r in service.load_records(amina, case_id)] == before


def test_approve__a_version_waiting_while_the_closure_is_requested_is_decided_after_the_closure():
    """While the case's closure is requested nobody may decide a plan version that waits (the stage
    table refuses it), so no due list asks for it (it asked, and `approve` then said 'not allowed');
    the refusal says to decide the closure first; once the closure is rejected the version waits
    again, on the due list and for `approve`."""
    amina, sup, case_id = closure_asked_over_a_waiting_version()
    due = {(i.case_id, i.code) for i in service.due(sup, worker="all", within_days=400)}
    assert (case_id, "plan-approval") not in due and (case_id, "closure-approval") in due, due
    before = [r.kind for r in service.load_records(amina, case_id)]
    with pytest.raises(Refused) as refused:
        service.approve(sup, case_id, "plan")
    assert refused.value.rule == "nothing-to-approve" and "closure_requested" in refused.value.message, refused.value
    assert f"cpcm approve|reject {case_id} closure" in refused.value.hint
    assert [r.kind for r in service.load_records(amina, case_id)] == before
    service.reject(sup, case_id, "closure", note="not yet")
    assert (case_id, "plan-approval") in {(i.case_id, i.code) for i in service.due(sup, worker="all", within_days=400)}
    service.approve(sup, case_id, "plan")


def test_one_supervisor__writing_a_version_nobody_else_may_approve_is_told_at_once():
    mem = MemoryRepo()  # one supervisor: sup
    sup, amina = mem.as_("sup"), mem.as_("amina")
    case_id = assessed_in(mem, "sup")
    written = service.plan(sup, case_id, plan_doc())
    assert len(written.warnings) == 1 and "nobody in the team may approve plan version 1" in written.warnings[0]
    assert "--withdraw" in written.warnings[0] and "self_approval" in written.warnings[0]
    # and the next step does not send them to an approval they may not give
    assert not [s for s in written.next_steps if "cpcm approve" in s or "once a supervisor approves" in s], written.next_steps
    # a caseworker's version is the supervisor's to approve: no warning
    other = assessed_in(mem)
    assert service.plan(amina, other, plan_doc()).warnings == ()
    # where the policy allows self-approval (with a reason), nobody is stuck: no warning
    allowed = MemoryRepo(rules={"plan_approval": {"self_approval": True}})
    case2 = assessed_in(allowed, "sup")
    assert service.plan(allowed.as_("sup"), case2, plan_doc()).warnings == ()


# -- plan actions on the due list --------------------------------------------------------------------
def test_done__a_followup_marks_a3_done_and_it_leaves_the_due_list():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = approved_case(mem)
    service.plan_revise(amina, case_id, "review", {"actions": {"new": {"what": "Birth certificate", "who": "caseworker",
                                                                       "by": "2026-12-05", "mode": "direct"}}})
    service.approve(mem.as_("sup"), case_id, "plan")

    def due_actions(ctx):
        return {i.title.split()[2]: i for i in service.due(ctx, within_days=90) if i.case_id == case_id and i.code == "plan-action"}

    items = due_actions(amina)
    assert set(items) == {"A1", "A2", "A3"}
    assert items["A3"].due.isoformat().startswith("2026-12-05T23:59") and "--done A3" in items["A3"].why
    assert "Birth certificate" not in items["A3"].title + items["A3"].why  # the action's text stays in the plan
    with pytest.raises(InvalidInput) as unknown:
        service.followup(amina, case_id, {"method": "phone", "purpose": "plan_action", "visited_by": "professional",
                                          "risk_increased": "no"}, done=["A9"])
    assert {e.field for e in unknown.value.errors} == {"done[1]"}
    service.followup(amina, case_id, {"method": "phone", "purpose": "plan_action", "visited_by": "professional",
                                      "risk_increased": "no"}, done=["a3"])
    assert set(due_actions(amina)) == {"A1", "A2"}
    assert [a["item"] for a in service.show(amina, case_id)["open_actions"]] == ["A1", "A2"]
    assert open_items.unfinished(service.load_case(amina, case_id), service.load_records(amina, case_id))["actions"] == ["A1", "A2"]
    # a review marks another; the mark lasts into the next version
    service.review(amina, case_id, {"chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
                                    "decisions": ["continue"], "outcome": "continue"}, done=["A1"])
    service.plan_revise(amina, case_id, "review", {"notes": "next"})
    service.approve(mem.as_("sup"), case_id, "plan")
    assert set(due_actions(amina)) == {"A2"}


# -- through the command line ------------------------------------------------------------------------
def test_cli__from_current_withdraw_done_one_commit_each_due_json_and_ics_without_the_action_text(cli, cli_as, repo, tmp_path):
    sup = cli_as("sup")
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    before = commit_count(repo)
    revised = cli("plan", case_id, "--from-current", "--reason", "review", "--set", "actions.A2.by=2026-12-20", "--json")
    assert revised.code == 0, revised.stderr
    assert revised.json()["version"] == 2 and revised.json()["actions"] == ["A1", "A2"]
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").startswith(f"plan {case_id} ")
    bad = cli("plan", case_id, "--from-current", "--reason", "review", "--set", "actions.A7.by=2027-01-01")
    assert bad.code == 4 and "actions.A7" in bad.stderr and commit_count(repo) == before + 1
    corrected = cli("correct", case_id, "plan", "--set", "actions.A1.by=2026-12-18", "--reason", "date wrong", "--json")
    assert corrected.code == 0, corrected.stderr  # a plan's action by its ID, as --from-current takes it
    assert commit_count(repo) == before + 2
    assert [a["by"] for a in cli("show", case_id, "plan", "--json").json()["fields"]["actions"]] == ["2026-12-18", "2026-12-20"]
    by_place = cli("correct", case_id, "plan", "--set", "actions[1].by=2026-12-19", "--reason", "date wrong", "--json")
    assert by_place.code == 4 and by_place.json()["fields"][0]["field"] == "actions"
    assert "--set actions.A1.by=" in by_place.json()["fields"][0]["reason"] and commit_count(repo) == before + 2
    # a bad value is named as --set reached it (actions.A2.by), not by the entry's place in the form (actions[2].by)
    bad_date = cli("correct", case_id, "plan", "--set", "actions.A2.by=2025-13-01", "--reason", "date wrong", "--json")
    assert bad_date.code == 4 and [f["field"] for f in bad_date.json()["fields"]] == ["actions.A2.by"], bad_date.stdout
    both = cli("plan", case_id, "--from-current", "--edit", "--reason", "review")
    assert both.code == 2
    withdrawn = cli("plan", case_id, "--withdraw", "--reason", "typed the wrong date")
    assert withdrawn.code == 0, withdrawn.stderr
    assert "version 1 stays in force" in withdrawn.stdout + withdrawn.stderr
    assert git(repo, "log", "-1", "--format=%s").startswith(f"withdraw {case_id} ")
    assert sup("plan", case_id, "--withdraw", "--reason", "x").code == 4
    due = cli("due", "--within", "60", "--json").json()
    titles = [i["title"] for i in due if i["case_id"] == case_id and i["code"] == "plan-action"]
    assert titles == ["plan action A1 (service)", "plan action A2 (child)"]
    ics = tmp_path / "due.ics"
    assert cli("due", "--within", "60", "--ics", str(ics)).code == 0
    calendar = ics.read_text()
    assert "plan action A1" in calendar and "bursary" not in calendar
    done = cli("followup", case_id, "--method", "phone", "--purpose", "plan_action", "--visited-by", "professional",
               "--risk-increased", "no", "--done", "A1", "--done", "A2")
    assert done.code == 0, done.stderr
    assert [i for i in cli("due", "--within", "60", "--json").json() if i["code"] == "plan-action"] == []


def test_correct__a_plan_takes_goals_and_actions_by_id_as_from_current_does():
    """cpcm correct CASE plan --set actions.A2.by=...: the item's field changes, every other item
    and every ID stays; an item named by its place in the list is refused, saying how to name it."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = approved_case(mem)
    before = actions_of(amina, case_id)
    sup = mem.as_("sup")  # version 1 is approved: what was approved is corrected by one who may decide it (test_correct_decided.py)
    fixed = service.correct(sup, case_id, "plan", {"actions": {"A2": {"by": "2027-02-01"}}, "goals": {"g1": {"goal": "In school"}}},
                            "date wrong")
    after = actions_of(amina, case_id)
    assert after == [before[0], dict(before[1], by="2027-02-01")]
    body = service.load_records(amina, case_id)[-1].body
    assert body["supersedes"] and [a["id"] for a in body["actions"]] == ["A1", "A2"]
    assert [(g["id"], g["goal"]) for g in body["goals"]] == [("G1", "In school"), ("G2", "Enough food")]
    commits = mem.commits()
    for changes, field, reason in (
            ({"actions[2]": {"by": "2027-02-01"}}, "actions",
             "takes an action by its ID, not by its place in the list: --set actions.A1.by=... (the IDs: A1, A2)"),
            ({"goals[0]": {"goal": "x"}}, "goals",
             "takes a goal by its ID, not by its place in the list: --set goals.G1.goal=... (the IDs: G1, G2)"),
            ({"actions": {"A9": {"by": "2027-01-01"}}}, "actions.A9",
             "no action with that ID in the current version (A1, A2; new, new1 … for a new one)")):
        with pytest.raises(InvalidInput) as refused:
            service.correct(sup, case_id, fixed.record_id, changes, "date wrong")
        assert [(e.field, e.reason) for e in refused.value.errors] == [(field, reason)]
        with pytest.raises(InvalidInput) as revised:  # the same paths, the same answer
            service.plan_revise(amina, case_id, "review", changes)
        assert [(e.field, e.reason) for e in revised.value.errors] == [(field, reason)]
    assert mem.commits() == commits


def test_correct__a_plan_action_named_by_a_number_in_set_is_refused_as_cpcm_plan_refuses_it():
    """A plan's goals and actions are named by their IDs, never by a number (a tracing's people are): `cpcm correct
    CASE plan --set actions.1.by=...` says there is no action 1 and which there are, as `cpcm plan` does (it said,
    twice, that the actions' IDs cannot be changed)."""
    mem = MemoryRepo()
    case_id = approved_case(mem)
    sup = mem.as_("sup")
    commits = mem.commits()
    sets = [("actions.1.by", "2027-02-01")]
    with pytest.raises(InvalidInput) as refused:
        service.correct(sup, case_id, "plan", {}, "date wrong", None, sets)
    assert [(e.field, e.reason) for e in refused.value.errors] == [
        ("actions (a key)", "no action with that ID in the current version (A1, A2; new, new1 … for a new one)")]
    with pytest.raises(InvalidInput) as revised:  # the same path, the same answer
        service.plan_revise(mem.as_("amina"), case_id, "review", {"actions": {"1": {"by": "2027-02-01"}}})
    assert [(e.field, e.reason) for e in revised.value.errors] == [(e.field, e.reason) for e in refused.value.errors]
    assert mem.commits() == commits


def test_correct_and_show__plan_means_the_version_in_force_or_waiting_never_a_withdrawn_one():
    """`plan` (the short form) names the version `plan --from-current` starts from: the one
    waiting for a decision, and once its author withdrew it the version in force (was: the
    withdrawn version, and "nothing to correct" when it already held the value given). A withdrawn
    version named as plan@N is still found and corrected."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    first = service.show(amina, case_id, "plan")["record_id"]
    service.plan_revise(amina, case_id, "review", {"actions": {"A1": {"by": "2027-01-31"}}})
    second = service.show(amina, case_id, "plan")["record_id"]
    assert second != first  # waiting for a decision: the version a worker means
    assert service.plan_current(amina, case_id)[0] == second
    service.plan_withdraw(amina, case_id, "written too early")
    assert service.plan_current(amina, case_id)[0] == first
    assert service.show(amina, case_id, "plan")["record_id"] == first
    assert service.show(amina, case_id, "plan@2")["record_id"] == second  # named explicitly: the withdrawn one
    # the version in force is approved: its action is corrected by the supervisor (test_correct_decided.py)
    fixed = service.correct(sup, case_id, "plan", {"actions": {"A1": {"by": "2027-01-31"}}}, "date mistyped")
    assert fixed.extra["supersedes"] == first
    assert str(actions_of(amina, case_id)[0]["by"]) == "2027-01-31"
    assert service.show(amina, case_id, "plan")["record_id"] == fixed.record_id  # the correction stands in for it
    again = service.correct(mem.as_("amina"), case_id, "plan@2", {"contingency": "Kept on file."}, "wording")
    assert again.extra["supersedes"] == second
    assert service.plan_current(amina, case_id)[0] == fixed.record_id  # still withdrawn, still not in force


def test_correct__a_version_superseded_by_one_in_force_is_corrected_with_a_warning_naming_the_one_in_force():
    """A plan version corrected after a later version came into force (a review's, a later
    conference's): the correction is written, but the plan in force and `cpcm due` keep the later
    version's date, so a warning names that version's record and the line that corrects it, with
    the same --set fields and never their values (was: accepted silently, the overdue action left
    as it was). A correction of the version in force warns nothing."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    first = service.show(amina, case_id, "plan")["record_id"]
    service.plan_revise(amina, case_id, "review", {"actions": {"A2": {"by": "2027-02-01"}}})
    service.approve(sup, case_id, "plan")
    second = service.show(amina, case_id, "plan")["record_id"]
    fixed = service.correct(sup, case_id, first, {}, "date mistyped", sets=[("actions.A1.by", "2027-03-31")])
    [warning] = [w for w in fixed.warnings if "is not the plan in force" in w]
    assert f"plan version 1 ({fixed.record_id}) of {case_id}" in warning and f"version 2 ({second})" in warning
    assert f"cpcm correct {case_id} {second} --set actions.A1.by=... --reason TEXT" in warning
    assert "2027-03-31" not in warning
    assert str(actions_of(amina, case_id)[0]["by"]) != "2027-03-31"  # the version in force as it was
    in_force = service.correct(sup, case_id, second, {}, "date mistyped", sets=[("actions.A1.by", "2027-03-31")])
    assert not [w for w in in_force.warnings if "is not the plan in force" in w]
    assert str(actions_of(amina, case_id)[0]["by"]) == "2027-03-31"


def test_correct__the_version_in_force_while_a_later_one_waits_holding_the_action_warns_to_correct_that_one_too():
    """The version in force corrected while a later version waits for approval: the waiting one
    copied the action as it was, and its approval would put the old date back in force, so a
    warning names its record and the line that corrects it, with the same --set fields, never
    their values (was: silent, and approving it undid the correction). A correction of an action
    the waiting version no longer holds warns nothing of it."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    first = service.show(amina, case_id, "plan")["record_id"]
    service.plan_revise(amina, case_id, "review", {"actions": {"A2": {"by": "2027-02-01"}}}, remove=["A1"])
    waiting = service.show(amina, case_id, "plan")["record_id"]
    assert waiting != first
    fixed = service.correct(sup, case_id, first, {}, "date mistyped", sets=[("actions.A2.by", "2027-03-31")])
    [warning] = [w for w in fixed.warnings if "waits for approval" in w]
    assert f"plan version 2 ({waiting}) of {case_id}" in warning, warning
    assert f"cpcm correct {case_id} {waiting} --set actions.A2.by=... --reason TEXT" in warning, warning
    assert "2027-03-31" not in warning
    gone = service.correct(sup, case_id, fixed.record_id, {}, "date mistyped", sets=[("actions.A1.by", "2027-03-30")])
    assert not [w for w in gone.warnings if "waits for approval" in w or "not the plan in force" in w]


def test_correct__a_superseded_version_whose_action_the_version_in_force_removed_says_nothing_there_to_mend():
    """Version 2, in force, removed A1; correcting A1 in version 1 warns that the version in force
    no longer holds it, nothing there to mend (was: a line correcting version 2's A1, which cpcm
    correct refuses: no action with that ID). An action it still holds is named in the line."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    service.plan_revise(amina, case_id, "review", {"actions": {"A2": {"by": "2027-02-01"}}}, remove=["A1"])
    service.approve(sup, case_id, "plan")
    second = service.show(amina, case_id, "plan")["record_id"]
    fixed = service.correct(sup, case_id, "plan@1", {}, "minutes mended", sets=[("actions.A1.by", "2027-01-29")])
    [warning] = [w for w in fixed.warnings if "is not the plan in force" in w]
    assert f"version 2 ({second}), written since, is, and no longer holds the actions corrected (A1)" in warning, warning
    assert "nothing in the plan in force to mend" in warning and "cpcm correct" not in warning, warning
    assert "2027-01-29" not in warning
    both = service.correct(sup, case_id, fixed.record_id, {}, "minutes mended",
                           sets=[("actions.A1.by", "2027-01-30"), ("actions.A2.by", "2027-01-31")])
    [warning] = [w for w in both.warnings if "is not the plan in force" in w]
    assert f"cpcm correct {case_id} {second} --set actions.A2.by=... --reason TEXT" in warning, warning
    assert "actions.A1" not in warning


def test_show_plan__a_case_whose_only_version_was_withdrawn_has_no_plan_a_worker_means():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = assessed_in(mem)
    service.plan(amina, case_id, plan_doc())
    service.plan_withdraw(amina, case_id, "written for the wrong case")
    with pytest.raises(NotFound) as none:
        service.show(amina, case_id, "plan")
    assert "no plan version waiting or in force" in none.value.args[0] and "plan@N" in none.value.args[0]
    assert service.show(amina, case_id, "plan@1")["kind"] == "plan"


def test_cli__correct_plan_after_a_withdrawal_corrects_the_version_in_force_as_show_plan_shows_it(cli, cli_as, repo):
    sup = cli_as("sup")
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan").code == 0
    assert cli("plan", case_id, "--from-current", "--reason", "review", "--set", "actions.A1.by=2027-01-31").code == 0
    assert cli("plan", case_id, "--withdraw", "--reason", "typed too early").code == 0
    in_force = cli("show", case_id, "plan@1", "--json").json()["record_id"]
    assert cli("show", case_id, "plan", "--json").json()["record_id"] == in_force
    before = commit_count(repo)
    refused = cli("correct", case_id, "plan", "--set", "actions.A1.by=2027-01-31", "--reason", "date mistyped", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "correction-changes-decided"  # approved: not its worker's to correct
    assert commit_count(repo) == before
    fixed = sup("correct", case_id, "plan", "--set", "actions.A1.by=2027-01-31", "--reason", "date mistyped", "--json")
    assert fixed.code == 0, fixed.stderr  # was: exit 4, nothing to correct (the withdrawn version held that date)
    assert fixed.json()["supersedes"] == in_force and commit_count(repo) == before + 1
    assert [a["by"] for a in cli("show", case_id, "plan", "--json").json()["fields"]["actions"]] == ["2027-01-31", "2027-01-10"]


EDITOR = r'''
import os, stat, sys
path = sys.argv[1]
folder = os.path.dirname(path)
with open(os.environ["EDIT_LOG"], "w") as log:
    log.write(f"{path}\n{oct(stat.S_IMODE(os.stat(path).st_mode))}\n{oct(stat.S_IMODE(os.stat(folder).st_mode))}\n")
text = open(path).read()
text = text.replace("by: '2027-01-10'", "by: '2027-02-15'").replace("by: 2027-01-10", "by: 2027-02-15")
text = text.replace("reason:", "reason: review #", 1) if "reason: null" in text or "reason:\n" in text else text
open(path + ".swp", "w").write("an editor's swap file")
open(path, "w").write(text)
'''


def test_cli__edit_opens_the_current_version_in_memory_0600_and_removes_it(cli, cli_as, repo, tmp_path):
    sup = cli_as("sup")
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    script, log = tmp_path / "editor.py", tmp_path / "edit.log"
    script.write_text(EDITOR)
    env = {"EDITOR": f"{sys.executable} {script}", "EDIT_LOG": str(log)}
    before = commit_count(repo)
    edited = cli("plan", case_id, "--edit", "--reason", "review", "--json", env=env)
    assert edited.code == 0, edited.stderr
    assert edited.json()["actions"] == ["A1", "A2"] and commit_count(repo) == before + 1
    path, file_mode, folder_mode = log.read_text().split()
    assert path.startswith("/dev/shm/") and file_mode == "0o600" and folder_mode == "0o700"
    assert not os.path.exists(os.path.dirname(path))  # the file, and the editor's swap file, are gone
    current = cli("show", case_id, "plan", "--json").json()["fields"]
    assert [(a["id"], a["by"]) for a in current["actions"]] == [("A1", "2026-12-15"), ("A2", "2027-02-15")]
    # an editor closed without a change writes nothing
    unchanged = cli("plan", case_id, "--edit", "--reason", "review", env={"EDITOR": "true"})
    assert unchanged.code == 0 and "nothing changed" in unchanged.stderr + unchanged.stdout
    assert commit_count(repo) == before + 1


WAITING_EDITOR = r'''
import os, sys, time
with open(os.environ["EDIT_LOG"], "w") as log:
    log.write(f"{sys.argv[1]} {os.getpid()}")
time.sleep(60)
'''


def editing(cli, case_id: str, tmp_path):
    """`plan CASE --edit` started with an editor that waits: (the command's process, the plan's
    file in /dev/shm, the editor's pid) once the editor has the file open."""
    import time

    script, log = tmp_path / "editor.py", tmp_path / "edit.log"
    script.write_text(WAITING_EDITOR)
    running = cli.process("plan", case_id, "--edit", "--reason", "review", wait=False,
                          env={"EDITOR": f"{sys.executable} {script}", "EDIT_LOG": str(log)})
    deadline = time.monotonic() + 60
    while not (log.exists() and log.read_text()) and time.monotonic() < deadline and running.poll() is None:
        time.sleep(0.05)
    path, editor = log.read_text().split()
    assert path.startswith("/dev/shm/") and os.path.exists(path)
    return running, path, int(editor)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_cli__edit_ended_by_a_signal_removes_the_file_and_writes_nothing(cli, repo, tmp_path, signal_name):
    """The terminal window closed (SIGHUP), or the session ended (SIGTERM), while the plan was open
    in the editor: the plan's file in /dev/shm is removed, the editor stopped, nothing written."""
    import signal

    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    before = commit_count(repo)
    running, path, _ = editing(cli, case_id, tmp_path)
    running.send_signal(getattr(signal, signal_name))
    _, err = running.communicate(timeout=60)
    assert running.returncode == 130 and "nothing was written" in err, err
    assert not os.path.exists(os.path.dirname(path))
    assert commit_count(repo) == before


SLIPPING_EDITOR = r'''
import os, sys
path = sys.argv[1]
with open(os.environ["EDIT_LOG"], "a") as log:
    log.write(open(path).read() + "\n=====\n")
with open(os.environ["EDIT_LOG"] + ".paths", "a") as paths:
    paths.write(path + "\n")
text = open(path).read()
if "by hand" not in text:  # the first time: a slip beside a line typed by hand
    text = text.replace("reason: review", "reason: revieww") + "notes: a line typed by hand\n"
else:  # opened again with the problems at the top: the slip mended
    text = text.replace("revieww", "review")
open(path, "w").write(text)
'''


def test_edit__a_refused_save_opens_again_with_its_problems_and_nothing_typed_lost(tmp_path, monkeypatch):
    """What was saved is refused (the form's problems): at a terminal, the worker is shown them
    and the file opens again as it was saved, the problems at its top; once mended, it is
    written. Off a terminal (no `again`), the refusal stands. The private folder goes either way."""
    from cpcm.cli import assess
    from cpcm.errors import FieldError, InvalidInput

    script, log = tmp_path / "editor.py", tmp_path / "edit.log"
    script.write_text(SLIPPING_EDITOR)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.setenv("EDIT_LOG", str(log))
    monkeypatch.delenv("VISUAL", raising=False)
    written, asked = [], []

    def write(data):
        if data.get("reason") != "review":
            raise InvalidInput([FieldError("reason", "is not one of the plan's reasons")], "plan of CP-0000-0000")
        written.append(data)
        return "written"

    assert assess.edit_in_private({"reason": "review"}, "CP-0000-0000", write, lambda problems: asked.append(problems) or True) \
        == "written"
    assert written == [{"reason": "review", "notes": "a line typed by hand"}]
    assert len(asked) == 1 and "reason: is not one of the plan's reasons" in asked[0]
    second = log.read_text().split("\n=====\n")[1]
    assert second.startswith("# cpcm: plan of CP-0000-0000 is not valid") and "a line typed by hand" in second
    log.write_text("")
    with pytest.raises(InvalidInput):  # no one to ask: refused as before
        assess.edit_in_private({"reason": "review"}, "CP-0000-0000", write, None)
    with pytest.raises(InvalidInput):  # the worker says no: refused, nothing written
        assess.edit_in_private({"reason": "review"}, "CP-0000-0000", write, lambda problems: False)
    assert len(written) == 1
    opened = (tmp_path / "edit.log.paths").read_text().split()
    assert len(opened) == 4 and not any(os.path.exists(os.path.dirname(path)) for path in opened)  # each folder gone


def test_cli__edit_killed_outright_its_folder_is_wiped_by_the_next_command(cli, repo, tmp_path, monkeypatch):
    """SIGKILL runs nothing on the way out: the plan stays in /dev/shm. The next command of the
    same user sees that the command which made the folder has ended, and wipes it. (Any cpcm
    command of this user sweeps /dev/shm, other tests' too: which one wiped the real folder is
    not known, so the sweep itself is watched in a folder of the test's own.)"""
    import signal

    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    running, path, editor = editing(cli, case_id, tmp_path)
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=60)
    os.kill(editor, signal.SIGKILL)  # the editor outlives it, holding the command's pipes
    running.communicate(timeout=60)
    assert cli("show", case_id, "--json").code == 0
    assert not os.path.exists(os.path.dirname(path))

    from cpcm.cli import private

    shm = tmp_path / "shm"
    ended = subprocess.Popen(["true"])
    ended.wait()
    left, open_now, other = (shm / f"cpcm-{ended.pid}-abc", shm / f"cpcm-{os.getpid()}-def", shm / f"other-{ended.pid}-x")
    for folder in (left, open_now, other):
        folder.mkdir(parents=True)
        (folder / "plan.yaml").write_text("name: Zqxcanary\n")
    monkeypatch.setattr(private, "PRIVATE_DIRS", (str(shm),))
    assert cli("show", case_id, "--json").code == 0
    assert not left.exists() and open_now.exists() and other.exists()


def test_cli__edit_refuses_where_there_is_no_memory_file_system(cli, cli_as, monkeypatch):
    from cpcm.cli import assess

    sup = cli_as("sup")
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    monkeypatch.setattr(assess, "PRIVATE_DIRS", ("/nonexistent-shm",))
    refused = cli("plan", case_id, "--edit", "--reason", "review", env={"EDITOR": "true"})
    assert refused.code == 2 and "memory file system" in refused.stderr


def closed_by_the_only_supervisor(cli, cli_as, repo, child: str):
    """A case whose plan the only supervisor approved, discussed at a conference that supervisor
    minutes and closes (which writes plan version 2), in an agency whose policy bars the chair from
    approving the conference's version (plan_approval.conference_versions_by_chair: false; on in
    both profiles, where the chair approves it: test_conference_chair_approval.py), so that nobody
    may approve it: (the case, the supervisor at the meeting, the close's result)."""
    from test_conference import CLOSE_NOW, minutes_doc, new_conference, planned_case

    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_approval:\n    conference_versions_by_chair: false\n")
    sup = cli_as("sup")
    case_id = planned_case(cli, child)
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)  # attendance, minutes and closing once the meeting has started
    for n in range(5):
        assert closer("conference", "attend", conf, "--institution", "Agency", "--name", f"Member {n}", "--position", "Officer",
                      "--contact", "0700", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]))).code == 0
    closed = closer("conference", "close", conf, "--json")
    assert closed.code == 0, closed.stderr
    return case_id, closer, closed


def test_cli__the_only_supervisor_closing_a_conference_is_told_and_can_withdraw_the_version(cli, cli_as, repo):
    from test_conference import CLOSE_NOW

    case_id, closer, closed = closed_by_the_only_supervisor(cli, cli_as, repo, "Test Child Conf")
    told = [w for w in closed.json()["warnings"] if "nobody in the team may approve plan version 2" in w]
    assert len(told) == 1 and case_id in told[0]
    # no next step says the version waits for a supervisor's approval: none may give it
    assert not [s for s in closed.json()["next_steps"] if case_id in s and "approval" in s], closed.json()["next_steps"]
    # the conference's version waits; version 1 stays in force: the case is not overdue, its review clock runs
    later = cli_as("amina", CPCM_NOW=CLOSE_NOW)
    assert later("check", case_id, "--json").json() == []
    assert "review" in {i["code"] for i in later("due", "--within", "120", "--json").json() if i["case_id"] == case_id}
    assert closer("plan", case_id, "--withdraw", "--reason", "no second supervisor to approve it").code == 0
    shown = later("show", case_id, "--json").json()
    assert shown["plan"]["withdrawn_at"] and shown["plan"]["previous"]["version"] == 1


def test_cli__the_only_supervisor_closing_a_conference_is_told_how_the_worker_keeps_its_actions(cli, cli_as, repo):
    """Withdrawing the conference's version drops its actions: the warning also says how the
    case's worker carries them into a version the supervisor may approve, and that works as told."""
    from test_conference import CLOSE_NOW

    case_id, closer, closed = closed_by_the_only_supervisor(cli, cli_as, repo, "Test Child Keep")
    hint = f"cpcm plan {case_id} --from-current --reason conference_decision"
    told = [w for w in closed.json()["warnings"] if hint in w]
    assert len(told) == 1 and "amina (the case's worker)" in told[0], closed.json()["warnings"]
    amina = cli_as("amina", CPCM_NOW=CLOSE_NOW)
    assert amina(*hint.split()[1:]).code == 0
    assert closer("approve", case_id, "plan", "--note", "conference actions").code == 0
    plan = amina("show", case_id, "--json").json()["plan"]
    assert plan["version"] == 3 and plan["approved_by"] == "sup" and plan["by"] == "amina"
    whats = [a["what"] for a in plan["content"]["actions"]]
    assert any(w.startswith("Enrol in school") for w in whats) and any(w.startswith("Food support referral") for w in whats)


def test_due__a_plan_version_nobody_may_approve_is_on_the_case_workers_list_with_the_ways_out(
        cli, cli_as, repo, without_views, monkeypatch):
    """The only supervisor closes a conference: the plan version it writes is theirs, which they may
    not approve, so no supervisor's list holds it. It is on the case's worker's list (and every
    case's), marked, saying what to do; the same from the due view, from every case, and when the
    case's deadlines are computed at each `due`; once the worker writes the next version, that
    one is the supervisor's to approve."""
    from cpcm.service import tables as tables_mod
    from test_conference import CLOSE_NOW
    from test_views import same

    case_id, closer, closed = closed_by_the_only_supervisor(cli, cli_as, repo, "Test Child Stuck")
    amina = cli_as("amina", CPCM_NOW=CLOSE_NOW)
    hint = f"cpcm plan {case_id} --from-current --reason ..."

    def listed(who, *args) -> list:
        done = who("due", "--json", *args)
        assert done.code == 0, done.stderr
        return [(i["code"], i["owner"], i.get("nobody_may_decide")) for i in done.json()
                if i["case_id"] == case_id and i["code"] == "plan-approval"]
    for _ in range(2):  # the view made, then read
        assert listed(amina) == [("plan-approval", "supervisors", True)]
        assert listed(amina, "--worker", "all") == [("plan-approval", "supervisors", True)]
        assert listed(closer) == []  # theirs: they may not decide it
        lines = [line for line in amina("due").stdout.splitlines() if case_id in line and "the case plan" in line]
        assert len(lines) == 1 and "supervisors (nobody in the team may decide it)" in lines[0], lines
        assert hint in lines[0] and f"cpcm plan {case_id} --withdraw" in lines[0] and "(sup)" in lines[0], lines
        assert "which a supervisor or manager who did not write it may approve" in lines[0], lines  # not "another": there may be none
    assert listed(cli_as("otieno", CPCM_NOW=CLOSE_NOW)) == []  # not another caseworker's
    lists = [("due",), ("due", "--json"), ("due", "--worker", "all", "--json"), ("due", "--overdue", "--json")]
    same(amina, without_views, lists)
    real = tables_mod._due_entry

    def entry(ctx, session, case, tree, line=None):
        if case.id == case_id:
            raise tables_mod._NotKept
        return real(ctx, session, case, tree, line)
    with monkeypatch.context() as patch:
        patch.setattr(tables_mod, "_due_entry", entry)
        import shutil

        from cpcm.service import views
        shutil.rmtree(repo / ".cpcm" / "cache" / "amina" / views.FOLDER, ignore_errors=True)
        shutil.rmtree(repo / ".cpcm" / "cache" / "amina" / "due", ignore_errors=True)
        assert listed(amina) == [("plan-approval", "supervisors", True)]
        same(amina, without_views, lists)
    # the way out works: the worker's next version is the supervisor's to approve, on their list as any
    assert amina("plan", case_id, "--from-current", "--reason", "conference_decision").code == 0
    assert listed(amina) == []
    assert listed(closer) == [("plan-approval", "supervisors", None)]


def test_due__the_lone_supervisors_own_plan_is_not_told_to_write_a_next_version_nobody_may_approve_either(cli_as):
    """The case is the lone supervisor's own and so is the plan version: a next version would be theirs
    too, so the hint does not offer it; the other ways out stand. A caseworker's case keeps it."""
    from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc

    sup = cli_as("sup")
    case_id = register(sup)
    assert sup("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert sup("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    written = sup("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc()))
    assert written.code == 0, written.stderr
    for args in ((), ("--worker", "sup")):
        lines = [line for line in sup("due", *args).stdout.splitlines() if case_id in line and "the case plan" in line]
        assert len(lines) == 1 and "nobody in the team may decide it" in lines[0], lines
        assert "writes the next version" not in lines[0] and f"cpcm plan {case_id} --withdraw" in lines[0], lines


def test_due__every_cases_list_gives_each_approval_nobody_may_decide_the_ways_out_of_its_case_workers_list(
        cli, cli_as, without_views):
    """`--worker all` gives each approval nobody may decide the ways out its case's worker's own list
    gives: the lone supervisor's own case is not told to write a next version (theirs too, nobody
    could approve it either), a caseworker's case is (the supervisor may approve the worker's
    version). It offered the next version on every case. `--json` marks each the same on both
    lists; the same from the due view, made and then read, as from every case."""
    from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
    from test_views import same

    sup = cli_as("sup")
    lone = register(sup)  # the lone supervisor's own case, and plan version
    theirs = register(cli)  # amina's case, its plan version written by the supervisor
    for case_id in (lone, theirs):
        assert sup("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
        assert sup("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
        written = sup("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc()))
        assert written.code == 0, written.stderr
    next_version = {case_id: f"the case's worker writes the next version from this one (cpcm plan {case_id} --from-current"
                    for case_id in (lone, theirs)}

    def lines(who, *args) -> dict[str, str]:
        done = who("due", *args)
        assert done.code == 0, done.stderr
        found = {case_id: [line for line in done.stdout.splitlines() if case_id in line and "the case plan" in line]
                 for case_id in (lone, theirs)}
        return {case_id: one[0] for case_id, one in found.items() if len(one) == 1}

    def marked(who, *args) -> dict[str, tuple]:
        done = who("due", "--json", *args)
        assert done.code == 0, done.stderr
        return {i["case_id"]: (i["owner"], i.get("nobody_may_decide")) for i in done.json() if i["code"] == "plan-approval"}
    for _ in range(2):  # the view made, then read
        every = lines(sup, "--worker", "all")
        assert set(every) == {lone, theirs}, every
        assert all("supervisors (nobody in the team may decide it)" in line for line in every.values()), every
        assert next_version[lone] not in every[lone] and f"cpcm plan {lone} --withdraw" in every[lone], every[lone]
        assert next_version[theirs] in every[theirs] and f"cpcm plan {theirs} --withdraw" in every[theirs], every[theirs]
        assert lines(sup) == {lone: every[lone]} and lines(cli) == {theirs: every[theirs]}  # as on each case's worker's list
        assert marked(sup, "--worker", "all") == {lone: ("supervisors", True), theirs: ("supervisors", True)}
        assert marked(sup) == {lone: ("supervisors", True)} and marked(cli) == {theirs: ("supervisors", True)}
    same(sup, without_views, [("due", "--worker", "all"), ("due", "--worker", "all", "--json"), ("due",)])
    same(cli, without_views, [("due",), ("due", "--json")])


def test_withdraw__a_waiting_version_a_supervisor_corrected_is_still_its_authors_to_take_back_and_not_theirs_to_approve():
    """amina's waiting version, corrected by the supervisor (a date): amina, who asked for it, takes
    it back; the supervisor, who wrote part of it, may neither take it back nor approve it (the
    policy bars self-approval), and is told so, with the way out."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = approved_case(mem)
    service.plan_revise(amina, case_id, "review", {"actions": {"A1": {"by": "2026-12-01"}}})
    service.correct(sup, case_id, "plan", {"notes": "the date checked with the school"}, "typo")
    with pytest.raises(Refused) as theirs:
        service.approve(sup, case_id, "plan")
    assert theirs.value.rule == "self-approval" and "you are the one who corrected it" in theirs.value.message
    assert f"amina writes the next version from this one (cpcm plan {case_id} --from-current" in theirs.value.hint
    [item] = [i for i in service.due(sup, worker="all") if i.case_id == case_id and i.code == "plan-approval"]
    assert "asked for by amina" in item.why and item.requested_by == "amina" and set(item.barred) == {"amina", "sup"}
    with pytest.raises(Refused) as not_sups:
        service.plan_withdraw(sup, case_id, "not mine to take back")
    assert not_sups.value.rule == "withdraw-own-only" and "(amina)" in not_sups.value.message
    written = service.plan_withdraw(amina, case_id, "written too early")
    assert written.kind == "withdrawal"
