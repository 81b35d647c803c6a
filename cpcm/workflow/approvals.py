"""Who may approve or reject a plan, a closure, a transfer or a caseworker's decision not to make
a mandatory report: one rule, `may_decide`, read by `cpcm approve` and `cpcm reject` (`may_approve`), the warning when nobody may (`deciders`), the
due list (`deadlines.for_worker`, `rules.NobodyDecides`), the caseload report, and `cpcm correct`
of what a supervisor decided (`decision_of`, `may_correct`). Pure.

Each subject has one policy rule, `<subject>_approval`, with `required` (false: the plan is in
force, the case closed or the transfer sent at once) and `self_approval`. An active supervisor
or manager decides; unless `self_approval` is true, not the one who asked for it and, for a
closure, not the case's own worker either (IAG Step 6 [L942]); a plan version a conference's close
wrote does not bar its chair where `plan_approval.conference_versions_by_chair` says so
(`barring_writers`). What waits for a decision is
`waiting`: a request of an open case and, for a plan, only where the policy needs approval.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.domain.records import Record
from cpcm.domain.team import Worker
from cpcm.workflow import mandatory_report as mandatory_rules
from cpcm.workflow import transitions

SUBJECTS = ("plan", "closure", "transfer", "mandatory_report")
APPROVER_ROLES = ("supervisor", "manager")
DECISIONS = ("approval", "rejection")
REQUEST_KINDS = {"plan": "plan", "closure": "closure", "transfer": "transfer_request",  # the record that asks
                 "mandatory_report": "mandatory_report"}  # a caseworker's decision not to report (workflow/mandatory_report.py)
# a conference's plan (Kenya SOP Form 3 item 4), decided in the conference's folder, not a case's: `cpcm approve CONF
# conference-plan`; its rule is `conference_plan_approval` (workflow/conferences.py: what the plan holds, who decides)
CONFERENCE_PLAN = "conference_plan"
# each subject in words, for people (reports and messages; `cpcm approve` takes the code, mandatory-report)
# plan_approval's switch: a plan version a conference close wrote does not bar its chair (`barring_writers`)
CONFERENCE_VERSIONS = "conference_versions_by_chair"
SUBJECT_WORDS = {"plan": "plan", "closure": "closure", "transfer": "transfer", "mandatory_report": "decision not to report",
                 CONFERENCE_PLAN: "conference plan"}


def item_code(subject: str) -> str:
    """The code of a waiting approval on `cpcm due` (and of its clock): plan-approval,
    closure-approval, transfer-approval, mandatory-report-approval."""
    return f"{subject.replace('_', '-')}-approval"


def subject_of_item(code: str) -> str:
    """The subject of a waiting approval's item code (`item_code`): mandatory-report-approval is
    mandatory_report."""
    return subject_of(code.removesuffix("-approval"))


def subject_of(text: str) -> str:
    """A subject as typed (`cpcm approve CASE mandatory-report`) as it is kept (`mandatory_report`)."""
    return text.strip().replace("-", "_")


def decision_on(records: Iterable[Record], subject: str, request_id: str | None) -> Record | None:
    """The approval or rejection of `subject`'s request `request_id` (`decision_of`); None when none
    was recorded. Its note is what `show` and the documents read back: the conditions of an
    approval, what a rejection asks to change."""
    return decision_of(records, subject, request_id) if request_id else None


def rule_of(subject: str) -> str:
    """The policy rule of an approval: plan_approval, closure_approval, transfer_approval,
    conference_plan_approval."""
    if subject not in SUBJECTS and subject != CONFERENCE_PLAN:
        raise ValueError(f"that is not approved: one of {', '.join(SUBJECTS)}")
    return f"{subject}_approval"


def required(policy: Policy, subject: str) -> bool:
    return bool(policy.get(rule_of(subject), "required", True))


def self_allowed(policy: Policy, subject: str) -> bool:
    return bool(policy.get(rule_of(subject), "self_approval", False))


def oversees(worker: Worker | None) -> bool:
    """Whether a team member has a role that may approve at all: a supervisor or manager."""
    return bool(worker is not None and worker.has_role(*APPROVER_ROLES))


def approves(worker: Worker | None) -> bool:
    """Whether a team member may decide requests at all: an active member with an approving role
    (`oversees`). What `may_decide` is told of the worker."""
    return oversees(worker) and worker.active


def may_decide(worker_id: str | None, approving: bool, barred_ids) -> bool:
    """THE rule of who decides a waiting request: a worker who `approves` (`approving`: an active
    supervisor or manager) and whom the request does not bar (`barred_ids`, `barred`: the one who
    asked and, for a closure, the case's worker; nobody where the policy allows self-approval).
    `may_approve` (one worker, given the case), `deciders_barring` (the team) and
    `deadlines.for_worker` (whose due list holds an approval, told from the item) ask it."""
    return bool(approving) and worker_id is not None and worker_id not in barred_ids


def pending(case: Case, subject: str) -> Mapping[str, Any] | None:
    """The request waiting for a decision (its record_id, at, by), or None."""
    if subject == "plan":
        plan = case.plan
        return plan if waiting_version(plan) else None
    if subject == "closure":
        closure = case.closure
        return closure if case.stage == "closure_requested" and closure and closure.get("decided_at") is None else None
    if subject == "transfer":
        request = case.transfer_request
        return request if request and request.get("decided_at") is None and case.status == "open" else None
    if subject == "mandatory_report":
        report = case.mandatory_report
        return report if mandatory_rules.waiting(report) else None
    raise ValueError(f"that is not approved: one of {', '.join(SUBJECTS)}")


def waiting_version(plan: Mapping[str, Any] | None) -> bool:
    """Whether the latest plan version (`plan`, the fold's case.plan) waits for a decision:
    neither approved, rejected nor withdrawn. THE rule `pending` reads for a plan, and the fold
    (a decision of the waiting version; `plan_actions.track`, a withdrawal of it)."""
    return bool(plan) and not plan.get("approved_at") and not plan.get("rejected_at") and not plan.get("withdrawn_at")


def approved_not_sent(case: Case) -> Mapping[str, Any] | None:
    """The transfer request a supervisor or manager approved and that was not carried out (no
    bundle written since: the case is open and no transfer, out or in, came after the request),
    or None. Until its bundle is written, or the request is taken back, the child is neither
    handed over nor planned for as staying: the case's worker has it on their due list."""
    request = case.transfer_request
    if case.status != "open" or not request or request.get("decided_at") is None or not request.get("approved"):
        return None
    boundary = max((e.id for e in case.history if e.kind in ("transfer", "transfer_in")), default="")
    return request if request["record_id"] > boundary else None


def waiting_requests(request: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The closure or transfer requests in a case's `closure` or `transfer_request` still waiting
    for a decision, the latest first: the request, and those it was made over while they waited
    (`earlier`: two copies apart, merged; the fold keeps them so that one withdrawn or rejected
    leaves the other waiting, and a decision is of the one it names)."""
    found = []
    while request and request.get("decided_at") is None:
        found.append(request)
        request = request.get("earlier")
    return found


def approved_under(request: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The approved transfer request, not carried out, that the requests still waiting in a case's
    `transfer_request` were made over (the last `earlier` of `waiting_requests`), or None. Approved on
    one copy while the other asked apart (merged), or asked again for another agency: it stands under
    them, as it was, until one of them is approved (that one goes instead) or it is taken back; one
    of them rejected or withdrawn leaves it standing (fold._transfer_request)."""
    waiting = waiting_requests(request)
    below = waiting[-1].get("earlier") if waiting else None
    return below if below and below.get("decided_at") is not None and below.get("approved") else None


def waiting_closures(closure: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The closure requests in a case's `closure` still waiting for a decision (`waiting_requests`)."""
    return waiting_requests(closure)


def waiting_transfers(request: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The transfer requests in a case's `transfer_request` still waiting for a decision (`waiting_requests`)."""
    return waiting_requests(request)


def withdrawable(case: Case, subject: str, worker_id: str | None) -> Mapping[str, Any] | None:
    """The request of `worker_id`'s waiting for a decision, which they may take back: the pending
    one, or, for a closure or a transfer, one of theirs that the pending one was made over (the
    latest)."""
    request = pending(case, subject)
    if request is None or worker_id is None:
        return None
    waiting = waiting_requests(request) if subject in ("closure", "transfer") else [request]
    return next((r for r in waiting if asker(r) == worker_id), None)


def asker(request: Mapping[str, Any]) -> str | None:
    """Who asked for a request: its author, also when someone else corrected it since (the fold's
    `asked_by`; `by` is then the one who corrected it)."""
    return request.get("asked_by") or request.get("by")


def waiting(policy: Policy, subject: str, case: Case) -> Mapping[str, Any] | None:
    """The request that waits for a decision (`pending`), or None: none while the case is not
    open, nor a plan version where the policy needs no plan approval (each version is in force
    once written, with no approval record: docs/workflow.md), nor one the case's stage does not
    let anyone decide (`held`: a plan version while the case's closure is requested). What the
    due list lists and `cpcm approve` and `cpcm reject` decide."""
    if case.status != "open" or (subject == "plan" and not required(policy, subject)) or held(subject, case):
        return None
    return pending(case, subject)


def held(subject: str, case: Case) -> bool:
    """Whether the case's stage lets nobody decide its `subject` now (the stage table,
    transitions.TABLE): a plan version that waited when the closure was requested waits again
    once the closure is rejected or withdrawn, and is never decided if the case closes."""
    return transitions.next_stage(case.stage, f"approval.{subject}") is None


def has_requests(case: Case) -> bool:
    """Whether the case holds anything `pending` could find waiting: a quick test first, since
    most cases hold no request (the deadlines ask it of every case of a fill)."""
    return (case.plan is not None or case.closure is not None or case.transfer_request is not None
            or case.mandatory_report is not None)


def barred(policy: Policy, subject: str, case: Case) -> frozenset[str]:
    """The workers who may not decide the request waiting for a decision (`waiting`), whatever
    their role: the one who asked and, for a closure, the case's worker; nobody where the policy
    allows self-approval, or nothing waits."""
    request = waiting(policy, subject, case)
    if request is None:
        return frozenset()
    return barred_by(policy, subject, case, request)


def barred_by(policy: Policy, subject: str, case: Case, request: Mapping[str, Any]) -> frozenset[str]:
    """Who may not decide `request` (`barring`) for each of its `barring_writers`."""
    return frozenset().union(*(barring(policy, subject, case, writer) for writer in barring_writers(policy, subject, request)))


def barring_writers(policy: Policy, subject: str, request: Mapping[str, Any]) -> tuple[str, ...]:
    """The `writers` of a request that it bars: all of them, except, for a plan version a
    conference close wrote (the fold's `conference` mark) where the policy says so
    (plan_approval.conference_versions_by_chair), the one who closed it: the version is the
    conference's decision, not its chair's alone. One who corrected it since is barred, the chair
    too; a version a person writes with the reason conference_decision bars them, as any other.
    A decision not to report bars only the one who recorded it (docs/commands/mandatory-report.md):
    a correction changes its wording, never the decision, and a supervisor or manager who corrected
    it is the chain of supervision, whose own decision not to report needs no approval."""
    if subject == mandatory_rules.SUBJECT:
        return tuple(w for w in (asker(request),) if w)
    found = writers(request)
    made = request.get("conference") if subject == "plan" else None
    if not made or made.get("by") != asker(request) or not policy.get(rule_of(subject), CONFERENCE_VERSIONS, False):
        return found
    corrector = request.get("by") if request.get("record_id") != made.get("record") else None
    return tuple(w for w in found if w != made["by"] or w == corrector)


def writers(request: Mapping[str, Any]) -> tuple[str, ...]:
    """Who wrote what a request asks to be decided: the one who asked and, where someone else
    corrected it since, the one who corrected it (the fold's `asked_by` and `by`)."""
    return tuple(w for w in dict.fromkeys((asker(request), request.get("by"))) if w)


def barring(policy: Policy, subject: str, case: Case, asked_by: str | None) -> frozenset[str]:
    """Who may not decide the case's `subject` request that `asked_by` asked for, whatever their
    role: `asked_by` and, for a closure, the case's worker; nobody where the policy allows
    self-approval. What `barred` tells `may_decide` of the request waiting, and `may_correct` of
    a request decided already."""
    if self_allowed(policy, subject):
        return frozenset()
    own = {asked_by} | ({case.worker} if subject == "closure" else set())
    return frozenset(w for w in own if w)


def decision_of(records: Iterable[Record], subject: str, request_id: str) -> Record | None:
    """The approval or rejection that decided `subject`'s request `request_id` (a plan version or
    a closure request), or None while it waits, or once it was withdrawn, or another request was
    decided instead. `records`: the case's records as the fold applies them (fold.effective: a
    correction in its original's place, a decision's target read through it), so that a request
    corrected, and corrected again, is decided by the decision of its original. A decision names
    its request (`target`), or, as older ones do, none: then it is of the latest request before it.
    The first that decides it stands (a second decision of one decided decides nothing)."""
    found, latest = False, True
    for record in records:
        if not found:
            found = record.id == request_id
            continue
        kind, body = record.kind, record.body
        named = body.get("subject", "plan")
        if kind == REQUEST_KINDS[subject]:  # a later request: a decision that names none is of that one
            latest = False
        elif kind == "reopen" and subject == "closure":
            return None
        elif named == subject and kind == "withdrawal" and (body.get("target") == request_id
                                                             or (body.get("target") is None and latest)):
            return None
        elif named == subject and kind in DECISIONS and (body.get("target") == request_id
                                                         or (body.get("target") is None and latest)):
            return record
    return None


def barring_decided(policy: Policy, subject: str, case: Case, asked_by: str | None,
                    made: Mapping[str, Any] | None = None) -> frozenset[str]:
    """Who may not correct what was decided in the case's `subject` request that `asked_by` asked
    for (`barring`), except, for a plan version a conference's close wrote (`made`: the fold's
    `conference` mark, fold.conference_version), its chair where the policy lets her approve it
    (`barring_writers`): she corrects the version she approved as a supervisor corrects hers."""
    if not made:
        return barring(policy, subject, case, asked_by)
    return barred_by(policy, subject, case, {"by": asked_by, "record_id": made.get("record"), "conference": made})


def may_correct(policy: Policy, subject: str, actor: Worker | None, case: Case, asked_by: str | None,
                made: Mapping[str, Any] | None = None) -> bool:
    """Whether `actor` may change, by a correction, what a supervisor decided on in the case's
    `subject` request that `asked_by` asked for and that was approved or rejected
    (`decision_of`): only one who may decide it (`may_decide`: an active supervisor or manager,
    not the one who asked nor, for a closure, the case's worker, unless the policy allows
    self-approval; `barring_decided`: the chair of the conference whose close wrote a plan
    version `made`, where she may approve it). Anyone else writes what changed as a request of
    its own (a plan's next version), which waits for a decision."""
    return may_decide(actor.id if actor else None, approves(actor), barring_decided(policy, subject, case, asked_by, made))


@dataclass(frozen=True)
class Verdict:
    """May this worker decide? `refusal` is the rule code when not: approval-needs-supervisor,
    nothing-to-approve or self-approval; `own` says whose the request is ('case' or 'request')."""

    allowed: bool
    refusal: str | None = None
    own: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


def may_approve(policy: Policy, subject: str, actor: Worker | None, case: Case) -> Verdict:
    """Whether `actor` may approve or reject the case's `subject` waiting for a decision
    (`waiting`): `may_decide`, told from the case."""
    if not may_decide(actor.id if actor else None, approves(actor), ()):
        return Verdict(False, "approval-needs-supervisor")
    if waiting(policy, subject, case) is None:
        return Verdict(False, "nothing-to-approve")
    if not may_decide(actor.id, approves(actor), barred(policy, subject, case)):
        own = "case" if subject == "closure" and actor.id == case.worker else "request"
        return Verdict(False, "self-approval", own)
    return Verdict(True)


def own_request(policy: Policy, subject: str, actor: Worker | None, case: Case) -> bool:
    """Whether the pending request is the actor's own: they asked for it or, for a closure, it is
    their case. Where the policy allows self-approval, deciding one's own request needs a reason
    (the decision's note), recorded with it."""
    request = pending(case, subject)
    if actor is None or request is None:
        return False
    return actor.id in barring_writers(policy, subject, request) or (subject == "closure" and actor.id == case.worker)


def withdrawal_refusal(policy: Policy, subject: str, actor: Worker | None, case: Case) -> str | None:
    """Why `actor` may not take back the case's pending `subject` request, as a rule code
    (nothing-to-approve: none waits, or the policy asks for no decision, so what was written is in
    force; withdraw-own-only: it is someone else's), or None: only the one who asked for it takes it
    back (cpcm plan --withdraw, cpcm close --withdraw)."""
    request = pending(case, subject)
    if request is None and subject == "transfer" and approved_not_sent(case) is not None:
        # approved and not carried out: the one who asked, the case's worker (who has it on their
        # due list, and may have taken the case over from the one who asked) or a supervisor or
        # manager takes it back when the transfer is no longer wanted
        if actor is None or approved_withdrawable(case, actor) is None:
            return "withdraw-own-only"
        return None
    if request is None or not required(policy, subject):
        return "nothing-to-approve"
    if actor is None or withdrawable(case, subject, actor.id) is None:
        return "withdraw-own-only"
    return None


def approved_withdrawable(case: Case, actor: Worker) -> Mapping[str, Any] | None:
    """The approved transfer request not carried out (`approved_not_sent`) that `actor` may take
    back: the one who asked for it, the case's worker, or a supervisor or manager."""
    request = approved_not_sent(case)
    if request is None:
        return None
    return request if actor.id in (asker(request), case.worker) or oversees(actor) else None


def deciders(policy: Policy, subject: str, case: Case, workers) -> list[str]:
    """The ids of the team members (`workers`: the active team) who may decide the case's
    `subject` waiting for a decision (`may_approve`): empty when nothing waits or nobody may, such
    as a one-supervisor agency whose supervisor wrote the plan version, unless the policy allows
    self-approval."""
    if waiting(policy, subject, case) is None:
        return []
    return deciders_barring(barred(policy, subject, case), workers)


def deciders_barring(barred_ids, workers) -> list[str]:
    """`deciders` told from who the request bars (`barred`, which a waiting approval on the due
    list carries) instead of the case: those of `workers` the rule lets decide it (`may_decide`;
    the due list has no case to ask it of)."""
    return [w.id for w in workers if may_decide(w.id, approves(w), barred_ids)]


# what makes a decision possible where nobody in the team may make it: the last of `nobody_hint`'s and `closure_ways_out`'s ways
_ADD_OR_ALLOW = ("add a supervisor (cpcm team add), or allow self-approval with a recorded reason (.cpcm/policy.yaml, put in "
                 "force with cpcm policy set)")


def closure_ways_out(case_id: str, asked_by: str | None, decidable: bool = True, withdrawable: bool = True) -> str:
    """THE text of the ways out of the wait for a closure's decision, for a case that is not to
    close: only those that exist for the case and the team. The one who asked withdraws it where
    they may (`withdrawable`: an active member of the team; only they take it back), a supervisor
    or manager rejects it where one may decide it (`decidable`: `deciders` not empty, told by
    `rules.NobodyDecides`); where nobody may, a supervisor added or self-approval allowed makes a
    decision possible (as `nobody_hint` says of a waiting approval). What the due items that go on
    while a closure is requested end with (`deadlines._STAGE_WHY`): made with both true when the
    case's deadlines are computed, worded for the team when `due` and `check` list them."""
    who = f" ({asked_by})" if asked_by else ""
    withdraw = f"the one who asked{who} withdraws it (cpcm close {case_id} --withdraw --reason ...)"
    if decidable and withdrawable:
        return f"if the case is not to close, the one who asked withdraws it (cpcm close {case_id} --withdraw --reason ...) " \
               "or a supervisor rejects it"
    if decidable:
        return (f"if the case is not to close, a supervisor or manager rejects it (cpcm reject {case_id} closure --note ...): "
                f"the one who asked{who} is no longer on the team to withdraw it")
    if withdrawable:
        return f"nobody in the team may decide it: if the case is not to close, {withdraw}, {_ADD_OR_ALLOW}"
    return f"nobody in the team may decide it, and the one who asked{who} is no longer on the team to withdraw it: {_ADD_OR_ALLOW}"


def nobody_hint(subject: str, case_id: str, requested_by: str | None, next_decidable: bool = True) -> str:
    """What the case's worker is told of a waiting request nobody in the team may decide
    (`deciders` empty): the ways out `cpcm plan` and `cpcm close` name when they write one, and
    for a plan, writing its next version (a request of its own), where someone may decide that
    (`next_decidable`, `Deadline.next_decidable`: not where the case's worker is the lone
    supervisor, or there is none; told of the case's worker on every list that holds the item)."""
    if subject == "mandatory_report":  # no withdrawal: a new decision replaces it
        return ("nobody in the team may decide it: the case's worker records a new decision (cpcm mandatory-report "
                f"{case_id} ...), add a supervisor (cpcm team add), or allow self-approval with a recorded reason "
                "(.cpcm/policy.yaml, put in force with cpcm policy set)")
    withdraw = f"cpcm {'close' if subject == 'closure' else subject} {case_id} --withdraw --reason ..."
    who = f" ({requested_by})" if requested_by else ""
    first = (f"the case's worker writes the next version from this one (cpcm plan {case_id} --from-current --reason ...), "
             "which a supervisor or manager who did not write it may approve; or " if subject == "plan" and next_decidable else "")
    return f"nobody in the team may decide it: {first}the one who asked{who} withdraws it ({withdraw}), {_ADD_OR_ALLOW}"
