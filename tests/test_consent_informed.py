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


NOT_EXPLAINED = {"child": "given", "caregiver": "given", "explained": False}


def test_show__the_registration_consent_says_the_override_that_settles_it(cli_as):
    """A registration whose caregiver could not consent reads 'caregiver not_possible' in show, as if the case's
    consent were unsettled after a supervisor's override settled it: the line names the override, and --json has
    `registration_consent_override` (None before it, and for a case whose answers were all given)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, consent={"child": "given", "caregiver": "not_possible", "explained": True})
    before = amina("show", case_id, "--json").json()
    assert (before["registration_consent_state"], before["registration_consent_override"]) == ("refused", None)
    done = sup("consent", case_id, "--override", "--purpose", "registration", "--basis", "best_interests",
               "--reason", "no caregiver can be found", "--json")
    assert done.code == 0, done.stderr
    after = amina("show", case_id, "--json").json()
    assert (after["registration_consent_state"], after["registration_consent_override"]) == (None, done.json()["record_id"])
    assert f"settled by an override ({done.json()['record_id']}" in amina("show", case_id).stdout
    plain = amina("show", register(amina), "--json").json()
    assert (plain["registration_consent_state"], plain["registration_consent_override"]) == (None, None)
CHILD = {"name": CANARY, "sex": "female", "date_of_birth": "2015-03-02", "disability": "no"}


def _not_informed(cli, *args: str) -> list[dict]:
    result = cli("due", "--json", *args)
    assert result.code == 0, result.stderr
    return [i for i in result.json() if i["code"] == "consent-not-informed"]


def _check_codes(cli, case_id: str) -> list[str]:
    result = cli("check", case_id, "--json")
    assert result.code in (0, 1), result.stderr
    return [p["code"] for p in result.json()]


def test_walk__a_registration_given_without_explaining_consent_is_asked_about_until_it_is_recorded_again(cli_as, monkeypatch):
    """The registration's answers are `given` but what consent means was not explained (`consent.explained: no`):
    it is not informed consent, and no action relies on it until it is recorded again, explained. `cpcm due` lists
    `consent-not-informed` for the case's worker (and the supervisors, who may override), due by the policy's
    `consent_decision` limit after the registration, with what was not explained and the command that settles it;
    `cpcm check` and `cpcm show` say it. Recorded again with everything explained, it is gone from all three."""
    from test_due_keyworker_consent import same_without_tables

    amina, sup = cli_as("amina"), cli_as("sup")
    registered = amina("register", "--from-file", "-", input=json.dumps(registration(child=CHILD, consent=NOT_EXPLAINED)))
    assert registered.code == 0, registered.stderr
    assert ("next: consent to registration given without explaining it: cpcm due asks for it within 48 hours (cpcm's "
            "choice; ESARO P6), and cpcm check reports it, until it is recorded again, explained, or a supervisor's or "
            "manager's override is recorded (consent-not-informed)") in registered.stderr, registered.stderr
    [item] = _not_informed(amina)
    case_id = item["case_id"]
    assert item["owner"] == "amina" and case_id in registered.stderr
    assert [i["case_id"] for i in _not_informed(sup)] == [case_id]  # the override is a supervisor's to record
    initial = next(i for i in amina("due", "--json").json() if i["code"] == "initial-assessment")
    assert item["due"] == initial["due"] and item["rule"] == "consent_decision"  # 48 hours from the registration
    assert ("the child's and the caregiver's consent for registration was given without explaining what information is "
            "kept, how it is used, who it is shared with and the limits of confidentiality: it is not informed consent "
            "(ESARO P6)") in item["why"], item["why"]
    assert ("cpcm consent CASE --purpose registration --by child --by caregiver --status given --explained all"
            ) in item["why"], item["why"]
    assert "cpcm consent CASE --override --purpose registration" in item["why"] and case_id not in item["why"]
    for cli in (amina, sup):
        same_without_tables(cli, monkeypatch)  # the due tables keep the item as computed
    checked = amina("check", case_id)
    assert "consent-not-informed" in checked.stdout and f"cpcm consent {case_id} --purpose registration" in checked.stdout
    assert amina("show", case_id, "--json").json()["registration_consent_state"] == "not_informed"
    assert "not settled: not informed" in amina("show", case_id).stdout
    said = [amina("due"), amina("due", "--json"), checked, sup("due", "--worker", "all")]
    assert not any(CANARY in r.stdout + r.stderr for r in said)

    again = amina("consent", case_id, "--purpose", "registration", "--by", "child", "--by", "caregiver", "--status", "given",
                  "--explained", "all")
    assert again.code == 0, again.stderr
    assert _not_informed(amina) == [] and _not_informed(sup) == []
    assert "consent-not-informed" not in _check_codes(amina, case_id)
    assert amina("show", case_id, "--json").json()["registration_consent_state"] is None
    for cli in (amina, sup):
        same_without_tables(cli, monkeypatch)


def test_an_override_settles_it_and_the_steps_that_share_the_childs_data_warn_until_then(cli_as, repo):
    """Until then a referral (on valid referral consent) goes ahead with a warning naming `consent-not-informed`, and
    an agency whose `consent_decision.at_sharing` is `refuse` refuses it; a supervisor's override for registration
    settles it, as it does a refusal."""
    from test_consent_refused_due import CLINIC, REFER
    from conftest import consent_both

    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=CHILD, consent=NOT_EXPLAINED)
    assert sup(*CLINIC).code == 0
    consent_both(amina, case_id)
    referred = amina("refer", case_id, *REFER)
    assert referred.code == 0, referred.stderr
    assert "the referral goes ahead, but consent to registration is not settled (consent-not-informed)" in referred.stderr
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  consent_decision:\n    at_sharing: refuse\n")
    refused = amina("refer", case_id, "--service", "clinic", "--need", "follow-up", "--check", "all", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "consent-not-informed", refused.stdout
    assert sup("consent", case_id, "--override", "--purpose", "registration", "--basis", "best_interests",
               "--reason", "the child needs the clinic now").code == 0
    assert _not_informed(amina) == [] and "consent-not-informed" not in _check_codes(amina, case_id)
    assert amina("refer", case_id, "--service", "clinic", "--need", "follow-up", "--check", "all").code == 0


def test_explained_or_not_asked__nothing_is_due(cli):
    """A registration that explained consent, or did not answer the question, is not listed."""
    for answers in ({"child": "given", "caregiver": "given", "explained": True}, {"child": "given", "caregiver": "given"}):
        case_id = register(cli, consent=answers)
        assert "consent-not-informed" not in _check_codes(cli, case_id)
    assert _not_informed(cli) == []


def test_update__that_says_consent_was_not_explained_warns_as_the_registration_does(cli):
    """`cpcm update CASE --set consent.explained=no` makes the registration's consent not informed (`due` asks for it
    again) with the warning `cpcm register` gives, not silently; an update of something else says nothing of it."""
    case_id = register(cli, consent={"child": "given", "caregiver": "given", "explained": True})
    other = cli("update", case_id, "--set", "location=Kondele", "--reason", "moved", "--json")
    assert other.code == 0 and not any("informed" in w for w in other.json()["warnings"]), other.stdout
    told = cli("update", case_id, "--set", "consent.explained=no", "--reason", "it was not explained", "--json")
    assert told.code == 0, told.stderr
    assert any(w.startswith("the child's and the caregiver's consent for registration was given without explaining")
               and f"cpcm consent {case_id} --purpose registration --by child --by caregiver" in w
               for w in told.json()["warnings"]), told.json()["warnings"]
    assert [i["case_id"] for i in _not_informed(cli)] == [case_id]


def test_case_work__a_policy_that_lists_no_item_to_explain_asks_for_nothing():
    """A profile without `consent.explained` (an agency's policy cannot empty it) asks for no explanation: a
    registration answering no is settled, as before; with the items listed it is not informed."""
    from dataclasses import replace
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from cpcm.workflow import consent as consent_rules

    policy = policies.load("inter-agency")
    bare = replace(policy, rules={**policy.rules, "consent": {k: v for k, v in policy.rules["consent"].items() if k != "explained"}})
    case = SimpleNamespace(status="open", registration={"consent": NOT_EXPLAINED}, consents=(),
                           history=[SimpleNamespace(id="20261123T060000Z-0001", kind="registration")])
    now = datetime(2026, 11, 23, 6, tzinfo=timezone.utc)
    assert consent_rules.case_work(case, bare, now) is None
    found = consent_rules.case_work(case, policy, now)
    assert (found.state, found.since) == ("not_informed", "20261123T060000Z-0001")


def test_case_work__a_case_given_and_explained_with_no_consent_record_is_not_read_further(monkeypatch):
    """The fast path (nearly every case): registration answers all `given`, explained or not asked, and no consent
    record: `case_work` answers without building the records the one rule reads."""
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from cpcm.workflow import consent as consent_rules

    def read(_case):
        raise AssertionError("read further")

    monkeypatch.setattr(consent_rules, "case_work_records", read)
    policy = policies.load("inter-agency")
    now = datetime(2026, 11, 23, 6, tzinfo=timezone.utc)
    for answers in ({"child": "given", "caregiver": "given", "explained": True}, {"child": "given", "caregiver": "given"}):
        case = SimpleNamespace(status="open", registration={"consent": answers}, consents=())
        assert consent_rules.case_work(case, policy, now) is None
    case = SimpleNamespace(status="open", registration={"consent": NOT_EXPLAINED}, consents=())
    with pytest.raises(AssertionError, match="read further"):
        consent_rules.case_work(case, policy, now)
