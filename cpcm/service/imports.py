"""cpcm import cases / import template: a children's home's register in, one case a row.

Every row is read and validated first. Any bad row and nothing is written: every bad cell is
named (sheet, row, column, why; never the value), a heading misspelt for a field's
(`sheets.near_headings`) and a row that repeats a row before it exactly (`_repeated`) too, and
the columns not imported are said with the refusal (`_not_imported_said`). A good file goes in as
one commit. A dry run names rows, never the IDs its checks gave the cases. Probable
duplicates (against the cases already in the repository, and between rows) are flagged, not
refused: the worker decides, as at `cpcm register`. They are found by `duplicates.matches_among`,
which compares only the pairs that share a block, not every row with every row and case.

Not `@writes`: the checks of a large register take a while, and are made without the repository
lock; `import_cases` takes it to write (see there).

A register imported already is not imported again: the commit of an import names the register by
a keyed digest of what its cells say (`register_digest`: HMAC-SHA256 with a key derived from the
importing worker's identity, so that it tells nobody without that identity anything about the
register; the same rows however the file was saved again), and the same worker's import of the
same register finds that commit and says so, with the cases it made, instead of writing them a
second time. A worker whose import was killed after its
commit, before it printed the cases, runs it again and gets the cases, not every child twice.
A register changed since its import (kept by the home: rows added, deleted, a cell corrected) is
another register; its rows that a case's registration already says are left out (`_already_in`),
so only its new rows go in.
"""
from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Mapping

from cpcm import clock
from cpcm.domain import sheets
from cpcm.domain.case import Case
from cpcm.domain.forms import Form, validate
from cpcm.domain.ids import new_case_id
from cpcm.domain.records import CORRECTION_KEYS, Record
from cpcm.errors import CpcmError, FieldError, InvalidInput, Refused, UsageError
from cpcm.service.context import (CASELOAD_OVER_CAP, Context, assignment_checks, keys_for, new_case_checks, load_index, locked, new_record, read_case, readers_for,
                                  recipients_bytes, transaction)
from cpcm.service.cases import duplicate_reason, duplicates_said, held_about, over_age
from cpcm.service.results import Written
from cpcm.service.wording import wording
from cpcm.store import forms
from cpcm.store.faults import crash_point
from cpcm.store.layout import CASES, RECIPIENTS, RECORD_FILE, case_rel, current_rel, split_rel
from cpcm.store.sheets import Sheet
from cpcm.workflow import rules
from cpcm.workflow.age import born_after
from cpcm.workflow.duplicates import key_of, matches_among
from cpcm.workflow.fold import fold


@dataclass(frozen=True)
class Planned:
    row: int
    body: dict[str, Any]
    at: datetime | None


@dataclass(frozen=True)
class Columns:
    """A register's columns as the mapping reads them (`sheets.plan_columns`)."""
    form: Form
    mapping: sheets.ColumnMapping  # with --date-format's in place of its own
    plan: dict[int, str]
    unmapped: list[str]
    errors: list[FieldError]  # the mapping's and the headings'
    near: list[FieldError]  # the headings not imported that are a slip for a field's (`sheets.near_headings`): refused


@dataclass
class Checked:
    """A register read and checked: what to write, and what to warn of."""
    records: list[tuple[int, Case, Record]]  # (row number, the new case, its registration)
    warnings: list[str]
    duplicates: list[dict[str, Any]]
    columns: Columns
    two_way: dict[int, sheets.TwoReadings]  # date columns that read two ways (day, month)
    already_in: list[dict[str, Any]]  # the rows a case holds already (`_already_in`): left out, not imported again


