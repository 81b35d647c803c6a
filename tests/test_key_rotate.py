"""Keys that change: `cpcm key rotate` gives a worker a new key; the old key reads nothing written
after, the new key reads everything current, in one commit; a supervisor rotates for a worker;
refusals change nothing; and a sync after a rotation re-encrypts records written offline to the old key."""
from __future__ import annotations

import json
import os
import stat

import pytest

from conftest import NOW, Cli, commit_count, git, git_status, head, make_identity, record_files, register, signing_line
from test_conference import new_conference
from test_sync import VISIT, Laptops
from cpcm.crypto import cipher
from cpcm.crypto import identity as identity_mod
from cpcm.store.layout import case_dir

LATER = "2026-11-24T09:00:00+03:00"


def keys_of(path):
    return identity_mod.load(path, lambda: None).keys


def reads(path, identity_file) -> bool:
    try:
        cipher.decrypt(path.read_bytes(), keys_of(identity_file))
        return True
    except cipher.NotARecipient:
        return False


def all_records(root):
    return sorted(p for top in ("cases", "conferences") for p in (root / top).rglob("*.yaml.age"))


def team_entry(root, worker):
    from cpcm.store.config import load_team

    return load_team(root).get(worker, include_removed=True)


def test_key_rotate__the_new_key_reads_everything_current_the_old_nothing_new(cli_as, repo, team, tmp_env):
    amina = cli_as("amina")
    case_id = register(amina)
    other = register(cli_as("otieno"))
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    path = team["amina"][0]
    old_copy = tmp_env / "old-amina.txt"
    old_copy.write_bytes(path.read_bytes())
    before = commit_count(repo)

    done = amina("key", "rotate", "--no-passphrase", "--json")
    assert done.code == 0, done.stderr
    out = done.json()
    assert commit_count(repo) == before + 1  # one commit
    assert git(repo, "log", "-1", "--format=%s %ae").strip() == "team rotate amina amina@test.cpcm.invalid"
    assert git_status(repo) == []
    assert out["worker"] == "amina" and out["reencrypted"]["cases"] == [case_id] and out["not_reencrypted"] == []
    new_recipient = out["recipient"]
    assert new_recipient != team["amina"][1]
    assert identity_mod.load(path, lambda: None).recipient == new_recipient  # the new identity took the old one's place
    kept = tmp_env / "keys" / out["old_identity"].rsplit("/", 1)[1]
    assert kept.name.startswith("amina.txt.old-") and kept.read_bytes() == old_copy.read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    worker = team_entry(repo, "amina")
    assert worker.recipient == new_recipient
    assert [(k.recipient, k.reason, k.by, k.recovered) for k in worker.past_keys] == [(team["amina"][1], "routine", "amina", False)]

    # every current record of the cases and conferences amina reads opens with the new key only
    for p in record_files(repo, case_id):
        assert reads(p, path) and not reads(p, old_copy)
    conf_records = sorted((repo / "conferences" / conf).glob("*.yaml.age"))
    assert conf_records and all(reads(p, path) and not reads(p, old_copy) for p in conf_records)
    # others' cases were not touched, and the other readers still read amina's case
    assert not any(reads(p, path) for p in record_files(repo, other))
    assert all(reads(p, team["sup"][0]) for p in record_files(repo, case_id))

    # she works on with the new key; the old key is no member and reads nothing written after
    assert amina("followup", case_id, *VISIT).code == 0
    assert amina("show", case_id).code == 0
    old_cli = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(old_copy), "CPCM_NOW": NOW})
    assert old_cli("show", case_id).code == 5
    assert not any(reads(p, old_copy) for p in all_records(repo))
    # the old key still opens the history from before the rotation (what git keeps: docs/security.md)
    first = record_files(repo, case_id)[0].relative_to(repo).as_posix()
    old_blob = git(repo, "show", f"HEAD~2:{first}", binary=True)
    assert cipher.decrypt(old_blob, keys_of(old_copy))
    assert cli_as("sup")("verify").code == 0, cli_as("sup")("verify").stdout


