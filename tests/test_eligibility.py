"""Eligibility screening (IAG Step 1 [L741-743]; §2 [L495-518]; ESARO [When], S1): the policy's
`eligibility.criteria` (each an id and its label, with a source; an agency lists its own in
.cpcm/policy.yaml); the registration records which the child meets (`cpcm register --criteria`, or
the form's `criteria`), checked against the policy's ids; `cpcm show` and the case file give their
labels; an initial assessment that concludes `close_not_eligible` records the feedback given to the
referrer, and the case is not taken on. Through the CLI, as a worker and a supervisor use it."""
from __future__ import annotations

import json

from conftest import CANARY, commit_count, register, registration
from cpcm.domain.profiles import build
from test_assess_plan import COMPREHENSIVE
from cpcm.store import policies

IDS = ["abuse_or_great_need", "separated_or_unaccompanied", "alternative_care", "reintegration", "complex_needs",
       "high_risk_of_harm", "discrimination_without_support", "ongoing_support"]
INITIAL = ["--no-input", "--set", "safe=yes", "--set", "basic_needs.food=yes", "--set", "basic_needs.shelter=yes",
           "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=no", "--risk", "high"]
AGENCY = """rules:
  eligibility:
    criteria:
      - id: out_of_school_girl
        label: {en: "A girl out of school", sw: "Msichana asiye shuleni"}
      - id: child_mother
        label: {en: "A child mother"}
"""


def test_profiles__the_inter_agency_criteria_with_their_source_and_kenya_inherits_them():
    inter = policies.load("inter-agency")
    assert [c["id"] for c in inter.eligibility_criteria] == IDS
    assert all(c["label"]["en"] and c["label"]["sw"] for c in inter.eligibility_criteria)
    source = inter.source("eligibility")
    assert "[L741-743]" in source and "[L248-260]" in source and "ESARO [When]" in source
    assert policies.load("kenya").eligibility_criteria == inter.eligibility_criteria


def test_register__the_criteria_met_are_recorded_and_shown_by_their_labels(cli):
    done = cli("register", "--from-file", "-", "--json", "--criteria", "separated_or_unaccompanied, high_risk_of_harm",
               input=json.dumps(registration()))
    assert done.code == 0, done.stderr
    case_id = done.json()["case_id"]
    record = cli("show", case_id, "registration", "--json").json()
    assert record["fields"]["criteria"] == ["separated_or_unaccompanied", "high_risk_of_harm"]
    shown = cli("show", case_id, "--json").json()
    assert shown["criteria"] == [
        {"id": "separated_or_unaccompanied", "label": "A separated or unaccompanied child, living without a caregiver"},
        {"id": "high_risk_of_harm", "label": "A high risk of harm that needs regular monitoring (violence at home; living "
                                             "with someone with a long-term illness or disability who needs several providers)"}]
    text = cli("show", case_id).stdout
    assert "eligibility criteria\tA separated or unaccompanied child, living without a caregiver; A high risk" in text
    case_file = cli("render", "case-file", case_id, "--format", "md", "--out", "-")
    assert case_file.code == 0, case_file.stderr
    assert "**Eligibility criteria the child meets:** A separated or unaccompanied child, living without a caregiver" in case_file.stdout
    from_file = register(cli, criteria=["ongoing_support"])  # the form's field, in a file
    assert cli("show", from_file, "--json").json()["criteria"][0]["id"] == "ongoing_support"
    paper = cli("form", "print", "registration", "--format", "md", "--lang", "sw")
    assert paper.code == 0 and "Mtoto aliyetenganishwa na familia au asiye na mwandamani" in paper.stdout, paper.stderr


def test_update__the_criteria_are_checked_against_the_policy_as_at_registration(cli, repo):
    case_id = register(cli)
    before = commit_count(repo)
    bad = cli("update", case_id, "--set", "criteria=complex_needs,not_a_criterion", "--reason", "screened", "--json")
    assert bad.code == 4 and [f["field"] for f in bad.json()["fields"]] == ["criteria"], bad.stderr
    assert "not_a_criterion" not in bad.stdout + bad.stderr and commit_count(repo) == before
    good = cli("update", case_id, "--set", "criteria=complex_needs", "--reason", "screened")
    assert good.code == 0, good.stderr
    assert [c["id"] for c in cli("show", case_id, "--json").json()["criteria"]] == ["complex_needs"]


def test_register__an_unknown_criterion_is_refused_naming_the_field_and_the_ids_and_nothing_is_written(cli, repo):
    before = commit_count(repo)
    refused = cli("register", "--from-file", "-", "--json", "--criteria", f"high_risk_of_harm,{CANARY}",
                  input=json.dumps(registration()))
    assert refused.code == 4, refused.stderr
    assert [f["field"] for f in refused.json()["fields"]] == ["criteria"]
    message = refused.stderr.splitlines()[1]
    assert message.startswith("  - --criteria (criteria): value 2 of 2 is not one of the policy's eligibility criteria")
    assert all(i in message for i in IDS)
    assert CANARY.lower() not in (refused.stdout + refused.stderr).lower()  # what was typed is not repeated
    assert commit_count(repo) == before


