"""Printable blank forms (`cpcm form print`): the view model of one form definition, pure.

A form definition (cpcm/forms/*.yaml) becomes a list of sections and fields with the labels and
help of the language asked for, each field with how it is filled on paper (a line, a box of
lines, tick boxes for its choices, a table for a list). One template, `form-print.html` (and
`.md`), prints every form; its words come from the catalogs, the labels from the definition.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from cpcm.domain.forms import Field, Form, base_type

INLINE = 4  # choices with at most this many options are printed on one line


def _text(what: Mapping[str, str], lang: str, fallback: bool = True) -> str:
    """The text in `lang`; English when it has none and `fallback` (labels), else nothing (help)."""
    return str(what.get(lang) or (what.get("en") if fallback else "") or "")


def _list_name(form: Form, field: Field) -> str | None:
    if field.policy_list:  # the policy's list (the eligibility criteria): its words come with the labels, by its name
        return field.policy_list
    return next((name for name, values in form.lists.items() if tuple(values) == tuple(field.choices)), None)


def choice_words(form: Form, field: Field, lang: str, labels: Mapping[str, Mapping[str, Mapping[str, str]]],
                 codes: Mapping[str, str]) -> dict[str, str]:
    """The words the printed form gives each choice of `field` in `lang` (what `form-print` writes
    beside each box): the form's `choice_labels` of its list (`labels`), else the words of the
    code (`codes`: templates/_choices.j2 in `lang`, `env.code_words`), else the code with spaces
    for '_'. A yes-or-no field's two: {"yes": ..., "no": ...}."""
    named = labels.get(_list_name(form, field) or "", {})
    values = ("yes", "no") if field.type == "boolean" else field.choices
    return {value: (_text(named[value], lang) if field.type != "boolean" and value in named else None)
            or codes.get(value) or value.replace("_", " ") for value in values}


def _field(form: Form, field: Field, lang: str, labels: Mapping[str, Mapping[str, Mapping[str, str]]]) -> dict:
    named = labels.get(_list_name(form, field) or "", {})
    options = [{"value": value, "label": _text(named[value], lang) if value in named else None} for value in field.choices]
    if field.type == "boolean":
        options = [{"value": "yes", "label": None}, {"value": "no", "label": None}]
    lines = {"longtext": 4, "text_list": 3}.get(base_type(field), 1)
    if field.max_length and field.type == "longtext" and field.max_length <= 1000:
        lines = 3
    return {
        "key": field.key,
        "name": field.key.split(".")[-1],
        "label": _text(field.label, lang),
        "help": _text(field.help, lang, fallback=(lang == "en")),
        "type": field.type,
        "required": field.required,
        "options": options,
        "multiple": field.type == "choices",
        "inline": field.type == "boolean" or (field.type == "choice" and len(options) <= INLINE),
        "lines": lines,
        "columns": [{"key": sub.key, "label": _text(sub.label, lang), "required": sub.required} for sub in field.item],
        "rows": max(field.min_items, 4) if field.type == "list" else 0,
        "not_future": field.not_future,
        "minimum": field.minimum,
        "maximum": field.maximum,
    }


def _section(key: str) -> str:
    """The group a field is printed under: its key without the last part ('dimensions.safety')."""
    return key.rpartition(".")[0]


def _paper(paper: Mapping[str, Any] | None, lang: str) -> dict:
    """What a form made for paper only says of itself (its `paper:` section): the SOP form it
    is, the words printed above its fields, the title of each section, the heading boxes (a
    case's or a conference's), the number of rows of a table and which tables have tall rows,
    and how its content gets into cpcm (instead of `cpcm form blank`)."""
    paper = paper or {}
    titles = {str(k): _text(v, lang) for k, v in (paper.get("sections") or {}).items()}
    return {
        "sop_form": str(paper["sop_form"]) if paper.get("sop_form") is not None else None,
        "intro": _text(paper.get("intro") or {}, lang, fallback=(lang == "en")) or None,
        "typed_in": _text(paper.get("typed_in") or {}, lang, fallback=(lang == "en")) or None,
        "heading": "conference" if paper.get("heading") == "conference" else "case",
        "titles": titles,
        "rows": {str(k): int(v) for k, v in (paper.get("rows") or {}).items()},
        "tall": {str(k) for k in paper.get("tall_rows") or ()},
    }


def form_view(form: Form, name: str, lang: str, *, labels: Mapping[str, Any] | None = None,
              checklists: Mapping[str, list[str]] | None = None, profile: str | None = None,
              today: date | None = None, paper: Mapping[str, Any] | None = None) -> dict:
    """The printable blank of `form` (named `name`) in `lang`: its title, its fields grouped in
    sections (consecutive fields sharing a key prefix), and for the closure form the checklist
    of each reason under the policy (`checklists`: reason -> items). `paper`: the definition's
    `paper:` section, for a form made to be filled on paper only (the case-conferencing SOP's
    forms): see _paper."""
    meta = _paper(paper, lang)
    fields = [_field(form, f, lang, labels or {}) for f in form.fields
              if not (checklists and f.key == "checklist")]  # printed below as each reason's items
    for entry in fields:
        if entry["type"] == "list" and entry["key"] in meta["rows"]:
            entry["rows"] = meta["rows"][entry["key"]]
        entry["tall"] = entry["key"] in meta["tall"]  # rows with room for a few lines of handwriting
    sections: list[dict] = []
    for entry in fields:
        group = _section(entry["key"])
        if not sections or sections[-1]["key"] != group:
            sections.append({"key": group, "title": meta["titles"].get(group), "fields": []})
        sections[-1]["fields"].append(entry)
    return {
        "sop_form": meta["sop_form"],
        "intro": meta["intro"],
        "typed_in": meta["typed_in"],
        "heading": meta["heading"],
        "lang": lang,
        "name": name,
        "kind": form.kind,
        "title": _text(form.title, lang) or name,
        "profile": profile,
        "today": today.isoformat() if today else None,
        "sections": sections,
        "required_any": any(f["required"] for f in fields),
        "checklists": [{"reason": reason, "checks": list(items)} for reason, items in (checklists or {}).items()],
    }
