"""Consent, the service directory and referrals: cpcm consent, service, refer and referral."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from cpcm import clock
from cpcm.domain.dates import local_day, local_text
from cpcm.domain.forms import Field, Wording, coerce, laid_over, not_a_date, validate
from cpcm.domain.records import CORRECTION_KEYS, Record, flatten, utc
from cpcm.domain.text import said
from cpcm.errors import N_, CannotDecrypt, FieldError, InvalidInput, NotFound, Refused, UsageError, named_record
from cpcm.service.context import (CaseStream, Context, append, append_each, by_record_shard, case_content, form_for, load_case,
                                  load_records, transaction, validate_form, writes)
from cpcm.service.context import (at_errors, check_at, check_cover, check_step, due_said, end_expired_covers, keys_for, new_record, note_clock,
                                  unnamed_keys)
from cpcm.workflow import consent as consent_rules
from cpcm.workflow import transitions
from cpcm.service.planning import said_settled, settles_step
from cpcm.service.results import Written
from cpcm.service.wording import option_code, say_for, wording
from cpcm.store import directory, forms
from cpcm.store.layout import SERVICES
from cpcm.workflow.fold import fold, settled_by
from cpcm.workflow.deadlines import CASE_WORK_ITEMS, feedback_due
from cpcm.workflow.placements import lives_now
from cpcm.workflow.transfers import agency_errors


REFUSING = ("refused", "not_possible")  # the answers that carry their reason (workflow.md: "with the reason for the last two")


@writes
def consent(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Record consent or assent for one purpose, from the child or the caregiver, or from both
    together (`given_by: [child, caregiver]`, with one `status` for both or one per giver in
    that order): one record per giver, in one commit. Where one answer is refused or not
    possible and another given, the `reason` goes on the refused or not-possible one only. A caregiver's record names the caregiver
    who gave it and their relationship to the child (`caregiver_name`, `caregiver_relationship`;
    by default the caregiver the child lives with now, `placements.lives_now`: the latest
    placement's, else the registration's, which a placement in a CCI naming none leaves for it); a
    child's record names none (the form's `only_if` rules)."""
    case = load_case(ctx, case_id)
    check_step(ctx, case, "consent", data, maybe=({"purpose": "sharing"},))  # the stage before the form (sharing: every stage)
    what = named_record("consent", case=case_id)
    givers = _givers(data.get("given_by"))
    statuses = data.get("status")
    statuses = list(statuses) if isinstance(statuses, (list, tuple)) else [statuses] * len(givers)
    errors = []
    if len(givers) != len(set(givers)):
        errors.append(FieldError("given_by", "names each giver once (child, caregiver)"))
    if len(statuses) != len(givers):
        errors.append(FieldError("status", "give one answer for all, or one per giver in the order of --by"))
    if errors:
        raise InvalidInput(errors, what)
    bodies = []
    refusing = any(status in REFUSING for status in statuses)
    for place, (giver, status) in enumerate(zip(givers, statuses), start=1):
        entry = {**dict(data), "given_by": giver, "status": status}
        if refusing and status not in REFUSING:  # the reason is the refused or not-possible answer's, not a given one's
            entry.pop("reason", None)
        if giver == "caregiver":
            lives = lives_now(case)  # the caregiver the child lives with now: the latest placement's, else the registration's
            if not lives["caregiver"]:  # in a CCI naming no caregiver: the family's, as registered (the child's parent)
                lives = {"caregiver": case.caregiver_name, "relationship": (case.registration.get("caregiver") or {}).get("relationship")}
            if not entry.get("caregiver_name") and lives["caregiver"]:
                entry["caregiver_name"] = lives["caregiver"]
                if not entry.get("caregiver_relationship") and lives["relationship"]:
                    entry["caregiver_relationship"] = lives["relationship"]
        elif "caregiver" in givers:  # the caregiver's name is the caregiver's record's; given with no caregiver, the form refuses it
            for key in ("caregiver_name", "caregiver_relationship"):
                entry.pop(key, None)
        try:
            bodies.append(_consent_body(ctx, entry, what, at))
        except InvalidInput as exc:
            errors += _giver_errors(exc.errors, giver, place) if len(givers) > 1 else exc.errors
    errors += at_errors(ctx, case, at)
    if errors:
        raise InvalidInput(errors, what)
    if len(bodies) == 1:
        record = append(ctx, case, "consent", "consent", bodies[0], at)
        records = [record]
    else:
        records = _append_together(ctx, case, "consent", "consent", bodies, at)
    steps, warnings, uninformed = [], [], {}
    for body in bodies:  # given, but not informed: nothing relies on it until it is recorded again, explained
        missing = consent_rules.not_explained(body, ctx.policy) if body["status"] == "given" else []
        if missing:
            uninformed.setdefault(tuple(missing), []).append(body["given_by"])
    warnings += [consent_rules.not_informed_text(case_id, bodies[0]["purpose"], whose, missing, bodies[0].get("agency"))
                 for missing, whose in uninformed.items()]
    for body in bodies:
        if body["status"] != "given":
            agency = f" --agency {body['agency']}" if body.get("agency") else ""
            steps.append(f"the {body['given_by']}'s answer is '{body['status']}': acting without consent needs a supervisor's "
                         f"override: cpcm consent {case_id} --override --purpose {body['purpose']}{agency} --basis best_interests "
                         "--reason ...")
    if len(bodies) == 1 and steps:
        steps = [steps[0].split(": ", 1)[1]]
    return Written(case_id, tuple(r.id for r in records), "consent", next_steps=tuple(dict.fromkeys(steps)),
                   warnings=(*warnings, *_withdrawn_here(ctx, case_id, records)),
                   extra={"given_by": [b["given_by"] for b in bodies], "record_ids": [r.id for r in records]}
                   if len(bodies) > 1 else {})


def _withdrawn_here(ctx: Context, case_id: str, written: Sequence[Record]) -> list[str]:
    """The open referrals whose consent the answers just `written` withdraw (workflow/consent.py
    `withdrawn_after`): what the worker tells the service, and closes or has overridden."""
    if all(r.body.get("status") == "given" or r.body.get("purpose") != "referral" for r in written):
        return []
    records = load_records(ctx, case_id)
    mine = {r.id for r in written}
    case = fold(case_id, records)
    return [consent_rules.withdrawn_text(case_id, referral["ref"], item)
            for referral in case.referrals for item in consent_rules.open_withdrawn(referral) if item["answer"] in mine]


def _givers(value: Any) -> list[str]:
    """Who gave the answers (`given_by`: one, or a list), each as text for the form to check."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value] or [""]
    return [value if isinstance(value, str) else str(value)] if value is not None else [None]  # type: ignore[list-item]


def _giver_errors(errors: Sequence[FieldError], giver: str, place: int) -> list[FieldError]:
    """The problems of one giver's answer among several, each named with the giver (`child: status`); a giver
    the form refused by its place (`given_by[2]`), never as typed: a name typed in place of child or caregiver
    would go to the terminal and a script's log."""
    if not any(e.field == "given_by" for e in errors):
        return [FieldError(f"{giver}: {e.field}", e.reason) for e in errors]
    return [FieldError(f"given_by[{place}]" + ("" if e.field == "given_by" else f": {e.field}"), e.reason) for e in errors]


