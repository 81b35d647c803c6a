"""Assessing and planning: cpcm assess, plan, approve and reject."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.forms import advice
from cpcm.domain.ids import normalise_conference_id
from cpcm.domain.records import CORRECTION_KEYS, Record, utc
from cpcm.domain.text import said
from cpcm.errors import Busy, FieldError, InvalidInput, NotFound, Refused, UsageError, named_record
from cpcm.service.context import (ASSESSMENT_FORMS, Context, append, at_errors, check_step, clock_said, form_for, load_case, load_records, risk_reason_errors,
                                  validate_form, writes)
from cpcm.service.results import Written
from cpcm.store import forms
from cpcm.workflow import approvals, plan_actions, transitions
from cpcm.workflow import mandatory_report as mandatory_rules
from cpcm.workflow.deadlines import left_out_actions, plan_actions_due, post_closure_visit_owed
from cpcm.workflow.fold import effective, fold, settled_by


@writes
def assess(ctx: Context, case_id: str, kind: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record an initial, comprehensive or best-interests assessment (risk re-rating included)."""
    kind = kind.replace("-", "_")
    if kind not in ASSESSMENT_FORMS:
        raise UsageError("--type is one of: initial, comprehensive, best-interests")
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    check_step(ctx, case, "assessment", {"type": kind})  # the stage before the form: no field makes a step allowed
    what = named_record(f"{kind}_assessment", case=case_id) or f"{kind.replace('_', '-')} assessment of {case_id}"
    form = forms.load(form_for(ctx, kind), ctx.root)
    body = validate_form(ctx, form, data, what, also=at_errors(ctx, case, at), then=lambda body: risk_reason_errors(case.risk, body))
    advised = [f"{what}: {e.field}: {e.reason}" for e in advice(form, body)]  # a domain left out (ESARO Step 2)
    body = {"type": kind, **body}
    settles = settled_by(case, "assessment", body)  # the risk rated again after a sync found it rated apart (risk-concurrent)
    consented, warnings = _consent(ctx, case, kind, body, records, at)
    warnings = [*warnings, *advised]
    record = append(ctx, case, "assess", "assessment", body, at)
    steps = []
    if kind == "initial":
        outcome = body.get("outcome")
        if outcome in transitions.NOT_PROCEEDING:  # what it concluded, as `cpcm due` asks for it (one place)
            steps.append(f"{'transfer the case' if outcome == 'transfer' else 'request closure'}: "
                         + transitions.NOT_PROCEEDING[outcome].format(case=case_id))
        else:
            steps += _after_initial(ctx, fold(case_id, records + [record]), bool(body.get("interim_plan_needed")))
    elif kind == "comprehensive":
        # the first plan after a reopening says so (reason after_reopening), as `cpcm reopen` suggested
        again = case.reopened and not case.last("plan", case.reopened)
        within = clock_said(ctx, lambda: fold(case_id, records + [record]), "case-plan", f"within {ctx.policy.cited('case_plan')}", at)
        steps.append(f"case plan {within}: cpcm plan {case_id}" + (" (reason after_reopening)" if again else ""))
    elif kind == "best_interests":  # a step of the path of reintegration, as tracing and preparation are
        from cpcm.service.reintegration import path_next
        from cpcm.workflow import placements

        steps += path_next(placements.pathway(fold(case_id, records + [record]), ctx.policy, ctx.now), case_id)
    return Written(case_id, record.id, "assessment", tuple(warnings), next_steps=tuple(steps) + settles_step(settles),
                   settled=said_settled(case_id, settles))


def _consent(ctx: Context, case: Case, kind: str, body: dict, records: list[Record],
             at: datetime | None = None) -> tuple[Any, list[str]]:
    """The consent an assessment of this type checks where the policy lists it (`consent.checked_at`:
    the comprehensive and best-interests assessments check `assessment`): Refused where it was
    refused with no override; the records it relies on go into `body`. An initial assessment of a
    child at a risk the policy answers the same day (as registered, or as this assessment rates
    it) is never refused: act first (IAG §3 Step 2)."""
    from cpcm.service.referrals import check_step_consent, relied_on

    act_first = kind == "initial" and any(
        (limit := ctx.policy.risk_response(str(risk))) is not None and limit.same_day
        for risk in (case.risk, body.get("risk")) if risk)
    result, warnings = check_step_consent(ctx, case.id, kind, records, act_first, at=at)  # as it stood then (--at)
    relied_on(body, result)
    return result, warnings


def _after_initial(ctx: Context, after: Case, interim: bool) -> list[str]:
    """What follows an initial assessment that lets the case go on, as `cpcm due` lists it: first
    the response to the risk level it rated (`risk-response`: high, 72 hours; none when its
    immediate actions answered it), then the interim plan it asked for (`interim-plan`,
    deadlines._interim_plan) or else the comprehensive assessment."""
    from cpcm.domain.dates import local_text
    from cpcm.workflow import deadlines

    case_id, zone = after.id, deadlines.zone_of(ctx.now)
    due = {item.code: item for item in deadlines.deadlines(after, ctx.policy, ctx.now)}

    def by(item) -> tuple[str, str]:  # by when, and the rule's source
        return f"by {local_text(item.due, zone)}", ctx.policy.short_source(item.rule) or item.source

    steps = []
    if "risk-response" in due:
        when, source = by(due["risk-response"])
        steps.append(f"{due['risk-response'].title} {when} {deadlines.RESPONSES_TEXT}: cpcm followup {case_id} ..., "
                     f"cpcm refer {case_id} ... or cpcm plan {case_id} ({source})")
    if not interim:
        return steps + [f"the comprehensive assessment: cpcm assess {case_id} --type comprehensive"]
    when = " ({}, {})".format(*by(due["interim-plan"])) if "interim-plan" in due else ""
    return steps + [f"record an interim plan now{when}: cpcm plan {case_id} (with interim: yes)"]


