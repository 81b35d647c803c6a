"""Case conferences: a pure fold of a conference's records and the SOP's rules on it.

The rules (Kenya case-conferencing SOP, in the `conference` block of the policy): participants
told 7 days ahead, invitations at least a week ahead, attendance confirmed at least 3 days
ahead, 5-10 participants, at most 6 cases internal and 4 with external partners, the report
within 24 hours. Each check returns warnings (text naming the rule and its source); the
report-due item is a `Deadline` for the chair's due list.

Must not import: service, store, crypto, cli.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Callable, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.dates import end_of_day, local_day, local_text
from cpcm.domain.durations import parse_duration
from cpcm.domain.forms import N_
from cpcm.domain.ids import normalise_case_id
from cpcm.domain.records import Record, utc
from cpcm.domain.problems import Problem
from cpcm.domain.team import Team, Worker
from cpcm.workflow import approvals, placements, plan_actions
from cpcm.workflow.clocks import SUPERVISORS
from cpcm.workflow.deadlines import Deadline
from cpcm.domain.policy import Policy
from cpcm.errors import FieldError, in_english

KINDS = ("internal", "external", "aac", "acc")
REASONS = ("service_options_exhausted", "unresolved_protection_concern", "especially_difficult", "reintegration_decision")
DOCUMENTS = ("agenda", "minutes", "conference-report", "form-5")
RULE = "conference"
REPORT = "conference_report"  # the report's time after the meeting (Form 3 item 8)
# the plan's and the invitations' time before the meeting, a key of RULE with a source of its own
# (Form 3 items 4, 6): what the nominations' items cite as their rule
INVITATIONS = f"{RULE}.invitations"
CADENCE = "conference_cadence"            # how often each kind is held (SOP §3.2, §5.3-5.5, App.2)
AFTER_ADMISSION = "conference_after_admission"  # a child admitted to a CCI: a conference after the reassessment (SOP §5.3)
# the fields of the Form 3 checklist and of the meeting that `conference update` may change
UPDATABLE = ("date", "venue", "notice_sent", "invitations_sent", "attendance_confirmed", "co_chair", "external_chair", "virtual")
# a conference held online (SOP §8.1): `virtual` is {platform, record_keeper, recorded, recording_held_by,
# not_recorded_reason} (VIRTUAL_KEYS), or absent for a meeting in person; the rule with its source (written
# presentations, the recording) is the policy's `conference_virtual`
VIRTUAL = "conference_virtual"
VIRTUAL_KEYS = ("platform", "record_keeper", "recorded", "recording_held_by", "not_recorded_reason")
# and a case's presentation (Form 1), replaced by `conference update CONF --case CASE --presentation TEXT --reason T`:
# {"case_id": ..., "text": the new text, absent when it is taken out}; its `previous` names the record that held the
# text replaced, never the text (it may be what had to go: a child's name)
PRESENTATION = "presentation"
PREPARATION = "preparation"  # a case's Form 2 answers, replaced or taken out by `conference update`
# and the minutes (Form 7), replaced by `conference update CONF --minutes FILE --reason T`: the new minutes whole; its
# `previous` names the record that held the minutes replaced (a `minutes` record or an earlier update), never their text
MINUTES = "minutes"
# what an update may change once the conference is closed: the texts its documents print, which the name guard checks
# again at rendering (a closed conference whose presentation, venue or minutes hold a name is mended, not rewritten)
AFTER_CLOSING = frozenset({PRESENTATION, PREPARATION, MINUTES, "venue", "virtual"})
# minutes recorded (or replaced) on two copies apart, or on one while the other closed the conference, differently: found
# by a sync's merge (service/sync.py), recorded as a `sync_conflict` in the conference's folder. The later in the records
# would replace the other, whose minute-taker is not told; until the minutes as agreed are written (`conference update
# CONF --minutes FILE --reason T`, which settles it) the conference is not closed, and the chair's `due` lists it
MINUTES_CONCURRENT = "minutes-concurrent"
# a nomination taken off the list before the meeting (`cpcm conference add-case CONF CASE --remove --reason T`), or a
# caseworker's waiting nomination withdrawn: {case_id, nomination (the record it takes off), reason (free text), waiting}
REMOVED = "nomination_removed"

# Form 4, sample agenda: (item, minutes at least, minutes at most) per kind of conference
AGENDA = {
    "internal": (("welcome", 10, 10), ("updates", 15, 20), ("debrief", 15, 20), ("cases", 90, 90), ("trends", 15, 20),
                 ("actions", 10, 10), ("next_meeting", 5, 5)),
    "external": (("welcome", 15, 15), ("updates", 15, 20), ("debrief", 20, 30), ("cases", 45, 60), ("trends", 20, 30),
                 ("actions", 10, 10), ("next_meeting", 5, 5)),
}
AGENDA["aac"] = AGENDA["external"]
AGENDA["acc"] = AGENDA["external"]
TREND_MONTHS = {"internal": 1, "external": 2, "aac": 2, "acc": 3}  # Form 4 item 5: last month / last two months (ACC: its quarter)


@dataclass(frozen=True)
class Conference:
    """A conference as its records stand."""

    id: str
    kind: str | None = None
    date: str | None = None          # ISO date or date-time of the meeting
    chair: str | None = None
    venue: str | None = None
    venue_id: str | None = None      # the record that holds the venue as it stands (an update names it, not its text)
    co_chair: Mapping[str, str] | None = None        # an external co-chair (DCS, the SCCO): name and title
    external_chair: Mapping[str, str] | None = None  # an external chair (DCS for the sub-county AAC): name and title
    virtual: Mapping[str, Any] | None = None         # held online (SOP §8.1): VIRTUAL_KEYS; None in person
    virtual_id: str | None = None    # the record that holds `virtual` as it stands (an update names it, not its texts)
    created_at: str | None = None
    created_by: str | None = None
    checklist: Mapping[str, str | None] = field(default_factory=dict)  # notice_sent, invitations_sent, attendance_confirmed
    cases: tuple[Mapping[str, Any], ...] = ()        # nominations in order
    # nominations by a worker who does not read the conference (their own case's, SOP Form 3 item 1), waiting for the
    # chair or a supervisor to take them into the final set (item 2: `add-case` again); not among `cases` until then
    proposals: tuple[Mapping[str, Any], ...] = ()
    # nominations the conference was closed without (`not_discussed`): written on a copy apart, and brought in by a
    # sync, while it was closed elsewhere; neither among `cases` nor waiting
    not_discussed: tuple[Mapping[str, Any], ...] = ()
    # nominations taken off the list before the meeting (`add-case CONF CASE --remove --reason T`: a `nomination_removed`
    # record), in order: {case_id, record_id (the removal), nomination (the record it took off), by, at, reason, waiting
    # (a caseworker's nomination withdrawn before it was taken in)}; neither among `cases` nor waiting. The case can be
    # nominated again (a later nomination puts it back)
    removed: tuple[Mapping[str, Any], ...] = ()
    attendees: tuple[Mapping[str, Any], ...] = ()    # the register, one entry per member (latest wins)
    minutes: Mapping[str, Any] | None = None
    minutes_id: str | None = None    # the record that holds the minutes as they stand: a `minutes` record or an update
    # the sync conflicts found in the conference (MINUTES_CONCURRENT): {record_id, code, records, at, settled_by}; settled
    # by its own record when the records it names hold the same minutes (a merge that could not read them named them)
    conflicts: tuple[Mapping[str, Any], ...] = ()
    closed_at: str | None = None
    closed_by: str | None = None
    renders: tuple[Mapping[str, Any], ...] = ()
    history: tuple[tuple[str, str, str, str], ...] = ()  # (record id, kind, at, by)
    updates: tuple[Mapping[str, Any], ...] = ()  # each `conference update`: what changed, from what, why
    # the conference plan's approvals and rejections (Form 3 item 4; `cpcm approve|reject CONF conference-plan`), in
    # order: {record_id, decision (approval or rejection), at, by, note, plan (the plan decided on: `plan_of`)}
    plan_decisions: tuple[Mapping[str, Any], ...] = ()
    plan_by: str | None = None  # who made the plan as it stands: the last to change what it holds (PLAN_FIELDS)

    @property
    def status(self) -> str:
        if self.closed_at:
            return "closed"
        return "minuted" if self.minutes is not None else "planned"

    @property
    def case_ids(self) -> list[str]:
        return [c["case_id"] for c in self.cases]

    @property
    def cases_read_by_workers(self) -> list[str]:
        """The cases whose workers read the conference: those discussed, and those nominated on a
        copy apart while it closed (their worker keeps reading what they nominated them to)."""
        return [*self.case_ids, *(n["case_id"] for n in self.not_discussed if not n.get("proposed"))]

    @property
    def present(self) -> list[Mapping[str, Any]]:
        return [a for a in self.attendees if a.get("present")]

    def _report_renders(self) -> list[str]:
        return [r["at"] for r in self.renders if r.get("template") == "conference-report"
                and (self.closed_at is None or r["at"] >= self.closed_at)]

    @property
    def report_rendered_at(self) -> str | None:
        done = self._report_renders()
        return max(done) if done else None

    @property
    def report_compiled_at(self) -> str | None:
        """When the report was first compiled after closing (a later print is a copy of it)."""
        done = self._report_renders()
        return min(done) if done else None

    def to_dict(self) -> dict:
        return {
            "conference_id": self.id, "kind": self.kind, "date": self.date, "chair": self.chair, "venue": self.venue,
            "co_chair": dict(self.co_chair) if self.co_chair else None,
            "external_chair": dict(self.external_chair) if self.external_chair else None,
            "virtual": dict(self.virtual) if self.virtual else None,
            "updates": [dict(u) for u in self.updates],
            "status": self.status, "created_at": self.created_at, "created_by": self.created_by,
            "checklist": dict(self.checklist), "cases": [dict(c) for c in self.cases],
            "proposals": [dict(p) for p in self.proposals], "not_discussed": [dict(n) for n in self.not_discussed],
            "removed": [dict(r) for r in self.removed],
            "attendees": [dict(a) for a in self.attendees], "participants": len(self.present),
            "minutes": dict(self.minutes) if self.minutes is not None else None, "closed_at": self.closed_at,
            "closed_by": self.closed_by, "report_rendered_at": self.report_rendered_at,
            "conflicts": [dict(c) for c in self.conflicts],
            "history": [{"record_id": i, "kind": k, "at": at, "by": by} for i, k, at, by in self.history],
        }


def _prepared(nomination: dict, change: Mapping[str, Any], record_id: str) -> dict:
    """A nomination with its Form 2 answers replaced by a `conference update` (`change`: case_id,
    and answers, absent when they are taken out); `preparation_record` is the update holding them."""
    if nomination.get("case_id") != change.get("case_id"):
        return nomination
    out = {k: v for k, v in nomination.items() if k != PREPARATION}
    if isinstance(change.get("answers"), Mapping) and change["answers"]:
        out[PREPARATION] = dict(change["answers"])
    out["preparation_record"] = record_id
    return out


def _presented(nomination: dict, change: Mapping[str, Any], record_id: str) -> dict:
    """A nomination with its presentation replaced by a `conference update` (`change`: case_id,
    and text, absent when the presentation is taken out); `presentation_record` is the record
    that holds the text now."""
    if nomination.get("case_id") != change.get("case_id"):
        return nomination
    out = {k: v for k, v in nomination.items() if k != "presentation"}
    if change.get("text"):
        out["presentation"] = change["text"]
    out["presentation_record"] = record_id
    return out


def presentation_record(nomination: Mapping[str, Any]) -> str | None:
    """The record that holds a nomination's presentation as it stands: the nomination, or the
    update that replaced it."""
    return nomination.get("presentation_record") or nomination.get("record_id")


def member_key(entry: Mapping[str, Any]) -> tuple[str, str]:
    return (" ".join(str(entry.get("name", "")).lower().split()), " ".join(str(entry.get("institution", "")).lower().split()))


def fold(conference_id: str, records: Iterable[Record]) -> Conference:
    """The conference's state: its records applied in order."""
    values: dict[str, Any] = {"id": conference_id}
    cases: list[dict] = []
    proposals: list[dict] = []
    removed: list[dict] = []  # nominations taken off the list (`nomination_removed`), with the nomination they took off
    attendees: dict[tuple[str, str], dict] = {}
    renders: list[dict] = []
    updates: list[dict] = []
    history = []
    closed_by_record, discussed = None, None  # the close record, and the cases it names (where it names them)
    conflicts: list[dict] = []
    decisions: list[dict] = []  # the plan's approvals and rejections
    planned, plan_by = None, None  # the plan as it stands after each record, and who last changed it
    held: dict[str, dict] = {}  # record ID -> the minutes it holds (a `minutes` record, an update of them)
    closed_with: dict[str, Any] = {}  # a close's record ID -> the record of the minutes it was closed with
    replaced: dict[str, str] = {}  # an update's record ID -> the record of the minutes it replaced
    for record in sorted(records, key=lambda r: r.id):
        body = record.body
        if record.kind == "conference":
            values.update(kind=body.get("type"), date=body.get("date"), chair=body.get("chair"), venue=body.get("venue"),
                          co_chair=body.get("co_chair"), external_chair=body.get("external_chair"),
                          virtual=body.get("virtual") if isinstance(body.get("virtual"), Mapping) else None,
                          virtual_id=record.id if isinstance(body.get("virtual"), Mapping) else None,
                          venue_id=record.id if body.get("venue") else None, created_at=utc(record.at), created_by=record.by,
                          checklist={k: body.get(k) for k in ("notice_sent", "invitations_sent", "attendance_confirmed")})
        elif record.kind == "conference_update":  # append-only: a later update wins, field by field
            changes = body.get("changes") or {}
            for key, value in changes.items():
                if key in ("notice_sent", "invitations_sent", "attendance_confirmed"):
                    values["checklist"] = dict(values.get("checklist") or {}, **{key: value})
                elif key == "virtual":  # the whole of it, as it stands after the update (None: in person)
                    values.update(virtual=value if isinstance(value, Mapping) else None, virtual_id=record.id)
                elif key in UPDATABLE:
                    values[key] = value
                    if key == "venue":
                        values["venue_id"] = record.id
                elif key == PRESENTATION and isinstance(value, Mapping):
                    cases = [_presented(c, value, record.id) for c in cases]
                elif key == PREPARATION and isinstance(value, Mapping):
                    cases = [_prepared(c, value, record.id) for c in cases]
                elif key == MINUTES and isinstance(value, Mapping):
                    values.update(minutes=dict(value), minutes_id=record.id)
                    held[record.id] = dict(value)
                    before = ((body.get("previous") or {}).get(MINUTES) or {})
                    if isinstance(before, Mapping) and isinstance(before.get("record_id"), str):
                        replaced[record.id] = before["record_id"]
                    # the minutes written as agreed settle the minutes written apart
                    conflicts = [dict(c, settled_by=record.id) if c["code"] == MINUTES_CONCURRENT and c["settled_by"] is None
                                 else c for c in conflicts]
            updates.append({"record_id": record.id, "at": utc(record.recorded_at), "by": record.by, "changes": dict(changes),
                            "previous": dict(body.get("previous") or {}), "reason": body.get("reason")})
        elif record.kind == "nomination" and body.get("proposed"):  # waits for the chair or a supervisor (Form 3 item 2)
            if all(c["case_id"] != body.get("case_id") for c in cases):
                proposals = [p for p in proposals if p["case_id"] != body.get("case_id")]
                proposals.append(dict(body, record_id=record.id, by=record.by, at=utc(record.recorded_at)))
        elif record.kind == "nomination":
            cases = [c for c in cases if c["case_id"] != body.get("case_id")]
            cases.append(dict(body, record_id=record.id, by=record.by))
            proposals = [p for p in proposals if p["case_id"] != body.get("case_id")]
        elif record.kind == REMOVED:  # a nomination taken off the list, or a waiting one withdrawn: the one it names only
            waiting = bool(body.get("waiting"))
            pool = proposals if waiting else cases
            taken = next((c for c in pool if c.get("record_id") == body.get("nomination") and c.get("case_id") == body.get("case_id")),
                         None)
            if taken is not None:  # (one it does not name as it stands, e.g. nominated again since on a copy apart: nothing)
                if waiting:
                    proposals = [p for p in proposals if p is not taken]
                else:
                    cases = [c for c in cases if c is not taken]
                removed.append({"case_id": taken["case_id"], "record_id": record.id, "nomination": taken["record_id"],
                                "by": record.by, "at": utc(record.recorded_at), "reason": body.get("reason"), "waiting": waiting,
                                "_nomination": taken})
        elif record.kind == "attendance":
            entry = dict(body, record_id=record.id)
            attendees.pop(member_key(entry), None)
            attendees[member_key(entry)] = entry
        elif record.kind == "minutes":
            held[record.id] = dict(body)
            if closed_by_record is None:  # after the close, it was written on a copy apart: the conference closed without it
                values.update(minutes=dict(body), minutes_id=record.id)
        elif record.kind == "conference_close":
            values.update(closed_at=utc(record.at), closed_by=record.by)
            closed_by_record = record.id
            closed_with[record.id] = body.get("minutes")
            if body.get("minutes") in held:  # the minutes it was closed with (a copy apart may have written some since)
                values.update(minutes=held[body["minutes"]], minutes_id=body["minutes"])
            if isinstance(body.get("cases"), list):
                discussed = {c.get("case_id") for c in body["cases"] if isinstance(c, Mapping)}
        elif record.kind == "rendered":
            renders.append(dict(body, at=utc(record.recorded_at), by=record.by))
        elif record.kind == "sync_conflict":
            found = {"record_id": record.id, "code": body.get("code"), "records": list(body.get("records") or []),
                     "at": utc(record.at), "settled_by": None}
            same = next((c for c in conflicts if c["code"] == found["code"] and c["records"] == found["records"]), None)
            if same is None:
                conflicts.append(found)
            else:  # two merges found it (each copy applying the other's bundle): one conflict, with both its records
                same["also"] = [*same.get("also", ()), record.id]
        elif record.kind in ("approval", "rejection") and body.get("subject") == PLAN_SUBJECT:
            decisions.append({"record_id": record.id, "decision": record.kind, "at": utc(record.at), "by": record.by,
                              "note": body.get("note"), "plan": body.get("plan") if isinstance(body.get("plan"), Mapping) else None})
        history.append((record.id, record.kind, record.at, record.by))
        now_planned = _plan(values, cases)
        if now_planned != planned:
            planned, plan_by = now_planned, record.by
    # minutes written apart found by a merge that could not read them (service/sync.py names every record that may hold
    # them, not compared): where they hold the same minutes, the copies did not differ, and it is settled where found
    known = {entry[0] for entry in history}
    conflicts = [dict(c, settled_by=c["record_id"]) if c["code"] == MINUTES_CONCURRENT and c["settled_by"] is None
                 and same_minutes(c["records"], held, closed_with, known, replaced) else c for c in conflicts]
    # a venue, minutes or presentation an update wrote and a later one replaced: by its record only (the text may be
    # what had to go)
    standing = {"venue": values.get("venue_id"), MINUTES: values.get("minutes_id"), "virtual": values.get("virtual_id")}
    presented = {c.get("case_id"): presentation_record(c) for c in cases}
    prepared = {c.get("case_id"): c.get("preparation_record") for c in cases}
    for update in updates:
        changes = update["changes"]
        for key in standing:
            if key in changes and update["record_id"] != standing[key]:
                changes[key] = {"record_id": update["record_id"], "replaced": True}
        change = changes.get(PRESENTATION)
        if isinstance(change, Mapping) and presented.get(change.get("case_id")) != update["record_id"]:
            changes[PRESENTATION] = {"case_id": change.get("case_id"), "record_id": update["record_id"], "replaced": True}
        change = changes.get(PREPARATION)
        if isinstance(change, Mapping) and prepared.get(change.get("case_id")) != update["record_id"]:
            changes[PREPARATION] = {"case_id": change.get("case_id"), "record_id": update["record_id"], "replaced": True}
    # nominations a copy apart wrote while the conference was closed elsewhere, brought in by a sync: a case the close
    # does not name (or, where it names none, nominated after it), and a caseworker's nomination made after it
    late: list[dict] = []
    if discussed is not None:  # a case taken off on a copy apart while the other closed the conference with it: the close
        # stands (its minutes and the case's plan hold the discussion), so the removal does not
        back = [r for r in removed if not r["waiting"] and r["case_id"] in discussed and all(c["case_id"] != r["case_id"] for c in cases)]
        cases += [r["_nomination"] for r in back]
        removed = [r for r in removed if r not in back]
    removed = [{k: v for k, v in r.items() if k != "_nomination"} for r in removed]
    if closed_by_record is not None:
        late = [c for c in cases if (c["case_id"] not in discussed if discussed is not None else c["record_id"] > closed_by_record)]
        late += [p for p in proposals if p["record_id"] > closed_by_record]
        cases = [c for c in cases if c not in late]
        proposals = [p for p in proposals if p not in late]
    return Conference(cases=tuple(cases), proposals=tuple(proposals), not_discussed=tuple(late), removed=tuple(removed), attendees=tuple(attendees.values()),
                      renders=tuple(renders), history=tuple(history), updates=tuple(updates), conflicts=tuple(conflicts),
                      plan_decisions=tuple(decisions), plan_by=plan_by, **values)


