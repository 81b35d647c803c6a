"""A laptop dies (or is stolen) and the worker starts again on a new one, walked through the CLI as
the team would (docs/team.md, 'A new laptop'): a supervisor (sup) and two caseworkers (amina, and
otieno in the role of her colleague), each with a copy, meeting through a folder remote. amina
works a week and syncs, works two more days without syncing (a follow-up, a note, a plan), and
her laptop's folder and key file are gone. She makes a new key on a new laptop and gives its two
public lines; the supervisor replaces her key in the team (`cpcm key rotate --worker`: every
case she reads re-encrypted to the new key, in one commit) and syncs; amina copies the shared
place (`git clone`) and works on. Each test runs alone."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from conftest import Cli, git, head, record_files, register
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_key_rotate import reads
from test_sync import VISIT, Laptops

WEEK = "2026-11-30T09:00:00+03:00"  # a week after the registration (conftest NOW): the last sync
OFFLINE = "2026-12-02T09:00:00+03:00"  # two days later, never synced
NEW = "2026-12-03T09:00:00+03:00"  # the new laptop
REVOKED = "2099-01-05T09:00:00+03:00"  # a stolen key's replacement, after every commit's own date


def _week_then_two_days_offline(laptops: Laptops) -> tuple[str, str]:
    """amina's week (registration, initial assessment, a follow-up), synced by everyone; then two
    days on her laptop alone (a follow-up, a note, a comprehensive assessment and a plan version).
    Returns the case and the commit of the team's last sync with her."""
    amina = laptops.laptop("amina")
    laptops.laptop("otieno")
    case_id = register(amina)
    week = laptops.cli("amina", CPCM_NOW=WEEK)
    assert week("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert week("followup", case_id, *VISIT).code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    laptops.sync("otieno")
    synced = head(laptops.clones["amina"])
    later = laptops.cli("amina", CPCM_NOW=OFFLINE)
    assert later("followup", case_id, *VISIT).code == 0
    assert later("note", case_id, "--text", "called the school").code == 0
    assert later("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert later("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    return case_id, synced


def _new_key(tmp_env) -> tuple[Cli, str, str]:
    """amina's new laptop: a new home, `cpcm key new` at its default place, and the two public
    lines she gives her supervisor (`cpcm key show`, `cpcm key show --signing`)."""
    home = tmp_env / "new-laptop-home"
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "CPCM_NOW": NEW}
    keys = Cli(env)
    made = keys("key", "new", "--no-passphrase")
    assert made.code == 0, made.stderr
    recipient = keys("key", "show").stdout.strip()
    assert recipient == made.stdout.strip().splitlines()[-1]
    line = keys("key", "show", "--signing").stdout.strip()
    assert line.startswith("ssh-ed25519 ")
    return keys, recipient, line


def _clone(laptops: Laptops, keys: Cli, tmp_env) -> tuple[Cli, object]:
    folder = tmp_env / "new-laptop" / "casefiles"
    subprocess.run(["git", "clone", "-q", str(laptops.bare), str(folder)], check=True, capture_output=True)
    return Cli({**keys.env, "CPCM_REPO": str(folder)}), folder


def _record_ids(cli: Cli, case_id: str) -> list[str]:
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    return [e["record_id"] for e in shown.json()["history"]]


def test_new_laptop__the_supervisor_is_asked_for_the_new_keys_signing_line(repo, team, tmp_env):
    """`key rotate --worker amina --recipient age1...` alone left amina's old signing key in use in
    the team: every commit her new key signed was refused by every other copy (unknown-signer),
    her own sync pushed them to the shared place, after which every colleague's sync was refused,
    and `cpcm key publish` could not record the new key (one was recorded). Refused now, before
    anything is written, saying where the line comes from."""
    laptops = Laptops(repo, team, tmp_env)
    case_id, _ = _week_then_two_days_offline(laptops)
    shutil.rmtree(laptops.clones["amina"])
    team["amina"][0].unlink()
    keys, recipient, line = _new_key(tmp_env)
    sup = laptops.cli("sup", CPCM_NOW=NEW)
    before = head(repo), (repo / ".cpcm" / "team.yaml").read_bytes(), {p: p.read_bytes() for p in record_files(repo, case_id)}
    refused = sup("key", "rotate", "--worker", "amina", "--recipient", recipient, "--reason", "lost")
    assert refused.code == 2, refused.stderr
    assert "--signing-key is needed" in refused.stderr and "cpcm key show --signing" in refused.stderr, refused.stderr
    assert "Nothing was changed" in refused.stderr and recipient not in refused.stderr
    assert (head(repo), (repo / ".cpcm" / "team.yaml").read_bytes(),
            {p: p.read_bytes() for p in record_files(repo, case_id)}) == before
    # as the refusal says: both lines
    done = sup("key", "rotate", "--worker", "amina", "--recipient", recipient, "--signing-key", line, "--reason", "lost")
    assert done.code == 0, done.stderr
    laptops.sync("sup")
    new, _ = _clone(laptops, keys, tmp_env)
    assert new("followup", case_id, *VISIT).code == 0
    assert new("sync").code == 0
    for worker in ("sup", "otieno"):
        synced = laptops.cli(worker, CPCM_NOW=NEW)("sync")
        assert synced.code == 0, synced.stderr  # the new key's commit verifies on every copy
    for cli in (new, sup, laptops.cli("otieno", CPCM_NOW=NEW)):
        verified = cli("verify")
        assert verified.code == 0, verified.stdout


def test_new_laptop__a_dead_laptop_amina_starts_again_with_what_the_team_had(repo, team, tmp_env):
    laptops = Laptops(repo, team, tmp_env)
    case_id, synced = _week_then_two_days_offline(laptops)
    before_loss = _record_ids(laptops.cli("sup", CPCM_NOW=NEW), case_id)
    old_key = team["amina"][0]
    shutil.rmtree(laptops.clones["amina"])  # the laptop dies: its copy and her key are gone
    old_key.unlink()

    keys, recipient, line = _new_key(tmp_env)
    sup = laptops.cli("sup", CPCM_NOW=NEW)
    done = sup("key", "rotate", "--worker", "amina", "--recipient", recipient, "--signing-key", line, "--reason", "lost",
               "--json")
    assert done.code == 0, done.stderr
    assert done.json()["reencrypted"]["cases"] == [case_id] and done.json()["not_reencrypted"] == []
    assert git(repo, "log", "-1", "--format=%s").strip() == "team rotate amina"
    laptops.sync("sup")

    new, folder = _clone(laptops, keys, tmp_env)
    # her cases open with the new key: list, due, show; what she wrote before the loss reads fine
    listed = new("list", "--json")
    assert listed.code == 0 and [c["case_id"] for c in listed.json()] == [case_id], listed.stderr
    due = new("due", "--json")
    assert due.code == 0 and any(i["case_id"] == case_id for i in due.json()), due.stderr
    assert _record_ids(new, case_id) == before_loss
    assert all(reads(p, Path(keys.env["XDG_CONFIG_HOME"]) / "cpcm" / "identity") for p in record_files(folder, case_id))
    # the two unsynced days are not there, and nothing pretends they are: the case stands as the
    # team last had it, and the copy says it has not synced yet (copied at the shared place's state)
    shown = new("show", case_id, "--json").json()
    kinds = [e["kind"] for e in shown["history"]]
    assert "note" not in kinds and "plan" not in kinds and kinds.count("followup") == 1
    assert shown["stage"] == "initial_assessment"
    remotes = new("remote", "list", "--json").json()
    assert remotes[0]["last_synced"] is None and remotes[0]["copied_at"] == head(folder)
    assert git(folder, "merge-base", "--is-ancestor", synced, "HEAD").strip() == ""

    # she writes again what was lost, and every copy goes on syncing
    assert new("followup", case_id, *VISIT).code == 0
    assert new("note", case_id, "--text", "called the school").code == 0
    pushed = new("sync", "--json")
    assert pushed.code == 0 and pushed.json()["pushed"], pushed.stderr
    for worker in ("sup", "otieno"):
        synced_now = laptops.cli(worker, CPCM_NOW=NEW)("sync", "--json")
        assert synced_now.code == 0, synced_now.stderr
    assert laptops.cli("sup", CPCM_NOW=NEW)("note", case_id, "--text", "supervision done").code == 0
    laptops.sync("sup")
    came = new("sync", "--json")
    assert came.code == 0 and came.json()["records"] == 1, came.stderr
    for cli in (new, laptops.cli("sup", CPCM_NOW=NEW), laptops.cli("otieno", CPCM_NOW=NEW)):
        verified = cli("verify")
        assert verified.code == 0, verified.stdout


def test_new_laptop__a_copy_made_before_the_supervisor_replaced_the_key_joins_at_its_next_sync(repo, team, tmp_env):
    """amina copies the shared place first (the supervisor has not replaced her key yet): every
    command refuses her, saying what to do; once the change is on the shared place, `cpcm sync`
    brings her in."""
    laptops = Laptops(repo, team, tmp_env)
    case_id, _ = _week_then_two_days_offline(laptops)
    shutil.rmtree(laptops.clones["amina"])
    team["amina"][0].unlink()
    keys, recipient, line = _new_key(tmp_env)
    new, _ = _clone(laptops, keys, tmp_env)
    # a member already: the way back is the supervisor replacing her key, not adding her again
    # (the same id is refused; a new one would be a new worker, with none of her cases)
    replace = f"cpcm key rotate --worker YOUR-ID --recipient {recipient} --signing-key KEY --reason lost"
    early = new("list")
    assert early.code == 5 and replace in early.stderr, early.stderr
    early_sync = new("sync")
    assert early_sync.code == 5 and replace in early_sync.stderr, early_sync.stderr
    sup = laptops.cli("sup", CPCM_NOW=NEW)
    assert sup("key", "rotate", "--worker", "amina", "--recipient", recipient, "--signing-key", line, "--reason", "lost").code == 0
    laptops.sync("sup")
    joined = new("sync", "--json")
    assert joined.code == 0 and joined.json()["joined"], joined.stderr
    assert new("show", case_id).code == 0
    assert new("verify").code == 0


def test_new_laptop__stolen_the_thiefs_copy_syncs_nothing_and_its_key_opens_nothing_new(repo, team, tmp_env):
    """The stolen variant: the supervisor replaces amina's key with --reason stolen (its signing key
    revoked from then). The thief's copy (the old laptop, with her key) is refused at sync and
    pushes nothing; whatever the team writes after the change, and the case as re-encrypted, does
    not open with the old key. (The revocation is dated by the supervisor's clock, CPCM_NOW here;
    a commit's date is the clock of the machine that makes it, so the change is dated after every
    commit of the test: docs/security.md, signed history.)"""
    laptops = Laptops(repo, team, tmp_env)
    case_id, _ = _week_then_two_days_offline(laptops)
    old_key = tmp_env / "stolen.key"
    shutil.copy2(team["amina"][0], old_key)  # in the thief's hands, with the old copy
    thief = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(old_key), "CPCM_NOW": NEW})
    keys, recipient, line = _new_key(tmp_env)
    sup = laptops.cli("sup", CPCM_NOW=REVOKED)
    done = sup("key", "rotate", "--worker", "amina", "--recipient", recipient, "--signing-key", line, "--reason", "stolen")
    assert done.code == 0, done.stderr
    assert "revoked" in done.stderr
    laptops.sync("sup")
    new, folder = _clone(laptops, keys, tmp_env)
    assert new("followup", case_id, *VISIT).code == 0
    assert new("sync").code == 0
    assert sup("note", case_id, "--text", "after the theft").code == 0
    laptops.sync("sup")
    assert new("sync").code == 0

    assert thief("note", case_id, "--text", "written by whoever holds the laptop").code == 0
    shared = git(laptops.bare, "rev-parse", "main").strip()
    refused = thief("sync")
    assert refused.code == 5 and "no longer syncs" in refused.stderr, refused.stderr
    assert git(laptops.bare, "rev-parse", "main").strip() == shared  # nothing pushed
    for path in record_files(folder, case_id):  # the case as it is now, every record
        assert not reads(path, old_key)
        assert reads(path, Path(keys.env["XDG_CONFIG_HOME"]) / "cpcm" / "identity")
    for cli in (new, sup, laptops.cli("otieno", CPCM_NOW=NEW)):
        assert cli("sync").code == 0
        verified = cli("verify")
        assert verified.code == 0, verified.stdout


