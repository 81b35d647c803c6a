"""Regenerate every generated table in docs/ (`make docs`), or check that none is stale (`--check`).

A generated region sits between two markers, and only the text between them is rewritten:

    <!-- generated: NAME (make docs) -->
    ...
    <!-- end generated: NAME -->

    python docs/tools/generate.py           # rewrite the regions
    python docs/tools/generate.py --check   # exit 1 naming each stale region; write nothing
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent
sys.path[:0] = [str(HERE), str(DOCS.parent)]

import clocks  # noqa: E402
import rule_codes  # noqa: E402
import text_limits  # noqa: E402
import transitions_table  # noqa: E402

# (file under docs/, region name) -> what writes it
REGIONS: dict[tuple[str, str], Callable[[], str]] = {
    ("workflow.md", "stages"): transitions_table.by_stage,
    ("workflow.md", "clocks"): clocks.table,
    ("exit-codes.md", "rule-codes"): rule_codes.table,
    ("case-format.md", "text-limits"): text_limits.table,
}


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {re.escape(name)} \(make docs\) -->\n)(.*?)(<!-- end generated: {re.escape(name)} -->)",
                      re.DOTALL)


def render(docs: Path = DOCS) -> dict[Path, tuple[str, str]]:
    """{file: (text now, text with every region regenerated)}."""
    out: dict[Path, tuple[str, str]] = {}
    for (file, name), make in REGIONS.items():
        path = docs / file
        before, text = out.get(path, (path.read_text(encoding="utf-8"),) * 2)
        pattern = _pattern(name)
        if len(pattern.findall(text)) != 1:
            raise SystemExit(f"docs/{file}: needs exactly one generated region '{name}' between its markers")
        table = make().rstrip("\n") + "\n"
        text = pattern.sub(lambda m: m.group(1) + table + m.group(3), text)
        out[path] = (before, text)
    return out


def stale(docs: Path = DOCS) -> list[str]:
    found = []
    for path, (before, after) in render(docs).items():
        if before != after:
            names = [name for (file, name) in REGIONS if docs / file == path
                     and _pattern(name).search(before).group(2) != _pattern(name).search(after).group(2)]
            found += [f"docs/{path.name}: {name}" for name in names]
    return found


def main(argv: list[str]) -> int:
    if "--check" in argv:
        found = stale()
        for item in found:
            print(f"stale generated region: {item} (run: make docs)")
        return 1 if found else 0
    for path, (before, after) in render().items():
        if before != after:
            path.write_text(after, encoding="utf-8")
            print(f"updated docs/{path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
