"""Placements: cpcm placement (where and with whom the child lives from a date), and what show
and the placements register read of them.

A placement into care, out of it or between placements rests on a best-interests record made
since the current placement began (ESARO Principle 2); a supervisor or manager may place without
one, with a reason. A plan version for reunification_done that is the return home itself keeps
the same rule (`home_checked`, which `cpcm plan` asks). The child's return to their family from
alternative care, or a family- or community-based placement out of residential care (or, as the
first placement, one that brings the child from apart from their family), is the reunification:
it starts the reviews and the monitoring visits after it; a move between kinship, foster or
community-based care is not, nor is one from the child's own home into care. The rules are
cpcm.workflow.placements; the care types and their settings are the policy's (`placement`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Callable, Mapping, Sequence

from cpcm.domain.dates import local_day
from cpcm.domain.forms import laid_over
from cpcm.domain.records import CORRECTION_KEYS, utc
from cpcm.errors import Corrupt, FieldError, Refused
from cpcm.service.context import Context, append, at_errors, clock_said, form_for, load_records, validate_form, writes
from cpcm.service.planning import said_settled, settles_step
from cpcm.service.results import Written
from cpcm.store import forms
from cpcm.workflow import placements as rules
from cpcm.workflow import transitions
from cpcm.workflow.fold import effective, fold, in_force, settled_by

KIND = "placement"
RULE = "placement-best-interests"
MOVE_WORDS = {"family": "the child's return to their family", "family_based": "a placement in family-based care",
              "community_based": "a placement in community-based care", "residential": "a placement in residential care"}


def care_types(ctx: Context) -> tuple[str, ...]:
    """The care types of the placement form, each of which the policy must put in a setting."""
    name = form_for(ctx, KIND)
    form = forms.load(name, ctx.root)
    field = form.field("care_type")
    choices = field.choices if field else ()
    missing = rules.unclassified(choices, ctx.policy)
    if missing:
        raise Corrupt(f"the policy's placement rule puts {len(missing)} care type(s) of form {name} in no setting: "
                      f"{', '.join(missing)}", name, "Add them to placement.family, family_based, community_based or residential.")
    return choices


@writes
def placement(ctx: Context, case_id: str, data: Mapping[str, Any], at: datetime | None = None,
              override_reason: str | None = None) -> Written:
    """Record where and with whom the child lives from `at` (default now): the care type, the
    caregiver, the address, how it was decided (a best-interests record, a court order, an ACC
    decision) and, for a child leaving residential care, the CCI exit kind."""
    records = load_records(ctx, case_id)
    case = fold(case_id, records)
    # the stage first (a closed case takes no placement: reopen it), for a caseworker as for a supervisor,
    # before the best-interests rule asks for a record the stage would refuse too (`append` checks it again)
    transitions.advance(case.stage, KIND, case_id)
    when = utc((at or ctx.now).isoformat())
    body, warnings, current = _checked(ctx, case, records, data, when, override_reason, also=at_errors(ctx, case, at))
    if rules.is_move(current, body):  # a decision: the consent its setting checks (consent.checked_at), as referral checks
        warnings = [*warnings, *_move_consent(ctx, case_id, body, records, at)]
    settles = settled_by(case, "placement", body, when)  # where the child lives now, recorded after a sync found it recorded apart
    record = append(ctx, case, "placement", KIND, body, at)
    warnings = [*overridden(ctx, PLACEMENT_MOVE, case_id, body, override_reason, lambda: fold(case_id, records + [record]), at),
                *warnings]
    return Written(case_id, record.id, KIND, tuple(warnings), tuple(_next_steps(ctx, case_id, body, current)) + settles_step(settles),
                   settled=said_settled(case_id, settles),
                   extra={"care_type": body["care_type"], "setting": body["setting"], "reunification": bool(body.get("reunification")),
                          "best_interests": (body.get("decision") or {}).get("best_interests")})


# what `cpcm placement` works out itself: not typed by the worker, made again when a placement is corrected
COMPUTED = ("setting", "reunification", "best_interests_override")
RELIED_ON = ("consent_ids", "consent_override")  # the consent a move relied on (referrals.relied_on): kept, or checked again


def corrected(ctx: Context, case_id: str, records: list, original, data: Mapping[str, Any],
              at: datetime | None) -> tuple[dict, list[str]]:
    """A placement as corrected (`cpcm correct CASE placement --at WHEN`, or a field of it): the
    fields it was recorded with, `data` laid over them, checked again as `cpcm placement` checks a
    placement at its (corrected) date against the case without it: the CCI exit, the court order,
    the best-interests record made by that date (found again, unless `data` names one), and the
    setting and the start of the reviews after reunification made again. A supervisor's reason to
    place without a best-interests record stays with it. (the body, its warnings)"""
    others = [r for r in effective(records) if r.id != original.id]  # the case without this placement (and what it corrects)
    base = {k: v for k, v in original.body.items() if k not in COMPUTED + RELIED_ON and k not in CORRECTION_KEYS}
    # the best-interests record is found again for the corrected date, unless the correction names one
    decision = {k: v for k, v in (base.pop("decision", None) or {}).items() if k != "best_interests"}
    if decision:
        base["decision"] = decision
    when = utc((at or datetime.fromisoformat(original.at)).isoformat())
    override = original.body.get("best_interests_override")
    given = laid_over(base, data)
    # the caregiver's name alone put right (a misspelt name): the same caregiver, so the same decision as the record
    # corrected, judged under the names it had too (rules.renamed; the fold keeps them for the records of its stay)
    was = ((*rules.renamed_caregivers(records).get(original.id, ()), original.body["caregiver"]["name"])
           if rules.renamed(original.body, given) else ())
    body, warnings, current = _checked(ctx, fold(case_id, others), records, given, when, None,
                                       kept_override=override if isinstance(override, Mapping) else None, correcting=True,
                                       caregiver_was=was)
    if rules.is_move(current, dict(body, **{rules.CAREGIVER_WAS: was})) and body["setting"] != original.body.get("setting"):
        # corrected into another setting: a decision of its own, whose consent is checked as `placement` checks it
        # (against the case without the placement corrected, whose use of an override then stands in for it again)
        warnings = [*warnings, *_move_consent(ctx, case_id, body, others)]
    else:  # the same decision: it rests on the consent it relied on when it was recorded
        body.update((key, original.body[key]) for key in RELIED_ON if key in original.body)
    return body, warnings


def renamed_steps(case_id: str, case, record_id: str) -> list[str]:
    """After a correction (`record_id`, in `case`) that put a caregiver's name right: the records of
    its stay that still give the name as it was (`rules.still_misspelt`), by ID (never the name)."""
    left = rules.still_misspelt(case.placements, record_id)
    if not left:
        return []
    which = f"record {left[0]} of the same stay still gives" if len(left) == 1 else \
        f"records {', '.join(left)} of the same stay still give"
    return [f"the caregiver's name is put right on this record only: {which} it as before (the same caregiver: the stay "
            f"goes on); where it is misspelt there too, correct it (cpcm correct {case_id} {left[-1]} --set "
            "caregiver.name=... --reason ...)"]


def _move_consent(ctx: Context, case_id: str, body: dict, records: list, at: datetime | None = None) -> list[str]:
    """The consent a move into `body`'s setting checks (referrals.check_step_consent: Refused where
    it was refused and no override stands in), recorded in `body` as relied on; its warnings."""
    from cpcm.service.referrals import check_step_consent, relied_on

    consented, warnings = check_step_consent(ctx, case_id, body["setting"], records, what=MOVE_WORDS.get(body["setting"]), at=at)
    relied_on(body, consented)
    return warnings


def _checked(ctx: Context, case, records: list, data: Mapping[str, Any], when: str, override_reason: str | None,
             kept_override: Mapping[str, Any] | None = None, correcting: bool = False,
             also: Sequence[FieldError] = (),
             caregiver_was: Sequence[str] = ()) -> tuple[dict, list[str], Mapping[str, Any] | None]:
    """A placement's body from `data`, checked at `when` (UTC) against `case` (the fold of `records`, or, for a
    correction, of them without the placement corrected: only their best-interests assessments are read), with
    its warnings and the placement it follows (the current one at `when`, or None). InvalidInput
    or Refused (the best-interests rule) when it may not be recorded. `kept_override`: a
    supervisor's reason to place without a best-interests record, recorded with the placement
    being corrected; it stands, whoever corrects the placement. `caregiver_was`: a correction of the
    caregiver's name alone (`rules.renamed`), the names it puts right: the same caregiver (`rules.is_move`)."""
    ctx.need_worker()
    policy = ctx.policy
    case_id = case.id
    care_types(ctx)
    current = rules.placement_at(case.placements, when)
    bids = best_interests_records(records)
    forward = in_force(records)  # an assessment corrected since: the correction in its place

    def judged(body: Mapping[str, Any]) -> dict:  # as the move rules compare it: under the names put right too
        return dict(body, **{rules.CAREGIVER_WAS: tuple(caregiver_was)}) if caregiver_was else dict(body)

    body = validate_form(ctx, form_for(ctx, KIND), data, f"placement of {case_id}", also=also,
                         then=lambda body: _decision_errors(ctx, case_id, judged(body), current, bids, when, forward))
    setting = rules.setting_of(body["care_type"], policy)
    needed = rules.needs_best_interests(current, judged(body), policy)
    given = (body.get("decision") or {}).get("best_interests")
    if given:
        given = given.strip().upper()
        body["decision"]["best_interests"] = forward.get(given, given)
    else:
        found = rules.best_interests_for(current, bids, when)
        if found and needed:
            body.setdefault("decision", {})["best_interests"] = found
    on_file = bool((body.get("decision") or {}).get("best_interests"))
    warnings = rests_on(ctx, case_id, PLACEMENT_MOVE, needed and not on_file, bids, current, when, override_reason, body,
                        kept_override, correcting)
    body["setting"] = setting
    if (rules.starts_monitoring(current.get("setting"), setting) if current
            else _first_is_reunification(ctx, case, records, body, setting)):
        body["reunification"] = True
    return body, warnings, current


