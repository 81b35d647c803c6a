"""A fill proves from what it reads that a case's folder is the last commit's: the folder's tree id made from the
blob ids of the files it read (`git.tree_id`) is the commit's. Git is asked whether a case changed on disk only of
the cases it could not prove (a `git status` reads git's whole index: 350 MB at 100,000 cases of a dozen files
each). What is checked: the tree id is git's own; a cold `list`, `due` and `report statistics` ask git nothing of
cases it read whole; a case changed or deleted by hand is still shown as last committed, with no problem
reported for a file damaged on disk, and is not stored from its files."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import Cli, register_many
from cpcm.store import cache as cache_mod
from cpcm.store.git import blob_id, tree_id
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


def test_a_cold_fill_asks_git_nothing_of_the_cases_it_read_whole(cli, monkeypatch, without_views):
    register_many(cli, 5)
    asked = asks(monkeypatch)
    for args in COMMANDS:
        shutil.rmtree(_cache(cli))  # the first use, or an upgrade that changed how records are read
        assert cli(*args).code == 0, args
    assert asked == []
    same(cli, without_views, COMMANDS)


def test_a_cold_fill_shows_a_case_changed_or_deleted_by_hand_as_last_committed(cli, repo, monkeypatch, without_views):
    ids = register_many(cli, 5)
    assert cli("note", ids[0], "--text", "visited the family").code == 0
    committed = {args: cli(*args) for args in COMMANDS}
    damaged = sorted(p for p in case_dir(repo, ids[0]).iterdir() if p.name != "recipients")[-1]
    damaged.write_bytes(b"not what was committed")  # by hand, not committed
    shutil.rmtree(case_dir(repo, ids[1]))
    asked = asks(monkeypatch)
    for args in COMMANDS:
        shutil.rmtree(_cache(cli))
        shown = cli(*args)
        assert (shown.code, shown.stdout, shown.stderr) == (committed[args].code, committed[args].stdout,
                                                            committed[args].stderr), args
    assert asked and all(names is not None and set(names) <= {ids[0], ids[1]} for names in asked), asked
    asked.clear()
    again = cli("list", "--json")  # from the tables: the two cases read again, as committed (never stored from their files)
    assert again.stdout == committed[("list", "--json")].stdout
    same(cli, without_views, COMMANDS)
