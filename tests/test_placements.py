"""Placements and the steps of reintegration: the rules (pure), the service over the memory store,
and the command line. A placement into or out of care needs a best-interests record first (a
supervisor may override with a reason, a caseworker may not); a family-based placement starts the
monitoring visits and the 6-monthly reviews (kenya); a court order's expiry is on `due`; the
alternative-care register lists the children in care and those who left residential care."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from conftest import NOW, Cli, commit_count, register
from memory_repo import MemoryRepo
from test_assess_plan import COMPREHENSIVE, INITIAL_DATA, plan_doc

from cpcm import service
from cpcm.domain.records import Record, utc
from cpcm.errors import InvalidInput, Refused
from cpcm.store import forms, policies
from cpcm.workflow import placements as rules
from cpcm.workflow.deadlines import deadlines, reunification_period
from cpcm.workflow.fold import fold
from cpcm.service.placements import words as placement_words

KENYA, INTER = policies.load("kenya"), policies.load("inter-agency")
T0 = datetime.fromisoformat(NOW)

BID = {"decision": "reintegration", "care_away_needed": "no", "family_support_tried": ["cash transfer"],
       "options": [{"kind": "kinship", "assessment": "grandmother willing"}, {"kind": "foster_care", "assessment": "none nearby"}],
       "chosen": "kinship", "why_least_harmful": "stays in the family and the school", "child_views": "wants her grandmother",
       "outcome_explained_to_child": "yes"}
ADMISSION = {"care_type": "institutional_care", "institution": "Tumaini Children's Home", "formal": "formal",
             "decision": {"court_order": {"number": "CC 12/2026", "date": "2026-01-10", "expires": "2026-07-10"}}}
KINSHIP = {"care_type": "kinship", "caregiver": {"name": "Grace Achieng", "relationship": "grandmother"},
           "address": "Nyakach, Kisumu", "cci_exit": "family_reintegration"}


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


# -- the rules (pure) ------------------------------------------------------------------------------
def test_care_types__every_care_type_of_the_form_has_a_setting_in_both_profiles_with_a_source():
    choices = forms.load("placement").field("care_type").choices
    assert {"aftercare", "emergency_care", "kinship", "family", "institutional_care", "temporary_shelter"} <= set(choices)
    for policy in (KENYA, INTER):
        assert rules.unclassified(choices, policy) == []
        assert "ESARO Principle 2" in policy.source("placement") and "glossary" in policy.source("placement")
    assert rules.setting_of("institutional_care", KENYA) == "residential"
    assert rules.setting_of("kinship", KENYA) == "family_based" and rules.setting_of("family", KENYA) == "family"
    assert "cpcm's choice" in KENYA.source("placement_monitoring")
    assert KENYA.get("placement_monitoring", "period") == "2y" and INTER.get("placement_monitoring", "period") == "0d"


@pytest.mark.parametrize("current, new, needed", [
    (None, {"care_type": "family"}, True),                                    # the first placement recorded
    ({"care_type": "institutional_care"}, {"care_type": "kinship"}, True),    # out of care
    ({"care_type": "family"}, {"care_type": "temporary_shelter"}, True),      # into care
    ({"care_type": "institutional_care", "institution": "A"}, {"care_type": "institutional_care", "institution": "A"}, False),
    ({"care_type": "institutional_care", "institution": "A"}, {"care_type": "institutional_care", "institution": "B"}, True),
    ({"care_type": "foster_care", "caregiver_name": "X"}, {"care_type": "foster_care", "caregiver": {"name": "Y"}}, True),
    ({"care_type": "kinship", "caregiver_name": "X"}, {"care_type": "kinship", "caregiver": {"name": "x "}, "address": "new"}, False),
])
def test_needs_best_interests__into_out_of_and_between_placements_not_the_same_one_again(current, new, needed):
    assert rules.needs_best_interests(current, new, KENYA) is needed


def test_cci_exit__required_leaving_residential_care_and_refused_otherwise():
    cci = {"care_type": "institutional_care", "setting": "residential"}
    assert "is required" in rules.cci_exit_problem(cci, "family_based", None)
    assert rules.cci_exit_problem(cci, "family_based", "family_reintegration") is None
    assert "only for a child leaving" in rules.cci_exit_problem({"setting": "family_based"}, "family", "family_reintegration")
    assert rules.cci_exit_problem(cci, "residential", None) is None


def rec(kind: str, when: datetime, **body) -> Record:
    from cpcm.domain.ids import RecordIds

    return Record(kind=kind, schema=1, id=RecordIds().new(int(when.timestamp() * 1000)), case="CP-TEST-0001",
                  at=when.isoformat(), recorded_at=when.isoformat(), by="amina", body=body)


def reunified_records(plan_first=True):
    """A registration, a plan in force (no approval in these records: the policy below needs none),
    and a kinship placement out of a CCI 10 days later."""
    records = [rec("registration", T0, child={"name": "x"}, risk="high", worker="amina"),
               rec("placement", at(1), care_type="institutional_care", setting="residential"),
               rec("placement", at(10), care_type="kinship", setting="family_based", reunification=True,
                   cci_exit="family_reintegration")]
    return records


def codes(case, policy, now):
    return {d.code: d for d in deadlines(case, policy, now)}


def test_monitoring_visits__monthly_for_three_months_then_quarterly_until_two_years_kenya_only():
    records = reunified_records()  # reunified on 2026-12-03 09:00 (+03:00)
    first = rules.monitoring_visit(fold("CP-TEST-0001", records), KENYA, at(11))
    assert (first.number, first.due.isoformat(), first.interval) == (1, "2027-01-03T09:00:00+03:00", "1 month")
    assert rules.monitoring_visit(fold("CP-TEST-0001", records), INTER, at(11)) is None  # inter-agency: no schedule (period 0d)
    for day in ("2027-01-03", "2027-02-03", "2027-03-02"):  # a home visit each month
        records.append(rec("followup", datetime.fromisoformat(f"{day}T10:00:00+03:00"), method="home_visit", purpose="monitoring"))
    third = rules.monitoring_visit(fold("CP-TEST-0001", records[:-1]), KENYA, at(80))
    assert (third.number, third.due.date().isoformat()) == (3, "2027-03-03")
    fourth = rules.monitoring_visit(fold("CP-TEST-0001", records), KENYA, at(100))
    # a month after the third visit would fall after the first 3 months: quarterly from here
    assert (fourth.number, fourth.due.date().isoformat(), fourth.interval) == (4, "2027-06-02", "3 months")
    records.append(rec("followup", datetime.fromisoformat("2027-06-01T10:00:00+03:00"), method="home_visit", purpose="monitoring"))
    fifth = rules.monitoring_visit(fold("CP-TEST-0001", records), KENYA, at(200))
    assert (fifth.number, fifth.due.date().isoformat(), fifth.interval) == (5, "2027-09-01", "3 months")
    phone = records + [rec("followup", datetime.fromisoformat("2027-07-01T10:00:00+03:00"), method="phone", purpose="monitoring")]
    assert rules.monitoring_visit(fold("CP-TEST-0001", phone), KENYA, at(230)).due == fifth.due  # a call is not a visit
    late = records + [rec("followup", datetime.fromisoformat("2028-10-01T10:00:00+03:00"), method="home_visit")]
    assert rules.monitoring_visit(fold("CP-TEST-0001", late), KENYA, at(700)) is None  # the next would fall after 2 years


def test_reunification__a_plan_for_reunification_done_in_the_same_stay_as_the_placement_is_the_same_one():
    """The placement home (2026-12-03 09:00) and a plan for reunification_done a day later (or a
    day before) are one reunification, the placement's: the first visit stays a month after the
    placement, the path counts one, and the reviews after reunification run from the placement."""
    placement_only = reunified_records()
    for plan in (rec("plan", at(11), reason="reunification_done", closure_criteria=["x"]),
                 rec("plan", at(9), reason="reunification_done", closure_criteria=["x"])):
        case = fold("CP-TEST-0001", placement_only + [plan])
        assert case.events["reunification"] == (utc(placement_only[2].at),)
        visit = rules.monitoring_visit(case, KENYA, at(12))
        assert (visit.number, visit.due.isoformat()) == (1, "2027-01-03T09:00:00+03:00")
        path = rules.pathway(case, KENYA, at(12))
        step = next(s for s in path["steps"] if s["step"] == "reunification")
        assert (step["count"], step["last"], path["reunified"]) == (1, "2026-12-03T09:00:00+03:00", "2026-12-03T09:00:00+03:00")
        assert codes(case, KENYA, at(12))["monitoring-visit"].why.startswith("a home visit every 1 month after the placement of 2026-12-03 ")
        assert reunification_period(case, KENYA, at(12).tzinfo)[0] == at(10)
    alone = fold("CP-TEST-0001", [placement_only[0], plan])  # no placement recorded: the plan is the reunification
    assert alone.events["reunification"] == (utc(plan.at),)


def test_monitoring_visits__stop_when_the_child_goes_back_to_residential_care_or_the_case_closes():
    records = reunified_records() + [rec("placement", at(40), care_type="temporary_shelter", setting="residential")]
    assert rules.monitoring_visit(fold("CP-TEST-0001", records), KENYA, at(41)) is None
    assert "monitoring-visit" not in codes(fold("CP-TEST-0001", records), KENYA, at(41))


def test_monitoring_visits__a_visit_due_while_the_case_was_closed_counts_from_the_reopening():
    """Closed (no visit due while closed), then reopened inside the 2 years: the visit that fell
    due in between is not overdue at once; the next counts from the reopening."""
    records = reunified_records()  # reunified on 2026-12-03 09:00 (+03:00)
    records.append(rec("closure", datetime.fromisoformat("2026-12-20T10:00:00+03:00"), reason="goals_met", immediate=True))
    assert rules.monitoring_visit(fold("CP-TEST-0001", records), KENYA, at(40)) is None  # closed: no visit
    reopened = datetime.fromisoformat("2027-02-10T10:00:00+03:00")
    records.append(rec("reopen", reopened, reason="new concern"))
    case = fold("CP-TEST-0001", records)
    assert case.status == "open"
    visit = rules.monitoring_visit(case, KENYA, reopened + timedelta(hours=1))
    assert visit.due > reopened + timedelta(hours=1), visit  # not overdue at the reopening (was due 2027-01-03)
    assert visit.due.date().isoformat() == "2027-05-10" and visit.interval == "3 months"
    assert "monitoring-visit" not in {c for c, d in codes(case, KENYA, reopened + timedelta(hours=1)).items()
                                      if d.due <= reopened + timedelta(hours=1)}


def test_court_order__its_expiry_is_due_with_a_target_a_month_before():
    records = [rec("registration", T0, child={"name": "x"}, risk="high", worker="amina"),
               rec("placement", at(1), care_type="institutional_care", setting="residential",
                   decision={"court_order": {"number": "CC 1", "expires": "2027-03-01"}})]
    item = codes(fold("CP-TEST-0001", records), KENYA, at(2))["court-order"]
    assert item.due.date().isoformat() == "2027-03-01" and item.target.date().isoformat() == "2027-02-01"
    assert item.state(at(2), timedelta(days=7)) == "upcoming"
    assert item.state(datetime.fromisoformat("2027-02-15T09:00:00+03:00"), timedelta(days=7)) == "target_missed"
    assert item.state(datetime.fromisoformat("2027-03-01T09:00:00+03:00"), timedelta(days=7)) == "target_missed"  # its day
    assert item.state(datetime.fromisoformat("2027-03-02T00:00:00+03:00"), timedelta(days=7)) == "overdue"
    renewed = records + [rec("placement", at(60), care_type="institutional_care", setting="residential",
                             decision={"court_order": {"number": "CC 2", "expires": "2027-09-01"}})]
    assert codes(fold("CP-TEST-0001", renewed), KENYA, at(61))["court-order"].due.date().isoformat() == "2027-09-01"
    home = records + [rec("placement", at(60), care_type="family", setting="family", reunification=True, cci_exit="family_reintegration")]
    assert "court-order" not in codes(fold("CP-TEST-0001", home), KENYA, at(61))


def test_pathway__says_what_is_next_from_admission_to_closure():
    records = [rec("registration", T0, child={"name": "x"}, risk="high", worker="amina"),
               rec("placement", at(1), care_type="institutional_care", setting="residential")]
    path = rules.pathway(fold("CP-TEST-0001", records), KENYA, at(2))
    assert path["next"]["step"] == "tracing" and [s["done"] for s in path["steps"]][:2] == [True, False]
    step = rules.next_step_due(fold("CP-TEST-0001", records), KENYA, at(2))
    assert step[1]["step"] == "tracing" and step[0].isoformat() == "2026-12-24T09:00:00+03:00"
    records += [rec("tracing", at(5), outcome="family_found"), rec("family_assessment", at(8)),
                rec("assessment", at(9), type="best_interests")]
    path = rules.pathway(fold("CP-TEST-0001", records), KENYA, at(10))
    assert path["next"]["step"] == "preparation" and path["steps"][1]["family_found"]
    assert rules.next_step_due(fold("CP-TEST-0001", records), KENYA, at(10))[0] > at(9)
    records += [rec("preparation", at(11)), rec("preparation", at(12)),
                rec("placement", at(14), care_type="kinship", setting="family_based", reunification=True)]
    case = fold("CP-TEST-0001", records)
    path = rules.pathway(case, KENYA, at(15))
    assert path["next"]["step"] == "monitoring" and path["next"]["number"] == 1
    assert next(s for s in path["steps"] if s["step"] == "preparation")["count"] == 2
    assert rules.next_step_due(case, KENYA, at(15)) is None  # out of residential care: the visits are what is due
    assert rules.pathway(fold("CP-TEST-0001", records[:1]), KENYA, at(2)) is None


def test_pathway__follows_the_profile_no_monitoring_visits_nor_form_7a_where_it_has_none():
    """After a child leaves a CCI for kinship care, the kenya profile's path goes on to the monitoring
    visits, the readiness benchmarks (Form 7A) and closure; the inter-agency profile schedules no visits
    (period 0d) and has no readiness instrument: its path names neither, and closure is next."""
    case = fold("CP-TEST-0001", reunified_records())
    kenya, inter = rules.pathway(case, KENYA, at(11)), rules.pathway(case, INTER, at(11))
    assert [s["step"] for s in kenya["steps"]][-3:] == ["monitoring", "readiness", "closure"]
    assert kenya["next"]["step"] == "monitoring"
    assert "monitoring" not in [s["step"] for s in inter["steps"]] and "readiness" not in [s["step"] for s in inter["steps"]]
    assert inter["next"] == {"step": "closure", "title": "closure", "command": "cpcm close CASE --reason goals_met"}
    assert not rules.schedules_visits(INTER) and rules.schedules_visits(KENYA)


@pytest.mark.parametrize("then, entered", [
    ({"care_type": "kinship", "caregiver_name": "Aunt A", "court_order": {"number": "CC 2"}}, 1),  # an order renewed
    ({"care_type": "kinship", "address": "Oyugis"}, 1),                                           # a new address, same carer
    ({"care_type": "kinship", "caregiver_name": "Uncle B"}, 2),                                   # another caregiver
    ({"care_type": "foster_care", "caregiver_name": "Aunt A"}, 2),                                # another care type
])
def test_stay__the_same_placement_recorded_again_goes_on_a_move_begins_a_new_one(then, entered):
    placed = [{"record_id": "A", "at": "2026-11-01T06:00:00Z", "care_type": "institutional_care", "institution": "Home"},
              {"record_id": "B", "at": "2026-11-20T06:00:00Z", "care_type": "kinship", "caregiver_name": "Aunt A",
               "best_interests": "BID1", "court_order": {"number": "CC 1"}},
              dict(then, record_id="C", at="2026-11-25T06:00:00Z")]
    stay = rules.stay(placed)
    assert stay["record_id"] == "C" and stay["entered_at"] == placed[entered]["at"]
    # the order is the latest the stay gives: a new address recorded without one stands under CC 1; a move begins without it
    assert stay.get("court_order") == (then.get("court_order") or {"number": "CC 1"} if entered == 1 else None)
    assert stay["best_interests"] == ("BID1" if entered == 1 else None)
    assert rules.stay(placed, placed[1])["entered_record"] == "B" and rules.stay([]) is None


def test_renamed__a_caregivers_name_alone_put_right_is_the_same_caregiver_for_the_stay():
    """A correction of the caregiver's name alone (the same relationship, address and care type) is a
    misspelt name put right: the fold keeps the name it corrected, and either record of the stay, the
    one corrected or the other, names the same caregiver. A name changed with the relationship is not."""
    aunt = {"care_type": "kinship", "caregiver": {"name": "Aunt A", "relationship": "aunt"}, "address": "Oyugis"}
    fixed = dict(aunt, caregiver={"name": "Aunt Ann", "relationship": "aunt"})
    assert rules.renamed(aunt, fixed) and not rules.renamed(aunt, aunt)
    assert not rules.renamed(aunt, dict(fixed, caregiver={"name": "Aunt Ann", "relationship": "grandmother"}))
    assert not rules.renamed(aunt, dict(fixed, address="Kisian"))
    first = {"record_id": "B", "at": "2026-11-20T06:00:00Z", "care_type": "kinship", "caregiver_name": "Aunt A"}
    renewed = {"record_id": "C", "at": "2026-11-25T06:00:00Z", "care_type": "kinship", "caregiver_name": "Aunt Ann",
               rules.CAREGIVER_WAS: ("Aunt A",)}
    assert rules.stay([first, renewed])["entered_record"] == "B"
    first_fixed = dict(first, caregiver_name="Aunt Ann", caregiver_was=("Aunt A",))
    assert rules.stay([first_fixed, dict(renewed, caregiver_name="Aunt A", caregiver_was=None)])["entered_record"] == "B"
    assert rules.stay([first, dict(renewed, caregiver_was=None)])["entered_record"] == "C"  # another name: another caregiver
    assert rules.still_misspelt([first, renewed], "C") == ["B"] and rules.still_misspelt([first, renewed], "B") == []


# -- the service over the memory store -------------------------------------------------------------
def kenya_case(mem: MemoryRepo) -> str:
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    return case_id


def test_placement__without_best_interests_refused_and_nothing_written():
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    commits = mem.commits()
    with pytest.raises(Refused) as refused:
        service.placement(mem.as_("amina"), case_id, ADMISSION)
    assert refused.value.rule == "placement-best-interests" and "ESARO Principle 2" in refused.value.message
    assert f"cpcm assess {case_id} --type best-interests" in refused.value.hint
    assert mem.commits() == commits


def test_placement__every_bad_field_at_once_the_forms_the_court_order_and_the_time():
    """How a placement was decided (its court order, its CCI exit, the best-interests record it
    names) and its --at are checked with the form: one refusal names them all."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    amina = mem.as_("amina")
    service.assess(amina, case_id, "best-interests", BID)
    before = mem.commits()
    doc = dict(ADMISSION, formal="perhaps", decision={"court_order": {"date": "2026-01-10", "expires": "2026-01-01"}})
    with pytest.raises(InvalidInput) as bad:
        service.placement(amina, case_id, doc, at=amina.now + timedelta(days=1))
    assert {e.field for e in bad.value.errors} == {"formal", "decision.court_order.number", "decision.court_order.expires",
                                                   "at"}, str(bad.value)
    assert mem.commits() == before


