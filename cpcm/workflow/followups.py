"""The next follow-up of a case, as the worker plans it (inter-agency guidelines, Step 5 [L903-919]:
the frequency of follow-up depends on the child's needs, for example daily phone calls for a child
placed in a safe house, less often as things improve; the follow-up record holds the next
follow-up date and the planned frequency). Pure: the fold keeps the plan, `deadlines` puts it on
`cpcm due`.

A follow-up may say how often to follow the case up (`followup_every`: a duration such as 1d, 2w
or 1mo; `none` stops it) and when the next one is (`next_followup`: a date). The frequency stays
in force until a later follow-up changes it; a date holds for the next follow-up only. The next
follow-up is due at the end of the planned date, or, with no date, a frequency after the latest
follow-up; any later follow-up meets it and plans the next in turn.
"""
from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, Callable, Mapping

from cpcm.domain.dates import end_of_day
from cpcm.domain.durations import parse_duration
from cpcm.errors import N_

EVERY, NEXT = "followup_every", "next_followup"  # the follow-up form's fields
BY_TRANSFER = "transfer_request"  # a plan (`planned`) made by a transfer request's next_followup (Kenya Form 10A)
BY_RECEIVED = "transfer_in"  # one made by the transfer form a case arrived with from another agency (the same field)
STOP = "none"  # `followup_every: none`: no frequency any more
PLANNED = "followup_planned"  # the fold's event: a follow-up that planned the next one (clocks.py)


def planner(plan: Mapping[str, Any], day: str) -> str:
    """What made a follow-up plan, as a sentence names it, `day` its date: the follow-up of that day, or
    the transfer request (BY_TRANSFER) or the transfer form received (BY_RECEIVED) that planned it."""
    return {BY_TRANSFER: f"the transfer request of {day}", BY_RECEIVED: f"the transfer form received on {day}"}.get(
        plan.get("by"), f"the follow-up of {day}")


def problems(body: Mapping[str, Any], day: str, is_open: bool, before: Mapping[str, Any] | None = None,
             say: Callable[[str], str] = lambda message: message) -> list[tuple[str, str]]:
    """What is wrong with the next follow-up a follow-up of `body` plans, as (field, why): a
    frequency that is not one (`every_problem`), a date before the follow-up's own day (`day`,
    YYYY-MM-DD in the agency's zone), or either on a case that is not open. Both `cpcm followup`
    and `cpcm correct` of a follow-up ask it; a correction gives the record as it was (`before`):
    a plan it keeps as it was is no new plan of a closed case. `say`: the repository's language's words
    (`Wording.say`) a frequency that is not one is refused in."""
    out = []
    every, upcoming = body.get(EVERY), body.get(NEXT)
    if every is not None and (problem := every_problem(every, say)):
        out.append((EVERY, problem))
    if upcoming and str(upcoming)[:10] < day:
        out.append((NEXT, f"is before this follow-up ({day}): the next one comes after it"))
    changed = before is None or (every, upcoming) != (before.get(EVERY), before.get(NEXT))
    if not is_open and changed and (every is not None or upcoming):
        out.append((EVERY if every is not None else NEXT,
                    "plans follow-ups of a closed case: reopen it first (cpcm reopen CASE --reason ...)"))
    return out


# Translators: a frequency of follow-up typed as no duration; 1d, 2w, 1mo and %(stop)s (none) are typed as they are.
NOT_A_FREQUENCY = N_("is not a frequency: write days, weeks or months (1d, 2w, 1mo), or %(stop)s to stop following up at a set "
                     "frequency")
LESS_THAN_A_DAY = N_("is less than a day: follow up at least a day apart (1d), or give the date of the next one (next_followup)")


def every_problem(value: Any, say: Callable[[str], str] = lambda message: message) -> str | None:
    """Why `value` is not a frequency of follow-up (a duration of at least a day, or `none`), or None;
    in the language of `say` (`Wording.say`)."""
    text = str(value).strip().lower()
    if text == STOP:
        return None
    try:
        duration = parse_duration(text)
    except ValueError:
        return say(NOT_A_FREQUENCY) % {"stop": STOP}
    if duration.same_day or (duration.months == 0 and duration.days == 0):
        return say(LESS_THAN_A_DAY)
    return None


def planned(plan: Mapping[str, Any] | None, body: Mapping[str, Any], at: str, record_id: str) -> Mapping[str, Any] | None:
    """The plan after a follow-up of `body` at `at` (UTC): None while none was ever planned; a
    follow-up dated before the one that planned the latest leaves it as it is."""
    if plan is not None and at < plan["at"]:
        return plan
    every = body.get(EVERY)
    every = (plan or {}).get("every") if every is None else (None if str(every).strip().lower() == STOP else str(every))
    upcoming = str(body.get(NEXT) or "")[:10] or None
    if every is None and upcoming is None and plan is None:
        return None
    return {"every": every, "next": upcoming, "at": at, "record_id": record_id}


def due(plan: Mapping[str, Any] | None, latest: str | None, zone: tzinfo) -> datetime | None:
    """When the next follow-up is due: the end of the planned day until a follow-up after the one
    that planned it (`latest`: the case's latest follow-up, UTC, of any date order) meets it; a
    frequency after the latest follow-up; None when nothing is planned (or a record holds a value
    that is not one: written by hand, it plans nothing rather than stopping every list)."""
    if not plan:
        return None
    since = max(plan["at"], latest or plan["at"])
    try:
        if plan.get("next") and since == plan["at"]:
            return end_of_day(date.fromisoformat(str(plan["next"])[:10]), zone)
        if plan.get("every") and not every_problem(plan["every"]):
            return parse_duration(plan["every"]).after(datetime.fromisoformat(since).astimezone(zone))
    except ValueError:
        return None
    return None


def words(plan: Mapping[str, Any]) -> str:
    """How often and when, for people: 'every 2 weeks', 'every 2 weeks, the next on 2026-12-01',
    'the next on 2026-12-01' (codes and dates only)."""
    often = f"every {parse_duration(plan['every']).words()}" if plan.get("every") and not every_problem(plan["every"]) else ""
    upcoming = f"the next on {str(plan['next'])[:10]}" if plan.get("next") else ""
    return ", ".join(part for part in (often, upcoming) if part)
