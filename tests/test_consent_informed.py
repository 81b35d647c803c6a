"""Informed consent (ESARO P6: "first they must understand"; IAG §1): a consent `given` with one of
the policy's `consent.explained` items not explained is kept, but nothing relies on it. Recording it
warns with what was not explained and the command that records it again; `show` gives its state as
`not_informed`; a referral on it is refused, a step that checks consent warns; recorded again with
everything explained, the referral goes. An agency may ask for fewer items; a misspelt item is refused."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, commit_count, register, registration
from test_assess_plan import COMPREHENSIVE, INITIAL
from test_referrals import CLINIC

from cpcm.errors import InvalidInput
from cpcm.store import policies

PARTLY = ["--purpose", "referral", "--agency", "clinic", "--status", "given", "--explained", "use", "--explained", "information"]


def _states(cli, case_id: str) -> list[tuple[str, str, str]]:
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    return [(c["purpose"], c["given_by"], c["state"]) for c in shown.json()["consents"]]


def test_referral__on_consent_given_without_everything_explained_is_refused_until_it_is_recorded_again(cli, repo):
    assert cli(*CLINIC).code == 0
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-03-02", "disability": "no"})
    told = cli("consent", case_id, *PARTLY, "--by", "child", "--by", "caregiver", "--json")
    assert told.code == 0, told.stderr
    warning = " ".join(told.json()["warnings"])
    assert ("the child's and the caregiver's consent for referral was given without explaining who it is shared with and the "
            "limits of confidentiality: it is not informed consent (ESARO P6)") in warning, warning
    assert (f"cpcm consent {case_id} --purpose referral --agency clinic --by child --by caregiver --status given "
            "--explained all") in warning, warning
    assert _states(cli, case_id) == [("referral", "child", "not_informed"), ("referral", "caregiver", "not_informed")]
    before = commit_count(repo)
    refused = cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all")
    assert refused.code == 4 and commit_count(repo) == before, refused.stderr
    assert "the child's consent for referral for clinic was given without explaining who it is shared with" in refused.stderr
    assert CANARY not in refused.stdout + refused.stderr + told.stdout + told.stderr
    again = cli("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--status", "given", "--explained", "all",
                "--by", "child", "--by", "caregiver", "--json")
    assert again.code == 0 and not again.json()["warnings"], again.stdout
    assert _states(cli, case_id)[-2:] == [("referral", "child", "valid"), ("referral", "caregiver", "valid")]
    sent = cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all")
    assert sent.code == 0, sent.stderr


def test_step__a_comprehensive_assessment_on_consent_not_informed_goes_ahead_with_a_warning(cli):
    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("consent", case_id, "--purpose", "assessment", "--by", "child", "--by", "caregiver", "--status", "given",
               "--explained", "all").code == 0
    assert cli("consent", case_id, "--purpose", "assessment", "--by", "caregiver", "--status", "given",
               "--explained", "information", "--explained", "use", "--explained", "sharing").code == 0
    done = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", "--json", input=json.dumps(COMPREHENSIVE))
    assert done.code == 0, done.stderr
    warning = " ".join(done.json()["warnings"])
    assert "the caregiver's consent for assessment was given without explaining the limits of confidentiality" in warning, warning


def test_policy__an_agency_asks_for_fewer_items_and_a_misspelt_one_is_refused(repo, cli_as, tmp_path):
    cli, sup = cli_as("amina"), cli_as("sup")
    assert policies.load("inter-agency").get("consent", "explained") == ["information", "use", "sharing", "confidentiality_limits"]
    assert policies.load("kenya").get("consent", "explained") == ["information", "use", "sharing", "confidentiality_limits"]
    assert "ESARO P6" in policies.load("inter-agency").source("consent", "explained")
    with pytest.raises(InvalidInput) as bad:
        policies.with_override("inter-agency", "rules:\n  consent:\n    explained: [use, confidentiality]\n")
    assert "'confidentiality' is not an item a consent records as explained" in bad.value.message
    override = tmp_path / "policy.yaml"
    override.write_text("rules:\n  consent:\n    explained: [use, information]\n")
    assert sup("policy", "set", str(override)).code == 0
    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    told = cli("consent", case_id, *PARTLY, "--by", "child", "--by", "caregiver", "--json")
    assert told.code == 0 and not told.json()["warnings"], told.stdout
    assert cli("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all").code == 0


def test_registration_answers__are_not_judged_by_the_explanations_their_form_does_not_ask_item_by_item(cli):
    """The registration's own consent (one yes or no for what was explained) is not "not informed": a
    refused registration consent is asked about in its own words, never as not explained."""
    case_id = register(cli, consent={"child": "refused", "caregiver": "given", "explained": True})
    check = cli("check", case_id)
    due = cli("due", "--json")
    said = check.stdout + check.stderr + json.dumps(due.json())
    assert "consent to registration refused" in said or "consent-refused" in said, said
    assert "without explaining" not in said, said


def test_registration__with_consent_given_but_not_explained_warns_that_it_is_not_informed_consent(cli):
    """A registration answering `consent.explained: no` (what the information is for, who sees it and the
    limits of confidentiality were not explained) with an answer `given` went in without a word: the
    consent it records is not informed (ESARO P6). It is recorded as it was, with a warning naming the
    givers whose answer is `given` and the command that records it again, explained."""
    done = cli("register", "--from-file", "-", "--json", input=json.dumps(registration(
        child={"name": CANARY, "sex": "female", "date_of_birth": "2015-03-02", "disability": "no"},
        consent={"child": "given", "caregiver": "not_possible", "explained": False})))
    assert done.code == 0, done.stderr
    case_id = done.json()["case_id"]
    assert (f"the child's consent for registration was given without explaining what information is kept, how it is used, who "
            f"it is shared with and the limits of confidentiality: it is not informed consent (ESARO P6); explain, then record "
            f"it again: cpcm consent {case_id} --purpose registration --by child --status given --explained all"
            ) in done.json()["warnings"], done.json()["warnings"]
    assert CANARY not in done.stdout + done.stderr
    for explained in (True, None):  # explained, or the question not answered: nothing said
        answers = {"child": "given", "caregiver": "given", **({"explained": explained} if explained is not None else {})}
        told = cli("register", "--from-file", "-", "--json", input=json.dumps(registration(consent=answers)))
        assert told.code == 0 and not any("informed" in w for w in told.json()["warnings"]), told.stdout


def test_show__an_override_standing_in_for_consent_not_informed_is_named(repo, cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    assert amina(*CLINIC).code == 0
    case_id = register(amina)
    assert amina("consent", case_id, *PARTLY, "--by", "child", "--by", "caregiver").code == 0
    assert sup("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis", "best_interests",
               "--reason", "urgent treatment").code == 0
    consents = amina("show", case_id, "--json").json()["consents"]
    uninformed = [c for c in consents if c["state"] == "not_informed"]
    assert len(uninformed) == 2 and all(c["overridden_by_worker"] == "sup" for c in uninformed), consents
    assert "override" in amina("show", case_id).stdout
