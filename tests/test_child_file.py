"""The child's own file (cpcm render child-file): the case file without what is about other people
(inter-agency guidelines, record keeping [L621-627]: a child may see their own file, screened first
so that others' confidential information is not disclosed). Through the CLI: the caregiver's,
reporter's, sibling's and provider's words never reach it; free text it keeps is listed for the
worker to read, and a record left out on screening is gone; giving it is a supervisor's, recorded
in the case and read back by show, log and the case file; refusals change nothing."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import CANARY, CLINIC, commit_count, consent_both, git, register, registration, shared_repo

# words that belong to other people: none may reach the child's file (each appears nowhere else)
CAREGIVER = "Qvcaregiver Jxmarker"  # the caregiver's name (registration, the caregiver's consent)
CONTACT = "Qvcontact 0700 111 222"  # how to reach the caregiver
SIBLING = "Qvsibling Jxmarker"  # a brother's name, in his own case
NOTE = "Qvnote neighbour"  # a note naming a neighbour
FEEDBACK = "Qvfeedback nurse said"  # the provider's feedback on the referral
REFERENCE = "OB Qvreference"  # the police's reference of a mandatory report
# free text of the child's own assessment that names someone: kept, but listed for the worker
UNCLE = "Qvuncle Jxmarker"
OTHERS = (CAREGIVER, CONTACT, SIBLING, NOTE, FEEDBACK, REFERENCE)
INITIAL = {"safe": "no", "safety_concerns": f"{UNCLE} hits the child", "basic_needs": {"food": "no", "shelter": "yes", "medical": "yes"},
           "interim_plan_needed": "no", "outcome": "proceed", "risk": "high", "child_views": "I want to stay at school"}
PLAN = {"reason": "initial", "goals": [{"term": "short", "goal": "Back in school", "need": "school every day"}],
        "actions": [{"what": "Pay the school fees", "who": "caseworker", "by": "2026-12-15", "mode": "direct", "goal": "G1"}],
        "closure_criteria": ["in school a full term"], "contingency": "a place at the children's home",
        "participants": {"child": "yes", "caregivers": "yes"}}
POLICY = "rules:\n  mandatory_report:\n    concerns: [sexual_abuse]\n"


def ok(result):
    assert result.code == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory, repo_template):
    """The canary child's case, with a record of each kind of other people's information: the
    caregiver and the reporter in the registration, a sibling's case linked, a note, the
    caregiver's consent, a provider's feedback, a mandatory report; and the child's own
    assessment (whose free text names an uncle) and plan. (base, root, case_id, sibling_id,
    as_, initial_id)."""
    with shared_repo(tmp_path_factory, repo_template, "childfile") as repo:
        root, as_ = repo.root, repo
        sup, amina = as_("sup"), as_("amina")
        ok(sup(*CLINIC))
        policy = root.parent / "policy.yaml"
        policy.write_text(POLICY)
        ok(sup("policy", "set", str(policy)))
        policy.unlink()
        reg = registration(child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01"},
                           caregiver={"name": CAREGIVER, "relationship": "aunt"}, contact=CONTACT,
                           identified_by="community_member")
        case_id = ok(amina("register", "--from-file", "-", "--json", input=json.dumps(reg))).json()["case_id"]
        sibling = registration(child={"name": SIBLING, "sex": "male", "date_of_birth": "2013-02-01"})
        sibling_id = ok(amina("register", "--from-file", "-", "--json", "--sibling-of", case_id,
                              input=json.dumps(sibling))).json()["case_id"]
        initial_id = ok(amina("assess", case_id, "--type", "initial", "--from-file", "-", "--json",
                              input=json.dumps(INITIAL))).json()["record_id"]
        ok(amina("plan", case_id, "--from-file", "-", input=json.dumps(PLAN)))
        ok(sup("approve", case_id, "plan", "--note", "fine"))
        consent_both(amina, case_id)
        ok(amina("refer", case_id, "--service", "clinic", "--need", "a check-up", "--check", "all"))
        ok(amina("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-24", "--expected-duration", "3mo",
                 "--feedback", FEEDBACK))
        ok(amina("note", case_id, "--text", f"{NOTE} called about the child"))
        ok(amina("mandatory-report", case_id, "--concern", "sexual_abuse", "--decision", "reported", "--to", "police",
                 "--reported-on", "2026-11-23", "--reference", REFERENCE, "--rationale", "the law asks it",
                 "--law-explained", "yes"))
        yield root.parent, root, case_id, sibling_id, as_, initial_id


def test_child_file__leaves_out_other_people_and_lists_free_text(world):
    base, root, case_id, sibling_id, as_, initial_id = world
    amina = as_("amina")
    commits = commit_count(root)
    whole = ok(amina("render", "case-file", case_id)).stdout
    for other in (CAREGIVER, CONTACT, NOTE, FEEDBACK, REFERENCE):  # the whole file holds them: the test can fail
        assert other in whole, other
    assert sibling_id in whole
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            done = ok(amina("render", "child-file", case_id, "--lang", lang, "--format", fmt))
            text = done.stdout
            assert CANARY in text  # the child's own name
            assert "I want to stay at school" in text and "Back in school" in text  # their assessment and their plan
            for other in OTHERS:
                assert other not in text, (lang, fmt, other)
            assert sibling_id not in text
            assert UNCLE in text  # free text of the child's own record is kept by default...
            for other in (*OTHERS, CANARY, UNCLE):  # ...and the listing names it by record and field, never its words
                assert other not in done.stderr
            if lang == "en":  # the field by its label in the document's language
                assert re.search(rf"{initial_id} assessment: .*What makes the child unsafe", done.stderr), done.stderr
    text = ok(amina("render", "child-file", case_id)).stdout
    assert "Screening copy: not given yet." in text
    assert "What is not in this copy" in text and "who told the agency about you" in text
    assert "other children, your brothers and sisters too: 1 record" in text
    assert "How the child was identified" not in text and "community member" not in text
    sw = ok(amina("render", "child-file", case_id, "--lang", "sw")).stdout
    assert "Faili lako la kesi" in sw and "What is not in this copy" not in sw
    listed = ok(amina("render", "child-file", case_id, "--json")).json()["screening"]
    assert set(listed["left_out"]) >= {"reporter", "caregivers", "siblings", "notes", "providers", "mandatory_reports"}
    assert {r["kind"] for r in listed["left_out_records"]} >= {"note", "mandatory_report", "case_link", "consent"}
    assert initial_id in {r["record_id"] for r in listed["free_text"]}
    assert commit_count(root) == commits  # screening writes nothing


def test_child_file__a_record_left_out_on_screening_is_gone(world):
    base, root, case_id, sibling_id, as_, initial_id = world
    done = ok(as_("amina")("render", "child-file", case_id, "--leave-out", initial_id.lower()))
    assert UNCLE not in done.stdout and "I want to stay at school" not in done.stdout
    assert "Back in school" in done.stdout
    assert f"{initial_id} assessment (screened)" in done.stderr
    assert "parts your social worker left out after reading them: 1 record" in done.stdout


def test_child_file__given_by_a_supervisor_is_recorded(world):
    base, root, case_id, sibling_id, as_, initial_id = world
    sup = as_("sup")
    out = base / "given.md.age"
    done = ok(sup("render", "child-file", case_id, "--leave-out", initial_id, "--given-to", "child", "--out", str(out), "--json"))
    release = done.json()["release_id"]
    assert out.exists() and not any(o.encode() in out.read_bytes() for o in (CANARY, UNCLE))  # encrypted to sup
    from cpcm.crypto import cipher, identity

    text = cipher.decrypt(out.read_bytes(), identity.load(as_.keys["sup"][0], lambda: None).keys).decode()
    assert CANARY in text and "Screening copy" not in text
    assert not any(o in text for o in (*OTHERS, UNCLE))
    message = git(root, "log", "-1", "--format=%s").strip()
    assert message == f"child-file {case_id} {release}"
    log = ok(sup("log", case_id, "--json")).json()
    entry = next(e for e in log if e["record_id"] == release)
    assert (entry["kind"], entry["by"], entry["what"]) == ("child_file_release", "sup", "given to child")
    shown = ok(sup("show", case_id, release, "--json")).json()
    fields = shown["fields"]
    assert fields["given_to"] == "child" and fields["screened_out"] == [initial_id]
    assert set(fields["left_out"]) >= {"reporter", "caregivers", "siblings", "notes", "providers", "mandatory_reports", "screened"}
    assert fields["destination"] == "encrypted_file" and fields["free_text_records"] >= 0
    assert not any(o in json.dumps(shown) for o in (*OTHERS, CANARY, UNCLE))  # counts and codes, not content
    whole = ok(sup("render", "case-file", case_id)).stdout
    assert "The child's own file given" in whole and "given to" in whole
    again = ok(sup("render", "child-file", case_id)).stdout  # the child's file shows the child has seen it
    assert "The child's own file given" in again
    assert not any(o.encode() in git(root, "log", "--all", "--format=%B", binary=True) for o in (*OTHERS, CANARY, UNCLE))


@pytest.mark.parametrize("worker, args, rule, says", [
    ("amina", ("--given-to", "child"), "child-file-needs-supervisor", "only a supervisor or manager gives a child their own file"),
    ("sup", ("--given-to", "neighbour"), "form-validation", "--given-to: is not one of: child, young_person, representative"),
    ("sup", ("--leave-out", "Qvsibling", "--given-to", "child"), "form-validation", "--leave-out: value 1 is not a record ID"),
])
def test_child_file__refused_changes_nothing(world, tmp_path, worker, args, rule, says):
    base, root, case_id, sibling_id, as_, initial_id = world
    commits = commit_count(root)
    out = tmp_path / "refused.md.age"
    done = as_(worker)("render", "child-file", case_id, *args, "--out", str(out))
    assert done.code == 4, done.stderr
    assert says in done.stderr
    assert as_(worker)("render", "child-file", case_id, *args, "--out", str(out), "--json").json()["rule"] == rule
    assert "Qvsibling" not in done.stderr  # the value typed is not repeated
    assert commit_count(root) == commits and not out.exists()


def test_child_file__existing_out_file_is_not_given(world):
    base, root, case_id, sibling_id, as_, initial_id = world
    out = base / "there.md.age"
    out.write_bytes(b"kept")
    commits = commit_count(root)
    done = as_("sup")("render", "child-file", case_id, "--given-to", "child", "--out", str(out))
    assert done.code == 2, done.stderr
    assert out.read_bytes() == b"kept" and commit_count(root) == commits


def test_child_file__given_to_and_leave_out_are_for_the_child_file_only(world):
    base, root, case_id, sibling_id, as_, initial_id = world
    done = as_("sup")("render", "case-file", case_id, "--given-to", "child")
    assert done.code == 2 and "--given-to is for the child's own file only" in done.stderr


def test_child_file__an_agency_lets_its_caseworkers_give_it(cli_as, repo, tmp_path):
    """`child_file.release_by_supervisor: false` in .cpcm/policy.yaml: the caseworker who screened
    it gives it, to a young person who has left care, printed on standard output."""
    amina = cli_as("amina")
    reg = registration(child={"name": CANARY, "sex": "female", "date_of_birth": "2009-04-01"},
                       caregiver={"name": CAREGIVER, "relationship": "aunt"})
    case_id = ok(amina("register", "--from-file", "-", "--json", input=json.dumps(reg))).json()["case_id"]
    assert amina("render", "child-file", case_id, "--given-to", "young_person").code == 4
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  child_file:\n    release_by_supervisor: false\n")
    ok(cli_as("sup")("policy", "set", str(policy)))
    given = ok(amina("render", "child-file", case_id, "--given-to", "young-person", "--json")).json()
    assert CANARY in given["document"] and CAREGIVER not in given["document"]
    entry = ok(amina("show", case_id, given["release_id"], "--json")).json()
    assert (entry["by"], entry["fields"]["given_to"], entry["fields"]["destination"]) == ("amina", "young_person", "stdout")


def test_child_file__keeps_the_childs_keyworker(cli_as):
    """The keyworker is the child's own main point of contact (IAG Step 3): the child's file
    names them (their name, role and how to reach them), listed among the free text to screen."""
    amina = cli_as("amina")
    case_id = register(amina)
    teacher = "Qvteacher Jxkeyworker"
    ok(amina("assign", case_id, "--keyworker-name", teacher, "--keyworker-role", "teacher", "--keyworker-contact",
             "0700 333 444", "--reason", "the child trusts her"))
    done = ok(amina("render", "child-file", case_id))
    assert teacher in done.stdout and "0700 333 444" in done.stdout, done.stdout
    assert "keyworker (other)" not in done.stderr and " keyworker: " in done.stderr, done.stderr
    assert teacher not in done.stderr


def test_child_file__a_correction_whose_other_end_is_left_out_names_no_record(cli_as):
    """A record corrected by one left out on screening (or correcting one left out) says so
    without naming a record the copy does not hold; in the whole case file both are named."""
    amina = cli_as("amina")
    case_id = register(amina)
    first = ok(amina("assess", case_id, "--type", "initial", "--from-file", "-", "--json",
                     input=json.dumps(INITIAL))).json()["record_id"]
    fixed = ok(amina("correct", case_id, first, "--set", "child_views=I want to go home", "--reason", "misheard",
                     "--json")).json()["record_id"]
    whole = ok(amina("render", "case-file", case_id)).stdout
    assert f"Corrected by record {fixed}" in whole and f"Corrects record {first}" in whole
    for fmt in ("md", "html"):
        kept_first = ok(amina("render", "child-file", case_id, "--leave-out", fixed, "--format", fmt)).stdout
        assert fixed not in kept_first and "Corrected by a later record that is not in this copy" in kept_first
        kept_fix = ok(amina("render", "child-file", case_id, "--leave-out", first, "--format", fmt)).stdout
        assert first not in kept_fix and "Corrects an earlier record that is not in this copy" in kept_fix


def test_child_file__a_supervisors_reason_to_move_the_child_first_is_left_out(kenya):
    """A placement made on a supervisor's reason, before the best-interests record: the placement
    is the child's own and stays; the reason is the agency's working text and is left out."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    reason = "Qvoverride the police brought her at night"
    placed = sup("placement", case_id, "--care-type", "temporary_shelter", "--institution", "Kisumu place of safety",
                 "--override-reason", reason)
    assert placed.code == 0, placed.stderr
    assert reason in ok(sup("render", "case-file", case_id)).stdout  # the whole file holds it: the test can fail
    own = ok(sup("render", "child-file", case_id))
    assert reason not in own.stdout and "Kisumu place of safety" in own.stdout
    assert "best_interests_override" not in own.stderr


