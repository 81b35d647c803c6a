"""Consent, the service directory and referrals tracked to an outcome.

The rules at the service level over a repository in memory (tests/memory_repo.py: fixed `now`,
no disk, git or age; the service directory read from the memory store); the CSV import, exit
codes, the --json shape and one commit per command end to end through the CLI, git and age."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from conftest import CANARY, commit_count, register, registration
from cpcm import service
from cpcm.errors import InvalidInput, NotFound, Refused
from cpcm.workflow.referrals import CHECKS
from memory_repo import MemoryRepo

CLINIC = ["service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health",
          "--offers", "nutrition", "--cost", "free"]
CONSENT = ["--purpose", "referral", "--agency", "clinic", "--status", "given", "--explained", "all"]
CLINIC_ENTRY = {"id": "clinic", "provider": "County Clinic", "sector": "health", "services": ["child health", "nutrition"],
                "cost": "free"}
EXPLAINED = {"information": True, "use": True, "sharing": True, "confidentiality_limits": True}
ALL_CHECKS = CHECKS[:4]  # what `--check all` stands for


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def mem() -> MemoryRepo:
    """A repository in memory with the clinic in its service directory."""
    repo = MemoryRepo()
    service.service_add(repo.as_("amina"), CLINIC_ENTRY)
    return repo


def consented(ctx, case_id: str, agency: str = "clinic", when: datetime | None = None, **extra) -> None:
    """The child's assent and the caregiver's consent to a referral to `agency`, one record each."""
    for giver in ("child", "caregiver"):
        service.consent(ctx, case_id, {"purpose": "referral", "agency": agency, "given_by": giver, "status": "given",
                                       "explained": EXPLAINED, **extra}, when)


def refer(ctx, case_id: str, need: str = "treatment for malnutrition", checks=ALL_CHECKS, when: datetime | None = None):
    return service.refer(ctx, case_id, {"service": "clinic", "need": need, "checks": dict.fromkeys(checks, True)}, when)


# -- the rules, at the service level ---------------------------------------------------------------
def test_refer__refused_without_consent_accepted_with_it_refused_after_one_off_use(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        refer(amina, case_id)
    assert refused.value.rule == "consent-required" and "consent" in refused.value.message
    assert f"cpcm consent {case_id} --purpose referral --agency clinic --by child --by caregiver" in refused.value.hint
    assert (f"a supervisor or manager records an override: cpcm consent {case_id} --override --purpose referral --agency clinic "
            "--basis legal_mandate|best_interests --reason ...") in refused.value.hint
    assert mem.commits() == before
    consented(amina, case_id, one_off=True)
    written = refer(amina, case_id)
    assert written.kind == "referral" and mem.commits() == before + 3
    with pytest.raises(Refused) as again:
        refer(amina, case_id)
    assert again.value.rule == "consent-required" and "already used" in again.value.message


def test_refer__a_one_off_consent_corrected_after_its_use_is_not_used_again(mem):
    """The child's one-off consent used by a referral, then its date corrected: the corrected
    consent is the same consent, used (it was relied on again before)."""
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id, one_off=True)
    refer(amina, case_id)
    child = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "child"][0]
    service.correct(amina, case_id, child, {"until": "2027-06-30"}, "the end date was typed wrong")
    before = mem.commits()
    with pytest.raises(Refused) as again:
        refer(amina, case_id, need="a second opinion")
    assert again.value.rule == "consent-required" and "the child's one-off consent for referral for clinic was already used" \
        in again.value.message
    assert mem.commits() == before
    assert [c["state"] for c in service.show(amina, case_id)["consents"]] == ["used", "used"]  # as show reads it back


def test_refer__expired_consent_counts_as_none(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id, until="2026-11-30")
    later = mem.as_("amina", now="2026-12-02T09:00:00+03:00")  # the last day it held has passed
    with pytest.raises(Refused) as refused:
        refer(later, case_id)
    assert refused.value.rule == "consent-required" and "expired" in refused.value.message


def test_refer__at_judges_the_consent_and_the_childs_age_as_they_stood_then():
    """A referral recorded late (`--at`) is sent on the consent as it was recorded then, and the
    child's age is counted on its day: the caregiver's consent alone sufficed while the child was
    under the agency's `consent.child_from_age`; a consent given since did not exist yet; one whose
    last day has passed since still held."""
    repo = MemoryRepo(rules={"consent": {"child_from_age": 5}})
    amina = repo.as_("amina")
    service.service_add(amina, CLINIC_ENTRY)
    child = {"name": "Test Child", "sex": "female", "date_of_birth": "2021-11-25", "disability": "no"}  # 5 on 2026-11-25
    young = repo.register(amina, at="2026-11-01T09:00:00+03:00", child=child,
                          consent={"child": "not_possible", "caregiver": "given", "explained": True})
    service.consent(amina, young, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": "given",
                                   "explained": EXPLAINED}, at("2026-11-20T10:00:00+03:00"))
    later = repo.as_("amina", now="2026-11-26T09:00:00+03:00")  # 5 now, 4 on the day it was sent
    assert refer(later, young, when=at("2026-11-24T15:00:00+03:00")).kind == "referral"
    with pytest.raises(Refused) as refused:  # sent today, she is asked too
        refer(later, young, need="a second opinion")
    assert "no child consent" in refused.value.message
    # a consent given after the time the referral is recorded for did not allow it
    case_id = repo.register(amina, at="2026-11-01T09:00:00+03:00")
    consented(amina, case_id)
    before = repo.commits()
    with pytest.raises(Refused) as refused:
        refer(amina, case_id, when=at("2026-11-05T10:00:00+03:00"))
    # not "none is recorded" (recording it again changes nothing): it is on file, dated after; its time is corrected
    assert refused.value.rule == "consent-required" and "the consent on file is dated after it" in refused.value.message
    assert "cpcm correct" in refused.value.hint and "--at WHEN" in refused.value.hint
    assert repo.commits() == before
    # a consent that held on the day of the referral, ended since
    ended = repo.register(amina, at="2026-11-01T09:00:00+03:00")
    consented(amina, ended, when=at("2026-11-02T09:00:00+03:00"), until="2026-11-30")
    december = repo.as_("amina", now="2026-12-02T09:00:00+03:00")
    assert refer(december, ended, when=at("2026-11-30T10:00:00+03:00")).kind == "referral"
    with pytest.raises(Refused) as refused:
        refer(december, ended, need="a second opinion")
    assert "expired on 2026-11-30" in refused.value.message


def test_refer__at_judges_a_consent_whose_time_was_corrected_by_its_correction(mem):
    """The child's consent, recorded on 2 November, is corrected: she gave it on the 10th. A
    referral recorded late, for the 5th, is refused (update-correct.md: the case is worked out with
    the correction in the original's place; referrals.md: an answer dated after the time given does
    not count), naming the correction, as if the consent had been recorded on the 10th (was: the
    original, dated before, still counted, and the referral relied on it)."""
    amina = mem.as_("amina")
    case_id = mem.register(amina, at="2026-11-01T09:00:00+03:00")
    consented(amina, case_id, when=at("2026-11-02T09:00:00+03:00"))
    child = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "child"][0]
    corrected = service.correct(amina, case_id, child, {}, "she gave it on the 10th", at("2026-11-10T10:00:00+03:00"))
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        refer(amina, case_id, when=at("2026-11-05T10:00:00+03:00"))
    assert refused.value.rule == "consent-required"
    assert f"the consent on file is dated after it ({corrected.record_id})" in refused.value.message, refused.value.message
    assert mem.commits() == before
    # its correction corrected again, to the 11th: the message names the correction in force, not the one it replaced
    again = service.correct(amina, case_id, corrected.record_id, {}, "on the 11th", at("2026-11-11T10:00:00+03:00"))
    with pytest.raises(Refused) as refused:
        refer(amina, case_id, when=at("2026-11-05T10:00:00+03:00"))
    assert f"dated after it ({again.record_id})" in refused.value.message, refused.value.message
    # a consent corrected to an earlier time holds from then
    other = mem.register(amina, at="2026-11-01T09:00:00+03:00")
    consented(amina, other, when=at("2026-11-10T09:00:00+03:00"))
    for record in [r["record_id"] for r in service.show(amina, other)["consents"]]:
        service.correct(amina, other, record, {}, "given on the 2nd", at("2026-11-02T09:00:00+03:00"))
    assert refer(amina, other, when=at("2026-11-05T10:00:00+03:00")).kind == "referral"


def test_refer__the_refusal_asks_only_for_the_answers_missing_or_not_valid(mem):
    """The caregiver's consent holds until June; the child's is missing, or not possible: the hint
    asks for the child's answer only (following one naming both replaced the caregiver's dated
    consent). A step's warning names only the missing giver too."""
    from cpcm.service.referrals import check_step_consent

    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": "given",
                                     "explained": EXPLAINED, "until": "2027-06-30"})
    for answer in (None, "not_possible"):
        if answer:
            service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "child", "status": answer,
                                             "reason": "too unwell to be asked", "explained": EXPLAINED})
        with pytest.raises(Refused) as refused:
            refer(amina, case_id)
        assert f"cpcm consent {case_id} --purpose referral --agency clinic --by child --status given" in refused.value.hint
        assert "--by caregiver" not in refused.value.hint
    service.consent(amina, case_id, {"purpose": "assessment", "given_by": "caregiver", "status": "given", "explained": EXPLAINED})
    _result, warnings = check_step_consent(amina, case_id, "comprehensive", service.load_records(amina, case_id))
    assert [w.split("record it: ")[1] for w in warnings] == [
        f"cpcm consent {case_id} --purpose assessment --by child --status given --explained all"]


