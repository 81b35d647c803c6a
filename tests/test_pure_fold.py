"""Pure tests of the fold: corrections standing in for what they supersede, registration
updates, each reducer, the events a record implies, and the stage (docs/testing.md).
Each reducer's fields are checked one by one, so that new fields do not break the tests."""
from __future__ import annotations

import pytest

from cpcm.domain.records import Record
from cpcm.workflow.fold import apply_update, derived_events, effective, fold, superseded_ids

CASE = "CP-0000-0000"


def rec(kind, id_, at="2026-11-23T09:00:00+03:00", by="amina", **body):
    return Record(kind, 1, id_, CASE, at, "2026-11-23T06:00:00+00:00", by, body)


REG = rec("registration", "01A", child={"name": "Asha", "sex": "f"}, caregiver={"name": "Mama"}, location="Kibera",
          contact="0700", concerns=["neglect"], risk="high")


# --- effective -----------------------------------------------------------------------------

def test_effective__a_correction_stands_in_the_place_of_what_it_supersedes():
    note = rec("note", "01B")
    fix = rec("registration", "01C", supersedes="01A", child={"name": "Asha B"})
    assert [r.id for r in effective([fix, note, REG])] == ["01C", "01B"]


def test_effective__two_corrections_of_one_record_the_later_wins():
    first = rec("registration", "01C", supersedes="01A")
    second = rec("registration", "01D", supersedes="01A")
    note = rec("note", "01B")
    assert [r.id for r in effective([REG, note, first, second])] == ["01D", "01B"]
    chained = rec("registration", "01E", supersedes="01C")
    assert [r.id for r in effective([REG, note, first, chained])] == ["01E", "01B"]


def test_effective__a_supersedes_that_is_not_an_earlier_record_of_the_case_is_ignored():
    later = rec("note", "01B", supersedes="01C")
    unknown = rec("note", "01C", supersedes="01Z")
    number = rec("note", "01D", supersedes=1)
    itself = rec("note", "01E", supersedes="01E")
    assert [r.id for r in effective([REG, later, unknown, number, itself])] == ["01A", "01B", "01C", "01D", "01E"]


def test_effective__references_to_a_superseded_record_follow_it():
    referral = rec("referral", "01B", service="S")
    fixed = rec("referral", "01C", supersedes="01B", service="T")
    fixed_again = rec("referral", "01D", supersedes="01C", service="U")
    update = rec("referral_update", "01E", referral="01B", status="accepted")
    approval = rec("approval", "01F", target="01B", subject="plan")
    other = rec("note", "01G", referral="01B")
    out = {r.id: r for r in effective([REG, referral, fixed, fixed_again, update, approval, other])}
    assert out["01E"].body == {"referral": "01D", "status": "accepted"}
    assert out["01F"].body["target"] == "01D"
    assert out["01G"].body["referral"] == "01B"  # not a reference the fold reads
    untouched = rec("referral_update", "01H", referral="01X")
    assert effective([untouched])[0] is untouched


def test_superseded_ids():
    assert superseded_ids([rec("repair", "01B", supersedes="01A"), rec("note", "01C"), rec("x", "01D", supersedes="")]) == {"01A"}


# --- updates -------------------------------------------------------------------------------

def test_apply_update__set_replace_and_remove_paths():
    registration = {"child": {"name": "A", "sex": "f", "names": {"other": "B"}}, "location": "X"}
    assert apply_update(registration, {"child.name": "C", "contact": "0700"}) == {
        "child": {"name": "C", "sex": "f", "names": {"other": "B"}}, "location": "X", "contact": "0700"}
    assert apply_update(registration, {"child.names": None, "location": None}) == {"child": {"name": "A", "sex": "f"}}
    assert apply_update(registration, {"child.names": "plain"}) == {"child": {"name": "A", "sex": "f", "names": "plain"}, "location": "X"}
    assert apply_update(registration, {"child.na": None}) == registration  # a prefix of a name is not its path
    assert apply_update({}, {}) == {}


# --- derived events ------------------------------------------------------------------------

@pytest.mark.parametrize("command, body, events", [
    ("assessment.initial", {"immediate_actions": ["x"]}, ["response", "risk_checked"]),
    ("assessment.initial", {"immediate_actions": []}, ["risk_checked"]),
    ("assessment.initial", {"outcome": "transfer"}, ["initial.transfer", "risk_checked"]),
    ("assessment.initial", {"interim_plan_needed": True}, ["interim_plan_needed", "risk_checked"]),
    ("assessment.initial", {"interim_plan_needed": "yes"}, ["interim_plan_needed", "risk_checked"]),
    ("assessment.initial", {"interim_plan_needed": False}, ["risk_checked"]),
    ("assessment.comprehensive", {"interim_plan_needed": True}, ["risk_checked"]),
    ("assessment.comprehensive", {"immediate_actions": ["x"]}, ["risk_checked"]),
    ("plan", {"reason": "reunification_done"}, ["reunification_done"]),  # the reunification: placements.reunifications
    ("plan", {"reason": "review"}, []),
    ("plan", {"participants": {"child": "yes"}}, ["plan_with_child"]),
    ("plan", {"participants": {"child": "no"}}, []),
    ("followup", {"risk_increased": "yes", "risk": "high", "concern": "yes", "purpose": "crisis"},
     ["risk_increased", "risk_checked", "concern", "crisis_response"]),
    ("followup", {"risk_increased": "no", "concern": "no", "purpose": "routine"}, []),
    ("followup.post_closure", {"risk_increased": "yes", "risk": "low", "concern": "yes", "purpose": "crisis"},
     ["risk_increased", "risk_checked", "concern"]),
    ("readiness", {"stops": ["q1"]}, ["readiness_stop"]),
    ("readiness", {"stops": []}, ["readiness_clear"]),
    ("approval.closure", {}, ["closed"]),
    ("closure.immediate", {}, ["closed"]),
    ("closure", {}, []),
    ("consent", {"status": "refused"}, ["consent_refused"]),
    ("consent", {"status": "not_possible"}, ["consent_refused"]),
    ("consent", {"status": "given"}, []),
    ("consent", {"status": "refused", "purpose": "sharing"}, ["consent_refused"]),  # to share: counted as any consent
    ("review", {"attended": {"child": "yes"}}, ["review_with_child"]),
    ("review", {"attended": {"child": "no"}}, []),
    ("review", {}, []),
    ("note", {"immediate_actions": [1], "stops": [1], "status": "refused"}, []),
    # who the registration, or an update of it, said the child lives with (placements.registered_lives_with)
    ("registration", {"lives_with": "institution"}, ["lives_with.institution"]),
    ("registration", {}, []),
    ("update", {"changes": {"lives_with": "relatives"}}, ["lives_with_updated", "lives_with.relatives"]),
    ("update", {"changes": {"lives_with": None}}, ["lives_with_updated"]),
    ("update", {"changes": {"location": "X"}}, ["residence_updated", "location_updated"]),
])
def test_derived_events(command, body, events):
    assert derived_events(rec("x", "01B", **body), command) == events


# --- the fold ------------------------------------------------------------------------------

