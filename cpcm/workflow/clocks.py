"""The clocks: one table of every time limit the policy sets on a case, read by `deadlines`
(what is due now, `cpcm due` and `cpcm check`), the timeliness report (was it met) and the
caseload report (what is overdue, what waits for a supervisor). Pure data.

Each clock has a code (its name in `cpcm due` and in the rule codes of `cpcm check`), the
events that start it and those that meet it (the fold's event names, `case.events`; for a
referral, the referral's statuses), the policy rule that gives its numbers and the rule it
applies, and its owner: the case's worker, or any supervisor or manager for an approval. The
timeliness report measures the clocks marked `measured`.
"""
from __future__ import annotations

from dataclasses import dataclass

from cpcm.domain.policy import Policy
from cpcm.workflow import approvals
from cpcm.workflow.followups import PLANNED
from cpcm.workflow.placements import HOME_OVERRIDDEN
from cpcm.workflow.referrals import NEEDS_WORKER, STATUSES, WAITING

WORKER = "worker"          # the case's worker owns the item
SUPERVISORS = "supervisors"  # any supervisor or manager may act on it (an approval)
MANAGERS = "managers"  # any manager may act on it, and only a manager (a closed case's retention: workflow/retention.py)

# Not an event of the fold: the plan coming into force, which is its approval where the policy
# needs one (plan_approval.required) and its writing where not. `events()` resolves it.
PLAN_IN_FORCE = "plan.in_force"
# What counts as responding to a case's risk level after the initial assessment.
RESPONSES = ("response", "followup", "referral", "plan", "placement", "assessment.comprehensive", "assessment.best_interests")
# Not a command: an initial assessment that found an interim plan needed (`interim_plan_needed: yes`, IAG §3 Step 2
# [L825]), the latest of the case in the records' order (fold: a later initial assessment that says no takes it away).
INTERIM_PLAN_NEEDED = "interim_plan_needed"
# Not a command: when a case conference that discussed the case met (its close wrote the `conference` record in the
# case later): a readiness comment made after the meeting answers it (deadlines._conference_readiness).
CONFERENCE_MET = "conference.met"
# Not a command: what a case review decided besides going on with the plan (its `outcome`: replan, reassess or
# close), the fold's `review.OUTCOME` event at the review's time (deadlines._review_decision)
REVIEW_DECIDED = {outcome: f"review.{outcome}" for outcome in ("replan", "reassess", "close")}
# A provider's answer to a referral: any status after those that still wait for it.
ANSWERED = tuple(s for s in STATUSES if s not in WAITING)


@dataclass(frozen=True)
class Clock:
    code: str                 # 'initial-assessment'
    name: str                 # 'initial_assessment': its name in the timeliness report
    title: str                # in the reports' tables
    starts: tuple[str, ...]   # events that start it
    starts_text: str
    done: tuple[str, ...]     # events that meet it (referral clocks: the referral's statuses)
    done_text: str
    rule: str                 # the rule it applies (named in `cpcm due` and `cpcm check`)
    limit: str                # the rule whose numbers give the time
    owner: str = WORKER
    measured: bool = False    # counted by the timeliness report
    subject: str | None = None  # for an approval: plan, closure or transfer
    per_referral: bool = False
    also: tuple[str, ...] = ()  # other rules whose values move its due time (for the docs' clocks table)
    at_once: bool = False     # due when it starts, whatever the policy's values (an urgent item: deadlines._urgent)
    on_start: bool = False    # due when it starts too, but not urgent (a declined referral: find another way now)
    # the commands (the stage table's, transitions.TABLE) its item asks for, any one of which does it: the item is
    # listed only at a stage that allows one of them (deadlines.at_stage; an item that asks otherwise says so: Deadline.asks)
    asks: tuple[str, ...] = ()


def _approval(subject: str, starts: str, started_by: str) -> Clock:
    return Clock(approvals.item_code(subject), f"{subject}_approval", f"{subject.replace('_', '-').capitalize()} approval",
                 (starts,), started_by,
                 (f"approval.{subject}", f"rejection.{subject}"), "a supervisor's or manager's approval or rejection",
                 approvals.rule_of(subject), "approval_response", SUPERVISORS, subject=subject,
                 asks=(f"approval.{subject}", f"rejection.{subject}"))


