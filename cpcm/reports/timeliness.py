"""Timeliness: for each clock of the policy, how often it was met (ESARO §6 and §9.5).

Each clock is worked out from the times the fold keeps (`case.events`, the referral
histories) and the policy's durations. Which events start and meet it is the clock table of
`cpcm.workflow.clocks` (the clocks marked `measured`), the one `cpcm due` reads, here looking
back:

| clock | starts at | met by | limit |
|---|---|---|---|
| initial assessment | registration or reopening | an initial (or comprehensive) assessment | initial_assessment (target and limit), or risk_response where it is sooner (`deadlines.initial_assessment_due`) |
| risk response | the initial assessment | a follow-up, referral, plan, placement, protection action or further assessment | risk_response by risk level |
| comprehensive assessment | registration or reopening | a comprehensive assessment | comprehensive_assessment (target and limit) |
| case plan | each comprehensive assessment | a plan written after it coming into force (approved, where the policy needs it) | case_plan |
| review | the plan in force, then each review | the next review | review (or review_after_reunification) |
| referral feedback | each referral | the provider's answer (accepted, declined or closed) | referral_feedback |
| post-closure visit | each closure (approved, or immediate where the policy allows) for a reason the policy owes the visit after (`post_closure_visit.reasons`), not of a case merged into another (`deadlines.post_closure_visit_owed`) | a post-closure follow-up | post_closure_visit |

A clock counts in the period when it *starts* in the period (its date in the zone of `now`); of a
case received from another agency, only a clock started since it came, as the statistics count
only what happened since (`received_at`; the sending agency's clocks are its own, and a child sent
back counts them once, under the earlier case ID). Its
limit is counted as `due` counts it, from the start in that zone (`deadlines.limit_end`): 'the same
day' is the agency's day, not the UTC day. Its outcome:
`on_time` (met within the limit), `late` (met after it), `overdue` (not met and the limit has
passed, the case still open or since closed), `open` (not met, the limit not reached yet),
`stopped` (the case was closed, transferred or reopened, or a newer start replaced the clock,
before the limit: it no longer applies and is left out of the rates).

What the fold does not keep, and so is approximated: the risk level at the time (the current
one is used; for the initial assessment after registration, the registration's), the worker at the time (the current one), and a review date set by a review
(the interval is used).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Iterable

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.domain.records import utc
from cpcm.reports.common import Period, chart, hours_text, median, moment, percent, received_at, table
from cpcm.workflow.clocks import BY_CODE, MEASURED, done_events, start_events
from cpcm.workflow.deadlines import initial_assessment_due, limit_end, post_closure_visit_owed, review_interval, zone_of

CLOCKS = tuple((c.name, c.title, c.starts_text) for c in MEASURED)
OUTCOMES = ("on_time", "late", "overdue", "open", "stopped")
ENDINGS = ("closed", "transfer")  # "closed": an approved closure, or one the policy lets close at once


@dataclass(frozen=True)
class Clock:
    clock: str
    case_id: str
    worker: str | None
    start: datetime
    due: datetime
    target: datetime | None = None
    done: datetime | None = None
    stopped: datetime | None = None  # when it ceased to apply without being met

    def outcome(self, now: datetime) -> str:
        if self.done is not None:
            return "on_time" if self.done <= self.due else "late"
        if self.stopped is not None and self.stopped <= self.due:
            return "stopped"
        seen_until = min(now, self.stopped) if self.stopped is not None else now
        return "overdue" if seen_until > self.due else "open"

    def delay_hours(self, now: datetime) -> float | None:
        """How far past the limit: when met late, or so far when still not met."""
        outcome = self.outcome(now)
        if outcome == "late":
            return (self.done - self.due).total_seconds() / 3600
        if outcome == "overdue":
            end = min(now, self.stopped) if self.stopped is not None else now
            return (end - self.due).total_seconds() / 3600
        return None

    def elapsed_hours(self) -> float | None:
        return (self.done - self.start).total_seconds() / 3600 if self.done is not None else None


class _Times:
    """A case's event times as datetimes, sorted, with 'first between' lookups."""

    def __init__(self, case: Case):
        self.by_event = {name: sorted(moment(t) for t in times) for name, times in case.events.items()}

    def all(self, names: Iterable[str], after: datetime, before: datetime | None) -> list[datetime]:
        return sorted(t for name in names for t in self.by_event.get(name, ()) if t >= after and (before is None or t < before))

    def first(self, names: Iterable[str], after: datetime, before: datetime | None) -> datetime | None:
        found = self.all(names, after, before)
        return found[0] if found else None