def test_fold__only_the_latest_initial_assessment_asks_for_an_interim_plan():
    """In the records' order: a later initial assessment that finds no interim plan needed takes the
    ask away (deadlines._interim_plan), even at the same time; one that finds it needed again asks."""
    def initial(id_, needed, at="2026-11-24T09:00:00+03:00"):
        return rec("assessment", id_, at=at, type="initial", interim_plan_needed=needed, outcome="proceed")
    assert fold(CASE, [REG, initial("01B", True)]).events["interim_plan_needed"] == ("2026-11-24T06:00:00+00:00",)
    assert "interim_plan_needed" not in fold(CASE, [REG, initial("01B", True), initial("01C", False)]).events
    again = fold(CASE, [REG, initial("01B", True), initial("01C", False), initial("01D", True, "2026-11-25T09:00:00+03:00")])
    assert again.events["interim_plan_needed"] == ("2026-11-25T06:00:00+00:00",)
    assert "initial.proceed" in again.events



def test_fold__registration():
    case = fold(CASE, [REG])
    assert (case.id, case.stage, case.status, case.risk, case.worker) == (CASE, "registered", "open", "high", "amina")
    assert case.registered_at == "2026-11-23T09:00:00+03:00"
    assert case.child == {"name": "Asha", "sex": "f"} and case.caregiver_name == "Mama"
    assert (case.location, case.contact, case.concerns) == ("Kibera", "0700", ("neglect",))
    assert case.registration["location"] == "Kibera"
    assert case.events == {"registration": ("2026-11-23T06:00:00+00:00",)}
    assert case.history[0].id == "01A" and case.history[0].kind == "registration" and case.history[0].by == "amina"
    assert case.history[0].recorded_at == "2026-11-23T06:00:00+00:00" and case.history[0].at == REG.at
    assert fold(CASE, [rec("registration", "01A", worker="otieno")]).worker == "otieno"
    bare = fold(CASE, [rec("registration", "01A")])
    assert bare.child == {} and bare.caregiver_name is None and bare.concerns == ()


def test_fold__a_corrected_registration_drops_its_bookkeeping():
    fix = rec("registration", "01B", supersedes="01A", correction_reason="typo", child={"name": "Asha B"})
    case = fold(CASE, [REG, fix])
    assert case.child == {"name": "Asha B"}
    assert "supersedes" not in case.registration and "correction_reason" not in case.registration
    assert [e.id for e in case.history] == ["01B"]


def test_fold__update_and_assignment():
    update = rec("update", "01B", changes={"child.name": "Asha K", "caregiver.name": "Baba", "location": None, "concerns": ["x"]})
    case = fold(CASE, [REG, update, rec("assignment", "01C", worker="otieno")])
    assert case.child == {"name": "Asha K", "sex": "f"} and case.caregiver_name == "Baba"
    assert case.location is None and case.concerns == ("x",) and case.contact == "0700"
    assert case.worker == "otieno" and case.stage == "registered"
    assert fold(CASE, [REG, rec("update", "01B")]).child == {"name": "Asha", "sex": "f"}


def test_fold__assessment_and_followup_change_the_risk_only_when_given():
    case = fold(CASE, [REG, rec("assessment", "01B", type="initial", risk="medium")])
    assert case.risk == "medium" and case.stage == "initial_assessment"
    assert fold(CASE, [REG, rec("assessment", "01B", type="initial")]).risk == "high"
    assert fold(CASE, [REG, rec("followup", "01B", risk="low")]).risk == "low"
    assert fold(CASE, [REG, rec("followup", "01B")]).risk == "high"


def test_fold__the_risk_level_is_dated_when_it_came_to_that_level_not_by_a_later_rating_at_the_same_level():
    """`Case.risk_since`: when the case's risk came to the level it has now (`rules.cadre_since` dates the
    escalation by it)."""
    def level(*records):
        case = fold(CASE, [*records])
        return case.risk, case.risk_since

    low = rec("registration", "01A", at="2026-03-01T09:00:00+03:00", risk="low")
    march = rec("assessment", "01B", at="2026-03-02T09:00:00+03:00", type="initial", risk="high")
    may = rec("followup", "01C", at="2026-05-01T09:00:00+03:00", risk="high")
    # rated high in March and again high in May: high since March
    assert level(low, march, may) == ("high", "2026-03-02T06:00:00+00:00")
    assert level(low, march, may, rec("assessment", "01D", at="2026-06-01T09:00:00+03:00", type="comprehensive")) == (
        "high", "2026-03-02T06:00:00+00:00")  # an assessment that rates nothing moves nothing
    # lowered in April and raised again in May: high since the raise
    april = rec("followup", "01C", at="2026-04-01T09:00:00+03:00", risk="medium")
    raised = rec("followup", "01D", at="2026-05-01T09:00:00+03:00", risk="high")
    assert level(low, march, april) == ("medium", "2026-04-01T06:00:00+00:00")
    assert level(low, march, april, raised) == ("high", "2026-05-01T06:00:00+00:00")
    # registered at a level: from the registration; with none, nothing kept until a rating gives one
    assert level(REG) == ("high", "2026-11-23T06:00:00+00:00")
    unrated = rec("registration", "01A", at="2026-03-01T09:00:00+03:00")
    assert level(unrated) == (None, None)
    assert level(unrated, may) == ("high", "2026-05-01T06:00:00+00:00")
    # a correction of the assessment that set the level counts as of its own time, as every event
    fixed = rec("assessment", "01E", at="2026-06-01T09:00:00+03:00", type="initial", risk="immediate", supersedes="01B")
    assert level(low, march, fixed) == ("immediate", "2026-06-01T06:00:00+00:00")
    same = rec("assessment", "01E", at="2026-06-01T09:00:00+03:00", type="initial", risk="high", supersedes="01B")
    assert level(low, march, same) == ("high", "2026-06-01T06:00:00+00:00")  # the correction set it, in March's place
    assert level(low, march, same, may) == ("high", "2026-06-01T06:00:00+00:00")


def test_fold__plan_versions_approval_and_rejection():
    plan1 = rec("plan", "01B", at="2026-11-24T09:00:00+03:00", reason="initial", closure_criteria=["x"], review_date="2027-01-01")
    case = fold(CASE, [REG, plan1])
    plan = case.plan
    assert (plan["record_id"], plan["at"], plan["by"], plan["version"]) == ("01B", "2026-11-24T06:00:00+00:00", "amina", 1)
    assert (plan["reason"], plan["closure_criteria"], plan["review_date"]) == ("initial", True, "2027-01-01")
    assert (plan["approved_at"], plan["approved_by"], plan["rejected_at"]) == (None, None, None)
    approve = rec("approval", "01C", at="2026-11-25T09:00:00+03:00", by="sup", subject="plan", target="01B")
    approved = fold(CASE, [REG, plan1, approve]).plan
    assert (approved["approved_at"], approved["approved_by"], approved["rejected_at"]) == ("2026-11-25T06:00:00+00:00", "sup", None)
    reject = rec("rejection", "01C", at="2026-11-25T09:00:00+03:00", by="sup", subject="plan")
    rejected = fold(CASE, [REG, plan1, reject]).plan
    assert (rejected["approved_at"], rejected["approved_by"], rejected["rejected_at"]) == (None, None, "2026-11-25T06:00:00+00:00")
    stale = rec("approval", "01D", by="sup", subject="plan", target="01X")
    assert fold(CASE, [REG, plan1, stale]).plan["approved_at"] is None
    plan2 = rec("plan", "01E", closure_criteria=[])
    second = fold(CASE, [REG, plan1, approve, plan2]).plan
    assert second["version"] == 2 and second["closure_criteria"] is False and second["approved_at"] is None
    assert fold(CASE, [REG, rec("approval", "01B", subject="plan")]).plan is None


