"""Closing a case and after: cpcm close, reopen and continue."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from cpcm.errors import FieldError, InvalidInput
from cpcm.service.context import Context, append, form_for, load_case, load_records, validate_form, writes
from cpcm.service.results import Written
from cpcm.workflow import approvals
from cpcm.workflow.fold import fold
from cpcm.workflow.open_items import unfinished


@writes
def close(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Request closure with the reason's checklist; the case closes when a supervisor or manager
    (not its own worker) approves, or at once where the policy needs no approval."""
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    body = validate_form(ctx, form_for(ctx, "closure"), data, f"closure of {case_id}")
    reason = body["reason"]
    needed = list(ctx.policy.get("closure_reasons", reason) or [])
    given = list(body.get("checklist") or [])
    errors = [FieldError(f"checklist.{item}", f"is required to close for '{reason}': confirm it with --check {item}")
              for item in needed if item not in given]
    errors += [FieldError("checklist", f"'{item}' is not on the '{reason}' checklist ({', '.join(needed)})")
               for item in given if item not in needed]
    if reason == "goals_met":
        wanted = int(ctx.policy.get("pre_closure_monitoring", "followups") or 0)
        since = (case.plan or {}).get("at")
        done = len([t for t in case.events.get("followup", ()) if since is None or t >= since])
        if done < wanted:
            errors.append(FieldError("followups", f"{done} follow-up(s) since the plan; the policy asks for {wanted} before closing "
                                                  "(pre_closure_monitoring)"))
    left = unfinished(case, records)
    if (left["referrals"] or left["actions"]) and not body.get("open_items_explained"):
        items = ", ".join([f"referral {r}" for r in left["referrals"]] + [f"action {a}" for a in left["actions"]])
        errors.append(FieldError("open_items_explained", f"open items remain ({items}): resolve them or explain why they can be left"))
    if errors:
        raise InvalidInput(errors, f"closure of {case_id}")
    body["open_items"] = left
    if not approvals.required(ctx.policy, "closure"):
        body["immediate"] = True
    record = append(ctx, case, "close", "closure", body, at)
    if body.get("immediate"):
        limit = ctx.policy.duration("post_closure_visit", "limit")
        steps = (f"the case is closed; a post-closure visit is due within {limit.words()}",)
    else:
        who = ("a supervisor or manager" if approvals.self_allowed(ctx.policy, "closure")
               else f"a supervisor or manager other than {case.worker}")
        steps = (f"closure requested: {who} approves it: cpcm approve {case_id} closure",)
    return Written(case_id, record.id, "closure", next_steps=steps)


@writes
def reopen(ctx: Context, case_id: str, reason: str, at: datetime | None = None) -> Written:
    """Reopen a closed or transferred case: same case ID, history kept, back to assessment."""
    if not (reason or "").strip():
        raise InvalidInput([FieldError("reason", "is required: the new information or changed situation")], f"reopening of {case_id}")
    case = load_case(ctx, case_id)
    record = append(ctx, case, "reopen", "reopen", {"reason": reason.strip()}, at)
    limit = ctx.policy.duration("initial_assessment", "limit")
    return Written(case_id, record.id, "reopen", next_steps=(f"the clocks restart: initial assessment within {limit.words()}",))


@writes
def continue_(ctx: Context, case_id: str, justification: str, at: datetime | None = None) -> Written:
    """Keep a case open as the child reaches 18, with the recorded justification."""
    if not (justification or "").strip():
        raise InvalidInput([FieldError("justification", "is required: why the young person still needs the service")],
                           f"continuation of {case_id}")
    case = load_case(ctx, case_id)
    record = append(ctx, case, "continue", "continuation", {"justification": justification.strip()}, at)
    return Written(case_id, record.id, "continuation")
