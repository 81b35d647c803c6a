"""A list, due or statistics view made anew from its table asks which cases changed on disk only of the cases
it reads from their files (`cache.DiskChanges.among`): a table's entry is of the tree it was made from, so
it describes the last commit whatever the disk holds. What is checked: after the tables are filled, no
view made anew asks git about every case (a `git status` reads git's whole index: 350 MB at 100,000 cases of a
dozen files each); a case whose record was changed by hand and one whose folder was deleted by hand are shown
as the last commit holds them, from the tables' entries or read again, as they are computed without views."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import Cli, register_many
from cpcm.service import dueview, views
from cpcm.store import cache as cache_mod
from cpcm.store.layout import case_dir
from test_views import STATISTICS, same

COMMANDS = [("list", "--json"), ("due", "--worker", "all"), ("due", "--json"), ("report", "statistics", *STATISTICS[-1])]


def _cache(cli: Cli) -> Path:
    return Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / "amina"


def whole_asks(monkeypatch) -> list[Path]:
    """The asks about every case (`dirty_cases` without names)."""
    asked: list[Path] = []
    real = cache_mod.dirty_cases

    def spy(root, names=None, *args, **kwargs):
        if names is None:
            asked.append(root)
        return real(root, names, *args, **kwargs)
    monkeypatch.setattr(cache_mod, "dirty_cases", spy)
    return asked


def test_views_made_anew_from_their_tables_ask_nothing_of_the_cases_they_do_not_read(cli, monkeypatch, without_views):
    ids = register_many(cli, 4)
    same(cli, without_views, COMMANDS)  # the tables filled, the views made
    asked = whole_asks(monkeypatch)
    for changed in (None, ids[0]):  # every case in the tables; then one case written since
        if changed is not None:
            assert cli("note", changed, "--text", "visited the family").code == 0
        shutil.rmtree(_cache(cli) / views.FOLDER)
        assert cli("list").code == 0
        assert cli("due", "--worker", "all").code == 0
        assert cli("report", "statistics").code == 0
        assert asked == []
    same(cli, without_views, COMMANDS)


@pytest.mark.parametrize("tables", ["kept", "dropped"])
def test_a_case_changed_or_deleted_by_hand_is_shown_as_last_committed(cli, repo, without_views, tables):
    """`kept`: the two cases given from the tables' entries; `dropped`: every case read again, those two as the
    last commit holds them."""
    ids = register_many(cli, 4)
    assert cli("note", ids[2], "--text", "visited the family").code == 0
    same(cli, without_views, COMMANDS)
    record = sorted(p for p in case_dir(repo, ids[0]).iterdir() if p.name != "recipients")[-1]
    record.write_bytes(b"not what was committed")  # by hand, not committed
    shutil.rmtree(case_dir(repo, ids[1]))
    shutil.rmtree(_cache(cli) / views.FOLDER)
    if tables == "dropped":
        for table in ("due", "statistics", "rows"):
            shutil.rmtree(_cache(cli) / table)
    for args in (("due", "--worker", "all", "--json"), ("list", "--json")):
        listed = cli(*args)
        assert listed.code == 0 and ids[1] in listed.stdout and ids[0] in listed.stdout, args
    same(cli, without_views, COMMANDS)


def test_the_due_view_made_anew_is_not_read_back_by_the_same_command(cli, cli_as, monkeypatch, without_views):
    """A supervisor's `due` lists their own items, then counts the team's overdue ones (a second `due_view`): the
    view made for the first is taken by the second as it was made, not decrypted again from the file just written."""
    sup = cli_as("sup")
    register_many(cli, 3)
    same(sup, without_views, [("due",)])
    read: list[Path] = []
    real = views.read_view

    def spy(path, *args, **kwargs):
        found = real(path, *args, **kwargs)
        if found is not None:
            read.append(Path(path))
        return found
    monkeypatch.setattr(views, "read_view", spy)
    assert sup("due").code == 0
    assert any(p.name.startswith("due") for p in read)  # the view kept: read
    shutil.rmtree(Path(sup.env["CPCM_REPO"]) / ".cpcm" / "cache" / "sup" / views.FOLDER)
    read.clear()
    loads = []
    real_load = dueview._load
    monkeypatch.setattr(dueview, "_load", lambda place, *a, **k: loads.append(place) or real_load(place, *a, **k))
    assert sup("due").code == 0
    assert len(loads) == 2  # the supervisor's own list, then the team's
    assert not any(p.name.startswith("due") for p in read)
    monkeypatch.setattr(views, "read_view", real)
    same(sup, without_views, [("due",), ("due", "--json")])


def test_asked_by_name_or_all_at_once_a_case_is_found_changed_alike(cli, repo):
    """`DiskChanges.among` gives for its names what `every` gives: a record changed or deleted by hand counts, a file
    added by hand that the commit does not hold does not (as `git status --untracked-files=no`)."""
    from cpcm.store.cache import DiskChanges

    ids = register_many(cli, 4)
    files = {case_id: sorted(p for p in case_dir(repo, case_id).iterdir() if p.name != "recipients") for case_id in ids}
    files[ids[0]][0].write_bytes(b"changed by hand")
    files[ids[1]][0].unlink()
    (case_dir(repo, ids[2]) / files[ids[2]][0].name.replace(files[ids[2]][0].name[:26], "0" * 26)).write_bytes(b"added")
    every = DiskChanges(repo).every()
    assert every == {ids[0], ids[1]}
    assert DiskChanges(repo).among(ids) == every
    assert DiskChanges(repo).among(ids[2:]) == set() and ids[2] not in DiskChanges(repo)
