"""Checks: `check_*(…, policy, now) -> [Problem]`, each problem with a stable code.

`cpcm check` prints them all at once; errors make it exit 1. Codes are part of the contract
(scripts match on them): `<deadline>-overdue`, `<deadline>-target-missed`,
`plan-missing-closure-criteria`, `plan-not-approved`, `caseload-over-cap`, `caseload-near-cap`,
`reached-18-without-justification`, `closed-reached-18-under-age`, `transition-out-of-order`, `referral-consent-corrected`,
`referral-consent-withdrawn`, `transfer-consent-corrected`, `reunification-without-best-interests`,
`consent-refused`, `consent-missing`, `consent-not-informed`, `consent-override-purpose`, `born-after-registration`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.dates import local_text
from cpcm.domain.records import MISFILED
from cpcm.domain.team import Team, Worker, cadre_words
from cpcm.errors import N_, FieldError, in_english
from cpcm.workflow import approvals, consent, mandatory_report, placements, plan_actions, retention, transitions
from cpcm.workflow.age import age_limit, of_age, registered_before_birth
from cpcm.workflow.clocks import MANAGERS, SUPERVISORS
from cpcm.workflow.deadlines import (CONSENT_CODES, NOT_OPEN_CODES, STEP_CONSENT_CODES, WAITING_ON_CLOSURE, Deadline,
                                     before_reopening, closure_answers, closure_wait, deadlines, left_out_actions,
                                     plan_in_force, soon_window, told_to)
from cpcm.domain.policy import Policy
from cpcm.domain.problems import Problem


def check_restriction(items: Iterable[Deadline]) -> list[Problem]:
    """`cpcm check`'s and `cpcm verify`'s `restriction-mismatch` problems: a case's `recipients` file and its records
    disagree on its restriction to the managers. `items`: the due items that say so (`deadlines.restriction_mismatch`,
    the one rule; their code, their text with the command a manager runs)."""
    return [Problem("restriction-mismatch", "error", f"{item.title} ({item.why})", item.rule, item.source, item.case_id,
                    item.owner)  # the item's code (workflow/retention.py MISMATCH_CODE)
            for item in items]


def check_override_purposes(case: Case, policy: Policy, purposes: tuple[str, ...]) -> list[Problem]:
    """`consent-override-purpose`: each override of `case` whose stored purpose is none of `purposes` (those
    `cpcm consent --override` takes: `consent.overrides_of_no_purpose`), written before the command read it. It
    stands in for no consent; a supervisor or manager corrects it to the purpose meant. Named by the case and
    record ID and the field, never the text stored (it may be words about someone)."""
    return [Problem("consent-override-purpose", "warning",
                    f"consent override {record_id}: its purpose is none of a consent's ({', '.join(purposes)}), so it stands "
                    f"in for no consent; a supervisor or manager corrects it to the purpose meant: cpcm correct {case.id} "
                    f"{record_id} --set purpose=PURPOSE --reason ...", "consent", policy.source("consent"), case.id, case.worker)
            for record_id in consent.overrides_of_no_purpose(case.consents, purposes)]


def check_case(case: Case, policy: Policy, now: datetime, undecided: "NobodyDecides | None" = None,
               manages: bool = True, say=in_english) -> list[Problem]:
    """The case's problems. `undecided`: the team's `NobodyDecides`, which words the ways out of a
    closure's wait in an item's text for that team (`NobodyDecides.told`), as `due` does. `manages`:
    whether the one who asks is an active manager: the managers' items (a closed case's retention,
    a restricted case open) are told to them only, as `due` lists them (`deadlines.told_to`). `say`:
    the words of the language the problems marked for the catalogs are said in (`Wording.say`: the
    terminal's; English by default, as the JSON gives them)."""
    problems = []
    soon = soon_window(policy, now)
    zone = now.tzinfo  # the agency's: times in a problem are shown as everywhere else, local with their offset
    for item in deadlines(case, policy, now):
        if item.owner == SUPERVISORS:
            continue  # waiting approvals are due items, not faults of the case
        if item.code in CONSENT_CODES:
            continue  # reported below, each under its own code (the item's)
        if item.code in STEP_CONSENT_CODES:
            continue  # the consent a step still needs: `due`'s reminder, which the step itself checks
        if item.rule == "consent_decision":  # consent to the case's work unsettled: reported under the item's own code
            said = f"{item.title}: {item.why.replace('CASE', case.id)}"
            if item.code == "consent-refused":
                problems.append(Problem("consent-refused", "error", said, item.rule, item.source, case.id, item.owner))
            elif item.code == "consent-not-informed":  # given, but not informed: recorded again, explained (a warning)
                problems.append(Problem("consent-not-informed", "warning", said, item.rule, item.source, case.id, item.owner))
            else:
                # nothing refused: the answers are asked for (a warning), as a step warns of consent only missing
                problems.append(Problem("consent-missing", "warning", said, item.rule, item.source, case.id, item.owner))
            continue
        if item.owner == MANAGERS:
            if not told_to(item, manages):
                continue  # only a manager acts on it: on no one else's `cpcm due` nor `cpcm check`
            if item.code == retention.OPEN_CODE:  # an open case still restricted: nobody holds its deadlines
                problems.append(Problem("restricted-open", "error", f"{item.title} ({item.why})", item.rule, item.source,
                                        case.id, item.owner))  # the item's code (workflow/retention.py OPEN_CODE)
            elif now >= item.due:  # a closed case's retention ended: a manager's decision, no fault of the case
                problems.append(Problem("retention-ended", "warning", f"{item.title} ({item.why})", item.rule, item.source,
                                        case.id, item.owner))  # the item's code (workflow/retention.py CODE)
            continue
        if undecided is not None:
            item = undecided.told(item)
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
        # a newer version waiting (or rejected, or withdrawn) while an approved one stays in force is not a fault; one
        # approved before the latest reopening is not in force since (deadlines.plan_in_force), and a version of that
        # episode is not this one's to approve: the reopened case is assessed and planned again
        in_force = plan_in_force(case, policy)
        waiting_over = in_force is not None and in_force.get("record_id") != plan.get("record_id")
        earlier = before_reopening(case, plan.get("at"))
        if approvals.required(policy, "plan") and not plan.get("approved_at") and not waiting_over and not earlier:
            state = ("was rejected" if plan.get("rejected_at") else "was withdrawn by its author" if plan.get("withdrawn_at")
                     else "waits for approval")
            problems.append(Problem("plan-not-approved", "warning", f"plan version {plan['version']} {state}: it is not in force",
                                    "plan_approval", policy.source("plan_approval"), case.id, case.worker))
    for home in placements.homes_without_best_interests(case, policy):  # ESARO Principle 2, the placement's rule
        problems.append(Problem("reunification-without-best-interests", "error",
                                f"a plan version for reunification_done ({local_text(home, zone)}) records the child's return "
                                "home with no best-interests record made before it and no supervisor's reason, and none has "
                                f"been made since: record it (cpcm assess {case.id} --type best-interests)",
                                "placement", policy.source("placement", "best_interests_required"), case.id, case.worker))
    limit = age_limit(policy)
    # from the day after the birthday: the birthday is the worker's to propose the closure (the turning-18 item is
    # due by its end, deadlines._turning_18)
    if case.status == "open" and of_age(case, limit, now.date() - timedelta(days=1)) \
            and not case.last("continuation") and not closure_answers(case):  # a closure proposed answers it while it waits
        problems.append(Problem("reached-18-without-justification", "error",
                                f"the child is {limit} or older and the case is open with no recorded justification",
                                "child_age_limit", policy.source("child_age_limit"), case.id, case.worker))
    closed = transitions.closed_under_age(case, limit, zone)  # the age corrected after a closure for reached_18
    if closed is not None:
        problems.append(Problem("closed-reached-18-under-age", "error",
                                f"the case was closed for '{transitions.AGE_REASON}' on {closed.isoformat()}, and by the "
                                f"{'date of birth' if case.child.get('date_of_birth') else 'estimated age'} now on file the "
                                f"child was under {limit} that day: a supervisor or manager reopens it (cpcm reopen {case.id} "
                                "--reason ...), or, if the age on file is wrong, corrects it", "child_age_limit",
                                policy.source("child_age_limit"), case.id, case.worker))
    born = registered_before_birth(case, zone, say) if case.status != "transferred" else None  # read-only here: not ours to mend
    if born is not None:
        problems.append(Problem("born-after-registration", "warning", _born_after_text(case, born, say), "registration",
                                "docs/commands/register.md (--at)", case.id, case.worker))
    for referral in case.referrals:  # sent on a consent a correction took away, or answered otherwise since (workflow/consent.py)
        for item in consent.open_corrected_away(referral):
            problems.append(Problem("referral-consent-corrected", "error", consent.corrected_away_text(case.id, referral["ref"], item),
                                    "consent", policy.source("consent"), case.id, case.worker))
        for item in consent.open_withdrawn(referral):
            problems.append(Problem("referral-consent-withdrawn", "error", consent.withdrawn_text(case.id, referral["ref"], item),
                                    "consent", policy.source("consent"), case.id, case.worker))
    request = case.transfer_request  # asked for on a consent a correction took away: the same rule
    for item in consent.open_corrected_away(request):
        problems.append(Problem("transfer-consent-corrected", "error", consent.corrected_away_text(case.id, request["record_id"], item),
                                "consent", policy.source("consent"), case.id, case.worker))
    for record_id in out_of_order(case):
        problems.append(Problem("transition-out-of-order", "warning", _out_of_order_message(case, record_id),
                                "transitions", "the case-management steps (IAG Figure 1)", case.id, case.worker))
    problems += check_conflicts(case, policy, undecided)
    return problems


# Translators: the way out of a case whose date of birth is after the day it was registered (check's
# born-after-registration), said after the rule's words (workflow/age.py BORN_AFTER); %(dob)s is a command
# (cpcm update CASE --dob DATE ...) or CORRECT_DOB below, and %(case)s a case ID, the commands kept as they are.
BORN_AFTER_WAYS = N_("if the date of birth is wrong: %(dob)s; if the registration's time is: cpcm correct %(case)s "
                     "registration --at WHEN --reason ...")
# Translators: how a closed case's date of birth is corrected; the command is kept as it is (RECORD, DATE too).
CORRECT_DOB = N_("cpcm correct %(case)s RECORD --set child.date_of_birth=DATE --reason ..., RECORD the registration or "
                 "the update that gave it")


def _born_after_text(case: Case, born: FieldError, say=in_english) -> str:
    """What `check` says of a case whose date of birth in force is after the day it was registered
    (`born-after-registration`: `age.registered_before_birth`, the rule `cpcm register`, `cpcm
    import cases`, `cpcm update` and `cpcm correct` refuse it by, written before they did): the
    field and the rule's words, never either date, and the way out whichever of the two is wrong.
    The date of birth is updated while the case is open (`cpcm update --dob`, which the same rule
    checks); a closed case's, which takes no update, is corrected on the record that gave it. In
    the language of `say` (`Wording.say`; English by default), as `born` was said."""
    dob = (f"cpcm update {case.id} --dob DATE --reason ..." if case.status == "open" else
           say(CORRECT_DOB) % {"case": case.id})
    return f"{born.field}: {born.reason} ({say(BORN_AFTER_WAYS) % {'dob': dob, 'case': case.id}})"


# a record's kind as the worker knows it, for the message of a record out of order
_KIND_WORDS = {"closure": "a closure request", "approval": "an approval", "rejection": "a rejection",
               "withdrawal": "a request taken back", "followup": "a follow-up", "plan": "a plan version",
               "transfer_request": "a transfer request", "transfer": "a transfer", "reopen": "a reopening",
               "assessment": "an assessment", "review": "a review", "referral": "a referral"}


def _out_of_order_message(case: Case, record_id: str) -> str:
    """What `check` says of a record out of order (`case.anomalies`): what happened, in the
    worker's terms (two copies wrote to the case apart, and a sync brought them together), and what
    to do: settle the sync conflict that names it (its own line says how), or, where none does,
    check it and add a note, which records that it was seen (`fold.answered`)."""
    kind = next((e.kind for e in case.history if e.id == record_id), None)
    what = _KIND_WORDS.get(kind, f"a {kind.replace('_', ' ')}" if kind else "a record")
    told = (f"record {record_id} ({what}) was written on one copy while another, apart, had moved the case to a stage "
            "that does not allow it; the sync kept both copies' records"
            + (", and it decided nothing (the request it was of no longer waited)"
               if kind in ("approval", "rejection", "withdrawal") else ""))
    codes = sorted({c["code"] for c in case.conflicts if not c.get("settled_by") and record_id in (c.get("records") or ())})
    if codes:
        return (f"{told}. It is part of the sync conflict {', '.join(codes)} listed here: settle that as its line says, "
                "and this is no longer reported")
    return (f"{told}. Check that the case is right as it stands (cpcm show {case.id} {record_id}); then add a note "
            f"(cpcm note {case.id} --text ...), which records that it was seen, and this is no longer reported")


def out_of_order(case: Case) -> list[str]:
    """The records out of order `check` reports (`transition-out-of-order`): the case's
    `anomalies` (the fold leaves out those a note answered: workflow/fold.py `answered`) but those
    a settled sync conflict names: the conflict explained them, and whoever settled it saw them.
    `cpcm note` lists them in the note it writes (`seen`), which answers them."""
    settled = {r for c in case.conflicts if c.get("settled_by") for r in c.get("records") or ()}
    return [r for r in case.anomalies if r not in settled]


def check_conflicts(case: Case, policy: Policy | None = None, undecided: "NobodyDecides | None" = None) -> list[Problem]:
    """Each conflict a sync found between records written apart on two copies, until a later
    record settles it (workflow/fold.py SETTLES, or a note): a warning, its message from
    CONFLICT_PROBLEMS (`conflict_message`: the way out worded for the team where `policy` and
    `undecided` are given)."""
    problems = []
    for conflict in case.conflicts:
        if conflict.get("settled_by") or conflict.get("code") not in CONFLICT_PROBLEMS:
            continue
        problems.append(Problem(conflict["code"], "warning", conflict_message(case, conflict, policy, undecided), "sync",
                                "docs/team.md (what a merge finds)", case.id, case.worker))
    return problems


def conflict_message(case: Case, conflict: Mapping, policy: Policy | None = None, undecided: "NobodyDecides | None" = None,
                     values: bool = True) -> str | None:
    """What `cpcm check` says of a sync conflict (CONFLICT_PROBLEMS), None for a code it does not
    know. A plan version nobody in the team may decide (`undecided`, with `policy`) is given the
    ways out this team has. `values`: the values a registration's updates gave
    (updates-concurrent), which `check` shows as the data asked for; False for a message (a
    warning on stderr when a later record settles it): field names and record IDs only."""
    message = CONFLICT_PROBLEMS.get(conflict.get("code"))
    if message is None:
        return None
    if not values and "values" in conflict:
        conflict = {k: v for k, v in conflict.items() if k != "values"}
    records = ", ".join(conflict.get("records") or ())
    if conflict.get("code") == "plans-concurrent" and policy is not None:
        return _plans_concurrent_message(case, conflict, records, _plan_settle_for_team(case, policy, undecided)
                                         if undecided is not None else None, policy)
    return message(case, conflict, records)


def _after_closure_sides(case: Case, conflict) -> tuple[str, str]:
    """The records a record-after-closure conflict names, told apart: those written on the copy that went on with the
    case, and those of its closure on the other (its closures and their approvals, which the merge names first:
    service/apart.py `Apart.closures`, where a closure or an approval written on the copy that went on never counts
    against it). Each joined for a message, in the conflict's order."""
    kinds = {e.id: e.kind for e in case.history}
    named = list(conflict.get("records") or ())
    closing = [r for r in named if kinds.get(r) in ("closure", "approval")]
    return ", ".join(r for r in named if r not in closing), ", ".join(closing)


def _record_after_closure_message(case: Case, conflict, records: str) -> str:
    """What `check` says of records written on one copy while the other closed the case, true to
    the case as the merged records leave it: its closure still waiting, the case closed, or no
    closure standing (the request was withdrawn, on the first copy, before the other decided it:
    that decision decided nothing, and the case is open). The records written while it closed are
    named apart from the closure's own (its request, its approval), written on the other copy."""
    written, closing = _after_closure_sides(case, conflict)
    written, closing = f" ({written})" if written else "", f" ({closing})" if closing else ""
    if approvals.pending(case, "closure"):
        return (f"records were written on one copy{written} while the case's closure was asked for on another{closing}, "
                f"and it still waits: decide the closure (cpcm approve|reject {case.id} closure), let whoever asked for it "
                f"withdraw it (cpcm close {case.id} --withdraw --reason ...), or add a note (cpcm note {case.id} --text ...)")
    if case.status == "closed":
        return (f"records were written on one copy{written} while the case was closed on another{closing}, and it stays "
                f"closed: reopen it if they show it should not be (cpcm reopen {case.id} --reason ...), or add a note once "
                f"they are checked (cpcm note {case.id} --text ...)")
    if case.status == "open":
        named = set(conflict.get("records") or ())
        withdrawn = [e.id for e in case.history if e.kind == "withdrawal" and e.id in named]
        undone = [e for e in case.history if e.id in named and e.id in case.anomalies and e.kind in ("approval", "closure")]
        other = ("approved its closure" if undone and all(e.kind == "approval" for e in undone)
                 else "asked for its closure" if undone else "went to close it")
        how = (f"the closure request was withdrawn on the first ({', '.join(withdrawn)}) before that, so what the other did "
               f"({', '.join(e.id for e in undone)}) decided nothing" if withdrawn and undone
               else f"the closure request was withdrawn on the first ({', '.join(withdrawn)})" if withdrawn
               else "none of those closures stands")
        return (f"two copies wrote to the case apart ({records}): one went on with it while the other {other}, but {how}: "
                f"no closure stands, and the case is open, at stage {case.stage}. Add a note once the records are checked "
                f"(cpcm note {case.id} --text ...); if the case should close, ask for its closure again (cpcm close "
                f"{case.id} --reason ...)")
    return f"records were written on one copy{written} while the case was closed on another{closing}: add a note"


def _plan_settle_for_team(case: Case, policy: Policy, undecided: "NobodyDecides") -> str | None:
    """The way out of a plans-concurrent whose latest version waits for a decision nobody in the
    team may make (`approvals.barred`: its writer, the lone supervisor, say, as when they close a
    conference where plan_approval.conference_versions_by_chair is off; `NobodyDecides`): the case's worker's next version where someone may decide that
    (a plan version settles the conflict: fold.SETTLES), self-approval (the policy's
    plan_approval.self_approval) or a supervisor added; None where someone may decide the latest."""
    request = approvals.pending(case, "plan")
    if request is None or not undecided.barring(tuple(sorted(approvals.barred(policy, "plan", case)))):
        return None
    wrote = ", ".join(approvals.writers(request)) or "its writer"
    next_ok = bool(case.worker) and not undecided.barring((case.worker,))
    first = (f"the case's worker ({case.worker}) writes the next version from the latest (cpcm plan {case.id} --from-current "
             "--reason ...), which settles this and which a supervisor or manager who did not write it may approve; or "
             if next_ok else "")
    return (f"nobody in the team may approve or reject the latest ({wrote} wrote it, and nobody decides their own plan): "
            f"{first}a supervisor or manager allows self-approval with a recorded reason (plan_approval.self_approval: true "
            "in .cpcm/policy.yaml, put in force with cpcm policy set: docs/workflow.md, a lone worker who is also the "
            f"supervisor), then approves it with a note (cpcm approve {case.id} plan --note ...); or add a supervisor (cpcm "
            "team add); or add a note")


def _plans_concurrent_message(case: Case, conflict, records: str, for_team: str | None = None,
                              policy: Policy | None = None) -> str:
    """`policy` (where given): the open actions of the version in force that the latest, waiting,
    leaves out are named (`deadlines.left_out_actions`, as `cpcm approve` warns of them): written
    apart, it may never have held them (a conference's action, say)."""
    waiting = approvals.pending(case, "plan")
    settle = (for_team or f"approve or reject the latest (cpcm approve|reject {case.id} plan), or add a note"
              if waiting else
              "the latest does not wait for a decision (withdrawn, or the policy asks for none), and a newer version "
              f"replaced the earlier: write the version that should be in force (cpcm plan {case.id} ...), or add a note")
    gone = left_out_actions(case, policy, waiting.get("actions") or []) if waiting and policy else []
    if gone:
        settle += (f". The latest (version {waiting.get('version')}) leaves out open action(s) {', '.join(gone)} of the "
                   f"version in force, not recorded as done: approved as it is, they leave cpcm due (cpcm approve names "
                   f"them). If one is still needed, reject it, or write the next version with it (cpcm plan {case.id} "
                   "--from-current ...), which settles this too")
    clashed = [str(i) for i in conflict.get(plan_actions.CLASHED) or ()]
    if clashed:  # each copy's next new action took the same number apart (plan_actions.clashes)
        one = clashed[0]
        settle += (f". Action ID(s) {', '.join(clashed)} were given to a different new action on each copy: a mark of {one} "
                   f"made on either copy before the merge (a follow-up's or review's --done, a review's progress) counts for "
                   f"neither, so the {one} of the version in force is open until it is marked again, and the latest's {one} is "
                   f"not the earlier's (approving the latest puts it in force in place of the other). Once the version that "
                   f"stands is decided, record again what was done (cpcm followup {case.id} ... --done {one}), and write the "
                   f"other action in as a new one if it is still needed (cpcm plan {case.id} --from-current --set "
                   "actions.new.what=...): it takes a number of its own")
    corrected = [str(r) for r in conflict.get("corrected") or ()]
    if corrected:  # a version corrected on one copy while the other wrote the next from it uncorrected
        return (f"a plan version was corrected on one copy ({', '.join(corrected)}) while the next version was written from "
                f"it on another, apart ({records}): the later version does not hold that correction. Compare them (cpcm show "
                f"{case.id} RECORD); where the correction is missing, write the version that should be in force with it "
                f"(cpcm plan {case.id} --from-current --reason correction --set ...); otherwise {settle}")
    return (f"two plan versions, or a version and a decision of the one before, were written apart ({records}); all are "
            f"kept, the versions numbered in order, and a decision of the one before still decides that version, as it "
            f"would have there: {settle}")


def _two_assignments_message(case: Case, conflict, records: str) -> str:
    settle = (f"confirm it (cpcm assign {case.id} --worker {case.worker}), assign the case to another worker, or add a note"
              if case.status == "open" else "the case is no longer open, so it is not assigned again: add a note")
    return f"the case was assigned on two copies apart ({records}); the later assignment stands ({case.worker}): {settle}"


def _referral_updates_message(case: Case, conflict, records: str) -> str:
    """One referral updated on two copies apart to different statuses: the one that stands (a fixed list) and the way out.
    Where the merge could not read every update, it names them all and no referral: a note, once they are checked."""
    referral = next((r for r in case.referrals if r["record_id"] == conflict.get("referral")), None)
    if referral is None:
        return (f"referrals were updated on two copies apart ({records}), and the worker who synced could not read every "
                f"update: check each referral's status (cpcm show {case.id}), update the ones that are wrong (cpcm referral "
                f"{case.id} REF --status ...), then add a note")
    ref = referral.get("ref") or "REF"
    return (f"referral {ref} was updated on two copies apart to different statuses ({records}); the later update in the "
            f"records stands ({referral.get('status')}), though its worker did not see the other. Check with the provider and "
            f"record the status that is right (cpcm referral {case.id} {ref} --status ...; a status the referral cannot move "
            f"to from where it stands is refused: then a note), or add a note if the one that stands is right")


def _updates_concurrent_message(case: Case, conflict, records: str) -> str:
    """A field of the registration updated on two copies apart to different values: which field(s)
    (the conflict's `fields`), what each update gave (`values`: {field: {update's record ID: the
    value}}, shown where given: `conflict_message` leaves them out of a message) and who wrote it
    (the case's history), which stands, and the command that settles it (an update of the field:
    fold.SETTLES). A conflict recorded before cpcm kept the fields (or where some update could not
    be read) names the records only."""
    fields = [str(f) for f in conflict.get("fields") or ()]
    if not fields:
        return (f"one field of the registration was updated on two copies apart to different values ({records}); the "
                f"later update is in force: check it (cpcm log {case.id}); where it is wrong, update it again (cpcm update "
                f"{case.id} --set FIELD=VALUE --reason ...); then add a note")
    by = {entry.id: entry.by for entry in case.history}
    values = conflict.get("values") if isinstance(conflict.get("values"), Mapping) else None
    said = []
    for name in fields:
        given = (values or {}).get(name) if values is not None else None
        if isinstance(given, Mapping) and given:
            each = "; ".join(f"{_value_words(value)} by {by.get(record_id) or 'unknown'} ({record_id})"
                             for record_id, value in sorted(given.items()))
            said.append(f"{name}: {each}")
        else:
            said.append(name)
    where = "; ".join(said)
    hint = "" if values is not None else f" (each value: cpcm show {case.id} RECORD)"
    first = fields[0]
    return (f"{'one field' if len(fields) == 1 else f'{len(fields)} fields'} of the registration {'was' if len(fields) == 1 else 'were'} "
            f"updated on two copies apart to different values: {where}{hint}; the later update is in force (in the "
            f"records' order), though its worker did not see the other. Check which value is right and record it, which settles this "
            f"(cpcm update {case.id} --set {first}=VALUE --reason ...{', one --set per field' if len(fields) > 1 else ''}); "
            "or add a note if the one in force is right")


def _value_words(value) -> str:
    """A value an update gave, in a check's words: a list joined, none as 'removed', a long text cut."""
    if value is None or value == "" or value == []:
        return "removed"
    if isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, Mapping):
        text = ", ".join(f"{k}={v}" for k, v in value.items())
    else:
        text = str(value)
    text = " ".join(text.split())
    return f"'{text[:77]}...'" if len(text) > 80 else f"'{text}'"


