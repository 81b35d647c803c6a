"""Every `cpcm ...` command line the docs show, every one cpcm suggests in a message, and every
example of its help names commands and options that exist: checked against the real command tree
(the click commands behind the typer application, every module built), without running any.

Where the lines are found:
- README.md and docs/**/*.md: each typed line of a fenced block (`$ cpcm ...`, or a line that
  starts as a shell command does) where `cpcm` stands at a command's place (first, after
  `VAR=value` settings, after `|`, `;`, `&&`, `$(`), and each inline code span that holds such a
  command (`cpcm due --json`); the lines a command printed in a block (`next: ... cpcm assess
  CASE --type initial`) and a typed line's comment are read as cpcm's messages are;
- cpcm/**/*.py: each text of the source but docstrings (a string, or an f-string with its `{...}`
  parts read as placeholders) that suggests `cpcm COMMAND ...`: a hint such as "(cpcm plan CASE
  --withdraw --reason ...)"; a sentence about cpcm ("cpcm writes the file") is not one;
- each command's help: its `Example:` lines.

What is checked: each command and subcommand word, and each option name (`--name`, `-n`,
`--name=value`), for the command it is given to. Arguments are not: `CASE`, `ID`, `...`, `…` and
the like stand for what the user types. A placeholder where a command word belongs (`cpcm COMMAND
--help`) ends the check of that line; alternatives (`add|list`, `create/apply`, `[--json]`) are
each checked. A failure names the file, the line and what does not exist.
"""
from __future__ import annotations

import ast
import functools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
ALT = "\x00"  # an alternative bar (`plan|closure`, `\|` in a table) as opposed to a pipe (`cpcm due | head`)
SEPARATORS = {"|", "||", "&&", ";", "&", "(", ")", "$(", "`", "then", "do", "else", "!"}
REDIRECTS = {">", ">>", "<", "2>", "2>&1", ">&2", "&>"}
WRAPPERS = {"time", "exec", "sudo", "env", "watch", "xargs", "nice"}
PLACEHOLDER_WORD = re.compile(r"^(\.\.\.|…|<[^>]*>|\{[^}]*\}|[A-Z][A-Z0-9_-]*(\.\.\.|…)?|.*⇥)$")  # `⇥`: Tab pressed


@dataclass(frozen=True)
class Line:
    where: str  # path:line
    text: str   # the command line as found, for the message


@functools.cache
def tree() -> click.Command:
    """The click command tree behind the typer application, with every command module built
    (`build()` with no command builds them all; `build("due")` would build only `due`'s)."""
    from typer.main import get_command

    from cpcm.cli.app import build

    return get_command(build())


# -- finding the command lines ---------------------------------------------------------------

INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FENCE = re.compile(r"^\s*(```|~~~)")
# the words that start a line of a shell session (a fenced block without `$ ` prompts): any other
# line of a block is what a command printed (`next: ... cpcm assess CASE --type initial`)
SHELL_WORDS = {"cpcm", "export", "for", "if", "while", "eval", "cd", "then", "do", "done", "fi", "git", "make", "echo",
               "cat", "ls", "rm", "cp", "mv", "mkdir", "ssh", "age", "crontab", "python", "python3", "pipx", "pip", "(",
               *WRAPPERS}


@dataclass(frozen=True)
class Piece:
    number: int
    text: str
    shell: bool  # a command line as typed (else text a command printed, read as a message is)


def markdown_pieces(path: Path) -> list[Piece]:
    """Each command-bearing piece of a page: a fenced block's logical lines, and the inline code
    spans of the rest."""
    found: list[Piece] = []
    for block in markdown_blocks(path):
        found.extend(block)
    return found


