"""Following a case: cpcm followup and review (one case, or a batch in one commit)."""
from __future__ import annotations

import gc
import json
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from cpcm.domain.case import Case
from cpcm.domain.forms import Form
from cpcm.domain.ids import normalise_case_id
from cpcm.domain.policy import risk_rank
from cpcm.domain.records import Record, plain
from cpcm.domain.team import RECOVERY_READER
from cpcm.errors import CannotDecrypt, FieldError, InvalidInput, NotFound, Refused, named_record
from cpcm.service import reintegration
from cpcm.service.context import (Context, append, at_errors, case_covers, check_step, clock_said, input_hint, clock_behind, end_expired_covers, form_for, form_problems, keys_for,
                                  load_case, load_records, new_record, read_case, record_table, risk_reason_errors, transaction,
                                  locked, validate_form, writes)
from cpcm.store import forms
from cpcm.store.layout import RECIPIENTS, case_dir, covers_from, readers_from
from cpcm.service.planning import said_settled, settles_step
from cpcm.service.results import Written
from cpcm.service.wording import say_for
from cpcm.workflow import cover as cover_rules
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow import followups as followup_rules
from cpcm.workflow import transitions
from cpcm.workflow.fold import fold, settled_by


def _done_ids(ctx: Context, case: Case, done: Iterable[str]) -> tuple[list[str], list[FieldError]]:
    """`--done A3`: the plan actions a follow-up or review finds done, by ID (kept in its body as
    `actions_done`: the fold marks them; they leave the due list), and an error naming the option
    for each ID that is not an action of the plan."""
    from cpcm.workflow import plan_actions

    if not done:
        return [], []
    ids = plan_actions.action_ids(case.plan, ctx.policy)
    wanted, errors = [], []
    for index, value in enumerate(done, start=1):
        action = plan_actions.parse_action(value)
        if action is None or action not in ids:
            errors.append(FieldError(f"done[{index}]", plan_actions.not_an_action(ids)))
        elif action not in wanted:
            wanted.append(action)
    return wanted, errors


def _with_done(body: dict, wanted: list[str]) -> dict:
    """The body with the actions found done (`_done_ids`), when there are any."""
    if wanted:
        body["actions_done"] = wanted
    return body


@writes
def followup(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None, done: Iterable[str] = ()) -> Written:
    """Record a follow-up or monitoring contact (a post-closure visit on a closed case); `done`:
    the IDs of plan actions found done (--done A3)."""
    case = load_case(ctx, case_id)
    check_step(ctx, case, "followup", data, maybe=({"purpose": "post_closure"},))  # the stage before the form
    wanted, done_errors = _done_ids(ctx, case, done)
    body = validate_form(ctx, form_for(ctx, "followup"), data, named_record("followup", case=case_id), also=at_errors(ctx, case, at) + done_errors,
                         then=lambda body: risk_reason_errors(case.risk, body) + schedule_errors(ctx, case, body, at))
    _with_done(body, wanted)
    if case.status == "closed" and body.get("purpose") != "post_closure":
        raise Refused(f"{case_id} is closed: only a post-closure visit can be recorded",
                      "Use --purpose post_closure (collecting the child's and family's feedback), or reopen the case.",
                      rule="transition-not-allowed")
    settles = settled_by(case, "followup", body)  # the risk rated again after a sync found it rated apart (risk-concurrent)
    record = append(ctx, case, "followup", "followup", body, at)
    warnings, steps = [], []
    if body.get("risk_increased") == "yes":
        warnings.append("the risk has increased: this is now an urgent item")
        if body.get("risk") and case.risk and risk_rank(body["risk"]) > risk_rank(case.risk):
            # a re-rating below the level before contradicts "increased": a slip to correct
            warnings.append(f"this follow-up says the risk has increased but re-rates it below the level it had: if one of "
                            f"the two is wrong, correct the record: cpcm correct {case_id} {record.id} --set risk_increased=... "
                            f"or --set risk=... --reason ...")
        if case.status == "closed":  # a post-closure visit: only a reopened case can be reassessed and acted on
            steps.append(f"reopen the case to act on it: cpcm reopen {case_id} --reason TEXT (it stays on cpcm due until then)")
        elif not body.get("risk"):
            steps.append(f"re-rate the risk now: cpcm followup {case_id} ... --risk LEVEL --risk-reason TEXT, "
                         f"or reassess: cpcm assess {case_id} --type comprehensive")
        else:
            steps.append(f"act on it now; it stays on cpcm due until the risk is checked again after this visit: "
                         f"cpcm followup {case_id} ... --risk LEVEL --risk-reason TEXT, or cpcm assess {case_id} --type comprehensive")
    if body.get("concern") == "yes" and ctx.worker.id != case.worker:
        steps.append(f"the concern is on {case.worker}'s due list")
    return Written(case_id, record.id, "followup", tuple(warnings), tuple(steps) + settles_step(settles),
                   settled=said_settled(case_id, settles))