def test_fold__closure_requested_approved_rejected_and_reopened():
    plan = rec("plan", "01B")
    close = rec("closure", "01C", at="2026-11-26T09:00:00+03:00", reason="goals_met")
    requested = fold(CASE, [REG, plan, close])
    assert requested.stage == "closure_requested" and requested.status == "open"
    assert requested.closure == {"record_id": "01C", "at": "2026-11-26T06:00:00+00:00", "by": "amina", "reason": "goals_met",
                                 "decided_at": None, "approved": None}
    approve = rec("approval", "01D", at="2026-11-27T09:00:00+03:00", by="sup", subject="closure")
    closed = fold(CASE, [REG, plan, close, approve])
    assert closed.stage == "closed" and closed.status == "closed"
    assert closed.closure["decided_at"] == "2026-11-27T06:00:00+00:00" and closed.closure["decided_by"] == "sup"
    assert closed.closure["approved"] is True
    assert closed.events["closed"] == ("2026-11-27T06:00:00+00:00",)
    assert closed.events["closed.goals_met"] == ("2026-11-27T06:00:00+00:00",)
    reject = rec("rejection", "01D", by="sup", subject="closure")
    back = fold(CASE, [REG, plan, close, reject])
    assert back.stage == "registered" and back.closure["approved"] is False  # the stage it had when the closure was asked for
    reopened = fold(CASE, [REG, plan, close, approve, rec("reopen", "01E", at="2027-01-01T09:00:00+03:00")])
    assert reopened.stage == "reopened" and reopened.status == "open" and reopened.closure is None
    assert reopened.next_review is None and reopened.events["closed.goals_met"] == ("2026-11-27T06:00:00+00:00",)
    immediate = fold(CASE, [REG, rec("closure", "01C", immediate=True, reason="died")])
    assert immediate.stage == "closed" and "closed.died" in immediate.events
    assert fold(CASE, [REG, rec("approval", "01B", subject="closure")]).closure is None


def test_fold__a_closure_asked_for_apart_after_the_case_closed_leaves_it_closed_on_the_closure_it_was_closed_on():
    """Closed on one copy (approved, or at once where no approval is needed); a closure asked for on
    the other, later in the records' order: out of order, and the case's closure stays the one it
    was closed on (its approval, its reason). A visit written there after it changes nothing of the
    closure either; a reopening ends it, and a closure asked for then is the case's."""
    approved = [REG, rec("closure", "01B", reason="goals_met"), rec("approval", "01C", by="sup", subject="closure", target="01B")]
    immediate = [REG, rec("closure", "01B", immediate=True, reason="died"), rec("note", "01C", text="x")]
    for closed, decided in ((approved, True), (immediate, None)):
        later = fold(CASE, closed + [rec("closure", "01D", by="otieno", reason="transferred")])
        assert (later.status, later.closure["record_id"], later.closure["approved"]) == ("closed", "01B", decided)
        assert later.anomalies == ("01D",) and "earlier" not in later.closure
    visited = fold(CASE, approved + [rec("followup", "01D", by="otieno", method="home_visit")])
    assert (visited.status, visited.closure["record_id"], visited.closure["approved"]) == ("closed", "01B", True)
    again = fold(CASE, approved + [rec("reopen", "01D", by="sup"), rec("closure", "01E", reason="transferred")])
    assert (again.stage, again.closure["record_id"], again.anomalies) == ("closure_requested", "01E", ())


def test_fold__one_request_approved_and_rejected_apart__the_first_in_the_records_order_stands_the_other_is_out_of_order():
    """The same closure request or plan version approved on one copy and rejected on the other: the
    first decision in the records' order decides it, the other decides nothing and is out of order
    (as a second decision of a transfer request). The sync's decisions-concurrent is settled by a note."""
    from cpcm.workflow.rules import check_conflicts

    for subject, request in (("closure", rec("closure", "01B", reason="goals_met")), ("plan", rec("plan", "01B"))):
        for first, second in (("approval", "rejection"), ("rejection", "approval")):
            records = [REG, request, rec(first, "01C", by="sup", subject=subject, target="01B", note="n"),
                       rec(second, "01D", by="sup2", subject=subject, target="01B", note="n")]
            case = fold(CASE, records)
            if subject == "closure":
                decided = (case.closure["approved"], case.closure["decided_by"], case.status)
                assert decided == ((True, "sup", "closed") if first == "approval" else (False, "sup", "open")), (subject, first)
            else:
                assert (bool(case.plan["approved_at"]), bool(case.plan["rejected_at"])) == (first == "approval", first == "rejection")
                assert case.events.get("plan_approved" if first == "approval" else "plan_rejected") is not None
                assert ("plan_rejected" if first == "approval" else "plan_approved") not in case.events
            assert case.anomalies == ("01D",), (subject, first)
            conflict = rec("sync_conflict", "01E", by="sup", code="decisions-concurrent", records=["01C", "01D"])
            problems = check_conflicts(fold(CASE, records + [conflict]))
            assert [p.code for p in problems] == ["decisions-concurrent"]
            assert f"the first in the records' order stands (the {first}, 01C); the later (01D) decided nothing" in problems[0].message
            noted = fold(CASE, records + [conflict, rec("note", "01F", by="sup", text="checked")])
            assert noted.conflicts[0]["settled_by"] == "01F"
    # a plan version withdrawn on one copy and approved on the other: the approval decides nothing
    withdrawn = fold(CASE, [REG, rec("plan", "01B"), rec("withdrawal", "01C", target="01B"),
                            rec("approval", "01D", by="sup", subject="plan", target="01B")])
    assert (withdrawn.plan["approved_at"], withdrawn.anomalies) == (None, ("01D",))
    # approved on both copies: the first approval stands (its time: the version is in force from then), and is no fault
    twice = fold(CASE, [REG, rec("plan", "01B"), rec("approval", "01C", at="2026-11-24T09:00:00+03:00", by="sup", subject="plan"),
                        rec("approval", "01D", at="2026-11-25T09:00:00+03:00", by="sup2", subject="plan", target="01B")])
    assert (twice.plan["approved_at"], twice.plan["approved_by"], twice.anomalies) == ("2026-11-24T06:00:00+00:00", "sup", ())
    assert twice.events["plan_approved"] == ("2026-11-24T06:00:00+00:00",)


