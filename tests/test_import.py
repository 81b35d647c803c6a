"""cpcm import cases / import template: a register in, one case a row, in one commit; any bad row
and nothing is written, every bad cell named (never its value); duplicates flagged."""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import zipfile
from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from conftest import CANARY as MARKER
from conftest import commit_count, git, git_status, lock_held, register, registration, stray_files

pytestmark = pytest.mark.e2e

CANARY = "Zawadi Canarywood"
HEADINGS = ["Name", "Sex", "DOB", "Date of admission", "Reason for admission", "Home area", "Lives with",
            "Identified by", "Risk", "Child consent", "Caregiver consent"]


def child(n: int) -> list:
    born = date(2010, 1, 1) + timedelta(days=17 * n)
    admitted = date(2024, 1, 1) + timedelta(days=n)
    return [f"Child Number{n:03d} Example", "F" if n % 2 else "M", born, admitted, "neglect" if n % 3 else "Abandonment; out of school",
            f"Ward {n % 7}", "institution", "authority", ("medium", "high", "low")[n % 3], "given", "not_possible"]


def spoil(rows: list[list]) -> dict[int, str]:
    """Three bad cells, each holding the canary (so no error may repeat it): {spreadsheet row: column}."""
    rows[4][1] = CANARY             # Sex
    rows[50][2] = CANARY            # DOB
    rows[120][8] = CANARY           # Risk
    return {6: "Sex", 52: "DOB", 122: "Risk"}


def write_xlsx(path, rows) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Register"
    sheet.append(HEADINGS)
    for row in rows:
        sheet.append(row)
    book.save(path)


def write_csv(path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADINGS)
        writer.writerows([v.isoformat() if isinstance(v, date) else v for v in row] for row in rows)


def test_a_sheet_named_after_a_child_is_named_by_its_place_never_its_name(cli, repo, tmp_env):
    """A workbook whose tabs are named after children: a wrong --sheet listed every tab's name,
    and each bad cell or probable duplicate was named 'sheet <name>, row N'."""
    openpyxl = pytest.importorskip("openpyxl")
    rows = [child(n) for n in range(3)]
    rows[1][1] = "not a sex"  # one bad cell: row 3
    book = openpyxl.Workbook()
    book.active.title = CANARY.split()[0]
    register_sheet = book.create_sheet(CANARY)
    register_sheet.append(HEADINGS)
    for row in rows:
        register_sheet.append(row)
    path = tmp_env / "register.xlsx"
    book.save(path)
    before = commit_count(repo)
    wrong = cli("import", "cases", str(path), "--sheet", "Nope")
    refused = cli("import", "cases", str(path), "--sheet", CANARY, "--json")
    assert wrong.code == 2 and "It has 2 sheet(s)" in wrong.stderr
    assert refused.code == 4 and "sheet 2, row 3: column Sex" in refused.stderr
    for result in (wrong, refused):
        assert not any(part in result.stderr + result.stdout for part in CANARY.split()), result.stderr
    assert commit_count(repo) == before


def case_count(cli) -> int:
    result = cli("list", "--json")
    assert result.code == 0, result.stderr
    return len(result.json())


@pytest.mark.parametrize("writer, suffix", [(write_xlsx, "xlsx"), (write_csv, "csv")])
def test_a_200_row_register_goes_in_whole_or_not_at_all(cli, repo, tmp_env, writer, suffix):
    rows = [child(n) for n in range(200)]
    bad = spoil(rows)
    path = tmp_env / f"register.{suffix}"
    writer(path, rows)
    before = commit_count(repo)

    refused = cli("import", "cases", str(path))
    assert refused.code == 4, refused.stderr
    for number, column in bad.items():
        assert f"row {number}: column {column}" in refused.stderr
    if suffix == "xlsx":
        assert "sheet 1, row 6" in refused.stderr and "Register" not in refused.stderr
    assert CANARY not in refused.stderr + refused.stdout
    assert commit_count(repo) == before and case_count(cli) == 0 and not stray_files(repo)

    rows = [child(n) for n in range(200)]
    writer(path, rows)
    checked = cli("import", "cases", str(path), "--dry-run", "--json")
    assert checked.code == 0, checked.stderr
    assert checked.json()["checked"] == 200 and checked.json()["imported"] == 0
    assert commit_count(repo) == before

    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["imported"] == 200
    assert commit_count(repo) == before + 1
    assert case_count(cli) == 200
    # each row became its case: the name, sex, birth date and admission date as the register gave them
    entry = next(e for e in done.json()["cases"] if e["row"] == 2 + 7)
    shown = cli("show", entry["case_id"], "--json").json()
    assert shown["child"]["name"] == "Child Number007 Example"
    assert shown["child"]["sex"] == "female"
    assert shown["child"]["date_of_birth"] == (date(2010, 1, 1) + timedelta(days=17 * 7)).isoformat()
    assert shown["registered_at"].startswith((date(2024, 1, 1) + timedelta(days=7)).isoformat())


def test_a_date_of_admission_is_midnight_in_the_agencys_zone_as_register_at_reads_it(cli, cli_as, tmp_env):
    """In Sao Paulo (UTC-03:00), "Date of admission: 2026-03-01" is the start of 1 March there,
    as `register --at 2026-03-01` reads it, not midnight UTC (21:00 on 28 February there); the
    date of birth stays a date."""
    assert cli_as("sup")("config", "set", "timezone", "America/Sao_Paulo").code == 0
    path = tmp_env / "register.csv"
    row = child(1)
    row[2], row[3] = date(2014, 3, 14), date(2026, 3, 1)
    write_csv(path, [row])
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    imported = done.json()["cases"][0]["case_id"]
    typed = register(cli, "--at", "2026-03-01", child={"name": "Another Child", "sex": "male", "date_of_birth": "2013-05-06"})
    shown, registered = (cli("show", case_id, "--json").json() for case_id in (imported, typed))
    assert shown["history"][0]["at"] == registered["history"][0]["at"] == "2026-03-01T00:00:00-03:00"
    assert shown["registered_at"] == "2026-03-01T00:00:00-03:00"
    assert shown["child"]["date_of_birth"] == "2014-03-14"
    assert "registered\t2026-03-01 00:00 -03:00" in cli("show", imported).stdout
    listed = {line.split("\t")[0]: line.split("\t")[7] for line in cli("list").stdout.splitlines()[1:]}
    assert listed == {imported: "2026-03-01", typed: "2026-03-01"}


def test_headings_map_by_name_and_by_the_mapping_file(cli, tmp_env):
    path = tmp_env / "register.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Jina la mtoto", "GENDER", "d.o.b.", "Admitted", "Why here", "Kijiji", "Stays with", "Found by",
                         "Risk level", "Child consent", "Caregiver consent", "Shoe size"])
        writer.writerow(["Amani Example", "Girl", "13/02/2013", "2025-01-05", "Orphaned", "Kondele", "relatives", "family", "high",
                         "given", "given", "32"])
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text("columns:\n  Admitted: at\n  Why here: concerns\n  Kijiji: location\n  Stays with: lives_with\n"
                       "  Found by: identified_by\nvalues:\n  concerns: {Orphaned: abandonment}\ndate_format: '%d/%m/%Y'\n")
    without = cli("import", "cases", str(path), "--json")
    assert without.code == 4
    assert "- location: is required (Where the child lives now" in without.stderr  # no column maps to it by itself
    assert "error: the register (1 row) is not valid" in without.stderr
    assert "and no column holds it" in without.stderr and "row 2: location" not in without.stderr
    assert "Kondele" not in without.stderr and "Amani" not in without.stderr
    done = cli("import", "cases", str(path), "--mapping", str(mapping), "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["columns"] == {"Jina la mtoto": "child.name", "GENDER": "child.sex", "d.o.b.": "child.date_of_birth", "Admitted": "at",
                                 "Why here": "concerns", "Kijiji": "location", "Stays with": "lives_with", "Found by": "identified_by",
                                 "Risk level": "risk", "Child consent": "consent.child", "Caregiver consent": "consent.caregiver"}
    assert result["not_imported"] == ["column 12 (L)"]  # by its place, never its heading
    shown = cli("show", result["cases"][0]["case_id"], "--json").json()
    assert shown["child"]["sex"] == "female" and shown["child"]["date_of_birth"] == "2013-02-13"
    assert shown["concerns"] == ["abandonment"]


def test_a_mapping_that_names_no_field_is_refused(cli, tmp_env):
    rows = [child(1)]
    path = tmp_env / "register.csv"
    write_csv(path, rows)
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text("columns:\n  Name: child.nmae\n  Missing column: notes\n")
    result = cli("import", "cases", str(path), "--mapping", str(mapping))
    assert result.code == 4
    assert "mapping: columns: Name" in result.stderr and "not a registration field" in result.stderr
    assert "mapping: columns: Missing column" in result.stderr and "the sheet does not have" in result.stderr
    assert "error: the mapping of the register's columns is not valid (2 problems)" in result.stderr, result.stderr


def test_one_row_imported_is_said_as_one_case(cli, tmp_env):
    path = tmp_env / "register.csv"
    write_csv(path, [child(1)])
    done = cli("import", "cases", str(path))
    assert done.code == 0 and "1 case registered in one commit" in done.stderr + done.stdout, done.stderr


