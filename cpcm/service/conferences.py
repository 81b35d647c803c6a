"""Case conferences (Kenya case-conferencing SOP): plan one, nominate cases, keep the
attendance register and the confidentiality agreements, minute it, close it into each case's
plan, and render its documents.

A conference lives in `conferences/<CONF-ID>/`, one record per file like a case, encrypted to
the team's supervisors and managers, the chair, and the workers of the cases discussed (its
`recipients` file). What reaches a case (the new plan version with the conference's actions and
a record linking back to the conference) is written in that case's own folder, to the case's
own readers, so each case's history is complete on its own. Every mutating function is one
commit with a fixed message (`conference new CC-…`, `conference add-case CC-… CP-…`, …).

The library raises `CpcmError`s and returns values; the CLI (cpcm/cli/conference.py) prints.
The view model of its documents is `cpcm.render.views.conference_view`; the pure rules are
`cpcm.workflow.conferences`.
"""
from __future__ import annotations

import copy
import os
import re
from datetime import date, datetime
from typing import Any, Iterable, Mapping

from cpcm.domain.ids import new_conference_id, normalise_case_id, normalise_conference_id
from cpcm.domain.records import Record
from cpcm.errors import CannotDecrypt, Corrupt, FieldError, InvalidInput, NotFound, Refused, UsageError
from cpcm.service import context
from cpcm.service.results import Written
from cpcm.store.casestore import CONFERENCES
from cpcm.store.layout import RECIPIENTS
from cpcm.workflow import conferences as rules
from cpcm.workflow import approvals, transitions
from cpcm.workflow.fold import fold as fold_case

# Form 1, steps for presenting a case (SOP L1730-1742), and the main prompts of Form 2
PRESENTATION_PROMPTS = (
    "Form 1 (presenting the case), in this order:",
    "1. introduce yourself;",
    "2. the date the case was opened (as in the case plan);",
    "3. the core problem or primary vulnerability, its size and contributing factors, and the likely consequences if it is not addressed;",
    "4. actions taken so far by caseworkers and by caregivers and other providers, completed and pending;",
    "5. gaps and challenges found;",
    "6. recommended actions and the resources they need.",
    "Form 2 (prepare it with your supervisor): background and care arrangement; current protection concerns and immediate "
    "safety; the child's view; caregivers' roles and attitudes; other needs that raise the risk (disability, HIV, chronic "
    "illness, family separation); strengths; work done, services, referrals and their outcome; options with their effects, "
    "best-interest considerations and contingencies; the agreed way forward, each step with a responsible person and a timeline.",
    "Use the case ID only: no names in the presentation, the agenda or the minutes.",
)
REMINDER_RULE = "conference-confidentiality-agreement"


def parse_conference_id(text: str) -> str:
    conference_id = normalise_conference_id(text)
    if conference_id is None:
        raise UsageError("the conference ID given is not a valid conference ID",
                         "Conference IDs look like CC-4F7K-9X2M; the last character is a check character.")
    return conference_id


# -- reading ------------------------------------------------------------------------------------
def conference_ids(ctx) -> list[str]:
    return ctx.store.case_ids(CONFERENCES)


def _check_readable(ctx, conference_id: str) -> None:
    worker = ctx.need_worker()
    if not (ctx.root / CONFERENCES / conference_id / RECIPIENTS).is_file():
        raise NotFound(f"no conference {conference_id} in this casefile repository", "See cpcm conference list.")
    if worker.id not in ctx.store.recipients(conference_id, CONFERENCES):
        raise CannotDecrypt(f"you ({worker.id}) are not a recipient of {conference_id}",
                            "Its chair, supervisors, managers and the workers of its cases read it; ask the chair or a supervisor.")


def load_records(ctx, conference_id: str) -> list[Record]:
    _check_readable(ctx, conference_id)
    return ctx.store.read_records(conference_id, ctx.keys, CONFERENCES)


def load(ctx, conference_id: str) -> rules.Conference:
    return rules.fold(conference_id, load_records(ctx, conference_id))


