"""Unlock once: a small agent that holds a passphrase-protected identity, decrypted, in memory
only, and gives it to commands of the same user (the ssh-agent / gpg-agent pattern).

`cpcm unlock` decrypts the identity (asking for the passphrase once) and starts the agent, a
background process that receives the identity through a pipe (never a file), listens on a Unix
socket that only its user may open, and answers only connections from processes of the same
user (checked with SO_PEERCRED). It forgets the identity and exits:
- when its time is up (`--for`, 8 hours by default);
- on `cpcm lock`;
- when the computer was asleep (suspended) for more than a minute: on Linux the boot-time clock
  runs on during a suspend and the monotonic clock does not, so the agent sees the gap;
- when its socket is removed.

Every command works without it, as before. What it does not protect against: while it runs, a
program running as the same user can ask it for the identity (as it could read an unprotected
identity file). docs/security.md says so.

Started by `cpcm unlock`, the agent also runs commands for the same user (`RUN`): the small
client of `cpcm` (cpcm/launch.py) sends a command line, and the command runs inside the agent,
where the code is already imported (cpcm/cli/resident.py). This layer only carries the request:
it answers `RUN` with `GO`, reads the request and hands it to the runner it was given, and while
a command runs `fetch` answers from memory for the identity it holds. It runs one command at a
time; meanwhile a thread answers everyone else at once (`_Doorman`): the key and the time left,
`BUSY` to another `RUN` (the client waits and asks again), and `LOCK` (no one is given the key
from then on). The agent's folder is chosen by cpcm/crypto/agentdir.py, for the client too.
"""
from __future__ import annotations

import hashlib
import os
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Callable

from cpcm.crypto import agentdir

DEFAULT_SECONDS = 8 * 3600
SLEEP_GAP = 60.0     # seconds of suspend after which the agent forgets the identity
POLL = 2.0
LOCK_WAIT = 60.0     # seconds `cpcm lock` waits for an agent that is running a command
START_WAIT = 30.0    # seconds `cpcm unlock` waits for the agent to answer (one that runs commands imports them first)
MAX_IDENTITY = 64 * 1024
MAX_REQUEST = 4 * 1024 * 1024  # a command line, its folder and its environment

# While the agent runs a command in its own process: (socket path, identity text). `fetch` answers
# from here for that identity, and refuses (raises Elsewhere) for any other protected identity, so
# the command runs where a passphrase can be asked: the client's own process.
_holding: tuple[Path, str] | None = None


_elsewhere = False


class Elsewhere(BaseException):
    """Raised inside a command the agent runs when it needs what only the client's own process
    has (another protected identity's passphrase, standard input): the command stops before it
    writes anything, and the client runs it itself. Remembered even when caught (`asked_elsewhere`)."""

    def __init__(self, *args) -> None:
        global _elsewhere
        super().__init__(*args)
        _elsewhere = True


def asked_elsewhere(reset: bool = False) -> bool:
    """Whether a command the agent ran needed the client's own process (since the last reset)."""
    global _elsewhere
    asked = _elsewhere
    if reset:
        _elsewhere = False
    return asked


def socket_dir() -> Path:
    """A folder only this user may open: $XDG_RUNTIME_DIR/cpcm (a per-user tmpfs on most Linux
    systems), else one in the user's home (~/.cache/cpcm/agent), else /tmp/cpcm-agent-UID
    (cpcm/crypto/agentdir.py, the rule the client of `cpcm` follows too)."""
    return Path(agentdir.folder())


def socket_path(identity_path: Path) -> Path:
    """One agent per identity file: the socket's name is a digest of the file's full path."""
    digest = hashlib.sha256(str(Path(identity_path).expanduser().resolve()).encode()).hexdigest()[:20]
    return socket_dir() / agentdir.socket_name(digest)


def _private_dir(folder: Path) -> bool:
    """Make the folder (mode 700) or check one that exists is ours and private: a folder itself,
    not a symbolic link (in /tmp another user may make the link, and point it elsewhere between
    this look and a connection)."""
    return agentdir.is_private(str(folder), make=True)


def _same_user(conn: socket.socket) -> bool:
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return False
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


class Busy(Exception):
    """The agent took the request and did not answer in time: it is running a command, and
    reads the request when that command is done."""


