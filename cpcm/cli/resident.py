"""The unlock agent that also runs commands: `cpcm unlock` starts it (`python -m cpcm.cli.resident`).

It is the agent of cpcm/crypto/agent.py (the decrypted identity in memory only, a socket only its
user may open, peers checked to be that user, gone at its time, on `cpcm lock` or after a
suspend) with cpcm's code imported once. The client (cpcm/launch.py) sends a command line; the
agent runs `cpcm.cli.main` on it in this process, in the client's folder, with the client's
environment and umask, and with stdout and stderr that say what the client's say (a terminal or
not, their encodings, the terminal's size), so what it prints is byte for byte what the command
prints in its own process. What was printed goes back to the client in the order it was written,
with the exit code. One command at a time (meanwhile the agent's loop answers the others,
cpcm/crypto/agent.py: a command for the agent waits); everything a command changed in this process (the
environment, the folder, the umask, the streams, the state cpcm.cli.common keeps for one
command) is put back before the next.

Nothing is kept between commands but imported code and the caches that are keyed by the
file they read (path and modification time) or by what they hold (a git object by its id,
store/objects.py): the agent reads the repository afresh for every command, as a command in its
own process does. The code is the code the agent started with:
a client whose code differs (cpcm upgraded or edited since `cpcm unlock`) gets `NO` and runs the
command itself. docs/security.md gives the reasoning.
"""
from __future__ import annotations

import io
import os
import struct
import sys
import time

from cpcm import launch
from cpcm.crypto import agent

_FINGERPRINT = b""


class _Sink(io.RawIOBase):
    """Where a captured stream's bytes go: (stream number, bytes), in the order written."""

    def __init__(self, number: int, frames: list, tty: bool) -> None:
        super().__init__()
        self.number, self.frames, self.tty = number, frames, tty

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.tty

    def write(self, data) -> int:
        chunk = bytes(data)
        if chunk:
            self.frames.append((self.number, chunk))
        return len(chunk)