def schedule_errors(ctx: Context, case: Case, body: dict, at: datetime | str | None,
                    before: Mapping[str, Any] | None = None) -> list[FieldError]:
    """What is wrong with the next follow-up a follow-up plans (workflow/followups.problems), for
    a follow-up at `at` (now when None); `body`'s frequency is written as a duration's text (`2W` ->
    `2w`). `cpcm followup` and `cpcm correct` of a follow-up (`before`: the record as it was) ask it."""
    moment = datetime.fromisoformat(at) if isinstance(at, str) else (at or ctx.now)
    found = followup_rules.problems(body, moment.astimezone(ctx.zone).date().isoformat(), case.status == "open", before,
                                    say_for(ctx))
    if body.get(followup_rules.EVERY) is not None and not any(f == followup_rules.EVERY for f, _ in found):
        body[followup_rules.EVERY] = str(body[followup_rules.EVERY]).strip().lower()
    return [FieldError(field, why) for field, why in found]


def _review_body(ctx: Context, case: Case, data: Mapping[str, Any], form: Form | None = None,
                 at: datetime | None = None, done: Iterable[str] = ()) -> tuple[dict, list[str]]:
    """A validated review and its warnings; InvalidInput naming every bad field at once (the
    form's, the next review's date, progress items that are not of the plan or that contradict
    each other or `done` (--done), the time `at`). `form`: the review form when the caller has it
    loaded (a batch loads it once)."""
    body, errors = form_problems(ctx, form or form_for(ctx, "review"), data)
    wanted, done_errors = _done_ids(ctx, case, done)
    errors += at_errors(ctx, case, at) + done_errors
    warnings = []
    if body.get("chair") == case.worker:
        warnings.append(f"{case.id}: the chair is the case's own worker; the guidelines ask for a manager or someone not involved")
    interval, _ = deadlines_mod.review_interval(case, ctx.policy, ctx.now)
    latest = interval.after(ctx.now).date()
    if body.get("next_review"):
        if body["next_review"] > latest.isoformat():
            errors.append(FieldError("next_review", f"is later than the policy allows ({interval.words()}: by {latest.isoformat()})"))
        elif body["next_review"] < ctx.now.date().isoformat():
            errors.append(FieldError("next_review", "is in the past"))
    errors += _progress_errors(ctx, case, body.get("progress") or []) + _status_clashes(body.get("progress") or [], wanted)
    if errors:
        raise InvalidInput(errors, named_record("review", case=case.id), hint=input_hint(ctx, errors))
    return _with_done(body, wanted), warnings


def _progress_errors(ctx: Context, case: Case, progress: list) -> list[FieldError]:
    """Each `progress` entry of a review is about a goal (G1) or an action (A1) of the case's
    plan: an error for every entry that is not (an entry the form found no item in is named
    there already)."""
    from cpcm.workflow import plan_actions

    goals, actions = plan_actions.goal_ids(case.plan, ctx.policy), plan_actions.action_ids(case.plan, ctx.policy)
    errors = []
    for index, entry in enumerate(progress, start=1):
        item = str((entry or {}).get("item") or "").strip().upper()
        if item and item not in goals and plan_actions.parse_action(item) not in actions:
            errors.append(FieldError(f"progress[{index}].item", "is not a goal or action of the plan (its goals: "
                                     f"{', '.join(goals) or 'none'}; its actions: {', '.join(actions) or 'none'})"))
    return errors


