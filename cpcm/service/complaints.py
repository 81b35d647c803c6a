"""Complaints (ESARO P1 "Do no harm": child-friendly, impartial complaints mechanisms, especially
in residential care): record one, respond to it, read back those you may read, and what is due
of them.

A complaint lives in `complaints/<CM-ID>/`, one record per file as a case's, encrypted to the
worker who recorded it and the agency's supervisors and managers (its `recipients` file: the
recorder first), with the agency's recovery recipients as every folder is; never to a worker it
is about, whatever their role (`workflow.complaints.readers`). Any member of the team records
one (a child tells whoever they trust); a supervisor or manager who reads it and is not named in
it responds. Every write is one commit with a fixed message (`complaint record CM-… RECORD`,
`complaint respond CM-… RECORD`): IDs only, never what was said.

The library raises `CpcmError`s and returns values; the CLI (cpcm/cli/complaints.py) prints.
The pure rules are `cpcm.workflow.complaints`.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Mapping

from cpcm.domain.ids import WORKER_ID, new_complaint_id, normalise_case_id, normalise_complaint_id
from cpcm.domain.forms import laid_over
from cpcm.domain.text import said
from cpcm.errors import FieldError, InvalidInput, NotFound, Refused, UsageError
from cpcm.service import context, folders
from cpcm.service.results import Written
from cpcm.store.layout import COMPLAINTS, RECIPIENTS, case_rel
from cpcm.workflow import complaints as rules

WHAT = "the complaint"
NO_IMPARTIAL_READER = "complaint-no-impartial-reader"  # nobody but the recorder would read it
NEEDS_RESPONDER = "complaint-needs-responder"  # a response is a supervisor's or manager's who is not named in it
ALREADY_RESOLVED = "complaint-resolved"
SUMMARY_MAX = 4000
RESPONSE_MAX = 4000
REASON_MAX = 500  # a correction's reason: what was wrong
RESPONSE_FIELDS = ("outcome", "response", "action")  # a response's own fields, as a correction of it lays them over
JSON_KEYS = ("record_id", "kind", "warnings", "next_steps")
READERS_HINT = ("A complaint is read only by the agency's supervisors and managers and the worker who recorded it, never by "
                "a worker it is about.")
FOLDERS = folders.Folders(
    COMPLAINTS, rules.fold, "complaint", normalise_complaint_id,
    invalid="the complaint ID given is not a valid complaint ID",
    id_hint="Complaint IDs look like CM-4F7K-9X2N; see cpcm complaint list.",
    missing="complaint", listed_by="cpcm complaint list", not_reader="you ({worker}) are not among the readers of {id}",
    readers_hint=READERS_HINT)


def parse_complaint_id(text: str) -> str:
    return FOLDERS.parse_id(text)


# -- reading ------------------------------------------------------------------------------------
def show(ctx, complaint_id: str) -> rules.Complaint:
    """`cpcm complaint show`: a complaint you may read, with its response and history."""
    return FOLDERS.load(ctx, complaint_id)


def list_complaints(ctx, status: str | None = None) -> list[rules.Complaint]:
    """The complaints you may read, by when they were received (`status`: open or resolved only).
    One you may not read is not listed: nothing of it is yours."""
    found = [complaint for _cid, _readers, complaint in FOLDERS.opened(ctx, ctx.problems)
             if status is None or complaint.status == status]
    return sorted(found, key=lambda c: (c.at, c.id))


def for_case(ctx, case_id: str) -> list[rules.Complaint]:
    """The complaints you may read that name `case_id` (the case-level flag of `cpcm show`);
    none of those you may not read, whose existence is not told."""
    if ctx.worker is None:
        return []
    out = [complaint for _cid, _readers, complaint in FOLDERS.opened(ctx) if complaint.case == case_id]
    return sorted(out, key=lambda c: (c.at, c.id))


# -- writing ------------------------------------------------------------------------------------
def _choice(errors: list[FieldError], name: str, value, allowed: Iterable[str], required: bool = True) -> str | None:
    allowed = tuple(allowed)
    if value in (None, ""):
        if required:
            errors.append(FieldError(name, f"is required: one of {', '.join(allowed)}"))
        return None
    text = str(value).strip().lower()
    if text not in allowed:
        errors.append(FieldError(name, f"is not one of {', '.join(allowed)}"))
        return None
    return text


def text_field(errors: list[FieldError], name: str, value, limit: int, required: bool = True) -> str | None:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        errors.append(FieldError(name, "is text"))
        return None
    if not text:
        if required:
            errors.append(FieldError(name, "is required"))
        return None
    if len(text) > limit:
        errors.append(FieldError(name, f"is longer than {limit} characters"))
        return None
    return text


def _complaint_body(ctx, errors: list[FieldError], source, setting, summary, case, about: Iterable[str] = (),
                    concerns: Iterable[str] = (), disability=None) -> dict:
    """The body of a complaint record from what was given, checked: every bad field in `errors`."""
    source = _choice(errors, "from", source, rules.SOURCES)
    setting = _choice(errors, "setting", setting, rules.SETTINGS)
    disability = _choice(errors, "disability", disability, rules.DISABILITY, required=False) or "unknown"
    summary = text_field(errors, "summary", summary, SUMMARY_MAX)
    concerns_ = []
    for value in concerns:
        found = _choice(errors, "concerns", value, rules.CONCERNS)
        if found and found not in concerns_:
            concerns_.append(found)
    workers = []
    for value in about:
        text = str(value).strip()
        if not WORKER_ID.match(text) or ctx.team.get(text, include_removed=True) is None:
            errors.append(FieldError("about-worker", "names no worker of the team (see cpcm team list): a team id, "
                                                     "never a name"))
        elif text not in workers:
            workers.append(text)
    case_id = None
    if case:
        case_id = normalise_case_id(str(case))
        if case_id is None:
            errors.append(FieldError("case", "is not a case ID (they look like CP-4F7K-9X2N): case IDs only, never names"))
        elif not ctx.store.has_file(f"{case_rel(case_id)}/{RECIPIENTS}"):
            errors.append(FieldError("case", f"{case_id} is not a case in this casefile repository (see cpcm list)"))
            case_id = None
    return {"from": source, "setting": setting, "summary": summary, "disability": disability,
            **({"case_id": case_id} if case_id else {}), **({"about_workers": workers} if workers else {}),
            **({"concerns": concerns_} if concerns_ else {})}


def _response_body(errors: list[FieldError], outcome, response, action) -> dict:
    """The body of a response from what was given, checked: every bad field in `errors`."""
    outcome = _choice(errors, "outcome", outcome, rules.OUTCOMES)
    text = text_field(errors, "response", response, RESPONSE_MAX)
    action_text = text_field(errors, "action", action, RESPONSE_MAX, required=False)
    return {"outcome": outcome, "response": text, **({"action": action_text} if action_text else {})}


@context.writes
def record(ctx, source: str | None, setting: str | None, summary: str | None, case: str | None = None,
           about: Iterable[str] = (), concerns: Iterable[str] = (), disability: str | None = None,
           at: datetime | None = None) -> Written:
    """Record a complaint received (by any member of the team): who made it (`source`), the
    setting, what it says (`summary`, encrypted only), the case it concerns (an ID, checked to
    exist), the workers it is about (team ids) and what it concerns. Refused, with nothing
    written, when nobody but you would read it (no supervisor or manager who is not named in it).
    One commit; bad input changes nothing."""
    me = ctx.need_worker()
    errors: list[FieldError] = list(context.at_errors(ctx, None, at))
    body = _complaint_body(ctx, errors, source, setting, summary, case, about, concerns, disability)
    if errors:
        raise InvalidInput(errors, WHAT, hint="cpcm complaint record --help gives the options and their values.")
    workers = body.get("about_workers", [])
    readers = rules.readers(ctx.team, me.id, workers)
    if not rules.impartial(readers, me.id):
        # the one reader is you: either the team has no other supervisor or manager, or each other one is named in it
        others = [w for w in rules.readers(ctx.team, me.id, ()) if w != me.id]
        why = "every other supervisor or manager of the team is named in it" if others else "the team has no supervisor or manager but you"
        raise Refused(f"nobody but you would read this complaint: {why}, "
                      "so it would have no impartial route; nothing was written",
                      "Add a supervisor or manager who is not named in it (cpcm team add WORKER --role manager ...), then "
                      "record it again; or take it to the agency's own route outside this team (the holder of its recovery "
                      "key, or its head office).", rule=NO_IMPARTIAL_READER)
    complaint_id, entry = FOLDERS.create(ctx, new_complaint_id, rules.KIND, body, at, readers,
                                         context.recipients_bytes(readers, COMPLAINTS), "complaint record")
    warnings = []
    if me.id in workers:
        warnings.append("you named yourself in --about-worker: the complaint is not readable by you from now on")
    steps = ((f"read it back: cpcm complaint show {complaint_id}",) if me.id in readers else ()) + (
        "a supervisor or manager who is not named in it responds: cpcm complaint respond " + complaint_id + " ...",)
    return Written(complaint_id, entry.id, rules.KIND, tuple(warnings), steps,
                   {"complaint_id": complaint_id, "readers": len(readers)}, json_keys=JSON_KEYS)


def _need_responder(ctx, complaint_id: str, readers: list[str], complaint: rules.Complaint, what: str,
                    recorder_too: bool = False) -> None:
    """Refused (`complaint-needs-responder`) unless you may respond to the complaint (a supervisor
    or manager who reads it and is not named in it) or, with `recorder_too`, recorded it."""
    me = ctx.need_worker()
    if rules.may_respond(ctx.team.get(me.id), readers, complaint.about) or (
            recorder_too and me.id == complaint.recorded_by and me.id not in complaint.about):
        return
    others = [r for r in readers if rules.may_respond(ctx.team.get(r), readers, complaint.about)]
    who = "the worker who recorded it or " if recorder_too else ""
    raise Refused(f"only {who}a supervisor or manager who is not named in {complaint_id} {what}; nothing was written",
                  f"Ask {', '.join(others)}." if others else "Add a supervisor or manager (cpcm team add WORKER --role "
                  "manager ...): the complaint is encrypted to them when they are added.", rule=NEEDS_RESPONDER)


@context.writes
def respond(ctx, complaint_id: str, outcome: str | None, response: str | None, action: str | None = None,
            at: datetime | None = None) -> Written:
    """Respond to a complaint (a supervisor or manager who reads it and is not named in it): the
    outcome, the response, the action taken. The complaint is then resolved. One commit."""
    readers = FOLDERS.readers(ctx, complaint_id)
    complaint = FOLDERS.load(ctx, complaint_id)
    _need_responder(ctx, complaint_id, readers, complaint, "responds to it")
    if complaint.response:
        raise Refused(f"{complaint_id} was responded to already ({complaint.response.get('outcome')}); nothing was written",
                      f"See cpcm complaint show {complaint_id}; a mistake in the response is corrected with cpcm complaint "
                      f"respond {complaint_id} --corrects ... --reason ...", rule=ALREADY_RESOLVED)
    errors: list[FieldError] = list(context.at_errors(ctx, None, at))
    body = _response_body(errors, outcome, response, action)
    if at is not None and at < datetime.fromisoformat(complaint.at):
        errors.append(FieldError("at", "is before the complaint was received"))
    if errors:
        raise InvalidInput(errors, f"the response to {complaint_id}", hint="cpcm complaint respond --help gives the options.")
    entry = FOLDERS.add_record(ctx, complaint_id, rules.RESPONSE_KIND, body, at, complaint.history[-1]["record_id"], readers,
                               "complaint respond")
    return Written(complaint_id, entry.id, rules.RESPONSE_KIND, (), (f"cpcm complaint show {complaint_id}",),
                   {"complaint_id": complaint_id, "outcome": body["outcome"]}, json_keys=JSON_KEYS)


def _as_given(complaint: rules.Complaint) -> dict:
    """The complaint record's fields as they stand, as a correction lays what is given over them."""
    return {"from": complaint.source, "setting": complaint.setting, "summary": complaint.summary,
            "disability": complaint.disability, **({"case_id": complaint.case} if complaint.case else {}),
            **({"about_workers": list(complaint.about)} if complaint.about else {}),
            **({"concerns": list(complaint.concerns)} if complaint.concerns else {})}


