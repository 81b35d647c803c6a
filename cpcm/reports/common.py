"""What the reports share: periods, disaggregation groups, medians, table and chart shapes."""
from __future__ import annotations

import statistics as stats
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from typing import Any, Iterable, Sequence

from cpcm.domain.dates import as_date, parse_datetime

AGE_BANDS = (("0-4", 0, 4), ("5-9", 5, 9), ("10-14", 10, 14), ("15-17", 15, 17))
OVER_AGE = "18+"          # a case kept open past 18 (with a justification); shown only when counted
UNKNOWN = "unknown"
SEX_GROUPS = ("female", "male", "other_or_unknown")  # 'other' and 'unknown' together: too few to show apart
DISABILITY_GROUPS = ("yes", "no", UNKNOWN)
NOT_RATED = "not_rated"


def period_over(end: date, today: date) -> bool:
    """Whether a period whose last day is `end` is over on the day `today` (in the agency's time
    zone): only once that day has passed. On its last day it is not over, the rest of the day
    being still to come. The one rule for every report that says so (a report, a return, a
    combination of returns, each by the day it is made)."""
    return today > end


@dataclass(frozen=True)
class Period:
    """Calendar days, both ends included, in a time zone (the agency's: that of `now`; UTC
    when none is given). An event belongs to the period by its date in that zone."""

    start: date
    end: date
    zone: tzinfo = timezone.utc

    @classmethod
    def of(cls, start, end, zone: tzinfo | None = None) -> "Period":
        first, last = as_date(start), as_date(end)
        if first > last:
            raise ValueError(f"the period starts ({first}) after it ends ({last})")
        return cls(first, last, zone or getattr(start, "tzinfo", None) or timezone.utc)

    def local(self, when: str | datetime) -> datetime:
        return (when if isinstance(when, datetime) else moment(when)).astimezone(self.zone)

    def holds(self, when: str | datetime | None) -> bool:
        return bool(when) and self.start <= self.local(when).date() <= self.end

    def month(self, when: str | datetime) -> str:
        return self.local(when).strftime("%Y-%m")

    def months(self) -> list[str]:
        """'YYYY-MM' for every month the period touches."""
        out, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def to_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def moment(text: str | None) -> datetime | None:
    return parse_datetime(text) if text else None


RECEIVED = "transfer_in"  # the fold's event of a case received from another agency (`cpcm receive`)


def received_at(case) -> datetime | None:
    """When a case received from another agency came here (its latest arrival); None for one
    registered here. THE rule of what the reports count of a received case: only what happened
    since it came (`report statistics` its events, `report timeliness` the clocks that started).
    What happened before was done there (or, for a child sent back, here under its earlier case ID,
    counted under that ID): not this agency's to count again (docs/commands/transfer.md)."""
    return max((when if isinstance(when, datetime) else parse_datetime(when)
                for when in case.events.get(RECEIVED, ()) if when), default=None)


def age_band(age: int | None) -> str:
    if age is None or age < 0:
        return UNKNOWN
    for label, low, high in AGE_BANDS:
        if low <= age <= high:
            return label
    return OVER_AGE


def sex_group(sex: Any) -> str:
    return sex if sex in ("female", "male") else "other_or_unknown"


def disability_group(value: Any) -> str:
    return value if value in ("yes", "no") else UNKNOWN


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(stats.median(values), 1) if values else None


def hours_text(hours: float | None) -> str:
    """'36 h' under 3 days, '4.5 d' up to 2 months, '10 wk' beyond; '' when there is none."""
    if hours is None:
        return ""
    if abs(hours) < 72:
        return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"
    days = hours / 24
    if abs(days) < 60:
        return f"{days:.1f} d"
    return f"{days / 7:.0f} wk"


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def table(table_id: str, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], note: str = "") -> dict:
    """A titled table: the one shape the terminal, Markdown and CSV outputs print."""
    return {"id": table_id, "title": title, "columns": list(columns), "rows": [list(r) for r in rows], "note": note}


def chart(chart_id: str, title: str, bars: Iterable[dict], unit: str = "", maximum: float | None = None,
          reference: dict | None = None, orientation: str = "horizontal") -> dict:
    """Bars for the HTML report: each bar {label, value, text}; a bar whose value is None is
    not drawn (no data), its label still shows."""
    bars = list(bars)
    top = max([b["value"] for b in bars if b["value"] is not None] + [reference["value"] if reference else 0, 0])
    return {"id": chart_id, "title": title, "unit": unit, "bars": bars, "max": maximum if maximum is not None else (top or 1),
            "reference": reference, "orientation": orientation,
            "drawn": len([b for b in bars if b["value"] is not None])}
