"""cpcm verify, the history and the signatures across the upgrade to casefile format 2 (store/upgrade.py): a
repository that earlier releases left in format 1 (tests/format1.py) is moved by the first command, and then verifies
clean; each record keeps the commit that added it (its author and date), not the upgrade's; a commit that calls
itself the upgrade and does more is reported (`upgrade-not-only-moves`)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import git, head, register
from format1 import rewrite_as_format1
from test_signing import forge_record, hand_commit
from cpcm.store.layout import CASES, CONFIG, case_dir, case_rel
from cpcm.store.upgrade import MESSAGE


def problems(cli) -> list[dict]:
    result = cli("verify", "--json")
    found = result.json()
    assert result.code == (1 if any(p["severity"] != "note" for p in found) else 0), result.stderr
    return [p for p in found if p["severity"] != "note"]


def codes(cli) -> set[str]:
    return {p["code"] for p in problems(cli)}


def added_by(repo: Path, rel: str) -> tuple[str, str, str]:
    """(commit, author address, author date) of the commit that added the file at `rel`, by git itself."""
    out = git(repo, "log", "--diff-filter=A", "--format=%H %ae %aI", "--", rel).split()
    return out[0], out[1], out[2]


def a_history(cli, sup) -> tuple[str, str]:
    """Two cases, a note, a re-encryption (an assignment) and a supervisor's approval: (amina's case, sup's case)."""
    mine = register(cli)
    assert cli("note", mine, "--text", "home visit done").code == 0
    theirs = register(sup, "--worker", "otieno")
    assert sup("assign", mine, "--worker", "otieno").code == 0  # re-encrypts the case's records
    return mine, theirs


def approve_by_hand(repo: Path, case_id: str, key: Path) -> str:
    """An approval record (a supervisor's kind) committed by sup as cpcm would: its path in the format of the tree."""
    rel = forge_record(repo, case_id, "approval", "sup", {"subject": "closure", "decision": "approved"})
    hand_commit(repo, "sup", f"approve {case_id} {Path(rel).name.split('.')[0]}", [rel], key)
    return rel


def format1_repository(repo: Path, cli, sup, team) -> tuple[str, str]:
    """The test repository with a history, as a release before format 2 left it (every case directly in cases/)."""
    mine, theirs = a_history(cli, sup)
    approve_by_hand(repo, mine, team["sup"][0])
    rewrite_as_format1(repo)
    assert (repo / CASES / mine).is_dir() and not case_dir(repo, mine).exists()
    assert "format: 1" in (repo / CONFIG).read_text()
    return mine, theirs


def test_a_format1_repository_upgraded_by_a_caseworker_verifies_clean(repo, team, cli, cli_as):
    """A caseworker's first command upgrades it (one commit: the approval among the records it moves is not hers to
    make, and is not taken for hers), and verify, as a supervisor, finds nothing wrong, before and after more work."""
    sup = cli_as("sup")
    mine, theirs = format1_repository(repo, cli, sup, team)
    before = head(repo)
    assert cli("list").code == 0
    assert git(repo, "log", "-1", "--format=%s %ae").split() == [*MESSAGE.split(), "amina@test.cpcm.invalid"]
    assert git(repo, "rev-parse", "HEAD^").strip() == before
    assert case_dir(repo, mine).is_dir() and not (repo / CASES / mine).exists()
    assert codes(sup) == set()
    assert cli_as("otieno")("note", mine, "--text", "follow-up call").code == 0
    assert sup("assign", theirs, "--worker", "amina").code == 0
    assert codes(sup) == set()
    assert codes(cli_as("otieno")) == set()


def test_a_format1_repository_upgraded_by_verify_itself_verifies_clean(repo, team, cli, cli_as):
    sup = cli_as("sup")
    format1_repository(repo, cli, sup, team)
    assert codes(sup) == set()
    assert git(repo, "log", "-1", "--format=%s").strip() == MESSAGE
    assert git(repo, "status", "--porcelain", "--untracked-files=all").strip() == ""


@pytest.mark.parametrize("renames", ["git's default", "off"])
def test_a_record_keeps_the_commit_that_added_it_across_the_upgrade(repo, team, cli, cli_as, renames):
    """`cpcm log` names, for each record written before the upgrade, the commit that added it (its date, its
    signer), as git names it in the format-1 history; never the upgrade's commit, made later by someone else. Also
    where the repository's git settings turn off the rename detection that pairs a moved file's two paths."""
    sup = cli_as("sup")
    mine, _ = format1_repository(repo, cli, sup, team)
    if renames == "off":
        git(repo, "config", "diff.renames", "false")
    files = sorted(p.name for p in (repo / CASES / mine).glob("*.yaml.age"))
    before = {name.split(".")[0]: added_by(repo, f"{CASES}/{mine}/{name}") for name in files}
    assert sup("list").code == 0  # the upgrade, by sup
    upgrade = head(repo)
    after = {e["record_id"]: e for e in cli_as("otieno")("log", mine, "--json").json()}
    assert sorted(after) == sorted(before)
    for record_id, (sha, email, date) in before.items():
        entry = after[record_id]
        assert entry["commit"] == sha != upgrade
        assert entry["committed_at"] == date
        assert entry["signed_by"] == email.split("@")[0] and entry["signature"] == "good"
    # git's own added-only question over both paths names the upgrade for every record too: cpcm's does not
    moved = git(repo, "log", "--diff-filter=A", "--no-renames", "--format=%H", "--", case_rel(mine), f"{CASES}/{mine}").split()
    assert upgrade in moved


