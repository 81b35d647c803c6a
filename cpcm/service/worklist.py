"""What is due, what breaks a rule, and the rules in force: cpcm due, check and policy show."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Mapping, Sequence

from cpcm.domain.case import Case
from cpcm.errors import NotFound, in_english
from cpcm.service import complaints, conferences, confidential, dueview, supervision, tables
from cpcm.service.context import CaseStream, Context, case_covers, case_restricted, load_case, load_cases
from cpcm.workflow import deadlines as deadlines_mod
from cpcm.workflow import approvals, rules
from cpcm.workflow import cover as cover_rules


def due(ctx: Context, worker: str | None = None, within_days: float | None = None, overdue_only: bool = False,
        case: Case | None = None) -> list[deadlines_mod.Deadline]:
    """What is due or overdue, most urgent first. `worker`: whose list (default: yours);
    'all' for every case you can read. Each case's deadlines come from the due table kept with
    the cache (service/tables.py: what workflow/deadlines.py computed when the case was last
    read, for the times it holds), else from the folded cases."""
    now, policy = ctx.now, ctx.policy
    whose, oversees, horizon, soon = _window(ctx, worker, within_days)
    manages = manages_list(ctx, whose)

    last = tables.instant(horizon)
    removed = rules.off_team(ctx.team)
    unattended = rules.sees_unattended(whose, oversees, removed)
    undecided = rules.NobodyDecides(ctx.team)

    def listed(item, when: int, covered: bool, case_worker: str | None) -> tuple[bool, str | None]:
        """Whether a case's item goes on the list, by whom it is for and `when` (its target, else
        its due time, as a `tables.instant`), and who it names as covering the case."""
        if not deadlines_mod.told_to(item, manages):
            return False, None  # a closed case's retention: the managers' lists only (workflow/retention.py)
        if unattended and rules.unattended_item(item, removed):
            return True, None  # whenever it falls: the case has nobody (`rules.sees_unattended`)
        if when > last:
            return False, None
        if whose == "all" or deadlines_mod.for_worker(item, whose, oversees, manages):
            return True, None
        if covered and item.owner == case_worker:
            return True, whose
        if undecided(item) and undecided.sees(whose, item, case_worker):
            return True, None  # an approval nobody may decide: whoever can act on it (`rules.NobodyDecides.holder`)
        return False, None

    def overdue(item) -> bool:
        return item.state(now, soon) == "overdue"

    def marked(item, case_worker: str | None):
        if removed and rules.unattended_item(item, removed):
            return undecided.told(replace(item, worker_removed=True))
        # an approval nobody may decide marked so; what waits on a closure with its ways out for this team
        return undecided.marked(item, case_worker) if undecided(item) else undecided.told(item)

    if case is not None:  # one case: everything on it, whoever it is for and however far ahead (the conference after
        # an admission too, as the list below has it: conferences.due_items)
        items = [marked(item, case.worker) for item in deadlines_mod.deadlines(case, policy, now) + mismatch(ctx, case, manages)
                 + rekey(ctx, case) + conferences.admission_due(ctx, case)
                 if (not overdue_only or overdue(item)) and deadlines_mod.told_to(item, manages)]
        return sorted(items, key=lambda i: deadlines_mod.urgency(i, now, soon))
    rows = tables.due_rows(ctx)
    items = []
    if rows is None:  # no table: from every folded case
        cases = load_cases(ctx)
        for each in cases.values():
            covered = (not oversees and whose not in ("all", each.worker)
                       and cover_rules.covering(case_covers(ctx, each.id), whose, now))
            for item in deadlines_mod.deadlines(each, policy, now) + mismatch(ctx, each, manages) + rekey(ctx, each):
                keep, covered_by = listed(item, tables.instant(item.target or item.due), covered, each.worker)
                if keep and (not overdue_only or overdue(item)):
                    items.append(marked(replace(item, covered_by=covered_by) if covered_by else item, each.worker))
        items += conferences.due_items(ctx, whose, horizon, overdue_only, soon, cases)
        items += supervision.due_items(ctx, whose, horizon, overdue_only, soon)
        if removed:  # the cases whose keyworker has left the team (`rules.keyworker_off_team_item`)
            items += dueview.keyworker_items(ctx, whose, oversees, overdue_only, removed,
                                             [(each.id, each.worker, rules.keyworker_in_team(each), each.risk)
                                              for each in cases.values() if rules.keyworker_in_team(each)])
        if rules.cadre_restricted(ctx.team, policy):  # the open cases above their worker's cadre (`rules.cadre_escalation_item`)
            items += dueview.cadre_items(ctx, whose, oversees, overdue_only,
                                         [(each.id, each.worker, each.risk, rules.cadre_since(each)) for each in cases.values()
                                          if each.status == "open" and each.risk])
        items += complaints.due_items(ctx, whose, horizon, overdue_only, soon)
        items += confidential.due_items(ctx, whose, horizon, overdue_only, soon)
        return sorted(items, key=lambda i: deadlines_mod.urgency(i, now, soon))
    for row in rows:
        # a colleague covering the case has its worker's items on their list, marked so (a
        # supervisor or manager never covers: they read every case already)
        covered = (not oversees and whose not in ("all", row.worker)
                   and cover_rules.covering(case_covers(ctx, row.case_id), whose, now))
        for entry in row.items:
            keep, covered_by = listed(entry[0], row.instant_of(entry), covered, row.worker)
            if keep:
                item = row.deadline(entry, covered_by)
                if not overdue_only or overdue(item):
                    items.append(marked(item, row.worker))
        if row.rekey is not None:  # its `case-readers` item, due at once, made from the mark its entry keeps
            item = row.rekey_item(now)
            keep, covered_by = listed(item, tables.instant(item.due), covered, row.worker)
            if keep and (not overdue_only or overdue(item)):
                items.append(marked(replace(item, covered_by=covered_by) if covered_by else item, row.worker))
    # conference items (the report after a meeting, the next conference to hold, a child admitted to a CCI)
    items += conferences.due_items(ctx, whose, horizon, overdue_only, soon,
                                   admission=lambda conferenced: tables.admission_items(ctx, rows, conferenced))
    items += supervision.due_items(ctx, whose, horizon, overdue_only, soon)  # each caseworker's next supervision session
    if removed:  # the cases whose keyworker has left the team, told from the team now (`rules.keyworker_off_team_item`)
        items += dueview.keyworker_items(ctx, whose, oversees, overdue_only, removed,
                                         [(row.case_id, row.worker, row.keyworker, row.risk) for row in rows if row.keyworker])
    if rules.cadre_restricted(ctx.team, policy):  # the open cases above their worker's cadre, told from the team now
        items += dueview.cadre_items(ctx, whose, oversees, overdue_only,
                                     [(row.case_id, row.worker, row.risk, row.cadre_since) for row in rows if row.risk])
    items += complaints.due_items(ctx, whose, horizon, overdue_only, soon)  # a response to each open complaint you read
    items += confidential.due_items(ctx, whose, horizon, overdue_only, soon)  # an entry you read whose readers lag the team
    return sorted(items, key=lambda i: deadlines_mod.urgency(i, now, soon))


def mismatch(ctx: Context, case: Case, manages: bool) -> list[deadlines_mod.Deadline]:
    """The managers' `restriction-mismatch` item of a case (`deadlines.restriction_mismatch`: its `recipients` file's
    `# restricted` line against its records), for a list that holds the managers' items (`manages`), else none (its
    file is not read). The due table keeps it in the case's entry instead (service/tables.py `_case_answer`)."""
    return deadlines_mod.restriction_mismatch(case, ctx.policy, ctx.now, case_restricted(ctx, case.id)) if manages else []


