"""Follow-ups, reviews (one and in batch), closure with approval, reopening, reaching 18.

The rules at the service level over a repository in memory (tests/memory_repo.py: fixed `now`,
no disk, git or age); the batch file, exit codes and one commit per command end to end."""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import commit_count, library_session, register, registration as registration_doc
from cpcm import service
from cpcm.errors import InvalidInput, Refused
from memory_repo import MemoryRepo
from test_assess_plan import COMPREHENSIVE, INITIAL, assessed, assessed_in, fields, plan_doc
from cpcm.store.layout import case_rel

GOALS_MET = ["--check", "child_safe", "--check", "wellbeing_supported", "--check", "no_further_concerns",
             "--check", "monitoring_followups_done", "--check", "child_and_family_took_part"]
REVIEW = {"chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
          "decisions": ["continue the plan"], "outcome": "continue"}
VISIT = {"method": "home_visit", "purpose": "monitoring", "purpose_detail": "check school", "visited_by": "professional",
         "risk_increased": "no"}
CHECKLIST = ["child_safe", "wellbeing_supported", "no_further_concerns", "monitoring_followups_done", "child_and_family_took_part"]


def commits(repo) -> int:
    return int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True).stdout)


def planned(cli, cli_as):
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert cli_as("sup")("approve", case_id, "plan").code == 0
    return case_id


def visit(cli, case_id, *extra):
    return cli("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
               "--visited-by", "professional", "--risk-increased", "no", *extra)


def planned_in(mem: MemoryRepo, worker: str = "amina") -> str:
    """An assessed case with an approved plan, in the memory repository."""
    case_id = assessed_in(mem, worker)
    service.plan(mem.as_(worker), case_id, plan_doc())
    service.approve(mem.as_("sup"), case_id, "plan", note="approved")  # a note: the reason where it is her own
    return case_id


def planned_cases(ctx, count: int, child=None) -> list[str]:
    """Many planned cases of amina's at once, written through the library in one commit (fast);
    `child(number)`: the child of the case so numbered (from 0), else conftest's registration's."""
    from conftest import registration
    from cpcm.domain.ids import new_case_id
    from cpcm.store.layout import RECIPIENTS

    ids = []
    with service.transaction(ctx, "test-setup") as tx:
        for number in range(count):
            case_id = new_case_id()
            body = service.validate_registration(ctx, registration(child=child(number)) if child else registration())
            readers = ctx.team.case_readers(["amina"])
            tx.replace_file(f"{case_rel(case_id)}/{RECIPIENTS}", service.recipients_bytes(readers))
            keys = service.keys_for(ctx, readers)
            after = ""
            for kind, data in (("registration", body), ("assessment", {"type": "initial", "risk": "high"}),
                               ("assessment", dict(COMPREHENSIVE, type="comprehensive")), ("plan", plan_doc()),
                               ("approval", {"subject": "plan"})):
                record = service.new_record(ctx, kind, case_id, data, after=after)
                tx.write_record(record, keys)
                after = record.id
            ids.append(case_id)
        tx.commit("setup")
    return ids


# -- the rules, at the service level ---------------------------------------------------------------
def test_followup__a_home_visit_needs_its_purpose_first():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    visit = dict(VISIT)
    del visit["purpose_detail"]
    with pytest.raises(InvalidInput) as refused:
        service.followup(amina, case_id, visit)
    assert fields(refused.value) == {"purpose_detail"}
    assert service.followup(amina, case_id, VISIT).kind == "followup"


def test_followup__risk_increased_is_urgent_and_a_volunteers_concern_reaches_the_worker():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    other = mem.register(amina)
    written = service.followup(amina, case_id, {"method": "community", "purpose": "monitoring", "visited_by": "volunteer",
                                                "risk_increased": "yes", "concern": "yes"})
    assert any("urgent" in w for w in written.warnings)
    items = service.due(amina)
    assert (items[0].case_id, items[0].code) == (case_id, "risk-increased")
    assert (case_id, "concern") in {(i.case_id, i.code) for i in items}
    assert other not in {i.case_id for i in items if i.code in ("risk-increased", "concern")}
    # a professional's later visit with a re-rated risk clears both
    later = mem.as_("amina", now="2026-11-23T10:00:00+03:00")
    service.followup(later, case_id, dict(VISIT, purpose_detail="check", risk="immediate", risk_reason="violence"))
    codes = {i.code for i in service.due(later) if i.case_id == case_id}
    assert "risk-increased" not in codes and "concern" not in codes
    assert service.show(later, case_id)["risk"] == "immediate"


def test_followup__risk_increased_and_re_rated_at_once_stays_urgent_and_a_lower_level_is_questioned(cli_as):
    """A follow-up that says the risk increased and re-rates it in the same record keeps its urgent
    item (the response is still to come: docs/workflow.md) and says how to clear it; a re-rating
    below the level the case had (increased, yet lower: a slip) also names the correction to make."""
    amina = cli_as("amina")
    case_id = register(amina)  # risk high
    base = ["followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
            "--risk-increased", "yes", "--json"]
    lower = amina(*base, "--risk", "low", "--risk-reason", "the family is coping")
    assert lower.code == 0, lower.stderr
    record_id = lower.json()["record_id"]
    assert any("this is now an urgent item" in w for w in lower.json()["warnings"]), lower.json()
    assert any("re-rates it below the level it had" in w and f"cpcm correct {case_id} {record_id}" in w
               for w in lower.json()["warnings"]), lower.json()
    assert [i["code"] for i in amina("due", "--json").json() if i["code"] == "risk-increased"] == ["risk-increased"]
    later = cli_as("amina", CPCM_NOW="2026-11-23T10:00:00+03:00")
    higher = later(*base, "--risk", "immediate", "--risk-reason", "violence at home")
    assert higher.code == 0, higher.stderr
    assert higher.json()["warnings"] == ["the risk has increased: this is now an urgent item"], higher.json()
    assert any("stays on cpcm due until the risk is checked again after this visit" in s for s in higher.json()["next_steps"]), \
        higher.json()
    # a later follow-up that records a risk level clears it
    check = cli_as("amina", CPCM_NOW="2026-11-23T11:00:00+03:00")
    checked = check("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
                    "--risk-increased", "no", "--risk", "immediate", "--risk-reason", "violence at home")
    assert checked.code == 0, checked.stderr
    assert not [i for i in check("due", "--json").json() if i["code"] == "risk-increased"]


def test_followup__a_risk_increase_dated_the_day_of_an_earlier_assessment_is_still_urgent(cli_as):
    """An initial assessment and then a follow-up that found the risk increased, both dated the same
    day (--at DATE: the same midnight), made no urgent item: the assessment, of the same time, was
    taken for a re-rating after the increase. Only a re-rating recorded after it answers it."""
    amina = cli_as("amina")
    case_id = register(amina, "--at", "2026-11-20")
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL, "--at", "2026-11-21").code == 0
    found = amina("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
                  "--risk-increased", "yes", "--at", "2026-11-21", "--json")
    assert found.code == 0, found.stderr
    urgent = [i for i in amina("due", "--json").json() if i["code"] == "risk-increased"]
    assert [i["case_id"] for i in urgent] == [case_id], urgent
    # a re-rating recorded after it, of the same day too, answers it
    assert amina("assess", case_id, "--type", "initial", "--risk", "immediate", *INITIAL, "--risk-reason", "violence",
                 "--at", "2026-11-21").code == 0
    assert not [i for i in amina("due", "--json").json() if i["code"] == "risk-increased"]


def test_review__chair_warning_absence_reason_and_the_next_review_date():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    own = service.review(amina, case_id, dict(REVIEW, chair="amina"))
    assert any("own worker" in w for w in own.warnings)
    with pytest.raises(InvalidInput) as absent:
        service.review(amina, case_id, dict(REVIEW, attended={"child": "no", "family": "yes"}))
    assert any(f.endswith("absent_reason") for f in fields(absent.value))
    with pytest.raises(InvalidInput) as late:
        service.review(amina, case_id, dict(REVIEW, next_review="2027-12-01"))
    assert fields(late.value) == {"next_review"} and "later than the policy" in str(late.value)
    service.review(amina, case_id, dict(REVIEW, next_review="2026-12-20"))
    item = next(i for i in service.due(amina, within_days=60) if i.case_id == case_id and i.code == "review")
    assert item.due.date().isoformat() == "2026-12-20"


