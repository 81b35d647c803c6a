"""Reading a case back (show CASE, show CASE RECORD, log), updating the registration and
correcting a record by one that supersedes it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CLINIC, consent_both, register, registration, shared_repo
from cpcm.store.layout import case_dir

INITIAL = {"safe": "no", "safety_concerns": "the uncle hits the child", "basic_needs": {"food": "no", "shelter": "yes", "medical": "yes"},
           "interim_plan_needed": "no", "outcome": "proceed", "risk": "high"}
COMPREHENSIVE = {"dimensions": {"physical": {"risks": "thin for age", "strengths": "no illness", "rating": 2},
                                "family_relationships": {"strengths": "close to the grandmother"}},
                 "child_views": "I want to live with my grandmother", "outcome_explained_to_child": "yes",
                 "consulted": ["child", "caregivers"], "needs": ["school every day", "food at home"],
                 "risk": "medium", "risk_reason": "the uncle moved away"}
BID = {"decision": "alternative_care_placement", "care_away_needed": "no", "family_support_tried": ["parenting support"],
       "options": [{"kind": "kinship", "assessment": "grandmother able and willing"},
                   {"kind": "foster_care", "assessment": "no foster family nearby"}],
       "chosen": "kinship", "why_least_harmful": "stays with family and school", "child_views": "Cucu's house please",
       "outcome_explained_to_child": "yes"}
PLAN = {"reason": "initial", "goals": [{"term": "short", "goal": "Back in school", "need": "school every day"}],
        "actions": [{"what": "Pay the school fees", "who": "caseworker", "by": "2026-12-15", "mode": "direct", "goal": "G1"},
                    {"what": "Home visit", "who": "caseworker", "by": "2027-01-20", "mode": "direct", "goal": "G1"}],
        "closure_criteria": ["in school a full term"], "contingency": "the aunt takes the child in",
        "participants": {"child": "yes", "caregivers": "yes"}}
FOLLOWUP = {"method": "home_visit", "purpose": "monitoring", "purpose_detail": "see how school goes", "visited_by": "professional", "observations": "the child was at home, fed",
            "child_feedback": "school is good", "risk_increased": "no"}
REVIEW = {"chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
          "progress": [{"item": "A1", "status": "done", "note": "fees paid"}], "decisions": ["keep visiting monthly"],
          "outcome": "continue"}


def ok(result):
    assert result.code == 0, result.stderr
    return result


def flat(data, prefix=""):
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def decrypted(root: Path, case_id: str, record_id: str, key: Path) -> dict:
    """A record's body read straight from its file (age, then YAML), not through cpcm's reader."""
    from cpcm.crypto import cipher, identity
    from cpcm.domain.records import HEADER
    from ruamel.yaml import YAML

    path = next(case_dir(root, case_id).glob(f"{record_id}.*.yaml.age"))
    text = cipher.decrypt(path.read_bytes(), identity.load(key, lambda: None).keys).decode()
    data = json.loads(json.dumps(YAML(typ="safe", pure=True).load(text), default=str))
    return {k: v for k, v in data.items() if k not in HEADER}


@pytest.fixture(scope="module")
def world(tmp_path_factory, repo_template):
    """One case with a record of every kind a worker writes: (root, keys, case_id, {kind: (record id, what was typed)})."""
    with shared_repo(tmp_path_factory, repo_template, "readback") as repo:
        root, as_ = repo.root, repo
        keys = {w: repo.keys[w][0] for w in ("sup", "amina")}
        sup, amina = as_("sup"), as_("amina")
        ok(sup(*CLINIC))
        reg = registration(child={"name": "Test Child", "other_names": "Tess", "sex": "female", "date_of_birth": "2015-04-01",
                                  "birth_certificate": "BC-1234"},
                           immediate_needs=["food", "school uniform"], registration_place="Kisumu children's office",
                           notes="found at the market")
        case_id = register(amina, "--at", "2026-11-19T09:00", **reg)  # a few days before the records written after it
        written = {"registration": reg}

        def write(kind, *args, data=None):
            result = ok(amina(*args, "--json", *(["--from-file", "-"] if data is not None else []),
                              input=json.dumps(data) if data is not None else None))
            written[kind] = data

        write("assessment@initial", "assess", case_id, "--type", "initial", data=INITIAL)
        write("assessment@comprehensive", "assess", case_id, "--type", "comprehensive", data=COMPREHENSIVE)
        write("assessment@best-interests", "assess", case_id, "--type", "best-interests", data=BID)
        write("plan", "plan", case_id, data=PLAN)
        ok(sup("approve", case_id, "plan", "--note", "fine"))
        written["approval"] = {"subject": "plan", "note": "fine"}
        consent_both(amina, case_id, "--until", "2027-06-30")
        written["consent"] = {"purpose": "referral", "agency": "clinic", "given_by": "caregiver", "status": "given", "until": "2027-06-30"}
        ok(amina("refer", case_id, "--service", "clinic", "--need", "a check-up", "--check", "all", "--action", "A2"))
        written["R1"] = {"service": "clinic", "plan_action": {"action": "A2"}}  # the action's ID
        ok(amina("referral", case_id, "R1", "--status", "declined", "--feedback", "seen on Monday"))
        written["referral_update"] = {"status": "declined", "feedback": "seen on Monday"}
        write("followup", "followup", case_id, data=FOLLOWUP)
        write("review", "review", case_id, data=REVIEW)
        ok(amina("note", case_id, "--text", "the grandmother called"))
        written["note"] = {"text": "the grandmother called"}
        yield root, keys, case_id, written, as_


def test_show_record__every_kind_reads_back_field_for_field(world):
    root, keys, case_id, written, as_ = world
    amina = as_("amina")
    for ref, typed in written.items():
        shown = ok(amina("show", case_id, ref, "--json")).json()
        fields = shown["fields"]
        assert fields == decrypted(root, case_id, shown["record_id"], keys["amina"]), ref
        got = flat(fields)
        for key, value in flat(typed).items():
            assert key in got, (ref, key)
            assert same(value, got[key]), (ref, key, got[key])


def test_show_record__a_kept_field_of_entries_reads_in_words_not_as_code(capsys):
    """A field cpcm keeps beside the form's (a closure's readiness domains, a list of mappings)
    reads as its keys and values, not as Python's notation of them."""
    from cpcm.cli.cases import print_record

    print_record({"kind": "closure", "what": "", "record_id": "01R", "case_id": "CP-TEST", "at": "2026-12-01T10:00:00+03:00",
                  "by": "sup", "recorded_at": "2026-12-01T10:00:00+03:00",
                  "answers": [{"field": "domains", "label": "", "value": [{"domain": "education", "score": 10, "pass_mark": 11},
                                                                          {"domain": "health", "score": 12, "pass_mark": 11}]},
                              {"field": "scored", "label": "", "value": {"total": 22, "met": False}}]})
    out = capsys.readouterr().out
    assert "domains: domain: education, score: 10, pass mark: 11; domain: health, score: 12, pass mark: 11" in out
    assert "scored: total: 22, met: no" in out and "{" not in out and "'" not in out


