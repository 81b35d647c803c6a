"""Checks: `check_*(…, policy, now) -> [Problem]`, each problem with a stable code.

`cpcm check` prints them all at once; errors make it exit 1. Codes are part of the contract
(scripts match on them): `<deadline>-overdue`, `<deadline>-target-missed`,
`plan-missing-closure-criteria`, `plan-not-approved`, `caseload-over-cap`, `caseload-near-cap`,
`reached-18-without-justification`, `transition-out-of-order`, `referral-consent-corrected`,
`transfer-consent-corrected`.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Iterable

from cpcm.domain.case import Case
from cpcm.domain.dates import local_text
from cpcm.domain.team import Team, Worker
from cpcm.workflow import approvals, consent, plan_actions
from cpcm.workflow.clocks import SUPERVISORS
from cpcm.workflow.deadlines import NOT_OPEN_CODES, Deadline, deadlines, soon_window
from cpcm.domain.policy import Policy
from cpcm.domain.problems import Problem


def check_case(case: Case, policy: Policy, now: datetime) -> list[Problem]:
    problems = []
    soon = soon_window(policy, now)
    zone = now.tzinfo  # the agency's: times in a problem are shown as everywhere else, local with their offset
    for item in deadlines(case, policy, now):
        if item.owner == SUPERVISORS:
            continue  # waiting approvals are due items, not faults of the case
        state = item.state(now, soon)
        if state == "overdue":
            problems.append(Problem(f"{item.code}-overdue", "error", f"{item.title} was due {local_text(item.due, zone)}: {item.why}",
                                    item.rule, item.source, case.id, item.owner))
        elif state == "target_missed":
            problems.append(Problem(f"{item.code}-target-missed", "warning",
                                    f"{item.title}: the target ({local_text(item.target, zone)}) has passed; the limit is "
                                    f"{local_text(item.due, zone)}",
                                    item.rule, item.source, case.id, item.owner))
    plan = case.plan
    if plan and case.status == "open":
        if not plan.get("closure_criteria"):
            problems.append(Problem("plan-missing-closure-criteria", "error",
                                    f"plan version {plan['version']} says nothing of when the case can close",
                                    "case_plan", policy.source("case_plan"), case.id, case.worker))
        # a newer version waiting (or rejected, or withdrawn) while an approved one stays in force is not a fault
        waiting_over = plan_actions.waiting_over(plan, policy)
        if approvals.required(policy, "plan") and not plan.get("approved_at") and not waiting_over:
            state = ("was rejected" if plan.get("rejected_at") else "was withdrawn by its author" if plan.get("withdrawn_at")
                     else "waits for approval")
            problems.append(Problem("plan-not-approved", "warning", f"plan version {plan['version']} {state}: it is not in force",
                                    "plan_approval", policy.source("plan_approval"), case.id, case.worker))
    born = case.birth_date()
    limit = int(policy.get("child_age_limit", "years", 18))
    if case.status == "open" and born and case.age_on(now.date()) is not None and case.age_on(now.date()) >= limit \
            and not case.last("continuation"):
        problems.append(Problem("reached-18-without-justification", "error",
                                f"the child is {limit} or older and the case is open with no recorded justification",
                                "child_age_limit", policy.source("child_age_limit"), case.id, case.worker))
    for referral in case.referrals:  # sent on a consent a correction took away (workflow/consent.py)
        for item in consent.open_corrected_away(referral):
            problems.append(Problem("referral-consent-corrected", "error", consent.corrected_away_text(case.id, referral["ref"], item),
                                    "consent", policy.source("consent"), case.id, case.worker))
    request = case.transfer_request  # asked for on a consent a correction took away: the same rule
    for item in consent.open_corrected_away(request):
        problems.append(Problem("transfer-consent-corrected", "error", consent.corrected_away_text(case.id, request["record_id"], item),
                                "consent", policy.source("consent"), case.id, case.worker))
    for record_id in case.anomalies:
        problems.append(Problem("transition-out-of-order", "warning",
                                f"record {record_id} was made at a stage that does not allow it (two offline copies merged?)",
                                "transitions", "the case-management steps (IAG Figure 1)", case.id, case.worker))
    problems += check_conflicts(case)
    return problems


def check_conflicts(case: Case) -> list[Problem]:
    """Each conflict a sync found between records written apart on two copies, until a later
    record settles it (workflow/fold.py SETTLES, or a note)."""
    problems = []
    source = "docs/team.md (what a merge finds)"
    for conflict in case.conflicts:
        if conflict.get("settled_by"):
            continue
        records = ", ".join(conflict.get("records") or ())
        code = conflict.get("code")
        if code == "two-closures":
            problems.append(Problem("two-closures", "warning", f"two closures were written apart on two copies ({records}): "
                                    "approve or reject the one that stands, or add a note", "sync", source, case.id, case.worker))
        elif code == "record-after-closure":
            problems.append(Problem("record-after-closure", "warning", "records were written on one copy while the case was "
                                    f"being closed on another ({records}): reopen the case, decide the closure, or add a note",
                                    "sync", source, case.id, case.worker))
        elif code == "plans-concurrent":
            problems.append(Problem("plans-concurrent", "warning", f"two plan versions were written apart ({records}); both are "
                                    "kept and numbered in order: approve or reject the latest, or add a note", "sync", source,
                                    case.id, case.worker))
        elif code == "corrections-concurrent":
            problems.append(Problem("corrections-concurrent", "warning", f"one record was corrected on two copies apart "
                                    f"({records}); only the later correction is in force: check that it holds both changes "
                                    f"(cpcm show {case.id} RECORD), correct it again if not, then add a note", "sync", source,
                                    case.id, case.worker))
        elif code == "updates-concurrent":
            problems.append(Problem("updates-concurrent", "warning", f"one field of the registration was updated on two copies "
                                    f"apart to different values ({records}); the later update is in force: check it "
                                    f"(cpcm log {case.id}); where it is wrong, update it again (cpcm update {case.id} --set FIELD=VALUE "
                                    "--reason ...); then add a note", "sync", source, case.id, case.worker))
        elif code == "two-assignments":
            problems.append(Problem("two-assignments", "warning", f"the case was assigned on two copies apart ({records}); the "
                                    f"later assignment stands ({case.worker}): confirm it (cpcm assign {case.id} --worker "
                                    f"{case.worker}), assign the case to another worker, or add a note", "sync", source,
                                    case.id, case.worker))
    return problems


def caseloads(cases: Iterable[Case]) -> Counter:
    return Counter(c.worker for c in cases if c.status == "open" and c.worker)


CASELOAD_STATES = ("ok", "near_cap", "over_cap", "no_cap")


def caseload_limits(policy: Policy) -> tuple[int, int]:
    """(cap, warn_from): the open cases a caseworker may hold, and from how many to warn."""
    return int(policy.get("caseload", "cap")), int(policy.get("caseload", "warn_from"))


def has_cap(member: Worker | None) -> bool:
    """Only caseworkers have a cap; a worker id not in the team is counted as one."""
    return member is None or member.has_role("caseworker")


def caseload_state(count: int, policy: Policy, capped: bool = True) -> str:
    """The one caseload rule: 'over_cap' above the cap, 'near_cap' from warn_from, else 'ok';
    'no_cap' for a holder without a cap (not a caseworker, or no worker at all)."""
    if not capped:
        return "no_cap"
    cap, warn_from = caseload_limits(policy)
    if count > cap:
        return "over_cap"
    if count >= warn_from:
        return "near_cap"
    return "ok"


def check_caseloads(cases: Iterable[Case], team: Team, policy: Policy) -> list[Problem]:
    cap, warn_from = caseload_limits(policy)
    problems = []
    for worker, count in sorted(caseloads(cases).items()):
        state = caseload_state(count, policy, has_cap(team.get(worker)))
        if state == "over_cap":
            problems.append(Problem("caseload-over-cap", "error", f"{worker} has {count} open cases; the cap is {cap}",
                                    "caseload", policy.source("caseload"), None, worker))
        elif state == "near_cap":
            problems.append(Problem("caseload-near-cap", "warning", f"{worker} has {count} open cases (cap {cap}, warning from {warn_from})",
                                    "caseload", policy.source("caseload"), None, worker))
    return problems


def check_workers(cases: Iterable[Case], team: Team) -> list[Problem]:
    """Open cases whose worker is not an active member of the team: given to a worker, or
    registered by one, on a copy that did not know a supervisor had removed them (docs/team.md,
    'A worker removed on another copy'). `team remove` refuses while a worker has open cases;
    one that arrives this way is nobody's until it is assigned."""
    removed = removed_workers(team)
    return [Problem("case-worker-removed", "error", f"its worker ({case.worker}) is no longer on the team, and nobody has "
                    f"the case: {ASSIGN_HINT.format(case=case.id)}", "team",
                    "docs/team.md (a worker removed on another copy)", case.id, case.worker)
            for case in cases if unattended(case, removed)]