def _corrected_complaint(ctx, complaint: rules.Complaint, data: Mapping[str, Any], at: datetime | None,
                         errors: list[FieldError]) -> tuple[dict, dict]:
    """(the complaint record's fields as they stand, those of its correction) with `data` laid over them, checked."""
    if "about_workers" in data:
        errors.append(FieldError("about-worker", "cannot be changed by a correction: who reads a complaint follows who it is "
                                                 "about, and its records were encrypted to its readers; record the "
                                                 "complaint again with the right workers named"))
    base = _as_given(complaint)
    merged = laid_over(base, {k: v for k, v in data.items() if k != "about_workers"})
    body = _complaint_body(ctx, errors, merged.get("from"), merged.get("setting"), merged.get("summary"),
                           merged.get("case_id"), merged.get("about_workers") or (), merged.get("concerns") or (),
                           merged.get("disability"))
    response_at = complaint.response.get("at") if complaint.response else None
    if at is not None and response_at and at > datetime.fromisoformat(str(response_at)):
        errors.append(FieldError("at", "is after the complaint was responded to"))
    return base, body


def _corrected_response(complaint: rules.Complaint, data: Mapping[str, Any], at: datetime | None,
                        errors: list[FieldError]) -> tuple[dict, dict]:
    """(the response's fields as they stand, those of its correction) with `data` laid over them, checked."""
    base = {k: complaint.response[k] for k in RESPONSE_FIELDS if complaint.response.get(k)}
    merged = laid_over(base, data)
    body = _response_body(errors, merged.get("outcome"), merged.get("response"), merged.get("action"))
    if at is not None and at < datetime.fromisoformat(complaint.at):
        errors.append(FieldError("at", "is before the complaint was received"))
    return base, body


