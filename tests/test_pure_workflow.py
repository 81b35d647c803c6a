"""Pure tests of the workflow rules at their edges: consent, referrals, duplicates, what is
still open on a case, who may approve, and the checks of `cpcm check` (caseloads, the plan,
the age limit). Each assertion pins a behaviour a mutant would change (docs/testing.md)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.domain.profiles import build
from cpcm.domain.records import Record
from cpcm.domain.team import Team, Worker
from cpcm.errors import FieldError, Refused
from cpcm.store import policies
from cpcm.workflow import approvals, consent, duplicates, open_items, referrals, rules

EAT = timezone(timedelta(hours=3))
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=EAT)
SHIPPED, _errors = build(policies.chain("inter-agency"), None, ".cpcm/policy.yaml")


def policy(**rules_) -> Policy:
    return Policy("test", "Test", rules_)


def rec(kind, id_, **body) -> Record:
    return Record(kind, 1, id_, "CP-0000-0000", "2026-11-01T09:00:00+03:00", "2026-11-01T06:00:00+00:00", "amina", body)


# --- consent -------------------------------------------------------------------------------

BOTH = policy(consent={"required_from": ["child", "caregiver"]})


def given(id_, by, purpose="referral", agency="health-1", **extra):
    return rec("consent", id_, purpose=purpose, agency=agency, given_by=by, status="given", **extra)


def test_consent__both_givers_needed_and_their_ids_used():
    records = [given("01A", "child"), given("01B", "caregiver")]
    result = consent.check(records, "referral", "health-1", BOTH, NOW)
    assert result == consent.ConsentCheck(True, (), ("01A", "01B"))
    assert result.override is None and result.why_not() == ""


def test_consent__nothing_recorded_names_each_giver_purpose_and_agency():
    result = consent.check([], "referral", "health-1", BOTH, NOW)
    assert not result.ok
    assert result.reasons == ("no child consent for referral for health-1 is recorded",
                              "no caregiver consent for referral for health-1 is recorded")
    assert result.why_not() == ("no child consent for referral for health-1 is recorded; "
                                "no caregiver consent for referral for health-1 is recorded")
    assert result.uses == ()


def test_consent__a_purpose_without_agency_names_none():
    records = [given("01A", "child", purpose="photo", agency=None)]
    result = consent.check(records, "photo", None, BOTH, NOW)
    assert result.reasons == ("no caregiver consent for photo is recorded",)
    # for a purpose without an agency, the agency written on the consent does not matter
    other = [given("01A", "child", purpose="photo", agency="x"), given("01B", "caregiver", purpose="photo", agency="y")]
    assert consent.check(other, "photo", None, BOTH, NOW).ok


@pytest.mark.parametrize("purpose", consent.AGENCY_PURPOSES)
def test_consent__agency_purposes_need_the_same_agency(purpose):
    records = [given("01A", "child", purpose), given("01B", "caregiver", purpose)]
    assert consent.check(records, purpose, "health-1", BOTH, NOW).ok
    assert not consent.check(records, purpose, "school-2", BOTH, NOW).ok


def test_consent__another_purpose_does_not_count():
    records = [given("01A", "child", "sharing"), given("01B", "caregiver", "sharing")]
    assert not consent.check(records, "referral", "health-1", BOTH, NOW).ok


def test_consent__the_latest_answer_of_each_giver_counts():
    records = [given("01C", "child"), rec("consent", "01A", purpose="referral", agency="health-1", given_by="child", status="refused"),
               given("01B", "caregiver")]
    assert consent.check(records, "referral", "health-1", BOTH, NOW).uses == ("01C", "01B")  # in the policy's order of givers
    withdrawn = records + [rec("consent", "01D", purpose="referral", agency="health-1", given_by="child", status="withdrawn")]
    result = consent.check(withdrawn, "referral", "health-1", BOTH, NOW)
    assert result.reasons == ("the child's consent for referral for health-1 is 'withdrawn'",)


def test_consent__expiry_day_itself_still_counts():
    today = [given("01A", "child", until="2026-11-23"), given("01B", "caregiver", until="2026-11-23T00:00:00+03:00")]
    assert consent.check(today, "referral", "health-1", BOTH, NOW).ok
    yesterday = [given("01A", "child", until="2026-11-22"), given("01B", "caregiver")]
    result = consent.check(yesterday, "referral", "health-1", BOTH, NOW)
    assert result.reasons == ("the child's consent for referral for health-1 expired on 2026-11-22",)
    assert consent.check(yesterday, "referral", "health-1", BOTH, datetime(2026, 11, 22, 23, 59, tzinfo=EAT)).ok


def test_consent__one_off_is_used_once():
    records = [given("01A", "child", one_off=True), given("01B", "caregiver")]
    assert consent.check(records, "referral", "health-1", BOTH, NOW).ok
    used = records + [rec("referral", "01C", consent_ids=["01A", "01B"])]
    result = consent.check(used, "referral", "health-1", BOTH, NOW)
    assert result.reasons == ("the child's one-off consent for referral for health-1 was already used",)
    # a consent that is not one-off can be relied on again
    assert consent.check([given("01A", "child"), given("01B", "caregiver"), rec("referral", "01C", consent_ids=["01A", "01B"])],
                         "referral", "health-1", BOTH, NOW).ok


def test_consent__a_one_off_consent_corrected_after_its_use_stays_used():
    """A correction is the same consent written again (a date mended, say): what its first
    version was used for, the corrected one was too, through any number of corrections."""
    records = [given("01A", "child", one_off=True), given("01B", "caregiver"), rec("referral", "01C", consent_ids=["01A", "01B"]),
               given("01D", "child", one_off=True, until="2027-06-30", supersedes="01A")]
    result = consent.check(records, "referral", "health-1", BOTH, NOW)
    assert result.reasons == ("the child's one-off consent for referral for health-1 was already used",)
    again = records + [given("01E", "child", one_off=True, until="2027-07-31", supersedes="01D")]
    assert not consent.check(again, "referral", "health-1", BOTH, NOW).ok
    # a correction of a one-off consent not yet used leaves it to be used once
    fresh = [given("01A", "child", one_off=True), given("01B", "caregiver"), given("01D", "child", one_off=True, supersedes="01A")]
    assert consent.check(fresh, "referral", "health-1", BOTH, NOW).uses == ("01D", "01B")


def test_consent__a_consent_a_correction_replaced_counts_no_more():
    records = [given("01A", "child"), given("01B", "caregiver")]
    moved = records + [given("01C", "caregiver", agency="health-2", supersedes="01B")]  # it was for another agency
    result = consent.check(moved, "referral", "health-1", BOTH, NOW)
    assert result.reasons == ("no caregiver consent for referral for health-1 is recorded",)
    assert consent.check(moved, "referral", "health-2", policy(consent={"required_from": ["caregiver"]}), NOW).uses == ("01C",)
    by_child = records + [given("01C", "child", supersedes="01B")]  # it was the child's answer, typed as the caregiver's
    assert consent.check(by_child, "referral", "health-1", BOTH, NOW).reasons == (
        "no caregiver consent for referral for health-1 is recorded",)


def test_consent__used_ids():
    assert consent.used_ids([rec("referral", "01A", consent_ids=["x", "y"]), rec("note", "01B"),
                             rec("transfer", "01C", consent_ids=None), rec("export", "01D", consent_ids=["z"])]) == {"x", "y", "z"}


def test_consent__an_override_stands_in_once_the_latest_first():
    overrides = [rec("consent_override", "01B", purpose="referral", agency="health-1", basis="legal_mandate"),
                 rec("consent_override", "01C", purpose="referral", agency="health-1", basis="best_interests"),
                 rec("consent_override", "01D", purpose="referral", agency="other"),
                 rec("consent_override", "01E", purpose="sharing", agency="health-1")]
    result = consent.check(overrides, "referral", "health-1", BOTH, NOW)
    assert result.ok and result.override == "01C" and result.uses == ("01C",)
    assert result.reasons == ("no child consent for referral for health-1 is recorded",
                              "no caregiver consent for referral for health-1 is recorded")
    after_use = overrides + [rec("referral", "01F", consent_ids=["01C"])]
    assert consent.check(after_use, "referral", "health-1", BOTH, NOW).override == "01B"
    all_used = after_use + [rec("referral", "01G", consent_ids=["01B"])]
    assert not consent.check(all_used, "referral", "health-1", BOTH, NOW).ok


def test_consent__an_expired_override_does_not_stand_in():
    expired = [rec("consent_override", "01B", purpose="referral", agency="health-1", until="2026-11-22")]
    assert not consent.check(expired, "referral", "health-1", BOTH, NOW).ok
    today = [rec("consent_override", "01B", purpose="referral", agency="health-1", until="2026-11-23")]
    assert consent.check(today, "referral", "health-1", BOTH, NOW).ok


def test_consent__nothing_given_before_the_case_came_in_carries_over():
    before = [given("01A", "child"), given("01B", "caregiver"),
              rec("consent_override", "01C", purpose="referral", agency="health-1")]
    assert consent.check(before, "referral", "health-1", BOTH, NOW).ok
    moved = before + [rec("transfer_in", "01D")]
    result = consent.check(moved, "referral", "health-1", BOTH, NOW)
    assert not result.ok and len(result.reasons) == 2
    after = moved + [given("01E", "child"), given("01F", "caregiver")]
    assert consent.check(after, "referral", "health-1", BOTH, NOW).uses == ("01E", "01F")
    # records of other kinds made before the transfer still count (a referral that used an override)
    reused = [rec("consent_override", "01E", purpose="referral", agency="health-1"), rec("transfer_in", "01D"),
              rec("referral", "01A", consent_ids=["01E"])]
    assert not consent.check(reused, "referral", "health-1", BOTH, NOW).ok


def test_consent__a_policy_that_requires_no_giver():
    assert consent.check([], "referral", "x", policy(consent={"required_from": []}), NOW) == consent.ConsentCheck(True)
    assert consent.check([], "referral", "x", policy(), NOW).ok


# --- referrals -----------------------------------------------------------------------------

@pytest.mark.parametrize("current, wanted", [(c, w) for c, nexts in referrals.LIFECYCLE.items() for w in nexts])
def test_referral_next_status__allowed(current, wanted):
    assert referrals.next_status(current, wanted, "R1") == wanted


def test_referral_next_status__not_a_status():
    with pytest.raises(Refused) as error:
        referrals.next_status("sent", "lost", "R1")
    assert error.value.message == "referral R1: --status is not a referral status"
    assert error.value.hint == "Statuses: acknowledged, accepted, declined, delivered, not_delivered, closed."
    assert error.value.rule == "referral-status"


def test_referral_next_status__out_of_order():
    with pytest.raises(Refused) as error:
        referrals.next_status("sent", "delivered", "R2")
    assert error.value.message == "referral R2 is 'sent': it cannot become 'delivered'"
    assert error.value.hint == "From 'sent' it can become: acknowledged, accepted, declined, closed."
    assert error.value.rule == "referral-lifecycle"
    with pytest.raises(Refused) as closed:
        referrals.next_status("closed", "sent", "R3")
    assert closed.value.hint == "From 'closed' it can become: nothing (it is closed)."
    with pytest.raises(Refused) as unknown:
        referrals.next_status("odd", "sent", "R3")
    assert unknown.value.hint == "From 'odd' it can become: nothing (it is closed)."


def test_referral_lifecycle__no_way_back():
    assert referrals.LIFECYCLE["accepted"] == ("delivered", "not_delivered", "closed")
    for status in ("declined", "delivered", "not_delivered"):
        assert referrals.LIFECYCLE[status] == ("closed",)


def test_referral_update_problems__acceptance_needs_start_and_duration():
    assert referrals.update_problems("accepted", {"start": "2026-12-01", "expected_duration": "3mo"}) == []
    assert referrals.update_problems("accepted", {}) == [
        FieldError("start", "is required when a referral is accepted (the date the service starts)"),
        FieldError("expected_duration", "is required when a referral is accepted (e.g. 3mo)"),
    ]
    assert referrals.update_problems("accepted", {"start": "", "expected_duration": "3mo"})[0].field == "start"


@pytest.mark.parametrize("status, words", [("declined", "declined"), ("not_delivered", "not delivered"), ("delivered", "delivered")])
def test_referral_update_problems__an_outcome_needs_feedback(status, words):
    assert referrals.update_problems(status, {}) == [
        FieldError("feedback", f"is required: what the provider said when the referral was {words}")]
    assert referrals.update_problems(status, {"feedback": "ok"}) == []


@pytest.mark.parametrize("status", ["acknowledged", "closed", "sent"])
def test_referral_update_problems__other_statuses_need_nothing(status):
    assert referrals.update_problems(status, {}) == []


def test_fields_to_share__by_sector_default_and_never():
    rule = {"sharing": {"default": ["identity", "need"], "by_sector": {"health": ["identity", "medical", "contact"]},
                        "never": ["contact"]}}
    assert referrals.fields_to_share(policy(**rule), "health") == ["identity", "medical"]
    assert referrals.fields_to_share(policy(**rule), "school") == ["identity", "need"]
    assert referrals.fields_to_share(policy(sharing={"by_sector": {"health": []}, "default": ["need"]}), "health") == ["need"]
    assert referrals.fields_to_share(policy(), "health") == []


def test_shared_view__exactly_the_groups_allowed():
    case = Case("CP-0000-0000", child={"name": "Asha", "sex": "f", "date_of_birth": "2016-11-24", "disability": "none"},
                location="Kibera", caregiver_name="Mama", contact="0700", concerns=("neglect", "out_of_school", "child_labour"))
    today = date(2026, 11, 23)
    everything = referrals.shared_view(["identity", "contact", "need", "urgency", "medical", "schooling"], case, "food", True, today)
    assert everything == {
        "identity": {"name": "Asha", "sex": "f", "age": 9},
        "contact": {"location": "Kibera", "caregiver": "Mama", "contact": "0700"},
        "need": "food", "urgency": "urgent", "medical": {"disability": "none"},
        "schooling": {"concerns": ["out_of_school", "child_labour"]},
    }
    assert referrals.shared_view(["urgency"], case, "food", False, today) == {"urgency": "routine"}
    assert referrals.shared_view([], case, "food", True, today) == {}


# --- duplicates ----------------------------------------------------------------------------

def test_normalise_name__accents_case_order_and_punctuation():
    assert duplicates.normalise_name("Amína  O'Tieno") == "amina otieno"
    assert duplicates.normalise_name("Otieno, Amina") == "amina otieno"
    assert duplicates.normalise_name(None) == "" and duplicates.normalise_name("") == ""


def test_normalise_name__an_apostrophe_is_part_of_its_word():
    """Ng'ang'a was cut into three words at its apostrophes and they were sorted apart, so
    "Wanjiru Ng'ang'a" and the same child written "Wanjiru Nganga" (same birth year) were not
    flagged as a probable duplicate, at registration nor between the rows of an import."""
    assert duplicates.normalise_name("Wanjiru Ng'ang'a") == "nganga wanjiru" == duplicates.normalise_name("Wanjiru Nganga")
    for written in ("Ng\u2019endo Wambui", "Ng\u02bcendo Wambui", "Ng`endo Wambui", "Ng\u00b4endo Wambui", "Ng'endo Wambui"):
        assert duplicates.normalise_name(written) == "ngendo wambui", written
    assert duplicates.normalise_name("Otieno Ochieng'") == "ochieng otieno"
    new = duplicates.Key(duplicates.normalise_name("Wanjiru Ng'ang'a"), "", 2014)
    known = [("CP-1", duplicates.Key(duplicates.normalise_name("Wanjiru Ng\u2019ang\u2019a"), "", 2014)),
             ("CP-2", duplicates.Key(duplicates.normalise_name("Nganga Wanjiru"), "", 2014)),
             ("CP-3", duplicates.Key(duplicates.normalise_name("Wanjiru Ngaanga"), "", 2014))]
    assert [c for c, _ in duplicates.matches(new, known)] == ["CP-1", "CP-2", "CP-3"]
    assert duplicates.matches_among([new], known) == [(duplicates.matches(new, known), [])]


def test_similar__threshold_edges():
    assert duplicates.similar("abc", "abc")
    assert not duplicates.similar("", "") and not duplicates.similar("a", "") and not duplicates.similar("", "a")
    # ratio 2·17/35 ≈ 0.971 and 2·6/12 = 0.5
    assert duplicates.similar("amina otieno wanj", "amina otieno wanji")
    assert not duplicates.similar("abcdef", "abcxyz")
    assert duplicates.similar("abcdef", "abcxyz", threshold=0.5)
    assert not duplicates.similar("abcdef", "abcxyz", threshold=0.51)


def test_similar__exactly_at_the_default_threshold():
    a, b = "a" * 17 + "bbb", "a" * 17 + "ccc"  # ratio 34/40 = 0.85
    assert duplicates.similar(a, b)
    assert not duplicates.similar("a" * 16 + "bbbb", "a" * 16 + "cccc")  # 32/40 = 0.8


def child(id_, name, dob=None, caregiver=None, **extra):
    data = {"name": name, **({"date_of_birth": dob} if dob else {}), **extra}
    return Case(id_, child=data, caregiver_name=caregiver, registered_at="2026-11-23T09:00:00+03:00")


def test_probable_duplicates__same_year_and_similar_name():
    new = child("CP-NEW", "Amina Otieno", "2016-03-01", "Mama A")
    cases = [child("CP-1", "Otieno Amina", "2016-12-31"), child("CP-2", "Amina Otieno", "2015-12-31"),
             child("CP-3", "Amina Otyeno", "2016-01-01"), child("CP-NEW", "Amina Otieno", "2016-03-01"),
             child("CP-4", "", "2016-03-01"), child("CP-5", "Brian Kip", "2016-03-01")]
    assert duplicates.probable_duplicates(new, cases) == [
        ("CP-1", "same or similar name and the same birth year"),
        ("CP-3", "same or similar name and the same birth year"),
    ]


def test_probable_duplicates__same_name_and_caregiver_when_the_years_differ_or_are_unknown():
    new = child("CP-NEW", "Amina Otieno", None, "Mama Asha")
    cases = [child("CP-1", "amina otieno", "2010-01-01", "MAMA ASHA"), child("CP-2", "Amina Otieno", None, "Baba"),
             child("CP-3", "Amina Otyeno", None, "Mama Asha"), child("CP-4", "Amina Otieno", None, None)]
    assert duplicates.probable_duplicates(new, cases) == [("CP-1", "same name and the same caregiver")]
    nobody = child("CP-NEW", "Amina Otieno", None, None)
    assert duplicates.probable_duplicates(nobody, cases) == []


def test_probable_duplicates__same_year_different_name_is_not_checked_by_caregiver():
    new = child("CP-NEW", "Amina Otieno", "2016-01-01", "Mama")
    assert duplicates.probable_duplicates(new, [child("CP-1", "Brian Kip", "2016-05-05", "Mama")]) == []


def test_probable_duplicates__a_middle_or_family_name_left_out_the_same_birth_year():
    """The commonest way one child is registered twice: with and without a middle or family name.
    difflib calls the names far apart (0.83 under 0.85); one holds every word of the other."""
    assert not duplicates.similar(duplicates.normalise_name("Kevin Otieno Ouma"), duplicates.normalise_name("Kevin Otieno"))
    new = child("CP-NEW", "Kevin Otieno", "2015-03-01")
    cases = [child("CP-1", "Kevin Otieno Ouma", "2015-11-11"), child("CP-2", "Ouma Kevin Otieno Achieng", "2015-01-01"),
             child("CP-3", "Kevin Otieno Ouma", "2014-11-11"), child("CP-4", "Kevin Ouma", "2015-11-11"),
             child("CP-5", "Otieno Kevin", "2015-06-06")]
    assert duplicates.probable_duplicates(new, cases) == [("CP-1", duplicates.SAME_YEAR), ("CP-2", duplicates.SAME_YEAR),
                                                          ("CP-5", duplicates.SAME_YEAR)]
    assert duplicates.probable_duplicates(cases[0], [new]) == [("CP-NEW", duplicates.SAME_YEAR)]  # either way round


def test_probable_duplicates__one_word_shared_or_a_one_word_name_is_not_enough():
    mary = child("CP-NEW", "Mary Achieng", "2015-03-01", "Mama Asha")
    assert duplicates.probable_duplicates(mary, [child("CP-1", "Mary Wanjiru", "2015-03-01", "Mama Asha")]) == []
    kevin = child("CP-NEW", "Kevin", "2015-03-01", "Mama Asha")  # every Kevin of the year would be one
    assert duplicates.probable_duplicates(kevin, [child("CP-1", "Kevin Otieno", "2015-03-01", "Mama Asha"),
                                                  child("CP-2", "Kevin Ouma", None, "Mama Asha")]) == []
    twice = child("CP-NEW", "Kevin Kevin", "2015-03-01")  # a word held once is not held twice
    assert duplicates.probable_duplicates(twice, [child("CP-1", "Kevin Otieno", "2015-03-01")]) == []
    assert duplicates.probable_duplicates(twice, [child("CP-1", "Kevin Otieno Kevin", "2015-03-01")]) == [
        ("CP-1", duplicates.SAME_YEAR)]


def test_probable_duplicates__a_name_left_out_and_the_same_caregiver_when_the_years_differ_or_are_unknown():
    new = child("CP-NEW", "Kevin Otieno", "2016-03-01", "Grace Achieng")
    cases = [child("CP-1", "Kevin Otieno Ouma", "2014-01-01", "GRACE ACHIENG"), child("CP-2", "Kevin Otieno Ouma", None, "Baba"),
             child("CP-3", "Kevin Otieno Ouma", None, "Grace Achieng"), child("CP-4", "Kevin Otieno", None, "Grace Achieng"),
             child("CP-5", "Kevin Ouma", None, "Grace Achieng"), child("CP-6", "Kevin Otieno Ouma", "2014-01-01", None)]
    assert duplicates.probable_duplicates(new, cases) == [
        ("CP-1", "one name holds all the other's words and the same caregiver"),
        ("CP-3", duplicates.WORDS_CAREGIVER), ("CP-4", duplicates.SAME_CAREGIVER)]
    key, known = duplicates.key_of(new), [(c.id, duplicates.key_of(c)) for c in cases]
    assert duplicates.matches_among([key], known) == [(duplicates.matches(key, known), [])]
    assert duplicates.matches_among([k for _, k in known] + [key], [])[-1] == ([], [0, 2, 3])


def test_probable_duplicates__no_name_no_search():
    assert duplicates.probable_duplicates(child("CP-NEW", ""), [child("CP-1", "", None)]) == []
    assert duplicates.probable_duplicates(Case("CP-NEW"), [child("CP-1", "A")]) == []


def test_probable_duplicates__an_estimated_age_gives_the_year():
    new = Case("CP-NEW", child={"name": "Amina", "age_estimate": 10}, registered_at="2026-11-23")
    assert duplicates.probable_duplicates(new, [child("CP-1", "Amina", "2016-07-07")]) == [
        ("CP-1", "same or similar name and the same birth year")]


# --- open items ----------------------------------------------------------------------------

def test_referral_open_and_item_open():
    assert not open_items.referral_open("closed") and not open_items.referral_open("delivered")
    assert open_items.referral_open("declined") and open_items.referral_open("sent")
    assert not open_items.item_open("done") and not open_items.item_open(" dropped ")
    assert open_items.item_open(None) and open_items.item_open("in_progress") and open_items.item_open("Done")


def test_latest_plan():
    assert open_items.latest_plan([rec("plan", "01B"), rec("plan", "01C"), rec("review", "01D"), rec("plan", "01A")]).id == "01C"
    assert open_items.latest_plan([rec("review", "01D")]) is None
    # a correction of version 1 written after version 2 stands where version 1 was: version 2 is still the latest
    corrected = rec("plan", "01E", supersedes="01A")
    assert open_items.latest_plan([rec("plan", "01A"), rec("plan", "01C"), corrected]).id == "01C"
    assert open_items.latest_plan([rec("plan", "01A"), corrected]).id == "01E"


def test_progress__latest_entry_of_each_item_after_the_plan_and_before():
    plan = rec("plan", "01B")
    records = [rec("review", "01A", progress=[{"item": "A1", "status": "done"}]), plan,
               rec("review", "01D", progress=[{"item": " a1 ", "status": "done"}, {"item": "", "status": "x"}, {"status": "y"}]),
               rec("review", "01C", progress=[{"item": "A1", "status": "started"}, {"item": "G1", "status": "on_track"}]),
               rec("review", "01E", progress=None), rec("note", "01F")]
    status, last = open_items.progress(records, plan)
    assert {k: (r.id, e["status"]) for k, (r, e) in status.items()} == {"A1": ("01D", "done"), "G1": ("01C", "on_track")}
    assert last.id == "01E"
    before, last_before = open_items.progress(records, plan, before="01D")
    assert {k: r.id for k, (r, e) in before.items()} == {"A1": "01D", "G1": "01C"}
    assert last_before.id == "01D"
    early, last_early = open_items.progress(records, plan, before="01C")
    assert {k: e["status"] for k, (r, e) in early.items()} == {"A1": "started", "G1": "on_track"}
    assert last_early.id == "01C"
    assert open_items.progress(records, None) == ({}, None)
    assert open_items.progress([plan], plan) == ({}, None)


def test_unfinished__referrals_and_actions():
    case = Case("CP-0000-0000", referrals=({"ref": "R1", "status": "sent"}, {"ref": "R2", "status": "closed"},
                                           {"ref": "R3", "status": "delivered"}, {"ref": "R4", "status": "declined"}))
    records = [rec("plan", "01A", actions=[{"what": "a"}, {"what": "b"}, {"what": "c"}]),
               rec("review", "01B", progress=[{"item": "A1", "status": "done"}, {"item": "A2", "status": "started"},
                                              {"item": "A3", "status": "dropped"}])]
    assert open_items.unfinished(case, records) == {"referrals": ["R1", "R4"], "actions": ["A2"]}
    assert open_items.unfinished(Case("CP-0000-0000"), records[:1]) == {"referrals": [], "actions": ["A1", "A2", "A3"]}
    assert open_items.unfinished(Case("CP-0000-0000"), []) == {"referrals": [], "actions": []}
    assert open_items.unfinished(Case("CP-0000-0000"), [rec("plan", "01A")]) == {"referrals": [], "actions": []}


# --- approvals -----------------------------------------------------------------------------

SUP = Worker("sup", "S", ("supervisor",), "age1s")
SUP2 = Worker("sup2", "S2", ("supervisor",), "age1s2")
MGR = Worker("mgr", "M", ("manager",), "age1m")
AMINA = Worker("amina", "A", ("caseworker",), "age1a")
GONE = Worker("gone", "G", ("supervisor",), "age1g", removed="2026-06-01")


def test_rule_of_and_the_policy_defaults():
    assert [approvals.rule_of(s) for s in approvals.SUBJECTS] == ["plan_approval", "closure_approval", "transfer_approval",
                                                                  "mandatory_report_approval"]
    with pytest.raises(ValueError) as error:
        approvals.rule_of("note")
    assert str(error.value) == "that is not approved: one of plan, closure, transfer, mandatory_report"
    assert approvals.required(policy(), "plan") is True
    assert approvals.required(policy(plan_approval={"required": False}), "plan") is False
    assert approvals.self_allowed(policy(), "closure") is False
    assert approvals.self_allowed(policy(closure_approval={"self_approval": True}), "closure") is True


def test_oversees():
    assert approvals.oversees(SUP) and approvals.oversees(MGR)
    assert not approvals.oversees(AMINA) and not approvals.oversees(None)


def test_pending__plan():
    plan = {"version": 1, "by": "amina"}
    assert approvals.pending(Case("C", plan=plan), "plan") is plan
    assert approvals.pending(Case("C", plan={**plan, "approved_at": "x"}), "plan") is None
    assert approvals.pending(Case("C", plan={**plan, "rejected_at": "x"}), "plan") is None
    assert approvals.pending(Case("C"), "plan") is None
    assert approvals.pending(Case("C", plan={}), "plan") is None


def test_pending__a_plan_waits_by_the_rule_the_fold_reads(monkeypatch):
    """One rule says whether a plan version waits for a decision: `approvals.waiting_version`, which
    `pending` reads, as the fold does (a decision or a withdrawal of the waiting version)."""
    from cpcm.workflow import plan_actions

    plan = {"version": 1, "by": "amina"}
    versions = [plan, {**plan, "approved_at": "x"}, {**plan, "rejected_at": "x"}, {**plan, "withdrawn_at": "x"}, {}, None]
    assert [approvals.waiting_version(v) for v in versions] == [True, False, False, False, False, False]
    for version in versions:
        assert (approvals.pending(Case("C", plan=version), "plan") is not None) == approvals.waiting_version(version)
    monkeypatch.setattr(approvals, "waiting_version", lambda version: bool(version))  # pending follows the rule
    assert approvals.pending(Case("C", plan=versions[1]), "plan") is versions[1]
    assert not hasattr(plan_actions, "waiting_version")  # not written again where the fold's plan summary is kept


def test_pending__closure():
    closure = {"by": "amina"}
    assert approvals.pending(Case("C", stage="closure_requested", closure=closure), "closure") is closure
    assert approvals.pending(Case("C", stage="follow_up", closure=closure), "closure") is None
    assert approvals.pending(Case("C", stage="closure_requested", closure={**closure, "decided_at": "x"}), "closure") is None
    assert approvals.pending(Case("C", stage="closure_requested"), "closure") is None


def test_pending__transfer():
    request = {"by": "amina"}
    assert approvals.pending(Case("C", transfer_request=request), "transfer") is request
    assert approvals.pending(Case("C", transfer_request=request, status="closed"), "transfer") is None
    assert approvals.pending(Case("C", transfer_request={**request, "decided_at": "x"}), "transfer") is None
    assert approvals.pending(Case("C"), "transfer") is None
    with pytest.raises(ValueError) as error:
        approvals.pending(Case("C"), "note")
    assert str(error.value) == "that is not approved: one of plan, closure, transfer, mandatory_report"


def test_barred__the_requester_and_for_a_closure_the_caseworker():
    closing = Case("C", stage="closure_requested", closure={"by": "sup"}, worker="sup2")
    assert approvals.barred(policy(), "closure", closing) == frozenset({"sup", "sup2"})
    assert approvals.barred(policy(closure_approval={"self_approval": True}), "closure", closing) == frozenset()
    planned = Case("C", plan={"by": "sup"}, worker="sup2")
    assert approvals.barred(policy(), "plan", planned) == frozenset({"sup"})
    assert approvals.barred(policy(), "plan", Case("C", plan={"by": None}, worker="x")) == frozenset()
    assert approvals.barred(policy(), "plan", Case("C", worker="x")) == frozenset()
    assert approvals.barred(policy(), "closure", Case("C", stage="closure_requested", closure={"by": "a"})) == frozenset({"a"})


def test_may_approve__each_verdict():
    planned = Case("C", plan={"by": "sup"}, worker="amina")
    assert approvals.may_approve(policy(), "plan", AMINA, planned) == approvals.Verdict(False, "approval-needs-supervisor")
    assert approvals.may_approve(policy(), "plan", None, planned) == approvals.Verdict(False, "approval-needs-supervisor")
    assert approvals.may_approve(policy(), "plan", GONE, planned) == approvals.Verdict(False, "approval-needs-supervisor")
    assert approvals.may_approve(policy(), "plan", SUP, Case("C")) == approvals.Verdict(False, "nothing-to-approve")
    assert approvals.may_approve(policy(), "plan", SUP, planned) == approvals.Verdict(False, "self-approval", "request")
    assert approvals.may_approve(policy(), "plan", MGR, planned) == approvals.Verdict(True)
    assert approvals.may_approve(policy(plan_approval={"self_approval": True}), "plan", SUP, planned).allowed
    closing = Case("C", stage="closure_requested", closure={"by": "amina"}, worker="sup")
    assert approvals.may_approve(policy(), "closure", SUP, closing) == approvals.Verdict(False, "self-approval", "case")
    own_request = Case("C", stage="closure_requested", closure={"by": "sup"}, worker="amina")
    assert approvals.may_approve(policy(), "closure", SUP, own_request) == approvals.Verdict(False, "self-approval", "request")
    assert bool(approvals.Verdict(True)) and not bool(approvals.Verdict(False, "x"))


def test_deciders__told_from_who_a_request_bars_as_may_approve_tells_it_of_each_worker():
    """`cpcm due` has no case to ask `may_approve` of: it tells who may decide a waiting approval
    from who the item bars (`deciders_barring`), and `rules.NobodyDecides` says when that is nobody."""
    from cpcm.workflow.deadlines import Deadline

    cases = [Case("C", plan={"by": "sup"}, worker="amina"), Case("C", plan={"by": "amina"}, worker="amina"),
             Case("C", stage="closure_requested", closure={"by": "amina"}, worker="sup"),
             Case("C", stage="closure_requested", closure={"by": "sup"}, worker="amina"), Case("C")]
    teams = [(SUP, AMINA), (SUP, SUP2, AMINA), (MGR, SUP), (GONE, AMINA), (AMINA,), (SUP, GONE)]
    for rules_ in ({}, {"plan_approval": {"self_approval": True}, "closure_approval": {"self_approval": True}}):
        for case in cases:
            for subject in ("plan", "closure"):
                for workers in teams:
                    expected = [w.id for w in workers if approvals.may_approve(policy(**rules_), subject, w, case)]
                    assert approvals.deciders(policy(**rules_), subject, case, workers) == expected
                    if approvals.pending(case, subject) is None:
                        continue
                    item = Deadline("C", f"{subject}-approval", "t", NOW, None, "supervisors", "r", "w", "s",
                                    barred=tuple(sorted(approvals.barred(policy(**rules_), subject, case))))
                    assert rules.NobodyDecides(Team(workers))(item) == (not expected)
    assert not rules.NobodyDecides(Team((SUP,)))(Deadline("C", "review", "t", NOW, None, "sup", "r", "w", "s"))  # not an approval


def test_nobody_decides__marks_whether_a_next_version_by_the_case_worker_may_be_decided():
    """The mark `cpcm due` gives an approval nobody may decide says whether someone may decide a
    next version the case's worker writes (a way out `nobody_hint` offers for a plan), told of the
    item's own case's worker on every list (it was told of the list's worker, and on every case's
    list, 'all', always offered)."""
    from cpcm.workflow.deadlines import Deadline

    item = Deadline("C", "plan-approval", "t", NOW, None, "supervisors", "r", "w", "s", requested_by="sup", barred=("sup",))
    lone = rules.NobodyDecides(Team((SUP, AMINA, GONE)))
    assert lone(item)
    theirs, own = lone.marked(item, "amina"), lone.marked(item, "sup")
    assert theirs.nobody_may_decide and theirs.next_decidable  # sup may approve amina's version
    assert own.nobody_may_decide and not own.next_decidable  # the lone supervisor's own case: theirs too
    assert not rules.NobodyDecides(Team((AMINA, GONE))).marked(item, "amina").next_decidable  # no active supervisor at all
    assert rules.NobodyDecides(Team((SUP, AMINA))).marked(item, None).next_decidable  # a case nobody is assigned
    assert "--from-current" in approvals.nobody_hint("plan", "C", "sup", theirs.next_decidable)
    assert "--from-current" not in approvals.nobody_hint("plan", "C", "sup", own.next_decidable)


# --- rules (cpcm check) --------------------------------------------------------------------

CAP = policy(caseload={"cap": 25, "warn_from": 20, "over_cap": "warn", "source": "S"})


@pytest.mark.parametrize("count, state", [(0, "ok"), (19, "ok"), (20, "near_cap"), (21, "near_cap"), (25, "near_cap"),
                                          (26, "over_cap")])
def test_caseload_state__at_each_boundary(count, state):
    assert rules.caseload_state(count, CAP) == state
    assert rules.caseload_state(count, CAP, capped=False) == "no_cap"


def test_caseload_limits_and_has_cap():
    assert rules.caseload_limits(policy(caseload={"cap": "10", "warn_from": "8"})) == (10, 8)
    assert rules.has_cap(None) and rules.has_cap(AMINA) and not rules.has_cap(SUP)


@pytest.mark.parametrize("before, verdict, message", [
    (18, "ok", ""),
    (19, "warn", "this makes 20 open cases (cap 25, warning from 20)"),
    (24, "warn", "this makes 25 open cases (cap 25, warning from 20)"),
    (25, "warn", "this makes 26 open cases; the cap is 25 (S)"),
])
def test_caseload_decision(before, verdict, message):
    assert rules.caseload_decision(before, CAP) == (verdict, message)


def test_caseload_decision__refuse_when_the_policy_says_so():
    refuse = policy(caseload={"cap": 2, "warn_from": 1, "over_cap": "refuse", "source": "S"})
    assert rules.caseload_decision(2, refuse) == ("refuse", "this makes 3 open cases; the cap is 2 (S)")
    assert rules.caseload_decision(1, refuse)[0] == "warn"


def test_caseload_verdict__only_a_holder_with_a_cap_is_warned_or_refused():
    refuse = policy(caseload={"cap": 2, "warn_from": 1, "over_cap": "refuse", "source": "S"})
    assert rules.caseload_verdict(AMINA, 2, refuse)[0] == "refuse"
    assert rules.caseload_verdict(None, 2, refuse)[0] == "refuse"  # an id not in the team counts as a caseworker
    assert rules.caseload_verdict(SUP, 2, refuse) == ("ok", "")
    assert rules.caseload_verdict(MGR, 50, CAP) == ("ok", "")


def _open(id_, worker, status="open"):
    return Case(id_, worker=worker, status=status)


def test_caseloads_count_open_cases_with_a_worker():
    cases = [_open("1", "amina"), _open("2", "amina"), _open("3", "amina", "closed"), _open("4", None), _open("5", "sup")]
    assert rules.caseloads(cases) == {"amina": 2, "sup": 1}


def test_check_caseloads__codes_messages_and_who():
    small = policy(caseload={"cap": 2, "warn_from": 2, "source": "S"})
    team = Team((AMINA, SUP, Worker("otieno", "O", ("caseworker",), "age1o")))
    cases = [_open(str(i), "amina") for i in range(3)] + [_open(f"s{i}", "sup") for i in range(5)] + \
            [_open("o1", "otieno"), _open("o2", "otieno"), _open("x1", "stranger")]
    problems = rules.check_caseload_counts(rules.caseloads(cases), team, small)
    assert [(p.code, p.severity, p.message, p.rule, p.source, p.case_id, p.worker) for p in problems] == [
        ("caseload-over-cap", "error", "amina has 3 open cases; the cap is 2", "caseload", "S", None, "amina"),
        ("caseload-near-cap", "warning", "otieno has 2 open cases (cap 2, warning from 2)", "caseload", "S", None, "otieno"),
    ]
    # an id the team never had is not on it (`off_team`): it holds no caseload, whatever it is given (check_workers
    # reports each of its cases); on a team that lists nobody, no worker is told from another: it is counted
    strangers = cases + [_open("x2", "stranger"), _open("x3", "stranger")]
    assert [p.worker for p in rules.check_caseload_counts(rules.caseloads(strangers), team, small)] == ["amina", "otieno"]
    assert [p.worker for p in rules.check_caseload_counts(rules.caseloads(strangers), Team(), small)] == ["amina", "otieno", "stranger", "sup"]


def test_check_caseloads__a_removed_worker_holds_no_caseload_their_cases_are_nobodys():
    """otieno removed (on a copy that did not know it, his cases came back): not near or over the
    cap, as `report caseload` does not count him (`off_team`); `case-worker-removed` covers each case."""
    from dataclasses import replace

    small = policy(caseload={"cap": 2, "warn_from": 2, "source": "S"})
    gone = replace(Worker("otieno", "O", ("caseworker",), "age1o"), removed="2026-11-20T09:00:00+03:00")
    cases = [_open(str(i), "otieno") for i in range(3)] + [_open("a1", "amina"), _open("a2", "amina")]
    assert [(p.code, p.worker) for p in rules.check_caseload_counts(rules.caseloads(cases), Team((AMINA, SUP, gone)), small)] == [
        ("caseload-near-cap", "amina")]
    assert [p.worker for p in rules.check_caseload_counts(rules.caseloads(cases), Team((AMINA, SUP, replace(gone, removed=""))), small)] == [
        "amina", "otieno"]  # while on the team, he was over the cap
    assert [(p.code, p.case_id) for p in rules.check_workers(cases, Team((AMINA, SUP, gone)), SHIPPED, NOW)] == [
        ("case-worker-removed", str(i)) for i in range(3)]


def test_check_workers__an_open_case_whose_worker_is_not_on_the_team_is_an_error_until_assigned():
    from dataclasses import replace

    gone = replace(Worker("otieno", "O", ("caseworker",), "age1o"), removed="2026-11-20T09:00:00+03:00")
    team = Team((AMINA, SUP, gone))
    cases = [_open("1", "otieno"), _open("2", "otieno", "closed"), _open("3", "amina"), _open("4", None)]
    problems = rules.check_workers(cases, team, SHIPPED, NOW)
    assert [(p.code, p.severity, p.case_id, p.worker) for p in problems] == [("case-worker-removed", "error", "1", "otieno")]
    assert "no longer on the team" in problems[0].message and "cpcm assign 1 --worker OTHER" in problems[0].message
    # a worker who left: every open case of theirs at once, as team remove and the leaver's steps say
    assert "or every open case of otieno at once (cpcm assign --from-worker otieno --worker OTHER)" in problems[0].message
    # an id the team never had (brought by a sync or an import) is not an active member either
    never = rules.check_workers([_open("1", "amina"), _open("9", "stranger")], team, SHIPPED, NOW)
    assert [(p.code, p.case_id, p.worker) for p in never] == [("case-worker-removed", "9", "stranger")]
    assert "its worker (stranger) is not on the team" in never[0].message and "cpcm assign 9 --worker OTHER" in never[0].message
    assert "--from-worker" not in never[0].message  # it takes only a worker the team had
    assert rules.check_workers([_open("9", "stranger")], Team(), SHIPPED, NOW) == []  # a team with no entries tells nobody off


def _fields(problem):
    return (problem.code, problem.severity, problem.message, problem.rule, problem.case_id, problem.worker)


def test_check_case__a_plan_without_closure_criteria_and_not_approved():
    case = Case("CP-0000-0000", worker="amina", plan={"version": 2, "at": "2026-11-23T08:00:00+03:00", "by": "amina"})
    problems = [_fields(p) for p in rules.check_case(case, SHIPPED, NOW)]
    assert problems == [
        ("plan-missing-closure-criteria", "error", "plan version 2 says nothing of when the case can close", "case_plan",
         "CP-0000-0000", "amina"),
        ("plan-not-approved", "warning", "plan version 2 waits for approval: it is not in force", "plan_approval",
         "CP-0000-0000", "amina"),
    ]
    rejected = Case("CP-0000-0000", worker="amina", plan={"version": 3, "closure_criteria": ["x"], "rejected_at": "t", "at": "2026-11-23T08:00:00+03:00"})
    assert [p.message for p in rules.check_case(rejected, SHIPPED, NOW)] == ["plan version 3 was rejected: it is not in force"]
    approved = Case("CP-0000-0000", worker="amina", plan={"version": 3, "closure_criteria": ["x"], "approved_at": "t"})
    assert rules.check_case(approved, SHIPPED, NOW) == []
    closed = Case("CP-0000-0000", worker="amina", status="closed", plan={"version": 2, "at": "2026-11-23T08:00:00+03:00", "by": "amina"})
    assert rules.check_case(closed, SHIPPED, NOW) == []


def test_check_case__plan_approval_not_required():
    relaxed, errors = build(policies.chain("inter-agency"), {"rules": {"plan_approval": {"required": False}}}, ".cpcm/policy.yaml")
    assert errors == []
    case = Case("CP-0000-0000", worker="amina", plan={"version": 1, "closure_criteria": ["x"], "at": "2026-11-23T08:00:00+03:00"})
    assert rules.check_case(case, relaxed, NOW) == []


def test_check_case__the_age_limit_on_the_birthday():
    def aged(dob, **extra):
        return Case("CP-0000-0000", worker="amina", child={"date_of_birth": dob}, **extra)
    def age_problems(case):
        return [_fields(p) for p in rules.check_case(case, SHIPPED, NOW) if p.rule == "child_age_limit"]
    # the birthday itself is the worker's to propose the closure (the turning-18 item is due by its end): from the next day
    assert age_problems(aged("2008-11-23")) == []
    problems = age_problems(aged("2008-11-22"))
    assert problems == [("reached-18-without-justification", "error",
                         "the child is 18 or older and the case is open with no recorded justification", "child_age_limit",
                         "CP-0000-0000", "amina")]
    assert age_problems(aged("2008-11-24")) == []
    assert age_problems(aged("2008-11-23", events={"continuation": ("2026-11-01",)})) == []
    assert age_problems(aged("2008-11-23", status="closed")) == []
    assert age_problems(aged("2000-01-01")) != []
    assert rules.check_case(Case("CP-0000-0000"), SHIPPED, NOW) == []


def test_check_case__anomalies():
    problems = [_fields(p) for p in rules.check_case(Case("CP-0000-0000", worker="amina", anomalies=("01X",)), SHIPPED, NOW)]
    assert problems == [("transition-out-of-order", "warning",
                         "record 01X (a record) was written on one copy while another, apart, had moved the case to a stage "
                         "that does not allow it; the sync kept both copies' records. Check that the case is right as it "
                         "stands (cpcm show CP-0000-0000 01X); then add a note (cpcm note CP-0000-0000 --text ...), which "
                         "records that it was seen, and this is no longer reported", "transitions", "CP-0000-0000", "amina")]


def test_check_case__each_late_deadline_is_a_problem_with_its_code():
    from cpcm.domain.dates import local_text
    from cpcm.workflow.deadlines import STEP_CONSENT_CODES, deadlines, soon_window
    case = Case("CP-0000-0000", worker="amina", risk="high", registered_at="2026-11-20T09:00:00+03:00",
                child={"name": "A", "date_of_birth": "2015-01-01"})
    seen = set()
    for hours in (0, 30, 60, 24 * 10, 24 * 40):
        now = NOW + timedelta(hours=hours)
        soon = soon_window(SHIPPED, now)
        expected = []
        for item in deadlines(case, SHIPPED, now):
            state = item.state(now, soon)
            seen.add(state)
            if item.code in STEP_CONSENT_CODES:
                continue  # the consent a step checks: `due`'s reminder, not a problem (the step's own item is)
            if state == "overdue":
                expected.append((f"{item.code}-overdue", "error", f"{item.title} was due {local_text(item.due, EAT)}: {item.why}",
                                 item.rule, item.source, "CP-0000-0000", item.owner))
            elif state == "target_missed":
                expected.append((f"{item.code}-target-missed", "warning",
                                 f"{item.title}: the target ({local_text(item.target, EAT)}) has passed; the limit is "
                                 f"{local_text(item.due, EAT)}", item.rule, item.source, "CP-0000-0000", item.owner))
        got = [(p.code, p.severity, p.message, p.rule, p.source, p.case_id, p.worker) for p in rules.check_case(case, SHIPPED, now)]
        assert got == expected
    assert "overdue" in seen


def test_consent_corrected_away__each_reason_and_an_override_after_the_correction_stands_in_once():
    given = dict(purpose="referral", agency="health-1", status="given")
    records = [rec("consent", "01A", given_by="caregiver", **given), rec("consent", "01B", given_by="child", **given),
               rec("referral", "01C", service="health-1", consent_ids=["01A", "01B"])]
    assert consent.corrected_away(records) == []
    cases = {"refused": ({"status": "refused"}, "it was 'refused'"),
             "agency": ({"agency": "health-2"}, "it was not consent to a referral to that service"),
             "ended": ({"until": "2026-10-31"}, "it ended on 2026-10-31, before the referral was sent")}
    for change, why in cases.values():
        corrected = records + [rec("consent", "01D", given_by="caregiver", supersedes="01A", **{**given, **change})]
        assert consent.corrected_away(corrected) == [{"referral": "01C", "service": "health-1", "consent": "01A",
                                                      "correction": "01D", "giver": "caregiver", "why": why, "override": None}]
    # the child's consent corrected to the caregiver's: the referral had no answer of the child's
    giver = records + [rec("consent", "01D", given_by="caregiver", supersedes="01B", **given)]
    assert consent.corrected_away(giver) == [{"referral": "01C", "service": "health-1", "consent": "01B", "correction": "01D",
                                              "giver": "child", "why": "it was given by the caregiver, not the child",
                                              "override": None}]
    refused = records + [rec("consent", "01D", given_by="caregiver", supersedes="01A", **{**given, "status": "refused"})]
    back = refused + [rec("consent", "01E", given_by="caregiver", supersedes="01D", **given)]
    assert consent.corrected_away(back) == []  # the correction corrected back: the consent stands
    before = [rec("consent_override", "019", purpose="referral", agency="health-1")] + refused  # recorded before the correction
    assert consent.corrected_away(before)[0]["override"] is None
    after = refused + [rec("consent_override", "01F", purpose="referral", agency="health-1")]
    assert consent.corrected_away(after)[0]["override"] == "01F" and "01F" in consent.used_ids(after)
    closed_first = refused + [rec("referral_update", "01E", referral="01C", status="closed"),
                              rec("consent_override", "01F", purpose="referral", agency="health-1")]
    assert consent.corrected_away(closed_first)[0]["override"] is None and "01F" not in consent.used_ids(closed_first)


def test_consent_corrected_away__a_transfer_request_by_the_same_rule_its_override_left_for_the_transfer():
    given = dict(purpose="transfer", agency="recv", status="given")
    records = [rec("consent", "01A", given_by="caregiver", **given), rec("consent", "01B", given_by="child", **given),
               rec("transfer_request", "01C", to="recv", consent_ids=["01A", "01B"])]
    assert consent.corrected_away(records) == [] and consent.used_ids(records) == set()  # a request uses nothing
    cases = {"refused": ({"status": "refused"}, "it was 'refused'"),
             "agency": ({"agency": "other"}, "it was not consent to a transfer to that agency"),
             "ended": ({"until": "2026-10-31"}, "it ended on 2026-10-31, before the transfer was requested")}
    for change, why in cases.values():
        corrected = records + [rec("consent", "01D", given_by="caregiver", supersedes="01A", **{**given, **change})]
        assert consent.corrected_away(corrected) == [{"transfer_request": "01C", "to": "recv", "consent": "01A",
                                                      "correction": "01D", "giver": "caregiver", "why": why, "override": None}]
    refused = records + [rec("consent", "01D", given_by="caregiver", supersedes="01A", **{**given, "status": "refused"})]
    referral = [rec("consent_override", "01E", purpose="referral", agency="recv")]  # another purpose does not stand in
    assert consent.corrected_away(refused + referral)[0]["override"] is None
    after = refused + [rec("consent_override", "01F", purpose="transfer", agency="recv")]
    assert consent.corrected_away(after)[0]["override"] == "01F"
    # the transfer relies on the override for the caregiver and on the child's consent, still given
    assert "01F" not in consent.used_ids(after) and consent.check(after, "transfer", "recv", BOTH, NOW).uses == ("01B", "01F")
    text = consent.corrected_away_text("CP-0000-0000", "01C", consent.corrected_away(refused)[0])
    assert text.startswith("transfer request 01C was made on the caregiver's consent 01A, and correction 01D says it was "
                           "'refused'") and "recv" not in text  # the agency a request names may have been typed: not repeated


def test_check_case__a_transfer_request_on_a_consent_corrected_away_until_it_is_carried_out_or_rejected():
    from cpcm.workflow.fold import fold

    given = dict(purpose="transfer", agency="recv", status="given")
    records = [rec("registration", "019", child={"name": "x", "date_of_birth": "2015-01-01"}),
               rec("consent", "01A", given_by="caregiver", **given), rec("consent", "01B", given_by="child", **given),
               rec("transfer_request", "01C", to="recv", consent_ids=["01A", "01B"]),
               rec("consent", "01D", given_by="caregiver", supersedes="01A", **{**given, "status": "refused"})]

    def codes(extra):
        return [p.code for p in rules.check_case(fold("CP-0000-0000", records + extra), SHIPPED, NOW)
                if p.code.endswith("consent-corrected")]

    assert codes([]) == ["transfer-consent-corrected"]
    assert codes([rec("approval", "01E", subject="transfer", target="01C")]) == ["transfer-consent-corrected"]
    assert codes([rec("rejection", "01E", subject="transfer", target="01C")]) == []
    assert codes([rec("withdrawal", "01E", subject="transfer", target="01C")]) == []
    carried_out = [rec("approval", "01E", subject="transfer", target="01C"), rec("transfer", "01F", to="recv", consent_ids=["01G"])]
    assert codes(carried_out) == [] and codes(carried_out + [rec("reopen", "01H", reason="came back")]) == []


def test_consent__a_refusal_is_exactly_false():
    result = consent.check([], "referral", "health-1", BOTH, NOW)
    assert result.ok is False and result.override is None


def test_similar__an_empty_name_is_never_similar_whatever_the_threshold():
    assert not duplicates.similar("a", "", threshold=0) and not duplicates.similar("", "a", threshold=0)


def test_check_case__each_problem_cites_its_rule_source():
    case = Case("CP-0000-0000", worker="amina", plan={"version": 2, "at": "2026-11-23T08:00:00+03:00", "by": "amina"},
                child={"date_of_birth": "2000-01-01"}, anomalies=("01X",))
    sources = {p.code: p.source for p in rules.check_case(case, SHIPPED, NOW)}
    assert sources["plan-missing-closure-criteria"] == SHIPPED.source("case_plan")
    assert sources["plan-not-approved"] == SHIPPED.source("plan_approval")
    assert sources["reached-18-without-justification"] == SHIPPED.source("child_age_limit")
    assert sources["transition-out-of-order"] == "the case-management steps (IAG Figure 1)"
    assert all(sources.values())


def test_check_case__the_age_limit_is_the_policy_s_and_18_without_one():
    younger, errors = build(policies.chain("inter-agency"), {"rules": {"child_age_limit": {"years": 17}}}, ".cpcm/policy.yaml")
    assert errors == []
    case = Case("CP-0000-0000", worker="amina", child={"date_of_birth": "2009-11-22"})  # 17 since yesterday
    assert [p.message for p in rules.check_case(case, younger, NOW) if p.rule == "child_age_limit"] == [
        "the child is 17 or older and the case is open with no recorded justification"]
    assert [p for p in rules.check_case(case, SHIPPED, NOW) if p.rule == "child_age_limit"] == []
    bare = Policy("t", "t", {k: v for k, v in SHIPPED.rules.items() if k != "child_age_limit"}, SHIPPED.origins)
    eighteen = Case("CP-0000-0000", worker="amina", child={"date_of_birth": "2008-11-22"}, events={"turning_18": ()})
    assert [p.code for p in rules.check_case(eighteen, bare, NOW) if p.code == "reached-18-without-justification"] == [
        "reached-18-without-justification"]
    not_yet = Case("CP-0000-0000", worker="amina", child={"date_of_birth": "2008-11-23"})  # 18 today: the day is the worker's
    assert [p for p in rules.check_case(not_yet, bare, NOW) if p.code == "reached-18-without-justification"] == []


def test_check_case__a_waiting_approval_does_not_hide_the_late_items_after_it():
    from cpcm.workflow.clocks import SUPERVISORS
    from cpcm.workflow.deadlines import STEP_CONSENT_CODES, deadlines, soon_window
    case = Case("CP-0000-0000", worker="amina", registered_at="2026-10-01T09:00:00+03:00",
                plan={"version": 1, "at": "2026-10-01T10:00:00+03:00", "by": "amina", "closure_criteria": True})
    items = deadlines(case, SHIPPED, NOW)
    soon = soon_window(SHIPPED, NOW)
    late = {f"{i.code}-{'overdue' if i.state(NOW, soon) == 'overdue' else 'target-missed'}" for i in items
            if i.owner != SUPERVISORS and i.state(NOW, soon) in ("overdue", "target_missed") and i.code not in STEP_CONSENT_CODES}
    assert late and any(i.owner == SUPERVISORS for i in items)
    assert late <= {p.code for p in rules.check_case(case, SHIPPED, NOW)}


def test_cadre_since__a_later_rating_at_the_same_level_keeps_the_date_a_lower_then_higher_one_dates_from_the_raise():
    """`rules.cadre_since` of folded cases: a case rated high on 1 March and again on 1 May has been above a
    volunteer's cadre since March (overdue from March); one lowered in April and raised in May, since May; one
    assigned to the volunteer later, since the assignment."""
    from cpcm.workflow.fold import fold

    def at(id_, kind, when, **body):
        return Record(kind, 1, id_, "CP-1", f"{when}T09:00:00+03:00", f"{when}T06:00:00+00:00", "sup", body)

    volunteer = Worker("otieno", "O", ("caseworker",), "age1o", cadre="volunteer")
    team, cadres = Team((SUP, volunteer)), policies.load("inter-agency")
    registered = at("01A", "registration", "2026-02-01", risk="medium", worker="otieno")
    march = at("01B", "assessment", "2026-03-01", type="initial", risk="high")
    may = at("01D", "followup", "2026-05-01", risk="high")
    again = fold("CP-1", [registered, march, may])
    assert rules.cadre_since(again) == "2026-03-01T06:00:00+00:00"
    item = rules.cadre_escalation_item("CP-1", "otieno", "high", team, cadres, NOW, rules.cadre_since(again))
    assert item.due == datetime(2026, 3, 1, 9, 0, tzinfo=EAT) and item.why.startswith("above the cadre since 2026-03-01 ")
    lowered = fold("CP-1", [registered, march, at("01C", "followup", "2026-04-01", risk="low"), may])
    assert rules.cadre_since(lowered) == "2026-05-01T06:00:00+00:00"
    handed = fold("CP-1", [at("01A", "registration", "2026-02-01", risk="medium", worker="sup"), march,
                           at("01C", "assignment", "2026-04-01", worker="otieno"), may])
    assert handed.worker == "otieno" and rules.cadre_since(handed) == "2026-04-01T06:00:00+00:00"


def test_probable_duplicates__cases_skipped_before_a_match_do_not_end_the_search():
    new = child("CP-NEW", "Amina Otieno", "2016-03-01")
    cases = [child("CP-NEW", "Amina Otieno", "2016-03-01"), child("CP-0", "", "2016-03-01"), child("CP-1", "Amina Otieno", "2016-05-01")]
    assert duplicates.probable_duplicates(new, cases) == [("CP-1", "same or similar name and the same birth year")]


def test_cadre_escalation__dated_when_the_case_went_above_the_cadre_and_overdue_from_then():
    """The item is due at the latest of the case's assignment to its worker (or registration, receipt,
    reopening) and when its risk came to its current level (`rules.cadre_since`), not at `now`: overdue once
    that has passed."""
    volunteer = Worker("otieno", "O", ("caseworker",), "age1o", cadre="volunteer")
    team, cadres = Team((SUP, volunteer)), policies.load("inter-agency")
    case = Case("CP-1", risk="high", worker="otieno", risk_since="2026-11-12T06:00:00+00:00",
                events={"registration": ("2026-11-01T06:00:00+00:00",), "assignment": ("2026-11-10T06:00:00+00:00",),
                        "risk_checked": ("2026-11-05T06:00:00+00:00", "2026-11-12T06:00:00+00:00", "2026-11-15T06:00:00+00:00"),
                        "plan": ("2026-11-20T06:00:00+00:00",)})  # a plan, or a rating at the same level, puts no case above a cadre
    assert rules.cadre_since(case) == "2026-11-12T06:00:00+00:00"
    assert rules.cadre_since(Case("CP-2", risk="high", worker="otieno")) is None
    item = rules.cadre_escalation_item("CP-1", "otieno", "high", team, cadres, NOW, rules.cadre_since(case))
    assert item.due == datetime(2026, 11, 12, 9, 0, tzinfo=EAT) and item.state(NOW, timedelta(0)) == "overdue"
    assert item.why.startswith("above the cadre since 2026-11-12 09:00 +03:00: ") and "volunteer" in item.why
    assert rules.cadre_escalation_item("CP-1", "otieno", "high", team, cadres, NOW).due == NOW  # not known: due now
    # a rating recorded after `now` (a clock behind) dates it no later than now
    ahead = rules.cadre_escalation_item("CP-1", "otieno", "high", team, cadres, NOW, "2026-12-01T00:00:00+00:00")
    assert ahead.due == NOW
    assert rules.cadre_escalation_item("CP-1", "otieno", "medium", team, cadres, NOW, rules.cadre_since(case)) is None


def test_consent_corrected_away__an_override_a_referral_relied_on_corrected_on_a_copy_apart():
    """A supervisor corrects an override's purpose (referral -> sharing) on one laptop while a caseworker
    sends a referral on it on another: on one copy the correction is refused once a referral relied on
    the override, but written apart both stand after the sync, and the referral rested on an override
    for another purpose with nothing said. It is an action on a consent corrected away now: `check`'s
    referral-consent-corrected and `due`'s item, until a new override stands in. The corrected purpose
    is never repeated (stored before it was checked, it may be any words)."""
    override = dict(purpose="referral", agency="health-1", basis="best_interests")
    records = [rec("consent_override", "01A", **override), rec("referral", "01C", service="health-1", consent_ids=["01A"])]
    assert consent.corrected_away(records) == []
    apart = records + [rec("consent_override", "01B", supersedes="01A", **{**override, "purpose": "usajili-Otieno"})]
    found = consent.corrected_away(apart)
    assert found == [{"referral": "01C", "service": "health-1", "consent": "01A", "correction": "01B", "giver": "supervisor",
                      "why": "it is an override for another purpose or service now, not for this referral", "override": None}]
    text = consent.corrected_away_text("CP-0000-0000", "R1", found[0])
    assert text.startswith("referral R1 (health-1) was sent on the supervisor's override 01A, and correction 01B says")
    assert "Otieno" not in text and "usajili" not in text
    basis = records + [rec("consent_override", "01B", supersedes="01A", **{**override, "basis": "legal_mandate"})]
    assert consent.corrected_away(basis) == []  # its basis corrected: still an override for that referral
    stands_in = apart + [rec("consent_override", "01D", **override)]
    assert consent.corrected_away(stands_in)[0]["override"] == "01D" and "01D" in consent.used_ids(stands_in)
