"""A lone worker's forms and corrections: the length a text field holds is said before it is typed
(`cpcm form blank`, the questions) and, when a text is longer, the refusal gives its length and what
to do with the rest (never the text); `cpcm correct` given no field says so and how to give them;
`register --sibling-of` names only the fields it took from the sibling's case; a guided
registration does not ask for both the date of birth and an estimated age, and a refusal once
every question was answered asks again only the fields it names, keeping the other answers."""
from __future__ import annotations

import json

import typer

from conftest import CANARY, commit_count, register
from test_assess_plan import COMPREHENSIVE, assessed_initial


# -- 1. long texts ---------------------------------------------------------------------------------

def test_form_blank__says_how_many_characters_a_text_field_holds(cli):
    blank = cli("form", "blank", "assessment-comprehensive")
    assert blank.code == 0, blank.stderr
    narrative = [line for line in blank.stdout.splitlines() if "(optional, text" in line and "up to 4000 characters" in line]
    assert narrative, blank.stdout  # was: "(optional, text)"
    feedback = cli("form", "blank", "followup").stdout
    assert "text, up to 4000 characters)" in feedback
    assert "text, up to 200 characters)" in cli("form", "blank", "registration").stdout


def test_assess__a_narrative_longer_than_its_field_is_refused_with_its_length_and_what_to_do(cli, repo):
    case_id = assessed_initial(cli)
    paragraph = f"{CANARY} was seen at the clinic and the nurse said the child was well fed. " * 2
    doc = json.loads(json.dumps(COMPREHENSIVE))
    doc["dimensions"]["physical"]["narrative"] = "\n\n".join([paragraph] * 40)
    length = len(doc["dimensions"]["physical"]["narrative"].strip())
    assert length > 4000
    before = commit_count(repo)
    refused = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(doc))
    assert refused.code == 4, refused.stderr
    assert (f"dimensions.physical.narrative: is {length} characters, longer than the 4000 this field holds"
            in refused.stderr), refused.stderr
    # what to do: shorten it, or the rest in a note of this case, which holds what the input gate lets through
    assert "shorten it, or keep the rest in a note" in refused.stderr
    assert f"cpcm note {case_id} --text - < FILE" in refused.stderr and "a note holds up to 1 MiB" in refused.stderr
    assert CANARY not in refused.stderr + refused.stdout and "clinic" not in refused.stderr
    assert commit_count(repo) == before
    as_json = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", "--json", input=json.dumps(doc)).json()
    assert as_json["fields"][0]["reason"] == f"is {length} characters, longer than the 4000 this field holds"
    assert f"cpcm note {case_id}" in as_json["hint"]


def test_prompts__a_long_text_question_says_what_it_holds_and_how_to_give_paragraphs(monkeypatch):
    from cpcm.cli import prompts
    from cpcm.store import forms

    said = []
    monkeypatch.setattr(typer, "prompt", lambda text, **_: said.append(text) or "")
    monkeypatch.setattr(typer, "confirm", lambda text, **_: False)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: None)
    form = forms.load("registration")
    notes = next(f for f in form.fields if f.key == "notes")
    prompts._ask_fields((notes,), {}, {}, None, [], "en")
    assert said == ["Notes (up to 4000 characters, one line: for several paragraphs give the record in a file, "
                    "--from-file FILE) (optional)"], said


# -- 2. a correction given no field ----------------------------------------------------------------

def test_correct__given_no_field_says_so_and_how_to_give_them(cli, repo):
    case_id = register(cli)
    before = commit_count(repo)
    refused = cli("correct", case_id, "registration", "--reason", "name misspelt")
    assert refused.code == 2, refused.stderr
    assert "no field was given (--set, --from-file) and no --at" in refused.stderr, refused.stderr
    assert "already has that value" not in refused.stderr
    assert "--set child.name=..." in refused.stderr and "--from-file FILE" in refused.stderr
    assert "cpcm form blank registration lists the field names" in refused.stderr
    assert commit_count(repo) == before
    # a field given its own value: still nothing-to-correct, named so
    same = cli("correct", case_id, "registration", "--set", "location=Nyalenda, Kisumu", "--reason", "x", "--json")
    assert same.code == 4 and same.json()["rule"] == "nothing-to-correct", same.stderr
    note = cli("note", case_id, "--text", "called the school")
    assert note.code == 0, note.stderr
    assert "--set text=..." in cli("correct", case_id, "note", "--reason", "typo").stderr


# -- 3. the fields taken from a sibling's case ------------------------------------------------------

def test_register_sibling_of__names_only_the_fields_taken_from_the_sibling(cli):
    first = register(cli, caregiver={"name": f"{CANARY} Carer", "relationship": "grandmother"}, contact="0700 000 001")
    sibling = {"child": {"name": f"{CANARY} Two", "sex": "male", "date_of_birth": "2016-02-01"}, "concerns": ["neglect"],
               "risk": "medium", "consent": {"child": "given", "caregiver": "given"},
               "caregiver": {"name": f"{CANARY} Aunt", "relationship": "aunt"}}
    done = cli("register", "--sibling-of", first, "--from-file", "-", "--no-input", "--location", "Manyatta B",
               input=json.dumps(sibling))
    assert done.code == 0, done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith(f"from {first}: "))
    taken = line[len(f"from {first}: "):line.index(" (")].split(", ")
    assert taken == ["lives_with", "contact", "identified_by"], line  # was: caregiver.name, caregiver.relationship, location too
    assert CANARY not in done.stderr
    shown = cli("show", done.stdout.strip(), "--json").json()
    assert shown["caregiver_relationship"] == "aunt" and shown["location"] == "Manyatta B"


