"""A plan's goals and actions with stable IDs, the plan in force, and revising a plan from its
current version. Pure.

Every action of a case's plan has an ID, `A1`, `A2` …, and every goal one, `G1`, `G2` … (or the
short id a worker gave it). An ID names the same action in every later version and is never
given to another action of the case, not even after its action was taken out of the plan. So a
referral linked to `A2` is linked to that action for good, and a review's or follow-up's "A3
done" means the same thing in every version, until the case is reopened: a version written since
the reopening counts only the marks made since (`marks_since`). Two copies apart may each give
their next number to an action of their own: the sync names such IDs, and the marks of them
made before it count for neither action (`clashes`, `clashed`).

Plan versions written since IDs exist carry them (`id` on each goal and action). An older plan
version has none: its IDs are worked out by the same rule the service uses to number a version
written without them (`number`):

1. an ID given in the version is kept;
2. an action whose text (`what`, ignoring case and spacing) is that of an action of an earlier
   version keeps that action's ID (the latest such action's), unless this version already gave
   that ID to another action;
3. any other action takes the next number after every action ID the case has used.

Goals likewise, by their `goal` text. The fold runs this over the case's plan versions in the
order written, so every reader works the same IDs out of the same records.

The plan in force: where the policy needs a supervisor's approval (`plan_approval.required`),
the latest approved version, even while a newer version waits for a decision, was rejected or
was withdrawn by its author; elsewhere the latest version.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone, tzinfo
from typing import Any, Iterable, Mapping

from cpcm.domain.dates import end_of_day
from cpcm.domain.forms import laid_over
from cpcm.domain.policy import Policy
from cpcm.domain.records import Record, utc
from cpcm.workflow import approvals

ACTION, GOAL = "A", "G"
_ID = re.compile(r"^([AG])([1-9][0-9]{0,5})$")
NEW = re.compile(r"^new[0-9]{0,3}$", re.IGNORECASE)  # a new goal or action in a revision's changes
POSITION = re.compile(r"^(goals|actions)\[")  # an item named by its place in the list (actions[2]), not by its ID
DONE = ("done", "dropped")  # a finished action (a review's progress status, or `--done`)
# the keys of a plan's summary (the fold's case.plan) that belong to the case, not to one version
CARRIED = ("last", "known", "versions", "status", "count")


def key(text: Any) -> str:
    """A short digest of an action's or goal's text, ignoring case and spacing: what `number`
    matches on (the summary keeps the digest, not the text)."""
    words = " ".join(str(text or "").split()).casefold()
    return hashlib.sha256(words.encode()).hexdigest()[:16]


def id_number(value: Any, prefix: str) -> int | None:
    """12 for 'A12' (prefix 'A'); None when `value` is not an ID of that kind."""
    match = _ID.match(str(value or "").strip().upper())
    return int(match.group(2)) if match and match.group(1) == prefix else None


def _number_items(items: list[Mapping[str, Any]], text_key: str, prefix: str, last: int,
                  known: Mapping[str, str]) -> tuple[list[str], int]:
    """The IDs of one version's goals or actions (see the module's rule) and the new highest
    number."""
    ids: list[str | None] = []
    taken: set[str] = set()
    for item in items:  # 1. the IDs given
        given = str(item.get("id") or "").strip()
        if prefix == ACTION:
            given = given.upper()
        if given and given not in taken:
            ids.append(given)
            taken.add(given)
        else:
            ids.append(None)
        number = id_number(given, prefix)
        if number:
            last = max(last, number)
    for index, item in enumerate(items):  # 2. the same text as before; 3. the next number
        if ids[index] is not None:
            continue
        before = known.get(key(item.get(text_key)))
        if before and before not in taken:
            ids[index] = before
        else:
            last += 1
            ids[index] = f"{prefix}{last}"
        taken.add(ids[index])
        last = max(last, id_number(ids[index], prefix) or 0)
    return [str(i) for i in ids], last


def number(body: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[str, Any]:
    """The goals and actions of a plan version with their IDs, and what the case has used so far.

    `before`: the summary of the case's previous plan version (the fold's `case.plan`), or None.
    Returns `goals` [{id, key}], `actions` [{id, key, by, who, goal}], `last` {A: n, G: n} (the
    highest numbers used), `known` {A: {key: id}, G: {key: id}} (every text seen, with its
    latest ID). A goal an action names by the goal's position in the version (G2 for the second
    goal, the rule before goals kept their IDs) is read as that goal."""
    before = before or {}
    last = dict(before.get("last") or {ACTION: 0, GOAL: 0})
    known = {ACTION: dict((before.get("known") or {}).get(ACTION) or {}),
             GOAL: dict((before.get("known") or {}).get(GOAL) or {})}
    goals = [g for g in body.get("goals") or [] if isinstance(g, Mapping)]
    actions = [a for a in body.get("actions") or [] if isinstance(a, Mapping)]
    goal_ids, last[GOAL] = _number_items(goals, "goal", GOAL, int(last.get(GOAL) or 0), known[GOAL])
    action_ids, last[ACTION] = _number_items(actions, "what", ACTION, int(last.get(ACTION) or 0), known[ACTION])
    out_goals = []
    for goal_id, goal in zip(goal_ids, goals):
        out_goals.append({"id": goal_id, "key": key(goal.get("goal"))})
        known[GOAL][key(goal.get("goal"))] = goal_id
    out_actions = []
    for action_id, action in zip(action_ids, actions):
        out_actions.append({"id": action_id, "key": key(action.get("what")), "by": str(action["by"])[:10] if action.get("by") else None,
                            "who": action.get("who"), "goal": action.get("goal")})
        known[ACTION][key(action.get("what"))] = action_id
    return {"goals": out_goals, "actions": out_actions, "last": last, "known": known}


def with_ids(body: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[str, Any]:
    """A plan version's body with an `id` on every goal and action (`number`), as the service
    writes it. A goal named by an action through its position (G2, where the goals carry no
    IDs) is named by its ID."""
    out = dict(body)
    numbered = number(body, before)
    goals = [dict(g) for g in body.get("goals") or []]
    positional = {}
    for index, (goal, ids) in enumerate(zip(goals, numbered["goals"]), start=1):
        if not str(goal.get("id") or "").strip():
            positional[f"G{index}"] = ids["id"]
        goal["id"] = ids["id"]
    given = {str(g["id"]) for g in goals}
    actions = []
    for action, ids in zip([dict(a) for a in body.get("actions") or []], numbered["actions"]):
        action = {"id": ids["id"], **{k: v for k, v in action.items() if k != "id"}}
        goal = str(action.get("goal") or "").strip()
        if goal and goal in positional and goal not in given - set(positional.values()):
            action["goal"] = positional[goal]
        actions.append(action)
    out["goals"] = [{"id": g["id"], **{k: v for k, v in g.items() if k != "id"}} for g in goals]
    out["actions"] = actions
    return out


def ids_by_version(records: Iterable[Record]) -> dict[str, dict[str, list[str]]]:
    """Each plan version's goal and action IDs, {record_id: {'goals': [...], 'actions': [...]}},
    worked out as the fold does. `records`: the case's records in force (the fold's
    `effective`), in order; other kinds are skipped."""
    out: dict[str, dict[str, list[str]]] = {}
    before: Mapping[str, Any] | None = None
    for record in records:
        if record.kind != "plan":
            continue
        before = {**number(record.body, before)}
        out[record.id] = {"goals": [g["id"] for g in before["goals"]], "actions": [a["id"] for a in before["actions"]]}
    return out


# -- the fold: the plan's summary, versions, links and marks -------------------------------------------
def summary(record: Record, before: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fold's `case.plan` after a plan version: the version's own facts, its numbered goals
    and actions, and what the case carries over from the versions before (the IDs used, each
    version's action IDs, the actions marked done, the version in force while this one waits)."""
    before = before or {}
    count = int(before.get("count") or before.get("version") or 0) + 1
    numbered = number(record.body, before)
    versions = dict(before.get("versions") or {})
    versions[record.id] = [a["id"] for a in numbered["actions"]]
    return {
        "record_id": record.id, "at": utc(record.at), "by": record.by, "version": count, "count": count,
        "reason": record.body.get("reason"), "closure_criteria": bool(record.body.get("closure_criteria")),
        "review_date": record.body.get("review_date"), "approved_at": None, "approved_by": None, "rejected_at": None,
        "withdrawn_at": None, **numbered, "stored_ids": stored(record.body), "versions": versions,
        "status": dict(before.get("status") or {}), "previous": _in_force_before(before),
        "written_over": _own(before) if approvals.waiting_version(before) else None,
    }


