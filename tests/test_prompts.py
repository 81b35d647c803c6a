"""Guided prompts on a terminal (cli/prompts.py): a question the answers before it make required
is asked as a required one, saying why, instead of the whole record being refused once every
question is answered (and everything typed lost)."""
from __future__ import annotations

import re
from datetime import date

import typer

from conftest import NOW, library_session, register
from cpcm.cli import prompts
from cpcm.domain.forms import validate
from cpcm.store import forms


def answering(monkeypatch, answers):
    """typer.prompt answered from `answers` in turn (typer.confirm, and a list's "add an entry?
    [y/N]": no); what was said to the worker (questions and messages) as a list of lines."""
    said, queue = [], list(answers)

    def prompt(text, **_):
        said.append(text)
        return "n" if text.endswith(("[y/N]", "[Y/n]")) else queue.pop(0)

    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", lambda text, **_: said.append(text) or False)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    return said


def test_fill__a_field_a_form_rule_requires_is_asked_as_required(monkeypatch):
    form = forms.load("review")
    said = answering(monkeypatch, ["sup", "no", "yes", "", "", "the child was at school", "yes", "", "keep the plan", "",
                                   "continue", ""])
    data = prompts.fill(form, {}, None, ["sup"])
    asked = [line for line in said if line.startswith("Why the child or family did not attend")]
    question = "Why the child or family did not attend" + prompts.long_text(form.field("absent_reason"))
    assert asked == [question, question], said
    assert "  say why the child did not attend (the child is expected at reviews)" in said
    assert validate(form, data, None, ["sup"])[1] == []
    # the same form, both attending: the question is not asked at all (it is only for an absence)
    said = answering(monkeypatch, ["sup", "yes", "yes", "", "yes", "", "keep the plan", "", "continue", ""])
    data = prompts.fill(form, {}, None, ["sup"])
    assert not [line for line in said if line.startswith("Why the child or family did not attend")], said
    assert validate(form, data, None, ["sup"])[1] == []


def test_fill__a_question_only_for_an_answer_not_given_is_not_asked(monkeypatch):
    """"Other concern (when 'other' is chosen)" is not asked once the concerns chosen hold no
    'other' (was: asked anyway, so a worker answering in turn typed the next answer into it); with
    'other' chosen it is asked, as a required question."""
    form = forms.load("registration")
    before = ["", "", "female", "", "10", "", "", "Kondele", "mother", "", "", "", "", "community_member", ""]  # … criteria
    after = ["", "medium", "", "", "given", "given", "", ""]  # categories … notes (worker: not asked, given below)
    said = answering(monkeypatch, [*before, "neglect", *after])
    data = prompts.fill(form, {"worker": "amina"}, None, ["amina"])
    assert not [line for line in said if line.startswith("Other concern")], said
    assert data["risk"] == "medium" and validate(form, data, None, ["amina"])[1] == []
    said = answering(monkeypatch, [*before, "neglect, other", "", "sold goods at night", *after])
    data = prompts.fill(form, {"worker": "amina"}, None, ["amina"])
    assert [line for line in said if line.startswith("Other concern")] == ["Other concern (when 'other' is chosen)"] * 2, said
    assert data["concerns_other"] == "sold goods at night" and data["risk"] == "medium"


def test_fill__the_reason_for_a_changed_risk_level_is_asked_at_once(cli, monkeypatch):
    from cpcm.cli.common import risk_reason_needed

    case_id = register(cli)  # risk high
    ctx = library_session(cli)
    form = forms.load("assessment-initial")
    answers = ["yes", "", "yes", "no", "yes", "", "medium", "", "the uncle moved away", "no", "proceed", "", ""]
    said = answering(monkeypatch, answers)
    data = prompts.fill(form, {}, ctx.now.date(), [], needed=risk_reason_needed(ctx, case_id))
    assert data["risk_reason"] == "the uncle moved away"
    assert "  is required when the risk level changes (from high to medium)" in said, said
    # the level kept: the reason stays optional
    said = answering(monkeypatch, ["yes", "", "yes", "no", "yes", "", "high", "", "no", "proceed", "", ""])
    assert "risk_reason" not in prompts.fill(form, {}, ctx.now.date(), [], needed=risk_reason_needed(ctx, case_id))
    assert "Why the risk level changed" + prompts.long_text(form.field("risk_reason")) + " (optional)" in said