def _link_errors(body: Mapping[str, Any]) -> list[FieldError]:
    """Each bad goal link or ID of a plan (`body`: as validated, or as typed when the form found
    other problems: entries that are not mappings are the form's to name)."""
    def entries(key: str) -> list[tuple[int, Mapping]]:
        items = body.get(key)
        return [(i, e) for i, e in enumerate(items, start=1) if isinstance(e, Mapping)] if isinstance(items, list) else []

    errors = []
    ids = []
    for index, goal in entries("goals"):
        provisional = str(goal.get("id") or "").strip() or f"G{index}"
        if provisional in ids:
            errors.append(FieldError(f"goals[{index}].id", f"'{provisional}' is used twice"))
        ids.append(provisional)
    seen: set[str] = set()
    for index, action in entries("actions"):
        if action.get("goal") and action["goal"] not in ids:
            errors.append(FieldError(f"actions[{index}].goal", f"no goal with id '{action['goal']}' ({', '.join(ids)})"))
        given = str(action.get("id") or "").strip().upper()
        if given and not plan_actions.id_number(given, plan_actions.ACTION):
            errors.append(FieldError(f"actions[{index}].id", "is A followed by a number (A1, A2 …), or left out for a new action"))
        elif given in seen:
            errors.append(FieldError(f"actions[{index}].id", "is used twice"))
        if given:
            seen.add(given)
    return errors


def _reason_said(error: FieldError) -> FieldError:
    """A plan version's reason refused as no word of the form's list, said as what it is: a word
    of a fixed list (not the free text `--reason` is on correct, update, reopen or a withdrawal),
    and where an explanation in words goes: the plan's notes."""
    prefix = "is not one of: "
    if error.field != "reason" or not error.reason.startswith(prefix):
        return error
    return FieldError(error.field, "is why this plan version is written, one word of a fixed list: "
                      f"{error.reason[len(prefix):]}. An explanation in words goes in the plan's notes (--set notes=TEXT)",
                      error.rule)


def _numbered_body(ctx: Context, case_id: str, case: Case, data: Mapping[str, Any], at: datetime | None = None) -> dict:
    """The plan body `data` makes, with an ID on every goal and action (plan_actions: given ones
    kept, the same text keeps its ID, new ones take the next number); InvalidInput naming every
    bad field, goal link, ID and action date (`_late_errors`) and the time `at` at once."""
    what = named_record("plan", case=case_id)
    try:
        body = validate_form(ctx, form_for(ctx, "plan"), data, what, also=at_errors(ctx, case, at),
                             then=lambda body: _late_errors(ctx, case, plan_actions.with_ids(body, case.plan), at))
    except InvalidInput as exc:
        named = {e.field for e in exc.errors}
        raise InvalidInput([_reason_said(e) for e in exc.errors] + [e for e in _link_errors(data) if e.field not in named],
                           what) from None
    errors = _link_errors(body)
    if errors:
        raise InvalidInput(errors, what)
    return plan_actions.with_ids(body, case.plan)


def approve_command(ctx: Context, case_id: str, after: Case, subject: str) -> str:
    """The `cpcm approve` a next: line gives for the request just written: with the reason
    (`--note`) that deciding one's own request needs where the policy allows it
    (approvals.own_request), when the one who asked may decide it."""
    command = f"cpcm approve {case_id} {subject}"
    if approvals.own_request(ctx.policy, subject, ctx.worker, after) and approvals.may_approve(ctx.policy, subject, ctx.worker, after):
        command += " --note ..."
    return command


def approvers_warning(ctx: Context, case_id: str, after: Case, what: str, subject: str = "plan") -> list[str]:
    """Said at once when nobody in the team may approve the plan version or the closure request
    just written (`subject`; a one-supervisor agency whose supervisor wrote it): approvals.deciders,
    the one rule. Names why and the ways out: withdraw it, add a supervisor, or self-approval."""
    if not approvals.required(ctx.policy, subject) or approvals.pending(after, subject) is None:
        return []
    if approvals.deciders(ctx.policy, subject, after, ctx.team.active):
        return []
    withdraw = f"cpcm {'close' if subject == 'closure' else subject} {case_id} --withdraw --reason ..."
    overseers = [w for w in ctx.team.active if approvals.oversees(w)]
    if not overseers:
        return [f"{case_id}: nobody in the team may approve {what}: no supervisor or manager is active. Add one (cpcm team add), "
                f"or withdraw it ({withdraw})"]
    me = ctx.worker.id if ctx.worker else None
    if subject == "plan":
        why = "you wrote it"
    else:
        why = "you asked for it"
        if subject == "closure":  # only a closure bars the case's own worker too (approvals.barred)
            why += " and it is your case" if after.worker == me else ""
            if after.worker != me and any(w.id == after.worker for w in overseers):
                why += f", {after.worker} is the case's own worker"
    return [f"{case_id}: nobody in the team may approve {what}: {why}, and no other supervisor or manager is active "
            f"(the policy's {approvals.rule_of(subject)}.self_approval is off). "
            f"Withdraw it ({withdraw}), add a supervisor (cpcm team add), or allow self-approval with a recorded reason "
            "(.cpcm/policy.yaml, put in force with cpcm policy set)"]


