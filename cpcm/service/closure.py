"""Closing a case and after: cpcm close, reopen and continue."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping

from cpcm.domain.dates import as_date, end_of_day, local_day, parse_datetime
from cpcm.domain.forms import confirmed
from cpcm.domain.text import said
from cpcm.errors import RECORDS_HINT, FieldError, InvalidInput, Refused, named_record
from cpcm.service import reintegration as readiness_mod
from cpcm.service.context import Context, append, at_errors, check_step, clock_said, form_for, form_problems, input_hint, load_case, load_records, validate_form, writes
from cpcm.service.planning import approve_command, approvers_warning, said_settled, settled_in, settles_step, take_back
from cpcm.service.results import Written
from cpcm.workflow import approvals, deadlines, rules, transitions
from cpcm.workflow.age import age_limit
from cpcm.workflow import readiness as readiness_rules
from cpcm.workflow import placements as path_rules
from cpcm.workflow.fold import effective, fold, places
from cpcm.workflow.open_items import unfinished


@writes
def close(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Request closure with the reason's checklist; the case closes when a supervisor or manager
    (not its own worker) approves, or at once where the policy needs no approval. Every problem
    is refused at once, in the order they are put right (`closure_problems`); nothing is written."""
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    check_step(ctx, case, "closure")  # the stage before the form: no field makes a step allowed
    body, errors, warnings, left, hint = closure_problems(ctx, case, records, data, at)
    if errors:
        raise InvalidInput(errors, named_record("closure", case=case_id), hint=hint)
    body["open_items"] = left
    if not approvals.required(ctx.policy, "closure"):
        body["immediate"] = True
    record = append(ctx, case, "close", "closure", body, at)
    if body.get("immediate"):
        visit = clock_said(ctx, lambda: fold(case_id, records + [record]), "post-closure-visit",
                           f"is due within {ctx.policy.cited('post_closure_visit')}", at)
        steps = ((f"the case is closed; a post-closure visit {visit}",)
                 if deadlines.post_closure_visit_owed(case, ctx.policy, reason=body.get("reason"))
                 else (no_visit_words(case, body.get("reason")),))
    else:
        after = fold(case_id, records + [record])
        nobody = approvers_warning(ctx, case_id, after, "the closure", "closure")
        # where nobody may run `cpcm approve` on it, the warning names the ways out, as for a plan version
        steps = () if nobody else (f"closure requested: {_approver_words(ctx, after)} approves it: "
                                   f"{approve_command(ctx, case_id, after, 'closure')}",)
        warnings += nobody
    return Written(case_id, record.id, "closure", tuple(warnings), next_steps=steps)


