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


def test_unlock_with_no_terminal_and_no_passphrase_file_says_how_a_script_gives_it(protected):
    """`cpcm unlock --for 8h </dev/null` with a protected key and no $CPCM_PASSPHRASE_FILE: it said
    a command's refusal, 'passphrase-protected and no passphrase was given', with the hint 'unlock
    it once for the day (cpcm unlock)' (exit 5), sending cpcm unlock back to itself; it now says
    what docs/commands/keys.md's errors table says (exit 2), and how a script gives it."""
    key, secret, recipient, env = protected
    refused = run(env, "unlock", "--for", "8h")
    assert refused.returncode == 2, refused.stderr
    assert "error: a passphrase is needed and there is no terminal to ask for it" in refused.stderr
    assert "$CPCM_PASSPHRASE_FILE" in refused.stderr and "(cpcm unlock)" not in refused.stderr
    assert Cli(env)("lock").stderr.strip() == "your key was not unlocked"
    assert run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "unlock", "--for", "8h").returncode == 0  # a script's way


def test_unlock_while_unlocked_asks_the_passphrase_again_so_the_time_given_cannot_be_stretched_without_it(protected):
    """keys.md: the agent forgets the key when the time is up, and unlocking needs the passphrase. With
    the key held, `cpcm unlock --for 1d </dev/null` took it from the agent itself and started it again
    for a day, no passphrase given: any process of the user could keep the key unlocked for ever."""
    key, secret, recipient, env = protected
    from cpcm.crypto import agent

    assert run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "unlock", "--for", "1min").returncode == 0
    again = run(env, "unlock", "--for", "1d")
    assert again.returncode == 2 and "a passphrase is needed" in again.stderr, again.stderr
    assert agent.status(key) <= 60  # still the minute given with the passphrase
    longer = run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "unlock", "--for", "1h")
    assert longer.returncode == 0, longer.stderr
    assert agent.status(key) > 60


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


TIP = "tip: cpcm unlock --for 8h opens your key once for the day"


def test_a_passphrase_typed_for_a_command_brings_the_tip_to_unlock(protected):
    """Each command that asks spends seconds opening the key: the prompt's answer is followed by
    a tip naming `cpcm unlock`; unlock's own prompt has none, and the agent spares the prompt."""
    key, secret, recipient, env = protected
    shown, code = typed_at_a_terminal(env, PASSPHRASE, "key", "show")
    assert code == 0, shown
    assert recipient in shown and TIP in shown and "docs/commands/keys.md#cpcm-unlock-cpcm-lock" in shown
    shown, code = typed_at_a_terminal(env, PASSPHRASE, "unlock", "--for", "10min")
    assert code == 0, shown
    assert "unlocked for 10min" in shown and "tip:" not in shown
    shown, code = typed_at_a_terminal(env, "never asked", "key", "show")
    assert code == 0, shown
    assert recipient in shown and "Passphrase" not in shown and "tip:" not in shown


def test_the_tip_to_unlock_once_a_day_at_a_terminal_never_piped_nor_in_json(protected, tmp_env):
    """A command that opens a protected key itself, with the passphrase from
    $CPCM_PASSPHRASE_FILE (no prompt) or typed, spends seconds of scrypt each time: at a terminal
    it ends with the tip to unlock, once a day; the day is kept in the user's cpcm state folder
    (a date, nothing else). Never when the output is piped, never with --json, and neither
    counts as the day's tip."""
    key, secret, recipient, env = protected
    state = tmp_env / "state"
    env = {**env, "XDG_STATE_HOME": str(state)}
    from_file = {**env, "CPCM_PASSPHRASE_FILE": str(secret)}
    mark = state / "cpcm" / "unlock-tip"
    piped = run(from_file, "key", "show")
    assert piped.returncode == 0 and recipient in piped.stdout, piped.stderr
    assert "tip:" not in piped.stderr and "cpcm unlock" not in piped.stderr and not mark.exists()
    as_json, code = typed_at_a_terminal(from_file, "never asked", "key", "show", "--json")
    assert code == 0 and recipient in as_json and "tip:" not in as_json and not mark.exists(), as_json
    first, code = typed_at_a_terminal(from_file, "never asked", "key", "show")
    assert code == 0 and "Passphrase" not in first and first.count(TIP) == 1, first
    assert mark.read_text() == NOW[:10] + "\n"  # the day, nothing of the user's
    again, code = typed_at_a_terminal(from_file, "never asked", "key", "show")
    assert code == 0 and recipient in again and "tip:" not in again, again
    typed, code = typed_at_a_terminal(env, PASSPHRASE, "key", "show")
    assert code == 0 and "Passphrase" in typed and "tip:" not in typed, typed
    next_day = {**from_file, "CPCM_NOW": "2026-11-24T09:00:00+03:00"}
    assert NOW[:10] == "2026-11-23"
    shown, code = typed_at_a_terminal(next_day, "never asked", "key", "show")
    assert code == 0 and shown.count(TIP) == 1, shown
    assert mark.read_text() == "2026-11-24\n"


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


