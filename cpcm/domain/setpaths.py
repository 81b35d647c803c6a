"""`--set PATH=VALUE` laid over a record's fields as the form's fields take them: a field that
holds several values takes --set again for each value, a list of entries each entry's fields by its
number (people.2.name), a field of one value once. Input only: the fold and the rules never read
this (form validation reads the entries by number: `forms._numbered`)."""
from __future__ import annotations

import re
from typing import Any, Container, Iterable, Mapping, Sequence

from cpcm.domain.forms import Field, Form, base_type, fields_said, suggested_field
from cpcm.domain.records import get_path, set_path
from cpcm.domain.text import ordinal, put
from cpcm.errors import FieldError, InvalidInput, UsageError


# fields that hold several values (a list of codes too: `forms.base_type`): a --set given again adds one (`put_pairs`)
SEVERAL = ("text_list", "choices")


def put_pairs(form: Form | None, data: dict, pairs: Sequence[tuple[str, str]], what: str = "--set") -> dict:
    """`data` (what a file gave) with `--set PATH=VALUE` pairs laid over it, in order. A field that
    holds several values (a text list, several choices) takes each --set of it as one more value
    (given once, its text is split as before: 'a; b'), in an entry too (cases.1.decisions); a list of
    entries takes each entry's fields by its number (people.1.name=...: `forms._numbered`). Any other
    path given twice is refused, named where it is a field of `form`, else by its place (a key typed
    may hold personal details)."""
    fields = form.fields if form is not None else ()
    seen: set[str] = set()
    for number, (key, value) in enumerate(pairs, 1):
        field = _field_at(fields, key) if key in seen else None
        if field is not None and base_type(field) in SEVERAL:
            held = get_path(data, key)
            set_path(data, key, (held if isinstance(held, list) else [held]) + [value])
        elif key in seen:
            said = key if field is not None else f"the path of the {ordinal(number)} {what}"
            raise UsageError(f"{what}: {said} is given twice: it holds one value", f"Give it once. A field that holds a list takes "
                             f"{what} again for each value; a list of entries takes each entry's fields by its number "
                             f"(people.1.name=..., people.2.name=...).")
        else:
            put(data, key, value, what)
            seen.add(key)
    return data


def put_correction(form: Form | None, held: dict, data: dict, pairs: Sequence[tuple[str, str]]) -> dict:
    """A correction's `--set` pairs laid over `data` (what a file gave) as `put_pairs` lays them, an entry
    of a list named by its number taken from the entries the record `held` holds (`numbered_from`); an
    entry given empty (`--set people.2=`) is taken out, the entries after it moving up one. UsageError
    (exit 2) for an entry that is not there, or one both taken out and changed."""
    fields = form.fields if form is not None else ()
    lists = {f.key for f in fields if f.type == "list" and _by_number(f)}
    out: dict[str, set[int]] = {}
    kept = []
    for key, value in pairs:
        head, _, number = key.rpartition(".")
        if head in lists and number.isdigit() and not value.strip():
            out.setdefault(head, set()).add(int(number))
        else:
            kept.append((key, value))
    if form is not None:  # a key of no field, named by its place, as a new record's --set is (not one the record holds:
        check_paths(form, kept, held=held)  # an update's `previous`, which its own rules word), before a clash shows it
    for key, entries in numbered_from(form, held, kept, also=out).items():  # people.2.found: entry 2 of the record's list
        if get_path(data, key) is None:
            set_path(data, key, entries)
    put_pairs(form, data, kept)
    for key, numbers in out.items():
        entries = get_path(data, key)
        have = sorted(int(n) for n in entries) if isinstance(entries, dict) and all(str(n).isdigit() for n in entries) else []
        for number in sorted(numbers):
            if number not in have:
                raise UsageError(f"--set {key}.{number}= takes out entry {number}, which {key} does not have "
                                 f"({len(have)} entr{'y' if len(have) == 1 else 'ies'})", "cpcm show CASE RECORD lists the entries.")
            if any(_entry_number(key, k) == number for k, _ in kept):
                raise UsageError(f"--set: entry {number} of {key} is both taken out and changed", "Do one or the other.")
        if have == list(range(1, len(have) + 1)):  # else the gap is refused as validation words it
            set_path(data, key, [entries[n] for n in sorted(entries, key=int) if int(n) not in numbers])
    return data


def _by_number(field: Field) -> bool:
    """Whether a list's entries are named by their number in a correction: not those with an ID of their own
    (a plan's goals and actions: actions.A2.by)."""
    return not any(item.key == "id" for item in field.item)