# Translators: a service or an agency named that the directory does not hold (the value is never repeated); the
# commands in brackets are kept as they are.
NOT_A_SERVICE = N_("is not a service id in the directory (cpcm service list)")
NOT_A_SERVICE_ADD = N_("is not a service id in the directory (cpcm service list; cpcm service add adds one)")


def consent_agency_errors(ctx: Context, purpose: str, agency: str | None) -> list[FieldError]:
    """The agency a consent or an override names: for a transfer, the receiving agency's code or
    service id (transfers.agency_errors, as `cpcm transfer --to`); otherwise a service id of the
    directory. The value is not repeated: a name may have been typed there."""
    if not agency:
        return []
    if purpose == "transfer":
        return agency_errors(agency, "agency")
    if directory.find(directory.load(ctx.store), agency) is None:
        return [FieldError("agency", say_for(ctx)(NOT_A_SERVICE))]
    return []


def _consent_body(ctx: Context, data: Mapping[str, Any], what: str, at: datetime | None = None) -> dict:
    """One giver's consent record body: the form, the policy's purposes, the agency, the dates
    (an end before the day it is recorded for, `at` or today, would be an ended consent), every
    problem named at once."""
    day = (at or ctx.now).astimezone(ctx.zone).date().isoformat()
    return validate_form(ctx, form_for(ctx, "consent"), data, what, then=lambda body: _consent_errors(ctx, body, day))


def _consent_errors(ctx: Context, body: Mapping[str, Any], day: str) -> list[FieldError]:
    """What is wrong with a consent body beside its form (`_consent_body`), on the fields the form found good."""
    errors = []
    if body.get("until") and str(body["until"]) < day:
        errors.append(FieldError("until", f"is before {day}, the day it is recorded for: give the last day it holds, "
                                          "that day or later"))
    elif body.get("until") and body.get("one_off"):
        errors.append(FieldError("until", "give a date or one-off, not both"))
    purposes = ctx.policy.get("consent", "purposes")
    if purposes and body.get("purpose") and body["purpose"] not in purposes:
        errors.append(FieldError("purpose", f"is one of the policy's purposes: {', '.join(purposes)}"))
    return errors + (consent_agency_errors(ctx, body["purpose"], body.get("agency")) if body.get("purpose") else [])


def _append_together(ctx: Context, case, verb: str, kind: str, bodies: list[dict], at: datetime | None) -> list[Record]:
    """Several records of one kind on a case in one commit (`verb CASE ID ID ...`), each checked
    as `append` checks one."""
    check_at(ctx, case, at, verb)
    check_cover(ctx, case)
    records: list[Record] = []
    with transaction(ctx, verb) as tx:
        note_clock(ctx, case, at)
        readers, ended = end_expired_covers(ctx, tx, case)
        after = case.history[-1].id if case.history else ""
        for body in bodies:
            transitions.advance(case.stage, transitions.stage_command(kind, dict(body)), case.id)
            record = new_record(ctx, kind, case.id, body, at, after=after)
            tx.write_record(record, keys_for(ctx, readers))
            records.append(record)
            after = record.id
        tx.commit(f"{verb} {case.id} {' '.join(r.id for r in records)}{ended}")
    return records


@writes
def consent_override(ctx: Context, case_id: str, purpose: str, basis: str, reason: str, agency: str | None = None,
                     at: datetime | None = None) -> Written:
    """A supervisor's override where consent is refused or not possible: a legal mandate or the
    child's best interests, recorded with its basis; it stands in for consent once."""
    body = _override_body(ctx, case_id, purpose, basis, reason, agency)
    case = load_case(ctx, case_id)
    record = append(ctx, case, "consent", "consent_override", body, at)
    return Written(case_id, record.id, "consent_override")


@writes
def consent_override_each(ctx: Context, case_ids: Sequence[str], purpose: str, basis: str, reason: str,
                          agency: str | None = None, at: datetime | None = None) -> Written:
    """The same override recorded in each of several cases (`cpcm consent CASE CASE ... --override`: the
    children of a home whose caregivers could not be asked, each on the same legal mandate), one record a
    case, in one commit (`consent batch N cases`). Every case is checked first: a case named twice, not
    found or not readable, and nothing is written."""
    body = _override_body(ctx, case_ids[0] if len(case_ids) == 1 else "the cases", purpose, basis, reason, agency)
    errors, cases = [], []
    for number, case_id in enumerate(case_ids, start=1):
        if case_id in case_ids[:number - 1]:
            errors.append(FieldError(f"case {number}", f"{case_id} is named twice"))
            continue
        try:
            cases.append(load_case(ctx, case_id))
        except (NotFound, CannotDecrypt) as exc:
            errors.append(FieldError.of(f"case {number}", exc))
    if errors:
        raise InvalidInput(errors, f"consent override for {len(case_ids)} cases", "Correct the cases named above; nothing was written.")
    records = append_each(ctx, [(case, body) for case in cases], "consent", "consent_override", at)
    return Written(None, tuple(r.id for r in records), "consent_override",
                   extra={"records": [{"case_id": r.case, "record_id": r.id} for r in records]})


def _override_body(ctx: Context, what: str, purpose: str, basis: str, reason: str, agency: str | None) -> dict:
    """An override's record, checked: the actor may override (`consent.override_roles`), the purpose is one a
    consent takes (`override_purposes`) and the basis one of the policy's (`consent.override_bases`), each
    typed as its code or its words in the repository's language as a form's choice is (`option_code`: "usajili",
    "maslahi bora" in Kiswahili, the words the case file prints) and recorded as the code, a reason is given,
    and an agency where the purpose goes to one. Was: any purpose was written as typed, and no rule read it."""
    actor = ctx.need_worker()
    rule = ctx.policy.rules["consent"]
    if not actor.has_role(*rule.get("override_roles", ("supervisor", "manager"))):
        raise Refused("only a supervisor or manager can override consent", "Ask your supervisor to record the override.",
                      rule="consent-override-needs-supervisor")
    errors = []
    purpose, why = option_code(ctx, "purpose", purpose, override_purposes(ctx))
    if why is not None:
        errors.append(FieldError("purpose", why))
    basis, why = option_code(ctx, "basis", basis, tuple(rule.get("override_bases", ())))
    if why is not None:
        errors.append(FieldError("basis", why))
    if not said(reason):
        errors.append(FieldError("reason", "is required: why acting without consent is lawful or in the child's best interests"))
    if purpose in ("referral", "sharing", "transfer") and not agency:
        errors.append(FieldError("agency", f"is required for {purpose}"))
    errors += consent_agency_errors(ctx, purpose, agency)
    if errors:
        raise InvalidInput(errors, f"consent override for {what}")
    body = {"purpose": purpose, "basis": basis, "reason": reason.strip()}
    if agency:
        body["agency"] = agency
    return body


