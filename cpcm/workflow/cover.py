"""Cover for a colleague: a worker who reads and writes a case for a period (leave, say) without
the case being taken from its worker. Pure: `now` is an argument.

A cover is granted by a `cover` record (who covers, until when) and shows in the case's plaintext
`recipients` file as a comment line, `# cover: WORKER until TIME`, so that the readers of every
case can be kept right (`cpcm team sync`, the next write to the case, a sync's merge, `cpcm
verify`) without decrypting it. Once its time has passed, the covering worker is taken off the case's readers.
"""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Iterable, Mapping

from cpcm.domain.dates import due_at
from cpcm.domain.team import Team

KIND = "cover"


def ends(until: Any, zone: tzinfo) -> datetime:
    """When a cover ends: a date alone ('--until 2026-03-01') is the end of that day in the
    agency's zone; a date-time is itself."""
    return due_at(until, zone)


def in_force(covers: Mapping[str, str], now: datetime) -> dict[str, str]:
    """The covers (worker id -> until, ISO text) whose time has not passed at `now`."""
    out = {}
    for worker, until in covers.items():
        try:
            if ends(until, now.tzinfo) > now:
                out[worker] = until
        except ValueError:
            continue  # an unreadable end is no cover
    return out


def shortens(covers: Mapping[str, str], worker: str, until: datetime, now: datetime) -> bool:
    """Whether giving `worker` a cover ending at `until` only keeps or shortens one they hold at `now`
    (the cover given again with an end no later than the one in force): nothing more of the case's
    work is given to them, so what their cadre may hold does not stand against it."""
    current = in_force(covers, now).get(worker)
    if current is None:
        return False
    try:
        return until <= ends(current, now.tzinfo)
    except ValueError:
        return False


def access(team: Team, worker: str | None, covers: Mapping[str, str], now: datetime,
           restricted: bool = False) -> tuple[list[str], dict[str, str]]:
    """Who reads a case, and the covers its `recipients` file keeps: its worker, the colleagues
    whose cover is in force at `now` (active team members, not the case's own worker), then every
    supervisor and manager. A cover whose time has passed, of a worker no longer in the team, or
    of the worker the case is now assigned to, is left out of both. Every change of a case's
    readers works them out here: a write, an assignment, a cover, a team change, a sync.
    `restricted`: a closed case a manager restricted once its retention ended (workflow/retention.py):
    the active managers only, and no cover."""
    if restricted:
        return managers(team), {}
    kept = {w: until for w, until in in_force(covers, now).items() if w != worker and team.get(w) is not None}
    return team.case_readers(([worker] if worker else []) + list(kept)), kept


def managers(team: Team) -> list[str]:
    """The active managers: the readers of a restricted case (`access`) and of its strictly
    confidential entries (workflow/confidential.py `readers`)."""
    return team.managers()


def readers(team: Team, worker: str | None, covers: Mapping[str, str], now: datetime) -> list[str]:
    """The worker ids who read a case (`access`)."""
    return access(team, worker, covers, now)[0]


def covering(covers: Mapping[str, str], worker: str, now: datetime) -> bool:
    """Whether `worker` covers the case at `now`."""
    return worker in in_force(covers, now)


def problems(team: Team, case_worker: str | None, cover_worker: str, until: datetime, now: datetime) -> list[tuple[str, str]]:
    """What stops `cover_worker` covering a case until `until`: (field, why) pairs."""
    out = []
    member = team.get(cover_worker)
    if member is None:
        out.append(("cover", "is not an active worker of the team (cpcm team list)"))
    elif cover_worker == case_worker:
        out.append(("cover", "is the case's own worker"))
    elif member.has_role("supervisor", "manager"):
        out.append(("cover", "is a supervisor or manager, who reads every case already"))
    if until <= now:
        out.append(("until", "has passed: a cover ends in the future"))
    return out


def latest_covers(records: Iterable[Any]) -> list[dict]:
    """Each cover recorded on a case (the latest per worker), as data: worker, until, at, by."""
    latest: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: r.id):
        if record.kind == KIND and record.body.get("worker"):
            latest[str(record.body["worker"])] = {"worker": str(record.body["worker"]), "until": record.body.get("until"),
                                                   "record_id": record.id, "at": record.at, "by": record.by}
    return list(latest.values())
