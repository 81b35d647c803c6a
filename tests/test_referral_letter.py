"""The referral letter holds the fields the policy's sharing rule allows, and no others.

The rules at the service level over a repository in memory (the service directory read from the
memory store); the letter written encrypted to the provider through the CLI."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import CANARY, make_identity, register, registration
from cpcm import service
from cpcm.workflow.duplicates import SAME_CAREGIVER
from cpcm.workflow.referrals import CHECKS
from memory_repo import MemoryRepo

GOLDEN = Path(__file__).parent / "golden" / "referral-letter.en.md"
CLINIC = {"id": "clinic", "provider": "County Clinic", "sector": "health", "services": ["child health"],
          "contact": "Nurse in charge"}
EXPLAINED = {"information": True, "use": True, "sharing": True, "confidentiality_limits": True}


def referred_in(mem: MemoryRepo) -> str:
    """`referred` at the service level: the clinic in the directory, a registered child (with a
    canary name and private notes), consent from both, a referral R1."""
    amina = mem.as_("amina")
    service.service_add(amina, CLINIC)
    case_id = mem.register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"},
                           notes=f"{CANARY} private family matter", concerns=["sexual_abuse"], contact="0700 111222")
    for giver in ("child", "caregiver"):
        service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": giver, "status": "given",
                                         "explained": EXPLAINED})
    service.refer(amina, case_id, {"service": "clinic", "need": "treatment for malnutrition", "checks": dict.fromkeys(CHECKS[:4], True)})  # what `--check all` stands for
    return case_id


def referred(cli, tmp_env, sector="health", recipient=None):
    add = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", sector, "--offers", "child health",
           "--contact", "Nurse in charge"]
    if recipient:
        add += ["--recipient", recipient]
    assert cli(*add).code == 0
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"},
                       notes=f"{CANARY} private family matter", concerns=["sexual_abuse"], contact="0700 111222")
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", giver, "--status", "given",
                   "--explained", "all").code == 0
    assert cli("refer", case_id, "--service", "clinic", "--need", "treatment for malnutrition", "--check", "all").code == 0
    return case_id


def test_referral_letter__matches_the_golden_file():
    mem = MemoryRepo()
    case_id = referred_in(mem)
    letter = service.render(mem.as_("amina"), "referral-letter", case_id, "R1").text
    text = letter.replace(case_id, "CP-XXXX-XXXX")
    if os.environ.get("CPCM_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    for field in ("sexual_abuse", "private family matter", "2015-04-01", "neglect"):
        assert field not in letter  # never in a letter: not in any sharing group


def test_referral_letter__a_group_outside_the_rule_never_appears():
    mem = MemoryRepo(rules={"sharing": {"by_sector": {"health": ["need", "urgency"]}}})
    case_id = referred_in(mem)
    text = service.render(mem.as_("amina"), "referral-letter", case_id, "R1", lang="sw").text
    assert "treatment for malnutrition" in text
    assert CANARY.split()[0] not in text and "0700 111222" not in text and "Test Caregiver" not in text
    assert not re.search(r"Jina|Mlezi", text)


def test_referral_letter_and_case_file__where_the_child_lives_now_follows_the_latest_placement():
    """Reunified with a grandmother (`cpcm placement`), the child no longer lives where she was
    registered: the letter's contact group and the case file's "Where the child lives now" give
    the placement's address, caregiver and phone; an update of the registration made after the
    placement wins again. `cpcm show` gives the same."""
    mem = MemoryRepo()
    case_id = referred_in(mem)
    amina, sup = mem.as_("amina"), mem.as_("sup")
    service.placement(sup, case_id, {"care_type": "kinship", "caregiver": {"name": "Grace Atieno", "relationship": "grandmother"},
                                     "address": "Nyakach, Kisumu", "contact": "0711 000111"}, override_reason="kinship care")
    letter = service.render(amina, "referral-letter", case_id, "R1").text
    assert "Nyakach, Kisumu" in letter and "Grace Atieno" in letter and "0711 000111" in letter
    assert "Nyalenda, Kisumu" not in letter and "Test Caregiver" not in letter
    case_file = service.render(amina, "case-file", case_id).text
    assert "Where the child lives now:** Nyakach, Kisumu" in case_file and "Caregiver:** Grace Atieno" in case_file
    given = service.consent(amina, case_id, {"purpose": "sharing", "agency": "clinic", "given_by": "caregiver", "status": "given",
                                             "explained": EXPLAINED})  # the caregiver the child lives with now gives it
    body = service.show(amina, case_id, given.record_id)["fields"]
    assert (body["caregiver_name"], body["caregiver_relationship"]) == ("Grace Atieno", "grandmother"), body
    shown = service.show(amina, case_id)  # `cpcm show` says the same as the case file
    assert (shown["location"], shown["caregiver_name"], shown["caregiver_relationship"], shown["contact"]) == \
        ("Nyakach, Kisumu", "Grace Atieno", "grandmother", "0711 000111"), shown
    # a new phone of the grandmother's, given as an update of the registration's contact: the child still lives with
    # her, at the placement's address (the registration's location and caregiver do not come back)
    rang = mem.as_("amina", now="2026-11-23T15:00:00+03:00")
    service.update(rang, case_id, {"contact": "0722 333444"}, "new phone")
    shown = service.show(rang, case_id)
    assert (shown["location"], shown["caregiver_name"], shown["contact"]) == ("Nyakach, Kisumu", "Grace Atieno", "0722 333444"), shown
    letter = service.render(rang, "referral-letter", case_id, "R1").text
    assert "Nyakach, Kisumu" in letter and "Grace Atieno" in letter and "0722 333444" in letter and "Test Caregiver" not in letter
    later = mem.as_("amina", now="2026-11-24T09:00:00+03:00")
    service.update(later, case_id, {"location": "Kondele, Kisumu"}, "moved with the grandmother")
    again = service.render(later, "referral-letter", case_id, "R1").text
    assert "Kondele, Kisumu" in again and "Nyakach, Kisumu" not in again
    assert service.show(later, case_id)["location"] == "Kondele, Kisumu"


def test_referral_letter_case_file_and_show__a_cci_naming_no_caregiver_is_where_the_child_lives_not_the_registered_caregiver():
    """Admitted to a children's home naming no caregiver (`cpcm placement --care-type institutional_care
    --institution ...`), the child no longer lives with the registered caregiver: show, the case file and the
    letter give the institution and no caregiver nor the registered phone (the family the child was placed away
    from). The registration keeps them: `cpcm show CASE registration`, a caregiver's consent by default, and the
    duplicate check of the same child registered again."""
    mem = MemoryRepo()
    case_id = referred_in(mem)
    amina, sup = mem.as_("amina"), mem.as_("sup")
    service.placement(sup, case_id, {"care_type": "institutional_care", "institution": "Tumaini Test Home"},
                      override_reason="police brought her at night")
    shown = service.show(amina, case_id)
    assert (shown["location"], shown["caregiver_name"], shown["caregiver_relationship"], shown["contact"]) == \
        ("Tumaini Test Home", None, None, None), shown
    case_file = service.render(amina, "case-file", case_id).text
    assert "Where the child lives now:** Tumaini Test Home" in case_file and "Caregiver:** Test Caregiver" not in case_file
    letter = service.render(amina, "referral-letter", case_id, "R1").text
    assert "Tumaini Test Home" in letter and "Test Caregiver" not in letter and "0700 111222" not in letter
    registered = service.show(amina, case_id, "registration")["fields"]
    assert (registered["caregiver"]["name"], registered["contact"]) == ("Test Caregiver", "0700 111222"), registered
    given = service.consent(amina, case_id, {"purpose": "sharing", "agency": "clinic", "given_by": "caregiver", "status": "given",
                                             "explained": EXPLAINED})  # the family's consent: the caregiver registered
    assert service.show(amina, case_id, given.record_id)["fields"]["caregiver_name"] == "Test Caregiver"
    again = service.register(amina, registration(child={"name": CANARY, "sex": "female", "date_of_birth": "2014-04-01",
                                                        "disability": "no"}))  # another year: found by the same caregiver
    assert [d["reason"] for d in again.extra["possible_duplicates"] if d["case_id"] == case_id] == [SAME_CAREGIVER], again.extra


def test_update__another_caregiver_after_a_placement_says_where_and_how_to_reach_stay_the_registrations():
    """With the grandmother by placement, an update naming the aunt alone: the aunt is another household, so
    show, the case file and the letters read the registration's location and phone again; the next step says so
    and which options give hers (fields only, never values). Given with them, or the same caregiver again,
    nothing is said."""
    mem = MemoryRepo()
    case_id = referred_in(mem)
    amina, sup = mem.as_("amina"), mem.as_("sup")
    service.placement(sup, case_id, {"care_type": "kinship", "caregiver": {"name": "Grace Atieno", "relationship": "grandmother"},
                                     "address": "Nyakach, Kisumu", "contact": "0711 000111"}, override_reason="kinship care")
    later = mem.as_("amina", now="2026-11-24T09:00:00+03:00")
    aunt = service.update(later, case_id, {"caregiver": {"name": "Mary Auma"}}, "the aunt took over")
    said = [s for s in aunt.next_steps if "stay as the registration records them" in s]
    assert len(said) == 1 and "caregiver.relationship, location, contact" in said[0] and "--location ... --contact ..." in said[0]
    assert "Nyalenda" not in said[0] and "0711" not in said[0], said
    hers = service.update(mem.as_("amina", now="2026-11-25T09:00:00+03:00"), case_id,
                          {"caregiver": {"name": "Rose Auma", "relationship": "aunt"}, "location": "Kibos", "contact": "0733 444555"},
                          "the aunt's sister")
    assert not [s for s in hers.next_steps if "stay as the registration records them" in s], hers.next_steps
    assert service.show(amina, case_id)["location"] == "Kibos"


def test_referral_letter__codes_are_words_in_the_letters_language():
    """A school's letter in Kiswahili said 'Jinsia: female' and 'Wasiwasi: out_of_school': the
    stored codes, not words, to a provider who never sees cpcm."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    service.service_add(amina, {"id": "school", "provider": "Test School", "sector": "education", "services": ["enrolment"]})
    case_id = mem.register(amina, concerns=["out_of_school", "child_labour"])
    for giver in ("child", "caregiver"):
        service.consent(amina, case_id, {"purpose": "referral", "agency": "school", "given_by": giver, "status": "given",
                                         "explained": EXPLAINED})
    service.refer(amina, case_id, {"service": "school", "need": "back to school", "checks": dict.fromkeys(CHECKS[:4], True)})
    for fmt in ("md", "html"):
        swahili = service.render(amina, "referral-letter", case_id, "R1", lang="sw", fmt=fmt).text
        assert "wa kike" in swahili and "hayuko shuleni" in swahili, swahili
        assert not re.search(r"\bfemale\b|out_of_school|child_labour", swahili), swahili
    english = service.render(amina, "referral-letter", case_id, "R1").text
    assert "out of school" in english and "out_of_school" not in english


def test_referral_letter__not_made_once_its_consent_is_withdrawn_or_corrected_away():
    """workflow.md: after a later refusal of the consent a referral was sent on, nothing more goes to the
    service on it; the letter, the child's data for the provider, is refused (exit 4, the check's code)
    until the answer is given again or a supervisor's override stands in. So is a consent corrected away."""
    from cpcm.errors import Refused

    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = referred_in(mem)
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": "refused",
                                     "reason": "moving away", "explained": EXPLAINED})
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        service.render(amina, "referral-letter", case_id, "R1")
    assert refused.value.rule == "referral-consent-withdrawn" and "nothing more goes to the service" in refused.value.message
    assert f"cpcm referral {case_id} R1 --status closed" in refused.value.hint and CANARY not in str(refused.value)
    assert mem.commits() == before
    service.consent_override(sup, case_id, "referral", "best_interests", "the treatment goes on", "clinic")
    assert CANARY in service.render(amina, "referral-letter", case_id, "R1").text
    # a consent a correction took away, in another repository
    mem = MemoryRepo()
    amina = mem.as_("amina")
    other = referred_in(mem)
    caregiver = next(r.id for r in service.load_records(amina, other) if r.kind == "consent" and r.body["given_by"] == "caregiver")
    service.correct(amina, other, caregiver, {"status": "refused", "reason": "she had said no"}, "recorded wrong")
    with pytest.raises(Refused) as refused:
        service.render(amina, "referral-letter", other, "R1")
    assert refused.value.rule == "referral-consent-corrected"


def test_cli__the_letter_out_is_encrypted_to_the_provider_by_default(cli, tmp_env):
    provider_key = tmp_env / "keys" / "provider.txt"
    case_id = referred(cli, tmp_env, recipient=make_identity(provider_key))
    out = tmp_env / "letter.md.age"
    assert cli("render", "referral-letter", case_id, "R1", "--out", str(out)).code == 0
    data = out.read_bytes()
    assert CANARY.encode() not in data
    from cpcm.crypto import cipher, identity

    provider = identity.load(provider_key, lambda: None)
    assert CANARY in cipher.decrypt(data, provider.keys).decode()
    assert cli("render", "referral-letter", case_id, "R7").code == 3


def test_referral_letter__sent_on_is_the_agency_s_day_for_a_referral_just_after_local_midnight():
    from datetime import date
    from zoneinfo import ZoneInfo

    from cpcm.domain.case import Case
    from cpcm.domain.records import Record
    from cpcm.render.views import referral_letter_view

    at = "2026-11-21T21:30:00+00:00"  # typed in UTC: 00:30 on 22 November in Nairobi
    record = Record(kind="referral", schema=1, id="01JD0000000000000000000001", case="CP-0000-0000", at=at, recorded_at=at,
                    by="amina", body={"service": "clinic", "shared_groups": ["need"], "shared": {"need": "treatment"}})
    case = Case(id="CP-0000-0000", worker="amina", child={}, registered_at="2026-11-20T10:00:00+03:00",
                referrals=({"record_id": record.id, "ref": "R1"},))
    view = referral_letter_view(case, record, CLINIC, "en", today=date(2026, 11, 23), names={}, agency={"code": "TEST"},
                                feedback_days=14, zone=ZoneInfo("Africa/Nairobi"))
    assert view["sent_on"] == "2026-11-22"
