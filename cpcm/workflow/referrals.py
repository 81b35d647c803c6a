"""Referrals tracked to an outcome: the lifecycle table, what is shared, and the six checks
of the ESARO guidance (S4). Pure."""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from cpcm.domain.profiles import REFERRAL_CHECKS
from cpcm.errors import FieldError, Refused
from cpcm.workflow import placements

STATUSES = ("sent", "acknowledged", "accepted", "declined", "delivered", "not_delivered", "closed")
LIFECYCLE: dict[str, tuple[str, ...]] = {
    "sent": ("acknowledged", "accepted", "declined", "closed"),
    "acknowledged": ("accepted", "declined", "closed"),
    "accepted": ("delivered", "not_delivered", "closed"),
    "declined": ("closed",),
    "delivered": ("closed",),
    "not_delivered": ("closed",),
    "closed": (),
}
WAITING = ("sent", "acknowledged")           # feedback expected from the provider
NEEDS_WORKER = ("declined", "not_delivered")  # the worker must find another way
CHECKS = REFERRAL_CHECKS + ("accepted_with_start_and_duration", "tracked_to_outcome")  # the first four before referring


def next_status(current: str, wanted: str, ref: str) -> str:
    if wanted not in STATUSES:
        raise Refused(f"referral {ref}: --status is not a referral status", f"Statuses: {', '.join(STATUSES[1:])}.",
                      rule="referral-status")
    if wanted not in LIFECYCLE.get(current, ()):
        allowed = ", ".join(LIFECYCLE.get(current, ())) or "nothing (it is closed)"
        raise Refused(f"referral {ref} is '{current}': it cannot become '{wanted}'", f"From '{current}' it can become: {allowed}.",
                      rule="referral-lifecycle")
    return wanted


def update_problems(wanted: str, body: Mapping[str, Any], sent: str | None = None) -> list[FieldError]:
    """Acceptance needs a start date and an expected duration (check 5); an outcome needs feedback.
    A start date is never before `sent`, the day the referral was sent (ISO, in the agency's
    time zone): a service does not start before it was asked for."""
    errors = []
    if body.get("start") and sent and str(body["start"]) < sent:
        errors.append(FieldError("start", f"is before {sent}, the day the referral was sent: give the day the service "
                                          "starts, that day or later"))
    if wanted == "accepted":
        if not body.get("start"):
            errors.append(FieldError("start", "is required when a referral is accepted (the date the service starts)"))
        if not body.get("expected_duration"):
            errors.append(FieldError("expected_duration", "is required when a referral is accepted (e.g. 3mo)"))
    if wanted in ("declined", "not_delivered", "delivered") and not body.get("feedback"):
        errors.append(FieldError("feedback", f"is required: what the provider said when the referral was {wanted.replace('_', ' ')}"))
    return errors


CONTRACT_ENDED, CONTRACT_ENDING = "ended", "ends soon"


def contract_end(service: Mapping[str, Any] | None) -> str | None:
    """The last day of a directory entry's agreement with the agency (`contract.end`, ISO), or None
    where it records none (or none that reads as a date: the file may have been edited by hand)."""
    contract = (service or {}).get("contract")
    end = contract.get("end") if isinstance(contract, Mapping) else None
    try:
        return date.fromisoformat(str(end)[:10]).isoformat() if end else None
    except ValueError:
        return None


def contract_state(service: Mapping[str, Any] | None, today: date, notice_until: date) -> str | None:
    """Where a provider's agreement stands on `today`: `CONTRACT_ENDED` once its last day has passed,
    `CONTRACT_ENDING` when that day is on or before `notice_until` (today plus the policy's
    `service_contract.notice`), None otherwise or where it records no end (IAG Step 4 [L894])."""
    end = contract_end(service)
    if end is None:
        return None
    if end < today.isoformat():
        return CONTRACT_ENDED
    return CONTRACT_ENDING if end <= notice_until.isoformat() else None


def fields_to_share(policy, sector: str) -> list[str]:
    """The field groups a referral to this sector may carry (need to know)."""
    rule = policy.rules.get("sharing", {})
    allowed = list((rule.get("by_sector") or {}).get(sector) or rule.get("default") or [])
    never = set(rule.get("never") or ())
    return [group for group in allowed if group not in never]


def within_consent(groups: list[str], consents) -> tuple[list[str], list[tuple[Any, list[str]]]]:
    """What a referral carries of `groups` (the policy's sharing rule for the service's sector) under
    the consents it relies on (`consents`): only the groups every one of them lists as shareable
    (`shares`, `cpcm consent --share`; IAG Step 4: consent says what may be shared), and each consent
    that leaves some out, with those groups, in the referral's order. A consent that lists nothing
    narrows nothing."""
    left_out = []
    for record in consents:
        shares = record.body.get("shares") or []
        if record.kind != "consent" or not shares:
            continue
        extra = [g for g in groups if g not in shares]
        if extra:
            left_out.append((record, extra))
    dropped = {g for _record, extra in left_out for g in extra}
    return [g for g in groups if g not in dropped], left_out


def shared_view(groups: list[str], case, need: str, urgent: bool, today) -> dict[str, Any]:
    """Exactly the data the groups allow, from the folded case: nothing else reaches a letter."""
    out: dict[str, Any] = {}
    if "identity" in groups:
        out["identity"] = {"name": case.name, "sex": case.child.get("sex"), "age": case.age_on(today)}
    if "contact" in groups:
        lives = placements.lives_now(case)  # the latest placement's, since the registration
        out["contact"] = {key: lives[key] for key in ("location", "caregiver", "contact")}  # the group's fields, no more
    if "need" in groups:
        out["need"] = need
    if "urgency" in groups:
        out["urgency"] = "urgent" if urgent else "routine"
    if "medical" in groups:
        out["medical"] = {"disability": case.child.get("disability")}
    if "schooling" in groups:
        out["schooling"] = {"concerns": [c for c in case.concerns if c in ("out_of_school", "child_labour")]}
    return out