def _status_clashes(progress: list, done: Sequence[str]) -> list[FieldError]:
    """A review gives each action of the plan one status: an error for each `progress` entry that
    gives an action another status than `done` (--done: done) or an earlier entry gives it."""
    from cpcm.workflow import plan_actions

    said = {action: ("--done", "done") for action in done}  # an action -> where its status was first given, and it
    errors = []
    for index, entry in enumerate(progress, start=1):
        action = plan_actions.parse_action((entry or {}).get("item") or "") if isinstance(entry, Mapping) else None
        status = str(entry.get("status") or "").strip() if action else ""
        if not status:
            continue
        where, first = said.setdefault(action, (f"progress[{index}]", status))
        if status != first:
            fix = (f"leave out --done {action}, or make this status done" if where == "--done"
                   else f"keep one entry for {action}")
            errors.append(FieldError(f"progress[{index}].status", f"is {status}, but {where} gives {action} the status "
                                     f"{first}: an action has one status in a review ({fix})"))
    return errors


def _review_steps(ctx: Context, case: Case, body: Mapping[str, Any], after: Callable[[], Case],
                  at: datetime | None = None) -> tuple[str, ...]:
    """What a review that decided to replan, reassess or close asks, and who sees it: the case's
    worker, on their `cpcm due` until the step is recorded (deadlines._review_decision); a review
    dated back (`at`, with the case as it is `after` it) gives the due time `due` lists."""
    step = deadlines_mod.review_decision_step(body.get("outcome"), case.id)
    if step is None:
        return ()
    me = ctx.worker.id if ctx.worker is not None else None
    whose = ("your" if case.worker and case.worker == me else f"{case.worker}'s" if case.worker else "the case worker's")
    within = f"within {ctx.policy.cited('review_decision')}"
    clock = clock_said(ctx, after, "review-decision", within, at)
    when = f" {within} until it is recorded" if clock == within else f" until it is recorded (it {clock})"
    return (f"{step}; on {whose} cpcm due{when}" + ("" if whose == "your" else ", where they see it"),)


def batch_review_steps(ctx: Context, rows: Iterable[tuple[str, Mapping[str, Any]]]) -> tuple[str, ...]:
    """What each review of a batch that decided to replan, reassess or close asks (`rows`: each
    case's ID and its row), one line a case: on its worker's `cpcm due` until it is recorded."""
    within = ctx.policy.cited("review_decision")
    steps = []
    for case_id, data in rows:
        step = deadlines_mod.review_decision_step(str(data.get("outcome") or "").strip(), case_id)
        if step is not None:
            steps.append(f"{case_id}: {step}; on the case worker's cpcm due within {within} until it is recorded")
    return tuple(steps)


@writes
def review(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None, done: Iterable[str] = ()) -> Written:
    """Record a case review: who chaired and attended, progress, decisions, the next review; it
    keeps the latest readiness score (Form 7A), when the case has one. `done`: the IDs of plan
    actions found done (--done A3)."""
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    check_step(ctx, case, "review")  # the stage before the form: no field makes a step allowed
    body, warnings = _review_body(ctx, case, data, at=at, done=done)
    latest = reintegration.latest(ctx, records) if reintegration.recorded(records) else None
    if latest is not None:
        body["readiness"] = latest.summary()
    record = append(ctx, case, "review", "review", body, at)
    steps = _review_steps(ctx, case, body, lambda: fold(case_id, records + [record]), at)
    if latest is not None:
        steps = (f"latest readiness (Form 7A) {reintegration.words(body['readiness'])}",) + steps
    extra = {"readiness": body["readiness"]} if latest is not None else {}
    return Written(case_id, record.id, "review", tuple(warnings), steps, extra=extra)


SPREAD_FROM = 200  # rows of a batch from which their checks run on every core
SPREAD_CHUNK = 50
WRITE_TICK = 100  # records written between two ticks of the progress bar


