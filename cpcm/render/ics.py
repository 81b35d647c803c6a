"""An iCalendar file of due items that a phone calendar can import: one event per item, the
case ID and what is due in the summary, never a name or any other personal data. Written with
the `icalendar` library (escaping, line folding and the RFC 5545 details are its job)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def calendar(items: Iterable, now: datetime, agency: str) -> str:
    """`items`: Deadline values. Only the case ID, the title, the rule and its source are
    written: the `why` of an item can carry dates about the child (a birthday)."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//cpcm//due list//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"cpcm due: {agency}")
    stamp = now.astimezone(timezone.utc)
    for item in items:
        due = item.due.astimezone(timezone.utc)
        event = icalendar.Event()
        event.add("uid", f"{item.case_id}-{item.code}-{_utc(item.due)}@cpcm")
        event.add("dtstamp", stamp)
        event.add("dtstart", due)
        event.add("dtend", due)
        event.add("summary", f"{item.case_id}: {item.title}")
        event.add("description", f"{item.title} (rule: {item.rule}). Source: {item.source}")
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{item.case_id}: {item.title}")
        alarm.add("trigger", timedelta(hours=-2))
        event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")
