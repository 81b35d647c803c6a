"""Following a case: cpcm followup and review (one case, or a batch in one commit)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.ids import normalise_case_id
from cpcm.errors import CannotDecrypt, FieldError, InvalidInput, NotFound, Refused
from cpcm.service import reintegration
from cpcm.service.context import (Context, append, end_expired_covers, form_for, keys_for, load_case, load_records, new_record,
                                  record_table, transaction, validate_form, writes)
from cpcm.service.results import Written
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow import transitions
from cpcm.workflow.fold import fold


def _mark_done(ctx: Context, case: Case, body: dict, done: Iterable[str], what: str) -> None:
    """`--done A3`: the plan actions this follow-up or review finds done, by ID, kept in the body
    as `actions_done` (the fold marks them; they leave the due list); InvalidInput naming the
    option when an ID is not an action of the plan."""
    if not done:
        return
    from cpcm.workflow import plan_actions

    ids = plan_actions.action_ids(case.plan, ctx.policy)
    wanted, errors = [], []
    for index, value in enumerate(done, start=1):
        action = plan_actions.parse_action(value)
        if action is None or action not in ids:
            errors.append(FieldError(f"done[{index}]", f"is the ID of an action of the plan ({', '.join(ids) or 'no plan yet'})"))
        elif action not in wanted:
            wanted.append(action)
    if errors:
        raise InvalidInput(errors, what)
    body["actions_done"] = wanted


@writes
def followup(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None, done: Iterable[str] = ()) -> Written:
    """Record a follow-up or monitoring contact (a post-closure visit on a closed case); `done`:
    the IDs of plan actions found done (--done A3)."""
    case = load_case(ctx, case_id)
    body = validate_form(ctx, form_for(ctx, "followup"), data, f"follow-up of {case_id}")
    _mark_done(ctx, case, body, done, f"follow-up of {case_id}")
    if body.get("risk") and case.risk and body["risk"] != case.risk and not body.get("risk_reason"):
        raise InvalidInput([FieldError("risk_reason", f"is required when the risk level changes (from {case.risk} to {body['risk']})")],
                           f"follow-up of {case_id}")
    if case.status == "closed" and body.get("purpose") != "post_closure":
        raise Refused(f"{case_id} is closed: only a post-closure visit can be recorded",
                      "Use --purpose post_closure (collecting the child's and family's feedback), or reopen the case.",
                      rule="transition-not-allowed")
    record = append(ctx, case, "followup", "followup", body, at)
    warnings, steps = [], []
    if body.get("risk_increased") == "yes":
        warnings.append("the risk has increased: this is now an urgent item")
        if not body.get("risk"):
            steps.append(f"re-rate the risk now: cpcm followup {case_id} ... --risk LEVEL --risk-reason TEXT, "
                         f"or reassess: cpcm assess {case_id} --type comprehensive")
    if body.get("concern") == "yes" and ctx.worker.id != case.worker:
        steps.append(f"the concern is on {case.worker}'s due list")
    return Written(case_id, record.id, "followup", tuple(warnings), tuple(steps))


def _review_body(ctx: Context, case: Case, data: Mapping[str, Any]) -> tuple[dict, list[str]]:
    """A validated review and its warnings; InvalidInput naming every bad field."""
    body = validate_form(ctx, form_for(ctx, "review"), data, f"review of {case.id}")
    warnings = []
    if body.get("chair") == case.worker:
        warnings.append(f"{case.id}: the chair is the case's own worker; the guidelines ask for a manager or someone not involved")
    interval, _ = deadlines_mod.review_interval(case, ctx.policy, ctx.now)
    latest = interval.after(ctx.now).date()
    if body.get("next_review"):
        if body["next_review"] > latest.isoformat():
            raise InvalidInput([FieldError("next_review", f"is later than the policy allows ({interval.words()}: by {latest.isoformat()})")],
                               f"review of {case.id}")
        if body["next_review"] < ctx.now.date().isoformat():
            raise InvalidInput([FieldError("next_review", "is in the past")], f"review of {case.id}")
    return body, warnings


def _review_steps(case_id: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    return {
        "replan": (f"record the new plan version: cpcm plan {case_id} --reason review",),
        "reassess": (f"reassess: cpcm assess {case_id} --type comprehensive",),
        "close": (f"request closure: cpcm close {case_id} --reason goals_met ...",),
    }.get(body.get("outcome"), ())


@writes
def review(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None, done: Iterable[str] = ()) -> Written:
    """Record a case review: who chaired and attended, progress, decisions, the next review; it
    keeps the latest readiness score (Form 7A), when the case has one. `done`: the IDs of plan
    actions found done (--done A3)."""
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    body, warnings = _review_body(ctx, case, data)
    _mark_done(ctx, case, body, done, f"review of {case_id}")
    steps = _review_steps(case_id, body)
    latest = reintegration.latest(ctx, records) if reintegration.recorded(records) else None
    if latest is not None:
        body["readiness"] = latest.summary()
        steps = (f"latest readiness (Form 7A) {reintegration.words(body['readiness'])}",) + steps
    record = append(ctx, case, "review", "review", body, at)
    extra = {"readiness": body["readiness"]} if latest is not None else {}
    return Written(case_id, record.id, "review", tuple(warnings), steps, extra=extra)


SPREAD_FROM = 200  # rows of a batch from which their checks run on every core
SPREAD_CHUNK = 50


def _check_review_row(ctx: Context, number: int, case_id: str, data: dict) -> tuple:
    """One row of a batch checked: (number, case, body, warnings, errors); case and body are None
    when errors name what is wrong."""
    try:
        records = load_records(ctx, case_id)
        case = fold(case_id, records)
        body, row_warnings = _review_body(ctx, case, data)
        transitions.advance(case.stage, "review", case_id)
        latest = reintegration.latest(ctx, records) if reintegration.recorded(records) else None
        if latest is not None:
            body["readiness"] = latest.summary()
    except InvalidInput as exc:
        return number, None, None, [], [FieldError(f"row {number}: {e.field}", e.reason) for e in exc.errors]
    except (Refused, NotFound, CannotDecrypt) as exc:
        return number, None, None, [], [FieldError(f"row {number}: case", exc.message)]
    return number, case, body, row_warnings, []


def _checked_rows(ctx: Context, rows: list[tuple[int, str, dict]], progress: Callable[[int], None] | None) -> list[tuple]:
    """Every row checked, in row order: on every core for a large batch (forked workers, which
    inherit the keys and the store; a row a worker could not check for any other reason is
    checked here again, so that its error is raised here)."""
    from cpcm.store import parallel

    def job(chunk: list[tuple[int, str, dict]]) -> list[tuple]:
        done = []
        for number, case_id, data in chunk:
            try:
                done.append(_check_review_row(ctx, number, case_id, data))
            except Exception:  # noqa: BLE001 - anything else (a damaged record): checked again by the parent
                done.append((number, case_id, data))
        return done

    chunks = [rows[n:n + SPREAD_CHUNK] for n in range(0, len(rows), SPREAD_CHUNK)]
    results = []
    for done in parallel.run_chunks(job, chunks) if len(rows) >= SPREAD_FROM else map(job, chunks):
        for item in done:
            results.append(_check_review_row(ctx, *item) if len(item) == 3 else item)
        if progress:
            progress(len(done))
    return sorted(results, key=lambda item: item[0])


@writes
def review_batch(ctx: Context, rows: list[Mapping[str, Any]], dry_run: bool = False,
                 progress: Callable[[int], None] | None = None) -> Written:
    """Review many cases from one file: every row is checked first; one bad row and nothing is
    written; otherwise all reviews go in one commit."""
    ctx.need_worker()
    cache = record_table(ctx)
    errors: list[tuple[int, FieldError]] = []
    planned, warnings = [], []
    seen: set[str] = set()
    wanted: list[tuple[int, str, dict]] = []
    for number, row in enumerate(rows, start=1):
        data = dict(row)
        raw_case = str(data.pop("case", "") or "").strip()
        case_id = normalise_case_id(raw_case) if raw_case else None
        if case_id is None:
            errors.append((number, FieldError(f"row {number}: case", "is missing or not a valid case ID")))
            continue
        if case_id in seen:
            errors.append((number, FieldError(f"row {number}: case", f"{case_id} appears twice in the batch")))
            continue
        seen.add(case_id)
        wanted.append((number, case_id, data))
    for number, case, body, row_warnings, row_errors in _checked_rows(ctx, wanted, progress):
        errors += [(number, e) for e in row_errors]
        if case is not None:
            warnings += row_warnings
            planned.append((case, body))
    try:
        cache.save()  # the records decrypted here, for the next command
    except OSError:
        pass  # a read never fails because the local cache cannot be written
    if errors:
        raise InvalidInput([e for _, e in sorted(errors, key=lambda item: item[0])], f"the batch ({len(rows)} rows)",
                           "Correct the rows named above; nothing was written.")
    if not planned:
        raise InvalidInput([FieldError("rows", "the batch holds no rows")], "the batch")
    written = []
    if not dry_run:
        with transaction(ctx, "review-batch") as tx:
            ended, records = "", []
            for case, body in planned:
                readers, ended_here = end_expired_covers(ctx, tx, case)
                ended = ended or ended_here
                record = new_record(ctx, "review", case.id, body, after=case.history[-1].id if case.history else "")
                records.append((record, keys_for(ctx, readers)))
                written.append({"case_id": case.id, "record_id": record.id})
            tx.write_records(records)
            if progress:
                progress(len(records))
            tx.commit(f"review batch {len(written)} cases{ended}")
    return Written(None, tuple(w["record_id"] for w in written), "review", tuple(warnings),
                   extra={"reviewed": len(written), "checked": len(planned), "dry_run": dry_run,
                          "records": written or [{"case_id": c.id} for c, _ in planned]},
                   json_keys=("warnings",))