def _case_access(ctx: Context, case_id: str) -> tuple[list[str], dict[str, str]] | None:
    """The case's readers and covers from one read of its `recipients` file (the file that
    `check_readable`, `case_covers` and the store's `recipients` each read again), when the acting
    worker is one of its readers; None when anything is otherwise (no such case, not a reader, a
    file that is not text): the caller then makes the usual checks, which say what is wrong."""
    try:
        text = ctx.store.read_bytes(case_dir(ctx.store.root, case_id) / RECIPIENTS).decode("utf-8")
    except (OSError, KeyError, ValueError):
        return None
    readers = readers_from(text)
    me = ctx.need_worker().id
    if me not in readers and me != RECOVERY_READER:
        return None
    return readers, covers_from(text)


def _recorded_today(ctx: Context, records: Sequence[Record], body: Mapping[str, Any]) -> str | None:
    """The id of the case's latest review when it is this very review: recorded by the acting
    worker on today's date (in the agency's zone) with the same fields; None otherwise. A batch
    run again (a script started over, or its first run's output lost when it was stopped just
    after its commit) finds its reviews so, and does not record them twice."""
    latest = next((r for r in reversed(records) if r.kind == "review"), None)
    if latest is None or latest.by != ctx.need_worker().id:
        return None
    try:
        day = datetime.fromisoformat(latest.recorded_at).astimezone(ctx.zone).date()
    except (TypeError, ValueError):
        return None
    if day != ctx.now.astimezone(ctx.zone).date():
        return None
    same = json.dumps(plain(latest.body), sort_keys=True, default=str) == json.dumps(plain(body), sort_keys=True, default=str)
    return latest.id if same else None


def _check_review_row(ctx: Context, number: int, case_id: str, data: dict, form: Form | None = None) -> tuple:
    """One row of a batch checked: (number, case, body, warnings, errors, access, already); case
    and body are None when errors name what is wrong; access: the case's readers and covers
    (`_case_access`) or None; already: the id of the same review recorded today by the same
    worker (`_recorded_today`), or None. `form`: the review form, loaded once for the batch."""
    access = None
    try:
        access = _case_access(ctx, case_id)
        records = load_records(ctx, case_id) if access is None else read_case(ctx, case_id)[0]
        case = fold(case_id, records)
    except (Refused, NotFound, CannotDecrypt) as exc:
        # the case not read: the row's fields are checked against the form all the same, so that
        # the row lists all its errors at once (the batch promises it)
        return number, None, None, [], [FieldError.of(f"row {number}: case", exc)] + _form_errors(ctx, number, data, form), None, None
    errors = []
    try:
        transitions.advance(case.stage, "review", case_id)
    except Refused as exc:  # a stage that takes no review, named beside the row's bad fields
        errors.append(FieldError.of(f"row {number}: case", exc))
    try:
        body, row_warnings = _review_body(ctx, case, data, form)
        behind = clock_behind(ctx, case, None)  # a batch is dated now: as note_clock warns of one review
        if behind is not None:
            row_warnings.append(behind)
        latest = reintegration.latest(ctx, records) if reintegration.recorded(records) else None
        if latest is not None:
            body["readiness"] = latest.summary()
    except InvalidInput as exc:
        return number, None, None, [], errors + _in_row(number, exc.errors), None, None
    except (Refused, NotFound, CannotDecrypt) as exc:
        return number, None, None, [], errors + [FieldError.of(f"row {number}: case", exc)], None, None
    if errors:
        return number, None, None, [], errors, None, None
    return number, case, body, row_warnings, [], access, _recorded_today(ctx, records, body)


def _in_row(number: int, errors: Iterable[FieldError]) -> list[FieldError]:
    """A review's errors as a batch names them: each field under its row (`row 3: outcome`)."""
    return [FieldError(f"row {number}: {e.field}", e.reason, e.rule) for e in errors]


def _form_errors(ctx: Context, number: int, data: Mapping[str, Any], form: Form | None = None) -> list[FieldError]:
    """A batch row's fields checked against the review form alone, for a row whose case is not
    given or cannot be read: its other errors are listed with the case's."""
    return _in_row(number, form_problems(ctx, form or form_for(ctx, "review"), data)[1])


