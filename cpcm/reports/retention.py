"""The retention of closed cases (`cpcm report retention`), a snapshot now: the closed and
transferred cases by the year they closed (the closure's approval, or the transfer), each within its
retention period, past it with no decision (a manager decides: `cpcm retention`), kept until a
date, or restricted to the managers (workflow/retention.py; IAG Record Keeping [L687] [L948]; the
period is the policy's `retention.closed_for`, the agency's to set); and the cases whose period has
ended, by case ID, for the managers to decide on.

Case IDs and dates: no child's name. Internal to the agency, like the caseload report (no small
cells hidden; the file is encrypted unless --plaintext).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Iterable

from cpcm.domain.case import Case
from cpcm.domain.dates import parse_datetime
from cpcm.domain.policy import Policy
from cpcm.reports.common import chart, table
from cpcm.workflow import retention as rules

TITLE = "Retention of closed cases"
WORDS = {rules.WITHIN: "within retention", rules.ENDED: "retention ended", rules.KEPT: "kept until a date",
         rules.RESTRICTED: "restricted"}


def retention(cases: Iterable[Case], policy: Policy, now: datetime) -> dict:
    """Closed and transferred cases by year of closure and their place in retention, and those to decide on."""
    zone = now.tzinfo
    counts: dict[int, Counter] = {}
    ended = []
    for case in cases:  # in any order (a case at a time: service/context.py `CaseStream`)
        state = rules.state(case, policy, now)
        if state is None:
            continue
        closed = parse_datetime(rules.ended_at(case) or "").astimezone(zone)
        counts.setdefault(closed.year, Counter())[state] += 1
        if state == rules.ENDED:
            due = rules.due_at(case, policy, zone)
            ended.append({"case_id": case.id, "status": case.status, "closed_on": closed.date().isoformat(),
                          "ended_on": due.date().isoformat() if due else None})
    ended.sort(key=lambda r: r["case_id"])
    years = sorted(counts)
    by_year = [{"year": year, **{state: counts[year].get(state, 0) for state in rules.STATES},
                "total": sum(counts[year].values())} for year in years]
    totals = {state: sum(row[state] for row in by_year) for state in rules.STATES}
    totals["total"] = sum(totals.values())
    period = rules.closed_for(policy)
    view = {
        "report": "retention", "title": TITLE, "as_of": now.isoformat(timespec="minutes"),
        "policy": {"profile": policy.profile, "closed_for": policy.get(rules.RULE, "closed_for"),
                   "words": period.words() if period else None, "source": policy.source(rules.RULE)},
        "by_year": by_year, "totals": totals, "ended": ended,
    }
    view["tables"] = [
        table("by_year", f"Closed and transferred cases by year of closure (retention period: "
                         f"{period.words() if period else 'none'})",
              ["year closed"] + [WORDS[state] for state in rules.STATES] + ["total"],
              [[row["year"]] + [row[state] for state in rules.STATES] + [row["total"]] for row in by_year]
              + [["total"] + [totals[state] for state in rules.STATES] + [totals["total"]]],
              note="" if by_year else "No closed or transferred case."),
        table("ended", f"Retention ended: a manager decides, keep or restrict ({len(ended)})",
              ["case", "status", "closed on", "retention ended"],
              [[r["case_id"], r["status"], r["closed_on"], r["ended_on"]] for r in ended],
              note="" if ended else "No case waits for a decision."),
    ]
    view["charts"] = [chart("states", "Closed and transferred cases, by their place in retention",
                            [{"label": WORDS[state], "value": totals[state], "text": str(totals[state])} for state in rules.STATES],
                            unit="cases")]
    return view