def _own(plan: Mapping[str, Any]) -> dict[str, Any]:
    """A version's own keys: its summary without the case-wide keys and the versions it keeps."""
    return {k: v for k, v in plan.items() if k not in CARRIED and k not in ("previous", "written_over")}


def _in_force_before(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    """What stays in force while the next version waits: this version if it was approved, else
    the one that was in force while it waited. Kept without the case-wide keys."""
    if not plan:
        return None
    if plan.get("approved_at"):
        return _own(plan)
    return plan.get("previous")


def written_over(plan: Mapping[str, Any] | None, target: Any) -> dict[str, Any] | None:
    """The version before the latest, when a decision names it (`target`) and it was still waiting
    when the latest was written: decided on a copy apart where it was the latest, while the other
    wrote the next (plans-concurrent). Such a decision decides it as it would have on one copy:
    approved, it is the version in force while the latest waits (fold._decision). None otherwise."""
    over = (plan or {}).get("written_over")
    return over if over and target is not None and over.get("record_id") == target else None


def link(plan: Mapping[str, Any] | None, plan_action: Any) -> str | None:
    """The action ID a referral's `plan_action` names: `{plan: RECORD-ID, action: 'A2'}`, or, as
    written before action IDs, `{plan: RECORD-ID, action: 2}` (the second action of that version)."""
    if not isinstance(plan_action, Mapping):
        return None
    action = plan_action.get("action")
    if isinstance(action, str) and id_number(action, ACTION):
        return action.strip().upper()
    if isinstance(action, bool) or not isinstance(action, int):
        return None
    ids = ((plan or {}).get("versions") or {}).get(plan_action.get("plan"))
    if ids is None and plan and plan.get("record_id") == plan_action.get("plan"):
        ids = [a["id"] for a in plan.get("actions") or []]
    if ids is None:
        return f"A{action}"  # a version this case does not hold (a merge): its position is all there is
    return ids[action - 1] if 1 <= action <= len(ids) else None


def marks(record: Record, plan: Mapping[str, Any] | None) -> dict[str, str]:
    """The action statuses a follow-up or review sets: each ID in its `actions_done` ('done'), and
    each action item of a review's `progress` (its status). A progress item written before
    action IDs named the action by its position in the plan of the time; that is read as its ID."""
    out: dict[str, str] = {}
    if record.kind == "review":
        stored = _stored_ids(plan)
        ids = [a["id"] for a in (plan or {}).get("actions") or []]
        for item in record.body.get("progress") or []:
            if not isinstance(item, Mapping):
                continue
            number_ = id_number(item.get("item"), ACTION)
            if not number_ or item.get("status") is None:
                continue
            name = f"A{number_}"
            if not stored and 1 <= number_ <= len(ids):
                name = ids[number_ - 1]
            out[name] = str(item.get("status")).strip()
    if record.kind in ("followup", "review"):
        for value in record.body.get("actions_done") or []:
            if id_number(value, ACTION):
                out[str(value).strip().upper()] = "done"
    return out


def _stored_ids(plan: Mapping[str, Any] | None) -> bool:
    """Whether the version's actions carry IDs of their own (written since action IDs exist),
    so that a review's A3 is the ID, not the position."""
    return bool(plan and plan.get("stored_ids"))


def track(plan: Mapping[str, Any] | None, record: Record) -> Mapping[str, Any] | None:
    """The fold's `case.plan` after any record: a follow-up's or review's marks on actions, a
    withdrawal of the waiting version, a sync's plans-concurrent that found an action ID given to
    two actions apart (the marks of it before count for neither: `clashed`). Other records leave
    it as it is."""
    if not plan:
        return plan
    if record.kind in ("followup", "review"):
        found = marks(record, plan)
        if found:
            status = dict(plan.get("status") or {})
            for action_id, value in found.items():
                status[action_id] = {"status": value, "at": utc(record.at), "by": record.by}
            return {**plan, "status": status}
    unmarked = [i for i in clashed(record) if i in (plan.get("status") or {})]
    if unmarked:  # marked on either copy before the merge: of one of two actions numbered alike, which is not known
        return {**plan, "status": {k: v for k, v in plan["status"].items() if k not in unmarked}}
    if record.kind == "withdrawal" and record.body.get("subject", "plan") == "plan" \
            and record.body.get("target") in (None, plan.get("record_id")) and approvals.waiting_version(plan):
        return {**plan, "withdrawn_at": utc(record.at), "withdrawn_by": record.by}
    return plan


# -- one action ID given apart to two actions (plans-concurrent) ---------------------------------------
PLANS_CONCURRENT = "plans-concurrent"
CLASHED = "actions"  # a plans-concurrent's field: the action IDs the two copies gave to different actions


def clashes(shared: Iterable[Mapping[str, Any]], apart: tuple[Iterable[Mapping[str, Any]], Iterable[Mapping[str, Any]]]) -> list[str]:
    """The action IDs two copies each gave, apart, to a different action: numbered from the same
    versions (`shared`: the plan bodies both copies held, in the order written), each copy's next
    new action takes the same next number (`apart`: each copy's plan bodies written apart, in
    order), so A3 is the school uniform on one copy and the counselling referral on the other. An
    ID counts when neither copy had it before and the texts they gave it differ (the same action
    added on both is none; an action both had, reworded on one, keeps its ID as it should)."""
    before: Mapping[str, Any] | None = None
    for body in shared:
        before = number(body, before)
    last = int(((before or {}).get("last") or {}).get(ACTION) or 0)
    given: list[dict[str, set[str]]] = []
    for side in apart:
        texts: dict[str, set[str]] = {}
        numbered = before
        for body in side:
            numbered = number(body, numbered)
            for action in numbered["actions"]:
                if (id_number(action["id"], ACTION) or 0) > last:
                    texts.setdefault(action["id"], set()).add(action["key"])
        given.append(texts)
    both = [i for i in given[0].keys() & given[1].keys() if given[0][i] != given[1][i]]
    return sorted(both, key=lambda i: id_number(i, ACTION) or 0)


def clashed(record: Record) -> list[str]:
    """The action IDs a sync's plans-concurrent record names as given to different actions on two
    copies apart (`clashes`). What either copy marked of them before the merge (a follow-up's or
    review's `--done`, a review's progress) was of its own action, and the fold cannot tell which
    copy marked it: those marks count for neither (`track`, open_items.progress), and the action
    in force is open until it is marked again, seeing both."""
    if record.kind != "sync_conflict" or record.body.get("code") != PLANS_CONCURRENT:
        return []
    return [str(i).strip().upper() for i in record.body.get(CLASHED) or () if id_number(i, ACTION)]


def stored(body: Mapping[str, Any]) -> bool:
    """Whether every action of a plan version carries an ID of its own."""
    actions = body.get("actions") or []
    return bool(actions) and all(isinstance(a, Mapping) and id_number(a.get("id"), ACTION) for a in actions)


# -- the plan in force, open actions -------------------------------------------------------------------
WRITTEN, APPROVED = "written", "approved"


def in_force_event(policy: Policy) -> str:
    """What brings a plan version into force: its approval (APPROVED) where the policy needs one
    (`plan_approval.required`), else its writing (WRITTEN). THE rule `in_force`,
    `deadlines.plan_in_force_at` and the statistics report (versions in force) read; a version
    rejected, withdrawn or still waiting is not in force."""
    return APPROVED if approvals.required(policy, "plan") else WRITTEN


def in_force(plan: Mapping[str, Any] | None, policy: Policy) -> Mapping[str, Any] | None:
    """The summary of the plan version in force: where the policy needs approval, the latest
    approved version (a newer one waiting, rejected or withdrawn leaves it in force)."""
    if not plan:
        return None
    if in_force_event(policy) == WRITTEN:
        return plan
    if plan.get("approved_at"):
        return plan
    return plan.get("previous")


def waiting_over(plan: Mapping[str, Any] | None, policy: Policy) -> Mapping[str, Any] | None:
    """The version in force while a newer one waits for a decision (or was rejected or
    withdrawn); None when the latest version is the one in force, or none is."""
    current = in_force(plan, policy)
    return current if current is not None and plan is not None and current.get("record_id") != plan.get("record_id") else None


def superseded_in_force(plan: Mapping[str, Any] | None, record_id: str | None, policy: Policy) -> Mapping[str, Any] | None:
    """The version in force where a later version than `record_id` (a plan version's record in
    force: the correction, for one corrected) is: written since by a later conference's close or
    the worker's `cpcm plan`, and in force. None when `record_id` is the version in force, a later
    version is not in force (it waits, was rejected or withdrawn), or the case holds no such
    version. THE rule the hint after mending a closed conference's minutes names the version to
    correct by, and `cpcm correct` of a plan version warns by: a correction of a superseded
    version changes neither the plan in force nor what `cpcm due` and `cpcm check` read."""
    current = in_force(plan, policy)
    order = list((plan or {}).get("versions") or {})  # each version's record in force, in the order written
    if not current or not record_id or record_id not in order or current.get("record_id") not in order:
        return None
    return current if order.index(current["record_id"]) > order.index(record_id) else None


def waiting_after(plan: Mapping[str, Any] | None, record_id: str | None, policy: Policy) -> Mapping[str, Any] | None:
    """The latest version where it waits for a decision (`approvals.waiting_version`: the policy
    needs approval, and it is neither approved, rejected nor withdrawn) and was written after
    `record_id` (a plan version's record in force); else None. THE rule the hint after mending a
    closed conference's minutes, and `cpcm correct` of a plan version, name a waiting version by:
    it copied the actions as they were, and its approval puts them back in force, so a correction
    of an earlier version alone is undone by that approval."""
    order = list((plan or {}).get("versions") or {})  # each version's record in force, in the order written
    if waiting_over(plan, policy) is None or not approvals.waiting_version(plan) or not record_id or record_id not in order:
        return None
    latest = (plan or {}).get("record_id")
    return plan if latest in order and order.index(latest) > order.index(record_id) else None


def marks_since(version_at: str | None, reopened: Iterable[str] | str | None) -> str | None:
    """From when the marks on a plan version's goals and actions (`--done`, a review's progress)
    count for it: from the case's latest reopening at or before the version (`reopened`: the
    case's reopenings, UTC, as the fold's `reopen` events, or one) for a version written since one,
    else from the start (None). A reopened case is planned again (IAG Step 6 [L946]): an action
    marked done before the reopening was done for the plan of before, and the new plan's action of
    that ID (given, or kept for the same text) is open until marked after the reopening; a later
    reopening with no version since leaves the version's marks as they were. THE rule the fold's
    marks (`open_actions`, `to_date`, `conference_action`) and the records' (`open_items.progress`) read."""
    if not reopened or not version_at:
        return None
    at = utc(version_at)
    earlier = [r for r in ([reopened] if isinstance(reopened, str) else reopened) if r and r <= at]
    return max(earlier) if earlier else None


def action_status(plan: Mapping[str, Any] | None, action_id: str, since: str | None = None) -> str | None:
    """The latest mark on action `action_id` (None: none yet); `since` (UTC): only a mark made
    at or after it counts (`marks_since`)."""
    entry = ((plan or {}).get("status") or {}).get(action_id)
    if not entry or (since and entry.get("at") and utc(entry["at"]) < since):
        return None
    return entry.get("status")


def is_open(status: Any) -> bool:
    return (str(status).strip() if status is not None else None) not in DONE


def open_actions(plan: Mapping[str, Any] | None, policy: Policy, reopened: Iterable[str] | None = None) -> list[Mapping[str, Any]]:
    """The actions of the plan in force not marked done or dropped, in the plan's order, each
    {id, by, who, goal, status}. `reopened`: the case's reopenings (`Case.reopenings`): a version
    written since one counts only the marks made since (`marks_since`)."""
    current = in_force(plan, policy)
    if not current:
        return []
    since = marks_since(current.get("at"), reopened)
    return [dict(a, status=action_status(plan, a["id"], since)) for a in current.get("actions") or []
            if is_open(action_status(plan, a["id"], since))]


def to_date(records: Iterable[Record], plan: Mapping[str, Any] | None, policy: Policy,
            reopened: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every action of the plan version in force, in the plan's order, with its status as the
    case's reviews and follow-ups left it (the status `open_actions` reads, `reopened` as there;
    None: none given yet): [{id, what, by, status}]. `records`: the case's records (the version's
    own text is in its record). The Kenya SOP Form 8's "progress and actions to date"."""
    current = in_force(plan, policy)
    if not current:
        return []
    since = marks_since(current.get("at"), reopened)
    body = next((r.body for r in records if r.id == current.get("record_id")), None) or {}
    texts = [a for a in body.get("actions") or [] if isinstance(a, Mapping)]
    out = []
    for index, action in enumerate(current.get("actions") or []):
        what = str(texts[index].get("what") or "").strip() if index < len(texts) else ""
        out.append({"id": action["id"], "what": what, "by": action.get("by"), "status": action_status(plan, action["id"], since)})
    return out


