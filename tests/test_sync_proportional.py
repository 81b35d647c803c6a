"""A sync reads what either side changed, not the whole repository (issue 17: `sync`
proportional to what arrived). The merge's three trees hold only the folders and files either
side changed (and the team file), read with a fixed number of git processes; the check for
edits by hand reads only the files the sync would update."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import git
from cpcm.service.sync import _folder
from cpcm.store import remote
from cpcm.store.git import Git
from cpcm.store.layout import TEAM, case_rel

# the folders of four cases, where format 2 has them (cases/AA/CP-AAAA-AAAA)
A, B, C, U = (case_rel(f"CP-{x * 4}-{x * 4}") for x in "ABCW")


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def sides(tmp_path):
    """base: cases A, B and U (untouched) and the team; ours changes A and the services file;
    theirs adds C, removes B's note and changes the team."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for case in (A, B, U):
        write(root, f"{case}/recipients", "amina\n")
        write(root, f"{case}/01.note.yaml.age", f"{case} one")
    write(root, f"{B}/02.note.yaml.age", "B two")
    write(root, TEAM, "team: 1\n")
    write(root, ".cpcm/services.yaml", "services: []\n")
    base = commit(root, "base")
    write(root, f"{A}/03.note.yaml.age", "A three")
    write(root, ".cpcm/services.yaml", "services: [x]\n")
    ours = commit(root, "ours")
    git(root, "checkout", "-q", "-b", "other", base)
    write(root, f"{C}/recipients", "amina\n")
    write(root, f"{C}/01.registration.yaml.age", "C one")
    (root / f"{B}/02.note.yaml.age").unlink()
    write(root, TEAM, "team: 2\n")
    theirs = commit(root, "theirs")
    git(root, "checkout", "-q", "main")
    return Git(root), base, ours, theirs


def full(root: Path, sha: str) -> dict[str, remote.Entry]:
    out = git(root, "ls-tree", "-r", "-z", "--full-tree", sha)
    found = {}
    for item in filter(None, out.split("\0")):
        meta, _, path = item.partition("\t")
        mode, _, blob = meta.split()
        found[path] = remote.Entry(mode, blob)
    return found


def test_the_trees_of_a_merge_hold_every_file_of_each_changed_folder_and_nothing_untouched(sides):
    g, base, ours, theirs = sides
    trees = remote.trees_of_change(g, base, ours, theirs, _folder, always=(TEAM,))
    wanted = (f"{A}/", f"{B}/", f"{C}/", TEAM, ".cpcm/services.yaml")
    for tree, sha in zip(trees, (base, ours, theirs)):
        whole = full(g.root, sha)
        assert dict(tree) == {p: e for p, e in whole.items() if p.startswith(wanted)}
        assert not any(p.startswith(f"{U}/") for p in tree)
    base_tree, ours_tree, theirs_tree = trees
    assert f"{C}/01.registration.yaml.age" in theirs_tree and f"{C}/01.registration.yaml.age" not in base_tree
    assert f"{B}/02.note.yaml.age" in ours_tree and f"{B}/02.note.yaml.age" not in theirs_tree
    assert ours_tree.names(A) == {"recipients", "01.note.yaml.age", "03.note.yaml.age"}


def test_a_folder_left_out_of_a_merge_tree_is_still_known_to_exist(sides):
    g, base, ours, theirs = sides
    base_tree, _, theirs_tree = remote.trees_of_change(g, base, ours, theirs, _folder, always=(TEAM,))
    assert U not in base_tree.folders()
    assert base_tree.has_folder(U) and theirs_tree.has_folder(C)
    assert not base_tree.has_folder(C) and not base_tree.has_folder(case_rel("CP-NONE-NONE"))