def test_placement__recorded_before_its_best_interests_record_the_hint_names_that_record_by_its_id():
    """A move recorded late (--at before the decision's date), on a case with two best-interests
    records after it: the refusal names the first of them, and its hint corrects that one by its ID,
    not `assessment@best-interests` (the latest, which a later move may rest on)."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    amina = mem.as_("amina", now=at(30))
    named = service.assess(amina, case_id, "best-interests", BID, at=at(5))
    latest = service.assess(amina, case_id, "best-interests", BID, at=at(20))
    with pytest.raises(Refused) as refused:
        service.placement(amina, case_id, ADMISSION, at=at(2))
    assert "its best-interests record is dated 2026-11-28, after the placement" in refused.value.message
    assert f"cpcm correct {case_id} {named.record_id} --at WHEN --reason" in refused.value.hint
    assert latest.record_id not in refused.value.hint and "assessment@best-interests" not in refused.value.hint


def test_placement__on_a_closed_case_says_the_stage_first_for_a_caseworker_as_for_a_supervisor():
    """A closed case takes no placement: the refusal says so (reopen it), not that a best-interests
    record is needed first, which the closed case would refuse to record too."""
    mem = MemoryRepo("kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    service.close(amina, case_id, {"reason": "registered_in_error", "checklist": ["error_confirmed"]})
    service.approve(sup, case_id, "closure")
    commits = mem.commits()
    for worker, override in ((amina, None), (sup, "brought by police at night")):
        with pytest.raises(Refused) as refused:
            service.placement(worker, case_id, ADMISSION, override_reason=override)
        assert refused.value.rule == "transition-not-allowed", refused.value.message
        assert f"{case_id} is at stage 'closed': 'placement' is not allowed there" in refused.value.message
    assert mem.commits() == commits


def test_placement__a_supervisor_overrides_with_a_reason_a_caseworker_cannot():
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    with pytest.raises(Refused) as refused:
        service.placement(mem.as_("amina"), case_id, ADMISSION, override_reason="brought by police at night")
    assert "only a supervisor or manager" in refused.value.message
    done = service.placement(mem.as_("sup"), case_id, ADMISSION, override_reason="brought by police at night")
    assert any("without a best-interests record" in w and "record one within 72 hours, on cpcm due "
               f"(cpcm assess {case_id} --type best-interests)" in w for w in done.warnings)
    shown = service.show(mem.as_("sup"), case_id)
    assert shown["placement"]["best_interests_override"] and shown["placement"]["care_type"] == "institutional_care"
    record = service.show(mem.as_("sup"), case_id, "placement")
    assert record["fields"]["best_interests_override"] == {"reason": "brought by police at night", "by": "sup"}


def test_placement__dated_back_on_a_supervisors_reason_says_when_the_record_is_due_as_due_lists_it_not_within():
    """Was: a placement dated back five days (--at) on a supervisor's reason said "record one within
    72 hours, on cpcm due" while `cpcm due` listed the record overdue since two days; a plan
    version for the return home dated back said the same. Now a move dated back gives the due
    time of `due`'s own item (context.clock_said): 'was due by WHEN (overdue)' once passed, else
    'is due by WHEN'. Dated now, it still says 'within'."""
    from cpcm.domain.dates import local_text

    mem = MemoryRepo("kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina, at=at(-10).isoformat())
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"), at(-9))

    def owed() -> str:
        [item] = [i for i in service.due(amina) if i.case_id == case_id and i.code == "placement-best-interests"]
        return local_text(item.due, amina.zone)

    placed = service.placement(sup, case_id, ADMISSION, at(-5), override_reason="brought by police at night")
    assert (f"placed without a best-interests record, on a supervisor's reason: record one: it was due by {owed()} (overdue), "
            f"on cpcm due (cpcm assess {case_id} --type best-interests)") in placed.warnings, placed.warnings
    assert not any("within 72 hours" in w for w in placed.warnings), placed.warnings
    service.assess(amina, case_id, "comprehensive", COMPREHENSIVE, at(-4))
    service.plan(amina, case_id, plan_doc(), at(-4))
    home = service.plan(sup, case_id, plan_doc("reunification_done"), at(-1), override_reason="the court sent her home")
    assert (f"the child's return home recorded without a best-interests record, on a supervisor's reason: record one: it is "
            f"due by {owed()}, on cpcm due (cpcm assess {case_id} --type best-interests)") in home.warnings, home.warnings
    assert not any("within 72 hours" in w for w in home.warnings), home.warnings
    # dated now: 'within', as before
    now = service.placement(sup, kenya_case(mem), ADMISSION, override_reason="brought by police at night")
    assert any("record one within 72 hours, on cpcm due" in w for w in now.warnings), now.warnings


def test_placement__uses_the_best_interests_record_made_since_the_current_placement():
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    amina = mem.as_("amina")
    first = service.assess(amina, case_id, "best-interests", BID)
    admitted = service.placement(amina, case_id, ADMISSION)
    assert admitted.extra["best_interests"] == first.record_id and admitted.extra["setting"] == "residential"
    assert not admitted.extra["reunification"]
    later = mem.as_("amina", now=at(20))
    with pytest.raises(Refused):  # the admission's record does not license the next move
        service.placement(later, case_id, KINSHIP)
    with pytest.raises(InvalidInput) as bad:
        service.placement(later, case_id, dict(KINSHIP, decision={"best_interests": first.record_id}))
    assert [e.field for e in bad.value.errors] == ["decision.best_interests"]
    second = service.assess(later, case_id, "best-interests", BID)
    without_exit = dict(KINSHIP)
    del without_exit["cci_exit"]
    with pytest.raises(InvalidInput) as no_exit:
        service.placement(later, case_id, without_exit)
    assert [e.field for e in no_exit.value.errors] == ["cci_exit"]
    home = service.placement(later, case_id, KINSHIP)
    assert home.extra["best_interests"] == second.record_id and home.extra["reunification"]
    again = service.placement(mem.as_("amina", now=at(30)), case_id, dict(KINSHIP, address="Oyugis", cci_exit=None))
    assert again.extra["best_interests"] is None and not again.extra["reunification"]  # the same placement, a new address
    case = service.load_case(mem.as_("sup"), case_id)
    assert [p["care_type"] for p in case.placements] == ["institutional_care", "kinship", "kinship"]
    assert case.stage == "initial_assessment"  # placements never change the stage


def test_steps__tracing_family_assessment_preparation_are_records_show_follows():
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    sup = mem.as_("sup")
    service.placement(sup, case_id, ADMISSION, override_reason="emergency admission")
    traced = service.tracing(mem.as_("amina"), case_id, TRACING)
    assert traced.kind == "tracing" and "family assessment" in traced.next_steps[-1]
    with pytest.raises(InvalidInput) as bad:
        service.tracing(mem.as_("amina"), case_id, dict(TRACING, outcome="not_found"))
    assert [e.field for e in bad.value.errors] == ["no_trace_proof"]
    service.family_assessment(mem.as_("amina"), case_id, FAMILY)
    shown = service.show(sup, case_id)
    path = shown["reintegration"]
    assert [s["step"] for s in path["steps"] if s["done"]] == ["admission", "tracing", "family_assessment"]
    assert path["next"]["step"] == "best_interests"
    assert "reintegration-step" in {d["code"] for d in shown["due"]}


def test_steps__the_best_interests_decision_says_what_is_next_on_the_path_as_the_other_steps_do():
    from test_readback import BID

    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    service.placement(mem.as_("sup"), case_id, ADMISSION, override_reason="emergency admission")
    amina = mem.as_("amina", now="2026-11-28T09:00:00+03:00")
    service.tracing(amina, case_id, TRACING)
    assert "best-interests" in service.family_assessment(amina, case_id, FAMILY).next_steps[-1]
    decided = service.assess(amina, case_id, "best_interests", dict(BID, decision="reintegration"))
    assert decided.next_steps == (f"next on the path of reintegration: preparation of the child and family: "
                                  f"cpcm preparation {case_id}",)


def test_steps__a_mistyped_tracing_family_assessment_or_preparation_is_corrected_by_cpcm_correct():
    """A wrong date or rating on a step of reintegration is corrected as a follow-up is: a record
    that supersedes it, checked by the step's form (bad input writes nothing)."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    service.placement(mem.as_("sup"), case_id, ADMISSION, override_reason="emergency admission")
    amina = mem.as_("amina", now="2026-11-28T09:00:00+03:00")
    traced = service.tracing(amina, case_id, TRACING, at=datetime.fromisoformat("2026-11-25T10:00:00+03:00"))
    assessed = service.family_assessment(amina, case_id, FAMILY)
    prepared = service.preparation(amina, case_id, PREPARATION)
    fixed = service.correct(amina, case_id, assessed.record_id,
                            {"domains": {"economic_factors": {"rating": "serious_concern"}}}, "rating mistyped")
    assert fixed.extra["supersedes"] == assessed.record_id
    moved = service.correct(amina, case_id, traced.record_id, {}, "date mistyped",
                            at=datetime.fromisoformat("2026-11-24T10:00:00+03:00"))
    before = mem.commits()
    with pytest.raises(InvalidInput) as bad:
        service.correct(amina, case_id, prepared.record_id, {"what_was_done": None}, "emptied")
    assert [e.field for e in bad.value.errors] == ["what_was_done"] and mem.commits() == before
    shown = service.show(amina, case_id)
    steps = {s["step"]: s for s in shown["reintegration"]["steps"]}
    assert steps["tracing"]["count"] == 1 and steps["tracing"]["last"].startswith("2026-11-24")
    assert steps["family_assessment"]["count"] == 1
    read = service.show(amina, case_id, "family_assessment")
    assert read["record_id"] == fixed.record_id and read["fields"]["domains"]["economic_factors"]["rating"] == "serious_concern"
    assert read["fields"]["domains"]["caregiving_capacity"]["rating"] == "adequate"  # the rest kept
    kinds = [h["kind"] for h in shown["history"]]
    assert kinds.count("tracing") == 1 and kinds.count("family_assessment") == 1 and moved.record_id in [h["record_id"] for h in shown["history"]]