def same_minutes(record_ids: Iterable[str], held: Mapping[str, Any], closed_with: Mapping[str, Any], known: Iterable[str],
                 replaced: Mapping[str, str] | None = None) -> bool:
    """Whether the records a MINUTES_CONCURRENT conflict names hold the same minutes: each
    `minutes` record and update of them the minutes it holds (`held`), each close those it was
    closed with (`closed_with`: the record that holds them), an update of anything else none.
    Minutes that an update among them replaced (`replaced`: update -> the minutes record it
    replaced) stand on neither copy and are not compared. False when one of them is not among the
    conference's records (`known`), or a close names minutes it does not hold. A merge that could
    read them named them only where they differ."""
    record_ids = list(record_ids)
    known = set(known)
    gone = {(replaced or {})[r] for r in record_ids if r in (replaced or {})}
    values = []
    for record_id in record_ids:
        if record_id not in known:
            return False
        if record_id in gone and record_id not in closed_with:
            continue
        if record_id in closed_with:
            if not isinstance(closed_with[record_id], str) or closed_with[record_id] not in held:
                return False
            values.append(held[closed_with[record_id]])
        elif record_id in held:
            values.append(held[record_id])
    return all(value == values[0] for value in values)


def open_conflicts(conference: Conference, code: str | None = None) -> list[Mapping[str, Any]]:
    """The sync conflicts of the conference not settled yet (of `code`, when given)."""
    return [c for c in conference.conflicts if c["settled_by"] is None and (code is None or c["code"] == code)]


