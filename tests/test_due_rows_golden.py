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
from datetime import timedelta
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
