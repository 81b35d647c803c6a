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
