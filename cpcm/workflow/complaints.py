"""Complaints, pure: a complaint as its records stand, who reads it, who may respond, when a
response is due (the policy's `complaints.respond_within`), and the counts of the complaints
report.

A complaint may be made by a child or anyone else (ESARO P1: child-friendly, impartial complaints
mechanisms, especially in residential care). It is read by the agency's supervisors and managers
and the worker who recorded it, never by a worker it is about, whatever their role: the impartial
route is one that the implicated worker does not control. What the rules here need of a complaint
that the reader cannot open (who reads it, when it was received) is what its folder shows.

Must not import: service, store, crypto, cli.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping

from cpcm.domain.durations import parse_duration
from cpcm.domain.policy import Policy
from cpcm.domain.problems import Problem
from cpcm.domain.records import CORRECTION_KEYS, Record
from cpcm.domain.team import OVERSIGHT, Team, Worker
from cpcm.workflow.clocks import SUPERVISORS
from cpcm.workflow.deadlines import Deadline

KIND = "complaint"  # the record kind of a complaint as received
RESPONSE_KIND = "complaint_response"  # the record kind of a response to it (a supervisor's or manager's)
RULE = "complaints"  # the policy rule: respond_within
DUE_SUBJECT = "complaint"  # the due item's subject, in place of a case ID (as "supervision" for supervision sessions)
DUE_CODE = "complaint-respond"
OVERDUE_CODE = "complaint-respond-overdue"  # `cpcm check`: a complaint not responded to by `respond_within`
SOURCES = ("child", "caregiver", "family_member", "community", "other")  # --from: who made the complaint
CONCERNS = ("staff_conduct", "care", "service", "abuse", "other")
SETTINGS = ("residential", "family", "community", "other")
DISABILITY = ("yes", "no", "unknown")
OUTCOMES = ("upheld", "partly_upheld", "not_upheld", "withdrawn", "referred")
OPEN, RESOLVED = "open", "resolved"
CORRECTION_REASON = CORRECTION_KEYS[1]  # a correction's reason (`supersedes`: the record it corrects)


@dataclass(frozen=True)
class Complaint:
    """A complaint as its records stand: the complaint (corrected, where it was), and the latest
    response to it (corrected, where it was; two responses written on two copies apart: the later
    one by record ID stands; both stay in the history)."""
    id: str
    at: str  # when it was received (ISO, UTC)
    recorded_by: str
    source: str  # who made it: child, caregiver, ...
    case: str | None
    about: tuple[str, ...]  # the workers it is about (team ids): never among its readers
    concerns: tuple[str, ...]
    setting: str
    disability: str
    summary: str
    record_id: str  # the complaint record that stands: the original, or the correction of it in force
    response: Mapping[str, Any] | None = None  # the standing response's body, with its record id, at and by
    history: tuple[dict, ...] = field(default=())

    @property
    def about_staff(self) -> bool:
        return bool(self.about) or "staff_conduct" in self.concerns

    @property
    def status(self) -> str:
        return RESOLVED if self.response else OPEN

    def summary_row(self) -> dict:
        """What `complaint list` gives of it: never what was said."""
        return {"complaint_id": self.id, "received": self.at, "setting": self.setting, "about_staff": self.about_staff,
                "case": self.case, "status": self.status}

    def to_dict(self) -> dict:
        return {"complaint_id": self.id, "received": self.at, "recorded_by": self.recorded_by, "from": self.source,
                "case": self.case, "about_workers": list(self.about), "concerns": list(self.concerns), "setting": self.setting,
                "disability": self.disability, "about_staff": self.about_staff, "summary": self.summary, "status": self.status,
                "response": dict(self.response) if self.response else None, "record_id": self.record_id,
                "history": [dict(h) for h in self.history]}


def standing(records: list[Record]) -> Record | None:
    """The record that stands of `records` (of one kind, by ID): the latest that no other
    supersedes (a correction, `supersedes`: the one it corrects; two written on two copies apart:
    the later one by record ID stands)."""
    superseded = {str(r.body.get("supersedes")) for r in records if r.body.get("supersedes")}
    kept = [r for r in records if r.id not in superseded] or records
    return kept[-1] if kept else None


def _first_of(record: Record, by_id: Mapping[str, Record]) -> Record:
    """The record a chain of corrections began with: who wrote it and who responded stay theirs."""
    seen = set()
    while record.body.get("supersedes") in by_id and record.id not in seen:
        seen.add(record.id)
        record = by_id[record.body["supersedes"]]
    return record


def _history_entry(r: Record) -> dict:
    return {"record_id": r.id, "kind": r.kind, "at": r.at, "recorded_at": r.recorded_at, "by": r.by,
            **({"outcome": r.body.get("outcome")} if r.kind == RESPONSE_KIND else {}),
            **({"supersedes": r.body["supersedes"], "reason": r.body.get(CORRECTION_REASON)} if r.body.get("supersedes") else {})}


def fold(complaint_id: str, records: Iterable[Record]) -> Complaint:
    """The complaint its records make: its `complaint` record as it stands (the original, or the
    correction of it in force), recorded by who wrote the original; and the response as it stands.
    Every record stays in the history, a correction with what it corrects and why."""
    ordered = sorted((r for r in records if r.kind in (KIND, RESPONSE_KIND)), key=lambda r: r.id)
    by_id = {r.id: r for r in ordered}
    received = [r for r in ordered if r.kind == KIND]
    if not received:
        raise ValueError(f"{complaint_id} holds no complaint record")
    current = standing(received)
    body = current.body
    last = standing([r for r in ordered if r.kind == RESPONSE_KIND])
    response = None
    if last is not None:
        response = {**{k: v for k, v in last.body.items() if k not in CORRECTION_KEYS}, "record_id": last.id, "at": last.at,
                    "by": _first_of(last, by_id).by}
    history = tuple(_history_entry(r) for r in ordered)
    return Complaint(complaint_id, current.at, _first_of(current, by_id).by, str(body.get("from") or "other"),
                     body.get("case_id") or None, tuple(body.get("about_workers") or ()), tuple(body.get("concerns") or ()),
                     str(body.get("setting") or "other"), str(body.get("disability") or "unknown"), str(body.get("summary") or ""),
                     current.id, response, history)


def oversees(worker: Worker | None) -> bool:
    return worker is not None and worker.active and worker.has_role(*OVERSIGHT)


def readers(team: Team, recorded_by: str, about: Iterable[str]) -> list[str]:
    """Who reads a complaint: the worker who recorded it first, then every active supervisor and
    manager of the team, in the team's order; never a worker it is about (the recorder neither,
    when they are named in it). The agency's recovery keys are added to every record as for every
    folder."""
    barred = set(about)
    out = [recorded_by] if recorded_by not in barred and team.get(recorded_by) is not None else []
    out += [w.id for w in team.active if oversees(w) and w.id not in barred and w.id not in out]
    return out


def impartial(readers_: Iterable[str], recorded_by: str) -> bool:
    """Whether someone but the recorder reads it: else the complaint has no impartial route."""
    return any(r != recorded_by for r in readers_)


def may_respond(worker: Worker | None, readers_: Iterable[str], about: Iterable[str]) -> bool:
    """A supervisor or manager who reads the complaint and is not one it is about."""
    return oversees(worker) and worker.id in set(readers_) and worker.id not in set(about)


def respond_within(policy: Policy):
    """How long the agency gives itself to respond (a Duration), or None where the policy sets none."""
    text = (policy.rules.get(RULE) or {}).get("respond_within")
    return parse_duration(text) if text else None


def due_items(complaints: Iterable[Complaint], policy: Policy) -> list[Deadline]:
    """A response to each open complaint, due `respond_within` after it was received; for any
    supervisor or manager who reads it but one it is about (`barred`)."""
    within = respond_within(policy)
    if within is None:
        return []
    source = policy.source(RULE)
    out = []
    for complaint in complaints:
        if complaint.response:
            continue
        received = datetime.fromisoformat(complaint.at)
        due = within.after(received)
        why = (f"a complaint is responded to within {within.words()} of being received "
               f"(cpcm complaint respond {complaint.id} --outcome ... --response ...)")
        out.append(Deadline(DUE_SUBJECT, DUE_CODE, f"respond to complaint {complaint.id}", due, None, SUPERVISORS, RULE, why,
                            source, barred=tuple(sorted(set(complaint.about)))))
    return out


def overdue_problems(complaints: Iterable[Complaint], policy: Policy, now: datetime, reader: str) -> list[Problem]:
    """`cpcm check`: each open complaint whose response is overdue (`due_items` past due), for
    `reader`, who reads the complaints given; none of one that names `reader` (`about`): a worker a
    complaint is about is never told of it, even where a `recipients` file left behind still lists
    them. A warning, as a supervision session overdue is: it names the complaint ID, never what it
    says nor who it is about."""
    out = []
    for complaint in complaints:
        if reader in complaint.about:
            continue
        for item in due_items([complaint], policy):
            if now <= item.due:
                continue
            since = item.due.astimezone(now.tzinfo or timezone.utc).strftime("%Y-%m-%d")
            out.append(Problem(OVERDUE_CODE, "warning", f"complaint {complaint.id} is not responded to: overdue since {since}: "
                               f"{item.why}", RULE, item.source))
    return out


READERS_CODE = "complaint-readers"


def readers_item(complaint: Complaint, team: Team, current: Iterable[str], policy: Policy, now: datetime,
                 rekey: Iterable[str] = ()) -> Deadline | None:
    """Where a complaint's readers (`current`: its `recipients`) are not those the team now asks
    (`readers`: a supervisor or manager added since who does not read it yet, a worker removed who
    still does), or its records are still encrypted to an earlier key of a reader (`rekey`: the
    `# rekey:` lines of that file, a key change made by someone who could not read it), an item for
    the supervisors and managers who read it, due now: one of them brings it in line (cpcm team
    sync). Told only to its readers: it names no one, and a worker it is about is never among them.
    None where they are in line."""
    return readers_lag_item(DUE_SUBJECT, READERS_CODE, f"complaint {complaint.id}",
                            readers(team, complaint.recorded_by, complaint.about), current, complaint.about, RULE,
                            policy.source(RULE), now, rekey)


def readers_lag_item(subject: str, code: str, what: str, wanted: Iterable[str], current: Iterable[str],
                     barred: Iterable[str], rule: str, source: str, now: datetime, rekey: Iterable[str] = ()) -> Deadline | None:
    """The item of a folder read by a few (a complaint, `readers_item`; a strictly confidential
    entry, workflow/confidential.py) whose readers (`current`: its `recipients`) are not those its
    rule asks with the team as it is (`wanted`), or whose records are still encrypted to an earlier
    key of one of its readers (`rekey`: the workers its `# rekey:` lines name): for the supervisors
    and managers who read it but those `barred`, due now, `what` (its kind and ID) in its title, never
    a worker's name or id; None where they are in line."""
    in_line = set(wanted) == set(current)
    if in_line and not tuple(rekey):
        return None
    if in_line:
        why = (f"{what} still has records encrypted to an old key of one of its readers (a key change made by someone "
               "who could not read it): only its other readers can open them; bring it to the keys as they are now with "
               "cpcm team sync")
    else:
        why = (f"who reads {what} is not who the team now asks (a supervisor or manager added since, or a "
               "worker removed): bring it in line with cpcm team sync")
    return Deadline(subject, code, f"{what}: its readers to bring in line", now, None, SUPERVISORS, rule, why, source,
                    barred=tuple(sorted(set(barred))))


# -- the report: counts only -----------------------------------------------------------------------
def report_rows(complaints: Iterable[tuple[str, str, bool, str | None]], start: date, end: date, zone) -> dict:
    """The counts of the complaints report from (received at, setting, about staff, resolved at or
    None) of each complaint: received in the period and resolved in it, by setting and by whether
    they concern staff. Unsuppressed: the report suppresses small cells."""
    received = {s: [0, 0] for s in SETTINGS}
    resolved = {s: [0, 0] for s in SETTINGS}
    zone = zone or timezone.utc

    def day(text: str) -> date:
        return datetime.fromisoformat(text).astimezone(zone).date()
    for at, setting, staff, done in complaints:
        setting = setting if setting in SETTINGS else "other"
        if start <= day(at) <= end:
            received[setting][1 if staff else 0] += 1
        if done and start <= day(done) <= end:
            resolved[setting][1 if staff else 0] += 1
    return {"received": [received[s] for s in SETTINGS], "resolved": [resolved[s] for s in SETTINGS]}
