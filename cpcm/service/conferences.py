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
import dataclasses
import re
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.dates import local_day
from cpcm.domain.forms import not_a_date
from cpcm.domain.ids import new_conference_id, normalise_case_id, normalise_conference_id
from cpcm.domain.records import Record, utc
from cpcm.domain.text import said
from cpcm.errors import CannotDecrypt, Corrupt, FieldError, InvalidInput, NotFound, Refused
from cpcm.service import context, folders
from cpcm.service.planning import approvers_warning, said_settled, settles_step
from cpcm.service.referrals import case_work_consent
from cpcm.service.results import Written
from cpcm.service.wording import option_code
from cpcm.store.casestore import CONFERENCES
from cpcm.store.layout import RECIPIENTS, folder_rel, split_rel
from cpcm.workflow import conferences as rules
from cpcm.workflow import approvals, deadlines, plan_actions, transitions
from cpcm.workflow.fold import before_cut, effective, fold as fold_case

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


# A conference's ID and readers are read as the other folders of their own read theirs (service/folders.py).
# Its listing, creation and due items stay here, where they differ on purpose: the conferences' folder also
# holds the confidentiality register (`rules.REGISTER_ID`), which is no conference; `conference new` commits
# as `conference new CC-…`, without the record's ID; and a conference never fails to fold.
FOLDERS = folders.Folders(
    CONFERENCES, rules.fold, "conference", normalise_conference_id,
    invalid="the conference ID given is not a valid conference ID",
    id_hint="Conference IDs look like CC-4F7K-9X2N; the last character is a check character.",
    missing="conference", listed_by="cpcm conference list", not_reader="you ({worker}) are not a recipient of {id}",
    readers_hint="Its chair, supervisors, managers and the workers of its cases read it; ask the chair or a supervisor.")


def parse_conference_id(text: str) -> str:
    return FOLDERS.parse_id(text)


# -- reading ------------------------------------------------------------------------------------
def conference_ids(ctx) -> list[str]:
    """The conferences' folders (not the confidentiality register's)."""
    return [i for i in ctx.store.case_ids(CONFERENCES) if i != rules.REGISTER_ID]


def load_records(ctx, conference_id: str) -> list[Record]:
    FOLDERS.readers(ctx, conference_id)  # NotFound where there is no such conference, CannotDecrypt where you do not read it
    return ctx.store.read_records(conference_id, ctx.keys, CONFERENCES)


def load(ctx, conference_id: str) -> rules.Conference:
    return rules.fold(conference_id, load_records(ctx, conference_id))


def show(ctx, conference_id: str, presenting: bool = False) -> tuple[rules.Conference, dict]:
    """A conference as `cpcm conference show` gives it: the conference, and its dict with the
    warnings of its timeline, attendance and number of cases. `presenting` (`--json`): each case
    you can read carries the worker who presents it (`presenters`: its worker at the meeting, as
    the agenda prints it), which decrypts those cases, and `debrief` holds the previous conference's
    action points with their status now (`debrief`, as the agenda lists them); the text shows no
    worker and no debrief, and decrypts no case."""
    found = load(ctx, conference_id)
    data = found.to_dict()
    day = rules.meeting_day(found)
    data["warnings"] = ([] if found.closed_at else rules.timeline_warnings(found.checklist, day, ctx.policy, ctx.now.date()))
    data["warnings"] += [w for w in (rules.participants_warning(len(found.present), ctx.policy) if found.minutes is not None else None,
                                     rules.cases_warning(found.kind, len(found.cases), ctx.policy),
                                     rules.presentations_missing(found, ctx.policy) if not found.closed_at else None,
                                     rules.recording_warning(found, ctx.policy)) if w]
    data["warnings"] += [f"{p.code}: {p.message}" for p in rules.plan_problems([found], ctx.policy, ctx.now)]
    data["plan_approval"] = rules.plan_approval(found, ctx.policy, ctx.now.tzinfo)
    if presenting:
        data["debrief"] = debrief(ctx, found)
        now_presenting = presenters(ctx, found)
        for entry in data["cases"]:
            if entry.get("case_id") in now_presenting:
                entry["worker"] = now_presenting[entry["case_id"]]
    return found, data


def debrief(ctx, conference: rules.Conference) -> dict:
    """The debrief of the previous conference's action points (SOP Form 4 item 3, Form 3 item 9),
    as the agenda and `conference show --json` give it (`rules.debrief`): the previous conference
    of the same kind among those you read (`rules.previous_conference`), each of its actions with
    its case ID, and its status now in the plan of each case you read (a case you cannot read:
    `not_readable`, by its ID; nothing of it is decrypted). `not_read`: the closed conferences you
    cannot read, whose kind and date are encrypted: the previous one may be among them."""
    me = ctx.need_worker()
    previous = rules.previous_conference(conference, list_conferences(ctx), ctx.policy, ctx.zone)
    tracked: dict[str, dict] = {}
    for entry in ((previous.minutes or {}).get("cases") or []) if previous is not None else []:
        case_id = entry.get("case")
        if not case_id or case_id in tracked or not entry.get("actions") or me.id not in ctx.store.recipients(case_id):
            continue
        try:
            records = context.load_records(ctx, case_id)
        except (CannotDecrypt, Corrupt, NotFound) as exc:  # read as a case you cannot read; the problem is reported
            ctx.problems.append(exc)
            continue
        link = max((r for r in effective(records) if r.kind == "conference" and r.body.get("conference") == previous.id),
                   key=lambda r: r.id, default=None)
        folded = fold_case(case_id, records)
        tracked[case_id] = {"plan": folded.plan, "version": link.body.get("plan") if link else None,
                            "reopened": folded.reopenings}
    out = rules.debrief(previous, tracked, ctx.policy, ctx.now)
    out["not_read"] = len([c for c in unreadable_conferences(ctx) if c["closed"]])
    return out


def _debrief_checked(ctx, conference: rules.Conference, families: Mapping[str, tuple[list[str], list[str]]]) -> dict:
    """The agenda's debrief (`debrief`), its actions' texts checked against the names of every case
    you read of this conference and of the previous one: the previous minutes were checked against
    the cases of their own conference only, and the agenda goes to this one's members. Refused
    (exit 4) naming the case and the field, never the name, with what mends it."""
    told = debrief(ctx, conference)
    if not told["actions"]:
        return told
    me = ctx.need_worker()
    more = [a["case_id"] for a in told["actions"] if a["case_id"] not in families and me.id in ctx.store.recipients(a["case_id"])]
    patterns = _name_patterns(ctx, [], {**families, **_families(ctx, dict.fromkeys(more))})
    texts = {f"debrief of {a['case_id']} (action {n})": {"action": a.get("action"), "responsible": a.get("responsible")}
             for n, a in enumerate(told["actions"], start=1)}
    hits = rules.names_found(texts, patterns)
    if hits:
        previous = told["conference"]["id"]
        raise Refused(f"{conference.id}: the debrief of {previous}'s action points holds client names: {', '.join(hits)}; rendering "
                      "the agenda is refused, nothing was written",
                      f"Minutes and meeting documents use case IDs only (SOP Form 7; §5.1): replace the minutes of {previous} with "
                      f"minutes without it: cpcm conference update {previous} --minutes FILE --reason TEXT, then run it again.",
                      rule="conference-no-names")
    return told


def minutes_of(ctx, conference_id: str, record_id: str) -> dict:
    """The minutes a record of the conference holds, standing or not (each of minutes recorded on
    two copies apart: `conference show CONF --minutes-record RECORD`). NotFound when the record is
    not one of the conference's, or holds no minutes."""
    found = rules.minutes_held(load_records(ctx, conference_id), str(record_id).strip().upper())
    if found is None:
        raise NotFound(f"--minutes-record: no record of {conference_id} by that ID holds minutes",
                       f"The records that hold minutes are listed by: cpcm conference show {conference_id} --json (history)")
    return found


def list_conferences(ctx, marks: dict[str, list[str]] | None = None) -> list[rules.Conference]:
    """Every conference you can read, by date (one that cannot be read is kept in ctx.problems).
    `marks`, when given, gets the workers the `recipients` file of each of them says its records are
    still encrypted to an earlier key of (its `# rekey:` lines), where there are any."""
    me = ctx.need_worker()
    found = []
    for conference_id in conference_ids(ctx):
        readers, rekey = ctx.store.recipients_rekey(conference_id, CONFERENCES)
        if me.id not in readers:
            continue
        if rekey and marks is not None:
            marks[conference_id] = rekey
        try:
            found.append(load(ctx, conference_id))
        except (Corrupt, CannotDecrypt) as exc:
            ctx.problems.append(exc)
    return sorted(found, key=lambda c: (str(c.date or ""), c.id))


def unreadable_conferences(ctx) -> list[dict]:
    """The conferences you are not a reader of, with only what a copy of the folder shows without
    a key (docs/security.md): the ID (the folder's name) and whether it is closed (a
    `conference_close` record: the kinds are in the file names). Its kind, date, chair, venue and
    cases are inside its encrypted records (the `recipients` file lists its readers, not which of
    them chairs), so none of them is given. A caseworker nominates a case of their own to an open
    one without reading it (`add-case`, `_propose`)."""
    me = ctx.need_worker()
    found = []
    for conference_id in conference_ids(ctx):
        if me.id in ctx.store.recipients(conference_id, CONFERENCES):
            continue
        names = [f.name for f in ctx.store.record_files(conference_id, CONFERENCES)]
        found.append({"conference_id": conference_id, "closed": _closed_by_names(names)})
    return sorted(found, key=lambda c: c["conference_id"])


def _closed_by_names(names: Iterable[str]) -> bool:
    """Whether a conference is closed, from its record files' names alone (`<RECORD-ID>.<kind>.yaml.age`): for a
    worker who cannot read it."""
    return any(n.split(".")[1:2] == ["conference_close"] for n in names)


# -- writing ------------------------------------------------------------------------------------
def _readers(ctx, chair: str | None, case_ids: Iterable[str]) -> list[str]:
    """The chair, the workers of the cases discussed (each case's first reader), then every
    supervisor and manager (`rules.readers`)."""
    workers = []
    for case_id in case_ids:
        current = ctx.store.recipients(case_id)
        if current:
            workers.append(current[0])
    return rules.readers(ctx.team, chair, workers)


def readers_now(ctx, conference_id: str) -> list[str]:
    """Who should read a conference (or the register) with the team as it stands: what a team
    change and `cpcm team sync` re-encrypt it to. A conference's chair and cases are read from its
    records (CannotDecrypt when you are not one of its readers)."""
    if conference_id == rules.REGISTER_ID:
        return _register_readers(ctx)
    conference = load(ctx, conference_id)
    return _readers(ctx, conference.chair, conference.cases_read_by_workers)


def reencrypt_naming(ctx, tx, previous: Mapping[str, str | None]) -> tuple[list[str], list[str]]:
    """After cases change worker (`assign`, `assign --batch`; `previous`: case id -> the worker it
    had), in the same transaction `tx` (the cases already re-encrypted): re-encrypt every
    conference, open or closed, that names one of them to its readers as they stand now
    (`readers_now`). Returns the conferences re-encrypted, and those you cannot read that list
    a previous worker among their readers, so may name one of the cases (a supervisor's `cpcm team
    sync` brings them in line)."""
    done, unread = [], []
    leaving = {worker for worker in previous.values() if worker}
    for conference_id in ctx.store.case_ids(CONFERENCES):
        if conference_id == rules.REGISTER_ID:
            continue
        current = ctx.store.recipients(conference_id, CONFERENCES)
        if ctx.need_worker().id not in current:
            if leaving & set(current):
                unread.append(conference_id)
            continue
        try:
            conference = load(ctx, conference_id)
        except (CannotDecrypt, Corrupt):
            if leaving & set(current):
                unread.append(conference_id)
            continue
        named = set(conference.cases_read_by_workers)
        if not named & set(previous):
            continue
        wanted = readers_now(ctx, conference_id)
        if wanted != current:
            context.reencrypt(ctx, tx, conference_id, wanted, CONFERENCES)
            done.append(conference_id)
    return done, unread


def _record(ctx, kind: str, conference_id: str, body: Mapping[str, Any], after: str = "") -> Record:
    return context.new_record(ctx, kind, conference_id, {k: v for k, v in body.items() if v is not None}, after=after)


def _last_id(conference: rules.Conference) -> str:
    return conference.history[-1][0] if conference.history else ""


def _write(ctx, conference: rules.Conference, verb: str, record: Record, message: str,
           readers: list[str] | None = None, also: Callable[[Any], str] | None = None) -> None:
    """One record into the conference's folder (re-encrypting its records first when its
    readers change), in one commit; `also(tx)`: what goes into the cases in the same commit,
    returning what the commit message ends with (a cover ended: context.COVER_ENDED)."""
    current = ctx.store.recipients(conference.id, CONFERENCES)
    readers = readers or current
    with context.transaction(ctx, f"conference-{verb}") as tx:
        if readers != current:
            context.reencrypt(ctx, tx, conference.id, readers, CONFERENCES)
        tx.write_record(record, context.keys_for(ctx, readers), CONFERENCES)
        tx.commit(message + (also(tx) if also else ""))


def _date_text(value: str | None, field_name: str, errors: list[FieldError], allow_time: bool = False) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        if allow_time and len(text) > 10:
            return datetime.fromisoformat(text).isoformat(timespec="minutes")
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        errors.append(FieldError(field_name, not_a_date(text, allow_time=allow_time)))
        return None


def _done_date(value: str | None, field_name: str, errors: list[FieldError], today: date) -> str | None:
    """A Form 3 date (participants told, invited, attendance confirmed): a day that has come; a
    later one is refused, as a record's --at in the future is."""
    day = _date_text(value, field_name, errors)
    if day is not None and date.fromisoformat(day) > today:
        errors.append(FieldError(field_name, "is in the future: give the day it was done, once it is done "
                                             "(cpcm conference update CONF ...)"))
        return None
    return day


def _person_outside(name: str | None, title: str | None, option: str, errors: list[FieldError]) -> dict | None:
    """An external chair or co-chair (DCS, the SCCO): a name with a title, both or neither."""
    name, title = (name or "").strip(), (title or "").strip()
    if not name and not title:
        return None
    if not name or not title:
        errors.append(FieldError(option if not name else f"{option}-title",
                                 "is required with the other: a chair or co-chair from outside the team is named with a title"))
        return None
    for key, value in ((option, name), (f"{option}-title", title)):
        if len(value) > 200:
            errors.append(FieldError(key, "is longer than 200 characters"))
    return {"name": name, "title": title}


