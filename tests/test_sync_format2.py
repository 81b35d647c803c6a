"""A sync, or a bundle, between copies of one repository in two casefile formats (issue 17: format 2, each
case folder at cases/XX/ID). A case folder the upgrade moved is the same folder on every side: two copies
upgraded each on its own, a copy upgraded and one an older release kept working in (its commits pushed, or
carried by a bundle, before the team upgraded) merge as copies of one format do: no conflict, no case given
a new ID, every record on both once, `cpcm verify` clean; what arrived counts the records written, never
those the upgrade moved."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import Cli, NOW, git, head, register, signed_commit
from format1 import format1_rel, rewrite_as_format1
from test_sync import VISIT, Laptops
from cpcm.store import remote
from cpcm.store.git import Git
from cpcm.store.layout import CASES, CONFIG, case_dir, case_rel


class Format1Laptops(Laptops):
    """The team's repository as an older release left it (format 1), on a bare remote, and a clone of it
    per worker: the remote made with git alone, so that no command of this release upgrades it first."""

    def __init__(self, repo: Path, keys: dict, tmp: Path):
        self.repo, self.keys, self.tmp = repo, keys, tmp
        self.bare = tmp / "remote.git"
        self.clones: dict[str, Path] = {"sup": repo}
        git(tmp, "init", "-q", "--bare", "-b", "main", str(self.bare))
        git(repo, "remote", "add", "origin", str(self.bare))
        git(repo, "push", "-q", "origin", "HEAD:main")


@pytest.fixture
def old_team(repo, team, tmp_env):
    """A case registered and visited by amina, then the whole history written again in format 1; the remote, and
    amina's clone of it, in format 1 too. (laptops, the case)"""
    amina = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    case_id = register(amina)
    assert amina("followup", case_id, *VISIT).code == 0
    rewrite_as_format1(repo)
    laptops = Format1Laptops(repo, team, tmp_env)
    laptops.laptop("amina")
    for root in (repo, laptops.clones["amina"]):
        assert is_format1(root, head(root))
    return laptops, case_id


def is_format1(root: Path, commit: str) -> bool:
    listing = git(root, "ls-tree", "--name-only", commit, f"{CASES}/")
    config = git(root, "show", f"{commit}:{CONFIG}")
    return "format: 1" in config and all(len(p.split("/")[1]) > 2 for p in listing.split() if p != f"{CASES}/.keep")


def records(root: Path) -> list[str]:
    """Every record file of the last commit, as a path (a record twice is there twice)."""
    return sorted(p for p in git(root, "ls-tree", "-r", "--name-only", "HEAD", f"{CASES}/").split() if p.endswith(".yaml.age"))


def case_folders(root: Path) -> list[str]:
    """Every case folder on disk, as a path in the repository."""
    return sorted(p.relative_to(root).as_posix() for p in (root / CASES).glob("*/CP-*"))


def verified(cli: Cli) -> None:
    done = cli("verify")
    assert done.code == 0, done.stdout + done.stderr


def replay_as_format1(source: Path, commit: str, dest: Path, worker: str) -> str:
    """The change `commit` made in `source` (a copy of format 2), made again in `dest` (a copy of format 1)
    at format-1 paths, with its message, by `worker` signed with their key: what an older release, which
    writes format 1, would have committed there. The commit made."""
    changed = git(source, "diff-tree", "-r", "--no-renames", "--no-commit-id", "--name-status", f"{commit}^", commit)
    paths = []
    for line in changed.splitlines():
        status, path = line.split("\t")
        assert status in ("A", "M"), line
        target = dest / format1_rel(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git(source, "cat-file", "blob", f"{commit}:{path}", binary=True))
        paths.append(format1_rel(path))
    message = git(source, "log", "-1", "--format=%s", commit).strip()
    return signed_commit(dest, worker, message, *paths)


