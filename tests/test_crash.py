"""Fault injection at every step of a write, as SQLite tests its journal: a real cpcm process is
killed (SIGKILL) at one step of `register`, then the next command, a reader, recovers by itself.
Nothing acknowledged is lost, nothing half-written is visible, `cpcm verify` is clean, and the
next write lands. While the killed write's leftovers are there and a cpcm holds the lock,
readers read the last commit and leave the leftovers alone.

The steps are the crash points of cpcm/store (faults.py): each atomic file write (data written,
fsynced, renamed or linked, folder fsynced) of the write note, the recipients file and the
record; each git command of the commit (add, write-tree, hash-object, update-ref: before and after);
the note's removal. One kill per step.
A kill inside `git add` (git itself killed while it holds .git/index.lock) uses git's fsmonitor
hook, which git runs while it holds that lock.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import CANARY, commit_count, git, git_status, head, register, registration, stray_files
from cpcm.store.layout import case_dir, case_rel

# (crash point, whether the write is committed when the process dies there)
STEPS = [
    ("journal-write", False),
    ("atomic-written#1", False), ("atomic-fsynced#1", False), ("atomic-renamed#1", False), ("atomic-dir-fsynced#1", False),
    ("journal-written", False),
    ("atomic-written#2", False), ("atomic-fsynced#2", False), ("atomic-renamed#2", False), ("atomic-dir-fsynced#2", False),
    ("atomic-written#3", False), ("atomic-fsynced#3", False), ("atomic-linked#1", False), ("atomic-renamed#3", False),
    ("atomic-dir-fsynced#3", False),
    ("git-update-index", False), ("git-update-index-done", False), ("git-write-tree", False), ("git-write-tree-done", False),
    ("git-hash-object", False), ("git-hash-object-done", False), ("git-update-ref", False),
    ("git-update-ref-done", True), ("journal-removed", True),
]

KILL_GIT_ADD = """#!/bin/sh
# fsmonitor hook: when the git that stages a write's files runs it (holding .git/index.lock), kill git and the cpcm above it
case "$(tr '\\0' ' ' < /proc/$PPID/cmdline)" in
  *" update-index "*|*" add "*) read -r _ _ _ cpcm _ < /proc/$PPID/stat; kill -9 "$cpcm" "$PPID"; sleep 5 ;;
esac
exit 1
"""


def canary_doc() -> str:
    return json.dumps(registration(child={"name": CANARY, "sex": "female", "age_estimate": 7}, location=CANARY))


def run_killed(cli, env: dict, *args: str, input: str = "") -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.update(cli.env)
    full.update(env)
    return subprocess.run([sys.executable, "-m", "cpcm", *args], env=full, input=input, capture_output=True, text=True)


def plaintext_anywhere(root) -> list[str]:
    marker = CANARY.split()[0].lower().encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and marker in p.read_bytes().lower()]


def listed(cli) -> dict[str, dict]:
    result = cli("list", "--json")
    assert result.code == 0, result.stderr
    return {c["case_id"]: c for c in result.json()}


def hold_lock(repo) -> int:
    fd = os.open(repo / ".cpcm" / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def leftovers(repo) -> list:
    """What an interrupted write leaves: uncommitted files, temp files, the note, git's lock."""
    return git_status(repo) + stray_files(repo) + [p for p in [repo / ".git" / "index.lock"] if p.exists()]


def check_after_crash(cli, repo, tmp_env, before_head: str, before_cases: dict, acknowledged: str, committed: bool) -> None:
    assert plaintext_anywhere(tmp_env) == []
    new_head = head(repo)
    assert new_head == before_head or committed, "a write that died before its commit moved HEAD"
    after_commit = [] if new_head == before_head else git(repo, "log", "-1", "--format=%s").split()
    # while a cpcm holds the lock (it may be the one recovering), readers read the last commit,
    # do not wait and do not touch the leftovers
    left = leftovers(repo)
    fd = hold_lock(repo)
    try:
        during = listed(cli)
        shown = cli("show", acknowledged, "--json", env={"CPCM_LOCK_TIMEOUT": "0"})
    finally:
        release(fd)
    assert shown.code == 0, shown.stderr
    assert leftovers(repo) == left
    expected = set(before_cases) | ({after_commit[1]} if after_commit else set())
    assert set(during) == expected
    # the next command, a reader, recovers by itself
    after = listed(cli)
    assert set(after) == expected
    assert after[acknowledged] == before_cases[acknowledged]
    assert leftovers(repo) == []
    verified = cli("verify", "--json")
    assert verified.code == 0, verified.stdout + verified.stderr
    assert cli("show", acknowledged).code == 0
    count = commit_count(repo)
    register(cli)
    assert commit_count(repo) == count + 1
    assert leftovers(repo) == []


