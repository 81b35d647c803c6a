"""Supervision sessions, pure: a session as its records stand, who reads it, when each
caseworker's next session is due (the policy's `supervision_cadence`), and whether the team has
enough supervisors for its caseworkers (`supervision_ratio`).

Supervision is confidential and kept apart from performance management (IAG §2 [L588-610]): a
session is read by the worker who held it and the workers supervised in it, never by the whole
team. What the rules here need of a session that the reader cannot open (who took part, when it
was recorded) is what its folder shows without a key.

Must not import: service, store, crypto, cli.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from cpcm.domain.durations import parse_duration
from cpcm.domain.policy import Policy
from cpcm.domain.problems import Problem
from cpcm.domain.records import Record, utc
from cpcm.domain.team import OVERSIGHT, Team, Worker
from cpcm.workflow.clocks import SUPERVISORS
from cpcm.workflow.deadlines import Deadline

KIND = "supervision"  # the record kind of a session (and of its corrections)
KINDS = ("clinical", "support", "operational")  # IAG §2 [L596-600]: the three functions of supervision
CADENCE = "supervision_cadence"
RATIO = "supervision_ratio"
DUE_SUBJECT = "supervision"  # the due item's subject, in place of a case ID (as "conference" for the agency's conferences)
DUE_CODE = "supervision-due"
OVERDUE_CODE = "supervision-overdue"
RATIO_CODE = "supervisor-ratio"
CONTENT = ("discussed", "decisions", "actions", "wellbeing", "operational_issues")


@dataclass(frozen=True)
class Session:
    """A supervision session as its records stand: the last record that no later one supersedes."""
    id: str
    at: str  # when it was held (ISO, UTC)
    held_by: str
    workers: tuple[str, ...]  # who was supervised
    kinds: tuple[str, ...]
    cases: tuple[str, ...]
    body: Mapping[str, Any]  # the standing record's body (the content, and `supersedes`/`reason` of a correction)
    record_id: str  # the standing record
    history: tuple[dict, ...] = field(default=())  # each record: id, at, by, and what it corrects and why

    @property
    def group(self) -> bool:
        return len(self.workers) > 1

    def summary(self) -> dict:
        """What `supervision list` gives of it: who, when, what kind, how many cases; none of what was said."""
        return {"session_id": self.id, "at": self.at, "held_by": self.held_by, "workers": list(self.workers),
                "format": "group" if self.group else "individual", "kinds": list(self.kinds), "cases": len(self.cases),
                "corrected": len(self.history) > 1}

    def to_dict(self) -> dict:
        # every field, None where it was not given or was taken out (stable keys for a script)
        content = {key: self.body.get(key) if self.body.get(key) not in (None, "", []) else None for key in CONTENT}
        return {"session_id": self.id, "at": self.at, "held_by": self.held_by, "workers": list(self.workers),
                "format": "group" if self.group else "individual", "kinds": list(self.kinds), "cases": list(self.cases),
                **content, "record_id": self.record_id, "history": [dict(h) for h in self.history]}


def fold(session_id: str, records: Iterable[Record]) -> Session:
    """The session its records make: the latest record (by ID) that no record supersedes (two
    corrections written on two copies apart: the later one stands; both stay in the history)."""
    ordered = sorted((r for r in records if r.kind == KIND), key=lambda r: r.id)
    if not ordered:
        raise ValueError(f"{session_id} holds no supervision record")
    superseded = {str(r.body.get("supersedes")) for r in ordered if r.body.get("supersedes")}
    standing = [r for r in ordered if r.id not in superseded] or ordered
    record = standing[-1]
    body = dict(record.body)
    history = tuple({"record_id": r.id, "at": r.at, "recorded_at": r.recorded_at, "by": r.by,
                     **({"supersedes": r.body["supersedes"], "reason": r.body.get("reason")} if r.body.get("supersedes") else {})}
                    for r in ordered)
    return Session(session_id, record.at, str(body.get("held_by") or record.by), tuple(body.get("workers") or ()),
                   tuple(body.get("kinds") or ()), tuple(body.get("cases") or ()), body, record.id, history)


def readers(held_by: str, workers: Iterable[str]) -> list[str]:
    """Who reads a session: the worker who held it first, then each worker supervised. Never the
    rest of the team: supervision is confidential (IAG [L610])."""
    out = [held_by]
    out += [w for w in workers if w not in out]
    return out


def may_hold(worker: Worker | None) -> bool:
    """Whether `worker` may record a session they held: a supervisor or a manager."""
    return worker is not None and worker.active and worker.has_role(*OVERSIGHT)


def supervised(worker: Worker) -> bool:
    """Whether the cadence applies to `worker`: an active caseworker who is not also a supervisor
    or manager (who is supervised too, but by no rule of the profiles)."""
    return worker.active and worker.has_role("caseworker") and not worker.has_role(*OVERSIGHT)


def cadence(policy: Policy) -> tuple[Any, bool]:
    """How often each caseworker is supervised (a Duration, or None) and whether it is on the due list."""
    block = policy.rules.get(CADENCE) or {}
    every = block.get("every")
    return (parse_duration(every) if every else None), bool(block.get("required"))


def last_sessions(sessions: Iterable[tuple[datetime, str, str, Iterable[str]]]) -> dict[str, tuple[datetime, str, str]]:
    """Each supervised worker's latest session: worker id -> (when, session id, who held it), from
    (when, session id, held by, workers) of every session."""
    out: dict[str, tuple[datetime, str, str]] = {}
    for when, session_id, held_by, workers in sessions:
        for worker in workers:
            if worker == held_by:
                continue
            if worker not in out or when > out[worker][0]:
                out[worker] = (when, session_id, held_by)
    return out


def joined(worker: Worker) -> datetime | None:
    """When a worker joined the team (their `since`); None where the team file records none."""
    try:
        return datetime.fromisoformat(utc(worker.since)) if worker.since else None
    except ValueError:
        return None


def cadence_due(team: Team, last: Mapping[str, tuple[datetime, str, str]], policy: Policy, now: datetime,
                profile_since: datetime | None = None) -> list[Deadline]:
    """Each caseworker's next supervision session: their last one (`last`, `last_sessions`) plus
    the policy's interval; one never supervised counts from when they joined the team, or from
    when the profile in force took effect (`profile_since`) if later. None where the policy does
    not require it. Owner: the supervisor or manager who held the last session, while they are an
    active one; else any supervisor or manager."""
    every, required = cadence(policy)
    if every is None or not required:
        return []
    zone = now.tzinfo or timezone.utc
    source = policy.source(CADENCE)
    items = []
    for worker in team.active:
        if not supervised(worker):
            continue
        found = last.get(worker.id)
        if found is not None:
            when, session_id, held_by = found
            due = every.after(when.astimezone(zone))
            owner = held_by if may_hold(team.get(held_by)) else SUPERVISORS
            why = (f"supervision of each caseworker at least every {every.words()}; the last with {worker.id} was "
                   f"{session_id} on {when.astimezone(zone).strftime('%Y-%m-%d')}")
        else:
            start = joined(worker)
            counted = f"{worker.id} joined the team"
            if profile_since is not None and (start is None or profile_since > start):
                start, counted = profile_since, f"the {policy.profile} rules took effect"
            if start is None:
                due, owner = now, SUPERVISORS
                why = (f"supervision of each caseworker at least every {every.words()}; none recorded with {worker.id}, and "
                       "nothing to count the first from")
            else:
                due, owner = every.after(start.astimezone(zone)), SUPERVISORS
                why = (f"supervision of each caseworker at least every {every.words()}; none recorded with {worker.id} yet: "
                       f"the first is due {every.words()} after {counted} on {start.astimezone(zone).strftime('%Y-%m-%d')}")
        why += f" (cpcm supervision record --worker {worker.id} --kind clinical ...)"
        items.append(Deadline(DUE_SUBJECT, DUE_CODE, f"supervision of {worker.id}", due, None, owner, CADENCE, why, source))
    return items


def overdue_problems(items: Iterable[Deadline], now: datetime) -> list[Problem]:
    """`cpcm check`: each caseworker whose supervision is overdue (`cadence_due`'s items past due)."""
    out = []
    for item in items:
        if item.code != DUE_CODE or now <= item.due:
            continue
        worker = item.title.rsplit(" ", 1)[-1]
        out.append(Problem(OVERDUE_CODE, "warning", f"supervision of {worker} is overdue since "
                           f"{item.due.astimezone(now.tzinfo or timezone.utc).strftime('%Y-%m-%d')}: {item.why}",
                           CADENCE, item.source, None, worker))
    return out


def ratio(team: Team, policy: Policy) -> tuple[int, int, int | None]:
    """(active caseworkers, active supervisors and managers, the policy's most caseworkers per one)."""
    block = policy.rules.get(RATIO) or {}
    limit = block.get("caseworkers")
    caseworkers = sum(1 for w in team.active if supervised(w))
    overseers = sum(1 for w in team.active if w.has_role(*OVERSIGHT))
    return caseworkers, overseers, (limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None)


def joined_after(team: Team, workers: Iterable[str], at: datetime) -> list[tuple[str, datetime]]:
    """The workers of a session dated `at` who joined the team after it, with when they joined.
    A session held before a worker joined is kept (one recorded from paper when the agency began
    using cpcm still counts for the cadence), but a year typed wrong lands there too: the
    commands warn."""
    found = []
    for worker_id in workers:
        worker = team.get(worker_id)
        start = joined(worker) if worker is not None else None
        if start is not None and at < start:
            found.append((worker_id, start))
    return found


def ratio_warning(team: Team, policy: Policy) -> str | None:
    """A warning (never a refusal) when the team has more caseworkers per supervisor or manager
    than the policy's `supervision_ratio` (IAG §2 [L589]: about 1 for 5-6); None when within it."""
    caseworkers, overseers, limit = ratio(team, policy)
    if limit is None or caseworkers == 0 or caseworkers <= limit * overseers:
        return None
    if overseers == 0:
        return (f"supervision: {caseworkers} caseworker(s) and no supervisor or manager in the team; the guidance is about 1 "
                f"for every {limit} caseworkers (add one: cpcm team add WORKER --role supervisor ...)")
    return (f"supervision: {caseworkers} caseworkers for {overseers} supervisor(s) or manager(s), more than {limit} each; the "
            f"guidance is about 1 for every {limit} caseworkers")


def ratio_problems(team: Team, policy: Policy) -> list[Problem]:
    message = ratio_warning(team, policy)
    return [Problem(RATIO_CODE, "warning", message, RATIO, policy.source(RATIO))] if message else []