def rekey(ctx: Context, case: Case) -> list[deadlines_mod.Deadline]:
    """The `case-readers` item of a case whose `recipients` file has `# rekey:` lines (`deadlines.case_rekey`), for the
    lists built from the folded cases; the due table keeps the mark in the case's entry instead, and `due` makes the
    item from it (`tables.CaseDue.rekey_item`)."""
    restricted, marked = tables.case_lines(ctx, case.id)
    return deadlines_mod.case_rekey(case, ctx.now, marked, restricted)


def _window(ctx: Context, worker: str | None, within_days: float | None):
    """Whose list `due` makes, whether they oversee others' cases, how far ahead it looks, and
    the policy's due-soon window."""
    me = ctx.need_worker()
    soon = deadlines_mod.soon_window(ctx.policy, ctx.now)
    horizon = ctx.now + (timedelta(days=within_days) if within_days is not None else soon)
    whose = worker or me.id
    if whose != "all" and whose != me.id and ctx.team.get(whose, include_removed=True) is None:
        raise NotFound("--worker: no worker by that id in the team", "See cpcm team list.")
    if whose not in ("all", me.id) and ctx.team.get(whose) is None:  # removed: nothing is theirs any more
        ctx.notices.append(f"--worker {whose} is no longer an active member of the team: what is listed for them is of cases "
                           "still assigned to them, which nobody has now (assign each: cpcm assign CASE --worker OTHER; "
                           "every case: cpcm due --worker all)")
    return whose, approvals.approves(ctx.team.get(whose)), horizon, soon


def manages_list(ctx: Context, whose: str) -> bool:
    """Whether the list of `whose` holds the items only a manager acts on (a closed case's retention,
    `clocks.MANAGERS`): an active manager's list, and every case's ('all') when a manager asks for it."""
    member = ctx.worker if whose == "all" else ctx.team.get(whose)
    return member is not None and member.active and member.has_role("manager")