def _placement_update_message(case: Case, conflict, records: str) -> str:
    """A placement on one copy and an update of where or with whom the child lives on the other, apart: the fields
    they disagree on (field names), which stands (by record ID and care type, or the update), and the way out."""
    fields = conflict.get("fields")
    about = (f"differently ({', '.join(fields)})" if fields else
             "and the merge could not read every one of them to compare: check them all")
    if placements.update_stands(case.last("residence_updated"), case.placement):
        standing = "the registration's details as updated, the later by its date,"
    else:
        standing = _placement_standing(case)
    return (f"where or with whom the child lives was recorded on two copies apart, by a placement on one and an update "
            f"of the registration on the other, {about} ({records}); {standing} stands as where the child lives, though "
            f"its worker did not see the other. Check where the child lives now and record it, dated now: the placement "
            f"that is right (cpcm placement {case.id} --care-type ...), or the update that is right (cpcm update {case.id} "
            f"--location ... --caregiver ... --reason ...); or add a note")


def _placement_standing(case: Case) -> str:
    """The placement that stands, by its record ID and care type (a fixed list): never where or with whom."""
    current = case.placement
    if not current:
        return "the later one"
    return f"the later by its date ({current['record_id']}, {current.get('care_type') or 'care type not given'})"


def _two_closures_advice(case: Case) -> str:
    """What settles two closures written apart, as the case stands (fold.SETTLES): a decision while
    a closure waits, or its asker's withdrawal when another is left; a reopening once closed."""
    if approvals.pending(case, "closure"):
        return (f"approve or reject the one that stands (cpcm approve|reject {case.id} closure), withdraw your own "
                f"request if another is left (cpcm close {case.id} --withdraw --reason ...), or add a note")
    if case.status == "closed":
        return f"the case is closed: reopen it if it should not be (cpcm reopen {case.id} --reason ...), or add a note"
    return f"check the case (cpcm log {case.id}), then add a note"


