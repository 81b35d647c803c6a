"""Pure tests of the transition table's functions and the clocks' event names: the command a
record performs, the refusal's words, the status of a stage (docs/testing.md)."""
from __future__ import annotations

import pytest

from cpcm.domain.policy import Policy
from cpcm.errors import Refused
from cpcm.workflow import clocks, transitions


@pytest.mark.parametrize("kind, body, command", [
    ("assessment", {}, "assessment.initial"),
    ("assessment", {"type": "comprehensive"}, "assessment.comprehensive"),
    ("approval", {}, "approval.plan"),
    ("approval", {"subject": "closure"}, "approval.closure"),
    ("rejection", {}, "rejection.plan"),
    ("rejection", {"subject": "transfer"}, "rejection.transfer"),
    ("followup", {"purpose": "post_closure"}, "followup.post_closure"),
    ("followup", {"purpose": "crisis"}, "followup"),
    ("followup", {}, "followup"),
    ("closure", {"immediate": True}, "closure.immediate"),
    ("closure", {"immediate": False}, "closure"),
    ("closure", {}, "closure"),
    ("withdrawal", {"subject": "closure"}, "withdrawal.closure"),
    ("withdrawal", {"subject": "plan"}, "withdrawal"),
    ("withdrawal", {}, "withdrawal"),
    ("note", {"type": "x", "subject": "y", "purpose": "post_closure", "immediate": True}, "note"),
])
def test_command_of(kind, body, command):
    assert transitions.command_of(kind, body) == command


def test_next_stage_and_allowed():
    assert transitions.next_stage(None, "registration") == "registered"
    assert transitions.next_stage("registered", "assessment.initial") == "initial_assessment"
    assert transitions.next_stage("planned", "review") == "implementation"
    assert transitions.next_stage("closed", "plan") is None
    assert transitions.allowed(None) == ["registration"]
    assert transitions.allowed("transferred") == ["child_file_release", "consent.sharing", "consent_override.sharing", "misfiled",
                                                  "note", "reopen", "repair", "retention", "sharing", "transfer_ack"]
    assert transitions.allowed("closed") == ["child_file_release", "consent.sharing", "consent_override.sharing",
                                             "followup.post_closure", "misfiled", "note", "reopen", "repair", "retention", "sharing"]


def test_advance__the_next_stage():
    assert transitions.advance("registered", "assessment.initial", "CP-0000-0000") == "initial_assessment"
    assert transitions.advance("closure_requested", "approval.closure") == "closed"


def test_advance__refusal_at_an_open_stage_names_the_case_stage_and_what_is_allowed():
    with pytest.raises(Refused) as error:
        transitions.advance("closure_requested", "assessment.initial", "CP-0000-0000")
    assert error.value.message == "CP-0000-0000 is at stage 'closure_requested': 'assess --type initial' is not allowed there"
    assert error.value.rule == "transition-not-allowed"
    assert error.value.hint == (
        "'assess --type initial' may be allowed once the request is taken back (close --withdraw or reject closure: back "
        "to the stage it was asked at). "
        "Allowed now: approve closure, approve mandatory-report, approve transfer, assess --type best-interests, assign, assign --cover, "
        "assign --keyworker, "
        "close --withdraw, consent, consent --override, continue, correct --misfiled, export with identifying fields, family-assessment, followup, mandatory-report, note, placement, "
        "preparation, readiness, readiness --form cpara, readiness --form csi, receive, referral, reject closure, reject mandatory-report, reject transfer, render child-file --given-to, repair, review, sign-off, tracing, transfer, transfer --withdraw, update.")


def test_advance__refusal_names_the_steps_to_a_stage_where_the_command_is_allowed():
    """A review asked at the initial assessment: the refusal says which steps lead to a stage where
    it is allowed (by the table; never through a closure), before what is allowed now."""
    with pytest.raises(Refused) as error:
        transitions.advance("initial_assessment", "review", "CP-0000-0000")
    assert error.value.hint.startswith("'review' is allowed from stage 'planned': first assess --type comprehensive, then plan. "
                                       "Allowed now: "), error.value.hint
    assert transitions.way_to("comprehensive_assessment", "review") == [("plan", "planned")]
    assert transitions.way_to("planned", "review") == []  # allowed now
    assert transitions.way_to("registered", "reopen") == []  # only through a closure: no way named
    with pytest.raises(Refused) as error:
        transitions.advance("registered", "reopen", "CP-0000-0000")
    assert error.value.hint.startswith("Allowed now: ")
    # a closure asked for: the way back is the request taken back (to the stage it was made at), never a transfer taken in
    assert transitions.way_to("closure_requested", "plan") == []
    assert transitions.way_to("closure_requested", "plan", before="implementation") == [("withdrawal.closure", "implementation")]
    with pytest.raises(Refused) as error:
        transitions.advance("closure_requested", "plan", "CP-0000-0000", before="implementation")
    assert error.value.hint.startswith("'plan' is allowed from stage 'implementation': first close --withdraw. "), error.value.hint
    assert "receive" not in error.value.hint.split("Allowed now")[0]
    with pytest.raises(Refused) as error:  # as the commands call it: the stage before the request not known
        transitions.advance("closure_requested", "plan", "CP-0000-0000")
    assert error.value.hint.startswith("'plan' may be allowed once the request is taken back (close --withdraw or reject "
                                       "closure: back to the stage it was asked at). Allowed now: "), error.value.hint


