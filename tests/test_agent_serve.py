"""After `cpcm unlock`, the agent also runs commands (cpcm/launch.py, cpcm/cli/resident.py): a
command it runs prints exactly what the command prints in its own process (stdout, stderr, exit
code, piped or on a terminal), writes what it writes (one signed commit by the worker), writes no
case data anywhere else, and every command still runs without it: after `cpcm lock`, with an
agent of other code, a dead socket, or a command line that needs standard input."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import CANARY, NOW, commit_count, last_commit, registration, shared_repo
from conftest import on_terminal as terminal

pytestmark = pytest.mark.external

PASSPHRASE = "correct horse battery staple"
# the real entry point (cpcm.launch.main); at exit it notes in $PROBE_FILE whether this process
# imported the command line (it ran the command itself) or not (the agent ran it)
PROBE = textwrap.dedent("""
    import atexit, os, sys
    atexit.register(lambda: open(os.environ["PROBE_FILE"], "w").write("local" if "cpcm.cli" in sys.modules else "agent"))
    from cpcm.launch import main
    main()
""")


def protected(plain: Path, to: Path) -> None:
    """`plain`'s key protected by PASSPHRASE, at `to` (its scrypt of a test's work factor: tests/agemade.py)."""
    from cpcm.crypto import identity

    identity.save(to, identity.secret_text(identity.load(plain, lambda: None)), PASSPHRASE)


def unlock(env: dict, secret: Path) -> None:
    """`cpcm unlock` for the identity of `env`, with the passphrase in `secret`."""
    unlocking = subprocess.run([sys.executable, "-m", "cpcm", "unlock", "--for", "10min"], env={**env, "CPCM_PASSPHRASE_FILE": str(secret)},
                               capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert unlocking.returncode == 0, unlocking.stderr


@contextlib.contextmanager
def unlocked(folder: Path, plain_key: Path, repo: Path):
    """`plain_key` protected by a passphrase (in `folder`, with the passphrase in folder/pass.txt),
    unlocked by `cpcm unlock`: an agent that runs commands on `repo`. Yields (env for the commands,
    the protected key file); locks the agent at the end."""
    runtime = tempfile.mkdtemp(prefix="cpcm-rt-")  # a socket's path is at most 107 bytes
    key = folder / "keys" / "amina-protected.txt"
    protected(plain_key, key)
    secret = folder / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k not in ("CPCM_PASSPHRASE_FILE", "COLUMNS", "LINES", "CPCM_NO_AGENT")}
    env.update(CPCM_REPO=str(repo), CPCM_IDENTITY=str(key), CPCM_NOW=NOW, XDG_RUNTIME_DIR=runtime,
               PROBE_FILE=str(folder / "probe"))
    unlock(env, secret)
    try:
        yield env, key
    finally:
        subprocess.run([sys.executable, "-m", "cpcm", "lock"], env=env, capture_output=True, stdin=subprocess.DEVNULL)
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture(scope="module")
def module_agent(tmp_path_factory, repo_template):
    """amina's key, protected by a passphrase, unlocked by `cpcm unlock`: an agent that runs
    commands, one for the module: (env for the commands, the protected key file, the folder
    holding the repository, the keys, pass.txt, and the TMPDIR and HOME of the agent and the
    commands). The tests add cases of their own, so each compares the cases it sees with those
    there before it."""
    with shared_repo(tmp_path_factory, repo_template, "served") as made:
        folder = made.root.parent
        with unlocked(folder, made.keys["amina"][0], made.root) as (env, key):
            yield env, key, folder


@pytest.fixture
def shared(module_agent):
    """The module's agent, running: unlocked again if a test before this one locked it."""
    from cpcm.crypto import agent

    env, key, folder = module_agent
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])
        if agent.status(key) is None:
            unlock(env, folder / "pass.txt")
    return module_agent


def case_ids(env: dict) -> set[str]:
    """The cases `cpcm list` shows, as the agent runs it."""
    out, err, code, who = run(env, "list", "--json")
    assert code == 0 and who == "agent", err
    return {row["case_id"] for row in json.loads(out)}


def run(env: dict, *args, local: bool = False, stdin: bytes = b"") -> tuple[bytes, bytes, int, str]:
    """(stdout, stderr, exit code, who ran it: 'agent' or 'local'); local=True: without the agent."""
    full = {**env, "CPCM_NO_AGENT": "1"} if local else env
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=full, input=stdin, capture_output=True)
    return done.stdout, done.stderr, done.returncode, Path(env["PROBE_FILE"]).read_text()


