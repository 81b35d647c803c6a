"""fold(records) -> Case: a case's current state is its records applied in order.

The stage follows the transition table; each record kind has a reducer for its data. A kind
this version does not know still appears in the history and changes nothing else, so newer
records never break an older reader; a record the table does not allow at its stage (from a
merge of two offline copies, say) is kept and listed in `anomalies` for `cpcm check`.

A record named by a later record's `supersedes` is left out: the later one (a correction, or a
repair of a damaged record) stands in its place (see `effective`). A record marked as written in
the wrong case (a `misfiled` record names it) is left out with every correction of it (`misfiled`). An `update` changes
registration fields; the latest value of each field wins.
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Callable, Iterable, Mapping

from cpcm.domain.case import Case, Entry
from cpcm.domain.records import CORRECTION_KEYS, MISFILED, Record, flatten, get_path, set_path, utc
from cpcm.workflow import consent as consent_rules
from cpcm.workflow import followups
from cpcm.workflow import keyworker as keyworker_rules
from cpcm.workflow import mandatory_report as mandatory_rules
from cpcm.workflow import placements, plan_actions, retention, transitions
from cpcm.workflow import transfers as transfer_rules
from cpcm.workflow.approvals import approved_under, waiting_closures, waiting_requests, waiting_transfers, waiting_version
from cpcm.workflow.clocks import CONFERENCE_MET, INTERIM_PLAN_NEEDED, REVIEW_DECIDED


def _plain(cls) -> bool:
    """Whether `dataclasses.replace` of a `cls` is what `_changed` does: every attribute a field
    set by __init__ as given, nothing run after it, kept in the instance's __dict__."""
    names = tuple(f.name for f in fields(cls))
    return (names == tuple(cls.__dataclass_fields__) and all(f.init for f in fields(cls))
            and not hasattr(cls, "__post_init__") and "__slots__" not in cls.__dict__)


_CASE_PLAIN = _plain(Case)
_CASE_FIELDS = frozenset(f.name for f in fields(Case))


def _changed(case: Case, **changes: Any) -> Case:
    """`dataclasses.replace(case, **changes)` at a fraction of its cost (the fold makes a new
    Case for nearly every record): the same fields, in the same order, holding the same values."""
    if type(case) is not Case or not _CASE_PLAIN or not changes.keys() <= _CASE_FIELDS:
        return replace(case, **changes)
    values = dict(case.__dict__)
    if len(values) != len(_CASE_FIELDS):  # something besides its fields, which `replace` would not carry over
        return replace(case, **changes)
    values.update(changes)
    made = object.__new__(Case)
    object.__setattr__(made, "__dict__", values)
    return made


# the body key of each kind that names another record of the case (a dotted path within the body): read
# through a correction; a placement names the best-interests assessment it rests on
REFERENCES = {"referral_update": "referral", "approval": "target", "rejection": "target", "withdrawal": "target",
              "placement": "decision.best_interests"}


def _referring(body: Mapping[str, Any], path: str, value: str) -> dict:
    """A copy of a record's body with `value` at `path` (a REFERENCES key, dotted, that it holds: `get_path` finds
    it); the record's own body is not changed."""
    key, _, rest = path.partition(".")
    return {**body, key: _referring(body[key], rest, value) if rest else value}


# MISFILED (cpcm/domain/records.py): the kind of the record that takes a record written in the wrong case out of it
# the kinds such a mark may take out: nothing else of the case's workflow stands on them
MISFILABLE = ("note", "followup")
MOVED_FROM = "moved_from"  # the body key of a record's copy written in the right case: {case, record, by} it was taken from
# the fields of a follow-up that act on the case it is written in (the fold reads them against that case): a
# copy moved to another case (--misfiled --to) with one of them would act on that case as it did on the first
ACTS_ON_CASE = {
    "risk": "rated the child's risk",
    "actions_done": "ticked off actions of the case's plan",
}


def acts_on_case(record: Record) -> list[str]:
    """The fields of a follow-up (`ACTS_ON_CASE`) that act on the case it is written in, in that order."""
    return [key for key in ACTS_ON_CASE if record.kind == "followup" and record.body.get(key)]


def moved_writer(record: Record) -> str:
    """Who wrote what `record` holds: for a copy moved in from another case (`moved_from`), its
    writer there (`moved_from.by`; a copy moved before that was kept: the worker who moved it);
    else the record's own `by`."""
    came = record.body.get(MOVED_FROM)
    by = came.get("by") if isinstance(came, Mapping) else None
    return by if isinstance(by, str) and by else record.by


def before_cut(records: Iterable[Record], keep: Callable[[Record], bool]) -> list[Record]:
    """The records `keep` keeps (a cut by time: as the case stood at a meeting), with every record
    taken out as written in the wrong case, and every mark, taken out first (`misfiled_out`): a
    mark is dated when it was written, so a cut between the record and its mark would bring back
    what was written in the wrong case."""
    records = records if isinstance(records, list) else list(records)
    out = misfiled_out(records)
    return [r for r in records if r.id not in out and keep(r)]


def misfiled(records: Iterable[Record]) -> dict[str, str]:
    """The records taken out of their case as written in the wrong case (`cpcm correct CASE RECORD
    --misfiled`) -> the `misfiled` record that took each out (the first, where two copies marked it
    apart). A mark takes out the whole chain of the record it names: the first record, and every
    correction of it, one written on another copy apart included, whatever their order: what was
    written in the wrong case stays out of it. Empty for nearly every case."""
    records = records if isinstance(records, list) else list(records)
    marks = sorted((r for r in records if r.kind == MISFILED and isinstance(r.body.get("supersedes"), str)), key=lambda r: r.id)
    if not marks:
        return {}
    by_id = {r.id: r for r in records}

    def first(record_id: str) -> str:
        while record_id in by_id:
            target = by_id[record_id].body.get("supersedes")
            if not isinstance(target, str) or target >= record_id:
                break
            record_id = target
        return record_id

    taken: dict[str, str] = {}  # the first record of a chain -> the mark that took it out
    for mark in marks:
        taken.setdefault(first(mark.body["supersedes"]), mark.id)
    return {r.id: taken[root] for r in records if r.kind != MISFILED and (root := first(r.id)) in taken}


def misfiled_out(records: Iterable[Record]) -> set[str]:
    """The record IDs a case's documents and what leaves the agency with it (a transfer's bundle,
    the case file, the child's own file) leave out: every record taken out as written in the wrong
    case (`misfiled`) and every mark that took one out (its reason may say whose it was)."""
    records = records if isinstance(records, list) else list(records)
    marks = {r.id for r in records if r.kind == MISFILED}
    return set(misfiled(records)) | marks if marks else set()


def effective(records: Iterable[Record]) -> list[Record]:
    """The records the fold applies, in the order they apply: by record ID (the order written),
    except that a record named by a later record's `supersedes` is left out and the latest
    record superseding it takes its place in that order (a correction of a registration is
    still the first record). A reference to a superseded record (a referral update's
    `referral`, an approval's `target`, the best-interests assessment a placement rests on:
    REFERENCES) is read as a reference to the record that replaced it.
    The superseded record itself stays on disk, in git and in `cpcm log`. A record marked as written
    in the wrong case is left out with every correction of it (`misfiled`); the mark stays, in the
    order written, and changes nothing."""
    ordered, place = _in_order(records)
    if not place:
        return ordered  # nothing superseded (nearly every case): the order written
    replaced_by = _replaced_by(ordered, place)
    out = []
    for record in ordered:
        if record.id in replaced_by:
            continue
        key = REFERENCES.get(record.kind)
        if key and (named := get_path(record.body, key)) in replaced_by:
            record = replace(record, body=_referring(record.body, key, replaced_by[named]))
        out.append(record)
    return sorted(out, key=lambda r: (place.get(r.id, r.id), r.id))


def in_force(records: Iterable[Record]) -> dict[str, str]:
    """Each superseded record's ID -> the ID of the record in force in its place (the latest
    correction of its chain), as `effective` reads a reference to it: an ID a worker names that
    was corrected since (a best-interests assessment a placement rests on) is found by it."""
    ordered, place = _in_order(records)
    return _replaced_by(ordered, place) if place else {}


def _in_order(records: Iterable[Record]) -> tuple[list[Record], dict[str, str]]:
    """The records by record ID, less those written in the wrong case (`misfiled`), and `places`
    of the corrections among them."""
    ordered = sorted(records, key=lambda r: r.id)
    if any(r.kind == MISFILED for r in ordered):
        withdrawn = misfiled(ordered)
        ordered = [r for r in ordered if r.id not in withdrawn]
    return ordered, places(ordered, {r.id for r in ordered})  # a correction -> the first record of its chain