@context.writes
def new(ctx, kind: str, when: str, chair: str | None = None, venue: str | None = None, notice_sent: str | None = None,
        invitations_sent: str | None = None, attendance_confirmed: str | None = None,
        co_chair: tuple[str | None, str | None] = (None, None),
        external_chair: tuple[str | None, str | None] = (None, None), virtual: Mapping[str, Any] | None = None) -> Written:
    """Plan a conference; warns (with the rule and its source) where its dates break the SOP's
    timeline: notice 7 days ahead, invitations at least a week ahead, attendance confirmed at
    least 3 days ahead (today stands in for a date not given yet). `co_chair` and
    `external_chair`: (name, title) of a chair from outside the team (SOP §5.4: DCS, usually the
    SCCO, co-chairs with the lead social worker; §5.5: DCS chairs the sub-county AAC); `chair` is
    the team member who convenes it and keeps its record. `virtual`: a conference held online
    (SOP §8.1): {"virtual": True, "platform", "record_keeper", "recorded" (yes or no, in the repository's language),
    "recording_held_by", "not_recorded_reason"}, as `rules.virtual_details` checks them; cpcm keeps
    no recording, only whether there is one and who holds it."""
    me = ctx.need_worker()
    kinds = tuple(ctx.policy.get(rules.RULE, "kinds") or rules.KINDS)
    errors = []
    kind, why = option_code(ctx, "kind", kind, kinds, field_words="conference_kind")  # or its words, as the agenda prints them
    if why is not None:
        errors.append(FieldError("kind", why))
    day = _date_text(when, "date", errors, allow_time=True)
    if day is None and not any(e.field == "date" for e in errors):
        errors.append(FieldError("date", "is required: the day of the conference"))
    chair = (chair or me.id).strip()
    if ctx.team.get(chair) is None:
        errors.append(FieldError("chair", f"is not an active member of the team ({', '.join(w.id for w in ctx.team.active)})"))
    checklist = {key: _done_date(value, key, errors, ctx.now.date()) for key, value in
                 (("notice_sent", notice_sent), ("invitations_sent", invitations_sent), ("attendance_confirmed", attendance_confirmed))}
    if venue is not None and len(venue) > 200:
        errors.append(FieldError("venue", "is longer than 200 characters"))
    outside = {"co_chair": _person_outside(*co_chair, "co-chair", errors),
               "external_chair": _person_outside(*external_chair, "external-chair", errors)}
    online, wrong = rules.virtual_details(None, _recorded(ctx, virtual or {}, errors))
    errors += wrong
    if errors:
        raise InvalidInput(errors, "the conference")
    existing = set(conference_ids(ctx))
    conference_id = new_conference_id()
    while conference_id in existing:
        conference_id = new_conference_id()
    body = {"type": kind, "date": day, "chair": chair, "venue": (venue or "").strip() or None, **checklist, **outside,
            "virtual": online}
    record = _record(ctx, "conference", conference_id, body)
    readers = _readers(ctx, chair, [])
    with context.transaction(ctx, "conference-new") as tx:
        tx.replace_file(f"{folder_rel(CONFERENCES, conference_id)}/{RECIPIENTS}", context.recipients_bytes(readers, CONFERENCES))
        tx.write_record(record, context.keys_for(ctx, readers), CONFERENCES)
        tx.commit(f"conference new {conference_id}")
    warnings = rules.timeline_warnings(checklist, date.fromisoformat(day[:10]), ctx.policy, ctx.now.date())
    return Written(conference_id, record.id, "conference", tuple(warnings),
                             (f"nominate cases: cpcm conference add-case {conference_id} CASE --reason ...",))


_SIGNED = ("yes", "no", "verbal")  # Form 5: signed, not signed, or consent given aloud where signing is impossible


def _recorded(ctx, virtual: Mapping[str, Any], errors: list[FieldError]) -> Mapping[str, Any]:
    """`virtual` with its `recorded` (`--recorded`) read as a yes-or-no in the repository's
    language (ndiyo or hapana in Kiswahili; yes or no always): True or False for
    `rules.virtual_details`; anything else is refused in that language, never repeating it."""
    if virtual.get("recorded") is None:
        return virtual
    value, reason = option_code(ctx, "recorded", virtual["recorded"])
    if reason is not None:
        errors.append(FieldError("recorded", reason))
    return dict(virtual, recorded=value)


def _open(ctx, conference_id: str, verb: str) -> rules.Conference:
    conference = load(ctx, conference_id)
    if conference.closed_at:
        hint = (f"The minutes of a closed conference are replaced with: cpcm conference update {conference_id} --minutes FILE "
                "--reason TEXT") if verb == "minutes" else None
        raise Refused(f"{conference_id} is closed: '{verb}' is not allowed any more", hint, rule="conference-closed")
    return conference


def _not_held_yet(ctx, conference: rules.Conference, verb: str) -> None:
    """Refused (exit 4) before the meeting has started: minutes and closing record what happened."""
    why = rules.not_held_yet(conference, ctx.policy, ctx.now, verb)
    if why:
        raise Refused(why + "; nothing was written",
                      f"Record it once the meeting has started; if the meeting moved, change its date first: "
                      f"cpcm conference update {conference.id} --date DATE --reason TEXT", rule="conference-not-held-yet")


@context.writes
def update(ctx, conference_id: str, changes: Mapping[str, Any], reason: str | None = None) -> Written:
    """Change what Form 3 tracks after `new`: the meeting's date (a reschedule, with a reason),
    venue, the dates participants were told, invited and confirmed, an external chair or
    co-chair; a case's presentation (`presentation`: (case ID, the new text, or "" to take it
    out), with a reason), through the same name guard as a nomination's; and the minutes
    (`minutes`: the whole Form 7, validated as `minutes` validates it, with a reason, by the chair
    or a supervisor or manager), through the name guard. Append-only: a `conference_update`
    record with the new values and the ones they replace (for a presentation, the venue and the
    minutes, the record that held the text replaced, never its text: it may be what had to go);
    the first record stays as it was. The date cannot move once minutes are recorded.

    The presentations, the venue and the minutes can be replaced after closing too (a closed
    conference's venue by the chair or a supervisor or manager, with a reason): the report is
    rendered then, and the name guard checks them again at every render, so a conference closed
    with a name in them (recorded by a worker who could not read the case it names, or before the
    guard checked them again) is mended here. The plans keep what closing copied into them.

    Minutes replaced after closing reach the cases in the same commit: each case whose
    `conference` record (written by `close`) no longer reads as its part of the minutes
    (`rules.case_part`) gets a correction of it, as `cpcm correct` writes one (`_in_line`), so
    its history says what the minutes now say and that it was corrected; a case you cannot read
    is named in a warning."""
    given = {key for key, value in changes.items() if value is not None}
    conference = load(ctx, conference_id) if given and given <= rules.AFTER_CLOSING else _open(ctx, conference_id, "update")
    errors: list[FieldError] = []
    new_values: dict[str, Any] = {}
    presented = new_minutes = prepared = None
    for key, value in changes.items():
        if value is None:
            continue
        if key == rules.PRESENTATION:
            presented = _presentation_given(conference, value, errors)
            continue
        if key == rules.PREPARATION:  # (case, the answers or None to take them out): the case checked as a presentation's
            case_id = (_presentation_given(conference, (value[0], None), errors) or (None,))[0]
            prepared = (case_id, _checked_preparation(ctx, case_id, value[1])) if case_id else None
            continue
        if key == rules.MINUTES:
            if conference.minutes is None:
                raise Refused(f"{conference_id} has no minutes to replace; nothing was written",
                              f"Record them: cpcm conference minutes {conference_id} --from-file F", rule="conference-minutes-required")
            new_minutes = _minutes_body(ctx, conference, value)
            continue
        if key == "date":
            day = _date_text(value, "date", errors, allow_time=True)
            if day is not None:
                new_values["date"] = day
        elif key in ("notice_sent", "invitations_sent", "attendance_confirmed"):
            day = _done_date(value, key, errors, ctx.now.date())
            if day is not None:
                new_values[key] = day
        elif key == "venue":
            text = str(value).strip()
            if len(text) > 200:
                errors.append(FieldError("venue", "is longer than 200 characters"))
            elif text:
                new_values["venue"] = text
        elif key in ("co_chair", "external_chair"):
            person = _person_outside(*value, key.replace("_", "-"), errors)
            if person is not None:
                new_values[key] = person
        elif key == "virtual":  # held online, or no longer (`in_person`): the details as they stand after this update
            given = _recorded(ctx, value, errors)
            online, wrong = rules.virtual_details(conference.virtual, given, bool(value.get("in_person")))
            errors += wrong
            if not wrong:
                new_values["virtual"] = online
        else:
            errors.append(FieldError(key, f"cannot be changed here (one of: {', '.join(rules.UPDATABLE)})"))
    reason = (reason or "").strip() or None
    if "date" in new_values and new_values["date"] != conference.date and not reason:
        errors.append(FieldError("reason", "is required when the date changes (a reschedule): say why"))
    if presented is not None and not reason:
        errors.append(FieldError("reason", "is required when a presentation is replaced: say why"))
    if prepared is not None and not reason:
        errors.append(FieldError("reason", "is required when the Form 2 answers are replaced: say why"))
    if new_minutes is not None and not reason:
        errors.append(FieldError("reason", "is required when the minutes are replaced: say why"))
    if "venue" in new_values and conference.closed_at and not reason:
        errors.append(FieldError("reason", "is required when a closed conference's venue changes: say why"))
    if "virtual" in new_values and new_values["virtual"] != conference.virtual and conference.closed_at and not reason:
        errors.append(FieldError("reason", "is required when a closed conference's virtual meeting details change: say why"))
    if reason and len(reason) > 500:
        errors.append(FieldError("reason", "is longer than 500 characters"))
    if errors:
        raise InvalidInput(errors, f"the update of {conference_id}")
    current = {"date": conference.date, "venue": conference.venue, "co_chair": conference.co_chair,
               "external_chair": conference.external_chair, "virtual": conference.virtual, **conference.checklist}
    changed = {k: v for k, v in new_values.items() if current.get(k) != v}
    previous = {k: current.get(k) for k in changed}
    if "venue" in changed and conference.venue_id:  # the venue replaced may hold a name: named by its record
        previous["venue"] = {"record_id": conference.venue_id}
    if "virtual" in changed and conference.virtual_id:  # so may the details replaced (a reason is free text): by its record
        previous["virtual"] = {"record_id": conference.virtual_id}
    patterns: dict | None = None

    def refuse_names(texts: Mapping[str, Any]) -> None:  # the conference's names read once, for every text checked here
        nonlocal patterns
        if patterns is None:
            patterns = _name_patterns(ctx, conference.case_ids)
        _refuse_names(ctx, texts, conference.case_ids, f"the update of {conference_id}", patterns=patterns)

    if presented is not None:
        case_id, text = presented
        nomination = next(c for c in conference.cases if c["case_id"] == case_id)
        if (nomination.get("presentation") or None) != text:
            _may_present(ctx, conference, nomination)
            if text:  # read by every member, whether or not they may open the case it names
                refuse_names({f"presentation of {case_id}": text})
            changed[rules.PRESENTATION] = {"case_id": case_id, **({"text": text} if text else {})}
            previous[rules.PRESENTATION] = {"case_id": case_id, "record_id": rules.presentation_record(nomination)}
    if prepared is not None:
        case_id, answers = prepared
        nomination = next(c for c in conference.cases if c["case_id"] == case_id)
        if (nomination.get(rules.PREPARATION) or None) != answers:
            _may_present(ctx, conference, nomination)
            if answers:  # read by every member, as the presentation is
                refuse_names({f"preparation of {case_id}": answers})
            # the answers replaced are not repeated (they may be what had to go): the nomination or update holding them
            changed[rules.PREPARATION] = {"case_id": case_id, **({"answers": answers} if answers else {})}
            previous[rules.PREPARATION] = {"case_id": case_id}
    settling = bool(new_minutes is not None and rules.open_conflicts(conference, rules.MINUTES_CONCURRENT))
    behind: list[tuple[Case, list[Record], Record, dict]] = []
    unread: list[str] = []
    if new_minutes is not None and conference.closed_at:  # each case's conference record, as its close wrote it
        behind, unread = _records_behind(ctx, conference, new_minutes)
    # the ones standing, agreed (or for a case's record still holding others: _records_behind), written again
    if new_minutes is not None and (new_minutes != conference.minutes or settling or behind):
        _may_mend(ctx, conference, "the minutes")
        refuse_names({"minutes": new_minutes})
        changed[rules.MINUTES] = new_minutes
        previous[rules.MINUTES] = {"record_id": conference.minutes_id}
    if not changed:
        raise Refused(f"nothing to update in {conference_id}: every value given is already recorded", rule="nothing-to-update")
    if "venue" in changed:  # printed on the agenda and the minutes: no child's or family's name (a family's home, say)
        if conference.closed_at:
            _may_mend(ctx, conference, "the venue")
        refuse_names({"venue": changed["venue"]})
    if "virtual" in changed:  # printed on the documents too, the reason a session was not recorded with them
        if conference.closed_at:
            _may_mend(ctx, conference, "the virtual meeting's details")
        if changed["virtual"]:
            refuse_names({"virtual": changed["virtual"]})
    if "date" in changed and conference.minutes is not None:
        raise Refused(f"{conference_id} has minutes: the meeting took place and its date cannot move; nothing was written",
                      "Plan a new conference for a later meeting: cpcm conference new --kind KIND --date DATE",
                      rule="conference-date-after-minutes")
    body = {"changes": changed, "previous": previous, "reason": reason}
    record = _record(ctx, "conference_update", conference_id, body, after=_last_id(conference))
    corrected: list[dict] = []
    _write(ctx, conference, "update", record, f"conference update {conference_id} {record.id}",
           also=(lambda tx: _in_line(ctx, tx, behind, conference_id, record.id, reason, corrected)) if behind else None)
    after = rules.fold(conference_id, [*load_records(ctx, conference_id)])
    warnings = []
    if set(changed) - {rules.PRESENTATION, rules.MINUTES, "virtual"} and not conference.closed_at:  # the Form 3 timeline, where a Form 3 value changed
        warnings = rules.timeline_warnings(after.checklist, rules.meeting_day(after), ctx.policy, ctx.now.date())
    if "virtual" in changed or rules.PRESENTATION in changed:  # what a virtual conference still lacks
        warnings += [w for w in (rules.presentations_missing(after, ctx.policy), rules.recording_warning(after, ctx.policy)) if w]
    if rules.MINUTES in changed and patterns is not None:  # the new minutes were checked against the cases you read only
        warnings += _unchecked(ctx, conference, patterns)
    warnings += unread
    steps = []
    kept = [step for entry in behind if (step := _plan_kept_step(*entry, ctx.policy, ctx.now))]  # closing copied the actions into the plans
    if rules.MINUTES in changed and settling:
        steps += [f"{step}: these minutes stand" for step in settles_step([rules.MINUTES_CONCURRENT])]
        if conference.closed_at and not kept:
            steps.append("the plans keep the actions the conference was closed with: where the minutes agreed change an action, "
                         "change the case's plan too (cpcm plan CASE --from-current ...)")
    steps += kept
    if "date" in changed:
        steps.append(f"tell the participants of the new date (and record it: cpcm conference update {conference_id} --notice-sent DATE)")
    steps += _plan_reopened(ctx, conference, after)
    return Written(conference_id, record.id, "conference_update", tuple(warnings), tuple(steps),
                   {"changed": sorted(changed), **({"case_id": presented[0]} if rules.PRESENTATION in changed else {}),
                    **({"corrected": corrected} if rules.MINUTES in changed and conference.closed_at else {}),
                    **({"case_id": prepared[0]} if rules.PREPARATION in changed else {})},
                   settled=said_settled(conference_id, [rules.MINUTES_CONCURRENT] if rules.MINUTES in changed and settling else []))