def test_review__progress_is_on_goals_and_actions_of_the_plan():
    """A progress entry about an item the plan does not have is refused, naming the entry and the
    plan's goals and actions, as `--done` refuses an action the plan does not have."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    with pytest.raises(InvalidInput) as wrong:
        service.review(amina, case_id, dict(REVIEW, progress=[{"item": "G1", "status": "in_progress"},
                                                             {"item": "Z9", "status": "done"}, {"item": "A9", "status": "done"}]))
    assert fields(wrong.value) == {"progress[2].item", "progress[3].item"}
    assert "is not a goal or action of the plan (its goals: G1" in str(wrong.value)
    service.review(amina, case_id, dict(REVIEW, progress=[{"item": "g1", "status": "in_progress"}, {"item": "A1", "status": "done"}]))
    with pytest.raises(InvalidInput) as undone:
        service.review(amina, case_id, dict(REVIEW), done=["A9"])
    assert "done[1]: is not an action of the plan (its actions: A1" in str(undone.value)


def test_review__every_problem_at_once_the_form_the_next_review_the_items_and_the_time():
    from datetime import timedelta

    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    before = mem.commits()
    doc = dict(REVIEW, next_review="2031-01-01",
               progress=[{"item": "G1", "status": "in_progress"}, {"item": "A1", "status": "halfway"}, {"item": "G9", "status": "done"}])
    with pytest.raises(InvalidInput) as wrong:
        service.review(amina, case_id, doc, at=amina.now + timedelta(days=2))
    assert fields(wrong.value) == {"progress[2].status", "progress[3].item", "next_review", "at"}, str(wrong.value)
    assert mem.commits() == before


def test_review__an_action_given_two_statuses_is_refused_naming_the_entry_and_nothing_is_written():
    """A progress entry that gives an action another status than --done gives it (done), or than
    an earlier entry gives it, contradicts it: refused, naming the entry, the action and what to
    do; a progress of done beside --done says the same twice and is taken."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    before = mem.commits()
    with pytest.raises(InvalidInput) as both:
        service.review(amina, case_id, dict(REVIEW, progress=[{"item": "A1", "status": "in_progress"}]), done=["A1"])
    assert fields(both.value) == {"progress[1].status"}
    assert "is in_progress, but --done gives A1 the status done" in str(both.value)
    assert "leave out --done A1, or make this status done" in str(both.value)
    with pytest.raises(InvalidInput) as twice:
        service.review(amina, case_id, dict(REVIEW, progress=[{"item": "A1", "status": "done"}, {"item": "G1", "status": "in_progress"},
                                                             {"item": "a1", "status": "not_started"}]))
    assert fields(twice.value) == {"progress[3].status"}
    assert "but progress[1] gives A1 the status done" in str(twice.value) and "keep one entry for A1" in str(twice.value)
    assert mem.commits() == before
    service.review(amina, case_id, dict(REVIEW, progress=[{"item": "A1", "status": "done"}]), done=["A1"])
    assert mem.commits() == before + 1


def test_cli__review_with_set_progress_and_done_of_one_action_at_odds_is_refused(cli, cli_as, repo):
    case_id = planned(cli, cli_as)
    before = commit_count(repo)
    review = ["review", case_id, "--chair", "sup", "--set", "attended.child=yes", "--set", "attended.family=yes",
              "--set", "plan_still_right=yes", "--decision", "continue the plan", "--outcome", "continue", "--no-input"]
    refused = cli(*review, "--set", "progress.1.item=A1", "--set", "progress.1.status=in_progress", "--done", "A1")
    assert refused.code == 4, refused.stderr
    assert "progress[1].status: is in_progress, but --done gives A1 the status done" in refused.stderr
    assert commit_count(repo) == before


def test_followup__every_bad_field_at_once_the_forms_the_frequency_the_risk_reason_and_done():
    """A follow-up's own checks (how often, the reason for a new risk level, --done) are made
    with the form's: one refusal names them all, rather than one after another is fixed."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    before = mem.commits()
    visit = {k: v for k, v in VISIT.items() if k != "purpose_detail"}
    with pytest.raises(InvalidInput) as wrong:
        service.followup(amina, case_id, dict(visit, followup_every="12h", risk="low"), done=["A9"])
    assert fields(wrong.value) == {"purpose_detail", "followup_every", "risk_reason", "done[1]"}, str(wrong.value)
    assert mem.commits() == before


def test_review__a_missing_field_and_an_action_not_of_the_plan_are_named_together():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    with pytest.raises(InvalidInput) as wrong:
        service.review(amina, case_id, {k: v for k, v in REVIEW.items() if k != "chair"}, done=["A9"])
    assert fields(wrong.value) == {"chair", "done[1]"}, str(wrong.value)


def test_assess__a_missing_field_and_a_new_risk_level_without_its_reason_are_named_together():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    data = {k: v for k, v in COMPREHENSIVE.items() if k != "child_views"}
    with pytest.raises(InvalidInput) as wrong:
        service.assess(amina, case_id, "comprehensive", dict(data, risk="low"))
    assert fields(wrong.value) == {"child_views", "risk_reason"}, str(wrong.value)


def test_assess__a_bad_field_and_a_time_in_the_future_are_named_together():
    from datetime import timedelta

    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    with pytest.raises(InvalidInput) as wrong:
        service.assess(amina, case_id, "comprehensive", dict(COMPREHENSIVE, risk="extreme"), at=amina.now + timedelta(days=1))
    assert fields(wrong.value) == {"risk", "at"}, str(wrong.value)


def test_review_batch__fifty_cases_in_one_commit_a_dry_run_in_none():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    ids = planned_cases(amina, 50)
    rows = [dict(REVIEW, case=case_id) for case_id in ids]
    before = mem.commits()
    dry = service.review_batch(amina, rows, dry_run=True)
    assert dry.extra["checked"] == 50 and dry.extra["reviewed"] == 0 and mem.commits() == before
    done = service.review_batch(amina, rows)
    assert done.extra["reviewed"] == 50 and len(done.record_ids) == 50
    assert mem.commits() == before + 1 and mem.store.commits[-1].message == "review batch 50 cases"
    assert service.show(amina, ids[7])["stage"] == "implementation"


def test_review_batch__every_bad_row_is_reported_and_nothing_written():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    ids = planned_cases(amina, 4)
    rows = [dict(REVIEW, case=ids[0]), dict(REVIEW, case=ids[1]),
            dict(REVIEW, case=ids[2], attended={"child": "no", "family": "yes"}),  # absent child, no reason
            dict(REVIEW, case=ids[3], plan_still_right="maybe"),                   # bad choice
            dict(REVIEW, case="CP-0000-0000"),                                     # not a case ID
            dict(REVIEW, case=ids[0])]                                             # twice
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        service.review_batch(amina, rows)
    rows_named = {f.split(":")[0] for f in fields(refused.value)}
    assert rows_named == {"row 1", "row 3", "row 4", "row 5", "row 6"}  # row 1: its case is given again in row 6
    assert mem.commits() == before
    # a row given twice is named with its own errors at once, not only once the repeat is taken out
    rows = [dict(REVIEW, case=ids[0]), dict(REVIEW, case=ids[0], plan_still_right="maybe")]
    with pytest.raises(InvalidInput) as twice:
        service.review_batch(amina, rows)
    assert fields(twice.value) == {"row 1: case", "row 2: case", "row 2: plan_still_right"}, fields(twice.value)
    assert mem.commits() == before


def test_review_batch__a_bad_row_lists_all_its_errors_and_a_case_given_twice_names_each_of_its_rows():
    """A row whose case is not found had only 'no case', not its bad outcome; a row with a bad
    field at a stage that takes no review had only the field, not the stage; a case given twice
    named its second row only. Each bad row now lists all its errors, a case given twice every
    row of it; and still nothing is written."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    planned_id = planned_cases(amina, 1)[0]
    registered = mem.register(amina)
    rows = [dict(REVIEW, case="CP-0000-0000", outcome="bogus"),
            dict(REVIEW, case=planned_id),
            dict(REVIEW, case=planned_id, attended={"child": "maybe", "family": "yes"}, outcome="bogus"),
            dict(REVIEW, case=registered, attended={"child": "maybe", "family": "yes"})]
    before = mem.commits()
    with pytest.raises(InvalidInput) as refused:
        service.review_batch(amina, rows, numbers=[2, 3, 4, 5])
    named = [(e.field, e.reason) for e in refused.value.errors]
    assert {field for field, _ in named} == {"row 2: case", "row 2: outcome", "row 3: case", "row 4: case",
                                             "row 4: attended.child", "row 4: outcome", "row 5: case",
                                             "row 5: attended.child"}, named
    twice = [reason for field, reason in named if field in ("row 3: case", "row 4: case")]
    assert twice == [f"{planned_id} appears twice in the batch (rows 3, 4)"] * 2, named
    assert any(field == "row 5: case" and "'review' is not allowed there" in reason for field, reason in named), named
    assert mem.commits() == before