def on_terminal(env: dict, *args, local: bool = False, columns: int | None = 60) -> tuple[bytes, int, str]:
    """stdout and stderr on one pseudo-terminal of 60 columns (no $COLUMNS: the size is the
    terminal's; `columns=None`: a terminal that reports no size, 0x0), as a person at a terminal
    sees them, in the order they were written."""
    full = {**env, "CPCM_NO_AGENT": "1"} if local else dict(env)
    full.update(TERM="xterm-256color")
    full.pop("NO_COLOR", None)
    screen, code = terminal([sys.executable, "-c", PROBE, *args], full, columns=columns)
    return screen, code, Path(env["PROBE_FILE"]).read_text()


def register_via_agent(env: dict, tmp_env: Path, **overrides) -> str:
    child = tmp_env / "child.json"
    child.write_text(json.dumps(registration(**overrides)))
    out, err, code, who = run(env, "register", "--from-file", str(child), "--no-input", "--json")
    child.unlink()
    assert code == 0 and who == "agent", err
    return json.loads(out)["case_id"]


def test_the_agent_prints_what_the_command_prints(shared, tmp_env):
    env, key, folder = shared
    repo = Path(env["CPCM_REPO"])
    before = case_ids(env)
    case = register_via_agent(env, tmp_env)
    missing = tmp_env / "nowhere"
    lines = [("show", case), ("show", case, "--json"), ("show", case, "last"), ("show", case, "registration", "--json"),
             ("list",), ("list", "--json"), ("list", "--names"), ("list", "--risk", "high", "--worker", "amina"),
             ("due",), ("due", "--json"), ("due", "--worker", "all", "--within", "30"),
             ("report", "statistics"), ("report", "caseload", "--json"), ("log", case), ("check", case),
             ("show", case, "--repo", str(repo)), ("show", case, "-i", str(key)), ("show", case, "--identity", str(key), "--json")]
    errors = [("show", "not-a-case"), ("show", "not-a-case", "--json"), ("show", "CP-4F7K-9X2M"), ("show", case, "no-such-record"),
              ("show", case, "--repo", str(missing)), ("list", "--repo", str(missing), "--json"), ("list", "--status"),
              ("list", "--no-such-option"), ("report", "no-such-report"), ("due", "--within", "soon"),
              ("register", "--from-file", str(missing), "--no-input"), ("show", os.fsdecode(b"\xff"))]
    for args in lines + errors:
        served_out, served_err, served_code, who = run(env, *args)
        assert who == "agent", args
        out, err, code, who = run(env, *args, local=True)
        assert who == "local", args
        assert (served_out, served_err, served_code) == (out, err, code), args
        assert (code == 0) == (args in lines), (args, code, err)
    assert case_ids(env) == before | {case}  # one case more: the agent read the repository as it is now


def test_on_a_terminal_the_agent_prints_what_the_command_prints(shared, tmp_env):
    env, key, folder = shared
    case = register_via_agent(env, tmp_env)
    for args in [("list",), ("show", case), ("due", "--worker", "all"), ("report", "statistics"), ("show", "not-a-case"),
                 ("register", "--from-file", str(tmp_env / "nowhere"), "--no-input")]:
        served_screen, served_code, who = on_terminal(env, *args)
        assert who == "agent", args
        screen, code, who = on_terminal(env, *args, local=True)
        assert who == "local", args
        assert (served_screen, served_code) == (screen, code), args
    table = on_terminal(env, "show", case)[0]  # `list` is too wide for 60 columns: printed plain, with a note
    assert "┃".encode() in table or "│".encode() in table  # rich's table: the command knew it was on a terminal
    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", table.decode())
    assert 50 < max(len(line) for line in visible.splitlines()) <= 60  # drawn to the terminal's width, not rich's default 80


def test_on_a_terminal_that_reports_no_size_the_agent_prints_what_the_command_prints(shared, tmp_env):
    """A terminal may report no size (0 columns, 0 lines: a pseudo-terminal nobody sized, as some
    remote shells and consoles give). Run here, rich then draws 80 columns wide; run by the agent,
    the size went on as COLUMNS=0 and every table came out zero wide: `cpcm list`, `show` and
    `due` printed nothing at all, exit code 0."""
    env, key, folder = shared
    case = register_via_agent(env, tmp_env)
    for args in [("list",), ("show", case), ("due", "--worker", "all"), ("report", "caseload")]:
        served_screen, served_code, who = on_terminal(env, *args, columns=None)
        assert who == "agent", args
        screen, code, who = on_terminal(env, *args, local=True, columns=None)
        assert who == "local", args
        assert case.encode() in screen or args[0] == "report", (args, screen)
        assert (served_screen, served_code) == (screen, code), args