def import_cases(ctx: Context, sheet: Sheet, mapping: Any = None, dry_run: bool = False,
                 progress: Callable[[int], None] | None = None, date_format: str | None = None) -> Written:
    """Register one case per row of `sheet` (the register file, read by `store.sheets.read`),
    its columns mapped by `mapping` (the mapping file's document, or None: headings map by
    themselves). `progress(n)` is told of each row checked and each case written.
    `date_format` (the command line's --date-format): how the register writes its dates, stated
    for this import; it replaces the mapping's date_format.

    A date column that reads two ways (`sheets.two_way_date_columns`: every date of it reads both
    as the date_format and with day and month swapped, some differently) is a warning when the
    format is stated with `date_format` and in a dry run; an import without it is refused
    (nothing written) until the worker states which way the register writes its dates: the
    mapping's date_format may be the template's, left as it was.

    The rows are checked without the repository lock, so other commands write meanwhile: a dry
    run takes no lock at all. An import takes it to write, and then checks again only if another
    command wrote since this one read the repository (the write generation moved): the rows are
    then checked once more, under the lock, on the state the write lands on."""
    ctx.need_worker()
    basis = ctx.basis
    digests = register_digests(ctx, sheet)
    digest = digests[0]
    before = imported_before(ctx, sheet, digests, dry_run, mapping)
    if before is not None:
        return before
    checked = _check(ctx, sheet, mapping, progress, date_format, dry_run)
    if checked.two_way and date_format is None:  # a dry run too: it says what the import would do
        raise _not_imported_said(_dates_two_ways(checked), sheet, checked.columns)
    crash_point("import-checked")  # the rows are checked, the lock not yet taken (a pause point for the tests)
    written: list[dict[str, Any]] = []
    if not dry_run:
        with locked(ctx):
            if basis is None or basis % 2 or ctx.store.generation() != basis:
                before = imported_before(ctx, sheet, digests, mapping=mapping)  # the same register, imported by another run meanwhile
                if before is not None:
                    return before
                checked = _check(ctx, sheet, mapping, None, date_format, dry_run)
            if not checked.records:  # every row is in the repository already: nothing to write
                return _result(ctx, checked, sheet, written, dry_run)
            with transaction(ctx, "import") as tx:
                for row_number, case, record in checked.records:
                    readers = readers_for(ctx, case)
                    tx.replace_file(f"{case_rel(case.id)}/{RECIPIENTS}", recipients_bytes(readers))
                    tx.write_record(record, keys_for(ctx, readers))
                    written.append({"row": row_number, "case_id": case.id, "record_id": record.id})
                    if progress:
                        progress(1)
                tx.commit(f"import {len(written)} cases (register {digest})")  # one form for every count: IMPORT_COMMIT reads it
    return _result(ctx, checked, sheet, written, dry_run)


def _dates_two_ways(checked: Checked) -> Refused:
    """The refusal of an import whose date columns read two ways (`checked.two_way`), --date-format not given."""
    return Refused(f"the register's dates read two ways, day and month swapped ({len(checked.two_way)} column"
                   f"{'s' if len(checked.two_way) != 1 else ''}):\n"
                   + "\n".join(f"  - column {r.column}: {r.reason(False)}" for r in checked.two_way.values()),
                   "State how the register writes its dates: run the import again with --date-format FORMAT "
                   "(the mapping's date_format, or the other way round). Nothing was written.", rule="import-date-format")


def _result(ctx: Context, checked: Checked, sheet: Sheet, written: list[dict[str, Any]], dry_run: bool) -> Written:
    from cpcm.workflow import consent as consent_rules

    # the cases registered with consent refused or not possible, which a supervisor's override lets the work go on
    # with (`consent-refused` on due): said at once, with the one command that records it for them all; a dry run's
    # by their rows, its cases having no ID yet (those its checks gave them are made up, and the import gives others)
    said = bool(written) or dry_run
    unsettled = [(row, case.id) for row, case, _record in checked.records  # not informed: warned of by row (`_not_informed`)
                 if said and getattr(consent_rules.case_work(case, ctx.policy, ctx.now), "state", None) == "refused"]
    ids = [case_id for _row, case_id in unsettled] if written else []
    roles = " or ".join(ctx.policy.get("consent", "override_roles") or ("supervisor", "manager"))
    have = ("has" if len(unsettled) == 1 else "have") if written else "would have"
    steps = [f"{len(unsettled)} of {'these' if written else 'the'} cases {have} consent to registration refused or not "
             f"possible{'' if written else ' (' + sheets.row_numbers([row for row, _ in unsettled], 20) + ')'}: the work on "
             f"them needs a {roles}'s override (legal mandate or best interests), for all of them in one command where the "
             f"basis is the same: cpcm consent {' '.join(ids) if written else 'CASE ...'} --override --purpose registration "
             "--basis legal_mandate|best_interests --reason ..."] if unsettled else []
    return Written(None, tuple(w["record_id"] for w in written), "registration", tuple(checked.warnings), tuple(steps),
                   extra={"imported": len(written), "checked": len(checked.records) + len(checked.already_in),
                          "dry_run": dry_run, "cases": written, "already_in": checked.already_in,
                          "possible_duplicates": checked.duplicates,
                          "columns": {str(sheet.headers[i]): key for i, key in checked.columns.plan.items()},
                          "not_imported": _left_out(sheet, checked.columns), "consent_unsettled": ids,
                          "consent_unsettled_rows": [row for row, _ in unsettled], "already_imported": None},
                   json_keys=("warnings", "next_steps"))