def test_close__needs_checklist_approval_by_someone_else_and_open_items_explained():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = planned_in(mem)
    with pytest.raises(InvalidInput) as missing:  # and no follow-up yet since the plan
        service.close(amina, case_id, {"reason": "goals_met", "checklist": ["child_safe"]})
    assert {"checklist.no_further_concerns", "followups"} <= fields(missing.value)
    service.followup(amina, case_id, VISIT)
    with pytest.raises(InvalidInput) as unexplained:  # the plan's actions are not done
        service.close(amina, case_id, {"reason": "goals_met", "checklist": CHECKLIST})
    assert fields(unexplained.value) == {"open_items_explained"} and "action A1" in str(unexplained.value)
    service.close(amina, case_id, {"reason": "goals_met", "checklist": CHECKLIST, "open_items_explained": "done by the family"})
    assert service.show(amina, case_id)["status"] == "open"  # a request, not a closure
    with pytest.raises(Refused):  # a caseworker cannot approve
        service.approve(amina, case_id, "closure")
    service.approve(sup, case_id, "closure")
    shown = service.show(amina, case_id)
    assert shown["status"] == "closed" and "post-closure-visit" in {d["code"] for d in shown["due"]}
    # closed: no new assessment, no ordinary follow-up, but a note and a post-closure visit
    with pytest.raises(Refused):
        service.assess(amina, case_id, "comprehensive", COMPREHENSIVE)
    with pytest.raises(Refused) as ordinary:
        service.followup(amina, case_id, VISIT)
    assert ordinary.value.rule == "transition-not-allowed"
    service.note(amina, case_id, "called the grandmother")
    service.followup(amina, case_id, dict(VISIT, purpose="post_closure", purpose_detail="feedback", child_feedback="happy"))
    assert "post-closure-visit" not in {d["code"] for d in service.show(amina, case_id)["due"]}


def test_review__replan_points_to_a_new_version_from_the_one_in_force_and_the_command_works():
    """The next: line of a review that decides to replan said 'cpcm plan CASE --reason review',
    which starts a plan from nothing (off a terminal: six required fields missing)."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = planned_in(mem)
    written = service.review(amina, case_id, dict(REVIEW, plan_still_right="no", outcome="replan"))
    [step] = written.next_steps  # and it is on the worker's own due list (test_review_decision_due.py)
    assert step.startswith(f"the review decided to replan: write a new plan version (cpcm plan {case_id} --from-current "
                           "--reason review ..., or --edit --reason review); on your cpcm due within 14 days"), step
    revised = service.plan_revise(amina, case_id, "review", {"contingency": "The aunt takes the child in."})
    assert revised.kind == "plan" and revised.extra["version"] == 2


def test_review__dated_back_says_when_the_decisions_step_is_due_as_due_lists_it_not_within():
    """A review typed in from paper weeks later (--at) said the replan was on due "within 14 days"
    while `cpcm due` listed it overdue: it names the due time of due's own item."""
    from datetime import timedelta

    from cpcm.domain.dates import local_text

    mem = MemoryRepo()
    case_id = planned_in(mem)
    amina = mem.as_("amina", now=mem.now + timedelta(days=30))  # the paper review of day 5 typed in on day 30
    written = service.review(amina, case_id, dict(REVIEW, plan_still_right="no", outcome="replan"), mem.now + timedelta(days=5))
    [item] = [i for i in service.due(amina) if i.case_id == case_id and i.code == "review-decision"]
    [step] = written.next_steps
    assert step.endswith(f"on your cpcm due until it is recorded (it was due by {local_text(item.due, amina.zone)} (overdue))"), step


def test_close__goals_met_is_refused_on_a_case_with_no_plan_and_nothing_is_written():
    """Goals met are the plan's goals (IAG §1, Step 6): a case that never had a plan closes for the
    reason that fits it, as a walk closed one for goals_met, whose report then said both that the
    monitoring counted since the plan and that there was none."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    service.followup(amina, case_id, VISIT)
    before = mem.commits()
    with pytest.raises(InvalidInput) as no_plan:
        service.close(amina, case_id, {"reason": "goals_met", "checklist": CHECKLIST, "open_items_explained": "none"})
    [reason] = [e for e in no_plan.value.errors if e.field == "reason"]
    assert "has no plan" in reason.reason and f"cpcm plan {case_id}" in reason.reason
    assert mem.commits() == before
    service.close(amina, case_id, DECLINED)  # the reason that fits is taken
    assert service.load_records(amina, case_id)[-1].kind == "closure"


def test_a_reason_typed_as_the_hint_shows_it_is_no_reason():
    """`next:` lines show a reason's place as '...' (`cpcm approve CASE plan --note ...`); typed as
    shown it was recorded as the self-approval's reason, for good (a decision is not corrected)."""
    from cpcm.domain.text import said

    assert not said("...") and not said(" … ") and not said(None) and said("no other supervisor this month")
    mem = MemoryRepo(rules={"plan_approval": {"self_approval": True}})
    sup = mem.as_("sup")
    case_id = assessed_in(mem, "sup")
    service.plan(sup, case_id, plan_doc())
    before = mem.commits()
    for placeholder in ("...", "…"):
        with pytest.raises(InvalidInput) as refused:
            service.approve(sup, case_id, "plan", note=placeholder)
        assert [e.field for e in refused.value.errors] == ["note"]
    assert mem.commits() == before
    service.approve(sup, case_id, "plan", note="the only supervisor this month")


def test_close__the_cases_own_supervisor_worker_cannot_approve_it():
    mem = MemoryRepo(rules={"plan_approval": {"self_approval": True}})
    sup = mem.as_("sup")
    case_id = planned_in(mem, "sup")  # registered and worked by the supervisor
    service.followup(sup, case_id, VISIT)
    service.close(sup, case_id, {"reason": "goals_met", "checklist": CHECKLIST, "open_items_explained": "none left"})
    with pytest.raises(Refused) as refused:
        service.approve(sup, case_id, "closure")
    assert refused.value.rule == "self-approval" and "own worker" in str(refused.value)


def test_close__check_all_confirms_every_item_of_the_reason_as_refer_and_transfer_take_it():
    """`cpcm close CASE --reason declined --check all` was refused ('holds an item that is not on
    the checklist'), while refer and transfer take --check all."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    with pytest.raises(InvalidInput) as misspelt:  # beside all, a misspelt item is still refused
        service.close(amina, case_id, {"reason": "declined", "checklist": ["all", "child_saf"]})
    assert [e.field for e in misspelt.value.errors] == ["checklist"]
    service.close(amina, case_id, {"reason": "declined", "checklist": ["all"]})
    record = service.load_records(amina, case_id)[-1]
    assert record.kind == "closure" and record.body["checklist"] == ["decision_respected", "no_grounds_to_override",
                                                                     "child_safe_enough"]


def test_close__an_item_that_is_not_a_code_is_named_and_the_items_given_beside_it_are_not_called_missing():
    """`--check error_confirmed --check "told the referrer"`: the form refuses the checklist for the
    item that is not a code; the close said besides that error_confirmed was required, as if not given."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    with pytest.raises(InvalidInput) as refused:
        service.close(amina, case_id, {"reason": "registered_in_error", "checklist": ["error_confirmed", "told the referrer"]})
    assert [e.field for e in refused.value.errors] == ["checklist"], refused.value.errors
    assert "not a code" in refused.value.errors[0].reason


DECLINED = {"reason": "declined", "checklist": ["decision_respected", "no_grounds_to_override", "child_safe_enough"]}


def test_close__the_next_step_names_everyone_the_policy_bars_from_approving():
    mem = MemoryRepo()  # one supervisor: sup; amina and otieno are caseworkers
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina)
    asked_by_sup = service.close(sup, case_id, DECLINED)
    # both barred, and nobody else may: no `cpcm approve` is named; the warning says why and the ways out
    assert asked_by_sup.next_steps == () and "nobody in the team may approve the closure" in asked_by_sup.warnings[0]
    other = mem.register(amina)
    asked_by_amina = service.close(amina, other, DECLINED)
    assert "other than amina (who asked for it and the case's worker) approves it" in asked_by_amina.next_steps[0]
    assert asked_by_amina.warnings == ()  # sup may approve it
    allowed = MemoryRepo(rules={"closure_approval": {"self_approval": True}})
    third = allowed.register(allowed.as_("amina"))
    assert "a supervisor or manager approves it" in service.close(allowed.as_("sup"), third, DECLINED).next_steps[0]