def _readers_kept(ctx: Context, case: Case, access: tuple[list[str], dict[str, str]] | None = None) -> list[str] | None:
    """The case's readers when no cover of it has ended (what `end_expired_covers` keeps); None
    when one has: that case's review is written in the transaction, which takes the cover off.
    `access`: the readers and covers read when the row was checked (else they are read here)."""
    covers = case_covers(ctx, case.id) if access is None else access[1]
    if covers and cover_rules.in_force(covers, ctx.now) != covers:
        return None
    return ctx.store.recipients(case.id) if access is None else access[0]


def _sealed_review(ctx: Context, checked: tuple) -> tuple:
    """A checked row as the write needs it: (number, case id, warnings, errors, what to write),
    what to write being ("sealed", record, bytes) for a review made and encrypted here, or
    ("case", case, body) for one the transaction makes (an ended cover comes off first), or
    ("already", record id) for a review recorded already (`_recorded_today`): nothing to write."""
    number, case, body, warnings, errors, access, already = checked
    if case is None:
        return number, None, warnings, errors, None
    if already is not None:
        return number, case.id, warnings, errors, ("already", already)
    readers = _readers_kept(ctx, case, access)
    if readers is None:
        return number, case.id, warnings, errors, ("case", case, body)
    record = new_record(ctx, "review", case.id, body, after=case.history[-1].id if case.history else "")
    return number, case.id, warnings, errors, ("sealed", record, ctx.store.seal(record, keys_for(ctx, readers)))


def _checked_rows(ctx: Context, rows: list[tuple[int, str, dict]], progress: Callable[[int], None] | None,
                  seal: bool = True, arrived: Callable[[list[tuple]], None] | None = None) -> list[tuple]:
    """Every row checked and, with `seal`, its review made and encrypted (`_sealed_review`), in
    row order: on every core for a large batch (forked workers, which inherit the keys, the store
    and its record table; a row a worker could not check for any other reason is checked here
    again, so that its error is raised here). `arrived(results)`: called with each chunk's
    results as they come in (in the order the chunks are done), while the others are checked."""
    from cpcm.store import parallel

    form = forms.load(form_for(ctx, "review"), ctx.root)

    def one(number: int, case_id: str, data: dict) -> tuple:
        checked = _check_review_row(ctx, number, case_id, data, form)
        if not seal or checked[1] is None:
            return checked[0], checked[1] and checked[1].id, checked[3], checked[4], checked[6] and ("already", checked[6])
        return _sealed_review(ctx, checked)

    def job(chunk: list[tuple[int, str, dict]]) -> list[tuple]:
        done = []
        for number, case_id, data in chunk:
            try:
                done.append(one(number, case_id, data))
            except Exception:  # noqa: BLE001 - anything else (a damaged record): checked again by the parent
                done.append((number, case_id, data))
        return done

    chunks = [rows[n:n + SPREAD_CHUNK] for n in range(0, len(rows), SPREAD_CHUNK)]
    results = []
    for done in parallel.run_chunks(job, chunks) if len(rows) >= SPREAD_FROM else map(job, chunks):
        done = [one(*item) if len(item) == 3 else item for item in done]
        results += done
        if progress:
            progress(len(done))
        if arrived:
            arrived(done)
    return sorted(results, key=lambda item: item[0])


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused for a batch: the record table's million objects made each
    of its passes slow (a third of loading the table went to it). What the batch makes is freed
    by reference counting as usual; the collector runs again when it ends, without first going
    through everything made meanwhile: that first pass would look at each of the table's objects
    (a third of a second), so they are set aside as the collector's oldest (`freeze`, then
    `unfreeze`, which hands them to its oldest generation, looked at only when it grows by a
    quarter)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:  # none set aside by anyone else, which would be handed back too
                gc.freeze()
                gc.enable()
                gc.unfreeze()
            else:
                gc.enable()


