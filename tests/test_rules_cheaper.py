"""The cheaper steps of a cold fill's due and statistics entries give what the plain ones gave:
the rules whose cheap refusals come first (`_risk_response`, `_case_plan`, `_approvals`,
`_referrals`) and `_done`, which skips an event the case never had, against the rules as they
were written before, on cases of many shapes (test_fill_rows_same.py's generator), under both
policies, in several zones, at times around the cases' own; `intervals.Piece` set in one step
against the dataclass's own __init__; `records.utc` of a text already in UTC against formatting
it again; and the tables' JSON against `json.dumps`. Each also checks that its shortcut is taken
(a refusal that reads no cycle start, a text not formatted again, an encoder made once), which
fails on the code before. Names in the records are synthetic."""
from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from cpcm.domain import records
from cpcm.domain.case import Case
from cpcm.service import tables
from cpcm.workflow import approvals, deadlines, intervals
from cpcm.workflow import fold as fold_module
from cpcm.workflow.clocks import BY_CODE, SUPERVISORS
from cpcm.workflow.deadlines import Deadline, _t, zone_of
from cpcm.domain.durations import parse_duration
from test_fill_rows_same import ALL_ZONES, NOWS, POLICIES, shapes, view


# -- the rules as written before ------------------------------------------------------------------
def _done_before(case, code, policy, since):
    return any(case.last(event, since) for event in deadlines.done_events(code, policy))


def _risk_response_before(case, policy, now):
    assessed = case.last("assessment.initial", case.cycle_start)
    if case.status != "open" or not assessed or not case.risk or _done_before(case, "risk-response", policy, assessed):
        return []
    found = deadlines._risk_response_texts(policy, case.risk)
    if found is None:
        return []
    limit, title, why, source = found
    return [Deadline(case.id, "risk-response", title, limit.after(_t(assessed, zone_of(now))), None, case.worker,
                     "risk_response", why, source, case.risk)]


def _case_plan_before(case, policy, now):
    from cpcm.workflow import plan_actions

    assessed = case.last("assessment.comprehensive", case.cycle_start)
    if case.status != "open" or not assessed:
        return []
    in_force = plan_actions.in_force(case.plan, policy)
    if in_force and in_force["at"] >= assessed:
        return []
    limit = policy.duration("case_plan", "limit")
    pending = case.plan and case.plan["at"] >= assessed and not case.plan.get("rejected_at")
    why = f"case plan in force within {limit.words()} of the comprehensive assessment"
    if pending:
        why += " (a plan is written and waits for a supervisor's approval)"
    elif case.plan and case.plan["at"] >= assessed and case.plan.get("rejected_at"):
        why += (f" (plan version {case.plan.get('version')} was rejected: write a new version;"
                f" cpcm show {case.id} says why)")
    return [Deadline(case.id, "case-plan", "case plan", limit.after(_t(assessed, zone_of(now))), None, case.worker, "case_plan", why,
                     policy.source("case_plan"), case.risk)]


def _approvals_before(case, policy, now):
    items = []
    limit = policy.duration("approval_response", "limit")
    zone = zone_of(now)
    titles = {"plan": "approve or reject the case plan", "closure": "approve or reject the closure",
              "transfer": "approve or reject the transfer"}
    for subject in approvals.SUBJECTS:
        request = approvals.pending(case, subject)
        if request is None or case.status != "open" or (subject == "plan" and not approvals.required(policy, subject)) \
                or approvals.held(subject, case):  # since written: nothing waits where the stage lets nobody decide it
            continue
        asked = f", asked for{' by ' + request['by'] if request.get('by') else ''} on {_t(request['at'], zone).date().isoformat()},"
        if subject == "plan":
            why = f"plan version {request['version']}{asked} waits for a supervisor's decision"
        elif subject == "closure":
            why = f"closure ({request.get('reason')}){asked} waits for a supervisor or manager"
        else:
            why = f"a transfer to {request.get('to')}{asked} waits for a supervisor or manager"
        rule = approvals.rule_of(subject)
        items.append(Deadline(case.id, f"{subject}-approval", titles[subject], limit.after(_t(request["at"], zone)), None,
                              SUPERVISORS, rule, why, policy.source(rule), case.risk, requested_by=request.get("by"),
                              barred=tuple(sorted(approvals.barred(policy, subject, case)))))
    return items