# the HKDF `info` of the key a register's digest is made with: names what the derived bytes are for
DIGEST_INFO = b"cpcm import register digest v1"
DIGEST_CHARS = 24  # 96 bits of the HMAC, in hex
IMPORT_COMMIT = re.compile(r"^import (?P<count>\d+) cases \(register (?P<digest>[0-9a-f]+)\)$")


def register_digest(ctx: Context, sheet: Sheet) -> str:
    """A keyed digest of what the register says: its headings and cells as `sheets.register_lines`
    gives them (not its bytes: the same rows saved again by a spreadsheet program, with other
    line ends, delimiter, quotes, byte-order mark or empty columns and lines at the end, give the
    same digest; a cell changed gives another; not of the mapping: the same children mapped
    another way are the same children). The key is derived from the worker's identity (HKDF, as
    the signing key is), so the digest in the commit message tells nobody without that identity
    anything about the register or a child in it, and two registers never share one."""
    lines = sheets.register_lines(sheet.headers, sheet.rows)
    return _digest(ctx, [lines[0] if lines else [], lines[1:]])


def register_digests(ctx: Context, sheet: Sheet) -> tuple[str, ...]:
    """The digests an import of this register may have been named by: `register_digest`, and the
    digest of the cells exactly as read, which imports made before the lines were normalised
    named it by (the same for a register saved without empty columns or lines at the end)."""
    digest = register_digest(ctx, sheet)
    legacy = _digest(ctx, [sheet.headers, sheet.rows])
    return (digest,) if legacy == digest else (digest, legacy)


def _digest(ctx: Context, cells: Any) -> str:
    from cpcm.crypto.signing import hkdf_sha256

    key = hkdf_sha256(str(ctx.identity.keys[0]).encode(), DIGEST_INFO)
    text = json.dumps(cells, default=str, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), "sha256").hexdigest()[:DIGEST_CHARS]


def imported_before(ctx: Context, sheet: Sheet, digests: tuple[str, ...], dry_run: bool = False,
                    mapping: Any = None) -> Written | None:
    """What an earlier import of this register (by one of its `digests` in a commit message) made,
    as this import's answer: nothing is written, the cases it made are listed row by row. None when
    the register was not imported here (or the repository keeps no history: one in memory)."""
    git = getattr(ctx.store, "git", None)
    if git is None or git.head() is None:
        return None
    out = git.run(["log", "--format=%H%x1f%aI%x1f%s", "--fixed-strings",
                   *(f"--grep=(register {digest})" for digest in digests), "HEAD"])
    found = None
    for line in out.splitlines():
        sha, at, subject = (line.split("\x1f") + ["", ""])[:3]
        match = IMPORT_COMMIT.match(subject.strip())
        if match and match["digest"] in digests:
            found = (sha, at, int(match["count"]))
            break
    if found is None:
        return None
    sha, at, count = found
    at = clock.iso(datetime.fromisoformat(at).astimezone(ctx.zone))
    names = git.run(["diff-tree", "--no-commit-id", "--name-only", "-r", "--root", sha, "--", CASES]).splitlines()
    # the commit may be older than the repository's format 2 (store/upgrade.py): its paths read as they are now
    made = sorted((m["id"], split[1]) for path in names if (split := split_rel(current_rel(path))) and split[0] == CASES
                  and (m := RECORD_FILE.match(split[2])) and m["kind"] == "registration")
    # the rows went in in the register's order (a command's record ids always increase), every one holding a child
    plan = _plan(ctx, sheet, mapping)
    rows = [sheet.heading_row + 1 + n for n, line in enumerate(sheet.rows) if sheets.holds_a_child(line, plan)]
    numbers: list[int | None] = rows if len(rows) == len(made) else [None] * len(made)
    cases = [{"row": row, "case_id": case_id, "record_id": record_id} for row, (record_id, case_id) in zip(numbers, made)]
    return Written(None, tuple(c["record_id"] for c in cases), "registration", (),
                   extra={"imported": 0, "checked": 0, "dry_run": dry_run, "cases": [], "already_in": [],
                          "possible_duplicates": [], "columns": {}, "not_imported": [], "consent_unsettled": [],
                          "consent_unsettled_rows": [],
                          "already_imported": {"commit": sha, "at": at, "count": count, "cases": cases}},
                   json_keys=("warnings", "next_steps"))  # every key an import's answer has (`_result`), a script reads either


