"""Where the child lives, recorded on two copies apart: the later placement in the records would
silently become where the child lives. The merge records `placements-concurrent` when the two
differ in where or with whom (the same placement recorded twice is none), and a later placement
or a note settles it. The same for one referral updated on two copies apart to different
statuses: `referral-updates-concurrent`."""
from __future__ import annotations

import json

from conftest import settling_said
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
    assert not [w for w in again.json()["warnings"] if "settles the sync conflict" in w], again.json()  # said once, above
    assert len(settling_said(again, "placements-concurrent")) == 1, again.json()
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
    assert len(settling_said(delivered, "referral-updates-concurrent")) == 1, delivered.json()
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


# -- a placement on one copy, an update of where the child lives on the other ----------------------------------
LATER = "2026-11-23T12:00:00+03:00"  # a clock after the merge (the tests' NOW is 09:00)
MOVED = ("--location", "Kondele", "--caregiver", "Mary Wanjiru", "--caregiver-relationship", "foster parent",
         "--reason", "moved to a foster parent")


def _messages(cli, case_id: str, code: str) -> list[str]:
    return [p["message"] for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == code]


def test_a_placement_on_one_copy_and_an_update_of_where_the_child_lives_on_the_other_are_a_conflict(laptops):
    """The office places the child with her grandmother; amina, offline, updates the registration: the child moved
    to a foster parent elsewhere. Merged, the placement (the later by its date) would say where the child lives,
    and nobody would be told: the merge names both, `check` says which stands and the way out, and
    where the child lives recorded after the merge, dated now (an update of it, or a placement), settles it."""
    amina, sup, case_id = _apart(laptops)
    office = laptops.cli("sup", CPCM_NOW="2026-11-23T11:00:00+03:00")("placement", case_id, *KINSHIP, "--json")
    assert office.code == 0, office.stderr
    field = amina("update", case_id, *MOVED, "--json")
    assert field.code == 0, field.stderr
    merged = merge_both(laptops)
    both = sorted([office.json()["record_id"], field.json()["record_id"]])
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [("placement-update-concurrent", both)]
    for cli in (sup, amina):
        messages = _messages(cli, case_id, "placement-update-concurrent")
        assert len(messages) == 1, cli("check", case_id).stdout
        message = messages[0]
        assert all(record_id in message for record_id in both) and "(caregiver.name, location)" in message
        assert f"({office.json()['record_id']}, kinship) stands" in message  # the placement, later by its date, stands
        assert f"cpcm placement {case_id}" in message and f"cpcm update {case_id}" in message
        for value in ("Grace", "Mary", "Kondele", "Nyakach", "foster parent"):  # ids and field names only
            assert value not in message
    later = laptops.cli("amina", CPCM_NOW=LATER)
    behind = later("update", case_id, "--location", "Kondele, Kisumu", "--reason", "the full address",
                   "--at", "2026-11-23T10:00:00+03:00", "--json")  # dated before the placement: where she lived then
    assert behind.code == 0, behind.stderr
    assert not any("settles" in step for step in behind.json()["next_steps"]), behind.stdout
    assert "placement-update-concurrent" in check_codes(amina, case_id)
    now = later("update", case_id, "--location", "Kondele Estate, Kisumu", "--reason", "checked: she lives there", "--json")
    assert now.code == 0, now.stderr
    assert "this settles the sync conflict (placement-update-concurrent)" in now.json()["next_steps"], now.stdout
    assert len(settling_said(now, "placement-update-concurrent")) == 1, now.json()
    assert "placement-update-concurrent" not in check_codes(later, case_id)
    assert later("show", case_id, "--json").json()["location"] == "Kondele Estate, Kisumu"