def _decision_errors(ctx: Context, case_id: str, body: Mapping[str, Any], current: Mapping[str, Any] | None,
                     bids: list[tuple[str, str]], when: str, forward: Mapping[str, str]) -> list[FieldError]:
    """What is wrong with how a placement (`body`, the fields its form found good) was decided, at
    `when` (UTC), after `current`: the CCI exit kind, the court order, the best-interests record
    it names (one of `bids`, the case's; by an ID corrected since, as `forward` gives: `fold.in_force`)."""
    errors = []
    if "care_type" in body:
        problem = rules.cci_exit_problem(current, rules.setting_of(body["care_type"], ctx.policy), body.get("cci_exit"), case_id)
        if problem:
            errors.append(FieldError("cci_exit", problem))
    order = (body.get("decision") or {}).get("court_order") or {}
    if order and not order.get("number"):
        errors.append(FieldError("decision.court_order.number", "is required with a court order's date or expiry"))
    if order.get("expires") and order.get("date") and order["expires"] <= order["date"]:
        errors.append(FieldError("decision.court_order.expires", "is not after the order's date"))
    given = str((body.get("decision") or {}).get("best_interests") or "").strip().upper()
    if not given:
        return errors
    given = forward.get(given, given)
    match = next((b for b in bids if b[0] == given), None)
    if match is None:
        errors.append(FieldError("decision.best_interests", f"is not a best-interests assessment of this case "
                                                            f"(cpcm show {case_id} assessment@best-interests)"))
    elif match[1] > when:
        errors.append(FieldError("decision.best_interests", "was made after this placement's date"))
    elif ("care_type" in body and rules.needs_best_interests(current, body, ctx.policy) and current is not None
          and (match[1], match[0]) < rules.began(current)):
        errors.append(FieldError("decision.best_interests", "was made before the current placement began: this decision "
                                                            "needs its own best-interests record"))
    return errors