def test_a_reader_that_stops_reading_ends_a_served_command_as_it_ends_one_run_here(shared, tmp_env):
    env, key, folder = shared
    case = register_via_agent(env, tmp_env)
    for args in [("list",), ("due", "--json"), ("show", case), ("report", "statistics")]:
        for local in (False, True):
            read, write = os.pipe()
            os.close(read)  # `cpcm list | head -0`: nobody reads what it prints
            try:
                done = subprocess.run([sys.executable, "-c", PROBE, *args], env={**env, "CPCM_NO_AGENT": "1"} if local else env,
                                      stdin=subprocess.DEVNULL, stdout=write, stderr=subprocess.PIPE)
            finally:
                os.close(write)
            who = Path(env["PROBE_FILE"]).read_text()
            assert (done.returncode, who) == (141, "local" if local else "agent"), args
            # here the command stops at its first line; the agent runs it to the end, so what it
            # says on stderr (report statistics' legend) still comes: no error either way
            assert done.stderr == (b"" if local else run(env, *args)[1]), args


def test_output_to_a_full_disk_ends_a_served_command_as_it_ends_one_run_here(shared, tmp_env):
    """stdout on a full disk (/dev/full): 74 and what went wrong, whether the agent ran the command
    or it ran here (the agent's client used to say the agent had stopped, exit 70)."""
    from cpcm.launch import NO_ROOM

    env, key, folder = shared
    case = register_via_agent(env, tmp_env)
    for args in [("list",), ("due", "--json"), ("show", case)]:
        for local in (False, True):
            with open("/dev/full", "w") as full:
                done = subprocess.run([sys.executable, "-c", PROBE, *args], env={**env, "CPCM_NO_AGENT": "1"} if local else env,
                                      stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE, text=True)
            who = Path(env["PROBE_FILE"]).read_text()
            assert (done.returncode, who) == (NO_ROOM, "local" if local else "agent"), (args, done.stderr)
            assert "cannot write the output (No space left on device)" in done.stderr or \
                "the disk is full (No space left on device)" in done.stderr, (args, done.stderr)
            assert "agent stopped" not in done.stderr and "internal error" not in done.stderr, args


def test_in_a_locale_that_cannot_write_a_name_the_agent_prints_what_the_command_prints(shared, tmp_env):
    env, key, folder = shared
    case = register_via_agent(env, tmp_env, location="ሰላም, Kisumu")  # Ge'ez script
    ascii_locale = {**env, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}
    for args in [("show", case), ("show", case, "--json"), ("show", case, "registration")]:
        served_out, served_err, served_code, who = run(ascii_locale, *args)
        assert who == "agent", args
        out, err, code, who = run(ascii_locale, *args, local=True)
        assert who == "local", args
        assert (served_out, served_err, served_code) == (out, err, code), args
        assert code == 0 and "ሰላም".encode() in out, (args, err)  # a pipe gets UTF-8 (tests/test_output_encoding.py)


def test_a_register_the_agent_runs_is_one_commit_signed_by_the_worker(shared, tmp_env):
    env, key, folder = shared
    repo = Path(env["CPCM_REPO"])
    listed_before = case_ids(env)
    before = commit_count(repo)
    case = register_via_agent(env, tmp_env)
    assert commit_count(repo) == before + 1
    commit = last_commit(repo)
    assert commit["author"] == "amina" and commit["subject"].startswith(f"register {case} ")
    out, err, code, who = run(env, "verify", "--json")  # every commit's signature checked (run here: verify is not the agent's)
    assert code == 0 and who == "local", err
    second = register_via_agent(env, tmp_env)  # the agent sees the first: a probable duplicate, and a new commit
    assert second != case and commit_count(repo) == before + 2
    assert case_ids(env) == listed_before | {case, second}


