"""Cases: cpcm register, assign, show (a case, or one record of it), list, log, note, update
(the registration details), correct (any record, by a record that supersedes it) and repair (a
damaged record)."""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from cpcm.domain.case import Case
from cpcm.domain.forms import Form, is_empty, laid_over, not_on_form, shown_words, validate, with_kept_choices
from cpcm.domain.setpaths import as_set, put_correction
from cpcm.domain.policy import Policy
from cpcm.domain.ids import new_case_id, normalise_case_id, record_id_millis
from cpcm.domain.records import CORRECTION_KEYS, Record, flatten, get_path, utc
from cpcm.domain.text import said, shown
from cpcm.domain.dates import is_date_only, json_time, json_times, local_day, parse_datetime
from cpcm.errors import N_, CannotDecrypt, CpcmError, FieldError, InvalidInput, NotFound, Refused, UsageError, named_record, restore_hint
from cpcm.service.context import (CaseStream, Context, append, assignment_checks, input_hint, case_content, caseload_warnings, new_case_checks, refuse_or_warn, check_readable, form_for, keys_for, load_case,
                                  load_index, load_records, new_record, read_case, readers_for, recipients_bytes, reencrypt,
                                  transaction, writes)
from cpcm.service.context import CADRE_OVER_MAX, AssignCheck, at_errors, case_covers, check_step, clock_said, restricted_either, decided_changes, check_at, check_cover, check_on_disk, clock_behind, end_expired_covers, locked, note_clock, note_corrected, note_settled, risk_reason_errors, unnamed_keys, with_settled, workers_taken
from cpcm.service import lookup
from cpcm.service.planning import said_settled, settles_step
from cpcm.service.misfiled import refuse_if_misfiled
from cpcm.service.results import Written
from cpcm.service.wording import option_code, say_for, wording
from cpcm.service.worklist import due, manages_list
from cpcm.store import forms
from cpcm.store.layout import RECIPIENTS, RECORD_FILE, case_dir, case_rel, history_rels
from cpcm.workflow import consent as consent_rules
from cpcm.workflow import cover as cover_rules
from cpcm.workflow import approvals, open_items, rules, siblings, transitions
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow.age import BY_REGISTRATION, BY_REGISTRATION_TIME, age_limit, born_after, of_age, registered_before_birth
from cpcm.workflow.duplicates import key_of, probable_duplicates
from cpcm.workflow.fold import MISFILED, MOVED_FROM, NOTE_SCHEMA, NOTE_SETTLES, apply_update, effective, fold, misfiled, places, settled_by, settled_conflicts, superseded_ids, UPDATES_CONCURRENT
from cpcm.workflow.fold import conference_version
from cpcm.workflow import placements as path_rules
from cpcm.workflow import readiness as readiness_rules
from cpcm.workflow.placements import lives_now, lives_with_now, update_stands
from cpcm.workflow import retention as retention_rules


def validate_registration(ctx: Context, data: Mapping[str, Any]) -> dict:
    form = forms.load(form_for(ctx, "registration"), ctx.root)
    body, errors = validate(form, data, ctx.now.date(), [w.id for w in ctx.team.active], wording(ctx, form))
    if errors:  # where a field is missing and only options were given: how the form's fields are given
        raise InvalidInput(errors, named_record("registration"), hint=input_hint(ctx, errors))
    body.setdefault("worker", ctx.need_worker().id)
    return body


# Translators: the way out of BORN_AFTER (workflow/age.py) where an update gives the date of birth, said after it in
# brackets; %(case)s is a case ID, and the command after the colon is kept as it is.
BORN_AFTER_TIME_WRONG = N_("if the date of birth is right, the registration's time is wrong: cpcm correct %(case)s "
                           "registration --at WHEN --reason ...")
# Translators: as above, where a correction of the registration gives either date; --at WHEN is kept as it is.
BORN_AFTER_EITHER = N_("correct the date of birth, or the registration's time with --at WHEN")
# Translators: an update of a case's details given no --reason.
REASON_REQUIRED = N_("is required: say why the details changed")


def born_after_registered(ctx: Context, case: Case, body: Mapping[str, Any], day: date | None = None,
                          given_by: str = BY_REGISTRATION, how: str = BORN_AFTER_TIME_WRONG) -> list[FieldError]:
    """`born_after` for a date of birth that an update or a correction gives (`body`: the registration
    as it would stand) against the day `case` was registered (`day`: a registration's time as
    corrected, else the case's, in the agency's time zone): neither writes what `cpcm register` and
    `cpcm import cases` refuse. The way out (`how`; by default the registration's time, corrected,
    where the date of birth is right) is said after the rule's words; the field named, no date. Said
    in the repository's language (`say_for`): `given_by` and `how` are messages marked for the
    catalogs (an option, --at, is said as it is)."""
    say = say_for(ctx)
    before = registered_before_birth(case, ctx.zone, say, body, day, given_by)
    if before is None:
        return []
    return [replace(before, reason=f"{before.reason} ({say(how) % {'case': case.id}})")]


def sibling_fields(ctx: Context, case_id: str) -> dict[str, Any]:
    """The family and home part of `case_id`'s registration, as updated (`siblings.family_part`:
    where the child lives, who with, the caregiver, the contact, how identified, where registered),
    as dotted path -> value: what a sibling's registration starts from. NotFound (no such case) or
    CannotDecrypt (the worker does not read it): nothing of it is given to a worker who cannot."""
    return siblings.family_part(fold(case_id, load_records(ctx, case_id)).registration or {})


@writes
def register(ctx: Context, data: Mapping[str, Any], at: datetime | None = None, sibling_of: str | None = None) -> Written:
    """Validate and record a registration; a new case with its own random ID. With `sibling_of`
    (a case the worker reads), the new case and `sibling_of` (and each sibling's case that
    `sibling_of` lists and the worker reads: the group) get a `case_link` record naming the other
    as a sibling, in the registration's commit; the siblings' cases not read are named in a next step."""
    ctx.need_worker()
    if sibling_of is not None:
        check_readable(ctx, sibling_of)  # before anything: a case the worker cannot read is not linked to
    body = validate_registration(ctx, data)
    late = at_errors(ctx, None, at)  # in the future (a new case has no cycle yet)
    if late:
        raise InvalidInput(late, named_record("registration"))
    if at is not None and (before := born_after(body, at.astimezone(ctx.zone).date(), "--at", say_for(ctx))):
        raise InvalidInput([before], named_record("registration"))
    case_id = new_case_id()
    while _taken(ctx, case_id):
        case_id = new_case_id()
    record = new_record(ctx, "registration", case_id, body, at)
    case = fold(case_id, [record])
    look, duplicates, about, cases = new_case_duplicates(ctx, case)
    _, checks = assignment_checks(ctx, case_id, case.worker, risk=case.risk, cases=cases,
                                  count=lookup.caseload(look, case.worker) if look is not None else None)
    warnings = new_case_checks(checks, case_id, named=isinstance(data, Mapping) and bool(data.get("worker")))
    readers = readers_for(ctx, case)
    links: tuple[Record, ...] = ()
    linked: list[str] = []
    unread: list[str] = []
    if sibling_of is not None:  # CASE, and the siblings CASE lists that the worker reads: the whole group
        known = _sibling_ids(load_records(ctx, sibling_of))
        me, last = ctx.need_worker().id, record.id
        for other_id in dict.fromkeys([sibling_of, *known]):
            if other_id != sibling_of and not (ctx.store.exists(other_id) and me in ctx.store.recipients(other_id)):
                unread.append(other_id)
                continue
            other = load_case(ctx, other_id)
            mine = new_record(ctx, "case_link", case_id, siblings.link_body(other_id), after=last)
            theirs = new_record(ctx, "case_link", other_id, siblings.link_body(case_id),
                                after=max(mine.id, other.history[-1].id if other.history else ""))
            links, last = links + (mine, theirs), theirs.id
            linked.append(other_id)
    with transaction(ctx, "register") as tx:
        tx.replace_file(f"{case_rel(case_id)}/{RECIPIENTS}", recipients_bytes(readers))
        tx.write_record(record, keys_for(ctx, readers))
        for link in links:  # the sibling links ride in the registration's commit
            tx.write_record(link, keys_for(ctx, readers if link.case == case_id else ctx.store.recipients(link.case)))
        tx.commit(f"register {case_id} {record.id}")
    if look is not None:
        try:
            lookup.after_register(ctx, look, case_id, case, ctx.need_worker().id in readers)
        except (OSError, lookup.Unusable):
            pass  # the index is a cache: the next registration brings it up to date, or makes it again
    warnings = [*warnings, *over_age(ctx, case_id, case, parse_datetime(record.at).date()), *_not_informed(ctx, case_id, body)]
    steps = _registered_steps(ctx, case_id, body, record.at, case, dated=at)
    steps += [f"{other_id} is a sibling's case that you cannot read, so it is not linked: its worker, a supervisor or a "
              f"manager links it: cpcm link {case_id} {other_id} --sibling" for other_id in unread]
    return Written(case_id, record.id, "registration", tuple(warnings), tuple(steps),
                   extra={"possible_duplicates": duplicates_said(ctx, duplicates, about),
                          **({"sibling_of": sibling_of, "siblings": linked} if sibling_of is not None else {})},
                   json_keys=("subject", "record_id", "warnings", "next_steps"))


@writes
def link_siblings(ctx: Context, case_id: str, other_id: str, removed: str | None = None) -> Written:
    """Record that two registered cases are siblings' (`cpcm link A B --sibling`): a `case_link`
    record naming the other in each, in one commit `link A B`. The worker reads both cases.
    Refused when they are linked as siblings already (link-linked) or as two cases of one
    child (link-same-child: merge-cases linked them). With `removed` (why: `--remove --reason`),
    a link made by mistake is taken out: a `case_link` record in each marks it removed, in one
    commit `unlink A B`; refused when the two are not linked as siblings (link-not-linked)."""
    from cpcm.errors import UsageError

    ctx.need_worker()
    if case_id == other_id:
        raise UsageError("A and B are the same case", "Give the two siblings' cases: cpcm link A B --sibling")
    if removed is not None and not removed.strip():
        raise InvalidInput([FieldError("reason", "is required with --remove: say why the link was wrong")], f"link {case_id} {other_id}")
    for each in (case_id, other_id):
        check_readable(ctx, each)
    if removed:  # written in both children's records: it names neither child nor family (case IDs only)
        from cpcm.service.conferences import names_in

        if names_in(ctx, {"reason": removed}, (case_id, other_id)):
            raise InvalidInput([FieldError("reason", "holds a name registered for one of the two cases: it is written in both "
                                                     "children's records; name a child by case ID only")],
                               f"link {case_id} {other_id}")
    first, second = load_records(ctx, case_id), load_records(ctx, other_id)
    mine = {(link["case_id"], link["relation"]) for link in case_links(first)}
    theirs = {(link["case_id"], link["relation"]) for link in case_links(second)}
    linked = (other_id, siblings.RELATION) in mine or (case_id, siblings.RELATION) in theirs
    if removed is None and linked:
        raise Refused(f"{case_id} and {other_id} are linked as siblings already; nothing was written",
                      f"See the links: cpcm show {case_id}", rule="link-linked")
    if removed is not None and not linked:
        raise Refused(f"{case_id} and {other_id} are not linked as siblings; nothing was written",
                      f"See the links: cpcm show {case_id} (a sibling linked through another case is unlinked from that case)",
                      rule="link-not-linked")
    if removed is None and (any(c == other_id for c, _ in mine) or any(c == case_id for c, _ in theirs)):
        raise Refused(f"{case_id} and {other_id} are two cases of one child (merge-cases linked them), not siblings; "
                      "nothing was written", f"See the links: cpcm show {case_id}", rule="link-same-child")
    last_first = max((r.id for r in first), default="")
    last_second = max((r.id for r in second), default="")
    with transaction(ctx, "link") as tx:
        a = new_record(ctx, "case_link", case_id, siblings.link_body(other_id, removed), after=last_first)
        b = new_record(ctx, "case_link", other_id, siblings.link_body(case_id, removed), after=max(a.id, last_second))
        tx.write_record(a, keys_for(ctx, ctx.store.recipients(case_id)))
        tx.write_record(b, keys_for(ctx, ctx.store.recipients(other_id)))
        tx.commit(f"{'link' if removed is None else 'unlink'} {case_id} {other_id}")
    return Written(case_id, (a.id, b.id), "case_link", extra={"sibling": other_id, "removed": removed is not None})


def new_case_duplicates(ctx: Context, case: Case) -> tuple[lookup.Lookup | None, tuple[tuple[str, str], ...], Callable[
        [str], tuple[str | None, str | None] | None], Mapping[str, Case] | None]:
    """The possible duplicates of a case new here (`register`, `receive`: `case`, under the ID it gets), as
    (the split index asked or None, (case ID, reason) for each, `duplicates_said`'s `about`, every case's index entry
    or None). From the split index of a write (service/lookup.py: the new child's buckets, each duplicate's status and
    merged_into as it holds them; its caseloads serve the assignment's check) where it serves, else from every case
    with only the fields of the checks (`load_index`, which the caseload check counts then): memory does not grow
    with the repository when the index serves."""
    if lookup.usable(ctx):
        look, found = lookup.duplicates_of(ctx, lookup.current(ctx), key_of(case), exclude=case.id)
        return look, tuple(found), look.about, None
    cases = load_index(ctx)
    return None, tuple(probable_duplicates(case, cases.values())), held_about(cases), cases


def held_about(cases: Mapping[str, Case]) -> Callable[[str], tuple[str | None, str | None] | None]:
    """`duplicates_said`'s `about` over cases read already (`cases`, by ID): a case's (status,
    merged_into), None for one not among them."""
    return lambda c: (cases[c].status, cases[c].merged_into) if c in cases else None


def duplicates_said(ctx: Context, found: Iterable[tuple[str, str]],
                    about: Callable[[str], tuple[str | None, str | None] | None]) -> list[dict]:
    """The possible duplicates a registration names (and `cpcm import cases` and `cpcm receive`, of the child
    of a row or of a case received): each case found, or, for one merged into another
    (`merge-cases KEEP THIS`), the case the child's work goes on in (`lives_on_in`: nothing is merged
    into a case merged away, nor is it reopened for the work), once for the child, with the cases found
    that were merged into it (`through`); each with its status (open, closed, transferred: a closed one is
    the child's earlier case, which can be reopened instead of working on a new one, IAG Step 6; None where
    it cannot be read now). `about`: a case's (status, merged_into) as the index that found it holds them,
    None where it holds none (the case is read then)."""
    def known(case_id: str) -> Case | None:
        status, into = about(case_id) or (None, None)
        if status is None:  # not in the index, or no status there: the case itself
            try:
                return load_case(ctx, case_id)
            except CpcmError:
                return None
        return Case(case_id, status=status, merged_into=into)

    said: dict[str, dict] = {}
    for case_id, reason in found:
        case = known(case_id)
        home = lives_on_in(case, known) if case is not None else Case(case_id, status=None)
        entry = said.setdefault(home.id, {"case_id": home.id, "reason": reason, "status": home.status})
        if case_id != home.id:
            entry.setdefault("through", []).append(case_id)
    return list(said.values())


def duplicate_reason(duplicate: Mapping[str, Any]) -> str:
    """Why a case `duplicates_said` gives may be the same child, with the cases found that were merged into it."""
    through = duplicate.get("through") or []
    return duplicate["reason"] + (f"; {', '.join(through)} {'was' if len(through) == 1 else 'were'} merged into it"
                                  if through else "")


def _not_informed(ctx: Context, case_id: str, body: Mapping[str, Any]) -> list[str]:
    """A registration whose answers are `given` though what consent means was not explained (its form's
    `consent.explained: no`): it is not informed consent (`consent_rules.registration_not_informed`), said
    with the command that records it again, explained. Recorded as it was: the registration goes ahead."""
    whose, missing = consent_rules.registration_not_informed(body, ctx.policy)
    return [consent_rules.not_informed_text(case_id, "registration", whose, missing, relied_on="")] if whose else []


def _registered_steps(ctx: Context, case_id: str, body: Mapping[str, Any], at: Any, case: Case,
                      dated: datetime | None = None) -> list[str]:
    """What comes after a registration: the initial assessment, by when, as `due` lists it
    (`deadlines.initial_assessment_due`: at once for a risk the policy wants answered the same
    day; a registration dated back, `dated` (--at): its due time, `clock_said`); for a consent
    refused or not possible, the recorded basis that acting without it needs (IAG §1); for consent
    given without explaining it, that `due` asks for it; and for a child already within the notice
    of turning 18 (`turning_18.notice`), that decision, which the default `cpcm due` lists only in
    its last days (`due_soon.within`)."""
    steps = []
    risk = str(body["risk"]) if body.get("risk") else None
    zone = deadlines_mod.zone_of(ctx.now)  # the registration counted from in the agency's zone, as `due` counts it
    _due, _target, response = deadlines_mod.initial_assessment_due(ctx.policy, risk, parse_datetime(at), zone)
    if response is not None and response.same_day:
        steps.append(f"{risk} risk: act before the child leaves your care, and assess now (the initial assessment "
                     f"{clock_said(ctx, lambda: case, 'initial-assessment', 'is due the same day', dated)}): cpcm assess {case_id} --type initial")
    else:
        target = ctx.policy.duration("initial_assessment", "target")
        within = f"within {ctx.policy.cited('initial_assessment', also=f'target {target.words()}')}"
        steps.append(f"the initial assessment {clock_said(ctx, lambda: case, 'initial-assessment', within, dated)}: "
                     f"cpcm assess {case_id} --type initial")
    consent, needed = body.get("consent") or {}, consent_rules.givers(ctx.policy, case.age_on(ctx.now.date()))
    for giver, words in (("child", "the child's assent"), ("caregiver", "the caregiver's consent")):
        if giver in needed and consent.get(giver) in ("refused", "not_possible"):
            asked = (f"; cpcm due asks for it within {ctx.policy.cited('consent_decision')}, and cpcm check reports it, until "
                     "it is recorded or the answer is given (consent-refused)") if "consent_decision" in ctx.policy.rules else ""
            steps.append(f"{words} to registration is '{consent[giver]}': acting without it needs a supervisor's or manager's "
                         f"recorded basis: cpcm consent {case_id} --override --purpose registration "
                         f"--basis legal_mandate|best_interests --reason ...{asked}")
    unsettled = consent_rules.case_work(case, ctx.policy, ctx.now) if "consent_decision" in ctx.policy.rules else None
    if unsettled and unsettled.state == "not_informed":  # the warning says what to record; this, that it is asked for
        steps.append(f"consent to registration given without explaining it: cpcm due asks for it within "
                     f"{ctx.policy.cited('consent_decision')}, and cpcm check reports it, until it is recorded again, "
                     "explained, or a supervisor's or manager's override is recorded (consent-not-informed)")
    for item in deadlines_mod.deadlines(case, ctx.policy, ctx.now):
        if item.code == "turning-18":
            soon = deadlines_mod.soon_window(ctx.policy, ctx.now)
            birthday = item.due.date()  # due by the end of it, in the zone of now
            past = birthday <= ctx.now.date()  # (before the day registered too: `over_age` warns)
            before = ", before this registration" if birthday <= parse_datetime(at).date() else ""
            when = (f"the child turned {age_limit(ctx.policy)} on {birthday.isoformat()}{before}" if past
                    else f"{item.why} (in {(birthday - ctx.now.date()).days} days)")
            steps.append(f"{when}: propose closure {'now' if past else 'from that day'} (cpcm close {case_id} --reason "
                         f"reached_18 ...) or record why the case stays open (cpcm continue {case_id} --justification ...) "
                         f"({ctx.policy.short_source(item.rule) or item.source}); "
                         + ("it is on cpcm due now" if past else f"cpcm due lists it from {soon.days} days before"))
    return steps