def test_advance__refusal_without_a_case_id():
    with pytest.raises(Refused) as error:
        transitions.advance(None, "note")
    assert error.value.message == "at stage 'None': 'note' is not allowed there"
    assert error.value.hint == "Allowed now: register."


TAKES = {"closed": "A closed case takes only: consent --override --purpose sharing, consent --purpose sharing, correct --misfiled, "
                   "export with identifying fields, followup --purpose post_closure, note, render child-file --given-to, reopen, "
                   "repair, retention.",
         "transferred": "A transferred case takes only: consent --override --purpose sharing, consent --purpose sharing, "
                        "correct --misfiled, export with identifying fields, note, render child-file --given-to, reopen, repair, "
                        "retention, transfer-ack."}


@pytest.mark.parametrize("stage", ["closed", "transferred"])
def test_advance__refusal_on_a_closed_or_transferred_case(stage):
    with pytest.raises(Refused) as error:
        transitions.advance(stage, "plan", "CP-0000-0000")
    assert error.value.message == f"CP-0000-0000 is at stage '{stage}': 'plan' is not allowed there"
    assert error.value.hint == TAKES[stage]


def test_advance__a_post_closure_visit_refused_on_a_transferred_case_is_not_offered_in_the_hint():
    """A post-closure visit on a transferred case was refused with "Closed and transferred cases take
    only reopening, post-closure visits and notes": the hint offered what had just been refused. It
    says what the stage takes, from the table (workflow.md's stage table)."""
    with pytest.raises(Refused) as error:
        transitions.advance("transferred", "followup.post_closure", "CP-0000-0000")
    assert error.value.message == "CP-0000-0000 is at stage 'transferred': 'followup --purpose post_closure' is not allowed there"
    assert error.value.hint == TAKES["transferred"] and "post_closure" not in error.value.hint
    assert "transfer-ack" in error.value.hint and "reopen" in error.value.hint


def test_status_of():
    assert transitions.status_of("closed") == "closed"
    assert transitions.status_of("transferred") == "transferred"
    assert transitions.status_of("reopened") == "open"
    assert transitions.status_of(None) == "open"


def test_words_of_every_command_is_what_the_user_types():
    assert transitions._words("transfer_request") == "transfer"
    assert transitions._words("review") == "review"


def test_clock_events__the_plan_in_force_is_its_approval_or_its_writing():
    needs = Policy("t", "t", {"plan_approval": {"required": True}})
    free = Policy("t", "t", {"plan_approval": {"required": False}})
    names = (clocks.PLAN_IN_FORCE, "review")
    assert clocks.events(names, needs) == ("approval.plan", "review")
    assert clocks.events(names, free) == ("plan", "review")
    assert clocks.events((), needs) == ()
    assert clocks.start_events("review", free) == ("plan", "review")
    assert clocks.done_events("case-plan", needs) == ("approval.plan",)
    assert clocks.done_events("initial-assessment", needs) == ("assessment.initial", "assessment.comprehensive")


@pytest.mark.parametrize("subject, starts, text", [("plan", "plan", "a plan version"), ("closure", "closure", "a closure request"),
                                                   ("transfer", "transfer_request", "a transfer request")])
def test_approval_clocks__every_field(subject, starts, text):
    expected = clocks.Clock(f"{subject}-approval", f"{subject}_approval", f"{subject.capitalize()} approval", (starts,), text,
                            (f"approval.{subject}", f"rejection.{subject}"), "a supervisor's or manager's approval or rejection",
                            f"{subject}_approval", "approval_response", "supervisors", subject=subject,
                            asks=(f"approval.{subject}", f"rejection.{subject}"))
    assert clocks.BY_CODE[f"{subject}-approval"] == expected
    assert clocks._approval(subject, starts, text) == expected  # the table's builder, called after import
