"""The child's return home recorded by a plan version (reason reunification_done) keeps the
placement's best-interests rule (ESARO Principle 2; cpcm/workflow/placements.py, one rule): refused
without a best-interests record made before it, accepted with one, or on a supervisor's reason
(`--override-reason`, as `cpcm placement` takes it), after which the record is owed on `due`, in
`show` and on `check` as for a placement. A version written before the rule was kept (no record,
no reason) is not approved while none is on file, and `cpcm check` reports it. Through the CLI."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from conftest import build_planned, commit_count
from test_assess_plan import plan_doc
from test_placements import ADMISSION, BID, KINSHIP, placed

from cpcm.store import policies
from cpcm.workflow import placements as rules

KENYA = policies.load("kenya")
LATER = "2026-11-27T09:00:00+03:00"  # four days on: past the 72 hours the record is owed within


def home_plan(cli, case_id: str, *extra: str):
    return cli("plan", case_id, "--from-file", "-", "--json", *extra, input=json.dumps(plan_doc("reunification_done")))


def due_items(cli, case_id: str) -> dict:
    return {i["code"]: i for i in cli("due", "--within", "30", "--json").json() if i["case_id"] == case_id}


def test_cli__a_plan_home_without_best_interests_exits_4_naming_the_reason_and_writes_nothing(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = build_planned(kenya)
    commits = commit_count(kenya.root)
    refused = home_plan(amina, case_id)
    assert refused.code == 4 and refused.json()["rule"] == "reunification-best-interests"
    text = amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc("reunification_done")))
    assert text.code == 4 and "reason reunification_done" in text.stderr and "best-interests record first" in text.stderr
    assert f"cpcm assess {case_id} --type best-interests" in text.stderr and "--override-reason" in text.stderr
    revised = amina("plan", case_id, "--from-current", "--reason", "reunification_done")
    assert revised.code == 4 and "best-interests record first" in revised.stderr
    worker = home_plan(amina, case_id, "--override-reason", "the court sent her home today")
    assert worker.code == 4 and "only a supervisor or manager" in worker.stderr
    assert commit_count(kenya.root) == commits
    assert "reunification_done" not in amina("log", case_id, "--json").stdout
    assert sup("approve", case_id, "plan").code == 4  # nothing waits: the version was not written


def test_cli__a_plan_home_after_a_best_interests_record_is_written_and_approved(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = build_planned(kenya)
    assert home_plan(amina, case_id).code == 4
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    written = home_plan(amina, case_id)
    assert written.code == 0, written.stderr
    assert not any("best-interests" in w for w in written.json()["warnings"])
    approved = sup("approve", case_id, "plan", "--json")
    assert approved.code == 0 and approved.json()["warnings"] == []
    assert "placement-best-interests" not in due_items(amina, case_id)
    assert "reunification-without-best-interests" not in sup("check", case_id).stdout


def test_cli__in_residential_care_the_record_must_be_made_since_the_admission(kenya):
    """The admission's own decision (into care) is not the one a return home rests on: as for a
    placement home, a best-interests record made since the placement in force began."""
    case_id = build_planned(kenya)
    admitted, later = kenya("amina", now="2026-11-24T09:00:00+03:00"), kenya("amina", now="2026-11-26T09:00:00+03:00")
    assert admitted("assess", case_id, "--type", "best-interests", "--from-file", "-",
                    input=json.dumps(dict(BID, decision="alternative_care_placement"))).code == 0
    assert placed(admitted, case_id, ADMISSION).code == 0
    refused = home_plan(later, case_id)
    assert refused.code == 4 and "since the current placement began (2026-11-24)" in refused.stderr
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert home_plan(later, case_id).code == 0


def test_cli__a_plan_confirming_the_placement_home_needs_no_record_of_its_own(kenya):
    """The placement home carried the rule (here on a supervisor's reason): the plan for
    reunification_done of the same stay confirms it and is not refused; a reason given for it is
    not needed and not recorded."""
    case_id = build_planned(kenya)
    sup, later = kenya("sup", now="2026-11-24T09:00:00+03:00"), kenya("sup", now="2026-11-26T09:00:00+03:00")
    assert placed(sup, case_id, ADMISSION, "--override-reason", "police brought her").code == 0
    assert placed(later, case_id, KINSHIP, "--override-reason", "court order").code == 0
    amina = kenya("amina", now="2026-11-27T09:00:00+03:00")
    written = home_plan(kenya("sup", now="2026-11-27T09:00:00+03:00"), case_id, "--override-reason", "to be sure")
    assert written.code == 0, written.stderr
    assert any("--override-reason was not needed" in w for w in written.json()["warnings"])
    logged = amina("show", case_id, "--json").json()["plan"]["content"]
    assert "best_interests_override" not in logged


def test_cli__a_supervisors_reason_writes_it_and_the_record_is_owed_on_due_show_and_check(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = build_planned(kenya)
    written = home_plan(sup, case_id, "--override-reason", "the court sent her home today")
    assert written.code == 0, written.stderr
    assert any("without a best-interests record, on a supervisor's reason" in w and "within 72 hours" in w
               for w in written.json()["warnings"])
    owed = due_items(amina, case_id)["placement-best-interests"]
    assert owed["title"] == "record the best-interests assessment of the return home"
    assert owed["due"].startswith("2026-11-26T09:00") and owed["rule"] == "placement_best_interests"
    assert f"cpcm assess {case_id} --type best-interests" in owed["why"]
    shown = amina("show", case_id)
    assert "best interests\towed: the child's return home (2026-11-23, a plan for reunification_done)" in shown.stdout
    shown = amina("show", case_id, "--json").json()
    assert shown["home_best_interests_owed"]["at"].startswith("2026-11-23T09:00")
    assert shown["plan"]["content"]["best_interests_override"] == {"reason": "the court sent her home today", "by": "sup"}
    late = kenya("sup", now=LATER)("check", case_id, "--json")
    assert "placement-best-interests-overdue" in {p["code"] for p in late.json()}
    assert "reunification-without-best-interests" not in {p["code"] for p in late.json()}  # the reason was recorded
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert "placement-best-interests" not in due_items(amina, case_id)
    assert "best interests\towed" not in amina("show", case_id).stdout
    assert "placement-best-interests-overdue" not in kenya("sup", now=LATER)("check", case_id).stdout


def test_cli__a_version_written_before_the_rule_is_not_approved_without_a_record_and_check_reports_it(kenya, monkeypatch):
    """A plan for reunification_done written with no best-interests record and no reason (as before
    the rule was kept): approving it is refused while none is on file, and `cpcm check` reports it
    as an error; once one is made, it is approved with a warning that it came after the version."""
    from cpcm.service import placements as placement_service

    amina, sup = kenya("amina"), kenya("sup")
    case_id = build_planned(kenya)
    with monkeypatch.context() as patch:  # the plan command as it was: no best-interests check
        patch.setattr(placement_service, "home_checked", lambda ctx, case, records, body, when, reason: ([], []))
        assert home_plan(amina, case_id).code == 0
    commits = commit_count(kenya.root)
    refused = sup("approve", case_id, "plan")
    assert refused.code == 4 and "no best-interests record made before it" in refused.stderr
    assert f"cpcm assess {case_id} --type best-interests" in refused.stderr and f"cpcm reject {case_id} plan" in refused.stderr
    assert sup("approve", case_id, "plan", "--json").json()["rule"] == "reunification-best-interests"
    assert commit_count(kenya.root) == commits
    check = sup("check", case_id, "--json")
    assert check.code == 1
    problem = next(p for p in check.json() if p["code"] == "reunification-without-best-interests")
    assert problem["severity"] == "error" and "ESARO Principle 2" in problem["source"]
    later = kenya("amina", now="2026-11-24T09:00:00+03:00")
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    approved = kenya("sup", now="2026-11-24T10:00:00+03:00")("approve", case_id, "plan", "--json")
    assert approved.code == 0, approved.stderr
    assert any("before its best-interests record (2026-11-24)" in w for w in approved.json()["warnings"])
    assert "reunification-without-best-interests" not in kenya("sup", now="2026-11-24T10:00:00+03:00")("check", case_id).stdout


def test_cli__a_plan_setting_the_reunification_date_says_the_record_comes_first(kenya):
    """Setting the date moves nobody: written without a record, it says the return home needs one."""
    amina = kenya("amina")
    case_id = build_planned(kenya)
    written = amina("plan", case_id, "--from-file", "-", "--json", input=json.dumps(plan_doc("reunification_date_set")))
    assert written.code == 0, written.stderr
    assert any("return home needs a best-interests record first" in s for s in written.json()["next_steps"])


@pytest.mark.parametrize("placements, needed", [
    ((), True),                                                                                  # no placement: the plan is the move
    (({"record_id": "P1", "at": "2026-11-20T06:00:00+00:00", "care_type": "institutional_care", "setting": "residential"},), True),
    (({"record_id": "P1", "at": "2026-11-20T06:00:00+00:00", "care_type": "institutional_care", "setting": "residential"},
      {"record_id": "P2", "at": "2026-11-22T06:00:00+00:00", "care_type": "kinship", "setting": "family_based",
       "reunification": True}), False),                                                          # the placement home was the move
])
def test_plan_needs_best_interests__the_placements_rule_for_a_plan_home(placements, needed):
    at = "2026-11-23T06:00:00+00:00"
    assert rules.plan_needs_best_interests(placements, at, KENYA) is needed
    off = replace(KENYA, rules={**KENYA.rules, "placement": {**KENYA.rules["placement"], "best_interests_required": False}})
    assert rules.plan_needs_best_interests(placements, at, off) is False  # the placement's switch governs it too


def test_cli__a_return_home_rejected_or_withdrawn_owes_no_record_and_check_clears(kenya, monkeypatch):
    """A plan for reunification_done that a supervisor rejects (the child is not home) or its author
    withdraws sends no one home: `cpcm check` reports no return home without a record for it, and a
    record owed on a supervisor's reason is owed no more."""
    from cpcm.service import placements as placement_service

    amina, sup = kenya("amina"), kenya("sup")
    case_id = build_planned(kenya)
    with monkeypatch.context() as patch:  # written as before the rule was kept
        patch.setattr(placement_service, "home_checked", lambda ctx, case, records, body, when, reason: ([], []))
        assert home_plan(amina, case_id).code == 0
    assert "reunification-without-best-interests" in {p["code"] for p in sup("check", case_id, "--json").json()}
    assert sup("reject", case_id, "plan", "--note", "she is not home yet").code == 0
    assert "reunification-without-best-interests" not in {p["code"] for p in sup("check", case_id, "--json").json()}
    other = build_planned(kenya)
    assert home_plan(sup, other, "--override-reason", "the court sent her home today").code == 0
    assert "placement-best-interests" in due_items(amina, other)
    withdrawn = sup("plan", other, "--withdraw", "--reason", "written for the wrong child")
    assert withdrawn.code == 0, withdrawn.stderr
    assert "placement-best-interests" not in due_items(amina, other)


def test_cli__a_plan_corrected_into_a_return_home_keeps_the_rule(kenya):
    """`cpcm correct CASE plan --set reason=reunification_done` is the return home recorded: refused
    without a best-interests record, as writing it is; accepted once one is on file."""
    amina, sup = kenya("amina"), kenya("sup")  # the version is approved: a supervisor corrects it as it stands
    case_id = build_planned(kenya)
    record_id = amina("show", case_id, "plan", "--json").json()["record_id"]
    before = commit_count(kenya.root)
    refused = sup("correct", case_id, record_id, "--set", "reason=reunification_done", "--reason", "she went home", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "reunification-best-interests", refused.stderr
    # the way out a correction has: `cpcm correct` takes no --override-reason, so the hint names none
    assert "then correct again" in refused.json()["hint"] and "with --override-reason TEXT" not in refused.json()["hint"]
    assert commit_count(kenya.root) == before
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    done = sup("correct", case_id, record_id, "--set", "reason=reunification_done", "--reason", "she went home")
    assert done.code == 0, done.stderr


def test_cli__a_return_home_rejected_or_withdrawn_is_no_reunification(kenya):
    """A plan for reunification_done a supervisor rejects, or its author withdraws, sent no one home:
    no monitoring visits after it, the reintegration path does not count the child as reunified, and
    the reviews keep the ordinary interval (the fold's `reunification` event leaves it out). One
    still waiting for approval counts, as it did."""
    amina, sup = kenya("amina"), kenya("sup")
    for decide in (lambda case_id: sup("reject", case_id, "plan", "--note", "she is not home yet"),
                   lambda case_id: amina("plan", case_id, "--withdraw", "--reason", "written for the wrong child")):
        case_id = build_planned(kenya)
        assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
        assert home_plan(amina, case_id).code == 0
        assert "monitoring-visit" in due_items(amina, case_id)  # waiting: the return home as written
        assert amina("show", case_id, "--json").json()["reintegration"]["reunified"]
        decided = decide(case_id)
        assert decided.code == 0, decided.stderr
        shown = amina("show", case_id, "--json").json()
        assert shown["reintegration"] is None or not shown["reintegration"]["reunified"], shown["reintegration"]
        assert "monitoring-visit" not in due_items(amina, case_id)


def test_cli__a_return_home_written_again_for_the_same_time_after_a_rejection_is_the_reunification(kenya):
    """A supervisor turns down a plan for reunification_done; the worker writes it again with the same
    date (the day the child went home) and it is approved: that version is the reunification (the
    rejected one takes away itself, not the other written for the same time)."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = build_planned(kenya)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    home = "2026-11-23T09:00:00+03:00"  # the fixture's now: the BID, both versions and the decisions at one time
    assert home_plan(amina, case_id, "--at", home).code == 0
    assert sup("reject", case_id, "plan", "--note", "the goals are not written yet").code == 0
    again = home_plan(amina, case_id, "--at", home)
    assert again.code == 0, again.stderr
    assert sup("approve", case_id, "plan").code == 0
    assert amina("show", case_id, "--json").json()["reintegration"]["reunified"]
    assert "monitoring-visit" in due_items(amina, case_id)


# -- one rule, one flow: the plan's return home judged as a placement is, by when each thing happened ---------------
DAY_AFTER = "2026-11-26T09:00:00+03:00"  # the examples below are written then, each dated back with --at


def admitted_then_assessed(kenya, bid_at: str = "2026-11-25T08:00") -> str:
    """A planned kenya case admitted to a CCI on 2026-11-24 10:00 (on a supervisor's reason) and a
    best-interests record dated `bid_at`, both written on DAY_AFTER."""
    case_id = build_planned(kenya)
    sup, amina = kenya("sup", now=DAY_AFTER), kenya("amina", now=DAY_AFTER)
    assert placed(sup, case_id, ADMISSION, "--at", "2026-11-24T10:00", "--override-reason", "police brought her").code == 0
    assert amina("assess", case_id, "--type", "best-interests", "--at", bid_at, "--from-file", "-",
                 input=json.dumps(BID)).code == 0
    return case_id


def test_cli__a_return_home_corrected_to_a_day_before_its_best_interests_record_is_refused_as_a_placement_is(kenya):
    """`cpcm correct CASE plan --at WHEN` moves when the return home happened: the version is judged
    again at that time, as a placement corrected is. Moved before its best-interests record, both
    are refused (exit 4) with the same words, the record's date and what to do, and nothing is
    written; moved to a time still after it, the correction stands."""
    sup, amina = kenya("sup", now=DAY_AFTER), kenya("amina", now=DAY_AFTER)
    plan_case, placement_case = admitted_then_assessed(kenya), admitted_then_assessed(kenya)
    assert home_plan(amina, plan_case, "--at", "2026-11-25T10:00").code == 0
    assert sup("approve", plan_case, "plan").code == 0
    assert placed(amina, placement_case, KINSHIP, "--at", "2026-11-25T10:00").code == 0
    commits = commit_count(kenya.root)
    refused = sup("correct", plan_case, "plan", "--at", "2026-11-24T12:00", "--reason", "the day was mistyped", "--json")
    assert refused.code == 4, refused.stdout
    assert refused.json()["rule"] == "reunification-best-interests"
    moved = sup("correct", placement_case, "placement", "--at", "2026-11-24T12:00", "--reason", "the day was mistyped")
    assert moved.code == 4 and "placement-best-interests" in sup("correct", placement_case, "placement", "--at",
                                                                 "2026-11-24T12:00", "--reason", "x", "--json").stdout
    assert commit_count(kenya.root) == commits
    text = sup("correct", plan_case, "plan", "--at", "2026-11-24T12:00", "--reason", "the day was mistyped")
    said = (f"{plan_case} has none made by this version's date (2026-11-24) since the current placement began (2026-11-24): "
            "its best-interests record is dated 2026-11-25, after it")
    assert text.code == 4 and said in text.stderr, text.stderr
    bid = sup("show", plan_case, "assessment@best-interests", "--json").json()["record_id"]  # the case's only one
    assert f"cpcm correct {plan_case} {bid} --at WHEN --reason" in text.stderr  # that record, by its ID
    assert said.replace(plan_case, placement_case).replace("this version's date", "the placement's date").replace(
        "after it", "after the placement") in moved.stderr  # the placement's refusal, in its own words
    kept = sup("correct", plan_case, "plan", "--at", "2026-11-25T09:00", "--reason", "an hour earlier")
    assert kept.code == 0, kept.stderr


def test_cli__a_best_interests_record_written_after_the_version_but_dated_before_it_counts(kenya):
    """Records are judged by when they happened, not when they were written: a best-interests record
    written after a plan version, dated before it, is the one a correction of that version into the
    return home rests on; one written before a version but dated after it is not."""
    sup, amina = kenya("sup", now=DAY_AFTER), kenya("amina", now=DAY_AFTER)
    case_id = build_planned(kenya)
    assert placed(sup, case_id, ADMISSION, "--at", "2026-11-24T10:00", "--override-reason", "police brought her").code == 0
    assert amina("plan", case_id, "--from-file", "-", "--at", "2026-11-25T10:00",
                 input=json.dumps(plan_doc("review"))).code == 0
    assert amina("assess", case_id, "--type", "best-interests", "--at", "2026-11-25T08:00", "--from-file", "-",
                 input=json.dumps(BID)).code == 0
    home = sup("correct", case_id, "plan", "--set", "reason=reunification_done", "--reason", "she went home")
    assert home.code == 0, home.stderr
    other = admitted_then_assessed(kenya, bid_at="2026-11-25T12:00")  # written first, dated after the version below
    refused = home_plan(amina, other, "--at", "2026-11-25T10:00")
    assert refused.code == 4 and refused.json()["rule"] == "reunification-best-interests"
    assert "its best-interests record is dated 2026-11-25, after it" in home_plan(amina, other, "--at", "2026-11-25T10:00").stderr


@pytest.mark.parametrize("bid_first", [True, False])
def test_cli__a_record_of_the_same_time_as_the_admission_counts_for_a_plan_home_as_for_a_placement_home(kenya, bid_first):
    """Two records of one time (both dated with --at to the minute) are ordered by their record IDs,
    the order they were written in, by the one rule for both moves: a best-interests record
    written before the admission of its time was the admission's own decision and does not count
    for the way home; one written after it does. The plan and the placement home agree."""
    sup, amina = kenya("sup", now=DAY_AFTER), kenya("amina", now=DAY_AFTER)
    verdicts = []
    for move in ("plan", "placement"):
        case_id = build_planned(kenya)
        bid = lambda: amina("assess", case_id, "--type", "best-interests", "--at", "2026-11-24T10:00", "--from-file", "-",
                            input=json.dumps(BID)).code
        if bid_first:
            assert bid() == 0
        assert placed(sup, case_id, ADMISSION, "--at", "2026-11-24T10:00", "--override-reason", "police").code == 0
        if not bid_first:
            assert bid() == 0
        done = home_plan(amina, case_id, "--at", "2026-11-25T10:00") if move == "plan" else \
            placed(amina, case_id, KINSHIP, "--at", "2026-11-25T10:00")
        verdicts.append(done.code)
    assert verdicts == ([4, 4] if bid_first else [0, 0])


def test_cli__a_supervisors_reason_for_the_return_home_stands_through_a_correction_of_its_date(kenya):
    """The one override flow in both paths: a supervisor writes the return home on a reason (a
    caseworker may not); corrected to another day, by anyone, the reason recorded with it stands
    and the record is still owed (as a placement made so keeps its reason when corrected)."""
    sup, amina = kenya("sup", now=DAY_AFTER), kenya("amina", now=DAY_AFTER)
    case_id = build_planned(kenya)
    assert placed(sup, case_id, ADMISSION, "--at", "2026-11-24T10:00", "--override-reason", "police brought her").code == 0
    worker = home_plan(amina, case_id, "--at", "2026-11-25T10:00", "--override-reason", "the court sent her home")
    assert worker.code == 4 and worker.json()["rule"] == "reunification-best-interests"
    assert "only a supervisor or manager can record a child's return home without a best-interests record" in \
        home_plan(amina, case_id, "--override-reason", "the court sent her home").stderr
    written = home_plan(sup, case_id, "--at", "2026-11-25T10:00", "--override-reason", "the court sent her home")
    assert written.code == 0, written.stderr
    assert any("the child's return home recorded without a best-interests record, on a supervisor's reason" in w
               for w in written.json()["warnings"])
    corrected = amina("correct", case_id, "plan", "--at", "2026-11-25T09:00", "--reason", "an hour earlier", "--json")
    assert corrected.code == 0, corrected.stderr
    content = amina("show", case_id, "--json").json()["plan"]["content"]
    assert content["best_interests_override"] == {"reason": "the court sent her home", "by": "sup"}
    owed = amina("show", case_id, "--json").json()["home_best_interests_owed"]
    assert owed["at"].startswith("2026-11-25T09:00")
    other = admitted_then_assessed(kenya, bid_at="2026-11-25T12:00")
    assert home_plan(sup, other, "--at", "2026-11-25T10:00", "--override-reason", "court order").code == 0
    # a supervisor's reason kept with the placement corrected stands too: the same flow
    kinship = admitted_then_assessed(kenya, bid_at="2026-11-25T12:00")
    assert placed(sup, kinship, KINSHIP, "--at", "2026-11-25T10:00", "--override-reason", "court order").code == 0
    assert amina("correct", kinship, "placement", "--at", "2026-11-25T09:00", "--reason", "an hour earlier").code == 0
