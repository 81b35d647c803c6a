"""Pure tests of reading a register sheet (cpcm.domain.sheets): the mapping file's checks, which
column maps to which field and why, each cell as the form reads it, and the rows, with every
message in full (docs/testing.md, "Mutation testing")."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from cpcm.domain import sheets as sh
from cpcm.domain.forms import parse_form
from cpcm.errors import FieldError

FORM = parse_form({"kind": "registration", "lists": {"sex": ["female", "male"], "yn": ["yes", "no", "unknown"]}, "fields": [
    {"key": "child.name", "type": "text", "label": {"en": "Child's name", "sw": "Jina la mtoto"}},
    {"key": "child.sex", "type": "choice", "list": "sex", "label": {"en": "Sex", "sw": "Jinsia"}},
    {"key": "child.date_of_birth", "type": "date", "label": {"en": "Born"}},
    {"key": "child.disability", "type": "choice", "list": "yn"},
    {"key": "concerns", "type": "choices", "choices": ["neglect", "abuse", "other"]},
    {"key": "location", "type": "text", "label": {"en": "Home area"}},
    {"key": "child.age_estimate", "type": "integer"},
    {"key": "notes", "type": "longtext", "label": {"en": "Child's name"}},
    {"key": "siblings", "type": "list", "label": {"en": "Brothers and sisters"}, "item": [{"key": "name", "type": "text"}]},
]})


def errors(found) -> list[tuple[str, str]]:
    return [(e.field, e.reason) for e in found]


def test_heading_key():
    assert sh.heading_key("  D.O.B ") == "d o b"
    assert sh.heading_key("Child_Name (full)") == "child name full"
    assert sh.heading_key("Jina la Mtoto") == "jina la mtoto"
    assert sh.heading_key(None) == "" and sh.heading_key(2024) == "2024"
    assert sh.heading_key("Ñame") == "ñame"


def test_common_headings_and_values():
    assert sh.AT == "at"
    assert sh.COMMON["date of admission"] == "at" and sh.COMMON["d o b"] == "child.date_of_birth"
    assert sh.COMMON_VALUES["child.sex"]["mke"] == "female" and sh.COMMON_VALUES["child.disability"]["ndiyo"] == "yes"
    assert sh.MAPPING_KEYS == ("columns", "values", "defaults", "date_format", "sheet")


# --- the mapping file ---------------------------------------------------------------------------------

def test_parse_mapping__none_is_the_empty_mapping():
    mapping, errs = sh.parse_mapping(None)
    assert errs == [] and mapping == sh.ColumnMapping()
    assert (mapping.columns, mapping.values, mapping.defaults, mapping.date_format, mapping.sheet) == ({}, {}, {}, None, None)


def test_parse_mapping__a_sound_one():
    mapping, errs = sh.parse_mapping({"columns": {"Jina": "child.name", "Skip": "", "Gone": None, 5: "notes"},
                                      "values": {"child.sex": {"F (girl)": "female", "M": 1}},
                                      "defaults": {"identified_by": "authority"}, "date_format": "%d/%m/%Y", "sheet": 2024})
    assert errs == []
    assert mapping.columns == {"Jina": "child.name", "5": "notes"}
    assert mapping.values == {"child.sex": {"f girl": "female", "m": "1"}}
    assert mapping.defaults == {"identified_by": "authority"}
    assert (mapping.date_format, mapping.sheet) == ("%d/%m/%Y", "2024")
    assert sh.parse_mapping({"sheet": ""})[0].sheet is None


def test_parse_mapping__each_error_names_its_key():
    assert errors(sh.parse_mapping([])[1]) == [("mapping", "must be a mapping with columns, values, defaults, date_format, sheet")]
    assert errors(sh.parse_mapping({"colums": {}, "other": 1})[1]) == [
        ("mapping", "has a key that is not one of: columns, values, defaults, date_format, sheet")]
    mapping, errs = sh.parse_mapping({"columns": ["a"], "values": "x", "defaults": 3, "date_format": "dd/mm"})
    assert mapping == sh.ColumnMapping()
    assert errors(errs) == [("mapping: columns", "must be a mapping (key: value)"), ("mapping: values", "must be a mapping (key: value)"),
                            ("mapping: defaults", "must be a mapping (key: value)"),
                            ("mapping: date_format", "must be a strftime pattern such as %d/%m/%Y")]
    assert errors(sh.parse_mapping({"values": {"child.sex": "female"}})[1]) == [
        ("mapping: values", "each field's entry must map a cell as written to the form's word")]
    assert errors(sh.parse_mapping({"date_format": 5})[1]) == [("mapping: date_format", "must be a strftime pattern such as %d/%m/%Y")]


# --- which column is which field -------------------------------------------------------------------------

def test_field_keys__every_field_but_a_list_and_the_date():
    assert sh.field_keys(FORM) == {"child.name", "child.sex", "child.date_of_birth", "child.disability", "concerns", "location",
                                   "child.age_estimate", "notes", "at"}


def test_plan_columns__by_key_label_common_heading_and_mapping():
    headers = ["Jina la Mtoto", "SEX", "D.O.B", "Date of admission", "Home area", None, "Other column", "child.age_estimate",
               "Mystery"]
    mapping = sh.parse_mapping({"columns": {"Mystery": "concerns"}})[0]
    plan, unmapped, errs = sh.plan_columns(headers, mapping, FORM)
    assert plan == {0: "child.name", 1: "child.sex", 2: "child.date_of_birth", 3: "at", 4: "location", 7: "child.age_estimate",
                    8: "concerns"}
    assert unmapped == ["Other column"]
    assert errs == []


def test_plan_columns__the_first_label_wins_and_a_key_before_any_label():
    # "Child's name" is the label of child.name and of notes: the first field keeps it
    plan = sh.plan_columns(["Child's name", "notes"], sh.ColumnMapping(), FORM)[0]
    assert plan == {0: "child.name", 1: "notes"}
    # a common heading never takes a heading a field already has, nor maps to a field the form lacks
    plan, unmapped, _ = sh.plan_columns(["Phone", "Gender"], sh.ColumnMapping(), FORM)
    assert plan == {1: "child.sex"} and unmapped == ["Phone"]


def test_plan_columns__a_list_fields_label_maps_no_column():
    """A list field (rows of its own) cannot come from one cell: a column under its label is
    left unmapped and reported, as the mapping could not name it either."""
    plan, unmapped, errs = sh.plan_columns(["Brothers and sisters", "Sex"], sh.ColumnMapping(), FORM)
    assert plan == {1: "child.sex"} and unmapped == ["Brothers and sisters"] and errs == []


def test_plan_columns__the_mapping_overrides_what_a_heading_would_map_to():
    mapping = sh.parse_mapping({"columns": {"Sex": "notes"}})[0]
    assert sh.plan_columns(["Sex"], mapping, FORM)[0] == {0: "notes"}


def test_plan_columns__errors_of_the_mapping_and_of_the_sheet():
    mapping = sh.parse_mapping({"columns": {"Jina": "child.nam", "Kwa": "Not A Field!", "Absent": "notes"},
                                "defaults": {"identified_by": "x", "location": "y"}})[0]
    plan, unmapped, errs = sh.plan_columns(["Jina", "Kwa", "Name", "Child name"], mapping, FORM)
    assert errors(errs) == [
        ("mapping: columns: Jina", "maps to 'child.nam', which is not a registration field or 'at' (cpcm form blank registration "
                                   "lists them)"),
        ("mapping: columns: Kwa", "maps to something that is not a registration field or 'at'"),
        ("mapping: columns: Absent", "names a column the sheet does not have"),
        ("column Child name", "maps to 'child.name' as column Name does: map one of them elsewhere in the mapping file, or to nothing"),
        ("mapping: defaults", "names a field that is not a registration field"),
    ]
    assert plan == {0: "child.nam", 1: "Not A Field!", 2: "child.name"} and unmapped == []


def test_plan_columns__a_heading_the_mapping_maps_to_nothing_is_left_out():
    """`Gender: ~` where the register has Sex too: the duplicate's error said to map one 'to nothing',
    and mapping it to nothing still mapped it by itself."""
    mapping = sh.parse_mapping({"columns": {"Gender": None, "Remarks": ""}})[0]
    assert mapping.columns == {} and mapping.left_out == {"gender", "remarks"}
    assert sh.plan_columns(["Sex", "GENDER", "Remarks"], mapping, FORM) == ({0: "child.sex"}, ["GENDER", "Remarks"], [])


def test_near_headings__a_slip_for_the_heading_of_a_field_no_column_holds():
    headers = ["Name", "Gendre", "Hom area", "Shoe size", "Borm", "Sexx"]
    plan, unmapped, _ = sh.plan_columns(headers, sh.ColumnMapping(), FORM)
    assert unmapped == ["Gendre", "Hom area", "Shoe size", "Borm", "Sexx"]
    assert errors(sh.near_headings(headers, unmapped, plan, sh.ColumnMapping(), FORM)) == [  # by place, never the heading
        ("column 2 (B)", "is not imported: no field has that heading; did you mean 'gender' (child.sex)?"),
        ("column 3 (C)", "is not imported: no field has that heading; did you mean 'home area' (location)?"),
        ("column 6 (F)", "is not imported: no field has that heading; did you mean 'sex' (child.sex)?")]
    # a field a column holds already is meant by none; nor is a heading the mapping leaves out
    headers = ["Name", "Sex", "Sexx", "Gendre"]
    plan, unmapped, _ = sh.plan_columns(headers, sh.ColumnMapping(), FORM)
    assert sh.near_headings(headers, unmapped, plan, sh.ColumnMapping(), FORM) == []
    left_out = sh.parse_mapping({"columns": {"Gendre": None}})[0]
    plan, unmapped, _ = sh.plan_columns(["Name", "Gendre"], left_out, FORM)
    assert unmapped == ["Gendre"] and sh.near_headings(["Name", "Gendre"], unmapped, plan, left_out, FORM) == []


def test_column_place():
    assert [sh.column_place(i) for i in (0, 11, 25, 26, 27, 701, 702)] == [
        "column 1 (A)", "column 12 (L)", "column 26 (Z)", "column 27 (AA)", "column 28 (AB)", "column 702 (ZZ)", "column 703 (AAA)"]


def test_plan_columns__a_long_key_is_not_repeated():
    mapping = sh.parse_mapping({"columns": {"A": "a" * 61}})[0]
    assert errors(sh.plan_columns(["A"], mapping, FORM)[2]) == [
        ("mapping: columns: A", "maps to something that is not a registration field or 'at'")]
    mapping = sh.parse_mapping({"columns": {"A": "a" * 60}})[0]
    assert errors(sh.plan_columns(["A"], mapping, FORM)[2])[0][1].startswith("maps to '")


# --- cells --------------------------------------------------------------------------------------------

M = sh.parse_mapping({"values": {"child.sex": {"Msichana": "female"}, "concerns": {"Ukatili": "abuse"}},
                      "date_format": "%d/%m/%Y"})[0]


def test_cell_value__empty_cells():
    for empty in (None, "", "   "):
        assert sh.cell_value(empty, "child.name", FORM, M) == (None, None)
    assert sh.cell_value(0, "child.age_estimate", FORM, M) == (0, None)


def test_cell_value__numbers_text_and_dates_in_a_text_field():
    assert sh.cell_value(12.0, "child.age_estimate", FORM, M) == (12, None)
    assert type(sh.cell_value(12.0, "child.age_estimate", FORM, M)[0]) is int
    assert sh.cell_value(12.5, "child.age_estimate", FORM, M) == (12.5, None)
    assert sh.cell_value(" Amina ", "child.name", FORM, M) == (" Amina ", None)
    assert sh.cell_value(date(2020, 1, 2), "location", FORM, M) == ("2020-01-02", None)
    assert sh.cell_value(datetime(2020, 1, 2, 10, 0), "location", FORM, M) == ("2020-01-02", None)
    assert sh.cell_value("x", "unknown.field", FORM, M) == ("x", None)


def test_cell_value__choices_by_the_mapping_then_the_common_words():
    assert sh.cell_value(" Msichana ", "child.sex", FORM, M) == ("female", None)
    assert sh.cell_value("M", "child.sex", FORM, M) == ("male", None)
    assert sh.cell_value("Other", "child.sex", FORM, M) == ("Other", None)
    assert sh.cell_value("Ndiyo", "child.disability", FORM, M) == ("yes", None)
    assert sh.cell_value(" ? ", "child.disability", FORM, M) == ("unknown", None)  # a register's "don't know" mark
    assert sh.cell_value("M", "child.sex", FORM, sh.parse_mapping({"values": {"child.sex": {"m": "female"}}})[0]) == ("female", None)
    assert sh.cell_value("Ukatili; neglect, , x/ y ", "concerns", FORM, M) == (["abuse", "neglect", "x", "y"], None)


def test_cell_value__dates():
    assert sh.cell_value("2020-01-02", "child.date_of_birth", FORM, M) == (date(2020, 1, 2), None)
    assert sh.cell_value("2020-01-02T10:00", "at", FORM, M) == (date(2020, 1, 2), None)
    assert sh.cell_value("02/01/2020", "at", FORM, M) == (date(2020, 1, 2), None)
    assert sh.cell_value(datetime(2020, 1, 2, 23, 0), "at", FORM, M) == (date(2020, 1, 2), None)
    assert sh.cell_value(date(2020, 1, 2), "at", FORM, M) == (date(2020, 1, 2), None)
    assert sh.cell_value("2 Jan", "at", FORM, M) == (None, "is not a date in the mapping's date_format, nor YYYY-MM-DD")
    assert sh.cell_value("02/01/2020", "at", FORM, sh.ColumnMapping()) == (
        None, "is not a date (YYYY-MM-DD; for another way of writing dates set date_format in the mapping)")
    assert sh.cell_value(" 02/01/2020 ", "at", FORM, M) == (date(2020, 1, 2), None)


def test_cell_value__a_date_written_the_registers_way_that_names_no_day_is_said_so_as_a_forms_date_field_says_it():
    """2013-02-31 (YYYY-MM-DD, always read) or 31/02/2013 under %d/%m/%Y was told to set a
    date_format, or that it is not in the date_format: it is, and the day is what to check."""
    from cpcm.domain.forms import not_a_calendar_date, not_a_date

    iso = not_a_date("2013-02-31")
    assert iso == not_a_calendar_date() and "check the day and the month" in iso
    for mapping in (sh.ColumnMapping(), M):
        assert sh.cell_value("2013-02-31", "child.date_of_birth", FORM, mapping) == (None, iso)
        assert sh.cell_value("2026-13-01", "at", FORM, mapping) == (None, iso)
    in_format = not_a_calendar_date("of the mapping's date_format \"%d/%m/%Y\"")
    assert sh.cell_value("31/02/2013", "child.date_of_birth", FORM, M) == (None, in_format)
    assert sh.cell_value("15/13/2026", "at", FORM, M) == (None, in_format)
    # read the other way round, it is a date: that is said instead; not the register's shape: as before
    assert sh.cell_value("01/13/2026", "at", FORM, M)[1].endswith("write it as the rest of the register is written")
    assert sh.cell_value("31-02-2013", "at", FORM, M) == (None, "is not a date in the mapping's date_format, nor YYYY-MM-DD")
    assert sh.in_shape("1/2/13", "%d/%m/%y") and not sh.in_shape("31 Feb 2013", "%d %b %Y")
    # a mapping whose format is shaped as YYYY-DD-MM reads its dates first: the calendar check is for what it cannot read
    swapped = sh.ColumnMapping(date_format="%Y-%d-%m")
    assert sh.cell_value("2013-25-02", "child.date_of_birth", FORM, swapped) == (date(2013, 2, 25), None)
    assert sh.cell_value("2013-05-02", "child.date_of_birth", FORM, swapped) == (date(2013, 2, 5), None)  # its format, not ISO
    assert sh.cell_value("2013-05-02", "child.date_of_birth", FORM, sh.ColumnMapping()) == (date(2013, 5, 2), None)
    said = sh.cell_value("2013-31-02", "child.date_of_birth", FORM, swapped)[1]  # no day: said in the mapping's shape
    assert "of the mapping's date_format" in said and "YYYY-MM-DD" not in said, said


# --- rows -----------------------------------------------------------------------------------------------

def test_rows__documents_dates_and_errors_by_column():
    headers = ["Name", "Sex", "Admitted", "Age", "Blank"]
    mapping = sh.parse_mapping({"defaults": {"identified_by": "authority", "child.sex": "female"}, "date_format": "%d/%m/%Y"})[0]
    plan = {0: "child.name", 1: "child.sex", 2: "at", 3: "child.age_estimate"}
    cells = [
        ["Amina", "M", "02/01/2020", 12.0],
        [None, "  ", None, None, None],
        ["Baraka", None, "soon"],
        ["", "", "", "", "x"],
    ]
    found = list(sh.rows(headers, cells, plan, mapping, FORM))
    assert [(r.number, r.document, r.at, dict(r.columns), errors(r.errors)) for r in found] == [
        (2, {"identified_by": "authority", "child": {"sex": "male", "name": "Amina", "age_estimate": 12}}, date(2020, 1, 2),
         {"child.name": "Name", "child.sex": "Sex", "at": "Admitted", "child.age_estimate": "Age"}, []),
        (4, {"identified_by": "authority", "child": {"sex": "female", "name": "Baraka"}}, None,
         {"child.name": "Name", "child.sex": "Sex", "at": "Admitted", "child.age_estimate": "Age"},
         [("column Admitted", "is not a date in the mapping's date_format, nor YYYY-MM-DD")]),
    ]  # row 5 has a cell only in a column not imported: no child
    assert [r.unread_dates for r in found] == [(), (2,)]
    assert [r.number for r in sh.rows(headers, cells, plan, mapping, FORM, first_number=10)] == [10, 12]
    assert list(sh.rows(headers, [], plan, mapping, FORM)) == []


def test_plan_columns__a_fields_key_as_heading_whatever_its_label():
    assert sh.plan_columns(["Child.Name", "AT"], sh.ColumnMapping(), FORM)[0] == {0: "child.name", 1: "at"}


def test_plan_columns__columns_after_a_duplicate_still_map():
    plan, unmapped, errs = sh.plan_columns(["Name", "Child name", "Sex", "Other"], sh.ColumnMapping(), FORM)
    assert plan == {0: "child.name", 2: "child.sex"} and unmapped == ["Other"] and len(errs) == 1


def test_plan_columns__defaults_that_are_fields_are_no_error():
    mapping = sh.parse_mapping({"defaults": {"location": "y", "child.sex": "female"}})[0]
    assert sh.plan_columns(["Name"], mapping, FORM)[2] == []


def test_cell_value__the_common_words_in_a_list_of_choices():
    form = parse_form({"kind": "registration", "fields": [
        {"key": "child.disability", "type": "choices", "choices": ["yes", "no", "unknown"]}]})
    assert sh.cell_value("Ndiyo; Hapana", "child.disability", form, sh.ColumnMapping()) == (["yes", "no"], None)


def test_missing_columns__a_required_field_no_column_holds_and_no_default_gives_is_named_once():
    form = parse_form({"kind": "registration", "lists": {"sex": ["female", "male"]}, "fields": [
        {"key": "child.name", "type": "text", "required": True, "label": {"en": "Child's name"}},
        {"key": "child.sex", "type": "choice", "list": "sex", "required": True, "label": {"en": "Sex"}},
        {"key": "risk", "type": "text", "required": True, "label": {"en": "Risk"}},
        {"key": "consent.child", "type": "text", "required": True},
        {"key": "notes", "type": "text"},
    ]})
    mapping = sh.parse_mapping({"defaults": {"risk": "low", "consent.child": ""}})[0]
    assert errors(sh.missing_columns({0: "child.name", 3: "notes"}, mapping, form)) == [
        ("child.sex", "is required (Sex) and no column holds it"),
        ("consent.child", "is required (consent.child) and no column holds it")]
    assert sh.missing_columns({0: "child.name", 1: "child.sex", 2: "consent.child"}, mapping, form) == []


def test_missing_columns__a_rule_one_of_whose_fields_is_required_and_none_is_held():
    form = parse_form({"kind": "registration", "fields": [
        {"key": "child.date_of_birth", "type": "date"}, {"key": "child.age_estimate", "type": "integer"}],
        "rules": [{"require_one_of": ["child.date_of_birth", "child.age_estimate"], "message": "give a birth date or an age"}]})
    assert errors(sh.missing_columns({}, sh.ColumnMapping(), form)) == [
        ("child.date_of_birth", "give a birth date or an age, and no column holds any of: child.date_of_birth, child.age_estimate")]
    assert sh.missing_columns({4: "child.age_estimate"}, sh.ColumnMapping(), form) == []
    assert sh.missing_columns({}, sh.parse_mapping({"defaults": {"child.age_estimate": 9}})[0], form) == []
    advised = parse_form({"kind": "registration", "fields": form_fields(form),
                          "rules": [{"require_one_of": ["child.date_of_birth", "child.age_estimate"], "advise": True}]})
    assert sh.missing_columns({}, sh.ColumnMapping(), advised) == []  # a rule that only warns refuses no import


def form_fields(form) -> list[dict]:
    return [{"key": f.key, "type": f.type} for f in form.fields]


def test_holds_a_child__a_cell_in_a_column_imported():
    """A register numbered in advance: lines with only their number (a column not imported) are
    no children, where each was checked as one and refused for every field it lacked."""
    plan = {1: "child.name", 2: "child.sex"}
    assert sh.holds_a_child(["7", "Amina", ""], plan) and sh.holds_a_child(["", "", "F"], plan)
    assert not sh.holds_a_child(["7", "", " "], plan) and not sh.holds_a_child(["7"], plan) and not sh.holds_a_child([], plan)
    assert sh.holds_a_child(["7", None, None], {}) and not sh.holds_a_child([" ", None], {})  # no plan: any cell
    assert sh.blank(None) and sh.blank("  ") and not sh.blank(0) and not sh.blank("x")
    lines = [["1", "Amina", "F"], ["2", "", ""], ["3", None, None], ["4", "Baraka", "M"]]
    assert [r.number for r in sh.rows(["No.", "Name", "Sex"], lines, plan, sh.ColumnMapping(), FORM)] == [2, 5]


# -- a column of dates the mapping reads wrong -------------------------------------------------------------
def misread(column: list, date_format: str | None = "%m/%d/%Y") -> dict[int, FieldError]:
    """misread_date_columns of a register whose only imported columns are a name and `column` (at)."""
    mapping = sh.parse_mapping({"date_format": date_format} if date_format else {})[0]
    plan = {0: "child.name", 1: "at"}
    cells = [[f"Child {n}", value] for n, value in enumerate(column)]
    unread = {1: [row.number for row in sh.rows(["Name", "Admitted"], cells, plan, mapping, FORM) if row.unread_dates]}
    return sh.misread_date_columns(["Name", "Admitted"], cells, plan, mapping, unread)


def test_misread_date_columns__the_format_that_reads_them_all():
    found = misread(["13/01/2020", "14/02/2020", "15/03/2020", "16/04/2020", "17/05/2020", "18/06/2020", "01/07/2020",
                     date(2020, 1, 1), "2020-02-02", ""])
    assert errors(found.values()) == [("column Admitted", "6 of its 9 dates did not read as the mapping's date_format "
                                       "\"%m/%d/%Y\" nor as YYYY-MM-DD (rows 2, 3, 4, 5, 6, …); every one reads as %d/%m/%Y: "
                                       "set date_format: \"%d/%m/%Y\" in the mapping file if that is how it writes them; "
                                       "the 1 that did read may have been read wrong by it")]
    assert list(found) == [1]


def test_misread_date_columns__two_formats_read_them_all_and_none_does():
    both = misread([f"0{n}/0{n + 1}/2020" for n in range(1, 8)], None)  # day and month both 12 or less: either way round
    assert errors(both.values())[0][1] == (
        "7 of its 7 dates did not read as YYYY-MM-DD, and the mapping sets no date_format (rows 2, 3, 4, 5, 6, …); every one "
        "reads as %d/%m/%Y and as %m/%d/%Y: set date_format in the mapping file to the one it writes them in")
    none = misread(["soon", "later", "never", "31/02/2020", "32/01/2020", "x", "y", "2020-01-01"], "%d/%m/%Y")
    assert errors(none.values())[0][1] == (
        "7 of its 8 dates did not read as the mapping's date_format \"%d/%m/%Y\" nor as YYYY-MM-DD (rows 2, 3, 4, 5, 6, …); "
        "set date_format in the mapping file to how this column writes its dates (%d the day, %m the month, %Y the year: "
        "\"%d/%m/%Y\" reads 14/03/2014)")


def test_misread_date_columns__a_date_format_stated_on_the_command_line_is_named_so():
    """--date-format replaces the mapping's date_format: the error names it, and says to change it, not the mapping."""
    mapping = sh.parse_mapping({"date_format": "%m/%d/%Y"})[0]
    cells = [[f"Child {n}", f"{13 + n}/01/2020"] for n in range(6)]
    found = sh.misread_date_columns(["Name", "Admitted"], cells, {0: "child.name", 1: "at"}, mapping, {1: [2, 3, 4, 5, 6, 7]}, True)
    assert found[1].reason == ("6 of its 6 dates did not read as --date-format \"%m/%d/%Y\" nor as YYYY-MM-DD (rows 2, 3, 4, 5, "
                               "6, …); every one reads as %d/%m/%Y: run the import with --date-format \"%d/%m/%Y\" if that is "
                               "how it writes them")