def _records_behind(ctx, conference: rules.Conference, minutes: Mapping[str, Any]
                    ) -> tuple[list[tuple[Case, list[Record], Record, dict]], list[str]]:
    """The cases of a closed conference whose `conference` record (the one in force: as its close
    wrote it, or as last corrected) does not read as `minutes` say of them (`rules.case_part`):
    (the case, its records, that record, its part of `minutes`); a case whose part reads the same
    is left out. And the warnings, by IDs only, for a case whose part of the minutes changes that
    cannot be brought in line by you: one you cannot read (a supervisor or manager, who reads every
    case, gives the minutes again), one transferred (read-only here)."""
    me = ctx.need_worker()
    now = {entry["case"]: entry for entry in minutes.get("cases") or []}
    was = {entry["case"]: entry for entry in (conference.minutes or {}).get("cases") or []}
    behind, warnings = [], []
    for case_id in conference.case_ids:
        part = rules.case_part(now.get(case_id) or {})
        records = None
        if me.id in ctx.store.recipients(case_id):
            try:
                records = context.load_records(ctx, case_id)
            except (CannotDecrypt, NotFound):
                pass
        if records is None:
            if part != rules.case_part(was.get(case_id) or {}):
                warnings.append(f"{case_id}: you ({me.id}) cannot read it, so its conference record still reads as the minutes "
                                f"{conference.id} had before; a supervisor or manager brings it in line by giving these minutes "
                                f"again: cpcm conference update {conference.id} --minutes FILE --reason TEXT")
            continue
        link = next((r for r in effective(records) if r.kind == "conference" and r.body.get("conference") == conference.id), None)
        if link is None or rules.case_part(link.body) == part:
            continue
        case = fold_case(case_id, records)
        if case.status == "transferred":
            warnings.append(f"{case_id} was transferred: it is read-only here, and its conference record ({link.id}) keeps the "
                            f"minutes {conference.id} had before")
            continue
        behind.append((case, records, link, part))
    return behind, warnings


def _in_line(ctx, tx, behind: list[tuple[Case, list[Record], Record, dict]], conference_id: str, update_id: str,
             reason: str, corrected: list[dict]) -> str:
    """Correct, in `tx`, each case's `conference` record that does not read as the minutes
    replaced by update `update_id` (`_records_behind`), as `cpcm correct` corrects a record: a new
    record of its kind, `supersedes` the one in force, a `correction_reason` (the update and its
    reason), dated as it, its other fields kept and its part of the minutes as they now stand. The
    fold (`fold.effective`), `cpcm show CASE RECORD` ("CORRECTED by", "corrects") and the case file
    read it in its place; the original stays. Each is added to `corrected`; returns what the commit
    message ends with (a cover ended on a case)."""
    from cpcm.domain.records import CORRECTION_KEYS

    ended = ""
    for case, records, link, part in behind:
        readers, ended_here = context.end_expired_covers(ctx, tx, case)
        ended = ended or ended_here
        kept = {k: v for k, v in link.body.items() if k not in CORRECTION_KEYS}
        body = {"supersedes": link.id, "correction_reason": f"the minutes of {conference_id} replaced ({update_id}): {reason}",
                **kept, **part}
        record = context.new_record(ctx, "conference", case.id, {k: v for k, v in body.items() if v is not None},
                                    datetime.fromisoformat(link.at), schema=link.schema, after=max(r.id for r in records))
        tx.write_record(record, context.keys_for(ctx, readers))
        corrected.append({"case_id": case.id, "record_id": record.id, "supersedes": link.id})
    return ended


def _plan_kept_step(case: Case, records: list[Record], link: Record, part: Mapping[str, Any], policy, now: datetime
                    ) -> str | None:
    """What replacing the minutes says of a case's plan where its actions changed: the plan keeps
    what closing copied into it, and is mended by correcting the version the close wrote (the
    record in force in its place, `fold.in_force`), or, where a later version (a later
    conference's close, the worker's `cpcm plan`) is in force since and carries the actions on
    (`plan_actions.superseded_in_force`), that version: a correction of the superseded one would
    change neither the plan in force nor `cpcm due`. Where a later version waits for approval
    and holds the changed actions too (`plan_actions.waiting_after`), it names that one as well:
    its approval would put the actions back in force as they were. Where the case had no actions
    then, by a new version."""
    from cpcm.workflow.fold import in_force

    was, given = rules.case_part(link.body)["actions"], part["actions"]
    if was == given:
        return None
    version = link.body.get("plan")
    if not version:
        return (f"{case.id}: {link.body.get('conference')} was closed with no actions for it, so its plan has none of them: to "
                f"take them in, cpcm plan {case.id} --from-current --reason conference_decision")
    version = in_force(records).get(version, version)
    later = plan_actions.superseded_in_force(case.plan, version, policy)
    # the actions of the minutes as the close wrote them that now read otherwise, as the plan holds them
    changed = [(index, action) for index, action in enumerate(was) if index >= len(given) or given[index] != action]
    held = [plan_actions.conference_action(case.plan, version, len(was), index, (action or {}).get("action"), policy, now,
                                           case.reopenings) for index, action in changed]
    waiting = _waiting_holds(case, later["record_id"] if later else version, [h["action_id"] for h in held], policy)
    if later is None:
        return (f"{case.id}: its plan keeps the actions the conference was closed with (plan version {version}): where an action "
                f"changed, correct it there: cpcm correct {case.id} {version} --set actions.ID.FIELD=VALUE --reason TEXT "
                f"(cpcm show {case.id} plan lists the action IDs; a timeline is `by`){waiting}")
    carried = sorted({h["action_id"] for h in held if h["carried"] == plan_actions.CARRIED_YES and h["action_id"]})
    superseded = (f"{case.id}: the plan version the conference was closed with ({version}) was superseded by plan version "
                  f"{later.get('version')} ({later['record_id']}), in force now")
    if not carried and changed:
        return (f"{superseded}, which no longer holds the actions that changed: nothing in the plan in force to mend "
                f"(cpcm show {case.id} plan){waiting}")
    named = f" ({', '.join(carried)})" if carried else ""
    path = f"actions.{carried[0]}.FIELD" if len(carried) == 1 else "actions.ID.FIELD"
    return (f"{superseded}, where the conference's actions continue{named}: where an action changed, correct it there: "
            f"cpcm correct {case.id} {later['record_id']} --set {path}=VALUE --reason TEXT (cpcm show {case.id} plan lists "
            f"the action IDs; a timeline is `by`; correcting {version} would not change the plan in force){waiting}")


def _waiting_holds(case: Case, record_id: str, action_ids: Iterable[str | None], policy) -> str:
    """The end of the mend's next step where a version written after the one in force (`record_id`)
    waits for approval and holds changed actions (`plan_actions.waiting_after`): it copied them
    as they were, and its approval would put them back in force, so it is corrected as well (its
    record, the IDs it holds). Empty where none waits, or it holds none of them."""
    pending = plan_actions.waiting_after(case.plan, record_id, policy)
    if pending is None:
        return ""
    ids = {a.get("id") for a in pending.get("actions") or []}
    kept = sorted({i for i in action_ids if i and i in ids}, key=lambda i: plan_actions.id_number(i, plan_actions.ACTION) or 0)
    if not kept:
        return ""
    path = f"actions.{kept[0]}.FIELD" if len(kept) == 1 else "actions.ID.FIELD"
    return (f"; plan version {pending.get('version')} ({pending['record_id']}), waiting for approval, holds them too "
            f"({', '.join(kept)}) as they were, and its approval would put them back in force: correct it as well: "
            f"cpcm correct {case.id} {pending['record_id']} --set {path}=VALUE --reason TEXT")


def _presentation_given(conference: rules.Conference, value: Any, errors: list[FieldError]) -> tuple[str, str | None] | None:
    """(case ID, text or None) of a presentation to replace: the case must be one of the
    conference's. A case ID typed wrong is not echoed (it may be a name)."""
    case_text, text = value
    case_id = normalise_case_id(str(case_text or "").strip())
    if not str(case_text or "").strip():
        errors.append(FieldError("case", "is required with a presentation: the case whose presentation is replaced"))
    elif case_id is None:
        errors.append(FieldError("case", "is not a valid case ID (see cpcm conference show " + conference.id + ")"))
    elif case_id not in conference.case_ids:
        errors.append(FieldError("case", f"{case_id} is not nominated for {conference.id} (cpcm conference show {conference.id})"))
    text = str(text or "").strip() or None
    if text and len(text) > 4000:
        errors.append(FieldError("presentation", "is longer than 4000 characters"))
    return (case_id, text) if case_id in conference.case_ids else None


def _may_present(ctx, conference: rules.Conference, nomination: Mapping[str, Any]) -> None:
    """A presentation is replaced by the conference's chair, a supervisor or manager, or the
    worker who nominated the case or works it (its worker now: a case handed over since its
    nomination, say when its worker left, is presented by the one who has it); not by the
    worker of another case."""
    me = ctx.need_worker()
    if me.id in (conference.chair, nomination.get("by"), nomination.get("worker")) or approvals.oversees(me):
        return
    try:
        if context.load_case(ctx, nomination["case_id"]).worker == me.id:
            return
    except (CannotDecrypt, Corrupt, NotFound):
        pass  # a case you cannot read is not yours
    raise Refused(f"you ({me.id}) neither chair {conference.id} nor work {nomination['case_id']}: its presentation is not "
                  "yours to replace; nothing was written",
                  f"The chair ({conference.chair}), a supervisor or manager, or the case's worker replaces it.",
                  rule="conference-presentation-not-yours")


def _may_mend(ctx, conference: rules.Conference, what: str) -> None:
    """The minutes (and a closed conference's venue) are replaced by the conference's chair or a
    supervisor or manager: the chair keeps the conference's record (SOP Form 7)."""
    me = ctx.need_worker()
    if me.id == conference.chair or approvals.oversees(me):
        return
    raise Refused(f"you ({me.id}) do not chair {conference.id}: replacing {what} is not yours to do; nothing was written",
                  f"The chair ({conference.chair}), or a supervisor or manager, replaces it.", rule="conference-not-chair")


def reasons_of(policy) -> tuple[str, ...]:
    """The nomination reasons (SOP §5.4, and a reintegration decision, §5.5's typical case)."""
    return tuple(policy.get(rules.RULE, "reasons") or rules.REASONS)


@context.writes
def add_case(ctx, conference_id: str, case_id: str, reason: str | None, presentation: str | None = None,
             preparation: Mapping[str, Any] | None = None) -> Written:
    """Nominate a case (SOP §5.4: service options exhausted, an unresolved protection concern,
    or an especially difficult case; §5.5: a child about to be reintegrated or recently
    reintegrated, a reintegration decision); warns past the SOP's case limit. A case is
    nominated once: a second nomination is refused.

    A worker who does not read the conference (a caseworker none of whose cases is in it yet)
    nominates a case of their own (Form 3 item 1): the nomination waits, encrypted to the
    conference's readers (`_propose`), until the chair or a supervisor or manager takes it into
    the final set (item 2) with `add-case` again (`reason`, `presentation` and `preparation` then
    default to the nomination's); that makes the case's worker a reader of the conference,
    re-encrypting it in the same commit. `preparation`: the presenter's answers to the SOP's Form 2
    (cpcm/forms/conference-preparation.yaml), validated by that form and checked for names as
    the presentation is; kept in the nomination, encrypted like every conference record."""
    FOLDERS.exists(ctx, conference_id)
    if ctx.need_worker().id not in ctx.store.recipients(conference_id, CONFERENCES):
        return _propose(ctx, conference_id, case_id, reason, presentation, preparation)
    conference = _open(ctx, conference_id, "add-case")
    proposal = next((p for p in conference.proposals if p["case_id"] == case_id), None)
    if proposal is not None:  # taking a caseworker's nomination into the final set (Form 3 item 2)
        _may_take_in(ctx, conference, case_id)
        reason = reason or proposal.get("reason")
        if presentation is None:
            presentation = proposal.get("presentation")
        if preparation is None:
            preparation = proposal.get("preparation")
    reason, presentation = _checked_nomination(ctx, conference_id, reason, presentation)
    preparation = _checked_preparation(ctx, case_id, preparation)
    case = context.load_case(ctx, case_id)
    _refuse_not_open(case, conference_id)
    if case_id in conference.case_ids:
        raise Refused(f"{case_id} is already nominated for {conference_id}; nothing was written",
                      f"A case is nominated once (see cpcm conference show {conference_id}); its discussion goes in the minutes.",
                      rule="conference-case-nominated")
    if presentation or preparation:  # members read every presentation: none names a child or caregiver of any case of it
        _refuse_names(ctx, _nomination_texts(presentation, preparation), [*conference.case_ids, case_id], f"the nomination of {case_id}")
    if conference.venue:  # the venue, set before the case joined, goes on the agenda and the minutes with it
        _refuse_names(ctx, {"venue": conference.venue}, [case_id], f"the venue of {conference_id}",
                      f"give the meeting another venue first (cpcm conference update {conference_id} --venue ...)")
    if conference.virtual:  # so do the virtual meeting's details (the platform, the record keeper, the recording)
        _refuse_names(ctx, {"virtual": conference.virtual}, [case_id], f"the virtual meeting's details of {conference_id}",
                      f"change them first (cpcm conference update {conference_id} --platform, --record-keeper, "
                      "--recording-held-by or --not-recorded-reason ...)")
    # the presentations written before the case joined go into the minutes and the report with it: the guard did not
    # know this case's names then
    earlier = {c["case_id"]: c["presentation"] for c in conference.cases if c.get("presentation")}
    if earlier:
        joining = _name_patterns(ctx, [case_id])
        naming = [c for c, text in earlier.items() if rules.names_found({"presentation": text}, joining)]
        _refuse_names(ctx, {f"presentation of {c}": earlier[c] for c in naming}, [case_id], f"a presentation of {conference_id}",
                      _replace_hint(conference_id, naming) + f", then nominate {case_id} again", again="", patterns=joining)
    prepared = {f"preparation of {c['case_id']}": dict(c["preparation"]) for c in conference.cases if c.get("preparation")}
    if prepared:  # so do the Form 2 answers given before it joined
        _refuse_names(ctx, prepared, [case_id], f"a Form 2 preparation of {conference_id}",
                      f"replace those answers first (cpcm conference update {conference_id} --case CP-… --preparation-file F "
                      f"--reason TEXT), then nominate {case_id} again", again="")
    if conference.minutes:  # minutes recorded before the case joined: recorded again, a later version replaces them
        _refuse_names(ctx, {"minutes": conference.minutes}, [case_id], f"the minutes of {conference_id}",
                      f"record the minutes again without the names first (cpcm conference minutes {conference_id} ...)")
    warnings = case_work_consent(ctx, case, "the nomination for conference")
    count = len(conference.cases) + 1
    too_many = rules.cases_warning(conference.kind, count, ctx.policy)
    if too_many:
        warnings.append(too_many)
    if not case.plan:
        warnings.append(f"{case_id} has no case plan yet: the SOP takes a case to conference after its plan (§5.3); "
                        "closing the conference makes its actions an interim plan")
    if not presentation and conference.virtual and ctx.policy.get(rules.VIRTUAL, "written_presentations", True):
        # a virtual conference: each case presented in writing (SOP §4 step 3), before the agenda goes out
        warnings.append(rules.presentations_missing(conference, ctx.policy, [case_id])
                        + f"; the agenda is refused until it has one (cpcm render agenda {conference_id})")
    body = {"case_id": case_id, "reason": reason, "presentation": presentation, "worker": case.worker,
            "opened": local_day(case.registered_at, ctx.zone) or None, "risk": case.risk, "stage": case.stage,
            "proposal": proposal["record_id"] if proposal is not None else None, **({"preparation": preparation} if preparation else {})}
    record = _record(ctx, "nomination", conference_id, body, after=_last_id(conference))
    readers = _readers(ctx, conference.chair, [*conference.case_ids, case_id])
    _write(ctx, conference, "add-case", record, f"conference add-case {conference_id} {case_id}", readers)
    # the case list is the plan's (Form 3 item 4): one approved needs approving again (the conference with the case, not
    # read again: only the list changed)
    after = dataclasses.replace(conference, cases=(*conference.cases, {"case_id": case_id}))
    return Written(conference_id, record.id, "nomination", tuple(warnings),
                             (f"prepare the presentation with your supervisor (Forms 1 and 2), then: cpcm render agenda {conference_id}",
                              *_plan_reopened(ctx, conference, after)),
                             {"case_id": case_id, "cases": count, "prompts": list(PRESENTATION_PROMPTS), "proposed": False,
                              **({"proposal": proposal["record_id"]} if proposal is not None else {})})


