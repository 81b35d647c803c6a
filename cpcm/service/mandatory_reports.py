"""cpcm mandatory-report: the decision to report a concern to an authority, or not to, with its
rationale (IAG §5.10 [L194-199, L696-699]; §8), and the decisions of a case read back.

A caseworker's decision not to report goes up the chain of supervision: the record says so
(`needs_approval`) and waits for a supervisor's or manager's `cpcm approve CASE mandatory-report`
or `cpcm reject` (workflow/approvals.py, workflow/mandatory_report.py). The rules (which concerns
the agency must report, to whom, within how long) are the policy's `mandatory_report`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

from cpcm.domain.records import Record
from cpcm.errors import FieldError, InvalidInput
from cpcm.service.context import Context, append, at_errors, check_step, form_for, form_problems, input_hint, load_case, writes
from cpcm.service.results import Written
from cpcm.workflow import approvals
from cpcm.workflow import mandatory_report as rules

KIND = rules.KIND


@writes
def mandatory_report(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record a mandatory-reporting decision: the concerns, reported or not, to whom and when, the
    authority's reference, the rationale (always), and whether the rules were explained to the child
    and family. A caseworker's decision not to report waits for a supervisor's or manager's decision
    where the policy says so (mandatory_report_approval.required)."""
    actor = ctx.need_worker()
    case = load_case(ctx, case_id)
    check_step(ctx, case, KIND)  # the stage before the form: no field makes a step allowed
    what = f"mandatory-report decision of {case_id}"
    body, errors = form_problems(ctx, form_for(ctx, KIND), data)
    errors += [FieldError(key, why) for key, why in rules.authority_errors(ctx.policy, body)]
    errors += at_errors(ctx, case, at)
    if errors:
        raise InvalidInput(errors, what, hint=input_hint(ctx, errors))
    needs = (body.get("decision") == "not_reported" and approvals.required(ctx.policy, rules.SUBJECT)
             and not approvals.oversees(actor))
    if needs:
        body["needs_approval"] = True
    record = append(ctx, case, "mandatory-report", KIND, body, at)
    warnings, steps = [], []
    if body.get("law_explained") == "no":
        steps.append("explain the mandatory-reporting rules to the child and family (what the law asks staff to report, "
                     "to whom, and what happens next), and record it: cpcm correct "
                     f"{case_id} {record.id} --set law_explained=yes --reason ...")
    if needs:
        deciders = [w for w in ctx.team.active if approvals.oversees(w) and w.id != actor.id]
        if deciders:
            steps.append(f"the decision not to report waits for a supervisor or manager: cpcm approve|reject {case_id} "
                         "mandatory-report (on their cpcm due)")
        else:
            warnings.append(f"{case_id}: nobody in the team may approve the decision not to report: no other supervisor "
                            "or manager is active. Add one (cpcm team add)")
    elif body.get("decision") == "not_reported":
        steps.append("recorded by a supervisor or manager: the decision stands (the chain of supervision is theirs)")
    return Written(case_id, record.id, KIND, tuple(warnings), tuple(steps),
                   extra={"decision": body.get("decision"), "needs_approval": bool(needs)})


def decisions(records: Sequence[Record], latest: Mapping[str, Any] | None = None,
              recorded_by: Mapping[str, str] | None = None) -> list[dict]:
    """Each mandatory-reporting decision the case uses (`records`: a correction in the place of what
    it corrected), in the order written, with who recorded it (`recorded_by`: a correction -> the
    writer of the first record of its chain, not whoever corrected it since) and the supervisor's
    decision of one not to report:
    codes, dates and ids (the rationale is read with `cpcm show CASE RECORD`). `latest`: the case's
    decision as folded (`Case.mandatory_report`): one not to report that a report made on another
    copy apart left waiting for nobody (workflow.mandatory_report.set_aside), whichever of the two is
    later, says so (`not_needed`, naming it). One not to report that a later decision replaced before
    a supervisor decided it waits for nobody either (`replaced`, naming the decision after it)."""
    out = []
    later = [r.id for r in records if r.kind == KIND]  # the decisions, in the order written
    aside = rules.set_aside(latest)
    for record in records:
        if record.kind != KIND:
            continue
        b = record.body
        by = (recorded_by or {}).get(record.id, record.by)
        entry = {"record_id": record.id, "at": record.at, "by": by, "decision": b.get("decision"),
                 "concerns": list(b.get("concerns") or []), "to": b.get("to"), "to_other": b.get("to_other"),
                 "reported_on": b.get("reported_on"),
                 "reference": b.get("reference"), "basis": b.get("basis"), "law_explained": b.get("law_explained"),
                 "needs_approval": bool(b.get("needs_approval")), "supervisor": None,
                 "supersedes": b.get("supersedes")}
        if entry["needs_approval"]:
            decision = approvals.decision_of(records, rules.SUBJECT, record.id)
            entry["supervisor"] = ({"decision": "approved" if decision.kind == "approval" else "rejected",
                                    "record_id": decision.id, "at": decision.at, "by": decision.by,
                                    "note": decision.body.get("note")} if decision is not None else {"decision": "waiting"})
            if decision is None and aside and aside[0] == record.id:
                entry["supervisor"] = {"decision": "not_needed", "reported": aside[1]}
            elif decision is None and record.id != later[-1]:  # a later decision stands in its place
                entry["supervisor"] = {"decision": "replaced", "by_decision": later[later.index(record.id) + 1]}
        out.append(entry)
    return out
