"""A Kiswahili repository (`cpcm init --language sw`) takes a choice as its code or as its words in
Kiswahili, exactly as `cpcm form print --lang sw` prints them ("wa kiume", "mama", "wastani"), and a
yes-or-no as ndiyo or hapana, in the prompts, with --set, --from-file and in a CSV batch; the record
holds the code. Its refusals and its prompts are in Kiswahili where the catalog has the words. Was:
only the English codes were taken ("is not one of: female, male, other, unknown"), and the refusals
and the prompts' own words were English beside Kiswahili questions.

An English repository is as it was (codes; and the English words of a choice, the same way)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer

from conftest import CANARY, NOW, Cli, commit_count, make_repo, register, registration
from cpcm.store import forms

# what a worker copies from the Kiswahili paper form, for the choices the tester was refused
SW_SETS = ["--set", "child.sex=wa kiume", "--set", "lives_with=Mama", "--set", "identified_by=mwanajamii",
           "--set", "risk=WASTANI", "--set", "consent.explained=ndiyo", "--set", "child.disability=haijulikani"]
REST = ["--set", f"child.name={CANARY}", "--set", "child.age_estimate=9", "--set", "location=Kondele",
        "--set", "concerns=neglect", "--set", "consent.child=given", "--set", "consent.caregiver=given"]
CODES = {"sex": "male", "lives_with": "mother", "identified_by": "community_member", "risk": "medium",
         "explained": True, "disability": "unknown"}


@pytest.fixture
def sw(tmp_env, team):
    """cpcm as 'amina' in a repository made with `cpcm init --language sw`."""
    root = make_repo(tmp_env / "kiswahili", team, "--language", "sw")
    return Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})


def held(cli: Cli, case_id: str) -> dict:
    """The case as it stands (`show --json`), from its records."""
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    case = shown.json()
    return {"sex": case["child"]["sex"], "lives_with": case["lives_with"], "identified_by": case["identified_by"],
            "risk": case["risk"], "explained": case["registration_consent"]["explained"],
            "disability": case["child"].get("disability")}


def test_set__a_kiswahili_repository_takes_the_words_and_keeps_the_codes(sw):
    result = sw("register", *SW_SETS, *REST, "--json")
    assert result.code == 0, result.stderr
    case_id = result.json()["case_id"]
    assert held(sw, case_id) == CODES
    record = sw("show", case_id, "registration", "--json").json()["fields"]  # the record itself: codes, never words
    assert (record["child"]["sex"], record["lives_with"], record["risk"], record["consent"]["explained"]) == \
        ("male", "mother", "medium", True)
    # update --set takes them too: hapana for a yes-or-no, the words in any case and spacing
    updated = sw("update", case_id, "--set", "consent.explained=hapana", "--set", "child.sex=  WA   KIKE ",
                 "--reason", "corrected", "--json")
    assert updated.code == 0, updated.stderr
    assert held(sw, case_id) == {**CODES, "sex": "female", "explained": False}
    assert sw("show", case_id, "update", "--json").json()["fields"]["changes"] == {"child.sex": "female",
                                                                                  "consent.explained": False}
    # the codes are still taken, as a script gives them
    coded = sw("register", "--set", "child.sex=male", "--set", "lives_with=mother", "--set", "identified_by=community_member",
               "--set", "risk=medium", "--set", "consent.explained=yes", "--set", "child.disability=unknown", *REST, "--json")
    assert coded.code == 0, coded.stderr
    assert held(sw, coded.json()["case_id"]) == CODES


def test_from_file__a_kiswahili_repository_takes_the_words(sw):
    doc = registration(lives_with="jamaa", identified_by="mtoa huduma", risk="juu", concerns=["kutelekezwa", "nyingine"],
                       concerns_other="sold goods at night")
    doc["child"] = dict(doc["child"], sex="wa kike", disability="hapana")
    doc["consent"] = {"child": "given", "caregiver": "given", "explained": "ndiyo"}
    result = sw("register", "--from-file", "-", "--json", input=json.dumps(doc))
    assert result.code == 0, result.stderr
    shown = sw("show", result.json()["case_id"], "registration", "--json").json()["fields"]
    assert (shown["child"]["sex"], shown["child"]["disability"], shown["lives_with"], shown["identified_by"], shown["risk"],
            shown["concerns"], shown["consent"]["explained"]) == ("female", "no", "relatives", "service_provider", "high",
                                                                  ["neglect", "other"], True)


def test_refusals__are_in_kiswahili_name_the_choices_in_words_and_write_nothing(sw):
    before = commit_count(Path(sw.env["CPCM_REPO"]))
    result = sw("register", "--set", "child.sex=kiume", "--set", "risk=wastan", "--set", "consent.explained=labda",
                "--set", "lives_with=mama", *REST)
    assert result.code == 4, result.stderr
    assert ("--sex (child.sex): si mojawapo ya: wa kike (female), wa kiume (male), nyingine (other), haijulikani (unknown); "
            "ulimaanisha 'wa kiume (male)'?") in result.stderr
    assert "(risk): si mojawapo ya: ya papo hapo (immediate), juu (high), wastani (medium), chini (low)" in result.stderr
    assert "consent.explained: si ndiyo wala hapana" in result.stderr
    assert "(identified_by): ni lazima (Mtoto alitambuliwa vipi)" in result.stderr
    assert "labda" not in result.stderr and CANARY not in result.stderr  # the answer typed is never repeated
    assert commit_count(Path(sw.env["CPCM_REPO"])) == before


def test_words_of_two_choices__are_refused_naming_both(sw):
    """An agency's catalog that gives mother and father the same word: the word is refused, naming
    both choices, rather than one of them taken at random; each code is still taken."""
    catalog = Path(sw.env["CPCM_REPO"]) / ".cpcm" / "locale" / "sw" / "LC_MESSAGES" / "cpcm.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                       'msgid "mother"\nmsgstr "mzazi"\n\nmsgid "father"\nmsgstr "mzazi"\n', encoding="utf-8")
    others = SW_SETS[:2] + SW_SETS[4:]  # without lives_with=Mama: a field given twice is refused
    result = sw("register", *others, "--set", "lives_with=mzazi", *REST)
    assert result.code == 4
    assert ("--lives-with (lives_with): ni maneno ya chaguo zaidi ya moja (mzazi (mother), mzazi (father)): andika msimbo wa lile "
            "unalomaanisha") in result.stderr
    assert sw("register", *others, "--set", "lives_with=father", *REST).code == 0


def test_prompts__ask_in_kiswahili_show_the_choices_in_words_and_take_them(sw, monkeypatch):
    from typer.testing import CliRunner

    from cpcm.cli import common
    from cpcm.cli.app import build

    said, answers = [], {"Jinsia": ["kiume", "wa kiume"], "Mtoto anaishi na nani": ["mama"],
                         "Mtoto alitambuliwa vipi": ["", "mwanajamii"], "Kiwango cha hatari": ["wastani"]}

    def prompt(text, **_):
        said.append(text)
        queue = next((queue for start, queue in answers.items() if text.startswith(start)), None)
        if queue == [] or len(said) > 100:  # asked again after its last answer: refused
            raise AssertionError(f"asked again: {text}")
        return queue.pop(0) if queue else ""

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", lambda text, **_: said.append(text) or False)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    result = CliRunner().invoke(build("register"), ["register", "--set", "consent.explained=ndiyo",
                                                    "--set", "child.disability=hapana", *REST, "--json"],
                                env=dict(sw.env, CPCM_NO_AGENT="1"))
    assert result.exit_code == 0, (result.output, said)
    assert said[0] == "Utambuzi na usajili: jibu kila swali; bonyeza Enter kuruka swali lisilo la lazima."
    assert "Jinsia [wa kike (female), wa kiume (male), nyingine (other), haijulikani (unknown)]" in said
    assert "  si mojawapo ya: wa kike (female), wa kiume (male), nyingine (other), haijulikani (unknown); " \
           "ulimaanisha 'wa kiume (male)'?" in said
    assert "  hili ni la lazima" in said  # Enter on a required question
    assert any(line.startswith("Majina mengine") and line.endswith(" (si lazima)") for line in said), said
    case_id = json.loads(result.stdout[result.stdout.index("{"):])["case_id"]
    assert held(sw, case_id) == {**CODES, "disability": "no"}


def test_consent_prompts__the_caregivers_name_is_not_asked_of_the_childs_assent_and_says_when_it_is(sw, monkeypatch):
    """`cpcm consent` on a terminal in a Kiswahili repository: after "Imetolewa na: mtoto" (given by the
    child) the caregiver's name and relationship were asked, with no word that they are the caregiver's
    only, then refused (caregiver_name: goes with a caregiver's consent) and asked again. Now they are
    not asked of the child's assent, and are asked of the caregiver's consent, saying so."""
    from typer.testing import CliRunner

    from cpcm.cli import common
    from cpcm.cli.app import build

    from conftest import register

    case_id = register(sw)
    said, queue = [], []

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 60, said
        return queue.pop(0) if queue else ""
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", lambda text, **_: said.append(text) or False)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    env = dict(sw.env, CPCM_NO_AGENT="1")
    named = ("Jina la mlezi", "Uhusiano wa mlezi")
    queue[:] = ["usajili", "mtoto", "imetolewa", "ndiyo", "ndiyo", "ndiyo", "ndiyo"]
    result = CliRunner().invoke(build("consent"), ["consent", case_id, "--json"], env=env)
    assert result.exit_code == 0, (result.output, said)
    assert not [line for line in said if line.startswith(named)], said
    assert not any("caregiver_name" in line for line in said), said
    queue[:] = ["usajili", "mlezi", "imetolewa", CANARY, "bibi", "ndiyo", "ndiyo", "ndiyo", "ndiyo"]
    said.clear()
    result = CliRunner().invoke(build("consent"), ["consent", case_id, "--json"], env=env)
    assert result.exit_code == 0, (result.output, said)
    assert [line for line in said if line.startswith(named)] == [
        "Jina la mlezi aliyetoa idhini, ikiwa imetolewa na mlezi (si lazima)",
        "Uhusiano wa mlezi na mtoto, ikiwa imetolewa na mlezi (si lazima)"], said
    consents = sw("show", case_id, "--json").json()["consents"]
    assert [(c["purpose"], c["given_by"]) for c in consents] == [("registration", "child"), ("registration", "caregiver")]


def test_csv_batch__rows_in_kiswahili_words_are_recorded_as_codes(sw, tmp_path):
    from conftest import library_session
    from test_followup_close import planned_cases

    ids = planned_cases(library_session(sw), 2)
    path = tmp_path / "reviews.csv"
    path.write_text("case,chair,attended.child,attended.family,plan_still_right,decisions,outcome\n"
                    f"{ids[0]},sup,ndiyo,Ndiyo,ndiyo,continue the plan,endelea\n"
                    f"{ids[1]},sup,yes,yes,yes,continue the plan,mpango mpya\n")
    result = sw("review", "--batch", str(path), "--json")
    assert result.code == 0, result.stderr
    reviews = [sw("show", case_id, "review", "--json") for case_id in ids]
    assert all(r.code == 0 for r in reviews), [r.stderr for r in reviews]
    fields = [r.json()["fields"] for r in reviews]
    assert [(f["attended"]["child"], f["attended"]["family"], f["plan_still_right"], f["outcome"]) for f in fields] == \
        [("yes", "yes", "yes", "continue"), ("yes", "yes", "yes", "replan")]


def test_an_english_repository__takes_codes_and_its_refusals_are_as_they_were(cli):
    refused = cli("register", *SW_SETS, *REST)
    assert refused.code == 4
    assert "--sex (child.sex): is not one of: female, male, other, unknown\n" in refused.stderr
    assert "(risk): is not one of: immediate, high, medium, low\n" in refused.stderr
    assert "consent.explained: is not yes or no" in refused.stderr
    missing = cli("register", "--set", "child.sex=male", *REST)
    assert "(identified_by): is required (How the child was identified)" in missing.stderr
    done = cli("register", "--set", "child.sex=Male", "--set", "lives_with=mother", "--set", "identified_by=community member",
               "--set", "risk=medium", "--set", "consent.explained=yes", "--set", "child.disability=not known", *REST, "--json")
    assert done.code == 0, done.stderr
    assert held(cli, done.json()["case_id"]) == CODES  # "not known": the English words of `unknown`, the same way


def test_every_choice_the_kiswahili_paper_form_prints_is_taken_as_its_code():
    """The words each box of `cpcm form print registration --lang sw` has beside it are the words
    taken: the one rule (`answer_code`) against the printed page itself."""
    from cpcm.domain.forms import answer_code, coerce
    from cpcm.service.paper import form_print
    from cpcm.service.wording import wording_for

    form = forms.load("registration")
    words = wording_for(None, "sw", form)
    page = form_print("registration", "sw", "md")
    checked = 0
    for field in form.fields:
        if field.type not in ("choice", "choices", "boolean"):
            continue
        label = field.text(field.label, "sw")
        start = page.index(f"**{label}**")
        block = page[start:].split("\n\n**", 1)[0]
        printed = re.findall(r"^- [(\[] [)\]] (.+)$", block, re.M)
        codes = ["yes", "no"] if field.type == "boolean" else list(field.choices)
        assert len(printed) == len(codes), (field.key, printed)
        for code, text in zip(codes, printed):
            assert answer_code(field, text, words) == ((code == "yes") if field.type == "boolean" else code, None), \
                (field.key, text)
            checked += 1
    assert checked > 40
    # a choices field given as a text: words with commas in them (an eligibility criterion's) are one answer
    criteria = form.field("criteria")
    sentence = words.choices(criteria)["abuse_or_great_need"]
    assert "," in sentence
    assert coerce(criteria, f"{sentence}; reintegration", None, (), words) == (["abuse_or_great_need", "reintegration"], None)


def _yes_or_no(monkeypatch, answers: list[str]) -> list[str]:
    """typer.prompt answered from `answers` in turn; what was said (questions and messages)."""
    said, queue = [], list(answers)
    monkeypatch.setattr(typer, "prompt", lambda text, **_: said.append(text) or queue.pop(0))
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    return said


def test_add_another_entry__takes_ndiyo_and_hapana_in_kiswahili_and_says_what_is_wanted(sw, monkeypatch):
    """A list's "ongeza kipengele kingine? [y/N]" refused ndiyo with click's "Error: invalid input"
    (in English, and not saying what was wanted); now it is read as a yes-or-no field's answer is,
    shows the words, and a refusal says, in Kiswahili, that a yes or no is wanted."""
    from conftest import library_session
    from cpcm.cli.prompts import confirmed
    from cpcm.service.wording import wording

    words = wording(library_session(sw), forms.load("plan"))
    said = _yes_or_no(monkeypatch, ["ndiyo"])
    assert confirmed("Malengo: ongeza kipengele kingine?", False, words) is True
    assert said == ["Malengo: ongeza kipengele kingine? [ndiyo/HAPANA]"], said
    said = _yes_or_no(monkeypatch, ["labda", "Hapana"])
    assert confirmed("Malengo: ongeza kipengele kingine?", True, words) is False
    assert said[1] == "  si ndiyo wala hapana", said
    said = _yes_or_no(monkeypatch, ["y", ""])
    assert confirmed("Malengo: ongeza kipengele?", False, words) is True and confirmed("Malengo: ongeza kipengele?", False, words) is False


def test_add_another_entry__in_english_takes_yes_and_no_words_and_says_what_is_wanted(monkeypatch):
    from cpcm.cli.prompts import confirmed

    said = _yes_or_no(monkeypatch, ["maybe", "Yes"])
    assert confirmed("Goals: add another entry?", False) is True
    assert said == ["Goals: add another entry? [y/N]", "  is not yes or no", "Goals: add another entry? [y/N]"], said
    said = _yes_or_no(monkeypatch, ["NO", ""])
    assert confirmed("Goals: add an entry?", True) is False and confirmed("Goals: add an entry?", True) is True


def test_a_choice_of_yes_or_no__takes_y_and_n_as_a_yes_or_no_field_does():
    """"Did the child take part in planning? [yes, no]: y" was refused (is not one of: yes, no),
    where a [yes/no] question takes y."""
    from cpcm.domain.forms import coerce

    field = forms.load("plan").field("participants.child")
    assert coerce(field, "y", None) == ("yes", None) and coerce(field, "N", None) == ("no", None)
    assert coerce(field, "perhaps", None)[1].startswith("is not one of: yes, no")


def test_readiness_on_a_terminal__review_this_domain_now_takes_ndiyo_and_hapana(sw, monkeypatch):
    """`cpcm readiness` at a terminal in a Kiswahili repository: 'review this domain now?' took only
    English y/n (typer's own confirm: 'ndiyo' was "Error: invalid input"); it reads yes or no as
    every other yes-or-no question of the questions does, in the repository's language."""
    from typer.testing import CliRunner

    from cpcm.cli import common, readiness
    from cpcm.cli.app import build

    registered = sw("register", *SW_SETS, *REST, "--json")
    assert registered.code == 0, registered.stderr
    case_id = registered.json()["case_id"]
    said, domains = [], ["ndiyo", "hapana", "HAPANA", "hapana", "hapana", "hapana"]

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 200, said
        if "[NDIYO/hapana]" in text:
            return domains.pop(0)
        if text.startswith("Imerekodiwa wakati wa"):
            return "mapitio"
        if "Elimu 1.1" in text and not any(line.startswith("  hili ni la lazima") for line in said):
            if "default" not in _:  # typer's own prompt asks again at Enter, saying nothing
                return prompt(text, **_)
            return ""  # Enter on an item: cpcm says why, and asks again
        return "ndiyo" if "ndiyo" in text.split("[")[-1] else ""

    for module in (common, readiness):
        monkeypatch.setattr(module, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    result = CliRunner().invoke(build("readiness"), ["readiness", case_id, "--json"], env=dict(sw.env, CPCM_NO_AGENT="1"))
    assert result.exit_code == 0, (result.output, said)
    assert domains == [] and sum("[NDIYO/hapana]" in text for text in said) == 6, said
    assert "  Elimu: 11 kati ya 11, kinafaulu kwa 11: imefaulu" in said, said  # the domain's score in Kiswahili too
    assert said.count("  hili ni la lazima: kikoa kinajibiwa chote") == 1, said  # Enter on an item: said why, once
    written = json.loads(result.stdout[result.stdout.index("{"):])
    assert written["readiness"]["domains_passed"] == 1, written


# -- the conference commands' yes-or-no options ------------------------------------------------------
def test_conference_options__take_ndiyo_and_hapana_and_refuse_in_kiswahili(sw, team, tmp_env):
    """`--recorded` of `conference new` and `update`, `--present` and `--confidentiality-signed` of
    `conference attend` take ndiyo and hapana as a form's yes-or-no does (was: "recorded: is yes
    or no", English only); yes and no still; anything else refused in Kiswahili, not repeated."""
    root = Path(sw.env["CPCM_REPO"])
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    online = ("--virtual", "--platform", "Google Meet", "--record-keeper", "amina")
    made = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--notice-sent", "2026-11-23",
               "--invitations-sent", "2026-11-23", *online, "--recorded", "NDIYO", "--recording-held-by", "Lead social worker",
               "--json")
    assert made.code == 0, made.stderr
    conf = made.json()["conference_id"]
    assert sup("conference", "show", conf, "--json").json()["virtual"]["recorded"] is True
    updated = sup("conference", "update", conf, "--recorded", "hapana", "--not-recorded-reason", "no network")
    assert updated.code == 0, updated.stderr
    assert sup("conference", "show", conf, "--json").json()["virtual"]["recorded"] is False
    assert sup("conference", "update", conf, "--recorded", "yes", "--recording-held-by", "Lead").code == 0  # English still
    before = commit_count(root)
    refused = sup("conference", "update", conf, "--recorded", CANARY, "--recording-held-by", "Lead")
    assert refused.code != 0 and "recorded: si ndiyo wala hapana" in refused.stderr, refused.stderr
    assert CANARY not in refused.stdout + refused.stderr and commit_count(root) == before
    # attendance, on the meeting's day
    closer = Cli(dict(sup.env, CPCM_NOW="2026-11-30T13:00:00+03:00"))
    person = ("--institution", "Children's office", "--position", "SCCO", "--contact", "0700")
    for name, signed, present, held in (("Officer One", "ndiyo", "ndiyo", True), ("Nurse Two", "hapana", "HAPANA", False),
                                        ("Teacher Three", "yes", "no", False)):
        attended = closer("conference", "attend", conf, *person, "--name", name, "--confidentiality-signed", signed,
                          "--present", present, "--json")
        assert attended.code == 0, attended.stderr
        record = next(a for a in closer("conference", "show", conf, "--json").json()["attendees"] if a["name"] == name)
        assert (record["present"], record["confidentiality_signed"]) == (held, {"ndiyo": "yes", "hapana": "no"}.get(signed, signed))
    before = commit_count(root)
    refused = closer("conference", "attend", conf, *person, "--name", "Officer Six", "--confidentiality-signed", "yes",
                     "--present", CANARY)
    assert refused.code != 0 and "present: si ndiyo wala hapana" in refused.stderr, refused.stderr
    assert CANARY not in refused.stdout + refused.stderr and commit_count(root) == before


def test_shipped_forms__no_kiswahili_words_of_a_choice_repeat_its_code_and_the_location_asks_its_parts_in_order():
    """A choice is shown as its words and its code ("Ulezi wa mtoto (custody)"): words that held the
    code already showed it twice. The location's question is read by the Form 8 report as village,
    ward, sub-county between commas: in Kiswahili it did not say so, and "Kibera, Nairobi" made
    Nairobi a ward."""
    from pathlib import Path

    from ruamel.yaml import YAML

    import cpcm

    def walk(node, found):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict) and isinstance(value.get("sw"), str) and f"({key})" in value["sw"]:
                    found.append(key)
                walk(value, found)
        elif isinstance(node, list):
            for item in node:
                walk(item, found)
        return found

    folder = Path(cpcm.__file__).parent / "forms"
    for path in sorted(folder.glob("*.yaml")):
        assert walk(YAML(typ="safe").load(path.read_text(encoding="utf-8")), []) == [], path.name
    location = next(f for f in YAML(typ="safe").load((folder / "registration.yaml").read_text(encoding="utf-8"))["fields"]
                    if f["key"] == "location")
    assert "(kijiji, wadi, kaunti ndogo)" in location["label"]["sw"]


def test_consent_override__takes_the_purposes_words_records_the_code_and_refuses_any_other_purpose(sw, team):
    """`cpcm consent CASE --override --purpose usajili` in a Kiswahili repository records `registration`,
    the override the rules read: `due` no longer asks for it. A purpose that is none of a consent's is
    refused (exit 4) in Kiswahili, naming the purposes with their words, never repeating it, and nothing is
    written. Was: any text was written as the purpose (exit 0), and the override was still owed."""
    root = Path(sw.env["CPCM_REPO"])
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    case_id = register(sw, consent={"child": "not_possible", "caregiver": "not_possible", "explained": True})

    def owed() -> list[str]:
        due = sup("due", "--json", "--worker", "all")
        assert due.code == 0, due.stderr
        return [i["code"] for i in due.json() if i["case_id"] == case_id and i["code"].startswith("consent-")]

    assert owed() == ["consent-refused"]
    override = ("--basis", "best_interests", "--reason", "Mtoto anaishi peke yake", "--no-input")
    before = commit_count(root)
    for purpose in ("xyzzy", CANARY):
        refused = sup("consent", case_id, "--override", "--purpose", purpose, *override)
        assert refused.code == 4, refused.stderr
        assert "purpose: si mojawapo ya: usajili (registration), tathmini (assessment), rufaa (referral)" in refused.stderr
        assert purpose not in refused.stdout + refused.stderr
    assert commit_count(root) == before and owed() == ["consent-refused"]
    done = sup("consent", case_id, "--override", "--purpose", "Usajili", *override)
    assert done.code == 0, done.stderr
    shown = sup("show", case_id, "--json").json()["consents"]
    assert [(c["kind"], c["purpose"]) for c in shown] == [("consent_override", "registration")], shown
    assert owed() == []
    assert sup("consent", case_id, "--override", "--purpose", "assessment", *override).code == 0  # the code still


def test_options_of_a_fixed_list__take_the_words_the_documents_print_and_refuse_in_kiswahili(sw, team):
    """`consent --override --basis`, `conference new --kind` and `conference add-case --reason` take their
    codes or their words in the repository's language, the words the case file and the agenda print
    ("maslahi bora", "wa ndani (wafanyakazi tu)", "kesi ngumu sana kutatua"), and record the code;
    anything else is refused in Kiswahili, naming the choices with their words, never repeating it.
    Was: codes only, refused in English ("basis: is not one of: legal_mandate, best_interests")."""
    root = Path(sw.env["CPCM_REPO"])
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    case_id = register(sw, consent={"child": "not_possible", "caregiver": "not_possible", "explained": True})
    override = ("--override", "--purpose", "registration", "--reason", "Mtoto anaishi peke yake", "--no-input")
    before = commit_count(root)
    refused = sup("consent", case_id, *override, "--basis", CANARY)
    assert refused.code == 4, refused.stderr
    assert "basis: si mojawapo ya: mamlaka ya kisheria (legal_mandate), maslahi bora (best_interests)" in refused.stderr
    assert CANARY not in refused.stdout + refused.stderr and commit_count(root) == before
    assert sup("consent", case_id, *override, "--basis", "Maslahi  bora").code == 0
    shown = sup("show", case_id, "--json").json()["consents"]
    assert [(c["kind"], c["basis"]) for c in shown] == [("consent_override", "best_interests")], shown

    planned = ("--date", "2026-11-30", "--notice-sent", "2026-11-23", "--invitations-sent", "2026-11-23", "--json")
    before = commit_count(root)
    refused = sup("conference", "new", "--kind", CANARY, *planned)
    assert refused.code == 4 and "kind: si mojawapo ya: wa ndani (wafanyakazi tu) (internal)" in refused.stderr, refused.stderr
    assert CANARY not in refused.stdout + refused.stderr and commit_count(root) == before
    made = sup("conference", "new", "--kind", "wa ndani (wafanyakazi tu)", *planned)
    assert made.code == 0, made.stderr
    conf = made.json()["conference_id"]
    assert sup("conference", "show", conf, "--json").json()["kind"] == "internal"

    before = commit_count(root)
    refused = sup("conference", "add-case", conf, case_id, "--reason", CANARY)
    assert refused.code == 4, refused.stderr
    assert ("reason: si mojawapo ya: njia za huduma zimekwisha (service_options_exhausted), wasiwasi wa ulinzi ambao "
            "haujatatuliwa (unresolved_protection_concern), kesi ngumu sana kutatua (especially_difficult)") in refused.stderr
    assert CANARY not in refused.stdout + refused.stderr and commit_count(root) == before
    added = sup("conference", "add-case", conf, case_id, "--reason", "Kesi ngumu sana kutatua")
    assert added.code == 0, added.stderr
    assert [c["reason"] for c in sup("conference", "show", conf, "--json").json()["cases"]] == ["especially_difficult"]


def test_transfer_reason_code_keyworker_role_and_given_to__take_their_words_and_refuse_in_kiswahili(sw, team, tmp_path):
    """`transfer --reason-code`, `assign --keyworker-role` and `render child-file --given-to` take the
    words the documents print for their codes ("kuhamia mahali pengine" for relocation, "mwalimu" for
    teacher, "mwakilishi wa mtoto" for representative) and record the code; anything else is refused
    in Kiswahili, naming the choices with their words, never repeating it. Was: codes only, refused in
    English."""
    root = Path(sw.env["CPCM_REPO"])
    case_id = register(sw)
    for giver in ("child", "caregiver"):
        given = sw("consent", case_id, "--purpose", "uhamisho", "--agency", "NRB.CO", "--by", giver, "--status", "given",
                   "--explained", "all", "--no-input")
        assert given.code == 0, given.stderr
    asked = ("transfer", case_id, "--to", "NRB.CO", "--reason", "familia imehamia Nairobi", "--check", "all")
    before = commit_count(root)
    refused = sw(*asked, "--reason-code", CANARY)
    assert refused.code == 4, refused.stderr
    assert "reason_code: si mojawapo ya: huduma bora zaidi (better_service), kuhamia mahali pengine (relocation)" in refused.stderr
    assert CANARY not in refused.stdout + refused.stderr and commit_count(root) == before
    requested = sw(*asked, "--reason-code", "Kuhamia mahali pengine", "--json")
    assert requested.code == 0, requested.stderr
    record = sw("show", case_id, requested.json()["record_id"], "--json").json()["fields"]
    assert record["reason_code"] == "relocation"

    before = commit_count(root)
    keyworker = ("assign", case_id, "--keyworker-name", CANARY, "--reason", "anamwamini")
    refused = sw(*keyworker, "--keyworker-role", "mwalim")
    assert refused.code == 4, refused.stderr
    assert "keyworker_role: si mojawapo ya: mwalimu (teacher), mjitolea wa jamii (community_volunteer)" in refused.stderr
    assert "ulimaanisha 'mwalimu (teacher)'?" in refused.stderr
    assert CANARY not in refused.stdout + refused.stderr and commit_count(root) == before
    named = sw(*keyworker, "--keyworker-role", "Mwalimu", "--json")
    assert named.code == 0, named.stderr
    assert sw("show", case_id, named.json()["record_id"], "--json").json()["fields"]["role"] == "teacher"

    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    out = tmp_path / "faili.md.age"
    before = commit_count(root)
    refused = sup("render", "child-file", case_id, "--given-to", CANARY, "--out", str(out))
    assert refused.code == 4, refused.stderr
    assert "--given-to: si mojawapo ya: " in refused.stderr and "mwakilishi wa mtoto (representative)" in refused.stderr
    assert CANARY not in refused.stdout + refused.stderr and commit_count(root) == before and not out.exists()
    given = sup("render", "child-file", case_id, "--given-to", "Mwakilishi wa mtoto", "--out", str(out), "--json")
    assert given.code == 0, given.stderr
    assert sup("show", case_id, given.json()["release_id"], "--json").json()["fields"]["given_to"] == "representative"


# -- the refusals' and the prompts' other words ---------------------------------------------------------
BAD = ["--set", "child.date_of_birth=12/03/2019", "--set", "concerns=xx, yy", "--set", "child.birth_certificate=" + "7" * 60]
OTHERS = [part for pair in zip(REST[::2], REST[1::2]) if not pair[1].startswith(("child.age_estimate=", "concerns="))
          for part in pair]  # the rest of a registration, without an age (a date of birth is given) nor concerns
ENGLISH_SETS = ["--set", "child.sex=male", "--set", "lives_with=mother", "--set", "identified_by=community_member",
                "--set", "risk=medium"]


def test_a_refused_registration__is_said_in_kiswahili_around_its_problems_and_in_english_in_json(sw):
    """A date not in the shape asked, two values of a list that are no choice, a text longer than its
    field: refused in English beside Kiswahili refusals ("values 1 and 2 of 2 are not one of",
    "registration is not valid (3 problems):", "Correct the fields named above ..."). Now in
    Kiswahili; the JSON a script reads stays in English, and no value typed is repeated."""
    args = [*SW_SETS, *OTHERS, *BAD]
    assert "child.age_estimate=9" not in args and args.count("--set") * 2 == len(args)
    before = commit_count(Path(sw.env["CPCM_REPO"]))
    result = sw("register", *args)
    assert result.code == 4, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "kosa: usajili si sahihi (matatizo 3):", lines
    assert "(child.date_of_birth): si tarehe (andika YYYY-MM-DD)" in result.stderr
    assert "(concerns): majibu ya 1 na 2 kati ya 2 si mojawapo ya: " in result.stderr
    assert "  - child.birth_certificate: ina herufi 60, zaidi ya 50 ambazo sehemu hii inachukua" in result.stderr
    assert "Sahihisha sehemu zilizotajwa hapo juu kisha endesha amri tena; hakuna kilichoandikwa." in result.stderr
    assert "A text longer than its field holds" in result.stderr  # the too-long refusal still found, in Kiswahili
    assert "7" * 60 not in result.stderr and "12/03/2019" not in result.stderr and "xx" not in result.stderr
    assert commit_count(Path(sw.env["CPCM_REPO"])) == before
    refused = sw("register", *args, "--json")
    assert refused.code == 4
    error = refused.json()
    assert error["message"].startswith("registration is not valid (3 problems):\n"), error
    assert error["hint"].endswith("Correct the fields named above and run the command again; nothing was written.")


def test_a_refused_record__is_named_in_kiswahili_in_the_first_line_and_in_english_in_json(sw):
    """The record's name in a refusal's first line was English beside the Kiswahili words around it
    ("registration si sahihi", "update of CP-… si sahihi"). Now the kinds the catalog has words for are
    named in Kiswahili (`errors.RECORD_NAMES`), the case ID kept; the JSON a script reads stays English."""
    from conftest import register

    case_id = register(sw)
    before = commit_count(Path(sw.env["CPCM_REPO"]))
    update = ["update", case_id, "--set", "child.date_of_birth=2030-01-01", "--set", "child.age_estimate=", "--reason", "typo"]
    refused = sw(*update)
    assert refused.code == 4, refused.stderr
    first = refused.stderr.splitlines()[0]
    assert first.endswith(f"mabadiliko ya {case_id} si sahihi (tatizo 1):"), refused.stderr
    assert "update of" not in refused.stderr
    assert sw(*update, "--json").json()["message"].startswith(f"update of {case_id} is not valid (1 problem):")
    followup = sw("followup", case_id, "--set", "method=barua", "--no-input")
    assert f"ufuatiliaji wa {case_id} si sahihi" in followup.stderr.splitlines()[0], followup.stderr
    assert "follow-up of" not in followup.stderr
    assert commit_count(Path(sw.env["CPCM_REPO"])) == before


def test_an_option_of_the_wrong_type__and_the_error_s_first_word_are_said_in_kiswahili(sw):
    """`cpcm register --age abc` said "usage error: --age takes a whole number written in figures, such as 7
    ..." and "Try 'cpcm register --help'." in English, and every refusal began "error:". Click refuses
    the command line before any session is opened: it is said in the language of the repository the
    command line names ($CPCM_REPO, or --repo); the JSON stays English, the value typed is never repeated."""
    refused = sw("register", "--age", CANARY)
    assert refused.code == 2, refused.stderr
    first, second = refused.stderr.splitlines()[:2]
    assert first == ("kosa la amri: --age inachukua namba kamili iliyoandikwa kwa tarakimu, kama 7 (estimated age in "
                     "years, when the date of birth is not known): kilichotolewa si namba kamili"), refused.stderr
    assert second == "Jaribu 'cpcm register --help'."
    assert "usage error" not in refused.stderr and "takes a whole number" not in refused.stderr and "Try " not in refused.stderr
    assert CANARY not in refused.stderr
    by_option = Cli({**sw.env, "CPCM_REPO": ""})("due", "--within", "abc", "--repo", sw.env["CPCM_REPO"])
    assert by_option.code == 2 and by_option.stderr.startswith("kosa la amri: --within inachukua namba iliyoandikwa kwa "
                                                               "tarakimu, kama 7 au 1.5 ("), by_option.stderr
    data = sw("register", "--age", CANARY, "--json").json()
    assert data["message"].startswith("--age takes a whole number written in figures, such as 7 (")
    assert data["hint"] == "Try 'cpcm register --help'."
    missing = sw("show", "CP-XXXX-XXXX")
    assert missing.code != 0 and missing.stderr.startswith("kosa: "), missing.stderr
    assert not missing.stderr.startswith("error:")


def test_only_options_given__the_hint_on_giving_the_form_s_fields_is_in_kiswahili(sw):
    """A form refused where only its options were given and no questions asked ended with "Only the
    options were given, and no questions asked: give the form's fields in a file with --from-file FILE
    ..." in English, after the Kiswahili line naming the options; so did a command that asks no questions
    (`cpcm close`). Now in Kiswahili, the form's name and the command kept; the JSON's hint stays English."""
    from conftest import register

    refused = sw("register", "--sex", "male", "--no-input")
    assert refused.code == 4, refused.stderr
    assert ("Chaguo pekee ndizo zilizotolewa, na hakuna swali lililoulizwa: toa sehemu za fomu katika faili kwa --from-file "
            "FILE (cpcm form blank registration inachapisha moja ya kujaza)") in refused.stderr, refused.stderr
    assert "Only the options were given" not in refused.stderr and "Nothing was written" not in refused.stderr
    hint = sw("register", "--sex", "male", "--no-input", "--json").json()["hint"]
    assert "Only the options were given, and no questions asked: give the form's fields in a file" in hint
    case_id = register(sw)
    closed = sw("close", case_id)
    assert closed.code == 4, closed.stderr
    assert "Hakuna kilichotolewa (hakuna faili, --set wala chaguo), na cpcm close haiulizi maswali" in closed.stderr, closed.stderr
    assert "asks no questions" not in closed.stderr


def test_show_update__labels_its_reason_in_kiswahili_and_keeps_the_json(sw, cli):
    """`cpcm show CASE update` gave each changed field its Kiswahili question and its reason "reason:", in
    English (no form labels it). Now "sababu:" as the documents name it; the JSON's label stays null, and an
    English repository says "reason:" as it did. Its dates are printed as every date of `show` is (ISO, the
    agency's time zone), in every language: no date on these pages is said in words."""
    from conftest import register

    for run, said, other in ((sw, "sababu: ", "reason: "), (cli, "reason: ", "sababu: ")):
        case_id = register(run)
        assert run("update", case_id, "--set", "location=Nyalenda", "--reason", "moved house").code == 0
        shown = run("show", case_id, "update")
        assert shown.code == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert f"{said}moved house" in lines, lines
        assert not any(line.startswith(other) for line in lines), lines
        reason = [a for a in run("show", case_id, "update", "--json").json()["answers"] if a["field"] == "reason"]
        assert reason == [{"field": "reason", "label": None, "value": "moved house", "previous": None}]


def test_a_record_s_name__is_english_where_no_language_is_asked_and_in_json():
    """`Named` is the English text everywhere a string is read (the JSON, a hint that finds the case ID in
    it); only the first line said through a catalog is in its words; a kind with no words is None."""
    from cpcm.errors import FieldError, InvalidInput, Named, named_record
    from cpcm.service.wording import wording_for

    name = named_record("referral_update", ref="R2", case="CP-AAAA-BBBB")
    assert isinstance(name, Named) and name == "referral R2 of CP-AAAA-BBBB"
    assert named_record("sync_conflict", case="CP-AAAA-BBBB") is None
    refused = InvalidInput([FieldError("status", "is required")], name)
    assert refused.message.startswith("referral R2 of CP-AAAA-BBBB is not valid (1 problem):")
    say = wording_for(None, "sw", forms.load("registration")).say
    assert refused.said(say).startswith("rufaa R2 ya CP-AAAA-BBBB si sahihi (tatizo 1):")
    assert refused.to_json()["message"] == refused.message


def test_a_refused_registration__finds_the_repository_s_words_once(sw, monkeypatch):
    """What says a refusal at the terminal found the repository's language's words twice per error
    (`said_in_language`: once to name the options, once for the lines around the problems); once now,
    and both are said in it."""
    from cpcm.cli import common

    asked = []
    found = common.said_in_language
    monkeypatch.setattr(common, "said_in_language", lambda: asked.append(1) or found())
    result = sw("register", *SW_SETS, *OTHERS, *BAD)
    assert result.code == 4, result.stderr
    assert result.stderr.startswith("kosa: usajili si sahihi") and "Sahihisha sehemu" in result.stderr
    assert len(asked) == 1, asked


def test_a_refusal_s_hint__is_made_in_english_and_in_the_repository_s_language_where_it_is_built(monkeypatch):
    """`options_named` builds the hint of a form refused with only options given twice: in English for the
    JSON, and in the repository's language for the terminal (`said_hint`), which `said_refusal` says as it
    is: no English text of it is looked for and replaced."""
    from types import SimpleNamespace

    from cpcm.cli import common
    from cpcm.errors import FIELDS_HINT, MISSING_BY_OPTIONS, FieldError, InvalidInput

    words = {FIELDS_HINT: "Sahihisha sehemu zilizotajwa.", MISSING_BY_OPTIONS: "Sehemu hutolewa kwa chaguo zake: %(options)s."}
    ran = SimpleNamespace(input_options={"services": "--offers"}, options_given=set(), options_all=set(), options_only=True)
    monkeypatch.setattr(common, "_opened", [ran])
    def say(message):
        return words.get(message, message)

    refused = common.options_named(InvalidInput([FieldError("services", "is required")], "service"), say)
    assert refused.hint == "The fields missing are given by their options: --offers. " + FIELDS_HINT
    assert refused.said_hint == "Sehemu hutolewa kwa chaguo zake: --offers. Sahihisha sehemu zilizotajwa."
    assert common.said_refusal(refused, say)[1] == refused.said_hint
    assert refused.to_json()["hint"] == refused.hint


def test_a_refused_registration__in_english_is_said_as_it_was(cli):
    refused = cli("register", *ENGLISH_SETS, *OTHERS, *BAD)
    assert refused.code == 4
    assert refused.stderr.splitlines()[0] == "error: registration is not valid (3 problems):"
    assert "(child.date_of_birth): is not a date (use YYYY-MM-DD)\n" in refused.stderr
    assert "(concerns): values 1 and 2 of 2 are not one of: " in refused.stderr
    assert "  - child.birth_certificate: is 60 characters, longer than the 50 this field holds\n" in refused.stderr
    assert refused.stderr.rstrip().endswith("Correct the fields named above and run the command again; nothing was written.")


def test_dates_lists_frequencies_and_long_texts__are_refused_and_asked_in_kiswahili():
    """The messages built in the pure core (a date of no calendar, one value of a list of several, a
    frequency of follow-up) and the prompt's hint on a long text, through the Kiswahili catalog."""
    from cpcm.cli.prompts import long_text
    from cpcm.domain.forms import coerce, is_too_long, too_long
    from cpcm.service.wording import wording_for
    from cpcm.workflow.followups import every_problem

    form = forms.load("registration")
    words = wording_for(None, "sw", form)
    born = form.field("child.date_of_birth")
    assert coerce(born, "2026-13-01", None, (), words)[1].startswith("si tarehe ya kalenda: imeandikwa kwa umbo la YYYY-MM-DD")
    assert coerce(born, "2026-13-01", None)[1].startswith("is not a date of the calendar: it is in the shape YYYY-MM-DD")
    concerns = form.field("concerns")
    assert coerce(concerns, "neglect, xx", None, (), words)[1].startswith("jibu la 2 kati ya 2 si mojawapo ya: ")
    assert coerce(concerns, "neglect, xx", None)[1].startswith("value 2 of 2 is not one of: ")
    assert is_too_long(too_long(18, 10, words.say), words.say) and not is_too_long("si tarehe", words.say)
    assert every_problem("wiki2", words.say).startswith("si kipindi cha ufuatiliaji: andika siku, wiki au miezi (1d, 2w, 1mo)")
    assert every_problem("wiki2").startswith("is not a frequency: write days, weeks or months")
    notes = form.field("notes")
    assert long_text(notes, words) == (" (herufi zisizozidi 4000, mstari mmoja: kwa aya kadhaa, toa rekodi katika faili, "
                                       "--from-file FILE)")
    assert long_text(notes) == " (up to 4000 characters, one line: for several paragraphs give the record in a file, --from-file FILE)"


def test_ctrl_d_at_a_question__says_in_kiswahili_that_nothing_was_written(sw, monkeypatch):
    from cpcm.cli import common

    def ended(text, **_):
        raise typer.Abort()  # Ctrl-D (or Ctrl-C) at typer's prompt

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", ended)
    result = sw("register", *SW_SETS)
    assert result.code == 130, result.stderr
    assert result.stderr.splitlines()[-1] == "imekatizwa; hakuna kilichoandikwa", result.stderr


def test_a_check_the_policy_asks_before_referring__is_refused_in_kiswahili(sw):
    """`refer` without a check the policy asks (need_matched) said "checks.need_matched: is required
    before referring (ESARO S4)" in English; now in Kiswahili, the standard named as it is."""
    from conftest import register

    case_id = register(sw)
    assert sw("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health").code == 0
    assert sw("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", "child", "--status", "given",
              "--explained", "all").code == 0
    refused = sw("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "eligibility_known",
                 "--check", "cost_distance_considered", "--check", "provider_told", "--no-input")
    assert refused.code == 4, refused.stderr
    assert "(checks.need_matched): ni lazima kabla ya kutoa rufaa (ESARO S4)" in refused.stderr, refused.stderr
    assert "Sehemu zinazokosekana hutolewa kwa chaguo zake: --check need_matched. Sahihisha" in refused.stderr


def test_refusals__of_a_date_a_number_and_a_worker_are_in_kiswahili_too(sw):
    """A date of birth in the future or a century back, an age that is no number in range and a
    worker not of the team: each reason in Kiswahili (was: English beside the Kiswahili questions);
    the values typed are never repeated, the form's limits and today's date are."""
    before = commit_count(Path(sw.env["CPCM_REPO"]))
    no_age = [a for pair in zip(REST[::2], REST[1::2]) if not pair[1].startswith("child.age") for a in pair]
    future = no_age + ["--set", "child.date_of_birth=2030-01-01"]
    result = sw("register", *SW_SETS, *future, "--worker", "zed")
    assert result.code == 4, result.stderr
    assert "(child.date_of_birth): ni ya siku zijazo (leo ni 2026-11-23)" in result.stderr, result.stderr
    assert "(worker): si mwanachama wa timu (" in result.stderr
    far = [a if a != "child.date_of_birth=2030-01-01" else "child.date_of_birth=1930-01-01" for a in future]
    assert "ni zaidi ya miaka 25 iliyopita: angalia mwaka" in sw("register", *SW_SETS, *far).stderr
    aged = sw("register", *SW_SETS, *no_age, "--set", "child.age_estimate=40")
    assert "(child.age_estimate): lazima isizidi 17" in aged.stderr, aged.stderr
    assert "is in the future" not in result.stderr and "is not a member" not in result.stderr
    assert CANARY not in result.stderr + aged.stderr
    assert commit_count(Path(sw.env["CPCM_REPO"])) == before


def test_consent_override__a_purpose_stored_before_it_was_read_is_checked_and_corrected_to_its_code(sw, team):
    """An override written before `consent --override` read its purpose holds what was typed (`usajili`, a
    misspelling, words about someone): no rule reads it, and `cpcm check` said nothing of it while `due` still
    asked for the override; `cpcm correct` refused it as a record kind it does not correct. Check warns of it now
    (consent-override-purpose), naming the case, the record and the field, never the text stored; a supervisor
    corrects the purpose as the command takes it (the Kiswahili words, recorded as the code), a caseworker is
    refused as at the command, and once corrected check says nothing and due no longer asks for it."""
    from datetime import datetime

    from cpcm import service

    root = Path(sw.env["CPCM_REPO"])
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    case_id = register(sw, consent={"child": "not_possible", "caregiver": "not_possible", "explained": True})
    ctx = service.open_repo(root, team["sup"][0], now=datetime.fromisoformat(NOW))
    stored = {"purpose": f"usajili {CANARY}", "basis": "best_interests", "reason": "Mtoto anaishi peke yake"}
    old = service.append(ctx, service.load_case(ctx, case_id), "consent", "consent_override", stored, None)

    def flagged() -> list[dict]:
        found = []
        for checked in (sup("check", case_id, "--json"), sup("check", "--json")):  # one case, and every case
            assert CANARY not in checked.stdout + checked.stderr
            found.append([p for p in checked.json() if p["code"] == "consent-override-purpose"])
        assert found[0] == found[1], found
        return found[0]

    def owed() -> list[str]:
        return [i["code"] for i in sup("due", "--json", "--worker", "all").json()
                if i["case_id"] == case_id and i["code"].startswith("consent-")]

    [problem] = flagged()
    assert (problem["case_id"], problem["severity"]) == (case_id, "warning")
    assert f"consent override {old.id}: its purpose is none of a consent's" in problem["message"]
    assert f"cpcm correct {case_id} {old.id} --set purpose=PURPOSE --reason ..." in problem["message"]
    assert owed() == ["consent-refused"]
    before = commit_count(root)
    caseworker = sw("correct", case_id, old.id, "--set", "purpose=usajili", "--reason", "kosa la kuandika")
    assert caseworker.code == 4 and commit_count(root) == before, caseworker.stderr
    wrong = sup("correct", case_id, old.id, "--set", "purpose=xyzzy", "--reason", "kosa la kuandika")
    assert wrong.code == 4 and commit_count(root) == before, wrong.stderr
    assert "purpose: si mojawapo ya: usajili (registration)" in wrong.stderr and CANARY not in wrong.stderr
    done = sup("correct", case_id, old.id, "--set", "purpose=usajili", "--reason", "kosa la kuandika", "--json")
    assert done.code == 0, done.stderr
    assert sup("show", case_id, done.json()["record_id"], "--json").json()["fields"]["purpose"] == "registration"
    assert flagged() == [] and owed() == []


def test_a_date_of_birth_after_registration_and_a_time_in_the_future__are_refused_and_warned_of_in_kiswahili(sw, team):
    """In a Kiswahili repository `update --dob`, `correct registration` and `register --at` refused a date of birth
    after the day registered, `--at` after now was refused, and `check` warned of such a case, all in English words
    between Kiswahili lines (as was an update given no reason). Each is said in Kiswahili now, the commands and the
    case ID kept; `check --json` stays English; neither date nor the child's name is said."""
    from datetime import datetime

    from cpcm import service

    root = Path(sw.env["CPCM_REPO"])
    case_id = register(sw, "--at", "2026-11-10", child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01"})
    before = commit_count(root)
    updated = sw("update", case_id, "--dob", "2026-11-15", "--reason", "cheti cha kuzaliwa")
    assert updated.code == 4, updated.stderr
    assert ("(child.date_of_birth): ni baada ya tarehe ya usajili (usajili wa kesi): mtoto husajiliwa siku aliyozaliwa au "
            "baadaye; sahihisha tarehe iliyokosewa kati ya hizo mbili (ikiwa tarehe ya kuzaliwa ni sahihi, wakati wa usajili "
            f"umekosewa: cpcm correct {case_id} registration --at WHEN --reason ...)") in updated.stderr, updated.stderr
    corrected = sw("correct", case_id, "registration", "--set", "child.date_of_birth=2026-11-15", "--reason", "cheti")
    assert corrected.code == 4, corrected.stderr
    assert ("ni baada ya tarehe ya usajili (wakati wa usajili): mtoto husajiliwa siku aliyozaliwa au baadaye; sahihisha "
            "tarehe iliyokosewa kati ya hizo mbili (sahihisha tarehe ya kuzaliwa, au wakati wa usajili kwa --at WHEN)") \
        in corrected.stderr, corrected.stderr
    late = registration(child={"name": CANARY, "sex": "female", "date_of_birth": "2026-11-15"})
    registered = sw("register", "--from-file", "-", "--at", "2026-11-10", input=json.dumps(late))
    assert registered.code == 4 and "ni baada ya tarehe ya usajili (--at): mtoto husajiliwa" in registered.stderr, \
        registered.stderr
    future = sw("placement", case_id, "--care-type", "kinship", "--at", "2030-01-01")
    assert future.code == 4, future.stderr
    assert "(at): ni ya siku zijazo: wakati wa sasa ($CPCM_NOW) ni 2026-11-23 09:00 +03:00" in future.stderr, future.stderr
    no_reason = sw("update", case_id, "--dob", "2015-04-02", "--no-input")
    assert "  - reason: ni lazima: eleza kwa nini taarifa zilibadilika" in no_reason.stderr, no_reason.stderr
    said = updated.stderr + corrected.stderr + registered.stderr + future.stderr + no_reason.stderr
    assert not any(english in said for english in ("is after the date", "is in the future", "clock reads", "is required:"))
    assert "2026-11-15" not in said and CANARY not in said
    assert commit_count(root) == before
    # a case written before the rule (an update stored as it was then): check warns in Kiswahili, its JSON in English
    ctx = service.open_repo(root, team["amina"][0], now=datetime.fromisoformat(NOW))
    service.append(ctx, service.load_case(ctx, case_id), "update", "update",
                   {"changes": {"child.date_of_birth": "2026-11-15"}, "previous": {"child.date_of_birth": "2015-04-01"},
                    "reason": "cheti cha kuzaliwa"}, None)
    checked = sw("check", case_id)
    [line] = [line for line in checked.stdout.splitlines() if "born-after-registration" in line]
    assert ("child.date_of_birth: ni baada ya tarehe ya usajili (usajili wa kesi): mtoto husajiliwa siku aliyozaliwa au "
            f"baadaye; sahihisha tarehe iliyokosewa kati ya hizo mbili (ikiwa tarehe ya kuzaliwa imekosewa: cpcm update "
            f"{case_id} --dob DATE --reason ...; ikiwa wakati wa usajili ndio umekosewa: cpcm correct {case_id} registration "
            "--at WHEN --reason ...)") in line, line
    [problem] = [p for p in sw("check", case_id, "--json").json() if p["code"] == "born-after-registration"]
    assert problem["message"].startswith("child.date_of_birth: is after the date of registration (the case's registration)")
    assert "2026-11-15" not in checked.stdout + problem["message"] and CANARY not in checked.stdout


def test_an_error_raised_before_the_command_opened_its_session__begins_as_every_refusal_in_kiswahili(sw, cli, tmp_path):
    """`due --within 99999` and the --out names refused before anything is read (export, form print) began
    "error:" in a Kiswahili repository, where every other refusal begins "kosa:": they were raised before the
    command opened its session, whose language the first word is said in. They are said in the language of the
    repository the command line names now, as a usage error is; English where the repository is English or
    none is named, and the JSON as it was."""
    out = tmp_path / "out"
    out.mkdir()
    refused = [sw("due", "--within", "99999"), sw("export", "--recipient", "amina", "--out", str(out / "a.pdf")),
               sw("form", "print", "review", "--out", str(out / "b.pdf")), sw("export", "--out", str(out / "c.csv")),
               Cli({**sw.env, "CPCM_REPO": ""})("due", "--within", "99999", "--repo", sw.env["CPCM_REPO"])]
    for result in refused:
        assert result.code == 2 and result.stderr.startswith("kosa: "), result.stderr
    assert refused[0].stderr.startswith("kosa: --within takes a number of days from 0 to 3660"), refused[0].stderr
    assert list(out.iterdir()) == []
    data = sw("due", "--within", "99999", "--json").json()
    assert data == {"error": "UsageError", "message": "--within takes a number of days from 0 to 3660", "exit_code": 2,
                    "hint": "For example --within 14"}
    english = cli("due", "--within", "99999")
    assert english.code == 2 and english.stderr.startswith("error: --within takes"), english.stderr


def test_an_option_of_several_fields_and_a_rule_refusal_s_last_line__are_said_in_kiswahili(sw):
    """The Kiswahili line naming the options that give the fields missing said "(or --explained all)" and "(or
    --check all)" in English in its middle, and a refusal naming records to make first (`cpcm close`) ended
    "Record what is named above, in that order, ..." in English, where a form's ends "Sahihisha ...". Both are
    said in Kiswahili now, the option and its word `all` kept; the JSON's hint stays English."""
    case_id = register(sw)
    consent = ["consent", case_id, "--purpose", "referral", "--by", "child", "--status", "given", "--no-input"]
    refused = sw(*consent)
    assert refused.code == 4, refused.stderr
    assert "--explained information, use, sharing, confidentiality_limits (au --explained all); --agency." in refused.stderr, \
        refused.stderr
    assert "(or " not in refused.stderr
    assert "(or --explained all)" in sw(*consent, "--json").json()["hint"]
    referred = sw("refer", case_id, "--service", "clinic", "--no-input")
    assert referred.code == 4 and "(au --check all)" in referred.stderr and "(or " not in referred.stderr, referred.stderr
    closed = sw("close", case_id, "--reason", "goals_met")
    assert closed.code == 4, closed.stderr
    assert closed.stderr.splitlines()[-1] == ("  Rekodi kilichotajwa hapo juu, kwa mpangilio huo, kisha endesha amri tena; "
                                              "hakuna kilichoandikwa."), closed.stderr
    assert "Record what is named above" not in closed.stderr
    assert sw("close", case_id, "--reason", "goals_met", "--json").json()["hint"] == (
        "Record what is named above, in that order, and run the command again; nothing was written.")


def test_show_update__says_the_value_before_a_change_in_kiswahili(sw, cli):
    """`cpcm show CASE update` in Kiswahili gave each change its Kiswahili question and "sababu:", but "(before:
    (none))" and "(removed)" in English on the same lines. They are said in the repository's language now; an
    English repository says them as it did, and the JSON is unchanged."""
    for run, before, none, removed in ((sw, "awali", "(hakuna)", "(imeondolewa)"), (cli, "before", "(none)", "(removed)")):
        case_id = register(run, caregiver=None)
        assert run("update", case_id, "--set", "caregiver.name=Mama Test", "--reason", "amepatikana").code == 0
        lines = run("show", case_id, "update").stdout.splitlines()
        assert any(line.endswith(f": Mama Test   ({before}: {none})") for line in lines), lines
        assert run("update", case_id, "--set", "caregiver.name=", "--reason", "si mlezi").code == 0
        lines = run("show", case_id, "update").stdout.splitlines()
        assert any(line.endswith(f": {removed}   ({before}: Mama Test)") for line in lines), lines
        assert not any("(before:" in line or "(none)" in line for line in lines) or run is cli, lines
        changes = run("show", case_id, "update", "--json").json()["fields"]
        assert changes["changes"] == {"caregiver.name": None} and changes["previous"] == {"caregiver.name": "Mama Test"}
