"""What cpcm does with git's files itself rather than through a git process (cpcm/store/git.py):
each answer equals git's, each object and ref is what git would have written (git reads it back,
`git fsck` is clean), anything unusual is left to git; and how many git processes a command
starts (a count, not a time)."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from cpcm.store import git as gitmod
from cpcm.store import objects
from cpcm.store.git import Git, GitError, git_env
from cpcm.store.layout import case_dir, case_rel
from conftest import git_status, register


def git(root: Path, *args: str, input: bytes | None = None, **env: str) -> str:
    full = git_env({"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org", **env})
    return subprocess.run(["git", "-C", str(root), *args], env=full, check=True, capture_output=True,
                          input=input).stdout.decode()


def cid(name: str) -> str:
    """The case ID these tests give a one-letter case: two second-level folders (store/layout.py), Q1 and Q2."""
    return f"CP-Q{1 if name.upper() in 'ABCD' else 2}{name.upper()}0-0000"


def cpath(root: Path, name: str) -> Path:
    return case_dir(root, cid(name))


def ids(names) -> set[str]:
    return {cid(name) for name in names}


def case_trees(root: Path, rev: str) -> dict[str, str]:
    """Each case folder of `rev` by ID, with its tree id, as git lists the two levels of cases/."""
    out = git(root, "ls-tree", "-r", "-d", f"{rev}:cases")
    return {line.split("\t")[1].split("/")[1]: line.split()[2] for line in out.splitlines() if line.split("\t")[1].count("/") == 1}


def new_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def test_a_commit_object_is_written_as_git_writes_it(tmp_path):
    root = new_repo(tmp_path / "repo")
    (root / "f").write_text("x")
    git(root, "add", "f")
    tree = git(root, "write-tree").strip()
    store = Git(root)
    sha = store.commit_object(tree, [], "register CP-TEST record R1", "Amina", "amina@example.org")
    payload = git(root, "cat-file", "commit", sha).encode()
    assert git(root, "hash-object", "-t", "commit", "--stdin", input=payload).strip() == sha
    assert git(root, "cat-file", "-t", sha).strip() == "commit"
    path = root / ".git" / "objects" / sha[:2] / sha[2:]
    assert path.is_file() and (path.stat().st_mode & 0o777) == 0o444
    assert not [p for p in path.parent.iterdir() if p.name.startswith("tmp_obj_")]  # the temp file is gone
    again = store.commit_object(tree, [sha], "note CP-TEST record R2", "Amina", "amina@example.org")
    git(root, "update-ref", "HEAD", again)
    assert git(root, "rev-list", "HEAD").split() == [again, sha]
    assert subprocess.run(["git", "-C", str(root), "fsck", "--strict", "--no-dangling"], env=git_env(),
                          capture_output=True).returncode == 0
    # the same object written twice: one file, the same id
    assert gitmod._write_loose(str(root / ".git"), b"commit", payload) == sha


def test_an_object_is_left_to_git_in_a_repository_cpcm_did_not_make_plainly(tmp_path, monkeypatch):
    root = new_repo(tmp_path / "repo")
    git(root, "config", "core.sharedRepository", "group")
    (root / "f").write_text("x")
    git(root, "add", "f")
    tree = git(root, "write-tree").strip()
    started = count_git(monkeypatch)
    sha = Git(root).commit_object(tree, [], "register CP-TEST record R1", "Amina", "amina@example.org")
    assert started["hash-object"] == 1  # git writes it, with the shared permissions
    assert git(root, "cat-file", "-t", sha).strip() == "commit"


def twin_commits(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """Two identical repositories with one commit, and a second commit object in each."""
    roots = []
    for name in ("ours", "git"):
        root = new_repo(tmp_path / name)
        (root / "f").write_text("x")
        git(root, "add", "f")
        git(root, "commit", "-q", "-m", "first", GIT_AUTHOR_DATE="1700000000 +0000", GIT_COMMITTER_DATE="1700000000 +0000")
        (root / "f").write_text("y")
        git(root, "add", "f")
        tree = git(root, "write-tree").strip()
        second = git(root, "commit-tree", tree, "-p", "HEAD", "-m", "second",
                     GIT_AUTHOR_DATE="1700000001 +0000", GIT_COMMITTER_DATE="1700000001 +0000").strip()
        roots.append(root)
    return roots[0], roots[1], git(roots[0], "rev-parse", "HEAD").strip(), second


def test_moving_the_branch_writes_the_ref_and_reflogs_git_writes(tmp_path, monkeypatch):
    ours, theirs, first, second = twin_commits(tmp_path)
    assert git(theirs, "rev-parse", "HEAD").strip() == first
    monkeypatch.setattr(gitmod.time, "time", lambda: 1700000005)
    monkeypatch.setattr(gitmod, "_utc_offset", lambda: "+0300")
    started = count_git(monkeypatch)
    message = "commit: note  CP-TEST\trecord R2 "
    Git(ours)._move_head(second, first, message, "Amina Otieno", "amina@example.org")
    assert not started  # no git process
    git(theirs, "update-ref", "-m", message, "HEAD", second, first,
        GIT_COMMITTER_NAME="Amina Otieno", GIT_COMMITTER_EMAIL="amina@example.org",
        GIT_COMMITTER_DATE="1700000005 +0300")
    for rel in ("refs/heads/main", "logs/HEAD", "logs/refs/heads/main", "HEAD"):
        assert (ours / ".git" / rel).read_bytes() == (theirs / ".git" / rel).read_bytes(), rel
    assert not list((ours / ".git").rglob("*.lock"))
    assert git(ours, "rev-parse", "HEAD").strip() == second


def test_moving_the_branch_is_left_to_git_when_it_moved_or_is_locked(tmp_path, monkeypatch):
    ours, _, first, second = twin_commits(tmp_path)
    store = Git(ours)
    with pytest.raises(GitError):  # the branch is not at the commit given: git refuses, as before
        store._move_head(second, second, "commit: x", "Amina", "amina@example.org")
    (ours / ".git" / "HEAD.lock").write_text("")
    with pytest.raises(GitError):  # another git holds HEAD: git says so
        store._move_head(second, first, "commit: x", "Amina", "amina@example.org")
    assert (ours / ".git" / "HEAD.lock").exists()  # not ours: left in place
    (ours / ".git" / "HEAD.lock").unlink()
    assert git(ours, "rev-parse", "HEAD").strip() == first
    git(ours, "pack-refs", "--all")  # the branch only in packed-refs: moved all the same
    started = count_git(monkeypatch)
    store._move_head(second, first, "commit: x", "Amina", "amina@example.org")
    assert not started
    assert git(ours, "rev-parse", "HEAD").strip() == second
    assert git(ours, "reflog", "-1", "--format=%gs").strip() == "commit: x"


def test_head_and_folders_read_from_loose_objects_are_what_git_says(tmp_path, monkeypatch):
    root = new_repo(tmp_path / "repo")
    store = Git(root)
    assert store.head() is None and store.tree_ids("cases") == {}
    for name in ("a", "b"):
        cpath(root, name).mkdir(parents=True)
        (cpath(root, name) / "r.age").write_text(name)
    (root / "cases" / "file").write_text("not a folder")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    first = git(root, "rev-parse", "HEAD").strip()
    cpath(root, "c").mkdir()
    (cpath(root, "c") / "r.age").write_text("c")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "two")

    def by_git(rev: str, folder: str) -> dict[str, str]:
        if folder == "cases":
            return case_trees(root, rev)
        out = git(root, "ls-tree", f"{rev}:{folder}")
        return {line.split("\t")[1]: line.split()[2] for line in out.splitlines() if line.split()[1] == "tree"}

    started = count_git(monkeypatch)
    assert store.head() == git(root, "rev-parse", "HEAD").strip()
    assert store.tree_ids("cases") == by_git("HEAD", "cases") and set(store.tree_ids("cases")) == ids("abc")
    assert store.tree_ids("nowhere") == {} and store.tree_ids("cases/file") == {}
    assert store.tree_ids("cases/Q1") == {name: sha for name, sha in by_git("HEAD", "cases").items() if name[3:5] == "Q1"}
    store.rev = first  # pinned to an older commit
    assert store.tree_ids("cases") == by_git(first, "cases")
    assert store.tree_id("cases") == git(root, "rev-parse", f"{first}:cases").strip()
    assert not started  # all from the files
    git(root, "gc", "-q")  # everything packed: read from the pack, the same
    for folder in glob.glob(str(root / ".git" / "objects" / "??")):
        shutil.rmtree(folder)  # (gc may leave loose copies behind)
    assert store.tree_ids("cases") == by_git(first, "cases")
    store.rev = "HEAD"
    assert store.head() == git(root, "rev-parse", "HEAD").strip()
    assert store.tree_ids("cases") == by_git("HEAD", "cases")
    assert not started
    # a clone whose objects live in another repository's store (git's alternates), which cpcm
    # does not read: git answers, the same
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", "--shared", str(root), str(other)], check=True, capture_output=True)
    objects._RECENT.clear()
    assert Git(other).head() == git(root, "rev-parse", "HEAD").strip()
    assert Git(other).tree_ids("cases") == by_git("HEAD", "cases")
    assert started["rev-parse"] >= 1 and started["ls-tree"] == 2  # cases/, then its one second-level folder (Q1)


def count_git(monkeypatch) -> Counter:
    """The git subcommands cpcm starts from here on, by name (not this module's own `git -C`)."""
    started: Counter = Counter()
    original = subprocess.Popen.__init__

    def counting(self, args, *a, **k):
        if isinstance(args, (list, tuple)) and args and os.path.basename(str(args[0])) == "git" and args[1] != "-C":
            started[next(x for x in args[1:] if not x.startswith("--") and x not in ("-c", "core.quotepath=off"))] += 1
        original(self, args, *a, **k)
    monkeypatch.setattr(subprocess.Popen, "__init__", counting)
    return started


def test_a_register_and_a_note_start_few_git_processes(cli, repo, monkeypatch):
    register(cli)
    assert cli("list").code == 0
    started = count_git(monkeypatch)
    case_id = register(cli, child={"name": "Another Child", "sex": "male", "date_of_birth": "2012-02-02"})
    # the files' blobs, the trees, the index, the commit object and the branch's move are written, HEAD and the
    # case folders' trees read, from git's files: no git process at all
    assert started == {}, started
    assert cli("note", case_id, "--text", "visited the family").code == 0
    assert started == {}, started
    assert git_status(repo) == [] and git(repo, "diff-index", "--cached", "HEAD") == ""


def status_folders(root: Path) -> set[str]:
    """The case folders `git status` names (what cache.dirty_cases asked git before)."""
    out = git(root, "status", "--porcelain=v1", "-z", "--untracked-files=no", "--", "cases",
              GIT_CONFIG_COUNT="2", GIT_CONFIG_KEY_0="core.splitIndex", GIT_CONFIG_VALUE_0="true",
              GIT_CONFIG_KEY_1="index.version", GIT_CONFIG_VALUE_1="4")
    return {entry[3:].split("/")[2] for entry in out.split("\0") if entry.count("/") >= 3}


def test_trees_are_compared_where_the_git_folder_is_kept_elsewhere(tmp_path):
    """`.git` a file naming the git folder (`--separate-git-dir`, a linked work tree): there is no
    `.git/` to point the index at, and git's own is read."""
    from cpcm.store import remote

    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main", "--separate-git-dir", str(tmp_path / "elsewhere"))
    assert (root / ".git").is_file()
    store = Git(root)
    cpath(root, "A").mkdir(parents=True)
    (cpath(root, "A") / "r.age").write_text("1")
    store.commit(["cases"], "one", "Amina", "amina@example.org")
    first, first_commit = store.tree_id("cases"), git(root, "rev-parse", "HEAD").strip()
    cpath(root, "B").mkdir()
    (cpath(root, "B") / "r.age").write_text("2")
    store.commit(["cases"], "two", "Amina", "amina@example.org")
    assert store.changed_names(first, store.tree_id("cases")) == {cid("B")}
    assert set(remote.changed_files(store, first_commit, git(root, "rev-parse", "HEAD").strip())) == {f"{case_rel(cid('B'))}/r.age"}


def _eight_cases(tmp_path: Path) -> tuple[Path, Git]:
    """A repository with case folders A to H of three files each, not yet committed."""
    root = new_repo(tmp_path / "repo")
    for name in "ABCDEFGH":
        cpath(root, name).mkdir(parents=True)
        for n in range(3):
            (cpath(root, name) / f"r{n}.age").write_text(name * (n + 1))
    return root, Git(root)


def test_a_few_case_folders_are_checked_from_their_files_without_gits_index(tmp_path, monkeypatch):
    """`dirty_cases` of a few named folders, where git's index cannot be read here (a file staged,
    or an index larger than cpcm reads): their files against the last commit's, as `git status`
    names them, with one `ls-tree` and no read of the index."""
    from cpcm.store import cache

    root, store = _eight_cases(tmp_path)
    store.commit(["cases"], "register", "Amina", "amina@example.org")
    (cpath(root, "A") / "r2.age").write_text("edited by hand")
    (cpath(root, "E") / "r1.age").write_text("XY")  # the same size, other bytes
    (cpath(root, "F") / "r2.age").unlink()
    (cpath(root, "G") / "r0.age").chmod(0o755)
    os.utime(cpath(root, "D") / "r0.age")  # touched, the same bytes: unchanged
    (tmp_path / "same.age").write_bytes((cpath(root, "D") / "r1.age").read_bytes())
    (cpath(root, "D") / "r1.age").unlink()
    (cpath(root, "D") / "r1.age").symlink_to(tmp_path / "same.age")  # the same bytes, not a plain file: changed
    git(root, "add", f"{case_rel(cid('B'))}/r0.age")  # staged as it was committed: unchanged
    (cpath(root, "C") / "r0.age").write_text("staged")
    git(root, "add", f"{case_rel(cid('C'))}/r0.age")  # staged, not committed: the file differs from the commit
    changed = status_folders(root)
    assert changed == ids("ACDEFG")
    (cpath(root, "H") / "01ARZ3NDEKTSV4RRFFQ69G5FAV.note.yaml.age").write_text("a record never committed")
    named = [case_rel(cid(name)) for name in "ABCDEFGH"]
    index = (root / ".git" / "index").read_bytes()
    (root / ".git" / "index").write_bytes(b"not an index")
    started = count_git(monkeypatch)
    assert cache._few_changed(store, named) == changed | ids("H")  # and a record a fill would read, not in the commit
    assert cache._few_changed(store, [case_rel(cid("A")), case_rel(cid("B")), case_rel("CP-NOWH-ERE0")]) == ids("A")
    assert started == {"ls-tree": 2}
    # given each folder's tree id (a view has them from `diff-tree`): those small trees read from git's files, the same
    # answer; listed by git when they cannot be read there
    trees = case_trees(root, "HEAD")
    started.clear()
    assert cache._few_changed(store, named, trees) == changed | ids("H")
    assert started == {}
    import cpcm.store.git as git_module
    monkeypatch.setattr(git_module, "tree_files", lambda *args: None)
    assert cache._few_changed(store, named, trees) == changed | ids("H")
    assert started == {"ls-tree": len(named)}
    started.clear()
    assert cache._few_changed(store, [case_rel(cid("A")), case_rel("CP-NOWH-ERE0")], trees) == ids("A")  # one without its id: the commit's listing
    assert started == {"ls-tree": 1}
    (root / ".git" / "index").write_bytes(index)
    assert cache.dirty_cases(root, [cid(name) for name in "ABH"]) == ids("AH")  # named: from the files, whatever git's index holds
    assert "status" not in started
    assert cache.dirty_cases(root) == changed  # every folder: git answers


def test_the_folders_changed_on_disk_are_those_git_status_names(tmp_path, monkeypatch):
    root, store = _eight_cases(tmp_path)
    (root / "cases" / "loose-file").write_text("x")
    (root / "cases" / "Q1" / "loose-file").write_text("x")  # in a second-level folder, in no case folder
    (root / ".gitattributes").write_text("# as cpcm writes it\n*.age binary -diff\n")
    store.commit(["cases", ".gitattributes"], "register", "Amina", "amina@example.org")
    for name in "AB":  # a second commit: the split index now replaces entries of its shared index
        (cpath(root, name) / "r3.age").write_text("new")
    (cpath(root, "C") / "r0.age").unlink()
    store.commit([case_rel(cid(name)) for name in "ABC"], "note", "Amina", "amina@example.org")
    assert list(root.joinpath(".git").glob("sharedindex.*"))
    started = count_git(monkeypatch)
    assert store.changed_on_disk("cases") == set() == status_folders(root)

    def same(names=None) -> set[str]:
        mine = store.changed_on_disk("cases", names)
        theirs = status_folders(root)
        assert mine == (theirs if names is None else theirs & set(names))
        return mine

    os.utime(cpath(root, "D") / "r0.age")  # touched, the same bytes: unchanged
    assert same() == set()
    (cpath(root, "A") / "r3.age").write_text("edited by hand")
    (cpath(root, "E") / "r1.age").write_text("XY")  # the same size, other bytes
    (cpath(root, "F") / "r2.age").unlink()
    (cpath(root, "G") / "r0.age").chmod(0o755)
    (cpath(root, "H") / "stray.age").write_text("never committed")  # untracked: not looked for
    (root / "cases" / "loose-file").write_text("y")  # in no case folder
    (root / "cases" / "Q1" / "loose-file").write_text("y")
    assert same() == ids("AEFG")
    assert same([cid(name) for name in "ABF"]) == ids("AF")
    stat = (cpath(root, "B") / "r0.age").stat()
    (cpath(root, "B") / "r0.age").write_text("BX")  # edited, its times put back: its ctime tells, as to git
    os.utime(cpath(root, "B") / "r0.age", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert same() == ids("ABEFG")
    assert not started  # all of that from the files
    (root / ".gitattributes").write_text("*.age text eol=crlf\n")  # line endings converted: git answers
    assert store.changed_on_disk("cases") is None
    (root / ".gitattributes").write_text("*.age binary -diff\n")
    assert same() == ids("ABEFG")
    git(root, "add", f"{case_rel(cid('A'))}/r3.age")  # staged, not committed: git answers
    assert store.changed_on_disk("cases") is None
    assert cid("A") in status_folders(root)


def test_a_list_after_a_register_asks_git_nothing_and_reads_a_hand_edited_case_as_committed(cli, repo, monkeypatch, without_views):
    case_id = register(cli)
    assert cli("list").code == 0
    started = count_git(monkeypatch)
    clean = cli("list")
    assert clean.code == 0 and case_id in clean.stdout and cli("show", case_id).code == 0
    assert not started, started
    records = sorted(case_dir(repo, case_id).glob("*.age"))
    # damaged by hand: a list from the cases (not from a view) sees it without `git status`, and
    # describes the last commit as a view does: the case as committed, read from git's objects
    records[0].write_bytes(b"age-encryption.org/v1\ndamaged by hand")
    shown = without_views(cli, "list")
    assert shown.code == 0 and case_id in shown.stdout, shown
    assert not started.keys() - {"ls-tree", "cat-file"}, started


def test_the_names_changed_between_two_trees_are_those_git_names(tmp_path, monkeypatch):
    root = new_repo(tmp_path / "repo")
    store = Git(root)
    for name in ("a", "b", "c", "d"):
        cpath(root, name).mkdir(parents=True)
        (cpath(root, name) / "r.age").write_text(name)
    store.commit(["cases"], "one", "Amina", "amina@example.org")
    first = store.tree_id("cases")
    (cpath(root, "b") / "r.age").write_text("changed")
    for path in cpath(root, "c").iterdir():
        path.unlink()
    cpath(root, "c").rmdir()
    cpath(root, "c").write_text("a file where the folder was")
    cpath(root, "e").mkdir(parents=True)
    (cpath(root, "e") / "r.age").write_text("e")
    (cpath(root, "d") / "r.age").chmod(0o755)
    store.commit(["cases"], "two", "Amina", "amina@example.org")
    second = store.tree_id("cases")
    empty = gitmod._EMPTY_TREE

    def entries_of(tree: str) -> dict[str, tuple[str, str]]:  # each entry of the second level: ID -> (mode, id)
        out = git(root, "ls-tree", "-r", "-t", "-z", tree)
        found = {}
        for entry in filter(None, out.split("\0")):
            meta, path = entry.split("\t")
            if path.count("/") == 1 and path.split("/")[1][3:5] == path.split("/")[0]:
                found[path.split("/")[1]] = (meta.split()[0], meta.split()[2])
        return found

    def by_git(old: str, new: str) -> set[str]:
        before, after = entries_of(old), entries_of(new)
        return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}

    pairs = ((first, second), (second, first), (first, first), (empty, second), (second, empty))
    expected = [by_git(old, new) for old, new in pairs]
    assert expected[0] == ids("bcde")
    # one git process a comparison, which reads no index: a damaged one does not stop it (at 100,000
    # cases reading the index is most of such a process's time)
    index = (root / ".git" / "index").read_bytes()
    (root / ".git" / "index").write_bytes(b"not an index")
    started = count_git(monkeypatch)
    assert [store.changed_names(old, new) for old, new in pairs] == expected
    assert started == {"diff-tree": len(pairs)}
    (root / ".git" / "index").write_bytes(index)
    git(root, "gc", "-q")  # packed: the same
    assert store.changed_names(first, second) == ids("bcde")
    # with each name's folder id on both sides, from the same one process
    def folder(tree: str, name: str) -> str | None:
        meta = git(root, "ls-tree", tree, "--", case_rel(name).partition("/")[2]).split("\t")[0].split()
        return meta[2] if meta and meta[1] == "tree" else None

    for old, new in pairs:
        started.clear()
        entries = store.changed_entries(old, new)
        assert started == {"diff-tree": 1}
        assert entries == {name: (folder(old, name), folder(new, name)) for name in by_git(old, new)}
    assert store.changed_entries(first, second)[cid("c")] == (folder(first, cid("c")), None)  # a folder, then a file
    assert store.changed_entries(second, first)[cid("c")][1] == folder(first, cid("c")) is not None


@pytest.mark.parametrize("way", ["in-process", "in-process-v2", "by-git"])
def test_a_commit_stages_what_git_add_would(tmp_path, monkeypatch, way):
    """`Git.commit` stages files and writes the tree in its own process when the index is as cpcm's writes leave it
    (`_stage_here`), else with git: files on disk with `update-index --add` (`git add` matched each path against
    every entry of the index) and a deleted file or folder with `git add -A`, which takes out the files of a folder
    gone. Either way each commit's tree is the tree `git add -A -- <paths>` makes of the same change, the index
    holds what git's would (its entries, and its cached trees byte for byte), and nothing is left staged."""
    root = new_repo(tmp_path / "repo")
    (root / "d").mkdir()
    for name in ("a", "b", "d/c", "d/e"):
        (root / name).write_text(name)
    store = Git(root)
    here = way != "by-git"
    if not here:
        monkeypatch.setattr(gitmod, "INDEX_WRITE_ENTRIES", -1)
    def made(*names: str):
        for name in names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(name * 3)

    started = count_git(monkeypatch)
    steps = [  # (paths, the change on disk, git's way of staging it, whether it is staged in this process when it may be)
        (["a", "b", "d/c", "d/e"], lambda: None, "update-index", False),  # new files, the first commit: git
        (["a", "d/c"], lambda: ((root / "a").write_text("a2"), (root / "d/c").write_text("c2")), "update-index", True),
        # new folders beside others (a folder's tree sorts as if its name ended in '/'; cached trees shortest first)
        (["d.txt", "d0", "dd/x/y", "d/f/g", "cases/ab/CP-1/r1"], lambda: made("d.txt", "d0", "dd/x/y", "d/f/g", "cases/ab/CP-1/r1"),
         "update-index", True),
        (["b"], lambda: (root / "b").unlink(), "add", True),  # a file deleted
        (["dd/x/y", "d0"], lambda: ((root / "dd/x/y").unlink(), (root / "d0").unlink()), "add", True),  # a folder left empty
        (["d"], lambda: shutil.rmtree(root / "d"), "add", False),  # a folder deleted with its files
    ]
    for paths, change, staged_by, in_process in steps:
        change()
        twin = tmp_path / "twin"  # the same change staged with `git add -A`, in a copy of the repository
        shutil.rmtree(twin, ignore_errors=True)
        shutil.copytree(root, twin, symlinks=True)
        git(twin, "add", "-A", "--", *paths)
        expected = git(twin, "write-tree").strip()
        started.clear()
        store.commit(paths, "a change", "t", "t@example.org")
        if way == "in-process-v2" and not in_process:  # an index of version 2 (one git wrote before version 4 was set)
            git(root, "update-index", "--index-version", "2", GIT_CONFIG_COUNT="0")
        assert (root / ".git" / "index").read_bytes()[4:8] == (b"\0\0\0\2" if way == "in-process-v2" else b"\0\0\0\4")
        if here and in_process:
            assert started == {}, started
        else:
            assert started[staged_by] == 1 and started["add" if staged_by == "update-index" else "update-index"] == 0, started
        assert git(root, "rev-parse", "HEAD^{tree}").strip() == expected
        assert git(root, "status", "--porcelain") == ""
        assert git(root, "ls-files", "-s") == git(twin, "ls-files", "-s")
        ours, theirs = gitmod._read_index(str(root / ".git")), gitmod._read_index(str(twin / ".git"))
        assert ours[1][b"TREE"] == theirs[1][b"TREE"]
        assert {name: entry[1] for name, entry in ours[0].items()} == {name: entry[1] for name, entry in theirs[0].items()}
    git(root, "fsck", "--strict")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_commits_of_random_changes_stage_in_process_what_git_would(tmp_path, monkeypatch, seed):
    """Random writes, changes and deletions in folders whose names sort in each of git's ways (a folder's name
    as if it ended in '/': `a-b` < `a.age` < `a/` < `a0`; cached trees shortest name first), one commit each:
    every commit staged in this process, and each one's tree, index entries and cached trees those git makes of
    the same change in a copy of the repository."""
    import random

    chance = random.Random(seed)
    names = ["a", "a-b", "a0", "ab", "b", "\u00e9", "zz", "a b"]
    root = new_repo(tmp_path / "repo")
    (root / "first.age").write_text("first")
    store = Git(root)
    store.commit(["first.age"], "first", "t", "t@example.org")
    started = count_git(monkeypatch)
    for step in range(20):
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*.age") if ".git" not in p.parts)
        paths: set[str] = set()
        for _ in range(chance.randint(1, 4)):
            if len(files) > 4 and chance.random() < 0.3:  # (never the last files: an empty tree is git's to write)
                gone = chance.choice(files)
                if gone not in paths and (root / gone).exists():
                    (root / gone).unlink()
                    paths.add(gone)
                continue
            rel = "/".join(chance.choice(names) for _ in range(chance.randint(0, 3))) + "/" + chance.choice(names) + ".age"
            rel = rel.lstrip("/")
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(f"{rel} {step} {chance.random()}")
            paths.add(rel)
        if not paths:
            continue
        twin = tmp_path / "twin"
        shutil.rmtree(twin, ignore_errors=True)
        shutil.copytree(root, twin, symlinks=True)
        git(twin, "add", "-A", "--", *sorted(paths))
        expected = git(twin, "write-tree").strip()
        started.clear()
        store.commit(sorted(paths), f"step {step}", "t", "t@example.org")
        assert started == {}, (step, started)
        assert git(root, "rev-parse", "HEAD^{tree}").strip() == expected, step
        assert git(root, "status", "--porcelain") == "" and git(root, "ls-files", "-s") == git(twin, "ls-files", "-s")
        ours, theirs = gitmod._read_index(str(root / ".git")), gitmod._read_index(str(twin / ".git"))
        assert ours[1][b"TREE"] == theirs[1][b"TREE"], step
    git(root, "fsck", "--strict")


GIT_STAGES = {  # what sends a commit's staging to git: what the in-process index writer does not write as git would
    "assumed unchanged": lambda root: git(root, "update-index", "--assume-unchanged", "b"),
    "skipped": lambda root: git(root, "update-index", "--skip-worktree", "b"),
    "attributes": lambda root: (root / ".git" / "info").mkdir(exist_ok=True) or (root / ".git" / "info" / "attributes").write_text("* text\n"),
    "executable": lambda root: (root / "a").chmod(0o755),
    "a larger index": lambda root: setattr(gitmod, "INDEX_WRITE_ENTRIES", 1),
    "a file where a folder was": lambda root: (root / "a").unlink() or (root / "a").mkdir() or (root / "a" / "x").write_text("x"),
}


@pytest.mark.parametrize("case", sorted(GIT_STAGES))
def test_a_commit_is_staged_by_git_when_the_index_is_not_as_cpcm_leaves_it(tmp_path, monkeypatch, case):
    root = new_repo(tmp_path / "repo")
    for name in ("a", "b"):
        (root / name).write_text(name)
    store = Git(root)
    store.commit(["a", "b"], "first", "t", "t@example.org")
    monkeypatch.setattr(gitmod, "INDEX_WRITE_ENTRIES", gitmod.INDEX_WRITE_ENTRIES)
    GIT_STAGES[case](root)
    if (root / "a").is_file():
        (root / "a").write_text("a changed")
    paths = ["a/x"] if (root / "a").is_dir() else ["a"]
    twin = tmp_path / "twin"
    shutil.copytree(root, twin, symlinks=True)
    git(twin, "add", "-A", "--", "a")
    expected = git(twin, "write-tree").strip()
    started = count_git(monkeypatch)
    if case == "a file where a folder was":
        with pytest.raises(GitError):  # git refuses it as it did (`write-tree` of an index holding both)
            store.commit(paths, "second", "t", "t@example.org")
        return
    store.commit(paths, "second", "t", "t@example.org")
    assert started["update-index"] + started["add"] >= 1 and started["write-tree"] == 1, started
    assert git(root, "rev-parse", "HEAD^{tree}").strip() == expected


def test_an_index_locked_by_another_git_is_left_to_git_which_says_so(tmp_path):
    root = new_repo(tmp_path / "repo")
    (root / "a").write_text("a")
    store = Git(root)
    store.commit(["a"], "first", "t", "t@example.org")
    (root / "a").write_text("a changed")
    (root / ".git" / "index.lock").write_text("")
    with pytest.raises(GitError, match="index.lock"):
        store.commit(["a"], "second", "t", "t@example.org")
    assert git(root, "log", "--format=%s") == "first\n"


def test_an_entry_kept_whose_file_changed_in_the_second_the_index_was_written_is_smudged_as_git_does(tmp_path):
    """git's "racy" case: a file changed in the same instant its index was written can keep stat data equal to
    the index's; the index written again must not make it look unchanged (git sets its size to 0, and compares
    it by its bytes after)."""
    root = tmp_path / "r"
    root.mkdir()
    for name in ("same", "changed", "older"):
        (root / name).write_bytes(name.encode())
    top = bytes(root)
    seen = {name: gitmod._stat_fields(os.lstat(root / name)) for name in ("same", "changed", "older")}
    entries = {b"same": (seen["same"], gitmod.blob_id(b"same"), 4, 0),
               b"changed": (seen["changed"], gitmod.blob_id(b"what the index held"), 7, 0),
               b"older": ((*seen["older"][:2], seen["older"][2] - 5, *seen["older"][3:]), gitmod.blob_id(b"other"), 5, 0)}
    written = os.lstat(root / "changed").st_mtime_ns  # the index read was written in the same instant
    gitmod._smudge_racy(top, entries, written, set())
    assert entries[b"same"][0] == seen["same"]  # the same bytes: kept as it is
    assert entries[b"changed"][0] == (*seen["changed"][:9], 0)  # stat data as the file's, other bytes: size 0
    assert entries[b"older"][0][9] == seen["older"][9]  # written before that second: git trusts its stat data
    gitmod._smudge_racy(top, entries, written + 2 * 10 ** 9, set())  # an index written two seconds later: nothing racy
    assert entries[b"same"][0] == seen["same"]
