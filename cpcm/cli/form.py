"""cpcm form blank / print / list: fillable skeletons and printable blank forms generated from
the form definitions."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cpcm.cli.common import ForceOpt, IdentityOpt, JsonOpt, RepoOpt, UnusedIdentityOpt


def identity_path_of(option: Optional[Path]) -> Path:
    """The identity whose register of plaintext files records a blank form written (--identity,
    $CPCM_IDENTITY or the default): only its public half is read."""
    from cpcm.cli.common import identity_path

    return identity_path(option)


def _language(lang: Optional[str], root: Optional[Path]) -> str:
    """--lang, else the language of the repository (a Kiswahili agency's blanks in Kiswahili), else English."""
    if lang is not None:
        return lang
    if root is not None and (root / ".cpcm").is_dir():
        from cpcm.store.config import load_config

        return load_config(root).language or "en"
    return "en"


def register(app: typer.Typer) -> None:
    form = typer.Typer(help="Form definitions and blank forms to fill in.", no_args_is_help=True)
    app.add_typer(form, name="form")

    @form.command("blank")
    def blank(kind: str = typer.Argument(..., help="The record kind, e.g. registration."),
              lang: Optional[str] = typer.Option(None, "--lang", help="Language of the comments: en or sw (default: the repository's "
                                                                       "language, else en).", show_default=False),
              repo: RepoOpt = None, identity: UnusedIdentityOpt = None) -> None:
        """Print a commented YAML skeleton for a record kind, ready to fill in.

        Example: cpcm form blank registration > child.yaml
        """
        from cpcm.store import forms
        from cpcm.store.config import resolve_repo
        from cpcm.domain.forms import skeleton

        from cpcm.service.paper import form_name

        root = resolve_repo(str(repo) if repo else None)
        policy = None
        if (root / ".cpcm").is_dir():  # the form the repository's policy names for the record (kenya: registration-kenya)
            from cpcm.cli.common import open_ctx

            policy = open_ctx(repo, None, need_identity=False).policy
        from cpcm.service.wording import wording_for

        here = root if root.exists() else None
        definition, language = forms.load(form_name(policy, kind, here), here), _language(lang, root)
        # the comments' own words from the catalog of the language (the agency's first), as the refusals are said
        typer.echo(skeleton(definition, language, wording_for(here, language, definition, policy).say), nl=False)

    @form.command("print")
    def print_(name: str = typer.Argument(..., help="The form: registration, initial, comprehensive, best-interests, readiness, "
                                                      "followup, review, consent, closure, sign-off, conference-minutes... ('cpcm form list')."),
               lang: Optional[str] = typer.Option(None, "--lang", help="The language: en or sw (any language with a catalog; default: "
                                                                      "the repository's language, else en).", show_default=False),
               fmt: Optional[str] = typer.Option(None, "--format", help="html (A4, to print from a browser) or md (default: the one "
                                                                        "the --out file's name ends in, else html).", show_default=False),
               profile: Optional[str] = typer.Option(None, "--profile", help="The policy profile whose forms and closure checklists are printed "
                                                                             "(default: the repository's, else inter-agency)."),
               out: Optional[Path] = typer.Option(None, "--out", help="Write to this file (a new file; --force to replace it) instead of standard output."),
               force: ForceOpt = False, repo: RepoOpt = None, identity: IdentityOpt = None) -> None:
        """Print a blank form to fill in on paper on a visit (HTML on A4, or Markdown), to type in
        later with --from-file or the prompts. No case data goes in it.

        Example: cpcm form print registration --lang sw --out usajili.html
        Example: cpcm form print readiness --profile kenya --format md
        """
        from cpcm.service.paper import FORMATS, form_print
        from cpcm.store import policies
        from cpcm.store.config import resolve_repo

        from cpcm.cli.common import out_format, to_stdout

        out = to_stdout(out)  # --out -: printed, as without --out
        # --format, else the format the --out file's name picks; `--out blank.md` with HTML in it, or `--out blank.pdf`,
        # is refused, as a report's --out is (common.out_format: one format under another's name); a blank is never encrypted
        fmt = out_format(out, fmt, FORMATS, False, stem="form") or "html"
        root = resolve_repo(str(repo) if repo else None)
        root = root if (root / ".cpcm").is_dir() else None
        if profile:
            policy = policies.load(profile)
        elif root is not None:
            from cpcm.cli.common import open_ctx

            policy = open_ctx(repo, None, need_identity=False).policy
        else:
            policy = policies.load("inter-agency")
        text = form_print(name, _language(lang, root).strip().lower(), fmt, policy=policy, root=root)
        if out is None:
            typer.echo(text, nl=False)
            return
        from cpcm.cli.common import register_plain, say, write_plain

        written = write_plain(root, out, "--out", text.encode(), force)
        register_plain(written, text.encode(), f"form print {name}", identity=identity_path_of(identity), case_data=False)
        say("blank form written to the --out file")

    @form.command("list")
    def list_(repo: RepoOpt = None, identity: UnusedIdentityOpt = None, json_out: JsonOpt = False) -> None:
        """The forms available (shipped, and the agency's own in .cpcm/forms/); the Kenya
        case-conferencing SOP's forms with their number.

        Example: cpcm form list
        """
        from cpcm.store import forms
        from cpcm.cli.common import print_json
        from cpcm.store.config import resolve_repo

        root = resolve_repo(str(repo) if repo else None)
        here = root if root.exists() else None
        names = forms.available(here)
        if json_out:
            print_json(names)
            return
        width = max(len(n) for n in names)
        for name in names:  # the case-conferencing SOP's forms with their number (Forms 1-8)
            sop = forms.paper(name, here).get("sop_form")
            typer.echo(f"{name:<{width}}  SOP Form {sop}" if sop is not None else name)

    @form.command("set")
    def set_form(file: Path = typer.Argument(..., help="The form definition to put in place (its name is the form's: registration.yaml)."),
                 kind: Optional[str] = typer.Option(None, "--kind", help="The form it is, when the file is named otherwise."),
                 repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Put an agency's own form in place as .cpcm/forms/KIND.yaml, in one signed commit (a supervisor or manager).

        The definition is checked first (laid over the form it extends, as the commands that use
        it read it): when it is wrong nothing changes. It is kept as written, comments and all.
        A file in .cpcm/forms/ edited by hand is committed by giving it: cpcm form set
        .cpcm/forms/registration.yaml

        Example: cpcm form set registration.yaml
        """
        from cpcm import service
        from cpcm.cli.common import open_ctx, read_input, report_setting
        from cpcm.errors import NotFound

        if not file.is_file():
            raise NotFound("FILE: no such file")
        name = kind if kind is not None else (file.name[:-len(".yaml")] if file.name.endswith(".yaml") else file.name)
        result = service.form_set(open_ctx(repo, identity), name, read_input(str(file), "FILE"))
        report_setting(result, json_out, (f"put back: the agency's form {name} as the last commit holds it, in place of the one "
                                          "changed by hand (no commit)") if result["put_back"] else
                       f"no change: the agency's form {name} is that file already",
                       lambda commit: f"form {name} set: {result['fields']} field(s) (commit {commit}); cpcm form blank {name} shows it")