def test_next_step__a_lone_supervisor_allowed_to_self_approve_is_given_the_approve_with_its_note():
    """Where the policy allows self-approval, the next: line after one's own plan, closure or
    transfer request gives `cpcm approve ... --note ...`: without the note, followed as written,
    the approval was refused (note: is required)."""
    from test_transfer import consented_in, transfer_in

    rules = {f"{subject}_approval": {"self_approval": True} for subject in ("plan", "closure", "transfer")}
    mem = MemoryRepo(rules=rules)
    sup = mem.as_("sup")
    case_id = assessed_in(mem, "sup")
    written = service.plan(sup, case_id, plan_doc())
    assert written.next_steps[0].endswith(f"cpcm approve {case_id} plan --note ..."), written.next_steps
    service.approve(sup, case_id, "plan", note="the only supervisor here")
    service.followup(sup, case_id, VISIT)
    closing = service.close(sup, case_id, {"reason": "goals_met", "checklist": CHECKLIST, "open_items_explained": "none left"})
    assert closing.next_steps == (f"closure requested: a supervisor or manager approves it: cpcm approve {case_id} closure --note ...",)
    other = mem.register(sup)
    consented_in(sup, other)
    asked = transfer_in(sup, other)
    assert any(step.endswith(f"cpcm approve {other} transfer --note ...") for step in asked.next_steps), asked.next_steps
    # someone else's request: the one who decides needs no reason, and the line gives none
    amina = mem.as_("amina")
    theirs = assessed_in(mem, "amina")
    assert service.plan(amina, theirs, plan_doc()).next_steps[0].endswith(f"cpcm approve {theirs} plan")


def test_close__the_only_supervisor_asking_is_warned_and_can_withdraw_the_request():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = assessed_in(mem)
    written = service.close(sup, case_id, DECLINED)
    assert len(written.warnings) == 1 and "nobody in the team may approve the closure: you asked for it" in written.warnings[0]
    assert f"cpcm close {case_id} --withdraw --reason" in written.warnings[0] and "closure_approval.self_approval" in written.warnings[0]
    assert written.warnings[0].endswith("allow self-approval with a recorded reason (.cpcm/policy.yaml, put in force with "
                                        "cpcm policy set)")  # the file edited by hand holds on one laptop only
    assert not any("approves it" in step for step in written.next_steps)  # nobody may: no `cpcm approve` is named
    with pytest.raises(Refused) as own:
        service.approve(sup, case_id, "closure")
    assert own.value.rule == "self-approval"
    before = mem.commits()
    with pytest.raises(Refused) as not_hers:  # only the one who asked takes it back
        service.close_withdraw(amina, case_id, "not mine")
    assert not_hers.value.rule == "withdraw-own-only" and "(sup)" in str(not_hers.value)
    with pytest.raises(InvalidInput) as no_reason:
        service.close_withdraw(sup, case_id, " ")
    assert fields(no_reason.value) == {"reason"}
    assert mem.commits() == before  # nothing written
    withdrawn = service.close_withdraw(sup, case_id, "asked for by mistake")
    assert withdrawn.kind == "withdrawal" and "back at stage 'comprehensive_assessment'" in withdrawn.next_steps[0]
    records = service.load_records(sup, case_id)
    closure = next(r for r in records if r.kind == "closure")
    assert (records[-1].kind, dict(records[-1].body)) == ("withdrawal", {"subject": "closure", "target": closure.id,
                                                                        "reason": "asked for by mistake"})
    shown = service.show(amina, case_id)
    assert (shown["stage"], shown["status"]) == ("comprehensive_assessment", "open")
    assert "closure-approval" not in {d["code"] for d in shown["due"]}
    assert "closure-approval" not in {i.code for i in service.due(sup, worker="all") if i.case_id == case_id}
    assert service.check(amina, case_id) == []
    log = {e.record_id: e for e in service.log(amina, case_id)}
    assert (log[withdrawn.record_id].kind, log[withdrawn.record_id].what) == ("withdrawal", "closure")
    with pytest.raises(Refused) as nothing:  # nothing waits now
        service.close_withdraw(sup, case_id, "again")
    assert nothing.value.rule == "nothing-to-approve"
    with pytest.raises(Refused):
        service.approve(sup, case_id, "closure")
    # the case goes on: a new request, by its worker this time, is the supervisor's to decide
    service.close(amina, case_id, DECLINED)
    service.approve(sup, case_id, "closure")
    assert service.show(amina, case_id)["status"] == "closed"


def test_reopen__restarts_the_clocks_and_keeps_the_history():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina, at="2026-09-01T09:00:00+03:00")
    service.close(amina, case_id, {"reason": "registered_in_error", "checklist": ["error_confirmed"]})
    service.approve(sup, case_id, "closure")
    before = service.load_records(amina, case_id)
    with pytest.raises(InvalidInput):
        service.reopen(amina, case_id, " ")
    service.reopen(amina, case_id, "new report from the school")
    shown = service.show(amina, case_id)
    assert shown["status"] == "open" and shown["stage"] == "reopened"
    item = next(d for d in shown["due"] if d["code"] == "initial-assessment")
    assert item["due"].startswith("2026-11-25")  # 48 h from the reopening (the repository's now)
    after = service.load_records(amina, case_id)
    assert after[:len(before)] == before and after[-1].kind == "reopen"


