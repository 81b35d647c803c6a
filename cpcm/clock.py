"""The clock and the agency's time zone: the system's clock, or $CPCM_NOW for reproducible runs.

Only the shell (service and CLI) reads the clock; the domain and workflow take `now` (and a
zone, where they need one) as arguments.

The agency's time zone is `timezone` in `.cpcm/config.yaml` (an IANA name such as
Africa/Nairobi, set by `cpcm init`). A repository without it uses the system's zone ($TZ or
/etc/localtime), else UTC. A $CPCM_NOW or an --at without an offset is read in that zone.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from cpcm.domain.dates import parse_datetime
from cpcm.errors import UsageError

__all__ = ["agency_zone", "check_zone_name", "commit_date", "fixed", "iso", "now", "parse_datetime", "system_zone_name"]


def check_zone_name(name: str, field: str = "timezone") -> tzinfo:
    """The zone of an IANA name ('Africa/Nairobi', 'UTC'), or UsageError naming `field`."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = (name or "").strip()
    try:
        if not text or text.startswith(("/", ".")) or ".." in text:
            raise ValueError(text)
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(f"{field}: not a known IANA time zone name",
                         "Use a name such as Africa/Nairobi, Africa/Kampala or UTC (see the tz database).") from None


def system_zone_name() -> str:
    """The system's IANA time zone name: $TZ, else where /etc/localtime points, else
    /etc/timezone, else UTC."""
    from zoneinfo import ZoneInfo

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    for name in candidates:
        if not name or name.startswith(("/", ".")) or ".." in name:
            continue
        try:
            ZoneInfo(name)
        except Exception:  # noqa: BLE001 - not a zone name this system knows
            continue
        return "UTC" if name in ("Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu") else name
    return "UTC"


def agency_zone(name: str | None) -> tzinfo:
    """The zone of the agency's `timezone` setting; without one, the system's zone, else UTC."""
    if name:
        return check_zone_name(name, ".cpcm/config.yaml timezone")
    try:
        return check_zone_name(system_zone_name())
    except UsageError:
        return timezone.utc


# what $CPCM_NOW may be: a year 1 or 9999 left no room for a deadline or a period; and it dates cpcm's commits
# (`commit_date`), which git dates from 1970 (a time in 1971, in any zone, is after 1970 began in UTC)
FIXED_YEARS = (1971, 2999)


def now(zone: tzinfo | None = None) -> datetime:
    """The current time, aware, in `zone` (the agency's; None: the system's local offset).
    $CPCM_NOW overrides the system clock; without an offset it is read in `zone`."""
    fixed = os.environ.get("CPCM_NOW")
    if fixed:
        moment = parse_datetime(fixed, "CPCM_NOW", zone or agency_zone(None))
        if not FIXED_YEARS[0] <= moment.year <= FIXED_YEARS[1]:  # the deadlines, periods and ages counted from it stay dates
            raise UsageError(f"CPCM_NOW: is not a time from the year {FIXED_YEARS[0]} to {FIXED_YEARS[1]} (the value is not repeated here)",
                             "Use for example 2026-11-23 or 2026-11-23T14:30:00+03:00, or unset it to use the computer's clock.")
        return moment.astimezone(zone) if zone is not None else moment
    return datetime.now(timezone.utc).astimezone(zone)


def fixed() -> bool:
    """Whether the time comes from $CPCM_NOW rather than the computer's clock."""
    return bool(os.environ.get("CPCM_NOW"))


def commit_date(moment: datetime) -> datetime | None:
    """What a command's commits are dated (store/git.py `Git.dated`): `moment`, the command's time, when
    it comes from $CPCM_NOW, so that a run through weeks or months dates its commits as it dates its
    records and the team file (a removal, a key's revocation: a signature is judged by its commit's date);
    None, the computer's clock as each commit is made, otherwise."""
    return moment if fixed() else None


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