def minutes_held(records: Iterable[Record], record_id: str) -> dict | None:
    """The minutes a record of the conference holds (`record_id`: a `minutes` record, or an update
    that replaced them), whether or not they stand; None when it holds none."""
    for record in records:
        if record.id != record_id:
            continue
        if record.kind == "minutes":
            return dict(record.body)
        value = (record.body.get("changes") or {}).get(MINUTES) if record.kind == "conference_update" else None
        return dict(value) if isinstance(value, Mapping) else None
    return None


def minutes_conflict_due(conference: Conference, policy: Policy, tz=None) -> list[Deadline]:
    """Minutes written apart on two copies (MINUTES_CONCURRENT), not settled yet: due at once
    (from the sync that found it) on the chair's list, naming the records, never their text."""
    items = []
    for conflict in open_conflicts(conference, MINUTES_CONCURRENT):
        found = datetime.fromisoformat(conflict["at"])
        records = ", ".join(conflict["records"])
        stands = (f"the minutes {conference.minutes_id} stand" + (" (those the conference was closed with)" if conference.closed_at
                                                                  else ""))
        items.append(Deadline(conference.id, "conference-minutes-concurrent", f"minutes of {conference.id} written on two copies",
                              found.astimezone(tz) if tz is not None else found, None, conference.chair or SUPERVISORS, RULE,
                              f"the minutes of {conference.id} were recorded on two copies apart, differently ({records}): "
                              f"{stands}, though the other's minute-taker did not see them. Read each (cpcm conference show "
                              f"{conference.id} --minutes-record RECORD), agree them, and write them as agreed: cpcm conference "
                              f"update {conference.id} --minutes FILE --reason TEXT",
                              policy.source(RULE)))
    return items


# -- the SOP's checks -----------------------------------------------------------------------------
def location_parts(text: str | None) -> dict[str, str | None]:
    """The Kenya SOP Form 8's "location of case (district, ward, village)" from the registration's
    one `location` text, which the form asks for as "village, ward, sub-county": its parts
    between commas in that order, the last of three or more the district (sub-county), the one
    before it the ward, the rest the village; one part is the village, two the village and the
    ward. A part not written stays None; `as_written` keeps the text itself."""
    parts = [p.strip() for p in str(text or "").split(",") if p.strip()]
    village = ward = district = None
    if len(parts) >= 3:
        village, ward, district = ", ".join(parts[:-2]), parts[-2], parts[-1]
    elif len(parts) == 2:
        village, ward = parts
    elif parts:
        village = parts[0]
    return {"district": district, "ward": ward, "village": village, "as_written": ", ".join(parts) or None}


def meeting_day(conference: Conference | Mapping[str, Any]) -> date:
    text = conference.date if isinstance(conference, Conference) else conference["date"]
    return date.fromisoformat(str(text)[:10])


TIMELINE = (
    # (checklist key, policy key, what the SOP asks)
    ("notice_sent", "notice", "participants told"),
    ("invitations_sent", "invitations", "invitations sent"),
    ("attendance_confirmed", "confirmation", "attendance confirmed"),
)


def days_before(policy: Policy, key: str) -> int:
    """How many days ahead of the meeting a timeline item (notice, invitations, confirmation) is due."""
    duration = policy.duration(RULE, key)
    start = datetime(2000, 1, 1)
    return max(0, (duration.after(start) - start).days)


def timeline_warnings(checklist: Mapping[str, str | None], day: date, policy: Policy, today: date) -> list[str]:
    """Form 3 items 4, 6 and 7 and SOP §4 step 2: each date given (today for one not given yet)
    must be far enough ahead of the meeting."""
    warnings = []
    for key, rule_key, what in TIMELINE:
        days = days_before(policy, rule_key)
        given = checklist.get(key)
        when = date.fromisoformat(str(given)[:10]) if given else today
        ahead = (day - when).days
        if ahead < days:
            said = f"on {when.isoformat()}" if given else f"not yet (today is {when.isoformat()})"
            warnings.append(f"conference.{rule_key}: {what} {said}, {ahead} day(s) before the meeting on {day.isoformat()}; "
                            f"the SOP asks for at least {days} day(s) ({policy.short_source(RULE, rule_key)})")
    return warnings


def max_cases(policy: Policy, kind: str) -> int | None:
    limits = policy.get(RULE, "max_cases") or {}
    value = limits.get(kind)
    return int(value) if value is not None else None


def removed_in_minutes(conference: Conference) -> list[dict]:
    """The entries of the standing minutes whose case was taken off the list (`add-case CONF CASE
    --remove`; not a waiting nomination withdrawn) and is not on it again: minutes recorded on a
    copy apart that still discussed the case, brought in by a sync (on one copy, minutes naming a
    case taken off are refused, and a case the minutes discuss cannot be taken off). Closing leaves
    them out, as it leaves out every case not on the list. Each: the case, how many actions its
    entry holds, and the removal (its record, who and when), in the minutes' order."""
    on_list = set(conference.case_ids)
    taken_off = {r["case_id"]: r for r in conference.removed if not r.get("waiting")}  # the latest removal of each case
    out, seen = [], set()
    for entry in (conference.minutes or {}).get("cases") or []:
        case_id = normalise_case_id(str(entry.get("case") or ""))
        if case_id is None or case_id in on_list or case_id in seen or case_id not in taken_off:
            continue
        seen.add(case_id)
        removal = taken_off[case_id]
        out.append({"case_id": case_id, "actions": len(entry.get("actions") or []), "removal": removal["record_id"],
                    "removed_by": removal.get("by"), "removed_at": removal.get("at")})
    return out


def removed_in_minutes_warnings(conference: Conference, tz=None) -> list[str]:
    """What `conference close` says of each entry of `removed_in_minutes`: the case, that it was
    taken off the list (by whom, when), that nothing of its entry went into its plan, and what to do."""
    out = []
    for found in removed_in_minutes(conference):
        case_id, day = found["case_id"], local_day(found["removed_at"], tz) or "?"
        actions = f" and {found['actions']} action(s)" if found["actions"] else ""
        out.append(f"{case_id}: the minutes of {conference.id} hold an entry{actions} for it, recorded on another copy, but it "
                   f"was taken off the list of {conference.id} (by {found['removed_by']} on {day}, record {found['removal']}), so "
                   f"closing left it out: nothing of that entry went into its plan, and no record links it to {conference.id}. "
                   f"If it was discussed, carry what was decided into its plan: cpcm plan {case_id} --from-current --reason "
                   f"conference_decision (the entry: cpcm conference show {conference.id}); or nominate it to a later "
                   f"conference: cpcm conference add-case CONF {case_id} --reason REASON")
    return out


def cases_warning(kind: str, count: int, policy: Policy) -> str | None:
    """SOP §5.3-5.5: at most 6 cases internal, at most 4 with external partners."""
    limit = max_cases(policy, kind)
    if limit is None or count <= limit:
        return None
    return (f"conference.max_cases.{kind}: {count} cases nominated for an {kind} conference; the SOP asks for at most "
            f"{limit} ({policy.short_source(RULE)} §5.3-5.5)")


# a meeting link (or any web address): a platform is named, never linked, and who holds a recording is a person or an
# office, never where it is: a link in a document or a record can let anyone who reads it into the meeting or the recording
_LINK = re.compile(r"(?i)(?:\b[a-z][a-z0-9+.-]*://|\bwww\.|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/)")


