"""The rules' cheaper steps give what the plain ones gave: `Deadline`'s own __init__ sets what
the frozen dataclass's generated one set (the same __dict__, in field order), `_done` answers as
`case.last(event, since)` did, and `Case.cycle_start` as `case.last("reopen") or the
registration` did."""
from __future__ import annotations

import dataclasses
import inspect
import itertools
from datetime import datetime, timedelta, timezone

import pytest

from cpcm.domain.case import Case
from cpcm.domain.records import utc
from cpcm.workflow import deadlines
from cpcm.workflow.deadlines import Deadline

# the dataclass as `@dataclass(frozen=True)` makes it, __init__ and all
Reference = dataclasses.make_dataclass(
    "Reference", [(f.name, f.type, dataclasses.field(default=f.default) if f.default is not dataclasses.MISSING else dataclasses.field())
                  for f in dataclasses.fields(Deadline)], frozen=True)

AT = datetime(2026, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=3)))
ARGUMENTS = [
    (("C-1", "review", "case review", AT, None, "amina", "review", "why", "src"), {}),
    (("C-1", "review", "case review", AT, AT, "amina", "review", "why", "src", "high"), {}),
    (("C-2", "plan-approval", "t", AT, None, "supervisors", "plan_approval", "w", "s", None, "otieno", ("amina",)), {}),
    (("C-3", "x", "t", AT, None, None, "r", "w", "s"), {"covered_by": "baraka", "barred": ("a", "b")}),
    (("C-5", "review", "case review", AT, None, "otieno", "review", "why", "src"), {"worker_removed": True}),
    ((), {"case_id": "C-4", "code": "c", "title": "t", "due": AT, "target": None, "owner": "o", "rule": "r", "why": "w",
          "source": "s", "risk": "low", "requested_by": "x", "barred": (), "covered_by": None}),
]


def test_signature_is_the_dataclass_one():
    assert list(inspect.signature(Deadline).parameters) == [f.name for f in dataclasses.fields(Deadline)]
    ours, theirs = inspect.signature(Deadline.__init__).parameters, inspect.signature(Reference.__init__).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [(p.name, p.kind, p.default) for p in theirs.values()]


@pytest.mark.parametrize("args,kwargs", ARGUMENTS)
def test_same_instance_as_the_dataclass_init(args, kwargs):
    item, reference = Deadline(*args, **kwargs), Reference(*args, **kwargs)
    assert list(vars(item).items()) == list(vars(reference).items())  # the same values, in the same order
    assert dataclasses.astuple(item) == dataclasses.astuple(reference)
    assert repr(item) == repr(reference).replace("Reference(", "Deadline(", 1)
    assert item == Deadline(*args, **kwargs) and hash(item) == hash(Deadline(*args, **kwargs))
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.code = "other"
    changed = dataclasses.replace(item, covered_by="someone")
    assert type(changed) is Deadline and changed.covered_by == "someone" and changed.due == item.due
    assert list(vars(changed)) == [f.name for f in dataclasses.fields(Deadline)]


def test_wrong_arguments_fail_as_before():
    for args, kwargs in [((), {}), (("C-1",), {}), (tuple(range(len(dataclasses.fields(Deadline)) + 1)), {}), (tuple(range(9)), {"unknown": 1})]:
        with pytest.raises(TypeError):
            Reference(*args, **kwargs)
        with pytest.raises(TypeError):
            Deadline(*args, **kwargs)


def _done_before(case: Case, code: str, policy, since) -> bool:
    for event in deadlines._parts(policy).done(code):
        if case.last(event, since):
            return True
    return False


TIMES = ("2026-01-01T00:00:00+00:00", "2026-02-01T10:00:00+00:00", "2026-03-01T00:00:00+00:00")


def test_done_answers_as_case_last():
    from cpcm.store import policies

    policy = policies.load("kenya")
    events = ("assessment.initial", "assessment.comprehensive", "followup", "reunification")
    codes = ("initial-assessment", "comprehensive-assessment", "risk-response", "post-closure-visit", "turning-18")
    for event, times in itertools.product(events, [(), TIMES[:1], TIMES, TIMES[::-1], ("",), ("", TIMES[1])]):
        case = Case("C-1", events={event: times, "registration": TIMES[:1]})
        for code, since in itertools.product(codes, [None, "", *TIMES, "2026-01-15T00:00:00+00:00", "2027-01-01T00:00:00+00:00"]):
            assert deadlines._done(case, code, policy, since) == _done_before(case, code, policy, since), (event, times, code, since)


def test_cycle_start_as_before():
    for reopened, registered in itertools.product([None, (), ("",), TIMES, TIMES[::-1], ("", TIMES[0])],
                                                  [None, "", "2026-01-01T03:00:00+03:00", TIMES[2]]):
        case = Case("C-1", registered_at=registered, events={} if reopened is None else {"reopen": reopened})
        assert case.cycle_start == (case.last("reopen") or (utc(registered) if registered else None))


def test_done_fails_as_case_last_on_a_time_that_is_not_text():
    from cpcm.store import policies

    policy = policies.load("kenya")
    case = Case("C-1", events={"assessment.initial": (TIMES[1], None)})
    for since in (TIMES[0], TIMES[2]):
        with pytest.raises(TypeError):
            _done_before(case, "initial-assessment", policy, since)
        with pytest.raises(TypeError):
            deadlines._done(case, "initial-assessment", policy, since)


def test_the_assessment_clocks_say_what_they_count_from():
    """After a reopening the assessments are due from the reopening, and say so."""
    from cpcm.store import policies

    policy = policies.load("inter-agency")
    now = datetime(2026, 6, 10, tzinfo=timezone.utc)
    for events, since in (({}, "of registration"), ({"reopen": ("2026-06-01T08:00:00+00:00",)}, "of the reopening")):
        case = Case("C-1", status="open", registered_at="2026-03-01T08:00:00+00:00", events=events)
        found = {d.code: d for d in deadlines.deadlines(case, policy, now)}
        for code in ("initial-assessment", "comprehensive-assessment"):
            assert since in found[code].why, found[code].why
        assert found["initial-assessment"].due > datetime.fromisoformat(case.cycle_start)
