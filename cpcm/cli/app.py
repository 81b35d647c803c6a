"""The Typer application: one module per command group registers its commands here."""
from __future__ import annotations

import typer

HELP = """cpcm: child-protection case management.

Each case is a folder of age-encrypted records in a git repository. Start with
'cpcm key new', then 'cpcm init', then 'cpcm register'. Every morning: 'cpcm due'.
"""


def build() -> typer.Typer:
    app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      context_settings={"help_option_names": ["-h", "--help"]})

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", "-V", help="Print the version and exit."),
        debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
    ) -> None:
        if version:
            from cpcm import __version__

            typer.echo(f"cpcm {__version__}")
            raise typer.Exit(0)

    from cpcm.cli import assess, cases, conference, followup, form, keys, referrals, register, render, repo, report, transfer, workflow

    for module in (keys, repo, register, cases, assess, referrals, followup, conference, transfer, workflow, form, render, report):
        module.register(app)
    return app