OVERRIDE_FIELDS = ("purpose", "basis", "reason", "agency")  # what `cpcm consent --override` records


def override_corrected(ctx: Context, case_id: str, records: Sequence[Record], original: Record, base: Mapping[str, Any],
                       data: Mapping[str, Any]) -> tuple[dict, list[FieldError]]:
    """A consent override's correction (`cpcm correct CASE RECORD`): its fields (OVERRIDE_FIELDS) laid over the
    original's and checked as `cpcm consent --override` checks an override (`_override_body`: by one the policy
    lets override, the purpose and basis each its code or its words in the repository's language, recorded as the
    code): an override stored with a purpose that is none of a consent's, written before the command read it
    (`cpcm check`'s `consent-override-purpose`), is mended so. An override an action relied on already (a referral,
    a transfer: `used_ids`) keeps the purpose and agency the action went on (another is another override, as a
    referral's service is another referral). A key that is none of the fields is counted, never named."""
    errors: list[FieldError] = []
    unknown = [k for k in data if k not in OVERRIDE_FIELDS]
    if unknown:
        errors.append(unnamed_keys(len(unknown), "a consent override", OVERRIDE_FIELDS))
    merged = laid_over({k: v for k, v in base.items() if k in OVERRIDE_FIELDS},
                       {k: v for k, v in data.items() if k in OVERRIDE_FIELDS})
    try:
        checked = _override_body(ctx, case_id, str(merged.get("purpose") or ""), str(merged.get("basis") or ""),
                                 str(merged.get("reason") or ""), str(merged.get("agency") or "") or None)
    except InvalidInput as exc:
        checked = dict(merged)
        errors += exc.errors
    body = {**{k: v for k, v in base.items() if k not in OVERRIDE_FIELDS}, **checked}
    if original.id in consent_rules.used_ids(records):
        errors += [FieldError(key, f"an action relied on this override for its {key}: it is not corrected; for another, a "
                                   f"supervisor or manager records an override of its own (cpcm consent {case_id} --override ...)")
                   for key in ("purpose", "agency") if body.get(key) != base.get(key)]
    return body, errors


def override_purposes(ctx: Context) -> tuple[str, ...]:
    """The purposes an override is recorded for: those a consent takes (`cpcm consent --purpose`), the consent
    form's list as far as the policy lists them (`consent.purposes`), so that an override stands in for a
    consent the rules read."""
    listed = forms.load(form_for(ctx, "consent"), ctx.root).field("purpose")
    purposes = ctx.policy.get("consent", "purposes")
    choices = tuple(listed.choices) if listed is not None else tuple(purposes or ())
    return tuple(p for p in choices if not purposes or p in purposes)


def check_consent(ctx: Context, case_id: str, purpose: str, agency: str | None = None, records: list[Record] | None = None,
                  named: str | None = None, at: datetime | None = None):
    """The one consent rule every sharing action calls; Refused (exit 4) with the reasons. The
    message names the agency as `named` (default: `agency`, a service id of the directory).
    `at`: the time the action is recorded for (`--at`), at which the consent and the child's age
    are judged as they stood then (workflow.md: a referral is sent on the consent as it was
    recorded then; the age is counted on the day of the action): an answer dated later was not
    given yet, an `until` passed since still held (`consent.as_of`)."""
    from cpcm.workflow import consent as consent_rule

    records = load_records(ctx, case_id) if records is None else records
    moment, age = _judged_at(ctx, case_id, records, at)
    result = consent_rule.check(consent_rule.as_of(records, at) if at else records, purpose, agency, ctx.policy, moment, named, age)
    if not result.ok:
        shown = named or agency
        rule = ctx.policy.rules["consent"]
        roles, bases = rule.get("override_roles", ("supervisor", "manager")), rule.get("override_bases", ())
        to = "" if not agency else f" --agency {agency}" if named is None else " --agency AGENCY"  # one typed: not repeated
        replaced = {r.body.get("supersedes") for r in records if r.kind == "consent"}  # named by its correction
        later = [r.id for r in records if r.kind == "consent" and at and r.body.get("purpose") == purpose
                 and r.body.get("agency") == agency and utc(r.at) > utc(at) and r.id not in replaced]
        if later and consent_rule.check(records, purpose, agency, ctx.policy, moment, named, age).ok:
            # the consent is on file, dated after the time given: not "none is recorded", and recording it again changes nothing
            raise Refused(f"{case_id}: no valid consent for {purpose}{' to ' + shown if shown else ''} at the time given "
                          f"(--at): the consent on file is dated after it ({', '.join(later)})",
                          f"If it was given before then, correct its time (cpcm correct {case_id} RECORD --at WHEN --reason "
                          "...), or give this step the time it was done with --at.", rule="consent-required")
        raise Refused(f"{case_id}: no valid consent for {purpose}{' to ' + shown if shown else ''}: {result.why_not()}",
                      f"Record it: cpcm consent {case_id} --purpose {purpose}{to} {' '.join(f'--by {g}' for g in result.wanting)} "
                      "--status given ...; "
                      f"or, where it is refused or not possible, a {' or '.join(roles)} records an override: cpcm consent "
                      f"{case_id} --override --purpose {purpose}{to} --basis {'|'.join(bases)} --reason ...",
                      rule="consent-required")
    return result


def _judged_at(ctx: Context, case_id: str, records: list[Record], at: datetime | None) -> tuple[datetime, int | None]:
    """When a consent is judged for a step (`at`, the time it is recorded for, else now) and the
    child's age on that day, where the policy reads it (`consent.child_from_age`; else None)."""
    moment = at or ctx.now
    if not ctx.policy.get("consent", "child_from_age"):
        return moment, None
    return moment, fold(case_id, records).age_on(moment.astimezone(ctx.zone).date())


def case_work_consent(ctx: Context, case, what: str) -> list[str]:
    """A step that gives the child's data to others (`what`: a referral, a transfer, a conference nomination)
    while consent to the case's work (registration) is refused, given without explaining it (not informed), or
    not answered since the case was received, and no supervisor's override stands in (workflow/consent.py
    `case_work`, the rule `cpcm due` and `cpcm check` read): its warning, or, where the policy says so
    (`consent_decision.at_sharing: refuse`), Refused (exit 4, the due item's code: `consent-refused`,
    `consent-not-informed` or `consent-missing`) with nothing written. [] otherwise, and where the policy has no
    such rule."""
    if "consent_decision" not in ctx.policy.rules:
        return []
    found = consent_rules.case_work(case, ctx.policy, ctx.now)
    if found is None:
        return []
    age = case.age_on(ctx.now.date()) if ctx.policy.get("consent", "child_from_age") else None
    text = consent_rules.case_work_text(case.id, found, ctx.policy, consent_rules.givers(ctx.policy, age))
    rule = CASE_WORK_ITEMS[found.state][0]  # the due item's code
    if ctx.policy.get("consent_decision", "at_sharing") == "refuse":
        message = (f"{case.id}: {what} is refused while consent to registration is not settled ({found.result.why_not()}); "
                   "nothing was written")
        hint = f"{text}. Then run the command again (the agency's consent_decision.at_sharing is 'refuse')."
        if found.state == "refused":
            raise Refused(message, hint, rule="consent-refused")
        if found.state == "not_informed":
            raise Refused(message, hint, rule="consent-not-informed")
        raise Refused(message, hint, rule="consent-missing")
    return [f"{case.id}: {what} goes ahead, but consent to registration is not settled ({rule}): {text}"]