def test_refer__consent_for_another_agency_does_not_count(mem):
    amina = mem.as_("amina")
    service.service_add(amina, {"id": "school", "provider": "Primary School", "sector": "education", "services": ["schooling"]})
    case_id = mem.register(amina)
    consented(amina, case_id, agency="school")
    with pytest.raises(Refused) as refused:
        refer(amina, case_id)
    assert refused.value.rule == "consent-required"


def test_consent__with_two_givers_the_reason_goes_on_the_refused_answer_only(mem):
    """`--by child --by caregiver --status given --status refused --reason ...`: the reason is why the
    caregiver refused; the child's assent, given, does not carry it."""
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": ["child", "caregiver"],
                                     "status": ["given", "refused"], "reason": CANARY, "explained": EXPLAINED})
    bodies = {r.body["given_by"]: r.body for r in service.load_records(amina, case_id) if r.kind == "consent"}
    assert "reason" not in bodies["child"] and bodies["caregiver"]["reason"] == CANARY
    other = mem.register(amina)  # both not possible: each carries it
    service.consent(amina, other, {"purpose": "referral", "agency": "clinic", "given_by": ["child", "caregiver"],
                                   "status": "not_possible", "reason": "not traced yet", "explained": EXPLAINED})
    assert [r.body.get("reason") for r in service.load_records(amina, other) if r.kind == "consent"] == ["not traced yet"] * 2


def test_consent__for_an_agency_not_in_the_directory_is_refused(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        consented(amina, case_id, agency="nowhere")
    assert {e.field for e in refused.value.errors} == {"agency"}
    assert mem.commits() == before


def test_consent__every_bad_field_at_once_the_forms_the_agency_the_end_date_and_the_time(mem):
    """A consent's own checks (its agency, its end date, the time it is dated) are made with the
    form's: one refusal names them all, rather than one after another is fixed."""
    from datetime import timedelta

    amina = mem.as_("amina")
    case_id = mem.register(amina)
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        service.consent(amina, case_id, {"purpose": "referral", "agency": "nowhere", "given_by": "child", "status": "maybe",
                                         "explained": EXPLAINED, "until": "2026-01-01"}, amina.now + timedelta(days=1))
    assert {e.field for e in refused.value.errors} == {"status", "agency", "until", "at"}, str(refused.value)
    assert mem.commits() == before


def test_consent__refused_or_not_possible_needs_its_reason(mem):
    """workflow.md: 'given, refused or not_possible, with the reason for the last two'. Without one,
    the answer is refused naming `reason` (with two givers, the giver whose answer needs it), and
    nothing is written."""
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    before = mem.commits()
    for status in ("refused", "not_possible"):
        with pytest.raises(InvalidInput) as refused:
            service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": status,
                                             "explained": EXPLAINED})
        assert [e.field for e in refused.value.errors] == ["reason"], str(refused.value)
    with pytest.raises(InvalidInput) as refused:
        service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": ["child", "caregiver"],
                                         "status": ["given", "refused"], "explained": EXPLAINED})
    assert [e.field for e in refused.value.errors] == ["caregiver: reason"], str(refused.value)
    assert mem.commits() == before
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": "refused",
                                     "reason": "changed their mind", "explained": EXPLAINED})
    assert mem.commits() == before + 1
    # a consent corrected to refused: the record's own reason is named as --set gives it (--reason is the correction's)
    given = service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "child", "status": "given",
                                             "explained": EXPLAINED})
    with pytest.raises(InvalidInput) as refused:
        service.correct(amina, case_id, given.record_id, {}, "recorded wrongly", sets=[("status", "refused")])
    (error,) = [e for e in refused.value.errors if e.field == "reason"]
    assert "--set reason=TEXT" in error.reason, error


def test_refer__the_need_the_checks_and_the_action_are_named_together(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id)
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        service.refer(amina, case_id, {"service": "clinic", "need": " ", "checks": dict.fromkeys(ALL_CHECKS[:2], True), "action": "A9"})
    assert {e.field for e in refused.value.errors} == {"need", "action"} | {f"checks.{c}" for c in ALL_CHECKS[2:]}, str(refused.value)
    assert mem.commits() == before


def test_consent__to_a_transfer_names_an_agency_code_and_an_override_an_agency_it_can_use(mem):
    """A transfer's consent names the receiving agency as `cpcm transfer --to` does (a code or a
    service id, never words: a name typed there would stay in the record); an override of
    consent to a referral or a sharing names a service of the directory, as consent does. The
    value typed is not repeated."""
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    before = mem.commits()
    for typed in ("Mama Otieno's home", "nowhere near"):
        with pytest.raises(InvalidInput) as refused:
            consented(amina, case_id, purpose="transfer", agency=typed)
        assert [e.field for e in refused.value.errors] == ["agency"] and "otieno" not in str(refused.value).lower()
    with pytest.raises(InvalidInput) as override:
        service.consent_override(sup, case_id, "transfer", "best_interests", "safer there", "Mama Otieno's home")
    assert [e.field for e in override.value.errors] == ["agency"]
    with pytest.raises(InvalidInput) as elsewhere:
        service.consent_override(sup, case_id, "referral", "best_interests", "needs treatment now", "nowhere")
    assert [e.field for e in elsewhere.value.errors] == ["agency"] and "directory" in elsewhere.value.errors[0].reason
    assert mem.commits() == before
    # an agency code outside the directory is a transfer's, with consent or an override
    consented(amina, case_id, purpose="transfer", agency="KISUMU-CCI")
    service.consent_override(sup, case_id, "transfer", "best_interests", "safer there", "NAIROBI.CO")
    assert mem.commits() == before + 3  # the child's and the caregiver's consent, the override


def test_refer__a_supervisors_override_stands_in_once(mem):
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": "refused",
                                     "explained": EXPLAINED, "reason": "distrust"})
    with pytest.raises(Refused) as own:
        service.consent_override(amina, case_id, "referral", "best_interests", "x", "clinic")
    assert own.value.rule == "consent-override-needs-supervisor" and "supervisor" in own.value.message
    with pytest.raises(InvalidInput) as bad:
        service.consent_override(sup, case_id, "referral", "whim", "x", "clinic")
    assert {e.field for e in bad.value.errors} == {"basis"}
    service.consent_override(sup, case_id, "referral", "best_interests", "the child is malnourished and needs treatment now",
                             "clinic")
    done = refer(amina, case_id)
    assert any("overridden" in w for w in done.warnings)
    with pytest.raises(Refused) as used:  # the override was used
        refer(amina, case_id)
    assert used.value.rule == "consent-required"