def test_fold__transfer_request_and_decision():
    request = rec("transfer_request", "01B", at="2026-11-26T09:00:00+03:00", to="AGENCY")
    case = fold(CASE, [REG, request])
    assert case.transfer_request == {"record_id": "01B", "at": "2026-11-26T06:00:00+00:00", "by": "amina", "to": "AGENCY",
                                     "decided_at": None, "approved": None}
    decided = fold(CASE, [REG, request, rec("approval", "01C", at="2026-11-27T09:00:00+03:00", by="sup", subject="transfer")])
    assert decided.transfer_request["decided_at"] == "2026-11-27T06:00:00+00:00"
    assert decided.transfer_request["decided_by"] == "sup" and decided.transfer_request["approved"] is True
    refused = fold(CASE, [REG, request, rec("rejection", "01C", by="sup", subject="transfer")])
    assert refused.transfer_request["approved"] is False
    assert fold(CASE, [REG, rec("approval", "01B", subject="transfer")]).transfer_request is None
    assert fold(CASE, [REG, rec("approval", "01B", subject="other")]).plan is None


def test_fold__transfer_out_and_the_receipt_for_that_transfer_only():
    sent = rec("transfer", "01B", at="2026-11-26T09:00:00+03:00", to="AGENCY")
    case = fold(CASE, [REG, sent])
    assert case.status == "transferred" and case.transfer_out == {
        "record_id": "01B", "to": "AGENCY", "at": "2026-11-26T06:00:00+00:00", "acked_at": None, "ack_record": None}
    ack = rec("transfer_ack", "01C", at="2026-11-28T09:00:00+03:00", transfer_record="01B")
    acked = fold(CASE, [REG, sent, ack]).transfer_out
    assert acked["acked_at"] == "2026-11-28T06:00:00+00:00" and acked["ack_record"] == "01C"
    # a receipt for another transfer answers nothing; a second receipt does not move the first
    assert fold(CASE, [REG, sent, rec("transfer_ack", "01C", transfer_record="01Z")]).transfer_out["acked_at"] is None
    twice = fold(CASE, [REG, sent, ack, rec("transfer_ack", "01D", at="2026-11-29T09:00:00+03:00", transfer_record="01B")])
    assert twice.transfer_out["ack_record"] == "01C"
    # reopened and transferred again: the first transfer's late receipt leaves the second waiting
    again = rec("transfer", "01E", at="2026-12-02T09:00:00+03:00", to="OTHER")
    late = rec("transfer_ack", "01F", at="2026-12-03T09:00:00+03:00", transfer_record="01B")
    second = fold(CASE, [REG, sent, rec("reopen", "01D", at="2026-12-01T09:00:00+03:00"), again, late])
    assert second.status == "transferred" and second.transfer_out["record_id"] == "01E"
    assert second.transfer_out["to"] == "OTHER" and second.transfer_out["acked_at"] is None
    assert fold(CASE, [REG]).transfer_out is None


def test_fold__review_sets_the_next_review():
    plan = rec("plan", "01B")
    case = fold(CASE, [REG, plan, rec("review", "01C", next_review="2027-02-01")])
    assert case.next_review == "2027-02-01"
    assert fold(CASE, [REG, plan, rec("review", "01C", next_review="2027-02-01"), rec("review", "01D")]).next_review is None


def test_fold__referrals_and_their_updates():
    referral = rec("referral", "01B", at="2026-11-24T09:00:00+03:00", service="clinic", sector="health", need="care",
                   urgent="yes", plan_action={"action": "A2"})
    second = rec("referral", "01C", service="school")
    update = rec("referral_update", "01D", at="2026-11-25T09:00:00+03:00", by="otieno", referral="01B", status="accepted",
                 start="2026-12-01", expected_duration="3mo", feedback="")
    case = fold(CASE, [REG, referral, second, update])
    r1, r2 = case.referrals
    assert (r1["record_id"], r1["ref"], r1["service"], r1["sector"], r1["need"], r1["urgent"]) == (
        "01B", "R1", "clinic", "health", "care", True)
    assert r1["at"] == "2026-11-24T06:00:00+00:00" and r1["plan_action"] == "A2"
    assert (r1["status"], r1["status_at"], r1["start"], r1["expected_duration"], r1["feedback"]) == (
        "accepted", "2026-11-25T06:00:00+00:00", "2026-12-01", "3mo", None)
    assert r1["history"] == [{"status": "sent", "at": "2026-11-24T09:00:00+03:00", "by": "amina"},
                             {"status": "accepted", "at": "2026-11-25T09:00:00+03:00", "by": "otieno"}]
    assert (r2["ref"], r2["status"], r2["urgent"], r2["plan_action"], r2["start"]) == ("R2", "sent", False, None, None)
    assert r2["history"] == [{"status": "sent", "at": "2026-11-23T09:00:00+03:00", "by": "amina"}]
    assert case.stage == "registered"
    assert case.referral("R1") is r1


def test_fold__stage_anomalies_and_unknown_kinds():
    plan = rec("plan", "01B")
    case = fold(CASE, [REG, rec("closure", "01B", immediate=True, reason="x"), rec("plan", "01C"), rec("future_kind", "01D")])
    assert case.stage == "closed" and case.status == "closed"
    assert case.anomalies == ("01C",)  # future_kind is not a command of the table: not an anomaly
    assert [e.kind for e in case.history] == ["registration", "closure", "plan", "future_kind"]
    assert case.events["future_kind"] == ("2026-11-23T06:00:00+00:00",)
    assert case.plan is not None  # the reducer still applies
    assert fold(CASE, []).stage == "registered" and fold(CASE, []).history == ()
    assert fold(CASE, [plan]).anomalies == ("01B",)


def test_fold__events_in_order_as_utc():
    records = [REG, rec("followup", "01B", at="2026-11-24T09:00:00+03:00", risk="low"),
               rec("followup", "01C", at="2026-11-25T12:00:00+00:00", concern="yes")]
    case = fold(CASE, records)
    assert case.events["followup"] == ("2026-11-24T06:00:00+00:00", "2026-11-25T12:00:00+00:00")
    assert case.events["risk_checked"] == ("2026-11-24T06:00:00+00:00",)
    assert case.events["concern"] == ("2026-11-25T12:00:00+00:00",)


def test_fold__consent_to_share_on_a_closed_case_is_taken_and_counted_as_any_consent():
    """The stage table reads consent to share as its own line (every stage takes it: an export of a
    closed case), while what it counts as stays consent: the statistics' consent_override and
    consent_refused events."""
    closed = [REG, rec("closure", "01B", immediate=True, reason="died")]
    override = rec("consent_override", "01C", purpose="sharing", basis="legal_mandate", reason="a court order")
    refused = rec("consent", "01D", purpose="sharing", given_by="caregiver", status="refused", reason="no")
    case = fold(CASE, [*closed, override, refused])
    assert case.stage == "closed"
    assert len(case.events["consent_override"]) == 1 and len(case.events["consent_refused"]) == 1
    assert "consent_override.sharing" not in case.events


def test_fold__a_referral_outcome_keeps_the_feedback():
    referral = rec("referral", "01B", service="clinic")
    declined = rec("referral_update", "01C", referral="01B", status="declined", feedback="full")
    (entry,) = fold(CASE, [REG, referral, declined]).referrals
    assert (entry["status"], entry["feedback"], entry["start"]) == ("declined", "full", None)