def _replaced_by(ordered: list[Record], place: Mapping[str, str]) -> dict[str, str]:
    """Each superseded record of `ordered` -> the record in force in its place: two corrections of
    one record (offline copies merged), the later replaces the earlier."""
    replaced_by: dict[str, str] = {}  # a superseded record -> the record that superseded it

    def follow(record_id: str) -> str:
        while record_id in replaced_by:
            record_id = replaced_by[record_id]
        return record_id

    for record in ordered:
        if record.id in place:
            replaced_by[follow(record.body["supersedes"])] = record.id
    return {old: follow(old) for old in replaced_by}


def places(records: Iterable[Record], known: set[str] | None = None) -> dict[str, str]:
    """Each record's place in the order the fold applies the records (`effective`), as a record
    ID to compare: for a record superseding another (a correction, a repair) the ID of the record
    it stands in for, the first of the chain, so that "before the closure request" or "since the
    plan" reads a correction where its original was; any other record's place is its own ID (left
    out). `records`: all of a case's records, corrected ones too: the `effective` ones alone leave
    out what a correction of a correction corrects, and its place would be that correction's ID, not
    its first original's; `known`: only a `supersedes` naming one of these IDs counts (`effective`'s
    own use). Read as `places(records).get(record.id, record.id)`."""
    original: dict[str, str] = {}
    for record in records:
        target = record.body.get("supersedes")
        if isinstance(target, str) and target < record.id and (known is None or target in known):
            original[record.id] = target
    out = {}
    for record_id in original:
        place = record_id
        while place in original:
            place = original[place]
        out[record_id] = place
    return out


# the case fields a registration (and each update of it) sets
def _registered(body: dict) -> dict[str, Any]:
    """`body`: a dict of the caller's own, kept as the registration (not copied again)."""
    return {"registration": body, "child": dict(body.get("child") or {}), "location": body.get("location"),
            "caregiver_name": (body.get("caregiver") or {}).get("name"), "contact": body.get("contact"),
            "concerns": tuple(body.get("concerns") or ())}


def _registration(case: Case, record: Record) -> Case:
    body = record.body
    if "supersedes" in body or "correction_reason" in body:
        fields = _registered({k: v for k, v in body.items() if k not in CORRECTION_KEYS})
    else:
        fields = _registered(dict(body))
    at = utc(record.at)
    given = record.at if fields["child"].get("age_estimate") is not None else None  # the age at registration
    return _changed(case, risk=body.get("risk"), worker=body.get("worker") or record.by, registered_at=record.at,
                    concerns_since={c: at for c in fields["concerns"]}, age_given_at=given, **fields)


def apply_update(registration: Mapping[str, Any], changes: Mapping[str, Any]) -> dict:
    """The registration fields after an update: each dotted path set to its new value, or
    removed when the value is null."""
    flat = flatten(registration)
    for path, value in changes.items():
        for key in [k for k in flat if k == path or k.startswith(path + ".")]:
            del flat[key]
        if value is not None:
            flat[path] = value
    out: dict[str, Any] = {}
    for path, value in flat.items():
        set_path(out, path, value)
    return out


def _update(case: Case, record: Record) -> Case:
    changes = record.body.get("changes") or {}
    fields = _registered(apply_update(case.registration or {}, changes))
    if fields["concerns"] != case.concerns:  # a concern it adds is recorded now; one it removes is forgotten
        at, since = utc(record.at), case.concerns_since
        fields["concerns_since"] = {c: since[c] if c in since and c in case.concerns else at for c in fields["concerns"]}
    if any(path in ("child", "child.age_estimate") for path in changes):  # an age given now is the age on the update's day
        fields["age_given_at"] = record.at if fields["child"].get("age_estimate") is not None else None
    return _changed(case, **fields)


def _assignment(case: Case, record: Record) -> Case:
    # an assignment gives the case to a worker: a restriction to the managers (cpcm retention) ends with it
    return _changed(case, worker=record.body.get("worker"), restriction=None)


def _assessment(case: Case, record: Record) -> Case:
    risk = record.body.get("risk")
    return _changed(case, risk=risk) if risk else case


def _followup(case: Case, record: Record) -> Case:
    risk = record.body.get("risk")
    plan = followups.planned(case.followup_plan, record.body, utc(record.at), record.id)
    changes = {**({"risk": risk} if risk else {}), **({"followup_plan": plan} if plan is not case.followup_plan else {})}
    return _changed(case, **changes) if changes else case


def _plan(case: Case, record: Record) -> Case:
    # the version, its goals and actions with their IDs, and the version in force while it waits
    return _changed(case, plan=plan_actions.summary(record, case.plan))


def _decision(case: Case, record: Record) -> Case:
    subject, target = record.body.get("subject"), record.body.get("target")
    approved = record.kind == "approval"
    over = plan_actions.written_over(case.plan, target) if subject == "plan" else None
    if over is not None:  # the version before the latest, decided apart where it was the latest: decided as there
        plan = dict(case.plan, written_over=None)
        if approved:  # in force while the latest waits, as if the decision had come before the latest was written
            plan["previous"] = dict(over, approved_at=utc(record.at), approved_by=record.by)
        return _changed(case, plan=plan)
    if subject == "plan" and case.plan and target in (None, case.plan["record_id"]):
        if not waiting_version(case.plan):
            # decided already (approved on one copy, rejected on the other, apart: the first in the records'
            # order stands, the sync names both, decisions-concurrent) or withdrawn: it decides nothing
            return case
        key = "approved" if approved else "rejected"
        plan = dict(case.plan, **{f"{key}_at": utc(record.at)})
        if approved:  # in force: the version it was written over is decided by nothing after it
            plan.update(approved_by=record.by, written_over=None)
        else:  # who turned it down: the item asking for the next version names them (deadlines._plan_revision)
            plan.update(rejected_by=record.by, rejected_id=record.id)
        return _changed(case, plan=plan)
    if subject == "closure" and case.closure:
        closure = _closure_decided(case.closure, target, utc(record.at), record.by, approved)
        return case if closure is case.closure else _changed(case, closure=closure)
    if subject == "transfer" and case.transfer_request:
        request = _transfer_decided(case.transfer_request, target, utc(record.at), record.by, approved)
        return case if request is case.transfer_request else _changed(case, transfer_request=request)
    if subject == "mandatory_report" and case.mandatory_report:
        decided = mandatory_rules.decided(case.mandatory_report, target, utc(record.at), record.by, approved)
        return case if decided is case.mandatory_report else _changed(case, mandatory_report=decided)
    return case


def _keyworker(case: Case, record: Record) -> Case:
    # the colleague nominated (keyworker.who): one outside the team, or none, leaves None
    worker = keyworker_rules.who(record.body, case.worker)
    nominated = None if worker["outside"] else worker["worker"]
    return case if nominated == case.keyworker else _changed(case, keyworker=nominated)


def _mandatory_report(case: Case, record: Record) -> Case:
    return _changed(case, mandatory_report=mandatory_rules.summary(record, case.mandatory_report))


def _decided_again(plan: Mapping[str, Any] | None, record: Record) -> bool:
    """Whether a plan decision names the latest version (or none) and that version was decided
    the other way already, or withdrawn: it decides nothing (`_decision`) and is out of order. The
    same decision again (approved on two copies apart, say) decides nothing either, and is no fault.
    One that names an earlier version (decided on a copy where it was the latest, while the other
    wrote the next: plans-concurrent) decides nothing and is out of order too, unless that version
    still waited when the next was written: it is decided then (`plan_actions.written_over`)."""
    if not plan or plan_actions.written_over(plan, record.body.get("target")) is not None:
        return False
    if record.body.get("target") not in (None, plan["record_id"]):
        return True
    if waiting_version(plan):
        return False
    return bool(plan.get("withdrawn_at") or plan.get("rejected_at" if record.kind == "approval" else "approved_at"))


def _transfer_request(case: Case, record: Record, sent: str = "") -> Case:
    """`sent`: the latest transfer (out, or in) of the case before `record`, whose approved request
    was carried out."""
    request = {"record_id": record.id, "at": utc(record.at), "by": record.by, "to": record.body.get("to"),
               "decided_at": None, "approved": None}
    before = case.transfer_request
    if waiting_transfers(before) or _approved_standing(before, sent):
        # a transfer requested while another waits (two copies apart, merged: one copy refuses a
        # second request while one waits): the later waits on top; the earlier is kept under it, to
        # be decided by the decision that names it, and to wait again if the later is withdrawn or rejected.
        # One approved and not carried out (approved on one copy while the other asked apart, or asked
        # again for another agency) is kept under it too, approved as it was (approvals.approved_under):
        # the later approved goes instead; the later rejected or withdrawn leaves it standing
        request["earlier"] = before
    return _changed(case, transfer_request=request, followup_plan=_transfer_followup(case, record))


