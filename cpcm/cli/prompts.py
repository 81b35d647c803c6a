"""Guided prompts on a terminal, walking a form definition: the same definition that
validates, so a prompt refuses exactly what the form refuses."""
from __future__ import annotations

import re
from typing import Any, Callable

import typer

from cpcm.domain import text
from cpcm.domain.forms import (ENGLISH, Field, Form, N_, Wording, answer_code, base_type, choice_list, coerce, group_fields,
                               group_heading, is_empty, not_asked, required_by_rule)
from cpcm.domain.records import flatten, get_path, set_path

# The prompts' own words, in the repository's language where its catalog has them (`Wording.say`).
INTRO = N_("%(title)s: answer each question; press Enter to skip an optional one.")
OPTIONAL = N_("(optional)")
STILL_REQUIRED = N_("this one is required")
SEVERAL_CHOICES = N_("(several: separate with commas)")
SEVERAL_TEXTS = N_("(several: separate with ';')")
# Translators: a question about a list of entries (the plan's goals, say) whose first entry is not given yet.
ADD_FIRST = N_("%(label)s: add an entry?")
ADD_ANOTHER = N_("%(label)s: add another entry?")
# Translators: the heading of one entry of a list (its number) before its questions.
ENTRY = N_("%(label)s, entry %(number)s:")
# The reintegration readiness benchmarks asked domain by domain (`cpcm readiness`).
DOMAINS_INTRO = N_("%(title)s: answer each item yes, no or na (not applicable); a domain is answered whole or left out.")
# Translators: offered before a domain of the readiness benchmarks none of whose items is answered yet.
REVIEW_DOMAIN = N_("%(domain)s: review this domain now (%(items)s items, passes at %(mark)s)?")
DOMAIN_WHOLE = N_("this one is required: the domain is answered whole")
# Translators: a domain's score after its items are answered; %(result)s is DOMAIN_PASSED or DOMAIN_BELOW.
DOMAIN_SCORE = N_("%(domain)s: %(score)s of %(maximum)s, passes at %(mark)s: %(result)s")
DOMAIN_PASSED = N_("pass")
DOMAIN_BELOW = N_("below the pass mark")
# Translators: an item answered with a stop answer (the benchmark's own words: what it means, what to do).
DOMAIN_STOP = N_("STOP: %(says)s. What to do: %(action)s")
# Translators: an answer holding bytes that are not UTF-8 (a terminal set to Latin-1 typing an accent); the answer is never repeated.
NOT_UTF8 = N_("the terminal sent characters that are not UTF-8, so this answer cannot be kept: set the terminal to "
              "UTF-8 (LANG=C.UTF-8, say) or type it without accents")


def fill(form: Form, data: dict[str, Any], today, workers, lang: str | None = None,
         needed: Callable[[str, dict], str | None] | None = None, wording: Wording = ENGLISH) -> dict[str, Any]:
    """Ask for every field not given yet (Enter skips an optional one). An optional field that
    the answers before it make required (a `required_if` rule of the form, or `needed`: the
    command's own rule, such as the reason for a changed risk level) is asked as a required one,
    saying why, rather than refused once every question is answered. `wording`: the language the
    questions, the choices and the refusals are in, and a choice may be answered in (by its words
    or its code); `lang`: the labels' language where no `wording` is given."""
    lang = lang or wording.lang
    given = flatten(data)
    out = dict(data)
    typer.echo(wording.say(INTRO) % {"title": form.title.get(lang) or form.kind}, err=True)

    def why(key: str) -> str | None:
        return required_by_rule(form, key, out) or (needed(key, out) if needed else None)

    _ask_fields(form.fields, given, out, today, workers, lang, why=why, skip=lambda key: not_asked(form, key, out),
                wording=wording, heading=lambda key: group_heading(form, key, out))
    return out


# Translators: after the question on a long text: how much it holds, and that an answer is one line (Enter ends it).
LONG_TEXT = N_("(one line: for several paragraphs give the record in a file, --from-file FILE)")
LONG_TEXT_UP_TO = N_("(up to %(count)s characters, one line: for several paragraphs give the record in a file, --from-file FILE)")


def long_text(field, wording: Wording = ENGLISH) -> str:
    """What a question on a long text field says after its label: how much it holds, and that an
    answer is one line (Enter ends it), so several paragraphs are given in a file; in `wording`'s language."""
    if field.max_length:
        return " " + wording.say(LONG_TEXT_UP_TO) % {"count": field.max_length}
    return " " + wording.say(LONG_TEXT)


# Translators: said after a refusal of the answers, before the questions it names are asked again.
AGAIN = N_("Answer these again; every other answer is kept (Ctrl-C stops, and nothing is written).")
_ENTRY_FIELD = re.compile(r"^(?P<list>[^\[\]]+)\[(?P<number>[0-9]+)\]\.(?P<key>[^\[\]]+)$")