@pytest.mark.parametrize("risk, says, due", [
    ("immediate", "the clocks restart: initial assessment the same day (immediate risk; IAG §3 Step 2 [L803-807])",
     "2026-11-24T00:00"),  # that day
    ("medium", "the clocks restart: initial assessment within 48 hours (IAG §3 Step 2 [L796])",
     "2026-11-25T09:00"),  # initial_assessment.limit
])
def test_reopen__says_when_the_initial_assessment_is_due_as_the_due_list_has_it(risk, says, due):
    """A risk the policy wants answered the same day (risk_response: immediate) makes the reopened case's initial
    assessment due that day (deadlines.initial_assessment_due): `reopen` says so, not the usual 48 hours."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina, at="2026-09-01T09:00:00+03:00", risk=risk)
    service.close(amina, case_id, {"reason": "registered_in_error", "checklist": ["error_confirmed"]})
    service.approve(sup, case_id, "closure")
    reopened = service.reopen(amina, case_id, "new report from the school")  # the repository's now: 2026-11-23 09:00
    assert reopened.next_steps[0] == says  # then: assess again and a new plan (reason after_reopening)
    item = next(d for d in service.show(amina, case_id)["due"] if d["code"] == "initial-assessment")
    assert item["due"].startswith(due)


def test_reopen__a_case_whose_worker_left_the_team_says_to_assign_it(cli_as):
    """otieno closed his case and left the team; the supervisor reopens it. The case is nobody's, its clocks running
    (`case-worker-removed`, rules.unattended): a `next:` line says so and how it is assigned, in the words of `cpcm
    check` (docs/team.md: reopened and then assigned), and --json carries it among its next steps. A case whose
    worker is on the team is reopened with no such line."""
    otieno, amina, sup = cli_as("otieno"), cli_as("amina"), cli_as("sup")
    case_id = register(otieno)
    assert otieno("close", case_id, "--reason", "declined", "--check", "all").code == 0
    assert sup("approve", case_id, "closure").code == 0
    assert sup("team", "remove", "otieno").code == 0
    reopened = sup("reopen", case_id, "--reason", "new report from the school")
    assert reopened.code == 0, reopened.stderr
    nobody = (f"its worker (otieno) is no longer on the team, and nobody has the case: assign it to another worker "
              f"(cpcm assign {case_id} --worker OTHER), or every open case of otieno at once (cpcm assign --from-worker "
              "otieno --worker OTHER)")
    lines = [line for line in reopened.stderr.splitlines() if line.startswith("next: ")]
    assert lines[0].startswith("next: the clocks restart") and lines[1] == f"next: {nobody}" and len(lines) == 3, lines
    check = [p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "case-worker-removed"]
    assert check == [nobody]  # the one rule, in one wording
    assert sup("assign", case_id, "--worker", "amina").code == 0  # what it says works
    assert "case-worker-removed" not in [p["code"] for p in json.loads(sup("check", case_id, "--json").stdout)]
    # --json, and a case whose worker is on the team
    assert amina("close", case_id, "--reason", "declined", "--check", "all").code == 0
    assert sup("approve", case_id, "closure").code == 0
    again = sup("reopen", case_id, "--reason", "the school calls again", "--json")
    assert again.code == 0, again.stderr
    assert len(again.json()["next_steps"]) == 2 and not any("nobody" in s for s in again.json()["next_steps"])
    assert amina("close", case_id, "--reason", "declined", "--check", "all").code == 0
    assert sup("approve", case_id, "closure").code == 0
    assert sup("team", "remove", "amina").code == 0
    gone = sup("reopen", case_id, "--reason", "a third report", "--json")
    assert gone.code == 0, gone.stderr
    assert gone.json()["next_steps"][1] == nobody.replace("otieno", "amina"), gone.json()["next_steps"]


LATE = "2026-11-23T22:30:00+03:00"  # 19:30 UTC: the agency's day ends in 90 minutes, the UTC day in 4.5 hours


@pytest.mark.parametrize("rule_zone, same_day", [(None, True), ("utc", False)])
def test_register_and_reopen__count_the_initial_assessment_from_the_agencys_day_by_the_one_rule(monkeypatch, rule_zone, same_day):
    """What `register` and `reopen` say comes next counts the initial assessment from the registration's or the
    reopening's time in the agency's zone, as `due` lists it: through `deadlines.counted_from`, the rule `limit_end`
    reads. Late in the evening under a 2-hour limit, an immediate risk's same day (midnight in Nairobi, 90 minutes
    on) comes first; counted in UTC (the rule changed, here only), midnight would come after the 2 hours."""
    from datetime import timezone

    from cpcm.workflow import deadlines

    if rule_zone == "utc":
        monkeypatch.setattr(deadlines, "counted_from", lambda start, zone: start.astimezone(timezone.utc))
    mem = MemoryRepo(rules={"initial_assessment": {"limit": "2h", "target": "1h"}}, now=datetime.fromisoformat(LATE))
    amina, sup = mem.as_("amina"), mem.as_("sup")
    registered = service.register(amina, json.loads(json.dumps(registration_doc(risk="immediate"))))
    said = " ".join(registered.next_steps)
    assert ("the initial assessment is due the same day" in said) is same_day, said
    assert ("the initial assessment within 2 hours" in said) is not same_day, said
    if rule_zone is None:  # as `due` lists it: the agency's midnight, before the 2 hours end
        item = next(d for d in service.show(amina, registered.subject_id)["due"] if d["code"] == "initial-assessment")
        assert item["due"].startswith("2026-11-24T00:00"), item
    case_id = mem.register(amina, at="2026-09-01T09:00:00+03:00", risk="immediate")
    service.close(amina, case_id, {"reason": "registered_in_error", "checklist": ["error_confirmed"]})
    service.approve(sup, case_id, "closure")
    reopened = service.reopen(amina, case_id, "new report from the school")  # at 22:30 in Nairobi
    assert reopened.next_steps[0] == ("the clocks restart: initial assessment the same day (immediate risk; IAG §3 Step 2 [L803-807])"
                                      if same_day else  # the limit changed here: this agency's setting, with its source
                                      "the clocks restart: initial assessment within 2 hours (this agency's setting; IAG §3 Step 2 [L796])")
    if rule_zone is None:
        item = next(d for d in service.show(amina, case_id)["due"] if d["code"] == "initial-assessment")
        assert item["due"].startswith("2026-11-24T00:00"), item


def test_reached_18__the_due_list_proposes_closure_and_a_justification_keeps_it_open():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina, child={"name": "x", "sex": "male", "date_of_birth": "2009-01-15"})
    item = next(i for i in service.due(amina, within_days=90) if i.code == "turning-18")
    assert item.case_id == case_id and "reached_18" in item.title
    with pytest.raises(InvalidInput):
        service.continue_(amina, case_id, "")
    service.continue_(amina, case_id, "finishing school; no family")
    assert "turning-18" not in {i.code for i in service.due(amina, within_days=90)}


def test_reached_18__registering_a_child_within_the_notice_says_so_at_once():
    """`cpcm due` lists the turning-18 item only in its last days (due_soon.within: 7 days), though
    it is open from 90 days before (turning_18.notice): a child registered 53 days before their 18th
    birthday was on no default list until a week before it. The registration's next: lines say it,
    with the date, the two answers and the rule; not for a younger child."""
    mem = MemoryRepo()
    amina = mem.as_("amina")  # 2026-11-23 09:00 +03:00
    data = json.loads(json.dumps(registration_doc(child={"name": "x", "sex": "male", "date_of_birth": "2009-01-15"})))
    written = service.register(amina, data)
    case_id = written.subject_id
    assert "turning-18" not in {i.code for i in service.due(amina) if i.case_id == case_id}
    [said] = [s for s in written.next_steps if "turns 18" in s]
    assert said == (f"the child turns 18 on 2027-01-15 (in 53 days): propose closure from that day (cpcm close {case_id} --reason reached_18 ...) "
                    f"or record why the case stays open (cpcm continue {case_id} --justification ...) (cpcm's choice; IAG §1 and Step 6 [L939]); "
                    "cpcm due lists it from 7 days before"), said
    young = service.register(amina, json.loads(json.dumps(registration_doc(child={"name": "y", "sex": "male", "age_estimate": 12}))))
    assert not [s for s in young.next_steps if "turns 18" in s]
    assert not [w for w in young.warnings if "or older" in w]


def test_registering_a_young_person_already_18_warns_and_says_the_birthday_passed(cli):
    """A date of birth that makes the child 18 or more on the day registered (2003 typed for 2013): exit 0 with no
    warning, and the next step said the child 'turns 18 on 2021-05-04 (in 0 days)'. Now a warning says so (and how to
    correct the date or keep the case open), on a terminal and in --json, naming no age or date of birth; the next step
    says the birthday passed; a child of 17 gets neither."""
    from conftest import CANARY, registration

    adult = registration(child={"name": CANARY, "sex": "female", "date_of_birth": "2003-05-04"})
    done = cli("register", "--from-file", "-", "--json", input=json.dumps(adult))
    assert done.code == 0, done.stderr
    case_id = done.json()["case_id"]
    [warned] = done.json()["warnings"]
    assert warned.startswith(f"by the date of birth (or age) given, the child of {case_id} was 18 or older on the day "
                             "registered") and f"cpcm update {case_id} --dob YYYY-MM-DD" in warned, warned
    assert "2003" not in warned and CANARY not in done.stderr
    [step] = [s for s in done.json()["next_steps"] if "reached_18" in s]
    assert step.startswith("the child turned 18 on 2021-05-04, before this registration: propose closure now") \
        and step.endswith("it is on cpcm due now"), step
    shown = cli("register", "--from-file", "-", input=json.dumps(adult))
    assert shown.code == 0 and "warning: by the date of birth (or age) given" in shown.stderr
    late = registration(child={"name": "z", "sex": "female", "date_of_birth": "2008-06-01"})  # 18 since 2026-06-01
    back = cli("register", "--from-file", "-", "--json", "--at", "2026-03-02", input=json.dumps(late))  # 17 that day
    assert back.code == 0 and not [w for w in back.json()["warnings"] if "or older" in w], back.stdout
    [step] = [s for s in back.json()["next_steps"] if "reached_18" in s]
    assert step.startswith("the child turned 18 on 2026-06-01: propose closure now"), step
    young = registration(child={"name": "y", "sex": "female", "date_of_birth": "2009-01-15"})  # 17 on 2026-11-23
    seventeen = cli("register", "--from-file", "-", "--json", input=json.dumps(young))
    assert seventeen.code == 0 and not [w for w in seventeen.json()["warnings"] if "or older" in w]


REACHED_18 = {"reason": "reached_18", "checklist": ["all"]}


@pytest.mark.parametrize("steps, listed", [
    ((), True),                                        # neither: listed, overdue after the birthday
    (("continue",), False),                            # a justification to continue
    (("close",), False),                               # the closure proposed: the request answers it while it waits
    (("close", "approve"), False),                     # and approved: the case is closed
    (("close", "approve", "reopen"), False),           # the closure met it: a reopening does not ask again
    (("close", "reject"), True),                       # a rejected proposal does not meet it
    (("close", "withdraw"), True),                     # nor a withdrawn one
])
def test_reached_18__a_closure_proposed_or_a_continuation_meets_the_turning_18_item(steps, listed):
    """IAG §1 and Step 6 [L939]; docs/workflow.md#age-18-closing-or-continuing: the turning-18 item is met by
    the closure (proposed, then approved) or by a recorded justification, in `due` and in `cpcm check`. The steps
    are taken on the 18th birthday, the item's due day: a closure for reached_18 dated before it is refused
    (tests/test_closure_reached_18.py)."""
    mem = MemoryRepo()
    case_id = mem.register(mem.as_("amina"), child={"name": "x", "sex": "male", "date_of_birth": "2009-01-15"})
    now = datetime(2027, 1, 15, 9, 0, tzinfo=mem.now.tzinfo)
    for step in steps:
        now += timedelta(hours=1)
        amina, sup = mem.as_("amina", now=now), mem.as_("sup", now=now)
        {"continue": lambda: service.continue_(amina, case_id, "finishing school; no family"),
         "close": lambda: service.close(amina, case_id, REACHED_18),
         "approve": lambda: service.approve(sup, case_id, "closure"),
         "reject": lambda: service.reject(sup, case_id, "closure", "not yet"),
         "withdraw": lambda: service.close_withdraw(amina, case_id, "asked for too early"),
         "reopen": lambda: service.reopen(amina, case_id, "the risk has increased")}[step]()
    later = mem.as_("sup", now=datetime(2027, 2, 1, 9, 0, tzinfo=now.tzinfo))  # after the 18th birthday
    items = [i for i in service.due(later, worker="all", case=service.load_case(later, case_id)) if i.code == "turning-18"]
    problems = {p.code for p in service.check(later, case_id)}
    assert bool(items) is listed and ("turning-18-overdue" in problems) is listed
    # the open case with no justification: not while the closure proposed waits, nor once closed; again after a reopening
    assert ("reached-18-without-justification" in problems) is (listed or steps[-1:] == ("reopen",))
    if listed:
        assert items[0].state(later.now, timedelta(0)) == "overdue"


def test_continue__recorded_before_the_turning_18_item_opens_warns_that_it_does_not_answer_it():
    """followup-close.md: a justification clears the turning-18 item only when recorded once the item
    opens (its notice before the birthday). Recorded earlier, `continue` said only "stays open" and the
    item came back overdue after the birthday; now it warns, naming the day the item opens (not the
    child's date of birth), and one recorded from that day on is not warned of."""
    mem = MemoryRepo()
    amina = mem.as_("amina")  # 2026-11-23 09:00 +03:00
    case_id = mem.register(amina, child={"name": "x", "sex": "male", "date_of_birth": "2009-03-31"})  # 18 on 2027-03-31
    early = service.continue_(amina, case_id, "still in school")
    assert early.warnings == (f"{case_id}: this justification is recorded before the turning-18 item opens on 2026-12-31, so it "
                              f"does not answer it: record it again from then (cpcm continue {case_id} --justification ...)",)
    after = mem.as_("sup", now=datetime(2027, 4, 1, 9, 0, tzinfo=mem.now.tzinfo))
    assert "turning-18-overdue" in {p.code for p in service.check(after, case_id)}  # as the warning said
    on_time = mem.as_("amina", now=datetime(2026, 12, 31, 0, 0, tzinfo=mem.now.tzinfo))
    assert service.continue_(on_time, case_id, "still in school").warnings == ()
    assert "turning-18-overdue" not in {p.code for p in service.check(after, case_id)}


# -- end to end: the CLI, git and age --------------------------------------------------------------
def test_cli__followup_close_approve_exit_codes_and_one_commit_each(cli, cli_as, repo):
    case_id = planned(cli, cli_as)
    before = commits(repo)
    refused = cli("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--visited-by", "professional",
                  "--risk-increased", "no")
    assert refused.code == 4 and "purpose_detail" in refused.stderr and commits(repo) == before
    visited = visit(cli, case_id, "--json")
    assert visited.code == 0 and visited.json()["kind"] == "followup" and commits(repo) == before + 1
    missing = cli("close", case_id, "--reason", "goals_met", "--check", "child_safe")
    assert missing.code == 4 and "checklist.no_further_concerns" in missing.stderr
    closed = cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "done by the family", "--json")
    assert closed.code == 0, closed.stderr
    assert closed.json()["kind"] == "closure" and commits(repo) == before + 2
    assert cli("approve", case_id, "closure").code == 4  # a caseworker cannot approve
    assert cli_as("sup")("approve", case_id, "closure").code == 0 and commits(repo) == before + 3
    assert cli("show", case_id, "--json").json()["status"] == "closed"


