"""Consent, checked by the workflow: one rule that referral, sharing, transfer and export all
call. Pure: takes the case's consent records, the policy and `now`.

Valid consent for a purpose (and, for referral, sharing and transfer, an agency) means: from
each giver the policy requires (child, caregiver), the latest answer is `given`, not expired,
and, if one-off, not used yet. Otherwise a supervisor's recorded override (legal mandate or
best interests) for that purpose and agency stands in, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Sequence

from cpcm.domain.records import Record
from cpcm.domain.policy import Policy

AGENCY_PURPOSES = ("referral", "sharing", "transfer")


@dataclass(frozen=True)
class ConsentCheck:
    ok: bool
    reasons: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()          # consent or override record ids this action relies on
    override: str | None = None         # the override record id, when one was used

    def why_not(self) -> str:
        return "; ".join(self.reasons)


def used_ids(records: Iterable[Record]) -> set[str]:
    """Consent and override records already relied on by an action (referral, transfer …)."""
    used: set[str] = set()
    for record in records:
        used.update(record.body.get("consent_ids") or ())
    return used


def _matches(record: Record, purpose: str, agency: str | None) -> bool:
    if record.body.get("purpose") != purpose:
        return False
    if purpose in AGENCY_PURPOSES:
        return record.body.get("agency") == agency
    return True


def _expired(record: Record, today: date) -> bool:
    until = record.body.get("until")
    return bool(until) and date.fromisoformat(str(until)[:10]) < today


def check(records: Sequence[Record], purpose: str, agency: str | None, policy: Policy, now: datetime,
          named: str | None = None) -> ConsentCheck:
    """Whether an action for `purpose` (towards `agency`) may go ahead, and on what. The
    reasons name the agency as `named` (default: `agency`), for an agency typed that is not a
    service id of the directory and so is not repeated."""
    used = used_ids(records)
    today = now.date()
    # consent given to another agency before this one received the case does not carry over
    received = max((r.id for r in records if r.kind == "transfer_in"), default="")
    records = [r for r in records if r.id > received or r.kind not in ("consent", "consent_override")]
    consents = [r for r in sorted(records, key=lambda r: r.id) if r.kind == "consent" and _matches(r, purpose, agency)]
    latest: dict[str, Record] = {}
    for record in consents:
        latest[record.body.get("given_by")] = record
    reasons, uses = [], []
    for giver in policy.get("consent", "required_from") or ():
        record = latest.get(giver)
        target = f" for {named or agency}" if purpose in AGENCY_PURPOSES else ""
        if record is None:
            reasons.append(f"no {giver} consent for {purpose}{target} is recorded")
        elif record.body.get("status") != "given":
            reasons.append(f"the {giver}'s consent for {purpose}{target} is '{record.body.get('status')}'")
        elif _expired(record, today):
            reasons.append(f"the {giver}'s consent for {purpose}{target} expired on {record.body.get('until')}")
        elif record.body.get("one_off") and record.id in used:
            reasons.append(f"the {giver}'s one-off consent for {purpose}{target} was already used")
        else:
            uses.append(record.id)
    if not reasons:
        return ConsentCheck(True, (), tuple(uses))
    overrides = [r for r in records if r.kind == "consent_override" and _matches(r, purpose, agency) and r.id not in used
                 and not _expired(r, today)]
    if overrides:
        chosen = sorted(overrides, key=lambda r: r.id)[-1]
        return ConsentCheck(True, tuple(reasons), (chosen.id,), override=chosen.id)
    return ConsentCheck(False, tuple(reasons))