def markdown_blocks(path: Path) -> list[list[Piece]]:
    """A page's fenced blocks, each as its logical lines (`_block_pieces`), and each inline code
    span outside them as a block of its own."""
    found: list[list[Piece]] = []
    block: list[tuple[int, str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(raw):
            if block is None:
                block = []
                continue
            found.append(_block_pieces(block))
            block = None
        elif block is not None:
            block.append((number, raw.rstrip()))
        else:
            found.extend([Piece(number, span, typed(span))] for span in INLINE.findall(raw))
    return found


def _block_pieces(block: list[tuple[int, str]]) -> list[Piece]:
    """A fenced block's logical lines: a trailing backslash joins the next line, and so does a
    synopsis's indented line of further options (`          [--worker ID] [--json]`). In a block
    with `$ ` prompts the prompted lines are typed and the others printed; in one without, a line
    is typed when it starts as a shell command does (SHELL_WORDS, `VAR=value`)."""
    lines: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, text in block:
        if pending is None and lines and re.match(r"^\s+\[?-", text) and typed(lines[-1][1]):
            start, before = lines.pop()
            text = f"{before} {text.strip()}"
        else:
            start, before = pending or (number, "")
            text = before + text
        if text.endswith("\\"):
            pending = (start, text[:-1] + " ")
            continue
        pending = None
        lines.append((start, text))
    prompts = any(text.lstrip().startswith("$ ") for _, text in lines)
    pieces = []
    for number, text in lines:
        pieces.append(Piece(number, text, text.lstrip().startswith("$ ") if prompts else typed(text)))
        comment = re.search(r"\s#\s(.*)$", text)  # `cpcm plan ... # a supervisor runs cpcm approve … plan`
        if pieces[-1].shell and comment:
            pieces.append(Piece(number, comment.group(1), False))
    return pieces


def typed(text: str) -> bool:
    """Whether `text` (a line of a block without prompts, or an inline span) is a command line as
    typed, not what a command printed (`error: ...; cpcm reads at most ...`)."""
    first = next((w for w in text.split() if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)), "")
    return first in SHELL_WORDS or first.endswith("/cpcm")


def doc_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def tokens(text: str) -> list[str]:
    """Shell words of `text`, with `|` between two words (no space) kept as an alternative, and
    operators (`|`, `;`, `&&`, `>`, `(`) as words of their own; a line whose quotes do not close
    (an elided value: `--reason "...`) is split at its spaces."""
    text = text.replace("\\|", ALT)
    text = re.sub(r"(?<=[^\s|])\|(?=[^\s|])", ALT, text)
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:
        return text.split()


def shell_commands(text: str) -> list[list[str]]:
    """The arguments of each `cpcm` that stands at a command's place in a typed line: first (after
    `$ `, `VAR=value` settings and wrappers such as `time`), or after `|`, `;`, `&&`, `$(`."""
    found: list[list[str]] = []
    at_start = True
    current: list[str] | None = None
    skip_value = False
    previous = ""
    for word in tokens(text):
        if "$(" in word and len(word) > 2:  # a command inside a quoted word: `eval "$(cpcm completion bash)"`
            found.extend(shell_commands(word[word.index("$(") + 2:].split(")")[0]))
            continue
        module, previous = previous == "-m", word  # `python -m cpcm ...`
        if word in SEPARATORS or word.endswith("$("):
            current, at_start = None, True
            continue
        if word in REDIRECTS or (set(word) <= set("<>&|0123456789") and any(c in word for c in "<>")):
            skip_value = True  # the file it goes to
            continue
        if skip_value:
            skip_value = False
            continue
        if current is not None:
            current.append(word)
            continue
        if not at_start and not module:
            continue
        if word == "cpcm" or word.endswith("/cpcm"):
            current = []
            found.append(current)
        elif not (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word) or word in WRAPPERS or word == "$"
                  or (at_start and word.startswith("python"))):
            at_start = False
    return found


# a command line inside a message ends where the sentence goes on: at a bracket or a quote, at
# `, ` `; ` `: ` or a full stop before a space, or at the end of the text
HINT = re.compile(r"(?<![\w./-])cpcm ((?:[^()\[\]'\"`;:,.\n]|[:,;.](?!\s|$))+)")
# words that follow "cpcm" in a sentence about it ("give it to cpcm with --from-file FILE"): never
# a command's name
PROSE = {"with", "and", "or", "to", "for", "in", "on", "from", "by", "at", "as", "when", "is", "can", "does", "will"}


