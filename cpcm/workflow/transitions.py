"""The stages of a case and the one table of what may happen at each (used by every command).

The process is a cycle (IAG Figure 1): a review can send the case back to reassessment or
replanning; a closed case can be reopened and returns to assessment.

A *command* is what a record does: its kind, or kind.type for kinds with variants
(``assessment.initial``, ``approval.plan``).
"""
from __future__ import annotations

from datetime import date, datetime

from cpcm.domain.policy import Policy
from cpcm.errors import Refused
from cpcm.workflow.age import of_age

STAGES = (
    "registered", "initial_assessment", "comprehensive_assessment", "planned", "implementation",
    "closure_requested", "closed", "transferred", "reopened",
)
STATUS = {"closed": "closed", "transferred": "transferred"}  # every other stage is open
# a table entry's target for a request taken back: the stage the case had when the request was
# made (`next_stage`'s `before`; the fold keeps it)
RETURN = "(the stage before the request)"

# commands allowed at any open stage, leaving the stage as it is
_ANYTIME_OPEN = ("assignment", "cover", "keyworker", "consent", "consent_override", "note", "continuation", "transfer_request", "approval.transfer",
                 "rejection.transfer", "withdrawal.transfer",
                 # a mandatory-reporting decision and a supervisor's decision of one not to report (IAG §5.10)
                 "mandatory_report", "approval.mandatory_report", "rejection.mandatory_report")
_ACTIVE = ("registered", "initial_assessment", "comprehensive_assessment", "planned", "implementation", "reopened")

TABLE: dict[tuple[str | None, str], str] = {(None, "registration"): "registered"}


def _allow(stages, command, to=None):
    for stage in stages:
        TABLE[(stage, command)] = to or stage


for _stage in _ACTIVE + ("closure_requested",):
    for _command in _ANYTIME_OPEN:
        _allow([_stage], _command)
# assessing
_allow(["registered", "initial_assessment", "reopened"], "assessment.initial", "initial_assessment")
_allow(["registered", "initial_assessment", "reopened", "comprehensive_assessment", "planned", "implementation"],
       "assessment.comprehensive", "comprehensive_assessment")
# a best-interests assessment (the decision before a placement into care, out of it or between placements: ESARO
# Principle 2, service/placements.py) at any open stage, a closure requested included, where the placements and the
# other steps of reintegration are allowed too (below): it leaves the stage as it is
_allow(_ACTIVE + ("closure_requested",), "assessment.best_interests")
# planning: an interim plan before the comprehensive assessment keeps the stage
_allow(["registered", "initial_assessment", "reopened"], "plan")
_allow(["comprehensive_assessment", "planned", "implementation"], "plan", "planned")
_allow(["registered", "initial_assessment", "reopened", "comprehensive_assessment", "planned", "implementation"], "approval.plan")
_allow(["registered", "initial_assessment", "reopened", "comprehensive_assessment", "planned", "implementation"], "rejection.plan")
# the author withdraws a plan version still waiting for a decision (the version before stays in force)
_allow(["registered", "initial_assessment", "reopened", "comprehensive_assessment", "planned", "implementation"], "withdrawal")
# implementing: services, referrals, follow-ups, reviews
for _command in ("referral", "referral_update", "followup"):
    _allow(["registered", "initial_assessment", "reopened", "comprehensive_assessment", "implementation"], _command)
    _allow(["planned"], _command, "implementation")
_allow(["planned", "implementation"], "review", "implementation")
# reintegration readiness (Form 7A): recorded at a review or a follow-up, wherever either may be,
# and it leaves the stage as it is (it is not a reassessment: no clock restarts)
_allow(_ACTIVE + ("closure_requested",), "readiness")
# household graduation (the CPARA, `cpcm readiness --form cpara`): the same, and no reintegration
# readiness record (it counts for no closure rule, clears no readiness stop)
_allow(_ACTIVE + ("closure_requested",), "graduation")
# the Child Status Index (`cpcm readiness --form csi`): the same; its ratings count for no rule
_allow(_ACTIVE + ("closure_requested",), "csi")
# placements and the steps of reintegration (tracing, family assessment, preparation): recorded
# while the case is open, and they leave the stage as it is
for _command in ("placement", "tracing", "family_assessment", "preparation"):
    _allow(_ACTIVE + ("closure_requested",), _command)