def test_a_record_added_after_the_upgrade_is_its_own_commit_s(repo, team, cli, cli_as):
    sup = cli_as("sup")
    mine, theirs = format1_repository(repo, cli, sup, team)
    assert sup("list").code == 0
    assert sup("note", theirs, "--text", "called the school").code == 0
    note = head(repo)
    entries = cli_as("otieno")("log", theirs, "--json").json()
    assert [e["commit"] for e in entries if e["kind"] == "note"] == [note]


def hand_upgrade(repo: Path, worker: str, key: Path, extra=None) -> str:
    """An `upgrade format 2` commit made by hand: every case folder moved to its second level, the config's format
    line changed, and whatever `extra(repo)` does besides (it returns the paths it touched)."""
    for folder in sorted((repo / CASES).iterdir()):
        if folder.is_dir():
            case_dir(repo, folder.name).parent.mkdir(exist_ok=True)
            os.rename(folder, case_dir(repo, folder.name))
    config = repo / CONFIG
    config.write_text(config.read_text().replace("format: 1", "format: 2"))
    touched = extra(repo) if extra else []
    return hand_commit(repo, worker, MESSAGE, [CASES, CONFIG, *touched], key)


def test_a_hand_made_upgrade_that_only_moves_is_accepted(repo, team, cli, cli_as):
    """The same commit as cpcm's, made by hand by a caseworker (so the checks below fail for what is added to it)."""
    sup = cli_as("sup")
    format1_repository(repo, cli, sup, team)
    hand_upgrade(repo, "amina", team["amina"][0])
    assert codes(sup) == set()


def _changed_record(case_id: str):
    def change(repo: Path) -> list[str]:
        first, second = sorted(case_dir(repo, case_id).glob("*.yaml.age"))[:2]
        first.write_bytes(second.read_bytes())  # another valid age file of the same readers: only its blob differs
        return []
    return change


def test_a_hand_made_upgrade_that_also_changes_a_record_is_reported(repo, team, cli, cli_as):
    sup = cli_as("sup")
    mine, _ = format1_repository(repo, cli, sup, team)
    sha = hand_upgrade(repo, "amina", team["amina"][0], _changed_record(mine))
    found = problems(sup)
    upgrade = [p for p in found if p["code"] == "upgrade-not-only-moves"]
    assert upgrade and all(sha[:10] in p["message"] and p["case_id"] == mine for p in upgrade)
    assert {"record-deleted"} <= {p["code"] for p in found}  # the record it did not move is gone from its place
    assert not any("home visit" in p["message"] for p in found)


def test_a_hand_made_upgrade_that_adds_a_file_or_a_record_is_reported(repo, team, cli, cli_as):
    sup = cli_as("sup")
    mine, theirs = format1_repository(repo, cli, sup, team)

    def add(repo: Path) -> list[str]:
        (case_dir(repo, theirs) / "Zqxcanary notes.txt").write_text("Zqxcanary lives at the market\n")
        return []
    sha = hand_upgrade(repo, "amina", team["amina"][0], add)
    found = problems(sup)
    upgrade = [p for p in found if p["code"] == "upgrade-not-only-moves"]
    assert [p["case_id"] for p in upgrade] == [theirs]
    assert sha[:10] in upgrade[0]["message"] and "Zqxcanary" not in json.dumps(found)
    assert "plaintext-committed" in {p["code"] for p in found}


def test_a_hand_made_upgrade_that_adds_an_approval_is_reported_and_not_allowed(repo, team, cli, cli_as):
    sup = cli_as("sup")
    mine, _ = format1_repository(repo, cli, sup, team)

    def approve(repo: Path) -> list[str]:
        return [forge_record(repo, mine, "approval", "amina", {"subject": "closure", "decision": "approved"})]
    hand_upgrade(repo, "amina", team["amina"][0], approve)
    found = {p["code"] for p in problems(sup)}
    assert {"upgrade-not-only-moves", "signer-not-allowed"} <= found


def test_a_hand_made_upgrade_that_leaves_a_case_behind_or_keeps_format_1_is_reported(repo, team, cli, cli_as):
    sup = cli_as("sup")
    mine, theirs = format1_repository(repo, cli, sup, team)
    aside = repo.parent / theirs
    os.rename(repo / CASES / theirs, aside)  # not moved with the others

    def put_back(repo: Path) -> list[str]:
        os.rename(aside, repo / CASES / theirs)
        return []
    sha = hand_upgrade(repo, "amina", team["amina"][0], put_back)
    left = [p for p in problems(sup) if p["code"] == "upgrade-not-only-moves"]
    assert [p["case_id"] for p in left] == [theirs] and f"{CASES}/{theirs}" in left[0]["message"]
    assert sha[:10] in left[0]["message"]


