"""The table of docs/case-format.md that says how many characters each text field of cpcm's own
forms holds (`max_length` in cpcm/forms/*.yaml; a longer text is refused with the whole record,
its length and the field's named): one row per form, the fields grouped by what they hold, longest
first. An entry of a list is named `list[].field`; a field repeated for every entry of a form's list
(the eight wellbeing dimensions) `dimensions.*.narrative`."""
from __future__ import annotations


def _limits(fields, prefix: str = "") -> list[tuple[str, int]]:
    from cpcm.domain.forms import base_type

    out: list[tuple[str, int]] = []
    for field in fields:
        if field.type == "list":
            out += _limits(field.item, f"{prefix}{field.key}[].")
        elif base_type(field) in ("text", "longtext") and field.max_length:
            out.append((prefix + field.key, int(field.max_length)))
    return out


def _repeated(key: str, keys: list[str]) -> str:
    """`dimensions.*.narrative` for `dimensions.physical.narrative` where three keys or more differ from it
    in their second part only (a `repeat:` of the form); the key itself otherwise."""
    parts = key.split(".")
    if len(parts) < 3 or "[]" in key:
        return key
    like = [k for k in keys if (p := k.split(".")) and len(p) == len(parts) and p[0] == parts[0] and p[2:] == parts[2:]]
    return ".".join([parts[0], "*", *parts[2:]]) if len(like) >= 3 else key


def table() -> str:
    from cpcm.store import forms

    lines = ["| form (`cpcm form blank FORM`) | characters: fields |", "|---|---|"]
    for name in forms.available():
        limits = _limits(forms.load(name).fields)
        if not limits:
            continue
        held: dict[int, list[str]] = {}
        for key, limit in limits:
            shown = f"`{_repeated(key, [k for k, _ in limits])}`"
            if shown not in held.setdefault(limit, []):
                held[limit].append(shown)
        said = "; ".join(f"**{limit}**: {', '.join(keys)}" for limit, keys in sorted(held.items(), reverse=True))
        lines.append(f"| `{name}` | {said} |")
    return "\n".join(lines) + "\n"
