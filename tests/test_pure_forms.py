"""Pure tests of form definitions (cpcm.domain.forms) on a small definition of their own: the
parsing of a definition and its errors, each field type's coercion at its edges, validation
with its rules and lists of entries, and the blank skeleton line by line, every message in
full (docs/testing.md, "Mutation testing")."""
from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from cpcm.domain import forms as fm
from cpcm.domain.forms import Field, parse_form

TODAY = date(2026, 11, 23)


def field(type_, **extra) -> Field:
    values = dict(key="k", type=type_, required=False, choices=(), label={"en": "K"}, help={})
    values.update(extra)
    return Field(**values)


def errors(found) -> list[tuple[str, str]]:
    return [(e.field, e.reason) for e in found]


# --- parsing a definition --------------------------------------------------------------------------

DEFINITION = {
    "kind": "visit", "schema": 2, "title": {"en": "Visit", "sw": "Ziara"},
    "lists": {"dims": ["safe_home", "food"], "sex": ["female", "male"]},
    "labels": {"food": {"en": "Food", "sw": "Chakula"}},
    "fields": [
        {"key": "child.sex", "type": "choice", "list": "sex", "required": True, "label": {"en": "Sex", "sw": "Jinsia"},
         "help": {"en": "as the child says"}},
        {"repeat": {"prefix": "wellbeing", "over": "dims", "fields": [
            {"key": "score", "type": "integer", "min": 1, "max": 4, "label": {"en": "Score", "sw": "Alama"}},
            {"key": "note", "type": "text"}]}},
        {"key": "people", "type": "list", "min_items": 2, "item": [{"key": "name", "type": "text", "required": True},
                                                                   {"key": "age", "type": "integer"}]},
        {"key": "seen", "type": "date", "not_future": True, "max_length": 10},
    ],
    "rules": [{"require_one_of": ["child.sex", "seen"]}],
}


def test_parse_form__every_part():
    form = parse_form(DEFINITION)
    assert (form.kind, form.schema, form.title) == ("visit", 2, {"en": "Visit", "sw": "Ziara"})
    assert form.lists == {"dims": ("safe_home", "food"), "sex": ("female", "male")}
    assert form.rules == ({"require_one_of": ["child.sex", "seen"]},)
    assert [f.key for f in form.fields] == ["child.sex", "wellbeing.safe_home.score", "wellbeing.safe_home.note",
                                            "wellbeing.food.score", "wellbeing.food.note", "people", "seen"]
    sex = form.field("child.sex")
    assert sex == Field("child.sex", "choice", True, ("female", "male"), {"en": "Sex", "sw": "Jinsia"}, {"en": "as the child says"})
    score = form.field("wellbeing.food.score")
    assert (score.label, score.minimum, score.maximum, score.required) == ({"en": "Food: Score", "sw": "Chakula: Alama"}, 1, 4, False)
    assert form.field("wellbeing.safe_home.score").label == {"en": "safe home: Score", "sw": "safe home: Alama"}
    assert form.field("wellbeing.food.note").label == {"en": "Food: note"}
    people = form.field("people")
    assert (people.min_items, [f.key for f in people.item], people.item[0].required) == (2, ["name", "age"], True)
    seen = form.field("seen")
    assert (seen.not_future, seen.max_length, seen.label, seen.help, seen.choices, seen.item, seen.min_items) == (
        True, 10, {"en": "seen"}, {}, (), (), 0)
    assert form.field("nothing") is None


def test_parse_form__defaults():
    form = parse_form({"fields": [{"key": 5, "type": "choices", "choices": [1, 2]}]})
    assert (form.kind, form.schema, form.title, form.rules, form.lists) == ("None", 1, {}, (), {})
    assert form.fields[0].key == "5" and form.fields[0].choices == ("1", "2") and form.fields[0].label == {"en": 5}
    assert parse_form({"kind": "x"}).fields == ()
    assert parse_form({"kind": "x", "schema": "3"}).schema == 3


@pytest.mark.parametrize("definition, message", [
    ({"fields": [{"key": "a"}]}, "src: fields[1]: every field needs 'key' and 'type'"),
    ({"fields": [{"type": "text"}]}, "src: fields[1]: every field needs 'key' and 'type'"),
    ({"fields": [{"key": "a", "type": "text"}, {"key": "b", "type": "words"}]},
     "src: fields[2]: type 'words' is not one of boolean, choice, choices, codes, date, duration, id, integer, list, longtext, text, text_list, worker"),
    ({"fields": [{"key": "a", "type": "choice", "list": "nope"}]}, "src: fields[1]: list 'nope' is not defined under 'lists'"),
    ({"fields": [{"key": "a", "type": "choice"}]}, "src: fields[1]: a choice field needs 'choices' or 'list'"),
    ({"fields": [{"key": "a", "type": "choices", "choices": []}]}, "src: fields[1]: a choices field needs 'choices' or 'list'"),
    ({"fields": [{"key": "a", "type": "list"}]}, "src: fields[1]: a list field needs 'item' (the fields of each entry)"),
    ({"fields": [{"key": "a", "type": "list", "item": [{"key": "b", "type": "text"}, {"key": "c"}]}]},
     "src: fields[1].item[2]: every field needs 'key' and 'type'"),
    ({"fields": [{"repeat": {"prefix": "w", "over": "dims", "fields": []}}]}, "src: fields[1]: repeat over 'dims', which is not defined under 'lists'"),
])
def test_parse_form__a_bad_definition_names_where(definition, message):
    with pytest.raises(ValueError) as raised:
        parse_form(definition, "src")
    assert str(raised.value) == message


