"""Working as a team: remotes, sync, bundles, and what a merge does with histories written apart.

Every test builds its copies for real: one casefile repository, a bare remote in tmp_path, and a
clone per laptop (`Team.laptop`). Each conflict kind is built deterministically."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest

from conftest import CANARY, NOW, Cli, Result, git, git_status, head, register, settling_said, signed_commit
from cpcm.store.layout import FORMAT_VERSION, case_dir, case_rel
from test_assess_plan import plan_doc

VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school", "--visited-by",
         "professional", "--risk-increased", "no")


class Laptops:
    """A bare remote and one clone of the repository per worker."""

    def __init__(self, repo: Path, keys: dict, tmp: Path):
        self.repo, self.keys, self.tmp = repo, keys, tmp
        self.bare = tmp / "remote.git"
        self.clones: dict[str, Path] = {"sup": repo}
        sup = self.cli("sup")
        assert sup("remote", "add", "origin", str(self.bare), "--create").code == 0
        done = sup("sync")
        assert done.code == 0, done.stderr

    def cli(self, worker: str, **env) -> Cli:
        return Cli({"CPCM_REPO": str(self.clones[worker]), "CPCM_IDENTITY": str(self.keys[worker][0]), "CPCM_NOW": NOW, **env})

    def laptop(self, worker: str) -> Cli:
        """A fresh clone of the remote for `worker`."""
        path = self.tmp / f"laptop-{worker}"
        subprocess.run(["git", "clone", "-q", str(self.bare), str(path)], check=True, capture_output=True)
        self.clones[worker] = path
        return self.cli(worker)

    def sync(self, worker: str) -> dict:
        done = self.cli(worker)("sync", "--json")
        assert done.code == 0, done.stderr
        return done.json()


@pytest.fixture
def laptops(repo, team, tmp_env):
    return Laptops(repo, team, tmp_env)


def tree_state(root: Path) -> tuple:
    """Everything a failed sync must leave as it was: the branch, the index, the files, the refs."""
    refs = git(root, "for-each-ref", "--format=%(refname) %(objectname)")
    index = git(root, "ls-files", "-s")
    files = sorted((str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*")
                   if p.is_file() and ".git" not in p.relative_to(root).parts[:1] and "cache" not in p.parts and p.name != "lock")
    return head(root), refs, index, files, git_status(root)


def no_markers(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(root).parts[:1]:
            data = path.read_bytes()
            assert b"<<<<<<<" not in data and b">>>>>>>" not in data, path


def check_codes(cli: Cli, case_id: str) -> list[str]:
    done = cli("check", case_id, "--json")
    return [p["code"] for p in json.loads(done.stdout)]


# -- remotes ---------------------------------------------------------------------------------------
def test_remote_add_list_remove(laptops):
    sup = laptops.cli("sup")
    listed = sup("remote", "list", "--json").json()
    assert [r["name"] for r in listed] == ["origin"] and listed[0]["last_synced"] == head(laptops.repo)
    assert sup("remote", "add", "origin", str(laptops.tmp / "x.git")).code == 4
    assert sup("remote", "add", "Bad Name", str(laptops.tmp / "x.git")).code == 2
    assert sup("remote", "remove", "origin").code == 0
    assert sup("remote", "list", "--json").json() == []
    assert sup("remote", "remove", "origin").code == 3
    assert sup("sync").code == 2  # no remote to sync with


def test_remote_list_on_a_copy_made_by_git_clone_says_it_never_synced(laptops):
    """`git clone` of the shared place leaves git's `origin` at the commit it copied: not a sync.
    remote list says never synced, and the commit it was copied at, until the first cpcm sync."""
    amina = laptops.laptop("amina")
    copied = head(laptops.clones["amina"])
    listed = amina("remote", "list", "--json").json()
    assert listed == [{"name": "origin", "url": str(laptops.bare), "last_synced": None, "copied_at": copied}]
    text = amina("remote", "list")
    assert text.code == 0 and f"never (copied at {copied[:10]}" in text.stdout, text.stdout
    assert amina("sync").code == 0  # nothing new on either side: a sync all the same
    listed = amina("remote", "list", "--json").json()
    assert listed[0]["last_synced"] == copied and listed[0]["copied_at"] is None
    assert "never" not in amina("remote", "list").stdout


def test_sync_without_a_name_on_a_copy_with_two_remotes_names_them(laptops):
    """The documented setup of a colleague's laptop (git clone of the shared place, then cpcm remote
    add usb) leaves two remotes, git's `origin` and `usb`: a sync without a name says which to give."""
    amina = laptops.laptop("amina")
    added = amina("remote", "add", "usb", str(laptops.bare) + "/")  # the same folder, written another way
    assert added.code == 0, added.stderr
    # said at once, not at the next sync: the clone's origin is that place already
    assert "warning: the remote 'origin' syncs with that place too" in added.stderr, added.stderr
    assert "cpcm remote remove origin" in added.stderr
    assert amina("remote", "add", "spare", str(laptops.tmp / "elsewhere.git"), "--create").stderr.count("warning") == 0
    assert amina("remote", "remove", "spare").code == 0
    refused = amina("sync")
    assert refused.code == 2
    assert "cpcm sync origin" in refused.stderr and "cpcm sync usb" in refused.stderr, refused.stderr
    assert "add one" not in refused.stderr
    assert amina("sync", "usb").code == 0


def test_git_clone_with_the_remote_named_as_the_docs_say_syncs_without_a_name(laptops):
    """docs/team.md: `git clone -o usb` of the stick gives one remote, `usb`: a plain sync works."""
    path = laptops.tmp / "laptop-otieno"
    subprocess.run(["git", "clone", "-q", "-o", "usb", str(laptops.bare), str(path)], check=True, capture_output=True)
    laptops.clones["otieno"] = path
    otieno = laptops.cli("otieno")
    assert [r["name"] for r in otieno("remote", "list", "--json").json()] == ["usb"]
    done = otieno("sync")
    assert done.code == 0, done.stderr


# -- sync round trips ------------------------------------------------------------------------------
def test_the_text_report_says_it_pushed_when_something_arrived_too(laptops):
    """A worker who wrote offline and syncs while others' records arrive is told that what they
    wrote left too (sync.md: a stick pulled out once the sync reports it pushed holds the push)."""
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    register(sup)
    laptops.sync("sup")
    register(amina)
    both = amina("sync")
    assert both.code == 0, both.stderr
    assert "1 record(s) in 1 case(s) arrived" in both.stderr and "pushed" in both.stderr, both.stderr
    only_in = sup("sync")  # amina's record arrives; the supervisor had nothing to send
    assert only_in.code == 0 and "arrived" in only_in.stderr and "pushed" not in only_in.stderr, only_in.stderr


def test_sync_round_trip_reports_what_arrived(laptops):
    amina = laptops.laptop("amina")
    case_id = register(amina)
    assert amina("followup", case_id, *VISIT).code == 0
    sent = laptops.sync("amina")
    assert sent["pushed"] and sent["commits"] == 0
    got = laptops.sync("sup")
    assert got["fast_forward"] and got["records"] == 2 and got["cases"] == [case_id] and got["by"] == {"amina": 2}
    assert head(laptops.repo) == head(laptops.clones["amina"])
    text = laptops.cli("sup")("sync")
    assert text.code == 0 and "nothing new arrived" in text.stderr
    assert "Test Child" not in json.dumps(got)


def test_a_sync_builds_the_keyring_of_both_teams_once(laptops, monkeypatch):
    """A sync that brings commits checked them against both copies' teams (`keyring`), then built the
    same keyring again to name a late signer's revocation; it is built once now, and used for both."""
    from cpcm.domain import team
    from cpcm.service import sync

    amina = laptops.laptop("amina")
    register(amina)
    laptops.sync("amina")
    built, made = [], team.keyring

    def keyring(*teams):
        built.append(len(teams))
        return made(*teams)

    monkeypatch.setattr(team, "keyring", keyring)
    if hasattr(sync, "keyring"):
        monkeypatch.setattr(sync, "keyring", keyring)
    got = laptops.sync("sup")
    assert got["fast_forward"] and got["records"] == 1
    assert built == [2], built


def test_offline_work_on_both_sides_merges_as_a_union(laptops, repo):
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    mine = register(amina)
    theirs = register(sup, "--worker", "otieno")
    laptops.sync("amina")
    merged = laptops.sync("sup")
    assert merged["merged"] and merged["cases"] == [mine]
    after = laptops.sync("amina")
    assert after["fast_forward"] and after["cases"] == [theirs]
    assert head(laptops.repo) == head(laptops.clones["amina"])
    assert git(repo, "log", "-1", "--format=%s").startswith("sync merge ")
    for root in (laptops.repo, laptops.clones["amina"]):
        assert git_status(root) == []
        no_markers(root)
    assert sup("verify").code == 0, sup("verify").stdout


def test_team_changes_on_both_sides_merge_by_worker(laptops, team, tmp_env):
    from conftest import make_identity

    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    keys = {w: make_identity(tmp_env / "keys" / f"{w}.txt") for w in ("njeri", "baraka")}
    assert sup("team", "add", "njeri", "--role", "caseworker", "--recipient", keys["njeri"]).code == 0
    laptops.sync("sup")
    # a second supervisor's copy, offline, adds another worker
    sup2 = laptops.laptop("otieno")  # any clone: the team file is plain; sup writes there too
    laptops.clones["sup"] = laptops.clones["otieno"]
    assert laptops.cli("sup")("team", "add", "baraka", "--role", "caseworker", "--recipient", keys["baraka"]).code == 0
    laptops.clones["sup"] = laptops.repo
    assert sup("team", "remove", "otieno").code == 0
    laptops.sync("sup")
    laptops.clones["sup"] = laptops.clones["otieno"]
    laptops.sync("sup")
    laptops.clones["sup"] = laptops.repo
    laptops.sync("sup")
    workers = {w["id"]: w for w in sup("team", "list", "--all", "--json").json()}
    assert set(workers) == {"sup", "amina", "otieno", "njeri", "baraka"} and workers["otieno"].get("removed")
    no_markers(laptops.repo)
    del amina, sup2


# -- a failed sync changes nothing -----------------------------------------------------------------
# a sync in a process whose check-out takes its two-process way (more paths than `remote.RESTORE_PATHS`)
TWO_PROCESSES = ("import runpy, sys; import cpcm.store.remote as remote; remote.RESTORE_PATHS = 0; sys.argv[0] = 'cpcm'; "
                 "runpy.run_module('cpcm', run_name='__main__')")


@pytest.mark.parametrize("step", ["git-fast-import", "git-restore", "git-restore-done", "sync-checked-out",
                                  "git-update-ref", "two:git-update-index-done", "two:git-checkout-index-done"])
def test_a_sync_that_fails_mid_merge_leaves_the_copy_as_it_was(laptops, step):
    amina = laptops.laptop("amina")
    register(amina)
    laptops.sync("amina")
    register(laptops.cli("sup"))
    before = tree_state(laptops.repo)
    if step.startswith("two:"):
        env = {**os.environ, **laptops.cli("sup").env, "CPCM_TEST_CRASH_AT": step[4:]}
        done = subprocess.run([sys.executable, "-c", TWO_PROCESSES, "sync"], env=env, capture_output=True, text=True)
        crashed = Result(done.returncode, done.stdout, done.stderr)
    else:
        crashed = laptops.cli("sup").process("sync", env={"CPCM_TEST_CRASH_AT": step})
    assert crashed.code != 0
    # the next command rolls back whatever the killed sync left
    assert laptops.cli("sup")("list", "--json").code == 0
    assert tree_state(laptops.repo) == before
    no_markers(laptops.repo)
    again = laptops.sync("sup")
    assert again["merged"]


def test_a_sync_killed_while_git_set_its_fetched_ref_leaves_a_lock_the_next_sync_removes(laptops):
    """`timeout -s KILL` kills git with cpcm: a `git update-ref` of the fetched ref killed halfway
    leaves `.git/refs/cpcm/incoming.lock`, which made every later fetch fail as "cannot reach
    remote". The next command's recovery removes it with the rest of what the sync left."""
    amina = laptops.laptop("amina")
    register(amina)
    laptops.sync("amina")
    crashed = laptops.cli("sup").process("sync", env={"CPCM_TEST_CRASH_AT": "carry-checked"})
    assert crashed.code != 0
    lock = laptops.repo / ".git" / "refs" / "cpcm" / "incoming.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(head(laptops.repo) + "\n")  # what git's killed update-ref leaves
    assert laptops.sync("sup")["records"] == 1
    assert not lock.exists()