def test_duplicates_are_flagged_against_the_repository_and_between_rows(cli, tmp_env):
    existing = register(cli, child={"name": "Child Number001 Example", "sex": "female", "date_of_birth": "2010-01-18"})
    rows = [child(1), child(2), child(1)]
    rows[2][5] = "Ward 9"  # the same child, maybe, elsewhere: not the same row (a row repeated is refused)
    path = tmp_env / "register.csv"
    write_csv(path, rows)
    text = cli("import", "cases", str(path), "--dry-run")
    assert f"row 2: possibly the same child as {existing}" in text.stderr
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    found = done.json()["possible_duplicates"]
    assert {"row": 2, "case_id": existing, "reason": "same or similar name and the same birth year"} in found
    assert {"row": 4, "row_before": 2, "reason": "possibly the same child"} in found


def test_a_row_of_a_child_whose_cases_were_merged_names_the_case_the_work_goes_on_in(cli, cli_as, tmp_env):
    """The child registered twice and the second merged into the first (merge-cases KEEP OTHER): a row of the child
    names KEEP, once, with OTHER merged into it; never OTHER, which is not merged again (as at cpcm register)."""
    same = {"name": "Child Number001 Example", "sex": "female", "date_of_birth": "2010-01-18"}
    keep, other = register(cli, child=same), register(cli, child=same)
    assert cli_as("sup")("merge-cases", keep, other).code == 0
    path = tmp_env / "register.csv"
    write_csv(path, [child(1)])
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    reason = "same or similar name and the same birth year"
    assert done.json()["possible_duplicates"] == [{"row": 2, "case_id": keep, "reason": reason, "through": [other]}]
    warned = [w for w in done.json()["warnings"] if "possibly the same child" in w]
    assert warned == [f"row 2: possibly the same child as {keep} ({reason}; {other} was merged into it)"], warned


def test_a_required_field_no_column_holds_is_named_once_not_once_a_row(cli, tmp_env):
    """A register with no consent, risk or 'lives with' column: each such field was named in
    every row (six lines a row: 240 for 40 children), the missing column never said."""
    headings = ["Name", "Sex", "DOB", "Date of admission", "Home area"]
    path = tmp_env / "register.csv"
    spreadsheet_csv(path, [headings] + [[f"Child Number{n:03d} Example", "F" if n else CANARY, "2014-01-01", "2026-01-01", "Kibera"]
                                        for n in range(40)])
    with open(path, "ab") as handle:  # the blank lines a spreadsheet leaves under its rows are no rows
        handle.write(b",,,,\r\n" * 3)
    result = cli("import", "cases", str(path), "--dry-run")
    assert result.code == 4 and "error: the register (40 rows) is not valid" in result.stderr
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("- ")]
    assert lines == [f"- {key}: is required ({label}) and no column holds it" for key, label in (
        ("lives_with", "Who the child lives with"), ("identified_by", "How the child was identified"),
        ("concerns", "Initial protection concerns"), ("risk", "Initial risk level"),
        ("consent.child", "Child's assent to registration"), ("consent.caregiver", "Caregiver's consent to registration"))] + [
        "- row 2: column Sex: is not one of: female, male, other, unknown; correct the cell, or, if the register writes one "
        "of them this way, say which under values: in the mapping file"]
    assert "name one for it under columns: in the mapping file" in result.stderr and CANARY not in result.stderr
    no_birth = tmp_env / "no-birth.csv"  # neither a date of birth nor an age: said once too
    spreadsheet_csv(no_birth, [["Name", "Sex", "Home area"]] + [[f"Child Number{n:03d} Example", "F", "Kibera"] for n in range(40)])
    result = cli("import", "cases", str(no_birth), "--dry-run")
    assert result.code == 4 and "is not valid (7 problems)" in result.stderr, result.stderr  # six fields, and the rule once
    assert "- child.date_of_birth: give the date of birth or, when it is not known, an estimated age, and no column holds any of: " \
           "child.date_of_birth, child.age_estimate" in result.stderr
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text("defaults: {lives_with: institution, identified_by: authority, concerns: [neglect], risk: medium,\n"
                       "           consent.child: given, consent.caregiver: not_possible}\n")
    spreadsheet_csv(path, [headings] + [[f"Child Number{n:03d} Example", "F", "2014-01-01", "2026-01-01", "Kibera"] for n in range(40)])
    assert cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run").code == 0



def test_a_register_typed_by_hand_is_told_what_to_do_with_each_cell_never_its_value(cli, repo, tmp_env):
    """A register typed by hand: a date of birth typed month first in a register written day
    first, a year of birth alone, a sex and a concern in the register's own words. Each was named
    (row, column) with no way out: a date 'not a date in the date_format' (which reads the other way
    round), a year 'not a date' (the estimated age is the field for it), a word 'not one of' the
    list (when the mapping's values: is where the register's words are said). Kiswahili 'msichana'
    and 'mvulana' read as girl and boy, as 'kike' and 'kiume' do."""
    headings = ["Name", "Sex", "DOB", "Age", "Date of admission", "Reason for admission", "Home area", "Lives with",
                "Identified by", "Risk", "Child consent", "Caregiver consent"]
    def line(name, sex="F", dob="14/03/2015", age="", concern="neglect"):
        return [name, sex, dob, age, "02/09/2026", concern, "Manyatta", "institution", "authority", "medium", "given", "not_possible"]
    rows = [line("Baraka Ouma", "mvulana"), line("Zawadi Kiprono", "msichana", "03/14/2015"), line("Halima Said", dob="2012"),
            line(CANARY, "Qjxleak"), line("Neema Chebet", concern="Vwzcanary"), line("Wanjiku Ng'ang'a")]
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text('date_format: "%d/%m/%Y"\n')
    path = tmp_env / "register.csv"
    saved_as(path, rows, delimiter=";", bom=True, headings=headings)
    result = cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run")
    assert result.code == 4, result.stderr
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("- ")]
    assert lines == [
        "- row 3: column DOB: is not a date in the mapping's date_format, nor YYYY-MM-DD; it reads with the day and the month "
        "the other way round: write it as the rest of the register is written",
        "- row 4: column DOB: is a year alone, not a date: write the whole date; when only the year of birth is known, leave "
        "it empty and give the estimated age in years (child.age_estimate: an Age column)",
        "- row 5: column Sex: is not one of: female, male, other, unknown; correct the cell, or, if the register writes one "
        "of them this way, say which under values: in the mapping file",
        "- row 6: column Reason for admission: is not one of: " + ", ".join(
            ["physical_abuse", "sexual_abuse", "emotional_abuse", "neglect", "abandonment", "separated_unaccompanied",
             "child_labour", "child_marriage", "female_genital_mutilation", "trafficking", "online_exploitation",
             "street_connected", "child_headed_household", "out_of_school", "conflict_with_the_law",
             "associated_with_armed_groups", "custody_dispute", "health_or_disability", "psychosocial_distress", "other"])
        + "; correct the cell, or, if the register writes one of them this way, say which under values: in the mapping file"]
    for typed in ("03/14/2015", "2012", "Qjxleak", "Vwzcanary", *CANARY.split()):
        assert typed.lower() not in result.stderr.lower(), typed
    rows[1][2], rows[2][2:4], rows[3][1], rows[4][5] = "14/03/2015", ["", "14"], "F", "neglect"
    saved_as(path, rows, delimiter=";", bom=True, headings=headings)
    done = cli("import", "cases", str(path), "--mapping", str(mapping), "--json")
    assert done.code == 0 and done.json()["imported"] == 6, done.stderr
    shown = cli("list", "--json").json()
    assert sorted(c["sex"] for c in shown) == ["female"] * 5 + ["male"]


def test_a_date_in_the_registers_way_that_names_no_day_is_said_to_be_one_not_another_way_of_writing(cli, repo, tmp_env):
    """A DOB 2013-02-31 and a date of admission 2026-13-01: each was 'not a date (YYYY-MM-DD; for
    another way of writing dates set date_format in the mapping)', though written YYYY-MM-DD. It
    is said as a form's date field says it (no such day: check the day and the month), and so is
    31/02/2013 in a register written %d/%m/%Y. The cells' values are never printed."""
    headings = ["Name", "Sex", "DOB", "Date of admission", "Reason for admission", "Home area", "Lives with",
                "Identified by", "Risk", "Child consent", "Caregiver consent"]

    def line(name, dob, admitted):
        return [name, "F", dob, admitted, "neglect", "Manyatta", "institution", "authority", "medium", "given", "not_possible"]

    calendar = ("is not a date of the calendar: it is in the shape YYYY-MM-DD, but that month has no such day (or there is "
                "no such month): check the day and the month")
    path = tmp_env / "register.csv"
    saved_as(path, [line("Baraka Ouma", "2013-02-31", "2026-09-02"), line("Zawadi Kiprono", "2013-02-28", "2026-13-01")],
             headings=headings)
    result = cli("import", "cases", str(path), "--dry-run")
    assert result.code == 4, result.stderr
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("- ")]
    assert lines == [f"- row 2: column DOB: {calendar}", f"- row 3: column Date of admission: {calendar}"], result.stderr
    assert "2013-02-31" not in result.stderr and "2026-13-01" not in result.stderr
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text('date_format: "%d/%m/%Y"\n')
    saved_as(path, [line("Baraka Ouma", "31/02/2013", "14/09/2026")], headings=headings)
    result = cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run")
    assert result.code == 4, result.stderr
    assert [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("- ")] == [
        "- row 2: column DOB: is not a date of the calendar: it is in the shape of the mapping's date_format \"%d/%m/%Y\", "
        "but that month has no such day (or there is no such month): check the day and the month"], result.stderr
    assert "31/02/2013" not in result.stderr