def test_key_rotate__a_passphrase_protects_the_new_identity(cli_as, repo, team, tmp_env):
    register(cli_as("amina"))
    secret = tmp_env / "pass.txt"
    secret.write_text("correct horse battery\n")
    done = cli_as("amina")("key", "rotate", "--json", env={"CPCM_PASSPHRASE_FILE": str(secret)})
    assert done.code == 0, done.stderr
    data = team["amina"][0].read_bytes()
    assert identity_mod.is_protected(data)
    assert cli_as("amina")("list", env={"CPCM_PASSPHRASE_FILE": str(secret)}).code == 0
    # no passphrase, no terminal: refused before anything is written
    before = head(repo)
    refused = cli_as("otieno")("key", "rotate")
    assert refused.code == 2 and "passphrase" in refused.stderr
    assert head(repo) == before and not list((tmp_env / "keys").glob("otieno.txt.*"))


def test_key_rotate__a_supervisor_rotates_a_caseworkers_key(cli_as, repo, team, tmp_env):
    case_id = register(cli_as("otieno"))
    new_path = tmp_env / "keys" / "otieno-new.txt"
    new_recipient = make_identity(new_path)
    before = commit_count(repo)
    done = cli_as("sup")("key", "rotate", "--worker", "otieno", "--recipient", new_recipient, "--signing-key",
                         signing_line(new_path), "--reason", "lost", "--json")
    assert done.code == 0, done.stderr
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s %ae").strip() == "team rotate otieno sup@test.cpcm.invalid"
    worker = team_entry(repo, "otieno")
    assert worker.recipient == new_recipient and worker.past_keys[0].by == "sup" and worker.past_keys[0].reason == "lost"
    for p in record_files(repo, case_id):
        assert reads(p, new_path) and not reads(p, team["otieno"][0])
    new_cli = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(new_path), "CPCM_NOW": NOW})
    assert new_cli("followup", case_id, *VISIT).code == 0
    assert cli_as("otieno")("list").code == 5  # the lost key is no member any more
    assert not list((tmp_env / "keys").glob("*.old-*"))  # no identity file of the supervisor changes


@pytest.mark.parametrize("reason,said", [("lost", "cpcm team revoke"), ("stolen", "revoked from now"),
                                         ("routine", "can be destroyed")])
def test_key_rotate__for_a_stolen_key_the_supervisor_is_told_the_old_laptop_can_still_sync(cli_as, repo, tmp_env, reason, said):
    """The old key of a stolen laptop is not in the worker's hands to destroy: the message names
    what it can still do and the way to refuse it (docs/security.md)."""
    new_recipient = make_identity(tmp_env / "keys" / "otieno-new.txt")
    done = cli_as("sup")("key", "rotate", "--worker", "otieno", "--recipient", new_recipient, "--signing-key",
                         signing_line(tmp_env / "keys" / "otieno-new.txt"), "--reason", reason)
    assert done.code == 0, done.stderr
    assert said in done.stderr
    assert ("can be destroyed" in done.stderr) == (reason == "routine")


@pytest.mark.parametrize("who,args,code,rule", [
    ("amina", ["--worker", "otieno", "--recipient", "NEW"], 4, "key-rotate-needs-supervisor"),
    ("sup", ["--worker", "nobody", "--recipient", "NEW"], 3, None),
    ("sup", ["--worker", "gone", "--recipient", "NEW"], 4, "key-rotate-removed"),
    ("sup", ["--worker", "otieno", "--recipient", "AMINA"], 4, "recipient-exists"),
    ("sup", ["--worker", "otieno", "--recipient", "OTIENO"], 4, "key-reused"),
    ("sup", ["--worker", "otieno", "--recipient", "age1notakey"], 4, None),
    ("sup", ["--worker", "otieno", "--recipient", "NEW", "--reason", "bored"], 4, None),
    ("sup", ["--worker", "otieno"], 2, None),
])
def test_key_rotate__refusals_change_nothing(cli_as, repo, team, tmp_env, who, args, code, rule):
    case_id = register(cli_as("otieno"))
    gone = tmp_env / "keys" / "gone.txt"
    sup = cli_as("sup")
    assert sup("team", "add", "gone", "--role", "caseworker", "--recipient", make_identity(gone)).code == 0
    assert sup("team", "remove", "gone").code == 0
    fresh = make_identity(tmp_env / "keys" / "fresh.txt")
    swap = {"NEW": fresh, "AMINA": team["amina"][1], "OTIENO": team["otieno"][1]}
    before = head(repo), (repo / ".cpcm" / "team.yaml").read_bytes(), {p: p.read_bytes() for p in record_files(repo, case_id)}
    done = cli_as(who)("key", "rotate", *[swap.get(a, a) for a in args], "--json")
    assert done.code == code, (done.stdout, done.stderr)
    if rule:
        assert done.json()["rule"] == rule
    assert fresh not in done.stderr
    assert (head(repo), (repo / ".cpcm" / "team.yaml").read_bytes(), {p: p.read_bytes() for p in record_files(repo, case_id)}) == before
    assert git_status(repo) == []