def test_parse_form__the_default_source_name():
    with pytest.raises(ValueError) as raised:
        parse_form({"fields": [{"key": "a"}]})
    assert str(raised.value) == "form: fields[1]: every field needs 'key' and 'type'"


def test_parse_form__a_list_with_empty_choices_given_by_a_list():
    form = parse_form({"lists": {"x": ["a"]}, "fields": [{"key": "a", "type": "text", "list": "x", "choices": ["z"]}]})
    assert form.fields[0].choices == ("a",)
    with pytest.raises(ValueError) as raised:
        parse_form({"lists": {"x": []}, "fields": [{"key": "a", "type": "choice", "list": "x"}]}, "s")
    assert str(raised.value) == "s: fields[1]: a choice field needs 'choices' or 'list'"


def test_parse_form__a_repeat_without_fields_adds_none():
    assert parse_form({"lists": {"d": ["a"]}, "fields": [{"repeat": {"prefix": "p", "over": "d"}}]}).fields == ()


def test_field_text():
    f = field("text", label={"en": "Name", "sw": "Jina"})
    assert (f.text(f.label, "sw"), f.text(f.label, "fr"), f.text({}, "en"), f.text({"sw": "x"}, "en")) == ("Jina", "Name", "", "")


# --- coercion ---------------------------------------------------------------------------------------

def test_scalar():
    assert [fm._scalar(v) for v in ("x", 1, 1.5, date(2020, 1, 1), True)] == [True] * 5
    assert [fm._scalar(v) for v in (math.inf, math.nan, [1], {}, None, b"x", {1})] == [False] * 7


def test_coerce__codes_are_read_as_text_and_refused_with_a_space_without_echoing_it():
    """An ID, a duration and a list of codes (not free text: the child's file does not list them
    for screening) are taken as the text or list they are written as, and refused when they hold
    words, whose message never repeats them."""
    assert fm.coerce(field("id", max_length=8), " clinic ", TODAY) == ("clinic", None)
    assert fm.coerce(field("id", max_length=8), "clinic-of-kisumu", TODAY)[1] == "is 16 characters, longer than the 8 this field holds"
    assert fm.coerce(field("id"), "Kisumu clinic", TODAY) == (
        None, "is not an ID: letters, digits, '.', '_', ':', '+' or '-', without spaces")
    assert fm.coerce(field("id"), "svc:hiv+tb", TODAY) == ("svc:hiv+tb", None)  # as the message says: ':' and '+' are taken
    assert fm.coerce(field("duration"), "2w", TODAY) == ("2w", None)
    assert fm.coerce(field("duration"), "1mo 2w", TODAY) == ("1mo 2w", None)  # as every rule reads a duration
    assert fm.coerce(field("duration"), "2 w", TODAY) == ("2 w", None) and fm.coerce(field("duration"), "none", TODAY)[1] is None
    assert fm.coerce(field("duration"), "every two weeks, or so", TODAY)[0] is None
    assert fm.coerce(field("duration"), "1mo 2w", TODAY) == ("1mo 2w", None)  # spaces as every rule reads a duration: its meaning
    assert fm.coerce(field("duration"), "2 w", TODAY) == ("2 w", None)        # is the rule's to check (a follow-up's frequency)
    assert fm.coerce(field("codes"), "child_safe; all", TODAY) == (["child_safe", "all"], None)
    assert "Grace" not in str(fm.coerce(field("codes"), ["child_safe", "Grace said so"], TODAY))
    assert [fm.base_type(field(t)) for t in ("id", "duration", "codes", "longtext")] == ["text", "text", "text_list", "longtext"]
    assert not set(fm.CODE_TYPES) & set(fm.FREE_TEXT)


def test_coerce__text():
    f = field("text", max_length=5)
    assert fm.coerce(f, " abcde ", TODAY) == ("abcde", None)
    assert fm.coerce(f, "abcdef", TODAY) == (None, "is 6 characters, longer than the 5 this field holds")
    assert fm.coerce(f, 12, TODAY) == ("12", None)
    assert fm.coerce(field("longtext"), date(2020, 1, 2), TODAY) == ("2020-01-02", None)
    assert fm.coerce(field("text"), "x" * 1000, TODAY) == ("x" * 1000, None)
    assert fm.coerce(f, True, TODAY) == (None, "must be text (put it in quotes)")
    assert fm.coerce(f, ["a"], TODAY) == (None, "must be text")
    assert fm.coerce(f, math.nan, TODAY) == (None, "must be text")


def test_coerce__text_list():
    f = field("text_list")
    assert fm.coerce(f, "a; b;;  ", TODAY) == (["a", "b"], None)
    assert fm.coerce(f, [" a ", 2, date(2020, 1, 2), ""], TODAY) == (["a", "2", "2020-01-02"], None)
    assert fm.coerce(f, 7, TODAY) == (["7"], None)
    for bad in ({"a": 1}, [True], [["a"]], None, [None]):
        assert fm.coerce(f, bad, TODAY) == (None, "must be a list of short texts"), bad


