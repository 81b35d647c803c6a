"""Loose objects packed when git would, or sooner when each write leaves large trees
(store/git.py `pack_when_due`): at 100,000 cases each write leaves a 3 MB `cases` tree, and
git's count of 6,700 loose objects would be some 4 GB of disk before `gc --auto` packed them.

The large repository is played by a small one with the budget of loose bytes made small
(`GC_LOOSE_BYTES`) or cpcm's count given (`_gc_limit`); the counts are made to pass or not by
objects put in the folders counted (git's: `objects/17`, one of cpcm's 16), as many writes would."""
from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from cpcm.store import git as gitmod
from cpcm.store.git import Git, git_env
from conftest import register
from test_sync import Laptops


def git(root: Path, *args: str, input: bytes | None = None) -> str:
    return subprocess.run(["git", "-C", str(root), *args], env=git_env(), check=True, capture_output=True,
                          input=input).stdout.decode()


def in_folder_17(root: Path) -> int:
    folder = root / ".git" / "objects" / "17"
    return len(os.listdir(folder)) if folder.is_dir() else 0


def fill_folder_17(root: Path, count: int) -> None:
    """Loose blobs in `objects/17` until it holds `count` (as the writes of other cases would leave)."""
    n = 0
    while in_folder_17(root) < count:
        content = b"%d" % n
        if hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest().startswith("17"):
            git(root, "hash-object", "-w", "--stdin", input=content)
        n += 1


