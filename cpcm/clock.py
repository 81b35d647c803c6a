"""The clock: the system's, or $CPCM_NOW for reproducible runs.

Only the shell (service and CLI) reads the clock; the domain and workflow take `now`.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

from cpcm.domain.dates import parse_datetime

__all__ = ["iso", "now", "parse_datetime"]


def now() -> datetime:
    """The current time, aware; $CPCM_NOW overrides the system clock."""
    fixed = os.environ.get("CPCM_NOW")
    if fixed:
        return parse_datetime(fixed, "CPCM_NOW")
    return datetime.now(timezone.utc).astimezone()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
