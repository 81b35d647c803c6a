"""What the commands of the folders of their own print (service/folders.py): `cpcm supervision`,
`cpcm complaint` and `cpcm confidential`. A new one's ID, a list of those you read and one shown
field by field, each rich on a terminal, plain when piped and as JSON with --json. No typer here:
each command group keeps its own options, columns and texts."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence, TypeVar

from cpcm.cli.common import print_json, print_table, report_problems, report_written

T = TypeVar("T")


def day(value: str, zone) -> str:
    """A stored time as the agency's local date and time; '' where there is none."""
    from cpcm.domain.dates import local_text

    return local_text(value, zone) if value else ""


def print_new(result, json_out: bool, done: str) -> None:
    """A folder written (`done`: what the terminal says), then its ID alone on standard output for
    a script to take (with --json: in the JSON only)."""
    report_written(result, json_out, done)
    if not json_out:
        print(result.subject_id)


def print_list(ctx, found: Sequence[T], json_out: bool, as_json: Callable[[T], Any], columns: Sequence[str],
               row: Callable[[T], Iterable[Any]], title: str) -> None:
    """The folders you read (`found`): a table (`columns`, a `row` each), or with --json a list
    (`as_json` each); then the problems met while reading them (cli/common.py `report_problems`)."""
    if json_out:
        print_json([as_json(item) for item in found])
    else:
        print_table(columns, [row(item) for item in found], title=title)
    report_problems(ctx)


def print_one(found, json_out: bool, rows: Callable[[], Iterable[tuple[str, Any]]], title: str | None = None) -> None:
    """One folder as it stands: its `to_dict()` with --json, else a table of (field, value) `rows`."""
    if json_out:
        print_json(found.to_dict())
        return
    print_table(["field", "value"], rows(), title=title)