def test_a_lock_of_cpcms_own_ref_left_without_a_write_note_is_removed_by_the_next_sync_or_bundle_apply(laptops, tmp_env):
    """No git but cpcm's, holding the repository lock, writes `refs/cpcm/*`: a `.lock` of one found
    then is a killed command's, whatever note it left."""
    amina = laptops.laptop("amina")
    register(amina)
    bundle = tmp_env / "amina.cpcm-bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    laptops.sync("amina")
    lock = laptops.repo / ".git" / "refs" / "cpcm" / "incoming.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(head(laptops.repo) + "\n")
    applied = laptops.cli("sup")("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json()["commits"] and not lock.exists()
    lock.write_text(head(laptops.repo) + "\n")
    laptops.sync("sup")
    assert not lock.exists()


def test_a_ref_lock_cpcm_does_not_remove_is_named_by_its_ref_not_its_path(laptops):
    """A `.lock` of a ref outside cpcm's own (the remote's last-synced branch): the sync says which
    ref is locked and which file to remove, within `.git`, never the folder's path (it may hold a
    name), and not git's last line ("remove the file manually to continue"), nor an unreachable remote."""
    amina = laptops.laptop("amina")
    register(amina)
    laptops.sync("amina")
    lock = laptops.repo / ".git" / "refs" / "remotes" / "origin" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(head(laptops.repo) + "\n")
    failed = laptops.cli("sup")("sync")
    assert failed.code == 6
    assert "ref refs/remotes/origin/main of the casefile repository is locked" in failed.stderr, failed.stderr
    assert ".git/refs/remotes/origin/main.lock" in failed.stderr and str(laptops.tmp) not in failed.stderr
    assert "cannot reach" not in failed.stderr and "manually" not in failed.stderr


def test_a_copy_cloned_by_a_git_that_converts_line_endings_writes_and_syncs(laptops):
    """A person's git set to convert line endings (`core.autocrlf`, Git for Windows' default) clones the
    team's repository: `.gitattributes` (`* -text`) keeps every file as committed, so nothing looks edited
    by hand and the copy writes and syncs."""
    path = laptops.tmp / "laptop-amina"
    subprocess.run(["git", "-c", "core.autocrlf=true", "clone", "-q", str(laptops.bare), str(path)], check=True,
                   capture_output=True)
    git(path, "config", "core.autocrlf", "true")
    laptops.clones["amina"] = path
    assert b"\r\n" not in (path / ".cpcm" / "team.yaml").read_bytes()
    amina = laptops.cli("amina")
    case = register(amina)
    assert laptops.sync("amina")
    assert git_status(path) == [] and b"\r\n" not in (case_dir(path, case) / "recipients").read_bytes()
    laptops.sync("sup")                                              # the supervisor's copy reads it
    assert case in {row["case_id"] for row in laptops.cli("sup")("list", "--json").json()}


def test_a_sync_over_files_a_git_converted_says_it_is_the_line_endings(laptops):
    """A copy whose git converted a `recipients` file's line endings (a repository made before `* -text`): the sync
    that would update it stops, changes nothing, and says it is the line endings and the way out."""
    from cpcm.errors import LINE_ENDINGS_HINT

    amina, sup, case_id = shared_case(laptops)
    assert sup("assign", case_id, "--worker", "otieno").code == 0     # its readers change
    laptops.sync("sup")
    recipients = case_dir(laptops.clones["amina"], case_id) / "recipients"
    recipients.write_bytes(recipients.read_bytes().replace(b"\n", b"\r\n"))
    before = tree_state(laptops.clones["amina"])
    refused = amina("sync", "--json")
    assert refused.code != 0 and "only in their line endings" in refused.json()["message"], refused.stdout
    assert refused.json()["hint"] == LINE_ENDINGS_HINT
    assert tree_state(laptops.clones["amina"]) == before
    git(laptops.clones["amina"], "rm", "-r", "-q", "--cached", ".")        # every file back as committed, as it says
    git(laptops.clones["amina"], "reset", "-q", "--hard")
    assert laptops.sync("amina")["records"] >= 1


def test_a_settings_conflict_refuses_and_changes_nothing(laptops):
    amina = laptops.laptop("amina")
    for root, value in ((laptops.clones["amina"], 30), (laptops.repo, 12)):
        (root / ".cpcm" / "policy.yaml").write_text(f"caseload:\n  cap: {value}\n")
        signed_commit(root, "sup", "policy", ".cpcm/policy.yaml", key=laptops.keys["sup"][0])
    laptops.sync("amina")
    before = tree_state(laptops.repo)
    refused = laptops.cli("sup")("sync")
    assert refused.code == 4 and "caseload.cap" in refused.stderr
    assert tree_state(laptops.repo) == before
    del amina


# -- bundles ---------------------------------------------------------------------------------------
def test_bundle_round_trip_and_applying_twice(laptops, tmp_env):
    amina = laptops.laptop("amina")
    case_id = register(amina)
    bundle = tmp_env / "usb" / "amina.bundle"
    bundle.parent.mkdir()
    made = amina("bundle", "create", str(bundle), "--json")
    assert made.code == 0, made.stderr
    assert b"Test Child" not in bundle.read_bytes() and bundle.read_bytes().startswith(b"age-encryption.org/v1")
    sup = laptops.cli("sup")
    first = sup("bundle", "apply", str(bundle), "--json")
    assert first.code == 0, first.stderr
    assert first.json()["cases"] == [case_id]
    state = tree_state(laptops.repo)
    second = sup("bundle", "apply", str(bundle), "--json")
    assert second.code == 0 and second.json()["commits"] == 0
    assert tree_state(laptops.repo) == state
    # --since: only what came after
    since = head(laptops.clones["amina"])
    register(amina)
    small = tmp_env / "usb" / "since.bundle"
    assert amina("bundle", "create", str(small), "--since", since).code == 0
    assert small.stat().st_size < bundle.stat().st_size
    assert sup("bundle", "apply", str(small), "--json").json()["records"] == 1


def test_bundle_create_since_the_last_commit_writes_nothing_and_says_so_exit_0(laptops, tmp_env):
    """Nothing after --since to carry: exit 6 ('busy / git failed') said so as a failure of git;
    nothing new is no failure. Exit 0, no file written, a message (and --json) saying so."""
    amina = laptops.laptop("amina")
    register(amina)
    since = head(laptops.clones["amina"])
    bundle = tmp_env / "usb" / "none.bundle"
    bundle.parent.mkdir()
    made = amina("bundle", "create", str(bundle), "--since", since)
    assert made.code == 0, made.stderr
    assert "no commit after --since" in made.stderr and "no bundle written" in made.stderr, made.stderr
    assert not bundle.exists()
    as_json = amina("bundle", "create", str(bundle), "--since", since, "--json")
    assert as_json.code == 0 and as_json.json()["written"] is False and as_json.json()["bytes"] == 0, as_json.stdout
    assert not bundle.exists()
    register(amina)  # a commit after it: a bundle again
    again = amina("bundle", "create", str(bundle), "--since", since, "--json")
    assert again.code == 0 and again.json()["written"] is True and bundle.exists(), again.stderr
    # a script that reuses one file name: nothing new is no failure, the file there left as it is; something new
    # and the file there is refused as before (--force replaces it)
    kept = bundle.read_bytes()
    latest = head(laptops.clones["amina"])
    nothing = amina("bundle", "create", str(bundle), "--since", latest)
    assert nothing.code == 0 and "no bundle written" in nothing.stderr and bundle.read_bytes() == kept, nothing.stderr
    refused = amina("bundle", "create", str(bundle), "--since", since)
    assert refused.code == 2 and "already exists" in refused.stderr and bundle.read_bytes() == kept, refused.stderr
    nowhere = amina("bundle", "create", str(tmp_env / "not-mounted" / "x.bundle"), "--since", latest)  # a stick not there
    assert nowhere.code == 2 and "does not exist" in nowhere.stderr, nowhere.stderr


def test_a_bundle_made_after_the_worker_was_removed_names_the_removal(laptops, tmp_env):
    """A worker removed on the supervisor's copy, whose laptop has not heard of it, applies a bundle
    made since: the refusal named another team or joining late, and said to ask for a new bundle
    once the supervisor's copy lists him, which it never will. It names the removal among the
    reasons, and what to do then. A copy whose team lists him removed says he was removed, where it
    said to ask a supervisor to add him (a worker id is never used again)."""
    otieno = laptops.laptop("otieno")
    sup = laptops.cli("sup")
    assert sup("team", "remove", "otieno").code == 0
    bundle = tmp_env / "after.bundle"
    assert sup("bundle", "create", str(bundle)).code == 0
    refused = otieno("bundle", "apply", str(bundle))
    assert refused.code == 4 and "after you were removed from it" in refused.stderr, refused.stderr
    assert "no bundle will be made for you" in refused.stderr and "A worker removed on another copy" in refused.stderr
    # his copy told of the removal (its team file lists him removed)
    sup_there = Cli({**otieno.env, "CPCM_IDENTITY": str(laptops.keys["sup"][0])})
    assert sup_there("team", "remove", "otieno").code == 0
    here = otieno("bundle", "apply", str(bundle))
    assert here.code == 5 and "you (otieno) were removed from the team" in here.stderr, here.stderr
    assert "under a new id" in here.stderr and "cpcm team add" not in here.stderr


def test_a_bundle_for_another_team_is_refused(laptops, tmp_env):
    from conftest import make_identity

    outsider = tmp_env / "keys" / "outsider.txt"
    make_identity(outsider)
    bundle = tmp_env / "b.bundle"
    assert laptops.cli("sup")("bundle", "create", str(bundle)).code == 0
    refused = laptops.cli("sup", CPCM_IDENTITY=str(outsider))("bundle", "apply", str(bundle))
    assert refused.code != 0


def test_a_note_to_the_readers_of_before_in_a_bundle_the_new_worker_applies_says_the_whole_case_is_left_out(laptops, tmp_env):
    """Amina writes a note on her copy on a case the supervisor has since handed to otieno, and otieno applies
    her bundle: the note is encrypted to the readers amina knew, not to him, and stays so (he cannot read it).
    The bundle's warning said only that the case needs re-encrypting, and list, due and check named one file
    'left out', while the whole case, its deadlines with it, was gone from them. The warning says the case is
    left out of his list and due until then; each problem line names the case, says the whole case is left out
    and what puts it right; show's refusal names the case. A supervisor's sync puts it right, as they say."""
    from test_key_rotate import reads

    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    laptops.sync("sup")
    assert amina("note", case_id, "--text", "called the aunt").code == 0  # on her copy: to sup and amina
    note = sorted(case_dir(laptops.clones["amina"], case_id).glob("*.note.yaml.age"))[-1].name
    sup = laptops.cli("sup")
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    laptops.sync("sup")
    otieno = laptops.laptop("otieno")
    assert case_id in {item["case_id"] for item in otieno("due", "--json").json()}  # its initial assessment
    bundle = tmp_env / "amina.bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    applied = otieno("bundle", "apply", str(bundle))
    assert applied.code == 0, applied.stderr
    assert (f"need re-encrypting by someone who can read them (their next sync, or cpcm team sync); until then, where "
            f"you are not among a record's readers, its whole case is left out of your cpcm list and cpcm due: {case_id}"
            ) in applied.stderr, applied.stderr
    assert not reads(case_dir(laptops.clones["otieno"], case_id) / note, laptops.keys["otieno"][0])
    line = (f"problem: {case_id}: {case_rel(case_id)}/{note} is not encrypted to your key; the whole case, with its "
            f"deadlines, is left out of your cpcm list, due and check until it is: a colleague who reads it encrypts it "
            f"to your key at their next cpcm sync (or a supervisor with cpcm team sync); then sync again (cpcm show "
            f"{case_id} says why)")
    for argv in (("list",), ("due",), ("check",)):
        done = otieno(*argv)
        assert done.code == 1 and case_id not in done.stdout, (argv, done.stdout)
        assert done.stderr.strip().splitlines() == [line], (argv, done.stderr)
    shown = otieno("show", case_id)
    assert shown.code == 5 and f"You read {case_id}, but this record" in shown.stderr, shown.stderr
    assert "the whole case, with its deadlines, is left out of your cpcm list, due and check" in shown.stderr
    laptops.sync("otieno")  # the note reaches the supervisor, who reads it and re-encrypts it
    assert case_id in laptops.sync("sup")["reencrypted"]
    laptops.sync("otieno")
    assert reads(case_dir(laptops.clones["otieno"], case_id) / note, laptops.keys["otieno"][0])
    listed = otieno("list")
    assert listed.code == 0 and case_id in listed.stdout, listed.stderr


def test_bundle_clone__a_new_laptop_starts_its_copy_from_a_bundle_and_exchanges_bundles(laptops, tmp_env):
    from conftest import make_identity

    sup = laptops.cli("sup")
    case_id = register(sup)
    usb = tmp_env / "usb"
    usb.mkdir()
    made = sup("bundle", "create", str(usb / "office.bundle"))
    assert made.code == 0 and "cpcm bundle clone FILE PATH" in made.stderr  # the new laptop's command is named
    copy = tmp_env / "amina-copy"
    cloned = Cli({"CPCM_IDENTITY": str(laptops.keys["amina"][0]), "CPCM_NOW": NOW})(
        "bundle", "clone", str(usb / "office.bundle"), str(copy), "--json")
    assert cloned.code == 0, cloned.stderr
    assert cloned.json() == {"commit": head(laptops.repo), "cases": 1, "worker": "amina"}
    assert git_status(copy) == [] and str(copy) not in cloned.stdout
    laptops.clones["amina"] = copy
    amina = laptops.cli("amina")
    assert amina("verify").code == 0
    mine = register(amina)
    assert amina("bundle", "create", str(usb / "amina.bundle")).code == 0
    back = sup("bundle", "apply", str(usb / "amina.bundle"), "--json")
    assert back.code == 0 and back.json()["cases"] == [mine], back.stderr
    assert sup("show", mine).code == 0 and case_id != mine
    # refused, leaving no folder: not for this key; a folder in use; a bundle made --since
    outsider = tmp_env / "keys" / "outsider.txt"
    make_identity(outsider)
    stranger = Cli({"CPCM_IDENTITY": str(outsider), "CPCM_NOW": NOW})("bundle", "clone", str(usb / "office.bundle"),
                                                                      str(tmp_env / "x"))
    assert stranger.code == 4 and not (tmp_env / "x").exists()
    assert laptops.cli("amina")("bundle", "clone", str(usb / "office.bundle"), str(copy)).code == 4
    since = amina("bundle", "create", str(usb / "since.bundle"), "--since", cloned.json()["commit"])
    assert since.code == 0 and "bundle clone" not in since.stderr
    partial = laptops.cli("amina")("bundle", "clone", str(usb / "since.bundle"), str(tmp_env / "y"))
    assert partial.code == 6 and "without --since" in partial.stderr and not (tmp_env / "y").exists()


# -- what a merge finds: each conflict kind, built deterministically -------------------------------
def shared_case(laptops) -> tuple[Cli, Cli, str]:
    """amina's laptop and sup's copy, both holding one case of amina's."""
    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    laptops.sync("sup")
    return amina, laptops.cli("sup"), case_id


def merge_both(laptops) -> dict:
    """amina pushes, sup merges and pushes, amina takes the merge: both copies end identical."""
    laptops.sync("amina")
    merged = laptops.sync("sup")
    laptops.sync("amina")
    assert head(laptops.repo) == head(laptops.clones["amina"])
    for root in laptops.clones.values():
        no_markers(root)
        assert git_status(root) == []
    return merged


def folded(laptops, worker: str, case_id: str):
    from cpcm import service

    return service.load_case(service.open_repo(laptops.clones[worker], laptops.keys[worker][0]), case_id)


CLOSE = ("--reason", "registered_in_error", "--check", "error_confirmed")


def test_two_closures_written_apart(laptops):
    amina, sup, case_id = shared_case(laptops)
    assert sup("close", case_id, *CLOSE).code == 0
    assert amina("close", case_id, *CLOSE).code == 0  # the later one: the closure the case waits on
    merged = merge_both(laptops)
    assert [c["code"] for c in merged["conflicts"]] == ["two-closures"]
    assert "two-closures" in check_codes(sup, case_id)
    assert "two-closures" in check_codes(amina, case_id)
    assert sup("approve", case_id, "closure").code == 0  # the supervisor settles it with an ordinary decision
    assert "two-closures" not in check_codes(sup, case_id)
    assert sup("verify").code == 0, sup("verify").stdout


def due_codes(cli: Cli, case_id: str) -> list[str]:
    done = cli("due", "--worker", "all", "--within", "400", "--json")
    assert done.code == 0, done.stderr
    return [item["code"] for item in done.json() if item["case_id"] == case_id]


def test_two_closure_requests_written_apart__withdrawing_one_leaves_the_other_waiting_and_settles_the_conflict(laptops, team):
    """amina asks for the closure of her case on the office copy and again on her laptop, apart.
    The merge keeps both; she sees the warning and takes one back: the other still waits for the
    supervisor, the conflict is over (check says nothing of it), and the supervisor decides it."""
    amina, sup, case_id = shared_case(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    assert amina_office("close", case_id, *CLOSE).code == 0
    assert amina("close", case_id, *CLOSE).code == 0
    merged = merge_both(laptops)
    first, later = merged["conflicts"][0]["records"]
    assert [c["code"] for c in merged["conflicts"]] == ["two-closures"]
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "two-closures")
    assert f"cpcm close {case_id} --withdraw" in advice  # the advice names the way out
    assert "closure-approval" in due_codes(sup, case_id)
    withdrawn = amina("close", case_id, "--withdraw", "--reason", "asked twice, on two copies", "--json")
    assert withdrawn.code == 0, withdrawn.stderr
    steps = " ".join(withdrawn.json().get("next_steps") or ()) + withdrawn.stderr
    assert "still waits" in steps and "settles the sync conflict (two-closures)" in steps
    assert len(settling_said(withdrawn, "two-closures")) == 1, withdrawn.json()
    assert "two-closures" not in check_codes(amina, case_id)
    laptops.sync("amina")
    laptops.sync("sup")
    assert "two-closures" not in check_codes(sup, case_id)
    everywhere = json.loads(sup("check", "--json").stdout)  # over every case, as the supervisor's morning check
    # the second request was out of order only while the first waited too: nothing is left to say of it
    assert [p["code"] for p in everywhere if p.get("case_id") == case_id] == []
    case = folded(laptops, "amina", case_id)
    assert (case.stage, case.closure["record_id"], case.closure["by"]) == ("closure_requested", first, "amina")
    assert "closure-approval" in due_codes(sup, case_id)  # the request left still waits for the supervisor
    assert sup("approve", case_id, "closure").code == 0
    case = folded(laptops, "sup", case_id)
    assert (case.status, case.closure["record_id"]) == ("closed", first)
    assert sup("verify").code == 0, sup("verify").stdout
    del later


def test_two_closure_requests_of_two_workers__either_takes_back_their_own_and_the_other_stands(laptops):
    """The supervisor asked for the closure on his copy, amina on her laptop (the later one, which
    the case waits on). The supervisor's own, under hers, is still his to take back."""
    amina, sup, case_id = shared_case(laptops)
    assert sup("close", case_id, *CLOSE).code == 0
    assert amina("close", case_id, *CLOSE).code == 0
    merge_both(laptops)
    assert "two-closures" in check_codes(sup, case_id)
    withdrawn = sup("close", case_id, "--withdraw", "--reason", "amina asked for it too")
    assert withdrawn.code == 0, withdrawn.stderr
    assert "settles the sync conflict (two-closures)" in withdrawn.stdout + withdrawn.stderr
    assert len(settling_said(withdrawn, "two-closures")) == 1, withdrawn.stderr
    assert "two-closures" not in check_codes(sup, case_id)
    case = folded(laptops, "sup", case_id)
    assert (case.stage, case.closure["by"]) == ("closure_requested", "amina")
    again = sup("close", case_id, "--withdraw", "--reason", "again", "--json")  # hers is not his to take back
    assert again.code == 4 and again.json()["rule"] == "withdraw-own-only"


def test_a_closure_approved_before_the_merge_closes_the_case_on_the_request_it_approved(laptops, team):
    """amina asked for the closure on the office copy, and again on her laptop for another reason;
    the supervisor approved the office one before the copies met. After the merge the case is
    closed on the request he approved (its reason), not on the later one nobody decided."""
    amina, sup, case_id = shared_case(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    assert amina_office("close", case_id, *CLOSE).code == 0
    approved = folded(laptops, "sup", case_id).closure["record_id"]
    assert amina("close", case_id, "--reason", "transferred", "--check", "all").code == 0, "the later request"
    assert sup("approve", case_id, "closure").code == 0  # of the office request, the one his copy holds
    merge_both(laptops)
    for worker in ("sup", "amina"):
        case = folded(laptops, worker, case_id)
        assert (case.status, case.closure["record_id"], case.closure["approved"]) == ("closed", approved, True)
        assert case.closure["reason"] == "registered_in_error" and "closed.transferred" not in case.events
    assert sup("verify").code == 0, sup("verify").stdout


def test_a_closure_asked_apart_after_the_case_was_closed_on_the_other_copy_leaves_it_closed_on_the_one_approved(laptops, team):
    """The supervisor approved the office closure request; amina, on her laptop, asked for the
    closure again after that (later in record order). After the merge the case is still closed, on
    the request he approved (its reason, his approval): the later request is out of order and the
    two closures are a conflict, settled by a reopening or a note."""
    amina, sup, case_id = shared_case(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    assert amina_office("close", case_id, *CLOSE).code == 0
    assert sup("approve", case_id, "closure").code == 0
    approved = folded(laptops, "sup", case_id).closure["record_id"]
    assert amina("close", case_id, "--reason", "transferred", "--check", "all").code == 0, "the later request"
    merged = merge_both(laptops)
    assert [c["code"] for c in merged["conflicts"]] == ["two-closures"]
    for worker in ("sup", "amina"):
        case = folded(laptops, worker, case_id)
        assert (case.status, case.closure["record_id"], case.closure["approved"], case.closure["reason"]) == \
            ("closed", approved, True, "registered_in_error")
    assert sorted(check_codes(sup, case_id)) == ["transition-out-of-order", "two-closures"]
    assert sup("note", case_id, "--text", "closed on the office request, as approved").code == 0
    assert check_codes(sup, case_id) == [] and folded(laptops, "sup", case_id).status == "closed"


def _decided_apart(laptops, team, subject: str, first: str):
    """amina's request of `subject` (a closure, or a plan version), on both copies; the supervisor
    decides it on the office copy (`first`: approve or reject) and, not knowing, the other way on
    amina's laptop; merged both ways: (amina, sup, case_id, the merge's conflicts)."""
    amina, sup, case_id = shared_case(laptops)
    if subject == "closure":
        assert amina("close", case_id, *CLOSE).code == 0
    else:
        assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    decide = {"approve": ("approve", case_id, subject), "reject": ("reject", case_id, subject, "--note", "not yet")}
    assert sup(*decide[first]).code == 0
    assert sup_away(*decide["reject" if first == "approve" else "approve"]).code == 0
    return amina, sup, case_id, merge_both(laptops)["conflicts"]


def _decisions(cli: Cli, case_id: str) -> list[str]:
    return [e["record_id"] for e in cli("log", case_id, "--json").json() if e["kind"] in ("approval", "rejection")]


def test_a_closure_approved_on_one_copy_and_rejected_on_the_other_is_a_conflict__the_first_stands(laptops, team):
    amina, sup, case_id, conflicts = _decided_apart(laptops, team, "closure", "approve")
    decisions = _decisions(sup, case_id)
    assert [(c["code"], c["records"]) for c in conflicts] == [("decisions-concurrent", decisions)] and len(decisions) == 2
    for worker in ("sup", "amina"):
        case = folded(laptops, worker, case_id)
        assert (case.status, case.closure["approved"], case.anomalies) == ("closed", True, (decisions[1],))
    assert sorted(check_codes(sup, case_id)) == ["decisions-concurrent", "transition-out-of-order"]
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "decisions-concurrent")
    assert f"the first in the records' order stands (the approval, {decisions[0]}); the later ({decisions[1]}) decided nothing" in advice
    assert f"cpcm reopen {case_id} --reason" in advice and f"cpcm note {case_id}" in advice
    assert "cpcm transfer" not in advice and "cpcm plan" not in advice  # a closure decided: only what undoes a closure
    assert sup("note", case_id, "--text", "closed as approved: the rejection was made on a stale copy").code == 0
    assert check_codes(sup, case_id) == [] and folded(laptops, "sup", case_id).status == "closed"


def test_a_plan_version_rejected_on_one_copy_and_approved_on_the_other_is_a_conflict__the_first_stands(laptops, team):
    amina, sup, case_id, conflicts = _decided_apart(laptops, team, "plan", "reject")
    decisions = _decisions(sup, case_id)
    assert [(c["code"], c["records"]) for c in conflicts] == [("decisions-concurrent", decisions)]
    plan = folded(laptops, "sup", case_id).plan
    assert (bool(plan["rejected_at"]), plan["approved_at"]) == (True, None)
    assert {"decisions-concurrent", "transition-out-of-order", "plan-not-approved"} <= set(check_codes(amina, case_id))
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "decisions-concurrent")
    assert f"(the rejection, {decisions[0]})" in advice and f"cpcm plan {case_id} --from-current --reason" in advice
    assert "cpcm close" not in advice and "cpcm transfer" not in advice and "AGENCY" not in advice, advice  # a plan decided
    assert sup("note", case_id, "--text", "rejected: amina writes the next version").code == 0
    assert not {"decisions-concurrent", "transition-out-of-order"} & set(check_codes(sup, case_id))


def test_a_closure_rejected_before_the_merge_leaves_the_other_request_waiting(laptops, team):
    """The supervisor rejected amina's request on her laptop; the office copy holds an earlier one
    of hers nobody decided. After the merge that one still waits for the supervisor: the rejection
    was of the other request, and it is no conflict (one closure stands on each side no more)."""
    amina, sup, case_id = shared_case(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert amina_office("close", case_id, *CLOSE).code == 0
    waiting = folded(laptops, "sup", case_id).closure["record_id"]
    assert amina("close", case_id, *CLOSE).code == 0
    assert sup_away("reject", case_id, "closure", "--note", "the visits are not done").code == 0
    merged = merge_both(laptops)
    assert merged["conflicts"] == []
    assert check_codes(sup, case_id) == []
    case = folded(laptops, "sup", case_id)
    assert (case.stage, case.closure["record_id"], case.closure["decided_at"]) == ("closure_requested", waiting, None)
    assert "closure-approval" in due_codes(sup, case_id)
    assert sup("approve", case_id, "closure").code == 0
    assert (folded(laptops, "sup", case_id).status, folded(laptops, "sup", case_id).closure["record_id"]) == ("closed", waiting)


def test_two_closure_requests_merged__rejecting_the_one_decided_leaves_the_other_waiting_and_settles_the_conflict(laptops, team):
    """After the merge the supervisor rejects the request the case waits on (the later): that is a
    decision of that request only. The earlier one waits again, he is told so, and one closure
    standing, the conflict is over."""
    amina, sup, case_id = shared_case(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    assert amina_office("close", case_id, *CLOSE).code == 0
    assert amina("close", case_id, *CLOSE).code == 0
    first, later = merge_both(laptops)["conflicts"][0]["records"]
    rejected = sup("reject", case_id, "closure", "--note", "asked twice", "--json")
    assert rejected.code == 0, rejected.stderr
    steps = " ".join(rejected.json().get("next_steps") or ())
    assert "the closure requested by amina still waits" in steps and "settles the sync conflict (two-closures)" in steps
    assert len(settling_said(rejected, "two-closures")) == 1, rejected.json()
    case = folded(laptops, "sup", case_id)
    assert (case.stage, case.closure["record_id"], case.closure["decided_at"]) == ("closure_requested", first, None)
    assert check_codes(sup, case_id) == [] and "closure-approval" in due_codes(sup, case_id)
    del later


def test_a_closure_withdrawn_on_its_own_copy_before_the_sync_is_no_conflict(laptops, team):
    """The supervisor asked for the closure on his copy and took it back there before the sync;
    amina asked on her laptop. One closure stands: the sync finds nothing to settle, hers waits,
    and check has nothing to say of the case."""
    amina, sup, case_id = shared_case(laptops)
    assert sup("close", case_id, *CLOSE).code == 0
    assert amina("close", case_id, *CLOSE).code == 0
    assert sup("close", case_id, "--withdraw", "--reason", "amina is asking for it").code == 0
    merged = merge_both(laptops)
    assert merged["conflicts"] == []
    assert check_codes(sup, case_id) == [] and check_codes(amina, case_id) == []
    case = folded(laptops, "sup", case_id)
    assert (case.stage, case.closure["by"], case.closure["decided_at"]) == ("closure_requested", "amina", None)
    assert "closure-approval" in due_codes(sup, case_id)


def test_two_closures_approved_apart_stay_a_conflict_until_a_reopening_or_a_note(laptops, team):
    """Both copies closed the case, each with a supervisor's approval: nothing waits, nothing can be
    withdrawn, and the warning says what settles it now."""
    amina, sup, case_id = shared_case(laptops)
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    assert amina_office("close", case_id, *CLOSE).code == 0 and sup("approve", case_id, "closure").code == 0
    assert amina("close", case_id, *CLOSE).code == 0 and sup_away("approve", case_id, "closure").code == 0
    merge_both(laptops)
    assert folded(laptops, "sup", case_id).status == "closed"
    refused = amina("close", case_id, "--withdraw", "--reason", "asked twice", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "nothing-to-approve"
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "two-closures")
    assert "the case is closed" in advice and f"cpcm reopen {case_id}" in advice and "approve" not in advice
    assert "transition-out-of-order" in check_codes(sup, case_id)  # the later closure and its approval, on a closed case
    assert sup("note", case_id, "--text", "closed twice, for the same reason").code == 0
    assert check_codes(sup, case_id) == []  # the conflict that explained them is settled: nothing is left to say


def test_a_closure_request_taken_back_settles_the_records_written_apart_while_it_waited(laptops, team):
    """amina asked for the closure on her laptop while a visit was recorded on the office copy:
    she takes the request back, the case stays open, and the visit fits: the conflict is over."""
    amina, sup, case_id = shared_case(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    assert amina("close", case_id, *CLOSE).code == 0
    assert amina_office("followup", case_id, *VISIT).code == 0
    merged = merge_both(laptops)
    assert [c["code"] for c in merged["conflicts"]] == ["record-after-closure"]
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "record-after-closure")
    assert f"cpcm close {case_id} --withdraw" in advice
    withdrawn = amina("close", case_id, "--withdraw", "--reason", "the family still needs visits")
    assert withdrawn.code == 0, withdrawn.stderr
    assert "settles the sync conflict (record-after-closure)" in withdrawn.stdout + withdrawn.stderr
    assert len(settling_said(withdrawn, "record-after-closure")) == 1, withdrawn.stderr
    assert "record-after-closure" not in check_codes(amina, case_id)
    merge_both(laptops)
    assert "record-after-closure" not in check_codes(sup, case_id)
    assert folded(laptops, "sup", case_id).stage != "closure_requested"


def test_a_conflict_found_by_another_copys_merge_is_reported_where_it_arrives(laptops):
    """The supervisor's closure reaches the shared place first; amina's sync finds the two
    closures and records the conflict in its merge commit. The supervisor, who settles it, learns
    of it at their next sync: the record the merge added is counted, its case listed, its
    conflict named (as on the copy that found it)."""
    amina, sup, case_id = shared_case(laptops)
    assert sup("close", case_id, *CLOSE).code == 0
    laptops.sync("sup")
    assert amina("close", case_id, *CLOSE).code == 0
    found = laptops.sync("amina")
    assert [c["code"] for c in found["conflicts"]] == ["two-closures"] and found["merged"]
    arrived = sup("sync", "--json")
    assert arrived.code == 0, arrived.stderr
    report = arrived.json()
    assert report["fast_forward"] and report["records"] == 2 and report["cases"] == [case_id]  # her closure, the conflict
    assert report["conflicts"] == found["conflicts"]
    # settled on the supervisor's copy, and reported no more when it travels on
    assert sup("approve", case_id, "closure").code == 0
    laptops.sync("sup")
    again = laptops.sync("amina")
    assert again["cases"] == [case_id] and again["conflicts"] == []


def test_the_text_report_names_a_conflict_that_arrived(laptops):
    amina, sup, case_id = shared_case(laptops)
    assert sup("close", case_id, *CLOSE).code == 0
    laptops.sync("sup")
    assert amina("close", case_id, *CLOSE).code == 0
    laptops.sync("amina")
    text = sup("sync")
    assert text.code == 0, text.stderr
    assert f"warning: {case_id}: two-closures (" in text.stderr and f"see cpcm check {case_id}" in text.stderr


def test_log_names_the_merge_commit_and_its_signer_for_a_record_the_merge_added(laptops):
    amina, sup, case_id = shared_case(laptops)
    assert sup("close", case_id, *CLOSE).code == 0
    assert amina("close", case_id, *CLOSE).code == 0
    merge_both(laptops)
    merge = git(laptops.repo, "log", "-1", "--merges", "--format=%H").strip()
    for cli in (sup, amina):  # on the copy that merged and on the one that took the merge
        entries = cli("log", case_id, "--json").json()
        conflict = next(e for e in entries if e["kind"] == "sync_conflict")
        assert (conflict["commit"], conflict["signed_by"], conflict["signature"]) == (merge, "sup", "good")
        assert conflict["message"].startswith("sync merge ")
        # the records each copy wrote keep their own commits, not the merge
        closures = [e for e in entries if e["kind"] == "closure"]
        assert len(closures) == 2 and all(e["commit"] != merge and e["signature"] == "good" for e in closures)
        assert {e["signed_by"] for e in closures} == {"sup", "amina"}
        text = cli("log", case_id).stdout
        assert "uncommitted" not in text and f"{merge[:10]}\tsup, good" in text
    assert git_status(laptops.repo) == []


def test_a_followup_written_offline_after_another_closed_the_case(laptops):
    """The supervisor approves amina's closure on one copy while amina, on hers, writes a follow-up: a conflict,
    record-after-closure, until a note. `check` names the follow-up as the record written on one copy and the closure's
    approval as the other copy's (it was named among the records written while the case was closed, before)."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("close", case_id, *CLOSE).code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    approval = sup("approve", case_id, "closure", "--json")  # the case is closed on the supervisor's copy
    assert approval.code == 0, approval.stderr
    followup = amina("followup", case_id, *VISIT, "--json")  # and visited, on amina's, not knowing
    assert followup.code == 0, followup.stderr
    merged = merge_both(laptops)
    assert [c["code"] for c in merged["conflicts"]] == ["record-after-closure"]
    shown = sup("show", case_id, "--json").json()
    assert "followup" in [e["kind"] for e in shown["history"]]  # nothing dropped
    assert "record-after-closure" in check_codes(sup, case_id)
    [said] = [p["message"] for p in sup("check", case_id, "--json").json() if p["code"] == "record-after-closure"]
    # (the closure request came to both copies before they went apart: only its approval was written apart)
    assert (f"records were written on one copy ({followup.json()['record_id']}) while the case was closed on another "
            f"({approval.json()['record_id']}), and it stays closed") in said, said
    assert sup("note", case_id, "--text", "seen: the visit was before the closure").code == 0
    assert "record-after-closure" not in check_codes(sup, case_id)


def test_approving_a_plan_that_has_not_arrived_yet_says_to_sync_first(laptops):
    amina, sup, case_id = shared_case(laptops)
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    laptops.sync("amina")
    early = sup("approve", case_id, "plan", "--json")
    assert early.code == 4 and early.json()["rule"] == "nothing-to-approve"
    assert early.json()["hint"].startswith("A plan written on another copy arrives with a sync: cpcm sync, then decide it")
    laptops.sync("sup")
    assert sup("approve", case_id, "plan").code == 0


def test_approving_ones_own_plan_names_its_version_and_that_a_later_one_may_be_on_another_copy(laptops):
    """The supervisor's own version waits here (the interim plan a conference close writes, say) while the
    worker's later one is on her laptop: the refusal names the version it is about, and the sync."""
    amina, sup, case_id = shared_case(laptops)
    assert sup("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0   # not synced yet
    own = sup("approve", case_id, "plan", "--json")
    assert own.code == 4 and own.json()["rule"] == "self-approval"
    assert own.json()["message"].endswith("someone else must approve this plan (version 1)"), own.json()
    assert "A later version written on another copy arrives with a sync (cpcm sync)." in own.json()["hint"]


def test_two_plan_versions_written_apart_are_both_kept_and_numbered_in_order(laptops):
    amina, sup, case_id = shared_case(laptops)
    assert sup("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    merge_both(laptops)
    shown = sup("show", case_id, "--json").json()
    assert [e["kind"] for e in shown["history"]].count("plan") == 2
    assert shown["plan"]["version"] == 2
    assert "plans-concurrent" in check_codes(sup, case_id)
    assert sup("approve", case_id, "plan").code == 0
    assert "plans-concurrent" not in check_codes(sup, case_id)


def test_two_plan_versions_written_apart__the_later_withdrawn_leaves_the_conflict_and_says_what_settles_it(laptops, team):
    """amina wrote a plan version in the office and another on her laptop, apart; she takes the
    later back. The earlier does not wait again (a newer version replaced it, as on one copy), so
    nothing is decided: the warning stays, and names what settles it now (not a decision, which
    is refused with nothing waiting), and writing the version again settles it."""
    amina, sup, case_id = shared_case(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    assert amina_office("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    merge_both(laptops)
    assert amina("plan", case_id, "--withdraw", "--reason", "written twice").code == 0
    assert "plans-concurrent" in check_codes(amina, case_id)
    advice = next(p["message"] for p in json.loads(amina("check", case_id, "--json").stdout) if p["code"] == "plans-concurrent")
    assert f"cpcm plan {case_id}" in advice and "approve" not in advice
    laptops.sync("amina")
    laptops.sync("sup")
    refused = sup("approve", case_id, "plan", "--json")  # what the advice no longer names: nothing waits
    assert refused.code == 4 and refused.json()["rule"] == "nothing-to-approve"
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert "plans-concurrent" not in check_codes(amina, case_id)


def test_two_assignments_written_apart_on_a_case_closed_since_are_settled_by_a_note(laptops, team):
    amina, sup, case_id = shared_case(laptops)
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    otieno = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["otieno"][0]), "CPCM_NOW": NOW})
    assert sup_away("assign", case_id, "--worker", "otieno").code == 0
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    merge_both(laptops)
    assert otieno("close", case_id, *CLOSE).code == 0 and sup("approve", case_id, "closure").code == 0
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "two-assignments")
    assert "add a note" in advice and "cpcm assign" not in advice
    assert sup("assign", case_id, "--worker", "otieno").code == 4  # what the advice no longer names: refused on a closed case
    assert sup("note", case_id, "--text", "assigned twice; otieno it was").code == 0
    assert "two-assignments" not in check_codes(sup, case_id)
    del amina


@pytest.mark.parametrize("who_merges", ["sup", "amina"])
def test_an_assignment_on_one_side_and_a_note_on_the_other(laptops, team, who_merges):
    amina, sup, case_id = shared_case(laptops)
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert amina("note", case_id, "--text", "visited the school").code == 0
    if who_merges == "sup":
        merge_both(laptops)
    else:
        laptops.sync("sup")
        laptops.sync("amina")
        laptops.sync("sup")
        assert head(laptops.repo) == head(laptops.clones["amina"])
    recipients = (case_dir(laptops.repo, case_id) / "recipients").read_text().split()
    assert recipients[-2:] == ["otieno", "sup"]
    otieno = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["otieno"][0]), "CPCM_NOW": NOW})
    shown = otieno("show", case_id, "--json")
    assert shown.code == 0 and "note" in [e["kind"] for e in shown.json()["history"]]
    assert amina("show", case_id).code != 0  # re-encrypted away from her with the rest of the case
    assert sup("verify").code == 0, sup("verify").stdout