@writes
def plan(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None,
         based_on: str | None = None, override_reason: str | None = None) -> Written:
    """Record a new version of the case plan; in force once approved where the policy says so.
    Every goal and action gets its ID (kept from the version before where it is the same).
    `based_on`: the record ID of the version this one was edited from (cpcm plan --edit):
    refused when another version was written since. A version for reunification_done that is the
    child's return home needs a best-interests record first, as a placement home does
    (placements.home_checked); `override_reason`: a supervisor's or manager's reason to write it
    without one (the record is then owed)."""
    return _write_plan(ctx, case_id, data, at, based_on, override_reason=override_reason)


def _left_out(ctx: Context, case_id: str, case: Case, actions: Iterable[Mapping[str, Any]], removed: Iterable[str] = (),
              approved: Any = None) -> list[str]:
    """The warning for the open actions of the plan in force (not marked done or dropped) that a
    plan version leaves out (`deadlines.left_out_actions`; `actions`: its summary's actions,
    `removed`: those --remove named, taken out on purpose): they leave cpcm due once it is in
    force, and an action a whole version leaves out (an interim plan's medical check; a
    conference's action that a version written apart on another copy never held) should not do so
    unnoticed. `approved`: the version's number, said by the approval that puts it in force
    (`case`: before it)."""
    gone = left_out_actions(case, ctx.policy, actions, removed)
    if not gone:
        return []
    held = {str(a.get("id")) for a in actions}
    named = ", ".join(f"{i} (not the {i} of this version: numbered apart on another copy)" if i in held else i for i in gone)
    what = (f"until now are not in plan version {approved}, in force now, and not recorded as done: they leave cpcm due"
            if approved is not None else
            "are not in this version and not recorded as done: once it is in force they leave cpcm due")
    return [f"{case_id}: open action(s) {named} of the plan in force {what}. If one was done, record it (cpcm "
            f"followup {case_id} ... --done {gone[0]}); if one is still needed, write it into the plan (cpcm plan {case_id} "
            "--from-current ...)"]


def _late_errors(ctx: Context, case: Case, body: Mapping[str, Any], at: datetime | None) -> list[FieldError]:
    """Each action date typed in this version (a new action's, or one changed) that is before the
    plan's own day (`at`, or today, in the agency's zone), naming the action by its place and its
    ID: such an action would be overdue the moment the plan is written. A plan agreed on an
    earlier day is recorded with --at that day. The open actions kept from the version before with
    their dates passed (--from-current) are not refused: `_late_actions` names them."""
    day = (at or ctx.now).astimezone(ctx.zone).date()
    typed, _ = plan_actions.dates_before(body, case.plan, ctx.policy, day)
    return [FieldError(f"actions[{place}].by", f"({action_id}) is {by}, before the plan's own date ({day.isoformat()}): an action "
                       f"is due on or after the day its plan is written: give a date from {day.isoformat()} on (a plan agreed "
                       "on an earlier day is recorded with --at that day)")
            for place, action_id, by in typed]


def _late_actions(ctx: Context, case: Case, body: Mapping[str, Any], at: datetime | None) -> list[str]:
    """The warning for the open actions kept from the version before with their dates before the
    plan's own day (`_late_errors` refuses a date typed so)."""
    day = (at or ctx.now).astimezone(ctx.zone).date()
    _, kept = plan_actions.dates_before(body, case.plan, ctx.policy, day)
    if not kept:
        return []
    return [f"{case.id}: action(s) {', '.join(kept)} kept from the version before with a date before this plan's "
            f"({day.isoformat()}): still open, they are overdue (plan-action-overdue). Give a new date "
            f"(cpcm plan {case.id} --from-current --reason ... --set actions.{kept[0]}.by=DATE) or, if done, record it "
            f"(cpcm followup {case.id} ... --done {kept[0]})"]


def _write_plan(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None, based_on: str | None,
                removed: Iterable[str] = (), override_reason: str | None = None) -> Written:
    from cpcm.service.placements import HOME_MOVE, home_checked, overridden

    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    check_step(ctx, case, "plan")  # the stage before the form: no field makes a step allowed
    if based_on is not None:
        current = plan_actions.current_body(effective(records), case.plan, ctx.policy)
        if current is None or current.id != based_on:
            raise Busy(f"another version of the plan of {case_id} was written while you edited it; nothing was written",
                       f"Start again from the current version: cpcm plan {case_id} --edit")
    body = _numbered_body(ctx, case_id, case, data, at)
    late = _late_actions(ctx, case, body, at)
    if body.get("interim") is None and case.stage in ("registered", "initial_assessment", "reopened"):
        body["interim"] = True
    # the child's return home: a best-interests record first, or a supervisor's reason (the placement's rule)
    home, home_steps = home_checked(ctx, case, records, body, utc((at or ctx.now).isoformat()), override_reason)
    record = append(ctx, case, "plan", "plan", body, at)
    after = fold(case_id, records + [record])
    home = overridden(ctx, HOME_MOVE, case_id, body, override_reason, lambda: after, at) + home  # by when the record is owed
    version = after.plan["version"]
    steps = list(home_steps)
    if body.get("interim") and case.stage in ("registered", "initial_assessment", "reopened"):  # said, as show says it
        steps.append(f"an interim plan (before the comprehensive assessment): the case stays at stage '{case.stage}'; the "
                     f"case plan comes after that assessment (cpcm assess {case_id} --type comprehensive, then cpcm plan "
                     f"{case_id}), and reviews with it")
    nobody = approvers_warning(ctx, case_id, after, f"plan version {version}")
    warnings = home + _left_out(ctx, case_id, case, after.plan["actions"], removed) + late + nobody
    if approvals.required(ctx.policy, "plan"):
        if not nobody:  # else nobody may run `cpcm approve` on it: the warning names the ways out
            steps.append(f"plan version {version} is in force once a supervisor approves it: {approve_command(ctx, case_id, after, 'plan')}")
        earlier = plan_actions.waiting_over(after.plan, ctx.policy)
        left = _plan_left(after, earlier, ctx.policy)
        if left == FROM_BEFORE_REOPENING:
            steps.append(_from_before_reopening(earlier))
        elif left == STAYS:
            steps.append(f"until then version {earlier['version']} stays in force" if not nobody
                         else f"version {earlier['version']} stays in force meanwhile")
    new = [a["id"] for a in after.plan["actions"] if a["id"] not in {x["id"] for x in (case.plan or {}).get("actions") or []}]
    extra = {"version": version, "actions": [a["id"] for a in after.plan["actions"]], "goals": [g["id"] for g in after.plan["goals"]],
             "new_actions": new}
    return Written(case_id, record.id, "plan", tuple(warnings), tuple(steps), extra=extra)


