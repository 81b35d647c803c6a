"""Emergency evacuation (`cpcm evacuate`, IAG §5.4 and §5.5: move or destroy the most sensitive
data): a sync carries the latest work away first, then this computer's copy is made unreadable
(the unlock agent stopped, the identity overwritten and removed, the local cache removed), after a
typed confirmation; a failed sync destroys nothing; the worker is told of cases nobody else reads.
Every run is on a throw-away repository and identity (the test's own folder)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from conftest import CANARY, NOW, Cli, git, head, make_identity, make_repo, register, signing_line


def leaks(*results) -> list[str]:
    return [line for r in results for line in (r.stdout + r.stderr).splitlines() if any(w in line for w in CANARY.split())]


def with_remote(cli: Cli, tmp_env, name: str = "usb"):
    """A USB stick (a bare repository in the test's folder) added to the copy as `name`."""
    stick = tmp_env / "stick" / "kisumu.git"
    added = cli("remote", "add", name, str(stick), "--create")
    assert added.code == 0, added.stderr
    return stick


def cache_of(repo):
    return repo / ".cpcm" / "cache"


# -- the rule: who else can read a folder --------------------------------------------------------
def test_read_by_one__a_folder_no_other_active_member_reads_and_no_recovery_key():
    from cpcm.domain.team import Team, Worker
    from cpcm.workflow.rules import read_by_one

    def worker(wid, role, removed=""):
        return Worker(id=wid, name=wid, roles=(role,), recipient=f"age1{wid}", removed=removed)

    team = Team((worker("amina", "supervisor"), worker("otieno", "caseworker"), worker("old", "caseworker", "2026-01-01")))
    readers = {"CP-A": ["amina"], "CP-B": ["amina", "otieno"], "CP-C": ["otieno"], "CP-D": ["amina", "old"]}
    assert read_by_one(readers, "amina", team) == ["CP-A", "CP-D"]  # a removed worker reads nothing any more
    assert read_by_one(readers, "otieno", team) == ["CP-C"]
    assert read_by_one(readers, "amina", team, ["age1recovery"]) == []  # the agency's recovery key reads every one


# -- the evacuation --------------------------------------------------------------------------------
def test_evacuate__syncs_then_destroys_the_key_and_the_cache(repo, team, cli_as, tmp_env):
    amina = cli_as("amina")
    stick = with_remote(amina, tmp_env)
    case_id = register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    assert amina("list").code == 0 and cache_of(repo).is_dir()  # the cache holds her case
    key = team["amina"][0]
    (key.parent / f"{key.name}.pub").write_text(team["amina"][1] + "\n")
    old = key.parent / f"{key.name}.old-2026-01-01"  # a key kept by cpcm key rotate
    shutil.copy2(key, old)
    ours = head(repo)

    done = amina("evacuate", "--sync", "usb", "--yes", "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["synced"]["pushed"] and result["cache_removed"] and not result["repository_removed"]
    # named as the worker gave them (the identity's file name may be a name), the earlier key beside it too
    assert sorted(result["destroyed"]) == ["the $CPCM_IDENTITY path", "the $CPCM_IDENTITY path.old-2026-01-01"]
    assert not key.exists() and not old.exists() and not (key.parent / f"{key.name}.pub").exists()
    assert not cache_of(repo).exists()
    assert git(stick, "rev-parse", "HEAD").strip() == ours  # the stick has the work
    assert case_id in git(stick, "log", "--format=%s", "-1")
    listed = amina("list")
    assert listed.code == 5 and "no identity at" in listed.stderr, listed.stderr
    assert cli_as("sup")("show", case_id).code == 0  # the supervisor, on their copy, still reads it
    assert not leaks(done, listed)


def test_evacuate__on_a_terminal_the_word_is_typed_anything_else_changes_nothing(repo, team, cli_as, monkeypatch):
    from cpcm.cli import evacuate as command

    amina = cli_as("amina")
    register(amina)
    assert amina("list").code == 0
    key = team["amina"][0]
    before = (key.read_bytes(), head(repo), sorted(p.name for p in cache_of(repo).rglob("*")))

    scripted = amina("evacuate")  # no terminal, no --yes
    assert scripted.code == 2 and "--yes" in scripted.stderr and "nothing was destroyed" in scripted.stderr
    monkeypatch.setattr(command, "stdin_is_terminal", lambda: True)
    for typed in ("", "y", "yes", "destro"):
        refused = amina("evacuate", "--json", input=typed + "\n")
        assert refused.code == 4, refused.stderr
        assert json.loads(refused.stdout)["rule"] == "evacuate-not-confirmed"
    assert (key.read_bytes(), head(repo), sorted(p.name for p in cache_of(repo).rglob("*"))) == before

    typed = amina("evacuate", input="destroy\n")
    assert typed.code == 0, typed.stderr
    assert not key.exists() and not cache_of(repo).exists()


def test_evacuate__a_failed_sync_destroys_nothing_unless_force(repo, team, cli_as, tmp_env):
    amina = cli_as("amina")
    stick = with_remote(amina, tmp_env)
    register(amina)
    assert amina("list").code == 0
    shutil.rmtree(stick.parent)  # the stick was pulled out
    key = team["amina"][0]
    before = (key.read_bytes(), head(repo))

    refused = amina("evacuate", "--sync", "usb", "--yes")
    assert refused.code == 4, refused.stderr
    assert "nothing was destroyed" in refused.stderr and "--force" in refused.stderr
    assert (key.read_bytes(), head(repo)) == before and cache_of(repo).is_dir()

    forced = amina("evacuate", "--sync", "usb", "--yes", "--force", "--json")
    assert forced.code == 0, forced.stderr
    assert forced.json()["sync_failed"] and forced.json()["synced"] is None
    assert not key.exists() and not cache_of(repo).exists()


def test_evacuate__a_remote_this_copy_does_not_have_is_refused_before_anything(repo, team, cli_as):
    amina = cli_as("amina")
    key = team["amina"][0]
    before = key.read_bytes()
    missing = amina("evacuate", "--sync", "usb", "--yes")
    assert missing.code == 3 and "no remote by that name" in missing.stderr
    assert key.read_bytes() == before


def test_evacuate__warns_when_the_worker_is_a_case_s_only_reader(tmp_env, team):
    lone = make_repo(tmp_env / "lone", {"amina": team["amina"]}, workers={"amina": "supervisor"})
    amina = Cli({"CPCM_REPO": str(lone), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    case_id = register(amina)
    (team["amina"][0].parent / "amina.txt.pub").write_text(team["amina"][1] + "\n")  # told without a passphrase

    done = amina("evacuate", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["only_reader"] == [case_id]
    assert "only reader" in done.stderr and case_id in done.stderr and "nothing can ever read them again" in done.stderr


def test_evacuate__warns_of_a_case_only_the_worker_reads_in_a_repository_not_upgraded_yet(tmp_env, team):
    """A repository of format 1 (an older release's, no worker's command run in it since) is not upgraded by
    evacuate's look; its cases are read where format 1 has them, and the only-reader warning names them."""
    from format1 import rewrite_as_format1

    lone = make_repo(tmp_env / "lone", {"amina": team["amina"]}, workers={"amina": "supervisor"})
    amina = Cli({"CPCM_REPO": str(lone), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    case_id = register(amina)
    rewrite_as_format1(lone)
    (team["amina"][0].parent / "amina.txt.pub").write_text(team["amina"][1] + "\n")

    done = amina("evacuate", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["only_reader"] == [case_id]
    assert "only reader" in done.stderr and case_id in done.stderr


def test_evacuate__no_warning_where_a_supervisor_or_the_recovery_key_reads_the_case(repo, team, cli_as, tmp_env):
    amina = cli_as("amina")
    register(amina)
    done = amina("evacuate", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["only_reader"] == [] and "only reader" not in done.stderr  # sup reads it

    recovery = make_identity(tmp_env / "safe" / "recovery.key")
    keys = {"otieno": team["otieno"]}
    agency = make_repo(tmp_env / "agency", keys, "--recovery", recovery, "--recovery-signing-key",
                       signing_line(tmp_env / "safe" / "recovery.key"), workers={"otieno": "supervisor"})
    otieno = Cli({"CPCM_REPO": str(agency), "CPCM_IDENTITY": str(team["otieno"][0]), "CPCM_NOW": NOW})
    register(otieno)
    kept = otieno("evacuate", "--yes", "--json")
    assert kept.code == 0, kept.stderr
    assert kept.json()["only_reader"] == [] and "only reader" not in kept.stderr


def test_evacuate__remove_repository_keeps_work_no_other_copy_has_unless_synced_or_forced(repo, team, cli_as, tmp_env):
    amina = cli_as("amina")
    register(amina)
    key = team["amina"][0]
    before = (key.read_bytes(), head(repo))
    refused = amina("evacuate", "--remove-repository", "--yes", "--json")
    assert refused.code == 4 and "evacuate-unsynced" in refused.stdout, refused.stderr
    assert (key.read_bytes(), head(repo)) == before

    stick = with_remote(amina, tmp_env)
    ours = head(repo)
    done = amina("evacuate", "--sync", "usb", "--remove-repository", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["repository_removed"] and not repo.exists() and not key.exists()
    assert git(stick, "rev-parse", "HEAD").strip() == ours


def test_evacuate__stops_the_unlock_agent_and_destroys_the_passphrase_file(tmp_env, monkeypatch):
    from cpcm import service
    from cpcm.crypto import agent

    runtime = tempfile.mkdtemp(prefix="cpcm-rt-")  # a short path: a Unix socket's is at most 107 bytes
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
        secret = tmp_env / "pass.txt"
        secret.write_text("correct horse battery staple\n")
        secret.chmod(0o600)
        key = tmp_env / "keys" / "protected"
        env = {"CPCM_IDENTITY": str(key), "CPCM_PASSPHRASE_FILE": str(secret), "CPCM_NOW": NOW, "XDG_RUNTIME_DIR": runtime,
               "CPCM_REPO": str(tmp_env / "nowhere")}
        assert Cli(env)("key", "new").code == 0
        service.unlock(key, lambda: "correct horse battery staple", 600)
        assert agent.status(key) is not None

        done = Cli(env)("evacuate", "--yes", "--json")
        assert done.code == 0, done.stderr
        assert done.json()["agent"] == "locked"
        assert agent.status(key) is None and not agent.socket_path(key).exists()
        assert not key.exists() and not secret.exists()
        assert "the $CPCM_PASSPHRASE_FILE path" in done.json()["destroyed"] and str(secret) not in done.stdout  # not its name
    finally:
        from cpcm.crypto import agent as agent_mod

        agent_mod.lock(tmp_env / "keys" / "protected")
        shutil.rmtree(runtime, ignore_errors=True)


def test_evacuate__after_it_a_new_key_put_in_place_by_a_supervisor_reads_the_cases_again(repo, team, cli_as, tmp_env):
    """The way back (docs/commands/keys.md): a new key, which a supervisor puts in place of the
    destroyed one; a copy of the shared place on the new laptop reads the worker's cases."""
    amina = cli_as("amina")
    stick = with_remote(amina, tmp_env)
    case_id = register(amina)
    assert amina("evacuate", "--sync", "usb", "--yes", "--remove-repository").code == 0

    office = tmp_env / "office"  # the supervisor's copy, from the shared place
    subprocess.run(["git", "clone", "-q", str(stick), str(office)], check=True, capture_output=True)
    new_key = tmp_env / "new-laptop" / "identity"
    made = Cli({"CPCM_IDENTITY": str(new_key)})("key", "new", "--no-passphrase", "--json")
    assert made.code == 0, made.stderr
    sup = Cli({"CPCM_REPO": str(office), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    rotated = sup("key", "rotate", "--worker", "amina", "--recipient", made.json()["recipient"], "--signing-key",
                  signing_line(new_key), "--reason", "compromised")
    assert rotated.code == 0, rotated.stderr
    assert sup("sync", "origin").code == 0

    laptop = tmp_env / "new-laptop" / "casefiles"
    subprocess.run(["git", "clone", "-q", str(stick), str(laptop)], check=True, capture_output=True)
    back = Cli({"CPCM_REPO": str(laptop), "CPCM_IDENTITY": str(new_key), "CPCM_NOW": NOW})
    shown = back("show", case_id)
    assert shown.code == 0, shown.stderr
    assert os.path.exists(new_key)


def test_evacuate__a_file_that_cannot_be_removed_is_named_and_the_rest_destroyed(repo, team, cli_as, monkeypatch):
    amina = cli_as("amina")
    register(amina)
    assert amina("list").code == 0
    key = team["amina"][0]
    original = key.read_bytes()
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):  # a file another user owns, or a read-only disk
        if os.fspath(path) == str(key):
            raise PermissionError(13, "Permission denied")
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    done = amina("evacuate", "--yes", "--json")
    assert done.code == 74, done.stderr
    assert "could not destroy 1 file" in done.stderr and "the $CPCM_IDENTITY path" in done.stderr
    assert str(key) not in done.stderr  # a path given through the environment is named by its variable
    assert key.exists() and key.read_bytes() != original and len(key.read_bytes()) == len(original)  # overwritten all the same
    assert not cache_of(repo).exists()  # everything else was destroyed
    assert done.json()["evacuate"]["cache_removed"] is True


def test_evacuate__a_damaged_team_file_does_not_keep_the_key_from_being_destroyed(repo, team, cli_as):
    amina = cli_as("amina")
    register(amina)
    assert amina("list").code == 0
    (repo / ".cpcm" / "team.yaml").write_text("workers: [unclosed\n")
    assert amina("list").code == 7  # the repository cannot be opened
    done = amina("evacuate", "--yes")
    assert done.code == 0, done.stderr
    assert "could not be looked at" in done.stderr
    assert not team["amina"][0].exists() and not cache_of(repo).exists()


def test_evacuate__does_not_say_other_copies_keep_what_this_one_never_sent(repo, team, cli_as):
    amina = cli_as("amina")
    register(amina)  # a commit no other copy has
    done = amina("evacuate", "--yes")
    assert done.code == 0, done.stderr
    said = done.stdout + done.stderr
    assert "keep the cases as far as their last sync with this one." in said, said


def test_evacuate__counts_what_only_the_worker_reads_kind_by_kind_never_a_complaint_they_do_not_read(tmp_env, team):
    from test_conference import new_conference

    keys = {"amina": team["amina"], "otieno": team["otieno"], "sup": team["sup"]}
    lone = make_repo(tmp_env / "lone", keys, workers={"amina": "supervisor", "otieno": "caseworker", "sup": "supervisor"})
    amina, otieno, sup = (Cli({"CPCM_REPO": str(lone), "CPCM_IDENTITY": str(keys[w][0]), "CPCM_NOW": NOW}) for w in keys)
    cases = sorted([register(amina), register(amina)])  # hers; once sup has left, she is the team's one supervisor
    conference = new_conference(amina)
    complaint = ("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--concerns",
                 "staff_conduct", "--summary", "shouted at")
    mine = amina(*complaint, "--about-worker", "otieno")  # read by her alone: counted
    assert mine.code == 0, mine.stderr
    about_her = otieno(*complaint, "--about-worker", "amina")  # never read by her: neither counted nor named to her
    assert about_her.code == 0, about_her.stderr
    assert amina("team", "remove", "sup").code == 0  # now she alone reads her cases; the complaint about her is otieno's
    readers = (lone / "complaints" / about_her.json()["complaint_id"] / "recipients").read_text().splitlines()
    assert "amina" not in readers and "otieno" in readers  # (sup's key is taken off it by a reader's team sync)
    (keys["amina"][0].parent / "amina.txt.pub").write_text(keys["amina"][1] + "\n")  # told without a passphrase

    done = amina("evacuate", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert sorted(done.json()["only_reader"]) == sorted(cases + [conference, mine.json()["complaint_id"]])
    assert done.json()["only_reader_counts"] == {"cases": 2, "conferences": 1, "confidentiality_register": 0,
                                                 "supervision_sessions": 0, "complaints": 1, "confidential_entries": 0,
                                                 "other": 0}
    assert "you are the only reader of 2 cases, 1 conference and 1 complaint, and the agency has no recovery key" \
        in done.stderr, done.stderr
    assert about_her.json()["complaint_id"] not in done.stdout + done.stderr
    assert "(s)" not in done.stderr.split("only reader of")[1].split(", and the agency")[0]


def test_evacuate__the_upgrade_its_sync_makes_of_a_format_1_copy_is_said(repo, team, cli_as, tmp_env):
    """Evacuating a copy an earlier release left in format 1: the sync before the key goes upgrades it (and pushes
    the upgrade to the stick, which an older cpcm then refuses): the worker is told, as by any other command."""
    from format1 import rewrite_as_format1

    amina = cli_as("amina")
    stick = with_remote(amina, tmp_env)
    register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    rewrite_as_format1(repo)
    done = amina("evacuate", "--sync", "usb", "--yes")
    assert done.code == 0, done.stderr
    assert "now in casefile format 2" in done.stderr, done.stderr
    assert "upgrade format 2" in git(stick, "log", "--format=%s")
    assert not leaks(done)