def _referrals_before(case, policy, now):
    if case.status != "open":
        return []
    items = []
    zone = zone_of(now)
    limit = policy.duration("referral_feedback", "limit")
    feedback, follow_up, outcome = BY_CODE["referral-feedback"], BY_CODE["referral-follow-up"], BY_CODE["referral-outcome"]
    for ref in case.referrals:
        # since then (the rule changed, not made cheaper): a referral not moved on since before the
        # latest reopening is not due, unless the policy keeps it due (`plan_action.due_after_reopening`)
        if (case.last("reopen") and ref["status_at"] < case.last("reopen")
                and not policy.get("plan_action", "due_after_reopening", False)):
            continue
        name = f"referral {ref['ref']} ({ref.get('service')})"
        if ref["status"] not in feedback.done:
            items.append(Deadline(case.id, "referral-feedback", f"feedback on {name}", limit.after(_t(ref["at"], zone)), None, case.worker,
                                  "referral_feedback", f"the provider's feedback is expected within {limit.words()} of the referral; "
                                  "follow it up (the caseworker stays responsible)", policy.source("referral_feedback"), case.risk))
        elif ref["status"] in follow_up.starts:
            items.append(Deadline(case.id, "referral-follow-up", f"{name} was {ref['status'].replace('_', ' ')}: find another way",
                                  _t(ref["status_at"], zone), None, case.worker, "referral_feedback",
                                  "a declined or undelivered referral needs another service or a new plan; close it with the reason",
                                  policy.source("referral_feedback"), case.risk))
        elif ref["status"] in outcome.starts and ref.get("start") and ref.get("expected_duration"):
            try:
                end = deadlines._after_start(ref["start"], parse_duration(ref["expected_duration"]), zone)
            except ValueError:
                continue
            items.append(Deadline(case.id, "referral-outcome", f"outcome of {name}", end, None, case.worker, "referral_checks",
                                  "the service's expected end: record whether it was delivered (tracked to an outcome)",
                                  policy.source("referral_checks"), case.risk))
    return items


BEFORE = {deadlines._risk_response: _risk_response_before, deadlines._case_plan: _case_plan_before,
          deadlines._approvals: _approvals_before, deadlines._referrals: _referrals_before}
ZONE_NAMES = ("nairobi", "plus3", "new-york", "utc", "santiago")
FOLDED = [fold_module.fold(case_id, case_records) for case_id, case_records in shapes(120, 20261203)]


def _answer(rule, case, policy, now):
    try:
        return [view(item) for item in rule(case, policy, now)]
    except Exception as error:  # noqa: BLE001 - a rule that fails fails so before too
        return type(error)


def test_rules__as_written_before_on_cases_of_many_shapes():
    """Each changed rule, and all the rules together, against the rules as written before, at
    times before, among and after the cases' own; every changed rule gives items for some cases."""
    gave = {rule: 0 for rule in BEFORE}
    for policy_name, policy in POLICIES.items():
        for zone_name in ZONE_NAMES:
            for now in (*NOWS, NOWS[0] - timedelta(days=400), NOWS[1] + timedelta(days=700)):
                local = now.astimezone(ALL_ZONES[zone_name])
                for case in FOLDED:
                    plain = []
                    for rule in deadlines.RULES:
                        before = BEFORE.get(rule)
                        answer = _answer(rule, case, policy, local)
                        if before is not None:
                            assert answer == _answer(before, case, policy, local), (rule.__name__, case.id, policy_name, zone_name, now)
                            gave[rule] += isinstance(answer, list) and bool(answer)
                        plain.append(answer)
                    if all(isinstance(answer, list) for answer in plain):
                        # all the rules together: their items, as the case's stage allows them (deadlines.at_stage, since written),
                        # with the consent the steps among them check (deadlines._step_consent, since written)
                        items = [item for rule in deadlines.RULES for item in rule(case, policy, local)]
                        items += deadlines._step_consent(case, policy, local, items) if items else []
                        expected = [view(item) for item in deadlines.at_stage(case, items, policy)]
                        assert [view(item) for item in deadlines.deadlines(case, policy, local)] == expected
    assert all(gave.values()), {rule.__name__: count for rule, count in gave.items()}


