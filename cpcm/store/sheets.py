"""Reading a register from a spreadsheet (`.xlsx`, `.xlsm`, `.xls`, `.ods`) or a CSV file: the
headings and the rows of one sheet, as cell values. Workbooks are read with python-calamine (one
reader for every format a children's home may have; see docs/commands/import.md for why);
CSV with the standard library, through the same UTF-8 gate as every other input.

Errors name the file as "the register file" and a sheet by its place in the workbook (sheet 2),
never by its name (a workbook may name a sheet after a child) nor a cell's value.
"""
from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpcm.domain import text
from cpcm.errors import UsageError

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
MAX_BYTES = 32 * 1024 * 1024   # a register of 100,000 children is a few MiB
MAX_ROWS = 100_000
MAX_COLUMNS = 200


@dataclass(frozen=True)
class Sheet:
    name: str
    headers: list[Any]
    rows: list[list[Any]]   # the lines under the headings, as read (empty cells are '')
    heading_row: int = 1    # the headings' line number as the spreadsheet shows it (rows follow it)
    number: int = 1         # the sheet's place in the workbook (1: the first tab), how messages name it


def read(path: Path, sheet: str | None = None) -> Sheet:
    """The named sheet (default: the first) of a workbook, or a CSV file's single table."""
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UsageError(f"cannot read the register file: {exc.strerror or 'not a readable file'}") from None
    if size > MAX_BYTES:
        raise UsageError(f"the register file is larger than {MAX_BYTES // (1024 * 1024)} MiB", "Split it into several files.")
    if suffix == ".csv":
        return _csv(path)
    if suffix not in WORKBOOK_SUFFIXES:
        raise UsageError("the register file is not a spreadsheet or CSV file",
                         f"Give a file ending in .csv or {', '.join(WORKBOOK_SUFFIXES)}.")
    return _workbook(path, sheet)


def _workbook(path: Path, sheet: str | None) -> Sheet:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception:  # noqa: BLE001 - a damaged or encrypted workbook: calamine raises several kinds
        raise UsageError("the register file cannot be read as a spreadsheet (damaged, password-protected or not what its name says)",
                         "Open it in your spreadsheet program and save it again as .xlsx, .ods or .csv.") from None
    names = list(book.sheet_names)
    if sheet is not None and sheet not in names:
        raise UsageError("the workbook has no sheet by the name given with --sheet (or the mapping's 'sheet')",
                         f"It has {len(names)} sheet(s): give one's name as its tab shows it (not listed here: a sheet "
                         "may be named after a child).")
    if not names:
        raise UsageError("the workbook has no sheet")
    name = sheet or names[0]
    try:
        cells = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception:  # noqa: BLE001
        raise UsageError("a sheet of the register file cannot be read", "Save the workbook again from your spreadsheet program.") from None
    return _table(name, [list(line) for line in cells], names.index(name) + 1)


def _csv(path: Path) -> Sheet:
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    content = text.decode(data.removeprefix(b"\xef\xbb\xbf"), "the register file", MAX_BYTES)
    try:
        lines = [line for line in csv.reader(io.StringIO(content), delimiter=_delimiter(content))]
    except csv.Error as exc:
        raise UsageError(f"the register file is not valid CSV ({exc.__class__.__name__} near line {getattr(exc, 'line_num', '?')})") from None
    return _table("CSV", lines)


DELIMITERS = (",", ";", "\t")  # in this order when they fit a file as well as each other
SAMPLE_RECORDS = 200           # the records the delimiter is chosen on


def _delimiter(content: str) -> str:
    """The delimiter of a CSV file as a spreadsheet program saves one: of `DELIMITERS`, the one
    that gives the most headings while nine in ten of the first records or more have as many
    cells as the headings (a spreadsheet writes every row as wide as the sheet).

    Quoting is always a spreadsheet's (a cell holding the delimiter, a quote or a line break is
    in quotes, and a quote in it doubled), whatever the first lines show. csv.Sniffer guessed
    the quoting from the first 4 KiB: in a file whose first doubled quote came later, that cell
    was read cut in two, silently; and it could not tell the delimiter of a file with a line
    break in a cell."""
    best, best_fit = DELIMITERS[0], (False, -1, -1.0)
    for delimiter in DELIMITERS:
        try:
            records = [r for r in itertools.islice(csv.reader(io.StringIO(content), delimiter=delimiter), SAMPLE_RECORDS)
                       if not all(_blank(v) for v in r)]
        except csv.Error:
            continue  # read as a whole, the file then says what is wrong with it
        if not records:
            continue
        width = len(records[0])
        alike = sum(len(r) == width for r in records) / len(records)
        fit = (alike >= 0.9, width, alike)
        if fit > best_fit:
            best, best_fit = delimiter, fit
    return best


def _table(name: str, lines: list[list[Any]], number: int = 1) -> Sheet:
    skipped = 0
    while skipped < len(lines) and all(_blank(v) for v in lines[skipped]):
        skipped += 1
    lines = lines[skipped:]
    if not lines:
        raise UsageError("the register file holds no headings and no rows", "Its first line must hold the column headings.")
    if len(lines) - 1 > MAX_ROWS:
        raise UsageError(f"the register file holds more than {MAX_ROWS} rows", "Split it into several files.")
    if any(len(line) > MAX_COLUMNS for line in lines):
        raise UsageError(f"the register file has more than {MAX_COLUMNS} columns", "Keep only the columns to import.")
    return Sheet(name, list(lines[0]), [list(line) for line in lines[1:]], heading_row=skipped + 1, number=number)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