def test_no_case_data_on_disk_from_the_agent(shared, tmp_env):
    env, key, folder = shared
    repo = Path(env["CPCM_REPO"])
    case = register_via_agent(env, tmp_env, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01"},
                              location=f"{CANARY} village")
    out, err, code, who = run(env, "show", case)
    assert CANARY.encode() in out and who == "agent"
    assert CANARY.encode() in run(env, "list", "--names")[0]
    markers = [part.lower().encode() for part in CANARY.split()]
    assert env["TMPDIR"].startswith(str(folder)) and env["HOME"].startswith(str(folder))  # the agent's and the commands'
    scanned = [Path(env["XDG_RUNTIME_DIR"]), folder, tmp_env]
    for folder in scanned:
        for root, _, files in os.walk(folder):
            if ".git" in Path(root).parts:
                continue
            for name in files:
                path = Path(root) / name
                if path.is_file() and not path.is_symlink():
                    data = path.read_bytes().lower()
                    assert not any(m in data for m in markers), path
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo, capture_output=True).stdout.lower()
    assert not any(m in objects for m in markers)


def test_an_agent_of_other_code_refuses_and_the_command_runs_here(tmp_env, team, repo, monkeypatch):
    """An agent started before an upgrade (here: one whose code fingerprint differs) still holds
    the key, but runs no command: the client runs it, with the key from the agent."""
    runtime = tempfile.mkdtemp(prefix="cpcm-rt-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    (tmp_env / "older").mkdir()
    (tmp_env / "older" / "older_agent.py").write_text(
        "import sys\nfrom cpcm import launch\nlaunch.fingerprint = lambda: b'cpcm 0.0.9 before the upgrade'\n"
        "from cpcm.cli import resident\nresident.main(sys.argv[1:])\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_env / "older"))
    from cpcm.crypto import agent, identity

    key = tmp_env / "keys" / "amina-protected.txt"
    protected(team["amina"][0], key)
    agent.start(key, identity.secret_text(identity.load(key, lambda: PASSPHRASE)), 600, program="older_agent")
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("CPCM_PASSPHRASE_FILE", "PYTHONPATH")}
        env.update(CPCM_REPO=str(repo), CPCM_IDENTITY=str(key), CPCM_NOW=NOW, PROBE_FILE=str(tmp_env / "probe"))
        out, err, code, who = run(env, "list", "--json")
        assert code == 0 and who == "local", err  # refused, then run here, without asking for a passphrase
        assert json.loads(out) == []
    finally:
        agent.lock(key)
        shutil.rmtree(runtime, ignore_errors=True)


def test_what_needs_standard_input_or_a_prompt_runs_here(shared):
    env, key, folder = shared
    out, err, code, who = run(env, "register", "--from-file", "-", "--json", stdin=json.dumps(registration()).encode())
    assert code == 0 and who == "local", err
    assert run(env, "show", json.loads(out)["case_id"], "--help")[3] == "local"
    assert run(env, "note", json.loads(out)["case_id"], "--text", "seen")[3] == "local"  # not a command the agent runs


def test_after_lock_or_with_a_dead_socket_commands_run_here(shared, monkeypatch):
    env, key, folder = shared
    before = case_ids(env)
    out, err, code, who = run(env, "lock", local=True)
    assert code == 0 and b"locked" in err + out
    out, err, code, who = run(env, "list")
    assert code == 5 and who == "local"  # locked: no passphrase and no terminal, as before
    secret = folder / "pass.txt"
    out, err, code, who = run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "list", "--json")
    assert code == 0 and who == "local" and {row["case_id"] for row in json.loads(out)} == before
    from cpcm.crypto import agent

    monkeypatch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])  # the folder the commands look in
    dead = agent.socket_path(key)  # a socket file nobody listens on (an agent that was killed)
    assert not dead.exists()  # the agent that was locked took its own away
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as orphan:
        orphan.bind(str(dead))
    out, err, code, who = run({**env, "CPCM_PASSPHRASE_FILE": str(secret)}, "list", "--json")
    assert code == 0 and who == "local", err
    dead.unlink()


