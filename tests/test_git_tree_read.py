"""Tree objects read from their loose files (`git._tree_raw`, `_tree_entries`), and `changed_names`,
give what git gives (`ls-tree`, `diff-tree`) for trees of any names and modes, and nothing (git
answers instead) for an object that is not a tree as git writes it."""
from __future__ import annotations

import os
import random
import subprocess
import zlib

from conftest import git

from cpcm.store import git as git_mod
from cpcm.store.git import Git

NAMES = ["a", "b", "CP-0000-0001", "CP-ZZZZ-9999", "with space", "é", "日本", ".keep", "x\ty", "-", "0", "a.b", "A"]
CASE_NAMES = ["CP-QQ00-0001", "CP-QQZZ-9999", "CP-QQ with space", "CP-QQé", "CP-QQ日本", "CP-QQ", "CP-QQ\ty", "CP-QQ-",
              "CP-QQ0", "CP-QQa.b", "CP-QQA"]


def _ls_tree(root, tree: str) -> list[tuple[bytes, str, str]]:
    out = git(root, "ls-tree", "-z", tree)
    entries = []
    for line in out.split("\0"):
        if line:
            meta, _, name = line.partition("\t")
            mode, _kind, sha = meta.split()
            entries.append((mode.lstrip("0").encode(), name, sha))
    return entries


def _fed(root, data: bytes, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True, check=True).stdout.decode().strip()


def _mktree(root, entries: dict[str, tuple[str, str]]) -> str:
    """A tree of `entries` (name -> (mode, id)) written by git as a loose object."""
    lines = "".join(f"{mode} {'tree' if mode == '040000' else 'blob'} {sha}\t{name}\0" for name, (mode, sha) in entries.items())
    return _fed(root, lines.encode(), "mktree", "-z")


def test_trees_read_from_their_files_are_what_git_lists_and_what_changed_is_what_git_says(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    blobs = [_fed(root, str(n).encode(), "hash-object", "-w", "--stdin") for n in range(4)]
    sub = _mktree(root, {"r.age": ("100644", blobs[0])})
    other = _mktree(root, {"r.age": ("100644", blobs[1])})
    rng = random.Random(7)
    git_dir = str(root / ".git")
    store = Git(root)
    trees = []
    for _ in range(30):
        chosen = rng.sample(NAMES, rng.randint(0, len(NAMES)))
        entries = {name: rng.choice([("040000", sub), ("040000", other), ("100644", blobs[2]), ("100755", blobs[3]),
                                     ("120000", blobs[0])]) for name in chosen}
        tree = _mktree(root, entries)
        assert git_mod._tree_entries(git_dir, tree) == _ls_tree(root, tree)
        trees.append(tree)
    # `changed_names` compares two `cases` trees of two levels (store/layout.py): case folders named as oddly, in
    # one second-level folder (QQ), with a file and a folder of no case at the top, which it leaves out
    cases = []
    for _ in range(30):
        chosen = rng.sample(CASE_NAMES, rng.randint(0, len(CASE_NAMES)))
        level = _mktree(root, {name: rng.choice([("040000", sub), ("040000", other), ("100644", blobs[2]), ("100755", blobs[3]),
                                                 ("120000", blobs[0])]) for name in chosen})
        cases.append((level, _mktree(root, {"QQ": ("040000", level), ".keep": ("100644", blobs[0]), "a": ("040000", sub)})))
    for (old_level, old), (new_level, new) in zip(cases, cases[1:] + cases[:1]):
        expected = {name for name in git(root, "diff-tree", "--name-only", "-z", old_level, new_level).split("\0") if name}
        assert store.changed_names(old, new) == expected


def test_an_object_not_as_git_writes_a_tree_is_left_to_git(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    blob = _fed(root, b"x", "hash-object", "-w", "--stdin")
    tree = _mktree(root, {"a": ("100644", blob), "b": ("100644", blob)})
    git_dir = str(root / ".git")
    path = os.path.join(git_dir, "objects", tree[:2], tree[2:])
    body = zlib.decompress(open(path, "rb").read()).partition(b"\0")[2]
    for odd in (body + b"junk", b"x" + body, body[:-1], body.replace(b"100644 a", b"100644 "), body.replace(b"100644", b"10064x"),
                body.replace(b"100644 a", b"0100644 a")):  # a zero-padded mode: git compares it as 100644
        os.chmod(path, 0o644)
        with open(path, "wb") as handle:
            handle.write(zlib.compress(b"tree %d\0" % len(odd) + odd))
        assert git_mod._tree_raw(git_dir, tree) is None
    assert git_mod._tree_raw(git_dir, "4b825dc642cb6eb9a060e54bf8d69288fbee4904") == []