def test_fold__a_decided_transfer_keeps_its_request_and_a_reopening_clears_the_next_review():
    request = rec("transfer_request", "01B", to="AGENCY")
    decided = fold(CASE, [REG, request, rec("approval", "01C", by="sup", subject="transfer")]).transfer_request
    assert (decided["record_id"], decided["to"], decided["by"]) == ("01B", "AGENCY", "amina")
    records = [REG, rec("plan", "01B"), rec("review", "01C", next_review="2027-02-01"), rec("closure", "01D", immediate=True),
               rec("reopen", "01E")]
    assert fold(CASE, records[:4]).next_review == "2027-02-01"
    assert fold(CASE, records).next_review is None


def test_fold__a_new_referral_has_every_field_of_its_status():
    (entry,) = fold(CASE, [REG, rec("referral", "01B", at="2026-11-24T09:00:00+03:00")]).referrals
    assert entry["status_at"] == "2026-11-24T06:00:00+00:00"
    assert {k: entry[k] for k in ("start", "expected_duration", "feedback")} == {"start": None, "expected_duration": None,
                                                                                 "feedback": None}


def test_settled_by__an_assignment_settles_two_assignments_and_nothing_once_settled():
    from cpcm.workflow.fold import settled_by

    conflict = rec("sync_conflict", "01D", by="sup", code="two-assignments", records=["01B", "01C"])
    records = [REG, rec("assignment", "01B", by="sup", worker="otieno"), rec("assignment", "01C", by="sup", worker="otieno"),
               conflict, rec("sync_conflict", "01E", by="sup", code="plans-concurrent", records=["01F", "01G"])]
    assert settled_by(fold(CASE, records), "assignment") == ["two-assignments"]
    assert settled_by(fold(CASE, records), "approval") == ["plans-concurrent"]
    confirmed = fold(CASE, records + [rec("assignment", "01H", by="sup", worker="otieno", previous="otieno")])
    assert settled_by(confirmed, "assignment") == [] and confirmed.worker == "otieno"


def test_settle_conflicts__a_decision_settles_the_conflict_about_its_own_subject_only():
    """Two closures and two plan versions written apart: rejecting the closure settles
    `two-closures` and leaves `plans-concurrent` open (nothing decided the plan), and a decision
    on the plan settles that one; a decision on a transfer settles neither."""
    from cpcm.workflow.fold import settled_by

    closures = rec("sync_conflict", "01D", by="sup", code="two-closures", records=["01B", "01C"])
    plans = rec("sync_conflict", "01E", by="sup", code="plans-concurrent", records=["01F", "01G"])
    records = [REG, rec("closure", "01B", reason="goals_met"), rec("closure", "01C", by="otieno", reason="goals_met"), closures,
               plans, rec("approval", "01H", by="sup", subject="transfer", decision="approved")]
    assert [c["code"] for c in fold(CASE, records).conflicts if c["settled_by"] is None] == ["two-closures", "plans-concurrent"]
    rejected = fold(CASE, records + [rec("rejection", "01J", by="sup", subject="closure", note="not yet")])
    assert {c["code"]: c["settled_by"] for c in rejected.conflicts} == {"two-closures": "01J", "plans-concurrent": None}
    decided = fold(CASE, records + [rec("rejection", "01J", by="sup", subject="closure", note="not yet"),
                                    rec("approval", "01K", by="sup", subject="plan")])
    assert {c["code"]: c["settled_by"] for c in decided.conflicts} == {"two-closures": "01J", "plans-concurrent": "01K"}
    assert settled_by(fold(CASE, records), "rejection", {"subject": "closure"}) == ["two-closures"]
    assert settled_by(fold(CASE, records), "approval", {"subject": "plan"}) == ["plans-concurrent"]



def _three_closures() -> list:
    """Three closure requests written apart on three copies (01B, 01C, 01D, none decided) and the
    conflicts two merges found: the first two, then the third with them."""
    return [REG, rec("closure", "01B", reason="goals_met"), rec("closure", "01C", by="otieno", reason="goals_met"),
            rec("sync_conflict", "01E", by="sup", code="two-closures", records=["01B", "01C"]),
            rec("closure", "01F", by="sup", reason="goals_met"),
            rec("sync_conflict", "01G", by="sup", code="two-closures", records=["01B", "01C", "01F"])]


def withdraw(id_, target, by):
    return rec("withdrawal", id_, by=by, subject="closure", target=target, reason="asked twice")


def test_closure_withdrawn__a_closure_request_merged_over_another_leaves_it_waiting():
    """The latest request is the one decided; the one it was requested over waits again when
    the latest is withdrawn, and either may be withdrawn first: the case stays at
    closure_requested while one of them waits, and goes back when none does."""
    records = _three_closures()
    case = fold(CASE, records)
    assert (case.stage, case.closure["record_id"]) == ("closure_requested", "01F")
    latest_out = fold(CASE, records + [withdraw("01H", "01F", "sup")])
    assert (latest_out.stage, latest_out.closure["record_id"], latest_out.closure["by"]) == ("closure_requested", "01C", "otieno")
    under_out = fold(CASE, records + [withdraw("01H", "01C", "otieno")])
    assert (under_out.stage, under_out.closure["record_id"]) == ("closure_requested", "01F")
    assert under_out.closure["earlier"]["record_id"] == "01B" and "earlier" not in under_out.closure["earlier"]
    every = fold(CASE, records + [withdraw("01H", "01C", "otieno"), withdraw("01J", "01F", "sup"), withdraw("01K", "01B", "amina")])
    assert (every.stage, every.closure) == ("registered", None)
    approved = fold(CASE, records + [withdraw("01H", "01F", "sup"), rec("approval", "01J", by="sup", subject="closure", target="01C")])
    assert (approved.status, approved.closure["record_id"], approved.closure["approved"]) == ("closed", "01C", True)


def test_settle_conflicts__a_closure_withdrawn_settles_two_closures_only_when_it_leaves_one_standing():
    from cpcm.workflow.fold import settled_by

    records = _three_closures()
    assert settled_by(fold(CASE, records), "withdrawal", {"subject": "closure", "target": "01F"}) == []  # leaves two
    two_left = fold(CASE, records + [withdraw("01H", "01F", "sup")])  # 01B and 01C still wait: both conflicts stand
    assert [c["settled_by"] for c in two_left.conflicts] == [None, None]
    assert settled_by(two_left, "withdrawal", {"subject": "closure", "target": "01C"}) == ["two-closures", "two-closures"]
    one_left = fold(CASE, records + [withdraw("01H", "01F", "sup"), withdraw("01J", "01C", "otieno")])
    assert [c["settled_by"] for c in one_left.conflicts] == ["01J", "01J"]
    # a conflict of two requests of which one is already gone: the next withdrawal leaves none, and settles nothing
    apart = [REG, rec("closure", "01B"), rec("closure", "01C", by="otieno"), withdraw("01D", "01B", "amina"),
             rec("sync_conflict", "01E", by="sup", code="two-closures", records=["01B", "01C"])]
    none_left = fold(CASE, apart + [withdraw("01F", "01C", "otieno")])
    assert [c["settled_by"] for c in none_left.conflicts] == [None] and none_left.closure is None
    # a withdrawal of a plan version, or of a transfer request, settles no closure conflict
    assert settled_by(fold(CASE, records), "withdrawal", {"subject": "plan"}) == []
    assert settled_by(fold(CASE, records), "withdrawal", {"subject": "transfer"}) == []