def test_misread_date_columns__a_few_bad_dates_or_fewer_than_half_with_no_format_are_no_column_error():
    assert misread(["13/01/2020"] * 5 + ["2020-01-01"] * 2) == {}  # five: each named by its row
    assert misread(["31/02/2020", "32/01/2020", "x", "y", "z", "w"] + ["01/02/2020"] * 7) == {}  # six of 13, no format fits all
    assert misread(["13/01/2020"] * 6 + ["01/02/2020"] * 20) != {}  # fewer than half, but one format reads them all
    assert misread(["14/03/14"] * 6, "%Y-%m-%d")[1].reason.count("every one reads as %d/%m/%y:") == 1  # not %d/%m/%Y: year 14


def test_format_shown__codes_and_separators_only():
    assert sh.format_shown("%d/%m/%Y") == '"%d/%m/%Y"' and sh.format_shown("%d %B %Y, %H:%M") == '"%d %B %Y, %H:%M"'
    assert sh.format_shown("%d/%m/%Y Amina") == "(not shown)" and sh.format_shown("%d" * 30) == "(not shown)"


def test_register_lines__what_the_cells_say_however_the_file_was_saved():
    lines = [["Name", "Born", "Age", "", None], ["  A\r\nB ", datetime(2014, 3, 14), 12.0, "", ""], ["", None, " "],
             ["C", date(2014, 3, 14), 12.5, True], [None, None, None]]
    assert sh.register_lines(lines[0], lines[1:]) == [["Name", "Born", "Age"], ["A\nB", "2014-03-14", "12"],
                                                      ["C", "2014-03-14", "12.5", "TRUE"]]
    assert sh.register_lines(["A", "B"], [["x", "y"]]) == [["A", "B"], ["x", "y"]]  # a clean sheet: its cells as read
    assert sh.register_lines(["A"], [["", "x"]]) == [["A"], ["", "x"]]  # an empty cell before one that is not: kept
    assert sh.register_lines([], []) == []