def message_commands(text: str) -> list[list[str]]:
    """The arguments of each `cpcm COMMAND ...` a message suggests: `cpcm` and a word that names a
    command, or any word but one of PROSE followed by an option ("... (cpcm sharing CASE --x)");
    "cpcm writes the file" and the like are sentences about cpcm."""
    found = []
    names = set(getattr(tree(), "commands", {}))
    pieces = []
    for match in HINT.finditer(text):
        words = tokens(match.group(1).strip())
        while "cpcm" in words:  # "cpcm policy set or cpcm form set commits it": two
            pieces.append(words[:words.index("cpcm")])
            words = words[words.index("cpcm") + 1:]
        pieces.append(words)
    for words in pieces:
        if not words:
            continue
        first = words[0]
        named = any(w in names for w in re.split(f"[{ALT}/]", first))
        if named or (re.match(r"^[a-z][a-z-]*$", first) and first not in PROSE
                     and any(w.startswith("--") for w in words)):
            found.append(words)
    return found


def doc_commands() -> list[tuple[Line, list[str]]]:
    out = []
    for page in doc_pages():
        where = page.relative_to(ROOT).as_posix()
        for piece in markdown_pieces(page):
            if "cpcm" not in piece.text:
                continue
            for args in (shell_commands if piece.shell else message_commands)(piece.text):
                out.append((Line(f"{where}:{piece.number}", piece.text.strip()), args))
    return out