# -- 4. guided registration ---------------------------------------------------------------------------

def _guided(cli, monkeypatch, answers: dict[str, list[str]], *args: str):
    """`cpcm register` on a terminal, each question answered by the first answer left for the start
    of its text (else Enter); returns (the result, every question and message said)."""
    from typer.testing import CliRunner

    from cpcm.cli import common
    from cpcm.cli.app import build

    said, answers = [], {start: list(queue) for start, queue in answers.items()}

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 200, said
        queue = next((queue for start, queue in answers.items() if text.startswith(start)), None)
        return queue.pop(0) if queue else ""

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", lambda text, **_: said.append(text) or False)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    result = CliRunner().invoke(build("register"), ["register", "--json", *args], env=dict(cli.env, CPCM_NO_AGENT="1"))
    return result, said


REQUIRED = {"Child's name": [CANARY], "Sex": ["female"], "Where the child lives now": ["Kondele"],
            "Who the child lives with": ["mother"], "How the child was identified": ["family"],
            "Initial protection concerns": ["neglect"], "Initial risk level": ["high"], "Child's assent": ["given"],
            "Caregiver's consent": ["given"]}


def test_register_on_a_terminal__the_estimated_age_is_not_asked_once_the_date_of_birth_is_given(cli, monkeypatch):
    result, said = _guided(cli, monkeypatch, {**REQUIRED, "Date of birth": ["2015-03-01"], "Estimated age": ["10"]})
    assert result.exit_code == 0, (result.output, said)
    assert any(line.startswith("Date of birth") for line in said)
    assert not any(line.startswith("Estimated age") for line in said), said
    case_id = json.loads(result.stdout[result.stdout.index("{"):])["case_id"]
    child = cli("show", case_id, "--json").json()["child"]
    assert child["date_of_birth"] == "2015-03-01" and child.get("age_estimate") is None


def test_register_on_a_terminal__a_refusal_at_the_end_asks_again_only_the_fields_named(cli, monkeypatch, repo):
    """Both given as options: refused once every question was answered (was: exit 4, every answer
    lost); now the refusal is said and only the date of birth and the age are asked again."""
    before = commit_count(repo)
    result, said = _guided(cli, monkeypatch, {**REQUIRED, "Date of birth": [""], "Estimated age": ["9"]},
                           "--dob", "2015-03-01", "--age", "10")
    assert result.exit_code == 0, (result.output, said)
    assert any("child.age_estimate: give the date of birth or an estimated age, not both" in line for line in said), said
    assert "Answer these again; every other answer is kept (Ctrl-C stops, and nothing is written)." in said
    again = said[said.index("Answer these again; every other answer is kept (Ctrl-C stops, and nothing is written)."):]
    assert [line.split(" [")[0].split(" (")[0] for line in again[1:] if line.endswith("(optional)")] == \
        ["Date of birth", "Estimated age in years"], again
    assert sum(line.startswith("Child's name") for line in said) == 1  # asked once: the answer was kept
    case_id = json.loads(result.stdout[result.stdout.index("{"):])["case_id"]
    shown = cli("show", case_id, "--json").json()
    assert shown["child"].get("date_of_birth") is None and shown["child"]["age_estimate"] == 9
    assert shown["location"] == "Kondele" and commit_count(repo) == before + 1
    assert not any(CANARY in line for line in said if not line.startswith("Child's name"))


def test_register_with_no_input__a_refusal_is_not_asked_again(cli, repo):
    from conftest import registration

    doc = registration(child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "age_estimate": 10})
    refused = cli("register", "--from-file", "-", input=json.dumps(doc))
    assert refused.code == 4 and "not both" in refused.stderr


def test_consent_on_a_terminal__a_refusal_at_the_end_asks_again_only_the_field_named(cli, monkeypatch, repo):
    """The other commands that ask questions keep the answers too: a consent given --until and --one-off (not
    both) asks the date again, every other answer kept, and is written once it is left out."""
    from typer.testing import CliRunner

    from test_referrals import CLINIC

    from cpcm.cli import common
    from cpcm.cli.app import build

    assert cli(*CLINIC).code == 0
    case_id = register(cli)
    before = commit_count(repo)
    said = []

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 100, said
        return ""
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", lambda text, **_: said.append(text) or False)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    result = CliRunner().invoke(build("consent"), ["consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by",
                                                   "caregiver", "--status", "given", "--explained", "all", "--until", "2027-01-01",
                                                   "--one-off", "--json"], env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert result.exit_code == 0, (result.output, said)
    again = said[said.index("Answer these again; every other answer is kept (Ctrl-C stops, and nothing is written)."):]
    assert [line.split(" [")[0] for line in again[1:]] == ["Valid until"], again
    consents = cli("show", case_id, "--json").json()["consents"]
    assert [(c["purpose"], c["until"], c["one_off"]) for c in consents] == [("referral", None, True)], consents
    assert commit_count(repo) == before + 1