def test_a_sync_names_the_cases_assigned_to_or_away_from_whoever_syncs(laptops):
    """otieno leaves: the supervisor gives his case to amina; amina's next sync and otieno's say
    so (the case that became theirs, the case that is no longer theirs), in text and in --json."""
    otieno = laptops.laptop("otieno")
    amina = laptops.laptop("amina")
    his = register(otieno)
    hers = register(amina, child={"name": "Other Child", "sex": "male", "date_of_birth": "2012-01-01", "disability": "no"})
    laptops.sync("otieno")
    laptops.sync("amina")
    laptops.sync("sup")
    sup = laptops.cli("sup")
    assert sup("assign", his, "--worker", "amina").code == 0
    laptops.sync("sup")
    told = laptops.sync("otieno")
    assert (told["assigned_to_you"], told["assigned_away"]) == ([], [his])
    removed = sup("team", "remove", "otieno")
    assert removed.code == 0 and "next: cpcm sync" in removed.stderr  # the removal reaches the others by a sync
    laptops.sync("sup")
    assert amina("note", hers, "--text", "visited the school").code == 0  # a merge, not a fast-forward
    done = amina("sync")
    assert done.code == 0, done.stderr
    assert f"assigned to you now: {his}" in done.stderr
    assert "no longer syncs" in otieno("sync").stderr  # removed: his copy merges nothing
    assert laptops.sync("amina")["assigned_to_you"] == []  # said once


