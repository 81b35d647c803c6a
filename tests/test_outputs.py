"""The register of plaintext files cpcm wrote (`cpcm outputs list|remove`, and `cpcm evacuate`):
each plaintext file a command writes on request (--plaintext render, report, export; due --ics)
is recorded, encrypted to the worker, beside the worker's identity; the register leaks neither the
child's name nor the file's path; `remove` overwrites and deletes; `evacuate` removes every one
still there and names those it could not; an encrypted output is not registered."""
from __future__ import annotations

import os
import re

import pytest

from conftest import CANARY, register


def _registered_render(cli, tmp_path, name: str = "plan.md"):
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    out = tmp_path / "print" / name
    out.parent.mkdir(exist_ok=True)
    done = cli("render", "case-file", case_id, "--out", str(out), "--plaintext")
    assert done.code == 0, done.stderr
    assert CANARY.split()[0] in out.read_text(encoding="utf-8")  # the file itself holds the child's name: that is why it is registered
    return case_id, out


def _register_file(team, worker: str = "amina"):
    key = team[worker][0]
    return key.with_name(key.name + ".outputs")


def test_outputs__a_plaintext_render_is_registered_and_listed(cli, team, tmp_path):
    case_id, out = _registered_render(cli, tmp_path)
    listed = cli("outputs", "list", "--json")
    assert listed.code == 0, listed.stderr
    [entry] = listed.json()
    assert entry["path"] == str(out.resolve()) and entry["cases"] == [case_id] and entry["state"] == "there"
    assert entry["command"] == "render case-file" and entry["worker"] == "amina" and len(entry["sha256"]) == 64
    out.write_text(out.read_text(encoding="utf-8") + "notes\n", encoding="utf-8")
    assert cli("outputs", "list", "--json").json()[0]["state"] == "changed"
    plain = cli("outputs", "list")  # piped: tab-separated
    assert plain.code == 0 and str(out.resolve()) in plain.stdout and case_id in plain.stdout
    written = plain.stdout.splitlines()[1].split("\t")[0]  # a time as the other lists give one, not the register's raw text
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d", written), written


def test_outputs__the_register_holds_neither_the_child_s_name_nor_the_path_in_the_clear(cli, team, tmp_path):
    case_id, out = _registered_render(cli, tmp_path, name="zqxcanary-plan.md")
    data = _register_file(team).read_bytes()
    assert data.startswith(b"cpcm-outputs 1\n")
    for word in (*CANARY.split(), "zqxcanary", "Zqxcanary", str(out), out.name, case_id):
        assert word.encode() not in data and word.lower().encode() not in data.lower(), word
    assert oct(_register_file(team).stat().st_mode & 0o777) == "0o600"
    repo_files = [p for p in (tmp_path / "casefiles").rglob("*") if p.name.endswith(".outputs")]
    assert repo_files == []  # beside the identity, never in the repository: never committed


def test_outputs__remove_overwrites_and_deletes_and_says_it_in_the_register(cli, team, tmp_path, monkeypatch):
    _, out = _registered_render(cli, tmp_path)
    written, seen = out.read_bytes(), []
    unlink = os.unlink

    def watching(path, *args, **kwargs):  # what the file holds when it is deleted: random bytes, not the document
        if os.path.abspath(path) == str(out.resolve()):
            seen.append(open(path, "rb").read())
        return unlink(path, *args, **kwargs)
    monkeypatch.setattr(os, "unlink", watching)
    removed = cli("outputs", "remove", "--all", "--json")
    assert removed.code == 0, removed.stderr
    assert removed.json()["removed"] == [str(out.resolve())]
    monkeypatch.undo()
    assert not out.exists() and len(seen) == 1 and len(seen[0]) == len(written) and seen[0] != written
    assert cli("outputs", "list", "--json").json() == []  # taken off the list
    history = cli("outputs", "list", "--all", "--json").json()
    assert [e["state"] for e in history] == ["removed"]


def test_outputs__remove_with_all_leaves_a_changed_file_but_removes_it_by_name(cli, team, tmp_path):
    _, out = _registered_render(cli, tmp_path)
    out.write_text("another document of that name\n", encoding="utf-8")
    left = cli("outputs", "remove", "--all", "--json")
    assert left.code == 0 and left.json()["changed_left"] == [str(out.resolve())] and out.exists()
    named = cli("outputs", "remove", str(out), "--json")
    assert named.code == 0, named.stderr
    assert named.json()["removed"] == [str(out.resolve())] and not out.exists()


def test_outputs__remove_by_a_path_through_a_symbolic_link(cli, team, tmp_path):
    _, out = _registered_render(cli, tmp_path)
    (tmp_path / "link").symlink_to(out.parent, target_is_directory=True)
    named = cli("outputs", "remove", str(tmp_path / "link" / out.name), "--json")
    assert named.code == 0, named.stderr
    assert named.json()["removed"] == [str(out.resolve())] and not out.exists()
    assert cli("outputs", "remove", str(tmp_path / "link" / "never-written.md")).code == 3