def test_case_file__the_steps_of_reintegration_have_headings_not_kind_names():
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    sup = mem.as_("sup")
    service.placement(sup, case_id, ADMISSION, override_reason="emergency admission")
    amina = mem.as_("amina")
    service.tracing(amina, case_id, TRACING)
    service.family_assessment(amina, case_id, FAMILY)
    service.preparation(amina, case_id, PREPARATION)
    for lang in ("en", "sw"):
        text = service.render(sup, "case-file", case_id, lang=lang).text
        headings = re.findall(r"^### \d+\. (.+)$", text, re.M)
        assert len(headings) == 6, headings
        assert not [h for h in headings if re.fullmatch(r"[a-z_]+", h)], headings
    english = re.findall(r"^### \d+\. (.+)$", service.render(sup, "case-file", case_id).text, re.M)
    assert english[2:] == ["Placement (where and with whom the child lives)", "Family tracing", "Family assessment",
                           "Preparation for reintegration"]


TRACING = {"sources": ["child", "fieldwork"], "outcome": "family_found",
           "people": [{"name": "Grace Achieng", "relationship": "grandmother", "found": "yes", "willing": "yes",
                       "location": "Nyakach"}]}
FAMILY = {"family": "extended_family", "caregiver": {"name": "Grace Achieng", "relationship": "grandmother"},
          "domains": {d: {"rating": "adequate"} for d in ("caregiving_capacity", "social_cultural_context", "family_members_needs",
                                                           "economic_factors", "community_and_family_support")},
          "family_willing": "yes", "child_views": "wants to live with her grandmother", "recommendation": "reunify_with_support"}
PREPARATION = {"with": ["child", "family"], "method": "home_visit", "what_was_done": "a day visit home; school change talked through",
               "child_agrees": "yes", "family_agrees": "yes"}


# -- the command line --------------------------------------------------------------------------------


def placed(cli: Cli, case_id: str, doc: dict, *extra: str):
    return cli("placement", case_id, "--from-file", "-", "--json", *extra, input=json.dumps(doc))