def test_coerce__date():
    f = field("date", not_future=True)
    assert fm.coerce(f, "2026-11-23", TODAY) == ("2026-11-23", None)
    assert fm.coerce(f, " 2026-11-23T10:00 ", TODAY) == ("2026-11-23", None)
    assert fm.coerce(f, "2026-11-24", TODAY) == (None, "is in the future (today is 2026-11-23)")
    assert fm.coerce(field("date"), "2026-11-24", TODAY) == ("2026-11-24", None)
    assert fm.coerce(f, date(2020, 1, 2), TODAY) == ("2020-01-02", None)
    assert fm.coerce(f, datetime(2020, 1, 2, 23, 0), TODAY) == ("2020-01-02", None)
    for bad in ("2020-1-01", "soon", True, ["2020-01-01"], 5):
        assert fm.coerce(f, bad, TODAY) == (None, "is not a date (use YYYY-MM-DD)"), bad
    # in the shape asked for, and no day of the calendar: said so, the value not repeated
    for bad in ("2027-02-30", "2020-13-01", "2021-02-29T10:00"):
        assert fm.coerce(field("date"), bad, TODAY) == (None, "is not a date of the calendar: it is in the shape YYYY-MM-DD, "
                                                        "but that month has no such day (or there is no such month): check "
                                                        "the day and the month"), bad


CALENDAR = ("is not a date of the calendar: it is in the shape YYYY-MM-DD, but that month has no such day (or there is no "
            "such month): check the day and the month")
TIME = ("is not a date-time: the date is right, but the time after it is not a time of day (use HH:MM from 00:00 to 23:59, "
        "e.g. 2026-03-01T14:30, with an offset written in full if any, e.g. +03:00)")


@pytest.mark.parametrize("text, kind", [
    ("2027-02-30", "calendar"), ("2020-13-01", "calendar"), ("2021-02-29T10:00", "calendar"),  # the day is what to fix
    ("2027-02-03T25:00", "time"), ("2027-02-03T10:61", "time"), ("2027-02-03T10:00+3", "time"), ("2027-02-03 24:00", "time"),
    ("next week", "shape"), ("2027-2-3", "shape"), ("2027-02-03x", "shape"), ("2027-02-30x", "shape"), ("2027-02-03T", "shape"),
])
def test_not_a_date__blames_the_day_only_when_the_day_is_wrong_and_the_time_when_the_time_is(text, kind):
    assert fm.date_problem(text) == kind
    said, with_time = fm.not_a_date(text), fm.not_a_date(text, allow_time=True)
    if kind == "calendar":
        assert said == with_time == CALENDAR
    elif kind == "time":
        assert said == with_time == TIME
    else:
        assert (said, with_time) == ("is not a date (use YYYY-MM-DD)", "is not a date (use YYYY-MM-DD) or YYYY-MM-DDTHH:MM")
    assert text.strip() not in said and text.strip() not in with_time  # the value is never repeated


def test_coerce__a_date_further_back_than_max_years_ago_is_a_slip_of_the_year():
    f = field("date", not_future=True, max_years_ago=25)
    assert fm.coerce(f, "2014-03-14", TODAY) == ("2014-03-14", None)
    assert fm.coerce(f, "2001-11-24", TODAY) == ("2001-11-24", None)  # 25 years ago, to the day and a little more
    assert fm.coerce(f, "0014-03-14", TODAY) == (None, "is more than 25 years ago: check the year")
    assert fm.coerce(f, "1914-03-14", TODAY) == (None, "is more than 25 years ago: check the year")
    assert fm._describe(f) == "a date, YYYY-MM-DD, not in the future, at most 25 years ago"
    for wrong in ("25", True, -1):
        with pytest.raises(ValueError, match="max_years_ago"):
            fm.parse_form({"kind": "k", "schema": 1, "title": {"en": "K"},
                           "fields": [{"key": "k", "type": "date", "max_years_ago": wrong}]})
    with pytest.raises(ValueError, match="max_years_ago"):  # only a date has years
        fm.parse_form({"kind": "k", "schema": 1, "title": {"en": "K"}, "fields": [{"key": "k", "type": "text", "max_years_ago": 3}]})


def test_coerce__integer():
    f = field("integer", minimum=0, maximum=17)
    assert fm.coerce(f, " 0 ", TODAY) == (0, None)
    assert fm.coerce(f, 17, TODAY) == (17, None)
    assert fm.coerce(f, -1, TODAY) == (None, "must be at least 0")
    assert fm.coerce(f, "18", TODAY) == (None, "must be at most 17")
    assert fm.coerce(field("integer"), -100, TODAY) == (-100, None)
    assert fm.coerce(field("integer", maximum=0), 0, TODAY) == (0, None)
    for bad in ("1.5", "x", True, date(2020, 1, 1), [1], 1.5):
        assert fm.coerce(f, bad, TODAY) == (None, "is not a whole number from 0 to 17"), bad  # the range it takes
    assert fm.coerce(field("integer"), "concern", TODAY) == (None, "is not a whole number")
    assert fm.coerce(field("integer", minimum=1), "concern", TODAY) == (None, "is not a whole number (at least 1)")


def test_coerce__boolean():
    f = field("boolean")
    assert [fm.coerce(f, v, TODAY)[0] for v in (True, False, " Yes ", "y", "TRUE", "1", 1, "no", "n", "false", "0", 0)] == \
        [True, False, True, True, True, True, True, False, False, False, False, False]
    assert fm.coerce(f, "maybe", TODAY) == (None, "is not yes or no")
    assert fm.coerce(f, ["yes"], TODAY) == (None, "is not yes or no")


CHOICE = field("choice", choices=("female", "male", "not_known"))