def test_key_rotate__a_refused_own_rotation_leaves_no_new_identity(cli_as, repo, team, tmp_env):
    """The new identity is written before the commit; a refused change deletes it and keeps the old."""
    register(cli_as("amina"))
    old = team["amina"][0].read_bytes()
    before = head(repo)
    done = cli_as("amina")("key", "rotate", "--no-passphrase", "--reason", "bored")
    assert done.code == 4 and "reason" in done.stderr
    assert head(repo) == before and team["amina"][0].read_bytes() == old
    assert sorted(p.name for p in (tmp_env / "keys").iterdir()) == ["amina.txt", "otieno.txt", "sup.txt"]


def test_key_rotate__a_sync_re_encrypts_records_written_offline_to_the_old_key(repo, team, tmp_env):
    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    laptops.sync("sup")
    sup = laptops.cli("sup")
    # offline on the supervisor's laptop: a note to amina's case, encrypted to amina's old key
    assert sup("note", case_id, "--text", "called the school").code == 0
    offline = sorted(case_dir(laptops.clones["sup"], case_id).glob("*.yaml.age"))[-1].name
    old_copy = tmp_env / "old-amina.txt"
    old_copy.write_bytes(team["amina"][0].read_bytes())
    assert amina("key", "rotate", "--no-passphrase").code == 0
    laptops.sync("amina")
    merged = laptops.sync("sup")  # the rotation arrives with the note still to the old key
    assert case_id in merged["reencrypted"] and merged["not_reencrypted"] == []
    note = case_dir(laptops.clones["sup"], case_id) / offline
    assert reads(note, team["amina"][0]) and not reads(note, old_copy)
    laptops.sync("amina")
    assert amina("show", case_id, "--json").code == 0
    mine = case_dir(laptops.clones["amina"], case_id)
    assert all(reads(p, team["amina"][0]) for p in mine.glob("*.yaml.age"))
    assert not any(reads(p, old_copy) for p in mine.glob("*.yaml.age"))
    verify = laptops.cli("sup")("verify")
    assert verify.code == 0, verify.stdout


def test_key_rotate__a_second_laptop_with_the_old_key_syncs_once_more(repo, team, tmp_env):
    """Records amina wrote offline on another laptop, with her old key: its next sync re-encrypts
    them to her new key and is pushed; then the old key is refused, with what to do."""
    import subprocess

    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    old_copy = tmp_env / "old-amina.txt"
    old_copy.write_bytes(team["amina"][0].read_bytes())
    os.chmod(old_copy, 0o600)
    second = tmp_env / "laptop2"
    subprocess.run(["git", "clone", "-q", str(laptops.bare), str(second)], check=True, capture_output=True)
    two = Cli({"CPCM_REPO": str(second), "CPCM_IDENTITY": str(old_copy), "CPCM_NOW": NOW})
    assert two("followup", case_id, *VISIT).code == 0
    written = sorted(case_dir(second, case_id).glob("*.yaml.age"))[-1].name
    assert amina("key", "rotate", "--no-passphrase").code == 0
    laptops.sync("amina")
    done = two("sync", "--json")
    assert done.code == 0, done.stdout + done.stderr
    assert done.json()["pushed"] and case_id in done.json()["reencrypted"]
    assert any("your key was replaced" in n for n in done.json()["notes"])
    laptops.sync("amina")
    visit = case_dir(laptops.clones["amina"], case_id) / written
    assert reads(visit, team["amina"][0]) and not reads(visit, old_copy)
    again = two("list")
    assert again.code == 5 and "your key was replaced" in again.stderr
    laptops.sync("sup")
    verify = laptops.cli("sup")("verify")
    assert verify.code == 0, verify.stdout