def virtual_details(current: Mapping[str, Any] | None, given: Mapping[str, Any], in_person: bool = False
                    ) -> tuple[dict | None, list[FieldError]]:
    """A virtual conference's details (SOP §8.1) as they stand after `new` or `update` gives
    some: `given` holds `virtual` (true: held online) and any of VIRTUAL_KEYS (None: not given;
    `recorded`: True or False, the service's reading of the worker's yes or no); `in_person` takes a conference off line. Returns the details (None
    for a meeting in person) and the errors, each naming its option: the platform and the record
    keeper are required, a recording needs who holds it, a session not recorded needs why; a
    platform or a holder written as a link is refused."""
    errors: list[FieldError] = []
    option = {key: key.replace("_", "-") for key in VIRTUAL_KEYS}
    details = {key: given[key] for key in VIRTUAL_KEYS if given.get(key) is not None}
    if in_person:
        if details or given.get("virtual"):
            errors.append(FieldError("in-person", "goes alone: a meeting in person has no platform, record keeper or recording"))
        return None, errors
    if current is None and not given.get("virtual"):
        if details:
            errors.append(FieldError(option[next(iter(details))], "is for a virtual conference: add --virtual (with --platform and "
                                                                  "--record-keeper)"))
        return None, errors
    out = {k: v for k, v in (current or {}).items() if k in VIRTUAL_KEYS}
    if "recorded" in details:
        if not isinstance(details["recorded"], bool):  # read in the repository's language by the service
            errors.append(FieldError("recorded", "is yes or no"))
        else:
            out["recorded"] = details["recorded"]
            out.pop("recording_held_by", None)  # a new answer: what went with the old one goes
            out.pop("not_recorded_reason", None)
    for key in ("platform", "record_keeper", "recording_held_by", "not_recorded_reason"):
        if key in details:
            text = str(details[key]).strip()
            if text:
                out[key] = text
            else:
                out.pop(key, None)
    for key, what in (("platform", "the platform the meeting is held on (e.g. Zoom, Google Meet, WhatsApp video)"),
                      ("record_keeper", "who keeps the meeting's record (SOP §8.1: a designated record keeper), by worker id "
                                        "or by name and title")):
        if not out.get(key):
            errors.append(FieldError(option[key], f"is required for a virtual conference: {what}"))
    recorded = out.get("recorded")
    if recorded is True and not out.get("recording_held_by"):
        errors.append(FieldError("recording-held-by", "is required with --recorded yes: who holds the recording (a person or an "
                                                      "office; cpcm keeps no recording)"))
    if recorded is False and not out.get("not_recorded_reason"):
        errors.append(FieldError("not-recorded-reason", "is required with --recorded no: why the session was not recorded "
                                                        "(SOP §8.1: sessions should be recorded)"))
    if recorded is not True and out.get("recording_held_by"):
        errors.append(FieldError("recording-held-by", "goes with --recorded yes"))
    if recorded is not False and out.get("not_recorded_reason"):
        errors.append(FieldError("not-recorded-reason", "goes with --recorded no"))
    for key, limit in (("platform", 200), ("record_keeper", 200), ("recording_held_by", 200), ("not_recorded_reason", 500)):
        if len(str(out.get(key) or "")) > limit:
            errors.append(FieldError(option[key], f"is longer than {limit} characters"))
    for key, what in (("platform", "name the platform, not the meeting's link"),
                      ("recording_held_by", "name who holds the recording, not where it is")):
        if out.get(key) and _LINK.search(str(out[key])):
            errors.append(FieldError(option[key], f"holds a link: {what} (a link in the record or a document lets anyone who "
                                                  "reads it in)"))
    return {key: out[key] for key in VIRTUAL_KEYS if key in out}, errors


def unwritten_presentations(conference: Conference, policy: Policy) -> list[str]:
    """The cases of a virtual conference with no written presentation, where the policy requires one
    (`conference_virtual.written_presentations`: SOP §4 step 3, required for virtual meetings)."""
    if not conference.virtual or not policy.get(VIRTUAL, "written_presentations", True):
        return []
    return [c["case_id"] for c in conference.cases if not str(c.get("presentation") or "").strip()]


def presentations_missing(conference: Conference, policy: Policy, case_ids: list[str] | None = None) -> str | None:
    """What a virtual conference still lacks of its written presentations (`case_ids`: those
    cases, else every case without one), naming the cases and what adds one."""
    case_ids = unwritten_presentations(conference, policy) if case_ids is None else case_ids
    if not case_ids:
        return None
    case = case_ids[0] if len(case_ids) == 1 else "CASE"
    return (f"{VIRTUAL}.written_presentations: {', '.join(case_ids)} ha{'s' if len(case_ids) == 1 else 've'} no written "
            f"presentation; a virtual conference needs one for each case, Forms 1 and 2 "
            f"({policy.short_source(VIRTUAL, 'written_presentations')}): cpcm conference update {conference.id} --case {case} --presentation TEXT --reason TEXT")


def recording_warning(conference: Conference, policy: Policy) -> str | None:
    """A virtual conference whose recording is not stated yet: the SOP says sessions should be
    recorded (§8.1); where one was not, say why (`conference_virtual.recording`)."""
    if not conference.virtual or conference.virtual.get("recorded") is not None or not policy.get(VIRTUAL, "recording", True):
        return None
    return (f"{VIRTUAL}.recording: whether the session of {conference.id} is recorded is not stated; the SOP says virtual "
            f"sessions should be recorded ({policy.short_source(VIRTUAL, 'recording')}): cpcm conference update {conference.id} "
            "--recorded yes --recording-held-by WHO, or --recorded no --not-recorded-reason TEXT")


def participants_warning(count: int, policy: Policy) -> str | None:
    """SOP §5.3-5.5: 5-10 participants."""
    low, high = int(policy.get(RULE, "participants_min", 5)), int(policy.get(RULE, "participants_max", 10))
    if low <= count <= high:
        return None
    return (f"conference.participants: {count} participant(s) recorded as present; the SOP asks for {low}-{high} "
            f"({policy.short_source(RULE)} §5.3-5.5)")


def meeting_start(conference: Conference, policy: Policy, zone: tzinfo | None = None) -> datetime:
    """When the meeting starts: its date and time, or its date at the policy's start time; a
    time written without a zone is read in `zone` (the worker's, that of `now`)."""
    start = start_of(conference, policy)
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone or timezone.utc)
    return start


def not_held_yet(conference: Conference, policy: Policy, now: datetime, verb: str) -> str | None:
    """Why minutes or closing cannot be recorded yet: the meeting has not started (None when it has)."""
    start = meeting_start(conference, policy, now.tzinfo)
    if now >= start:
        return None
    return (f"{conference.id} meets on {local_text(start, start.tzinfo)}: its {verb} cannot be recorded before the "
            "meeting has started")


def attendance_too_early(conference: Conference, now: datetime) -> str | None:
    """Why attendance (Form 6) cannot be recorded yet: the meeting's day has not come (None on
    the day, before or after the start: members sign the register as they arrive, and after)."""
    day = meeting_day(conference)
    if now.date() >= day:
        return None
    return (f"date: {conference.id} meets on {day.isoformat()}, after today ({now.date().isoformat()}): attendance (Form 6) "
            "records who came to the meeting and cannot be recorded before the meeting's date")


def report_by(conference: Conference, policy: Policy, tz=None) -> datetime:
    """When the report with the action points is due (Form 3 item 8): the meeting's start plus the
    limit, in `tz`; a fact of the meeting, the same before the report is rendered and after."""
    start = meeting_start(conference, policy, tz)
    if tz is not None:
        start = start.astimezone(tz)
    return policy.duration(REPORT, "limit").after(start)


def report_due(conference: Conference, policy: Policy, tz=None, now: datetime | None = None) -> Deadline | None:
    """Form 3 item 8: the report with the action points within 24 hours of the meeting. The clock
    counts from the meeting's start (its date and time), not from closing it in cpcm; it is on the
    chair's list once the meeting has started (given `now`; else once it is closed) until
    `cpcm render conference-report` has run after closing."""
    if conference.report_rendered_at:
        return None
    start = meeting_start(conference, policy, tz)
    if not conference.closed_at and (now is None or now < start):
        return None
    if tz is not None:
        start = start.astimezone(tz)
    limit = policy.duration(REPORT, "limit")
    todo = "" if conference.closed_at else f"record the minutes and close it (cpcm conference close {conference.id}), then "
    return Deadline(conference.id, "conference-report", "conference report due", report_by(conference, policy, tz), None, conference.chair,
                    REPORT, f"the report with the action points within {limit.words()} of the meeting "
                          f"({local_text(start, start.tzinfo)}): {todo}cpcm render conference-report {conference.id}",
                    policy.source(REPORT))


def nominations_due(conference: Conference, policy: Policy, now: datetime) -> list[Deadline]:
    """Form 3 items 1-2 (SOP §4 step 1): a case a caseworker nominated waits for the chair (or a
    supervisor or manager) to take it into the final set, which the conference plan lists a week
    ahead of the meeting (`invitations`); one nominated later is due at once. On the chair's list
    until it is taken in (`cpcm conference add-case CONF CASE`) or the meeting starts: a case not
    taken in by then was left out of the final set."""
    if conference.closed_at or not conference.proposals:
        return []
    start = meeting_start(conference, policy, now.tzinfo).astimezone(now.tzinfo or timezone.utc)
    if now >= start:
        return []
    plan_by = start - timedelta(days=days_before(policy, "invitations"))
    items = []
    for proposal in conference.proposals:
        asked = datetime.fromisoformat(proposal["at"])
        due = max(plan_by, asked.astimezone(plan_by.tzinfo))
        items.append(Deadline(conference.id, "conference-nomination", f"nomination of {proposal['case_id']} to prioritise", due,
                              None, conference.chair, INVITATIONS,
                              f"{proposal.get('by')} nominated {proposal['case_id']} ({proposal.get('reason')}); the chair or a "
                              f"supervisor picks the final set of cases (Form 3 items 1-2): take it in with cpcm conference "
                              f"add-case {conference.id} {proposal['case_id']}, or leave it out",
                              policy.source(INVITATIONS)))
    return items


# -- the conference plan's approval (Form 3 item 4) ------------------------------------------------------
PLAN_SUBJECT = approvals.CONFERENCE_PLAN   # `cpcm approve|reject CONF conference-plan`
PLAN_APPROVAL = approvals.rule_of(PLAN_SUBJECT)  # the rule: required, self_approval, roles
PLAN_KEY = "plan_approval"                 # conference.plan_approval: how long before the meeting (its own source)
PLAN_DUE = f"{RULE}.{PLAN_KEY}"
PLAN_CODE = "conference-plan-approval"     # the item on `cpcm due`
PLAN_PROBLEM = "conference-plan-not-approved"  # `cpcm check`, and the warning of holding it unapproved
# what the plan holds (Form 3 item 4: the expected participants, the date, time and location, the agenda, the anonymised
# list of the selected cases), as cpcm records them: a change of any of these after the approval needs approving again.
# The participants expected are those the conference names ahead (its chair, a co-chair or chair from outside, a virtual
# meeting's record keeper); the agenda is made from the kind, the time and the case list (Form 4). Not the plan: the dates
# notice and invitations went out, the presentations, whether a session was recorded, attendance, the minutes.
PLAN_FIELDS = ("kind", "date", "venue", "chair", "co_chair", "external_chair", "online", "cases")


