"""Refusals in the words of what the user typed: a form field an option gives is named by that
option; a key not on the form is matched on the words of the fields' names and labels; a list
says which of its values is wrong; plan's --reason says it is a word of a fixed list; a number
or a date option says what it takes; nothing given is said as such; a misfiled mark is said as a
mark. Through the CLI, as a worker at a terminal or a script meets them."""
from __future__ import annotations

import json

from conftest import CANARY, commit_count, register
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc


def _refused(result, code: int = 4) -> str:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert CANARY not in result.stdout + result.stderr
    return result.stderr


def test_service_add__a_field_missing_or_wrong_is_named_by_its_option(cli, repo):
    before = commit_count(repo)
    result = cli("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--contract-end", "2026-13-01")
    said = _refused(result)
    assert "  - --offers (services): is required" in said, said
    assert "  - --contract-end (contract.end): is not a date of the calendar" in said, said
    assert "given by their options: --offers." in said, said  # the one missing; --contract-end was given, wrongly
    fields = cli("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--json").json()["fields"]
    assert {"field": "services", "reason": "is required (Services offered)", "option": "--offers"} in fields
    assert commit_count(repo) == before


def test_consent__the_explanations_missing_are_named_by_the_option_that_gives_them(cli, repo):
    case_id = register(cli)
    said = _refused(cli("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", "child", "--status", "given"))
    assert "  - --explained information (explained.information): is required" in said, said
    assert "  - --explained confidentiality_limits (explained.confidentiality_limits): is required" in said, said
    assert "given by their options: --explained information, use, sharing, confidentiality_limits (or --explained all)." in said, said


def test_followup__purpose_detail_missing_is_named_by_its_option_and_the_hint_says_so(cli):
    case_id = register(cli)
    said = _refused(cli("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--visited-by", "professional",
                        "--risk-increased", "no"))
    assert "  - --purpose-detail (purpose_detail): say what the home visit is for" in said, said
    assert "The fields missing are given by their options: --purpose-detail. Only the options were given" in said, said
    # from a file the field is still named by its option, but the file is what to correct
    from_file = _refused(cli("followup", case_id, "--from-file", "-", input=json.dumps(
        {"method": "home_visit", "purpose": "monitoring", "visited_by": "professional", "risk_increased": "no"})))
    assert "--purpose-detail (purpose_detail)" in from_file and "given by their options" not in from_file, from_file


def test_assess__an_unknown_key_is_matched_on_the_words_of_the_fields_labels(cli):
    case_id = register(cli)
    said = _refused(cli("assess", case_id, "--type", "initial", "--set", "unsafe_reason=left alone at night"))
    assert "unsafe_reason: is not a field of the assessment form; did you mean 'safety_concerns'?" in said, said
    typo = _refused(cli("assess", case_id, "--type", "initial", "--set", "risk_reasn=x"))
    assert "did you mean 'risk_reason'?" in typo, typo  # a slip of the keyboard is still the field spelt so
    unknown = _refused(cli("assess", case_id, "--type", "initial", "--set", "favourite_colour=blue"))
    assert "did you mean" not in unknown and "favourite_colour" not in unknown, unknown  # near nothing: no field by chance


def test_a_list_field__says_which_of_its_values_is_not_a_choice(cli):
    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0

    def consulted(value: str) -> str:
        said = _refused(cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", "--set", f"consulted={value}",
                            input=json.dumps(COMPREHENSIVE)))
        return next(line for line in said.splitlines() if line.startswith("  - consulted: "))
    assert consulted("mother,teacher") == ("  - consulted: values 1 and 2 of 2 are not one of: child, caregivers, other_family, "
                                           "other_agencies, home_visit, school, health_worker, community")
    assert consulted("child,caregiver").startswith("  - consulted: value 2 of 2 is not one of: child, caregivers")
    assert consulted("child,caregiver").endswith("; did you mean 'caregivers'?")


def test_plan__a_reason_in_words_is_told_the_option_is_a_word_of_a_list_and_where_words_go(cli, cli_as):
    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert cli_as("sup")("approve", case_id, "plan").code == 0
    said = _refused(cli("plan", case_id, "--from-current", "--reason", "full plan after the comprehensive assessment"))
    assert ("  - --reason (reason): is why this plan version is written, one word of a fixed list: initial, after_reopening, "
            "review") in said, said
    assert "An explanation in words goes in the plan's notes (--set notes=TEXT)" in said, said
    doc = plan_doc()
    del doc["reason"]
    from_file = _refused(cli("plan", case_id, "--from-file", "-", "--reason", "because", input=json.dumps(doc)))
    assert "--reason (reason): is why this plan version is written" in from_file, from_file


def test_number_options__say_what_they_take_in_words_not_clicks(cli):
    said = _refused(cli("due", "--within", "two"), code=2)
    assert ("--within takes a number written in figures, such as 7 or 1.5 (look this many days ahead): what was given is "
            "not a number") in said and "float" not in said, said
    age = _refused(cli("register", "--age", "nine", "--no-input"), code=2)
    assert "--age takes a whole number written in figures, such as 7 (estimated age in years" in age and "integer" not in age, age