@context.writes
def correct(ctx, complaint_id: str, data: Mapping[str, Any], reason: str | None, at: datetime | None = None,
            response: bool = False) -> Written:
    """Correct a complaint (a wrong case, who made it, the setting, what it concerns, a typo in
    the summary; `at`: when it was received) or, with `response`, its response (the outcome, the
    response given, the action; `at`: when it was given): a new record that supersedes the one
    standing, holding its fields with `data` laid over them (a field given empty is removed), with
    the reason. The original stays in the history. Who it is about is not changed: its readers
    follow it. By the worker who recorded it or a supervisor or manager who is not named in it (a
    response: by the latter only). One commit `complaint correct CM-… RECORD`; bad input changes
    nothing."""
    readers = FOLDERS.readers(ctx, complaint_id)
    complaint = FOLDERS.load(ctx, complaint_id)
    _need_responder(ctx, complaint_id, readers, complaint, "corrects its response" if response else "corrects it",
                    recorder_too=not response)
    if response and not complaint.response:
        raise NotFound(f"{complaint_id} has no response to correct",
                       f"A response is recorded with cpcm complaint respond {complaint_id} ...")
    command = f"cpcm complaint {'respond ' + complaint_id + ' --corrects' if response else 'record --corrects ' + complaint_id}"
    if not data and at is None:
        raise UsageError(f"nothing to correct in {complaint_id}: no field was given and no --at",
                         f"Give the fields to correct, e.g. {command} --{'response' if response else 'summary'} ... "
                         "--reason ...; --help lists them.")
    errors: list[FieldError] = list(context.at_errors(ctx, None, at))
    if not said(reason):
        errors.append(FieldError("reason", "is required: what was wrong"))
    else:
        text_field(errors, "reason", reason, REASON_MAX)
    if response:
        base, body = _corrected_response(complaint, data, at, errors)
    else:
        base, body = _corrected_complaint(ctx, complaint, data, at, errors)
    if errors:
        raise InvalidInput(errors, f"the correction of {complaint_id}", hint="Nothing was written. --reason says what was "
                           f"wrong; cpcm complaint {'respond' if response else 'record'} --help gives the options.")
    original = complaint.response if response else {"record_id": complaint.record_id, "at": complaint.at}
    when = at or datetime.fromisoformat(str(original["at"]))
    if body == base and when == datetime.fromisoformat(str(original["at"])):
        raise Refused(f"the correction would change nothing in {complaint_id}; nothing was written",
                      "Give the fields to correct with their right values.", rule="nothing-to-correct")
    kind = rules.RESPONSE_KIND if response else rules.KIND
    body = {**body, "supersedes": original["record_id"], rules.CORRECTION_REASON: reason.strip()}
    entry = FOLDERS.add_record(ctx, complaint_id, kind, body, when, complaint.history[-1]["record_id"], readers,
                               "complaint correct")
    moved = () if response or base.get("case_id") == body.get("case_id") else (
        f"{complaint_id} is now flagged on {body.get('case_id') or 'no case'} (cpcm show), no longer on "
        f"{base.get('case_id') or 'no case'}",)
    return Written(complaint_id, entry.id, kind, moved, (f"cpcm complaint show {complaint_id}",),
                   {"complaint_id": complaint_id, "supersedes": original["record_id"]}, json_keys=JSON_KEYS)