def parse_action(value: Any) -> str | None:
    """An action ID as typed: 'A2', 'a2', or a bare 2 (read as A2); None when it is none of these."""
    text = str(value).strip().upper()
    if text.isdigit():
        text = f"A{int(text)}"
    return text if id_number(text, ACTION) else None


def action_ids(plan: Mapping[str, Any] | None, policy: Policy) -> list[str]:
    """The IDs of the actions of the latest plan version and of the one in force."""
    ids = [a["id"] for a in (plan or {}).get("actions") or []]
    ids += [a["id"] for a in (in_force(plan, policy) or {}).get("actions") or [] if a["id"] not in ids]
    return ids


def not_an_action(ids: list[str]) -> str:
    """Why an action ID typed (`--done`, `--action`) is refused, with the plan's actions."""
    return f"is not an action of the plan (its actions: {', '.join(ids) or 'none: no plan yet'})"


def goal_ids(plan: Mapping[str, Any] | None, policy: Policy) -> list[str]:
    """The IDs of the goals of the latest plan version and of the one in force."""
    found: list[str] = []
    for version in (plan, in_force(plan, policy)):
        found += [g["id"] for g in (version or {}).get("goals") or [] if isinstance(g, Mapping) and g.get("id") and g["id"] not in found]
    return found


