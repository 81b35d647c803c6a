"""The Child Status Index (CSI) of the kenya profile: `cpcm readiness CASE --form csi` records one
(a record of kind csi), and `show`, the case file and `cpcm report readiness` read the latest.

A CSI record changes no stage, restarts no clock and is no readiness or household graduation
record: it counts for no closure rule. Its ratings are read with the form's `ratings` section
(cpcm/forms/csi.yaml) by cpcm/workflow/csi.py; no total is made of them (the source has none).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from cpcm.domain.records import Record
from cpcm.errors import Corrupt
from cpcm.service.context import Context, append, read_case, validate_form
from cpcm.service.results import Written
from cpcm.store import forms
from cpcm.workflow import csi as rules
from cpcm.workflow.fold import effective

KIND = "csi"


def offered(ctx: Context) -> str | None:
    """The CSI form the profile offers (`forms.csi`: the kenya profile's), or None."""
    name = ctx.policy.get("forms", KIND)
    return str(name) if name else None


def table(ctx: Context, name: str | None = None) -> dict | None:
    """The `ratings` section of the CSI form `name` (the profile's, else cpcm's own `csi`): what
    a CSI record is read with whatever the profile now offers; None when there is none."""
    for candidate in (name, offered(ctx), KIND):
        if not candidate:
            continue
        try:
            if forms.load(candidate, ctx.root).kind != KIND:
                continue
            data = forms.ratings(candidate, ctx.root)
        except (Corrupt, ValueError):
            continue
        if data and data.get("items") and data.get("scale"):
            return data
    return None


def record(ctx: Context, case, name: str, data: Mapping[str, Any], at: datetime | None) -> Written:
    """Record a CSI: every item rated 1-4 (or VBAD, GBAD, FAIR, GOOD), the grids optional;
    InvalidInput naming each bad or missing rating, and nothing written, otherwise."""
    ratings = table(ctx, name)
    if ratings is None:
        raise Corrupt(f"form definition {name}: it has no ratings section (scale and items)", name)
    body = dated(ctx, validate_form(ctx, name, rules.normalise(ratings, data), f"{name} of {case.id}"), at or ctx.now)
    earlier = [r for r in case_records(ctx, case.id) if r.kind == KIND]
    written = append(ctx, case, KIND, KIND, body, at)
    made = summary(ratings, [*earlier, written], written, ctx.config.language or "en", name)
    attention = made["needs_attention"]
    steps = ["needs attention (rated 1 or 2): " + "; ".join(f"{r['label']} {r['rating']}" for r in attention)
             if attention else "no item rated 1 (very bad) or 2 (bad)"]
    if made["changes"] is not None:
        steps.append("since the previous CSI: " + change_words(made["changes"]))
    return Written(case.id, written.id, KIND, (), tuple(steps), extra={"csi": made})


def given(ctx: Context, name: str | None, data: Mapping[str, Any]) -> dict:
    """`data` with each rating given as a code (FAIR) or a number written as the form's value, as
    `cpcm readiness --form csi` takes them (a correction's `--set ratings.care=FAIR`)."""
    ratings = table(ctx, name)
    return rules.normalise(ratings, data) if ratings is not None else dict(data)


def dated(ctx: Context, body: dict, at: datetime) -> dict:
    """`body` with the CSI's date: as given, else the day of `at` (when it was recorded, or the
    time a correction gives it) in the agency's zone."""
    if not body.get("date"):
        body["date"] = at.astimezone(ctx.zone).date().isoformat()
    return body


def order(record: Record) -> tuple[str, str, str]:
    """A CSI's place among a case's CSIs: by its own date (a paper CSI entered late goes where it
    was made), then when it was recorded."""
    return str(record.body.get("date") or record.at)[:10], record.at, record.id


def summary(ratings: Mapping[str, Any], records: Iterable[Record], record: Record, lang: str, form: str = KIND) -> dict:
    """One CSI as show, the case file and `cpcm readiness` give it: its ratings labelled, the items
    that need attention, and the change of each item since the CSI before it (`order`; None when it
    is the first). `records`: the case's records (its other CSIs among them)."""
    rows = rules.rated(ratings, record.body, lang)
    before = latest_records([r for r in records if r.kind == KIND and order(r) < order(record)], 1)
    return {"record_id": record.id, "at": record.at, "date": record.body.get("date"), "form": form,
            "ratings": rows, "needs_attention": rules.needs_attention(ratings, rows),
            "changes": rules.changes(rules.rated(ratings, before[0].body, lang), rows) if before else None,
            "previous": {"record_id": before[0].id, "at": before[0].at} if before else None}


def case_records(ctx: Context, case_id: str) -> list[Record]:
    """The case's records in force (a correction in the place of what it corrected)."""
    return effective(read_case(ctx, case_id)[0])


def latest_records(records: Iterable[Record], count: int = 2) -> list[Record]:
    """The case's latest `count` CSI records by their own dates (`order`), the latest first."""
    return sorted((r for r in records if r.kind == KIND), key=order, reverse=True)[:count]


def latest(ctx: Context, records: Iterable[Record], lang: str = "en") -> dict | None:
    """The case's latest CSI: its ratings labelled, the items that need attention, and the change
    of each item since the previous CSI (None when it is the first); None when there is none."""
    records = list(records)
    found = latest_records(records, 1)
    ratings = table(ctx)
    if not found or ratings is None:
        return None
    return summary(ratings, records, found[0], lang)


def change_words(changes: Iterable[Mapping[str, Any]]) -> str:
    """The items that went up or down, in a few words; "no change" when none did."""
    moved = [f"{c['label']} {c['before']}->{c['after']} ({c['change']})" for c in changes if c.get("change") in (rules.UP, rules.DOWN)]
    return "; ".join(moved) if moved else "no item changed"


def line(summary: Mapping[str, Any]) -> str:
    """One line for a worker: the date, each rating (by its CPIMS code; an item the form gives no
    code, the Kenya form's household economic strengthening, by the form's label in the summary's
    language), the items that need attention."""
    ratings = ", ".join(f"{r['code'] or r['label'] or r['key']} {r['rating'] if r['rating'] is not None else '-'}" for r in summary["ratings"])
    attention = summary.get("needs_attention") or []
    text = f"{str(summary.get('date') or summary['at'])[:10]}: {ratings}"
    text += ("; needs attention: " + "; ".join(f"{r['label']} ({r['rating']} {r['rating_label'].lower()})" for r in attention)
             if attention else "; no item rated 1 or 2")
    return text + f" ({summary['record_id']})"
