"""The command line: a thin shell over `cpcm.service`. `main()` is the only place that exits.

Each command group lives in its own module and registers itself on `app`.
"""
from __future__ import annotations

import errno
import os
import sys


def main(argv: list[str] | None = None) -> None:
    memo = sys.modules.get("cpcm.store.memo")
    if memo is not None:  # a process that runs many commands (the unlock agent, a test run)
        memo.let_go()  # what the command before held out of the collector's sight (`memo.held_long`)
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):  # fast path: no imports beyond the version
        from cpcm import __version__

        try:
            print(f"cpcm {__version__}", flush=True)
        except BrokenPipeError:
            sys.exit(_reader_gone())
        except OSError as exc:
            sys.exit(_no_room(exc, "", output=True))
        sys.exit(0)
    if argv is None and os.environ.get("_CPCM_COMPLETE"):  # a Tab press in a shell that loaded `cpcm completion`
        from cpcm.cli.completion import complete

        sys.exit(complete(os.environ["_CPCM_COMPLETE"]))
    debug = "--debug" in args or os.environ.get("CPCM_DEBUG") == "1"
    if "--debug" in args:
        args = [a for a in args if a != "--debug"]
    _stdout_takes_any_text(json_out="--json" in args)
    from cpcm.cli import fast

    run = fast.parse(args)  # `cpcm show CASE`: no typer, no click (cli/fast.py); None: parse as below
    if run is None:
        from cpcm.cli.app import build

        # `cpcm COMMAND ...` builds only COMMAND's module; `cpcm --help` and the like build them all
        app = build(args[0] if args and not args[0].startswith("-") else None)
    stdout, saved = _identity(1), _marks()  # the commits made and sent before this command (the agent runs many)
    opened = len(_opened())  # the same of the identities opened with a passphrase
    try:
        if run is not None:
            returned = run()
        else:
            from typer.main import get_command

            from cpcm.cli.common import check_arguments

            command = get_command(app)
            check_arguments(command)  # the input gate for arguments: valid UTF-8 or exit 2
            if not sys.stdout.isatty():  # click's plain help: its examples keep their lines
                from cpcm.cli.app import keep_example_lines

                keep_example_lines(command)
            returned = command(args=args, prog_name="cpcm", standalone_mode=False)
    except SystemExit as exc:
        if _pipe_met(stdout):  # typer or rich met the closed pipe first, and made it exit 1
            sys.exit(_reader_gone())
        sys.exit(_tipped(_flushed(exc.code, notices=True, saved=saved), args, opened))
    except BrokenPipeError:
        sys.exit(_reader_gone())
    except BaseException as exc:  # noqa: BLE001 - the one place errors become exit codes
        try:
            from cpcm.cli.common import options_named, said_in_language, said_in_repository
            from cpcm.errors import CpcmError

            # the repository's language, before the sessions are forgotten with their notices; an error of cpcm's
            # raised before the command opened its session (`due --within 99999`, an --out name refused before
            # anything is read) in the language of the repository the command line names, as a usage error is
            words = said_in_repository(args) if isinstance(exc, CpcmError) else said_in_language()
            options_named(exc, words)
            _notices(print_them=type(exc).__name__ == "Exit")  # typer.Exit: the command ran (exit 1 with problems, say)
            code = _exit_code(exc, debug, args, _done(saved), words)
        except BrokenPipeError:
            code = _reader_gone()
        sys.exit(_tipped(_flushed(code, saved=saved), args, opened))
    # without standalone mode, click returns the code of a typer.Exit instead of raising it; typer
    # makes Ctrl-C such an exit, with 130
    code = returned if isinstance(returned, int) else 0
    if code == 130:
        from cpcm.cli.common import said_in_language, say

        say(_interrupted(_after(_done(saved)), said_in_language()))
    sys.exit(_tipped(_flushed(code, notices=True, saved=saved), args, opened))


def _opened() -> list[str]:
    """How this process has opened a protected identity with its passphrase so far
    (crypto/identity.py `OPENED`), when that module is loaded."""
    module = sys.modules.get("cpcm.crypto.identity")
    return module.OPENED if module is not None else []


# commands after which the tip to unlock is no use: unlock opens the key for the agent, evacuate destroys it
NO_UNLOCK_TIP = ("unlock", "evacuate")