def older_release_work(laptops: Format1Laptops, worker: str, case_id: str) -> tuple[list[str], str]:
    """Records `worker` writes on their copy of format 1 with an older release: a visit to `case_id` and a
    new case, written by this release in a scratch copy and committed again in format 1 on theirs
    (`replay_as_format1`). (their record files' names, the new case)"""
    scratch = laptops.tmp / f"scratch-{worker}"
    subprocess.run(["git", "clone", "-q", str(laptops.clones[worker]), str(scratch)], check=True, capture_output=True)
    cli = Cli({"CPCM_REPO": str(scratch), "CPCM_IDENTITY": str(laptops.keys[worker][0]), "CPCM_NOW": NOW})
    start = head(scratch)
    assert cli("followup", case_id, *VISIT).code == 0
    new_case = register(cli)
    commits = git(scratch, "rev-list", "--reverse", f"{start}..HEAD").split()
    assert git(scratch, "log", "-1", "--format=%s", commits[0]).startswith("upgrade format 2")
    for commit in commits[1:]:
        replay_as_format1(scratch, commit, laptops.clones[worker], worker)
    written = [p.rsplit("/", 1)[1] for p in git(scratch, "diff", "--name-only", commits[0], "HEAD").split() if p.endswith(".yaml.age")]
    assert is_format1(laptops.clones[worker], head(laptops.clones[worker]))
    return written, new_case


# -- two copies, each upgraded on its own --------------------------------------------------------------------
def test_two_copies_each_upgraded_on_its_own_sync_both_ways_without_conflict_or_new_id(old_team):
    laptops, case_id = old_team
    amina, sup = laptops.cli("amina"), laptops.cli("sup")
    before = records(laptops.repo)
    # each copy's first command upgrades it (its own `upgrade format 2` commit), then writes
    assert amina("followup", case_id, *VISIT).code == 0
    mine = register(sup)
    for root in (laptops.repo, laptops.clones["amina"]):
        assert git(root, "log", "-1", "--format=%s", "HEAD~1").strip() == "upgrade format 2"
    upgrades = {git(root, "rev-parse", "HEAD~1").strip() for root in (laptops.repo, laptops.clones["amina"])}
    assert len(upgrades) == 2  # two commits, one tree
    assert len({git(root, "rev-parse", "HEAD~1^{tree}").strip() for root in (laptops.repo, laptops.clones["amina"])}) == 1

    first = laptops.sync("amina")  # the remote is still of format 1, her copy's ancestor: pushed as it is
    assert first["pushed"] and first["records"] == 0 and first["commits"] == 0
    got = laptops.sync("sup")
    assert got["merged"] and got["conflicts"] == [] and got["reidentified"] == []
    # what arrived: her visit (one record, by her) and her upgrade commit, not every record it moved
    assert got["records"] == 1 and got["by"] == {"amina": 1} and got["cases"] == [case_id] and got["registered"] == []
    assert got["commits"] == 2 and got["notes"] == []
    back = laptops.sync("amina")
    assert back["fast_forward"] and back["conflicts"] == [] and back["reidentified"] == []
    assert back["records"] == 1 and back["registered"] == [mine] and back["cases"] == [mine]

    assert head(laptops.repo) == head(laptops.clones["amina"]) == git(laptops.bare, "rev-parse", "main").strip()
    every = records(laptops.repo)
    assert len(every) == len(set(every)) == len(before) + 2  # her visit and my registration: the merge adds none
    assert all(path.startswith(f"{case_rel(case_id)}/") or path.startswith(f"{case_rel(mine)}/") for path in every)
    for root in (laptops.repo, laptops.clones["amina"]):
        assert case_folders(root) == sorted([case_rel(case_id), case_rel(mine)])
        assert "format: 2" in (root / CONFIG).read_text() and git(root, "status", "--porcelain") == ""
    assert set(p.rsplit("/", 1)[1] for p in every) == {p.name for p in case_dir(laptops.clones["amina"], case_id).iterdir()
                                                        if p.name.endswith(".yaml.age")} | {
        p.name for p in case_dir(laptops.clones["amina"], mine).iterdir() if p.name.endswith(".yaml.age")}
    verified(sup)
    verified(amina)