def _two_apart() -> list:
    """Two closure requests written apart (01B amina's, 01C otieno's, the later) and the conflict."""
    return [REG, rec("closure", "01B", reason="goals_met"), rec("closure", "01C", by="otieno", reason="registered_in_error"),
            rec("sync_conflict", "01D", by="sup", code="two-closures", records=["01B", "01C"])]


def decide(kind, id_, target, **body):
    return rec(kind, id_, by="sup", subject="closure", target=target, **body)


def test_closure_decided__an_approval_closes_the_case_on_the_request_it_names_not_on_the_latest():
    """The earlier request approved on one copy (01B) while the other wrote a later one (01C): the
    case closes on 01B, for 01B's reason, and the conflict is settled by the approval."""
    case = fold(CASE, _two_apart() + [decide("approval", "01E", "01B")])
    assert (case.status, case.closure["record_id"], case.closure["approved"], case.closure["decided_by"]) == ("closed", "01B", True, "sup")
    assert "closed.goals_met" in case.events and "closed.registered_in_error" not in case.events
    assert case.conflicts[0]["settled_by"] == "01E"
    latest = fold(CASE, _two_apart() + [decide("approval", "01E", "01C")])
    assert (latest.status, latest.closure["record_id"], latest.closure["approved"]) == ("closed", "01C", True)


def test_closure_decided__a_rejection_of_one_of_two_requests_leaves_the_other_waiting():
    """A rejection names its request: rejecting the later (01C) leaves the earlier waiting again, and
    rejecting the earlier leaves the later; either way one closure stands, so the conflict is over.
    A rejection naming none (older records) is of the latest."""
    for target, left in (("01C", "01B"), ("01B", "01C"), (None, "01B")):
        case = fold(CASE, _two_apart() + [decide("rejection", "01E", target, note="not yet")])
        assert (case.stage, case.closure["record_id"], case.closure["decided_at"]) == ("closure_requested", left, None), target
        assert case.conflicts[0]["settled_by"] == "01E"
    both = fold(CASE, _two_apart() + [decide("rejection", "01E", "01C", note="no"), decide("rejection", "01F", "01B", note="no")])
    assert (both.stage, both.status, both.closure["record_id"], both.closure["approved"]) == ("registered", "open", "01B", False)


def test_closure_decided__a_decision_of_a_request_no_longer_waiting_decides_nothing():
    """01B withdrawn on one copy and approved on another: the approval is kept, decides nothing
    (01C still waits, the case stays open), settles nothing, and is listed as out of order."""
    withdrawn = _two_apart() + [withdraw("01E", "01B", "amina")]
    case = fold(CASE, withdrawn + [decide("approval", "01F", "01B")])
    assert (case.stage, case.status, case.closure["record_id"], case.closure["decided_at"]) == ("closure_requested", "open", "01C", None)
    assert "01F" in case.anomalies and case.conflicts[0]["settled_by"] == "01E"
    from cpcm.workflow.fold import settled_by

    still = [REG, rec("closure", "01B"), rec("closure", "01C", by="otieno"), rec("closure", "01D", by="sup"),
             rec("sync_conflict", "01E", by="sup", code="two-closures", records=["01B", "01C", "01D"]),
             withdraw("01F", "01B", "amina")]
    assert settled_by(fold(CASE, still), "approval", {"subject": "closure", "target": "01B"}) == []  # withdrawn: decides nothing
    assert settled_by(fold(CASE, still), "rejection", {"subject": "closure", "target": "01D"}) == ["two-closures"]
    three = _three_closures()
    assert settled_by(fold(CASE, three), "rejection", {"subject": "closure", "target": "01F"}) == []  # 01B and 01C still wait
    assert settled_by(fold(CASE, three), "approval", {"subject": "closure", "target": "01C"}) == ["two-closures", "two-closures"]


def test_anomalies__a_closure_request_merged_over_another_is_out_of_order_while_both_stand():
    """The later of two requests written apart was made, in the merged history, while the other
    waited: out of order while both stand; once one is withdrawn, rejected or approved, nothing of
    that is left to put right. A closure merged onto a case already closed stays out of order."""
    assert fold(CASE, _two_apart()).anomalies == ("01C",)
    for last in (withdraw("01E", "01B", "amina"), withdraw("01E", "01C", "otieno"), decide("rejection", "01E", "01B", note="no"),
                 decide("approval", "01E", "01B")):
        assert fold(CASE, _two_apart() + [last]).anomalies == (), last
    assert fold(CASE, _three_closures() + [withdraw("01H", "01F", "sup")]).anomalies == ("01C", "01F")  # 01B and 01C still wait
    closed = [REG, rec("closure", "01B"), decide("approval", "01C", "01B"), rec("closure", "01D", by="otieno")]
    assert fold(CASE, closed).anomalies == ("01D",)


def test_settle_conflicts__a_closure_withdrawn_settles_records_written_after_it_when_none_of_its_closures_stands():
    records = [REG, rec("closure", "01B"), rec("followup", "01C", by="otieno"),
               rec("sync_conflict", "01D", by="sup", code="record-after-closure", records=["01B", "01C"])]
    assert fold(CASE, records).conflicts[0]["settled_by"] is None
    assert fold(CASE, records + [withdraw("01E", "01B", "amina")]).conflicts[0]["settled_by"] == "01E"
    # closed, and a second closure withdrawn from under it? nothing waits: a withdrawal changes nothing and settles nothing
    closed = records[:2] + [rec("approval", "01C", by="sup", subject="closure", target="01B"), rec("followup", "01D", by="otieno"),
                            rec("sync_conflict", "01E", by="sup", code="record-after-closure", records=["01B", "01C", "01D"])]
    after = fold(CASE, closed + [withdraw("01F", "01B", "amina")])
    assert after.status == "closed" and after.conflicts[0]["settled_by"] is None