def test_coerce__choice():
    assert fm.coerce(CHOICE, " Not-Known ", TODAY) == ("not_known", None)
    assert fm.coerce(CHOICE, "not known", TODAY) == ("not_known", None)
    assert fm.coerce(CHOICE, "femal", TODAY) == (None, "is not one of: female, male, not_known; did you mean 'female'?")
    assert fm.coerce(CHOICE, "zz", TODAY) == (None, "is not one of: female, male, not_known")
    assert fm.coerce(CHOICE, ["female"], TODAY) == (None, "is not one of: female, male, not_known")
    yes_no = field("choice", choices=("yes", "no", "unknown"))  # YAML's true and false, where the answer is yes or no
    assert fm.coerce(yes_no, False, TODAY) == ("no", None) and fm.coerce(yes_no, True, TODAY) == ("yes", None)
    assert fm.coerce(CHOICE, False, TODAY)[0] is None  # not a yes-or-no answer


def test_coerce__choices():
    f = field("choices", choices=("a_b", "c"))
    assert fm.coerce(f, "A B; c, a-b,,", TODAY) == (["a_b", "c"], None)
    assert fm.coerce(f, ["c", " a_b "], TODAY) == (["c", "a_b"], None)
    assert fm.coerce(f, "c, x", TODAY) == (None, "value 2 of 2 is not one of: a_b, c")
    assert fm.coerce(f, {"a": 1}, TODAY) == (None, "must be a list of: a_b, c")
    assert fm.coerce(f, [["c"]], TODAY) == (None, "must be a list of: a_b, c")
    assert fm.coerce(f, "", TODAY) == ([], None)


def test_coerce__list_worker_and_an_unknown_type():
    assert fm.coerce(field("list"), [{}], TODAY) == (None, "is a list of entries: give each entry's fields by its number (--set "
                                                          "k.1.FIELD=... --set k.2.FIELD=...), or the list in a YAML file "
                                                          "(--from-file), each entry starting with '- '")
    w = field("worker")
    assert fm.coerce(w, " amina ", TODAY, ["baraka", "amina"]) == ("amina", None)
    assert fm.coerce(w, "zed", TODAY, iter(["baraka", "amina"])) == (None, "is not a member of the team (amina, baraka)")
    # a correction gives the team and the worker the record named, who is often in it too: named once
    assert fm.coerce(w, "zed", TODAY, ["amina", "sup", "amina"]) == (None, "is not a member of the team (amina, sup)")
    assert fm.coerce(w, "anyone", TODAY) == ("anyone", None)
    assert fm.coerce(w, 5, TODAY) == (None, "must be a worker id")
    assert fm.coerce(field("odd"), "x", TODAY) == (None, "unknown field type odd")


def test_is_empty():
    assert [fm.is_empty(v) for v in (None, "", [], {})] == [True] * 4
    assert [fm.is_empty(v) for v in (0, False, " ", [None], "x")] == [False] * 5


# --- validation -------------------------------------------------------------------------------------

FORM = parse_form({"kind": "visit", "lists": {"sex": ["female", "male"]}, "fields": [
    {"key": "child.name", "type": "text", "required": True, "label": {"en": "Child's name"}},
    {"key": "child.sex", "type": "choice", "list": "sex"},
    {"key": "child.dob", "type": "date", "not_future": True},
    {"key": "child.age", "type": "integer", "min": 0, "max": 17},
    {"key": "concerns", "type": "choices", "choices": ["neglect", "other"]},
    {"key": "concern_other", "type": "text"},
    {"key": "words", "type": "text_list", "required": True},
    {"key": "people", "type": "list", "min_items": 1,
     "item": [{"key": "name", "type": "text", "required": True}, {"key": "rel.kind", "type": "text"}]},
], "rules": [
    {"require_one_of": ["child.dob", "child.age"]},
    {"not_both": ["child.dob", "child.age"], "message": "one or the other"},
    {"required_if": {"field": "concern_other", "when": {"field": "concerns", "in": ["other"]}}},
]})

GOOD = {"child": {"name": "A", "sex": "Female", "dob": "2020-01-02"}, "words": "x", "people": [{"name": "B", "rel": {"kind": "aunt"}}]}


def test_validate__a_sound_document():
    body, errs = fm.validate(FORM, GOOD, TODAY)
    assert errs == []
    assert body == {"child": {"name": "A", "sex": "female", "dob": "2020-01-02"}, "words": ["x"],
                    "people": [{"name": "B", "rel": {"kind": "aunt"}}]}


def test_validate__not_a_mapping():
    assert fm.validate(FORM, [], TODAY) == ({}, [fm.FieldError("(document)", "must be a mapping of fields (key: value)")])


@pytest.mark.parametrize("key, meant", [
    ("child.dob", "child.date_of_birth"), ("child.birth_date", "child.date_of_birth"), ("dob", "child.date_of_birth"),
    ("caregiver.dob", None), ("caregiver.birthdate", None),  # the caregiver has no date of birth: not the child's
    ("caregiver.nmae", "caregiver.name"),
])
def test_near_field__a_usual_word_under_a_section_names_that_sections_field_only(key, meant):
    keys = ["child.name", "child.sex", "child.date_of_birth", "child.age_estimate", "location", "caregiver.name",
            "caregiver.relationship", "contact", "risk"]
    assert fm.near_field(key, keys) == meant


@pytest.mark.parametrize("key, meant, slip", [
    ("wroker", "worker", "worker"), ("gendre", "gender", "gender"), ("class", "alias", None), ("photo", "phone", None),
    ("dob", "date_of_birth", "date_of_birth"),
])
def test_near_field__slips_only_names_a_usual_word_or_one_spelt_nearly_the_same(key, meant, slip):
    """An import refuses a register heading near a field's: only a slip of the keyboard, not a
    heading of its own that is loosely like one (a register's Class is no alias)."""
    keys = ["name", "alias", "gender", "phone", "worker", "date_of_birth"]
    assert fm.near_field(key, keys) == meant
    assert fm.near_field(key, keys, slips_only=True) == slip


