"""The input gate's checks on text: what any text must be before it can enter a record.

Every text that reaches a record (a command-line argument, standard input, a file given with
`--from-file`, a CSV cell) is valid UTF-8, of a bounded size, and placed at a field path that
does not conflict with another. A text that fails is refused with an error naming the option,
file, row or field and the byte offset, never the text itself.

Python decodes command-line arguments (and, in some locales, standard input) with
"surrogateescape": a byte that is not UTF-8 becomes a lone surrogate (U+DC80 to U+DCFF). Such a
string cannot be encoded as UTF-8, so a record holding one could never be written or read
back; this is where they are stopped.

Pure: no I/O.
"""
from __future__ import annotations

import csv
import io
import math
import re
from typing import Any, Callable, Mapping

from cpcm.errors import UsageError

KIB = 1024
MIB = 1024 * KIB
MAX_INPUT_BYTES = 1 * MIB        # a record from a file or standard input, a note
MAX_TABLE_BYTES = 8 * MIB        # a CSV file (review --batch, service import)
MAX_CELL_CHARS = 64 * KIB        # one CSV cell
MAX_DAYS = 3660                  # how far ahead a --within can look (ten years)

_SURROGATE = re.compile("[\ud800-\udfff]")
# the control characters never kept: NUL (which cuts text short in other programs) and escape and
# CSI, which begin the sequences that make a terminal act when the text is shown (`cpcm show` of a
# record from a bundle); other pasted ones (a bell, Word's line break) are kept as given
_CONTROL = re.compile("[\x00\x1b\x9b]")
CONTROL_HINT = "Remove it (text pasted from another program, or a stray key press); nothing was written."
# a field name as forms, policies and CSV headers spell them (snake_case): a key with a capital or a
# space is more likely a person's name typed where a field belongs, and is not shown
_NAME = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,63}$")
UTF8_HINT = ("Save or type it as UTF-8 (most editors: 'Save with encoding', UTF-8; a spreadsheet: 'CSV UTF-8'); "
             "nothing was written.")