def _transfer_followup(case: Case, record: Record) -> Mapping[str, Any] | None:
    """The follow-up plan after a transfer request, a transfer (the bundle written) or its arrival at the
    receiving agency (transfer_in, which holds the form as sent) whose form gives the date of the next
    follow-up (Kenya Form 10A, `details.next_followup`): that date planned as a follow-up plans it, for
    whoever holds the case (this agency's worker until the transfer, the receiving agency's after: the
    request, when one was asked, goes with the case, and the arrival plans it again, from the form as
    sent, whether or not one was); the plan as it was otherwise."""
    details = record.body.get("details")
    if not isinstance(details, Mapping) or not details.get(followups.NEXT):
        return case.followup_plan
    plan = followups.planned(case.followup_plan, {followups.NEXT: details[followups.NEXT]}, utc(record.at), record.id)
    by = followups.BY_RECEIVED if record.kind == "transfer_in" else followups.BY_TRANSFER
    return dict(plan, by=by) if plan is not case.followup_plan else plan


def _approved_standing(request: Mapping[str, Any] | None, sent: str) -> bool:
    """Whether the case's transfer request is one approved and not carried out (no transfer, out or
    in, since it: `sent`, the latest; approvals.approved_not_sent)."""
    return bool(request and request.get("decided_at") is not None and request.get("approved") and request["record_id"] > sent)


def _transfer_decided(request: Mapping[str, Any], target: Any, at: str, by: str, approved: bool) -> Mapping[str, Any]:
    """The case's transfer request after a decision on the request `target` (None, as older
    decisions name none: the latest waiting). Two requests merged from copies apart may wait: the
    decision is of the one it names, whichever is latest. An approval makes that one the case's
    transfer (the others wait no more: the child goes where it was approved for); a rejection of
    one of several leaves the others waiting (as a withdrawal does). A request that no longer waits
    (withdrawn, decided) is decided by nothing: `request` is given back as it is."""
    waiting = waiting_transfers(request)
    if target is None and waiting:
        target = waiting[0]["record_id"]
    named = next((r for r in waiting if r["record_id"] == target), None)
    if named is None:
        return request
    if not approved and (len(waiting) > 1 or approved_under(request)):
        return _without_request(request, target)  # the others wait; one approved under them stands, as it was
    return {**{k: v for k, v in named.items() if k != "earlier"}, "decided_at": at, "decided_by": by, "approved": approved}


def _without_transfer(request: Mapping[str, Any] | None, target: Any) -> Mapping[str, Any] | None:
    """The case's transfer request after the request `target` (None: the latest) is withdrawn: an
    approved one not carried out is taken back (none stands, or those made over it wait); of
    requests waiting, the one named goes and the others wait, over the approved one if any
    (`_without_request`)."""
    if request and request.get("decided_at") is not None and request.get("approved") \
            and target in (None, request.get("record_id")):
        return None
    return _without_request(request, target)


def _review(case: Case, record: Record) -> Case:
    return _changed(case, next_review=record.body.get("next_review"))


def _closure(case: Case, record: Record) -> Case:
    closure = {"record_id": record.id, "at": utc(record.at), "by": record.by,
               "reason": record.body.get("reason"), "decided_at": None, "approved": None}
    if waiting_closures(case.closure):
        # a closure requested while another waits (two copies apart, merged): the later is the one
        # decided; the earlier is kept under it, to wait again if the later is withdrawn
        closure["earlier"] = case.closure
    return _changed(case, closure=closure)


def _without_closure(closure: Mapping[str, Any] | None, target: Any) -> Mapping[str, Any] | None:
    """The case's closure after the waiting request `target` (None: the latest) is withdrawn: the
    one it was requested over waits again; another withdrawn from under it leaves it as it is."""
    return _without_request(closure, target)


def _without_request(closure: Mapping[str, Any] | None, target: Any) -> Mapping[str, Any] | None:
    """A closure or transfer request (`closure`: the case's, with those it was made over) after the
    waiting request `target` (None: the latest) is taken away: the one it was made over waits
    again; another taken from under it leaves it as it is; one that waits no more changes nothing
    (`closure` is given back as it is). A transfer request approved that the waiting ones were made
    over (approvals.approved_under) stays under them, approved, or stands alone once none waits; it
    is taken away itself when `target` names it (withdrawn: the waiting ones stay)."""
    waiting = waiting_requests(closure)
    if not waiting:
        return closure
    if target is None:
        target = waiting[0]["record_id"]
    below = approved_under(closure)
    if below is not None and below["record_id"] == target:
        kept, below = waiting, None
    else:
        kept = [c for c in waiting if c["record_id"] != target]
        if len(kept) == len(waiting):
            return closure
    for request in reversed(kept):
        below = {**request, "earlier": below} if below else {k: v for k, v in request.items() if k != "earlier"}
    return below


def _closure_decided(closure: Mapping[str, Any], target: Any, at: str, by: str, approved: bool) -> Mapping[str, Any]:
    """The case's closure after a decision on the request `target` (None, as older decisions
    name none: the latest). Two requests merged from copies apart may wait: the decision is of the
    one it names, whichever is latest. An approval closes the case on that request; a rejection
    leaves the others waiting (as a withdrawal does). A request that no longer waits (withdrawn,
    decided already, on another copy apart say, or another approved) is decided by nothing: `closure`
    is given back as it is."""
    decided = {"decided_at": at, "decided_by": by, "approved": approved}
    if target is None or target == closure["record_id"]:
        if closure.get("decided_at") is not None:
            return closure  # decided already (on another copy, apart: decisions-concurrent): the first stands
        if not approved and len(waiting_closures(closure)) > 1:
            return _without_closure(closure, closure["record_id"])  # the one it was requested over waits again
        return dict(closure, **decided)
    request = next((c for c in waiting_closures(closure) if c["record_id"] == target), None)
    if request is None:
        return closure
    if approved:  # the case closes on it: the later requests are of a case no longer open
        return dict(request, **decided)
    return _without_closure(closure, target)


def _reopen(case: Case, record: Record) -> Case:
    # a reopened case starts again at assessment (IAG Step 6): the follow-ups planned before it closed are not owed,
    # and a decision on its retention was of the closure before (the next closure's period starts again)
    return _changed(case, closure=None, next_review=None, followup_plan=None, retention=None)


def _retention(case: Case, record: Record) -> Case:
    # a manager's decision on a closed case whose retention period ended (workflow/retention.py)
    body = record.body
    decided = {"record_id": record.id, "at": utc(record.at), "by": record.by}
    restriction = decided if body.get("decision") == retention.RESTRICT else case.restriction
    return _changed(case, retention={**decided, "decision": body.get("decision"), "until": body.get("until")},
                    restriction=restriction)


def _withdrawal(case: Case, record: Record) -> Case:
    """A closure or transfer request taken back by the one who asked for it: none waits any more
    (a plan version's withdrawal is plan_actions.track's)."""
    subject = record.body.get("subject")
    if subject == "closure":
        closure = _without_closure(case.closure, record.body.get("target"))
        return case if closure is case.closure else _changed(case, closure=closure)
    if subject == "transfer" and case.transfer_request:
        # waiting, or approved and not carried out (approvals.approved_not_sent): the one it names is
        # taken back; another merged from a copy apart still waits
        request = _without_transfer(case.transfer_request, record.body.get("target"))
        return case if request is case.transfer_request else _changed(case, transfer_request=request)
    return case


def _referral(case: Case, record: Record) -> Case:
    body = record.body
    entry = {
        "record_id": record.id, "ref": f"R{len(case.referrals) + 1}", "service": body.get("service"),
        "sector": body.get("sector"), "need": body.get("need"), "urgent": bool(body.get("urgent")), "at": utc(record.at),
        "status": "sent", "status_at": utc(record.at), "start": None, "expected_duration": None, "feedback": None,
        "history": [{"status": "sent", "at": record.at, "by": record.by}],
        "plan_action": plan_actions.link(case.plan, body.get("plan_action")),  # an action ID (A2)
    }
    return _changed(case, referrals=case.referrals + (entry,))