def _cycles(case: Case, times: _Times) -> list[tuple[datetime, datetime | None, datetime | None]]:
    """(start, open_until, next_start) for the registration and each reopening: open_until is
    when the case stopped being open in that cycle (closure approved or transferred)."""
    starts = sorted(t for t in [moment(case.registered_at), *times.by_event.get("reopen", ())] if t)
    cycles = []
    for index, start in enumerate(starts):
        following = starts[index + 1] if index + 1 < len(starts) else None
        cycles.append((start, times.first(ENDINGS, start, following) or following, following))
    return cycles


def case_clocks(case: Case, policy: Policy, zone: tzinfo = timezone.utc) -> list[Clock]:
    """Every clock a case has started, with when it was met or stopped. Each limit is counted from
    its start in `zone`, the agency's (`zone_of(now)`), as `due` counts it (`limit_end`): 'the same
    day' is the worker's day, not the UTC day."""
    if not case.registered_at:
        return []
    times = _Times(case)
    clocks: list[Clock] = []

    def add(name, start, due, done, stopped, target=None):
        clocks.append(Clock(name, case.id, case.worker, start, due, target, done, None if done else stopped))

    def done(code):
        return done_events(code, policy)

    for start, open_until, following in _cycles(case, times):
        # the limit `due` lists (`initial_assessment_due`: sooner for a risk the policy wants answered sooner), by the
        # registration's risk level for the first cycle, the current one after a reopening
        risk = (case.registration or {}).get("risk") if start == moment(case.registered_at) else case.risk
        initial_due, initial_target, _response = initial_assessment_due(policy, risk, start, zone)
        add("initial_assessment", start, initial_due,
            times.first(done("initial-assessment"), start, following), open_until, initial_target or initial_due)

        assessed = times.first(start_events("risk-response", policy), start, following)
        limit = policy.risk_response(case.risk) if case.risk and case.risk in policy.rules["risk_response"]["limit"] else None
        if assessed and limit is not None:
            add("risk_response", assessed, limit_end(limit, assessed, zone), times.first(done("risk-response"), assessed, following), open_until)

        comprehensive = policy.duration("comprehensive_assessment", "limit"), policy.duration("comprehensive_assessment", "target")
        add("comprehensive_assessment", start, limit_end(comprehensive[0], start, zone),
            times.first(done("comprehensive-assessment"), start, following), open_until, limit_end(comprehensive[1], start, zone))

        assessments = times.all(start_events("case-plan", policy), start, following)
        plan_limit = policy.duration("case_plan", "limit")
        for index, assessed_at in enumerate(assessments):
            replaced = assessments[index + 1] if index + 1 < len(assessments) else None
            window = replaced or following
            written = times.first(("plan",), assessed_at, window)
            in_force = times.first(done("case-plan"), written, window) if written else None  # the approval, or the plan itself
            add("case_plan", assessed_at, limit_end(plan_limit, assessed_at, zone), in_force, replaced or open_until)

        if assessments:
            # the review clock starts at each plan coming into force and each review; a review meets the one before it
            met_by = done("review")
            anchors = sorted((t, name) for name in dict.fromkeys(start_events("review", policy))
                             for t in times.all((name,), assessments[0], following))
            for index, (anchor, _) in enumerate(anchors):
                nxt = anchors[index + 1] if index + 1 < len(anchors) else None
                # in the zone, as `due` asks it; whether the child was home then (back in care: the ordinary interval)
                interval, _rule = review_interval(case, policy, anchor.astimezone(zone), utc(anchor))
                met = nxt[0] if nxt and nxt[1] in met_by else None
                add("review", anchor, limit_end(interval, anchor, zone), met, nxt[0] if nxt else open_until)

    feedback = policy.duration("referral_feedback", "limit")
    cycles = _cycles(case, times)
    for referral in case.referrals:
        sent = moment(referral.get("at"))
        if sent is None:
            continue
        answered = next((moment(h["at"]) for h in referral.get("history", ()) if h.get("status") in BY_CODE["referral-feedback"].done), None)
        open_until = next((until for start, until, _ in reversed(cycles) if start <= sent), None)
        add("referral_feedback", sent, limit_end(feedback, sent, zone), answered, open_until)

    visit = policy.duration("post_closure_visit", "limit")
    # a case merged into another owes no visit: the child's case does; nor does a closure for a reason the policy
    # owes none after (registered in error, a death, a transfer: `cpcm due` lists none for them either)
    owed = {moment(t) for t in case.events.get("closed", ()) if post_closure_visit_owed(case, policy, t)}
    for closed in times.all(start_events("post-closure-visit", policy), moment(case.registered_at), None) \
            if owed else ():
        if closed not in owed:
            continue
        reopened = times.first(("reopen",), closed, None)
        # the visit that meets it, made before the reopening or at the same time (the visit that found the
        # child at risk again, and the reopening it led to, both dated when the worker was there)
        made = times.first(done("post-closure-visit"), closed, None)
        add("post_closure_visit", closed, limit_end(visit, closed, zone), made if made and (not reopened or made <= reopened) else None,
            reopened)
    return clocks