def _first_is_reunification(ctx: Context, case, records: list, body: Mapping[str, Any], setting: str | None) -> bool:
    """Whether a first placement (`body`, into `setting`) is a reunification (`rules.first_is_reunification`),
    by the decision of the best-interests record it rests on and where the child comes from."""
    rests_on = (body.get("decision") or {}).get("best_interests")
    decided = next((r.body.get("decision") for r in effective(records) if r.id == rests_on), None)
    return rules.first_is_reunification(case, setting, decided, ctx.policy)


def best_interests_records(records: list) -> list[tuple[str, str]]:
    """The case's best-interests assessments in force: (record id, its time in UTC)."""
    return [(r.id, utc(r.at)) for r in effective(records) if r.kind == "assessment" and r.body.get("type") == "best_interests"]


def override_roles(policy) -> tuple[str, ...]:
    """Who may move a child without a best-interests record, on a reason (`placement.override_roles`)."""
    return tuple(policy.get("placement", "override_roles") or rules.OVERRIDE_ROLES)


def owed_words(policy) -> str:
    """By when the best-interests record a supervisor moved the child without is owed, in words."""
    return (f"within {policy.duration('placement_best_interests', 'limit').words()}, on cpcm due"
            if "placement_best_interests" in policy.rules else "as soon as you can")


