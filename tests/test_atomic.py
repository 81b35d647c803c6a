"""Interrupted writes: a command that dies between the temp file and the rename, or between the
rename and the commit, leaves no partial record and no plaintext; the next writer rolls back
what it left, and the repository is as before."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import CANARY, commit_count, git, git_status, head, make_identity, register, registration, stray_files
from cpcm.store.git import Git
from cpcm.store.layout import case_dir, case_rel

CRASH = """
import os, sys
import cpcm.store.git as git_mod
where = sys.argv[1]
def die(*args, **kwargs):
    os._exit(99)  # the process is killed: no rollback, no clean-up, no finally
if where == "commit":
    git_mod.Git.commit = die
elif where == "link":
    os.link = die
elif where == "replace-record":
    real = os.replace
    def replace(src, dst, *a, **k):
        if str(dst).endswith(".yaml.age"):
            die()
        return real(src, dst, *a, **k)
    os.replace = replace
from cpcm.cli import main
main(sys.argv[2:])
"""


def crash(cli, where: str, *args: str, input: str = "") -> None:
    """Run cpcm in a subprocess that dies at `where` (hard: os._exit)."""
    env = dict(os.environ)
    env.update(cli.env)
    done = subprocess.run([sys.executable, "-c", CRASH, where, *args], env=env, input=input, capture_output=True, text=True)
    assert done.returncode == 99, f"did not reach the crash point: {done.returncode} {done.stderr}"


def canary_doc() -> str:
    return json.dumps(registration(child={"name": CANARY, "sex": "female", "age_estimate": 7}, location=CANARY))


def plaintext_anywhere(root) -> list[str]:
    marker = CANARY.split()[0].lower().encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and marker in p.read_bytes().lower()]


def case_folders(repo) -> set:
    """What cases/ holds: its second-level folders (cases/XX, format 2), the case folders in them, its .keep."""
    return {*(repo / "cases").glob("*"), *(repo / "cases").glob("*/*")}


def cases_listed(cli) -> list[dict]:
    result = cli("list", "--json")
    assert result.code == 0, result.stderr
    return result.json()


def test_register__crash_between_temp_file_and_link_leaves_only_ciphertext_then_rolls_back(cli, repo, tmp_env):
    register(cli)
    before, listed = head(repo), cases_listed(cli)
    folders = case_folders(repo)
    crash(cli, "link", "register", "--from-file", "-", input=canary_doc())
    temps = [p for p in stray_files(repo) if p.name.startswith(".tmp-")]
    assert temps, "the crash should leave the record's temp file behind"
    assert all(p.read_bytes().startswith(b"age-encryption.org/v1\n") for p in temps)  # ciphertext, whole
    assert plaintext_anywhere(tmp_env) == []
    assert head(repo) == before
    new_id = register(cli)  # the next writer recovers, then writes
    assert commit_count(repo) == int(git(repo, "rev-list", "--count", before)) + 1
    assert git_status(repo) == [] and stray_files(repo) == []
    assert case_folders(repo) == folders | {case_dir(repo, new_id), case_dir(repo, new_id).parent}
    assert len(cases_listed(cli)) == len(listed) + 1


def test_register__crash_between_rename_and_commit_leaves_no_partial_case(cli, repo, tmp_env):
    register(cli)
    before, listed = head(repo), cases_listed(cli)
    folders = case_folders(repo)
    crash(cli, "commit", "register", "--from-file", "-", input=canary_doc())
    assert git_status(repo), "the crash should leave an uncommitted record behind"
    assert plaintext_anywhere(tmp_env) == []
    assert head(repo) == before
    assert cli("team", "sync").code == 0  # any writer recovers; there is nothing else to do
    assert head(repo) == before
    assert git_status(repo) == [] and stray_files(repo) == []
    assert case_folders(repo) == folders
    assert cases_listed(cli) == listed


def test_assign__crash_between_temp_file_and_rename_of_a_reencrypted_record(cli_as, repo, tmp_env):
    amina = cli_as("amina")
    case_id = register(amina, child={"name": CANARY, "sex": "male", "age_estimate": 4})
    before, listed = head(repo), cases_listed(amina)
    crash(amina, "replace-record", "assign", case_id, "--worker", "otieno")
    assert stray_files(repo)
    assert plaintext_anywhere(tmp_env) == []
    assert head(repo) == before
    assert cli_as("sup")("team", "sync").code == 0
    assert head(repo) == before
    assert git_status(repo) == [] and stray_files(repo) == []
    assert cases_listed(amina) == listed
    assert cli_as("otieno")("show", case_id).code == 5  # the assignment never happened


def crashed_assignment(cli_as, repo):
    """A case of amina's whose assignment to otieno died between the renames and the commit."""
    amina = cli_as("amina")
    case_id = register(amina, child={"name": CANARY, "sex": "male", "age_estimate": 4})
    before, listed = head(repo), cases_listed(amina)
    crash(amina, "commit", "assign", case_id, "--worker", "otieno")
    dirty = git_status(repo)
    assert any(line.startswith(" M") for line in dirty), dirty  # re-encrypted files replaced the committed ones
    return case_id, before, listed


