"""The recovery drill (docs/team.md, "Recovery drill"): the agency's recovery key (`init
--recovery`) reads every case; when every manager's key is lost, it puts one back with `cpcm team
recover`, and the manager with the new key works on as before."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import NOW, Cli, commit_count, git, git_status, head, make_identity, record_files, register, signing_line
from test_conference import new_conference
from test_sync import VISIT
from cpcm.crypto import cipher
from cpcm.crypto import identity as identity_mod


@pytest.fixture
def agency(tmp_env):
    """A repository made by the manager 'mgr' with a recovery recipient; 'amina' is a caseworker.
    Returns (root, {name: identity path}, recovery identity path)."""
    keys = {w: tmp_env / "keys" / f"{w}.txt" for w in ("mgr", "amina")}
    recipients = {w: make_identity(p) for w, p in keys.items()}
    recovery = tmp_env / "safe" / "recovery.key"
    recovery_recipient = make_identity(recovery)
    root = tmp_env / "casefiles"
    mgr = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys["mgr"]), "CPCM_NOW": NOW})
    assert mgr("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "mgr", "--role", "manager", "--timezone",
               "Africa/Nairobi", "--recovery", recovery_recipient, "--recovery-signing-key", signing_line(recovery)).code == 0
    assert mgr("team", "add", "amina", "--role", "caseworker", "--recipient", recipients["amina"],
               "--signing-key", signing_line(keys["amina"])).code == 0
    return root, keys, recovery


def as_key(root, path) -> Cli:
    return Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(path), "CPCM_NOW": NOW})


def test_recovery_drill__every_key_lost_the_recovery_key_puts_the_manager_back(agency, tmp_env):
    root, keys, recovery = agency
    amina, mgr = as_key(root, keys["amina"]), as_key(root, keys["mgr"])
    cases = [register(amina), register(amina)]
    assert amina("followup", cases[0], *VISIT).code == 0
    conf = new_conference(mgr)
    assert mgr("conference", "add-case", conf, cases[0], "--reason", "especially_difficult").code == 0
    for path in keys.values():  # every laptop lost
        path.unlink()

    # the recovery key reads every case, and writes nothing
    reader = as_key(root, recovery)
    shown = reader("show", cases[0], "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["case_id"] == cases[0] and [h["kind"] for h in shown.json()["history"]] == ["registration", "followup"]
    assert sorted(c["case_id"] for c in reader("list", "--json").json()) == sorted(cases)
    before = head(root)
    refused = reader("note", cases[0], "--text", "checked", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "recovery-reads-only"
    assert head(root) == before and git_status(root) == []

    # the manager makes a new key on a new laptop; the agency puts it in the team with the recovery key
    new_key = tmp_env / "laptop2" / "identity"
    new_recipient = as_key(root, new_key)("key", "new", "--out", str(new_key), "--no-passphrase", "--json").json()["recipient"]
    count = commit_count(root)
    done = Cli({"CPCM_REPO": str(root), "CPCM_NOW": NOW})(
        "team", "recover", "mgr", "--recipient", new_recipient, "--recovery-identity", str(recovery), "--reason", "lost",
        "--signing-key", signing_line(new_key), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["recovered"] is True and sorted(done.json()["reencrypted"]["cases"]) == sorted(cases)
    assert done.json()["reencrypted"]["conferences"] == [conf]
    assert commit_count(root) == count + 1
    assert git(root, "log", "-1", "--format=%s %ae").strip() == "team recover mgr mgr@test.cpcm.invalid"
    team = json.loads(Cli({"CPCM_REPO": str(root)})("team", "list", "--json").stdout)
    manager = next(w for w in team if w["id"] == "mgr")
    assert manager["recipient"] == new_recipient
    assert manager["past_keys"][0]["recovered"] is True and manager["past_keys"][0]["reason"] == "lost"
    new_keys = identity_mod.load(new_key, lambda: None).keys
    for case_id in cases:
        for path in record_files(root, case_id):
            cipher.decrypt(path.read_bytes(), new_keys)

    # the manager works normally with the new key: reads, writes, changes the team
    mgr = as_key(root, new_key)
    assert mgr("show", cases[1]).code == 0
    assert mgr("followup", cases[1], *VISIT).code == 0
    assert mgr("conference", "show", conf).code == 0
    otieno_key = tmp_env / "laptop3" / "identity"
    otieno = make_identity(otieno_key)
    assert mgr("team", "add", "otieno", "--role", "supervisor", "--recipient", otieno, "--signing-key", signing_line(otieno_key)).code == 0
    assert as_key(root, otieno_key)("show", cases[0]).code == 0
    # and gives the caseworker a new key of her own
    amina_key = tmp_env / "laptop4" / "identity"
    assert mgr("key", "rotate", "--worker", "amina", "--recipient", make_identity(amina_key), "--reason", "lost",
               "--signing-key", signing_line(amina_key)).code == 0
    assert as_key(root, amina_key)("followup", cases[0], *VISIT).code == 0
    # the recovery commit is signed with the recovery key's signing key, which init recorded
    verify = mgr("verify")
    assert verify.code == 0, verify.stdout


def test_recovery__refused_without_the_recovery_key_or_for_a_caseworker(agency, tmp_env):
    root, keys, recovery = agency
    register(as_key(root, keys["amina"]))
    stranger = tmp_env / "stranger.key"
    make_identity(stranger)
    fresh = make_identity(tmp_env / "fresh.key")
    before = head(root), (root / ".cpcm" / "team.yaml").read_bytes()
    nobody = Cli({"CPCM_REPO": str(root), "CPCM_NOW": NOW})
    wrong = nobody("team", "recover", "mgr", "--recipient", fresh, "--recovery-identity", str(stranger), "--json")
    assert wrong.code == 4 and wrong.json()["rule"] == "recover-not-recovery-key"
    caseworker = nobody("team", "recover", "amina", "--recipient", fresh, "--recovery-identity", str(recovery), "--json")
    assert caseworker.code == 4 and caseworker.json()["rule"] == "recover-needs-supervisor"
    taken = nobody("team", "recover", "mgr", "--recipient", identity_mod.load(keys["amina"], lambda: None).recipient,
                   "--recovery-identity", str(recovery), "--json")
    assert taken.code == 4 and taken.json()["rule"] == "recipient-exists"
    # the manager's signing key is recorded: without the new key's line, every other copy would
    # refuse what the new key signs (unknown-signer), and key publish could not record it
    unsigned = nobody("team", "recover", "mgr", "--recipient", fresh, "--recovery-identity", str(recovery))
    assert unsigned.code == 2 and "--signing-key is needed" in unsigned.stderr, unsigned.stderr
    assert "cpcm team recover mgr --recipient age1... --signing-key" in unsigned.stderr and fresh not in unsigned.stderr
    assert (head(root), (root / ".cpcm" / "team.yaml").read_bytes()) == before
    assert git_status(root) == []


def _recover_on_a_copy(tmp_env, root, keys, recovery, pushed: bool = True) -> tuple[Cli, Cli]:
    """A second copy (a colleague's laptop, a clone with the shared remote); the recovery is made
    on the first copy and pushed (`pushed`; else its sync holds it back). Returns (the first copy's
    cpcm as the recovered manager, the second copy's cpcm as amina)."""
    shared = tmp_env / "usb.git"
    mgr = as_key(root, keys["mgr"])
    assert mgr("remote", "add", "usb", str(shared), "--create").code == 0 and mgr("sync", "usb").code == 0
    other = tmp_env / "laptop-amina"
    git(tmp_env, "clone", "-q", str(shared), str(other))
    amina = as_key(other, keys["amina"])
    assert amina("remote", "add", "usb", str(shared)).code == 0
    new_key = tmp_env / "laptop2" / "identity"
    recipient = make_identity(new_key)
    done = Cli({"CPCM_REPO": str(root), "CPCM_NOW": NOW})(
        "team", "recover", "mgr", "--recipient", recipient, "--recovery-identity", str(recovery), "--signing-key", signing_line(new_key))
    assert done.code == 0, done.stderr
    manager = as_key(root, new_key)
    synced = manager("sync", "usb", "--json")
    if pushed:
        assert synced.code == 0, synced.stderr
    else:  # a recovery signed with a key no copy's config records: every other copy would refuse it, so it is not sent
        assert synced.code == 4 and synced.json()["rule"] == "own-commits-unverified", synced.stdout
        assert "unknown-signer" in synced.json()["message"] and synced.json()["sync"]["pushed"] is False
    return manager, amina


def test_recovery__a_copy_syncs_the_recovery_signed_with_the_recorded_recovery_key(agency, tmp_env):
    root, keys, recovery = agency
    manager, amina = _recover_on_a_copy(tmp_env, root, keys, recovery)
    synced = amina("sync", "usb")
    assert synced.code == 0, synced.stderr
    assert amina("verify").code == 0


def test_recovery__without_the_recovery_signing_key_recorded_the_recovery_is_refused_by_a_copy(tmp_env):
    keys = {w: tmp_env / "keys" / f"{w}.txt" for w in ("mgr", "amina")}
    recipients = {w: make_identity(p) for w, p in keys.items()}
    recovery = tmp_env / "safe" / "recovery.key"
    root = tmp_env / "casefiles"
    mgr = as_key(root, keys["mgr"])
    assert mgr("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "mgr", "--role", "manager", "--timezone",
               "Africa/Nairobi", "--recovery", make_identity(recovery)).code == 0
    assert mgr("team", "add", "amina", "--role", "caseworker", "--recipient", recipients["amina"],
               "--signing-key", signing_line(keys["amina"])).code == 0
    manager, amina = _recover_on_a_copy(tmp_env, root, keys, recovery, pushed=False)
    assert amina("sync", "usb").code == 0  # nothing of it reached the shared place: the colleague syncs on
    assert manager("verify").code == 1


def drill_block() -> str:
    """The shell commands of the "Recovery drill" in docs/team.md, as written."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "team.md").read_text(encoding="utf-8")
    return text.split("\n## Recovery drill\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]


def test_recovery_drill__the_commands_of_docs_team_md_run_as_written(tmp_env):
    """The drill's commands run one by one in a shell, as an agency would type them: a clone of the
    shared copy, the recovery key passphrase-protected, the manager's new key made in the default
    place. Only what the page leaves to the reader is filled in: the paths of the USB stick and the
    safe, the case ID, the follow-up's fields, and the public lines the page says to give."""
    import os
    import subprocess
    import sys

    keys = {w: tmp_env / "keys" / f"{w}.txt" for w in ("wanjiru", "amina")}
    recipients = {w: make_identity(p) for w, p in keys.items()}
    passphrase = tmp_env / "safe" / "passphrase"
    passphrase.parent.mkdir(parents=True)
    passphrase.write_text("a long passphrase for the drill\n")
    passphrase.chmod(0o600)
    cpcm = str(Path(sys.executable).parent / "cpcm")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPCM_") and k != "XDG_CONFIG_HOME"}
    env.update({"CPCM_NOW": NOW, "CPCM_PASSPHRASE_FILE": str(passphrase), "HOME": str(tmp_env / "laptop"),
                "PATH": f"{Path(cpcm).parent}{os.pathsep}{env.get('PATH', '')}"})
    recovery = tmp_env / "safe" / "recovery.key"
    # made here, before the drill (its scrypt of a test's work factor: tests/agemade.py), opened by each command of it
    made = Cli(env)("key", "new", "--out", str(recovery), "--json")
    assert made.code == 0, made.stderr
    recovery_signing = Cli(env)("key", "show", "--signing", "--identity", str(recovery)).stdout.strip()
    root = tmp_env / "casefiles"
    mgr = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys["wanjiru"]), "CPCM_NOW": NOW})
    assert mgr("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "wanjiru", "--role", "manager", "--timezone",
               "Africa/Nairobi", "--recovery", json.loads(made.stdout)["recipient"],
               "--recovery-signing-key", recovery_signing).code == 0
    assert mgr("team", "add", "amina", "--role", "caseworker", "--recipient", recipients["amina"],
               "--signing-key", signing_line(keys["amina"])).code == 0
    case_id = register(as_key(root, keys["amina"]))
    shared = tmp_env / "usb" / "casefiles.git"
    assert mgr("remote", "add", "usb", str(shared), "--create").code == 0 and mgr("sync", "usb").code == 0
    amina_new = tmp_env / "laptop-amina" / "identity"
    make_identity(amina_new)
    for path in keys.values():  # every laptop lost
        path.unlink()

    script = drill_block().replace("\\\n", "")
    filled = {
        "/media/usb/casefiles.git": str(shared),
        "/media/safe/recovery.key": str(recovery),
        "CP-6KG7-M9F9": case_id,
        f"cpcm followup {case_id} ...": f"cpcm followup {case_id} " + " ".join(f"'{arg}'" for arg in VISIT),
        'wanjiru --recipient age1... --signing-key "ssh-ed25519 ..."':
            'wanjiru --recipient "$(cpcm key show)" --signing-key "$(cpcm key show --signing)"',
        'amina --recipient age1... --signing-key "ssh-ed25519 ..."':
            f'amina --recipient "$(cpcm key show --identity {amina_new})" '
            f'--signing-key "$(cpcm key show --signing --identity {amina_new})"',
    }
    for written, value in filled.items():
        assert written in script, written  # the page changed: fill in what it leaves to the reader again
        script = script.replace(written, value)
    before = head(root), git(shared, "rev-parse", "HEAD")
    ran = subprocess.run(["bash", "-e", "-x", "-c", script], cwd=tmp_env, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-3000:]  # `cpcm verify`, the last command, found nothing wrong too

    drill = tmp_env / "drill"
    subjects = [line.split()[:3] for line in git(drill, "log", "--format=%s", "-3").splitlines()]
    assert subjects[0] == ["team", "rotate", "amina"] and subjects[1][:2] == ["followup", case_id]
    assert subjects[2] == ["team", "recover", "wanjiru"]
    assert (head(root), git(shared, "rev-parse", "HEAD")) == before  # a copy: the real one is not touched
    assert git_status(drill) == []