def closure_problems(ctx: Context, case, records, data: Mapping[str, Any],
                     at: datetime | None = None) -> tuple[dict, list[FieldError], list[str], dict, str | None]:
    """Everything that stands against a closure request, gathered so that one refusal lists it
    all: (the body it would write, the problems, the warnings, the open items, the hint). The problems come
    in the order they are put right: the reason; then what is recorded first, as records of
    their own (the pre-closure follow-ups, the readiness record where the policy asks for one,
    the external sign-off); then the fields of the request itself (the form, the checklist, the
    feedback, the open items, --at). A form whose reason is missing or not the policy's is
    refused on its fields alone: every other rule depends on the reason."""
    case_id = case.id
    body, form_errors = form_problems(ctx, form_for(ctx, "closure"), data)
    if any(e.field == "reason" for e in form_errors) or not body.get("reason"):
        raise InvalidInput([*form_errors, *at_errors(ctx, case, at)], named_record("closure", case=case_id), hint=input_hint(ctx, form_errors))
    reason = body["reason"]
    needed = list(ctx.policy.get("closure_reasons", reason) or [])
    signed_item = sign_off_item(ctx.policy, reason)
    typed = list(body.get("checklist") or [])
    # '--check all' confirms every item, as refer and transfer take it (forms.confirmed, the one rule);
    # an item the sign-off confirms is not among them
    given, unknown = confirmed([c for c in typed if c != signed_item], [i for i in needed if i != signed_item], "checklist")
    given += [signed_item] if signed_item in typed else []
    if typed:
        body["checklist"] = given
    checked = reason_errors(ctx, case, reason, given, on=closure_day(ctx, at))
    first = [e for e in checked if e.field == "reason"]  # the reason does not fit the case: choose another first
    fields = [e for e in checked if e.field != "reason"]
    if any(e.field == "checklist" for e in form_errors):  # not read (an item that is not a code: named by the form):
        fields = [e for e in fields if not e.field.startswith("checklist.")]  # what it lacks is not known, nor claimed
    records_first: list[FieldError] = []
    wanted = transitions.pre_closure_followups(ctx.policy, reason)
    if wanted:
        since = (case.plan or {}).get("at")
        done = len([t for t in case.events.get("followup", ()) if since is None or t >= since])
        if done < wanted:
            records_first.append(FieldError("followups", f"{done} follow-up(s) since the plan; the policy asks for {wanted} before closing "
                                                         f"(pre_closure_monitoring): record the visit first (cpcm followup {case_id} "
                                                         "--purpose pre_closure ...)"))
    readiness_errors, warnings = _readiness_gate(ctx, case, records, body)
    refused, in_care = in_care_problem(ctx, case, reason)
    first += [FieldError("reason", refused, rule="closure-in-care")] if refused else []
    warnings += in_care
    records_first += readiness_errors
    records_first += _sign_off_gate(ctx, case, records, body, signed_item)
    if signed_item and signed_item in given:
        party = ctx.policy.get("closure_sign_off", "party")
        fields.append(FieldError(f"checklist.{signed_item}", f"is confirmed by the recorded sign-off of the {party}, not by --check: "
                                                             f"a supervisor records it with cpcm sign-off {case_id} --for closure --party {party} ..."))
    fields += form_errors
    fields += _feedback_errors(ctx.policy, reason, body)
    if unknown:  # never echoed: say how many, and what the checklist holds
        fields.append(FieldError("checklist", f"{len(unknown)} --check value(s) given are not on the '{reason}' checklist, whose "
                                              f"items are: {', '.join(i for i in needed if i != signed_item)} (or all)"))
    left = unfinished(case, records, ctx.policy)  # the actions of a plan from before a reopening are not due
    if (left["referrals"] or left["actions"]) and not body.get("open_items_explained"):
        items = ", ".join([f"referral {r}" for r in left["referrals"]] + [f"action {a}" for a in left["actions"]])
        fields.append(FieldError("open_items_explained", f"open items remain ({items}): resolve them or explain why they can be left (--explain-open TEXT)"))
    fields += at_errors(ctx, case, at)
    # what to do: the records in the order listed; else, where the form's fields were wrong, how they are given
    hint = RECORDS_HINT if records_first else input_hint(ctx, form_errors)
    return body, [*first, *records_first, *fields], warnings, left, hint


def in_care_problem(ctx: Context, case, reason: str | None) -> tuple[str | None, list[str]]:
    """Closing the case of a child who still lives in alternative care (placements.left_in_care, the
    policy's `closure_in_care`): (why the closure is refused for this reason, rule closure-in-care;
    else None, the warning that says so), for `cpcm close` and `cpcm approve CASE closure`. Codes,
    the case's and the placement's IDs and dates only: never the institution or the caregiver."""
    placement = path_rules.left_in_care(case, reason, ctx.policy)
    if placement is None:
        return None, []
    care_type, setting = placement.get("care_type"), placement.get("setting")
    expires = (placement.get("court_order") or {}).get("expires")
    entered, record_id = path_rules.began(placement)  # the day the child entered it: a renewed order restarts nothing
    where = (f"{case.id}: the child still lives in {care_type} ({setting.replace('_', '-')} care) since "
             f"{local_day(entered, ctx.zone)} (placement {record_id})"
             + (f", under a court order expiring {str(expires)[:10]}" if expires else ""))
    exit_kind = " --cci-exit KIND" if setting == "residential" else ""
    move = (f"record where the child lives now first: cpcm placement {case.id} --care-type TYPE{exit_kind} ... "
            "(docs/commands/placements.md)")
    if path_rules.closure_in_care_refused(placement, reason, ctx.policy):
        return (f"{where}: a case is not closed for '{reason}' while the child lives there ({ctx.policy.short_source('closure_in_care', 'refused')}): "
                f"{move}, or close for the reason that fits"), []
    return None, [f"{where}: closing the case leaves the child there with no one following the placement: {move}; "
                  "or, if the child stays there, close knowing it: cpcm report placements lists the case among closed "
                  "cases whose child is still in care (closure_in_care)"]


