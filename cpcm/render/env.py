"""The Jinja environment for documents: sandboxed, strict, fed plain view models.

- Sandboxed (`ImmutableSandboxedEnvironment`): a template, shipped or an agency's, cannot reach
  Python internals (`().__class__`) nor change the data it is given.
- `StrictUndefined`: a missing variable is an error, never a blank in a child's plan.
- Autoescape for `.html` templates; in `.md` templates every value written is escaped for
  Markdown (a `<` that could open HTML, and every `>`, as `&lt;` and `&gt;`: `md_escape`), so text
  a worker typed (`<script>`, `<img ...>`) is shown as text and never becomes HTML when the
  Markdown is viewed, while `<5` reads as written. The escape is idempotent,
  so a value passed through a macro is not escaped twice; HTML is escaped once, by autoescape.
- Lookup: the casefile repository's `.cpcm/templates/` (agency overrides) first, then the
  templates shipped with cpcm.
- Words: one template per document and format (`child-plan.html`), its words marked for gettext
  (`{{ _("...") }}`, `pgettext(...)`, `{% trans %}...{% endtrans %}`: jinja2.ext.i18n) and
  translated from the catalogs `locale/<lang>/LC_MESSAGES/cpcm.po` (English is the source
  language and needs none). A catalog is compiled when it is first used (Babel `read_po`) and
  kept while its file is unchanged. A repository's `.cpcm/locale/<lang>/LC_MESSAGES/cpcm.po`
  comes first and the shipped catalog fills in what it does not translate: a new language is
  one catalog.
- An agency's language-specific file (`child-plan.sw.html`, `_words.sw.j2`), where there is one,
  is used in place of the shared one for that language.

Names starting with `_` are shared pieces (word lists, CSS) included by the documents.

Must not import: service, store, crypto, cli (rendering takes plain data and returns text).
"""
from __future__ import annotations

import gettext
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

from cpcm.domain.dates import as_date
from cpcm.errors import Corrupt, NotFound

FORMATS = {"md": "md", "html": "html"}  # --format value -> file extension
AGENCY_DIR = Path(".cpcm") / "templates"
AGENCY_LOCALE_DIR = Path(".cpcm") / "locale"
SOURCE_LANGUAGE = "en"  # the language the templates are written in: it needs no catalog
DOMAIN = "cpcm"         # the catalogs' file name: locale/<lang>/LC_MESSAGES/cpcm.po

_HERE = Path(__file__).resolve().parent
LOCALE_DIR = _HERE / "locale"


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
    """The name of a language-specific template (an agency's own `child-plan.sw.html`)."""
    return f"{document}.{lang}.{FORMATS[fmt]}"


def _language_name(name: str, lang: str) -> str | None:
    """'child-plan.html' -> 'child-plan.sw.html'; None for names that are not '<stem>.<ext>'."""
    folder, _, base = name.rpartition("/")
    parts = base.split(".")
    if folder or len(parts) != 2 or not lang:
        return None
    return f"{parts[0]}.{lang}.{parts[1]}"