def over_age(ctx: Context, case_id: str, case, day: date, command: str | None = None) -> list[str]:
    """A warning when the child of a new case is, by the date of birth or age given, at the policy's age limit or
    over it on `day`, the registration's (`child_age_limit`, IAG §1: a child is under 18): a year typed wrong is an
    easy slip (2004 for 2014), or the young person is kept on past it. Names no age and no date of birth. `cpcm
    register` and `cpcm import cases` (each row's) warn of it; `command`: the case as its commands name it, where
    `case_id` is not (an import's dry run: its cases have no ID yet)."""
    years = age_limit(ctx.policy)
    if not of_age(case, years, day):
        return []
    command = command or case_id
    return [f"by the date of birth (or age) given, the child of {case_id} was {years} or older on the day registered, and cpcm's cases are of "
            f"children under {years} (the policy's child_age_limit, IAG §1): if it is a slip, correct it now (cpcm update "
            f"{command} --dob YYYY-MM-DD --reason ...); if the young person's case is to stay open, record why (cpcm continue "
            f"{command} --justification ...)"]


def _taken(ctx: Context, case_id: str) -> bool:
    """A case (or a folder of that name) exists already: the one id drawn is looked up, not every case."""
    if ctx.root is not None and case_dir(ctx.root, case_id).exists():
        return True
    return ctx.store.exists(case_id) or (ctx.root is None and case_id in ctx.store.case_ids())


@writes
def assign(ctx: Context, case_id: str, worker_id: str, at: datetime | None = None) -> Written:
    """Assign a case to a worker; the case is re-encrypted to its new readers. Assigning it again
    to the worker it has is refused, except to confirm the assignment that stands after a sync
    found it assigned on two copies apart (`two-assignments`): that settles the conflict."""
    case = load_case(ctx, case_id)
    if ctx.team.get(worker_id) is None:
        raise NotFound("--worker: no active worker by that id in the team", "See cpcm team list.")
    # already assigned to them (but a confirmation, or a restricted case reopened), their cadre, their caseload
    confirms, checks = assignment_checks(ctx, case_id, worker_id, case)
    if checks and checks[0].rule == "already-assigned":
        raise Refused(checks[0].message, rule=checks[0].rule)
    restricted = restricted_either(ctx, case)  # its records or its `recipients` file say so (a sync merged unread)
    check_at(ctx, case, at, "assign")
    transitions.advance(case.stage, "assignment", case_id)
    warnings = refuse_or_warn(checks)  # refused or warned, before anything is written
    record = new_record(ctx, "assignment", case_id, {"worker": worker_id, "previous": case.worker}, at,
                        after=case.history[-1].id if case.history else "")
    # covers in force stay (a cover of the new worker becomes their own case)
    readers, covers = cover_rules.access(ctx.team, worker_id, case_covers(ctx, case_id), ctx.now)
    with transaction(ctx, "assign") as tx:
        note_clock(ctx, case, at)
        reencrypt(ctx, tx, case_id, readers, covers=covers)
        tx.write_record(record, keys_for(ctx, readers))
        if restricted:  # the restriction ends: its strictly confidential entries are read as the rule has them again
            _follow_restriction_end(ctx, tx, case_id)
        _, unread = _conferences_follow(ctx, tx, {case_id: case.worker})  # the new worker reads the case's conferences
        tx.commit(f"assign {case_id} {record.id}")
    note_settled(ctx, case, record)
    warnings += _unread_warnings(unread)
    steps = tuple(f"the assignment to {worker_id} is confirmed: {step}" for step in settles_step(confirms))
    if not confirms:
        steps = (_taken_over(ctx, case, worker_id),)
    return Written(case_id, record.id, "assignment", tuple(warnings), steps, extra={"worker": worker_id},
                   json_keys=("subject", "record_id", "warnings"), settled=said_settled(case_id, confirms))


def _follow_restriction_end(ctx: Context, tx, case_id: str) -> None:
    """The strictly confidential entries of a case whose restriction to the managers an assignment ends,
    re-encrypted in its commit to their readers as the rule has them again (service/confidential.py)."""
    from cpcm.service import confidential

    confidential.follow_restriction(ctx, tx, case_id, restricted=False)


def _conferences_follow(ctx: Context, tx, previous: Mapping[str, str | None]) -> tuple[list[str], list[str]]:
    """The conferences naming the cases assigned, open or closed, re-encrypted in the assignment's
    commit to their readers as they stand after it (the new worker reads them, the previous one no
    longer unless otherwise a reader); see conferences.reencrypt_naming."""
    from cpcm.service import conferences

    return conferences.reencrypt_naming(ctx, tx, previous)


def _unread_warnings(unread: list[str]) -> list[str]:
    if not unread:
        return []
    return [f"{len(unread)} conference(s) you cannot read may name a case assigned and still list its previous worker; "
            "a supervisor should run 'cpcm team sync' so that its new worker reads them: " + " ".join(unread)]


def _taken_over(ctx: Context, case: Case, worker_id: str) -> str:
    """What the new worker takes over with a case (a handover, a worker leaving): how many of its
    deadlines are overdue or due soon, and where they read the case and its list."""
    held = _held_words(*_deadlines_held(ctx, case))
    return (f"{worker_id} takes over its deadlines{' (' + held + ')' if held else ''}: they read it with cpcm show {case.id} "
            f"and cpcm log {case.id}, and find it on cpcm due")


def _deadlines_held(ctx: Context, case: Case) -> tuple[int, int]:
    """(overdue, due soon): the case's deadlines its worker holds (not the supervisors') in those states now."""
    from cpcm.workflow.clocks import MANAGERS, SUPERVISORS
    from cpcm.workflow.deadlines import deadlines, soon_window

    soon = soon_window(ctx.policy, ctx.now)
    states = [item.state(ctx.now, soon) for item in deadlines(case, ctx.policy, ctx.now) if item.owner not in (SUPERVISORS, MANAGERS)]
    return states.count("overdue"), states.count("due_soon")


def _held_words(late: int, near: int) -> str:
    return ", ".join(part for part in (f"{late} overdue" if late else "", f"{near} due soon" if near else "") if part)


BATCH_COLUMNS = ("case", "worker")  # what a row of `cpcm assign --batch` holds


def assign_batch(ctx: Context, rows: Sequence[Mapping[str, Any]], dry_run: bool = False,
                 progress: Callable[[int], None] | None = None, numbers: Sequence[int] | None = None) -> Written:
    """`cpcm assign --batch FILE`: assign many cases, each row a `case` and the `worker` who takes
    it over, as `assign` does one (an assignment record, the case re-encrypted to its new readers),
    all in one commit (`assign batch N cases`). Every row is checked first, the caseloads counted
    as the rows before it leave them; one bad row and nothing is written (InvalidInput naming every
    bad row and field). The assignments are dated now. `progress(n)`: one tick a row checked and,
    unless `dry_run`, one a case written. `numbers`: the number messages give each row (a CSV
    file's as a spreadsheet shows them); by default 1, 2, 3 ... A dry run only reads: no lock."""
    ctx.need_worker()
    start = len(ctx.settled)  # the sync conflicts its assignments settle: said once each, as `assign` says them
    with nullcontext() if dry_run else locked(ctx):
        result = _assign_batch(ctx, list(rows), dry_run, progress, list(numbers or range(1, len(rows) + 1)))
    return with_settled(ctx, result, start)


def _assign_batch(ctx: Context, rows: list[Mapping[str, Any]], dry_run: bool, progress: Callable[[int], None] | None,
                  numbers: list[int], caseload: bool = True) -> Written:
    """The batch, checked and (unless `dry_run`) written. `caseload`: count each row's worker's
    caseload as the rows before leave it (False where the caller counted it once for them all)."""
    errors: list[FieldError] = []
    warnings: list[str] = []
    planned: list[tuple[int, Case, str, list[str]]] = []  # (row number, case, worker, the conflicts it settles)
    seen: set[str] = set()
    counts: Counter | None = None
    for number, row in zip(numbers, rows):
        row_errors = _batch_row_keys(number, row)
        raw_case = str(row.get("case") or "").strip()
        raw_worker = row.get("worker")
        worker_id = str(raw_worker).strip() if isinstance(raw_worker, (str, int)) and not isinstance(raw_worker, bool) else ""
        case_id = normalise_case_id(raw_case) if raw_case else None
        if case_id is None:
            row_errors.append(FieldError(f"row {number}: case", "is missing or not a valid case ID"))
        elif case_id in seen:
            row_errors.append(FieldError(f"row {number}: case", f"{case_id} appears twice in the batch"))
            case_id = None
        if not worker_id:
            row_errors.append(FieldError(f"row {number}: worker", "is missing: the id of the worker who takes the case over "
                                         "(cpcm team list)"))
        elif ctx.team.get(worker_id) is None:
            row_errors.append(FieldError(f"row {number}: worker", "is no active worker of the team (see cpcm team list)"))
            worker_id = ""
        case = None
        if case_id is not None:
            seen.add(case_id)
            try:
                case = load_case(ctx, case_id)
                transitions.advance(case.stage, "assignment", case_id)
            except (Refused, NotFound, CannotDecrypt) as exc:
                row_errors.append(FieldError.of(f"row {number}: case", exc))
                case = None
        if case is not None and worker_id:
            # the checks of one assignment (`assignment_checks`), the caseloads counted as the rows before leave them
            if caseload and counts is None:
                counts = _caseloads(ctx)
            confirms, checks = assignment_checks(ctx, case.id, worker_id, case, count=counts[worker_id] if caseload else None,
                                                 caseload=caseload)
            for check in checks:
                if check.refuse:
                    what = {"already-assigned": "", "cadre-over-max": ": give the case to a professional or an officer"}
                    row_errors.append(FieldError(f"row {number}: worker", f"{check.message} (rule {check.rule})"
                                                 + what.get(check.rule, ": give the case to another worker")))
                elif check.rule == "cadre-over-max":  # the message names the case
                    warnings.append(f"{check.message}: escalate it to a professional")
                else:
                    warnings.append(f"{check.message} ({case.id})")
            if caseload and not confirms and not row_errors and not any(c.rule == "already-assigned" for c in checks):
                counts[worker_id] += 1  # a confirmation gives the worker no new case
                if case.worker:
                    counts[case.worker] -= 1
            if not row_errors:
                behind = clock_behind(ctx, case, None)  # the batch is dated now: as one assignment warns
                if behind is not None:
                    warnings.append(behind)
                planned.append((number, case, worker_id, confirms))
        errors += row_errors
        if progress:
            progress(1)
    if errors:
        raise InvalidInput(errors, f"the batch ({len(rows)} row{'' if len(rows) == 1 else 's'})",
                           "Correct the rows named above; nothing was written.")
    if not planned:
        raise InvalidInput([FieldError("rows", "the batch holds no rows")], "the batch",
                           "Give each row a case's ID under 'case' and the worker who takes it over under 'worker'; "
                           "nothing was written.")
    written: list[dict] = []
    settled: list = []  # (the case before, its assignment): what each settles, said once the commit is made
    if not dry_run:
        with transaction(ctx, "assign-batch") as tx:
            for number, case, worker_id, _confirms in planned:
                record = new_record(ctx, "assignment", case.id, {"worker": worker_id, "previous": case.worker},
                                    after=case.history[-1].id if case.history else "")
                # covers in force stay (a cover of the new worker becomes their own case), as in `assign`
                readers, covers = cover_rules.access(ctx.team, worker_id, case_covers(ctx, case.id), ctx.now)
                reencrypt(ctx, tx, case.id, readers, covers=covers)
                tx.write_record(record, keys_for(ctx, readers))
                if restricted_either(ctx, case):  # its restriction ends, as in `assign`
                    _follow_restriction_end(ctx, tx, case.id)
                written.append({"case_id": case.id, "record_id": record.id, "worker": worker_id, "previous": case.worker})
                settled.append((case, record))
                if progress:
                    progress(1)
            _, unread = _conferences_follow(ctx, tx, {case.id: case.worker for _, case, _, _ in planned})
            tx.commit(f"assign batch {len(written)} cases")
        for case, record in settled:
            note_settled(ctx, case, record)
        warnings += _unread_warnings(unread)
    return Written(None, tuple(w["record_id"] for w in written), "assignment", tuple(warnings),
                   tuple(_batch_steps(ctx, planned)),
                   settled=tuple(pair for _, case, _, confirms in planned for pair in said_settled(case.id, confirms)),
                   extra={"assigned": len(written), "checked": len(planned), "dry_run": dry_run,
                          "records": written or [{"case_id": case.id, "worker": worker_id, "previous": case.worker}
                                                 for _, case, worker_id, _ in planned],
                          "workers": _taken_over_by_worker(ctx, planned)},
                   json_keys=("warnings", "next_steps"))


def assign_from_worker(ctx: Context, from_worker: str, worker_id: str, dry_run: bool = False,
                       progress: Callable[[int], None] | None = None) -> Written:
    """`cpcm assign --from-worker OLD --worker NEW`: every open case of OLD (a worker leaving)
    assigned to NEW in one commit, as `assign --batch` assigns its rows (the same records, checks,
    conferences and commit, `assign batch N cases`). A supervisor's or manager's
    (`assign-from-worker-needs-supervisor`). NEW's caseload is counted once over all of them,
    before anything is written: one warning, or Refused (`caseload-over-cap`) where the policy
    refuses over the cap. OLD's closed and transferred cases stay as they are (a closed or
    transferred case is not assigned): `left` names them, and a next step says where their
    post-closure visits and receipts go once OLD is removed. A dry run only reads: no lock."""
    me = ctx.need_worker()
    if not me.has_role("supervisor", "manager"):
        raise Refused("only a supervisor or manager hands over every case of a worker",
                      "Ask a supervisor; or assign one case of your own with cpcm assign CASE --worker WORKER.",
                      rule="assign-from-worker-needs-supervisor")
    if ctx.team.get(from_worker, include_removed=True) is None:
        raise NotFound("--from-worker: no worker by that id in the team", "See cpcm team list.")
    if ctx.team.get(worker_id) is None:
        raise NotFound("--worker: no active worker by that id in the team", "See cpcm team list.")
    if from_worker == worker_id:
        raise InvalidInput([FieldError("--worker", "is the worker the cases are handed over from: give the colleague who "
                                       "takes them over")], "the handover")
    start = len(ctx.settled)  # the sync conflicts its assignments settle: said once each, as `assign` says them
    with nullcontext() if dry_run else locked(ctx):
        theirs, held = [], 0  # the leaver's cases (ID and status), and the open cases the new worker holds now
        for case in CaseStream(ctx):  # a case at a time
            if case.worker == from_worker:
                theirs.append((case.id, case.status))
            held += case.worker == worker_id and case.status == "open"
        theirs.sort()
        moving = [case_id for case_id, status in theirs if status == "open"]
        left = [{"case_id": case_id, "status": status} for case_id, status in theirs if status != "open"]
        if not moving:
            raise InvalidInput([FieldError("--from-worker", "has no open case you can read: there is nothing to hand over")],
                               "the handover", "See cpcm list --worker " + from_worker + "; nothing was written.")
        # the new worker's caseload, counted once for all of them: as one assignment of the last of them would count it
        warnings = caseload_warnings(ctx, worker_id, count=held + len(moving) - 1)
        result = _assign_batch(ctx, [{"case": case_id, "worker": worker_id} for case_id in moving], dry_run, progress,
                               list(range(1, len(moving) + 1)), caseload=False)
    steps = list(result.next_steps)
    if left:
        steps.append(_left_words(from_worker, left))
    return with_settled(ctx, Written(None, result.record_ids, "assignment", tuple(warnings) + result.warnings, tuple(steps),
                                     extra={**result.extra, "from_worker": from_worker, "left": left},
                                     json_keys=("warnings", "next_steps"), settled=result.settled), start)


def _left_words(from_worker: str, left: list[dict]) -> str:
    """What becomes of the leaving worker's closed and transferred cases: nothing now."""
    ids = " ".join(entry["case_id"] for entry in left)
    return (f"{len(left)} closed or transferred case(s) of {from_worker} stay as they are (a closed or transferred case is not "
            f"assigned): {ids}; once {from_worker} is removed (cpcm team remove {from_worker}), a post-closure visit or a "
            "receipt still to come on one of them is on the supervisors' cpcm due")


def _batch_row_keys(number: int, row: Mapping[str, Any]) -> list[FieldError]:
    """A row's keys other than `case` and `worker`: a near miss of one is named, any other key
    only counted (a key may hold personal details)."""
    from cpcm.domain.forms import FIELD_NAME, near_field

    errors, unnamed = [], 0
    for key in row:
        key = str(key)
        if key in BATCH_COLUMNS:
            continue
        close = near_field(key, BATCH_COLUMNS)
        if close and FIELD_NAME.fullmatch(key):
            errors.append(FieldError(f"row {number}: {key}", f"is not a column of an assignment batch; did you mean '{close}'?"))
        else:
            unnamed += 1
    if unnamed:
        errors.append(FieldError(f"row {number}: …", f"{'a key is' if unnamed == 1 else f'{unnamed} keys are'} not a column of an "
                                 "assignment batch, which has two: case and worker (not shown, as a key may hold personal "
                                 "details)"))
    return errors


def _caseloads(ctx: Context) -> Counter:
    """Every worker's open cases now: from the split index of a write where it is usable, else counted
    in `load_index` (as `caseload_warnings` counts them)."""
    from cpcm.service import lookup

    if lookup.usable(ctx):
        look = lookup.current(ctx)
        return Counter({w.id: lookup.caseload(look, w.id) for w in ctx.team.active})
    return Counter(rules.caseloads(load_index(ctx).values()))


