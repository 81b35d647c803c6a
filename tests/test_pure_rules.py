"""Pure rules checked at their edges, where mutation testing (docs/testing.md) found them loose:
a deadline's state at its exact boundaries, every field of a clock, a removed worker."""
from __future__ import annotations

from datetime import timedelta

from test_deadlines import INTER, T0, H, D, deadlines, fold, registered

from cpcm.domain.team import Team, Worker
from cpcm.workflow.deadlines import Deadline

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