def test_validate__unknown_keys_with_and_without_a_hint():
    doc = dict(GOOD, child={**GOOD["child"], "nmae": "x"}, zzz=1, **{"Weird Key!": 2})
    _, errs = fm.validate(FORM, doc, TODAY)
    assert errors(errs) == [
        ("child.nmae", "is not a field of the visit form; did you mean 'child.name'?"),
        ("…", "2 keys are not fields of the visit form (not shown, as a key may hold personal details; "
              "its fields: child.…, concerns, concern_other, words, people; cpcm form blank visit prints them)"),
    ]
    # a group of fields is not unknown; a near miss that is no field name is not repeated
    assert fm.validate(FORM, dict(GOOD, child={**GOOD["child"], "Name!": "x"}), TODAY)[1][0].field == "…"


def test_validate__a_value_for_a_group_of_fields_is_refused_not_dropped():
    """`rel: aunt` where the form has rel.kind: refused, naming the group and its fields (the
    value is not repeated), never stored or silently left out."""
    body, errs = fm.validate(FORM, dict(GOOD, people=[{"name": "B", "rel": "aunt"}]), TODAY)
    assert errors(errs) == [("people[1].rel", "is a group of fields, not one value: give its fields under it (kind)")]
    _, errs = fm.validate(FORM, dict(GOOD, child="Asha"), TODAY)
    assert ("child", "is a group of fields, not one value: give its fields under it (age, dob, name, …)") in errors(errs)
    assert fm.validate(FORM, dict(GOOD, people=[{"name": "B", "rel": None}]), TODAY)[1] == []  # empty: nothing given


def test_validate__required_fields_empty_or_empty_once_clean():
    _, errs = fm.validate(FORM, {"child": {"dob": "2020-01-02"}, "words": " ; ", "people": [{"name": "B"}]}, TODAY)
    assert errors(errs) == [("child.name", "is required (Child's name)"), ("words", "is required (words)")]
    _, errs = fm.validate(FORM, {"child": {"name": "", "dob": "2020-01-02"}, "people": [{"name": "B"}]}, TODAY)
    assert errors(errs) == [("child.name", "is required (Child's name)"), ("words", "is required (words)")]


def test_validate__bad_values_and_empty_optional_values():
    doc = dict(GOOD, child={"name": "A", "sex": "x", "dob": "2020-01-02", "age": ""}, concerns=[])
    body, errs = fm.validate(FORM, doc, TODAY)
    assert errors(errs) == [("child.sex", "is not one of: female, male")]
    assert "age" not in body["child"] and "concerns" not in body and "sex" not in body["child"]


def test_validate__the_rules():
    base = {"child": {"name": "A"}, "words": "x", "people": [{"name": "B"}]}
    assert errors(fm.validate(FORM, base, TODAY)[1]) == [("child.dob", "give one of: child.dob, child.age")]
    both = dict(base, child={"name": "A", "dob": "2020-01-02", "age": 3})
    assert errors(fm.validate(FORM, both, TODAY)[1]) == [("child.age", "one or the other")]
    other = dict(base, child={"name": "A", "age": 3}, concerns="other")
    assert errors(fm.validate(FORM, other, TODAY)[1]) == [("concern_other", "is required when concerns is ['other']")]
    said = dict(other, concern_other="x")
    assert fm.validate(FORM, said, TODAY)[1] == []


def test_validate__a_rule_about_a_refused_field_is_not_repeated():
    doc = {"child": {"name": "A", "age": 30}, "words": "x", "people": [{"name": "B"}]}
    assert errors(fm.validate(FORM, doc, TODAY)[1]) == [("child.age", "must be at most 17")]


PEOPLE_LIST = ("is a list of entries: give each entry's fields by its number (--set people.1.name=... --set people.2.name=...), "
               "or the list in a YAML file (--from-file), each entry starting with '- '")


def test_validate__lists_of_entries():
    doc = dict(GOOD, people=[{"rel": {"kind": "x"}}, "B", {"name": "C", "odd": 1}])
    body, errs = fm.validate(FORM, doc, TODAY)
    assert errors(errs) == [
        ("people[1].name", "is required (name)"),
        ("people[2]", "must be a mapping of fields (key: value)"),
        ("people[3].…", "is not a field of the visit form (not shown, as a key may hold personal details; "
                        "an entry's fields: name, rel.…; cpcm form blank visit prints them)"),
    ]
    assert body["people"] == [{"rel": {"kind": "x"}}, {}, {"name": "C"}]
    assert errors(fm.validate(FORM, dict(GOOD, people="B"), TODAY)[1]) == [("people", PEOPLE_LIST)]
    assert errors(fm.validate(FORM, dict(GOOD, people=[]), TODAY)[1]) == []
    assert "people" not in fm.validate(FORM, dict(GOOD, people=[]), TODAY)[0]


def test_validate__at_least_some_entries():
    two = parse_form({"kind": "k", "fields": [{"key": "p", "type": "list", "min_items": 2, "item": [{"key": "n", "type": "text"}]}]})
    assert errors(fm.validate(two, {"p": [{"n": "a"}]}, TODAY)[1]) == [("p", "needs at least 2 entries")]
    assert fm.validate(two, {"p": [{"n": "a"}, {"n": "b"}]}, TODAY)[1] == []
    one = parse_form({"kind": "k", "fields": [{"key": "p", "type": "list", "min_items": 1, "item": [{"key": "n", "type": "text"}]}]})
    assert errors(fm.validate(one, {"p": ["x"]}, TODAY)[1]) == [("p[1]", "must be a mapping of fields (key: value)")]
    assert errors(fm.validate(one, {"p": [{"z": 1}]}, TODAY)[1]) == [
        ("p[1].…", "is not a field of the k form (not shown, as a key may hold personal details; an entry's fields: n; "
                   "cpcm form blank k prints them)")]