def _serving(path: Path, identity: bytes, runner=None):
    """agent.serve in a thread of this process (with `runner` for RUN), listening when returned."""
    import threading

    from cpcm.crypto import agent

    loop = threading.Thread(target=agent.serve, args=(path, identity, 600, runner), daemon=True)
    loop.start()
    deadline = time.monotonic() + 10
    while agent._ask(path, b"STATUS\n") is None and time.monotonic() < deadline:
        time.sleep(0.01)  # until it listens
    return loop


def _start_long_command(path: Path):
    """A client's RUN that the agent takes and runs (its runner decides how long): the connection."""
    import socket
    import struct

    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(path))
    client.sendall(b"RUN\n")
    assert client.recv(3) == b"GO\n"
    client.sendall(struct.pack("!I", 4) + b"body")
    return client


def _client_setup(tmp_env: Path, monkeypatch) -> tuple[Path, Path]:
    """The client of `cpcm` (launch.py) set to look for an agent of an identity in `tmp_env`, no
    option of the command line in the way: (the identity's path, the agent's socket path), its folder made."""
    from cpcm import launch
    from cpcm.crypto import agent

    key = tmp_env / "identity"
    monkeypatch.setenv("CPCM_IDENTITY", str(key))
    for name in launch.LOCAL_ONLY:
        monkeypatch.delenv(name, raising=False)
    path = agent.socket_path(key)
    assert agent._private_dir(path.parent)
    return key, path


def _held_until(finish, running):
    """A runner whose first command runs until `finish` is set; the others answer at once, exit 0."""
    import struct

    calls = []

    def runner(body: bytes) -> bytes:
        calls.append(body)
        if len(calls) == 1:
            running.set()
            finish.wait(60)
        return b"OK\n1" + struct.pack("!I", 7) + b"served\n" + b"X" + struct.pack("!i", 0)

    return runner, calls


def test_a_command_run_while_the_agent_runs_another_gets_the_key_without_a_passphrase(protected):
    """A command the agent does not run (`key show`), started while the agent runs a long one, in
    a script (no terminal, no passphrase file): it is given the key at once, not refused (exit 5)."""
    import threading

    from cpcm.crypto import agent, identity

    key, secret, recipient, env = protected
    path = agent.socket_path(key)
    assert agent._private_dir(path.parent)
    running, finish = threading.Event(), threading.Event()
    runner, calls = _held_until(finish, running)
    loop = _serving(path, identity.secret_text(identity.load(key, lambda: PASSPHRASE)).encode(), runner)
    client = _start_long_command(path)
    try:
        assert running.wait(10)
        shown = run(env, "key", "show")
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip() == recipient
        assert agent.status(key) is not None  # STATUS too is answered while it is busy
    finally:
        finish.set()
        client.close()
        assert agent._ask(path, b"LOCK\n") == b"OK\n"
        loop.join(30)
    assert not loop.is_alive()


def test_a_command_the_agent_runs_waits_while_it_runs_another_and_says_so_on_a_terminal(runtime, tmp_env, monkeypatch, capfd):
    """A command for the agent that finds it busy waits for it (however long its own patience
    for an agent that does not answer at all), says why on a terminal, and is then run by the
    agent; no passphrase is asked."""
    import threading

    from cpcm import launch
    from cpcm.crypto import agent

    key, path = _client_setup(tmp_env, monkeypatch)
    assert launch.socket_file(os.path.realpath(key)) == str(path)
    monkeypatch.setattr(launch, "PATIENCE", 1.0)  # for an agent that answers nothing at all
    monkeypatch.setattr(launch, "TELL_AFTER", 0.0, raising=False)
    monkeypatch.setattr(launch, "_isatty", lambda stream: stream is sys.stderr)
    monkeypatch.setattr(launch, "fingerprint", lambda: b"this code")
    running, finish = threading.Event(), threading.Event()
    runner, calls = _held_until(finish, running)
    loop = _serving(path, b"AGE-SECRET-KEY-1TEST", runner)
    client = _start_long_command(path)
    result: list = []
    waiting = threading.Thread(target=lambda: result.append(launch.run_in_agent(["list", "--json"])))
    told_busy = threading.Semaphore(0)
    offer = getattr(launch, "_offer", None)

    def noting_offer(*args):
        answer = offer(*args)
        if answer is getattr(launch, "_BUSY", None):
            told_busy.release()
        return answer

    monkeypatch.setattr(launch, "_offer", noting_offer, raising=False)
    try:
        assert running.wait(10)
        waiting.start()
        # the first command is done once the client has been told "busy" a few times, or after a
        # while past PATIENCE (a client that took the busy agent for none has given up by then)
        deadline = time.monotonic() + 5
        for _ in range(3):
            told_busy.acquire(timeout=max(0.0, deadline - time.monotonic()))
        finish.set()
        waiting.join(60)
    finally:
        finish.set()
        client.close()
        agent._ask(path, b"LOCK\n")
        loop.join(30)
    assert result == [0]  # run by the agent, once the first command was done
    assert len(calls) == 2 and b"this code" in calls[1]
    out, err = capfd.readouterr()
    assert out == "served\n"
    assert err == launch.WAITING.decode()  # said once, on the terminal


