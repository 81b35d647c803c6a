"""The placement rules and the path of reintegration (cpcm/workflow/placements.py) as pure
functions of a case, the policy and `now`, at their edges: a step recorded at the same moment as
the admission or the reunification, steps outside the stay they belong to, the policy's switches
and numbers (test_placements.py tests the same through the fold, the service and the command)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from cpcm.domain.case import Case
from cpcm.store import policies
from cpcm.workflow import placements as rules

KENYA, INTER = policies.load("kenya"), policies.load("inter-agency")
T0 = datetime(2026, 1, 1, 6, 0, tzinfo=timezone.utc)
NAIROBI = timezone(timedelta(hours=3))
TITLES = {key: (title, command) for key, title, command in rules.STEPS}


def day(n: float) -> str:
    """Day n after T0, as the fold writes times (UTC, to the second)."""
    return (T0 + timedelta(days=n)).isoformat(timespec="seconds")


def now(n: float) -> datetime:
    return (T0 + timedelta(days=n)).astimezone(NAIROBI)


def shown(n: float) -> str:
    """Day n after T0 as the path gives it: in the zone of `now` (Nairobi), with its offset."""
    return now(n).isoformat(timespec="seconds")


def placed(rid: str, n: float, care_type: str, setting: str, **extra) -> dict:
    return {"record_id": rid, "at": day(n), "care_type": care_type, "setting": setting, **extra}


def case(placements=(), status="open", **events) -> Case:
    """A case with these placements and events ({'assessment.best_interests': ...} as
    best_interests=, every other event by its name), each a list of days."""
    names = {"best_interests": "assessment.best_interests"}
    return Case(id="CP-TEST-0001", status=status, placements=tuple(placements),
                events={names.get(k, k): tuple(day(n) for n in v) for k, v in events.items()})


def step(key: str, times=(), **extra) -> dict:
    title, command = TITLES[key]
    return {"step": key, "title": title, "done": bool(times), "count": len(times), "last": shown(max(times)) if times else None,
            "command": command, **extra}


def next_of(key: str, **extra) -> dict:
    title, command = TITLES[key]
    return {"step": key, "title": title, "command": command, **extra}


ADMITTED = placed("P1", 1, "institutional_care", "residential")
HOME = placed("P2", 14, "kinship", "family_based", reunification=True)


# -- the path of reintegration -------------------------------------------------------------------------
def full_path(status: str = "open") -> Case:
    """Admitted on day 1, reunified on day 14, with steps inside and outside the windows they count in."""
    return case([ADMITTED, HOME], status=status,
                tracing=[0, 5, 30],                 # before the admission, during the stay, after the reunification
                family_found=[5],
                family_assessment=[8, 30],
                best_interests=[1, 9, 30],          # the admission's own decision (day 1) is not one for the way home
                preparation=[11, 12, 14, 30],       # one at the moment of the reunification counts
                reunification=[14],
                home_visit=[3, 20],                 # a visit while still in care is no monitoring visit
                readiness=[4], closed=[2])          # closed and reopened while in care


def test_pathway__each_step_counts_only_inside_its_window_and_the_next_visit_is_due():
    path = rules.pathway(full_path(), KENYA, now(21))
    assert path == {
        "since": shown(1), "reunified": shown(14),
        "steps": [step("admission", [1]), step("tracing", [5], family_found=True), step("family_assessment", [8]),
                  step("best_interests", [9]), step("preparation", [11, 12, 14]), step("reunification", [14]),
                  step("monitoring", [20]), step("readiness"), step("closure")],
        # monthly in the first three months, from the last visit (day 20, 09:00 in Nairobi)
        "next": next_of("monitoring", due="2026-02-21T09:00+03:00", number=2),
    }


def test_pathway__a_closed_case_has_no_next_step():
    path = rules.pathway(full_path(status="closed"), KENYA, now(21))
    assert path["next"] is None and path["reunified"] == shown(14)


def test_pathway__without_residential_care_it_runs_from_the_first_step_recorded():
    path = rules.pathway(case(tracing=[5]), KENYA, now(6))
    assert path == {
        "since": None, "reunified": None,
        "steps": [step("admission", skipped=True), step("tracing", [5], family_found=False), step("family_assessment"),
                  step("best_interests"), step("preparation"), step("reunification"), step("monitoring"),
                  step("readiness"), step("closure")],
        "next": next_of("family_assessment"),
    }
    assert rules.pathway(case(home_visit=[5], readiness=[6]), KENYA, now(7)) is None  # no step of the way home


def test_pathway__a_reunification_alone_starts_it_and_closure_follows_where_the_profile_has_no_visits_nor_form_7a():
    # inter-agency: no schedule of visits (period 0d), no readiness instrument (closure_readiness.required false): the
    # path names neither step, nor counts a readiness record made all the same
    reunified = rules.pathway(case(reunification=[10]), INTER, now(11))
    assert reunified["reunified"] == shown(10) and reunified["next"] == next_of("closure")
    ready = rules.pathway(case(reunification=[10], readiness=[12], home_visit=[11]), INTER, now(13))
    assert [s["step"] for s in ready["steps"]][-2:] == ["reunification", "closure"] and ready["next"] == next_of("closure")
    kenya = rules.pathway(case(reunification=[10], readiness=[12]), KENYA, now(13))
    assert kenya["steps"][-2] == step("readiness", [12])


def test_pathway__a_new_stay_in_care_starts_the_path_again():
    again = case([ADMITTED, HOME, placed("P3", 20, "temporary_shelter", "residential")],
                 tracing=[5], reunification=[14], home_visit=[16])
    path = rules.pathway(again, KENYA, now(21))
    assert path["since"] == shown(20) and path["reunified"] is None
    assert [s["done"] for s in path["steps"]] == [True] + [False] * 8
    assert path["next"] == next_of("tracing")


def test_pathway__each_time_is_in_the_zone_of_now_so_a_step_at_local_midnight_keeps_its_day():
    """A step recorded at 00:00 in Nairobi is 21:00 UTC the day before: the path gives it on its
    own day, with the offset of `now`, like every time shown (the fold keeps it in UTC)."""
    midnight = datetime(2026, 10, 25, tzinfo=NAIROBI)
    utc = midnight.astimezone(timezone.utc).isoformat(timespec="seconds")  # 2026-10-24T21:00:00+00:00
    traced = Case(id="CP-TEST-0001", placements=(placed("P1", 1, "institutional_care", "residential"),),
                  events={"tracing": (utc,), "reunification": (utc,)})
    path = rules.pathway(traced, KENYA, midnight + timedelta(days=1))
    assert path["steps"][1]["last"] == path["reunified"] == "2026-10-25T00:00:00+03:00"
    assert rules.pathway(traced, KENYA, (midnight + timedelta(days=1)).astimezone(timezone.utc))["steps"][1]["last"] == utc
    # the rules still compare the case's own times: the next step counts from the step, not its day
    due, _following, since = rules.next_step_due(Case(id="CP-TEST-0001", placements=traced.placements,
                                                      events={"tracing": (utc,)}), KENYA, midnight)
    assert since == utc and due.isoformat() == "2026-11-25T00:00:00+03:00"


def test_pathway__the_family_found_during_this_stay_not_before():
    found_before = case([ADMITTED], tracing=[0, 5], family_found=[0])
    assert rules.pathway(found_before, KENYA, now(6))["steps"][1]["family_found"] is False
    at_admission = case([ADMITTED], tracing=[1], family_found=[1])  # traced at the moment of the admission
    assert rules.pathway(at_admission, KENYA, now(6))["steps"][1] == step("tracing", [1], family_found=True)


def test_pathway__all_steps_before_the_reunification_done_then_the_reunification_is_next():
    ready = case([ADMITTED], tracing=[2], family_assessment=[3], best_interests=[4], preparation=[5])
    assert rules.pathway(ready, KENYA, now(6))["next"] == next_of("reunification")


def test_admission__a_move_between_residential_placements_is_the_same_stay():
    moved = case([placed("P2", 5, "institutional_care", "residential", institution="B"),
                  placed("P1", 1, "institutional_care", "residential", institution="A")])
    assert rules.admission(moved)["record_id"] == "P1"
    back = case([placed("P0", 0, "family", "family"), ADMITTED, HOME, placed("P3", 20, "temporary_shelter", "residential"),
                 placed("P4", 25, "institutional_care", "residential")])
    assert rules.admission(back)["record_id"] == "P3"
    assert rules.admission(case([placed("P0", 0, "family", "family")])) is None


def test_next_step_due__a_limit_after_the_last_step_done_in_the_zone_of_now():
    traced = case([ADMITTED], tracing=[5])
    due, following, since = rules.next_step_due(traced, KENYA, now(6))
    assert (due.isoformat(), following, since) == ("2026-02-06T09:00:00+03:00", next_of("family_assessment"), day(5))
    due, following, since = rules.next_step_due(case([ADMITTED]), KENYA, now(2))
    assert (due.isoformat(), following["step"], since) == ("2026-02-02T09:00:00+03:00", "tracing", day(1))


def test_next_step_due__none_without_the_rule_after_a_reunification_or_out_of_residential_care():
    without = replace(KENYA, rules={k: v for k, v in KENYA.rules.items() if k != "reintegration_steps"})
    assert rules.next_step_due(case([ADMITTED]), without, now(2)) is None
    # a plan written as reunification done while the placement recorded is still residential care
    assert rules.next_step_due(case([ADMITTED], reunification=[10]), KENYA, now(11)) is None
    assert rules.next_step_due(case([ADMITTED, HOME], tracing=[5]), KENYA, now(15)) is None
    assert rules.next_step_due(case([ADMITTED], status="closed"), KENYA, now(2)) is None


# -- the reunification ------------------------------------------------------------------------------
def test_reunifications__a_plan_for_reunification_done_confirms_the_placement_of_the_same_stay():
    kinship = placed("P2", 14, "kinship", "family_based", reunification=True)
    # the placement, then the plan that says so a day later: one reunification, the placement's
    assert rules.reunifications([ADMITTED, kinship], [day(15)]) == (day(14),)
    # the plan written first, the placement recorded after it: still the placement's
    assert rules.reunifications([ADMITTED, kinship], [day(12)]) == (day(14),)
    # written at the same moment, or long after while the child is still at home (a move to foster
    # care since is a placement that brought the child to a family too: two, none from the plan)
    foster = placed("P3", 40, "foster_care", "family_based", reunification=True)
    assert rules.reunifications([ADMITTED, kinship], [day(14)]) == (day(14),)
    assert rules.reunifications([ADMITTED, kinship, foster], [day(60)]) == (day(14), day(40))
    # a plan alone (no placement recorded) is the reunification
    assert rules.reunifications([], [day(15)]) == (day(15),)
    assert rules.reunifications([ADMITTED], [day(15)]) == (day(15),)
    assert rules.reunifications([], []) == () and rules.reunifications([ADMITTED, kinship], []) == (day(14),)


def test_reunifications__a_stay_in_residential_care_between_them_makes_the_plan_a_reunification_of_its_own():
    kinship = placed("P2", 14, "kinship", "family_based", reunification=True)
    back = placed("P3", 30, "temporary_shelter", "residential")
    # home, back into care, then a plan for reunification_done with no placement home recorded
    assert rules.reunifications([ADMITTED, kinship, back], [day(15), day(50)]) == (day(14), day(50))
    # a plan before the admission is not the placement's after it
    assert rules.reunifications([placed("P0", 2, "institutional_care", "residential"), kinship], [day(1)]) == (day(1), day(14))


# -- monitoring visits -----------------------------------------------------------------------------
def test_monitoring_visit__a_home_visit_at_the_moment_of_the_reunification_counts():
    visited = case([ADMITTED, HOME], reunification=[14], home_visit=[14])
    visit = rules.monitoring_visit(visited, KENYA, now(15))
    assert (visit.number, visit.due.isoformat(), visit.interval, visit.since) == (2, "2026-02-15T09:00:00+03:00", "1 month", day(14))


def test_monitoring_visit__a_crisis_home_visit_does_not_put_off_the_next_planned_one():
    """A crisis visit is an ad hoc visit, not the scheduled monitoring one (IAG Step 5 [L905-917]), and a family in
    crisis needs more visits, not fewer (ESARO S5): it neither counts nor moves the next visit (`not_counted`)."""
    for policy in (KENYA, INTER):
        assert policy.get("placement_monitoring", "not_counted") == ["crisis"]
        assert "IAG Step 5" in policy.source("placement_monitoring", "not_counted")
    crisis = case([ADMITTED, HOME], reunification=[14], home_visit=[20, 40, 40], **{"home_visit.crisis": [40]})
    visit = rules.monitoring_visit(crisis, KENYA, now(41))
    assert (visit.number, visit.due.isoformat()) == (3, "2026-03-10T09:00:00+03:00")  # visits 1 and 2: days 20 and 40
    only = case([ADMITTED, HOME], reunification=[14], home_visit=[20, 40], **{"home_visit.crisis": [40]})
    visit = rules.monitoring_visit(only, KENYA, now(41))
    assert (visit.number, visit.due.isoformat()) == (2, "2026-02-21T09:00:00+03:00")  # a month after day 20, not day 40
    assert rules.pathway(only, KENYA, now(41))["steps"][6] == step("monitoring", [20])
    counted = replace(KENYA, rules={**KENYA.rules, "placement_monitoring": {**KENYA.rules["placement_monitoring"],
                                                                            "not_counted": []}})
    assert rules.monitoring_visit(only, counted, now(41)).number == 3  # an agency that counts them


def test_monitoring_visit__back_in_residential_care_at_the_moment_of_the_reunification_stops_them():
    back = case([ADMITTED, placed("P3", 14, "temporary_shelter", "residential")], reunification=[14])
    assert rules.monitoring_visit(back, KENYA, now(15)) is None


def test_monitoring_visit__the_last_visit_due_at_the_end_of_the_period_is_still_due():
    # reunified on day 14 (2026-01-15 09:00 in Nairobi): the period ends on 2028-01-15 09:00
    last = case([ADMITTED, HOME], reunification=[14], home_visit=[(datetime(2027, 10, 15, 6, tzinfo=timezone.utc) - T0).days])
    visit = rules.monitoring_visit(last, KENYA, now(700))
    assert visit.due.isoformat() == "2028-01-15T09:00:00+03:00" and visit.interval == "3 months"


def test_monitoring_visit__a_period_of_0_switches_them_off_whatever_the_intervals():
    off = replace(KENYA, rules={**KENYA.rules, "placement_monitoring": {"first": "0d", "first_period": "0d", "then": "0d",
                                                                           "period": "0d"}})
    assert rules.monitoring_visit(case([ADMITTED, HOME], reunification=[14]), off, now(15)) is None


# -- court orders ----------------------------------------------------------------------------------
def ordered(expires: str) -> Case:
    return case([placed("P1", 1, "institutional_care", "residential", court_order={"number": "CC 1", "expires": expires})])


def test_court_order_expiry__the_end_of_its_day_and_a_target_in_months_days_and_hours_before():
    policy = replace(KENYA, rules={**KENYA.rules, "court_order": {"target": "1mo2d3h"}})
    order = rules.court_order_expiry(ordered("2027-03-01"), policy, now(2))
    assert order.expires.isoformat() == "2027-03-01T23:59:59+03:00"  # due on the expiry day, as a date alone is
    assert order.target.isoformat() == "2027-01-30T20:59:59+03:00"
    assert order.placement == "P1"


def test_court_order_expiry__an_expiry_written_with_a_time_is_read_by_its_date_and_no_target_without_the_rule():
    policy = replace(KENYA, rules={k: v for k, v in KENYA.rules.items() if k != "court_order"})
    order = rules.court_order_expiry(ordered("2027-03-01T15:30:00+03:00"), policy, now(2))
    assert order.expires.isoformat() == "2027-03-01T23:59:59+03:00" and order.target is None


# -- placing a child -------------------------------------------------------------------------------
def test_needs_best_interests__the_policys_switch():
    off = replace(KENYA, rules={**KENYA.rules, "placement": {**KENYA.rules["placement"], "best_interests_required": False}})
    assert rules.needs_best_interests(None, {"care_type": "kinship"}, off) is False
    unset = replace(KENYA, rules={**KENYA.rules, "placement": {k: v for k, v in KENYA.rules["placement"].items()
                                                              if k != "best_interests_required"}})
    assert rules.needs_best_interests(None, {"care_type": "kinship"}, unset) is True  # required unless switched off
    assert rules.needs_best_interests(None, {"care_type": "kinship"}, KENYA) is True


def test_cci_exit_problem__the_reasons_in_full():
    cci = {"care_type": "institutional_care", "setting": "residential"}
    assert rules.cci_exit_problem(cci, "family", None) == (
        "is required: the child leaves residential care (family_reintegration, alternative_family_based_care "
        "or community_based_care)")
    assert rules.cci_exit_problem({"setting": "family_based"}, "family", "family_reintegration") == (
        "is only for a child leaving residential care (the current placement is not residential care)")
    assert rules.cci_exit_problem(None, "family", "family_reintegration", "CP-0000-0000") == (  # none recorded: the admission first
        "is only for a child leaving residential care, and no placement is recorded for this case: record the admission "
        "first (cpcm placement CP-0000-0000 --care-type institutional_care --institution ... --at DATE), then this move")
    assert rules.cci_exit_problem(None, "family", None) is None


def test_in_care__anything_but_the_childs_own_family():
    assert [rules.in_care(p) for p in (None, {}, {"setting": "family"}, {"setting": None}, {"care_type": "kinship"})] == \
        [False] * 5
    assert [rules.in_care({"setting": s}) for s in ("family_based", "community_based", "residential")] == [True] * 3