def test_an_upgrade_commit_that_does_not_change_the_format_line_is_reported(repo, team, cli, cli_as):
    sup = cli_as("sup")
    mine, _ = format1_repository(repo, cli, sup, team)
    assert sup("list").code == 0  # the real upgrade
    (repo / CASES / "note.txt").write_text("x\n")
    hand_commit(repo, "sup", MESSAGE, [f"{CASES}/note.txt"], team["sup"][0])
    found = [p for p in problems(sup) if p["code"] == "upgrade-not-only-moves"]
    assert len(found) == 2 and any("format line" in p["message"] for p in found)


def test_a_stray_in_cases_or_in_its_second_level_is_reported_by_its_folder(repo, team, cli, cli_as):
    """Format 2's cases/XX/ folders are cpcm's: a file or folder put there by hand is reported as a stray in
    cases/ always was, its name not shown; a case folder left directly in cases/ (format 1's place) too."""
    case_id = register(cli)
    shard = case_dir(repo, case_id).parent
    (shard / "Zqxcanary.pdf").write_text("scan\n")
    (shard / "Zqxcanary papers").mkdir()
    (shard / "Zqxcanary papers" / "a.txt").write_text("scan\n")
    (repo / CASES / "Zqxcanary.txt").write_text("scan\n")
    found = problems(cli_as("sup"))
    assert {p["code"] for p in found} == {"uncommitted-change"}
    shown = sorted(p["message"].split(" whose name")[0] for p in found)
    assert shown == ["a file in cases", f"a file in {CASES}/{shard.name}", f"a file in {CASES}/{shard.name}"]
    assert "Zqxcanary" not in json.dumps(found)
    hand_commit(repo, "amina", f"note {case_id}", [CASES], team["amina"][0])
    found = problems(cli_as("sup"))
    assert {p["code"] for p in found} == {"plaintext-committed"} and len(found) == 3
    assert "Zqxcanary" not in json.dumps(found)


def test_a_record_in_format_1_s_place_after_the_upgrade_is_no_record(repo, team, cli, cli_as):
    """After the upgrade a case's files are in cases/XX/ID: a record committed at cases/ID/ is a stray, not a record."""
    case_id = register(cli)
    rel = forge_record(repo, case_id, "note", "amina", {"text": "seen"})
    old = repo / CASES / case_id / Path(rel).name
    old.parent.mkdir()
    os.rename(repo / rel, old)
    hand_commit(repo, "amina", f"note {case_id} {old.name.split('.')[0]}", [f"{CASES}/{case_id}"], team["amina"][0])
    found = problems(cli_as("sup"))
    assert [p["code"] for p in found] == ["plaintext-committed"]
    assert found[0]["case_id"] == case_id



def test_two_copies_upgraded_apart_then_synced_verify_clean(repo, team, cli, cli_as, tmp_env):
    """Each copy of a team's format-1 repository is upgraded by its own worker's first command (two `upgrade format 2`
    commits, by two workers); a sync merges them, and verify is clean on both copies, each record still its author's."""
    import subprocess

    from conftest import Cli, NOW

    sup = cli_as("sup")
    mine, theirs = format1_repository(repo, cli, sup, team)
    bare = tmp_env / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True, capture_output=True)
    laptop = tmp_env / "laptop-otieno"
    subprocess.run(["git", "clone", "-q", str(bare), str(laptop)], check=True, capture_output=True)
    assert sup("remote", "add", "origin", str(bare)).code == 0  # sup's upgrade
    otieno = Cli({"CPCM_REPO": str(laptop), "CPCM_IDENTITY": str(team["otieno"][0]), "CPCM_NOW": NOW})
    assert otieno("note", mine, "--text", "called the school").code == 0  # otieno's upgrade, then his note
    assert git(laptop, "log", "-2", "--format=%s").splitlines()[1] == MESSAGE
    assert sup("note", theirs, "--text", "home visit").code == 0
    assert sup("sync").code == 0
    done = otieno("sync")
    assert done.code == 0, done.stderr
    assert sup("sync").code == 0
    assert head(repo) == head(laptop)
    upgrades = git(repo, "log", f"--grep=^{MESSAGE}$", "--format=%ae").split()
    assert sorted(upgrades) == ["otieno@test.cpcm.invalid", "sup@test.cpcm.invalid"]
    assert codes(sup) == set()
    assert codes(otieno) == set()


def test_an_upgrade_commit_is_checked_as_any_commit_unsigned_or_by_a_stranger(repo, team, cli, cli_as):
    """The upgrade is signed by a member of the team like every commit: one made by hand without a signature, or in
    the name of someone who is not in the team, is reported as any such commit is."""
    sup = cli_as("sup")
    format1_repository(repo, cli, sup, team)
    hand_upgrade(repo, "amina", None)
    assert codes(sup) == {"unsigned-commit"}
    git(repo, "reset", "-q", "--hard", "HEAD^")
    hand_upgrade(repo, "stranger", None)
    assert {"unsigned-commit", "commit-author-not-member"} <= codes(sup)