def test_one_record_corrected_on_both_copies_is_a_conflict_check_reports(laptops):
    """The registration corrected on amina's laptop and, apart, on sup's copy: both corrections
    are kept, the later is in force, and the earlier's change was lost from the case without a
    word. The merge now records `corrections-concurrent`, which `cpcm check` reports until a note."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("correct", case_id, "registration", "--set", "location=Laptop Ward", "--reason", "moved").code == 0
    assert sup("correct", case_id, "registration", "--set", "contact=0700 000 001", "--reason", "new phone").code == 0
    assert amina("note", case_id, "--text", "a visit").code == 0  # no conflict of itself
    merged = merge_both(laptops)
    conflicts = [c for c in merged["conflicts"] if c["case"] == case_id]
    assert [c["code"] for c in conflicts] == ["corrections-concurrent"] and len(conflicts[0]["records"]) == 2
    assert "corrections-concurrent" in check_codes(sup, case_id)
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "corrections-concurrent")
    first, second = sorted(conflicts[0]["records"])
    assert f"(cpcm show {case_id} {first}; cpcm show {case_id} {second})" in advice and "RECORD" not in advice, advice
    assert sup("note", case_id, "--text", "the phone correction stands; location corrected again").code == 0
    assert "corrections-concurrent" not in check_codes(sup, case_id)


def test_one_field_updated_to_two_values_apart_is_a_conflict_other_fields_are_not(laptops):
    """The child's location updated on amina's laptop and, apart, to another place on sup's copy:
    the later update is in force and the other value would be lost without a word. The merge
    records `updates-concurrent` (check reports it until a note); updates of different fields,
    or of one field to the same value, are no conflict."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("update", case_id, "--set", "location=Laptop Ward", "--reason", "moved").code == 0
    assert sup("update", case_id, "--set", "location=Office Ward", "--reason", "moved").code == 0
    assert sup("update", case_id, "--set", "contact=0700 000 002", "--reason", "new phone").code == 0
    merged = merge_both(laptops)
    conflicts = [c for c in merged["conflicts"] if c["case"] == case_id]
    assert [c["code"] for c in conflicts] == ["updates-concurrent"] and len(conflicts[0]["records"]) == 2, conflicts
    assert "updates-concurrent" in check_codes(sup, case_id)
    assert sup("note", case_id, "--text", "the office ward is right").code == 0
    assert "updates-concurrent" not in check_codes(sup, case_id)
    # apart again: different fields, and one field to the same value
    assert amina("update", case_id, "--set", "contact=0700 000 003", "--reason", "new phone").code == 0
    assert sup("update", case_id, "--set", "location=Market Ward", "--reason", "moved").code == 0
    assert amina("update", case_id, "--set", "caregiver.relationship=aunt", "--reason", "told").code == 0
    assert sup("update", case_id, "--set", "caregiver.relationship=aunt", "--reason", "told").code == 0
    assert not [c for c in merge_both(laptops)["conflicts"] if c["case"] == case_id]


def test_the_value_in_force_given_again_settles_updates_concurrent_once_and_then_changes_nothing(laptops):
    """The location updated apart to two places; the supervisor checks with the family that the one
    in force is right and gives it again (`cpcm update --set location=...`), as docs/team.md says:
    written, though it changes no value, because it settles the clash, and it says so. Given again
    with no clash open, it is refused as changing nothing."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("update", case_id, "--set", "location=Laptop Ward", "--reason", "moved").code == 0
    assert sup("update", case_id, "--set", "location=Office Ward", "--reason", "moved").code == 0
    merge_both(laptops)
    in_force = sup("show", case_id, "--json").json()["location"]
    assert in_force in ("Laptop Ward", "Office Ward") and "updates-concurrent" in check_codes(sup, case_id)
    confirmed = sup("update", case_id, "--set", f"location={in_force}", "--reason", "checked with the mother", "--json")
    assert confirmed.code == 0, confirmed.stderr
    assert "this settles the sync conflict (updates-concurrent)" in confirmed.json()["next_steps"], confirmed.json()
    assert "updates-concurrent" not in check_codes(sup, case_id)
    body = sup("show", case_id, confirmed.json()["record_id"], "--json").json()["fields"]
    assert body["changes"] == {"location": in_force} and body["previous"] == {"location": in_force}, body
    assert sup("show", case_id, "--json").json()["location"] == in_force
    again = sup("update", case_id, "--set", f"location={in_force}", "--reason", "checked again", "--json")
    assert again.code == 4 and again.json()["rule"] == "nothing-to-update", again.stdout


def test_a_clash_over_two_fields_is_settled_by_one_changed_and_the_other_given_as_it_stands(laptops):
    """Location and contact updated apart to other values on each copy; the supervisor settles it with
    the location that is right and the contact in force given again, in one update: both are written
    (the contact unchanged), and the clash is settled."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("update", case_id, "--set", "location=Laptop Ward", "--set", "contact=0700 000 001", "--reason", "moved").code == 0
    assert sup("update", case_id, "--set", "location=Office Ward", "--set", "contact=0700 000 002", "--reason", "moved").code == 0
    merge_both(laptops)
    assert "updates-concurrent" in check_codes(sup, case_id)
    contact = sup("show", case_id, "--json").json()["contact"]
    one = sup("update", case_id, "--set", f"contact={contact}", "--reason", "checked", "--json")  # one field at a time: told how
    assert one.code == 4 and one.json()["rule"] == "nothing-to-update", one.stdout
    assert "updates-concurrent" in one.json()["hint"] and "contact, location" in one.json()["hint"], one.json()
    done = sup("update", case_id, "--set", "location=Market Ward", "--set", f"contact={contact}", "--reason", "checked", "--json")
    assert done.code == 0 and "this settles the sync conflict (updates-concurrent)" in done.json()["next_steps"], done.stdout
    body = sup("show", case_id, done.json()["record_id"], "--json").json()["fields"]
    assert body["changes"] == {"location": "Market Ward", "contact": contact}, body
    assert "updates-concurrent" not in check_codes(sup, case_id)


def test_a_note_settles_the_conflicts_open_where_it_is_written_whatever_its_clock_and_says_so(laptops):
    """Two copies update the child's location apart; the merge records `updates-concurrent`. A note
    amina wrote on her laptop before the conflict reached it (two hours after the merge found it, by
    the clocks) saw nothing of it: after the syncs it settles nothing, and nobody was told of any
    settling. A note written where the conflict is open settles it, whatever its date or the clock
    (here a laptop behind the merge's, and back-dated), and says so on stderr and in its --json: the
    code, the case, and what stands (the later update)."""
    amina, sup, case_id = shared_case(laptops)
    later = "2026-11-25T09:00:00+03:00"
    amina, sup = laptops.cli("amina", CPCM_NOW=later), laptops.cli("sup", CPCM_NOW=later)
    assert amina("update", case_id, "--set", "location=Laptop Ward", "--reason", "moved").code == 0
    assert sup("update", case_id, "--set", "location=Office Ward", "--reason", "moved").code == 0
    assert amina("sync").code == 0
    merged = sup("sync", "--json")
    assert [c["code"] for c in merged.json()["conflicts"] if c["case"] == case_id] == ["updates-concurrent"]
    apart = laptops.cli("amina", CPCM_NOW="2026-11-25T11:00:00+03:00")("note", case_id, "--text", "a cough, seen by the nurse")
    assert apart.code == 0 and "settles" not in apart.stderr
    assert sup("sync").code == 0 and amina("sync").code == 0 and sup("sync").code == 0
    assert "updates-concurrent" in check_codes(sup, case_id) and "updates-concurrent" in check_codes(amina, case_id)
    behind = laptops.cli("amina", CPCM_NOW="2026-11-25T08:55:00+03:00")
    checked = behind("note", case_id, "--text", "the office ward is right", "--at", "2026-11-24T10:00", "--json")
    assert checked.code == 0, checked.stderr
    told = [w for w in checked.json()["warnings"] if f"settles the sync conflict updates-concurrent on {case_id}" in w]
    assert len(told) == 1 and "the later update is in force" in told[0], checked.json()
    assert told[0].startswith(f"this note ({checked.json()['record_id']}) settles"), told
    assert f"settles the sync conflict updates-concurrent on {case_id}" in checked.stderr
    assert len(settling_said(checked, "updates-concurrent")) == 1, checked.json()
    assert "updates-concurrent" not in check_codes(amina, case_id)
    assert amina("sync").code == 0 and sup("sync").code == 0
    assert "updates-concurrent" not in check_codes(sup, case_id)


def test_updates_written_apart_are_a_conflict_even_when_whoever_merges_cannot_read_the_other_copys(laptops):
    """The supervisor gives amina's case to otieno and updates the child's location; amina, offline,
    updates it to another place. Her sync merges: the supervisor's update is encrypted to its new
    readers, so she cannot compare the two values, and nobody would after her (the next syncs only
    move on). The merge names every update written apart as `updates-concurrent`, for the
    supervisor to check, rather than leaving one value in force without a word."""
    amina, sup, case_id = shared_case(laptops)
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert sup("update", case_id, "--set", "location=Office Ward", "--reason", "moved").code == 0
    assert amina("update", case_id, "--set", "location=Laptop Ward", "--reason", "moved").code == 0
    laptops.sync("sup")
    merged = laptops.sync("amina")
    assert merged["merged"]
    conflicts = [c for c in merged["conflicts"] if c["case"] == case_id]
    assert [c["code"] for c in conflicts] == ["updates-concurrent"] and len(conflicts[0]["records"]) == 2, conflicts
    laptops.sync("sup")
    assert "updates-concurrent" in check_codes(sup, case_id)
    assert sup("note", case_id, "--text", "the office ward is right").code == 0
    assert "updates-concurrent" not in check_codes(sup, case_id)
    assert sup("verify").code == 0, sup("verify").stdout


def test_two_assignments_written_apart(laptops, team):
    amina, sup, case_id = shared_case(laptops)
    # the supervisor's second laptop (amina's clone, with the supervisor's key)
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert sup_away("assign", case_id, "--worker", "otieno").code == 0
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    merged = merge_both(laptops)
    assert [c["code"] for c in merged["conflicts"]] == ["two-assignments"]
    assert "two-assignments" in check_codes(sup, case_id)
    assert sup("note", case_id, "--text", "assigned twice; otieno it is").code == 0
    assert "two-assignments" not in check_codes(sup, case_id)
    del amina


def test_two_assignments_written_apart_are_settled_by_assigning_the_case_again_to_the_worker_that_stands(laptops, team):
    amina, sup, case_id = shared_case(laptops)
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert sup_away("assign", case_id, "--worker", "otieno").code == 0
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    merge_both(laptops)
    found = json.loads(sup("check", case_id, "--json").stdout)
    advice = next(p["message"] for p in found if p["code"] == "two-assignments")
    assert f"cpcm assign {case_id} --worker otieno" in advice  # the advice names what works
    confirmed = sup("assign", case_id, "--worker", "otieno")
    assert confirmed.code == 0, confirmed.stderr
    assert "settles the sync conflict (two-assignments)" in confirmed.stdout + confirmed.stderr
    assert len(settling_said(confirmed, "two-assignments")) == 1, confirmed.stderr  # said once: not again as a warning
    assert "two-assignments" not in check_codes(sup, case_id)
    again = sup("assign", case_id, "--worker", "otieno", "--json")  # nothing left to confirm: as before
    assert again.code == 4 and again.json()["rule"] == "already-assigned"
    assert sup("verify").code == 0, sup("verify").stdout
    del amina


def test_the_same_child_registered_on_two_laptops_is_reported_and_linked(laptops):
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    mine = register(amina)
    theirs = register(sup, "--worker", "amina")
    laptops.sync("amina")
    merged = laptops.sync("sup")
    assert merged["duplicates"] == [{"case": min(mine, theirs), "other": max(mine, theirs),
                                     "reason": "same or similar name and the same birth year"}]
    assert "Test Child" not in json.dumps(merged)
    linked = sup("merge-cases", mine, theirs, "--json")
    assert linked.code == 0, linked.stderr
    assert folded(laptops, "sup", mine).links == (theirs,)
    assert folded(laptops, "sup", theirs).links == (mine,)
    assert sup("merge-cases", mine, theirs).code == 4
    assert amina("merge-cases", mine, theirs).code == 4  # a caseworker does not


