"""HEAD and its tree read from the repository's files (cpcm/store/git.py) agree with what git
says, in each form git leaves them in; anything else is left to git (None)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from cpcm.store.layout import case_dir
from cpcm.store.git import Git, _read_head_and_tree, git_env


def git(root: Path, *args: str) -> str:
    env = git_env({"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                   "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})
    return subprocess.run(["git", "-C", str(root), *args], env=env, check=True, capture_output=True, text=True).stdout


def said_by_git(root: Path) -> tuple[str, str]:
    head, tree = git(root, "rev-parse", "HEAD", "HEAD^{tree}").split()
    return head, tree


def test_head_and_tree__loose_packed_ref_unborn_and_packed_objects(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    assert _read_head_and_tree(str(root / ".git")) is None  # not a repository: git says so
    git(root, "init", "-q", "-b", "main")
    assert _read_head_and_tree(str(root / ".git")) == (None, None)  # unborn
    assert Git(root)._head_and_tree() == (None, None)
    for n in range(3):
        (root / f"f{n}").write_text(str(n))
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"c{n}")
        assert _read_head_and_tree(str(root / ".git")) == said_by_git(root)
    git(root, "pack-refs", "--all")  # the branch's ref moves into packed-refs
    assert not (root / ".git" / "refs" / "heads" / "main").exists()
    assert _read_head_and_tree(str(root / ".git")) == said_by_git(root)
    git(root, "gc", "-q")  # the commit moves into a pack: read from the pack
    assert _read_head_and_tree(str(root / ".git")) == said_by_git(root)
    assert Git(root)._head_and_tree() == said_by_git(root)
    git(root, "checkout", "-q", "--detach")  # HEAD names no branch: git answers
    assert _read_head_and_tree(str(root / ".git")) is None
    assert Git(root)._head_and_tree() == said_by_git(root)


def test_head_and_tree__a_new_branch_beside_packed_refs_is_unborn_to_git_too(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "f").write_text("x")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "c")
    git(root, "pack-refs", "--all")
    git(root, "symbolic-ref", "HEAD", "refs/heads/other")  # a branch with no commit yet
    assert _read_head_and_tree(str(root / ".git")) is None
    assert Git(root)._head_and_tree() == (None, None)


def test_tree_id_and_changed_names__a_folder_checked_whole_and_what_changed_named(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    store = Git(root)
    assert store.tree_id("cases") is None  # before the first commit
    a, b, c, d = "CP-AA00-0001", "CP-BB00-0002", "CP-AA00-0003", "CP-DD00-0004"  # a and c share a second-level folder
    for name in (a, b, c):
        case_dir(root, name).mkdir(parents=True)
        (case_dir(root, name) / "r.age").write_text(name)
    (root / "other").write_text("x")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    first = store.tree_id("cases")
    assert first == git(root, "rev-parse", "HEAD:cases").strip()
    assert store.tree_id("nowhere") is None
    (root / "other").write_text("y")  # outside the folder: its tree id stays
    (case_dir(root, b) / "r.age").write_text("changed")
    case_dir(root, d).mkdir(parents=True)
    (case_dir(root, d) / "r.age").write_text("d")
    (case_dir(root, c) / "r.age").unlink()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "two")
    second = store.tree_id("cases")
    assert second != first and second == git(root, "rev-parse", "HEAD:cases").strip()
    assert store.tree_id("other") is None  # a file, not a folder
    assert store.changed_names(first, second) == {b, c, d}  # changed, removed, added; not a
    assert store.changed_entries(first, second)[c][1] is None and store.changed_entries(first, second)[d][0] is None
    assert store.changed_names(second, second) == set()
    assert git(root, "cat-file", "-t", second) == "tree\n"
    git(root, "gc", "-q")  # the trees move into a pack: git answers, the same
    assert store.tree_id("cases") == second and store.tree_id("nowhere") is None and store.tree_id("other") is None
    store.rev = "HEAD~1"  # the commit readers read, when pinned
    assert store.tree_id("cases") == first


def test_commit_of_many_files__the_tree_git_add_makes_and_no_loose_blob(tmp_path, monkeypatch):
    from cpcm.store import git as git_mod

    trees = []
    for bulk in (True, False):
        root = tmp_path / f"repo-{bulk}"
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        for n in range(120):
            (root / "cases" / f"c{n:03}").mkdir(parents=True)
            (root / "cases" / f"c{n:03}" / "r.age").write_bytes(b"first %d" % n)
        store = Git(root)
        store.commit([f"cases/c{n:03}/r.age" for n in range(120)], "one", "Amina", "amina@example.org")
        changed = []
        for n in range(0, 120, 2):  # changed, added, deleted, and one rewritten with the same bytes
            (root / "cases" / f"c{n:03}" / "r.age").write_bytes(b"second %d" % n)
            (root / "cases" / f"c{n:03}" / "new.age").write_bytes(b"new %d" % n)
            changed += [f"cases/c{n:03}/r.age", f"cases/c{n:03}/new.age"]
        (root / "cases" / "c001" / "r.age").unlink()
        (root / "cases" / "c003" / "r.age").write_bytes(b"first 3")
        changed += ["cases/c001/r.age", "cases/c003/r.age"]
        monkeypatch.setattr(git_mod, "BULK_FROM", 64 if bulk else 10**6)

        def loose() -> set[str]:
            return {f"{d.name}{f.name}" for d in (root / ".git" / "objects").iterdir() if len(d.name) == 2 for f in d.iterdir()}
        before = loose()
        store.commit(changed, "two", "Amina", "amina@example.org")
        trees.append(git(root, "rev-parse", "HEAD^{tree}").strip())
        assert git(root, "status", "--porcelain") == ""  # the index knows every file as it is on disk
        kinds = {git(root, "cat-file", "-t", sha).strip() for sha in loose() - before}
        # staged together: every new blob and every changed folder's tree in one pack, none loose
        assert kinds == ({"commit"} if bulk else {"blob", "tree", "commit"})
        assert git(root, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]  # the import's own ref is gone
        git(root, "fsck", "--strict")
    assert trees[0] == trees[1]