def test_a_title_line_above_the_headings_is_said_once(cli, tmp_env):
    """A register with its title on the first line: the title was read as the headings, and
    every required field was reported missing, the headings themselves as a child's row."""
    path = tmp_env / "register.csv"
    rows = [["TUMAINI CHILDREN'S HOME: REGISTER 2026"] + [""] * (len(HEADINGS) - 1), HEADINGS]
    rows += [[v.isoformat() if isinstance(v, date) else v for v in child(n)] for n in range(1, 4)]
    spreadsheet_csv(path, rows)
    result = cli("import", "cases", str(path), "--dry-run", "--json")
    assert result.code == 4
    assert result.json()["fields"] == [{"field": "row 1", "reason": "read as the headings, and none of its cells is a "
                                                                   "registration field's heading"}]
    assert "delete any title line above them" in result.json()["hint"]
    assert result.json()["message"].startswith("the register's heading row is not valid"), result.json()["message"]
    spreadsheet_csv(path, rows[1:])
    assert cli("import", "cases", str(path), "--dry-run").code == 0



def test_a_register_numbered_in_advance_imports_its_children_and_leaves_the_numbered_lines_out(cli, tmp_env):
    """A paper register's lines numbered 1 to 30 and five children written in: each empty
    numbered line was checked as a child and refused for every field it lacked (nine lines
    each), and nothing could be imported without deleting them."""
    rows = [["No."] + HEADINGS] + [[str(n)] + [v.isoformat() if isinstance(v, date) else v for v in child(n)] for n in range(1, 6)]
    rows += [[str(n)] + [""] * len(HEADINGS) for n in range(6, 31)]
    path = tmp_env / "register.csv"
    spreadsheet_csv(path, rows)
    checked = cli("import", "cases", str(path), "--dry-run")
    assert checked.code == 0, checked.stderr
    assert "warning: 25 row(s) left out, with nothing in the columns imported: rows 7, 8, 9, 10, 11, …" in checked.stderr
    assert "5 rows checked" in checked.stderr
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    made = [(c["row"], c["case_id"]) for c in done.json()["cases"]]
    assert [row for row, _ in made] == [2, 3, 4, 5, 6]
    again = cli("import", "cases", str(path), "--json")  # the cases it made, row by row, and nothing written
    assert again.code == 0 and again.json()["imported"] == 0
    assert [(c["row"], c["case_id"]) for c in again.json()["already_imported"]["cases"]] == made
    assert sorted(again.json()) == sorted(done.json())  # the same keys: a script reads a re-run as the first run


def test_the_template_imports_as_it_is(cli, tmp_env):
    out = tmp_env / "import"
    out.mkdir()
    made = cli("import", "template", "--out-dir", str(out), "--json")
    assert made.code == 0, made.stderr
    assert made.json() == {"written": [str((out / "mapping.yaml").resolve()), str((out / "register-example.csv").resolve())]}
    again = cli("import", "template", "--out-dir", str(out))
    assert again.code == 2  # never over a file without --force
    done = cli("import", "cases", str(out / "register-example.csv"), "--mapping", str(out / "mapping.yaml"), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["imported"] == 3



def test_the_template_is_never_written_in_the_repository_nor_its_folder_made_there(cli, repo, tmp_env):
    """--out-dir inside the casefile repository was refused only after the folder was made there."""
    inner = repo / "import" / "files"
    result = cli("import", "template", "--out-dir", str(inner))
    assert result.code == 4 and "never written inside the casefile repository" in result.stderr
    assert not (repo / "import").exists() and git_status(repo) == []


def test_an_ods_workbook(cli, tmp_env):
    """A minimal OpenDocument spreadsheet, as LibreOffice saves one."""
    rows = [HEADINGS, ["Child Ods Example", "F", "2012-05-01", "2025-01-02", "neglect", "Ward 1", "institution", "authority",
                       "medium", "given", "not_possible"]]

    def cell(value):
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>" for row in rows)
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="Watoto">{body}</table:table>'
               '</office:spreadsheet></office:body></office:document-content>')
    path = tmp_env / "register.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                         'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                         '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                         '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["imported"] == 1
    wrong_sheet = cli("import", "cases", str(path), "--sheet", "Nope")
    assert wrong_sheet.code == 2 and "It has 1 sheet(s)" in wrong_sheet.stderr and "Watoto" not in wrong_sheet.stderr


def test_no_child_data_in_plaintext_on_disk_or_in_git(cli, repo, tmp_env):
    rows = [child(1)]
    rows[0][0] = CANARY
    path = tmp_env / "register.csv"
    write_csv(path, rows)
    done = cli("import", "cases", str(path))
    assert done.code == 0, done.stderr
    for file in repo.rglob("*"):
        if file.is_file():
            assert CANARY.encode() not in file.read_bytes(), file
    for file in (tmp_env / "tmp").rglob("*"):
        assert not file.is_file() or CANARY.encode() not in file.read_bytes()


def test_a_file_that_is_not_a_register(cli, tmp_env):
    path = tmp_env / "register.xlsx"
    path.write_bytes(b"not a zip at all")
    result = cli("import", "cases", str(path))
    assert result.code == 2 and "cannot be read as a spreadsheet" in result.stderr
    other = tmp_env / "register.pdf"
    other.write_bytes(b"%PDF")
    assert cli("import", "cases", str(other)).code == 2



def spreadsheet_csv(path, rows, delimiter=",") -> list[list[str]]:
    """`rows` saved as a spreadsheet program saves CSV: a byte-order mark, CRLF line ends, a cell
    with the delimiter, a quote or a line break in quotes and its quotes doubled."""
    import io

    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    return rows


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_a_csv_file_is_read_with_a_spreadsheets_quoting_whatever_its_first_lines_hold(tmp_env, delimiter):
    """A quote typed in a cell, first met after the first 4 KiB, was read with its cell cut in two
    (the rest of the row moved one column on, silently); a tab-separated file with a line break
    in a cell was read as one column."""
    from cpcm.store import sheets

    headings = ["Name", "Sex", "Home area", "Remarks"]
    rows = [headings] + [[f"Child Number{n:03d} Example", "F", "Kibera, Nairobi", "ok"] for n in range(150)]
    rows += [["Otieno Ochieng'", "M", "Kisumu; Kondele", 'says "mama" visits, on Sundays; at 2pm'],
             ["Mũthoni Wairimũ", "F", "Githurai", "line one\nline two"], ["Amani Juma", "M", "Mombasa", ""]]
    path = tmp_env / "register.csv"
    spreadsheet_csv(path, rows, delimiter)
    assert path.stat().st_size > 4096
    read = sheets.read(path)
    assert read.headers == headings
    assert read.rows == rows[1:]
    short = tmp_env / "short.csv"  # a line break in a cell in the first lines
    spreadsheet_csv(short, [headings, ["Amani Juma", "M", "Mombasa", "line one\nline two"], ["Otieno", "M", "Kisumu", ""]], delimiter)
    assert sheets.read(short).rows == [["Amani Juma", "M", "Mombasa", "line one\nline two"], ["Otieno", "M", "Kisumu", ""]]


# -- the repository lock: taken to write, not to check --------------------------------------------
def test_a_dry_run_takes_no_lock(cli, repo, tmp_env):
    """Another command holds the lock (it writes): a dry run checks the register all the same."""
    path = tmp_env / "register.csv"
    write_csv(path, [child(n) for n in range(20)])
    with lock_held(repo):
        checked = cli("import", "cases", str(path), "--dry-run", "--json", env={"CPCM_LOCK_TIMEOUT": "1"})
        busy = cli("import", "cases", str(path), "--json", env={"CPCM_LOCK_TIMEOUT": "1"})
    assert checked.code == 0, checked.stderr
    assert checked.json()["checked"] == 20 and checked.json()["imported"] == 0
    assert busy.code == 6 and "busy" in busy.stderr  # the import itself waits for the lock to write
    assert case_count(cli) == 0


@contextmanager
def import_stopped_once_checked(cli, path):
    """`cpcm import cases PATH --json` stopped once its rows are checked, before it takes the lock
    (the process, stopped, for the block); it goes on when the block ends."""
    proc = cli.process("import", "cases", str(path), "--json", wait=False, env={"CPCM_TEST_PAUSE_AT": "import-checked"})
    proc.stdin.close()
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    try:
        assert os.WIFSTOPPED(status), f"the import ended before its write: {proc.stderr.read()}"
        yield proc
    finally:
        os.kill(proc.pid, signal.SIGCONT)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="stops a cpcm process between its checks and its write")