def _plan(values: Mapping[str, Any], cases: Iterable[Mapping[str, Any]]) -> dict:
    online = values.get("virtual")
    return {"kind": values.get("kind"), "date": values.get("date"), "venue": values.get("venue"), "chair": values.get("chair"),
            "co_chair": dict(values["co_chair"]) if values.get("co_chair") else None,
            "external_chair": dict(values["external_chair"]) if values.get("external_chair") else None,
            "online": ({"platform": online.get("platform"), "record_keeper": online.get("record_keeper")}
                       if isinstance(online, Mapping) else None),
            "cases": [c.get("case_id") for c in cases]}


def plan_of(conference: Conference) -> dict:
    """The conference plan as it stands (PLAN_FIELDS): what an approval approves and keeps."""
    return _plan({"kind": conference.kind, "date": conference.date, "venue": conference.venue, "chair": conference.chair,
                  "co_chair": conference.co_chair, "external_chair": conference.external_chair, "virtual": conference.virtual},
                 conference.cases)


def plan_changes(decided: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """The parts of the plan (PLAN_FIELDS) that differ from the plan as it was decided on."""
    decided = decided or {}
    return [key for key in PLAN_FIELDS if decided.get(key) != current.get(key)]


def plan_required(policy: Policy) -> bool:
    """Whether the policy requires the conference plan approved (conference_plan_approval.required)."""
    return bool(policy.get(PLAN_APPROVAL, "required", False))


def plan_roles(policy: Policy) -> tuple[str, ...]:
    """Who approves a conference's plan (the policy's conference_plan_approval.roles): a supervisor or manager."""
    return tuple(policy.get(PLAN_APPROVAL, "roles") or approvals.APPROVER_ROLES)


def plan_due_at(conference: Conference, policy: Policy, tz=None) -> datetime:
    """When the plan is to be approved by: the meeting's start less conference.plan_approval."""
    start = meeting_start(conference, policy, tz)
    if tz is not None:
        start = start.astimezone(tz)
    return start - timedelta(days=days_before(policy, PLAN_KEY))


def plan_approval(conference: Conference, policy: Policy, tz=None) -> dict:
    """The plan's approval as it stands: `state` approved (the plan as it stands was approved),
    rejected (the plan as it stands was rejected: it is to change), changed (decided on, and
    changed since: it waits for approval again; `changed` names what) or waiting (never decided);
    the latest decision's `by`, `at`, `note`, `decision`; `required` (the policy's) and `due` (by
    when, local in `tz`)."""
    latest = conference.plan_decisions[-1] if conference.plan_decisions else None
    changed = plan_changes(latest["plan"], plan_of(conference)) if latest else []
    state = ("waiting" if latest is None else "changed" if changed else
             "approved" if latest["decision"] == "approval" else "rejected")
    out = {"required": plan_required(policy), "state": state, "due": plan_due_at(conference, policy, tz).isoformat(),
           "changed": changed, "decision": None, "by": None, "at": None, "note": None, "record_id": None}
    if latest is not None:
        out.update(decision=latest["decision"], by=latest["by"], at=latest["at"], note=latest.get("note"),
                   record_id=latest["record_id"])
    return out


def plan_refusal(conference: Conference, policy: Policy, worker: Worker | None) -> str | None:
    """Why `worker` may not approve or reject the conference's plan, as a rule code, or None:
    approval-needs-supervisor (not an active member with a role of conference_plan_approval.roles),
    self-approval (they made the plan as it stands, where self_approval is off)."""
    if worker is None or not worker.active or not worker.has_role(*plan_roles(policy)):
        return "approval-needs-supervisor"
    if not approvals.self_allowed(policy, PLAN_SUBJECT) and worker.id == conference.plan_by:
        return "self-approval"
    return None


def plan_barred(conference: Conference, policy: Policy, team: Team | None) -> tuple[str, ...]:
    """Who of the team's supervisors and managers may not decide the plan (`plan_refusal`): what
    the due item carries, so that it is on the list of those who may only (deadlines.for_worker)."""
    workers = team.active if team is not None else ()
    return tuple(sorted(w.id for w in workers if approvals.oversees(w) and plan_refusal(conference, policy, w)))


def _plan_words(conference: Conference, policy: Policy, tz=None) -> str:
    days = days_before(policy, PLAN_KEY)
    return (f"the conference plan (the participants, date, venue, agenda and the anonymised list of cases) approved at least "
            f"{days} day(s) before the meeting ({local_text(meeting_start(conference, policy, tz), tz)})")


def plan_approval_due(conference: Conference, policy: Policy, now: datetime, team: Team | None = None) -> list[Deadline]:
    """Form 3 item 4: the conference plan approved `conference.plan_approval` (a week) before the
    meeting, where the policy requires it (conference_plan_approval.required). On the list of the
    supervisors and managers who may approve it (`plan_barred`) until the plan as it stands is
    approved, the conference closed or the meeting started (then `cpcm check` says it was held
    without); a plan changed after its approval is due again. A plan rejected (and not changed
    since) is the chair's to change (any supervisor's or manager's without a chair)."""
    if not plan_required(policy) or conference.closed_at or not conference.date:
        return []
    tz = now.tzinfo or timezone.utc
    if now >= meeting_start(conference, policy, tz):
        return []
    state = plan_approval(conference, policy, tz)
    if state["state"] == "approved":
        return []
    due = plan_due_at(conference, policy, tz)
    if state["state"] == "rejected":
        return [Deadline(conference.id, PLAN_CODE, f"change the plan of conference {conference.id} (rejected)", due, None,
                         conference.chair or SUPERVISORS, PLAN_APPROVAL,
                         f"{state['by']} rejected the plan of {conference.id} on {local_day(state['at'], tz)} (the note: cpcm conference "
                         f"show {conference.id}); {_plan_words(conference, policy, tz)}: change what the note asks (cpcm "
                         f"conference update {conference.id} ...), then it waits for approval again",
                         policy.source(PLAN_DUE))]
    again = (f"{state['by']} {'approved' if state['decision'] == 'approval' else 'rejected'} it on {local_day(state['at'], tz)}; "
             f"changed since ({', '.join(state['changed'])}), it needs approving again; " if state["state"] == "changed" else "")
    return [Deadline(conference.id, PLAN_CODE, f"approve the plan of conference {conference.id}", due, None, SUPERVISORS,
                     PLAN_APPROVAL, f"{again}{_plan_words(conference, policy, tz)}: cpcm approve {conference.id} conference-plan "
                     f"(or reject it with a note)", policy.source(PLAN_DUE), barred=plan_barred(conference, policy, team))]


def plan_warning(conference: Conference, policy: Policy, tz=None) -> str | None:
    """The warning of holding the meeting (attendance, minutes, closing) on a plan not approved
    where the policy requires it: the meeting goes ahead (meetings happen), `cpcm check` lists it."""
    if not plan_required(policy) or conference.closed_at:
        return None
    state = plan_approval(conference, policy, tz)
    if state["state"] == "approved":
        return None
    return (f"{PLAN_APPROVAL}: the plan of {conference.id} is {_plan_state_words(state)}; the SOP asks for {_plan_words(conference, policy, tz)} "
            f"({policy.short_source(PLAN_DUE)}). The meeting goes ahead; cpcm check lists it ({PLAN_PROBLEM}) until the "
            f"conference is closed, and its close records it")


def _plan_state_words(state: Mapping[str, Any]) -> str:
    """A plan not approved as it stands, in words (`plan_approval`'s state): for the warning of a
    meeting held on it and for `cpcm check`."""
    return {"waiting": "not approved", "rejected": f"rejected by {state['by']}",
            "changed": f"changed after {state['by']}'s decision ({', '.join(state['changed'])}), not approved again"}[state["state"]]


def plan_problems(conferences: Iterable[Conference], policy: Policy, now: datetime) -> list[Problem]:
    """`cpcm check`: each conference not closed whose plan was not approved (as it stands) by its
    time (`plan_due_at`), where the policy requires it: late before the meeting, held without
    approval after its start (a warning: the meeting goes ahead)."""
    out = []
    tz = now.tzinfo or timezone.utc
    for conference in conferences:
        if not plan_required(policy) or conference.closed_at or not conference.date:
            continue
        state = plan_approval(conference, policy, tz)
        if state["state"] == "approved" or now <= plan_due_at(conference, policy, tz):
            continue
        held = now >= meeting_start(conference, policy, tz)
        what = ("the meeting started without an approved plan" if held else
                f"overdue since {local_text(plan_due_at(conference, policy, tz), tz)}: cpcm approve {conference.id} conference-plan")
        out.append(Problem(PLAN_PROBLEM, "warning", f"the plan of {conference.id} is {_plan_state_words(state)} ({what}); the SOP asks "
                           f"for {_plan_words(conference, policy, tz)}", PLAN_APPROVAL, policy.source(PLAN_DUE), conference.id))
    return out


def not_discussed_due(conference: Conference, conferences: Iterable[Conference], policy: Policy, tz=None) -> list[Deadline]:
    """A case nominated to `conference` on a copy apart while it was closed elsewhere (brought in
    by a sync: `Conference.not_discussed`) was not discussed, whatever its nominator believes: it
    is due at once (from the close) to go to a later conference, until it is nominated to one of
    `conferences` meeting at or after this one. On its nominator's list (the chair's, for a
    caseworker's nomination: they cannot read the conference)."""
    if not conference.not_discussed:
        return []
    start = meeting_start(conference, policy, tz)
    later = {case_id for other in conferences if other.id != conference.id and meeting_start(other, policy, tz) >= start
             for case_id in [*other.case_ids, *(p["case_id"] for p in other.proposals)]}
    closed = datetime.fromisoformat(conference.closed_at)
    items = []
    for nomination in conference.not_discussed:
        case_id = nomination.get("case_id")
        if case_id in later:
            continue
        items.append(Deadline(case_id, "conference-not-discussed", f"take {case_id} to a conference: not discussed at {conference.id}",
                              closed.astimezone(tz) if tz is not None else closed, None,
                              conference.chair if nomination.get("proposed") else nomination.get("by"), RULE,
                              f"{nomination.get('by')} nominated {case_id} ({nomination.get('reason')}) to {conference.id} on a "
                              f"copy apart while it was being closed: it closed without the case (its minutes, plan actions and "
                              f"report hold nothing of it); nominate it to the next conference: cpcm conference add-case CONF "
                              f"{case_id} --reason {nomination.get('reason') or '...'}",
                              policy.source(RULE)))
    return items


# -- how often conferences are held (SOP §3.2, §5.3-5.5, App.2) ---------------------------------------
KIND_WORDS = {"internal": "internal (staff only)", "external": "internal with external partners", "aac": "sub-county AAC",
              "acc": "alternative care committee (ACC)"}


def cadence(policy: Policy) -> dict[str, Any]:
    """The policy's cadence: per kind, how often (a Duration) and whether it is due before the first is held."""
    block = policy.rules.get(CADENCE) or {}
    every = block.get("every") or {}
    required = block.get("required") or {}
    return {"every": {k: parse_duration(v) for k, v in every.items()}, "required": {k: bool(v) for k, v in required.items()},
            "at_least": parse_duration(block["at_least"]) if block.get("at_least") else None,
            "at_least_of": tuple(block.get("at_least_of") or every)}


def repository_start(team: Team) -> datetime | None:
    """When the casefile repository was started: the earliest `since` of its team's members (the
    founder's, written by `cpcm init`), removed members too; None when no member records one."""
    times = []
    for worker in team.workers:
        try:
            times += [datetime.fromisoformat(utc(worker.since))] if worker.since else []
        except ValueError:  # not a time: nothing to count from
            continue
    return min(times) if times else None


def profile_start(text: str | None) -> datetime | None:
    """When the profile in force took effect: the config's `policy_since` (an ISO time written by
    `cpcm init` and `cpcm config set policy`); None when the config records none (a repository made
    before cpcm recorded it) or what it holds is not a time."""
    try:
        return datetime.fromisoformat(utc(text)) if text else None
    except ValueError:  # edited by hand into something else: nothing to count from but the repository's start
        return None


def cadence_due(conferences: Iterable[Conference], policy: Policy, now: datetime, since: datetime | None = None,
                profile_since: datetime | None = None) -> list[Deadline]:
    """The next conference to hold, by kind: the last one held (its meeting has started) plus the
    kind's interval; a conference already planned at or before then is the one to hold. A kind
    never held is on the list only where the policy requires it (`required`): the first is due the
    kind's interval after the later of `since` (the repository's start, `repository_start`) and
    `profile_since` (when the profile in force took effect, `profile_start`: a repository switched to
    the kenya profile after a year under another counts from the switch, not from a year ago), a fixed
    time that goes overdue once it passes; with neither there is nothing to count from, and the item,
    listed at `now`, says so rather than give a deadline. Once the time has come (the first one's, or the
    last held too long ago), a conference planned within the kind's interval from now is the one to
    hold: the item is that conference (still overdue from the time it was due), not a request to
    bring it forward. When the agency's conferences (`at_least_of`) are held less often than
    `at_least`, one more item says so.
    Owner: the chair of the conference concerned (the last held), else any supervisor or manager."""
    rules = cadence(policy)
    zone = now.tzinfo or timezone.utc
    source = policy.source(CADENCE)
    by_kind: dict[str, list[tuple[datetime, Conference]]] = {}
    for conference in conferences:
        if not conference.kind or not conference.date:
            continue
        by_kind.setdefault(conference.kind, []).append((meeting_start(conference, policy, zone), conference))
    # what the first of a required kind counts from: the repository's start, or the profile's when it took effect later
    first_from, counted = since, "the repository's start"
    if profile_since is not None and (since is None or profile_since > since):
        first_from, counted = profile_since, f"the {policy.profile} rules took effect"
    items: list[Deadline] = []
    held_any: list[datetime] = []
    for kind, every in rules["every"].items():
        found = sorted(by_kind.get(kind, []), key=lambda pair: pair[0])
        held = [(start, c) for start, c in found if start <= now]
        planned = [(start, c) for start, c in found if start > now and not c.closed_at]
        if kind in rules["at_least_of"]:
            held_any += [start for start, _ in held]
        words = KIND_WORDS.get(kind, kind)
        dated = True  # `due` is a time fixed by what was held or by the repository's start, not `now`
        if held:
            last, last_conf = held[-1]
            due = every.after(last)
            owner = last_conf.chair or SUPERVISORS
            why = f"{words} conferences at least every {every.words()}; the last was {last_conf.id} on {last.strftime('%Y-%m-%d')}"
        elif rules["required"].get(kind) and first_from is not None:
            start_here = first_from.astimezone(zone)
            due, owner = every.after(start_here), SUPERVISORS
            why = (f"{words} conferences at least every {every.words()}; none held yet: the first is due {every.words()} after "
                   f"{counted} on {start_here.strftime('%Y-%m-%d')}")
        elif rules["required"].get(kind) or planned:
            due, owner, dated = now, SUPERVISORS, False
            why = f"{words} conferences at least every {every.words()}; none held yet"
            if rules["required"].get(kind):
                why += " and nothing to count the first from (no team member records when they joined), so no deadline"
        else:
            continue
        # a planned conference is in time when it falls by the time due; when that time has come (none held yet of a
        # required kind, or the last held too long ago), one planned within the kind's interval from now is as soon
        # as one can be: the item is that conference, never a request to bring it forward
        if planned and (planned[0][0] <= due or (due <= now and planned[0][0] <= every.after(now))):
            start, conference = planned[0]
            late = dated and due < now and start > due  # overdue since `due`: it stays so until the planned one is held
            if late:
                why += f"; overdue since {due.strftime('%Y-%m-%d')}"
            items.append(Deadline(conference.id, "conference-cadence", f"hold the {words} conference planned for "
                                  f"{local_text(start, start.tzinfo)}", due if late else start, None, conference.chair or owner,
                                  CADENCE, why + f"; {conference.id} is the next", source))
            continue
        if planned:
            why += f"; {planned[0][1].id} is planned for {planned[0][0].strftime('%Y-%m-%d')}, later than that: bring it forward " \
                   f"(cpcm conference update {planned[0][1].id} --date DATE) or hold another"
        else:
            why += ": plan the next one (cpcm conference new --kind " + kind + " --date DATE)"
        items.append(Deadline("conference", "conference-cadence", f"{words} conference to hold", due, None, owner, CADENCE, why,
                              source))
    if rules["at_least"] is not None and held_any:
        due = rules["at_least"].after(max(held_any))
        if not any(item.due <= due for item in items):
            items.append(Deadline("conference", "conference-cadence", "a case conference of any kind to hold", due, None, SUPERVISORS,
                                  CADENCE, f"at least one case conference every {rules['at_least'].words()}; the last was on "
                                           f"{max(held_any).strftime('%Y-%m-%d')}", source))
    return items


def admitted_at(case: Case, policy: Policy) -> str | None:
    """When the child was admitted to a CCI (or a place of safety), by the policy's
    `conference_after_admission` rule: registered living in an institution (`lives_with`: when the
    registration, or an update of it, said so, as `placements.registered_lives_with` reads it for
    whether the child has been apart from their family), or an event of the case's fold it names
    (`events`, a placement into residential care); the latest."""
    block = policy.rules.get(AFTER_ADMISSION) or {}
    lived = placements.registered_lives_with(case)
    times = [lived[answer] for answer in block.get("lives_with") or () if answer in lived]
    times += [t for t in (case.last(event) for event in block.get("events") or ()) if t]
    return max(times) if times else None


def admission_conference_due(case: Case, policy: Policy, now: datetime, conferenced: Iterable[str] = (),
                             profile_since: datetime | None = None) -> list[Deadline]:
    """SOP §5.3: a child entering a CCI is reassessed by the institution's social worker, a plan is
    developed and the case is taken to a case conference. Due `within` of the first assessment
    after the admission (`after`: the fold's events, the comprehensive assessment by default),
    until the case is nominated to, or discussed at, a conference held at or after the admission
    (`conferenced`: those meeting times, UTC). A child assessed before the profile that asks for it
    took effect (`profile_since`, `profile_start`: a repository switched to kenya later) is due
    `within` of that time instead, as the first internal conference is (`cadence_due`). Owed only
    while the child is in residential care (`placements.in_residential_care`): the conference is the
    institution's, to start the work toward the child's way out of it as soon as the child enters;
    a child who has left it (home, or in kinship or foster care) is past it, and the reviews and
    monitoring after reunification follow them instead."""
    block = policy.rules.get(AFTER_ADMISSION) or {}
    if not block.get("required") or case.status != "open":
        return []
    admitted = admitted_at(case, policy)
    if admitted is None or not placements.in_residential_care(case, policy):
        return []
    assessed = [t for t in (case.first(event, admitted) for event in block.get("after") or ("assessment.comprehensive",)) if t]
    if not assessed:
        return []
    if any(str(t)[:10] >= admitted[:10] for t in [*conferenced, *case.events.get("conference", ())]):
        return []
    zone = now.tzinfo or timezone.utc
    limit = parse_duration(block.get("within", "1mo"))
    start = datetime.fromisoformat(min(assessed)).astimezone(zone)
    counted = ""
    if profile_since is not None and profile_since > start:
        start = profile_since.astimezone(zone)
        counted = f" (counted from when these rules took effect on {start.strftime('%Y-%m-%d')}, after the reassessment)"
    return [Deadline(case.id, "conference-after-admission", "take the case to a case conference (admitted to a CCI)",
                     limit.after(start), None, case.worker, AFTER_ADMISSION,
                     f"a child admitted to a CCI is taken to a case conference after the reassessment, within {limit.words()}"
                     f"{counted}: "
                     # a caseworker who does not read the conference nominates; its chair or a supervisor takes the case in
                     f"nominate it (cpcm conference add-case CONF {case.id} --reason ...); the conference's chair or a "
                     f"supervisor takes it into the final set of cases",
                     policy.source(AFTER_ADMISSION), case.risk)]


def agenda(kind: str, start: datetime, case_ids: list[str]) -> list[dict]:
    """Form 4 with clock times: each item's slot (the longer end of the SOP's range), the
    cases' slot shared among the cases."""
    items, at = [], start
    for code, low, high in AGENDA.get(kind, AGENDA["external"]):
        item = {"item": code, "start": at.strftime("%H:%M"), "minutes_min": low, "minutes_max": high, "cases": []}
        if code == "cases" and case_ids:
            share = max(1, high // len(case_ids))
            slot = at
            for case_id in case_ids:
                item["cases"].append({"id": case_id, "start": slot.strftime("%H:%M"), "minutes": share})
                slot += timedelta(minutes=share)
        at += timedelta(minutes=high)
        item["end"] = at.strftime("%H:%M")
        items.append(item)
    return items


def previous_conference(conference: Conference, conferences: Iterable[Conference], policy: Policy,
                        zone: tzinfo | None = None) -> Conference | None:
    """The conference whose action points this one's agenda debriefs (SOP Form 4 item 3, Form 3
    item 9): of the same kind (the SOP's internal and external meetings are debriefed apart, as
    their agendas are; an AAC or ACC is its own body), closed (its actions went into the plans), the
    latest whose meeting started before this one's; None when there is none. Only `conferences`
    are searched: the caller's, those its reader can read."""
    start = meeting_start(conference, policy, zone)
    earlier = [(meeting_start(c, policy, zone), c.id, c) for c in conferences
               if c.id != conference.id and c.kind == conference.kind and c.closed_at and c.date]
    earlier = [entry for entry in earlier if entry[0] < start]
    return max(earlier, key=lambda entry: (entry[0], entry[1]))[2] if earlier else None


def debrief(previous: Conference | None, tracked: Mapping[str, Mapping[str, Any] | None], policy: Policy,
            now: datetime) -> dict[str, Any]:
    """The debrief of `previous`'s action points (Form 4 item 3), as the agenda and `conference show
    --json` give it: {conference: {id, kind, date, closed_at} or None, actions: [...]}. Each action
    of its minutes as they stand (mended since, too), case by case in order: the case ID (never a name),
    the action, who is responsible, its date (the plan's where the action is in it, else the
    minutes' timeline), whether it was carried into the case's plan and its status now
    (`plan_actions.conference_action`, the one rule). `tracked`: per case ID, for each case its
    reader can read, {plan: the fold's case.plan, version: the plan version the close wrote,
    reopened: the case's reopenings}; a
    case not in it keeps what the minutes say and its status is `not_readable`."""
    if previous is None:
        return {"conference": None, "actions": []}
    actions = []
    for entry in (previous.minutes or {}).get("cases") or []:
        case_id = entry.get("case")
        given = [a for a in entry.get("actions") or [] if isinstance(a, Mapping)]
        case = tracked.get(case_id)
        for index, action in enumerate(given):
            timeline = str(action.get("timeline") or "")[:10] or None
            out = {"case_id": case_id, "action": action.get("action"), "responsible": action.get("responsible"),
                   "timeline": timeline, "due": timeline, "action_id": None, "carried": None, "status": "not_readable"}
            if case is not None:
                now_ = plan_actions.conference_action(case.get("plan"), case.get("version"), len(given), index,
                                                      action.get("action"), policy, now, case.get("reopened"))
                out.update(action_id=now_["action_id"], carried=now_["carried"], status=now_["status"],
                           due=str(now_["by"])[:10] if now_["by"] else timeline)
            actions.append(out)
    return {"conference": {"id": previous.id, "kind": previous.kind, "date": previous.date, "closed_at": previous.closed_at},
            "actions": actions}


def meeting_end(conference: Conference, zone: tzinfo) -> str:
    """The end of the meeting's day in the agency's `zone`, as UTC: what the minutes and the report
    show of a case (its risk) is the case as it stood then, its records up to this moment folded.
    They are records of the meeting: a re-rating after it is not what the meeting saw, whenever
    they are rendered; one before it, after the nomination, is (the nomination holds the risk when
    the case was put forward)."""
    return utc(end_of_day(meeting_day(conference), zone).isoformat())


def start_of(conference: Conference, policy: Policy) -> datetime:
    text = str(conference.date or "")
    if len(text) > 10:
        return datetime.fromisoformat(text)
    hour, minute = (int(x) for x in str(policy.get(RULE, "start_time", "09:00")).split(":"))
    return datetime.combine(meeting_day(conference), time(hour, minute))


def case_part(entry: Mapping[str, Any]) -> dict:
    """A case's part of the minutes (its entry in `cases`) as its `conference` record holds it: the
    summary and the discussion (None when not given), the decisions and the actions (lists). What
    `conference close` writes into the case, and what replacing the minutes after closing compares
    that record with, so a case whose part did not change is left as it is."""
    return {"summary": entry.get("summary"), "discussion": entry.get("discussion"),
            "decisions": list(entry.get("decisions") or []), "actions": list(entry.get("actions") or [])}


# What `conference close` writes into a case's plan: free text of the record, so in the repository's language
# (the catalog: said by the service, `say`), the conference's day as the documents write a date (in words)
# Translators: who else took part in a plan version a case conference made (participants.others).
CONFERENCE_NAMED = N_("case conference %(conference)s (%(date)s)")
# Translators: the one goal of the interim plan a case conference starts for a case with no plan yet.
INTERIM_GOAL = N_("Carry out the actions agreed at case conference %(conference)s (%(date)s)")
INTERIM_NEED = N_("as discussed at the conference")
INTERIM_CLOSURE = N_("Not an interim plan's to set: the full case plan, written after the comprehensive assessment, "
                     "replaces this one")
INTERIM_CONTINGENCY = N_("None agreed at case conference %(conference)s: set it in the full case plan; until then bring the "
                         "case back to the next conference if the actions cannot be carried out.")


def conference_named(conference: Conference, day: str | None = None, say: Callable[[str], str] = in_english) -> str:
    """Who else took part in a plan version the conference made (`participants.others`): the
    conference and its day, in `say`'s language (the repository's, given by the service); `day`:
    the day as the documents write it (in words, in that language), else as the record has it."""
    return say(CONFERENCE_NAMED) % {"conference": conference.id, "date": day or str(conference.date or "")[:10]}


def interim_plan(conference: Conference, entry: Mapping[str, Any], day: str | None = None,
                 say: Callable[[str], str] = in_english) -> dict:
    """The interim plan a conference's actions start for a case that has no plan yet (the plan
    form's fields; the actions are added by the caller): one short-term goal, the conference's
    decisions; closure criteria and contingency say plainly that the full plan is still to come.
    Who took part (nobody of the family, here) is then set by the caller from the attendance
    (`took_part`), as for every version a conference makes. Its words in `say`'s language, the
    conference's day as `day` (`conference_named`): the plan's text is printed as it is written."""
    needs = list(dict.fromkeys(str(a.get("need")).strip() for a in entry.get("actions") or [] if a.get("need")))
    named = {"conference": conference.id, "date": day or str(conference.date or "")[:10]}
    return {
        "reason": "conference_decision",
        "interim": True,
        "goals": [{"id": "G1", "term": "short", "goal": say(INTERIM_GOAL) % named,
                   "need": "; ".join(needs) or say(INTERIM_NEED)}],
        "actions": [],
        "closure_criteria": [say(INTERIM_CLOSURE)],
        "contingency": say(INTERIM_CONTINGENCY) % named,
        "participants": {"child": "no", "caregivers": "no", "others": conference_named(conference, day, say)},
    }


def _words(text: Any) -> list[str]:
    return [w for w in re.split(r"[^\w]+", str(text or "").lower()) if len(w) >= 2]


def same_name(name: Any, registered: Any) -> bool:
    """Whether an attendance entry's name (`name`) is a registered name (`registered`): every word of
    it is a word of the registered name ("Amani" for Amani Otieno), or the registered name is
    within it ("Amani Otieno Junior"); in any case and spacing. An institution registered as a
    caregiver (`WholeName`) only by the second: "Staff" is not "Tumaini CCI staff"."""
    words, theirs = _words(name), _words(registered)
    within = f" {' '.join(theirs)} " in f" {' '.join(words)} "
    if isinstance(registered, WholeName):
        return bool(words and theirs) and within
    return bool(words and theirs) and (set(words) <= set(theirs) or within)


def took_part(conference: Conference, case: Case, records: Iterable[Record], elsewhere: Iterable[str] = ()) -> dict[str, str]:
    """Who of a case's child and family took part in the conference's planning, as the plan form
    asks it (`participants.child`, `participants.caregivers`: "yes"/"no"): the child only when
    recorded present in the attendance register under a name registered for the child (name,
    other names, nickname), the caregivers under a name the case records for its family
    (`client_names`). A name that is both (a shared surname alone) tells neither; so does one that
    also fits a name of another case of the conference (`elsewhere`: their children's and
    families' names; one register serves them all), unless the case records that same name too
    (one person in both cases, as a caregiver of siblings). A family member recorded under no name
    the case holds cannot be told from another case's, and is not counted. A conference's plan
    version never carries over who took part in the version it starts from: that was another
    meeting."""
    child = [n for n in (case.child.get(k) for k in ("name", "other_names", "nickname")) if n]
    family = [n for n in client_names(case, records)[0] if n not in child]
    own = set(child) | set(family)
    others = [n for n in dict.fromkeys(elsewhere) if n and n not in own]
    child_there = family_there = False
    for attendee in conference.present:
        name = attendee.get("name")
        if any(same_name(name, n) for n in others):
            continue  # which case's child or family it is cannot be told
        is_child = any(same_name(name, n) for n in child)
        is_family = any(same_name(name, n) for n in family)
        child_there = child_there or (is_child and not is_family)
        family_there = family_there or (is_family and not is_child)
    return {"child": "yes" if child_there else "no", "caregivers": "yes" if family_there else "no"}


# -- the standing confidentiality register (Form 5) ------------------------------------------------------
# One folder for the whole agency, across conferences: a member signs once (SOP §5.1: "signed once
# per member"); a member barred after a breach attends no conference until the bar is lifted.
REGISTER_ID = "CR-0000-0005"
REGISTER_KINDS = ("agreement", "bar", "bar_lifted")


# -- who reads a conference ---------------------------------------------------------------------------
def readers(team: Team, chair: str | None, workers: Iterable[str]) -> list[str]:
    """Who reads a conference: its chair, the workers of the cases discussed (`workers`), then
    every supervisor and manager; active team members only. Every change of a conference's
    readers works them out here: its commands, a team change, `cpcm team sync`, a sync's merge."""
    return team.case_readers(([chair] if chair else []) + list(workers))


def register_readers(team: Team) -> list[str]:
    """Who reads the standing confidentiality register: every active member of the team
    (whoever records attendance checks it)."""
    return team.case_readers([w.id for w in team.active])


def readers_as_listed(team: Team, conference_id: str, listed: Iterable[str]) -> list[str]:
    """Who reads a conference, worked out from its `recipients` file alone (by a sync's merge, or
    by a worker who cannot read the conference): the readers it lists that are still active
    members stand for its chair and the workers of its cases; the register is every member's."""
    return register_readers(team) if conference_id == REGISTER_ID else readers(team, None, listed)


def fold_register(records: Iterable[Record]) -> dict[tuple[str, str], dict]:
    """The register as its records stand, one entry per member (name and institution, in any
    case and spacing): the first signature (a member signs once), and a bar until it is lifted."""
    members: dict[tuple[str, str], dict] = {}
    for record in sorted(records, key=lambda r: r.id):
        body = record.body
        key = member_key(body)
        entry = members.setdefault(key, {"name": body.get("name"), "institution": body.get("institution"), "signed_on": None,
                                         "how": None, "position": None, "barred": None, "history": []})
        if record.kind == "agreement" and entry["signed_on"] is None:
            entry.update(position=body.get("position"), contact=body.get("contact"), signed_on=body.get("signed_on"),
                         how=body.get("how"), record_id=record.id, recorded_by=record.by)
        elif record.kind == "bar":
            entry["barred"] = {"reason": body.get("reason"), "at": utc(record.at), "by": record.by, "record_id": record.id}
        elif record.kind == "bar_lifted":
            entry["barred"] = None
        entry["history"].append({"record_id": record.id, "kind": record.kind, "at": utc(record.at), "by": record.by,
                                 **({"reason": body["reason"]} if body.get("reason") else {})})
    return members


def register_entry(register: Mapping[tuple[str, str], dict], member: Mapping[str, Any]) -> dict | None:
    return register.get(member_key(member))


def form5_rows(conference: Conference, register: Mapping[tuple[str, str], dict], family: Iterable[Mapping[str, Any]] = ()) -> list[dict]:
    """Form 5 for a meeting: each professional of its attendance register (not a child or family
    member, not a barred member) with the date they signed, where they have; a blank line to sign
    where not."""
    rows = []
    for attendee in conference.attendees:
        if attendee.get("role") == "family" or any(attendee is f for f in family):
            continue
        entry = register_entry(register, attendee) or {}
        if entry.get("barred"):
            continue
        rows.append({"name": attendee.get("name"), "institution": attendee.get("institution"),
                     "position": attendee.get("position") or entry.get("position"), "signed_on": entry.get("signed_on"),
                     "how": entry.get("how")})
    return rows


# -- names must not reach the minutes -------------------------------------------------------------
class WholeName(str):
    """A registered caregiver's name that is an institution's, not a family member's ("Tumaini CCI
    staff", relationship institution: `is_institution`). The name guard matches it only whole
    (`name_patterns`) and an attendee's name only where it holds it whole (`same_name`): its single
    words ("Tumaini", "CCI") are how the institution itself, its staff and its rooms are named."""


def institution_relationships(policy: Policy) -> tuple[str, ...]:
    """The relationships that tell a caregiver that is an institution (the policy's
    `conference_names.institution_relationships`, any language), as `is_institution` compares them."""
    return tuple(" ".join(_words(w)) for w in policy.get(NAMES_RULE, "institution_relationships") or ())


def is_institution(name: Any, relationship: Any, relationships: Iterable[str]) -> bool:
    """Whether a caregiver registered with `relationship` is an institution: the relationship is, as
    a whole, one of `relationships` (institution_relationships), in any case and spacing
    ("institution", "CCI staff"). Never by a word within a longer relationship ("mother (at the
    shelter)") nor by the caregiver's name: a family member's name must stay matched word by word."""
    return bool(relationship) and " ".join(_words(relationship)) in {" ".join(_words(w)) for w in relationships}


NAMING_KINDS = ("tracing", "family_assessment", "consent")  # the records `client_names` reads besides the folded case


def naming_part(case: Case) -> Case:
    """The case as `client_names` reads it (the child, the registration, its caregiver and contact, the placements) and
    nothing else: what a reader of many cases keeps of one until its records are read."""
    return Case(case.id, child=case.child, caregiver_name=case.caregiver_name, contact=case.contact,
                registration=case.registration, placements=case.placements)


def client_names(case: Case, records: Iterable[Record], institutions: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """The names and phone numbers of the child and the family that a case records, which no
    meeting document may hold: the registration's (the child's names, the caregiver, the
    contact), each placement's caregiver and phone, the people found by family tracing, the
    caregiver of a family assessment, a caregiver named on a consent. A caregiver that is an
    institution (`is_institution` by `institutions`, the policy's institution_relationships) is a
    `WholeName`, unless the same name is also registered for a person (privacy first)."""
    institutions = tuple(institutions)

    def caregiver(name: Any, relationship: Any) -> Any:
        return WholeName(str(name)) if name and institutions and is_institution(name, relationship, institutions) else name

    registered = case.registration.get("caregiver") if isinstance(case.registration.get("caregiver"), Mapping) else {}
    names = [case.child.get(k) for k in ("name", "other_names", "nickname")]
    names.append(caregiver(case.caregiver_name, registered.get("relationship")))
    contacts = [case.contact]
    names += [caregiver(p.get("caregiver_name"), p.get("caregiver_relationship")) for p in case.placements]
    contacts += [p.get("contact") for p in case.placements]
    for record in (r for r in records if r.kind in NAMING_KINDS):
        body = record.body
        if record.kind == "tracing":
            people = [p for p in body.get("people") or [] if isinstance(p, Mapping)]
            names += [p.get("name") for p in people]
            contacts += [p.get("contact") for p in people]
        elif record.kind == "family_assessment":
            assessed = body.get("caregiver") or {}
            names.append(caregiver(assessed.get("name"), assessed.get("relationship")))
        elif record.kind == "consent":
            names.append(caregiver(body.get("caregiver_name"), body.get("caregiver_relationship")))
    clean = lambda values: [str(v).strip() for v in dict.fromkeys(values) if v and str(v).strip()]  # noqa: E731
    whole = set(clean(v for v in names if isinstance(v, WholeName)))
    whole -= set(clean(v for v in names if not isinstance(v, WholeName)))  # a name registered for a person too stays one
    return [WholeName(n) if n in whole else n for n in clean(names)], clean(contacts)


NAMES_RULE = "conference_names"  # the common words of a language that a name may also be, the words of an institution (policy)


@dataclass(frozen=True)
class WithAnother:
    """A word of a registered name that is also a common word of the document's language
    ("Mtoto", child, as a surname): found only where the text also holds another word of the same
    name (in any case), as `name_patterns` explains. Searched like a pattern."""
    word: re.Pattern
    others: re.Pattern

    def search(self, text: str) -> re.Match | None:
        found = self.word.search(text)
        return found if found and self.others.search(text) else None


def common_words(policy: Policy, lang: str | None) -> tuple[str, ...]:
    """The common words of a language (the policy's `conference_names.common_words`) that the
    name guard does not take, alone, for a word of a longer name (name_patterns)."""
    words = (policy.get(NAMES_RULE, "common_words") or {}).get(lang or "en") or ()
    return tuple(str(w) for w in words)


def _whole(word: str) -> str:
    return r"(?<!\w)" + re.escape(word) + r"(?!\w)"


def _as_a_name(word: str) -> re.Pattern:
    """`word` as a name is written: the first letter in capitals, the rest in any case."""
    first, rest = word[0], word[1:]
    head = f"[{re.escape(first.upper())}]" if first.upper() != first.lower() else re.escape(first)
    return re.compile(r"(?<!\w)" + head + "(?i:" + re.escape(rest) + r")(?!\w)")


def name_patterns(names: Iterable[str | None], common: Iterable[str] = ()) -> list[re.Pattern | WithAnother]:
    """A case's registered names (the child's, the caregiver's, other names, a nickname) as
    patterns that match them as names, not as ordinary words (docs/commands/conference.md):

    - a name of two or more words is matched whole, in any case and spacing ("amani  otieno");
    - a single word (a one-word name or nickname, or a word of three letters or more of a
      longer name) is matched as a whole word written as a name: starting with a capital letter
      ("Amani", "AMANI"). In lower case inside a sentence it is an ordinary word: "amani"
      (Kiswahili: peace) stays usable when a caregiver is called Amani;
    - an institution registered as a caregiver (a `WholeName`: "Tumaini CCI staff") is matched
      only whole, as a name of two or more words or a one-word name is: "in the CCI" and
      "Tumaini boardroom" stay usable;
    - a word of a longer name that is one of `common` (the common words of the document's
      language, policy `conference_names`: "mtoto", child) is matched as a name only where the
      text also holds another word of that name that is not a common word, in any case
      ("Mtoto ... wanjiru" for Wanjiru Mtoto): "Mtoto anaendelea vizuri" stays usable. A name
      every word of which is a common word keeps them all as names (nothing else would tell it).
    """
    common = {str(w).casefold() for w in common}
    phrases, words, paired = set(), set(), {}
    for name in names:
        parts = str(name or "").split()
        if isinstance(name, WholeName):  # an institution registered as a caregiver: only whole, its words are the institution's
            if len(parts) > 1:
                phrases.add(" ".join(parts))
            elif parts:
                words.add(parts[0])
            continue
        if len(parts) > 1:
            phrases.add(" ".join(parts))
        own = [w for w in parts if len(w) >= 3 or len(parts) == 1]
        distinct = [w for w in own if w.casefold() not in common]
        for word in own:
            if word in distinct or not distinct or len(parts) == 1:
                words.add(word)
            else:
                paired.setdefault(word, set()).update(distinct)
    patterns: list[re.Pattern | WithAnother] = [
        re.compile(r"(?<!\w)" + r"\s+".join(re.escape(p) for p in phrase.split()) + r"(?!\w)", re.IGNORECASE)
        for phrase in sorted(phrases)]
    patterns += [_as_a_name(word) for word in sorted(words)]
    for word in sorted(set(paired) - words):  # a word that is a name on its own elsewhere stays one
        others = "|".join(_whole(w) for w in sorted(paired[word]))
        patterns.append(WithAnother(_as_a_name(word), re.compile(others, re.IGNORECASE)))
    return patterns


def _texts(value: Any, path: str = ""):
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value, start=1):
            yield from _texts(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def names_found(data: Mapping[str, Any], patterns: Mapping[str, list[re.Pattern | WithAnother]]) -> list[str]:
    """Where a text of `data` holds a name registered for one of the cases (`patterns`: per
    case ID, from `name_patterns`): the field and the case, never the name."""
    return [f"{path} (a name registered for {case_id})" for path, case_id in name_hits(data, patterns)]


def name_hits(data: Mapping[str, Any], patterns: Mapping[str, list[re.Pattern | WithAnother]]) -> list[tuple[str, str]]:
    """`names_found` as (the field's path, the case ID) pairs."""
    hits = []
    for path, text in _texts(data):
        for case_id, found in patterns.items():
            if any(p.search(text) for p in found):
                hits.append((path, case_id))
                break
    return hits
