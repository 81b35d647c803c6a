"""Where the child lives, recorded on two copies apart: the later placement in the records would
silently become where the child lives. The merge records `placements-concurrent` when the two
differ in where or with whom (the same placement recorded twice is none), and a later placement
or a note settles it. The same for one referral updated on two copies apart to different
statuses: `referral-updates-concurrent`."""
from __future__ import annotations

import json

from test_placements import BID
from test_sync import check_codes, laptops, merge_both, shared_case  # noqa: F401 (laptops: a fixture)

KINSHIP = ("--care-type", "kinship", "--caregiver", "Grace Achieng", "--relationship", "grandmother", "--address", "Nyakach")
FOSTER = ("--care-type", "foster_care", "--caregiver", "Mary Wanjiru", "--relationship", "foster parent", "--address", "Kondele")


def _apart(laptops):
    """amina's laptop and sup's copy, one case of hers with a best-interests record on both."""
    amina, sup, case_id = shared_case(laptops)
    done = amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID))
    assert done.code == 0, done.stderr
    laptops.sync("amina")
    laptops.sync("sup")
    return amina, sup, case_id


def test_two_different_placements_apart_are_a_conflict_settled_by_a_later_placement(laptops):
    amina, sup, case_id = _apart(laptops)
    office = sup("placement", case_id, *KINSHIP, "--json")
    assert office.code == 0, office.stderr
    field = amina("placement", case_id, *FOSTER, "--json")  # later in the records: it would stand silently
    assert field.code == 0, field.stderr
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [
        ("placements-concurrent", sorted([office.json()["record_id"], field.json()["record_id"]]))]
    for cli in (sup, amina):
        problems = [p for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == "placements-concurrent"]
        assert len(problems) == 1, cli("check", case_id).stdout
        message = problems[0]["message"]
        assert field.json()["record_id"] in message and f"cpcm placement {case_id}" in message
        assert "Grace" not in message and "Mary" not in message and "Kondele" not in message  # ids and fixed values only
    again = amina("placement", case_id, *FOSTER, "--json")  # checked: she is with the foster parent (no new decision)
    assert again.code == 0, again.stderr
    assert "this settles the sync conflict (placements-concurrent)" in again.json()["next_steps"], again.stdout
    assert "placements-concurrent" not in check_codes(amina, case_id)


def test_the_same_placement_recorded_on_both_copies_is_no_conflict_and_a_note_settles_one(laptops):
    amina, sup, case_id = _apart(laptops)
    assert sup("placement", case_id, *KINSHIP).code == 0
    assert amina("placement", case_id, *KINSHIP).code == 0
    assert merge_both(laptops)["conflicts"] == []
    assert sup("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert sup("placement", case_id, *FOSTER).code == 0
    assert amina("placement", case_id, "--care-type", "kinship", "--caregiver", "Grace Achieng", "--relationship", "grandmother",
                 "--address", "Oyugis").code == 0  # the same grandmother, a new address: where the child lives differs
    assert [c["code"] for c in merge_both(laptops)["conflicts"]] == ["placements-concurrent"]
    assert sup("note", case_id, "--text", "checked with the family: she lives in Oyugis").code == 0
    assert "placements-concurrent" not in check_codes(sup, case_id)


# -- the fold (pure) ---------------------------------------------------------------------------------
def test_fold__a_later_placement_or_a_note_settles_placements_concurrent_a_follow_up_does_not():
    from test_placements import at, rec

    from cpcm.workflow import placements as rules
    from cpcm.workflow.fold import fold, settled_by

    first = rec("placement", at(1), care_type="kinship", setting="family_based", caregiver={"name": "A"})
    second = rec("placement", at(1.5), care_type="foster_care", setting="family_based", caregiver={"name": "B"})
    conflict = rec("sync_conflict", at(2), code="placements-concurrent", records=sorted([first.id, second.id]))
    records = [rec("registration", at(0)), first, second, conflict]
    case = fold("CP-TEST-0001", records)
    assert [c["settled_by"] for c in case.conflicts] == [None]
    assert settled_by(case, "placement", {"care_type": "foster_care"}) == ["placements-concurrent"]
    assert settled_by(case, "followup", {"risk": "low"}) == [] and settled_by(case, "assignment") == []
    visit = rec("followup", at(3), method="home_visit")
    again = rec("placement", at(4), care_type="foster_care", setting="family_based", caregiver={"name": "B"})
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [visit]).conflicts] == [None]
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [visit, again]).conflicts] == [again.id]
    note = rec("note", at(4), text="checked")
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [note]).conflicts] == [note.id]
    # what a sync compares: where and with whom, less case and spacing (the same placement twice is none)
    assert rules.where_and_with_whom({"care_type": "kinship", "caregiver": {"name": " grace  Achieng"}, "address": "Nyakach"}) == \
        rules.where_and_with_whom({"care_type": "kinship", "caregiver": {"name": "Grace Achieng", "relationship": "aunt"},
                                   "address": "nyakach "})
    assert rules.where_and_with_whom({"care_type": "kinship", "address": "Nyakach"}) != \
        rules.where_and_with_whom({"care_type": "kinship", "address": "Oyugis"})


# -- one referral updated on two copies apart ----------------------------------------------------------
def _referred(laptops):
    """amina's laptop and sup's copy, one case of hers referred to the clinic (R1) on both."""
    from test_referrals import CLINIC, CONSENT

    amina, sup, case_id = shared_case(laptops)
    assert sup(*CLINIC).code == 0
    laptops.sync("sup")
    laptops.sync("amina")
    for giver in ("child", "caregiver"):
        assert amina("consent", case_id, *CONSENT, "--by", giver).code == 0
    referred = amina("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all", "--json")
    assert referred.code == 0, referred.stderr
    laptops.sync("amina")
    laptops.sync("sup")
    return amina, sup, case_id, referred.json()["record_id"]