def test_cli__placement_without_best_interests_exits_4_with_the_rule_and_writes_nothing(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    commits = commit_count(kenya.root)
    refused = placed(amina, case_id, ADMISSION)
    assert refused.code == 4 and refused.json()["rule"] == "placement-best-interests"
    flags = amina("placement", case_id, "--care-type", "temporary_shelter", "--institution", "Kisumu place of safety")
    assert flags.code == 4 and "best-interests record first" in flags.stderr and "--override-reason" in flags.stderr
    worker = amina("placement", case_id, "--care-type", "temporary_shelter", "--override-reason", "police brought her at night")
    assert worker.code == 4 and "only a supervisor or manager" in worker.stderr
    assert commit_count(kenya.root) == commits
    sup = kenya("sup")
    done = sup("placement", case_id, "--care-type", "temporary_shelter", "--institution", "Kisumu place of safety",
               "--override-reason", "police brought her at night", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["setting"] == "residential" and commit_count(kenya.root) == commits + 1
    assert any("without a best-interests record" in w for w in done.json()["warnings"])
    shown = amina("show", case_id)
    assert "temporary shelter at Kisumu place of safety since 2026-11-23" in shown.stdout
    assert "placed without a best-interests record" in shown.stdout


def test_cli__court_order_expiry_and_monitoring_visits_on_due_and_in_ics(kenya, tmp_path):
    amina = kenya("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    admitted = amina("placement", case_id, "--care-type", "institutional_care", "--institution", "Tumaini Children's Home",
                     "--court-order", "CC 12/2026", "--court-order-date", "2026-11-20", "--court-order-expires", "2026-12-20", "--json")
    assert admitted.code == 0, admitted.stderr
    assert any("court order expires on 2026-12-20" in s for s in admitted.json()["next_steps"])
    due = {i["code"]: i for i in amina("due", "--within", "60", "--json").json() if i["case_id"] == case_id}
    assert due["court-order"]["due"].startswith("2026-12-20T23:59") and due["court-order"]["target"].startswith("2026-11-20")
    assert due["court-order"]["state"] == "target_missed" and due["reintegration-step"]["title"] == "reintegration: family tracing"
    ics = tmp_path / "due.ics"
    assert amina("due", "--within", "60", "--ics", str(ics)).code == 0
    calendar = ics.read_text()
    assert "court order expires" in calendar and "CC 12/2026" not in calendar
    later = kenya("amina", now="2026-12-01T09:00:00+03:00")
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    home = placed(later, case_id, KINSHIP)
    assert home.code == 0, home.stderr
    assert home.json()["reunification"] and any("every 1 month for the first 3 months" in s for s in home.json()["next_steps"])
    due = {i["code"]: i for i in later("due", "--within", "40", "--json").json() if i["case_id"] == case_id}
    assert "court-order" not in due and "reintegration-step" not in due
    assert due["monitoring-visit"]["due"].startswith("2027-01-01T09:00") and due["monitoring-visit"]["rule"] == "placement_monitoring"
    ics2 = tmp_path / "due2.ics"
    assert later("due", "--within", "40", "--ics", str(ics2)).code == 0
    assert "monitoring visit 1 after reunification" in ics2.read_text()


def test_cli__a_court_order_falls_due_at_the_end_of_its_expiry_day_not_its_start(kenya):
    """An order expiring 2026-12-20 is due on that day (docs/commands/placements.md), a date alone falling due at
    23:59:59 there (docs/commands/repository.md): at 10:00 that morning it is not overdue on due, show or check,
    and it is from the next day on; the target is a month before, at the end of that day too."""
    amina = kenya("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert amina("placement", case_id, "--care-type", "institutional_care", "--institution", "Tumaini Children's Home",
                 "--court-order", "CC 7/2026", "--court-order-expires", "2026-12-20").code == 0
    morning = kenya("amina", now="2026-12-20T10:00:00+03:00")
    (item,) = [i for i in morning("due", "--json").json() if i["case_id"] == case_id and i["code"] == "court-order"]
    assert (item["state"], item["due"], item["target"]) == ("target_missed", "2026-12-20T23:59+03:00", "2026-11-20T23:59+03:00")
    assert item["title"] == "court order expires: renew it or end the placement" and "lapses on this day" in item["why"]
    shown = morning("show", case_id)
    assert [i for i in morning("show", case_id, "--json").json()["due"] if i["code"] == "court-order"] == [item]
    assert re.search(r"court order expires: renew it or end the placement.*2026-12-20 23:59 \+03:00", shown.stdout), shown.stdout
    assert "court-order-overdue" not in {p["code"] for p in morning("check", "--json").json()}
    after = kenya("amina", now="2026-12-21T00:00:00+03:00")
    assert [i["state"] for i in after("due", "--json").json() if i["case_id"] == case_id and i["code"] == "court-order"] == ["overdue"]
    assert "court-order-overdue" in {p["code"] for p in after("check", "--json").json()}

def test_cli__a_crisis_home_visit_is_recorded_and_shown_and_the_planned_monitoring_visit_stays_due(kenya):
    """A home visit made for a crisis (--purpose crisis) is no monitoring visit (placement_monitoring.not_counted):
    it is in the case's log, and the first monitoring visit stays due a month after the placement; a home visit for
    monitoring then counts, and the next one is due a month after it."""
    later = kenya("amina", now="2026-12-20T09:00:00+03:00")
    case_id = register(kenya("amina"))
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", "--at", "2026-11-30",
                 input=json.dumps(BID)).code == 0
    home = placed(later, case_id, {k: v for k, v in KINSHIP.items() if k != "cci_exit"}, "--at", "2026-12-01T10:00")
    assert home.code == 0, home.stderr

    def visit() -> dict:
        items = later("due", "--within", "60", "--json").json()
        return {i["code"]: i for i in items if i["case_id"] == case_id}["monitoring-visit"]

    def followup(purpose: str, when: str) -> None:
        done = later("followup", case_id, "--method", "home_visit", "--purpose", purpose, "--purpose-detail", "visit",
                     "--visited-by", "professional", "--risk-increased", "no", "--at", when)
        assert done.code == 0, done.stderr

    followup("crisis", "2026-12-10T10:00")
    assert (visit()["title"], visit()["due"]) == ("monitoring visit 1 after reunification", "2027-01-01T10:00+03:00")
    logged = [(e["kind"], e["at"][:10]) for e in later("log", case_id, "--json").json() if e["kind"] == "followup"]
    assert logged == [("followup", "2026-12-10")]
    steps = {s["step"]: s for s in later("show", case_id, "--json").json()["reintegration"]["steps"]}
    assert steps["monitoring"]["count"] == 0
    followup("monitoring", "2026-12-15T10:00")
    assert (visit()["title"], visit()["due"]) == ("monitoring visit 2 after reunification", "2027-01-15T10:00+03:00")


def test_cli__show_gives_each_step_of_reintegration_on_its_day_in_the_agencys_zone(kenya):
    """Steps recorded with a date alone (--at 2026-11-25: midnight in Nairobi, 21:00 UTC the day
    before) and a placement at 01:30 show on their own days, in the text and in --json (with the
    agency's offset), as `cpcm log` has them; so does the monitoring visit's reason."""
    amina = kenya("amina")
    case_id = register(amina)
    later = kenya("amina", now="2026-12-01T09:00:00+03:00")
    for args, doc in ((("tracing", "--at", "2026-11-25"), TRACING), (("family-assessment", "--at", "2026-11-27"), FAMILY),
                      (("assess", "--type", "best-interests", "--at", "2026-11-28"), BID)):
        done = later(args[0], case_id, *args[1:], "--from-file", "-", input=json.dumps(doc))
        assert done.code == 0, done.stderr
    assert later("preparation", case_id, "--with", "child", "--method", "home_visit", "--done", "talked it through",
                 "--child-agrees", "yes", "--at", "2026-11-30").code == 0
    home = placed(later, case_id, {k: v for k, v in KINSHIP.items() if k != "cci_exit"}, "--at", "2026-12-01T01:30")
    assert home.code == 0, home.stderr
    shown = later("show", case_id)
    assert ("tracing 2026-11-25 (family found); family assessment 2026-11-27; best interests 2026-11-28; "
            "preparation 2026-11-30; reunification 2026-12-01;") in shown.stdout
    assert "kinship at Nyakach, Kisumu with Grace Achieng (grandmother) since 2026-12-01" in shown.stdout
    path = later("show", case_id, "--json").json()["reintegration"]
    last = {s["step"]: s["last"] for s in path["steps"] if s["done"]}
    assert last == {"tracing": "2026-11-25T00:00:00+03:00", "family_assessment": "2026-11-27T00:00:00+03:00",
                    "best_interests": "2026-11-28T00:00:00+03:00", "preparation": "2026-11-30T00:00:00+03:00",
                    "reunification": "2026-12-01T01:30:00+03:00"}
    assert path["reunified"] == "2026-12-01T01:30:00+03:00"
    logged = [e["at"][:10] for e in later("log", case_id, "--json").json() if e["kind"] in ("tracing", "family_assessment", "preparation")]
    assert logged == ["2026-11-25", "2026-11-27", "2026-11-30"]
    visit = {i["code"]: i for i in later("due", "--within", "40", "--json").json() if i["case_id"] == case_id}["monitoring-visit"]
    assert visit["due"] == "2027-01-01T01:30+03:00" and "after the placement of 2026-12-01 " in visit["why"]


def test_cli__a_home_visit_or_a_readiness_comment_while_the_child_is_in_care_is_no_step_of_the_path(kenya):
    """A child in a CCI, traced on 2026-12-03: the family assessment is due a month after it. A home visit for a
    plan action (2026-12-25) is no monitoring visit before the child went home, and a readiness comment after a
    case conference (2026-12-28) made in care is no readiness step (docs/kenya-readiness.md): neither is done on
    show's path, nor restarts the month of the `reintegration-step` clock (docs/workflow.md). Once the child is
    home, a home visit is the monitoring step."""
    amina = kenya("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert amina("placement", case_id, "--care-type", "institutional_care", "--institution", "Tumaini Children's Home").code == 0
    traced = kenya("amina", now="2026-12-03T10:00:00+03:00")("tracing", case_id, "--from-file", "-", input=json.dumps(TRACING))
    assert traced.code == 0, traced.stderr

    def path(cli: Cli) -> tuple[dict, list]:
        shown = cli("show", case_id, "--json").json()
        return ({s["step"]: s["done"] for s in shown["reintegration"]["steps"]},
                [i["due"] for i in shown["due"] if i["code"] == "reintegration-step"])

    visited = kenya("amina", now="2026-12-25T10:00:00+03:00")
    assert visited("followup", case_id, "--method", "home_visit", "--purpose", "plan_action", "--purpose-detail", "school fees",
                   "--visited-by", "professional", "--risk-increased", "no", "--no-input").code == 0
    steps, due = path(visited)
    assert not steps["monitoring"] and due == ["2027-01-03T10:00+03:00"]
    assert "monitoring" not in [line for line in visited("show", case_id).stdout.splitlines() if line.startswith("reintegration")][0]
    commented = kenya("amina", now="2026-12-28T10:00:00+03:00")
    assert commented("readiness", case_id, "--occasion", "case_conference", "--consulted", "child", "--notes", "settling",
                     "--no-input").code == 0
    steps, due = path(commented)
    assert not steps["readiness"] and not steps["monitoring"] and due == ["2027-01-03T10:00+03:00"]
    listed = [i["due"] for i in commented("due", "--within", "60", "--json").json()
              if i["case_id"] == case_id and i["code"] == "reintegration-step"]
    assert listed == ["2027-01-03T10:00+03:00"]
    home = kenya("amina", now="2027-01-02T10:00:00+03:00")
    assert home("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert placed(home, case_id, KINSHIP).code == 0
    assert home("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "first visit",
                "--visited-by", "professional", "--risk-increased", "no", "--no-input").code == 0
    steps, due = path(home)
    assert steps["reunification"] and steps["monitoring"] and not steps["readiness"] and due == []

def test_cli__a_plan_for_reunification_done_confirms_the_placement_home_and_starts_no_clock_again(kenya):
    """A kinship placement at 10:00 on 1 December, then a plan for reunification_done the next day,
    approved: one reunification (show says it once), the first monitoring visit a month after the
    placement, at its time, before and after the plan."""
    amina, sup = kenya("amina", now="2026-12-01T12:00:00+03:00"), kenya("sup", now="2026-12-02T12:00:00+03:00")
    case_id = register(kenya("amina"))
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", "--at", "2026-11-30",
                 input=json.dumps(BID)).code == 0
    home = placed(amina, case_id, {k: v for k, v in KINSHIP.items() if k != "cci_exit"}, "--at", "2026-12-01T10:00")
    assert home.code == 0 and home.json()["reunification"], home.stderr

    def visit(now: str) -> dict:
        items = kenya("amina", now=now)("due", "--within", "60", "--json").json()
        return {i["code"]: i for i in items if i["case_id"] == case_id}["monitoring-visit"]

    before = visit("2026-12-01T12:00:00+03:00")
    assert before["due"] == "2027-01-01T10:00+03:00" and "after the placement of 2026-12-01 " in before["why"]
    written = kenya("amina", now="2026-12-02T09:00:00+03:00")("plan", case_id, "--from-file", "-",
                                                             input=json.dumps(plan_doc("reunification_done")))
    assert written.code == 0, written.stderr
    assert sup("approve", case_id, "plan").code == 0
    assert visit("2026-12-02T12:00:00+03:00") == before
    shown = kenya("amina", now="2026-12-02T12:00:00+03:00")("show", case_id)
    assert "reunification 2026-12-01;" in shown.stdout and "reunification x2" not in shown.stdout
    assert "monitoring visits (due 2027-01-01)" in shown.stdout
    path = kenya("amina", now="2026-12-02T12:00:00+03:00")("show", case_id, "--json").json()["reintegration"]
    assert path["reunified"] == "2026-12-01T10:00:00+03:00"
    assert [(s["count"], s["last"]) for s in path["steps"] if s["step"] == "reunification"] == [(1, "2026-12-01T10:00:00+03:00")]


def test_cli__the_register_lists_children_in_care_and_those_who_left_with_counts(kenya, tmp_path):
    amina, sup = kenya("amina"), kenya("sup")
    ids = [register(amina) for _ in range(3)]
    for case_id in ids:
        assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
        assert placed(amina, case_id, ADMISSION).code == 0
    assert placed(sup, ids[2], {"care_type": "foster_care", "caregiver": {"name": "A Foster", "relationship": "foster parent"}},
                  "--override-reason", "emergency move").code == 4  # no exit kind given for a child leaving the CCI
    later = kenya("amina", now="2026-12-05T09:00:00+03:00")
    assert later("assess", ids[0], "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert placed(later, ids[0], KINSHIP).code == 0
    assert placed(kenya("sup", now="2026-12-06T09:00:00+03:00"), ids[2],
                  {"care_type": "foster_care", "caregiver": {"name": "A Foster", "relationship": "foster parent"},
                   "address": "Kondele", "cci_exit": "alternative_family_based_care"}, "--override-reason", "emergency move").code == 0
    report = kenya("sup", now="2026-12-07T09:00:00+03:00")("report", "placements", "--format", "json")
    assert report.code == 0, report.stderr
    view = report.json()
    in_care = {r["case_id"]: r for r in view["in_care"]}
    assert set(in_care) == set(ids)
    assert in_care[ids[1]]["care_type"] == "institutional_care" and in_care[ids[1]]["order"] == "CC 12/2026 (expires 2026-07-10)"
    assert in_care[ids[1]]["place"] == "Tumaini Children's Home" and in_care[ids[1]]["since"] == "2026-11-23"
    assert in_care[ids[0]]["care_type"] == "kinship" and in_care[ids[0]]["place"] == "Nyakach, Kisumu"
    assert [(r["case_id"], r["left_on"], r["to"], r["cci_exit"]) for r in view["left"]] == [
        (ids[0], "2026-12-05", "kinship", "family_reintegration"), (ids[2], "2026-12-06", "foster_care", "alternative_family_based_care")]
    assert view["counts"]["by_care_type"]["institutional_care"] == 1 and view["counts"]["by_care_type"]["kinship"] == 1
    assert view["counts"]["by_care_type"]["foster_care"] == 1 and view["counts"]["by_exit"]["family_reintegration"] == 1
    plain = kenya("sup", now="2026-12-07T09:00:00+03:00")("report", "placements")
    assert "# Children in alternative care now (3)" in plain.stdout and "# Children who left residential care" in plain.stdout
    out = tmp_path / "register.html.age"
    assert sup("report", "placements", "--out", str(out)).code == 0
    assert out.read_bytes().startswith(b"age-encryption.org/v1")  # encrypted like the caseload report
    for fmt in ("md", "html", "csv"):
        rendered = sup("report", "placements", "--format", fmt)
        assert rendered.code == 0 and ids[1] in rendered.stdout, fmt


def test_cli__the_register_names_the_cci_a_child_left_after_a_renewal_recorded_without_its_name(kenya):
    """Admitted to Tumaini Children's Home, the order renewed without --institution (the same placement
    recorded again), then home to the grandmother: the register's row of the child who left residential care
    names the CCI of the stay, as show does, not the renewal's empty field."""
    amina = kenya("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert placed(amina, case_id, ADMISSION).code == 0
    renewal = kenya("amina", now="2026-11-30T09:00:00+03:00")("placement", case_id, "--care-type", "institutional_care",
                                                              "--court-order", "CC 2/2026", "--court-order-expires", "2027-12-01")
    assert renewal.code == 0, renewal.stderr
    later = kenya("amina", now="2026-12-05T09:00:00+03:00")
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert placed(later, case_id, KINSHIP).code == 0
    row = {r["case_id"]: r for r in later("report", "placements", "--format", "json").json()["left"]}[case_id]
    assert (row["from"], row["institution"], row["to"]) == ("institutional_care", "Tumaini Children's Home", "kinship")
    assert "institutional care (Tumaini Children's Home)" in later("report", "placements").stdout


def test_cli__steps_and_show_tell_where_the_case_stands_and_what_is_next(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    assert sup("placement", case_id, "--care-type", "institutional_care", "--override-reason", "court committal").code == 0
    assert amina("tracing", case_id, "--from-file", "-", input=json.dumps(TRACING)).code == 0
    assessed = amina("family-assessment", case_id, "--from-file", "-", "--json", input=json.dumps(FAMILY))
    assert assessed.code == 0, assessed.stderr
    assert assessed.json()["pathway"]["next"]["step"] == "best_interests"
    prepared = amina("preparation", case_id, "--with", "child", "--with", "family", "--method", "home_visit", "--done",
                     "day visit home", "--child-agrees", "yes", "--family-agrees", "yes")
    assert prepared.code == 0, prepared.stderr
    shown = amina("show", case_id)
    assert "reintegration\tadmission 2026-11-23; tracing 2026-11-23 (family found); family assessment 2026-11-23; " \
           "best interests: not yet; preparation 2026-11-23" in shown.stdout
    assert f"reintegration next\tbest-interests decision on the placement: cpcm assess {case_id} --type best-interests" in shown.stdout
    log = amina("log", case_id, "--json").json()
    assert [e["kind"] for e in log][-4:] == ["placement", "tracing", "family_assessment", "preparation"]
    blank = amina("form", "blank", "family-assessment")
    assert blank.code == 0 and "Parenting and caregiving capacity: rating" in blank.stdout


def test_cli__a_plaintext_register_warns_that_it_lists_children_not_caseloads(cli, tmp_path):
    """The register written unencrypted (`--plaintext`) lists children's cases and where each is
    placed: its warning says so (was: 'it names workers and their caseloads', the caseload
    report's warning, which understated what the file holds)."""
    register(cli)
    out = tmp_path / "register.csv"
    written = cli("report", "placements", "--out", str(out), "--plaintext")
    assert written.code == 0 and out.exists(), written.stderr
    assert "unencrypted: it lists children's cases and where each is placed" in written.stderr
    assert "caseloads" not in written.stderr
    caseload = cli("report", "caseload", "--out", str(tmp_path / "caseload.csv"), "--plaintext")
    assert caseload.code == 0 and "it names workers and their caseloads" in caseload.stderr
    # the retention report lists case IDs, the complaints report counts only: each warning says what it holds
    retention = cli("report", "retention", "--out", str(tmp_path / "retention.md"), "--plaintext")
    assert retention.code == 0 and "unencrypted: it lists children's cases, by case ID" in retention.stderr, retention.stderr
    complaints = cli("report", "complaints", "--out", str(tmp_path / "complaints.md"), "--plaintext")
    assert complaints.code == 0 and "unencrypted: it counts the complaints" in complaints.stderr, complaints.stderr
    assert "caseloads" not in retention.stderr + complaints.stderr


# -- a placement corrected: its date, checked again ------------------------------------------------
def home_recorded_late(mem: MemoryRepo) -> tuple[str, str]:
    """A kenya case admitted on day 0 and taken home on day 25 by a best-interests decision of day
    20, the move recorded only on day 40 without its date: (case, the reunification record)."""
    case_id = kenya_case(mem)
    amina = mem.as_("amina")
    service.assess(amina, case_id, "best-interests", BID)
    service.placement(amina, case_id, ADMISSION)
    service.assess(mem.as_("amina", now=at(20)), case_id, "best-interests", BID)
    home = service.placement(mem.as_("amina", now=at(40)), case_id, KINSHIP)
    return case_id, home.record_id


def test_correct__a_placements_date_moves_the_reunification_and_the_visits_that_count_from_it():
    mem = MemoryRepo("kenya")
    case_id, home = home_recorded_late(mem)
    late = service.load_case(mem.as_("sup"), case_id)
    assert late.last("reunification") == utc(at(40).isoformat())
    first_visit = rules.monitoring_visit(late, KENYA, at(41)).due
    commits = mem.commits()
    done = service.correct(mem.as_("amina", now=at(41)), case_id, "placement", {}, "the child went home on day 25", at=at(25))
    assert mem.commits() == commits + 1 and done.extra["supersedes"] == home
    case = service.load_case(mem.as_("sup"), case_id)
    assert [(p["care_type"], p["at"]) for p in case.placements] == [("institutional_care", utc(at(0).isoformat())),
                                                                     ("kinship", utc(at(25).isoformat()))]
    assert case.last("reunification") == utc(at(25).isoformat())
    assert rules.monitoring_visit(case, KENYA, at(41)).due < first_visit
    kept = service.show(mem.as_("sup"), case_id, done.record_id)["fields"]
    assert kept["reunification"] is True and kept["setting"] != "residential" and kept["address"] == KINSHIP["address"]
    assert kept["decision"]["best_interests"]  # the day-20 decision, found again for the corrected date
    shown = service.show(mem.as_("sup"), case_id)
    assert shown["placement"]["record_id"] == done.record_id


def test_correct__a_placement_moved_before_its_best_interests_decision_is_refused_and_nothing_written():
    mem = MemoryRepo("kenya")
    case_id, _ = home_recorded_late(mem)
    commits = mem.commits()
    with pytest.raises(Refused) as refused:
        service.correct(mem.as_("amina", now=at(41)), case_id, "placement", {}, "typed the wrong day", at=at(15))
    assert refused.value.rule == "placement-best-interests" and "after the placement" in refused.value.message
    with pytest.raises(InvalidInput) as bad:  # the CCI exit is still asked of a move out of residential care
        service.correct(mem.as_("amina", now=at(41)), case_id, "placement", {"cci_exit": ""}, "no exit")
    assert [e.field for e in bad.value.errors] == ["cci_exit"]
    assert mem.commits() == commits


def test_correct__a_supervisors_reason_to_place_without_best_interests_stays_whoever_corrects():
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    service.placement(mem.as_("sup"), case_id, ADMISSION, override_reason="brought by police at night")
    done = service.correct(mem.as_("amina", now=at(2)), case_id, "placement", {"institution": "Tumaini Home (Kisumu)"},
                           "the home's name as on the order")
    kept = service.show(mem.as_("sup"), case_id, done.record_id)["fields"]
    assert kept["best_interests_override"] == {"reason": "brought by police at night", "by": "sup"}
    assert kept["institution"] == "Tumaini Home (Kisumu)"
    with pytest.raises(Refused) as same:
        service.correct(mem.as_("amina", now=at(3)), case_id, "placement", {"institution": "Tumaini Home (Kisumu)"}, "again")
    assert same.value.rule == "nothing-to-correct"


def test_correct__placement_names_the_placement_in_force_not_a_move_recorded_late_and_says_which():
    """`placement` is the placement in force, the latest by its date, as `cpcm show` says where the
    child lives: a move to another home recorded later with an earlier --at is not it (it is named
    by its ID or placement@N). The correction says which placement it corrected: its day, its care type."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    amina = mem.as_("amina")
    service.assess(amina, case_id, "best-interests", BID)
    service.placement(amina, case_id, ADMISSION)
    service.assess(mem.as_("amina", now=at(20)), case_id, "best-interests", BID)
    home = service.placement(mem.as_("amina", now=at(20)), case_id, KINSHIP)
    late = service.placement(mem.as_("sup", now=at(30)), case_id, dict(ADMISSION, institution="Upendo Home"), at=at(3),
                             override_reason="moved to another home that week, recorded late")
    assert service.show(amina, case_id, "placement")["record_id"] == home.record_id
    done = service.correct(mem.as_("amina", now=at(31)), case_id, "placement", {"address": "Oyugis"}, "the address was mistyped")
    assert done.extra["supersedes"] == home.record_id
    assert done.extra["placement"] == {"at": "2026-12-13", "care_type": "kinship"}
    assert service.show(amina, case_id, "placement@3")["record_id"] == late.record_id  # the one written third, by its number
    case = service.load_case(mem.as_("sup"), case_id)
    assert case.placement["record_id"] == done.record_id and case.placement["address"] == "Oyugis"


KIN_ORDER = {"care_type": "kinship", "caregiver": {"name": "Jane Achola", "relationship": "aunt"}, "address": "Kisian",
        "decision": {"court_order": {"number": "CC 95/2026", "expires": "2027-06-18"}}}


@pytest.mark.parametrize("first", ["placement@1", "placement"])
def test_correct__a_caregivers_name_put_right_on_one_record_of_a_stay_keeps_the_stay_and_its_decision(first):
    """Kinship care renewed (the same placement recorded again): the aunt's name, misspelt on both
    records, is put right on one, then the other, in either order. A correction of the caregiver's
    name alone (the same relationship, address and care type) is the same caregiver: the stay still
    runs from the first record, on its best-interests record, and the later record's correction
    needs no decision of its own. A new placement with another name, or a correction that changes
    the relationship with the name, is still a change of caregiver."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    amina = mem.as_("amina", now=at(30))
    bid = service.assess(mem.as_("amina"), case_id, "best-interests", BID)
    entered = service.placement(mem.as_("amina"), case_id, KIN_ORDER)
    service.placement(mem.as_("amina", now=at(20)), case_id,
                      dict(KIN_ORDER, decision={"court_order": {"number": "CC 120/2026", "expires": "2027-12-18"}}))
    name, entry = {"caregiver": {"name": "Janet Achola"}}, entered.record_id
    for number, ref in enumerate((first, "placement@1" if first == "placement" else "placement")):
        other = service.find_record(case_id, service.load_records(amina, case_id),
                                    "placement" if ref == "placement@1" else "placement@1", amina.policy).id
        done = service.correct(amina, case_id, ref, name, "the aunt's name was mistyped")
        # the other record of the stay, named by its ID until it is put right too (never the name)
        assert [other in step and "Jane" not in step for step in done.next_steps] == [True] * (number == 0), done.next_steps
        entry = done.record_id if ref == "placement@1" else entry  # the first record, or its correction in its place
        shown = service.show(amina, case_id)["placement"]
        assert (shown["entered_record"], shown["best_interests"]) == (entry, bid.record_id), ref
        assert not any("best-interests" in w for w in done.warnings)
    assert shown["caregiver_name"] == "Janet Achola" and shown["court_order"]["number"] == "CC 120/2026"
    with pytest.raises(Refused) as moved:  # another caregiver (not a name put right) is a move, as before
        service.placement(mem.as_("amina", now=at(31)), case_id,
                          dict(KIN_ORDER, caregiver={"name": "Mary Atieno", "relationship": "aunt"}))
    assert moved.value.rule == "placement-best-interests"
    with pytest.raises(Refused) as other:  # nor is a name changed with the relationship a spelling put right
        service.correct(amina, case_id, "placement", {"caregiver": {"name": "Jane Achola", "relationship": "grandmother"}}, "x")
    assert other.value.rule == "placement-best-interests"


def test_cli__a_placement_recorded_on_the_wrong_day_is_corrected_and_due_counts_from_the_right_one(kenya):
    """A move home recorded a week late: `cpcm correct CASE placement --at DAY` moves the monitoring
    visit on `due`, `show` says the new day, `log` keeps both, and the history verifies."""
    amina = kenya("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert amina("placement", case_id, "--care-type", "institutional_care", "--institution", "Tumaini Children's Home").code == 0
    later = kenya("amina", now="2026-12-01T09:00:00+03:00")
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    wrong = kenya("amina", now="2026-12-08T09:00:00+03:00")
    assert placed(wrong, case_id, KINSHIP).code == 0
    visit = {i["code"]: i for i in wrong("due", "--within", "60", "--json").json() if i["case_id"] == case_id}["monitoring-visit"]
    assert visit["due"].startswith("2027-01-08T09:00")
    fixed = wrong("correct", case_id, "placement", "--at", "2026-12-01T10:00:00+03:00", "--reason", "went home on the 1st",
                  "--json")
    assert fixed.code == 0, fixed.stderr
    visit = {i["code"]: i for i in wrong("due", "--within", "60", "--json").json() if i["case_id"] == case_id}["monitoring-visit"]
    assert visit["due"].startswith("2027-01-01T10:00")
    assert "since 2026-12-01" in wrong("show", case_id).stdout
    said = wrong("correct", case_id, "placement", "--set", "address=Oyugis", "--reason", "the address was mistyped")
    assert said.code == 0 and said.stderr.rstrip().endswith(f"of {case_id}: the placement of 2026-12-01 (kinship)"), said.stderr
    logged = {e["record_id"]: e for e in wrong("log", case_id, "--json").json() if e["kind"] == "placement"}
    assert len(logged) == 4 and logged[fixed.json()["record_id"]]["supersedes"] in logged
    assert logged[logged[fixed.json()["record_id"]]["supersedes"]]["superseded_by"] == fixed.json()["record_id"]
    assert kenya("sup")("verify").code == 0


def test_cli__show_on_a_closed_case_says_no_best_interests_record_was_made_after_a_supervisors_override(kenya):
    """A child placed in a CCI on a supervisor's reason, no best-interests record ever made, the case closed:
    a closed case owes the record no longer, and show says that none was made, not that one was made since."""
    sup = kenya("sup")
    case_id = register(kenya("amina"))
    assert placed(sup, case_id, ADMISSION, "--override-reason", "brought by police at night").code == 0
    assert "one is owed" in sup("show", case_id).stdout
    closing = kenya("amina")("close", case_id, "--reason", "no_longer_eligible", "--check", "all", "--explain-open", "moved away",
                             "--json")
    assert closing.code == 0, closing.stderr
    assert sup("approve", case_id, "closure").code == 0
    text = sup("show", case_id).stdout
    assert "on a supervisor's reason; none was made while the case was open)" in text and "one was made since" not in text
    shown = sup("show", case_id, "--json").json()["placement"]
    assert (shown["best_interests"], shown["best_interests_owed"], shown["best_interests_made"]) == (None, False, False)


def test_override__the_best_interests_record_a_supervisor_placed_without_is_due_then_overdue_until_made():
    """A child placed at night on a supervisor's reason (ESARO Principle 2): the best-interests
    record is still owed, on the worker's `due` within `placement_best_interests.limit` of the
    placement, an error on `check` once past it, until one is made. Made to take the child into
    care, it is the admission's decision, not the path of reintegration's step toward home."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    service.placement(mem.as_("sup", now=at(1)), case_id, ADMISSION, override_reason="brought by police at night")
    limit = KENYA.duration("placement_best_interests", "limit")
    case = service.load_case(mem.as_("sup"), case_id)
    owed = {d.code: d for d in deadlines(case, KENYA, at(2))}["placement-best-interests"]
    assert owed.due == limit.after(at(1)) and owed.owner == "amina" and "ESARO Principle 2" in owed.source
    assert f"cpcm assess {case_id} --type best-interests" in owed.why
    overdue = [p for p in service.check(mem.as_("sup", now=at(5)), case_id) if p.code == "placement-best-interests-overdue"]
    assert len(overdue) == 1
    assert service.show(mem.as_("sup", now=at(1)), case_id)["placement"]["best_interests_owed"] is True
    service.assess(mem.as_("amina", now=at(2)), case_id, "best-interests", dict(BID, decision="alternative_care_placement"))
    shown = service.show(mem.as_("sup", now=at(3)), case_id)
    assert "placement-best-interests" not in {d["code"] for d in shown["due"]}
    assert shown["placement"]["best_interests_owed"] is False and shown["placement"]["best_interests_made"] is True
    assert placement_words(shown["placement"]).endswith("(placed without a best-interests record, on a supervisor's "
                                                        "reason; one was made since)")
    path = shown["reintegration"]
    assert not {s["step"]: s for s in path["steps"]}["best_interests"]["done"] and path["next"]["step"] == "tracing"
    service.assess(mem.as_("amina", now=at(20)), case_id, "best-interests", BID)  # the way home: reintegration
    path = service.show(mem.as_("sup", now=at(21)), case_id)["reintegration"]
    assert {s["step"]: s for s in path["steps"]}["best_interests"]["count"] == 1


def test_override__a_placement_made_with_a_best_interests_record_owes_none():
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    service.assess(mem.as_("amina"), case_id, "best-interests", dict(BID, decision="alternative_care_placement"))
    service.placement(mem.as_("amina"), case_id, ADMISSION)
    case = service.load_case(mem.as_("sup"), case_id)
    assert "placement-best-interests" not in {d.code for d in deadlines(case, KENYA, at(30))}


def test_risk_response__a_placement_after_the_initial_assessment_is_a_response():
    """The child taken to a place of safety is the response to the risk the initial assessment
    rated (IAG §3 Step 2: immediate, before the child leaves your care)."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    case = service.load_case(mem.as_("sup"), case_id)
    assert "risk-response" in {d.code for d in deadlines(case, KENYA, at(1))}
    service.placement(mem.as_("sup", now=at(1)), case_id, ADMISSION, override_reason="brought by police at night")
    case = service.load_case(mem.as_("sup"), case_id)
    assert "risk-response" not in {d.code for d in deadlines(case, KENYA, at(1))}


REMOVAL = dict(BID, decision="removal", care_away_needed="yes", why_least_harmful="her mother's home is not safe; her aunt is near")
AUNT = {"care_type": "kinship", "caregiver": {"name": "Akinyi Otieno", "relationship": "aunt"}, "address": "Kondele, Kisumu"}


def test_cli__a_move_from_the_mothers_home_into_kinship_care_is_entry_into_care_not_a_reunification(kenya):
    """A child registered living with her mother, a best-interests decision of removal, then kinship
    care: the child goes into alternative care, so show names no reunification (nor a path of
    reintegration that says the best-interests decision is not yet made), due asks no monitoring
    visit after reunification, and the register lists her in care. Her return home from her aunt
    later is the reunification, resting on its own best-interests decision, which show counts."""
    amina = kenya("amina")
    case_id = register(amina, lives_with="mother")
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(REMOVAL)).code == 0
    into = placed(amina, case_id, AUNT)
    assert into.code == 0 and into.json()["best_interests"] and not into.json()["reunification"], into.stderr
    assert not any("after reunification" in s or "monitoring visits" in s for s in into.json()["next_steps"])
    shown = amina("show", case_id, "--json").json()
    assert shown["placement"]["best_interests"] == into.json()["best_interests"]
    assert not (shown.get("reintegration") or {}).get("reunified")
    assert "reunification" not in amina("show", case_id).stdout
    due = kenya("amina", now="2027-01-10T09:00:00+03:00")("due", "--within", "90", "--json").json()
    assert not [i for i in due if i["case_id"] == case_id and i["code"] == "monitoring-visit"]
    register_view = amina("report", "placements", "--format", "json").json()
    assert case_id in {r["case_id"] for r in register_view["in_care"]}
    later = kenya("amina", now="2026-12-20T09:00:00+03:00")
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    home = placed(later, case_id, {"care_type": "family", "caregiver": {"name": "Mama", "relationship": "mother"}})
    assert home.code == 0 and home.json()["reunification"], home.stderr
    path = later("show", case_id, "--json").json()["reintegration"]
    assert path["reunified"] == "2026-12-20T09:00:00+03:00"
    assert [s["done"] for s in path["steps"] if s["step"] == "best_interests"] == [True]


def _fostered_out_of_a_home(kenya):
    """A child admitted to a children's home (a supervisor's placement on a reason), then on 2026-12-01 a
    best-interests decision for family-based alternative care and a foster placement resting on it: (amina then,
    the case, the placement's result)."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    assert sup("placement", case_id, "--care-type", "institutional_care", "--override-reason", "court committal").code == 0
    later = kenya("amina", now="2026-12-01T09:00:00+03:00")
    foster = dict(BID, decision="alternative_care_placement", chosen="foster_care")
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(foster)).code == 0
    home = placed(later, case_id, {"care_type": "foster_care", "caregiver": {"name": "A Foster", "relationship": "foster parent"},
                                   "address": "Kondele", "cci_exit": "alternative_family_based_care"})
    return later, case_id, home


def test_cli__show_counts_the_best_interests_decision_a_placement_out_of_residential_care_rests_on(kenya):
    """A child admitted to a children's home, then a best-interests decision for family-based
    alternative care and a foster placement resting on it: show's best-interests step is that
    decision (done), not 'not yet' beside the reunification it decided."""
    later, case_id, home = _fostered_out_of_a_home(kenya)
    assert home.code == 0 and home.json()["reunification"] and home.json()["best_interests"], home.stderr
    path = later("show", case_id, "--json").json()["reintegration"]
    step = next(s for s in path["steps"] if s["step"] == "best_interests")
    assert (step["done"], step["last"]) == (True, "2026-12-01T09:00:00+03:00")
    assert "best interests 2026-12-01" in later("show", case_id).stdout


def test_cli__a_best_interests_assessment_corrected_since_is_still_the_one_the_placement_rests_on(kenya):
    """A foster placement out of a children's home rests on a best-interests decision for
    alternative care, which is then corrected (`cpcm correct`: a new record in its place): show's
    best-interests step stays done, the placement names the correction (an ID show opens), and a
    later placement, or a correction of this one, naming the ID as it was before is found by it."""
    later, case_id, home = _fostered_out_of_a_home(kenya)
    assert home.code == 0, home.stderr
    named = home.json()["best_interests"]
    fixed = later("correct", case_id, named, "--set", "child_views=wants a family near her school", "--reason", "typo", "--json")
    assert fixed.code == 0, fixed.stderr
    correction = fixed.json()["record_id"]
    shown = later("show", case_id, "--json").json()
    assert shown["placement"]["best_interests"] == correction
    assert [s["done"] for s in shown["reintegration"]["steps"] if s["step"] == "best_interests"] == [True]
    assert "best interests 2026-12-01" in later("show", case_id).stdout
    assert later("show", case_id, correction).code == 0
    again = placed(kenya("amina", now="2026-12-03T09:00:00+03:00"), case_id,
                   {"care_type": "foster_care", "caregiver": {"name": "A Foster", "relationship": "foster parent"},
                    "address": "Oyugis", "decision": {"best_interests": named}})
    assert again.code == 0 and again.json()["best_interests"] == correction, again.stderr
    redone = later("correct", case_id, home.json()["record_id"], "--set", f"decision.best_interests={named}", "--reason", "named")
    assert redone.code == 0, redone.stderr
    one = later("show", case_id, home.json()["record_id"], "--json").json()  # the placement as stored, its reference corrected
    assert one["fields"]["decision"]["best_interests"] == named and one["corrected_since"] == {"decision.best_interests": correction}
    assert f"{named} (corrected since: {correction})" in later("show", case_id, home.json()["record_id"]).stdout


MOVED_ON = dict(BID, decision="change_of_placement")


@pytest.mark.parametrize("lives_with, care_type, reunified", [
    ("foster_family", "kinship", False),                       # foster to kinship care: a change of placement
    ("foster_family", "supported_independent_living", False),  # foster to community-based care: the same
    ("foster_family", "family", True),                         # from foster care to the child's own family
    ("institution", "kinship", True),                          # out of residential care to a family
    ("street", "kinship", True),                               # from no care to a family: the path's reunification
    ("street", "foster_care", True),
    ("mother", "kinship", False),                              # from home into care: entry into it
    ("relatives", "kinship", False),                           # relatives are family (placement.at_home)
])
def test_cli__a_first_placement_is_read_as_a_move_from_where_the_registration_says_the_child_lives(
        kenya, lives_with, care_type, reunified):
    """A child's first placement, on a best-interests decision that neither removes the child nor
    decides the reintegration, is a reunification as a later placement is from the one before it,
    reading who the registration says the child lives with as the setting the child comes from
    (placement.at_home, placement.lives_with): a foster family's child placed with kinship is
    not reunified, and due asks no monitoring visit after reunification."""
    amina = kenya("amina")
    case_id = register(amina, lives_with=lives_with)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(MOVED_ON)).code == 0
    done = placed(amina, case_id, {"care_type": care_type, "caregiver": {"name": "Next Carer", "relationship": "carer"}})
    assert done.code == 0 and done.json()["best_interests"], done.stderr
    assert bool(done.json()["reunification"]) is reunified
    due = amina("due", "--within", "40", "--json").json()
    visits = [i["due"] for i in due if i["case_id"] == case_id and i["code"] == "monitoring-visit"]
    assert visits == (["2026-12-23T09:00+03:00"] if reunified else [])


@pytest.mark.parametrize("before, after, reunified", [
    ("kinship", "foster_care", False),           # between two kinds of alternative care: a change of placement
    ("foster_care", "kinship", False),           # kinship care is alternative care too, not the child's own home
    ("institutional_care", "kinship", True),     # out of residential care to a family: the path's reunification
    ("institutional_care", "family", True),      # out of residential care to the child's own family
    ("kinship", "family", True),                 # from alternative care back to the child's own family
])
def test_placement__only_a_return_to_the_family_or_a_way_out_of_residential_care_is_a_reunification(before, after, reunified):
    """A child placed (on a supervisor's reason) in one setting, then moved on a best-interests
    decision: the move is a reunification, which starts the reviews and monitoring visits after it
    and is the one show and the reports count, only when it returns the child to their own family
    or takes the child out of residential care to a family; kinship to foster care and back is not."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    first = {"care_type": before, **({"institution": "Tumaini"} if before == "institutional_care" else
                                     {"caregiver": {"name": "First Carer", "relationship": "carer"}})}
    assert not service.placement(mem.as_("sup"), case_id, first, override_reason="police brought her").extra["reunification"]
    moved_at = mem.as_("amina", now=at(20))
    service.assess(moved_at, case_id, "best-interests", BID)
    move = {"care_type": after, "caregiver": {"name": "Next Carer", "relationship": "carer"},
            **({"cci_exit": "family_reintegration"} if before == "institutional_care" else {})}
    done = service.placement(moved_at, case_id, move)
    assert done.extra["reunification"] is reunified
    assert any("monitoring visits" in s for s in done.next_steps) is reunified
    case = service.load_case(mem.as_("sup"), case_id)
    assert (case.last("reunification") == utc(at(20).isoformat())) is reunified
    assert ("monitoring-visit" in {d.code for d in deadlines(case, KENYA, at(21))}) is reunified


def test_cli__a_renewed_court_order_keeps_the_day_the_child_entered_the_placement_and_its_decision(kenya):
    """A child with her aunt since 2026-11-20 (a best-interests decision of removal, court order CC 1/2026),
    the same placement recorded again on 2026-11-25 with the renewed order: show and the register keep
    2026-11-20 and the best-interests record it rests on, and show the new order; the command says the stay
    goes on. A child placed on a supervisor's reason owes the record still after her order is renewed."""
    amina = kenya("amina", now="2026-11-20T09:00:00+03:00")
    case_id = register(amina, lives_with="mother")
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(REMOVAL)).code == 0
    into = placed(amina, case_id, AUNT, "--court-order", "CC 1/2026", "--court-order-expires", "2026-12-01")
    assert into.code == 0, into.stderr
    later = kenya("amina", now="2026-11-25T09:00:00+03:00")
    again = later("placement", case_id, "--care-type", "kinship", "--caregiver", "Akinyi Otieno", "--court-order", "CC 12/2026",
                  "--court-order-expires", "2027-05-25", "--json")
    assert again.code == 0, again.stderr
    assert any("stay in it since 2026-11-20 goes on" in s for s in again.json()["next_steps"])
    shown = later("show", case_id, "--json").json()["placement"]
    assert (shown["record_id"], shown["entered_record"]) == (again.json()["record_id"], into.json()["record_id"])
    assert shown["entered_at"] == "2026-11-20T09:00:00+03:00" and shown["best_interests"] == into.json()["best_interests"]
    assert shown["court_order"]["number"] == "CC 12/2026"
    assert "since 2026-11-20 court order CC 12/2026 until 2027-05-25" in later("show", case_id).stdout
    assert (shown["address"], shown["caregiver_relationship"]) == ("Kondele, Kisumu", "aunt")  # recorded again without them
    assert later("show", case_id, "--json").json()["location"] == "Kondele, Kisumu"
    row = {r["case_id"]: r for r in later("report", "placements", "--format", "json").json()["in_care"]}[case_id]
    assert (row["since"], row["decided"], row["place"]) == ("2026-11-20", f"best interests {into.json()['best_interests']}",
                                                            "Kondele, Kisumu")
    assert row["order"] == "CC 12/2026 (expires 2027-05-25)"
    closing = later("close", case_id, "--reason", "declined", "--check", "all", "--explain-open", "family withdrew", "--json")
    assert closing.code == 0, closing.stderr
    assert [w for w in closing.json()["warnings"] if f"(family-based care) since 2026-11-20 (placement {into.json()['record_id']})" in w]
    other = register(amina)
    assert kenya("sup", now="2026-11-20T09:00:00+03:00")("placement", other, "--care-type", "institutional_care", "--institution",
                                                         "Tumaini", "--override-reason", "police brought her at night").code == 0
    assert later("placement", other, "--care-type", "institutional_care", "--institution", "Tumaini", "--court-order",
                 "CC 13/2026", "--court-order-expires", "2027-05-25").code == 0
    owed = later("show", other, "--json").json()
    assert owed["placement"]["best_interests_owed"] is True and "placement-best-interests" in {d["code"] for d in owed["due"]}
    assert "since 2026-11-20" in later("show", other).stdout and "one is owed" in later("show", other).stdout


def test_cli__the_same_placement_recorded_again_without_the_order_keeps_its_court_order_and_expiry(kenya):
    """With her aunt since 2026-11-20 under court order CC 1/2026 (expiring 2027-06-18), the same placement
    recorded again on 2026-11-25 with a new address and no order: the child still stands under that order, as
    the address carries over a renewal that names none. Show, the register and the expiry on due keep it, and
    the command says so; a record that gives another order replaces it."""
    amina = kenya("amina", now="2026-11-20T09:00:00+03:00")
    case_id = register(amina, lives_with="mother")
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(REMOVAL)).code == 0
    assert placed(amina, case_id, AUNT, "--court-order", "CC 1/2026", "--court-order-expires", "2027-06-18").code == 0
    later = kenya("amina", now="2026-11-25T09:00:00+03:00")
    again = later("placement", case_id, "--care-type", "kinship", "--caregiver", "Akinyi Otieno", "--relationship", "aunt",
                  "--address", "Kisian B, Kisumu", "--reason", "aunt moved house", "--json")
    assert again.code == 0, again.stderr
    assert any("its court order, expiring 2027-06-18 (on cpcm due)" in s for s in again.json()["next_steps"]), again.json()
    shown = later("show", case_id, "--json").json()
    assert shown["placement"]["record_id"] == again.json()["record_id"] and shown["placement"]["address"] == "Kisian B, Kisumu"
    assert shown["placement"]["court_order"] == {"number": "CC 1/2026", "expires": "2027-06-18"}
    assert [d["due"][:10] for d in shown["due"] if d["code"] == "court-order"] == ["2027-06-18"]
    assert "court order CC 1/2026 until 2027-06-18" in later("show", case_id).stdout
    row = {r["case_id"]: r for r in later("report", "placements", "--format", "json").json()["in_care"]}[case_id]
    assert (row["place"], row["order"]) == ("Kisian B, Kisumu", "CC 1/2026 (expires 2027-06-18)")
    renewed = kenya("amina", now="2026-12-01T09:00:00+03:00")
    assert renewed("placement", case_id, "--care-type", "kinship", "--caregiver", "Akinyi Otieno", "--court-order",
                   "CC 12/2026", "--court-order-expires", "2027-12-01").code == 0
    shown = renewed("show", case_id, "--json").json()
    assert shown["placement"]["court_order"] == {"number": "CC 12/2026", "expires": "2027-12-01"}
    assert [d["due"][:10] for d in shown["due"] if d["code"] == "court-order"] == ["2027-12-01"]


def test_lives_now__a_renewed_order_recorded_without_the_address_keeps_where_and_with_whom_the_child_lives():
    """With her aunt at Kondele since day 0, the order renewed on day 5 naming the aunt only: the child still
    lives at Kondele with her aunt (not at the registration's address, her mother's home), as show, the
    register and the letters say. An update of where she lives between the two stands over the first record's
    address (the renewal said nothing of it); a renewal with a new address gives it."""
    registration = rec("registration", T0, child={"name": "x"}, risk="high", worker="amina", location="Nyalenda, Kisumu",
                       caregiver={"name": "Mother M", "relationship": "mother"}, contact="0700 000000")
    first = rec("placement", at(0.5), care_type="kinship", setting="family_based", address="Kondele, Kisumu",
                caregiver={"name": "Akinyi Otieno", "relationship": "aunt"}, contact="0711 111111")
    renewed = rec("placement", at(5), care_type="kinship", setting="family_based", caregiver={"name": "Akinyi Otieno"},
                  decision={"court_order": {"number": "CC 12/2026"}})
    case = fold("CP-TEST-0001", [registration, first, renewed])
    assert rules.lives_now(case) == {"location": "Kondele, Kisumu", "caregiver": "Akinyi Otieno", "relationship": "aunt",
                                     "contact": "0711 111111"}
    current = rules.stay(case.placements)
    assert (current["address"], current["caregiver_relationship"], current["record_id"]) == ("Kondele, Kisumu", "aunt", renewed.id)
    assert "at Kondele, Kisumu with Akinyi Otieno (aunt)" in placement_words(current)
    moved = rec("update", at(3), changes={"location": "Manyatta, Kisumu"}, reason="moved with the aunt")
    assert rules.lives_now(fold("CP-TEST-0001", [registration, first, moved, renewed]))["location"] == "Manyatta, Kisumu"
    # field by field: the location (and phone) updated after the placement leave its caregiver standing, not the registration's
    both = rec("update", at(6), changes={"location": "Ahero, Kisumu", "contact": "0733 555666"}, reason="moved with the aunt")
    assert rules.lives_now(fold("CP-TEST-0001", [registration, first, renewed, both])) == {
        "location": "Ahero, Kisumu", "caregiver": "Akinyi Otieno", "relationship": "aunt", "contact": "0733 555666"}
    another = rec("update", at(7), changes={"caregiver": {"name": "Mother M", "relationship": "mother"}}, reason="went home")
    assert rules.lives_now(fold("CP-TEST-0001", [registration, first, renewed, both, another]))["caregiver"] == "Mother M"
    # another caregiver named alone: another household, not the placement's address and phone with the mother
    home = rec("update", at(7), changes={"caregiver": {"name": "Mother M", "relationship": "mother"}}, reason="went home")
    assert rules.lives_now(fold("CP-TEST-0001", [registration, first, renewed, home])) == {
        "location": "Nyalenda, Kisumu", "caregiver": "Mother M", "relationship": "mother", "contact": "0700 000000"}
    elsewhere = rec("placement", at(5), care_type="kinship", setting="family_based", caregiver={"name": "Akinyi Otieno"},
                    address="Kibos, Kisumu")
    assert rules.lives_now(fold("CP-TEST-0001", [registration, first, elsewhere]))["location"] == "Kibos, Kisumu"


def test_lives_now__a_cci_placement_naming_no_caregiver_is_not_the_registered_mother_nor_her_phone():
    """Registered with her mother (and the mother's phone), then admitted to a CCI naming no caregiver: the child
    lives at the CCI with none the registration names, so show, the case file, the letters and an export give
    the institution, no caregiver and no phone (the CCI's own where the placement gives one), not the mother she
    was removed from. The registration keeps the mother, as the duplicate check and the conference name guard
    read her; an update after the placement, and a return home naming no caregiver, give the registration's."""
    from cpcm.reports.export import FIELDS
    from cpcm.workflow.conferences import client_names
    from cpcm.workflow.duplicates import key_of

    registration = rec("registration", T0, child={"name": "x"}, risk="high", worker="amina", location="Nyalenda, Kisumu",
                       caregiver={"name": "Mother M", "relationship": "mother"}, contact="0700 000000")
    cci = rec("placement", at(1), care_type="institutional_care", setting="residential", institution="Tumaini")
    case = fold("CP-TEST-0001", [registration, cci])
    assert rules.lives_now(case) == {"location": "Tumaini", "caregiver": None, "relationship": None, "contact": None}
    assert [FIELDS[f][0](case, at(2)) for f in ("location", "caregiver_name", "contact")] == ["Tumaini", None, None]
    # the registration keeps the mother and her phone, for what reads the family
    assert (case.caregiver_name, case.contact) == ("Mother M", "0700 000000")
    assert key_of(case).caregiver == key_of(fold("CP-TEST-0001", [registration])).caregiver != ""
    names, phones = client_names(case, [registration, cci])
    assert "Mother M" in names and "0700 000000" in phones
    # the CCI's own phone, given with the placement, and kept by its renewal naming none
    phoned = rec("placement", at(1), care_type="institutional_care", setting="residential", institution="Tumaini",
                 contact="0720 123123")
    renewed = rec("placement", at(5), care_type="institutional_care", setting="residential", institution="Tumaini",
                  decision={"court_order": {"number": "CC 1/2027"}})
    assert rules.lives_now(fold("CP-TEST-0001", [registration, phoned, renewed])) == {
        "location": "Tumaini", "caregiver": None, "relationship": None, "contact": "0720 123123"}
    # an update of the caregiver after the placement by its date stands: the registration's (as updated), with its phone
    named = rec("update", at(3), changes={"caregiver": {"name": "Aunt A", "relationship": "aunt"}}, reason="the aunt visits")
    assert rules.lives_now(fold("CP-TEST-0001", [registration, cci, named])) == {
        "location": "Nyalenda, Kisumu", "caregiver": "Aunt A", "relationship": "aunt", "contact": "0700 000000"}
    # home to the family naming no caregiver: the family the child went home to, as registered
    home = rec("placement", at(20), care_type="family", setting="family", address="Ahero")
    assert rules.lives_now(fold("CP-TEST-0001", [registration, cci, home])) == {
        "location": "Ahero", "caregiver": "Mother M", "relationship": "mother", "contact": "0700 000000"}


def test_placement__a_best_interests_record_made_before_the_order_was_renewed_still_decides_the_move_after_it():
    """With her aunt since day 0, a best-interests decision for her return home on day 2, the order renewed
    on day 5 (the same placement recorded again): the return home on day 10 rests on the day-2 decision,
    made since the stay began; a decision made before the stay began is still refused."""
    mem = MemoryRepo("kenya")
    case_id = kenya_case(mem)
    service.assess(mem.as_("amina"), case_id, "best-interests", REMOVAL)
    service.placement(mem.as_("amina"), case_id, AUNT)
    decided = service.assess(mem.as_("amina", now=at(2)), case_id, "best-interests", BID).record_id
    service.placement(mem.as_("amina", now=at(5)), case_id, dict(AUNT, decision={"court_order": {"number": "CC 9/2026"}}))
    home = service.placement(mem.as_("amina", now=at(10)), case_id, {"care_type": "family", "caregiver": {"name": "Mama"}})
    assert home.extra["best_interests"] == decided and home.extra["reunification"]
    other = kenya_case(mem)
    service.assess(mem.as_("amina"), other, "best-interests", REMOVAL)
    service.placement(mem.as_("amina", now=at(1)), other, AUNT)
    with pytest.raises(Refused) as refused:
        service.placement(mem.as_("amina", now=at(10)), other, {"care_type": "family", "caregiver": {"name": "Mama"}})
    assert "since the current placement began (2026-11-24)" in refused.value.message
