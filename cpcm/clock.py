"""The clock: the system's, or $CPCM_NOW for reproducible runs.

Only the shell (service and CLI) reads the clock; the domain and workflow take `now`.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timezone

from cpcm.errors import UsageError


def parse_datetime(text: str, field: str = "date") -> datetime:
    """An ISO 8601 date or date-time; a date means midnight, a naive time means UTC."""
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


def now() -> datetime:
    """The current time, aware; $CPCM_NOW overrides the system clock."""
    fixed = os.environ.get("CPCM_NOW")
    if fixed:
        return parse_datetime(fixed, "CPCM_NOW")
    return datetime.now(timezone.utc).astimezone()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