def test_key_rotate__a_stolen_key_is_revoked_its_laptop_does_not_sync_once_more(repo, team, tmp_env):
    """amina's laptop is stolen: the supervisor replaces her key with --reason stolen. The old
    signing key is revoked from then (as team revoke does), so the thief's copy, which never saw the
    change, cannot sync once more (nothing merged, nothing pushed), and what it signs is refused."""
    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    laptops.sync("sup")
    new_recipient = make_identity(tmp_env / "keys" / "amina-new.txt")
    done = laptops.cli("sup")("key", "rotate", "--worker", "amina", "--recipient", new_recipient, "--signing-key",
                              signing_line(tmp_env / "keys" / "amina-new.txt"), "--reason", "stolen")
    assert done.code == 0, done.stderr
    *old_keys, new_key = team_entry(repo, "amina").signing_keys
    assert old_keys and all(k.revoked for k in old_keys) and not new_key.revoked
    laptops.sync("sup")
    assert amina("note", case_id, "--text", "written with the stolen key").code == 0
    shared = git(laptops.bare, "rev-parse", "main").strip()
    refused = amina("sync")
    assert refused.code == 5 and "no longer syncs" in refused.stderr, refused.stderr
    assert git(laptops.bare, "rev-parse", "main").strip() == shared  # nothing pushed
    bundle = tmp_env / "stolen.bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    applied = laptops.cli("sup")("bundle", "apply", str(bundle))
    assert applied.code == 4 and "revoked-key" in applied.stderr


def test_key_rotate__a_laptop_whose_key_was_replaced_as_compromised_is_told_how_its_earlier_work_reaches_the_team(
        repo, team, tmp_env):
    """amina's key leaks while her laptop holds a note she wrote offline, before the supervisor
    replaces the key with --reason compromised. Her laptop syncs no more; the refusal says how
    that note reaches the team (a bundle a supervisor applies: what was signed before the change
    verifies), and following it brings the note in. (The change is dated after the commits before
    it: a commit's date is its maker's clock.)"""
    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    laptops.sync("sup")
    assert amina("note", case_id, "--text", "written offline before the key leaked").code == 0
    later = "2099-01-05T09:00:00+03:00"
    sup = laptops.cli("sup", CPCM_NOW=later)
    new_recipient = make_identity(tmp_env / "keys" / "amina-new.txt")
    done = sup("key", "rotate", "--worker", "amina", "--recipient", new_recipient, "--signing-key",
               signing_line(tmp_env / "keys" / "amina-new.txt"), "--reason", "compromised")
    assert done.code == 0, done.stderr
    laptops.sync("sup")
    refused = laptops.cli("amina", CPCM_NOW=later)("sync")
    assert refused.code == 5 and "no longer syncs" in refused.stderr, refused.stderr
    assert "cpcm bundle create FILE" in refused.stderr and "cpcm bundle apply FILE" in refused.stderr, refused.stderr
    bundle = tmp_env / "before.bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    applied = sup("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json()["records"] == 1 and applied.json()["cases"] == [case_id]
    kinds = [e["kind"] for e in sup("show", case_id, "--json").json()["history"]]
    assert kinds.count("note") == 1


def test_key_rotate__a_bundle_made_for_the_earlier_key_applies_with_the_earlier_identity_kept(repo, team, tmp_env):
    """amina's bundle is encrypted to the team's keys as her copy knows them; the supervisor replaces their key before
    applying it. The earlier identity kept beside the new one (cpcm key rotate) opens it, for that file only: the merge
    is the current key's."""
    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    case_id = register(amina)
    bundle = tmp_env / "amina.bundle"
    assert amina("bundle", "create", str(bundle)).code == 0
    sup = laptops.cli("sup")
    assert sup("key", "rotate", "--no-passphrase").code == 0
    earlier = next(team["sup"][0].parent.glob(f"{team['sup'][0].name}.old-*"))
    assert not reads(bundle, team["sup"][0]) and reads(bundle, earlier)
    applied = sup("bundle", "apply", str(bundle), "--json")
    assert applied.code == 0, applied.stderr
    assert applied.json()["cases"] == [case_id] and applied.json()["by"] == {"amina": 1}, applied.json()
    subject, email = git(repo, "log", "-1", "--format=%s|%ae").strip().split("|")
    assert subject.startswith("sync merge ") and email == "sup@test.cpcm.invalid"
    # her records, on the supervisor's earlier key, are brought to the new one by her next sync (docs/team.md, 'Keys
    # that change'), not by this merge: the earlier key opened the bundle only
    assert applied.json()["not_reencrypted"] == [case_id]
    assert git_status(repo) == []
    # the merge is signed with the current key: what verify reports is that case alone, until her sync
    assert [line.split("\t")[0] for line in sup("verify").stdout.splitlines()[1:]] == ["record-unreadable"]


