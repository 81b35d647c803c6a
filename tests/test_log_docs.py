"""docs/commands/cases.md describes `cpcm log` as it prints: every column of the table (the
`signed` column was missing from the page's example and its column list) and every key of its
--json (`unreadable`, `signed_by` and `signature` were not described)."""
from __future__ import annotations

import re
from pathlib import Path

from conftest import register

DOC = Path(__file__).resolve().parents[1] / "docs" / "commands" / "cases.md"


def log_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("## cpcm log"):text.index("## cpcm repair")]


def test_log__every_column_and_json_key_is_on_its_docs_page(cli):
    case_id = register(cli)
    table = cli("log", case_id)
    assert table.code == 0, table.stderr
    header = table.stdout.splitlines()[0].split("\t")
    section = log_section()
    example = next(line for line in section.splitlines() if line.startswith("at\t"))
    assert example.split("\t") == header, (example, header)
    described = {m.group(1) for m in re.finditer(r"^\| (\S+) \|", section, re.M)}
    assert set(header) <= described, set(header) - described
    keys = set(cli("log", case_id, "--json").json()[0])
    assert {k for k in keys if f"`{k}`" not in section and f'"{k}"' not in section} == set()