STEP_WORDS = consent_rules.STEP_WORDS  # the steps in words (workflow/consent.py: `due` says them too)


def check_step_consent(ctx: Context, case_id: str, step: str | None, records: list[Record], act_first: bool = False,
                       what: str | None = None, at: datetime | None = None) -> tuple[consent_rules.ConsentCheck | None, list[str]]:
    """The consent a step of the case checks where the policy lists it (`consent.checked_at`: an
    assessment of a type, a placement into a setting), by the one rule referral calls
    (workflow/consent.py `check`, `at_step`): (the rule's answer, or None where the step checks
    none; the warnings for the worker). Refused (exit 4, `consent-required`) where the child or
    the caregiver refused, or could not give it, and no supervisor's override stands in; consent
    never recorded goes ahead with a warning. `act_first`: the child's safety comes first (an
    initial assessment at a risk answered the same day): never refused. `what`: the step in words.
    `at`: the time the step is recorded for (`--at`): the consent and the child's age as they stood
    then, as `check_consent` judges a referral's (`consent.as_of`)."""
    purpose = consent_rules.checked_purpose(ctx.policy, step)
    if purpose is None:
        return None, []
    what = what or STEP_WORDS.get(str(step), f"this {step}")
    moment, age = _judged_at(ctx, case_id, records, at)
    result = consent_rules.check(consent_rules.as_of(records, at) if at else records, purpose, None, ctx.policy, moment,
                                 child_age=age)
    verdict = consent_rules.at_step(result, act_first)
    rule = ctx.policy.rules["consent"]
    roles, bases = rule.get("override_roles", ("supervisor", "manager")), rule.get("override_bases", ())
    override = (f"a {' or '.join(roles)} records an override with its basis: cpcm consent {case_id} --override "
                f"--purpose {purpose} --basis {'|'.join(bases)} --reason ... (cpcm consent --help)")
    if verdict == "refuse":
        givers = " ".join(f"--by {giver}" for giver, _status, _id in result.refusals)
        answers = ", ".join(record_id for _giver, _status, record_id in result.refusals)
        raise Refused(f"{case_id}: {what} needs consent for {purpose}, checked again at each step (ESARO P6): "
                      f"{result.why_not()} (recorded in {answers}), and no supervisor's override stands in",
                      f"To go ahead without it, {override}. Where the answer has changed, record it: cpcm consent {case_id} "
                      f"--purpose {purpose} {givers} --status given --explained all. Nothing was written.",
                      rule="consent-required")
    if verdict == "go":
        if not result.override:
            return result, []
        chosen = next(r for r in records if r.id == result.override)
        return result, [f"consent for {purpose}: {result.why_not()}; override {chosen.id} ({chosen.body.get('basis')}, "
                        f"recorded by {chosen.by}) stands in, and {what} uses it"]
    if result.refusals:  # act_first: the child's safety comes first
        return result, [f"consent for {purpose}: {result.why_not()}: {what} goes ahead, the child's safety first "
                        f"(IAG §3 Step 2); acting on without it: {override}"]
    return result, [f"no valid consent for {purpose} on file ({result.why_not()}): {what} goes ahead; record it: cpcm consent "
                    f"{case_id} --purpose {purpose} {' '.join(f'--by {g}' for g in result.wanting)} --status given --explained all"]


def relied_on(body: dict, result: consent_rules.ConsentCheck | None) -> dict:
    """A step's record body with the consent or override records it relies on (`consent_ids`, and
    `consent_override`), as a referral's: an override stands in once (workflow/consent.py
    `used_ids`). Nothing is added where the step went ahead without valid consent."""
    if result is not None and result.ok and result.uses:
        body["consent_ids"] = list(result.uses)
        if result.override:
            body["consent_override"] = result.override
    return body


@writes
def service_add(ctx: Context, data: Mapping[str, Any]) -> dict:
    ctx.need_worker()
    services = directory.load(ctx.store)
    form = forms.load(form_for(ctx, "service"), ctx.root)
    entry, errors = _service_entry(form, data, ctx.now.date(), services, wording(ctx, form))
    if errors:
        raise InvalidInput(errors, "service")
    with transaction(ctx, "service-add") as tx:
        tx.replace_file(SERVICES, directory.dump(services + [entry]))
        tx.commit(f"service add {entry['id']}")
    return entry


@writes
def service_update(ctx: Context, service_id: str, data: Mapping[str, Any]) -> tuple[dict, list[str]]:
    """`cpcm service update ID --set FIELD=VALUE ...`: a directory entry changed (an agreement renewed:
    contract.end; a new contact), the fields given laid over it (an empty value removes one), checked as
    a new entry is, in one commit (`service update ID`). The id stays. (the entry, the fields changed)"""
    ctx.need_worker()
    services = directory.load(ctx.store)
    current = directory.find(services, service_id)
    if current is None:
        raise NotFound("no service by that id in the directory", "See cpcm service list.")
    what = f"service {service_id}"
    given = flatten(data)
    errors = [FieldError("id", "stays as it is: add a new entry for another id") for path in given if path == "id"]
    if not given:
        errors.append(FieldError("(fields)", "none given: give the fields that change (--set contract.end=2027-12-31)"))
    if errors:
        raise InvalidInput(errors, what)
    others = [s for s in services if s.get("id") != service_id]
    form = forms.load(form_for(ctx, "service"), ctx.root)
    entry, errors = _service_entry(form, laid_over(current, data), ctx.now.date(), others, wording(ctx, form))
    if errors:
        raise InvalidInput(errors, what)
    before, after = flatten(current), flatten(entry)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if not changed:
        raise Refused(f"{what}: the values given are those the directory holds; nothing was written",
                      f"See it: cpcm service show {service_id}", rule="nothing-to-update")
    with transaction(ctx, "service-update") as tx:
        tx.replace_file(SERVICES, directory.dump(others + [entry]))
        tx.commit(f"service update {service_id}")
    return entry, changed