def no_visit_words(case, reason: Any) -> str:
    """What a closure that owes no post-closure visit leaves to do (deadlines.post_closure_visit_owed):
    nothing here, for a case merged into another (the visit is the child's case's) or a closure for a
    reason after which the policy owes none (post_closure_visit.reasons: registered in error, a death,
    a transfer, ...). Words of the rule, the case's ID and the reason's code only."""
    if case.merged_into is not None:
        return merged_away_words(case)
    return (f"{case.id} is closed ({reason}): no post-closure visit is due after a closure for this reason "
            "(post_closure_visit.reasons: the visit follows a closure after services, IAG Step 6 [L944])")


def merged_away_words(case) -> str:
    """What closing a case merged into another leaves to do: nothing here (deadlines.post_closure_visit_owed).
    Words true whether the child's case is closed already or not: its visit follows its own closure."""
    return (f"{case.id} is closed; it was merged into {case.merged_into}, the child's case, so no post-closure visit is due "
            f"on it: the visit is {case.merged_into}'s, after that case's own closure")


def _approver_words(ctx: Context, case) -> str:
    """Who may approve the case's pending closure, in words: a supervisor or manager other than
    those the policy bars (approvals.barred: the one who asked for it and the case's worker)."""
    barred = approvals.barred(ctx.policy, "closure", case)
    if not barred:
        return "a supervisor or manager"
    asked = (approvals.pending(case, "closure") or {}).get("by")
    roles = {w: [role for role, who in (("who asked for it", asked), ("the case's worker", case.worker)) if who == w]
             for w in barred}
    named = [f"{w} ({' and '.join(roles[w])})" for w in sorted(barred, key=lambda w: (w != asked, w))]
    return "a supervisor or manager other than " + " and ".join(named)


@writes
def close_withdraw(ctx: Context, case_id: str, reason: str, at: datetime | None = None) -> Written:
    """The one who asked for a closure takes the request back while it waits for a decision
    (planning.take_back); the case returns to the stage it had when the closure was requested,
    unless another closure request, merged from a copy apart, still waits (then that one stands,
    and the sync's `two-closures` conflict is settled)."""
    records, record = take_back(ctx, case_id, "closure", reason, at)
    after = fold(case_id, records + [record])
    still = approvals.pending(after, "closure")
    if still:  # two requests merged from copies apart: the other one waits for its decision
        steps = (f"the closure requested by {still.get('by')} still waits: {_approver_words(ctx, after)} decides it: "
                 f"{approve_command(ctx, case_id, after, 'closure')}",)
    else:
        steps = (f"the case is back at stage '{after.stage}'; request closure again when it is ready: cpcm close {case_id} --reason ...",)
    settled = settled_in(after, record)
    return Written(case_id, record.id, "withdrawal", next_steps=steps + settles_step(settled), settled=said_settled(case_id, settled))


def closure_day(ctx: Context, at: datetime | None) -> date:
    """The day a closure (or its approval) is dated, `at` or now, in the agency's time zone: the day
    a closure for reached_18 is judged on (transitions.closure_age_problem)."""
    moment = at or ctx.now
    return (moment.astimezone(ctx.zone) if ctx.zone is not None and moment.tzinfo is not None else moment).date()


