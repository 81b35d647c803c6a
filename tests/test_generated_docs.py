"""The generated tables in docs/ (stages, clocks, rule codes) are current, and every rule code in
cpcm's source is documented. `make docs` rewrites them (docs/tools/generate.py)."""
from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "tools"))

import codes  # noqa: E402
import generate  # noqa: E402
import rule_codes  # noqa: E402

_REAL_SCAN = codes.scan


@functools.cache
def _source_scanned() -> tuple:
    found, suffixes = _REAL_SCAN()
    return tuple(found), tuple(suffixes)


def _scan(package: Path = codes.PACKAGE):
    if Path(package) != codes.PACKAGE:
        return _REAL_SCAN(package)
    found, suffixes = _source_scanned()
    return list(found), list(suffixes)


@pytest.fixture(autouse=True)
def source_scanned_once(monkeypatch):
    """`codes.scan` of cpcm's own source (each of its modules parsed: the costly part of the
    generator and of these tests) made once per process, as cpcm's files do not change while the
    tests run; the scan of any other folder (the test of the scan itself) runs each time."""
    monkeypatch.setattr(codes, "scan", _scan)


CONFERENCE_CODES = {"conference-closed", "conference-minutes-required", "conference-close-needs-reader",
                    "conference-no-names", "conference-confidentiality-agreement", "conference-not-held-yet",
                    "conference-case-nominated", "conference-member-barred", "conference-already-signed"}


def test_generated_docs__no_region_is_stale():
    assert generate.stale() == [], "run: make docs"


def test_generated_docs__a_changed_region_is_seen_as_stale(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    page = docs / "workflow.md"
    page.write_text(page.read_text(encoding="utf-8").replace(", `export` with identifying fields", "", 1), encoding="utf-8")
    assert generate.stale(docs) == ["docs/workflow.md: stages"]


def test_rule_codes__every_code_in_the_source_is_in_the_docs():
    docs = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    documented = [code for code, _, _ in rule_codes.entries()]
    found = {f.code for f in codes.scan()[0]}
    assert found <= set(documented)
    assert CONFERENCE_CODES <= found  # the scan reaches every way a code is written
    assert {"uncommitted-change", "plan-not-approved", "form-validation", "nothing-to-report",
            "initial-assessment-overdue", "initial-assessment-target-missed"} <= set(documented)
    assert "plan-approval-overdue" not in documented  # waiting approvals are not faults of the case
    missing = [code for code in documented if f"`{code}`" not in docs]
    assert not missing, f"rule codes not in docs/: {missing}"


def test_rule_codes__the_scan_finds_each_way_a_code_is_written(tmp_path):
    package = tmp_path / "cpcm"
    package.mkdir()
    (package / "one.py").write_text(
        'NAMED = "by-constant"\n'
        'def f(x):\n'
        '    raise Refused("m", "h", rule="by-keyword")\n'
        'def g(x):\n'
        '    raise Refused("m", "h", rule=NAMED)\n'
        'def h(x):\n'
        '    raise _refused("m", "h", "by-helper")\n'
        'def check(item):\n'
        '    return [Problem("by-problem", "error", "m", "r", "s"), Problem(f"{item.code}-late", "error", "m", "r", "s")]\n'
        'def verify(ctx):\n'
        '    add("by-verify", "m")\n', encoding="utf-8")
    found, suffixes = codes.scan(package)
    assert {(f.code, f.kind) for f in found} == {("by-keyword", "refused"), ("by-constant", "refused"), ("by-helper", "refused"),
                                                  ("by-problem", "check"), ("by-verify", "verify")}
    assert [s for s, _ in suffixes] == ["-late"]


def test_rule_codes__a_code_without_a_meaning_stops_the_generator(monkeypatch):
    monkeypatch.delitem(rule_codes.MEANINGS, "conference-no-names")
    with pytest.raises(SystemExit, match="conference-no-names"):
        rule_codes.table()


def test_due_codes__every_code_a_due_item_can_have_is_in_the_json_table():
    """docs/commands/workflow.md lists the `code` of `cpcm due --json`: every clock's, each
    approval's and the conference items'."""
    import re

    from cpcm.workflow.clocks import CLOCKS

    row = next(line for line in (ROOT / "docs" / "commands" / "workflow.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("| `code` | which clock"))
    listed = set(re.findall(r"`([a-z0-9-]+)`", row)) - {"code"}
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "cpcm" / "workflow").glob("*.py"))
    made = {c.code for c in CLOCKS} | {f"{s}-approval" for s in ("plan", "closure", "transfer")} | set(
        re.findall(r'Deadline\([^,]+, "([a-z0-9-]+)"', sources))
    assert made - listed == set(), made - listed


def test_clocks_table__a_clock_due_when_it_starts_names_no_policy_value_as_its_time():
    """The clocks table said a declined referral's follow-up was set by `referral_feedback.limit`
    (14 days), while `cpcm due` lists it due at once, at the decline: an agency changing that value
    expecting to move it would be misled. A clock due when it starts says so instead."""
    from pathlib import Path

    from cpcm.workflow.clocks import BY_CODE

    assert BY_CODE["referral-follow-up"].on_start
    row = next(line for line in (Path(__file__).parent.parent / "docs" / "workflow.md").read_text().splitlines()
               if "(`referral-follow-up`)" in line and line.startswith("|"))
    assert "due **at once**" in row and "referral_feedback.limit" not in row, row