_allow(["closure_requested"], "followup")
_allow(["closure_requested"], "referral_update")
_allow(["closure_requested"], "review")
# an external approver's sign-off (the Sub-County Children's Officer's approval of a closure,
# Form 9A) is entered while the case is open; it changes no stage
_allow(_ACTIVE + ("closure_requested",), "sign_off")
# closing, transferring, reopening
_allow(_ACTIVE, "closure", "closure_requested")
_allow(_ACTIVE, "closure.immediate", "closed")  # where the policy needs no approval
_allow(["closure_requested"], "approval.closure", "closed")
# a closure refused by the approver, or taken back by the one who asked for it while it waits for
# a decision: the case returns to the stage it had when the closure was requested (a case whose
# closure was asked for before its assessments gets them recorded after)
_allow(["closure_requested"], "rejection.closure", RETURN)
_allow(["closure_requested"], "withdrawal.closure", RETURN)
_allow(_ACTIVE + ("closure_requested",), "transfer", "transferred")
_allow(["closed", "transferred"], "reopen", "reopened")
_allow(["closed", "transferred"], "note")
_allow(["closed"], "followup.post_closure")
_allow(["transferred"], "transfer_ack")
# a manager's decision once a closed or transferred case's retention period has ended (cpcm retention): kept
# longer until a date, or restricted to the managers; it changes no stage (workflow/retention.py)
_allow(["closed", "transferred"], "retention")
# a record of what was disclosed (an export with identifying fields) can be made at any stage, and so can the
# consent to share (or a supervisor's override of it) that such an export needs: a closed or transferred case
# exported for a court, with no consent left from before the closure, is otherwise a dead end (reports.md)
_allow(STAGES, "sharing")
_allow(STAGES, "consent.sharing")
_allow(STAGES, "consent_override.sharing")
# the child's own file given to the child, a young person who has left care or their
# representative (cpcm render child-file --given-to): at any stage, a closed case's too
_allow(STAGES, "child_file_release")
# the child's registration details change (a new address, a caregiver traced) while the case is open
_allow(_ACTIVE + ("closure_requested",), "update")
# a repair (cpcm repair) supersedes a damaged record: allowed at any stage, it changes none
_allow(STAGES, "repair")
# a record marked as written in the wrong case (cpcm correct CASE RECORD --misfiled): at any stage, it changes none
_allow(STAGES, "misfiled")
# taking a case in from another agency (cpcm receive): the imported records put the case at the
# stage it had there, and it stays at that stage, so plan, review and referral clocks run on; a
# closure the other agency had requested does not travel with the case
_allow(_ACTIVE, "transfer_in")
_allow(["closure_requested"], "transfer_in", "implementation")

COMMANDS = tuple(sorted({command for _, command in TABLE}))


def command_of(kind: str, body: dict) -> str:
    """The command a record performs: its kind, with the variant for kinds that have one."""
    if kind == "assessment":
        return f"assessment.{body.get('type', 'initial')}"
    if kind in ("approval", "rejection"):
        return f"{kind}.{body.get('subject', 'plan')}"
    if kind == "followup" and body.get("purpose") == "post_closure":
        return "followup.post_closure"
    if kind == "closure" and body.get("immediate"):
        return "closure.immediate"
    if kind == "withdrawal" and body.get("subject") in ("closure", "transfer"):
        return f"withdrawal.{body['subject']}"
    return kind


def stage_command(kind: str, body: dict) -> str:
    """The command the stage table is read for (`next_stage`, `advance`): `command_of`, and consent
    to share (or a supervisor's override of it) its own (`consent.sharing`), which every stage
    takes, as the export that needs it. What the record counts as (the fold's events, the
    statistics, a correction's kind) stays `command_of`'s."""
    return stage_of_command(command_of(kind, body), body)


def stage_of_command(command: str, body: dict) -> str:
    """`stage_command` of a record whose `command_of` is known already (the fold's, once a record)."""
    if command in ("consent", "consent_override") and body.get("purpose") == "sharing":
        return f"{command}.sharing"
    return command


_WORDS = {"assessment.initial": "assess --type initial", "assessment.comprehensive": "assess --type comprehensive",
          "assessment.best_interests": "assess --type best-interests", "approval.plan": "approve plan",
          "rejection.plan": "reject plan", "approval.closure": "approve closure", "rejection.closure": "reject closure",
          "approval.transfer": "approve transfer", "rejection.transfer": "reject transfer", "closure": "close",
          "closure.immediate": "close", "followup.post_closure": "followup --purpose post_closure", "assignment": "assign", "cover": "assign --cover",
          "keyworker": "assign --keyworker",
          "continuation": "continue", "referral": "refer", "referral_update": "referral", "consent_override": "consent --override",
          "transfer_request": "transfer", "family_assessment": "family-assessment", "transfer_in": "receive", "sign_off": "sign-off",
          "transfer_ack": "transfer-ack", "registration": "register", "withdrawal": "plan --withdraw",
          "withdrawal.closure": "close --withdraw", "withdrawal.transfer": "transfer --withdraw",
          "mandatory_report": "mandatory-report", "approval.mandatory_report": "approve mandatory-report",
          "rejection.mandatory_report": "reject mandatory-report", "child_file_release": "render child-file --given-to",
          "graduation": "readiness --form cpara", "csi": "readiness --form csi", "retention": "retention",
          "misfiled": "correct --misfiled", "sharing": "export with identifying fields",
          "consent.sharing": "consent --purpose sharing", "consent_override.sharing": "consent --override --purpose sharing"}


