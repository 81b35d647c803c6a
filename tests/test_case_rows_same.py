"""`statistics.case_rows` gives the rows the code gave before it read each event's day and the
child's age more cheaply: generated cases of many shapes (test_fill_rows_same.py's generator),
in several zones, against that code (`_case_rows_before`, kept here as it was)."""
from __future__ import annotations

import importlib
from datetime import date, timezone

import pytest

from cpcm.domain.case import Case
from cpcm.reports.common import Period, age_band, disability_group, sex_group
from cpcm.workflow import fold as fold_module
from test_fill_rows_same import ALL_ZONES, shapes

statistics = importlib.import_module("cpcm.reports.statistics")


def _case_rows_before(case, zone=None):
    period = Period(date.min, date.max, zone or timezone.utc)
    rows = []
    sex, disability = sex_group(case.child.get("sex")), disability_group(case.child.get("disability"))

    def add(measure, when, category=None, outcome=None):
        day = period.local(when).date()
        rows.append([statistics.MEASURE_KEYS.index(measure), day.isoformat(), category, sex, age_band(case.age_on(day)), disability]
                    + ([outcome] if outcome is not None else []))

    if case.registered_at:
        add("registrations", case.registered_at)
    closures = sorted(case.events.get("closed", ()))
    for when in closures:
        if when:
            add("closures", when, statistics._closure_reason(case, when))
    for name, key in (("reopen", "reopenings"), ("transfer", "transfers"), ("consent_override", "consent_overrides"),
                      ("consent_refused", "consent_refusals"), ("plan", "plans"), ("plan_with_child", "plans_with_child"),
                      ("review", "reviews"), ("review_with_child", "reviews_with_child"), ("plan_rejected", "plans_rejected"),
                      ("plan_approved", "plans_approved"), ("plan_with_child_approved", "plans_with_child_approved")):
        for when in case.events.get(name, ()):
            if when:
                add(key, when)
    for referral in case.referrals:
        if referral.get("at"):
            status = referral.get("status")
            outcome = next((name for name, statuses in statistics.REFERRAL_OUTCOMES if status in statuses), statistics.UNKNOWN)
            add("referrals", referral["at"], referral.get("sector") or statistics.UNKNOWN, outcome)
    return rows


def _outcome(make, *args):
    try:
        return make(*args)
    except Exception as error:  # noqa: BLE001 - the same failure is the same answer
        return type(error)


@pytest.mark.parametrize("zone_name", [None, *ALL_ZONES])
def test_case_rows_as_before(zone_name):
    zone = None if zone_name is None else ALL_ZONES[zone_name]
    folded = [fold_module.fold(case_id, records) for case_id, records in shapes(120, 20261201)]
    assert any(statistics.case_rows(case, zone) for case in folded)
    for case in folded:
        assert _outcome(statistics.case_rows, case, zone) == _outcome(_case_rows_before, case, zone)


def test_case_rows_as_before_for_odd_children():
    """A date of birth that is not one (fails on the first row only), an estimated age, none."""
    times = {"closed": ("2026-02-01T10:00:00+00:00",), "closed.goals_met": ("2026-02-01T10:00:00+00:00",),
             "review": ("2026-01-10T23:30:00+00:00", "")}
    for child in ({}, {"date_of_birth": "2010-02-29"}, {"date_of_birth": "2016-02-29"}, {"age_estimate": 9},
                  {"age_estimate": "x"}, {"sex": "female", "disability": "yes", "date_of_birth": "2019-03-01"}):
        for registered, events in [(None, {}), ("2024-02-29T21:00:00-03:00", {}), (None, times), ("2025-12-31T22:00:00+00:00", times)]:
            case = Case("C-1", registered_at=registered, child=child, events=events)
            for zone in (None, timezone.utc, *ALL_ZONES.values()):
                assert _outcome(statistics.case_rows, case, zone) == _outcome(_case_rows_before, case, zone)