def ask_again(form: Form, data: dict[str, Any], exc, today, workers, lang: str | None = None,
              needed: Callable[[str, dict], str | None] | None = None, wording: Wording = ENGLISH) -> dict[str, Any] | None:
    """The answers `data` with only the fields a refusal (`exc`, an InvalidInput raised once every
    question was answered) names asked again, and those of a rule naming one of them with them
    (the date of birth with the estimated age: "not both"); every other answer kept. A field of a
    list's entry (`cases[2].case`: a case ID the conference does not hold) is asked again for that
    entry alone; a group the form wants at least one of ("dimensions: assess at least one
    wellbeing dimension"), its fields. None where the refusal names anything else (a whole list, an
    option): asking cannot mend it."""
    keys = [key for e in exc.errors for key in group_fields(form, e.field) or [e.field]]
    entries = {key: _entry_field(form, data, key) for key in keys if form.field(key) is None}
    if not keys or any(found is None for found in entries.values()) or any(
            form.field(key) is not None and form.field(key).type == "list" for key in keys):
        return None
    keys = [key for key in keys if key not in entries]
    for rule in form.rules:
        together = list(rule.get("not_both") or rule.get("require_one_of") or ())
        if set(together) & set(keys):
            keys += [k for k in together if k not in keys]
    fields = tuple(f for f in form.fields if f.key in keys)
    lang = lang or wording.lang
    typer.echo(exc.said(wording.say), err=True)
    typer.echo(wording.say(AGAIN), err=True)
    out = without(data, keys)

    def why(key: str) -> str | None:
        return required_by_rule(form, key, out) or (needed(key, out) if needed else None)

    _ask_fields(fields, {}, out, today, workers, lang, why=why, skip=lambda key: not_asked(form, key, out), wording=wording)
    for key, (list_key, index, field) in entries.items():  # the entry copied: `data` keeps the answers refused
        listed = [dict(entry) for entry in out[list_key]]
        listed[index] = without(listed[index], [field.key])
        listing = form.field(list_key)
        typer.echo(wording.say(ENTRY) % {"label": listing.text(listing.label, lang), "number": index + 1}, err=True)
        _ask_fields((field,), {}, listed[index], today, workers, lang, "  ", wording=wording)
        out[list_key] = listed
    return out


def _entry_field(form: Form, data: dict[str, Any], key: str):
    """(the list's key, the entry's index, the entry's field) a refusal's `key` names
    (`cases[2].case`: the case ID of the second case discussed), when it is a field of an entry
    `data` holds of a list at the top of the form, not itself a list; else None."""
    found = _ENTRY_FIELD.match(key)
    listed = form.field(found["list"]) if found else None
    if listed is None or listed.type != "list" or not isinstance(data.get(found["list"]), list):
        return None
    index = int(found["number"]) - 1
    field = next((f for f in listed.item if f.key == found["key"]), None)
    if not 0 <= index < len(data[found["list"]]) or field is None or field.type == "list":
        return None
    return found["list"], index, field


def without(data: dict[str, Any], keys) -> dict[str, Any]:
    """A copy of `data` without the dotted fields `keys` (nor a group they leave empty); `data` is
    left as it is."""
    out = dict(data)
    for key in keys:
        _drop(out, key)
    return out


def _drop(data: dict[str, Any], path: str) -> None:
    """Remove the dotted field `path` from `data` (and a group it leaves empty), copying the groups on the way."""
    head, _, rest = path.partition(".")
    if not rest:
        data.pop(head, None)
    elif isinstance(data.get(head), dict):
        data[head] = dict(data[head])
        _drop(data[head], rest)
        if not data[head]:
            del data[head]


def choices_shown(field, wording: Wording = ENGLISH) -> str:
    """What a question on a choice or yes-or-no field shows after its label: the choices in the
    worker's language, with their codes where the words are not the code ([mama (mother), baba
    (father)]); in English the codes, as ever ([female, male]; [yes/no])."""
    if field.type == "boolean":
        return " [yes/no]" if wording.lang in ("", "en") else f" [{choice_list(field, wording).replace(', ', '/')}]"
    if field.type in ("choice", "choices"):
        return f" [{choice_list(field, wording)}]" + (f" {wording.say(SEVERAL_CHOICES)}" if field.type == "choices" else "")
    return ""


_YES_OR_NO = Field("answer", "boolean", True, (), {}, {})  # a question of the questions themselves, read as a yes-or-no field


def confirmed(question: str, default: bool, wording: Wording = ENGLISH) -> bool:
    """A yes-or-no question of the questions themselves (a list's "add another entry?"), read as a
    yes-or-no field's answer is (`answer_code`: yes, y, no or n, any capitals, and the words of
    `wording`'s language: ndiyo or hapana in Kiswahili); Enter takes `default`. Any other answer is
    refused, saying so in `wording`'s language ("is not yes or no"), and asked again. It shows
    [y/N] in English, the words elsewhere ([ndiyo/HAPANA]): the default in capitals."""
    if wording.lang in ("", "en"):
        yes, no = "y", "n"
    else:
        words = wording.choices(_YES_OR_NO)
        yes, no = words.get("yes", "yes"), words.get("no", "no")
    shown = f"{yes.upper()}/{no}" if default else f"{yes}/{no.upper()}"
    while True:
        answer = typed(f"{question} [{shown}]", wording)
        if not answer.strip():
            return default
        value, reason = answer_code(_YES_OR_NO, answer, wording)
        if reason is None:
            return value
        typer.echo(f"  {reason}", err=True)


