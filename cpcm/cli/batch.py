"""`cpcm review --batch FILE`: the batch itself, without typer, so that the fast path
(cli/fast.py) runs it without importing typer and click; the typer command calls the same
function, so output, errors and exit codes are the same either way. `cpcm assign --batch FILE`
reads its file the same way (`assign_batch_command`)."""
from __future__ import annotations

import re
from pathlib import Path


def review_batch_command(batch: Path, dry_run: bool, repo: Path | None, identity: Path | None, json_out: bool) -> None:
    """Check every row of `batch` and, unless `dry_run`, write their reviews in one commit."""
    from cpcm import service

    _run_batch(batch, "review", lambda ctx, header: check_columns(header, service.form_for(ctx, "review"), ctx.root),
               service.review_batch, "reviews", "reviewed", dry_run, repo, identity, json_out, steps=True)


def assign_batch_command(batch: Path, dry_run: bool, repo: Path | None, identity: Path | None, json_out: bool) -> None:
    """`cpcm assign --batch FILE`: check every row (a case and the worker who takes it over) and,
    unless `dry_run`, assign them all in one commit."""
    from cpcm import service

    _run_batch(batch, "assignment", lambda ctx, header: check_assign_columns(header), service.assign_batch, "assignments",
               "assigned", dry_run, repo, identity, json_out, steps=True)


def _run_batch(batch: Path, what: str, check_header, run, label: str, written_key: str, dry_run: bool, repo: Path | None,
               identity: Path | None, json_out: bool, steps: bool) -> None:
    """A batch command: its rows read (`read_rows`), a CSV file's columns checked (`check_header`),
    `run(ctx, rows, dry_run, tick, numbers)` with a progress bar of `label`, its warnings, then its
    JSON or a line of what was checked and written (`written_key`: the result's count of them) and,
    with `steps`, its next steps."""
    from cpcm.cli.common import open_ctx, with_progress

    ctx = open_ctx(repo, identity)
    rows = read_rows(batch, what)
    if batch.suffix.lower() == ".csv" and rows:
        check_header(ctx, list(rows.header))
    numbers = getattr(rows, "numbers", None)  # a CSV file's rows as a spreadsheet numbers them (its header is row 1)
    result = with_progress(lambda tick: run(ctx, rows, dry_run, tick, numbers), len(rows) * (1 if dry_run else 2), label)
    print_batch(result, what, written_key, dry_run, json_out, steps)


def print_batch(result, what: str, written_key: str, dry_run: bool, json_out: bool, steps: bool, lines=()) -> None:
    """What a batch (or a handover, `assign --from-worker`) says: its warnings, then its JSON, or a
    line of what was checked and written (`written_key`: the result's count of them), `lines`
    (one per row, where the command names them) and, with `steps`, its next steps."""
    from cpcm.cli.common import print_json, say, warn

    for message in result.warnings:
        warn(message)
    if json_out:
        print_json(result.to_json())
        return
    already = len(result.extra.get("already_recorded") or ())
    if already and not dry_run and not result.extra[written_key]:
        say(f"{result.extra['checked']} {what}(s) checked, nothing written: {already_words(already, what)}")
    else:
        say(f"{result.extra['checked']} {what}(s) checked"
            + (", nothing written (--dry-run)" if dry_run else f", {result.extra[written_key]} written in one commit")
            + (f"; {already_words(already, what)}" if already else ""))
    for line in lines:
        say(line)
    for step in result.next_steps if steps else ():
        say(f"{'would be: ' if dry_run else 'next: '}{step}")


def check_assign_columns(header: list[str]) -> None:
    """The columns of a CSV assignment batch are `case` and `worker`: any other is refused, by
    its number (and its heading where it is a near miss of one), before any row."""
    from cpcm.domain.forms import FIELD_NAME, near_field
    from cpcm.errors import FieldError, InvalidInput
    from cpcm.service.cases import BATCH_COLUMNS

    problems = []
    for number, name in enumerate(header, start=1):
        if not name or name in BATCH_COLUMNS:
            continue
        close = near_field(name, BATCH_COLUMNS)
        if close and FIELD_NAME.fullmatch(name):
            problems.append(FieldError(f"column {number} ({name})", f"is not a column of an assignment batch; did you mean '{close}'?"))
        else:
            problems.append(FieldError(f"column {number}", "is not a column of an assignment batch, which has two: case and worker "
                                                            "(its heading is not shown, as it may hold personal details)"))
    missing = [name for name in BATCH_COLUMNS if name not in header]
    if missing:
        problems.append(FieldError("columns", f"no column {' or '.join(missing)}: a row is a case ('case') and the worker who "
                                              "takes it over ('worker')"))
    if problems:
        raise InvalidInput(problems, "the heading row of --batch")