def plan_current(ctx: Context, case_id: str) -> tuple[str, dict]:
    """The version a revision starts from (the latest, or the one in force when the latest was
    withdrawn): its record ID and its content with an ID on every goal and action, as
    `plan --edit` shows it. NotFound when the case has no plan."""
    loaded = load_records(ctx, case_id)
    records = effective(loaded)
    case = fold(case_id, loaded)  # the fold applies the corrections itself: folding `records` again would misplace them
    current = plan_actions.current_body(records, case.plan, ctx.policy)
    if current is None:
        raise NotFound(f"{case_id} has no plan yet to start from", f"Write the first version: cpcm plan {case_id} --from-file F")
    ids = plan_actions.ids_by_version(records)[current.id]
    # not typed by the worker: a supervisor's reason to send the child home without a best-interests record is that version's
    body = {k: v for k, v in current.body.items() if k not in CORRECTION_KEYS and k != "best_interests_override"}
    for name in ("goals", "actions"):
        body[name] = [{"id": item_id, **{k: v for k, v in dict(item).items() if k != "id"}}
                      for item_id, item in zip(ids[name], body.get(name) or [])]
    return current.id, body


@writes
def plan_revise(ctx: Context, case_id: str, reason: str | None, changes: Mapping[str, Any], remove: Iterable[str] = (),
                at: datetime | None = None, override_reason: str | None = None) -> Written:
    """The next plan version from the current one (cpcm plan --from-current): `changes` as
    --set gives them (`{'actions': {'A2': {'by': '2027-01-10'}}, 'contingency': ...}`, `new`,
    `new1` … for a new goal or action), `remove` the IDs to take out, and the reason for the
    version. Unchanged goals and actions keep their IDs; new ones take the next numbers."""
    if not said(reason):
        raise InvalidInput([FieldError("reason", "is required: why this version (initial, after_reopening, review, crisis, "
                                                 "reunification_date_set, reunification_done, conference_decision, correction)")],
                           named_record("plan", case=case_id))
    based_on, body = plan_current(ctx, case_id)
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    ids = {name: [str(item["id"]) for item in body[name]] for name in ("goals", "actions")}
    revised, problems = plan_actions.revise(body, ids, changes, remove, (case.plan or {}).get("last"))
    if problems:
        raise InvalidInput([FieldError(path, why) for path, why in problems], named_record("plan", case=case_id))
    revised["reason"] = reason.strip()
    for key in ("interim",):  # a revision is no interim plan unless it says so
        if key in revised and "interim" not in changes and case.stage not in ("registered", "initial_assessment", "reopened"):
            revised.pop(key)
    return _write_plan(ctx, case_id, revised, at, based_on, remove, override_reason)


# a request its author may take back, as the messages name it
_REQUESTS = {"plan": "plan version", "closure": "closure request", "transfer": "transfer request"}


# the words of the next step saying which sync conflicts (their codes) a command's record settles: said
# once, here; the warning saying it (context.note_settled) is left out by `Written.settled`, never by these words
SETTLES_STEP = "this settles the sync conflict ({codes})"


def settles_step(codes: list[str]) -> tuple[str, ...]:
    """The next step's line naming the sync conflicts (their codes) a record settles; none when it settles none.
    The command's `Written` names them in `settled` too (`said_settled`)."""
    return (SETTLES_STEP.format(codes=", ".join(codes)),) if codes else ()


def said_settled(case_id: str, codes: list[str]) -> tuple[tuple[str, str], ...]:
    """`Written.settled` for a next step saying the record written to `case_id` settles the conflicts `codes`
    (`settles_step`): the warning of each is left out (context.with_settled)."""
    return tuple((case_id, code) for code in codes)


def settled_in(after, record) -> list[str]:
    """The codes of the sync conflicts `record` settled in `after`, the case folded with it."""
    return [c["code"] for c in after.conflicts if c["settled_by"] == record.id]


