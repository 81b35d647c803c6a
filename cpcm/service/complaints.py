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
from typing import Iterable

from cpcm.domain.ids import WORKER_ID, new_complaint_id, normalise_case_id, normalise_complaint_id
from cpcm.errors import FieldError, InvalidInput, Refused, UsageError
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
    if errors:
        raise InvalidInput(errors, WHAT, hint="cpcm complaint record --help gives the options and their values.")
    readers = rules.readers(ctx.team, me.id, workers)
    if not rules.impartial(readers, me.id):
        raise Refused("nobody but you would read this complaint: the team has no supervisor or manager who is not named in it, "
                      "so it would have no impartial route; nothing was written",
                      "Add a supervisor or manager who is not named in it (cpcm team add WORKER --role manager ...), then "
                      "record it again; or take it to the agency's own route outside this team (the holder of its recovery "
                      "key, or its head office).", rule=NO_IMPARTIAL_READER)
    body = {"from": source, "setting": setting, "summary": summary, "disability": disability,
            **({"case_id": case_id} if case_id else {}), **({"about_workers": workers} if workers else {}),
            **({"concerns": concerns_} if concerns_ else {})}
    complaint_id, entry = FOLDERS.create(ctx, new_complaint_id, rules.KIND, body, at, readers,
                                         context.recipients_bytes(readers, COMPLAINTS), "complaint record")
    warnings = []
    if me.id in workers:
        warnings.append("you named yourself in --about-worker: the complaint is not readable by you from now on")
    steps = ((f"read it back: cpcm complaint show {complaint_id}",) if me.id in readers else ()) + (
        "a supervisor or manager who is not named in it responds: cpcm complaint respond " + complaint_id + " ...",)
    return Written(complaint_id, entry.id, rules.KIND, tuple(warnings), steps,
                   {"complaint_id": complaint_id, "readers": len(readers)}, json_keys=JSON_KEYS)


@context.writes
def respond(ctx, complaint_id: str, outcome: str | None, response: str | None, action: str | None = None,
            at: datetime | None = None) -> Written:
    """Respond to a complaint (a supervisor or manager who reads it and is not named in it): the
    outcome, the response, the action taken. The complaint is then resolved. One commit."""
    me = ctx.need_worker()
    readers = FOLDERS.readers(ctx, complaint_id)
    complaint = FOLDERS.load(ctx, complaint_id)
    if not rules.may_respond(ctx.team.get(me.id), readers, complaint.about):
        others = [r for r in readers if rules.may_respond(ctx.team.get(r), readers, complaint.about)]
        raise Refused(f"only a supervisor or manager who is not named in {complaint_id} responds to it; nothing was written",
                      f"Ask {', '.join(others)}." if others else "Add a supervisor or manager (cpcm team add WORKER --role "
                      "manager ...): the complaint is encrypted to them when they are added.", rule=NEEDS_RESPONDER)
    if complaint.response:
        raise Refused(f"{complaint_id} was responded to already ({complaint.response.get('outcome')}); nothing was written",
                      f"See cpcm complaint show {complaint_id}.", rule=ALREADY_RESOLVED)
    errors: list[FieldError] = list(context.at_errors(ctx, None, at))
    outcome = _choice(errors, "outcome", outcome, rules.OUTCOMES)
    text = text_field(errors, "response", response, RESPONSE_MAX)
    action_text = text_field(errors, "action", action, RESPONSE_MAX, required=False)
    if at is not None and at < datetime.fromisoformat(complaint.at):
        errors.append(FieldError("at", "is before the complaint was received"))
    if errors:
        raise InvalidInput(errors, f"the response to {complaint_id}", hint="cpcm complaint respond --help gives the options.")
    body = {"outcome": outcome, "response": text, **({"action": action_text} if action_text else {})}
    entry = FOLDERS.add_record(ctx, complaint_id, rules.RESPONSE_KIND, body, at, complaint.history[-1]["record_id"], readers,
                               "complaint respond")
    return Written(complaint_id, entry.id, rules.RESPONSE_KIND, (), (f"cpcm complaint show {complaint_id}",),
                   {"complaint_id": complaint_id, "outcome": outcome}, json_keys=JSON_KEYS)


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

