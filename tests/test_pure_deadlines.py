"""Pure tests of the deadlines (cpcm.workflow.deadlines): each clock at its edges, with a policy
whose every number and source differs, so that a rule reading the wrong number, the wrong
source, the wrong start or the wrong zone shows. Every item is compared whole: each field,
its times written out in the zone of `now` (docs/testing.md, "Mutation testing")."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.workflow import deadlines as dl
from cpcm.workflow import plan_actions
from cpcm.workflow.deadlines import Deadline

EAT = timezone(timedelta(hours=3))
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=EAT)
REG = "2026-11-20T09:00:00+03:00"      # registration, as the fold keeps it (registered_at)
REG_UTC = "2026-11-20T06:00:00+00:00"  # the same moment as every event is kept: UTC

RULES = {
    "initial_assessment": {"limit": "72h", "target": "24h", "source": "S-initial"},
    "risk_response": {"limit": {"immediate": "same_day", "high": "2d", "medium": "1w"}, "source": "S-risk"},
    "comprehensive_assessment": {"limit": "30d", "target": "2w", "source": "S-comprehensive"},
    "case_plan": {"limit": "10d", "source": "S-plan"},
    "plan_action": {"due_after_reopening": False, "source": "S-plan-action"},
    "plan_approval": {"required": True, "source": "S-plan-approval"},
    "closure_approval": {"required": True, "source": "S-closure-approval"},
    "transfer_approval": {"required": True, "source": "S-transfer-approval"},
    "approval_response": {"limit": "3d", "source": "S-approval-response"},
    "review": {"interval": "3mo", "source": "S-review"},
    "review_after_reunification": {"interval": "1mo", "period": "6mo", "source": "S-reunification"},
    "post_closure_visit": {"limit": "5w", "source": "S-post-closure"},
    "turning_18": {"notice": "3mo", "source": "S-turning"},
    "child_age_limit": {"years": 18, "source": "S-age"},
    "referral_feedback": {"limit": "2w", "source": "S-feedback"},
    "referral_checks": {"source": "S-checks"},
    "volunteer_concern": {"limit": "4d", "source": "S-concern"},
    "readiness_stop": {"limit": "6h", "source": "S-stop"},
    "due_soon": {"within": "2d", "source": "S-soon"},
    "transfer_ack": {"limit": "9d", "source": "S-transfer-ack"},
    "interim_plan": {"limit": "5d", "source": "S-interim"},
}


def policy(**changes) -> Policy:
    rules = {k: dict(v) for k, v in RULES.items()}
    for rule, values in changes.items():
        if values is None:
            rules.pop(rule)
        else:
            rules[rule] = {**rules.get(rule, {}), **values}
    return Policy("test", "Test", rules)


P = policy()


OLD = "2026-08-01T09:00:00+03:00"       # an earlier registration, for a case with a plan in force


def case(**fields) -> Case:
    values = {"worker": "amina", "risk": "high", "registered_at": REG}
    values.update(fields)
    return Case("CP-0000-0000", **values)


def view(item: Deadline) -> tuple:
    """Every field, times as text (a datetime compares by its instant, not its zone)."""
    return (item.case_id, item.code, item.title, item.due.isoformat(), item.target.isoformat() if item.target else None,
            item.owner, item.rule, item.why, item.source, item.risk, item.requested_by, item.barred, item.covered_by)


def of(rule, c: Case, p: Policy = P, now: datetime = NOW) -> list[tuple]:
    return [view(d) for d in rule(c, p, now)]


def item(due: datetime, **fields) -> Deadline:
    values = dict(case_id="CP-0000-0000", code="c", title="t", due=due, target=None, owner="amina", rule="r", why="w",
                  source="s")
    values.update(fields)
    return Deadline(**values)


# --- the state of an item ------------------------------------------------------------------------

SOON = timedelta(days=2)


def test_state__at_each_edge_without_a_target():
    due = NOW + timedelta(days=5)
    d = item(due)
    assert d.state(due, SOON) == "due_soon"                         # due now: not yet overdue
    assert d.state(due + timedelta(seconds=1), SOON) == "overdue"
    assert d.state(due - SOON, SOON) == "due_soon"                  # exactly the window
    assert d.state(due - SOON - timedelta(seconds=1), SOON) == "upcoming"


def test_state__the_target_is_what_to_aim_for():
    due, target = NOW + timedelta(days=10), NOW + timedelta(days=5)
    d = item(due, target=target)
    assert d.state(target, SOON) == "due_soon"
    assert d.state(target + timedelta(seconds=1), SOON) == "target_missed"
    assert d.state(due, SOON) == "target_missed"
    assert d.state(due + timedelta(seconds=1), SOON) == "overdue"
    assert d.state(target - SOON, SOON) == "due_soon"
    assert d.state(target - SOON - timedelta(seconds=1), SOON) == "upcoming"


def test_to_json__every_field_in_the_zone_of_the_item():
    due = datetime(2026, 11, 30, 23, 59, 59, tzinfo=EAT)
    d = item(due, target=datetime(2026, 11, 25, 9, 0, tzinfo=EAT), risk="high", requested_by="x", barred=("y",))
    assert d.to_json(NOW, SOON) == {
        "case_id": "CP-0000-0000", "code": "c", "title": "t", "due": "2026-11-30T23:59+03:00",
        "target": "2026-11-25T09:00+03:00", "state": "due_soon", "owner": "amina", "rule": "r", "why": "w", "source": "s",
        "risk": "high"}
    plain = item(due, covered_by="baraka").to_json(due + timedelta(minutes=1), SOON)
    assert plain["target"] is None and plain["state"] == "overdue" and plain["covered_by"] == "baraka"
    assert plain["risk"] is None and len(plain) == 12


def test_zone_of():
    assert dl.zone_of(NOW) is EAT
    assert dl.zone_of(datetime(2026, 1, 1)) is timezone.utc


def test_stored_times_in_the_zone_of_now():
    assert dl._t(None, EAT) is None and dl._t("", EAT) is None
    assert dl._t("2026-11-20T06:00:00+00:00", EAT).isoformat() == "2026-11-20T09:00:00+03:00"


def test_after_start__a_date_alone_ends_at_the_end_of_the_local_day():
    from cpcm.domain.durations import parse_duration
    assert dl._after_start("2026-01-14", parse_duration("2w"), EAT).isoformat() == "2026-01-28T23:59:59+03:00"
    assert dl._after_start("2026-01-14T05:00:00+00:00", parse_duration("2w"), EAT).isoformat() == "2026-01-28T08:00:00+03:00"



def test_after_start__same_day_from_a_date_alone_ends_at_the_end_of_that_day_as_0w_does():
    """An accepted referral's `--expected-duration same_day` from `--start 2026-12-07` has its outcome
    due at the end of 7 December, as `0w` has (durations.py: same_day ends at midnight at the end
    of the day it starts). Was: the end of 8 December. A same_day limit counted from a moment (an
    immediate risk's response) still ends at the midnight that ends its day."""
    from cpcm.domain.durations import parse_duration
    same_day, none = parse_duration("same_day"), parse_duration("0w")
    assert dl._after_start("2026-12-07", same_day, EAT).isoformat() == "2026-12-07T23:59:59+03:00"
    assert dl._after_start("2026-12-07", same_day, EAT) == dl._after_start("2026-12-07", none, EAT)
    assert dl._after_start("2026-12-07T10:00:00+03:00", same_day, EAT).isoformat() == "2026-12-08T00:00:00+03:00"
    assert same_day.after(datetime(2026, 12, 7, 10, tzinfo=EAT)).isoformat() == "2026-12-08T00:00:00+03:00"

def test_plan_in_force_at():
    assert dl.plan_in_force_at(case(), P) is None
    plan = {"version": 1, "at": "2026-11-21T06:00:00+00:00", "approved_at": "2026-11-22T06:00:00+00:00"}
    assert dl.plan_in_force_at(case(plan=plan), P) == "2026-11-22T06:00:00+00:00"
    assert dl.plan_in_force_at(case(plan=plan), policy(plan_approval={"required": False})) == "2026-11-21T06:00:00+00:00"
    waiting = {"version": 1, "at": "2026-11-21T06:00:00+00:00"}
    assert dl.plan_in_force_at(case(plan=waiting), P) is None


# --- the assessments ----------------------------------------------------------------------------

def test_initial_assessment__from_registration_in_the_zone_of_now():
    assert of(dl._initial_assessment, case()) == [(
        "CP-0000-0000", "initial-assessment", "initial assessment", "2026-11-23T09:00:00+03:00", "2026-11-21T09:00:00+03:00",
        "amina", "initial_assessment", "initial assessment within 72 hours of registration (target 24 hours)", "S-initial",
        "high", None, (), None)]


def test_initial_assessment__met_at_or_after_the_start_and_only_then():
    assert of(dl._initial_assessment, case(events={"assessment.initial": (REG_UTC,)})) == []
    assert of(dl._initial_assessment, case(events={"assessment.comprehensive": ("2026-11-21T06:00:00+00:00",)})) == []
    # an assessment before a reopening does not meet the new cycle's clock
    reopened = case(events={"assessment.initial": ("2026-11-21T06:00:00+00:00",), "reopen": ("2026-11-22T06:00:00+00:00",)})
    assert [d[3] for d in of(dl._initial_assessment, reopened)] == ["2026-11-25T09:00:00+03:00"]
    assert of(dl._initial_assessment, case(status="closed")) == []
    assert of(dl._initial_assessment, case(registered_at=None)) == []


def test_risk_response__each_level_and_when_it_is_met():
    assessed = "2026-11-21T06:00:00+00:00"
    c = case(events={"assessment.initial": (assessed,)})
    assert of(dl._risk_response, c) == [(
        "CP-0000-0000", "risk-response", "respond to high risk", "2026-11-23T09:00:00+03:00", None, "amina", "risk_response",
        "high risk: respond within 2 days of the initial assessment (a follow-up, referral, plan, placement or protection action)",
        "S-risk", "high", None, (), None)]
    same_day = of(dl._risk_response, case(risk="immediate", events={"assessment.initial": (assessed,)}))
    assert [(d[2], d[3], d[7]) for d in same_day] == [(
        "URGENT: respond to immediate risk", "2026-11-22T00:00:00+03:00",
        "immediate risk: respond on the same day as the initial assessment (a follow-up, referral, plan, placement or protection action)")]
    assert of(dl._risk_response, case(risk="low", events={"assessment.initial": (assessed,)})) == []   # no limit for it
    assert of(dl._risk_response, case(risk=None, events={"assessment.initial": (assessed,)})) == []
    assert of(dl._risk_response, case()) == []
    assert of(dl._risk_response, case(status="closed", events={"assessment.initial": (assessed,)})) == []
    assert of(dl._risk_response, case(events={"assessment.initial": (assessed,), "followup": (assessed,)})) == []
    assert of(dl._risk_response, case(events={"assessment.initial": (assessed,), "followup": ("2026-11-21T05:59:59+00:00",)})) != []


def test_risk_response__an_assessment_before_the_cycle_does_not_start_it():
    c = case(events={"assessment.initial": ("2026-11-19T06:00:00+00:00",)})
    assert of(dl._risk_response, c) == []


def test_interim_plan__from_the_initial_assessment_that_asked_for_it_until_a_plan_is_written_after_it():
    """IAG §3 Step 2 [L825]: an initial assessment that found an interim plan needed puts it on the
    worker's list, `interim_plan.limit` after that assessment (not the risk's response time), until a
    plan is written after it, interim or not; a plan its author withdrew meets nothing."""
    asked = "2026-11-21T06:00:00+00:00"
    events = {"assessment.initial": (asked,), "interim_plan_needed": (asked,)}
    why = ("the initial assessment of 2026-11-21 found an interim plan needed (a basic need unmet or the child unsafe): the "
           "immediate services, as a plan within 5 days of it, while the comprehensive assessment is completed (cpcm plan "
           "CP-0000-0000 --from-file FILE, with interim: yes); any plan written after that assessment meets it")
    expected = ("CP-0000-0000", "interim-plan", "record the interim plan", "2026-11-26T09:00:00+03:00", None, "amina",
                "interim_plan", why, "S-interim", "high", None, (), None)
    assert of(dl._interim_plan, case(events=events)) == [expected]
    assert of(dl._interim_plan, case(risk="low", events=events)) == [expected[:9] + ("low",) + expected[10:]]  # not the risk's time
    assert [d[3] for d in of(dl._interim_plan, case(events=events), policy(interim_plan={"limit": "1d"}))] == [
        "2026-11-22T09:00:00+03:00"]
    # what meets it: a plan written at or after that assessment, whatever became of it since (waiting, approved, rejected)
    for plan in ({"version": 1, "at": asked}, {"version": 1, "at": asked, "approved_at": asked},
                 {"version": 1, "at": asked, "rejected_at": "2026-11-22T06:00:00+00:00"}):
        assert of(dl._interim_plan, case(events=events, plan=plan)) == []
    assert len(of(dl._interim_plan, case(events=events, plan={"version": 1, "at": "2026-11-21T05:59:59+00:00"}))) == 1
    withdrawn = {"version": 2, "at": asked, "withdrawn_at": "2026-11-22T06:00:00+00:00"}
    assert [d[7] for d in of(dl._interim_plan, case(events=events, plan=withdrawn))] == [
        why + " (plan version 2 was withdrawn by its author: write another)"]
    # a version in force written after it, with a newer one withdrawn: met
    assert of(dl._interim_plan, case(events=events, plan={**withdrawn, "previous": {"version": 1, "at": asked,
                                                                                   "approved_at": asked}})) == []
    # no ask, an ask from before the reopening, a closed case, an initial assessment that concluded the case closes: nothing
    assert of(dl._interim_plan, case(events={"assessment.initial": (asked,)})) == []
    assert of(dl._interim_plan, case(events={**events, "reopen": ("2026-11-22T06:00:00+00:00",)})) == []
    assert of(dl._interim_plan, case(status="closed", events=events)) == []
    assert of(dl._interim_plan, case(events={**events, "initial.close_no_concerns": (asked,)})) == []
    assert len(of(dl._interim_plan, case(events={**events, "initial.proceed": (asked,)}))) == 1
    # a follow-up or a referral answers the risk, not the interim plan
    answered = {**events, "followup": (asked,), "referral": (asked,)}
    assert [d.code for d in dl.deadlines(case(stage="initial_assessment", events=answered), P, NOW)
            if d.code in ("risk-response", "interim-plan")] == ["interim-plan"]


def test_comprehensive_assessment():
    assert of(dl._comprehensive_assessment, case()) == [(
        "CP-0000-0000", "comprehensive-assessment", "comprehensive assessment", "2026-12-20T09:00:00+03:00",
        "2026-12-04T09:00:00+03:00", "amina", "comprehensive_assessment",
        "comprehensive assessment within 30 days of registration (target 2 weeks; no drift)", "S-comprehensive", "high", None,
        (), None)]
    assert of(dl._comprehensive_assessment, case(events={"assessment.comprehensive": (REG_UTC,)})) == []
    assert of(dl._comprehensive_assessment, case(events={"assessment.initial": (REG_UTC,)})) != []
    assert of(dl._comprehensive_assessment, case(status="closed")) == []
    assert of(dl._comprehensive_assessment, case(registered_at=None)) == []
    before = case(events={"assessment.comprehensive": ("2026-11-20T05:59:59+00:00",)})
    assert len(of(dl._comprehensive_assessment, before)) == 1


# --- the plan and its review ---------------------------------------------------------------------

ASSESSED = "2026-11-21T06:00:00+00:00"


def test_case_plan__from_the_comprehensive_assessment():
    c = case(events={"assessment.comprehensive": (ASSESSED,)})
    assert of(dl._case_plan, c) == [(
        "CP-0000-0000", "case-plan", "case plan", "2026-12-01T09:00:00+03:00", None, "amina", "case_plan",
        "case plan in force within 10 days of the comprehensive assessment", "S-plan", "high", None, (), None)]
    assert of(dl._case_plan, case()) == []
    # an assessment before a reopening does not start the new cycle's clock
    reopened = {"assessment.comprehensive": (ASSESSED,), "reopen": ("2026-11-22T06:00:00+00:00",)}
    assert of(dl._case_plan, case(events=reopened)) == []
    assert of(dl._case_plan, case(status="closed", events={"assessment.comprehensive": (ASSESSED,)})) == []


def test_case_plan__a_plan_written_after_it_waits_for_approval():
    events = {"assessment.comprehensive": (ASSESSED,)}
    waiting = case(events=events, plan={"version": 1, "at": ASSESSED})
    assert [d[7] for d in of(dl._case_plan, waiting)] == [
        "case plan in force within 10 days of the comprehensive assessment (a plan is written and waits for a supervisor's approval)"]
    older = case(events=events, plan={"version": 1, "at": "2026-11-21T05:59:59+00:00"})
    assert [d[7] for d in of(dl._case_plan, older)] == ["case plan in force within 10 days of the comprehensive assessment"]
    rejected = case(events=events, plan={"version": 1, "at": ASSESSED, "rejected_at": "2026-11-22T06:00:00+00:00"})
    # a rejected version: the worker's item says so, and where the reason is
    assert [d[7] for d in of(dl._case_plan, rejected)] == [
        "case plan in force within 10 days of the comprehensive assessment (plan version 1 was rejected: write a new version;"
        " cpcm show CP-0000-0000 says why)"]
    older_rejected = case(events=events, plan={"version": 1, "at": "2026-11-21T05:59:59+00:00", "rejected_at": ASSESSED})
    assert [d[7] for d in of(dl._case_plan, older_rejected)] == ["case plan in force within 10 days of the comprehensive assessment"]
    # in force from the assessment on: met; an approved plan older than the assessment: not
    assert of(dl._case_plan, case(events=events, plan={"version": 1, "at": ASSESSED, "approved_at": ASSESSED})) == []
    old = {"version": 1, "at": "2026-11-21T05:00:00+00:00", "approved_at": "2026-11-21T05:30:00+00:00"}
    assert len(of(dl._case_plan, case(events=events, plan=old))) == 1
    assert of(dl._case_plan, case(events=events, plan={"version": 1, "at": ASSESSED}),
              policy(plan_approval={"required": False})) == []


def test_a_version_rejected_after_a_reopening__none_is_in_force_unless_the_policy_keeps_the_old_plan():
    """The version approved before the latest reopening is not in force after it
    (`plan_action.due_after_reopening: false`): a version rejected since is one rejected with no
    version in force, the case-plan item within the risk's response time (`_interim_rejected`),
    not a revision turned down while version 1 stays in force (`_plan_revision`)."""
    reopened, rejected = "2026-11-22T06:00:00+00:00", "2026-11-23T05:00:00+00:00"
    old = {"version": 1, "record_id": "01A", "at": "2026-09-01T06:00:00+00:00", "approved_at": "2026-09-02T06:00:00+00:00"}
    plan = {"version": 2, "record_id": "01B", "at": "2026-11-22T07:00:00+00:00", "rejected_at": rejected, "previous": old}
    c = case(plan=plan, risk="immediate", events={"reopen": (reopened,)})
    revision = {"limit": "9d", "source": "S-revision"}
    p = policy(plan_revision=revision)
    assert of(dl._plan_revision, c, p) == []
    assert [(d[1], d[2], d[3], d[6], d[8]) for d in of(dl._case_plan, c, p)] == [
        ("case-plan", "write a new plan version (the last was rejected)", "2026-11-24T00:00:00+03:00", "case_plan", "S-risk")]
    assert dl.plan_in_force(c, p) is None and dl.plan_in_force(case(plan=plan), p) is old
    keeps = policy(plan_action={"due_after_reopening": True}, plan_revision=revision)  # the old plan stays in force
    assert dl.plan_in_force(c, keeps) is old and of(dl._case_plan, c, keeps) == []
    assert [d[1] for d in of(dl._plan_revision, c, keeps)] == ["plan-revision"]  # a revision turned down

def test_review_interval__after_reunification_during_its_period():
    assert dl.review_interval(case(), P, NOW)[1] == "review"
    assert dl.review_interval(case(), P, NOW)[0].text == "3mo"
    reunified = case(events={"reunification": ("2026-05-23T06:00:00+00:00",)})   # 09:00 EAT, six months before NOW
    assert dl.review_interval(reunified, P, NOW - timedelta(seconds=1))[1] == "review_after_reunification"
    assert dl.review_interval(reunified, P, NOW - timedelta(seconds=1))[0].text == "1mo"
    assert dl.review_interval(reunified, P, NOW)[1] == "review"


IN_FORCE = {"version": 2, "at": "2026-09-01T06:00:00+00:00", "approved_at": "2026-09-02T06:00:00+00:00"}


def test_review__from_the_plan_in_force_or_the_last_review():
    c = case(registered_at=OLD, stage="planned", plan=IN_FORCE)
    assert of(dl._review, c) == [(
        "CP-0000-0000", "review", "case review", "2026-12-02T09:00:00+03:00", None, "amina", "review",
        "review at least every 3 months from the plan's start or the last review", "S-review", "high", None, (), None)]
    reviewed = case(registered_at=OLD, stage="implementation", plan=IN_FORCE, events={"review": ("2026-10-01T06:00:00+00:00",)})
    assert [d[3] for d in of(dl._review, reviewed)] == ["2027-01-01T09:00:00+03:00"]
    # a review before the plan came into force does not move the clock back
    early = case(registered_at=OLD, stage="closure_requested", plan=IN_FORCE, events={"review": ("2026-08-15T06:00:00+00:00",)})
    assert [d[3] for d in of(dl._review, early)] == ["2026-12-02T09:00:00+03:00"]
    assert of(dl._review, case(registered_at=OLD, stage="assessed", plan=IN_FORCE)) == []
    assert of(dl._review, case(registered_at=OLD, stage="planned", status="closed", plan=IN_FORCE)) == []
    assert of(dl._review, case(stage="planned", plan={"version": 1, "at": "2026-09-01T06:00:00+00:00"})) == []


def test_review__the_date_the_last_review_set_when_earlier():
    reviewed = {"review": ("2026-10-01T06:00:00+00:00",)}
    c = case(registered_at=OLD, stage="planned", plan=IN_FORCE, events=reviewed, next_review="2026-11-15")
    assert [(d[3], d[6], d[7]) for d in of(dl._review, c)] == [
        ("2026-11-15T23:59:59+03:00", "review", "review on the date the last review set")]
    later = case(registered_at=OLD, stage="planned", plan=IN_FORCE, events=reviewed, next_review="2027-02-15")
    assert [d[3] for d in of(dl._review, later)] == ["2027-01-01T09:00:00+03:00"]
    same = case(registered_at=OLD, stage="planned", plan=IN_FORCE, events=reviewed, next_review="2027-01-01T06:00:00+00:00")
    assert [d[7] for d in of(dl._review, same)] == ["review at least every 3 months from the plan's start or the last review"]
    no_review = case(registered_at=OLD, stage="planned", plan=IN_FORCE, next_review="2026-11-15")
    assert [d[3] for d in of(dl._review, no_review)] == ["2026-12-02T09:00:00+03:00"]


def test_review__after_reunification_names_its_rule():
    c = case(registered_at=OLD, stage="planned", plan=IN_FORCE, events={"reunification": ("2026-10-01T06:00:00+00:00",)})
    assert [(d[3], d[6], d[7], d[8]) for d in of(dl._review, c)] == [(
        "2026-10-02T09:00:00+03:00", "review_after_reunification",
        "review at least every 1 month from the plan's start or the last review", "S-reunification")]


# --- approvals -----------------------------------------------------------------------------------

REQ = "2026-11-22T06:00:00+00:00"


def test_approvals__each_subject_with_who_may_not_decide():
    c = case(stage="closure_requested", plan={"version": 3, "at": REQ, "by": "amina"},
             closure={"at": REQ, "by": "baraka", "reason": "goals_met", "decided_at": None},
             transfer_request={"at": "2026-11-22T07:00:00+00:00", "by": "chege", "to": "agency-2", "decided_at": None})
    plan_item = ("CP-0000-0000", "plan-approval", "approve or reject the case plan", "2026-11-25T09:00:00+03:00", None, "supervisors",
                 "plan_approval", "plan version 3, asked for by amina on 2026-11-22, waits for a supervisor's decision", "S-plan-approval",
                 "high", "amina", ("amina",), None)
    # the plan version waits for no decision while the closure is requested (the stage lets nobody decide it)
    assert of(dl._approvals, replace(c, stage="implementation", closure=None))[0] == plan_item
    assert of(dl._approvals, c) == [
        ("CP-0000-0000", "closure-approval", "approve or reject the closure", "2026-11-25T09:00:00+03:00", None, "supervisors",
         "closure_approval", "closure (goals_met), asked for by baraka on 2026-11-22, waits for a supervisor or manager", "S-closure-approval", "high", "baraka",
         ("amina", "baraka"), None),
        ("CP-0000-0000", "transfer-approval", "approve or reject the transfer", "2026-11-25T10:00:00+03:00", None,
         "supervisors", "transfer_approval", "a transfer to agency-2, asked for by chege on 2026-11-22, waits for a supervisor or manager", "S-transfer-approval",
         "high", "chege", ("chege",), None),
    ]


def test_approvals__none_when_nothing_waits_or_the_case_is_closed_or_no_approval_is_needed():
    waiting = {"version": 1, "at": REQ, "by": "amina"}
    assert of(dl._approvals, case()) == []
    assert of(dl._approvals, case(status="closed", plan=waiting)) == []
    assert of(dl._approvals, case(plan=waiting), policy(plan_approval={"required": False})) == []
    transfer = {"at": REQ, "by": "chege", "to": "agency-2", "decided_at": None}
    assert [d[1] for d in of(dl._approvals, case(transfer_request=transfer), policy(plan_approval={"required": False}))] == [
        "transfer-approval"]


# --- plan actions -------------------------------------------------------------------------------

def test_plan_actions__each_open_action_with_a_date():
    plan = {"version": 4, "at": REQ, "approved_at": REQ, "record_id": "01P",
            "actions": [{"id": "A1", "by": "2026-12-01", "who": "teacher"}, {"id": "A3"}, {"id": "A4", "by": "not a date"},
                        {"id": "A2", "by": "2026-12-05"}, {"id": "A5", "by": "2026-12-09"}],
            "status": {"A5": {"status": "done"}}}
    assert of(dl._plan_actions, case(plan=plan)) == [
        ("CP-0000-0000", "plan-action", "plan action A1 (teacher)", "2026-12-01T23:59:59+03:00", None, "amina", "plan_action",
         "the case plan (version 4) sets action A1 for 2026-12-01; when it is done: cpcm followup CP-0000-0000 ... --done A1",
         "S-plan-action", "high", None, (), None),
        ("CP-0000-0000", "plan-action", "plan action A2", "2026-12-05T23:59:59+03:00", None, "amina", "plan_action",
         "the case plan (version 4) sets action A2 for 2026-12-05; when it is done: cpcm followup CP-0000-0000 ... --done A2",
         "S-plan-action", "high", None, (), None),
    ]
    assert of(dl._plan_actions, case(status="closed", plan=plan)) == []
    assert of(dl._plan_actions, case()) == []


def test_plan_actions__one_a_referral_carries_out_is_left_to_the_referral_while_it_is_open():
    """`cpcm refer --action A1`: while the referral is open its own clocks (feedback, outcome) keep it
    on the list, so the action's item is not listed. Once the referral ended the item is back, saying
    how: delivered (mark the action done), or declined, not delivered, closed before either (find
    another service or replan). A referral from before a reopening carries nothing."""
    plan = {"version": 2, "at": REQ, "approved_at": REQ, "record_id": "01P", "status": {},
            "actions": [{"id": "A1", "by": "2026-11-10"}, {"id": "A2", "by": "2026-11-12"}]}

    def referral(ref, action, *statuses, at=REQ):
        history = [{"status": s, "at": at, "by": "amina"} for s in ("sent", *statuses)]
        return {"ref": ref, "plan_action": action, "status": history[-1]["status"], "status_at": at, "history": history}

    def listed(*referrals, **fields):
        return [(d[2], d[7]) for d in of(dl._plan_actions, case(plan=plan, referrals=referrals, **fields))]
    a2 = ("plan action A2", "the case plan (version 2) sets action A2 for 2026-11-12; when it is done: "
                            "cpcm followup CP-0000-0000 ... --done A2")
    for still_open in (("accepted",), (), ("acknowledged",)):
        assert listed(referral("R1", "A1", *still_open)) == [a2], still_open
    for ended, said in ((("accepted", "delivered"), "was delivered: mark the action done"),
                        (("accepted", "delivered", "closed"), "was delivered: mark the action done"),
                        (("declined",), "ended 'declined': find another service or replan"),
                        (("declined", "closed"), "ended 'declined': find another service or replan"),
                        (("accepted", "not_delivered", "closed"), "ended 'not_delivered': find another service or replan"),
                        (("closed",), "ended 'closed': find another service or replan")):
        assert listed(referral("R1", "A1", *ended))[0] == (
            "plan action A1", f"the case plan (version 2) sets action A1 for 2026-11-10; its referral R1 {said}; when it is "
                              "done: cpcm followup CP-0000-0000 ... --done A1"), ended
    # a second referral for the action, still open, carries it again
    assert listed(referral("R1", "A1", "declined"), referral("R2", "A1", "accepted")) == [a2]
    assert len(listed(referral("R1", None, "accepted"))) == 2  # a referral for no action carries none
    # an open referral from before the latest reopening carries nothing: the new plan's A1 is due
    reopened = {"reopen": ("2026-11-22T07:00:00+00:00",)}
    plan["approved_at"] = "2026-11-22T08:00:00+00:00"
    assert len(listed(referral("R1", "A1", "accepted", at="2026-11-20T06:00:00+00:00"), events=reopened)) == 2


def test_plan_actions__after_a_reopening_only_those_of_a_plan_in_force_since():
    """IAG Step 6: a reopened case goes back to assessment and a new plan. The plan in force before
    the reopening has no actions due after it (`plan_action.due_after_reopening: false`); a plan
    that comes into force after it (approved after it, or written after it where no approval is
    needed) has, an interim one included."""
    reopened = "2026-11-22T06:00:00+00:00"
    before, after = "2026-11-01T06:00:00+00:00", "2026-11-22T07:00:00+00:00"
    actions = [{"id": "A1", "by": "2026-11-15", "who": "teacher"}]

    def plan(at, approved_at):
        return {"version": 2, "at": at, "approved_at": approved_at, "record_id": "01P", "actions": actions, "status": {}}

    def codes(c, p=P):
        return [(d[1], d[2], d[6], d[8]) for d in of(dl._plan_actions, c, p)]
    due = [("plan-action", "plan action A1 (teacher)", "plan_action", "S-plan-action")]
    assert codes(case(plan=plan(before, before), events={"reopen": (reopened,)})) == []
    assert codes(case(plan=plan(before, before))) == due  # never reopened
    assert codes(case(plan=plan(before, before), events={"reopen": (reopened,)}),
                 policy(plan_action={"due_after_reopening": True})) == due
    assert codes(case(plan=plan(before, after), events={"reopen": (reopened,)})) == due  # approved after the reopening
    assert codes(case(plan=plan(before, reopened), events={"reopen": (reopened,)})) == due  # at the same moment
    waiting = {**plan(after, None), "previous": plan(before, before)}  # a new version waits: the old one stays in force
    assert codes(case(plan=waiting, events={"reopen": (reopened,)})) == []
    no_approval = policy(plan_approval={"required": False})
    assert codes(case(plan=plan(after, None), events={"reopen": (reopened,)}), no_approval) == due
    assert codes(case(plan=plan(before, None), events={"reopen": (reopened,)}), no_approval) == []
    twice = ("2026-10-01T06:00:00+00:00", reopened)  # the latest reopening counts
    assert codes(case(plan=plan("2026-10-15T06:00:00+00:00", "2026-10-15T06:00:00+00:00"), events={"reopen": twice})) == []



def test_plan_actions__a_mark_before_the_reopening_does_not_finish_an_action_of_a_plan_written_since():
    """An action marked done (or dropped) before the latest reopening was finished for the plan of
    before: a version written since the reopening that has an action of that ID lists it due until
    it is marked again after the reopening (`plan_actions.marks_since`); a version written before
    the reopening (kept in force where the policy keeps its actions due) keeps every mark."""
    reopened = "2026-11-22T06:00:00+00:00"
    before, after = "2026-11-01T06:00:00+00:00", "2026-11-22T07:00:00+00:00"
    actions = [{"id": "A1", "by": "2026-11-15", "who": "teacher"}, {"id": "A2", "by": "2026-11-16", "who": "family"}]

    def plan(at, **status):
        return {"version": 2, "at": at, "approved_at": at, "record_id": "01P", "actions": actions,
                "status": {k: {"status": v[0], "at": v[1], "by": "amina"} for k, v in status.items()}}

    def titles(c, p=P):
        return [d[2] for d in of(dl._plan_actions, c, p)]
    events = {"reopen": (reopened,)}
    marked = {"A1": ("done", "2026-11-10T06:00:00+00:00"), "A2": ("dropped", "2026-11-21T06:00:00+00:00")}
    both = ["plan action A1 (teacher)", "plan action A2 (family)"]
    assert titles(case(plan=plan(after, **marked), events=events)) == both
    assert titles(case(plan=plan(reopened, **marked), events=events)) == both  # written at the reopening: since it
    assert titles(case(plan=plan(after, **marked))) == []  # never reopened: every mark counts
    since = {"A1": ("done", "2026-11-22T06:30:00+00:00"), "A2": ("done", reopened)}  # marked again since the reopening
    assert titles(case(plan=plan(after, **since), events=events)) == []
    keeps = policy(plan_action={"due_after_reopening": True})  # the plan of before stays in force: its marks stand
    assert titles(case(plan=plan(before, **marked), events=events), keeps) == []
    assert plan_actions.marks_since(after, reopened) == reopened and plan_actions.marks_since(before, reopened) is None
    assert plan_actions.marks_since("2026-11-22T09:00:00+03:00", reopened) == reopened  # the same instant, in another zone
    assert plan_actions.marks_since("2026-11-22T08:59:59+03:00", reopened) is None
    assert plan_actions.marks_since(after, None) is None and plan_actions.marks_since(None, reopened) is None
    # reopened again later with no version since: the version's marks still count from the reopening before it
    again = "2026-12-01T06:00:00+00:00"
    assert plan_actions.marks_since(after, (again, reopened)) == reopened
    twice = {"reopen": (reopened, again)}
    assert titles(case(plan=plan(after, **marked), events=twice), keeps) == both  # marked before the first: not this plan's
    # the debrief of a conference's action reads the marks by the same rule
    from datetime import datetime as _dt
    in_force = plan(after, A1=("done", "2026-11-10T06:00:00+00:00"))
    in_force["known"] = {plan_actions.ACTION: {plan_actions.key("teacher"): "A1"}}
    done_before = plan_actions.conference_action(in_force, None, 1, 0, "teacher", keeps, _dt.fromisoformat(after), (reopened,))
    assert done_before["status"] != "done", done_before
    assert plan_actions.conference_action(in_force, None, 1, 0, "teacher", keeps, _dt.fromisoformat(after))["status"] == "done"

# --- after closure, the 18th birthday -------------------------------------------------------------

def test_post_closure_visit():
    closed = "2026-11-10T06:00:00+00:00"
    c = case(status="closed", events={"closed": (closed,)})
    assert of(dl._post_closure_visit, c) == [(
        "CP-0000-0000", "post-closure-visit", "post-closure visit", "2026-12-15T09:00:00+03:00", None, "amina",
        "post_closure_visit", "a visit within 5 weeks of closure, collecting the child's and family's feedback",
        "S-post-closure", "high", None, (), None)]
    assert of(dl._post_closure_visit, case(status="closed", events={"closed": (closed,), "followup.post_closure": (closed,)})) == []
    earlier = {"closed": (closed,), "followup.post_closure": ("2026-11-10T05:59:59+00:00",)}
    assert len(of(dl._post_closure_visit, case(status="closed", events=earlier))) == 1
    assert of(dl._post_closure_visit, case(events={"closed": (closed,)})) == []
    assert of(dl._post_closure_visit, case(status="closed")) == []


def test_transfer_ack__from_the_transfer_urgent_once_overdue_until_its_receipt_or_a_reopening():
    sent = {"record_id": "01T", "to": "recv", "at": "2026-11-10T06:00:00+00:00", "acked_at": None, "ack_record": None}
    c = case(status="transferred", stage="transferred", transfer_out=sent)
    why = ("the transfer of 2026-11-10 has no receipt from recv after 9 days: nothing says the child reached them. Follow it "
           "up with recv; when their receipt (cpcm receive ... --receipt) comes, record it: cpcm transfer-ack RECEIPT; if the "
           "case never reached them, reopen it here (cpcm reopen CP-0000-0000 --reason ...) and hand it over again")
    due = datetime(2026, 11, 19, 9, 0, tzinfo=EAT)
    expected = ("CP-0000-0000", "transfer-ack", "transfer receipt not acknowledged: follow up with recv", due.isoformat(), None,
                "amina", "transfer_ack", why, "S-transfer-ack", "high", None, (), None)
    assert of(dl._transfer_ack, c, now=due - timedelta(days=8)) == [expected]
    assert of(dl._transfer_ack, c, now=due) == [expected]  # at the limit: not yet overdue
    late = (expected[0], expected[1], dl.URGENT + expected[2], *expected[3:])
    assert of(dl._transfer_ack, c, now=due + timedelta(seconds=1)) == [late]
    assert of(dl._transfer_ack, c, now=due + timedelta(days=40)) == [late]
    # the receipt for this transfer ends it; so does the case's reopening (status open), or no transfer at all
    acked = case(status="transferred", stage="transferred", transfer_out=dict(sent, acked_at="2026-11-12T06:00:00+00:00"))
    assert of(dl._transfer_ack, acked, now=due + timedelta(days=1)) == []
    assert of(dl._transfer_ack, case(stage="reopened", transfer_out=sent), now=due + timedelta(days=1)) == []
    assert of(dl._transfer_ack, case(status="transferred", stage="transferred"), now=due + timedelta(days=1)) == []
    # on the case's list whatever the now: `deadlines` keeps it at the transferred stage, and `check` calls it overdue
    assert [d.code for d in dl.deadlines(c, P, due + timedelta(days=1))] == ["transfer-ack"]
    assert dl.is_urgent(dl.deadlines(c, P, due + timedelta(days=1))[0])
    assert not dl.is_urgent(dl.deadlines(c, P, due)[0])


def test_transfer_ack__the_urgent_mark_is_a_comparison_of_now_so_the_due_rows_keep_it():
    """The title turns URGENT at the limit through a comparison with `now` alone (intervals.run):
    the piece before ends at the limit, the one after begins there."""
    from cpcm.workflow import intervals

    sent = {"record_id": "01T", "to": "recv", "at": "2026-11-10T06:00:00+00:00", "acked_at": None, "ack_record": None}
    c = case(status="transferred", stage="transferred", transfer_out=sent)
    due = datetime(2026, 11, 19, 6, 0, tzinfo=timezone.utc)
    before = intervals.run(lambda now: dl._transfer_ack(c, P, now), (due - timedelta(days=2)).astimezone(EAT))
    after = intervals.run(lambda now: dl._transfer_ack(c, P, now), (due + timedelta(days=2)).astimezone(EAT))
    assert before is not None and after is not None
    assert before.hi == due + timedelta(microseconds=1) and after.lo == due + timedelta(microseconds=1)
    assert not dl.is_urgent(before.answer[0]) and dl.is_urgent(after.answer[0])


def test_turning_18__from_the_notice_until_a_continuation():
    c = case(child={"date_of_birth": "2009-02-20"})          # 18 on 2027-02-20; the notice (3 months counted forward: 89 days) opens 2026-11-23 00:00
    assert of(dl._turning_18, c) == [(
        "CP-0000-0000", "turning-18", "turns 18: propose closure (reached_18) or record why the case stays open",
        "2027-02-20T23:59:59+03:00", None, "amina", "turning_18", "the child turns 18 on 2027-02-20", "S-turning", "high",
        None, (), None)]
    opens = datetime(2026, 11, 23, 0, 0, tzinfo=EAT)
    assert len(of(dl._turning_18, c, now=opens)) == 1
    assert of(dl._turning_18, c, now=opens - timedelta(seconds=1)) == []
    assert of(dl._turning_18, case(child={"date_of_birth": "2009-02-21"}), now=opens) == []
    # a continuation from the notice on meets it; one before it does not
    assert of(dl._turning_18, case(child={"date_of_birth": "2009-02-20"}, events={"continuation": ("2026-11-22T21:00:00+00:00",)})) == []
    before = case(child={"date_of_birth": "2009-02-20"}, events={"continuation": ("2026-11-22T20:59:59+00:00",)})
    assert len(of(dl._turning_18, before)) == 1
    assert of(dl._turning_18, case(child={"date_of_birth": "2009-02-20"}, status="closed")) == []
    assert of(dl._turning_18, case()) == []


def test_turning_18__a_closure_from_the_notice_on_meets_it_a_request_alone_does_not():
    """IAG §1 and Step 6 [L939]: at 18 the case closes, or stays open with a justification. The closure
    approved (or made where none is needed: the fold's `closed`) from the notice on meets the clock, so a
    case reopened after it does not ask again; a request rejected or withdrawn does not (the stage answers
    a waiting one: test_closure_requested__... in test_due_stage.py)."""
    born = {"date_of_birth": "2009-02-20"}                   # the notice opens 2026-11-22T21:00:00+00:00
    reopened = case(child=born, stage="reopened", events={"closed": ("2026-11-22T21:00:00+00:00",),
                                                          "reopen": ("2026-11-23T05:00:00+00:00",)})
    assert of(dl._turning_18, reopened) == []
    closed_before = case(child=born, events={"closed": ("2026-11-22T20:59:59+00:00",), "reopen": ("2026-11-22T21:00:00+00:00",)})
    assert len(of(dl._turning_18, closed_before)) == 1
    for answer in ("rejection.closure", "withdrawal.closure"):
        asked = case(child=born, events={"closure": ("2026-11-22T21:00:00+00:00",), answer: ("2026-11-23T05:00:00+00:00",)})
        assert len(of(dl._turning_18, asked)) == 1


def test_turning_18__another_age_limit_and_a_leap_day():
    c = case(child={"date_of_birth": "2008-02-29"})
    assert [(d[2], d[3], d[7]) for d in of(dl._turning_18, c, policy(child_age_limit={"years": 19}), datetime(2026, 12, 1, tzinfo=EAT))] == [(
        "turns 19: propose closure (reached_18) or record why the case stays open", "2027-02-28T23:59:59+03:00",
        "the child turns 19 on 2027-02-28")]
    default = policy(child_age_limit=None)
    assert [d[3] for d in of(dl._turning_18, case(child={"date_of_birth": "2009-02-20"}), default)] == ["2027-02-20T23:59:59+03:00"]


# --- referrals --------------------------------------------------------------------------------------

def test_referrals__feedback_follow_up_and_outcome():
    refs = (
        {"ref": "R1", "service": "health", "status": "sent", "at": "2026-11-20T06:00:00+00:00"},
        {"ref": "R2", "service": "legal", "status": "declined", "at": "2026-11-01T06:00:00+00:00",
         "status_at": "2026-11-18T06:00:00+00:00"},
        {"ref": "R3", "service": "school", "status": "accepted", "at": "2026-11-01T06:00:00+00:00", "start": "2026-11-10",
         "expected_duration": "2w"},
        {"ref": "R4", "service": "food", "status": "accepted", "at": "2026-11-01T06:00:00+00:00", "start": "2026-11-10"},
        {"ref": "R5", "service": "shelter", "status": "accepted", "at": "2026-11-01T06:00:00+00:00",
         "start": "2026-11-10T05:00:00+00:00", "expected_duration": "bad"},
        {"ref": "R6", "service": "x", "status": "delivered", "at": "2026-11-01T06:00:00+00:00"},
        {"ref": "R7", "service": "y", "status": "not_delivered", "at": "2026-11-01T06:00:00+00:00",
         "status_at": "2026-11-19T06:00:00+00:00"},
    )
    assert of(dl._referrals, case(referrals=refs)) == [
        ("CP-0000-0000", "referral-feedback", "feedback on referral R1 (health)", "2026-12-04T09:00:00+03:00", None, "amina",
         "referral_feedback", "the provider's feedback is expected within 2 weeks of the referral; follow it up (the "
         "caseworker stays responsible)", "S-feedback", "high", None, (), None),
        ("CP-0000-0000", "referral-follow-up", "referral R2 (legal) was declined: find another way", "2026-11-18T09:00:00+03:00",
         None, "amina", "referral_feedback",
         "a declined or undelivered referral needs another service or a new plan; close it with the reason", "S-feedback",
         "high", None, (), None),
        ("CP-0000-0000", "referral-outcome", "outcome of referral R3 (school)", "2026-11-24T23:59:59+03:00", None, "amina",
         "referral_checks", "the service's expected end: record whether it was delivered (tracked to an outcome)", "S-checks",
         "high", None, (), None),
        ("CP-0000-0000", "referral-follow-up", "referral R7 (y) was not delivered: find another way",
         "2026-11-19T09:00:00+03:00", None, "amina", "referral_feedback",
         "a declined or undelivered referral needs another service or a new plan; close it with the reason", "S-feedback",
         "high", None, (), None),
    ]
    assert of(dl._referrals, case(status="closed", referrals=refs)) == []


def test_referrals__an_outcome_from_a_start_with_a_time():
    ref = {"ref": "R3", "service": "school", "status": "accepted", "at": "2026-11-01T06:00:00+00:00",
           "start": "2026-11-10T05:00:00+00:00", "expected_duration": "2w"}
    assert [d[3] for d in of(dl._referrals, case(referrals=(ref,)))] == ["2026-11-24T08:00:00+03:00"]
    no_start = dict(ref, start=None)
    assert of(dl._referrals, case(referrals=(no_start,))) == []


# --- urgent items -----------------------------------------------------------------------------------

INC = "2026-11-22T06:00:00+00:00"


def test_urgent__risk_increased_until_re_rated():
    c = case(events={"risk_increased": (INC,)})
    assert of(dl._urgent, c) == [(
        "CP-0000-0000", "risk-increased", "URGENT: the risk has increased: re-rate it and act", "2026-11-22T09:00:00+03:00", None,
        "amina", "risk_response", "a follow-up found the risk increased; re-rate it (cpcm assess) and respond", "S-risk", "high",
        None, (), None)]
    # a re-rating in the follow-up that found the increase does not clear it (the fold leaves the increase
    # unanswered: fold.RISK_UNANSWERED); a later one does
    assert len(of(dl._urgent, case(events={"risk_increased": (INC,), "risk_checked": (INC,), "risk_unanswered": (INC,)}))) == 1
    assert of(dl._urgent, case(events={"risk_increased": (INC,), "risk_checked": ("2026-11-22T06:00:01+00:00",)})) == []
    assert len(of(dl._urgent, case(events={"risk_increased": (INC,), "risk_checked": ("2026-11-22T05:59:59+00:00",)}))) == 1
    assert of(dl._urgent, case(status="closed", events={"risk_increased": (INC,)})) == []  # found before the closure
    closed = "2026-11-21T06:00:00+00:00"  # found by a post-closure visit: reopening is due at once
    after = of(dl._urgent, case(status="closed", events={"closed": (closed,), "risk_increased": (INC,)}))
    assert [d[1:4] for d in after] == [
        ("risk-increased", "URGENT: the risk has increased since closure: reopen the case", "2026-11-22T09:00:00+03:00")]
    assert after[0][7].startswith("a follow-up dated after the closure")  # a call, or written apart: not only a visit
    assert of(dl._urgent, case(status="closed", events={"closed": (INC,), "risk_increased": (closed,)})) == []
    assert of(dl._urgent, case(status="transferred", events={"closed": (closed,), "risk_increased": (INC,)})) == []
    assert of(dl._urgent, case()) == []


def test_clocks__a_clock_due_at_once_is_said_so_in_the_docs_table_not_by_the_values_of_its_rule():
    """The risk-increased item is due at the follow-up's own time (above), whatever `risk_response`
    says: the clocks table of docs/workflow.md says "at once", not the rule's response times."""
    from docs.tools.clocks import table
    from cpcm.workflow.clocks import CLOCKS

    at_once = {clock.code for clock in CLOCKS if clock.at_once}
    assert at_once == {"risk-increased"}
    for level in ("immediate", "high", "medium", "low"):  # whatever the case's risk level
        assert [d[3] for d in of(dl._urgent, case(risk=level, events={"risk_increased": (INC,)}))] == ["2026-11-22T09:00:00+03:00"]
    row = next(line for line in table().splitlines() if "(`risk-increased`)" in line)
    assert "due **at once**" in row and "72 hours" not in row, row


def test_urgent__a_concern_until_a_later_follow_up():
    c = case(events={"concern": (INC,)})
    assert of(dl._urgent, c) == [(
        "CP-0000-0000", "concern", "a concern reported at a follow-up: look into it", "2026-11-26T09:00:00+03:00", None, "amina",
        "volunteer_concern", "follow up a reported concern within 4 days", "S-concern", "high", None, (), None)]
    # the follow-up that reported it (same time) does not meet it; a later one does
    assert len(of(dl._urgent, case(events={"concern": (INC,), "followup": (INC,)}))) == 1
    assert of(dl._urgent, case(events={"concern": (INC,), "followup": ("2026-11-22T06:00:01+00:00",)})) == []
    assert len(of(dl._urgent, case(events={"concern": (INC,), "followup": ("2026-11-21T06:00:00+00:00",)}))) == 1


STOP_WHY = ("the readiness record (Form 7A) gave an answer the form marks as a stop (the child not free of violence: start "
            "the child-protection reporting protocol; not travelling safely to school: the case cannot be closed); record "
            "what was done: cpcm followup --purpose crisis")


def test_urgent__a_readiness_stop_answer():
    c = case(events={"readiness_stop": (INC,)})
    assert of(dl._urgent, c) == [(
        "CP-0000-0000", "readiness-stop", "URGENT: a readiness stop answer: act on it now", "2026-11-22T15:00:00+03:00", None,
        "amina", "readiness_stop", STOP_WHY, "S-stop", "high", None, (), None)]
    assert of(dl._urgent, case(events={"readiness_stop": (INC,), "crisis_response": (INC,)})) == []
    assert of(dl._urgent, case(events={"readiness_stop": (INC,), "readiness_clear": ("2026-11-23T06:00:00+00:00",)})) == []
    assert len(of(dl._urgent, case(events={"readiness_stop": (INC,), "crisis_response": ("2026-11-22T05:00:00+00:00",)}))) == 1
    # a policy without the rule: the same day
    without = of(dl._urgent, c, policy(readiness_stop=None))
    assert [(d[3], d[8]) for d in without] == [("2026-11-23T00:00:00+03:00", "")]


def test_urgent__all_three_in_order():
    c = case(events={"risk_increased": (INC,), "concern": (INC,), "readiness_stop": (INC,)})
    assert [d[1] for d in of(dl._urgent, c)] == ["risk-increased", "concern", "readiness-stop"]


# --- placements ----------------------------------------------------------------------------------------

PLACEMENT_RULES = dict(
    placement={"family": ["family"], "family_based": ["foster_care"], "residential": ["institutional_care"]},
    reintegration_steps={"limit": "1mo", "source": "S-steps"},
    placement_monitoring={"first": "1mo", "first_period": "3mo", "then": "3mo", "period": "1y", "source": "S-monitoring"},
    court_order={"target": "1mo", "source": "S-court"},
)


def test_placements__the_next_step_of_reintegration_in_residential_care():
    p = policy(**PLACEMENT_RULES)
    admitted = {"record_id": "01A", "at": "2026-11-01T06:00:00+00:00", "setting": "residential", "care_type": "institutional_care"}
    c = case(placements=(admitted,))
    assert of(dl._placements, c, p) == [(
        "CP-0000-0000", "reintegration-step", "reintegration: family tracing", "2026-12-01T09:00:00+03:00", None, "amina",
        "reintegration_steps", "the child is in residential care: the next step of reintegration within 1 month of the last "
        "(cpcm tracing CP-0000-0000)", "S-steps", "high", None, (), None)]


def test_placements__a_monitoring_visit_after_reunification():
    p = policy(**PLACEMENT_RULES)
    c = case(events={"reunification": ("2026-11-01T06:00:00+00:00",)})
    assert of(dl._placements, c, p) == [(
        "CP-0000-0000", "monitoring-visit", "monitoring visit 1 after reunification", "2026-12-01T09:00:00+03:00", None, "amina",
        "placement_monitoring", "a home visit every 1 month after the placement of 2026-11-01 (cpcm followup CP-0000-0000 "
        "--method home_visit --purpose monitoring)", "S-monitoring", "high", None, (), None)]


def test_placements__a_monitoring_visit_names_the_day_of_the_placement_in_the_zone_of_now():
    p = policy(**PLACEMENT_RULES)
    c = case(events={"reunification": ("2026-10-31T22:30:00+00:00",)})  # 01:30 on 1 November in Nairobi
    (visit,) = of(dl._placements, c, p)
    assert visit[3] == "2026-12-01T01:30:00+03:00" and "after the placement of 2026-11-01 " in visit[7]


def test_placements__a_court_order_expiry():
    p = policy(**PLACEMENT_RULES)
    placed = {"record_id": "01A", "at": "2026-11-01T06:00:00+00:00", "setting": "family_based", "care_type": "foster_care",
              "court_order": {"expires": "2027-03-31"}}
    assert of(dl._placements, case(placements=(placed,)), p) == [(
        "CP-0000-0000", "court-order", "court order expires: renew it or end the placement", "2027-03-31T23:59:59+03:00",
        "2027-02-28T23:59:59+03:00", "amina", "court_order",
        "the court order behind the current placement lapses on this day; record the renewed order (cpcm placement "
        "CP-0000-0000 ... --court-order-expires DATE) or the new placement", "S-court", "high", None, (), None)]
    assert of(dl._placements, case(), p) == []


# --- the whole list, the window, the order and who acts ---------------------------------------------

def test_deadlines__every_rule_in_the_order_of_the_table():
    c = case(stage="closure_requested", plan={"version": 3, "at": REQ, "by": "amina"},
             closure={"at": REQ, "by": "baraka", "reason": "goals_met", "decided_at": None},
             child={"date_of_birth": "2009-02-20"},
             events={"assessment.initial": ("2026-11-21T06:00:00+00:00",), "risk_increased": (INC,)},
             referrals=({"ref": "R1", "service": "health", "status": "sent", "at": "2026-11-20T06:00:00+00:00"},))
    # while the closure is requested, what the stage refuses (the comprehensive assessment) and what the request
    # answers (turning 18) are not listed (dl.at_stage)
    assert [d.code for d in dl.deadlines(c, P, NOW)] == [
        "risk-response", "closure-approval", "referral-feedback", "risk-increased"]
    # the plan version waits for its decision where the stage lets it be decided (not while the closure is requested)
    assert [d.code for d in dl.deadlines(replace(c, stage="implementation", closure=None), P, NOW)] == [
        "risk-response", "comprehensive-assessment", "plan-approval", "referral-feedback", "risk-increased", "turning-18"]
    assert dl.deadlines(case(status="closed", registered_at=None), P, NOW) == []


def test_soon_window():
    assert dl.soon_window(P, NOW) == timedelta(days=2)
    assert dl.soon_window(policy(due_soon={"within": "1mo"}), datetime(2026, 2, 1, tzinfo=EAT)) == timedelta(days=28)


def test_urgency__urgent_then_state_then_due_then_risk_then_case():
    due = NOW + timedelta(days=5)
    a = item(due, risk="low")
    assert dl.urgency(a, NOW, SOON) == (True, 3, due, 3, "CP-0000-0000")
    assert dl.urgency(item(NOW - timedelta(hours=1), risk="immediate"), NOW, SOON) == (True, 0, NOW - timedelta(hours=1), 0,
                                                                                      "CP-0000-0000")
    assert dl.urgency(item(due, risk=None), NOW, SOON)[3] == 4
    assert dl.urgency(item(due, code="readiness-stop", title=dl.titled("readiness-stop", "t"), risk="low"), NOW, SOON) \
        == (False, 3, due, 3, "CP-0000-0000")
    # a risk response is urgent where the policy wants it the same day (its title says so), not otherwise
    same_day = item(due, code="risk-response", title=dl.titled("risk-response", "respond to immediate risk", True))
    assert same_day.title == "URGENT: respond to immediate risk" and dl.urgency(same_day, NOW, SOON)[0] is False
    assert dl.titled("risk-response", "respond to high risk") == "respond to high risk"


def test_for_worker__the_case_worker_or_an_approver_not_barred():
    own = item(NOW, owner="amina")
    assert dl.for_worker(own, "amina", False) is True
    assert dl.for_worker(own, "baraka", True) is False
    approval = item(NOW, owner="supervisors", barred=("amina",))
    assert dl.for_worker(approval, "baraka", True) is True
    assert dl.for_worker(approval, "baraka", False) is False
    assert dl.for_worker(approval, "amina", True) is False
    assert dl.for_worker(approval, "supervisors", False) is False


def test_turning_18__the_notice_is_compared_in_utc_whatever_the_machines_zone(monkeypatch):
    import time as clock
    before = case(child={"date_of_birth": "2009-02-20"}, events={"continuation": ("2026-11-22T20:59:59+00:00",)})
    monkeypatch.setenv("TZ", "EST5")   # a machine west of UTC: its local time text sorts before UTC's
    clock.tzset()
    try:
        assert len(of(dl._turning_18, before)) == 1
    finally:
        monkeypatch.undo()
        clock.tzset()


def test_review__none_from_a_plan_or_a_review_before_a_reopening_until_a_plan_comes_into_force_since():
    """The plan in force before the reopening starts no review clock after it, nor does a review
    of that episode, whether or not the policy keeps the old plan's actions due; a plan approved
    since the reopening does, from its approval."""
    events = {"review": ("2026-10-01T06:00:00+00:00",), "reopen": ("2026-10-15T06:00:00+00:00",)}
    waiting = {"version": 3, "at": "2026-10-20T06:00:00+00:00", "previous": IN_FORCE}
    for p in (P, policy(plan_action={"due_after_reopening": True})):
        assert of(dl._review, case(registered_at=OLD, stage="planned", plan=IN_FORCE, events=events), p) == []
        assert of(dl._review, case(registered_at=OLD, stage="planned", plan=waiting, events=events), p) == []
    approved = dict(waiting, approved_at="2026-10-21T06:00:00+00:00")
    c = case(registered_at=OLD, stage="planned", plan=approved, events=events)
    assert [d[3] for d in of(dl._review, c)] == ["2027-01-21T09:00:00+03:00"]


def test_review__a_set_date_given_with_a_time_is_due_at_the_end_of_that_day():
    c = case(registered_at=OLD, stage="planned", plan=IN_FORCE, events={"review": ("2026-10-01T06:00:00+00:00",)},
             next_review="2026-11-15T06:00:00+00:00")
    assert [d[3] for d in of(dl._review, c)] == ["2026-11-15T23:59:59+03:00"]