def test_child_file__lists_free_text_by_the_forms_field_types_not_codes(cli_as):
    """What the worker must read before giving the file is the free text alone, by the forms'
    field types: a closure's checklist items, a follow-up's frequency (2w) and a consent's
    service id are codes, not listed; a follow-up whose purpose was typed in words is."""
    sup, amina = cli_as("sup"), cli_as("amina")
    ok(sup(*CLINIC))
    case_id = register(amina)
    ok(amina("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", "child", "--status", "given",
             "--explained", "all"))
    every = ok(amina("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
                     "--risk-increased", "no", "--every", "2w", "--json")).json()["record_id"]
    typed = ok(amina("followup", case_id, "--method", "phone", "--purpose", "other", "--purpose-detail", f"{UNCLE} called",
                     "--visited-by", "professional", "--risk-increased", "no", "--json")).json()["record_id"]
    closing = ok(amina("close", case_id, "--reason", "declined", "--check", "all", "--json")).json()["record_id"]
    screening = ok(amina("render", "child-file", case_id, "--json")).json()["screening"]
    listed = {r["record_id"]: r for r in screening["free_text"]}
    kept = {r["record_id"] for r in screening["left_out_records"]}
    assert every not in listed and closing not in listed and typed in listed, screening["free_text"]
    assert [r["kind"] for r in screening["free_text"] if r["kind"] in ("consent", "closure", "followup")] == ["followup"]
    assert every not in kept and closing not in kept  # kept in the file, only not listed