def _tipped(code: int, args: list[str], opened: int) -> int:
    """`code`, once the daily tip about `cpcm unlock` is said (cli.common.unlock_tip) where the
    command opened a protected identity with its passphrase itself; not when the reader of the
    output went away or the disk is full."""
    from cpcm.launch import NO_ROOM, READER_GONE

    command = next((a for a in args if not a.startswith("-")), "")
    if len(_opened()) <= opened or command in NO_UNLOCK_TIP or code in (READER_GONE, NO_ROOM):
        return code
    try:
        from cpcm.cli.common import unlock_tip

        unlock_tip(args)
    except (BrokenPipeError, OSError):
        pass
    return code


def _stdout_takes_any_text(json_out: bool = False) -> None:
    """What cpcm prints can hold any character (a child's name in Ge'ez script, say). Where
    stdout's encoding cannot write them all (a Latin-1 locale; Windows' code page when output
    goes to a file), the command would end in an error after it had done its work. So a file or
    a pipe gets UTF-8, which JSON must be and what git writes; with PYTHONIOENCODING, the
    encoding it names. A terminal keeps its encoding and shows '?' for a character it cannot;
    JSON (`json_out`) gets the character's escape instead (`\\u00a7`), which reads back as the
    character: a script loses nothing."""
    stream = sys.stdout
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
    if encoding in ("utf-8", "utf8") or not hasattr(stream, "reconfigure"):
        return
    try:
        if stream.isatty() or os.environ.get("PYTHONIOENCODING"):
            stream.reconfigure(errors=_json_escapes() if json_out else "replace")
        else:
            stream.reconfigure(encoding="utf-8")
    except (OSError, ValueError):
        pass


def _json_escapes() -> str:
    """The name of an error handler that writes a character the encoding lacks as JSON's escape
    of it (`\\uXXXX`, a pair of them beyond the first plane). In cpcm's JSON every character
    outside ASCII stands in a string, where the escape means the character itself."""
    import codecs

    def escaped(error: UnicodeError):
        if not isinstance(error, UnicodeEncodeError):
            raise error
        out = []
        for char in error.object[error.start:error.end]:
            point = ord(char)
            if point > 0xFFFF:
                point -= 0x10000
                out.append(f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}")
            else:
                out.append(f"\\u{point:04x}")
        return "".join(out), error.end

    codecs.register_error("cpcm-json-escape", escaped)
    return "cpcm-json-escape"


def _flushed(code, notices: bool = False, saved: tuple[int, int] = (0, 0)):
    """`code`, once what the command printed (and, with `notices`, its warnings) is written out;
    READER_GONE when the reader of its output went away meanwhile (`_reader_gone`), NO_ROOM
    when the output could not be written (`_no_room`; `saved`: the commits made and sent before
    the command, as `main` counts them, `_marks`)."""
    try:
        sys.stdout.flush()
        if notices:
            _notices()
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:  # stdout's own: the last of what the command printed
        from cpcm.launch import NO_ROOM

        if code == NO_ROOM:  # said already
            _to_nothing(sys.stdout)
            return code
        return _no_room(exc, _after(_done(saved)), output=True)
    return code


def _no_room(exc: OSError, after: str, output: bool = False) -> int:
    """A file or the output could not be written because the disk is full (or, `output`,
    standard output could not be written at all): said as such, not as a bug, and the rest of
    the output goes nowhere (not to a second error at exit). A write to the repository that
    stopped on it left nothing but what the next command tidies away; `after` says whether the
    command's change was saved before."""
    from cpcm.cli.common import say
    from cpcm.launch import NO_ROOM, NO_ROOM_HINT

    if output:
        _to_nothing(sys.stdout)
    try:
        sys.stdout.flush()  # what was left in the buffer: written, or to the null device
    except OSError:
        _to_nothing(sys.stdout)
    what = "cannot write the output" if output else "the disk is full"
    say(f"error: {what} ({exc.strerror or type(exc).__name__}){after or '; nothing was written'}.", "red")
    say(f"  {NO_ROOM_HINT}")
    return NO_ROOM


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        found = os.fstat(fd)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _pipe_met(stdout: tuple[int, int] | None) -> bool:
    """Whether a library met a closed pipe on stdout and exited 1 itself: click then wraps
    sys.stdout to keep quiet, rich points stdout at /dev/null (stdout is then another file)."""
    return type(sys.stdout).__name__.endswith("PacifyFlushWrapper") or _identity(1) != stdout