def review_batch(ctx: Context, rows: list[Mapping[str, Any]], dry_run: bool = False,
                 progress: Callable[[int], None] | None = None, numbers: Sequence[int] | None = None) -> Written:
    """Review many cases from one file: every row is checked first; one bad row and nothing is
    written; otherwise all reviews go in one commit. `progress(n)`: called as rows are checked
    (one tick a row) and, unless `dry_run`, as their reviews are written (one a review; the last
    ones once the commit is made). `numbers`: the number messages give each row (in a CSV file
    as a spreadsheet numbers it: the header is row 1, a blank line takes a number too); by
    default 1, 2, 3 ... A batch that writes holds the
    lock from its first check to its commit; a dry run only reads, so it takes no lock and never
    waits for another command's write (it checks the last commit, as every reader does)."""
    ctx.need_worker()
    with nullcontext() if dry_run else locked(ctx), _no_cycle_collection():
        return _review_batch(ctx, rows, dry_run, progress, numbers or range(1, len(rows) + 1))


def _review_batch(ctx: Context, rows: list[Mapping[str, Any]], dry_run: bool, progress: Callable[[int], None] | None,
                  numbers: Sequence[int]) -> Written:
    cache = record_table(ctx)
    errors: list[tuple[int, FieldError]] = []
    given: dict[str, list[int]] = {}  # a case -> the numbers of its rows
    wanted: list[tuple[int, str, dict]] = []
    repeated: list[tuple[int, str, dict]] = []  # a case's rows after its first: refused, their fields checked all the same
    for number, row in zip(numbers, rows):
        data = dict(row)
        raw_case = str(data.pop("case", "") or "").strip()
        case_id = normalise_case_id(raw_case) if raw_case else None
        if case_id is None:  # its fields are checked all the same: the row lists all its errors
            errors += [(number, e) for e in [FieldError(f"row {number}: case", "is missing or not a valid case ID")]
                       + _form_errors(ctx, number, data)]
            continue
        (repeated if case_id in given else wanted).append((number, case_id, data))
        given.setdefault(case_id, []).append(number)
    for case_id, given_in in given.items():  # a case given twice: each of its rows is named, the first too
        if len(given_in) > 1:
            errors += [(number, FieldError(f"row {number}: case", f"{case_id} appears twice in the batch "
                                                                  f"(rows {', '.join(map(str, given_in))})")) for number in given_in]
    if len(wanted) >= SPREAD_FROM:
        # the record table loaded here, once, for the workers to inherit; a cold one filled on every core
        ctx.store.prefetch([case_id for _, case_id, _ in wanted], ctx.keys, ctx.progress)
    if errors or dry_run or not wanted:  # (a row repeated is an error: its other errors are named with it, at once)
        planned, warnings = _planned(ctx, cache, rows, errors, _checked_rows(ctx, wanted + repeated, progress, seal=False))
        return _batch_written(rows, planned, warnings, [], dry_run, _decided(ctx, wanted, planned))
    # the reviews are written as their rows come back checked, while the others are checked; a row
    # found wrong and nothing more is written, and the transaction takes back what was
    with transaction(ctx, "review-batch") as tx:
        writer = _ReviewWriter(ctx, tx, progress, len(wanted))
        planned, warnings = _planned(ctx, cache, rows, errors, _checked_rows(ctx, wanted, progress, arrived=writer.arrived))
        written = writer.finish(planned)
    if progress:
        progress(len(written) - writer.ticks)  # the rest once the commit is made
    return _batch_written(rows, planned, warnings, written, dry_run, _decided(ctx, wanted, planned))


def _decided(ctx: Context, wanted: list[tuple[int, str, dict]], planned: list) -> tuple[str, ...]:
    """What the reviews a batch writes (or would write) decided, case by case (`batch_review_steps`):
    not those recorded already."""
    written = {case_id for _, case_id, write in planned if not (write and write[0] == "already")}
    return batch_review_steps(ctx, [(case_id, data) for _, case_id, data in wanted if case_id in written])