def age_corrected_warnings(ctx: Context, before, after) -> list[str]:
    """What a change of the child's date of birth or estimated age (`cpcm update`, `cpcm correct`)
    means for a closure for reached_18 that `closure_age_problem` no longer lets stand, and let
    stand before: a request waiting for a decision (judged on today, the earliest day it can be
    approved on: the approval would be refused) or a closure approved (judged on the day the case
    closed: `cpcm check` reports it, closed-reached-18-under-age). Says what to do; names no age."""
    years, reason = age_limit(ctx.policy), transitions.AGE_REASON
    waiting = approvals.pending(after, "closure")
    if waiting and waiting.get("reason") == reason:
        today = closure_day(ctx, None)
        if transitions.closure_age_problem(after, reason, years, today) and not transitions.closure_age_problem(before, reason, years, today):
            return [f"the closure of {after.id} for '{reason}' waits for a decision, and by the age now on file the child is under "
                    f"{years} today: its approval would be refused (closure-reason-age); its worker withdraws the request "
                    f"(cpcm close {after.id} --withdraw --reason ...) and asks again for the reason that fits, or a supervisor "
                    f"rejects it (cpcm reject {after.id} closure --note ...)"]
        return []
    closed = transitions.closed_under_age(after, years, ctx.zone)
    if closed is not None and transitions.closed_under_age(before, years, ctx.zone) is None:
        return [f"{after.id} was closed for '{reason}' on {closed.isoformat()}, and by the age now on file the child was under "
                f"{years} that day (cpcm check reports it: closed-reached-18-under-age): a supervisor or manager reopens the case "
                f"(cpcm reopen {after.id} --reason ...), or, if the age now on file is wrong, it is corrected again"]
    return []


def reason_errors(ctx: Context, case, reason: str, given: list, correcting: bool = False,
                  outcome: bool = True, on: date | None = None) -> list[FieldError]:
    """A closure's reason checked against the case (`closure_reason_problem`: not_eligible and
    no_concerns say what the initial assessment concluded; `closure_age_problem`: reached_18 needs the
    child to be 18 or more on the closure's day `on`, rule closure-reason-age) and the reason's
    checklist against the items `given` (the one an external sign-off confirms aside): for `cpcm
    close`, and for a correction of a closure request that changes its reason or checklist
    (`correcting`: the checklist is then given whole, `--set "checklist=a;b"`; `outcome`: the reason
    is checked against the case, as it is when the reason is given or changed)."""
    needed = list(ctx.policy.get("closure_reasons", reason) or [])
    signed_item = sign_off_item(ctx.policy, reason)
    missing = [item for item in needed if item not in given and item != signed_item]
    how = (lambda item: f'give the whole checklist: --set "checklist={";".join(i for i in needed if i != signed_item)}"') \
        if correcting else (lambda item: f"confirm it with --check {item}")
    errors = [FieldError(f"checklist.{item}", f"is required to close for '{reason}': {how(item)}") for item in missing]
    unfit = transitions.closure_reason_problem(case, reason) if outcome else None  # not_eligible, no_concerns: what the
    if unfit:                                                                           # initial assessment concluded
        return [FieldError("reason", unfit), *errors]
    young = transitions.closure_age_problem(case, reason, age_limit(ctx.policy), on) if outcome and on is not None else None
    return [FieldError("reason", young, rule="closure-reason-age"), *errors] if young else errors


def sign_off_item(policy, reason: str) -> str | None:
    """The checklist item an external sign-off confirms when closing for `reason` (the kenya
    profile: Form 9A item 5, the Sub-County Children's Officer's final approval), or None."""
    if not policy.get("closure_sign_off", "required", False) or reason not in (policy.get("closure_sign_off", "reasons") or ()):
        return None
    return str(policy.get("closure_sign_off", "item"))


