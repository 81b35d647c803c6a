"""What every command shares: options defined once, opening the repository, output.

Data goes to stdout (a rich table on a terminal, plain tab-separated text when piped, JSON
with --json); messages go to stderr. Nothing here prints personal data unless the command was
asked to show it.
"""
from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Callable, Collection, Iterable, Mapping, NamedTuple, Optional, Sequence

from cpcm import clock


def __getattr__(name: str) -> Any:
    """The options every command shares (`RepoOpt`, `JsonOpt`, ...), made on first use: typer is
    imported only by a command that builds its parameters, not by the fast path of `cpcm show`."""
    if name not in _OPTIONS:
        raise AttributeError(f"module 'cpcm.cli.common' has no attribute {name!r}")
    import typer

    options = {
        "RepoOpt": Annotated[Optional[Path], typer.Option("--repo", help="Casefile repository (default: $CPCM_REPO, the nearest parent with .cpcm/, or ./casefiles).", show_default=False)],
        "IdentityOpt": Annotated[Optional[Path], typer.Option("--identity", "-i", help="Your age identity file (default: $CPCM_IDENTITY or ~/.config/cpcm/identity).", show_default=False)],
        # every command takes --repo and --identity (docs/README.md, "Settings that every command reads"), so that a
        # script can give both to every call: a command that reads no repository, or opens no key, takes and ignores it
        "UnusedRepoOpt": Annotated[Optional[Path], typer.Option("--repo", help="Taken as by every command, and not used: this command reads no casefile repository.", show_default=False)],
        "UnusedIdentityOpt": Annotated[Optional[Path], typer.Option("--identity", "-i", help="Taken as by every command, and not used: this command opens no key of yours.", show_default=False)],
        "JsonOpt": Annotated[bool, typer.Option("--json", help="Print JSON for scripts (stable snake_case keys).")],
        "AtOpt": Annotated[Optional[str], typer.Option("--at", help="When it happened (ISO date or date-time; default now).", show_default=False)],
        "FromFileOpt": Annotated[Optional[str], typer.Option("--from-file", "-f", help="Read the record from a YAML file ('-' for standard input).", show_default=False)],
        "NoInputOpt": Annotated[bool, typer.Option("--no-input", help="Never prompt, even on a terminal.")],
        "ForceOpt": Annotated[bool, typer.Option("--force", help="Replace the file it writes when that file exists (atomically).")],
        "SetOpt": Annotated[Optional[list[str]], typer.Option("--set", help="Set any field of the form: --set path.to.field=value (repeat). A list: --set again for each value; a list of entries: each entry's fields by number (people.1.name=...).", show_default=False)],
    }
    globals().update(options)
    return options[name]


_OPTIONS = ("RepoOpt", "IdentityOpt", "UnusedRepoOpt", "UnusedIdentityOpt", "JsonOpt", "AtOpt", "FromFileOpt", "NoInputOpt", "ForceOpt", "SetOpt")


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


_err_console = None


def err_console():
    global _err_console
    if _err_console is None:
        from rich.console import Console

        _err_console = Console(stderr=True, highlight=False)
    return _err_console


def forget_console() -> None:
    """Drop the stderr console: the next message makes one for the terminal (and environment)
    of the command running then (the unlock agent runs several commands in one process)."""
    global _err_console
    _err_console = None


def with_progress(work, total: int, label: str):
    """Run `work(tick)` with a progress bar (`tick(n)` advances it) on the terminal of standard
    error, as every message, quietly when it is not one: standard output holds only the data, so
    `--json` stays JSON on a terminal whose messages go to a file (`2> log`)."""
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return work(lambda n: None)
    from rich.progress import Progress

    with Progress(console=err_console(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        return work(lambda n: bar.advance(task, n))


def say(message: str, style: str = "") -> None:
    """A message for the person at the terminal (stderr)."""
    if sys.stderr.isatty():
        err_console().print(message, style=style or None, markup=False)
    else:
        print(message, file=sys.stderr)


def warn(message: str) -> None:
    say(f"warning: {message}", "yellow")


# each kind of folder (workflow/rules.py FOLDER_KINDS) as a message counts it: one, several, and either (the "(s)" words)
_FOLDER_WORDS = {"cases": ("case", "cases", "case(s)"), "conferences": ("conference", "conferences", "conference(s)"),
                 "supervision_sessions": ("supervision session", "supervision sessions", "supervision session(s)"),
                 "complaints": ("complaint", "complaints", "complaint(s)"),
                 "confidential_entries": ("strictly confidential entry", "strictly confidential entries",
                                          "strictly confidential entr(ies)"),
                 "other": ("other folder", "other folders", "other folder(s)")}


def folders_counted(ids: Iterable[str], exact: bool = False) -> str:
    """The folders `ids` counted by what they are, for a warning: '2 case(s) and 1 supervision
    session(s)', '1 conference(s) and the confidentiality register (Form 5)'; with `exact`, each
    count in its own number ('2 cases and 1 conference'). Each kind that has none left out, in the
    order case, conference, register, supervision session, complaint, strictly confidential entry,
    other (workflow/rules.py `folders_by_kind`, which also gives a command's JSON its counts). Only
    what the list holds is counted: a complaint or an entry a command does not name to you (one you
    do not read: a complaint may be about you) is not in it, so it is neither counted nor hinted at."""
    from cpcm.workflow.rules import folders_by_kind

    parts = []
    for kind, count in folders_by_kind(ids).items():
        if not count:
            continue
        if kind == "confidentiality_register":
            parts.append("the confidentiality register (Form 5)")
            continue
        one, several, either = _FOLDER_WORDS[kind]
        parts.append(f"{count} {(one if count == 1 else several) if exact else either}")
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else "no folder"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


JSON_PIECE = 2_000  # texts of a JSON list written at once, or fewer if they hold more than JSON_CHARS
JSON_CHARS = 1 << 20


def write_json_list(items: Iterable[str] | Iterable[bytes]) -> None:
    """A JSON list as `json.dumps(list, indent=2)` writes it, from its items' texts as they stand
    in it (each indented by two spaces; a text may hold several items, joined by ",\\n"),
    written JSON_PIECE texts or about JSON_CHARS characters at a time: neither the items nor the
    whole text is held. Texts given as UTF-8 bytes (`due --json`: made so to spare encoding the
    whole output) go to standard output's bytes underneath, after what was written before."""
    write, glue, lead, made, size, started = sys.stdout.write, ",\n", "[\n", [], 0, False
    for text in items:
        if not started:
            started = True
            if text.__class__ is bytes:
                write, glue, lead = _bytes_writer(), b",\n", b"[\n"
        made.append(text)
        size += len(text)
        if len(made) >= JSON_PIECE or size >= JSON_CHARS:
            write(lead)
            write(glue.join(made))
            lead = glue
            made.clear()
            size = 0
    end = "\n]\n" if started else "[]\n"
    if made:
        write(lead)
        write(glue.join(made))
    write(end.encode() if glue.__class__ is bytes else end)


def _bytes_writer() -> Callable[[bytes], Any]:
    """What writes UTF-8 bytes to standard output, in order with the text written before: its
    binary stream when its encoding is UTF-8 (a file or a pipe always, `cli._stdout_takes_any_text`),
    else the bytes decoded and written as text (a terminal or PYTHONIOENCODING of another
    encoding; a stand-in for stdout without a binary stream, as in a test)."""
    stream = getattr(sys.stdout, "buffer", None)
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("_", "-")
    if stream is None or encoding not in ("utf-8", "utf8"):
        return lambda data: sys.stdout.write(data.decode())
    sys.stdout.flush()
    return stream.write


def print_json_items(items: Iterable[Any]) -> None:
    """`print_json(list(items))`, the same text, a piece at a time (`write_json_list`: `list --json`
    at 100,000 cases held the list and its text, 400 MB). An object whose keys are text and whose
    values are text, whole numbers, booleans or null is laid out here, each value written as json
    writes it; anything else is given to `json.dumps` as it is."""
    from json.encoder import encode_basestring

    whole = json.JSONEncoder(indent=2, ensure_ascii=False, default=str).encode
    written: dict[type, Callable[[Any], str]] = {str: encode_basestring, int: int.__repr__, type(None): lambda _: "null",
                                                 bool: lambda value: "true" if value else "false"}
    keys: dict[str, str] = {}

    def text(item: Any) -> str:
        if item.__class__ is dict and item:
            fields = []
            for key, value in item.items():
                write = written.get(value.__class__)
                if write is None or key.__class__ is not str:
                    break
                quoted = keys.get(key)
                if quoted is None:
                    quoted = keys[key] = f"    {encode_basestring(key)}: "
                fields.append(quoted + write(value))
            else:
                return "  {\n" + ",\n".join(fields) + "\n  }"
        return "  " + whole(item).replace("\n", "\n  ")  # json writes no line break inside a value

    write_json_list(map(text, items))


def print_json_of(rows: Any, items: Callable[[], Iterable[Any]]) -> None:
    """`print_json(list(items()))`, from the items' texts the service made ready
    (`rows.json_items()`) when it has them, else from `items()` (`print_json_items`)."""
    ready = getattr(rows, "json_items", None)
    if ready is None:
        print_json_items(items())
    else:
        write_json_list(ready())


# a case, conference or record ID (CP-4F7K-9X2N, 01JD...) alone in a cell
ID_LIKE = re.compile(r"^(?:[A-Z]{2}-[0-9A-Z]{4}-[0-9A-Z]{4}|[0-9A-HJKMNP-TV-Z]{26})$")
# a date, or a date-time as `local_text` writes it ('2026-12-01 09:00 +03:00')
DATE_LIKE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?: [+-][0-9]{2}:[0-9]{2})?)?$")