def test_validate__workers_are_passed_on():
    form = parse_form({"kind": "k", "fields": [{"key": "w", "type": "worker"}]})
    assert errors(fm.validate(form, {"w": "zed"}, TODAY, iter(["amina"]))[1]) == [("w", "is not a member of the team (amina)")]
    entries = parse_form({"kind": "k", "fields": [{"key": "p", "type": "list", "item": [{"key": "w", "type": "worker"}]}]})
    assert errors(fm.validate(entries, {"p": [{"w": "zed"}]}, TODAY, ["amina"])[1]) == [
        ("p[1].w", "is not a member of the team (amina)")]


def test_rule_fields():
    assert fm._rule_fields({"require_one_of": ["a", "b"]}) == ["a", "b"]
    assert fm._rule_fields({"not_both": ["c", "d"]}) == ["c", "d"]
    assert fm._rule_fields({"required_if": {"field": "e", "when": {"field": "f"}}}) == ["e", "f"]
    assert fm._rule_fields({"at_least_one_of_prefix": "g"}) == []


def test_flatten_until():
    data = {"a": {"b": 1, "c": {"d": 2}}, "e": {"f": 3}, "g": 4}
    assert fm._flatten_until(data, {"a.c"}) == {"a.b": 1, "a.c": {"d": 2}, "e.f": 3, "g": 4}
    assert fm._flatten_until(data, set()) == {"a.b": 1, "a.c.d": 2, "e.f": 3, "g": 4}


def test_check_rule__each_kind_with_and_without_a_message():
    prefix = {"at_least_one_of_prefix": "wb"}
    assert errors(fm._check_rule(prefix, {"wb.a": "", "wbx": 1, "x.wb.y": 1})) == [("wb", "give at least one")]
    assert fm._check_rule(prefix, {"wb.a": 0}) == []
    assert errors(fm._check_rule(dict(prefix, message="m"), {})) == [("wb", "m")]
    assert errors(fm._check_rule({"require_one_of": ["a", "b"], "message": "m"}, {"a": []})) == [("a", "m")]
    assert fm._check_rule({"require_one_of": ["a", "b"]}, {"b": 0}) == []
    assert errors(fm._check_rule({"not_both": ["a", "b"]}, {"a": 1, "b": 0})) == [("b", "give only one of: a, b")]
    assert fm._check_rule({"not_both": ["a", "b"]}, {"a": 1, "b": ""}) == []
    cond = {"required_if": {"field": "x", "when": {"field": "y", "in": ["p", "q"]}}}
    assert errors(fm._check_rule(cond, {"y": "q"})) == [("x", "is required when y is q")]
    assert errors(fm._check_rule(cond, {"y": ["z", "p"], "x": ""})) == [("x", "is required when y is ['z', 'p']")]
    assert fm._check_rule(cond, {"y": ["z"]}) == []
    assert fm._check_rule(cond, {"y": "q", "x": "set"}) == []
    assert fm._check_rule({"required_if": {"field": "x", "when": {"field": "y"}}}, {"y": "q"}) == []
    assert errors(fm._check_rule(dict(cond, message="m"), {"y": "p"})) == [("x", "m")]
    assert fm._check_rule({}, {}) == []


def test_check_rule__the_first_kind_that_fails_is_reported():
    both = {"at_least_one_of_prefix": "wb", "require_one_of": ["a"]}
    assert errors(fm._check_rule(both, {"wb.x": 1})) == [("a", "give one of: a")]
    assert errors(fm._check_rule({"require_one_of": ["a"], "not_both": ["b", "c"]}, {"a": 1, "b": 1, "c": 1})) == [
        ("c", "give only one of: b, c")]
    assert errors(fm._check_rule({"not_both": ["b", "c"], "required_if": {"field": "x", "when": {"field": "y", "in": [1]}}},
                                 {"b": 1, "y": 1})) == [("x", "is required when y is 1")]


# --- the blank skeleton -------------------------------------------------------------------------------

SKELETON_FORM = parse_form({"kind": "visit", "title": {"en": "Home visit", "sw": "Ziara"}, "lists": {"sex": ["f", "m"]}, "fields": [
    {"key": "child.name", "type": "text", "required": True, "label": {"en": "Name", "sw": "Jina"},
     "help": {"en": "as written\nin full"}},
    {"key": "child.sex", "type": "choice", "list": "sex"},
    {"key": "seen", "type": "date", "not_future": True},
    {"key": "tags", "type": "choices", "choices": ["a", "b"]},
    {"key": "words", "type": "text_list"},
    {"key": "said", "type": "longtext"},
    {"key": "said.sw", "type": "longtext"},
    {"key": "people", "type": "list", "min_items": 1, "label": {"en": "People"},
     "item": [{"key": "name", "type": "text", "help": {"en": "who"}}, {"key": "rel.kind", "type": "text"}]},
]})