def test_done__as_before_on_cases_of_many_shapes():
    for policy in POLICIES.values():
        for case in FOLDED:
            for code in ("initial-assessment", "comprehensive-assessment", "risk-response", "post-closure-visit", "turning-18",
                         "risk-increased", "readiness-stop"):
                for since in (None, "", case.cycle_start, case.last("registration"), "2026-06-01T00:00:00+00:00"):
                    assert deadlines._done(case, code, policy, since) == _done_before(case, code, policy, since)


class _NoStart(Case):
    @property
    def cycle_start(self):
        raise AssertionError("the cycle start was read")


def test_cheap_refusals__read_no_cycle_start_nor_pending_requests(monkeypatch):
    """A case without the event a clock starts from is refused before its cycle start is read; a
    case with no plan, closure or transfer request before each subject's request is looked for."""
    policy, now = POLICIES["kenya"], NOWS[0]
    case = _NoStart("C-1", status="open", risk="high", registered_at="2026-01-01T00:00:00+00:00",
                    events={"registration": ("2026-01-01T00:00:00+00:00",)})
    assert deadlines._risk_response(case, policy, now) == []
    assert deadlines._case_plan(case, policy, now) == []

    def looked(case, subject):
        raise AssertionError("a pending request was looked for")
    monkeypatch.setattr(approvals, "pending", looked)
    assert deadlines._approvals(case, policy, now) == []


# -- a piece of time, set in one step -------------------------------------------------------------
Reference = dataclasses.make_dataclass("Reference", [(f.name, f.type) for f in dataclasses.fields(intervals.Piece)], frozen=True)
AT = datetime(2026, 3, 4, 5, 6, tzinfo=timezone.utc)


@pytest.mark.parametrize("args,kwargs", [((None, None, 1), {}), ((AT, None, [1, 2]), {}), ((), {"lo": None, "hi": AT, "answer": ()}),
                                         ((AT,), {"hi": AT + timedelta(days=1), "answer": "x"})])