def _plan(ctx: Context, sheet: Sheet, mapping: Any) -> dict[int, str]:
    """The columns imported (empty when the mapping or the headings do not make a plan): which
    lines of the register are rows, to number the cases an earlier import made."""
    parsed, errors = sheets.parse_mapping(mapping)
    if errors:
        return {}
    plan, _, errors = sheets.plan_columns(sheet.headers, parsed, forms.load("registration", ctx.root))
    return {} if errors else plan


def _check(ctx: Context, sheet: Sheet, mapping: Any, progress: Callable[[int], None] | None,
           date_format: str | None = None, dry_run: bool = False) -> Checked:
    """Every row read and validated (InvalidInput naming every bad cell when one is), made into
    its registration record, and compared with the cases and the rows before it. `date_format`:
    the one stated on the command line, in place of the mapping's. A refusal says the columns
    not imported too (`_not_imported_said`): one of them may be why."""
    columns = _columns(ctx, sheet, mapping, date_format)
    try:
        return _check_rows(ctx, sheet, columns, progress, date_format, dry_run)
    except Refused as refused:
        raise _not_imported_said(refused, sheet, columns)


def _columns(ctx: Context, sheet: Sheet, mapping: Any, date_format: str | None) -> Columns:
    form = forms.load("registration", ctx.root)
    parsed, errors = sheets.parse_mapping(mapping)
    if errors:
        raise InvalidInput(errors, "the mapping file")
    if date_format is not None:
        if sheets.parse_mapping({"date_format": date_format})[1]:
            raise UsageError("--date-format must be a strftime pattern such as %d/%m/%Y", "Give how the register writes its "
                             "dates: %d the day, %m the month, %Y the year (\"%d/%m/%Y\" reads 14/03/2014).")
        parsed = replace(parsed, date_format=date_format, stated=True)
    plan, unmapped, errors = sheets.plan_columns(sheet.headers, parsed, form)
    # a line none of whose cells is a heading may be no headings at all (a child's row): none of it is shown
    return Columns(form, parsed, plan, unmapped, errors, sheets.near_headings(sheet.headers, unmapped, plan, parsed, form) if plan else [])


def _not_imported_said(refused: Refused, sheet: Sheet, columns: Columns) -> Refused:
    """`refused` (an import refused) with the register's columns not imported, in its hint and in
    its JSON (`not_imported`), each by its place only, as a refused register's line of headings may be
    no headings at all (a child's row, when it has none); the hint leaves out a heading misspelt for a
    field's, which its own problem names (`sheets.near_headings`)."""
    near = {e.field for e in columns.near}
    others = _left_out(sheet, columns, near)
    refused.more["not_imported"] = _left_out(sheet, columns)
    if others and columns.plan:  # with no column imported at all, its refusal says so
        refused.hint = (f"{len(others)} other column(s) not imported, their headings not shown: {sheets.columns_shown(others)} "
                        "(map them in the mapping file if they hold a registration field). "
                        + (refused.hint or "")).strip()
    return refused


def _left_out(sheet: Sheet, columns: Columns, near: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The register's columns not imported, by their place ('column 12 (L)'), never their heading:
    the line read as the headings may be a child's row (a register without headings, or with them
    on another line), and what it holds would go to the terminal and to a script's log. A heading
    misspelt for a field's (`near`: its place, refused) is named by its problem, not here."""
    return [sheets.column_place(i) for i, raw in enumerate(sheet.headers)
            if i not in columns.plan and str(raw) in columns.unmapped and sheets.column_place(i) not in near]