@context.writes
def remove_case(ctx, conference_id: str, case_id: str, reason: str | None) -> Written:
    """Take a case off the conference's list before it is closed (`cpcm conference add-case CONF
    CASE --remove --reason T`): a case nominated by mistake, one whose concern was resolved before
    the meeting, or one the chair moves to a later conference to keep within
    `conference.max_cases`. A `nomination_removed` record (append-only: the nomination stays in the
    history), one commit `conference remove-case CC-… CP-…`. The reason is free text, kept in the
    encrypted record only, and goes through the name guard as a presentation does.

    From then on the agenda, the minutes, the close and the report leave the case out; the case's
    worker no longer reads the conference's records where they read it through that case only (its
    records are re-encrypted in the same commit, as `add-case` re-encrypts them to a worker it
    adds), and a conference plan approved with it waits for approval again. Nothing is written in
    the case (a nomination writes nothing there either). The case can be nominated again.

    By the chair, a supervisor or manager, or the case's worker (those who may take a nomination
    into the final set); a caseworker's nomination still waiting is withdrawn by its nominator too,
    who does not read the conference (`_withdraw`). Refused (exit 4, nothing written): a case not
    on the list (`conference-case-not-nominated`), a closed conference (`conference-closed`), a
    case the standing minutes discuss (`conference-case-in-minutes`: recorded again without it
    first)."""
    FOLDERS.exists(ctx, conference_id)
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise InvalidInput([FieldError("reason", "is longer than 500 characters" if reason else
                                       "is required with --remove: say why the case comes off the list (case IDs only, no names)")],
                           f"taking {case_id} off {conference_id}")
    me = ctx.need_worker()
    if me.id not in ctx.store.recipients(conference_id, CONFERENCES):
        return _withdraw(ctx, conference_id, case_id, reason)
    conference = load(ctx, conference_id)
    if conference.closed_at:
        raise Refused(f"{conference_id} is closed: a case cannot be taken off its list any more; nothing was written",
                      _closed_hint(conference_id, case_id), rule="conference-closed")
    nomination = next((c for c in conference.cases if c["case_id"] == case_id), None)
    proposal = next((p for p in conference.proposals if p["case_id"] == case_id), None) if nomination is None else None
    taken = nomination or proposal
    if taken is None:
        raise Refused(f"{case_id} is not on the list of {conference_id}, nor waiting to be taken in; nothing was written",
                      f"The cases it lists: cpcm conference show {conference_id}", rule="conference-case-not-nominated")
    _may_take_out(ctx, conference, case_id, proposal)
    if nomination is not None and conference.minutes and any(
            normalise_case_id(str(e.get("case") or "")) == case_id for e in conference.minutes.get("cases") or []):
        raise Refused(f"the minutes of {conference_id} discuss {case_id}: it cannot be taken off the list while they do; "
                      "nothing was written",
                      f"Record the minutes again without its entry first (cpcm conference minutes {conference_id} --from-file F), "
                      f"then take it off: cpcm conference add-case {conference_id} {case_id} --remove --reason TEXT",
                      rule="conference-case-in-minutes")
    # the reason is read by every member: no child's or family's name of any case of it (nor of the case taken off)
    _refuse_names(ctx, {"reason": reason}, [*conference.case_ids, *(p["case_id"] for p in conference.proposals)],
                  f"taking {case_id} off {conference_id}", "write the reason without them (case IDs only)")
    body = {"case_id": case_id, "nomination": taken["record_id"], "reason": reason, **({"waiting": True} if proposal else {})}
    record = _record(ctx, rules.REMOVED, conference_id, body, after=_last_id(conference))
    after = dataclasses.replace(conference, cases=tuple(c for c in conference.cases if c is not nomination),
                                proposals=tuple(p for p in conference.proposals if p is not proposal))
    current = ctx.store.recipients(conference_id, CONFERENCES)
    readers = _readers(ctx, conference.chair, after.cases_read_by_workers)
    if set(readers) == set(current):
        readers = current  # nobody leaves: nothing re-encrypted
    _write(ctx, conference, "remove-case", record, f"conference remove-case {conference_id} {case_id}", readers)
    gone = [w for w in current if w not in readers]
    steps = [f"{', '.join(gone)} no longer read{'s' if len(gone) == 1 else ''} {conference_id} (through {case_id} only)"] if gone else []
    steps.append(f"nominate it again when it is to be discussed: cpcm conference add-case CONF {case_id} --reason REASON "
                 f"(this conference or a later one)")
    steps += _plan_reopened(ctx, conference, after) if nomination is not None else []
    return Written(conference_id, record.id, rules.REMOVED, (), tuple(steps),
                   {"case_id": case_id, "cases": len(after.cases), "waiting": proposal is not None, "no_longer_read_by": gone})


def _closed_hint(conference_id: str, case_id: str) -> str:
    """What to do instead of taking a case off a closed conference's list."""
    return (f"The cases a conference was closed with stand: its minutes, report and the case plans hold them. To take "
            f"{case_id}'s presentation out of the documents: cpcm conference update {conference_id} --case {case_id} "
            f"--presentation \"\" --reason TEXT; to change what closing put in its plan: cpcm plan {case_id} --from-current --reason "
            f"REASON; to discuss it again, nominate it to a later conference: cpcm conference add-case CONF {case_id} --reason REASON")


def _may_take_out(ctx, conference: rules.Conference, case_id: str, proposal: Mapping[str, Any] | None) -> None:
    """A case comes off the list by whoever may take it in (`_may_take_in`: the chair, a
    supervisor or manager, the case's worker); a waiting nomination by its nominator too."""
    me = ctx.need_worker()
    if me.id == conference.chair or approvals.oversees(me) or (proposal is not None and proposal.get("by") == me.id):
        return
    try:
        if context.load_case(ctx, case_id).worker == me.id:
            return
    except (CannotDecrypt, Corrupt, NotFound):
        pass  # a case you cannot read is not yours
    raise Refused(f"you ({me.id}) do not chair {conference.id}: taking {case_id} off its list is not yours to do; nothing was "
                  "written", f"The chair ({conference.chair}), a supervisor or manager, or the case's worker takes it off.",
                  rule="conference-not-chair")


def _withdraw(ctx, conference_id: str, case_id: str, reason: str) -> Written:
    """A caseworker who does not read the conference withdraws their own nomination, still waiting
    for the chair (`_propose`): found by its commit (`conference add-case CC-… CP-…`, the latest of
    the case's in the folder), since they cannot read the conference; written as `_propose` writes,
    to the conference's readers as they stand, adding none. Their reason is checked against the
    case's own names (the cases they read)."""
    me = ctx.need_worker()
    case = context.load_case(ctx, case_id)  # exit 5 for a case you do not read
    if case.worker != me.id:
        raise CannotDecrypt(f"you ({me.id}) are not a recipient of {conference_id}, and {case_id} is not a case you work: "
                            "a worker who does not read a conference withdraws only their own nominations; nothing was written",
                            "Its chair, supervisors and managers take other cases off its list (ask them).")
    names = [f.name for f in ctx.store.record_files(conference_id, CONFERENCES)]
    if _closed_by_names(names):
        raise Refused(f"{conference_id} is closed: a case cannot be taken off its list any more; nothing was written",
                      _closed_hint(conference_id, case_id), rule="conference-closed")
    added, taken_off = f"conference add-case {conference_id} {case_id}", f"conference remove-case {conference_id} {case_id}"
    latest = next((c for c in ctx.store.log([folder_rel(CONFERENCES, conference_id)]) if c.message.strip() in (added, taken_off)), None)
    nominations = sorted(f.rsplit("/", 1)[-1].split(".")[0] for f in (latest.files if latest is not None else ())
                         if f.rsplit("/", 1)[-1].split(".")[1:2] == ["nomination"])
    if latest is None or latest.message.strip() != added or not nominations:
        raise Refused(f"{case_id} is not waiting to be taken into {conference_id}; nothing was written",
                      f"Nominate it: cpcm conference add-case {conference_id} {case_id} --reason REASON",
                      rule="conference-case-not-nominated")
    _refuse_names(ctx, {"reason": reason}, [case_id], f"taking {case_id} off {conference_id}",
                  "write the reason without them (case IDs only)")
    body = {"case_id": case_id, "nomination": nominations[-1], "reason": reason, "waiting": True}
    ids = sorted(n.split(".")[0] for n in names)
    record = _record(ctx, rules.REMOVED, conference_id, body, after=ids[-1] if ids else "")
    readers = ctx.store.recipients(conference_id, CONFERENCES)
    with context.transaction(ctx, "conference-remove-case") as tx:
        tx.write_record(record, context.keys_for(ctx, readers), CONFERENCES)
        tx.commit(taken_off)
    return Written(conference_id, record.id, rules.REMOVED, (),
                   (f"nominate it again when it is to be discussed: cpcm conference add-case CONF {case_id} --reason REASON",),
                   {"case_id": case_id, "cases": None, "waiting": True, "no_longer_read_by": []})


def _checked_preparation(ctx, case_id: str, preparation: Mapping[str, Any] | None) -> dict | None:
    """The Form 2 answers of a nomination as the conference-preparation form validates them
    (InvalidInput naming each bad field, e.g. `situation.p10_further_risk`); None when none given."""
    if preparation is None:
        return None
    if not isinstance(preparation, Mapping):
        raise InvalidInput([FieldError("preparation", "is a YAML mapping of the Form 2 prompts (cpcm form blank conference-preparation)")],
                           f"the Form 2 preparation of {case_id}")
    body = context.validate_form(ctx, "conference-preparation", preparation, f"the Form 2 preparation of {case_id}")
    return body or None


def _nomination_texts(presentation: str | None, preparation: Mapping[str, Any] | None) -> dict:
    """A nomination's texts the name check reads: its presentation and its Form 2 answers."""
    return {k: v for k, v in (("presentation", presentation), ("preparation", preparation)) if v}


def _checked_nomination(ctx, conference_id: str, reason: str | None, presentation: str | None) -> tuple[str, str | None]:
    """(the reason's code, the presentation trimmed: None when empty) of a nomination, once its reason
    is one of the policy's and the presentation not too long; InvalidInput naming each field otherwise.
    The reason is typed as its code or as its words in the repository's language, as a form's choice
    is (`option_code`: "kesi ngumu sana kutatua", the words the agenda prints, in Kiswahili)."""
    errors = []
    reasons = reasons_of(ctx.policy)
    if not reason:
        errors.append(FieldError("reason", f"is required: one of {', '.join(reasons)}"))
    else:
        reason, why = option_code(ctx, "reason", reason, reasons, field_words="reason")
        if why is not None:
            errors.append(FieldError("reason", why))
    presentation = (presentation or "").strip() or None
    if presentation and len(presentation) > 4000:
        errors.append(FieldError("presentation", "is longer than 4000 characters"))
    if errors:
        raise InvalidInput(errors, f"the nomination to {conference_id}")
    return reason, presentation


def _may_take_in(ctx, conference: rules.Conference, case_id: str) -> None:
    """A nomination waiting is taken into the final set by the chair, a supervisor or a manager
    (SOP §5.1: the lead social worker picks the final case list; Form 3 item 2), or by the case's
    worker once they read the conference."""
    me = ctx.need_worker()
    if me.id == conference.chair or approvals.oversees(me):
        return
    if context.load_case(ctx, case_id).worker == me.id:
        return
    raise Refused(f"you ({me.id}) do not chair {conference.id}: taking {case_id}'s nomination into the final set of cases is "
                  "not yours to do; nothing was written",
                  f"The chair ({conference.chair}), or a supervisor or manager, picks the cases (SOP Form 3 item 2).",
                  rule="conference-not-chair")


def _refuse_not_open(case, conference_id: str) -> None:
    """A closed or transferred case is not nominated: closing the conference puts its actions into each case's plan,
    which such a case takes no more (the close was refused then, with the minutes written). Refused
    (conference-case-not-open), naming the case the work on the child goes on in where it was merged into one."""
    if case.status == "open":
        return
    hint = (f"The work on the child goes on in {case.merged_into}: nominate that case (cpcm conference add-case "
            f"{conference_id} {case.merged_into} --reason ...)." if case.merged_into else
            f"If the child needs the conference, reopen the case first (cpcm reopen {case.id} --reason ...).")
    raise Refused(f"{case.id} is {case.status}: a conference discusses open cases and puts its actions into their plans; "
                  "nothing was written", hint, rule="conference-case-not-open")


def _propose(ctx, conference_id: str, case_id: str, reason: str | None, presentation: str | None,
             preparation: Mapping[str, Any] | None = None) -> Written:
    """A worker who does not read the conference nominates a case of their own (SOP Form 3
    item 1, §5.4: caseworkers nominate). They cannot read the conference, so the nomination is
    encrypted to its readers as they stand (its `recipients` file: the chair, the workers of its
    cases, the supervisors and managers), which changes nothing else: the nominating worker reads
    no more than before, and no record changes readers. It waits in the conference (`proposals`)
    until the chair or a supervisor takes it in (`add-case` again), which makes the worker a
    reader. What they cannot read is left to that step: the case limit, the names of the other
    cases in the presentation, and those of this case in the venue, the other presentations and
    the minutes (the one taking it in runs every check of a nomination)."""
    me = ctx.need_worker()
    case = context.load_case(ctx, case_id)  # exit 5 for a case you do not read
    _refuse_not_open(case, conference_id)
    if case.worker != me.id:  # (a supervisor reads every case, but nominates one as a reader of the conference)
        raise CannotDecrypt(f"you ({me.id}) are not a recipient of {conference_id}, and {case_id} is not a case you work: "
                            "a worker who does not read a conference nominates only their own cases; nothing was written",
                            f"Its chair, supervisors and managers nominate other cases (ask them), or run cpcm team sync "
                            f"if you are a supervisor or manager who joined since {conference_id} was planned.")
    names = [f.name for f in ctx.store.record_files(conference_id, CONFERENCES)]
    if _closed_by_names(names):  # the kinds are in the file names
        raise Refused(f"{conference_id} is closed: 'add-case' is not allowed any more", rule="conference-closed")
    reason, presentation = _checked_nomination(ctx, conference_id, reason, presentation)
    preparation = _checked_preparation(ctx, case_id, preparation)
    message, taken_off = f"conference add-case {conference_id} {case_id}", f"conference remove-case {conference_id} {case_id}"
    latest = next((c.message.strip() for c in ctx.store.log([folder_rel(CONFERENCES, conference_id)])
                   if c.message.strip() in (message, taken_off)), None)
    if latest == message:  # (one taken off since may be nominated again)
        raise Refused(f"{case_id} is already nominated for {conference_id}; nothing was written",
                      "A case is nominated once; the chair or a supervisor takes it into the final set of cases "
                      f"(cpcm conference add-case {conference_id} {case_id}), after which you read the conference.",
                      rule="conference-case-nominated")
    if presentation or preparation:  # against the names of the cases you read (this case's): the one taking it in checks every case's
        _refuse_names(ctx, _nomination_texts(presentation, preparation), [case_id], f"the nomination of {case_id}")
    warnings = case_work_consent(ctx, case, "the nomination for conference")
    if not case.plan:
        warnings.append(f"{case_id} has no case plan yet: the SOP takes a case to conference after its plan (§5.3); "
                        "closing the conference makes its actions an interim plan")
    body = {"case_id": case_id, "reason": reason, "presentation": presentation, "worker": case.worker,
            "opened": local_day(case.registered_at, ctx.zone) or None, "risk": case.risk, "stage": case.stage, "proposed": True,
            **({"preparation": preparation} if preparation else {})}
    ids = sorted(n.split(".")[0] for n in names)
    record = _record(ctx, "nomination", conference_id, body, after=ids[-1] if ids else "")
    readers = ctx.store.recipients(conference_id, CONFERENCES)
    with context.transaction(ctx, "conference-add-case") as tx:
        tx.write_record(record, context.keys_for(ctx, readers), CONFERENCES)
        tx.commit(message)
    return Written(conference_id, record.id, "nomination", tuple(warnings),
                   (f"the chair or a supervisor takes it into the final set of cases (cpcm conference add-case {conference_id} "
                    f"{case_id}); you read the conference from then on",
                    "prepare the presentation with your supervisor (Forms 1 and 2)"),
                   {"case_id": case_id, "cases": None, "prompts": list(PRESENTATION_PROMPTS), "proposed": True})