def _words(command: str) -> str:
    """A command as the user types it."""
    return _WORDS.get(command, command)


def allowed(stage: str | None) -> list[str]:
    """The commands `stage` allows, a variant left out where its command is allowed whole (consent
    to share, where consent is)."""
    found = sorted(command for (at, command) in TABLE if at == stage)
    return [c for c in found if not (c.endswith(".sharing") and c.rpartition(".")[0] in found)]


def next_stage(stage: str | None, command: str, before: str | None = None) -> str | None:
    """The stage after `command` at `stage`, or None where the table does not allow it. A request
    taken back (RETURN) goes back to `before`, the stage the case had when the request was made
    (RETURN itself when it is not given)."""
    after = TABLE.get((stage, command))
    return (before or after) if after == RETURN else after


def advance(stage: str | None, command: str, case_id: str = "", before: str | None = None) -> str:
    """The stage after `command` (see `next_stage`), or Refused naming the stage, the steps that
    lead to a stage where it is allowed (`way_to`) and what is allowed now."""
    after = next_stage(stage, command, before)
    if after is None:
        where = f"{case_id} is at stage '{stage}'" if case_id else f"at stage '{stage}'"
        status = STATUS.get(stage or "")
        way = way_to(stage, command, before)
        back = sorted({c for (at, c), to in TABLE.items() if at == stage and to == RETURN}, key=lambda c: (c.startswith("rejection."), c))
        if way and stage is not None:
            then = f"'{_words(command)}' is allowed from stage '{way[-1][1]}': first {', then '.join(_words(step) for step, _ in way)}. "
        elif back and any((at, command) in TABLE for at in _ACTIVE):  # the stage before the request is not known here
            then = (f"'{_words(command)}' may be allowed once the request is taken back ({' or '.join(_words(c) for c in back)}: "
                    "back to the stage it was asked at). ")
        else:
            then = ""
        # a closed or transferred case: what its stage takes, from the table (a post-closure visit only once closed)
        now = ", ".join(sorted({_words(c) for c in allowed(stage)}))
        hint = f"A {stage} case takes only: {now}." if status else f"{then}Allowed now: {now}."
        raise Refused(f"{where}: '{_words(command)}' is not allowed there", hint, rule="transition-not-allowed")
    return after


# stages a way to another command does not pass through: a closure or a transfer ends the case's work here; and steps
# that are no way a worker takes (a case taken in from another agency, registered)
_NOT_ON_THE_WAY = ("closure_requested", *STATUS)
_NO_WAY = ("transfer_in", "registration")


def way_to(stage: str | None, command: str, before: str | None = None) -> list[tuple[str, str]]:
    """The fewest steps (command, the stage it leads to) that take a case from `stage` to a stage
    where `command` is allowed, by this table alone (what else a step needs, its own checks say),
    not through a closure or a transfer; a request taken back (RETURN) leads to `before`, the stage
    the case had when it was made (unknown: no way through it); [] when it is allowed now or no
    such way exists."""
    ways: dict[str | None, list[tuple[str, str]]] = {stage: []}
    edges = sorted(((at, step, before if to == RETURN else to) for (at, step), to in TABLE.items()
                    if step not in _NO_WAY and (to != RETURN or before) and (before if to == RETURN else to) != at
                    and (before if to == RETURN else to) not in _NOT_ON_THE_WAY),
                   key=lambda e: (str(e[0]), e[1].startswith("rejection."), e[1]))  # a worker's own step before a decision
    frontier = [stage]
    while frontier:
        for at in frontier:
            if (at, command) in TABLE:
                return ways[at]
        reached = []
        for at in frontier:
            for _, step, to in (e for e in edges if e[0] == at and e[2] not in ways):
                ways[to] = ways[at] + [(step, to)]
                reached.append(to)
        frontier = reached
    return []