def _not_imported(places: list[str]) -> str:
    """What an import that passes says of the columns it leaves out (`_left_out`: by their place)."""
    return (f"{len(places)} column(s) not imported, their headings not shown: {sheets.columns_shown(places)} "
            "(map them in the mapping file if they hold a registration field)")


def _check_rows(ctx: Context, sheet: Sheet, columns: Columns, progress: Callable[[int], None] | None,
                date_format: str | None, dry_run: bool) -> Checked:
    """`_check`, its columns read: every row checked, then compared with the cases and the rows
    before it; a row that repeats one before it is refused (`_repeated`), unless the two are rows
    imported before (an earlier import made two cases of them: `_already_in` leaves both out)."""
    me = ctx.need_worker()
    form, parsed, plan, near = columns.form, columns.mapping, columns.plan, columns.near
    if columns.errors:
        raise InvalidInput(columns.errors + near, "the mapping of the register's columns", "Correct the mapping file (cpcm import template "
                           "writes one); nothing was written.")
    where = f"sheet {sheet.number}, " if sheet.name != "CSV" else ""  # never its name: it may be a child's
    if not plan:  # a title line above the headings, most often: it was read as the headings
        raise InvalidInput([FieldError(f"{where}row {sheet.heading_row}", "read as the headings, and none of its cells is a "
                                       "registration field's heading")], "the register's heading row",
                           "The headings must be on the register's first line that is not empty: delete any title line above "
                           "them, or name your columns in the mapping file (cpcm import template writes one). Nothing was written.")
    missing = sheets.missing_columns(plan, parsed, form)
    lacking = {e.field for e in missing}  # named once, not again in every row
    workers = [w.id for w in ctx.team.active]
    today = ctx.now.date()
    # a cell may hold a choice's words in the repository's language, as a prompt takes them; the import's
    # refusals stay in English, with their hints (`_with_values_hint`)
    words = replace(wording(ctx, form), say=lambda message: message)
    planned: list[Planned] = []
    named_rows: set[int] = set()  # the rows that name the case's worker
    found_in: list[tuple[str, FieldError]] = []  # (the column or field named, the error)
    unread_dates: dict[int, list[int]] = {}  # column index -> the rows whose date there did not read
    seen: dict[str, int] = {}  # what a row registers -> its row: a row repeated is refused (`_repeated`)
    repeats: dict[int, int] = {}  # a row repeated -> the row before it that it repeats
    born_late: dict[int, FieldError] = {}  # a row whose date of birth is after its date of admission -> its error
    for row in sheets.rows(sheet.headers, sheet.rows, plan, parsed, form, sheet.heading_row + 1):
        body, invalid = validate(form, row.document, today, workers, words)
        unread = {e.field for e in row.errors}  # a cell that could not be read is named once, not again by the form's rules
        found = [(e.field, FieldError(f"{where}row {row.number}: {e.field}", e.reason)) for e in row.errors]
        found += [(column, FieldError(f"{where}row {row.number}: {column}", _with_values_hint(e.reason, column)))
                  for e in invalid if (column := _column(e.field, row.columns)) not in unread and e.field not in lacking]
        for index in row.unread_dates:
            unread_dates.setdefault(index, []).append(row.number)
        at = None
        if row.at is not None:
            if row.at > today:
                column = _column(sheets.AT, row.columns)
                found.append((column, FieldError(f"{where}row {row.number}: {column}", "is in the future")))
            else:
                at = clock.parse_datetime(row.at.isoformat(), "date of registration", ctx.zone)  # midnight there, as --at DATE
                column = _column("child.date_of_birth", row.columns)  # a child registered before being born (`born_after`)
                if column not in unread and column not in [c for c, _ in found] and \
                        (before := born_after(body, row.at, _column(sheets.AT, row.columns))):
                    born_late[row.number] = FieldError(f"{where}row {row.number}: {column}", before.reason)
                    found.append((column, born_late[row.number]))
        named = bool(body.get("worker"))
        if named and not found:  # a worker named: refused where their cadre may not hold the risk, as `assign` refuses one
            column = _column("worker", row.columns)
            found += [(column, FieldError(f"{where}row {row.number}: {column}", f"{check.message} (rule {check.rule}): "
                                          "give the case to a professional or an officer, or leave the worker out to hold it yourself"))
                      for check in assignment_checks(ctx, "the row's case", str(body["worker"]), risk=body.get("risk"),
                                                     caseload=False)[1] if check.refuse]
        found_in += found
        if progress:
            progress(1)
        if found:
            continue
        if named:
            named_rows.add(row.number)
        body.setdefault("worker", me.id)
        item = Planned(row.number, body, at)
        first = _repeated(seen, item)
        if first is not None:
            repeats[row.number] = first  # refused below, unless both rows are in the repository already
        planned.append(item)
    # a column of dates the mapping reads wrong (its date_format) is one error, not one a row; its
    # other errors in every row (a date read wrong, so in the future) are not named either
    misread = sheets.misread_date_columns(sheet.headers, sheet.rows, plan, parsed, unread_dates, date_format is not None)
    named = {e.field for e in misread.values()}
    errors = [FieldError(where + e.field, e.reason) for e in misread.values()]
    # a date column that reads as well with day and month swapped: said with the errors, when there are
    # any (the dates read the wrong way round may be what put some in the future), unless the format is stated
    two_way = sheets.two_way_date_columns(sheet.headers, sheet.rows, plan, parsed, form, today, sheet.heading_row + 1)
    said = [FieldError(f"{where}column {r.column}", r.reason(date_format is not None)) for r in two_way.values()
            if date_format is None or r.against_used]
    # a date of birth after admission read so only by a date_format not stated, whose columns read two ways, is that
    # reading's evidence (said with them, `TwoReadings.against_used`), not a cell to correct: the import waits for
    # --date-format, and the row is checked again as it states
    evidence = {number for r in two_way.values() for number in r.against_used} if date_format is None else set()
    errors += [e for column, e in found_in if column not in named
               and not any(e is born_late.get(number) for number in evidence)]
    bad = bool(missing or near or errors)

    def refused(repeated: list[FieldError]) -> InvalidInput:
        """The register's problems at once: its cells' and its rows repeated (`repeated`), in one run."""
        errors[len(misread):len(misread)] = said
        rows = sum(1 for line in sheet.rows if sheets.holds_a_child(line, plan))  # as a dry run counts them: blank lines are no rows
        return InvalidInput(missing + near + errors + repeated, f"the register ({rows} row{'s' if rows != 1 else ''})",
                            _what_to_do(bool(missing), bool(near), bool(misread), bool(said), len(errors) > len(misread) + len(said),
                                        date_format is not None, bool(repeated)))

    if bad and not repeats:
        raise refused([])
    if not planned:
        raise InvalidInput([FieldError("rows", "the register holds no rows under its headings")], "the register")
    existing = set(ctx.store.case_ids())
    cases = load_index(ctx)  # every case, with the fields the duplicate and caseload checks read
    records: list[tuple[int, Case, Record]] = []
    for item in planned:
        case_id = new_case_id()
        while case_id in existing:
            case_id = new_case_id()
        existing.add(case_id)
        record = new_record(ctx, "registration", case_id, item.body, item.at)
        records.append((item.row, fold(case_id, [record]), record))
    warnings, duplicates = [], []
    about = held_about(cases)
    known = [(case.id, key_of(case)) for case in cases.values()]
    found = matches_among([key_of(case) for _, case, _ in records], known)
    held = _already_in(ctx, [(item, record) for item, (_, _, record) in zip(planned, records)], found)
    already_in = [{"row": records[index][0], "case_id": case_id} for index, case_id in held.items()]
    for entry in already_in:
        warnings.append(f"{where}row {entry['row']}: in the repository already as {entry['case_id']} (its registration "
                        "says what the row says): left out, not imported again")
    rows_held = {records[index][0] for index in held}
    repeated = [FieldError(f"{where}row {row}", f"is row {first} again, the same in every column imported: delete one of the "
                           "two rows (a child is registered once)") for row, first in repeats.items() if row not in rows_held]
    if bad:  # a row repeated is said with the other problems, not in a run of its own once they are corrected
        raise refused(repeated)
    if repeated:  # (two such rows that an earlier import made two cases of are left out, as any row imported before)
        raise InvalidInput(repeated, f"the register ({len(planned)} row{'s' if len(planned) != 1 else ''})",
                           "Delete one of each two rows named; nothing was written.")
    for (row_number, _, _), (same_as_cases, same_as_rows) in zip(records, found):
        if row_number in rows_held:
            continue
        # a case merged into another is named by the case the child's work goes on in, once (as at `cpcm register`)
        named = duplicates_said(ctx, same_as_cases, about)
        for said in named:
            duplicates.append({"row": row_number, **{k: v for k, v in said.items() if k != "status"}})
            warnings.append(f"{where}row {row_number}: possibly the same child as {said['case_id']} ({duplicate_reason(said)})")
        for earlier in same_as_rows:
            before = records[earlier][0]
            if before in rows_held:  # that row is left out: its case is the one to compare with
                before_case = held[earlier]
                if before_case not in [said["case_id"] for said in named]:
                    duplicates.append({"row": row_number, "case_id": before_case, "reason": "possibly the same child"})
                    warnings.append(f"{where}row {row_number}: possibly the same child as {before_case}")
                continue
            duplicates.append({"row": row_number, "row_before": before, "reason": "possibly the same child"})
            warnings.append(f"{where}row {row_number}: possibly the same child as row {before}")
    records = [entry for index, entry in enumerate(records) if index not in held]
    for row_number, case, record in records:  # a worker's cadre that may not hold the case's risk (warned of; a named worker's
        # refusal is above); a dry run's case has no ID yet (the one it was given for the checks is made up)
        subject, command = ("the row's case", "CASE") if dry_run else (case.id, case.id)
        checks = assignment_checks(ctx, subject, case.worker, risk=case.risk, caseload=False)[1]
        warnings += [f"{where}row {row_number}: {warning}"
                     for warning in new_case_checks(checks, command, named=row_number in named_rows)]
        # a child 18 or older on the day of admission, by the row's date of birth or age: as `cpcm register` warns
        warnings += [f"{where}row {row_number}: {warning}"
                     for warning in over_age(ctx, subject, case, clock.parse_datetime(record.at).date(), command)]
    warnings += _not_informed(ctx, records, where)
    warnings += _caseload(ctx, [case for _, case, _ in records], cases)
    left_out = [sheet.heading_row + 1 + n for n, line in enumerate(sheet.rows)
                if not sheets.holds_a_child(line, plan) and not all(sheets.blank(v) for v in line)]
    if left_out:
        warnings.append(f"{where}{len(left_out)} row(s) left out, with nothing in the columns imported: {sheets.row_numbers(left_out)}")
    if left := _left_out(sheet, columns):
        warnings.append(_not_imported(left))
    warnings = [f"{where}column {r.column}: {r.reason(date_format is not None)}" for r in two_way.values()] + warnings
    return Checked(records, warnings, duplicates, columns, two_way, already_in)


