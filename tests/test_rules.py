"""Each rule has one definition, and every reader of it agrees: the clock table (`cpcm due`
and the timeliness report), the caseload cap (`cpcm check`, `cpcm assign`, the caseload
report), who may approve (`cpcm approve`/`reject`, the due list, the caseload report), the
open items (`cpcm close` and the closure and transfer documents). Pure: no disk, no git."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cpcm.store import policies
from cpcm.domain.dates import as_date
from cpcm.domain.policy import RISK_ORDER, risk_rank
from cpcm.domain.records import Record
from cpcm.domain.team import Team, Worker
from cpcm.reports.caseload import caseload
from cpcm.reports.timeliness import case_clocks
from cpcm.workflow import approvals, clocks, open_items
from cpcm.workflow.deadlines import deadlines, for_worker, review_interval
from cpcm.workflow.fold import fold
from cpcm.domain.profiles import build
from cpcm.workflow.rules import caseload_decision, caseload_state, caseloads, check_caseload_counts

EAT = timezone(timedelta(hours=3))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=EAT)
H, D = timedelta(hours=1), timedelta(days=1)
INTER = policies.load("inter-agency")
CASE = "CP-TEST-0000"
TEAM = Team((Worker("sup", "Supervisor", ("supervisor",), "age1sup"),
             Worker("boss", "Manager", ("manager",), "age1boss"),
             Worker("amina", "Amina", ("caseworker",), "age1amina"),
             Worker("mary", "Mary", ("caseworker", "supervisor"), "age1mary")))


def policy_with(**rules):
    policy, errors = build(policies.chain("inter-agency"), {"rules": rules})
    assert not errors, errors
    return policy


class Records:
    def __init__(self, case_id: str = CASE):
        self.case_id, self.items = case_id, []

    def add(self, kind: str, at: datetime, by: str = "amina", **body) -> "Records":
        self.items.append(Record(kind=kind, schema=1, id=f"01H{self.case_id[-4:]}{len(self.items):019d}", case=self.case_id,
                                 at=at.isoformat(), recorded_at=at.isoformat(), by=by, body=body))
        return self

    def case(self):
        return fold(self.case_id, self.items)


def registered(worker: str = "amina", case_id: str = CASE, risk: str = "high") -> Records:
    return Records(case_id).add("registration", T0, by=worker, risk=risk, worker=worker,
                                child={"name": "x", "date_of_birth": "2015-01-01"})


# -- the clock table --------------------------------------------------------------------------------
# A record that makes each event the table names (the fold's event names).
EVENT_RECORDS = {
    "assessment.initial": ("assessment", {"type": "initial", "risk": "high"}),
    "assessment.comprehensive": ("assessment", {"type": "comprehensive"}),
    "assessment.best_interests": ("assessment", {"type": "best_interests"}),
    "response": ("assessment", {"type": "initial", "risk": "high", "immediate_actions": ["placed in care"]}),
    "followup": ("followup", {"purpose": "monitoring"}),
    "followup.post_closure": ("followup", {"purpose": "post_closure"}),
    "referral": ("referral", {"service": "clinic", "need": "x"}),
    "plan": ("plan", {"closure_criteria": ["safe"]}),
    "placement": ("placement", {"care_type": "temporary_shelter", "setting": "residential"}),
}


def _started(code: str) -> Records:
    """A case on which clock `code` has started and nothing has met it yet."""
    records = registered()
    if code in ("risk-response",):
        records.add("assessment", T0 + H, type="initial", risk="high")
    if code == "post-closure-visit":
        records.add("assessment", T0 + H, type="initial", risk="high").add("assessment", T0 + 2 * H, type="comprehensive")
        records.add("plan", T0 + 3 * H, closure_criteria=["safe"]).add("approval", T0 + 4 * H, by="sup", subject="plan")
        records.add("followup", T0 + 5 * H, purpose="monitoring")
        records.add("closure", T0 + 6 * H, reason="goals_met").add("approval", T0 + 7 * H, by="sup", subject="closure")
    return records


EVENT_CLOCKS = ("initial-assessment", "risk-response", "comprehensive-assessment", "post-closure-visit")


@pytest.mark.parametrize("code, event", [(code, event) for code in EVENT_CLOCKS for event in clocks.BY_CODE[code].done])
def test_clock_table__each_done_event_stops_the_clock_in_due_and_in_timeliness(code, event):
    assert event in EVENT_RECORDS, f"a test record for '{event}', now in the clock table, is missing"
    records = _started(code)
    case = records.case()
    now = T0 + 8 * H
    assert code in {d.code for d in deadlines(case, INTER, now)}, "the clock did not start"
    name = clocks.BY_CODE[code].name
    assert all(c.done is None for c in case_clocks(case, INTER) if c.clock == name)
    kind, body = EVENT_RECORDS[event]
    records.add(kind, now, **body)
    case = records.case()
    assert event in case.events
    assert code not in {d.code for d in deadlines(case, INTER, now + H)}, "cpcm due still lists it"
    mine = [c for c in case_clocks(case, INTER) if c.clock == name]
    assert mine and mine[-1].done is not None, "the timeliness report does not count it met"


@pytest.mark.parametrize("required", [True, False])
def test_clock_table__the_plan_in_force_is_the_approval_only_where_the_policy_needs_one(required):
    policy = policy_with(plan_approval={"required": required})
    records = registered().add("assessment", T0 + H, type="initial", risk="high").add("assessment", T0 + 2 * H, type="comprehensive")
    records.add("plan", T0 + D, closure_criteria=["safe"])
    case = records.case()
    due = {d.code for d in deadlines(case, policy, T0 + 2 * D)}
    clock = next(c for c in case_clocks(case, policy) if c.clock == "case_plan")
    assert ("case-plan" in due) is required
    assert (clock.done is None) is required
    records.add("approval", T0 + 2 * D, by="sup", subject="plan")
    case = records.case()
    assert "case-plan" not in {d.code for d in deadlines(case, policy, T0 + 3 * D)}
    assert next(c for c in case_clocks(case, policy) if c.clock == "case_plan").done == (T0 + 2 * D if required else T0 + D)


def test_clock_table__timeliness_measures_exactly_the_measured_clocks():
    from cpcm.reports.timeliness import CLOCKS

    assert [name for name, _title, _starts in CLOCKS] == [c.name for c in clocks.CLOCKS if c.measured]
    for clock in clocks.CLOCKS:
        assert clock.rule in INTER.rules and clock.limit in INTER.rules, clock.code


def test_clock_table__every_due_item_is_a_row_with_its_rule_and_owner():
    records = registered().add("assessment", T0 + H, type="initial", risk="high").add("assessment", T0 + 2 * H, type="comprehensive")
    records.add("plan", T0 + D, by="mary", closure_criteria=["safe"])
    records.add("referral", T0 + D, service="clinic", need="x").add("followup", T0 + 2 * D, concern="yes", risk_increased="yes")
    records.add("transfer_request", T0 + 2 * D, to="AGENCY2")
    case = records.case()
    found = deadlines(case, INTER, T0 + 3 * D)
    codes = {d.code for d in found}
    assert {"case-plan", "plan-approval", "referral-feedback", "concern", "risk-increased", "transfer-approval"} <= codes
    for item in found:
        row = clocks.BY_CODE[item.code]
        assert item.rule == row.rule or (row.code == "review" and item.rule.startswith("review")), item.code
        assert item.owner == (clocks.SUPERVISORS if row.owner == clocks.SUPERVISORS else case.worker), item.code


def test_review_interval__depends_on_the_zone_of_now_only_not_on_an_earlier_call():
    """One month after a reunification late on 30 January (UTC) ends on 28 February in UTC but
    on 27 February in East Africa: the answer follows the `now` given, whatever ran before."""
    policy = policy_with(review_after_reunification={"interval": "6mo", "period": "1mo"})
    at = datetime(2023, 1, 30, 22, 0, tzinfo=timezone.utc)
    records = Records().add("registration", at - D, risk="high", worker="amina", child={"name": "x"})
    records.add("plan", at, reason="reunification_done", closure_criteria=["safe"])
    case = records.case()
    moment = datetime(2023, 2, 28, 10, 0, tzinfo=timezone.utc)
    in_utc, in_eat = moment, moment.astimezone(EAT)
    assert review_interval(case, policy, in_utc)[1] == "review_after_reunification"
    assert review_interval(case, policy, in_eat)[1] == "review"
    deadlines(case, policy, in_eat)
    assert review_interval(case, policy, in_utc)[1] == "review_after_reunification"
    deadlines(case, policy, in_utc)
    assert review_interval(case, policy, in_eat)[1] == "review"


# -- the caseload cap ------------------------------------------------------------------------------
@pytest.mark.parametrize("count", range(0, 28))
def test_caseload_state__check_assign_and_the_report_agree(count):
    cap, warn_from = INTER.get("caseload", "cap"), INTER.get("caseload", "warn_from")
    expected = "over_cap" if count > cap else "near_cap" if count >= warn_from else "ok"
    assert caseload_state(count, INTER) == expected
    cases = [registered(case_id=f"CP-TEST-{n:04d}").case() for n in range(count)]
    codes = {p.code for p in check_caseload_counts(caseloads(cases), TEAM, INTER)}
    assert codes == ({"over_cap": {"caseload-over-cap"}, "near_cap": {"caseload-near-cap"}, "ok": set()}[expected])
    verdict, _message = caseload_decision(count - 1, INTER) if count else ("ok", "")
    assert verdict == {"over_cap": "warn", "near_cap": "warn", "ok": "ok"}[expected]  # the shipped profile warns over the cap
    row = next(w for w in caseload(cases, TEAM, INTER, T0)["workers"] if w["worker"] == "amina")
    assert row["state"] == expected and row["open"] == count


def test_caseload_state__only_caseworkers_have_a_cap():
    assert caseload_state(99, INTER, capped=False) == "no_cap"
    cases = [registered(worker="sup", case_id=f"CP-TEST-{n:04d}").case() for n in range(30)]
    assert check_caseload_counts(caseloads(cases), TEAM, INTER) == []
    assert next(w for w in caseload(cases, TEAM, INTER, T0)["workers"] if w["worker"] == "sup")["state"] == "no_cap"


def test_caseload_decision__refuses_over_the_cap_where_the_policy_says_so():
    policy = policy_with(caseload={"over_cap": "refuse"})
    assert caseload_decision(policy.get("caseload", "cap") - 1, policy)[0] == "warn"
    assert caseload_decision(policy.get("caseload", "cap"), policy)[0] == "refuse"


# -- who may approve -------------------------------------------------------------------------------
def _waiting(subject: str, requester: str, worker: str = "amina"):
    """A case whose `subject` waits for a decision, asked for by `requester`."""
    records = registered(worker=worker).add("assessment", T0 + H, type="initial", risk="high")
    records.add("assessment", T0 + 2 * H, type="comprehensive")
    if subject == "plan":
        records.add("plan", T0 + D, by=requester, closure_criteria=["safe"])
    elif subject == "closure":
        records.add("plan", T0 + D, closure_criteria=["safe"]).add("approval", T0 + D + H, by="boss", subject="plan")
        records.add("followup", T0 + 2 * D, purpose="monitoring")
        records.add("closure", T0 + 3 * D, by=requester, reason="goals_met")
    else:
        records.add("transfer_request", T0 + 3 * D, by=requester, to="AGENCY2")
    case = records.case()
    assert approvals.pending(case, subject) is not None
    return case


def _on_due_list(case, policy, worker_id: str, subject: str) -> bool:
    member = TEAM.get(worker_id)
    return any(item.code == f"{subject}-approval" and for_worker(item, worker_id, approvals.oversees(member))
               for item in deadlines(case, policy, T0 + 4 * D))


def _can_decide_in_report(case, policy, worker_id: str) -> int:
    return next((s["can_decide"] for s in caseload([case], TEAM, policy, T0 + 4 * D)["supervisors"] if s["worker"] == worker_id), 0)


CASES = [  # subject, requester, case worker, actor, allowed without self-approval
    ("plan", "mary", "amina", "mary", False),       # their own plan
    ("plan", "mary", "amina", "sup", True),
    ("plan", "amina", "amina", "amina", False),     # not a supervisor
    ("closure", "amina", "mary", "mary", False),    # the case's own worker, though someone else asked
    ("closure", "mary", "mary", "sup", True),
    ("closure", "sup", "amina", "sup", False),      # their own request
    ("transfer", "mary", "mary", "mary", False),
    ("transfer", "amina", "mary", "mary", True),    # a transfer does not exclude the case's worker
    ("transfer", "amina", "amina", "boss", True),
]


@pytest.mark.parametrize("self_approval", [False, True])
@pytest.mark.parametrize("subject, requester, worker, actor, allowed", CASES)
def test_may_approve__approve_the_due_list_and_the_caseload_report_agree(subject, requester, worker, actor, allowed,
                                                                          self_approval):
    policy = policy_with(**{f"{subject}_approval": {"self_approval": self_approval}})
    case = _waiting(subject, requester, worker)
    member = TEAM.get(actor)
    expected = allowed or (self_approval and approvals.oversees(member))
    assert bool(approvals.may_approve(policy, subject, member, case)) is expected
    assert _on_due_list(case, policy, actor, subject) is expected
    if approvals.oversees(member):
        assert _can_decide_in_report(case, policy, actor) == int(expected)


def test_may_approve__with_self_approval_off_a_supervisor_s_own_plan_is_not_theirs_to_approve():
    case = _waiting("plan", "mary")
    verdict = approvals.may_approve(INTER, "plan", TEAM.get("mary"), case)
    assert not verdict and verdict.refusal == "self-approval" and verdict.own == "request"
    assert not _on_due_list(case, INTER, "mary", "plan")
    assert _can_decide_in_report(case, INTER, "mary") == 0
    assert _on_due_list(case, INTER, "sup", "plan") and _can_decide_in_report(case, INTER, "sup") == 1


def test_may_approve__a_closure_needs_someone_other_than_the_case_s_worker():
    case = _waiting("closure", "amina", worker="mary")
    verdict = approvals.may_approve(INTER, "closure", TEAM.get("mary"), case)
    assert verdict.refusal == "self-approval" and verdict.own == "case"
    assert not _on_due_list(case, INTER, "mary", "closure") and _can_decide_in_report(case, INTER, "mary") == 0


def test_may_approve__refusals_name_the_rule():
    case = _waiting("plan", "amina")
    assert approvals.may_approve(INTER, "plan", TEAM.get("amina"), case).refusal == "approval-needs-supervisor"
    assert approvals.may_approve(INTER, "plan", None, case).refusal == "approval-needs-supervisor"
    assert approvals.may_approve(INTER, "closure", TEAM.get("sup"), case).refusal == "nothing-to-approve"
    removed = Worker("old", "Old", ("supervisor",), "age1old", removed="2026-01-01")
    assert approvals.may_approve(INTER, "plan", removed, case).refusal == "approval-needs-supervisor"


def test_may_approve__a_plan_version_the_policy_needs_no_approval_for_waits_for_no_decision():
    """With plan_approval.required off each version is in force once written, with no approval
    record (docs/workflow.md): the due list holds no approval of it and the one who wrote it has
    nothing to withdraw, so nobody may approve or reject it either (`may_approve` let every
    supervisor, and `deciders` named them, while no list held it). A closure or transfer request
    made before its approval was switched off still holds the case: it is decided as before."""
    free = policy_with(plan_approval={"required": False})
    case = _waiting("plan", "amina")
    assert approvals.deciders(INTER, "plan", case, TEAM.active) == ["sup", "boss", "mary"]
    for actor in ("sup", "boss", "mary"):
        assert approvals.may_approve(free, "plan", TEAM.get(actor), case) == approvals.Verdict(False, "nothing-to-approve")
        assert not _on_due_list(case, free, actor, "plan")
    assert approvals.deciders(free, "plan", case, TEAM.active) == []
    assert approvals.withdrawal_refusal(free, "plan", TEAM.get("amina"), case) == "nothing-to-approve"
    for subject in ("closure", "transfer"):
        asked = _waiting(subject, "amina")
        off = policy_with(**{f"{subject}_approval": {"required": False}})
        assert approvals.may_approve(off, subject, TEAM.get("sup"), asked) and _on_due_list(asked, off, "sup", subject)
        assert approvals.deciders(off, subject, asked, TEAM.active) == ["sup", "boss", "mary"]


def test_may_approve__a_plan_version_left_waiting_on_a_closed_case_waits_for_no_decision():
    """A version still waiting when the case was closed: the due list holds no approval of it (the
    case is not open), and nobody may decide it (`may_approve` let a supervisor; `cpcm approve`
    was stopped only by the stage)."""
    records = registered().add("assessment", T0 + H, type="initial", risk="high")
    records.add("assessment", T0 + 2 * H, type="comprehensive").add("plan", T0 + D, by="amina", closure_criteria=["safe"])
    records.add("closure", T0 + 2 * D, by="amina", reason="registered_in_error")
    records.add("approval", T0 + 2 * D + H, by="sup", subject="closure")
    case = records.case()
    assert case.status == "closed" and approvals.pending(case, "plan") is not None
    assert approvals.may_approve(INTER, "plan", TEAM.get("sup"), case) == approvals.Verdict(False, "nothing-to-approve")
    assert not _on_due_list(case, INTER, "sup", "plan")
    assert approvals.deciders(INTER, "plan", case, TEAM.active) == [] and approvals.barred(INTER, "plan", case) == frozenset()


# -- open items ------------------------------------------------------------------------------------
def test_unfinished__referrals_not_closed_or_delivered_and_actions_not_done_or_dropped():
    records = registered().add("plan", T0 + D, closure_criteria=["safe"], actions=[{"what": "a"}, {"what": "b"}, {"what": "c"}])
    for n in range(4):
        records.add("referral", T0 + 2 * D + n * H, service=f"s{n}", need="x")
    case = records.case()
    refs = {r["ref"]: r["record_id"] for r in case.referrals}
    for ref, status in (("R2", "accepted"), ("R3", "accepted"), ("R4", "declined")):
        records.add("referral_update", T0 + 3 * D, referral=refs[ref], status=status)
    records.add("referral_update", T0 + 4 * D, referral=refs["R3"], status="delivered")
    records.add("review", T0 + 5 * D, progress=[{"item": "a1", "status": "done"}, {"item": "A2", "status": "in_progress"}])
    records.add("review", T0 + 6 * D, progress=[{"item": "A2", "status": " dropped "}])
    left = open_items.unfinished(records.case(), records.items)
    assert left == {"referrals": ["R1", "R2", "R4"], "actions": ["A3"]}
    # a newer version keeps its actions' IDs: A1 ("a") stays done, a new action is open under the next ID
    records.add("plan", T0 + 7 * D, closure_criteria=["safe"], actions=[{"what": "a"}, {"what": "d"}])
    assert open_items.unfinished(records.case(), records.items)["actions"] == ["A4"]


def test_progress__before_a_record_ignores_later_reviews():
    records = registered().add("plan", T0 + D, closure_criteria=["safe"], actions=[{"what": "a"}])
    records.add("review", T0 + 2 * D, progress=[{"item": "A1", "status": "in_progress"}])
    cut = records.items[-1].id
    records.add("review", T0 + 3 * D, progress=[{"item": "A1", "status": "done"}])
    plan = open_items.latest_plan(records.items)
    status, last = open_items.progress(records.items, plan, before=cut)
    assert status["A1"][1]["status"] == "in_progress" and last.id == cut
    assert open_items.progress(records.items, plan)[0]["A1"][1]["status"] == "done"


def test_views__count_open_items_as_cpcm_close_does():
    from cpcm.render import views

    records = registered().add("plan", T0 + D, closure_criteria=["safe"], actions=[{"what": "a"}, {"what": "b"}])
    records.add("review", T0 + 2 * D, progress=[{"item": "A1", "status": "dropped"}])
    plan = open_items.latest_plan(records.items)
    status, _last = views._progress(records.items, plan)
    _goals, actions = views._plan_items(plan, status)
    shown_open = [f"A{a['number']}" for a in actions if open_items.item_open(a["progress"]["status"])]
    assert shown_open == open_items.unfinished(records.case(), records.items)["actions"] == ["A2"]


# -- small shared helpers --------------------------------------------------------------------------
def test_risk_rank__the_one_risk_order():
    assert sorted(["low", None, "immediate", "medium", "high", "unknown"], key=risk_rank)[:4] == list(RISK_ORDER)
    assert risk_rank(None) == risk_rank("unknown") == len(RISK_ORDER)


def test_as_date__one_date_helper_for_documents_and_reports_whose_error_names_no_value():
    from cpcm.render import env
    from cpcm.reports import common

    assert env.as_date is as_date and common.as_date is as_date
    assert as_date("2026-12-01T09:00+03:00").isoformat() == "2026-12-01"
    assert as_date(datetime(2026, 12, 1, 23, 0, tzinfo=EAT)).isoformat() == "2026-12-01"
    with pytest.raises(ValueError) as raised:
        as_date("Wanjiku 2026")
    assert "Wanjiku" not in str(raised.value)