@context.writes
def attend(ctx, conference_id: str, data: Mapping[str, Any]) -> Written:
    """A member in the attendance register (Form 6), with the confidentiality agreement (Form 5):
    a member who has not agreed cannot be recorded as present, nor can a member barred after a
    breach. The agreement is signed once, on the standing register: a member who signed at an
    earlier conference (or with `cpcm conference sign`) needs no --confidentiality-signed; one
    who signs now (yes or verbal) is added to the register in the same commit."""
    conference = _open(ctx, conference_id, "attend")
    early = rules.attendance_too_early(conference, ctx.now)
    if early:
        raise Refused(early + "; nothing was written",
                      f"Record attendance on the day of the meeting or after it. If the meeting moved, change its date first: "
                      f"cpcm conference update {conference_id} --date DATE --reason TEXT; a participant's confirmation before "
                      f"the meeting goes on the conference: cpcm conference update {conference_id} --attendance-confirmed DATE",
                      rule="conference-attendance-before-meeting")
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
    # a yes-or-no in the repository's language (ndiyo or hapana in Kiswahili), as a form's is read
    answer, reason = option_code(ctx, "present", data["present"]) if data.get("present") not in (None, "") else (True, None)
    if reason is not None:
        errors.append(FieldError("present", reason))
    present = "yes" if answer else "no"
    entry = None
    if not family:  # read with another field refused too: a member who signed is not also told to give confidentiality_signed
        register = _register(ctx, need=present == "yes" and not errors)
        entry = rules.register_entry(register, body) if register is not None else None
        if entry and entry.get("barred") and present == "yes" and not errors:
            raise Refused(f"{conference_id}: this member is barred from case conferences after a breach of the confidentiality "
                          "agreement; nothing was written",
                          "SOP §5.1: a member who breaches the agreement attends no further conference. A supervisor or manager "
                          "lifts a bar: cpcm conference register --lift --name N --institution I --reason TEXT",
                          rule="conference-member-barred")
        if not signed and entry and entry.get("signed_on"):
            signed = "verbal" if entry.get("how") == "verbal" else "yes"
    if signed and signed not in _SIGNED:  # its words in the repository's language too (ndiyo, hapana in Kiswahili)
        signed = option_code(ctx, "confidentiality_signed", signed, _SIGNED)[0] or signed
    if signed not in _SIGNED:
        errors.append(FieldError("confidentiality_signed", "is required: yes, no, or verbal (consent noted where signing is impossible); "
                                                           "not needed for a member who signed Form 5 before (cpcm conference register)"))
    if errors:
        raise InvalidInput(errors, f"attendance at {conference_id}")
    if present == "yes" and signed == "no":
        raise Refused(f"{conference_id}: a member who has not signed the confidentiality agreement cannot be recorded as present",
                      "SOP §5.1 and Form 5: every member signs before the meeting begins (or gives verbal consent, noted); "
                      "record it with --confidentiality-signed yes (or verbal), or record the member with --present no.",
                      rule=REMINDER_RULE)
    body.update(confidentiality_signed=signed, present=present == "yes", **({"role": "family"} if family else {}))
    record = _record(ctx, "attendance", conference_id, body, after=_last_id(conference))
    signs = not family and signed in ("yes", "verbal") and not (entry and entry.get("signed_on"))
    if signs:  # never a child's or family member's name on the agency-wide register
        from cpcm.render.views import is_family

        signs = not is_family(body, _clients(ctx, conference.case_ids))
    current = ctx.store.recipients(conference.id, CONFERENCES)
    with context.transaction(ctx, "conference-attend") as tx:
        tx.write_record(record, context.keys_for(ctx, current), CONFERENCES)
        if signs:  # signed Form 5 at this meeting: on the standing register from now on
            _write_agreement(ctx, tx, {"name": body["name"], "institution": body["institution"], "position": body["position"],
                                       "contact": body.get("contact"), "signed_on": ctx.now.date().isoformat(),
                                       "how": "signed" if signed == "yes" else "verbal",
                                       "conference": conference_id})
        tx.commit(f"conference attend {conference_id} {record.id}")
    present_count = len([a for a in conference.attendees if a.get("present") and rules.member_key(a) != rules.member_key(body)])
    present_count += 1 if body["present"] else 0
    # the meeting is being held: said once, at the register's first entry, where the plan was not approved (Form 3 item 4)
    unapproved = rules.plan_warning(conference, ctx.policy, ctx.now.tzinfo) if not conference.attendees else None
    return Written(conference_id, record.id, "attendance", (unapproved,) if unapproved else (),
                   extra={"participants": present_count, "signed_now": signs})


# -- the standing confidentiality register (Form 5) ----------------------------------------------------
def _register_readers(ctx) -> list[str]:
    """Every active member of the team: whoever records attendance checks the register."""
    return rules.register_readers(ctx.team)


def _register(ctx, need: bool = True) -> dict | None:
    """The register as it stands ({} when nobody has signed yet). Not readable by you (you joined
    the team after its last change): refused when `need`, else None."""
    if rules.REGISTER_ID not in ctx.store.case_ids(CONFERENCES):
        return {}
    me = ctx.need_worker()
    if me.id not in ctx.store.recipients(rules.REGISTER_ID, CONFERENCES):
        if not need:
            return None
        raise Refused("the confidentiality register (Form 5) is not yet shared with you, so who signed and who is barred cannot "
                      "be checked; nothing was written",
                      "Ask a supervisor or manager to share it with the team: cpcm conference register --share",
                      rule="conference-register-unreadable")
    return rules.fold_register(ctx.store.read_records(rules.REGISTER_ID, ctx.keys, CONFERENCES))


def _register_last_id(ctx) -> str:
    if rules.REGISTER_ID not in ctx.store.case_ids(CONFERENCES):
        return ""
    ids = sorted(r.id for r in ctx.store.read_records(rules.REGISTER_ID, ctx.keys, CONFERENCES))
    return ids[-1] if ids else ""


def _write_agreement(ctx, tx, body: Mapping[str, Any], kind: str = "agreement", reshare: bool = False) -> Record:
    """One record into the register inside `tx`: the folder made on its first record; with
    `reshare`, its records re-encrypted to the whole team first (a sign, bar or share commit)."""
    readers = _register_readers(ctx)
    existing = rules.REGISTER_ID in ctx.store.case_ids(CONFERENCES)
    if not existing:
        tx.replace_file(f"{folder_rel(CONFERENCES, rules.REGISTER_ID)}/{RECIPIENTS}", context.recipients_bytes(readers, CONFERENCES))
    elif reshare and ctx.store.recipients(rules.REGISTER_ID, CONFERENCES) != readers:
        context.reencrypt(ctx, tx, rules.REGISTER_ID, readers, CONFERENCES)
    else:
        readers = ctx.store.recipients(rules.REGISTER_ID, CONFERENCES)
    reads = existing and ctx.need_worker().id in ctx.store.recipients(rules.REGISTER_ID, CONFERENCES)
    record = context.new_record(ctx, kind, rules.REGISTER_ID, {k: v for k, v in body.items() if v is not None},
                                after=_register_last_id(ctx) if reads else "")
    tx.write_record(record, context.keys_for(ctx, readers), CONFERENCES)
    return record


def _member_fields(data: Mapping[str, Any], errors: list[FieldError], keys=("name", "institution")) -> dict:
    out = {}
    for key in keys:
        value = str(data.get(key) or "").strip()
        if not value:
            errors.append(FieldError(key, "is required"))
        elif len(value) > 200:
            errors.append(FieldError(key, "is longer than 200 characters"))
        out[key] = value
    return out


def _refuse_clients_on_register(ctx, member: Mapping[str, Any], what: str) -> list[str]:
    """Refused (exit 4) when `member` is a child or family member of a case you read, as `attend`
    tells one (`is_family`: a registered name or phone, or a name in the institution or position):
    the register is the agency's, encrypted to every member of the team, and never holds a child's
    or family member's name (SOP §5.1 asks professionals to sign). With no conference to name the
    cases, every case you read is checked (`_every_family`). The message names the fields and the
    cases, never the value. Returns a warning naming each case that could not be read (its names
    not checked), so that one damaged case does not stop the register."""
    from cpcm.render.views import is_family, might_be_family

    before = len(ctx.problems)
    families = _every_family(ctx, lambda family: might_be_family(member, *family))
    unread = sorted({split[1] for exc in ctx.problems[before:]
                     if (split := split_rel(getattr(exc, "path", None) or getattr(exc, "record_file", None) or ""))})
    del ctx.problems[before:]  # told here, as the write's warning
    warnings = [f"{', '.join(unread)}: cannot be read, so the names registered for {'it' if len(unread) == 1 else 'them'} "
                "were not checked against this member (cpcm verify names the damage)"] if unread else []
    if not families:
        return warnings
    clients = dict(zip(families, _clients(ctx, (), families)))
    # each field alone, so that the refusal names it; a contact is checked for a registered phone, and
    # for a name in its text as the institution and position are ("ask for <child>")
    hits = [(key, case_id) for key in ("name", "contact", "institution", "position") if member.get(key)
            for case_id, client in clients.items()
            if is_family({key: member[key]}, [client]) or (key == "contact" and is_family({"position": member[key]}, [client]))]
    if hits:
        raise Refused(f"{what}: {', '.join(f'{key} (a name or phone registered for {case_id})' for key, case_id in hits)}: "
                      "a child or family member is never put on the confidentiality register; nothing was written",
                      "The register (Form 5) holds the professionals who sign the agreement. A child or family member present "
                      "at a conference is recorded with cpcm conference attend CONF --family --name NAME, counted and never named.",
                      rule="conference-no-names")
    return warnings


@context.writes
def sign(ctx, data: Mapping[str, Any]) -> Written:
    """A member signs the confidentiality agreement (Form 5) on the standing register: once, for
    every conference from then on (SOP §5.1). `how`: signed, or verbal (consent noted where signing
    is impossible); `signed_on`: the date on the paper form (default today)."""
    errors: list[FieldError] = []
    body = _member_fields(data, errors, ("name", "institution", "position"))
    contact = str(data.get("contact") or "").strip() or None
    if contact and len(contact) > 200:
        errors.append(FieldError("contact", "is longer than 200 characters"))
    how = str(data.get("how") or "signed").strip().lower()
    if how not in ("signed", "verbal"):
        errors.append(FieldError("how", "is signed or verbal"))
    day = _date_text(data.get("signed_on"), "date", errors) or ctx.now.date().isoformat()
    if day > ctx.now.date().isoformat():
        errors.append(FieldError("date", "is in the future"))
    if errors:
        raise InvalidInput(errors, "the confidentiality agreement")
    unchecked = _refuse_clients_on_register(ctx, {**body, "contact": contact}, "the confidentiality agreement")
    register = _register(ctx)
    entry = rules.register_entry(register, body)
    if entry and entry.get("signed_on"):
        raise Refused(f"this member signed the confidentiality agreement on {entry['signed_on']}: a member signs once; nothing was written",
                      "See cpcm conference register.", rule="conference-already-signed")
    with context.transaction(ctx, "conference-sign") as tx:
        record = _write_agreement(ctx, tx, {**body, "contact": contact, "signed_on": day, "how": how}, reshare=True)
        tx.commit(f"conference sign {rules.REGISTER_ID} {record.id}")
    warnings = ["this member is barred after a breach: signing again does not lift the bar"] if entry and entry.get("barred") else []
    return Written(rules.REGISTER_ID, record.id, "agreement", (*unchecked, *warnings))


@context.writes
def bar(ctx, data: Mapping[str, Any], reason: str | None, lift: bool = False) -> Written:
    """A supervisor or manager bars a member after a breach of the confidentiality agreement (SOP
    §5.1): from then on the member cannot be recorded as present at any conference; or lifts the
    bar. Both need a reason, kept in the encrypted register."""
    me = ctx.need_worker()
    if not approvals.oversees(me):
        raise Refused("only a supervisor or manager bars a member or lifts a bar", "Ask your supervisor.",
                      rule="conference-bar-needs-supervisor")
    errors: list[FieldError] = []
    body = _member_fields(data, errors)
    reason = (reason or "").strip()
    if not reason:
        errors.append(FieldError("reason", "is required: the breach (or why the bar is lifted)"))
    elif len(reason) > 1000:
        errors.append(FieldError("reason", "is longer than 1000 characters"))
    if errors:
        raise InvalidInput(errors, "the bar" if not lift else "lifting the bar")
    unchecked = _refuse_clients_on_register(ctx, body, "the bar") if not lift else []  # lifting writes no one new onto the register
    entry = rules.register_entry(_register(ctx), body)
    if lift and not (entry and entry.get("barred")):
        raise Refused("this member is not barred; nothing was written", rule="conference-not-barred")
    if not lift and entry and entry.get("barred"):
        raise Refused(f"this member is barred already (since {local_day(entry['barred']['at'], ctx.zone)}); nothing was written",
                      rule="conference-already-barred")
    kind = "bar_lifted" if lift else "bar"
    with context.transaction(ctx, f"conference-{'lift' if lift else 'bar'}") as tx:
        record = _write_agreement(ctx, tx, {**body, "reason": reason}, kind=kind, reshare=True)
        tx.commit(f"conference {'lift' if lift else 'bar'} {rules.REGISTER_ID} {record.id}")
    return Written(rules.REGISTER_ID, record.id, kind, unchecked)


@context.writes
def share_register(ctx) -> Written:
    """Re-encrypt the register to every active member of the team (one who joined since its last
    change cannot read it until then). A supervisor or manager."""
    me = ctx.need_worker()
    if not approvals.oversees(me):
        raise Refused("only a supervisor or manager shares the register", "Ask your supervisor.", rule="conference-bar-needs-supervisor")
    if rules.REGISTER_ID not in ctx.store.case_ids(CONFERENCES):
        raise NotFound("nobody has signed the confidentiality register yet", "cpcm conference sign --name N --institution I --position P")
    readers = _register_readers(ctx)
    if ctx.store.recipients(rules.REGISTER_ID, CONFERENCES) == readers:
        raise Refused("the register is already shared with every member of the team; nothing was written", rule="nothing-to-update")
    with context.transaction(ctx, "conference-share") as tx:
        context.reencrypt(ctx, tx, rules.REGISTER_ID, readers, CONFERENCES)
        tx.commit(f"conference share {rules.REGISTER_ID}")
    return Written(rules.REGISTER_ID, (), "recipients")


def register_list(ctx) -> list[dict]:
    """The register: each member, when they signed (and how), whether barred."""
    register = _register(ctx)
    rows = []
    for entry in sorted(register.values(), key=lambda e: (str(e.get("institution")).lower(), str(e.get("name")).lower())):
        rows.append({"name": entry.get("name"), "institution": entry.get("institution"), "position": entry.get("position"),
                     "signed_on": entry.get("signed_on"), "how": entry.get("how"),
                     "barred": bool(entry.get("barred")), "barred_since": local_day((entry.get("barred") or {}).get("at", ""), ctx.zone) or None,
                     "history": entry.get("history")})
    return rows