def repo_with_cases(tmp_path: Path, cases: int) -> tuple[Path, Git, str]:
    """A repository of `cases` case folders committed by cpcm's Git; returns the root tree."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    paths = []
    for i in range(cases):
        folder = root / "cases" / f"CP-{i:04d}"
        folder.mkdir(parents=True)
        (folder / "recipients").write_text(f"worker{i}\n")  # (each folder its own tree, as cases are)
        paths.append(f"cases/CP-{i:04d}/recipients")
    store = Git(root)
    store.commit(paths, "register CP-0000 record R1", "Amina", "amina@example.org")
    return root, store, git(root, "rev-parse", "HEAD^{tree}").strip()


def loose_trees(root: Path, tree: str) -> int:
    """Bytes on disk of the loose sub-trees of `tree` (what one write left)."""
    total = 0
    for line in git(root, "ls-tree", tree).splitlines():
        mode, kind, sha = line.split("\t")[0].split()
        path = root / ".git" / "objects" / sha[:2] / sha[2:]
        if kind == "tree" and path.is_file():
            total += path.stat().st_size
    return total


processes: list[subprocess.Popen] = []  # the packings started in the background by the last `git_started`


def git_started(monkeypatch) -> list[str]:
    """The packing git is asked for: "gc" (git's gc --auto, waited for) or "repack" (started in the background)."""
    calls: list[str] = []
    real_run, real_popen = Git.run, subprocess.Popen
    processes.clear()

    def run(self, args, env=None, input=None):
        if args and args[0] == "gc":
            assert not env  # git's own count and settings
            calls.append("gc")
        return real_run(self, args, env=env, input=input)

    def popen(command, *args, **kwargs):
        started = real_popen(command, *args, **kwargs)
        if "repack" in command:
            calls.append("repack")
            processes.append(started)
        return started

    monkeypatch.setattr(Git, "run", run)
    monkeypatch.setattr(subprocess, "Popen", popen)
    return calls


def packed(root: Path, tree: str, timeout: float = 60.0) -> bool:
    """Waits for git packing in the background (cpcm's, or git's gc), and says whether `tree` is
    in a pack (no longer loose) within `timeout`. git's detached gc leaves no `gc.pid` for a
    moment (its parent's lock is let go before the detached one takes it again), so the loose
    object is waited for too, not only the lock."""
    for process in processes:
        process.wait(timeout=timeout)
    loose = root / ".git" / "objects" / tree[:2] / tree[2:]
    deadline = time.monotonic() + timeout
    while (loose.exists() or (root / ".git" / "gc.pid").exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    git(root, "cat-file", "-e", tree)  # still there
    return not loose.exists()


def test_small_trees_keep_gits_own_count(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 20)
    assert gitmod._gc_limit(str(root / ".git"), tree) is None  # 5 writes of these trees: far below the budget
    calls = git_started(monkeypatch)
    fill_folder_17(root, 27)  # git's 6,700: more than 27 in the folder
    store.pack_when_due(tree)
    assert calls == []
    fill_folder_17(root, 28)
    store.pack_when_due(tree)
    assert calls == ["gc"]  # git's gc --auto with git's own count
    assert packed(root, tree)


def test_large_trees_are_packed_after_fewer_writes(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 300)
    size = loose_trees(root, tree)
    assert size > 1000  # the `cases` tree of 300 folders, compressed, loose
    git_dir = str(root / ".git")
    monkeypatch.setattr(gitmod, "GC_LOOSE_BYTES", 200 * size)  # a budget of 200 such writes: 1,000 objects
    assert gitmod._gc_limit(git_dir, tree) == 1000
    monkeypatch.setattr(gitmod, "GC_LOOSE_BYTES", 10 * size)  # of 10 writes: 50 objects, fewer than cpcm packs
    assert gitmod._gc_limit(git_dir, tree) == gitmod.GC_MIN_OBJECTS == 100
    assert gitmod._fresh_objects(git_dir) > 100  # the first write's 300 folders: none packed yet
    calls = git_started(monkeypatch)
    store.pack_when_due()  # HEAD's tree when not given
    assert calls == ["repack"]
    assert packed(root, tree)
    assert git(root, "fsck", "--no-dangling") == ""
    assert not (root / ".git" / "gc.log").exists()
    assert gitmod._fresh_objects(git_dir) == 0


def fill_fresh(root: Path, count: int) -> None:
    """Loose blobs in `objects/17` (one of the folders cpcm counts) written now, until cpcm counts more than `count`."""
    time.sleep(0.02)  # (after what they are compared with, on any file system's clock)
    while gitmod._fresh_objects(str(root / ".git")) <= count:
        fill_folder_17(root, in_folder_17(root) + 1)


def commit_one(root: Path, store: Git, n: int) -> str:
    (root / "cases" / "CP-0001" / "recipients").write_text(f"changed {n}\n")
    store.commit(["cases/CP-0001/recipients"], f"assign CP-0001 record R{n}", "Amina", "amina@example.org")
    return git(root, "rev-parse", "HEAD^{tree}").strip()


def test_what_packing_leaves_loose_is_not_counted_again(tmp_path, monkeypatch):
    """The objects git keeps loose though nothing reaches them (two weeks) are not counted after
    a packing: they would start one at every write, which would leave them again."""
    root, store, tree = repo_with_cases(tmp_path, 300)
    monkeypatch.setattr(gitmod, "GC_LOOSE_BYTES", 20 * loose_trees(root, tree))
    # nothing reaches these: 12 of 16 folders' worth, 192 objects (beside the commit's own object, when its
    # hash, which holds the time, falls in the folder: reachable, git packs it)
    fill_folder_17(root, in_folder_17(root) + 12)
    calls = git_started(monkeypatch)
    store.pack_when_due(tree)
    assert calls == ["repack"] and packed(root, tree)
    assert in_folder_17(root) == 12  # left loose by git
    time.sleep(0.02)
    commit_one(root, store, 1)  # a write: its few objects, not the 192 left
    assert calls == ["repack"]
    fill_fresh(root, 100)  # more than 100 written since (other writes)
    head = commit_one(root, store, 2)
    assert calls == ["repack", "repack"] and packed(root, head)  # packed again


def test_a_packing_that_found_nothing_to_pack_is_not_started_again_for_what_it_left(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 300)
    git(root, "repack", "-a", "-d", "-q")  # everything packed
    monkeypatch.setattr(gitmod, "_gc_limit", lambda git_dir, tree: 100)
    fill_fresh(root, 100)  # loose objects nothing reaches (a rolled-back write's), more than 100 of them
    calls = git_started(monkeypatch)
    packs = gitmod._packs(str(root / ".git"))
    store.pack_when_due(tree)
    assert calls == ["repack"]
    assert processes[0].wait(timeout=60) == 0
    assert gitmod._packs(str(root / ".git")) == packs  # nothing to pack: no new pack
    store.pack_when_due(tree)
    assert calls == ["repack"]  # what it left is not counted again


def test_a_second_packing_is_not_started_while_the_first_runs(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 300)
    monkeypatch.setattr(gitmod, "_gc_limit", lambda git_dir, tree: 100)
    calls = git_started(monkeypatch)
    store.pack_when_due(tree)
    marker = root / ".git" / gitmod.PACKING
    assert marker.read_text() == f"{processes[0].pid}\n"
    fill_fresh(root, 100)  # as many written again meanwhile
    store.pack_when_due(tree)  # the first's process is there (not yet waited for, if done)
    assert calls == ["repack"]
    assert packed(root, tree)  # (waited for)
    store.pack_when_due(tree)  # ended: the next one starts
    assert calls == ["repack", "repack"]
    assert packed(root, tree)
    marker.write_text(f"{os.getpid()}\n")  # a process that runs, named by a marker older than PACKING_FOR
    old = time.time() - gitmod.PACKING_FOR - 60
    os.utime(marker, (old, old))
    fill_fresh(root, 100)
    store.pack_when_due(tree)
    assert calls == ["repack", "repack", "repack"]
    assert packed(root, tree)


def test_a_commit_packs_when_its_trees_are_large(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 300)
    monkeypatch.setattr(gitmod, "GC_LOOSE_BYTES", 20 * loose_trees(root, tree))
    calls = git_started(monkeypatch)
    head = commit_one(root, store, 1)  # with the first write's objects: more than 100 loose
    assert calls == ["repack"]
    assert packed(root, head)


def test_the_same_commit_with_gits_budget_packs_nothing(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 300)
    calls = git_started(monkeypatch)
    commit_one(root, store, 1)
    assert calls == []


def test_a_repository_that_sets_gc_itself_keeps_its_settings(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 300)
    monkeypatch.setattr(gitmod, "GC_LOOSE_BYTES", 20 * loose_trees(root, tree))
    git(root, "config", "gc.auto", "0")  # packing turned off by the user
    assert gitmod._gc_limit(str(root / ".git"), tree) is None
    calls = git_started(monkeypatch)
    store.pack_when_due(tree)
    assert calls == []


def test_too_many_packs_are_left_to_gits_gc(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 20)
    monkeypatch.setattr(gitmod, "GC_AUTO_PACK_LIMIT", 2)
    for n in range(3):  # writes, each packed on its own, as packing in the background leaves them
        (root / "cases" / "CP-0001" / "recipients").write_text(f"worker{n}\n")
        store.commit(["cases/CP-0001/recipients"], f"assign CP-0001 record R{n}", "Amina", "amina@example.org")
        git(root, "repack", "-d", "-q")
    assert gitmod._packs(str(root / ".git")) == 3
    calls = git_started(monkeypatch)
    store.pack_when_due(tree)
    assert calls == ["gc"]


def test_no_git_started_while_gits_last_gc_warning_holds(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 20)
    fill_folder_17(root, 28)
    log = root / ".git" / "gc.log"
    log.write_text("warning: There are too many unreachable loose objects; run 'git prune' to remove them.\n")
    calls = git_started(monkeypatch)
    monkeypatch.setattr(Git, "run", lambda self, args, env=None, input=None: calls.append(args[0]))
    store.pack_when_due(tree)
    assert calls == []  # git would skip it (its gc.logExpiry, a day): no process started for nothing
    log.write_text("")  # an empty log: git ignores it
    store.pack_when_due(tree)
    assert calls == ["gc"]
    day_ago = time.time() - gitmod.GC_LOG_EXPIRY - 60
    log.write_text("warning: ...\n")
    os.utime(log, (day_ago, day_ago))
    store.pack_when_due(tree)
    assert calls == ["gc", "gc"]


def test_an_object_folder_removed_while_an_object_is_written_is_made_again(tmp_path, monkeypatch):
    """git packing in the background removes the object folders it empties: one removed between
    cpcm making it and writing into it is made again (git's own writes are run once more)."""
    root, store, tree = repo_with_cases(tmp_path, 3)
    real = gitmod.tempfile.mkstemp
    raced = []

    def mkstemp(*args, **kwargs):
        if not raced:
            raced.append(kwargs["dir"])
            os.rmdir(kwargs["dir"]) if not os.listdir(kwargs["dir"]) else None
            raise FileNotFoundError(kwargs["dir"])
        return real(*args, **kwargs)

    monkeypatch.setattr(gitmod.tempfile, "mkstemp", mkstemp)
    sha = store.commit_object(tree, [], "register CP-0009 record R9", "Amina", "amina@example.org")
    assert raced and git(root, "cat-file", "-t", sha).strip() == "commit"


def test_a_git_write_that_lost_its_folder_is_run_again(tmp_path, monkeypatch):
    root, store, tree = repo_with_cases(tmp_path, 3)
    real = subprocess.run
    runs = []

    def run(command, *args, **kwargs):
        runs.append(command)
        if "write-tree" in command and len(runs) == 1:
            return subprocess.CompletedProcess(command, 128, b"", b"error: unable to create temporary file: No such file or "
                                               b"directory\nfatal: git-write-tree: error building trees\n")
        return real(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    assert store.run(["write-tree"]).strip() == tree
    assert len(runs) == 2
    runs.clear()
    monkeypatch.setattr(subprocess, "run", lambda command, *a, **k: subprocess.CompletedProcess(
        command, 128, b"", b"fatal: unable to create temporary file"))
    with pytest.raises(gitmod.GitError):  # a command not known to be safe to run again: not run again
        store.run(["commit-tree", tree, "-m", "x"])


@pytest.mark.parametrize("how", ["sync", "bundle"])
def test_a_sync_packs_its_merge_as_a_commit_does(repo, team, tmp_env, monkeypatch, how):
    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    register(amina)
    bundle = tmp_env / "amina.bundle"
    sent = amina("sync") if how == "sync" else amina("bundle", "create", str(bundle))
    assert sent.code == 0, sent.stderr
    asked: list[str | None] = []
    monkeypatch.setattr(Git, "pack_when_due", lambda self, tree=None: asked.append(tree))
    sup = laptops.cli("sup")
    done = sup("sync") if how == "sync" else sup("bundle", "apply", str(bundle))
    assert done.code == 0, done.stderr
    assert asked and asked[-1] is None  # after the merge (HEAD's tree)
