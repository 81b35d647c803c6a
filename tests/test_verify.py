"""cpcm verify: damaged files, uncommitted changes and rewritten records are found."""
from __future__ import annotations

import subprocess

from conftest import register


def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def test_verify__a_clean_repository_passes(cli, cli_as):
    case_id = register(cli)
    assert cli("assign", case_id, "--worker", "otieno").code == 0  # re-encryption touches records: allowed
    result = cli_as("sup")("verify", "--json")
    assert result.code == 0, result.stdout
    assert result.json() == []


def test_verify__a_damaged_file_and_a_rewritten_record_are_reported(cli, repo):
    case_id = register(cli)
    record = next((repo / "cases" / case_id).glob("*.age"))
    original = record.read_bytes()
    record.write_bytes(original[:-10])
    result = cli("verify", "--json")
    assert result.code == 1
    codes = {p["code"] for p in result.json()}
    assert {"uncommitted-change", "record-unreadable"} <= codes
    # committed by hand: the history shows a record changed after it was written
    git(repo, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qam", "edit")
    codes = {p["code"] for p in cli("verify", "--json").json()}
    assert "record-rewritten" in codes and "uncommitted-change" not in codes