def test_a_setting_an_older_release_changed_merges_and_the_merged_configuration_says_format_2(old_team):
    """The `format:` line the upgrade changed is no change of the configuration to merge: a setting changed
    in format 1 on a copy an older release kept working in comes through, and the merged file says format 2."""
    laptops, case_id = old_team
    amina, sup = laptops.cli("amina"), laptops.cli("sup")
    config = laptops.repo / CONFIG
    text = config.read_text()
    assert "format: 1" in text and "timezone: Africa/Nairobi" in text
    config.write_text(text.replace("timezone: Africa/Nairobi", "timezone: Africa/Johannesburg"))
    signed_commit(laptops.repo, "sup", "config set timezone", CONFIG)  # as an older release's `cpcm config set`
    git(laptops.repo, "push", "-q", "origin", "HEAD:main")
    assert amina("followup", case_id, *VISIT).code == 0  # this release: her copy upgrades, then writes
    got = laptops.sync("amina")
    assert got["merged"] and got["conflicts"] == [] and got["notes"] == [] and got["records"] == 0
    assert got["settings_changes"] == ["config set timezone"]
    merged = git(laptops.clones["amina"], "show", f"HEAD:{CONFIG}")
    assert merged == text.replace("format: 1", "format: 2").replace("timezone: Africa/Nairobi", "timezone: Africa/Johannesburg")
    assert (laptops.clones["amina"] / CONFIG).read_text() == merged
    verified(amina)
    again = laptops.sync("sup")  # (this release on his laptop too: it upgrades first)
    assert again["conflicts"] == [] and again["records"] == 1 and again["notes"] == []
    assert laptops.sync("amina")["fast_forward"]
    assert head(laptops.repo) == head(laptops.clones["amina"])
    assert git(laptops.repo, "show", f"HEAD:{CONFIG}") == merged
    verified(sup)


# -- a copy an older release kept working in --------------------------------------------------------------
def test_records_an_older_release_pushed_in_format_1_come_in_under_format_2_paths(old_team):
    laptops, case_id = old_team
    sup = laptops.cli("sup")
    written, new_case = older_release_work(laptops, "amina", case_id)
    git(laptops.clones["amina"], "push", "-q", "origin", "HEAD:main")  # pushed before the team upgraded
    mine = register(sup)  # this copy upgrades, then writes
    got = laptops.sync("sup")
    assert got["merged"] and got["conflicts"] == [] and got["reidentified"] == []
    assert got["records"] == len(written) == 2 and got["by"] == {"amina": 2}
    assert got["registered"] == [new_case] and got["cases"] == sorted([case_id, new_case])
    every = records(laptops.repo)
    assert len(every) == len(set(every))
    for name in written:
        assert any(path.endswith("/" + name) for path in every)
    assert {path.rsplit("/", 1)[0] for path in every} == {case_rel(case_id), case_rel(new_case), case_rel(mine)}
    assert case_folders(laptops.repo) == sorted(case_rel(c) for c in (case_id, new_case, mine))
    assert not is_format1(laptops.repo, head(laptops.repo))
    verified(sup)
    listed = sup("list", "--json")
    assert sorted(c["case_id"] for c in listed.json()) == sorted([case_id, new_case, mine])

    # the older release's laptop gets this release: its first command upgrades it, and its sync merges
    amina = laptops.cli("amina")
    back = amina("sync", "--json")
    assert back.code == 0, back.stderr
    report = back.json()
    assert report["conflicts"] == [] and report["reidentified"] == [] and report["registered"] == [mine]
    assert report["records"] == 1 and report["by"] == {"sup": 1}
    again = laptops.sync("sup")
    assert again["conflicts"] == [] and again["records"] == 0
    assert head(laptops.repo) == head(laptops.clones["amina"])
    assert records(laptops.repo) == records(laptops.clones["amina"]) == every
    verified(sup)
    verified(amina)