def test_refer__with_an_override_for_the_caregiver_the_childs_one_off_assent_is_used_too(mem):
    """The child assented to one referral; the caregiver could not be asked, and a supervisor's
    override stood in for them. The referral used the child's one-off assent as well as the
    override (was: only the override was marked used, so the same assent, months later, let a
    second referral go on it as if the child had assented again, and `show` listed it as valid)."""
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "child", "status": "given",
                                     "explained": EXPLAINED, "one_off": True})
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver",
                                     "status": "not_possible", "explained": EXPLAINED, "reason": "not traced yet"})
    service.consent_override(sup, case_id, "referral", "best_interests", "needs treatment now", "clinic")
    refer(amina, case_id)
    child = [c for c in service.show(amina, case_id)["consents"] if c["given_by"] == "child"]
    assert [c["state"] for c in child] == ["used"], child
    service.consent_override(sup, case_id, "referral", "best_interests", "needs treatment again", "clinic")
    again = refer(amina, case_id)  # the new override stands in for both now, and says so
    assert any("the child's one-off consent for referral for clinic was already used" in w for w in again.warnings), again.warnings


def consent_problems(ctx, case_id: str) -> list:
    return [p for p in service.check(ctx, case_id) if p.code == "referral-consent-corrected"]


def test_correct__a_consent_a_referral_was_sent_on_corrected_to_refused_warns_and_stays_a_problem_until_dealt_with(mem):
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    consented(amina, case_id)
    refer(amina, case_id)
    refer(amina, case_id, need="a second opinion")  # R2, on the same consent
    assert consent_problems(amina, case_id) == []
    caregivers = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "caregiver"]
    corrected = service.correct(amina, case_id, caregivers[0], {"status": "refused", "reason": "no"}, "the caregiver had in fact refused")
    assert [w.split(" was sent on ")[0] for w in corrected.warnings] == ["referral R1 (clinic)", "referral R2 (clinic)"]
    assert all(f"caregiver's consent {caregivers[0]}" in w and f"correction {corrected.record_id} says it was 'refused'" in w
               and "without valid consent" in w for w in corrected.warnings)
    problems = consent_problems(amina, case_id)
    assert [(p.severity, p.message.split(" was sent")[0]) for p in problems] == [("error", "referral R1 (clinic)"),
                                                                                ("error", "referral R2 (clinic)")]
    assert problems[0].message == corrected.warnings[0] and problems[0].rule == "consent"
    shown = [p for p in service.show(amina, case_id)["problems"] if p["code"] == "referral-consent-corrected"]
    assert shown == [p.to_json() for p in problems]
    # R1 is closed; a supervisor's override stands in for R2's consent, once: it is not there for a new referral
    service.referral(amina, case_id, "R1", {"status": "closed"})
    service.consent_override(sup, case_id, "referral", "best_interests", "the child needed treatment", "clinic")
    assert consent_problems(amina, case_id) == []
    assert [r["state"] for r in service.show(amina, case_id)["consents"] if r["kind"] == "consent_override"] == ["used"]
    service.referral(amina, case_id, "R2", {"status": "closed"})  # closed after the override stood in: the override stays used
    assert [r["state"] for r in service.show(amina, case_id)["consents"] if r["kind"] == "consent_override"] == ["used"]
    with pytest.raises(Refused) as again:
        refer(amina, case_id)
    assert again.value.rule == "consent-required"


def test_correct__a_consent_a_referral_was_sent_on_corrected_to_a_time_after_it_warns_and_is_a_problem(mem):
    """The referral went on 5 November on the child's consent of the 2nd; a correction says she
    gave it on the 10th: the referral went without valid consent, as a consent corrected to an end
    before it did (update-correct.md: the correction in the original's place; was: written with no
    warning, and `check` said nothing). A correction of its time to another before the referral is
    not."""
    amina = mem.as_("amina")
    case_id = mem.register(amina, at="2026-11-01T09:00:00+03:00")
    consented(amina, case_id, when=at("2026-11-02T09:00:00+03:00"))
    refer(amina, case_id, when=at("2026-11-05T10:00:00+03:00"))
    child, caregiver = ([r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == g][0]
                        for g in ("child", "caregiver"))
    earlier = service.correct(amina, case_id, caregiver, {}, "given in the morning", at("2026-11-04T08:00:00+03:00"))
    assert earlier.warnings == () and consent_problems(amina, case_id) == []
    corrected = service.correct(amina, case_id, child, {}, "she gave it on the 10th", at("2026-11-10T10:00:00+03:00"))
    assert [w.split(" was sent on ")[0] for w in corrected.warnings] == ["referral R1 (clinic)"], corrected.warnings
    assert (f"child's consent {child}, and correction {corrected.record_id} says it was given on 2026-11-10, after the "
            "referral was sent: the referral went without valid consent") in corrected.warnings[0]
    assert [p.message for p in consent_problems(amina, case_id)] == list(corrected.warnings)


def test_correct__the_childs_consent_a_referral_was_sent_on_corrected_to_the_caregivers_warns_and_is_a_problem(mem):
    """The referral went on the child's and the caregiver's consent; a correction says the child's
    was the caregiver's (`given_by`): the referral had no answer of the child's, and went without
    valid consent (update-correct.md; was: written with no warning, and `check` said nothing)."""
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id)
    refer(amina, case_id)
    child = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "child"][0]
    corrected = service.correct(amina, case_id, child, {"given_by": "caregiver"}, "wrong giver")
    assert [w.split(" was sent on ")[0] for w in corrected.warnings] == ["referral R1 (clinic)"], corrected.warnings
    assert (f"child's consent {child}, and correction {corrected.record_id} says it was given by the caregiver, not the "
            "child: the referral went without valid consent") in corrected.warnings[0]
    assert [p.message for p in consent_problems(amina, case_id)] == list(corrected.warnings)


def test_due__a_consent_corrected_away_is_due_from_the_correction_not_the_consents_own_time(mem):
    """The caregiver's consent, given on 23 November, is corrected to refused on 22 December: the
    referral's `referral-consent-corrected` item is due from the correction (commands/workflow.md: 'due
    from the answer or the correction that took the consent away'), not 49 days late at once."""
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id)
    refer(amina, case_id)
    caregiver = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "caregiver"][0]
    mem.now = at("2026-12-22T10:00:00+03:00")
    later = mem.as_("amina")
    service.correct(later, case_id, caregiver, {"status": "refused", "reason": "she had said no"}, "recorded wrong")
    item = next(i for i in service.due(later) if i.case_id == case_id and i.code == "referral-consent-corrected")
    assert item.due == at("2026-12-22T10:00:00+03:00"), item.due


def withdrawn_problems(ctx, case_id: str) -> list:
    return [p for p in service.check(ctx, case_id) if p.code == "referral-consent-withdrawn"]


def refusal(ctx, case_id: str, giver: str = "caregiver", status: str = "refused"):
    return service.consent(ctx, case_id, {"purpose": "referral", "agency": "clinic", "given_by": giver, "status": status,
                                          "reason": "changed their mind", "explained": EXPLAINED})