# -- a column of dates that reads two ways (day and month swapped) -----------------------------------------
TODAY = date(2026, 11, 23)


def two_way(born: list, admitted: list, date_format: str | None = "%m/%d/%Y") -> dict[int, sh.TwoReadings]:
    """two_way_date_columns of a register of a name, a date of birth and a date of admission."""
    mapping = sh.parse_mapping({"date_format": date_format} if date_format else {})[0]
    plan = {0: "child.name", 1: "child.date_of_birth", 2: "at"}
    cells = [[f"Child {n}", b, a] for n, (b, a) in enumerate(zip(born, admitted))]
    return sh.two_way_date_columns(["Name", "DOB", "Admitted"], cells, plan, mapping, FORM, TODAY)


def test_swapped_format():
    assert sh.swapped_format("%d/%m/%Y") == "%m/%d/%Y" and sh.swapped_format("%m-%d-%y") == "%d-%m-%y"
    assert sh.swapped_format("%Y.%m.%d") == "%Y.%d.%m" and sh.swapped_format("%%d %m/%d/%Y") == "%%d %d/%m/%Y"
    assert sh.swapped_format("%d %B %Y") is None and sh.swapped_format("%d/%m") == "%m/%d"


def test_two_way_date_columns__every_day_12_or_less_is_said_with_the_rows_that_read_differently():
    """A register written day first, every day the 12th or before, read with %m/%d/%Y: every date
    read, every one moved by months, and nothing said. Now each column is named, with the rows
    whose date reads differently the other way round (05/05 reads the same)."""
    born = ["03/04/2014", "05/05/2012", "12/01/2016", date(2013, 7, 20), "2015-08-30", ""]
    admitted = ["01/02/2025", "02/01/2025", "03/03/2025", "04/05/2025", "10/11/2025", "06/07/2025"]
    found = two_way(born, admitted)
    assert list(found) == [1, 2]
    dob, at = found[1], found[2]
    assert (dob.column, dob.used, dob.other, dob.dates, dob.differ) == ("DOB", "%m/%d/%Y", "%d/%m/%Y", 5, (2, 4))
    assert (at.dates, at.differ) == (6, (2, 3, 5, 6, 7))
    assert dob.against_used == dob.against_other == ()
    assert dob.reason(stated=False) == (
        "each of its dates reads both as \"%m/%d/%Y\", the date_format used, and as \"%d/%m/%Y\", day and month swapped; "
        "2 of its 5 dates read differently (rows 2, 4); say which is right: run the import with --date-format \"%m/%d/%Y\" "
        "if that is how the register writes its dates, or with --date-format \"%d/%m/%Y\" if it writes them the other way")
    assert dob.reason(stated=True).endswith("rows 2, 4); read as \"%m/%d/%Y\", as --date-format states")


