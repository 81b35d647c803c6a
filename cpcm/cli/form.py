"""cpcm form blank / list: fillable skeletons generated from the form definitions."""
from __future__ import annotations

import typer

from cpcm.cli.common import JsonOpt, RepoOpt


def register(app: typer.Typer) -> None:
    form = typer.Typer(help="Form definitions and blank forms to fill in.", no_args_is_help=True)
    app.add_typer(form, name="form")

    @form.command("blank")
    def blank(kind: str = typer.Argument(..., help="The record kind, e.g. registration."),
              lang: str = typer.Option("en", "--lang", help="Language of the comments: en or sw."), repo: RepoOpt = None) -> None:
        """Print a commented YAML skeleton for a record kind, ready to fill in.

        Example: cpcm form blank registration > child.yaml
        """
        from cpcm.store import forms
        from cpcm.store.config import resolve_repo
        from cpcm.domain.forms import skeleton

        root = resolve_repo(str(repo) if repo else None)
        typer.echo(skeleton(forms.load(kind, root if root.exists() else None), lang), nl=False)

    @form.command("list")
    def list_(repo: RepoOpt = None, json_out: JsonOpt = False) -> None:
        """The forms available (shipped, and the agency's own in .cpcm/forms/).

        Example: cpcm form list
        """
        from cpcm.store import forms
        from cpcm.cli.common import print_json
        from cpcm.store.config import resolve_repo

        root = resolve_repo(str(repo) if repo else None)
        names = forms.available(root if root.exists() else None)
        if json_out:
            print_json(names)
        else:
            typer.echo("\n".join(names))