def _entry_number(key: str, path: str) -> int | None:
    """The number of the entry of list `key` a path goes into (people.2.found: 2), else None."""
    number, _, rest = path[len(key) + 1:].partition(".") if path.startswith(key + ".") else ("", "", "")
    return int(number) if number.isdigit() and rest else None


def numbered_from(form: Form | None, held: dict, pairs: Sequence[tuple[str, str]], also: Iterable[str] = ()) -> dict:
    """For a correction: each list of entries that `pairs` reach into by an entry's number (people.2.found),
    numbered from the entries the record `held` holds, so that the pairs change those entries' fields and
    the others stay as they are (an entry one past the last adds one); {} when no pair does so. A list whose
    entries have an ID of their own (a plan's goals and actions: actions.A2.by) names them by it, never by number."""
    fields = form.fields if form is not None else ()
    named = {inner[0].key for key, _ in pairs
             if (inner := _in_entry(fields, key)) is not None and _by_number(inner[0])} | set(also)
    return {key: {str(n): dict(entry) if isinstance(entry, dict) else entry for n, entry in enumerate(get_path(held, key) or [], 1)}
            for key in named if isinstance(get_path(held, key) or [], list)}


_ENTRY = re.compile(r"^(?P<list>[A-Za-z0-9_]+)\[(?P<n>\d+)\](?P<rest>\..*)?$")


def as_set(field: str, body: Mapping[str, Any]) -> str:
    """A field of a list's entry as a form names it (`actions[3].by`, `people[1].found`) written as
    `--set` reaches it in a correction: an entry with an ID of its own by it (`actions.A3.by`), another
    by its number (`people.1.found`). Any other field as it is."""
    match = _ENTRY.match(field)
    if match is None:
        return field
    entries = body.get(match["list"])
    n = int(match["n"])
    entry = entries[n - 1] if isinstance(entries, list) and 0 < n <= len(entries) else None
    own = entry.get("id") if isinstance(entry, Mapping) and match["list"] in ("goals", "actions") else None
    return f"{match['list']}.{own if isinstance(own, str) and own else n}{match['rest'] or ''}"


def check_paths(form: Form, pairs: Sequence[tuple[str, str]], what: str = "--set", held: Container[str] = ()) -> None:
    """InvalidInput naming, by its place, each `--set` whose path is no field of `form` (nor near
    one by a name that may be shown: validation would count it without naming it, and the one
    who typed several could not tell which), with the fields the form has; but one under a key the
    corrected record `held` holds, which its kind's own rules word."""
    unknown = [n for n, (key, _) in enumerate(pairs, 1) if key.split(".")[0] not in held and _hidden(form.fields, key)]
    if unknown:
        name = form.name or form.kind
        raise InvalidInput([FieldError(f"{what} ({ordinal(n)})", f"names no field of the {name} form (its path is not shown, as "
                                                                 f"a key may hold personal details); its fields: "
                                                                 f"{fields_said(form.fields)}") for n in unknown],
                           f"the {what} given", f"Give each {what} a field of the form (cpcm form blank {name} prints them); "
                           "nothing was written.")


def _field_at(fields: Sequence[Field], key: str) -> Field | None:
    """The field a path names: one of `fields`, or one of a list entry's by its number (people.2.name)."""
    found = next((f for f in fields if f.key == key), None)
    inner = _in_entry(fields, key) if found is None else None
    return _field_at(inner[0].item, inner[1]) if inner else found


def _in_entry(fields: Sequence[Field], key: str) -> tuple[Field, str] | None:
    """The list field a path goes into by an entry's number, with the path in the entry
    (people.2.name: people, 'name'); None for any other path."""
    entries = next((f for f in fields if f.type == "list" and key.startswith(f.key + ".")), None)
    number, _, rest = key[len(entries.key) + 1:].partition(".") if entries else ("", "", "")
    return (entries, rest) if number.isdigit() and rest else None


def _hidden(fields: Sequence[Field], key: str) -> bool:
    """Whether validation would refuse `key` without naming it: no field, no group of fields (child)
    nor a field of a list's entry (people.1.name), and near none by a name that may be shown."""
    if _field_at(fields, key) is not None or any(f.key.startswith(key + ".") for f in fields):
        return False
    inner = _in_entry(fields, key)
    if inner is not None:
        return _hidden(inner[0].item, inner[1])
    # under a list otherwise (a plan's actions.A2.by; people.name): the form's own rules say what it is
    return not any(f.type == "list" and key.startswith((f.key + ".", f.key + "[")) for f in fields) and suggested_field(fields, key) is None
