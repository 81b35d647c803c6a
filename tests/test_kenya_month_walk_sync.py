"""A month of a small children's home (CCI) in the `kenya` profile on two copies (the office copy and a
caseworker's laptop, synced through a shared folder): what a worker would believe after a sync that is
not true. Each test is a defect found on the walk, written as it should behave."""
from __future__ import annotations

import json

from conftest import register, signing_line
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_placements import ADMISSION, BID, FAMILY, KINSHIP, TRACING
from test_sync import Laptops


def _at(day: int, hour: int = 9) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00+03:00"


def _ok(result):
    assert result.code == 0, result.stderr
    return result


def _planned(amina, **overrides) -> str:
    case_id = register(amina, **overrides)
    _ok(amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL))
    _ok(amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)))
    _ok(amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())))
    return case_id


def test_a_child_taken_home_on_a_laptop_while_the_office_records_the_renewed_court_order_is_a_sync_conflict(kenya, tmp_env):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina, lives_with="institution", location="Tumaini Children's Home")
    _ok(amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL))
    _ok(sup("placement", case_id, "--from-file", "-", "--override-reason", "admitted by court order", input=json.dumps(ADMISSION)))
    laptops = Laptops(kenya.root, kenya.keys, tmp_env)
    laptops.laptop("amina")
    # apart: amina takes the child home on her laptop (the steps of reintegration, then the placement home) ...
    laptop = laptops.cli("amina", CPCM_NOW=_at(27))
    _ok(laptop("tracing", case_id, "--from-file", "-", input=json.dumps(TRACING)))
    _ok(laptop("family-assessment", case_id, "--from-file", "-", input=json.dumps(FAMILY)))
    _ok(laptop("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)))
    _ok(laptop("placement", case_id, "--from-file", "-", input=json.dumps(KINSHIP)))
    assert "monitoring-visit" in {i["code"] for i in laptop("due", "--json", "--within", "60").json() if i["case_id"] == case_id}
    # ... while the office records the court order renewed that afternoon (the same CCI: no override needed)
    _ok(laptops.cli("sup", CPCM_NOW=_at(27, 15))("placement", case_id, "--care-type", "institutional_care", "--institution",
                                                 "Tumaini Children's Home", "--court-order", "CC 12/2026", "--court-order-date",
                                                 "2026-11-27", "--court-order-expires", "2027-05-27", "--no-input"))
    laptops.sync("sup")
    merged = laptops.sync("amina")
    # the later placement stands on every copy: the merge says so (placements-concurrent)
    assert [c["code"] for c in merged.get("conflicts", []) if c["case"] == case_id] == ["placements-concurrent"], merged


def test_a_plan_approved_at_the_office_while_a_new_version_was_written_on_the_laptop_is_reported(kenya, tmp_env):
    case_id = _planned(kenya("amina"))
    laptops = Laptops(kenya.root, kenya.keys, tmp_env)
    laptops.laptop("amina")
    _ok(laptops.cli("amina", CPCM_NOW=_at(25, 8))("plan", case_id, "--from-current", "--reason", "correction",
                                                   "--set", "contingency=the uncle"))
    approved = _ok(laptops.cli("sup", CPCM_NOW=_at(25, 10))("approve", case_id, "plan"))
    assert "plan version 1 is in force" in approved.stderr  # what the supervisor is told at the office
    laptops.sync("sup")
    laptops.sync("amina")
    laptops.sync("sup")
    after = laptops.cli("sup", CPCM_NOW=_at(26))
    shown = _ok(after("show", case_id, "--json")).json()
    # after the sync version 1 is in force, as the supervisor was told, while version 2 waits: check names the two
    codes = {p["code"] for p in json.loads(after("check", case_id, "--json").stdout)}
    assert "plans-concurrent" in codes and "transition-out-of-order" not in codes, (codes, shown.get("plan"))
    assert (shown["plan"]["version"], shown["plan"]["approved_at"], shown["plan"]["previous"]["version"]) == (2, None, 1)


def test_a_case_handed_over_gives_the_new_worker_the_conference_it_is_nominated_to(kenya):
    sup = kenya("sup")
    _ok(sup("team", "add", "otieno", "--role", "caseworker", "--recipient", kenya.keys["otieno"][1],
            "--signing-key", signing_line(kenya.keys["otieno"][0])))
    case_id = _planned(kenya("amina"))
    _ok(sup("approve", case_id, "plan"))
    conf = _ok(sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--venue", "Meeting room",
                   "--notice-sent", "2026-11-23", "--invitations-sent", "2026-11-23", "--json")).json()["conference_id"]
    _ok(sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult"))
    _ok(sup("assign", case_id, "--worker", "otieno"))  # amina is leaving: her case goes to otieno
    readers = [line for line in (kenya.root / "conferences" / conf / "recipients").read_text().splitlines()
               if line and not line.startswith("#")]
    assert "otieno" in readers and "amina" not in readers, readers
    assert kenya("otieno")("conference", "show", conf).code == 0


def test_a_referral_accepted_on_the_laptop_and_declined_at_the_office_apart_is_reported_and_can_still_be_delivered(kenya, tmp_env):
    from conftest import CLINIC, consent_both

    amina = kenya("amina")
    _ok(kenya("sup")("service", *CLINIC[1:]))
    case_id = register(amina)
    _ok(amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL))
    consent_both(amina, case_id)
    _ok(amina("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all"))
    laptops = Laptops(kenya.root, kenya.keys, tmp_env)
    laptops.laptop("amina")
    _ok(laptops.cli("amina", CPCM_NOW=_at(25, 9))("referral", case_id, "R1", "--status", "accepted",
                                                  "--start", "2026-11-26", "--expected-duration", "2w"))
    _ok(laptops.cli("sup", CPCM_NOW=_at(25, 10))("referral", case_id, "R1", "--status", "declined", "--feedback", "no stock"))
    laptops.sync("sup")
    merged = laptops.sync("amina")
    delivered = laptops.cli("amina", CPCM_NOW=_at(27))("referral", case_id, "R1", "--status", "delivered")
    # the merge names the two updates (referral-updates-concurrent); from 'declined' only closing is left
    assert [c["code"] for c in merged.get("conflicts", []) if c["case"] == case_id] == ["referral-updates-concurrent"], merged
    assert delivered.code == 4 and "From 'declined' it can become: closed" in delivered.stderr, delivered.stderr