def list_conferences(ctx) -> list[rules.Conference]:
    """Every conference you can read, by date."""
    me = ctx.need_worker()
    found = []
    for conference_id in conference_ids(ctx):
        if me.id not in ctx.store.recipients(conference_id, CONFERENCES):
            continue
        try:
            found.append(load(ctx, conference_id))
        except (Corrupt, CannotDecrypt) as exc:
            ctx.problems.append(exc)
    return sorted(found, key=lambda c: (str(c.date or ""), c.id))


# -- writing ------------------------------------------------------------------------------------
def _readers(ctx, chair: str | None, case_ids: Iterable[str]) -> list[str]:
    """The chair, the workers of the cases discussed (each case's first reader), then every
    supervisor and manager."""
    workers = [chair] if chair else []
    for case_id in case_ids:
        current = ctx.store.recipients(case_id)
        if current:
            workers.append(current[0])
    return ctx.team.case_readers(workers)


def _record(ctx, kind: str, conference_id: str, body: Mapping[str, Any], after: str = "") -> Record:
    return context.new_record(ctx, kind, conference_id, {k: v for k, v in body.items() if v is not None}, after=after)


def _last_id(conference: rules.Conference) -> str:
    return conference.history[-1][0] if conference.history else ""


def _write(ctx, conference: rules.Conference, verb: str, record: Record, message: str,
           readers: list[str] | None = None) -> None:
    """One record into the conference's folder (re-encrypting its records first when its
    readers change), in one commit."""
    current = ctx.store.recipients(conference.id, CONFERENCES)
    readers = readers or current
    with context.transaction(ctx, f"conference-{verb}") as tx:
        if readers != current:
            context.reencrypt(ctx, tx, conference.id, readers, CONFERENCES)
        tx.write_record(record, context.keys_for(ctx, readers), CONFERENCES)
        tx.commit(message)


def _date_text(value: str | None, field_name: str, errors: list[FieldError], allow_time: bool = False) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        if allow_time and len(text) > 10:
            return datetime.fromisoformat(text).isoformat(timespec="minutes")
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        errors.append(FieldError(field_name, "is not a date (use YYYY-MM-DD)" + (" or YYYY-MM-DDTHH:MM" if allow_time else "")))
        return None


@context.writes
def new(ctx, kind: str, when: str, chair: str | None = None, venue: str | None = None, notice_sent: str | None = None,
        invitations_sent: str | None = None, attendance_confirmed: str | None = None) -> Written:
    """Plan a conference; warns (with the rule and its source) where its dates break the SOP's
    timeline: notice 7 days ahead, invitations at least a week ahead, attendance confirmed at
    least 3 days ahead (today stands in for a date not given yet)."""
    me = ctx.need_worker()
    kinds = tuple(ctx.policy.get(rules.RULE, "kinds") or rules.KINDS)
    errors = []
    if kind not in kinds:
        errors.append(FieldError("kind", f"is not one of: {', '.join(kinds)}"))
    day = _date_text(when, "date", errors, allow_time=True)
    if day is None and not any(e.field == "date" for e in errors):
        errors.append(FieldError("date", "is required: the day of the conference"))
    chair = (chair or me.id).strip()
    if ctx.team.get(chair) is None:
        errors.append(FieldError("chair", f"is not an active member of the team ({', '.join(w.id for w in ctx.team.active)})"))
    checklist = {key: _date_text(value, key, errors) for key, value in
                 (("notice_sent", notice_sent), ("invitations_sent", invitations_sent), ("attendance_confirmed", attendance_confirmed))}
    if venue is not None and len(venue) > 200:
        errors.append(FieldError("venue", "is longer than 200 characters"))
    if errors:
        raise InvalidInput(errors, "the conference")
    existing = set(conference_ids(ctx))
    conference_id = new_conference_id()
    while conference_id in existing:
        conference_id = new_conference_id()
    body = {"type": kind, "date": day, "chair": chair, "venue": (venue or "").strip() or None, **checklist}
    record = _record(ctx, "conference", conference_id, body)
    readers = _readers(ctx, chair, [])
    with context.transaction(ctx, "conference-new") as tx:
        tx.replace_file(f"{CONFERENCES}/{conference_id}/{RECIPIENTS}", context.recipients_bytes(readers, CONFERENCES))
        tx.write_record(record, context.keys_for(ctx, readers), CONFERENCES)
        tx.commit(f"conference new {conference_id}")
    warnings = rules.timeline_warnings(checklist, date.fromisoformat(day[:10]), ctx.policy, ctx.now.date())
    return Written(conference_id, record.id, "conference", tuple(warnings),
                             (f"nominate cases: cpcm conference add-case {conference_id} CASE --reason ...",))