def _service_entry(form, data: Mapping[str, Any], today, existing: list[dict], words: Wording) -> tuple[dict, list[FieldError]]:
    """A directory entry from `data` and every problem with it at once: the form's, then the
    directory's own (`check_entry`) on the fields the form did not already name. `words`: the
    repository's language (a choice by its words, the refusals)."""
    entry, errors = validate(form, data, today, wording=words)
    named = {e.field for e in errors}
    return entry, errors + [e for e in directory.check_entry(entry, existing) if e.field not in named]


@writes
def service_import(ctx: Context, text: str, dry_run: bool = False) -> list[dict]:
    """Import many services from CSV: every row is checked first; one bad row and nothing is written."""
    ctx.need_worker()
    services = directory.load(ctx.store)
    form = forms.load(form_for(ctx, "service"), ctx.root)
    words = wording(ctx, form)
    entries, errors = [], []
    rows = directory.read_csv(text)
    for number, row in zip(rows.numbers, rows):  # as a spreadsheet numbers them: row 1 is the header
        entry, row_errors = _service_entry(form, row, ctx.now.date(), services + entries, words)
        errors += [FieldError(f"row {number}: {e.field}", e.reason) for e in row_errors]
        entries.append(entry)
    if errors:
        raise InvalidInput(errors, "the CSV file", "Correct the rows named above; nothing was imported.")
    if not entries:
        raise InvalidInput([FieldError("rows", "the file has a header but no services")], "the CSV file")
    if not dry_run:
        with transaction(ctx, "service-import") as tx:
            tx.replace_file(SERVICES, directory.dump(services + entries))
            tx.commit(f"service import {len(entries)} services")
    return entries


def service_get(ctx: Context, service_id: str) -> dict:
    found = directory.find(directory.load(ctx.store), service_id)
    if found is None:
        raise NotFound("no service by that id in the directory", "See cpcm service list.")
    return found


def service_gaps(ctx: Context) -> list[dict]:
    """Needs in open cases' latest assessments and plans that no service in the directory
    answers: the gaps to raise with the referral network (counts only)."""
    services = directory.load(ctx.store)
    counts: dict[str, set[str]] = {}
    # a case at a time, then each one's content, a shard of the record table at a time
    for case_id in by_record_shard(ctx, [c.id for c in CaseStream(ctx) if c.status == "open"]):
        details = case_content(ctx, case_id)
        needs = details["needs"] + [a.get("what", "") for a in (details["plan"] or {}).get("actions", []) if a.get("mode") == "referral"]
        for need in needs:
            if not any(directory.matches(need, s) for s in services):
                counts.setdefault(need.strip().lower(), set()).add(case_id)
    return sorted(({"need": need, "cases": len(ids)} for need, ids in counts.items()), key=lambda g: (-g["cases"], g["need"]))


@writes
def refer(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None,
          also: Sequence[FieldError] = ()) -> Written:
    """Refer a case to a service, from the referral form's fields (`cpcm form blank referral`:
    `service`, `need`, `urgent`, `accompany`, `checks.<check>`, `action`), as the options, a
    file or the questions give them: only with valid consent for that agency (or an override),
    and carrying only what the policy's sharing rule allows for the service's sector. `also`:
    what the command found wrong beside the form (a --check that is none of the checks), named in
    the same refusal."""
    from cpcm.workflow import plan_actions, referrals as referral_rules

    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    check_step(ctx, case, "referral")  # the stage before the form: no field makes a step allowed
    services = directory.load(ctx.store)  # read once: the check of the service named and the service itself
    body = validate_form(ctx, form_for(ctx, "referral"), data, named_record("referral", case=case_id), also=[*also, *at_errors(ctx, case, at)],
                         then=lambda body: _referral_errors(ctx, case, body, services))
    service = directory.find(services, body["service"])  # in it: _referral_errors names a service that is not
    need = body["need"].strip()
    action = plan_actions.parse_action(body["action"]) if body.get("action") else None
    checks = [c for c in referral_rules.CHECKS[:4] if (body.get("checks") or {}).get(c) is True]
    consent_ok = check_consent(ctx, case_id, "referral", service["id"], records, at=at)
    unsettled = case_work_consent(ctx, case, "the referral")
    sector = referral_rules.fields_to_share(ctx.policy, service.get("sector", ""))
    groups, left_out = (sector, []) if consent_ok.override else \
        referral_rules.within_consent(sector, [r for r in records if r.id in consent_ok.uses])
    urgent = body.get("urgent") is True
    body = {
        "service": service["id"], "sector": service.get("sector"), "need": need, "urgent": urgent,
        "accompany": body.get("accompany") is True, "checks": {c: True for c in checks}, "consent_ids": list(consent_ok.uses),
        "shared_groups": groups, "shared": referral_rules.shared_view(groups, case, need, urgent, ctx.now.date()),
    }
    if consent_ok.override:
        body["consent_override"] = consent_ok.override
    if action is not None:
        body["plan_action"] = {"plan": case.plan["record_id"], "action": action}
    record = append(ctx, case, "refer", "referral", body, at)
    ref = f"R{len(case.referrals) + 1}"
    narrowed = [f"referral {ref} does not carry {', '.join(g for g in sector if g not in groups)}, which the policy's sharing rule "
                f"gives the {body['sector'] or 'default'} sector: "
                + "; ".join(f"the {c.body.get('given_by')}'s consent ({c.id}) does not list {', '.join(e)} as shareable" for c, e in left_out)
                + f". It carries {', '.join(groups) or 'nothing about the child'}. Where more was agreed, record that consent "
                f"(cpcm consent {case_id} --purpose referral --agency {service['id']} --share GROUP ...) before the next referral; "
                "docs/workflow.md (Sharing)"] if left_out else []
    return Written(case_id, record.id, "referral",
                   warnings=tuple([f"consent overridden ({consent_ok.why_not()})"] if consent_ok.override else []) + tuple(narrowed)
                   + tuple(contract_ended(ctx, service, utc(record.at))) + tuple(unsettled),
                   next_steps=(f"referral {ref}: feedback from the provider (accepted or declined) "
                               + (f"is expected within {ctx.policy.cited('referral_feedback')}" if at is None else  # dated back:
                                  due_said(ctx, feedback_due({"at": record.at}, ctx.policy, ctx.zone)))  # its due time
                               + f": cpcm referral {case_id} {ref} --status accepted|declined ... "
                               f"('acknowledged' records only that it arrived: the feedback stays due)",))


def check_referable(ctx: Context, case_id: str, given: Mapping[str, Any], at: datetime | None = None) -> None:
    """What refuses a referral whatever the answers still to come, for `cpcm refer` to say before
    its first question (`gather`'s `first`): the case and its stage (`check_writable`) and, where
    the service is given already (an option, --set) and is in the directory, the consent for it
    (`check_consent`): no answer to the need or the checks changes either. A service not in the
    directory is left to the form's refusal, which asks it again."""
    from cpcm.service.context import check_write

    records = load_records(ctx, case_id)  # read once, for the stage and the consent (`check_writable`'s check, `check_consent`)
    check_write(ctx, fold(case_id, records), "referral", "referral", dict(given), at)
    found = directory.find(directory.load(ctx.store), given["service"]) if isinstance(given.get("service"), str) else None
    if found is not None:
        check_consent(ctx, case_id, "referral", found["id"], records, at=at)


