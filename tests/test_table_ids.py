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
    shown = set(re.findall(r"│ ([0-9]{4}-[0-9]{2}-[0-9]{2}) +│", done.stdout))
    assert days and days <= shown, (days, done.stdout)
    assert max(map(len, done.stdout.splitlines())) <= int(columns), done.stdout
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