# -- team changes -------------------------------------------------------------------------------
def reencrypt_all(ctx, tx, damaged: list[dict[str, str]] | None = None) -> list[str]:
    """Bring each complaint you read in line with the team (`rules.readers`: a supervisor or
    manager added comes, a worker removed goes, one it is about never comes), in the transaction
    `tx`. Returns the complaints re-encrypted, and nothing besides: a complaint you do not read is
    never named nor counted to you (it may be about you); its readers find it on their `due`
    (`rules.readers_item`) and bring it in line."""
    return FOLDERS.in_line(ctx, tx, lambda complaint: rules.readers(ctx.team, complaint.recorded_by, complaint.about), damaged)


# -- the due list, the report -------------------------------------------------------------------
def due_items(ctx, whose: str, horizon: datetime, overdue_only: bool, soon) -> list:
    """The responses due of the complaints you read: for `whose` ('all': every one you read)
    when they may respond (a supervisor or manager not named in it). Only complaints you may read
    are looked at: one you may not read is on nobody's list of yours."""
    if ctx.worker is None:
        return []
    kept = folders.due_filter(ctx, whose, horizon, overdue_only, soon)
    out = []
    marks: dict[str, list[str]] = {}  # the complaints whose records are still encrypted to an earlier key of a reader
    for cid, current, complaint in FOLDERS.opened(ctx, marks=marks):  # each complaint's `recipients` read once
        items = rules.due_items([complaint], ctx.policy)  # its response, while it is open
        lag = rules.readers_item(complaint, ctx.team, current, ctx.policy, ctx.now, marks.get(cid, ()))
        out += [item for item in items + ([lag] if lag is not None else []) if kept(item, current)]
    return out


