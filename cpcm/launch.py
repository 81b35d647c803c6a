"""The `cpcm` command: a small client that lets the unlock agent run a command, else runs it here.

After `cpcm unlock`, the agent (cpcm/crypto/agent.py, cpcm/cli/resident.py) holds the decrypted
identity and has cpcm's code imported. For the commands in AGENT_COMMANDS, when their command
line can need nothing the agent cannot give (no standard input, no prompt), this client sends
the command line, the current folder, the environment and what the terminal looks like to the
agent of the identity in use, and prints what the agent sends back: the same bytes on stdout and
stderr, and the same exit code, as running the command here. Anything else, no agent, an agent
from other code (an upgrade or an edit since `cpcm unlock`), a refusal or a connection that fails
before the command ran: the command runs in this process, as without an agent.

This module imports only what Python has already imported at start (os, stat, sys), struct, the
C modules under socket and hashlib (`socket` itself builds enums at import, `hashlib` loads
OpenSSL: together about 15 ms, a third of the client), and cpcm/crypto/agentdir.py (the agent's
folder, the one rule both follow; it imports os and stat). The point is to start small.
`python -m cpcm` runs cpcm.__main__, which uses it too.
"""
from __future__ import annotations

import os
import struct
import sys

import _signal  # imported by Python at start: the signal module itself builds enums
import _socket as socket  # the socket type itself, without socket.py's enums

# the commands the agent may run: reads and register, none that asks for a passphrase, edits a
# file in $EDITOR or reads a table from standard input (`register` only without its prompts)
AGENT_COMMANDS = frozenset({"show", "list", "due", "report", "register", "log", "check"})
# while one of these is set, the command runs here: the tests' crash and pause points stop the
# process they run in, completion is a shell hook, CPCM_NO_AGENT=1 turns the agent's use off
LOCAL_ONLY = ("CPCM_NO_AGENT", "CPCM_TEST_CRASH_AT", "CPCM_TEST_PAUSE_AT", "_CPCM_COMPLETE")
TAG = b"cpcm-run-1"
MAX_REQUEST = 4 * 1024 * 1024  # as crypto/agent.py reads at most
READER_GONE = 141  # the exit code when the reader of the output went away (`cpcm due | head`): 128 + SIGPIPE
NO_ROOM = 74  # the exit code when a file or the output could not be written: the disk is full (errors.IO_ERROR, restated: see above)
NO_ROOM_HINT = "Make room on the disk (the repository's, or the one the output goes to) and run the command again."
PATIENCE = 5.0   # seconds to wait for the agent to answer at all (the machine loaded); then the command runs here
BUSY = b"BUSY\n"  # the agent's answer while it runs another command (crypto/agent.py)
BUSY_WAIT = 60.0  # seconds a command waits for the one the agent runs (as `cpcm lock` does); then it runs here
TELL_AFTER = 1.0  # seconds of that wait after which a terminal is told why nothing happens yet
WAITING = b"waiting for the command the agent is running...\n"


def main() -> None:
    no_core_files()
    standard_streams()
    try:
        code = run_in_agent(sys.argv[1:])
        if code is None:
            from cpcm.store.faults import keep_interrupts

            keep_interrupts()
            from cpcm.cli import main as run_here

            run_here()  # exits with the command's code
    except SystemExit as ended:
        code = ended.code
    except KeyboardInterrupt:  # Ctrl-C while cpcm starts (its imports), before the command's own handling
        cli = sys.modules.get("cpcm.cli")
        done = getattr(cli, "_done", None)
        _write(2, f"interrupted{cli._after(done()) if done else '; nothing was written'}\n".encode())
        code = 130
    ended_with(code)


def ended_with(code) -> None:
    """Exit with `code`, the command over and what it did said: a Ctrl-C from here on is ignored. Python's own
    end (freeing every object of a command that imported much: tens of milliseconds) gives Ctrl-C its default
    action back, which killed the process (exit 130) with no word that the change it had printed was saved, and a
    script trusting the code did it again (docs/exit-codes.md, 130). An ignored signal stays ignored there."""
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    sys.exit(code)