def test_update_on_a_terminal__the_reason_is_asked_again_and_values_are_shown_as_typed(cli, monkeypatch):
    """`cpcm update` at a terminal: an empty reason ended the command (exit 4) after every field
    had been gone through, the changes typed lost; a yes/no value was shown '(now: True)'."""
    from typer.testing import CliRunner

    from cpcm.cli import update
    from cpcm.cli.app import build

    case_id = register(cli)
    said, reasons = [], ["", "moved to the aunt's"]

    def prompt(text, **_):
        said.append(text)
        if text.startswith("Where the child lives now"):
            return "Kondele, Kisumu"
        return reasons.pop(0) if text.startswith("Why did the details change") else ""

    monkeypatch.setattr(update, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    result = CliRunner().invoke(build("update"), ["update", case_id], env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert result.exit_code == 0, result.output
    assert [t for t in said if t.startswith("Why did the details change")] == ["Why did the details change (the reason is kept "
                                                                               "with the update)"] * 2
    assert any(t.endswith("were explained (now: yes)") for t in said), said
    shown = ok_json(cli("show", case_id, "update", "--json"))
    assert shown["fields"]["changes"] == {"location": "Kondele, Kisumu"} and shown["fields"]["reason"] == "moved to the aunt's"



def test_update_on_a_terminal__the_case_is_folded_once_before_the_questions(cli, monkeypatch):
    """The stage checked and each field's value shown from one fold of the case: it was folded twice
    before the first question (a case of years of records: a wait before each update begins)."""
    from typer.testing import CliRunner

    from cpcm.cli import update
    from cpcm.cli.app import build
    from cpcm.service import context

    case_id = register(cli)
    folds, at_first_question = [], []
    real_fold = context.fold
    monkeypatch.setattr(context, "fold", lambda *a, **k: folds.append(1) or real_fold(*a, **k))
    monkeypatch.setattr(update, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", lambda text, **_: at_first_question.append(len(folds)) or "")
    result = CliRunner().invoke(build("update"), ["update", case_id], env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert getattr(result.exception, "rule", None) == "nothing-to-update", (result.exception, result.output)
    assert at_first_question[0] == 1, at_first_question[:1]


def test_update_on_a_terminal__every_value_kept_is_nothing_to_update_without_asking_the_reason(cli, monkeypatch):
    """Enter at every question of `cpcm update` at a terminal: it asked nothing more, then refused
    with "reason: is required" (never asked) and "give the fields that change (flags, --set, or
    --from-file)" (after the questions). It is nothing to update (exit 4), the reason not asked."""
    from typer.testing import CliRunner

    from cpcm.cli import update
    from cpcm.cli.app import build

    case_id = register(cli)
    said = []
    monkeypatch.setattr(update, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", lambda text, **_: said.append(text) or "")
    result = CliRunner().invoke(build("update"), ["update", case_id], env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert len(said) < 60
    assert not [t for t in said if t.startswith("Why did the details change")]
    assert getattr(result.exception, "rule", None) == "nothing-to-update", (result.exception, result.output)


def test_update_on_a_terminal__a_required_field_left_empty_is_asked_again_at_once(cli, monkeypatch):
    """`cpcm update` at a terminal: '-' on the sex was taken, and the update refused once every
    field had been gone through (child.sex: is required), every change typed lost; now it is
    refused at once and asked again. "Other concern (when 'other' is chosen)" was asked of a case
    with no concern 'other'; now only once a concern typed is 'other', and then it cannot be
    left empty."""
    from typer.testing import CliRunner

    from cpcm.cli import update
    from cpcm.cli.app import build

    case_id = register(cli)  # concerns: neglect
    said, answers = [], {"Sex": ["-", ""], "Where the child lives now": ["Kondele, Kisumu"], "Why did the details change": ["moved"]}

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 100, said
        queue = next((queue for start, queue in answers.items() if text.startswith(start)), None)
        return queue.pop(0) if queue else ""

    monkeypatch.setattr(update, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    result = CliRunner().invoke(build("update"), ["update", case_id], env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert result.exit_code == 0, (result.output, said)
    sex = [i for i, text in enumerate(said) if text.startswith("Sex")]
    assert len(sex) == 2 and said[sex[0] + 1] == "  this one is required", said
    assert not [text for text in said if text.startswith("Other concern")], said
    shown = ok_json(cli("show", case_id, "update", "--json"))
    assert shown["fields"]["changes"] == {"location": "Kondele, Kisumu"}
    # a concern 'other' typed: the other concern is asked, and Enter (the case holds none) asks it again
    said.clear()
    answers.update({"Initial protection concerns": ["neglect, other"], "Other concern": ["", "sold goods at night"],
                    "Why did the details change": ["the social worker learnt more"]})
    result = CliRunner().invoke(build("update"), ["update", case_id], env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert result.exit_code == 0, (result.output, said)
    other = [i for i, text in enumerate(said) if text.startswith("Other concern")]
    assert len(other) == 2 and said[other[0] + 1] == "  say what the other concern is", said
    shown = ok_json(cli("show", case_id, "update", "--json"))
    assert shown["fields"]["changes"] == {"concerns": ["neglect", "other"], "concerns_other": "sold goods at night"}, shown

def test_register_on_a_terminal__an_answer_not_utf8_is_asked_again_at_once_every_other_answer_kept(cli, monkeypatch):
    """A Latin-1 terminal under LANG=C typing "José": Python gives the byte 0xE9 as a lone
    surrogate ('\\udce9'; in a UTF-8 locale, a UnicodeDecodeError). The answer was taken, every
    other question asked, and the whole registration refused at the end ("child.name is not valid
    UTF-8 text", exit 2), every answer lost; now the question refuses it at once, saying how to
    type it and never repeating it, and asks it again."""
    from typer.testing import CliRunner

    from cpcm.cli import common
    from cpcm.cli.app import build

    said, answers = [], {"Child's name": ["Latinone Jos\udce9", "Latinone Jose"],
                         "Where the child lives now": [UnicodeDecodeError("utf-8", b"\xe9", 0, 1, "invalid"), "Manyatta"],
                         "Child's assent": ["given"], "Caregiver's consent": ["given"]}

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 100, said
        queue = next((queue for start, queue in answers.items() if text.startswith(start)), None)
        answer = queue.pop(0) if queue else ""
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    result = CliRunner().invoke(build("register"), ["register", "--sex", "female", "--age", "7", "--lives-with", "mother",
                                                    "--identified-by", "family", "--concern", "neglect", "--risk", "low"],
                                env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert result.exit_code == 0, (result.output, said)
    refusal = "  " + prompts.NOT_UTF8
    for question in ("Child's name", "Where the child lives now"):
        asked = [i for i, text in enumerate(said) if text.startswith(question)]
        assert len(asked) == 2 and said[asked[0] + 1] == refusal, said
    assert not [text for text in said + [result.output] if "Latinone" in text or "\udce9" in text], said  # never the answer
    case_id = re.search(r"CP-[A-Z0-9]{4}-[A-Z0-9]{4}", result.output + "".join(said))[0]
    shown = ok_json(cli("show", case_id, "--json"))
    assert shown["child"]["name"] == "Latinone Jose" and shown["location"] == "Manyatta", shown
    assert shown["child"]["sex"] == "female" and shown["lives_with"] == "mother", shown


def ok_json(result):
    assert result.code == 0, result.stderr
    return result.json()


TODAY = date.fromisoformat(NOW[:10])


def answering_by_label(monkeypatch, answers):
    """typer.prompt answered by the first of `answers` (label's start -> answer) the question
    starts with (its indent aside), else Enter; typer.confirm, and a list's "add another entry?
    [y/N]": no. What was asked, as a list."""
    said = []

    def prompt(text, **_):
        said.append(text)
        assert len(said) < 200, said[-3:]  # a required question asked again and again: the test's answers miss it
        if text.endswith(("[y/N]", "[Y/n]")):  # a list's "add another entry?": no
            return "n"
        return next((answer for start, answer in answers.items() if text.strip().startswith(start)), "")

    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", lambda text, **_: said.append(text) or False)
    monkeypatch.setattr(typer, "echo", lambda text="", **_: said.append(str(text)))
    return said


PLAN_ANSWERS = {"Why this plan version": "initial", "Term": "short", "Goal id": "", "Goal": "Safe at home",
                "Assessed need": "to feel safe", "What": "home visit", "Who [": "caseworker", "By when": "2026-12-10",
                "Direct or by referral": "direct", "When the case can close": "safe at home", "Contingency plan": "call",
                "Did the child take part": "yes", "Did the caregivers take part": "yes"}


def test_fill__the_childs_words_as_one_text_and_in_another_language_are_both_kept(monkeypatch):
    """The plan's "The goal in the child's words" answered as one text and then in Kiswahili was a
    TypeError (exit 70, every answer lost): the one text is the repository's language's, as the form
    reads a plain text, so both are kept ({en: ..., sw: ...}), and the English question is not asked."""
    form = forms.load("plan")
    said = answering_by_label(monkeypatch, {**PLAN_ANSWERS, "The goal in the child's words (for": "I will be safe",
                                            "The goal in the child's words, in Kiswahili": "Nitakuwa salama"})
    data = prompts.fill(form, {}, TODAY, ["amina"])
    assert data["goals"][0]["child_words"] == {"en": "I will be safe", "sw": "Nitakuwa salama"}
    assert not [line for line in said if "child's words, in English" in line], said
    assert validate(form, data, TODAY, ["amina"])[1] == []
    # given one per language already (--set contingency_child_words.sw=...): the one text is not asked over it
    said = answering_by_label(monkeypatch, {**PLAN_ANSWERS, "If something goes wrong": "call the teacher"})
    data = prompts.fill(form, {"contingency_child_words": {"sw": "mpigie mwalimu"}}, TODAY, ["amina"])
    assert data["contingency_child_words"] == {"sw": "mpigie mwalimu", "en": "call the teacher"}
    assert [line for line in said if line.startswith("If something goes wrong")] == [
        "If something goes wrong, in words a child understands, in English" + prompts.long_text(
            form.field("contingency_child_words.en")) + " (optional)"], said


def test_said_otherwise__the_repositorys_language_question_is_not_asked_once_the_one_text_was_put_beside_another():
    """In a Kiswahili repository the one text is Kiswahili's: answered, then the English question, the
    Kiswahili question was still asked (the one text had become {sw: ...} beside the English) and its
    answer replaced the one text, lost without a word."""
    from cpcm.cli.prompts import _said_otherwise

    goal = forms.load("plan").field("goals").item
    for out in ({"child_words": "nataka kwenda shule"}, {"child_words": {"sw": "nataka kwenda shule", "en": "I want school"}}):
        assert _said_otherwise(goal, "child_words.sw", out, "sw"), out
    assert not _said_otherwise(goal, "child_words.sw", {"child_words": {"en": "I want school"}}, "sw")
    assert not _said_otherwise(goal, "child_words.sw", {}, "sw")
    assert not _said_otherwise(goal, "child_words.en", {"child_words": {"sw": "nataka"}}, "sw")


def test_fill__the_caregivers_name_is_asked_of_a_caregivers_consent_only(monkeypatch):
    """The consent's questions asked for the caregiver's name and relationship after "Given by: child", and
    the record was then refused for them (caregiver_name: goes with a caregiver's consent) and both asked
    again; now they are asked only once the consent is given by the caregiver."""
    form = forms.load("consent")
    rest = ["yes", "yes", "yes", "yes", "", "", "", "", ""]  # the four explained … notes
    said = answering(monkeypatch, ["registration", "child", "given", *rest])
    data = prompts.fill(form, {}, None, [])
    assert not [line for line in said if line.startswith(("The caregiver who gave it", "The caregiver's relationship"))], said
    assert validate(form, data, None, [])[1] == [] and "caregiver_name" not in data
    said = answering(monkeypatch, ["registration", "caregiver", "given", "Grace Atieno", "grandmother", *rest])
    data = prompts.fill(form, {}, None, [])
    assert [line for line in said if line.startswith(("The caregiver who gave it", "The caregiver's relationship"))] == [
        "The caregiver who gave it (their name), when given by the caregiver (optional)",
        "The caregiver's relationship to the child (grandmother, uncle ...), when given by the caregiver (optional)"], said
    assert (data["caregiver_name"], data["caregiver_relationship"]) == ("Grace Atieno", "grandmother")
    assert validate(form, data, None, [])[1] == []
