"""The due and statistics entries a cold fill makes (`tables.made_rows`) are byte for byte those
the code made before the rules, the watched `now` and the entries were made cheaper: generated
cases of many shapes (test_fill_rows_same.py's generator, another seed), under two policies, in
five zones, at `now`s around the cases' times, each run's entries (their JSON and the due texts)
digested and compared with the digests that code gave (`GOLDEN`).

A change that is meant to change the entries changes these digests: print `digests()` and
replace `GOLDEN`, saying in the commit why the entries changed.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from types import SimpleNamespace

from cpcm.service import tables
from cpcm.workflow import fold as fold_module
from test_fill_rows_same import ALL_ZONES, NOWS, POLICIES, _session, shapes

ZONE_NAMES = ("nairobi", "nairobi-again", "plus3-named", "new-york", "santiago")
TIMES = (NOWS[0], NOWS[0] + timedelta(days=37, hours=5), NOWS[1], NOWS[1] - timedelta(days=90, minutes=7))


def digests() -> dict[str, str]:
    """For each policy, zone and `now`: a digest of every case's `made_rows`, made one after the
    other with one session (what one case leaves in it is there for the next)."""
    folded = [fold_module.fold(case_id, records) for case_id, records in shapes(140, 20261202)]
    found = {}
    for policy_name, policy in POLICIES.items():
        for zone_name in ZONE_NAMES:
            zone = ALL_ZONES[zone_name]
            for number, now in enumerate(TIMES):
                session = _session(zone, zone_name)
                ctx = SimpleNamespace(policy=policy, now=now.astimezone(zone))
                original = tables._session
                tables._session = lambda ctx, session=session: session
                try:
                    digest = hashlib.sha256()
                    for case in folded:
                        made = tables.made_rows(ctx, ("due", "statistics"), "ab" * 20, case)
                        digest.update(repr(sorted(made.items())).encode() + b"\n")
                finally:
                    tables._session = original
                found[f"{policy_name}/{zone_name}/{number}"] = digest.hexdigest()[:20]
    return found


# made by the code before (commit f3968f0); made again when a reopened case's assessment items
# began to say they count "of the reopening" (every run holds reopened cases); made again when a monitoring
# visit began to name the day of its placement in the zone of `now`, not in UTC (the kenya runs); made again
# when the review interval after reunification became the one in force when the review clock starts, not at
# `now` (kenya: a review due under the 6-month interval stays due after the period; inter-agency: the rule
# is named `review` at a `now` before the reunification; and no entry ends where that period ends); made again
# when a plan for reunification_done became a confirmation of the placement home of the same stay, not a second
# reunification (the kenya runs: the monitoring visits count from the placement); made again when the item
# taking a child admitted to a CCI to a case conference began to say that the chair or a supervisor nominates the case
# (the kenya runs); made again when plan action items began to cite their own rule, `plan_action`, and its source
# instead of the case-plan deadline's (every run: only the rule and source of plan-action items changed; no generated
# case is reopened with dated actions open on a plan in force from before the reopening, whose actions are no longer due); made again when approval items began to name who asked and on which
# day, and case-plan items to say that the latest version was rejected (every run: only those why texts changed); made
# again when the response to a risk the policy wants the same day (immediate) began to be titled URGENT (every run: only
# that title, and so its text's id, changed: compared with the rows before, those two put back)
GOLDEN = {
    "kenya/nairobi/0": "cd6611567537472e7229",
    "kenya/nairobi/1": "66d3af6069b7437b9729",
    "kenya/nairobi/2": "1dc5b0598688da266369",
    "kenya/nairobi/3": "6a0c1741f79f4f62c1aa",
    "kenya/nairobi-again/0": "cd6611567537472e7229",
    "kenya/nairobi-again/1": "66d3af6069b7437b9729",
    "kenya/nairobi-again/2": "1dc5b0598688da266369",
    "kenya/nairobi-again/3": "6a0c1741f79f4f62c1aa",
    "kenya/plus3-named/0": "cd6611567537472e7229",
    "kenya/plus3-named/1": "66d3af6069b7437b9729",
    "kenya/plus3-named/2": "1dc5b0598688da266369",
    "kenya/plus3-named/3": "6a0c1741f79f4f62c1aa",
    "kenya/new-york/0": "b351524b747646b52eff",
    "kenya/new-york/1": "5c9c9fc59deaacf45bd4",
    "kenya/new-york/2": "9d0e60deef62385e12e5",
    "kenya/new-york/3": "6c48806a795fe41e7bd8",
    "kenya/santiago/0": "9fc0188930e98590dc98",
    "kenya/santiago/1": "a4fd56c44ca9ec193445",
    "kenya/santiago/2": "c35c5a154572f99bc151",
    "kenya/santiago/3": "3fb9229c3ae80e63bd45",
    "inter-agency/nairobi/0": "997bb5d2ee3ddec1980a",
    "inter-agency/nairobi/1": "7a31c7e4c9d08a0e7c5a",
    "inter-agency/nairobi/2": "314ced74707eb6219987",
    "inter-agency/nairobi/3": "a3e7627b39c0a0c7843c",
    "inter-agency/nairobi-again/0": "997bb5d2ee3ddec1980a",
    "inter-agency/nairobi-again/1": "7a31c7e4c9d08a0e7c5a",
    "inter-agency/nairobi-again/2": "314ced74707eb6219987",
    "inter-agency/nairobi-again/3": "a3e7627b39c0a0c7843c",
    "inter-agency/plus3-named/0": "997bb5d2ee3ddec1980a",
    "inter-agency/plus3-named/1": "7a31c7e4c9d08a0e7c5a",
    "inter-agency/plus3-named/2": "314ced74707eb6219987",
    "inter-agency/plus3-named/3": "a3e7627b39c0a0c7843c",
    "inter-agency/new-york/0": "bd7762875a0779a7b7eb",
    "inter-agency/new-york/1": "80514ffa3344bf7886f0",
    "inter-agency/new-york/2": "6fe5c08477f91ee44211",
    "inter-agency/new-york/3": "71adf1c2a5ad472cb2a1",
    "inter-agency/santiago/0": "f8a41cbe2a675a40d603",
    "inter-agency/santiago/1": "74bab90f04e372e77cf5",
    "inter-agency/santiago/2": "68f43b22c5ff62e196a7",
    "inter-agency/santiago/3": "4c9dda468664219a0c91",
}


def test_made_rows__byte_for_byte_as_before():
    assert digests() == GOLDEN


def test_policy_parts__each_policy_object_its_own():
    """The parts kept per policy (`deadlines._parts`) follow the policy object: a policy read
    again with other limits, risk levels, an age limit or sources, used after and between runs
    with the first, gives its own items; and the kept policies stay few."""
    from dataclasses import replace

    from cpcm.workflow import deadlines

    case = fold_module.fold(*shapes(1, 5)[0])
    case = replace(case, status="open", child={"date_of_birth": "2009-01-10"}, risk="high",
                   registered_at="2026-11-01T08:00:00+00:00", events={})
    first = POLICIES["kenya"]
    rules = {name: dict(block) for name, block in first.rules.items()}
    rules["initial_assessment"].update(limit="9d", target="4d", source="Another source")
    rules["risk_response"]["limit"] = {**rules["risk_response"]["limit"], "high": "5d"}
    rules["child_age_limit"] = {**rules.get("child_age_limit", {}), "years": 17}
    second = replace(first, rules=rules)
    now = datetime(2026, 11, 2, 9, 0, tzinfo=ALL_ZONES["nairobi"])

    def view(policy):
        return [(d.code, d.title, d.due, d.target, d.why, d.source) for d in deadlines.deadlines(case, policy, now)]

    before = view(first)
    other = view(second)
    assert view(first) == before and view(second) == other and other != before
    initial = {d[0]: d for d in other}["initial-assessment"]
    assert initial[2] == datetime(2026, 11, 10, 11, 0, tzinfo=now.tzinfo) and "9 days" in initial[4] and initial[5] == "Another source"
    for _ in range(deadlines._PARTS_KEPT + 3):
        view(replace(first))  # a policy read again each time: equal, another object
    assert len(deadlines._PARTS) <= deadlines._PARTS_KEPT
    assert view(first) == before