def _two_transfers_advice(case: Case, conflict) -> str:
    """What settles two transfer requests written apart, as the case stands (fold.SETTLES): a
    decision of the one that waits, or its asker's withdrawal when another is left; once none
    waits, a check of the one that stands and a note. A request approved on one copy that the other
    copy's later request was made over (approvals.approved_under) is named: approving the later
    decides where the child goes; rejecting or withdrawing it leaves the approved one standing."""
    request = approvals.pending(case, "transfer")
    if request:
        waiting = approvals.waiting_transfers(request)
        if len(waiting) > 1:
            return (f"both wait, the latest ({request['record_id']}) first: approve or reject it (cpcm approve|reject "
                    f"{case.id} transfer; a rejection leaves the other waiting), withdraw your own request while another is "
                    f"left (cpcm transfer {case.id} --withdraw --reason ...), or add a note")
        under = approvals.approved_under(request)
        over = (f"it was made over the request approved on the other copy ({under['record_id']}), which stands under it: "
                f"approved, the child goes to its agency instead; rejected or withdrawn, the one approved ({under['record_id']}) "
                "stands again; " if under else "")
        return (f"the latest ({request['record_id']}) waits: {over}approve or reject it (cpcm approve|reject {case.id} "
                f"transfer), withdraw it (cpcm transfer {case.id} --withdraw --reason ..., by the one who asked), or add a note")
    approved = approvals.approved_not_sent(case)
    if approved:
        return (f"the approved request ({approved['record_id']}) stands and its bundle is not written: check that it is "
                f"the agency that should take the child (cpcm show {case.id}); if not, take it back (cpcm transfer {case.id} "
                "--withdraw --reason ...) and ask again; then add a note")
    return f"check the case (cpcm log {case.id}), then add a note"


