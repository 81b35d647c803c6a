"""Dates and times as cpcm stores and reads them. Pure: no clock here (`cpcm.clock.now` is the
shell's); every function takes the value it works on."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from cpcm.errors import UsageError


def parse_datetime(text: str, field: str = "date") -> datetime:
    """An ISO 8601 date or date-time; a date means midnight, a naive time means UTC. The error
    names `field`, never the value typed."""
    value = text.strip()
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{field}: not an ISO 8601 date or date-time (the value is not repeated here)",
            "Use for example 2026-11-23 or 2026-11-23T14:30:00+03:00.",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def as_date(value: Any) -> date:
    """A date from a date, a date-time or an ISO string ('2026-12-01', '2026-12-01T09:00+03:00'):
    the date as written (a date-time's own day, not converted to UTC). ValueError naming the
    type, never the value."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ValueError(f"not a date: a {type(value).__name__}")
