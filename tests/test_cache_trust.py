"""The cache's entries are encrypted to the worker's public key, which anyone may use: a cache
folder another user can write to could hold entries made up to hide a case or a deadline from
`list` and `due` (store/cache.py `worker_folder`). What the user owns is put right; another
user's folder, or a link, is refused (`cache-not-yours`)."""
from __future__ import annotations

import json
import os
import stat

import pytest

from conftest import register, registration

CANARY = "Zawadi Canarybird"


def refused(result) -> None:
    assert result.code == 4, (result.code, result.stderr)
    assert "does not use what it holds" in result.stderr, result.stderr
    assert "Canarybird" not in result.stderr + result.stdout


@pytest.fixture
def used(cli, repo):
    register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-03-04"})
    assert cli("list").code == 0
    folder = repo / ".cpcm" / "cache" / "amina"
    assert folder.is_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    return folder


@pytest.mark.parametrize("command", [("list",), ("due",), ("report", "statistics")])
def test_a_cache_folder_others_could_write_to_is_emptied_and_made_private(cli, used, command):
    used.chmod(0o777)
    planted = used / "summary" / "planted"
    planted.write_bytes(b"made up")
    listed = cli(*command)
    assert listed.code == 0, listed.stderr
    assert stat.S_IMODE(used.stat().st_mode) == 0o700
    assert not planted.exists()


def test_a_cache_folder_open_to_the_users_own_group_is_narrowed_and_kept(cli, used):
    kept = used / "summary" / "kept"
    kept.write_bytes(b"")
    used.chmod(0o770)
    os.chown(used, os.getuid(), os.getgid())
    assert cli("list").code == 0
    assert stat.S_IMODE(used.stat().st_mode) == 0o700
    assert kept.exists()


def test_a_cache_folder_that_is_a_link_is_not_used(cli, used, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    used.rename(elsewhere)
    used.symlink_to(elsewhere, target_is_directory=True)
    refused(cli("list"))
    refused(cli("register", "--from-file", "-", input=json.dumps(registration())))  # a write reads the index there


def test_a_holding_folder_others_could_write_to_is_made_sticky(cli, used):
    holder = used.parent
    holder.chmod(0o777)
    assert cli("list").code == 0
    assert holder.stat().st_mode & stat.S_ISVTX  # others keep their own folders there, and cannot move yours


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_cache_folder_of_another_user_is_not_used(cli, used):
    os.chown(used, 65534, 65534)
    refused(cli("list"))
    os.chown(used, os.getuid(), os.getgid())
    os.chown(used.parent, 65534, 65534)
    refused(cli("list"))
    used.parent.chmod(0o1755)  # sticky: the other user cannot move a folder of yours
    assert cli("list").code == 0
