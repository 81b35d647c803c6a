"""Caseload: a snapshot at `now` of who holds which open cases, against the policy's cap, and
what is overdue or waiting for a supervisor (Primero's caseload and overdue-tasks dashboards;
ESARO §6 workforce). Worker ids and counts only; nothing about a child."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Callable, Iterable, NamedTuple

from cpcm.domain.case import Case
from cpcm.domain.dates import parse_datetime
from cpcm.domain.policy import RISK_ORDER, Policy
from cpcm.domain.team import CADRES, Team, cadre_words
from cpcm.reports.common import NOT_RATED, chart, table
from cpcm.workflow import approvals, clocks
from cpcm.workflow.clocks import MANAGERS, SUPERVISORS
from cpcm.workflow.deadlines import Deadline, deadlines, for_worker, soon_window
from cpcm.workflow.rules import NobodyDecides, caseload_limits, caseload_state, has_cap, off_team
from cpcm.workflow.transitions import STAGES

OPEN_STAGES = tuple(s for s in STAGES if s not in ("closed", "transferred"))
UNASSIGNED = "(unassigned)"
# the state of a holder who is not an active member of the team (removed on another copy, or never on it): their
# open cases are nobody's (`case-worker-removed`, on every supervisor's `cpcm due`) until a supervisor assigns them
OFF_TEAM = "off_team"
# the worker's own clocks, in the order of the case-management steps (the clock table's order)
OVERDUE_CODES = clocks.WORKER_CODES
APPROVALS = tuple((c.code, c.subject) for c in clocks.APPROVALS)
# each subject in words, as the approvals table shows it (`subject` in --json stays the code `cpcm approve` takes)
SUBJECT_WORDS = approvals.SUBJECT_WORDS
# the note of a report that covers only the cases its reader can read (`caseload(reader=...)`)
ONLY_YOURS = ("Only your own row: you cannot read every case of the repository, so other workers' caseloads are not "
              "known here (a supervisor's report shows them, with what each supervisor can decide). The total counts "
              "the open cases you can read.")


class Held(NamedTuple):
    """What the report reads of a case besides its deadlines: its id, status, stage, risk and
    worker (the case's own fields, as `cpcm list` keeps them in its row)."""

    id: str
    status: str
    stage: str
    risk: str | None
    worker: str | None


def caseload(cases: Iterable[Case | Held], team: Team, policy: Policy, now: datetime, reader: str | None = None,
             supervision: dict | None = None, items: Callable[[Case | Held], Iterable[Deadline]] | None = None,
             asked_at: Callable[[Case | Held, str], str | None] | None = None) -> dict:
    """Open cases per worker by stage and risk, against the cap; overdue items per worker;
    approvals waiting for supervisors.

    `cases`: folded cases, or `Held` rows of them with `items` and `asked_at`. `items(case)`: the
    case's deadlines at `now` (default: `deadlines` of the folded case; a caller that keeps them,
    e.g. the due table, gives them instead); items owned by the managers are left out here either
    way. `asked_at(case, code)`: when the approval `code` waiting on the case was asked for
    (default: from the folded case, `requested_at`).

    `reader`: the worker whose report it is, when `cases` are only some of the repository's (a
    caseworker's, who reads their own cases, not every colleague's): then the per-worker rows are
    only the reader's own, since no other worker's count can be known from them, and what each
    supervisor can decide is left out for the same reason (`workers_shown: "yours"`). The totals
    count the cases given, as the report's coverage says.

    `supervision`: in a supervisor's report, each worker's supervision in the period, counts only
    (ESARO monitoring, "supervision frequency"): {"start", "end", "rows": [{worker, last_session,
    sessions, sessions_held}], "ratio": a warning or None}; never anything a session holds."""
    cases = list(cases)
    cap, warn_from = caseload_limits(policy)
    soon = soon_window(policy, now)
    risks = tuple(policy.risk_levels) if "risk_levels" in policy.rules else RISK_ORDER
    open_cases = [c for c in cases if c.status == "open"]

    # a closed case's retention is the managers' decision, no worker's caseload (workflow/retention.py)
    def computed(case: Case) -> list[Deadline]:
        return deadlines(case, policy, now)
    items, asked_at = items or computed, asked_at or requested_at
    # each case's items counted as they come (at 100,000 cases, every item held at once was most of the report's memory):
    # the overdue ones by worker and clock, the targets missed by worker, the supervisors' own (approvals) kept
    overdue: Counter[tuple[str, str]] = Counter()
    missed: Counter[str] = Counter()
    waiting: list[Deadline] = []
    asked: dict[tuple[str, str], str | None] = {}
    for case in cases:
        for item in items(case):
            if item.owner == MANAGERS:
                continue
            if item.owner == SUPERVISORS:
                waiting.append(item)
                asked[(case.id, item.code)] = asked_at(case, item.code)
                continue
            state = item.state(now, soon)
            if state == "overdue":
                overdue[(item.owner or UNASSIGNED, item.code)] += 1
            elif state == "target_missed":
                missed[item.owner or UNASSIGNED] += 1

    codes = OVERDUE_CODES + tuple(sorted({code for _, code in overdue} - set(OVERDUE_CODES)))  # a clock added since
    holders = {c.worker or UNASSIGNED for c in open_cases} | {owner for owner, _ in overdue}
    caseworkers = {w.id for w in team.active if w.has_role("caseworker")}
    worker_ids = sorted(holders | caseworkers, key=lambda w: (w == UNASSIGNED, w)) if reader is None else [reader]
    absent = off_team(team)
    held: dict[str, list] = {}
    for case in open_cases:
        held.setdefault(case.worker or UNASSIGNED, []).append(case)
    workers = []
    for worker_id in worker_ids:
        mine = held.get(worker_id, [])
        member = team.get(worker_id, include_removed=True)
        count = len(mine)
        gone = worker_id != UNASSIGNED and worker_id in absent
        state = OFF_TEAM if gone else caseload_state(count, policy, capped=worker_id != UNASSIGNED and has_cap(member))
        by_code = {code: overdue[(worker_id, code)] for code in codes}
        workers.append({
            "worker": worker_id,
            "active": bool(member and member.active),
            "roles": list(member.roles) if member else [],
            "cadre": (member.cadre or None) if member else None,
            "open": count,
            "cap": cap if state not in ("no_cap", OFF_TEAM) else None,
            "state": state,
            "by_stage": {s: sum(1 for c in mine if c.stage == s) for s in OPEN_STAGES},
            "by_risk": {r: sum(1 for c in mine if c.risk == r) for r in risks} | {NOT_RATED: sum(1 for c in mine if c.risk not in risks)},
            "overdue": by_code,
            "overdue_total": sum(by_code.values()),
            "target_missed": missed[worker_id],
            **({"off_team": absent.standing(worker_id)} if gone else {}),
        })

    # ESARO N2: caseload per worker and by cadre (the active workers' and their open cases; a worker with no cadre
    # given: 'not known'); only in a report of every worker's row (a caseworker's own report knows no colleague's)
    by_cadre = []
    for cadre in (*CADRES, ""):
        members = [w for w in team.active if w.cadre == cadre] if reader is None else []
        ids = {w.id for w in members}
        theirs = [c for c in open_cases if c.worker in ids]
        if members:
            by_cadre.append({"cadre": cadre_words(cadre) if not cadre else cadre, "workers": len(members), "open": len(theirs),
                             "by_risk": {r: sum(1 for c in theirs if c.risk == r) for r in risks}
                             | {NOT_RATED: sum(1 for c in theirs if c.risk not in risks)}})

    limit = policy.duration("approval_response", "limit")
    waiting_by_subject = []
    for code, subject in APPROVALS:
        mine = [i for i in waiting if i.code == code]
        since = [asked[(i.case_id, i.code)] for i in mine if asked.get((i.case_id, i.code))]
        oldest = max(((now - parse_datetime(t)).total_seconds() / 86400 for t in since), default=None)
        waiting_by_subject.append({"subject": subject, "words": SUBJECT_WORDS.get(subject, subject.replace("_", " ")),
                                   "waiting": len(mine), "overdue": sum(1 for i in mine if now > i.due),
                          "oldest_days": round(oldest, 1) if oldest is not None else None})
    supervisors = []
    for member in team.active if reader is None else ():  # a supervisor's requests come from cases the reader cannot read
        if not approvals.oversees(member):
            continue
        theirs = [i for i in waiting if for_worker(i, member.id, approvals.approves(member))]  # as on their own due list
        supervisors.append({"worker": member.id, "can_decide": len(theirs), "overdue": sum(1 for i in theirs if now > i.due)})
    # what no active supervisor or manager may decide (the only one there asked for it): on the case's worker's due list
    # instead, with the ways out (rules.NobodyDecides, the rule `cpcm due` follows)
    undecided = NobodyDecides(team)
    nobody = [i for i in waiting if undecided(i)]

    totals = {
        "open": len(open_cases),
        "unassigned": sum(1 for c in open_cases if not c.worker),
        "by_stage": {s: sum(1 for c in open_cases if c.stage == s) for s in OPEN_STAGES},
        "by_risk": {r: sum(1 for c in open_cases if c.risk == r) for r in risks} | {NOT_RATED: sum(1 for c in open_cases if c.risk not in risks)},
        "overdue": sum(overdue.values()),
        "approvals_waiting": len(waiting),
        "approvals_nobody_may_decide": len(nobody),
    }
    view = {
        "report": "caseload",
        "title": "Caseload",
        "as_of": now.isoformat(timespec="minutes"),
        "policy": {"profile": policy.profile, "cap": cap, "warn_from": warn_from, "source": policy.source("caseload"),
                   "approval_response": limit.words()},
        "workers": workers,
        "by_cadre": by_cadre,
        "approvals": waiting_by_subject,
        "supervisors": supervisors,
        "totals": totals,
    }
    if supervision is not None and reader is None:
        view["supervision"] = supervision
    if reader is not None:
        view["workers_shown"] = "yours"  # only in such a report: a supervisor's view is as it always was
    # the total row's "target missed": every one of the cases read where not every worker has a row
    view["tables"] = _tables(view, risks, sum(missed.values()) if reader is not None else None)
    view["charts"] = _charts(view, risks)
    return view


def requested_at(case: Case, code: str) -> str | None:
    """When the approval of clock `code` waiting on the folded case was asked for (its request's time)."""
    request = approvals.pending(case, clocks.BY_CODE[code].subject)
    return (request or {}).get("at")


def _tables(view: dict, risks: tuple[str, ...], missed_total: int | None = None) -> list[dict]:
    workers, totals = view["workers"], view["totals"]
    shown_stages = [s for s in OPEN_STAGES if totals["by_stage"][s]] or list(OPEN_STAGES[:1])
    shown_codes = [c for c in (workers[0]["overdue"] if workers else ()) if any(w["overdue"][c] for w in workers)]
    cap = view["policy"]["cap"]
    yours = view.get("workers_shown") == "yours"
    tables = [
        table("workers", f"Open cases per worker (cap {cap}, warning from {view['policy']['warn_from']})",
              ["worker", "open", "cap", "state", *risks, "not rated", "overdue", "target missed"],
              [[w["worker"], w["open"], w["cap"] if w["cap"] is not None else "",
                w["off_team"] + ": nobody has them" if w["state"] == OFF_TEAM else w["state"].replace("_", " "),
                *[w["by_risk"][r] for r in (*risks, NOT_RATED)], w["overdue_total"], w["target_missed"]] for w in workers]
              + [["total", totals["open"], "", "", *[totals["by_risk"][r] for r in (*risks, NOT_RATED)], totals["overdue"],
                  sum(w["target_missed"] for w in workers) if missed_total is None else missed_total]],
              note=ONLY_YOURS if yours else ""),
        table("cadres", "Open cases by cadre (ESARO N2; cpcm team cadre sets a worker's)",
              ["cadre", "workers", "open", *risks, "not rated"],
              [[c["cadre"].replace("_", " "), c["workers"], c["open"], *[c["by_risk"][r] for r in (*risks, NOT_RATED)]]
               for c in view["by_cadre"]],
              note="not known: workers whose cadre was never given" if any(c["cadre"] == "not known" for c in view["by_cadre"])
              else ""),
        table("stages", "Open cases per worker by stage", ["worker", *[s.replace("_", " ") for s in shown_stages]],
              [[w["worker"], *[w["by_stage"][s] for s in shown_stages]] for w in workers if w["open"]]
              + [["total", *[totals["by_stage"][s] for s in shown_stages]]]),
        table("overdue", "Overdue items per worker", ["worker", *shown_codes, "total"],
              [[w["worker"], *[w["overdue"][c] for c in shown_codes], w["overdue_total"]] for w in workers if w["overdue_total"]],
              note="" if shown_codes else "Nothing of yours is overdue." if yours else "Nothing is overdue."),
        table("approvals", f"Waiting for a supervisor (answer within {view['policy']['approval_response']})"
                           + (", on the cases you can read" if yours else ""),
              ["approval", "waiting", "overdue", "oldest (days)"],
              [[a["words"], a["waiting"], a["overdue"], "" if a["oldest_days"] is None else a["oldest_days"]] for a in view["approvals"]]),
        table("supervisors", "Approvals each supervisor or manager can decide (not their own requests)",
              ["supervisor", "can decide", "overdue"], [[s["worker"], s["can_decide"], s["overdue"]] for s in view["supervisors"]]
              + ([["nobody may", totals["approvals_nobody_may_decide"], ""]] if totals["approvals_nobody_may_decide"] else []),
              note="nobody may: no supervisor or manager in the team may decide it (they asked for it, or it is the closure "
                   "of their own case); the one who asked withdraws it (--withdraw), or add a supervisor, or allow "
                   "self-approval in the policy"
                   if totals["approvals_nobody_may_decide"] else ""),
    ]
    if view.get("supervision") is not None:
        held = view["supervision"]
        tables.append(table("supervision", f"Supervision sessions per worker, {held['start']} to {held['end']} (counts only)",
                            ["worker", "last supervised", "supervised", "held"],
                            [[r["worker"], r["last_session"] or "never", r["sessions"], r["sessions_held"]] for r in held["rows"]],
                            note=held.get("ratio") or ""))
    # what each supervisor can decide is not known from some of the cases (said in ONLY_YOURS); what nobody
    # may decide is, and stays
    return [t for t in tables if not ((yours and t["id"] == "supervisors" or t["id"] == "cadres") and not t["rows"])]


def _charts(view: dict, risks: tuple[str, ...]) -> list[dict]:
    cap = view["policy"]["cap"]
    return [
        chart("caseload", "Open cases per worker", [{"label": w["worker"], "value": w["open"], "text": str(w["open"]),
                                                      "state": w["state"]} for w in view["workers"]],
              unit="cases", reference={"label": f"cap {cap}", "value": cap}),
        chart("risk", "Open cases by risk level", [{"label": r.replace("_", " "), "value": view["totals"]["by_risk"][r],
                                                    "text": str(view["totals"]["by_risk"][r]), "state": r}
                                                   for r in (*risks, NOT_RATED)], unit="cases"),
    ]
