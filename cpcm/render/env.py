"""The Jinja environment for documents: sandboxed, strict, fed plain view models.

- Sandboxed (`ImmutableSandboxedEnvironment`): a template, shipped or an agency's, cannot reach
  Python internals (`().__class__`) nor change the data it is given.
- `StrictUndefined`: a missing variable is an error, never a blank in a child's plan.
- Autoescape for `.html` templates only; Markdown is written as it is.
- Lookup: the casefile repository's `.cpcm/templates/` (agency overrides) first, then the
  templates shipped with cpcm.

A document template is named `<document>.<lang>.<format>`, e.g. `child-plan.sw.html`; names
starting with `_` are shared pieces (word lists, CSS) included by the documents.

Must not import: service, store, crypto, cli (rendering takes plain data and returns text).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from cpcm.domain.dates import as_date
from cpcm.errors import Corrupt, NotFound

FORMATS = {"md": "md", "html": "html"}  # --format value -> file extension
AGENCY_DIR = Path(".cpcm") / "templates"

_HERE = Path(__file__).resolve().parent


def shipped_dir() -> Path:
    """The templates shipped with cpcm.

    In a wheel they are package data in `cpcm/render/templates/`; in a checkout (and with
    `pip install -e .`) that name is a link to the project's top-level `templates/`, and when
    the link is missing (a file system without symbolic links) the top-level folder is used.
    """
    packaged = _HERE / "templates"
    if packaged.is_dir():
        return packaged
    return _HERE.parents[1] / "templates"


def search_path(root: Path | None) -> list[Path]:
    """Where templates are looked up, first match wins."""
    folders = []
    if root is not None and (root / AGENCY_DIR).is_dir():
        folders.append(root / AGENCY_DIR)
    folders.append(shipped_dir())
    return folders


def template_name(document: str, lang: str, fmt: str) -> str:
    return f"{document}.{lang}.{FORMATS[fmt]}"


def available(root: Path | None = None) -> dict[str, set[tuple[str, str]]]:
    """Every document template found: {document: {(lang, format), ...}}."""
    by_extension = {ext: fmt for fmt, ext in FORMATS.items()}
    found: dict[str, set[tuple[str, str]]] = {}
    for folder in search_path(root):
        for path in folder.iterdir():
            parts = path.name.split(".")
            if path.name.startswith(("_", ".")) or len(parts) != 3 or parts[2] not in by_extension:
                continue
            found.setdefault(parts[0], set()).add((parts[1], by_extension[parts[2]]))
    return found


def environment(root: Path | None = None):
    """A fresh environment for the repository at `root` (None: shipped templates only)."""
    from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader([str(p) for p in search_path(root)], encoding="utf-8"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html", "htm"), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(_filters())
    return env


class TemplateFailed(Corrupt):
    """A template could not be read or rendered (a syntax error, a missing variable, an
    attribute the sandbox refuses). The message names the template, never the data."""


def render(document: str, lang: str, fmt: str, view: Mapping[str, Any], root: Path | None = None) -> str:
    """The document `document` in `lang` and `fmt`, from the view model `view`.

    A template that fails raises `TemplateFailed` naming the template file and line; names
    quoted in Jinja's message are kept only when a template holds them, because a key looked up
    with a case's value would otherwise put that value in the message."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    if fmt not in FORMATS:
        raise NotFound(f"no format '{fmt}'", f"Formats: {', '.join(FORMATS)}.")
    name = template_name(document, lang, fmt)
    env = environment(root)
    try:
        template = env.get_template(name)
        return template.render(dict(view))
    except TemplateNotFound as exc:
        if exc.name == name:
            raise NotFound(f"no template {name}", f"Templates are looked up in {', '.join(str(p) for p in search_path(root))}.") from None
        raise TemplateFailed(f"{_where(exc, name)}: {_redact(exc.message or 'a template it includes does not exist', root)}",
                             name) from None
    except TemplateSyntaxError as exc:
        raise TemplateFailed(f"template {exc.name or name}, line {exc.lineno}: {_redact(exc.message or 'syntax error', root)}",
                             exc.filename or name) from None
    except UndefinedError as exc:
        raise TemplateFailed(f"{_where(exc, name)} uses something its data does not have: {_redact(exc.message or '', root)}",
                             name, "Fix the template, or the view model it is given (cpcm/render/views.py).") from None
    except SecurityError as exc:
        raise TemplateFailed(f"{_where(exc, name)} was refused by the sandbox: {_redact(str(exc), root)}", name) from None
    except Exception as exc:  # noqa: BLE001 - a filter given the wrong data, say: never the data in the message
        raise TemplateFailed(f"{_where(exc, name)} failed ({type(exc).__name__})", name) from None


_TEMPLATE_SUFFIXES = tuple(f".{ext}" for ext in (*FORMATS.values(), "j2", "css", "htm", "txt"))


def _where(exc: BaseException, name: str) -> str:
    """'template NAME, line N' from the traceback Jinja rewrites to point into templates."""
    where, tb = None, exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(_TEMPLATE_SUFFIXES):
            where = f"template {Path(filename).name}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return where or f"template {name}"


def _redact(message: str, root: Path | None) -> str:
    texts = []
    for folder in search_path(root):
        for path in folder.iterdir():
            if path.is_file():
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    source = "\n".join(texts)

    def keep(match: re.Match) -> str:
        quoted = match.group(1)
        if re.fullmatch(r"[A-Za-z_]\w* object", quoted) or (quoted and quoted in source):
            return match.group(0)
        return "'…'"

    return re.sub(r"'([^']*)'", keep, message)


# -- filters: dates in words ---------------------------------------------------------------------
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "sw": ("Januari", "Februari", "Machi", "Aprili", "Mei", "Juni", "Julai", "Agosti", "Septemba", "Oktoba",
           "Novemba", "Desemba"),
}
WEEKDAYS = {  # Monday first, as date.weekday() counts
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "sw": ("Jumatatu", "Jumanne", "Jumatano", "Alhamisi", "Ijumaa", "Jumamosi", "Jumapili"),
}


def date_words(value: Any, lang: str = "en", weekday: bool = False) -> str:
    """'1 December 2026' / '1 Desemba 2026'; with `weekday`, 'Tuesday 1 December 2026' /
    'Jumanne, tarehe 1 Desemba 2026'. A language without month names gets the ISO date."""
    day = as_date(value)
    if lang not in MONTHS:
        return day.isoformat()
    text = f"{day.day} {MONTHS[lang][day.month - 1]} {day.year}"
    if weekday:
        name = WEEKDAYS[lang][day.weekday()]
        text = f"{name}, tarehe {text}" if lang == "sw" else f"{name} {text}"
    return text


def _date_filter(context, value: Any, weekday: bool = False) -> str:
    return date_words(value, str(context.get("lang") or "en"), weekday)


def md_cell(value: Any) -> str:
    """Text for one cell of a Markdown table: no pipes or line breaks to break the table."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", " ")


def sentence(value: Any) -> str:
    """Text ending as a sentence: a full stop added when it has no closing punctuation."""
    text = str(value).rstrip()
    return text if not text or text[-1] in ".!?:;\"')" else text + "."


def _filters() -> dict:
    from jinja2 import pass_context

    return {
        "date_words": pass_context(_date_filter),  # {{ plan.review_date | date_words }} in the view's `lang`
        "date_en": lambda value, weekday=False: date_words(value, "en", weekday),
        "date_sw": lambda value, weekday=False: date_words(value, "sw", weekday),
        "md_cell": md_cell,
        "sentence": sentence,
    }
