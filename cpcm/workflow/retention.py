"""Retention of closed cases (IAG Record Keeping [L687] [L948]): a closed record is stored securely
for a defined retention period, whose length the country's law and the agency's protocols set.
The policy's `retention.closed_for` is that period (cpcm's default; the agency sets its own).

When it has ended, counted from the closure's approval (or the transfer out of the agency, for a
transferred case), a manager decides (`cpcm retention`): keep the case longer until a date, with a
reason (the question comes back on that date), or restrict it, so that only the managers and the
agency's recovery keys read its current records. Records are append-only and git keeps every
version, so the end of a retention period never deletes anything (docs/security.md#retention).

Pure: the folded case, the policy and `now`; no I/O.
"""
from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.durations import Duration, parse_duration
from cpcm.domain.policy import Policy
from cpcm.domain.dates import parse_datetime

RULE = "retention"
CODE = "retention-ended"  # `cpcm due`'s item (managers only) and `cpcm check`'s warning
TITLE = "retention period: decide: keep or restrict"
OPEN_CODE = "restricted-open"  # `cpcm due`'s item (managers only) and `cpcm check`'s problem: an open case still restricted
OPEN_TITLE = "restricted case is open: give it to a worker"
# `cpcm due`'s item (managers only), `cpcm check CASE`'s problem and `cpcm verify`'s: the case's `recipients` file (its
# `# restricted` line) says other than its records (`restricted`), one text from `mismatch_why`
MISMATCH_CODE = "restriction-mismatch"
MISMATCH_TITLE = "restriction: the recipients file and the records disagree: a manager writes the file again"
KEEP, RESTRICT = "keep", "restrict"
DECISIONS = (KEEP, RESTRICT)
# the states the retention report counts, by the year of closure
WITHIN, ENDED, KEPT, RESTRICTED = "within", "ended", "kept", "restricted"
STATES = (WITHIN, ENDED, KEPT, RESTRICTED)


def closed_for(policy: Policy) -> Duration | None:
    """The retention period of the policy (`retention.closed_for`), None where it has none."""
    value = policy.get(RULE, "closed_for")
    return parse_duration(value) if value is not None else None


def ended_at(case: Case) -> str | None:
    """When the case stopped being this agency's open case (UTC text): its closure's approval (or an
    immediate closure) for a closed case, its transfer out for a transferred one; None for a case
    that is open (a reopened case included: it is not closed)."""
    if case.status == "closed":
        return case.last("closed")
    if case.status == "transferred":
        return case.last("transfer")
    return None


def decision(case: Case) -> Mapping | None:
    """The manager's decision on the case's retention made since it closed (`Case.retention`), or None."""
    found, closed = case.retention, ended_at(case)
    if not found or not closed or parse_datetime(found["at"]) < parse_datetime(closed):
        return None
    return found


def period_end(case: Case, policy: Policy, zone: tzinfo) -> datetime | None:
    """When the retention period of a closed or transferred case ends (in `zone`); None for an open case."""
    closed, period = ended_at(case), closed_for(policy)
    if closed is None or period is None:
        return None
    return period.after(parse_datetime(closed).astimezone(zone))


def kept_until(case: Case, zone: tzinfo) -> datetime | None:
    """The start of the day a manager kept the case until (`--keep-until`), in `zone`; None where not kept."""
    found = decision(case)
    if not found or found.get("decision") != KEEP or not found.get("until"):
        return None
    return datetime.combine(date.fromisoformat(str(found["until"])), time(0, 0), tzinfo=zone)


def restricted(case: Case) -> bool:
    """Whether the case is restricted to the managers: the one rule. A restriction stands from a
    manager's restrict decision (`cpcm retention --restrict`) until the case is next assigned to a
    worker (`cpcm assign --worker`, the assignment that rewrites its `recipients` file without the
    `# restricted` line); a reopening, or a closure again, does not end it (`Case.restriction`, the fold's).
    The retention item, `cpcm check`, `report retention`, `cpcm retention` and `restricted-open` read it."""
    return case.restriction is not None


def left_to_no_manager(readers: Mapping[str, Iterable[str]], managers: Iterable[str], leaving: str) -> list[str]:
    """The cases restricted to the managers (`readers`: each one's readers, its `recipients` file's) that the
    manager `leaving` reads and no other active manager (`managers`) does: once `leaving` is off the team
    (`cpcm team remove`, `team revoke`), only the agency's recovery keys would read them, or nobody where the
    agency has none, and no worker could give them to anyone (service/team.py refuses it:
    `team-last-manager`). Sorted case IDs."""
    others = set(managers) - {leaving}
    return sorted(case_id for case_id, ids in readers.items() if leaving in set(ids) and not others & set(ids))