def test_an_update_that_agrees_with_the_placement_or_changes_other_fields_is_no_conflict_a_placement_settles_one(laptops):
    amina, sup, case_id = _apart(laptops)
    assert sup("placement", case_id, *KINSHIP).code == 0
    assert amina("update", case_id, "--location", " nyakach", "--caregiver", "GRACE  Achieng", "--contact", "0700 000000",
                 "--birth-certificate", "BC 123", "--reason", "moved to her grandmother").code == 0  # the same, other fields
    assert merge_both(laptops)["conflicts"] == []
    assert amina("update", case_id, "--caregiver", "Mary Wanjiru", "--reason", "moved").code == 0
    assert sup("placement", case_id, *KINSHIP[:-2], "--address", "Nyakach Centre").code == 0  # the same grandmother
    merged = merge_both(laptops)
    assert [c["code"] for c in merged["conflicts"]] == ["placement-update-concurrent"]
    assert "(caregiver.name)" in _messages(amina, case_id, "placement-update-concurrent")[0]  # the address: not updated apart
    again = laptops.cli("amina", CPCM_NOW=LATER)("placement", case_id, *KINSHIP, "--json")  # checked: with her grandmother
    assert again.code == 0, again.stderr
    assert "this settles the sync conflict (placement-update-concurrent)" in again.json()["next_steps"], again.stdout
    assert len(settling_said(again, "placement-update-concurrent")) == 1, again.json()
    assert "placement-update-concurrent" not in check_codes(amina, case_id)


def test_a_placement_and_an_update_apart_that_whoever_merges_cannot_read_are_named_all(laptops):
    """The supervisor gives amina's case to otieno and records a placement; amina, offline, updates the registration
    (the same place). Her sync cannot read the supervisor's placement: it names both, no field, for someone who reads
    them all to check; a note settles it."""
    amina, sup, case_id = _apart(laptops)
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    placed = sup("placement", case_id, *KINSHIP, "--json")
    updated = amina("update", case_id, "--location", "Nyakach", "--reason", "moved", "--json")
    assert placed.code == 0 and updated.code == 0, placed.stderr + updated.stderr
    laptops.sync("sup")
    merged = laptops.sync("amina")
    assert [(c["code"], c["records"]) for c in merged["conflicts"] if c["case"] == case_id] == [
        ("placement-update-concurrent", sorted([placed.json()["record_id"], updated.json()["record_id"]]))]
    laptops.sync("sup")
    message = _messages(sup, case_id, "placement-update-concurrent")[0]
    assert "could not read every one of them" in message and "differently (" not in message
    assert sup("note", case_id, "--text", "checked both: the same place").code == 0
    assert "placement-update-concurrent" not in check_codes(sup, case_id)


def test_a_placement_backdated_behind_the_one_that_stands_does_not_settle_placements_concurrent(laptops):
    """After the merge, a placement dated before the two written apart (a move not recorded then, say) tells where
    the child lived then: the one that stands still stands, unchecked. Only a placement dated as the latest settles."""
    amina, sup, case_id = _apart(laptops)
    eleven = "2026-11-23T11:00:00+03:00"
    office = laptops.cli("sup", CPCM_NOW=eleven)("placement", case_id, *KINSHIP, "--json")
    field = laptops.cli("amina", CPCM_NOW=eleven)("placement", case_id, *FOSTER, "--json")
    assert office.code == 0 and field.code == 0, office.stderr + field.stderr
    assert [c["code"] for c in merge_both(laptops)["conflicts"]] == ["placements-concurrent"]
    later = laptops.cli("amina", CPCM_NOW=LATER)
    behind = later("placement", case_id, *KINSHIP, "--at", "2026-11-23T10:00:00+03:00", "--json")
    assert behind.code == 0, behind.stderr
    assert not any("settles" in step for step in behind.json()["next_steps"]), behind.stdout
    assert "placements-concurrent" in check_codes(later, case_id)
    now = later("placement", case_id, *FOSTER, "--json")  # checked: with the foster parent, since 11:00 (no new decision)
    assert now.code == 0, now.stderr
    assert "this settles the sync conflict (placements-concurrent)" in now.json()["next_steps"], now.stdout
    assert len(settling_said(now, "placements-concurrent")) == 1, now.json()
    assert "placements-concurrent" not in check_codes(later, case_id)


def _written(kind: str, when, after, **body):
    """A record dated `when` and written at `after` (its ID: later in the records' order than its date says)."""
    from dataclasses import replace

    from test_placements import rec

    return replace(rec(kind, when, **body), id=rec(kind, after).id)