HOME_RULE = "reunification-best-interests"


def home_checked(ctx: Context, case, records: list, body: dict, when: str,
                 override_reason: str | None, kept_override: Mapping[str, Any] | None = None,
                 correcting: bool = False) -> tuple[list[str], list[str]]:
    """A plan version (`body`, validated) checked at `when` (UTC) against `case` (the fold of
    `records`) by the placement's best-interests rule (ESARO Principle 2), in the placement's own
    flow (`rests_on`): one for reunification_done that is the child's return home
    (rules.plan_needs_best_interests) needs a best-interests record made by then since the
    placement in force began (rules.best_interests_for, by the times they happened), or a
    supervisor's or manager's reason (`override_reason`, recorded in `body` as
    `best_interests_override`: the record is then owed, rules.best_interests_owed).
    `kept_override`: the reason recorded with the version being corrected; it stands, whoever
    corrects it. Refused otherwise, with nothing written. (warnings, next steps)"""
    policy, case_id = ctx.policy, case.id
    bids = best_interests_records(records)
    current = rules.placement_at(case.placements, when)
    home = body.get("reason") == rules.REUNIFICATION_DONE
    missing = home and rules.plan_needs_best_interests(case.placements, when, policy) \
        and not rules.best_interests_for(current, bids, when)
    warnings = rests_on(ctx, case_id, HOME_MOVE, missing, bids, current, when, override_reason, body, kept_override, correcting)
    steps = []
    if body.get("reason") == "reunification_date_set" and rules.needs_best_interests(current, rules.HOME, policy) \
            and not rules.best_interests_for(current, bids, when):
        steps.append(f"the child's return home needs a best-interests record first (ESARO Principle 2): cpcm assess "
                     f"{case_id} --type best-interests, before the plan for reunification_done or the placement home")
    return warnings, steps


@dataclass(frozen=True)
class Move:
    """How the best-interests rule's refusals and warning name a move (`{case}`: the case ID,
    `{roles}`: who may override): a placement, or a plan version that is the return home."""
    rule: str      # the refusal's rule
    needs: str     # what the rule asks, leading each refusal
    dated: str     # the move's date, in words
    after: str     # where a best-interests record dated after the move stands
    redate: str    # the hint then (`{record}`: that record's ID)
    record: str    # the hint when there is none
    only: str      # what only a supervisor or manager may do without one
    ask: str       # the hint to a worker who may not
    done: str      # the warning, once done on a reason


PLACEMENT_MOVE = Move(
    rule=RULE,
    needs="placement of {case}: a placement into care, out of it or between placements needs a best-interests record first "
          "(ESARO Principle 2)",
    dated="the placement's date", after="after the placement",
    redate="If the placement's date is right and the decision was made before it, correct that record's date: cpcm correct "
           "{case} {record} --at WHEN --reason ...; otherwise give the placement's own date with --at.",
    record="Record it: cpcm assess {case} --type best-interests; or a {roles} places the child with --override-reason TEXT.",
    only="place a child", ask="Record it first: cpcm assess {case} --type best-interests; or ask your supervisor.",
    done="placed")