def _planned(ctx: Context, cache, rows: list, errors: list[tuple[int, FieldError]], checked: list[tuple]) -> tuple[list, list]:
    """The checked rows as (number, case id, what to write), and their warnings; InvalidInput
    naming every bad row when there is one (or no row at all)."""
    planned, warnings = [], []
    for number, case_id, row_warnings, row_errors, write in checked:
        errors += [(number, e) for e in row_errors]
        if not row_errors:
            warnings += row_warnings
            planned.append((number, case_id, write))
    try:
        cache.save()  # the records decrypted here, for the next command
    except OSError:
        pass  # a read never fails because the local cache cannot be written
    if errors:
        raise InvalidInput([e for _, e in sorted(errors, key=lambda item: item[0])], f"the batch ({len(rows)} row{'' if len(rows) == 1 else 's'})",
                           "Correct the rows named above; nothing was written.")
    if not planned:
        raise InvalidInput([FieldError("rows", "the batch holds no rows")], "the batch",
                           "Give one row a case: its case ID under 'case' and the review's fields (cpcm form blank review "
                           "lists them); nothing was written.")
    return planned, warnings


def _batch_written(rows: list, planned: list, warnings: list, written: list[dict], dry_run: bool,
                   steps: tuple[str, ...] = ()) -> Written:
    """`records`: the reviews written (with --dry-run: the cases whose reviews would be);
    `already_recorded` (only when there are some): the rows whose review was recorded already
    (`_recorded_today`), each with its review's record id."""
    already = [{"case_id": case_id, "record_id": write[1]} for _, case_id, write in planned if write and write[0] == "already"]
    to_write = [{"case_id": case_id} for _, case_id, write in planned if not (write and write[0] == "already")]
    extra = {"reviewed": len(written), "checked": len(planned), "dry_run": dry_run, "records": written if not dry_run else to_write}
    if already:  # only when there are some, as `import`'s already_imported
        extra["already_recorded"] = already
    return Written(None, tuple(w["record_id"] for w in written), "review", tuple(warnings), steps, extra=extra,
                   json_keys=("warnings", "next_steps"))


class _ReviewWriter:
    """Writes a batch's sealed reviews in its transaction as their rows come back checked (so the
    files are written while the other rows are checked), until a row is found wrong; `finish`
    writes the rest in row order (a case whose cover has ended: its review is made here, after
    the cover comes off) and commits."""

    def __init__(self, ctx: Context, tx, progress: Callable[[int], None] | None, expected: int):
        self.ctx, self.tx, self.progress, self.expected = ctx, tx, progress, expected
        self.ids: dict[int, str] = {}  # row number -> the id of the review written
        self.wrong = False
        self.ticks = 0

    def arrived(self, done: list[tuple]) -> None:
        self.wrong = self.wrong or any(item[3] for item in done)
        if self.wrong:
            return  # nothing more is written: the batch is refused once every row is checked
        for number, _case_id, _warnings, _errors, write in done:
            if write is not None and write[0] == "sealed":
                self._write(number, *write[1:])

    def _write(self, number: int, record, sealed: bytes | None = None, readers: list[str] | None = None) -> None:
        if sealed is None:
            self.tx.write_record(record, keys_for(self.ctx, readers or []))
        else:
            self.tx.write_sealed(record, sealed)
        self.ids[number] = record.id
        count = len(self.ids)
        if self.progress and count % WRITE_TICK == 0 and count < self.expected:
            self.progress(WRITE_TICK)
            self.ticks += WRITE_TICK

    def finish(self, planned: list[tuple[int, str, tuple]]) -> list[dict]:
        ended = ""
        for number, case_id, (what, *made) in planned:
            if number in self.ids or what == "already":
                continue
            if what == "sealed":
                self._write(number, *made)
            else:
                case, body = made
                readers, ended_here = end_expired_covers(self.ctx, self.tx, case)
                ended = ended or ended_here
                record = new_record(self.ctx, "review", case.id, body, after=case.history[-1].id if case.history else "")
                self._write(number, record, readers=readers)
        written = [{"case_id": case_id, "record_id": self.ids[number]} for number, case_id, _ in planned if number in self.ids]
        if written:  # every row recorded already: nothing to commit (the transaction leaves nothing behind)
            self.tx.commit(f"review batch {len(written)} cases{ended}")
        return written