# Translators: a check the policy asks before every referral (need_matched, say) not confirmed: the refusal, and
# what the question on it says when it is left unconfirmed; ESARO S4 (the standard) is kept as it is.
CHECK_REQUIRED = N_("is required before referring (ESARO S4)")
CHECK_ASKED = N_("the policy asks it before every referral (ESARO S4)")


def _referral_errors(ctx: Context, case, body: Mapping[str, Any], services: list[dict]) -> list[FieldError]:
    """What is wrong with a referral beside its form (`refer`), on the fields the form found good: a
    service that is not in the directory (the value is not repeated), a check the policy requires
    before referring (`referral_checks.required`, ESARO S4) not confirmed, a plan action that is
    none of the plan's (its latest version's or the one in force)."""
    from cpcm.workflow import plan_actions

    errors = []
    if body.get("service") and directory.find(services, body["service"]) is None:
        errors.append(FieldError("service", say_for(ctx)(NOT_A_SERVICE_ADD)))
    confirmed_ = body.get("checks") or {}
    errors += [FieldError(f"checks.{c}", say_for(ctx)(CHECK_REQUIRED))
               for c in ctx.policy.get("referral_checks", "required") or () if confirmed_.get(c) is not True]
    if body.get("action"):  # the action's ID (A2; a bare 2 means A2)
        ids = plan_actions.action_ids(case.plan, ctx.policy)
        if plan_actions.parse_action(body["action"]) not in ids:
            errors.append(FieldError("action", plan_actions.not_an_action(ids)))
    return errors


def contract_ended(ctx: Context, service: Mapping[str, Any], sent: str) -> list[str]:
    """The warning of a referral to a service whose agreement with the agency had ended when it was
    sent (`sent`, UTC: its `contract.end` before that day, in the agency's time zone; a referral
    recorded late with --at is judged on its own day): the referral is sent all the same (the
    child's need comes first), and the agreement is for a manager to renew or replace (IAG Step 4
    [L894]; the referrals report flags it too)."""
    from cpcm.workflow import referrals as referral_rules

    day = datetime.fromisoformat(sent).astimezone(ctx.zone)
    notice = ctx.policy.duration("service_contract", "notice")
    if referral_rules.contract_state(service, day.date(), notice.after(day).date()) != referral_rules.CONTRACT_ENDED:
        return []
    return [f"the agreement with {service['id']} ({service.get('provider')}) ended on {referral_rules.contract_end(service)} "
            f"(contract.end in the service directory): the referral is recorded all the same; ask a manager to renew or "
            f"replace the agreement (cpcm service update {service['id']} --set contract.end=DATE; cpcm report referrals)"]


def referral_writable(ctx: Context, case_id: str, ref: str, given: Mapping[str, Any] | None = None,
                      at: datetime | None = None) -> dict:
    """The referral `ref` of the case, once an update of it may be written whatever the answers
    still to come (`cpcm referral`'s questions, `gather`'s `first`): NotFound for no such case or
    referral; Refused where the case's stage takes no referral update, where the referral is closed
    (it takes no update), or where a status given (`given`, the options and --set) is one its
    lifecycle does not allow next; InvalidInput for an --at before the case's registration or its
    latest update. So nothing is typed for an update that cannot be written."""
    from cpcm.service.context import check_write
    from cpcm.workflow import referrals as referral_rules

    case = load_case(ctx, case_id)
    found = _found_referral(case, case_id, ref)
    check_write(ctx, case, "referral", "referral_update", {}, at)
    status = (given or {}).get("status")
    if isinstance(status, str) and status.strip() in referral_rules.STATUSES:  # a code as typed (a label is read by the form)
        referral_rules.next_status(found["status"], status.strip(), found["ref"])
    elif not referral_rules.LIFECYCLE.get(found["status"]):
        referral_rules.next_status(found["status"], "closed", found["ref"])  # closed: it can become nothing
    errors = _update_dated(ctx, found, at)
    if errors:
        raise InvalidInput(errors, named_record("referral_update", ref=found['ref'], case=case_id))
    return found


def _found_referral(case, case_id: str, ref: str) -> dict:
    """The referral `ref` (R1, r1) of `case`, or NotFound naming its referrals."""
    found = case.referral(ref)
    if found is None:
        raise NotFound(f"{case_id} has no referral by that reference", f"Its referrals: {', '.join(r['ref'] for r in case.referrals) or 'none'}.")
    return found


def _update_dated(ctx: Context, found: Mapping[str, Any], at: datetime | None) -> list[FieldError]:
    """The error of an update of the referral `found` dated `at` (--at) before its sending or its
    latest update, as a correction of an update is (`_dated_between`)."""
    if at is None:
        return []
    latest = found["history"][-1]
    return _dated_between(ctx, found["ref"], at, [(found["at"], "the referral was sent", -1)] + (
        [(latest["at"], "its latest update", -1)] if len(found["history"]) > 1 else []))


@writes
def referral(ctx: Context, case_id: str, ref: str, data: Mapping[str, Any], at: datetime | None = None) -> Written:
    """Move a referral along its lifecycle (acknowledged, accepted, declined, delivered,
    not_delivered, closed), with the provider's feedback, from the referral-update form's fields
    (`cpcm form blank referral-update`: `status`, `start`, `expected_duration`, `feedback`) as the
    options, a file or the questions give them. A status the referral cannot take next is refused
    (rule `referral-lifecycle`) before any field is judged: what it needs depends on it."""
    from cpcm.domain.durations import parse_duration
    from cpcm.workflow import referrals as referral_rules

    case = load_case(ctx, case_id)
    found = _found_referral(case, case_id, ref)
    check_step(ctx, case, "referral_update")  # the stage before the form: no field makes a step allowed
    sent = local_day(found["at"], ctx.zone)  # the day it was sent, in the agency's time zone

    def checked(body: Mapping[str, Any]) -> list[FieldError]:
        status = str(body.get("status") or "")
        if status:
            referral_rules.next_status(found["status"], status, found["ref"])
        errors = []
        typed = data.get("start")
        if isinstance(typed, str) and len(typed.strip()) > 10:  # a date-time: its date, once its time reads as one
            try:
                clock.parse_datetime(typed.strip(), "start")
            except UsageError:
                errors.append(FieldError("start", not_a_date(typed)))
        if body.get("expected_duration"):
            try:
                parse_duration(body["expected_duration"])
            except ValueError as exc:
                errors.append(FieldError("expected_duration", str(exc)))
        return errors + [e for e in referral_rules.update_problems(status, body, sent) if e.field not in {x.field for x in errors}]

    form = validate_form(ctx, form_for(ctx, "referral_update"), data, named_record("referral_update", ref=found['ref'], case=case_id),
                         also=_update_dated(ctx, found, at), then=checked)
    status = form["status"]
    body: dict[str, Any] = {"referral": found["record_id"], "status": status}
    if form.get("start"):
        body["start"] = str(form["start"])
    if form.get("expected_duration"):
        body["expected_duration"] = str(parse_duration(form["expected_duration"]))
    if form.get("feedback"):
        body["feedback"] = form["feedback"]
    settles = settled_by(case, "referral_update", body)  # the referral updated again after a sync found it updated apart
    record = append(ctx, case, "referral", "referral_update", body, at)
    steps = []
    if status == "acknowledged":  # the provider has it, and has not answered: the feedback clock runs on
        steps.append(f"the provider's feedback (accepted or declined) is still expected within {ctx.policy.cited('referral_feedback')} of the "
                     f"referral, and stays on cpcm due until then: cpcm referral {case_id} {found['ref']} --status accepted|declined ...")
    if status in referral_rules.NEEDS_WORKER:
        steps.append(_another_way(case_id, found["ref"], transitions.next_stage(case.stage, "referral_update") or case.stage))
    return Written(case_id, record.id, "referral_update", next_steps=tuple(steps) + settles_step(settles),
                   extra={"status": status}, settled=said_settled(case_id, settles))