@pytest.mark.parametrize("step,committed", STEPS, ids=[s for s, _ in STEPS])
def test_register__killed_at_each_step_then_the_next_command_recovers(cli, repo, tmp_env, step, committed):
    acknowledged = register(cli)
    before_head, before_cases = head(repo), listed(cli)
    done = run_killed(cli, {"CPCM_TEST_CRASH_AT": step}, "register", "--from-file", "-", input=canary_doc())
    assert done.returncode == -signal.SIGKILL, f"did not reach {step}: {done.returncode} {done.stderr}"
    if step.startswith("atomic-written") or step.startswith("atomic-fsynced") or step == "atomic-linked#1":
        assert any(p.name.startswith(".tmp-") for p in stray_files(repo))  # the kill did leave a temp file
    check_after_crash(cli, repo, tmp_env, before_head, before_cases, acknowledged, committed)


def test_register__killed_before_the_first_file_of_a_new_case_leaves_no_empty_folder(cli, repo, tmp_env):
    """A write killed after making a new case's folder and before its first file is in it (or a
    recovery killed after removing that file) left an empty folder that no later command removed
    (git does not see it) and that `verify` reported for ever as a case without recipients. Here
    the kill leaves the temp file of the recipients file, which is then taken away: the folder
    is as such a kill leaves it."""
    register(cli)
    done = run_killed(cli, {"CPCM_TEST_CRASH_AT": "atomic-written#2"}, "register", "--from-file", "-", input=canary_doc())
    assert done.returncode == -signal.SIGKILL, done.stderr
    temps = [p for p in stray_files(repo) if p.name.startswith(".tmp-") and p.parent == case_dir(repo, p.parent.name)]
    assert len(temps) == 1
    temps[0].unlink()
    folder = temps[0].parent
    assert folder.is_dir() and not any(folder.iterdir())
    assert cli("list").code == 0  # the next command recovers
    assert not folder.exists() and leftovers(repo) == []
    assert not folder.parent.exists() or any(folder.parent.iterdir())  # nor its cases/XX/ folder (format 2) left empty
    verified = cli("verify", "--json")
    assert verified.code == 0, verified.stdout + verified.stderr


def test_a_file_put_in_a_case_folder_by_hand_is_left_where_it_is_by_a_recovery(cli, repo, tmp_env):
    """A note killed once its record file is in the case folder, before the commit. The recovery
    removed every file not in the last commit from cpcm's folders: a worker's own file in the case
    folder (a scan, a note in plain text) went with the half-written record. Now only what a
    write makes (temp files, record files, recipients) is removed; the worker's file stays, the
    command that recovered names it by its folder (its name may be a child's; never what it holds)
    and verify lists it."""
    case_id = register(cli)
    folder = case_dir(repo, case_id)
    mine = folder / f"{CANARY.split()[0]} scan notes.txt"
    mine.write_text(f"{CANARY}: notes typed by hand\n")
    conference_file = repo / "conferences" / "minutes.txt"
    conference_file.parent.mkdir(exist_ok=True)
    conference_file.write_text("typed by hand\n")
    before = head(repo)
    done = run_killed(cli, {"CPCM_TEST_CRASH_AT": "atomic-dir-fsynced#2"}, "note", case_id, "--text", "home visit")
    assert done.returncode == -signal.SIGKILL, done.stderr
    half = [p for p in folder.iterdir() if p.name.endswith(".note.yaml.age")]
    assert len(half) == 1 and stray_files(repo)  # the kill left an uncommitted record and the note of the write
    recovered = cli("list")
    assert recovered.code == 0, recovered.stderr
    assert not half[0].exists() and stray_files(repo) == [] and head(repo) == before
    assert mine.read_text() == f"{CANARY}: notes typed by hand\n" and conference_file.read_text() == "typed by hand\n"
    said = "an interrupted write was undone and this file was left as it is, not a file cpcm writes"
    unnamed = "whose name is not shown (it may name someone: git status lists it)"
    assert f"warning: a file in {case_rel(case_id)} {unnamed}: {said}" in recovered.stderr, recovered.stderr
    assert f"warning: a file in conferences {unnamed}: {said}" in recovered.stderr
    assert CANARY.split()[0] not in recovered.stderr + recovered.stdout
    assert "left as it is" not in cli("list").stderr  # named once, by the command that recovered
    problems = cli("verify", "--json").json()
    assert {(p["code"], p["case_id"]) for p in problems if p["code"] == "uncommitted-change"} == {
        ("uncommitted-change", case_id), ("uncommitted-change", None)}
    assert all(CANARY.split()[0] not in p["message"] for p in problems)
    assert cli("note", case_id, "--text", "the next write lands").code == 0
    assert mine.exists() and git_status(repo) == [f"?? \"{case_rel(case_id)}/{mine.name}\"", "?? conferences/minutes.txt"]


