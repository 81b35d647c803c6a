"""Cases: cpcm register, assign, show, list, log, note and repair."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from cpcm.domain.case import Case
from cpcm.domain.forms import validate
from cpcm.domain.ids import new_case_id
from cpcm.errors import FieldError, InvalidInput, NotFound, Refused
from cpcm.service.context import (Context, append, case_content, caseload_warnings, check_readable, keys_for, load_case, load_cases,
                                  load_records, new_record, read_case, readers_for, recipients_bytes, reencrypt, transaction, writes)
from cpcm.service.results import Written
from cpcm.service.worklist import due
from cpcm.store import forms
from cpcm.store.layout import CASES, RECIPIENTS, RECORD_FILE
from cpcm.workflow import transitions
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow.duplicates import probable_duplicates
from cpcm.workflow.fold import fold, superseded_ids


def validate_registration(ctx: Context, data: Mapping[str, Any]) -> dict:
    form = forms.load("registration", ctx.root)
    body, errors = validate(form, data, ctx.now.date(), [w.id for w in ctx.team.active])
    if errors:
        raise InvalidInput(errors, "registration")
    body.setdefault("worker", ctx.need_worker().id)
    return body


@writes
def register(ctx: Context, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Validate and record a registration; a new case with its own random ID."""
    ctx.need_worker()
    body = validate_registration(ctx, data)
    if at is not None and at > ctx.now:
        raise InvalidInput([FieldError("at", "is in the future")], "registration")
    existing = set(ctx.store.case_ids())
    case_id = new_case_id()
    while case_id in existing:
        case_id = new_case_id()
    record = new_record(ctx, "registration", case_id, body, at)
    case = fold(case_id, [record])
    cases = load_cases(ctx)
    duplicates = tuple(probable_duplicates(case, cases.values()))
    warnings = caseload_warnings(ctx, case.worker, cases)
    readers = readers_for(ctx, case)
    with transaction(ctx, "register") as tx:
        tx.replace_file(f"{CASES}/{case_id}/{RECIPIENTS}", recipients_bytes(readers))
        tx.write_record(record, keys_for(ctx, readers))
        tx.commit(f"register {case_id} {record.id}")
    return Written(case_id, record.id, "registration", tuple(warnings),
                   extra={"possible_duplicates": [{"case_id": c, "reason": r} for c, r in duplicates]},
                   json_keys=("subject", "record_id", "warnings"))


@writes
def assign(ctx: Context, case_id: str, worker_id: str, at: datetime | None = None) -> Written:
    """Assign a case to a worker; the case is re-encrypted to its new readers."""
    case = load_case(ctx, case_id)
    if ctx.team.get(worker_id) is None:
        raise NotFound(f"no active worker '{worker_id}' in the team", "See cpcm team list.")
    if case.worker == worker_id:
        raise Refused(f"{case_id} is already assigned to '{worker_id}'", rule="already-assigned")
    transitions.advance(case.stage, "assignment", case_id)
    warnings = caseload_warnings(ctx, worker_id)
    record = new_record(ctx, "assignment", case_id, {"worker": worker_id, "previous": case.worker}, at,
                        after=case.history[-1].id if case.history else "")
    readers = readers_for(ctx, case, assigned=worker_id)
    with transaction(ctx, "assign") as tx:
        reencrypt(ctx, tx, case_id, readers)
        tx.write_record(record, keys_for(ctx, readers))
        tx.commit(f"assign {case_id} {record.id}")
    return Written(case_id, record.id, "assignment", tuple(warnings), extra={"worker": worker_id},
                   json_keys=("subject", "record_id", "warnings"))


def list_(ctx: Context, status: str | None = None, risk: str | None = None, worker: str | None = None,
               stage: str | None = None) -> list[Case]:
    selected = []
    for case in load_cases(ctx).values():
        if status and case.status != status:
            continue
        if risk and case.risk != risk:
            continue
        if worker and case.worker != worker:
            continue
        if stage and case.stage != stage:
            continue
        selected.append(case)
    return sorted(selected, key=lambda c: (c.registered_at or "", c.id))


@dataclass(frozen=True)
class LogEntry:
    record_id: str
    kind: str
    at: str
    recorded_at: str
    by: str
    commit: str | None
    committed_at: str | None
    message: str | None
    unreadable: bool = False  # a damaged record: its kind is its file name's; at, recorded_at and by are unknown
    superseded_by: str | None = None  # the record (a repair) that supersedes it

    def to_json(self) -> dict:
        return dict(self.__dict__)


