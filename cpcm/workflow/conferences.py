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
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping

from cpcm.domain.records import Record, utc
from cpcm.workflow.deadlines import Deadline
from cpcm.domain.policy import Policy

KINDS = ("internal", "external", "aac")
REASONS = ("service_options_exhausted", "unresolved_protection_concern", "especially_difficult")
DOCUMENTS = ("agenda", "minutes", "conference-report")
RULE = "conference"

# Form 4, sample agenda: (item, minutes at least, minutes at most) per kind of conference
AGENDA = {
    "internal": (("welcome", 10, 10), ("updates", 15, 20), ("debrief", 15, 20), ("cases", 90, 90), ("trends", 15, 20),
                 ("actions", 10, 10), ("next_meeting", 5, 5)),
    "external": (("welcome", 15, 15), ("updates", 15, 20), ("debrief", 20, 30), ("cases", 45, 60), ("trends", 20, 30),
                 ("actions", 10, 10), ("next_meeting", 5, 5)),
}
AGENDA["aac"] = AGENDA["external"]
TREND_MONTHS = {"internal": 1, "external": 2, "aac": 2}  # Form 4 item 5: last month / last two months


@dataclass(frozen=True)
class Conference:
    """A conference as its records stand."""

    id: str
    kind: str | None = None
    date: str | None = None          # ISO date or date-time of the meeting
    chair: str | None = None
    venue: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    checklist: Mapping[str, str | None] = field(default_factory=dict)  # notice_sent, invitations_sent, attendance_confirmed
    cases: tuple[Mapping[str, Any], ...] = ()        # nominations in order
    attendees: tuple[Mapping[str, Any], ...] = ()    # the register, one entry per member (latest wins)
    minutes: Mapping[str, Any] | None = None
    minutes_id: str | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    renders: tuple[Mapping[str, Any], ...] = ()
    history: tuple[tuple[str, str, str, str], ...] = ()  # (record id, kind, at, by)

    @property
    def status(self) -> str:
        if self.closed_at:
            return "closed"
        return "minuted" if self.minutes is not None else "planned"

    @property
    def case_ids(self) -> list[str]:
        return [c["case_id"] for c in self.cases]

    @property
    def present(self) -> list[Mapping[str, Any]]:
        return [a for a in self.attendees if a.get("present")]

    @property
    def report_rendered_at(self) -> str | None:
        done = [r["at"] for r in self.renders if r.get("template") == "conference-report"
                and (self.closed_at is None or r["at"] >= self.closed_at)]
        return max(done) if done else None

    def to_dict(self) -> dict:
        return {
            "conference_id": self.id, "kind": self.kind, "date": self.date, "chair": self.chair, "venue": self.venue,
            "status": self.status, "created_at": self.created_at, "created_by": self.created_by,
            "checklist": dict(self.checklist), "cases": [dict(c) for c in self.cases],
            "attendees": [dict(a) for a in self.attendees], "participants": len(self.present),
            "minutes": dict(self.minutes) if self.minutes is not None else None, "closed_at": self.closed_at,
            "closed_by": self.closed_by, "report_rendered_at": self.report_rendered_at,
            "history": [{"record_id": i, "kind": k, "at": at, "by": by} for i, k, at, by in self.history],
        }


def member_key(entry: Mapping[str, Any]) -> tuple[str, str]:
    return (" ".join(str(entry.get("name", "")).lower().split()), " ".join(str(entry.get("institution", "")).lower().split()))


def fold(conference_id: str, records: Iterable[Record]) -> Conference:
    """The conference's state: its records applied in order."""
    values: dict[str, Any] = {"id": conference_id}
    cases: list[dict] = []
    attendees: dict[tuple[str, str], dict] = {}
    renders: list[dict] = []
    history = []
    for record in sorted(records, key=lambda r: r.id):
        body = record.body
        if record.kind == "conference":
            values.update(kind=body.get("type"), date=body.get("date"), chair=body.get("chair"), venue=body.get("venue"),
                          created_at=utc(record.at), created_by=record.by,
                          checklist={k: body.get(k) for k in ("notice_sent", "invitations_sent", "attendance_confirmed")})
        elif record.kind == "nomination":
            cases = [c for c in cases if c["case_id"] != body.get("case_id")]
            cases.append(dict(body, record_id=record.id, by=record.by))
        elif record.kind == "attendance":
            entry = dict(body, record_id=record.id)
            attendees.pop(member_key(entry), None)
            attendees[member_key(entry)] = entry
        elif record.kind == "minutes":
            values.update(minutes=dict(body), minutes_id=record.id)
        elif record.kind == "conference_close":
            values.update(closed_at=utc(record.at), closed_by=record.by)
        elif record.kind == "rendered":
            renders.append(dict(body, at=utc(record.recorded_at), by=record.by))
        history.append((record.id, record.kind, record.at, record.by))
    return Conference(cases=tuple(cases), attendees=tuple(attendees.values()), renders=tuple(renders),
                      history=tuple(history), **values)