def _withdrawn_or_rejected(case: Case, conflict) -> str:
    """How the request was turned down on the other copy: rejected, or withdrawn by its author (a plan version)."""
    kinds = {e.id: e.kind for e in case.history}
    return ("withdrawn by its author" if any(kinds.get(r) == "withdrawal" for r in conflict.get("records") or ())
            else "rejected")


def _two_decisions_advice(case: Case, conflict) -> str:
    """What settles one request approved on one copy and rejected on the other: the first decision
    in the records' order stands (the other decides nothing: fold._closure_decided, _transfer_decided,
    _decision); a note once it is checked, after acting on the other where that one was right."""
    kinds = {e.id: e.kind for e in case.history}
    decisions = sorted(r for r in conflict.get("records") or () if kinds.get(r) in ("approval", "rejection", "withdrawal"))
    if not decisions:
        return f"check the case (cpcm log {case.id}), then add a note"
    first, later = decisions[0], ", ".join(decisions[1:]) or "the other"
    # what undoes an approval, and what makes the request again, for each subject (one recorded before cpcm kept it: all)
    undoes = {"closure": ("a closure", f"reopen the case (cpcm reopen {case.id} --reason ...)", f"cpcm close {case.id} ..."),
              "transfer": ("a transfer", f"take it back (cpcm transfer {case.id} --withdraw --reason ...)",
                           f"cpcm transfer {case.id} --to AGENCY ..."),
              "plan": ("a plan version", f"write the next one (cpcm plan {case.id} --from-current --reason ...)",
                       f"cpcm plan {case.id} --from-current --reason ...")}
    subject = conflict.get("subject")
    ways = [undoes[subject]] if subject in undoes else list(undoes.values())
    if kinds[first] == "approval":
        other = "withdrawal" if any(kinds[r] == "withdrawal" for r in decisions[1:]) else "rejection"
        undo = (f"if the {other} was right, undo what was approved: " + (ways[0][1] if len(ways) == 1 else
                "; ".join(f"{what}, {how}" for what, how, _ in ways)))
    else:
        undo = ("if the approval was right, the request is made again for a supervisor or manager to decide ("
                + ", or ".join(again for _, _, again in ways) + ")")
    return (f"the first in the records' order stands (the {kinds[first]}, {first}); the later ({later}) decided nothing. "
            f"Check the case (cpcm show {case.id}); {undo}; then add a note (cpcm note {case.id} --text ...)")


