"""Files of a casefile repository deleted, damaged or edited by hand on disk (no commit): every
command that reads many cases says the same of them whether its cache is warm or cold; `check`
over every case names them as `check CASE` does; the restore is spelt one way; and a damaged
record's message names the file and the kind of damage, never what the record holds."""
from __future__ import annotations

import json
import shutil
import time

import pytest

from conftest import CANARY, git, record_files, register, signed_commit
from cpcm.errors import restore_hint
from test_repair import damage

OTHER = {"child": {"name": "Other Child", "sex": "male", "age_estimate": 9}}


def drop_cache(repo) -> None:
    shutil.rmtree(repo / ".cpcm" / "cache", ignore_errors=True)


def note_path(repo, case_id: str):
    path = next(p for p in record_files(repo, case_id) if p.name.endswith(".note.yaml.age"))
    return path, str(path.relative_to(repo))


def test_the_restore_hint__is_spelt_one_way_wherever_a_file_git_holds_is_missing_or_changed(cli, repo, team):
    """'restore it from git: git checkout -- FILE' was spelt four ways ('Restore it:', 'It differs
    from the last commit: restore it from git:', 'Fix FILE by hand or restore it:'). Every one is
    now `restore_hint`."""
    from cpcm.store.layout import TEAM

    def hint(*args: str) -> str:
        result = cli(*args, "--json")
        assert result.code in (4, 7), (args, result.stderr)
        return result.json()["hint"]

    deleted, truncated, replaced, gone, untouched = (register(cli) for _ in range(5))
    assert cli("note", deleted, "--text", "visit").code == 0
    path, rel = note_path(repo, deleted)
    path.unlink()
    assert hint("show", deleted) == restore_hint(rel)
    assert cli("note", truncated, "--text", "visit").code == 0
    path, rel = note_path(repo, truncated)
    path.write_bytes(path.read_bytes()[:100])
    assert hint("show", truncated).startswith(restore_hint(rel))
    assert hint("repair", truncated, path.name.split(".")[0], "--reason", "truncated").startswith(restore_hint(rel))
    assert cli("note", replaced, "--text", "visit").code == 0
    path, rel = note_path(repo, replaced)
    path.write_bytes(record_files(repo, untouched)[0].read_bytes())  # a record file of another case
    assert hint("show", replaced).startswith(restore_hint(rel))
    rel = f"cases/{gone}/recipients"
    (repo / rel).unlink()
    assert hint("show", gone) == restore_hint(rel)
    team_file = repo / TEAM
    kept = team_file.read_bytes()
    team_file.write_bytes(kept + b"# edited\n")
    assert hint("note", untouched, "--text", "visit").startswith(restore_hint(TEAM))
    team_file.write_bytes(b"workers: [\n")
    assert hint("list").startswith(restore_hint(TEAM))
    team_file.unlink()
    assert hint("list") == restore_hint(TEAM)
    team_file.write_bytes(kept)