def test_the_files_a_sync_would_update_are_compared_by_content_and_only_those(sides):
    g, base, ours, theirs = sides
    root = g.root
    changes = {path: change.old.blob if change.old else None for path, change in remote.changed_files(g, ours, theirs).items()}
    assert changes[f"{C}/01.registration.yaml.age"] is None           # not in ours: a new file
    assert changes[TEAM] == full(root, ours)[TEAM].blob
    assert f"{U}/01.note.yaml.age" not in changes
    assert g.edited(changes) == []
    (root / f"{A}/03.note.yaml.age").touch()                      # the same bytes again: not an edit
    (root / f"{U}/01.note.yaml.age").write_text("by hand")          # not one the sync updates
    assert g.edited(changes) == []
    write(root, f"{C}/01.registration.yaml.age", "by hand")         # where the sync adds one
    (root / TEAM).write_text("team: mine\n")                           # changed by hand
    (root / f"{A}/03.note.yaml.age").unlink()                       # deleted by hand
    assert g.edited(changes) == sorted([TEAM, f"{A}/03.note.yaml.age", f"{C}/01.registration.yaml.age"])


def test_the_merge_tree_is_the_base_tree_with_the_changes_and_no_ref_is_left(sides):
    g, base, ours, theirs = sides
    blob = full(g.root, theirs)[f"{C}/01.registration.yaml.age"].blob
    changes = {
        f"{C}/01.registration.yaml.age": remote.Entry("100644", blob),    # a new folder
        f"{A}/03.note.yaml.age": None,                                      # a file removed
        f"{B}/01.note.yaml.age": None, f"{B}/02.note.yaml.age": None,
        f"{B}/recipients": None,                                            # a folder emptied: gone
        TEAM: remote.Entry("100644", full(g.root, theirs)[TEAM].blob),         # a file changed
        f"{U}/run.sh": remote.Entry("100755", blob),                        # another mode
    }
    made = remote.tree_of(g, ours, changes)
    assert made == remote.write_tree(g, ours, changes)   # the temporary index's tree, built from the whole base
    tree = full(g.root, made)
    assert f"{B}/recipients" not in tree and not any(p.startswith(f"{B}/") for p in tree)
    assert tree[f"{U}/run.sh"] == remote.Entry("100755", blob) and tree[TEAM] == full(g.root, theirs)[TEAM]
    assert git(g.root, "for-each-ref", "refs/cpcm") == ""
    assert remote.tree_of(g, ours, {}) == git(g.root, "rev-parse", f"{ours}^{{tree}}").strip()


def _commit_tree(g: Git, tree: str, parent: str) -> str:
    return g.run(["commit-tree", tree, "-p", parent, "-m", "merge"],
                 env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}).strip()


def git_verbs(monkeypatch) -> list[str]:
    """The git commands run through `Git.run` from now on, by their verb."""
    verbs: list[str] = []
    run = Git.run

    def counted(self, args, *rest, **kwargs):
        verbs.append(args[0])
        return run(self, args, *rest, **kwargs)
    monkeypatch.setattr(Git, "run", counted)
    return verbs


# the check for changes staged by hand: nothing staged, as the index's cached trees say; or the index entries
# asked of git (by path, or whole)
WAYS = {"known": [], "asked by path": ["ls-files"], "asked whole": ["ls-files"]}


# the check-out's two ways: one git process for a few paths, two that name many in a list
CHECK_OUTS = {"one process": ["restore"], "two processes": ["update-index", "checkout-index"]}


@pytest.fixture(params=list(CHECK_OUTS))
def check_out_way(request, monkeypatch):
    monkeypatch.setattr(remote, "RESTORE_PATHS", 32 if request.param == "one process" else 0)
    return request.param