def typed(question: str, wording: Wording = ENGLISH) -> str:
    """The answer typed to `question` ("" for Enter), asked again at once, saying why (`NOT_UTF8`,
    in `wording`'s language, never the answer), while it is not valid UTF-8: a terminal sending
    another encoding (Latin-1 under LANG=C), whose bytes Python gives as lone surrogates (or, in a
    UTF-8 locale, as a UnicodeDecodeError), which no record can hold. Checked as typed, like any
    answer, rather than refusing the whole record once every question is answered."""
    while True:
        try:
            answer = typer.prompt(question, default="", show_default=False, err=True)
        except UnicodeDecodeError:  # at a terminal the line is read whole before it is decoded: it is asked again
            answer = None
        if answer is not None and text.invalid_offset(answer) is None:
            return answer
        typer.echo(f"  {wording.say(NOT_UTF8)}", err=True)


def _ask_fields(fields, given, out, today, workers, lang, indent="", why=lambda key: None, skip=lambda key: False,
                wording: Wording = ENGLISH, heading=lambda key: None):
    for field in fields:
        if not is_empty(given.get(field.key)):
            continue
        if not field.required and not indent and skip(field.key):
            continue  # wanted only when an earlier answer says so ('other' concerns), and it did not
        if _said_otherwise(fields, field.key, out, lang):
            continue  # one text or one per language: the form takes one or the other
        said = None if indent else heading(field.key)
        if said:  # the first of a group the form wants at least one of: its questions are optional one by one only
            typer.echo(said[:1].upper() + said[1:] + ":", err=True)
        label = field.text(field.label, lang)
        if field.type == "list":
            entries = []
            while True:
                wanted = len(entries) < field.min_items or confirmed(
                    indent + wording.say(ADD_ANOTHER if entries else ADD_FIRST) % {"label": label},
                    not entries and field.required, wording)
                if not wanted:
                    break
                typer.echo(indent + wording.say(ENTRY) % {"label": label, "number": len(entries) + 1}, err=True)
                entry: dict[str, Any] = {}
                _ask_fields(field.item, {}, entry, today, workers, lang, indent + "  ", wording=wording)
                entries.append(entry)
            if entries:
                set_path(out, field.key, entries)
            continue
        extra = choices_shown(field, wording)
        if field.type == "date":
            extra = " [YYYY-MM-DD]"
        elif base_type(field) == "text_list":
            extra = f" {wording.say(SEVERAL_TEXTS)}"
        elif field.type == "longtext":  # said before a long text is typed, not only when it is refused
            extra = long_text(field, wording)
        because = None if field.required or indent else why(field.key)
        required = field.required or because is not None
        while True:
            answer = typed(f"{indent}{label}{extra}{'' if required else ' ' + wording.say(OPTIONAL)}", wording)
            if not answer.strip():
                if required:
                    typer.echo(f"  {because}" if because else f"  {wording.say(STILL_REQUIRED)}", err=True)
                    continue
                break
            value, reason = coerce(field, answer, today, workers, wording)
            if reason:
                typer.echo(f"  {reason}", err=True)
                continue
            _beside_one_text(fields, field.key, out, lang)
            set_path(out, field.key, value)
            break


def _said_otherwise(fields, key: str, out: dict[str, Any], lang: str) -> bool:
    """Whether the question on `key` is answered already by a text given one per language or as
    one text (`child_words`, then `child_words.en`, `child_words.sw`: the form takes one text or one
    per language, a key cannot be both): the one text once a language's text is given; a language's
    text once the one text is given, and it is in that language (a plain text is in the
    repository's language, `lang`: docs/commands/assess-plan.md)."""
    if any(other.key.startswith(key + ".") for other in fields):
        return isinstance(get_path(out, key), dict)
    one, _, language = key.rpartition(".")
    if language != lang or not any(other.key == one for other in fields):
        return False
    held = get_path(out, one)  # the one text, or (once another language's text was put beside it) {lang: it, ...}
    return not is_empty(held.get(lang) if isinstance(held, dict) else held)


def _beside_one_text(fields, key: str, out: dict[str, Any], lang: str) -> None:
    """Before a language's text (`child_words.sw`) is put where one text was given (`child_words`):
    that text made the repository's language's (`{en: ...}`), so both are kept, as the form reads
    them, rather than one put inside the other (was: a TypeError, every answer lost)."""
    one = key.rpartition(".")[0]
    held = get_path(out, one) if one and any(other.key == one for other in fields) else None
    if held is not None and not isinstance(held, dict):
        set_path(out, one, {} if is_empty(held) else {lang: held})