def test_others_write_while_an_import_checks_its_rows_and_it_checks_again_under_the_lock(cli, repo, tmp_env):
    """The import is stopped once its rows are checked, before it takes the lock: a registration
    goes in meanwhile without waiting, and the import, finding that the repository changed since
    it read it, checks its rows again under the lock, against that case too."""
    path = tmp_env / "register.csv"
    write_csv(path, [child(n) for n in (40, 80, 120)])
    before = commit_count(repo)
    with import_stopped_once_checked(cli, path) as proc:
        born = child(80)[2].isoformat()
        data = registration(child={"name": "Child Number080 Example", "sex": "female", "date_of_birth": born})
        registered = cli("register", "--from-file", "-", "--json", input=json.dumps(data), env={"CPCM_LOCK_TIMEOUT": "1"})
        assert registered.code == 0, registered.stderr
        meanwhile = registered.json()["case_id"]
    out, err = proc.stdout.read(), proc.stderr.read()
    assert proc.wait(timeout=300) == 0, err
    done = json.loads(out)
    assert done["imported"] == 3
    assert {"row": 3, "case_id": meanwhile, "reason": "same or similar name and the same birth year"} in done["possible_duplicates"]
    assert commit_count(repo) == before + 2
    assert re.fullmatch(r"import 3 cases \(register [0-9a-f]{24}\)", git(repo, "log", "-1", "--format=%s").strip())
    assert git_status(repo) == [] and not stray_files(repo)


# -- the same register again: after an import killed once its commit landed, or run twice ----------
def test_an_import_killed_after_its_commit_and_run_again_lists_its_cases_and_imports_nothing(cli, cli_as, repo, tmp_env):
    """Killed (kill -9) once its commit landed, before it printed the cases: the worker runs the
    same command again. It imported every row a second time (each flagged as a probable duplicate
    of the first). The commit names the register by a keyed digest, and the second run finds it:
    nothing is written, and the cases of the first run are listed row by row."""
    rows = [child(n) for n in range(6)]
    rows[2][0] = CANARY
    path = tmp_env / "register.csv"
    write_csv(path, rows)
    before = commit_count(repo)
    killed = cli.process("import", "cases", str(path), env={"CPCM_TEST_CRASH_AT": "git-update-ref-done"})
    assert killed.code == -signal.SIGKILL, killed.stderr
    assert commit_count(repo) == before + 1 and killed.stdout == ""  # the commit landed; nothing was printed
    message = git(repo, "log", "-1", "--format=%B").strip()
    assert message.startswith("import 6 cases (register ") and CANARY.split()[0] not in message

    again = cli("import", "cases", str(path), "--json")
    assert again.code == 0, again.stderr
    done = again.json()
    assert done["imported"] == 0 and not done["possible_duplicates"]
    assert commit_count(repo) == before + 1 and case_count(cli) == 6
    made = done["already_imported"]["cases"]
    assert [entry["row"] for entry in made] == [2, 3, 4, 5, 6, 7]
    for entry, row in zip(made, rows):  # each row, with the case it became
        assert cli("show", entry["case_id"], "--json").json()["child"]["name"] == row[0]
    said = cli("import", "cases", str(path))
    assert said.code == 0 and "this register was imported already: 6 cases in one commit" in said.stderr
    assert "nothing was written" in said.stderr and f"row 4\t{made[2]['case_id']}" in said.stdout
    checked = cli("import", "cases", str(path), "--dry-run", "--json")
    assert checked.code == 0 and checked.json()["already_imported"]["count"] == 6
    assert commit_count(repo) == before + 1 and git_status(repo) == [] and not stray_files(repo)

    # the digest is keyed by the worker's identity: another worker's import of the same register is
    # not found by it (their own digest differs), and a register with one more row is a new register;
    # the rows that the cases already hold are left out of either, by the cases, not by the digest
    other = cli_as("sup")("import", "cases", str(path), "--json")
    assert other.code == 0 and other.json()["already_imported"] is None, other.stderr
    assert other.json()["imported"] == 0 and [c["case_id"] for c in other.json()["already_in"]] == [c["case_id"] for c in made]
    assert commit_count(repo) == before + 1
    write_csv(path, rows + [child(50)])
    grown = cli("import", "cases", str(path), "--json")
    assert grown.code == 0 and grown.json()["imported"] == 1 and len(grown.json()["already_in"]) == 6, grown.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() not in (message, "")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="stops a cpcm process between its checks and its write")
def test_the_same_register_imported_twice_at_once_goes_in_once(cli, repo, tmp_env):
    """Two runs of the same import: the first stopped once its rows are checked, before it takes
    the lock; the second imports meanwhile. The first, finding the repository changed, looks
    again under the lock, finds the register imported, and writes nothing."""
    path = tmp_env / "register.csv"
    write_csv(path, [child(n) for n in range(4)])
    before = commit_count(repo)
    with import_stopped_once_checked(cli, path) as proc:
        second = cli("import", "cases", str(path), "--json", env={"CPCM_LOCK_TIMEOUT": "1"})
        assert second.code == 0 and second.json()["imported"] == 4, second.stderr
    out, err = proc.stdout.read(), proc.stderr.read()
    assert proc.wait(timeout=300) == 0, err
    first = json.loads(out)
    assert first["imported"] == 0
    assert [e["case_id"] for e in first["already_imported"]["cases"]] == [e["case_id"] for e in second.json()["cases"]]
    assert commit_count(repo) == before + 1 and case_count(cli) == 4
    assert git_status(repo) == [] and not stray_files(repo)


# -- the same register saved again by a spreadsheet program ---------------------------------------------
def saved_as(path, rows, delimiter=",", eol="\r\n", bom=False, quoting=csv.QUOTE_MINIMAL, empty_columns=0, empty_lines=0,
             headings=HEADINGS) -> None:
    """`rows` under `headings`, saved as a spreadsheet program may save the same sheet as CSV."""
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol, quoting=quoting)
    for line in [headings, *rows]:
        writer.writerow([v.isoformat() if isinstance(v, date) else v for v in line] + [""] * empty_columns)
    for _ in range(empty_lines):
        writer.writerow([""] * (len(headings) + empty_columns))
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))


SAVED_AGAIN = {
    "LF line ends": {"eol": "\n"},
    "a byte-order mark": {"bom": True},
    "empty columns at the end": {"empty_columns": 3},
    "empty lines at the end": {"empty_lines": 4},
    "semicolons": {"delimiter": ";"},
    "tabs": {"delimiter": "\t"},
    "every cell in quotes": {"quoting": csv.QUOTE_ALL},
    "all of these": {"eol": "\n", "bom": True, "empty_columns": 2, "empty_lines": 2, "delimiter": ";", "quoting": csv.QUOTE_ALL},
}


def test_the_same_register_saved_again_by_a_spreadsheet_is_recognised_and_a_changed_one_is_not(cli, repo, tmp_env):
    """The register was recognised by a digest of its cells as read: saved again from the
    spreadsheet with empty columns or lines at the end (as spreadsheet programs do), it read
    differently, and every child was imported a second time (each only flagged as a probable
    duplicate). Its lines are now digested as what they say, however the file was saved; a
    register with one cell changed is still another register."""
    rows = [child(n) for n in range(6)]
    rows[2][0] = CANARY
    rows[4][5] = "Ward 4\nnear the market"  # a line break in a cell: LF here, CRLF when saved on another machine
    path = tmp_env / "register.csv"
    saved_as(path, rows)
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0 and done.json()["imported"] == 6, done.stderr
    made = [(c["row"], c["case_id"]) for c in done.json()["cases"]]
    before = commit_count(repo)
    message = git(repo, "log", "-1", "--format=%B")
    assert not any(part in message for part in CANARY.split())

    again = rows[:4] + [rows[4][:5] + ["Ward 4\r\nnear the market"] + rows[4][6:]] + rows[5:]
    for name, how in [*SAVED_AGAIN.items(), ("CRLF in a cell", {})]:
        saved_as(path, again if name == "CRLF in a cell" else rows, **how)
        result = cli("import", "cases", str(path), "--json")
        assert result.code == 0, (name, result.stderr)
        assert result.json()["imported"] == 0 and "already_imported" in result.json(), name
        assert [(c["row"], c["case_id"]) for c in result.json()["already_imported"]["cases"]] == made, name
    assert commit_count(repo) == before and case_count(cli) == 6

    changed = [list(row) for row in rows]
    changed[3][5] = "Ward 9"  # one cell of one row
    saved_as(path, changed, **SAVED_AGAIN["all of these"])
    other = cli("import", "cases", str(path), "--json")
    assert other.code == 0 and other.json()["already_imported"] is None, other.stderr
    # another register; its rows that the cases already hold are left out, the changed one goes in, flagged
    assert other.json()["imported"] == 1 and [c["row"] for c in other.json()["cases"]] == [5]
    assert [(c["row"], c["case_id"]) for c in other.json()["already_in"]] == [m for m in made if m[0] != 5]
    assert {d["row"] for d in other.json()["possible_duplicates"]} == {5}
    assert made[3][1] in [d.get("case_id") for d in other.json()["possible_duplicates"]]
    assert commit_count(repo) == before + 1 and git_status(repo) == [] and not stray_files(repo)