def test_piece__the_same_instance_as_the_dataclass_init(args, kwargs):
    piece, reference = intervals.Piece(*args, **kwargs), Reference(*args, **kwargs)
    assert list(vars(piece).items()) == list(vars(reference).items())
    assert repr(piece) == repr(reference).replace("Reference(", "Piece(", 1)
    assert piece == intervals.Piece(*args, **kwargs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        piece.lo = AT
    for wrong_args, wrong_kwargs in [((), {}), ((1, 2), {}), ((1, 2, 3, 4), {}), ((1, 2, 3), {"other": 1})]:
        with pytest.raises(TypeError):
            Reference(*wrong_args, **wrong_kwargs)
        with pytest.raises(TypeError):
            intervals.Piece(*wrong_args, **wrong_kwargs)


# -- UTC texts --------------------------------------------------------------------------------------
TEXTS = ("2026-04-23T08:17:47+00:00", "2026-04-23T08:17:47Z", "2026-04-23T11:17:47+03:00", "2026-04-23T08:17:47",
         "2026-04-23T08:17:47.500000+00:00", "2026-04-23 08:17:47+00:00", "20260423T081747+00:00", "2026-04-23T08:17+00:00",
         "2026-04-23", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "2024-02-29T00:00:00+00:00",
         "2026-02-29T00:00:00+00:00", "2026-13-01T00:00:00+00:00", "2026-04-23T24:00:00+00:00", "2026-04-23T23:59:60+00:00",
         "0000-01-01T00:00:00+00:00", "２０２６-04-23T08:17:47+00:00", "2026-04-23T08:17:47+00:00 ", "2026-04-23T08:17:47-00:00",
         "2026-04-23T08:17:47+00:00:00", "not a time")


def _utc_answer(function, text):
    try:
        return function(text)
    except Exception as error:  # noqa: BLE001 - both fail alike
        return type(error), str(error)


@pytest.mark.parametrize("text", TEXTS)
def test_utc__as_formatted_again(text):
    records._utc_text.cache_clear()
    assert _utc_answer(records.utc, text) == _utc_answer(records._utc, text)


def test_utc__a_utc_text_to_the_second_given_back_without_formatting_it(monkeypatch):
    records._utc_text.cache_clear()
    monkeypatch.setattr(records, "_utc", lambda text: pytest.fail("formatted again"))
    assert records.utc("2026-04-23T08:17:47+00:00") == "2026-04-23T08:17:47+00:00"
    records._utc_text.cache_clear()


# -- the tables' JSON -------------------------------------------------------------------------------
VALUES = (["ab" * 10, "amina", [None, 17, 2, "0123456789", 1765000000, [1765000000123456], "x"]],
          ["ab" * 10, [[0, "2026-04-23", None, "female", "0-4", "yes"], [4, "2026-05-01", "health", "male", "unknown", "no", "waiting"]]],
          ["é\"\\\n\t\u2028 \U0001f600", True, False, 1.5, -0.0, 10 ** 30, [], {}, {"k": [{"l": None}]}],
          [math.nan, math.inf, -math.inf], "text", 3, None)


@pytest.mark.parametrize("value", VALUES)
def test_compact__as_json_dumps(value):
    assert tables._compact(value) == json.dumps(value, separators=(",", ":"))


def test_compact__its_encoder_made_once(monkeypatch):
    from json import encoder as json_encoder

    expected = [json.dumps(value, separators=(",", ":")) for value in VALUES]
    monkeypatch.setattr(json_encoder, "c_make_encoder", lambda *args: pytest.fail("an encoder made for one value"))
    assert [tables._compact(value) for value in VALUES] == expected


# -- the times of the due table ---------------------------------------------------------------------
_EPOCH, _NAIVE_EPOCH, _TICK = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(1970, 1, 1), timedelta(microseconds=1)


def _time_code_before(moment, zone):
    if moment is None:
        return None
    if moment.tzinfo is not zone:
        raise tables.NotKept
    micro = (moment - _EPOCH) // _TICK
    seconds, part = divmod(micro, 1_000_000)
    code = seconds if part == 0 else [micro]
    if type(zone) is timezone:
        return code
    back = datetime.fromtimestamp(seconds, zone) if part == 0 else (_EPOCH + timedelta(microseconds=micro)).astimezone(zone)
    if back.tzinfo is zone:
        if back == moment and back.fold == moment.fold:
            return code
    elif back.replace(tzinfo=None) == moment.replace(tzinfo=None) and back.fold == moment.fold:
        return code
    return [micro, (moment.replace(tzinfo=None) - _NAIVE_EPOCH) // _TICK, moment.fold]


def test_time_code__as_before_across_gaps_folds_and_1970():
    """Local times on and off the second, before and after 1970, in the hours New York's and
    Santiago's clocks skip or repeat (each fold), in fixed offsets and UTC."""
    walls = [datetime(2026, 3, 8, 1, 30), datetime(2026, 3, 8, 2, 30), datetime(2026, 11, 1, 1, 30), datetime(2026, 9, 6, 0, 30),
             datetime(2026, 4, 4, 23, 30), datetime(1969, 12, 31, 23, 59, 59), datetime(1901, 5, 6, 7, 8, 9), datetime(2026, 6, 1)]
    checked = 0
    for zone_name in ("nairobi", "nairobi-again", "plus3", "plus3-named", "new-york", "utc", "santiago"):
        zone = ALL_ZONES[zone_name]
        for wall in walls:
            for extra in (timedelta(0), _TICK, timedelta(microseconds=999_999), timedelta(seconds=1, microseconds=500)):
                for fold in (0, 1):
                    moment = (wall + extra).replace(tzinfo=zone, fold=fold)
                    assert tables._time_code(moment, zone) == _time_code_before(moment, zone), (zone_name, moment, fold)
                    checked += 1
    assert tables._time_code(None, timezone.utc) is None
    with pytest.raises(tables.NotKept):
        tables._time_code(datetime(2026, 1, 1, tzinfo=timezone.utc), ALL_ZONES["nairobi"])
    assert checked == 7 * 8 * 4 * 2