def _referral_update(case: Case, record: Record) -> Case:
    body = record.body
    updated = []
    for entry in case.referrals:
        if entry["record_id"] == body.get("referral"):
            entry = dict(entry, status=body.get("status"), status_at=utc(record.at),
                         history=list(entry["history"]) + [{"status": body.get("status"), "at": record.at, "by": record.by}])
            for key in ("start", "expected_duration", "feedback"):
                if body.get(key):
                    entry[key] = body[key]
        updated.append(entry)
    return _changed(case, referrals=tuple(updated))


# the commands that settle a conflict a sync found (docs/team.md): a later one of these, or a note.
# Commands, not kinds: a decision settles the conflict about its own subject only (rejecting the
# closure decides nothing about two plan versions written apart), and only when it decides a
# request still waiting (`_closure_decided`: the one it names), not one withdrawn meanwhile.
SETTLES = {
    "two-closures": ("approval.closure", "rejection.closure", "reopen", "withdrawal.closure"),
    "two-transfers": ("approval.transfer", "rejection.transfer", "withdrawal.transfer"),
    "record-after-closure": ("reopen", "approval.closure", "rejection.closure", "withdrawal.closure"),
    "plans-concurrent": ("approval.plan", "rejection.plan", "plan"),
    "two-assignments": ("assignment",),
    "corrections-concurrent": (),  # a note, once the correction in force is checked
    # a registration field updated on two copies apart to different values: an update of every field they disagreed on
    # (the conflict's `fields`, `_settles`), or a note once it is checked; one recorded without its fields: a note
    "updates-concurrent": ("update",),
    "covers-concurrent": ("cover",),  # the cover given again with the end that is right
    "keyworkers-concurrent": ("keyworker",),  # the keyworker nominated again: the one that stands, or another
    # one referral updated on two copies apart to different statuses: a later update of that referral (`conflict["referral"]`)
    "referral-updates-concurrent": ("referral_update",),
    # the placement that is right recorded after the merge, dated so that it says where the child lives now (`_settles`)
    "placements-concurrent": ("placement",),
    # a placement on one copy, an update of where or with whom the child lives on the other: where the child lives now
    # recorded after the merge, by a placement or an update of those fields, whichever then stands (`_settles`)
    "placement-update-concurrent": ("placement", "update"),
    "risk-concurrent": (),  # the risk rated again, seeing both (`rates_risk`: an assessment, a follow-up with a level)
    # one request approved on one copy and rejected on the other: the first in the records' order stands, the other
    # decided nothing; a note, once the decision that stands is checked (and acted on where the other was right:
    # a reopening, a transfer taken back, a new plan version, a request made again)
    "decisions-concurrent": (),
    # a request corrected on one copy while approved on the other: a note, once a supervisor checked the correction
    # (and undid it where it was not right: rules._corrected_approved_message)
    "correction-approved-concurrent": (),
    # decisions on the mandatory report written apart that clash (reported on one copy, not on the other; or reported
    # to one authority on both): a decision recorded after the merge, seeing both, or a supervisor's decision of a
    # decision not to report that still waits (the merge could not read them all); or a note, once they are checked
    "mandatory-reports-concurrent": ("mandatory_report", "approval.mandatory_report", "rejection.mandatory_report"),
}

# a command of SETTLES that settles its conflict only when the case it leaves holds this many of the
# conflict's closures still standing (waiting, or approved): a closure request withdrawn ends two
# closures when it leaves one of them, not when it leaves both (it was another's, or an earlier
# one of the same copy's) nor none (a decision, a reopening or a note ends it then); it ends
# records written while the case was being closed when no closure of theirs is left
# Two transfer requests the same: a withdrawal ends them when it leaves one standing (waiting, or approved)
STANDING_AFTER = {("two-closures", "withdrawal.closure"): 1, ("record-after-closure", "withdrawal.closure"): 0,
                  ("two-transfers", "withdrawal.transfer"): 1}
# a decision on a closure settles two closures when it leaves at most one of them standing: an
# approval closes the case on the one it names; a rejection of one of three still waiting leaves two.
# A decision on a transfer request settles two transfers the same way
DECIDED_AFTER = {"two-closures": 1, "two-transfers": 1}
# the decisions and withdrawals of a closure or transfer request: (subject, approved)
_DECISIONS = {"approval.closure": ("closure", True), "rejection.closure": ("closure", False),
              "approval.transfer": ("transfer", True), "rejection.transfer": ("transfer", False)}
_WITHDRAWALS = {"withdrawal.closure": "closure", "withdrawal.transfer": "transfer"}


def standing_closures(closure: Mapping[str, Any] | None) -> set[str]:
    """The closure records that stand in a case's `closure`: waiting for a decision, or approved
    (not withdrawn, rejected, or ended by a reopening). What a sync asks of each copy's own fold
    before it calls two closures written apart a conflict."""
    standing = {c["record_id"] for c in waiting_closures(closure)}
    if closure and closure.get("approved"):
        standing.add(closure["record_id"])
    return standing


def standing_transfers(request: Mapping[str, Any] | None) -> set[str]:
    """The transfer requests that stand in a case's `transfer_request`: waiting for a decision, or
    approved (the case's, or the one those waiting were made over: approvals.approved_under; not
    withdrawn or rejected; whether an approved one was carried out is the caller's to
    ask: transfers.current_request). What a sync asks of each copy's own fold before it calls two
    transfer requests written apart a conflict."""
    standing = {r["record_id"] for r in waiting_transfers(request)}
    if request and request.get("approved"):
        standing.add(request["record_id"])
    under = approved_under(request)  # approved, with later requests made over it
    if under:
        standing.add(under["record_id"])
    return standing


def _request_of(case: Case, subject: str) -> Mapping[str, Any] | None:
    return case.closure if subject == "closure" else case.transfer_request


def _decided_alike(case: Case, command: str, body: Mapping[str, Any]) -> bool:
    """Whether a decision of a closure or transfer request (`command`, with `body`) finds the
    request it names decided the same way already: made twice apart, on two copies (two
    supervisors, or one at home and at the office), it decides nothing and is no fault; one the
    other way is (decisions-concurrent)."""
    subject, approved = _DECISIONS[command]
    request = _request_of(case, subject)
    return bool(request and request.get("decided_at") is not None and body.get("target") in (None, request["record_id"])
                and bool(request.get("approved")) == approved)


def _standing(subject: str, request: Mapping[str, Any] | None, named: Iterable[str]) -> int:
    """How many of the closure (or transfer request) records `named` stand in the case's `closure`
    (or `transfer_request`): `standing_closures`, `standing_transfers`."""
    stands = standing_closures(request) if subject == "closure" else standing_transfers(request)
    return len(stands & set(named))


def _settles(case: Case, conflict: Mapping[str, Any], command: str, body: Mapping[str, Any], at: str | None = None,
             updated: str | None = None) -> bool:
    """Whether a record of `command` (with `body`, dated `at`, UTC; None: dated now, after every
    record) settles the open `conflict` of `case` (the case before the record; `updated`: when
    where the child lives was last updated in it, the `residence_updated` event). One rule for
    every conflict: a record after it in the records' order that says what is so now settles it.
    What a decision, a rating or an assignment says is so now is the latest in the records' order;
    where the child lives is the latest by its date (`placements.lives_now`), so a placement or an
    update backdated behind the one that stands says where the child lived then: it settles nothing."""
    if conflict["settled_by"] is None and conflict["code"] == RISK_CONCURRENT:
        return rates_risk(command, body)
    if conflict["settled_by"] is not None or command not in SETTLES.get(conflict["code"], ()):
        return False
    if conflict["code"] == REFERRAL_UPDATES_CONCURRENT:
        return bool(conflict.get("referral")) and body.get("referral") == conflict.get("referral")
    if conflict["code"] == UPDATES_CONCURRENT:  # each field the two copies disagreed on given again, seeing both
        fields = [str(f) for f in conflict.get("fields") or ()]
        changed = [str(k) for k in (body.get("changes") or {})] if isinstance(body.get("changes"), Mapping) else []
        return bool(fields) and all(any(c == f or f.startswith(c + ".") or c.startswith(f + ".") for c in changed)
                                    for f in fields)
    if conflict["code"] == PLACEMENTS_CONCURRENT:  # the placement where the child lives now: the latest by its date
        return at is None or placements.placed_now(case.placement, None, at)
    if conflict["code"] == PLACEMENT_UPDATE_CONCURRENT:  # then where the child lives now, as lives_now reads it
        if command == "update":
            return bool(placements.whereabouts_changed(body.get("changes"))) and (
                at is None or placements.update_stands(at, case.placement))
        return at is None or placements.placed_now(case.placement, updated, at)
    if command in _DECISIONS:
        subject, approved = _DECISIONS[command]
        before = _request_of(case, subject)
        if not before:
            return False
        decided = _closure_decided if subject == "closure" else _transfer_decided
        after = decided(before, body.get("target"), "", "", approved)
        if after is before:
            return False  # it decides nothing: the request it names waits no more
        most = DECIDED_AFTER.get(conflict["code"])
        return most is None or _standing(subject, after, conflict["records"]) <= most
    standing = STANDING_AFTER.get((conflict["code"], command))
    if standing is None:
        return True
    subject = _WITHDRAWALS[command]
    without = _without_closure if subject == "closure" else _without_transfer
    return _standing(subject, without(_request_of(case, subject), body.get("target")), conflict["records"]) == standing