def test_a_command_does_not_wait_for_an_agent_that_is_gone_or_stuck_past_the_bound(runtime, tmp_env, monkeypatch, capfd):
    """The wait ends, and the command runs in its own process, when the agent goes away while it
    waits, or when it is still busy after BUSY_WAIT; nothing is printed off a terminal."""
    import socket
    import threading

    from cpcm import launch
    from cpcm.crypto import agent

    key, path = _client_setup(tmp_env, monkeypatch)
    monkeypatch.setattr(launch, "_isatty", lambda stream: False)
    assert launch.BUSY == agent.BUSY  # the client reads the answer the agent gives

    # an agent that says it is busy twice, then is gone (its socket with it)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)

    def busy_then_gone():
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                conn.sendall(agent.BUSY)
        path.unlink()
        server.close()

    gone = threading.Thread(target=busy_then_gone)
    gone.start()
    assert launch.run_in_agent(["list"]) is None
    gone.join(10)

    # an agent busy for longer than the bound
    monkeypatch.setattr(launch, "BUSY_WAIT", 0.3)
    running, finish = threading.Event(), threading.Event()
    runner, calls = _held_until(finish, running)
    loop = _serving(path, b"AGE-SECRET-KEY-1TEST", runner)
    client = _start_long_command(path)
    try:
        assert running.wait(10)
        assert launch.run_in_agent(["list"]) is None
        assert agent._ask(path, b"KEY\n") == b"OK\nAGE-SECRET-KEY-1TEST"  # what the command then runs with: the agent's key
        assert len(calls) == 1
        assert capfd.readouterr().err == ""

        def interrupted(seconds):
            raise KeyboardInterrupt

        with monkeypatch.context() as patched:  # Ctrl-C while it waits: said as cli.main says it, nothing sent
            patched.setattr(time, "sleep", interrupted)
            assert launch.run_in_agent(["list"]) == 130
        assert capfd.readouterr().err == "interrupted; nothing was written\n"
        assert len(calls) == 1
    finally:
        finish.set()
        client.close()
        agent._ask(path, b"LOCK\n")
        loop.join(30)


def test_lock_while_the_agent_runs_a_command_gives_the_key_to_no_one_after_it(runtime):
    """`cpcm lock` sent while the agent runs a command: from then on no command is given the key,
    though the agent stops only once that command is done."""
    import threading

    from cpcm.crypto import agent

    path = agent.socket_path(Path(runtime) / "identity")
    assert agent._private_dir(path.parent)
    running, finish = threading.Event(), threading.Event()
    runner, calls = _held_until(finish, running)
    loop = _serving(path, b"AGE-SECRET-KEY-1TEST", runner)
    client = _start_long_command(path)
    answers: list = []
    locking = threading.Thread(target=lambda: answers.append(agent._ask(path, b"LOCK\n", timeout=60)))
    try:
        assert running.wait(10)
        # (asked of the socket: `fetch` in this process, which runs the agent's loop, answers from the loop's memory)
        assert agent._ask(path, b"KEY\n") == b"OK\nAGE-SECRET-KEY-1TEST"
        locking.start()
        deadline = time.monotonic() + 10
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not path.exists() and agent._ask(path, b"KEY\n") is None
        assert loop.is_alive() and not answers  # answered once the command is done
    finally:
        finish.set()
        client.close()
        locking.join(30)
        loop.join(30)
    assert answers == [b"OK\n"] and not loop.is_alive()