def test_assign__crash_between_rename_and_commit_is_rolled_back_by_the_next_writer(cli_as, repo, tmp_env):
    case_id, before, listed = crashed_assignment(cli_as, repo)
    assert plaintext_anywhere(tmp_env) == []
    result = cli_as("sup")("team", "sync")
    assert result.code == 0, result.stderr
    assert head(repo) == before
    assert git_status(repo) == [] and stray_files(repo) == []
    assert cases_listed(cli_as("amina")) == listed
    assert cli_as("otieno")("show", case_id).code == 5  # the assignment never happened
    again = cli_as("sup")("assign", case_id, "--worker", "otieno")
    assert again.code == 0, again.stderr
    assert commit_count(repo) == int(git(repo, "rev-list", "--count", before)) + 1
    assert cli_as("otieno")("show", case_id).code == 0


def test_assign__retried_after_a_crash_between_rename_and_commit_works(cli_as, repo):
    case_id, before, _ = crashed_assignment(cli_as, repo)
    result = cli_as("amina")("assign", case_id, "--worker", "otieno")  # the user simply runs it again
    assert result.code == 0, result.stderr
    assert commit_count(repo) == int(git(repo, "rev-list", "--count", before)) + 1
    assert git_status(repo) == [] and stray_files(repo) == []


def test_recovery__pending_note_with_uncommitted_record_and_temp_file(cli, repo):
    case_id = register(cli)
    before, listed = head(repo), cases_listed(cli)
    folder = case_dir(repo, case_id)
    committed = sorted(p.name for p in folder.iterdir())
    (repo / ".cpcm" / "pending.json").write_text(json.dumps({"verb": "assess", "worker": "amina"}))
    (folder / "01M84N0603RNRR0YKKTW6RR3CG.assessment.yaml.age").write_bytes(b"age-encryption.org/v1\n-> X25519 half")
    (folder / ".tmp-0123456789abcdef").write_bytes(b"age-encryption.org/v1\n")
    (folder / "recipients").write_text("amina\nsup\notieno\n")  # a half-done change of readers
    result = cli("team", "sync")
    assert result.code == 0, result.stderr
    assert head(repo) == before
    assert git_status(repo) == [] and stray_files(repo) == []
    assert sorted(p.name for p in folder.iterdir()) == committed
    assert cases_listed(cli) == listed


def test_recovery__a_new_case_folder_left_by_a_crash_is_removed(cli_as, repo, tmp_env):
    """Rolled back, a new case leaves no empty folder that later looks like an unreadable case."""
    amina = cli_as("amina")
    register(amina)
    folders = case_folders(repo)
    crash(amina, "commit", "register", "--from-file", "-", input=canary_doc())
    sup2 = make_identity(tmp_env / "keys" / "sup2.txt")
    result = cli_as("sup")("team", "add", "sup2", "--role", "supervisor", "--recipient", sup2, "--json")
    assert result.code == 0, result.stderr
    assert result.json()["not_reencrypted"] == []
    assert "warning" not in result.stderr
    assert case_folders(repo) == folders
    assert git_status(repo) == [] and stray_files(repo) == []


def test_commit_failure__rolls_back_the_files_in_process(cli, repo, monkeypatch):
    register(cli)
    before, listed = head(repo), cases_listed(cli)
    folders = case_folders(repo)

    def fail(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Git, "commit", fail)
    result = cli("register", "--from-file", "-", input=canary_doc())
    assert result.code != 0
    assert "Traceback" not in result.stderr and CANARY not in result.stderr
    monkeypatch.undo()
    assert head(repo) == before
    assert git_status(repo) == [] and stray_files(repo) == []
    assert case_folders(repo) == folders
    assert cases_listed(cli) == listed
    assert register(cli)


def test_link_failure__leaves_no_temp_file_and_no_half_case(cli, repo, monkeypatch):
    before = head(repo)

    def fail(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "link", fail)
    result = cli("register", "--from-file", "-", input=canary_doc())
    monkeypatch.undo()
    assert result.code != 0
    assert head(repo) == before
    assert git_status(repo) == [] and stray_files(repo) == []
    assert list((repo / "cases").iterdir()) == [repo / "cases" / ".keep"]
    assert register(cli)


