"""Unlock once (`cpcm unlock`): an agent holds the decrypted identity in memory only and gives it
to commands of the same user, until `cpcm lock`, its time, or a suspend."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import NOW, Cli

pytestmark = pytest.mark.e2e

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def runtime(monkeypatch):
    """A private XDG_RUNTIME_DIR with a short path (a Unix socket's path is at most 107 bytes)."""
    folder = tempfile.mkdtemp(prefix="cpcm-rt-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def passphrase_file(folder: Path) -> Path:
    secret = folder / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    return secret


@pytest.fixture(scope="module")
def made_key(tmp_path_factory) -> tuple[Path, str]:
    """A passphrase-protected identity made by `cpcm key new` (its scrypt: about a second), once
    for the module: (the file, its recipient). Each test gets a copy of the file."""
    folder = tmp_path_factory.mktemp("agent-key")
    key = folder / "keys" / "protected"
    made = Cli({"CPCM_IDENTITY": str(key), "CPCM_PASSPHRASE_FILE": str(passphrase_file(folder))})("key", "new", "--json")
    assert made.code == 0, made.stderr
    return key, made.json()["recipient"]


@pytest.fixture
def protected(tmp_env, runtime, made_key):
    secret = passphrase_file(tmp_env)
    key = tmp_env / "keys" / "protected"
    key.parent.mkdir()
    shutil.copy2(made_key[0], key)  # with its private mode
    env = {"CPCM_IDENTITY": str(key), "CPCM_NOW": NOW, "XDG_RUNTIME_DIR": runtime}
    yield key, secret, made_key[1], env
    Cli(env)("lock")


def without_passphrase(env: dict) -> dict:
    full = {k: v for k, v in os.environ.items() if k != "CPCM_PASSPHRASE_FILE"}
    full.update(env)
    return full


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    """cpcm in its own process, with no terminal and no passphrase file: it cannot ask."""
    return subprocess.run([sys.executable, "-m", "cpcm", *args], env=without_passphrase(env), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def test_unlock_once_then_no_passphrase_until_lock(protected):
    key, secret, recipient, env = protected
    assert run(env, "key", "show").returncode == 5  # locked: no passphrase, no terminal
    unlocked = run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "unlock", "--for", "10min")
    assert unlocked.returncode == 0, unlocked.stderr
    shown = run(env, "key", "show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == recipient
    locked = run(env, "lock")
    assert locked.returncode == 0 and "locked" in locked.stderr + locked.stdout
    again = run(env, "key", "show")
    assert again.returncode == 5 and "cpcm unlock" in again.stderr, again.stderr  # the way back is named


def test_the_agent_is_private_and_keeps_the_key_off_disk(protected, runtime, tmp_env):
    key, secret, recipient, env = protected
    assert run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "unlock").returncode == 0
    from cpcm.crypto import agent

    sock = agent.socket_path(key)
    assert sock.parent.stat().st_mode & 0o777 == 0o700
    assert sock.stat().st_mode & 0o777 == 0o600
    from cpcm.crypto import identity

    secret_line = identity.secret_text(identity.load(key, lambda: PASSPHRASE)).strip().encode()
    for folder in (runtime, str(tmp_env)):
        for root, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(root, name)
                if os.path.isfile(path):
                    with open(path, "rb") as handle:
                        assert secret_line not in handle.read(), path
    # a folder others may open is not trusted: the key is not asked of an agent there
    os.chmod(sock.parent, 0o777)
    try:
        assert agent.fetch(key) is None
    finally:
        os.chmod(sock.parent, 0o700)
    assert agent.fetch(key) is not None


def test_the_agent_forgets_when_its_time_is_up(protected):
    key, secret, recipient, env = protected
    from cpcm.crypto import agent, identity

    agent.start(key, identity.secret_text(identity.load(key, lambda: PASSPHRASE)), 1)
    deadline = time.monotonic() + 30
    while agent.status(key) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert agent.status(key) is None
    assert not agent.socket_path(key).exists()
    assert run(env, "key", "show").returncode == 5


@pytest.mark.parametrize("ending", ["lock", "time"])
def test_an_agent_seen_gone_has_taken_its_socket_away(runtime, monkeypatch, ending):
    """Whoever finds the agent gone (`lock` answered, a closed connection, a refused one) finds
    its socket gone too: the agent removes the socket before it closes the last connection and
    its listener. The agent's loop runs in a thread here, and every close in that thread notes
    whether the socket was still there."""
    import socket
    import threading

    from cpcm.crypto import agent

    path = agent.socket_path(Path(runtime) / "identity")
    assert agent._private_dir(path.parent)
    closes: list[bool] = []
    original = socket.socket.close

    def noting_close(self):
        if threading.current_thread() is loop:
            closes.append(path.exists())
        original(self)

    monkeypatch.setattr(socket.socket, "close", noting_close)
    loop = threading.Thread(target=agent.serve, args=(path, b"AGE-SECRET-KEY-1TEST", 1 if ending == "time" else 60))
    loop.start()
    deadline = time.monotonic() + 10
    while agent._ask(path, b"STATUS\n") is None and time.monotonic() < deadline:
        time.sleep(0.01)  # until it listens
    if ending == "lock":
        assert agent._ask(path, b"LOCK\n") == b"OK\n"
    loop.join(30)
    assert not loop.is_alive()
    assert closes[0] is True            # an answered request: the agent goes on
    assert closes[-1] is False          # the listener, closed after the socket went
    if ending == "lock":
        assert closes[-2] is False      # the connection `lock` waits on


@pytest.mark.pure
def test_a_suspend_is_seen_from_the_two_clocks():
    from cpcm.crypto.agent import SLEEP_GAP, slept

    assert not slept(2.0, 2.0)
    assert not slept(2.0, 2.0 + SLEEP_GAP)        # exactly the gap: not yet
    assert slept(2.0, 2.0 + SLEEP_GAP + 0.5)       # asleep for longer than the gap


def test_refusals(protected, tmp_env):
    key, secret, recipient, env = protected
    assert run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "unlock", "--for", "3d").returncode == 2
    assert run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "unlock", "--for", "1000000000d").returncode == 2  # no date so far
    assert run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "unlock", "--for", "soon").returncode == 2
    plain = tmp_env / "keys" / "plain"
    assert Cli({"CPCM_IDENTITY": str(plain)})("key", "new", "--no-passphrase").code == 0
    refused = run({**env, "CPCM_IDENTITY": str(plain)}, "unlock")
    assert refused.returncode == 4 and "nothing to unlock" in refused.stderr


