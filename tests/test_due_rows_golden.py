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
# visit began to name the day of its placement in the zone of `now`, not in UTC (the kenya runs)
GOLDEN = {
    "kenya/nairobi/0": "9627369c27e13c513c16",
    "kenya/nairobi/1": "67995c2e5f3f73ffc535",
    "kenya/nairobi/2": "1343ffc29a1facfd2007",
    "kenya/nairobi/3": "2d803e6cabb5229f0e4b",
    "kenya/nairobi-again/0": "9627369c27e13c513c16",
    "kenya/nairobi-again/1": "67995c2e5f3f73ffc535",
    "kenya/nairobi-again/2": "1343ffc29a1facfd2007",
    "kenya/nairobi-again/3": "2d803e6cabb5229f0e4b",
    "kenya/plus3-named/0": "9627369c27e13c513c16",
    "kenya/plus3-named/1": "67995c2e5f3f73ffc535",
    "kenya/plus3-named/2": "1343ffc29a1facfd2007",
    "kenya/plus3-named/3": "2d803e6cabb5229f0e4b",
    "kenya/new-york/0": "46c2c90287ceee602101",
    "kenya/new-york/1": "f563146597139d92e14b",
    "kenya/new-york/2": "a62a19304cf0f30f1394",
    "kenya/new-york/3": "e74a931b881172167866",
    "kenya/santiago/0": "9d844488f6742ca643c3",
    "kenya/santiago/1": "3aadcc498ef726b02bdb",
    "kenya/santiago/2": "6f3ac38edcbb82cd549d",
    "kenya/santiago/3": "58d69b4bf7ba9b64e468",
    "inter-agency/nairobi/0": "6ea75e0605f353c28479",
    "inter-agency/nairobi/1": "567eaf4a9c9c2541473b",
    "inter-agency/nairobi/2": "4a5f5ffd28db430cdd02",
    "inter-agency/nairobi/3": "601d2eaa442d8d610f20",
    "inter-agency/nairobi-again/0": "6ea75e0605f353c28479",
    "inter-agency/nairobi-again/1": "567eaf4a9c9c2541473b",
    "inter-agency/nairobi-again/2": "4a5f5ffd28db430cdd02",
    "inter-agency/nairobi-again/3": "601d2eaa442d8d610f20",
    "inter-agency/plus3-named/0": "6ea75e0605f353c28479",
    "inter-agency/plus3-named/1": "567eaf4a9c9c2541473b",
    "inter-agency/plus3-named/2": "4a5f5ffd28db430cdd02",
    "inter-agency/plus3-named/3": "601d2eaa442d8d610f20",
    "inter-agency/new-york/0": "afcf33483a325395788e",
    "inter-agency/new-york/1": "fb5a61a266586b4ee506",
    "inter-agency/new-york/2": "29e01887b59adaa58f49",
    "inter-agency/new-york/3": "e25746657357d09b4256",
    "inter-agency/santiago/0": "0c1bed0ef2b45964aefa",
    "inter-agency/santiago/1": "90a913e133b4b27e1d5e",
    "inter-agency/santiago/2": "4ba2e15d14921a64ec94",
    "inter-agency/santiago/3": "103b607ccfd4d16fc25e",
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