def due_at(by: str, zone: tzinfo) -> datetime:
    """A date-only `by`: the end of that day in the zone of `now` (`dates.end_of_day`, as every
    deadline given as a date)."""
    return end_of_day(date.fromisoformat(by[:10]), zone)


# -- the dates of a new version's actions -----------------------------------------------------------
def dates_before(body: Mapping[str, Any], plan: Mapping[str, Any] | None, policy: Policy, day: date) -> tuple[list[tuple[int, str, str]], list[str]]:
    """The actions of a new plan version (`body`, every action with its ID) whose date (`by`) is
    before `day`, the version's own date: ([(place from 1, ID, by)] of those typed in this version,
    [IDs] of the open ones it keeps). An action's date is kept when the version before
    (`plan`, the fold's `case.plan`: the latest version, or the one in force) gives the same action
    the same date: a version written from the current one (--from-current) keeps an open action
    whose date has passed as it is, and that is no new date (it is reported overdue, as it was).
    Any other date, a new action's or a date changed, is typed in this version: one before the
    plan's own day would be overdue the moment the plan is written (`plan-action-overdue`)."""
    plan = plan or {}
    kept = {(str(a.get("id")), str(a.get("by") or "")[:10]) for version in (plan, in_force(plan, policy) or {})
            for a in version.get("actions") or [] if isinstance(a, Mapping)}
    typed, old = [], []
    for place, action in enumerate(body.get("actions") or [], start=1):
        if not isinstance(action, Mapping) or not action.get("by"):
            continue
        by = str(action["by"])[:10]
        try:
            passed = date.fromisoformat(by) < day
        except ValueError:  # the form names a date that is not one
            continue
        if not passed:
            continue
        if (str(action.get("id")), by) not in kept:
            typed.append((place, str(action.get("id")), by))
        elif is_open(action_status(plan, str(action.get("id")))):
            old.append(str(action.get("id")))
    return typed, old