@pytest.mark.parametrize("step", ["sync-merged", "sync-pushed"])
def test_a_sync_stopped_after_its_merge_leaves_the_same_child_warning_to_the_next(laptops, step):
    """Killed once the merge is the last commit (before or after its push), the sync never made the duplicate
    check: the next sync, which brings nothing new, makes it of the cases that merge brought; then not again."""
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    mine = register(amina)
    theirs = register(sup, "--worker", "amina")
    laptops.sync("amina")
    killed = sup.process("sync", env={"CPCM_TEST_CRASH_AT": step})
    assert killed.code != 0 and "same child" not in killed.stdout + killed.stderr
    noted = laptops.repo / ".git" / "cpcm-unchecked"
    assert noted.read_text().splitlines()[0] == mine            # case IDs only (then the merge whose report was not given)
    again = laptops.sync("sup")
    assert again["records"] == 0
    assert again["duplicates"] == [{"case": min(mine, theirs), "other": max(mine, theirs),
                                    "reason": "same or similar name and the same birth year"}]
    assert not noted.exists() and git_status(laptops.repo) == []
    assert laptops.sync("sup")["duplicates"] == []              # said once


@pytest.mark.parametrize("step", ["sync-merged", "sync-pushed"])
@pytest.mark.parametrize("json_out", [False, True])
def test_a_sync_stopped_after_its_merge_leaves_what_it_brought_to_the_next_report(laptops, step, json_out):
    """Killed once the merge is the last commit (before or after its push), amina's sync never said what arrived: a
    case the supervisor registered for her. Her next sync, which brings nothing new, says it as the report of the sync
    that was stopped (in text, and in --json under `earlier`); the copy's note of it holds IDs and a date only, and a
    third sync says it no more."""
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    register(amina, child={"name": "Other Child", "sex": "male", "date_of_birth": "2012-01-01", "disability": "no"})
    given = register(sup, "--worker", "amina", child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01",
                                                      "disability": "no"})
    laptops.sync("sup")
    ours = head(laptops.clones["amina"])
    killed = amina.process("sync", env={"CPCM_TEST_CRASH_AT": step})
    assert killed.code != 0 and given not in killed.stdout + killed.stderr
    merged = head(laptops.clones["amina"])
    noted = (laptops.clones["amina"] / ".git" / "cpcm-unchecked").read_text()
    assert noted.splitlines() == [given, f"sync 2026-11-23T09:00+03:00 {ours} {head(laptops.repo)} {merged}"]
    again = amina("sync", *(["--json"] if json_out else []))
    assert again.code == 0, again.stderr
    if json_out:
        report = again.json()
        assert (report["commits"], report["assigned_to_you"]) == (0, [])
        [told] = report["earlier"]
        assert told["stopped"] == {"kind": "sync", "date": "2026-11-23T09:00+03:00", "commit": merged}
        assert told["assigned_to_you"] == [given] and given in told["cases"] and told["by"] == {"sup": 1}
    else:
        assert "sync origin: nothing new arrived" in again.stderr, again.stderr
        assert (f"the sync of 2026-11-23 09:00, which was stopped before it said what arrived (merge {merged[:10]}): "
                "1 record(s) in 1 case(s) arrived (1 from sup)") in again.stderr, again.stderr
        assert f"assigned to you now: {given} (cpcm due)" in again.stderr
    assert not (laptops.clones["amina"] / ".git" / "cpcm-unchecked").exists()
    third = laptops.sync("amina")
    assert third["earlier"] == [] and third["assigned_to_you"] == []  # said once


def test_a_sync_stopped_again_before_its_report_leaves_the_first_ones_report_to_the_next(laptops):
    """The sync that works out a stopped sync's report is killed too, after its duplicate check, before it printed
    anything: the note of the first merge stays, and the sync after it gives that report."""
    amina = laptops.laptop("amina")
    given = register(laptops.cli("sup"), "--worker", "amina")
    laptops.sync("sup")
    assert amina.process("sync", env={"CPCM_TEST_CRASH_AT": "sync-merged"}).code != 0
    assert amina.process("sync", env={"CPCM_TEST_CRASH_AT": "sync-checked"}).code != 0
    [told] = laptops.sync("amina")["earlier"]
    assert told["assigned_to_you"] == [given]
    assert laptops.sync("amina")["earlier"] == []