def _ask(path: Path, request: bytes, timeout: float = 1.0, busy: bool = False) -> bytes | None:
    """The agent's answer, or None (no agent of this user there, or no answer in time). `busy`:
    raise Busy when the agent was reached and sent the request but did not answer in time."""
    if not agentdir.is_private(str(path.parent)):  # looked at, not made: no folder, no agent
        return None
    sent = False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(path))
            if not _same_user(conn):
                return None  # an agent of another user: never ask it, never believe it
            conn.sendall(request)
            sent = True
            chunks = []
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if sum(map(len, chunks)) > MAX_IDENTITY:
                    return None
            return b"".join(chunks)
    except socket.timeout:
        if busy and sent:
            raise Busy from None
        return None
    except OSError:
        return None


FILE_LINE = "# cpcm-agent-file: "  # the first line of what the agent holds: the digest of the identity file it opened


def held_text(identity_text: str, file_bytes: bytes) -> str:
    """What `cpcm unlock` gives the agent: the identity's key lines after a comment line holding the
    digest of the (encrypted) identity file they were opened from. The agent answers for a path;
    this says for which file: one put at that path since (another worker's key, a new key copied
    from another laptop) is not answered with the key the agent holds (`held_for`)."""
    return f"{FILE_LINE}{hashlib.sha256(file_bytes).hexdigest()}\n{identity_text}"


def held_for(text: str, file_bytes: bytes) -> bool:
    """Whether the identity text an agent gave was opened from the file that now holds `file_bytes`.
    A text without the line (an agent started by an earlier version) is believed for its path, as
    then."""
    first, _, _ = text.partition("\n")
    if not first.startswith(FILE_LINE):
        return True
    return first[len(FILE_LINE):].strip() == hashlib.sha256(file_bytes).hexdigest()


def fetch(identity_path: Path) -> str | None:
    """The identity's text from a running agent, or None (no agent, or it does not answer)."""
    if _holding is not None:  # inside the agent, running a command: never ask a socket (not even its own)
        if socket_path(identity_path) == _holding[0]:
            return _holding[1]
        raise Elsewhere("another protected identity")
    answer = _ask(socket_path(identity_path), b"KEY\n")
    if not answer or not answer.startswith(b"OK\n"):
        return None
    return answer[3:].decode("utf-8", "replace")


def status(identity_path: Path) -> int | None:
    """Seconds until the agent for this identity forgets it, or None when none runs."""
    answer = _ask(socket_path(identity_path), b"STATUS\n")
    if not answer or not answer.startswith(b"OK "):
        return None
    try:
        return int(answer[3:].strip())
    except ValueError:
        return None


def lock(identity_path: Path) -> bool | None:
    """Tell the agent to forget the identity and stop; True when one was running, False when
    none was. An agent running a command answers when the command is done; None when that
    takes longer than LOCK_WAIT: the request waits in the agent's queue, and the agent forgets
    the identity and stops as soon as the command is done."""
    try:
        answer = _ask(socket_path(identity_path), b"LOCK\n", timeout=LOCK_WAIT, busy=True)
    except Busy:
        return None
    return bool(answer and answer.startswith(b"OK"))


def start(identity_path: Path, identity_text: str, seconds: int, program: str = "cpcm.crypto.agent") -> None:
    """Start an agent holding `identity_text` for `seconds` (one that runs for the same identity
    is stopped first). The text goes to the new process through a pipe, never a file. `program`
    is the module the agent runs as (`python -m`): this one holds the key only;
    `cpcm.cli.resident` also runs commands."""
    import subprocess

    path = socket_path(identity_path)
    if not _private_dir(path.parent):
        raise OSError(f"the agent's folder {path.parent} is not private to you (it must be a folder of yours, "
                      "not a link, that only you may open: mode 700)")
    lock(identity_path)
    # from /, and without the current folder on its path (-P): `python -m` would otherwise import
    # whatever `cpcm` package the folder `cpcm unlock` ran in holds, not the installed one
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    process = subprocess.Popen([sys.executable, *safe_path, "-m", program, str(path), str(int(seconds))],
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, close_fds=True, cwd="/")
    assert process.stdin is not None
    process.stdin.write(identity_text.encode("utf-8"))
    process.stdin.close()
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        if status(identity_path) is not None:
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:  # too slow: it must not start answering later, with the key, once `unlock` said it could not
        process.kill()
        process.wait()
    raise OSError("the agent did not start")