def _corrected_approved_message(case: Case, conflict, records: str) -> str:
    """A plan version or a closure request corrected on one copy while a supervisor approved it on
    the other (service/apart.py `corrected_approved`): the approval reads as covering a correction
    nobody who decides saw. A supervisor checks it; what undoes it, where it was not right."""
    kinds = {e.id: e.kind for e in case.history}
    corrected = [str(r) for r in conflict.get("corrected") or ()] or ["RECORD"]
    if any(kinds.get(r) == "closure" for r in corrected):
        what, undo = "the closure request", f"reopen the case (cpcm reopen {case.id} --reason ...) and ask again"
    else:
        what, undo = "the plan version", (f"correct it back, or have its worker write the next version with what is right "
                                          f"(cpcm plan {case.id} --from-current --reason correction ...), which waits for a decision")
    return (f"{what} was corrected on one copy while a supervisor approved it on another, apart ({records}): the approval "
            f"was of {what} as it was, and the case now reads it as approving the correction, which nobody who decides saw. "
            f"A supervisor or manager who may decide it checks the correction (cpcm show {case.id} {corrected[0]}); if it "
            f"is not right, {undo}; then adds a note (cpcm note {case.id} --text ...)")


def _mandatory_reports_message(case: Case, conflict, records: str) -> str:
    """Decisions on the mandatory report recorded on two copies apart that clash (service/apart.py
    `mandatory_reports`, mandatory_report.clash): what happened, what stands, and the way out, for
    a supervisor or manager. Record IDs and the policy's authority codes only: never a rationale,
    a reference or an authority named in words."""
    reported = [str(r) for r in conflict.get("reported") or ()]
    authorities = [str(a) for a in conflict.get("authorities") or ()]
    settle = (f"then record the decision that is right, seeing both (cpcm mandatory-report {case.id} ...), or add a note "
              f"(cpcm note {case.id} --text ...)")
    if not reported:  # the merge could not read them all to compare
        return (f"decisions on the mandatory report were recorded on two copies apart ({records}), and the worker who "
                f"synced could not read every one to compare: a supervisor or manager reads them (cpcm show {case.id}), "
                f"decides a decision not to report that still waits (cpcm approve|reject {case.id} mandatory-report), "
                f"or {settle.removeprefix('then ')}")
    told = []
    if len(set(conflict.get("records") or ()) - set(reported)):
        report = case.mandatory_report or {}
        aside = mandatory_report.set_aside(report)  # whichever of the two is later in the records' order
        stands = (f"a decision not to report ({aside[0]}) waits for no supervisor any more, and none is owed "
                  f"again: the concern was reported ({', '.join(reported)}), which cannot be taken back"
                  if aside and aside[0] in (conflict.get("records") or ()) else
                  f"the latest in the records' order stands ({report.get('record_id') or 'none'})")
        told.append(f"the concern was reported on one copy and a decision not to report it made on the other, apart "
                    f"({records}): {stands}. A supervisor or manager reads both (cpcm show {case.id} RECORD: each "
                    f"rationale) and looks at the child's safety now that the authority knows, the harm the decision not "
                    f"to report named included")
    if authorities:
        told.append(f"the concern was reported to the same authority ({', '.join(authorities)}) on two copies apart, not "
                    f"under one reference ({', '.join(reported)}): the authority may hold two reports of the child. Check "
                    f"with it which stands, and correct a reference that is wrong (cpcm correct {case.id} RECORD --set "
                    f"reference=... --reason ...)")
    return "; ".join(told) + f"; {settle}"


def _corrections_concurrent_message(case: Case, conflict, records: str) -> str:
    """One record corrected (or repaired) on two copies apart: the later is in force. Where one of
    them marked it as written in the wrong case (a `misfiled` record, in the case's history), the
    mark stands whatever the order, and the case holds neither: what the other copy changed is
    checked where the record went. Where each copy marked it and moved it (`moved_to`, each mark's
    case and copy), every case it went to is named: two of them hold its content."""
    marks = {e.id for e in case.history if e.kind == MISFILED} & set(conflict.get("records") or ())
    if not marks:
        each = "; ".join(f"cpcm show {case.id} {r}" for r in sorted(conflict.get("records") or ())) or f"cpcm log {case.id}"
        return (f"one record was corrected on two copies apart ({records}); only the later correction is in force: check "
                f"that it holds both changes ({each}), correct it again if not, then add a note")
    moves = [m for m in conflict.get("moved_to") or () if m.get("case")]
    if len(moves) > 1:
        went = " and ".join(f"{m['case']} (as {m['record']}, by {m['mark']})" for m in moves)
        last = moves[-1]
        return (f"one record was marked as written in the wrong case on both copies apart ({records}), and moved by each: "
                f"to {went}; this case holds neither, and each of those cases holds its content. Check where it belongs: "
                f"a copy may need taking out of the case it does not belong to (cpcm correct {last['case']} {last['record']} "
                f"--misfiled --reason ..., or the other), then add a note here")
    mark = sorted(marks)[0]
    where = f"cpcm show {case.id} {mark} says where the record went" + (
        f" ({moves[0]['case']}, as {moves[0]['record']})" if moves else "")
    return (f"one record was marked as written in the wrong case on one copy and corrected or marked on the other, apart "
            f"({records}); the mark stands and this case holds neither: {where}; check that what the other copy changed is "
            f"there (cpcm show {case.id} RECORD), correct it there if not, then add a note here")


# each sync conflict `check` reports (service/sync.py finds them; workflow/fold.py SETTLES says what settles each):
# its code -> its message (case, the conflict, its record IDs joined), with the way out; ids and fixed lists only
CONFLICT_PROBLEMS = {
    "two-closures": lambda case, conflict, records: (
        f"two closures were written apart on two copies (with any approvals of them: {records}): {_two_closures_advice(case)}"),
    "two-transfers": lambda case, conflict, records: (
        "two transfer requests were written apart on two copies (with any approvals of them: "
        f"{records}): {_two_transfers_advice(case, conflict)}"),
    "record-after-closure": _record_after_closure_message,
    "plans-concurrent": _plans_concurrent_message,
    "corrections-concurrent": lambda case, conflict, records: _corrections_concurrent_message(case, conflict, records),
    "updates-concurrent": lambda case, conflict, records: _updates_concurrent_message(case, conflict, records),
    "covers-concurrent": lambda case, conflict, records: (
        f"a colleague's cover of the case was given or changed on two copies apart to different ends ({records}); the later "
        f"one stands: check it (cpcm show {case.id}), give the cover again with the end that is right (cpcm assign {case.id} "
        "--cover WORKER --until DATE), or add a note"),
    "keyworkers-concurrent": lambda case, conflict, records: (
        f"the keyworker of the case was nominated on two copies apart, differently ({records}); the later one stands, "
        f"though its worker did not see the other: check who it should be (cpcm show {case.id}), then nominate them again, "
        f"the one that stands or the other (cpcm assign {case.id} --keyworker WORKER --reason ..., or --keyworker-name ... "
        f"--keyworker-role ... --reason ...), or add a note"),
    "risk-concurrent": lambda case, conflict, records: (
        f"the child's risk was rated (or found increased) on two copies apart ({records}): the later rating stands, though "
        f"its worker did not see the other, and answers no increase found on the other copy. Rate the risk again, seeing "
        f"both (cpcm followup {case.id} ... --risk LEVEL --risk-reason TEXT, or cpcm assess {case.id}); until then an "
        f"increase found is on cpcm due as urgent"),
    "placements-concurrent": lambda case, conflict, records: (
        f"where or with whom the child lives was recorded on two copies apart, differently ({records}); "
        f"{_placement_standing(case)} stands as where the child lives, though its worker did not see the other. Check where "
        f"the child lives now and record the placement that is right, dated now (cpcm placement {case.id} --care-type ...: "
        f"one dated before the one that stands settles nothing; the one that stands, recorded again, needs no new "
        f"best-interests record; the other needs one, or a supervisor's --override-reason), or add a note"),
    "placement-update-concurrent": _placement_update_message,
    "referral-updates-concurrent": _referral_updates_message,
    "correction-approved-concurrent": _corrected_approved_message,
    "decisions-concurrent": lambda case, conflict, records: (
        f"one request was decided on two copies apart, approved on one and "
        f"{_withdrawn_or_rejected(case, conflict)} on the other ({records}): {_two_decisions_advice(case, conflict)}"),
    "two-assignments": _two_assignments_message,
    "mandatory-reports-concurrent": _mandatory_reports_message,
}


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