def test_consent__refused_after_a_referral_was_sent_warns_and_is_an_error_until_it_is_closed_or_overridden(mem):
    """The caregiver refuses, after the referral went, the consent it was sent on: nothing more
    goes to the service on it. The answer warns, and `check` says so, until the referral is
    closed or a supervisor's override stands in; a new referral still needs consent."""
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    consented(amina, case_id)
    refer(amina, case_id)
    refer(amina, case_id, need="a second opinion")  # R2, on the same consent
    caregiver = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "caregiver"][0]
    refused = refusal(amina, case_id)
    assert [w.split(" was sent on ")[0] for w in refused.warnings] == ["referral R1 (clinic)", "referral R2 (clinic)"]
    assert all(f"caregiver's consent {caregiver}" in w and f"answer since ({refused.record_id}) is 'refused'" in w
               and f"cpcm referral {case_id} R" in w and "--override --purpose referral --agency clinic" in w for w in refused.warnings)
    problems = withdrawn_problems(amina, case_id)
    assert [(p.severity, p.message) for p in problems] == [("error", w) for w in refused.warnings]
    assert [p["code"] for p in service.show(amina, case_id)["problems"]].count("referral-consent-withdrawn") == 2
    service.referral(amina, case_id, "R1", {"status": "closed"})
    service.consent_override(sup, case_id, "referral", "best_interests", "the child needs the treatment", "clinic")
    assert withdrawn_problems(amina, case_id) == []  # R1 closed, the override stands in for R2's consent
    with pytest.raises(Refused) as again:  # the override was used by R2: none is left for a new referral
        refer(amina, case_id)
    assert again.value.rule == "consent-required"
    # the child's answer alone (the caregiver's given again since) is another referral's matter
    other = mem.register(amina)
    consented(amina, other)
    refer(amina, other)
    assert refusal(amina, other, "child", "not_possible").warnings and len(withdrawn_problems(amina, other)) == 1
    consented(amina, other)  # asked again: both given
    assert withdrawn_problems(amina, other) == []
    # an answer given, or one for another purpose, warns of nothing
    quiet = mem.register(amina)
    consented(amina, quiet)
    refer(amina, quiet)
    assert service.consent(amina, quiet, {"purpose": "sharing", "agency": "clinic", "given_by": "caregiver", "status": "refused",
                                          "reason": "no", "explained": EXPLAINED}).warnings == ()
    assert withdrawn_problems(amina, quiet) == []


def test_refer__refused_on_a_consent_corrected_to_another_service(mem):
    """A consent corrected to name another service (or giver) no longer counts for the one it
    first named: the referral was allowed on the record the correction replaced."""
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id)
    caregiver = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "caregiver"][0]
    service.correct(amina, case_id, caregiver, {"agency": "school"}, "the caregiver agreed to the school only")
    with pytest.raises(Refused) as refused:
        refer(amina, case_id)
    assert refused.value.rule == "consent-required"
    assert "no caregiver consent for referral for clinic is recorded" in refused.value.message


def test_correct__a_consent_corrected_back_to_given_or_never_relied_on_raises_nothing(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id)
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "child", "status": "given",
                                     "explained": EXPLAINED})  # a later answer, relied on by no referral yet
    refer(amina, case_id)
    first = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "child"][0]
    # the referral used the later one
    unused = service.correct(amina, case_id, first, {"status": "refused", "reason": "no"}, "wrong giver's answer")
    assert unused.warnings == () and consent_problems(amina, case_id) == []
    caregiver = [r["record_id"] for r in service.show(amina, case_id)["consents"] if r["given_by"] == "caregiver"][0]
    wrong = service.correct(amina, case_id, caregiver, {"status": "not_possible", "reason": "away"}, "typed the wrong answer")
    assert len(wrong.warnings) == 1 and "it was 'not_possible'" in wrong.warnings[0] and len(consent_problems(amina, case_id)) == 1
    back = service.correct(amina, case_id, wrong.record_id, {"status": "given"}, "it was given after all")
    assert back.warnings == () and consent_problems(amina, case_id) == []


def test_referral__carries_only_what_the_sharing_rule_allows(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "yes"},
                           notes="private note about the family", concerns=["sexual_abuse"])
    consented(amina, case_id)
    refer(amina, case_id)
    referral = next(r for r in service.load_records(amina, case_id) if r.kind == "referral")
    shared = referral.body["shared"]
    assert set(shared) == {"identity", "contact", "need", "urgency", "medical"}  # health: the default and medical
    text = json.dumps(shared)
    assert CANARY in text  # the name is part of identity
    assert "sexual_abuse" not in text and "private note" not in text and "date_of_birth" not in text


def test_refer__carries_only_what_every_consent_it_relies_on_lists_as_shareable(mem):
    """A consent's --share says what may be shared (IAG Step 4): a referral carries the sector's groups
    (the policy's sharing rule) that every consent it relies on lists, and says what it left out,
    naming each consent (fixed-list values and record IDs only); the letter holds nothing of the rest.
    Consents that list every group, or list none, narrow nothing; nor does an override."""
    amina = mem.as_("amina")
    case_id = mem.register(amina, child={"name": CANARY, "sex": "female", "age_estimate": 9})
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "child", "status": "given",
                                     "explained": EXPLAINED, "shares": ["identity", "need", "medical"]})
    service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": "given",
                                     "explained": EXPLAINED, "shares": ["identity", "need", "medical", "urgency"]})
    written = refer(amina, case_id)
    [warning] = written.warnings
    child, caregiver = (r.id for r in service.load_records(amina, case_id) if r.kind == "consent")
    assert warning.startswith("referral R1 does not carry contact, urgency, which the policy's sharing rule gives the health sector: "
                              f"the child's consent ({child}) does not list contact, urgency as shareable; the caregiver's consent "
                              f"({caregiver}) does not list contact as shareable. It carries identity, need, medical."), warning
    assert f"cpcm consent {case_id} --purpose referral --agency clinic --share" in warning and CANARY not in warning
    referral = next(r for r in service.load_records(amina, case_id) if r.kind == "referral")
    assert referral.body["shared_groups"] == ["identity", "need", "medical"] and set(referral.body["shared"]) == {"identity", "need", "medical"}
    letter = service.render(amina, "referral-letter", case_id, "R1").text
    assert CANARY in letter and "Nyalenda" not in letter and "Test Caregiver" not in letter
    # consents that cover every group the sector carries, or list none: the sector's groups, nothing to say
    consented(amina, case_id, shares=["identity", "contact", "need", "urgency", "medical"])
    assert refer(amina, case_id).warnings == ()
    consented(amina, case_id)
    assert refer(amina, case_id).warnings == ()
    carried = [r.body["shared_groups"] for r in service.load_records(amina, case_id) if r.kind == "referral"]
    assert carried[1:] == [["identity", "contact", "need", "urgency", "medical"]] * 2
    letter = service.render(amina, "referral-letter", case_id, "R3").text
    assert "Nyalenda" in letter and "Test Caregiver" in letter


def test_referral__lifecycle_refuses_jumps_and_needs_start_and_duration(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id)
    refer(amina, case_id)
    before = mem.commits()
    with pytest.raises(Refused) as jump:
        service.referral(amina, case_id, "R1", {"status": "delivered", "feedback": "done"})
    assert jump.value.rule == "referral-lifecycle"
    assert "cannot become 'delivered'" in jump.value.message and "accepted" in jump.value.hint
    with pytest.raises(InvalidInput) as bare:
        service.referral(amina, case_id, "R1", {"status": "accepted"})
    assert {e.field for e in bare.value.errors} == {"start", "expected_duration"}
    assert mem.commits() == before
    service.referral(amina, case_id, "R1", {"status": "accepted", "start": "2026-11-25", "expected_duration": "6w"})
    service.referral(amina, case_id, "R1", {"status": "delivered", "feedback": "treated"})
    shown = service.show(amina, case_id)
    assert [h["status"] for h in shown["referrals"][0]["history"]] == ["sent", "accepted", "delivered"]
    with pytest.raises(NotFound):
        service.referral(amina, case_id, "R9", {"status": "closed"})


