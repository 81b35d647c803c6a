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
# only the plan-approval items of cases at closure_requested went, one per such case and run; nothing else changed); made again
# when a risk increase re-rated in the follow-up that found it began to stay urgent until a later check, a post-closure
# visit that found the risk increased began to ask to reopen the case, and a plan rejected before the comprehensive
# assessment with no version in force began to ask for a new version (each commit of these says which rows changed); made
# again when a referral not moved on since before the latest reopening stopped being due after it, as the old plan's
# actions (`plan_action.due_after_reopening: false`): compared with the rows before, the only change in every run is the
# referral-feedback entry of the 7 generated cases reopened with a referral still waiting from before the reopening,
# gone (its text and its place in the case's row); no other entry, text or statistics row changed
GOLDEN = {
    "kenya/nairobi/0": "bb2c4d55b27d83da3d2e",
    "kenya/nairobi/1": "5ad83f9d79109f567dae",
    "kenya/nairobi/2": "f113fc34588c4f9cf942",
    "kenya/nairobi/3": "67a8d63e995fdc16a383",
    "kenya/nairobi-again/0": "bb2c4d55b27d83da3d2e",
    "kenya/nairobi-again/1": "5ad83f9d79109f567dae",
    "kenya/nairobi-again/2": "f113fc34588c4f9cf942",
    "kenya/nairobi-again/3": "67a8d63e995fdc16a383",
    "kenya/plus3-named/0": "bb2c4d55b27d83da3d2e",
    "kenya/plus3-named/1": "5ad83f9d79109f567dae",
    "kenya/plus3-named/2": "f113fc34588c4f9cf942",
    "kenya/plus3-named/3": "67a8d63e995fdc16a383",
    "kenya/new-york/0": "264bfdfee68a64f11663",
    "kenya/new-york/1": "09f237c922481a346f14",
    "kenya/new-york/2": "e77f8d0db2d8848dbd4f",
    "kenya/new-york/3": "c252fed104b386068f89",
    "kenya/santiago/0": "1657975bfca67acd9519",
    "kenya/santiago/1": "4f2cee9ae46271e6f133",
    "kenya/santiago/2": "90c8fbcbaf3055bff8ce",
    "kenya/santiago/3": "74755b66743767429e6d",
    "inter-agency/nairobi/0": "9627ccf2d038d21b91e4",
    "inter-agency/nairobi/1": "b97c75f9aa60b5e02d5e",
    "inter-agency/nairobi/2": "b291b13b2a6dcc74b7a0",
    "inter-agency/nairobi/3": "ab4220318161f2454bb9",
    "inter-agency/nairobi-again/0": "9627ccf2d038d21b91e4",
    "inter-agency/nairobi-again/1": "b97c75f9aa60b5e02d5e",
    "inter-agency/nairobi-again/2": "b291b13b2a6dcc74b7a0",
    "inter-agency/nairobi-again/3": "ab4220318161f2454bb9",
    "inter-agency/plus3-named/0": "9627ccf2d038d21b91e4",
    "inter-agency/plus3-named/1": "b97c75f9aa60b5e02d5e",
    "inter-agency/plus3-named/2": "b291b13b2a6dcc74b7a0",
    "inter-agency/plus3-named/3": "ab4220318161f2454bb9",
    "inter-agency/new-york/0": "9f7ffe0234d6a90efeca",
    "inter-agency/new-york/1": "93d026d59933f0f6ada0",
    "inter-agency/new-york/2": "71185fb7ef8654959aa9",
    "inter-agency/new-york/3": "c8c7da8aa5c5dd56c7bf",
    "inter-agency/santiago/0": "da319b47cdf53faa3508",
    "inter-agency/santiago/1": "359a69b49d7cbe14b1b3",
    "inter-agency/santiago/2": "90038ce47bec356e9ebc",
    "inter-agency/santiago/3": "c085a3a8e05dde97cf55",
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
