"""A caseworker's day with a passphrase-protected key and the unlock agent, walked through the
`cpcm` command as she lives it (docs/commands/keys.md, 'cpcm unlock, cpcm lock'; docs/security.md):
the morning's first command asks for the passphrase (and names `cpcm unlock`), a script's stops
(exit 5); `cpcm unlock`, then a day's work with no passphrase (register, assess, consent, refer,
plan, note, show, list, due, render, report, sync with a colleague's copy through a shared
folder); the agent's time runs out (a script: exit 5, nothing written; a terminal: the passphrase
is asked again); `cpcm lock`; `cpcm unlock` twice; a wrong passphrase; a colleague on the same
laptop account, with a key of their own, never acts with hers; `cpcm key rotate` while unlocked;
the agent's folder and socket are private and name no one.

The keys are protected with a low scrypt work factor (a file made as age makes one, which cpcm
opens as any other: cpcm/crypto/agefile.py), so that each passphrase typed costs milliseconds;
only `key rotate` makes a key at pyrage's own work factor (about a second, and its unlock another)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import NOW, Cli, commit_count, git, git_status, last_commit, registration
from test_agent import typed_at_a_terminal
from test_agent_serve import PASSPHRASE, protected, run, unlock
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_referrals import CLINIC, CONSENT

pytestmark = pytest.mark.external


def ok(env: dict, *args: str, who: str | None = None) -> bytes:
    out, err, code, ran = run(env, *args)
    assert code == 0, (args, err)
    assert who is None or ran == who, (args, ran)
    return out


def test_a_day_with_a_protected_key_and_the_agent(tmp_env, team, repo, monkeypatch):
    from cpcm.crypto import agent, identity

    # short enough for a socket's path (at most 107 bytes) wherever pytest's folder is: under a parallel run tmp_env's
    # own path is too long, and the agent then took the home folder's, which other tests' agents share
    runtime = Path(tempfile.mkdtemp(prefix="cpcm-rt-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert agent.socket_dir() == runtime / "cpcm"
    sup = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert sup(*CLINIC).code == 0
    bare = tmp_env / "shared.git"
    assert sup("remote", "add", "origin", str(bare), "--create").code == 0 and sup("sync").code == 0
    laptop = tmp_env / "amina-laptop"
    subprocess.run(["git", "clone", "-q", str(bare), str(laptop)], check=True, capture_output=True)
    key = tmp_env / "keys" / "amina-protected"
    protected(team["amina"][0], key)
    secret = tmp_env / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k not in ("CPCM_PASSPHRASE_FILE", "COLUMNS", "LINES", "CPCM_NO_AGENT")}
    env.update(CPCM_REPO=str(laptop), CPCM_IDENTITY=str(key), CPCM_NOW=NOW, XDG_RUNTIME_DIR=str(runtime),
               PROBE_FILE=str(tmp_env / "probe"))
    try:
        _walk(env, key, secret, laptop, sup, tmp_env, team, agent, identity)
    finally:
        subprocess.run([sys.executable, "-m", "cpcm", "lock"], env=env, capture_output=True, stdin=subprocess.DEVNULL)
        shutil.rmtree(runtime, ignore_errors=True)


def _walk(env, key, secret, laptop, sup, tmp_env, team, agent, identity):
    # the morning: a script stops, naming the way; at the terminal the passphrase is asked, with the tip
    out, err, code, _ = run(env, "due", "--json")
    assert code == 5 and b"cpcm unlock" in err and json.loads(out)["exit_code"] == 5
    shown, code = typed_at_a_terminal(env, PASSPHRASE, "due")
    assert code == 0 and "Passphrase" in shown and "tip: cpcm unlock --for 8h" in shown, shown

    unlock(env, secret)
    sock = agent.socket_path(key)
    assert sock.parent.stat().st_mode & 0o777 == 0o700 and sock.stat().st_mode & 0o777 == 0o600
    assert "amina" not in sock.name and sock.name.startswith("agent-")
    assert sorted(os.listdir(sock.parent)) == [sock.name]

    # the day's work: no passphrase asked of anyone (off a terminal, a command needing one would stop)
    child = tmp_env / "child.json"
    child.write_text(json.dumps(registration()))
    case = json.loads(ok(env, "register", "--from-file", str(child), "--no-input", "--json", who="agent"))["case_id"]
    ok(env, "assess", case, "--type", "initial", "--risk", "high", *INITIAL, "--no-input")
    for giver in ("child", "caregiver"):
        ok(env, "consent", case, *CONSENT, "--by", giver)
    ok(env, "refer", case, "--service", "clinic", "--need", "treatment", "--check", "all")
    (tmp_env / "comp.json").write_text(json.dumps(COMPREHENSIVE))
    ok(env, "assess", case, "--type", "comprehensive", "--from-file", str(tmp_env / "comp.json"))
    (tmp_env / "plan.json").write_text(json.dumps(plan_doc()))
    ok(env, "plan", case, "--from-file", str(tmp_env / "plan.json"))
    ok(env, "note", case, "--text", "called the school")
    assert last_commit(laptop)["subject"].startswith(f"note {case}")
    assert case.encode() in ok(env, "show", case, who="agent") and case.encode() in ok(env, "list", who="agent")
    assert isinstance(json.loads(ok(env, "due", "--json", who="agent")), list)
    ok(env, "report", "caseload", who="agent")
    assert b"Case plan" in ok(env, "render", "case-plan", case)
    shown, code = typed_at_a_terminal(env, "never asked", "list")
    assert code == 0 and case in shown and "Passphrase" not in shown, shown
    ok(env, "sync")
    arrived = sup("sync", "--json")
    assert arrived.code == 0 and case in arrived.json()["cases"], arrived.stderr

    # the agent's time runs out (an agent of a second, holding what `cpcm unlock` gave it)
    held = agent.fetch(key)
    assert held is not None and agent.held_for(held, key.read_bytes())
    assert run(env, "lock")[2] == 0
    agent.start(key, held, 1, program="cpcm.cli.resident")
    deadline = time.monotonic() + 30
    while agent.status(key) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sock.exists()
    before = commit_count(laptop)
    for args in [("due", "--json"), ("note", case, "--text", "after the time"), ("show", case)]:
        out, err, code, _ = run(env, *args)
        assert code == 5 and b"cpcm unlock" in err, (args, err)
    assert commit_count(laptop) == before and git_status(laptop) == []
    shown, code = typed_at_a_terminal(env, PASSPHRASE, "show", case)
    assert code == 0 and "Passphrase" in shown and case in shown, shown

    # unlock, unlock again (only the passphrase gives the agent more time: without it, refused), lock, and a command after it
    unlock(env, secret)
    again = subprocess.run([sys.executable, "-m", "cpcm", "unlock", "--for", "2h"], env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
    assert again.returncode == 2 and "a passphrase is needed" in again.stderr, again.stderr
    assert 0 < agent.status(key) <= 10 * 60  # still the ten minutes given with the passphrase
    again = subprocess.run([sys.executable, "-m", "cpcm", "unlock", "--for", "2h"], env={**env, "CPCM_PASSPHRASE_FILE": str(secret)},
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and "unlocked for 2h" in again.stderr, again.stderr
    assert 10 * 60 < agent.status(key) <= 2 * 3600 and sorted(os.listdir(sock.parent)) == [sock.name]
    out, err, code, _ = run(env, "lock")
    assert code == 0 and b"locked" in err
    out, err, code, _ = run(env, "list")
    assert code == 5 and b"cpcm unlock" in err

    # a wrong passphrase: said, nothing started
    shown, code = typed_at_a_terminal(env, "not the passphrase", "unlock")
    assert code == 5 and "wrong passphrase" in shown and agent.status(key) is None, shown

    # a colleague on the same laptop account while she is unlocked: their own key, never hers
    unlock(env, secret)
    colleague = tmp_env / "keys" / "otieno-protected"
    protected(team["otieno"][0], colleague)
    out, err, code, ran = run({**env, "CPCM_IDENTITY": str(colleague)}, "list", "--json")
    assert code == 5 and ran == "local" and case.encode() not in out + err
    out, err, code, ran = run(env, "key", "show", "--identity", str(team["otieno"][0]))
    assert code == 0 and out.decode().strip() == team["otieno"][1]

    # key rotate while unlocked: the agent forgets the old key; unlocked again, the new key works
    rotated = subprocess.run([sys.executable, "-m", "cpcm", "key", "rotate", "--json"], env={**env, "CPCM_PASSPHRASE_FILE": str(secret)},
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert rotated.returncode == 0, rotated.stderr
    new_recipient = json.loads(rotated.stdout)["recipient"]
    assert agent.status(key) is None
    assert run(env, "show", case)[2] == 5
    unlock(env, secret)
    assert ok(env, "key", "show").decode().strip() == new_recipient
    assert case.encode() in ok(env, "show", case, who="agent")
    ok(env, "note", case, "--text", "with the new key")
    ok(env, "sync")
    assert sup("sync").code == 0

    # nothing of hers in the agent's folder or the temporary folder; its name says no one's
    assert sorted(os.listdir(sock.parent)) == [sock.name]
    assert all(b"Test Child" not in p.read_bytes() for p in (tmp_env / "tmp").rglob("*") if p.is_file())
    assert git(laptop, "log", "-1", "--format=%s").startswith(f"note {case}")
