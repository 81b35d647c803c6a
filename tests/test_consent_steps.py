"""Consent checked again at each step (ESARO P6), through the command line: the comprehensive
and best-interests assessments check `assessment` consent, `cpcm placement` checks `placement`
consent (into alternative care) or `reintegration` consent (back to the family), as `cpcm refer`
checks `referral` consent, by the one rule (workflow/consent.py). Refused or not possible with no
supervisor's override: exit 4, nothing written; with an override: accepted, the override used;
never recorded: accepted with a warning; the initial assessment of a child at immediate risk is
never held up. Which steps check which purpose is the policy's (`consent.checked_at`)."""
from __future__ import annotations

import json

from conftest import CANARY, commit_count, register
from test_assess_plan import COMPREHENSIVE, INITIAL
from test_placements import BID, KINSHIP

from cpcm.store import policies


KINSHIP_FIRST = {k: v for k, v in KINSHIP.items() if k != "cci_exit"}  # the first placement recorded: from no CCI


def comprehensive(cli, case_id: str, *extra: str):
    return cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", "--json", *extra, input=json.dumps(COMPREHENSIVE))


def refuse(cli, case_id: str, purpose: str, giver: str = "caregiver"):
    done = cli("consent", case_id, "--purpose", purpose, "--by", giver, "--status", "refused", "--explained", "all",
               "--reason", "does not agree")
    assert done.code == 0, done.stderr