# -- revising a version: the changes a script gives -------------------------------------------------
def current_body(records: Iterable[Record], plan: Mapping[str, Any] | None, policy: Policy) -> Record | None:
    """The version a revision starts from: the latest, unless its author withdrew it (then the
    version in force)."""
    if not plan:
        return None
    wanted = plan.get("record_id")
    if plan.get("withdrawn_at"):
        current = in_force(plan, policy)
        wanted = current.get("record_id") if current else None
    return next((r for r in records if r.id == wanted), None) if wanted else None


def _items(body: Mapping[str, Any], name: str, ids: list[str]) -> list[dict]:
    return [{"id": item_id, **{k: v for k, v in dict(item).items() if k != "id"}}
            for item_id, item in zip(ids, body.get(name) or [])]


def revise(body: Mapping[str, Any], ids: Mapping[str, list[str]], changes: Mapping[str, Any],
           remove: Iterable[str] = (), last: Mapping[str, int] | None = None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The next version from `body` (the current version, its goal and action IDs in `ids`
    {'goals': [...], 'actions': [...]}) and `changes`: `{field: value}` for a plan field,
    `{'goals': {'G1': {field: value}}}` and `{'actions': {'A2': {'by': ...}}}` for an item's
    fields, each laid over what the version holds as a correction lays it (`forms.laid_over`:
    `{'participants': {'child': 'no'}}` changes that answer only, every other one of the group
    stays; an empty value takes the field out), `new`, `new1`, `new2` … for a new goal or
    action (an action may name a new goal by that word), and `remove`: the IDs of goals or
    actions to take out. `last`: the highest goal and action numbers the case has used
    ({'A': n, 'G': n}): new items take the next ones.
    Returns the body (every item with its ID) and the problems as (field path, reason)."""
    counters = {ACTION: int((last or {}).get(ACTION) or 0), GOAL: int((last or {}).get(GOAL) or 0)}
    problems: list[tuple[str, str]] = []
    out = {k: v for k, v in dict(body).items() if k not in ("goals", "actions")}
    lists = {"goals": _items(body, "goals", list(ids.get("goals") or [])),
             "actions": _items(body, "actions", list(ids.get("actions") or []))}
    new_goals: dict[str, str] = {}
    for name in ("goals", "actions"):
        given = changes.get(name)
        if given is None:
            continue
        if not isinstance(given, Mapping):
            problems.append((name, f"takes the {name} by ID (--set {name}.{'G1.goal' if name == 'goals' else 'A1.by'}=...)"))
            continue
        by_id = {str(item["id"]).upper(): item for item in lists[name]}
        for item_id, fields in given.items():
            # an error names the item only by an ID's shape: a key typed may be anything (a name)
            path = f"{name}.{item_id}" if _ID.match(str(item_id).upper()) or NEW.match(str(item_id)) else f"{name} (a key)"
            if not isinstance(fields, Mapping):
                problems.append((path, "takes fields (e.g. " + (f"{path}.goal=..." if name == "goals" else f"{path}.by=...") + ")"))
                continue
            if "id" in fields:
                problems.append((f"{path}.id", "cannot be changed: IDs stay with their goal or action"))
                continue
            if NEW.match(str(item_id)):
                prefix = GOAL if name == "goals" else ACTION
                counters[prefix] += 1
                item = {"id": f"{prefix}{counters[prefix]}", **{k: v for k, v in fields.items() if v not in (None, "")}}
                lists[name].append(item)
                if name == "goals":
                    new_goals[str(item_id).lower()] = item["id"]
                continue
            target = by_id.get(str(item_id).upper()) or next((i for i in lists[name] if str(i["id"]) == str(item_id)), None)
            if target is None:
                have = ", ".join(str(i["id"]) for i in lists[name]) or "none"
                problems.append((path, f"no {name[:-1]} with that ID in the current version ({have}; new, new1 … for a new one)"))
                continue
            merged = laid_over(target, fields)  # actions.A1.child_words.sw: A1's other words stay
            target.clear()
            target.update(merged)
    plain: dict[str, Any] = {}
    for field, value in changes.items():
        if field in ("goals", "actions"):
            continue
        if POSITION.match(str(field)):
            name = POSITION.match(str(field)).group(1)
            item, example = ("an action", "actions.A1.by") if name == "actions" else ("a goal", "goals.G1.goal")
            problems.append((name, f"takes {item} by its ID, not by its place in the list: --set {example}=... "
                                   f"(the IDs: {', '.join(str(i['id']) for i in lists[name]) or 'none'})"))
            continue
        plain[field] = value
    out = laid_over(out, plain)  # participants.child: the other participants stay, as a correction keeps them
    for item_id in remove:
        wanted = str(item_id).strip().upper()
        name = "actions" if wanted.startswith(ACTION) else "goals"
        before = len(lists[name])
        lists[name] = [item for item in lists[name] if str(item.get("id") or "").upper() != wanted]
        if len(lists[name]) == before:
            problems.append((f"--remove {name[:-1]}", f"no {name[:-1]} with that ID in the current version"))
    for action in lists["actions"]:  # an action naming a new goal by its word
        goal = str(action.get("goal") or "")
        if NEW.match(goal):
            if goal.lower() in new_goals:
                action["goal"] = new_goals[goal.lower()]
            else:
                problems.append((f"actions.{action.get('id')}.goal", "names a new goal that the changes do not add"))
    out["goals"], out["actions"] = lists["goals"], lists["actions"]
    return out, problems


# -- a conference's action as the next conference debriefs it (SOP Form 4 item 3, Form 3 item 9) ----------
# `carried`: whether the action is in the case's plan: in the version in force (YES), in a version that waits for a
# supervisor's approval (WAITING), or in none (NO: the version that held it was rejected or withdrawn, or a later version
# took it out). `status`: what the plan's tracking says of it now (one of DEBRIEF_STATUSES).
CARRIED_YES, CARRIED_WAITING, CARRIED_NO = "yes", "waiting", "no"
DEBRIEF_STATUSES = ("done", "in_progress", "not_started", "dropped", "overdue", "not_carried", "not_readable")


def conference_action(plan: Mapping[str, Any] | None, version: str | None, count: int, index: int, what: Any,
                      policy: Policy, now: datetime, reopened: Iterable[str] | None = None) -> dict[str, Any]:
    """One of a conference's actions for a case as it stands in the case's plan now: {action_id,
    carried, status, by}. `plan`: the case's plan summary (the fold's `case.plan`); `version`: the
    plan version the conference's close wrote (its link record's `plan`); `count`: how many actions
    the conference gave the case, appended in order at the end of that version; `index`: this one's
    place among them; `what`: its text (what names it where the version is not known); `reopened`:
    the case's reopenings, as `open_actions` reads them.

    The status is the plan's tracking (a follow-up's or review's `--done`, a review's progress):
    `done` and `dropped` as marked; otherwise `overdue` once its date (`by`, the end of that day in
    the zone of `now`) has passed, else `in_progress` as a review marked it, else `not_started`.
    An action not in the version in force (its version waits for approval, or none holds it) is
    `not_carried`, unless it was marked done or dropped. The date is the plan's (a later version
    may move it), else None."""
    plan = plan or {}
    # by its text first, as the plan knows an action (the same text keeps its ID): minutes mended since
    # the close may hold fewer actions, and their places no longer match the version's
    action_id = ((plan.get("known") or {}).get(ACTION) or {}).get(key(what))
    ids = (plan.get("versions") or {}).get(version) if version else None
    if action_id is None and ids and 0 <= index < count <= len(ids):  # its text reworded since: by its place
        action_id = ids[len(ids) - count + index]
    current = in_force(plan, policy) or {}
    found = next((a for a in current.get("actions") or [] if a.get("id") == action_id), None) if action_id else None
    carried = CARRIED_YES if found is not None else CARRIED_NO
    if found is None and action_id and approvals.waiting_version(plan):
        found = next((a for a in plan.get("actions") or [] if a.get("id") == action_id), None)
        carried = CARRIED_WAITING if found is not None else CARRIED_NO
    by = (found or {}).get("by")
    marked = action_status(plan, action_id, marks_since(current.get("at"), reopened)) if action_id else None
    marked = str(marked).strip() if marked is not None else None
    if marked in DONE:
        status = marked
    elif carried != CARRIED_YES:  # not in the plan in force: nothing tracks it yet, or any more
        status = "not_carried"
    elif by and _past(by, now):
        status = "overdue"
    elif marked == "in_progress":
        status = "in_progress"
    else:
        status = "not_started"
    return {"action_id": action_id, "carried": carried, "status": status, "by": by}


def _past(by: str, now: datetime) -> bool:
    try:
        return due_at(by, now.tzinfo or timezone.utc) < now
    except ValueError:
        return False