NOTE_SETTLES = "settles"  # a note's list of the sync conflicts (their records' ids) open when it was written
NOTE_SETTLES_SCHEMA = 3  # notes from this schema on settle the conflicts their `settles` lists (none when it is absent)


def _note_settles(conflict: Mapping[str, Any], body: Mapping[str, Any], schema: int) -> bool:
    """Whether a note (its `body`, of `schema`) settles the open `conflict`: one that lists it in
    `settles` (`cpcm note` lists there the conflicts open in the case when it is written: those its
    writer's `check` reported, whatever the note's date or the clock; a conflict two merges found
    is listed by either's record), or, for a note written before notes listed them (schema 2 or
    less), any later in the records' order. A note written on a copy apart saw nothing of the
    conflict the merge found: it lists nothing of it, and settles nothing."""
    if conflict["settled_by"] is not None:
        return False
    if schema < NOTE_SETTLES_SCHEMA:
        return True
    listed = body.get(NOTE_SETTLES) or ()
    return conflict["record_id"] in listed or any(r in listed for r in conflict.get("also", ()))


def settling_at(record: Record) -> str | None:
    """The date (UTC) that decides what a record settles: a placement's or an update's, which say
    where the child lives as of that date (`_settles`); None for every other kind."""
    return utc(record.at) if record.kind in ("placement", "update") else None


def settled_by(case: Case, kind: str, body: Mapping[str, Any] | None = None, at: str | None = None) -> list[str]:
    """The codes of the case's open conflicts a record of `kind` (with `body`, dated `at`, UTC:
    a placement's or an update's date decides whether it says where the child lives now) would
    settle (SETTLES, or a note: those it lists), in the order found: an assignment settles
    `two-assignments`."""
    return [c["code"] for c in settled_conflicts(case, kind, body, at)]


def settled_conflicts(case: Case, kind: str, body: Mapping[str, Any] | None = None,
                      at: str | None = None, schema: int | None = None) -> list[Mapping[str, Any]]:
    """The case's open conflicts (as the fold holds them) a record of `kind` would settle: `settled_by`
    (`settle_conflicts`: none for a record moved in from another case)."""
    if not case.conflicts or kind == "sync_conflict" or (body or {}).get(MOVED_FROM):
        return []
    if kind == "note":
        return [c for c in case.conflicts if _note_settles(c, body or {}, NOTE_SCHEMA if schema is None else schema)]
    body = dict(body or {})
    command = transitions.command_of(kind, body)
    updated = case.last("residence_updated")
    return [c for c in case.conflicts if _settles(case, c, command, body, at, updated)]


def _sync_conflict(case: Case, record: Record) -> Case:
    entry = {"record_id": record.id, "code": record.body.get("code"), "records": list(record.body.get("records") or ()),
             "at": utc(record.at), "by": record.by, "settled_by": None}
    if record.body.get("referral"):  # the referral a referral-updates-concurrent is about
        entry["referral"] = record.body["referral"]
    if isinstance(record.body.get("fields"), list):  # the fields a placement-update- or updates-concurrent is about
        entry["fields"] = [str(f) for f in record.body["fields"]]
    if isinstance(record.body.get("values"), Mapping):  # what each update of an updates-concurrent gave each field
        entry["values"] = {str(f): {str(r): v for r, v in given.items()} for f, given in record.body["values"].items()
                           if isinstance(given, Mapping)}
    if isinstance(record.body.get("corrected"), list):  # a plan version's correction the version written apart lacks
        entry["corrected"] = [str(r) for r in record.body["corrected"]]
    if isinstance(record.body.get("moved_to"), list):  # where each mark of a corrections-concurrent moved the record
        entry["moved_to"] = [{k: str(m.get(k) or "") for k in ("mark", "case", "record")}
                             for m in record.body["moved_to"] if isinstance(m, Mapping)]
    clashed = plan_actions.clashed(record)
    if clashed:  # the action IDs a plans-concurrent's two copies gave to different actions
        entry["actions"] = clashed
    if record.body.get("subject") in ("plan", "closure", "transfer"):  # what a decisions-concurrent decided
        entry["subject"] = record.body["subject"]
    for about in ("reported", "authorities"):  # the decisions to report, the authorities of a mandatory-reports-concurrent
        if isinstance(record.body.get(about), list):
            entry[about] = [str(r) for r in record.body[about]]
    same = next((c for c in case.conflicts if c["code"] == entry["code"] and c["records"] == entry["records"]), None)
    if same is not None:  # the same conflict found by two merges of the same copies: a note listing either settles it
        also = [*same.get("also", ()), record.id]
        return _changed(case, conflicts=tuple(dict(c, also=also) if c is same else c for c in case.conflicts))
    if entry["code"] == mandatory_rules.MANDATORY_REPORTS_CONCURRENT:  # reported apart: a decision not to report waits no more
        report = mandatory_rules.reported_apart(case.mandatory_report, entry["records"], entry.get("reported"))
        if report is not case.mandatory_report:
            case = _changed(case, mandatory_report=report)
    return _changed(case, conflicts=case.conflicts + (entry,))


def settle_conflicts(case: Case, record: Record, updated: str | None = None) -> Case:
    """A record that settles the open conflicts it answers (a decision, or a note that lists them:
    `_note_settles`). `updated`: when where the child lives was last updated before it (`_settles`).
    A record moved in from the case it was written in by mistake (`moved_from`) settles nothing here:
    nobody who wrote it saw this case's conflicts."""
    if not case.conflicts or record.kind == "sync_conflict" or record.body.get(MOVED_FROM):
        return case
    command = transitions.command_of(record.kind, record.body)
    at = settling_at(record)
    settled = tuple(dict(c, settled_by=record.id) if c["settled_by"] is None and
                    (_note_settles(c, record.body, record.schema) if record.kind == "note" else _settles(case, c, command, record.body, at, updated))
                    else c for c in case.conflicts)
    return _changed(case, conflicts=settled)


def _case_link(case: Case, record: Record) -> Case:
    other = record.body.get("alias") or record.body.get("merged_into") or record.body.get("returned_as")
    if record.body.get("merged_into"):  # a duplicate: the child's case is the other one (deadlines.post_closure_visit_owed)
        case = _changed(case, merged_into=str(record.body["merged_into"]))
    return _changed(case, links=case.links + (other,)) if other and other not in case.links else case


def _placement(case: Case, record: Record) -> Case:
    body = record.body
    decision = body.get("decision") or {}
    caregiver = body.get("caregiver") or {}
    entry = {
        "record_id": record.id, "at": utc(record.at), "by": record.by, "care_type": body.get("care_type"),
        "setting": body.get("setting"), "formal": body.get("formal"), "institution": body.get("institution"),
        "address": body.get("address"), "caregiver_name": caregiver.get("name"), "caregiver_relationship": caregiver.get("relationship"),
        "best_interests": decision.get("best_interests"), "best_interests_override": bool(body.get("best_interests_override")),
        "court_order": dict(decision.get("court_order") or {}) or None, "acc": decision.get("acc"),
        "cci_exit": body.get("cci_exit"), "reunification": bool(body.get("reunification")), "contact": body.get("contact"),
    }
    return _changed(case, placements=case.placements + (entry,))


def _transfer(case: Case, record: Record) -> Case:
    """The bundle written: the case's transfer out, waiting for the receiving agency's receipt."""
    return _changed(case, transfer_out={"record_id": record.id, "to": record.body.get("to"), "at": utc(record.at),
                                        "acked_at": None, "ack_record": None}, followup_plan=_transfer_followup(case, record))