def test_a_conflict_a_stopped_merge_found_is_said_by_the_next_sync_while_it_is_open(laptops):
    """The merge of a sync killed before its push found a conflict (one registration corrected on both copies): the
    next sync says it, as the stopped sync's; once a note settles it, a sync stopped again says nothing of it."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("correct", case_id, "registration", "--set", "location=Laptop Ward", "--reason", "moved").code == 0
    assert sup("correct", case_id, "registration", "--set", "contact=0700 000 001", "--reason", "new phone").code == 0
    laptops.sync("amina")
    assert sup.process("sync", env={"CPCM_TEST_CRASH_AT": "sync-merged"}).code != 0
    [told] = laptops.sync("sup")["earlier"]
    assert [(c["case"], c["code"]) for c in told["conflicts"]] == [(case_id, "corrections-concurrent")]
    assert sup("note", case_id, "--text", "the phone correction stands").code == 0
    assert sup("correct", case_id, "registration", "--set", "location=Office Ward", "--reason", "moved").code == 0
    assert amina("correct", case_id, "registration", "--set", "contact=0700 000 002", "--reason", "new phone").code == 0
    laptops.sync("amina")
    assert sup.process("sync", env={"CPCM_TEST_CRASH_AT": "sync-merged"}).code != 0
    assert sup("note", case_id, "--text", "settled before the report").code == 0
    [told] = laptops.sync("sup")["earlier"]
    assert told["conflicts"] == [] and told["records"] >= 1


def test_a_bundle_apply_stopped_once_the_branch_moved_leaves_what_it_brought_to_the_next(laptops, tmp_env):
    """A bundle apply killed once the branch moved to its merge never said what arrived; applying the bundle again,
    which brings nothing new, says it, as the report of the bundle applied then; a note left by a merge that is not in
    the copy (its command stopped before the branch moved) or that cannot be read says nothing."""
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    given = register(amina, "--worker", "sup")
    bundle = tmp_env / "amina.bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    killed = sup.process("bundle", "apply", str(bundle), env={"CPCM_TEST_CRASH_AT": "sync-moved"})
    assert killed.code != 0 and given not in killed.stdout + killed.stderr
    noted = laptops.repo / ".git" / "cpcm-unchecked"
    stray = f"sync 2026-11-20T08:00+03:00 {'1' * 40} {'2' * 40} {'3' * 40}"
    noted.write_text(noted.read_text() + f"{stray}\nsync yesterday {'1' * 40}\n")
    again = sup("bundle", "apply", str(bundle))
    assert again.code == 0, again.stderr
    assert "bundle: nothing new arrived" in again.stderr, again.stderr
    assert "the bundle applied on 2026-11-23 09:00, which was stopped before it said what arrived" in again.stderr
    assert f"  cases: {given}" in again.stderr and "2026-11-20" not in again.stderr
    assert not noted.exists()
    assert sup("bundle", "apply", str(bundle), "--json").json()["earlier"] == []


def test_a_copy_whose_git_folder_is_elsewhere_notes_and_checks_what_arrived(laptops):
    """`.git` a file naming the git folder (`git clone --separate-git-dir`, a linked work tree): the note of the cases
    a merge brings goes to that folder, and a sync stopped after its merge still leaves its check to the next."""
    path = laptops.tmp / "laptop-amina"
    subprocess.run(["git", "clone", "-q", "--separate-git-dir", str(laptops.tmp / "amina-git"), str(laptops.bare), str(path)],
                   check=True, capture_output=True)
    laptops.clones["amina"] = path
    amina, sup = laptops.cli("amina"), laptops.cli("sup")
    assert (path / ".git").is_file()
    mine = register(amina)
    theirs = register(sup, "--worker", "amina")
    laptops.sync("sup")
    killed = amina.process("sync", env={"CPCM_TEST_CRASH_AT": "sync-merged"})
    assert killed.code != 0
    assert (laptops.tmp / "amina-git" / "cpcm-unchecked").read_text().splitlines()[0] == theirs
    again = laptops.sync("amina")
    assert [(pair["case"], pair["other"]) for pair in again["duplicates"]] == [(min(mine, theirs), max(mine, theirs))]
    assert not (laptops.tmp / "amina-git" / "cpcm-unchecked").exists()


def test_ctrl_c_while_the_other_copy_tidies_up_after_a_push_says_the_commits_were_sent(laptops, monkeypatch):
    """The push to a folder has moved the other copy's branch; Ctrl-C while git tidies that copy up (its
    `gc --auto`): the commits were sent, and the message says so."""
    from cpcm.store import carry

    amina = laptops.laptop("amina")
    register(amina)
    sent = head(laptops.clones["amina"])

    def interrupted(_repo):
        raise KeyboardInterrupt
    monkeypatch.setattr(carry, "_gc", interrupted)
    stopped = amina("sync")
    assert stopped.code == 130
    assert f"interrupted after your commits (up to {sent[:10]}) were sent to the other copy" in stopped.stderr, stopped.stderr
    assert git(laptops.bare, "rev-parse", "main").strip() == sent


def ctrl_c_at(cli: Cli, step: str) -> str:
    """`cpcm sync` stopped at `step` (a pause point), then Ctrl-C: it ends with exit 130; what it said."""
    proc = cli.process("sync", wait=False, env={"CPCM_TEST_PAUSE_AT": step})
    proc.stdin.close()
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), f"the sync ended before {step}"
    os.kill(proc.pid, signal.SIGINT)
    os.kill(proc.pid, signal.SIGCONT)
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 130, err
    return err


def test_ctrl_c_after_a_sync_sent_its_commits_says_they_were_sent(laptops):
    """A sync that only sends this copy's commits, stopped by Ctrl-C once the other copy holds them: not 'nothing
    was written' (the other copy's branch has moved); the next sync ends it."""
    amina = laptops.laptop("amina")
    register(amina)
    sent = head(laptops.clones["amina"])
    err = ctrl_c_at(laptops.cli("amina"), "sync-pushed")
    assert f"interrupted after your commits (up to {sent[:10]}) were sent to the other copy; they stand" in err, err
    assert "nothing was written" not in err
    assert git(laptops.bare, "rev-parse", "main").strip() == sent
    assert laptops.sync("amina")["pushed"] is False                 # nothing left to send


def test_ctrl_c_once_the_merge_moved_the_branch_says_it_was_saved(laptops):
    """Ctrl-C just after the branch moved to the merge, before the sync counted it: not 'nothing was written' (the
    merge stands); the next sync sends it and reports the possible duplicate the merge brought."""
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    mine = register(amina)
    theirs = register(sup, "--worker", "amina")
    laptops.sync("amina")
    err = ctrl_c_at(sup, "sync-moved")
    merged = head(laptops.repo)
    assert git(laptops.repo, "log", "-1", "--format=%s", merged).startswith("sync merge")
    assert f"interrupted after the change was saved in commit {merged[:10]}; it stands" in err, err
    assert git_status(laptops.repo) == []
    again = laptops.sync("sup")
    assert again["pushed"] and [pair["case"] for pair in again["duplicates"]] == [min(mine, theirs)]


def test_cases_noted_for_the_check_that_are_not_in_the_copy_are_passed_over(laptops):
    """A merge killed before its branch moved is rolled back; the cases it noted for the duplicate check are not in
    the copy (nor anything but an ID), and the next sync checks the rest."""
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    mine = register(amina)
    theirs = register(sup, "--worker", "amina")
    laptops.sync("amina")
    (laptops.repo / ".git" / "cpcm-unchecked").write_text("CP-0000-0000\nnot an id\n")
    merged = laptops.sync("sup")
    assert [pair["case"] for pair in merged["duplicates"]] == [min(mine, theirs)]
    assert not (laptops.repo / ".git" / "cpcm-unchecked").exists()


def same_id_on_two_copies(laptops, monkeypatch, sup_first: bool = False) -> tuple[Cli, Cli, str, str]:
    """amina's laptop and sup's copy, each registering a child under one case ID ("First Child" on amina's), amina's
    first unless `sup_first`: (amina, sup, amina's case ID, sup's case ID)."""
    from cpcm.service import cases

    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    fixed = cases.new_case_id()
    monkeypatch.setattr(cases, "new_case_id", lambda: fixed)
    registrations = {"amina": lambda: register(amina, child={"name": "First Child", "sex": "female",
                                                             "date_of_birth": "2015-04-01", "disability": "no"}),
                     "sup": lambda: register(sup, "--worker", "amina", child={"name": "Other Child", "sex": "male",
                                                                              "date_of_birth": "2012-01-01", "disability": "no"})}
    made = {who: registrations[who]() for who in (("sup", "amina") if sup_first else ("amina", "sup"))}
    monkeypatch.undo()
    return amina, sup, made["amina"], made["sup"]


def test_two_cases_that_drew_the_same_id_are_told_apart(laptops, monkeypatch):
    amina, sup, mine, theirs = same_id_on_two_copies(laptops, monkeypatch)
    assert mine == theirs
    laptops.sync("amina")
    merged = laptops.sync("sup")
    assert len(merged["reidentified"]) == 1 and merged["reidentified"][0]["old"] == mine
    new = merged["reidentified"][0]["new"]
    kept, moved = sup("show", mine, "--json"), sup("show", new, "--json")
    assert kept.code == 0 and moved.code == 0, kept.stderr + moved.stderr
    kept, moved = kept.json(), moved.json()
    assert {kept["child"]["name"], moved["child"]["name"]} == {"First Child", "Other Child"}
    assert folded(laptops, "sup", new).links == (mine,)
    assert [e["kind"] for e in kept["history"]].count("registration") == 1
    laptops.sync("amina")
    assert sup("verify").code == 0, sup("verify").stdout


@pytest.mark.parametrize("sup_first", [False, True])
def test_the_copy_a_case_id_clash_reaches_is_told_which_case_moved_and_counts_its_records_where_they_are(
        laptops, monkeypatch, tmp_env, sup_first):
    """The merge of two cases registered under one ID (on sup's copy, the second to sync) moves the later registration's
    case to a new ID. amina's next sync says so, naming the two IDs, the reason, and whether the case that moved is hers
    (`here`), and counts each record that arrived once, in the case it is in now: not as arrived in the old case too,
    nor as written by whoever merged, nor at all when it is one of amina's own that moved. Before, it said 5 records in
    2 cases arrived from sup, the old case among them, and nothing of the move. sup's own report counts amina's
    records where they are now too, and says which copy's case moved."""
    amina, sup, case_id, _ = same_id_on_two_copies(laptops, monkeypatch, sup_first)
    for cli in (amina, sup):
        assert cli("followup", case_id, *VISIT).code == 0
    laptops.sync("amina")
    merged = laptops.sync("sup")
    [moved] = merged["reidentified"]
    new = moved["new"]
    assert moved == {"old": case_id, "new": new, "reason": "same-id", "here": not sup_first}, merged
    assert merged["records"] == 2 and merged["by"] == {"amina": 2}
    assert merged["cases"] == merged["registered"] == [new if sup_first else case_id]

    twin = tmp_env / "laptop-amina-twin"  # amina's laptop as it is, to be synced once for the text and once for JSON
    shutil.copytree(laptops.clones["amina"], twin)
    told = amina("sync")
    assert told.code == 0, told.stderr
    arrived = Cli({**amina.env, "CPCM_REPO": str(twin)})("sync", "--json").json()
    # sup's two records, and the case_link the merge wrote: amina's own two, moved, did not arrive
    assert arrived["records"] == 3 and arrived["by"] == {"sup": 3}, arrived
    assert arrived["cases"] == sorted([case_id, new] if sup_first else [new])
    assert arrived["reidentified"] == [{"old": case_id, "new": new, "reason": "same-id", "here": sup_first}]
    assert arrived["assigned_to_you"] == [case_id if sup_first else new]  # the case sup registered, for amina
    assert f"3 record(s) in {len(arrived['cases'])} case(s) arrived (3 from sup)" in told.stderr, told.stderr
    assert "cases: " + " ".join(arrived["cases"]) + "\n" in told.stderr
    said = (f"case {case_id} of this copy is now {new}: another copy had registered a different case as {case_id} first"
            if sup_first else f"two copies registered different cases as {case_id}: the one registered later, on another "
            f"copy, moved to a new ID, {new}")
    assert said in told.stderr and "Child" not in told.stderr
    assert amina("show", new, "--json").json()["child"]["name"] == ("First Child" if sup_first else "Other Child")


def test_an_unreachable_remote_is_named_not_echoed_and_changes_nothing(laptops, tmp_env):
    sup = laptops.cli("sup")
    gone = tmp_env / "Secret Place" / "x.git"
    assert sup("remote", "add", "stick", str(gone)).code == 0
    before = tree_state(laptops.repo)
    failed = sup("sync", "stick")
    assert failed.code == 6 and "Secret Place" not in failed.stderr and "remote 'stick'" in failed.stderr
    assert tree_state(laptops.repo) == before


def test_a_branch_lock_left_on_the_remote_is_named_with_what_to_do_not_as_an_unreachable_remote(laptops):
    """A stick pulled out while a push held its branch's lock leaves `refs/heads/main.lock` there:
    every push fails until it goes. The sync says the remote is locked and which file, within the
    remote's folder, to remove; not "plug the USB stick in again", which never helped."""
    amina = laptops.laptop("amina")
    register(amina)
    laptops.sync("amina")
    register(amina)
    lock = laptops.bare / "refs" / "heads" / "main.lock"
    lock.write_text("")
    failed = amina("sync")
    assert failed.code == 6
    assert "remote 'origin' is locked (git push failed): refs/heads/main.lock is there (" in failed.stderr, failed.stderr
    assert "remove that file: refs/heads/main.lock inside the remote's folder" in failed.stderr
    assert "cannot reach" not in failed.stderr and "Plug the USB stick" not in failed.stderr
    assert str(laptops.tmp) not in failed.stderr
    lock.unlink()
    assert laptops.sync("amina")["pushed"]


def _damage(bare: Path, how: str) -> None:
    """An object of the remote's branch half-copied (a stick pulled out) or gone."""
    tip = git(bare, "rev-parse", "refs/heads/main").strip()
    sha = tip if how == "tip" else git(bare, "diff-tree", "-r", tip + "~1", tip).split()[3]  # a blob the last commit added
    path = bare / "objects" / sha[:2] / sha[2:]
    if how == "tip":
        path.unlink()
    else:
        data = path.read_bytes()
        path.chmod(0o644)
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("how", ["blob", "tip"])
def test_a_damaged_copy_on_the_remote_is_said_to_be_damaged_with_how_to_make_a_new_one(laptops, how):
    """A half-copied or missing object on the stick: a fetch that needs it, and a push onto a branch
    whose commit is gone, say the copy there is damaged and how to make a new one; not "cannot
    reach", whose hint (plug the stick in, sync again) never helped."""
    amina = laptops.laptop("amina")
    register(amina)
    laptops.sync("amina")
    _damage(laptops.bare, how)
    before = tree_state(laptops.repo)
    failed = laptops.cli("sup")("sync")
    assert failed.code == 6
    assert "the copy on remote 'origin' is damaged (git fetch failed)" in failed.stderr, failed.stderr
    assert "cpcm remote add NEW PATH --create" in failed.stderr and "Nothing was changed" in failed.stderr
    assert "cannot reach" not in failed.stderr and str(laptops.tmp) not in failed.stderr
    assert tree_state(laptops.repo) == before
    if how == "tip":  # amina has the commit the stick lost: nothing arrives, and the push onto it fails
        register(amina)
        pushed = amina("sync")
        assert pushed.code == 6
        assert "the copy on remote 'origin' is damaged (git push failed)" in pushed.stderr, pushed.stderr
        assert "your commits were not sent" in pushed.stderr and "Plug the USB stick" not in pushed.stderr


def test_an_edit_by_hand_in_a_file_the_sync_would_update_is_kept_and_the_sync_refused(laptops):
    amina = laptops.laptop("amina")
    root = laptops.clones["amina"]
    (root / ".cpcm" / "services.yaml").write_text("services: []\n")
    signed_commit(root, "amina", "services", ".cpcm/services.yaml", key=laptops.keys["amina"][0])
    laptops.sync("amina")
    register(laptops.cli("sup"))
    edited = laptops.repo / ".gitattributes"
    edited.write_text(edited.read_text() + "# a local note\n")
    (laptops.repo / ".cpcm" / "services.yaml").write_text("services: [] # mine\n")  # untracked, and the merge brings one
    before = tree_state(laptops.repo)
    refused = laptops.cli("sup")("sync")
    assert refused.code == 6 and "differ from the last commit" in refused.stderr
    assert tree_state(laptops.repo) == before
    assert laptops.cli("sup")("sync", "--json").json()["hint"] == (  # not in the last commit: nothing to restore from git
        "Move .cpcm/services.yaml out of the repository (not in the last commit; the sync brings its own); then sync again")
    del amina


def test_the_duplicate_check_after_a_sync_gives_the_same_answer_from_the_index_as_from_every_case(laptops):
    from conftest import library_session
    from cpcm.service import context, sync as sync_service

    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    mine = register(amina)
    theirs = register(sup, "--worker", "amina")
    other = register(sup, "--worker", "amina", child={"name": "Zawadi Otieno", "sex": "female",
                                                        "date_of_birth": "2011-02-03", "disability": "no"})
    laptops.sync("amina")
    laptops.sync("sup")
    ctx = library_session(sup)

    def after(locked: bool) -> list[dict]:
        result = sync_service.Synced(registered=sorted([mine, other]))
        if locked:  # the split index serves the check (what a sync does)
            with context.locked(ctx):
                sync_service._after(ctx, result)
        else:       # every case folded (no index for this command)
            sync_service._after(ctx, result)
        return result.duplicates

    expected = [{"case": min(mine, theirs), "other": max(mine, theirs),
                 "reason": "same or similar name and the same birth year"}]
    assert after(True) == after(False) == expected
    assert sup("merge-cases", mine, theirs).code == 0
    assert after(True) == after(False) == []   # linked now: not reported again


@pytest.mark.parametrize("tie", [False, True])
def test_the_duplicate_check_after_a_sync_names_first_the_case_registered_first_the_one_to_keep(laptops, monkeypatch, tie):
    """`cpcm merge-cases KEEP OTHER` keeps the first (docs/team.md); the sync's line names first the case
    registered first (on a tie, the one holding more records), whatever their IDs: here the later ID. Before,
    the two were in ID order, and following the line made the child's case the alias of a later one."""
    from datetime import datetime, timedelta

    from conftest import library_session, registration
    from cpcm import service
    from cpcm.domain.ids import new_case_id
    from cpcm.service import cases as cases_service, context, sync as sync_service

    sup = laptops.cli("sup")
    ctx = library_session(sup)
    first, later = new_case_id(lambda bits: (1 << bits) - 1), new_case_id(lambda bits: 0)  # the first, the last ID
    earlier = None if tie else datetime.fromisoformat(NOW) - timedelta(days=30)
    for case_id, at in ((first, earlier), (later, None)):
        monkeypatch.setattr(cases_service, "new_case_id", lambda case_id=case_id: case_id)
        assert service.register(ctx, registration(), at).subject_id == case_id
    monkeypatch.undo()
    if tie:  # registered at the same time: the child's work is in the one with more records
        assert sup("note", first, "--text", "home visit done").code == 0
    ctx = library_session(sup)
    for locked in (True, False):
        result = sync_service.Synced(registered=[later])
        with context.locked(ctx) if locked else nullcontext():
            sync_service._after(ctx, result)
        assert result.duplicates == [{"case": first, "other": later,
                                      "reason": "same or similar name and the same birth year"}]


def test_the_duplicate_check_after_a_sync_names_a_case_merged_away_by_the_case_it_lives_on_in(laptops):
    """Two registrations merged into the child's case, then the child registered again: the sync names the child's
    case once (sync.md: nothing is merged into a case merged away), and two cases merged into the same one are no
    pair. Before, it named each alias, and its merge-cases lines were refused (merge-cases-merged-away)."""
    from conftest import library_session
    from cpcm.service import context, sync as sync_service

    sup = laptops.cli("sup")
    keep, first, second = (register(sup, "--worker", "amina") for _ in range(3))
    for alias in (first, second):
        assert sup("merge-cases", keep, alias).code == 0
    again = register(sup, "--worker", "amina")
    ctx = library_session(sup)
    for locked in (True, False):
        result = sync_service.Synced(registered=sorted([first, second, again]))
        with context.locked(ctx) if locked else nullcontext():
            sync_service._after(ctx, result)
        assert result.duplicates == [{"case": keep, "other": again,
                                      "reason": "same or similar name and the same birth year"}], locked


def test_the_duplicate_check_after_a_sync_names_the_childs_case_merged_into_that_the_worker_cannot_read(cli_as):
    """The child's case is otieno's, amina's registration of the child was merged into it, and the child registered
    again by amina arrives: amina's check names the child's case, as the alias's link names it, kept first (the
    merge kept it), though she cannot read it. Before, it named the alias, and its merge-cases line was refused
    (merge-cases-merged-away)."""
    from conftest import library_session
    from cpcm.service import context, sync as sync_service

    amina, sup = cli_as("amina"), cli_as("sup")
    keep = register(cli_as("otieno"))
    alias = register(amina)
    assert sup("merge-cases", keep, alias).code == 0
    again = register(amina)
    ctx = library_session(amina)
    for locked in (True, False):
        result = sync_service.Synced(registered=[again])
        with context.locked(ctx) if locked else nullcontext():
            sync_service._after(ctx, result)
        assert result.duplicates == [{"case": keep, "other": again,
                                      "reason": "same or similar name and the same birth year"}], locked


def test_a_sync_says_what_arrived_when_no_record_did(laptops, tmp_path):
    """Commits that add no file (the agency's rules, the team, the service directory) arrive too,
    and the worker is told: not 'nothing new arrived' while the rules changed under them."""
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  referral_feedback:\n    limit: 10d\n")
    assert sup("policy", "set", str(policy)).code == 0
    added = sup("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health")
    assert added.code == 0, added.stderr
    assert sup("team", "remove", "otieno").code == 0
    laptops.sync("sup")
    arrived = laptops.sync("amina")
    assert arrived["commits"] == 3 and arrived["records"] == 0
    assert arrived["settings_changes"] == ["policy set: referral_feedback.limit"]
    assert arrived["directory_changes"] == ["service add clinic"]
    assert arrived["team_changes"] == ["team remove otieno"]
    assert (laptops.clones["amina"] / ".cpcm" / "policy.yaml").read_text() == policy.read_text()
    again = amina("sync")
    assert again.code == 0 and "nothing new arrived" in again.stderr
    policy.write_text("rules:\n  referral_feedback:\n    limit: 9d\n")
    assert sup("policy", "set", str(policy)).code == 0
    laptops.sync("sup")
    told = amina("sync")
    assert told.code == 0, told.stderr
    assert "1 commit(s) arrived, no new record" in told.stderr
    assert "settings: policy set: referral_feedback.limit" in told.stderr
    assert sup("config", "set", "timezone", "Africa/Johannesburg").code == 0
    laptops.sync("sup")
    assert laptops.sync("amina")["settings_changes"] == ["config set timezone"]


def test_a_sync_says_the_team_changes_in_the_order_they_were_made(laptops, tmp_env):
    """sup adds eve, then removes her: a sync says the two oldest first, as they were made, so that its last team line
    says eve has left (docs/commands/sync.md); `team_changes` lists them so. Before, they were said newest first:
    `team: remove eve`, then `team: add eve`."""
    from conftest import make_identity, signing_line

    amina = laptops.laptop("amina")
    laptops.laptop("otieno")
    sup = laptops.cli("sup")
    key = tmp_env / "keys" / "eve.txt"
    assert sup("team", "add", "eve", "--role", "caseworker", "--recipient", make_identity(key),
               "--signing-key", signing_line(key)).code == 0
    assert sup("team", "remove", "eve").code == 0
    laptops.sync("sup")
    told = amina("sync")
    assert told.code == 0, told.stderr
    assert [line for line in told.stderr.splitlines() if line.startswith("  team:")] == [
        "  team: add eve", "  team: remove eve"], told.stderr
    assert laptops.sync("otieno")["team_changes"] == ["team add eve", "team remove eve"]


@pytest.mark.parametrize("how", ["sync", "bundle"])
def test_records_that_arrive_in_a_conference_are_counted_in_it_not_among_the_cases(laptops, tmp_env, how):
    """A note on amina's case, then a conference and its nomination of that case, on the supervisor's copy: amina's sync
    (or her bundle apply) says 1 record arrived in 1 case and 2 in 1 conference (team.md: how many records in how many
    cases ... conferences); `records_in` counts them by where they are, adding up to `records`. Before, both said 3
    records in 1 case."""
    from test_conference import new_conference

    amina, sup, case_id = shared_case(laptops)
    since = head(laptops.repo)
    assert sup("note", case_id, "--text", "phoned the school").code == 0
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    laptops.sync("sup")
    bundle = tmp_env / "usb" / "office.bundle"
    if how == "bundle":
        bundle.parent.mkdir()
        assert sup("bundle", "create", str(bundle), "--since", since).code == 0
    twin = tmp_env / "laptop-amina-twin"  # amina's laptop as it is, for the JSON
    shutil.copytree(laptops.clones["amina"], twin)
    args = ("sync",) if how == "sync" else ("bundle", "apply", str(bundle))
    told = amina(*args)
    assert told.code == 0, told.stderr
    what = "sync origin" if how == "sync" else "bundle"
    assert f"{what}: 1 record(s) in 1 case(s), 2 in 1 conference(s) arrived (3 from sup)\n" in told.stderr, told.stderr
    assert f"  cases: {case_id}\n" in told.stderr and f"  conferences: {conf}\n" in told.stderr, told.stderr
    arrived = Cli({**amina.env, "CPCM_REPO": str(twin)})(*args, "--json").json()
    assert arrived["records"] == 3 and arrived["records_in"] == {"cases": 1, "conferences": 2}, arrived
    assert arrived["cases"] == [case_id] and arrived["conferences"] == [conf] and arrived["by"] == {"sup": 3}, arrived
    # a supervision session's record alone: counted in its session, never as '1 record(s) in 0 case(s)'
    assert sup("supervision", "record", "--worker", "amina", "--kind", "clinical", "--no-input").code == 0
    laptops.sync("sup")
    if how == "bundle":
        assert sup("bundle", "create", str(bundle), "--since", head(laptops.clones["amina"]), "--force").code == 0
    told = amina(*args)
    assert told.code == 0, told.stderr
    assert f"{what}: 1 record(s) in 1 supervision session(s) arrived (1 from sup)\n" in told.stderr, told.stderr


def test_a_copy_in_a_newer_casefile_format_is_not_merged_nor_worked_in(laptops):
    """A later release that lays cases out otherwise marks the repository's format: this one
    merges nothing from such a copy, and refuses to work in a repository that took it."""
    laptops.laptop("amina")
    newer = laptops.clones["amina"]
    config = newer / ".cpcm" / "config.yaml"
    newer_format = FORMAT_VERSION + 1
    config.write_text(config.read_text().replace(f"format: {FORMAT_VERSION}", f"format: {newer_format}"))
    signed_commit(newer, "sup", "config set format", ".cpcm/config.yaml", key=laptops.keys["sup"][0])
    worked = laptops.cli("amina")("list")
    assert worked.code == 4 and f"casefile format {newer_format}" in worked.stderr and "Upgrade cpcm" in worked.stderr
    subprocess.run(["git", "-C", str(newer), "push", "-q", "origin", "HEAD"], check=True, capture_output=True)
    register(laptops.cli("sup"))  # something to merge on this side
    before = tree_state(laptops.repo)
    refused = laptops.cli("sup")("sync", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "format-too-new", refused.stderr
    assert f"the other copy is in casefile format {newer_format}" in refused.stderr
    assert tree_state(laptops.repo) == before


# -- readers after a merge: covers -----------------------------------------------------------------
def test_a_cover_in_force_stays_through_a_sync_that_only_moves_on(laptops, team):
    """A colleague covering a case stays one of its readers, and the cover line stays in its
    `recipients`, when a copy takes the cover by a sync (a fast-forward makes no commit)."""
    amina, sup, case_id = shared_case(laptops)
    done = amina("assign", case_id, "--cover", "otieno", "--until", "2026-12-24")
    assert done.code == 0, done.stderr
    laptops.sync("amina")
    before = head(laptops.clones["amina"])
    got = laptops.sync("sup")
    assert got["fast_forward"] and got["reencrypted"] == [] and head(laptops.repo) == before
    recipients = (case_dir(laptops.repo, case_id) / "recipients").read_text()
    assert "# cover: otieno until 2026-12-24" in recipients and recipients.split()[-3:] == ["amina", "otieno", "sup"]
    otieno = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["otieno"][0]), "CPCM_NOW": NOW})
    shown = otieno("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    assert [c["in_force"] for c in shown.json()["covers"]] == [True]


def test_a_sync_names_the_cases_a_cover_given_on_another_copy_makes_you_cover(laptops):
    """amina asks otieno to cover her case on her laptop; otieno's next sync says so (the case and
    until when), in text and in --json, and only once; amina's own sync names no cover of hers."""
    amina, sup, case_id = shared_case(laptops)
    otieno = laptops.laptop("otieno")
    assert amina("assign", case_id, "--cover", "otieno", "--until", "2026-12-24").code == 0
    assert laptops.sync("amina")["covering"] == []  # a cover amina gave is not hers to take
    assert otieno("note", case_id, "--text", "x").code != 0  # not a reader yet on his copy
    done = otieno("sync")
    assert done.code == 0, done.stderr
    assert f"you cover now: {case_id} (until 2026-12-24T23:59:59+03:00) (cpcm due)" in done.stderr
    assert laptops.sync("otieno")["covering"] == []  # said once
    assert otieno("show", case_id).code == 0
    # a merge (not a fast-forward) says it too, in --json
    later = laptops.cli("sup")
    assert later("assign", case_id, "--cover", "otieno", "--until", "2026-12-30").code == 0
    laptops.sync("sup")
    assert otieno("note", case_id, "--text", "called the school").code == 0
    assert laptops.sync("otieno")["covering"] == [{"case": case_id, "until": "2026-12-30T23:59:59+03:00"}]


def test_a_cover_given_on_one_copy_stays_through_a_merge_and_ends_at_a_sync_after_its_time(laptops, team):
    """Merged with work from another copy, a cover in force keeps its colleague a reader (what the
    other copy wrote is re-encrypted to them too); a sync after its end takes them off, and says so."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("assign", case_id, "--cover", "otieno", "--until", "2026-12-24").code == 0
    assert sup("note", case_id, "--text", "spoke with the school").code == 0
    merged = merge_both(laptops)
    assert merged["merged"] and merged["reencrypted"] == [case_id]
    for root in (laptops.repo, laptops.clones["amina"]):
        recipients = (case_dir(root, case_id) / "recipients").read_text()
        assert "# cover: otieno until 2026-12-24" in recipients and recipients.split()[-3:] == ["amina", "otieno", "sup"]
    otieno = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["otieno"][0]), "CPCM_NOW": NOW})
    shown = otieno("show", case_id, "--json")
    assert shown.code == 0 and "note" in [e["kind"] for e in shown.json()["history"]]
    assert sup("verify").code == 0, sup("verify").stdout
    # after its end: the next sync that merges the case takes the colleague off, and says it re-encrypted it
    assert amina("note", case_id, "--text", "handed over").code == 0
    assert sup("note", case_id, "--text", "school visit planned").code == 0
    later = "2026-12-26T09:00:00+03:00"
    assert laptops.cli("amina", CPCM_NOW=later)("sync").code == 0
    told = laptops.cli("sup", CPCM_NOW=later)("sync")
    assert told.code == 0, told.stderr
    assert f"re-encrypted to their readers as they are now: {case_id}" in told.stderr
    recipients = (case_dir(laptops.repo, case_id) / "recipients").read_text()
    assert "cover:" not in recipients and recipients.split()[-2:] == ["amina", "sup"]
    assert otieno("show", case_id).code == 5
    assert sup("verify").code == 0, sup("verify").stdout


def test_one_cover_changed_on_two_copies_apart_is_a_conflict_settled_by_giving_it_again(laptops):
    """amina extends otieno's cover on her laptop while the supervisor ends it sooner on theirs: the
    later one stands, and the other would be gone without a word (amina still counts on the cover).
    The merge records `covers-concurrent`; check reports it on both copies until the cover is given
    again (or a note), and the next sync clears it on the other copy too. One cover given the same
    end on both copies is no conflict."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("assign", case_id, "--cover", "otieno", "--until", "2026-12-10").code == 0
    merge_both(laptops)
    assert amina("assign", case_id, "--cover", "otieno", "--until", "2027-01-15").code == 0
    assert sup("assign", case_id, "--cover", "otieno", "--until", "2026-11-30").code == 0
    merged = merge_both(laptops)
    conflicts = [c for c in merged["conflicts"] if c["case"] == case_id]
    assert [c["code"] for c in conflicts] == ["covers-concurrent"] and len(conflicts[0]["records"]) == 2, conflicts
    assert "covers-concurrent" in check_codes(sup, case_id) and "covers-concurrent" in check_codes(amina, case_id)
    advice = next(p["message"] for p in json.loads(amina("check", case_id, "--json").stdout) if p["code"] == "covers-concurrent")
    assert f"cpcm assign {case_id} --cover WORKER --until DATE" in advice
    assert amina("assign", case_id, "--cover", "otieno", "--until", "2027-01-15").code == 0  # the end that is right
    assert "covers-concurrent" not in check_codes(amina, case_id)
    merge_both(laptops)
    assert "covers-concurrent" not in check_codes(sup, case_id)
    # the same end on both copies: no conflict
    assert amina("assign", case_id, "--cover", "otieno", "--until", "2027-02-01").code == 0
    assert sup("assign", case_id, "--cover", "otieno", "--until", "2027-02-01").code == 0
    assert not [c for c in merge_both(laptops)["conflicts"] if c["case"] == case_id]
    assert sup("verify").code == 0, sup("verify").stdout


# -- a worker removed on another copy --------------------------------------------------------------
def test_a_removed_workers_sync_adds_nothing_says_so_and_a_supervisor_takes_his_records_by_a_bundle(laptops, tmp_env):
    otieno = laptops.laptop("otieno")
    sup = laptops.cli("sup")
    assert sup("team", "remove", "otieno").code == 0
    laptops.sync("sup")
    case_id = register(otieno)  # offline, before the removal reached this laptop
    before = tree_state(laptops.clones["otieno"])
    refused = otieno("sync", "--json")
    assert refused.code == 5, refused.stderr
    assert "you (otieno) were removed from the team on the other copy" in refused.stderr
    assert "nothing was merged" in refused.stderr and "team add" not in refused.stderr
    assert "cpcm bundle create" in refused.stderr
    assert tree_state(laptops.clones["otieno"]) == before
    assert otieno("show", case_id).code == 0  # his record is as he wrote it
    # what the message says to do: a bundle, applied by a supervisor, brings his records to the team
    bundle = tmp_env / "otieno.bundle"
    made = otieno("bundle", "create", str(bundle))
    assert made.code == 0, made.stderr
    applied = sup("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json()["cases"] == [case_id] and applied.json()["reencrypted"] == [case_id]
    assert (case_dir(laptops.repo, case_id) / "recipients").read_text().split()[-1:] == ["sup"]
    assert sup("show", case_id).code == 0
    assert sup("verify").code == 0, sup("verify").stdout


def test_a_case_that_arrives_with_a_removed_worker_is_named_and_checked_until_it_is_assigned(laptops, tmp_env):
    """The removed worker's offline registration (by his bundle), and a case given to him on a copy
    that had not heard of the removal (by a sync), arrive with a worker who is no longer on the
    team: `team remove` refuses while a worker has open cases, and here nobody has them. The sync
    says so (not that the case is now the supervisor's), and `cpcm check` reports it until the case
    is assigned."""
    otieno = laptops.laptop("otieno")
    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    given = register(amina)
    laptops.sync("amina")
    laptops.sync("sup")
    assert sup("team", "remove", "otieno").code == 0
    laptops.sync("sup")
    registered = register(otieno)  # offline, before the removal reached his laptop
    assert amina("assign", given, "--worker", "otieno").code == 0  # offline too
    bundle = tmp_env / "otieno.bundle"
    assert otieno("bundle", "create", str(bundle)).code == 0
    applied = sup("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    report = applied.json()
    assert report["assigned_to_you"] == [] and report["assigned_away"] == []
    assert [n for n in report["notes"] if registered in n and "(otieno) is no longer on the team" in n
            and f"cpcm assign {registered} --worker OTHER" in n], report["notes"]
    laptops.sync("sup")
    merged = amina("sync")  # amina reads the case she gave away no more; the supervisor's copy learns of it
    assert merged.code == 0, merged.stderr
    text = sup("sync")
    assert text.code == 0, text.stderr
    assert f"warning: {given}: its worker (otieno) is no longer on the team" in text.stderr, text.stderr
    assert "assigned to you now" not in text.stderr
    for case_id in (registered, given):
        codes = check_codes(sup, case_id)
        assert "case-worker-removed" in codes, codes
    assert "case-worker-removed" in [p["code"] for p in json.loads(sup("check", "--json").stdout)]
    assert sup("assign", registered, "--worker", "amina").code == 0
    assert "case-worker-removed" not in check_codes(sup, registered)
    assert sup("verify").code == 0, sup("verify").stdout


def test_what_a_removed_worker_writes_after_the_removal_comes_in_and_is_named_by_the_sync_and_verify(laptops, tmp_env):
    """amina left the agency: the supervisor removes her (`team remove`, not `revoke --lost`) at the
    office. Her laptop had not synced: a note she wrote before the removal and one she wrote after it
    (dated after it) reach the office by her bundle. Both come in (nothing lost; her membership on
    the copy she wrote them on allowed them), and the one dated after the removal is named: by the
    office's `bundle apply` (a warning line, `after_removal` and `notes` in --json), by the next
    sync of a colleague who knew of the removal, and by `cpcm verify` (a note). What the office
    writes after the removal is not encrypted to her. (Each commit is dated by CPCM_NOW, as its records.)
    Her sync told her of the removal, and she wrote on: the warning does not say her copy had not heard of it
    (either may be so). Then her key is revoked: a colleague's sync that brings the revocation with a later note of
    hers says the key is revoked, not that revoking it would refuse what it signs (was: that advice, in the same sync
    that reported `team: revoke amina`)."""
    from datetime import datetime

    from cpcm.crypto import cipher, identity

    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    assert amina("note", case_id, "--text", "seen before leaving").code == 0  # offline, before the removal
    before = head(laptops.clones["amina"])
    removal = datetime.fromisoformat("2026-11-24T09:00:00+03:00")  # the day after her note (NOW)
    office = Cli({**sup.env, "CPCM_NOW": removal.isoformat()})
    assert office("assign", case_id, "--worker", "otieno").code == 0
    assert office("team", "remove", "amina").code == 0
    assert office("note", case_id, "--text", "written at the office after the removal").code == 0
    laptops.sync("sup")
    otieno = laptops.laptop("otieno")  # a colleague's copy that knows of the removal
    # the office's note after the removal is not encrypted to her
    mine = {p.name for p in case_dir(laptops.clones["amina"], case_id).iterdir()}
    written = [p for p in case_dir(laptops.repo, case_id).iterdir() if p.name not in mine]
    assert len(written) == 2  # the assignment and the note
    keys = identity.load(laptops.keys["amina"][0], lambda: None).keys
    for path in written:
        with pytest.raises(cipher.NotARecipient):
            cipher.decrypt(path.read_bytes(), keys)
    amina = Cli({**amina.env, "CPCM_NOW": "2026-11-24T09:00:01+03:00"})  # a second after the removal
    assert amina("note", case_id, "--text", "written after leaving").code == 0
    after = head(laptops.clones["amina"])
    assert amina("sync").code == 5  # removed: her copy merges nothing
    bundle = tmp_env / "amina.bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    applied = sup("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    report = applied.json()
    assert report["records"] == 2 and report["by"] == {"amina": 2}  # the note from before the removal too
    assert report["after_removal"] == [{"commit": after[:10], "worker": "amina", "removed": report["after_removal"][0]["removed"],
                                        "cases": [case_id], "conferences": []}], report["after_removal"]
    assert datetime.fromisoformat(report["after_removal"][0]["removed"]) == removal
    said = [n for n in report["notes"] if after[:10] in n]
    assert len(said) == 1 and "dated after amina was removed from the team" in said[0] and case_id in said[0], report["notes"]
    assert "cpcm team revoke amina --lost" in said[0]
    assert f"check what it records (cpcm log {case_id})" in said[0] and "CASE" not in said[0], said  # its case named
    assert not [n for n in report["notes"] if before[:10] in n]  # written before the removal: nothing to say
    assert (case_dir(laptops.repo, case_id) / "recipients").read_text().split()[-2:] == ["otieno", "sup"]
    assert sup("show", case_id).code == 0
    # verify names it (a note: the history is as it should be), every time
    done = sup("verify", "--json")
    assert done.code == 0, done.stdout
    notes = [p for p in json.loads(done.stdout) if p["code"] == "signed-after-removal"]
    assert len(notes) == 1 and notes[0]["severity"] == "note" and after[:10] in notes[0]["message"], notes
    assert notes[0]["message"].endswith(f"check what it records (cpcm log {case_id})"), notes
    assert before[:10] not in notes[0]["message"]
    again = [p for p in json.loads(sup("verify", "--json").stdout) if p["code"] == "signed-after-removal"]
    assert again == notes  # the signatures it found good are remembered: named all the same
    # a colleague's sync that brings it from the shared place names it too
    laptops.sync("sup")
    text = otieno("sync")
    assert text.code == 0, text.stderr
    assert f"warning: commit {after[:10]} by amina is dated after amina was removed from the team" in text.stderr, text.stderr
    assert ("made on a copy that had not heard of the removal, or after amina was told of it (the commit does not say "
            "which)") in text.stderr, text.stderr
    # she writes on; her bundle comes in, then her key is revoked, and both reach otieno's copy in one sync
    amina = Cli({**amina.env, "CPCM_NOW": "2026-11-24T09:00:02+03:00"})
    assert amina("note", case_id, "--text", "written later still").code == 0
    later = head(laptops.clones["amina"])
    assert amina("bundle", "create", str(tmp_env / "amina-2.bundle")).code == 0
    applied = sup("bundle", "apply", str(tmp_env / "amina-2.bundle"))
    assert applied.code == 0 and "cpcm team revoke amina --lost refuses" in applied.stderr, applied.stderr  # not yet
    revoked = Cli({**sup.env, "CPCM_NOW": "2026-11-25T09:00:00+03:00"})("team", "revoke", "amina", "--lost")
    assert revoked.code == 0, revoked.stderr
    laptops.sync("sup")
    text = otieno("sync")
    assert text.code == 0 and "  team: revoke amina" in text.stderr, text.stderr
    warned = [line for line in text.stderr.splitlines() if f"commit {later[:10]} by amina" in line]
    assert len(warned) == 1 and "their key is revoked from 2026-11-25" in warned[0], text.stderr
    assert "cpcm team revoke" not in warned[0], warned


def test_a_case_re_encrypted_on_the_other_copy_is_not_re_encrypted_again_by_the_sync_that_takes_it(laptops, tmp_env):
    """otieno applies the bundle of amina, who left after her case was handed to him: her note is encrypted to her and
    sup, so his merge cannot re-encrypt it and the case's `recipients` file lists the three of them. The supervisor's
    next sync re-encrypts it to otieno and sup (one commit). otieno's sync that takes that commit finds every record of
    the case encrypted to its readers as they are now: it re-encrypts nothing, writes no commit and says nothing of it
    (it judged the records his copy held unchanged by his own union list)."""
    sup = laptops.cli("sup")
    case_id = register(sup, "--worker", "amina")
    laptops.sync("sup")
    amina = laptops.laptop("amina")
    otieno = laptops.laptop("otieno")
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert sup("team", "remove", "amina").code == 0
    laptops.sync("sup")
    assert amina("note", case_id, "--text", "called by the aunt").code == 0  # her copy has not heard of it
    bundle = tmp_env / "amina.bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    assert laptops.sync("otieno")["reencrypted"] == []
    applied = otieno("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json()["not_reencrypted"] == [case_id]  # her note opens for her and sup only
    assert (case_dir(laptops.clones["otieno"], case_id) / "recipients").read_text().split()[-3:] == ["otieno", "sup", "amina"]
    laptops.sync("otieno")
    assert laptops.sync("sup")["reencrypted"] == [case_id]
    assert (case_dir(laptops.repo, case_id) / "recipients").read_text().split()[-2:] == ["otieno", "sup"]
    fixed = head(laptops.repo)
    took = otieno("sync", "--json")
    assert took.code == 0, took.stderr
    assert took.json()["reencrypted"] == [] and took.json()["fast_forward"], took.json()
    assert head(laptops.clones["otieno"]) == fixed  # no commit that rewrites the case for nothing
    assert "re-encrypted" not in otieno("sync").stderr
    assert otieno("show", case_id).code == 0 and otieno("verify").code == 0


def commit_plaintext_by_hand(laptops, worker: str, case_id: str) -> tuple[str, str]:
    """A colleague drops a document named after the child into the case's folder, and a note in plain text under a
    record's name, and commits them with plain git (signed, as their key would sign): (the commit, the record's path)."""
    root = laptops.clones[worker]
    (case_dir(root, case_id) / f"{CANARY}.docx").write_text(f"{CANARY} lives at the market\n")
    fake = f"{case_rel(case_id)}/01M84N5AEN51ATC26YE94JZYAV.note.yaml.age"
    (root / fake).write_text(f"kind: note\ntext: {CANARY}\n")
    commit = signed_commit(root, worker, f"consent form of {CANARY}", f"{case_rel(case_id)}/{CANARY}.docx", fake,
                           key=laptops.keys[worker][0])
    return commit, fake


def said_plaintext(report: dict, commit: str, worker: str, case_id: str, fake: str) -> None:
    """The report names both files by the commit, its maker and the case, and neither by the name it was given."""
    shown = f"a file in {case_rel(case_id)} whose name is not shown (it may name someone: git show --stat {commit[:10]} lists it)"
    assert sorted(report["plaintext_committed"], key=lambda e: e["file"]) == [
        {"commit": commit[:10], "worker": worker, "folder": case_id, "file": shown},
        {"commit": commit[:10], "worker": worker, "folder": case_id, "file": fake}], report["plaintext_committed"]
    said = [n for n in report["notes"] if commit[:10] in n]
    assert len(said) == 2 and all("docs/security.md#a-file-committed-by-hand" in n and "cpcm verify" in n for n in said)


GIT_KEEPS = ("index", "sharedindex.", "COMMIT_EDITMSG")  # git's own files in .git/ that name a file committed, or hold a message


def no_canary(*outputs: str, roots: tuple[Path, ...] = ()) -> None:
    """The name given to the file is in no output and in no file cpcm wrote: only in the files the colleague made (in
    each copy's folder as git checked them out) and in what git keeps of them (its objects, its index, its log)."""
    marks = [part.lower() for part in CANARY.split()]
    assert not [o for o in outputs if any(m in o.lower() for m in marks)]
    for root in roots:
        for path in root.rglob("*"):
            rel = path.relative_to(root)
            if not path.is_file() or rel.parts[0] == ".git" and (rel.parts[1] in ("objects", "logs")
                                                                  or rel.name.startswith(GIT_KEEPS)) \
                    or path.parent.name.startswith("CP-") and ".git" not in rel.parts:
                continue
            assert not any(m in str(rel).lower() or m.encode() in path.read_bytes().lower() for m in marks), rel


def test_a_file_not_encrypted_committed_by_hand_on_another_copy_is_named_by_the_sync_that_brings_it(laptops):
    """amina saves a document named after the child into the case's folder (and a note in plain text under a
    record's name) and commits them with git, signed: her sync sends them. The sync that brings them to another
    copy takes them in and says so, on a warning line and in --json: the commit, amina, the case, each file as
    cpcm verify shows it (never by the name it was given), and what to do. A sync of records says nothing of it."""
    otieno = laptops.laptop("otieno")
    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    ordinary = laptops.sync("sup")
    assert ordinary["records"] == 1 and ordinary["plaintext_committed"] == [] and ordinary["notes"] == []
    commit, fake = commit_plaintext_by_hand(laptops, "amina", case_id)
    sent = amina("sync")
    assert sent.code == 0, sent.stderr
    got = laptops.cli("sup")("sync", "--json")
    assert got.code == 0, got.stderr
    said_plaintext(got.json(), commit, "amina", case_id, fake)
    text = otieno("sync")
    assert text.code == 0, text.stderr
    warned = [line for line in text.stderr.splitlines() if line.startswith(f"warning: commit {commit[:10]} by amina committed")]
    assert len(warned) == 2 and any(f"a file in {case_rel(case_id)} whose name is not shown" in w for w in warned), text.stderr
    assert (case_dir(laptops.clones["otieno"], case_id) / f"{CANARY}.docx").exists()  # taken in
    no_canary(sent.stdout, sent.stderr, got.stdout, got.stderr, text.stdout, text.stderr,
              roots=(laptops.repo, laptops.clones["otieno"], laptops.tmp / "tmp", laptops.tmp / "home"))


def test_bundle_apply_names_a_file_not_encrypted_that_the_bundle_brings(laptops, tmp_env):
    amina = laptops.laptop("amina")
    case_id = register(amina)
    commit, fake = commit_plaintext_by_hand(laptops, "amina", case_id)
    bundle = tmp_env / "amina.bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    applied = laptops.cli("sup")("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    said_plaintext(applied.json(), commit, "amina", case_id, fake)
    otieno = laptops.laptop("otieno")  # a copy from before: the shared place has none of it yet
    text = otieno("bundle", "apply", str(bundle))
    assert text.code == 0, text.stderr
    assert text.stderr.count(f"warning: commit {commit[:10]} by amina committed") == 2, text.stderr
    no_canary(applied.stdout, applied.stderr, text.stdout, text.stderr, roots=(laptops.repo, laptops.clones["otieno"]))


def test_a_file_not_encrypted_that_a_stopped_sync_brought_is_named_by_the_next(laptops):
    """The sync that brings the file is killed after its merge, before its report: the next sync names it, under
    the stopped sync's report (`earlier`), and the one after says nothing more of it."""
    amina = laptops.laptop("amina")
    case_id = register(amina)
    commit, fake = commit_plaintext_by_hand(laptops, "amina", case_id)
    assert amina("sync").code == 0
    sup = laptops.cli("sup")
    assert sup.process("sync", env={"CPCM_TEST_CRASH_AT": "sync-merged"}).code != 0
    told = sup("sync", "--json")
    assert told.code == 0, told.stderr
    [earlier] = told.json()["earlier"]
    said_plaintext(earlier, commit, "amina", case_id, fake)
    again = sup("sync", "--json")
    assert again.code == 0 and again.json()["earlier"] == [] and again.json()["plaintext_committed"] == []
    no_canary(told.stdout, told.stderr, again.stdout, again.stderr)


def test_a_setting_changed_two_ways_names_the_command_that_sets_it_and_that_command_settles_it(laptops):
    """The hint of a settings conflict is the cpcm command (a signed commit), never an edit by hand
    (an unsigned commit, which verify reports and the other copies refuse)."""
    amina = laptops.laptop("amina")
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(laptops.keys["sup"][0]), "CPCM_NOW": NOW})
    sup = laptops.cli("sup")
    assert sup_away("config", "set", "timezone", "Africa/Kampala").code == 0
    assert sup("config", "set", "timezone", "Africa/Johannesburg").code == 0
    laptops.sync("amina")
    before = tree_state(laptops.repo)
    refused = sup("sync", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "sync-settings-conflict"
    assert "'timezone' was changed two different ways" in refused.stderr
    assert "cpcm config set timezone VALUE" in refused.json()["hint"] and "commit" not in refused.json()["hint"]
    assert tree_state(laptops.repo) == before
    assert sup("config", "set", "timezone", "Africa/Kampala").code == 0  # what the hint says
    settled = laptops.sync("sup")
    assert settled["merged"]
    assert sup("verify").code == 0, sup("verify").stdout
    del amina


# -- readers after a merge: conferences ------------------------------------------------------------
def test_conferences_written_on_a_copy_that_missed_a_team_change_are_re_encrypted_by_the_merge(laptops, team, tmp_env):
    """A conference's readers after a merge are its chair and case workers still in the merged
    team, and every supervisor and manager of it: a manager added on one copy reads the
    conferences planned on the other; a worker removed on one copy no longer reads them."""
    from conftest import make_identity, signing_line
    from test_conference import new_conference

    amina = laptops.laptop("amina")
    sup = laptops.cli("sup")
    key = tmp_env / "keys" / "mgr.txt"
    assert sup("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(key),
               "--signing-key", signing_line(key)).code == 0
    assert sup("team", "remove", "otieno").code == 0
    mine = new_conference(amina)                          # offline, before the team changes reached amina's laptop
    chaired = new_conference(amina, "--chair", "otieno")
    merged = merge_both(laptops)
    assert sorted(merged["reencrypted"]) == sorted([mine, chaired])
    for root in (laptops.repo, laptops.clones["amina"]):
        readers = {c: (root / "conferences" / c / "recipients").read_text().split()[-3:] for c in (mine, chaired)}
        assert readers[mine] == ["amina", "sup", "mgr"] and readers[chaired][-2:] == ["sup", "mgr"]
        assert "otieno" not in readers[chaired]
    mgr = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})
    for conf in (mine, chaired):
        shown = mgr("conference", "show", conf)
        assert shown.code == 0, shown.stderr
    otieno = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["otieno"][0]), "CPCM_NOW": NOW})
    assert otieno("conference", "show", chaired).code == 5
    assert sup("verify").code == 0, sup("verify").stdout