def test_assess__comprehensive_refused_without_override_exits_4_writes_nothing_then_an_override_lets_it_go(repo, cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    refuse(amina, case_id, "assessment")
    before = commit_count(repo)
    refused = comprehensive(amina, case_id)
    assert refused.code == 4, refused.stderr
    error = refused.json()
    assert error["rule"] == "consent-required"
    assert "the caregiver's consent for assessment is 'refused'" in error["message"]  # which consent, who refused it
    assert f"cpcm consent {case_id} --override --purpose assessment --basis legal_mandate|best_interests" in error["hint"]
    assert "cpcm consent --help" in error["hint"] and CANARY not in refused.stdout + refused.stderr
    assert commit_count(repo) == before  # nothing written
    assert not [a for a in amina("show", case_id, "--json").json()["assessments"] if a["type"] == "comprehensive"]

    assert sup("consent", case_id, "--override", "--purpose", "assessment", "--basis", "legal_mandate",
               "--reason", "court order to assess").code == 0
    done = comprehensive(amina, case_id)
    assert done.code == 0, done.stderr
    assert any("override" in w and "recorded by sup" in w and "legal_mandate" in w for w in done.json()["warnings"])
    assert commit_count(repo) == before + 2  # the override, the assessment

    # read back: the refusal, and the override that stood in for it (used), who authorised it
    consents = amina("show", case_id, "--json").json()["consents"]
    refusal = next(c for c in consents if c["kind"] == "consent")
    override = next(c for c in consents if c["kind"] == "consent_override")
    assert (refusal["state"], refusal["overridden_by"]) == ("refused", override["record_id"])
    assert (override["state"], override["by"], override["basis"]) == ("used", "sup", "legal_mandate")
    table = amina("show", case_id).stdout
    assert f"refused; override {override['record_id']} by sup stands in" in table and "override (legal_mandate) by sup" in table

    # the override stood in once: the best-interests assessment, which checks the same purpose, is refused again
    again = amina("assess", case_id, "--type", "best-interests", "--from-file", "-", "--json", input=json.dumps(BID))
    assert again.code == 4 and again.json()["rule"] == "consent-required"


def test_assess__recorded_late_is_judged_on_the_consent_as_it_stood_then(repo, cli_as):
    """An assessment recorded late (--at) checks the consent as it stood then, as a referral does: a
    refusal given after that time did not hold it up (it was judged as of now, and refused)."""
    from conftest import Cli

    amina = cli_as("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    later = Cli({**amina.env, "CPCM_NOW": "2026-11-25T09:00:00+03:00"})
    assert later("consent", case_id, "--purpose", "assessment", "--by", "caregiver", "--status", "refused", "--explained", "all",
                 "--reason", "does not agree", "--at", "2026-11-24T15:00").code == 0
    done = comprehensive(later, case_id, "--at", "2026-11-24T10:00")
    assert done.code == 0, done.stdout + done.stderr
    assert any("no valid consent for assessment on file" in w for w in done.json()["warnings"]), done.json()
    refused = comprehensive(later, case_id)  # now: the refusal holds
    assert refused.code == 4 and refused.json()["rule"] == "consent-required", refused.stdout


def test_assess__consent_never_recorded_goes_ahead_with_a_warning_and_the_initial_is_not_checked(repo, cli_as):
    amina = cli_as("amina")
    case_id = register(amina)
    initial = amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL, "--json")
    assert initial.code == 0 and not any("consent" in w for w in initial.json()["warnings"])
    before = commit_count(repo)
    done = comprehensive(amina, case_id)
    assert done.code == 0, done.stderr
    assert commit_count(repo) == before + 1
    warning = " ".join(done.json()["warnings"])
    assert "no valid consent for assessment on file" in warning and "no caregiver consent for assessment is recorded" in warning
    assert f"cpcm consent {case_id} --purpose assessment --by child --by caregiver --status given" in warning
    # consent given: no warning
    assert amina("consent", case_id, "--purpose", "assessment", "--by", "child", "--by", "caregiver", "--status", "given",
                 "--explained", "all").code == 0
    bid = amina("assess", case_id, "--type", "best-interests", "--from-file", "-", "--json", input=json.dumps(BID))
    assert bid.code == 0 and not any("consent" in w for w in bid.json()["warnings"])


def test_assess__an_immediate_risk_initial_assessment_is_never_held_up_by_a_refusal(repo, cli_as, tmp_path):
    """The initial assessment is checked only where an agency lists it; even then, a child at a
    risk answered the same day is assessed (act first), with a warning; a high-risk one is not."""
    sup, amina = cli_as("sup"), cli_as("amina")
    override = tmp_path / "policy.yaml"
    override.write_text("rules:\n  consent:\n    checked_at:\n      assessment: [initial, comprehensive, best_interests]\n")
    assert sup("policy", "set", str(override)).code == 0
    urgent, high = register(amina, risk="immediate"), register(amina, risk="high")
    for case_id in (urgent, high):
        refuse(amina, case_id, "assessment", "child")
    before = commit_count(repo)
    held = amina("assess", high, "--type", "initial", "--risk", "high", *INITIAL, "--json")
    assert held.code == 4 and "the child's consent for assessment is 'refused'" in held.json()["message"]
    assert commit_count(repo) == before
    done = amina("assess", urgent, "--type", "initial", "--risk", "immediate", "--action", "moved to a place of safety",
                 *INITIAL, "--json")
    assert done.code == 0, done.stderr
    assert any("goes ahead, the child's safety first" in w for w in done.json()["warnings"])
    assert commit_count(repo) == before + 1


def test_placement__refused_exits_4_writes_nothing_override_accepts_never_recorded_warns(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    # never recorded: the admission goes ahead, with a warning naming the purpose
    admitted = amina("placement", case_id, "--care-type", "institutional_care", "--institution", "Tumaini Children's Home", "--json")
    assert admitted.code == 0, admitted.stderr
    assert any("no valid consent for placement on file" in w for w in admitted.json()["warnings"])
    # the return home checks reintegration consent: the caregiver refused it
    refuse(amina, case_id, "reintegration")
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    before = commit_count(kenya.root)
    home = {"care_type": "family", "cci_exit": "family_reintegration", "caregiver": {"name": "Grace Achieng", "relationship": "mother"}}
    refused = amina("placement", case_id, "--from-file", "-", "--json", input=json.dumps(home))
    assert refused.code == 4 and refused.json()["rule"] == "consent-required"
    assert "the caregiver's consent for reintegration is 'refused'" in refused.json()["message"]
    assert f"cpcm consent {case_id} --override --purpose reintegration" in refused.json()["hint"]
    assert commit_count(kenya.root) == before
    assert sup("consent", case_id, "--override", "--purpose", "reintegration", "--basis", "best_interests",
               "--reason", "the family court ordered the return").code == 0
    done = amina("placement", case_id, "--from-file", "-", "--json", input=json.dumps(home))
    assert done.code == 0, done.stderr
    assert commit_count(kenya.root) == before + 2
    # the same placement recorded again (a new address, same caregiver) is no new decision: not checked again
    moved = amina("placement", case_id, "--from-file", "-", "--json", input=json.dumps({"care_type": "family", "address": "Kondele", "caregiver": home["caregiver"]}))
    assert moved.code == 0, moved.stderr


def test_placement__a_check_the_agency_turned_off_is_not_made(kenya, tmp_path):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    refuse(amina, case_id, "placement")
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    held = amina("placement", case_id, "--from-file", "-", "--json", input=json.dumps(KINSHIP_FIRST))
    assert held.code == 4 and held.json()["rule"] == "consent-required", held.stderr
    override = tmp_path / "policy.yaml"
    override.write_text("rules:\n  consent:\n    checked_at:\n      placement: [residential]\n")
    assert sup("policy", "set", str(override)).code == 0
    done = amina("placement", case_id, "--from-file", "-", "--json", input=json.dumps(KINSHIP_FIRST))
    assert done.code == 0, done.stderr
    assert not any("consent" in w for w in done.json()["warnings"])


def test_policy__checked_at_names_known_steps_once_and_may_be_emptied():
    shipped = policies.load("inter-agency").get("consent", "checked_at")
    assert shipped == {"assessment": ["comprehensive", "best_interests"], "placement": ["family_based", "community_based", "residential"],
                       "reintegration": ["family"]}
    assert policies.load("kenya").get("consent", "checked_at") == shipped
    assert "ESARO P6" in policies.load("inter-agency").source("consent", "checked_at")
    emptied = policies.with_override("inter-agency", "rules:\n  consent:\n    checked_at:\n      placement: []\n")
    assert emptied.get("consent", "checked_at")["placement"] == []
    import pytest

    from cpcm.errors import InvalidInput

    with pytest.raises(InvalidInput) as bad:
        policies.with_override("inter-agency", "rules:\n  consent:\n    checked_at:\n      assessment: [comprehensve]\n"
                                               "      reintegration: [family, residential]\n")
    message = bad.value.message
    assert "'comprehensve' is not a step assessment consent can be checked at" in message
    assert "'residential' is listed under placement too" in message


def test_pure__at_step_refuses_a_refusal_warns_of_a_missing_answer_and_lets_act_first_through():
    from datetime import datetime

    from cpcm.domain.records import Record
    from cpcm.workflow import consent

    policy = policies.load("inter-agency")
    now = datetime.fromisoformat("2026-11-23T09:00:00+03:00")

    def rec(rid: str, kind: str, **body) -> Record:
        return Record(kind, 1, rid, "CP-TEST-0001", "2026-11-23T06:00:00Z", "2026-11-23T06:00:00Z", "amina", body)

    given = rec("01A", "consent", purpose="assessment", given_by="child", status="given",
                explained={"information": True, "use": True, "sharing": True, "confidentiality_limits": True})
    refused = rec("01B", "consent", purpose="assessment", given_by="caregiver", status="not_possible")
    assert consent.checked_purpose(policy, "comprehensive") == "assessment"
    assert consent.checked_purpose(policy, "family") == "reintegration"
    assert consent.checked_purpose(policy, "initial") is None and consent.checked_purpose(policy, None) is None
    missing = consent.check([given], "assessment", None, policy, now)
    assert consent.at_step(missing) == "warn" and missing.refusals == ()
    no = consent.check([given, refused], "assessment", None, policy, now)
    assert consent.at_step(no) == "refuse" and no.refusals == (("caregiver", "not_possible", "01B"),)
    assert consent.at_step(no, act_first=True) == "warn"
    overridden = consent.check([given, refused, rec("01C", "consent_override", purpose="assessment", basis="best_interests")],
                               "assessment", None, policy, now)
    assert consent.at_step(overridden) == "go" and overridden.override == "01C" and overridden.uses == ("01A", "01C")
    # an override relied on once (a step's consent_ids) stands in no more
    used = [given, refused, rec("01C", "consent_override", purpose="assessment", basis="best_interests"),
            rec("01D", "assessment", type="comprehensive", consent_ids=["01A", "01C"])]
    assert consent.at_step(consent.check(used, "assessment", None, policy, now)) == "refuse"


def test_placement__corrected_into_a_setting_whose_consent_was_refused_is_refused_as_recording_it_is(kenya):
    """A placement recorded in one setting and corrected into another is a decision of that
    setting: its consent is checked as `cpcm placement` checks it (a correction is not a way round
    a refusal); a correction that keeps the setting is not checked again."""
    amina = kenya("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    refuse(amina, case_id, "placement")
    refuse(amina, case_id, "placement", "child")
    home = {"care_type": "family", "caregiver": {"name": "Grace Achieng", "relationship": "mother"}}
    placed = amina("placement", case_id, "--from-file", "-", "--json", input=json.dumps(home))
    assert placed.code == 0, placed.stderr  # the child's own family: no placement decision to consent to
    record_id = placed.json()["record_id"]
    assert amina("placement", case_id, "--from-file", "-", input=json.dumps(KINSHIP_FIRST)).code == 4  # the test can fail
    before = commit_count(kenya.root)
    corrected = amina("correct", case_id, record_id, "--set", "care_type=kinship", "--reason", "it was the grandmother's",
                      "--json")
    assert corrected.code == 4 and corrected.json()["rule"] == "consent-required", corrected.stderr
    assert commit_count(kenya.root) == before
    kept = amina("correct", case_id, record_id, "--set", "address=Kondele", "--reason", "the address was wrong")
    assert kept.code == 0, kept.stderr


def test_placement__recorded_on_consent_given_is_corrected_and_keeps_the_consent_it_relied_on(kenya):
    """A placement that relied on consent given (its `consent_ids`, set by the check, not typed) is
    corrected as any other: a field the worker typed is mended, the consent it relied on stays with
    it; corrected into another setting, the consent is checked again and relied on anew."""
    amina = kenya("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    for giver in ("child", "caregiver"):
        assert amina("consent", case_id, "--purpose", "placement", "--by", giver, "--status", "given",
                     "--explained", "all").code == 0
    placed = amina("placement", case_id, "--from-file", "-", "--json", input=json.dumps(KINSHIP_FIRST))
    assert placed.code == 0, placed.stderr
    record_id = placed.json()["record_id"]
    relied = amina("show", case_id, record_id, "--json").json()["fields"]["consent_ids"]
    assert relied  # the test can fail: the placement rests on the consent given

    corrected = amina("correct", case_id, record_id, "--set", "address=Kondele, Kisumu", "--reason", "the address was wrong",
                      "--json")
    assert corrected.code == 0, corrected.stderr
    new = amina("show", case_id, corrected.json()["record_id"], "--json").json()["fields"]
    assert new["address"] == "Kondele, Kisumu" and new["consent_ids"] == relied

    moved = amina("correct", case_id, corrected.json()["record_id"], "--set", "care_type=supported_independent_living",
                  "--reason", "she lives on her own, supported", "--json")
    assert moved.code == 0, moved.stderr
    again = amina("show", case_id, moved.json()["record_id"], "--json").json()["fields"]
    assert again["setting"] != new["setting"] and again["consent_ids"] == relied