def log(ctx: Context, case_id: str) -> list[LogEntry]:
    """Every record of the case with the commit that added it; a damaged record too (from its
    file name and its commit), and which record supersedes one."""
    check_readable(ctx, case_id)
    records, damaged = read_case(ctx, case_id, strict=False)
    superseding = {str(r.body["supersedes"]): r.id for r in records if r.body.get("supersedes")}
    added = {}
    for commit in ctx.store.git.log([f"{CASES}/{case_id}"], added_only=True):
        for path in commit.files:
            added.setdefault(Path(path).name.split(".")[0], commit)
    kinds = {m["id"]: m["kind"] for m in (RECORD_FILE.match(p.name) for p in ctx.store.record_files(case_id)) if m}
    rows = [(r.id, r.kind, r.at, r.recorded_at, r.by, False) for r in records]
    rows += [(record_id, kinds.get(record_id, ""), "", "", "", True) for record_id in damaged]
    entries = []
    for record_id, kind, at, recorded_at, by, unreadable in sorted(rows):
        commit = added.get(record_id)
        entries.append(LogEntry(record_id, kind, at, recorded_at, by, commit.sha if commit else None,
                                commit.date if commit else None, commit.message if commit else None,
                                unreadable, superseding.get(record_id)))
    return entries


def case_summary(case: Case, today, names: bool) -> dict:
    """The stable JSON shape of a case in lists; the name only when asked for."""
    data = {
        "case_id": case.id, "status": case.status, "stage": case.stage, "risk": case.risk, "worker": case.worker,
        "registered_at": case.registered_at, "sex": case.child.get("sex"), "age": case.age_on(today),
        "records": len(case.history), "last_at": case.last_at,
    }
    if names:
        data["name"] = case.name
    return data


def show(ctx: Context, case_id: str) -> dict:
    """The case as it stands (what `cpcm show --json` prints): the fold with the child, its
    history, what is due, each assessment, the referrals and the plan with its content."""
    records = load_records(ctx, case_id)
    folded = fold(case_id, records)
    data = case_summary(folded, ctx.now.date(), names=True)
    data.update({
        "child": dict(folded.child), "location": folded.location, "caregiver_name": folded.caregiver_name,
        "concerns": list(folded.concerns),
        "history": [{"record_id": e.id, "kind": e.kind, "at": e.at, "by": e.by} for e in folded.history],
    })
    soon = deadlines_mod.soon_window(ctx.policy, ctx.now)
    data["due"] = [i.to_json(ctx.now, soon) for i in due(ctx, case=folded)]
    details = case_content(ctx, case_id, records)
    data["assessments"] = details["assessments"]
    data["referrals"] = [dict(r) for r in folded.referrals]
    data["plan"] = dict(folded.plan, content=details["plan"]) if folded.plan else None
    return data


@writes
def note(ctx: Context, case_id: str, text: str, at: datetime | None = None) -> Written:
    """A case note (allowed on closed and transferred cases too)."""
    if not (text or "").strip():
        raise InvalidInput([FieldError("text", "is empty")], f"note on {case_id}")
    case = load_case(ctx, case_id)
    record = append(ctx, case, "note", "note", {"text": text.strip()}, at)
    return Written(case_id, record.id, "note")


@writes
def repair(ctx: Context, case_id: str, record_id: str, reason: str, at: datetime | None = None) -> Written:
    """Supersede a damaged record (one that cannot be decrypted or read as a record) with a
    `repair` record: the damaged file stays in git as it is, and the case is read without it.
    Only a supervisor or the case's worker repairs; one commit, `repair CASE RECORD-ID`."""
    actor = ctx.need_worker()
    if not (reason or "").strip():
        raise InvalidInput([FieldError("reason", "is required: what is wrong with the record, and what was done about it")],
                           f"repair of {case_id}")
    check_readable(ctx, case_id)
    records, damaged = read_case(ctx, case_id, strict=False)
    files = {m["id"]: path for path in ctx.store.record_files(case_id) if (m := RECORD_FILE.match(path.name))}
    wanted = (record_id or "").strip().upper()
    if wanted not in files:
        raise NotFound(f"{case_id} has no record with the ID given", f"cpcm log {case_id} lists its records; cpcm verify names "
                       "the ones that cannot be read.")
    if wanted in superseded_ids(records):
        raise Refused(f"record {wanted} of {case_id} is already superseded", f"cpcm log {case_id} shows what supersedes it.",
                      rule="repair-already-superseded")
    if wanted not in damaged:
        raise Refused(f"record {wanted} of {case_id} can be read: there is nothing to repair",
                      "Only a record that cannot be decrypted or read is repaired.", rule="repair-record-readable")
    case = fold(case_id, records)
    worker = case.worker or next(iter(ctx.store.recipients(case_id)), None)
    if not actor.has_role("supervisor") and actor.id != worker:
        raise Refused("only a supervisor or the case's worker repairs a record", "Ask a supervisor.",
                      rule="repair-needs-supervisor-or-worker")
    path = files[wanted]
    body = {"supersedes": wanted, "reason": reason.strip(), "file": path.name,
            "sha256": hashlib.sha256(ctx.store.read_bytes(path)).hexdigest()}
    record = append(ctx, case, "repair", "repair", body, at)
    return Written(case_id, record.id, "repair", extra={"supersedes": wanted},
                   next_steps=(f"what the damaged record held is not in the case any more: record it again if it is "
                               f"still needed (cpcm log {case_id} shows when it was written and by whom)",))