def check_caseload_counts(counts: Mapping[str, int], team: Team, policy: Policy) -> list[Problem]:
    """Each worker near or over the caseload cap, of `counts` (`caseloads`: each worker's open cases, counted as a
    check reads the cases, a case at a time). A worker off the team (`off_team`: removed, or never on it) holds no
    caseload: their open cases are nobody's (`check_workers` reports each, `case-worker-removed`), as `report
    caseload` shows them."""
    cap, warn_from = caseload_limits(policy)
    absent = off_team(team)
    problems = []
    for worker, count in sorted(counts.items()):
        if worker in absent:
            continue
        state = caseload_state(count, policy, has_cap(team.get(worker)))
        if state == "over_cap":
            problems.append(Problem("caseload-over-cap", "error", f"{worker} has {count} open cases; the cap is {cap}",
                                    "caseload", policy.source("caseload"), None, worker))
        elif state == "near_cap":
            problems.append(Problem("caseload-near-cap", "warning", f"{worker} has {count} open cases (cap {cap}, warning from {warn_from})",
                                    "caseload", policy.source("caseload"), None, worker))
    return problems


def check_workers(cases: Iterable[Case], team: Team, policy: Policy, now: datetime,
                  absent: "NotOnTeam | None" = None) -> list[Problem]:
    """The cases nobody has (`unattended`): open, or closed with the post-closure visit still to
    make, and their worker is not an active member of the team: given to a worker, or registered
    by one, on a copy that did not know a supervisor had removed them (docs/team.md, 'A worker
    removed on another copy'), or brought by a sync or an import with a worker this team never
    had. `team remove` refuses while a worker has open cases; one that arrives this way is
    nobody's until it is assigned (a closed one: until the visit is recorded; a transferred one: until
    the receiving agency's receipt is recorded, or the case reopened). `absent`: `off_team(team)`, when the caller
    made it already (a check a case at a time)."""
    absent = off_team(team) if absent is None else absent
    cases = list(cases)
    return [Problem("case-worker-removed", "error", unattended_text(case, absent), "team",
                    "docs/team.md (a worker removed on another copy)", case.id, case.worker)
            for case in cases if unattended(case, absent, policy, now)] + [
        # the child's and family's main point of contact who has left: no one's contact now (IAG Step 3 [L864-866])
        Problem(KEYWORKER_OFF_TEAM, "warning", keyworker_off_team_text(case.id, case.keyworker, absent), "keyworker",
                KEYWORKER_SOURCE, case.id, case.worker)
        for case in cases if keyworker_in_team(case) in absent]


# a case whose nominated keyworker, a colleague, is off the team: `cpcm check`'s warning and `cpcm due`'s item share the code
KEYWORKER_OFF_TEAM = "keyworker-off-team"
KEYWORKER_SOURCE = "IAG Step 3 [L864-866] (a keyworker, who may differ from the caseworker)"


def keyworker_in_team(case: Case) -> str | None:
    """The colleague nominated keyworker of an open case who is not its caseworker (workflow/keyworker.py:
    the child's and family's main point of contact), or None: the one whose leaving the team leaves the
    child and family with no point of contact (`keyworker-off-team`; `cpcm due` keeps it with the case's
    deadlines, so that its item appears when the team changes and no case does)."""
    if case.status != "open" or not case.keyworker or case.keyworker == case.worker:
        return None
    return case.keyworker


def keyworker_off_team_text(case_id: str, keyworker: str, absent: "NotOnTeam") -> str:
    """What a case whose keyworker (`keyworker_in_team`) is off the team (`absent`: `off_team`) means,
    and what to do: the words of `cpcm check`'s warning and of `cpcm due`'s item."""
    return (f"its keyworker ({keyworker}) is {absent.standing(keyworker)}: the child and family have no point of contact "
            f"there; nominate another: cpcm assign {case_id} --keyworker WORKER --reason ...")


def keyworker_off_team_item(case_id: str, worker: str | None, keyworker: str | None, risk: str | None, team: Team,
                            absent: "NotOnTeam", now: datetime) -> Deadline | None:
    """`cpcm due`'s item for a case whose keyworker (`keyworker_in_team`, kept with its deadlines) is off
    the team (`absent`: `off_team(team)`), for the case's worker (`owner`) and listed for every
    supervisor and manager too (`keyworker_item_listed`); None when the keyworker is on the team. It
    falls due when the keyworker left (their removal, as the team file has it; `now` for a worker the
    team never had): since then the child and family have had no point of contact, so it is overdue
    from the start, and listed whenever it falls (as a case nobody has: `sees_unattended`)."""
    if not keyworker or keyworker not in absent:
        return None
    member = team.get(keyworker, include_removed=True)
    left = _moment(member.removed, now) if member is not None else None
    return Deadline(case_id, KEYWORKER_OFF_TEAM, "nominate another keyworker", left or now, None, worker, "keyworker",
                    keyworker_off_team_text(case_id, keyworker, absent), KEYWORKER_SOURCE, risk)


def _moment(text: str, now: datetime) -> datetime | None:
    """A time the team file holds (ISO 8601), in the zone of `now`; None when it cannot be read."""
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment.astimezone(now.tzinfo) if now.tzinfo is not None else moment


def keyworker_item_listed(item: Deadline, whose: str, oversees: bool) -> bool:
    """Whether `whose` list holds a `keyworker_off_team_item`: the case's worker's (`owner`), every
    supervisor's and manager's (`oversees`: they nominate one too, and a case whose worker has left as
    well is theirs), and every case's ('all')."""
    return whose == "all" or oversees or item.owner == whose


# -- which cadre may be a case's assigned worker at which risk (policy `cadre_risk`) --------------------------------
# a case whose risk is above what its assigned worker's cadre may hold: `cpcm check`'s warning and `cpcm due`'s item
CADRE_ESCALATION = "cadre-escalation"


def cadre_max_risk(policy: Policy, cadre: str) -> str | None:
    """The highest risk level a worker of `cadre` may hold as a case's assigned worker (`cadre_risk.max_risk`);
    None for a cadre not known (a worker without one), or one the policy does not name."""
    if not cadre:
        return None
    found = (policy.rules.get("cadre_risk") or {}).get("max_risk") or {}
    level = found.get(cadre)
    return level if isinstance(level, str) else None


def _levels(policy: Policy) -> tuple[str, ...]:
    return tuple((policy.rules.get("risk_levels") or {}).get("levels") or ())


def above_cadre(policy: Policy, cadre: str, risk: str | None) -> str | None:
    """The highest level `cadre` may hold when `risk` is above it (more urgent), else None: nothing is judged of a
    worker whose cadre is not known, nor of a case with no risk level."""
    top = cadre_max_risk(policy, cadre)
    levels = _levels(policy)
    if top is None or risk not in levels or top not in levels:
        return None
    return top if levels.index(risk) < levels.index(top) else None


def cadre_text(case_id: str, worker: str, cadre: str, risk: str, top: str) -> str:
    """What a case above its worker's cadre (`above_cadre`) means and what to do: the words of `cpcm check`'s
    warning, of `cpcm due`'s item and of a refused or warned assignment."""
    return (f"its worker ({worker}) is a {cadre_words(cadre)}, who may hold cases up to {top} risk, and the child's "
            f"risk is {risk}: escalate to a professional: cpcm assign {case_id} --worker OTHER (a professional or "
            f"officer), or rate the risk again once it has fallen")


