"""A program that stops reading cpcm's output (`cpcm due | head -5`): cpcm stops there without a
word, with 141 (128 + SIGPIPE, as a shell shows for other tools), and not as an internal error
that says nothing was written. A write is done before anything about it is printed, so it stays
done. An error keeps its own exit code and message."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import commit_count, git_status, register, stray_files

from cpcm.domain.ids import new_case_id
from cpcm.launch import READER_GONE


def closed_stdout(cli, *args: str) -> subprocess.CompletedProcess:
    """cpcm run in its own process (the real entry point) with stdout a pipe nobody reads any more."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "cpcm", *args], env={**os.environ, **cli.env, "CPCM_NO_AGENT": "1"},
                              stdin=subprocess.DEVNULL, stdout=write, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write)


def test_reads_stop_quietly_when_the_reader_has_gone(cli):
    case = register(cli)
    for args in [("due",), ("due", "--json"), ("due", "--worker", "all"), ("list",), ("list", "--json"), ("show", case),
                 ("show", case, "--json"), ("log", case), ("report", "statistics"), ("report", "statistics", "--json"),
                 ("check", case), ("--help",), ("due", "--help")]:
        done = closed_stdout(cli, *args)
        assert (done.returncode, done.stderr) == (READER_GONE, ""), args


def test_a_write_whose_reader_has_gone_is_done(cli, repo):
    case = register(cli)
    before = commit_count(repo)
    done = closed_stdout(cli, "note", case, "--text", "called the school", "--json")
    assert (done.returncode, done.stderr) == (READER_GONE, "")
    assert "nothing was written" not in done.stderr
    assert commit_count(repo) == before + 1
    shown = json.loads(cli("show", case, "last", "--json").stdout)
    assert shown["kind"] == "note" and "called the school" in json.dumps(shown)


