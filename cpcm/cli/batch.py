"""`cpcm review --batch FILE`: the batch itself, without typer, so that the fast path
(cli/fast.py) runs it without importing typer and click; the typer command calls the same
function, so output, errors and exit codes are the same either way."""
from __future__ import annotations

import re
from pathlib import Path


def review_batch_command(batch: Path, dry_run: bool, repo: Path | None, identity: Path | None, json_out: bool) -> None:
    """Check every row of `batch` and, unless `dry_run`, write their reviews in one commit."""
    from cpcm import service
    from cpcm.cli.common import open_ctx, print_json, say, warn, with_progress

    ctx = open_ctx(repo, identity)
    rows = read_rows(batch)
    result = with_progress(lambda tick: service.review_batch(ctx, rows, dry_run, tick), len(rows) * (1 if dry_run else 2), "reviews")
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
    data = _json_rows(path) if path.suffix.lower() == ".json" else None
    if data is None:
        data = read_yaml_input(str(path), "--batch")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise UsageError("--batch: a batch is a YAML list of mappings (one per case) or a CSV file")
    return data


# characters YAML does not take as they are in a stream (it takes them escaped), reads as line breaks
# (U+0085, U+2028, U+2029) or as a byte order mark, and the tab, which it does not take everywhere JSON
# does; a lone surrogate (from a JSON escape) is not text
_NOT_YAML_TEXT = re.compile("[^\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # JSON writes a character past U+FFFF as two of them; YAML does not


class _NotPlain(Exception):
    """JSON that the YAML reader might read otherwise, or refuse: left to it."""


def _pairs(pairs: list) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise _NotPlain  # a key given twice: the YAML reader names it
    return data


def _refuse(_value: str):
    raise _NotPlain  # NaN, Infinity: the YAML reader refuses them


def _json_rows(path: Path) -> object | None:
    """A JSON batch file read with Python's json module, when the YAML reader (`codec.load_input`,
    20 times slower) would read it to exactly the same value: JSON without tabs, duplicate keys,
    escaped surrogates, non-finite numbers, long keys, lone surrogates, and within the reader's limits of nesting and
    size. None for anything else (or when it does not read as JSON): the YAML reader reads it,
    and says what is wrong with it."""
    import json
    import math

    from cpcm.cli.common import read_input
    from cpcm.store import codec

    text = read_input(str(path), "--batch")
    if len(text) > codec.MAX_CHARS or _NOT_YAML_TEXT.search(text) or _SURROGATE_ESCAPE.search(text):
        return None
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_refuse)
    except (ValueError, RecursionError, _NotPlain):
        return None
    count = 0
    todo = [(data, 0)]
    while todo:
        value, depth = todo.pop()
        count += 1
        if count > codec.MAX_NODES:
            return None
        if isinstance(value, (dict, list)):
            if depth >= codec.MAX_DEPTH:
                return None
            if isinstance(value, dict):
                for key in value:
                    if len(key) > 1000 or _SURROGATE.search(key):
                        return None
                    count += 1
                items = value.values()
            else:
                items = value
            todo.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            if _SURROGATE.search(value):
                return None
        elif isinstance(value, float) and not math.isfinite(value):
            return None
    return data