def no_core_files() -> None:
    """No core file of this command or of what it starts (git): a crash would write its memory to the
    disk, records' plain text included (docs/security.md). The soft limit only, so that someone who
    needs a core file to debug can raise it again in a process of their own."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ImportError, ValueError, OSError):  # no such limit here (Windows), or not allowed
        pass


def standard_streams() -> None:
    """A standard stream its starter closed (`cpcm due 2>&-`, `<&-`; a service manager that gives
    none) is opened on the null device: Python leaves it None, which ended the command with an
    internal error at its first message, and leaves its descriptor free, for the next file cpcm
    opens to take (a message, or git's, would then be written into that file). Reading the null
    device gives nothing; what is printed to it is lost, as the starter chose. Done first, before
    anything is opened."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
        except OSError:  # free: the null device takes it
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        else:  # taken meanwhile by something else: left to it
            fd = os.devnull
        stream = open(fd, "r" if name == "stdin" else "w", encoding="utf-8", errors="backslashreplace",
                      closefd=isinstance(fd, str))
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def eligible(args: list[str], stdin_tty: bool, environ=os.environ) -> bool:
    """Whether the agent may run this command line: a command it runs, nothing read from
    standard input, and no prompt (`register` on a terminal only with --no-input or --from-file)."""
    if not args or args[0] not in AGENT_COMMANDS:
        return False
    if any(environ.get(name) for name in LOCAL_ONLY):
        return False
    for word in args:
        if word in ("-", "-f-", "-o-", "--help", "-h") or word.endswith("=-"):
            return False
    if args[0] == "register" and stdin_tty:
        from_file = any(w == "--from-file" or w.startswith("--from-file=") or (w.startswith("-f") and w != "-f-") for w in args)
        return "--no-input" in args or from_file
    return True


def identity_file(args: list[str]) -> str | None:
    """The identity the command will use, as `cli.common.identity_path` finds it: --identity or
    -i, else $CPCM_IDENTITY, else the default path. None when the command line is not plain."""
    found = None
    i = 0
    while i < len(args):
        word = args[i]
        if word in ("--identity", "-i"):
            if found is not None or i + 1 >= len(args):
                return None
            found = args[i + 1]
            i += 1
        elif word.startswith("--identity="):
            if found is not None:
                return None
            found = word.partition("=")[2]
        elif word.startswith("-i") or word.startswith("--identity"):
            return None  # -iFILE, an abbreviation: not plain
        i += 1
    if found is None:
        found = os.environ.get("CPCM_IDENTITY") or ""
    if not found:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        found = os.path.join(base, "cpcm", "identity")
    return os.path.realpath(os.path.expanduser(found))


def socket_file(identity: str) -> str | None:
    """The agent's socket for that identity (crypto/agent.py names it the same way), when its
    folder is private to this user."""
    try:
        from _sha256 import sha256  # Python 3.11: built in, without OpenSSL
    except ImportError:
        from hashlib import sha256
    try:
        digest = sha256(identity.encode()).hexdigest()[:20]
    except UnicodeEncodeError:
        return None  # a path that is not text: the command says so itself
    from cpcm.crypto import agentdir  # the agent's rule for its folder (os and stat only)

    folder = agentdir.folder()
    if not agentdir.is_private(folder):  # the folder itself: a link (another user's, in /tmp) is not trusted
        return None
    return os.path.join(folder, agentdir.socket_name(digest))


def fingerprint() -> bytes:
    """What changes when the code changes: cpcm's version, where it is installed, the size and
    time of every file of the package, the interpreter, and the time of the folder packages are
    installed in (an installed or upgraded dependency changes it). The agent computes it when it
    starts; a client of other code gets a refusal and runs the command itself."""
    from cpcm import __version__

    package = os.path.dirname(os.path.abspath(__file__))
    count = size = newest = 0
    folders = [package]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append(entry.path)
                    continue
                info = entry.stat(follow_symlinks=False)
                count += 1
                size += info.st_size
                newest = max(newest, info.st_mtime_ns)
    installed = next((p for p in sys.path if p.endswith("site-packages")), "")
    try:
        installed_time = os.stat(installed).st_mtime_ns if installed else 0
    except OSError:
        installed_time = 0
    return "|".join([__version__, package, str(count), str(size), str(newest), sys.version, os.path.realpath(sys.executable),
                     f"{installed}@{installed_time}"]).encode("utf-8", "surrogateescape")


def _terminal_size() -> bytes:
    """The terminal's size as rich finds it (the first of stdin, stdout, stderr that is one)."""
    for fd in (0, 1, 2):
        try:
            columns, lines = os.get_terminal_size(fd)
        except (OSError, ValueError):
            continue
        return f"{columns}x{lines}".encode()
    return b""


def _stream(stream) -> list[bytes]:
    return [(getattr(stream, "encoding", None) or "utf-8").encode(), (getattr(stream, "errors", None) or "strict").encode(),
            b"1" if getattr(stream, "line_buffering", False) else b"0"]


def request(args: list[str]) -> bytes:
    """The request: the fields, each with its length. The agent reads it in cli/resident.py."""
    umask = os.umask(0o077)
    os.umask(umask)
    ttys = b"".join(b"1" if _isatty(s) else b"0" for s in (sys.stdin, sys.stdout, sys.stderr))
    fields = [TAG, fingerprint(), os.fsencode(os.getcwd()), b"%o" % umask, ttys, *_stream(sys.stdout), *_stream(sys.stderr),
              _terminal_size(), b"%d" % len(args), *(os.fsencode(a) for a in args),
              *(os.fsencode(k) + b"=" + os.fsencode(v) for k, v in os.environ.items())]
    return b"".join(struct.pack("!I", len(f)) + f for f in fields)


def _isatty(stream) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (ValueError, OSError):
        return False


def run_in_agent(args: list[str]) -> int | None:
    """The exit code of the command the agent ran (its output already printed here), or None:
    run it here. An agent running another command answers BUSY: this one waits for it (asking
    again, a few times a second) as long as it answers so, up to BUSY_WAIT, telling a terminal
    why after TELL_AFTER; an agent that is gone, or does not answer within PATIENCE, is not waited
    for."""
    if not eligible(args, _isatty(sys.stdin)):
        return None
    identity = identity_file(args)
    path = socket_file(identity) if identity else None
    if path is None or not os.path.exists(path):
        return None
    started, told, pause = None, False, 0.02
    while True:
        code = _offer(path, args)
        if code is not _BUSY:
            return code
        import time  # built in: only a command that waits needs it

        now = time.monotonic()
        if started is None:
            started = now
        elif now - started >= BUSY_WAIT:
            return None  # run here, with the key from the agent (it gives it while it is busy)
        if now - started >= TELL_AFTER and not told and _isatty(sys.stderr):
            _write(2, WAITING)
            told = True
        try:
            time.sleep(pause)
        except KeyboardInterrupt:  # Ctrl-C while it waits: nothing was sent, as cli.main says it
            _write(2, b"interrupted; nothing was written\n")
            return 130
        pause = min(pause * 2, 0.25)


_BUSY = object()  # the agent answered BUSY: it runs another command


def _offer(path: str, args: list[str]):
    """Offer the command to the agent: its exit code (the agent ran it), None (run it here), or
    _BUSY (it runs another command: nothing was sent, ask again)."""
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        try:
            conn.settimeout(PATIENCE)
            conn.connect(path)
            _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            if uid != os.getuid():
                return None
            conn.sendall(b"RUN\n")
            head = _exactly(conn, 3)
            if head == BUSY[:3] and _exactly(conn, len(BUSY) - 3) == BUSY[3:]:
                return _BUSY
            if head != b"GO\n":
                return None  # an agent that runs no commands, or does not answer in time: nothing ran
            body = request(args)
            if len(body) > MAX_REQUEST:
                return None
            conn.settimeout(None)  # from here the agent runs the command: wait for it
            conn.sendall(struct.pack("!I", len(body)) + body)
        except (OSError, ValueError, AttributeError):  # AttributeError: no SO_PEERCRED here (macOS): no agent is asked
            return None
        return _answer(conn, writes=args[0] == "register")
    finally:
        conn.close()


def _answer(conn: socket.socket, writes: bool) -> int | None:
    """Print the agent's answer: frames of (1 = stdout, 2 = stderr, their bytes) in the order
    the command wrote them, then its exit code. `NO`: the agent did not run it (None: run it
    here). No answer at all: a read runs here; a write may have been done, so it is not run again.
    Ctrl-C while the agent runs it: the agent goes on with it (it is not this process's), and
    this one says so and exits as an interrupted command does (130)."""
    try:
        return _answered(conn, writes)
    except KeyboardInterrupt:
        _write(2, b"interrupted; the unlock agent finishes the command it was running: check with 'cpcm log CASE' or "
                  b"'cpcm list' whether it was done before running it again\n")
        return 130


def _answered(conn: socket.socket, writes: bool) -> int | None:
    try:
        head = _exactly(conn, 3)
    except OSError:
        head = None
    if head == b"NO\n" or (head is None and not writes):
        return None
    if head != b"OK\n":
        return _stopped()
    try:
        while True:
            kind = _exactly(conn, 1)
            if kind == b"X":
                code = struct.unpack("!i", _exactly(conn, 4) or b"")[0]
                # as the command run here exits (cli.main): a command done whose output was cut short gives READER_GONE,
                # one whose output could not be written NO_ROOM
                if 1 in _lost:
                    return _output_lost(_lost[1], writes)
                return READER_GONE if code == 0 and 1 in _closed else code
            if kind not in (b"1", b"2"):
                break
            (size,) = struct.unpack("!I", _exactly(conn, 4) or b"")
            _write(int(kind), _exactly(conn, size) or b"")
    except (OSError, struct.error):
        pass
    return _stopped()


def _stopped() -> int:
    """The agent stopped while running the command (it was killed): what it did is unknown."""
    os.write(2, b"error: the unlock agent stopped while running the command; check with 'cpcm log CASE' "
                b"or 'cpcm list' whether it was done before running it again\n")
    return 70


def _exactly(conn: socket.socket, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = conn.recv(min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


_closed: set[int] = set()
_lost: dict[int, str] = {}  # a stream that could not be written (not a closed pipe): why


def _write(fd: int, data: bytes) -> None:
    """Write to stdout or stderr as the command would have (a closed pipe stops that stream)."""
    view = memoryview(data)
    while view and fd not in _closed:
        try:
            view = view[os.write(fd, view):]
        except BrokenPipeError:
            _closed.add(fd)
        except InterruptedError:
            continue
        except OSError as exc:  # a full disk, say: that stream stops, and the command ends saying so
            _closed.add(fd)
            _lost[fd] = exc.strerror or type(exc).__name__


def _output_lost(reason: str, writes: bool) -> int:
    """The agent's output could not be written here: said as `cli._no_room` says it."""
    done = "; the command itself was done (see 'cpcm list')" if writes else "; nothing was written"
    _write(2, f"error: cannot write the output ({reason}){done}.\n  {NO_ROOM_HINT}\n".encode())
    return NO_ROOM


if __name__ == "__main__":
    main()