def test_a_case_taken_into_a_conference_on_one_copy_and_handed_over_on_the_other_is_read_by_its_new_worker(laptops, team):
    """The supervisor takes amina's case into a conference on a copy at home while, at the office,
    the case goes to otieno. After the sync the conference's readers are its chair and the
    case's worker as the merge leaves them: otieno reads it, amina (who has no case in it) no
    longer does; the merge re-encrypted what the home copy wrote to them."""
    from test_conference import new_conference

    amina, sup, case_id = shared_case(laptops)
    conf = new_conference(sup)
    laptops.sync("sup")
    home = laptops.tmp / "sup-home"
    subprocess.run(["git", "clone", "-q", str(laptops.bare), str(home)], check=True, capture_output=True)
    at_home = Cli({"CPCM_REPO": str(home), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert at_home("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert at_home("sync").code == 0
    merged = laptops.sync("sup")
    assert at_home("sync").code == 0
    assert merged["reencrypted"] == [conf], merged
    for root in (laptops.repo, home):
        readers = [line for line in (root / "conferences" / conf / "recipients").read_text().splitlines()
                   if line and not line.startswith("#")]
        assert readers == ["sup", "otieno"], readers
    otieno = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["otieno"][0]), "CPCM_NOW": NOW})
    shown = otieno("conference", "show", conf, "--json")
    assert shown.code == 0, shown.stderr
    assert [c["case_id"] for c in shown.json()["cases"]] == [case_id]
    laptops.sync("amina")
    assert amina("conference", "show", conf).code == 5
    assert sup("verify").code == 0, sup("verify").stdout


