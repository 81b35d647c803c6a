"""A case review that decided to replan, reassess or close reaches the case's worker: `cpcm due`
lists the step (`review-decision`, rule `review_decision`: "the review of DATE decided to replan:
write a new plan version ..."), within `review_decision.limit` (14 days, cpcm's choice) of the
review, until the step is recorded after it (a plan version, a comprehensive assessment, a closure
request) or a later review decides again; overdue, `cpcm check` reports `review-decision-overdue`.
The stage stays where it is until the step moves it. Who recorded the review is told the worker
sees it; a batch of reviews says, case by case, what each decided. IDs, codes and dates only."""
from __future__ import annotations

import json

from conftest import REVIEW
from test_assess_plan import COMPREHENSIVE, assessed, plan_doc

LATER = "2026-12-10T09:00:00+03:00"  # 17 days after NOW: past the 14 days


def planned(cli, sup) -> str:
    """amina's assessed case with plan version 1 approved by sup: at implementation once reviewed."""
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    return case_id


def decided(cli, case_id: str, *args: str) -> list[dict]:
    result = cli("due", "--json", "--within", "60", *args)
    assert result.code == 0, result.stderr
    return [i for i in result.json() if i["case_id"] == case_id and i["code"] == "review-decision"]


def test_review__a_supervisors_reassess_is_on_the_workers_due_until_the_comprehensive_assessment(cli, cli_as):
    sup = cli_as("sup")
    case_id = planned(cli, sup)
    reviewed = sup("review", case_id, "--from-file", "-", input=json.dumps(dict(REVIEW, outcome="reassess")))
    assert reviewed.code == 0, reviewed.stderr
    # the one who recorded it is told what it asks and that the worker sees it
    assert f"the review decided to reassess: cpcm assess {case_id} --type comprehensive" in reviewed.stderr
    assert "on amina's cpcm due within 14 days" in reviewed.stderr and "where they see it" in reviewed.stderr
    [item] = decided(cli, case_id)
    assert item["owner"] == "amina" and item["rule"] == "review_decision" and item["state"] == "upcoming"
    assert item["due"] == "2026-12-07T09:00+03:00"  # 14 days from the review
    assert item["why"].startswith(f"the review of 2026-11-23 decided to reassess: cpcm assess {case_id} --type comprehensive")
    assert "cpcm's choice" in item["source"]
    assert "review-decision" not in {i["code"] for i in decided(sup, case_id)}  # the worker's, not the supervisor's
    # the stage stays until the step is recorded; overdue, check reports it
    assert cli("show", case_id, "--json").json()["stage"] == "implementation"
    late = cli_as("amina", CPCM_NOW=LATER)
    assert "review-decision-overdue" in {p["code"] for p in late("check", case_id, "--json").json()}
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert decided(cli, case_id) == []


def test_review__replan_asks_for_a_plan_version_and_a_later_review_decides_again(cli, cli_as):
    sup = cli_as("sup")
    case_id = planned(cli, sup)
    reviewed = cli("review", case_id, "--from-file", "-", input=json.dumps(dict(REVIEW, outcome="replan")))
    assert reviewed.code == 0, reviewed.stderr
    assert "on your cpcm due within 14 days" in reviewed.stderr
    [item] = decided(cli, case_id)
    assert item["title"] == "write a new plan version (the review decided to replan)"
    assert f"decided to replan: write a new plan version (cpcm plan {case_id} --from-current" in item["why"]
    again = cli("review", case_id, "--from-file", "-", input=json.dumps(REVIEW))  # continue after all
    assert again.code == 0 and decided(cli, case_id) == []
    assert cli("review", case_id, "--from-file", "-", input=json.dumps(dict(REVIEW, outcome="replan"))).code == 0
    assert len(decided(cli, case_id)) == 1
    revised = cli("plan", case_id, "--from-current", "--reason", "review", "--set", "contingency=The aunt takes the child in.")
    assert revised.code == 0, revised.stderr
    assert decided(cli, case_id) == []


def test_review_batch__each_case_says_what_its_review_decided_and_close_is_due_until_requested(cli, cli_as, tmp_path):
    sup = cli_as("sup")
    replan, close, going_on = planned(cli, sup), planned(cli, sup), planned(cli, sup)
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps([dict(REVIEW, case=replan, outcome="replan"), dict(REVIEW, case=close, outcome="close"),
                                dict(REVIEW, case=going_on)]))
    result = sup("review", "--batch", str(path))
    assert result.code == 0, result.stderr
    assert f"next: {replan}: the review decided to replan: write a new plan version (cpcm plan {replan} --from-current" \
        in result.stderr
    assert f"next: {close}: the review decided to close: cpcm close {close} --reason ...; on the case worker's cpcm due" \
        in result.stderr
    assert going_on not in result.stderr
    scripted = planned(cli, sup)  # a script's batch is told the same, in next_steps
    (tmp_path / "more.json").write_text(json.dumps([dict(REVIEW, case=scripted, outcome="reassess")]))
    told = sup("review", "--batch", str(tmp_path / "more.json"), "--json")
    assert told.code == 0, told.stderr
    assert [s.split(":")[:2] for s in told.json()["next_steps"]] == [[scripted, " the review decided to reassess"]]
    assert [i["title"] for i in decided(cli, close)] == ["request closure (the review decided to close)"]
    assert decided(cli, going_on) == []
    asked = cli("close", close, "--reason", "declined", "--check", "all", "--explain-open", "none")
    assert asked.code == 0, asked.stderr
    assert decided(cli, close) == []
