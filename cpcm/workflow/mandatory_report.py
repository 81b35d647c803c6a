"""Mandatory reporting: the decision to report a concern to an authority, or not to, and the chain
of supervision for it (IAG §5.10 [L194-199, L696-699]; §8). Pure: no I/O; the times are the
records' (UTC), `now` is the caller's.

- `summary`: what the fold keeps of a case's latest decision (`Case.mandatory_report`);
- `decided`: that summary after a supervisor's approval or rejection of it (a caseworker's
  decision not to report, `needs_approval`; approvals.pending reads `waiting`);
- `reportable`: the case's concerns the policy makes reportable (`mandatory_report.concerns`);
- `owed`: whether, and since when, a decision is owed on the case: `cpcm due` lists "decide on the
  mandatory report" (deadlines._mandatory_report), `cpcm check` mandatory-report-overdue;
- `listings`: when each concern became reportable once the list changes (`cpcm policy set`,
  `cpcm config set policy`: the config's `reportable_since`, read back as `Policy.reportable_since`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.domain.records import Record, utc

KIND = "mandatory_report"
SUBJECT = "mandatory_report"  # what `cpcm approve CASE mandatory-report` decides (approvals.SUBJECTS)
DECISIONS = ("reported", "not_reported")
OTHER = "other"  # an authority not on the policy's list, named in `to_other`


def summary(record: Record, before: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The fold's summary of a decision record: which, when, by whom, whether it waits for a
    supervisor (`needs_approval`, written by the command for a caseworker's decision not to
    report), and no decision of it yet. `before`: the case's decision it follows. One not to report
    sent up the chain and not approved (waiting, or rejected) is kept as `replaced`: a report
    written on another copy apart may be the later record, and the decision not to report before
    it waits for nobody all the same (`reported_apart`, whichever of the two is later)."""
    body = record.body
    found = {"record_id": record.id, "at": utc(record.at), "by": record.by, "decision": body.get("decision"),
             "needs_approval": bool(body.get("needs_approval")), "decided_at": None, "decided_by": None, "approved": None}
    if before and before.get("decision") == "not_reported" and before.get("needs_approval") and before.get("approved") is not True:
        found["replaced"] = {k: v for k, v in before.items() if k != "replaced"}
    return found


def waiting(report: Mapping[str, Any] | None) -> bool:
    """Whether the decision waits for a supervisor's or manager's approval or rejection."""
    return bool(report) and bool(report.get("needs_approval")) and report.get("decided_at") is None


def decided(report: Mapping[str, Any], target: Any, at: str, by: str, approved: bool) -> Mapping[str, Any]:
    """`report` after a supervisor's decision of it, at `at` by `by`: the same object when the
    decision is of another record (an earlier decision, replaced by this one) or it did not wait.
    A decision of the one it replaced (`replaced`: decided on its copy, after this one in the
    records' order) is kept there: an approved one stands on its own, reported apart or not."""
    held = report.get("replaced")
    if held and target is not None and target == held.get("record_id") and waiting(held):
        return dict(report, replaced=dict(held, decided_at=at, decided_by=by, approved=approved))
    if not waiting(report) or target not in (None, report.get("record_id")):
        return report
    return dict(report, decided_at=at, decided_by=by, approved=approved)


def standing(report: Mapping[str, Any] | None) -> bool:
    """Whether the case's latest decision stands: recorded, and not rejected by a supervisor."""
    return bool(report) and report.get("approved") is not False


def reportable(case: Case, policy: Policy) -> list[str]:
    """The case's concerns (the registration's, with every update) that the policy makes reportable,
    in the policy's order."""
    wanted = policy.get("mandatory_report", "concerns", None) or ()
    if not wanted or not case.concerns:
        return []
    return [c for c in wanted if c in case.concerns]