def test_sync__supervision_sessions_that_arrive_are_named_as_sessions_not_conferences(laptops):
    """A supervision session recorded on one copy arrives on the other as a supervision session:
    `supervision` in --json and its own line, never among the conferences or the cases."""
    amina, sup = laptops.laptop("amina"), laptops.cli("sup")
    first = sup("supervision", "record", "--worker", "amina", "--kind", "clinical", "--no-input", "--json")
    assert first.code == 0, first.stderr
    laptops.sync("sup")
    report = laptops.sync("amina")
    assert report["supervision"] == [first.json()["session_id"]], report
    assert report["conferences"] == [] and report["cases"] == [] and report["records"] == 1
    second = sup("supervision", "record", "--worker", "amina", "--kind", "support", "--no-input", "--json")
    assert second.code == 0, second.stderr
    laptops.sync("sup")
    said = amina("sync")
    assert said.code == 0, said.stderr
    shown = said.stdout + said.stderr
    assert f"supervision sessions: {second.json()['session_id']}" in shown and "conferences:" not in shown, shown


def test_sync__a_session_recorded_while_its_worker_took_a_new_key_is_encrypted_to_the_new_key(laptops):
    """amina takes a new key on her laptop (cpcm key rotate) and syncs; sup, on a copy that has not
    heard of it, records a session with her, encrypted to her old key. sup's sync merges the two:
    the session is encrypted again to amina's new key (to its readers as the merged team has
    them), so she reads it with the key she holds, as a case's records are."""
    amina, sup = laptops.laptop("amina"), laptops.cli("sup")
    rotated = amina("key", "rotate", "--no-passphrase")
    assert rotated.code == 0, rotated.stderr
    laptops.sync("amina")
    recorded = sup("supervision", "record", "--worker", "amina", "--kind", "clinical", "--no-input", "--json")
    assert recorded.code == 0, recorded.stderr
    session_id = recorded.json()["session_id"]
    report = laptops.sync("sup")
    assert report["merged"] and session_id in report["reencrypted"], report
    assert laptops.sync("amina")["supervision"] == [session_id]
    shown = amina("supervision", "show", session_id, "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["workers"] == ["amina"]
    assert "SV-" not in git(laptops.clones["sup"], "status", "--short")
    for worker in ("sup", "amina"):
        checked = laptops.cli(worker)("verify", "--json")
        assert checked.code == 0, checked.stdout + checked.stderr


def test_the_report_names_twenty_cases_a_line_and_counts_the_rest(capsys):
    """A sync after an import on another copy brings thousands of cases: the report names the first twenty of a
    list and counts the others; its JSON lists every one."""
    from cpcm.cli.sync import report_synced
    from cpcm.service.sync import Synced

    cases = [f"CP-{n:04d}-AAAA" for n in range(25)]
    result = Synced(remote="origin", commits=25, records=25, cases=cases, reencrypted=cases[:3], by={"amina": 25})
    report_synced(result, False, "sync")
    said = capsys.readouterr()
    text = said.out + said.err
    assert f"  cases: {' '.join(cases[:20])} and 5 more\n" in text and cases[20] not in text
    assert f"re-encrypted to their readers as they are now: {' '.join(cases[:3])}\n" in text
    report_synced(result, True, "sync")
    assert json.loads(capsys.readouterr().out)["cases"] == cases


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="a folder another user owns is made by root")
def test_a_shared_folder_another_user_owns_is_said_so_and_synced_once_the_user_trusts_it(laptops):
    """An office's shared folder belongs to another user of the computer: git refuses it ("dubious
    ownership") unless the user trusts it (`git config --global --add safe.directory PATH`), a
    setting cpcm's git did not read, so the user could not get past a message about a USB stick."""
    sup = laptops.cli("sup")
    git(laptops.bare, "config", "core.sharedRepository", "group")  # a folder a group shares: git's own fetch and push
    register(sup)  # something to send
    for path in [laptops.bare, *laptops.bare.rglob("*")]:
        os.lchown(path, 65534, 65534)
    refused = sup("sync")
    assert refused.code != 0 and "belongs to another user of this computer" in refused.stderr, refused.stderr
    assert "git config --global --add safe.directory PATH" in refused.stderr and str(laptops.bare) not in refused.stderr
    home = Path(os.environ["HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(f"[user]\n\tname = someone\n[safe]\n\tdirectory = {laptops.bare}\n")
    done = sup("sync")
    assert done.code == 0, done.stderr


def test_an_update_settles_every_clash_over_its_fields_not_only_those_its_changes_alone_settle():
    """Two clashes open: one over the location, one over the location and the contact. The location
    changed and the contact given as it stands settles both (one written with the contact too); before,
    both clashes had one code, so the one its changes alone settled hid the other, left open."""
    from cpcm import service
    from cpcm.service import context
    from cpcm.service.cases import update
    from memory_repo import MemoryRepo

    mem = MemoryRepo()
    sup = mem.as_("sup")
    case_id = mem.register(sup)
    case = service.load_case(sup, case_id)
    with context.transaction(sup, "sync") as tx:
        for records, fields in ((["01A", "01B"], ["location"]), (["01C", "01D"], ["contact", "location"])):
            record = context.new_record(sup, "sync_conflict", case_id, {"code": "updates-concurrent", "records": records,
                                                                       "fields": fields}, None, after=case.history[-1].id)
            tx.write_record(record, context.keys_for(sup, sup.store.recipients(case_id)))
        tx.commit(f"sync {case_id}")
    contact = service.load_case(sup, case_id).contact
    done = update(sup, case_id, {"location": "Market Ward", "contact": contact}, "checked both")
    assert sorted(service.show(sup, case_id, done.record_id)["fields"]["changes"]) == ["contact", "location"]
    assert not [c for c in service.load_case(sup, case_id).conflicts if c["settled_by"] is None]


def test_an_override_corrected_apart_while_a_referral_relied_on_it_is_a_check_problem(laptops):
    """sup corrects an override's purpose (referral -> sharing) on the office copy while amina sends a referral on
    that override on her laptop: each copy took its own write (on one copy the correction would be refused once the
    referral relied on it), and after the sync the referral rested on an override for sharing with `check` silent.
    It is `referral-consent-corrected` now, until a supervisor records an override for that referral again."""
    amina, sup, case_id = shared_case(laptops)
    assert sup("service", "add", "clinic", "--provider", "County Clinic", "--sector", "health", "--offers", "child health").code == 0
    override = sup("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis",
                   "best_interests", "--reason", "no caregiver can be asked", "--json")
    assert override.code == 0, override.stderr
    override_id = override.json()["record_id"]
    merge_both(laptops)
    corrected = sup("correct", case_id, override_id, "--set", "purpose=sharing", "--reason", "it was for sharing")
    assert corrected.code == 0, corrected.stderr
    sent = amina("refer", case_id, "--service", "clinic", "--need", "treatment", "--check", "all", "--json")
    assert sent.code == 0, sent.stderr
    merge_both(laptops)
    for cli in (sup, amina):
        problems = [p for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == "referral-consent-corrected"]
        assert len(problems) == 1, problems
        assert f"was sent on the supervisor's override {override_id}" in problems[0]["message"], problems
    assert sup("consent", case_id, "--override", "--purpose", "referral", "--agency", "clinic", "--basis", "best_interests",
               "--reason", "the referral needs it").code == 0
    assert "referral-consent-corrected" not in check_codes(sup, case_id)
