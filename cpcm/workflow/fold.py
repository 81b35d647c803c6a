"""fold(records) -> Case: a case's current state is its records applied in order.

Each record kind has a reducer; a kind this version does not know still appears in the
history and changes nothing else, so newer records never break an older reader.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

from cpcm.domain.case import Case, Entry
from cpcm.domain.records import Record


def _registration(case: Case, record: Record) -> Case:
    body = record.body
    return replace(
        case,
        risk=body.get("risk"),
        worker=body.get("worker") or record.by,
        registered_at=record.at,
        child=dict(body.get("child") or {}),
        location=body.get("location"),
        caregiver_name=(body.get("caregiver") or {}).get("name"),
        concerns=tuple(body.get("concerns") or ()),
    )


def _assignment(case: Case, record: Record) -> Case:
    return replace(case, worker=record.body.get("worker"))


REDUCERS: dict[str, Callable[[Case, Record], Case]] = {
    "registration": _registration,
    "assignment": _assignment,
}


def fold(case_id: str, records: Iterable[Record]) -> Case:
    case = Case(id=case_id)
    history = []
    for record in sorted(records, key=lambda r: r.id):
        reducer = REDUCERS.get(record.kind)
        if reducer is not None:
            case = reducer(case, record)
        history.append(Entry(record.id, record.kind, record.at, record.recorded_at, record.by))
    return replace(case, history=tuple(history))