def _open(ctx, conference_id: str, verb: str) -> rules.Conference:
    conference = load(ctx, conference_id)
    if conference.closed_at:
        raise Refused(f"{conference_id} is closed: '{verb}' is not allowed any more", rule="conference-closed")
    return conference


@context.writes
def add_case(ctx, conference_id: str, case_id: str, reason: str, presentation: str | None = None) -> Written:
    """Nominate a case (SOP §5.4: service options exhausted, an unresolved protection concern,
    or an especially difficult case); warns past the SOP's case limit."""
    conference = _open(ctx, conference_id, "add-case")
    errors = []
    if reason not in rules.REASONS:
        errors.append(FieldError("reason", f"is not one of: {', '.join(rules.REASONS)}"))
    presentation = (presentation or "").strip() or None
    if presentation and len(presentation) > 4000:
        errors.append(FieldError("presentation", "is longer than 4000 characters"))
    if errors:
        raise InvalidInput(errors, f"the nomination to {conference_id}")
    case = context.load_case(ctx, case_id)
    if presentation:
        _refuse_names(ctx, {"presentation": presentation}, [case_id], f"the nomination of {case_id}")
    warnings = []
    again = case_id in conference.case_ids
    count = len(conference.cases) + (0 if again else 1)
    too_many = rules.cases_warning(conference.kind, count, ctx.policy)
    if too_many:
        warnings.append(too_many)
    if not case.plan:
        warnings.append(f"{case_id} has no case plan yet: the SOP takes a case to conference after its plan (§5.3), "
                        "and closing the conference needs one")
    body = {"case_id": case_id, "reason": reason, "presentation": presentation, "worker": case.worker,
            "opened": (case.registered_at or "")[:10] or None, "risk": case.risk, "stage": case.stage}
    record = _record(ctx, "nomination", conference_id, body, after=_last_id(conference))
    readers = _readers(ctx, conference.chair, [*conference.case_ids, case_id])
    _write(ctx, conference, "add-case", record, f"conference add-case {conference_id} {case_id}", readers)
    return Written(conference_id, record.id, "nomination", tuple(warnings),
                             (f"prepare the presentation with your supervisor (Forms 1 and 2), then: cpcm render agenda {conference_id}",),
                             {"case_id": case_id, "cases": count, "prompts": list(PRESENTATION_PROMPTS)})


@context.writes
def attend(ctx, conference_id: str, data: Mapping[str, Any]) -> Written:
    """A member in the attendance register (Form 6), with the confidentiality agreement (Form 5):
    a member who has not agreed cannot be recorded as present."""
    conference = _open(ctx, conference_id, "attend")
    errors = []
    body: dict[str, Any] = {}
    family = data.get("role") == "family"  # a child or family member: counted in the documents, never named
    for key, limit in (("institution", 200), ("name", 200), ("position", 200), ("contact", 200)):
        value = str(data.get(key) or "").strip()
        if not value and family and key != "name":
            continue
        if not value:
            errors.append(FieldError(key, "is required (Form 6: institution, name, position, contact)"))
        elif len(value) > limit:
            errors.append(FieldError(key, f"is longer than {limit} characters"))
        body[key] = value
    signed = str(data.get("confidentiality_signed") or ("verbal" if family else "")).strip().lower()
    if signed not in ("yes", "no", "verbal"):
        errors.append(FieldError("confidentiality_signed", "is required: yes, no, or verbal (consent noted where signing is impossible)"))
    present = str(data.get("present") or "yes").strip().lower()
    if present not in ("yes", "no"):
        errors.append(FieldError("present", "is yes or no"))
    if errors:
        raise InvalidInput(errors, f"attendance at {conference_id}")
    if present == "yes" and signed == "no":
        raise Refused(f"{conference_id}: a member who has not signed the confidentiality agreement cannot be recorded as present",
                      "SOP §5.1 and Form 5: every member signs before the meeting begins (or gives verbal consent, noted); "
                      "record it with --confidentiality-signed yes (or verbal), or record the member with --present no.",
                      rule=REMINDER_RULE)
    body.update(confidentiality_signed=signed, present=present == "yes", **({"role": "family"} if family else {}))
    record = _record(ctx, "attendance", conference_id, body, after=_last_id(conference))
    _write(ctx, conference, "attend", record, f"conference attend {conference_id} {record.id}")
    present_count = len([a for a in conference.attendees if a.get("present") and rules.member_key(a) != rules.member_key(body)])
    present_count += 1 if body["present"] else 0
    return Written(conference_id, record.id, "attendance", extra={"participants": present_count})