def test_registrations_without_criteria_stay_valid(cli):
    case_id = register(cli)  # as every registration before the criteria were kept
    assert cli("show", case_id, "--json").json()["criteria"] == []
    assert "eligibility criteria" not in cli("show", case_id).stdout
    assert cli("check", case_id).code == 0


def test_policy__the_agencys_own_list_replaces_the_profiles(cli_as, tmp_env, repo):
    sup, amina = cli_as("sup"), cli_as("amina")
    override = tmp_env / "policy.yaml"
    override.write_text(AGENCY)
    assert sup("policy", "set", str(override)).code == 0
    done = amina("register", "--from-file", "-", "--json", "--criteria", "child_mother", input=json.dumps(registration()))
    assert done.code == 0, done.stderr
    assert amina("show", done.json()["case_id"], "--json").json()["criteria"] == [{"id": "child_mother", "label": "A child mother"}]
    before = commit_count(repo)
    refused = amina("register", "--from-file", "-", "--criteria", "high_risk_of_harm", input=json.dumps(registration()))
    assert refused.code == 4 and "out_of_school_girl, child_mother" in refused.stderr, refused.stderr
    assert commit_count(repo) == before
    shown = sup("policy", "show", "--json").json()["rules"]
    row = next(r for r in shown if (r["rule"], r["key"]) == ("eligibility", "criteria"))
    assert row["set_in"] == ".cpcm/policy.yaml" and [c["id"] for c in row["value"]] == ["out_of_school_girl", "child_mother"]


def test_policy__an_agencys_words_for_a_criterion_show_in_show_the_case_file_and_the_paper_form(cli_as, tmp_env):
    """A criterion's label is the policy's (the agency's .cpcm/policy.yaml here), in the language
    asked for (English where the agency gives no other): `show`, the record's own view, the case
    file and the printed registration form all give the same words."""
    sup, amina = cli_as("sup"), cli_as("amina")
    override = tmp_env / "policy.yaml"
    override.write_text(AGENCY)
    assert sup("policy", "set", str(override)).code == 0
    done = amina("register", "--from-file", "-", "--json", "--criteria", "out_of_school_girl,child_mother",
                 input=json.dumps(registration()))
    assert done.code == 0, done.stderr
    case_id = done.json()["case_id"]
    assert [c["label"] for c in amina("show", case_id, "--json").json()["criteria"]] == ["A girl out of school", "A child mother"]
    assert "eligibility criteria\tA girl out of school; A child mother" in amina("show", case_id).stdout
    record = amina("show", case_id, "registration").stdout
    assert "A girl out of school" in record and "A child mother" in record, record
    for lang, girl in (("en", "A girl out of school"), ("sw", "Msichana asiye shuleni")):
        for fmt in ("md", "html"):
            case_file = amina("render", "case-file", case_id, "--format", fmt, "--lang", lang)
            assert case_file.code == 0, case_file.stderr
            assert girl in case_file.stdout and "A child mother" in case_file.stdout  # no Kiswahili given: the English
            paper = amina("form", "print", "registration", "--format", fmt, "--lang", lang)
            assert paper.code == 0, paper.stderr
            assert girl in paper.stdout and "A child mother" in paper.stdout
            assert "A separated or unaccompanied child" not in paper.stdout + case_file.stdout  # the profile's list is replaced


def test_criterion_labels__the_paper_form_the_documents_and_show_take_them_from_the_policy(cli, monkeypatch):
    """One place gives a criterion's words (Policy.criterion_label): the printed form, the case file,
    the record's own view and `show` all print what it gives, in the language asked for."""
    from cpcm.domain.policy import Policy

    def words(self, criterion: str, lang: str = "en") -> str:
        return f"Policy words {lang} {criterion.replace('_', ' ')}"

    done = cli("register", "--from-file", "-", "--json", "--criteria", "complex_needs", input=json.dumps(registration()))
    assert done.code == 0, done.stderr
    case_id = done.json()["case_id"]
    monkeypatch.setattr(Policy, "criterion_label", words)
    assert cli("show", case_id, "--json").json()["criteria"] == [{"id": "complex_needs", "label": "Policy words en complex needs"}]
    assert "Policy words en complex needs" in cli("show", case_id, "registration").stdout
    for lang in ("en", "sw"):
        case_file = cli("render", "case-file", case_id, "--format", "md", "--lang", lang)
        assert case_file.code == 0 and f"Policy words {lang} complex needs" in case_file.stdout, case_file.stderr
        paper = cli("form", "print", "registration", "--format", "md", "--lang", lang)
        assert paper.code == 0, paper.stderr
        assert all(words(None, criterion, lang) in paper.stdout for criterion in IDS), paper.stdout


