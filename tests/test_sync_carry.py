"""A remote that is a folder: a sync's objects carried without git's transport (store/carry.py).

The result must be what git's fetch and push give (the same refs, the same objects reachable,
`git fsck --strict` clean on both sides); a push that races another writer is refused and loses
nothing; a damaged or incomplete pack is refused and leaves nothing behind; and whatever the fast
way does not handle goes through git's transport as before."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import register
from test_sync import VISIT, Laptops, tree_state
from test_sync_proportional import A, B, C, U, commit, write
from cpcm.store import carry, remote
from cpcm.store.git import Git, GitError
from cpcm.store.layout import case_rel

BRANCH = "refs/heads/main"
D, E = case_rel("CP-DDDD-DDDD"), case_rel("CP-EEEE-EEEE")


@pytest.fixture
def laptops(repo, team, tmp_env):
    return Laptops(repo, team, tmp_env)


def run(root: Path, *args: str, input: bytes | None = None) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], cwd=root, input=input,
                          capture_output=True, check=True)
    return done.stdout.decode()


def reachable(git_dir: Path) -> list[str]:
    """Every object the refs reach (git's own walk: what a transport must have brought)."""
    return sorted(line.split()[0] for line in run(git_dir, "rev-list", "--objects", "--all").splitlines())


def refs(git_dir: Path) -> str:
    return run(git_dir, "for-each-ref", "--format=%(refname) %(objectname)")


def fsck(git_dir: Path) -> None:
    done = subprocess.run(["git", "fsck", "--strict", "--no-dangling"], cwd=git_dir, capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def quarantines(git_dir: Path) -> list[str]:
    return [n for n in os.listdir(git_dir / "objects") if n.startswith(carry.QUARANTINE)]


def loose_and_packed(git_dir: Path) -> tuple[str, str]:
    """What the object store holds (to show a refused carry added nothing)."""
    lines = dict(line.split(": ") for line in run(git_dir, "count-objects", "-v").splitlines())
    return lines["count"], lines["in-pack"]


def no_git_transport(monkeypatch) -> None:
    real = Git.run

    def guarded(self, args, env=None, input=None):
        if args[0] in ("fetch", "push"):
            raise GitError(f"git {args[0]} was used")
        return real(self, args, env=env, input=input)
    monkeypatch.setattr(Git, "run", guarded)


@pytest.fixture
def history(tmp_path):
    """A working repository and a bare remote. base: cases A, B, U and a team file, on the remote.
    The remote then moves on (theirs: case C added, B's second note removed, the team changed);
    here, unpushed: ours (A's third note, the services file) and a merge of theirs whose tree takes
    entries from either side, one file in a third version and a new case."""
    work = tmp_path / "work"
    work.mkdir()
    run(work, "init", "-q", "-b", "main")
    for case in (A, B, U):
        write(work, f"{case}/recipients", "amina\n")
        write(work, f"{case}/01.note.yaml.age", f"{case} one")
    write(work, f"{B}/02.note.yaml.age", "B two")
    write(work, ".cpcm/team.yaml", "team: 1\n")
    base = commit(work, "base")
    bare = tmp_path / "remote.git"
    run(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    run(work, "push", "-q", str(bare), "main")
    run(work, "checkout", "-q", "-b", "other")
    write(work, f"{C}/recipients", "amina\n")
    write(work, f"{C}/01.registration.yaml.age", "C one")
    (work / f"{B}/02.note.yaml.age").unlink()
    write(work, ".cpcm/team.yaml", "team: 2\n")
    theirs = commit(work, "theirs")
    run(work, "push", "-q", str(bare), "other:main")
    run(work, "checkout", "-q", "main")
    write(work, f"{A}/03.note.yaml.age", "A three")
    write(work, ".cpcm/services.yaml", "services: [x]\n")
    ours = commit(work, "ours")
    run(work, "merge", "-q", "--no-commit", "other")
    write(work, ".cpcm/team.yaml", "team: 3\n")  # neither side's
    write(work, f"{D}/01.note.yaml.age", "D one")
    merged = commit(work, "merge")
    return work, bare, {"base": base, "theirs": theirs, "ours": ours, "merged": merged}


def copy(path: Path, name: str) -> Path:
    dest = path.parent / name
    shutil.copytree(path, dest, symlinks=True)
    return dest


# -- the same result as git's transport ------------------------------------------------------------
@pytest.fixture(params=["loose", "pack"])
def stored(request, monkeypatch):
    """Both ways the receiving side stores what it reads: loose objects (`unpack-objects`, a small
    change) and a kept pack (`index-pack`, from `UNPACK_LIMIT` objects on)."""
    if request.param == "pack":
        monkeypatch.setattr(carry, "UNPACK_LIMIT", 1)
    return request.param


def test_a_carried_push_gives_what_git_push_gives(history, stored):
    work, bare, commits = history
    packs_before = len(list((bare / "objects" / "pack").glob("*.idx")))
    by_git = copy(bare, "by-git.git")
    assert carry.push(work, str(bare), BRANCH, commits["merged"]) is True
    run(work, "push", "-q", str(by_git), f"{commits['merged']}:{BRANCH}")
    assert refs(bare) == refs(by_git)
    assert reachable(bare) == reachable(by_git)
    fsck(bare)
    fsck(work)
    assert quarantines(bare) == []
    assert len(list((bare / "objects" / "pack").glob("*.idx"))) == packs_before + (stored == "pack")
    assert carry.push(work, str(bare), BRANCH, commits["merged"]) is True  # again: nothing to do


def test_a_carried_fetch_gives_what_git_fetch_gives(history, tmp_path, stored):
    work, bare, commits = history
    assert carry.push(work, str(bare), BRANCH, commits["merged"])
    laptop = tmp_path / "laptop"
    run(tmp_path, "clone", "-q", "--no-local", str(bare), str(laptop))
    run(laptop, "reset", "-q", "--hard", commits["base"])
    run(laptop, "remote", "remove", "origin")  # nothing names the remote's branch: the fetch starts from base
    write(laptop, f"{U}/02.note.yaml.age", "U two")
    commit(laptop, "mine")
    by_git = copy(laptop, "laptop-git")
    got = carry.fetch(laptop, str(bare), BRANCH, remote.INCOMING)
    assert got == commits["merged"]
    run(by_git, "fetch", "-q", str(bare), f"+{BRANCH}:{remote.INCOMING}")
    assert refs(laptop / ".git") == refs(by_git / ".git")
    assert reachable(laptop / ".git") == reachable(by_git / ".git")
    fsck(laptop)
    assert quarantines(laptop / ".git") == []


def test_a_sync_through_a_folder_uses_no_git_transport_and_both_sides_check_clean(laptops, monkeypatch):
    amina = laptops.laptop("amina")
    case_id = register(amina)
    no_git_transport(monkeypatch)
    assert amina("followup", case_id, *VISIT).code == 0
    assert laptops.sync("amina")["pushed"]
    register(laptops.cli("sup"))
    got = laptops.sync("sup")  # carries amina's records here, merges, carries the merge there
    assert got["merged"] and got["pushed"] and got["records"] == 2 and got["cases"] == [case_id]
    took = laptops.sync("amina")
    assert took["fast_forward"]
    assert run(laptops.bare, "rev-parse", BRANCH).strip() == run(laptops.repo, "rev-parse", "HEAD").strip() \
        == run(laptops.clones["amina"], "rev-parse", "HEAD").strip()
    for place in (laptops.bare, laptops.repo, laptops.clones["amina"]):
        fsck(place)
    assert laptops.cli("sup")("verify").code == 0


# -- refusals ----------------------------------------------------------------------------------------
def test_a_concurrent_push_makes_the_carried_push_refuse_and_lose_nothing(history, tmp_path, monkeypatch):
    work, bare, commits = history
    other = tmp_path / "other"
    run(tmp_path, "clone", "-q", str(bare), str(other))
    write(other, f"{E}/01.note.yaml.age", "E one")
    theirs_next = commit(other, "another copy's push")
    real = carry.crash_point

    def another_writer(name: str) -> None:
        if name == "carry-push-ref":
            run(other, "push", "-q", "origin", "main")  # the remote moves while our objects are carried
        real(name)
    monkeypatch.setattr(carry, "crash_point", another_writer)
    assert carry.push(work, str(bare), BRANCH, commits["merged"]) is False
    assert run(bare, "rev-parse", BRANCH).strip() == theirs_next  # the other writer's push stands
    monkeypatch.setattr(carry, "crash_point", real)
    # nothing lost: fetch, merge, carry again
    assert carry.fetch(work, str(bare), BRANCH, remote.INCOMING) == theirs_next
    run(work, "merge", "-q", "--no-edit", remote.INCOMING)
    new = run(work, "rev-parse", "HEAD").strip()
    assert carry.push(work, str(bare), BRANCH, new) is True
    contains = run(bare, "rev-list", BRANCH).split()
    assert commits["merged"] in contains and theirs_next in contains
    fsck(bare)
    assert quarantines(bare) == []


def test_a_sync_whose_push_races_another_copy_merges_again_and_loses_nothing(laptops, monkeypatch):
    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    mine = register(laptops.cli("sup"))
    assert amina("followup", case_id, *VISIT).code == 0
    real = carry.crash_point
    raced = []

    def another_copy(name: str) -> None:
        if name == "carry-push-ref" and not raced:
            raced.append(name)
            done = laptops.cli("amina").process("sync")  # amina's copy pushes first (its own process)
            assert done.code == 0, done.stderr
        real(name)
    monkeypatch.setattr(carry, "crash_point", another_copy)
    got = laptops.sync("sup")
    assert raced and got["pushed"]
    history = run(laptops.bare, "log", "--name-only", "--format=", BRANCH)
    assert f"{case_rel(mine)}/" in history and history.count(f"{case_rel(case_id)}/") >= 3
    assert run(laptops.bare, "rev-parse", BRANCH).strip() == run(laptops.repo, "rev-parse", "HEAD").strip()
    fsck(laptops.bare)


def corrupt_packs(monkeypatch, at: int) -> None:
    """Every pack `pack-objects` makes has one byte changed at offset `at` from its end."""
    real = carry.Repo.command
    flip = ("import sys; d = bytearray(sys.stdin.buffer.read()); d[len(d) - %d] ^= 0x40; "
            "sys.stdout.buffer.write(d)" % at)

    def command(self, args):
        if "pack-objects" in args:
            return ["sh", "-c", '"$0" "$@" | "%s" -c "%s"' % (sys.executable, flip), *real(self, args)]
        return real(self, args)
    monkeypatch.setattr(carry.Repo, "command", command)


@pytest.mark.parametrize("at", [1, 30])  # the pack's checksum; an object's data
def test_a_damaged_pack_is_refused_and_leaves_nothing(history, monkeypatch, at, stored):
    work, bare, commits = history
    before = (refs(bare), loose_and_packed(bare))
    corrupt_packs(monkeypatch, at)
    with pytest.raises(carry.NotHere):
        carry.push(work, str(bare), BRANCH, commits["merged"])
    assert (refs(bare), loose_and_packed(bare)) == before
    assert quarantines(bare) == []


def test_an_incomplete_pack_is_refused_and_leaves_nothing(history, monkeypatch):
    work, bare, commits = history
    before = (refs(bare), loose_and_packed(bare))
    real = carry.change
    calls = []

    def without_a_blob(repo, tip, nots):
        found = real(repo, tip, nots)
        calls.append(repo.git_dir)
        if len(calls) == 1:  # the sender's list: one new record left out
            kept = tuple(e for e in found.entries if not e[2].endswith("03.note.yaml.age"))
            assert len(kept) == len(found.entries) - 1
            return carry.NewObjects(found.commits, found.trees, kept)
        return found
    monkeypatch.setattr(carry, "change", without_a_blob)
    with pytest.raises(carry.NotHere):
        carry.push(work, str(bare), BRANCH, commits["merged"])
    assert len(calls) == 2  # the receiver checked what it read
    assert (refs(bare), loose_and_packed(bare)) == before
    assert quarantines(bare) == []


def test_a_pack_without_a_changed_tree_is_refused(history, monkeypatch):
    work, bare, commits = history
    real = carry.change

    def without_a_tree(repo, tip, nots):
        found = real(repo, tip, nots)
        if repo.git_dir == str(work / ".git"):
            return carry.NewObjects(found.commits, found.trees, tuple(e for e in found.entries if e[2] != D))
        return found
    monkeypatch.setattr(carry, "change", without_a_tree)
    with pytest.raises(carry.NotHere):
        carry.push(work, str(bare), BRANCH, commits["merged"])
    assert run(bare, "rev-parse", BRANCH).strip() == commits["theirs"]


def test_a_refused_carry_falls_back_to_git_push(laptops, monkeypatch):
    amina = laptops.laptop("amina")
    register(amina)
    corrupt_packs(monkeypatch, 1)
    real, tried = carry._pipe, []

    def pipe(sender, receiver, lines):
        try:
            real(sender, receiver, lines)
        except carry.NotHere:
            tried.append(receiver.git_dir)
            raise
        tried.append(None)
    monkeypatch.setattr(carry, "_pipe", pipe)
    sent = laptops.sync("amina")
    assert sent["pushed"]
    assert tried == [str(laptops.bare)]  # the carry was tried, refused the damaged pack; git's push then
    assert run(laptops.bare, "rev-parse", BRANCH).strip() == run(laptops.clones["amina"], "rev-parse", "HEAD").strip()
    fsck(laptops.bare)
    assert quarantines(laptops.bare) == []


# -- what goes through git's transport as before --------------------------------------------------
def test_a_remote_with_a_hook_gets_git_push_and_its_hook_runs(laptops):
    hook = laptops.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho refused by the remote >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(carry.NotHere):
        carry.bare(str(laptops.bare))
    amina = laptops.laptop("amina")
    register(amina)
    before = refs(laptops.bare)
    failed = amina("sync")
    assert failed.code == 6  # git's push ran the hook, which refused
    assert refs(laptops.bare) == before


@pytest.mark.parametrize("case", ["setting", "alternates", "not-bare", "shallow", "empty", "ssh-like"])
def test_what_the_fast_way_does_not_handle_goes_through_git(history, tmp_path, case, monkeypatch):
    work, bare, commits = history
    url = str(bare)
    if case == "setting":
        run(bare, "config", "receive.fsckObjects", "true")
    elif case == "alternates":
        (bare / "objects" / "info").mkdir(exist_ok=True)
        (bare / "objects" / "info" / "alternates").write_text(str(tmp_path / "elsewhere.git" / "objects") + "\n")
    elif case == "not-bare":
        url = str(tmp_path / "checked-out")
        run(tmp_path, "clone", "-q", str(bare), url)
    elif case == "shallow":
        shallow = tmp_path / "shallow"
        run(tmp_path, "clone", "-q", "--depth=1", "file://" + str(bare), str(shallow))
        with pytest.raises(carry.NotHere):
            carry.fetch(shallow, str(bare), BRANCH, remote.INCOMING)
        return
    elif case == "empty":
        url = str(tmp_path / "empty.git")
        run(tmp_path, "init", "-q", "--bare", url)
    if case == "ssh-like":
        assert not remote._carried(Git(work), "localhost:" + str(bare))
        assert remote._carried(Git(work), str(bare))
        return
    with pytest.raises(carry.NotHere):
        carry.push(work, url, BRANCH, commits["merged"])
    with pytest.raises(carry.NotHere):
        carry.fetch(work, url, BRANCH, remote.INCOMING)
    if case in ("setting", "empty"):  # git's own push and fetch do it, through store/remote.py
        assert remote.push(Git(work), url, commits["merged"])
        assert run(Path(url), "rev-parse", BRANCH).strip() == commits["merged"]
        fsck(Path(url))


def test_a_quarantine_folder_a_killed_sync_left_in_a_remote_goes_after_a_day(history):
    work, bare, commits = history
    old, fresh = bare / "objects" / f"{carry.QUARANTINE}old", bare / "objects" / f"{carry.QUARANTINE}fresh"
    for folder in (old, fresh):
        (folder / "pack").mkdir(parents=True)
    stamp = time.time() - carry.STALE_SECONDS - 60
    os.utime(old, (stamp, stamp))
    assert carry.push(work, str(bare), BRANCH, commits["merged"])
    assert quarantines(bare) == [fresh.name]  # another copy may be carrying into the remote right now


def a_step(monkeypatch, step: str, store: Path, action) -> None:
    """Run `action(quarantine folder)` on each quarantine folder in object store `store` when a
    carry reaches crash point `step`."""
    real = carry.crash_point

    def hook(name: str) -> None:
        if name == step:
            for folder in sorted(store.iterdir()):
                if folder.name.startswith(carry.QUARANTINE):
                    action(folder)
        real(name)
    monkeypatch.setattr(carry, "crash_point", hook)


def test_an_object_file_gone_from_the_quarantine_before_it_is_moved_refuses_the_push(history, stored, monkeypatch):
    """Another process (a copy sweeping a shared remote) removes part of the quarantine folder
    after the check: the branch is not moved, the remote stays whole."""
    work, bare, commits = history
    gone = []

    def remove_one(folder: Path) -> None:
        parts = sorted(p for p in folder.iterdir() if p.name == "pack" or len(p.name) == 2)
        assert parts
        shutil.rmtree(parts[-1])
        gone.append(parts[-1].name)
    a_step(monkeypatch, "carry-checked", bare / "objects", remove_one)
    with pytest.raises(carry.NotHere):
        carry.push(work, str(bare), BRANCH, commits["merged"])
    assert gone == ["pack"] if stored == "pack" else len(gone) == 1
    assert run(bare, "rev-parse", BRANCH).strip() == commits["theirs"]
    fsck(bare)
    assert quarantines(bare) == []
    monkeypatch.undo()
    assert remote.push(Git(work), str(bare), commits["merged"])  # git's push then, or the carry again
    fsck(bare)


def test_an_object_missing_from_the_store_after_the_move_refuses_the_push(history, stored, monkeypatch):
    """The objects are looked for in the store itself after the move, before the branch moves."""
    work, bare, commits = history
    real = carry._finalize
    lost = []

    def loses_one(source: str, target: str) -> None:
        real(source, target)
        if not lost and not target.endswith(".idx"):
            os.unlink(target)  # (a loose object, or the pack: its index then names what is not there)
            lost.append(target)
    monkeypatch.setattr(carry, "_finalize", loses_one)
    with pytest.raises(carry.NotHere):
        carry.push(work, str(bare), BRANCH, commits["merged"])
    assert lost
    assert run(bare, "rev-parse", BRANCH).strip() == commits["theirs"]
    fsck(bare)


def test_a_quarantine_folder_in_use_is_not_taken_by_another_copy_sweeping_the_remote(history, monkeypatch):
    """Its time is renewed at each step: a folder whose time looks old (a slow stick, another
    computer's clock) is left alone while the carry goes on."""
    work, bare, commits = history
    stamp = time.time() - carry.STALE_SECONDS - 60
    a_step(monkeypatch, "carry-read", bare / "objects", lambda folder: os.utime(folder, (stamp, stamp)))
    real = carry.crash_point

    def and_sweep(name: str) -> None:
        real(name)
        if name == "carry-checked":
            carry.clear_quarantines(str(bare / "objects"), carry.STALE_SECONDS)  # what another copy's push does first
    monkeypatch.setattr(carry, "crash_point", and_sweep)
    assert carry.push(work, str(bare), BRANCH, commits["merged"]) is True
    assert run(bare, "rev-parse", BRANCH).strip() == commits["merged"]
    fsck(bare)


def test_a_carried_push_is_on_the_remote_s_disk_before_its_branch_moves(history, stored, monkeypatch):
    """The remote may be a stick pulled right after "pushed": the object files are fsynced by git
    (its settings on the command that reads the pack), the folders they were placed in here, all
    before the branch moves; then the branch's file (by `update-ref`) and its folder."""
    work, bare, commits = history
    store = bare / "objects"

    def loose() -> set[str]:
        return {f"{d.name}/{f.name}" for d in store.iterdir() if len(d.name) == 2 for f in d.iterdir()}
    folders_before = {d.name for d in store.iterdir()}
    loose_before = loose()
    commands, synced, at_ref = [], [], []
    real_command = carry.Repo.command

    def command(self, args):
        commands.append(list(args))
        return real_command(self, args)
    monkeypatch.setattr(carry.Repo, "command", command)
    monkeypatch.setattr(carry, "fsync_dir", lambda folder: synced.append(os.path.normpath(folder)))
    real_step = carry.crash_point

    def step(name: str) -> None:
        if name == "carry-push-ref":
            at_ref.extend(synced)
        real_step(name)
    monkeypatch.setattr(carry, "crash_point", step)
    assert carry.push(work, str(bare), BRANCH, commits["merged"]) is True
    fsck(bare)
    new_loose = loose() - loose_before
    needed = {os.path.normpath(store / rel.split("/")[0]) for rel in new_loose}
    if stored == "pack":
        assert not new_loose
        needed.add(os.path.normpath(store / "pack"))
    else:
        assert new_loose
    if {d.name for d in store.iterdir()} - folders_before:
        needed.add(os.path.normpath(store))  # a folder made in the store: its name too
    assert needed and needed <= set(at_ref)
    assert os.path.normpath(bare / "refs" / "heads") in synced[len(at_ref):]
    reader = next(c for c in commands if "unpack-objects" in c or "index-pack" in c)
    assert ("unpack-objects" if stored == "loose" else "index-pack") in reader
    assert "core.fsync=loose-object,pack" in reader and "core.fsyncMethod=fsync" in reader
    update = next(c for c in commands if "update-ref" in c)
    assert "core.fsync=reference" in update[:update.index("update-ref")]


def test_a_reader_that_cannot_be_started_ends_the_packer(history, monkeypatch):
    """The packer is ended (not waited for with its input still open, which would wait for ever)
    when the reading side's git cannot be started."""
    work, bare, commits = history
    real = subprocess.Popen
    started, left_open = [], []

    def popen(args, **kwargs):
        if "pack-objects" not in args and "unpack-objects" not in args and "index-pack" not in args:
            return real(args, **kwargs)  # (subprocess.run's, for the other git commands)
        if started:
            raise OSError("no second process")
        process = real(args, **kwargs)
        started.append(process)
        wait = process.wait

        def checked_wait(timeout=None):
            if process.poll() is None and not process.stdin.closed:
                left_open.append(True)  # (the wait would never end: closed here so that this test ends)
                process.stdin.close()
            return wait(timeout)
        process.wait = checked_wait
        return process
    monkeypatch.setattr(carry.subprocess, "Popen", popen)
    with pytest.raises(carry.NotHere):
        carry.push(work, str(bare), BRANCH, commits["merged"])
    assert len(started) == 1 and "pack-objects" in started[0].args
    assert not left_open
    assert started[0].returncode is not None and started[0].stdout.closed
    assert run(bare, "rev-parse", BRANCH).strip() == commits["theirs"] and quarantines(bare) == []


def test_a_remote_without_hard_links_gets_the_objects_renamed_into_place(history, stored, monkeypatch):
    """A FAT-formatted stick has no hard links (EPERM): each object file is renamed into place."""
    work, bare, commits = history
    by_git = copy(bare, "by-git.git")
    refused = []

    def no_link(source, target, **kwargs):
        refused.append(target)
        raise PermissionError(errno.EPERM, "no hard links here")
    monkeypatch.setattr(carry.os, "link", no_link)
    assert carry.push(work, str(bare), BRANCH, commits["merged"]) is True
    monkeypatch.undo()
    assert refused and all(os.path.exists(target) for target in refused)
    run(work, "push", "-q", str(by_git), f"{commits['merged']}:{BRANCH}")
    assert refs(bare) == refs(by_git)
    assert reachable(bare) == reachable(by_git)
    fsck(bare)
    assert quarantines(bare) == []


def test_a_branch_that_is_a_symbolic_ref_goes_through_git(history):
    work, bare, commits = history
    run(bare, "update-ref", "refs/heads/other", commits["theirs"])
    run(bare, "symbolic-ref", BRANCH, "refs/heads/other")
    with pytest.raises(carry.NotHere):
        carry.push(work, str(bare), BRANCH, commits["merged"])
    with pytest.raises(carry.NotHere):
        carry.fetch(work, str(bare), BRANCH, remote.INCOMING)


def test_an_object_missing_from_the_remote_is_not_carried(history, tmp_path):
    work, bare, commits = history
    laptop = tmp_path / "laptop"
    run(tmp_path, "clone", "-q", "--no-local", str(bare), str(laptop))
    run(laptop, "reset", "-q", "--hard", commits["base"])
    assert carry.push(work, str(bare), BRANCH, commits["merged"])
    blob = run(work, "rev-parse", f"{commits['merged']}:{D}/01.note.yaml.age").strip()
    (bare / "objects" / blob[:2] / blob[2:]).unlink()  # a remote damaged on disk
    before = refs(laptop / ".git")
    with pytest.raises(carry.NotHere):
        carry.fetch(laptop, str(bare), BRANCH, remote.INCOMING)
    assert refs(laptop / ".git") == before and quarantines(laptop / ".git") == []
    with pytest.raises(GitError):  # and git's own fetch, which the sync falls back to, refuses it too
        remote.fetch(Git(laptop), str(bare))


def test_nothing_in_common_goes_through_git_fetch(history, tmp_path):
    work, bare, commits = history
    lone = tmp_path / "lone"
    lone.mkdir()
    run(lone, "init", "-q", "-b", "main")
    write(lone, "x", "x")
    commit(lone, "unrelated")
    with pytest.raises(carry.NotHere):
        carry.fetch(lone, str(bare), BRANCH, remote.INCOMING)
    assert remote.fetch(Git(lone), str(bare)) == commits["theirs"]


# -- a sync killed while carrying ------------------------------------------------------------------
# (the first carry is the fetch's; `#2`: the push's, after the merge)
@pytest.mark.parametrize("step", ["carry-read", "carry-checked", "carry-read#2", "carry-checked#2", "carry-push-ref"])
def test_a_sync_killed_while_carrying_leaves_both_copies_whole(laptops, step):
    amina = laptops.laptop("amina")
    register(amina)
    laptops.sync("amina")
    register(laptops.cli("sup"))
    before = tree_state(laptops.repo)
    remote_before = refs(laptops.bare)
    crashed = laptops.cli("sup").process("sync", env={"CPCM_TEST_CRASH_AT": step})
    assert crashed.code != 0
    assert refs(laptops.bare) == remote_before
    pushing = step.endswith("#2") or step == "carry-push-ref"
    if not pushing:  # killed in the fetch: the copy is as it was, once the next command rolls back
        assert laptops.cli("sup")("list", "--json").code == 0
        assert tree_state(laptops.repo) == before
    left = quarantines(laptops.bare)
    assert len(left) == (1 if step.endswith("#2") else 0)  # killed in the push's carry: its quarantine folder stays
    fsck(laptops.bare)
    again = laptops.sync("sup")
    assert again["pushed"]
    assert quarantines(laptops.bare) == left  # (fresh: another copy may be using it; it goes after a day)
    assert quarantines(laptops.repo / ".git") == []
    assert run(laptops.bare, "rev-parse", BRANCH).strip() == run(laptops.repo, "rev-parse", "HEAD").strip()
    fsck(laptops.bare)
    fsck(laptops.repo)
    assert laptops.cli("sup")("verify").code == 0


def test_a_carried_push_runs_gits_gc_on_the_remote_when_git_would_pack_there(history, monkeypatch):
    """After a push, as git's receive-pack does: `gc --auto` on the remote when its loose objects or packs are
    past git's counts, and no git process when they are not; a remote whose settings say anything of gc is left
    to git every time."""
    work, bare, commits = history
    asked = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda args, *a, **k: (asked.append(args) if "gc" in args else None) or real(args, *a, **k))
    there = carry.bare(str(bare))
    carry._gc(there)
    assert asked == []
    loose = bare / "objects" / "17"
    loose.mkdir(exist_ok=True)
    for n in range(28):  # git packs past 6700 / 256 loose objects in objects/17
        (loose / f"{n:038d}").write_bytes(b"")
    carry._gc(there)
    assert len(asked) == 1
    for name in loose.iterdir():
        name.unlink()
    run(bare, "config", "gc.auto", "10")
    carry._gc(there)
    assert len(asked) == 2
