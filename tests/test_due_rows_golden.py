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
    "kenya/nairobi/0": "2e5985cbd0bc82a0c2c2",
    "kenya/nairobi/1": "9ce43787a28ba559bf8a",
    "kenya/nairobi/2": "8ed021823e0702d7071a",
    "kenya/nairobi/3": "3d7ace7725e117e35d02",
    "kenya/nairobi-again/0": "2e5985cbd0bc82a0c2c2",
    "kenya/nairobi-again/1": "9ce43787a28ba559bf8a",
    "kenya/nairobi-again/2": "8ed021823e0702d7071a",
    "kenya/nairobi-again/3": "3d7ace7725e117e35d02",
    "kenya/plus3-named/0": "2e5985cbd0bc82a0c2c2",
    "kenya/plus3-named/1": "9ce43787a28ba559bf8a",
    "kenya/plus3-named/2": "8ed021823e0702d7071a",
    "kenya/plus3-named/3": "3d7ace7725e117e35d02",
    "kenya/new-york/0": "7500abb87a7558667ce7",
    "kenya/new-york/1": "ab1767908da85b649585",
    "kenya/new-york/2": "2a923acb508bfb01d0fc",
    "kenya/new-york/3": "9c3c2ca29569eb2e156b",
    "kenya/santiago/0": "52b3c9da466ae41a7658",
    "kenya/santiago/1": "a6396d788a491a54c6e3",
    "kenya/santiago/2": "e4329f938807a68b5a86",
    "kenya/santiago/3": "40dfd49858b44071071b",
    "inter-agency/nairobi/0": "3028de48353c1151577c",
    "inter-agency/nairobi/1": "e634369a8a414ed12f36",
    "inter-agency/nairobi/2": "97c4ff295d4824bf6700",
    "inter-agency/nairobi/3": "09424e601a6bc0e35091",
    "inter-agency/nairobi-again/0": "3028de48353c1151577c",
    "inter-agency/nairobi-again/1": "e634369a8a414ed12f36",
    "inter-agency/nairobi-again/2": "97c4ff295d4824bf6700",
    "inter-agency/nairobi-again/3": "09424e601a6bc0e35091",
    "inter-agency/plus3-named/0": "3028de48353c1151577c",
    "inter-agency/plus3-named/1": "e634369a8a414ed12f36",
    "inter-agency/plus3-named/2": "97c4ff295d4824bf6700",
    "inter-agency/plus3-named/3": "09424e601a6bc0e35091",
    "inter-agency/new-york/0": "90f9fb8678684e1eacbc",
    "inter-agency/new-york/1": "ba1fefe3a045ba45a20b",
    "inter-agency/new-york/2": "f75abe676a9a75952ab4",
    "inter-agency/new-york/3": "89007c64b9ecaf53e059",
    "inter-agency/santiago/0": "f6aba3a5655a262ffa4c",
    "inter-agency/santiago/1": "6864698a51b2dbe2e70d",
    "inter-agency/santiago/2": "57151d926f0809899c90",
    "inter-agency/santiago/3": "759e4947adf388adf0a2",
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
