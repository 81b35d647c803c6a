"""Form definitions as data: one definition drives validation, prompts, blank skeletons and
the labels of rendered documents.

A definition is a mapping loaded from ``cpcm/forms/<kind>.yaml`` (or an agency's own under
``.cpcm/forms/``)::

    kind: registration
    schema: 1
    title: {en: Registration, sw: Usajili}
    lists: {risk: [immediate, high, medium, low]}
    fields:
      - key: child.sex            # dotted path in the record body
        type: choice              # text, longtext, date, integer, choice, choices, boolean,
        list: sex                 #   text_list, worker, list; codes: id, duration, codes
        required: true
        label: {en: Sex, sw: Jinsia}
        help: {en: ...}
    rules:
      - require_one_of: [child.date_of_birth, child.age_estimate]

Pure: takes `today` where dates are checked.
"""
from __future__ import annotations

import difflib
import re
import math
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping, Sequence

from cpcm.domain.records import flatten, get_path, set_path
from cpcm.errors import N_, FieldError, in_english

TYPES = {"text", "longtext", "date", "integer", "choice", "choices", "boolean", "text_list", "worker", "list",
         "id", "duration", "codes"}
# the types whose answer is words a worker typed, which may name someone: what the child's file lists for the
# worker to read before it is given (service/documents.py); a choice, a date, a number, a worker, an ID, a
# duration or a list of codes is not
FREE_TEXT = ("text", "longtext", "text_list")
# the types whose answer is a code, read as the type it is written as (a text, a list of texts), then checked
# as codes: `id` (a service id, an agency code, a record ID), `duration` (1d, 2w, 1mo; none), `codes` (a
# checklist's items): letters, digits and '.', '_', ':', '+' or '-', without spaces
CODE_TYPES = {"id": "text", "duration": "text", "codes": "text_list"}
_CODE_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+\-]*")
CODE_SAID = "letters, digits, '.', '_', ':', '+' or '-', without spaces"  # what _CODE_VALUE takes
_NOT_CODE = {"id": f"is not an ID: {CODE_SAID}",
             "duration": "is not a duration: numbers and units, such as 1d, 2w, 1mo or 1mo 2w (or none)",
             "codes": f"holds an item that is not a code: {CODE_SAID}"}


def is_code(value: Any) -> bool:
    """Whether `value` is a code as a `codes` answer holds one (CODE_SAID): what a list the policy
    gives to such a field may hold (a closure reason's checklist: the closure form's `checklist`)."""
    return isinstance(value, str) and bool(_CODE_VALUE.fullmatch(value))
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}


# What a worker typing a record is told, in the repository's language where its catalog has the words
# (cpcm/render/locale/<lang>/LC_MESSAGES/cpcm.po); the words in %(...)s are the form's, never the answer typed.
REQUIRED = N_("is required (%(question)s)")
NOT_ONE_OF = N_("is not one of: %(choices)s")
# Translators: after "is not one of: ...": the choice nearest the answer typed.
DID_YOU_MEAN = N_("did you mean '%(choice)s'?")
NOT_YES_OR_NO = N_("is not yes or no")
# Translators: an answer that is the words of two choices or more; each is named by its words and its code.
AMBIGUOUS = N_("is the words of more than one choice (%(choices)s): give the one meant by its code")
# Translators: a choice named by its words, then its code: "mama (mother)".
CHOICE_NAMED = N_("%(words)s (%(code)s)")
# Translators: a date typed in another shape than the one asked for; YYYY-MM-DD is the shape, kept as it is.
NOT_A_DATE = N_("is not a date (use YYYY-MM-DD)")
NOT_A_DATE_OR_TIME = N_("is not a date (use YYYY-MM-DD) or YYYY-MM-DDTHH:MM")
# Translators: 2027-02-30 or a 13th month; %(shape)s is YYYY-MM-DD (or an imported register's own date format).
NOT_A_CALENDAR_DATE = N_("is not a date of the calendar: it is in the shape %(shape)s, but that month has no such day (or there "
                         "is no such month): check the day and the month")
# Translators: a text longer than its field holds: its length and the field's, never the text.
TOO_LONG = N_("is %(length)s characters, longer than the %(limit)s this field holds")
# Translators: a list of choices, some of whose values are none of them, by their place in the list
# ("values 1 and 3 of 4"); %(choices)s lists the choices.
VALUE_NOT_ONE_OF = N_("value %(number)s of %(count)s is not one of: %(choices)s")
VALUES_NOT_ONE_OF = N_("values %(numbers)s and %(last)s of %(count)s are not one of: %(choices)s")
# Translators: as above, for a field whose choices are the policy's list (%(list)s: eligibility, kept as it is).
VALUE_NOT_CRITERION = N_("value %(number)s of %(count)s is not one of the policy's %(list)s criteria "
                         "(rules.%(list)s.criteria; cpcm policy show): %(choices)s")
VALUES_NOT_CRITERION = N_("values %(numbers)s and %(last)s of %(count)s are not one of the policy's %(list)s criteria "
                          "(rules.%(list)s.criteria; cpcm policy show): %(choices)s")
NOT_CRITERION = N_("is not one of the policy's %(list)s criteria (rules.%(list)s.criteria; cpcm policy show): %(choices)s")
# Translators: after "values 1 and 3 of 4 are not one of: ...": the choices nearest them ("'mama (mother)' for value 3").
DID_YOU_MEAN_ANY = N_("did you mean %(choices)s?")
NEAR_VALUE = N_("'%(choice)s' for value %(number)s")
# Translators: a value of a list that is the words of two choices or more: its place in the list, then why.
VALUE_OF = N_("value %(number)s of %(count)s: %(reason)s")
MUST_BE_TEXT = N_("must be text")
# Translators: a yes or no (true, false) given where words are asked: in a YAML file, words in quotes stay words.
MUST_BE_TEXT_QUOTED = N_("must be text (put it in quotes)")
MUST_BE_TEXTS = N_("must be a list of short texts")
# Translators: a date after today where the field asks for one that has happened; %(today)s is YYYY-MM-DD.
IN_THE_FUTURE = N_("is in the future (today is %(today)s)")
# Translators: a date further back than the field takes (a date of birth: a mistyped year).
YEARS_AGO = N_("is more than %(years)s years ago: check the year")
NOT_WHOLE = N_("is not a whole number")
# Translators: %(low)s and %(high)s are the numbers an answer may be, "from 1 to 4".
NOT_WHOLE_FROM_TO = N_("is not a whole number from %(low)s to %(high)s")
NOT_WHOLE_AT_LEAST = N_("is not a whole number (at least %(low)s)")
NOT_WHOLE_AT_MOST = N_("is not a whole number (at most %(high)s)")
AT_LEAST = N_("must be at least %(low)s")
AT_MOST = N_("must be at most %(high)s")
MUST_BE_CHOICES = N_("must be a list of: %(choices)s")
MUST_BE_WORKER = N_("must be a worker id")
# Translators: %(workers)s lists the team's worker ids, kept as they are.
NOT_IN_TEAM = N_("is not a member of the team (%(workers)s)")


@dataclass(frozen=True)
class Field:
    key: str
    type: str
    required: bool
    choices: tuple[str, ...]
    label: Mapping[str, str]
    help: Mapping[str, str]
    minimum: int | None = None
    maximum: int | None = None
    not_future: bool = False
    max_years_ago: int | None = None     # for type date: not further back than this many years (a slip of the year)
    max_length: int | None = None
    item: tuple["Field", ...] = ()       # for type list: the fields of each item
    min_items: int = 0
    # what a supervisor's decision on the record (an approval or a rejection of a plan version or a
    # closure request) stands on: a correction that changes it is refused unless its worker may decide
    # the record (cpcm correct; workflow/approvals.py `may_correct`)
    decided: bool = False
    # for type choice or choices: the policy list whose ids are the choices (`eligibility`: the policy's
    # eligibility criteria; `closure_reasons`: its closure reasons), filled in from the policy in force by
    # `with_policy_lists`; the form holds no list of its own
    policy_list: str | None = None

    def text(self, what: Mapping[str, str], lang: str) -> str:
        return what.get(lang) or what.get("en") or ""


