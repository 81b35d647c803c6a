"""Supervision sessions (IAG §2 [L588-610]; ESARO N2): record one, read it back, correct it,
and what is due of them.

A session lives in `supervision/<SV-ID>/`, one record per file as a case's, encrypted to the
supervisor or manager who held it and the workers supervised in it (its `recipients` file: the
holder first), with the agency's recovery recipients as every case is: supervision is
confidential, so never to the rest of the team. A correction is a new record in the same folder
that supersedes the one before; the original stays in the history. Every write is one commit
with a fixed message (`supervision record SV-… RECORD`, `supervision correct SV-… RECORD`).

The library raises `CpcmError`s and returns values; the CLI (cpcm/cli/supervision.py) prints.
The pure rules are `cpcm.workflow.supervision`.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping

from cpcm.domain.ids import new_supervision_id, normalise_case_id, normalise_supervision_id, record_id_millis
from cpcm.domain.text import said
from cpcm.errors import CannotDecrypt, Corrupt, FieldError, InvalidInput, NotFound, Refused, UsageError
from cpcm.service import context, folders
from cpcm.service.results import Written
from cpcm.store import forms
from cpcm.store.layout import RECIPIENTS, RECORD_FILE, SUPERVISION, case_rel
from cpcm.workflow import supervision as rules

WHAT = "the supervision session"
NEEDS_SUPERVISOR = "supervision-needs-supervisor"  # only a supervisor or manager records (and corrects) a session they held
JSON_KEYS = ("record_id", "kind", "warnings", "next_steps")
FOLDERS = folders.Folders(
    SUPERVISION, rules.fold, "supervision", normalise_supervision_id,
    invalid="the session ID given is not a valid supervision session ID",
    id_hint="Session IDs look like SV-4F7K-9X2N; see cpcm supervision list.",
    missing="supervision session", listed_by="cpcm supervision list", not_reader="you ({worker}) did not take part in {id}",
    readers_hint="A supervision session is read only by the supervisor who held it and the workers supervised in it.")


def parse_session_id(text: str) -> str:
    return FOLDERS.parse_id(text)


# -- reading ------------------------------------------------------------------------------------
def show(ctx, session_id: str) -> rules.Session:
    """`cpcm supervision show`: a session you took part in, as it stands, with its history."""
    return FOLDERS.load(ctx, session_id)


def list_sessions(ctx, worker: str | None = None) -> list[rules.Session]:
    """The sessions you took part in (held or were supervised in), by date; with `worker`, those
    that supervised that worker. A session you did not take part in is not listed: its folder
    shows who took part (its `recipients` file) but nothing of it is yours to read."""
    ctx.need_worker()
    if worker is not None and ctx.team.get(worker, include_removed=True) is None:
        raise NotFound("--worker: no worker by that id in the team", "See cpcm team list.")
    found = [session for _sid, _readers, session in FOLDERS.opened(ctx, ctx.problems)
             if worker is None or worker in session.workers]
    return sorted(found, key=lambda s: (s.at, s.id))


def _first_written(ctx, session_id: str) -> datetime | None:
    """When a session's first record was written (its record ID's time): what its folder shows without a key."""
    ids = [m["id"] for m in (RECORD_FILE.match(p.name) for p in ctx.store.record_files(session_id, SUPERVISION)) if m]
    if not ids:
        return None
    return datetime.fromtimestamp(record_id_millis(min(ids)) / 1000, tz=timezone.utc)


def held(ctx) -> list[tuple[datetime, str, str, list[str]]]:
    """(when, session id, held by, workers) of every session: from its records where you took part,
    else from what its folder shows (its readers, the holder first, and when it was first written)."""
    me = ctx.need_worker()
    out = []
    for session_id in FOLDERS.ids(ctx):
        readers = ctx.store.recipients(session_id, SUPERVISION)
        if not readers:
            continue
        if me.id in readers:
            try:
                session = FOLDERS.load(ctx, session_id)
                out.append((datetime.fromisoformat(session.at), session_id, session.held_by, list(session.workers)))
                continue
            except (Corrupt, CannotDecrypt, ValueError):
                pass
        when = _first_written(ctx, session_id)
        if when is not None:
            out.append((when, session_id, readers[0], readers[1:]))
    return out


# -- writing ------------------------------------------------------------------------------------
def _need_holder(ctx, verb: str):
    me = ctx.need_worker()
    if not rules.may_hold(ctx.team.get(me.id)):
        overseers = [w.id for w in ctx.team.active if rules.may_hold(w)]
        raise Refused(f"only a supervisor or manager records a supervision session they held; you ({me.id}) are not one, "
                      "so nothing was written",
                      (f"Ask {', '.join(overseers)} to record it." if overseers else
                       "The team has no supervisor or manager: one is added with cpcm team add WORKER --role supervisor ..."),
                      rule=NEEDS_SUPERVISOR)
    return me


def _check_body(ctx, data: Mapping[str, Any], me, errors: list[FieldError], new: bool = True,
                kept: Mapping[str, Any] | None = None) -> dict:
    """The body of a session from `data` (the form's fields), checked: every bad field in `errors`.
    `new`: a session being recorded, whose workers must be active members of the team (a
    correction keeps the workers it was recorded with, one who has left since too). `kept`: the
    session a correction corrects: the owner of an action it names stands, one who has left the
    team since too; an action given to someone anew is given to a member (`_new_owners`)."""
    body, problems = context.form_problems(ctx, "supervision", data, kept)
    errors += problems
    named = {e.field for e in problems}
    errors += [e for e in _new_owners(ctx, body, kept) if e.field not in named] if kept is not None else []
    workers = [str(w).strip() for w in (body.get("workers") or []) if str(w).strip()]
    for worker in workers if new else ():
        if ctx.team.get(worker) is None:
            errors.append(FieldError("workers", "names someone who is not an active member of the team (active: "
                                               f"{', '.join(w.id for w in ctx.team.active)}; see cpcm team list)"))
        elif worker == me.id:
            errors.append(FieldError("workers", "is you: a session is held by one worker for others (your own supervision "
                                               "is recorded by the one who supervises you)"))
    if new and len(set(workers)) != len(workers):
        errors.append(FieldError("workers", "names a worker twice"))
    cases = []
    for text in body.get("cases") or []:
        case_id = normalise_case_id(str(text))
        if case_id is None:
            errors.append(FieldError("cases", "is not a case ID (they look like CP-4F7K-9X2N): case IDs only, never names"))
        elif not ctx.store.has_file(f"{case_rel(case_id)}/{RECIPIENTS}"):
            errors.append(FieldError("cases", f"{case_id} is not a case in this casefile repository (see cpcm list)"))
        elif case_id not in cases:
            cases.append(case_id)
    body["workers"] = workers
    body["cases"] = cases
    return body


@context.writes
def record(ctx, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record a supervision session held by you (a supervisor or manager) with one worker
    (individual) or more (group): its kinds, the cases discussed (IDs, checked to exist), what
    was discussed, decisions, actions (each with an owner and a date), wellbeing and operational
    issues (`data`: the form `supervision`). One commit; bad input changes nothing."""
    me = _need_holder(ctx, "record")
    errors: list[FieldError] = list(context.at_errors(ctx, None, at))
    body = _check_body(ctx, data, me, errors)
    if errors:
        raise InvalidInput(errors, WHAT, hint="cpcm form blank supervision prints the form; cpcm supervision record --help the options.")
    body = {"held_by": me.id, **{k: v for k, v in body.items() if v not in (None, "", [])}}
    body.setdefault("workers", [])
    readers = rules.readers(me.id, body["workers"])
    session_id, entry = FOLDERS.create(ctx, new_supervision_id, rules.KIND, body, at, readers, _recipients_bytes(readers),
                                        "supervision record")
    warnings = [w for w in (rules.ratio_warning(ctx.team, ctx.policy),) if w] + _dated_before_joining(ctx, session_id,
                                                                                                   body["workers"], at)
    return Written(session_id, entry.id, rules.KIND, tuple(warnings), (f"read it back: cpcm supervision show {session_id}",),
                   {"session_id": session_id, "workers": list(body["workers"]),
                    "format": "group" if len(body["workers"]) > 1 else "individual"}, json_keys=JSON_KEYS)


def _dated_before_joining(ctx, session_id: str, workers: Iterable[str], at: datetime | None) -> list[str]:
    """A warning for each worker of a session dated (--at) before they joined the team
    (`rules.joined_after`): kept as dated, but a year typed wrong lands there too."""
    if at is None:
        return []
    from cpcm.domain.dates import local_text

    return [f"--at ({local_text(at, ctx.zone)}) is before {worker} joined the team ({local_text(start, ctx.zone)}); the "
            f"session is kept as dated (one held before still counts for the supervision cadence). If the date is wrong: "
            f"cpcm supervision record --corrects {session_id} --at WHEN --reason ..."
            for worker, start in rules.joined_after(ctx.team, workers, at)]


def _new_owners(ctx, body: Mapping[str, Any], kept: Mapping[str, Any]) -> list[FieldError]:
    """A correction's actions owned by someone not in the team now, beyond the actions the session
    as written gave them (`context.workers_taken`: what was written stands, a new value is a
    member): the field of each, naming the active members."""
    form = forms.load("supervision", ctx.root)
    left = Counter(context.kept_in_lists(form, kept).get("actions[].owner", []))
    active = {w.id for w in ctx.team.active}
    errors = []
    for index, action in enumerate(body.get("actions") or [], 1):
        owner = action.get("owner") if isinstance(action, Mapping) else None
        if not owner or owner in active:
            continue
        if left[owner] > 0:
            left[owner] -= 1
            continue
        errors.append(FieldError(f"actions[{index}].owner", f"is not a member of the team ({', '.join(sorted(active))}): an "
                                                             "action given anew is given to a member"))
    return errors


def _recipients_bytes(readers: Iterable[str]) -> bytes:
    return ("# worker ids who may read this supervision session: who held it, then who was supervised\n"
            + "\n".join(readers) + "\n").encode()


@context.writes
def correct(ctx, session_id: str, data: Mapping[str, Any], reason: str | None, at: datetime | None = None) -> Written:
    """Correct a session (a mistyped date, kind or note): a new record in its folder that
    supersedes the one standing, holding its fields with those of `data` laid over them (a field
    given empty is removed; `at` corrects when it was held). By the supervisor or manager who
    held it. The workers supervised are not changed: the session was encrypted to them, and stays
    readable to them in the history."""
    me = _need_holder(ctx, "correct")
    session = FOLDERS.load(ctx, session_id)
    if session.held_by != me.id:
        raise Refused(f"{session_id} was held by {session.held_by}: only they correct it", f"Ask {session.held_by}.",
                      rule=NEEDS_SUPERVISOR)
    errors: list[FieldError] = []
    if not said(reason):
        errors.append(FieldError("reason", "is required: what was wrong"))
    elif len(reason) > 500:
        errors.append(FieldError("reason", "is longer than 500 characters"))
    base = {k: v for k, v in session.body.items() if k not in ("held_by", "supersedes", "reason")}
    if "workers" in data and list(data.get("workers") or []) != list(session.workers):
        errors.append(FieldError("workers", "cannot be changed by a correction: the session was encrypted to the workers "
                                           "named, and stays readable to them in the history; record the session again "
                                           "for the right workers"))
    merged = {**base, **{k: v for k, v in data.items() if k != "workers"}}
    merged = {k: v for k, v in merged.items() if v not in (None, "", [])}
    if at is not None:
        errors += context.at_errors(ctx, None, at)
    body = _check_body(ctx, {**merged, "workers": list(session.workers)}, me, errors, new=False, kept=session.body)
    if errors:
        raise InvalidInput(errors, f"the correction of {session_id}")
    body = {k: v for k, v in body.items() if v not in (None, "", [])}
    body["workers"] = list(session.workers)
    new_at = at or datetime.fromisoformat(session.at)
    unchanged = {k: v for k, v in session.body.items() if k not in ("held_by", "supersedes", "reason")}
    if body == unchanged and new_at == datetime.fromisoformat(session.at):
        raise Refused(f"the correction would change nothing in {session_id}", "Give the fields to correct (see --help).",
                      rule="nothing-to-correct")
    body = {"held_by": session.held_by, **body, "supersedes": session.record_id, "reason": reason.strip()}
    readers = ctx.store.recipients(session_id, SUPERVISION)
    entry = FOLDERS.add_record(ctx, session_id, rules.KIND, body, new_at, session.history[-1]["record_id"], readers,
                               "supervision correct")
    warnings = _dated_before_joining(ctx, session_id, session.workers, at)
    return Written(session_id, entry.id, rules.KIND, tuple(warnings), (f"cpcm supervision show {session_id}",),
                   {"session_id": session_id, "supersedes": session.record_id}, json_keys=JSON_KEYS)


# -- the due list, the checks and the report ----------------------------------------------------------
def cadence_items(ctx) -> list:
    """Every caseworker's next supervision (`rules.cadence_due`), whoever it is for."""
    every, required = rules.cadence(ctx.policy)
    if every is None or not required:
        return []
    from cpcm.workflow.conferences import profile_start

    last = rules.last_sessions(held(ctx))
    return rules.cadence_due(ctx.team, last, ctx.policy, ctx.now, profile_start(ctx.config.policy_since))


def due_items(ctx, whose: str, horizon: datetime, overdue_only: bool, soon) -> list:
    """The supervision items for `whose` ('all': every one): each caseworker whose next session
    falls by `horizon` (or is overdue), for the supervisor who held their last one, else for any
    supervisor or manager (the due list's worker filter, as for the conferences' items); and each
    session you took part in whose records are still encrypted to an earlier key of another who took
    part (`supervision-readers`: its `# rekey:` lines, a key change made by someone who could not read
    it), due at once, for the supervisor or manager who reads it (cpcm team sync)."""
    from cpcm.workflow.clocks import SUPERVISORS
    from cpcm.workflow.deadlines import readers_rekey

    kept = folders.due_filter(ctx, whose, horizon, overdue_only, soon)
    items = [item for item in cadence_items(ctx) if kept(item)]
    if ctx.worker is not None:
        marks: dict[str, list[str]] = {}
        for session_id, readers in FOLDERS.readable(ctx, marks):
            if session_id in marks and ctx.worker.id not in marks[session_id]:
                item = readers_rekey(rules.DUE_SUBJECT, "supervision session", session_id, ctx.now, SUPERVISORS)
                if kept(item, readers):
                    items.append(item)
    return items


def problems(ctx) -> list:
    """`cpcm check`: each caseworker whose supervision is overdue, and too many caseworkers per supervisor."""
    return rules.overdue_problems(cadence_items(ctx), ctx.now) + rules.ratio_problems(ctx.team, ctx.policy)


def report(ctx, start: date | None = None, end: date | None = None) -> list[dict]:
    """The supervision table of `cpcm report caseload`: per active worker, the date of their last session (on or before
    `end`) and how many they had between `start` and `end` (default: the last 3 months to today), counted from what
    every session's folder shows and, where you took part, its date; counts only, never content
    (ESARO monitoring: supervision frequency)."""
    ctx.need_worker()
    zone = ctx.now.tzinfo or timezone.utc
    end = end or ctx.now.astimezone(zone).date()
    if start is None:  # the 3 months up to `end`: the same day 3 months before (the month's last day where it has none)
        import calendar

        year, month = (end.year, end.month - 3) if end.month > 3 else (end.year - 1, end.month + 9)
        start = date(year, month, min(end.day, calendar.monthrange(year, month)[1]))
    if start > end:
        raise UsageError("--from is after --to", "Give a period that starts before it ends.")
    sessions = held(ctx)
    rows = []
    for worker in ctx.team.active:
        mine = sorted(when.astimezone(zone).date() for when, _sid, by, workers in sessions if worker.id in workers and by != worker.id)
        holding = [when.astimezone(zone).date() for when, _sid, by, _w in sessions if by == worker.id]
        # the last up to the period's end: a table of August says when each was last supervised by then
        last = max((d for d in mine if d <= end), default=None)
        rows.append({"worker": worker.id, "roles": list(worker.roles),
                     "last_session": last.isoformat() if last else None,
                     "sessions": sum(1 for d in mine if start <= d <= end),
                     "sessions_held": sum(1 for d in holding if start <= d <= end)})
    return rows