def counted_clocks(case: Case, policy: Policy, zone: tzinfo = timezone.utc) -> list[Clock]:
    """The clocks of `case` the report counts (`case_clocks`): of a case received from another
    agency, only those started since it came (`received_at`, the rule the statistics count by);
    those started before were the sending agency's (or this agency's, under the earlier case ID of
    a child sent back), not this agency's or its worker's to count again."""
    clocks = case_clocks(case, policy, zone)
    received = received_at(case)
    return clocks if received is None else [c for c in clocks if c.start >= received]


def _after_reunification(policy: Policy):
    """The review interval after reunification and its period, where the policy has one that
    differs from the ordinary interval (kenya: every 6 months for 2 years); else None."""
    interval, period = (policy.duration("review_after_reunification", key) for key in ("interval", "period"))
    if not (period.months or period.days or period.minutes) or str(interval) == str(policy.duration("review", "interval")):
        return None
    return interval, period


def _limit_short(policy: Policy, rule: str) -> tuple[str, str]:
    """The policy's own notation, for tables: '48h', '1mo'; by risk, 'same_day to 7d'."""
    if rule == "risk_response":
        values = [v for v in (policy.risk_response(level) for level in policy.risk_levels) if v is not None]
        if not values:
            return "", ""
        return f"{values[0]} to {values[-1]} by risk" if str(values[0]) != str(values[-1]) else str(values[0]), ""
    if rule == "review":
        after = _after_reunification(policy)
        return str(policy.duration("review", "interval")) + (f"; {after[0]} after reunification" if after else ""), ""
    block = policy.rules.get(rule, {})
    return str(policy.duration(rule, "limit")), str(policy.duration(rule, "target")) if "target" in block else ""


def _limit_words(policy: Policy, rule: str) -> tuple[str, str]:
    if rule == "risk_response":
        parts = []
        for level in policy.risk_levels:
            value = policy.risk_response(level)
            if value is not None:
                parts.append(f"{level} {value.words()}")
        return ", ".join(parts), ""
    if rule == "review":
        after = _after_reunification(policy)
        return (f"every {policy.duration('review', 'interval').words()}"
                + (f"; every {after[0].words()} for {after[1].words()} after reunification" if after else "")), ""
    block = policy.rules.get(rule, {})
    limit = policy.duration(rule, "limit").words()
    target = policy.duration(rule, "target").words() if "target" in block else ""
    return limit, target


def _summary(clocks: list[Clock], now: datetime) -> dict:
    counts = {o: 0 for o in OUTCOMES}
    for clock in clocks:
        counts[clock.outcome(now)] += 1
    decided = counts["on_time"] + counts["late"] + counts["overdue"]
    return {"started": len(clocks), **counts, "decided": decided, "on_time_percent": percent(counts["on_time"], decided)}