def test_a_command_needing_another_protected_identity_is_refused_before_it_runs(tmp_env, team, repo, monkeypatch):
    """In the agent, a command that asks for a protected identity other than the one it holds, or
    reads standard input, stops before doing anything, and the agent answers NO."""
    from cpcm import launch
    from cpcm.cli import resident
    from cpcm.crypto import agent

    other = tmp_env / "keys" / "other-protected.txt"
    protected(team["otieno"][0], other)
    monkeypatch.setattr(resident, "_FINGERPRINT", launch.fingerprint())
    monkeypatch.setenv("CPCM_REPO", str(repo))
    monkeypatch.setenv("CPCM_NOW", NOW)
    monkeypatch.setenv("CPCM_PASSPHRASE_FILE", str(tmp_env / "pass.txt"))
    (tmp_env / "pass.txt").write_text(PASSPHRASE)
    (tmp_env / "pass.txt").chmod(0o600)
    monkeypatch.setattr(agent, "_holding", (agent.socket_path(tmp_env / "keys" / "held.txt"), "AGE-SECRET-KEY-NOT-USED"))
    before = commit_count(repo)
    assert resident.run(launch.request(["list", "--identity", str(other)])) == b"NO\n"
    monkeypatch.setattr(agent, "_holding", (agent.socket_path(team["amina"][0]), "not used: the file is not protected"))
    answer = resident.run(launch.request(["list", "--identity", str(team["amina"][0]), "--json"]))
    assert answer.startswith(b"OK\n") and answer.endswith(b"X" + struct.pack("!i", 0))
    assert resident.run(launch.request(["list", "--json"])[:-1]) == b"NO\n"  # a request cut short
    assert commit_count(repo) == before


def test_a_key_file_replaced_while_unlocked_is_not_answered_with_the_key_the_agent_holds(tmp_env, team, repo):
    """The agent answers for a path. Another key put at that path while it runs (a colleague's on
    the same laptop account, a new key copied from another laptop) is not answered with the key the
    agent holds: commands run here and in the agent ask for that file's passphrase (off a
    terminal: exit 5, nothing written), and never write as the worker who unlocked. The file put
    back, the agent answers again; `cpcm unlock` for the new file asks for its passphrase."""
    with unlocked(tmp_env, team["amina"][0], repo) as (env, key):
        amina_file = key.read_bytes()
        case = register_via_agent(env, tmp_env)
        before = commit_count(repo)
        colleague = tmp_env / "keys" / "colleague.txt"
        protected(team["otieno"][0], colleague)
        os.replace(colleague, key)
        for args in [("list", "--json"), ("show", case, "--json"), ("note", case, "--text", "a call"), ("key", "show")]:
            out, err, code, who = run(env, *args)
            assert code == 5 and b"passphrase-protected" in err, (args, code, err)
            assert team["amina"][1].encode() not in out + err
        assert commit_count(repo) == before
        refused = subprocess.run([sys.executable, "-m", "cpcm", "unlock"], env=env, capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL)
        assert refused.returncode == 2 and "no terminal to ask for it" in refused.stderr, refused.stderr  # the new file's passphrase is asked for, not taken from the agent
        key.write_bytes(amina_file)  # put back: the agent holds its key
        out, err, code, who = run(env, "list", "--json")
        assert code == 0 and who == "agent" and case in {row["case_id"] for row in json.loads(out)}, err


@pytest.mark.pure
def test_the_client_sends_only_command_lines_that_need_no_input():
    from cpcm.launch import eligible

    assert eligible(["show", "CP-4F7K-9X2M"], True, {})
    assert eligible(["register", "--from-file", "c.yaml"], True, {})
    assert eligible(["register", "--no-input", "--name", "x"], True, {})
    assert eligible(["register"], False, {})  # no terminal: register does not prompt
    assert not eligible(["register"], True, {})  # on a terminal: its prompts
    assert not eligible(["register", "--from-file", "-"], False, {})
    assert not eligible(["register", "--from-file=-"], False, {})
    assert not eligible(["register", "-f-"], False, {})
    assert not eligible(["show", "--help"], False, {})
    assert not eligible(["note", "CP-4F7K-9X2M", "--text", "x"], False, {})
    assert not eligible(["show", "CP-4F7K-9X2M"], False, {"CPCM_NO_AGENT": "1"})
    assert not eligible(["show", "CP-4F7K-9X2M"], False, {"CPCM_TEST_CRASH_AT": "commit"})
    assert not eligible([], False, {})