def _planned_cases(repo: Path, identity: Path, count: int) -> list[str]:
    """Many planned cases in the casefile repository on disk, in one commit, written at the time
    the CLI's commands run (NOW): a later clock would register them after the reviews' time."""
    from datetime import datetime

    from conftest import NOW

    return planned_cases(service.open_repo(repo, identity, now=datetime.fromisoformat(NOW)), count)


def test_cli__review_batch_in_one_commit(cli, repo, team, tmp_path):
    ids = _planned_cases(repo, team["amina"][0], 8)
    rows = [dict(REVIEW, case=case_id) for case_id in ids]
    path = tmp_path / "reviews.yaml"
    path.write_text(json.dumps(rows))
    before = commits(repo)
    dry = cli("review", "--batch", str(path), "--dry-run", "--json")
    assert dry.code == 0 and dry.json()["checked"] == 8 and commits(repo) == before
    result = cli("review", "--batch", str(path), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["reviewed"] == 8
    assert commits(repo) == before + 1
    message = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert message == "review batch 8 cases"
    assert cli("show", ids[7], "--json").json()["stage"] == "implementation"


def test_cli__review_batch_csv_rows_are_numbered_as_a_spreadsheet_shows_them_blank_lines_too(cli, repo, team, tmp_path):
    """A blank line in a CSV batch takes a row of a spreadsheet: the bad row after it is named by
    the number the spreadsheet shows (was: one less, the number of the row before it). A row of
    empty cells, which a spreadsheet shows blank and saves as commas, is a blank row too (was:
    'case: is missing' for each, and the batch refused)."""
    ids = _planned_cases(repo, team["amina"][0], 2)
    path = tmp_path / "reviews.csv"
    path.write_text("case,chair,attended.child,attended.family,plan_still_right,decisions,outcome\n"
                    f"{ids[0]},sup,yes,yes,yes,continue,continue\n\n"
                    f"{ids[1]},sup,yes,yes,maybe,continue,continue\n")
    result = cli("review", "--batch", str(path), "--dry-run", "--json")
    assert result.code == 4, result.stdout
    assert [f["field"] for f in result.json()["fields"]] == ["row 4: plan_still_right"]
    path.write_text("case,chair,attended.child,attended.family,plan_still_right,decisions,outcome\r\n"
                    + "".join(f"{case_id},sup,yes,yes,yes,continue,continue\r\n" for case_id in ids) + ",,,,,,\r\n" * 3)
    cleared = cli("review", "--batch", str(path), "--dry-run", "--json")
    assert cleared.code == 0, cleared.stdout
    assert cleared.json()["checked"] == 2


def test_cli__review_batch_warns_of_a_clock_behind_the_cases_as_one_review_does(cli, repo, team, tmp_path):
    """A batch is dated now: where the clock ($CPCM_NOW in a script) is earlier than a case's
    latest record, each such case is named in a warning, on standard error and in `warnings`,
    as `cpcm review CASE` warns (was: the batch wrote its reviews before them without a word). The
    cases are registered before that clock (a clock before a registration is refused: test_time_cover)."""
    from conftest import Cli

    ids = planned_cases(library_session(Cli({**cli.env, "CPCM_NOW": "2026-11-23T07:00:00+03:00"})), 2)
    for case_id in ids:
        assert cli("note", case_id, "--text", "a call").code == 0  # the latest record: at NOW
    path = tmp_path / "reviews.yaml"
    path.write_text(json.dumps([dict(REVIEW, case=case_id) for case_id in ids]))
    on_time = cli("review", "--batch", str(path), "--dry-run", "--json")
    assert on_time.code == 0 and on_time.json()["warnings"] == [] and on_time.stderr == ""
    earlier = {"CPCM_NOW": "2026-11-23T08:00:00+03:00"}  # an hour before the cases' latest records
    for extra in (["--dry-run"], []):
        result = cli("review", "--batch", str(path), *extra, "--json", env=earlier)
        assert result.code == 0, result.stderr
        warnings = result.json()["warnings"]
        assert [case_id for case_id in ids if any(case_id in w and "is earlier than the latest record" in w for w in warnings)] == ids
        assert all(w in result.stderr for w in warnings)
    single = cli("review", ids[0], "--from-file", "-", "--json", input=json.dumps(REVIEW), env=earlier)
    assert single.code == 0 and any("is earlier than the latest record" in w for w in single.stderr.splitlines())


def test_cli__an_empty_review_batch_says_what_a_row_holds(cli, repo, team, tmp_path):
    """A CSV batch of its heading row alone (or blank rows): refused, with what a row holds (was:
    'Correct the fields named above', where no field was named)."""
    path = tmp_path / "reviews.csv"
    path.write_text("case,chair,attended.child,attended.family,plan_still_right,decisions,outcome\n,,,,,,\n")
    result = cli("review", "--batch", str(path), "--json")
    assert result.code == 4
    assert result.json()["fields"] == [{"field": "rows", "reason": "the batch holds no rows"}]
    assert "cpcm form blank review" in result.json()["hint"] and "fields named above" not in result.stderr


def test_cli__a_yaml_batch_row_that_is_not_a_mapping_is_named(cli, repo, team, tmp_path):
    """A YAML batch with a row that is not one case's review as key: value names that row (was:
    only 'a batch is a YAML list of mappings'); one review given alone, not as a list item, is
    told how to make it one."""
    ids = _planned_cases(repo, team["amina"][0], 1)
    path = tmp_path / "reviews.yaml"
    path.write_text(json.dumps([dict(REVIEW, case=ids[0]), ids[0], dict(REVIEW, case=ids[0]), 3]))
    result = cli("review", "--batch", str(path), "--dry-run", "--json")
    assert result.code == 2
    assert result.json()["message"].startswith("--batch: rows 2, 4 are not mappings")
    path.write_text(json.dumps([dict(REVIEW, case=ids[0]), "x"]))
    assert cli("review", "--batch", str(path), "--dry-run").stderr.startswith("error: --batch: row 2 is not a mapping")
    path.write_text(json.dumps(dict(REVIEW, case=ids[0])))
    single = cli("review", "--batch", str(path), "--dry-run", "--json")
    assert single.code == 2 and "this one is a single mapping" in single.json()["message"]
    assert "'- '" in single.json()["hint"]


def test_cli__review_batch_dry_run_takes_no_lock(cli, repo, team, tmp_path):
    """Another command holds the lock (it writes): a dry run of a batch checks its rows all the
    same, as every command that only reads; the batch itself waits for the lock to write."""
    from conftest import lock_held

    ids = _planned_cases(repo, team["amina"][0], 2)
    path = tmp_path / "reviews.yaml"
    path.write_text(json.dumps([dict(REVIEW, case=case_id) for case_id in ids]))
    before = commits(repo)
    with lock_held(repo):
        checked = cli("review", "--batch", str(path), "--dry-run", "--json", env={"CPCM_LOCK_TIMEOUT": "1"})
        busy = cli("review", "--batch", str(path), "--json", env={"CPCM_LOCK_TIMEOUT": "1"})
    assert checked.code == 0, checked.stderr
    assert checked.json()["checked"] == 2 and checked.json()["reviewed"] == 0
    assert busy.code == 6 and busy.json()["error"] == "Busy"
    assert commits(repo) == before


def test_cli__review_batch_json_on_a_terminal_is_json_and_the_progress_bar_goes_to_stderr(cli, repo, team, tmp_path):
    """A script run from a terminal with its messages sent to a file (`2> log`): standard output,
    the terminal, holds the JSON alone; the progress bar is drawn where messages go, and not at
    all when that is not a terminal (was: drawn on standard output, before the JSON)."""
    import os
    import sys

    from conftest import on_terminal

    ids = planned_cases(library_session(cli), 2)
    path = tmp_path / "reviews.yaml"
    path.write_text(json.dumps([dict(REVIEW, case=case_id) for case_id in ids]))
    env = {**os.environ, **cli.env, "TERM": "xterm"}
    with open(tmp_path / "messages", "wb") as messages:
        screen, code = on_terminal([sys.executable, "-m", "cpcm", "review", "--batch", str(path), "--dry-run", "--json"], env,
                                   stderr=messages)
    assert code == 0
    screen = screen.decode().replace("\r\n", "\n")
    assert "\x1b" not in screen
    assert json.loads(screen)["checked"] == 2
    assert (tmp_path / "messages").read_bytes() == b""


def test_cli__an_option_a_batch_would_drop_and_a_dry_run_of_one_review_are_refused(cli, repo, team, tmp_path):
    ids = _planned_cases(repo, team["amina"][0], 2)
    path = tmp_path / "reviews.yaml"
    path.write_text(json.dumps([dict(REVIEW, case=case_id) for case_id in ids]))
    before = commits(repo)
    for extra in (["--at", "2026-01-01"], [ids[0]], ["--outcome", "bogus", "--dry-run"], ["--set", "outcome=close"]):
        refused = cli("review", "--batch", str(path), *extra, "--json")
        assert refused.code == 2 and "not with --batch" in refused.json()["message"], (extra, refused.stdout)
    one = tmp_path / "one.yaml"
    one.write_text(json.dumps(REVIEW))
    dry = cli("review", ids[0], "--from-file", str(one), "--dry-run")
    assert dry.code == 2 and "--dry-run goes with --batch" in dry.stderr
    assert commits(repo) == before


def test_cli__review_batch_csv_headings_in_capitals_are_read_and_unknown_columns_named_by_number(cli, repo, team, tmp_path):
    ids = _planned_cases(repo, team["amina"][0], 2)
    good = tmp_path / "good.csv"
    good.write_text("CASE,Chair,Attended.Child,Attended.Family,Plan_Still_Right,Decisions,Outcome\n"
                    + "".join(f"{case_id},sup,yes,yes,yes,continue the plan,continue\n" for case_id in ids))
    done = cli("review", "--batch", str(good), "--dry-run", "--json")
    assert done.code == 0 and done.json()["checked"] == 2, done.stdout
    before = commits(repo)
    odd = tmp_path / "odd.csv"
    odd.write_text("case,chair,attended.child,attended.family,plan_still_right,decisions,outcome,Zawadi Canarymwangi,attended.chld\n"
                   + "".join(f"{case_id},sup,yes,yes,yes,continue,continue,x,yes\n" for case_id in ids))
    refused = cli("review", "--batch", str(odd), "--json")
    assert refused.code == 4, refused.stdout
    assert [f["field"] for f in refused.json()["fields"]] == ["column 8", "column 9 (attended.chld)"]
    assert "Canarymwangi" not in refused.stdout + refused.stderr and "did you mean 'attended.child'" in refused.stdout
    semi = tmp_path / "semi.csv"
    semi.write_text("case;chair;outcome\n" + "".join(f"{case_id};sup;continue\n" for case_id in ids))
    separated = cli("review", "--batch", str(semi))
    assert separated.code == 2 and "separated by ';'" in separated.stderr
    assert commits(repo) == before


def test_cli__review_batch_csv_takes_progress_in_one_cell(cli, repo, team, tmp_path):
    """A review's progress (what closure counts as finished) can be given in a CSV batch:
    `ITEM=STATUS: note` entries separated by ';' (was: refused, "must be a list of entries (each
    starting with '- ')", which no CSV cell can be). An entry with no status is named."""
    ids = _planned_cases(repo, team["amina"][0], 2)
    path = tmp_path / "reviews.csv"
    heading = "case,chair,attended.child,attended.family,plan_still_right,decisions,outcome,progress\n"
    path.write_text(heading + f"{ids[0]},sup,yes,yes,yes,continue,continue,A1=done: enrolled; G1 in_progress\n"
                    + f"{ids[1]},sup,yes,yes,yes,continue,continue,A1\n")
    refused = cli("review", "--batch", str(path), "--dry-run", "--json")
    assert refused.code == 4, refused.stdout
    assert [f["field"] for f in refused.json()["fields"]] == ["row 3: progress[1].status"], refused.stdout
    path.write_text(heading + f"{ids[0]},sup,yes,yes,yes,continue,continue,A1=done: enrolled; G1 in_progress\n")
    result = cli("review", "--batch", str(path))
    assert result.code == 0, result.stderr
    shown = cli("show", ids[0], "review", "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["fields"]["progress"] == [{"item": "A1", "status": "done", "note": "enrolled"},
                                                   {"item": "G1", "status": "in_progress"}], shown.stdout


def test_cli__review_batch_csv_progress_status_of_two_words_is_read_as_the_yaml_form_reads_it(cli, repo, team, tmp_path):
    """`G1=in progress` in a CSV progress cell: the status as a person types it, which the review
    form takes in YAML (`status: in progress`, as `in_progress`). The cell kept the whole entry as
    the item and refused the row for an item "longer than 10 characters" with no status: the
    wrong field and the wrong reason. A status that is no status is named as such."""
    ids = _planned_cases(repo, team["amina"][0], 2)
    path = tmp_path / "reviews.csv"
    heading = "case,chair,attended.child,attended.family,plan_still_right,decisions,outcome,progress\n"
    path.write_text(heading + f"{ids[0]},sup,yes,yes,yes,continue,continue,A1=done: enrolled; G1=in progress\n"
                    + f"{ids[1]},sup,yes,yes,yes,continue,continue,G1=In Progress: fees paid at 10:30; A1=half done\n")
    before = commits(repo)
    refused = cli("review", "--batch", str(path), "--json")
    assert refused.code == 4 and commits(repo) == before, refused.stdout
    (field,) = refused.json()["fields"]
    assert field["field"] == "row 3: progress[2].status" and field["reason"].startswith("is not one of: done, in_progress"), field
    path.write_text(heading + f"{ids[0]},sup,yes,yes,yes,continue,continue,A1=done: enrolled; G1=in progress\n"
                    + f"{ids[1]},sup,yes,yes,yes,continue,continue,G1=In Progress: fees paid at 10:30\n")
    result = cli("review", "--batch", str(path))
    assert result.code == 0 and commits(repo) == before + 1, result.stderr
    assert cli("show", ids[0], "review", "--json").json()["fields"]["progress"] == [
        {"item": "A1", "status": "done", "note": "enrolled"}, {"item": "G1", "status": "in_progress"}]
    assert cli("show", ids[1], "review", "--json").json()["fields"]["progress"] == [
        {"item": "G1", "status": "in_progress", "note": "fees paid at 10:30"}]


def test_cli__review_batch_csv_three_bad_rows_write_nothing_and_are_all_reported(cli, repo, team, tmp_path):
    ids = _planned_cases(repo, team["amina"][0], 5)
    path = tmp_path / "reviews.csv"
    lines = ["case,chair,attended.child,attended.family,plan_still_right,decisions,outcome"]
    lines += [f"{i},sup,yes,yes,yes,continue;visit monthly,continue" for i in ids[:2]]
    lines.append(f"{ids[2]},sup,no,yes,yes,continue,continue")          # absent child, no reason
    lines.append(f"{ids[3]},sup,yes,yes,maybe,continue,continue")       # bad choice
    lines.append("CP-0000-0000,sup,yes,yes,yes,continue,continue")     # not a case ID
    path.write_text("\n".join(lines) + "\n")
    before = commits(repo)
    result = cli("review", "--batch", str(path))
    assert result.code == 4
    for row in ("row 4", "row 5", "row 6"):  # as a spreadsheet numbers them: the header is row 1
        assert row in result.stderr
    assert "row 2" not in result.stderr and "row 3" not in result.stderr
    assert commits(repo) == before


def test_cli__review_batch_csv_row_with_more_cells_than_headings_is_refused(cli, repo, team, tmp_path):
    """A decision typed with a ',' and no quotes shifts the cells after it past the last heading:
    the batch is refused, naming each such row and its number of cells, never a cell's text, and
    nothing is written (was: the cells past the headings were left out unread, and the review
    written without them, exit 0). Empty cells past the headings, as a spreadsheet may save, are
    no problem."""
    ids = _planned_cases(repo, team["amina"][0], 3)
    path = tmp_path / "reviews.csv"
    header = "case,chair,attended.child,attended.family,plan_still_right,decisions,outcome"
    path.write_text(f"{header}\n{ids[0]},sup,yes,yes,yes,continue,continue\n"
                    f"{ids[1]},sup,yes,yes,yes,keep the plan,continue,Zqxcanary visit\n"
                    f"{ids[2]},sup,yes,yes,yes,continue,continue,,\n")
    before = commits(repo)
    for extra in (["--dry-run"], []):
        result = cli("review", "--batch", str(path), *extra, "--json")
        assert result.code == 2, result.stdout
        assert result.json()["error"] == "UsageError"
        assert "row 3 (8 cells)" in result.stderr and "7 headings" in result.stderr
        assert "row 4" not in result.stderr and "Zqxcanary" not in result.stderr + result.stdout
    assert commits(repo) == before
    path.write_text(f"{header}\n{ids[0]},sup,yes,yes,yes,continue,continue\n{ids[2]},sup,yes,yes,yes,continue,continue,,\n")
    assert cli("review", "--batch", str(path), "--dry-run", "--json").json()["checked"] == 2


def test_cli__review_batch_csv_a_heading_twice_or_a_cell_under_a_blank_heading_is_refused(cli, repo, team, tmp_path):
    """Two columns under one heading (`decisions` and `Decisions`: headings are read in any case)
    or a cell that holds something under a blank heading: the batch is refused, naming the
    columns (and rows), never a cell's text, and nothing is written (was: the first of the two
    columns, or the cell under no heading, was left out unread and the review written without
    it, exit 0). A blank heading over empty cells, as a spreadsheet may save, is no problem."""
    ids = _planned_cases(repo, team["amina"][0], 1)
    path = tmp_path / "reviews.csv"
    before = commits(repo)
    for text, said in (
            ("case,chair,attended.child,attended.family,plan_still_right,decisions,outcome,Decisions\n"
             f"{ids[0]},sup,yes,yes,yes,Zqxcanary visit,continue,keep the plan\n", "column 8 has the heading of column 6"),
            ("case,chair,attended.child,attended.family,plan_still_right,,decisions,outcome\n"
             f"{ids[0]},sup,yes,yes,yes,Zqxcanary visit,keep the plan,continue\n", "row 2, column 6")):
        path.write_text(text)
        for extra in (["--dry-run"], []):
            result = cli("review", "--batch", str(path), *extra, "--json")
            assert result.code == 2 and result.json()["error"] == "UsageError", result.stdout
            assert said in result.stderr and "Zqxcanary" not in result.stderr + result.stdout, result.stderr
    assert commits(repo) == before
    path.write_text("case,chair,attended.child,attended.family,plan_still_right,,decisions,outcome,\n"
                    f"{ids[0]},sup,yes,yes,yes,,keep the plan,continue,\n")
    assert cli("review", "--batch", str(path), "--dry-run", "--json").json()["checked"] == 1


def test_approve__the_cases_own_worker_deciding_a_closure_another_asked_for_is_told_whose_request_it_is():
    """Where the policy allows self-approval, the case's own worker (a supervisor) deciding a
    closure a manager asked for gives the reason it needs, and is told it is the closure of their
    own case that the manager asked for, not 'your own closure'."""
    from pyrage import x25519

    from cpcm.crypto.identity import Identity
    from cpcm.domain.team import Team, Worker

    mem = MemoryRepo(rules={"closure_approval": {"self_approval": True}})
    mem.identities["mgr"] = Identity(keys=(x25519.Identity.generate(),), path="(in memory)")
    mem.team = Team((*mem.team.workers, Worker(id="mgr", name="mgr", roles=("manager",), recipient=mem.identities["mgr"].recipient,
                                               since="2026-01-01T00:00:00+03:00")))
    sup = mem.as_("sup")
    case_id = mem.register(sup)
    service.close(mem.as_("mgr"), case_id, DECLINED)
    with pytest.raises(InvalidInput) as unexplained:
        service.approve(sup, case_id, "closure")
    [error] = unexplained.value.errors
    assert error.field == "note" and error.reason.startswith(
        "is required: you are deciding the closure of your own case (mgr asked for it), which the policy "
        "(closure_approval.self_approval) allows with a reason"), error.reason
    service.approve(sup, case_id, "closure", note="the manager asked; I am the only supervisor")
    assert service.load_records(sup, case_id)[-1].body["self_approval"] is True


def test_close__asks_about_the_actions_of_the_version_in_force_after_an_older_version_was_corrected():
    """A correction of plan version 1, written after version 2, is the highest record ID of the
    plans: closing read its actions (all done) instead of version 2's, recorded "open items:
    none" and the closure report said every action was finished, while `show` listed one open."""
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = planned_in(mem)
    service.plan_revise(amina, case_id, "review", {"actions": {"new": {"what": "Buy a uniform", "who": "caseworker",
                                                                       "by": "2027-02-20", "mode": "direct", "goal": "G1"}}})
    service.approve(sup, case_id, "plan")
    corrected = service.correct(amina, case_id, "plan@1", {"notes": "typed on the day"}, "note added")
    assert any("not the plan in force" in w for w in corrected.warnings)
    service.followup(amina, case_id, VISIT, done=["A1", "A2"])
    assert [a["item"] for a in service.show(amina, case_id)["open_actions"]] == ["A3"]
    before = mem.commits()
    with pytest.raises(InvalidInput) as unexplained:
        service.close(amina, case_id, {"reason": "goals_met", "checklist": CHECKLIST})
    assert fields(unexplained.value) == {"open_items_explained"} and "(action A3)" in str(unexplained.value)
    assert mem.commits() == before
    service.close(amina, case_id, {"reason": "goals_met", "checklist": CHECKLIST, "open_items_explained": "the family buys it"})
    assert service.load_records(amina, case_id)[-1].body["open_items"]["actions"] == ["A3"]
