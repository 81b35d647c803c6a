"""A register sheet's rows as registration documents: which column holds which field, and each
row's cells turned into the values the registration form validates. Pure: the sheet arrives as
headers and rows of cell values (text, numbers, dates), already read from the file.

A mapping (YAML, written by `cpcm import template`) says what cannot be guessed::

    columns: {"Jina": child.name, "Admitted": at}      # column heading -> field key, or `at`
    values: {child.sex: {F: female, M: male}}         # a cell as written -> the form's word
    defaults: {identified_by: authority}              # a field every row shares
    date_format: "%d/%m/%Y"                            # dates written as text (ISO is always read)
    sheet: Register                                    # which sheet of a workbook

Headings the mapping does not name map by themselves when they are a field's key, one of its
labels (en, sw), or a common heading of a children's home register (COMMON below).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Sequence

from cpcm.domain.forms import Form, date_problem, near_field, not_a_calendar_date, not_a_date
from cpcm.errors import FieldError

AT = "at"  # the registration's date: the record's `at` (the date of admission or registration)

# common headings of a register (normalised: lower case, letters and digits separated by one space)
COMMON = {
    "name": "child.name", "names": "child.name", "child": "child.name", "child name": "child.name", "full name": "child.name",
    "name of child": "child.name", "other names": "child.other_names", "nickname": "child.other_names", "alias": "child.other_names",
    "sex": "child.sex", "gender": "child.sex",
    "dob": "child.date_of_birth", "d o b": "child.date_of_birth", "date of birth": "child.date_of_birth", "birth date": "child.date_of_birth",
    "age": "child.age_estimate", "age years": "child.age_estimate",
    "birth certificate": "child.birth_certificate", "birth certificate no": "child.birth_certificate",
    "birth certificate number": "child.birth_certificate", "disability": "child.disability",
    "date of admission": AT, "admission date": AT, "date admitted": AT, "admitted": AT, "admitted on": AT,
    "date of registration": AT, "registration date": AT, "date registered": AT,
    "reason for admission": "concerns", "reason for referral": "concerns", "concern": "concerns", "concerns": "concerns",
    "caregiver": "caregiver.name", "caregiver name": "caregiver.name", "guardian": "caregiver.name", "parent guardian": "caregiver.name",
    "parent or guardian": "caregiver.name", "relationship": "caregiver.relationship", "caregiver relationship": "caregiver.relationship",
    "location": "location", "home": "location", "home area": "location", "village": "location", "address": "location",
    "residence": "location", "lives with": "lives_with", "living with": "lives_with",
    "phone": "contact", "telephone": "contact", "contact": "contact", "contacts": "contact",
    "referred by": "identified_by", "identified by": "identified_by", "risk": "risk", "risk level": "risk",
    "worker": "worker", "case worker": "worker", "caseworker": "worker", "social worker": "worker",
    "notes": "notes", "remarks": "notes", "comments": "notes", "registration place": "registration_place",
    "place of registration": "registration_place",
    "child consent": "consent.child", "child assent": "consent.child", "caregiver consent": "consent.caregiver",
    "consent explained": "consent.explained", "immediate needs": "immediate_needs",
}
# cells as registers write them -> the form's word, per field
_YES_NO = {"y": "yes", "n": "no", "ndiyo": "yes", "hapana": "no", "?": "unknown"}
COMMON_VALUES = {
    "child.sex": {"f": "female", "m": "male", "girl": "female", "boy": "male", "femme": "female", "homme": "male",
            "mke": "female", "kike": "female", "me": "male", "kiume": "male", "msichana": "female", "mvulana": "male"},
    "child.disability": _YES_NO,
}


def heading_key(text: Any) -> str:
    """A heading as compared: lower case, words of letters and digits separated by one space."""
    return " ".join(re.findall(r"[^\W_]+", str(text or "").lower()))


@dataclass(frozen=True)
class ColumnMapping:
    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    date_format: str | None = None
    sheet: str | None = None
    left_out: frozenset[str] = frozenset()  # the headings (`heading_key`) the mapping maps to nothing: not imported, knowingly
    stated: bool = False  # the date_format is the command line's --date-format, not the mapping file's: named so

    @property
    def date_source(self) -> str:
        """Where the date_format came from, as messages name it."""
        return "--date-format" if self.stated else "the mapping's date_format"


MAPPING_KEYS = ("columns", "values", "defaults", "date_format", "sheet")


def parse_mapping(data: Any) -> tuple[ColumnMapping, list[FieldError]]:
    """A mapping from its YAML document; errors name the key, never a value."""
    if data is None:
        return ColumnMapping(), []
    if not isinstance(data, Mapping):
        return ColumnMapping(), [FieldError("mapping", "must be a mapping with columns, values, defaults, date_format, sheet")]
    errors = [FieldError("mapping", "has a key that is not one of: " + ", ".join(MAPPING_KEYS)) for k in data if k not in MAPPING_KEYS][:1]
    columns, values, defaults = data.get("columns") or {}, data.get("values") or {}, data.get("defaults") or {}
    for name, value in (("columns", columns), ("values", values), ("defaults", defaults)):
        if not isinstance(value, Mapping):
            errors.append(FieldError(f"mapping: {name}", "must be a mapping (key: value)"))
    if isinstance(values, Mapping) and any(not isinstance(v, Mapping) for v in values.values()):
        errors.append(FieldError("mapping: values", "each field's entry must map a cell as written to the form's word"))
    date_format = data.get("date_format")
    if date_format is not None and (not isinstance(date_format, str) or "%" not in date_format):
        errors.append(FieldError("mapping: date_format", "must be a strftime pattern such as %d/%m/%Y"))
    if errors:
        return ColumnMapping(), errors
    return ColumnMapping(
        columns={str(k): str(v) for k, v in columns.items() if v not in (None, "")},
        values={str(k): {heading_key(c): str(w) for c, w in v.items()} for k, v in values.items()},
        defaults=dict(defaults), date_format=date_format, sheet=str(data["sheet"]) if data.get("sheet") else None,
        left_out=frozenset(heading_key(k) for k, v in columns.items() if v in (None, "")),
    ), []


def field_keys(form: Form) -> set[str]:
    return {f.key for f in form.fields if f.type != "list"} | {AT}


def known_headings(form: Form) -> dict[str, str]:
    """{heading (`heading_key`): field key} of the headings that map by themselves: a field's key,
    its labels, the common headings (COMMON) of the fields the form has."""
    keys = field_keys(form)
    by_heading = {heading_key(k): k for k in keys}
    for f in form.fields:
        if f.key in keys:  # a list field has no single cell to come from: its label maps nothing
            for label in f.label.values():
                by_heading.setdefault(heading_key(label), f.key)
    for heading, key in COMMON.items():
        if key in keys:
            by_heading.setdefault(heading, key)
    return by_heading


def plan_columns(headers: list[Any], mapping: ColumnMapping, form: Form) -> tuple[dict[int, str], list[str], list[FieldError]]:
    """({column index: field key}, headings left unmapped, errors): a column maps to a field by
    the mapping, else by itself (a field's key or label, or a common heading); one the mapping
    maps to nothing (`left_out`) is left unmapped."""
    keys = field_keys(form)
    by_heading = known_headings(form)
    given = {heading_key(h): k for h, k in mapping.columns.items()}
    errors = []
    for heading, key in mapping.columns.items():
        if key not in keys:
            errors.append(FieldError(f"mapping: columns: {heading}", f"maps to '{key}', which is not a registration field or 'at' "
                                     "(cpcm form blank registration lists them)") if re.fullmatch(r"[a-z_.]{1,60}", key)
                          else FieldError(f"mapping: columns: {heading}", "maps to something that is not a registration field or 'at'"))
    present = {heading_key(h) for h in headers}
    errors += [FieldError(f"mapping: columns: {h}", "names a column the sheet does not have") for h in mapping.columns
               if heading_key(h) not in present]
    plan: dict[int, str] = {}
    unmapped: list[str] = []
    taken: dict[str, str] = {}
    for index, raw in enumerate(headers):
        heading = heading_key(raw)
        if not heading:
            continue
        key = None if heading in mapping.left_out else given.get(heading) or by_heading.get(heading)
        if key is None:
            unmapped.append(str(raw))
            continue
        if key in taken:
            errors.append(FieldError(f"column {raw}", f"maps to '{key}' as column {taken[key]} does: map one of them elsewhere "
                                     "in the mapping file, or to nothing"))
            continue
        taken[key] = str(raw)
        plan[index] = key
    for key in mapping.defaults:
        if key not in keys:
            errors.append(FieldError("mapping: defaults", "names a field that is not a registration field"))
    return plan, unmapped, errors


def column_place(index: int) -> str:
    """A column named by its place, as a spreadsheet shows it ('column 12 (L)', 'column 28 (AB)'),
    for one whose heading is not shown (a heading may hold personal details)."""
    letters, n = "", index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"column {index + 1} ({letters})"


SHOWN_COLUMNS = 20  # the columns a message names by their place (`columns_shown`)


def columns_shown(places: Sequence[str], shown: int = SHOWN_COLUMNS) -> str:
    """Columns named by their place (`column_place`): the first `shown`, then '…'."""
    return ", ".join(places[:shown]) + (", …" if len(places) > shown else "")


def near_headings(headers: list[Any], unmapped: list[str], plan: Mapping[int, str], mapping: ColumnMapping,
                  form: Form) -> list[FieldError]:
    """The headings of `headers` left unmapped (`unmapped`, as `plan_columns` gives them) that are a slip of the keyboard for a heading
    that maps by itself (`known_headings`), of a field no column holds: `Gendre` for `gender`,
    `Wroker` for `worker` (`forms.near_field`, as a batch's unknown column is named). Each is an
    error naming the column by its place (`column_place`), never its heading, and the heading it
    was most likely meant as: the line read as the headings may be a child's row (a register
    without headings), and a name can be near a heading ('James' for 'names'). A heading the
    mapping maps to nothing (`left_out`), or near nothing, is none."""
    held = set(plan.values())
    known = {heading: key for heading, key in known_headings(form).items() if key not in held}
    found, left = [], set(unmapped)
    for index, raw in enumerate(headers):
        heading = heading_key(raw)
        if index in plan or str(raw) not in left or heading in mapping.left_out:
            continue
        close = near_field(heading, list(known), slips_only=True)
        if close:
            field = f" ({known[close]})" if heading_key(known[close]) != close else ""
            found.append(FieldError(column_place(index), f"is not imported: no field has that heading; did you mean '{close}'{field}?"))
    return found


def missing_columns(plan: Mapping[int, str], mapping: ColumnMapping, form: Form) -> list[FieldError]:
    """The required fields that no column holds and the mapping gives no value under `defaults`
    (and the form's `require_one_of` rules none of whose fields is held): every row lacks them,
    so each is named once, not once a row (a register of 1,000 rows with no consent columns is
    two lines, not 2,000)."""
    held = set(plan.values()) | {key for key, value in mapping.defaults.items() if value not in (None, "", [], {})}
    missing = [FieldError(f.key, f"is required ({f.text(f.label, 'en')}) and no column holds it")
               for f in form.fields if f.required and f.key not in held]
    for rule in form.rules:  # one of several fields (a date of birth or an estimated age), none of them held
        if rule.get("advise"):  # a rule that only warns refuses no import either
            continue
        keys = [str(k) for k in rule.get("require_one_of") or ()]
        if keys and not held.intersection(keys):
            missing.append(FieldError(keys[0], f"{rule.get('message') or 'give one of them'}, and no column holds any of: {', '.join(keys)}"))
    return missing


def cell_value(value: Any, key: str, form: Form, mapping: ColumnMapping) -> tuple[Any, str | None]:
    """A cell as the form reads it (None for an empty cell), or the reason it cannot be read."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    form_field = form.field(key)
    kind = "date" if is_date(key, form) else (form_field.type if form_field else "text")
    if kind == "date":
        clean, reason = _date(value, mapping.date_format, mapping.date_source)
        if reason and YEAR_ALONE.fullmatch(str(value).strip()):  # a register that knows only the year of birth
            reason = ("is a year alone, not a date: write the whole date"
                      + ("; when only the year of birth is known, leave it empty and give the estimated age in years "
                         "(child.age_estimate: an Age column)" if key == "child.date_of_birth" else ""))
        return clean, reason
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10], None
    words = mapping.values.get(key, {})
    common = COMMON_VALUES.get(key, {})
    if kind == "choices":
        parts = [p.strip() for p in re.split(r"[;,/]", str(value)) if p.strip()]
        return [words.get(heading_key(p)) or common.get(heading_key(p)) or p for p in parts], None
    if kind == "choice":
        text = str(value).strip()
        # a mark such as "?" has no letters, so its heading key is empty: looked up as written
        return words.get(heading_key(text)) or common.get(heading_key(text)) or common.get(text) or text, None
    return value, None


YEAR_ALONE = re.compile(r"(19|20)\d\d")  # a four-digit year in a date column, where a date was wanted


# a time of day after a date (a spreadsheet's date-and-time cell saved as CSV: 05/01/2026 14:30, 2026-01-05T14:30)
_TIME_AFTER = re.compile(r"(?:[ T]+|\s*,\s*)\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?$")
_TIME_CODES = re.compile(r"%[HIMSpfXcTR]")  # a date_format that writes a time itself reads it itself


def without_time(text: str, date_format: str | None) -> str:
    """`text` without a time of day written after its date: a date-and-time cell is read as its
    date, in the date_format as in YYYY-MM-DD (the time is not kept: the registration is dated the
    start of the day, as `register --at DATE`). Unless the date_format itself writes a time."""
    if date_format and _TIME_CODES.search(date_format):
        return text
    match = _TIME_AFTER.search(text)
    return text[:match.start()] if match and match.start() > 0 else text


def _date(value: Any, date_format: str | None, source: str = "the mapping's date_format") -> tuple[Any, str | None]:
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    text = without_time(str(value).strip(), date_format)
    shaped = bool(date_format) and in_shape(text, date_format)  # written as the mapping says the register writes dates
    # in the mapping's shape, read by its format first (a YYYY-DD-MM register's 2013-05-02 is 5 February), else YYYY-MM-DD
    for fmt in ([date_format] if shaped else []) + [None] + ([date_format] if date_format and not shaped else []):
        try:
            return (datetime.strptime(text, fmt).date() if fmt else date.fromisoformat(text[:10])), None
        except ValueError:
            pass
    if date_problem(text) == "calendar" and not shaped:
        return None, not_a_date(text)  # YYYY-MM-DD (always read) naming no day, not in the shape of the mapping's format
    if date_format:
        swapped = swapped_format(date_format)
        try:
            if swapped is None:
                raise ValueError
            datetime.strptime(text, swapped)
        except ValueError:
            if in_shape(text, date_format):  # written as the register writes dates, naming no day (31/02/2013)
                shown = format_shown(date_format)
                return None, not_a_calendar_date(f"of {source}" + (f" {shown}" if shown != "(not shown)" else ""))
            return None, f"is not a date in {source}, nor YYYY-MM-DD"
        return None, (f"is not a date in {source}, nor YYYY-MM-DD; it reads with the day and the month "
                      "the other way round: write it as the rest of the register is written")
    return None, "is not a date (YYYY-MM-DD; for another way of writing dates set date_format in the mapping)"


@dataclass(frozen=True)
class Row:
    number: int                     # as the spreadsheet numbers it (the heading row is 1)
    document: dict[str, Any]        # the registration document (nested), before validation
    at: date | None                 # the date of admission or registration, when a column gives it
    columns: Mapping[str, str]      # field key -> the heading of the column it came from
    errors: tuple[FieldError, ...]  # cells that could not be read, named by column
    unread_dates: tuple[int, ...] = ()  # the columns (by index) whose date did not read, among `errors`


def blank(value: Any) -> bool:
    """An empty cell: nothing, or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def holds_a_child(line: list[Any], plan: Mapping[int, str]) -> bool:
    """Whether a line of the sheet is a row to import: a cell in a column that is imported. A
    register numbered in advance has lines with only their number (in a column not imported):
    no child, where each was checked as one and refused for every field it lacked."""
    if plan:
        return any(not blank(line[index]) for index in plan if index < len(line))
    return not all(blank(v) for v in line)


def register_lines(headers: list[Any], cells: Iterable[list[Any]]) -> list[list[str]]:
    """A register's headings and lines as what they say, not as the file happened to be saved:
    the same rows saved again by a spreadsheet program (other line ends, a byte-order mark, a
    delimiter, quotes, empty columns or lines at the end) give the same lines. Each cell as text
    (spaces around it and the kind of line break inside it ignored; a whole number and a date as
    a CSV file writes them), the empty cells at the end of a line dropped, and lines left empty
    dropped. A changed cell, a row added, removed or moved, or a column moved, is another list.
    Where nothing needs it, the lines are the cells as read (what an earlier version digested)."""
    found = []
    for line in itertools.chain([headers], cells):
        out = [_cell_text(value) for value in line]
        while out and not out[-1]:
            out.pop()
        if out:
            found.append(out)
    return found


def _cell_text(value: Any) -> str:
    if type(value) is str:  # most cells (every cell of a CSV file)
        return (value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value).strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()  # as a spreadsheet writes TRUE and FALSE to CSV
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime) and value.time() == datetime.min.time() and value.tzinfo is None:
        value = value.date()
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def rows(headers: list[Any], cells: Iterable[list[Any]], plan: Mapping[int, str], mapping: ColumnMapping, form: Form,
         first_number: int = 2) -> Iterable[Row]:
    """One Row per line of the sheet that holds a child (`holds_a_child`)."""
    from cpcm.domain.records import set_path

    for offset, line in enumerate(cells):
        if not holds_a_child(line, plan):
            continue
        document: dict[str, Any] = {}
        for key, value in mapping.defaults.items():
            set_path(document, key, value)
        at, errors, columns, unread = None, [], {}, []
        for index, key in plan.items():
            value = line[index] if index < len(line) else None
            clean, reason = cell_value(value, key, form, mapping)
            columns[key] = str(headers[index])
            if reason:
                errors.append(FieldError(f"column {headers[index]}", reason))
                if is_date(key, form):
                    unread.append(index)
            elif clean is None:
                continue
            elif key == AT:
                at = clean
            else:
                set_path(document, key, clean)
        yield Row(first_number + offset, document, at, columns, tuple(errors), tuple(unread))


def is_date(key: str, form: Form) -> bool:
    """Whether a column mapped to `key` holds dates (read with the mapping's date_format)."""
    form_field = form.field(key)
    return key == AT or (form_field is not None and form_field.type == "date")


# the ways a register writes dates as text, tried on a column whose dates did not read (the day
# first before the month first, as the registers cpcm is made for write them)
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y.%m.%d", "%d/%m/%y",
                "%m/%d/%y", "%d-%m-%y", "%d.%m.%y", "%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%y")
FEW_DATES = 5   # a column with this many dates that did not read, or fewer, has each named by its row
SHOWN_ROWS = 5  # the row numbers a column's error names


def misread_date_columns(headers: list[Any], cells: list[list[Any]], plan: Mapping[int, str], mapping: ColumnMapping,
                         unread: Mapping[int, list[int]], stated: bool = False) -> dict[int, FieldError]:
    """The date columns whose dates did not read because of how the mapping reads them (a wrong
    date_format, or none for dates written as text), each as one error, not one a row: which
    column, the format tried, how many of its dates did not read, the first row numbers, and
    what to set date_format to (the format of `DATE_FORMATS` that reads every date of the column,
    when one does). `unread`: {column index: the row numbers whose date there did not read}.

    A column is one of them when more than FEW_DATES of its dates did not read, and either one
    format reads every one of its dates or at least half of them did not read. Otherwise its bad
    dates are a few mistakes in cells, each left to be named by its row. The cells' values are
    never in an error. `stated`: the date_format is the command line's --date-format, not the
    mapping's, and is named so."""
    found = {}
    source, fix = (("--date-format", "run the import with --date-format") if stated
                   else ("the mapping's date_format", "set date_format in the mapping file to"))
    for index, numbers in unread.items():
        if len(numbers) <= FEW_DATES:
            continue
        filled, texts = 0, []
        for line in cells:
            value = line[index] if index < len(line) else None
            if blank(value) or not holds_a_child(line, plan):
                continue
            filled += 1
            if isinstance(value, (date, datetime)):
                continue
            text = str(int(value) if isinstance(value, float) and value.is_integer() else value).strip()
            if _date(text, None)[1] is not None:  # not YYYY-MM-DD, which is always read
                texts.append(text)
        fits = [f for f in DATE_FORMATS if all(_reads(text, f) for text in texts)]
        if not fits and 2 * len(numbers) < filled:
            continue
        given = mapping.date_format
        tried = (f"as {source} {format_shown(given)} nor as YYYY-MM-DD" if given
                 else "as YYYY-MM-DD, and the mapping sets no date_format")
        rows = _numbers(numbers)
        reason = f"{len(numbers)} of its {filled} dates did not read {tried} (rows {rows})"
        if len(fits) == 1:
            reason += (f"; every one reads as {fits[0]}: " + (f"run the import with --date-format \"{fits[0]}\"" if stated else
                       f"set date_format: \"{fits[0]}\" in the mapping file") + " if that is how it writes them")
        elif fits:
            reason += f"; every one reads as {fits[0]} and as {fits[1]}: {fix} the one it writes them in"
        else:
            reason += (f"; {fix} how this column writes its dates (%d the day, %m the month, "
                       "%Y the year: \"%d/%m/%Y\" reads 14/03/2014)")
        if given and len(numbers) < len(texts):
            reason += f"; the {len(texts) - len(numbers)} that did read may have been read wrong by it"
        found[index] = FieldError(f"column {headers[index]}", reason)
    return found


def _reads(text: str, date_format: str) -> bool:
    """Whether `text` is a date written in `date_format` (a year before 1900 is a year written in
    two digits read with four: not a way the register writes them)."""
    try:
        return datetime.strptime(without_time(text, date_format), date_format).year >= 1900
    except ValueError:
        return False


_FORMAT = re.compile(r"(?:%[A-Za-z]|[0-9 /.,:\-])*")


def format_shown(date_format: str) -> str:
    """A date_format as a message may show it: codes and separators only (anything else may be
    something else typed there, and is not shown)."""
    return f"\"{date_format}\"" if len(date_format) <= 40 and _FORMAT.fullmatch(date_format) else "(not shown)"


_NUMBER_CODES = {"%d": r"\d{1,2}", "%m": r"\d{1,2}", "%Y": r"\d{4}", "%y": r"\d{2}"}


def in_shape(text: str, date_format: str) -> bool:
    """Whether `text` is written as `date_format` writes a date, whatever its numbers (31/02/2013
    and 15/13/2026 are, for %d/%m/%Y): one that does not read names no day of the calendar. Only
    for a format of numbers (%d, %m, %Y, %y and what stands between them); False for another."""
    pattern = []
    for part in re.split(r"(%.)", date_format):
        if part.startswith("%") and len(part) == 2:
            if part not in _NUMBER_CODES:
                return False
            pattern.append(_NUMBER_CODES[part])
        else:
            pattern.append(re.escape(part))
    return re.fullmatch("".join(pattern), text) is not None


def swapped_format(date_format: str) -> str | None:
    """`date_format` with its day and month swapped (%d/%m/%Y -> %m/%d/%Y), or None when it does
    not hold both (a month written as a name cannot be read as a day)."""
    codes = re.findall(r"%.", date_format)
    if "%d" not in codes or "%m" not in codes:
        return None
    return re.sub(r"%.", lambda m: {"%d": "%m", "%m": "%d"}.get(m.group(), m.group()), date_format)


@dataclass(frozen=True)
class TwoReadings:
    """A date column whose dates read both as the date_format used and with its day and month
    swapped, some of them differently: the register may have been read the wrong way round, and
    every date of those rows moved by months, with no date left unread to say so."""
    column: str                      # the column's heading
    used: str                        # the date_format the import reads it with
    other: str                       # the same with day and month swapped
    dates: int                       # the column's dates
    differ: tuple[int, ...]          # the rows whose date there reads differently the other way
    against_used: tuple[int, ...]    # rows with a date of birth after admission, or a date in the future, read as `used` only
    against_other: tuple[int, ...]   # the same read as `other` only

    def reason(self, stated: bool) -> str:
        """What to say of the column: the two readings, how many rows differ, the rows that make
        one reading unlikely, and how to say which is right. Formats, counts and row numbers only."""
        used, other = format_shown(self.used), format_shown(self.other)
        text = (f"each of its dates reads both as {used}, the date_format used, and as {other}, day and month swapped; "
                f"{len(self.differ)} of its {self.dates} dates read differently ({row_numbers(self.differ)})")
        where = "a date of birth after the date of admission, or a date in the future"
        if self.against_used and not self.against_other:
            text += (f"; read as {used}, {row_numbers(self.against_used)} {'has' if len(self.against_used) == 1 else 'have'} {where}, "
                     f"and read as {other} none has: the register is most likely written {other}")
        elif self.against_other and not self.against_used:
            text += (f"; read as {other}, {row_numbers(self.against_other)} would have {where}, and read as {used} none has: "
                     f"{used} is most likely right")
        elif self.against_used:
            text += (f"; either way some rows have {where} (read as {used}: {row_numbers(self.against_used)}; read as {other}: "
                     f"{row_numbers(self.against_other)})")
        if stated:
            return text + f"; read as {used}, as --date-format states"
        say = (f"run the import with --date-format {used} if that is how the register writes its dates, or with "
               f"--date-format {other} if it writes them the other way"
               if "(not shown)" not in (used, other) else "run the import with --date-format and the way the register writes its dates")
        return text + f"; say which is right: {say}"


def _numbers(numbers: Sequence[int], shown: int = SHOWN_ROWS) -> str:
    return ", ".join(str(n) for n in numbers[:shown]) + (", …" if len(numbers) > shown else "")


def row_numbers(numbers: Sequence[int], shown: int = SHOWN_ROWS) -> str:
    """'row 3', or 'rows 2, 4, 7, …' (the first `shown`)."""
    return ("row " if len(numbers) == 1 else "rows ") + _numbers(numbers, shown)


def two_way_date_columns(headers: list[Any], cells: list[list[Any]], plan: Mapping[int, str], mapping: ColumnMapping,
                         form: Form, today: date, first_number: int = 2) -> dict[int, TwoReadings]:
    """The date columns that read two ways ({column index: TwoReadings}): every date of the column
    written as text reads both as the mapping's date_format and with its day and month swapped
    (every day is the 12th or before), and at least one reads differently (not 05/05). Nothing
    says which is right: a register written 14/03/2014 read with %m/%d/%Y is refused date by
    date, but one whose days are all 12 or less goes in with every date moved by months.

    The register has one date_format: a date anywhere in its date columns that reads as it and
    not the other way round (13/01/2014 as %d/%m/%Y) settles it, and no column is returned. A
    column with a date that does not read as the date_format is not returned: it is an error
    already. Rows with a date of birth after their date of admission, or a date in the future,
    under one reading and not the other, are the evidence each TwoReadings carries (`today`: the
    clock's date). Pure; no cell's value is in what it returns."""
    used = mapping.date_format
    other = swapped_format(used) if used else None
    if not used or not other:
        return {}
    columns = [index for index, key in plan.items() if is_date(key, form)]
    unread: set[int] = set()
    read: list[tuple[int, dict[int, tuple[date, date | None]]]] = []
    for offset, line in enumerate(cells):
        if not holds_a_child(line, plan):
            continue
        dates: dict[int, tuple[date, date | None]] = {}
        for index in columns:
            value = line[index] if index < len(line) else None
            if blank(value):
                continue
            this, that = _both(value, used, other)
            if this is None:
                unread.add(index)
            elif that is None:
                return {}  # read only as `used`: the register writes its dates that way
            else:
                dates[index] = (this, that)
        read.append((first_number + offset, dates))
    born = next((index for index in columns if plan[index] == "child.date_of_birth"), None)
    admitted = next((index for index in columns if plan[index] == AT), None)
    against: tuple[list[int], list[int]] = ([], [])
    for number, dates in read:
        unlikely = [_unlikely(dates.get(born, (None, None))[way], dates.get(admitted, (None, None))[way], today) for way in (0, 1)]
        if unlikely[0] != unlikely[1]:
            against[0 if unlikely[0] else 1].append(number)
    found = {}
    for index in columns:
        differ = tuple(number for number, dates in read if index in dates and dates[index][0] != dates[index][1])
        if differ and index not in unread:
            found[index] = TwoReadings(str(headers[index]), used, other, sum(1 for _, d in read if index in d), differ,
                                       tuple(against[0]), tuple(against[1]))
    return found


def _both(value: Any, used: str, other: str) -> tuple[date | None, date | None]:
    """A date cell read as `used` and as `other` (a spreadsheet date, or YYYY-MM-DD where `used` is not in its
    shape, reads the same either way)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    this, reason = _date(value, used)
    if reason or this is None:
        return None, None
    text = without_time(str(value).strip(), used)
    # YYYY-MM-DD reads one way only, unless the date_format itself is written in that shape (%Y-%d-%m)
    if isinstance(value, (date, datetime)) or (not in_shape(text, used) and _date(value, None)[1] is None):
        return this, this
    try:
        return this, datetime.strptime(text, other).date()
    except ValueError:
        return this, None


def _unlikely(born: date | None, admitted: date | None, today: date) -> bool:
    """A date of birth after the date of admission, or either in the future."""
    return bool((born and born > today) or (admitted and admitted > today) or (born and admitted and born > admitted))