def source_texts() -> list[tuple[str, int, str]]:
    """(file, line, text) of each string in cpcm's source but docstrings; an f-string's `{...}`
    parts read `X`."""
    found = []
    for path in sorted((ROOT / "cpcm").rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        module = ast.parse(path.read_text(encoding="utf-8"), filename=where)
        skip: set[int] = set()
        for node in ast.walk(module):  # docstrings describe cpcm's code, not what a user types
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    skip.add(id(first.value))
        for node in ast.walk(module):
            if isinstance(node, ast.JoinedStr):
                skip.update(id(v) for v in node.values)
                text = "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
                found.append((where, node.lineno, text))
        for node in ast.walk(module):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                found.append((where, node.lineno, node.value))
    return found


def hint_commands() -> list[tuple[Line, list[str]]]:
    out = []
    for where, number, text in source_texts():
        if "cpcm " in text:
            for args in message_commands(text):
                out.append((Line(f"{where}:{number}", "cpcm " + " ".join(args).replace(ALT, "|")), args))
    return out


# -- checking one command line ----------------------------------------------------------------

def placeholder(word: str) -> bool:
    return bool(PLACEHOLDER_WORD.match(word))


def option_names(command: click.Command) -> set[str]:
    names = set()
    for param in command.params:
        names.update(getattr(param, "opts", ()))
        names.update(getattr(param, "secondary_opts", ()))
    names.update(getattr(command, "context_settings", {}).get("help_option_names", ()) or ("--help",))
    names.update(("--help", "-h"))
    return names


def takes_value(command: click.Command, name: str) -> bool:
    for param in command.params:
        if isinstance(param, click.Option) and name in param.opts:
            return not param.is_flag and not param.count
    return False


def problems(args: list[str], command: click.Command | None = None, path: str = "cpcm") -> list[str]:
    """What in `args` (the words after `cpcm`) the command tree does not know."""
    command = command or tree()
    found: list[str] = []
    words = [w.strip("[]") for w in args]
    k = 0
    while k < len(words):
        word = words[k]
        k += 1
        if not word or word == "--":
            if word == "--":
                break
            continue
        if word.startswith("-") and len(word) > 1 and not re.match(r"^-\d", word) and word not in ("-…", "-..."):
            names = [re.match(r"-*[^=\[\].…]*", w).group() for w in word.split(ALT)]  # `--role]...`: --role
            for name in names:
                if name.startswith("-") and name not in option_names(command):
                    found.append(f"`{path}` has no option {name}")
            if "=" not in word and takes_value(command, names[0]) and k < len(words):
                k += 1  # its value
            continue
        if isinstance(command, click.Group):
            choices = [w for w in re.split(f"[{ALT}/]", word) if w]  # `add|list`, `create/apply`
            if any(placeholder(w) for w in choices):
                return found  # `cpcm COMMAND --help`: nothing more to check
            rest = words[k:]
            for name in choices:
                sub = command.commands.get(name)
                if sub is None:
                    found.append(f"`{path}` has no command {name!r}")
                else:
                    found.extend(problems(rest, sub, f"{path} {name}"))
            return found
        # an argument of a command: a value the user types, not checked
    return found


# -- the tests ---------------------------------------------------------------------------------

# command lines shown on purpose with what the CLI says to them (a usage error's example)
WRONG_ON_PURPOSE = {("docs/exit-codes.md", "$ cpcm list --bogus")}


def test_docs_commands__every_command_and_option_shown_in_the_docs_exists():
    seen = doc_commands()
    assert len(seen) > 1000, len(seen)  # the extraction reaches the pages' blocks, spans and printed hints
    bad, on_purpose = [], set()
    for line, args in seen:
        found = problems(args)
        if found and (line.where.split(":")[0], line.text) in WRONG_ON_PURPOSE:
            on_purpose.add((line.where.split(":")[0], line.text))
            continue
        bad.extend(f"{line.where}: {problem}\n    {line.text}" for problem in found)
    assert not bad, "command lines in the docs that the CLI does not take:\n" + "\n".join(bad)
    assert on_purpose == WRONG_ON_PURPOSE  # each is still there, and still wrong


def test_docs_commands__every_command_line_cpcm_suggests_exists():
    seen = hint_commands()
    assert len(seen) > 300, len(seen)  # the scan reaches the messages' hints
    bad = [f"{line.where}: {problem}\n    {line.text}" for line, args in seen for problem in problems(args)]
    assert not bad, "command lines in cpcm's messages that the CLI does not take:\n" + "\n".join(bad)


# commands that need no casefile repository: they run before there is one
NO_REPOSITORY = {"key", "unlock", "lock", "completion", "form", "init"}


def test_docs_commands__a_session_that_makes_a_repository_elsewhere_points_the_next_commands_at_it():
    """A block that runs `cpcm init PATH` (PATH not the default `./casefiles`) and then commands
    that read the repository tells them where it is (`export CPCM_REPO=...PATH`, `cd PATH`, or
    `--repo`), as docs/commands/repository.md says: typed as shown, they would otherwise stop at
    "no casefile repository" (exit 3)."""
    bad = []
    for page in doc_pages():
        for block in markdown_blocks(page):
            made, pointed = None, False
            for piece in (p for p in block if p.shell):
                if made and re.search(rf"(CPCM_REPO=\S*|\bcd\s+\S*){re.escape(made)}\b", piece.text):
                    pointed = True
                for args in shell_commands(piece.text):
                    given = [w for w in args if not w.startswith("-")]
                    if args[:1] == ["init"] and len(given) > 1 and not placeholder(given[1].strip("[]")):
                        made, pointed = given[1], given[1].strip("./") == "casefiles" or "--repo" in args
                    elif made and not pointed and args and args[0] not in NO_REPOSITORY and "--repo" not in args:
                        bad.append(f"{page.relative_to(ROOT)}:{piece.number}: `cpcm {args[0]}` after `cpcm init {made}`, "
                                   f"which nothing points it at (export CPCM_REPO=$PWD/{made})")
                        pointed = True  # once a block
    assert not bad, "\n".join(bad)


def help_examples() -> list[tuple[str, str]]:
    """(command path, example) for each `Example:` line of each command's help, groups' included."""
    found, stack = [], [("cpcm", tree())]
    while stack:
        path, command = stack.pop()
        found.extend((path, line.strip().removeprefix("Example:").strip())
                     for line in (command.help or "").splitlines() if line.strip().startswith("Example:"))
        stack.extend((f"{path} {name}", sub) for name, sub in getattr(command, "commands", {}).items())
    return found


def test_docs_commands__every_command_has_an_example_in_its_help_and_each_parses():
    """`cpcm COMMAND --help` shows an example of each command (an `Example:` line, which plain help
    keeps whole: cli/app.py keep_example_lines), and every command line of it exists."""
    examples = help_examples()
    leaves = {path for path, _ in _walk(tree(), "cpcm")}
    assert leaves - {path for path, _ in examples} == set(), "commands without an `Example:` line in their help"
    bad = []
    for path, example in examples:
        commands = shell_commands(example)
        if not commands:
            bad.append(f"{path}: the example names no cpcm command: {example}")
        bad.extend(f"{path}: {problem}\n    {example}" for args in commands for problem in problems(args))
    assert not bad, "help examples the CLI does not take:\n" + "\n".join(bad)


def _walk(command: click.Command, path: str):
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, f"{path} {name}")
    else:
        yield path, command