def test_policy__a_bad_list_is_refused_naming_the_key(cli_as, tmp_env, repo):
    sup = cli_as("sup")
    bad = tmp_env / "bad.yaml"
    bad.write_text("rules:\n  eligibility:\n    criteria:\n"
                   "      - id: child_mother\n        label: {en: A child mother}\n"
                   "      - id: Child Mother\n        label: {en: Again}\n"
                   "      - id: child_mother\n        labels: {en: A typo}\n"
                   "      - out_of_school\n")
    before = commit_count(repo)
    refused = sup("policy", "set", str(bad), "--json")
    assert refused.code == 4, refused.stderr
    fields = [f["field"] for f in refused.json()["fields"]]
    assert fields == ["rules.eligibility.criteria[1].id", "rules.eligibility.criteria[2].labels",
                      "rules.eligibility.criteria[2].id", "rules.eligibility.criteria[2].label",
                      "rules.eligibility.criteria[3]"], fields
    assert "is listed twice" in refused.stderr and "Child Mother" not in refused.stderr
    assert commit_count(repo) == before
    names = tmp_env / "names.yaml"
    names.write_text("rules:\n  eligibility:\n    criteria: [child_mother]\n")
    assert sup("policy", "check", str(names)).code == 4


def test_policy__the_checks_of_the_list_are_the_profiles_own():
    chain = policies.chain("inter-agency")
    _, errors = build(chain, {"rules": {"eligibility": {"criteria": [{"id": "a", "label": {"en": " "}}]}}})
    assert [(e.field, e.reason) for e in errors] == [
        ("rules.eligibility.criteria[0].label", "must give the words in English at least ({en: ..., sw: ...})")]
    policy, errors = build(chain, {"rules": {"eligibility": {"criteria": []}}})  # no screening at all
    assert errors == [] and policy.eligibility_criteria == ()


def test_initial_assessment__close_not_eligible_needs_the_feedback_to_the_referrer(cli, repo):
    case_id = register(cli)
    before = commit_count(repo)
    refused = cli("assess", case_id, "--type", "initial", *INITIAL, "--outcome", "close_not_eligible", "--json")
    assert refused.code == 4, refused.stderr
    assert [f["field"] for f in refused.json()["fields"]] == ["referrer_feedback"]
    assert "feedback to the referrer" in refused.stderr
    assert commit_count(repo) == before
    done = cli("assess", case_id, "--type", "initial", *INITIAL, "--outcome", "close_not_eligible",
               "--set", "referrer_feedback=Told the school's head teacher by phone; suggested the county education office")
    assert done.code == 0, done.stderr
    record = cli("show", case_id, "assessment", "--json").json()
    assert record["fields"]["outcome"] == "close_not_eligible"
    assert record["fields"]["referrer_feedback"].startswith("Told the school's head teacher")
    taken_on = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE))
    assert taken_on.code == 4 and "concluded 'close_not_eligible'" in taken_on.stderr, taken_on.stderr
    assert f"cpcm close {case_id} --reason not_eligible" in taken_on.stderr
    due = cli("due", "--json").json()
    assert any(i["case_id"] == case_id and i["title"] == "close the case (its initial assessment concluded close_not_eligible)"
               for i in due), due


def test_policy__criteria_the_agency_drops_stay_valid_where_recorded_and_other_fields_are_updated_and_corrected(cli_as, tmp_env, repo):
    """A case that recorded a criterion the agency's list has since dropped is still updated and
    corrected (its other fields); the dropped id stays as recorded, and a new id is checked against
    the list in force."""
    sup, amina = cli_as("sup"), cli_as("amina")
    done = amina("register", "--from-file", "-", "--json", "--criteria", "separated_or_unaccompanied,high_risk_of_harm",
                 input=json.dumps(registration()))
    assert done.code == 0, done.stderr
    case_id = done.json()["case_id"]
    override = tmp_env / "policy.yaml"
    override.write_text(AGENCY)
    assert sup("policy", "set", str(override)).code == 0
    updated = amina("update", case_id, "--set", "location=Kondele", "--reason", "moved", "--json")
    assert updated.code == 0, updated.stderr
    corrected = amina("correct", case_id, done.json()["record_id"], "--set", "notes=met at school", "--reason", "typo")
    assert corrected.code == 0, corrected.stderr
    assert [c["id"] for c in amina("show", case_id, "--json").json()["criteria"]] == ["separated_or_unaccompanied", "high_risk_of_harm"]
    update_id = updated.json()["record_id"]
    fixed = amina("correct", case_id, update_id, "--set", "location=Kondele East", "--reason", "the ward")
    assert fixed.code == 0, fixed.stderr
    before = commit_count(repo)
    refused = amina("update", case_id, "--set", "criteria=separated_or_unaccompanied,complex_needs", "--reason", "re-screened")
    assert refused.code == 4 and "out_of_school_girl" in refused.stderr, refused.stderr  # a new id: the list in force
    assert commit_count(repo) == before