def _reader_gone() -> int:
    """The program reading cpcm's output stopped reading (`cpcm due | head -5`): the command stops
    there, without a message, as other command-line tools do. What it wrote before stands: a
    write is committed before anything about it is printed. The warnings it collected still go to
    standard error when that is open."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # the pipe is closed: what is left unwritten goes nowhere, not to a second error at exit
            _to_nothing(stream)
    try:
        _notices()
        sys.stderr.flush()
    except OSError:
        _to_nothing(sys.stderr)
    from cpcm.launch import READER_GONE

    return READER_GONE


def _to_nothing(stream) -> None:
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


def _notices(print_them: bool = True) -> None:
    """The warnings the command's session collected (cli.common.flush_notices), printed after
    its output; after an error nothing was written, so they are dropped."""
    from cpcm.cli import common

    common.flush_notices(print_them)


def _made_and_sent() -> tuple[list[str], list[str]]:
    """The commits this process has made (store/casestore.py `SAVED`) and sent to another copy
    (store/remote.py `PUSHED`) so far, when those modules are loaded."""
    store, remote = sys.modules.get("cpcm.store.casestore"), sys.modules.get("cpcm.store.remote")
    return (store.SAVED if store is not None else []), (remote.PUSHED if remote is not None else [])


def _marks() -> tuple[int, int]:
    """How many commits this process has made and sent so far (`_made_and_sent`): where a command's own begin."""
    made, sent = _made_and_sent()
    return len(made), len(sent)


def _done(since: tuple[int, int] = (0, 0)) -> tuple[list[str], list[str]]:
    """The commits made and those sent since `since` (as `_marks` gave it)."""
    made, sent = _made_and_sent()
    return made[since[0]:], sent[since[1]:]


def _after(done: tuple[list[str], list[str]]) -> str:
    """How a message of an interruption or a bug ends: whether the command's change was saved, or sent to
    another copy (a sync stopped after its push: the other copy holds it; the next sync ends it as any)."""
    made, sent = done
    if made:
        return f" after the change was saved in commit {made[-1][:10]}; it stands"
    if sent:
        return f" after your commits (up to {sent[-1][:10]}) were sent to the other copy; they stand"
    return NOTHING_WRITTEN


NOTHING_WRITTEN = "; nothing was written"  # how `_after` ends a message where the command wrote nothing


def _interrupted(after: str, words) -> str:
    """What an interrupted command says (Ctrl-C, or Ctrl-D at a question): that nothing was written in
    the repository's language (`words`: its `Wording.say`), else whether its change was saved (`_after`)."""
    from cpcm.errors import INTERRUPTED

    return words(INTERRUPTED) if after == NOTHING_WRITTEN else f"interrupted{after}"


def _exit_code(exc: BaseException, debug: bool, args: list[str], saved: tuple[list[str], list[str]], words) -> int:
    """The exit code of `exc`, its message said. `saved`: the commits the command made and sent before it,
    as `_done` gives them (an interruption or a bug after a write: the write stands, and the message says so).
    `words`: the repository's language's (`cli.common.said_in_language`), a refused form's lines and an
    interruption are said in; the JSON stays in English."""
    import typer

    from cpcm.cli.common import said_in_repository, said_refusal, say
    from cpcm.errors import ERROR, TRY_HELP, USAGE_ERROR, CpcmError

    if debug:
        _debug_traceback(exc, args)
    if isinstance(exc, CpcmError):
        message, hint = said_refusal(exc, words)
        say(words(ERROR) % {"message": message}, "red")
        if hint:
            say(f"  {hint}")
        if "--json" in args:
            _json_error(exc.to_json())
        return exc.exit_code
    after = _after(saved)
    if _disk_full(exc):
        return _no_room(exc, after)
    if isinstance(exc, (typer.Abort, KeyboardInterrupt, EOFError)):
        say(_interrupted(after, words))
        return 130
    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if type(exc).__name__ == "NoArgsIsHelpError":  # a command group given nothing: its help is the answer
        print(exc.format_message(), file=sys.stderr)
        return 2
    if _is_usage_error(exc):  # click's usage errors (bundled or not)
        # refused before the command ran, so before any session: the language of the repository the command names
        words = said_in_repository(args)
        say(words(USAGE_ERROR) % {"message": _usage_message(exc, args, words)}, "red")
        command = getattr(getattr(exc, "ctx", None), "command_path", None) or _command_path(args)
        say(words(TRY_HELP) % {"command": command})
        if "--json" in args:  # as a CpcmError's: a script reads what went wrong on stdout, in English
            # the message as every error's JSON gives it: without the prefix that stderr puts first
            _json_error({"error": "UsageError", "message": _usage_message(exc, args), "exit_code": 2,
                         "hint": TRY_HELP % {"command": command}})
        return 2
    say(f"internal error ({type(exc).__name__}){after}. Run again with --debug for the details.", "red")
    return 70