def closure_sign_offs(case, records, zone) -> list:
    """The approving external sign-offs for closure given since the case was last reopened or
    taken in: recorded since (older ones were for an earlier closure, or another agency's) and,
    after a reopening, dated since it (`_signed_before_reopening`): an approval dated before the
    reopening and entered after it was given for the closure that ended the earlier episode."""
    return [r for r in _approving_sign_offs(records, since_boundary=True) if not _signed_before_reopening(case, r, zone)]


def _approving_sign_offs(records, since_boundary: bool) -> list:
    """The approving external sign-offs for closure on the case (each as corrected), those
    recorded since the case was last reopened or taken in where `since_boundary`."""
    records = records if isinstance(records, list) else list(records)
    place = places(records)  # of all the records: a correction of a correction stands where its first original was
    records = effective(records)  # a corrected sign-off by its correction, in the place of the one it corrected
    boundary = max((r.id for r in records if r.kind in ("reopen", "transfer_in")), default="") if since_boundary else ""
    return [r for r in records if r.kind == "sign_off" and place.get(r.id, r.id) > boundary
            and r.body.get("subject") == "closure" and r.body.get("decision") == "approved"]


def _signed_before_reopening(case, record, zone) -> bool:
    """Whether sign-off `record` was given before the case's latest reopening, or before it was
    received from another agency (an approval of there), by the approval's own date (`date`: a
    date alone stands for its whole day in `zone`, as a deadline given as a date does,
    dates.end_of_day), not by when it was entered; the one comparison with the reopening
    (deadlines.before_reopening). A sign-off without a date goes by its record's time."""
    try:
        given = end_of_day(as_date(record.body["date"]), zone).isoformat()
    except (KeyError, ValueError):
        given = record.at
    from cpcm.reports.common import received_at  # the one rule of when a received case came here

    received = received_at(case)
    return deadlines.before_reopening(case, given) or received is not None and parse_datetime(given) < received


def may_sign_off(ctx: Context) -> None:
    """Refused unless the worker may enter an external sign-off, or correct one
    (closure_sign_off.enter_roles: a supervisor or manager)."""
    roles = list(ctx.policy.get("closure_sign_off", "enter_roles") or ())
    if not ctx.need_worker().has_role(*roles):
        raise Refused(f"only a {' or '.join(roles)} records an external sign-off", "Ask your supervisor to enter it.",
                      rule="sign-off-role")


def sign_off_corrected(case_id: str, base: Mapping[str, Any], body: Mapping[str, Any]) -> list[FieldError]:
    """What a correction of a sign-off may not change: what was signed off, by whom and the
    decision (another decision is a sign-off of its own); its name, title, date, reference and
    note are corrected."""
    return [FieldError(key, f"cannot be changed by a correction: record the sign-off as it was given (cpcm sign-off {case_id} ...)")
            for key in ("subject", "party", "decision") if body.get(key) != base.get(key)]


def sign_off_summary(record) -> dict:
    """What the closure keeps of a sign-off (and the closure report prints)."""
    b = record.body
    return {"record_id": record.id, "party": b.get("party"), "name": b.get("name"), "title": b.get("title"),
            "date": b.get("date"), "reference": b.get("reference"), "entered_by": record.by}


def _sign_off_gate(ctx: Context, case, records, body: dict, item: str | None) -> list[FieldError]:
    """Keeps every approving sign-off for closure on the closure; where the policy needs one by
    its `party` for this reason (closure_sign_off), the problem when there is none (rule
    closure-sign-off), else its checklist item is confirmed by it."""
    signed = closure_sign_offs(case, records, ctx.zone)
    if signed:
        body["sign_offs"] = [sign_off_summary(r) for r in signed]
    if item is None:
        return []
    party = str(ctx.policy.get("closure_sign_off", "party"))
    if not any(r.body.get("party") == party for r in signed):
        # one given for the closure before the latest reopening is on the case, but counts for none since
        earlier = case.reopened and any(r.body.get("party") == party for r in _approving_sign_offs(records, since_boundary=False))
        none = (f"none given since the case was reopened on {local_day(case.reopened, ctx.zone)} is on the case (one given "
                "before the reopening, or recorded before it, was for the earlier closure)" if earlier else "none is on the case")
        return [FieldError("sign_off", f"closing for '{body['reason']}' needs the final approval of the {party_words(ctx, party)} "
                                       f"(checklist item {item}), recorded as an external sign-off, and {none}: "
                                       f"a supervisor or manager records it, with the approver's name, title and date: cpcm sign-off "
                                       f"{case.id} --for closure --party {party} --name NAME --title TITLE --date YYYY-MM-DD "
                                       "(closure_sign_off)", rule="closure-sign-off")]
    body["checklist"] = list(body.get("checklist") or []) + [item]
    return []