def _transfer_in(case: Case, record: Record) -> Case:
    """The case's arrival from another agency: the next follow-up its transfer form planned (`_transfer_followup`)."""
    plan = _transfer_followup(case, record)
    return case if plan is case.followup_plan else _changed(case, followup_plan=plan)


def _transfer_ack(case: Case, record: Record) -> Case:
    """The receiving agency's receipt for a transfer: it answers that transfer only (a receipt for an
    earlier transfer, before a reopening and a new transfer, leaves the latest waiting)."""
    sent = case.transfer_out
    if not sent or record.body.get("transfer_record") != sent["record_id"] or sent["acked_at"]:
        return case
    return _changed(case, transfer_out=dict(sent, acked_at=utc(record.at), ack_record=record.id))


REDUCERS: dict[str, Callable[[Case, Record], Case]] = {
    "sync_conflict": _sync_conflict,
    "case_link": _case_link,
    "placement": _placement,
    "referral": _referral,
    "referral_update": _referral_update,
    "registration": _registration,
    "update": _update,
    "assignment": _assignment,
    "assessment": _assessment,
    "followup": _followup,
    "plan": _plan,
    "approval": _decision,
    "rejection": _decision,
    "review": _review,
    "closure": _closure,
    "reopen": _reopen,
    "withdrawal": _withdrawal,
    "transfer_request": _transfer_request,
    "transfer": _transfer,
    "transfer_in": _transfer_in,
    "transfer_ack": _transfer_ack,
    "mandatory_report": _mandatory_report,
    "keyworker": _keyworker,
    "retention": _retention,
}


# the records that decide or take back a transfer request: of one no longer waiting (withdrawn or decided on
# another copy, say), one decides nothing and is reported out of order
_TRANSFER_DECIDING = ("approval.transfer", "rejection.transfer", "withdrawal.transfer")


# A plan version's standing decided by a supervisor's approval or rejection (of the version waiting for one: a
# second decision of a version decided already decides nothing), at the decision's time; and the approval of a
# version the child took part in (`plan_with_child`, a conference's version only when it recorded the child there).
# The statistics report counts these (reports/statistics.py; which versions are in force: plan_actions.in_force_event).
PLAN_APPROVED, PLAN_REJECTED, PLAN_WITH_CHILD_APPROVED = "plan_approved", "plan_rejected", "plan_with_child_approved"
_PLAN_DECISIONS = {"approval": PLAN_APPROVED, "rejection": PLAN_REJECTED}

# The time of the latest follow-up that found the risk increased when no re-rating (an assessment, or a
# later follow-up with a risk level) came after it in the records' order: the urgent item's (deadlines._urgent).
RISK_UNANSWERED = "risk_unanswered"
# the risk found increased on one copy while another rated it, apart (service/sync.py): the rating did not answer
# the increase (its worker did not know of it), which waits again for a re-rating after the conflict
RISK_CONCURRENT = "risk-concurrent"
# one referral updated on two copies apart to different statuses (service/sync.py): the later update in the records
# stands; the conflict names the referral (its record ID, `referral`), and a later update of it settles the conflict
REFERRAL_UPDATES_CONCURRENT = "referral-updates-concurrent"
UPDATES_CONCURRENT = "updates-concurrent"


def comment_alone(body: Mapping[str, Any]) -> bool:
    """Whether a readiness record is the comment on the child's readiness after a case conference
    alone (its notes, no benchmark answered: the form allows that only with occasion
    case_conference): it answers the conference-readiness item, and says nothing of the benchmarks."""
    return body.get("occasion") == "case_conference" and not body.get("benchmarks")
# where and with whom the child lives recorded differently on two copies apart (service/sync.py): two placements
# (each copy's latest), or a placement on one and an update of the registration's location or caregiver on the other
PLACEMENTS_CONCURRENT, PLACEMENT_UPDATE_CONCURRENT = "placements-concurrent", "placement-update-concurrent"


def rates_risk(command: str, body: Mapping[str, Any]) -> bool:
    """Whether a record of `command` rates the child's risk again: an assessment, or a follow-up
    that gives a level."""
    return command.startswith("assessment") or (command.startswith("followup") and bool(body.get("risk")))


def derived_events(record: Record, command: str) -> list[str]:
    """Events a record implies besides its command: a protection response, a plan written for
    reunification_done (what is the reunification, the fold's `reunification` event, is decided
    once, from the placements and these: `placements.reunifications`) and, written on a
    supervisor's reason without a best-interests record, `placements.HOME_OVERRIDDEN`)."""
    body = record.body
    extra = []
    if command == "assessment.initial" and body.get("immediate_actions"):
        extra.append("response")
    if command == "assessment.initial" and body.get("outcome"):  # what it concluded (transitions.check_outcome)
        extra.append(f"initial.{body['outcome']}")
    if command == "assessment.initial" and body.get("interim_plan_needed") in (True, "yes"):
        extra.append(INTERIM_PLAN_NEEDED)  # it asked for an interim plan (deadlines._interim_plan)
    changed = {str(k).split(".")[0] for k in body.get("changes") or {}} if command == "update" else set()
    if changed & {"location", "caregiver"}:
        extra.append("residence_updated")  # where or with whom the child lives, told by an update (a sync's clash with a placement)
    extra += [f"{field}_updated" for field in ("location", "caregiver") if field in changed]  # each for placements.lives_now
    if "contact" in changed:
        extra.append("contact_updated")  # how to reach them, told by an update after a placement (placements.lives_now)
    if "lives_with" in changed:
        extra.append("lives_with_updated")  # who the child lives with, told by an update after a placement (placements.lives_with_now)
    lived = body.get("lives_with") if command == "registration" else (body.get("changes") or {}).get("lives_with") if changed else None
    if lived:  # who the registration, or an update of it, said the child lives with, and when (placements.registered_lives_with)
        extra.append(f"{placements.LIVES_WITH}{lived}")
    if command == "assessment.best_interests" and body.get("decision") in placements.INTO_CARE_DECISIONS:
        extra.append(placements.INTO_CARE)  # not the path of reintegration's step (placements.pathway)
    if command == "plan" and body.get("reason") == placements.REUNIFICATION_DONE:
        extra.append(placements.REUNIFICATION_DONE)
        if body.get("best_interests_override"):  # home on a supervisor's reason: the record is owed (placements.best_interests_owed)
            extra.append(placements.HOME_OVERRIDDEN)
    if command.startswith("followup") and body.get("risk_increased") == "yes":
        extra.append("risk_increased")
    if rates_risk(command, body):  # the risk was re-rated
        extra.append("risk_checked")
    if command.startswith("followup") and body.get("concern") == "yes":
        extra.append("concern")
    if command == "followup" and body.get("purpose") == "crisis":
        extra.append("crisis_response")
    if command == "assessment.comprehensive" and str(body.get("readiness_comment") or "").strip():
        extra.append("readiness_commented")  # the child assessment's readiness comment (SOP §4 step 7: deadlines)
    if command == "readiness" and body.get("stops"):  # `stops`: the answers the form marks as a stop, as the service found them
        extra.append("readiness_stop")
    elif command == "readiness" and not comment_alone(body):  # the comment after a case conference, alone, clears no stop
        extra.append("readiness_clear")
    if command == "followup" and body.get("method") == "home_visit":
        extra.append(placements.HOME_VISIT)
        if body.get("purpose"):  # what it was for: a crisis visit is no monitoring visit (placements.monitoring_visits)
            extra.append(f"{placements.HOME_VISIT}.{body['purpose']}")
    if command == "followup" and (body.get(followups.EVERY) or body.get(followups.NEXT)):
        extra.append(followups.PLANNED)  # it planned the next follow-up (followups.py)
    if command == "tracing" and body.get("outcome") == "family_found":
        extra.append("family_found")
    if command in ("approval.closure", "closure.immediate"):
        extra.append("closed")
    if command == "consent" and body.get("status") in ("refused", "not_possible"):
        extra.append("consent_refused")
    elif command in ("registration", "update"):  # the registration's answers (consent.child, consent.caregiver), or an update's
        answers = body.get("consent") if command == "registration" else {
            key.partition(".")[2]: value for key, value in (body.get("changes") or {}).items() if key.startswith("consent.")}
        if isinstance(answers, Mapping):
            extra += ["consent_refused" for giver in ("child", "caregiver") if answers.get(giver) in ("refused", "not_possible")]
    if command == "plan" and (body.get("participants") or {}).get("child") == "yes":
        extra.append("plan_with_child")
    if command == "review" and (body.get("attended") or {}).get("child") == "yes":
        extra.append("review_with_child")
    outcome = body.get("outcome") if command == "review" else None
    if isinstance(outcome, str) and outcome in REVIEW_DECIDED:  # a step it decided (deadlines._review_decision)
        extra.append(REVIEW_DECIDED[outcome])
    return extra