class _NoInput(io.RawIOBase):
    """Standard input in the agent: it says what the client's says (a terminal or not), and
    reading it stops the command before it writes anything (Elsewhere): it runs in the client."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def readable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.tty

    def readinto(self, buffer) -> int:
        raise agent.Elsewhere("standard input")


def _fields(body: bytes) -> list[bytes]:
    fields, at = [], 0
    while at < len(body):
        (size,) = struct.unpack_from("!I", body, at)
        at += 4
        if at + size > len(body):
            raise ValueError("a field runs past the end")
        fields.append(body[at:at + size])
        at += size
    return fields


def _stream(sink: _Sink, encoding: bytes, errors: bytes, line_buffering: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedWriter(sink), encoding=encoding.decode(), errors=errors.decode(),
                            line_buffering=line_buffering == b"1")


def run(body: bytes) -> bytes:
    """Run one command for the client; the answer to send back (`NO` when it must run there)."""
    try:
        fields = _fields(body)
        if len(fields) < 13 or fields[0] != launch.TAG or fields[1] != _FINGERPRINT:
            return b"NO\n"
        (_tag, _print, cwd, umask, ttys, out_enc, out_err, out_line, err_enc, err_err, err_line, size, count) = fields[:13]
        args = [os.fsdecode(a) for a in fields[13:13 + int(count)]]
        env = dict(os.fsdecode(item).partition("=")[::2] for item in fields[13 + int(count):])
        if len(args) != int(count) or len(ttys) != 3 or not launch.eligible(args, ttys[0:1] == b"1", env):
            return b"NO\n"
        frames: list[tuple[int, bytes]] = []
        out = _stream(_Sink(1, frames, ttys[1:2] == b"1"), out_enc, out_err, out_line)
        err = _stream(_Sink(2, frames, ttys[2:3] == b"1"), err_enc, err_err, err_line)
        stdin = io.TextIOWrapper(io.BufferedReader(_NoInput(ttys[0:1] == b"1")), encoding=out_enc.decode())
        mask = int(umask, 8)
        if size and "COLUMNS" not in env:  # the terminal's size: rich reads it here when it finds no terminal
            columns, _, lines = size.decode().partition("x")
            # a terminal that reports no size (0x0: a new pseudo-terminal, a serial console) is given rich's default
            # there (80x25); passed on as COLUMNS=0, it drew every table zero wide: the command printed nothing
            if columns.isdigit() and int(columns) > 0:
                env["COLUMNS"] = columns
            if lines.isdigit() and int(lines) > 0:
                env.setdefault("LINES", lines)
    except (ValueError, LookupError, struct.error):  # a request not of the client's making: nothing runs, the agent goes on
        return b"NO\n"
    code, elsewhere = _run_here(args, env, os.fsdecode(cwd), mask, out, err, stdin)
    if elsewhere:
        return b"NO\n"
    answer = [b"OK\n"]
    for number, chunk in frames:
        answer.append(b"%d" % number + struct.pack("!I", len(chunk)) + chunk)
    answer.append(b"X" + struct.pack("!i", code))
    return b"".join(answer)


def _run_here(args: list[str], env: dict, cwd: str, umask: int, out, err, stdin) -> tuple[int, bool]:
    """(exit code, whether the command needed the client's own process) of `cpcm.cli.main`."""
    import warnings

    from cpcm.cli import main

    saved_env, saved_cwd, saved_streams, saved_argv = dict(os.environ), os.getcwd(), (sys.stdin, sys.stdout, sys.stderr), sys.argv
    try:
        os.chdir(cwd)
    except OSError:
        return 0, True  # a folder the agent cannot enter (removed since): the client says so itself
    saved_filters = list(warnings.filters)
    saved_umask = os.umask(umask)
    elsewhere = False
    code = 0
    try:
        _replace_environ(env)
        _forget()
        sys.stdin, sys.stdout, sys.stderr, sys.argv = stdin, out, err, ["cpcm", *args]
        try:
            main(args)
        except SystemExit as exc:
            code = _exit_status(exc.code, err)
        except BaseException as exc:  # noqa: BLE001 - main turns every error into an exit code: this is a failure of main itself
            from cpcm.cli.tracebacks import safe_traceback

            err.write(safe_traceback(exc))  # as Python prints it, with its exit status, but frames and types only: no value
            code = 1
        elsewhere = agent.asked_elsewhere()  # main turned agent.Elsewhere into an internal error
        for stream in (out, err):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - an encoding the text cannot be written in: as Python would, lost
                pass
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.umask(saved_umask)
        try:
            os.chdir(saved_cwd)
        except OSError:
            os.chdir("/")
        _replace_environ(saved_env)
        warnings.filters[:] = saved_filters
        _forget()
    return code, elsewhere


def _exit_status(code, err) -> int:
    """The exit status Python gives a SystemExit's code."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        err.write(f"{code}\n")
    except Exception:  # noqa: BLE001
        pass
    return 1


def _replace_environ(env: dict) -> None:
    os.environ.clear()
    os.environ.update(env)
    time.tzset()  # TZ may differ from the agent's own


def _forget() -> None:
    """What cpcm and rich keep for one command in a process: dropped between commands."""
    from cpcm.cli import common
    from cpcm.store import emit, memo

    memo.forget_records()  # no case data kept from one command to the next
    memo.let_go()  # what the command held out of the collector's sight (`memo.held_long`): collectable again
    emit.forget()  # nor the short texts of records (names) the YAML writer and reader keep
    common.forget_console()
    common.flush_notices(print_them=False)  # the sessions a command opened
    agent.asked_elsewhere(reset=True)
    rich = sys.modules.get("rich")
    if rich is not None and hasattr(rich, "_console"):
        rich._console = None
    import warnings

    mutated = getattr(warnings, "_filters_mutated", None)
    if mutated is not None:
        mutated()  # the warnings shown once: once per command, as in a process of its own


def preload() -> None:
    """Import what the commands the agent runs import, so that none imports it again."""
    import importlib
    import pkgutil

    import cpcm

    for module in pkgutil.walk_packages(cpcm.__path__, "cpcm."):
        if module.name.endswith(".__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except Exception:  # noqa: BLE001 - a module that cannot be imported here is imported (and fails) when used
            continue
    from cpcm.cli.app import build

    build(None)
    import typer.main  # noqa: F401 - what main uses for every command but show


def main(argv: list[str]) -> None:
    global _FINGERPRINT
    path, seconds = agent.Path(argv[0]), int(argv[1])
    identity = agent.read_identity()
    _FINGERPRINT = launch.fingerprint()  # before importing: the code imported is at least this new
    preload()
    agent.serve(path, identity, seconds, runner=run)


if __name__ == "__main__":
    main(sys.argv[1:])
