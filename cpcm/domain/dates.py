"""Dates and times as cpcm stores and reads them. Pure: no clock here (`cpcm.clock.now` is the
shell's); every function takes the value it works on."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Iterable, Mapping

from cpcm.errors import UsageError


def parse_datetime(text: str, field: str = "date", zone: tzinfo | None = None) -> datetime:
    """An ISO 8601 date or date-time; a date means midnight, and a date or a time without an
    offset is read in `zone` (the agency's time zone; UTC when none is given). The error names
    `field`, never the value typed."""
    value = text.strip()
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from cpcm.domain.forms import date_problem, not_a_date  # as a form's date field says it

        # a day the calendar does not have (2026-02-31), or a time of day that is none, is said as such; else the shape
        why = (not_a_date(value, allow_time=True) if date_problem(value) != "shape"
               else "is not a date or a date-time (use YYYY-MM-DD, or YYYY-MM-DDTHH:MM with the time)")
        raise UsageError(f"{field}: {why} (the value is not repeated here)",
                         "Use for example 2026-11-23 or 2026-11-23T14:30:00+03:00.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone or timezone.utc)
    return parsed


def is_date_only(text: Any) -> bool:
    """Whether a stored value is a date without a time ('2026-02-20')."""
    if isinstance(text, datetime):
        return False
    if isinstance(text, date):
        return True
    return isinstance(text, str) and len(text.strip()) == 10


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """The last second of `day` in `zone`: when a deadline given as a date alone falls due."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def due_at(value: Any, zone: tzinfo) -> datetime:
    """A deadline as stored, as a moment in `zone`: a date alone ('by 2026-02-20') falls due at
    the end of that day in `zone` (23:59:59 local, not midnight UTC); a date-time is itself,
    in `zone`. ValueError naming the type, never the value."""
    if is_date_only(value):
        return end_of_day(as_date(value), zone)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not a date-time: a {type(value).__name__}") from None
    else:
        raise ValueError(f"not a date-time: a {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def date_after(day: date, delta: timedelta, zone: tzinfo) -> datetime:
    """The end of the local day `delta` after `day`: a period counted from a date alone (a
    service started on 14 January, expected to take two weeks, ends at the end of 28 January)."""
    return end_of_day(day + delta, zone)


def local(value: Any, zone: tzinfo | None) -> datetime:
    """A stored time (ISO text or a datetime) in `zone` (unchanged when `zone` is None); a stored
    date alone is midnight of that day in `zone`."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if len(text) != 10 else \
            datetime.combine(date.fromisoformat(text), time(0, 0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone or timezone.utc)
    return moment.astimezone(zone) if zone is not None else moment


def offset_text(moment: datetime) -> str:
    """The UTC offset of an aware moment as people read it: '+03:00', '-05:00', '+00:00'."""
    text = moment.strftime("%z") or "+0000"
    return f"{text[:3]}:{text[3:5]}"


def local_text(value: Any, zone: tzinfo | None, seconds: bool = False) -> str:
    """A time for people: local in `zone`, with its offset ('2026-02-20 23:59 +03:00'), never
    UTC presented as local. Empty for an empty value; a value that is no time is returned as
    it is (it is text a person typed)."""
    if value in (None, ""):
        return ""
    try:
        moment = local(value, zone)
    except (TypeError, ValueError):
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " " + offset_text(moment)


def local_day(value: Any, zone: tzinfo | None) -> str:
    """The day of a stored time in `zone` ('2026-10-25' for 2026-10-24T21:00:00+00:00 in Nairobi),
    never the day in UTC; a stored date alone is that date. Empty for an empty value; a value that
    is no time is returned as it is."""
    if value in (None, ""):
        return ""
    try:
        return local(value, zone).date().isoformat()
    except (TypeError, ValueError):
        return str(value)


def local_iso(value: Any, zone: tzinfo | None) -> str:
    """A stored time as ISO 8601 in `zone`, with its offset, to the second ('' when empty)."""
    if value in (None, ""):
        return ""
    try:
        return local(value, zone).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return str(value)


def before_latest(moment: datetime, times: Iterable[Any]) -> str | None:
    """The latest of `times` (stored ISO texts) when `moment` is earlier than it, else None: the
    clock ($CPCM_NOW) or an --at going back before what a case already holds."""
    latest, latest_text = None, None
    for text in times:
        if not text:
            continue
        try:
            when = local(text, moment.tzinfo)
        except (TypeError, ValueError):
            continue
        if latest is None or when > latest:
            latest, latest_text = when, str(text)
    if latest is not None and moment < latest:
        return latest_text
    return None


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


def json_time(value: Any, zone: tzinfo | None) -> Any:
    """A stored time as `--json` gives it: ISO 8601 in `zone` with its offset (`local_iso`);
    no time (None) stays null."""
    return None if value is None else local_iso(value, zone)


def json_times(value: Any, zone: tzinfo | None) -> Any:
    """`value` (mappings and lists, as `--json` gives the parts of a case) with every time kept
    under an `at` key or a `..._at` key given as `json_time` gives it: one zone and offset
    across a document, whatever offset each time was typed with. Other values are as they are."""
    if isinstance(value, Mapping):
        return {key: json_time(item, zone) if (key == "at" or str(key).endswith("_at")) and isinstance(item, (str, datetime))
                else json_times(item, zone) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_times(item, zone) for item in value]
    return value