def test_outputs__a_link_put_where_a_registered_file_was_is_removed_not_the_file_it_points_to(cli, team, tmp_path):
    """cpcm registered the path with its links followed: a symbolic link found there since is not
    what cpcm wrote, so `remove` takes the link away and leaves the file it points to whole."""
    _, out = _registered_render(cli, tmp_path)
    precious = tmp_path / "precious.txt"
    precious.write_text("someone else's document\n", encoding="utf-8")
    out.unlink()
    out.symlink_to(precious)
    removed = cli("outputs", "remove", str(out), "--json")
    assert removed.code == 0, removed.stderr
    assert not os.path.lexists(out) and precious.read_text(encoding="utf-8") == "someone else's document\n"


def test_outputs__a_file_moved_away_is_reported_as_gone(cli, team, tmp_path):
    _, out = _registered_render(cli, tmp_path)
    out.rename(tmp_path / "elsewhere.md")
    assert cli("outputs", "list", "--json").json()[0]["state"] == "gone"
    removed = cli("outputs", "remove", "--all", "--json")
    assert removed.code == 0 and removed.json()["gone"] == [str(out.resolve())] and removed.json()["removed"] == []
    assert cli("outputs", "list", "--json").json() == []


def test_outputs__remove_older_than_picks_by_the_time_written(cli, cli_as, team, tmp_path):
    _, out = _registered_render(cli, tmp_path)
    young = cli("outputs", "remove", "--older-than", "7d", "--json")
    assert young.code == 0 and young.json()["removed"] == [] and out.exists()
    later = cli_as("amina", CPCM_NOW="2026-12-30T10:00:00+03:00")
    old = later("outputs", "remove", "--older-than", "7d", "--json")
    assert old.code == 0 and old.json()["removed"] == [str(out.resolve())] and not out.exists()
    assert cli("outputs", "remove", "--older-than", "soon").code == 2


def test_outputs__an_encrypted_output_is_not_registered(cli, team, tmp_path):
    case_id = register(cli)
    out = tmp_path / "plan.md.age"
    assert cli("render", "case-file", case_id, "--out", str(out)).code == 0
    assert out.exists() and not _register_file(team).exists()
    assert cli("outputs", "list", "--json").json() == []


def test_outputs__due_ics_and_a_plaintext_export_are_registered_with_their_cases(cli, team, tmp_path):
    case_id = register(cli)
    ics = tmp_path / "due.ics"
    assert cli("due", "--ics", str(ics)).code == 0
    export = tmp_path / "cases.csv"
    done = cli("export", "--format", "csv", "--plaintext", "--out", str(export))
    assert done.code == 0, done.stderr
    entries = {e["command"]: e for e in cli("outputs", "list", "--json").json()}
    assert entries["due --ics"]["path"] == str(ics.resolve()) and case_id in entries["due --ics"]["cases"]
    assert entries["export"]["path"] == str(export.resolve()) and entries["export"]["cases"] == [case_id]