def catalog_files(lang: str, root: Path | None = None) -> list[Path]:
    """The catalogs of `lang`, the repository's first: `<lang>/LC_MESSAGES/cpcm.po`."""
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*", lang or ""):
        return []
    folders = ([root / AGENCY_LOCALE_DIR] if root is not None else []) + [LOCALE_DIR]
    return [path for folder in folders if (path := folder / lang / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()]


def languages(root: Path | None = None) -> set[str]:
    """The languages documents can be written in: the source language and every catalog's."""
    found = {SOURCE_LANGUAGE}
    for folder in ([root / AGENCY_LOCALE_DIR] if root is not None else []) + [LOCALE_DIR]:
        if folder.is_dir():
            found |= {path.name for path in folder.iterdir() if catalog_files(path.name, root)}
    return found


def available(root: Path | None = None) -> dict[str, set[tuple[str, str]]]:
    """Every document that can be rendered: {document: {(lang, format), ...}}. A shared
    template (`<document>.<format>`) is there in every language with a catalog; an agency's
    language-specific one (`<document>.<lang>.<format>`) in its own language."""
    by_extension = {ext: fmt for fmt, ext in FORMATS.items()}
    langs = languages(root)
    found: dict[str, set[tuple[str, str]]] = {}
    for folder in search_path(root):
        for path in folder.iterdir():
            parts = path.name.split(".")
            if path.name.startswith(("_", ".")) or not path.is_file() or parts[-1] not in by_extension:
                continue
            if len(parts) == 2:
                found.setdefault(parts[0], set()).update((lang, by_extension[parts[1]]) for lang in langs)
            elif len(parts) == 3:
                found.setdefault(parts[0], set()).add((parts[1], by_extension[parts[2]]))
    return found


class _Loader:
    """A file system loader over the search path that, for a language, looks for
    `<stem>.<lang>.<ext>` before `<stem>.<ext>` in each folder (an agency's own language file
    wins over the shared one, and the agency's folder over the shipped one)."""

    def __new__(cls, folders: list[Path], lang: str | None):
        from jinja2 import BaseLoader, FileSystemLoader, TemplateNotFound

        class Loader(BaseLoader):
            def __init__(self):
                self.loaders = [FileSystemLoader(str(folder), encoding="utf-8") for folder in folders]

            def get_source(self, environment, template):
                names = [n for n in (_language_name(template, lang or ""), template) if n]
                for loader in self.loaders:
                    for name in names:
                        try:
                            return loader.get_source(environment, name)
                        except TemplateNotFound:
                            continue
                raise TemplateNotFound(template)

            def list_templates(self):
                return sorted({name for loader in self.loaders for name in loader.list_templates()})

        return Loader()


_BYTECODE: dict[str, bytes] = {}  # template file -> its compiled code, for this process (no case data in it)


def _bytecode_cache(escaped: tuple[str, ...]):
    """Templates compiled once per process: Jinja keys each by its file and checks the source's
    checksum before using it, so a changed template is compiled again. A template compiles alike
    in every environment made here with the same files autoescaped (`escaped`: an HTML
    document's shared `.j2` pieces are, a Markdown document's are not), so the key holds them."""
    from jinja2 import BytecodeCache

    prefix = ",".join(escaped) + ":"

    class InMemory(BytecodeCache):
        def load_bytecode(self, bucket):
            code = _BYTECODE.get(prefix + bucket.key)
            if code is not None:
                bucket.bytecode_from_string(code)

        def dump_bytecode(self, bucket):
            _BYTECODE[prefix + bucket.key] = bucket.bytecode_to_string()

    return InMemory()


def environment(root: Path | None = None, lang: str | None = None, fmt: str | None = None):
    """A fresh environment for the repository at `root` (None: shipped templates only), its
    words in `lang` (None: as written in the templates), for documents in `fmt`. HTML templates
    are autoescaped; for an `html` document the shared `.j2` pieces it imports are too, as
    their macros write what a worker typed (`_values.j2`: a record's answers) into the page:
    compiled unescaped, a macro's output reaches an HTML page as markup, and `<b>` or
    `<script>` typed in a note would be HTML there. A Markdown document's pieces are escaped for
    Markdown instead (`_finalize_in`)."""
    from jinja2 import StrictUndefined, select_autoescape
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    escaped = ("html", "htm", "j2") if fmt == "html" else ("html", "htm")
    env = ImmutableSandboxedEnvironment(
        bytecode_cache=_bytecode_cache(escaped),
        loader=_Loader(search_path(root), lang),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=escaped, default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
        finalize=_make_finalize(),
    )
    env.install_gettext_translations(translations(lang or SOURCE_LANGUAGE, root) or gettext.NullTranslations(),
                                     newstyle=False)
    if lang:
        env.globals["lang"] = lang  # for macros in imported word lists; a view's own `lang` comes first
    env.filters.update(_filters(root))
    return env


def code_words(lang: str, root: Path | None = None) -> dict[str, str]:
    """The words of the codes stored in records in `lang`, as the printed forms give them
    (`templates/_choices.j2`: `choice`, the agency's own templates and catalog first): what a
    worker may type for a choice besides its code (service/wording.py)."""
    return _word_list(lang, root, "_choices.j2", "choice", lambda codes: {str(code): str(words) for code, words in codes.items()})


def field_words(lang: str, root: Path | None = None) -> dict[str, dict[str, str]]:
    """The words of the codes whose words depend on the field that holds them, by the field's name,
    in `lang` (`templates/_values.j2`: `by_field`, the agency's own templates and catalog first): a
    conference's kind (`conference_kind`), why a case was nominated (`reason`), as the documents
    print them; what a worker may type for such an option besides its code (service/wording.py
    `option_code`)."""
    return _word_list(lang, root, "_values.j2", "by_field", lambda lists: {
        str(name): {str(code): str(words) for code, words in dict(own).items()} for name, own in dict(lists).items()})


def _word_list(lang: str, root: Path | None, template: str, name: str, read: Callable[[Any], dict]):
    """`read` of the word list `name` the template `template` sets, in `lang` (the agency's own
    templates and catalog first): what `code_words` and `field_words` give; a list that cannot be
    read (an agency's broken template, or a list of another shape) is refused naming the template."""
    try:
        return read(getattr(environment(root, lang).get_template(template).module, name))
    except Exception as exc:  # noqa: BLE001 - a broken word list: named by its template, never any data
        raise TemplateFailed(f"{_where(exc, template)} failed ({type(exc).__name__})", template) from None


# -- catalogs ------------------------------------------------------------------------------------------
class Translations(gettext.GNUTranslations):
    """A compiled catalog; `translated` holds the (context, message) pairs it, or a catalog
    behind it, translates."""

    translated: frozenset = frozenset()


@lru_cache(maxsize=32)
def _compiled(path: str, mtime_ns: int, size: int) -> tuple[bytes, frozenset]:
    """A catalog file compiled to the gettext binary format (fuzzy and empty translations
    left out), with the messages it translates as (context, message) pairs."""
    from io import BytesIO

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        catalog = read_po(handle, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    done = frozenset((m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog
                     if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, (list, tuple)) else m.string))
    return buffer.getvalue(), done


def translations(lang: str, root: Path | None = None) -> Translations | None:
    """The translations of `lang`: the repository's catalog, with the shipped one behind it
    for what it does not translate. None when there is no catalog (the source language: its
    words as the templates write them). Made once for the same catalog files (each read
    again when it changes): every document and word list of a command uses the same."""
    files = []
    for path in reversed(catalog_files(lang, root)):  # the shipped catalog first, then the agency's over it
        stat = path.stat()
        files.append((str(path), stat.st_mtime_ns, stat.st_size))
    return _chain(tuple(files))


@lru_cache(maxsize=32)
def _chain(files: tuple[tuple[str, int, int], ...]) -> Translations | None:
    """The catalogs `files` (path, time, size), each over the one before it (`translations`)."""
    from io import BytesIO

    chain = None
    for path, mtime_ns, size in files:
        mo, done = _compiled(path, mtime_ns, size)
        layer = Translations(BytesIO(mo))
        if chain is not None:
            layer.add_fallback(chain)
            done = done | chain.translated
        layer.translated = done
        chain = layer
    return chain


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
        raise NotFound("no such format", f"Formats: {', '.join(FORMATS)}.")
    name = f"{document}.{FORMATS[fmt]}"
    if lang not in languages(root) and not any((folder / template_name(document, lang, fmt)).is_file()
                                               for folder in search_path(root)):
        raise NotFound(f"no template {document} in that language",
                       f"Languages: {', '.join(sorted(languages(root)))}. A new language is a catalog: see docs/translating.md.")
    env = environment(root, lang, fmt)
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
def N_(message: str) -> str:
    """Marks a message for the catalogs; it is translated where it is used."""
    return message


MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
          N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),  # Monday first,
            N_("Saturday"), N_("Sunday"))                                                # as date.weekday() counts
