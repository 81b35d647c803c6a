"""What an item of `due` asks for is a field of the item (`Deadline.asks`), not its title: the
items that ask for another step than their clock's others (the step an initial assessment
concluded, the next step of reintegration, reopening after a risk found increased since closure)
carry their own steps, and the stage filter (`deadlines.asks`, `at_stage`) reads them, whatever
the words of the title. `due --json` shows no such key. Names in the records are synthetic."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from cpcm import service
from cpcm.workflow import deadlines
from cpcm.workflow.clocks import BY_CODE
from memory_repo import T0, MemoryRepo
from test_assess_plan import INITIAL_DATA
from test_followup_close import DECLINED, VISIT
from test_placements import ADMISSION, FAMILY, TRACING


def _items(mem, case_id, now=T0):
    ctx = mem.as_("sup", now=now)
    case = service.load_case(ctx, case_id)
    return case, {item.code: item for item in service.due(ctx, worker="all", case=case)}


def _reworded(case, item, expected: tuple[str, ...]) -> None:
    """The item asks for `expected`, its own steps (not its clock's), and so does the same item
    with other words for its title, to `asks` and to the stage filter."""
    assert item.asks == expected != BY_CODE[item.code].asks
    other = replace(item, title="other words for people")
    assert deadlines.asks(other) == expected
    assert deadlines.at_stage(case, [other]) == [other]
    assert "asks" not in item.to_json(T0, timedelta(days=2))


def test_the_step_an_initial_assessment_concluded_is_the_items_own():
    for outcome, expected in (("close_no_concerns", ("closure", "closure.immediate")), ("transfer", ("transfer_request", "transfer"))):
        mem = MemoryRepo()
        amina = mem.as_("amina")
        case_id = mem.register(amina)
        service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high", outcome=outcome))
        case, items = _items(mem, case_id)
        _reworded(case, items["comprehensive-assessment"], expected)


def test_the_next_step_of_reintegration_asks_for_that_steps_own_command():
    mem = MemoryRepo("kenya")
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.placement(mem.as_("sup"), case_id, ADMISSION, override_reason="brought at night")
    case, items = _items(mem, case_id)
    _reworded(case, items["reintegration-step"], ("tracing",))
    service.tracing(mem.as_("amina", now=T0 + timedelta(days=1)), case_id, TRACING)
    service.family_assessment(mem.as_("amina", now=T0 + timedelta(days=2)), case_id, FAMILY)
    case, items = _items(mem, case_id, T0 + timedelta(days=3))
    _reworded(case, items["reintegration-step"], ("assessment.best_interests",))


def test_a_risk_found_increased_since_closure_asks_for_reopening_and_is_listed_on_the_closed_case():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    service.close(amina, case_id, DECLINED)
    service.approve(mem.as_("sup"), case_id, "closure")
    later = mem.as_("amina", now=T0 + timedelta(days=10))
    service.followup(later, case_id, dict(VISIT, purpose="post_closure", purpose_detail="feedback", child_feedback="happy",
                                          risk_increased="yes"))
    case, items = _items(mem, case_id, T0 + timedelta(days=11))
    assert case.stage == "closed"
    # the clock's steps (a follow-up, an assessment) are refused on a closed case: its own, reopening, is not
    _reworded(case, items["risk-increased"], ("reopen",))