# -- names must not reach the minutes ----------------------------------------------------------------
def _families(ctx, case_ids: Iterable[str]) -> dict[str, tuple[list[str], list[str]]]:
    """For each case you can read: the names and phones of its child and family (`_family`)."""
    me = ctx.need_worker()
    return {case_id: _family(ctx, case_id) for case_id in case_ids if me.id in ctx.store.recipients(case_id)}


def _every_family(ctx, keep: Callable[[tuple[list[str], list[str]]], bool]) -> dict[str, tuple[list[str], list[str]]]:
    """`_families` of every case you read that `keep` keeps (the rest are let go as they are made), as `list` reads
    them: each case's summary from the cache, and its records (through the cache's record table, not decrypted again)
    only where it holds one that names a family member (`rules.NAMING_KINDS`): at thousands of cases a few seconds
    rather than a decryption of every record. A case that cannot be read is noted in `ctx.problems` (told as a
    warning), as a listing notes it: its names were not checked."""
    institutions = rules.institution_relationships(ctx.policy)
    families = {}
    named: dict[str, Case] = {}  # the cases whose records name someone: what `client_names` reads of each, till they are read
    cases = context.CaseStream(ctx)
    for case in cases:  # a case at a time
        if any(k in case.events for k in rules.NAMING_KINDS):
            named[case.id] = rules.naming_part(case)
        elif keep(family := rules.client_names(case, [], institutions)):
            families[case.id] = family
    for case_id, records in cases.read_each(named):  # as the same commit holds them, a shard of the record table at a time
        if keep(family := rules.client_names(named.pop(case_id), effective(records), institutions)):
            families[case_id] = family
    return dict(sorted(families.items()))  # by case ID, as the problems: a refusal names the cases in that order


def _name_patterns(ctx, case_ids: Iterable[str], families: Mapping[str, tuple[list[str], list[str]]] | None = None
                   ) -> dict[str, list[re.Pattern]]:
    """For each case you can read: the patterns of its registered names (a common word of the
    repository's language, the language its documents are written in, read as name_patterns says)."""
    families = _families(ctx, case_ids) if families is None else families
    common = rules.common_words(ctx.policy, ctx.config.language)  # the words of the documents' language
    return {case_id: rules.name_patterns(names, common) for case_id, (names, _) in families.items()}


def names_in(ctx, data: Mapping[str, Any], case_ids: Iterable[str]) -> list[str]:
    """Where `data` holds a name registered for one of the cases you read (the guard of the
    meeting documents): each field and case as `field (a name registered for CP-…)`, never the name."""
    return rules.names_found(data, _name_patterns(ctx, case_ids))


def _replace_hint(conference_id: str, case_ids: list[str]) -> str:
    case = case_ids[0] if len(case_ids) == 1 else "CASE"
    return (f"replace the presentation without the name first: cpcm conference update {conference_id} --case {case} "
            "--presentation TEXT --reason TEXT" + (" (CASE: each case whose presentation is named above)" if case == "CASE" else ""))


def _check_documents(ctx, conference: rules.Conference, verb: str,
                     patterns: Mapping[str, list] | None = None, minutes: bool = True) -> list[str]:
    """Every presentation of the conference, its venue and (with `minutes`) its minutes against
    the names of every one of its cases you can read (each was checked only against the cases
    its writer could read): refused (exit 4) before minutes, closing or a document prints one
    holding a name, naming the field and the case, never the name, with what mends each. Returns
    a warning for each case you cannot read: its names were not checked here."""
    ctx.need_worker()
    presented = {c["case_id"]: c["presentation"] for c in conference.cases if c.get("presentation")}
    texts: dict[str, Any] = {f"presentation of {c}": text for c, text in presented.items()}
    texts.update({f"preparation of {c['case_id']}": dict(c["preparation"]) for c in conference.cases if c.get("preparation")})
    if conference.venue:
        texts["venue"] = conference.venue
    if conference.virtual:
        texts["virtual"] = dict(conference.virtual)
    if minutes and conference.minutes:
        texts["minutes"] = dict(conference.minutes)
    if not texts:
        return []
    patterns = _name_patterns(ctx, conference.case_ids) if patterns is None else patterns
    hits = rules.names_found(texts, patterns)
    if hits:
        naming = [c for c, text in presented.items() if rules.names_found({"presentation": text}, patterns)]
        why = " --reason TEXT" if conference.closed_at else ""  # a closed conference is mended by its chair or a supervisor, saying why
        remedies = ([_replace_hint(conference.id, naming)] if naming else []) + \
            ([f"change the venue: cpcm conference update {conference.id} --venue TEXT{why}"] if any(h.startswith("venue") for h in hits) else []) + \
            ([f"change the virtual meeting's details named: cpcm conference update {conference.id} --platform, --record-keeper, "
              f"--recording-held-by or --not-recorded-reason TEXT{why}"] if any(h.startswith("virtual") for h in hits) else []) + \
            ([f"replace the minutes with minutes without it: cpcm conference update {conference.id} --minutes FILE --reason TEXT"
              if conference.closed_at else f"record the minutes again without it: cpcm conference minutes {conference.id} --from-file F"]
             if any(h.startswith("minutes") for h in hits) else []) + \
            ([f"replace the Form 2 answers without it: cpcm conference update {conference.id} --case CP-… --preparation-file F "
              "--reason TEXT (\"\" takes them out)"]
             if any(h.startswith("preparation") for h in hits) else [])
        raise Refused(f"{conference.id}: a meeting document holds client names: {', '.join(hits)}; {verb} refused, nothing was written",
                      "Minutes and meeting documents use case IDs only (SOP Form 7; §5.1): " + "; ".join(remedies)
                      + ", then run it again.", rule="conference-no-names")
    return _unchecked(ctx, conference, patterns)


def _unchecked(ctx, conference: rules.Conference, patterns: Mapping[str, list]) -> list[str]:
    """A warning for each case of the conference you cannot read (not in `patterns`): its names were not checked here."""
    me = ctx.need_worker()
    return [f"{case_id}: you ({me.id}) cannot read this case, so the meeting's documents were not checked here for its names; "
            "a supervisor or manager, who reads every case, checks them when recording the minutes, closing or rendering"
            for case_id in conference.case_ids if case_id not in patterns]


def _family(ctx, case_id: str, records: list[Record] | None = None) -> tuple[list[str], list[str]]:
    """The names and phones of the child and family the case records (rules.client_names);
    `records`: the case's, where they were read already."""
    records = context.load_records(ctx, case_id) if records is None else records
    return rules.client_names(fold_case(case_id, records), effective(records),  # the fold applies corrections itself
                              rules.institution_relationships(ctx.policy))


def _refuse_names(ctx, data: Mapping[str, Any], case_ids: Iterable[str], what: str, remedy: str = "remove the names",
                  again: str = " and run it again", patterns: Mapping[str, list] | None = None, fields: bool = False) -> None:
    """Refused (exit 4) when a text holds a name registered for one of the cases; the message
    names the field and the case, never the name. `fields`: as the fields of a form (InvalidInput, its rule
    the same), so that on a terminal only those are asked again (cli/common.py `written`)."""
    hits = rules.name_hits(data, _name_patterns(ctx, case_ids) if patterns is None else patterns)
    if not hits:
        return
    hint = f"Minutes and meeting documents use case IDs only (SOP Form 7; §5.1): {remedy}{again}."
    if fields:
        raise InvalidInput([FieldError(path, f"holds a name registered for {case_id}: use case IDs only",
                                       rule="conference-no-names") for path, case_id in hits], what, hint)
    raise Refused(f"{what} holds client names: {', '.join(f'{path} (a name registered for {case_id})' for path, case_id in hits)}",
                  hint, rule="conference-no-names")


@context.writes
def minutes(ctx, conference_id: str, data: Mapping[str, Any]) -> Written:
    """Record the minutes (Form 7): discussion notes, and per case the discussion, decisions and
    actions. A later version replaces an earlier one until the conference is closed."""
    conference = check_minutes(ctx, conference_id)
    body = _minutes_body(ctx, conference, data)
    seen = {entry["case"] for entry in body.get("cases") or []}
    patterns = _name_patterns(ctx, conference.case_ids)
    _refuse_names(ctx, body, conference.case_ids, f"the minutes of {conference_id}", patterns=patterns, fields=True)
    warnings = _meeting_warnings(ctx, conference)
    warnings += _check_documents(ctx, conference, "the minutes are", patterns, minutes=False)  # (these minutes replace those)
    missing = [c for c in conference.case_ids if c not in seen]
    if missing:
        warnings.append(f"no minutes for {', '.join(missing)}: nothing will go into {'its' if len(missing) == 1 else 'their'} plan")
    record = _record(ctx, "minutes", conference_id, body, after=_last_id(conference))
    _write(ctx, conference, "minutes", record, f"conference minutes {conference_id} {record.id}")
    return Written(conference_id, record.id, "minutes", tuple(warnings),
                             (f"close the conference to copy the actions into each case's plan: cpcm conference close {conference_id}",))


def check_minutes(ctx, conference_id: str) -> rules.Conference:
    """The conference, once it may take minutes whatever they say: readable (NotFound,
    CannotDecrypt), not closed, its meeting started, no minutes recorded on two copies apart
    waiting to be agreed; Refused otherwise. `minutes` checks it, and `conference minutes` before
    its questions, so a refusal comes before anything is typed."""
    conference = _open(ctx, conference_id, "minutes")
    _not_held_yet(ctx, conference, "minutes")
    _refuse_minutes_apart(conference, "recording minutes")
    return conference


def _refuse_minutes_apart(conference: rules.Conference, what: str) -> None:
    """Refused (exit 4) while minutes recorded on two copies apart wait to be agreed
    (MINUTES_CONCURRENT): closing would copy the actions of one of them into the plans, and
    minutes recorded again would not say which they replace. By record IDs, never the text."""
    found = rules.open_conflicts(conference, rules.MINUTES_CONCURRENT)
    if found:
        records = ", ".join(r for c in found for r in c["records"])
        raise Refused(f"the minutes of {conference.id} were recorded on two copies apart ({records}) and are not agreed yet: "
                      f"{what} is not allowed until they are; nothing was written",
                      f"Read each (cpcm conference show {conference.id} --minutes-record RECORD), then write the minutes as "
                      f"agreed: cpcm conference update {conference.id} --minutes FILE --reason TEXT",
                      rule="minutes-concurrent")  # rules.MINUTES_CONCURRENT, written out for the rule-code table


def _minutes_body(ctx, conference: rules.Conference, data: Mapping[str, Any]) -> dict:
    """The minutes (Form 7) as the form validates them, each case's entry a case of the
    conference, once; exit 4 naming the field otherwise (`minutes` and `update --minutes`)."""
    return context.validate_form(ctx, "conference-minutes", data, f"the minutes of {conference.id}",
                                 then=lambda body: _minutes_case_errors(conference, body))


def _minutes_case_errors(conference: rules.Conference, body: Mapping[str, Any]) -> list[FieldError]:
    """Each entry of the minutes' `cases` (as the form found them) that is not a case of the
    conference, or one named twice; each case ID found is written as cpcm writes it."""
    errors, seen = [], set()
    for index, entry in enumerate(body.get("cases") or [], start=1):
        case_id = normalise_case_id(str(entry.get("case", "")))
        if case_id is None:
            errors.append(FieldError(f"cases[{index}].case", "is not a valid case ID"))
            continue
        if case_id not in conference.case_ids and any(r["case_id"] == case_id and not r["waiting"] for r in conference.removed):
            errors.append(FieldError(f"cases[{index}].case", f"{case_id} was taken off the list of {conference.id}: leave its "
                                                             f"entry out, or nominate it again (cpcm conference add-case "
                                                             f"{conference.id} {case_id} --reason REASON)"))
        elif case_id not in conference.case_ids:
            errors.append(FieldError(f"cases[{index}].case", f"{case_id} is not nominated for {conference.id} "
                                                             f"(cpcm conference add-case {conference.id} {case_id} ...)"))
        if case_id in seen:
            errors.append(FieldError(f"cases[{index}].case", f"{case_id} appears twice"))
        seen.add(case_id)
        entry["case"] = case_id
    return errors


def _meeting_warnings(ctx, conference: rules.Conference) -> list[str]:
    warnings = []
    for warning in (rules.participants_warning(len(conference.present), ctx.policy),
                    rules.cases_warning(conference.kind, len(conference.cases), ctx.policy),
                    rules.presentations_missing(conference, ctx.policy), rules.recording_warning(conference, ctx.policy),
                    rules.plan_warning(conference, ctx.policy, ctx.now.tzinfo)):
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


def _plan_words(ctx, conference: rules.Conference) -> tuple[str | None, Callable[[str], str]]:
    """What the plan versions `close` writes say of the conference, in the repository's language
    (the plan is free text, printed as written): its day as the documents write a date (in
    words; the ISO date where the language's catalog has no month names), and the catalog's words
    for the texts of `rules.interim_plan` and `rules.conference_named`."""
    from cpcm.render import env
    from cpcm.service.wording import say_for

    lang = getattr(ctx.config, "language", None) or env.SOURCE_LANGUAGE
    day = env.date_words(str(conference.date)[:10], lang, root=ctx.root) if conference.date else None
    return day, say_for(ctx)


