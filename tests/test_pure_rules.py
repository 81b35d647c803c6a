"""Pure rules checked at their edges, where mutation testing (docs/testing.md) found them loose:
a deadline's state at its exact boundaries, every field of a clock, a removed worker."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from test_deadlines import INTER, T0, H, D, deadlines, fold, registered

from cpcm.domain.team import Team, Worker
from cpcm.workflow.deadlines import Deadline
from cpcm.workflow.rules import check_case

MIN = timedelta(minutes=1)
SOON = 7 * D


def _deadline(target=T0 + 24 * H, due=T0 + 48 * H) -> Deadline:
    return Deadline("CP-TEST-0000", "initial-assessment", "initial assessment", due, target, "amina", "initial_assessment", "why", "src")


def test_deadline_state__exactly_at_the_limit_is_not_yet_overdue():
    item = _deadline()
    assert item.state(item.due, SOON) == "target_missed"
    assert item.state(item.due + MIN, SOON) == "overdue"


def test_deadline_state__exactly_at_the_target_is_not_yet_missed():
    item = _deadline()
    assert item.state(item.target, SOON) == "due_soon"
    assert item.state(item.target + MIN, SOON) == "target_missed"


def test_deadline_state__due_soon_from_exactly_the_window_before_the_target():
    item = _deadline(target=T0 + 30 * D, due=T0 + 40 * D)
    assert item.state(item.target - SOON, SOON) == "due_soon"
    assert item.state(item.target - SOON - MIN, SOON) == "upcoming"
    without_target = _deadline(target=None, due=T0 + 40 * D)
    assert without_target.state(without_target.due - SOON, SOON) == "due_soon"
    assert without_target.state(without_target.due - SOON - MIN, SOON) == "upcoming"


def test_initial_assessment__every_field_of_the_clock():
    case = fold("CP-TEST-0000", [registered()])
    [item] = [d for d in deadlines(case, INTER, T0 + H) if d.code == "initial-assessment"]
    assert item == Deadline("CP-TEST-0000", "initial-assessment", "initial assessment", T0 + 48 * H, T0 + 24 * H, "amina",
                            "initial_assessment", "initial assessment within 48 hours of registration (target 24 hours)",
                            INTER.source("initial_assessment"), "high")


def test_team_get__a_removed_worker_only_when_asked_for():
    team = Team((Worker("amina", "Amina", ("caseworker",), "age1amina"), Worker("otieno", "Otieno", ("caseworker",), "age1otieno", removed="2026-01-01")))
    assert team.get("amina").id == "amina"
    assert team.get("otieno") is None
    assert team.get("otieno", include_removed=True).id == "otieno"
    assert team.get("nobody", include_removed=True) is None


def test_born_after_registration__from_the_day_after_the_day_registered_there_and_how_each_case_mends_it():
    """`born-after-registration` (rules.check_case, by `age.born_after`): a date of birth after the day the case was
    registered, that day taken in the agency's zone (00:30 there is the day before in UTC), the day itself not. An
    open case's date of birth is updated; a closed case takes no update, so it is corrected on its record; a case
    transferred is read-only here, and nothing is said of it."""
    at = T0.replace(hour=0, minute=30)  # 2026-03-01 21:30 UTC

    def said(born: str, status: str = "open") -> list[str]:
        case = replace(fold("CP-TEST-0000", [registered(at, name="x", date_of_birth=born)]), status=status)
        return [p.message for p in check_case(case, INTER, T0) if p.code == "born-after-registration"
                and p.severity == "warning" and p.case_id == "CP-TEST-0000"]

    assert said("2026-03-02") == []
    [message] = said("2026-03-03")
    assert "cpcm update CP-TEST-0000 --dob DATE" in message and "cpcm correct CP-TEST-0000 registration --at WHEN" in message
    assert "2026-03" not in message
    [closed] = said("2026-03-03", "closed")
    assert "cpcm correct CP-TEST-0000 RECORD --set child.date_of_birth=DATE" in closed and "cpcm update" not in closed
    assert said("2026-03-03", "transferred") == []