def test_referral__a_start_before_the_day_it_was_sent_is_refused_naming_that_day(mem):
    amina = mem.as_("amina", now="2026-12-02T09:00:00+03:00")
    case_id = mem.register(amina, at="2026-11-20T09:00:00+03:00")
    consented(amina, case_id, when=at("2026-11-30T10:00:00+03:00"))
    refer(amina, case_id, when=at("2026-12-01T22:30:00+00:00"))  # 2 December, 01:30 in the agency's zone
    before = mem.commits()
    for start in ("2026-11-09", "2026-12-01"):  # the second is the day it was sent in UTC, not in the agency's zone
        with pytest.raises(InvalidInput) as early:
            service.referral(amina, case_id, "R1", {"status": "accepted", "start": start, "expected_duration": "3mo"})
        assert [(e.field, e.reason) for e in early.value.errors] == [
            ("start", "is before 2026-12-02, the day the referral was sent: give the day the service starts, that day or later")]
        assert mem.commits() == before
    assert service.show(amina, case_id)["referrals"][0]["status"] == "sent"
    service.referral(amina, case_id, "R1", {"status": "accepted", "start": "2026-12-02", "expected_duration": "3mo"})
    assert mem.commits() == before + 1


def test_cli__referral_start_before_it_was_sent_exit_4_nothing_written(cli, repo):
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    assert cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    before = commit_count(repo)
    early = cli("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-09", "--expected-duration", "3mo", "--json")
    assert early.code == 4, early.stdout
    assert [(f["field"], f["reason"]) for f in early.json()["fields"]] == [
        ("start", "is before 2026-11-23, the day the referral was sent: give the day the service starts, that day or later")]
    assert commit_count(repo) == before
    no_day = cli("referral", case_id, "R1", "--status", "accepted", "--start", "2027-02-30", "--json")
    assert no_day.code == 4, no_day.stdout
    assert [f["reason"] for f in no_day.json()["fields"] if f["field"] == "start"] == [
        "is not a date of the calendar: it is in the shape YYYY-MM-DD, but that month has no such day (or there is no "
        "such month): check the day and the month"]
    assert commit_count(repo) == before
    # what is missing is named by the option to type, as the other commands name theirs
    bare = cli("referral", case_id, "R1", "--status", "accepted")
    assert bare.code == 4 and "--start (start): is required" in bare.stderr, bare.stderr
    assert "--expected-duration (expected_duration): is required" in bare.stderr and commit_count(repo) == before
    no_time = cli("referral", case_id, "R1", "--status", "accepted", "--start", "2027-02-03T25:00", "--json")
    assert no_time.code == 4, no_time.stdout
    [reason] = [f["reason"] for f in no_time.json()["fields"] if f["field"] == "start"]
    assert "the date is right, but the time after it is not a time of day" in reason and "no such day" not in reason, reason
    assert commit_count(repo) == before


def test_due__referral_waiting_for_feedback_past_the_policy_time_and_declines_raise_a_follow_up(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina, at="2026-10-01T09:00:00+03:00")
    consented(amina, case_id, when=at("2026-10-01T10:00:00+03:00"))
    refer(amina, case_id, need="x", when=at("2026-10-02T09:00:00+03:00"))
    items = {i.code: i for i in service.due(amina) if i.case_id == case_id}
    feedback = items["referral-feedback"]
    assert feedback.due.date().isoformat() == "2026-10-16" and feedback.due < amina.now  # overdue
    service.referral(amina, case_id, "R1", {"status": "declined", "feedback": "no places"})
    codes = {i.code for i in service.due(amina) if i.case_id == case_id}
    assert "referral-feedback" not in codes and "referral-follow-up" in codes


def test_referral__the_next_steps_say_acknowledged_leaves_the_feedback_due(mem):
    """'acknowledged' does not answer the feedback item: the hint after `refer` offers only the
    statuses that do (was: 'acknowledged|accepted|declined', and the item stayed overdue after
    it), and `referral --status acknowledged` says the feedback is still expected."""
    amina = mem.as_("amina")
    case_id = mem.register(amina, at="2026-10-01T09:00:00+03:00")
    consented(amina, case_id, when=at("2026-10-01T10:00:00+03:00"))
    sent = refer(amina, case_id, need="x", when=at("2026-10-02T09:00:00+03:00"))
    assert "--status accepted|declined ..." in sent.next_steps[0] and "acknowledged|" not in sent.next_steps[0], sent.next_steps
    acknowledged = service.referral(amina, case_id, "R1", {"status": "acknowledged"})
    assert any("still expected within 14 days" in step for step in acknowledged.next_steps), acknowledged.next_steps
    assert "referral-feedback" in {i.code for i in service.due(amina) if i.case_id == case_id}


def test_referral__declined_while_closure_is_requested_suggests_no_command_the_stage_refuses(mem):
    """After a decline the next step is another service or a new plan; with the closure requested, the
    stage allows neither a new referral nor a plan version: the step says so rather than suggest them."""
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    consented(amina, case_id)
    refer(amina, case_id)
    refer(amina, case_id, need="a second opinion")
    steps = service.referral(amina, case_id, "R1", {"status": "declined", "feedback": "full"}).next_steps
    assert steps == ("find another service or replan; the case stays yours: cpcm service list, cpcm refer, cpcm plan",)
    service.close(amina, case_id, {"reason": "declined", "checklist": ["decision_respected", "no_grounds_to_override",
                                                                       "child_safe_enough"], "open_items_explained": "family left"})
    assert service.show(amina, case_id)["stage"] == "closure_requested"
    steps = service.referral(amina, case_id, "R2", {"status": "declined", "feedback": "family left"}).next_steps
    assert len(steps) == 1 and not re.search(r"cpcm refer(?!ral)|cpcm plan", steps[0]), steps
    assert f"cpcm close {case_id} --withdraw" in steps[0] and f"cpcm referral {case_id} R2 --status closed" in steps[0]