def superseded_ids(records: Iterable[Record]) -> set[str]:
    """The ids of records that another record supersedes: its body's top-level `supersedes`
    names them (a `repair` of a damaged record, say)."""
    return {str(r.body["supersedes"]) for r in records if r.body.get("supersedes")}


def _asked_by(case: Case, firsts: Mapping[str, str], authors: Mapping[str, str]) -> Case:
    """The case with `asked_by` on each request (the plan version, the closure or transfer request,
    and those they were made over, a caseworker's decision not to report) that a correction by
    someone else stands in for: the author of
    the record it corrects (`firsts`: a correction -> the first record of its chain). The one who
    asked takes it back (approvals.withdrawable); neither they nor the one who corrected it (`by`)
    decides it where the policy bars self-approval (approvals.barred)."""
    def mark(request: Any) -> Any:
        if not isinstance(request, Mapping):
            return request
        asked = authors.get(firsts.get(str(request.get("record_id")), ""))
        out = dict(request, asked_by=asked) if asked and asked != request.get("by") else request
        earlier = mark(out.get("earlier"))
        return dict(out, earlier=earlier) if earlier is not out.get("earlier") else out

    changes = {name: mark(getattr(case, name)) for name in ("plan", "closure", "transfer_request", "mandatory_report")}
    changes = {name: value for name, value in changes.items() if value is not getattr(case, name)}
    return _changed(case, **changes) if changes else case


def _by_conference(case: Case, link: Record, records: list[Record], firsts: Mapping[str, str]) -> Case:
    """The case with its plan version marked as a conference's decision (`conference`: the
    conference's ID, who closed it, the version's record) where the `conference` link record
    that `cpcm conference close` writes after it, in its commit, names it (`plan`) and the same
    person wrote both. A version a person writes (cpcm plan, whatever its reason) has no such
    link, and no command writes one. A correction of the version stands in its place
    (`firsts`: a correction -> the record it stands in for) and keeps the mark; who corrected it is
    told apart by its record (approvals.barring_writers). A correction of the link (the minutes
    replaced after closing: `conference update --minutes`, by whoever replaced them) is read as
    the link its close wrote: the first of its chain decides the mark."""
    if link.id in firsts:
        link = next((r for r in records if r.id == firsts[link.id]), link)
    plan, named = case.plan, link.body.get("plan")
    if firsts.get(plan["record_id"], plan["record_id"]) != named:
        return case
    made = _made_by(link, next((r for r in records if r.id == named), None))
    return _changed(case, plan=dict(plan, conference=made)) if made else case


def _made_by(link: Record, version: Record | None) -> dict | None:
    """The `conference` mark of `version` (its conference's ID, who closed it, the version's
    record) where the `conference` link record `link` names it and the same person wrote both."""
    if version is None or link.body.get("plan") != version.id or version.by != link.by:
        return None
    return {"id": link.body.get("conference"), "by": link.by, "record": version.id}


def conference_version(records: Iterable[Record], version: Record) -> dict | None:
    """The `conference` mark of plan version `version` (`_by_conference`) where a conference's
    close wrote it, or None: what approvals.barring_decided reads of a version decided already."""
    return next((made for r in records if r.kind == "conference" and (made := _made_by(r, version))), None)