def test_the_agent_runs_the_installed_code_whatever_folder_unlock_ran_in(tmp_env, team, repo):
    """`python -m` puts the current folder first on the path: an agent started there would run a
    `cpcm` folder found in it. The agent starts from / without it."""
    script = Path(sys.executable).parent / "cpcm"
    if not script.exists():
        pytest.skip("no cpcm command next to this Python")
    runtime = tempfile.mkdtemp(prefix="cpcm-rt-")
    (tmp_env / "work" / "cpcm").mkdir(parents=True)
    (tmp_env / "work" / "cpcm" / "__init__.py").write_text("raise SystemExit('not the installed cpcm')\n")
    key = tmp_env / "keys" / "amina-protected.txt"
    protected(team["amina"][0], key)
    (tmp_env / "pass.txt").write_text(PASSPHRASE)
    (tmp_env / "pass.txt").chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k not in ("CPCM_PASSPHRASE_FILE", "CPCM_NO_AGENT")}
    env.update(CPCM_REPO=str(repo), CPCM_IDENTITY=str(key), CPCM_NOW=NOW, XDG_RUNTIME_DIR=runtime, PROBE_FILE=str(tmp_env / "probe"))
    try:
        unlocked = subprocess.run([str(script), "unlock", "--for", "5min"], cwd=tmp_env / "work", capture_output=True, text=True,
                                  env={**env, "CPCM_PASSPHRASE_FILE": str(tmp_env / "pass.txt")}, stdin=subprocess.DEVNULL)
        assert unlocked.returncode == 0, unlocked.stderr
        out, err, code, who = run(env, "list", "--json")
        assert code == 0 and who == "agent", err
    finally:
        subprocess.run([str(script), "lock"], env=env, capture_output=True, stdin=subprocess.DEVNULL)
        shutil.rmtree(runtime, ignore_errors=True)


def _held_texts(marker: str) -> list[str]:
    """Where this process holds a text (or bytes) with `marker` in it, other than `marker` itself:
    every module's names and every object the garbage collector follows, and, through them, the
    dictionaries and lists it does not follow (one of texts only, as a cache of texts is)."""
    import gc

    gc.collect()
    found: list[str] = []
    seen: dict[int, object] = {}  # kept alive while walking, so that no id is reused
    stack: list[tuple[str, object]] = [(type(held).__name__, held) for held in gc.get_objects()]
    stack += [(f"module {name}", vars(module)) for name, module in list(sys.modules.items()) if module is not None]  # first
    while stack:
        where, holder = stack.pop()
        if id(holder) in seen:
            continue
        seen[id(holder)] = holder
        if isinstance(holder, dict):
            items = [*holder.keys(), *holder.values()]
        elif isinstance(holder, (list, tuple, set, frozenset)):
            items = list(holder)
        else:
            try:
                items = gc.get_referents(holder)
            except Exception:  # noqa: BLE001 - an object that cannot say: not one cpcm keeps
                continue
        for item in items:
            if (isinstance(item, str) and marker in item and item is not marker) or \
                    (isinstance(item, (bytes, bytearray)) and marker.encode() in item):
                found.append(where)
            elif isinstance(item, (dict, list, tuple, set, frozenset)) and id(item) not in seen:
                stack.append((where, item))
    return found


def test_the_agent_keeps_no_case_text_from_one_command_to_the_next(tmp_env, team, repo, monkeypatch):
    """The agent is one process for many commands: what a command read or wrote of a case (here
    a name and a place, registered, listed and shown) is held by nothing once it is done."""
    from cpcm import launch
    from cpcm.cli import resident
    from cpcm.crypto import agent

    monkeypatch.setattr(resident, "_FINGERPRINT", launch.fingerprint())
    monkeypatch.setenv("CPCM_REPO", str(repo))
    monkeypatch.setenv("CPCM_NOW", NOW)
    monkeypatch.setenv("CPCM_IDENTITY", str(team["amina"][0]))
    monkeypatch.setattr(agent, "_holding", (agent.socket_path(team["amina"][0]), "not used: the file is not protected"))
    marker = "Qpw" + "zheldmark"  # made here, so that no constant of the tests holds it
    child = tmp_env / "child.json"
    child.write_text(json.dumps(registration(child={"name": f"{marker} Atieno", "sex": "female", "date_of_birth": "2015-04-01"},
                                             location=f"{marker} village", caregiver={"name": f"{marker} Mama", "relationship": "mother"})))
    answers = [resident.run(launch.request(["register", "--from-file", str(child), "--no-input", "--json"]))]
    child.unlink()
    case = json.loads(answers[0][answers[0].index(b"{"):answers[0].rindex(b"}") + 1])["case_id"]  # the one frame printed
    for args in (["list", "--names", "--json"], ["show", case], ["due", "--json"]):
        answers.append(resident.run(launch.request(args)))
    assert all(a.startswith(b"OK\n") and a.endswith(b"X" + struct.pack("!i", 0)) for a in answers), answers
    assert marker.encode() in answers[2]  # show printed it
    del answers
    assert _held_texts(marker) == []