def take_back(ctx: Context, case_id: str, subject: str, reason: str, at: datetime | None) -> tuple[list[Record], Record]:
    """The one who asked takes back their request still waiting for a decision (a plan version,
    a closure or a transfer: a one-supervisor agency's way out when its supervisor asked), with
    a reason: a `withdrawal` record of it (approvals.withdrawal_refusal says who may; an approved
    transfer not carried out is taken back the same way, approvals.approved_withdrawable). Returns
    the case's records before it and the record written."""
    me = ctx.need_worker()
    what = _REQUESTS[subject]
    if not said(reason):
        raise InvalidInput([FieldError("reason", f"is required: say why the {what} is withdrawn")], f"withdrawal for {case_id}")
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    refusal = approvals.withdrawal_refusal(ctx.policy, subject, me, case)
    if refusal == "nothing-to-approve":
        if not approvals.required(ctx.policy, subject):
            raise Refused(f"{case_id} has no {what} waiting for a decision: the policy asks for no approval "
                          f"({approvals.rule_of(subject)}.required is off), so what was written is in force",
                          f"Write what should be in force instead: cpcm plan {case_id} --from-current ..." if subject == "plan"
                          else f"Only a {what} still waiting for a decision can be withdrawn.", rule="nothing-to-approve")
        raise Refused(f"{case_id} has no {what} waiting for a decision (it is at stage '{case.stage}')",
                      f"Only a {what} still waiting for a decision can be withdrawn.", rule="nothing-to-approve")
    waiting = approvals.pending(case, subject)
    if waiting is None and subject == "transfer":  # approved and not carried out (approvals.approved_not_sent)
        approved = approvals.approved_not_sent(case)
        if refusal:
            raise Refused(f"only the one who asked for the approved transfer of {case_id} ({approved.get('by')}), "
                          f"its worker ({case.worker}) or a supervisor or manager can withdraw it",
                          f"Ask its worker, or a supervisor or manager: cpcm transfer {case_id} --withdraw --reason ...",
                          rule="withdraw-own-only")
        record = append(ctx, case, "withdraw", "withdrawal", {"subject": subject, "target": approved["record_id"],
                                                              "reason": reason.strip()}, at)
        return records, record
    if refusal:
        named = f"plan version {waiting['version']}" if subject == "plan" else f"the {what}"
        # two closure (or transfer) requests merged from copies apart wait: each is its own asker's to take back
        askers = ([approvals.asker(waiting)] if subject == "plan"
                  else sorted({str(approvals.asker(r)) for r in approvals.waiting_requests(waiting)}))
        gone = [a for a in askers if (w := ctx.team.get(str(a), include_removed=True)) is not None and not w.active]
        hint = f"A supervisor or manager decides it instead: cpcm approve|reject {case_id} {subject}"
        if gone and len(gone) == len(askers):  # the asker left the team: nobody can take it back now
            hint = (f"{', '.join(map(str, gone))} is no longer on the team, so nobody can withdraw it now: a supervisor or "
                    f"manager decides it (cpcm approve|reject {case_id} {subject})")
        raise Refused(f"only the one who asked for {named} of {case_id} ({', '.join(map(str, askers))}) can withdraw it",
                      hint, rule="withdraw-own-only")
    own = approvals.withdrawable(case, subject, me.id)
    record = append(ctx, case, "withdraw", "withdrawal", {"subject": subject, "target": own["record_id"],
                                                          "reason": reason.strip()}, at)
    return records, record


NO_PLAN, FROM_BEFORE_REOPENING, STAYS = "no plan", "from before the reopening", "stays"


def _plan_left(case: Case, earlier: Mapping[str, Any] | None, policy) -> str:
    """Which of the three wordings tells of `earlier`, the version in force of `case`'s plan that a
    version written (`plan_actions.waiting_over`), withdrawn or not approved (`plan_actions.in_force`)
    leaves: NO_PLAN where there is none; FROM_BEFORE_REOPENING where it came into force before the
    case's latest reopening and the policy does not keep its actions due (`deadlines.plan_actions_due`,
    the one rule): the reopened case restarts at assessment and a new plan (IAG Step 6 [L946]), so
    it does not stay in force, as `cpcm show` says (`_from_before_reopening`); else STAYS in force."""
    if not earlier:
        return NO_PLAN
    if not plan_actions_due(case, policy):
        return FROM_BEFORE_REOPENING
    return STAYS


def _from_before_reopening(earlier: Mapping[str, Any]) -> str:
    """The words for a version in force from before the reopening (`_plan_left`)."""
    return f"version {earlier['version']} is from before the reopening and not in force: its actions are not due"


@writes
def plan_withdraw(ctx: Context, case_id: str, reason: str, at: datetime | None = None) -> Written:
    """The author of a plan version still waiting for a decision takes it back (take_back); the
    version before stays in force."""
    records, record = take_back(ctx, case_id, "plan", reason, at)
    after = fold(case_id, records)
    earlier = plan_actions.in_force(after.plan, ctx.policy)
    left = _plan_left(after, earlier, ctx.policy)
    steps = ([f"the case has no plan in force since the reopening ({_from_before_reopening(earlier)}): write one "
              f"(cpcm plan {case_id})"] if left == FROM_BEFORE_REOPENING else
             [f"version {earlier['version']} stays in force"] if left == STAYS else
             [f"the case has no plan in force: write one (cpcm plan {case_id})"])
    return Written(case_id, record.id, "withdrawal", next_steps=tuple(steps))