ACCEPTED = ("--status", "accepted", "--start", "2026-11-25", "--expected-duration", "3mo")


def test_one_referral_accepted_on_one_copy_and_declined_on_the_other_is_a_conflict_settled_by_an_update_of_it(laptops):
    amina, sup, case_id, referral = _referred(laptops)
    declined = sup("referral", case_id, "R1", "--status", "declined", "--feedback", "no places", "--json")
    assert declined.code == 0, declined.stderr
    accepted = amina("referral", case_id, "R1", *ACCEPTED, "--json")  # later in the records: it would stand silently
    assert accepted.code == 0, accepted.stderr
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [
        ("referral-updates-concurrent", sorted([declined.json()["record_id"], accepted.json()["record_id"]]))]
    for cli in (sup, amina):
        problems = [p for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == "referral-updates-concurrent"]
        assert len(problems) == 1, cli("check", case_id).stdout
        message = problems[0]["message"]
        assert "referral R1" in message and "(accepted)" in message and f"cpcm referral {case_id} R1 --status" in message
        assert "no places" not in message
    delivered = amina("referral", case_id, "R1", "--status", "delivered", "--feedback", "treated", "--json")
    assert delivered.code == 0, delivered.stderr
    assert "this settles the sync conflict (referral-updates-concurrent)" in delivered.json()["next_steps"], delivered.stdout
    assert "referral-updates-concurrent" not in check_codes(amina, case_id)


def test_the_same_status_on_both_copies_or_two_referrals_is_no_conflict(laptops):
    amina, sup, case_id, _ = _referred(laptops)
    assert sup("referral", case_id, "R1", "--status", "acknowledged").code == 0
    assert amina("referral", case_id, "R1", "--status", "acknowledged").code == 0
    assert merge_both(laptops)["conflicts"] == []
    assert amina("refer", case_id, "--service", "clinic", "--need", "nutrition", "--check", "all").code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    assert sup("referral", case_id, "R1", *ACCEPTED).code == 0
    assert amina("referral", case_id, "R2", *ACCEPTED).code == 0  # another referral: nothing clashes
    assert merge_both(laptops)["conflicts"] == []


def test_fold__only_an_update_of_the_referral_named_settles_referral_updates_concurrent():
    from test_placements import at, rec

    from cpcm.workflow.fold import fold, settled_by

    r1, r2 = rec("referral", at(1), service="clinic"), rec("referral", at(1.1), service="clinic")
    one = rec("referral_update", at(2), referral=r1.id, status="accepted")
    other = rec("referral_update", at(2.5), referral=r1.id, status="declined")
    conflict = rec("sync_conflict", at(3), code="referral-updates-concurrent", records=sorted([one.id, other.id]), referral=r1.id)
    records = [rec("registration", at(0)), r1, r2, one, other, conflict]
    case = fold("CP-TEST-0001", records)
    assert [(c["referral"], c["settled_by"]) for c in case.conflicts] == [(r1.id, None)]
    assert settled_by(case, "referral_update", {"referral": r2.id, "status": "accepted"}) == []
    assert settled_by(case, "referral_update", {"referral": r1.id, "status": "closed"}) == ["referral-updates-concurrent"]
    closed = rec("referral_update", at(4), referral=r1.id, status="closed")
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [closed]).conflicts] == [closed.id]
    # the merge could not read every update: no referral named, a note settles it
    unknown = rec("sync_conflict", at(3), code="referral-updates-concurrent", records=sorted([one.id, other.id]))
    case = fold("CP-TEST-0001", records[:-1] + [unknown])
    assert "referral" not in case.conflicts[0] and settled_by(case, "referral_update", {"referral": r1.id}) == []


def test_placements_and_referral_updates_apart_that_whoever_merges_cannot_read_are_named_all(laptops):
    """The supervisor gives amina's case to otieno, records a placement and updates the referral; amina,
    offline, does the same (the same placement, the same status). Her sync cannot read the supervisor's
    records (encrypted to the new readers), so cannot tell whether they clash: both conflicts name every
    record written apart, for the supervisor to check; the referral's names no referral, and a note settles it."""
    amina, sup, case_id, _ = _referred(laptops)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    placed = [sup("placement", case_id, *KINSHIP, "--json"), amina("placement", case_id, *KINSHIP, "--json")]
    updated = [sup("referral", case_id, "R1", "--status", "acknowledged", "--json"),
               amina("referral", case_id, "R1", "--status", "acknowledged", "--json")]
    assert all(done.code == 0 for done in placed + updated), [done.stderr for done in placed + updated]
    laptops.sync("sup")
    merged = laptops.sync("amina")
    assert sorted((c["code"], c["records"]) for c in merged["conflicts"] if c["case"] == case_id) == [
        ("placements-concurrent", sorted(done.json()["record_id"] for done in placed)),
        ("referral-updates-concurrent", sorted(done.json()["record_id"] for done in updated))]
    laptops.sync("sup")
    problems = {p["code"]: p["message"] for p in json.loads(sup("check", case_id, "--json").stdout)}
    assert "could not read every update" in problems["referral-updates-concurrent"]
    assert "placements-concurrent" in problems
    assert sup("note", case_id, "--text", "checked both: the same placement, the same status").code == 0
    assert not {"placements-concurrent", "referral-updates-concurrent"} & set(check_codes(sup, case_id))