def test_a_register_changed_since_its_import_brings_in_its_new_rows_not_every_child_again(cli, cli_as, repo, tmp_env):
    """A home imports its register, then goes on keeping it: a child admitted since is added at
    the bottom, a row is deleted, and the register is imported again. It is another register (its
    digest is another), and every child of it was registered a second time, each only flagged as a
    probable duplicate. A row that a case's registration already says, field for field, on the same
    date of admission, is now left out, named with its case; only the new rows go in. A case
    corrected in cpcm since is still the row it was imported from."""
    rows = [child(n) for n in range(6)]
    rows[2][0] = CANARY
    path = tmp_env / "register.csv"
    saved_as(path, rows)
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0 and done.json()["imported"] == 6, done.stderr
    made = {c["row"]: c["case_id"] for c in done.json()["cases"]}
    corrected = cli("correct", made[5], "registration", "--set", "location=Ward 8", "--reason", "moved")
    assert corrected.code == 0, corrected.stderr
    before = commit_count(repo)

    kept = rows[:1] + rows[2:]  # the register's second row deleted
    saved_as(path, kept + [child(40)], delimiter=";", bom=True)  # and a child admitted since added
    checked = cli("import", "cases", str(path), "--dry-run")
    assert checked.code == 0, checked.stderr
    assert "6 rows checked: 1 can be imported, 5 in the repository already" in checked.stderr
    assert f"row 3: in the repository already as {made[4]}" in checked.stderr and CANARY.split()[1] not in checked.stderr
    assert commit_count(repo) == before
    again = cli("import", "cases", str(path), "--json")
    assert again.code == 0, again.stderr
    assert [c["row"] for c in again.json()["cases"]] == [7]
    assert [(c["row"], c["case_id"]) for c in again.json()["already_in"]] == [
        (2, made[2]), (3, made[4]), (4, made[5]), (5, made[6]), (6, made[7])]
    assert commit_count(repo) == before + 1 and case_count(cli) == 7 and git_status(repo) == []

    # nothing new in it: nothing written, and it says so
    saved_as(path, kept)
    same = cli("import", "cases", str(path))
    assert same.code == 0, same.stderr
    assert "5 rows checked: every one is in the repository already (above); nothing was written" in same.stderr
    assert commit_count(repo) == before + 1 and case_count(cli) == 7

    # a colleague who cannot read the cases gets the probable duplicates, as before
    other = cli_as("otieno")("import", "cases", str(path), "--dry-run", "--json")
    assert other.code == 0 and other.json()["already_in"] == [], other.stderr


def test_a_row_without_a_date_of_admission_is_recognised_by_its_fields(cli, repo, tmp_env):
    """Without a date of admission a row's case is registered on the day of the import: a later
    import of the same row is another day, and the row is still the case it made."""
    headings = [h for h in HEADINGS if h != "Date of admission"]
    rows = [[v for i, v in enumerate(child(n)) if HEADINGS[i] != "Date of admission"] for n in range(3)]
    path = tmp_env / "register.csv"
    saved_as(path, rows, headings=headings)
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0 and done.json()["imported"] == 3, done.stderr
    saved_as(path, rows + [[v for i, v in enumerate(child(9)) if HEADINGS[i] != "Date of admission"]], headings=headings)
    later = cli.env | {"CPCM_NOW": "2026-11-30T09:00:00+03:00"}
    again = cli("import", "cases", str(path), "--json", env=later)
    assert again.code == 0 and again.json()["imported"] == 1, again.stderr
    assert [c["case_id"] for c in again.json()["already_in"]] == [c["case_id"] for c in done.json()["cases"]]


def test_an_xlsx_register_saved_again_as_csv_is_recognised(cli, repo, tmp_env):
    """Dates and whole numbers that a workbook stores as such read as a CSV file writes them."""
    rows = [child(n) for n in range(4)]
    path = tmp_env / "register.xlsx"
    write_xlsx(path, rows)
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0 and done.json()["imported"] == 4, done.stderr
    before = commit_count(repo)
    saved_as(tmp_env / "register.csv", rows, **SAVED_AGAIN["all of these"])
    again = cli("import", "cases", str(tmp_env / "register.csv"), "--json")
    assert again.code == 0 and again.json()["imported"] == 0, again.stderr
    assert [c["case_id"] for c in again.json()["already_imported"]["cases"]] == [c["case_id"] for c in done.json()["cases"]]
    assert commit_count(repo) == before


def test_an_import_named_by_the_digest_of_its_cells_as_read_is_still_recognised(cli, repo, tmp_env, monkeypatch):
    """An import made before the lines were normalised named its register by the digest of its
    cells exactly as read: run again, that register is found by that digest too, not imported twice."""
    from cpcm.service import imports

    rows = [child(n) for n in range(3)]
    path = tmp_env / "register.csv"
    saved_as(path, rows, empty_columns=2, empty_lines=1)  # read as it is, it digests otherwise than normalised
    with monkeypatch.context() as patch:
        patch.setattr(imports, "register_digests", lambda ctx, sheet: (imports._digest(ctx, [sheet.headers, sheet.rows]),))
        done = cli("import", "cases", str(path), "--json")
    assert done.code == 0 and done.json()["imported"] == 3, done.stderr
    before = commit_count(repo)
    again = cli("import", "cases", str(path), "--json")
    assert again.code == 0 and again.json()["imported"] == 0, again.stderr
    assert [c["case_id"] for c in again.json()["already_imported"]["cases"]] == [c["case_id"] for c in done.json()["cases"]]
    assert commit_count(repo) == before


# -- a wrong date_format: one error for the column, not one a row -----------------------------------------
def day_first(rows: list[list]) -> list[list]:
    """`rows` with their dates written as text, day first (14/03/2014), as many registers write them."""
    return [[v.strftime("%d/%m/%Y") if isinstance(v, date) else v for v in row] for row in rows]


def test_a_wrong_date_format_is_one_error_for_the_column_not_one_a_row(cli, tmp_env):
    """A mapping with date_format "%m/%d/%Y" for a register written day first: every row whose day
    is past the 12th was named, one line each (235 lines for 200 children), for one mistake in
    the mapping. Each date column is now one error: the column, the format tried, how many dates
    did not read, the first rows, and the format that reads them all; never a cell's value."""
    rows = [child(n) for n in range(200)]
    path = tmp_env / "register.csv"
    saved_as(path, day_first(rows))
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text('date_format: "%m/%d/%Y"\n')
    result = cli("import", "cases", str(path), "--mapping", str(mapping), "--json")
    assert result.code == 4
    fields = result.json()["fields"]
    assert [f["field"] for f in fields] == ["column DOB", "column Date of admission"], fields
    for column, (index, _) in zip(fields, [(2, "DOB"), (3, "Date of admission")]):
        unread = [n + 2 for n, row in enumerate(rows) if row[index].day > 12]
        assert column["reason"].startswith(
            f"{len(unread)} of its 200 dates did not read as the mapping's date_format \"%m/%d/%Y\" nor as YYYY-MM-DD "
            f"(rows {', '.join(str(n) for n in unread[:5])}, …); every one reads as %d/%m/%Y: "
            "set date_format: \"%d/%m/%Y\" in the mapping file"), column["reason"]
        assert f"the {200 - len(unread)} that did read may have been read wrong by it" in column["reason"]
    said = cli("import", "cases", str(path), "--mapping", str(mapping))
    assert said.code == 4 and "is not valid (2 problems)" in said.stderr
    assert len(said.stderr.splitlines()) <= 5, said.stderr
    assert "set date_format in the mapping file" in said.stderr and "nothing was written" in said.stderr.lower()
    for row in day_first(rows):  # never a date as the register wrote it
        assert row[2] not in said.stderr and row[3] not in said.stderr

    no_format = cli("import", "cases", str(path), "--json")  # dates written as text, and no date_format at all
    assert no_format.code == 4
    assert [f["field"] for f in no_format.json()["fields"]] == ["column DOB", "column Date of admission"]
    assert no_format.json()["fields"][0]["reason"].startswith(
        "200 of its 200 dates did not read as YYYY-MM-DD, and the mapping sets no date_format (rows 2, 3, 4, 5, 6, …); "
        "every one reads as %d/%m/%Y")

    mapping.write_text('date_format: "%d/%m/%Y"\n')
    assert cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run").code == 0


def test_a_few_bad_dates_are_each_named_by_their_row(cli, tmp_env):
    """The right date_format and a few dates mistyped (or a date in another way than the others,
    in a column where no one format reads them all): each is named by its row, as before."""
    rows = day_first([child(n) for n in range(200)])
    mistyped = {9: "31/02/2014", 40: CANARY, 77: "2014/03/14", 150: "14.03.2014", 151: "14-3-14", 160: "03/14/2014",
                170: "1/1/1"}  # seven in one column: more than a few, but no format reads the column
    for n, cell in mistyped.items():
        rows[n][2] = cell
    rows[30][3] = "30/02/2025"  # and one in another column
    path = tmp_env / "register.csv"
    saved_as(path, rows)
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text('date_format: "%d/%m/%Y"\n')
    result = cli("import", "cases", str(path), "--mapping", str(mapping), "--json")
    assert result.code == 4
    assert [f["field"] for f in result.json()["fields"]] == sorted(
        [f"row {n + 2}: column DOB" for n in mistyped] + ["row 32: column Date of admission"], key=lambda f: int(f.split()[1][:-1]))
    said = cli("import", "cases", str(path), "--mapping", str(mapping))
    assert said.code == 4 and CANARY not in said.stderr and "date_format in the mapping file (cpcm" not in said.stderr
    for cell in mistyped.values():
        assert cell not in said.stderr


# -- a register whose dates read two ways: every day the 12th or before ----------------------------------
def days_at_most_12(rows: list[list]) -> list[list]:
    """`rows` with every date's day the 12th or before: written day first or month first, every
    one reads either way round."""
    return [[v.replace(day=1 + v.day % 12) if isinstance(v, date) else v for v in row] for row in rows]