def read_rows(path: Path, one: str = "review") -> list[dict]:
    """Rows of a batch file: a YAML list of mappings, or CSV with dotted column names
    (attended.child) and ';' between the items of a list (decisions). `one`: what a row is
    (`review`, `assignment`), for the messages."""
    from cpcm.cli.common import read_table, read_yaml_input
    from cpcm.domain.text import put, unread_cells
    from cpcm.errors import UsageError

    if path.suffix.lower() == ".csv":
        table = read_table(path, "--batch")
        header = [key for key in (table[0] if table else {}) if key is not None]
        if len(header) == 1 and ";" in header[0] and "," not in header[0]:
            raise UsageError("--batch: the columns of this CSV file are separated by ';'",
                             "Save it with ',' between columns (in a spreadsheet: CSV, comma-separated); ';' separates "
                             "the items of a list within a cell (decisions).")
        unread_cells(table, "--batch")
        rows = _Rows()
        rows.header = [key.strip().lower() for key in header]
        rows.numbers = table.numbers
        for number, raw in zip(table.numbers, table):
            row: dict = {}
            for key, value in raw.items():
                if key and isinstance(value, str) and value.strip():
                    put(row, key.strip().lower(), value.strip(), f"--batch: row {number}")
            if one == "review" and isinstance(row.get("progress"), str):
                row["progress"] = progress_cell(row["progress"])
            rows.append(row)
        return rows
    data = read_yaml_input(str(path), "--batch")
    if isinstance(data, dict):
        raise UsageError("--batch: a batch is a YAML list of mappings (one per case) or a CSV file; this one is a single mapping",
                         "Start each case's review with '- ' (a list item), or review one case with cpcm review CASE --from-file FILE."
                         if one == "review" else
                         "Start each case's row with '- ' (a list item): '- case: CP-…' with 'worker: ID' under it; or assign one "
                         "case with cpcm assign CASE --worker WORKER.")
    if not isinstance(data, list):
        raise UsageError("--batch: a batch is a YAML list of mappings (one per case) or a CSV file")
    bad = [number for number, row in enumerate(data, start=1) if not isinstance(row, dict)]
    if bad:
        rows = (f"row {bad[0]} is not a mapping" if len(bad) == 1 else
                f"rows {', '.join(map(str, bad[:20]))}{', …' if len(bad) > 20 else ''} are not mappings")
        if one == "review":
            raise UsageError(f"--batch: {rows}: a row is one case's review, its fields as key: value",
                             "Write each row as 'case: CP-…' and the review's fields under the same '- '; nothing was written.")
        raise UsageError(f"--batch: {rows}: a row is one case's {one}, as key: value",
                         "Write each row as '- case: CP-…' with 'worker: ID' under it; nothing was written.")
    return data


# ITEM, then `=` or a space, then the status up to the first `:` (a status in words, `in progress`,
# stays one status: the form reads it as it reads YAML's, and names one it does not know), then the note.
PROGRESS_ENTRY = re.compile(r"\s*([^\s=:]+)\s*(?:=|\s)\s*([^\s:][^:]*?)\s*(?::\s*(.*\S))?\s*")


def progress_cell(text: str) -> list[dict]:
    """A review's `progress` in one CSV cell: entries separated by ';', each `ITEM=STATUS` with an
    optional `: note` (`A5=done: enrolled; G1=in progress`: the status up to the `:`, words as the
    form reads them in YAML). An entry not written so is kept as its
    item alone, so that the form names what is missing (its status) for that row."""
    entries = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        found = PROGRESS_ENTRY.fullmatch(part)
        if found is None:
            entries.append({"item": part})
            continue
        entry = {"item": found.group(1), "status": found.group(2).lower()}
        if found.group(3):
            entry["note"] = found.group(3)
        entries.append(entry)
    return entries


class _Rows(list):
    """A CSV batch's rows, with its column headings as read (trimmed, in lower case) and each
    row's number as a spreadsheet shows it (`numbers`: the header is row 1)."""
    header: list[str] = []
    numbers: list[int] = []


def check_columns(header: list[str], form_name: str, root) -> None:
    """Every column of a CSV batch is `case` or a field of the form (`attended.child`): the
    columns that are not are refused together, before any row, each by its number (and its
    heading where it is a near miss of a field; another heading may hold personal details)."""
    from cpcm.domain.forms import FIELD_NAME, near_field
    from cpcm.errors import FieldError, InvalidInput
    from cpcm.store import forms

    form = forms.load(form_name, root)
    keys = [f.key for f in form.fields]
    problems = []
    for number, name in enumerate(header, start=1):
        if not name or name == "case" or name in keys or any(k.startswith(name + ".") for k in keys):
            continue
        close = near_field(name, keys)
        if close and FIELD_NAME.fullmatch(name):
            problems.append(FieldError(f"column {number} ({name})", f"is not a field of the {form.kind} form; did you mean '{close}'?"))
        else:
            problems.append(FieldError(f"column {number}", f"is not a field of the {form.kind} form (its heading is not shown, as "
                                                            f"it may hold personal details; cpcm form blank {form.name or form.kind} lists the fields)"))
    if problems:
        raise InvalidInput(problems, "the heading row of --batch")


def already_words(count: int, what: str) -> str:
    """What a batch says of its rows whose record was made already (a batch run a second time)."""
    return (f"{count} {what}(s) already recorded today by you with the same fields (this batch ran before), "
            "not recorded twice")