def _another_way(case_id: str, ref: str, stage: str | None) -> str:
    """The next step after a referral declined or not delivered: find another service or replan, with
    only the commands the case's `stage` allows (transitions.TABLE: a closure requested allows no new
    referral nor plan version; workflow.md, Only what the stage allows)."""
    ways = [words for command, words in (("referral", "cpcm refer"), ("plan", "cpcm plan"))
            if transitions.next_stage(stage, command) is not None]
    if ways:
        return f"find another service or replan; the case stays yours: {', '.join(['cpcm service list', *ways])}"
    first = (f"reject the closure first (or, as the one who asked for it, withdraw the request: cpcm close {case_id} --withdraw "
             "--reason ...)" if stage == "closure_requested" else "see what it allows: cpcm show " + case_id)
    return (f"the case's stage ({stage}) allows no new referral nor plan version: to find another service or replan, {first}; "
            f"or close the referral with the reason: cpcm referral {case_id} {ref} --status closed")


# -- corrections (cpcm correct CASE R1@declined / RECORD-ID; service/cases.py correct) ---------------
UPDATE_FIELDS = ("status", "start", "expected_duration", "feedback")  # what `cpcm referral` records: a correction gives these
REFERRAL_FIELDS = ("need", "urgent", "accompany")  # what the worker typed to `cpcm refer`; the rest is the directory's or computed


def update_corrected(ctx: Context, case_id: str, records: list[Record], original: Record, data: Mapping[str, Any],
                     at: datetime | None) -> tuple[dict, list[FieldError]]:
    """A referral update as corrected (`cpcm correct CASE R1@declined --set status=accepted ...`):
    its fields (`status`, `start`, `expected_duration`, `feedback`) with `data` laid over them,
    checked as `cpcm referral` checks an update at that point of the referral's history: the
    status it had before this update (`sent`, or the update before it in force) may become the
    corrected one, and the corrected one may become the status of the update after it (Refused,
    rule `referral-lifecycle`, naming that update); an acceptance has its start and expected
    duration, an outcome its feedback, a start is not before the day it was sent. A corrected
    time (`at`) stays between the referral's sending and the updates before and after it.
    (the body, the field errors)"""
    from cpcm.domain.durations import parse_duration
    from cpcm.workflow import referrals as referral_rules
    from cpcm.workflow.fold import effective

    current = effective(records)
    ours = next((r for r in current if r.id == original.id), original)  # its `referral` read through a correction of it
    target = str(ours.body.get("referral") or "")
    case = fold(case_id, records)
    entry = next((r for r in case.referrals if r["record_id"] == target), None)
    if entry is None:
        raise NotFound(f"{case_id}: the referral {original.id} moves along is not among its referrals",
                       f"See cpcm log {case_id}.")
    from cpcm.service.cases import correction_named

    ref, what = entry["ref"], f"correction of {correction_named(records, original)}"
    base = {k: v for k, v in original.body.items() if k not in CORRECTION_KEYS}
    errors, given, unnamed = [], {}, 0
    for key, value in data.items():
        if key == "referral":
            errors.append(FieldError("referral", f"names the referral this update moves along ({ref}): it is not corrected; "
                                                 f"an update of another referral is recorded with cpcm referral {case_id} R2 ..."))
        elif key in UPDATE_FIELDS:
            given[key] = value
        else:
            unnamed += 1
    if unnamed:
        errors.append(unnamed_keys(unnamed, "a referral update", UPDATE_FIELDS))
    body = laid_over(base, given)
    if "start" in given and not is_empty_value(given["start"]):
        try:
            body["start"] = clock.parse_datetime(str(given["start"]), "start").date().isoformat()
        except UsageError:
            errors.append(FieldError("start", not_a_date(str(given["start"]))))
    if "expected_duration" in given and not is_empty_value(given["expected_duration"]):
        try:
            body["expected_duration"] = str(parse_duration(str(given["expected_duration"])))
        except ValueError as exc:
            errors.append(FieldError("expected_duration", str(exc)))
    if "feedback" in given and not is_empty_value(given["feedback"]):
        if isinstance(given["feedback"], str):
            body["feedback"] = given["feedback"].strip()
        else:
            errors.append(FieldError("feedback", "is text: what the provider said"))
    status = str(body.get("status") or "")
    if errors:
        raise InvalidInput(errors, what)
    # the status machine at this update's place: the status before it, and the update after it
    updates = [r for r in current if r.kind == "referral_update" and r.body.get("referral") == target]
    index = next(i for i, r in enumerate(updates) if r.id == original.id)
    before = updates[index - 1] if index else None
    after = updates[index + 1] if index + 1 < len(updates) else None
    was = str(before.body.get("status")) if before else "sent"
    if status not in referral_rules.STATUSES[1:]:
        raise Refused(f"referral {ref}: status is not a referral status", f"Statuses: {', '.join(referral_rules.STATUSES[1:])}.",
                      rule="referral-status")
    if status not in referral_rules.LIFECYCLE.get(was, ()):
        since = f"by its update {before.id}" if before else "when it was sent"
        raise Refused(f"referral {ref} of {case_id} was '{was}' {since}: this update cannot make it '{status}'",
                      f"From '{was}' it can become: {', '.join(referral_rules.LIFECYCLE.get(was, ())) or 'nothing'}. "
                      f"To change that status too, correct the update before this one first (cpcm log {case_id}).",
                      rule="referral-lifecycle")
    if after is not None and after.body.get("status") not in referral_rules.LIFECYCLE.get(status, ()):
        later = str(after.body.get("status"))
        raise Refused(f"referral {ref} of {case_id}: made '{status}', this update would make its later update {after.id} "
                      f"('{later}') impossible: from '{status}' it cannot become '{later}'",
                      f"From '{status}' it can become: {', '.join(referral_rules.LIFECYCLE.get(status, ())) or 'nothing'}. "
                      f"Correct the later update first (cpcm correct {case_id} {after.id} --set status=... --reason ...), "
                      f"or give a status it can follow.", rule="referral-lifecycle")
    sent = local_day(entry["at"], ctx.zone)
    errors += referral_rules.update_problems(status, body, sent)
    if at is not None:
        bounds = [(entry["at"], "the referral was sent", -1)]
        if before is not None:
            bounds.append((before.at, f"its update before this one ({before.id})", -1))
        if after is not None:
            bounds.append((after.at, f"its update after this one ({after.id})", 1))
        errors += _dated_between(ctx, ref, at, bounds)
    return body, errors