# The initial assessment's outcomes that end the case's path at this agency (IAG Step 2 [L810]: continue to the
# comprehensive assessment, close (no concerns; registered in error; outside the eligibility criteria, IAG Step 1
# [L741]) or transfer), with what to do instead. Once the
# latest initial assessment of the case's cycle (since registration or the latest reopening) concluded one of them,
# the steps of a case that goes on are refused until a new initial assessment concludes `proceed` (the child's
# situation changed: the process is circular) or the outcome is corrected (it was recorded wrongly).
# The closure reason each outcome that closes the case leads to, one of its own (the policy's closure_reasons), so that
# a supervisor and `cpcm report statistics` tell them apart: no concerns found (IAG Step 2 [L810]); registered in error;
# outside the eligibility criteria (IAG Step 1 [L741-743]: the referrer was told, the assessment's referrer_feedback,
# which the closure's checklist confirms, referrer_informed), apart from a case taken on that later stops meeting the
# criteria (no_longer_eligible, IAG §1 [L125]). A closure recorded with no_longer_eligible after these outcomes before
# they had reasons of their own stays as it is and is counted under that reason.
CLOSING_OUTCOMES = {"close_no_concerns": "no_concerns", "close_registered_in_error": "registered_in_error",
                    "close_not_eligible": "not_eligible"}
NOT_PROCEEDING = {**{outcome: f"cpcm close {{case}} --reason {reason}" for outcome, reason in CLOSING_OUTCOMES.items()},
                  "transfer": "cpcm transfer {case} --to AGENCY ..."}
# The reasons that say what the initial assessment concluded, so that only a case whose latest initial assessment
# concluded it is closed for them (registered_in_error may come to light later, and keeps no such tie)
OUTCOME_REASONS = {reason: outcome for outcome, reason in CLOSING_OUTCOMES.items() if reason != "registered_in_error"}
AFTER_PROCEEDING = ("assessment.comprehensive", "plan", "approval.plan")


def initial_outcome(case) -> tuple[str, str] | None:
    """(outcome, when) of the latest initial assessment of the case's cycle (the fold keeps its
    outcome only, as the event `initial.<outcome>`), or None when there is none in this cycle
    (since registration or the latest reopening) or it gave no outcome."""
    since = case.cycle_start
    for name, times in case.events.items():
        if name.startswith("initial.") and times and (since is None or times[-1] >= since):
            return name.split(".", 1)[1], times[-1]
    return None


def stopped_by_outcome(case) -> tuple[str, str] | None:
    """(outcome, when) when the latest initial assessment of the case's cycle concluded that it
    closes or is transferred (`NOT_PROCEEDING`), so that it is not taken on (`check_outcome`), and
    `cpcm due` asks for that instead of the comprehensive assessment; else None. A case that has a
    comprehensive assessment after that initial one (recorded before the rule held) is not
    stopped half-way."""
    found = initial_outcome(case)
    if found is None or found[0] not in NOT_PROCEEDING:
        return None
    if case.last("assessment.comprehensive", found[1]):
        return None  # taken on all the same before this rule held (a comprehensive assessment since)
    return found


# the closure reasons that say the case plan's goals were met: a case with no plan has none (IAG §1, Step 6 [L936])
PLAN_REASONS = frozenset({"goals_met"})


def pre_closure_followups(policy: Policy, reason: str | None) -> int:
    """How many follow-ups since the latest plan version the policy asks for before a closure for
    `reason` (pre_closure_monitoring.followups, IAG Step 6): only for a closure that says the plan's
    goals were met (`PLAN_REASONS`); none for any other reason. What `cpcm close` checks and the
    closure report reports the visits against."""
    if reason not in PLAN_REASONS:
        return 0
    return int(policy.get("pre_closure_monitoring", "followups", 0) or 0)


def closure_reason_problem(case, reason: str) -> str | None:
    """Why `reason` does not fit the case (a reason that says the plan's goals were met, `PLAN_REASONS`, on a case
    with no plan; a reason that says what the initial assessment concluded,
    `OUTCOME_REASONS`, when the latest initial assessment of the case's cycle concluded otherwise),
    in words for the closure's `reason` field; None when it fits."""
    if reason in PLAN_REASONS and not case.plan:
        return (f"'{reason}' closes a case whose plan's goals are met (IAG §1, Step 6 [L936]); {case.id} has no plan, "
                f"so it has no goals to have met: write the plan first (cpcm plan {case.id} ...), or choose the reason that "
                "fits")
    wanted = OUTCOME_REASONS.get(reason)
    if wanted is None:
        return None
    found = initial_outcome(case)
    if found is not None and found[0] == wanted:
        return None
    concluded = f"concluded '{found[0]}'" if found is not None else "gave no outcome" if case.last("assessment.initial", case.cycle_start) \
        else "is not recorded"
    instead = (f"close for the reason that outcome leads to ({NOT_PROCEEDING[found[0]].format(case=case.id)})"
               if found is not None and found[0] in CLOSING_OUTCOMES else "choose the reason that fits")
    return (f"'{reason}' closes a case whose initial assessment concluded '{wanted}' (IAG Step 1 [L741-743], Step 2 "
            f"[L810]); this case's latest initial assessment {concluded}: {instead}, or record the initial assessment "
            f"that concludes '{wanted}' first (cpcm assess {case.id} --type initial ... --outcome {wanted})")


