"""Cases: cpcm register, assign, show, list, log and note."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from cpcm.domain.case import Case
from cpcm.domain.forms import validate
from cpcm.domain.ids import new_case_id
from cpcm.errors import FieldError, InvalidInput, NotFound, Refused
from cpcm.service.context import (Context, append, case_content, caseload_warnings, keys_for, load_case, load_cases, load_records,
                                  new_record, readers_for, recipients_bytes, reencrypt, transaction)
from cpcm.service.results import Written
from cpcm.service.worklist import due
from cpcm.store import forms
from cpcm.store.layout import CASES, RECIPIENTS
from cpcm.workflow import transitions
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow.duplicates import probable_duplicates
from cpcm.workflow.fold import fold


def validate_registration(ctx: Context, data: Mapping[str, Any]) -> dict:
    form = forms.load("registration", ctx.root)
    body, errors = validate(form, data, ctx.now.date(), [w.id for w in ctx.team.active])
    if errors:
        raise InvalidInput(errors, "registration")
    body.setdefault("worker", ctx.need_worker().id)
    return body


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

    def to_json(self) -> dict:
        return dict(self.__dict__)


def log(ctx: Context, case_id: str) -> list[LogEntry]:
    records = load_records(ctx, case_id)
    added = {}
    for commit in ctx.store.git.log([f"{CASES}/{case_id}"], added_only=True):
        for path in commit.files:
            added.setdefault(Path(path).name.split(".")[0], commit)
    entries = []
    for record in sorted(records, key=lambda r: r.id):
        commit = added.get(record.id)
        entries.append(LogEntry(record.id, record.kind, record.at, record.recorded_at, record.by,
                                commit.sha if commit else None, commit.date if commit else None,
                                commit.message if commit else None))
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
    history, what is due, each assessment, the latest readiness record, the referrals and the plan
    with its content."""
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
    data["readiness"] = details["readiness"]
    data["referrals"] = [dict(r) for r in folded.referrals]
    data["plan"] = dict(folded.plan, content=details["plan"]) if folded.plan else None
    return data


def note(ctx: Context, case_id: str, text: str, at: datetime | None = None) -> Written:
    """A case note (allowed on closed and transferred cases too)."""
    if not (text or "").strip():
        raise InvalidInput([FieldError("text", "is empty")], f"note on {case_id}")
    case = load_case(ctx, case_id)
    record = append(ctx, case, "note", "note", {"text": text.strip()}, at)
    return Written(case_id, record.id, "note")
