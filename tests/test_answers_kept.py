"""Answers typed at a terminal are not lost when the record is refused: `conference minutes` and
`readiness` ask again only the fields a refusal of the answers names, every other answer kept (as
`register` and the other guided commands do, cli/common.py `written`); and a refusal that does not
depend on the answers (a conference whose meeting has not started, a case that is not there, an
--at to come) comes before the first question, not after every answer was typed.

`cpcm transfer` asks no questions (its transfer form's fields are given with --from-file or --set
only), so there are no typed answers of it to lose."""
from __future__ import annotations

import json
import re

import typer

from conftest import CANARY, commit_count, register
from cpcm.errors import InvalidInput, NotFound, Refused
from test_conference import CLOSE_NOW, new_conference, planned_case


def on_terminal(cli, monkeypatch, argv: list[str], answers: dict[str, list[str]], confirms: list[bool] | None = None,
                env: dict | None = None):
    """`cpcm ARGV` as `cli`'s worker on a terminal: each question answered by the next answer left
    for the start of its text (else Enter), each yes-or-no question by the next of `confirms`
    (else no); a readiness item with no answer left, yes. Returns (the result, the questions asked,
    everything said to the worker)."""
    from typer.testing import CliRunner

    from cpcm.cli import common, readiness
    from cpcm.cli.app import build

    asked, said = [], []
    answers = {start: list(queue) for start, queue in answers.items()}
    confirms = list(confirms or [])

    def prompt(text, **_):
        asked.append(text)
        said.append(text)
        assert len(asked) < 300, asked
        if re.search(r"\[[^\]/ ]+/[^\]/ ]+\]$", text):  # a yes-or-no question of the questions ([Y/n], [ndiyo/HAPANA])
            return ("y" if confirms.pop(0) else "n") if confirms else "n"
        queue = next((queue for start, queue in answers.items() if text.strip().startswith(start)), None)
        return queue.pop(0) if queue else ("yes" if text.endswith("[yes, no, na]") else "")  # a readiness item: yes

    def confirm(text, **_):
        asked.append(text)
        said.append(text)
        return confirms.pop(0) if confirms else False

    for module in (common, readiness):
        monkeypatch.setattr(module, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", confirm)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    result = CliRunner().invoke(build(argv[0]), argv, env=dict(cli.env, CPCM_NO_AGENT="1", **(env or {})))
    return result, asked, said


# -- conference minutes ---------------------------------------------------------------------------------
MINUTES = {"Minute-taker": ["Rotating member (case manager)"], "The chair reminded": ["yes"],
           "Key issues": ["School fees and food insecurity."], "Challenges and service gaps": ["No counselling service."],
           "Discussion": ["School attendance and food."], "Decisions": ["continue the plan"]}


def test_conference_minutes__a_case_id_not_nominated_is_asked_again_alone_and_the_other_answers_are_kept(cli, cli_as, repo,
                                                                                                       monkeypatch):
    """Was: exit 4 once every question was answered (cases[1].case: not nominated), every answer
    lost; now the refusal is said, only that entry's case ID is asked again, and the minutes are
    written with every other answer."""
    case_id = planned_case(cli, CANARY)
    other = register(cli)  # a case of the team the conference does not hold
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    before = commit_count(repo)
    result, asked, said = on_terminal(sup, monkeypatch, ["conference", "minutes", conf],
                                      {**MINUTES, "Case ID": [other, case_id]}, env={"CPCM_NOW": CLOSE_NOW})
    assert result.exit_code == 0, (result.output, said)
    assert any(f"cases[1].case: {other} is not nominated for {conf}" in line for line in said), said
    again = said[said.index("Answer these again; every other answer is kept (Ctrl-C stops, and nothing is written)."):]
    assert [q for q in again if q in asked] == ["  Case ID (unique identifier)"], again
    assert [q.split(" (")[0] for q in asked].count("Minute-taker") == 1  # asked once: the answer was kept
    assert commit_count(repo) == before + 1
    shown = cli_as("sup", CPCM_NOW=CLOSE_NOW)("conference", "show", conf, "--json").json()
    minutes = shown["minutes"]
    assert minutes["minute_taker"] == "Rotating member (case manager)" and minutes["key_issues"] == "School fees and food insecurity."
    assert [(c["case"], c["discussion"], c["decisions"]) for c in minutes["cases"]] == \
        [(case_id, "School attendance and food.", ["continue the plan"])]
    assert not any(CANARY in line for line in said)


def test_conference_minutes__a_childs_name_typed_is_asked_again_alone_and_never_said(cli, cli_as, repo, monkeypatch):
    """Minutes use case IDs only: a discussion that names the child was refused once every question was
    answered, every answer lost; now only that field is asked again, and the name is in nothing said."""
    case_id = planned_case(cli, CANARY)
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    before = commit_count(repo)
    named = f"{CANARY} attends school again."
    result, asked, said = on_terminal(sup, monkeypatch, ["conference", "minutes", conf],
                                      {**MINUTES, "Case ID": [case_id], "Discussion": [named, "School attendance and food."]},
                                      env={"CPCM_NOW": CLOSE_NOW})
    assert result.exit_code == 0, (result.output, said)
    assert any(f"cases[1].discussion: holds a name registered for {case_id}" in line for line in said), said
    again = said[said.index("Answer these again; every other answer is kept (Ctrl-C stops, and nothing is written)."):]
    asked_again = [q.strip() for q in again if q in asked]
    assert len(asked_again) == 1 and asked_again[0].startswith("Discussion: ongoing issues"), again
    assert commit_count(repo) == before + 1
    minutes = cli_as("sup", CPCM_NOW=CLOSE_NOW)("conference", "show", conf, "--json").json()["minutes"]
    assert minutes["key_issues"] == "School fees and food insecurity."
    assert [c["discussion"] for c in minutes["cases"]] == ["School attendance and food."]
    assert not any(CANARY in line for line in said) and CANARY not in result.output


def test_conference_minutes__a_meeting_not_started_is_refused_before_the_first_question(cli, cli_as, repo, monkeypatch):
    """Was: every question of Form 7 asked, then refused (the meeting is on the 30th, today is the
    23rd); now refused before anything is asked."""
    case_id = planned_case(cli, CANARY)
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    before = commit_count(repo)
    result, asked, said = on_terminal(sup, monkeypatch, ["conference", "minutes", conf], {**MINUTES, "Case ID": [case_id]})
    assert isinstance(result.exception, Refused), (result.output, said)  # exit 4 through cpcm's main
    assert "before the meeting has started" in result.exception.message and asked == [], asked
    assert commit_count(repo) == before


# -- assess --type comprehensive ------------------------------------------------------------------------
def test_assess_comprehensive__no_dimension_assessed_asks_the_dimensions_again_and_keeps_the_other_answers(cli, repo,
                                                                                                         monkeypatch):
    """Every wellbeing dimension left empty: refused once every question was answered ("dimensions:
    assess at least one wellbeing dimension"); was exit 4 with every answer lost, each of the 32
    dimension questions having said only "(optional)"; now the form's rule is said before the
    first of them, the refusal asks the dimensions again (not the other questions), and the
    assessment is written with the answers kept."""
    from test_assess_plan import assessed_initial

    case_id = assessed_initial(cli)
    before = commit_count(repo)
    result, asked, said = on_terminal(cli, monkeypatch, ["assess", case_id, "--type", "comprehensive"],
                                      {"Physical: risks": ["", "underweight"], "The child's wishes": ["wants to go to school"],
                                       "Was the outcome explained": ["yes"], "Who was consulted": ["child"],
                                       "Needs": ["to go to school"]})
    assert result.exit_code == 0, (result.output, said)
    rule = "Assess at least one wellbeing dimension (its risks, strengths or what was found):"
    assert said[said.index(rule) + 1].startswith("Physical: risks"), said
    assert any("dimensions: assess at least one wellbeing dimension" in line for line in said), said
    again = said[said.index("Answer these again; every other answer is kept (Ctrl-C stops, and nothing is written)."):]
    assert [q for q in again if q in asked] == asked[:32] and all(q.startswith("Physical: ") for q in asked[:4]), again
    for start in ("The child's wishes", "Who was consulted", "Needs"):
        assert sum(q.startswith(start) for q in asked) == 1, (start, asked)
    assert commit_count(repo) == before + 1
    shown = cli("show", case_id, "assessment", "--json").json()
    assert shown["fields"]["dimensions"] == {"physical": {"risks": "underweight"}}, shown
    assert shown["fields"]["child_views"] == "wants to go to school" and shown["fields"]["needs"] == ["to go to school"]


# -- readiness (Form 7A, domain by domain) ----------------------------------------------------------------
def test_readiness__no_domain_answered_offers_the_domains_again_and_keeps_the_other_answers(cli, repo, monkeypatch):
    """Every domain left out at a review: refused once the other questions were answered ("answer
    at least one domain"); was exit 4 with the occasion, who took part and the notes lost; now the
    refusal is said, the domains are offered again (not the other questions) and the record is
    written with the answers kept."""
    case_id = register(cli)
    before = commit_count(repo)
    leave_all, education_only = [False] * 6, [True] + [False] * 5
    result, asked, said = on_terminal(cli, monkeypatch, ["readiness", case_id, "--json"],
                                      {"Recorded at": ["review"], "Who took part": ["child, caregiver"],
                                       "Notes": ["Met the child and the grandmother at home."]},
                                      confirms=leave_all + education_only)
    assert result.exit_code == 0, (result.output, said)
    assert any("benchmarks: answer at least one domain of the benchmarks" in line for line in said), said
    again = said[said.index("Answer these again; every other answer is kept (Ctrl-C stops, and nothing is written)."):]
    assert len([q for q in again if q in asked]) == 6 + 11  # the six domains offered, the eleven items of the one reviewed
    for start in ("Recorded at", "Who took part", "Notes"):
        assert sum(q.startswith(start) for q in asked) == 1, (start, asked)
    assert commit_count(repo) == before + 1
    written = json.loads(result.stdout[result.stdout.index("{"):])
    assert written["readiness"]["domains_passed"] == 1, written
    shown = cli("show", case_id, "readiness", "--json").json()
    assert shown["fields"]["occasion"] == "review" and shown["fields"]["consulted"] == ["child", "caregiver"], shown
    assert shown["fields"]["notes"] == "Met the child and the grandmother at home."


def test_readiness__at_a_case_conference_the_comment_is_asked_again_as_required(cli, repo, monkeypatch):
    """At a case conference the comment may stand alone, but something must be given: no domain and no notes
    was refused for the notes, which were asked again as optional (Enter repeated the refusal and lost every
    answer); now they are asked as required (Enter asks again)."""
    case_id = register(cli)
    before = commit_count(repo)
    comment = "Ready to go home once the school place is confirmed."
    result, asked, said = on_terminal(cli, monkeypatch, ["readiness", case_id, "--json"],
                                      {"Recorded at": ["case_conference"], "Who took part": ["child"],
                                       "Notes": ["", "", comment]}, confirms=[False] * 6)
    assert result.exit_code == 0, (result.output, said)
    notes = [q for q in asked if q.startswith("Notes")]
    assert len(notes) == 3 and "(optional)" in notes[0] and not any("(optional)" in q for q in notes[1:]), notes
    assert commit_count(repo) == before + 1
    shown = cli("show", case_id, "readiness", "--json").json()
    assert shown["fields"]["notes"] == comment and shown["fields"]["occasion"] == "case_conference"


def test_readiness__a_case_that_is_not_there_is_refused_before_the_first_question(cli, repo, monkeypatch):
    """Was: every domain offered and asked (up to 65 items), then 'no case'; now refused first."""
    before = commit_count(repo)
    result, asked, said = on_terminal(cli, monkeypatch, ["readiness", "CP-4F7K-9X2N"], {"Recorded at": ["review"]},
                                      confirms=[True] * 6)
    assert isinstance(result.exception, NotFound), (result.output, said)  # exit 3 through cpcm's main
    assert "no case CP-4F7K-9X2N" in result.exception.message and asked == [], asked
    assert commit_count(repo) == before


def test_readiness__a_time_to_come_is_refused_before_the_first_question(cli, repo, monkeypatch):
    case_id = register(cli)
    result, asked, said = on_terminal(cli, monkeypatch, ["readiness", case_id, "--at", "2026-12-30"], {"Recorded at": ["review"]},
                                      confirms=[True] * 6)
    assert isinstance(result.exception, InvalidInput), (result.output, said)  # exit 4 through cpcm's main
    assert [e.field for e in result.exception.errors] == ["at"] and asked == [], asked


def test_conference_close_with_a_case_whose_closure_was_asked_since_says_the_way_on(cli, cli_as):
    """A case nominated, discussed in the minutes, and its closure asked since: closing the conference cannot put its
    actions into its plan. The refusal says so and the way on (minutes again without it, off the list, close),
    which works."""
    from test_conference import MEMBERS, minutes_doc

    going, staying = planned_case(cli, CANARY), planned_case(cli, "Other Child")
    sup = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    conf = new_conference(cli_as("sup"))
    for case_id in (going, staying):
        assert cli_as("sup")("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    for institution, name, position in MEMBERS:
        assert sup("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                   "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert sup("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([going, staying]))).code == 0
    asked = cli_as("amina", CPCM_NOW=CLOSE_NOW)("close", going, "--reason", "registered_in_error", "--check", "all",
                                              "--explain-open", "the plan's open actions end with the case")
    assert asked.code == 0, asked.stderr
    refused = sup("conference", "close", conf, "--json")
    assert refused.code == 4 and refused.json()["rule"] == "transition-not-allowed", refused.stdout
    assert refused.json()["message"].endswith(f"its actions in the minutes cannot go into its plan, so {conf} cannot be "
                                              "closed with them; nothing was written")
    assert f"cpcm conference add-case {conf} {going} --remove --reason TEXT" in refused.json()["hint"]
    assert sup("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([staying]))).code == 0
    assert sup("conference", "add-case", conf, going, "--remove", "--reason", "closure asked since").code == 0
    assert sup("conference", "close", conf).code == 0


# -- every command that asks a form's questions: a refusal whatever the answers comes first --------------
def _closed(cli, cli_as) -> str:
    from test_followup_close import GOALS_MET, planned, visit

    case_id = planned(cli, cli_as)
    assert visit(cli, case_id).code == 0
    assert cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "done by the family").code == 0
    assert cli_as("sup")("approve", case_id, "closure").code == 0
    return case_id


def test_assess_and_plan__a_closed_case_is_refused_before_the_first_question(cli, cli_as, repo, monkeypatch):
    """Was: every question of the assessment (or the plan) asked, then "is at stage 'closed':
    'assess --type initial' is not allowed there"; now refused before anything is asked."""
    case_id = _closed(cli, cli_as)
    before = commit_count(repo)
    for argv in (["assess", case_id, "--type", "initial"], ["plan", case_id]):
        result, asked, said = on_terminal(cli, monkeypatch, argv, {})
        assert isinstance(result.exception, Refused), (argv, result.output, said)  # exit 4 through cpcm's main
        assert "is at stage 'closed'" in result.exception.message and asked == [], (argv, asked)
    assert commit_count(repo) == before


def test_review__a_stage_that_takes_no_review_is_refused_before_the_first_question(cli, repo, monkeypatch):
    case_id = register(cli)  # registered: no review before the plan
    result, asked, said = on_terminal(cli, monkeypatch, ["review", case_id], {"Chair": ["sup"]})
    assert isinstance(result.exception, Refused), (result.output, said)
    assert "'review' is not allowed there" in result.exception.message and asked == [], asked


def test_followup__an_at_before_the_registration_is_refused_before_the_first_question(cli, repo, monkeypatch):
    case_id = register(cli)
    result, asked, said = on_terminal(cli, monkeypatch, ["followup", case_id, "--at", "2020-01-06"], {})
    assert isinstance(result.exception, InvalidInput), (result.output, said)
    assert [e.field for e in result.exception.errors] == ["at"] and asked == [], asked


def test_followup__a_closed_case_still_asks_for_a_post_closure_visit(cli, cli_as, repo, monkeypatch):
    """A follow-up of a closed case depends on the answer (a post-closure visit is allowed): it is
    asked, not refused before the questions, and written."""
    case_id = _closed(cli, cli_as)
    before = commit_count(repo)
    result, asked, said = on_terminal(cli, monkeypatch, ["followup", case_id, "--method", "home_visit", "--visited-by", "professional",
                                                         "--risk-increased", "no"],
                                      {"Purpose": ["post_closure"], "What the visit is for": ["feedback from the family"]})
    assert result.exit_code == 0, (result.output, said)
    assert any(q.startswith("Purpose") for q in asked), asked
    assert commit_count(repo) == before + 1


def test_followup__a_closed_case_with_another_purpose_given_is_refused_before_the_first_question(cli, cli_as, repo, monkeypatch):
    """--purpose routine given already: no answer makes it a post-closure visit, so it is refused before
    anything is asked (the purpose it might have been was tried over the one given)."""
    case_id = _closed(cli, cli_as)
    result, asked, said = on_terminal(cli, monkeypatch, ["followup", case_id, "--purpose", "monitoring"], {})
    assert isinstance(result.exception, Refused), (result.output, said)
    assert "is at stage 'closed'" in result.exception.message and asked == [], asked
    # given in words that read as post_closure, it is still asked
    result, asked, said = on_terminal(cli, monkeypatch, ["followup", case_id, "--purpose", "post closure", "--method", "home_visit",
                                                         "--visited-by", "professional", "--risk-increased", "no"],
                                      {"What the visit is for": ["feedback from the family"]})
    assert result.exit_code == 0, (result.output, said)


def test_update__a_closed_case_is_refused_for_its_stage_before_its_date_of_birth_and_named_correct(cli, cli_as, repo,
                                                                                                   monkeypatch):
    """Was: `update CASE --dob` on a closed case refused first for the date of birth (after the day registered)
    and, once that was put right, for the stage, whose hint named only `correct --misfiled` of the corrections.
    The stage is said first now, whatever the fields (with options, and before the first question on a
    terminal), and its hint names `cpcm correct` on the record that gave the field, which works."""
    case_id = _closed(cli, cli_as)
    before = commit_count(repo)
    for argv in (["--dob", "2026-11-30", "--reason", "cheti"], ["--dob", "2026-11-23", "--location", "Mathare"]):
        result = cli("update", case_id, *argv, "--json")
        assert result.code == 4, result.stderr
        data = result.json()
        assert data["rule"] == "transition-not-allowed" and "is at stage 'closed': 'update' is not allowed" in data["message"]
        assert (f"Its details are corrected on the record that gave them: cpcm correct {case_id} RECORD --set FIELD=VALUE "
                "--reason ..., RECORD the registration or the update that gave the field.") in data["hint"], data
    result, asked, said = on_terminal(cli, monkeypatch, ["update", case_id], {})
    assert isinstance(result.exception, Refused), (result.output, said)
    assert "is at stage 'closed'" in result.exception.message and asked == [], asked
    assert commit_count(repo) == before
    corrected = cli("correct", case_id, "registration", "--set", "child.date_of_birth=2015-04-02", "--reason", "cheti")
    assert corrected.code == 0, corrected.stderr


def test_a_closed_case_is_refused_for_its_stage_before_the_fields_given_in_a_file_or_options(cli, cli_as, repo):
    """Was: `assess CASE --type initial -f FILE` on a closed case refused first for a field
    (risk_reason: required when the risk changes) and, once that was put right, for the stage; a
    step the case cannot take now says so first, whatever its fields (a file, --set or options:
    no questions asked), as it does before the first question on a terminal."""
    case_id = _closed(cli, cli_as)
    before = commit_count(repo)
    initial = {"safe": "yes", "basic_needs": {"food": "yes", "shelter": "yes", "medical": "unknown"}, "risk": "medium",
               "interim_plan_needed": "no", "outcome": "proceed"}  # re-rated with no risk_reason: a bad field too
    for argv, given in ((["assess", case_id, "--type", "initial", "--from-file", "-"], initial),
                        (["plan", case_id, "--from-file", "-"], {"reason": "review"}),
                        (["followup", case_id, "--from-file", "-"], {"purpose": "monitoring"}),
                        (["review", case_id, "--from-file", "-"], {"chair": "sup"}),
                        (["refer", case_id, "--from-file", "-"], {"service": "kisumu-clinic"}),
                        (["close", case_id, "--reason", "goals_met"], None)):
        result = cli(*argv, "--json", input=json.dumps(given) if given is not None else None)
        assert result.code == 4 and result.json()["rule"] == "transition-not-allowed", (argv, result.stdout)
        assert f"{case_id} is at stage 'closed'" in result.json()["message"], (argv, result.stdout)
    assert commit_count(repo) == before