# The closure reason that says the child reached the age limit (the policy's child_age_limit, IAG §1: a child
# is under 18): refused for a child under that age on the closure's date (rule closure-reason-age)
AGE_REASON = "reached_18"


def closure_age_problem(case, reason: str, years: int, on: date) -> str | None:
    """Why `reason` (`AGE_REASON` only) does not fit the case on the day `on` the closure is dated:
    the child is under `years` then, by the date of birth the case holds, known or estimated (the
    day they turn it is `Case.turns`, as the turning-18 item counts it), or the case holds no age at
    all; in words for the closure's `reason` field (what the child's age is then, the day they turn
    `years`, and what to do); None when it fits. The dates named are no more than `cpcm due` shows
    (the turning-18 item's day); the date of birth itself is not repeated."""
    if reason != AGE_REASON:
        return None
    rule = f"'{reason}' closes the case of a young person of {years} or more (child_age_limit, IAG §1)"
    birthday = case.turns(years)
    if birthday is None:
        return (f"{rule}, and this case holds neither a date of birth nor an estimated age: record one first "
                f"(cpcm update {case.id} --dob YYYY-MM-DD, or --age YEARS when the date is not known), or choose the "
                "reason that fits")
    if of_age(case, years, on):
        return None
    by = "the date of birth on the case" if case.child.get("date_of_birth") else f"the age estimated on {case.age_estimated_on()}"
    fix = ("--dob YYYY-MM-DD" if case.child.get("date_of_birth") else "--dob YYYY-MM-DD, or --age YEARS (the age today)")
    return (f"{rule}: by {by} the child is {case.age_on(on)} on {on.isoformat()}, the closure's date, and turns {years} on "
            f"{birthday.isoformat()}: choose the reason that fits, or close for '{reason}' on or after {birthday.isoformat()} "
            f"(--at no earlier than that); if the age on the case is wrong, correct it first (cpcm update {case.id} {fix})")


def closed_under_age(case, years: int, zone) -> date | None:
    """The day a closed case was closed for `AGE_REASON` when the child was under `years` that day by
    the date of birth (or estimated age) now on file (`closure_age_problem`): the age was corrected
    after the closure was approved, here or on a copy apart. `zone`: the agency's, for the day it
    closed (its `closed` event). None for any other case."""
    if case.status != "closed" or (case.closure or {}).get("reason") != AGE_REASON or not case.last("closed"):
        return None
    closed = datetime.fromisoformat(case.last("closed"))
    day = (closed.astimezone(zone) if zone is not None else closed).date()
    return day if case.turns(years) is not None and not of_age(case, years, day) else None


def check_outcome(case, command: str) -> None:
    """Refused (rule `initial-assessment-outcome`) when `command` takes the case on (a comprehensive
    assessment, a plan, a plan's approval) after its latest initial assessment concluded that it
    closes or is transferred (`stopped_by_outcome`), naming the outcome and what would satisfy the rule."""
    if command not in AFTER_PROCEEDING:
        return
    found = stopped_by_outcome(case)
    if found is None:
        return
    outcome, when = found
    raise Refused(f"{case.id}: the initial assessment of {when[:10]} concluded '{outcome}', so '{_words(command)}' is not "
                  "allowed (IAG Step 2: after the initial assessment a case goes on to the comprehensive assessment, "
                  "or is closed or transferred); nothing was written",
                  f"Do what it concluded: {NOT_PROCEEDING[outcome].format(case=case.id)}. If the child's situation has changed, "
                  f"record a new initial assessment that concludes proceed (cpcm assess {case.id} --type initial ... --outcome "
                  f"proceed); if the outcome was recorded wrongly, correct it (cpcm correct {case.id} RECORD --set outcome=proceed "
                  "--reason ...).", rule="initial-assessment-outcome")


def status_of(stage: str | None) -> str:
    return STATUS.get(stage or "", "open")