# -- names must not reach the minutes ----------------------------------------------------------------
def _name_patterns(ctx, case_ids: Iterable[str]) -> dict[str, list[re.Pattern]]:
    """For each case you can read: the patterns of its registered names."""
    patterns: dict[str, list[re.Pattern]] = {}
    me = ctx.need_worker()
    for case_id in case_ids:
        if me.id not in ctx.store.recipients(case_id):
            continue
        case = context.load_case(ctx, case_id)
        patterns[case_id] = rules.name_patterns(
            [case.child.get("name"), case.caregiver_name, *(case.child.get(k) for k in ("other_names", "nickname"))])
    return patterns


def _refuse_names(ctx, data: Mapping[str, Any], case_ids: Iterable[str], what: str) -> None:
    """Refused (exit 4) when a text holds a name registered for one of the cases; the message
    names the field and the case, never the name."""
    hits = rules.names_found(data, _name_patterns(ctx, case_ids))
    if hits:
        raise Refused(f"{what} holds client names: {', '.join(hits)}",
                      "Minutes and meeting documents use case IDs only (SOP Form 7; §5.1): remove the names and run it again.",
                      rule="conference-no-names")


@context.writes
def minutes(ctx, conference_id: str, data: Mapping[str, Any]) -> Written:
    """Record the minutes (Form 7): discussion notes, and per case the discussion, decisions and
    actions. A later version replaces an earlier one until the conference is closed."""
    conference = _open(ctx, conference_id, "minutes")
    body = context.validate_form(ctx, "conference-minutes", data, f"the minutes of {conference_id}")
    errors, seen = [], set()
    for index, entry in enumerate(body.get("cases") or [], start=1):
        case_id = normalise_case_id(str(entry.get("case", "")))
        if case_id is None:
            errors.append(FieldError(f"cases[{index}].case", "is not a valid case ID"))
            continue
        if case_id not in conference.case_ids:
            errors.append(FieldError(f"cases[{index}].case", f"{case_id} is not nominated for {conference_id} "
                                                             f"(cpcm conference add-case {conference_id} {case_id} ...)"))
        if case_id in seen:
            errors.append(FieldError(f"cases[{index}].case", f"{case_id} appears twice"))
        seen.add(case_id)
        entry["case"] = case_id
    if errors:
        raise InvalidInput(errors, f"the minutes of {conference_id}")
    _refuse_names(ctx, body, conference.case_ids, f"the minutes of {conference_id}")
    warnings = _meeting_warnings(ctx, conference)
    missing = [c for c in conference.case_ids if c not in seen]
    if missing:
        warnings.append(f"no minutes for {', '.join(missing)}: nothing will go into {'its' if len(missing) == 1 else 'their'} plan")
    record = _record(ctx, "minutes", conference_id, body, after=_last_id(conference))
    _write(ctx, conference, "minutes", record, f"conference minutes {conference_id} {record.id}")
    return Written(conference_id, record.id, "minutes", tuple(warnings),
                             (f"close the conference to copy the actions into each case's plan: cpcm conference close {conference_id}",))