def restricted_open(case: Case) -> bool:
    """An open case that stands restricted (`restricted`): reopened by a manager and not given to a
    worker yet, or reopened on one copy while restricted on another (a sync keeps the restriction).
    Nobody but the managers reads it, and its worker holds none of its deadlines: a manager gives it
    to a worker (`OPEN_CODE`)."""
    return case.status == "open" and restricted(case)


def restricted_open_why(case: Case) -> str:
    """What the `restricted-open` item and problem say (case ID only)."""
    return (f"restricted to the managers (cpcm retention) and open: nobody else reads it and its deadlines are no worker's; "
            f"give it to a worker: cpcm assign {case.id} --worker W")


def mismatch(case: Case, line: bool) -> bool:
    """Whether the `# restricted` line of the case's `recipients` file (`line`: layout.restricted_from of it) says
    other than its records (`restricted`, the one rule): a sync merged by a worker who could not read the case picked
    one copy's line, or the file was written by hand. Only a manager puts it right (`mismatch_why`)."""
    return restricted(case) != line


def mismatch_why(case: Case, line: bool) -> str:
    """What `cpcm due`'s item, `cpcm check`'s problem and `cpcm verify`'s say of a `mismatch` (case ID and worker id
    only): which way it goes, and the command a manager runs, which writes the file as the records have it: the
    assignment to its worker where the records ended the restriction, the restriction again where they hold it."""
    # the file by its case, not its path: where a case's folder is, is the store's (store/layout.py `case_rel`)
    if line:
        worker = case.worker
        said = (f"the recipients file of {case.id} says restricted to the managers (cpcm retention) but its records say the restriction ended with "
                f"its assignment{' to ' + worker if worker else ''}: its worker cannot read it")
        given = f"cpcm assign {case.id} --worker {worker or 'W'}"
    else:
        said = (f"its records say {case.id} is restricted to the managers (cpcm retention) but its recipients file does not: more than "
                "the managers may read it")
        given = f"cpcm retention {case.id} --restrict --reason ..."
    return (f"{said} (a sync merged by a worker who could not read the case); a manager runs {given}, which writes the "
            "file as the records have it")


def due_at(case: Case, policy: Policy, zone: tzinfo) -> datetime | None:
    """When a manager has to decide on the case: the end of its retention period, or the day it
    was kept until; None for an open case, or one restricted since it closed (nothing more to decide)."""
    if restricted(case):
        return None
    end = period_end(case, policy, zone)
    if end is None:
        return None
    kept = kept_until(case, zone)
    return kept if kept is not None else end


def state(case: Case, policy: Policy, now: datetime) -> str | None:
    """The case's place in its retention (`STATES`), None for an open case."""
    zone = now.tzinfo
    end = period_end(case, policy, zone)
    if end is None:
        return None
    if restricted(case):
        return RESTRICTED
    kept = kept_until(case, zone)
    if kept is not None and now < kept:
        return KEPT
    return ENDED if now >= (kept or end) else WITHIN


def why(case: Case, policy: Policy, now: datetime) -> str:
    """What the item says: from when and why a manager decides, and the two commands (case ID only).
    The period "ends" on its day while `now` is before it (`cpcm due --within` lists it ahead) and
    "ended" from then on; `now` is only compared, so the item's text is kept as its time allows
    (workflow/intervals.py)."""
    zone = now.tzinfo
    period, kept = closed_for(policy), kept_until(case, zone)
    end = period_end(case, policy, zone)
    what = "transferred" if case.status == "transferred" else "closed"
    closed = parse_datetime(ended_at(case) or "").astimezone(zone).date().isoformat()
    tense = "ended" if end is not None and now >= end else "ends"
    said = (f"kept until {kept.date().isoformat()} by a manager's decision" if kept is not None
            else f"its retention period ({period.words() if period else '?'}) {tense} {end.date().isoformat() if end else '?'}")
    return (f"{what} {closed}; {said}: a manager keeps it longer (cpcm retention {case.id} --keep-until DATE --reason ...) "
            f"or restricts it to the managers (cpcm retention {case.id} --restrict --reason ...)")