def _taken_over_by_worker(ctx: Context, planned: list[tuple[int, Case, str, list[str]]]) -> list[dict]:
    """For each worker given cases (confirmations left out), in the order of the rows: how many,
    and how many of their deadlines are overdue or due soon."""
    by_worker: dict[str, dict] = {}
    for _, case, worker_id, confirms in planned:
        if confirms:
            continue
        late, near = _deadlines_held(ctx, case)
        entry = by_worker.setdefault(worker_id, {"worker": worker_id, "cases": 0, "overdue": 0, "due_soon": 0})
        entry["cases"] += 1
        entry["overdue"] += late
        entry["due_soon"] += near
    return list(by_worker.values())


def _batch_steps(ctx: Context, planned: list[tuple[int, Case, str, list[str]]]) -> list[str]:
    """What `assign` says of each case, summed up per worker: what each takes over, and each
    assignment confirmed to settle a sync conflict."""
    steps = []
    for entry in _taken_over_by_worker(ctx, planned):
        held = _held_words(entry["overdue"], entry["due_soon"])
        n = entry["cases"]
        steps.append(f"{entry['worker']} takes over {n} case{'' if n == 1 else 's'} and {'its' if n == 1 else 'their'} deadlines"
                     f"{' (' + held + ')' if held else ''}: they find {'it' if n == 1 else 'them'} on cpcm due and cpcm list "
                     f"--worker {entry['worker']}, and read each with cpcm show CASE and cpcm log CASE")
    for _, case, worker_id, confirms in planned:
        if confirms:
            steps += [f"the assignment of {case.id} to {worker_id} is confirmed: {step}" for step in settles_step(confirms)]
    return steps


@writes
def assign_cover(ctx: Context, case_id: str, worker_id: str, until: str, at: datetime | None = None) -> Written:
    """`cpcm assign CASE --cover WORKER --until DATE`: a colleague reads and writes the case until
    `until` (a date alone: the end of that day in the agency's time zone) without the case being
    taken from its worker. One `cover` record, and the case re-encrypted to its readers with the
    colleague, in one commit. Once `until` has passed, `cpcm team sync` or the next write to the
    case takes them off its readers. Given again for the same colleague, the later end replaces
    the earlier (a shorter one ends the cover sooner)."""
    me = ctx.need_worker()
    case = load_case(ctx, case_id)
    if me.id != case.worker and not me.has_role("supervisor", "manager"):
        raise Refused("only the case's worker, a supervisor or a manager arranges cover for a case",
                      f"Ask {case.worker or 'its worker'} or a supervisor.", rule="cover-needs-worker-or-supervisor")
    if retention_rules.restricted(case):  # a cover would give the case to more than the managers
        raise Refused(f"{case_id} is restricted to the managers (cpcm retention): nobody covers it while it is",
                      f"Give it back to a worker first (cpcm assign {case_id} --worker W), then arrange the cover; "
                      "nothing was written.", rule="cover-case-restricted")
    if not until or not str(until).strip():
        raise InvalidInput([FieldError("until", "is required: the last day of the cover (e.g. 2026-03-01)")], "cover")
    try:
        moment = parse_datetime(str(until), "--until", ctx.zone)
    except CpcmError:
        raise InvalidInput([FieldError("until", "is not an ISO 8601 date or date-time (e.g. 2026-03-01)")], "cover") from None
    ends = cover_rules.ends(str(until).strip(), ctx.zone) if is_date_only(str(until)) else moment.astimezone(ctx.zone)
    check_at(ctx, case, at, "cover")
    errors = cover_rules.problems(ctx.team, case.worker, worker_id, ends, ctx.now)
    if errors:
        raise InvalidInput([FieldError(field, why) for field, why in errors], "cover")
    transitions.advance(case.stage, "cover", case_id)
    warnings = cover_warnings(cover_checks(ctx, case, worker_id, ends))  # refused or warned, before anything is written
    until_text = ends.isoformat(timespec="seconds")
    check_cover(ctx, case)
    readers, covers = cover_rules.access(ctx.team, case.worker, {**case_covers(ctx, case_id), worker_id: until_text}, ctx.now)
    body = {"worker": worker_id, "until": until_text, "case_worker": case.worker}
    with transaction(ctx, "assign") as tx:
        note_clock(ctx, case, at)
        record = new_record(ctx, cover_rules.KIND, case_id, body, at, after=case.history[-1].id if case.history else "")
        reencrypt(ctx, tx, case_id, readers, covers=covers)
        tx.write_record(record, keys_for(ctx, readers))
        tx.commit(f"assign {case_id} {record.id}")
    note_settled(ctx, case, record)
    return Written(case_id, record.id, cover_rules.KIND, tuple(warnings),
                   extra={"worker": case.worker, "cover": worker_id, "until": until_text},
                   json_keys=("subject", "record_id", "kind", "warnings"))


# a cover above the colleague's cadre: what would satisfy the rule (the message names the cadre, the risk, the rule)
COVER_CADRE_HINT = ("Ask a professional or an officer to cover the case (cpcm team list shows each worker's cadre), or rate "
                    "its risk again first if it has fallen; a supervisor changes a cadre with cpcm team cadre. Nothing was "
                    "written.")


def cover_checks(ctx: Context, case: Case, worker_id: str, until: datetime) -> list[AssignCheck]:
    """What stands against `worker_id` covering `case` until `until`: a cover holds the case's work for
    a while, so an open case whose risk is above what the colleague's cadre may hold is refused (or
    warned of) as the policy's `cadre_risk` says, as `assign --worker` does (`assignment_checks`,
    cadre-over-max). A cover they hold already, given again to end no later (ending it sooner, or
    settling two covers apart after a sync), gives them nothing more: nothing stands against it.
    Their caseload is not counted: the case stays its worker's."""
    if case.status != "open" or cover_rules.shortens(case_covers(ctx, case.id), worker_id, until, ctx.now):
        return []
    verdict, message = rules.cadre_verdict(ctx.team.get(worker_id), case.risk, ctx.policy, case.id)
    if verdict == "ok":
        return []
    return [AssignCheck(rule=CADRE_OVER_MAX, refuse=verdict == "refuse", message=f"cadre: {message}", hint=COVER_CADRE_HINT)]


def cover_warnings(checks: list[AssignCheck]) -> list[str]:
    """`cover_checks`' findings: Refused with the first the policy refuses (as `refuse_or_warn`), else
    each warning worded for a cover: the colleague is not the one to hold the case's work while it is
    above their cadre (the case stays its worker's: nothing of it is escalated)."""
    refuse_or_warn([check for check in checks if check.refuse])
    return [f"{check.message}: a professional or an officer is the one to cover it (cpcm team list shows each "
            "worker's cadre), or end this cover sooner by giving it again with an earlier --until"
            if check.rule == CADRE_OVER_MAX else check.message for check in checks]


@writes
def assign_keyworker(ctx: Context, case_id: str, worker: str | None = None, name: str | None = None, role: str | None = None,
                     contact: str | None = None, reason: str | None = None, at: datetime | None = None) -> Written:
    """`cpcm assign CASE --keyworker WORKER --reason TEXT` (a worker of the team), or
    `--keyworker-name NAME --keyworker-role ROLE [--keyworker-contact TEXT] --reason TEXT`
    (someone outside it): nominate the case's keyworker, the child's and family's main point of
    contact (IAG Step 3), or change them, with the reason. One `keyworker` record, one commit
    (`assign CASE RECORD`); who reads the case does not change. Only the case's worker, a
    supervisor or a manager nominates (rule keyworker-needs-worker-or-supervisor). The keyworker
    the case has already is refused (already-keyworker), except to confirm the one that stands
    after a sync found two nominations apart (keyworkers-concurrent). Nothing typed is repeated in
    a message: a name and a contact are personal data, kept in the encrypted record only."""
    from cpcm.workflow import keyworker as keyworker_rules

    me = ctx.need_worker()
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    if me.id != case.worker and not me.has_role("supervisor", "manager"):
        raise Refused(f"only the case's worker, a supervisor or a manager nominates the keyworker of {case_id}",
                      f"Ask {case.worker or 'its worker'} or a supervisor.", rule="keyworker-needs-worker-or-supervisor")
    body = keyworker_rules.body_of(worker, name, role, contact, reason)
    errors = _keyworker_errors(ctx, body, [w.id for w in ctx.team.active]) + at_errors(ctx, case, at)
    if errors:
        raise InvalidInput(errors, f"keyworker of {case_id}")
    transitions.advance(case.stage, keyworker_rules.KIND, case_id)
    now = keyworker_rules.current(effective(records), case.worker)
    confirms = settled_by(case, keyworker_rules.KIND) if keyworker_rules.same(body, now) else []
    if keyworker_rules.same(body, now) and not confirms:
        whose = "by default (no keyworker was nominated)" if not now["nominated"] else "already"
        raise Refused(f"the keyworker given is {whose} the keyworker of {case_id}; nothing was written",
                      f"See who it is: cpcm show {case_id}", rule="already-keyworker")
    body["case_worker"] = case.worker  # who was the caseworker when nominated: "caseworker, if different"
    record = append(ctx, case, "assign", keyworker_rules.KIND, body, at)
    warnings, steps = [], []
    if confirms:
        steps += [f"the keyworker is confirmed: {step}" for step in settles_step(confirms)]
    if body.get("worker") and body["worker"] != case.worker and body["worker"] not in ctx.store.recipients(case_id):
        warnings.append(f"{body['worker']} is the keyworker of {case_id} but does not read it (only its worker, the colleagues "
                        f"covering it, supervisors and managers do): they keep in close contact with its worker, who may "
                        f"arrange cover (cpcm assign {case_id} --cover {body['worker']} --until DATE) or assign it "
                        f"(cpcm assign {case_id} --worker {body['worker']})")
    if not body.get("worker") or body["worker"] != case.worker:
        steps.append(f"the keyworker and the caseworker ({case.worker or 'none'}) stay in close contact; the caseworker "
                     f"still coordinates and follows up every action (cpcm show {case_id} shows both)")
    return Written(case_id, record.id, keyworker_rules.KIND, tuple(warnings), tuple(steps),
                   extra={"keyworker": keyworker_rules.described(body), "worker": case.worker,
                          "outside": not body.get("worker")}, settled=said_settled(case_id, confirms))


def list_(ctx: Context, status: str | None = None, risk: str | None = None, worker: str | None = None,
               stage: str | None = None) -> list[Case]:
    selected = []
    for case in CaseStream(ctx):  # a case at a time: only those selected are held
        if status and case.status != status:
            continue
        if risk and case.risk != risk:
            continue
        if worker and case.worker != worker:
            continue
        if stage and case.stage != stage:
            continue
        selected.append(case)
    zone = ctx.zone  # in the order `cpcm list` prints them: registered (in the agency's zone, as listed), then case id
    return sorted(selected, key=lambda c: (json_time(c.registered_at, zone) or "", c.id))


def list_rows(ctx: Context, status: str | None = None, risk: str | None = None, worker: str | None = None,
              stage: str | None = None, names: bool = False) -> Sequence[dict]:
    """What `cpcm list` prints: `case_summary` of each case `list_` gives, in its order, made
    from the cache's compact row table (service/fill.py) without folding or building the cases
    (each summary made as it is read)."""
    from cpcm.service import fill, views

    _note_unknown_filters(ctx, status=status, risk=risk, worker=worker, stage=stage)
    found = views.list_view(ctx, status, risk, worker, stage, names)  # the rows kept for the last commit
    if found is not None:
        return found
    rows = fill.rows_matching(fill.case_rows(ctx).items(), status, risk, worker, stage)
    return fill.Summaries(rows, ctx.now.date(), names)


def _note_unknown_filters(ctx: Context, **filters: str | None) -> None:
    """A filter value no case can have (a typo: `--status opne`) lists nothing, as a value that
    matches no case does (docs/commands/cases.md); a notice says which, so that a script's reader
    can tell a typo from an empty list. A worker is known while the team names them, removed or not.
    The value is named only when it looks like one (`shown`): never text typed about a child."""
    for option, value in filters.items():
        if value is None:
            continue
        if option == "worker":
            if ctx.team.get(value, include_removed=True) is None:
                ctx.notices.append(f"--worker {shown(value)} is no worker of this team: no case is listed for it")
            continue
        known = {"status": ("open", *dict.fromkeys(transitions.STATUS.values())), "stage": transitions.STAGES}.get(option) \
            or ctx.policy.risk_levels  # the policy read only when a risk is asked for
        if value not in known:
            ctx.notices.append(f"--{option} {shown(value)} is not a {option} a case can have ({', '.join(known)}): "
                               "no case is listed for it")


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
    what: str = ""                     # the record's type or purpose: "comprehensive", "referral to clinic, child given"
    order: int = 0                     # its place in the order written (1 = first)
    supersedes: str | None = None      # a correction or repair: the record it replaces
    superseded_by: str | None = None   # a record a later one corrected or repaired
    unreadable: bool = False           # a damaged record: its kind is its file name's; at, recorded_at and by are unknown
    signed_by: str | None = None       # the worker whose key signed the commit
    signature: str = ""                # "good", or why not (unsigned-commit, bad-signature, unknown-signer, revoked-key)
    misfiled_by: str | None = None     # a record marked as written in the wrong case: the `misfiled` record that took it out

    def to_json(self) -> dict:
        return dict(self.__dict__)


def log(ctx: Context, case_id: str) -> list[LogEntry]:
    """Every record of the case, superseded ones included, sorted by when it happened (`at`),
    each with its place in the order written and the commit that added it; a damaged record too
    (from its file name and its commit, sorted by its ID)."""
    check_readable(ctx, case_id)
    check_on_disk(ctx, case_id, deleted_only=True)  # a record deleted by hand would drop out of the trail unsaid
    records, damaged = read_case(ctx, case_id, strict=False)
    added = {}
    for commit in ctx.store.log(history_rels(case_id), added_only=True):
        for path in commit.files:
            added.setdefault(Path(path).name.split(".")[0], commit)
    added = _added_before_upgrade(ctx, case_id, added)
    described = _describe_all(records)
    superseded = superseded_by(records)
    taken_out = misfiled(records)
    kinds = {m["id"]: m["kind"] for m in (RECORD_FILE.match(p.name) for p in ctx.store.record_files(case_id)) if m}
    rows = [(r.id, r) for r in records] + [(record_id, None) for record_id in damaged]
    entries = []
    for order, (record_id, record) in enumerate(sorted(rows, key=lambda row: row[0]), start=1):
        commit = added.get(record_id)
        sha, date, message = (commit.sha, commit.date, commit.message) if commit else (None, None, None)
        if record is None:
            entries.append(LogEntry(record_id, kinds.get(record_id, ""), "", "", "", sha, date, message, "unreadable", order,
                                    None, superseded.get(record_id), unreadable=True))
        else:
            entries.append(LogEntry(record.id, record.kind, record.at, record.recorded_at, record.by, sha, date, message,
                                    described[record.id], order, _supersedes(record),
                                    None if record.kind == MISFILED else superseded.get(record.id),  # a mark stands, whatever came after
                                    misfiled_by=taken_out.get(record.id)))
    entries = _signatures(ctx, entries)
    return sorted(entries, key=lambda e: (utc(e.at) if e.at else _written_at(e.record_id), e.order))


def _added_before_upgrade(ctx: Context, case_id: str, added: dict) -> dict:
    """`added` (record id -> the newest commit that added its file) with each record the upgrade to casefile format 2
    moved (store/upgrade.py: it removes each file at its format-1 path and adds it at its format-2 one) given the commit
    that added it before, its author and date. git's rename detection, on by default, pairs the two paths so that an
    added-only log does not list the upgrade; a repository whose git settings turn it off (diff.renames) does."""
    from cpcm.store.layout import history_rels
    from cpcm.store.upgrade import MESSAGE

    if not any(commit.message == MESSAGE for commit in added.values()):
        return added
    earlier: dict = {}
    for commit in ctx.store.log(history_rels(case_id), added_only=True):
        if commit.message != MESSAGE:
            for path in commit.files:
                earlier.setdefault(Path(path).name.split(".")[0], commit)
    return {record_id: earlier.get(record_id, commit) if commit.message == MESSAGE else commit
            for record_id, commit in added.items()}


def _signatures(ctx: Context, entries: list[LogEntry]) -> list[LogEntry]:
    """Who signed each entry's commit and whether the signature is good (store/audit.py `signers`)."""
    root = ctx.store.root if getattr(ctx.store, "git", None) is not None else None
    shas = {e.commit for e in entries if e.commit}
    if not root or not shas:
        return entries
    from dataclasses import replace

    from cpcm.store.audit import signers

    found = signers(root, shas, ctx.team)
    return [replace(e, signed_by=found[e.commit][0], signature=found[e.commit][1]) if e.commit in found else e for e in entries]


def _written_at(record_id: str) -> str:
    """When a record was written, from its ID (for a damaged record, whose `at` cannot be read)."""
    return datetime.fromtimestamp(record_id_millis(record_id) / 1000, timezone.utc).isoformat(timespec="seconds")


def case_summary(case: Case, today, names: bool, zone) -> dict:
    """The stable JSON shape of a case in lists; the name only when asked for. Its times are in
    the agency's time zone `zone`, with its offset (`json_time`), as `cpcm list --json` gives them."""
    data = {
        "case_id": case.id, "status": case.status, "stage": case.stage, "risk": case.risk, "worker": case.worker,
        "registered_at": json_time(case.registered_at, zone), "sex": case.child.get("sex"), "age": case.age_on(today),
        "records": len(case.history), "last_at": json_time(case.last_at, zone),
    }
    if names:
        data["name"] = case.name
    return data


def _decision(records: Sequence[Record], subject: str, request_id: str | None) -> dict[str, Any] | None:
    """The latest approval or rejection of the request `request_id` (`approvals.decision_on`):
    what was decided, who, when and their note; None when none was recorded."""
    found = approvals.decision_on(records, subject, request_id)
    if found is None:
        return None
    return {"record_id": found.id, "decision": "approved" if found.kind == "approval" else "rejected",
            "at": utc(found.at), "by": found.by, "note": found.body.get("note")}


def _plan_decided(records: Sequence[Record], plan: Mapping[str, Any], decision: str) -> dict[str, Any] | None:
    """The supervisor's approval (`decision` approved: the conditions it was approved on) or
    rejection (rejected: what to change, so the worker reads why on `cpcm show`) of the latest plan
    version: who, when and their note; None when that version was not so decided."""
    if not plan.get("approved_at" if decision == "approved" else "rejected_at"):
        return None
    found = _decision(records, "plan", plan.get("record_id"))
    return {k: v for k, v in found.items() if k != "decision"} if found and found["decision"] == decision else None