ASSIGN_HINT = "assign it to another worker (cpcm assign {case} --worker OTHER)"


def removed_workers(team: Team) -> frozenset[str]:
    """The ids of the workers who were on the team and are no longer (removed or revoked)."""
    return frozenset(worker.id for worker in team.workers if not worker.active)


def unattended(case: Case, removed: frozenset[str]) -> bool:
    """The one rule for a case nobody has (`case-worker-removed`): it is open and its worker is no
    longer on the team (`removed`: `removed_workers(team)`)."""
    return case.status == "open" and bool(case.worker) and case.worker in removed


def unattended_item(item: Deadline, removed: frozenset[str]) -> bool:
    """`unattended` told from one of a case's deadlines (`cpcm due` lists them without folding
    the case; `removed`: `removed_workers(team)`): its owner is the case's worker (a deadline's
    owner is the case's worker, or the supervisors for an approval) and no longer on the team, and
    it is a deadline of an open case (every rule but those of `NOT_OPEN_CODES` gives nothing for a
    case that is not open)."""
    return item.owner in removed and item.code not in NOT_OPEN_CODES


def sees_unattended(whose: str, oversees: bool, removed: frozenset[str]) -> bool:
    """Whether `whose` list holds the deadlines of the open cases whose worker is no longer on the
    team (`unattended_item`: nobody has them; `removed`: `removed_workers`), whenever
    they fall (the case is to be assigned now), marked so (`worker_removed`): a supervisor's or
    manager's, every case's ('all'), and the removed worker's own (`--worker ID`, asked by a
    supervisor). A caseworker's does not."""
    return bool(removed) and (whose == "all" or oversees or whose in removed)


def caseload_decision(count_before: int, policy: Policy) -> tuple[str, str]:
    """('ok' | 'warn' | 'refuse', message) for giving one more case to a worker who has
    `count_before` open cases."""
    cap, warn_from = caseload_limits(policy)
    after = count_before + 1
    state = caseload_state(after, policy)
    if state == "over_cap":
        verdict = "refuse" if policy.get("caseload", "over_cap") == "refuse" else "warn"
        return verdict, f"this makes {after} open cases; the cap is {cap} ({policy.source('caseload')})"
    if state == "near_cap":
        return "warn", f"this makes {after} open cases (cap {cap}, warning from {warn_from})"
    return "ok", ""


def caseload_verdict(member: Worker | None, count_before: int, policy: Policy) -> tuple[str, str]:
    """`caseload_decision` for a given holder: always 'ok' for one without a cap."""
    return caseload_decision(count_before, policy) if has_cap(member) else ("ok", "")
