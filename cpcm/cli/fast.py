"""The fast path of the most frequent reads, `cpcm show CASE [RECORD] [--json] [--repo R]
[--identity I]`, `cpcm due [--within DAYS] [--worker W] [--overdue] [--json] [--repo R]
[--identity I]` and `cpcm list [--status S] [--risk R] [--worker W] [--stage S] [--names]
[--json] [--repo R] [--identity I]`, and of `cpcm review --batch FILE [--dry-run] [--json]
[--repo R] [--identity I]` (cli/batch.py): their arguments parsed here, without importing typer
and click or building the command line (about a tenth of a second of every command). The
command itself is the same function the typer command calls (`cli.cases.show_case`,
`cli.workflow.due_command`, `cli.cases.list_cases`), so output, errors and exit codes are the
same; `main` handles errors for both paths alike.

Anything this parser does not know for certain (help, `--`, an unknown or repeated option, an
option without its value, too many or too few arguments) returns None, and the command line
is parsed by typer as before, with its own messages.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

# the value options of `show`: each name -> the parameter (and the name an input error gives)
_VALUES = {"--repo": "--repo", "--identity": "--identity", "-i": "--identity"}


def parse(args: list[str]) -> Callable[[], None] | None:
    """The command to run for `args` when the fast path serves them, else None."""
    if args and args[0] == "due":
        return _due(args[1:])
    if args and args[0] == "list":
        return _list(args[1:])
    if args and args[0] == "review":
        return _review_batch(args[1:])
    if not args or args[0] != "show":
        return None
    positional: list[str] = []
    values: dict[str, str] = {}
    json_out = False
    rest = args[1:]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word == "--json":
            if json_out:
                return None
            json_out = True
        elif word.startswith("-"):
            i = _option(rest, i, _VALUES, values)  # None: --help, --, an unknown option, -iFILE: typer decides
            if i is None:
                return None
        else:
            positional.append(word)
        i += 1
    if not 1 <= len(positional) <= 2:
        return None

    def run() -> None:
        from cpcm.cli.cases import show_case
        from cpcm.cli.common import check_argument

        # the input gate typer's path applies (common.check_arguments), with the same names
        check_argument("CASE", positional[0])
        check_argument("RECORD", positional[1] if len(positional) > 1 else None)
        given = _gated(values, _VALUES)
        show_case(positional[0], positional[1] if len(positional) > 1 else None, given.get("--repo"), given.get("--identity"),
                  json_out)
    return run


# `cpcm due [--within DAYS] [--worker W] [--overdue] [--json] [--repo R] [--identity I]`, the
# command of every morning, the same way: the value options -> the parameter they set
_DUE_VALUES = {"--within": "--within", "--worker": "--worker", **_VALUES}
_DUE_FLAGS = ("--overdue", "--json")


def _due(rest: list[str]) -> Callable[[], None] | None:
    read = _options(rest, _DUE_FLAGS, _DUE_VALUES)  # None: --help, --ics, --force, an argument, an unknown option
    if read is None:
        return None
    values, flags = read
    within = None
    if "--within" in values:
        try:
            within = float(values["--within"])  # as click reads a float option; a value it refuses: typer's message
        except ValueError:
            return None

    def run() -> None:
        from cpcm.cli.workflow import due_command

        given = _gated(values, _DUE_VALUES)
        due_command(within, given.get("--worker"), "--overdue" in flags, None, False, given.get("--repo"), given.get("--identity"),
                    "--json" in flags)
    return run


# `cpcm list [--status S] [--risk R] [--worker W] [--stage S] [--names] [--json] [--repo R] [--identity I]`
_LIST_VALUES = {"--status": "--status", "--risk": "--risk", "--worker": "--worker", "--stage": "--stage", **_VALUES}
_LIST_FLAGS = ("--names", "--json")


def _list(rest: list[str]) -> Callable[[], None] | None:
    read = _options(rest, _LIST_FLAGS, _LIST_VALUES)  # None: --help, an argument, an unknown option
    if read is None:
        return None
    values, flags = read

    def run() -> None:
        from cpcm.cli.cases import list_cases

        given = _gated(values, _LIST_VALUES)
        list_cases(given.get("--status"), given.get("--risk"), given.get("--worker"), given.get("--stage"), "--names" in flags,
                   given.get("--repo"), given.get("--identity"), "--json" in flags)
    return run


# `cpcm review --batch FILE [--dry-run] [--json] [--repo R] [--identity I]`: a batch of reviews
_BATCH_VALUES = {"--batch": "--batch", **_VALUES}
_BATCH_FLAGS = ("--dry-run", "--json")


def _review_batch(rest: list[str]) -> Callable[[], None] | None:
    read = _options(rest, _BATCH_FLAGS, _BATCH_VALUES)  # None: a case, --done, --help, an unknown option
    if read is None or "--batch" not in read[0]:
        return None
    values, flags = read

    def run() -> None:
        from cpcm.cli.batch import review_batch_command

        given = _gated(values, _BATCH_VALUES)
        review_batch_command(given["--batch"], "--dry-run" in flags, given.get("--repo"), given.get("--identity"), "--json" in flags)
    return run


_FILES = ("--repo", "--identity", "--batch")  # options whose value is a file, given as a Path as typer gives it


def _gated(values: dict[str, str], known: dict[str, str]) -> dict[str, Any]:
    """The options' values through the input gate typer's path applies (common.check_arguments),
    with the same names, in the command's order (`known`'s); a file's as a Path."""
    from cpcm.cli.common import check_argument

    gated: dict[str, Any] = {}
    for option in dict.fromkeys(known.values()):
        if option in values:
            gated[option] = Path(values[option]) if option in _FILES else values[option]
            check_argument(option, gated[option])
    return gated


def _options(rest: list[str], flag_names: tuple[str, ...], known: dict[str, str]) -> tuple[dict[str, str], set[str]] | None:
    """The flags and option values of a command's words, each given at most once; None when typer
    must decide (anything else: an argument, an unknown option, --help, a flag given twice)."""
    values: dict[str, str] = {}
    flags: set[str] = set()
    i = 0
    while i < len(rest):
        word = rest[i]
        if word in flag_names:
            if word in flags:
                return None
            flags.add(word)
        else:
            i = _option(rest, i, known, values)
            if i is None:
                return None
        i += 1
    return values, flags


def _option(rest: list[str], i: int, known: dict[str, str], values: dict[str, str]) -> int | None:
    """Read the option at rest[i] (`--name value` or `--name=value`) into `values`; the index of
    its last word, or None when typer must decide (an option not in `known`, `-iFILE`, a value
    missing, empty, given twice or looking like an option)."""
    name, eq, value = rest[i].partition("=")
    if name not in known or (eq and name == "-i"):
        return None
    if not eq:
        if i + 1 >= len(rest):
            return None
        i += 1
        value = rest[i]
    key = known[name]
    if key in values or not value or value.startswith("-"):
        return None
    values[key] = value
    return i