def test_two_way_date_columns__a_date_of_birth_after_admission_or_in_the_future_one_way_only_is_said():
    """Born 10 January 2024 and admitted 3 February 2024, written day first and read month first:
    born 1 October, admitted 2 March, before the birth. Read the other way it is not: strong
    evidence of which is right, and said (row numbers and formats only)."""
    found = two_way(["10/01/2024", "03/04/2014", "01/12/2026"], ["03/02/2024", "01/02/2025", "11/11/2026"])
    assert found[1].against_used == (2,) and found[1].against_other == (4,)  # row 4 read day first: born 1 December 2026, after today
    late = two_way(["10/01/2024", "03/04/2014"], ["03/02/2024", "01/02/2025"])[1]
    assert (late.against_used, late.against_other) == ((2,), ())
    assert ("; read as \"%m/%d/%Y\", row 2 has a date of birth after the date of admission, or a date in the future, and "
            "read as \"%d/%m/%Y\" none has: the register is most likely written \"%d/%m/%Y\"; say which is right") in late.reason(False)
    right = two_way(["10/01/2024", "03/04/2014"], ["03/02/2024", "01/02/2025"], "%d/%m/%Y")[1]  # the same, read day first
    assert (right.against_used, right.against_other) == ((), (2,))
    assert "read as \"%m/%d/%Y\", row 2 would have a date of birth after" in right.reason(False)
    assert "\"%d/%m/%Y\" is most likely right" in right.reason(False)
    future = two_way(["03/04/2014"], ["12/01/2026"])  # 1 December 2026 read month first: after today
    assert future[2].against_used == (2,)


def test_two_way_date_columns__nothing_when_the_dates_say_which_way_or_there_is_no_other_way():
    assert two_way(["03/04/2014", "13/01/2012"], ["01/02/2025", "02/01/2025"], "%d/%m/%Y") == {}  # 13/01: day first, every column
    assert two_way(["03/04/2014", "05/06/2012"], ["01/02/2025", "01/30/2025"]) == {}  # 01/30: month first, settles the DOB too
    assert two_way(["05/05/2014", "2012-01-02", date(2011, 3, 4)], ["01/01/2025", "", "12/12/2025"]) == {}  # the same either way
    assert two_way(["03/04/2014"], ["01/02/2025"], None) == {}  # no date_format: text dates are errors, not read
    assert two_way(["03 April 2014"], ["01 February 2025"], "%d %B %Y") == {}  # a month by its name has no other way
    # a column with a date that does not read is an error already; the other column is still said
    assert list(two_way(["03/04/2014", "14/03/2014"], ["01/02/2025", "02/01/2025"])) == [2]