def timeliness(cases: Iterable[Case], policy: Policy, start, end, now: datetime) -> dict:
    """How many of each clock started in the period were met on time, late, or are still open;
    the median time taken and the median delay past the limit."""
    period = Period.of(start, end, now.tzinfo)
    clocks = [c for case in cases for c in counted_clocks(case, policy, zone_of(now)) if period.holds(c.start)]
    rows = []
    for rule, title, begins in CLOCKS:
        mine = [c for c in clocks if c.clock == rule]
        limit, target = _limit_words(policy, rule)
        limit_short, target_short = _limit_short(policy, rule)
        elapsed = median(h for h in (c.elapsed_hours() for c in mine) if h is not None)
        delay = median(h for h in (c.delay_hours(now) for c in mine) if h is not None)
        summary = _summary(mine, now)
        rows.append({
            "clock": rule, "title": title, "starts_at": begins, "limit": limit, "target": target or None,
            "limit_short": limit_short, "target_short": target_short or None,
            "source": policy.short_source(rule) + (f"; {policy.short_source('review_after_reunification')}"
                                                   if rule == "review" and _after_reunification(policy) else ""), **summary,
            "on_target": sum(1 for c in mine if c.target is not None and c.done is not None and c.done <= c.target) if target else None,
            "median_hours": elapsed, "median_text": hours_text(elapsed),
            "median_delay_hours": delay, "median_delay_text": hours_text(delay),
        })
    by_month = []
    for month in period.months():
        summary = _summary([c for c in clocks if period.month(c.start) == month], now)
        by_month.append({"month": month, **summary})
    by_worker = []
    for worker in sorted({c.worker or "(unassigned)" for c in clocks}):
        by_worker.append({"worker": worker, **_summary([c for c in clocks if (c.worker or "(unassigned)") == worker], now)})
    view = {
        "report": "timeliness",
        "title": "Timeliness",
        "period": period.to_dict(),
        "as_of": now.isoformat(timespec="minutes"),
        "policy": {"profile": policy.profile},
        "clocks": rows,
        "by_month": by_month,
        "by_worker": by_worker,
        "totals": _summary(clocks, now),
        "notes": [
            "A clock counts in the period when it starts in it; 'stopped' clocks (the case closed, was transferred or "
            "reopened before the limit) are left out of the rates.",
            "The risk level and the worker are the case's current ones: the case history does not keep them per date.",
        ],
    }
    view["tables"] = _tables(view)
    view["charts"] = _charts(view)
    return view


def _pct(value) -> str:
    return "" if value is None else f"{value:g}%"


def _tables(view: dict) -> list[dict]:
    return [
        table("clocks", "Clocks started in the period",
              ["clock", "limit", "target", "started", "on time", "target met", "late", "overdue", "open", "stopped", "on time %",
               "median time", "median delay"],
              [[c["title"], c["limit_short"], c["target_short"] or "", c["started"], c["on_time"], "" if c["on_target"] is None else c["on_target"],
                c["late"], c["overdue"], c["open"], c["stopped"], _pct(c["on_time_percent"]), c["median_text"], c["median_delay_text"]]
               for c in view["clocks"]]),
        table("months", "By month the clock started (all clocks)", ["month", "started", "on time", "late", "overdue", "open", "on time %"],
              [[m["month"], m["started"], m["on_time"], m["late"], m["overdue"], m["open"], _pct(m["on_time_percent"])]
               for m in view["by_month"]]),
        table("workers", "By worker (the case's current worker)", ["worker", "started", "on time", "late", "overdue", "open", "on time %"],
              [[w["worker"], w["started"], w["on_time"], w["late"], w["overdue"], w["open"], _pct(w["on_time_percent"])]
               for w in view["by_worker"]]),
    ]


def _charts(view: dict) -> list[dict]:
    return [
        chart("months", "On time, by month the clock started (% of clocks met or past their limit)",
              [{"label": m["month"], "value": m["on_time_percent"],
                "text": f"{_pct(m['on_time_percent'])} ({m['on_time']}/{m['decided']})" if m["decided"] else "no data"}
               for m in view["by_month"]], unit="%", maximum=100, orientation="vertical"),
        chart("clocks", "On time, by clock (%)",
              [{"label": c["title"], "value": c["on_time_percent"],
                "text": f"{_pct(c['on_time_percent'])} ({c['on_time']}/{c['decided']})" if c["decided"] else "no data"}
               for c in view["clocks"]], unit="%", maximum=100),
    ]