def cadre_verdict(member: Worker | None, risk: str | None, policy: Policy, case_id: str) -> tuple[str, str]:
    """('ok' | 'warn' | 'refuse', message) for making `member` the assigned worker of a case of `risk`:
    'ok' when their cadre may hold it or is not known; else as `cadre_risk.over_max` says."""
    cadre = member.cadre if member is not None else ""
    top = above_cadre(policy, cadre, risk)
    if member is None or top is None or risk is None:
        return "ok", ""
    verdict = "refuse" if policy.get("cadre_risk", "over_max") == "refuse" else "warn"
    return verdict, (f"{member.id} is a {cadre_words(cadre)}, who may hold cases up to {top} risk "
                     f"(policy cadre_risk), and {case_id}'s risk is {risk}")


# what puts a case above its worker's cadre, as its fold knows it (UTC, `Case.events`): it was registered, received
# or reopened with that worker or assigned to them; or its risk came to the level it has now (`Case.risk_since`)
CADRE_EVENTS = ("registration", "transfer_in", "reopen", "assignment")


def cadre_since(case: Case) -> str | None:
    """When a case went above its worker's cadre, as far as its fold can tell (UTC): the latest of its
    registration, its receipt from another agency, its reopening, its assignment (to the worker it has now:
    the latest) and when its risk came to its current level (`Case.risk_since`: a later rating at the same
    level moves nothing; a rating that lowers it and one that raises it again date it from the raise). A
    `cpcm team cadre` change is in no case: a case put above the cadre by one is dated by the latest of these
    before it. None for a case with none of them."""
    times = [t for t in (*(case.last(event) for event in CADRE_EVENTS), case.risk_since) if t]
    return max(times) if times else None


def cadre_escalation_item(case_id: str, worker: str | None, risk: str | None, team: Team, policy: Policy,
                          now: datetime, since: str | None = None) -> Deadline | None:
    """`cpcm due`'s item for an open case whose risk (as its fold has it: an assessment, a follow-up's re-rating, a
    review) is above what its assigned worker's cadre may hold (the team now: `cpcm team cadre` changes no case),
    for the case's worker (`owner`) and listed for every supervisor and manager too (`keyworker_item_listed`);
    None when the cadre may hold it, is not known, or the worker is not an active member (`unattended` has it).
    The case is to be escalated at once: the item is due when the case went above the cadre (`since`:
    `cadre_since`, UTC), so it is overdue from then, and says when that was; without `since`, due `now`."""
    member = team.get(worker) if worker else None
    if member is None or risk is None:
        return None
    top = above_cadre(policy, member.cadre, risk)
    if top is None:
        return None
    due = min(datetime.fromisoformat(since).astimezone(now.tzinfo), now) if since else now
    why = cadre_text(case_id, member.id, member.cadre, risk, top)
    if since:
        why = f"above the cadre since {local_text(due, now.tzinfo)}: {why}"
    return Deadline(case_id, CADRE_ESCALATION, "escalate to a professional", due, None, worker, "cadre_risk",
                    why, policy.source("cadre_risk"), risk)


def check_cadres(cases: Iterable[Case], team: Team, policy: Policy) -> list[Problem]:
    """Each open case whose risk is above what its assigned worker's cadre may hold (`above_cadre`): a warning
    until it is reassigned or its risk falls."""
    problems = []
    for case in cases:
        member = team.get(case.worker) if case.status == "open" and case.worker else None
        top = above_cadre(policy, member.cadre, case.risk) if member is not None else None
        if member is not None and top is not None and case.risk:
            problems.append(Problem(CADRE_ESCALATION, "warning", cadre_text(case.id, member.id, member.cadre, case.risk, top),
                                    "cadre_risk", policy.source("cadre_risk"), case.id, case.worker))
    return problems


def cadre_restricted(team: Team, policy: Policy) -> bool:
    """Whether some active worker has a cadre that may not hold every risk level (else no case is ever above it)."""
    levels = _levels(policy)
    return bool(levels) and any(above_cadre(policy, w.cadre, levels[0]) for w in team.active if w.cadre)


ASSIGN_HINT = "assign it to another worker (cpcm assign {case} --worker OTHER)"
# a worker removed from the team (`NotOnTeam.leaver`): every open case of theirs handed to one colleague in one commit,
# a supervisor's or manager's (`cpcm assign --from-worker`, docs/team.md 'a worker leaves'); it takes only a worker
# the team had, so not one never on it
LEAVER_HINT = ", or every open case of {worker} at once (cpcm assign --from-worker {worker} --worker OTHER)"
# a closed case cannot be assigned (`cpcm assign` refuses it), but a supervisor or manager reads it and may record
# the visit on it (cpcm followup takes only a post-closure visit on a closed case)
VISIT_HINT = ("record the post-closure visit yourself (cpcm followup {case} --method home_visit --purpose post_closure "
              "--purpose-detail ... --visited-by professional)")
# nor a transferred one; anyone of the team may record the receiving agency's receipt, or reopen the case
RECEIPT_HINT = ("follow the transfer up with the receiving agency yourself and record its receipt (cpcm transfer-ack RECEIPT), "
                "or reopen the case if it never reached them (cpcm reopen {case} --reason ...)")
# the hint of each deadline a case has once it is no longer open (deadlines.NOT_OPEN_CODES); by the case's status,
# the code of that deadline and what nobody does while its worker is off the team
_NOT_OPEN_HINTS = {"post-closure-visit": VISIT_HINT, "transfer-ack": RECEIPT_HINT}
_NOT_OPEN = {"closed": ("post-closure-visit", "makes its post-closure visit"),
             "transferred": ("transfer-ack", "follows up its transfer receipt")}


def unattended_hint(code: str | None, case_id: str, leaver: str | None = None) -> str:
    """What a supervisor or manager does for a case nobody has (`code`: the code of its item): assign
    it (and, when its worker was removed from the team, `leaver`: `NotOnTeam.leaver`, every open case
    of theirs at once), or, for a deadline of a case that is no longer open (`NOT_OPEN_CODES`), do it
    themselves: a closed case's post-closure visit, a transferred case's receipt."""
    if (code or "") in _NOT_OPEN_HINTS:
        return _NOT_OPEN_HINTS[code or ""].format(case=case_id)
    return ASSIGN_HINT.format(case=case_id) + (LEAVER_HINT.format(worker=leaver) if leaver else "")


def unattended_text(case: Case, absent: "NotOnTeam") -> str:
    """What a case nobody has (`unattended`; `absent`: `off_team`) is, and what a supervisor or manager does for
    it (`unattended_hint`): `cpcm check`'s `case-worker-removed` message, and the `next:` line of a reopening of
    a case whose worker has left (`cpcm reopen`: docs/team.md, reopened and then assigned)."""
    code, left = _NOT_OPEN.get(case.status, (None, "has the case"))
    return (f"its worker ({case.worker}) is {absent.standing(case.worker)}, and nobody {left}: "
            f"{unattended_hint(code, case.id, absent.leaver(case.worker))}")


class NotOnTeam:
    """The workers who are not active members of the team (`x in off_team(team)`):
    removed from it (or revoked), or never on it (a worker id brought by a sync or an import).
    Nobody, and false, for a team that lists nobody (a repository whose team file has no
    entries: no worker is told from another there). Never `SUPERVISORS` (an approval's owner) nor
    `MANAGERS` (a closed case's retention)."""

    __slots__ = ("_active", "_ever", "_any")

    def __init__(self, team: Team):
        self._active = frozenset(worker.id for worker in team.active)
        self._ever = frozenset(worker.id for worker in team.workers)
        self._any = bool(team.workers)

    def __contains__(self, worker: object) -> bool:
        return self._any and bool(worker) and worker not in (SUPERVISORS, MANAGERS) and worker not in self._active

    def __bool__(self) -> bool:
        return self._any

    def standing(self, worker: str | None) -> str:
        """How the worker is off the team, in words."""
        return "no longer on the team" if worker in self._ever else "not on the team"

    def leaver(self, worker: str | None) -> str | None:
        """`worker` when the team had them and they are off it now (removed, or revoked): whose
        open cases `cpcm assign --from-worker` hands over; None otherwise (on the team, or never on it)."""
        return worker if worker in self and worker in self._ever else None


