"""The Child Status Index (CSI, kenya profile): a CSI record's ratings read with its form's scale
and items, the items that need attention, the change since the previous CSI, and the counts of
children by rating that `cpcm report readiness` shows. Pure: it takes the form's `ratings`
section (cpcm/forms/csi.yaml) and the records' bodies, and does no I/O.

The source (Kenya CSI form, Revised: Oct 6th 2016; kenya-forms-facts §2) rates 13 items from 1
(Very bad) to 4 (Good) and has no rule that turns the ratings into a total: nothing here adds
them up. "Needs attention" lists the items rated as the form's `attention` says (1 and 2): a
display of the ratings as they are, not a score.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

UP, DOWN, SAME = "up", "down", "same"


def _label(value: Any, lang: str) -> str:
    if isinstance(value, Mapping):
        return str(value.get(lang) or value.get("en") or "")
    return str(value or "")


def codes(table: Mapping[str, Any]) -> dict[str, int]:
    """What a rating may be given as, to its value: 1-4 and the CPIMS codes (VBAD ... GOOD)."""
    out: dict[str, int] = {}
    for step in table.get("scale") or ():
        out[str(step["value"])] = int(step["value"])
        if step.get("code"):
            out[str(step["code"]).upper()] = int(step["value"])
    return out


def normalise(table: Mapping[str, Any], data: Mapping[str, Any]) -> dict:
    """`data` with each rating given as a number (3) or a code (FAIR) written as the form's
    value ("3"), under the prefix, flat (`ratings.care`) or nested; anything else is left as it
    is, for the form to refuse naming the field."""
    known = codes(table)
    prefix = str(table.get("prefix") or "ratings")
    out = dict(data)

    def one(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        key = str(value).strip().upper() if isinstance(value, (int, str)) else None
        return str(known[key]) if key in known else value

    for key, value in data.items():
        if key.startswith(prefix + "."):
            out[key] = one(value)
    nested = data.get(prefix)
    if isinstance(nested, Mapping):
        out[prefix] = {k: one(v) for k, v in nested.items()}
    return out


def rated(table: Mapping[str, Any], body: Mapping[str, Any], lang: str = "en") -> list[dict]:
    """The items of a CSI record in the form's order, each {key, code, domain, label, rating,
    rating_label}; rating None for an item the record does not rate (a form of another day)."""
    prefix = str(table.get("prefix") or "ratings")
    given = body.get(prefix) if isinstance(body.get(prefix), Mapping) else {}
    scale = {int(s["value"]): s for s in table.get("scale") or ()}
    rows = []
    for item in table.get("items") or ():
        raw = given.get(item["key"], body.get(f"{prefix}.{item['key']}"))
        try:
            value = int(str(raw)) if raw is not None and str(raw).strip() else None
        except ValueError:
            value = None
        if value not in scale:
            value = None
        rows.append({"key": str(item["key"]), "code": str(item.get("code") or ""), "domain": str(item.get("domain") or ""),
                     "label": _label(item.get("label"), lang), "rating": value,
                     "rating_label": _label(scale[value].get("label"), lang) if value is not None else ""})
    return rows


def needs_attention(table: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The rated items whose rating the form lists under `attention` (Very bad, Bad)."""
    attention = {int(v) for v in table.get("attention") or ()}
    return [dict(r) for r in rows if r.get("rating") in attention]


def changes(previous: Iterable[Mapping[str, Any]], latest: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The change of each item from the previous CSI's rating to the latest's (both `rated`):
    {key, label, before, after, change}: up, down or same; None where either does not rate it."""
    before = {r["key"]: r.get("rating") for r in previous}
    out = []
    for row in latest:
        was, now = before.get(row["key"]), row.get("rating")
        change = None
        if was is not None and now is not None:
            change = UP if now > was else DOWN if now < was else SAME
        out.append({"key": row["key"], "code": row.get("code", ""), "label": row.get("label", ""),
                    "before": was, "after": now, "change": change})
    return out


def counts(table: Mapping[str, Any], latest: Mapping[str, Mapping[str, Any]], lang: str = "en") -> list[dict]:
    """Children by rating, item by item, in their latest CSI (`latest`: case ID -> record body):
    [{key, code, label, by_rating: {1: n, ...}, not_rated: n}]; no total of ratings."""
    values = [int(s["value"]) for s in table.get("scale") or ()]
    out = []
    per_case = {case_id: {r["key"]: r["rating"] for r in rated(table, body, lang)} for case_id, body in latest.items()}
    for item in table.get("items") or ():
        key = str(item["key"])
        given = [ratings.get(key) for ratings in per_case.values()]
        out.append({"key": key, "code": str(item.get("code") or ""), "label": _label(item.get("label"), lang),
                    "by_rating": {v: sum(1 for g in given if g == v) for v in values},
                    "not_rated": sum(1 for g in given if g is None)})
    return out


def scale_labels(table: Mapping[str, Any], lang: str = "en") -> list[dict]:
    """The scale: [{value, code, label}]."""
    return [{"value": int(s["value"]), "code": str(s.get("code") or ""), "label": _label(s.get("label"), lang)}
            for s in table.get("scale") or ()]
