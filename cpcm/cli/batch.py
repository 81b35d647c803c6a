"""`cpcm review --batch FILE`: the batch itself, without typer, so that the fast path
(cli/fast.py) runs it without importing typer and click; the typer command calls the same
function, so output, errors and exit codes are the same either way."""
from __future__ import annotations

from pathlib import Path


def review_batch_command(batch: Path, dry_run: bool, repo: Path | None, identity: Path | None, json_out: bool) -> None:
    """Check every row of `batch` and, unless `dry_run`, write their reviews in one commit."""
    from cpcm import service
    from cpcm.cli.common import open_ctx, print_json, say, warn, with_progress

    ctx = open_ctx(repo, identity)
    rows = read_rows(batch)
    first = 2 if batch.suffix.lower() == ".csv" else 1  # a CSV file's header is its row 1
    result = with_progress(lambda tick: service.review_batch(ctx, rows, dry_run, tick, first), len(rows) * (1 if dry_run else 2),
                           "reviews")
    for message in result.warnings:
        warn(message)
    if json_out:
        print_json(result.to_json())
    else:
        say(f"{result.extra['checked']} review(s) checked"
            + (", nothing written (--dry-run)" if dry_run else f", {result.extra['reviewed']} written in one commit"))


def read_rows(path: Path) -> list[dict]:
    """Rows of a batch file: a YAML list of mappings, or CSV with dotted column names
    (attended.child) and ';' between the items of a list (decisions)."""
    from cpcm.cli.common import read_table, read_yaml_input
    from cpcm.domain.text import put
    from cpcm.errors import UsageError

    if path.suffix.lower() == ".csv":
        rows = []
        for number, raw in enumerate(read_table(path, "--batch"), start=2):
            row: dict = {}
            for key, value in raw.items():
                if key and isinstance(value, str) and value.strip():
                    put(row, key.strip(), value.strip(), f"--batch: row {number}")
            rows.append(row)
        return rows
    data = read_yaml_input(str(path), "--batch")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise UsageError("--batch: a batch is a YAML list of mappings (one per case) or a CSV file")
    return data
