"""What is still open on a case: referrals with something left to follow up, and the plan's
actions whose latest review status is not finished. `cpcm close` asks for these to be resolved
or explained; the closure report and the transfer summary show the same items. Pure.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.records import Record

ITEM_DONE = ("done", "dropped")           # a plan item finished (a review's progress status)
REFERRAL_DONE = ("closed", "delivered")   # a referral with nothing left to follow up


def referral_open(status: Any) -> bool:
    return status not in REFERRAL_DONE


def item_open(status: Any) -> bool:
    """Whether a plan item with this review status is still open (no status: open)."""
    return (str(status).strip() if status is not None else None) not in ITEM_DONE


def latest_plan(records: Iterable[Record]) -> Record | None:
    return max((r for r in records if r.kind == "plan"), key=lambda r: r.id, default=None)


def progress(records: Iterable[Record], plan_record: Record | None,
             before: str | None = None) -> tuple[dict[str, tuple[Record, Mapping[str, Any]]], Record | None]:
    """The latest progress entry of each plan item ('G1', 'A1'), with the review that gave it,
    from the reviews after the plan (and before `before`, a record id, when given); and the last
    such review."""
    status: dict[str, tuple[Record, Mapping[str, Any]]] = {}
    last = None
    if plan_record is None:
        return status, None
    for record in sorted(records, key=lambda r: r.id):
        if record.kind != "review" or record.id <= plan_record.id or (before and record.id > before):
            continue
        last = record
        for item in record.body.get("progress") or []:
            key = str(item.get("item") or "").strip().upper()
            if key:
                status[key] = (record, item)
    return status, last


def unfinished(case: Case, records: list[Record]) -> dict[str, list[str]]:
    """What is still open on a case: referrals not closed or delivered, and the latest plan's
    actions whose latest review status is not done or dropped."""
    referrals = [r["ref"] for r in case.referrals if referral_open(r["status"])]
    plan_record = latest_plan(records)
    status, _last = progress(records, plan_record)
    actions = []
    for number, _action in enumerate((plan_record.body.get("actions") if plan_record else None) or [], start=1):
        entry = status.get(f"A{number}")
        if item_open(entry[1].get("status") if entry else None):
            actions.append(f"A{number}")
    return {"referrals": referrals, "actions": actions}