def fold(case_id: str, records: Iterable[Record]) -> Case:
    """The case its records make. The stage and status are kept aside while the records apply (no
    reducer reads them) and set once at the end: a new Case is made only when a reducer changes
    something, not for every record's stage."""
    case = _changed(_EMPTY, id=case_id, child={}, events={}, registration={})  # Case(id=case_id, stage=None)
    stage, status = None, case.status
    requested_from = None  # the stage the case had when its closure was requested (a withdrawal returns to it)
    history, anomalies = [], []
    over_waiting: set[str] = set()  # closure requests merged over another still waiting (two copies apart)
    unanswered = None  # the latest risk increase no re-rating followed (RISK_UNANSWERED)
    leveled = None  # when the risk came to its current level (`Case.risk_since`)
    rises: dict[str, str] = {}  # the follow-ups that found the risk increased: record id -> time
    sent = ""  # the latest transfer of the case, out or in: an approved request before it was carried out
    records = records if isinstance(records, list) else list(records)
    events: dict[str, list[str]] = {}
    with_child: dict[str, str] = {}  # plan record id -> its time, for the versions counted as made with the child
    approved_with_child: dict[str, str] = {}  # plan record id -> its approval's time, for those versions approved
    home_versions: dict[str, str] = {}  # plan record id -> its time, for the versions for reunification_done
    set_aside: list[str] = []  # the times of those rejected or withdrawn (placements.HOME_SET_ASIDE)
    next_stage, status_of, commands = transitions.next_stage, transitions.status_of, transitions.COMMANDS
    firsts: dict[str, str] | None = None  # a correction -> the record it stands in for (`places`), once asked
    for record in effective(records):
        kind = record.kind
        command = transitions.command_of(kind, record.body)
        after = next_stage(stage, transitions.stage_of_command(command, record.body), requested_from)
        if command in _DECISIONS and _decided_alike(case, command, record.body):
            # the same decision again (made twice apart): it decides nothing, settles nothing, and is no fault
            history.append(Entry(record.id, kind, record.at, record.recorded_at, record.by))
            continue
        risk_was = case.risk
        if after == "closure_requested" and stage != "closure_requested":
            requested_from = stage
        if after is None and command in commands:
            anomalies.append(record.id)
            if command == "closure" and stage == "closure_requested" and waiting_closures(case.closure):
                over_waiting.add(record.id)
        if case.conflicts:
            residence = events.get("residence_updated")
            case = settle_conflicts(case, record, max(residence) if residence else None)
        reducer = REDUCERS.get(kind)
        if kind == "closure" and after is None and status != "open":
            # asked for on a copy apart while the case was closed (or transferred) on the other, and later in the
            # records' order: kept, and out of order, but the closure the case was closed on stays its closure (its
            # approval, its reason); the sync names the two (two-closures), a reopening or a note settles them
            reducer = None
        decided = None  # a plan version's standing decided: (event, its record id)
        if kind in ("transfer", "transfer_in"):
            sent = max(sent, record.id)
        if reducer is not None:
            before = case
            case = reducer(case, record) if kind != "transfer_request" else _transfer_request(case, record, sent)
            over = plan_actions.written_over(before.plan, record.body.get("target")) if kind in _PLAN_DECISIONS else None
            if over is not None:
                decided = (_PLAN_DECISIONS[kind], over["record_id"])
            elif kind in _PLAN_DECISIONS and case.plan is not before.plan and waiting_version(before.plan):
                decided = (_PLAN_DECISIONS[kind], case.plan["record_id"])
            elif command in ("approval.plan", "rejection.plan") and after is not None and _decided_again(before.plan, record):
                anomalies.append(record.id)  # a second decision of the version (made apart on another copy): it decides nothing
            if command in ("approval.closure", "rejection.closure") and after is not None and case.closure is before.closure:
                after = None  # a decision of a request no longer waiting (withdrawn on another copy, say): it decides nothing
                anomalies.append(record.id)
            elif command in _TRANSFER_DECIDING and after is not None and case.transfer_request is before.transfer_request:
                anomalies.append(record.id)  # the same for a transfer request (which changes no stage)
        if command in ("withdrawal.closure", "rejection.closure") and after is not None and waiting_closures(case.closure):
            after = stage  # one of two closure requests merged from copies apart: the other still waits
        if case.plan and (kind in ("followup", "review", "withdrawal") or kind == "sync_conflict" and case.conflicts
                          and case.conflicts[-1]["record_id"] == record.id):
            # actions marked done; a withdrawn version; the marks of an action ID two copies gave to two actions apart
            # (plan_actions.clashed: a new conflict, not the same one found by a second merge, after marks seeing both)
            plan = plan_actions.track(case.plan, record)
            if plan is not case.plan:
                if plan.get("withdrawn_at") and not case.plan.get("withdrawn_at") and plan["record_id"] in home_versions:
                    set_aside.append(home_versions[plan["record_id"]])  # a return home by a plan its author took back
                case = _changed(case, plan=plan)
        if after is not None:
            stage, status = after, status_of(after)
        at = utc(record.at)
        events.setdefault(command, []).append(at)
        if case.risk != risk_was:  # the risk came to another level (or none)
            leveled = at if case.risk else None
        if command == "assessment.initial":  # only the latest initial assessment's outcome is kept (transitions.check_outcome),
            for name in [name for name in events if name.startswith("initial.") or name == INTERIM_PLAN_NEEDED]:
                del events[name]  # and whether it asked for an interim plan (deadlines._interim_plan)
        if command == "review":  # only the latest review's decision is kept, in the records' order: it decides again
            for name in REVIEW_DECIDED.values():
                events.pop(name, None)
        derived = derived_events(record, command)
        for event in derived:
            events.setdefault(event, []).append(at)
            if event == "plan_with_child":
                with_child[record.id] = at
        if kind == "conference" and record.body.get("date"):  # when the conference met (a date alone: from its start, UTC)
            met = str(record.body["date"])
            events.setdefault(CONFERENCE_MET, []).append(min(at, utc(met if "T" in met else f"{met[:10]}T00:00:00+00:00")))
        if command == "plan" and record.body.get("reason") == placements.REUNIFICATION_DONE:
            home_versions[record.id] = at  # a return home by a plan version (placements.homes_without_best_interests)
        if decided is not None:  # the version approved (in force from then) or rejected, at the decision's time
            events.setdefault(decided[0], []).append(at)
            if decided[0] == PLAN_REJECTED and decided[1] in home_versions:
                set_aside.append(home_versions[decided[1]])  # a return home by a plan a supervisor turned down
            if decided[0] == PLAN_APPROVED and decided[1] in with_child:
                events.setdefault(PLAN_WITH_CHILD_APPROVED, []).append(at)
                approved_with_child[decided[1]] = at
        # a risk increase waits for a re-rating recorded after it, in the records' order: not the re-rating
        # of the follow-up that found it (the response is still to come: docs/workflow.md), nor an
        # assessment of the same time recorded before it
        if "risk_increased" in derived:
            unanswered = rises[record.id] = at
        elif "risk_checked" in derived:
            unanswered = None
        if kind == "sync_conflict" and record.body.get("code") == RISK_CONCURRENT and case.conflicts \
                and case.conflicts[-1]["record_id"] == record.id:
            # a rating written apart answered nothing: the increase it named waits again (a new conflict, not the
            # same one found by a second merge)
            raised = [rises[r] for r in case.conflicts[-1]["records"] if r in rises]
            if raised:
                unanswered = max(raised)
        if kind == "conference" and case.plan and record.body.get("plan"):
            firsts = places(records) if firsts is None else firsts
            case = _by_conference(case, record, records, firsts)
        if kind == "conference" and record.body.get("plan") in with_child and record.body.get("child_took_part") is not True:
            # a version a conference made: the child took part only if the conference recorded the child there (its link
            # says so); before that was recorded, the version copied the participants of the one it started from
            events["plan_with_child"].remove(with_child.pop(record.body["plan"]))
            if not events["plan_with_child"]:
                del events["plan_with_child"]
            if record.body["plan"] in approved_with_child:
                events[PLAN_WITH_CHILD_APPROVED].remove(approved_with_child.pop(record.body["plan"]))
                if not events[PLAN_WITH_CHILD_APPROVED]:
                    del events[PLAN_WITH_CHILD_APPROVED]
        if command == "closure.immediate":  # its own reason, also when it is out of order and the case's closure stays another
            events.setdefault(f"closed.{record.body.get('reason')}", []).append(at)
        elif command == "approval.closure" and case.closure:
            # each closure's reason, kept past a reopening (which clears case.closure)
            events.setdefault(f"closed.{case.closure.get('reason')}", []).append(at)
        history.append(Entry(record.id, kind, record.at, record.recorded_at, record.by))
    # the caregivers' names corrections put right: the same caregiver for the records of their stay (placements.is_move)
    renamed = placements.renamed_caregivers(records) if case.placements else None
    if renamed:
        case = _changed(case, placements=tuple(dict(p, **{placements.CAREGIVER_WAS: renamed[p["record_id"]]})
                                               if p["record_id"] in renamed else p for p in case.placements))
    # the reunifications: the placements that brought the child home, and the plans no such placement accounts
    # for, less those a supervisor rejected or their author withdrew (they sent no one home)
    if case.placements or "reunification_done" in events:
        homes = placements.standing(events.get("reunification_done", ()), set_aside)
        events["reunification"] = list(placements.reunifications(case.placements, homes))
        if not events["reunification"]:
            del events["reunification"]
    # the referrals sent, and the transfer request still to be carried out, on a consent a correction
    # took away, until an override stands in (workflow/consent.py)
    request = transfer_rules.current_request(case, records) if case.transfer_request else None
    if case.referrals or request:
        corrected: dict[str, list[dict]] = {}
        for item in consent_rules.corrected_away(records):
            if not item["override"]:
                corrected.setdefault(item.get("referral") or item.get("transfer_request"), []).append(item)
        if corrected and case.referrals:
            case = _changed(case, referrals=tuple(dict(r, consent_corrected=corrected[r["record_id"]])
                                                  if r["record_id"] in corrected else r for r in case.referrals))
        # and those whose consent its giver answered otherwise since (refused after, or on a copy apart)
        withdrawn: dict[str, list[dict]] = {}
        for item in consent_rules.withdrawn_after(records) if case.referrals else ():
            if not item["override"]:
                withdrawn.setdefault(item["referral"], []).append(item)
        if withdrawn:
            case = _changed(case, referrals=tuple(dict(r, consent_withdrawn=withdrawn[r["record_id"]])
                                                  if r["record_id"] in withdrawn else r for r in case.referrals))
        if request and request["record_id"] in corrected:
            case = _changed(case, transfer_request=dict(request, consent_corrected=corrected[request["record_id"]]))
    # what the one consent rule reads, for `due` to say which consent a step still needs (workflow/consent.py `kept`)
    kept = [r for r in records if r.kind in consent_rules.KEPT_KINDS]
    if kept:
        used = consent_rules.used_ids(records)
        case = _changed(case, consents=tuple(consent_rules.kept(r, r.id in used) for r in kept))
    if over_waiting and len(standing_closures(case.closure)) <= 1:
        # out of order only because another request waited: once at most one closure stands (the rest
        # withdrawn or rejected, or one approved), nothing of that is left to put right
        anomalies = [a for a in anomalies if a not in over_waiting]
    if unanswered is not None:
        events[RISK_UNANSWERED] = [unanswered]
    # the admissions to residential care (the conference after an admission runs from them: SOP §5.3)
    admitted = placements.admissions(case.placements)
    if admitted:
        events["admission"] = [p["at"] for p in admitted]
    if set_aside:
        events[placements.HOME_SET_ASIDE] = set_aside
    if anomalies:
        anomalies = [a for a in anomalies if a not in answered(anomalies, records, case.conflicts)]
    firsts = places(records) if firsts is None else firsts  # who asked for a request corrected since
    if firsts:
        case = _asked_by(case, firsts, {r.id: r.by for r in records})
    return _changed(case, history=tuple(history), events={k: tuple(v) for k, v in events.items()},
                    anomalies=tuple(anomalies), stage=stage or "registered", status=status, risk_since=leveled)


NOTE_SEEN_SCHEMA = 2  # a note that answers the records out of order its `seen` lists, and only those (`answered`)
NOTE_SCHEMA = NOTE_SETTLES_SCHEMA  # the schema `cpcm note` writes: `seen` (`answered`) and `settles` (`_note_settles`)


def answered(anomalies: Iterable[str], records: list[Record], conflicts: Iterable[Mapping[str, Any]]) -> set[str]:
    """The records out of order (`anomalies`) that no sync conflict names and a note answered:
    one that lists them in `seen` (cpcm note lists there what `check` reported out of order when it
    was written: what its writer saw), or, for a note written before notes listed them (schema 1),
    one later in the records' order. A conflict that names one is answered by settling it
    (rules.out_of_order). A note written on a copy apart saw nothing of what the other copy wrote,
    whatever its time: it lists nothing of it."""
    named = {r for c in conflicts for r in c.get("records") or ()}
    notes = [r for r in effective(records) if r.kind == "note"]
    seen = {str(r) for note in notes if note.schema >= NOTE_SEEN_SCHEMA for r in note.body.get("seen") or ()}
    latest = max((note.id for note in notes if note.schema < NOTE_SEEN_SCHEMA), default="")
    return {a for a in anomalies if a not in named and (a in seen or a < latest)}


_EMPTY = Case(id="", stage=None)  # type: ignore[arg-type]  # each fold starts from a copy, with mutable fields of its own