@dataclass(frozen=True)
class Form:
    kind: str
    schema: int
    title: Mapping[str, str]
    fields: tuple[Field, ...]
    rules: tuple[Mapping[str, Any], ...]
    lists: Mapping[str, tuple[str, ...]]
    name: str = ""  # the form's own name (`cpcm form blank NAME`): several forms make records of one kind

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def decided(self) -> tuple[str, ...]:
        """The keys of the fields marked `decided: true`: what a supervisor's approval or
        rejection of a record of this form stands on."""
        return tuple(f.key for f in self.fields if f.decided)


def _no_words(field: Field) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class Wording:
    """The language a worker answers a form in: `lang`; `choices(field)`: the words of each of the
    field's choices in it ({code: words}, as `cpcm form print` prints them; a yes-or-no field's as
    {"yes": ..., "no": ...}); `say(message)`: one of the messages above in it (its catalog's words,
    else the English). Made by the service from the repository's language (service/wording.py);
    the default is English, with codes only."""

    lang: str = "en"
    choices: Callable[[Field], Mapping[str, str]] = _no_words
    say: Callable[[str], str] = in_english


ENGLISH = Wording()


FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}(?:\.[a-z0-9_]{1,40}){0,4}")  # a key that may be shown in a message

def parse_form(data: Mapping[str, Any], source: str = "form") -> Form:
    """A Form from its definition; ValueError naming the bad key otherwise.

    Besides plain fields, `fields` may hold `- repeat: {prefix, over, fields}`: the same
    fields for every entry of a list (the eight wellbeing dimensions, say), so an agency adds
    a dimension by adding a name to the list."""
    lists = {name: tuple(str(v) for v in values) for name, values in (data.get("lists") or {}).items()}
    labels = data.get("labels") or {}
    # counted from 1 as the file has them (a repeat is one entry, whatever it makes)
    fields = tuple(field for number, raw in enumerate(data.get("fields") or [], start=1)
                   for field in _read_field(raw, lists, labels, f"{source}: fields[{number}]"))
    return Form(
        kind=str(data.get("kind")), schema=int(data.get("schema", 1)), title=data.get("title") or {},
        fields=fields, rules=tuple(data.get("rules") or ()), lists=lists,
        name=str(data.get("form") or (source[:-len(".yaml")] if source.endswith(".yaml") else data.get("kind") or "")),
    )


# the keys a form definition is read by (docs/case-format.md): anything else is a typo, read by nothing
DEFINITION_KEYS = ("form", "kind", "schema", "title", "source", "extends", "insert_after", "fields", "lists", "labels",
                   "choice_labels", "rules", "codes", "paper", "scoring", "ratings")
FIELD_KEYS = ("key", "type", "label", "help", "required", "list", "choices", "min", "max", "not_future", "max_years_ago", "max_length",
              "item", "min_items", "decided", "policy_list")
# the policy lists a choice or choices field may take its choices from (`policy_list:`), filled in by
# `with_policy_lists`: the eligibility criteria (registration), the closure reasons (closure)
POLICY_LISTS = ("eligibility", "closure_reasons")
REPEAT_KEYS = ("prefix", "over", "fields")


def definition_problems(data: Mapping[str, Any], name: str) -> list[FieldError]:
    """What a form definition typed by a person (`data`, as its file reads, before what it
    `extends:` is laid under it) holds that no reader reads: unknown keys at the top, in a
    field, a list entry's fields or a `repeat:`, and a key two fields of one list have, every
    one at once; `name`: the form it is set as, which a `form:` line must not contradict.
    Fields are counted from 1 as the file has them."""
    problems = _unknown_keys(data, DEFINITION_KEYS, "", "a form definition")
    if "form" in data and data["form"] != name:
        problems.append(FieldError("form", f"names another form than the one it is set as ({name}): "
                                           "make them the same, or give the form's name with --kind"))
    fields = data.get("fields")
    if fields is not None and not isinstance(fields, list):
        problems.append(FieldError("fields", "must be a list of fields (- key: ..., type: ...)"))
    else:
        problems += _field_problems(fields or [], "fields")
    return problems


def _field_problems(fields: list, where: str) -> list[FieldError]:
    problems: list[FieldError] = []
    seen: dict[str, int] = {}  # each key, and the first field that has it
    for number, raw in enumerate(fields, start=1):
        at = f"{where}[{number}]"
        if not isinstance(raw, Mapping):
            problems.append(FieldError(at, "must be a field (key: ..., type: ...)"))
        elif "repeat" in raw:
            repeat = raw["repeat"]
            if not isinstance(repeat, Mapping):
                problems.append(FieldError(f"{at}.repeat", "must hold prefix, over and fields"))
                continue
            problems += _unknown_keys(raw, ("repeat",), f"{at}.", "a repeat") + _unknown_keys(repeat, REPEAT_KEYS, f"{at}.repeat.", "a repeat")
            problems += _field_problems(repeat.get("fields") or [], f"{at}.repeat.fields")
        else:
            problems += _unknown_keys(raw, FIELD_KEYS, f"{at}.", "a field")
            if "key" not in raw or "type" not in raw:
                problems.append(FieldError(at, "needs 'key' and 'type'"))
            elif raw["type"] not in TYPES:
                problems.append(FieldError(f"{at}.type", f"is not one of {', '.join(sorted(TYPES))}"))
            if isinstance(raw.get("item"), list):
                problems += _field_problems(raw["item"], f"{at}.item")
            key = raw.get("key")
            if isinstance(key, (str, int)) and not isinstance(key, bool):
                if str(key) in seen:  # read twice: asked twice, and each refusing what the other takes
                    problems.append(FieldError(f"{at}.key", f"is the key of {where}[{seen[str(key)]}] too: "
                                                            "give each field its own key"))
                seen.setdefault(str(key), number)
    return problems


def _unknown_keys(data: Mapping[str, Any], known: tuple[str, ...], prefix: str, what: str) -> list[FieldError]:
    problems = []
    for key in data:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        named = isinstance(key, str) and FIELD_NAME.fullmatch(key)
        problems.append(FieldError(prefix + (key if named else "…"), f"is not a key of {what}"
                                   + (f"; did you mean '{close[0]}'?" if close else f" ({', '.join(known)})")))
    return problems


def kept_problems(form: Form, shipped: Form) -> list[FieldError]:
    """The fields cpcm's own form `shipped` requires that `form` (an agency's in its place) does
    not keep as they are: missing, optional, of another type, or without one of the choices
    (the commands, the deadlines and the reports read them). A field that takes its choices from
    the policy (`policy_list`: the closure form's reasons) is kept by one that takes them from the
    same list of the policy."""
    problems = []
    for field in shipped.fields:
        if not field.required:
            continue
        theirs = form.field(field.key)
        same_list = theirs is not None and field.policy_list is not None and theirs.policy_list == field.policy_list
        why = ("is missing" if theirs is None else "is optional" if not theirs.required
               else f"is of type {theirs.type}" if theirs.type != field.type
               else "lacks " + ", ".join(c for c in field.choices if c not in theirs.choices)
               if not same_list and not set(field.choices) <= set(theirs.choices)
               else None)
        if why:
            problems.append(FieldError(field.key, f"{why}: cpcm's own {shipped.kind} form requires it, of type {field.type}"
                                       + (f" ({', '.join(field.choices)})" if field.choices else "")
                                       + ", and the commands read it; keep it so (add fields, labels and choices freely)"))
    return problems


def unreadable_fields(data: Mapping[str, Any], lists: Mapping[str, Any], labels: Mapping[str, Any]) -> list[FieldError]:
    """Every field of the definition `data` (as its file holds it, before what it `extends:` is
    laid under it) that `parse_form` could not read, each with its first problem, counted from 1
    as the file has them (`fields[3]`): a form laid over another is read with the other's fields
    before its own, which would count them otherwise. `lists` and `labels`: those of the form as
    it is read (the base's with its own)."""
    lists = {name: tuple(str(v) for v in values or ()) for name, values in lists.items()}
    fields = data.get("fields")
    problems: list[FieldError] = []
    for number, raw in enumerate(fields if isinstance(fields, list) else [], start=1):
        if not isinstance(raw, Mapping):
            continue  # not a field at all: definition_problems says so
        at = f"fields[{number}]"
        try:
            _read_field(raw, lists, labels, at)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            where, _, reason = str(exc).partition(": ")
            if not isinstance(exc, ValueError) or not (where == at or where.startswith(at + ".")):
                where, reason = at, "is not laid out as a field (docs/case-format.md)"
            problems.append(FieldError(where, reason))
    return problems


