"""A fill proves from what it reads that a case's folder is the last commit's: the folder's tree id made from the
blob ids of the files it read (`git.tree_id`) is the commit's. Git is asked whether a case changed on disk only of
the cases it could not prove (a `git status` reads git's whole index: 350 MB at 100,000 cases of a dozen files
each). What is checked: the tree id is git's own; a cold `list`, `due` and `report statistics` ask git nothing of
cases it read whole, nor of cases the worker does not read whose `recipients` file is the commit's (nothing else
of them is read); a case changed or deleted by hand is still shown as last committed, with no problem reported
for a file damaged on disk, and is not stored from its files."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Cli, register_many
from cpcm.store import cache as cache_mod
from cpcm.store.git import blob_id, file_in_tree, tree_id
from cpcm.store.layout import case_dir, case_rel
from test_dirty_narrowed import COMMANDS
from test_views import same


def _cache(cli: Cli) -> Path:
    return Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / "amina"


def asks(monkeypatch) -> list[list[str] | None]:
    """Every ask of `dirty_cases`: the names asked of, or None for every case."""
    asked: list[list[str] | None] = []
    real = cache_mod.dirty_cases

    def spy(root, names=None, *args, **kwargs):
        asked.append(None if names is None else sorted(names))
        return real(root, names, *args, **kwargs)
    monkeypatch.setattr(cache_mod, "dirty_cases", spy)
    return asked


@pytest.fixture(params=["in segments", "whole"])
def row_table(request, monkeypatch) -> str:
    """`list` reads its row table a segment at a time, or (`whole`: when it has many segments) loaded whole."""
    if request.param == "whole":
        monkeypatch.setattr(cache_mod, "MERGE_FROM", 1)
    return request.param


def test_a_folders_tree_id_made_from_its_files_is_gits(cli, repo):
    ids = register_many(cli, 2)
    assert cli("note", ids[0], "--text", "visited the family").code == 0
    for case_id in ids:
        files = {p.name: blob_id(p.read_bytes()) for p in case_dir(repo, case_id).iterdir()}
        assert "recipients" in files and len(files) >= 2
        committed = subprocess.run(["git", "-C", str(repo), "rev-parse", f"HEAD:{case_rel(case_id)}"],
                                   capture_output=True, text=True, check=True).stdout.strip()
        assert tree_id(files) == committed
        assert tree_id({**files, "recipients": blob_id(b"")}) != committed
        assert file_in_tree(repo, committed, "recipients") == files["recipients"]
        assert file_in_tree(repo, committed, "notes") is None


def test_a_cold_fill_asks_git_nothing_of_the_cases_it_read_whole(cli, cli_as, monkeypatch, without_views, row_table):
    register_many(cli, 5)
    register_many(cli_as("otieno"), 2)  # cases amina does not read: only their readers are read, and compared
    asked = asks(monkeypatch)
    for args in COMMANDS:
        shutil.rmtree(_cache(cli))  # the first use, or an upgrade that changed how records are read
        assert cli(*args).code == 0, args
    assert asked == []
    same(cli, without_views, COMMANDS)


def test_a_cold_fill_shows_a_case_changed_or_deleted_by_hand_as_last_committed(cli, cli_as, repo, monkeypatch,
                                                                               without_views, row_table):
    ids = register_many(cli, 5)
    others = register_many(cli_as("otieno"), 2)  # amina does not read them
    assert cli("note", ids[0], "--text", "visited the family").code == 0
    committed = {args: cli(*args) for args in COMMANDS}
    damaged = sorted(p for p in case_dir(repo, ids[0]).iterdir() if p.name != "recipients")[-1]
    damaged.write_bytes(b"not what was committed")  # by hand, not committed
    shutil.rmtree(case_dir(repo, ids[1]))
    sorted(case_dir(repo, others[0]).glob("*.age"))[0].write_bytes(b"changed")  # not read: no ask
    readers = case_dir(repo, others[1]) / "recipients"
    readers.write_bytes(readers.read_bytes() + b"\n")  # read: asked
    asked = asks(monkeypatch)
    for args in COMMANDS:
        shutil.rmtree(_cache(cli))
        shown = cli(*args)
        assert (shown.code, shown.stdout, shown.stderr) == (committed[args].code, committed[args].stdout,
                                                            committed[args].stderr), args
    assert asked and all(names is not None and set(names) <= {ids[0], ids[1], others[1]} for names in asked), asked
    asked.clear()
    again = cli("list", "--json")  # from the tables: the two cases read again, as committed (never stored from their files)
    assert again.stdout == committed[("list", "--json")].stdout
    same(cli, without_views, COMMANDS)


def test_each_operation_of_a_session_asks_the_disk_again(cli, repo):
    """A script's session runs many operations on one store: what changed on disk is asked again by each (a record
    deleted by hand between two is read as committed by the second, not folded without it and stored so)."""
    from conftest import library_session
    from cpcm.service.context import load_cases

    ids = register_many(cli, 2)
    assert cli("note", ids[0], "--text", "visited the family").code == 0
    ctx = library_session(cli)
    committed = len(load_cases(ctx)[ids[0]].history)  # every case asked of git: none changed
    sorted(case_dir(repo, ids[0]).glob("*.age"))[-1].unlink()  # by hand, between two operations
    shutil.rmtree(_cache(cli))  # its entry made again from its files
    assert len(load_cases(ctx)[ids[0]].history) == committed
    assert len(load_cases(library_session(cli))[ids[0]].history) == committed  # nothing wrong was stored