@pytest.mark.parametrize("way", list(WAYS))
def test_the_check_out_leaves_the_index_and_files_as_read_tree_does(sides, tmp_path, monkeypatch, way, check_out_way):
    from cpcm.store import git as git_module

    monkeypatch.setattr(remote, "PATHS_NAMED", 0 if way == "asked whole" else 200)
    if way.startswith("asked"):
        monkeypatch.setattr(git_module, "INDEX_ENTRIES_READ", -1)
    g, base, ours, theirs = sides
    changes = {p: c.new for p, c in remote.changed_files(g, base, theirs).items()}
    changes[f"{A}/01.note.yaml.age"] = None                     # with A/recipients left: the folder stays
    changes.update({f"{B}/01.note.yaml.age": None, f"{B}/recipients": None})  # B emptied: its folder goes
    changes[f"{U}/run.sh"] = remote.Entry("100755", changes[TEAM].blob)  # an executable file
    new = _commit_tree(g, remote.tree_of(g, ours, changes), ours)
    twin = tmp_path / "twin"                                        # the same move by git's own two-tree merge
    git(tmp_path, "clone", "-q", str(g.root), str(twin))
    (twin / f"{A}/03.note.yaml.age").touch()                    # the same bytes, other stat data: not a change
    git(twin, "fetch", "-q", str(g.root), new)
    git(twin, "read-tree", "-m", "-u", ours, new)

    (g.root / f"{A}/03.note.yaml.age").touch()
    changed = remote.changed_files(g, ours, new)
    assert set(changed) == {f"{A}/01.note.yaml.age", f"{B}/01.note.yaml.age", f"{B}/02.note.yaml.age",
                            f"{B}/recipients", f"{C}/recipients", f"{C}/01.registration.yaml.age", TEAM, f"{U}/run.sh"}
    assert changed[TEAM].old == full(g.root, ours)[TEAM] and changed[TEAM].new == full(g.root, theirs)[TEAM]
    assert changed[f"{C}/recipients"].old is None and changed[f"{B}/02.note.yaml.age"].new is None
    assert g.index_holds(ours) is (not way.startswith("asked")) and not g.index_holds(new)
    verbs = git_verbs(monkeypatch)
    assert remote.staged_by_hand(g, ours, changed) == []
    assert verbs == WAYS[way]                                       # git's index not asked when its cached trees answer
    remote.check_out(g, ours, new, changed)
    # one process only while the index holds `ours` exactly (as the cached trees say)
    assert verbs[len(WAYS[way]):] == CHECK_OUTS["two processes" if way.startswith("asked") else check_out_way]
    git(g.root, "update-ref", "HEAD", new, ours)

    def files(root: Path) -> dict:
        return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode) for p in root.rglob("*")
                if p.is_file() and ".git" not in p.relative_to(root).parts[:1]}

    assert git(g.root, "ls-files", "-s") == git(twin, "ls-files", "-s")
    assert files(g.root) == files(twin)
    assert sorted(p.relative_to(g.root).as_posix() for p in (g.root / "cases").glob("*/*")) \
        == sorted(p.relative_to(twin).as_posix() for p in (twin / "cases").glob("*/*")) == [A, C, U]
    assert sorted(p.name for p in (g.root / "cases").iterdir()) == ["AA", "CC", "WW"]  # B's folder gone, and the one it was in
    assert not (g.root / f"{B}/02.note.yaml.age").exists() and (g.root / f"{C}/recipients").read_text() == "amina\n"
    assert (g.root / f"{U}/run.sh").stat().st_mode & 0o100
    written = [f"{C}/recipients", f"{C}/01.registration.yaml.age", TEAM, f"{U}/run.sh"]
    debug = git(g.root, "ls-files", "--debug", "--", *written)     # stat data recorded, as git's check-out does
    assert debug.count("  mtime: ") == 4 and "  mtime: 0:0" not in debug and "ino: 0\t" not in debug
    assert git(g.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_the_index_is_known_to_hold_a_commit_only_while_nothing_is_staged(sides):
    g, base, ours, theirs = sides
    assert g.index_holds(ours) and not g.index_holds(base) and not g.index_holds(theirs)
    g.run(["update-index", "--split-index"])             # as cpcm's git writes it: the cached trees in the index's own file
    assert list((g.root / ".git").glob("sharedindex.*"))
    assert g.index_holds(ours)
    write(g.root, f"{U}/02.note.yaml.age", "by hand")
    git(g.root, "add", f"{U}/02.note.yaml.age")         # a new file staged
    assert not g.index_holds(ours)
    git(g.root, "reset", "-q", "--", f"{U}/02.note.yaml.age")
    git(g.root, "write-tree")                             # the cached trees made again: as the commit
    assert g.index_holds(ours)
    (g.root / TEAM).write_text("team: staged\n")
    git(g.root, "add", TEAM)                              # a changed file staged
    assert not g.index_holds(ours)
    (g.root / ".git" / "index").write_bytes(b"DIRC")      # not an index read here: git is asked
    assert not g.index_holds(ours)


def test_the_check_out_writes_the_commits_bytes_in_a_copy_set_to_convert_line_endings(sides, check_out_way):
    """`core.autocrlf` set in a copy: the files a sync writes are the commit's bytes, which cpcm compares
    (`Git.edited`, the team and recipients checks): converted, every one of them looked edited by hand."""
    g, base, ours, theirs = sides
    git(g.root, "config", "core.autocrlf", "true")
    new = _commit_tree(g, remote.tree_of(g, ours, {p: c.new for p, c in remote.changed_files(g, base, theirs).items()}), ours)
    changed = remote.changed_files(g, ours, new)
    remote.check_out(g, ours, new, changed)
    git(g.root, "update-ref", "HEAD", new, ours)
    assert (g.root / TEAM).read_bytes() == b"team: 2\n" and (g.root / f"{C}/recipients").read_bytes() == b"amina\n"
    assert g.edited({p: c.new.blob if c.new else None for p, c in changed.items()}) == []


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_an_entry_flagged_by_hand_still_takes_what_arrived(sides, flag, check_out_way):
    """An index entry a person flagged (the file as committed) is replaced by the arriving one: nothing staged
    is left that a later write would commit."""
    g, base, ours, theirs = sides
    git(g.root, "update-index", flag, TEAM)
    git(g.root, "write-tree")                                   # the cached trees valid again, as cpcm's next write leaves them
    assert g.index_holds(ours)
    new = _commit_tree(g, remote.tree_of(g, ours, {p: c.new for p, c in remote.changed_files(g, base, theirs).items()}), ours)
    remote.check_out(g, ours, new, remote.changed_files(g, ours, new))
    git(g.root, "update-ref", "HEAD", new, ours)
    assert git(g.root, "diff", "--cached", "--name-status", "HEAD") == ""
    assert (g.root / TEAM).read_text() == "team: 2\n"


def test_a_folder_that_becomes_a_file_is_checked_out(sides, check_out_way):
    g, base, ours, theirs = sides
    blob = full(g.root, ours)[TEAM].blob
    new = _commit_tree(g, remote.tree_of(g, ours, {f"{U}/01.note.yaml.age": None, f"{U}/recipients": None,
                                                  U: remote.Entry("100644", blob)}), ours)
    remote.check_out(g, ours, new, remote.changed_files(g, ours, new))
    git(g.root, "update-ref", "HEAD", new, ours)
    assert (g.root / U).is_file() and git(g.root, "status", "--porcelain") == ""
    git(g.root, "write-tree")                                          # the cached trees made again, as the next commit does
    back = _commit_tree(g, remote.tree_of(g, new, {U: None, f"{U}/recipients": remote.Entry("100644", blob)}), new)
    remote.check_out(g, new, back, remote.changed_files(g, new, back))  # and a file that becomes a folder
    git(g.root, "update-ref", "HEAD", back, new)
    assert (g.root / U / "recipients").read_bytes() == (g.root / TEAM).read_bytes()
    assert git(g.root, "status", "--porcelain") == ""


def test_a_file_taken_out_of_the_index_that_the_sync_deletes_goes(sides, check_out_way):
    """`git rm --cached` of a file the arriving commit deletes: the index is already as that commit has it,
    so nothing is staged against it; the check-out deletes the file (one process would name a path git
    no longer knows, so the index not holding `ours` exactly takes the two)."""
    g, base, ours, theirs = sides
    gone = f"{B}/02.note.yaml.age"
    new = _commit_tree(g, remote.tree_of(g, ours, {gone: None}), ours)
    git(g.root, "rm", "-q", "--cached", gone)
    changed = remote.changed_files(g, ours, new)
    assert not g.index_holds(ours) and remote.staged_by_hand(g, ours, changed) == []
    remote.check_out(g, ours, new, changed)
    git(g.root, "update-ref", "HEAD", new, ours)
    assert not (g.root / gone).exists() and git(g.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_the_check_out_runs_no_hook_of_the_copy(sides):
    """A sync's check-out is not a checkout the person asked for: their post-checkout hook is not run."""
    g, base, ours, theirs = sides
    hook = g.root / ".git" / "hooks" / "post-checkout"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(f"#!/bin/sh\ntouch '{g.root / 'hook-ran'}'\n")
    hook.chmod(0o755)
    git(g.root, "checkout", "-q", "--", TEAM)                        # git runs it for a checkout of paths
    assert (g.root / "hook-ran").exists()
    (g.root / "hook-ran").unlink()
    new = _commit_tree(g, remote.tree_of(g, ours, {p: c.new for p, c in remote.changed_files(g, base, theirs).items()}), ours)
    remote.check_out(g, ours, new, remote.changed_files(g, ours, new))
    assert not (g.root / "hook-ran").exists() and (g.root / TEAM).read_text() == "team: 2\n"


@pytest.mark.parametrize("named", [200, 0])
def test_a_change_staged_by_hand_is_found(sides, monkeypatch, named):
    monkeypatch.setattr(remote, "PATHS_NAMED", named)
    g, base, ours, theirs = sides
    new = _commit_tree(g, remote.tree_of(g, ours, {p: c.new for p, c in remote.changed_files(g, base, theirs).items()}), ours)
    write(g.root, TEAM, "team: staged\n")
    git(g.root, "add", TEAM)
    write(g.root, TEAM, "team: 1\n")                                # the file as the last commit has it, the index not
    changed = remote.changed_files(g, ours, new)
    assert remote.staged_by_hand(g, ours, changed) == [TEAM]
    git(g.root, "add", TEAM)                                          # staged as the last commit has it again
    assert remote.staged_by_hand(g, ours, changed) == []


def test_the_transfer_settings_reach_the_git_that_packs_on_either_side(sides, tmp_path, monkeypatch):
    from cpcm.store import carry

    def not_here(*args, **kwargs):
        raise carry.NotHere("git's transport, for this test")
    # git's own fetch and push (what a remote store/carry.py does not take gets)
    monkeypatch.setattr(carry, "push", not_here)
    monkeypatch.setattr(carry, "fetch", not_here)
    g, base, ours, theirs = sides
    bare = tmp_path / "remote.git"
    remote.init_bare(bare)
    assert remote.push(g, str(bare), base)
    assert remote._is_folder(g, str(bare)) and not remote._is_folder(g, "ssh://host/remote.git")
    assert not remote._is_folder(g, "host:remote.git")
    # a setting pack-objects refuses shows where it arrives: the push packs here, a fetch in the remote's git
    monkeypatch.setattr(remote, "TRANSFER", (("pack.window", "not-a-number"),))
    with pytest.raises(remote.GitError):
        remote.push(g, str(bare), ours)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    git(g.root, "push", "-q", str(bare), f"{ours}:refs/heads/main")  # the remote moves on (plain git)
    with pytest.raises(remote.GitError):
        remote.fetch(Git(clone), str(bare))
    monkeypatch.setattr(remote, "TRANSFER", (("pack.useSparse", "false"),))
    assert remote.fetch(Git(clone), str(bare)) == ours