def test_a_request_the_client_did_not_make_runs_nothing_and_the_agent_goes_on():
    """A malformed request (here a umask or a terminal size that is not a number, or text) is
    answered NO like any other: it must not end the agent's loop, and with it the unlock."""
    from cpcm import launch
    from cpcm.cli import resident

    saved = resident._FINGERPRINT
    resident._FINGERPRINT = launch.fingerprint()
    try:
        fields = resident._fields(launch.request(["list"]))
        for at, value in ((3, b"zz"), (3, b""), (11, b"\xff\xfex24")):
            bad = [*fields[:at], value, *fields[at + 1:]]
            env = [f for f in bad[14:] if not f.startswith(b"COLUMNS=")]  # the size is read only without $COLUMNS
            assert resident.run(b"".join(struct.pack("!I", len(f)) + f for f in [*bad[:14], *env])) == b"NO\n"
    finally:
        resident._FINGERPRINT = saved


def test_where_peer_credentials_cannot_be_read_the_command_runs_here(tmp_env, monkeypatch):
    """On a system without SO_PEERCRED (macOS) the agent answers no one; a socket found there
    (an agent left running) must not turn every command into a traceback: it runs here."""
    from cpcm import launch
    from cpcm.crypto import agent

    runtime = tempfile.mkdtemp(prefix="cpcm-rt-")
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
        key = tmp_env / "identity"
        monkeypatch.setenv("CPCM_IDENTITY", str(key))
        path = agent.socket_path(key)
        assert agent._private_dir(path.parent)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listening:
            listening.bind(str(path))
            listening.listen(1)
            monkeypatch.delattr(launch.socket, "SO_PEERCRED")
            assert launch.run_in_agent(["show", "CP-4F7K-9X2M"]) is None
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def test_commands_started_while_the_agent_runs_a_long_one_wait_for_it_or_get_the_key(shared, tmp_env):
    """A script's commands while the agent runs a long command (here a register that waits for
    the repository's lock): one the agent does not run gets the key at once, with no passphrase
    and no terminal (it was refused, exit 5); one the agent runs waits for the agent, which runs
    it when the register is done (it sees the new case)."""
    import fcntl
    import time

    from cpcm.crypto import agent

    env, key, folder = shared
    before = case_ids(env)
    sock = Path(env["XDG_RUNTIME_DIR"]) / "cpcm" / agent.socket_path(key).name
    holder = os.open(Path(env["CPCM_REPO"]) / ".cpcm" / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another writer: the register waits for it, in the agent
    child = tmp_env / "child.json"
    child.write_text(json.dumps(registration()))
    register = subprocess.Popen([sys.executable, "-m", "cpcm", "register", "--from-file", str(child), "--no-input", "--json"],
                                env={**env, "CPCM_LOCK_TIMEOUT": "300"}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    listing = None
    try:
        deadline = time.monotonic() + 60
        while True:  # until the agent runs the register: a RUN is not answered GO (but BUSY)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(2)
                probe.connect(str(sock))
                probe.sendall(b"RUN\n")
                try:
                    if probe.recv(3) != b"GO\n":
                        break  # (a GO is left unanswered: the agent runs nothing)
                except socket.timeout:
                    break
            assert time.monotonic() < deadline and register.poll() is None
            time.sleep(0.05)
        shown = subprocess.run([sys.executable, "-m", "cpcm", "key", "show"], env=env, capture_output=True, text=True,
                               stdin=subprocess.DEVNULL)
        assert shown.returncode == 0 and shown.stdout.startswith("age1"), shown.stderr
        listing = subprocess.Popen([sys.executable, "-c", PROBE, "list", "--json"], env={**env, "PROBE_FILE": str(tmp_env / "probe")},
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
        out, err = register.communicate(timeout=120)
    assert register.returncode == 0, err
    case_id = json.loads(out)["case_id"]
    out, err = listing.communicate(timeout=120)
    assert listing.returncode == 0 and err == b"", err
    assert {row["case_id"] for row in json.loads(out)} == before | {case_id}
    assert (tmp_env / "probe").read_text() == "agent"