HOME_MOVE = Move(
    rule=HOME_RULE,
    needs="plan for {case}: reason reunification_done records the child's return home, which needs a best-interests "
          "record first, as a placement home does (ESARO Principle 2)",
    dated="this version's date", after="after it",
    redate="If the decision was made before the return home, correct that record's date: cpcm correct {case} "
           "{record} --at WHEN --reason ...; otherwise give this version's own date with --at. Nothing was "
           "written.",
    record="Record it: cpcm assess {case} --type best-interests, then write this version again; or a {roles} writes it with "
           "--override-reason TEXT. Nothing was written.",
    only="record a child's return home",
    ask="Record it first: cpcm assess {case} --type best-interests; or ask your supervisor. Nothing was written.",
    done="the child's return home recorded")
NOT_NEEDED = "--override-reason was not needed (a best-interests record is on file, or none is needed) and is not recorded"


def rests_on(ctx: Context, case_id: str, move: Move, missing: bool, bids: list[tuple[str, str]], current,
             when: str, override_reason: str | None, body: dict, kept_override: Mapping[str, Any] | None = None,
             correcting: bool = False) -> list[str]:
    """The one override flow of the best-interests rule (ESARO Principle 2), for a placement and for
    a plan version that is the return home: `missing`, the move needs a best-interests record and
    has none made by `when` (UTC) since `current` (the placement in force then) began. Then a
    supervisor's reason kept with the record being corrected (`kept_override`) stands; else a
    reason (`override_reason`) from a worker of the policy's `placement.override_roles` is
    recorded in `body` as `best_interests_override` (who gave it) and the record is owed; else
    Refused, saying when a record of the case (`bids`: record id, its time in UTC) is dated
    after the move. A reason given where none is missing is not recorded. `correcting`: the move is
    a correction's (`cpcm correct`, which takes no reason): the refusal says so. (warnings; the
    one a reason recorded here calls for is `overridden`'s, said once the move is written)"""
    reason = (override_reason or "").strip()
    if not missing:
        return [NOT_NEEDED] if reason else []
    if kept_override:
        body["best_interests_override"] = dict(kept_override)  # the supervisor's reason, as recorded with the move
        return []
    roles = " or ".join(override_roles(ctx.policy))
    since = f" since the current placement began ({local_day(rules.began(current)[0], ctx.zone)})" if current else ""
    needs = move.needs.format(case=case_id)
    if not reason:
        # one made after the move's date (a move recorded with an earlier --at, or a best-interests
        # record dated wrongly) is not one this move rests on: say so, not "none"; the hint names that
        # record by its ID (a short form such as assessment@best-interests names the latest, maybe another)
        later = sorted((w, rid) for rid, w in bids if w > when and (current is None or (w, rid) > rules.began(current)))
        if later:
            raise Refused(f"{needs}; {case_id} has none made by {move.dated} ({local_day(when, ctx.zone)}){since}: its "
                          f"best-interests record is dated {local_day(later[0][0], ctx.zone)}, {move.after}",
                          move.redate.format(case=case_id, record=later[0][1]), rule=move.rule)
        hint = (f"Record it first: cpcm assess {case_id} --type best-interests, then correct again (a correction takes no "
                f"--override-reason). Nothing was written." if correcting else move.record.format(case=case_id, roles=roles))
        raise Refused(f"{needs}; {case_id} has none{since}", hint, rule=move.rule)
    worker = ctx.need_worker()
    if not worker.has_role(*override_roles(ctx.policy)):
        raise Refused(f"only a {roles} can {move.only} without a best-interests record", move.ask.format(case=case_id),
                      rule=move.rule)
    body["best_interests_override"] = {"reason": reason, "by": worker.id}
    return []


def overridden(ctx: Context, move: Move, case_id: str, body: Mapping[str, Any], override_reason: str | None,
               after: Callable[[], Any], at: datetime | None) -> list[str]:
    """The warning after a move written without a best-interests record on the supervisor's reason
    given now (`override_reason`, which `rests_on` recorded in `body`): by when the record is
    owed, as `cpcm due` lists it (the placement-best-interests clock of the case as it is `after`
    the move): within the policy's limit, or for a move dated back (`at`, --at) its due time
    (`clock_said`): counted from the move's date, 'within' would promise time that has gone."""
    reason = (override_reason or "").strip()
    if not reason or (body.get("best_interests_override") or {}).get("reason") != reason:
        return []
    owed = owed_words(ctx.policy)
    said = clock_said(ctx, after, "placement-best-interests", owed, at)
    when = f" {owed}" if said == owed else f": it {said}, on cpcm due"
    return [f"{move.done} without a best-interests record, on a supervisor's reason: record one{when} "
            f"(cpcm assess {case_id} --type best-interests)"]