def _not_informed(ctx: Context, records: list[tuple[int, Case, Record]], where: str) -> list[str]:
    """The rows whose consent to registration is `given` though what consent means was not explained (a
    `consent.explained` column saying no: `consent_rules.registration_not_informed`), named by their rows, one
    warning for the rows of the same givers, as `cpcm register` warns of one (each case's ID is in the list below)."""
    from cpcm.workflow import consent as consent_rules

    found: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    for row_number, _case, record in records:
        whose, missing = consent_rules.registration_not_informed(record.body, ctx.policy)
        if whose:
            found.setdefault((whose, missing), []).append(row_number)
    return [f"{where}{sheets.row_numbers(rows)}: {consent_rules.not_informed_text('CASE', 'registration', whose, missing, relied_on='')}"
            for (whose, missing), rows in found.items()]


def _what_to_do(missing: bool, near: bool, misread: bool, said: bool, cells: bool, stated: bool, repeated: bool = False) -> str:
    """The hint of a register refused: what to do for each kind of its problems (fields no column holds,
    headings misspelt, columns of dates read wrong or two ways, cells, rows repeated; `stated`: --date-format given)."""
    return (("For a field no column holds: add a column, name one for it under columns: in the mapping file, or, only if it "
             "is true of every row, give it under defaults:. " if missing else "")
            + ("For a heading that is a field's misspelt: correct it in the register, or name the field it holds under "
               "columns: in the mapping file (or ~ to leave the column out). " if near else "")
            + (("For a column of dates that did not read: give --date-format the way the register writes them. " if stated
                else "For a column of dates that did not read: set date_format in the mapping file (cpcm import template "
                "writes one). ") if misread else "")
            + ("For a column of dates that read two ways: run the import with --date-format FORMAT, the way the register "
               "writes them. " if said else "")
            + ("For a row that is a row before it again: delete one of the two. " if repeated else "")
            + ("Correct the cells named above; n" if cells else "N") + "othing was written.")


