"""Closing a case and after: cpcm close, reopen and continue."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from cpcm.domain.dates import parse_datetime
from cpcm.errors import FieldError, InvalidInput, Refused
from cpcm.service import reintegration as readiness_mod
from cpcm.service.context import Context, append, form_for, load_case, load_records, validate_form, writes
from cpcm.service.results import Written
from cpcm.workflow import approvals, deadlines
from cpcm.workflow import readiness as readiness_rules
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
    errors += [FieldError("checklist", f"holds an item that is not on the '{reason}' checklist ({', '.join(needed)})")
               for item in given[:1] if any(i not in needed for i in given)]
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
    warnings = _readiness_gate(ctx, case, records, body)
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
    return Written(case_id, record.id, "closure", tuple(warnings), next_steps=steps)


def _readiness_gate(ctx: Context, case, records, body: dict) -> list[str]:
    """The policy's closure_readiness rule (the kenya profile: goals_met needs a recent readiness
    record that meets the Form 7A closure rule); a supervisor or manager may close without one
    with a reason. Keeps the latest readiness on the closure (the closure report shows it) and
    returns the warnings: the override used, or reviews after reunification cut short."""
    policy, reason = ctx.policy, body["reason"]
    worker = ctx.need_worker()
    latest = readiness_mod.latest(ctx, records) if _needs_readiness(policy) or readiness_mod.recorded(records) else None
    if latest is not None:
        body["readiness"] = latest.summary()
    problems = readiness_rules.closure_problems(latest, reason, policy, ctx.now)
    override = body.get("readiness_override")
    warnings = []
    if problems and not override:
        raise Refused(f"closure of {case.id} for '{reason}' needs a recent readiness record that meets the closure rule: "
                      + "; ".join(problems),
                      f"Record the benchmarks (cpcm readiness {case.id}), or a supervisor or manager closes with the reason: "
                      "--override-readiness TEXT (closure_readiness).", rule="closure-readiness")
    if problems:
        roles = list(policy.get("closure_readiness", "override_roles") or ())
        if not worker.has_role(*roles):
            raise Refused(f"only a {' or '.join(roles)} can close without a readiness record that meets the closure rule",
                          "Ask your supervisor, or record the benchmarks: cpcm readiness " + case.id, rule="closure-readiness")
        body["readiness_problems"] = problems
        warnings.append("closing without a readiness record that meets the closure rule, on a supervisor's reason: "
                        + "; ".join(problems))
    elif override:
        del body["readiness_override"]
        warnings.append("--override-readiness was not needed (no readiness rule stops this closure) and is not recorded")
    reunified = case.last("reunification")
    if reason in (policy.get("closure_readiness", "reasons") or ()) and reunified:
        period = policy.duration("review_after_reunification", "period")
        ends = period.after(parse_datetime(reunified).astimezone(deadlines.zone_of(ctx.now)))
        if ctx.now < ends:
            interval = policy.duration("review_after_reunification", "interval")
            warnings.append(f"the child was reunified on {reunified[:10]}: the policy reviews the case every {interval.words()} "
                            f"until {ends.date().isoformat()} (review_after_reunification); closing now ends those reviews early")
    return warnings


def _needs_readiness(policy) -> bool:
    return bool(policy.get("closure_readiness", "required", False))


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
