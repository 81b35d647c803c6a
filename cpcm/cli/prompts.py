"""Guided prompts on a terminal, walking a form definition: the same definition that
validates, so a prompt refuses exactly what the form refuses."""
from __future__ import annotations

from typing import Any

import typer

from cpcm.domain.forms import Form, coerce, is_empty
from cpcm.domain.records import flatten, set_path


def fill(form: Form, data: dict[str, Any], today, workers, lang: str = "en") -> dict[str, Any]:
    """Ask for every field not given yet (Enter skips an optional one)."""
    given = flatten(data)
    out = dict(data)
    typer.echo(f"{form.title.get(lang) or form.kind}: answer each question; press Enter to skip an optional one.", err=True)
    for field in form.fields:
        if not is_empty(given.get(field.key)):
            continue
        label = field.text(field.label, lang)
        extra = ""
        if field.type in ("choice", "choices"):
            extra = f" [{', '.join(field.choices)}]" + (" (several: separate with commas)" if field.type == "choices" else "")
        elif field.type == "date":
            extra = " [YYYY-MM-DD]"
        elif field.type == "boolean":
            extra = " [yes/no]"
        elif field.type == "text_list":
            extra = " (several: separate with ';')"
        while True:
            answer = typer.prompt(f"{label}{extra}{'' if field.required else ' (optional)'}", default="", show_default=False, err=True)
            if not answer.strip():
                if field.required:
                    typer.echo("  this one is required", err=True)
                    continue
                break
            value, reason = coerce(field, answer, today, workers)
            if reason:
                typer.echo(f"  {reason}", err=True)
                continue
            set_path(out, field.key, value)
            break
    return out