def typed_at_a_terminal(env: dict, answer: str, *args: str) -> tuple[str, int]:
    """cpcm on a pseudo-terminal (stdin, stdout and stderr), `answer` typed at its passphrase
    prompt: (what the terminal showed, the exit code)."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "cpcm", *args], env=without_passphrase(env),
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    shown, answered, deadline = b"", False, time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every process of the terminal has closed it
                break
            if not chunk:
                break
            shown += chunk
        if not answered and b"Passphrase" in shown:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    code = proc.wait(timeout=10)
    os.close(master)
    return shown.decode("utf-8", "replace"), code


def test_a_passphrase_typed_for_a_command_brings_the_tip_to_unlock(protected):
    """Each command that asks spends seconds opening the key: the prompt's answer is followed by
    a tip naming `cpcm unlock`; unlock's own prompt has none, and the agent spares the prompt."""
    key, secret, recipient, env = protected
    shown, code = typed_at_a_terminal(env, PASSPHRASE, "key", "show")
    assert code == 0, shown
    assert recipient in shown and "tip: 'cpcm unlock' asks for your passphrase once" in shown
    shown, code = typed_at_a_terminal(env, PASSPHRASE, "unlock", "--for", "10min")
    assert code == 0, shown
    assert "unlocked for 10min" in shown and "tip:" not in shown
    shown, code = typed_at_a_terminal(env, "never asked", "key", "show")
    assert code == 0, shown
    assert recipient in shown and "Passphrase" not in shown and "tip:" not in shown


def test_a_folder_that_is_a_link_is_not_trusted(runtime, tmp_env):
    """In /tmp another user can make the agent's folder a link to a private folder of yours, then
    point it at theirs between cpcm's look at the folder and its connection. A link is never the
    agent's folder: no agent is asked through it, the client sends it nothing, no agent listens
    in it."""
    import threading

    from cpcm import launch
    from cpcm.crypto import agent

    key = tmp_env / "identity"
    real = Path(tempfile.mkdtemp(prefix="cpcm-real-"))  # private (0700) and yours: only the link is wrong
    try:
        link = agent.socket_dir()
        link.symlink_to(real)
        assert not agent._private_dir(link)
        assert launch.socket_file(os.path.realpath(key)) is None
        served = real / agent.socket_path(key).name  # an agent listening behind the link
        loop = threading.Thread(target=agent.serve, args=(served, b"AGE-SECRET-KEY-1BEHINDTHELINK", 60))
        loop.start()
        try:
            deadline = time.monotonic() + 10
            while agent._ask(served, b"STATUS\n") is None and time.monotonic() < deadline:
                time.sleep(0.01)  # until it listens
            assert agent._ask(served, b"STATUS\n") is not None
            assert agent.fetch(key) is None and agent.status(key) is None
        finally:
            assert agent._ask(served, b"LOCK\n") == b"OK\n"
            loop.join(30)
        before = set(os.listdir(real))
        agent.serve(agent.socket_path(key), b"AGE-SECRET-KEY-1NOTSERVED", 1)  # returns at once: it does not listen there
        assert set(os.listdir(real)) == before
    finally:
        shutil.rmtree(real, ignore_errors=True)


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="making a socket of another user needs root")
def test_an_agent_of_another_user_is_never_asked(runtime, tmp_env):
    """A socket in the agent's place whose listener is another user (who got it there through a
    link in /tmp, say) would otherwise hand every command the identity of that user's choosing:
    a registration would then be made, and encrypted, as a colleague. Its answer is not taken."""
    import socket

    from pyrage import x25519

    from cpcm.crypto import agent

    key = tmp_env / "identity"
    path = agent.socket_path(key)
    assert agent._private_dir(path.parent)
    forged = str(x25519.Identity.generate())
    ready_read, ready_write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the other user's process
        try:
            os.close(ready_read)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
                server.bind(str(path))
                os.setgid(65534)
                os.setuid(65534)  # nobody: the peer the client sees from here on
                server.listen(4)
                os.write(ready_write, b"1")
                server.settimeout(20)
                for _ in range(3):
                    conn, _ = server.accept()
                    with conn:
                        request = conn.recv(64)
                        conn.sendall(b"OK 3600\n" if request == b"STATUS\n" else b"OK\n" + forged.encode())
        finally:
            os._exit(0)
    os.close(ready_write)
    try:
        assert os.read(ready_read, 1) == b"1"  # it listens
        assert agent.fetch(key) is None
        assert agent.status(key) is None
        assert agent.lock(key) is False
    finally:
        os.close(ready_read)
        os.kill(child, 9)
        os.waitpid(child, 0)


