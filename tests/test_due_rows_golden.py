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
# that title, and so its text's id, changed: compared with the rows before, those two put back); made again when a plan
# version waiting while the case's closure is requested stopped being an approval item (the stage lets nobody decide it:
# only the plan-approval items of cases at closure_requested went, one per such case and run; nothing else changed)
GOLDEN = {
    "kenya/nairobi/0": "c4343d1565d70cf3a68f",
    "kenya/nairobi/1": "c726aedec6c92c90ad67",
    "kenya/nairobi/2": "297e8c14b0018d5706d3",
    "kenya/nairobi/3": "5b6d5d5efc7830ecd22e",
    "kenya/nairobi-again/0": "c4343d1565d70cf3a68f",
    "kenya/nairobi-again/1": "c726aedec6c92c90ad67",
    "kenya/nairobi-again/2": "297e8c14b0018d5706d3",
    "kenya/nairobi-again/3": "5b6d5d5efc7830ecd22e",
    "kenya/plus3-named/0": "c4343d1565d70cf3a68f",
    "kenya/plus3-named/1": "c726aedec6c92c90ad67",
    "kenya/plus3-named/2": "297e8c14b0018d5706d3",
    "kenya/plus3-named/3": "5b6d5d5efc7830ecd22e",
    "kenya/new-york/0": "8cf6f721dd37283e730d",
    "kenya/new-york/1": "51dbfc99ce0b5c90afad",
    "kenya/new-york/2": "009072834284ece8ae04",
    "kenya/new-york/3": "58ab5b46bca7bdcdde25",
    "kenya/santiago/0": "6e3d1953891417ca0ac6",
    "kenya/santiago/1": "448f9322878660feb158",
    "kenya/santiago/2": "c665099beca50003e20c",
    "kenya/santiago/3": "2fb66193836ce6a3473c",
    "inter-agency/nairobi/0": "84df215f7bf6bf66bc5b",
    "inter-agency/nairobi/1": "ecb314cb95e37293a7e1",
    "inter-agency/nairobi/2": "4d58cbb4eecacfe562e2",
    "inter-agency/nairobi/3": "5321425cfac14e73181c",
    "inter-agency/nairobi-again/0": "84df215f7bf6bf66bc5b",
    "inter-agency/nairobi-again/1": "ecb314cb95e37293a7e1",
    "inter-agency/nairobi-again/2": "4d58cbb4eecacfe562e2",
    "inter-agency/nairobi-again/3": "5321425cfac14e73181c",
    "inter-agency/plus3-named/0": "84df215f7bf6bf66bc5b",
    "inter-agency/plus3-named/1": "ecb314cb95e37293a7e1",
    "inter-agency/plus3-named/2": "4d58cbb4eecacfe562e2",
    "inter-agency/plus3-named/3": "5321425cfac14e73181c",
    "inter-agency/new-york/0": "6ff68ef61bc11c72ac28",
    "inter-agency/new-york/1": "90a844f497a169b5d574",
    "inter-agency/new-york/2": "4fd49663fcc25f7a1e0a",
    "inter-agency/new-york/3": "a63da042b513d5aa1d83",
    "inter-agency/santiago/0": "a81e64783582f1f43cfe",
    "inter-agency/santiago/1": "685f5682073952d2bb20",
    "inter-agency/santiago/2": "a603812023fcf5f9d2d7",
    "inter-agency/santiago/3": "c971fdfa469d4784d5cd",
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
