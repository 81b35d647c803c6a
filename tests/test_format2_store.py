"""Format 2 in the store (store/layout.py): each case folder at cases/XX/ID, where XX is the ID's two characters
after "CP-". The layout's functions, and git's view of a repository of that shape (made here with git alone, no
cpcm command): the case folders and their tree ids, what changed between two commits, what changed on disk."""
from __future__ import annotations

from pathlib import Path

import pytest

from cpcm.store.cache import dirty_cases
from cpcm.store.casestore import CaseStore
from cpcm.store.git import Git
from cpcm.store.layout import (CASES, case_dir, case_rel, current_rel, folder_of, folder_rel, history_rels, split_rel)

A, B, C = "CP-4F7K-9X2N", "CP-4FAA-0000", "CP-ZZ12-3456"
RECORD = "01JD0000000000000000000000.note.yaml.age"


def test_the_layout_names_each_case_folder_in_two_levels_and_every_other_folder_in_one():
    assert case_rel(A) == "cases/4F/CP-4F7K-9X2N"
    assert folder_rel(CASES, A) == case_rel(A)
    assert folder_rel("conferences", "CC-AB12-CD34") == "conferences/CC-AB12-CD34"
    assert case_dir(Path("/r"), A) == Path("/r/cases/4F/CP-4F7K-9X2N")
    assert split_rel(f"cases/4F/{A}/{RECORD}") == (CASES, A, RECORD)
    assert split_rel(f"conferences/CC-AB12-CD34/{RECORD}") == ("conferences", "CC-AB12-CD34", RECORD)
    assert folder_of(f"cases/4F/{A}/recipients") == "cases/4F/CP-4F7K-9X2N"
    # not a file directly in a folder of format 2: format 1's path, a misplaced folder, a folder, a deeper file
    for rel in (f"cases/{A}/{RECORD}", f"cases/ZZ/{A}/{RECORD}", f"cases/4F/{A}", f"cases/4F/{A}/x/{RECORD}",
                "cases/.keep", ".cpcm/config.yaml"):
        assert split_rel(rel) is None, rel
    assert history_rels(A) == ["cases/4F/CP-4F7K-9X2N", "cases/CP-4F7K-9X2N"]


@pytest.mark.parametrize("rel, now", [
    (f"cases/{A}/{RECORD}", f"cases/4F/{A}/{RECORD}"),
    (f"cases/{A}/recipients", f"cases/4F/{A}/recipients"),
    (f"cases/4F/{A}/{RECORD}", f"cases/4F/{A}/{RECORD}"),  # format 2 already: as it is
    ("cases/.keep", "cases/.keep"),
    (f"conferences/CC-AB12-CD34/{RECORD}", f"conferences/CC-AB12-CD34/{RECORD}"),
    (".cpcm/config.yaml", ".cpcm/config.yaml"),
])
def test_a_path_of_format_1_reads_as_format_2_and_every_other_path_as_it_is(rel, now):
    assert current_rel(rel) == now
    assert current_rel(current_rel(rel)) == now


def _write(root: Path, rel: str, data: bytes) -> str:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
    return rel


@pytest.fixture
def repo(tmp_path) -> tuple[Path, Git]:
    root = tmp_path / "repo"
    root.mkdir()
    git = Git(root)
    git.init()
    paths = [_write(root, "cases/.keep", b"")]
    for case_id in (A, B, C):
        paths.append(_write(root, f"{case_rel(case_id)}/recipients", b"amina\n"))
        paths.append(_write(root, f"{case_rel(case_id)}/{RECORD}", case_id.encode()))
    git.commit(paths, "register 3 cases", "amina", "amina@test.cpcm.invalid")
    return root, git


def test_git_gives_each_case_folder_of_the_second_level_by_its_id(repo):
    root, git = repo
    trees = git.tree_ids(CASES)
    assert set(trees) == {A, B, C}
    assert trees[A] == git.run(["rev-parse", f"HEAD:{case_rel(A)}"]).strip()
    assert CaseStore(root).case_ids() == sorted([A, B, C])


def test_what_changed_between_two_commits_is_named_by_case(repo):
    root, git = repo
    before = git.tree_id(CASES)
    old_a = git.tree_ids(CASES)[A]
    new = "CP-QQ00-0001"
    git.commit([_write(root, f"{case_rel(A)}/01JD0000000000000000000001.note.yaml.age", b"more"),
                _write(root, f"{case_rel(new)}/recipients", b"amina\n")], "two changes", "amina", "amina@test.cpcm.invalid")
    after = git.tree_id(CASES)
    trees = git.tree_ids(CASES)
    assert git.changed_entries(before, after) == {A: (old_a, trees[A]), new: (None, trees[new])}
    assert git.changed_names(after, before) == {A, new}


def test_a_cases_tree_of_format_1_against_one_of_format_2_names_every_case(repo, tmp_path):
    root, git = repo
    flat = git.run(["mktree"], input="".join(f"040000 tree {sha}\t{case_id}\n" for case_id, sha in
                                            git.tree_ids(CASES).items()).encode()).strip()
    assert git.changed_names(flat, git.tree_id(CASES)) == {A, B, C}
    # each case named with its folder on both sides (the same tree: moved, not changed), none as gone nor new,
    # so that a view kept from before the upgrade counts each case once
    trees = git.tree_ids(CASES)
    assert git.changed_entries(flat, git.tree_id(CASES)) == {case_id: (sha, sha) for case_id, sha in trees.items()}
    assert git.changed_entries(git.tree_id(CASES), flat) == {case_id: (sha, sha) for case_id, sha in trees.items()}


def test_a_write_killed_before_the_upgrade_is_known_by_its_files_names_in_format_1_too():
    from cpcm.store.casestore import written_by_cpcm

    for rel in (f"cases/{A}/{RECORD}", f"cases/{A}/recipients", f"cases/4F/{A}/{RECORD}", f"cases/4F/{A}/recipients"):
        assert written_by_cpcm(rel, "note"), rel
    for rel in (f"cases/{A}/notes.txt", f"cases/4F/{A}/notes.txt", "cases/4F/notes.txt", f"cases/{A}/x/{RECORD}"):
        assert not written_by_cpcm(rel, "note"), rel


def test_a_case_changed_on_disk_is_named_by_its_id(repo):
    root, git = repo
    assert dirty_cases(root) == set()
    (root / case_rel(B) / RECORD).write_bytes(b"edited by hand")
    assert git.changed_on_disk(CASES) == {B}
    assert dirty_cases(root) == {B}
    assert dirty_cases(root, [A, B]) == {B}
    assert dirty_cases(root, [A]) == set()