def test_a_register_whose_dates_read_either_way_round_is_not_imported_silently_the_wrong_way(cli, repo, tmp_env):
    """A register written day first, every day the 12th or before, and a mapping's date_format of
    %m/%d/%Y: every date read, so every child went in with their date of birth and admission
    moved by months, and nothing was said. Now the dry run says so for each column (the format
    used, the other, how many rows differ, and a date of birth after admission one way only);
    an import is refused until --date-format states the format; with it, it goes in as stated."""
    rows = days_at_most_12([child(n) for n in range(40)])
    rows[7][2], rows[7][3] = date(2024, 1, 10), date(2024, 2, 3)  # read month first: born 1 October, admitted 2 March
    path = tmp_env / "register.csv"
    saved_as(path, day_first(rows))
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text('date_format: "%m/%d/%Y"\n')
    # the dry run says what the import would do: refused, each column's two readings named (a script's
    # `import --dry-run && import` stops here, not at the import)
    dry = cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run", "--json")
    assert dry.code == 4 and dry.json()["rule"] == "import-date-format", dry.stdout
    said = [line.strip().removeprefix("- ") for line in dry.json()["message"].splitlines() if "day and month swapped;" in line]
    assert [w.split(":")[0] for w in said] == ["column DOB", "column Date of admission"]
    for warning, index in zip(said, (2, 3)):
        differ = [n + 2 for n, row in enumerate(rows) if row[index].day != row[index].month]
        assert warning.startswith(
            f"column {HEADINGS[index]}: each of its dates reads both as \"%m/%d/%Y\", the date_format used, and as \"%d/%m/%Y\", "
            f"day and month swapped; {len(differ)} of its 40 dates read differently (rows {', '.join(map(str, differ[:5]))}, …)")
        assert ("; read as \"%m/%d/%Y\", row 9 has a date of birth after the date of admission, or a date in the future, and read "
                "as \"%d/%m/%Y\" none has: the register is most likely written \"%d/%m/%Y\"") in warning
        assert warning.endswith("say which is right: run the import with --date-format \"%m/%d/%Y\" if that is how the register "
                                "writes its dates, or with --date-format \"%d/%m/%Y\" if it writes them the other way")
    human = cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run")
    assert human.code == 4 and human.stderr.count("day and month swapped;") == 2 and "every one can be imported" not in human.stdout
    before = commit_count(repo)
    refused = cli("import", "cases", str(path), "--mapping", str(mapping))
    assert refused.code == 4 and "the register's dates read two ways, day and month swapped (2 columns)" in refused.stderr
    assert "run the import again with --date-format FORMAT" in refused.stderr and "Nothing was written" in refused.stderr
    assert cli("import", "cases", str(path), "--mapping", str(mapping), "--json").json()["rule"] == "import-date-format"
    mapping.write_text('date_format: "%d/%m/%Y"\n')  # the right one, but as the template writes it: still not stated
    right = cli("import", "cases", str(path), "--mapping", str(mapping))
    assert right.code == 4 and "row 9 would have a date of birth after" in right.stderr and "\"%d/%m/%Y\" is most likely right" in right.stderr
    for row in day_first(rows):  # never a date as the register wrote it
        for text in (human.stderr, refused.stderr, right.stderr, dry.stdout):
            assert row[2] not in text and row[3] not in text
    assert commit_count(repo) == before and git_status(repo) == []

    spoilt = [list(row) for row in rows]
    spoilt[3][1] = CANARY  # another mistake: the dates' two ways are said with it
    saved_as(tmp_env / "spoilt.csv", day_first(spoilt))
    both = cli("import", "cases", str(tmp_env / "spoilt.csv"), "--mapping", str(mapping), "--dry-run", "--json")
    assert both.code == 4 and [f["field"] for f in both.json()["fields"]] == ["column DOB", "column Date of admission", "row 5: column Sex"]
    assert "run the import with --date-format FORMAT" in both.json()["hint"] and CANARY not in both.stdout

    done = cli("import", "cases", str(path), "--mapping", str(mapping), "--date-format", "%d/%m/%Y", "--json")
    assert done.code == 0 and done.json()["imported"] == 40, done.stderr
    assert sum("read as \"%d/%m/%Y\", as --date-format states" in w for w in done.json()["warnings"]) == 2
    shown = cli("show", done.json()["cases"][7]["case_id"], "--json").json()
    assert shown["child"]["date_of_birth"] == "2024-01-10" and shown["registered_at"].startswith("2024-02-03T00:00")
    assert commit_count(repo) == before + 1


def test_a_register_whose_dates_read_one_way_only_gets_nothing_new(cli, repo, tmp_env):
    """Day first with days past the 12th (14/03/2014 reads only as %d/%m/%Y, in either column: the
    register has one way of writing dates), spreadsheet dates and YYYY-MM-DD: no warning, no
    refusal, no --date-format needed."""
    path = tmp_env / "register.csv"
    rows = day_first([child(n) for n in range(30)])
    for row in rows[:29]:  # every date reads either way round (the last date of birth is 09/05/2011) but the last admission
        row[2], row[3] = "03/04/2012", "01/02/2024"
    assert rows[29][2:4] == ["09/05/2011", "30/01/2024"]  # 30/01/2024: day first, so the register is
    saved_as(path, rows)
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text('date_format: "%d/%m/%Y"\n')
    dry = cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run", "--json")
    assert dry.code == 0 and not [w for w in dry.json()["warnings"] if "swapped" in w], dry.json()["warnings"]
    done = cli("import", "cases", str(path), "--mapping", str(mapping), "--json")
    assert done.code == 0 and done.json()["imported"] == 30 and not [w for w in done.json()["warnings"] if "swapped" in w]
    write_xlsx(tmp_env / "register.xlsx", days_at_most_12([child(n) for n in range(100, 110)]))  # dates as dates: one way only
    assert cli("import", "cases", str(tmp_env / "register.xlsx"), "--mapping", str(mapping), "--json").code == 0