def owed(case: Case, policy: Policy, listed: Mapping[str, str]) -> tuple[str, list[str], Mapping[str, Any] | None] | None:
    """Whether a decision is owed on the open case: (since when, as UTC; the reportable concerns
    it is owed for; the rejected decision it is owed again after, or None), or None.

    Each reportable concern owes a decision from when it was recorded (`Case.concerns_since`: the
    registration, or the update that added it), or from the latest reopening, or from when the
    agency listed it (`listed`: concern code -> ISO time, `Policy.reportable_since`; none for a
    concern listed from the start), whichever is latest, until one is recorded after that: a
    concern the case recorded weeks before the agency made it reportable is owed from the listing,
    not at once overdue; a decision not to report that a supervisor rejected is owed
    again from the rejection. A concern an update removed owes nothing (it is not the case's any
    more); added again, it is owed from the update that adds it again. A correction of the
    registration stands in its place, as if right from the start: a concern it adds is owed from
    the registration. The rejection owes a decision again whether or not the policy lists the
    case's concerns: the decision was made, and the chain of supervision sent it back."""
    if case.status != "open":
        return None
    start = case.cycle_start
    if start is None:
        return None
    concerns = reportable(case, policy)
    report = case.mandatory_report
    if not concerns:
        if report and report["at"] >= start and not standing(report):
            return str(report["decided_at"]), [], report
        return None
    recorded = case.concerns_since or {}
    owing: dict[str, str] = {}
    rejected = None
    for concern in concerns:
        since = max(start, recorded.get(concern) or start, listed_at(listed, concern) or start)
        if report and report["at"] >= since:
            if standing(report):
                continue
            owing[concern], rejected = str(report["decided_at"]), report
        else:
            owing[concern] = since
    if not owing:
        return None
    return min(owing.values()), list(owing), rejected


def listed_at(listed: Mapping[str, str], concern: str) -> str | None:
    """When the agency listed `concern` as reportable (`listed`, as `owed` takes it), as UTC ISO
    (what the records' times are compared as); None where it was listed from the start, or what
    the config holds is not a time (edited by hand): counted as listed from the start."""
    text = listed.get(concern)
    if not text:
        return None
    try:
        return utc(text)
    except ValueError:
        return None


def listings(before: Sequence[str], after: Sequence[str], times: Mapping[str, str], now: str) -> dict[str, str]:
    """When each concern of `after` (the policy's `mandatory_report.concerns` once a change is in
    force) became reportable, given `before` (the list in force until then), `times` (when each
    was listed, the config's `reportable_since`) and `now` (the change's time, ISO): a concern
    listed before keeps its time, or none when it was listed from the start (a list that grows
    does not reset the clocks of those it had); a concern newly listed is reportable from `now`;
    a concern the change removes is dropped, so that listed again it counts from the new listing."""
    kept = set(before)
    found = {}
    for concern in after:
        if concern not in kept:
            found[concern] = now
        elif times.get(concern):
            found[concern] = times[concern]
    return found