# In the order of the case-management steps (the caseload report shows them so).
CLOCKS: tuple[Clock, ...] = (
    Clock("risk-increased", "risk_increased", "Risk increased", ("risk_increased",), "a follow-up that found the risk increased",
          ("risk_checked",), "the risk re-rated (a follow-up with a risk level, or an assessment)", "risk_response", "risk_response",
          asks=("followup", "assessment.initial", "assessment.comprehensive", "assessment.best_interests"), at_once=True),
    Clock("concern", "concern", "Concern reported at a follow-up", ("concern",), "a follow-up that reported a concern",
          ("followup",), "a later follow-up", "volunteer_concern", "volunteer_concern", asks=("followup",)),
    Clock("readiness-stop", "readiness_stop", "Readiness stop answer", ("readiness_stop",),
          "a readiness record (Form 7A) with an answer the form marks as a stop", ("crisis_response", "readiness_clear"),
          "a crisis follow-up (followup --purpose crisis), or a later readiness record without a stop answer", "readiness_stop",
          "readiness_stop", asks=("followup", "readiness")),
    Clock("initial-assessment", "initial_assessment", "Initial assessment", ("registration", "reopen"),
          "registration or reopening", ("assessment.initial", "assessment.comprehensive"),
          "an initial (or comprehensive) assessment", "initial_assessment", "initial_assessment", measured=True,
          also=("risk_response",),  # the same day at a risk answered the same day (deadlines.initial_assessment_due)
          asks=("assessment.initial", "assessment.comprehensive")),
    Clock("risk-response", "risk_response", "Response to the risk level", ("assessment.initial",), "the initial assessment",
          RESPONSES, "a follow-up, referral, plan, placement, protection action or further assessment", "risk_response",
          "risk_response", measured=True,
          asks=("followup", "referral", "plan", "placement", "assessment.comprehensive", "assessment.best_interests")),
    # IAG §3 Step 2 [L825]: an initial assessment that finds an unmet basic need or the child unsafe starts immediate
    # services as an interim plan while the comprehensive assessment is completed (deadlines._interim_plan: a plan written
    # after it meets it, unless its author withdrew it; a rejected one is the case-plan item's, "write a new plan version")
    Clock("interim-plan", "interim_plan", "Interim plan recorded", (INTERIM_PLAN_NEEDED,),
          "the initial assessment that found an interim plan needed (the latest of the cycle)", ("plan",),
          "a plan written after it, interim or not (not one its author withdrew)", "interim_plan", "interim_plan",
          asks=("plan",)),
    Clock("comprehensive-assessment", "comprehensive_assessment", "Comprehensive assessment", ("registration", "reopen"),
          "registration or reopening", ("assessment.comprehensive",), "a comprehensive assessment", "comprehensive_assessment",
          "comprehensive_assessment", measured=True, asks=("assessment.comprehensive",)),
    Clock("case-plan", "case_plan", "Case plan in force", ("assessment.comprehensive",), "the comprehensive assessment",
          (PLAN_IN_FORCE,), "a plan written after it coming into force (approved, where the policy needs it)", "case_plan",
          "case_plan", measured=True, also=("plan_approval",), asks=("plan",)),
    # a plan version rejected while an earlier one stays in force (a revision turned down: deadlines._plan_revision; one
    # rejected with none in force is the case-plan item's). What the supervisor asked for reaches the worker's list; a
    # version written after it, or a case review after it (where the version in force is kept), meets it
    Clock("plan-revision", "plan_revision", "Next plan version after a rejected revision", ("rejection.plan",),
          "a supervisor's rejection of a plan version while an earlier one stays in force", ("plan", "review"),
          "a plan version written after it (its approval is then the supervisors' item), or a case review recorded after it "
          "(the version in force kept)", "plan_revision", "plan_revision", asks=("plan",)),
    Clock("review", "review", "Case review", (PLAN_IN_FORCE, "review"), "the plan in force or the last review", ("review",),
          "the next review", "review", "review", measured=True, also=("review_after_reunification", "plan_approval"),
          asks=("review",)),
    # IAG §3 Step 5 [L921], ESARO S5: a review checks whether the plan is still right and decides what to adjust; one
    # that decided to replan, reassess or close puts that step on the case worker's list (deadlines._review_decision),
    # until the step is recorded after it, or a later review decides again
    Clock("review-decision", "review_decision", "Step a case review decided", tuple(REVIEW_DECIDED.values()),
          "a case review that decided to replan, reassess or close (its outcome; the latest review of the cycle)",
          ("plan", "assessment.comprehensive", "closure", "closure.immediate", "review"),
          "the step it decided, recorded after it: a plan version (replan; not one its author withdrew), a comprehensive "
          "assessment (reassess) or a closure request (close); or a later review, which decides again",
          "review_decision", "review_decision", asks=("plan", "assessment.comprehensive", "closure", "closure.immediate")),
    Clock("plan-action", "plan_action", "Plan action", (PLAN_IN_FORCE,),
          "the plan in force (after a reopening, one in force since it): each action with a date is due at the end of that day (by)",
          ("plan_action_done",), "the action marked done or dropped (followup or review --done A3, or a review's progress); while a "
          "referral carrying it out (refer --action A3) is open, not listed", "plan_action", "plan_action", asks=("followup", "review")),
    # IAG Step 5 [L919]: how often to follow a case up depends on the child's needs; the worker plans it at a follow-up
    # (a date, or how often: workflow/followups.py), and the next follow-up meets it and plans the one after
    Clock("next-followup", "next_followup", "Next follow-up planned", (PLANNED,),
          "a follow-up that planned the next one (--next-followup DATE, or --every DURATION kept until changed)",
          ("followup",), "a later follow-up (it plans the one after, while a frequency is in force)", "followup_schedule",
          "followup_schedule", asks=("followup",)),
    Clock("referral-feedback", "referral_feedback", "Provider's feedback on a referral", ("sent",), "the referral", ANSWERED,
          "the provider's answer (accepted, declined or closed)", "referral_feedback", "referral_feedback", measured=True,
          per_referral=True, asks=("referral_update",)),
    Clock("referral-follow-up", "referral_follow_up", "A declined or undelivered referral", NEEDS_WORKER,
          "the provider declined the referral or did not deliver the service", ("closed",),
          "the referral closed with the reason (another service or a new plan)", "referral_feedback", "referral_feedback",
          per_referral=True, asks=("referral_update", "referral"), on_start=True),
    Clock("referral-outcome", "referral_outcome", "Outcome of a referral", ("accepted",),
          "the service's start, with its expected duration", ("delivered", "not_delivered", "closed"),
          "the outcome recorded", "referral_checks", "referral_checks", per_referral=True, asks=("referral_update",)),
    # Kenya SOP §4 step 7: after a conference that discussed the case, the child's readiness for reintegration commented on
    Clock("conference-readiness", "conference_readiness", "Readiness comment after a case conference", ("conference",),
          "the close of a case conference that discussed the case (a child apart from their family: placement.at_home)",
          ("readiness", "readiness_commented"),
          "a readiness record (occasion case_conference, its notes the comment, alone or with benchmarks), or a comprehensive "
          "assessment with its readiness comment, after it",
          "conference_readiness", "conference_readiness", asks=("readiness", "assessment.comprehensive")),
    Clock("reintegration-step", "reintegration_step", "Next step of reintegration",
          ("placement", "tracing", "family_assessment", "assessment.best_interests", "preparation"),
          "admission to residential care (cpcm placement), then each step of reintegration",
          ("tracing", "family_assessment", "assessment.best_interests", "preparation", "reunification"),
          "the next step: tracing, family assessment, best interests, preparation, the placement out of residential care",
          "reintegration_steps", "reintegration_steps",
          asks=("tracing", "family_assessment", "assessment.best_interests", "preparation", "placement")),
    Clock("monitoring-visit", "monitoring_visit", "Monitoring visit after reunification", ("reunification", "home_visit"),
          "a reunification (cpcm placement: a return to the family, or a family- or community-based placement out of "
          "residential care), then each home visit but a crisis visit",
          ("home_visit",), "a home visit (followup --method home_visit), not one for a crisis (placement_monitoring.not_counted)",
          "placement_monitoring", "placement_monitoring", asks=("followup",)),
    # ESARO Principle 2: a placement a supervisor made without a best-interests record (its override's reason) still
    # owes one, made at or after it (placements.best_interests_owed; only for the placement in force), and so does a
    # plan for reunification_done a supervisor wrote without one since it began (the child's return home)
    Clock("placement-best-interests", "placement_best_interests", "Best-interests record after a placement without one",
          ("placement", HOME_OVERRIDDEN),
          "a placement, or a plan for reunification_done (the child's return home), a supervisor made without a "
          "best-interests record (its reason recorded)",
          ("assessment.best_interests",), "a best-interests assessment made at or after the placement",
          "placement_best_interests", "placement_best_interests", asks=("assessment.best_interests",)),
    Clock("court-order", "court_order", "Court order expiry", ("placement",), "a placement under a court order with an expiry date",
          ("placement",), "the placement recorded again with the renewed order, or a move to another placement",
          "court_order", "court_order", asks=("placement",)),
    Clock("post-closure-visit", "post_closure_visit", "Post-closure visit", ("closed",), "the approved closure",
          ("followup.post_closure",), "a post-closure follow-up", "post_closure_visit", "post_closure_visit", measured=True,
          asks=("followup.post_closure",)),
    # IAG §1 and Step 6 [L939]: at 18 the case closes, or stays open with a recorded justification. A closure
    # request answers the item while it waits (deadlines.at_stage, _ANSWERED_BY_STAGE: it comes back if the
    # request is rejected or withdrawn); the closure, once approved (or made where no approval is needed), meets it
    # for good, a reopening after it included.
    Clock("turning-18", "turning_18", "Turning 18", (), "the notice before the child's 18th birthday", ("continuation", "closed"),
          "closure proposed (not listed while it waits; met once approved, not if rejected or withdrawn), "
          "or a recorded justification to continue", "turning_18", "turning_18", also=("child_age_limit",),
          asks=("closure", "continuation")),
    _approval("plan", "plan", "a plan version"),
    _approval("closure", "closure", "a closure request"),
    _approval("transfer", "transfer_request", "a transfer request"),
    # IAG §5.10 [L696-699]: the chain of supervision for reporting. A caseworker's decision not to report waits for a
    # supervisor's or manager's decision (workflow/mandatory_report.py); a decision on the case is owed within the policy's
    # time of a registration (or reopening) with a concern the agency makes reportable, or of the update that added the
    # concern, until one is recorded
    _approval("mandatory_report", "mandatory_report", "a caseworker's decision not to report"),
    Clock("mandatory-report", "mandatory_report", "Mandatory-reporting decision",
          ("registration", "update", "reopen", "rejection.mandatory_report"),
          "registration or reopening with a concern the policy makes reportable (mandatory_report.concerns), an update "
          "that adds one, the agency's listing of a concern the case recorded before (cpcm policy set), or a supervisor's "
          "rejection of a decision not to report", ("mandatory_report",),
          "a mandatory-reporting decision, reported or not (cpcm mandatory-report)", "mandatory_report", "mandatory_report",
          asks=("mandatory_report",)),
    Clock("approved-transfer", "approved_transfer", "Approved transfer carried out", ("approval.transfer",),
          "the supervisor's or manager's approval of a transfer request", ("transfer", "withdrawal.transfer"),
          "the bundle written (cpcm transfer), or the request taken back (cpcm transfer --withdraw)", "transfer_approval",
          "approval_response", asks=("transfer", "withdrawal.transfer")),
    # the receiving agency's receipt for the transfer (deadlines._transfer_ack: the receipt for that very transfer, read
    # from the case's `transfer_out`; a receipt for an earlier one does not meet it), or the case reopened here
    Clock("transfer-ack", "transfer_ack", "Transfer receipt recorded", ("transfer",), "the transfer (the bundle written)",
          ("transfer_ack", "reopen"), "the receiving agency's receipt recorded (cpcm transfer-ack), or the case reopened here",
          "transfer_ack", "transfer_ack", asks=("transfer_ack", "reopen")),
)
BY_CODE: dict[str, Clock] = {c.code: c for c in CLOCKS}
MEASURED: tuple[Clock, ...] = tuple(c for c in CLOCKS if c.measured)
WORKER_CODES: tuple[str, ...] = tuple(c.code for c in CLOCKS if c.owner == WORKER)
APPROVALS: tuple[Clock, ...] = tuple(c for c in CLOCKS if c.owner == SUPERVISORS)


def events(names: tuple[str, ...], policy: Policy) -> tuple[str, ...]:
    """The fold's event names for a clock's `starts` or `done`: PLAN_IN_FORCE becomes the plan's
    approval, or its writing where the policy needs no approval."""
    out: list[str] = []
    for name in names:
        if name == PLAN_IN_FORCE:
            out.append("approval.plan" if approvals.required(policy, "plan") else "plan")
        else:
            out.append(name)
    return tuple(out)


def done_events(code: str, policy: Policy) -> tuple[str, ...]:
    return events(BY_CODE[code].done, policy)


def start_events(code: str, policy: Policy) -> tuple[str, ...]:
    return events(BY_CODE[code].starts, policy)