def _repeated(seen: dict[str, int], item: Planned) -> int | None:
    """The row before `item` that registers exactly what it registers (every column imported the
    same, and so its date and worker), or None; `item` is noted in `seen` (in memory only)."""
    said = json.dumps([item.at.isoformat() if item.at else None, item.body], sort_keys=True, default=str, ensure_ascii=False)
    first = seen.setdefault(said, item.row)
    return first if first != item.row else None


def _already_in(ctx: Context, rows: list[tuple[Planned, Record]],
                found: list[tuple[list[tuple[str, str]], list[int]]]) -> dict[int, str]:
    """{index of the row: the case that holds it already}: a row whose registration, as the import
    would write it, is what a probable duplicate's registration (as first written: not a correction)
    says, field for field (the assigned worker aside), on the same date of admission when the row
    gives one. That is the row imported before from a register since changed (a row added, a cell
    corrected, a row removed): its digest is another, and without this every child went in a second
    time, each only flagged. Only the probable duplicates are read, and only those you may read
    (a case of a colleague's that you cannot read is left a warning). Compared in memory only.

    One case holds one row: rows that say the same but for their worker match the same cases, and
    each is named with the case it made. So the rows, in the register's order, each take the first
    registered of their cases that no row before took (an import registers its rows in the
    register's order, and record IDs increase); a row whose every such case a row before took is a
    new row (imported, flagged as a probable duplicate)."""
    said: dict[str, list[tuple[str, str, str]]] = {}  # case -> (registration record ID, its date, its fields)
    held: dict[int, str] = {}
    taken: set[str] = set()  # the cases a row took
    for index, ((item, record), (same_as_cases, _)) in enumerate(zip(rows, found)):
        at, mine = _what_it_says(record)
        matching = []
        for other, _reason in same_as_cases:
            if other not in said:
                said[other] = _registrations(ctx, other)
            matching += [(record_id, other) for record_id, then, body in said[other]
                         if other not in taken and body == mine and (item.at is None or then == at)]
        if matching:
            held[index] = min(matching)[1]
            taken.add(held[index])
    return held