def new_laptop_block() -> str:
    """The shell commands of "A new laptop" in docs/team.md, as written."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "team.md").read_text(encoding="utf-8")
    return text.split("\n### A new laptop (the old one died, was lost or stolen)\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]


def test_new_laptop__the_steps_of_docs_team_md_run_as_written(repo, team, tmp_env):
    """The page's three steps run in a shell, each by whom it names: the worker on the new laptop
    (its own home, a passphrase-protected key made in the default place), the supervisor on their
    copy. Only what the page leaves to the reader is filled in: the stick's path and the two
    public lines the worker gives."""
    import os
    import sys

    cpcm = str(Path(sys.executable).parent / "cpcm")
    base = {k: v for k, v in os.environ.items() if not k.startswith("CPCM_") and k != "XDG_CONFIG_HOME"}
    base.update({"CPCM_NOW": NEW, "PATH": f"{Path(cpcm).parent}{os.pathsep}{base.get('PATH', '')}"})
    shared = tmp_env / "usb" / "kisumu.git"
    sup = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NEW})
    assert sup("remote", "add", "usb", str(shared), "--create").code == 0 and sup("sync", "usb").code == 0
    old = tmp_env / "old-laptop"
    git(tmp_env, "clone", "-q", "-o", "usb", str(shared), str(old))
    amina_old = Cli({"CPCM_REPO": str(old), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NEW})
    case_id = register(amina_old)
    assert amina_old("sync", "usb").code == 0 and sup("sync", "usb").code == 0
    shutil.rmtree(old)  # the laptop dies
    team["amina"][0].unlink()

    passphrase = tmp_env / "new-laptop" / "passphrase"
    passphrase.parent.mkdir(parents=True)
    passphrase.write_text("a long passphrase for the new laptop\n")
    passphrase.chmod(0o600)
    amina_env = {**base, "HOME": str(tmp_env / "new-laptop"), "CPCM_PASSPHRASE_FILE": str(passphrase)}
    sup_env = {**base, "HOME": str(tmp_env / "sup-home"), "CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["sup"][0])}
    script = new_laptop_block().replace("\\\n", "").replace("/media/usb/kisumu.git", str(shared))
    steps = re.split(r"\n(?=# \d\. )", script)
    assert [s[:5] for s in steps] == ["# 1. ", "# 2. ", "# 3. "], steps

    def run(part: str, env: dict) -> str:
        ran = subprocess.run(["bash", "-e", "-x", "-c", part], cwd=tmp_env, env=env, capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr[-3000:]
        return ran.stdout

    recipient, line = run(steps[0], amina_env).split("\n")[:2]
    rotate = '--recipient age1... --signing-key "ssh-ed25519 ..."'
    assert rotate in steps[1]  # the page changed: fill in what it leaves to the reader again
    run(steps[1].replace(rotate, f"--recipient {recipient} --signing-key '{line}'"), sup_env)
    due = run(steps[2], amina_env)
    assert case_id in due
    copy = tmp_env / "new-laptop" / "casefiles" / "kisumu"
    amina_new = Cli({"CPCM_REPO": str(copy), "CPCM_NOW": NEW, "HOME": str(tmp_env / "new-laptop"),
                     "XDG_CONFIG_HOME": str(tmp_env / "new-laptop" / ".config"), "CPCM_PASSPHRASE_FILE": str(passphrase)})
    assert amina_new("show", case_id).code == 0
    assert amina_new("followup", case_id, *VISIT).code == 0 and amina_new("sync", "usb").code == 0
    assert sup("sync", "usb").code == 0
    assert sup("verify").code == 0 and amina_new("verify").code == 0
