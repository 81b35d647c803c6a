"""Over which times a pure rule function gives the same answer, so that its answer can be kept.

A function of the workflow (`deadlines.deadlines`, say) takes `now` as an argument. Most of its
answer does not depend on it at all (a deadline is a time computed from the case's records and
the policy); the rest depends on it only through comparisons (`now < birthday - notice`: the
turning-18 item appears from that moment). `pieces` runs the function with a `now` that notes
every comparison made with it: within the interval those comparisons allow, every run takes the
same branches and so gives the same answer. It then runs the function again at the interval's ends, to cover
the times just after (and before), so one run stores the answer for the whole life of a case's
current state.

Anything else done with `now` (arithmetic, `now.date()`, formatting it, any attribute but
`tzinfo`) makes the answer depend on `now` in a way that is not followed: `pieces` then returns
None and the caller computes the answer each time. The time zone of `now` is part of the
answer (times are given in it): the caller keys what it keeps by it.

Pure: no I/O, no clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

_TICK = timedelta(microseconds=1)  # datetime's resolution: `now <= t` is `now < t + _TICK`


class _Notes:
    __slots__ = ("lo", "hi", "opaque")

    def __init__(self) -> None:
        self.lo: datetime | None = None  # the answer holds for lo <= now < hi (UTC; None: unbounded)
        self.hi: datetime | None = None
        self.opaque = False              # `now` was used other than by comparing it

    def from_(self, moment: datetime) -> None:
        if self.lo is None or moment > self.lo:
            self.lo = moment

    def until(self, moment: datetime) -> None:
        if self.hi is None or moment < self.hi:
            self.hi = moment


def _utc(other: Any) -> datetime | None:
    if type(other) is datetime:  # the usual case: astimezone gives a datetime in timezone.utc itself
        return None if other.utcoffset() is None else other.astimezone(timezone.utc)
    if not isinstance(other, datetime) or other.tzinfo is None or other.utcoffset() is None:
        return None
    return other.astimezone(timezone.utc).replace(tzinfo=timezone.utc)


class _Watched(datetime):
    """A `now` that notes what is done with it (see the module's docstring). Its own attribute
    `tzinfo` is read as a datetime's; every other attribute of a datetime (`_opaque_attribute`,
    set on the class below) and every operation but comparing notes that `now` was used."""

    __slots__ = ("_notes", "_plain")

    def __new__(cls, moment: datetime, notes: _Notes):
        self = datetime.__new__(cls, moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                                moment.microsecond, moment.tzinfo, fold=moment.fold)
        self._notes = notes
        self._plain = moment
        return self

    def _compared(self, op: str, other: Any, result: Any) -> Any:
        at = _utc(other)
        notes = self._notes
        if result is NotImplemented or at is None:
            if result is not NotImplemented and op not in ("==", "!="):
                notes.opaque = True
            return result
        truth = bool(result) if op != "!=" else not result
        if op == "<":
            notes.until(at) if truth else notes.from_(at)
        elif op == ">=":
            notes.from_(at) if truth else notes.until(at)
        elif op == "<=":
            notes.until(at + _TICK) if truth else notes.from_(at + _TICK)
        elif op == ">":
            notes.from_(at + _TICK) if truth else notes.until(at + _TICK)
        elif truth:  # == (or != that was false)
            notes.from_(at)
            notes.until(at + _TICK)
        elif self._plain < other:
            notes.until(at)
        else:
            notes.from_(at + _TICK)
        return result

    def __lt__(self, other):
        return self._compared("<", other, self._plain.__lt__(other))

    def __le__(self, other):
        return self._compared("<=", other, self._plain.__le__(other))

    def __gt__(self, other):
        return self._compared(">", other, self._plain.__gt__(other))

    def __ge__(self, other):
        return self._compared(">=", other, self._plain.__ge__(other))

    def __eq__(self, other):
        return self._compared("==", other, self._plain.__eq__(other))

    def __ne__(self, other):
        return self._compared("!=", other, self._plain.__ne__(other))

    def _opaque(self) -> datetime:
        self._notes.opaque = True
        return self._plain

    def __hash__(self):
        return hash(self._opaque())

    def __add__(self, other):
        return self._opaque() + other

    def __radd__(self, other):
        return other + self._opaque()

    def __sub__(self, other):
        return self._opaque() - other

    def __rsub__(self, other):
        return other - self._opaque()

    def __str__(self):
        return str(self._opaque())

    def __repr__(self):
        return repr(self._opaque())

    def __format__(self, spec):
        return format(self._opaque(), spec)

    def __reduce__(self):
        return self._opaque().__reduce__()

    def __reduce_ex__(self, protocol):
        return self._opaque().__reduce_ex__(protocol)


def _opaque_attribute(name: str) -> property:
    def read(self: _Watched) -> Any:
        self._notes.opaque = True
        return getattr(self._plain, name)
    return property(read)


for _name in dir(datetime):  # year, date(), astimezone(), isoformat(), ...: all but tzinfo
    if not _name.startswith("_") and _name != "tzinfo":
        setattr(_Watched, _name, _opaque_attribute(_name))
del _name


@dataclass(frozen=True, init=False)
class Piece:
    """`answer` is what the function gives for every `now` with lo <= now < hi (UTC; None: no bound)."""

    lo: datetime | None
    hi: datetime | None
    answer: Any

    def __init__(self, lo: datetime | None, hi: datetime | None, answer: Any):
        # what the frozen dataclass's own __init__ does, in one step (as `deadlines.Deadline`): one
        # piece or more for every case of a fill (tests/test_rules_cheaper.py holds it to the dataclass's)
        object.__setattr__(self, "__dict__", {"lo": lo, "hi": hi, "answer": answer})

    def holds(self, now: datetime) -> bool:
        return (self.lo is None or now >= self.lo) and (self.hi is None or now < self.hi)


def run(function: Callable[[datetime], Any], now: datetime) -> Piece | None:
    """`function(now)` with the interval of `now` over which it gives the same answer; None when
    it used `now` other than by comparing it."""
    notes = _Notes()
    answer = function(_Watched(now, notes))
    if notes.opaque:
        return None
    return Piece(notes.lo, notes.hi, answer)


def pieces(function: Callable[[datetime], Any], now: datetime, reach: timedelta = timedelta(days=366), ahead: int = 3,
           behind: int = 1) -> list[Piece] | None:
    """`function`'s answers around `now`, in time order: the piece holding `now`, then the pieces
    after it that start within `reach` of `now` (at most `ahead`) and the piece before it when it
    ends within `reach` (at most `behind`), each run at the previous piece's end in the zone of
    `now`. A change further away is left for a run nearer to it. None when the function used `now`
    other than by comparing it."""
    first = run(function, now)
    if first is None:
        return None
    found = [first]
    if first.lo is None and first.hi is None:  # the same answer at every time
        return found
    zone = now.tzinfo
    try:
        until, since = now + reach, now - reach
    except OverflowError:
        return found
    while len(found) <= ahead and found[-1].hi is not None and found[-1].hi < until:
        following = run(function, found[-1].hi.astimezone(zone))
        if following is None:
            break
        found.append(following)
    for _ in range(behind):
        if found[0].lo is None or found[0].lo <= since:
            break
        earlier = run(function, (found[0].lo - _TICK).astimezone(zone))
        if earlier is None:
            break
        found.insert(0, earlier)
    return found