# -- the SOP's checks -----------------------------------------------------------------------------
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
                            f"the SOP asks for at least {days} day(s) ({policy.short_source(RULE)})")
    return warnings


def max_cases(policy: Policy, kind: str) -> int | None:
    limits = policy.get(RULE, "max_cases") or {}
    value = limits.get(kind)
    return int(value) if value is not None else None


def cases_warning(kind: str, count: int, policy: Policy) -> str | None:
    """SOP §5.3-5.5: at most 6 cases internal, at most 4 with external partners."""
    limit = max_cases(policy, kind)
    if limit is None or count <= limit:
        return None
    return (f"conference.max_cases.{kind}: {count} cases nominated for an {kind} conference; the SOP asks for at most "
            f"{limit} ({policy.short_source(RULE)} §5.3-5.5)")


def participants_warning(count: int, policy: Policy) -> str | None:
    """SOP §5.3-5.5: 5-10 participants."""
    low, high = int(policy.get(RULE, "participants_min", 5)), int(policy.get(RULE, "participants_max", 10))
    if low <= count <= high:
        return None
    return (f"conference.participants: {count} participant(s) recorded as present; the SOP asks for {low}-{high} "
            f"({policy.short_source(RULE)} §5.3-5.5)")


def report_due(conference: Conference, policy: Policy, tz=None) -> Deadline | None:
    """Form 3 item 8: the report with the action points within 24 hours of the meeting (of
    closing it in cpcm), on the chair's list until `cpcm render conference-report` has run."""
    if not conference.closed_at or conference.report_rendered_at:
        return None
    closed = datetime.fromisoformat(conference.closed_at)
    if tz is not None:
        closed = closed.astimezone(tz)
    limit = policy.duration(RULE, "report")
    return Deadline(conference.id, "conference-report", "conference report due", limit.after(closed), None, conference.chair,
                    RULE, f"the report with the action points within {limit.words()} of the conference: "
                          f"cpcm render conference-report {conference.id}", policy.source(RULE))


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


def start_of(conference: Conference, policy: Policy) -> datetime:
    text = str(conference.date or "")
    if len(text) > 10:
        return datetime.fromisoformat(text)
    hour, minute = (int(x) for x in str(policy.get(RULE, "start_time", "09:00")).split(":"))
    return datetime.combine(meeting_day(conference), time(hour, minute))


# -- names must not reach the minutes -------------------------------------------------------------
def name_patterns(names: Iterable[str | None]) -> list[re.Pattern]:
    """A case's registered names (the child's, the caregiver's, other names, a nickname) as
    patterns that match them as names, not as ordinary words (docs/commands/conference.md):

    - a name of two or more words is matched whole, in any case and spacing ("amani  otieno");
    - a single word (a one-word name or nickname, or a word of three letters or more of a
      longer name) is matched as a whole word written as a name: starting with a capital letter
      ("Amani", "AMANI"). In lower case inside a sentence it is an ordinary word: "amani"
      (Kiswahili: peace) stays usable when a caregiver is called Amani.
    """
    phrases, words = set(), set()
    for name in names:
        parts = str(name or "").split()
        if len(parts) > 1:
            phrases.add(" ".join(parts))
        words.update(w for w in parts if len(w) >= 3 or len(parts) == 1)
    patterns = [re.compile(r"(?<!\w)" + r"\s+".join(re.escape(p) for p in phrase.split()) + r"(?!\w)", re.IGNORECASE)
                for phrase in sorted(phrases)]
    for word in sorted(words):
        # the first letter in capitals, the rest in any case: a name as it is written
        first, rest = word[0], word[1:]
        head = f"[{re.escape(first.upper())}]" if first.upper() != first.lower() else re.escape(first)
        patterns.append(re.compile(r"(?<!\w)" + head + "(?i:" + re.escape(rest) + r")(?!\w)"))
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


def names_found(data: Mapping[str, Any], patterns: Mapping[str, list[re.Pattern]]) -> list[str]:
    """Where a text of `data` holds a name registered for one of the cases (`patterns`: per
    case ID, from `name_patterns`): the field and the case, never the name."""
    hits = []
    for path, text in _texts(data):
        for case_id, found in patterns.items():
            if any(p.search(text) for p in found):
                hits.append(f"{path} (a name registered for {case_id})")
                break
    return hits
