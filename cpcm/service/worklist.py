"""What is due, what breaks a rule, and the rules in force: cpcm due, check and policy show."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Mapping

from cpcm.domain.case import Case
from cpcm.errors import NotFound
from cpcm.service import conferences
from cpcm.service.context import Context, case_covers, load_case, load_cases
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow import approvals, rules
from cpcm.workflow import cover as cover_rules


def due(ctx: Context, worker: str | None = None, within_days: float | None = None, overdue_only: bool = False,
        case: Case | None = None) -> list[deadlines_mod.Deadline]:
    """What is due or overdue, most urgent first. `worker`: whose list (default: yours);
    'all' for every case you can read."""
    me = ctx.need_worker()
    now, policy = ctx.now, ctx.policy
    soon = deadlines_mod.soon_window(policy, now)
    horizon = now + (timedelta(days=within_days) if within_days is not None else soon)
    whose = worker or me.id
    if whose != "all" and whose != me.id and ctx.team.get(whose, include_removed=True) is None:
        raise NotFound("--worker: no worker by that id in the team", "See cpcm team list.")
    oversees = approvals.oversees(ctx.team.get(whose))
    one = case is not None
    items = []
    cases = {} if one else load_cases(ctx)
    for each in [case] if one else cases.values():
        # a colleague covering the case has its worker's items on their list, marked so (a
        # supervisor or manager never covers: they read every case already)
        covered = (not one and not oversees and whose not in ("all", each.worker)
                   and cover_rules.covering(case_covers(ctx, each.id), whose, now))
        for item in deadlines_mod.deadlines(each, policy, now):
            if whose != "all" and not one and not deadlines_mod.for_worker(item, whose, oversees):
                if not (covered and item.owner == each.worker):
                    continue
                item = replace(item, covered_by=whose)
            if overdue_only and item.state(now, soon) != "overdue":
                continue
            if not one and (item.target or item.due) > horizon:
                continue
            items.append(item)
    if not one:  # conference items (the report after a meeting, the next conference to hold, a child admitted to a CCI)
        items += conferences.due_items(ctx, whose, horizon, overdue_only, soon, cases)
    return sorted(items, key=lambda i: deadlines_mod.urgency(i, now, soon))


def check(ctx: Context, case_id: str | None = None) -> list[rules.Problem]:
    """Every rule problem in one case, or in every case you can read plus the caseloads."""
    ctx.need_worker()
    if case_id:
        return rules.check_case(load_case(ctx, case_id), ctx.policy, ctx.now)
    cases = load_cases(ctx)
    problems = []
    for case in cases.values():
        problems += rules.check_case(case, ctx.policy, ctx.now)
    problems += rules.check_caseloads(cases.values(), ctx.team, ctx.policy)
    return problems


def policy_rows(policy) -> list[dict]:
    """Every rule value in force, with where it was set and its source."""
    rows = []
    for rule, block in policy.rules.items():
        for key, value in _leaves(block):
            if key.split(".")[0] in ("source", "choice", "note"):
                continue
            rows.append({"rule": rule, "key": key, "value": value,
                         "set_in": policy.origins.get(f"{rule}.{key}") or policy.origins.get(rule, ""),
                         "source": policy.source(rule)})
    return rows


def _leaves(block, prefix=""):
    for key, value in block.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