@context.writes
def close(ctx, conference_id: str) -> Written:
    """Close the conference: each case's actions become a new version of its plan (reason
    conference_decision: the latest version's content with the actions appended), each case gets
    a record linking back to the conference, and the chair's list shows the report due 24 hours
    after the meeting's start (the next step gives that time). All in one commit. Each version is
    the conference's decision: its chair may approve it (plan_approval.conference_versions_by_chair;
    the fold tells it by the link record).

    A case with actions but no plan yet gets an interim plan made of them (`interim_plan`: one goal,
    the conference's actions, the full plan to follow), and so does a reopened case whose plan is
    from before the reopening (`_before_reopening`); a case whose stage takes no new plan
    (closed, closure requested) is refused. Refused before the meeting has started."""
    conference = _open(ctx, conference_id, "close")
    _not_held_yet(ctx, conference, "closing")
    if conference.minutes is None:
        raise Refused(f"{conference_id} has no minutes yet", f"Record them first: cpcm conference minutes {conference_id} --from-file F",
                      rule="conference-minutes-required")
    _refuse_minutes_apart(conference, "closing")
    me = ctx.need_worker()
    by_case = {entry["case"]: entry for entry in conference.minutes.get("cases") or []}
    nominations = {c["case_id"]: c for c in conference.cases}
    planned, errors, interim = [], [], []
    reopened = set()  # of those, the cases whose plan is from before their latest reopening
    records_of: dict[str, list[Record]] = {}
    for case_id in conference.case_ids:
        if me.id not in ctx.store.recipients(case_id):
            raise Refused(f"you ({me.id}) cannot read {case_id}, so its plan cannot be updated by you",
                          "A supervisor or manager (who reads every case) closes the conference.", rule="conference-close-needs-reader")
        records_of[case_id] = context.load_records(ctx, case_id)
    # each case's child and family names: for who took part, and for the documents' check below (you read every
    # case, so nothing is left unchecked)
    families = {case_id: _family(ctx, case_id, records_of[case_id]) for case_id in conference.case_ids}
    day, say = _plan_words(ctx, conference)
    for case_id in conference.case_ids:
        records = records_of[case_id]
        case = fold_case(case_id, records)
        entry = by_case.get(case_id) or {}
        actions = entry.get("actions") or []
        plan_body = None
        if actions:
            # the version a revision starts from, as `plan --from-current` takes it: a correction in its original's
            # place (without its supersedes and reason), the one in force when the latest was withdrawn
            from cpcm.service.planning import plan_current

            try:
                start, latest = plan_current(ctx, case_id)
            except NotFound:
                start, latest = None, None
            if start is not None and _before_reopening(ctx, case, records, start):
                latest = None  # the plan of the episode before the reopening is no plan to go on from
                reopened.add(case_id)
            try:
                transitions.advance(case.stage, "plan", case_id)
                transitions.check_outcome(case, "plan")
            except Refused as exc:  # closed (or its closure asked) since its nomination: the way on, not only the rule
                raise Refused(f"{exc.message}: its actions in the minutes cannot go into its plan, so {conference_id} "
                              "cannot be closed with them; nothing was written",
                              f"Record the minutes again without {case_id}'s entry (cpcm conference minutes {conference_id} "
                              f"--from-file F), take it off the list (cpcm conference add-case {conference_id} {case_id} "
                              f"--remove --reason TEXT), then close {conference_id}; or, if the child's case goes on, "
                              f"settle its closure first (cpcm show {case_id}).", rule=exc.rule) from None
            if latest is None:  # no plan yet (or one from before the reopening): the conference's actions start an interim plan
                plan_body = rules.interim_plan(conference, entry, day, say)
                interim.append(case_id)
            else:
                plan_body = copy.deepcopy(dict(latest))
                plan_body["reason"] = "conference_decision"
            # who took part in this planning is the conference's attendance, never the copied version's
            # one attendance register for every case: a name that fits another case's child or family tells nothing
            elsewhere = [name for other, (names, _phones) in families.items() if other != case_id for name in names]
            plan_body["participants"] = {**rules.took_part(conference, case, effective(records), elsewhere),
                                         "others": rules.conference_named(conference, day, say)}
            goal_ids = [g.get("id") for g in plan_body.get("goals") or []]
            for number, action in enumerate(actions, start=1):
                if action.get("goal") and action["goal"] not in goal_ids:
                    errors.append(FieldError(f"{case_id}: actions[{number}].goal",
                                             f"the plan has no goal '{action['goal']}' ({', '.join(g for g in goal_ids if g)})"))
            added = [_plan_action(ctx, a) for a in actions]
            if case_id in interim:
                for action in added:
                    action.setdefault("goal", "G1")
            plan_body["actions"] = list(plan_body.get("actions") or []) + added
            try:
                plan_body = context.validate_form(ctx, context.form_for(ctx, "plan"), plan_body, f"the plan for {case_id}")
                plan_body = plan_actions.with_ids(plan_body, case.plan)  # the copied actions keep their IDs; the new take the next
            except InvalidInput as exc:
                errors += [FieldError(f"{case_id}: {e.field}", e.reason) for e in exc.errors]
        planned.append((case, plan_body, entry, nominations[case_id]))
    if errors:
        raise InvalidInput(errors, f"closing {conference_id}")
    _check_documents(ctx, conference, "closing is", _name_patterns(ctx, conference.case_ids, families))
    warnings = _meeting_warnings(ctx, conference)
    # minutes recorded on a copy apart that discuss a case taken off the list: left out, as before, and said so
    warnings += rules.removed_in_minutes_warnings(conference, ctx.zone)
    written = []
    stuck_cases = set()  # cases whose new version nobody in the team may approve (the warnings say what to do)
    yours = set()  # cases whose new version only you may approve (plan_approval.conference_versions_by_chair)
    with context.transaction(ctx, "conference-close") as tx:
        ended = ""
        for case, plan_body, entry, nomination in planned:
            after = case.history[-1].id if case.history else ""
            readers, ended_here = context.end_expired_covers(ctx, tx, case)
            ended = ended or ended_here
            keys = context.keys_for(ctx, readers)
            plan_id = None
            if plan_body is not None:
                plan_record = context.new_record(ctx, "plan", case.id, plan_body, after=after)
                tx.write_record(plan_record, keys)
                plan_id = after = plan_record.id
            link = {"conference": conference_id, "conference_kind": conference.kind, "date": conference.date,
                    "reason": nomination.get("reason"), **rules.case_part(entry), "plan": plan_id}
            if plan_body is not None:  # what the fold counts the version by (workflow/fold.py `derived_events`)
                link["child_took_part"] = plan_body["participants"]["child"] == "yes"
            link_record = context.new_record(ctx, "conference", case.id, {k: v for k, v in link.items() if v is not None}, after=after)
            tx.write_record(link_record, keys)
            if plan_id is not None:  # as the fold reads it back: the version with its link (the conference's decision)
                stuck, only_you = _version_deciders(ctx, fold_case(case.id, records_of[case.id] + [plan_record, link_record]))
                warnings += stuck
                if stuck:
                    stuck_cases.add(case.id)
                elif only_you:
                    yours.add(case.id)
            written.append({"case_id": case.id, "plan_record_id": plan_id, "record_id": link_record.id,
                            "actions": len(entry.get("actions") or []), "interim": case.id in interim})
        # the minutes it is closed with: they stand, whatever a copy apart records after (workflow/conferences.py fold)
        closing = {"cases": written, "minutes": conference.minutes_id}
        if rules.plan_required(ctx.policy):  # held on a plan approved as it stood, or not (Form 3 item 4): kept with the close
            closing["plan_approved"] = rules.plan_approval(conference, ctx.policy)["state"] == "approved"
        record = _record(ctx, "conference_close", conference_id, closing, after=_last_id(conference))
        tx.write_record(record, context.keys_for(ctx, ctx.store.recipients(conference_id, CONFERENCES)), CONFERENCES)
        tx.commit(f"conference close {conference_id}{ended}")
    # its clock counts from the meeting's start, never from the close (Form 3 item 8): its due time as `cpcm due` lists
    # it (rules.report_by), not 'within', which counted from now promises time gone (a conference closed days after)
    steps = [f"the report with the action points, {ctx.policy.duration(rules.REPORT, 'limit').words()} after the meeting's start "
             f"({ctx.policy.short_source(rules.REPORT)}), "
             f"{context.due_said(ctx, rules.report_by(conference, ctx.policy, ctx.now.tzinfo))}: "
             f"cpcm render conference-report {conference_id}"]
    steps += [_plan_step(w, w["case_id"] in yours)
              for w in written if w["plan_record_id"] and approvals.required(ctx.policy, "plan") and w["case_id"] not in stuck_cases]
    steps += [f"{w['case_id']} had no plan{' in force since its reopening' if w['case_id'] in reopened else ''}: its actions "
              f"start an interim plan; write the full plan after the comprehensive assessment: cpcm plan {w['case_id']}"
              for w in written if w["interim"]]
    steps += _readiness_step(ctx, [case for case, *_ in planned])
    return Written(conference_id, record.id, "conference_close", tuple(warnings), tuple(steps), {"cases": written})


def _before_reopening(ctx, case: Case, records: list[Record], version_id: str) -> bool:
    """Whether the plan version `version_id` (the one a revision starts from, `plan_current`) is of
    the episode before the case's latest reopening: written before it (`deadlines.before_reopening`,
    the one comparison with the reopening) and not the plan in force (`deadlines.plan_in_force`,
    as `cpcm show` says it: one from before the reopening is not, unless the policy keeps its
    actions due, `plan_action.due_after_reopening`). The reopened case starts again at assessment and a new plan
    (IAG Step 6 [L946]): `close` makes the conference's actions an interim plan, as for a case with
    no plan, rather than a version that carries the old goals and actions (done in the earlier
    episode, not marked since) back into force."""
    if not case.reopened or deadlines.due_after_reopening(ctx.policy):
        return False
    in_force = deadlines.plan_in_force(case, ctx.policy)
    if in_force is not None and in_force.get("record_id") == version_id:  # written before, approved since: in force
        return False
    written = next((r.at for r in effective(records) if r.id == version_id), None)
    return deadlines.before_reopening(case, written)


def _version_deciders(ctx, folded: Case) -> tuple[list[str], bool]:
    """Who may approve the plan version a conference's close wrote (`folded`: the case with it and
    its link): the warning where nobody in the team may (`approvers_warning`: the policy's
    plan_approval.conference_versions_by_chair off, say, and you the only supervisor), with how the
    case's worker keeps its actions; and whether you are the only one who may."""
    stuck = approvers_warning(ctx, folded.id, folded, f"plan version {folded.plan['version']}")
    if stuck and folded.worker and folded.worker != ctx.worker.id and ctx.team.get(folded.worker) is not None:
        # withdrawing it drops the conference's actions: the worker can carry them into a version you approve
        stuck.append(f"{folded.id}: to keep the conference's actions, {folded.worker} (the case's worker) writes the "
                     f"next version from this one: cpcm plan {folded.id} --from-current --reason conference_decision; "
                     "you approve that one")
    return stuck, approvals.deciders(ctx.policy, "plan", folded, ctx.team.active) == [ctx.worker.id]


def _plan_step(written: Mapping[str, Any], yours: bool) -> str:
    """What `conference close` says of a case's plan version it wrote: it waits for a supervisor's
    approval or, where the one who closed it is the only one who may decide it (`yours`: a team
    with one supervisor), for theirs, on their `cpcm due`."""
    case_id = written["case_id"]
    said = f"{case_id}: plan version with {written['actions']} conference action(s) waits for "
    if not yours:
        return said + "a supervisor's approval"
    return (said + "your approval, as the conference's decision (plan_approval.conference_versions_by_chair), and is on "
            f"your cpcm due: cpcm approve {case_id} plan")


def _readiness_step(ctx, cases) -> list[str]:
    """What `conference close` says of the comment on each child's readiness for reintegration
    (SOP §4 step 7): where the policy asks it (`conference_readiness.required`), for the cases of a
    child apart from their family (`placements.separated`, the one rule `cpcm due` applies), named;
    a child living with parents or relatives, never in care nor registered apart, is asked none,
    and `close` says so, naming the case (conference.md: "`conference close` says so"), beside
    those asked. Where the policy asks none, nothing (`cpcm due` asks none either)."""
    from cpcm.workflow import placements

    if not ctx.policy.get("conference_readiness", "required", False):
        return []
    how = "cpcm readiness CASE --occasion case_conference --notes TEXT (it does not reopen the assessment)"
    at_home = placements.family_home(ctx.policy)
    asked = [case.id for case in cases if placements.separated(case, at_home)]
    if not asked:
        return ["no readiness comment is asked: no child discussed is in care or on a path of reintegration (each lives "
                "with parents or relatives, was never placed and was never registered living apart: placement.at_home)"]
    steps = [f"the caseworker of {', '.join(asked)} records the child's readiness for reintegration (SOP §4 step 7): {how}; "
             f"it is on their cpcm due within {ctx.policy.cited('conference_readiness', 'within')}"]
    home = [case.id for case in cases if case.id not in asked]
    if home:  # named too, so that a case left out is not taken for one forgotten
        steps.append(f"no readiness comment is asked of {', '.join(home)}: not in care or on a path of reintegration (the "
                     "child lives with parents or relatives, was never placed and was never registered living apart: "
                     "placement.at_home)")
    return steps


# -- the conference plan's approval (Form 3 item 4) ------------------------------------------------------
def decide_plan(ctx, conference_id: str, approve: bool, note: str | None = None) -> Written:
    """A supervisor's or manager's approval or rejection of a conference's plan (`cpcm approve|reject
    CONF conference-plan`; service.approve and service.reject come here for a conference ID): an
    `approval` or `rejection` record in the conference's folder, with the plan decided on
    (`rules.plan_of`), so that a plan changed since needs deciding again. Refused where the policy
    asks for no approval, by a worker the policy's roles leave out (and by the one who made the
    plan where self_approval is off), once the meeting has started or the conference is closed, and
    where the plan as it stands was already decided that way."""
    actor = ctx.need_worker()
    verb = "approve" if approve else "reject"
    if not approve and not said(note):
        raise InvalidInput([FieldError("note", "is required: say why, so the chair knows what to change")], "rejection")
    if note is not None and len(note.strip()) > 500:
        raise InvalidInput([FieldError("note", "is longer than 500 characters")], "approval" if approve else "rejection")
    roles = rules.plan_roles(ctx.policy)
    if not (actor.active and actor.has_role(*roles)):
        raise Refused(f"only a {' or '.join(roles)} can {verb} a conference plan", "Ask your supervisor.",
                      rule="approval-needs-supervisor")
    conference = _open(ctx, conference_id, verb)
    if not rules.plan_required(ctx.policy):
        raise Refused(f"{conference_id} has no plan waiting for a decision: the policy asks for no approval of a conference's "
                      f"plan ({rules.PLAN_APPROVAL}.required is off)",
                      f"An agency that wants it sets {rules.PLAN_APPROVAL}.required: true in .cpcm/policy.yaml (cpcm policy set).",
                      rule="nothing-to-approve")
    start = rules.meeting_start(conference, ctx.policy, ctx.now.tzinfo)
    if ctx.now >= start:
        raise Refused(f"{conference_id} met on {rules.local_text(start, start.tzinfo)}: its plan is approved before the meeting "
                      f"({ctx.policy.short_source(rules.PLAN_DUE)}); nothing was written",
                      f"If the meeting moved, change its date first: cpcm conference update {conference_id} --date DATE "
                      "--reason TEXT; a meeting held without approval is listed by cpcm check until it is closed.",
                      rule="conference-plan-meeting-started")
    refusal = rules.plan_refusal(conference, ctx.policy, actor)
    if refusal == "self-approval":
        raise Refused(f"you made the plan of {conference_id} as it stands: someone else must {verb} it",
                      f"The policy ({rules.PLAN_APPROVAL}.self_approval) needs another supervisor or manager.", rule="self-approval")
    state = rules.plan_approval(conference, ctx.policy, ctx.now.tzinfo)
    if state["state"] == ("approved" if approve else "rejected"):
        raise Refused(f"the plan of {conference_id} as it stands was {state['state']} by {state['by']} on {local_day(state['at'], ctx.zone)}; "
                      "nothing was written", f"cpcm conference show {conference_id}", rule="nothing-to-approve")
    body = {"subject": rules.PLAN_SUBJECT, "plan": rules.plan_of(conference), "note": (note or "").strip() or None}
    record = _record(ctx, "approval" if approve else "rejection", conference_id, body, after=_last_id(conference))
    _write(ctx, conference, verb, record, f"{verb} {conference_id} {record.id}")
    due = rules.plan_due_at(conference, ctx.policy, ctx.now.tzinfo)
    warnings = []
    if approve and ctx.now > due:
        warnings.append(f"{rules.PLAN_DUE}: approved after {rules.local_text(due, due.tzinfo)}, less than "
                        f"{rules.days_before(ctx.policy, rules.PLAN_KEY)} day(s) before the meeting "
                        f"({ctx.policy.short_source(rules.PLAN_DUE)})")
    steps = ([f"the plan of {conference_id} is approved: a change of its date, venue, chairs, online details or cases needs "
              f"approving again (cpcm conference show {conference_id})"] if approve else
             [f"the chair ({conference.chair or 'none'}) changes the plan as the note asks (cpcm conference update {conference_id} "
              "..., cpcm conference add-case ...); it then waits for approval again"])
    return Written(conference_id, record.id, record.kind, tuple(warnings), tuple(steps))


def _plan_reopened(ctx, before: rules.Conference, after: rules.Conference) -> list[str]:
    """What a change of an approved conference plan (a part of `rules.PLAN_FIELDS`) is followed by:
    it needs approving again (Form 3 item 4), on the supervisors' cpcm due until it is."""
    if not rules.plan_required(ctx.policy) or after.closed_at:
        return []
    was, now = (rules.plan_approval(c, ctx.policy, ctx.now.tzinfo) for c in (before, after))
    if was["state"] != "approved" or now["state"] != "changed":
        return []
    due = rules.plan_due_at(after, ctx.policy, ctx.now.tzinfo)
    return [f"the plan of {after.id} was approved by {was['by']}; it changed ({', '.join(now['changed'])}), so it needs approving "
            f"again by {rules.local_text(due, due.tzinfo)}: cpcm approve {after.id} conference-plan"]