def _boottime() -> float:
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    return time.clock_gettime(clock) if clock is not None else time.monotonic()


def slept(monotonic_elapsed: float, boot_elapsed: float) -> bool:
    """Whether the computer was suspended between two looks at the clocks: the boot-time clock
    counts a suspend and the monotonic clock does not."""
    return boot_elapsed - monotonic_elapsed > SLEEP_GAP


def serve(path: Path, identity: bytes, seconds: int, runner: Callable[[bytes], bytes] | None = None) -> None:
    """The agent's loop (in its own process). With a `runner`, it also answers `RUN`: the
    request's bytes go to `runner`, whose answer goes back to the client."""
    global _holding
    ends = time.monotonic() + seconds
    last_mono, last_boot = time.monotonic(), _boottime()
    if not _private_dir(path.parent):
        return  # a folder others may open (or a link to one): no socket is made there
    old_umask = os.umask(0o177)
    try:
        path.unlink(missing_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
    finally:
        os.umask(old_umask)
    identity_stat = path.stat()
    server.listen(8)
    server.settimeout(POLL)

    def ours() -> bool:
        """The socket file is still the one this agent made (not removed, nor replaced by another's)."""
        try:
            current = path.stat()
        except OSError:
            return False
        return (current.st_ino, current.st_dev) == (identity_stat.st_ino, identity_stat.st_dev)

    def remove_socket() -> None:
        """Remove the socket (when it is still ours) before any client is answered with a closed
        connection: whoever sees the agent gone also sees its socket gone."""
        if ours():
            try:
                path.unlink()
            except OSError:
                pass

    def expired() -> bool:
        """Time up, or the computer slept since the last look, or the socket is not ours any more."""
        nonlocal last_mono, last_boot
        now_mono, now_boot = time.monotonic(), _boottime()
        if now_mono >= ends or slept(now_mono - last_mono, now_boot - last_boot):
            return True
        last_mono, last_boot = now_mono, now_boot
        return not ours()

    def answered(conn: socket.socket, request: bytes) -> bool:
        """KEY and STATUS, answered at once (by the loop, or while it runs a command)."""
        if request == b"KEY\n":
            conn.sendall(b"OK\n" + identity)
        elif request == b"STATUS\n":
            conn.sendall(f"OK {int(ends - time.monotonic())}\n".encode())
        else:
            return False
        return True

    try:
        while True:
            if expired():
                return
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            with conn:
                if expired():  # looked at again: a request can arrive the moment the computer wakes
                    remove_socket()
                    return
                conn.settimeout(2.0)
                if not _same_user(conn):
                    continue
                try:
                    request = conn.recv(64)
                except OSError:
                    continue
                if answered(conn, request):
                    pass
                elif request == b"LOCK\n":
                    remove_socket()
                    try:
                        conn.sendall(b"OK\n")
                    except OSError:
                        pass  # `cpcm lock` stopped waiting while a command ran: its request stands
                    return
                elif request == b"RUN\n" and runner is not None:
                    with _Doorman(server, answered, expired, remove_socket) as doorman:
                        body = _read_request(conn)  # None: the client went away before sending it, nothing runs
                        if body is not None:
                            _holding = (path, identity.decode("utf-8", "replace"))
                            try:
                                answer = runner(body)
                            finally:
                                _holding = None
                            try:
                                conn.settimeout(30.0)
                                conn.sendall(answer)
                            except OSError:
                                pass  # the client is gone (interrupted): the command ran, as it would have
                    if doorman.lock is not None:  # `cpcm lock` came while the command ran: answered now it is done
                        try:
                            doorman.lock.sendall(b"OK\n")
                        except OSError:
                            pass  # it stopped waiting: its request stands all the same
                        _end(doorman.lock)
                        return
                    if doorman.over:
                        return
    finally:
        remove_socket()
        server.close()


BUSY = b"BUSY\n"  # the answer to RUN while the agent runs another command: ask again (cpcm/launch.py waits)


class _Doorman:
    """While the agent runs a command (in its main thread), a thread that answers everyone else at
    once, so that no command waits without knowing why, nor takes a silent agent for a gone one
    and asks for the passphrase: KEY and STATUS as ever, RUN with BUSY (the client asks again
    until the agent is free), LOCK taken at once (the socket goes, so no command is given the key
    any more; it is answered once the command is done). It looks at the time, the suspend and the
    socket as the loop does, and when they say stop, the socket goes and the agent stops after
    the command. Stopped (through a pipe) and waited for before the loop accepts again: one
    thread at a time takes connections."""

    def __init__(self, server: socket.socket, answered, expired, remove_socket) -> None:
        self.server, self.answered, self.expired, self.remove_socket = server, answered, expired, remove_socket
        self.lock: socket.socket | None = None  # the connection of a LOCK request, to answer after the command
        self.over = False  # time up, a suspend, or the socket gone: the agent stops after the command

    def __enter__(self) -> "_Doorman":
        import threading

        self._stop_read, self._stop_write = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="cpcm-agent-busy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        os.write(self._stop_write, b"x")
        self._thread.join()
        os.close(self._stop_read)
        os.close(self._stop_write)

    def _serve(self) -> None:
        import select

        while True:
            ready, _, _ = select.select([self.server, self._stop_read], [], [], POLL)
            if self._stop_read in ready:
                return
            if self.expired():
                self.over = True
                self.remove_socket()
                return
            if not ready:
                continue
            try:
                conn, _ = self.server.accept()
            except OSError:  # socket.timeout included: someone who gave up before it was taken
                continue
            if self._one(conn):
                return

    def _one(self, conn: socket.socket) -> bool:
        """Answer one connection; True when it was LOCK (kept open, and the doorman stops)."""
        try:
            conn.settimeout(2.0)
            if not _same_user(conn):
                return False
            request = conn.recv(64)
            if request == b"LOCK\n":
                self.remove_socket()
                self.lock, conn = conn, None
                return True
            if not self.answered(conn, request) and request == b"RUN\n":
                conn.sendall(BUSY)
        except OSError:
            pass
        finally:
            if conn is not None:
                _end(conn)
        return False


def _end(conn: socket.socket) -> None:
    """Close a client's connection, and end it for the client now: a worker process the running
    command forked (store/parallel.py) holds a copy of it, and closing this one alone would leave
    the client waiting for the end of the answer until that worker is gone."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client went away first
    conn.close()


def _read_request(conn: socket.socket) -> bytes | None:
    """After `GO`, the request: its length (4 bytes, big-endian), then that many bytes. None when
    the client closed the connection (it stopped waiting) or sent too much."""
    try:
        conn.sendall(b"GO\n")
        head = _recv_exactly(conn, 4)
        if head is None:
            return None
        (size,) = struct.unpack("!I", head)
        body = _recv_exactly(conn, size) if size <= MAX_REQUEST else None
        if body is None:
            conn.sendall(b"NO\n")  # nothing runs: the client runs it itself, if it still waits
        return body
    except OSError:
        return None


def _recv_exactly(conn: socket.socket, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = conn.recv(min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def no_core_dumps() -> None:
    """Keep this process's memory off the disk: no core file when it crashes (a core dump
    handler such as systemd-coredump keeps them for days, in plain text), and on Linux not
    dumpable at all, as ssh-agent makes itself (which also keeps debuggers of the same user from
    attaching, and its memory from being read through /proc). The agent holds the key for hours,
    and while it runs a command, that command's cases."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        except (OSError, AttributeError):
            pass


PR_SET_DUMPABLE = 4  # prctl(2)


def read_identity() -> bytes:
    """The identity's text from the pipe `start` wrote it to (the agent's standard input), in a
    process that can no longer dump its memory (`no_core_dumps`)."""
    no_core_dumps()
    identity = sys.stdin.buffer.read(MAX_IDENTITY + 1)
    sys.stdin.close()
    if not identity or len(identity) > MAX_IDENTITY:
        sys.exit(2)
    return identity


def main(argv: list[str]) -> None:
    path, seconds = Path(argv[0]), int(argv[1])
    serve(path, read_identity(), seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