def party_words(ctx: Context, party: str) -> str:
    """An external approver (a sign-off's `party`) in words for a message, from the sign-off
    form's choice_labels ("Sub-County Children's Officer", "alternative care committee"); the
    code itself when the form does not name it."""
    from cpcm.store import forms

    words = str(((forms.choice_labels("sign-off", ctx.root).get("party") or {}).get(party) or {}).get("en") or party)
    parts = words.split()
    a_title = len(parts) > 1 and parts[0][:1].isupper() and parts[-1][:1].isupper()  # an office's title keeps its capitals
    return words if a_title else words[:1].lower() + words[1:]


def _feedback_errors(policy, reason: str, body: Mapping[str, Any]) -> list[FieldError]:
    """Where the policy asks for the child's and the caregiver's feedback at closure
    (closure_feedback: the kenya profile, Form 9A): whether each gave it, yes or no."""
    if not policy.get("closure_feedback", "required", False) or reason not in (policy.get("closure_feedback", "reasons") or ()):
        return []
    feedback = body.get("feedback") or {}
    return [FieldError(f"feedback.{who}_given", f"is required to close for '{reason}' (closure_feedback): did the {word} give "
                                                f"feedback on the services, yes or no (--{who}-feedback TEXT, or --set feedback.{who}_given=no)")
            for who, word in (("child", "child"), ("caregiver", "caregiver")) if feedback.get(f"{who}_given") is None]