@pytest.fixture
def no_runtime(tmp_env, monkeypatch):
    """No $XDG_RUNTIME_DIR, a home of its own (short: a Unix socket's path is at most 107 bytes),
    and the shared last resort (/tmp) in a folder of this test's own."""
    from cpcm.crypto import agentdir

    home = tempfile.mkdtemp(prefix="cpcm-h-")
    shared = tempfile.mkdtemp(prefix="cpcm-t-")
    os.chmod(shared, 0o1777)  # as /tmp: anyone may make a folder in it
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", home)
    monkeypatch.setattr(agentdir, "SHARED_TMP", shared, raising=False)
    yield Path(home), Path(shared)
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(shared, ignore_errors=True)


def test_without_a_runtime_folder_the_agent_lives_in_the_home_where_no_one_else_can_make_its_folder(no_runtime, made_key, tmp_env):
    """Another user can make /tmp/cpcm-agent-UID before you (or a link by that name), and then
    `cpcm unlock` must refuse it. Without $XDG_RUNTIME_DIR the agent's folder is in your home
    (~/.cache/cpcm/agent, mode 700), where they cannot: unlock works whatever they made in /tmp,
    and a command finds the agent there."""
    from cpcm import launch
    from cpcm.crypto import agent, identity

    home, shared = no_runtime
    squatted = shared / f"cpcm-agent-{os.getuid()}"  # what another user made first, open to all
    squatted.mkdir()
    squatted.chmod(0o777)
    key = tmp_env / "keys" / "protected"
    key.parent.mkdir()
    shutil.copy2(made_key[0], key)
    path = agent.socket_path(key)
    assert path.parent == home / ".cache" / "cpcm" / "agent"
    assert launch.socket_file(os.path.realpath(key)) is None  # nothing there yet: no agent is asked
    agent.start(key, identity.secret_text(identity.load(key, lambda: PASSPHRASE)), 600)
    try:
        assert path.parent.stat().st_mode & 0o777 == 0o700 and path.stat().st_mode & 0o777 == 0o600
        assert launch.socket_file(os.path.realpath(key)) == str(path)  # the client looks where the agent listens
        env = {"CPCM_IDENTITY": str(key), "CPCM_NOW": NOW, "HOME": str(home)}
        shown = run({k: v for k, v in env.items()}, "key", "show")
        assert shown.returncode == 0 and shown.stdout.strip() == made_key[1], shown.stderr
        assert os.listdir(squatted) == []
    finally:
        assert agent.lock(key) is True


def test_the_agents_folder_in_the_home_is_trusted_only_as_yours_private_and_not_a_link(no_runtime, tmp_env):
    from cpcm import launch
    from cpcm.crypto import agent

    home, shared = no_runtime
    key = tmp_env / "identity"
    folder = agent.socket_path(key).parent
    folder.parent.mkdir(parents=True)
    real = Path(tempfile.mkdtemp(prefix="cpcm-real-"))  # private and yours: only the link is wrong
    try:
        folder.symlink_to(real)
        assert not agent._private_dir(folder) and launch.socket_file(os.path.realpath(key)) is None
        agent.serve(agent.socket_path(key), b"AGE-SECRET-KEY-1NOTSERVED", 1)  # returns at once: it does not listen there
        assert os.listdir(real) == []
        folder.unlink()
        folder.mkdir(mode=0o755)
        assert not agent._private_dir(folder) and launch.socket_file(os.path.realpath(key)) is None
        if os.getuid() == 0:  # a folder of another user, private to them
            folder.chmod(0o700)
            os.chown(folder, 65534, 65534)
            assert not agent._private_dir(folder) and launch.socket_file(os.path.realpath(key)) is None
    finally:
        shutil.rmtree(real, ignore_errors=True)


