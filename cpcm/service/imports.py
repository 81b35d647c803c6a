"""cpcm import cases / import template: a children's home's register in, one case a row.

Every row is read and validated first. Any bad row and nothing is written: every bad cell is
named (sheet, row, column, why; never the value). A good file goes in as one commit. Probable
duplicates (against the cases already in the repository, and between rows) are flagged, not
refused: the worker decides, as at `cpcm register`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from cpcm import clock
from cpcm.domain import sheets
from cpcm.domain.case import Case
from cpcm.domain.forms import validate
from cpcm.domain.ids import new_case_id
from cpcm.errors import FieldError, InvalidInput
from cpcm.service.context import (Context, keys_for, load_cases, new_record, readers_for, recipients_bytes, transaction, writes)
from cpcm.service.results import Written
from cpcm.store import forms
from cpcm.store.layout import CASES, RECIPIENTS
from cpcm.store.sheets import Sheet
from cpcm.workflow import rules
from cpcm.workflow.duplicates import probable_duplicates
from cpcm.workflow.fold import fold


@dataclass(frozen=True)
class Planned:
    row: int
    body: dict[str, Any]
    at: datetime | None


@writes
def import_cases(ctx: Context, sheet: Sheet, mapping: Any = None, dry_run: bool = False,
                 progress: Callable[[int], None] | None = None) -> Written:
    """Register one case per row of `sheet` (the register file, read by `store.sheets.read`),
    its columns mapped by `mapping` (the mapping file's document, or None: headings map by
    themselves). `progress(n)` is told of each row checked and each case written."""
    me = ctx.need_worker()
    form = forms.load("registration", ctx.root)
    parsed, errors = sheets.parse_mapping(mapping)
    if errors:
        raise InvalidInput(errors, "the mapping file")
    plan, unmapped, errors = sheets.plan_columns(sheet.headers, parsed, form)
    if errors:
        raise InvalidInput(errors, "the register's columns", "Correct the mapping file (cpcm import template writes one); nothing was written.")
    where = f"sheet {sheet.name}, " if sheet.name != "CSV" else ""
    workers = [w.id for w in ctx.team.active]
    today = ctx.now.date()
    planned: list[Planned] = []
    errors = []
    for row in sheets.rows(sheet.headers, sheet.rows, plan, parsed, form, sheet.heading_row + 1):
        body, invalid = validate(form, row.document, today, workers)
        unread = {e.field for e in row.errors}  # a cell that could not be read is named once, not again by the form's rules
        found = [FieldError(f"{where}row {row.number}: {e.field}", e.reason) for e in row.errors]
        found += [FieldError(f"{where}row {row.number}: {column}", e.reason) for e in invalid
                  if (column := _column(e.field, row.columns)) not in unread]
        at = None
        if row.at is not None:
            if row.at > today:
                found.append(FieldError(f"{where}row {row.number}: " + _column(sheets.AT, row.columns), "is in the future"))
            else:
                at = clock.parse_datetime(row.at.isoformat(), "date of registration", ctx.zone)  # midnight there, as --at DATE
        errors += found
        if progress:
            progress(1)
        if found:
            continue
        body.setdefault("worker", me.id)
        planned.append(Planned(row.number, body, at))
    if errors:
        raise InvalidInput(errors, f"the register ({len(sheet.rows)} rows)", "Correct the cells named above; nothing was written.")
    if not planned:
        raise InvalidInput([FieldError("rows", "the register holds no rows under its headings")], "the register")
    existing = set(ctx.store.case_ids())
    cases = load_cases(ctx)
    warnings, duplicates, records = [], [], []
    new_cases: list[tuple[int, Case]] = []
    for item in planned:
        case_id = new_case_id()
        while case_id in existing:
            case_id = new_case_id()
        existing.add(case_id)
        record = new_record(ctx, "registration", case_id, item.body, item.at)
        case = fold(case_id, [record])
        for other, reason in probable_duplicates(case, cases.values()):
            duplicates.append({"row": item.row, "case_id": other, "reason": reason})
            warnings.append(f"{where}row {item.row}: possibly the same child as {other} ({reason})")
        for row_number, earlier in new_cases:
            if probable_duplicates(case, [earlier]):
                duplicates.append({"row": item.row, "row_before": row_number, "reason": "possibly the same child"})
                warnings.append(f"{where}row {item.row}: possibly the same child as row {row_number}")
        new_cases.append((item.row, case))
        records.append((item.row, case, record))
    warnings += _caseload(ctx, [case for _, case in new_cases], cases)
    if unmapped:
        warnings.append(f"{len(unmapped)} column(s) not imported: {', '.join(unmapped)[:300]} (map them in the mapping file if they hold a registration field)")
    written = []
    if not dry_run:
        with transaction(ctx, "import") as tx:
            for row_number, case, record in records:
                readers = readers_for(ctx, case)
                tx.replace_file(f"{CASES}/{case.id}/{RECIPIENTS}", recipients_bytes(readers))
                tx.write_record(record, keys_for(ctx, readers))
                written.append({"row": row_number, "case_id": case.id, "record_id": record.id})
                if progress:
                    progress(1)
            tx.commit(f"import {len(written)} cases")
    return Written(None, tuple(w["record_id"] for w in written), "registration", tuple(warnings),
                   extra={"imported": len(written), "checked": len(planned), "dry_run": dry_run, "cases": written,
                          "possible_duplicates": duplicates, "columns": {str(sheet.headers[i]): key for i, key in plan.items()},
                          "not_imported": unmapped},
                   json_keys=("warnings",))


def _column(field: str, columns: Mapping[str, str]) -> str:
    """A form field's error named by the column it came from (or by the field, for a default or a missing one)."""
    key = field.split("[")[0]
    return f"column {columns[key]}" if key in columns else field


