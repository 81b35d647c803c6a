"""cpcm correct CASE RECORD --misfiled: a record written in the wrong case taken out of it.

Nothing is rewritten or deleted. A `misfiled` record names the record (`supersedes`) and says
why; the fold leaves that record out with every correction of it (workflow/fold.py `misfiled`),
and so do a transfer's bundle, the rendered case file and the child's own file. With `--to
OTHER-CASE`, the same commit writes the record's content again in the case it belongs to,
encrypted to that case's readers and dated when it happened (the original's `at`), so nobody
types it again. `cpcm show CASE RECORD` still reads the original, to the case's readers, under a
MISFILED line; `cpcm log` marks it.

A follow-up's plan of the next visit (`next_followup`, `followup_every`) was made for the case it
was written in: its copy leaves it out, unless the worker moving it says the plan was that child's
(`keep_schedule`). The copy counts as a visit in the case it goes to, as any follow-up there does: a
date planned there before it is met, and a frequency in force there runs from it; a next step says
what it did to that case's next follow-up (`visit_effect`).
A follow-up that ticked off plan actions leaves them to do again in its case, and a warning names
them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from cpcm.domain.records import CORRECTION_KEYS, Record
from cpcm.domain.text import said
from cpcm.errors import CannotDecrypt, FieldError, InvalidInput, Refused, UsageError
from cpcm.service.context import (Context, at_errors, check_cover, check_readable, end_expired_covers, keys_for, load_records,
                                  new_record, parse_case_id, transaction, writes)
from cpcm.service.results import Written
from cpcm.workflow import followups as followup_rules
from cpcm.workflow import deadlines, plan_actions, transitions
from cpcm.workflow.fold import (ACTS_ON_CASE, MISFILABLE, MISFILED, MOVED_FROM, NOTE_SCHEMA, NOTE_SETTLES, acts_on_case, fold,
                                misfiled, moved_writer)

# what to do instead, for the kinds a case's workflow stands on
_INSTEAD = {
    "registration": "A case registered for the wrong child is closed as registered in error (cpcm close {case} --reason "
                    "registered_in_error --check error_confirmed), and the child registered in the right case.",
    "assignment": "Assign the case again (cpcm assign {case} WORKER).",
    "cover": "Change the cover with cpcm assign {case} --cover ...",
    "approval": "A decision is changed by a new decision (cpcm approve|reject {case} ...).",
    "rejection": "A decision is changed by a new decision (cpcm approve|reject {case} ...).",
    "plan": "Write the right plan as the next version (cpcm plan {case} --from-current --reason correction ...), or withdraw "
            "a version still waiting for a decision (cpcm plan {case} --withdraw --reason ...).",
    "closure": "Withdraw the closure request (cpcm close {case} --withdraw --reason ...).",
    "transfer_request": "Withdraw the transfer request (cpcm transfer {case} --withdraw --reason ...).",
    "referral": "Close the referral (cpcm referral {case} R1 --status closed) and make it in the right case.",
    "referral_update": "Correct the referral's update (cpcm correct {case} R1@STATUS ...).",
    "consent": "Correct the consent (cpcm correct {case} RECORD ...): what was sent on it is named then.",
}


def refuse_if_misfiled(case_id: str, records: list[Record], original: Record, ref: str | None = None) -> None:
    """Refused (`already-misfiled`) where `original` is a `misfiled` mark, or was taken out of
    `case_id` by one: neither is marked or corrected again (its copy is, in the case it went to).
    A mark is said as a mark, with the record it marked and what `ref` (as typed: `last`) named."""
    if original.kind == MISFILED:
        marked = str(original.body.get("supersedes") or "")
        moved = original.body.get("moved_to") or {}
        named = f" ('{ref}' names it: the case's latest record)" if ref and ref.strip().lower() == "last" else ""
        where = (f", and moved it to {moved.get('case')} as {moved.get('record')}" if moved.get("case") and moved.get("record")
                 else "")
        raise Refused(f"record {original.id} of {case_id}{named} is itself a mark that record {marked} was written in the "
                      f"wrong case{where}: a mark is not corrected, marked or moved",
                      f"To mark or correct another record, name it by its ID (cpcm log {case_id} lists them); record {marked} "
                      f"itself is out of the case" + (f": correct its copy in {moved['case']} (cpcm correct {moved['case']} "
                                                      f"{moved['record']} ...)" if where else "") + ".",
                      rule="already-misfiled")
    taken_out = misfiled(records)
    if original.id in taken_out:
        raise Refused(f"record {original.id} of {case_id} was marked as written in the wrong case by record "
                      f"{taken_out[original.id]}: it is not in the case any more",
                      f"cpcm show {case_id} {original.id} says where it was moved; correct it there (cpcm correct OTHER-CASE "
                      "RECORD ...), or write what belongs in this case as a new record.", rule="already-misfiled")


def keep_schedule_alone(case_id: str = "CASE", record_id: str = "RECORD") -> UsageError:
    """`--keep-schedule` given without `--misfiled --to` (the one wording, for `correct_misfiled` and
    for a plain correction, which the CLI refuses before it reaches the service)."""
    return UsageError("--keep-schedule goes with --misfiled --to: it keeps the next visit a follow-up planned in its copy "
                      "in the case it belongs to", f"cpcm correct {case_id} {record_id} --misfiled --to OTHER-CASE "
                      "--keep-schedule --reason TEXT")


def _kind_words(kind: str) -> str:
    words = kind.replace("_", " ")
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


@writes
def correct_misfiled(ctx: Context, case_id: str, ref: str, reason: str | None, to: str | None = None,
                     keep_schedule: bool = False) -> Written:
    """Mark the record `ref` of `case_id` as written in the wrong case, with the reason: a
    `misfiled` record in one commit (`misfiled CASE RECORD-ID`). With `to`, the same commit
    writes its content in that case (kind, fields and `at` kept, `moved_from` naming where it
    came from), encrypted to that case's readers; a follow-up's next-visit fields only with
    `keep_schedule` (else `moved_from.left_out` names them, and a next step says how to plan that
    case's next visit). Its writer, the writer of the record it corrects, or a supervisor or
    manager marks it. Plan actions the record had ticked off, open again in `case_id` without it,
    are named in a warning."""
    from cpcm.service.cases import first_of_chain, superseded_by, find_record

    me = ctx.need_worker()
    records = load_records(ctx, case_id)
    original = find_record(case_id, records, ref, ctx.policy)
    refuse_if_misfiled(case_id, records, original, ref)
    superseded = superseded_by(records)
    later = superseded.get(original.id)
    while later in superseded:
        later = superseded[later]
    if later:
        raise Refused(f"{original.id} of {case_id} was corrected by {later}: the correction is what the case holds",
                      f"Mark the correction: cpcm correct {case_id} {later} --misfiled --reason ...", rule="already-corrected")
    if original.kind not in MISFILABLE:
        instead = _INSTEAD.get(original.kind, "Correct it (cpcm correct {case} RECORD --set ...), or say what happened in a "
                                              "note (cpcm note {case} --text -).").format(case=case_id)
        raise Refused(f"record {original.id} of {case_id} is {_kind_words(original.kind)}: the case's workflow stands on it, "
                      "so it is not taken out as written in the wrong case (only notes and follow-ups are)", instead,
                      rule="misfiled-not-supported")
    first = first_of_chain(records, original)
    # a copy moved in from another case: its writer there, and the worker who moved it here, mark it too
    writer = moved_writer(first)
    if not me.has_role("supervisor", "manager") and me.id not in {original.by, first.by, writer, moved_writer(original)}:
        raise Refused(f"record {original.id} of {case_id} was written by {writer}: only its writer or a supervisor marks it "
                      "as written in the wrong case", f"Ask {writer} or a supervisor.", rule="misfiled-writer-or-supervisor")
    if not said(reason):
        raise InvalidInput([FieldError("reason", "is required: say why the record is not this case's (no names: the case IDs "
                                                 "say where it belongs)")], f"marking {original.id} of {case_id}")
    case = fold(case_id, records)
    check_cover(ctx, case)
    body: dict[str, Any] = {"supersedes": original.id, "reason": reason.strip(), "record_kind": original.kind}
    if keep_schedule and to is None:
        raise keep_schedule_alone(case_id, original.id)
    if keep_schedule and not _schedule(original):
        raise UsageError(f"--keep-schedule: {_kind_words(original.kind)} {original.id} of {case_id} planned no next visit "
                         "(next_followup, followup_every): there is nothing to keep", "Leave --keep-schedule out.")
    moved, target, target_records, left_out = None, None, [], []
    if to is not None:
        moved, target, target_records, left_out = _moved(ctx, case_id, original, to, writer, keep_schedule)
        body["moved_to"] = {"case": target.id, "record": moved.id}
    mark = new_record(ctx, MISFILED, case_id, body, after=max(r.id for r in records))
    message = f"misfiled {case_id} {mark.id}" + (f" to {target.id} {moved.id}" if moved else "")
    with transaction(ctx, "correct") as tx:
        readers, ended = end_expired_covers(ctx, tx, case)
        tx.write_record(mark, keys_for(ctx, readers))
        if moved is not None:
            there, ended_there = end_expired_covers(ctx, tx, target)
            tx.write_record(moved, keys_for(ctx, there))
            ended = ended or ended_there
        tx.commit(message + ended)
    warnings = []
    without = fold(case_id, [*records, mark]) if original.kind == "followup" else case
    if original.kind == "followup" and original.body.get("risk"):
        if without.risk != case.risk:
            warnings.append(f"the follow-up rated the child's risk: without it {case_id} is at the risk it had before "
                            f"({without.risk}); rate it again if that is not right (cpcm followup {case_id} ... --risk LEVEL "
                            "--risk-reason TEXT)")
    reopened = reopened_actions(case, without, ctx.policy)
    if reopened:
        warnings.append(f"the follow-up ticked off the plan's {'action' if len(reopened) == 1 else 'actions'} "
                        f"{', '.join(reopened)}: without it they are to do again in {case_id}; if they were in fact done for "
                        f"this child, record a follow-up in {case_id} ticking them off (cpcm followup {case_id} ... "
                        + " ".join(f"--done {action}" for action in reopened) + ")")
    next_steps = (f"cpcm show {target.id} {moved.id} reads it in the case it belongs to",) if moved else (
        f"what it holds is not in {case_id} any more; write it in the case it belongs to (cpcm note OTHER-CASE ...)",)
    if left_out:
        every = original.body.get(followup_rules.EVERY)
        stop = every is not None and str(every).strip().lower() == followup_rules.STOP
        planned = ", ".join(part for part in (
            "no set frequency any more" if stop else "",
            followup_rules.words({"every": None if stop else every, "next": original.body.get(followup_rules.NEXT)})) if part)
        next_steps += (f"{visit_effect(ctx, target, fold(target.id, [*target_records, moved]), moved)}; the next visit it planned in "
                       f"{case_id}{f' ({planned})' if planned else ''} is not in the copy: if it was planned for this child, "
                       f"put it on the copy (cpcm correct {target.id} {moved.id} --set next_followup=DATE or --set "
                       "followup_every=DURATION --reason ...), or plan it at the next follow-up (cpcm followup "
                       f"{target.id} ... --next-followup DATE)",)
    return Written(case_id, mark.id, MISFILED, tuple(warnings), next_steps,
                   {"supersedes": original.id, "moved_to": body.get("moved_to")})


def visit_effect(ctx: Context, before, after, copy: Record) -> str:
    """What a follow-up's copy, moved into the case `before` (folded without it; `after`: with it)
    without the next visit it planned, did to that case's next follow-up, in words: it counts as a
    visit on its day there, so a date planned there before it is met, and a frequency in force runs
    from it (deadlines `next-followup`, followups.due). Dates only."""
    zone = deadlines.zone_of(ctx.now)
    day = lambda when: when.astimezone(zone).date().isoformat()  # noqa: E731
    then = followup_rules.due(before.followup_plan, before.last("followup"), zone) if before.status == "open" else None
    now = followup_rules.due(after.followup_plan, after.last("followup"), zone) if after.status == "open" else None
    head = f"in {after.id} the copy counts as a visit on {day(datetime.fromisoformat(copy.at))}"
    if then == now:
        return f"{head}: {after.id}'s next follow-up is {f'still due {day(now)}' if now else 'still not planned'}"
    plan = before.followup_plan or {}
    met = then is not None and plan.get("next") and day(then) == str(plan["next"])[:10]
    was = f"the visit planned for {day(then)} is met" if met else f"the next follow-up, due {day(then)}, is met" if then else \
        "no follow-up was planned there"
    return f"{head}: {was}; " + (f"the next is now due {day(now)}" if now else f"no next follow-up is planned in {after.id} now")


def _schedule(record: Record) -> list[str]:
    """The next-visit fields a follow-up holds (`next_followup`, `followup_every`), in that order."""
    return [key for key in (followup_rules.NEXT, followup_rules.EVERY)
            if record.kind == "followup" and record.body.get(key) not in (None, "")]


def reopened_actions(before, after, policy) -> list[str]:
    """The IDs of the plan actions open in the case `after` (folded) that were not in `before`: a
    follow-up taken out had ticked them off."""
    was_open = {action["id"] for action in plan_actions.open_actions(before.plan, policy, before.reopenings)}
    return [action["id"] for action in plan_actions.open_actions(after.plan, policy, after.reopenings) if action["id"] not in was_open]


def _moved(ctx: Context, case_id: str, original: Record, to: str, writer: str, keep_schedule: bool = False):
    """The record's content as a new record of the case `to`, that case (folded), its records, and the
    next-visit fields left out of it (none with `keep_schedule`: a follow-up's next visit, planned
    for the case it was written in, would plan that case's); Refused where the acting worker may
    not write it there, or where it would act on that case (`ACTS_ON_CASE`: a risk rating that case
    does not have, plan actions ticked off).
    Its `moved_from` names where it came from, who wrote it there (`writer`) and the fields left
    out (`left_out`)."""
    other = parse_case_id(to)
    if other == case_id:
        raise UsageError(f"--to: the record is in {case_id} already; give the case it belongs to")
    try:
        check_readable(ctx, other)
    except CannotDecrypt:
        raise Refused(f"you do not read {other}: a record is moved only into a case you read and write in",
                      f"Ask {other}'s worker or a supervisor who reads it to mark it (cpcm correct {case_id} {original.id} "
                      f"--misfiled --to {other} --reason ...); or mark it without --to and tell them what to record.",
                      rule="misfiled-move-not-allowed") from None
    there = load_records(ctx, other)
    target = fold(other, there)
    if target.status == "transferred":
        raise Refused(f"{other} was transferred: it is read-only here", rule="transition-not-allowed")
    check_cover(ctx, target)
    body = {k: v for k, v in original.body.items() if k not in CORRECTION_KEYS and k not in ("seen", NOTE_SETTLES, MOVED_FROM)}
    left_out = [] if keep_schedule else _schedule(original)
    for key in left_out:
        del body[key]
    body[MOVED_FROM] = {"case": case_id, "record": original.id, "by": writer, **({"left_out": left_out} if left_out else {})}
    transitions.advance(target.stage, transitions.stage_command(original.kind, body), other)
    at = datetime.fromisoformat(original.at)
    errors = at_errors(ctx, target, at)
    if errors:
        raise Refused(f"{original.id} happened before {other} began (its registration or its latest reopening): it would "
                      f"not count in {other} where it happened", f"Mark it without --to, and record what belongs in {other} "
                      f"there (cpcm note {other} --text -).", rule="misfiled-move-before-case")
    # what the follow-up did to the case it was written in (its risk rating, the plan actions it ticked off) it
    # would do to this one: a risk rating the same as this case's changes nothing here
    acting = [key for key in acts_on_case(original) if not (key == "risk" and body.get("risk") == target.risk)]
    if acting:
        did = " and ".join(ACTS_ON_CASE[key] for key in acting) + f" in {case_id}"
        would = " and ".join({"risk": f"re-rate {other} (its risk is another)",
                              "actions_done": f"tick off the actions of {other}'s plan with the same IDs"}[key] for key in acting)
        with_risk = " with the risk seen there (--risk LEVEL --risk-reason TEXT)" if "risk" in acting else ""
        ticks = " and the actions of its plan found done there (--done ACTION)" if "actions_done" in acting else ""
        message = f"follow-up {original.id} {did}: moved, it would {would}"
        hint = f"Mark it without --to, and record the visit in {other}{with_risk}{ticks} (cpcm followup {other} ...)."
        if acting == ["risk"]:
            raise Refused(message, hint, rule="misfiled-move-rates-risk")
        raise Refused(message, hint, rule="misfiled-move-ticks-actions")
    schema = NOTE_SCHEMA if original.kind == "note" else original.schema  # a moved note saw nothing out of order there
    after = max((r.id for r in there), default="")
    return new_record(ctx, original.kind, other, body, at, schema=schema, after=after), target, there, left_out