# Translators: a date in words, e.g. "1 December 2026". Keep the names in %(...)s as they are.
DATE = N_("%(day)s %(month)s %(year)s")
# Translators: a date in words with the day of the week, e.g. "Tuesday 1 December 2026".
DATE_WITH_WEEKDAY = N_("%(weekday)s %(day)s %(month)s %(year)s")


def date_words(value: Any, lang: str = "en", weekday: bool = False, root: Path | None = None) -> str:
    """'1 December 2026' / '1 Desemba 2026'; with `weekday`, 'Tuesday 1 December 2026' /
    'Jumanne, tarehe 1 Desemba 2026'. The names and the order come from the language's
    catalog; a language whose catalog does not translate the month names gets the ISO date."""
    day = as_date(value)
    words = translations(lang, root)
    if words is None and lang != SOURCE_LANGUAGE:
        return day.isoformat()
    if words is not None and (None, MONTHS[day.month - 1]) not in words.translated:
        return day.isoformat()
    say = words.gettext if words is not None else (lambda message: message)
    parts = {"day": day.day, "month": say(MONTHS[day.month - 1]), "year": day.year}
    if weekday:
        return say(DATE_WITH_WEEKDAY) % dict(parts, weekday=say(WEEKDAYS[day.weekday()]))
    return say(DATE) % parts