def problems(ctx) -> list:
    """`cpcm check`: each conference you read, not closed, whose plan was not approved by its time
    where the policy requires it (`rules.plan_problems`)."""
    if not rules.plan_required(ctx.policy):
        return []
    return rules.plan_problems(list_conferences(ctx), ctx.policy, ctx.now)


# -- the due list -----------------------------------------------------------------------------------
def taken_to(ctx, found: Iterable[rules.Conference]) -> dict[str, list[str]]:
    """The conferences of `found` each case was taken to: case id -> their meetings' start times
    (UTC), what `rules.admission_conference_due` reads as `conferenced`."""
    conferenced: dict[str, list[str]] = {}
    for conference in found:
        start = rules.meeting_start(conference, ctx.policy, ctx.now.tzinfo).astimezone(timezone.utc).isoformat()
        for case_id in conference.case_ids:
            conferenced.setdefault(case_id, []).append(start)
    return conferenced


def admission_due(ctx, case) -> list:
    """One case's conference after an admission to a CCI (`conference_after_admission`), as the due
    list gives it (`due_items`): for `cpcm show`, whose Due lists the case's deadlines as `cpcm due`
    does. The conferences you read are read only when the item would be due without them."""
    since = rules.profile_start(ctx.config.policy_since)
    if not rules.admission_conference_due(case, ctx.policy, ctx.now, (), since):
        return []
    return rules.admission_conference_due(case, ctx.policy, ctx.now, taken_to(ctx, list_conferences(ctx)).get(case.id, ()),
                                          since)


def due_items(ctx, whose: str, horizon: datetime, overdue_only: bool, soon, cases: Mapping[str, Any] | None = None,
              admission: Callable[[Mapping[str, list[str]]], list] | None = None) -> list:
    """Conference items for `whose` ('all': every item you can see): the report due after a
    meeting until it is rendered; a conference whose records are still encrypted to an earlier key of
    one of its readers (`conference-readers`: its `# rekey:` lines, a key change made by someone who
    could not read it), due at once; the next conference to hold, by kind (the policy's
    `conference_cadence`); and, per case (`cases`: the folded cases you read), a child admitted to
    a CCI not yet taken to a conference after the reassessment (`conference_after_admission`).
    `admission`: those items given the conferences each case was taken to, instead of `cases`
    (the due table's, service/tables.py)."""
    from dataclasses import replace

    from cpcm.workflow.clocks import SUPERVISORS
    from cpcm.workflow.deadlines import readers_rekey
    from cpcm.workflow.rules import off_team, sees_unattended, unattended_item

    marks: dict[str, list[str]] = {}  # the conferences whose records are still encrypted to an earlier key of a reader
    found = list_conferences(ctx, marks)
    items = [item for item in (rules.report_due(c, ctx.policy, ctx.now.tzinfo, ctx.now) for c in found) if item is not None]
    # one you read whose `# rekey:` lines name another reader: yours to bring to the keys as they are now (cpcm team sync)
    items += [readers_rekey(c.id, "conference", c.id, ctx.now, SUPERVISORS) for c in found
              if c.id in marks and ctx.worker.id not in marks[c.id]]
    since = rules.profile_start(ctx.config.policy_since)  # when the profile in force took effect
    items += rules.cadence_due(found, ctx.policy, ctx.now, rules.repository_start(ctx.team), since)
    items += [item for c in found for item in rules.nominations_due(c, ctx.policy, ctx.now)]
    items += [item for c in found for item in rules.plan_approval_due(c, ctx.policy, ctx.now, ctx.team)]
    items += [item for c in found for item in rules.not_discussed_due(c, found, ctx.policy, ctx.now.tzinfo)]
    items += [item for c in found for item in rules.minutes_conflict_due(c, ctx.policy, ctx.now.tzinfo)]
    gone = off_team(ctx.team)
    if gone:  # a chair who left the team (team remove): their report and the next conference are the supervisors' now,
        # as where a conference has no chair, rather than nobody's (a supervisor or manager reads, closes and reports it)
        items = [replace(item, owner=SUPERVISORS) if item.owner in gone else item for item in items]
    case_items: list = []  # a case's: its worker's, or nobody's when they are no longer on the team
    if cases or admission is not None:
        conferenced = taken_to(ctx, found)
        if admission is not None:
            case_items += admission(conferenced)
        for case in (cases or {}).values():
            case_items += rules.admission_conference_due(case, ctx.policy, ctx.now, conferenced.get(case.id, ()), since)
    kept = folders.due_filter(ctx, whose, horizon, overdue_only, soon)  # as the other folders' items are filtered
    out = [item for item in items if kept(item)]
    # A case's item whose worker left the team is not filtered so, on purpose: it is on the list of whoever sees the
    # cases nobody has (rules.sees_unattended), whenever it falls (the case is to be assigned now), marked so, and on
    # nobody else's; the conferences' own items were given to the supervisors above instead.
    unattended = sees_unattended(whose, approvals.approves(ctx.team.get(whose, include_removed=True) if whose != "all" else None),
                                 gone)
    for item in case_items:
        if gone and unattended_item(item, gone):
            if unattended and (not overdue_only or item.state(ctx.now, soon) == "overdue"):
                out.append(replace(item, worker_removed=True))
        elif kept(item):
            out.append(item)
    return out


# -- documents ----------------------------------------------------------------------------------------
def _clients(ctx, case_ids: Iterable[str], families: Mapping[str, tuple[list[str], list[str]]] | None = None) -> list[dict]:
    """The names and contacts registered for each case you can read, with the patterns the
    documents' check finds the names of its people by (`_name_patterns`; `people`): an attendance
    entry that holds one is a family member's, counted in the documents and never named."""
    families = _families(ctx, case_ids) if families is None else families
    # an attendee's institution and position are checked against the family's names, not an institution registered
    # as the child's caregiver: its staff are recorded under its name ("Tumaini CCI staff")
    people = _name_patterns(ctx, (), {case_id: ([n for n in names if not isinstance(n, rules.WholeName)], contacts)
                                      for case_id, (names, contacts) in families.items()})
    return [{"names": names, "contacts": contacts, "people": people[case_id]} for case_id, (names, contacts) in families.items()]


def _at_meeting(ctx, conference: rules.Conference, case_ids: Iterable[str]) -> dict:
    """Each of `case_ids` (cases you can read) as it stood at the meeting (`rules.meeting_end`):
    its records up to the end of the meeting's day folded; a meeting still to come, the case now."""
    end = rules.meeting_end(conference, ctx.zone)
    return {case_id: fold_case(case_id, _records_at(ctx, case_id, end)) for case_id in case_ids}


def _records_at(ctx, case_id: str, end) -> list:
    """The records of `case_id` up to `end` (the end of the meeting's day), a record taken out as
    written in the wrong case left out whenever it was marked (`fold.before_cut`)."""
    return before_cut(context.load_records(ctx, case_id), lambda r: utc(r.at) <= end)


def _preparation_labels(ctx, lang: str) -> dict[str, str]:
    """The Form 2 prompts' words in `lang` by their keys, in the form's order."""
    from cpcm.store import forms

    form = forms.load("conference-preparation", ctx.root)
    return {f.key: f.text(f.label, lang) for f in form.fields} if form else {}


def form8_facts(ctx, conference: rules.Conference, case_ids: Iterable[str], lang: str,
                patterns: Mapping[str, list]) -> tuple[dict[str, dict], list[str]]:
    """Part I of the Kenya SOP's Form 8 for each of `case_ids` (cases you can read), as the case
    stood at the meeting (`rules.meeting_end`), with no name and no birth date: where the case
    is (the registration's `location`, as updated: `location`), its sex, age band and who the
    child lives with (`placements.lives_with_now`), its primary vulnerabilities (the
    registration's concerns, and the national case categories where the form has them, by their
    words in `lang`: each category once, a concern that a recorded category already says left to
    the category, `export.concerns_beside`), and the plan's actions with their status
    (`plan_actions.to_date`).
    A location, another concern or a plan action's text that holds a name registered for a case of
    the conference is left out (a warning says so, naming the case, never the name)."""
    from cpcm.reports.common import age_band
    from cpcm.reports.export import concerns_beside
    from cpcm.store import forms
    from cpcm.workflow import placements

    end = rules.meeting_end(conference, ctx.zone)
    day = rules.meeting_day(conference)
    categories = {str(value): str(text.get(lang) or text.get("en") or value)
                  for value, text in (forms.choice_labels("registration-kenya", ctx.root).get("case_category") or {}).items()
                  if isinstance(text, Mapping)}
    category_codes = {str(k): str(v) for k, v in (forms.codes("registration-kenya", ctx.root).get("case_category") or {}).items()}
    facts, warnings = {}, []
    for case_id in case_ids:
        records = _records_at(ctx, case_id, end)
        case = fold_case(case_id, records)
        registration = case.registration or {}
        recorded = list(dict.fromkeys(str(c) for c in registration.get("case_categories") or []))  # each category once
        location = (case.location or "").strip() or None
        other = str(registration.get("concerns_other") or "").strip() or None
        for field, text in (("location", location), ("concerns_other", other)):
            if text and rules.names_found({field: text}, patterns):
                warnings.append(f"the {field} of {case_id} holds a name registered for a case of {conference.id}: the report leaves "
                                f"it out (correct it: cpcm update {case_id} --set {field}=TEXT --reason TEXT)")
                location, other = (None, other) if field == "location" else (location, None)
        actions = plan_actions.to_date(effective(records), case.plan, ctx.policy, case.reopenings)
        named = [a["id"] for a in actions if a["what"] and rules.names_found({"what": a["what"]}, patterns)]
        if named:  # the plan's own words may name the child or a caregiver: the report gives the rest
            warnings.append(f"plan action {', '.join(named)} of {case_id} holds a name registered for a case of {conference.id}: "
                            f"the report gives its ID, date and status only (correct it: cpcm correct {case_id} plan --set "
                            f"actions.{named[0]}.what=TEXT --reason TEXT)")
            actions = [dict(a, what="") if a["id"] in named else a for a in actions]
        facts[case_id] = {
            "location": rules.location_parts(location),
            "sex": case.child.get("sex"),
            "age_band": age_band(case.age_on(day)),
            "lives_with": placements.lives_with_now(case)["value"],
            "concerns": concerns_beside([str(c) for c in registration.get("concerns") or []], recorded, category_codes),
            "concerns_other": other,
            "categories": [categories.get(c, c) for c in recorded],
            "plan_actions": actions,
        }
    return facts, warnings


def presenters(ctx, conference: rules.Conference) -> dict[str, str | None]:
    """Case id -> the worker who presents it, for each case of the conference you can read: its
    worker at the meeting (`_at_meeting`; a case handed over since its nomination, say when its
    worker left, is presented by the one who has it). The one rule of the rendered documents and
    `cpcm conference show`; a case you cannot read keeps the worker of its nomination."""
    me = ctx.need_worker()
    readable = [c["case_id"] for c in conference.cases if me.id in ctx.store.recipients(c["case_id"])]
    return {case_id: case.worker for case_id, case in _at_meeting(ctx, conference, readable).items()}


def document(ctx, template: str, conference_id: str, lang: str, fmt: str, destination: str = "stdout",
             warnings: list[str] | None = None) -> str:
    """A conference document (agenda, minutes, conference-report, form-5), rendered; the render is
    recorded in the conference's folder (template, language, format, where it went: no text),
    which is what takes the report off the chair's due list. The agenda, the minutes and the
    report are refused while a presentation, the venue or the minutes hold a name of a case you read (`_check_documents`);
    a case you cannot read is named in `warnings`."""
    from cpcm.render import env, views

    conference = load(ctx, conference_id)
    if template in ("minutes", "conference-report") and conference.minutes is None:
        raise NotFound(f"{conference_id} has no minutes yet", f"Record them first: cpcm conference minutes {conference_id} --from-file F")
    missing = rules.unwritten_presentations(conference, ctx.policy) if template == "agenda" else []
    if missing:  # SOP §4 step 3 comes before step 4: the agenda goes out once every case is presented in writing
        case = missing[0] if len(missing) == 1 else "CASE"
        raise Refused(f"{conference_id} is a virtual conference and {', '.join(missing)} ha{'s' if len(missing) == 1 else 've'} "
                      f"no written presentation ({rules.VIRTUAL}.written_presentations: "
                      f"{ctx.policy.short_source(rules.VIRTUAL, 'written_presentations')}); rendering the agenda is refused, "
                      "nothing was written",
                      f"Write each case's presentation (Forms 1 and 2; case IDs only, no names): cpcm conference update "
                      f"{conference_id} --case {case} --presentation TEXT --reason TEXT, then render the agenda again.",
                      rule="conference-written-presentation")
    families = _families(ctx, conference.case_ids)
    patterns = _name_patterns(ctx, conference.case_ids, families)
    if template != "form-5":  # the agreement to sign prints no presentation
        unchecked = _check_documents(ctx, conference, f"rendering the {template} is", patterns)
        if warnings is not None:
            warnings += unchecked
    if template in ("minutes", "conference-report") and warnings is not None:
        for conflict in rules.open_conflicts(conference, rules.MINUTES_CONCURRENT):  # by their records, never their text
            warnings.append(f"the minutes of {conference_id} were recorded on two copies apart ({', '.join(conflict['records'])}) "
                            f"and are not agreed yet: this prints {conference.minutes_id}; once agreed, write them with cpcm "
                            f"conference update {conference_id} --minutes FILE --reason TEXT and render again")
    clients = _clients(ctx, conference.case_ids, families)
    # each case's risk as it stood at the meeting (`rules.meeting_end`), for every case you can read (`families`); another
    # keeps its nomination's
    # and its worker then (who presents it: a case handed over since its nomination is presented by its new worker)
    at_meeting = _at_meeting(ctx, conference, families)
    risks = {case_id: case.risk for case_id, case in at_meeting.items()}
    presenting = {case_id: case.worker for case_id, case in at_meeting.items()}
    told = _debrief_checked(ctx, conference, families) if template == "agenda" else None
    facts = None
    if template == "conference-report":  # Form 8 Part I: each case you read as it stood at the meeting, no name
        facts, left_out = form8_facts(ctx, conference, families, lang, patterns)
        if warnings is not None:
            warnings += left_out
    view = views.conference_view(conference, ctx.policy, lang, ctx.now.date(), {w.id: w.name for w in ctx.team.workers},
                                 clients=clients, zone=ctx.zone, risks=risks, workers=presenting, debrief=told, facts=facts,
                                 roles={w.id: list(w.roles) for w in ctx.team.workers}, preparation_labels=_preparation_labels(ctx, lang))
    if template == "form-5":  # the agreement to sign: the meeting's professionals, with the date each signed where they have
        family = [a for a in conference.attendees if views.is_family(a, clients)]
        rows = rules.form5_rows(conference, _register(ctx), family)
        view["form5"] = {"members": rows, "blank_rows": max(3, int(ctx.policy.get(rules.RULE, "participants_max", 10)) - len(rows))}
    text = env.render(template, lang, fmt, view, ctx.root)
    body = {"template": template, "lang": lang, "format": fmt, "to": destination}
    record = _record(ctx, "rendered", conference_id, body, after=_last_id(conference))
    _write(ctx, conference, "render", record, f"conference render {conference_id} {record.id}")
    return text
