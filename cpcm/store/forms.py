"""Loading form definitions: those shipped with cpcm (data: one YAML file per record kind in
`cpcm/forms/`) and an agency's own.

An agency can replace or extend one by putting its own `<kind>.yaml` in `.cpcm/forms/` of its
casefile repository; the loader prefers that file.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from cpcm.domain.forms import Form, definition_problems, kept_problems, parse_form, unreadable_fields, with_policy_lists
from cpcm.errors import Corrupt, NotFound, UsageError

HERE = Path(__file__).parent.parent / "forms"  # the shipped definitions (package data)
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # a form's name: a file name without folders or dots


def check_name(kind: str, root: Path | None = None) -> str:
    """`kind` when it is the name of an available form; exit 2 for a name that is not a name
    (a path, a dot, a separator), exit 3 for one not in the list. Nothing is read either way,
    and the name typed is not repeated."""
    if not isinstance(kind, str) or not NAME.fullmatch(kind):
        raise UsageError("a form is named by its name, not a path", f"Forms: {', '.join(available(root))}.")
    if kind not in available(root):
        raise NotFound("no form by that name", f"Forms: {', '.join(available(root))}.")
    return kind


@lru_cache(maxsize=1)
def _shipped() -> frozenset[str]:
    """The forms shipped with cpcm (package data: the same for the life of a process)."""
    return frozenset(p.stem for p in HERE.glob("*.yaml"))


def available(root: Path | None = None) -> list[str]:
    names = set(_shipped())
    if root is not None and (root / ".cpcm" / "forms").is_dir():
        names |= {p.stem for p in (root / ".cpcm" / "forms").glob("*.yaml")}
    return sorted(names)


def load(kind: str, root: Path | None = None) -> Form:
    """The form `kind` (the agency's own in `root`, else cpcm's), with the choices of a field that
    takes them from the policy (`policy_list`: the eligibility criteria) from the policy in force in
    `root` (cpcm's default profile without a repository)."""
    form = _load(kind, root)
    if any(field.policy_list for field in form.fields):
        from cpcm.store import policies

        form = with_policy_lists(form, policies.in_force(root).policy_lists())
    return form


def _load(kind: str, root: Path | None = None) -> Form:
    check_name(kind, root)
    candidates = []
    if root is not None:
        candidates.append(root / ".cpcm" / "forms" / f"{kind}.yaml")
    candidates.append(HERE / f"{kind}.yaml")
    for path in candidates:
        if path.is_file():
            if _extends(path):  # laid over the form it extends (the agency's, if any)
                definition = _definition(kind, root) or {}
                try:
                    return parse_form(definition, path.name)
                except ValueError as exc:
                    # its own fields counted as the file has them, not among the fields of the form it extends
                    own = unreadable_fields(_raw(str(path), path.stat().st_mtime_ns), definition.get("lists") or {},
                                            definition.get("labels") or {})
                    said = f"{path.name}: {own[0].field}: {own[0].reason}" if own else str(exc)
                    raise Corrupt(f"form definition {path.name}: {said}", str(path), hint=_hint(kind, root)) from None
            try:
                return _parse(str(path), path.stat().st_mtime_ns)
            except Corrupt as exc:  # the agency's form: how to mend it, asked of git only now
                if path.parent != HERE:
                    exc.hint = _hint(kind, root)
                raise
    raise NotFound("no form by that name", f"Forms: {', '.join(available(root))}.")


def check_text(kind: str, text: str, root: Path | None = None) -> Form:
    """The form `text` (a definition typed by a person) would make as `.cpcm/forms/<kind>.yaml`, laid
    over the form it `extends:` as `load` lays it; InvalidInput naming everything wrong at once
    (a typed value is not repeated): keys no reader reads, a field that cannot be read (its settings
    too: `_setting_problems`), a key two fields have, a `form:` that names another form, an
    `insert_after` that is not a field, no field at all, and, in place of a form cpcm ships, a
    field that form requires not kept as it is (`kept_problems`)."""
    from cpcm.errors import FieldError, InvalidInput
    from cpcm.store import codec

    name = f"{kind}.yaml"
    try:
        data = codec.load_input(text, typed_numbers=False) or {}  # max_length: 0200 is the number 200
    except codec.BadYaml as exc:
        raise InvalidInput([FieldError(name, str(exc))], f"form {name}") from None
    if not isinstance(data, dict):
        raise InvalidInput([FieldError(name, "must be a mapping (fields:, lists:, labels: ...)")], f"form {name}")
    problems = definition_problems(data, kind)
    given = data  # as the file holds it, before what it extends is laid under it
    form, left_out = None, []
    try:
        base_name = data.get("extends")
        base = None
        if base_name:
            base = _base(str(base_name), kind, root, (kind,))  # not the file it replaces
            if base is None:
                problems.append(FieldError("extends", f"names no form here (forms: {', '.join(available(root))})"))
                raise InvalidInput(problems, f"form {name}")
            after = data.get("insert_after")
            if after is not None and after not in [f.get("key") for f in base.get("fields") or []]:
                problems.append(FieldError("insert_after", f"is not a field of the form it extends ({base_name})"))
        # every field of its own that cannot be read (a list not defined, a choice without choices), counted as the
        # file has them, with the lists and labels of the form it extends; one definition_problems named already for
        # its key or type is not said twice
        lists, labels = ({**((base or {}).get(key) or {}), **(data.get(key) or {})} for key in ("lists", "labels"))
        own = unreadable_fields(given, lists, labels)
        said = {p.field for p in problems}
        problems += [p for p in own if p.field not in said and f"{p.field}.type" not in said]
        # the form is read without them, so that what it leaves out of cpcm's own is named with them, all at once
        bad = {int(p.field[len("fields["):p.field.index("]")]) for p in own}
        if isinstance(given.get("fields"), list):
            left_out = [raw for number, raw in enumerate(given["fields"], start=1) if number in bad or not isinstance(raw, dict)]
            readable = {**given, "fields": [raw for raw in given["fields"] if not any(raw is gone for gone in left_out)]}
            data = readable
        form = parse_form(_extend(base, data) if base is not None else data, name)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        if not problems:  # else it is one of them, or shows once they are mended
            reason = str(exc) if isinstance(exc, ValueError) else "is not laid out as a form definition (docs/case-format.md)"
            problems.append(FieldError(name, reason[len(name) + 2:] if reason.startswith(name + ": ") else reason))
    if form is not None:
        if not form.fields and not left_out:
            problems.append(FieldError("fields", "holds no field: a form needs at least one (- key: ..., type: ...)"))
        elif kind in _shipped():  # cpcm's own: no repository given; a field left out above is named already
            gone = {str(raw.get("key")) for raw in left_out if isinstance(raw, dict)}
            problems += [p for p in kept_problems(form, load(kind)) if p.field not in gone]
    if problems:
        raise InvalidInput(problems, f"form {name}")
    return form


def _base(base_name: str, form_name: str, root: Path | None, seen: tuple[str, ...]) -> dict | None:
    """The definition a form `extends:`: cpcm's own of that name when it extends its own name
    (an agency's registration over cpcm's registration), else the one `load` would read."""
    if base_name == form_name:
        return _definition(base_name, None)
    return _definition(base_name, root, seen)


def _section(form_name: str, root: Path | None, key: str) -> dict | None:
    """The section `key` of a form definition as its file holds it (the agency's own, else cpcm's), if any."""
    if not NAME.fullmatch(form_name):
        return None
    for path in ([root / ".cpcm" / "forms" / f"{form_name}.yaml"] if root is not None else []) + [HERE / f"{form_name}.yaml"]:
        if path.is_file():
            return _raw(str(path), path.stat().st_mtime_ns).get(key)
    return None


def scoring(form_name: str, root: Path | None = None) -> dict | None:
    """The `scoring` section of a form definition (the Kenya readiness benchmarks), if any."""
    return _section(form_name, root, "scoring")


def ratings(form_name: str, root: Path | None = None) -> dict | None:
    """The `ratings` section of a form definition (the Child Status Index's scale and items), if any."""
    return _section(form_name, root, "ratings")


@lru_cache(maxsize=128)  # more than the shipped forms: a process that reads them all keeps them all
def _raw(path: str, _mtime: int) -> dict:
    from cpcm.store import shipped

    return shipped.read(Path(path)) or {}


def _extends(path: Path) -> bool:
    from cpcm.store import codec

    try:
        data = _raw(str(path), path.stat().st_mtime_ns)
    except codec.BadYaml:
        return False  # _parse names the file
    return isinstance(data, dict) and bool(data.get("extends"))


def choice_labels(form_name: str, root: Path | None = None) -> dict:
    """The `choice_labels` of a form definition and of the one it extends: {list: {value:
    {en, sw, ...}}} (the national case categories' names, say); {} when it has none."""
    data = _definition(form_name, root)
    return dict(data.get("choice_labels") or {}) if data else {}


def paper(form_name: str, root: Path | None = None) -> dict:
    """The `paper` section of a form definition made to be filled on paper (the SOP form it is,
    its intro, section titles, table rows, how its content gets into cpcm); {} when it has none."""
    data = _definition(form_name, root)
    return dict(data.get("paper") or {}) if data else {}


def codes(form_name: str, root: Path | None = None) -> dict:
    """The `codes` of a form definition (and the one it extends): {list: {value: national code}}
    (the CPIMS code of each national case category); {} when it has none."""
    data = _definition(form_name, root)
    return dict(data.get("codes") or {}) if data else {}


def _definition(form_name: str, root: Path | None, seen: tuple[str, ...] = ()) -> dict | None:
    """A definition's raw data with what it `extends:` laid under it (see _extend)."""
    if not NAME.fullmatch(form_name or "") or form_name in seen:
        return None
    for path in ([root / ".cpcm" / "forms" / f"{form_name}.yaml"] if root is not None else []) + [HERE / f"{form_name}.yaml"]:
        if path.is_file():
            data = _raw(str(path), path.stat().st_mtime_ns)
            base_name = data.get("extends")
            if not base_name:
                return data
            base = _base(str(base_name), form_name, root, seen + (form_name,))
            if base is None:
                raise Corrupt(f"form definition {path.name}: extends '{base_name}', which is not a form here", str(path))
            return _extend(base, data)
    return None


def _extend(base: dict, data: dict) -> dict:
    """A form that `extends:` another: the base's lists, labels and rules with its own added;
    a field with a base field's key replaces it in place; the others go after the field named
    by `insert_after` (default: at the end)."""
    out = {**base, **{k: v for k, v in data.items() if k not in ("fields", "lists", "rules", "labels", "choice_labels", "extends")}}
    for key in ("lists", "labels", "choice_labels"):
        out[key] = {**(base.get(key) or {}), **(data.get(key) or {})}
    out["rules"] = list(base.get("rules") or []) + list(data.get("rules") or [])
    fields = [dict(f) for f in base.get("fields") or []]
    keys = [f.get("key") for f in fields]
    added = []
    for field in data.get("fields") or []:
        if field.get("key") in keys:
            fields[keys.index(field.get("key"))] = dict(field)
        else:
            added.append(dict(field))
    after = data.get("insert_after")
    at = keys.index(after) + 1 if after in keys else len(fields)
    out["fields"] = fields[:at] + added + fields[at:]
    return out


def _hint(kind: str, root: Path | None) -> str | None:
    """How to mend an agency's form in `.cpcm/forms/` that cannot be read, as a wrong policy override
    is mended: by what the last commit holds of it (git's copy is put back only where there is one
    the file on disk differs from; one made by hand and never committed is removed or corrected)."""
    from cpcm.store.git import mend_hint

    rel = f".cpcm/forms/{kind}.yaml"
    if root is None or not (root / rel).is_file():
        return None
    return mend_hint(root, rel, f"Correct {rel} and commit it with 'cpcm form set {rel}', or put a checked file in its place: "
                     f"cpcm form set FILE --kind {kind} (a supervisor or manager); each names everything wrong at once.",
                     "form", "the forms the last commit holds")


@lru_cache(maxsize=64)
def _parse(path: str, _mtime: int) -> Form:
    from cpcm.store import codec, shipped

    try:
        return parse_form(shipped.read(Path(path)) or {}, Path(path).name)
    except (codec.BadYaml, ValueError) as exc:
        raise Corrupt(f"form definition {Path(path).name}: {exc}", path) from None
