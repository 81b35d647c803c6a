"""Consent, checked by the workflow: one rule that referral, sharing, transfer and export all
call, and that the steps the policy lists (`consent.checked_at`: the comprehensive and
best-interests assessments, a placement) call as well. Pure: takes the case's consent records,
the policy and `now`.

Valid consent for a purpose (and, for referral, sharing and transfer, an agency) means: from
each giver the policy requires (child, caregiver), the latest answer is `given`, with what the
policy lists explained (`consent.explained`), not expired, and, if one-off, not used yet. Otherwise a supervisor's recorded override (legal mandate or
best interests) for that purpose and agency stands in, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping, Sequence

from cpcm.domain.records import Record, utc
from cpcm.domain.policy import Policy

AGENCY_PURPOSES = ("referral", "sharing", "transfer")


@dataclass(frozen=True)
class ConsentCheck:
    ok: bool
    reasons: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()          # consent or override record ids this action relies on
    override: str | None = None         # the override record id, when one was used
    # the givers whose latest answer is not `given` (refused or not possible): (giver, status, record id)
    refusals: tuple[tuple[str, str, str], ...] = ()
    # the givers whose latest answer is `given` without what the policy lists explained (`not_explained`):
    # (giver, the items not explained, record id)
    uninformed: tuple[tuple[str, tuple[str, ...], str], ...] = ()
    # the givers whose answer does not allow the action (none recorded, refused or not possible, not informed,
    # expired, one-off used): those a hint asks to record again, never one whose consent holds
    wanting: tuple[str, ...] = ()

    def why_not(self) -> str:
        return "; ".join(self.reasons)


def used_ids(records: Iterable[Record]) -> set[str]:
    """Consent and override records already relied on by an action (referral, transfer …), and
    the overrides that stand in for a consent a referral was sent on and a correction took
    away (`corrected_away`) or its giver answered otherwise since (`withdrawn_after`): an
    override stands in once. A transfer request's `consent_ids` (what it was asked on) use
    nothing: the request shares nothing, and the transfer that carries it out is checked again
    and relies on its own; so is an override standing in for a request's consent, left for that
    transfer. A correction of a record used is used too."""
    records = list(records)
    used: set[str] = set()
    for record in records:
        if record.kind != "transfer_request":
            used.update(record.body.get("consent_ids") or ())
    used.update(item["override"] for item in corrected_away(records) if item["override"] and "referral" in item)
    used.update(item["override"] for item in withdrawn_after(records) if item["override"])
    # a correction is the consent written again: used when what it corrects was (a correction comes after it)
    for record in sorted(records, key=lambda r: r.id):
        if record.kind in CORRECTED_KINDS and record.body.get("supersedes") in used:
            used.add(record.id)
    return used


CORRECTED_KINDS = ("consent", "consent_override")  # what an action relies on, corrected by a record of its kind


def corrected_ids(records: Iterable[Record]) -> set[str]:
    """The consents and overrides a correction replaced (each correction names the record it writes again)."""
    return {r.body["supersedes"] for r in records if r.kind in CORRECTED_KINDS and r.body.get("supersedes")}


# the actions that rely on consent a correction can take away: the record's kind, the purpose of
# the consent it relies on, the field naming that purpose's agency, and what the action did
RELYING = {"referral": ("referral", "service", "the referral was sent"),
           "transfer_request": ("transfer", "to", "the transfer was requested")}


def _closed_referrals(ordered: Sequence[Record]) -> tuple[dict[str, str], set[str]]:
    """The referrals closed, as the fold reads them: each referral record in force (a corrected
    referral is read as its correction) -> the update in force that closed it; and the referrals
    and updates a correction superseded (an update corrected away from `closed` closes nothing)."""
    replaced = {r.body["supersedes"]: r.id for r in ordered
                if r.kind in ("referral", "referral_update") and isinstance(r.body.get("supersedes"), str)}

    def follow(record_id: Any) -> Any:
        while record_id in replaced:
            record_id = replaced[record_id]
        return record_id

    closed = {follow(r.body.get("referral")): r.id for r in ordered
              if r.kind == "referral_update" and r.id not in replaced and r.body.get("status") == "closed"}
    return closed, set(replaced)


def _replaced_by(ordered: Sequence[Record], by_id: Mapping[str, Record]) -> dict[str, str]:
    """Each consent or override a correction replaced -> the correction that did (`ordered`: the
    records by id). Two corrections of one (written on two copies apart): the later replaces the
    earlier, as in the fold."""
    replaced_by: dict[str, str] = {}
    for record in ordered:
        target = record.body.get("supersedes")
        if record.kind in CORRECTED_KINDS and isinstance(target, str) and target in by_id and target < record.id \
                and by_id[target].kind == record.kind:
            while target in replaced_by:
                target = replaced_by[target]
            replaced_by[target] = record.id
    return replaced_by


OVERRIDE_GIVER = "supervisor"  # whose decision an override is, in `corrected_away`'s entries (`giver`)


def corrected_away(records: Sequence[Record]) -> list[dict]:
    """The referrals sent, and the transfer requests made, on a consent that a later correction
    says did not allow them (the correction says it was refused or not possible, given by
    another giver (the action relied on this giver's answer), for another purpose or agency,
    ended before the action, or given after it: its time corrected to after the action's): the
    action went without valid consent. One
    entry per action and consent, in the order written: the action's record id under its kind
    (`referral` or `transfer_request`) and its agency under the field that names it (`service`
    or `to`, RELYING), `consent` (the record it relied on), `correction` (the latest one of
    it), `giver` (whose answer it relied on), `why` and `override`: a supervisor's override for that purpose and agency
    recorded after the correction and not relied on by anything else (nor recorded after a
    referral was closed), which stands in for that consent, once, or None. Whether a transfer
    request is still to be carried out is the fold's (workflow/transfers.py `current_request`)."""
    if not any(r.kind in CORRECTED_KINDS and r.body.get("supersedes") for r in records):
        return []  # no consent corrected (nearly every case): nothing sorted
    ordered = sorted(records, key=lambda r: r.id)
    by_id = {r.id: r for r in ordered}
    replaced_by = _replaced_by(ordered, by_id)
    if not replaced_by:
        return []  # no consent corrected (nearly every case)
    relied: set[str] = set()
    closed, superseded = _closed_referrals(ordered)
    for record in ordered:
        relied.update(record.body.get("consent_ids") or ())
    taken: set[str] = set()
    out = []
    for action in (r for r in ordered if r.kind in RELYING and r.id not in superseded):
        purpose, field, done = RELYING[action.kind]
        agency = action.body.get(field)
        for consent_id in action.body.get("consent_ids") or ():
            if consent_id not in replaced_by:
                continue
            latest = consent_id
            while latest in replaced_by:
                latest = replaced_by[latest]
            corrected = by_id[latest]
            status = corrected.body.get("status")
            giver = by_id[consent_id].body.get("given_by")  # in by_id: `_replaced_by` keeps only the consents it holds
            if corrected.kind == "consent_override":  # a supervisor's: corrected on a copy apart from the action relying
                # on it (on one copy, an override relied on keeps its purpose and agency: service/referrals.py)
                giver = OVERRIDE_GIVER
                if _matches(corrected, purpose, agency):
                    continue
                # its purpose and agency as corrected are not said: stored before they were checked, they may be any words
                why = f"it is an override for another purpose or {'service' if field == 'service' else 'agency'} " \
                      f"now, not for this {purpose}"
            elif status != "given":
                why = f"it was '{status}'"
            elif corrected.body.get("given_by") != giver:  # another giver: the action had no answer of this one
                why = f"it was given by the {corrected.body.get('given_by')}, not the {giver}"
            elif not _matches(corrected, purpose, agency):
                why = f"it was not consent to a {purpose} to that {'service' if field == 'service' else 'agency'}"
            elif _expired(corrected, date.fromisoformat(action.at[:10])):
                why = f"it ended on {corrected.body.get('until')}, before {done}"
            elif utc(corrected.at) > utc(action.at):  # given after the action: not there when it relied on it (`as_of`)
                why = f"it was given on {corrected.at[:10]}, after {done}"
            else:
                continue
            until = closed.get(action.id, "~")  # a referral closed takes no override recorded after it was closed
            override = next((o.id for o in ordered if o.kind == "consent_override" and latest < o.id < until
                             and o.id not in relied and o.id not in taken and _matches(o, purpose, agency)), None)
            if override:
                taken.add(override)
            out.append({action.kind: action.id, field: agency, "consent": consent_id, "correction": latest,
                        "giver": giver, "why": why, "override": override})
    return out


def open_corrected_away(action: Mapping[str, Any] | None) -> list[dict]:
    """What of `corrected_away` a folded referral or transfer request still has to deal with:
    its entries without an override (the fold keeps those as `consent_corrected`), until the
    referral is closed; a transfer request's while it waits for a decision or is approved and
    not carried out (the fold keeps them on that request only), not once it is rejected."""
    if not action or action.get("status") == "closed" or (action.get("decided_at") and not action.get("approved")):
        return []
    return list(action.get("consent_corrected") or ())


def _consent_word(item: dict) -> str:
    """What an action of `corrected_away` relied on: a consent, or a supervisor's override."""
    return "override" if item.get("giver") == OVERRIDE_GIVER else "consent"


def corrected_away_text(case_id: str, ref: str, item: dict) -> str:
    """What an action on a consent corrected away (`corrected_away`) means, and the ways to
    deal with it: what `cpcm check` says and `cpcm correct` warns. A referral is named by its
    reference and service; a transfer request by its record id, never by the agency it names
    (typed outside the directory, that may be a name: workflow/transfers.py agency_errors)."""
    if "transfer_request" in item:
        return (f"transfer request {ref} was made on the {item['giver']}'s {_consent_word(item)} {item['consent']}, and correction "
                f"{item['correction']} says {item['why']}: the request has no valid consent and cannot be carried out on it. "
                f"Withdraw it while it waits for a decision (cpcm transfer {case_id} --withdraw --reason ...), or a "
                f"supervisor records an override for transfer to the agency it names (cpcm consent {case_id} --override "
                f"--purpose transfer --agency AGENCY --basis legal_mandate|best_interests --reason ...)")
    service = item["service"]
    return (f"referral {ref} ({service}) was sent on the {item['giver']}'s {_consent_word(item)} {item['consent']}, and correction "
            f"{item['correction']} says {item['why']}: the referral went without valid consent. Close it (cpcm referral "
            f"{case_id} {ref} --status closed) or a supervisor records an override (cpcm consent {case_id} --override "
            f"--purpose referral --agency {service} --basis legal_mandate|best_interests --reason ...)")


def withdrawn_after(records: Sequence[Record]) -> list[dict]:
    """The referrals sent on a consent whose giver answered otherwise since for that referral's
    service: a later answer of the same giver, for referral to the same service, that is not
    `given` (refused, or no longer possible), written after the referral or on a copy apart and
    brought in by a sync. The referral was sent on valid consent; going on with it (sharing more
    with the service) is not. One entry per referral and consent, in the order written: `referral`
    (its record id), `service`, `consent` (the record it relied on), `answer` (the latest answer
    since), `giver`, `status` (that answer's), and `override`: a supervisor's override for
    referral to that service recorded after the answer and not relied on by anything else, which
    stands in, once, or None. A consent a correction changed is `corrected_away`'s."""
    if not any(r.kind == "consent" and r.body.get("status") != "given" for r in records):
        return []  # every answer given (nearly every case): nothing sorted
    ordered = sorted(records, key=lambda r: r.id)
    by_id = {r.id: r for r in ordered}
    replaced = corrected_ids(ordered)
    relied = {i for r in ordered for i in r.body.get("consent_ids") or ()}
    closed, superseded = _closed_referrals(ordered)
    taken: set[str] = set()
    out = []
    for action in (r for r in ordered if r.kind == "referral" and r.id not in superseded):
        service = action.body.get("service")
        for consent_id in action.body.get("consent_ids") or ():
            relied_on = by_id.get(consent_id)
            if relied_on is None or relied_on.kind != "consent" or consent_id in replaced:
                continue
            giver = relied_on.body.get("given_by")
            since = [r for r in ordered if r.kind == "consent" and r.id > consent_id and r.id not in replaced
                     and r.body.get("given_by") == giver and _matches(r, "referral", service)]
            if not since or since[-1].body.get("status") == "given":
                continue
            answer = since[-1]
            until = closed.get(action.id, "~")  # a referral closed takes no override recorded after it was closed
            override = next((o.id for o in ordered if o.kind == "consent_override" and answer.id < o.id < until
                             and o.id not in relied and o.id not in taken and _matches(o, "referral", service)), None)
            if override:
                taken.add(override)
            out.append({"referral": action.id, "service": service, "consent": consent_id, "answer": answer.id, "giver": giver,
                        "status": answer.body.get("status"), "override": override})
    return out


def open_withdrawn(referral: Mapping[str, Any] | None) -> list[dict]:
    """What of `withdrawn_after` a folded referral still has to deal with (the fold keeps its
    entries without an override as `consent_withdrawn`), until the referral is closed."""
    if not referral or referral.get("status") == "closed":
        return []
    return list(referral.get("consent_withdrawn") or ())


def withdrawn_text(case_id: str, ref: str, item: dict) -> str:
    """What a referral whose consent its giver answered otherwise since (`withdrawn_after`)
    means, and the ways to deal with it: what `cpcm check` says and `cpcm consent` warns."""
    service = item["service"]
    return (f"referral {ref} ({service}) was sent on the {item['giver']}'s consent {item['consent']}, and the "
            f"{item['giver']}'s answer since ({item['answer']}) is '{item['status']}': nothing more goes to the service on it. "
            f"Tell the service, and close the referral (cpcm referral {case_id} {ref} --status closed), or a supervisor "
            f"records an override (cpcm consent {case_id} --override --purpose referral --agency {service} "
            f"--basis legal_mandate|best_interests --reason ...); where the {item['giver']} agrees again, record it "
            f"(cpcm consent {case_id} --purpose referral --agency {service} --by {item['giver']} --status given --explained all)")


def overrides_of_no_purpose(consents: Iterable[Mapping[str, Any]], purposes: Sequence[str]) -> list[str]:
    """The supervisor's overrides in force among `consents` (the fold's `Case.consents`: `kept`) whose purpose is
    none of `purposes` (those `cpcm consent --override` takes now, as their codes): written before the command
    read its purpose, when any text was recorded (a word in Kiswahili, a misspelling), such an override stands
    in for no consent, as the rule matches the purpose's code (`_matches`). Their record ids, in the order written;
    one a correction replaced is not among them."""
    consents = list(consents)
    replaced = {c["body"].get("supersedes") for c in consents if c["body"].get("supersedes")}
    return sorted(c["id"] for c in consents if c["kind"] == "consent_override" and c["id"] not in replaced
                  and c["body"].get("purpose") not in purposes)


def _matches(record: Record, purpose: str, agency: str | None) -> bool:
    if record.body.get("purpose") != purpose:
        return False
    if purpose in AGENCY_PURPOSES:
        return record.body.get("agency") == agency
    return True


def _expired(record: Record, today: date) -> bool:
    until = record.body.get("until")
    return bool(until) and date.fromisoformat(str(until)[:10]) < today


def givers(policy: Policy, child_age: int | None) -> tuple[str, ...]:
    """Whose consent an action needs (`consent.required_from`): the child's not while the child is
    younger than `consent.child_from_age` (an agency's age; 0, the profiles': every child is asked).
    A child of no known age is asked."""
    required = tuple(policy.get("consent", "required_from") or ())
    if child_age is not None and child_age < int(policy.get("consent", "child_from_age") or 0):
        return tuple(g for g in required if g != "child")
    return required


# each item of `consent.explained`, in words: what was explained (cpcm consent --explained ITEM)
EXPLAINED_WORDS = {"information": "what information is kept", "use": "how it is used", "sharing": "who it is shared with",
                   "confidentiality_limits": "the limits of confidentiality"}


def not_explained(body: Mapping[str, Any], policy: Policy) -> list[str]:
    """The items of `consent.explained` a consent's record says were not explained (`explained.ITEM` not
    true): a `given` answer with any of them is not informed consent (ESARO P6), and counts for nothing. An
    answer that records no explanations (`explained` not a mapping) is not judged by them; the registration's
    own answers (its form asking one yes or no) are read as none explained where that answer is no
    (`case_work_records`, `registration_not_informed`)."""
    told = body.get("explained")
    if not isinstance(told, Mapping):
        return []
    return [item for item in policy.get("consent", "explained") or () if told.get(item) is not True]


def explained_text(items: Sequence[str]) -> str:
    """`not_explained`'s items in words: 'how it is used and the limits of confidentiality'."""
    words = [EXPLAINED_WORDS.get(item, item) for item in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def not_informed_text(case_id: str, purpose: str, whose: Sequence[str], missing: Sequence[str], agency: str | None = None,
                      relied_on: str = ", and no step relies on it") -> str:
    """What a `given` answer of `whose` (child, caregiver) with `missing` not explained (`not_explained`) is, and the
    command that records it again, explained: the warning of the command that records it (`relied_on`: what no
    longer goes ahead on it, where something does not)."""
    givers = " and ".join(f"the {g}'s" for g in whose)
    to = f" --agency {agency}" if agency else ""
    return (f"{givers} consent for {purpose} was given without explaining {explained_text(missing)}: it is not informed "
            f"consent (ESARO P6){relied_on}; explain, then record it again: cpcm consent {case_id} --purpose {purpose}{to} "
            f"{' '.join(f'--by {g}' for g in whose)} --status given --explained all")


def registration_not_informed(body: Mapping[str, Any], policy: Policy) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the givers, the policy's `consent.explained` items) of a registration (its document, `body`) whose answer
    is `given` though its form's one yes or no for the four (`consent.explained`) is no: what consent means was
    not explained, so it is not informed consent (ESARO P6; `consent.sources.explained`). ((), ()) when it was
    explained or the question was not answered, when no answer is `given`, or when the policy asks for no item."""
    answers = body.get("consent") or {}
    items = tuple(policy.get("consent", "explained") or ())
    whose = tuple(g for g in ("child", "caregiver") if answers.get(g) == "given")
    return (whose, items) if answers.get("explained") is False and whose and items else ((), ())


def _ended(record: Any, now: datetime) -> bool:
    """Whether a consent's or an override's `until` (a day) has passed at `now` (`_expired` on the day
    of `now`), told by comparing `now` with the start of the next day in its zone alone, so that
    `cpcm due` keeps the answer for the times it holds (workflow/intervals.py)."""
    until = record.body.get("until")
    if not until:
        return False
    after = date.fromisoformat(str(until)[:10]) + timedelta(days=1)
    return now >= datetime.combine(after, time(0), tzinfo=now.tzinfo)


def as_of(records: Sequence[Record], moment: datetime) -> list[Record]:
    """The case's records with its consent as it stood at `moment` (an action recorded late, `--at`):
    a consent answer dated after it (its own time, `at`) was not given yet and does not count, for
    or against. A consent corrected is dated by its correction in force (update-correct.md: the
    correction in the original's place): corrected to a time after `moment`, the original does not
    count either. The other records stay: an action recorded since still used a one-off consent
    (`used_ids`), and an override (recorded when it is decided) stands in as it would now."""
    then = utc(moment)
    ordered = sorted((r for r in records if r.kind == "consent"), key=lambda r: r.id)
    by_id = {r.id: r for r in ordered}
    replaced_by = _replaced_by(ordered, by_id) if any(r.body.get("supersedes") for r in ordered) else {}

    def dated(record: Record) -> datetime:
        while record.id in replaced_by:
            record = by_id[replaced_by[record.id]]
        return utc(record.at)

    return [r for r in records if r.kind != "consent" or dated(r) <= then]


def check(records: Sequence[Any], purpose: str, agency: str | None, policy: Policy, now: datetime,
          named: str | None = None, child_age: int | None = None, used: set[str] | None = None) -> ConsentCheck:
    """Whether an action for `purpose` (towards `agency`) may go ahead, and on what, for a child of
    `child_age` (`givers`). The reasons name the agency as `named` (default: `agency`), for an
    agency typed that is not a service id of the directory and so is not repeated. `records`: the
    case's records, or only its consents, overrides and receipts of a transfer in with `used`, the
    records already relied on (`used_ids` of every record: the fold keeps both, `kept`)."""
    used = used_ids(records) if used is None else used
    # a consent a correction replaced counts no more: corrected to another purpose, agency or giver, it is not left standing
    replaced = corrected_ids(records)
    records = [r for r in records if r.id not in replaced]
    # consent given to another agency before this one received the case does not carry over
    received = max((r.id for r in records if r.kind == "transfer_in"), default="")
    records = [r for r in records if r.id > received or r.kind not in CORRECTED_KINDS]
    consents = [r for r in sorted(records, key=lambda r: r.id) if r.kind == "consent" and _matches(r, purpose, agency)]
    latest: dict[str, Record] = {}
    for record in consents:
        latest[record.body.get("given_by")] = record
    reasons, uses, refusals, uninformed, wanting = [], [], [], [], []
    for giver in givers(policy, child_age):
        record = latest.get(giver)
        target = f" for {named or agency}" if purpose in AGENCY_PURPOSES else ""
        if record is None:
            reasons.append(f"no {giver} consent for {purpose}{target} is recorded")
        elif record.body.get("status") != "given":
            reasons.append(f"the {giver}'s consent for {purpose}{target} is '{record.body.get('status')}'")
            refusals.append((giver, str(record.body.get("status")), record.id))
        elif missing := not_explained(record.body, policy):
            reasons.append(f"the {giver}'s consent for {purpose}{target} was given without explaining {explained_text(missing)}: "
                           "it is not informed consent (ESARO P6)")
            uninformed.append((giver, tuple(missing), record.id))
        elif _ended(record, now):
            reasons.append(f"the {giver}'s consent for {purpose}{target} expired on {record.body.get('until')}")
        elif record.body.get("one_off") and record.id in used:
            reasons.append(f"the {giver}'s one-off consent for {purpose}{target} was already used")
        else:
            uses.append(record.id)
            continue
        wanting.append(giver)
    if not reasons:
        return ConsentCheck(True, (), tuple(uses))
    overrides = [r for r in records if r.kind == "consent_override" and _matches(r, purpose, agency) and r.id not in used
                 and not _ended(r, now)]
    if overrides:
        chosen = sorted(overrides, key=lambda r: r.id)[-1]
        # the override stands in for the givers whose answer is missing; the others' consent is relied on
        # as well (a child's one-off assent is used by this action, as it would be without the override)
        return ConsentCheck(True, tuple(reasons), (*uses, chosen.id), override=chosen.id, refusals=tuple(refusals),
                            uninformed=tuple(uninformed), wanting=tuple(wanting))
    return ConsentCheck(False, tuple(reasons), refusals=tuple(refusals), uninformed=tuple(uninformed), wanting=tuple(wanting))


# what the fold keeps of a case's records for the one rule (`check`), so that `cpcm due` can say which consent a
# step still needs without the records (workflow/deadlines.py `_step_consent`): the consents, the overrides and the
# receipts of a transfer in, each with the fields `check` reads and whether an action relied on it already (`used_ids`)
KEPT_KINDS = frozenset({"consent", "consent_override", "transfer_in"})
KEPT_FIELDS = ("purpose", "agency", "given_by", "status", "until", "one_off", "supersedes", "explained")


def kept(record: Record, used: bool) -> dict[str, Any]:
    """A record of `KEPT_KINDS` as the fold keeps it (`Case.consents`)."""
    return {"id": record.id, "kind": record.kind, "body": {k: record.body[k] for k in KEPT_FIELDS if k in record.body},
            "used": used}


@dataclass(frozen=True)
class Kept:
    """A record the fold kept (`kept`), read back for `check`: its id, kind and the fields it reads."""
    id: str
    kind: str
    body: Mapping[str, Any]


def from_kept(entries: Iterable[Mapping[str, Any]]) -> tuple[list[Kept], set[str]]:
    """The records the fold kept (`Case.consents`) and the ids of those relied on already: `check`'s
    `records` and `used`."""
    records = [Kept(e["id"], e["kind"], e.get("body") or {}) for e in entries]
    return records, {e["id"] for e in entries if e.get("used")}


# the steps of `consent.checked_at` that `cpcm due` asks for, in words (a step's message and `due`'s item)
STEP_WORDS = {"comprehensive": "the comprehensive assessment", "best_interests": "the best-interests assessment",
              "initial": "the initial assessment"}


# what names a step of `consent.checked_at`, by purpose: an assessment's type (cpcm assess --type)
# or the setting of the care type a placement goes into (cpcm placement; placement rule)
STEP_KINDS = {"assessment": "assessment type", "placement": "placement setting", "reintegration": "placement setting"}


def checked_purpose(policy: Policy, step: str | None) -> str | None:
    """The purpose whose consent a step checks (`consent.checked_at`: each purpose, the steps that
    check it), or None where the policy lists the step under none (an agency turned it off)."""
    for purpose, steps in (policy.get("consent", "checked_at") or {}).items():
        if step and step in (steps or ()):
            return purpose
    return None


def at_step(result: ConsentCheck, act_first: bool = False) -> str:
    """What a step that checks consent (`checked_purpose`) does with the one rule's answer: `go`
    (valid consent, or an override standing in); `refuse` where a giver the policy asks refused,
    or could not give it, and no override stands in (ESARO P6: refused or not possible needs a
    recorded legal mandate or best-interests override); `warn` where consent is only missing
    (never recorded, ended, used) -- the step goes ahead, and the worker is told to record it, as
    registration goes ahead on its own consent -- and where the child's safety comes first
    (`act_first`: an initial assessment of a child at a risk the policy answers the same day;
    IAG §3 Step 2: act before the child leaves your care), whatever the answers."""
    if result.ok:
        return "go"
    return "refuse" if result.refusals and not act_first else "warn"


# -- consent to the case's work (registration) ------------------------------------------------------------------------
# The registration records the child's assent and the caregiver's consent to it (the registration form's
# `consent.child`, `consent.caregiver`): consent to the case being opened and worked on at all (ESARO P6, "permission to
# proceed"). Unlike a purpose a step checks (`checked_at`) or an action towards an agency (referral, sharing, transfer),
# no later step asks for it again, so a refusal, no answer, or an answer given without explaining what consent means
# (not informed), is asked about until it is resolved (`case_work`).
CASE_WORK = "registration"


def case_work_records(case: Any) -> list[Any]:
    """What the one rule (`check`) reads for consent to registration: the registration's own answers, as
    consent records of the registration's id (a later `cpcm consent --purpose registration` answer replaces
    them), with the case's consents, overrides and receipts of a transfer in (`Case.consents`). The form's one
    yes or no for what consent means (`consent.explained`) answered no is read as none of the policy's items
    explained (`not_explained`: a `given` answer is then not informed consent; ESARO P6)."""
    answers = (case.registration or {}).get("consent") or {}
    first = next((e.id for e in case.history if e.kind == "registration"), None)
    told = {"explained": {}} if answers.get("explained") is False else {}
    kept = [Kept(first, "consent", {"purpose": CASE_WORK, "given_by": giver, "status": answers[giver], **told})
            for giver in ("child", "caregiver") if first is not None and answers.get(giver)]
    return kept + from_kept(case.consents)[0]


@dataclass(frozen=True)
class CaseWork:
    """Consent to the case's work not settled (`case_work`): `refused` (a giver the policy asks refused, or
    could not give it), `not_informed` (a giver's answer is `given` without what the policy lists explained:
    the registration's form answered no, or a `cpcm consent --purpose registration` recorded without them) or
    `missing` (no answer of a giver since the case was received from another agency: what the sending agency
    was told does not carry over), the one rule's answer (`result`: its reasons, refusals and answers not
    informed), and the record it runs from (`since`: the latest refusal's, answer not informed's, or the receipt's)."""
    state: str
    result: ConsentCheck
    since: str | None

    @property
    def not_possible(self) -> bool:
        """Refused only in that every giver's answer is `not_possible` (a baby's assent, an unaccompanied child's
        caregiver): nobody refused, and no answer given again settles it; a supervisor's override does."""
        return self.state == "refused" and all(status == "not_possible" for _giver, status, _id in self.result.refusals)


def _case_work_check(case: Any, policy: Policy, now: datetime) -> ConsentCheck | None:
    """The one rule's answer (`check`) for consent to the work of an open case; None for a case not open, or one whose
    registration answers were all `given` (and not said to be given without explaining what consent means) and that
    holds no consent record (nearly every case): it is not read further."""
    if case.status != "open":
        return None
    answers = (case.registration or {}).get("consent") or {}
    if (not case.consents and all(answers.get(g) == "given" for g in ("child", "caregiver"))
            and answers.get("explained") is not False):
        return None
    age = case.age_on(now.date()) if policy.get("consent", "child_from_age") else None
    return check(case_work_records(case), CASE_WORK, None, policy, now, child_age=age, used=set())


def case_work(case: Any, policy: Policy, now: datetime) -> CaseWork | None:
    """Whether consent to the case's work is unsettled on an open case: None where every giver the policy asks
    (`givers`) gave it, or a supervisor's override for registration stands in (it is never used up: it is the
    decision that the work goes on); else what is wrong. A case whose registration answers were all `given`
    (and not said to be given without explaining what consent means) and that holds no consent record (nearly
    every case) is not read further."""
    return case_work_settled(case, policy, now)[0]


def case_work_settled(case: Any, policy: Policy, now: datetime) -> tuple[CaseWork | None, str | None]:
    """(`case_work`, the record ID of the supervisor's or manager's override that stands in for an answer refused,
    not possible, not informed or missing, or None), from one reading of the rule: what `cpcm show` says beside the
    registration's answers, which would otherwise read as unsettled."""
    result = _case_work_check(case, policy, now)
    if result is None:
        return None, None
    if result.ok:
        return None, result.override
    if result.refusals:
        return CaseWork("refused", result, max(record_id for _giver, _status, record_id in result.refusals)), None
    if result.uninformed:
        return CaseWork("not_informed", result, max(record_id for _giver, _items, record_id in result.uninformed)), None
    received = max((r.id for r in case_work_records(case) if r.kind == "transfer_in"), default=None)
    if received is None:
        return None, None  # ended or one-off answers: registration goes ahead on them, as a step does on consent only missing
    return CaseWork("missing", result, received), None


def case_work_text(case_id: str, found: CaseWork, policy: Policy, givers_asked: Sequence[str]) -> str:
    """What an unsettled consent to the case's work (`case_work`) means and what settles it: the words of
    `cpcm due`'s items (with CASE for `case_id`: one text for every case), `cpcm check` and the warnings of the
    steps that share the child's data. `givers_asked`: whose answer the policy asks (`givers`)."""
    rule = policy.rules["consent"]
    roles, bases = " or ".join(rule.get("override_roles", ("supervisor", "manager"))), "|".join(rule.get("override_bases", ()))
    override = f"cpcm consent {case_id} --override --purpose {CASE_WORK} --basis {bases} --reason ..."
    if found.state == "not_informed":
        whose = [giver for giver, _items, _id in found.result.uninformed]
        items = {item for _giver, missing, _id in found.result.uninformed for item in missing}
        missing = [item for item in policy.get("consent", "explained") or () if item in items]
        return (not_informed_text(case_id, CASE_WORK, whose, missing, relied_on=", so consent to the case's work is not settled")
                + f"; or a {roles} records an override ({override})")
    if found.not_possible:
        return (f"{found.result.why_not()}: nobody refused, but it could not be given, and no override by a {roles} is "
                f"recorded: the work on the case needs a recorded legal mandate or best-interests basis, with who decided "
                f"it (ESARO P6; IAG §1: still explain to the child what happens). A {roles} records it ({override})")
    if found.state == "refused":
        refused = [giver for giver, _status, _id in found.result.refusals]
        record = f"cpcm consent {case_id} --purpose {CASE_WORK} {' '.join(f'--by {g}' for g in refused)} --status given --explained all"
        return (f"{found.result.why_not()}, and no override by a {roles} is recorded: the work on the case needs a recorded "
                f"legal mandate or best-interests basis, with who decided it (ESARO P6; IAG §1: explain the reasons and keep "
                f"encouraging the child and family to take part). A {roles} records it ({override}); where the answer has "
                f"changed, record it ({record})")
    record = (f"cpcm consent {case_id} --purpose {CASE_WORK} {' '.join(f'--by {g}' for g in givers_asked)} --status given "
              "--explained all")
    return (f"{found.result.why_not()} since the case was received from another agency (what the sending agency was "
            f"told does not carry over): record the answers ({record}, or --status refused|not_possible --reason ...), "
            f"or a {roles} records an override ({override})")