def _meeting_warnings(ctx, conference: rules.Conference) -> list[str]:
    warnings = []
    for warning in (rules.participants_warning(len(conference.present), ctx.policy),
                    rules.cases_warning(conference.kind, len(conference.cases), ctx.policy)):
        if warning:
            warnings.append(warning)
    return warnings


# -- closing: the actions into each case's plan -----------------------------------------------------
def _plan_action(ctx, action: Mapping[str, Any]) -> dict:
    responsible = str(action["responsible"]).strip()
    who = action.get("who") or ("caseworker" if ctx.team.get(responsible) else "other")
    out = {"what": action["action"], "who": who, "who_detail": responsible, "by": action["timeline"],
           "mode": action.get("mode") or "direct"}
    if action.get("goal"):
        out["goal"] = action["goal"]
    return out


@context.writes
def close(ctx, conference_id: str) -> Written:
    """Close the conference: each case's actions become a new version of its plan (reason
    conference_decision: the latest version's content with the actions appended), each case gets
    a record linking back to the conference, and the chair's list shows the report due within
    24 hours. All in one commit.

    A case with actions but no plan yet is refused (write the plan first: the SOP takes a case to
    conference after its plan), as is a case whose plan cannot take a new version at its stage."""
    conference = _open(ctx, conference_id, "close")
    if conference.minutes is None:
        raise Refused(f"{conference_id} has no minutes yet", f"Record them first: cpcm conference minutes {conference_id} --from-file F",
                      rule="conference-minutes-required")
    me = ctx.need_worker()
    by_case = {entry["case"]: entry for entry in conference.minutes.get("cases") or []}
    nominations = {c["case_id"]: c for c in conference.cases}
    planned, errors = [], []
    for case_id in conference.case_ids:
        if me.id not in ctx.store.recipients(case_id):
            raise Refused(f"you ({me.id}) cannot read {case_id}, so its plan cannot be updated by you",
                          "A supervisor or manager (who reads every case) closes the conference.", rule="conference-close-needs-reader")
        records = context.load_records(ctx, case_id)
        case = fold_case(case_id, records)
        entry = by_case.get(case_id) or {}
        actions = entry.get("actions") or []
        plan_body = None
        if actions:
            latest = context.case_content(ctx, case_id, records)["plan"]
            if latest is None:
                raise Refused(f"{case_id} has conference actions but no case plan yet",
                              f"Write the plan first (cpcm plan {case_id}), then close the conference; the actions are added "
                              "to it as a new version.", rule="conference-plan-required")
            transitions.advance(case.stage, "plan", case_id)
            plan_body = copy.deepcopy(dict(latest))
            plan_body["reason"] = "conference_decision"
            goal_ids = [g.get("id") for g in plan_body.get("goals") or []]
            for number, action in enumerate(actions, start=1):
                if action.get("goal") and action["goal"] not in goal_ids:
                    errors.append(FieldError(f"{case_id}: actions[{number}].goal",
                                             f"the plan has no goal '{action['goal']}' ({', '.join(g for g in goal_ids if g)})"))
            plan_body["actions"] = list(plan_body.get("actions") or []) + [_plan_action(ctx, a) for a in actions]
            try:
                plan_body = context.validate_form(ctx, context.form_for(ctx, "plan"), plan_body, f"the plan for {case_id}")
            except InvalidInput as exc:
                errors += [FieldError(f"{case_id}: {e.field}", e.reason) for e in exc.errors]
        planned.append((case, plan_body, entry, nominations[case_id]))
    if errors:
        raise InvalidInput(errors, f"closing {conference_id}")
    warnings = _meeting_warnings(ctx, conference)
    written = []
    with context.transaction(ctx, "conference-close") as tx:
        for case, plan_body, entry, nomination in planned:
            after = case.history[-1].id if case.history else ""
            keys = context.keys_for(ctx, ctx.store.recipients(case.id))
            plan_id = None
            if plan_body is not None:
                plan_record = context.new_record(ctx, "plan", case.id, plan_body, after=after)
                tx.write_record(plan_record, keys)
                plan_id = after = plan_record.id
            link = {"conference": conference_id, "conference_kind": conference.kind, "date": conference.date,
                    "reason": nomination.get("reason"), "summary": entry.get("summary"), "discussion": entry.get("discussion"),
                    "decisions": entry.get("decisions") or [], "actions": entry.get("actions") or [], "plan": plan_id}
            link_record = context.new_record(ctx, "conference", case.id, {k: v for k, v in link.items() if v is not None}, after=after)
            tx.write_record(link_record, keys)
            written.append({"case_id": case.id, "plan_record_id": plan_id, "record_id": link_record.id,
                            "actions": len(entry.get("actions") or [])})
        record = _record(ctx, "conference_close", conference_id, {"cases": written}, after=_last_id(conference))
        tx.write_record(record, context.keys_for(ctx, ctx.store.recipients(conference_id, CONFERENCES)), CONFERENCES)
        tx.commit(f"conference close {conference_id}")
    limit = ctx.policy.duration(rules.RULE, "report")
    steps = [f"the report with the action points is due within {limit.words()}: cpcm render conference-report {conference_id}"]
    steps += [f"{w['case_id']}: plan version with {w['actions']} conference action(s) waits for a supervisor's approval"
              for w in written if w["plan_record_id"] and approvals.required(ctx.policy, "plan")]
    steps.append("each caseworker records the child's readiness for reintegration (SOP §4 step 7): "
                 "cpcm readiness CASE --occasion case_conference (it does not reopen the assessment)")
    return Written(conference_id, record.id, "conference_close", tuple(warnings), tuple(steps), {"cases": written})


