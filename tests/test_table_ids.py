"""On a narrow terminal a table's other columns wrap, and a case, conference or record ID is
never cut: it is the one value a worker copies from the screen."""
from __future__ import annotations

import pytest

from conftest import register


@pytest.mark.parametrize("columns", ["60", "80"])
def test_list_on_a_narrow_terminal_keeps_each_case_id_whole(cli, monkeypatch, columns):
    from cpcm.cli import common

    ids = [register(cli) for _ in range(2)]
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", columns)
    for args in (("list",), ("due", "--worker", "all")):
        done = cli(*args)
        assert done.code == 0, done.stderr
        assert all(case_id in done.stdout for case_id in ids), (args, done.stdout)


def test_an_id_column_is_known_by_its_values():
    from cpcm.cli.common import ID_LIKE

    for value in ("CP-4F7K-9X2M", "CC-KKEP-DMJ1", "01M8TWXJS1QBEP3X24ME70Y5FY"):
        assert ID_LIKE.match(value)
    for value in ("A2 → R1", "amina", "2026-12-02", "CP-4F7K"):
        assert not ID_LIKE.match(value)


def test_show_on_a_terminal_prints_what_was_typed_with_brackets_as_it_is(cli, monkeypatch):
    """A value with square brackets was read as rich's markup in a drawn table: 'Kondele [near market]'
    lost its brackets' words, and a caregiver's name with '[/b]' in it ended `cpcm show` with exit 70."""
    from cpcm.cli import common

    case_id = register(cli)
    assert cli("update", case_id, "--no-input", "--set", "location=Kondele [near market]", "--set", "caregiver.name=Mama [/b] Eko",
               "--reason", "correction").code == 0
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    shown = cli("show", case_id)
    assert shown.code == 0, shown.stderr
    assert "Kondele [near market]" in shown.stdout and "Mama [/b] Eko" in shown.stdout, shown.stdout


@pytest.mark.parametrize("columns", ["60", "80"])
def test_due_and_show_on_a_narrow_terminal_keep_each_date_whole(cli, cli_as, monkeypatch, columns):
    """`cpcm due` at 80 columns cut the due date to '2026-12…' (at 60, '202…'), show's consents at
    60 to '2026…': a date column now keeps the date's width (its time on the line under it), a
    text column is cut instead, and the table still fits the terminal."""
    import re

    from cpcm.cli import common

    from conftest import CLINIC, consent_both

    assert cli_as("sup")(*CLINIC).code == 0
    case_id = register(cli)
    consent_both(cli, case_id)
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", columns)
    due = cli("due", "--json").json()
    days = {item["due"][:10] for item in due}
    done = cli("due")
    assert done.code == 0, done.stderr
    if "too narrow" not in done.stderr:  # drawn, with lines or (narrower) without: each day whole in its column
        shown = set(re.findall(r"(?:│ |  |^| )([0-9]{4}-[0-9]{2}-[0-9]{2})(?= +(?:│|[0-9]))", done.stdout, re.M))
        assert max(map(len, done.stdout.splitlines())) <= int(columns), done.stdout
    else:  # at 60 columns `due` cannot be drawn with its rule citations whole: printed plain
        shown = set(re.findall(r"\t([0-9]{4}-[0-9]{2}-[0-9]{2}) ", done.stdout))
    assert days and days <= shown, (days, done.stdout)
    show = cli("show", case_id)
    assert show.code == 0, show.stderr
    consents = show.stdout[show.stdout.index("Consents on file"):]
    assert "2026-11-23" in consents.split("┘")[0] and max(map(len, show.stdout.splitlines())) <= int(columns), show.stdout


def test_a_date_column_is_known_by_its_values():
    from cpcm.cli.common import DATE_LIKE

    for value in ("2026-12-02", "2026-12-02 09:00", "2026-12-02 09:00 +03:00", "2026-12-02 09:00:00 -05:00"):
        assert DATE_LIKE.match(value)
    for value in ("one-off", "2026-12-02 (late)", "in 8 days", "2026-12"):
        assert not DATE_LIKE.match(value)