def test_a_policy_edited_by_hand_is_left_as_it_is_by_a_recovery(cli_as, repo, tmp_env):
    """The agency's policy is edited in place and then committed with `cpcm policy set` (as
    docs/commands/workflow.md says). A note killed in between: its recovery restored every changed
    file of cpcm's folders from the last commit, and the edit was lost. Only `policy set`'s own
    interrupted write (or a sync's) now takes the file back."""
    sup = cli_as("sup")
    case_id = register(sup)
    source = tmp_env / "policy.yaml"
    source.write_text("rules: {}\n")
    assert sup("policy", "set", str(source)).code == 0
    edited = "rules:\n  initial_assessment:\n    limit: 96h\n    target: 48h\n"
    (repo / ".cpcm" / "policy.yaml").write_text(edited)
    done = run_killed(sup, {"CPCM_TEST_CRASH_AT": "journal-written"}, "note", case_id, "--text", "home visit")
    assert done.returncode == -signal.SIGKILL, done.stderr
    recovered = sup("list")
    assert recovered.code == 0 and stray_files(repo) == [], recovered.stderr
    assert (repo / ".cpcm" / "policy.yaml").read_text() == edited
    assert "warning: .cpcm/policy.yaml: an interrupted write was undone and this file was left as it is" in recovered.stderr
    committed = sup("policy", "set")
    assert committed.code == 0, committed.stderr
    assert git_status(repo) == [] and git(repo, "show", "HEAD:.cpcm/policy.yaml") == edited


def test_what_a_recovery_takes_for_a_writes_own_file_by_its_name():
    """The files a write makes are known by their names; the agency's policy and form files,
    which people also put in place by hand, only after the commands that write them."""
    from cpcm.store.casestore import written_by_cpcm

    record = "01M84N5AEN51ATC26YE94JZYAV.note.yaml.age"
    case = case_rel("CP-6KG7-M9F9")  # cases/6K/CP-6KG7-M9F9
    for rel in (f"{case}/{record}", f"{case}/recipients", f"conferences/CC-4F7K-9X2M/{record}",
                f"{case}/.tmp-0123456789abcdef", ".cpcm/.tmp-0123456789abcdef", ".cpcm/team.yaml"):
        assert written_by_cpcm(rel, "note"), rel
    for rel in (f"{case}/scan.pdf", f"{case}/notes/visit.txt", "cases/notes.txt", "cases/6K/notes.txt",
                f"{case}/{record}.bak", "conferences/minutes.docx", ".cpcm/policy.yaml",
                ".cpcm/forms/registration.yaml"):
        assert not written_by_cpcm(rel, "note"), rel
    assert written_by_cpcm(".cpcm/policy.yaml", "policy-set") and written_by_cpcm(".cpcm/forms/registration.yaml", "form-set")
    assert written_by_cpcm(".cpcm/forms/registration.yaml", "sync") and not written_by_cpcm(".cpcm/policy.yaml", "form-set")


def test_register__killed_inside_git_add_leaves_index_lock_then_the_next_command_recovers(cli, repo, tmp_env):
    acknowledged = register(cli)
    before_head, before_cases = head(repo), listed(cli)
    hook = tmp_env / "kill-git-add.sh"
    hook.write_text(KILL_GIT_ADD)
    hook.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(hook))
    try:
        done = run_killed(cli, {}, "register", "--from-file", "-", input=canary_doc())
    finally:
        git(repo, "config", "--unset", "core.fsmonitor")
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert (repo / ".git" / "index.lock").exists()  # what locked everyone out before
    check_after_crash(cli, repo, tmp_env, before_head, before_cases, acknowledged, committed=False)


def test_index_lock__not_left_by_cpcm_is_named_with_what_to_do(cli, repo):
    """An index.lock without cpcm's write note is not cpcm's: readers still read, a writer stops
    and names the file."""
    case_id = register(cli)
    before = head(repo)
    (repo / ".git" / "index.lock").write_bytes(b"")
    assert cli("show", case_id).code == 0
    assert cli("list").code == 0
    result = cli("register", "--from-file", "-", input=json.dumps(registration()))
    assert result.code == 6, result.stderr
    assert ".git/index.lock" in result.stderr and "remove the file" in result.stderr
    assert "rm " + str(repo / ".git" / "index.lock") in result.stderr
    assert head(repo) == before
    assert git_status(repo) == [] and stray_files(repo) == []
    assert (repo / ".git" / "index.lock").exists()  # left for the person to judge


def test_a_branch_lock_left_by_a_killed_commit_is_removed_by_the_next_command(cli, repo):
    """A write killed inside `git update-ref` (a power cut) can leave the branch's .lock: the next
    command's recovery removes it with the rest, and the next write lands."""
    register(cli)
    count = commit_count(repo)
    done = run_killed(cli, {"CPCM_TEST_CRASH_AT": "git-update-ref"}, "register", "--from-file", "-", input=canary_doc())
    assert done.returncode == -signal.SIGKILL
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    assert commit_count(repo) == count
    register(cli)
    assert not lock.exists() and commit_count(repo) == count + 1
    assert leftovers(repo) == []