def invalid_offset(text: str) -> int | None:
    """The byte offset of the first byte that is not UTF-8 (a lone surrogate), or None."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return len(text[: found.start()].encode("utf-8", "surrogateescape"))


def check(text: str, what: str) -> str:
    """The text itself when it is valid UTF-8 without control characters (`_CONTROL`); UsageError
    naming `what` and the offset otherwise."""
    offset = invalid_offset(text)
    if offset is not None:
        raise UsageError(f"{what} is not valid UTF-8 text (the byte at offset {offset} cannot be read)", UTF8_HINT)
    return _no_control(text, what)


def _no_control(text: str, what: str) -> str:
    found = _CONTROL.search(text)
    if found is not None:
        offset = len(text[: found.start()].encode("utf-8"))
        raise UsageError(f"{what} holds a control character (the byte at offset {offset}), which no record keeps", CONTROL_HINT)
    return text


def decode(data: bytes, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """Bytes read from a file or standard input as text: UTF-8 (a leading byte-order mark is
    dropped), at most `limit` bytes."""
    if len(data) > limit:
        raise UsageError(f"{what} is larger than {size(limit)}; cpcm reads at most that much from one input",
                         "Split it into smaller files; nothing was written.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        lines = data.count(b"\n", 0, exc.start)  # a file of many lines (a CSV batch): the line too, as an editor numbers it
        where = f"offset {exc.start}, on line {lines + 1}," if lines else f"offset {exc.start}"
        raise UsageError(f"{what} is not valid UTF-8 text (the byte at {where} cannot be read)", UTF8_HINT) from None
    return _no_control(text[1:] if text.startswith("\ufeff") else text, what)


def check_text(text: str, what: str, limit: int = MAX_INPUT_BYTES) -> str:
    """A text already decoded (standard input read as text): valid, and within the limit."""
    check(text, what)
    if len(text) > limit:
        raise UsageError(f"{what} is larger than {size(limit)}; cpcm reads at most that much from one input",
                         "Split it into smaller files; nothing was written.")
    return text[1:] if text.startswith("\ufeff") else text


def check_data(data: Any, what: str, path: str = "", controls: bool = False) -> None:
    """Every string in a record's data (keys and values) is valid UTF-8, and with `controls` (data
    a person typed: a YAML escape gives any character) holds no control character; the error
    names the field."""
    if isinstance(data, str):
        if _SURROGATE.search(data) or (controls and _CONTROL.search(data)):
            check(data, f"{what}: {path or 'a value'}")
    elif isinstance(data, Mapping):
        for key, value in data.items():
            name = str(key)
            where = f"{path}.{shown(name)}" if path else shown(name)
            if _SURROGATE.search(name):
                raise UsageError(f"{what}: a field name{f' in {path}' if path else ''} is not valid UTF-8 text", UTF8_HINT)
            check_data(value, what, where, controls)
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            check_data(value, what, f"{path}[{index + 1}]", controls)


def shown(name: str) -> str:
    """A key as it may appear in a message: a field name is shown, anything else (a value typed
    where a name belongs, say) is not."""
    return name if _NAME.match(name) else "…"


def size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit // KIB} KiB"


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def put(data: dict[str, Any], path: str, value: Any, what: str) -> None:
    """Set `value` at a dotted field path, refusing a path that conflicts with what is there:
    a value where a group of fields already is (`child`, then `child.name`), or the reverse."""
    parts = path.split(".")
    if not all(part.strip() for part in parts):
        raise UsageError(f"{what}: a field path is names joined by dots (e.g. child.name), with no empty part")
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            group = ".".join(shown(p) for p in parts[: depth + 1])
            raise UsageError(f"{what}: {group} is given a value, so it cannot also hold the field "
                             f"{'.'.join(shown(p) for p in parts)}",
                             "Give either the whole value or its fields, not both.")
        node = child
    if isinstance(node.get(parts[-1]), dict) and not isinstance(value, dict):
        raise UsageError(f"{what}: {'.'.join(shown(p) for p in parts)} is a group of fields and cannot be given one value",
                         "Set its fields one by one (e.g. child.name=...).")
    node[parts[-1]] = value


class CsvRows(list):
    """The rows of a CSV text, with `numbers`: each row's number as a spreadsheet shows it (the
    header is row 1; a blank row, which is left out, still takes a number); `header`: row 1's
    cells as read; `unheaded`: (row number, column number) of each cell that holds something
    under a blank heading (such a cell is not in its row's mapping under a name of its own)."""
    numbers: list[int]
    header: list[str] = []
    unheaded: list[tuple[int, int]] = []


def csv_rows(text: str, what: str, max_cell: int = MAX_CELL_CHARS) -> CsvRows:
    """The rows of a CSV text as `csv.DictReader` gives them (row 1 is the header; cells beyond
    the header under the key None, missing ones None), blank rows left out: a blank line, and a
    row whose cells are all empty or spaces (`,,,`: what a spreadsheet saves for a row it shows
    blank, once it was formatted or its cells were cleared), as `import cases` does; each
    cell at most `max_cell` characters; an error names the row (as a spreadsheet numbers it)
    and column, or the row and the line where the text stops being CSV, never a cell's text."""
    limit = csv.field_size_limit()
    if limit < MAX_TABLE_BYTES:  # the module's own limit (128 Ki) would stop a long cell without naming it
        csv.field_size_limit(MAX_TABLE_BYTES)
    reader = csv.reader(io.StringIO(text[1:] if text.startswith("\ufeff") else text, newline=""), strict=True)
    rows = CsvRows()
    rows.numbers = []
    rows.unheaded = []
    number = 0  # the last row read whole; a blank line counts, as in a spreadsheet
    try:
        header = next(reader, [])
        rows.header = header
        blank = [index for index, name in enumerate(header) if not name.strip()]
        number = 1
        for index, name in enumerate(header):
            if len(name) > 200:
                raise UsageError(f"{what}: row 1, column {index + 1}: a column name is longer than 200 characters")
        for record in reader:
            number += 1
            if not any(cell.strip() for cell in record):
                continue
            rows.unheaded += [(number, index + 1) for index in blank if index < len(record) and record[index].strip()]
            row: dict[Any, Any] = dict(zip(header, record))
            if len(record) > len(header):  # cells beyond the header: csv.DictReader lists them under the key None
                row[None] = record[len(header):]
            for key in header[len(record):]:
                row[key] = None
            for index, (column, value) in enumerate(row.items()):
                if column is None:
                    cells = [(len(header) + 1 + extra, f"column {len(header) + 1 + extra}", cell) for extra, cell in enumerate(value)]
                else:
                    cells = [(index + 1, f"column {index + 1} ({shown(column.strip())})", value)]
                for _, label, cell in cells:
                    if cell is not None and len(cell) > max_cell:
                        raise UsageError(f"{what}: row {number}, {label}: the cell is longer than {max_cell} characters",
                                         "Shorten it; nothing was written.")
            rows.append(row)
            rows.numbers.append(number)
    except csv.Error as exc:
        raise UsageError(f"{what}: row {number + 1} (line {reader.line_num}) cannot be read as CSV: {exc}",
                         "Check the quoting of that row; nothing was written.") from None
    return rows


def heading_key(name: str) -> str:
    """The key a CSV heading is read as: in any case, spaces round it left out."""
    return name.strip().lower()


def unread_cells(rows: CsvRows, what: str, key: Callable[[str], str] = heading_key) -> None:
    """UsageError when a cell of `rows` that holds something would be left out unread: two
    columns under one heading (`key`: what the reader makes of a heading; two headings it reads
    as one are one), a cell under a blank heading, or
    cells past the last heading (a ',' not in quotes shifts the cells after it). Each is named
    by its column or row, never by a cell's text; empty cells past the headings are no problem."""
    header = getattr(rows, "header", [])
    first: dict[str, int] = {}
    twice = [(index, first[name]) for index, name in enumerate((key(n) for n in header), start=1)
             if name and first.setdefault(name, index) != index]
    if twice:  # a mapping keeps one cell a heading: the other column's would be left out
        raise UsageError(f"{what}: " + ", ".join(f"column {index} has the heading of column {earlier}" for index, earlier in twice[:20])
                         + (", …" if len(twice) > 20 else ""),
                         "Give each column a heading of its own (headings are read in any case); nothing was written.")
    unheaded = getattr(rows, "unheaded", [])
    if unheaded:
        raise UsageError(f"{what}: a cell under a blank heading holds something in "
                         + ", ".join(f"row {number}, column {column}" for number, column in unheaded[:20])
                         + (", …" if len(unheaded) > 20 else ""),
                         "Give that column its heading (a field of the form), or clear the cell; nothing was written.")
    beyond = [(number, len(header) + len(row[None])) for number, row in zip(rows.numbers, rows)
              if any(cell.strip() for cell in row.get(None) or ())]
    if beyond:
        named = ", ".join(f"row {number} ({cells} cells)" for number, cells in beyond[:20]) + (", …" if len(beyond) > 20 else "")
        raise UsageError(f"{what}: more cells than the {len(header)} headings of row 1 in {named}",
                         "Put a cell that holds a ',' in double quotes (a spreadsheet saves it so), or give the extra "
                         "column its heading; nothing was written.")


def days(value: float | None, option: str, maximum: int = MAX_DAYS) -> float | None:
    """A number of days given on the command line: finite, not negative, at most `maximum`."""
    if value is None:
        return None
    if not math.isfinite(value) or value < 0 or value > maximum:
        raise UsageError(f"{option} takes a number of days from 0 to {maximum}", f"For example {option} 14")
    return value


def said(text: str | None) -> bool:
    """Whether a reason, a note or a justification typed holds words: not empty, nor only the '...' a hint shows in
    their place (`--reason ...`), which, typed as shown, was recorded as the reason for good."""
    return bool((text or "").strip().strip(".\u2026").strip())