def _whole_words(plain: str) -> set[str]:
    """The words of a tab-separated table that a drawn one must show whole: an ID, a code, a date or a
    number (a column none of whose cells has a space), and every word of FOLD_AT characters or fewer."""
    from cpcm.cli.common import FOLD_AT

    lines = [line.split("\t") for line in plain.splitlines() if line and not line.startswith("# ")]
    words = {word for line in lines for cell in line for word in cell.split() if len(word) <= FOLD_AT}
    for at in range(len(lines[0])):
        cells = [line[at] for line in lines[1:] if at < len(line) and line[at]]
        if not any(" " in cell for cell in cells):
            words.update(cells)
    return words


@pytest.mark.parametrize("columns", [60, 80])
def test_a_table_on_a_narrow_terminal_shows_every_cell_whole_or_is_printed_plain(capsys, monkeypatch, columns):
    """At 80 columns `report timeliness` showed '100%' as '10…' and two-letter titles, `list --names` a name as
    'Jos / Njo / Wan' (at 60 not at all), `check` 'plan-not-ap…', `log` dropped its last columns, and `due`'s
    'why' was one letter wide at 60: a table is drawn only with each cell whole, else printed plain."""
    from cpcm.cli import common

    tables = [
        (["case id", "status", "stage", "risk", "worker", "sex", "age", "at", "name"],
         [["CP-KD3C-AAT7", "open", "initial_assessment", "immediate", "root", "male", "9", "2026-12-06", "José Njoki Wanjirũ"]]),
        (["clock", "limit", "target", "started", "timed", "met", "late", "overdue", "open", "stopped", "on time %", "time",
          "definition"], [["Initial assessment", "48h", "24h", "2", "1", "1", "0", "0", "1", "0", "100%", "0 h", ""]]),
        (["severity", "code", "case", "worker", "problem", "source"],
         [["warning", "plan-not-approved", "CP-KD3C-AAT7", "root", "the latest plan version waits for approval", "IAG §3"]]),
        (["state", "case", "what", "due", "when", "worker", "why"],
         [["due soon", "CP-KD3C-AAT7", "comprehensive assessment", "2026-11-25 09:00 +03:00", "in 2 days", "root",
           "comprehensive assessment within 1 month (IAG §3 Step 2 [L785-789, L839])"]]),
        (["at", "#", "kind", "what", "by", "record", "recorded", "commit", "signed"],
         [["2026-12-06 10:00 +03:00", "1", "registration", "registered", "root", "01M8TWXJS1QBEP3X24ME70Y5FY",
           "2026-12-06 10:00 +03:00", "53a59c47", "root, good"]]),
    ]
    monkeypatch.setenv("COLUMNS", str(columns))
    for header, rows in tables:
        monkeypatch.setattr(common, "stdout_is_terminal", lambda: False)
        common.print_table(header, rows)
        plain = capsys.readouterr().out
        monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
        common.print_table(header, rows)
        shown = capsys.readouterr()
        missing = {word for word in _whole_words(plain) if word not in shown.out}
        assert not missing and "…" not in shown.out, (missing, shown.out)
        if "too narrow" not in shown.err:  # drawn (with lines, or narrower without them): within the terminal
            assert max(map(len, shown.out.splitlines())) <= columns and not shown.err and shown.out != plain, shown
        else:
            assert shown.out == plain, shown


@pytest.mark.parametrize("columns", ["60", "80"])
def test_list_log_check_and_due_on_a_narrow_terminal_show_every_cell_whole(cli, monkeypatch, columns):
    from cpcm.cli import common

    case_id = register(cli, child={"name": "José Njoki Wanjirũ", "sex": "female", "date_of_birth": "2015-04-01",
                                   "disability": "no"})
    for args in (("list", "--names"), ("log", case_id), ("check",), ("due", "--worker", "all")):
        monkeypatch.setattr(common, "stdout_is_terminal", lambda: False)
        plain = cli(*args).stdout
        monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
        monkeypatch.setenv("COLUMNS", columns)
        done = cli(*args)
        assert done.code in (0, 1), done.stderr
        missing = {word for word in _whole_words(plain) if word not in done.stdout}
        assert not missing and "…" not in done.stdout, (args, missing, done.stdout)
        monkeypatch.delenv("COLUMNS")