def _read_field(raw: Mapping[str, Any], lists, labels, where: str) -> list[Field]:
    """The fields one entry of a definition's `fields` makes: itself, or those its `repeat:` makes."""
    if "repeat" in raw:
        return [_parse_field(field, lists, f"{where}.repeat") for field in _expand(raw["repeat"], lists, labels, where)]
    return [_parse_field(raw, lists, where)]


def _expand(repeat: Mapping[str, Any], lists, labels, source: str) -> list[dict]:
    over = repeat.get("over")
    if over not in lists:
        raise ValueError(f"{source}: repeat over '{over}', which is not defined under 'lists'")
    out = []
    for entry in lists[over]:
        entry_label = labels.get(entry) or {"en": entry.replace("_", " ")}
        for raw in repeat.get("fields") or []:
            field = dict(raw)
            field["key"] = f"{repeat['prefix']}.{entry}.{raw['key']}"
            label = raw.get("label") or {"en": raw["key"]}
            field["label"] = {lang: f"{entry_label.get(lang) or entry_label.get('en')}: {text}" for lang, text in label.items()}
            out.append(field)
    return out


def _parse_field(raw: Mapping[str, Any], lists, where: str) -> Field:
    if "key" not in raw or "type" not in raw:
        raise ValueError(f"{where}: every field needs 'key' and 'type'")
    if raw["type"] not in TYPES:
        raise ValueError(f"{where}: type '{raw['type']}' is not one of {', '.join(sorted(TYPES))}")
    choices: Iterable[str] = raw.get("choices") or ()
    if "list" in raw:
        if raw["list"] not in lists:
            raise ValueError(f"{where}: list '{raw['list']}' is not defined under 'lists'")
        choices = lists[raw["list"]]
    policy_list = raw.get("policy_list")
    if policy_list is not None and (raw["type"] not in ("choice", "choices") or policy_list not in POLICY_LISTS
                                    or "list" in raw or "choices" in raw):
        raise ValueError(f"{where}: policy_list is one of {', '.join(POLICY_LISTS)}, on a choice or choices field without "
                         "'list' or 'choices'")
    if raw["type"] in ("choice", "choices") and not choices and policy_list is None:
        raise ValueError(f"{where}: a {raw['type']} field needs 'choices' or 'list'")
    settings = _setting_problems(raw)
    if settings:  # read as they stand, they would refuse every value, or stop a command at the first (a crash)
        raise ValueError(f"{where}: {'; '.join(settings)}")
    years = raw.get("max_years_ago")
    if years is not None and (raw["type"] != "date" or isinstance(years, bool) or not isinstance(years, int) or years < 0):
        raise ValueError(f"{where}: max_years_ago is a whole number of years, on a date field")
    item: tuple[Field, ...] = ()
    if raw["type"] == "list":
        if not raw.get("item"):
            raise ValueError(f"{where}: a list field needs 'item' (the fields of each entry)")
        item = tuple(_parse_field(sub, lists, f"{where}.item[{i}]") for i, sub in enumerate(raw["item"], start=1))
    return Field(
        key=str(raw["key"]), type=str(raw["type"]), required=bool(raw.get("required", False)),
        choices=tuple(str(c) for c in choices), label=raw.get("label") or {"en": raw["key"]},
        help=raw.get("help") or {}, minimum=raw.get("min"), maximum=raw.get("max"),
        not_future=bool(raw.get("not_future", False)), max_years_ago=raw.get("max_years_ago"), max_length=raw.get("max_length"),
        item=item, min_items=int(raw.get("min_items", 0)), decided=_decided(raw.get("decided", False), where),
        policy_list=str(policy_list) if policy_list is not None else None,
    )


def with_policy_lists(form: Form, lists: Mapping[str, Sequence[str]]) -> Form:
    """`form` with the choices of each field that takes them from the policy (`policy_list`) set
    to that list of `lists` (the ids of the policy in force; none where it lists none)."""
    if not any(f.policy_list for f in form.fields):
        return form
    fields = tuple(replace(f, choices=tuple(str(c) for c in lists.get(f.policy_list) or ())) if f.policy_list else f
                   for f in form.fields)
    return replace(form, fields=fields)


def with_kept_choices(form: Form, recorded: Mapping[str, Any]) -> Form:
    """`form` whose fields that take their choices from the policy also take the ids `recorded` (a
    record as it was written, or the registration as it stands) holds: an id the policy in force has
    dropped since stays valid where it was chosen (an update or a correction of other fields passes;
    docs/workflow.md), while a new value is checked against the policy in force."""
    fields, kept = [], False
    for field in form.fields:
        if field.policy_list:
            held = get_path(recorded, field.key)
            extra = tuple(dict.fromkeys(str(v) for v in (held if isinstance(held, list) else [held] if held else ())
                                        if str(v) not in field.choices))
            if extra:
                field, kept = replace(field, choices=field.choices + extra), True
        fields.append(field)
    return replace(form, fields=tuple(fields)) if kept else form


def not_on_form(form: Form, recorded: Mapping[str, Any]) -> list[str]:
    """The fields `recorded` holds (flattened as `validate` reads them) that `form` has no field
    for: one an agency's form held when the record was written and has dropped since (`cpcm form
    set`). Kept as written where a command lays changes over the record, never checked again."""
    list_keys = {f.key for f in form.fields if f.type == "list"}
    known = {f.key for f in form.fields}
    return [key for key in _flatten_until(recorded, list_keys)
            if key not in known and not any(k.startswith(key + ".") for k in known)]


# a field's settings that are true or false, and those that are whole numbers, with the least each
# means something at (None: any; a text of at most 0 characters would take nothing)
_FLAGS = ("required", "not_future")
_WHOLE = {"min": None, "max": None, "max_length": 1, "min_items": 0}


def _setting_problems(raw: Mapping[str, Any]) -> list[str]:
    """What a field's settings (docs/case-format.md) hold that cannot be read as what they are: a
    flag that is not true or false (`required: maybe`, `required: no`, which bool() would read as
    required), a number that is not a whole number (`max_length: "abc"`) or is below the least it
    means something at (`max_length: -5`, which refuses every text), a `min` above the `max`. Each
    named by its setting, never by the value written."""
    problems = [f"{name} is true or false" for name in _FLAGS
                if raw.get(name) is not None and not isinstance(raw[name], bool)]
    whole = {}
    for name, least in _WHOLE.items():
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or (least is not None and value < least):
            problems.append(f"{name} is a whole number" + (f", {least} or more" if least is not None else ""))
        else:
            whole[name] = value
    if "min" in whole and "max" in whole and whole["min"] > whole["max"]:
        problems.append("min is more than max: no number would be taken")
    return problems