def _next_steps(ctx: Context, case_id: str, body: Mapping[str, Any], current) -> list[str]:
    policy, steps = ctx.policy, []
    if current is not None and not rules.is_move(current, body):  # an order renewed: the stay goes on (rules.stay)
        entered = local_day(rules.began(current)[0], ctx.zone)
        kept = "that day and the decision it rests on"
        order = {} if (body.get("decision") or {}).get("court_order") else current.get("court_order") or {}
        if order.get("number"):  # recorded without an order, it stays under its stay's (rules.stay)
            kept = ("that day, the decision it rests on and its court order" +
                    (f", expiring {order['expires']} (on cpcm due)" if order.get("expires") else ""))
        steps.append(f"the same placement recorded again: the child's stay in it since {entered} goes on (cpcm show "
                     f"{case_id} and the register keep {kept})")
    if body.get("reunification"):
        period = policy.duration("review_after_reunification", "period")
        interval = policy.duration("review_after_reunification", "interval")
        start = datetime(2000, 1, 1)
        if period.after(start) > start:
            steps.append(f"a review every {interval.words()} for {period.words()} (review_after_reunification)")
        if rules.schedules_visits(policy):
            first, then = policy.duration("placement_monitoring", "first"), policy.duration("placement_monitoring", "then")
            first_period = policy.duration("placement_monitoring", "first_period")
            steps.append(f"monitoring visits: a home visit every {first.words()} for the first {first_period.words()}, then "
                         f"every {then.words()}: cpcm followup {case_id} --method home_visit --purpose monitoring "
                         "(on cpcm due)")
    order = (body.get("decision") or {}).get("court_order") or {}
    if order.get("expires"):
        steps.append(f"the court order expires on {order['expires']}: it is on cpcm due (renew it or end the placement)")
    if body.get("setting") == "residential" and (current is None or current.get("setting") != "residential"):
        steps.append(f"work toward reunification starts at admission: cpcm tracing {case_id}")
    return steps


def current_placement(placement: Mapping[str, Any] | None) -> dict | None:
    """The current placement as `show` gives it (None when none is recorded): `placement` as `rules.stay`
    gives it, its record's fields with when the child entered it (`entered_at`, `entered_record`) and how
    its stay was decided."""
    if not placement:
        return None
    return {k: placement.get(k) for k in ("record_id", "at", "entered_at", "entered_record", "care_type", "setting", "formal",
                                          "institution", "address", "caregiver_name", "caregiver_relationship", "best_interests",
                                          "best_interests_override", "court_order", "acc", "cci_exit", "reunification")}


def words(placement: Mapping[str, Any] | None, zone: tzinfo | None = None) -> str:
    """One line for a worker: the care type, where, with whom, since when (the day in the agency's
    `zone` the child entered it: `rules.stay`), under which order."""
    if not placement:
        return "no placement recorded"
    parts = [str(placement.get("care_type") or "").replace("_", " ")]
    where = placement.get("institution") or placement.get("address")
    if where:
        parts.append(f"at {where}")
    if placement.get("caregiver_name"):
        rel = f" ({placement['caregiver_relationship']})" if placement.get("caregiver_relationship") else ""
        parts.append(f"with {placement['caregiver_name']}{rel}")
    parts.append(f"since {local_day(placement.get('entered_at') or placement.get('at'), zone)}")
    order = placement.get("court_order") or {}
    if order.get("number"):
        parts.append(f"court order {order['number']}" + (f" until {order['expires']}" if order.get("expires") else ""))
    # the record it owes: still owed (an open case), made since, or never made (a closed or transferred case owes none)
    if placement.get("best_interests_override"):
        parts.append("(placed without a best-interests record, on a supervisor's reason" + (
            ": one is owed)" if placement.get("best_interests_owed") else
            "; one was made since)" if placement.get("best_interests_made") else
            "; none was made while the case was open)" if placement.get("best_interests_made") is False else ")"))
    return " ".join(parts)