def test_refer__the_six_checks_are_asked_for(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    with pytest.raises(InvalidInput) as refused:
        refer(amina, case_id, need="x", checks=["eligibility_known"])
    assert {e.field for e in refused.value.errors} == {f"checks.{c}" for c in ("need_matched", "cost_distance_considered",
                                                                                "provider_told")}


def test_service_gaps__needs_no_provider_answers(mem):
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.assess(amina, case_id, "comprehensive", {
        "dimensions": {"physical": {"risks": "x"}}, "child_views": "x", "outcome_explained_to_child": "yes",
        "consulted": ["child"], "needs": ["nutrition support", "birth certificate"]})
    gaps = {g["need"]: g["cases"] for g in service.service_gaps(amina)}
    assert gaps == {"birth certificate": 1}


# -- end to end: the CLI, git and age --------------------------------------------------------------
def test_cli__consent_refer_referral_exit_codes_json_and_one_commit_each(cli, cli_as, repo):
    before = commit_count(repo)
    assert cli(*CLINIC).code == 0
    assert commit_count(repo) == before + 1
    case_id = register(cli)
    before = commit_count(repo)
    refused = cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "consent-required" and "consent" in refused.json()["message"]
    missing = cli("refer", case_id, "--service", "clinic", "--need", "x", "--check", "eligibility_known")
    assert missing.code == 4 and "checks.provider_told" in missing.stderr
    own = cli("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis", "best_interests",
              "--reason", "x")
    assert own.code == 4 and "supervisor" in own.stderr
    assert commit_count(repo) == before
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    assert commit_count(repo) == before + 2
    for checks in (["all", "eligbility"], ["eligbility", "need_matched", "cost_distance_considered", "provider_told"]):
        typo = cli("refer", case_id, "--service", "clinic", "--need", "treatment", *[a for c in checks for a in ("--check", c)],
                   "--json")  # a misspelt check is refused, beside 'all' too
        assert typo.code == 4 and [f["field"] for f in typo.json()["fields"]] == ["check"] + (
            ["checks.eligibility_known"] if "all" not in checks else [])
        assert typo.json()["fields"][0]["reason"] == ("is not one of: eligibility_known, need_matched, cost_distance_considered, "
                                                      "provider_told (or all); did you mean 'eligibility_known'?")
    assert commit_count(repo) == before + 2
    sent = cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all", "--json")
    assert sent.code == 0, sent.stderr
    assert sent.json()["kind"] == "referral" and sent.json()["case_id"] == case_id
    assert set(sent.json()) == {"case_id", "record_id", "kind", "warnings", "next_steps"}
    assert any(f"cpcm referral {case_id} R1" in s for s in sent.json()["next_steps"])
    assert commit_count(repo) == before + 3
    jump = cli("referral", case_id, "R1", "--status", "delivered", "--feedback", "done")
    assert jump.code == 4 and "cannot become 'delivered'" in jump.stderr and "accepted" in jump.stderr
    accepted = cli("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-25", "--expected-duration", "6w")
    assert accepted.code == 0, accepted.stderr
    assert commit_count(repo) == before + 4
    assert cli("referral", case_id, "R9", "--status", "closed").code == 3
    assert [h["status"] for h in cli("show", case_id, "--json").json()["referrals"][0]["history"]] == ["sent", "accepted"]
    assert commit_count(repo) == before + 4


def test_cli__refer_without_need_names_it_with_the_other_bad_fields_in_one_refusal(cli, repo):
    """`--need` left out was a usage error of its own (exit 2), the bad --action and --at named only after it was
    given; as docs/commands/referrals.md says, one refusal names them all and nothing is written."""
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    before = commit_count(repo)
    refused = cli("refer", case_id, "--service", "clinic", "--check", "all", "--action", "A9", "--at", "2027-01-01", "--json")
    assert refused.code == 4, refused.stderr
    assert {"need", "action", "at"} <= {f["field"] for f in refused.json()["fields"]}, refused.json()
    assert commit_count(repo) == before


def test_cli__consent_a_misspelt_explained_item_is_refused_beside_all_too(cli, repo):
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    before = commit_count(repo)
    for told in (["all", "confidentiality"], ["confidentiality"]):
        refused = cli("consent", case_id, *CONSENT[:-2], "--by", "child", *[a for t in told for a in ("--explained", t)], "--json")
        assert refused.code == 4, refused.stderr
        assert refused.json()["fields"] == [{"field": "explained", "reason": "is not one of: information, use, sharing, "
                                             "confidentiality_limits (or all); did you mean 'confidentiality_limits'?"}]
    assert commit_count(repo) == before


def test_cli__consent_a_name_typed_as_a_giver_is_named_by_its_place_never_repeated(cli, repo):
    """A name typed in --by beside another giver (or in a file's given_by, as a list or a mapping)
    is refused naming the giver by its place (exit 4), not echoed, and nothing is written."""
    case_id = register(cli)
    before = commit_count(repo)
    refused = cli("consent", case_id, "--purpose", "registration", "--status", "given", "--explained", "all",
                  "--by", "child", "--by", CANARY, "--json")
    assert refused.code == 4, refused.stderr
    assert refused.json()["fields"] == [{"field": "given_by[2]", "reason": "is not one of: child, caregiver", "option": "--by"}]
    assert CANARY not in refused.stderr + refused.stdout
    for given_by in ({CANARY: "child"}, ["caregiver", {CANARY: 1}]):
        doc = {"purpose": "registration", "given_by": given_by, "status": "given"}
        result = cli("consent", case_id, "--from-file", "-", input=json.dumps(doc))
        assert result.code == 4, result.stderr
        assert CANARY not in result.stderr + result.stdout
    assert commit_count(repo) == before


def test_service_import__a_bad_row_after_a_blank_line_is_named_as_a_spreadsheet_numbers_it(cli, repo, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,provider,sector,services\n"
                   "ok-one,Fine Provider,health,care\n"
                   "\n"
                   "Bad Id,Provider,health,care\n")
    result = cli("service", "import", str(bad))
    assert result.code == 4
    assert "row 4: id" in result.stderr and "row 3" not in result.stderr


def test_service_import__a_cell_it_would_not_read_is_refused_and_nothing_written(cli, repo, tmp_path):
    """A row with more cells than headings, a heading given twice, or a cell under a blank heading:
    the import is refused (exit 2), naming the row or column, and nothing is written (was: the
    cell was left out unread and the provider imported without it, exit 0). Empty cells past
    the headings are no problem."""
    path = tmp_path / "providers.csv"
    before = commit_count(repo)
    for text, said in (("id,provider,sector,services,cost\nclinic,County Clinic,health,child health,free,monthly\n",
                        "more cells than the 5 headings of row 1 in row 2 (6 cells)"),
                       ("id,provider,sector,services,cost,Cost\nclinic,County Clinic,health,child health,free,paid\n",
                        "column 6 has the heading of column 5"),
                       ("id,provider,sector,services,how to refer,How_To_Refer\nclinic,County Clinic,health,child health,walk in,call\n",
                        "column 6 has the heading of column 5"),  # both read as how_to_refer
                       ("id,provider,sector,,services\nclinic,County Clinic,health,free,child health\n",
                        "a cell under a blank heading holds something in row 2, column 4")):
        path.write_text(text)
        result = cli("service", "import", str(path), "--json")
        assert result.code == 2 and said in result.stderr, result.stderr
        assert result.json()["error"] == "UsageError"
    assert commit_count(repo) == before and cli("service", "list", "--json").json() == []
    path.write_text("id,provider,sector,services,\nclinic,County Clinic,health,child health,,\n")
    assert cli("service", "import", str(path)).code == 0


def test_service_import__good_file_and_three_bad_rows_nothing_written(cli, repo, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("id,provider,sector,services,cost,languages\n"
                    "clinic,County Clinic,health,child health;nutrition,free,English;Kiswahili\n"
                    "school,Primary School,education,schooling,free,Kiswahili\n")
    before = commit_count(repo)
    assert cli("service", "import", str(good)).code == 0
    assert commit_count(repo) == before + 1
    listed = cli("service", "list", "--json").json()
    assert {s["id"] for s in listed} == {"clinic", "school"}
    assert next(s for s in listed if s["id"] == "clinic")["services"] == ["child health", "nutrition"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,provider,sector,services\n"
                   "ok-one,Fine Provider,health,care\n"
                   "Bad Id,Provider,health,care\n"
                   "nosector,Provider,,care\n"
                   "wrong,Provider,astrology,care\n"
                   "Bad Too,Provider,astrology,care\n")
    result = cli("service", "import", str(bad))
    assert result.code == 4
    for row, field in (("row 3", "id"), ("row 4", "sector"), ("row 5", "sector"), ("row 6", "id"), ("row 6", "sector")):
        assert f"{row}: {field}" in result.stderr
    assert commit_count(repo) == before + 1
    assert {s["id"] for s in cli("service", "list", "--json").json()} == {"clinic", "school"}


def test_consent__under_the_agencys_child_from_age_the_caregivers_consent_alone_is_asked():
    """IAG gives no age for a child's assent ("under 5s: still explain"): an agency that sets
    `consent.child_from_age` asks a younger child's caregiver only. A baby's referral goes on the
    caregiver's consent, with no supervisor's override; an older child is asked as before; and in
    the profiles as shipped (0) every child is asked."""
    baby = {"name": "Test Baby", "sex": "male", "date_of_birth": "2025-06-01", "disability": "no"}
    for rules, older in (({"consent": {"child_from_age": 5}}, True), (None, False)):
        repo = MemoryRepo(rules=rules)
        service.service_add(repo.as_("amina"), CLINIC_ENTRY)
        amina = repo.as_("amina")
        infant = repo.register(amina, child=baby, consent={"child": "not_possible", "caregiver": "given", "explained": True})
        child = repo.register(amina)  # born 2015: older than 5
        for case_id in (infant, child):
            service.consent(amina, case_id, {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": "given",
                                             "explained": EXPLAINED})
        if rules:
            sent = refer(amina, infant)  # no override: no "consent overridden" warning
            assert sent.kind == "referral" and not any("overridden" in w for w in sent.warnings)
        else:
            with pytest.raises(Refused) as refused:
                refer(amina, infant)
            assert "no child consent for referral for clinic is recorded" in refused.value.message
        with pytest.raises(Refused) as refused:
            refer(amina, child)
        assert refused.value.rule == "consent-required" and "no child consent" in refused.value.message and older is bool(rules)


def test_register__a_babys_assent_not_possible_asks_for_no_override_under_the_agencys_age():
    baby = {"name": "Test Baby", "sex": "male", "date_of_birth": "2025-06-01", "disability": "no"}
    for rules, asked in (({"consent": {"child_from_age": 3}}, False), (None, True)):
        repo = MemoryRepo(rules=rules)
        amina = repo.as_("amina")
        data = json.loads(json.dumps(registration(child=baby, consent={"child": "not_possible", "caregiver": "given"})))
        steps = service.register(amina, data).next_steps
        assert any("the child's assent to registration is 'not_possible'" in s for s in steps) is asked


def test_cli__consent_a_word_left_over_after_the_case_id_is_named_as_such_not_the_case_id(cli, repo):
    """`cpcm consent` takes several case IDs: a word left over (the '...' of a hint typed as shown)
    was blamed on 'the case ID given', which was right."""
    case_id = register(cli)
    before = commit_count(repo)
    left = cli("consent", case_id, "...", *CONSENT, "--by", "child")
    assert left.code == 2 and "the 2nd case ID given is not a valid case ID" in left.stderr, left.stderr
    assert "a word left over" in left.stderr and commit_count(repo) == before
    alone = cli("consent", "CP-0000-000", *CONSENT, "--by", "child")
    assert alone.code == 2 and "the case ID given is not a valid case ID" in alone.stderr, alone.stderr


def test_cli__a_referral_from_a_file_with_set_or_at_the_questions(cli, repo, tmp_path, monkeypatch):
    """CLI.md: every record can be given as flags, as a YAML file (--from-file) or, on a terminal,
    through the questions; `cpcm refer` took its options only. The referral form (`cpcm form blank
    referral`) gives the same record as the options: read back by `cpcm show CASE R1`; a check the
    policy requires, left out of the file, is named by its field and refused, nothing written."""
    import typer
    from typer.testing import CliRunner

    from cpcm.cli import common
    from cpcm.cli.app import build

    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    blank = cli("form", "blank", "referral")
    assert blank.code == 0 and "need:" in blank.stdout and "provider_told:" in blank.stdout, blank.stdout
    filled = tmp_path / "referral.yaml"
    filled.write_text("service: clinic\nneed: treatment for malnutrition\nurgent: yes\n"
                      "checks:\n  eligibility_known: yes\n  need_matched: yes\n  cost_distance_considered: yes\n")
    before = commit_count(repo)
    missing = cli("refer", case_id, "--from-file", str(filled), "--json")
    assert missing.code == 4 and [f["field"] for f in missing.json()["fields"]] == ["checks.provider_told"], missing.stdout
    assert commit_count(repo) == before
    filled.write_text(filled.read_text() + "  provider_told: yes\n")
    assert cli("refer", case_id, "--from-file", str(filled)).code == 0
    sent = cli("show", case_id, "R1", "--json").json()["fields"]
    assert (sent["service"], sent["need"], sent["urgent"], sent["accompany"]) == ("clinic", "treatment for malnutrition", True, False)
    assert sent["checks"] == dict.fromkeys(ALL_CHECKS, True)
    by_set = cli("refer", case_id, "--set", "service=clinic", "--set", "need=a second opinion", "--set", "accompany=yes",
                 "--check", "all")
    assert by_set.code == 0, by_set.stderr
    assert cli("show", case_id, "R2", "--json").json()["fields"]["accompany"] is True
    unknown = cli("refer", case_id, "--set", "service=nowhere", "--set", "need=x", "--check", "all", "--json")
    assert unknown.code == 4 and [f["field"] for f in unknown.json()["fields"]] == ["service"]
    # on a terminal, the questions: the service, the need, each check the policy asks
    said, answers = [], {"The service referred to": ["clinic"], "The need this referral answers": ["catch-up feeding"]}

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 60, said
        queue = next((queue for start, queue in answers.items() if text.startswith(start)), None)
        if queue is not None:
            return queue.pop(0) if queue else ""
        return "yes" if "[yes/no]" in text and not text.startswith(("Urgent", "The worker goes")) else ""

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    asked = CliRunner().invoke(build("refer"), ["refer", case_id], env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert asked.exit_code == 0, (asked.output, said)
    asked_order = [next(i for i, text in enumerate(said) if text.startswith(start)) for start in
                   ("The service referred to", "The need this referral answers", "The provider was told in advance", "Urgent",
                    "The plan action")]
    assert asked_order == sorted(asked_order), said  # the service, the need, the checks, then the urgency and the action
    third = cli("show", case_id, "R3", "--json").json()["fields"]
    assert (third["need"], third["urgent"], third["checks"]) == ("catch-up feeding", False, dict.fromkeys(ALL_CHECKS, True))
    assert commit_count(repo) == before + 3


def test_cli__refer_on_a_terminal_asks_nothing_given_all_and_is_refused_for_consent_before_the_first_question(cli, repo,
                                                                                                           monkeypatch):
    """`cpcm refer` on a terminal: with the service, the need and the checks given, nothing is asked
    (the urgency and the plan action were asked, where the command asked nothing before); a service
    given that the case has no consent for is refused before the first question (it was refused
    once every question was answered, the answers lost)."""
    import typer
    from typer.testing import CliRunner

    from cpcm.cli import common
    from cpcm.cli.app import build

    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    asked = []
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)

    def prompt(text, **_):
        asked.append(text)
        assert len(asked) < 30, asked  # a required question left empty is asked again
        return ""

    monkeypatch.setattr(typer, "prompt", prompt)
    env = dict(cli.env, CPCM_NO_AGENT="1")
    before = commit_count(repo)
    refused = CliRunner().invoke(build("refer"), ["refer", case_id, "--service", "clinic"], env=env)
    assert isinstance(refused.exception, Refused) and asked == [], (refused.output, asked)  # exit 4 through cpcm's main
    assert refused.exception.rule == "consent-required" and "no valid consent for referral to clinic" in refused.exception.message
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver, "--no-input").code == 0
    sent = CliRunner().invoke(build("refer"), ["refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all"],
                              env=env)
    assert sent.exit_code == 0 and asked == [], (sent.output, asked)
    assert commit_count(repo) == before + 3


def test_cli__a_referral_update_from_a_file_with_set_or_at_the_questions(cli, repo, tmp_path, monkeypatch):
    """CLI.md: every record can be given as flags, as a YAML file (--from-file) or, on a terminal,
    through the questions; `cpcm referral` took its options only (a missing --status was a usage
    error, a missing feedback refused, not asked). The referral-update form (`cpcm form blank
    referral-update`) gives the same update as the options; the questions ask what the status
    needs, and what refuses the update whatever the answers is said before the first question."""
    from cpcm.store import forms
    from cpcm.workflow.referrals import STATUSES

    assert tuple(forms.load("referral-update").lists["status"]) == STATUSES[1:]  # the lifecycle's, after 'sent'
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    for _ in range(3):
        assert cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    blank = cli("form", "blank", "referral-update")
    assert blank.code == 0 and "status:" in blank.stdout and "expected_duration:" in blank.stdout, blank.stdout
    filled = tmp_path / "update.yaml"
    filled.write_text("status: accepted\nstart: 2026-11-30\n")
    before = commit_count(repo)
    missing = cli("referral", case_id, "R1", "--from-file", str(filled), "--json")
    assert missing.code == 4 and [f["field"] for f in missing.json()["fields"]] == ["expected_duration"], missing.stdout
    assert commit_count(repo) == before
    filled.write_text(filled.read_text() + "expected_duration: 6w\n")
    done = cli("referral", case_id, "R1", "--from-file", str(filled))
    assert done.code == 0 and f"referral R1 of {case_id} is now accepted" in done.stderr, done.stderr
    by_set = cli("referral", case_id, "R1", "--set", "status=delivered", "--set", "feedback=treated", "--json")
    assert by_set.code == 0 and by_set.json()["status"] == "delivered", by_set.stderr
    first = cli("show", case_id, "--json").json()["referrals"][0]
    assert [h["status"] for h in first["history"]] == ["sent", "accepted", "delivered"], first
    assert (first["start"], first["expected_duration"], first["feedback"]) == ("2026-11-30", "6w", "treated"), first
    jump = cli("referral", case_id, "R2", "--set", "status=delivered", "--set", "feedback=done")  # the lifecycle still holds
    assert jump.code == 4 and "cannot become 'delivered'" in jump.stderr
    no_status = cli("referral", case_id, "R2")  # no terminal: refused naming the option, not a usage error
    assert no_status.code == 4 and "--status (status): is required" in no_status.stderr, no_status.stderr
    assert commit_count(repo) == before + 2
    # on a terminal, the questions: the status, then what it needs, asked as required
    answers = {}
    said, asked = _on_a_terminal(cli, monkeypatch, case_id, answers)
    answers.update({"The referral's status now": ["accepted"], "The date the service starts": ["", "2026-12-01"],
                    "How long the service is expected to last": ["3mo"]})
    result = asked("R2")
    assert result.exit_code == 0, (result.output, said)
    assert "  is required when a referral is accepted (the date the service starts)" in said, said
    assert not any(text.startswith("How long") and text.endswith("(optional)") for text in said), said
    answers.update({"What the provider said": ["no places this term"]})
    result = asked("R3", "--status", "declined")
    assert result.exit_code == 0, (result.output, said)
    assert not any(text.startswith("The referral's status now") for text in said), said
    referrals = cli("show", case_id, "--json").json()["referrals"]
    assert [r["status"] for r in referrals] == ["delivered", "accepted", "declined"]
    assert (referrals[1]["start"], referrals[1]["expected_duration"], referrals[2]["feedback"]) == ("2026-12-01", "3mo",
                                                                                                     "no places this term")
    assert commit_count(repo) == before + 4
    # refused whatever the answers: before the first question, nothing typed
    for args, refusal, words in ((("R9",), NotFound, "has no referral by that reference"), (("R1", "--status", "closed"), None, ""),
                                 (("R1",), Refused, "it cannot become"), (("R3", "--status", "delivered"), Refused, "cannot become 'delivered'")):
        result = asked(*args)
        if refusal is None:  # the options give all the status needs: nothing is asked, the feedback neither
            assert result.exit_code == 0, (args, result.output, said)
            assert not any(text.startswith(("What the provider", "The date", "How long")) for text in said), (args, said)
            continue
        assert isinstance(result.exception, refusal) and words in result.exception.message, (args, result.exception)
        assert not any(text.startswith(("The referral's status now", "What the provider")) for text in said), (args, said)
    assert commit_count(repo) == before + 5


def _on_a_terminal(cli, monkeypatch, case_id, answers):
    """`cpcm referral CASE …` on a terminal: each question answered from `answers` (its label's
    start -> the answers in turn, Enter once they run out); what was said, and the run."""
    import typer
    from typer.testing import CliRunner

    from cpcm.cli import common
    from cpcm.cli.app import build

    said = []

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 40, said
        queue = next((queue for start, queue in answers.items() if text.startswith(start)), None)
        return queue.pop(0) if queue else ""

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))

    def asked(*args):
        said.clear()
        return CliRunner().invoke(build("referral"), ["referral", case_id, *args], env=dict(cli.env, CPCM_NO_AGENT="1"))
    return said, asked


