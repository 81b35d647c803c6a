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


GOLDEN = {  # made by the code before (commit f3968f0)
    "kenya/nairobi/0": "de95dc5a929fff8c8fea",
    "kenya/nairobi/1": "4532021309c67b285919",
    "kenya/nairobi/2": "fc6b146dd6c99daf4986",
    "kenya/nairobi/3": "0a396f1c1dc173815291",
    "kenya/nairobi-again/0": "de95dc5a929fff8c8fea",
    "kenya/nairobi-again/1": "4532021309c67b285919",
    "kenya/nairobi-again/2": "fc6b146dd6c99daf4986",
    "kenya/nairobi-again/3": "0a396f1c1dc173815291",
    "kenya/plus3-named/0": "de95dc5a929fff8c8fea",
    "kenya/plus3-named/1": "4532021309c67b285919",
    "kenya/plus3-named/2": "fc6b146dd6c99daf4986",
    "kenya/plus3-named/3": "0a396f1c1dc173815291",
    "kenya/new-york/0": "8cf341070c2ea9092e72",
    "kenya/new-york/1": "af3a9bf497bcc9b0af6b",
    "kenya/new-york/2": "0f2fa69bcfa7183ca4af",
    "kenya/new-york/3": "c53f6d06c623cbe9f1ce",
    "kenya/santiago/0": "01b123dde9ff93924d33",
    "kenya/santiago/1": "3bc22b1d0315ac3f5e2d",
    "kenya/santiago/2": "64851b0fbabce39dc400",
    "kenya/santiago/3": "5a1e56997bdc4762cf98",
    "inter-agency/nairobi/0": "32650f8107928e7d5c63",
    "inter-agency/nairobi/1": "7fa73e2270f42840b982",
    "inter-agency/nairobi/2": "34faf80d28c0e0aedb9b",
    "inter-agency/nairobi/3": "f25068fb43013ecbc5fa",
    "inter-agency/nairobi-again/0": "32650f8107928e7d5c63",
    "inter-agency/nairobi-again/1": "7fa73e2270f42840b982",
    "inter-agency/nairobi-again/2": "34faf80d28c0e0aedb9b",
    "inter-agency/nairobi-again/3": "f25068fb43013ecbc5fa",
    "inter-agency/plus3-named/0": "32650f8107928e7d5c63",
    "inter-agency/plus3-named/1": "7fa73e2270f42840b982",
    "inter-agency/plus3-named/2": "34faf80d28c0e0aedb9b",
    "inter-agency/plus3-named/3": "f25068fb43013ecbc5fa",
    "inter-agency/new-york/0": "5f318b6775489d3076c1",
    "inter-agency/new-york/1": "bd8b72265ed30c13cf66",
    "inter-agency/new-york/2": "73babc640edb5d718e6b",
    "inter-agency/new-york/3": "54929897e37f9e84dd73",
    "inter-agency/santiago/0": "1821462d5956db406d4e",
    "inter-agency/santiago/1": "0129b552a5e674fff533",
    "inter-agency/santiago/2": "6d6f35b7406fe87dcc27",
    "inter-agency/santiago/3": "70cb418ced0bfeaff2ae",
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