def _dated_between(ctx: Context, ref: str, at: datetime, bounds: list[tuple[str, str, int]]) -> list[FieldError]:
    """The error of an update of referral `ref` dated `at` outside its `bounds` ((when, what it is,
    -1: not before it, 1: not after it)): a referral's updates are dated in the order they happen,
    from its sending on, so that its history reads as the provider answered."""
    moment = at.astimezone(timezone.utc)
    for when, words, side in bounds:
        edge = datetime.fromisoformat(when).astimezone(timezone.utc)
        if (side < 0 and moment < edge) or (side > 0 and moment > edge):
            return [FieldError("at", f"is {'before' if side < 0 else 'after'} {words} ({local_text(when, ctx.zone)}): "
                                     f"an update of referral {ref} is dated {'then or later' if side < 0 else 'then or earlier'}")]
    return []


def referral_corrected(ctx: Context, case_id: str, records: list[Record], original: Record, data: Mapping[str, Any],
                       at: datetime | None) -> tuple[dict, list[FieldError]]:
    """A referral as corrected (`cpcm correct CASE R1 --set need=...`): what the worker typed to
    `cpcm refer` (`need`, `urgent`, `accompany`, and `action`: the plan action it carries out, or
    empty for none), with what it shares made again from them (the need and the urgency its letter
    carries, where the referral shares them). A yes-or-no is read as the referral form reads it, in
    the repository's language (ndiyo, hapana in Kiswahili). The service is not
    corrected (a referral to another service is another referral), nor the checks confirmed before
    it was sent (it was sent on them), nor what `cpcm refer` set from the directory, the consent and
    the policy, nor when it was sent: the consent it was sent on and the provider's feedback clock
    count from then. (the body, the field errors)"""
    base = {k: v for k, v in original.body.items() if k not in CORRECTION_KEYS}
    ref = next((r["ref"] for r in fold(case_id, records).referrals if r["record_id"] == original.id), "R1")
    errors, given, unnamed = [], {}, 0
    for key, value in data.items():
        if key in REFERRAL_FIELDS:
            given[key] = value
        elif key == "action":  # `cpcm refer --action A2`: the plan action it carries out, kept as `plan_action`
            given[key] = value
        elif key == "status":  # moved along by its updates: each is corrected by its own name (R1@declined)
            entry = next((r for r in fold(case_id, records).referrals if r["record_id"] == original.id), None) or {}
            last = (entry.get("history") or [{}])[-1].get("status", "sent")
            errors.append(FieldError("status", f"is moved along by the referral's updates: correct the update that recorded it "
                                               f"(cpcm correct {case_id} {ref}@{last} --set status=... --reason ...)"
                                     if last != "sent" else
                                     f"is moved along by the referral's updates, and {ref} has none: cpcm referral {case_id} "
                                     f"{ref} --status ..."))
        elif key == "service":
            errors.append(FieldError("service", f"is not corrected: a referral to another service is another referral; close "
                                                f"this one (cpcm referral {case_id} {ref} --status closed) and refer again "
                                                f"(cpcm refer {case_id} --service ...)"))
        elif key == "checks":  # answered by the worker, but the referral was sent on them (ESARO S4, referral_checks.required)
            errors.append(FieldError("checks", f"are not corrected: they are what was confirmed before {ref} was sent (ESARO S4), "
                                               f"and it was sent on them; a check found not done is put right beside it in a "
                                               f"note (cpcm note {case_id} --text ...)"))
        elif key in base:
            errors.append(FieldError(key, "cannot be changed by a correction (it is set by cpcm refer from the directory, "
                                          "the consent and the policy)"))
        else:
            unnamed += 1
    if unnamed:
        errors.append(unnamed_keys(unnamed, "a referral", REFERRAL_FIELDS + ("action",)))
    if at is not None:
        errors.append(FieldError("at", "when a referral was sent is not corrected: the consent it was sent on and the provider's "
                                       "feedback clock count from it; close it and refer again with --at"))
    body = dict(base)
    if "need" in given:
        need = given["need"].strip() if isinstance(given["need"], str) else ""
        if given["need"] and not isinstance(given["need"], str):
            errors.append(FieldError("need", "is text: the need this referral answers"))
        elif not need:
            errors.append(FieldError("need", "is required: the need this referral answers, as a need"))
        body["need"] = need
    form = forms.load(form_for(ctx, "referral"), ctx.root)
    for key in ("urgent", "accompany"):  # read as `cpcm refer` reads them: the form's yes-or-no, in the repository's language
        if key in given:
            field = form.field(key)
            field = field if field is not None and field.type == "boolean" else Field(key, "boolean", False, (), {}, {})
            value, reason = coerce(field, given[key], ctx.now.date(), wording=wording(ctx, form))
            if reason is None:
                body[key] = value
            else:
                errors.append(FieldError(key, reason))
    if "action" in given:
        errors += _action_corrected(ctx, fold(case_id, records), body, given["action"])
    shared = dict(base.get("shared") or {})
    groups = base.get("shared_groups") or []
    if "need" in groups:
        shared["need"] = body.get("need")
    if "urgency" in groups:
        shared["urgency"] = "urgent" if body.get("urgent") else "routine"
    if "shared" in base:
        body["shared"] = shared
    return body, errors


def _action_corrected(ctx: Context, case, body: dict, value: Any) -> list[FieldError]:
    """The plan action a referral carries out, corrected in `body` (`plan_action`, as `refer
    --action` writes it, naming the plan version it is an action of): an action of the latest plan
    version or of the one in force, as `refer --action` takes; empty, the referral carries out none.
    The field errors."""
    from cpcm.workflow import plan_actions

    if is_empty_value(value) or (isinstance(value, str) and not value.strip()):
        body.pop("plan_action", None)
        return []
    action = plan_actions.parse_action(value)
    ids = plan_actions.action_ids(case.plan, ctx.policy)
    if action is None or action not in ids:
        return [FieldError("action", plan_actions.not_an_action(ids) + "; empty for none")]
    body["plan_action"] = {"plan": case.plan["record_id"], "action": action}
    return []


def is_empty_value(value: Any) -> bool:
    return value is None or value == ""