def test_date_options__a_day_the_calendar_lacks_is_said_as_a_form_field_says_it(cli):
    case_id = register(cli)
    said = _refused(cli("followup", case_id, "--at", "2026-02-31"), code=2)
    assert "--at: is not a date of the calendar: it is in the shape YYYY-MM-DD, but that month has no such day" in said, said
    assert "ISO 8601" not in said, said
    shape = _refused(cli("followup", case_id, "--at", "yesterday"), code=2)
    assert "--at: is not a date or a date-time (use YYYY-MM-DD, or YYYY-MM-DDTHH:MM with the time)" in shape, shape
    report = _refused(cli("report", "statistics", "--from", "2026-02-30"), code=2)
    assert "--from: is not a date of the calendar" in report, report


def test_register__nothing_given_is_said_as_nothing_not_as_only_options(cli, repo):
    before = commit_count(repo)
    said = _refused(cli("register", input=""))
    assert "Nothing was given (no file, no --set, no option) and no questions asked" in said, said
    assert "Only the options were given" not in said, said
    options = _refused(cli("register", "--sex", "female", input=""))
    assert "Only the options were given" in options and "Nothing was given" not in options, options
    assert commit_count(repo) == before


def test_close_on_a_terminal__says_it_asks_no_questions_and_to_give_its_options(cli, repo, monkeypatch):
    """`cpcm close` on a terminal was refused with "no questions asked, as standard input is no
    terminal or --no-input was given ... (on a terminal, without --no-input, cpcm asks for them)":
    both false, as cpcm close asks no questions; now it says so, and to give its options."""
    from typer.testing import CliRunner

    from cpcm.cli import common
    from cpcm.cli.app import build
    from cpcm.errors import InvalidInput

    case_id = register(cli)
    before = commit_count(repo)
    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    result = CliRunner().invoke(build("close"), ["close", case_id], env=dict(cli.env, CPCM_NO_AGENT="1"))
    assert isinstance(result.exception, InvalidInput), result.output  # exit 4 through cpcm's main
    assert "reason" in [e.field for e in result.exception.errors]
    hint = result.exception.hint
    assert hint.startswith("Nothing was given (no file, no --set, no option), and cpcm close asks no questions: give its "
                           "options (cpcm close --help lists them)"), hint
    assert "terminal" not in hint and "--no-input" not in hint, hint
    assert commit_count(repo) == before
    said = _refused(cli("close", case_id, "--no-input"))  # off a terminal: the same, with the option missing named first
    assert "The fields missing are given by their options: --reason" in said and "cpcm close asks no questions" in said, said


def test_correct__last_naming_a_misfiled_mark_is_said_as_a_mark_with_the_record_it_marked(cli):
    case_id, other = register(cli), register(cli)
    note = cli("note", case_id, "--text", "about the brother", "--json").json()["record_id"]
    moved = cli("correct", case_id, note, "--misfiled", "--to", other, "--reason", "his, not hers", "--json")
    assert moved.code == 0, moved.stderr
    mark = moved.json()["record_id"]
    said = _refused(cli("correct", case_id, "last", "--misfiled", "--to", other, "--reason", "again"))
    assert (f"record {mark} of {case_id} ('last' names it: the case's latest record) is itself a mark that record {note} was "
            f"written in the wrong case, and moved it to {other}") in said, said
    assert "a mark is not corrected, marked or moved" in said and said.count(mark) == 1, said
    assert f"cpcm show {case_id} {mark}" not in said, said


def test_record_time__a_refused_time_is_named_by_the_option_that_gave_it(cli, repo):
    """A record's time is given by --at: a time in the future, or before the case began, is said of
    --at (the option typed), in the message and the JSON, and is never said to be missing."""
    case_id = register(cli)
    before = commit_count(repo)
    future = _refused(cli("note", case_id, "--text", "a visit", "--at", "2027-01-01"))
    assert "  - --at (at): is in the future" in future, future
    early = _refused(cli("note", case_id, "--text", "a visit", "--at", "2020-01-01"))
    assert "  - --at (at): is before the case was registered" in early, early
    fields = cli("note", case_id, "--text", "a visit", "--at", "2027-01-01", "--json").json()["fields"]
    assert fields == [{"field": "at", "reason": "is in the future: the time now ($CPCM_NOW) is 2026-11-23 09:00 +03:00",
                       "option": "--at"}], fields
    missing = _refused(cli("followup", case_id, "--method", "home_visit", "--at", "2027-01-01", "--no-input"))
    assert "  - --at (at): is in the future" in missing and "given by their options: --purpose, " in missing, missing
    assert "--at." not in missing and "--at," not in missing, missing  # the time is given, never missing
    assert commit_count(repo) == before