FOLD_AT = 10  # a drawn table's free-text column is never narrower than this (or its longest word): 'why' at 1 character was unreadable


def drawn(count: int) -> bool:
    """Whether a table of `count` rows is drawn with lines (rich, on a terminal) rather than
    printed plain, tab-separated (a file or a pipe, or a long list: rich costs about 1 ms a row).
    `print_table` and `print_text` ask it; a command whose output is two tables on a terminal asks
    it to print one plain table instead."""
    return stdout_is_terminal() and count <= 200


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None,
                worded: Collection[str] = ()) -> None:
    """`rows` under `columns`: a table drawn with lines on a terminal, tab-separated lines otherwise
    (`drawn`). A drawn table never shows a cell cut or a column dropped: an ID, a code, a date or a
    number is kept whole, free text wraps at its spaces (a word longer than FOLD_AT folds), and a
    table that cannot fit the terminal so is printed as the tab-separated lines, with a note on stderr.
    A column named in `worded` holds codes that the drawn table shows in words ('comprehensive_assessment'
    as 'comprehensive assessment', wrapping at its space rather than as wide as the code); the tab-separated
    lines keep the code."""
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    if drawn(len(rows)):
        from rich.cells import cell_len
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console()
        words = {at for at, column in enumerate(columns) if column in worded}
        shown = [[v.replace("_", " ") if at in words else v for at, v in enumerate(row)] for row in rows]
        dated, whole = set(), set()
        for at, column in enumerate(columns):
            ids = [row[at] for row in shown if at < len(row) and row[at]]
            if ids and all(ID_LIKE.match(v) for v in ids):  # an ID is copied, never cut: the other columns wrap instead
                whole.add(at)
            elif ids and all(DATE_LIKE.match(v) for v in ids):  # a date is read whole (`due`'s, show's): as wide as the
                dated.add(at)  # day, its time on a line under it
        cells = [[column] + [row[at] for row in shown if at < len(row)] for at, column in enumerate(columns)]
        # free text (a cell of several words) folds a word longer than FOLD_AT; an ID, a code, a date, a number
        # is kept whole, and a code in words each word whole: the narrowest each column can be so, and the width it
        # takes unwrapped
        free = {at for at, texts in enumerate(cells) if at not in whole | dated and any(" " in v for v in texts[1:])}
        least = [min(max(cell_len(word) for v in texts for word in (v.split() or [""])), FOLD_AT if at in free - words else 999)
                 for at, texts in enumerate(cells)]
        most = [max(cell_len(line) for v in texts for line in (v.replace(" ", "\n", 1) if at in dated else v).split("\n"))
                for at, texts in enumerate(cells)]
        # drawn with lines (a border and a space each side of each column, and the last border), else, on a narrower
        # terminal (an old laptop's 80 columns), without them: the columns a space apart; each row on one line where
        # it can be (every cell as wide as it takes, `most`), with lines, then without, before a cell wraps (`least`)
        layouts = ((3 * len(columns) + 1, {}),
                   (len(columns) - 1, {"box": None, "padding": (0, 1, 0, 0), "pad_edge": False, "show_edge": False}))
        frame, style = next(((f, s) for need in (most, least) for f, s in layouts if sum(need) + f <= console.width),
                            (layouts[-1][0], None))
        if style is None:
            sys.stdout.flush()  # the note after what is already printed (a report's heading), here and through the agent
            warn(f"the terminal is {console.width} columns wide, too narrow for this table "
                 f"({sum(least) + frame}): it is printed as plain tab-separated lines")
            if title:
                print(f"# {title}")
        else:
            widths, spare = least[:], console.width - frame - sum(least)
            while spare > 0 and any(w < m for w, m in zip(widths, most)):  # the room left to the columns short of it most
                at = max(range(len(widths)), key=lambda i: most[i] - widths[i])
                widths[at] += 1
                spare -= 1
            table = Table(title=title, header_style="bold", show_lines=False, **style)
            for at, column in enumerate(columns):
                table.add_column(column, width=widths[at], no_wrap=at not in free | dated, overflow="fold")
            for row in shown:
                # as typed ('[near market]' is no markup of rich's, nor '[/b]'); a date's time under it
                table.add_row(*(Text(v.replace(" ", "\n", 1) if at in dated else v) for at, v in enumerate(row)))
            console.print(table)
            return
    print("\t".join(columns))
    for row in rows:
        print("\t".join(v.replace("\t", " ").replace("\n", " ") for v in row))
    if drawn(len(rows)):  # on a terminal, printed before what comes after it on stderr, as a drawn table is
        sys.stdout.flush()


def print_text(rows: Any, columns: Sequence[str], *args: Any) -> bool:
    """Print `rows` as `print_table` prints a long or piped list, from the lines the service made
    ready (`rows.plain_text(header, *args)`); False when it has none, or a table is to be drawn
    on a terminal."""
    plain = getattr(rows, "plain_text", None)
    if plain is None or drawn(len(rows)):
        return False
    text = plain("\t".join(columns), *args)
    if text is None:
        return False
    for piece in [text] if isinstance(text, str) else text:  # a long list in pieces: never all of it at once
        sys.stdout.write(piece)
    return True