def same(typed, stored) -> bool:
    """What was typed is what is stored: a yes/no typed is stored as a boolean where the form
    says so; a list entry may gain what the command adds (a goal's id), never lose a field."""
    if isinstance(stored, bool) and isinstance(typed, str):
        return stored == (typed == "yes")
    if isinstance(typed, list) and isinstance(stored, list) and len(typed) == len(stored):
        return all(same(t, s) for t, s in zip(typed, stored))
    if isinstance(typed, dict) and isinstance(stored, dict):
        return all(k in stored and same(v, stored[k]) for k, v in typed.items())
    return typed == stored


def test_show_record__answers_carry_the_form_labels_in_each_language(world):
    _, _, case_id, _, as_ = world
    amina = as_("amina")
    comprehensive = ok(amina("show", case_id, "assessment@comprehensive", "--json")).json()
    from cpcm.store import forms

    form = forms.load("assessment-comprehensive")
    field = form.field("child_views")
    assert comprehensive["labels"]["child_views"] == dict(field.label)
    answers = {a["field"]: a for a in comprehensive["answers"]}
    assert answers["child_views"]["value"] == COMPREHENSIVE["child_views"]
    assert answers["child_views"]["label"] == field.label["en"]
    assert answers["dimensions.physical.risks"]["label"] == form.field("dimensions.physical.risks").label["en"]
    bid = ok(amina("show", case_id, "assessment@best-interests", "--json")).json()
    assert [o["kind"] for o in bid["fields"]["options"]] == ["kinship", "foster_care"]
    assert "options[].kind" in bid["labels"]
    registration_view = ok(amina("show", case_id, "registration", "--json")).json()
    assert registration_view["labels"]["child.birth_certificate"]["sw"] == "Namba ya cheti cha kuzaliwa"
    text = ok(amina("show", case_id, "assessment@comprehensive")).stdout
    assert f"{field.label['en']}: {COMPREHENSIVE['child_views']}" in text
    review = ok(amina("show", case_id, "review")).stdout
    assert "keep visiting monthly" in review and "fees paid" in review


