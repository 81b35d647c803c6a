"""What is still open on a case: referrals with something left to follow up, and the plan's
actions whose latest review status is not finished. `cpcm close` asks for these to be resolved
or explained; the closure report and the transfer summary show the same items. Pure.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.domain.records import Record, utc
from cpcm.workflow import plan_actions
from cpcm.workflow.fold import effective, places

ITEM_DONE = ("done", "dropped")           # a plan item finished (a review's progress status)
REFERRAL_DONE = ("closed", "delivered")   # a referral with nothing left to follow up


def referral_open(status: Any) -> bool:
    return status not in REFERRAL_DONE


def item_open(status: Any) -> bool:
    """Whether a plan item with this review status is still open (no status: open)."""
    return (str(status).strip() if status is not None else None) not in ITEM_DONE


def latest_plan(records: Iterable[Record]) -> Record | None:
    """The latest plan version as the fold reads it (its `case.plan`): the last plan record in the
    order the fold applies them (`effective`), not the highest record ID: a correction of an
    earlier version stands where that version was, and changes neither the latest version nor
    the one in force (`plan_actions.superseded_in_force`)."""
    return next((r for r in reversed(effective(records)) if r.kind == "plan"), None)


def progress(records: Iterable[Record], plan_record: Record | None,
             before: str | None = None) -> tuple[dict[str, tuple[Record, Mapping[str, Any]]], Record | None]:
    """The latest progress entry of each plan item ('G1', 'A1'), with the review (or follow-up)
    that gave it (before `before`, a record id, when given), and the last review after the plan.

    Items are named by their IDs, which last from version to version (plan_actions): an action
    found done under an earlier version and kept in this one is still done, unless the case was
    reopened in between: a version written since the latest reopening (before `before`) counts
    only the entries made since it (`plan_actions.marks_since`, as `cpcm due` reads the fold's). A
    review of a version written before action IDs named an action by its position in that
    version; that is read as the action's ID. A follow-up's or review's `actions_done` (`--done
    A3`) is a 'done' entry. An action ID a sync found given to two actions on two copies apart
    (`plan_actions.clashed`) has no entry from before that merge, as the fold has none."""
    status: dict[str, tuple[Record, Mapping[str, Any]]] = {}
    last = None
    if plan_record is None:
        return status, None
    records = list(records)
    place = places(records)  # a correction counts where the record it corrects was (before the closure, since the plan)
    ordered = sorted(effective(records), key=lambda r: (place.get(r.id, r.id), r.id))
    before = place.get(before, before) if before else before
    since = place.get(plan_record.id, plan_record.id)
    reopened = [utc(r.at) for r in ordered if r.kind == "reopen" and not (before and place.get(r.id, r.id) > before)]
    marks_since = plan_actions.marks_since(plan_record.at, reopened)
    ids = plan_actions.ids_by_version(ordered)
    version: Record | None = None
    merged: set[tuple] = set()  # the plans-concurrent conflicts met (their records)
    for record in ordered:
        if before and place.get(record.id, record.id) > before:
            continue
        if record.kind == "plan":
            version = record
            continue
        if plan_actions.clashed(record) and tuple(record.body.get("records") or ()) not in merged:
            merged.add(tuple(record.body.get("records") or ()))  # the same conflict found by a second merge: once
            for key in plan_actions.clashed(record):  # marked before the merge: of which of two actions, not known
                status.pop(key, None)
            continue
        if record.kind not in ("review", "followup"):
            continue
        if record.kind == "review" and place.get(record.id, record.id) > since:
            last = record
        if marks_since and utc(record.at) < marks_since:  # of the episode before the reopening: not this version's
            continue
        positions = (ids.get(version.id, {}).get("actions") or []) if version is not None and not plan_actions.stored(version.body) else []
        for item in (record.body.get("progress") or []) if record.kind == "review" else []:
            key = str(item.get("item") or "").strip().upper()
            number = plan_actions.id_number(key, plan_actions.ACTION)
            if number and 1 <= number <= len(positions):
                key = positions[number - 1]
            if key:
                status[key] = (record, item)
        for value in record.body.get("actions_done") or []:
            key = plan_actions.parse_action(value)
            if key:
                status[key] = (record, {"item": key, "status": "done"})
    return status, last


def action_ids(records: Iterable[Record], plan_record: Record | None) -> list[str]:
    """The IDs of a plan version's actions, in its order (plan_actions, as the fold works them out)."""
    if plan_record is None:
        return []
    return plan_actions.ids_by_version(effective(records)).get(plan_record.id, {}).get("actions") or []


def plan_before_reopening(case: Case, plan_record: Record | None, policy: Policy | None) -> bool:
    """Whether `plan_record` (the latest plan version) was written before the case's latest
    reopening, and the policy does not keep that plan's actions due after it
    (`plan_action.due_after_reopening`, false by default: a reopened case restarts at assessment
    and a new plan, IAG Step 6 [L946]), so that its actions are not due, as on `cpcm due`."""
    reopened = case.reopened
    if plan_record is None or policy is None or not reopened:
        return False
    if policy.get("plan_action", "due_after_reopening", False):
        return False
    return utc(plan_record.at) < reopened


def unfinished(case: Case, records: list[Record], policy: Policy | None = None) -> dict[str, list[str]]:
    """What is still open on a case: referrals not closed or delivered, and the latest plan's
    actions whose latest status is not done or dropped. With `policy`: the actions of a plan
    from before the latest reopening are not due (`plan_before_reopening`), so they are not
    open items but kept apart, under `actions_before_reopening` (only when there are some)."""
    referrals = [r["ref"] for r in case.referrals if referral_open(r["status"])]
    plan_record = latest_plan(records)
    status, _last = progress(records, plan_record)
    actions = []
    for action_id in action_ids(records, plan_record):
        entry = status.get(action_id)
        if item_open(entry[1].get("status") if entry else None):
            actions.append(action_id)
    if actions and plan_before_reopening(case, plan_record, policy):
        return {"referrals": referrals, "actions": [], "actions_before_reopening": actions}
    return {"referrals": referrals, "actions": actions}