def off_team(team: Team) -> NotOnTeam:
    """The workers who are not active members of the team (`NotOnTeam`): removed (or revoked),
    or never on it."""
    return NotOnTeam(team)


# the kinds of folder a list of folder ids holds, in the order a message counts them (and their JSON keys); the
# conferences' confidentiality register is one folder of its own (workflow/conferences.py REGISTER_ID)
FOLDER_KINDS = ("cases", "conferences", "confidentiality_register", "supervision_sessions", "complaints",
                "confidential_entries", "other")


def folders_by_kind(ids: Iterable[str]) -> dict[str, int]:
    """How many of the folders `ids` are of each kind (`FOLDER_KINDS`, every key, in order; 0 where none).
    Only what `ids` holds is counted: a complaint or strictly confidential entry a command does not name to
    a worker (one they do not read) is not in it, so it is neither counted nor hinted at."""
    from cpcm.domain import ids as ids_mod
    from cpcm.workflow.conferences import REGISTER_ID

    prefixes = {ids_mod.CASE_PREFIX: "cases", ids_mod.CONFERENCE_PREFIX: "conferences",
                ids_mod.SUPERVISION_PREFIX: "supervision_sessions", ids_mod.COMPLAINT_PREFIX: "complaints",
                ids_mod.CONFIDENTIAL_PREFIX: "confidential_entries"}
    counts = dict.fromkeys(FOLDER_KINDS, 0)
    for folder_id in ids:
        if folder_id == REGISTER_ID:
            counts["confidentiality_register"] += 1
            continue
        prefix, dash, _ = folder_id.partition("-")
        counts[prefixes.get(prefix, "other") if dash else "other"] += 1
    return counts


def read_by_one(readers: Mapping[str, Iterable[str]], worker_id: str, team: Team, recovery: Iterable[str] = ()) -> list[str]:
    """The folders (cases, conferences, supervision sessions, complaints, strictly confidential
    entries: `readers`, each folder's `recipients`
    file) that `worker_id` reads and no one else can: no other active member of the team is among
    their readers, and the agency has no recovery key (`recovery`: it reads every one). Once that
    worker's key is destroyed (`cpcm evacuate`), nothing can ever read them again."""
    if any(recovery):
        return []
    others = {worker.id for worker in team.active} - {worker_id}
    return sorted(folder for folder, ids in readers.items() if worker_id in set(ids) and not others & set(ids))


def unattended(case: Case, removed, policy: Policy, now: datetime) -> bool:
    """The one rule for a case nobody has (`case-worker-removed`): its worker is not an active
    member of the team (`removed`: `off_team(team)`) and the case is open, or closed with
    its post-closure visit still to make, or transferred with its receipt still to come (the
    deadlines of `NOT_OPEN_CODES`)."""
    if not case.worker or case.worker not in removed:
        return False
    return case.status == "open" or any(item.code in NOT_OPEN_CODES for item in deadlines(case, policy, now))


def unattended_item(item: Deadline, removed) -> bool:
    """`unattended` told from one of a case's deadlines (`cpcm due` lists them without folding
    the case; `removed`: `off_team(team)`): its owner is the case's worker (a deadline's
    owner is the case's worker, or the supervisors for an approval) and not an active member of
    the team. A case that is not open has no deadline but those of `NOT_OPEN_CODES` (its
    post-closure visit), which `unattended` counts."""
    return item.owner in removed


def sees_unattended(whose: str, oversees: bool, removed) -> bool:
    """Whether `whose` list holds the deadlines of the cases nobody has (`unattended_item`;
    `removed`: `off_team`), whenever they fall (the case is to be assigned, or its visit
    recorded, now), marked so (`worker_removed`): a supervisor's or manager's, every case's
    ('all'), and the removed worker's own (`--worker ID`, asked by a supervisor). A caseworker's
    does not."""
    return bool(removed) and (whose == "all" or oversees or whose in removed)


class NobodyDecides:
    """The one rule for a waiting approval nobody in the team may decide (`approvals.deciders`
    empty: in a one-supervisor agency, the plan version the supervisor wrote, as when they close a
    conference where plan_approval.conference_versions_by_chair is off, or the closure or transfer they asked for): `undecided(item)`. No supervisor's or
    manager's list holds it, so it is on the list of whoever can act on it (`holder`: the case's
    worker for a plan, the one who asked for a closure or a transfer) and every case's ('all'),
    marked (`nobody_may_decide`) with the ways out (`approvals.nobody_hint`). Told from who the
    item bars (`Deadline.barred`), once per set."""

    __slots__ = ("_workers", "_seen", "_active", "_listed")

    def __init__(self, team: Team):
        self._workers = team.active
        self._active = frozenset(w.id for w in self._workers)
        self._listed = bool(team.workers)  # a team that lists nobody tells no worker from another (as `NotOnTeam`)
        self._seen: dict[tuple, bool] = {}

    def _withdrawable(self, asked_by: str) -> bool:
        """Whether the one who asked for a request may still take it back: an active member of the team."""
        return asked_by in self._active or not self._listed

    def barring(self, barred) -> bool:
        """Whether nobody in the team may decide a request that bars `barred`."""
        key = tuple(barred)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = not approvals.deciders_barring(key, self._workers)
        return found

    def __call__(self, item: Deadline) -> bool:
        return item.owner == SUPERVISORS and self.barring(item.barred)

    def marked(self, item: Deadline, case_worker: str | None) -> Deadline:
        """`item` (one this rule holds undecided) marked so for the due list, with whether someone
        may decide a next version the case's worker (`case_worker`) writes (`next_decidable`: not
        where they are the lone supervisor, or there is none), which `approvals.nobody_hint` then
        offers as a way out: the same on the case's worker's list and every case's ('all')."""
        return replace(item, nobody_may_decide=True,
                       next_decidable=not self.barring(tuple(w for w in (case_worker,) if w)))

    def told(self, item: Deadline) -> Deadline:
        """`item` with the ways out of the wait for its case's closure decision (an obligation that
        goes on while a closure is requested: `deadlines.WAITING_ON_CLOSURE`) named as they are in
        this team (`deadlines.closure_wait`, `approvals.closure_ways_out`): a supervisor's rejection
        only where someone may decide the closure (told from who it bars, `Deadline.barred`, as for
        a waiting approval), a withdrawal only while the one who asked is an active member; the item
        itself otherwise."""
        if item.code not in WAITING_ON_CLOSURE or item.requested_by is None or item.owner == SUPERVISORS:
            return item
        return closure_wait(item, not self.barring(item.barred), self._withdrawable(item.requested_by))

    def rewords(self, static) -> bool:
        """Whether `told` words an item of this static text (`tables`: code, title, owner, rule, why,
        source, risk, requested_by, barred) otherwise than its text: the due view lists those as
        computed now."""
        code, owner, requested_by, barred = static[0], static[2], static[7], static[8]
        if code not in WAITING_ON_CLOSURE or requested_by is None or owner == SUPERVISORS:
            return False
        return self.barring(barred) or not self._withdrawable(requested_by)

    def holder(self, item: Deadline, case_worker: str | None) -> str | None:
        """Whose list holds `item` (one this rule holds undecided): the one who can act on it. A
        plan version's is the case's worker's, who may write the next version, a request of their
        own that someone may decide (`marked`). A closure's or a transfer request's is the one who
        asked for it, while they are an active member of the team: only they may withdraw it, the
        case's worker can ask for nothing instead while it waits (and, for a closure, is barred from
        deciding it too), and a supervisor or manager, as they are, adds another or allows
        self-approval. Else (they left the team) the case's worker's."""
        if item.code != "plan-approval" and item.requested_by in self._active:
            return item.requested_by
        return case_worker

    def sees(self, whose: str, item: Deadline, case_worker: str | None) -> bool:
        """Whether `whose` list holds `item`, a case's waiting approval nobody may decide (this
        rule's): its `holder`'s, and every case's ('all')."""
        return whose == "all" or (bool(whose) and whose == self.holder(item, case_worker))


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