def test_show_record__short_forms(world):
    _, _, case_id, _, as_ = world
    amina = as_("amina")
    log = ok(amina("log", case_id, "--json")).json()
    by_kind = {}
    for entry in sorted(log, key=lambda e: e["order"]):
        by_kind.setdefault(entry["kind"], []).append(entry["record_id"])
    assert ok(amina("show", case_id, "plan", "--json")).json()["record_id"] == by_kind["plan"][-1]
    assert ok(amina("show", case_id, "plan@1", "--json")).json()["record_id"] == by_kind["plan"][0]
    assert ok(amina("show", case_id, "R1", "--json")).json()["record_id"] == by_kind["referral"][0]
    assert ok(amina("show", case_id, "last", "--json")).json()["record_id"] == max(e["record_id"] for e in log)
    assert ok(amina("show", case_id, "assessment", "--json")).json()["record_id"] == by_kind["assessment"][-1]
    first = ok(amina("show", case_id, "assessment@initial", "--json")).json()
    assert first["record_id"] == by_kind["assessment"][0] and first["what"] == "initial"
    assert ok(amina("show", case_id, by_kind["note"][0].lower(), "--json")).json()["kind"] == "note"
    for unknown in ("plan@7", "R9", "nonsense", "assessment@weekly"):
        result = amina("show", case_id, unknown)
        assert result.code == 3, (unknown, result.stderr)
        # what was typed is not echoed (the case ID, named in the message, may hold 'R9' by chance)
        assert "plan@2" in result.stderr and "R1" in result.stderr and unknown not in result.stderr.replace(case_id, "")


def test_show_record__a_referral_update_names_its_referral_by_reference(world):
    _, _, case_id, _, as_ = world
    amina = as_("amina")
    referral_id = ok(amina("show", case_id, "R1", "--json")).json()["record_id"]
    text = ok(amina("show", case_id, "referral_update")).stdout
    assert "referral: R1" in text.splitlines() and referral_id not in text
    shown = ok(amina("show", case_id, "referral_update", "--json")).json()
    assert shown["ref"] == "R1" and shown["fields"]["referral"] == referral_id  # the record as written keeps the id
    answer = next(a for a in shown["answers"] if a["field"] == "referral")
    assert answer["value"] == "R1" and answer["record_id"] == referral_id


def test_show__what_was_left_out_before(world):
    _, _, case_id, _, as_ = world
    data = ok(as_("amina")("show", case_id, "--json")).json()
    assert data["child"]["other_names"] == "Tess" and data["child"]["birth_certificate"] == "BC-1234"
    assert data["immediate_needs"] == ["food", "school uniform"]
    assert data["identified_by"] == "community_member" and data["registration_place"] == "Kisumu children's office"
    assert data["registration_consent"] == {"child": "given", "caregiver": "given", "explained": True}
    assert data["caregiver_relationship"] == "grandmother"
    consents = [(c["purpose"], c["agency"], c["given_by"], c["until"], c["state"]) for c in data["consents"]]
    assert ("referral", "clinic", "child", "2027-06-30", "valid") in consents
    assert ("referral", "clinic", "caregiver", "2027-06-30", "valid") in consents
    # A1 was marked done at the review: only A2 is open, with its date
    assert [(a["item"], a["by"]) for a in data["open_actions"]] == [("A2", "2027-01-20")]
    text = ok(as_("amina")("show", case_id)).stdout
    for expected in ("Tess", "BC-1234", "school uniform", "community_member", "purpose\tagency", "2027-06-30", "Home visit"):
        assert expected in text


def test_log__what_each_record_is_sorted_by_at_with_the_order_written(world):
    _, _, case_id, _, as_ = world
    amina = as_("amina")
    ok(amina("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
             "--risk-increased", "no", "--at", "2026-11-20T10:00:00+03:00"))  # written last, happened earlier
    entries = ok(amina("log", case_id, "--json")).json()
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), key=lambda t: __import__("cpcm.domain.records", fromlist=["utc"]).utc(t))
    late = max(entries, key=lambda e: e["order"])
    assert late["kind"] == "followup" and entries.index(late) < len(entries) - 1
    whats = {e["kind"]: e["what"] for e in entries if e["kind"] != "followup"}
    assert whats["consent"] == "referral to clinic, caregiver given"
    assert whats["referral"] == "R1 to clinic" and whats["referral_update"] == "R1 declined"
    assert {e["what"] for e in entries if e["kind"] == "assessment"} == {"initial", "comprehensive", "best-interests"}
    assert whats["plan"] == "version 1 (initial)"
    text = ok(amina("log", case_id)).stdout
    assert "comprehensive" in text and "referral to clinic" in text


