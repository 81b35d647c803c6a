"""Deadlines: a pure function of a case's records (folded), the policy and `now`.

Nothing is typed in: change the policy and every case's deadlines change with it. Each
deadline knows the rule it comes from and the rule's source, so the tool can say why
something is due. Which events start and meet each clock is the table in
`cpcm.workflow.clocks`, which the timeliness report reads too; who may decide an approval is
`cpcm.workflow.approvals`. Times are shown in the zone of `now`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Callable, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.dates import end_of_day, is_date_only, local, local_day, parse_datetime
from cpcm.domain.durations import Duration, parse_duration
from cpcm.domain.policy import Policy, risk_rank
from cpcm.domain.records import utc
from cpcm.workflow import approvals, followups, placements, plan_actions, retention, transitions
from cpcm.workflow import consent as consent_rules
from cpcm.workflow import mandatory_report as mandatory_rules
from cpcm.workflow.clocks import BY_CODE, CONFERENCE_MET, INTERIM_PLAN_NEEDED, MANAGERS, REVIEW_DECIDED, SUPERVISORS, done_events
from cpcm.workflow.age import age_limit

STATES = ("overdue", "target_missed", "due_soon", "upcoming")

# The deadlines cpcm calls URGENT: a follow-up that found the risk increased, a readiness record
# with a stop answer, and the response to a risk the policy wants answered the same day (IAG's
# immediate risk: "before the child leaves your care"). The guidelines want an increase of risk
# acted on urgently and an immediate risk responded to at once (docs/workflow.md), so their titles
# begin with URGENT and `due` lists them before every other item, whatever their state
# (`urgency`); the title's mark is what tells them (`is_urgent`), in the cached due view too.
URGENT = "URGENT: "
# The initial assessment of a child at such a risk is due the same day too (`initial_assessment_due`),
# and is urgent as well.
# A transfer whose receipt has not come back is URGENT once it is overdue (`_transfer_ack`): until then
# the receipt may still be on its way; after it, nothing says the child reached any agency.
URGENT_CODES = frozenset({"risk-increased", "readiness-stop"})  # always urgent; a risk response when the same day
URGENT_SAME_DAY = frozenset({"risk-response", "initial-assessment"})  # urgent when the policy wants them the same day
URGENT_OVERDUE = frozenset({"transfer-ack"})  # urgent once overdue


def titled(code: str, title: str, same_day: bool = False, overdue: bool = False) -> str:
    """An item's title, marked URGENT when its code is one of `URGENT_CODES`, or it is a risk
    response (or the initial assessment of a child at that risk) the policy wants the same day
    (`same_day`), or one of `URGENT_OVERDUE` past its limit (`overdue`)."""
    if code in URGENT_CODES or (same_day and code in URGENT_SAME_DAY) or (overdue and code in URGENT_OVERDUE):
        return URGENT + title
    return title


def is_urgent(item: "Deadline") -> bool:
    """Whether cpcm calls the item URGENT (`titled`): `due` lists it first."""
    return item.title.startswith(URGENT)


@dataclass(frozen=True, init=False)
class Deadline:
    case_id: str
    code: str
    title: str
    due: datetime
    target: datetime | None
    owner: str | None
    rule: str
    why: str
    source: str
    risk: str | None = None
    requested_by: str | None = None
    barred: tuple[str, ...] = ()  # for an approval: who may not decide it (approvals.barred)
    covered_by: str | None = None  # on a covering worker's list: who covers the case (workflow/cover.py)
    # a case's whose worker (the owner) is not an active member of the team: nobody has it (rules.unattended_item)
    worker_removed: bool = False
    # a waiting approval nobody in the team may decide: on the case's worker's list (rules.NobodyDecides)
    nobody_may_decide: bool = False
    # with nobody_may_decide: whether someone may decide a next version the case's worker writes (a way out
    # approvals.nobody_hint offers for a plan; rules.NobodyDecides.marked)
    next_decidable: bool = False
    # the steps it asks for (commands of the stage table, any one of which does it) where they are not its clock's
    # (clocks.Clock.asks): the item of its clock that asks for another step than the others (the next step of
    # reintegration, the step an initial assessment concluded, reopening after a risk found increased since closure).
    # What the stage filter reads (`asks`, `at_stage`), not what `due` shows: not compared, and not kept in the due
    # tables, which hold the items the filter listed (an item read back from them has None)
    asks: tuple[str, ...] | None = field(default=None, compare=False)

    def __init__(self, case_id: str, code: str, title: str, due: datetime, target: datetime | None, owner: str | None, rule: str,
                 why: str, source: str, risk: str | None = None, requested_by: str | None = None, barred: tuple[str, ...] = (),
                 covered_by: str | None = None, worker_removed: bool = False, nobody_may_decide: bool = False,
                 next_decidable: bool = False, asks: tuple[str, ...] | None = None):
        # what the frozen dataclass's own __init__ does (each field set in order, nothing run after),
        # in one step instead of an object.__setattr__ per field: the rules make a few for every case
        # (tests/test_deadline_init.py holds it to the dataclass's)
        object.__setattr__(self, "__dict__", {
            "case_id": case_id, "code": code, "title": title, "due": due, "target": target, "owner": owner, "rule": rule,
            "why": why, "source": source, "risk": risk, "requested_by": requested_by, "barred": barred,
            "covered_by": covered_by, "worker_removed": worker_removed, "nobody_may_decide": nobody_may_decide,
            "next_decidable": next_decidable, "asks": asks})

    def state(self, now: datetime, soon: timedelta) -> str:
        if now > self.due:
            return "overdue"
        if self.target is not None and now > self.target:
            return "target_missed"
        if (self.target or self.due) - now <= soon:  # the target, where there is one, is what to aim for
            return "due_soon"
        return "upcoming"

    def to_json(self, now: datetime, soon: timedelta) -> dict:
        return {
            "case_id": self.case_id, "code": self.code, "title": self.title, "due": self.due.isoformat(timespec="minutes"),
            "target": self.target.isoformat(timespec="minutes") if self.target else None, "state": self.state(now, soon),
            "owner": self.owner, "rule": self.rule, "why": self.why, "source": self.source, "risk": self.risk,
            **({"covered_by": self.covered_by} if self.covered_by else {}),
            **({"worker_removed": True} if self.worker_removed else {}),
            **({"nobody_may_decide": True} if self.nobody_may_decide else {}),
        }


def zone_of(now: datetime) -> tzinfo:
    return now.tzinfo or timezone.utc


def limit_end(limit: Duration, start: datetime, zone: tzinfo) -> datetime:
    """When `limit`, counted from `start`, ends, as `due` counts it: from `start` in the agency's
    zone (`counted_from`). For the timeliness report, which looks back at the same clocks with its
    times as datetimes; `initial_assessment_due` given a zone takes its `begin` the same way."""
    return limit.after(counted_from(start, zone))


def counted_from(start: datetime, zone: tzinfo) -> datetime:
    """A clock's start as its limits are counted from it: in the agency's zone (`zone_of(now)`),
    so that 'the same day' (`Duration.after`) ends at midnight of the worker's day, not of the UTC
    day. THE rule `limit_end` and `initial_assessment_due` (given a zone: the timeliness report,
    what `register` and `reopen` say comes next) read; `due` reads a case's times in that zone
    already (`_t`)."""
    return start.astimezone(zone)


def _t(text: str | None, zone: tzinfo) -> datetime | None:
    """A stored time (UTC) in the zone of `now`, so that 'the same day' is the worker's day."""
    if not text:
        return None
    if type(text) is not str:
        return parse_datetime(text).astimezone(zone)
    key = (text, id(zone))
    found = _TIMES.get(key)
    if found is not None and found[0] is zone:  # this very zone (zones equal as values may name their times apart)
        return found[1]
    moment = parse_datetime(text).astimezone(zone)
    if len(_TIMES) >= _TIMES_KEPT:
        _TIMES.clear()
    _TIMES[key] = (zone, moment)  # the zone held with it: its id is not reused while the entry lasts
    return moment


# `_t`'s answers: every rule (and every run of the rules over a case's intervals) reads a case's
# times again. Keyed by the text and the zone object; emptied when full.
_TIMES: dict[tuple[str, int], tuple[tzinfo, datetime]] = {}
_TIMES_KEPT = 4096


class _PolicyParts:
    """What the rules read of the policy alone (its durations, the sources of its rules, the
    events that meet each clock, texts made of these), each made once per policy and kept with
    it (`_parts`): every case asks the same."""

    __slots__ = ("policy", "_kept", "_done")

    def __init__(self, policy: Policy):
        self.policy = policy
        self._kept: dict[tuple, object] = {}
        self._done: dict[str, tuple[str, ...]] = {}  # `done`'s answers, by the clock's code

    def text(self, key: tuple, make: Callable[[], object]) -> object:
        """`make()`, kept under `key` (made of this policy's parts only)."""
        found = self._kept.get(key)
        if found is None:
            found = self._kept[key] = make()
        return found

    def duration(self, rule: str, key: str) -> Duration:
        found = self._kept.get(("duration", rule, key))  # `text`, without making a function to call: asked ~3 times a case
        if found is None:
            found = self._kept["duration", rule, key] = self.policy.duration(rule, key)
        return found

    def source(self, rule: str) -> str:
        return self.text(("source", rule), lambda: self.policy.source(rule))

    def done(self, code: str) -> tuple[str, ...]:
        """The events that meet clock `code` (`clocks.done_events`)."""
        found = self._done.get(code)
        if found is None:
            found = self._done[code] = done_events(code, self.policy)
        return found


def _parts(policy: Policy) -> _PolicyParts:
    found = _PARTS.get(id(policy))
    if found is None or found.policy is not policy:
        if len(_PARTS) >= _PARTS_KEPT:
            _PARTS.clear()
        found = _PARTS[id(policy)] = _PolicyParts(policy)  # holds the policy: its id is not reused while kept
    return found


# `_parts` of the policies in use, by the policy object (a policy is a value: it is never changed;
# one read again is another object); emptied when full.
_PARTS: dict[int, _PolicyParts] = {}
_PARTS_KEPT = 8


def _after_start(start: str, duration, zone: tzinfo) -> datetime:
    """The end of a period from a start: from a date alone (a service started on 14 January),
    the end of the local day the period ends on (two weeks: 28 January, 23:59:59 local), not
    midnight UTC; from a date-time, the moment the period ends. `same_day` from a date alone ends
    with that day, as `0w` does (durations.py: at midnight at the end of the day it starts; the
    day after it starts is not the day it ends on)."""
    if is_date_only(start):
        if duration.same_day:
            return end_of_day(local(start, zone).date(), zone)
        return end_of_day(duration.after(local(start, zone)).date(), zone)
    return duration.after(_t(start, zone))


