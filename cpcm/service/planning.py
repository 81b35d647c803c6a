"""Assessing and planning: cpcm assess, plan, approve and reject."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from cpcm.errors import FieldError, InvalidInput, Refused, UsageError
from cpcm.service.context import ASSESSMENT_FORMS, Context, append, form_for, load_case, validate_form, writes
from cpcm.service.results import Written
from cpcm.workflow import approvals


@writes
def assess(ctx: Context, case_id: str, kind: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record an initial, comprehensive or best-interests assessment (risk re-rating included)."""
    kind = kind.replace("-", "_")
    if kind not in ASSESSMENT_FORMS:
        raise UsageError("--type is one of: initial, comprehensive, best-interests")
    case = load_case(ctx, case_id)
    body = validate_form(ctx, form_for(ctx, kind), data, f"{kind.replace('_', '-')} assessment of {case_id}")
    body = {"type": kind, **body}
    new_risk = body.get("risk")
    if new_risk and case.risk and new_risk != case.risk and not body.get("risk_reason"):
        raise InvalidInput([FieldError("risk_reason", f"is required when the risk level changes (from {case.risk} to {new_risk})")],
                           f"{kind} assessment of {case_id}")
    record = append(ctx, case, "assess", "assessment", body, at)
    steps = []
    if kind == "initial":
        outcome = body.get("outcome")
        if outcome in ("close_no_concerns", "close_registered_in_error"):
            steps.append(f"request closure: cpcm close {case_id} --reason {'registered_in_error' if outcome.endswith('error') else 'no_longer_eligible'}")
        elif outcome == "transfer":
            steps.append(f"transfer the case: cpcm transfer {case_id} --to AGENCY ...")
        elif body.get("interim_plan_needed"):
            steps.append(f"record an interim plan now: cpcm plan {case_id} (with interim: yes)")
        else:
            steps.append(f"the comprehensive assessment: cpcm assess {case_id} --type comprehensive")
    elif kind == "comprehensive":
        limit = ctx.policy.duration("case_plan", "limit")
        steps.append(f"case plan within {limit.words()}: cpcm plan {case_id}")
    return Written(case_id, record.id, "assessment", next_steps=tuple(steps))


@writes
def plan(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record a new version of the case plan; in force once approved where the policy says so."""
    case = load_case(ctx, case_id)
    body = validate_form(ctx, form_for(ctx, "plan"), data, f"plan for {case_id}")
    errors = []
    ids = []
    for index, goal in enumerate(body["goals"], start=1):
        goal.setdefault("id", f"G{index}")
        if goal["id"] in ids:
            errors.append(FieldError(f"goals[{index}].id", f"'{goal['id']}' is used twice"))
        ids.append(goal["id"])
    for index, action in enumerate(body["actions"], start=1):
        if action.get("goal") and action["goal"] not in ids:
            errors.append(FieldError(f"actions[{index}].goal", f"no goal with id '{action['goal']}' ({', '.join(ids)})"))
    if errors:
        raise InvalidInput(errors, f"plan for {case_id}")
    if body.get("interim") is None and case.stage in ("registered", "initial_assessment", "reopened"):
        body["interim"] = True
    record = append(ctx, case, "plan", "plan", body, at)
    version = (case.plan or {}).get("version", 0) + 1
    steps = []
    if approvals.required(ctx.policy, "plan"):
        steps.append(f"plan version {version} is in force once a supervisor approves it: cpcm approve {case_id} plan")
    return Written(case_id, record.id, "plan", next_steps=tuple(steps))


@writes
def approve(ctx: Context, case_id: str, subject: str, note: str | None = None, at: datetime | None = None) -> Written:
    """A supervisor's approval of a plan, a closure or a transfer (not of one's own, unless the
    policy allows it)."""
    return _decide(ctx, case_id, subject, True, note, at)


@writes
def reject(ctx: Context, case_id: str, subject: str, note: str | None = None, at: datetime | None = None) -> Written:
    """A supervisor's rejection of a plan, a closure or a transfer, with a note saying why."""
    return _decide(ctx, case_id, subject, False, note, at)


def _decide(ctx: Context, case_id: str, subject: str, approve: bool, note: str | None, at: datetime | None) -> Written:
    actor = ctx.need_worker()
    verb = "approve" if approve else "reject"
    if subject not in ("plan", "closure", "transfer"):
        raise UsageError("that cannot be approved or rejected", "Approve or reject: plan, closure or transfer.")
    if not approve and not (note or "").strip():
        raise InvalidInput([FieldError("note", "is required: say why, so the worker knows what to change")], "rejection")
    if not approvals.oversees(actor):
        raise Refused(f"only a supervisor or manager can {verb} a {subject}", "Ask your supervisor.", rule="approval-needs-supervisor")
    case = load_case(ctx, case_id)
    verdict = approvals.may_approve(ctx.policy, subject, actor, case)
    if verdict.refusal == "nothing-to-approve":
        raise Refused(f"{case_id} has no {subject} waiting for a decision", rule="nothing-to-approve")
    if verdict.refusal == "self-approval":
        who = "the case's own worker" if verdict.own == "case" else "the one who asked for it"
        raise Refused(f"you are {who}: someone else must {verb} this {subject}",
                      f"The policy ({approvals.rule_of(subject)}.self_approval) needs another supervisor or manager.",
                      rule="self-approval")
    if not verdict:
        raise Refused(f"only a supervisor or manager can {verb} a {subject}", "Ask your supervisor.", rule="approval-needs-supervisor")
    pending = approvals.pending(case, subject)
    body = {"subject": subject, "target": pending.get("record_id")}
    if note:
        body["note"] = note.strip()
    record = append(ctx, case, verb, "approval" if approve else "rejection", body, at)
    return Written(case_id, record.id, record.kind)