def problems(ctx) -> list:
    """`cpcm check`: each open complaint you read whose response is overdue (`complaints.respond_within`),
    code `complaint-respond-overdue` (a warning). Only the complaints you read are looked at: a worker
    a complaint is about never reads it, so it is never among their problems, and their exit code
    is what it would be without it. A complaint you read that cannot be read is left out and said
    so, as `cpcm complaint list` says it."""
    me = ctx.need_worker()
    return rules.overdue_problems(list_complaints(ctx, rules.OPEN), ctx.policy, ctx.now, me.id)


def report(ctx, start: date | None = None, end: date | None = None) -> dict:
    """`cpcm report complaints`: complaints received and resolved in the period, by setting and
    by whether they concern staff, small cells suppressed as `report statistics` does; counts only.
    Counted from the complaints you may read (a supervisor's or manager's: every one not about
    them)."""
    from cpcm.reports.disclosure import marker, protected_table
    from cpcm.reports.statistics import DEFAULT_THRESHOLD

    ctx.need_worker()
    zone = ctx.zone
    end = end or ctx.now.astimezone(zone).date()
    start = start or date(end.year, 1, 1)
    if start > end:
        raise UsageError("--from is after --to", "Give a period that starts before it ends.")
    rows = []
    for complaint in list_complaints(ctx):
        done = complaint.response.get("at") if complaint.response else None
        rows.append((complaint.at, complaint.setting, complaint.about_staff, done))
    counts = rules.report_rows(rows, start, end, zone)
    threshold = int(ctx.policy.get("reporting", "small_cell_threshold", DEFAULT_THRESHOLD))
    columns = ["not about staff", "about staff"]
    tables = [protected_table(key, f"Complaints {key} by setting, {start.isoformat()} to {end.isoformat()}", "setting",
                              list(rules.SETTINGS), columns, counts[key], threshold)
              for key in ("received", "resolved")]
    small = marker(threshold)
    return {"report": "complaints", "period": {"from": start.isoformat(), "to": end.isoformat()},
            "tables": tables, "readable": len(rows),
            "legend": {small: f"fewer than {threshold} (1 to {threshold - 1}): hidden so that no child can be singled out",
                       "x": "hidden so that a hidden count cannot be worked out from the totals"} if threshold > 1 else {},
            "policy": {"small_cell_threshold": threshold}}