def test_cli__a_referral_update_holds_a_start_and_duration_with_an_acceptance_only(cli, repo, monkeypatch):
    """referrals.md: the questions ask the status and then what it needs; the start and expected
    duration are an acceptance's. They were asked for every status (a delivered referral's too,
    `--status declined` given), and a not_delivered update given them by its options stored them.
    The form's `only_if` rules: not asked for another status, and refused naming the field."""
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    for _ in range(2):
        assert cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    assert cli("referral", case_id, "R1", "--status", "accepted", "--start", "2026-12-01", "--expected-duration", "3mo").code == 0
    before = commit_count(repo)
    stored = cli("referral", case_id, "R1", "--status", "not_delivered", "--feedback", "x", "--start", "2026-12-10",
                 "--expected-duration", "3mo", "--no-input", "--json")
    assert stored.code == 4 and sorted(f["field"] for f in stored.json()["fields"]) == ["expected_duration", "start"], stored.stdout
    assert "goes with an accepted referral only" in stored.stdout and "2026-12-10" not in stored.stdout, stored.stdout
    assert commit_count(repo) == before
    said, asked = _on_a_terminal(cli, monkeypatch, case_id, {"What the provider said": ["no places this term", "seen twice"]})
    result = asked("R2", "--status", "declined")
    assert result.exit_code == 0, (result.output, said)
    assert not any(text.startswith(("The date the service starts", "How long")) for text in said), said
    result = asked("R1", "--status", "delivered")
    assert result.exit_code == 0, (result.output, said)
    assert not any(text.startswith(("The date the service starts", "How long")) for text in said), said
    referrals = cli("show", case_id, "--json").json()["referrals"]
    assert [r["status"] for r in referrals] == ["delivered", "declined"] and referrals[1]["start"] is None, referrals