def _registrations(ctx: Context, case_id: str) -> list[tuple[str, str, str]]:
    """The case's registrations as first written (no correction): each (its record ID, `_what_it_says`);
    none for a case you may not read, or damaged."""
    try:
        records = read_case(ctx, case_id, strict=False)[0]
    except CpcmError:  # not yours to read, or damaged: the warning stays
        return []
    return [(r.id, *_what_it_says(r)) for r in records if r.kind == "registration" and not any(k in r.body for k in CORRECTION_KEYS)]


def _what_it_says(record: Record) -> tuple[str, str]:
    """(its date, its fields but the assigned worker), comparable whether written now or read back."""
    body = {k: v for k, v in record.body.items() if k != "worker" and k not in CORRECTION_KEYS}
    return record.at, json.dumps(body, sort_keys=True, default=str, ensure_ascii=False)


def _with_values_hint(reason: str, column: str) -> str:
    """A register's word that is none of a list's: the register may mean one of them by it, which
    the mapping's `values:` says once for every row (a typing slip is corrected in the cell)."""
    if column.startswith("column ") and reason.startswith("is not one of: "):
        return reason + "; correct the cell, or, if the register writes one of them this way, say which under values: in the mapping file"
    return reason


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
    for worker, count in sorted(added.items()):  # the caseload of `assignment_checks`, warned of where it would refuse too
        checks = assignment_checks(ctx, "", worker, count=before.get(worker, 0) + count - 1)[1]
        found += [check.message for check in checks if check.rule == CASELOAD_OVER_CAP]
    return found


def import_template(ctx: Context) -> tuple[str, str]:
    """(a starting mapping file, an example register as CSV) for the registration form in force."""
    form = forms.load("registration", ctx.root)
    lines = ["# The mapping for cpcm import cases: which column of your register holds which registration field.",
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
