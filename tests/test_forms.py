"""The registration form as data (cpcm/forms/registration.yaml) through cpcm.domain.forms: pure
tests with a fixed `today`, no disk beyond reading the shipped definition."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from cpcm.store import forms
from cpcm.domain.forms import coerce, parse_form, skeleton, validate
from cpcm.domain.records import flatten
from cpcm.store import codec

from conftest import registration

TODAY = date(2026, 11, 23)
WORKERS = ["sup", "amina", "otieno"]
FORM = forms.load("registration")


def check(data, today=TODAY, workers=WORKERS):
    """The body and {field: reason}; a field's first reason when it has several."""
    body, errors = validate(FORM, data, today, workers)
    reasons: dict[str, str] = {}
    for error in errors:
        reasons.setdefault(error.field, error.reason)
    return body, reasons


def without(data: dict, *paths: str) -> dict:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for path in paths:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]
    return data


def test_valid_registration__has_no_problems_and_keeps_what_was_given():
    body, errors = check(registration())
    assert errors == {}
    assert body["child"] == {"name": "Test Child", "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}
    assert body["consent"] == {"child": "given", "caregiver": "given", "explained": True}
    assert "worker" not in body and "notes" not in body  # only what was given


@pytest.mark.parametrize("path", ["child.sex", "location", "lives_with", "identified_by", "concerns", "risk",
                                  "consent.child", "consent.caregiver"])
def test_required_field__missing_is_named_with_its_label(path):
    _, errors = check(without(registration(), path))
    assert path in errors
    assert errors[path].startswith("is required (")
    assert FORM.field(path).label["en"] in errors[path]


@pytest.mark.parametrize("value", ["", "   ", None, []])
def test_required_field__empty_counts_as_missing(value):
    _, errors = check(registration(location=value))
    assert errors.get("location", "").startswith("is required")


def test_required_fields__are_exactly_those_the_definition_marks():
    required = {f.key for f in FORM.fields if f.required}
    assert required == {"child.sex", "location", "lives_with", "identified_by", "concerns", "risk", "consent.child",
                        "consent.caregiver"}
    _, errors = check({})
    assert required <= set(errors)


def test_optional_fields__may_be_left_out():
    doc = without(registration(), "child.disability", "caregiver", "consent.explained")
    doc["child"].pop("name")
    _, errors = check(doc)
    assert errors == {}


@pytest.mark.parametrize("dob, ok", [
    (TODAY.isoformat(), True),
    ((TODAY - timedelta(days=1)).isoformat(), True),
    ((TODAY + timedelta(days=1)).isoformat(), False),
    ("2099-01-01", False),
])
def test_date_of_birth__not_in_the_future(dob, ok):
    _, errors = check(registration(child={"sex": "male", "date_of_birth": dob}))
    if ok:
        assert "child.date_of_birth" not in errors
    else:
        assert errors["child.date_of_birth"].startswith("is in the future")


def test_date_of_birth__a_refused_value_is_reported_once_for_its_own_reason():
    _, errors = validate(FORM, registration(child={"sex": "male", "date_of_birth": "2099-01-01"}), TODAY, WORKERS)
    assert [(e.field, e.reason) for e in errors] == [("child.date_of_birth", "is in the future (today is 2026-11-23)")]


@pytest.mark.parametrize("dob", ["01/04/2015", "2015-13-01", "yesterday"])
def test_date_of_birth__not_a_date(dob):
    _, errors = check(registration(child={"sex": "male", "date_of_birth": dob}))
    assert "is not a date" in errors["child.date_of_birth"]


def test_date_of_birth__a_yaml_date_is_accepted_and_stored_as_text():
    doc = codec.loads(b"child: {sex: female, date_of_birth: 2015-04-01}\n")
    body, errors = check(registration(child=doc["child"]))
    assert "child.date_of_birth" not in errors
    assert body["child"]["date_of_birth"] == "2015-04-01"


def test_require_one_of__birth_date_or_estimated_age():
    _, errors = check(registration(child={"sex": "male"}))
    assert errors["child.date_of_birth"] == "give the date of birth or, when it is not known, an estimated age"
    _, errors = check(registration(child={"sex": "male", "age_estimate": 9}))
    assert errors == {}


def test_not_both__birth_date_and_estimated_age():
    _, errors = check(registration(child={"sex": "male", "date_of_birth": "2015-01-01", "age_estimate": 9}))
    assert errors == {"child.age_estimate": "give the date of birth or an estimated age, not both"}


@pytest.mark.parametrize("age, reason", [(-1, "must be at least 0"), (18, "must be at most 17"), ("nine", "is not a whole number from 0 to 17")])
def test_estimated_age__bounds_and_type(age, reason):
    _, errors = check(registration(child={"sex": "male", "age_estimate": age}))
    assert errors["child.age_estimate"] == reason


def test_required_if__other_concern_needs_saying_what():
    _, errors = check(registration(concerns=["neglect", "other"]))
    assert errors == {"concerns_other": "say what the other concern is"}
    _, errors = check(registration(concerns=["neglect", "other"], concerns_other="bullying at work"))
    assert errors == {}


@pytest.mark.parametrize("value, hint", [("hihg", "high"), ("immedate", "immediate"), ("mediun", "medium")])
def test_choice__a_near_miss_gets_a_did_you_mean_hint(value, hint):
    _, errors = check(registration(risk=value))
    assert errors["risk"] == f"is not one of: immediate, high, medium, low; did you mean '{hint}'?"


def test_choice__far_off_value_gets_the_list_without_a_hint():
    _, errors = check(registration(risk="purple"))
    assert errors["risk"] == "is not one of: immediate, high, medium, low"


@pytest.mark.parametrize("given, stored", [("High", "high"), (" LOW ", "low"), ("community member", "community_member"),
                                           ("Community-Member", "community_member")])
def test_choice__case_spaces_and_dashes_are_forgiven(given, stored):
    field = FORM.field("risk") if stored in ("high", "low") else FORM.field("identified_by")
    assert coerce(field, given, TODAY) == (stored, None)


def test_choices__each_item_checked_duplicates_dropped_and_a_string_split():
    field = FORM.field("concerns")
    assert coerce(field, ["neglect", "Neglect", "child labour"], TODAY) == (["neglect", "child_labour"], None)
    assert coerce(field, "neglect, abandonment; trafficking", TODAY) == (["neglect", "abandonment", "trafficking"], None)
    value, reason = coerce(field, ["neglect", "negelct", "bullying"], TODAY)
    assert value is None and "did you mean 'neglect'" in reason


def test_boolean__yes_no_words():
    field = FORM.field("consent.explained")
    assert [coerce(field, v, TODAY)[0] for v in ("yes", "Y", "true", "1", True)] == [True] * 5
    assert [coerce(field, v, TODAY)[0] for v in ("no", "N", "false", "0", False)] == [False] * 5
    assert coerce(field, "perhaps", TODAY) == (None, "is not yes or no")


def test_worker__must_be_in_the_team():
    _, errors = check(registration(worker="otieno"))
    assert errors == {}
    _, errors = check(registration(worker="wanjiru"))
    assert errors["worker"].startswith("is not a member of the team")


def test_text__too_long_is_refused_without_echoing_it():
    _, errors = check(registration(location="x" * 301))
    assert errors["location"] == "is 301 characters, longer than the 300 this field holds"


def test_text__a_mapping_is_not_text():
    _, errors = check(registration(location={"village": "Nyalenda"}))
    assert any(key.startswith("location") for key in errors)


@pytest.mark.parametrize("doc, key, hint", [
    ({"lokation": "Kisumu"}, "lokation", "location"),
    ({"child": {"sex": "male", "age_estimate": 9, "nmae": "x"}}, "child.nmae", "child.name"),
    ({"consent": {"child": "given", "caregiver": "given", "explaned": True}}, "consent.explaned", "consent.explained"),
    ({"favourite_colour": "blue"}, "…", None),  # no field is close: the key typed is not repeated
    ({"sex": "female", "child": {"age_estimate": 9}}, "sex", "child.sex"),  # a field's last part, at the wrong level
    ({"name": "x", "child": {"sex": "male", "age_estimate": 9}}, "name", "child.name"),  # the form's first field so named
])
def test_unknown_key__named_with_a_hint_when_one_is_close(doc, key, hint):
    _, errors = check(registration(**doc))
    expected = "is not a field of the registration form" + (
        f"; did you mean '{hint}'?" if hint else " (not shown, as a key may hold personal details; its fields: child.…, location, "
        "lives_with, caregiver.…, contact, registration_place, identified_by, criteria, concerns, concerns_other, risk, "
        "immediate_needs, worker, consent.…, notes; cpcm form blank registration prints them)")
    assert errors[key] == expected


def test_every_problem__reported_at_once():
    doc = registration(risk="hihg", lokation="x", child={"sex": "girl", "date_of_birth": "2099-01-01"})
    doc.pop("location")
    _, errors = check(doc)
    assert {"risk", "lokation", "location", "child.sex", "child.date_of_birth"} <= set(errors)


def test_skeleton__parses_as_yaml_and_names_every_field():
    for lang in ("en", "sw"):
        text = skeleton(FORM, lang)
        parsed = codec.loads(text)
        assert set(flatten(parsed)) == {f.key for f in FORM.fields}
        for field in FORM.fields:
            assert (field.label.get(lang) or field.label["en"]) in text


def test_skeleton__filled_in_as_is_only_asks_for_required_fields():
    _, errors = check(codec.loads(skeleton(FORM)))
    assert not [k for k, reason in errors.items() if "is not a field" in reason]
    assert {f.key for f in FORM.fields if f.required} <= set(errors)


def test_form_blank__cli_output_parses_and_names_every_field(cli, repo):
    result = cli("form", "blank", "registration")
    assert result.code == 0, result.stderr
    assert set(flatten(codec.loads(result.stdout))) == {f.key for f in FORM.fields}
    assert result.stdout.startswith("# ")


def test_form_blank__unknown_kind_gives_3(cli, repo):
    result = cli("form", "blank", "registraton")
    assert result.code == 3
    assert "registration" in result.stderr  # the forms there are


def test_parse_form__a_bad_definition_names_the_key():
    with pytest.raises(ValueError, match=r"fields\[1\].*'key' and 'type'"):
        parse_form({"kind": "x", "fields": [{"type": "text"}]})
    with pytest.raises(ValueError, match="type 'colour'"):
        parse_form({"kind": "x", "fields": [{"key": "a", "type": "colour"}]})
    with pytest.raises(ValueError, match="list 'missing'"):
        parse_form({"kind": "x", "fields": [{"key": "a", "type": "choice", "list": "missing"}]})
    with pytest.raises(ValueError, match="needs 'choices' or 'list'"):
        parse_form({"kind": "x", "fields": [{"key": "a", "type": "choice"}]})


def test_form_blank_and_print__in_the_repository_s_language_without_lang(cli, cli_as, repo):
    """In a repository whose language is Kiswahili, 'cpcm form blank' and 'cpcm form print'
    without --lang gave English; they now follow the repository, and --lang still wins."""
    set_done = cli_as("sup")("config", "set", "language", "sw")
    assert set_done.code == 0, set_done.stderr
    blank = cli("form", "blank", "registration")
    assert blank.code == 0, blank.stderr
    assert "Jinsia" in blank.stdout and "# Sex " not in blank.stdout
    page = cli("form", "print", "registration")
    assert page.code == 0, page.stderr
    assert '<html lang="sw">' in page.stdout
    english = cli("form", "blank", "registration", "--lang", "en")
    assert "# Sex " in english.stdout and "Jinsia" not in english.stdout


def test_form_blank__the_registration_the_repository_s_policy_names(cli, cli_as, repo):
    """In a kenya-profile repository 'cpcm form blank registration' gave the inter-agency form,
    without the national case categories that 'cpcm register --case-category' says it lists."""
    assert "case_categories" not in cli("form", "blank", "registration").stdout
    set_done = cli_as("sup")("config", "set", "policy", "kenya")
    assert set_done.code == 0, set_done.stderr
    blank = cli("form", "blank", "registration", "--lang", "sw")
    assert blank.code == 0, blank.stderr
    assert "case_categories:" in blank.stdout and "Fomu ya Kumbukumbu ya Kesi ya DCS" in blank.stdout


def test_form_blank__in_kiswahili_the_comments_are_kiswahili_not_only_the_labels(cli):
    """`--lang sw` printed the labels in Kiswahili and every other word of the comments in English:
    they come from the catalog now, the values to give (the choices' codes, YYYY-MM-DD) as typed."""
    blank = cli("form", "blank", "followup", "--lang", "sw")
    assert blank.code == 0, blank.stderr
    lines = blank.stdout.splitlines()
    assert lines[:2] == ["# Ufuatiliaji: jaza kisha uipe cpcm kwa --from-file FILE",
                         "# Mistari inayoanza na # ni maelezo. Acha sehemu wazi isipohusika."]
    assert "# Njia (lazima, mojawapo ya: home_visit, phone, office, provider, community)" in lines
    for english in ("fill in", "required", "optional", "one of", "a date", "text, up to", "yes or no"):
        assert english not in blank.stdout, english
    assert "tarehe, YYYY-MM-DD" in blank.stdout
    assert "# How (required, one of: home_visit" in cli("form", "blank", "followup", "--lang", "en").stdout