def test_the_agent_cannot_dump_its_memory(protected):
    """A crash of the agent must not write the key (or the cases of a command it runs) to a core
    file: core files are off in its process, and on Linux it is not dumpable (as ssh-agent)."""
    import socket
    import struct

    key, secret, recipient, env = protected
    from cpcm.crypto import agent, identity

    agent.start(key, identity.secret_text(identity.load(key, lambda: PASSPHRASE)), 600)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(agent.socket_path(key)))
            pid, _, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        limits = Path(f"/proc/{pid}/limits")
        if not limits.exists():
            pytest.skip("no /proc to look at the agent's limits")
        (line,) = [line for line in limits.read_text().splitlines() if line.startswith("Max core file size")]
        assert line.split()[4:6] == ["0", "0"], line
        if os.getuid() != 0:  # a process that is not dumpable has its /proc entries owned by root
            assert Path(f"/proc/{pid}/environ").stat().st_uid == 0
    finally:
        agent.lock(key)


def test_an_agent_too_slow_to_start_is_stopped_not_left_holding_the_key(tmp_env, runtime, monkeypatch):
    """`cpcm unlock` that gives up waiting says the agent could not start (and that each command
    will ask for the passphrase): the process it started, which holds the key, is stopped then,
    never left to start answering later."""
    import subprocess as subprocess_module

    from cpcm.crypto import agent

    (tmp_env / "slow").mkdir()
    (tmp_env / "slow" / "slow_agent.py").write_text("import sys, time\nsys.stdin.buffer.read()\ntime.sleep(600)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_env / "slow"))
    monkeypatch.setattr(agent, "START_WAIT", 0.5)
    started = []
    real_popen = subprocess_module.Popen

    def noting_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess_module, "Popen", noting_popen)
    try:
        with pytest.raises(OSError, match="did not start"):
            agent.start(tmp_env / "identity", "AGE-SECRET-KEY-1NEVERSERVED", 600, program="slow_agent")
        assert len(started) == 1 and started[0].poll() is not None
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_lock_while_the_agent_runs_a_long_command_says_so_and_locks_when_it_is_done(runtime, monkeypatch):
    """`cpcm lock` waits for a command the agent runs; when it stops waiting, it does not say the
    key was never unlocked: its request stands, and the agent forgets the key and stops once the
    command is done."""
    import socket
    import struct
    import threading

    from cpcm.crypto import agent

    path = agent.socket_path(Path(runtime) / "identity")
    assert agent._private_dir(path.parent)
    running, finish = threading.Event(), threading.Event()

    def long_command(body: bytes) -> bytes:
        running.set()
        finish.wait(60)
        return b"OK\nX" + struct.pack("!i", 0)

    loop = threading.Thread(target=agent.serve, args=(path, b"AGE-SECRET-KEY-1TEST", 600, long_command))
    loop.start()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        deadline = time.monotonic() + 10
        while agent._ask(path, b"STATUS\n") is None and time.monotonic() < deadline:
            time.sleep(0.01)  # until it listens
        client.connect(str(path))
        client.sendall(b"RUN\n")
        assert client.recv(3) == b"GO\n"
        client.sendall(struct.pack("!I", 4) + b"body")
        assert running.wait(10)
        monkeypatch.setattr(agent, "LOCK_WAIT", 0.2)
        assert agent.lock(Path(runtime) / "identity") is None  # busy: not "there was none"
        assert loop.is_alive()
    finally:
        finish.set()
        loop.join(30)
        client.close()
    assert not loop.is_alive() and not path.exists()  # the lock asked for was done after the command