# -- the due list -----------------------------------------------------------------------------------
def due_items(ctx, whose: str, horizon: datetime, overdue_only: bool, soon) -> list:
    """Conference items for `whose` ('all': every conference you read): the report due after a
    conference until it is rendered."""
    me = ctx.need_worker()
    items = []
    for conference_id in conference_ids(ctx):
        folder = ctx.root / CONFERENCES / conference_id
        names = os.listdir(folder)
        if not any(".conference_close." in n for n in names) or me.id not in ctx.store.recipients(conference_id, CONFERENCES):
            continue
        try:
            item = rules.report_due(load(ctx, conference_id), ctx.policy, ctx.now.tzinfo)
        except (Corrupt, CannotDecrypt) as exc:
            ctx.problems.append(exc)
            continue
        if item is None or (whose != "all" and item.owner != whose):
            continue
        if overdue_only and item.state(ctx.now, soon) != "overdue":
            continue
        if item.due > horizon and not overdue_only:
            continue
        items.append(item)
    return items


# -- documents ----------------------------------------------------------------------------------------
def _clients(ctx, case_ids: Iterable[str]) -> list[dict]:
    """The names and contacts registered for each case you can read: an attendance entry that
    holds one is a family member's, counted in the documents and never named."""
    me = ctx.need_worker()
    found = []
    for case_id in case_ids:
        if me.id in ctx.store.recipients(case_id):
            case = context.load_case(ctx, case_id)
            found.append({"names": [case.child.get(k) for k in ("name", "other_names", "nickname")] + [case.caregiver_name],
                          "contacts": [case.contact]})
    return found


def document(ctx, template: str, conference_id: str, lang: str, fmt: str, destination: str = "stdout") -> str:
    """A conference document (agenda, minutes, conference-report), rendered; the render is
    recorded in the conference's folder (template, language, format, where it went: no text),
    which is what takes the report off the chair's due list."""
    from cpcm.render import env, views

    conference = load(ctx, conference_id)
    if template in ("minutes", "conference-report") and conference.minutes is None:
        raise NotFound(f"{conference_id} has no minutes yet", f"Record them first: cpcm conference minutes {conference_id} --from-file F")
    view = views.conference_view(conference, ctx.policy, lang, ctx.now.date(), {w.id: w.name for w in ctx.team.workers},
                                 clients=_clients(ctx, conference.case_ids), zone=ctx.zone)
    text = env.render(template, lang, fmt, view, ctx.root)
    body = {"template": template, "lang": lang, "format": fmt, "to": destination}
    record = _record(ctx, "rendered", conference_id, body, after=_last_id(conference))
    _write(ctx, conference, "render", record, f"conference render {conference_id} {record.id}")
    return text
