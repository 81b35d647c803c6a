"""The comprehensive assessment's three domains (ESARO Step 2): the child's developmental needs
(the wellbeing dimensions), the parents' or caregivers' capacity to care, and the family and
environmental factors that bear on it. The last two are asked, read back with their questions and
left out of the child's own file (they are about the family); an assessment silent on one of them
is written with a warning naming it, never refused (the form's `advise` rules). Through the CLI."""
from __future__ import annotations

import json

from test_assess_plan import COMPREHENSIVE, assessed_initial

from cpcm.domain.forms import advice, validate
from cpcm.store import forms

DOMAINS = {"caregiving": {"strengths": "Qvcare grandmother cooks every day", "concerns": "Qvcare she is often ill"},
           "environment": {"economic": "Qvenv no steady income since the harvest failed",
                           "supports": "an aunt nearby helps with fees"}}


def test_cli__an_assessment_silent_on_two_domains_is_written_with_a_warning_naming_each(cli):
    case_id = assessed_initial(cli)
    done = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", "--json", input=json.dumps(COMPREHENSIVE))
    assert done.code == 0, done.stderr
    warned = [w for w in done.json()["warnings"] if "ESARO Step 2" in w]
    assert len(warned) == 2, done.json()["warnings"]
    assert any("caregiving:" in w and "capacity to care" in w for w in warned)
    assert any("environment:" in w and "family and environmental factors" in w for w in warned)
    assert cli("show", case_id, "assessment@comprehensive", "--json").code == 0  # written


def test_cli__the_domains_given_are_read_back_kept_from_the_childs_file_and_warn_of_nothing(cli):
    case_id = assessed_initial(cli)
    done = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", "--json",
               input=json.dumps(dict(COMPREHENSIVE, **DOMAINS)))
    assert done.code == 0, done.stderr
    assert not [w for w in done.json()["warnings"] if "ESARO Step 2" in w], done.json()["warnings"]
    shown = cli("show", case_id, "assessment@comprehensive")
    assert "Parenting and caregiving capacity: strengths: Qvcare grandmother cooks every day" in shown.stdout
    assert "Family and environment: economic factors (income, work, housing): Qvenv no steady income" in shown.stdout
    whole = cli("render", "case-file", case_id)
    assert whole.code == 0 and "Qvcare she is often ill" in whole.stdout and "Qvenv" in whole.stdout
    own = cli("render", "child-file", case_id)
    assert own.code == 0, own.stderr
    assert "Qvcare" not in own.stdout and "Qvenv" not in own.stdout and "wants to go back to school" in own.stdout


def test_advice__only_the_advised_rules_and_validation_never_refuses_for_them():
    form = forms.load("assessment-comprehensive")
    from datetime import date

    body, errors = validate(form, COMPREHENSIVE, date(2026, 12, 5))
    assert errors == []
    assert sorted(e.field for e in advice(form, body)) == ["caregiving", "environment"]
    body, errors = validate(form, dict(COMPREHENSIVE, caregiving={"concerns": "x"}), date(2026, 12, 5))
    assert errors == [] and [e.field for e in advice(form, body)] == ["environment"]
    _, errors = validate(form, {k: v for k, v in COMPREHENSIVE.items() if k != "dimensions"}, date(2026, 12, 5))
    assert [e.field for e in errors] == ["dimensions"]  # a rule not advised still refuses