def test_cli__the_status_question_offers_only_the_statuses_the_referral_can_take_next(cli, repo, monkeypatch):
    """referrals.md: a status the referral cannot take was refused only after every other answer
    (exit 4, every answer lost); the status question now offers only the statuses the referral can
    take next, so one it cannot take is refused at the question, naming those, and asked again.
    The options' refusal stays as it was for scripts (exit 4, rule referral-lifecycle)."""
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        assert cli("consent", case_id, *CONSENT, "--by", giver).code == 0
    assert cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0
    by_option = cli("referral", case_id, "R1", "--status", "delivered", "--feedback", "fb", "--no-input")
    assert by_option.code == 4 and "cannot become 'delivered'" in by_option.stderr, by_option.stderr
    said, asked = _on_a_terminal(cli, monkeypatch, case_id, {"The referral's status now": ["delivered", "declined"],
                                                            "What the provider said": ["no places this term"]})
    result = asked("R1")
    assert result.exit_code == 0, (result.output, said)
    questions = [text for text in said if text.startswith("The referral's status now")]
    assert len(questions) == 2 and "[acknowledged, accepted, declined, closed]" in questions[0], said
    assert any("is not one of: acknowledged, accepted, declined, closed" in text for text in said), said
    assert [r["status"] for r in cli("show", case_id, "--json").json()["referrals"]] == ["declined"]


def test_refer__dated_back_says_when_the_providers_feedback_is_due_as_due_lists_it_not_within(mem):
    """`cpcm refer --at` weeks back said feedback "is expected within 14 days", while `cpcm due`
    listed it overdue: a referral dated back names the due time of due's own item."""
    from datetime import timedelta

    from cpcm.domain.dates import local_text

    amina = mem.as_("amina")
    case_id = mem.register(amina, at=(mem.now - timedelta(days=40)).isoformat())
    consented(amina, case_id, when=mem.now - timedelta(days=30))
    sent = refer(amina, case_id, when=mem.now - timedelta(days=30))
    [item] = [i for i in service.due(amina) if i.case_id == case_id and i.code == "referral-feedback"]
    assert item.due < mem.now
    assert any(f"was due by {local_text(item.due, amina.zone)} (overdue): cpcm referral {case_id} R1" in s for s in sent.next_steps), \
        sent.next_steps
    assert any("is expected within" in s for s in refer(amina, case_id).next_steps)