def _usage_message(exc: BaseException, args: list[str], words=None) -> str:
    """A usage error's message as said, without the prefix (`USAGE_ERROR`): click's, without the
    values typed (`_scrub`), or for a number option given something else (click's "'…' is not a
    valid float") what the option takes, in the words of its help: one message for every
    whole-number and number option, in the language of `words` (`Wording.say`; English by default:
    the JSON's and --debug's). Click's own messages are English in every language."""
    import click

    from cpcm.errors import NUMBER, NUMBER_ONLY, WHOLE_NUMBER, WHOLE_NUMBER_ONLY, in_english

    say = words or in_english
    param = getattr(exc, "param", None)
    if isinstance(exc, click.BadParameter) and isinstance(param, click.Option) \
            and isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)) \
            and not isinstance(param.type, click.types._NumberRangeBase):
        option = max(param.opts, key=len)
        whole = isinstance(param.type, click.types.IntParamType)
        meaning = (param.help or "").split(" (")[0].rstrip(".")
        meaning = meaning[:1].lower() + meaning[1:]
        message = (WHOLE_NUMBER if meaning else WHOLE_NUMBER_ONLY) if whole else (NUMBER if meaning else NUMBER_ONLY)
        return say(message) % {"option": option, "meaning": meaning}
    return _scrub(_said_once(exc.format_message()), args)


def _is_usage_error(exc: BaseException) -> bool:
    return hasattr(exc, "format_message") and hasattr(exc, "exit_code")


def _debug_traceback(exc: BaseException, args: list[str]) -> None:
    """`--debug`: where the command failed, for whoever maintains the install (cli/tracebacks.py):
    the frames and types of the exceptions, and the message cpcm says for the last one, never an
    exception's own text (a value typed or read), a source line or a local."""
    from cpcm.cli.tracebacks import safe_traceback
    from cpcm.errors import CpcmError

    if isinstance(exc, CpcmError):
        message = exc.message  # as said below: the paths the user gave already masked (cli.common.typed_paths)
    elif _is_usage_error(exc) and type(exc).__name__ != "NoArgsIsHelpError":
        message = _usage_message(exc, args)
    else:
        message = None  # a bug's own text may hold anything it was given: its type says what it was
    # the paths the user gave, masked where a frame's file lies under one: every word typed (an option's
    # value after its '='), and the variables that name paths
    given = [word.partition("=")[2] if word.startswith("-") else word for word in args]
    given += [os.environ.get(name) or "" for name in ("CPCM_REPO", "CPCM_IDENTITY", "CPCM_PASSPHRASE_FILE")]
    sys.stderr.write(safe_traceback(exc, message, given))
    sys.stderr.flush()


def _json_error(data: dict) -> None:
    """An error as JSON on stdout (`--json`), after its message on stderr."""
    from cpcm.cli.common import print_json

    try:
        print_json(data)
        sys.stdout.flush()
    except BrokenPipeError:  # the error's own code still tells a script what happened
        _reader_gone()


def _command_path(args: list[str]) -> str:
    """`cpcm` and the command words that lead `args` (`cpcm report statistics`), for an error click
    raised without its command (an option's value missing): only names of cpcm's own commands."""
    from cpcm.cli.app import build
    from typer.main import get_command

    path, command = ["cpcm"], get_command(build(args[0] if args and not args[0].startswith("-") else None))
    for word in args:
        command = getattr(command, "commands", {}).get(word)
        if command is None:
            break
        path.append(word)
    return " ".join(path)


def _said_once(message: str) -> str:
    """Click's message with its suggestion once: click 8.2 and later suggest a command for a typo
    themselves, and typer adds its own after ("Did you mean 'list'? Did you mean 'list'?", or
    "Did you mean 'plan'? (Did you mean one of: 'plan'?)")."""
    import re

    message = re.sub(r"( Did you mean [^?]*\?)(?:\1)+", r"\1", message)
    return re.sub(r"(Did you mean [^?]*\?.*?)\s*\(Did you mean one of: [^)]*\?\)", r"\1", message, flags=re.S)


def _scrub(message: str, args: list[str]) -> str:
    """A usage message without the values the user typed (a name typed in the wrong place
    must not be echoed): every non-option word of the command line is masked."""
    import re

    for word in sorted({a for a in args if not a.startswith("-") and len(a) > 1}, key=len, reverse=True):
        # the word as a whole only: 'place' typed is masked, not the 'place' of a suggestion 'placement'
        message = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", "…", message)
    return message
