"""The age limit (the policy's child_age_limit, IAG §1: a child is under 18) and whether a child
has reached it on a day: one rule for the turning-18 item of `cpcm due`, `cpcm check`
(reached-18-without-justification, closed-reached-18-under-age) and a closure for reached_18
(`transitions.closure_age_problem`); and a date of birth after the day registered (`born_after`).
Pure: the day is given."""
from __future__ import annotations

from datetime import date, tzinfo
from typing import Any, Mapping

from cpcm.domain.dates import local_day
from cpcm.domain.records import get_path
from cpcm.errors import N_, FieldError, in_english

# Translators: a date of birth after the day the case was registered (its field is named before it, never a date);
# %(registered)s is how that day was given: an option (--at) or a column, kept as they are, or the words below.
BORN_AFTER = N_("is after the date of registration (%(registered)s): a child is registered on or after the day they were "
                "born; correct whichever of the two is wrong")
# Translators: how the day a case was registered was given, in BORN_AFTER: by the case's registration as it stands,
# and by a registration's time as corrected.
BY_REGISTRATION = N_("the case's registration")
BY_REGISTRATION_TIME = N_("the registration's time")


def age_limit(policy) -> int:
    """The age a child is under (child_age_limit.years, IAG §1), 18 where the policy says none."""
    return int(policy.get("child_age_limit", "years", 18))


def of_age(case, years: int, day: date) -> bool | None:
    """Whether the child of `case` is `years` or older on `day`: from the day they turn it
    (`Case.turns`: one born on 29 February turns it on the 28th in a common year), by the date of
    birth the case holds, known or estimated. None when the case holds neither."""
    birthday = case.turns(years)
    return None if birthday is None else day >= birthday


def born_after(body: Mapping[str, Any], day: date, registered: str, say=in_english) -> FieldError | None:
    """A registration (`body`, validated) whose date of birth is after `day`, the day it is dated
    (`cpcm register --at`, an import's date of admission): a child is registered once born, so one
    of the two dates is wrong (a year typed wrong, or day and month read the wrong way round).
    Refused at `cpcm register` and `cpcm import cases` alike, and by `cpcm update` and `cpcm correct`
    (service/cases.py `born_after_registered`); a case that holds one, written before, is reported by
    `cpcm check` (`registered_before_birth`). The date of birth named (by its field; the import names
    it by its column), never either date. `registered`: how the day was given, as said; the reason in the
    language of `say` (`Wording.say`; English by default)."""
    born = get_path(body, "child.date_of_birth")
    if not born or date.fromisoformat(str(born)[:10]) <= day:
        return None
    return FieldError("child.date_of_birth", say(BORN_AFTER) % {"registered": registered})


def registered_before_birth(case, zone: tzinfo | None, say=in_english, body: Mapping[str, Any] | None = None,
                            day: date | None = None, given_by: str = BY_REGISTRATION) -> FieldError | None:
    """`born_after` for what `case` holds: its date of birth in force (the registration as updated)
    against the day it was registered (`registered_at`, in the agency's `zone`; a CCI child's date
    of admission). Written before `cpcm update` and `cpcm correct` refused it, or brought by a sync
    from a copy that did not: `cpcm check`'s `born-after-registration`. None where the case holds
    no date of birth, or none after that day. `body` and `day`: a registration as an update or a
    correction would leave it, and its day as corrected (`given_by`: how that day was given, a
    message marked for the catalogs). In the language of `say` (`Wording.say`; English by default)."""
    if day is None and not case.registered_at:
        return None
    return born_after(case.registration or {} if body is None else body,
                      day or date.fromisoformat(local_day(case.registered_at, zone)), say(given_by), say)