def _done(case: Case, code: str, policy: Policy, since: str | None) -> bool:
    """Whether an event that meets clock `code` happened at or after `since`."""
    if not since:
        return any(case.last(event, since) for event in _parts(policy).done(code))
    events = case.events
    for event in _parts(policy).done(code):
        # `case.last(event, since)` without taking the latest: each time compared, as there (`since`
        # is a time, so any time at or after it is one); an event the case never had is skipped
        times = events.get(event)
        if times and any([moment >= since for moment in times]):
            return True
    return False


def plan_in_force_at(case: Case, policy: Policy) -> str | None:
    """When the plan in force came into force: its approval where the policy needs one. A newer
    version waiting for approval (or rejected, or withdrawn) leaves the approved one in force."""
    plan = plan_actions.in_force(case.plan, policy)
    if not plan:
        return None
    if plan_actions.in_force_event(policy) == plan_actions.APPROVED:
        return plan.get("approved_at")
    return plan.get("at")


def plan_before_reopening(case: Case, policy: Policy) -> bool:
    """Whether the plan in force came into force before the case's latest reopening: a plan of
    the cycle the closure (or transfer) ended. A reopened case goes back to assessment and a new
    plan (IAG Step 6, `plan_action.due_after_reopening`), so that plan's actions are not due;
    those of a plan that comes into force after the reopening (an interim plan included) are."""
    return bool(case.reopened) and before_reopening(case, plan_in_force_at(case, policy))


def before_reopening(case: Case, at: str | None) -> bool:
    """Whether what happened at `at` (a record's time, any offset) came before the case's latest
    reopening: of the episode a closure (or transfer) ended. The one comparison with the reopening
    (`Case.reopened`, the fold's `reopen` event) that the plan in force, the referrals not moved on
    and `cpcm show`'s marks ask."""
    reopened = case.reopened
    return bool(reopened) and bool(at) and utc(at) < reopened


def plan_actions_due(case: Case, policy: Policy) -> bool:
    """Whether the actions of the plan in force are due at all: not those of a plan from before the
    latest reopening, unless the policy keeps them due (`plan_action.due_after_reopening`)."""
    if not case.reopened:
        return True
    return due_after_reopening(policy) or not plan_before_reopening(case, policy)


def left_out_actions(case: Case, policy: Policy, actions: Iterable[Mapping[str, Any]], removed: Iterable[str] = ()) -> list[str]:
    """The IDs of the open actions of the plan in force (not marked done or dropped) that a plan
    version whose actions are `actions` (its summary's, {id, key}) leaves out, but those `removed`
    (--remove: taken out on purpose): once that version is in force they leave `cpcm due`. An ID
    two copies gave to different actions apart (a plans-concurrent's `actions`:
    plan_actions.clashes) is kept only where the version gives it the same action (its text). None
    for a plan from before a reopening (its actions are not due: `plan_actions_due`). THE rule
    `cpcm plan` warns by when it writes such a version, `cpcm approve` when it puts one in force,
    and `check`'s plans-concurrent names, where approving the latest version written apart would
    (docs/commands/assess-plan.md)."""
    if not plan_actions_due(case, policy):
        return []
    removed = {str(r).strip().upper() for r in removed}
    held = {str(a.get("id")): a.get("key") for a in actions}
    clashed = {i for c in case.conflicts for i in c.get(plan_actions.CLASHED) or ()}
    return [a["id"] for a in plan_actions.open_actions(case.plan, policy, case.reopenings) if a["id"] not in removed
            and (a["id"] not in held or a["id"] in clashed and held[a["id"]] != a.get("key"))]


def plan_in_force(case: Case, policy: Policy) -> Mapping[str, Any] | None:
    """The plan version in force (`plan_actions.in_force`), unless it came into force before the
    case's latest reopening and the policy does not keep it (`plan_actions_due`): then none is, as
    `cpcm show`, `cpcm plan` and `cpcm reject` say ("approved before the reopening, not in force
    since"), and a version rejected after the reopening is one rejected with no version in force
    (`_interim_rejected`), not a revision turned down while another stays in force
    (`_plan_revision`)."""
    plan = plan_actions.in_force(case.plan, policy)
    return plan if plan and plan_actions_due(case, policy) else None


def due_after_reopening(policy: Policy) -> bool:
    """Whether what the cycle before a reopening left open stays due after it: the actions of the
    plan in force before it, and the referrals not moved on since (`plan_action.due_after_reopening`,
    false by default: a reopened case restarts at assessment and a new plan, IAG Step 6 [L946])."""
    return _parts(policy).text(("plan_action", "due_after_reopening"),
                               lambda: bool(policy.get("plan_action", "due_after_reopening", False)))


def referral_before_reopening(case: Case, ref, policy: Policy) -> bool:
    """Whether referral `ref` last moved (sent, or its latest status) before the case's latest
    reopening, and the policy does not keep it due after it (`due_after_reopening`): the closure
    before the reopening explained it, so it is not due; the worker refers again, or updates this
    referral, which brings it back."""
    return before_reopening(case, ref["status_at"]) and not due_after_reopening(policy)


def initial_assessment_due(policy: Policy, risk: str | None, begin: datetime,
                           zone: tzinfo | None = None) -> tuple[datetime, datetime | None, Duration | None]:
    """When the initial assessment of a child at `risk` is due, its clock started at `begin` (the
    registration, or the reopening): the due time, the target (None when the due time comes
    first) and, when the risk level cut the time short, the level's response limit. Counted from
    `begin` in `zone` where one is given (`counted_from`: the agency's, `zone_of(now)`), else in
    `begin`'s own (`due`'s, already in that zone).

    THE rule, read by `due`, the timeliness report and what `register` and `reopen` say comes
    next: `initial_assessment.limit` (48 hours, target 24), but the same day for a risk level the
    policy wants answered the same day (`risk_response.limit`: immediate). IAG §3 Step 2 [L796]:
    within 24 hours, "or sooner if the child is in urgent need such as in a life threatening
    situation", never later than 48; an immediate risk is answered "before the child leaves your
    care" [L805], and the initial assessment is where that protection is recorded. Both numbers
    are the policy's; which one applies is this reading of the two (docs/workflow.md). A longer
    response time (high: 72 hours) leaves the initial assessment's own limit as it is."""
    if zone is not None:
        begin = counted_from(begin, zone)
    parts = _parts(policy)
    due, target = parts.duration("initial_assessment", "limit").after(begin), parts.duration("initial_assessment", "target").after(begin)
    response = parts.text(("risk_response_limit", risk), lambda: policy.risk_response(risk)) if risk else None
    if response is not None and response.same_day:
        sooner = response.after(begin)
        if sooner < due:
            return sooner, (target if target < sooner else None), response
    return due, target, None