@pytest.mark.parametrize("where", ["home", "runtime"])
def test_a_folder_too_long_for_a_socket_is_passed_over_for_the_next(no_runtime, monkeypatch, where):
    """A Unix socket's path is at most 107 bytes: a home (or $XDG_RUNTIME_DIR) so deep that the
    socket's path would be longer is passed over, and the client and the agent agree on the next
    (the home, else the shared folder); the agent listens there and answers."""
    import threading

    from cpcm import launch
    from cpcm.crypto import agent, agentdir

    home, shared = no_runtime
    deep = home / ("d" * 60) / ("e" * 30)
    deep.mkdir(parents=True)
    if where == "home":
        monkeypatch.setenv("HOME", str(deep))
        expected = shared / f"cpcm-agent-{os.getuid()}"
    else:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
        expected = home / ".cache" / "cpcm" / "agent"
    key = home / "identity"
    path = agent.socket_path(key)
    assert path.parent == expected and len(os.fsencode(str(path))) <= agentdir.MAX_PATH
    assert agent._private_dir(path.parent)
    assert launch.socket_file(os.path.realpath(key)) == str(path)
    loop = threading.Thread(target=agent.serve, args=(path, b"AGE-SECRET-KEY-1TEST", 60), daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while agent.status(key) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert agent.status(key) is not None
    finally:
        agent.lock(key)
        loop.join(30)


def test_lock_while_the_agent_waits_for_a_request_that_never_comes_is_answered(runtime):
    """`cpcm lock` taken while the agent waits for a client's request after its GO, and that client
    goes away without sending it: nothing runs, and the lock is answered as done."""
    import socket
    import threading

    from cpcm.crypto import agent

    path = agent.socket_path(Path(runtime) / "identity")
    assert agent._private_dir(path.parent)
    calls: list = []
    loop = _serving(path, b"AGE-SECRET-KEY-1TEST", calls.append)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(path))
    client.sendall(b"RUN\n")
    assert client.recv(3) == b"GO\n"
    answers: list = []
    locking = threading.Thread(target=lambda: answers.append(agent._ask(path, b"LOCK\n", timeout=60)))
    locking.start()
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # the lock is taken: the socket is gone
    client.close()  # without the request
    locking.join(30)
    loop.join(30)
    assert answers == [b"OK\n"] and calls == [] and not loop.is_alive()


def test_ctrl_c_while_the_agent_runs_the_command_says_the_agent_finishes_it(tmp_env, monkeypatch, capfd):
    """Ctrl-C in the terminal while the agent runs this command: the client says the agent goes on
    with it and how to see whether it was done, and exits 130 (was: a Python traceback)."""
    import threading

    from cpcm import launch
    from cpcm.crypto import agent

    key, path = _client_setup(tmp_env, monkeypatch)
    monkeypatch.setattr(launch, "_isatty", lambda stream: False)
    running, finish = threading.Event(), threading.Event()
    runner, calls = _held_until(finish, running)
    loop = _serving(path, b"AGE-SECRET-KEY-1TEST", runner)
    taken, heads = launch._exactly, []

    def interrupted(conn, size):  # the key is pressed while the client waits for the agent's answer (its second head)
        if size == 3:
            heads.append(size)
            if len(heads) == 2:
                assert running.wait(10)  # the agent runs it
                raise KeyboardInterrupt
        return taken(conn, size)

    try:
        with monkeypatch.context() as patched:
            patched.setattr(launch, "_exactly", interrupted)
            assert launch.run_in_agent(["list"]) == 130
        err = capfd.readouterr().err
        assert err.startswith("interrupted; the unlock agent finishes the command it was running") and "Traceback" not in err
        assert len(calls) == 1  # the agent took it, and goes on with it
    finally:
        finish.set()
        agent._ask(path, b"LOCK\n")
        loop.join(30)


def test_a_worker_process_forked_by_a_command_does_not_hold_an_answered_client_waiting(runtime):
    """A command the agent runs may fork worker processes (store/parallel.py) while the agent's
    thread for the others holds a client's connection: the fork copies it. The client is answered
    all the same, its answer ended when the agent is done with it, not when the workers end
    (else `fetch` waits past its time and takes the agent for gone: a passphrase is asked)."""
    import socket
    import threading

    from cpcm.crypto import agent

    path = agent.socket_path(Path(runtime) / "identity")
    assert agent._private_dir(path.parent)
    running, finish, connected, forked = (threading.Event() for _ in range(4))
    children: list[int] = []

    def forking_command(body: bytes) -> bytes:
        running.set()
        connected.wait(10)
        pid = os.fork()  # as a worker pool's fork: the child holds every descriptor the agent has open
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        children.append(pid)
        forked.set()
        finish.wait(60)
        return b"OK\nX\x00\x00\x00\x00"

    loop = _serving(path, b"AGE-SECRET-KEY-1TEST", forking_command)
    client = _start_long_command(path)
    asking = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        assert running.wait(10)
        asking.connect(str(path))
        time.sleep(0.5)  # taken by the agent's thread for the others, which waits for the request
        connected.set()
        assert forked.wait(10)
        asking.settimeout(2.0)
        asking.sendall(b"KEY\n")
        answer = b""
        while True:
            chunk = asking.recv(65536)  # socket.timeout here: the answer never ends while the worker lives
            if not chunk:
                break
            answer += chunk
        assert answer == b"OK\nAGE-SECRET-KEY-1TEST"
    finally:
        asking.close()
        finish.set()
        client.close()
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        agent._ask(path, b"LOCK\n")
        loop.join(30)
    assert not loop.is_alive()
