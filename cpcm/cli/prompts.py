"""Guided prompts on a terminal, walking a form definition: the same definition that
validates, so a prompt refuses exactly what the form refuses."""
from __future__ import annotations

from typing import Any, Callable

import typer

from cpcm.domain.forms import Form, coerce, is_empty, not_asked, required_by_rule
from cpcm.domain.records import flatten, set_path


def fill(form: Form, data: dict[str, Any], today, workers, lang: str = "en",
         needed: Callable[[str, dict], str | None] | None = None) -> dict[str, Any]:
    """Ask for every field not given yet (Enter skips an optional one). An optional field that
    the answers before it make required (a `required_if` rule of the form, or `needed`: the
    command's own rule, such as the reason for a changed risk level) is asked as a required one,
    saying why, rather than refused once every question is answered."""
    given = flatten(data)
    out = dict(data)
    typer.echo(f"{form.title.get(lang) or form.kind}: answer each question; press Enter to skip an optional one.", err=True)

    def why(key: str) -> str | None:
        return required_by_rule(form, key, out) or (needed(key, out) if needed else None)

    _ask_fields(form.fields, given, out, today, workers, lang, why=why, skip=lambda key: not_asked(form, key, out))
    return out


def _ask_fields(fields, given, out, today, workers, lang, indent="", why=lambda key: None, skip=lambda key: False):
    for field in fields:
        if not is_empty(given.get(field.key)):
            continue
        if not field.required and not indent and skip(field.key):
            continue  # wanted only when an earlier answer says so ('other' concerns), and it did not
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
        because = None if field.required or indent else why(field.key)
        required = field.required or because is not None
        while True:
            answer = typer.prompt(f"{indent}{label}{extra}{'' if required else ' (optional)'}", default="", show_default=False, err=True)
            if not answer.strip():
                if required:
                    typer.echo(f"  {because}" if because else "  this one is required", err=True)
                    continue
                break
            value, reason = coerce(field, answer, today, workers)
            if reason:
                typer.echo(f"  {reason}", err=True)
                continue
            set_path(out, field.key, value)
            break