def test_cases_imported_with_consent_not_possible_are_said_at_once_with_the_one_override_for_them_all(cli_as, tmp_env):
    """A register of abandoned children (caregiver consent not possible): the import says how many cases need a
    supervisor's override for registration, with the one command that records it in them all; run as said, it
    ends their `consent-refused` items."""
    amina, sup = cli_as("amina"), cli_as("sup")
    rows = [child(n) for n in range(3)]
    rows[1][10] = "given"  # this one's caregiver gave it
    path = tmp_env / "register.csv"
    write_csv(path, rows)
    dry = amina("import", "cases", str(path), "--dry-run")
    assert dry.code == 0 and "would be: 2 of the cases would have consent to registration refused or not possible" in dry.stderr
    assert "cpcm consent CASE ... --override" in dry.stderr, dry.stderr  # no IDs: a dry run gives the cases none
    done = amina("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    unsettled = done.json()["consent_unsettled"]
    by_row = {e["row"]: e["case_id"] for e in done.json()["cases"]}
    assert sorted(unsettled) == sorted([by_row[2], by_row[4]]), (unsettled, by_row)
    (step,) = done.json()["next_steps"]
    assert step.startswith("2 of these cases have consent to registration refused or not possible: the work on them needs a "
                           "supervisor or manager's override"), step
    command = step.split("one command where the basis is the same: ")[1].replace("legal_mandate|best_interests", "legal_mandate")
    args = command.split()[1:]
    args = args[:args.index("--reason") + 1] + ["committal orders on file"]
    assert sup(*args).code == 0, (args, sup(*args).stderr)
    left = [i for i in sup("due", "--json").json() if i["code"] == "consent-refused"]
    assert left == [], left


# -- what a dry run names: rows, the cases having no ID yet ------------------------------------------------------
def test_a_dry_run_names_rows_never_the_made_up_ids_its_checks_gave_the_cases(cli_as, repo, tmp_env):
    """A dry run of a register with consent not possible listed `consent_unsettled` with case IDs
    that existed nowhere (each dry run others, and the import others again: `cpcm show` exit 3),
    and told a volunteer to escalate a case by such an ID. It names the rows: in the next step,
    in `consent_unsettled_rows`, in the warnings; the import names the cases it made."""
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "amina", "volunteer").code == 0
    rows = [child(n) for n in range(3)]
    rows[1][10] = "given"  # this one's caregiver gave it
    rows[0][0] = CANARY
    path = tmp_env / "register.csv"
    write_csv(path, rows)
    dry = amina("import", "cases", str(path), "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    result = dry.json()
    assert result["consent_unsettled"] == [] and result["consent_unsettled_rows"] == [2, 4] and result["cases"] == []
    assert "(rows 2, 4)" in result["next_steps"][0] and "cpcm consent CASE ... --override" in result["next_steps"][0]
    assert any("row 3: cadre:" in w and "cpcm assign CASE --worker OTHER" in w for w in result["warnings"]), result["warnings"]
    text = amina("import", "cases", str(path), "--dry-run")
    assert "would be: 2 of the cases would have consent to registration refused or not possible (rows 2, 4)" in text.stderr
    for said in (dry.stdout + dry.stderr, text.stdout + text.stderr):
        assert not re.search(r"CP-[0-9A-Z]{4}-", said), said  # no case ID anywhere: none exists
        assert CANARY.split()[0] not in said
    done = amina("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    by_row = {e["row"]: e["case_id"] for e in done.json()["cases"]}
    assert done.json()["consent_unsettled"] == [by_row[2], by_row[4]] and done.json()["consent_unsettled_rows"] == [2, 4]
    assert any(f"cpcm assign {by_row[3]} --worker OTHER" in w for w in done.json()["warnings"]), done.json()["warnings"]


# -- columns not imported: a misspelt heading refuses, and every refusal says them --------------------------------
def test_a_register_without_headings_whose_first_row_holds_a_name_near_a_heading_never_shows_it(cli, repo, tmp_env):
    """A register saved without its heading row has a child's row read as the headings: one cell that is a heading
    (`guardian`) maps a column, and a name spelt nearly as a heading (`James` as `names`) was refused word for word
    ("column James: ... did you mean 'names'"), on the terminal and in --json. It is named by its place."""
    path = tmp_env / "register.csv"
    first, last = CANARY.split()
    lines = [["James", first, "M", "2014-03-14", "2025-01-02", "neglect", "Kibos", "relatives", last, "guardian",
              "authority", "medium", "given", "given"],
             ["Fay", "Importchild", "F", "2013-05-01", "2025-01-03", "neglect", "Manyatta", "relatives", "Aunt Fay", "aunt",
              "authority", "medium", "given", "given"]]
    path.write_text("".join(",".join(line) + "\n" for line in lines))
    before = commit_count(repo)
    for args in (("--dry-run",), ("--dry-run", "--json"), ("--json",)):
        done = cli("import", "cases", str(path), *args)
        assert done.code == 4, done.stderr
        said = done.stdout + done.stderr
        assert "did you mean 'names'" in said
        for word in ("James", first, last):
            assert word not in said
    assert commit_count(repo) == before


def test_a_heading_misspelt_for_a_fields_is_refused_with_what_it_was_meant_as_and_every_refusal_names_the_columns_left_out(
        cli, cli_as, repo, tmp_env):
    """A register headed `Gendre` was refused for 'child.sex: is required' with nothing saying the
    column Gendre was not imported; one with a `Wroker` column went in with a warning, every child
    given to the importing worker instead of the one named. A heading spelt nearly as a field's (of
    a field no column holds) is refused, with what it was most likely meant as; a heading near no
    field stays a warning, and is said with any refusal (and in its JSON, `not_imported`), by its place:
    a refused register's headings may be no headings (a child's row), and a heading near no field's is
    not shown."""
    rows = [child(n) for n in range(3)]
    rows[1][0] = CANARY
    path = tmp_env / "register.csv"
    before = commit_count(repo)

    saved_as(path, [row + ["32"] for row in rows], headings=["Gendre" if h == "Sex" else h for h in HEADINGS] + ["Shoe size"])
    gendre = cli("import", "cases", str(path), "--json")
    assert gendre.code == 4, gendre.stderr
    assert "- child.sex: is required (Sex) and no column holds it" in gendre.stderr
    assert "- column 2 (B): is not imported: no field has that heading; did you mean 'gender' (child.sex)?" in gendre.stderr
    assert "1 other column(s) not imported, their headings not shown: column 12 (L)" in gendre.json()["hint"]
    assert gendre.json()["not_imported"] == ["column 2 (B)", "column 12 (L)"]

    saved_as(path, [row + ["otieno", "32"] for row in rows], headings=HEADINGS + ["Wroker", "Shoe size"])
    for args in (("--dry-run",), ()):
        wroker = cli("import", "cases", str(path), "--json", *args)
        assert wroker.code == 4, wroker.stderr
        assert [f["field"] for f in wroker.json()["fields"]] == ["column 12 (L)"]
        assert "did you mean 'worker'?" in wroker.stderr and "not imported, their headings not shown: column 13 (M)" in wroker.stderr
        assert wroker.json()["not_imported"] == ["column 12 (L)", "column 13 (M)"]
    for refused in (gendre, wroker):
        assert CANARY.split()[0] not in refused.stdout + refused.stderr
        assert "Gendre" not in refused.stdout + refused.stderr and "Wroker" not in refused.stdout + refused.stderr
    assert commit_count(repo) == before

    # the heading corrected in the register, or named in the mapping: the rows go to the worker named
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text("columns:\n  Wroker: worker\n")
    done = cli("import", "cases", str(path), "--mapping", str(mapping), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["not_imported"] == ["column 13 (M)"]
    assert {cli_as("sup")("show", c["case_id"], "--json").json()["worker"] for c in done.json()["cases"]} == {"otieno"}
    # or left out knowingly, mapped to nothing: the rows are the importing worker's
    saved_as(path, [row + ["otieno", "32"] for row in [child(n) for n in range(10, 12)]], headings=HEADINGS + ["Wroker", "Shoe size"])
    mapping.write_text("columns:\n  Wroker: ~\n")
    left = cli("import", "cases", str(path), "--mapping", str(mapping), "--json")
    assert left.code == 0, left.stderr
    assert left.json()["not_imported"] == ["column 12 (L)", "column 13 (M)"]
    assert {cli_as("sup")("show", c["case_id"], "--json").json()["worker"] for c in left.json()["cases"]} == {"amina"}

    # a column near no field's heading does not refuse; when a bad cell does, it is said with it
    spoilt = [child(n) for n in range(20, 23)]
    spoilt[1][1] = CANARY
    saved_as(path, [row + ["32"] for row in spoilt], headings=HEADINGS + ["Shoe size"])
    bad = cli("import", "cases", str(path), "--json")
    assert bad.code == 4 and "row 3: column Sex" in bad.stderr, bad.stderr
    assert "1 other column(s) not imported, their headings not shown: column 12 (L)" in bad.stderr
    assert bad.json()["not_imported"] == ["column 12 (L)"]
    assert CANARY.split()[0] not in bad.stdout + bad.stderr


def test_rows_whose_consent_was_given_but_not_explained_are_said_to_be_not_informed_consent(cli, tmp_env):
    """A register's `Consent explained` column saying no, with consent given, went in without a word: the
    consent is not informed (ESARO P6), as `cpcm register` says of one. The rows are named (one warning
    for the rows of the same givers), with the command that records it again for each case."""
    rows = [child(n) + [said] for n, said in enumerate(["no", "yes", "", "No"])]
    rows[3][-2] = "given"  # the caregiver's consent too
    path = tmp_env / "register.csv"
    saved_as(path, rows, headings=HEADINGS + ["Consent explained"])
    what = ("given without explaining what information is kept, how it is used, who it is shared with and the limits of "
            "confidentiality: it is not informed consent (ESARO P6); explain, then record it again: cpcm consent CASE "
            "--purpose registration --by child")
    for args in (("--dry-run",), ()):
        done = cli("import", "cases", str(path), "--json", *args)
        assert done.code == 0, done.stderr
        warned = [w for w in done.json()["warnings"] if "not informed" in w]
        assert warned == [f"row 2: the child's consent for registration was {what} --status given --explained all",
                          f"row 5: the child's and the caregiver's consent for registration was {what} --by caregiver "
                          "--status given --explained all"], done.json()["warnings"]


def test_an_import_that_passes_names_the_columns_it_leaves_out_by_their_place_never_their_heading(cli, repo, tmp_env):
    """An import that passed warned '1 column(s) not imported: <heading>', the heading word for word,
    and its JSON listed the headings under not_imported: a register whose line of headings is, in
    part or whole, a child's row (written without headings, or with them on another line) put that
    child's details in the terminal and in a county script's log. Every message of the import (a dry
    run, the import, its JSON, a refusal, the run that finds it imported already) names those columns
    by their place only, and the child is nowhere on disk in plain text."""
    rows = [child(n) + [MARKER] for n in range(3)]
    rows[1][0] = MARKER  # a child's name, imported: in the case's encrypted record only
    path = tmp_env / "register.csv"
    saved_as(path, rows, headings=HEADINGS + [MARKER])
    said = "1 column(s) not imported, their headings not shown: column 12 (L) (map them in the mapping file"
    runs = [cli("import", "cases", str(path), *args) for args in (("--dry-run",), ("--dry-run", "--json"), ("--json",), ())]
    assert [run.code for run in runs] == [0, 0, 0, 0], runs[0].stderr
    assert said in runs[0].stderr and any(said in w for w in runs[1].json()["warnings"])
    assert runs[2].json()["imported"] == 3 and runs[2].json()["not_imported"] == ["column 12 (L)"]
    assert "this register was imported already" in runs[3].stderr + runs[3].stdout
    spoilt = [row[:] for row in rows]
    spoilt[2][1] = MARKER  # a bad cell, refused
    saved_as(path, spoilt, headings=HEADINGS + [MARKER])
    runs += [cli("import", "cases", str(path), *args) for args in (("--json",), ())]
    assert [run.code for run in runs[4:]] == [4, 4] and runs[4].json()["not_imported"] == ["column 12 (L)"]
    for run in runs:
        assert not any(word in run.stdout + run.stderr for word in MARKER.split()), run.stdout + run.stderr
    plain = [file for folder in (repo, tmp_env / "tmp", tmp_env / "home") for file in folder.rglob("*")
             if file.is_file() and MARKER.encode() in file.read_bytes()]
    assert plain == [] and MARKER not in git(repo, "log", "--all", "--format=%B")


# -- a row repeated, and the rows a case holds one to one ---------------------------------------------------------
def test_a_row_repeated_in_a_register_is_refused_and_each_row_imported_before_is_named_with_the_case_it_made(cli_as, repo, tmp_env):
    """Two identical rows became two cases (only 'possibly the same child'), and a later import of
    the register named both rows with one case: the other's case was never named. A row that says
    what a row before it says, in every column imported, is refused with both rows named; rows that
    differ only in their worker say what the same cases say, and each is named with its own."""
    cli = cli_as("sup")  # who reads every case: an importer's own, a colleague's
    rows = [child(n) for n in range(4)]
    rows[0][0] = CANARY
    path = tmp_env / "register.csv"
    before = commit_count(repo)
    saved_as(path, rows + [rows[0]])
    for args in (("--dry-run",), ()):
        repeated = cli("import", "cases", str(path), "--json", *args)
        assert repeated.code == 4, repeated.stderr
        assert [(f["field"], f["reason"]) for f in repeated.json()["fields"]] == [
            ("row 6", "is row 2 again, the same in every column imported: delete one of the two rows (a child is registered once)")]
        assert CANARY.split()[0] not in repeated.stdout + repeated.stderr
    assert commit_count(repo) == before and case_count(cli) == 0

    # the same child twice but for the worker: two cases, each named with its row when the register comes again
    headings = HEADINGS + ["Worker"]
    rows = [row + [""] for row in rows] + [rows[0] + ["otieno"]]
    saved_as(path, rows, headings=headings)
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0 and done.json()["imported"] == 5, done.stderr
    made = {c["row"]: c["case_id"] for c in done.json()["cases"]}
    saved_as(path, rows + [child(9) + [""]], headings=headings)  # a child admitted since
    again = cli("import", "cases", str(path), "--json")
    assert again.code == 0 and [c["row"] for c in again.json()["cases"]] == [7], again.stderr
    assert [(c["row"], c["case_id"]) for c in again.json()["already_in"]] == sorted(made.items())
    assert f"row 6: in the repository already as {made[6]}" in " ".join(again.json()["warnings"])
    # a register whose two same rows an earlier import made two cases of (here: the worker aside): both left out, as
    # rows imported before, not refused as a row repeated
    saved_as(path, rows[:4] + [rows[0]], headings=headings)
    old = cli("import", "cases", str(path), "--json")
    assert old.code == 0 and old.json()["cases"] == [], old.stdout
    assert sorted(c["case_id"] for c in old.json()["already_in"] if c["row"] in (2, 6)) == sorted([made[2], made[6]])


def test_a_mapping_whose_date_format_is_written_yyyy_dd_mm_is_not_read_silently_as_yyyy_mm_dd(cli, repo, tmp_env):
    """A register written YYYY-DD-MM (date_format "%Y-%d-%m"), every day the 12th or before: each date reads both as
    the format and as YYYY-MM-DD, which was taken as one reading only, so nothing was said; it is said now, and the
    import waits for --date-format. A cell's own error names --date-format where the command line gave it."""
    rows = days_at_most_12([child(n) for n in range(6)])
    path = tmp_env / "register.csv"
    saved_as(path, [[f"{v.year:04d}-{v.day:02d}-{v.month:02d}" if isinstance(v, date) else v for v in row] for row in rows])
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text('date_format: "%Y-%d-%m"\n')
    dry = cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run", "--json")
    assert dry.code == 4 and "  - column DOB: each of its dates reads both as \"%Y-%d-%m\"" in dry.json()["message"], dry.stdout
    assert cli("import", "cases", str(path), "--mapping", str(mapping)).code == 4
    stated = cli("import", "cases", str(path), "--date-format", "%Y-%d-%m", "--dry-run")
    assert stated.code == 0, stated.stderr
    bad = tmp_env / "bad.csv"
    spoilt = [list(row) for row in rows]
    saved_as(bad, [[f"{v.year:04d}-{v.day:02d}-{v.month:02d}" if isinstance(v, date) else v for v in row] for row in spoilt][:1]
             + [["Child Number099 Example", "F", "2013-31-02", "2024-01-01", "neglect", "Ward 1", "institution", "authority",
                 "low", "given", "not_possible"]])
    named = cli("import", "cases", str(bad), "--date-format", "%Y-%d-%m", "--dry-run")
    assert named.code == 4 and "of --date-format" in named.stderr and "the mapping's date_format" not in named.stderr, named.stderr


# -- the dates of a row: a child 18 or older, born after admission -----------------------------------------
def test_a_row_whose_child_is_18_or_older_on_the_day_of_admission_is_warned_of_as_register_warns(cli, repo, tmp_env):
    """A date of birth that made the child 20 on the day of admission went in with no warning ("warnings": []), in the
    dry run too, where `cpcm register` warns of the same child. Each such row is warned of now, by its row and its
    case (the dry run's by its row, its cases having no ID yet), naming no age or date of birth."""
    rows = [child(n) for n in range(3)]
    rows[1][2] = date(2004, 6, 5)  # 19 on the day of admission
    path = tmp_env / "register.csv"
    saved_as(path, rows)
    dry = cli("import", "cases", str(path), "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    [warned] = [w for w in dry.json()["warnings"] if "or older" in w]
    assert warned.startswith("row 3: by the date of birth (or age) given, the child of the row's case was 18 or older on "
                             "the day registered") and "cpcm update CASE --dob YYYY-MM-DD" in warned, warned
    done = cli("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    case_id = {c["row"]: c["case_id"] for c in done.json()["cases"]}[3]
    [warned] = [w for w in done.json()["warnings"] if "or older" in w]
    assert warned.startswith(f"row 3: by the date of birth (or age) given, the child of {case_id} was 18 or older") \
        and f"cpcm update {case_id} --dob YYYY-MM-DD" in warned, warned
    assert "2004" not in done.stdout + dry.stdout


def test_a_row_whose_child_was_born_after_the_day_of_admission_is_refused(cli, repo, tmp_env):
    """A date of birth after the date of admission went in: a case registered before its child was born. It is
    refused as `cpcm register --at` refuses it, by its row and column, neither date shown."""
    rows = [child(n) for n in range(3)]
    rows[1][2], rows[1][3] = date(2020, 10, 10), date(2019, 1, 1)
    path = tmp_env / "register.csv"
    saved_as(path, rows)
    before = commit_count(repo)
    for args in (("--dry-run",), ()):
        refused = cli("import", "cases", str(path), "--json", *args)
        assert refused.code == 4, refused.stdout
        assert [(f["field"], f["reason"]) for f in refused.json()["fields"]] == [
            ("row 3: column DOB", "is after the date of registration (column Date of admission): a child is registered on or "
                                  "after the day they were born; correct whichever of the two is wrong")]
        assert "2020" not in refused.stdout and "2019" not in refused.stdout
    assert commit_count(repo) == before


def test_a_date_and_time_cell_in_the_date_format_is_read_as_its_date_as_one_in_yyyy_mm_dd_is(cli, repo, tmp_env):
    """A spreadsheet's date-and-time cell saved as CSV (`05/01/2026 14:30`) was refused as 'not a date in the mapping's
    date_format' while `2026-01-05 14:30` went in as its date. Both are read as their date now, the time not kept."""
    rows = day_first([child(n) for n in range(3)])
    rows[0][3], rows[1][3] = "05/01/2026 14:30", "2026-01-05 14:30"
    rows[2][2], rows[2][3] = "10/10/2015 00:00", "05/01/2026 2:30 PM"
    path = tmp_env / "register.csv"
    saved_as(path, rows)
    mapping = tmp_env / "mapping.yaml"
    mapping.write_text('date_format: "%d/%m/%Y"\n')
    dry = cli("import", "cases", str(path), "--mapping", str(mapping), "--dry-run")
    assert dry.code == 0, dry.stderr
    done = cli("import", "cases", str(path), "--mapping", str(mapping), "--json")
    assert done.code == 0 and done.json()["imported"] == 3, done.stderr
    for made in done.json()["cases"]:
        shown = cli("show", made["case_id"], "--json").json()
        assert shown["registered_at"].startswith("2026-01-05T00:00"), shown["registered_at"]
    assert shown["child"]["date_of_birth"] == "2015-10-10"


def test_a_row_repeated_is_said_in_the_same_run_as_the_registers_other_problems(cli, repo, tmp_env):
    """A register with a bad cell and a row that is a row before it again: the dry run named only the cell, and the
    row repeated came in a run of its own once the cell was corrected. Both are said at once now."""
    rows = [child(n) for n in range(5)]
    rows[1][1] = CANARY  # a bad Sex: row 3
    path = tmp_env / "register.csv"
    saved_as(path, rows + [rows[3]])
    for args in (("--dry-run",), ()):
        refused = cli("import", "cases", str(path), "--json", *args)
        assert refused.code == 4, refused.stdout
        assert [f["field"] for f in refused.json()["fields"]] == ["row 3: column Sex", "row 7"], refused.stdout
        assert refused.json()["fields"][1]["reason"].startswith("is row 5 again, the same in every column imported")
        assert "For a row that is a row before it again: delete one of the two." in refused.json()["hint"]
        assert CANARY.split()[0] not in refused.stdout
    assert case_count(cli) == 0