def test_docs_commands__the_check_names_a_wrong_command_or_option_and_takes_placeholders():
    """The check itself: what it must find, and what it must let through."""
    assert problems(tokens("due --within 7 --worker all --json")) == []
    assert problems(tokens("approve … plan --note T")) == []
    assert problems(tokens("service add|list|show|import")) == []
    assert problems(tokens("bundle create/apply")) == []
    assert problems(tokens("COMMAND --help")) == []
    assert problems(tokens("list [--status S] [--json] [--worker W]...")) == []
    assert problems(tokens("list [--json|--names]")) == []
    assert problems(tokens("review CASE --from-file -")) == []
    assert problems(tokens("referral CASE R1 --status accepted\\|declined")) == []
    assert problems(tokens("due --withinn 7")) == ["`cpcm due` has no option --withinn"]
    assert problems(tokens("team revoke otieno --lots")) == ["`cpcm team revoke` has no option --lots"]
    assert problems(tokens("cover CASE")) == ["`cpcm` has no command 'cover'"]
    assert problems(tokens("service add|remove")) == ["`cpcm service` has no command 'remove'"]
    assert problems(tokens("list --status=open --nme")) == ["`cpcm list` has no option --nme"]
    assert shell_commands("$ CPCM_NOW=2026-01-01 cpcm due --json | jq .[0]") == [["due", "--json"]]
    assert shell_commands('eval "$(cpcm completion bash)"') == [["completion", "bash"]]
    assert shell_commands("python -X importtime -m cpcm show CASE") == [["show", "CASE"]]
    assert shell_commands("cpcm form blank plan > plan.yaml; cpcm plan CASE -f plan.yaml  # a comment --x") == [
        ["form", "blank", "plan"], ["plan", "CASE", "-f", "plan.yaml"]]
    assert message_commands("next: record it (cpcm followup CP-X --purpose pre_closure ...), or close") == [
        ["followup", "CP-X", "--purpose", "pre_closure", "..."]]
    assert message_commands("give it to cpcm with --from-file FILE; cpcm writes the file.") == []
    assert message_commands("run cpcm key rotate. Then") == [["key", "rotate"]]
    assert message_commands("cpcm policy set or cpcm form set commits it") == [
        ["policy", "set", "or"], ["form", "set", "commits", "it"]]
    assert message_commands("then (cpcm sharing CASE --with X)") == [["sharing", "CASE", "--with", "X"]]


def test_docs_commands__every_example_id_reads_as_an_id():
    """A case, conference or session ID shown as an example (README, docs, help and messages,
    templates) carries its right check character: one copied from the docs into a command is read
    as an ID (a case not found), not refused as a mistyped one."""
    from cpcm.domain.ids import normalise_id

    shape = re.compile(r"\b(CP|CC|SV)-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "cpcm").rglob("*.py"), *(ROOT / "templates").rglob("*")]
    wrong = sorted({f"{path.relative_to(ROOT)}: {found.group(0)}"
                    for path in files if path.is_file() and path.suffix not in (".mo", ".pyc")
                    for found in shape.finditer(path.read_text(encoding="utf-8", errors="replace"))
                    if normalise_id(found.group(0), found.group(1)) != found.group(0)})
    assert not wrong, "an example ID whose check character is wrong:\n" + "\n".join(wrong)


def test_docs_commands__the_register_pages_terminal_session_asks_the_forms_questions_in_its_order():
    """The session shown in docs/commands/register.md is typed by people following it, answer by answer: a
    question left out of it (the birth certificate, the place of registration, the eligibility criteria
    once were) puts every later answer into the wrong field."""
    from cpcm.store import forms

    labels = [field.label["en"] for field in forms.load("registration").fields]
    page = (ROOT / "docs" / "commands" / "register.md").read_text(encoding="utf-8")
    session = page.split("$ cpcm register\n", 1)[1].split("```", 1)[0].splitlines()
    asked = [next(label for label in labels if line.startswith(label + " ") or line.startswith(label + ":"))
             for line in session if any(line.startswith(label + " ") or line.startswith(label + ":") for label in labels)]
    assert list(dict.fromkeys(asked)) == labels
