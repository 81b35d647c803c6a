"""Durations as the policy writes them: ``24h``, ``7d``, ``2w``, ``3mo``, ``2y``, ``same_day``.

Months and years are calendar months (31 January + 1mo = 28/29 February). ``same_day`` ends
at midnight at the end of the day it starts ("before the child leaves your care").
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta

_PART = re.compile(r"(\d+)\s*(mo|min|h|d|w|y)")
_UNITS = {"min": "minutes", "h": "hours", "d": "days", "w": "weeks", "mo": "months", "y": "years"}


@dataclass(frozen=True)
class Duration:
    months: int = 0
    days: int = 0
    minutes: int = 0
    same_day: bool = False
    text: str = ""

    def __post_init__(self) -> None:
        try:
            step = timedelta(days=self.days, minutes=self.minutes)  # what `after` adds to the months
        except OverflowError:  # longer than any calendar: `after` says so (OverflowError), as it always did
            step = None
        object.__setattr__(self, "_step", step)

    def after(self, start: datetime) -> datetime:
        if self.same_day:
            return datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), tzinfo=start.tzinfo)
        moment = add_months(start, self.months) if self.months else start
        return moment + (self._step if self._step is not None else timedelta(days=self.days, minutes=self.minutes))

    def __str__(self) -> str:
        return self.text

    def words(self) -> str:
        """For people: '72 hours', '3 months', 'the same day'."""
        if self.same_day:
            return "the same day"
        if type(self.text) is str:
            return _words(self.text)
        return _words_of(self.text)


@lru_cache(maxsize=256)
def _words(text: str) -> str:
    return _words_of(text)


def _words_of(text) -> str:
    parts = []
    for number, unit in _PART.findall(text):
        name = _UNITS[unit]
        parts.append(f"{number} {name[:-1] if number == '1' else name}")
    return " ".join(parts) or "0 days"


def parse_duration(text) -> Duration:
    """ValueError with the reason when `text` is not a duration (negative ones included)."""
    return _parse(str(text))


@lru_cache(maxsize=256)
def _parse(text: str) -> Duration:
    raw = text.strip().lower()
    if raw in ("same_day", "same day"):
        return Duration(same_day=True, text="same_day")
    if raw.startswith("-"):
        raise ValueError("is negative; a duration is 0 or more")
    compact = raw.replace(" ", "")
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError("is not a duration (write e.g. 24h, 7d, 2w, 3mo, 2y or same_day)")
    months = days = minutes = 0
    for number, unit in parts:
        n = int(number)
        if unit == "y":
            months += 12 * n
        elif unit == "mo":
            months += n
        elif unit == "w":
            days += 7 * n
        elif unit == "d":
            days += n
        elif unit == "h":
            minutes += 60 * n
        else:
            minutes += n
    return Duration(months=months, days=days, minutes=minutes, text=compact)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = moment.day
    if day > 28:  # the month may be shorter
        last = 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]
        day = min(day, last)
    return moment.replace(year=year, month=month, day=day)