# a `<` that can open raw HTML in Markdown (CommonMark: a tag `<b`, `</b`, a comment `<!--`, a declaration `<!X`,
# an instruction `<?`, an HTML block `<div`) is escaped: every `<` but one before a digit, a space or `=`, which
# opens nothing (`<5`, the statistics' small-cell mark; `age < 5`, `<= 3`), nor, every `>` escaped, an autolink.
# A `<` that ends a value is escaped too: the next value could begin with a tag's name.
_OPENS_HTML = re.compile(r"<(?![0-9 =])")


def md_escape(value: Any) -> str:
    """Text safe in Markdown: no raw HTML (a `<` that could open it becomes `&lt;`, every `>`
    `&gt;`); a `<` that opens nothing, as in `<5`, is left as written, to read in a terminal.
    Idempotent."""
    return _OPENS_HTML.sub("&lt;", str(value)).replace(">", "&gt;")


def _finalize_in(context, value: Any) -> Any:
    """Every value a template writes: escaped for Markdown in `.md` templates; untouched in
    others (HTML is autoescaped; CSV and JSON report templates write data)."""
    name = getattr(context, "name", None) or ""
    if isinstance(value, str) and name.endswith(".md") and not hasattr(value, "__html__"):
        return md_escape(value)
    return value


def _make_finalize():
    from jinja2 import pass_context

    return pass_context(_finalize_in)


def md_cell(value: Any) -> str:
    """Text for one cell of a Markdown table: no pipes or line breaks to break the table."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", " ")


def sentence(value: Any) -> str:
    """Text ending as a sentence: a full stop added when it has no closing punctuation."""
    text = str(value).rstrip()
    return text if not text or text[-1] in ".!?:;\"')" else text + "."


def before_stop(value: Any) -> str:
    """A name the sentence puts a full stop after: its own final full stop left out, so that
    "by Wanjiku M." does not print as "by Wanjiku M.."."""
    text = str(value).rstrip()
    return text[:-1] if text.endswith(".") and not text.endswith("..") else text


def aside(words: Any, other: Any) -> str:
    """`words (other)`: a thing's words with its code, or another word for it, in brackets (an
    agency's name and code, a closed case's stage and status); the words alone where the other
    reads the same ("closed", not "closed (closed)") or there is none, the other alone where there
    are no words. The one rule for a document's "words (code)"."""
    said, more = str(words or "").strip(), str(other or "").strip()
    if not said or not more or said.casefold() == more.casefold():
        return said or more
    return f"{said} ({more})"


def _filters(root: Path | None = None) -> dict:
    from jinja2 import pass_context

    def in_language(context, value: Any, weekday: bool = False) -> str:
        return date_words(value, str(context.get("lang") or SOURCE_LANGUAGE), weekday, root)

    return {
        "date_words": pass_context(in_language),  # {{ plan.review_date | date_words }} in the document's language
        "date_en": lambda value, weekday=False: date_words(value, "en", weekday, root),  # kept for agencies' templates
        "date_sw": lambda value, weekday=False: date_words(value, "sw", weekday, root),
        "md_cell": md_cell,
        "md_escape": md_escape,
        "sentence": sentence,
        "before_stop": before_stop,
        "aside": aside,
    }
