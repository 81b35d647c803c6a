"""Reports and exports: the cases an export may carry, and the disclosure noted in each."""
from __future__ import annotations

from typing import Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.errors import CannotDecrypt, Corrupt
from cpcm.workflow.fold import fold
from cpcm.service.context import Context, transaction, new_record, keys_for, load_cases


def cases_for_export(ctx: Context, agency: str | None, identifying: bool, status: str | None = None):
    """The cases an export may carry, and how many were left out: with identifying fields, only
    cases with valid consent for sharing with `agency` (each read once). Returns (cases, the
    consent records each relies on, left out)."""
    worker = ctx.need_worker()
    if not identifying:
        cases = [c for c in load_cases(ctx).values() if not status or c.status == status]
        return cases, {}, 0
    from cpcm.workflow import consent as consent_rule

    cases, uses, left_out = [], {}, 0
    for case_id in ctx.store.case_ids():
        if worker.id not in ctx.store.recipients(case_id):
            continue
        try:
            records = ctx.store.read_records(case_id, ctx.keys)
        except (Corrupt, CannotDecrypt) as exc:
            ctx.problems.append(exc)
            continue
        case = fold(case_id, records)
        if status and case.status != status:
            continue
        result = consent_rule.check(records, "sharing", agency, ctx.policy, ctx.now)
        if not result.ok:
            left_out += 1
            continue
        cases.append(case)
        uses[case_id] = list(result.uses)
    return cases, uses, left_out


def record_sharing(ctx: Context, cases: Iterable[Case], uses: Mapping[str, list[str]], agency: str, fields: Iterable[str]) -> int:
    """Note in each exported case what was disclosed, to whom, and on which consent (a one-off
    consent is then used); one commit. Holds field names, never the data."""
    fields = list(fields)
    written = 0
    with transaction(ctx, "export") as tx:
        for case in cases:
            body = {"purpose": "export", "agency": agency, "fields": fields, "consent_ids": uses.get(case.id, [])}
            record = new_record(ctx, "sharing", case.id, body, after=case.history[-1].id if case.history else "")
            tx.write_record(record, keys_for(ctx, ctx.store.recipients(case.id)))
            written += 1
        if written:
            tx.commit(f"export {written} cases")
    return written
