"""Management reports: pure aggregations over folded cases, the team and the policy.

Each report is one function that takes cases (already folded and decrypted by the caller),
the policy and the dates, and returns a plain dict: the view model its templates render
(`templates/reports/<report>.<format>`). No I/O here, no clock: `now` is an argument.

- `caseload(cases, team, policy, now)`: open cases per worker against the cap, by stage and
  risk, approvals waiting for supervisors, overdue items per worker. It also takes each case's
  status, stage, risk and worker alone (`caseload.Held`) with its deadlines and the times its
  approvals were asked for given by the caller (`items`, `asked_at`): the rules stay in workflow.
- `timeliness(cases, policy, start, end, now)`: each clock of the policy, how often it was met.
- `statistics(cases, policy, start, end)`: counts safe to share outside the agency (no names,
  no case IDs, no worker ids; small cells suppressed).
- `placements(cases, policy, start, end, now)`: the alternative-care register: children in care
  now, where, since when, under which order; children who left residential care; counts.
- `readiness(cases, assessed, policy, start, end, now, status, worker)`: the latest readiness
  assessment (Form 7A, 8A) of each case in the period, as its form scores it: ready for closure or
  not, by occasion; per domain, how many fall below its pass mark; the children on the path of
  reintegration with none.
- `referrals(cases, services, policy, start, end, now, worker)`: per service of the directory, the
  referrals sent in the period: accepted, declined, waiting for feedback (past the limit), answered
  late, median days to the provider's answer, outcomes; each provider's agreement and its end.
- `retention(cases, policy, now)`: the closed and transferred cases by year of closure, within their
  retention period, past it with no decision, kept until a date or restricted; those to decide on.

Every view carries `tables` (titled rows for the terminal, Markdown and CSV) and `charts`
(bars for the HTML report). Adding a report is a function here and its templates.

Must not import: service, store, crypto, cli, render (reports take data and return data).
"""
from __future__ import annotations

from cpcm.reports.caseload import caseload
from cpcm.reports.placements import placements
from cpcm.reports.readiness import readiness
from cpcm.reports.referrals import referrals
from cpcm.reports.retention import retention
from cpcm.reports.statistics import statistics
from cpcm.reports.timeliness import timeliness

# `complaints` is the complaints register's counts (service/complaints.py `report`: from the complaints folders, not cases)
REPORTS = ("caseload", "timeliness", "statistics", "placements", "readiness", "referrals", "complaints", "retention")

__all__ = ["REPORTS", "caseload", "placements", "readiness", "referrals", "retention", "statistics", "timeliness"]