def test_fold__two_transfer_requests_merged__each_decision_and_withdrawal_is_of_the_request_it_names():
    """Two transfer requests written apart (to two agencies) and merged: both wait, the later on
    top. A decision or withdrawal is of the request its target names; one of a request that no
    longer waits decides nothing and is out of order."""
    a = rec("transfer_request", "01B", to="AGA")
    b = rec("transfer_request", "01C", by="otieno", to="AGB")
    merged = fold(CASE, [REG, a, b])
    assert merged.transfer_request["record_id"] == "01C" and merged.transfer_request["earlier"]["record_id"] == "01B"
    # approved on the copy that held the earlier: the earlier (its agency) is approved, not the later
    approved = fold(CASE, [REG, a, b, rec("approval", "01D", by="sup", subject="transfer", target="01B")]).transfer_request
    assert (approved["record_id"], approved["to"], approved["approved"], "earlier" in approved) == ("01B", "AGA", True, False)
    # rejected, or withdrawn: the other waits
    for kind, extra in (("rejection", {"by": "sup", "note": "no"}), ("withdrawal", {})):
        for target, left in (("01B", "01C"), ("01C", "01B")):
            after = fold(CASE, [REG, a, b, rec(kind, "01D", subject="transfer", target=target, **extra)])
            request = after.transfer_request
            assert (request["record_id"], request["decided_at"], "earlier" in request) == (left, None, False), (kind, target)
            assert after.anomalies == ()
    # a decision of a request withdrawn meanwhile decides nothing, and is out of order
    withdrawn = [REG, a, rec("withdrawal", "01C", subject="transfer", target="01B")]
    late = fold(CASE, withdrawn + [rec("approval", "01D", by="sup", subject="transfer", target="01B")])
    assert late.transfer_request is None and late.anomalies == ("01D",)
    # the one request, as before: decided, withdrawn, approved then taken back
    assert fold(CASE, [REG, a, rec("rejection", "01C", by="sup", subject="transfer", target="01B")]).transfer_request["approved"] is False
    taken = [REG, a, rec("approval", "01C", by="sup", subject="transfer", target="01B"), rec("withdrawal", "01D", subject="transfer",
                                                                                              target="01B")]
    assert fold(CASE, taken).transfer_request is None


def test_fold__two_transfers_is_settled_by_a_decision_or_withdrawal_that_leaves_one_standing():
    a, b = rec("transfer_request", "01B", to="AGA"), rec("transfer_request", "01C", by="otieno", to="AGB")
    conflict = rec("sync_conflict", "01D", by="sup", code="two-transfers", records=["01B", "01C"])
    records = [REG, a, b, conflict]
    assert [c["settled_by"] for c in fold(CASE, records).conflicts] == [None]
    for settling in (rec("approval", "01E", by="sup", subject="transfer", target="01C"),
                     rec("rejection", "01E", by="sup", subject="transfer", target="01B", note="no"),
                     rec("withdrawal", "01E", by="otieno", subject="transfer", target="01C")):
        assert [c["settled_by"] for c in fold(CASE, records + [settling]).conflicts] == ["01E"], settling.kind
    # a decision of the closure settles nothing of the transfers; nor one of a request no longer waiting
    for other in (rec("rejection", "01E", by="sup", subject="closure", note="no"),
                  rec("approval", "01E", by="sup", subject="transfer", target="01A")):
        assert [c["settled_by"] for c in fold(CASE, records + [other]).conflicts] == [None]


APPROVED_APART = [REG, rec("transfer_request", "01B", to="AGA"), rec("approval", "01C", by="sup", subject="transfer", target="01B"),
                  rec("transfer_request", "01D", by="otieno", to="AGB")]


def test_fold__a_request_made_over_one_approved_and_not_carried_out_keeps_it_standing_under_it():
    """Approved on one copy, asked apart (for another agency) on the other, later in record order:
    the approved one is kept under the later, approved as it was. The later approved goes instead;
    rejected or withdrawn, the approved one stands again; the approved one taken back leaves the later waiting."""
    from cpcm.workflow.approvals import approved_under
    from cpcm.workflow.fold import standing_transfers

    merged = fold(CASE, APPROVED_APART).transfer_request
    assert (merged["record_id"], merged["decided_at"]) == ("01D", None)
    assert (approved_under(merged)["record_id"], approved_under(merged)["approved"]) == ("01B", True)
    assert standing_transfers(merged) == {"01B", "01D"}
    for kind, extra in (("rejection", {"by": "sup", "note": "no"}), ("withdrawal", {"by": "otieno"})):
        for target in ("01D", None):
            after = fold(CASE, APPROVED_APART + [rec(kind, "01E", subject="transfer", target=target, **extra)])
            request = after.transfer_request
            assert (request["record_id"], request["to"], request["approved"], request["decided_by"]) == ("01B", "AGA", True, "sup")
            assert "earlier" not in request and after.anomalies == (), (kind, target)
    approved = fold(CASE, APPROVED_APART + [rec("approval", "01E", by="sup", subject="transfer", target="01D")]).transfer_request
    assert (approved["record_id"], approved["to"], approved["approved"], "earlier" in approved) == ("01D", "AGB", True, False)
    taken = fold(CASE, APPROVED_APART + [rec("withdrawal", "01E", subject="transfer", target="01B")])
    assert (taken.transfer_request["record_id"], "earlier" in taken.transfer_request, taken.anomalies) == ("01D", False, ())
    # a second decision of the approved one decides nothing
    again = fold(CASE, APPROVED_APART + [rec("approval", "01E", by="sup", subject="transfer", target="01B")])
    assert again.transfer_request == merged and again.anomalies == ("01E",)
    # two waiting over it: each rejected in turn, the approved one is left
    three = APPROVED_APART + [rec("transfer_request", "01E", to="AGC")]
    left = fold(CASE, three + [rec("rejection", "01F", by="sup", subject="transfer", target="01D", note="no"),
                               rec("rejection", "01G", by="sup", subject="transfer", target="01E", note="no")]).transfer_request
    assert (left["record_id"], left["approved"]) == ("01B", True)


def test_fold__a_request_carried_out_is_not_kept_under_a_later_one():
    sent = APPROVED_APART[:3] + [rec("transfer", "01D", to="AGA"), rec("reopen", "01E", by="sup"),
                                 rec("transfer_request", "01F", by="otieno", to="AGB")]
    assert "earlier" not in fold(CASE, sent).transfer_request
    rejected = fold(CASE, sent + [rec("rejection", "01G", by="sup", subject="transfer", target="01F", note="no")]).transfer_request
    assert (rejected["record_id"], rejected["approved"]) == ("01F", False)
    assert fold(CASE, sent + [rec("withdrawal", "01G", by="otieno", subject="transfer", target="01F")]).transfer_request is None


def test_fold__two_transfers_with_one_approved_apart_is_settled_by_a_decision_or_withdrawal_of_the_later():
    conflict = rec("sync_conflict", "01E", by="sup", code="two-transfers", records=["01B", "01C", "01D"])
    records = APPROVED_APART + [conflict]
    assert [c["settled_by"] for c in fold(CASE, records).conflicts] == [None]
    for settling in (rec("approval", "01F", by="sup", subject="transfer", target="01D"),
                     rec("rejection", "01F", by="sup", subject="transfer", target="01D", note="no"),
                     rec("withdrawal", "01F", by="otieno", subject="transfer", target="01D"),
                     rec("withdrawal", "01F", by="sup", subject="transfer", target="01B")):
        assert [c["settled_by"] for c in fold(CASE, records + [settling]).conflicts] == ["01F"], settling.kind


def test_check__two_transfers_names_a_request_approved_on_one_copy_that_the_later_request_was_made_over():
    from cpcm.workflow.rules import check_conflicts

    approved_apart = APPROVED_APART + [rec("sync_conflict", "01E", by="sup", code="two-transfers", records=["01B", "01C", "01D"])]
    message = check_conflicts(fold(CASE, approved_apart))[0].message
    assert ("the latest (01D) waits: it was made over the request approved on the other copy (01B), which stands under it: "
            "approved, the child goes to its agency instead; rejected or withdrawn, the one approved (01B) stands again") in message
    both = [REG, rec("transfer_request", "01B", to="AGA"), rec("transfer_request", "01C", by="otieno", to="AGB"),
            rec("sync_conflict", "01D", by="sup", code="two-transfers", records=["01B", "01C"])]
    message = check_conflicts(fold(CASE, both))[0].message
    assert "both wait, the latest (01C) first" in message and "AGA" not in message and "AGB" not in message


