"""The age limit (the policy's child_age_limit, IAG §1: a child is under 18) and whether a child
has reached it on a day: one rule for the turning-18 item of `cpcm due`, `cpcm check`
(reached-18-without-justification, closed-reached-18-under-age) and a closure for reached_18
(`transitions.closure_age_problem`). Pure: the day is given."""
from __future__ import annotations

from datetime import date


def age_limit(policy) -> int:
    """The age a child is under (child_age_limit.years, IAG §1), 18 where the policy says none."""
    return int(policy.get("child_age_limit", "years", 18))


def of_age(case, years: int, day: date) -> bool | None:
    """Whether the child of `case` is `years` or older on `day`: from the day they turn it
    (`Case.turns`: one born on 29 February turns it on the 28th in a common year), by the date of
    birth the case holds, known or estimated. None when the case holds neither."""
    birthday = case.turns(years)
    return None if birthday is None else day >= birthday
