"""An iCalendar file of due items that a phone calendar can import: one event per item, the
case ID and what is due in the summary, never a name or any other personal data."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545)."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += encoded
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def calendar(items: Iterable, now: datetime, agency: str) -> str:
    """`items`: Deadline values. Only the case ID, the title, the rule and its source are
    written: the `why` of an item can carry dates about the child (a birthday)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//cpcm//due list//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{_escape('cpcm due: ' + agency)}"]
    for item in items:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{item.case_id}-{item.code}-{_utc(item.due)}@cpcm",
            f"DTSTAMP:{_utc(now)}",
            f"DTSTART:{_utc(item.due)}",
            f"DTEND:{_utc(item.due)}",
            f"SUMMARY:{_escape(f'{item.case_id}: {item.title}')}",
            f"DESCRIPTION:{_escape(f'{item.title} (rule: {item.rule}). Source: {item.source}')}",
            "BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{_escape(f'{item.case_id}: {item.title}')}",
            "TRIGGER:-PT2H", "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