def test_key_rotate__an_own_rotation_for_a_compromised_key_revokes_nothing_and_verifies(cli_as, repo):
    """Her own rotation is signed with the old key: it ends that key and revokes none of it, or
    the rotation itself (and what she signed just before it) would be refused."""
    amina = cli_as("amina")
    register(amina)
    assert amina("key", "rotate", "--reason", "compromised", "--no-passphrase").code == 0
    assert not any(k.revoked for k in team_entry(repo, "amina").signing_keys)
    verify = amina("verify")
    assert verify.code == 0, verify.stdout


def test_key_rotate__records_to_the_old_key_that_amina_cannot_read_are_re_encrypted_by_their_writer(repo, team, tmp_env):
    """The supervisor's offline note reaches amina (new key) first: she cannot re-encrypt it and
    says so; the supervisor's next sync does."""
    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    case_id = register(amina)
    laptops.sync("amina")
    laptops.sync("sup")
    old_copy = tmp_env / "old-amina.txt"
    old_copy.write_bytes(team["amina"][0].read_bytes())
    assert amina("key", "rotate", "--no-passphrase").code == 0  # not synced yet
    sup = laptops.cli("sup")
    assert sup("note", case_id, "--text", "called the school").code == 0
    note = sorted(case_dir(laptops.clones["sup"], case_id).glob("*.yaml.age"))[-1].name
    # the supervisor pushes first (before the rotation reached the remote)
    pushed = laptops.sync("sup")
    assert pushed["pushed"]
    merged = laptops.sync("amina")
    assert case_id in merged["not_reencrypted"]
    assert not reads(case_dir(laptops.clones["amina"], case_id) / note, team["amina"][0])
    stopped = amina("show", case_id)  # she reads the case: the refusal says the record is on her earlier key, and who fixes it
    assert stopped.code == 5 and "written to your earlier key" in stopped.stderr and "next cpcm sync" in stopped.stderr, stopped.stderr
    assert "Only the case's worker" not in stopped.stderr
    fixed = laptops.sync("sup")
    assert case_id in fixed["reencrypted"]
    laptops.sync("amina")
    assert reads(case_dir(laptops.clones["amina"], case_id) / note, team["amina"][0])
    assert amina("show", case_id).code == 0


def test_key_rotate__the_folders_left_to_the_old_key_are_named_for_what_they_are_a_complaint_never(cli_as, repo, tmp_env):
    """A second supervisor rotates amina's key: the supervision session sup held with her is not
    theirs to read, so it keeps its records encrypted to the old key and the warning says so, as a
    supervision session; a complaint amina recorded about that supervisor is left too, and is
    neither named nor counted to them (it is about them)."""
    from conftest import CANARY

    sup, amina = cli_as("sup"), cli_as("amina")
    sup2_key = tmp_env / "keys" / "sup2.txt"
    sup2_key.parent.mkdir(parents=True, exist_ok=True)
    assert sup("team", "add", "sup2", "--role", "supervisor", "--recipient", make_identity(sup2_key)).code == 0
    session = sup("supervision", "record", "--no-input", "--json", "--worker", "amina", "--kind", "support")
    assert session.code == 0, session.stderr
    session_id = session.json()["session_id"]
    complaint = amina("complaint", "record", "--json", "--from", "child", "--setting", "residential", "--about-worker", "sup2",
                      "--summary", CANARY)
    assert complaint.code == 0, complaint.stderr
    complaint_id = complaint.json()["complaint_id"]
    new_path = tmp_env / "keys" / "amina-new.txt"
    sup2 = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(sup2_key), "CPCM_NOW": NOW})
    done = sup2("key", "rotate", "--worker", "amina", "--recipient", make_identity(new_path), "--signing-key",
                signing_line(new_path))
    assert done.code == 0, done.stderr
    assert (f"warning: 1 supervision session(s) you cannot read keep their records encrypted to the old key (new records use "
            f"the new one): {session_id}") in done.stderr, done.stderr
    assert complaint_id not in done.stdout + done.stderr and "complaint" not in done.stdout + done.stderr.lower()
    assert "folder(s)" not in done.stderr


def test_key_rotate__a_warning_counts_the_folders_by_what_they_are():
    from cpcm.cli.common import folders_counted

    assert folders_counted(["CP-AAAA-AAAA", "CC-BBBB-BBBB", "CP-CCCC-CCCC"]) == "2 case(s) and 1 conference(s)"
    assert folders_counted(["SV-AAAA-AAAA"]) == "1 supervision session(s)"
    assert folders_counted(["CR-0000-0005", "CC-BBBB-BBBB", "CP-AAAA-AAAA"]) == \
        "1 case(s), 1 conference(s) and the confidentiality register (Form 5)"