def test_fold__risk_concurrent_reopens_the_increase_it_names_until_a_rating_after_it():
    """A rating written apart (later in the records) answered an increase its worker never saw: the
    merge's `risk-concurrent` makes the increase wait again; a rating after the conflict answers
    it and settles the conflict; the same conflict found again by a second merge reopens nothing."""
    from cpcm.workflow.fold import RISK_UNANSWERED

    up = rec("followup", "01B", risk_increased="yes")
    down = rec("followup", "01C", by="otieno", risk_increased="no", risk="low")
    conflict = rec("sync_conflict", "01D", by="sup", code="risk-concurrent", records=["01B", "01C"])
    assert RISK_UNANSWERED not in fold(CASE, [REG, up, down]).events  # as it was: the later rating answered it
    apart = fold(CASE, [REG, up, down, conflict])
    assert apart.events[RISK_UNANSWERED] == (apart.events["followup"][0],) and apart.conflicts[0]["settled_by"] is None
    for settling, settles in ((rec("followup", "01E", risk_increased="no", risk="high"), True),
                              (rec("assessment", "01E", type="comprehensive", risk="high"), True),
                              (rec("followup", "01E", risk_increased="no"), False)):
        after = fold(CASE, [REG, up, down, conflict, settling])
        assert (RISK_UNANSWERED not in after.events, after.conflicts[0]["settled_by"] == "01E") == (settles, settles), settling.body
    again = rec("sync_conflict", "01F", by="amina", code="risk-concurrent", records=["01B", "01C"])
    rated = rec("followup", "01E", risk_increased="no", risk="high")
    assert RISK_UNANSWERED not in fold(CASE, [REG, up, down, conflict, rated, again]).events


def test_fold__a_closure_or_transfer_decided_the_same_way_twice_apart_decides_once_and_is_no_fault():
    closure = rec("closure", "01B", reason="goals_met")
    twice = [REG, closure, rec("approval", "01C", by="sup", subject="closure", target="01B"),
             rec("approval", "01D", by="sup", subject="closure", target="01B")]
    case = fold(CASE, twice)
    assert case.status == "closed" and case.anomalies == () and case.closure["approved"] is True
    assert len(case.events["closed"]) == 1 and len(case.history) == 4  # closed once (its clocks count from the first); both kept
    # the other way is a fault (decisions-concurrent names it): the first stands
    other = twice[:3] + [rec("rejection", "01D", by="sup", subject="closure", target="01B", note="no")]
    assert fold(CASE, other).status == "closed" and fold(CASE, other).anomalies == ("01D",)
    request = rec("transfer_request", "01B", to="AGA")
    approved = [REG, request, rec("approval", "01C", by="sup", subject="transfer", target="01B"),
                rec("approval", "01D", by="otieno", subject="transfer", target="01B")]
    case = fold(CASE, approved)
    assert case.anomalies == () and (case.transfer_request["approved"], case.transfer_request["decided_by"]) == (True, "sup")


def test_fold__a_decision_of_the_version_before_made_apart_decides_it_as_it_would_have_on_one_copy():
    """Version 2 written on a laptop while the office approved version 1 (the latest there): after the
    sync version 1 is in force while version 2 waits, as if the approval had come first; a rejection
    rejects version 1; the sync names both (plans-concurrent), and neither decision is out of order."""
    from cpcm.domain.profiles import build
    from cpcm.store import policies
    from cpcm.workflow.plan_actions import in_force

    policy, _ = build(policies.chain("inter-agency"), None)
    v1, v2 = rec("plan", "01B", closure_criteria=["x"]), rec("plan", "01C", closure_criteria=["y"])
    approval = rec("approval", "01D", at="2026-11-25T09:00:00+03:00", by="sup", subject="plan", target="01B")
    case = fold(CASE, [REG, v1, v2, approval])  # made where version 1 was the latest
    assert (case.plan["version"], case.plan["approved_at"], case.anomalies) == (2, None, ())
    assert (in_force(case.plan, policy)["record_id"], in_force(case.plan, policy)["approved_by"]) == ("01B", "sup")
    assert case.events["plan_approved"] == ("2026-11-25T06:00:00+00:00",)
    rejected = fold(CASE, [REG, v1, v2, rec("rejection", "01D", by="sup", subject="plan", target="01B", note="n")])
    assert (rejected.anomalies, in_force(rejected.plan, policy), rejected.events.get("plan_rejected") is not None) == ((), None, True)
    before = rec("approval", "01C", by="sup", subject="plan", target="01B")
    later = rec("plan", "01D", closure_criteria=["y"])
    case = fold(CASE, [REG, v1, before, later])  # decided before the next was written: as ever, in force while it waits
    assert case.anomalies == () and case.plan["previous"]["record_id"] == "01B"
    # only the version the latest was written over: two versions on, a decision of version 1 decides nothing
    v3 = rec("plan", "01D", closure_criteria=["z"])
    stale = fold(CASE, [REG, v1, v2, v3, rec("approval", "01E", by="sup", subject="plan", target="01B")])
    assert (stale.plan["version"], in_force(stale.plan, policy), stale.anomalies) == (3, None, ("01E",))
    # once the latest is approved, a late decision of the one it was written over decides nothing
    latest = rec("approval", "01D", by="sup", subject="plan", target="01C")
    late = fold(CASE, [REG, v1, v2, latest, rec("approval", "01E", by="sup", subject="plan", target="01B")])
    assert (in_force(late.plan, policy)["record_id"], late.anomalies) == ("01C", ("01E",))
    # a decision that names no version (written before decisions named one) decides the latest, as ever
    untargeted = fold(CASE, [REG, v1, v2, rec("approval", "01D", by="sup", subject="plan")])
    assert (in_force(untargeted.plan, policy)["record_id"], untargeted.anomalies) == ("01C", ())


def test_every_sync_conflict_the_fold_settles_is_reported_by_check_until_settled():
    """Each conflict code a sync records (fold.SETTLES says what settles it) has its message in
    rules.CONFLICT_PROBLEMS, so `cpcm check` names it, with its records; once settled, it is not
    reported. A code without one would be recorded and never told."""
    from cpcm.workflow.fold import SETTLES
    from cpcm.workflow.rules import CONFLICT_PROBLEMS, check_conflicts

    assert set(SETTLES) == set(CONFLICT_PROBLEMS)
    for code in SETTLES:
        conflict = rec("sync_conflict", "01E", by="sup", code=code, records=["01C", "01D"])
        problems = check_conflicts(fold(CASE, [REG, conflict]))
        assert [(p.code, p.severity, p.rule) for p in problems] == [(code, "warning", "sync")], code
        assert "01C, 01D" in problems[0].message, (code, problems[0].message)
        noted = fold(CASE, [REG, conflict, rec("note", "01F", by="sup", text="checked")])
        assert check_conflicts(noted) == [], code