def test_list_of_every_stage_is_drawn_whole_at_80_columns(capsys, monkeypatch):
    """`cpcm list` needed 83 columns drawn, its stage a code as wide as 'comprehensive_assessment': on an old
    laptop's 80 it was printed plain with a note, every day. Its stage is drawn in words (`worded`), each word
    whole on its line; the piped lines keep the code."""
    from cpcm.cli import common
    from cpcm.workflow.transitions import STAGES, STATUS

    header = ["case id", "status", "stage", "risk", "worker", "sex", "age", "registered at"]
    rows = [[f"CP-KD3C-AA{n:02d}", STATUS.get(stage, "open"), stage, risk, worker, sex, age, "2026-11-23"]
            for n, (stage, risk, worker, sex, age) in enumerate(zip(
                STAGES, ["immediate", "high", "medium", "low"] * 3, ["otieno", "amina", "wanjiru"] * 3,
                ["female", "male", "other", "unknown"] * 3, ["17", "9", "0", "12", ""] * 2))]
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: False)
    common.print_table(header, rows, worded=("stage",))
    assert capsys.readouterr().out.splitlines()[1:] == ["\t".join(row) for row in rows]  # piped: the codes
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    common.print_table(header, rows, title=f"{len(rows)} case(s)", worded=("stage",))
    shown = capsys.readouterr()
    assert "too narrow" not in shown.err and "\t" not in shown.out, shown  # drawn, not printed plain
    assert max(map(len, shown.out.splitlines())) <= 80 and "…" not in shown.out, shown.out
    words = {word for line in shown.out.splitlines() for word in line.split()}
    for row in rows:
        assert {*row[:2], *row[3:]} - {""} <= words, (row, shown.out)
        assert set(row[2].split("_")) <= words, (row[2], shown.out)  # 'comprehensive' never 'comprehens' + 'ive'


@pytest.mark.parametrize("columns", ["80", "100"])
def test_list_on_an_80_column_terminal_is_drawn_with_its_stages_in_words(cli, monkeypatch, columns):
    """`cpcm list` of cases at their assessments (sex unknown, risk immediate) needed 84 columns drawn, and on an
    80-column terminal was printed plain with a note; --json and the piped lines keep the stage's code."""
    import json

    from cpcm.cli import common

    from test_assess_plan import COMPREHENSIVE, INITIAL

    child = {"name": "Wanjiru Akinyi Otieno-Ochieng", "sex": "unknown", "age_estimate": 12}
    cases = [register(cli, child=child, risk="immediate") for _ in range(3)]
    for case_id in cases[1:]:
        assert cli("assess", case_id, "--type", "initial", "--risk", "immediate", *INITIAL).code == 0
    assert cli("assess", cases[2], "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    stages = dict(zip(cases, ["registered", "initial_assessment", "comprehensive_assessment"]))
    assert {row["case_id"]: row["stage"] for row in cli("list", "--json").json()} == stages
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: False)
    assert {line.split("\t")[0]: line.split("\t")[2] for line in cli("list").stdout.splitlines()[1:]} == stages
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", columns)
    done = cli("list")
    assert done.code == 0 and "too narrow" not in done.stderr and "\t" not in done.stdout, (done.stderr, done.stdout)
    assert max(map(len, done.stdout.splitlines())) <= int(columns) and "…" not in done.stdout, done.stdout
    words = {word for line in done.stdout.splitlines() for word in line.split()}
    assert set(cases) | {"immediate", "unknown", "12", "registered", "initial", "comprehensive", "assessment"} <= words, \
        done.stdout


def test_a_table_that_fits_unwrapped_keeps_each_row_on_one_line(capsys, monkeypatch):
    """Where the rows fit a terminal on one line each, without the table's lines if need be, they are
    drawn so before a cell wraps: `cpcm list` at 100 columns was drawn with lines and its stage in words
    wrapped onto a second line of each row (two lines a case) where it had fit on one without the lines.
    A narrower terminal still wraps the stage's words (at 80 columns: the test above)."""
    from cpcm.cli import common

    header = ["case id", "status", "stage", "risk", "worker", "sex", "age", "registered at"]
    rows = [[f"CP-KD3C-AA{n:02d}", "open", stage, "immediate", "wanjiru", "unknown", "12", "2026-11-23"]
            for n, stage in enumerate(["comprehensive_assessment", "initial_assessment", "registered"])]
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    common.print_table(header, rows, worded=("stage",))
    shown = capsys.readouterr().out.splitlines()
    assert max(map(len, shown)) <= 100
    for row in rows:
        line = next(line for line in shown if row[0] in line)
        assert row[2].replace("_", " ") in line, (row[2], shown)  # the stage's words on the case's own line