def test_child_file__a_closed_case_says_its_stage_once_and_an_agency_named_by_its_code_once():
    """The child's file of a closed case printed "Stage: closed (closed)": the stage's words and the
    status's are the same. Both are said once where they read the same, as an agency's name and code
    are (one helper, env.aside), in the child's file and the case file, in Markdown, HTML and Kiswahili."""
    from dataclasses import replace
    from datetime import datetime

    from cpcm import service
    from memory_repo import MemoryRepo

    mem = MemoryRepo()
    mem.config = replace(mem.config, agency_name="TEST")  # the agency named by its code
    case_id = mem.register(mem.as_("amina"), child={"name": "x", "sex": "male", "date_of_birth": "2009-01-15"})
    on = datetime(2027, 1, 15, 10, 0, tzinfo=mem.now.tzinfo)  # the 18th birthday
    service.close(mem.as_("amina", now=on), case_id, {"reason": "reached_18", "checklist": ["all"]})
    service.approve(mem.as_("sup", now=on), case_id, "closure")
    sup = mem.as_("sup", now=on)
    for template in ("child-file", "case-file"):
        text = service.render(sup, template, case_id).text
        assert "- **Stage:** closed\n" in text and "- **Agency:** TEST\n" in text, template
        page = service.render(sup, template, case_id, fmt="html").text
        assert "<td>closed</td>" in page and "<td>TEST</td>" in page, template
        assert "- **Hatua ya kesi:** imefungwa\n" in service.render(sup, template, case_id, lang="sw").text, template