def closure_request(records: Sequence[Record], closure: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The case's latest closure request (`case.closure`) and what became of it: `state`
    waiting, approved or rejected, and the `decision` (who, when, the note: why a closure was
    turned down, or the conditions it was approved on); None when no closure is asked for (none
    was, it was withdrawn, or the case was reopened since)."""
    if not closure:
        return None
    decision = _decision(records, "closure", closure.get("record_id")) if closure.get("decided_at") else None
    state = "waiting" if closure.get("decided_at") is None else "approved" if closure.get("approved") else "rejected"
    return {"record_id": closure.get("record_id"), "at": closure.get("at"), "by": approvals.asker(closure),
            "reason": closure.get("reason"), "state": state, "decision": decision}


def conferences_of(records: Sequence[Record]) -> list[dict[str, Any]]:
    """The case conferences that discussed the case, from the records their closing wrote in it
    (`conference close`): the conference, its date, why the case came to it and what it decided,
    in the order written."""
    return [{"record_id": r.id, "conference": r.body.get("conference"), "date": r.body.get("date"), "reason": r.body.get("reason"),
             "decisions": [str(d) for d in r.body.get("decisions") or []], "actions": len(r.body.get("actions") or [])}
            for r in records if r.kind == "conference"]


def show(ctx: Context, case_id: str, record: str | None = None) -> dict:
    """The case as it stands (what `cpcm show --json` prints): the fold with the child and
    everything registered about them (with every update applied), its history, what is due,
    each assessment, the consents on file, the mandatory-reporting decisions, the referrals, the reviews, the plan with its content
    and its open actions. With `record` (a record ID or a short form: `plan`, `plan@2`, `R1`, `last`
    ...), that one record in full instead (see `record_view`)."""
    records = load_records(ctx, case_id)
    if record is not None:
        return record_view(ctx, case_id, records, find_record(case_id, records, record, ctx.policy))
    current = effective(records)
    folded = fold(case_id, records)
    registration = folded.registration
    data = case_summary(folded, ctx.now.date(), True, ctx.zone)
    lives = lives_now(folded)  # where and with whom the child lives now: the latest placement's, as the case file says
    who = lives_with_now(folded)  # who the child lives with now: the latest placement's care type, likewise
    data.update({
        "child": dict(folded.child), "location": lives["location"], "caregiver_name": lives["caregiver"],
        "caregiver_relationship": lives["relationship"],
        "lives_with": who["value"], "lives_with_source": who["source"], "lives_with_registered": who["registered"],
        "contact": lives["contact"],
        "identified_by": registration.get("identified_by"), "registration_place": registration.get("registration_place"),
        "concerns": list(folded.concerns), "concerns_other": registration.get("concerns_other"),
        "case_categories": list(registration.get("case_categories") or []),  # the kenya registration's national list
        # the eligibility criteria met (IAG Step 1 [L741]), in the policy's words in the repository's language
        "criteria": [{"id": c, "label": ctx.policy.criterion_label(c, ctx.config.language)}
                     for c in registration.get("criteria") or ()],
        "immediate_needs": list(registration.get("immediate_needs") or []),
        "registration_consent": dict(registration.get("consent") or {}), "notes": registration.get("notes"),
        "history": [{"record_id": e.id, "kind": e.kind, "at": e.at, "by": e.by} for e in folded.history],
        **record_counts(records),
    })
    soon = deadlines_mod.soon_window(ctx.policy, ctx.now)
    data["due"] = [i.to_json(ctx.now, soon) for i in due(ctx, case=folded)]
    # consent to the case's work: refused, not informed, missing; or the override that stands in for such an answer
    unsettled, override = consent_rules.case_work_settled(folded, ctx.policy, ctx.now)
    data["registration_consent_state"] = unsettled.state if unsettled else None
    data["registration_consent_override"] = override
    details = case_content(ctx, case_id, current)
    # what was recorded before the latest reopening, of the episode a closure ended (deadlines.before_reopening)
    data["reopened_at"] = json_time(folded.reopened, ctx.zone) if folded.reopened else None

    def marked(entries, when: str = "at") -> list[dict]:
        return [dict(e, before_reopening=deadlines_mod.before_reopening(folded, e[when])) for e in entries]

    data["assessments"] = marked(details["assessments"])
    data["consents"] = marked(consents_on_file(current, ctx.now, consent_rules.used_ids(records), ctx.policy))  # the corrected ones too
    data["readiness"] = details["readiness"]
    data["graduation"] = details["graduation"]  # household graduation (the CPARA): score, band, benchmarks not achieved
    data["csi"] = details["csi"]  # the Child Status Index: the latest ratings, needs attention, change since the previous
    if data["readiness"] and ctx.policy.get("closure_readiness", "required", False):  # where closure waits for one
        reunified = path_rules.reunified_at(folded)
        if readiness_rules.made_before(data["readiness"]["at"], reunified):  # made before the child went home: not this
            data["readiness"] = dict(data["readiness"], reunified_at=json_time(reunified, ctx.zone))
        if readiness_rules.made_before(data["readiness"]["at"], folded.reopened):  # of the time before the reopening either
            data["readiness"] = dict(data["readiness"], reopened_at=json_time(folded.reopened, ctx.zone))
    from cpcm.service.mandatory_reports import decisions as mandatory_reports

    # each decision, report or not, and its supervisor's (or why none is needed: reported on another copy apart)
    # who recorded each: the writer of its first record, not whoever corrected it (as the plan's `by`)
    authors = {r.id: r.by for r in records}
    recorded_by = {later: authors[first] for later, first in places(records).items() if first in authors}
    data["mandatory_reports"] = marked(mandatory_reports(current, folded.mandatory_report, recorded_by))
    data["referrals"] = marked(folded.referrals)  # sent before the reopening
    data["reviews"] = marked(reviews_on_file(current, ctx.team))  # a correction in the place of what it corrected
    # who wrote the version: the writer of its first record, not whoever corrected it (approvals.asker)
    data["plan"] = dict(folded.plan, by=approvals.asker(folded.plan), content=details["plan"], rejection=_plan_decided(current, folded.plan, "rejected"),
                        approval=_plan_decided(current, folded.plan, "approved"),
                        before_reopening=not deadlines_mod.plan_actions_due(folded, ctx.policy)) if folded.plan else None
    if data["plan"] and data["plan"].get("previous"):  # the version in force while the latest waits: its conditions too
        previous = data["plan"]["previous"]
        data["plan"]["previous"] = dict(previous, approval=_plan_decided(current, previous, "approved"))
    data["closure"] = closure_request(current, folded.closure)
    data["conferences"] = conferences_of(current)
    from cpcm.service.complaints import for_case as complaints_of

    # the complaints naming the case that you read (service/complaints.py): never one you may not read, nor what it says
    data["complaints"] = [{"complaint_id": c.id, "about_staff": c.about_staff, "status": c.status}
                          for c in complaints_of(ctx, case_id)]
    from cpcm.service.confidential import for_case as confidential_of

    # how many entries of the case's strictly confidential section you read (service/confidential.py): 0 for one who
    # reads none, as for a case that has none; never what they say
    data["confidential"] = len(confidential_of(ctx, case_id))
    data["open_actions"] = open_actions(current, folded, ctx.now, ctx.policy)
    in_force = cover_rules.in_force(case_covers(ctx, case_id), ctx.now)
    data["covers"] = [dict(c, in_force=c["worker"] in in_force) for c in cover_rules.latest_covers(current)]
    from cpcm.workflow import keyworker as keyworker_rules
    from cpcm.workflow.rules import off_team

    # the child's and family's main point of contact: the caseworker unless one was nominated (IAG Step 3)
    data["keyworker"] = keyworker_rules.current(current, folded.worker, off_team(ctx.team))
    data["keyworkers"] = keyworker_rules.history(current, folded.worker)  # every nomination, with its reason
    from cpcm.service.placements import current_placement
    from cpcm.workflow.placements import pathway, stay

    data["placement"] = current_placement(stay(folded.placements))  # since the child entered it, and how it was decided
    if data["placement"] is not None and data["placement"]["best_interests_override"]:  # is its record still owed?
        data["placement"]["best_interests_owed"] = path_rules.best_interests_owed(folded) is not None
        # made since: on a closed case, which owes none, whether it was made all the same (show says which)
        data["placement"]["best_interests_made"] = path_rules.best_interests_missing(folded) is None
    # the child sent home by a plan for reunification_done on a supervisor's reason: its best-interests record is owed
    owed = path_rules.best_interests_owed(folded)
    data["home_best_interests_owed"] = {"at": owed} if path_rules.owed_for_plan(folded, owed) else None
    data["reintegration"] = pathway(folded, ctx.policy, ctx.now)
    # the next follow-up as the worker planned it (a date, how often): `due` has it as an item (workflow/followups.py)
    data["followup_plan"] = dict(folded.followup_plan) if folded.followup_plan and folded.status == "open" else None
    data["links"] = case_links(current)
    data["siblings"] = sibling_group(ctx, case_id, current)
    data["continuation"] = continuation(current, data["due"])
    data["transfer"] = transfer_out(ctx, folded, current)
    data["received"] = received_from(current)
    if data["plan"] is not None:  # a closed or transferred case: its plan is this agency's last, in force no more
        data["plan"]["ended_with"] = folded.status if folded.status in ("closed", "transferred") else None
    # as `cpcm check` tells them: the managers' items (a closed case's retention) to a manager only
    manages = ctx.worker is not None and manages_list(ctx, ctx.worker.id)
    data["problems"] = [p.to_json() for p in rules.check_case(folded, ctx.policy, ctx.now, rules.NobodyDecides(ctx.team), manages)]
    # every `at` and `..._at` time in the agency's zone, as `list --json` gives them (the due
    # items keep their own form, as `due --json` has it)
    return {key: value if key == "due" else json_times(value, ctx.zone) for key, value in data.items()}


def continuation(records: Sequence[Record], due_items: Sequence[Mapping[str, Any]]) -> dict | None:
    """Why the case stays open past 18: the latest `cpcm continue` (its justification, who, when)
    and when the next case review is due (from `due_items`, as `show` lists them); None when no
    justification was recorded."""
    found = max((r for r in records if r.kind == "continuation"), key=lambda r: r.id, default=None)
    if found is None:
        return None
    review = next((i["due"] for i in due_items if i.get("code") == "review"), None)
    return {"record_id": found.id, "at": found.at, "by": found.by, "justification": found.body.get("justification"),
            "review_due": review}


def transfer_out(ctx: Context, case: Case, records: Sequence[Record]) -> dict | None:
    """Where a transferred case went: the receiving agency (`to`, its code, and its name in the
    service directory), when and by whom the bundle was written, and when the agency's receipt was
    recorded (`acknowledged_at`, None while it has not come back: `cpcm transfer-ack`); None
    unless the case is transferred."""
    sent = case.transfer_out
    if case.status != "transferred" or not sent:
        return None
    from cpcm.store import directory

    to = str(sent.get("to") or "")
    name = next((str(s.get("provider") or "") for s in directory.load(ctx.store) if str(s.get("id")) == to), "") or None
    by = next((r.by for r in records if r.id == sent["record_id"]), None)
    return {"record_id": sent["record_id"], "to": to or None, "to_name": name, "at": sent["at"], "by": by,
            "acknowledged_at": sent.get("acked_at"), "ack_record": sent.get("ack_record")}


def received_from(records: Sequence[Record]) -> dict | None:
    """Where the case came from when it was received here (`cpcm receive`), from its latest
    `transfer_in` record: the sending agency (`from`, its code, and `from_name`), when it was
    received and by whom, when and by whom there it was sent, and `alias`: the case ID it had
    there, kept when that ID was already used here (a child sent back: the earlier case here);
    None for a case never received."""
    found = max((r for r in records if r.kind == "transfer_in"), key=lambda r: r.id, default=None)
    if found is None:
        return None
    agency = found.body.get("from_agency") if isinstance(found.body.get("from_agency"), Mapping) else {}
    return {"record_id": found.id, "from": str(agency.get("code") or "") or None, "from_name": str(agency.get("name") or "") or None,
            "at": found.at, "by": found.by, "sent_at": found.body.get("transferred_at"), "sent_by": found.body.get("transferred_by"),
            "alias": found.body.get("alias")}


# how a case_link record relates its case to the other: `merge-cases KEEP OTHER` writes `alias: OTHER`
# in KEEP and `merged_into: KEEP` in OTHER; a sync that gives a case a new ID writes `alias: OLD`
# with the reason `same-id` in the renumbered case (service/sync.py); `register --sibling-of` and
# `link A B --sibling` write `sibling: OTHER` in each of the two cases (workflow/siblings.py)
LINK_WORDS = {"merged_with": "merged with {case}: {case} is its alias", "alias_of": "alias of {case}: merged into it, "
              "work goes on there", "former_id": "was {case} (a sync gave it a new ID: that one was taken)",
              "sibling": "sibling of {case}: a brother or sister's case",
              "returned_as": "came back as {case}: the child's case was received here again under that ID; work goes on there"}


def lives_on_in(case: Case, load: Callable[[str], Case | None]) -> Case:
    """The case the work on `case`'s child goes on in: `case` itself, or, for a case merged into another
    (`merge-cases KEEP THIS`), the case it was merged into, its own `merged_into` followed in turn, as far
    as `load` gives them. One that `load` does not give (None, or CpcmError: a case this worker cannot read)
    is given by the ID the last link read names, with no status (its own links unknown): the link says the
    work goes on there. What a duplicate warning names, so that it never sends the work to a case merged away."""
    seen = {case.id}
    while case.merged_into and case.merged_into not in seen:
        try:
            into = load(case.merged_into)
        except CpcmError:
            into = None
        if into is None:
            return Case(case.merged_into, status=None)
        case = into
        seen.add(case.id)
    return case


def case_links(records: list[Record]) -> list[dict]:
    """The case's links to other cases, from its case_link records: the other case, the relation
    (merged_with, alias_of, former_id, returned_as: the same child; sibling: a brother or sister), the reason,
    and the record. A sibling link written twice (on two copies, then synced) is listed once."""
    links, seen = [], set()
    for record in sorted(records, key=lambda r: r.id):
        if record.kind != "case_link":
            continue
        body = record.body
        if body.get("merged_into"):
            other, relation = body["merged_into"], "alias_of"
        elif body.get("alias"):
            other, relation = body["alias"], "former_id" if body.get("reason") == "same-id" else "merged_with"
        elif body.get("returned_as"):
            other, relation = body["returned_as"], "returned_as"
        elif body.get("sibling"):
            other, relation = body["sibling"], "sibling"
            if siblings.REMOVED in body:  # a link made by mistake, taken out (`cpcm link --remove`): linked again later, it is listed
                links = [link for link in links if (link["case_id"], link["relation"]) != (other, relation)]
                seen.discard(other)
                continue
            if other in seen:
                continue
            seen.add(other)
        else:
            continue
        links.append({"case_id": str(other), "relation": relation, "reason": body.get("reason"), "record_id": record.id,
                      "at": record.at, "by": record.by, "text": LINK_WORDS[relation].format(case=other)})
    return links


def sibling_group(ctx: Context, case_id: str, records: list[Record] | None = None) -> list[dict]:
    """The case's sibling group (`siblings.group`): every case its sibling links lead to, through
    the cases this worker reads (a case they cannot read, or that is not here, is named by its ID
    only and its own links are not followed). `records`: the case's own (effective) records, when
    they are read already. Nothing is written: a group is read from the pairs' links."""
    def links_of(other: str) -> list[str] | None:
        if other == case_id and records is not None:
            found = records
        else:
            try:
                found = effective(load_records(ctx, other))
            except CpcmError:  # not this worker's (or not here, or damaged): named by its ID only
                return None
        return _sibling_ids(found)

    return [dict(member, text=LINK_WORDS["sibling"].format(case=member["case_id"])
                 + (f" (linked through {member['through']})" if member["through"] else "")
                 + ("" if member["readable"] else " (a case you cannot read)"))
            for member in siblings.group(case_id, links_of)]


def _sibling_ids(records: list[Record]) -> list[str]:
    """The cases the records' sibling links name, in the order written."""
    return [link["case_id"] for link in case_links(records) if link["relation"] == siblings.RELATION]


def consents_on_file(records: list[Record], now: datetime, used: set[str] | None = None, policy=None) -> list[dict]:
    """Each consent (and supervisor's override) on file: purpose, agency, who gave it, its
    answer, until when, and whether it still holds (given, not expired, a one-off not used;
    `not_informed` where the `policy` asks for an explanation it was given without).
    `used`: the records relied on (`consent.used_ids` of every record, corrected ones with
    them), when `records` are only those that apply."""
    used = consent_rules.used_ids(records) if used is None else used
    latest: dict[tuple, str] = {}
    for record in records:
        if record.kind == "consent":
            b = record.body
            latest[(b.get("purpose"), b.get("agency"), b.get("given_by"))] = record.id
    out = []
    for record in records:
        if record.kind not in ("consent", "consent_override"):
            continue
        b = record.body
        until = str(b.get("until"))[:10] if b.get("until") else None
        expired = bool(until) and until < now.date().isoformat()
        one_off_used = bool(b.get("one_off")) and record.id in used
        if record.kind == "consent_override":
            state = "used" if record.id in used else "expired" if expired else "available"
        elif latest.get((b.get("purpose"), b.get("agency"), b.get("given_by"))) != record.id:
            state = "replaced"
        elif b.get("status") != "given":
            state = str(b.get("status"))
        elif policy is not None and consent_rules.not_explained(b, policy):
            state = "not_informed"
        else:
            state = "expired" if expired else "used" if one_off_used else "valid"
        out.append({"record_id": record.id, "kind": record.kind, "purpose": b.get("purpose"), "agency": b.get("agency"),
                    "given_by": b.get("given_by"), "status": b.get("status"), "basis": b.get("basis"), "at": record.at,
                    "by": record.by, "until": until, "one_off": bool(b.get("one_off")), "state": state,
                    "overridden_by": None, "overridden_by_worker": None})
    for entry in out:  # an answer refused, not possible or not informed: the supervisor's override recorded after it, for the same purpose
        if entry["kind"] == "consent" and entry["state"] in ("refused", "not_possible", "not_informed"):
            override = next((o for o in reversed(out) if o["kind"] == "consent_override"
                             and o["record_id"] > entry["record_id"] and o["purpose"] == entry["purpose"]
                             and o["agency"] == entry["agency"]), None)
            if override is not None:  # the override's record, and who recorded it (a supervisor or manager)
                entry["overridden_by"], entry["overridden_by_worker"] = override["record_id"], override["by"]
    return out


def reviews_on_file(records: Sequence[Record], team=None) -> list[dict]:
    """Each case review in force (`records`: those the case uses, a correction in the place of what
    it corrected), in the order written: when, who recorded it, the chair (a worker of `team`,
    else None: the form takes the name of someone not involved, read in the record), the outcome,
    whether the plan is still right, who attended, the progress counted by status, the plan actions
    it found done (--done A3), the next review it set, and the record it corrects. Codes, ids, dates
    and counts: no free text."""
    from cpcm.workflow import plan_actions

    out = []
    for record in records:
        if record.kind != "review":
            continue
        b = record.body
        attended = b.get("attended") if isinstance(b.get("attended"), Mapping) else {}
        chair = str(b.get("chair") or "")
        worker = team.get(chair, include_removed=True) if team is not None and chair else None
        progress = Counter(str(p.get("status")) for p in b.get("progress") or [] if isinstance(p, Mapping) and p.get("status"))
        done = [str(a) for a in b.get("actions_done") or [] if plan_actions.parse_action(a) == a]  # --done A3, kept as IDs
        next_review = b.get("next_review")
        out.append({"record_id": record.id, "at": record.at, "by": record.by, "chair": worker.id if worker else None,
                    "outcome": b.get("outcome"), "plan_still_right": b.get("plan_still_right"),
                    "attended": {"child": attended.get("child"), "family": attended.get("family")},
                    "progress": dict(progress), "actions_done": done,
                    "next_review": str(next_review)[:10] if next_review else None, "supersedes": _supersedes(record)})
    return out


def open_actions(records: list[Record], case: Case, now: datetime, policy: Policy) -> list[dict]:
    """The actions of the plan in force (else of the latest version) not yet done or dropped (a
    review's progress, or a follow-up's or review's --done), each by its ID with its date and
    whether it is late: due and its date passed, by the rule `cpcm due` lists them by
    (`deadlines.late_actions`)."""
    from cpcm.workflow import plan_actions

    current = plan_actions.in_force(case.plan, policy)
    wanted = (current or case.plan or {}).get("record_id")
    plan_record = next((r for r in records if r.id == wanted), None)
    if plan_record is None:
        return []
    # late as `cpcm due` lists it: not when not due (a referral carries it out, a plan from before the latest reopening)
    late = deadlines_mod.late_actions(case, policy, now)
    status, _last = open_items.progress(records, plan_record)
    out = []
    for action_id, action in zip(open_items.action_ids(records, plan_record), plan_record.body.get("actions") or []):
        entry = status.get(action_id)
        progress = entry[1].get("status") if entry else None
        if not open_items.item_open(progress):
            continue
        by = str(action.get("by"))[:10] if action.get("by") else None
        out.append({"item": action_id, "what": action.get("what"), "who": action.get("who"), "by": by,
                    "goal": action.get("goal"), "progress": progress,
                    "late": action_id in late})
    return out


# -- one record: finding it by a short form, and reading it back ------------------------------------
SHORT_FORMS = ("a record ID (26 characters, as cpcm log lists them)", "last (the last record written)",
               "R1, R2 ... (a referral)", "R1@declined (its update to that status), R1@2 (its second update)",
               "KIND (the latest, e.g. assessment, followup, review, consent, update; plan: the version waiting or in force)",
               "placement (the one in force: the latest by its date)", "KIND@N (the Nth of that kind, e.g. plan@2)",
               "assessment@initial, assessment@comprehensive, assessment@best-interests (the latest of that type)")


def record_counts(records: Sequence[Record]) -> dict[str, int]:
    """How many records the case holds as `cpcm log` lists them (`records_total`: every record
    written, a corrected original and a damaged record a repair stands in for included), how
    many of them a later record corrected or repaired (`records_corrected`), and how many were
    taken out as written in the wrong case (`records_misfiled`: the record, and any correction of
    it, a `misfiled` mark names; counted apart from the corrected). `records` (the fold's history)
    counts those in force: the total less both."""
    records = list(records)
    ids = {r.id for r in records}
    # a mark of a record written in the wrong case stands, and takes out every correction of that record
    taken_out = set(misfiled(records))
    corrected = set(superseded_by(records)) - {r.id for r in records if r.kind == MISFILED} - taken_out
    return {"records_total": len(ids | corrected | taken_out), "records_corrected": len(corrected),
            "records_misfiled": len(taken_out)}


def records_text(total: int, corrected: int, taken_out: int = 0) -> str:
    """What `cpcm show` and `cpcm log` say of a case's records: '12 records (1 corrected, 1 taken
    out as misfiled)'."""
    text = f"{total} record{'' if total == 1 else 's'}"
    said = [f"{corrected} corrected"] * bool(corrected) + [f"{taken_out} taken out as misfiled"] * bool(taken_out)
    return f"{text} ({', '.join(said)})" if said else text


def _supersedes(record: Record) -> str | None:
    target = record.body.get("supersedes")
    return target if isinstance(target, str) else None


def superseded_by(records: list[Record]) -> dict[str, str]:
    """Each record a later one supersedes -> the record that does. Two corrections of one record
    (written on two copies apart): the later replaces the earlier, as in the fold (fold.effective),
    so the earlier is one a later record corrected, the original the earlier's."""
    out: dict[str, str] = {}
    for record in sorted(records, key=lambda r: r.id):
        target = _supersedes(record)
        if target and target < record.id:  # a damaged record, not among those read, included
            while target in out:
                target = out[target]
            out[target] = record.id
    return out


def _not_found(case_id: str, detail: str = "") -> NotFound:
    # the text typed is not echoed: it may be something else than a record reference
    return NotFound(f"{case_id} has no record matching the one given{detail}",
                    "Accepted: " + "; ".join(SHORT_FORMS) + f". See cpcm log {case_id} for its records.")


def find_record(case_id: str, records: list[Record], ref: str, policy: Policy) -> Record:
    """A record by its ID (a superseded one too), or by a short form (these find the records in
    force: a correction stands in for what it corrected). `plan` is the version a worker means,
    the one `plan --from-current` starts from (waiting for a decision, or in force: never one its
    author withdrew); `plan@N` any version. NotFound (exit 3) listing the forms."""
    text = (ref or "").strip()
    by_id = {r.id: r for r in records}
    if text.upper() in by_id:
        return by_id[text.upper()]
    current = effective(records)
    word, _, which = text.lower().partition("@")
    word = word.replace("-", "_")
    if word == "last" and not which:
        return max(records, key=lambda r: r.id)
    if word.startswith("r") and word[1:].isdigit():
        referrals = [r for r in current if r.kind == "referral"]
        number = int(word[1:])
        if not 1 <= number <= len(referrals):
            raise _not_found(case_id, f": it has {len(referrals)} referral(s)")
        if not which:
            return referrals[number - 1]
        # R1@declined: the update of that referral to that status (the latest, in force); R1@N: its Nth update
        updates = [r for r in current if r.kind == "referral_update" and r.body.get("referral") == referrals[number - 1].id]
        status = which.replace("-", "_")
        if status.isdigit():
            if 1 <= int(status) <= len(updates):
                return updates[int(status) - 1]
            raise _not_found(case_id, f": R{number} has {len(updates)} update(s)")
        of_status = [r for r in updates if r.body.get("status") == status]
        if not of_status:
            raise _not_found(case_id, f": R{number} has no update to that status")
        return of_status[-1]
    kinds = {r.kind for r in records} | set(transitions.COMMANDS) | {"update", "consent_override"}
    aliases = {"override": "consent_override", "bid": "assessment", "best_interests": "assessment"}
    kind = aliases.get(word, word)
    if kind not in kinds:
        raise _not_found(case_id)
    of_kind = [r for r in current if r.kind == kind]
    if word in ("bid", "best_interests"):  # the best-interests assessments: bid, bid@2 (the second of them)
        of_kind = [r for r in of_kind if r.body.get("type") == "best_interests"]
        kind = "best_interests assessment"
        if which and not which.isdigit():
            raise _not_found(case_id)
    if which:
        if which.isdigit():
            number = int(which)
            if 1 <= number <= len(of_kind):
                return of_kind[number - 1]
            raise _not_found(case_id, f": it has {len(of_kind)} {kind.replace('_', ' ')} record(s)")
        variant = {"bid": "best_interests"}.get(which.replace("-", "_"), which.replace("-", "_"))
        if kind != "assessment" or variant not in ("initial", "comprehensive", "best_interests"):
            raise _not_found(case_id)
        of_kind = [r for r in of_kind if r.body.get("type", "initial") == variant]
    if not of_kind:
        raise _not_found(case_id, f": it has no {(which or kind).replace('_', ' ')} record")
    if kind == "placement" and not which:
        # the placement in force (where the child lives now): the latest by its date, not the last written, which
        # may be a move recorded late with an earlier --at; placement@N names the Nth written
        in_force_now = fold(case_id, records).placement["record_id"]
        return next(r for r in of_kind if r.id == in_force_now)
    if kind == "plan" and not which:
        from cpcm.workflow import plan_actions

        meant = plan_actions.current_body(current, fold(case_id, records).plan, policy)
        if meant is None:
            raise _not_found(case_id, ": it has no plan version waiting or in force (plan@N names a withdrawn one)")
        return meant
    return of_kind[-1]


def _form_name(ctx: Context, record: Record) -> str | None:
    """The form a record's fields come from (None for kinds written from options only): a
    readiness record's is the form of the version it records, whatever the policy's form is."""
    if record.kind in ("registration", "update"):
        return form_for(ctx, "registration")
    if record.kind == "assessment":
        return form_for(ctx, str(record.body.get("type", "initial")))
    if record.kind in ("readiness", "graduation"):  # on the form of the version it records (Form 8A, the CPARA)
        from cpcm.service.reintegration import form_of

        return form_of(ctx, record) or form_for(ctx, record.kind)
    if record.kind in ("plan", "consent", "followup", "review", "closure", "sign_off", "placement", "tracing",
                       "family_assessment", "preparation", "mandatory_report", "csi"):
        return form_for(ctx, record.kind)
    return None


def _labels(form: Form | None, body: Mapping[str, Any]) -> dict[str, dict]:
    """The form's label (in each language it has) of every field the record holds; a list's
    items as `key[].field`."""
    if form is None:
        return {}
    flat = flatten(body)
    present = set(flat) | set((body.get("changes") or {}) if isinstance(body.get("changes"), Mapping) else ())
    out: dict[str, dict] = {}
    for field in form.fields:
        if field.key in present or any(p.startswith(field.key + ".") for p in present):
            out[field.key] = dict(field.label)
            for sub in field.item:
                out[f"{field.key}[].{sub.key}"] = dict(sub.label)
    return out


def _answers(form: Form | None, body: Mapping[str, Any], lang: str) -> list[dict]:
    """Every value of the record in the form's order (then any key the form does not have), each
    with its label in `lang` (English where the form has no `lang`)."""
    flat = flatten(body)
    fields = {f.key: f for f in (form.fields if form else ())}
    order = list(fields) + [k for k in flat if k not in fields]
    out, seen = [], set()
    for key in order:
        if key not in flat or key in seen:
            continue
        seen.add(key)
        field = fields.get(key)
        label = (field.label.get(lang) or field.label.get("en")) if field else None
        value = flat[key]
        if field is not None and field.item and isinstance(value, list):
            subs = {sub.key: sub for sub in field.item}
            value = [[{"field": k, "label": (subs[k].label.get(lang) or subs[k].label.get("en")) if k in subs else None, "value": v}
                      for k, v in flatten(item).items()] if isinstance(item, Mapping) else item for item in value]
        out.append({"field": key, "label": label, "value": value})
    return out


def describe(record: Record, referral_refs: Mapping[str, str] | None = None, plan_versions: Mapping[str, int] | None = None) -> str:
    """A record's type or purpose in a few words, with codes and ids only (no one's name)."""
    b = record.body
    refs, versions = referral_refs or {}, plan_versions or {}
    kind = record.kind
    if kind == "assessment":
        what = str(b.get("type", "initial")).replace("_", "-")
    elif kind == "consent":
        what = f"{b.get('purpose')}" + (f" to {b['agency']}" if b.get("agency") else "") + f", {b.get('given_by')} {b.get('status')}"
    elif kind == "consent_override":
        what = f"override: {b.get('purpose')}" + (f" to {b['agency']}" if b.get("agency") else "") + f" ({b.get('basis')})"
    elif kind == "plan":
        what = f"version {versions.get(record.id, '?')}" + (f" ({b['reason']})" if b.get("reason") else "")
    elif kind in ("approval", "rejection"):
        what = str(b.get("subject"))
    elif kind == "withdrawal":  # of a plan version, a closure request or a transfer request
        what = str(b.get("subject") or "plan")
    elif kind in ("readiness", "graduation", "csi"):
        what = str(b.get("occasion") or "").replace("_", " ")
    elif kind == "referral":
        what = f"{refs.get(record.id, 'R?')} to {b.get('service')}"
    elif kind == "referral_update":
        what = f"{refs.get(str(b.get('referral')), 'R?')} {b.get('status')}"
    elif kind == "followup":
        what = ", ".join(str(b[k]) for k in ("method", "purpose") if b.get(k))
    elif kind == "review":
        what = str(b.get("outcome") or "")
    elif kind == "closure":
        what = str(b.get("reason") or "") + (" (immediate)" if b.get("immediate") else "")
    elif kind == "assignment":
        what = f"to {b.get('worker')}"
    elif kind == "child_file_release":  # the child's own file given: to whom (a code)
        what = f"given to {b.get('given_to')}"
    elif kind == cover_rules.KIND:
        what = f"{b.get('worker')} until {b.get('until')}"
    elif kind == "keyworker":  # a worker id or the code of who someone outside the team is: never their name
        from cpcm.workflow import keyworker as keyworker_rules

        what = keyworker_rules.described(b)
    elif kind == "update":
        what = "changed: " + ", ".join(sorted(b.get("changes") or {}))
    elif kind == "sign_off":
        what = f"{b.get('subject')} by {b.get('party')}: {str(b.get('decision') or '').replace('_', ' ')}"
    elif kind == "placement":
        what = str(b.get("care_type") or "") + (f", left a CCI ({b['cci_exit']})" if b.get("cci_exit") else "")
    elif kind == "tracing":
        what = str(b.get("outcome") or "")
    elif kind == "family_assessment":
        what = f"{b.get('family')}: {b.get('recommendation')}"
    elif kind == "preparation":
        what = "with " + ", ".join(str(w) for w in b.get("with") or [])
    elif kind == "mandatory_report":  # codes only: the decision, the authority's code, the basis, the concerns
        what = str(b.get("decision") or "")
        if b.get("decision") == "reported" and b.get("to"):
            what += f" to {b['to']}"
        if b.get("basis"):
            what += f" ({b['basis']})"
        if b.get("concerns"):
            what += ": " + ", ".join(str(c) for c in b.get("concerns") or [])
    elif kind in ("transfer_request", "transfer"):
        what = f"to {b.get('to')}"
    elif kind == "conference":  # the link a conference's closing writes in each case it discussed
        what = str(b.get("conference") or "")
    elif kind == "case_link" and b.get("sibling"):
        what = f"{'no longer ' if siblings.REMOVED in b else ''}sibling of {b['sibling']}"
    elif kind == "case_link" and b.get("returned_as"):
        what = f"came back as {b['returned_as']}"
    elif kind == "sync_conflict":  # what a merge found: its code and the records it names (cpcm check says what settles it)
        named = [str(r) for r in b.get("records") or [] if isinstance(r, str)]
        what = str(b.get("code") or "") + (f" ({', '.join(named)})" if named else "")
    elif kind == MISFILED:  # a record taken out as written in the wrong case: ids only, never the reason
        what = f"{b.get('record_kind') or 'record'} {b.get('supersedes')} written in the wrong case"
        moved = b.get("moved_to") if isinstance(b.get("moved_to"), Mapping) else {}
        if moved.get("case"):
            what += f", moved to {moved['case']}" + (f" ({moved['record']})" if moved.get("record") else "")
        return what
    else:
        what = ""
    moved_from = b.get(MOVED_FROM)
    if isinstance(moved_from, Mapping) and moved_from.get("case"):
        what = (what + "; " if what else "") + f"moved from {moved_from['case']}"
    if _supersedes(record):
        what = (what + "; " if what else "") + f"corrects {b['supersedes']}"
    return what


def _describe_all(records: list[Record]) -> dict[str, str]:
    """`describe` for every record, with referral references and plan versions as the fold counts
    them (a correction keeps the number of what it corrected)."""
    current = effective(records)
    refs = {r.id: f"R{n}" for n, r in enumerate([r for r in current if r.kind == "referral"], start=1)}
    versions = {r.id: n for n, r in enumerate([r for r in current if r.kind == "plan"], start=1)}
    stands_for = {r.id: r.body["supersedes"] for r in current if _supersedes(r)}
    for correction, original in stands_for.items():  # a superseded record shows the number its correction took
        while original:
            refs.setdefault(original, refs.get(correction, ""))
            versions.setdefault(original, versions.get(correction, 0))
            original = next((r.body.get("supersedes") for r in records if r.id == original and _supersedes(r)), None)
    refs = {k: v for k, v in refs.items() if v}
    return {r.id: describe(r, refs, versions) for r in records}


def _misfiled_view(records: list[Record], record: Record) -> dict[str, Any] | None:
    """For a record marked as written in the wrong case: the mark (its record ID, who marked it,
    when, why, and where the record was moved: `moved_to` {case, record}, or None); else None."""
    mark_id = misfiled(records).get(record.id)
    mark = next((r for r in records if r.id == mark_id), None) if mark_id else None
    if mark is None:
        return None
    moved = mark.body.get("moved_to")
    return {"record_id": mark.id, "by": mark.by, "at": mark.at, "reason": mark.body.get("reason"),
            "moved_to": dict(moved) if isinstance(moved, Mapping) else None}


def record_view(ctx: Context, case_id: str, records: list[Record], record: Record, lang: str | None = None) -> dict:
    """One record in full, as data: its header, what it is (`what`), the correction it makes or
    that replaced it, its fields exactly as written (`fields`), the form's label of each field
    (`labels`, every language the form has) and every value with its label in the repository's
    language (or in `lang`), in the form's order (`answers`); a choice the form names in words
    (its choice_labels) has them as `words`, and so, in a language other than English, has every
    other choice (`_choice_words`): `show CASE RECORD` prints them with the code beside them."""
    from cpcm.store import forms as forms_store

    name = _form_name(ctx, record)
    try:
        form = forms_store.load(name, ctx.root) if name else None
    except (OSError, ValueError, NotFound):
        form = None
    lang = lang or ctx.config.language or "en"
    body = dict(record.body)
    shown = {k: v for k, v in body.items() if k not in CORRECTION_KEYS and k != MOVED_FROM}  # where it came from: a line of its own
    answers = _answers(form, shown, lang)
    if name:  # a choice the form names in words (an approver, a case category): its words beside its code
        from cpcm.service.documents import form_choice_words

        words = form_choice_words(ctx, [name], lang).get(name, {})
        for answer in answers:
            said = words.get(answer["field"], {})
            value = answer["value"]
            if said and isinstance(value, str) and value in said:
                answer["words"] = said[value]
            elif said and isinstance(value, list) and value and all(isinstance(v, str) and v in said for v in value):
                answer["words"] = [said[v] for v in value]
    if record.kind == "update":  # each changed field with its label, the value before and after
        answers = [{"field": path, "label": (form.field(path).label.get(lang) or form.field(path).label.get("en"))
                    if form and form.field(path) else None, "value": value,
                    "previous": (body.get("previous") or {}).get(path)} for path, value in (body.get("changes") or {}).items()]
        answers.append({"field": "reason", "label": None, "value": body.get("reason"), "previous": None})
    if form is not None:  # every other choice in its words in that language, as a worker answering the form is shown it
        answers = _choice_words(ctx, form, answers, lang)
    corrected = _reference_corrected(records, record)  # the ID stays as written; the record in force in its place beside it
    answers = [dict(a, corrected_since=corrected[a["field"]]) if a["field"] in corrected else a for a in answers]
    view = {
        "case_id": case_id, "record_id": record.id, "kind": record.kind, "what": _describe_all(records)[record.id],
        "at": record.at, "recorded_at": record.recorded_at, "by": record.by, "schema": record.schema,
        "supersedes": _supersedes(record), "correction_reason": body.get("correction_reason"),
        "superseded_by": None if record.kind == MISFILED else superseded_by(records).get(record.id), "form": name,
        "fields": body, "labels": _labels(form, body), "answers": answers,
        "misfiled": _misfiled_view(records, record),
        "corrected_since": corrected,
    }
    if record.kind == "graduation" and form is not None:  # the CPARA: its score, band and benchmarks not achieved
        from cpcm.workflow import readiness as readiness_rules

        try:
            view["graduation"] = readiness_rules.graduation(forms_store.scoring(name, ctx.root) or {}, body).to_json(lang)
        except ValueError:  # another version than the form's, or a form without the scoring
            pass
    if record.kind == "csi":  # the Child Status Index: its ratings, those that need attention, the change since the one before
        from cpcm.service import csi

        table = csi.table(ctx, name)
        if table is not None:
            made = csi.summary(table, effective(records), record, lang, name)
            view["csi"] = {key: made[key] for key in ("ratings", "needs_attention", "changes")}
            view["csi"]["previous"] = (made["previous"] or {}).get("record_id")
    if record.kind in ("referral", "referral_update"):  # the referral by its reference (R1), as every command names it
        # a referral corrected since keeps its reference: the case knows it by the record in force in its place
        from cpcm.workflow.fold import in_force

        target = record.id if record.kind == "referral" else str(body.get("referral") or "")
        wanted = in_force(records).get(target, target)
        view["ref"] = next((r["ref"] for r in fold(case_id, records).referrals if r["record_id"] == wanted), None)
    if record.kind == "referral_update" and view["ref"]:  # `fields` keeps it as written; this answer the ID beside the R-number
        view["answers"] = [dict(a, value=view["ref"], record_id=target) if a["field"] == "referral" else a for a in answers]
    return view


def _choice_words(ctx: Context, form: Form, answers: list[dict], lang: str) -> list[dict]:
    """`answers` with the words of each answer to a choice of `form` (a yes-or-no too; in an entry
    of a list too) in `lang`, as a worker answering the form is shown them beside the code
    (`shown_words`: the form's choice_labels, else the catalog's words for the code; none in
    English): `words`, aligned with `value` as the words of a choice the form names in words (a
    Kenyan case category) are, which keeps its own; an update's value before as `previous_words`.
    A value with no words to show is its code among them; an answer with none has no `words`."""
    if lang in ("", "en"):
        return answers
    words = wording(ctx, form, lang)

    def said(field, value):
        codes = value if isinstance(value, list) else [value]
        if field.type == "boolean":
            codes = [("yes" if c else "no") if isinstance(c, bool) else c for c in codes]
        if not codes or not all(isinstance(c, str) for c in codes):
            return None
        shown = [shown_words(field, c, words) for c in codes]
        if not any(shown):
            return None
        out = [w or c for w, c in zip(shown, codes)]
        return out if isinstance(value, list) else out[0]

    def worded(answer: dict, field) -> dict:
        if field is None or "words" in answer:
            return answer
        value = answer.get("value")
        if field.item and isinstance(value, list):  # a list of entries: each entry's choices
            subs = {sub.key: sub for sub in field.item}
            return dict(answer, value=[[worded(part, subs.get(part.get("field"))) for part in entry] if isinstance(entry, list)
                                       else entry for entry in value])
        if field.type not in ("choice", "choices", "boolean"):
            return answer
        out = dict(answer)
        for key, words_key in (("value", "words"), ("previous", "previous_words")):
            found = said(field, answer.get(key)) if key in answer else None
            if found is not None:
                out[words_key] = found
        return out

    return [worded(answer, form.field(str(answer.get("field") or ""))) for answer in answers]


def _reference_corrected(records: list[Record], record: Record) -> dict[str, str]:
    """The record `record` names (fold.REFERENCES: the best-interests assessment a placement rests
    on, a referral update's referral, an approval's target), when it was corrected since: {the
    field: the ID of the record in force in its place} (`fold.in_force`, as the case reads the
    reference); {} otherwise. `show CASE RECORD` keeps the ID as written and says so beside it."""
    from cpcm.workflow.fold import REFERENCES, in_force

    key = REFERENCES.get(record.kind)
    named = get_path(record.body, key) if key else None
    replaced = in_force(records).get(named.strip()) if isinstance(named, str) and named.strip() else None
    return {key: replaced} if replaced else {}


# -- update and correct ------------------------------------------------------------------------------
NOT_UPDATED = {"worker": "is changed with cpcm assign", "risk": "is re-rated by an assessment or a follow-up (--risk)"}


def _gives_birth_date(paths) -> bool:
    """Whether the fields given (`paths`, dotted) reach the child's date of birth."""
    return any(_reaches(path, "child.date_of_birth") for path in paths)


def _reaches(path: str, key: str) -> bool:
    """Whether a path given (`--set caregiver`) reaches a field's key: the key itself, or one within it
    (`caregiver.name`)."""
    return key == path or key.startswith(path + ".")


def not_given(form, given: Iterable[str]) -> list[str]:
    """The fields of `form` none of the paths `given` reaches: an update or a correction keeps them as
    written, also where the form refuses them now (a `max_length` the agency tightened since), and
    checks only the values given against the form as it is now (`validate`'s `as_written`)."""
    given = list(given)
    return [f.key for f in form.fields
            if not any(_reaches(path, f.key) or _reaches(f.key, path) for path in given)]


def check_updatable(ctx: Context, case: Case) -> None:
    """Refused where `case` takes no update whatever its fields: transferred (read-only here), or at a
    stage that takes none (`check_step`), a closed case's. `update` checks it before the form, and
    `cpcm update` on a terminal before the first question, so that the stage is said first, not
    after a field that putting right would not make the update allowed. A closed case's details are
    corrected instead, on the record that gave them: its refusal names `cpcm correct` (as `check`
    does of a date of birth after the day registered, rules._born_after_text)."""
    if case.status == "transferred":
        raise Refused(f"{case.id} was transferred: it is read-only here", "The receiving agency updates it now.",
                      rule="transition-not-allowed")
    try:
        check_step(ctx, case, "update")
    except Refused as refused:
        if case.status == "closed" and refused.rule == "transition-not-allowed":
            refused.hint = (f"{refused.hint} Its details are corrected on the record that gave them: cpcm correct {case.id} "
                            "RECORD --set FIELD=VALUE --reason ..., RECORD the registration or the update that gave the field.")
        raise


@writes
def update(ctx: Context, case_id: str, data: Mapping[str, Any], reason: str | None, at: datetime | None = None) -> Written:
    """Change registration details (a new address, a caregiver traced, a birth certificate):
    one `update` record holding each changed field's new value, its value before and the
    reason. A field given empty (or null) is removed. The fold takes the latest value; the
    registration and every earlier update keep theirs."""
    what = named_record("update", case=case_id)
    case = load_case(ctx, case_id)
    check_updatable(ctx, case)  # the stage before the form: no field makes an update allowed
    given = {path: (None if is_empty(value) else value) for path, value in flatten(data).items()}
    errors = [FieldError(path, NOT_UPDATED[path.split(".")[0]]) for path in given if path.split(".")[0] in NOT_UPDATED]
    if not said(reason):
        errors.append(FieldError("reason", say_for(ctx)(REASON_REQUIRED)))
    if not given:
        errors.append(FieldError("(fields)", "none given: give the fields that change (flags, --set, or --from-file)"))
    if errors:
        raise InvalidInput(errors, what)
    from cpcm.store import forms as forms_store

    # the criteria the child was found to meet stay valid after the policy drops one (with_kept_choices)
    form = with_kept_choices(forms_store.load(form_for(ctx, "registration"), ctx.root), case.registration or {})
    held = _held_not_both(form, case.registration, given)
    # a field the registration holds that the agency's form has dropped since (form set) stays as written and is
    # not checked again; one given is checked (refused with a value, removed when given empty)
    dropped = [key for key in not_on_form(form, case.registration or {})
               if not any(_reaches(path, key) for path in given)]
    # a field of the form the update does not give stands as written, even where the form refuses it now (a
    # max_length tightened since): only the changes given are checked against the form as it is
    untouched = not_given(form, given)
    # the fields the case holds that clash with those given are checked as the update would leave them once
    # removed: their clash is said once, as such, with the form's other problems
    body, errors = validate(form, apply_update(case.registration, {**given, **{key: None for key in [*held, *dropped]}}),
                            ctx.now.date(), workers_taken(ctx, form, case.registration), wording(ctx, form), untouched)
    if _gives_birth_date(given):  # not after the day registered, as register refuses it
        errors += born_after_registered(ctx, case, body)
    if held:
        raise InvalidInput(list(held.values()) + errors, what, hint=(
            f"To replace what the case holds, give it empty with the update: {' '.join(f'--set {key}=' for key in held)} "
            "(docs/commands/update-correct.md); nothing was written."))
    if errors:
        raise InvalidInput(errors, what)
    before, after = flatten(case.registration), flatten(body)
    keys = [k for path in given for k in sorted({k for k in (*before, *after) if _reaches(path, k)}) or [path]]
    changes = {key: after.get(key) for key in keys if before.get(key) != after.get(key)}
    when = utc((at or ctx.now).isoformat())
    given_all = {key: after.get(key) for key in keys}
    # a value in force given again (beside changed ones, or alone) is written where it settles a clash a sync found
    # over these fields (updates-concurrent: every field named, the one in force included)
    def settled(by: Mapping[str, Any]) -> set:
        return {tuple(c["records"]) for c in settled_conflicts(case, "update", {"changes": by}, when)}
    if settled(given_all) - settled(changes):
        changes = given_all
    if not changes:
        raise Refused(f"nothing to update on {case_id}: every field given already has that value", _clash_fields(case, keys),
                      rule="nothing-to-update")
    previous = {key: before.get(key) for key in changes}
    # where the child lives now, updated after a sync found it placed on one copy and updated on the other; the
    # fields two copies updated apart (updates-concurrent), given again once checked, the value in force included
    settles = settled_by(case, "update", {"changes": changes}, when)
    steps = settles_step(settles) + _lives_with_step(ctx, case, changes, at)
    steps += _another_caregiver_step(case, before, after, set(given))
    record = append(ctx, case, "update", "update", {"changes": changes, "previous": previous, "reason": reason.strip()}, at)
    # the child's age changed: a closure for reached_18 it no longer lets stand
    from cpcm.service.closure import age_corrected_warnings

    aged = any(path in ("child", "child.date_of_birth", "child.age_estimate") for path in changes)
    warnings = tuple(age_corrected_warnings(ctx, case, load_case(ctx, case_id))) if aged else ()
    if any(path.split(".")[0] == "consent" for path in changes):  # the answers as updated: warned of as at registration
        warnings += tuple(_not_informed(ctx, case_id, body))
    return Written(case_id, record.id, "update", warnings=warnings, next_steps=steps, extra={"changed": sorted(changes)},
                   settled=said_settled(case_id, settles))


def _held_not_both(form: Form, registration: Mapping[str, Any] | None, given: Mapping[str, Any]) -> dict[str, FieldError]:
    """The fields the case holds that an update may not keep beside what it gives: a `not_both`
    rule of the form (a date of birth or an estimated age, not both) with a field given a value
    and another held by the case and not given. The form would refuse them as both given, naming
    the held one as if it were missing; each is named as held, with how to replace it (given
    empty with the update: `--set child.age_estimate=` with `--dob`)."""
    held = flatten(registration or {})
    found: dict[str, FieldError] = {}
    for rule in form.rules:
        keys = list(rule.get("not_both") or ())
        new = [key for key in keys if given.get(key) is not None]
        kept = [key for key in keys if not is_empty(held.get(key))
                and not any(_reaches(path, key) for path in given)]
        for key in kept if new else ():
            found[key] = FieldError(key, f"the case holds it, and this update gives {', '.join(new)}: the form takes only one "
                                         "of them")
    return found


def _another_caregiver_step(case: Case, before: Mapping[str, Any], after: Mapping[str, Any], given: set[str]) -> tuple[str, ...]:
    """What an update naming another caregiver leaves as it was, said with the fields to give (never their values):
    the relationship recorded before it; after a placement, where the child lives and how to reach them too, which
    are the registration's again (placements.lives_now: another household), unless given with it."""
    if before.get("caregiver.name") == after.get("caregiver.name") or "caregiver" in given:
        return ()
    kept = [(field, option) for field, option in (("caregiver.relationship", "--caregiver-relationship"),
                                                  ("location", "--location"), ("contact", "--contact"))
            if field not in given and (field == "caregiver.relationship" or case.placement is not None) and before.get(field)]
    if not kept:
        return ()
    where = " (after the placement, the registration's, as before it)" if case.placement is not None and len(kept) > 1 else ""
    return (f"for this caregiver, {', '.join(f for f, _ in kept)} stay as the registration records them{where}: give "
            f"this caregiver's if they differ (cpcm update {case.id} {' '.join(o + ' ...' for _, o in kept)} --reason ...)",)


def _clash_fields(case: Case, keys: Iterable[str]) -> str | None:
    """For an update refused as changing nothing: where a sync's clash over these fields is open
    (updates-concurrent), that it is settled by one update giving every field it names, the values in
    force included (field names only)."""
    given = {str(k).split(".")[0] for k in keys}
    for conflict in case.conflicts:
        fields = [str(f) for f in conflict.get("fields") or ()]
        if conflict["settled_by"] is None and conflict["code"] == UPDATES_CONCURRENT and given & {f.split(".")[0] for f in fields}:
            return (f"The sync conflict {UPDATES_CONCURRENT} ({', '.join(conflict['records'])}) names {', '.join(fields)}: give "
                    f"every one of them in one update (the values in force included) to settle it, or add a note "
                    f"(cpcm note {case.id} --text ...) once checked.")
    return None


def _lives_with_step(ctx: Context, case: Case, changes: Mapping[str, Any], at: datetime | None) -> tuple[str, ...]:
    """What an update of `lives_with` does once a placement is recorded (`placements.lives_with_now`):
    dated after the latest placement, `cpcm show` says who the child lives with from it; dated
    at or before it, the placement's care type still says so and the update changes what the
    registration holds. Names the placement by its record ID and day, never a value."""
    current = case.placement
    if "lives_with" not in changes or current is None:
        return ()
    day = local_day(current["at"], ctx.zone)
    if update_stands(utc((at or ctx.now).isoformat()), current):
        return (f"who the child lives with now is this update's, not the care type of the placement of {day} "
                f"({current['record_id']}); a move into or out of care is recorded as a placement: "
                f"cpcm placement {case.id} --care-type ...",)
    return (f"the placement of {day} ({current['record_id']}) is later by its date: who the child lives with now stays its "
            f"care type; this update changes what the registration says (to record a move: cpcm placement {case.id} "
            f"--care-type ...)",)


CORRECTABLE = ("registration", "update", "assessment", "plan", "consent", "followup", "review", "closure", "note",
               "tracing", "family_assessment", "preparation",  # the steps of reintegration: form records, as a follow-up
               "placement",  # checked again at its corrected date, as `cpcm placement` checks one (service/placements.py)
               "referral_update",  # checked at its place in the referral's history, as `cpcm referral` checks one
               "referral",  # its need, urgency and accompaniment only (service/referrals.py referral_corrected)
               "mandatory_report",  # not its decision (reported or not): a new decision is a record of its own
               "keyworker",  # a name or role mistyped: checked as `cpcm assign --keyworker` checks a nomination
               "readiness", "graduation", "csi",  # on the form they were made on; stops and the CSI's date as the command makes them
               "sign_off",  # by a supervisor or manager, as entered: not what was signed off, by whom, nor the decision
               "consent_override")  # as `cpcm consent --override` checks one (service/referrals.py override_corrected)


def _plan_items(records: list[Record], case: Case, original: Record, base: Mapping[str, Any],
                data: Mapping[str, Any]) -> tuple[dict, list[FieldError]]:
    """A plan correction's goals and actions given by ID, as `plan --from-current --set` takes
    them (`actions.A3.by=...`, `goals.G1.goal=...`): laid over the original version's items,
    each kept with its ID, so the correction holds the whole lists. Given as lists (a file with
    every goal or action), `data` is returned as it is."""
    from cpcm.workflow import plan_actions

    by_id = {k: v for k, v in data.items() if k in ("goals", "actions") and isinstance(v, Mapping)}
    by_id.update({k: v for k, v in data.items() if plan_actions.POSITION.match(str(k))})
    if not by_id:
        return dict(data), []
    ids = plan_actions.ids_by_version(effective(records)).get(original.id) or {"goals": [], "actions": []}
    revised, problems = plan_actions.revise(base, ids, by_id, (), (case.plan or {}).get("last"))
    items = {name: revised[name] for name in ("goals", "actions") if name in by_id}
    return {**{k: v for k, v in data.items() if k not in by_id}, **items}, [FieldError(path, why) for path, why in problems]


def _update_corrected(ctx: Context, case_id: str, case: Case, base: Mapping[str, Any],
                      data: Mapping[str, Any]) -> tuple[dict, list[FieldError]]:
    """An update's correction: the fields given as `cpcm update` takes them (`--set location=...`,
    `caregiver.name=...`, or under `changes.`) replace the values the update recorded; one given
    empty takes that field out of the update. Only the fields the update changed are corrected
    (another is a new update), `previous` is the update's own, and the values pass the
    registration form as an update's do."""
    from cpcm.store import forms as forms_store

    form = with_kept_choices(forms_store.load(form_for(ctx, "registration"), ctx.root), case.registration or {})
    known = {f.key for f in form.fields}
    changes, previous = dict(base.get("changes") or {}), dict(base.get("previous") or {})
    body, errors, given, unnamed = dict(base), [], {}, 0
    for path, value in flatten(data).items():
        if path == "reason":
            body["reason"] = value
        elif path == "previous" or path.startswith("previous."):
            errors.append(FieldError("previous", "is the value before the update, as the update found it: it is not corrected"))
        else:
            given[path.removeprefix("changes.")] = value
    for path, value in given.items():
        if path not in changes and path not in known:  # not repeated: a key typed may hold personal details
            unnamed += 1
        elif path not in changes:
            errors.append(FieldError(path, f"was not changed by this update (it changed: {', '.join(sorted(changes))}); "
                                           f"a new change is a new update: cpcm update {case_id} --set {path}=... --reason ..."))
        elif is_empty(value):
            changes.pop(path)
            previous.pop(path, None)
        else:
            changes[path] = value
    emptied = [path for path, value in given.items() if path in base.get("changes", {}) and is_empty(value)]
    if emptied and not changes:  # an update of nothing: what it changed is put back by giving the value before it
        errors.append(FieldError(", ".join(emptied), f"{'is' if len(emptied) == 1 else 'are'} all this update changed: taken "
                                 f"out, it would change nothing. To take the change back, correct {'it' if len(emptied) == 1 else 'them'} "
                                 f"to the value before the update (cpcm show {case_id} RECORD shows it): --set FIELD=VALUE"))
    if unnamed:
        errors.append(FieldError("…", f"{'is not a field' if unnamed == 1 else f'{unnamed} keys are not fields'} of the registration "
                                      "form (not shown, as a key may hold personal details; cpcm form blank registration lists them)"))
    if given and not errors:
        # the fields the correction does not give stand as written, as an update's do (`not_given`)
        after, problems = validate(form, apply_update(case.registration, changes), ctx.now.date(), workers_taken(ctx, form, case.registration),
                                   wording(ctx, form), not_given(form, given))
        errors += problems
        if not problems and _gives_birth_date(given):  # as `update` checks it
            errors += born_after_registered(ctx, case, after)
        checked = flatten(after)  # the values as the form reads them ('yes' for a yes/no, a date as a date)
        changes = {path: None if value is None else checked.get(path, value) for path, value in changes.items()}
    body["changes"], body["previous"] = changes, previous
    return body, errors


def _keyworker_corrected(ctx: Context, base: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[dict, list[FieldError]]:
    """A keyworker nomination's correction: its fields (`worker`, or `name`, `role`, `contact`;
    `reason`) laid over the original's, checked as `cpcm assign --keyworker` checks a nomination
    (a team worker given keeps the worker named when it was written, who may have left since).
    The caseworker it was nominated beside (`case_worker`) is the command's, not corrected; a key
    that is none of the fields is counted, never named (it may hold what was typed about someone)."""
    from cpcm.workflow import keyworker as keyworker_rules

    errors: list[FieldError] = []
    unknown = [k for k in data if k not in keyworker_rules.FIELDS]
    if "case_worker" in unknown:
        errors.append(FieldError("case_worker", "is the caseworker when the keyworker was nominated: it is not corrected"))
    unnamed = len([k for k in unknown if k != "case_worker"])
    if unnamed:
        errors.append(FieldError("…", f"{'is not a field' if unnamed == 1 else f'{unnamed} keys are not fields'} of a keyworker "
                                      f"nomination (not shown; its fields: {', '.join(keyworker_rules.FIELDS)})"))
    given = {k: v for k, v in data.items() if k in keyworker_rules.FIELDS}
    merged = laid_over({k: v for k, v in base.items() if k in keyworker_rules.FIELDS}, given)
    outside = ("name", "role", "contact")
    if given.get("worker") and not any(k in given for k in outside):  # a team worker instead of someone outside it
        for key in outside:
            merged.pop(key, None)
    if given.get("name") and "worker" not in given:  # someone outside the team instead of a team worker
        merged.pop("worker", None)
    body = keyworker_rules.body_of(*(merged.get(k) if isinstance(merged.get(k), str) else None for k in keyworker_rules.FIELDS))
    active = workers_taken(ctx, None, base, keys=("worker",))  # the worker it named stands, who may have left the team
    errors += _keyworker_errors(ctx, body, active, correcting=True)
    if "case_worker" in base:
        body["case_worker"] = base["case_worker"]
    return body, errors


def _keyworker_errors(ctx: Context, body: dict, active: Sequence[str], correcting: bool = False) -> list[FieldError]:
    """What is wrong with a nomination's `body` (`keyworker.problems`), its role read first as the
    documents print it (`_keyworker_role`): a role refused there is named once, in the repository's
    language, not again by the rule; the role field is the option's name, or `role` when correcting."""
    from cpcm.workflow import keyworker as keyworker_rules

    role_field = "role" if correcting else keyworker_rules.OPTIONS["role"]
    refused = _keyworker_role(ctx, body, role_field)
    return refused + [FieldError(field, why) for field, why in keyworker_rules.problems(body, active, correcting=correcting)
                      if not (refused and field == role_field)]


def _keyworker_role(ctx: Context, body: dict, role_field: str) -> list[FieldError]:
    """The role of someone outside the team in a nomination's `body`, typed as its code or its words in
    the repository's language, as the documents print them (`option_code`: "mwalimu" for teacher in
    Kiswahili): the code put in its place; one that is neither refused in that language (named
    `role_field`), naming the roles with their words, in the place of the rule's own refusal of it
    (`keyworker.problems`, which then reads the code)."""
    from cpcm.workflow import keyworker as keyworker_rules

    if not body.get("role") or body.get("worker"):
        return []
    code, why = option_code(ctx, "role", body["role"], keyworker_rules.ROLES, field_words="role")
    if why is not None:
        return [FieldError(role_field, why)]
    body["role"] = code
    return []


def _risk_before(case_id: str, records: Sequence[Record], original: Record) -> str | None:
    """The case's risk level before `original`: the records that apply before it (effective: a
    correction in the place of what it corrects), folded with the records they stand in for."""
    applied = effective(records)
    before = applied[:applied.index(original)]
    by_id, keep = {r.id: r for r in records}, {r.id for r in before}
    for record in before:
        target = record.body.get("supersedes")
        while target in by_id and target not in keep:
            keep.add(target)
            target = by_id[target].body.get("supersedes")
    return fold(case_id, [r for r in records if r.id in keep]).risk


# the records a supervisor decides (approvals.decision_of): what a decision stood on is the fields their form
# marks `decided: true` (cpcm/forms/plan.yaml, closure.yaml)
DECIDED = ("plan", "closure", "mandatory_report")


def _check_decided(ctx: Context, case_id: str, case: Case, records: Sequence[Record], original: Record,
                   base: Mapping[str, Any], body: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Refuse a correction that changes what a supervisor approved or rejected in a plan version
    or a closure request (the fields its form marks `decided`), unless the worker correcting may
    decide that record (`approvals.may_correct`): the approval would otherwise be read as covering
    what no supervisor saw. A request still waiting for its decision is corrected by its worker
    as before (the supervisor decides the correction)."""
    decision = approvals.decision_of(effective(records), original.kind, original.id)
    if decision is None:
        return
    changed = decided_changes(ctx, original.kind, base, body)
    if not changed:
        return
    first = first_of_chain(records, original)  # the record that asked
    made = conference_version(records, first) if original.kind == "plan" else None  # a conference's close wrote it
    if approvals.may_correct(ctx.policy, original.kind, ctx.worker, case, first.by, made):
        return
    decided = "approved" if decision.kind == "approval" else "rejected"
    what = {"plan": "plan version", "mandatory_report": "the decision not to report"}.get(original.kind, "closure request")
    message = (f"{what} {original.id} of {case_id} was {decided} by {decision.by} ({decision.id}): this correction would "
               f"change what was {decided} ({', '.join(changed)})")
    barred = sorted(approvals.barring_decided(ctx.policy, original.kind, case, first.by, made))
    who = ("only a supervisor or manager who may decide it" + (f" (not {' or '.join(barred)})" if barred else "")
           + " corrects it as it stands")
    if made and made["by"] in barred:  # its chair, where the policy does not let her decide the conference's version
        who += (f": plan_approval.{approvals.CONFERENCE_VERSIONS} is false here, so the chair of conference {made['id']} "
                "does not decide the version its close wrote")
    if original.kind == "plan":
        flat = flatten(given)
        if any(isinstance(flat.get(name), list) for name in ("goals", "actions")):  # whole lists, from a file
            line = f"cpcm plan {case_id} --edit --reason correction"
        else:
            line = f"cpcm plan {case_id} --from-current --reason correction {_set_line(flat)}"
        starts = ("" if (case.plan or {}).get("record_id") == original.id
                  else f"; it starts from the current version, not this one: cpcm show {case_id} plan")
        hint = (f"Write the change as the next version: {line} (it waits for a supervisor's decision while the version "
                f"in force stays in force{starts}). Or {who}; the notes, who took part and the child's copy are "
                f"corrected as before.")
    elif original.kind == "mandatory_report":
        hint = (f"To change it, record a new decision (cpcm mandatory-report {case_id} ...), which replaces this one, or {who}; "
                "the reference number and the date reported are corrected as before.")
    else:
        again = "" if decision.kind == "approval" else f"ask for the closure again (cpcm close {case_id} --reason ...), or "
        hint = (f"To change it, {again}{who}; or record what you found in a note (cpcm note {case_id} --text -). "
                f"The feedback's words, the summary and the notes are corrected as before.")
    raise Refused(message, hint, rule="correction-changes-decided")


def _reason_from_file(ctx: Context, original: Record, data: Mapping[str, Any], reason: str | None,
                      what: str) -> tuple[dict, str | None]:
    """A correction file's `reason:` where the record has no field of that name (a registration, a
    follow-up): the correction's reason, as `cpcm update --from-file` takes an update's; it was
    refused as a key of no field, not shown, beside 'reason: is required'. Given with another
    --reason too: InvalidInput naming reason."""
    if "reason" not in data or "reason" in original.body:
        return dict(data), reason
    from cpcm.store import forms as forms_store

    name = _form_name(ctx, original)
    if name and any(f.key == "reason" for f in forms_store.load(name, ctx.root).fields):
        return dict(data), reason
    typed = data["reason"] if isinstance(data["reason"], str) else None
    if said(reason) and said(typed) and reason.strip() != typed.strip():
        raise InvalidInput([FieldError("reason", "is given twice, in the file and with --reason: give the correction's "
                                                 "reason once")], what)
    return {k: v for k, v in data.items() if k != "reason"}, reason if said(reason) else typed


def correction_named(records: Sequence[Record], original: Record) -> str:
    """The record a correction's refusal names as the one corrected: `original` by its ID, or, where it is itself a
    correction (`registration` finds the correction in force), the record first written, which the worker asked to
    correct, with the correction that stands for it ('01REG… (corrected by 01COR…)'), as `already-corrected` names both."""
    first = first_of_chain(records, original)
    return original.id if first is original else f"{first.id} (corrected by {original.id})"


def first_of_chain(records: Sequence[Record], record: Record) -> Record:
    """The first record of `record`'s chain of corrections (the one it, or the one it corrects, corrects)."""
    by_id = {r.id: r for r in records}
    first = record
    while first.body.get("supersedes") in by_id:
        first = by_id[first.body["supersedes"]]
    return first


def _closure_cycle(case_id: str, records: Sequence[Record], original: Record, case: Case) -> Case:
    """The case as it stood when the closure request `original` (the first of its chain) was made:
    a correction of a closure from before a reopening is judged in its own cycle, not the one since."""
    first = first_of_chain(records, original)
    if not any(r.kind == "reopen" and r.id > first.id for r in records):
        return case
    applied = effective(records)
    place = places(records)  # a record corrected since stands where the first record of its chain was
    return fold(case_id, [r for r in applied if place.get(r.id, r.id) < first.id])


def _check_reason_changed(ctx: Context, case_id: str, case: Case, records: Sequence[Record], original: Record) -> None:
    """A closure asked for one reason and corrected to another is a request for that other reason,
    which `cpcm close` checks whole (its checklist, the follow-ups before closing, the readiness and
    the sign-off where the policy asks them): its worker withdraws it and asks again. A supervisor
    or manager who may decide it corrects it as it stands (approvals.may_correct): their decision is
    the check."""
    first = first_of_chain(records, original)
    if approvals.may_correct(ctx.policy, "closure", ctx.worker, case, first.by):
        return
    raise Refused(f"closure request {original.id} of {case_id} was asked for '{original.body.get('reason')}': a closure for "
                  "another reason is a request of its own, checked whole as cpcm close checks it",
                  f"Withdraw this one (cpcm close {case_id} --withdraw --reason ...) and ask again with the reason "
                  f"(cpcm close {case_id} --reason REASON --check ...); or a supervisor or manager who may decide it "
                  "corrects it as it stands.", rule="correction-changes-decided")


def _closure_corrected(ctx: Context, case_id: str, case: Case, records: Sequence[Record], original: Record,
                       base: Mapping[str, Any], body: Mapping[str, Any], at: datetime | None) -> list[FieldError]:
    """A closure request's correction checked as `cpcm close` checks it: a reason or checklist changed
    (`reason_errors`); and a request for reached_18 judged on the day it is dated after the correction
    (its `--at`, else the day it was asked on), a correction that moves only its date included."""
    from cpcm.service.closure import closure_day, reason_errors
    reason, changed = str(body.get("reason")), body.get("reason") != base.get("reason")
    moved = at is not None and reason == transitions.AGE_REASON
    if not moved and (body.get("reason"), body.get("checklist")) == (base.get("reason"), base.get("checklist")):
        return []
    day = closure_day(ctx, at or parse_datetime(original.at))  # reached_18: the day the request is dated, as corrected
    cycle = _closure_cycle(case_id, records, original, case)
    errors = reason_errors(ctx, cycle, reason, list(body.get("checklist") or []), correcting=True, outcome=changed, on=day)
    if moved and not changed:  # its reason stays: only the age on its new day is checked again
        young = transitions.closure_age_problem(cycle, reason, age_limit(ctx.policy), day)
        errors += [FieldError("reason", young, rule="closure-reason-age")] if young else []
    return errors


def _registration_after_records(ctx: Context, case, records: list[Record], registration: Record,
                                at: datetime | None) -> list[FieldError]:
    """A registration's time corrected (`at`) to after the earliest record of its cycle (those
    dated from the `registration` in force to the first reopening): refused, as a record's --at
    before the registration is (`at_errors`): that record would count for no clock (the initial
    assessment listed as due again). It may move earlier, or up to that record. A record dated
    before the registration already (written under a clock behind it) does not stop it: it is
    corrected on its own."""
    if at is None:
        return []
    from cpcm.domain.dates import local_text

    began = datetime.fromisoformat(registration.at)
    ended = min((datetime.fromisoformat(r) for r in case.reopenings), default=None)
    dated = [r for r in effective(records) if r.kind != "registration" and datetime.fromisoformat(r.at) >= began
             and (ended is None or datetime.fromisoformat(r.at) < ended)]
    first = min(dated, key=lambda r: datetime.fromisoformat(r.at), default=None)
    if first is None or at <= datetime.fromisoformat(first.at):
        return []
    return [FieldError("at", f"is after the case's earliest record, the {first.kind.replace('_', ' ')} {first.id} "
                             f"({local_text(first.at, ctx.zone)}): a registration's time may move earlier, or up to that "
                             f"record, not past it (a record dated before the registration counts for no clock); if that "
                             f"record's time is wrong, correct it first: cpcm correct {case.id} {first.id} --at WHEN --reason ...")]


_SHOWN_PATH = re.compile(r"[A-Za-z0-9_]{1,40}(?:\.[A-Za-z0-9_]{1,40}){0,4}")  # a --set path named in a hint (field names and IDs)


def _set_line(paths) -> str:
    """The `--set` options of a hint that corrects `paths` again, with no values: only the paths a
    hint may name (`_SHOWN_PATH`: field names and IDs, never words typed as keys), else `--set FIELD=...`."""
    return " ".join(f"--set {p}=..." for p in paths if _SHOWN_PATH.fullmatch(p)) or "--set FIELD=..."


@writes
def correct(ctx: Context, case_id: str, ref: str, data: Mapping[str, Any], reason: str | None, at: datetime | None = None,
            sets: Sequence[tuple[str, str]] = ()) -> Written:
    """Correct a record: a new record of the same kind with `supersedes: <its id>` and the
    reason, holding the original's fields with `data` laid over them (a field given empty is
    removed), when it happened (`at`, default the original's). `sets`: the `--set` pairs, laid
    over `data` as the record's form takes them (`setpaths.put_pairs`: a list given by repeating a
    field, or entry by entry). The original stays in git and in `cpcm log`; the fold uses the
    correction in its place."""
    records = load_records(ctx, case_id)
    original = find_record(case_id, records, ref, ctx.policy)
    if sets:
        from cpcm.store import forms as forms_store

        form_name = _form_name(ctx, original)
        form = forms_store.load(form_name, ctx.root) if form_name else None
        data = put_correction(form, original.body, dict(data), sets)
    what = f"correction of {correction_named(records, original)}"
    data, reason = _reason_from_file(ctx, original, data, reason, what)
    given = data  # as typed: the fields a refused correction names (a plan's `--set` paths)
    refuse_if_misfiled(case_id, records, original, ref)
    superseded = superseded_by(records)
    later = superseded.get(original.id)
    while later in superseded:  # the correction in force (corrections of it, or one written apart that replaced it)
        later = superseded[later]
    if later:
        raise Refused(f"{original.id} was already corrected by {later}", f"Correct the correction: cpcm correct {case_id} {later} ...",
                      rule="already-corrected")
    if original.kind not in CORRECTABLE:
        kind = original.kind.replace("_", " ")
        # a case's conference record holds its part of the conference's minutes: replacing them corrects it
        hint = (f"It reads as the minutes of {original.body.get('conference')}: replace them (cpcm conference update "
                f"{original.body.get('conference')} --minutes FILE --reason TEXT) and this record is corrected with them."
                if original.kind == "conference" and original.body.get("conference") else
                "Corrected here: " + ", ".join(k.replace("_", " ") for k in CORRECTABLE) + ". A decision is changed by a "
                "new decision, an assignment or a cover by cpcm assign. What this record says wrongly is put right "
                f"beside it in a note, which stays in the case's history with it: cpcm note {case_id} --text TEXT")
        raise Refused(f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} record cannot be corrected with cpcm correct", hint,
                      rule="correction-not-supported")
    case = fold(case_id, records)
    if case.status == "transferred":
        raise Refused(f"{case_id} was transferred: it is read-only here", rule="transition-not-allowed")
    if not data and at is None:  # not "every field given already has that value": none was given
        raise nothing_given(ctx, case_id, original)
    errors = []
    if not said(reason):
        errors.append(FieldError("reason", "is required: say what was wrong"))
    # a registration's time may move earlier; another record's stays within its cycle (the reopening it followed)
    errors += at_errors(ctx, None if original.kind == "registration" else case, at, dated=utc(original.at))
    if original.kind == "registration":
        errors += _registration_after_records(ctx, case, records, original, at)
    base = {k: v for k, v in original.body.items() if k not in CORRECTION_KEYS}
    name = _form_name(ctx, original)
    warned: list[str] = []  # the record checked again as its command checks it: a placement's warnings, a readiness record's stops
    if original.kind == "update":
        body, problems = _update_corrected(ctx, case_id, case, base, data)
        errors += problems
        if not problems and (not isinstance(body.get("changes"), Mapping) or not body["changes"]):
            errors.append(FieldError("changes", "must hold at least one field"))
    elif original.kind == "placement":
        from cpcm.service import placements as placement_service

        try:
            body, warned = placement_service.corrected(ctx, case_id, records, original, data, at)
        except InvalidInput as exc:
            body, warned = base, []
            errors += exc.errors
    elif original.kind in ("referral_update", "referral"):
        from cpcm.service import referrals as referral_service

        corrected = referral_service.update_corrected if original.kind == "referral_update" else referral_service.referral_corrected
        body, problems = corrected(ctx, case_id, records, original, data, at)
        errors += problems
    elif original.kind == "keyworker":
        body, problems = _keyworker_corrected(ctx, base, data)
        errors += problems
    elif original.kind == "consent_override":
        from cpcm.service.referrals import override_corrected

        body, problems = override_corrected(ctx, case_id, records, original, base, data)
        errors += problems
    elif original.kind == "note":
        body = laid_over(base, data)
        unknown = [k for k in data if k not in ("text", "seen", NOTE_SETTLES, MOVED_FROM)]
        if unknown:  # was said as an empty text, whatever the text given
            errors.append(unnamed_keys(len(unknown), "a note", ("text",)))
        if set(body) - {"seen", NOTE_SETTLES, MOVED_FROM} - set(unknown) != {"text"} or not str(body.get("text") or "").strip():
            errors.append(FieldError("text", "a note has one field, text, and it must not be empty"))
        # what its writer saw out of order and the conflicts open (cpcm note), where it was moved from (--misfiled --to)
        for key in ("seen", NOTE_SETTLES, MOVED_FROM):
            if body.get(key) != base.get(key):
                errors.append(FieldError(key, "cannot be changed by a correction (it is set by the command that wrote the record)"))
    else:
        from cpcm.store import forms as forms_store

        if original.kind == "plan":
            data, problems = _plan_items(records, case, original, base, data)
            errors += problems
        if original.kind == "csi":  # a rating given as its code (FAIR), as `cpcm readiness --form csi` takes it
            from cpcm.service import csi

            data = csi.given(ctx, name, data)
        form = with_kept_choices(forms_store.load(name, ctx.root), base)  # an id a policy dropped since, as recorded
        fields = [f.key for f in form.fields]
        extras = {k: v for k, v in base.items() if not any(f == k or f.startswith(k + ".") for f in fields)}
        for key in [k for k in data if k in extras]:
            if data[key] != extras[key]:
                errors.append(FieldError(key, "cannot be changed by a correction (it is set by the command that wrote the record)"))
        merged = laid_over({k: v for k, v in base.items() if k not in extras}, {k: v for k, v in data.items() if k not in extras})
        # the fields the correction does not give stand as written, as an update's do (`not_given`)
        body, form_errors = validate(form, merged, ctx.now.date(), workers_taken(ctx, form, base), wording(ctx, form),
                                     not_given(form, flatten(data)))
        # an entry's field named as --set reaches it (actions.A3.by, people.1.found), not as the form numbers it
        errors += [replace(e, field=as_set(e.field, merged), reason=e.reason + (
            " (the record's own reason: --set reason=TEXT; --reason says why you correct it)" if e.field == "reason" else ""))
            for e in form_errors]
        body = {**extras, **body}
        if original.kind == "registration" and not form_errors and \
                (at is not None or _gives_birth_date(flatten(data))):
            # a date of birth after the day registered, as corrected (either date): refused, as `cpcm register --at` refuses it.
            # The date of birth in force after the correction is checked: an update's since, where one changed it
            # (the registration's own, replaced, no longer says when the child was born), else the registration's as corrected
            day = (at or datetime.fromisoformat(original.at)).astimezone(ctx.zone).date()
            updated_since = get_path(case.registration or {}, "child.date_of_birth") != get_path(base, "child.date_of_birth")
            found = born_after_registered(ctx, case, case.registration if updated_since else body, day,
                                          "--at" if at is not None else BY_REGISTRATION_TIME, BORN_AFTER_EITHER)
            errors += found
        if original.kind == "closure" and merged.get("reason") != base.get("reason"):
            # the reason of a request decided already is refused as a change of what was decided first, not by the
            # new reason's checklist (a request still waiting is checked as cpcm close checks it, below)
            _check_decided(ctx, case_id, case, records, original, base, merged, given)
        if original.kind == "closure" and not form_errors:
            errors += _closure_corrected(ctx, case_id, case, records, original, base, body, at)
        if original.kind == "sign_off":
            from cpcm.service.closure import may_sign_off, sign_off_corrected

            may_sign_off(ctx)
            errors += sign_off_corrected(case_id, base, body)
        if original.kind in ("readiness", "graduation", "csi") and not form_errors:
            from cpcm.service import reintegration

            body, warned = reintegration.corrected(ctx, original, name, base, data, body, at)
        if original.kind == "mandatory_report":
            from cpcm.workflow import mandatory_report as mandatory_rules

            errors += [FieldError(key, why) for key, why in mandatory_rules.authority_errors(ctx.policy, body)]
            if body.get("decision") != base.get("decision"):
                errors.append(FieldError("decision", "cannot be changed by a correction: record the new decision with "
                                                     f"cpcm mandatory-report {case_id} ... (it replaces this one)"))
        if original.kind in ("assessment", "followup") and body.get("risk") != base.get("risk"):
            errors += risk_reason_errors(_risk_before(case_id, records, original), body)
        if original.kind == "followup":  # the next follow-up it plans, checked as `cpcm followup` checks it
            from cpcm.service.followups import schedule_errors

            errors += schedule_errors(ctx, case, body, at or original.at, base)
        if original.kind == "plan":
            for index, goal in enumerate(body.get("goals") or [], start=1):
                goal.setdefault("id", f"G{index}")
            if (body.get("reason") != base.get("reason") or at is not None) and not errors:
                # corrected into the child's return home, or the return home's date corrected: the placement's
                # best-interests rule at the version's (corrected) date, as writing it asks; a supervisor's reason
                # recorded with the version stands, whoever corrects it (as for a placement corrected)
                from cpcm.service.placements import home_checked

                kept = base.get("best_interests_override")
                home, _ = home_checked(ctx, case, records, body, utc((at or datetime.fromisoformat(original.at)).isoformat()),
                                       None, kept_override=kept if isinstance(kept, Mapping) else None, correcting=True)
                warned += home
    if errors:
        raise InvalidInput(errors, what)
    if transitions.command_of(original.kind, dict(body)) != transitions.command_of(original.kind, dict(base)):
        raise Refused(f"a correction of {original.id} must do what it did ({transitions.command_of(original.kind, dict(base))})",
                      "Record the other kind of record with its own command.", rule="correction-changes-kind")
    if body == base and at is None:
        raise Refused(f"nothing to correct in {original.id}: every field given already has that value", rule="nothing-to-correct")
    if original.kind in DECIDED:
        _check_decided(ctx, case_id, case, records, original, base, body, given)
    if original.kind == "closure" and body.get("reason") != base.get("reason"):
        _check_reason_changed(ctx, case_id, case, records, original)
    body = {"supersedes": original.id, "correction_reason": reason.strip(), **body}
    when = at or datetime.fromisoformat(original.at)
    record = new_record(ctx, original.kind, case_id, body, when, schema=original.schema, after=max(r.id for r in records))
    folded = fold(case_id, records)
    check_cover(ctx, folded)
    with transaction(ctx, "correct") as tx:
        readers, ended = end_expired_covers(ctx, tx, folded)
        tx.write_record(record, keys_for(ctx, readers))
        tx.commit(f"correct {case_id} {record.id}{ended}")
    # the sync conflicts it settles (a placement corrected to a later date, say), or leaves open again: said as any write's
    after = fold(case_id, [*records, record])
    reopened = note_corrected(ctx, folded, after, record)
    # the child's age corrected (a registration's, an update's): a closure for reached_18 it no longer lets stand
    from cpcm.service.closure import age_corrected_warnings

    aged = tuple(age_corrected_warnings(ctx, folded, after)) if original.kind in ("registration", "update") else ()
    extra: dict[str, Any] = {"supersedes": original.id}
    steps: tuple[str, ...] = ()
    if original.kind == "placement":  # which placement was corrected, as a worker knows it: its day and care type
        from cpcm.service.placements import renamed_steps

        extra["placement"] = {"at": local_day(original.at, ctx.zone), "care_type": base.get("care_type")}
        steps = tuple(renamed_steps(case_id, after, record.id))
    if original.kind == "plan":
        warned = [*warned, *_superseded_plan(ctx, case_id, after, record.id, given)]
    return Written(case_id, record.id, original.kind, extra=extra, next_steps=steps,
                   warnings=tuple(_consent_corrected_away(case_id, [*records, record], record.id))
                   + tuple(warned) + tuple(reopened) + aged)


def _superseded_plan(ctx: Context, case_id: str, case: Case, corrected: str, given: Mapping[str, Any]) -> list[str]:
    """The warning of a plan version corrected though a later version is in force
    (`plan_actions.superseded_in_force`: a later conference's close or a plan of the worker's
    copied its actions on): the correction is written, but the plan in force, `cpcm due` and
    `cpcm check` read the later version, which it does not change. Names that version's record
    and the line that corrects it, with the same `--set` fields (never their values), or, where it
    no longer holds the actions corrected, says there is nothing in it to mend. Likewise
    where a later version waits for approval (`plan_actions.waiting_after`) and holds what was
    corrected: it copied it as it was, and its approval would put that back in force."""
    from cpcm.workflow import plan_actions

    later = plan_actions.superseded_in_force(case.plan, corrected, ctx.policy)
    pending = plan_actions.waiting_after(case.plan, later["record_id"] if later else corrected, ctx.policy)
    if later is None and pending is None:
        return []
    flat = flatten(given)
    whole = any(isinstance(flat.get(name), list) for name in ("goals", "actions"))
    number = list((case.plan or {}).get("versions") or {}).index(corrected) + 1  # superseded_in_force found it there
    warnings = []
    if later is not None:
        superseded = (f"plan version {number} ({corrected}) of {case_id} is not the plan in force: version {later.get('version')} "
                      f"({later['record_id']}), written since, is")
        kept = flat if whole else _held_paths(flat, later)
        if flat and not kept:  # every path an action the version in force no longer has: a line correcting it would be refused
            gone = sorted({p.split(".")[1] for p in flat}, key=lambda i: plan_actions.id_number(i, plan_actions.ACTION) or 0)
            warnings.append(f"{superseded}, and no longer holds the actions corrected ({', '.join(gone)}): nothing in the plan "
                            f"in force to mend (cpcm show {case_id} plan)")
        else:
            sets = _set_line(() if whole else kept)
            warnings.append(f"{superseded}, and this correction does not change it (cpcm due and cpcm check read that one); to "
                            f"correct it too: cpcm correct {case_id} {later['record_id']} {sets} --reason TEXT")
    held = None if pending is None else _held_paths(flat, pending)
    if held is not None and (whole or held):
        sets = _set_line(() if whole else held)
        warnings.append(f"plan version {pending.get('version')} ({pending['record_id']}) of {case_id}, written since, waits for "
                        f"approval and holds what this correction changes as it was: once approved it is the plan in force, "
                        f"and this correction does not change it; to correct it too: cpcm correct {case_id} "
                        f"{pending['record_id']} {sets} --reason TEXT")
    return warnings


def _held_paths(flat: Mapping[str, Any], version: Mapping[str, Any]) -> list[str]:
    """The corrected paths (`flat`: the correction's fields by path) a later plan version
    (`version`: its summary) holds: those of an action it no longer has (`actions.A1.by`, A1
    removed since) are left out, as a correction of that version could not name it."""
    ids = {str(a.get("id")).upper() for a in version.get("actions") or []}
    return [p for p in flat if not (p.startswith("actions.") and p.split(".")[1].upper() not in ids)]


def nothing_given(ctx: Context, case_id: str, original: Record) -> UsageError:
    """A correction given no field and no --at: how the fields are given, with a field of the record's
    form for an example and the command that lists the form's fields (never a value)."""
    from cpcm.store import forms as forms_store

    name = _form_name(ctx, original)
    form = forms_store.load(name, ctx.root) if name else None
    example = "text" if original.kind == "note" else next((f.key for f in form.fields if f.type != "list"), None) if form else None
    how = f"--set PATH=VALUE (e.g. --set {example}=...)" if example else "--set PATH=VALUE"
    lists = (f"cpcm form blank {name} lists the field names, and " if name else "") + \
        f"cpcm show {case_id} {original.id} --json the record's fields"
    return UsageError(f"nothing to correct in {original.id}: no field was given (--set, --from-file) and no --at",
                      f"Give the fields to correct with {how}, or in a YAML file with --from-file FILE; {lists}. "
                      "Nothing was written.")


def _consent_corrected_away(case_id: str, records: list[Record], correction: str) -> list[str]:
    """What a consent's correction means for the referrals sent on it and the transfer request
    still to be carried out on it (workflow/consent.py `corrected_away`): each one it leaves
    without valid consent, a referral named by its reference, a request by its record id."""
    items = [i for i in consent_rules.corrected_away(records) if i["correction"] == correction]
    if not items:
        return []
    case = fold(case_id, records)
    referrals = {r["record_id"]: r for r in case.referrals}
    request = (case.transfer_request or {}).get("record_id")
    out = []
    for item in items:
        if "transfer_request" in item:  # a request withdrawn, rejected or carried out asks for nothing any more
            if item in consent_rules.open_corrected_away(case.transfer_request):
                out.append(consent_rules.corrected_away_text(case_id, request, item))
            continue
        referral = referrals.get(item["referral"]) or {}
        ref = referral.get("ref") or item["referral"]
        if referral.get("status") == "closed":
            out.append(f"referral {ref} ({item['service']}), now closed, was sent on the {item['giver']}'s consent "
                       f"{item['consent']}, and this correction says {item['why']}: it went without valid consent")
        else:
            out.append(consent_rules.corrected_away_text(case_id, ref, item))
    return out


@writes
def note(ctx: Context, case_id: str, text: str, at: datetime | None = None) -> Written:
    """A case note (allowed on closed and transferred cases too)."""
    if not (text or "").strip():
        raise InvalidInput([FieldError("text", "is empty")], f"note on {case_id}")
    case = load_case(ctx, case_id)
    seen = rules.out_of_order(case)  # the records out of order check reports now: the note answers those (fold.answered)
    # the sync conflicts check reports now: the note settles those, and only those (fold._note_settles)
    settles = [c["record_id"] for c in case.conflicts if c["settled_by"] is None]
    record = append(ctx, case, "note", "note", {"text": text.strip(), **({"seen": seen} if seen else {}),
                                                **({NOTE_SETTLES: settles} if settles else {})}, at, NOTE_SCHEMA)
    return Written(case_id, record.id, "note")


@writes
def repair(ctx: Context, case_id: str, record_id: str, reason: str, at: datetime | None = None) -> Written:
    """Supersede a damaged record (one that cannot be decrypted or read as a record) with a
    `repair` record: the damaged file stays in git as it is, and the case is read without it.
    Only a supervisor or the case's worker repairs; one commit, `repair CASE RECORD-ID`."""
    actor = ctx.need_worker()
    if not said(reason):
        raise InvalidInput([FieldError("reason", "is required: what is wrong with the record, and what was done about it")],
                           f"repair of {case_id}")
    check_readable(ctx, case_id)
    records, damaged = read_case(ctx, case_id, strict=False)
    files = {m["id"]: path for path in ctx.store.record_files(case_id) if (m := RECORD_FILE.match(path.name))}
    wanted = (record_id or "").strip().upper()
    if wanted not in files:
        raise NotFound(f"{case_id} has no record with the ID given", f"cpcm log {case_id} lists its records; cpcm verify names "
                       "the ones that cannot be read.")
    if wanted in superseded_ids(records):
        raise Refused(f"record {wanted} of {case_id} is already superseded", f"cpcm log {case_id} shows what supersedes it.",
                      rule="repair-already-superseded")
    if wanted not in damaged:
        raise Refused(f"record {wanted} of {case_id} can be read: there is nothing to repair",
                      "Only a record that cannot be decrypted or read is repaired.", rule="repair-record-readable")
    case = fold(case_id, records)
    worker = case.worker or next(iter(ctx.store.recipients(case_id)), None)
    if not actor.has_role("supervisor") and actor.id != worker:
        raise Refused("only a supervisor or the case's worker repairs a record", "Ask a supervisor.",
                      rule="repair-needs-supervisor-or-worker")
    path = files[wanted]
    rel = ctx.store.rel(path)
    if ctx.store.restorable(rel):
        raise Refused(f"{rel} differs from the last commit, which holds a copy of it: restore it instead of superseding it",
                      restore_hint(rel, f"  (then cpcm show {case_id}; if it still cannot be read, cpcm repair {case_id} "
                                   f"{wanted} --reason TEXT)"), rule="repair-restore-from-git")
    body = {"supersedes": wanted, "reason": reason.strip(), "file": path.name,
            "sha256": hashlib.sha256(ctx.store.read_bytes(path)).hexdigest()}
    record = append(ctx, case, "repair", "repair", body, at)
    return Written(case_id, record.id, "repair", extra={"supersedes": wanted},
                   next_steps=(f"what the damaged record held is not in the case any more: record it again if it is "
                               f"still needed (cpcm log {case_id} shows when it was written and by whom)",))