def test_fold__only_where_the_child_lives_now_recorded_after_the_merge_settles_the_placement_conflicts():
    from test_placements import at, rec

    from cpcm.domain.records import utc as utc_text
    from cpcm.workflow.fold import fold, settled_by
    from cpcm.workflow.placements import lives_now

    def utc(when):
        return utc_text(when.isoformat())

    placed = rec("placement", at(1), care_type="kinship", setting="family_based", address="A", caregiver={"name": "G"})
    moved = rec("update", at(1.5), changes={"location": "B", "caregiver.name": "M"})
    conflict = rec("sync_conflict", at(2), code="placement-update-concurrent", records=sorted([placed.id, moved.id]),
                   fields=["caregiver.name", "location"])
    records = [rec("registration", at(0), location="R"), placed, moved, conflict]
    case = fold("CP-TEST-0001", records)
    assert [(c["fields"], c["settled_by"]) for c in case.conflicts] == [(["caregiver.name", "location"], None)]
    assert lives_now(case)["location"] == "B"  # the update, later by its date, stands
    assert settled_by(case, "update", {"changes": {"location": "C"}}, utc(at(3))) == ["placement-update-concurrent"]
    assert settled_by(case, "update", {"changes": {"child.birth_certificate": "X"}}, utc(at(3))) == []
    assert settled_by(case, "update", {"changes": {"location": "C"}}, utc(at(0.5))) == []  # dated before the placement
    assert settled_by(case, "placement", {"care_type": "kinship"}, utc(at(1.2))) == []  # behind the update that stands
    assert settled_by(case, "placement", {"care_type": "kinship"}, utc(at(3))) == ["placement-update-concurrent"]
    behind = _written("placement", at(1.2), at(3), care_type="kinship", setting="family_based", address="A")
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [behind]).conflicts] == [None]
    now = _written("update", at(2.5), at(3), changes={"caregiver.name": "M2"})
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [behind, now]).conflicts] == [now.id]
    # two placements apart: a placement recorded after the merge settles them only dated as the latest placement
    other = rec("placement", at(1.2), care_type="foster_care", setting="family_based", caregiver={"name": "F"})
    two = rec("sync_conflict", at(2), code="placements-concurrent", records=sorted([placed.id, other.id]))
    records = [rec("registration", at(0)), placed, other, two]
    early = _written("placement", at(0.5), at(3), care_type="kinship", setting="family_based")
    assert settled_by(fold("CP-TEST-0001", records), "placement", {"care_type": "kinship"}, utc(at(0.5))) == []
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [early]).conflicts] == [None]
    latest = _written("placement", at(1.2), at(3.5), care_type="foster_care", setting="family_based")  # the same date: latest by its ID
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [early, latest]).conflicts] == [latest.id]
    update = rec("update", at(3), changes={"location": "C"})  # an update says no care type: it settles no two placements
    assert [c["settled_by"] for c in fold("CP-TEST-0001", records + [update]).conflicts] == [None]


def test_whereabouts__what_a_sync_compares_of_an_update_and_a_placement():
    from cpcm.workflow.placements import disagrees, whereabouts_changed

    changed = whereabouts_changed({"location": " kondele ", "caregiver.name": "Mary", "contact": "07", "lives_with": "relatives"})
    assert changed == {"location": " kondele ", "caregiver.name": "Mary"}
    assert whereabouts_changed({"caregiver": {"name": "Mary", "relationship": "aunt"}}) == {"caregiver.name": "Mary"}
    assert disagrees({"address": "Kondele", "caregiver": {"name": "mary"}}, changed) == []
    assert disagrees({"address": "Nyakach", "caregiver": {"name": "mary"}}, changed) == ["location"]
    assert disagrees({"care_type": "kinship"}, changed) == []  # the placement says neither: the registration's stands
    residential = {"setting": "residential", "institution": "Tumaini", "caregiver": {"name": "Mary"}}
    assert disagrees(residential, {"location": "tumaini"}) == [] and disagrees(residential, {"location": None}) == ["location"]