# -- git's environment: only what cpcm sets -------------------------------------------------------
def other_repository(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True, capture_output=True)
    (other / "file").write_text("other\n")
    subprocess.run(["git", "-C", str(other), "add", "file"], check=True, capture_output=True)
    subprocess.run(["git", "-C", str(other), "-c", "user.name=o", "-c", "user.email=o@o", "commit", "-qm", "other"],
                   check=True, capture_output=True)
    return other


REDIRECTS = {
    "GIT_DIR": lambda o: str(o / ".git"),
    "GIT_WORK_TREE": lambda o: str(o),
    "GIT_INDEX_FILE": lambda o: str(o / ".git" / "index"),
    "GIT_OBJECT_DIRECTORY": lambda o: str(o / ".git" / "objects"),
}


@pytest.mark.parametrize("names", [[name] for name in REDIRECTS] + [list(REDIRECTS)], ids=[*REDIRECTS, "all"])
def test_git_environment__of_the_caller_does_not_redirect_a_write(cli, repo, tmp_env, names):
    other = other_repository(tmp_env)
    other_state = (head(other), (other / ".git" / "index").read_bytes(), git_status(other),
                   sorted(p.name for p in (other / ".git" / "objects").rglob("*")))
    before = commit_count(repo)
    env = {name: REDIRECTS[name](other) for name in names}
    result = cli("register", "--from-file", "-", "--json", input=json.dumps(registration()), env=env)
    assert result.code == 0, result.stderr
    case_id = result.json()["case_id"]
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").startswith(f"register {case_id} ")
    assert git(repo, "cat-file", "-e", f"HEAD:{case_rel(case_id)}/recipients") == ""
    assert git_status(repo) == [] and stray_files(repo) == []
    assert (head(other), (other / ".git" / "index").read_bytes(), git_status(other),
            sorted(p.name for p in (other / ".git" / "objects").rglob("*"))) == other_state
    assert cli("show", case_id, env=env).code == 0


def test_git_environment__global_configuration_is_not_read(cli, repo, tmp_env):
    """A caller's ~/.gitconfig that would sign, run hooks or ignore record files changes nothing."""
    hooks = tmp_env / "hooks"
    hooks.mkdir()
    (hooks / "pre-commit").write_text("#!/bin/sh\nexit 1\n")
    (hooks / "pre-commit").chmod(0o755)
    (tmp_env / "ignore").write_text("*.age\nrecipients\n")
    home = tmp_env / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text(f"[commit]\n\tgpgsign = true\n[core]\n\thooksPath = {hooks}\n\texcludesFile = {tmp_env / 'ignore'}\n")
    before = commit_count(repo)
    case_id = register(cli)
    assert commit_count(repo) == before + 1
    assert git(repo, "ls-tree", "--name-only", "HEAD", f"{case_rel(case_id)}/").strip()
    assert git_status(repo) == [] and stray_files(repo) == []


def test_write__fsyncs_the_file_before_it_takes_the_name_then_the_folder(tmp_path, monkeypatch):
    """What survives a power cut: the data reaches the disk before the name points at it, and the
    folder's new entry after. (The test processes make fsync a no-op, tests/conftest.py: this
    test watches the calls instead.)"""
    from pathlib import Path

    from cpcm.store import atomic

    steps = []
    monkeypatch.setattr(os, "fsync", lambda fd: steps.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))))
    real_replace, real_link = os.replace, os.link
    monkeypatch.setattr(os, "replace", lambda a, b: (steps.append(("replace", str(b))), real_replace(a, b)))
    monkeypatch.setattr(os, "link", lambda a, b: (steps.append(("link", str(b))), real_link(a, b)))
    target = tmp_path / "folder" / "record.age"
    atomic.write(target, b"one")
    atomic.write(target, b"two")
    atomic.write(tmp_path / "folder" / "new.age", b"three", exclusive=True)
    folder = str(tmp_path / "folder")
    temp = [path for kind, path in steps if kind == "fsync" and path != folder]
    assert all(Path(path).name.startswith(".tmp-") for path in temp) and len(temp) == 3
    assert [(kind, path if kind != "fsync" or path == folder else "temp") for kind, path in steps] == [
        ("fsync", "temp"), ("replace", str(target)), ("fsync", folder),
        ("fsync", "temp"), ("replace", str(target)), ("fsync", folder),
        ("fsync", "temp"), ("link", folder + "/new.age"), ("fsync", folder)]
    assert target.read_bytes() == b"two" and (tmp_path / "folder" / "new.age").read_bytes() == b"three"