def test_an_error_keeps_its_code_and_message_when_the_reader_has_gone(cli):
    register(cli)
    done = closed_stdout(cli, "show", new_case_id(), "--json")
    assert done.returncode == 3  # no such case
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def with_closed(cli, fds: tuple[int, ...], *args: str, stdout=subprocess.PIPE, stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    """cpcm run in its own process (the real entry point) with standard streams `fds` closed by
    its starter (`cpcm due 2>&-`, `<&-`), as a service manager or a shell can start it."""
    return subprocess.run([sys.executable, "-m", "cpcm", *args], env={**os.environ, **cli.env, "CPCM_NO_AGENT": "1"},
                          stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, text=True,
                          preexec_fn=lambda: [os.close(fd) for fd in fds])


def test_a_standard_stream_closed_at_start_is_the_null_device(cli, repo, tmp_path):
    """stderr, stdin or stdout closed by whoever started cpcm: the command runs as with the null
    device there (was: an internal error at the first message or read, exit 1 or 70, and a
    write refused); what it prints on the streams left open is as usual."""
    case = register(cli)
    listed = with_closed(cli, (2,), "due", "--json")
    assert listed.returncode == 0 and isinstance(json.loads(listed.stdout), list)
    before = commit_count(repo)
    noted = with_closed(cli, (2,), "note", case, "--text", "called the school", "--json")
    assert noted.returncode == 0 and json.loads(noted.stdout)["case_id"] == case
    assert commit_count(repo) == before + 1
    refused = with_closed(cli, (2,), "show", new_case_id(), "--json")
    assert refused.returncode == 3 and json.loads(refused.stdout)["error"] == "NotFound"
    from_stdin = with_closed(cli, (0,), "register", "--from-file", "-", "--json")
    assert from_stdin.returncode == 4 and "registration is not valid" in from_stdin.stderr, from_stdin.stderr  # read as empty
    quiet = with_closed(cli, (1,), "list", "--json")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert commit_count(repo) == before + 1


def full_stdout(cli, *args: str, agent: bool = False) -> subprocess.CompletedProcess:
    """cpcm run in its own process with stdout a device that is always full (/dev/full: every write
    fails with ENOSPC, as a file on a full disk does)."""
    with open("/dev/full", "w") as full:
        env = {**os.environ, **cli.env} if agent else {**os.environ, **cli.env, "CPCM_NO_AGENT": "1"}
        return subprocess.run([sys.executable, "-m", "cpcm", *args], env=env, stdin=subprocess.DEVNULL, stdout=full,
                              stderr=subprocess.PIPE, text=True)


def test_output_to_a_full_disk_ends_with_74_and_says_so_not_as_a_bug(cli):
    from cpcm.launch import NO_ROOM

    case = register(cli)
    for args in [("--version",), ("due",), ("due", "--json"), ("list",), ("show", case), ("show", case, "--json"),
                 ("report", "statistics"), ("--help",)]:
        done = full_stdout(cli, *args)
        assert done.returncode == NO_ROOM, (args, done.stderr)
        assert "No space left on device" in done.stderr and "nothing was written" in done.stderr, args
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr, args
        assert done.stderr.count("error:") == 1, args


def test_a_write_whose_output_fills_the_disk_is_done_and_says_so(cli, repo):
    from cpcm.launch import NO_ROOM

    case = register(cli)
    before = commit_count(repo)
    done = full_stdout(cli, "note", case, "--text", "called the school", "--json")
    assert done.returncode == NO_ROOM and "after the change was saved in commit" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert commit_count(repo) == before + 1


def test_a_full_disk_under_the_repository_is_said_and_nothing_is_written(cli, repo, monkeypatch):
    import errno

    from cpcm.launch import NO_ROOM
    from cpcm.store import atomic

    case = register(cli)
    before = commit_count(repo)

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patched:
        patched.setattr(atomic, "write_with", no_room)
        done = cli("note", case, "--text", "called the school")
    assert done.code == NO_ROOM, done.stderr
    assert "the disk is full (No space left on device); nothing was written" in done.stderr
    assert "internal error" not in done.stderr
    assert commit_count(repo) == before
    assert cli("verify").code == 0
    assert cli("note", case, "--text", "called the school").code == 0


# what git 2.x says when the index it writes does not fit on the disk: it names the lock it was writing
GIT_NO_ROOM = b"error: sha1 file '.git/index.lock' write error. Out of diskspace\nfatal: unable to write new index file\n"


@pytest.mark.parametrize("staged", ["in-process", "by-git"])
def test_a_full_disk_met_by_git_is_said_as_such_and_the_write_is_rolled_back(cli, repo, monkeypatch, staged):
    """git stopped by a full disk (its `git update-index` staging the write's files, then the rollback's
    `git reset` while the new files still take the room) is the disk full, exit 74: never an index.lock to
    remove, which is not there. The rollback removes the write's new files first, so it has the room to
    finish: nothing is left. Staged in cpcm's own process (a small index), the full disk stops its first
    object: git then stages, and says it."""
    import errno

    from cpcm.launch import NO_ROOM
    from cpcm.store import git as gitmod
    from cpcm.store.git import Git

    case = register(cli)
    before = commit_count(repo)
    real = Git.run

    def no_room(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    def full_disk(self, args, env=None, input=None):
        named = args[args.index("--") + 1:] if "--" in args else []
        if args[0] == "update-index" or (args[0] == "reset" and any((self.root / rel).exists() for rel in named)):
            raise self._failed(args, 128, GIT_NO_ROOM)
        return real(self, args, env, input)

    with monkeypatch.context() as patched:
        patched.setattr(Git, "run", full_disk)
        if staged == "in-process":
            patched.setattr(gitmod, "_write_loose", no_room)
        else:
            patched.setattr(gitmod, "INDEX_WRITE_ENTRIES", -1)
        done = cli("note", case, "--text", "called the school", "--json")
    assert done.code == NO_ROOM, done.stderr
    assert "the disk is full: git update-index could not write" in done.stderr and "index.lock" not in done.stderr
    assert "Make room on the disk" in done.stderr
    assert done.json()["exit_code"] == NO_ROOM
    assert commit_count(repo) == before
    assert git_status(repo) == [] and stray_files(repo) == []
    assert not (repo / ".cpcm" / "pending.json").exists()
    assert cli("verify").code == 0
    assert cli("note", case, "--text", "called the school").code == 0


def test_a_read_only_repository_is_said_as_such_and_reads_still_work(cli, repo, monkeypatch):
    """A repository folder on a read-only disk (or another user's): the lock file cannot be opened
    for writing, so a write stops before it starts, with exit 74 and what to do (the error JSON with
    --json), not as an internal error; commands that only read still work."""
    import errno

    from cpcm.launch import NO_ROOM
    from cpcm.store import lock

    case = register(cli)
    before = commit_count(repo)
    real = os.open

    def read_only(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and os.fspath(path).startswith(os.fspath(repo)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real(path, flags, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(lock.os, "open", read_only)
        done = cli("note", case, "--text", "called the school", "--json")
        assert done.code == NO_ROOM, done.stderr
        assert "the casefile repository is on a read-only disk; nothing was written" in done.stderr
        assert str(repo) not in done.stderr  # a path the worker gave ($CPCM_REPO) is not repeated
        assert "mount the disk read-write" in done.stderr and "internal error" not in done.stderr
        shown = done.json()
        assert (shown["error"], shown["exit_code"]) == ("NotWritable", NO_ROOM)
        assert cli("show", case).code == 0
        (repo / ".cpcm" / "pending.json").write_text("{}")  # an interrupted write: it cannot be rolled back here
        assert cli("show", case).code == 0 and cli("list").code == 0
    assert commit_count(repo) == before


def test_git_failed__a_broken_pipe_is_no_full_disk_and_a_sync_says_a_disk_full_as_such():
    """'write error' alone is what git says of a closed pipe too (a push cut off): not the disk full.
    A full disk met by a sync's fetch or push is said as a full disk (exit 74), not as a remote that
    cannot be reached (plug in the stick), and a push's names the remote's disk as well as this one."""
    from cpcm.service.sync import _named
    from cpcm.store.git import DiskFull, Git

    git = Git.__new__(Git)
    pipe = git._failed(["push"], 128, b"fatal: sha1 file '<stdout>' write error: Broken pipe\n")
    assert not isinstance(pipe, DiskFull)
    assert isinstance(git._failed(["add"], 128, GIT_NO_ROOM), DiskFull)
    for verb in ("fetch", "push"):
        with pytest.raises(DiskFull) as said, _named("/media/usb/casefiles.git", "usb"):
            raise git._failed([verb], 128, b"error: file write error: No space left on device\n")
        assert said.value.exit_code == 74 and "cannot reach" not in said.value.message
        assert ("remote 'usb'" in said.value.message) == (verb == "push") and "/media/usb" not in said.value.message


def test_a_sync_whose_push_meets_a_full_disk_ends_74_saying_to_make_room(cli, tmp_env, monkeypatch):
    """The push after a sync's merge stopped by a full disk (the USB stick's) was said as a stick pulled
    out: exit 6, 'Plug the USB stick in again'. It is a full disk: exit 74, make room; nothing is lost."""
    from cpcm.store import remote
    from test_evacuate import with_remote

    with_remote(cli, tmp_env)
    assert cli("sync", "usb").code == 0
    register(cli)

    def full(git, url, head):
        raise git._failed(["push"], 1, b"error: file write error: No space left on device\n")

    monkeypatch.setattr(remote, "push", full)
    done = cli("sync", "usb", "--json")
    assert done.code == 74, done.stderr
    assert "Make room" in done.json()["hint"] and "Plug the USB stick" not in done.stderr + done.stdout, done.stderr
    assert "your commits were not sent; nothing is lost" in done.json()["message"]