def authority_errors(policy: Policy, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, why) for a `to` that is not one of the policy's authorities, and a `to_other` given
    with an authority of the list (it names one only for `other`)."""
    to = body.get("to")
    authorities = [str(a) for a in policy.get("mandatory_report", "authorities", None) or ()]
    errors = []
    if to and to not in authorities:
        errors.append(("to", f"is not one of the policy's authorities ({', '.join(authorities)}): give one of them, "
                             f"or '{OTHER}' with the authority in to_other"))
    if body.get("to_other") and to and to != OTHER:
        errors.append(("to_other", f"names an authority only with to: {OTHER}"))
    if body.get("decision") == "not_reported":
        for key in ("to", "to_other", "reported_on", "reference"):
            if body.get(key):
                errors.append((key, "is for a decision to report: leave it out for not_reported, or record reported"))
    if body.get("decision") == "reported" and body.get("basis"):
        errors.append(("basis", "is the reason not to report: leave it out for reported"))
    return errors


# Two copies that each recorded a decision on the case apart (service/apart.py finds them, the sync records the
# conflict, docs/team.md): one reported the concern and the other decided not to, or both reported it to one authority
MANDATORY_REPORTS_CONCURRENT = "mandatory-reports-concurrent"


def _authority(body: Mapping[str, Any]) -> tuple[str, str]:
    """Whom a decision reported to: the policy's code, and for `other` the authority it names
    (compared, never shown: it is free text)."""
    return str(body.get("to") or ""), " ".join(str(body.get("to_other") or "").split()).casefold() if body.get("to") == OTHER else ""


def clash(mine: Mapping[str, Mapping[str, Any]], theirs: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """Whether the decisions two copies recorded apart ({record ID: its body}, each copy's, a
    correction in the place of the decision it corrects) clash, and how: (the record IDs that clash,
    what the conflict is about), or ([], {}).

    - each copy's latest decision (in the records' order) differs, one `reported` and the other
      `not_reported`: the concern was reported, and a worker decided, not knowing of it, that
      reporting could harm the child; a supervisor looks at both. `reported`: the decisions to
      report among them.
    - both copies reported the concern to one authority (the same code; for `other`, the same
      authority named), and not under one reference: the authority may hold two reports of the
      child, or a worker recorded as theirs the report another made. `authorities`: those codes.
    Two reports to two authorities are both right (each authority has its own report); two
    decisions not to report, or one report recorded on both copies under one reference, are the
    same decision: none of them clash."""
    sides = (mine, theirs)
    if not mine or not theirs:
        return [], {}
    found: set[str] = set()
    latest = [max(side) for side in sides]
    if {sides[0][latest[0]].get("decision"), sides[1][latest[1]].get("decision")} == set(DECISIONS):
        found.update(latest)
    reports = [{} for _ in sides]  # per copy: {authority: {record ID: its reference}}
    for side, by in zip(sides, reports):
        for record_id, body in side.items():
            if body.get("decision") == "reported" and body.get("to"):
                by.setdefault(_authority(body), {})[record_id] = " ".join(str(body.get("reference") or "").split()).casefold()
    authorities = set()
    for authority in sorted(reports[0].keys() & reports[1].keys()):
        references = {*reports[0][authority].values(), *reports[1][authority].values()}
        if len(references) > 1 or "" in references:
            found.update(reports[0][authority], reports[1][authority])
            authorities.add(authority[0])
    if not found:
        return [], {}
    about: dict[str, Any] = {"reported": sorted(r for r in found if (mine.get(r) or theirs.get(r) or {}).get("decision") == "reported")}
    if authorities:
        about["authorities"] = sorted(authorities)
    return sorted(found), about


def reported_apart(report: Mapping[str, Any] | None, records: Any, reported: Any) -> Mapping[str, Any] | None:
    """The case's latest decision after a merge found a decision not to report clashing with a
    decision to report written apart (the conflict's `records`, and its `reported`), whichever of
    the two is later in the records' order: a decision not to report that waits for a supervisor,
    or that one rejected, stands aside (the latest itself, or the one the later report `replaced`).
    The concern was reported, which cannot be taken back, so no supervisor's approval is needed any
    more, and nothing is owed again after a rejection ("report it": it was); the conflict asks a
    supervisor to look at both (rules.CONFLICT_PROBLEMS). `reported_apart` on that decision names
    the report (`set_aside` reads it). The same object otherwise: a decision approved already stands."""
    named = [str(r) for r in reported or () if str(r) in (records or ())]
    if not report or not named:
        return report
    held = report if report.get("decision") == "not_reported" else report.get("replaced")
    if not held or held.get("decision") != "not_reported" or held.get("record_id") not in (records or ()):
        return report
    if not waiting(held) and held.get("approved") is not False:
        return report
    aside = dict(held, needs_approval=False, decided_at=None, decided_by=None, approved=None, reported_apart=named[-1])
    return aside if held is report else dict(report, replaced=aside)


def set_aside(report: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The decision not to report that a report written on another copy apart left waiting for
    nobody (`reported_apart`), and that report: (the decision's record ID, the report's), whichever
    of the two is later in the records' order; None where there is none. What `cpcm show`, `cpcm
    check` and a refused `cpcm approve|reject CASE mandatory-report` say of it."""
    for held in (report, (report or {}).get("replaced")):
        if held and held.get("reported_apart"):
            return str(held["record_id"]), str(held["reported_apart"])
    return None
