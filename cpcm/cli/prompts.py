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
    _ask_fields(form.fields, given, out, today, workers, lang)
    return out


def _ask_fields(fields, given, out, today, workers, lang, indent=""):
    for field in fields:
        if not is_empty(given.get(field.key)):
            continue
        label = field.text(field.label, lang)
        if field.type == "list":
            entries = []
            while True:
                wanted = len(entries) < field.min_items or typer.confirm(
                    f"{indent}{label}: add {'an' if not entries else 'another'} entry?", default=not entries and field.required, err=True)
                if not wanted:
                    break
                typer.echo(f"{indent}{label}, entry {len(entries) + 1}:", err=True)
                entry: dict[str, Any] = {}
                _ask_fields(field.item, {}, entry, today, workers, lang, indent + "  ")
                entries.append(entry)
            if entries:
                set_path(out, field.key, entries)
            continue
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
            answer = typer.prompt(f"{indent}{label}{extra}{'' if field.required else ' (optional)'}", default="", show_default=False, err=True)
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