def test_skeleton__line_by_line():
    assert fm.skeleton(SKELETON_FORM).splitlines() == [
        "# Home visit: fill in and give to cpcm with --from-file FILE",
        "# Lines starting with # are comments. Leave a field empty when it does not apply.",
        "",
        "child:",
        "  # Name (required, text)",
        "  #   as written",
        "  #   in full",
        "  name:",
        "  # child.sex (optional, one of: f, m)",
        "  sex:",
        "# seen (optional, a date, YYYY-MM-DD, not in the future)",
        "seen:",
        "# tags (optional, a list of: a, b)",
        "tags: []",
        "# words (optional, a list of short texts)",
        "words: []",
        "# said (optional, text)",
        "# said: give one text here, or one per language below",
        "said:",
        "  # said.sw (optional, text)",
        "  sw:",
        "# People (optional, a list; each entry has the fields below, at least 1)",
        "people:",
        "  # name (optional, text)",
        "  #   who",
        "  - name:",
        "    rel:",
        "      # rel.kind (optional, text)",
        "      kind:",
    ]
    assert fm.skeleton(SKELETON_FORM).endswith("kind:\n")


def test_skeleton__in_another_language_and_without_a_title():
    lines = fm.skeleton(SKELETON_FORM, "sw").splitlines()
    assert lines[0] == "# Ziara: fill in and give to cpcm with --from-file FILE"
    assert lines[4:6] == ["  # Jina (required, text)", "  #   as written"]
    assert fm.skeleton(SKELETON_FORM, "fr").splitlines()[0] == "# Home visit: fill in and give to cpcm with --from-file FILE"
    untitled = parse_form({"kind": "note", "fields": [{"key": "x", "type": "text"}]})
    assert fm.skeleton(untitled) == ("# note: fill in and give to cpcm with --from-file FILE\n"
                                     "# Lines starting with # are comments. Leave a field empty when it does not apply.\n\n"
                                     "# x (optional, text)\nx:\n")


def test_skeleton__an_entry_whose_first_field_is_nested():
    form = parse_form({"kind": "k", "fields": [
        {"key": "outer.people", "type": "list", "item": [{"key": "rel.kind", "type": "text"}, {"key": "n", "type": "integer"}]}]})
    assert fm.skeleton(form).splitlines()[3:] == [
        "outer:",
        "  # outer.people (optional, a list; each entry has the fields below)",
        "  people:",
        "    - rel:",
        "        # rel.kind (optional, text)",
        "        kind:",
        "      # n (optional, a whole number)",
        "      n:",
    ]


@pytest.mark.parametrize("raw, text", [
    ({"type": "integer", "min": 0, "max": 17}, "a whole number from 0 to 17"),
    ({"type": "integer", "min": 1}, "a whole number from 1"),
    ({"type": "integer", "max": 0}, "a whole number to 0"),
    ({"type": "integer"}, "a whole number"),
    ({"type": "boolean"}, "yes or no"),
    ({"type": "worker"}, "a worker id from the team"),
    ({"type": "date"}, "a date, YYYY-MM-DD"),
    ({"type": "text"}, "text"),
    ({"type": "list", "item": [{"key": "a", "type": "text"}]}, "a list; each entry has the fields below"),
])
def test_describe(raw, text):
    assert fm._describe(fm._parse_field(dict(raw, key="k"), {}, "w")) == text


def test_skeleton__groups_three_deep_a_field_after_a_list_and_help_and_entries_in_the_language_asked():
    form = parse_form({"kind": "k", "fields": [
        {"key": "home.address.town", "type": "text", "help": {"en": "the town", "sw": "mji"}},
        {"key": "home.phone.main", "type": "text"},
        {"key": "people", "type": "list", "item": [
            {"key": "contact.phone.main", "type": "text", "label": {"en": "Phone", "sw": "Simu"}}]},
        {"key": "after", "type": "boolean"},
    ]})
    assert fm.skeleton(form, "sw").splitlines()[3:] == [
        "home:",
        "  address:",
        "    # home.address.town (optional, text)",
        "    #   mji",
        "    town:",
        "  phone:",
        "    # home.phone.main (optional, text)",
        "    main:",
        "# people (optional, a list; each entry has the fields below)",
        "people:",
        "  - contact:",
        "      phone:",
        "        # Simu (optional, text)",
        "        main:",
        "# after (optional, yes or no)",
        "after:",
    ]


def test_validate__a_date_in_an_entry_of_a_list_is_not_in_the_future():
    form = parse_form({"kind": "k", "fields": [{"key": "visits", "type": "list", "item": [
        {"key": "on", "type": "date", "not_future": True}]}]})
    body, found = fm.validate(form, {"visits": [{"on": "2026-11-23"}, {"on": "2026-11-24"}]}, TODAY)
    assert errors(found) == [("visits[2].on", "is in the future (today is 2026-11-23)")]
    assert body == {"visits": [{"on": "2026-11-23"}, {}]}


def test_check_rule__required_if_without_a_list_of_values_is_never_met_by_a_list_either():
    assert fm._check_rule({"required_if": {"field": "x", "when": {"field": "y"}}}, {"y": ["q"]}) == []


def test_validate__a_field_after_a_list_a_mapping_for_a_list_and_one_text_per_language():
    form = parse_form({"kind": "k", "fields": [
        {"key": "people", "type": "list", "item": [{"key": "name", "type": "text"}]},
        {"key": "seen", "type": "date", "required": True},
        {"key": "said", "type": "text"}, {"key": "said.sw", "type": "text"}]})
    body, found = fm.validate(form, {"people": [{"name": "A"}], "said": {"sw": "ndiyo"}}, TODAY)
    assert errors(found) == [("seen", "is required (seen)")] and body == {"people": [{"name": "A"}], "said": {"sw": "ndiyo"}}
    _, found = fm.validate(form, {"people": {"name": "A"}, "seen": "2026-11-01"}, TODAY)
    assert errors(found) == [("people", PEOPLE_LIST)]