def _decided(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: decided is true or false")
    return value


def _scalar(value: Any) -> bool:
    """Whether a value is one a field can take: text, a finite number, a date; never a list, a
    mapping or anything else a YAML file or a caller might hand over (bytes, a set...)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, date))


def base_type(field: Field) -> str:
    """The type a field's answer is written as: a code type's text or list of texts (CODE_TYPES)."""
    return CODE_TYPES.get(field.type, field.type)


def _code(field: Field, value: Any, today: date) -> tuple[Any, str | None]:
    """A code type's answer (CODE_TYPES) as stored, or why it is not acceptable (never echoing it)."""
    stored, reason = coerce(replace(field, type=base_type(field)), value, today)
    items = stored if isinstance(stored, list) else [stored] if stored else []
    spaced = field.type == "duration"  # written as every rule reads one: '1mo 2w', '2 w' (what it means: the rule's own check)
    if reason is None and not all(_CODE_VALUE.fullmatch(item.replace(" ", "") if spaced else item) for item in items):
        return None, _NOT_CODE[field.type]
    return stored, reason


def coerce(field: Field, value: Any, today: date, workers: Iterable[str] = (),
           wording: Wording = ENGLISH) -> tuple[Any, str | None]:
    """The value as stored, or the reason it is not acceptable. Strings from flags, CSV and
    prompts are converted; YAML values are checked as they are. Only plain values are taken:
    a list, a mapping or any other object is refused, never stored as its Python spelling.
    A choice (and a yes or no) may be answered by its code or by its words in `wording`'s
    language (`answer_code`); the reasons are in that language where its catalog has them."""
    if field.type in CODE_TYPES:
        return _code(field, value, today)
    if field.type in ("text", "longtext"):
        if not _scalar(value) or isinstance(value, bool):
            return None, wording.say(MUST_BE_TEXT_QUOTED if isinstance(value, bool) else MUST_BE_TEXT)
        text = value.isoformat() if isinstance(value, date) else str(value)
        text = text.strip()
        if field.max_length and len(text) > field.max_length:
            return None, too_long(len(text), field.max_length, wording.say)
        return text, None
    if field.type == "text_list":
        items = value if isinstance(value, list) else [v for v in str(value).split(";")] if _scalar(value) else None
        if items is None or not all(_scalar(v) and not isinstance(v, bool) for v in items):
            return None, wording.say(MUST_BE_TEXTS)
        items = [(v.isoformat() if isinstance(v, date) else str(v)).strip() for v in items]
        return [v for v in items if v], None
    if field.type == "date":
        if isinstance(value, datetime):
            value = value.date()
        if not _scalar(value) or isinstance(value, bool):
            return None, wording.say(NOT_A_DATE)
        try:
            parsed = value if isinstance(value, date) else date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            return None, not_a_date(str(value), say=wording.say)
        if field.not_future and parsed > today:
            return None, wording.say(IN_THE_FUTURE) % {"today": today.isoformat()}
        if field.max_years_ago is not None and today is not None and (today - parsed).days > field.max_years_ago * 366:
            return None, wording.say(YEARS_AGO) % {"years": field.max_years_ago}
        return parsed.isoformat(), None
    if field.type == "integer":
        if not _scalar(value) or isinstance(value, (bool, date)):
            return None, _not_whole(field, wording.say)
        try:
            number = int(str(value).strip())
        except ValueError:
            return None, _not_whole(field, wording.say)
        if field.minimum is not None and number < field.minimum:
            return None, wording.say(AT_LEAST) % {"low": field.minimum}
        if field.maximum is not None and number > field.maximum:
            return None, wording.say(AT_MOST) % {"high": field.maximum}
        return number, None
    if field.type == "boolean":
        if isinstance(value, bool):
            return value, None
        if not _scalar(value):
            return None, wording.say(NOT_YES_OR_NO)
        return answer_code(field, value, wording)
    if field.type == "choice":
        if not _scalar(value):
            return None, wording.say(NOT_ONE_OF) % {"choices": choice_list(field, wording)}
        return answer_code(field, value, wording)
    if field.type == "choices" and field.policy_list and not field.choices:
        return None, (f"takes nothing here: the policy in force lists no {field.policy_list} criteria (rules.{field.policy_list}); "
                      "leave it empty, or a supervisor lists the agency's criteria in .cpcm/policy.yaml")
    if field.type == "choices":
        items = value if isinstance(value, list) else _choice_items(field, str(value), wording) if _scalar(value) else None
        if items is None or not all(_scalar(v) for v in items):
            return None, wording.say(MUST_BE_CHOICES) % {"choices": ", ".join(field.choices)}
        out, bad = [], []
        for number, item in enumerate((str(v).strip() for v in items), 1):
            if not item:
                continue
            chosen, reason = answer_code(field, item, wording)
            if reason and len(_match(field, item, wording)[1]) > 1:  # words that are two choices': name both
                return None, wording.say(VALUE_OF) % {"number": number, "count": len(items), "reason": reason} \
                    if len(items) > 1 else reason
            if reason:
                bad.append((number, item))
            elif chosen not in out:
                out.append(chosen)
        if bad:
            return None, _not_in_list(field, bad, len(items), wording)
        return out, None
    if field.type == "list":
        return None, _numbered(field, None)[1]
    if field.type == "worker":
        if not isinstance(value, str):
            return None, wording.say(MUST_BE_WORKER)
        worker = value.strip()
        known = set(workers)  # a correction's: the team and the worker the record named, who may be in it too
        if known and worker not in known:
            return None, wording.say(NOT_IN_TEAM) % {"workers": ", ".join(sorted(known))}
        return worker, None
    return None, f"unknown field type {field.type}"


# a date in the shape asked for, exactly (YYYY-MM-DD), and a date-time's separator after it
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


# A text longer than its field holds: its length and the field's, never the text (TOO_LONG_SAID finds it
# in a refusal, to say what to do with the rest: cli/common.py `options_named`)
TOO_LONG_SAID = re.compile(r"is \d+ characters, longer than the \d+ this field holds")


def too_long(length: int, limit: int, say: Callable[[str], str] = in_english) -> str:
    """Why a text of `length` characters is refused by a field holding `limit` (its form's `max_length`),
    in the language of `say` (`Wording.say`)."""
    return say(TOO_LONG) % {"length": length, "limit": limit}


def is_too_long(reason: str, say: Callable[[str], str] = in_english) -> bool:
    """Whether `reason` is `too_long`'s, in English or in the language of `say`."""
    said = re.escape(say(TOO_LONG)).replace(re.escape("%(length)s"), r"\d+").replace(re.escape("%(limit)s"), r"\d+")
    return bool(TOO_LONG_SAID.fullmatch(reason) or re.fullmatch(said, reason))


def date_problem(text: str) -> str:
    """What is wrong with `text` where a date (or a date-time) is asked for: 'calendar' for exactly
    YYYY-MM-DD naming no day of the calendar (2027-02-30, a 13th month), or a date-time whose date is
    such (2021-02-29T10:00: the day is what to fix); 'time' for a right date followed by a time that
    is not a time of day (T25:00, T10:61, an offset cut short); else 'shape'."""
    value = text.strip()
    day = value if _DATE_SHAPE.fullmatch(value) else value[:10] if len(value) > 11 and value[10] in "T " else ""
    if not _DATE_SHAPE.fullmatch(day):
        return "shape"
    try:
        date.fromisoformat(day)
    except ValueError:
        return "calendar"
    return "time" if day != value else "shape"  # a right date alone was not what was refused


def not_a_calendar_date(shape: str = "YYYY-MM-DD", say: Callable[[str], str] = in_english) -> str:
    """Why a text written in the shape a date is asked in (`shape`: YYYY-MM-DD, or a register's
    date_format as an import names it) is refused when it names no day of the calendar (2027-02-30,
    a 13th month): the one wording of it, for a form's field, an option and an imported cell; in the
    language of `say` (`Wording.say`)."""
    return say(NOT_A_CALENDAR_DATE) % {"shape": shape}


def not_a_date(text: str, allow_time: bool = False, say: Callable[[str], str] = in_english) -> str:
    """Why `text` is refused where a date is asked for (or a date-time too, `allow_time`): exactly
    YYYY-MM-DD and no day of the calendar; a right date with a time that is not a time of day; or not
    in the shape asked for. The value itself is never repeated (it may be a child's date of birth).
    In the language of `say` (`Wording.say`) where its catalog has the words."""
    kind = date_problem(text)
    if kind == "calendar":
        return not_a_calendar_date(say=say)
    if kind == "time":
        return ("is not a date-time: the date is right, but the time after it is not a time of day (use HH:MM from 00:00 to "
                "23:59, e.g. 2026-03-01T14:30, with an offset written in full if any, e.g. +03:00)")
    return say(NOT_A_DATE_OR_TIME if allow_time else NOT_A_DATE)


def _not_whole(field: Field, say: Callable[[str], str]) -> str:
    """Why an integer field refuses a value, with the whole numbers it takes: 'is not a whole number from 1 to 4'."""
    low, high = field.minimum, field.maximum
    message = NOT_WHOLE if low is None and high is None else NOT_WHOLE_AT_MOST if low is None else \
        NOT_WHOLE_AT_LEAST if high is None else NOT_WHOLE_FROM_TO
    return say(message) % {"low": low, "high": high}


def _plain(text: Any) -> str:
    """Words as compared with a choice's words: in lower case, spaces at either end left out and
    every run of spaces inside made one."""
    return " ".join(str(text).split()).casefold()


def _match(field: Field, value: Any, wording: Wording) -> tuple[str | None, list[str]]:
    """(the code `value` is, or None; the codes whose words in `wording`'s language it is, when it is
    no code). A code wins over words: what a script gives stays what it means in every language."""
    if field.type == "boolean":
        word = str(value).strip().lower()
        code = "yes" if word in _TRUE else "no" if word in _FALSE else None
    else:
        if isinstance(value, bool) and {"yes", "no"} <= set(field.choices):  # `true`/`false` where the answer is yes or no
            value = "yes" if value else "no"
        word = str(value).strip().lower().replace(" ", "_").replace("-", "_")
        code = word if word in field.choices else None
        if code is None and {"yes", "no"} <= set(field.choices):  # a choice of yes or no reads `y` as a yes-or-no field does
            code = "yes" if word in _TRUE else "no" if word in _FALSE else None
    if code is not None:
        return code, []
    typed = _plain(value)
    if not typed:
        return None, []
    return None, [code for code, words in wording.choices(field).items() if _plain(words) == typed]


def answer_code(field: Field, value: Any, wording: Wording = ENGLISH) -> tuple[Any, str | None]:
    """The one rule for an answer to a choice field (choice, one item of choices, or yes-or-no):
    (the value stored, None) or (None, the reason it is refused). The answer is the choice's code
    (any case; spaces or '-' for '_') or its words in `wording`'s language, exactly as the printed
    form gives them (case and spaces aside: "wa kiume" for male in Kiswahili); the record always
    holds the code (True or False for a yes-or-no field). Words that are two choices' are refused,
    naming both. The reason never repeats the answer (it might be anything)."""
    code, matches = _match(field, value, wording)
    if code is None and len(matches) == 1:
        code = matches[0]
    if code is not None:
        return (code == "yes") if field.type == "boolean" else code, None
    if len(matches) > 1:
        return None, wording.say(AMBIGUOUS) % {"choices": ", ".join(named_choice(field, c, wording) for c in matches)}
    if field.type == "boolean":
        return None, wording.say(NOT_YES_OR_NO)
    return None, wording.say(NOT_ONE_OF) % {"choices": choice_list(field, wording)} + _near(field, value, wording)


def _choice_items(field: Field, text: str, wording: Wording) -> list[str]:
    """The answers a text given for a choices field holds, separated by ',' or ';'; where pieces
    side by side are together one choice's words (words with a comma: an eligibility criterion's),
    they are one answer. Codes hold no separator: a text of codes is split at every one."""
    pieces = re.split(r"([,;])", text)  # piece, separator, piece, ...
    parts = pieces[0::2]
    if len(parts) == 1 or all(_match(field, part, wording)[0] is not None for part in parts):
        return parts
    items, start = [], 0
    while start < len(parts):
        end = next((end for end in range(len(parts), start + 1, -1)
                    if len(_match(field, "".join(pieces[2 * start:2 * end - 1]), wording)[1]) == 1), start + 1)
        items.append("".join(pieces[2 * start:2 * end - 1]))
        start = end
    return items


def _words_shown(wording: Wording) -> bool:
    """Whether the choices are shown in words beside their codes: in a language other than English,
    whose words for most codes are the codes themselves (messages and prompts in English are as
    they were)."""
    return wording.lang not in ("", "en")


SHOWN_WORDS = 40  # words longer than this (an eligibility criterion's sentence) are not listed: the code is


def shown_words(field: Field, code: str, wording: Wording = ENGLISH) -> str | None:
    """The words a worker is shown beside a choice's code (`named_choice`), or None where the code
    is shown alone: in English, where its words in `wording`'s language are the code's own, and
    for words of more than `SHOWN_WORDS` characters (a list of sentences does not read as a list
    of choices; they are still taken as an answer)."""
    words = wording.choices(field).get(code) if _words_shown(wording) else None
    if not words or _plain(words) == _plain(code.replace("_", " ")) or len(words) > SHOWN_WORDS:
        return None
    return words


def named_choice(field: Field, code: str, wording: Wording = ENGLISH) -> str:
    """A choice as a worker is shown it: its words and its code ("mama (mother)") where it has
    words to show (`shown_words`), else the code."""
    words = shown_words(field, code, wording)
    return wording.say(CHOICE_NAMED) % {"words": words, "code": code} if words else code


def choice_list(field: Field, wording: Wording = ENGLISH) -> str:
    """The choices of a field, as a refusal and a prompt list them (`named_choice`), comma-separated."""
    choices = ("yes", "no") if field.type == "boolean" else field.choices
    return ", ".join(named_choice(field, code, wording) for code in choices)


def _nearest(field: Field, value: Any, wording: Wording) -> str | None:
    """The choice nearest the answer (by code, or by words where they are shown), or None."""
    candidates = {code: code for code in field.choices}
    typed = str(value).strip().lower().replace(" ", "_").replace("-", "_")
    if _words_shown(wording):
        candidates.update({_plain(words): code for code, words in wording.choices(field).items() if code in field.choices})
        typed = _plain(value)
    close = difflib.get_close_matches(typed, list(candidates), n=1)
    return candidates[close[0]] if close else None


def _near(field: Field, value: Any, wording: Wording) -> str:
    """'; did you mean ...?' naming the choice nearest the answer, or nothing."""
    code = _nearest(field, value, wording)
    return "; " + wording.say(DID_YOU_MEAN) % {"choice": named_choice(field, code, wording)} if code else ""


def _not_in_list(field: Field, bad: Sequence[tuple[int, str]], count: int, wording: Wording = ENGLISH) -> str:
    """Why a list of choices is refused: which of the values given are no choice, by their place in
    the list ('value 2 of 3', 'values 1 and 2 of 2'), never repeated (a value may be anything),
    with the choices (the policy's list, for a field that takes one) and the nearest choice to each.
    The one value given (of a field without a policy's list) is refused as a single answer is
    (`answer_code`, in `wording`'s language)."""
    if count == 1 and not field.policy_list:
        return answer_code(field, bad[0][1], wording)[1] or ""
    numbers = [str(number) for number, _ in bad]
    choices = choice_list(field, wording)
    named = {"number": numbers[0], "numbers": ", ".join(numbers[:-1]), "last": numbers[-1], "count": count,
             "list": field.policy_list, "choices": choices}
    if count == 1:  # the one value given (of the policy's list): no place to say
        message = NOT_CRITERION
    elif field.policy_list:
        message = VALUE_NOT_CRITERION if len(bad) == 1 else VALUES_NOT_CRITERION
    else:
        message = VALUE_NOT_ONE_OF if len(bad) == 1 else VALUES_NOT_ONE_OF
    near = []
    for number, item in bad:
        code = _nearest(field, item, wording)
        if code:
            near.append(wording.say(NEAR_VALUE) % {"choice": named_choice(field, code, wording), "number": number}
                        if len(bad) > 1 else f"'{named_choice(field, code, wording)}'")
    return wording.say(message) % named + ("; " + wording.say(DID_YOU_MEAN_ANY) % {"choices": ", ".join(near)} if near else "")


def not_one_of(word: str, choices: Sequence[str], also: str = "") -> str:
    """Why `word` is refused where one of `choices` is taken: the choices (and `also`, another
    word taken, e.g. 'all'), with the nearest choice as a did-you-mean; never the word itself."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"is not one of: {', '.join(choices)}{f' (or {also})' if also else ''}{hint}"


def confirmed(given: Iterable[str], items: Sequence[str], field: str) -> tuple[list[str], list[FieldError]]:
    """What a repeatable option that takes 'all' for every item confirms (--check, --explained):
    every item of `items` for 'all', else the items given, once each in the order given; and a
    FieldError naming `field` for each value given that is neither an item nor 'all'. A value
    given beside 'all' is checked too: a misspelt item is refused, never passed over."""
    given = [str(g) for g in given]
    errors = [FieldError(field, not_one_of(g, items, "all")) for g in dict.fromkeys(given) if g not in items and g != "all"]
    return (list(items) if "all" in given else list(dict.fromkeys(given))), errors


# the usual words for a field, which no spelling is near: `dob` (and `update --dob`) is the date of birth
USUAL_WORDS = {"dob": "date_of_birth", "birth_date": "date_of_birth", "birthdate": "date_of_birth",
               "birthday": "date_of_birth", "date_birth": "date_of_birth", "born": "date_of_birth"}


def near_field(key: str, known: Sequence[str], labels: Mapping[str, str] | None = None, slips_only: bool = False) -> str | None:
    """The field a key not on the form was most likely meant as: the field a usual word names
    (`child.dob` for `child.date_of_birth`: USUAL_WORDS), one spelt nearly the same (a slip of
    the keyboard), else the one whose name or label (`labels`: field -> its label's words, in
    every language) holds the words of the key (`unsafe_reason` for `safety_concerns`, labelled
    'What makes the child unsafe': `_by_words`), else one spelt less nearly the same, else one
    whose last part it is or nearly is (`sex` for `child.sex`, `nmae` for `child.name`): the
    form's first such field, in the form's order. A usual word under a section names that
    section's field only: `caregiver.dob` is not the child's date of birth, and the caregiver has
    none on the form, so nothing is suggested (a field spelt nearly the same, `caregiver.name`,
    is not what was meant either). `slips_only`: a usual word or a slip of the keyboard only, where
    a suggestion refuses what is not one (an import's register heading: `Wroker` for `worker`,
    not `Class` for `alias`)."""
    head, _, last = key.rpartition(".")
    usual = USUAL_WORDS.get(last.lower().replace("-", "_").replace(" ", "_"))
    if usual:
        if head:
            return f"{head}.{usual}" if f"{head}.{usual}" in known else None
        named = [f for f in known if f == usual] or [f for f in known if f.rsplit(".", 1)[-1] == usual]
        if named:
            return named[0]
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
    if close or slips_only:
        return close[0] if close else None
    close = [_by_words(key, known, labels or {})]
    if not close[0]:
        close = difflib.get_close_matches(key, sorted(known), n=1)
    if close:
        return close[0]
    last = key.rsplit(".", 1)[-1]
    by_last = {}
    for field in known:
        by_last.setdefault(field.rsplit(".", 1)[-1], field)
    close = difflib.get_close_matches(last, sorted(by_last), n=1, cutoff=0.8)
    return by_last[close[0]] if close else None


# words that say nothing of what a field is about, never matched by `_by_words`
_NO_MATCH_WORDS = frozenset("the and for was were are has have with from that this what who why when how its not any".split())


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z]+", text.lower()) if len(w) >= 3 and w not in _NO_MATCH_WORDS}


def _same_word(typed: str, word: str) -> bool:
    """The same word, or one the start of the other (`safe`, `safety`), of four letters at least."""
    return typed == word or (min(len(typed), len(word)) >= 4 and (word.startswith(typed) or typed.startswith(word)))


def _by_words(key: str, known: Sequence[str], labels: Mapping[str, str]) -> str | None:
    """The field whose name's last part and label hold the words of `key`'s last part, under the
    same section (`caregiver.x` only among the caregiver's fields): each word matched counts the
    more the earlier it stands in the key, as a field's name says first what it is about and
    last what of it (`unsafe_reason`: a reason of the child being unsafe, `safety_concerns`
    labelled 'What makes the child unsafe', rather than `risk_reason`). None where no word
    matches, or two fields match as well: a key near nothing is not given a field by chance."""
    head, _, last = key.rpartition(".")
    typed = [w for w in re.split(r"[^a-z]+", last.lower()) if len(w) >= 3 and w not in _NO_MATCH_WORDS]
    scores: dict[str, int] = {}
    for field in known:
        field_head, _, field_last = field.rpartition(".")
        if head and field_head != head:
            continue
        words = _words(field_last) | _words(labels.get(field, ""))
        score = sum(len(typed) - i for i, w in enumerate(typed) if any(_same_word(w, word) for word in words))
        if score:
            scores[field] = score
    if not scores:
        return None
    best = max(scores.values())
    found = [f for f, score in scores.items() if score == best]
    return found[0] if len(found) == 1 else None


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def laid_over(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict:
    """`changes` laid over `base` (mappings merged key by key; a list or a value replaced; an
    empty or null value removes the key): a record's fields as a correction gives them."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = laid_over(out[key], value)
        elif is_empty(value):
            out.pop(key, None)
        else:
            out[key] = value
    return out


def validate(form: Form, data: Mapping[str, Any], today: date, workers: Iterable[str] = (),
             wording: Wording = ENGLISH, as_written: Iterable[str] = ()) -> tuple[dict, list[FieldError]]:
    """The clean body and every problem at once (unknown fields, missing required fields,
    bad values, cross-field rules). The body holds only what was given. `wording`: the language
    the answers may be given in (a choice by its words: `answer_code`) and the refusals are said in.
    `as_written`: the fields of `data` that hold what a record holds already and are not changed
    (an update's registration as it stands, beside the fields it gives): a value the form refuses
    now (a `max_length` the agency tightened since: `cpcm form set`) stands as written, in the body
    as it is and not refused; the rules across fields still read it."""
    return _validate_fields(form.fields, form.rules, form.kind, data, today, list(workers), "", form.name or form.kind, wording,
                            frozenset(as_written))


def required_reason(field: Field, wording: Wording = ENGLISH) -> str:
    """Why an empty required field is refused: 'is required (its question)', in `wording`'s language."""
    return wording.say(REQUIRED) % {"question": field.text(field.label, wording.lang)}


def _validate_fields(fields: tuple[Field, ...], rules, kind: str, data: Mapping[str, Any], today: date,
                     workers: list[str], prefix: str, blank: str | None = None,
                     wording: Wording = ENGLISH, as_written: frozenset[str] = frozenset()) -> tuple[dict, list[FieldError]]:
    """`blank`: the name `cpcm form blank` knows the form by (default `kind`); `as_written`: `validate`'s."""
    errors: list[FieldError] = []
    if not isinstance(data, Mapping):
        return {}, [FieldError(prefix.rstrip(".") or "(document)", "must be a mapping of fields (key: value)")]
    list_keys = {f.key for f in fields if f.type == "list"}
    flat = _flatten_until(data, list_keys)
    known = {f.key for f in fields}
    unnamed = 0  # unknown keys near no field: not repeated (a key may be a name), counted in one line
    for key in flat:
        group = [k[len(key) + 1:] for k in sorted(known) if k.startswith(key + ".")] if key not in known else []
        if group and not is_empty(flat[key]):  # `child: Asha` where the form has child.name: a value for a group
            errors.append(FieldError(prefix + key, "is a group of fields, not one value: give its fields under it ("
                                     + ", ".join(group[:3]) + (", …" if len(group) > 3 else "") + ")"))
        elif key not in known and not group:
            close = suggested_field(fields, key)
            if close:  # a typo of a field, or a field's last part (`sex`), is named
                errors.append(FieldError(prefix + key, f"is not a field of the {kind} form; did you mean '{prefix}{close}'?"))
            else:
                unnamed += 1
    if unnamed:
        what = "is not a field" if unnamed == 1 else f"{unnamed} keys are not fields"
        errors.append(FieldError(prefix + "…", f"{what} of the {kind} form (not shown, as a key may hold personal "
                                 f"details; {'its' if not prefix else 'an entry' + chr(39) + 's'} fields: {fields_said(fields)}; "
                                 f"cpcm form blank {blank or kind} prints them)"))
    body: dict[str, Any] = {}
    for field in fields:
        value = flat.get(field.key)
        path = prefix + field.key
        if is_empty(value):
            if field.required:
                errors.append(FieldError(path, required_reason(field, wording)))
            continue
        if field.type == "list":
            items, item_errors = _validate_list(field, value, kind, today, workers, path, blank, wording)
            if item_errors and path in as_written:  # what was written stands: not given, not checked again
                items, item_errors = value, []
            errors += item_errors
            if items:
                set_path(body, field.key, items)
            continue
        clean, reason = coerce(field, value, today, workers, wording)
        if reason and path in as_written:  # what was written stands: not given, not checked again
            set_path(body, field.key, value)
        elif reason:
            errors.append(FieldError(path, reason))
        elif not is_empty(clean):
            set_path(body, field.key, clean)
        elif field.required:
            errors.append(FieldError(path, required_reason(field, wording)))
    flat_body = flatten(body)
    refused = {e.field for e in errors}
    for rule in rules:
        if rule.get("advise"):  # a warning, not a refusal: `advice`
            continue
        # a rule about fields already refused for their own reason would only repeat them
        found = _check_rule(rule, flat_body)
        errors.extend(e for e in found if not any(f"{prefix}{k}" in refused for k in _rule_fields(rule)))
    return body, errors


def advice(form: Form, body: Mapping[str, Any]) -> list[FieldError]:
    """What a valid record `body` leaves out that the form advises (its rules marked `advise`: a
    comprehensive assessment silent on one of its three domains, say): warned of, never refused."""
    flat = flatten(body)
    return [error for rule in form.rules if rule.get("advise") for error in _check_rule(rule, flat)]


def _rule_fields(rule: Mapping[str, Any]) -> list[str]:
    for key in ("require_one_of", "not_both"):
        if key in rule:
            return list(rule[key])
    for key in ("required_if", "only_if"):
        if key in rule:
            return [rule[key]["field"], rule[key]["when"]["field"]]
    return []


def _validate_list(field: Field, value: Any, kind: str, today: date, workers: list[str], path: str, blank: str | None = None,
                   wording: Wording = ENGLISH):
    value, problem = _numbered(field, value)
    if problem:
        return [], [FieldError(path, problem)]
    errors, items = [], []
    for index, entry in enumerate(value):
        clean, entry_errors = _validate_fields(field.item, (), kind, entry, today, workers, f"{path}[{index + 1}].", blank,
                                               wording)
        errors += entry_errors
        items.append(clean)
    if len(value) < field.min_items:
        errors.append(FieldError(path, f"needs at least {field.min_items} entr{'y' if field.min_items == 1 else 'ies'}"))
    return items, errors


def _numbered(field: Field, value: Any) -> tuple[list, str | None]:
    """A list field's entries: a list as a file gives it, or the entries `--set` gives by number
    (`people.1.name=...`: {'1': {'name': ...}}), in the order of their numbers, which run from 1
    with none left out (a refusal names an entry by its number: people[2].name); or the reason
    the value is no list of entries."""
    if isinstance(value, list):
        return value, None
    first = field.item[0].key if field.item else "FIELD"
    said = (f"is a list of entries: give each entry's fields by its number (--set {field.key}.1.{first}=... --set "
            f"{field.key}.2.{first}=...), or the list in a YAML file (--from-file), each entry starting with '- '")
    if not isinstance(value, Mapping) or not value or not all(str(k).isdigit() for k in value):
        return [], said
    numbers = sorted(int(k) for k in value)
    if numbers[0] < 1:
        return [], f"numbers its entries from 1: there is no entry 0 (--set {field.key}.1.{first}=... for the first)"
    twice = next((n for n, m in zip(numbers, numbers[1:]) if n == m), None)
    if twice is not None:  # '1' and '01': digits only, so they may be shown
        written = " and ".join(sorted(str(k) for k in value if int(k) == twice))
        return [], f"gives entry {twice} twice, as {written}: number each entry once, without leading zeros"
    if numbers != list(range(1, len(numbers) + 1)):
        missing = next(n for n in range(1, numbers[-1] + 1) if n not in numbers)
        return [], (f"numbers its entries 1, 2, 3 … with none left out: entry {missing} is missing (--set "
                    f"{field.key}.{missing}.{first}=...)")
    return [value[k] for k in sorted(value, key=int)], None


def suggested_field(fields: Sequence[Field], key: str) -> str | None:
    """The field a key not on the form was meant as, where the key may be shown (`near_field`: a
    typo, a field's last part), else None: the key is then not repeated (it may be a name)."""
    close = near_field(key, [f.key for f in fields], {f.key: " ".join(f.label.values()) for f in fields})
    return close if close and FIELD_NAME.fullmatch(key) else None


def fields_said(fields: Sequence[Field]) -> str:
    """The fields of one level of a form as a refusal lists them: each group once (`child.…`)."""
    return ", ".join(dict.fromkeys(f.key.split(".")[0] + (".…" if "." in f.key else "") for f in fields))


def _flatten_until(data: Mapping[str, Any], stop: set[str], prefix: str = "") -> dict[str, Any]:
    """Like flatten, but keeps the value of a list field whole."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and path not in stop:
            out.update(_flatten_until(value, stop, path + "."))
        else:
            out[path] = value
    return out


def required_by_rule(form: Form, key: str, answers: Mapping[str, Any]) -> str | None:
    """Why the empty field `key` is required by the answers given so far (a `required_if`
    rule of the form: "say why the child did not attend" once the child did not), or None: the
    same check `validate` makes at the end, for a prompt to ask it as a required question."""
    flat = flatten(answers)
    for rule in form.rules:
        if (rule.get("required_if") or {}).get("field") == key:
            found = _check_rule(rule, flat)
            if found:
                return found[0].reason
    return None


def not_asked(form: Form, key: str, answers: Mapping[str, Any]) -> bool:
    """Whether the optional field `key` is one the form wants only in a case the answers so far
    rule out: every rule naming it is a `required_if` whose condition field is answered and not
    met ("Other concern (when 'other' is chosen)" once the concerns chosen hold no 'other'). A
    prompt leaves it out; the file and flags may still give it. So is a field of a `not_both` rule
    once another of its fields is answered ("Estimated age" once a date of birth is given): both
    would be refused at the end; and the field of an `only_if` rule whose condition field is
    answered and not met (the caregiver's name once a consent is given by the child): it would be
    refused at the end."""
    flat = flatten(answers)
    for rule in form.rules:
        others = [k for k in rule.get("not_both") or () if k != key]
        if len(others) < len(rule.get("not_both") or ()) and any(not is_empty(flat.get(k)) for k in others):
            return True
        if (rule.get("only_if") or {}).get("field") == key and _ruled_out(rule["only_if"]["when"], flat):
            return True
    conditions = [rule["required_if"]["when"] for rule in form.rules
                  if (rule.get("required_if") or {}).get("field") == key]
    if not conditions:
        return False
    for when in conditions:
        current = flat.get(when["field"])
        if is_empty(current):
            return False  # not answered: the field may yet be wanted
        if _met(when, current):
            return False
    return True


def group_fields(form: Form, key: str) -> list[str]:
    """The fields a refusal of an `at_least_one_of_prefix` rule names by its first prefix `key`
    ("dimensions: assess at least one wellbeing dimension"): every field of the form under the
    rule's prefixes, in the form's order, for a prompt to ask them again; [] where `key` is a field
    or no such rule's."""
    if form.field(key) is not None:
        return []
    for rule in form.rules:
        if "at_least_one_of_prefix" in rule and not rule.get("advise") and _prefixes(rule)[0] == key:
            return _under(form, _prefixes(rule))
    return []


def group_heading(form: Form, key: str, answers: Mapping[str, Any]) -> str | None:
    """What to say before the question on `key` where it is the first of a group of optional
    fields the form wants at least one of (a refusing `at_least_one_of_prefix` rule that applies
    to the answers so far, and is not met yet): its message ("assess at least one wellbeing
    dimension ..."), so the group's questions are optional one by one only, as the form says; else
    None (a rule on one field alone: its question is the field's)."""
    flat = flatten(answers)
    for rule in form.rules:
        if "at_least_one_of_prefix" not in rule or rule.get("advise"):
            continue
        under = _under(form, _prefixes(rule))
        if len(under) > 1 and under[0] == key and _check_rule(rule, flat):
            return _check_rule(rule, flat)[0].reason
    return None


def _under(form: Form, prefixes: Sequence[str]) -> list[str]:
    """The keys of the form's fields under any of `prefixes` (a prefix or a group of it), in order."""
    return [f.key for f in form.fields if any(f.key == p or f.key.startswith(p + ".") for p in prefixes)]


def _ruled_out(when: Mapping[str, Any], flat: Mapping[str, Any]) -> bool:
    """Whether the answers `flat` rule out an `only_if` rule's condition (`when`): its field is
    answered, and not with one of the values named (unanswered, the field may yet go with it)."""
    current = flat.get(when.get("field"))
    return not is_empty(current) and not _met(when, current)


def _met(when: Mapping[str, Any], current: Any) -> bool:
    """Whether the answer `current` meets a `required_if` rule's condition (`when`): it is one of
    the values named, or, for a list, holds one of them."""
    wanted = when.get("in", [])
    return current in wanted or (isinstance(current, list) and bool(set(current) & set(wanted)))


def _applies(rule: Mapping[str, Any], flat: Mapping[str, Any]) -> bool:
    """Whether `rule` applies to the answers `flat`: a rule with `when` (a field and the values it
    is one of, as a `required_if` condition) only when that is met; one with `unless` only when it
    is not (the readiness form's benchmarks, not asked of a comment made after a case conference)."""
    when, unless = rule.get("when"), rule.get("unless")
    if isinstance(when, Mapping) and not _met(when, flat.get(when.get("field"))):
        return False
    return not (isinstance(unless, Mapping) and _met(unless, flat.get(unless.get("field"))))


def _prefixes(rule: Mapping[str, Any]) -> list[str]:
    """The field prefixes of an `at_least_one_of_prefix` rule: one, or a list of them."""
    given = rule["at_least_one_of_prefix"]
    return [str(p) for p in given] if isinstance(given, (list, tuple)) else [str(given)]


def _check_rule(rule: Mapping[str, Any], flat: Mapping[str, Any]) -> list[FieldError]:
    if not _applies(rule, flat):
        return []
    if "at_least_one_of_prefix" in rule:
        prefixes = _prefixes(rule)
        if not any((k == p or k.startswith(p + ".")) and not is_empty(v) for k, v in flat.items() for p in prefixes):
            return [FieldError(prefixes[0], rule.get("message") or "give at least one")]
    if "require_one_of" in rule:
        keys = list(rule["require_one_of"])
        if not any(not is_empty(flat.get(k)) for k in keys):
            return [FieldError(keys[0], rule.get("message") or f"give one of: {', '.join(keys)}")]
    if "not_both" in rule:
        keys = list(rule["not_both"])
        if all(not is_empty(flat.get(k)) for k in keys):
            return [FieldError(keys[1], rule.get("message") or f"give only one of: {', '.join(keys)}")]
    if "required_if" in rule:
        cond = rule["required_if"]
        key, when = cond["field"], cond["when"]
        current = flat.get(when["field"])
        if _met(when, current) and is_empty(flat.get(key)):
            return [FieldError(key, rule.get("message") or f"is required when {when['field']} is {current}")]
    if "only_if" in rule:  # a field that goes with one answer only (the caregiver's name, with a caregiver's consent)
        cond = rule["only_if"]
        key, when = cond["field"], cond["when"]
        if not is_empty(flat.get(key)) and _ruled_out(when, flat):
            return [FieldError(key, rule.get("message") or f"goes only with {when['field']} {', '.join(map(str, when.get('in', [])))}")]
    return []


# The comments of `cpcm form blank`, in the language asked where its catalog has them (`skeleton`); the
# values to give (a choice's codes, YYYY-MM-DD, 1d) stay as they are typed.
BLANK_TITLE = N_("%(title)s: fill in and give to cpcm with --from-file FILE")
BLANK_COMMENTS = N_("Lines starting with # are comments. Leave a field empty when it does not apply.")
# Translators: after a field's label in a blank form: whether it must be filled in, then what it takes.
BLANK_REQUIRED = N_("(required, %(what)s)")
BLANK_OPTIONAL = N_("(optional, %(what)s)")
# Translators: under a group of fields in a blank form (a text with its words in each language below it).
BLANK_ONE_TEXT = N_("%(key)s: give one text here, or one per language below")
DESCRIBE_CHOICE = N_("one of: %(choices)s")
DESCRIBE_CHOICES = N_("a list of: %(choices)s")
DESCRIBE_DATE = N_("a date, YYYY-MM-DD")
# Translators: added after "a date, YYYY-MM-DD" in a blank form.
DESCRIBE_NOT_FUTURE = N_(", not in the future")
# Translators: added after "a date, YYYY-MM-DD" in a blank form.
DESCRIBE_YEARS_AGO = N_(", at most %(years)s years ago")
DESCRIBE_NUMBER = N_("a whole number")
DESCRIBE_NUMBER_FROM = N_("a whole number from %(min)s")
DESCRIBE_NUMBER_TO = N_("a whole number to %(max)s")
DESCRIBE_NUMBER_RANGE = N_("a whole number from %(min)s to %(max)s")
# Translators: the answers a yes-or-no field takes, as they are typed.
DESCRIBE_BOOLEAN = N_("yes or no")
DESCRIBE_TEXT_LIST = N_("a list of short texts")
DESCRIBE_CODES = N_("a list of codes")
DESCRIBE_ID = N_("an ID")
DESCRIBE_DURATION = N_("a duration: 1d, 2w, 1mo")
DESCRIBE_WORKER = N_("a worker id from the team")
DESCRIBE_LIST = N_("a list; each entry has the fields below")
DESCRIBE_LIST_AT_LEAST = N_("a list; each entry has the fields below, at least %(count)s")
DESCRIBE_TEXT = N_("text")
DESCRIBE_TEXT_UP_TO = N_("text, up to %(count)s characters")


def skeleton(form: Form, lang: str = "en", say: Callable[[str], str] = in_english) -> str:
    """A commented YAML document with every field, ready to fill in: the labels and help in `lang`
    (the form's words), the comments' own words through `say` (the catalog of `lang`: `Wording.say`)."""
    title = form.title.get(lang) or form.title.get("en") or form.kind
    lines = [f"# {say(BLANK_TITLE) % {'title': title}}", f"# {say(BLANK_COMMENTS)}", ""]
    lines += _skeleton_fields(form.fields, lang, 0, say=say)
    return "\n".join(lines) + "\n"


def _skeleton_fields(fields: tuple[Field, ...], lang: str, base: int, first_prefix: str = "",
                     say: Callable[[str], str] = in_english) -> list[str]:
    lines: list[str] = []
    written: list[str] = []
    for field in fields:
        parts = field.key.split(".")
        for depth in range(len(parts) - 1):
            group = ".".join(parts[: depth + 1])
            if group not in written:
                written.append(group)
                lines.append(f"{'  ' * (base + depth)}{parts[depth]}:")
        indent = "  " * (base + len(parts) - 1)
        flags = say(BLANK_REQUIRED if field.required else BLANK_OPTIONAL) % {"what": _describe(field, say)}
        lines.append(f"{indent}# {field.text(field.label, lang)} {flags}")
        help_text = field.text(field.help, lang)
        for help_line in help_text.strip().splitlines() if help_text else ():
            lines.append(f"{indent}#   {help_line}")
        if field.type == "list":
            lines.append(f"{indent}{parts[-1]}:")
            entry = _skeleton_fields(field.item, lang, base + len(parts), say=say)
            first = next(i for i, line in enumerate(entry) if not line.lstrip().startswith("#"))
            pad = "  " * (base + len(parts))
            entry[first] = pad + "- " + entry[first][len(pad):]
            lines += [line if i <= first else "  " + line for i, line in enumerate(entry)]
            continue
        empty = "[]" if base_type(field) in ("choices", "text_list") else ""
        if any(other.key.startswith(field.key + ".") for other in fields):
            # one text, or one per language below (child_words: {en: ..., sw: ...}): a key cannot be both
            lines.append(f"{indent}# {say(BLANK_ONE_TEXT) % {'key': parts[-1]}}")
            continue
        lines.append(f"{indent}{parts[-1]}: {empty}".rstrip())
    return lines


def _describe(field: Field, say: Callable[[str], str] = in_english) -> str:
    """What a field takes, for its comment in a blank form, through `say` (`skeleton`)."""
    if field.type in ("choice", "choices"):
        return say(DESCRIBE_CHOICE if field.type == "choice" else DESCRIBE_CHOICES) % {"choices": ", ".join(field.choices)}
    if field.type == "date":
        return (say(DESCRIBE_DATE) + (say(DESCRIBE_NOT_FUTURE) if field.not_future else "")
                + (say(DESCRIBE_YEARS_AGO) % {"years": field.max_years_ago} if field.max_years_ago is not None else ""))
    if field.type == "integer":
        low, high = field.minimum is not None, field.maximum is not None
        message = (DESCRIBE_NUMBER_RANGE if low and high else DESCRIBE_NUMBER_FROM if low else DESCRIBE_NUMBER_TO if high
                   else DESCRIBE_NUMBER)
        return say(message) % {"min": field.minimum, "max": field.maximum}
    if field.type == "list":
        return say(DESCRIBE_LIST_AT_LEAST) % {"count": field.min_items} if field.min_items else say(DESCRIBE_LIST)
    if field.type in _DESCRIBED:
        return say(_DESCRIBED[field.type])
    return say(DESCRIBE_TEXT_UP_TO) % {"count": field.max_length} if field.max_length else say(DESCRIBE_TEXT)


_DESCRIBED = {"boolean": DESCRIBE_BOOLEAN, "text_list": DESCRIBE_TEXT_LIST, "codes": DESCRIBE_CODES, "id": DESCRIBE_ID,
              "duration": DESCRIBE_DURATION, "worker": DESCRIBE_WORKER}