# -- update ------------------------------------------------------------------------------------------
def referred(cli) -> str:
    assert cli("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "care").code == 0
    case_id = register(cli)
    for giver in ("child", "caregiver"):
        ok(cli("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", giver, "--status", "given", "--explained", "all"))
        ok(cli("consent", case_id, "--purpose", "sharing", "--agency", "clinic", "--by", giver, "--status", "given", "--explained", "all"))
    ok(cli("refer", case_id, "--service", "clinic", "--need", "a check-up", "--check", "all"))
    return case_id


def test_register__numbers_typed_unquoted_in_a_file_read_back_as_typed(cli, tmp_path):
    """A phone number typed unquoted in a --from-file document (contact: 0712345678) was stored as
    712345678: YAML reads it as a number, and the text field kept the number's spelling. Every
    text field now holds what was typed; a number field still reads a number."""
    document = ("child:\n  name: Test Child\n  sex: female\n  age_estimate: 09\n  birth_certificate: 00123\n"
                "location: 0012\nlives_with: mother\ncontact: 0712345678\nregistration_place: 1e3\n"
                "identified_by: self\nconcerns: [neglect]\nrisk: low\nimmediate_needs: [007, 1.50, 12]\n"
                "consent: {child: given, caregiver: given}\n")
    path = tmp_path / "child.yaml"
    path.write_text(document, encoding="utf-8")
    made = cli("register", "--from-file", str(path), "--json")
    assert made.code == 0, made.stderr
    shown = cli("show", made.json()["case_id"], "--json").json()
    assert shown["child"]["birth_certificate"] == "00123" and shown["child"]["age_estimate"] == 9
    assert (shown["location"], shown["contact"], shown["registration_place"]) == ("0012", "0712345678", "1e3")
    assert shown["immediate_needs"] == ["007", "1.50", "12"]


def test_update__letters_summaries_and_exports_use_the_new_values_and_log_keeps_both(cli, cli_as, tmp_path):
    case_id = referred(cli)
    letter_before = ok(cli("render", "referral-letter", case_id, "R1")).stdout
    assert "Nyalenda, Kisumu" in letter_before and "Test Caregiver" in letter_before
    result = ok(cli("update", case_id, "--location", "Kondele, Kisumu", "--caregiver", "Grace Achieng", "--name", "Achieng Updated",
                    "--birth-certificate", "BC-777", "--reason", "reunified with the grandmother", "--json")).json()
    assert result["changed"] == ["caregiver.name", "child.birth_certificate", "child.name", "location"]
    letter = ok(cli("render", "referral-letter", case_id, "R1")).stdout
    assert "Kondele, Kisumu" in letter and "Grace Achieng" in letter and "Nyalenda" not in letter
    shown = ok(cli("show", case_id, "--json")).json()
    assert (shown["location"], shown["caregiver_name"], shown["name"]) == ("Kondele, Kisumu", "Grace Achieng", "Achieng Updated")
    assert shown["child"]["birth_certificate"] == "BC-777" and shown["caregiver_relationship"] == "grandmother"
    # the transfer summary names the child as the case now has it
    assert cli_as("sup")("service", "add", "recv", "--provider", "Receiving Agency", "--sector", "alternative_care",
                         "--offers", "case management").code == 0
    for giver in ("child", "caregiver"):
        ok(cli("consent", case_id, "--purpose", "transfer", "--agency", "recv", "--by", giver, "--status", "given", "--explained", "all"))
    ok(cli("transfer", case_id, "--to", "recv", "--reason", "the family moved", "--reason-code", "relocation", "--check", "all"))
    summary = ok(cli("render", "transfer-summary", case_id)).stdout
    assert "Achieng Updated" in summary and "Test Child" not in summary
    # the export's identifying fields (with consent to share with clinic)
    out = tmp_path / "export.json"
    ok(cli_as("sup")("export", "--format", "json", "--fields", "case_id,name,location,caregiver_name", "--agency", "clinic",
                     "--plaintext", "--out", str(out)))
    row = json.loads(out.read_text())["cases"][0]
    assert (row["name"], row["location"], row["caregiver_name"]) == ("Achieng Updated", "Kondele, Kisumu", "Grace Achieng")
    # log lists the registration and the update; each record keeps its own value
    log = ok(cli("log", case_id, "--json")).json()
    update = next(e for e in log if e["kind"] == "update")
    assert update["what"] == "changed: caregiver.name, child.birth_certificate, child.name, location"
    old = ok(cli("show", case_id, "registration", "--json")).json()["fields"]
    assert old["location"] == "Nyalenda, Kisumu" and old["caregiver"]["name"] == "Test Caregiver"
    new = ok(cli("show", case_id, update["record_id"], "--json")).json()
    assert new["fields"]["changes"]["location"] == "Kondele, Kisumu"
    assert new["fields"]["previous"]["location"] == "Nyalenda, Kisumu" and new["fields"]["previous"]["child.birth_certificate"] is None
    assert new["fields"]["reason"] == "reunified with the grandmother"
    text = ok(cli("show", case_id, "update")).stdout
    assert "Kondele, Kisumu   (before: Nyalenda, Kisumu)" in text


def test_update__needs_a_reason_a_real_change_and_valid_values(cli, repo):
    from conftest import commit_count

    case_id = register(cli)
    before = commit_count(repo)
    no_reason = cli("update", case_id, "--location", "Elsewhere", "--json")
    assert no_reason.code == 4 and {"field": "reason", "reason": "is required: say why the details changed"} in no_reason.json()["fields"]
    same = cli("update", case_id, "--location", "Nyalenda, Kisumu", "--reason", "checked")
    assert same.code == 4 and "nothing to update" in same.stderr
    both = cli("update", case_id, "--age", "9", "--reason", "no papers", "--json")  # the date of birth is on file
    # the field named is the one the case holds, to be given empty with the age (--set child.date_of_birth=)
    assert both.code == 4 and [f["field"] for f in both.json()["fields"]] == ["child.date_of_birth"], both.stdout
    assert "--set child.date_of_birth=" in both.json()["hint"]
    worker = cli("update", case_id, "--set", "worker=otieno", "--reason", "x", "--json")
    assert worker.code == 4 and worker.json()["fields"][0]["field"] == "worker"
    assert commit_count(repo) == before
    # clearing one field and setting the other in one update passes the form's rules
    ok(cli("update", case_id, "--set", "child.date_of_birth=", "--age", "9", "--reason", "the date was a guess"))
    child = ok(cli("show", case_id, "--json")).json()["child"]
    assert "date_of_birth" not in child and child["age_estimate"] == 9
    assert commit_count(repo) == before + 1


def test_update__from_a_file_and_the_latest_value_wins(cli):
    case_id = register(cli)
    ok(cli("update", case_id, "--from-file", "-", input=json.dumps({"location": "First move", "reason": "moved"})))
    ok(cli("update", case_id, "--location", "Second move", "--registration-place", "Ward office", "--reason", "moved again"))
    shown = ok(cli("show", case_id, "--json")).json()
    assert shown["location"] == "Second move" and shown["registration_place"] == "Ward office"
    assert ok(cli("show", case_id, "update@1", "--json")).json()["fields"]["changes"] == {"location": "First move"}


def test_update__another_caregiver_named_without_a_relationship_says_the_old_relationship_stays(cli):
    """The caregiver changed by name alone (--caregiver): the relationship of the one before stays on
    the registration (show then put the aunt as 'mother'); the next step says so and how to give it,
    naming the field, never its value. Given with it, nothing is said."""
    case_id = register(cli)
    named = ok(cli("update", case_id, "--caregiver", "Testaunt Kin", "--reason", "told by chief", "--json")).json()
    said = [s for s in named["next_steps"] if "caregiver.relationship" in s]
    assert len(said) == 1 and "stay as the registration records them" in said[0] and "location" not in said[0], said
    both = ok(cli("update", case_id, "--caregiver", "Other Kin", "--set", "caregiver.relationship=aunt", "--reason", "told",
                  "--json")).json()
    assert not [s for s in both["next_steps"] if "caregiver.relationship" in s], both["next_steps"]


def test_update_and_correct__a_file_that_is_not_a_mapping_is_named_by_its_option_not_its_path(cli, tmp_path):
    case_id = register(cli)
    path = tmp_path / "Amina Wanjiru visit.yaml"  # a file name may hold a child's name
    path.write_text("- a list, not a mapping\n")
    for args in (("update", case_id), ("correct", case_id, "registration@1", "--reason", "typo")):
        refused = cli(*args, "--from-file", str(path))
        assert refused.code == 2 and "--from-file" in refused.stderr, refused.stderr
        assert "Wanjiru" not in refused.stderr


def test_correct__a_files_reason_is_the_corrections_where_the_record_has_no_field_of_that_name(cli, tmp_path):
    """`cpcm update --from-file` takes `reason:` from the file; a registration's correction refused it as
    a key of no field (not shown) beside 'reason: is required'. Given twice, differently: refused naming reason."""
    case_id = register(cli)
    path = tmp_path / "fix.yaml"
    path.write_text("reason: the other names were left out\nchild:\n  other_names: Akinyi\n")
    done = ok(cli("correct", case_id, "registration@1", "--from-file", str(path), "--json"))
    assert ok(cli("show", case_id, done.json()["record_id"], "--json")).json()["fields"]["correction_reason"] == \
        "the other names were left out"
    twice = cli("correct", case_id, done.json()["record_id"], "--from-file", str(path), "--reason", "another")
    assert twice.code == 4 and "reason: is given twice" in twice.stderr, twice.stderr


# -- correct -----------------------------------------------------------------------------------------
def test_correct__the_fold_uses_the_correction_log_keeps_the_original(cli, repo):
    case_id = register(cli, "--at", "2026-11-01")  # registered before the visit below
    ok(cli("assess", case_id, "--type", "initial", "--from-file", "-", input=json.dumps(INITIAL)))
    ok(cli("followup", case_id, "--from-file", "-", "--at", "2026-11-02T10:00:00+03:00", input=json.dumps(FOLLOWUP)))
    original = ok(cli("show", case_id, "followup", "--json")).json()
    fixed = ok(cli("correct", case_id, "followup", "--at", "2026-11-20T10:00:00+03:00", "--set", "observations=the child was at school",
                   "--reason", "date and note mistyped", "--json")).json()
    assert fixed["supersedes"] == original["record_id"]
    now = ok(cli("show", case_id, "followup", "--json")).json()
    assert now["record_id"] == fixed["record_id"] and now["supersedes"] == original["record_id"]
    assert now["fields"]["supersedes"] == original["record_id"] and now["fields"]["correction_reason"] == "date and note mistyped"
    assert now["fields"]["observations"] == "the child was at school" and now["fields"]["method"] == "home_visit"
    assert now["at"].startswith("2026-11-20")
    # the original is still there, marked, and still read back as it was
    old = ok(cli("show", case_id, original["record_id"], "--json")).json()
    assert old["superseded_by"] == fixed["record_id"] and old["fields"]["observations"] == FOLLOWUP["observations"]
    log = ok(cli("log", case_id, "--json")).json()
    assert [e["superseded_by"] for e in log if e["record_id"] == original["record_id"]] == [fixed["record_id"]]
    assert any(e["supersedes"] == original["record_id"] for e in log)
    # the fold: one follow-up, at the corrected time
    shown = ok(cli("show", case_id, "--json")).json()
    followups = [h for h in shown["history"] if h["kind"] == "followup"]
    assert [h["record_id"] for h in followups] == [fixed["record_id"]]
    # correcting the original again is refused, pointing at the correction; verify finds nothing rewritten
    again = cli("correct", case_id, original["record_id"], "--set", "observations=x", "--reason", "again")
    assert again.code == 4 and fixed["record_id"] in again.stderr
    # corrected twice: the original names the correction in force, the latest
    twice = ok(cli("correct", case_id, fixed["record_id"], "--set", "observations=at school", "--reason", "word", "--json")).json()
    again = cli("correct", case_id, original["record_id"], "--set", "observations=x", "--reason", "again")
    assert again.code == 4 and f"cpcm correct {case_id} {twice['record_id']}" in again.stderr
    assert ok(cli_verify := cli("verify", "--json")).json() == [], cli_verify.stdout


def test_correct__a_registration_keeps_its_place_and_the_stage(cli):
    case_id = register(cli)
    ok(cli("assess", case_id, "--type", "initial", "--from-file", "-", input=json.dumps(INITIAL)))
    ok(cli("correct", case_id, "registration", "--set", "child.name=Right Name", "--reason", "name misspelt"))
    shown = ok(cli("show", case_id, "--json")).json()
    assert shown["name"] == "Right Name" and shown["stage"] == "initial_assessment"
    problems = cli("check", "--json").json()
    assert not [p for p in problems if p["code"] == "transition-out-of-order"], problems
    history = [h["kind"] for h in shown["history"]]
    assert history == ["registration", "assessment"]


def test_show_and_log__say_the_same_number_of_records_with_the_corrected_ones(cli):
    """`show` counted the records in force (a correction standing in its original's place) and
    `log` listed every record written: a worker comparing the two took a record for lost. Both
    say "N records (M corrected)", and `show --json` gives both counts."""
    case_id = register(cli)
    ok(cli("assess", case_id, "--type", "initial", "--from-file", "-", input=json.dumps(INITIAL)))
    ok(cli("correct", case_id, "registration", "--set", "location=Kondele, Kisumu", "--reason", "typed wrong"))
    ok(cli("correct", case_id, "assessment", "--set", "safety_concerns=none seen", "--reason", "wrong case"))
    ok(cli("correct", case_id, "assessment", "--set", "safety_concerns=none seen at all", "--reason", "again"))  # a correction corrected
    log = ok(cli("log", case_id, "--json")).json()
    assert len(log) == 5 and sum(1 for e in log if e["superseded_by"]) == 3
    assert ok(cli("log", case_id)).stderr.strip().splitlines()[-1] == "5 records (3 corrected)"
    shown = ok(cli("show", case_id, "--json")).json()
    assert (shown["records"], shown["records_total"], shown["records_corrected"]) == (2, 5, 3)
    assert "records\t5 records (3 corrected)" in ok(cli("show", case_id)).stdout
    plain = register(cli)
    assert "records\t1 record\n" in ok(cli("show", plain)).stdout
    assert ok(cli("log", plain)).stderr.strip() == "1 record"


def test_correct__a_referral_update_still_finds_its_corrected_referral():
    """Pure: references to a superseded record are read through its correction."""
    from cpcm.domain.records import Record
    from cpcm.workflow.fold import effective, fold

    def rec(kind, rid, **body):
        return Record(kind, 1, rid, "CP-TEST-TEST", "2026-11-01T10:00:00+00:00", "2026-11-01T10:00:00+00:00", "amina", body)

    records = [rec("registration", "01A", child={"name": "X", "sex": "female"}, location="here", risk="high"),
               rec("referral", "01B", service="clinic", need="old"),
               rec("referral_update", "01C", referral="01B", status="accepted"),
               rec("referral", "01D", service="clinic", need="new", supersedes="01B", correction_reason="need mistyped"),
               rec("note", "01E", text="a")]
    assert [r.id for r in effective(records)] == ["01A", "01D", "01C", "01E"]
    case = fold("CP-TEST-TEST", records)
    assert [(r["ref"], r["record_id"], r["need"], r["status"]) for r in case.referrals] == [("R1", "01D", "new", "accepted")]
    assert [e.id for e in case.history] == ["01A", "01D", "01C", "01E"]
    # two corrections of the same record (copies merged): the later one stands, once
    records.append(rec("referral", "01F", service="clinic", need="newer", supersedes="01B"))
    assert [r.id for r in effective(records)] == ["01A", "01F", "01C", "01E"]


def test_correct__an_update_takes_its_fields_as_update_does_and_the_case_uses_them(cli):
    """`cpcm correct CASE update --set location=...` corrects the value the update recorded (it
    was kept beside the update's `changes`, unread, and the case kept the mistyped value)."""
    case_id = register(cli)
    ok(cli("update", case_id, "--location", "Kondele, Kisumuu", "--caregiver", "Grace A.", "--reason", "moved"))
    ok(cli("correct", case_id, "update", "--set", "location=Kondele, Kisumu", "--reason", "typo"))
    shown = ok(cli("show", case_id, "--json")).json()
    assert shown["location"] == "Kondele, Kisumu" and shown["caregiver_name"] == "Grace A."
    fields = ok(cli("show", case_id, "update", "--json")).json()["fields"]
    assert fields["changes"] == {"location": "Kondele, Kisumu", "caregiver.name": "Grace A."} and "location" not in fields
    # a field given empty takes it out of the update; the registered value stands again
    ok(cli("correct", case_id, "update", "--set", "caregiver.name=", "--reason", "not traced after all"))
    assert ok(cli("show", case_id, "--json")).json()["caregiver_name"] == registration()["caregiver"]["name"]
    # refused, naming the field and not repeating the value: a field the update did not change, a bad value, `previous`
    for pair, field in (("contact=Wanjiru 0700", "contact"), ("previous.location=Wanjiru", "previous"), ("location=", "location"),
                        ("Wanjiru Otieno=0700", "--set (1st)"), ("previous.Wanjiru=x", "previous")):  # no field: by its place
        refused = cli("correct", case_id, "update", "--set", pair, "--reason", "r")
        assert refused.code == 4 and f"{field}: " in refused.stderr and "Wanjiru" not in refused.stderr, refused.stderr
    # the only field left taken out: named, with the way to take the change back (not an internal `changes`)
    emptied = cli("correct", case_id, "update", "--set", "location=", "--reason", "r").stderr
    assert "location: is all this update changed" in emptied and "to the value before the update" in emptied, emptied
    ok(cli("update", case_id, "--disability", "yes", "--reason", "seen by a doctor"))
    refused = cli("correct", case_id, "update", "--set", "child.disability=Wanjiru", "--reason", "r")
    assert refused.code == 4 and "child.disability: is not one of" in refused.stderr and "Wanjiru" not in refused.stderr


def test_correct__a_risk_level_changed_by_a_correction_needs_its_reason_as_the_assessment_did(cli):
    """The initial assessment kept the registered level (high); correcting it to medium without a
    reason was written, and the case's risk changed with no reason anywhere."""
    case_id = register(cli)  # risk high
    ok(cli("assess", case_id, "--type", "initial", "--from-file", "-", input=json.dumps(INITIAL)))
    refused = cli("correct", case_id, "assessment@initial", "--set", "risk=medium", "--reason", "mistyped")
    assert refused.code == 4 and "risk_reason: is required when the risk level changes (from high to medium)" in refused.stderr
    assert ok(cli("show", case_id, "--json")).json()["risk"] == "high"
    ok(cli("correct", case_id, "assessment@initial", "--set", "risk=medium", "--set", "risk_reason=the uncle moved away",
           "--reason", "mistyped"))
    assert ok(cli("show", case_id, "--json")).json()["risk"] == "medium"
    # a follow-up's level likewise; back to the level before it needs none
    ok(cli("followup", case_id, "--from-file", "-", input=json.dumps(dict(FOLLOWUP, risk="low", risk_reason="settled"))))
    assert cli("correct", case_id, "followup", "--set", "risk=high", "--set", "risk_reason=", "--reason", "r").code == 4
    ok(cli("correct", case_id, "followup", "--set", "risk=medium", "--set", "risk_reason=", "--reason", "no change that day"))
    assert ok(cli("show", case_id, "--json")).json()["risk"] == "medium"
    # a correction of the correction: the level before is the registration's (high), not that of the follow-up written later
    ok(cli("followup", case_id, "--from-file", "-", input=json.dumps(dict(FOLLOWUP, risk="high", risk_reason="the uncle is back"))))
    back = cli("correct", case_id, "assessment@initial", "--set", "risk=high", "--set", "risk_reason=", "--reason", "high after all")
    assert back.code == 0, back.stderr


def test_show_and_correct__bid_at_n_is_the_nth_best_interests_assessment_and_assessment_at_bid_the_latest(cli):
    """`bid@2` named the second assessment of any type (here the initial one), so `cpcm correct
    CASE bid@2` corrected the wrong record; `assessment@bid` was refused."""
    case_id = register(cli)
    first = ok(cli("assess", case_id, "--type", "best-interests", "--from-file", "-", "--json", input=json.dumps(BID))).json()
    ok(cli("assess", case_id, "--type", "initial", "--from-file", "-", input=json.dumps(INITIAL)))
    second = ok(cli("assess", case_id, "--type", "best-interests", "--from-file", "-", "--json",
                    input=json.dumps(dict(BID, chosen="foster_care")))).json()
    for ref, wanted in (("bid@1", first), ("bid@2", second), ("bid", second), ("assessment@bid", second),
                        ("best-interests@2", second)):
        assert ok(cli("show", case_id, ref, "--json")).json()["record_id"] == wanted["record_id"], ref
    assert cli("show", case_id, "bid@3").code == 3
    fixed = ok(cli("correct", case_id, "bid@2", "--set", "child_views=with my aunt", "--reason", "typo", "--json")).json()
    assert fixed["supersedes"] == second["record_id"]


def test_correct__refused_for_decisions_and_without_a_reason(cli, cli_as):
    case_id = register(cli)
    assert cli("correct", case_id, "registration", "--set", "location=x").code == 4
    ok(cli("note", case_id, "--text", "first"))
    assert cli("correct", case_id, "note", "--set", "text=", "--reason", "r").code == 4
    ok(cli("correct", case_id, "note", "--set", "text=second", "--reason", "typo"))
    assert ok(cli("show", case_id, "note", "--json")).json()["fields"]["text"] == "second"
    result = cli("correct", case_id, "nonsense", "--reason", "r")
    assert result.code == 3 and "nonsense" not in result.stderr
    ok(cli("assign", case_id, "--worker", "sup"))
    decision = cli_as("sup")("correct", case_id, "assignment", "--set", "worker=amina", "--reason", "r")
    assert decision.code == 4 and "an assignment record cannot be corrected" in decision.stderr, decision.stderr


def test_show__a_caregiver_known_by_relationship_only(cli):
    """A caregiver recorded by relationship without a name reads "grandmother (name not recorded)",
    not " (grandmother)"; with a name, "Name (grandmother)"."""
    nameless = register(cli, caregiver={"relationship": "grandmother"})
    named = register(cli)
    lines = {case_id: cli("show", case_id).stdout.splitlines() for case_id in (nameless, named)}
    assert "caregiver\tgrandmother (name not recorded)" in lines[nameless]
    assert "caregiver\tTest Caregiver (grandmother)" in lines[named]


def test_show_record__a_choice_reads_in_the_repositorys_language_with_its_code(cli_as):
    """In a Kiswahili repository `show CASE RECORD` gave the form's labels in Kiswahili but each
    choice as its code (`Jinsia: female`, `Njia: home_visit`), while the Kenyan case categories read
    in words. Every choice of a record with a form now reads as its words with its code beside them
    (what --set takes), in an entry of a list and an update's change too; --json keeps the codes,
    and an English repository reads as it did."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    for kind, data in (("initial", INITIAL), ("comprehensive", COMPREHENSIVE)):
        ok(amina("assess", case_id, "--type", kind, "--from-file", "-", input=json.dumps(data)))
    ok(amina("plan", case_id, "--from-file", "-", input=json.dumps(PLAN)))
    ok(amina("followup", case_id, "--from-file", "-", input=json.dumps(FOLLOWUP)))
    ok(amina("update", case_id, "--lives-with", "mother", "--reason", "moved"))
    assert "Sex: female" in ok(amina("show", case_id, "registration")).stdout.splitlines()
    ok(sup("config", "set", "language", "sw"))

    def lines(ref: str) -> list[str]:
        return [line.strip() for line in ok(amina("show", case_id, ref)).stdout.splitlines()]

    registered = lines("registration")
    for line in ("Jinsia: wa kike (female)", "Mtoto anaishi na nani: jamaa (relatives)", "Kiwango cha hatari cha awali: juu (high)",
                 "Mtoto alitambuliwa vipi: mwanajamii (community_member)", "Wasiwasi wa awali wa ulinzi: kutelekezwa (neglect)",
                 "Ridhaa ya mtoto kwa usajili: imetolewa (given)", "Maelezo yalitolewa: ndiyo (yes)", "Ulemavu: hapana (no)"):
        assert line in registered, (line, registered)
    assert "Matokeo: endelea (proceed)" in lines("assessment@initial")
    assert "Njia: ziara ya nyumbani (home_visit)" in lines("followup")
    assert "Nani: afisa wa kesi (caseworker)" in lines("plan")  # an action's, in the list of actions
    assert "Mtoto anaishi na nani: mama (mother)   (awali: jamaa (relatives))" in lines("update")
    shown = ok(amina("show", case_id, "registration", "--json")).json()
    assert {a["field"]: a["value"] for a in shown["answers"]}["child.sex"] == "female"
    assert shown["fields"]["risk"] == "high"
