"""The Typer application: one module per command group registers its commands here."""
from __future__ import annotations

import typer

HELP = """cpcm: child-protection case management.

Each case is a folder of age-encrypted records in a git repository. Start with
'cpcm key new', then 'cpcm init', then 'cpcm register'. Every morning: 'cpcm due'.
"""


# the module that registers each top-level command: a command runs after importing and building
# only its own module (about a tenth of a second less at every start); help builds them all
MODULES = {
    "key": "keys", "unlock": "keys", "lock": "keys", "evacuate": "evacuate", "init": "repo", "config": "repo", "team": "repo", "register": "register",
    "show": "cases", "list": "cases", "log": "cases", "assign": "cases", "link": "cases", "verify": "cases", "update": "update",
    "correct": "correct",
    "assess": "assess", "plan": "assess", "approve": "assess", "reject": "assess",
    "consent": "referrals", "service": "referrals", "refer": "referrals", "referral": "referrals",
    "followup": "followup", "review": "followup", "readiness": "readiness",
    "placement": "placements", "tracing": "placements", "family-assessment": "placements", "preparation": "placements",
    "close": "followup", "sign-off": "followup", "reopen": "followup", "continue": "followup", "retention": "followup",
    "note": "followup", "conference": "conference", "supervision": "supervision", "complaint": "complaints", "confidential": "confidential", "transfer": "transfer", "receive": "transfer", "transfer-ack": "transfer",
    "due": "workflow", "check": "workflow", "policy": "workflow", "form": "form", "render": "render",
    "report": "report", "export": "report", "repair": "repair", "completion": "completion",
    "import": "imports", "remote": "sync", "sync": "sync", "bundle": "sync", "merge-cases": "sync",
    "mandatory-report": "mandatory_report", "outputs": "outputs",
}
ORDER = ("keys", "evacuate", "repo", "register", "cases", "update", "correct", "assess", "referrals", "followup", "readiness", "placements",
         "mandatory_report", "conference", "supervision", "complaints", "confidential", "transfer", "workflow", "form", "render", "outputs", "report", "imports", "repair",
         "sync", "completion")


def build(command: str | None = None) -> typer.Typer:
    """The application with every command, or with only `command`'s module when it is known."""
    import importlib
    import sys

    # typer's help through rich (boxes, colours) on a terminal only: help piped to a pager, a file or
    # a script is click's plain text, without importing rich's help and markdown code (about 0.25 s)
    plain = {} if sys.stdout.isatty() else {"rich_markup_mode": None}
    app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      context_settings={"help_option_names": ["-h", "--help"]}, **plain)

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit."),
        debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
    ) -> None:
        if version:
            from cpcm import __version__

            typer.echo(f"cpcm {__version__}")
            raise typer.Exit(0)

    names = (MODULES[command],) if command in MODULES else ORDER
    for name in names:
        importlib.import_module(f"cpcm.cli.{name}").register(app)
    return app


def keep_example_lines(command) -> None:
    """Click's plain help (help not for a terminal, see `build`) rewraps each paragraph of a
    command's help into one: a paragraph with an `Example:` line keeps its lines as written
    (click's marker, `\\b`), so that each example stays whole and can be copied."""
    stack = [command]
    while stack:
        found = stack.pop()
        if found.help and "Example:" in found.help:
            paragraphs = found.help.split("\n\n")
            found.help = "\n\n".join("\b\n" + text if k and not text.startswith("\b") and any(
                line.lstrip().startswith("Example:") for line in text.splitlines()) else text for k, text in enumerate(paragraphs))
        stack.extend(getattr(found, "commands", {}).values())