def _initial_assessment(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    start = case.cycle_start
    if case.status != "open" or not start or _done(case, "initial-assessment", policy, start):
        return []
    begin, since = _t(start, zone_of(now)), _since(case)
    due, target, response = initial_assessment_due(policy, case.risk, begin)
    if response is None:
        _limit, _target, why, source = _parts(policy).text(("initial_assessment", since), lambda: _assessment_texts(
            policy, "initial_assessment", "initial assessment within {} of " + since + " (target {})"))
        title = "initial assessment"
    else:
        title, why, source = _parts(policy).text(("initial_assessment", since, case.risk),
                                                 lambda: _initial_at_risk_texts(policy, case.risk, since))
    return [Deadline(case.id, "initial-assessment", title, due, target, case.worker, "initial_assessment", why, source, case.risk)]


def _initial_at_risk_texts(policy: Policy, risk: str, since: str) -> tuple[str, str, str]:
    """The title, why and source of the initial assessment of a child at a risk level the policy
    wants answered the same day (`initial_assessment_due`): URGENT, as that response is."""
    parts = _parts(policy)
    limit, target = parts.duration("initial_assessment", "limit"), parts.duration("initial_assessment", "target")
    why = (f"{risk} risk: initial assessment on the same day as {since}, as {risk} risk is answered the same day "
           f"(otherwise within {limit.words()}, target {target.words()}; sooner when the child is in urgent need)")
    return (titled("initial-assessment", f"initial assessment now ({risk} risk)", True), why,
            f"{parts.source('initial_assessment')}; {parts.source('risk_response')}")


def _since(case: Case) -> str:
    """What the assessment clocks count from, in words: the registration, or the latest reopening
    (`Case.cycle_start`)."""
    return "the reopening" if case.reopened else "registration"


def _assessment_texts(policy: Policy, rule: str, why: str) -> tuple[Duration, Duration, str, str]:
    """An assessment's limit and target, why it is due and the rule's source."""
    parts = _parts(policy)
    limit, target = parts.duration(rule, "limit"), parts.duration(rule, "target")
    return limit, target, why.format(limit.words(), target.words()), parts.source(rule)


def _risk_response(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    if case.status != "open" or not case.risk or "assessment.initial" not in case.events:
        return []
    assessed = case.last("assessment.initial", case.cycle_start)
    if not assessed or _done(case, "risk-response", policy, assessed):
        return []
    found = _parts(policy).text(("risk_response", case.risk), lambda: _risk_response_texts(policy, case.risk))
    if found is None:
        return []
    limit, title, why, source = found
    return [Deadline(case.id, "risk-response", title, limit.after(_t(assessed, zone_of(now))), None, case.worker,
                     "risk_response", why, source, case.risk)]


RESPONSES_TEXT = "(a follow-up, referral, plan, placement or protection action)"  # what responds to the risk (clocks.RESPONSES)


def _risk_response_texts(policy: Policy, risk: str) -> tuple[Duration, str, str, str] | None:
    """The response limit of a risk level (None: the policy sets none), the item's title, why it
    is due and the rule's source."""
    limit = policy.risk_response(risk)
    if limit is None:
        return None
    return (limit, titled("risk-response", f"respond to {risk} risk", limit.same_day),
            f"{risk} risk: respond {'on the same day as' if limit.same_day else 'within ' + limit.words() + ' of'} the initial assessment "
            + RESPONSES_TEXT, _parts(policy).source("risk_response"))


def _interim_plan(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """IAG §3 Step 2 [L825]: an initial assessment that finds an unmet basic need or the child unsafe
    (`interim_plan_needed: yes`) starts immediate services as an interim plan while the comprehensive
    assessment is completed. Due `interim_plan.limit` after the latest initial assessment of the cycle,
    when it asked for one (the fold keeps the ask of the latest only), until a plan is written after it,
    interim or not: a version waiting for approval is the supervisors' item then, a rejected one the
    case-plan item's ("write a new plan version", `_interim_rejected`); one its author withdrew meets
    nothing. Not the risk-response item: a follow-up or a referral answers that, and its time follows the
    risk level. Not while the initial assessment concluded the case closes or is transferred (a plan is
    refused then, `transitions.check_outcome`)."""
    if case.status != "open" or INTERIM_PLAN_NEEDED not in case.events:  # most cases: nothing read further
        return []
    asked = case.last(INTERIM_PLAN_NEEDED, case.cycle_start)
    if not asked or transitions.stopped_by_outcome(case):
        return []
    plan = case.plan
    if plan and plan["at"] >= asked and not plan.get("withdrawn_at"):
        return []
    in_force = plan_actions.in_force(plan, policy)
    if in_force and in_force["at"] >= asked:
        return []
    zone = zone_of(now)
    begin = _t(asked, zone)
    limit = _parts(policy).duration("interim_plan", "limit")
    why = (f"the initial assessment of {begin.date().isoformat()} found an interim plan needed (a basic need unmet or the "
           f"child unsafe): the immediate services, as a plan within {limit.words()} of it, while the comprehensive assessment "
           f"is completed (cpcm plan {case.id} --from-file FILE, with interim: yes); any plan written after that assessment "
           "meets it")
    if plan and plan["at"] >= asked:
        why += f" (plan version {plan.get('version')} was withdrawn by its author: write another)"
    return [Deadline(case.id, "interim-plan", "record the interim plan", limit.after(begin), None, case.worker, "interim_plan",
                     why, _parts(policy).source("interim_plan"), case.risk)]


def _comprehensive_assessment(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    start = case.cycle_start
    if case.status != "open" or not start or _done(case, "comprehensive-assessment", policy, start):
        return []
    begin = _t(start, zone_of(now))
    stopped = transitions.stopped_by_outcome(case)
    if stopped:  # the comprehensive assessment is refused: the step after the initial assessment is what it concluded
        return [_outcome_step(case, policy, begin, *stopped)]
    since = _since(case)
    limit, target, why, source = _parts(policy).text(("comprehensive_assessment", since), lambda: _assessment_texts(
        policy, "comprehensive_assessment", "comprehensive assessment within {} of " + since + " (target {}; no drift)"))
    return [Deadline(case.id, "comprehensive-assessment", "comprehensive assessment", limit.after(begin), target.after(begin),
                     case.worker, "comprehensive_assessment", why, source, case.risk)]


def _outcome_step(case: Case, policy: Policy, begin: datetime, outcome: str, when: str) -> Deadline:
    """The comprehensive assessment's clock for a case its initial assessment closed or transferred
    (`transitions.stopped_by_outcome`): by the same time, what that assessment concluded."""
    parts = _parts(policy)
    limit, target = parts.duration("comprehensive_assessment", "limit"), parts.duration("comprehensive_assessment", "target")
    why = (f"the initial assessment of {when[:10]} concluded '{outcome}': {transitions.NOT_PROCEEDING[outcome].format(case=case.id)} "
           "(IAG Step 2: after the initial assessment a case goes on to the comprehensive assessment, or is closed or "
           "transferred); a comprehensive assessment is refused unless a new initial assessment concludes proceed")
    return Deadline(case.id, "comprehensive-assessment", _outcome_title(outcome),
                    limit.after(begin), target.after(begin), case.worker, "comprehensive_assessment", why,
                    parts.source("comprehensive_assessment"), case.risk, asks=_OUTCOME_ASKS[outcome])


# what the step after an initial assessment that concluded the case closes or is transferred asks for (`_outcome_step`),
# by that outcome (transitions.NOT_PROCEEDING): the closure, or the transfer (its request where it needs approval)
_OUTCOME_ASKS = {outcome: ("transfer_request", "transfer") if outcome == "transfer" else ("closure", "closure.immediate")
                 for outcome in transitions.NOT_PROCEEDING}


def _outcome_title(outcome: str) -> str:
    """The title of `_outcome_step`'s item: what the initial assessment concluded, as a step."""
    return f"{'transfer the case' if outcome == 'transfer' else 'close the case'} (its initial assessment concluded {outcome})"


def _case_plan(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    if case.status != "open":
        return []
    assessed = case.last("assessment.comprehensive", case.cycle_start) if "assessment.comprehensive" in case.events else None
    if not assessed:
        return _interim_rejected(case, policy, now)
    in_force = plan_actions.in_force(case.plan, policy)
    if in_force and in_force["at"] >= assessed:
        return []
    limit = _parts(policy).duration("case_plan", "limit")
    pending = case.plan and case.plan["at"] >= assessed and not case.plan.get("rejected_at")
    why = f"case plan in force within {limit.words()} of the comprehensive assessment"
    if pending:
        why += " (a plan is written and waits for a supervisor's approval)"
    elif case.plan and case.plan["at"] >= assessed and case.plan.get("rejected_at"):
        why += (f" (plan version {case.plan.get('version')} was rejected: write a new version;"
                f" cpcm show {case.id} says why)")
    return [Deadline(case.id, "case-plan", "case plan", limit.after(_t(assessed, zone_of(now))), None, case.worker, "case_plan", why,
                     _parts(policy).source("case_plan"), case.risk)]


def _interim_rejected(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """Before the comprehensive assessment, a plan (an interim plan: IAG §3, immediate services
    while the child is unsafe or a basic need unmet) that a supervisor rejected, with no version in
    force: the worker writes the next one, within the response time of the case's risk from the
    rejection (cpcm's choice: the guidance gives no number; the interim plan is that response).
    Without it nothing on the worker's list would say the plan was turned down."""
    plan = case.plan
    if not plan or not plan.get("rejected_at"):  # most cases: no cycle start read (tests/test_rules_cheaper.py)
        return []
    start = case.cycle_start
    if (start and plan["at"] < start) or plan_in_force(case, policy):  # one from before the reopening is not in force
        return []
    limit = policy.risk_response(case.risk) if case.risk else None
    if limit is None:
        return []
    why = (f"plan version {plan.get('version')} was rejected and no plan is in force: write a new version "
           f"(cpcm plan {case.id} --from-current --reason correction; cpcm show {case.id} says why), within the response "
           f"time of {case.risk} risk")
    return [Deadline(case.id, "case-plan", "write a new plan version (the last was rejected)",
                     limit.after(_t(plan["rejected_at"], zone_of(now))), None, case.worker, "case_plan", why,
                     _parts(policy).source("risk_response"), case.risk)]


def _plan_revision(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """A plan version a supervisor rejected while an earlier one stays in force (a revision turned
    down): the case's worker writes the next version with what the rejection's note asks, within
    `plan_revision.limit` of the rejection (cpcm's choice: the guidance gives no time). The item
    names the version, who rejected it and when, and sends the worker to the note (`cpcm show`: the
    note is free text, kept off the due list as a plan action's text is), so that the rejection
    reaches the worker's list and not only `cpcm show`. A version written after it (its approval is
    then the supervisors' item; one withdrawn by its author leaves nothing) or a case review
    recorded after it (where the worker keeps the version in force) takes it away. A rejected
    version with none in force, or one the case-plan clock covers (the version in force is older
    than the latest comprehensive assessment), is the case-plan item's (`_case_plan`,
    `_interim_rejected`), and so is one rejected after a reopening while the version from before
    it is not in force (`plan_in_force`); not one from before the latest reopening."""
    plan = case.plan
    if case.status != "open" or not plan or not plan.get("rejected_at"):  # most cases: nothing read further
        return []
    rejected = plan["rejected_at"]
    in_force = plan_in_force(case, policy)
    if not in_force or in_force.get("record_id") == plan.get("record_id") or before_reopening(case, rejected):
        return []
    assessed = case.last("assessment.comprehensive", case.cycle_start) if "assessment.comprehensive" in case.events else None
    if (assessed and in_force["at"] < assessed) or _reviewed_since(case, plan.get("rejected_id")):
        return []
    zone = zone_of(now)
    at = _t(rejected, zone)
    limit = _parts(policy).duration("plan_revision", "limit")
    version, kept = plan.get("version"), in_force.get("version")
    by = f" by {plan['rejected_by']}" if plan.get("rejected_by") else ""
    # the note itself is free text (it may name the child or the family): read where the case is read, never on the
    # due list, its --json or its calendar file, as a plan action is named by its ID only
    why = (f"plan version {version} was rejected{by} on {at.date().isoformat()}, with a note saying what to change "
           f"(cpcm show {case.id} shows it); version {kept} stays in force. Write the next version with what the note asks "
           f"(cpcm plan {case.id} --from-current --reason ...) within {limit.words()} of the rejection")
    if transitions.next_stage(case.stage, "review") is not None:  # not at a stage that refuses a review (a reopened case)
        why += f"; to keep version {kept} instead, record it at a case review (cpcm review {case.id} ...)"
    return [Deadline(case.id, "plan-revision", f"write the next plan version (version {version} was rejected)",
                     limit.after(at), None, case.worker, "plan_revision", why, _parts(policy).source("plan_revision"), case.risk)]


def _reviewed_since(case: Case, record_id: str | None) -> bool:
    """Whether a case review was recorded after record `record_id` (in the records' order, not by
    its time: a review dated the same minute but recorded before it does not count)."""
    for entry in reversed(case.history):
        if entry.id == record_id:
            return False
        if entry.kind == "review":
            return True
    return False


def _review_decision(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """IAG §3 Step 5 [L921], ESARO S5: the latest case review (in the records' order) of the cycle
    decided to replan, reassess or close (its outcome, the fold's `review.OUTCOME` event): that step is the case's worker's,
    within `review_decision.limit` of the review (cpcm's choice: the guidance gives no time), until it
    is recorded after the review: a plan version (not the latest withdrawn by its author: write
    another), a comprehensive assessment, or a closure request (one rejected or taken back since
    answered it: the supervisor's note, or the worker, decided otherwise). A later review decides
    again (its own outcome). The stage stays as it is until then: the step moves it (transitions).
    The item carries IDs, codes and dates only."""
    if case.status != "open":
        return []
    # the fold keeps the decision of the latest review only, in the records' order (a later review decides again)
    found = next(((o, case.events[event]) for o, event in REVIEW_DECIDED.items() if event in case.events), None)
    if found is None:  # most cases: nothing read further
        return []
    outcome, reviewed = found[0], max(found[1])
    start = case.cycle_start
    if (start and reviewed < start) or _decision_done(case, outcome, reviewed):
        return []
    zone = zone_of(now)
    at = _t(reviewed, zone)
    limit = _parts(policy).duration("review_decision", "limit")
    title, step, asked = _REVIEW_STEPS[outcome]
    why = (f"the review of {at.date().isoformat()} decided to {outcome}: {step.format(case=case.id)}, within "
           f"{limit.words()} of the review")
    return [Deadline(case.id, "review-decision", title, limit.after(at), None, case.worker, "review_decision", why,
                     _parts(policy).source("review_decision"), case.risk, asks=asked)]


# What a review's decision asks for (`_review_decision`), by its outcome: the item's title, the step (with the case's
# ID) and the commands of the stage table that do it
_REVIEW_STEPS = {
    "replan": ("write a new plan version (the review decided to replan)",
               "write a new plan version (cpcm plan {case} --from-current --reason review ..., or --edit --reason review)",
               ("plan",)),
    "reassess": ("comprehensive assessment (the review decided to reassess)",
                 "cpcm assess {case} --type comprehensive", ("assessment.comprehensive",)),
    "close": ("request closure (the review decided to close)", "cpcm close {case} --reason ...",
              ("closure", "closure.immediate")),
}


def review_decision_step(outcome: str | None, case_id: str) -> str | None:
    """The step a review that decided `outcome` asks of the case's worker, with the command (None
    for `continue`): the one text that `cpcm due` and what `cpcm review` says next share."""
    found = _REVIEW_STEPS.get(outcome or "")
    return f"the review decided to {outcome}: {found[1].format(case=case_id)}" if found else None


def _decision_done(case: Case, outcome: str, reviewed: str) -> bool:
    """Whether the step the review at `reviewed` decided was recorded after it: at or after its time,
    and after it in the records' order (a step dated the same minute but recorded before it, the
    review's own reason say, does not count)."""
    if outcome == "replan":
        plan = case.plan
        done = bool(plan and plan.get("at") and plan["at"] >= reviewed and not plan.get("withdrawn_at"))
        kinds: tuple[str, ...] = ("plan",)
    elif outcome == "reassess":
        done, kinds = case.last("assessment.comprehensive", reviewed) is not None, ("assessment",)
    else:
        done = case.last("closure", reviewed) is not None or case.last("closure.immediate", reviewed) is not None
        kinds = ("closure",)
    return done and _recorded_after_review(case, kinds, reviewed)


def _recorded_after_review(case: Case, kinds: tuple[str, ...], reviewed: str) -> bool:
    """Whether a record of one of `kinds` was recorded after the review at `reviewed` (UTC), in the
    records' order."""
    for entry in reversed(case.history):
        if entry.kind in kinds:
            return True
        if entry.kind == "review" and utc(entry.at) == reviewed:
            return False
    return False


def reunification_period(case: Case, policy: Policy, zone: tzinfo, at: str | None = None) -> tuple[datetime, datetime] | None:
    """The period after the latest reunification (`review_after_reunification.period`), its start
    and its end, in `zone` (calendar months and years counted there); None without a reunification,
    or while the child is no longer home (`placements.home_since`, at `at`, UTC, or now: back in
    residential care after a breakdown or a reopening), whose reviews are due at the ordinary
    interval (IAG §3 Step 5), as the monitoring visits stop."""
    reunified = placements.home_since(case, at)
    if not reunified:
        return None
    begin = _t(reunified, zone)
    return begin, _parts(policy).duration("review_after_reunification", "period").after(begin)


def review_interval(case: Case, policy: Policy, start: datetime, at: str | None = None):
    """The review interval of a review clock that starts at `start` (the plan's coming into force
    or the last review), and its rule: the after-reunification one when the clock starts before
    the period after the latest reunification ends (a clock that started before the reunification
    included) and the child is home (`placements.home_since`: at `at`, UTC, or now), else the
    ordinary one. The clock's start decides, not `now`: a review that fell due under the
    after-reunification interval stays due on that day once the period is over, and the ordinary
    interval counts from the first clock that starts after it (docs/workflow.md). A child back in
    residential care is reviewed at the ordinary interval."""
    period = reunification_period(case, policy, zone_of(start), at)
    if period is not None and period[0] < period[1] and start < period[1]:
        return _parts(policy).duration("review_after_reunification", "interval"), "review_after_reunification"
    return _parts(policy).duration("review", "interval"), "review"


def _review(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """The next case review: from the plan's coming into force or the last review of the cycle,
    whichever is later, while the case is planned. After a reopening, none until a plan comes into
    force since it (`before_reopening`, whatever `plan_action.due_after_reopening` keeps due): the
    reopened case is planned again (IAG Step 6 [L946]), and a clock from the plan of the episode
    the closure ended would fall due, or overdue, as soon as the case is planned again."""
    in_force = plan_in_force_at(case, policy)
    if case.status != "open" or not in_force or case.stage not in ("planned", "implementation", "closure_requested"):
        return []
    if plan_before_reopening(case, policy):
        return []
    last_review = case.last("review", case.cycle_start)
    start = max(in_force, last_review or in_force)
    zone = zone_of(now)
    begin = _t(start, zone)
    interval, rule = review_interval(case, policy, begin)
    due = interval.after(begin)
    why = f"review at least every {interval.words()} from the plan's start or the last review"
    if case.next_review and last_review and _t(case.next_review, zone) < due:
        due = end_of_day(date.fromisoformat(case.next_review[:10]), zone)
        why = "review on the date the last review set"
    return [Deadline(case.id, "review", "case review", due, None, case.worker, rule, why, _parts(policy).source(rule), case.risk)]


_APPROVAL_TITLES = {"plan": "approve or reject the case plan", "closure": "approve or reject the closure",
                    "transfer": "approve or reject the transfer",
                    "mandatory_report": "approve or reject the decision not to report"}


def _approvals(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """Each request waiting for a decision, for any supervisor or manager the policy lets
    decide it (approvals.barred names who may not)."""
    items = []
    limit = _parts(policy).duration("approval_response", "limit")
    if not approvals.has_requests(case):  # nothing to wait for
        return items
    zone = zone_of(now)
    for subject in approvals.SUBJECTS:
        request = approvals.waiting(policy, subject, case)  # of an open case; a plan only where the policy needs approval
        if request is None:
            continue
        asker = approvals.asker(request)
        asked = f", asked for{' by ' + asker if asker else ''} on {_t(request['at'], zone).date().isoformat()},"
        if subject == "plan":
            why = f"plan version {request['version']}{asked} waits for a supervisor's decision"
            stopped = transitions.stopped_by_outcome(case)
            if stopped:  # approving it is refused (transitions.check_outcome): say what the decision can be
                why += (f"; the initial assessment of {stopped[1][:10]} concluded '{stopped[0]}', so it can only be rejected "
                        f"(cpcm reject {case.id} plan --note ...)")
        elif subject == "closure":
            why = f"closure ({request.get('reason')}){asked} waits for a supervisor or manager"
        elif subject == "transfer":
            why = f"a transfer to {request.get('to')}{asked} waits for a supervisor or manager"
        else:
            why = (f"the decision not to make a mandatory report{asked} waits for a supervisor or manager "
                   f"(cpcm show {case.id} {request['record_id']}: its rationale)")
        rule = approvals.rule_of(subject)
        items.append(Deadline(case.id, approvals.item_code(subject), _APPROVAL_TITLES[subject], limit.after(_t(request["at"], zone)), None,
                              SUPERVISORS, rule, why, _parts(policy).source(rule), case.risk, requested_by=asker,
                              barred=tuple(sorted(approvals.barred(policy, subject, case)))))
    return items


def _mandatory_report(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """A decision on a mandatory report owed (workflow/mandatory_report.py `owed`), for the case's worker."""
    found = mandatory_rules.owed(case, policy, policy.reportable_since)  # from the later of the recording and the listing
    if found is None:
        return []
    since, concerns, rejected = found
    zone = zone_of(now)
    limit = _parts(policy).duration("mandatory_report", "limit")
    codes = ", ".join(concerns)
    if rejected is not None:
        why = (f"the decision not to report of {_t(rejected['at'], zone).date().isoformat()} was rejected by "
               f"{rejected.get('decided_by')} (cpcm show {case.id} shows the note): decide again")
    else:
        if any(mandatory_rules.listed_at(policy.reportable_since, c) == since for c in concerns):
            # owed from when the agency listed it, not from when the case recorded it (before)
            codes += f", listed by the agency's policy on {_t(since, zone).date().isoformat()}"
        why = f"the case has a concern the agency must report ({codes}): record the decision, reported or not, and why"
    why += f" within {limit.words()}: cpcm mandatory-report {case.id} --decision reported|not_reported ..."
    return [Deadline(case.id, "mandatory-report", "decide on the mandatory report", limit.after(_t(since, zone)), None,
                     case.worker, "mandatory_report", why, _parts(policy).source("mandatory_report"), case.risk)]


def _approved_transfer(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """A transfer a supervisor or manager approved whose bundle is not written yet, for the
    case's worker: until it is carried out (or taken back) the child is handed to no one, and
    each transfer already raises the chance that a child drops out of care (IAG Step 6)."""
    request = approvals.approved_not_sent(case)
    if request is None:
        return []
    limit = _parts(policy).duration("approval_response", "limit")
    decided = _t(request["decided_at"], zone_of(now))
    why = (f"the transfer was approved on {decided.date().isoformat()}: write its bundle within {limit.words()}, with the "
           f"command that asked for it (cpcm transfer {case.id} --to AGENCY ... --out FILE), so that the child is not left "
           f"between agencies; if it is no longer wanted, take it back (cpcm transfer {case.id} --withdraw --reason ...)")
    return [Deadline(case.id, "approved-transfer", "carry out the approved transfer", limit.after(decided), None, case.worker,
                     "transfer_approval", why, _parts(policy).source("transfer_approval"), case.risk)]


def _transfer_ack(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """A transfer whose receipt the receiving agency has not sent back (`cpcm transfer-ack` records
    it), for the case's worker, due `transfer_ack.limit` after the bundle was written and URGENT
    once overdue: the case is read-only here and the receiving agency has not said it holds it, so
    the child may have reached no one (IAG Step 6: each transfer raises the risk that the child drops
    out of care). The receipt for that transfer ends it, and so does the case's reopening here (the
    case came back); an earlier transfer's receipt does not. The receiving agency is named by the
    code the transfer was made to (`--to`: a service id of the directory or an agency code), never
    by a name."""
    sent = case.transfer_out
    if case.status != "transferred" or not sent or sent.get("acked_at"):
        return []
    limit = _parts(policy).duration("transfer_ack", "limit")
    at = _t(sent["at"], zone_of(now))
    due = limit.after(at)
    to = sent.get("to") or "the receiving agency"
    why = (f"the transfer of {at.date().isoformat()} has no receipt from {to} after {limit.words()}: nothing says the child "
           f"reached them. Follow it up with {to}; when their receipt (cpcm receive ... --receipt) comes, record it: "
           f"cpcm transfer-ack RECEIPT; if the case never reached them, reopen it here (cpcm reopen {case.id} --reason ...) "
           "and hand it over again")
    return [Deadline(case.id, "transfer-ack", titled("transfer-ack", f"transfer receipt not acknowledged: follow up with {to}",
                                                     overdue=now > due),
                     due, None, case.worker, "transfer_ack", why, _parts(policy).source("transfer_ack"), case.risk)]


def _plan_actions(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """Each action of the plan in force with a date (`by`), until it is marked done or dropped:
    due at the end of that day. The item names the action by its ID only (its text stays in the
    plan), so the due list and its calendar file carry no personal data. After a reopening, only
    once a plan is in force again (`plan_before_reopening`), and a mark made before the reopening
    does not finish an action of a version written since it (`plan_actions.marks_since`)."""
    parts = _parts(policy)
    items = []
    version = (plan_actions.in_force(case.plan, policy) or {}).get("version")
    listed, ended = _listed_actions(case, policy, zone_of(now))
    for action, due in listed:
        who = f" ({action['who']})" if action.get("who") else ""
        said = ended.get(action["id"])
        why = "" if not said else (f"; its referral {said[0]} was delivered: mark the action done" if said[1] == "delivered" else
                                   f"; its referral {said[0]} ended '{said[1]}': find another service or replan")
        items.append(Deadline(case.id, "plan-action", f"plan action {action['id']}{who}", due, None, case.worker, "plan_action",
                              f"the case plan (version {version}) sets action {action['id']} for {action['by']}{why}; when it is "
                              f"done: cpcm followup {case.id} ... --done {action['id']}", parts.source("plan_action"), case.risk))
    return items


def _listed_actions(case: Case, policy: Policy,
                    zone: tzinfo) -> tuple[list[tuple[Mapping[str, Any], datetime]], dict[str, tuple[str, str]]]:
    """The plan actions `due` lists (`_plan_actions`), each with its due time (the end of its day in
    `zone`): those of the plan in force of an open case, while they are due at all
    (`plan_actions_due`), open, dated, and not carried out by an open referral
    (`_carried_by_referral`, whose `ended` comes with them)."""
    if case.status != "open" or not plan_actions_due(case, policy):
        return [], {}
    carried, ended = _carried_by_referral(case, policy)
    listed = []
    for action in plan_actions.open_actions(case.plan, policy, case.reopenings):
        if not action.get("by") or action["id"] in carried:
            continue
        try:
            listed.append((action, plan_actions.due_at(action["by"], zone)))
        except ValueError:
            continue
    return listed, ended


def late_actions(case: Case, policy: Policy, now: datetime) -> set[str]:
    """The IDs of the plan actions that are late: due (`_listed_actions`, the items `due` lists)
    and past their date. What `cpcm show` marks `late`: an action a referral still carries out, or
    of a plan from before the latest reopening, is not due, so never late."""
    listed, _ended = _listed_actions(case, policy, zone_of(now))
    return {str(action["id"]) for action, due in listed if due < now}


def _carried_by_referral(case: Case, policy: Policy) -> tuple[set[str], dict[str, tuple[str, str]]]:
    """The plan actions a referral is carrying out (`cpcm refer --action A2`): those with a referral still open, whose
    own clocks (feedback, outcome) keep it on the list, so the action's item is not listed; and, for the others, the
    last referral that ended: action ID -> (its ref, `delivered` or how it ended without the service: declined, not
    delivered, closed before either). A referral from before a reopening the policy leaves undue (`_referrals`)
    carries nothing."""
    carried, ended = set(), {}
    for referral in case.referrals:
        action = referral.get("plan_action")
        if not action or (case.reopened and referral_before_reopening(case, referral, policy)):
            continue
        statuses = [step.get("status") for step in referral.get("history") or ()]
        if referral.get("status") not in ("declined", "not_delivered", "delivered", "closed"):
            carried.add(action)
        else:
            how = [s for s in statuses if s in ("declined", "not_delivered", "delivered")]
            ended[action] = (referral["ref"], str(how[-1] if how else referral.get("status")))
    return carried, ended


def _next_followup(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """The next follow-up as the latest follow-up planned it (followups.py: a date, or how often),
    until a later follow-up; open cases only."""
    plan = case.followup_plan
    zone = zone_of(now)
    due = followups.due(plan, case.last("followup"), zone) if case.status == "open" else None
    if due is None:
        return []
    planned_on = datetime.fromisoformat(plan["at"]).astimezone(zone).date().isoformat()
    why = f"{followups.planner(plan, planned_on)} planned {followups.words(plan)}"
    return [Deadline(case.id, "next-followup", "next follow-up", due, None, case.worker, "followup_schedule",
                     f"{why}: cpcm followup {case.id} ... (--next-followup DATE or --every DURATION plans the one after)",
                     _parts(policy).source("followup_schedule"), case.risk)]


def _conference_readiness(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """Kenya SOP §4 step 7: after a conference that discussed the case (the record its close wrote
    in the case), the child's readiness for reintegration commented on, where the policy asks it
    (`conference_readiness.required`), within `within`: until a readiness record or a
    comprehensive assessment's readiness comment after it. Open cases only; only for a child who is
    or has been apart from their family (`placements.separated`): the comment is on readiness for
    reintegration, which a child living with parents or relatives and never in care is not on."""
    parts = _parts(policy)
    if case.status != "open" or not parts.text(("conference_readiness", "required"),
                                               lambda: bool(policy.get("conference_readiness", "required", False))):
        return []
    discussed = case.last("conference", case.cycle_start)  # a conference before a reopening asks nothing of this cycle
    if not discussed or not placements.separated(case, placements.family_home(policy)):
        return []  # a child never apart from their family is on no path of reintegration (placement.at_home)
    met = case.last(CONFERENCE_MET, case.cycle_start) or discussed  # a comment made after the meeting, before its close, counts
    if _done(case, "conference-readiness", policy, met):
        return []
    within = parts.duration("conference_readiness", "within")
    return [Deadline(case.id, "conference-readiness", "readiness comment after the case conference",
                     within.after(_t(discussed, zone_of(now))), None, case.worker, "conference_readiness",
                     f"the case conference of {local_day(met, zone_of(now))} discussed the case: comment on the child's "
                     f"readiness for reintegration within {within.words()} (cpcm readiness {case.id} --occasion case_conference "
                     f"--notes TEXT: the comment alone will do)", parts.source("conference_readiness"), case.risk)]


def post_closure_visit_owed(case: Case, policy: Policy, closed: str | None = None, reason: str | None = None) -> bool:
    """THE rule of whether a closure owes a post-closure visit, read by `cpcm due` (`_post_closure_visit`),
    what a closure and its approval say comes next, the closure report and the timeliness report.

    Whose visit it is: the child's case's. A case merged into another (`cpcm merge-cases KEEP THIS`:
    a second case of the same child) owes none, closed before the merge or after it: the child's case
    goes on in KEEP, which owes its own visit when it is closed itself. An open duplicate keeps its
    clocks until it is closed as registered in error (merge-cases says so); a post-closure visit that
    found the risk increased still asks for its reopening (`_risk_after_closure`: the child's safety
    first). docs/commands/sync.md.

    After which closures: those whose reason the policy lists (`post_closure_visit.reasons`: the
    closures after services, IAG Step 6 [L936-944]; not a closure as registered in error, after a
    death, a transfer, ...: docs/workflow.md). `reason`: the closure's, where the case does not hold
    it yet (a closure being made or approved); else the reason of the closure at `closed` (a time of
    the fold's `closed` event, UTC: each closure of a case reopened since is judged by its own), the
    latest by default. A reason not known (a closure from before reasons were kept) owes the visit,
    as does every reason where the policy lists none. Computed, never stored: a change of the list
    changes it for the cases closed before too."""
    if case.merged_into is not None:
        return False
    return visit_owed_after(policy, reason if reason is not None else closure_reason(case, closed))


def visit_owed_after(policy: Policy, reason: str | None) -> bool:
    """Whether a closure for `reason` owes the post-closure visit under the policy
    (`post_closure_visit_owed`, which also asks whose case it is)."""
    owed = _parts(policy).text(("post_closure_visit", "reasons"), lambda: _owed_reasons(policy))
    return not owed or reason is None or reason not in owed[1] or reason in owed[0]


def _owed_reasons(policy: Policy) -> tuple[frozenset[str], frozenset[str]] | tuple[()]:
    """The reasons that owe the visit and the closure reasons the policy knows; () where the
    policy lists none (every closure owes it, as before the list)."""
    listed = policy.get("post_closure_visit", "reasons")
    if not isinstance(listed, (list, tuple)):
        return ()
    return frozenset(str(r) for r in listed), frozenset(policy.closure_reasons)


def closure_reason(case: Case, closed: str | None = None) -> str | None:
    """The reason of the case's closure at `closed` (a time of the fold's `closed` event, UTC; the
    latest by default): the fold keeps an event `closed.REASON` per closure, at the same time. None
    where none is kept."""
    closed = closed or case.last("closed")
    if not closed:
        return None
    for name, times in case.events.items():
        if name.startswith("closed.") and closed in times:
            reason = name[len("closed."):]
            return reason if reason and reason != "None" else None
    return None


def _post_closure_visit(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    closed = case.last("closed")
    if case.status != "closed" or not closed or not post_closure_visit_owed(case, policy, closed) \
            or _done(case, "post-closure-visit", policy, closed):
        return []
    limit = _parts(policy).duration("post_closure_visit", "limit")
    return [Deadline(case.id, "post-closure-visit", "post-closure visit", limit.after(_t(closed, zone_of(now))), None, case.worker,
                     "post_closure_visit", f"a visit within {limit.words()} of closure, collecting the child's and family's feedback",
                     _parts(policy).source("post_closure_visit"), case.risk)]


_MIDNIGHT = time(0, 0)


def turning_18_opens(case: Case, policy: Policy, zone: tzinfo | None) -> datetime | None:
    """When the case's turning-18 item opens, in `zone`: the policy's notice (`turning_18.notice`)
    before the start of the birthday. A continuation (cpcm continue) or closure recorded before
    then does not meet the item; None for a case with no date of birth."""
    if case.birth_date() is None:
        return None
    parts = _parts(policy)
    birthday = case.turns(parts.text(("child_age_limit",), lambda: age_limit(policy)))
    starts = datetime.combine(birthday, _MIDNIGHT, tzinfo=zone)
    notice = parts.duration("turning_18", "notice")
    return starts - (notice.after(starts) - starts)


def _turning_18(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    if case.status != "open" or case.birth_date() is None:
        return []
    parts = _parts(policy)
    years = parts.text(("child_age_limit",), lambda: age_limit(policy))
    birthday = case.turns(years)  # the one rule for the day, as a closure for reached_18 reads it (transitions)
    # due by the end of the birthday: a closure for reached_18 is taken from that day, so the day is the worker's to act
    due = end_of_day(birthday, now.tzinfo)
    opens = turning_18_opens(case, policy, now.tzinfo)
    if now < opens or _done(case, "turning-18", policy, opens.astimezone(timezone.utc).isoformat(timespec="seconds")):
        return []
    return [Deadline(case.id, "turning-18", f"turns {years}: propose closure (reached_18) or record why the case stays open", due,
                     None, case.worker, "turning_18", f"the child turns {years} on {birthday.isoformat()}",
                     parts.source("turning_18"), case.risk)]


def awaiting_feedback(ref) -> bool:
    """Whether the provider has not yet answered referral `ref` (an entry of `case.referrals`): its
    status is one the `referral-feedback` clock waits at (sent, acknowledged), not one that meets it."""
    return ref["status"] not in BY_CODE["referral-feedback"].done


def feedback_due(ref, policy: Policy, zone: tzinfo) -> datetime:
    """When the provider's feedback on referral `ref` is due: `referral_feedback.limit` after it was
    sent, counted in `zone` (the agency's). The one rule of the `referral-feedback` item of `cpcm due`
    and of the referrals report (past the limit: awaiting feedback, and `now` after this)."""
    return _parts(policy).duration("referral_feedback", "limit").after(_t(ref["at"], zone))


def _referrals(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    if case.status != "open":
        return []
    items = []
    zone = zone_of(now)
    limit = _parts(policy).duration("referral_feedback", "limit")
    if not case.referrals:
        return items
    follow_up, outcome = BY_CODE["referral-follow-up"], BY_CODE["referral-outcome"]
    reopened = case.reopened
    for ref in case.referrals:
        if reopened and referral_before_reopening(case, ref, policy):
            continue
        name = f"referral {ref['ref']} ({ref.get('service')})"
        if awaiting_feedback(ref):
            items.append(Deadline(case.id, "referral-feedback", f"feedback on {name}", feedback_due(ref, policy, zone), None, case.worker,
                                  "referral_feedback", f"the provider's feedback is expected within {limit.words()} of the referral; "
                                  "follow it up (the caseworker stays responsible)", _parts(policy).source("referral_feedback"), case.risk))
        elif ref["status"] in follow_up.starts:
            items.append(Deadline(case.id, "referral-follow-up", f"{name} was {ref['status'].replace('_', ' ')}: find another way",
                                  _t(ref["status_at"], zone), None, case.worker, "referral_feedback",
                                  "a declined or undelivered referral needs another service or a new plan; close it with the reason",
                                  _parts(policy).source("referral_feedback"), case.risk))
        elif ref["status"] in outcome.starts and ref.get("start") and ref.get("expected_duration"):
            try:
                end = _after_start(ref["start"], parse_duration(ref["expected_duration"]), zone)
            except ValueError:
                continue
            items.append(Deadline(case.id, "referral-outcome", f"outcome of {name}", end, None, case.worker, "referral_checks",
                                  "the service's expected end: record whether it was delivered (tracked to an outcome)",
                                  _parts(policy).source("referral_checks"), case.risk))
    return items


def _urgent(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """A follow-up that found the risk increased; a volunteer's concern for the assigned worker; a readiness
    record with a stop answer (Form 7A: the child not free of violence, or not safe on the way to school).
    On a closed case: a post-closure visit that found the risk increased (`_risk_after_closure`)."""
    if case.status != "open":
        return _risk_after_closure(case, policy, now)
    items = []
    zone = zone_of(now)
    increased = case.last("risk_increased")
    # open while no re-rating was recorded after the follow-up that found the increase (fold.RISK_UNANSWERED:
    # in the records' order, and not that follow-up's own re-rating: the response is still to come,
    # docs/workflow.md), or while none came at or after its time (an assessment dated the same day but
    # recorded before the increase does not answer it)
    unanswered = case.last("risk_unanswered")
    if unanswered or (increased and not _done(case, "risk-increased", policy, increased)):
        increased = unanswered or increased
        items.append(Deadline(case.id, "risk-increased", titled("risk-increased", "the risk has increased: re-rate it and act"),
                              _t(increased, zone), None,
                              case.worker, "risk_response", "a follow-up found the risk increased; re-rate it (cpcm assess) and respond",
                              _parts(policy).source("risk_response"), case.risk))
    concern = case.last("concern")
    if concern and not any(t > concern for event in done_events("concern", policy) for t in case.events.get(event, ())):
        limit = _parts(policy).duration("volunteer_concern", "limit")
        items.append(Deadline(case.id, "concern", "a concern reported at a follow-up: look into it", limit.after(_t(concern, zone)), None,
                              case.worker, "volunteer_concern", f"follow up a reported concern within {limit.words()}",
                              _parts(policy).source("volunteer_concern"), case.risk))
    stop = case.last("readiness_stop")
    if stop and not _done(case, "readiness-stop", policy, stop):
        limit = _parts(policy).duration("readiness_stop", "limit") if "readiness_stop" in policy.rules else parse_duration("same_day")
        items.append(Deadline(case.id, "readiness-stop", titled("readiness-stop", "a readiness stop answer: act on it now"),
                              limit.after(_t(stop, zone)),
                              None, case.worker, "readiness_stop",
                              "the readiness record (Form 7A) gave an answer the form marks as a stop (the child not free of "
                              "violence: start the child-protection reporting protocol; not travelling safely to school: the case "
                              "cannot be closed); record what was done: cpcm followup --purpose crisis",
                              _parts(policy).source("readiness_stop"), case.risk))
    return items


_RISK_AFTER_CLOSURE = titled("risk-increased", "the risk has increased since closure: reopen the case")


def _risk_after_closure(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """A follow-up dated after the closure that found the risk increased: nothing else is due on a closed case, so
    the one way to act on it, reopening the case (IAG Step 6: at any time, back to assessment), is
    due at once, until the case is reopened (then the open case's item stands until the risk is
    checked again)."""
    closed = case.last("closed")
    increased = case.last("risk_increased", closed) if case.status == "closed" and closed else None
    if not increased:
        return []
    return [Deadline(case.id, "risk-increased", _RISK_AFTER_CLOSURE,
                     _t(increased, zone_of(now)), None, case.worker, "risk_response",
                     "a follow-up dated after the closure (a post-closure visit, a call, or one written on a copy that had "
                     f"not yet heard of the closure) found the risk increased; reopen the case (cpcm reopen {case.id} --reason "
                     "...) and reassess it", _parts(policy).source("risk_response"), case.risk, asks=("reopen",))]


_STEP_TITLE = "reintegration: "
# what the next step of reintegration asks for (`_placements`, placements.next_step_due: one of these): that step's own
# command of the stage table (a step not named here would ask for its clock's)
_STEP_ASKS = {"tracing": ("tracing",), "family_assessment": ("family_assessment",), "best_interests": ("assessment.best_interests",),
              "preparation": ("preparation",), "reunification": ("placement",)}


def _placements(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """The next step of reintegration while the child is in residential care; the next monitoring
    visit after reunification (home, or family-based out of residential care); the expiry of the
    court order behind the current placement; the best-interests record a placement made without
    one still owes (cpcm.workflow.placements)."""
    items = []
    step = placements.next_step_due(case, policy, now)
    if step is not None:
        due, following, since = step
        limit = _parts(policy).duration("reintegration_steps", "limit")
        items.append(Deadline(case.id, "reintegration-step", _STEP_TITLE + following["title"], due, None, case.worker,
                              "reintegration_steps", f"the child is in residential care: the next step of reintegration within "
                              f"{limit.words()} of the last ({following['command'].replace('CASE', case.id)})",
                              _parts(policy).source("reintegration_steps"), case.risk, asks=_STEP_ASKS.get(following["step"])))
    visit = placements.monitoring_visit(case, policy, now)
    if visit is not None:
        since = _t(visit.since, zone_of(now)).date().isoformat()  # the day in the zone of `now`, not in UTC
        items.append(Deadline(case.id, "monitoring-visit", f"monitoring visit {visit.number} after reunification", visit.due, None,
                              case.worker, "placement_monitoring",
                              f"a home visit every {visit.interval} after the placement of {since} "
                              f"(cpcm followup {case.id} --method home_visit --purpose monitoring)",
                              _parts(policy).source("placement_monitoring"), case.risk))
    order = placements.court_order_expiry(case, policy, now)
    if order is not None:
        items.append(Deadline(case.id, "court-order", "court order expires: renew it or end the placement", order.expires,
                              order.target, case.worker, "court_order",
                              "the court order behind the current placement lapses on this day; record the renewed order "
                              f"(cpcm placement {case.id} ... --court-order-expires DATE) or the new placement",
                              _parts(policy).source("court_order"), case.risk))
    placed = placements.best_interests_owed(case)
    if placed is not None and "placement_best_interests" in policy.rules:
        limit = _parts(policy).duration("placement_best_interests", "limit")
        day = _t(placed, zone_of(now)).date().isoformat()
        if placements.owed_for_plan(case, placed):  # the return home a plan for reunification_done recorded
            title, moved, what = ("record the best-interests assessment of the return home",
                                  f"the child's return home (a plan for reunification_done) was recorded on {day}", "it")
        else:
            title, moved, what = ("record the best-interests assessment of the placement", f"the child was placed on {day}",
                                  "the placement")
        items.append(Deadline(case.id, "placement-best-interests", title,
                              limit.after(_t(placed, zone_of(now))), None, case.worker, "placement_best_interests",
                              f"{moved} on a supervisor's reason, without a best-interests record: it is "
                              f"still owed, within {limit.words()} of {what} (cpcm assess {case.id} --type best-interests)",
                              _parts(policy).source("placement_best_interests"), case.risk))
    return items


# the deadlines a case has once it is no longer open (each other rule gives nothing then): what tells an
# item of a closed case from one of an open case without the case (rules.unattended_hint: what to do about it)
NOT_OPEN_CODES = frozenset({"post-closure-visit", "transfer-ack"})


# An action taken on a consent that is no longer valid for it (workflow/consent.py, as the fold keeps them: a referral
# whose consent its giver answered otherwise since, or that a correction took away; a transfer request asked for on a
# consent a correction took away): `cpcm check` reports each (an error, of the same code) and `due` lists it for the
# case's worker, due from when the consent went (the answer, at its own time; the correction, when it was written: it
# keeps the time of the consent it corrects), so overdue from then on. The words are the consent rule's own
# (`withdrawn_text`, `corrected_away_text`): what happened and the commands to put it right.
CONSENT_CODES = frozenset({"referral-consent-withdrawn", "referral-consent-corrected", "transfer-consent-corrected"})


def _consent(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    if case.status != "open":
        return []
    request = case.transfer_request
    if not case.referrals and not request:  # most cases: nothing read further
        return []
    found = []
    answered = {entry.id: entry.at for entry in case.history}  # an answer: when it was given (its --at)
    corrected = {entry.id: entry.recorded_at for entry in case.history}  # a correction: when it was written
    for ref in case.referrals:
        name = f"referral {ref['ref']} ({ref.get('service')})"
        for item in consent_rules.open_withdrawn(ref):
            found.append(("referral-consent-withdrawn", f"{name}: its consent withdrawn", answered.get(item["answer"]),
                          consent_rules.withdrawn_text(case.id, ref["ref"], item)))
        for item in consent_rules.open_corrected_away(ref):
            found.append(("referral-consent-corrected", f"{name}: its consent corrected away", corrected.get(item["correction"]),
                          consent_rules.corrected_away_text(case.id, ref["ref"], item)))
    for item in consent_rules.open_corrected_away(request):
        found.append(("transfer-consent-corrected", "transfer request: its consent corrected away",
                      corrected.get(item["correction"]), consent_rules.corrected_away_text(case.id, request["record_id"], item)))
    if not found:
        return []
    zone = zone_of(now)
    source = _parts(policy).source("consent")
    return [Deadline(case.id, code, title, _t(since or case.registered_at, zone), None, case.worker, "consent",
                     why, source, case.risk) for code, title, since, why in found]

# Consent to the case's work (registration) refused, given without explaining what the policy lists (not informed), or
# not answered since the case was received, with no supervisor's override (workflow/consent.py `case_work`): one item,
# the case's worker's, listed for every supervisor and manager too (`OVERSEEN_CODES`, `for_worker`: they record the
# override), due `consent_decision.limit` after the answer (or the receipt), until the answer is given (explained) or
# the override recorded. Its texts name no case (CASE for the command): one text for every case.
CASE_WORK_ITEMS = {
    "refused": ("consent-refused", "consent to registration refused: a supervisor's override, or the answer given again"),
    "missing": ("consent-missing", "consent to registration not recorded since the case was received"),
    "not_informed": ("consent-not-informed", "consent to registration given without explaining it: record it again, explained"),
}
# the `consent-refused` item where nobody refused, but no giver could answer (`CaseWork.not_possible`): worded by state
NOT_POSSIBLE_TITLE = "consent to registration not possible: a supervisor's override (best interests) is owed"
# the items of a case's worker that every supervisor's and manager's list holds too
OVERSEEN_CODES = frozenset(code for code, _title in CASE_WORK_ITEMS.values())


def _case_work_consent(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    if "consent_decision" not in policy.rules:
        return []
    found = consent_rules.case_work(case, policy, now)
    if found is None:
        return []
    zone = zone_of(now)
    written = {entry.id: entry.at for entry in case.history}
    since = _t(written.get(found.since or "") or case.registered_at, zone)
    due = _parts(policy).duration("consent_decision", "limit").after(since)
    age = case.age_on(now.date()) if policy.get("consent", "child_from_age") else None
    why = consent_rules.case_work_text("CASE", found, policy, consent_rules.givers(policy, age))
    code, title = CASE_WORK_ITEMS[found.state]
    title = NOT_POSSIBLE_TITLE if found.not_possible else title
    return [Deadline(case.id, code, title, due, None, case.worker, "consent_decision", why,
                     _parts(policy).source("consent_decision"), case.risk)]


def _retention(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """A closed or transferred case whose retention period (`retention.closed_for`) has ended, or the day
    a manager kept it until has come: a manager decides, keep or restrict (workflow/retention.py). For
    the managers only (`MANAGERS`, `for_worker`); none for a case restricted since it closed."""
    if case.status == "open":
        return []
    zone = zone_of(now)
    due = retention.due_at(case, policy, zone)
    if due is None:
        return []
    return [Deadline(case.id, retention.CODE, retention.TITLE, due, None, MANAGERS, retention.RULE,
                     retention.why(case, policy, now), _parts(policy).source(retention.RULE), case.risk,
                     asks=("retention",))]


def _restricted_open(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """An open case still restricted to the managers (workflow/retention.py `restricted_open`): a manager
    reopened it and gave it to no worker, or a sync met a reopening on one copy with a restriction on the
    other. Nobody but the managers reads it and its worker holds none of its deadlines: a manager gives it
    to a worker (`cpcm assign CASE --worker W`). For the managers only (`MANAGERS`), due since it became so."""
    if not retention.restricted_open(case):
        return []
    zone = zone_of(now)
    since = max((t for t in (_t(case.reopened, zone), _t((case.restriction or {}).get("at"), zone)) if t is not None),
                default=None)
    return [Deadline(case.id, retention.OPEN_CODE, retention.OPEN_TITLE, since or now, None, MANAGERS, retention.RULE,
                     retention.restricted_open_why(case), _parts(policy).source(retention.RULE), case.risk,
                     asks=("assignment",))]


def restriction_mismatch(case: Case, policy: Policy, now: datetime, line: bool) -> list[Deadline]:
    """The case's `recipients` file says other than its records of its restriction to the managers (`line`: its
    `# restricted` line; workflow/retention.py `mismatch`): a manager runs the command the item names, which writes the
    file as the records have it (the text `cpcm check` and `cpcm verify` give too). For the managers only (`MANAGERS`),
    due since the records' restriction or the assignment that ended it; never filtered by the stage (a fault of the
    folder, not a step of the case). Not among `RULES`: the line is not in the records; the due table asks it where it
    reads the case's folder (service/tables.py)."""
    if not retention.mismatch(case, line):
        return []
    zone = zone_of(now)
    since = _t((case.restriction or {}).get("at") if retention.restricted(case) else case.last("assignment"), zone)
    return [Deadline(case.id, retention.MISMATCH_CODE, retention.MISMATCH_TITLE, since or _t(case.last_at, zone) or now, None,
                     MANAGERS, retention.RULE, retention.mismatch_why(case, line), _parts(policy).source(retention.RULE),
                     case.risk)]


# a folder whose `recipients` file says its records are still encrypted to an earlier key of one of its readers (its
# `# rekey: WORKER` lines: a key change, cpcm key rotate or team recover, made by someone who could not read it): its
# readers who act on it bring it to the keys as they are now with cpcm team sync. Complaints and strictly confidential
# entries say so under their readers' codes (workflow/complaints.py `readers_lag_item`)
REKEY_CODES = {"case": "case-readers", "conference": "conference-readers", "supervision session": "supervision-readers"}
REKEY_RULE = "keys"
REKEY_SOURCE = ("ESARO §5d (confidentiality: a record is read by those who may read it, and only them); IAG record keeping "
                "[L648]; a worker's new key reads what they read: cpcm's rule for a key change made by someone who could not "
                "read a folder")


def readers_rekey(subject: str, what: str, folder_id: str, since: datetime, owner: str, risk: str | None = None) -> Deadline:
    """The item of a folder (`what`: "case", "conference" or "supervision session"; `folder_id` its ID) whose
    records are still encrypted to an earlier key of one of its readers (its `# rekey:` lines), for `owner` (the
    supervisors and managers who read it; the managers of a case restricted to them), due since `since`; it names
    the folder, never a worker."""
    why = (f"the {what} {folder_id} still has records encrypted to an old key of one of its readers (a key change made by "
           "someone who could not read it): only its other readers can open them; bring it to the keys as they are now "
           "with cpcm team sync")
    return Deadline(subject, REKEY_CODES[what], f"{what} {folder_id}: its readers to bring in line", since, None, owner,
                    REKEY_RULE, why, REKEY_SOURCE, risk)


def case_rekey(case: Case, now: datetime, rekey, restricted: bool) -> list[Deadline]:
    """A case's `readers_rekey` item where its `recipients` file has `# rekey:` lines (`rekey`; `case_rekey_item`).
    Not among `RULES`: the lines are not in the records; the due table keeps whether they are there in the case's
    entry (service/tables.py `worker_cell`), and `due` makes the item from that when it runs."""
    if not tuple(rekey):
        return []
    return [case_rekey_item(case.id, now, restricted, case.risk)]


def case_rekey_item(case_id: str, now: datetime, restricted: bool, risk: str | None = None) -> Deadline:
    """The `readers_rekey` item of a case marked for its readers (its `# rekey:` lines): for the supervisors and
    managers, the managers only where it is restricted to them (`restricted`: its `# restricted` line), due at once
    (`now`, as a complaint's, a conference's or a session's: when the lines were written is not in the records, and
    the case's age is not how late it is). `due` makes it when it runs, from what the due table keeps of the case
    (service/tables.py `worker_cell`): no case is read for it, and the case's deadlines stay kept."""
    owner = MANAGERS if restricted else SUPERVISORS
    return readers_rekey(case_id, "case", case_id, now.astimezone(zone_of(now)), owner, risk)


RULES: tuple[Callable, ...] = (
    _initial_assessment, _risk_response, _interim_plan, _comprehensive_assessment, _case_plan, _plan_revision, _approvals,
    _approved_transfer, _transfer_ack, _mandatory_report,
    _post_closure_visit, _retention, _restricted_open,
    _referrals, _consent, _case_work_consent, _urgent,
    _review, _review_decision, _turning_18, _plan_actions, _next_followup, _conference_readiness, _placements,
)


def deadlines(case: Case, policy: Policy, now: datetime) -> list[Deadline]:
    """Everything open on a case: what is due, when, for whom and why (times in the zone of `now`),
    of what the case's stage allows (`at_stage`)."""
    items: list[Deadline] = []
    for rule in RULES:
        items += rule(case, policy, now)
    if items:
        items += _step_consent(case, policy, now, items)
    return at_stage(case, items, policy) if items else items


# The steps `due` asks for that check consent where the policy lists them (`consent.checked_at`), by the code of
# the item that asks for each: before it, the consent it checks where the one consent rule (workflow/consent.py
# `check`, `at_step`) says the step would be refused on it (a giver refused, or could not give it, and no
# supervisor's override stands in): a supervisor's override, or the answer recorded again, has to come first. A
# consent only missing (never recorded, ended, or a one-off used) is not listed: the step goes ahead with a warning,
# and the consent is asked for at the visit that does it. One item per purpose, for the case's worker, due with the
# step. Its texts name no case (the command says CASE, the item's case): the due table and view keep each distinct
# text once (a text per case would grow them with the cases).
STEP_CONSENT = {"comprehensive-assessment": "comprehensive", "placement-best-interests": "best_interests",
                "initial-assessment": "initial"}
STEP_CONSENT_CODES = frozenset({"step-consent-refused"})


def _step_consent(case: Case, policy: Policy, now: datetime, items: list[Deadline]) -> list[Deadline]:
    steps = [(item, STEP_CONSENT[item.code]) for item in items if item.code in STEP_CONSENT and item.asks is None]
    if not steps or not case.consents:  # nothing recorded: nothing refused
        return []
    parts = _parts(policy)
    found, seen = [], set()
    records: list | None = None
    for item, step in steps:
        purpose = consent_rules.checked_purpose(policy, step)  # the one place that reads consent.checked_at
        if purpose is None or purpose in seen:
            continue
        seen.add(purpose)
        if records is None:
            records, used = consent_rules.from_kept(case.consents)
        age = case.age_on(now.date()) if policy.get("consent", "child_from_age") else None
        # the initial assessment of a child at a risk answered the same day is never held up (act first)
        act_first = step == "initial" and item.title.startswith(URGENT)
        result = consent_rules.check(records, purpose, None, policy, now, child_age=age, used=used)
        if consent_rules.at_step(result, act_first) != "refuse":
            continue
        words = consent_rules.STEP_WORDS.get(step, step)
        givers = consent_rules.givers(policy, age)
        record = (f"cpcm consent CASE --purpose {purpose} {' '.join(f'--by {g}' for g in givers)} --status given "
                  "--explained all")
        roles = " or ".join(policy.rules["consent"].get("override_roles", ("supervisor", "manager")))
        bases = "|".join(policy.rules["consent"].get("override_bases", ()))
        found.append(Deadline(
            case.id, "step-consent-refused", f"consent for {purpose} refused: {words} needs an override", item.due,
            item.target, case.worker, "consent",
            f"{words} checks consent for {purpose} (ESARO P6): {result.why_not()}, and no supervisor's override stands "
            f"in, so it is refused; a {roles} records one with its basis (cpcm consent CASE --override --purpose "
            f"{purpose} --basis {bases} --reason ...), or, where the answer has changed, record it ({record})",
            parts.source("consent"), case.risk))
    return found


# -- what the stage allows ---------------------------------------------------------------------------
# An item asks for a step, a command of the stage table (transitions.TABLE): its clock's `asks`, any
# one of which does it, or, for the items that ask otherwise than their clock's others, their own
# (`Deadline.asks`, set by the rule that makes them: `_outcome_step`, `_placements`, `_risk_after_closure`).
# `due` and `check` never ask for a step the case's stage refuses: an item whose steps the stage
# refuses all is not listed (`at_stage`).
# While a closure is requested, what asks for one is answered by the request (a child turning 18 whose
# closure is proposed; an initial assessment that concluded the case closes): the decision on it is
# what is due, on a supervisor's list. If it is rejected or withdrawn, the item comes back; once it is
# approved the case is closed (and for turning 18 the closure meets the clock: clocks.CLOCKS).
_ANSWERED_BY_STAGE = {"closure_requested": "closure"}


def closure_answers(case: Case) -> bool:
    """Whether the case's stage answers what asks for its closure (`_ANSWERED_BY_STAGE`: a closure
    requested and waiting): `cpcm check`'s age-18 rule asks it too."""
    return _ANSWERED_BY_STAGE.get(case.stage or "") == "closure"


def asks(item: Deadline) -> tuple[str, ...]:
    """The steps `item` asks for (commands of the stage table), any one of which does it; () for an
    item outside the stage table (a conference's). Its own (`Deadline.asks`), else its clock's."""
    found = item.asks
    if found is not None:
        return found
    clock = BY_CODE.get(item.code)
    return clock.asks if clock is not None else ()


def _listed_at(stage: str | None, steps: tuple[str, ...]) -> bool:
    """Whether an item asking for `steps` is listed at `stage` (`at_stage`), kept by both (few of each)."""
    key = (stage, steps)
    found = _LISTED.get(key)
    if found is None:
        found = _LISTED[key] = (not steps or (_ANSWERED_BY_STAGE.get(stage or "") not in steps
                                              and any(transitions.next_stage(stage, step) is not None for step in steps)))
    return found


_LISTED: dict[tuple[str | None, tuple[str, ...]], bool] = {}


def at_stage(case: Case, items: list[Deadline], policy: Policy | None = None) -> list[Deadline]:
    """`items` as the case's stage allows them: those it refuses every step of (`asks`) left out,
    or answered by the stage (`_ANSWERED_BY_STAGE`); and, for an obligation that goes on at that
    stage with fewer steps than its text names (a response to the risk while a closure is
    requested), its text naming the steps there are (`_STAGE_WHY`), with the ways out of the wait
    for the closure's decision, and who asked for it and who may not decide it (`closure_wait`:
    `due` words those ways for its team; without `policy`, who may not decide it is left out)."""
    stage = case.stage
    kept = []
    for item in items:
        if not _listed_at(stage, asks(item)):
            continue
        why = _STAGE_WHY.get((item.code, stage))
        kept.append(_waiting_on_closure(case, item, why, policy) if why is not None else item)
    return kept


def _waiting_on_closure(case: Case, item: Deadline, why: Callable[[str, str], str], policy: Policy | None) -> Deadline:
    """`item`, an obligation that goes on while the case's closure is requested, with its text for
    that stage (`why`), ending with the ways out of the wait as they are where someone may decide the
    closure and its asker may withdraw it (`approvals.closure_ways_out`), and carrying who asked
    (`requested_by`) and whom the request bars from deciding it (`barred`), so that `due` words the
    ways out for the team it lists for (`closure_wait`)."""
    closure = case.closure or {}
    asked_by = approvals.asker(closure)
    barred = tuple(sorted(approvals.barred_by(policy, "closure", case, closure))) if policy is not None else ()
    text = why(item.why, case.id) + _UNTIL_DECIDED + approvals.closure_ways_out(case.id, asked_by)
    return replace(item, why=text, requested_by=asked_by, barred=barred)


# the wait for a closure's decision, for what needs more than a follow-up while it waits; then its ways out
_UNTIL_DECIDED = "; an initial or comprehensive assessment, a referral or a new plan wait for the closure's decision: "
# Obligations that go on while a closure is requested (the response to the risk, a risk found increased): of what
# answers them, the stage table allows a follow-up then (and a best-interests assessment, a care decision, not what
# they ask a worker for), so their text names the follow-up, and what ends the wait for more (`_waiting_on_closure`).
# Each is given the item's own text and the case's id.
_STAGE_WHY: dict[tuple[str, str], Callable[[str, str], str]] = {
    ("risk-response", "closure_requested"): lambda why, case_id: (
        why.replace(RESPONSES_TEXT, f"(while the closure is requested, a follow-up: cpcm followup {case_id} ...)")),
    ("risk-increased", "closure_requested"): lambda why, case_id: (
        f"a follow-up found the risk increased; while the closure is requested, re-rate it at a follow-up "
        f"(cpcm followup {case_id} ... --risk LEVEL --risk-reason TEXT) and respond"),
}
# the codes of the items whose text ends with the ways out of a closure's wait (`_waiting_on_closure`)
WAITING_ON_CLOSURE = frozenset(code for code, _stage in _STAGE_WHY)


def closure_wait(item: Deadline, decidable: bool, withdrawable: bool) -> Deadline:
    """`item` with the ways out of the wait for the case's closure decision worded for a team
    (`approvals.closure_ways_out`: `decidable`, someone in it may decide the closure; `withdrawable`,
    the one who asked is an active member of it), told by `rules.NobodyDecides.told`; the item
    itself when it is not one of those (`WAITING_ON_CLOSURE`, with who asked) or the ways are the
    ones its text names already (someone may decide it, its asker may withdraw it)."""
    if (decidable and withdrawable) or item.code not in WAITING_ON_CLOSURE or item.requested_by is None:
        return item
    made = approvals.closure_ways_out(item.case_id, item.requested_by)
    if not item.why.endswith(made):
        return item
    worded = approvals.closure_ways_out(item.case_id, item.requested_by, decidable, withdrawable)
    return replace(item, why=item.why[:len(item.why) - len(made)] + worded)


def soon_window(policy: Policy, now: datetime) -> timedelta:
    return _parts(policy).duration("due_soon", "within").after(now) - now


def urgency(item: Deadline, now: datetime, soon: timedelta) -> tuple:
    """Most urgent first: the items cpcm calls URGENT (`is_urgent`) before every other, then
    overdue (longest overdue first), target missed, due soon, upcoming; within each, by due time,
    then by risk."""
    return (not is_urgent(item), STATES.index(item.state(now, soon)), item.due, risk_rank(item.risk), item.case_id)


def told_to(item: Deadline, manages: bool) -> bool:
    """Whether `item` is told to one who is an active manager (`manages`) or is not: an item only a
    manager acts on (`MANAGERS`: a closed case's retention, a restricted case) is on the managers'
    `cpcm due` and `cpcm check` only (docs/workflow.md#retention-of-closed-cases); every other item
    is told to whoever reads the case, each list keeping those it is for (`for_worker`)."""
    return manages or item.owner != MANAGERS


def for_worker(item: Deadline, worker: str, oversees: bool, manages: bool = False) -> bool:
    """Whether `worker` is the one to act (`oversees`: whether they are an active supervisor or
    manager, `approvals.approves`; `manages`: an active manager): the case's worker, or, for an
    approval, one the rule lets decide it (`approvals.may_decide`, told from who the item bars: not
    the one who asked for it, nor for a closure the case's worker, unless the policy allows
    self-approval), or for a closed case's retention (`MANAGERS`) a manager; an item of `OVERSEEN_CODES` (consent
    to the case's work unsettled: a supervisor's override settles it) is every supervisor's and manager's too."""
    if item.owner == SUPERVISORS:
        return approvals.may_decide(worker, oversees, item.barred)
    if item.owner == MANAGERS:
        return told_to(item, manages)
    return item.owner == worker or (oversees and item.code in OVERSEEN_CODES)