def _closure_age(ctx: Context, case, pending: Mapping, at: datetime | None) -> None:
    """Refused (rule closure-reason-age) when a closure for reached_18 would close the case of a
    child under the age limit on the approval's day, the day the case closes: the date of birth or
    the age estimated was corrected since the request (which `cpcm close` checked on its own day)."""
    from cpcm.service.closure import closure_day
    from cpcm.workflow.age import age_limit

    young = transitions.closure_age_problem(case, str(pending.get("reason") or ""), age_limit(ctx.policy), closure_day(ctx, at))
    if young:
        raise Refused(f"the closure of {case.id} cannot be approved: {young}",
                      f"Reject it (cpcm reject {case.id} closure --note ...) so that its worker asks again for the reason that "
                      "fits, or, once the age on the case is corrected, approve it.", rule="closure-reason-age")


@writes
def approve(ctx: Context, case_id: str, subject: str, note: str | None = None, at: datetime | None = None) -> Written:
    """A supervisor's approval of a plan, a closure, a transfer or a caseworker's decision not to
    make a mandatory report (not of one's own, unless the policy allows it)."""
    return _decide(ctx, case_id, subject, True, note, at)


@writes
def reject(ctx: Context, case_id: str, subject: str, note: str | None = None, at: datetime | None = None) -> Written:
    """A supervisor's rejection of a plan, a closure, a transfer or a caseworker's decision not to
    make a mandatory report, with a note saying why."""
    return _decide(ctx, case_id, subject, False, note, at)


def _decide(ctx: Context, case_id: str, subject: str, approve: bool, note: str | None, at: datetime | None) -> Written:
    actor = ctx.need_worker()
    verb = "approve" if approve else "reject"
    subject = approvals.subject_of(subject or "")  # mandatory-report, as typed, is mandatory_report
    if normalise_conference_id(case_id) is not None:  # a conference's plan (Form 3 item 4), in the conference's folder
        if subject != approvals.CONFERENCE_PLAN:
            raise UsageError("a conference's plan is what is approved or rejected of a conference",
                             f"cpcm {verb} {case_id} conference-plan")
        if at is not None:
            raise UsageError("--at is not taken for a conference plan: its decision is dated when it is recorded",
                             f"cpcm {verb} {case_id} conference-plan" + (" --note ..." if not approve else ""))
        from cpcm.service import conferences

        return conferences.decide_plan(ctx, case_id, approve, note)
    if subject == approvals.CONFERENCE_PLAN:
        raise UsageError("a conference plan is approved or rejected by the conference's ID, not a case's",
                         f"cpcm {verb} CONF conference-plan (cpcm conference list gives the IDs)")
    if subject not in approvals.SUBJECTS:
        raise UsageError("that cannot be approved or rejected",
                         "Approve or reject: plan, closure, transfer or mandatory-report (of a case); conference-plan (of a "
                         "conference).")
    words = approvals.SUBJECT_WORDS[subject]  # for people: a decision not to report, not mandatory_report
    if not approve and not said(note):
        raise InvalidInput([FieldError("note", "is required: say why, so the worker knows what to change")], "rejection")
    if not approvals.oversees(actor):
        raise Refused(f"only a supervisor or manager can {verb} a {words}", "Ask your supervisor.", rule="approval-needs-supervisor")
    case = load_case(ctx, case_id)
    verdict = approvals.may_approve(ctx.policy, subject, actor, case)
    if verdict.refusal == "nothing-to-approve":  # approvals.waiting: none, or the policy needs no decision of it
        if subject == "plan" and not approvals.required(ctx.policy, subject) and approvals.pending(case, subject):
            raise Refused(f"{case_id} has no plan waiting for a decision: the policy asks for no approval "
                          f"({approvals.rule_of(subject)}.required is off), so each version is in force once written",
                          f"Write what should be in force instead: cpcm plan {case_id} --from-current ...", rule="nothing-to-approve")
        if case.status != "open" and approvals.pending(case, subject):
            raise Refused(f"{case_id} has no {words} waiting for a decision: the case is {case.status}",
                          rule="nothing-to-approve")
        if approvals.held(subject, case) and approvals.pending(case, subject):
            raise Refused(f"{case_id}'s {words} waiting cannot be decided at stage '{case.stage}'",
                          f"Decide the closure first (cpcm approve|reject {case_id} closure): if it is rejected or withdrawn, "
                          f"the {words} waits for a decision again; if the case closes, it is not decided.",
                          rule="nothing-to-approve")
        aside = mandatory_rules.set_aside(case.mandatory_report) if subject == mandatory_rules.SUBJECT else None
        if aside:  # arrived, and reported apart: it waits for nobody, whichever is later (mandatory_report.reported_apart)
            raise Refused(f"{case_id}'s {words} ({aside[0]}) is here and waits for no decision: the concern was reported "
                          f"on another copy ({aside[1]}), which cannot be taken back",
                          _reported_apart_hint(case, aside), rule="nothing-to-approve")
        raise Refused(f"{case_id} has no {words} waiting for a decision",
                      f"A {words} written on another copy arrives with a sync: cpcm sync, then decide it (cpcm show "
                      f"{case_id} shows the case as this copy has it)." if _synced_with_others(ctx) else None,
                      rule="nothing-to-approve")
    if verdict.refusal == "self-approval":
        asked = approvals.asker(approvals.pending(case, subject) or {})
        corrected = verdict.own != "case" and actor.id != asked
        who = "the case's own worker" if verdict.own == "case" else "the one who corrected it" if corrected else "the one who asked for it"
        hint = f"The policy ({approvals.rule_of(subject)}.self_approval) needs another supervisor or manager."
        if corrected and subject == "plan":  # what they wrote is in it: the one who asked writes the next version from it
            hint += f" Or {asked} writes the next version from this one (cpcm plan {case_id} --from-current ...), which you decide."
        version = (approvals.pending(case, subject) or {}).get("version") if subject == "plan" else None
        if version and _synced_with_others(ctx):  # a later version, written on another copy, may not be here yet
            hint += " A later version written on another copy arrives with a sync (cpcm sync)."
        raise Refused(f"you are {who}: someone else must {verb} this {words}" + (f" (version {version})" if version else ""),
                      hint, rule="self-approval")
    if not verdict:
        raise Refused(f"only a supervisor or manager can {verb} a {words}", "Ask your supervisor.", rule="approval-needs-supervisor")
    pending = approvals.pending(case, subject)
    late = _home_refusal(ctx, case, pending) if subject == "plan" and approve else []
    if subject == "plan" and approve:  # what it leaves out of the version in force leaves cpcm due, as cpcm plan warns
        late += _left_out(ctx, case_id, case, pending.get("actions") or [], approved=pending.get("version"))
    if subject == "transfer" and approve:  # no key on file for the receiving agency: the bundle's last step would stop
        from cpcm.service.transfers import no_key_warning, request_recipients

        if not request_recipients(load_records(ctx, case_id), pending):  # keys given with the request are used then
            late += [w for w in (no_key_warning(ctx, case_id, str(pending.get("to") or "")),) if w]
    if subject == "closure" and approve:  # a screening reason no longer what the initial assessment concluded (corrected since)
        unfit = transitions.closure_reason_problem(case, str(pending.get("reason") or ""))
        if unfit:
            raise Refused(f"the closure of {case_id} cannot be approved: {unfit}",
                          f"Reject it (cpcm reject {case_id} closure --note ...) so that its worker asks again for the reason "
                          "that fits.", rule="closure-reason-unfit")
        _closure_age(ctx, case, pending, at)
        late += _in_care(ctx, case, pending)
    body = {"subject": subject, "target": pending.get("record_id")}
    if approvals.own_request(ctx.policy, subject, actor, case):  # allowed by the policy: only with the reason recorded
        if not said(note):
            raise InvalidInput([FieldError("note", f"is required: you are deciding {_whose(subject, actor, pending)}, "
                                                   f"which the policy ({approvals.rule_of(subject)}.self_approval) allows "
                                                   "with a reason")],
                               f"{verb} of {case_id}")
        body["self_approval"] = True
    if note:
        body["note"] = note.strip()
    kind = "approval" if approve else "rejection"
    settled = settled_by(case, kind, body)
    record = append(ctx, case, verb, kind, body, at)
    # two closure (or transfer) requests merged from copies apart: the one decided is the latest; rejected, the
    # other waits again; approved, the others wait no more (the case closes, or goes where it was approved for)
    others = [r for r in approvals.waiting_requests(pending) if r is not pending] if subject != "plan" else []
    what = "closure" if subject == "closure" else "transfer"
    under = approvals.approved_under(case.transfer_request) if subject == "transfer" else None
    if others and not approve:
        steps = [f"the {what} requested by {others[0].get('by')} still waits for a decision: cpcm approve|reject {case_id} {subject}"]
    elif under and not approve:  # made over a transfer approved and not carried out: that one stands, as it was
        steps = [approved_again(case_id, under)]
    else:
        steps = _decided_steps(ctx, case, subject, approve, pending)
        if others:
            steps.append(f"the {what} request{'s' if len(others) > 1 else ''} it was requested over "
                         f"({', '.join(str(r.get('record_id')) for r in others)}) no longer wait{'' if len(others) > 1 else 's'}: "
                         "this approval decides the case's " + what)
        if under and approve:
            steps.append(f"the transfer approved before it ({under.get('record_id')}) no longer stands: this approval "
                         "decides where the child goes")
    return Written(case_id, record.id, record.kind, tuple(late), next_steps=tuple(steps) + settles_step(settled),
                   settled=said_settled(case_id, settled))