def due_list(ctx: Context, worker: str | None = None, within_days: float | None = None,
             overdue_only: bool = False) -> Sequence[deadlines_mod.Deadline]:
    """`due` as a Sequence, from the due view of the last commit (service/dueview.py: its
    `plain_text` prints the lines kept ready); `due`'s list when the session keeps no views."""
    from cpcm.service import dueview

    whose, oversees, horizon, soon = _window(ctx, worker, within_days)
    found = dueview.due_view(ctx, whose, oversees, horizon, soon, overdue_only)
    return found if found is not None else due(ctx, worker, within_days, overdue_only)


def team_lists(ctx: Context) -> tuple[list[str], list[str]]:
    """What a supervisor's or manager's own `due` says of the team's lists: the case of each item on
    every case's list that is URGENT and not yet overdue, and of each overdue one, but those their
    own list holds (their own items, the approvals and conferences, the case-work items every
    overseer's list holds: `deadlines.OVERSEEN_CODES`, a keyworker off the team) and those of a
    case nobody has (`worker_removed`). From the due view's columns where there is one (no item
    made for each: `DueView.tally`)."""
    from cpcm.workflow.clocks import MANAGERS, SUPERVISORS

    me = ctx.need_worker().id

    def counted(owner: str, code: str, removed: bool) -> bool:
        return owner not in (me, SUPERVISORS, MANAGERS) and not removed and code != rules.KEYWORKER_OFF_TEAM \
            and code not in deadlines_mod.OVERSEEN_CODES
    items = due_list(ctx, worker="all")
    tally = getattr(items, "tally", None)
    if tally is not None:
        return tally(counted)
    now = ctx.now
    others = [i for i in items if counted(i.owner, i.code, bool(getattr(i, "worker_removed", False)))]
    return ([i.case_id for i in others if deadlines_mod.is_urgent(i) and now <= i.due],
            [i.case_id for i in others if now > i.due])


def check(ctx: Context, case_id: str | None = None, say=in_english) -> list[rules.Problem]:
    """Every rule problem in one case, or in every case you can read plus the caseloads; those marked
    for the catalogs said in the language of `say` (`say_for`, at the terminal; English by default:
    the JSON's)."""
    from cpcm.service.referrals import override_purposes

    me = ctx.need_worker()
    # a restriction's mismatch, a closed case's retention: a manager's to put right, and told to them only
    manages = manages_list(ctx, me.id)
    purposes = override_purposes(ctx)  # an override stored with a purpose the command refuses now
    undecided, absent = rules.NobodyDecides(ctx.team), rules.off_team(ctx.team)

    def kinds(case: Case) -> tuple[list[rules.Problem], ...]:
        """A case's problems by kind, in the order they are listed: its own rules, its worker off the team, its
        keyworker off the team, its risk above its worker's cadre."""
        workers = rules.check_workers([case], ctx.team, ctx.policy, ctx.now, absent)
        return (rules.check_case(case, ctx.policy, ctx.now, undecided, manages, say)
                + rules.check_override_purposes(case, ctx.policy, purposes) + rules.check_restriction(mismatch(ctx, case, manages)),
                [p for p in workers if p.code != rules.KEYWORKER_OFF_TEAM], [p for p in workers if p.code == rules.KEYWORKER_OFF_TEAM],
                rules.check_cadres([case], ctx.team, ctx.policy))

    if case_id:
        return [p for listed in kinds(load_case(ctx, case_id)) for p in listed]
    # a case at a time (`CaseStream`: every folded case held was 1.1 GB at 100,000 cases), each kind of problem
    # listed by case ID as when every case was checked together
    counts: Counter = Counter()
    found: list[tuple[int, str, list[rules.Problem]]] = []  # (kind, case ID, the case's problems of that kind)
    for case in CaseStream(ctx, on_disk=True):
        found += [(kind, case.id, listed) for kind, listed in enumerate(kinds(case)) if listed]
        counts.update(rules.caseloads([case]))
    problems = [p for _, _, listed in sorted(found, key=lambda f: f[:2]) for p in listed]
    problems += rules.check_caseload_counts(counts, ctx.team, ctx.policy)
    problems += supervision.problems(ctx)  # supervision overdue, and caseworkers per supervisor
    problems += conferences.problems(ctx)  # a conference plan not approved in time (Form 3 item 4)
    problems += complaints.problems(ctx)  # a complaint you read not responded to in time (never one about you)
    return problems


def policy_rows(policy) -> list[dict]:
    """Every rule value in force, with where it was set and its source."""
    rows = []
    for rule, block in policy.rules.items():
        for key, value in _leaves(block):
            if key.split(".")[0] in ("source", "sources", "choice", "note"):
                continue
            rows.append({"rule": rule, "key": key, "value": value,
                         "set_in": policy.origins.get(f"{rule}.{key}") or policy.origins.get(rule, ""),
                         "source": policy.source(rule, key)})
    return rows


def _leaves(block, prefix=""):
    for key, value in block.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