def test_parse_form__an_entry_of_a_list_takes_its_choices_from_the_forms_lists():
    form = parse_form({"kind": "k", "lists": {"sex": ["f", "m"]}, "fields": [
        {"key": "people", "type": "list", "item": [{"key": "sex", "type": "choice", "list": "sex"}]}]})
    assert form.field("people").item[0].choices == ("f", "m")


def test_coerce__a_date_and_time_as_text_is_written_in_iso_form_and_an_empty_choice_is_skipped():
    moment = datetime(2026, 11, 23, 10, 30)
    assert fm.coerce(field("text"), moment, TODAY) == ("2026-11-23T10:30:00", None)
    assert fm.coerce(field("text_list"), [moment, "b"], TODAY) == (["2026-11-23T10:30:00", "b"], None)
    assert fm.coerce(field("choices", choices=("a", "b")), "a,,b", TODAY) == (["a", "b"], None)


def test_confirmed__all_stands_for_every_item_and_a_value_beside_it_is_still_checked():
    items = ("eligibility_known", "need_matched", "provider_told")
    assert fm.confirmed(["all"], items, "check") == (list(items), [])
    assert fm.confirmed(["need_matched", "all", "need_matched"], items, "check") == (list(items), [])
    assert fm.confirmed(["provider_told", "need_matched", "provider_told"], items, "check") == (["provider_told", "need_matched"], [])
    _, errors = fm.confirmed(["all", "eligbility", "zzz", "eligbility"], items, "check")
    assert [str(e) for e in errors] == [
        "check: is not one of: eligibility_known, need_matched, provider_told (or all); did you mean 'eligibility_known'?",
        "check: is not one of: eligibility_known, need_matched, provider_told (or all)"]


def test_too_long__names_both_lengths_and_the_skeleton_says_the_limit():
    assert fm.too_long(5230, 4000) == "is 5230 characters, longer than the 4000 this field holds"
    assert fm.TOO_LONG_SAID.fullmatch(fm.too_long(5230, 4000))
    assert fm._describe(field("longtext", max_length=4000)) == "text, up to 4000 characters"
    assert fm._describe(field("text")) == "text"


def test_not_asked__a_field_of_a_not_both_rule_once_another_is_answered():
    form = parse_form({"kind": "k", "fields": [{"key": "dob", "type": "date"}, {"key": "age", "type": "integer"},
                                               {"key": "other", "type": "text"}],
                       "rules": [{"not_both": ["dob", "age"]}]})
    assert fm.not_asked(form, "age", {"dob": "2015-01-01"}) and fm.not_asked(form, "dob", {"age": 9})
    assert not fm.not_asked(form, "age", {}) and not fm.not_asked(form, "age", {"dob": ""})
    assert not fm.not_asked(form, "other", {"dob": "2015-01-01", "age": 9})


def test_only_if__a_field_for_one_answer_is_not_asked_and_is_refused_beside_another():
    """An `only_if` rule: the field goes with one answer of another field only (the caregiver's name,
    with a consent given by the caregiver). Once that field is answered otherwise, a prompt leaves it
    out and a record holding it is refused; unanswered, the field may yet go with it."""
    form = parse_form({"kind": "k", "lists": {"by": ["child", "caregiver"]},
                       "fields": [{"key": "by", "type": "choice", "list": "by"}, {"key": "name", "type": "text"}],
                       "rules": [{"only_if": {"field": "name", "when": {"field": "by", "in": ["caregiver"]}},
                                  "message": "goes with a caregiver's answer only"}]})
    assert fm.not_asked(form, "name", {"by": "child"})
    assert not fm.not_asked(form, "name", {"by": "caregiver"}) and not fm.not_asked(form, "name", {})
    assert not fm.not_asked(form, "by", {"by": "child", "name": "A"})
    assert errors(fm.validate(form, {"by": "child", "name": "A"}, TODAY)[1]) == [("name", "goes with a caregiver's answer only")]
    assert fm.validate(form, {"by": "caregiver", "name": "A"}, TODAY) == ({"by": "caregiver", "name": "A"}, [])
    assert fm.validate(form, {"by": "child"}, TODAY)[1] == [] and fm.validate(form, {"name": "A"}, TODAY)[1] == []
    bare = {"only_if": {"field": "name", "when": {"field": "by", "in": ["caregiver"]}}}  # no message: the rule says it
    assert fm._check_rule(bare, {"by": "child", "name": "A"})[0].reason == "goes only with by caregiver"


def test_english__the_domain_the_workflow_and_the_errors_say_a_message_as_written_by_one_function():
    """What says a message in English where no language is asked was written three times (`_same` in
    errors.py, domain/forms.py and workflow/conferences.py); it is `errors.in_english`, which every
    layer may import (errors import nothing of cpcm), and says the message as it is."""
    import inspect

    from cpcm.errors import FIELDS_HINT, InvalidInput, in_english
    from cpcm.workflow import conferences

    assert in_english(FIELDS_HINT) is FIELDS_HINT
    assert fm.ENGLISH.say is in_english and fm.Wording().say is in_english
    for said in (fm.too_long, fm.is_too_long, fm.not_a_calendar_date, fm.not_a_date, fm.skeleton,
                 conferences.conference_named, InvalidInput._first):
        assert inspect.signature(said).parameters["say"].default is in_english, said