def _in_care(ctx: Context, case: Case, pending: Mapping[str, Any]) -> list[str]:
    """What the supervisor is told when the closure would leave the child in alternative care
    (closure.in_care_problem): Refused where the policy refuses the request's reason there (the
    child was placed after the request, say), else the warning `cpcm close` gave."""
    from cpcm.service.closure import in_care_problem

    refused, warnings = in_care_problem(ctx, case, str(pending.get("reason") or ""))
    if refused:
        raise Refused(f"the closure of {case.id} cannot be approved: {refused}",
                      f"Reject it (cpcm reject {case.id} closure --note ...) so that its worker records the move or asks "
                      "again for the reason that fits. Nothing was written.", rule="closure-in-care")
    return warnings


def _whose(subject: str, actor, pending: Mapping[str, Any]) -> str:
    """What makes the request waiting the deciding actor's own (`approvals.own_request`), in words:
    they asked for it, they corrected it since, or it is the closure of their own case that
    someone else asked for."""
    asked = approvals.asker(pending)
    if actor.id == asked:
        return f"your own {subject}"
    if actor.id in approvals.writers(pending):
        return f"{asked}'s {subject} (you corrected it)"
    return f"the closure of your own case ({asked} asked for it)"


def _home_refusal(ctx: Context, case: Case, pending: Mapping[str, Any]) -> list[str]:
    """A plan version for reunification_done that sent the child home without the best-interests
    record it needed (placements.home_without_best_interests: written before `cpcm plan` asked for
    one, or on a copy that did not) is not approved while none is on file (ESARO Principle 2:
    Refused, nothing written); with one made since, it is, with a warning that says so."""
    from cpcm.domain.dates import local_day
    from cpcm.workflow import placements

    if pending.get("reason") != placements.REUNIFICATION_DONE \
            or not placements.home_without_best_interests(case, pending["at"], ctx.policy):
        return []
    version, case_id = pending.get("version"), case.id
    made = case.last("assessment.best_interests", pending["at"])
    if made is None:
        raise Refused(f"plan version {version} of {case_id} (reason reunification_done, {local_day(pending['at'], ctx.zone)}) "
                      "records the child's return home with no best-interests record made before it and no supervisor's "
                      "reason: a return home needs one first, as a placement home does (ESARO Principle 2); it was not "
                      "approved", f"Record it: cpcm assess {case_id} --type best-interests, then approve the version; or reject "
                      f"it: cpcm reject {case_id} plan --note .... Nothing was written.", rule="reunification-best-interests")
    return [f"plan version {version} of {case_id} records the child's return home ({local_day(pending['at'], ctx.zone)}) before "
            f"its best-interests record ({local_day(made, ctx.zone)}): approved on that record, made after the decision it "
            "should come before (ESARO Principle 2)"]


