"""cpcm completion SHELL: shell completion for bash, zsh and fish (click's mechanism).

The script a shell loads calls `cpcm` again at each Tab with `_CPCM_COMPLETE` set; `main()`
hands that call to `complete()`, which offers command names and options (from click) and the
IDs a command expects: case and conference IDs, worker IDs and service IDs, read from plain
files only (`service.completion`), never from a decrypted record and never asking for a
passphrase.
"""
from __future__ import annotations

import os
import shlex

import typer

from cpcm.cli.common import UnusedIdentityOpt, UnusedRepoOpt

COMPLETE_VAR = "_CPCM_COMPLETE"
SHELLS = ("bash", "zsh", "fish")

# which parameter (by its Python name) takes which kind of ID
ARGUMENTS = {"case": "case", "cases": "case", "conf": "conference", "worker": "worker", "service_id": "service"}
OPTIONS = {"--worker": "worker", "--cover": "worker", "--service": "service"}


def register(app: typer.Typer) -> None:
    @app.command("completion")
    def completion(shell: str = typer.Argument(..., help="bash, zsh or fish."), repo: UnusedRepoOpt = None,
                   identity: UnusedIdentityOpt = None) -> None:
        """Print the completion script for your shell.

        Example: echo 'eval "$(cpcm completion bash)"' >> ~/.bashrc
        Example: echo 'eval "$(cpcm completion zsh)"' >> ~/.zshrc
        Example: cpcm completion fish > ~/.config/fish/completions/cpcm.fish
        """
        from click.shell_completion import get_completion_class

        from cpcm.errors import UsageError

        cls = get_completion_class(shell) if shell in SHELLS else None
        if cls is None:
            raise UsageError("no completion for that shell", "Choose bash, zsh or fish.")
        typer.echo(cls(None, {}, "cpcm", COMPLETE_VAR).source())


def _ids(kind: str, ctx, incomplete: str) -> list[str]:
    from cpcm import service
    from cpcm.cli.common import identity_path
    from cpcm.store.config import resolve_repo

    root_ctx = ctx
    repo = None
    while root_ctx is not None:  # --repo given on this command line, if any
        repo = repo or root_ctx.params.get("repo")
        root_ctx = root_ctx.parent
    root = resolve_repo(str(repo) if repo else None)
    if kind == "case":
        return service.completion.case_ids(root, incomplete, identity_path(ctx.params.get("identity")))
    if kind == "conference":
        return service.completion.conference_ids(root, incomplete)
    if kind == "worker":
        return service.completion.worker_ids(root, incomplete)
    return service.completion.service_ids(root, incomplete)


def _attach(command) -> None:
    """Give every parameter that takes an ID its completer (the one place that knows which do)."""
    import click
    from click.shell_completion import CompletionItem

    def completer(kind: str):
        def shell_complete(ctx, incomplete: str):
            try:
                return [CompletionItem(value) for value in _ids(kind, ctx, incomplete)]
            except Exception:  # noqa: BLE001 - a Tab press never shows a traceback
                return []
        return shell_complete

    for param in command.params:
        kind = None
        if isinstance(param, click.Argument):
            kind = None if command.name == "add" else ARGUMENTS.get(param.name or "")  # `team add`, `service add` name a new one
        elif isinstance(param, click.Option):
            kind = next((OPTIONS[o] for o in param.opts if o in OPTIONS), None)
        if kind:
            param.shell_complete = completer(kind)
    for sub in getattr(command, "commands", {}).values():
        _attach(sub)


def complete(instruction: str) -> int:
    """Answer one completion request from the shell script; returns the exit code."""
    from click.shell_completion import shell_complete
    from typer.main import get_command

    from cpcm.cli.app import build

    try:  # past the command's name, only its module is needed (as for a normal start)
        words = shlex.split(os.environ.get("COMP_WORDS", ""))
    except ValueError:
        words = []
    typed = words[1] if len(words) > 2 or (len(words) == 2 and os.environ.get("COMP_WORDS", "").endswith(" ")) else None
    command = get_command(build(typed))
    _attach(command)
    return shell_complete(command, {}, "cpcm", COMPLETE_VAR, instruction)