@writes
def sign_off(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record an external approver's sign-off (the Sub-County Children's Officer's final approval
    of a closure, an alternative care committee's): by name, title and date, entered by a
    supervisor or manager (closure_sign_off.enter_roles). The approver is not a team member."""
    may_sign_off(ctx)
    case = load_case(ctx, case_id)
    check_step(ctx, case, "sign_off")  # the stage before the form: no field makes a step allowed
    body = validate_form(ctx, form_for(ctx, "sign_off"), data, f"sign-off of {case_id}")
    record = append(ctx, case, "sign-off", "sign_off", body, at)
    steps, warnings = (), ()
    earlier = body["subject"] == "closure" and _signed_before_reopening(case, record, ctx.zone)
    if body["subject"] == "closure" and body["decision"] == "approved" and case.stage != "closure_requested" and not earlier:
        steps = (f"the closure can be requested now: cpcm close {case_id} --reason REASON --check ...",)
    if earlier:
        warnings = (f"this sign-off is dated before the case was reopened ({local_day(case.reopened, ctx.zone)}): it is kept on "
                    "the case, but a closure since the reopening needs one given since",)
    elif body["subject"] == "closure" and case.stage == "closure_requested":
        warnings = ("closure was already requested: this sign-off is kept on the case; the closure request holds the sign-offs "
                    "recorded before it",)
    return Written(case_id, record.id, "sign_off", warnings, next_steps=steps)


def _readiness_gate(ctx: Context, case, records, body: dict) -> tuple[list[FieldError], list[str]]:
    """The policy's closure_readiness rule (the kenya profile: goals_met needs a recent readiness
    record that meets the Form 7A closure rule); a supervisor or manager may close without one
    with a reason. Keeps the latest readiness on the closure (the closure report shows it) and
    returns (the problems, rule closure-readiness; the warnings: the override used, or reviews
    after reunification cut short)."""
    policy, reason = ctx.policy, body["reason"]
    worker = ctx.need_worker()
    latest = readiness_mod.latest(ctx, records) if _needs_readiness(policy) or readiness_mod.recorded(records) else None
    if latest is not None:
        body["readiness"] = latest.summary()
    reunified = path_rules.reunified_at(case)  # a readiness record from before the child went home does not count
    problems = readiness_rules.closure_problems(latest, reason, policy, ctx.now, reunified, case.reopened)  # in English, for the messages
    override = body.get("readiness_override")
    warnings = []
    if problems and not override:
        return [FieldError("readiness", f"closing for '{reason}' needs a recent readiness record that meets the closure rule "
                                        "(closure_readiness): " + "; ".join(problems) + f" (cpcm readiness {case.id} --from-file F); "
                                        "or a supervisor or manager closes without one, with the reason: --override-readiness TEXT",
                           rule="closure-readiness")], []
    if problems:
        roles = list(policy.get("closure_readiness", "override_roles") or ())
        if not worker.has_role(*roles):
            return [FieldError("readiness_override", f"only a {' or '.join(roles)} can close without a readiness record that meets "
                                                     "the closure rule (" + "; ".join(problems) + "): ask your supervisor, or record "
                                                     f"the benchmarks: cpcm readiness {case.id}", rule="closure-readiness")], []
        # as codes, not the messages' English: a document says them in its own language
        body["readiness_problems"] = readiness_rules.closure_gaps(latest, reason, policy, ctx.now, reunified, case.reopened)
        warnings.append("closing without a readiness record that meets the closure rule, on a supervisor's reason: "
                        + "; ".join(problems))
    elif override:
        del body["readiness_override"]
        warnings.append("--override-readiness was not needed (no readiness rule stops this closure) and is not recorded")
    period = deadlines.reunification_period(case, policy, deadlines.zone_of(ctx.now))
    if reason in (policy.get("closure_readiness", "reasons") or ()) and period is not None and ctx.now < period[1]:
        reunified, ends = period
        interval = policy.duration("review_after_reunification", "interval")
        warnings.append(f"the child was reunified on {reunified.date().isoformat()}: the policy reviews the case every "
                        f"{interval.words()} until {ends.date().isoformat()} (review_after_reunification); closing now ends "
                        "those reviews early")
    return [], warnings


def _needs_readiness(policy) -> bool:
    return bool(policy.get("closure_readiness", "required", False))


@writes
def reopen(ctx: Context, case_id: str, reason: str, at: datetime | None = None) -> Written:
    """Reopen a closed or transferred case: same case ID, history kept, back to assessment. A case merged
    into another (`merge-cases KEEP THIS`) is reopened with a warning naming the case the child's work goes
    on in (docs/commands/sync.md#cpcm-merge-cases): nothing is merged into it again, so work done in it is
    apart from the child's case."""
    if not said(reason):
        raise InvalidInput([FieldError("reason", "is required: the new information or changed situation")], named_record("reopen", case=case_id))
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    record = append(ctx, case, "reopen", "reopen", {"reason": reason.strip()}, at)
    warnings = _merged_away(ctx, case)
    zone = deadlines.zone_of(ctx.now)  # the reopening counted from in the agency's zone, as `due` will list it
    _due, _target, response = deadlines.initial_assessment_due(ctx.policy, case.risk, parse_datetime(record.at), zone)
    within = ("within " + ctx.policy.cited("initial_assessment") if response is None
              else f"{'' if response.same_day else 'within '}{response.words()} ({case.risk} risk; "
                   f"{ctx.policy.short_source('risk_response')})")
    reopened = fold(case_id, [*records, record])
    within = clock_said(ctx, lambda: reopened, "initial-assessment", within, at)  # dated back: its due time
    if case.merged_into is not None:  # the work goes on in the child's case, not in this alias (merge-cases)
        return Written(case_id, record.id, "reopen", warnings, next_steps=_merged_away_steps(ctx, case, within))
    # a case whose worker has left the team is nobody's once reopened, its clocks running: it is assigned first
    # (docs/team.md; the one rule of `cpcm check`'s case-worker-removed, rules.unattended)
    absent = rules.off_team(ctx.team)
    nobody = (rules.unattended_text(reopened, absent),) if rules.unattended(reopened, absent, ctx.policy, ctx.now) else ()
    return Written(case_id, record.id, "reopen", warnings, next_steps=(
        f"the clocks restart: initial assessment {within}", *nobody,
        f"assess the child again (cpcm assess {case_id} --type initial, then --type comprehensive) and write a new plan: "
        f"cpcm plan {case_id} --from-file F, reason after_reopening"))


def _merged_away_steps(ctx: Context, case, within: str) -> tuple[str, ...]:
    """What comes after reopening a case merged into another: the assessments and the plan are the child's case's
    (its `merged_into` followed, as far as the worker reads): reopened first where it is closed or transferred;
    this case's clocks run until it is closed again as registered in error (merge-cases: an open duplicate keeps
    its clocks, deadlines.post_closure_visit_owed)."""
    from cpcm.service.cases import lives_on_in

    home = lives_on_in(case, lambda into: load_case(ctx, into))
    work = (f"assess the child again (cpcm assess {home.id} --type initial, then --type comprehensive) and write a new "
            f"plan: cpcm plan {home.id} --from-file F, reason after_reopening")
    if home.status in ("closed", "transferred"):
        there = f"the work on the child goes on in {home.id}, which is {home.status}: reopen it (cpcm reopen {home.id} --reason ...), then {work}"
    elif home.status is None:
        there = (f"the work on the child goes on in {home.id}, which you cannot read: its worker, a supervisor or a manager "
                 "takes it on there")
    else:
        there = f"the work on the child goes on in {home.id}: assess and plan there (cpcm show {home.id})"
    return (f"the clocks restart on {case.id}: initial assessment {within}, until it is closed again: cpcm close {case.id} "
            "--reason registered_in_error --check error_confirmed", there)


def _merged_away(ctx: Context, case) -> list[str]:
    """The warning of a reopening of a case merged into another: where the child's work goes on (its
    `merged_into` followed, as far as the worker reads), and, that case being closed or transferred, that
    it is the one to reopen."""
    from cpcm.service.cases import lives_on_in

    if case.merged_into is None:
        return []
    home = lives_on_in(case, lambda into: load_case(ctx, into))
    where = case.merged_into if home.id == case.merged_into else f"{case.merged_into}, which lives on in {home.id}"
    said_home = (f"; {home.id} is {home.status}: if the child needs the service again, reopen that one instead (cpcm "
                 f"reopen {home.id} --reason ...)" if home.id != case.id and home.status in ("closed", "transferred") else "")
    return [f"{case.id} was merged into {where}, the child's case: the work on the child goes on in {home.id}, and "
            f"nothing is merged into {case.id} again{said_home}"]


@writes
def continue_(ctx: Context, case_id: str, justification: str, at: datetime | None = None) -> Written:
    """Keep a case open as the child reaches 18, with the recorded justification. Recorded before
    the turning-18 item opens (deadlines.turning_18_opens), it does not meet that item: a warning
    says when it opens, and that the justification is recorded again from then."""
    if not said(justification):
        raise InvalidInput([FieldError("justification", "is required: why the young person still needs the service")],
                           f"continuation of {case_id}")
    case = load_case(ctx, case_id)
    record = append(ctx, case, "continue", "continuation", {"justification": justification.strip()}, at)
    opens = deadlines.turning_18_opens(case, ctx.policy, ctx.zone)
    early = () if opens is None or (at or ctx.now) >= opens else (
        f"{case_id}: this justification is recorded before the turning-18 item opens on {opens.date().isoformat()}, so it "
        f"does not answer it: record it again from then (cpcm continue {case_id} --justification ...)",)
    return Written(case_id, record.id, "continuation", warnings=early)