def _caseload(ctx: Context, new: list[Case], cases: Mapping[str, Case]) -> list[str]:
    """A warning per worker whose open cases pass the policy's warning line or cap with the import.
    The import records children already in care, so it warns and never refuses on caseload."""
    before = rules.caseloads(cases.values())
    added = rules.caseloads(new)
    found = []
    for worker, count in sorted(added.items()):
        verdict, message = rules.caseload_verdict(ctx.team.get(worker), before.get(worker, 0) + count - 1, ctx.policy)
        if verdict != "ok":
            found.append(f"caseload: {worker} {message}")
    return found


def import_template(ctx: Context) -> tuple[str, str]:
    """(a starting mapping file, an example register as CSV) for the registration form in force."""
    form = forms.load("registration", ctx.root)
    lines = ["# cpcm import mapping: which column of your register holds which registration field.",
             "# Columns whose heading is a field's key, its label, or a common heading (Name, DOB, Sex,",
             "# Date of admission, Reason for admission ...) map by themselves; name the others here.",
             "# `at` is the date of admission or registration. Remove what you do not need.",
             "columns:"]
    for field in form.fields:
        if field.type == "list":
            continue
        choices = f"  one of: {', '.join(field.choices)}" if field.choices and len(field.choices) <= 8 else ""
        lines.append(f"  # \"Your heading\": {field.key}    # {field.text(field.label, 'en')}{choices}")
    lines.append("  # \"Date of admission\": at")
    lines += ["# A cell as your register writes it -> the word cpcm uses (only where they differ).",
              "values:",
              "  child.sex: {F: female, M: male}",
              "  concerns: {Orphaned: abandonment, Abused: physical_abuse}",
              "# What every row shares, when the register has no column for it (say only what is true).",
              "defaults: {}",
              "#  identified_by: authority",
              "# How dates are written in text cells (YYYY-MM-DD is always read; spreadsheet dates need nothing).",
              "date_format: \"%d/%m/%Y\"",
              "# sheet: Register     # which sheet of a workbook (default: the first)", ""]
    return "\n".join(lines), _example()


def _example() -> str:
    """Three invented children, for the shape only."""
    import csv
    import io

    columns = ["Name", "Sex", "DOB", "Age", "Date of admission", "Reason for admission", "Home area", "Lives with", "Caregiver",
               "Relationship", "Identified by", "Risk", "Child consent", "Caregiver consent"]
    rows = [
        ["Example Child One", "F", "14/03/2014", "", "02/01/2025", "Neglect", "Example Ward", "relatives", "Example Aunt", "aunt",
         "authority", "medium", "given", "given"],
        ["Example Child Two", "M", "2012-07-30", "", "2025-02-10", "abandonment", "Example Village", "institution", "", "",
         "community_member", "high", "given", "not_possible"],
        ["Example Child Three", "F", "", "9", "2025-03-01", "separated_unaccompanied; out_of_school", "Example Town", "institution",
         "", "", "service_provider", "medium", "given", "not_possible"],
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()