UNLOCK_TIP = ("tip: cpcm unlock --for 8h opens your key once for the day, and spares each command the seconds the "
              "passphrase costs (docs/commands/keys.md#cpcm-unlock-cpcm-lock)")
TIP_MARK = "unlock-tip"  # the day the tip was last shown, in the user's cpcm state folder: a date, nothing else


def ask_passphrase() -> str | None:
    """The passphrase typed at a prompt (None without a terminal). A command that opened the key
    with it ends with `UNLOCK_TIP` once a day (`unlock_tip`)."""
    if not stdin_is_terminal():
        return None
    import typer

    return typer.prompt("Passphrase for your cpcm identity", hide_input=True)


def ask_other_passphrase(what: str) -> str | None:
    """The passphrase of another identity of yours (`what`: an earlier one `cpcm key rotate` kept, say), typed at a
    prompt that names it (None without a terminal)."""
    if not stdin_is_terminal():
        return None
    import typer

    return typer.prompt(f"Passphrase for {what}", hide_input=True)


def state_dir() -> Path:
    """The user's cpcm state folder: $XDG_STATE_HOME/cpcm, else ~/.local/state/cpcm."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "cpcm"


def unlock_tip(args: Sequence[str]) -> None:
    """`UNLOCK_TIP` on stderr after a command that opened a protected identity with its passphrase
    itself (typed, or from $CPCM_PASSPHRASE_FILE; no unlock agent held it), at most once a day:
    each such command spends seconds of scrypt that `cpcm unlock` spares. Only for a person at a
    terminal (stdout and stderr both one), never with --json; the day it was shown is kept in the
    state folder (`TIP_MARK`: a date only). Said by `main` (cli/__init__.py)."""
    if "--json" in args or not (sys.stdout.isatty() and sys.stderr.isatty()):
        return
    try:
        today = clock.now().date().isoformat()
    except Exception:  # noqa: BLE001 - a $CPCM_NOW the command refused already: no tip
        return
    mark = state_dir() / TIP_MARK
    try:
        if mark.read_text(encoding="ascii").strip() == today:
            return
    except (OSError, UnicodeDecodeError):
        pass  # never shown, or the mark unreadable: shown, and the mark written again
    err_console().print(UNLOCK_TIP, style="dim", markup=False, soft_wrap=True)  # one line, however wide the terminal
    try:
        from cpcm.store.atomic import write_local

        write_local(mark, f"{today}\n".encode("ascii"))
    except OSError:  # a state folder that cannot be written: the tip comes again next time, nothing worse
        pass


def identity_path(option: Path | None) -> Path:
    """--identity, else $CPCM_IDENTITY, else the default path. An identity file, or the file
    named by $CPCM_PASSPHRASE_FILE, that others can read gets one warning with the fix (as ssh)."""
    from cpcm.crypto.identity import default_path, exposed

    if option:
        path = option.expanduser()
    else:
        env = os.environ.get("CPCM_IDENTITY")
        # made absolute: a message names the path in the form typed_paths masks for a variable (a
        # relative value, 'key.txt', is a word of messages too, and is not masked as such)
        path = _absolute(Path(env).expanduser()) if env else default_path()
    for what, file in (("identity file", path), ("passphrase file ($CPCM_PASSPHRASE_FILE)", os.environ.get("CPCM_PASSPHRASE_FILE"))):
        if file and (mode := exposed(Path(file))) is not None:
            warn(f"the {what} {file} can be read by other users of this computer (mode {mode:o}): run chmod 600 {file}")
    return path


def given_path(value: Path | str | None, option: str, variable: str) -> str | None:
    """How a message names a path the user gave, never by its value (a file name can be a name):
    `the --out path` when the option was given, `the $CPCM_IDENTITY path` when the variable gave it;
    None when cpcm chose it itself (the default identity, the repository found from the current
    folder), which a message names."""
    if value:
        return f"the {option} path"
    if os.environ.get(variable):
        return f"the ${variable} path"
    return None


def _absolute(path: Path) -> Path:
    """`path` made absolute from the current folder (as it is, without a current folder)."""
    try:
        return Path(os.path.abspath(path))
    except OSError:  # the current folder was removed
        return path


def typed_paths(exc: BaseException, **given: Path | str | None) -> BaseException:
    """`exc` with every path the user typed (an option's value, or an environment variable's, as
    typed, made absolute and resolved) replaced by the option's or the variable's name, in its
    message and its hint: messages name the option, not the value (a file name can be a name)."""
    from cpcm.errors import CpcmError

    if isinstance(exc, CpcmError):
        exc.message = typed_text(exc.message, **given)
        exc.hint = typed_text(exc.hint, **given) if exc.hint else exc.hint
    return exc


def typed_text(text: str, **given: Path | str | None) -> str:
    """`text` (a message, or what a command reports of a step that failed) with every path the user
    typed replaced by the option's or the variable's name, as `typed_paths` does for an error."""
    # the paths given through the environment, after the options (an option given overrides its variable)
    given = {**given, **{f"${name}": os.environ.get(name) for name in ("CPCM_REPO", "CPCM_IDENTITY", "CPCM_PASSPHRASE_FILE")}}
    for option, value in given.items():
        if not value:
            continue
        expanded = Path(value).expanduser()
        forms = {str(value), str(expanded), str(_absolute(expanded)), str(expanded.resolve())}
        if option.startswith("$"):  # set once for every command: a short relative value ('casefiles') is a word of
            forms = {f for f in forms if os.path.isabs(f) and f != "/"}  # messages too, so only its full path
        for form in sorted(forms, key=len, reverse=True):
            if form and form in text:
                text = text.replace(form, f"the {option} path")
    return text


# The sessions this command opened (one, for nearly every command): `parse_at` reads an --at
# without an offset in the agency's time zone of the repository the command opened, and the
# notices a session collected (the clock going back before a case's latest record) are printed
# on stderr when the command ends (`flush_notices`, called by `main`). One command per process.
_opened: list = []


def open_ctx(repo: Path | None, identity: Path | None, need_identity: bool = True, joining: bool = False,
             earlier: bool = False):
    """The session of a command (service.open_repo). `joining` (sync, bundle apply): a key the
    team has never known opens it too, for the sync that brings a newly added worker in. `earlier`
    (receive, transfer-ack, bundle apply): the file it reads may be for an earlier key of yours, kept
    by cpcm key rotate (given as --identity, or beside yours)."""
    from cpcm import service
    from cpcm.errors import CpcmError
    from cpcm.store.config import resolve_repo

    try:
        ctx = service.open_repo(resolve_repo(str(repo) if repo else None), identity_path(identity), ask_passphrase, need_identity,
                                joining=joining, earlier=earlier, ask_other=ask_other_passphrase)
    except CpcmError as exc:
        raise typed_paths(exc, **{"--repo": repo, "--identity": identity}) from None
    ctx.store.one_command = True  # a pin (a write moved the generation while it read) lasts for the rest of this command
    _opened.append(ctx)
    from cpcm.cli.private import sweep_left_behind

    sweep_left_behind()  # a plan an edit killed outright left in memory: gone at the next command
    if sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
        ctx.progress = progress_bar
    return ctx


def progress_bar(done: int, total: int) -> None:
    """A progress bar on the terminal (stderr) while a cold cache is filled; gone when done."""
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\rreading records [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    if done >= total:
        sys.stderr.write("\r\033[K")
    sys.stderr.flush()


def parse_at(value: str | None, field: str = "--at", zone=None) -> datetime | None:
    """An --at value: a date or a time without an offset is read in the agency's time zone
    (`zone`, default: that of the repository this command opened)."""
    if not value:
        return None
    if zone is None and _opened:
        zone = _opened[-1].zone
    return clock.parse_datetime(value, field, zone)


def flush_notices(print_them: bool = True) -> None:
    """Print (stderr) the notices of the sessions this command opened, once each, and forget
    the sessions; the exit code is not changed."""
    seen: set[str] = set()
    for ctx in _opened if print_them else ():
        kept = getattr(ctx.store, "left_in_place", ())
        if kept:
            from cpcm.store.audit import shown_path  # a name cpcm does not make may be a child's: its folder only
        left = [f"{shown_path(rel, 'git status')}: an interrupted write was undone and this file was left as it is, " +
                ("an agency's file put in place or edited by hand (cpcm policy set or cpcm form set commits it)"
                 if rel.startswith(".cpcm/") else "not a file cpcm writes (move it out of the repository)") +
                "; cpcm verify lists it until then" for rel in kept]
        settled = [s.message for s in getattr(ctx, "settled", ())]  # what a write settled that its result did not say
        for notice in [*left, *getattr(ctx, "notices", ()), *settled]:
            if notice not in seen:
                seen.add(notice)
                warn(notice)
    _opened.clear()


def read_input(source: str, what: str | None = None, limit: int | None = None) -> str:
    """The text of a file, or of standard input for '-': valid UTF-8 and at most `limit` bytes
    (1 MiB by default), or exit 2 naming `what` (the option; never the path typed) and the
    offset of the bad byte."""
    from cpcm.domain import text
    from cpcm.errors import UsageError

    limit = text.MAX_INPUT_BYTES if limit is None else limit
    what = what or ("standard input" if source == "-" else "the file")
    try:
        if source == "-":
            buffer = getattr(sys.stdin, "buffer", None)
            if buffer is None:  # a text stream without bytes under it (tests, embedding): already decoded
                return text.check_text(sys.stdin.read(limit + 1), what, limit)
            data = buffer.read(limit + 1)
        else:
            with open(Path(source).expanduser(), "rb") as handle:
                data = handle.read(limit + 1)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} is not valid UTF-8 text (the byte at offset {exc.start} cannot be read)", text.UTF8_HINT) from None
    except OSError as exc:
        raise UsageError(f"cannot read {what}: {exc.strerror or 'not a readable file'}") from None
    return text.decode(data, what, limit)


def read_yaml_input(source: str, option: str = "--from-file") -> Any:
    """A YAML document from a file or standard input, read through the input gate (UTF-8, at
    most 1 MiB, limits on nesting and aliases, plain values only); exit 2 otherwise. Messages
    name `option`, not the path."""
    from cpcm.errors import UsageError
    from cpcm.store import codec

    what = f"{option} (standard input)" if source == "-" else option
    content = read_input(source, what)
    try:
        return codec.load_input(content)
    except codec.BadYaml as exc:
        raise UsageError(f"{what}: {exc}", "Check the indentation and quoting; cpcm form blank KIND prints a skeleton.") from None


def read_table(path: str | Path, option: str = "the file") -> list[dict]:
    """The rows of a CSV file (as csv.DictReader gives them), through the input gate: UTF-8,
    at most 8 MiB, no cell over 64 KiB; exit 2 naming the option, row and column otherwise."""
    from cpcm.domain import text

    return text.csv_rows(read_input(str(path), option, limit=text.MAX_TABLE_BYTES), option)


def check_arguments(command) -> None:
    """Wrap every command of a click command tree so that its arguments are checked before it
    runs: an argument holding a byte that is not UTF-8 (Python gives it as a lone surrogate)
    is refused with exit 2, naming the option and the byte offset, never the value."""
    def guarded(callback, names: dict[str, str]):
        def checked(*args, **kwargs):
            for name, value in kwargs.items():
                check_argument(names.get(name, name), value)
            return callback(*args, **kwargs)

        checked.cpcm_checked = True
        return checked

    def wrap(cmd) -> None:
        if cmd.callback is not None and not getattr(cmd.callback, "cpcm_checked", False):
            names = {p.name: p.opts[0] if p.param_type_name == "option" and p.opts else (p.human_readable_name or "an argument")
                     for p in cmd.params}
            cmd.callback = guarded(cmd.callback, names)
        for sub in getattr(cmd, "commands", {}).values():
            wrap(sub)

    wrap(command)


def check_argument(option: str, value: Any) -> None:
    from cpcm.domain import text

    if isinstance(value, (list, tuple)):
        for item in value:
            check_argument(option, item)
    elif isinstance(value, (str, os.PathLike)):
        text.check(os.fspath(value), option)


def damaged_left(entry: Mapping[str, Any]) -> str:
    """The warning for a record file a re-encryption left as it is because no key opens it (`context.damaged_left`:
    the folder's ID and the file's name, never what it holds): where cpcm verify names it, and what puts it right."""
    from cpcm.errors import restore_hint
    from cpcm.store.layout import CASES, RECORD_FILE, split_rel

    rel, folder = entry["file"], entry["folder"]
    said = f"{folder}: {rel} cannot be decrypted (damaged): it was left as it is, the other records were re-encrypted"
    if entry.get("restorable"):
        return f"{said}; {restore_hint(rel)}, then cpcm team sync again"
    split = split_rel(rel)
    match = RECORD_FILE.match(split[2]) if split else None
    if split and split[0] == CASES and match:
        return (f"{said}; cpcm verify names it; if git holds no good copy of it: cpcm repair {folder} {match['id']} "
                "--reason TEXT (the repair is encrypted to the case's readers as they are now)")
    return f"{said}; cpcm verify names it"


def report_problems(ctx) -> None:
    """Cases left out while reading many (a damaged record, say): after the output, one line each
    on stderr naming the case and the file only, then exit 1 (docs/exit-codes.md)."""
    from cpcm.errors import restore_hint
    from cpcm.service import context
    from cpcm.store.layout import CASES, split_rel

    for problem in ctx.problems:
        path = getattr(problem, "path", None) or ""
        split = split_rel(path)  # (top, folder ID, file name) of a file in a folder; None for another path
        if split and split[0] == CASES and ctx.store.restorable(path):
            say(f"problem: {split[1]}: {path} differs from the last commit (deleted or changed by hand?); the case is left "
                f"out ({restore_hint(path)})", "red")  # git holds a good copy: not a repair
        elif split and split[0] == CASES:
            say(f"problem: {split[1]}: {path} cannot be read; the case is left out "
                f"(cpcm show {split[1]} says how to put it right; cpcm verify)", "red")  # context.damaged_hint
        elif split:
            say(f"problem: {split[1]}: {path} cannot be read; it is left out (cpcm verify)", "red")
        elif (found := split_rel(getattr(problem, "record_file", None) or "")) and found[0] == CASES \
                and context.earlier_key(ctx, found[1]):
            # a case you read whose records are still on an earlier key of yours: who brings it to your new key
            say(f"problem: {problem.message}; left out. {context.EARLIER_KEY_HINT}", "red")
        elif found and found[0] == CASES and context.reads_case(ctx, found[1]):
            # a case you read, a record of which was written to its readers of before (a leaver's bundle applied, say):
            # the whole case is out, its deadlines with it, until one who reads the record encrypts it to your key
            say(f"problem: {found[1]}: {problem.record_file} is not encrypted to your key; the whole case, with its "
                f"deadlines, is left out of your cpcm list, due and check until it is: {context.NOT_YET_YOURS_FIX} "
                f"(cpcm show {found[1]} says why)", "red")
        else:
            say(f"problem: {problem.message}; left out (cpcm verify)", "red")
    if ctx.problems:
        import typer

        raise typer.Exit(1)



class Opt(NamedTuple):
    """A form field's value as an option gave it, with the option (`--offers` for `services`): the
    one place a command maps its options to the form's fields. A refusal naming the field names the
    option too (`--offers (services): is required`, `options_named`)."""

    option: str
    value: Any
    takes_all: bool = False  # an option given by words (--explained use) that takes 'all' for every word


def option_values(ctx, flags: Mapping[str, Any], only: bool = False) -> dict[str, Any]:
    """`flags` (field -> value, or an `Opt` of it) as field -> value; the option of each `Opt`
    is kept for the refusal (`ctx.input_options`), and whether the options were `only` what was
    given (no file, no --set): a field missing is then said to be given by its option."""
    ctx.options_only = only
    ctx.input_options = {**ctx.input_options, **{k: v.option for k, v in flags.items() if isinstance(v, Opt)}}
    ctx.options_given = ctx.options_given | {v.option for v in flags.values() if isinstance(v, Opt) and v.value not in (None, [])}
    ctx.options_all = ctx.options_all | {v.option.partition(" ")[0] for v in flags.values() if isinstance(v, Opt) and v.takes_all}
    return {k: v.value if isinstance(v, Opt) else v for k, v in flags.items()}


def options_named(exc: BaseException, say: Callable[[str], str]) -> BaseException:
    """A refused form (`InvalidInput`) whose fields the command's options give, with each such
    field named by its option as well (`--purpose-detail (purpose_detail): ...`): the user typed
    the option, not the field. Where the refusal says to give the form's fields in a file or with
    --set (only options were given), it says first that the options named give theirs. Its hint is
    made twice, where it is built: in English (`hint`, for the JSON) and in the repository's language
    (`said_hint`, for the terminal: `said_refusal`); `say`: that language's words (`said_in_language`,
    asked once by cli.main for the error)."""
    from cpcm.errors import FIELDS_HINT, MISSING_BY_OPTIONS, OR_ALL, RECORDS_HINT, InvalidInput, in_english

    if not isinstance(exc, InvalidInput):
        return exc
    said_hint = exc.hint  # a command's own hint stays in English; FIELDS_HINT or RECORDS_HINT, which ends the rest, is said
    for ending in (FIELDS_HINT, RECORDS_HINT):  # (after what a command put first: an import's columns not imported)
        if said_hint and said_hint.endswith(ending):
            said_hint = said_hint[:-len(ending)] + say(ending)
    for ctx in _opened:  # how the form's fields are given (`gather`): said as it was made, from its message
        made = getattr(ctx, "input_hint_said", None)
        if made is not None and exc.hint == ctx.input_hint:
            said_hint = say(made[0]) % made[1]
    options = {"at": "--at"}  # a record's time: every command's --at (never a form's field)
    for ctx in _opened:
        options.update(getattr(ctx, "input_options", None) or {})
    named = exc.naming(options)
    given = {"--at"}  # the time is --at's or now: never a field missing
    takes_all: set[str] = set()
    for ctx in _opened:
        given |= getattr(ctx, "options_given", set())
        takes_all |= getattr(ctx, "options_all", set())
    only = any(getattr(ctx, "options_only", False) for ctx in _opened)
    missing = [option for option in named if option not in given] if only else []  # a field not given: its option gives it
    hints = {getattr(ctx, "input_hint", None) for ctx in _opened} | {FIELDS_HINT}
    if missing and exc.hint in hints:
        groups: dict[str, list[str]] = {}  # an option that gives several fields by a word (--explained use): named once
        for option in missing:
            name, _, word = option.partition(" ")
            groups.setdefault(name, []).append(word)
        def named_options(words_of) -> str:
            """The options missing, in the language of `words_of`: an option of several fields named once, with
            its words and that it takes them all (`OR_ALL`)."""
            said = [name + (" " + ", ".join(w for w in words if w) if any(words) else "")
                    + (" " + words_of(OR_ALL) % {"option": name} if name in takes_all and len(words) > 1 else "")
                    for name, words in groups.items()]
            return "; ".join(said) if any(" " in one for one in said) else ", ".join(said)
        exc.hint = MISSING_BY_OPTIONS % {"options": named_options(in_english)} + " " + exc.hint
        said_hint = say(MISSING_BY_OPTIONS) % {"options": named_options(say)} + " " + said_hint
    from cpcm.domain.forms import is_too_long

    if any(is_too_long(e.reason, say) for e in exc.errors):
        exc.hint = too_long_hint(exc.what) + " " + exc.hint
        said_hint = too_long_hint(exc.what) + " " + said_hint
    exc.said_hint = said_hint
    return exc


def said_in_language():
    """The words of the repository's language for a message marked for the catalogs (`Wording.say`)
    of the session this command opened last; English (the message as it is) where none was opened or
    its catalog cannot be read (an agency's broken one: the error is said all the same). What says a
    refusal at the terminal (cli.main) asks it before the sessions are forgotten."""
    from cpcm.errors import in_english

    if not _opened:
        return in_english
    from cpcm.service.wording import say_for

    return _or_as_written(say_for(_opened[-1]))


def _or_as_written(found):
    """`found` (the words of a language for a message), the message as written where its catalog
    cannot be read (an agency's broken one: the error is said all the same)."""
    from cpcm.errors import CpcmError

    def said(message: str) -> str:
        try:
            return found(message)
        except (CpcmError, OSError):
            return message
    return said


def said_in_repository(args: Sequence[str]):
    """`said_in_language` where a session was opened; else the words of the language of the repository
    the command line `args` names (--repo, else $CPCM_REPO, else the nearest parent holding .cpcm/), its
    settings read and nothing decrypted: what a command line refused before the command ran (click's
    usage errors, cli.main) is said in. English where there is no repository or it cannot be read."""
    from cpcm.errors import CpcmError, in_english

    if _opened:
        return said_in_language()
    repo = None
    for at, word in enumerate(args):
        if word == "--repo" and at + 1 < len(args):
            repo = args[at + 1]
        elif word.startswith("--repo="):
            repo = word.partition("=")[2]
    try:
        from cpcm.service.wording import say_in
        from cpcm.store.config import load_config, resolve_repo

        root = resolve_repo(repo)
        found = say_in(root, load_config(root).language)
    except (CpcmError, OSError, ValueError):
        return in_english
    return _or_as_written(found)


def said_refusal(exc, say) -> tuple[str, str | None]:
    """(the message, the hint) of an error as said at the terminal, in the language of `say`
    (`said_in_language`): a refused form's first line in that language, and its hint as
    `options_named` made it in that language (`said_hint`: the options that give the fields missing,
    `FIELDS_HINT`); its problems as their reasons were said. Its JSON keeps them in English."""
    from cpcm.errors import InvalidInput

    if not isinstance(exc, InvalidInput):
        return exc.message, exc.hint
    return exc.said(say), exc.said_hint if exc.said_hint is not None else exc.hint


def too_long_hint(what: str) -> str:
    """What to do with a text longer than its field holds (domain/forms.py `too_long`): shorten it,
    or keep the rest in a note of the case (`what`: the refusal's subject, naming the case where it
    has one), which holds what the input gate lets through (domain/text.py MAX_INPUT_BYTES)."""
    from cpcm.domain import text

    found = re.search(r"\b[A-Z]{2}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b", what or "")
    case = found.group(0) if found else "CASE"
    return (f"A text longer than its field holds is refused with the whole record: shorten it, or keep the rest in a note "
            f"of the case once the record is written (cpcm note {case} --text - < FILE reads it from standard input; "
            f"a note holds up to {text.size(text.MAX_INPUT_BYTES)}).")


def set_pairs(sets: list[str] | None, example: str) -> list[tuple[str, str]]:
    """`--set PATH=VALUE` options as (path, value) pairs, in the order typed (`setpaths.put_pairs` lays
    them over a record's fields); exit 2 for one with no `=` or no path (`example`: one for the command)."""
    from cpcm.errors import UsageError

    pairs = []
    for pair in sets or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes path=value, e.g. --set {example}")
        pairs.append((key.strip(), value))
    return pairs


def put_options(data: dict, values: Mapping[str, Any], pairs: Sequence[tuple[str, str]] = ()) -> None:
    """The options' `values` (field path -> value, `option_values`) laid over `data`, what a file and the
    --set `pairs` gave: an option wins over the file; a field an option and a --set both give is refused
    (exit 2): both were typed on one line, and neither is dropped without a word."""
    from cpcm.domain import text
    from cpcm.errors import UsageError

    for key, value in values.items():
        if value is None or value == []:
            continue
        if any(k == key or k.startswith(key + ".") for k, _ in pairs):
            raise UsageError(f"{key} is given by an option and by --set: give it once",
                             "Give each field once, by its option or by --set (a field that holds a list takes "
                             "--set again for each value).")
        text.put(data, key, value, "the options")


def gather(ctx, form_name: str, from_file: str | None, sets: list[str] | None, flags: dict[str, Any], no_input: bool,
           needed=None, hint: bool = True, base: Mapping[str, Any] | None = None, base_from: str = "",
           first: Callable[[dict], Any] | None = None, no_questions: str = "",
           narrow: Callable[[Any, Any], Any] | None = None) -> dict:
    """A record's fields from a YAML file, then --set pairs and flags, then the fields of `base`
    (dotted path -> value: what the record starts from, e.g. a sibling's family part) that none of
    these gave (an empty field counts as not given; a line names those taken, and `base_from`, where
    they come from: never their values), then (on a terminal, unless --no-input) guided
    prompts for what is still missing. Everything passes the input
    gate: a path that conflicts with another (--set child=x --set child.name=y) is exit 2.
    `needed(key, answers)`: why the command's own rule makes an optional field required, or None
    (prompts.fill asks it as a required question). Given only options, with no questions asked,
    a refused form says how its fields are given (`ctx.input_hint`), unless `hint` is off (a
    command that asks its own questions, or has no --set). `first(given)`: what refuses the record
    whatever its answers (the service's own check: a closed conference; `service.check_writable`:
    no such case, a stage that takes no such record, an --at before the case's registration or
    to come), given the fields known before the questions, run before the first question, so
    nothing is typed for a record that cannot be written. `no_questions`: the command, where it
    asks no questions at all (`cpcm close`, on a terminal too): the refusal says so and to give
    its options, not that standard input is no terminal. `narrow(form, found)`: the form the
    questions ask, given what `first` returned (the choices the record can take there: a
    referral's next statuses), so an answer it cannot take is asked again at once, not refused
    once every question is answered."""
    from cpcm.domain import text
    from cpcm.domain.setpaths import check_paths, put_pairs
    from cpcm.store import forms
    from cpcm.errors import UsageError

    data: dict = {}
    if from_file:
        loaded = read_yaml_input(from_file)
        if loaded is not None and not isinstance(loaded, dict):
            raise UsageError("--from-file: the record is a YAML mapping (key: value)", f"cpcm form blank {form_name} prints one to fill in.")
        data = loaded or {}
    pairs: list[tuple[str, str]] = []
    if sets:
        form = forms.load(form_name, ctx.root)
        pairs = set_pairs(sets, "child_views='...'")
        check_paths(form, pairs)  # a key of no field first, by its place: a clash would show it (it may be a name)
        put_pairs(form, data, pairs)  # then a path given twice or clashing with another (exit 2)
    put_options(data, option_values(ctx, flags, only=not from_file and not sets), pairs)
    taken = [key for key in (base or {}) if not given(data, key)]
    for key in taken:
        text.put(data, key, base[key], "the fields taken over")
    if taken:
        say(f"from {base_from or 'the case named'}: {', '.join(taken)} (a flag, --set or the file gives another value)")
    if not no_input and not from_file and stdin_is_terminal():
        from cpcm.cli.prompts import fill
        from cpcm.service.wording import wording

        found = first(data) if first is not None else None
        form = forms.load(form_name, ctx.root)
        if narrow is not None:
            form = narrow(form, found)
        words = wording(ctx, form)
        try:
            data = fill(form, data, ctx.now.date(), [w.id for w in ctx.team.active], ctx.config.language, needed, words)
        except UnicodeDecodeError:
            raise UsageError("an answer typed is not valid UTF-8 text", text.UTF8_HINT) from None
        ctx.asked = (form, needed, words)
    elif hint and not from_file and not sets:  # only the options, and no questions asked: say how the form's fields are given
        from cpcm.domain.records import flatten

        from cpcm.errors import NOTHING_GIVEN_HINT, NOTHING_GIVEN_NO_QUESTIONS, OPTIONS_ONLY_HINT, OPTIONS_ONLY_NO_QUESTIONS

        ctx.input_given = frozenset(flatten(data))  # a refusal of these only is of a value given, not of fields missing
        if no_questions:  # a command that asks none, whatever standard input is: its options give the fields
            message = OPTIONS_ONLY_NO_QUESTIONS if data else NOTHING_GIVEN_NO_QUESTIONS
        else:  # nothing at all: not 'only the options'
            message = OPTIONS_ONLY_HINT if data else NOTHING_GIVEN_HINT
        words = {"form": form_name, "command": no_questions}
        ctx.input_hint_said = (message, words)  # English in the JSON (`ctx.input_hint`); on a terminal in the repository's language
    text.check_data(data, "the input", controls=True)
    return data


def written(ctx, data: dict, write: Callable[[dict], Any],
            again: Callable[[dict, Any], dict | None] | None = None) -> Any:
    """`write(data)` (the service call that validates and writes the record `gather` gave). Where
    `gather` asked the questions on a terminal and the record is refused for fields of its form
    once every question was answered (the date of birth and an estimated age both given, say),
    the refusal is said and only the fields it names are asked again, every other answer kept,
    until it is written, refused for something else, or refused again with the same answers
    (Ctrl-C stops: nothing is written). `again(data, refusal)`: how a command that asks its own
    questions (`cpcm readiness`, domain by domain) asks the refused ones again, or None where it
    cannot; it runs where `ctx.asked` says questions were asked."""
    from cpcm.cli.prompts import ask_again
    from cpcm.domain import text
    from cpcm.errors import InvalidInput, UsageError

    while True:
        try:
            return write(data)
        except InvalidInput as exc:
            if ctx.asked is None:
                raise
            form, needed, words = ctx.asked
            try:
                answers = again(data, exc) if again is not None else ask_again(
                    form, data, exc, ctx.now.date(), [w.id for w in ctx.team.active], ctx.config.language, needed, words)
            except UnicodeDecodeError:
                raise UsageError("an answer typed is not valid UTF-8 text", text.UTF8_HINT) from None
            if answers is None or answers == data:  # nothing answered differently: asking again would only repeat the refusal
                raise
            text.check_data(answers, "the input", controls=True)
            data = answers


def given(data: Mapping[str, Any], path: str) -> bool:
    """A dotted field path holds something in `data` (a value where its group should be counts:
    validation names it)."""
    node: Any = data
    for part in path.split("."):
        if node is None:
            return False
        if not isinstance(node, Mapping):
            return True
        node = node.get(part)
    return node not in (None, "", [])


def risk_reason_needed(ctx, case_id: str):
    """For `gather`: the reason a re-rated risk level needs (context.risk_reason_errors, the one
    rule), asked as soon as the level typed differs from the case's; the case is read only then."""
    def needed(key: str, answers: dict) -> str | None:
        if key != "risk_reason" or not answers.get("risk"):
            return None
        from cpcm import service
        from cpcm.service.context import risk_reason_errors

        errors = risk_reason_errors(service.load_case(ctx, case_id).risk, answers)
        return errors[0].reason if errors else None
    return needed


def report_written(result, json_out: bool, done: str) -> None:
    for message in result.warnings:
        warn(message)
    if json_out:
        print_json(result.to_json())
        return
    say(done)
    for step in result.next_steps:
        say(f"next: {step}")


def report_setting(result: dict, json_out: bool, unchanged: str, done: Callable[[str], str]) -> None:
    """What a setting command (`policy set`, `form set`, `config set`) did: its JSON, `unchanged`
    when it made no commit, else `done` of the commit's short id."""
    if json_out:
        print_json(result)
    elif result["commit"] is None:
        say(unchanged)
    else:
        say(done(result["commit"][:10]))


# a name ending so is opened as a readable document (a double-click, a browser, a word processor,
# a spreadsheet): an age-encrypted file named so would show as garbage
READABLE_SUFFIXES = (".html", ".htm", ".xhtml", ".md", ".markdown", ".txt", ".text", ".pdf", ".doc", ".docx", ".odt", ".rtf",
                     ".csv", ".tsv", ".json", ".xlsx", ".xls", ".ods")


def check_encrypted_name(out: Path, option: str = "--out", holds: str = "personal data") -> None:
    """An age-encrypted file is never given a name that says a readable document (`plan.html`):
    exit 2, naming the two ways out (the suffix is one of a fixed list; the name typed is never
    repeated: it can be a child's name; `holds`: what a readable file would hold). Called before a
    command reads anything where it can, and by `check_output` for every encrypted file."""
    from cpcm.errors import UsageError

    suffix = Path(out.name).suffix.lower()
    if suffix in READABLE_SUFFIXES:
        raise UsageError(f"{option}: a file whose name ends in {suffix} opens as a readable document, but this file is "
                         "age-encrypted (opened, it would show as garbage); nothing was written",
                         f"For the encrypted file, end its name in .age (e.g. {option} report{suffix}.age; read it with age -d "
                         "-i YOUR-IDENTITY-FILE FILE). For a readable file, add --plaintext: it is then unencrypted and holds "
                         f"{holds} (keep it safe, delete it when done).")


def check_plain_name(out: Path, option: str = "--out", encryptable: bool = True) -> None:
    """A file written unencrypted is never given an age-encrypted file's name (`cases.csv.age`): exit 2
    before anything is written. A colleague would take it for an encrypted file, safe to pass on,
    while anyone can read it (and `age -d` refuses it). `encryptable`: the command writes the file
    encrypted without --plaintext (the hint offers it). The name typed is never repeated."""
    from cpcm.errors import UsageError

    if out.name.lower().endswith(".age"):
        why = "--plaintext writes it unencrypted" if encryptable else "this command writes it unencrypted"
        raise UsageError(f"{option}: a file whose name ends in .age is taken for an age-encrypted file, but {why}; "
                         "nothing was written",
                         "Leave .age off the name (the file is readable: keep it safe, delete it when done)"
                         + (", or leave --plaintext out to have it encrypted." if encryptable else "."))


# the formats a report or document is written in: what each is called, and the extensions its file's
# name may end in (the first is the one a hint gives)
OUT_FORMATS = {"md": ("Markdown", (".md", ".markdown")), "html": ("HTML", (".html", ".htm")), "csv": ("CSV", (".csv",)),
               "json": ("JSON", (".json",))}
# what is taken for a file name's extension: letters and digits after the last dot, one letter at least
# (`caseload.2026-11` has none: its format is the command's default or --format)
_EXTENSION = re.compile(r"\.[a-z0-9]*[a-z][a-z0-9]*")


def out_format(out: Path | None, fmt: str | None, formats: Sequence[str], encrypted: bool, stem: str = "report",
               option: str = "--out") -> str | None:
    """The format of the file `out` names: `fmt` (--format as typed: one of `formats`, else exit 2) when given, else the
    one its name's extension picks, before any `.age` (`caseload.csv.age`: csv), else None (a name with
    no extension: the command's default). A name whose extension is not that of one of `formats` (`.pdf`,
    `.txt`), or is another format's than --format's, is refused (exit 2, before anything is read or
    written): the file would hold one format under another's name, and open as damaged
    (docs/commands/reports.md, render.md, forms.md: report, render, export and form print). The hint gives a name that works (`stem` and the extension,
    with `.age` after it when the file is `encrypted`); the name typed is never repeated, only its
    extension (it can be a child's name)."""
    from cpcm.errors import UsageError

    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in formats:
            raise UsageError(f"--format is one of: {', '.join(formats)}")
    if out is None:
        return fmt
    name = out.name.lower()
    name = name[:-len(".age")] if name.endswith(".age") else name
    extension = Path(name).suffix
    if not _EXTENSION.fullmatch(extension):
        return fmt
    picked = next((key for key in formats if extension in OUT_FORMATS[key][1]), None)
    age = ".age" if encrypted else ""
    if picked is None:
        if fmt is not None:
            hint = f"--format {fmt} writes {OUT_FORMATS[fmt][0]}: end the name in {OUT_FORMATS[fmt][1][0]}{age} " \
                   f"(e.g. {option} {stem}{OUT_FORMATS[fmt][1][0]}{age})."
        else:
            example = OUT_FORMATS["html" if "html" in formats else formats[0]][1][0]
            hint = f"End the name in {_or(OUT_FORMATS[key][1][0] + age for key in formats)} (e.g. {option} {stem}{example}{age}): " \
                   "the name picks the format."
        if extension == ".pdf" and "html" in formats:
            hint += " For a PDF, write HTML and print it to PDF from a browser."
        writes = _or(f"{OUT_FORMATS[key][0]} ({OUT_FORMATS[key][1][0]})" for key in formats)
        # the extension is said only where it is a document's (a fixed list): `Otieno.Wanjiru` is a name, not a format
        ending = f"ends in {extension}" if extension in READABLE_SUFFIXES else "has an extension that"
        raise UsageError(f"{option}: a file whose name {ending} is not one this command writes (it writes {writes}); "
                         "nothing was written", hint)
    if fmt is not None and picked != fmt:
        raise UsageError(f"{option}: a file whose name ends in {extension} holds {OUT_FORMATS[picked][0]}, but --format {fmt} "
                         f"writes {OUT_FORMATS[fmt][0]}; nothing was written",
                         f"End the name in {OUT_FORMATS[fmt][1][0]}{age} (e.g. {option} {stem}{OUT_FORMATS[fmt][1][0]}{age}), "
                         "or leave --format out: the name picks the format.")
    return picked


def _or(items: Iterable[str]) -> str:
    """`a, b or c`."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


# `--out -`: the conventional name for standard output. A command that prints without --out
# prints for it as without --out (`to_stdout`); one that only writes a file refuses it (`a_file`,
# and `check_output` for every file written), so that no file named `-` is ever written.
STDOUT = "-"


def to_stdout(out: Path | None) -> Path | None:
    """`out` as the command is to use it: None (printed, as without the option) for `-`."""
    return None if out is not None and str(out) == STDOUT else out


def a_file(out: Path | None, option: str = "--out") -> None:
    """An option that only names a file (or folder) refuses `-` (exit 2): the command does not
    print what it writes; the hint says to give a file name."""
    from cpcm.errors import UsageError

    if out is not None and str(out) == STDOUT:
        raise UsageError(f"{option} -: this command writes a file, not standard output; nothing was written",
                         f"Give a file name after {option} (e.g. {option} ~/FILE).")


def check_output(root: Path | None, out: Path, option: str, force: bool, plaintext: bool, encryptable: bool = True) -> Path:
    """Where a file the user asked for may be written: the resolved path of `out` (symbolic
    links followed), or exit 2 for a folder, for a file in a folder that does not exist and for
    a file that exists (unless `force`), and exit 4 for a plaintext file inside the casefile
    repository (the repository's root resolved too; `encryptable`: the command can write the
    file encrypted instead, which the hint then offers). Messages name `option`, never the path typed."""
    from cpcm.errors import Refused, UsageError
    from cpcm.store.layout import inside

    a_file(out, option)
    if not plaintext:
        check_encrypted_name(out, option)
    else:
        check_plain_name(out, option, encryptable)
    path = out.expanduser().resolve()
    if path.is_dir():
        raise UsageError(f"{option} names a folder", f"Give a file name, e.g. {option} document.html.age")
    if not path.parent.is_dir():  # a mistyped folder is not made: the file would be where nobody looks for it
        raise UsageError(f"{option}: the folder it names does not exist", "Make the folder first, or correct the path.")
    if plaintext and inside(root, path):
        raise Refused("a plaintext file is never written inside the casefile repository",
                      f"Write it somewhere else ({option} ~/FILE), or encrypt it." if encryptable else
                      f"Write it somewhere else ({option} ~/FILE): only encrypted files are kept there.",
                      rule="plaintext-in-repository")
    if (path.exists() or path.is_symlink()) and not force:
        raise UsageError(f"{option}: the file already exists and is not replaced",
                         "Choose a new name, or add --force to replace it.")
    return path


def write_plain(root: Path | None, out: Path, option: str, data: bytes, force: bool = False) -> Path:
    """A file the user asked for, written unencrypted (an iCalendar file of case IDs, say):
    never inside the casefile repository, never over a file unless `force`; atomic, mode 600."""
    from cpcm.store import atomic

    path = check_output(root, out, option, force, plaintext=True, encryptable=False)
    atomic.write_private(path, data)
    return path


def write_output(ctx, out: Path, data: bytes, encrypt: bool, extra: list[str], include_self: bool,
                 force: bool = False, me: str | None = None) -> tuple[Path, bool, int]:
    """Write atomically (mode 600): age-encrypted to the recipients (team ids or age1 keys; the
    acting worker too with `include_self`), or plain when `encrypt` is false, never inside the
    casefile repository; an existing file only with `force` (see `check_output`). Returns
    (path, encrypted, number of recipients). Without a repository (`ctx` None), `me` is the
    user's own recipient and the others are age1 keys."""
    from cpcm.crypto import cipher
    from cpcm.errors import UsageError
    from cpcm.store import atomic

    path = check_output(ctx.root if ctx is not None else None, out, "--out", force, plaintext=not encrypt)
    if not encrypt:
        atomic.write_private(path, data)
        return path, False, 0
    recipients = [me or ctx.need_worker().recipient] if include_self else []
    for value in extra:
        member = ctx.team.get(value.strip()) if ctx is not None else None
        if member is not None:
            recipients.append(member.recipient)
            continue
        if ctx is not None and ctx.team.get(value.strip(), include_removed=True) is not None:
            raise UsageError("--recipient: a worker removed from the team: nothing is encrypted to them any more",
                             "Give a current team member's id (cpcm team list) or an age recipient (age1...).")
        try:
            cipher.parse_recipient(value)
        except ValueError as exc:
            raise UsageError(f"--recipient: {exc}", "Give an age recipient (age1...) or a team member's id.") from None
        recipients.append(value.strip())
    recipients = list(dict.fromkeys(recipients))
    atomic.write_private(path, cipher.encrypt(data, recipients))
    return path, True, len(recipients)


def register_plain(path: Path, data: bytes, command: str, cases: Iterable[str] = (), ctx=None, identity: Path | None = None,
                   recipient: str | None = None, case_data: bool = True) -> bool:
    """Add a plaintext file this command has just written (`data`: its bytes) to the register of
    the worker's plaintext files (cpcm/service/outputs.py), kept encrypted beside the identity of
    `ctx` (else `identity`, the key's public half telling whom to encrypt it to). The file is the
    user's and stays whatever happens here: a register that cannot be written is a loud warning and
    the exit code is unchanged (the file was asked for and is there; the warning says it must be
    deleted by hand). A file that holds no case data (`case_data` false: a blank form, the import
    template) is registered only when the key's public half is known without a passphrase."""
    from cpcm import clock
    from cpcm.errors import CpcmError
    from cpcm.service import outputs

    if ctx is not None and getattr(ctx, "identity", None) is not None:
        identity, recipient = Path(ctx.identity.path), recipient or ctx.identity.recipient
    if identity is None:
        identity = identity_path(None)
    try:
        recipient = recipient or outputs.public_recipient(identity)
        if recipient is None:
            if case_data:
                warn("the plaintext file written is not in your register of plaintext files (your key's public half is not "
                     "known without its passphrase): cpcm outputs list and cpcm evacuate do not know of it; delete it yourself "
                     "when done")
            return False
        worker = ctx.worker.id if ctx is not None and getattr(ctx, "worker", None) is not None else None
        outputs.record(identity, recipient, path, data, ctx.now if ctx is not None else clock.now(), command, cases, worker,
                       getattr(ctx, "root", None))
    except (OSError, CpcmError) as exc:
        reason = exc.message if isinstance(exc, CpcmError) else (exc.strerror or "it cannot be written")
        warn(f"the plaintext file was written, but it could not be added to your register of plaintext files ({reason}): "
             "cpcm outputs list and cpcm evacuate do not know of it; delete it yourself when done")
        return False
    return True