def test_a_bundle_an_older_release_made_applies_under_format_2_paths(old_team):
    """A bundle of a copy of format 1 (its paths cases/CP-.../x) merges into a copy of format 2 as the
    copy's sync would; and one made again applies to nothing new."""
    from cpcm.crypto import cipher

    laptops, case_id = old_team
    sup = laptops.cli("sup")
    written, new_case = older_release_work(laptops, "amina", case_id)
    older = Git(laptops.clones["amina"])
    recipients = [line.split("recipient:")[1].strip() for line in (laptops.repo / ".cpcm" / "team.yaml").read_text().splitlines()
                  if line.strip().startswith("recipient:")]
    bundle = laptops.tmp / "older.bundle"
    bundle.write_bytes(cipher.encrypt(remote.bundle_create(older, None), recipients))
    assert sup("list").code == 0  # this copy upgraded
    applied = sup("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    got = applied.json()
    assert got["merged"] and got["conflicts"] == [] and got["reidentified"] == []
    assert got["records"] == 2 and got["registered"] == [new_case]
    assert case_folders(laptops.repo) == sorted(case_rel(c) for c in (case_id, new_case))
    every = records(laptops.repo)
    assert len(every) == len(set(every)) and all(any(p.endswith("/" + n) for p in every) for n in written)
    verified(sup)
    twice = sup("bundle", "apply", str(bundle), "--json")
    assert twice.code == 0 and twice.json()["records"] == 0 and records(laptops.repo) == every


def test_a_copy_cloned_from_an_older_releases_bundle_counts_its_cases_and_upgrades_at_its_first_command(old_team, tmp_env):
    from cpcm.crypto import cipher

    laptops, case_id = old_team
    recipients = [line.split("recipient:")[1].strip() for line in (laptops.repo / ".cpcm" / "team.yaml").read_text().splitlines()
                  if line.strip().startswith("recipient:")]
    bundle = tmp_env / "whole.bundle"
    bundle.write_bytes(cipher.encrypt(remote.bundle_create(Git(laptops.repo), None), recipients))
    copy = tmp_env / "new-laptop"
    otieno = Cli({"CPCM_IDENTITY": str(laptops.keys["otieno"][0]), "CPCM_NOW": NOW})
    cloned = otieno("bundle", "clone", str(bundle), str(copy), "--json")
    assert cloned.code == 0, cloned.stderr
    assert cloned.json()["cases"] == 1
    mine = Cli({"CPCM_REPO": str(copy), "CPCM_IDENTITY": str(laptops.keys["otieno"][0]), "CPCM_NOW": NOW})
    assert mine("list").code == 0
    assert case_folders(copy) == [case_rel(case_id)] and not is_format1(copy, head(copy))


# -- one format ----------------------------------------------------------------------------------------------
def test_the_view_of_a_format_1_commit_is_the_tree_its_upgrade_commits_and_a_format_2_commit_is_its_own(old_team):
    laptops, case_id = old_team
    root = laptops.repo
    g = Git(root)
    old = head(root)
    view = remote.current_tree(g, old)
    assert view != old and git(root, "cat-file", "-t", view).strip() == "tree"
    assert git(root, "rev-parse", f"{old}:{CASES}/{case_id}").strip() == git(root, "rev-parse", f"{view}:{case_rel(case_id)}").strip()
    assert laptops.cli("sup")("list").code == 0  # the upgrade
    new = head(root)
    assert git(root, "log", "-1", "--format=%s", new).strip() == "upgrade format 2"
    assert git(root, "rev-parse", f"{new}^{{tree}}").strip() == view
    assert remote.current_tree(g, new) == new
    # what arrived with the upgrade commit: nothing added (every file moved)
    arrived = remote.arrived(g, old, new)
    assert [(a.message, a.added) for a in arrived] == [("upgrade format 2", ())]


def test_a_folder_a_person_put_in_cases_after_the_upgrade_does_not_stop_a_sync_nor_move(old_team):
    """A commit is told format 1 or 2 by its configuration, never by the shape of its `cases` tree: a folder of
    scans a person committed directly in cases/ after the upgrade is theirs, left where it is (verify names it),
    and the sync merges as ever."""
    laptops, case_id = old_team
    amina, sup = laptops.cli("amina"), laptops.cli("sup")
    assert sup("due").code == 0  # upgraded
    scans = laptops.repo / CASES / "scans-2026"
    scans.mkdir()
    (scans / "a.txt").write_text("a scanned page\n")
    signed_commit(laptops.repo, "sup", "add scans", f"{CASES}/scans-2026/a.txt")
    assert amina("followup", case_id, *VISIT).code == 0  # her copy upgraded too
    assert laptops.sync("amina")["pushed"]
    got = laptops.sync("sup")
    assert got["merged"] and got["conflicts"] == [] and got["reidentified"] == [] and got["records"] == 1
    assert (laptops.repo / CASES / "scans-2026" / "a.txt").is_file()
    assert git(laptops.repo, "ls-tree", "--name-only", "HEAD", f"{CASES}/scans-2026/").split() == [f"{CASES}/scans-2026/a.txt"]
    back = laptops.sync("amina")
    assert back["conflicts"] == [] and (laptops.clones["amina"] / CASES / "scans-2026" / "a.txt").is_file()
    assert [(e["worker"], e["folder"], e["file"].split(" whose")[0]) for e in back["plaintext_committed"]] == [
        ("sup", None, f"a file in {CASES}")]  # named by the sync that brings it, as verify names it
