"""cpcm retention (`service.retention`): a manager's decision on a closed (or transferred) case whose retention period has
ended (workflow/retention.py): keep it longer until a date, or restrict it to the managers and the
agency's recovery keys. One record in the case, one commit."""
from __future__ import annotations

from datetime import date, datetime

from cpcm.errors import FieldError, InvalidInput, Refused, UsageError
from cpcm.service.context import (Context, append, case_restricted, check_at, check_readable, keys_for, load_case,
                                  new_record, note_clock, reencrypt, transaction, writes)
from cpcm.service import confidential
from cpcm.service.results import Written
from cpcm.workflow import cover as cover_rules
from cpcm.workflow import retention as rules
from cpcm.workflow import transitions
from cpcm.domain.text import said

KIND = "retention"


@writes
def retention(ctx: Context, case_id: str, reason: str, keep_until: str | None = None, restrict: bool = False,
           at: datetime | None = None) -> Written:
    """Record a manager's decision on a closed case whose retention period ended: `keep_until` (a
    date, YYYY-MM-DD, after today) keeps it until then, when the question comes back; `restrict`
    re-encrypts its current records, and the strictly confidential entries of it you read, to the
    active managers (and the recovery keys) only, less the managers an entry excludes."""
    me = ctx.need_worker()
    if not me.has_role("manager"):
        raise Refused("only a manager decides what becomes of a closed case once its retention period has ended",
                      f"Ask a manager of the team (cpcm team list) to run cpcm retention {case_id}; nothing was written.",
                      rule="retention-needs-manager")
    if (keep_until is None) == (not restrict):
        raise UsageError("give one decision: --keep-until DATE or --restrict",
                         f"cpcm retention {case_id} --keep-until 2030-12-31 --reason ..., or cpcm retention {case_id} --restrict "
                         "--reason ...")
    what = f"retention decision on {case_id}"
    errors = []
    until = None
    if keep_until is not None:
        try:
            until = date.fromisoformat(keep_until.strip())
        except ValueError:
            errors.append(FieldError("keep_until", "must be a date, YYYY-MM-DD (2030-12-31)"))
        else:
            if until <= ctx.now.date():
                errors.append(FieldError("keep_until", f"must be after today ({ctx.now.date().isoformat()}): the day the "
                                                       "question of keeping the case comes back"))
    if not said(reason):
        errors.append(FieldError("reason", "is required: why the case is kept or restricted (the agency's protocol, "
                                           "a court order, a pending claim)"))
    if errors:
        raise InvalidInput(errors, what)
    check_readable(ctx, case_id)
    from cpcm.service.conferences import names_in

    if names_in(ctx, {"reason": reason}, (case_id,)):
        raise InvalidInput([FieldError("reason", "holds a name registered for the case: it is kept with the case's "
                                                 "records and shown to every manager; name the child by case ID only")], what)
    case = load_case(ctx, case_id)
    state = rules.state(case, ctx.policy, ctx.now)
    if state is None:
        raise Refused(f"{case_id} is open: its retention period runs from its closure (or transfer), not before",
                      "Nothing to decide while the case is open; nothing was written.", rule="retention-case-open")
    # the one rule (workflow/retention.py `restricted`), a closure again included; restricted by the records while
    # the recipients file is not (cpcm verify: restriction-mismatch), the restriction is written again
    if state == rules.RESTRICTED and case_restricted(ctx, case_id):
        raise Refused(f"{case_id} is restricted to the managers already", "Nothing more to decide; nothing was written.",
                      rule="retention-restricted")
    if state == rules.WITHIN:
        end = rules.period_end(case, ctx.policy, ctx.now.tzinfo)
        raise Refused(f"the retention period of {case_id} ends {end.date().isoformat() if end else '?'} "
                      f"({ctx.policy.cited(rules.RULE, 'closed_for')}): nothing to decide before then",
                      "cpcm due lists it for the managers when it has ended; nothing was written.", rule="retention-not-ended")
    body = {"decision": rules.RESTRICT if restrict else rules.KEEP, "reason": reason.strip()}
    if until is not None:
        body["until"] = until.isoformat()
    if not restrict:
        record = append(ctx, case, KIND, KIND, body, at)
        return Written(case_id, record.id, KIND, next_steps=(
            f"kept until {until}: cpcm due lists {case_id} for the managers again that day",))
    check_at(ctx, case, at, KIND)
    transitions.advance(case.stage, KIND, case_id)
    readers, _covers = cover_rules.access(ctx.team, None, {}, ctx.now, restricted=True)
    record = new_record(ctx, KIND, case_id, body, at, after=case.history[-1].id if case.history else "")
    with transaction(ctx, KIND) as tx:
        note_clock(ctx, case, at)
        reencrypt(ctx, tx, case_id, readers, restricted=True)
        # its strictly confidential entries too: the managers only, less those an entry excludes
        confidential.follow_restriction(ctx, tx, case_id, restricted=True)
        tx.write_record(record, keys_for(ctx, readers))
        tx.commit(f"{KIND} {case_id} {record.id}")
    return Written(case_id, record.id, KIND, next_steps=(
        f"{case_id}'s current records, and the entries of its strictly confidential section, are encrypted to the managers "
        f"({', '.join(readers)}) and the agency's recovery keys only; its older versions stay in git history, readable to those who could read them then (docs/security.md#retention-of-closed-cases)",))
