"""Inter-agency transfers: the pure checks of a request (IAG Step 6 transfer; ESARO S6).

Whether a transfer request is complete and for a reason the policy accepts, and where a
supervisor's approval stands. No I/O; the service (cpcm/service/transfers.py) orchestrates and
the bundle format is cpcm/store/bundle.py.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from cpcm.domain.case import Case
from cpcm.domain.forms import confirmed
from cpcm.domain.ids import AGENCY_CODE
from cpcm.domain.records import Record
from cpcm.errors import FieldError, Refused

REASON_CODES = ("better_service", "relocation", "agency_exit", "specialised_service", "difficult_case", "other")


def checklist_of(policy) -> list[str]:
    return list(policy.get("transfer", "checklist") or [])


def agency_errors(agency: str | None, field: str) -> list[FieldError]:
    """A receiving agency is named by its agency code or its service id in the directory, never
    in words (a name typed there would be kept in a record and repeated in messages): the
    field's error, or none."""
    if AGENCY_CODE.match(agency or ""):
        return []
    return [FieldError(field, "names the receiving agency by its code or its service id in the directory "
                              "(letters, digits, '.', '_' or '-', at most 32)")]


def request_problems(policy, to: str, reason: str, reason_code: str, checks: Iterable[str]) -> tuple[list[str], list[FieldError]]:
    """(the confirmed checklist, every bad field of the request); Refused when the request is
    well formed and its only reason is one the policy refuses (that the case is difficult). The
    service refuses the bad fields (service/transfers.py `_request_problems`): with the case's own
    problems, and the reason's code in the repository's language."""
    items = checklist_of(policy)
    checks, unknown = confirmed(checks, items, "check")
    errors = []
    errors += agency_errors(to, "to")
    if not (reason or "").strip():
        errors.append(FieldError("reason", "is required: the good cause, and why the other agency will serve the child better"))
    if reason_code not in REASON_CODES:
        errors.append(FieldError("reason_code", f"is not one of: {', '.join(REASON_CODES)}"))
    errors += unknown
    errors += [FieldError(f"check.{c}", "is required before a transfer (file review): confirm it with --check " + c)
               for c in items if c not in checks]
    if not errors and reason_code in (policy.get("transfer", "refused_reasons") or ()):
        raise Refused(f"a transfer for the reason '{reason_code}' alone is refused by the policy (transfer.refused_reasons)",
                      "The guidelines: never transfer only because the child's needs are challenging; a transfer needs good "
                      "cause and a clear indication of better service. Give that reason and its code.",
                      rule="transfer-reason-refused")
    return checks, errors


def approval_state(case: Case, records: Sequence[Record], to: str, required: bool) -> tuple[str, Mapping | None]:
    """Where the supervisor's approval stands for a transfer to `to`: not_required, approved,
    pending, rejected, other_agency (approved, for another agency) or none. A request from
    before the case's latest transfer (out, or in from another agency) no longer counts."""
    if not required:
        return "not_required", None
    request = current_request(case, records)
    if request is None:
        return "none", None
    if request.get("decided_at") is None:
        return "pending", request
    if not request.get("approved"):
        return "rejected", request
    if request.get("to") != to:
        return "other_agency", request
    return "approved", request


def current_request(case: Case, records: Iterable[Record]) -> Mapping | None:
    """The case's latest transfer request (`case.transfer_request`: waiting, or decided) when it
    was made after the case's latest transfer (out of here, or in from another agency), else
    None: a request the bundle was written for, or made at the agency the case came from, no
    longer counts here."""
    request = case.transfer_request
    boundary = max((r.id for r in records if r.kind in ("transfer", "transfer_in")), default="")
    return request if request and request["record_id"] > boundary else None


def earlier_transfers(records: Iterable[Record]) -> int:
    """How many times the child was transferred before (out of here, or into here)."""
    return sum(1 for r in records if r.kind in ("transfer", "transfer_in"))