def _synced_with_others(ctx: Context) -> bool:
    """Whether this copy syncs with others (a team of more than one, and a remote): a worker's request written on
    their own laptop is not here until a sync brings it."""
    git = getattr(ctx.store, "git", None)
    if git is None or sum(1 for worker in ctx.team.workers if worker.active) < 2:
        return False
    from cpcm.store import remote

    return bool(remote.remotes(git))


def _reported_apart_hint(case: Case, aside: tuple[str, str]) -> str:
    """Where a supervisor goes instead of deciding a decision not to report that a report written
    apart set aside (`aside`: their record IDs): the sync conflict `cpcm check` names, while open."""
    if any(c["code"] == mandatory_rules.MANDATORY_REPORTS_CONCURRENT and c.get("settled_by") is None
           and aside[0] in (c.get("records") or ()) for c in case.conflicts):
        return (f"What is asked instead is the {mandatory_rules.MANDATORY_REPORTS_CONCURRENT} problem of cpcm check "
                f"{case.id}: read both (cpcm show {case.id} RECORD), look at the child's safety now that the authority "
                f"knows, then record the decision that is right, seeing both (cpcm mandatory-report {case.id} ...), or "
                f"add a note (cpcm note {case.id} --text ...)")
    return f"Both are on the case (cpcm show {case.id}); the clash of the two was settled since."


def approved_again(case_id: str, request: Mapping[str, Any]) -> str:
    """What a worker is told when a transfer request made over one approved and not carried out is
    rejected or withdrawn: the approved one stands again (approvals.approved_under)."""
    return (f"the transfer approved before it ({request.get('record_id')}) stands again and its bundle is not written: the "
            f"case's worker writes it (cpcm transfer {case_id} --to AGENCY ... --out FILE), or takes it back if it is no "
            f"longer wanted (cpcm transfer {case_id} --withdraw --reason ...)")


def _decided_steps(ctx: Context, case: Case, subject: str, approve: bool, pending: Mapping[str, Any]) -> list[str]:
    """What comes after a decision (`case`: as it was before it; `pending`: the request decided),
    and for whom: the worker who asked is told on their own list only by what the decision starts."""
    who = approvals.asker(pending) or case.worker
    if subject == "mandatory_report":
        if approve:
            return [f"the decision not to report stands, with your approval recorded: cpcm show {case.id} lists it"]
        return [f"the decision not to report does not stand: {case.worker} decides again, with what the note asks "
                f"(cpcm mandatory-report {case.id} ...; on their cpcm due until then)"]
    if subject == "plan":
        version = pending.get("version")
        if approve:
            return [f"plan version {version} is in force: its actions with a date are on {case.worker}'s cpcm due"]
        earlier = plan_actions.in_force(case.plan, ctx.policy)
        left = _plan_left(case, earlier, ctx.policy)
        stays = (f"the case has no plan in force ({_from_before_reopening(earlier)})" if left == FROM_BEFORE_REOPENING
                 else f"version {earlier['version']} stays in force" if left == STAYS else "the case has no plan in force")
        return [f"plan version {version} is not in force and {stays}: {who} writes a new version with what the note asks "
                f"(cpcm plan {case.id} --from-current --reason ..., or --edit; cpcm show {case.id} shows the note)"]
    if subject == "closure":
        if approve and not post_closure_visit_owed(case, ctx.policy, reason=pending.get("reason")):
            from cpcm.service.closure import no_visit_words

            return [no_visit_words(case, pending.get("reason"))]
        if approve:
            return [f"{case.id} is closed: a post-closure visit is due within {ctx.policy.cited('post_closure_visit')}, collecting the child's and family's "
                    f"feedback: cpcm followup {case.id} --purpose post_closure ..."]
        return [f"the case goes back to where it was and stays open: {case.worker} goes on with the plan; "
                f"closure can be asked again when the note is met (cpcm close {case.id} --reason ...)"]
    if approve:  # the bundle is not written yet: say who writes it (deadlines._approved_transfer)
        return [f"the case's worker ({case.worker}) writes the bundle with the command that asked for it: cpcm transfer "
                f"{case.id} --to AGENCY ... --out FILE (on their cpcm due until then)"]
    return [f"the case stays with this agency: {case.worker} goes on with it"]