def test_evacuate__removes_the_registered_plaintext_files_and_names_those_gone(cli, team, tmp_path):
    _, out = _registered_render(cli, tmp_path)
    _, moved = _registered_render(cli, tmp_path, name="other.md")
    moved.rename(tmp_path / "moved.md")
    done = cli("evacuate", "--yes", "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["plaintext_removed"] == [str(out.resolve())] and result["plaintext_gone"] == [str(moved.resolve())]
    assert not out.exists() and (tmp_path / "moved.md").exists()
    assert result["register_removed"] and not _register_file(team).exists() and not team["amina"][0].exists()
    said = cli("evacuate", "--yes")  # nothing left to destroy
    assert said.code == 0


def test_evacuate__a_register_it_cannot_read_is_said_without_the_identitys_path(repo, tmp_path):
    """A passphrase-protected identity, no passphrase given (a script's --yes): the warning that the
    register of plaintext files could not be read said why in the identity's own words, its path
    with it ('the identity at leak/Zqxcanary-key is passphrase-protected'); a file name may be a name."""
    from conftest import NOW, Cli

    secret = tmp_path / "pass.txt"
    secret.write_text("a long enough passphrase\n")
    secret.chmod(0o600)
    key = tmp_path / f"{CANARY.split()[0]}-key"
    made = Cli({"CPCM_REPO": str(repo), "CPCM_NOW": NOW, "CPCM_PASSPHRASE_FILE": str(secret)})
    for turn, (args, env) in enumerate(((("-i", str(key)), {}), ((), {"CPCM_IDENTITY": str(key)}))):
        assert made("key", "new", "--out", str(key)).code == 0
        assert made("form", "print", "registration", "--out", str(tmp_path / f"f{turn}.html"), "-i", str(key)).code == 0
        done = Cli({"CPCM_REPO": str(repo), "CPCM_NOW": NOW, **env})("evacuate", *args, "--yes", *(("--json",) if turn else ()))
        assert done.code == 0, done.stderr
        said = done.json()["plaintext_unread"] if turn else done.stderr
        assert "passphrase" in said and CANARY.split()[0] not in done.stderr + done.stdout, said


def test_evacuate__a_registered_file_it_cannot_remove_is_named_and_exit_74(cli, team, tmp_path, monkeypatch):
    _, out = _registered_render(cli, tmp_path)
    unlink = os.unlink

    def refused(path, *args, **kwargs):  # the file is another user's, or on a read-only disk
        if os.path.abspath(path) == str(out.resolve()):
            raise PermissionError(13, "Permission denied")
        return unlink(path, *args, **kwargs)
    monkeypatch.setattr(os, "unlink", refused)
    done = cli("evacuate", "--yes")
    monkeypatch.undo()
    assert done.code == 74, done.stderr
    assert str(out.resolve()) in done.stderr and "1 plaintext file(s) cpcm wrote" in done.stderr
    message = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert message and str(out.resolve()) not in message[0]  # named on a line of its own, not in the message
    assert not team["amina"][0].exists()  # everything else was destroyed


def test_outputs__a_rotated_key_still_opens_the_register(cli, team, tmp_path):
    case_id, out = _registered_render(cli, tmp_path)
    assert cli("key", "rotate", "--no-passphrase", "--json").code == 0
    listed = cli("outputs", "list", "--json")
    assert listed.code == 0, listed.stderr
    assert [(e["path"], e["cases"]) for e in listed.json()] == [(str(out.resolve()), [case_id])]
    assert "could not be read" not in listed.stderr


def test_outputs__a_public_half_that_is_no_key_does_not_break_a_blank_forms_print(cli, team, tmp_path):
    """An `identity.pub` edited by hand into something that is no age key: the blank form is written
    and the command ends well (the key is then known from the identity, or the file is not registered)."""
    from cpcm.crypto import identity as identity_mod

    identity_mod.public_path(team["amina"][0]).write_text("age1notakey\n", encoding="utf-8")
    out = tmp_path / "blank.md"
    done = cli("form", "print", "registration", "--format", "md", "--out", str(out))
    assert done.code == 0, done.stderr
    assert out.exists() and "internal error" not in done.stderr


def test_outputs__every_time_listed_in_one_zone_whether_written_in_a_repository_or_not(cli, team, tmp_path):
    """A render's entry is timed in the agency's zone, a blank paper form's (no repository) in the
    computer's: the list gives both in one zone, so they read in order: the agency's, as every
    other command shows times (not the offset $CPCM_NOW was given in); with no repository
    at hand, the clock's own."""
    from conftest import Cli

    utc = Cli({**cli.env, "CPCM_NOW": "2026-11-23T06:00:00+00:00"})
    case_id = register(utc)
    assert utc("render", "case-file", case_id, "--out", str(tmp_path / "file.md"), "--plaintext").code == 0
    form = utc("form", "print", "registration", "--format", "md", "--out", str(tmp_path / "form.md"))
    assert form.code == 0, form.stderr
    assert {e["command"] for e in utc("outputs", "list", "--json").json()} == {"render case-file", "form print registration"}
    rows = [line.split("\t") for line in utc("outputs", "list").stdout.splitlines()[1:3]]
    assert [row[0] for row in rows] == ["2026-11-23 09:00 +03:00"] * 2, rows  # Africa/Nairobi, the repository's
    assert utc("show", case_id).stdout.count("2026-11-23 09:00 +03:00") >= 1  # as show gives the registration's time
    elsewhere = Cli({**utc.env, "CPCM_REPO": str(tmp_path / "no-repository")})
    rows = [line.split("\t") for line in elsewhere("outputs", "list").stdout.splitlines()[1:3]]
    assert [row[0] for row in rows] == ["2026-11-23 06:00 +00:00"] * 2, rows
    # a configuration that cannot be opened (its permissions): the clock's own zone, not an internal error
    from datetime import datetime

    from cpcm.cli import outputs
    from cpcm.store import config

    def unreadable(root):
        raise PermissionError(13, "Permission denied")

    now = datetime.fromisoformat("2026-11-23T06:00:00+00:00")
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("CPCM_REPO", utc.env["CPCM_REPO"])
        assert outputs._shown_now(now).utcoffset().total_seconds() == 3 * 3600
        patched.setattr(config, "load_config", unreadable)
        assert outputs._shown_now(now) == now
