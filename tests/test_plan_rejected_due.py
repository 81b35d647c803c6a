"""A plan revision a supervisor rejects reaches the case's worker's `cpcm due`: the version
rejected, who rejected it and when, where the note is read, and the command for the next
version (`plan-revision`, rule `plan_revision`), until a version is written after it (its
approval is then the supervisors' item) or a case review is recorded after it (the version in
force kept). Overdue, `cpcm check` reports `plan-revision-overdue`. The note itself (free text) is
never on the due list: `cpcm show` reads it.

And while a closure is requested, the response to the risk names only the ways out of the wait
that exist for that case and team (`approvals.closure_ways_out`): no supervisor's rejection where
nobody in the team may decide the closure."""
from __future__ import annotations

import json

from conftest import NOW, REVIEW
from cpcm import service
from memory_repo import MemoryRepo
from test_assess_plan import assessed, plan_doc
from test_views import same

NOTE = "add an action for the birth certificate"


def revision_rejected(cli, sup) -> str:
    """amina's case: plan version 1 approved by sup, version 2 (from the current one) rejected by sup."""
    case_id = assessed(cli)
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert sup("approve", case_id, "plan", "--note", "ok").code == 0
    revised = cli("plan", case_id, "--from-current", "--reason", "review", "--set", "contingency=The aunt takes the child in.")
    assert revised.code == 0, revised.stderr
    rejected = sup("reject", case_id, "plan", "--note", NOTE)
    assert rejected.code == 0, rejected.stderr
    return case_id


def items(cli, case_id: str, *args: str) -> list[dict]:
    result = cli("due", "--json", "--within", "60", *args)
    assert result.code == 0, result.stderr
    return [i for i in result.json() if i["case_id"] == case_id]


def test_cli__a_rejected_revision_is_on_the_workers_due_until_the_next_version_or_a_review(cli, cli_as):
    sup = cli_as("sup")
    case_id = revision_rejected(cli, sup)
    shown = cli("show", case_id, "--json").json()  # as before: version 1 in force, the rejection and its note on show
    assert shown["plan"]["version"] == 2 and shown["plan"]["previous"]["version"] == 1
    mine = [i for i in items(cli, case_id) if i["code"] == "plan-revision"]
    assert len(mine) == 1
    item = mine[0]
    assert item["title"] == "write the next plan version (version 2 was rejected)"
    assert item["owner"] == "amina" and item["rule"] == "plan_revision" and item["state"] == "upcoming"
    assert item["due"] == "2026-12-07T09:00+03:00"  # plan_revision.limit (14 days) from the rejection
    why = item["why"]
    assert f"plan version 2 was rejected by sup on {NOW[:10]}" in why and "version 1 stays in force" in why
    assert f"cpcm show {case_id} shows it" in why and f"cpcm plan {case_id} --from-current --reason ..." in why
    assert f"cpcm review {case_id}" in why
    assert NOTE not in json.dumps(item)  # the note is free text: read on show, not on the due list
    assert "cpcm's choice" in item["source"]
    others = [i for i in items(cli, case_id) if i["code"] != "plan-revision"]
    assert others and all(set(i) == set(item) for i in others)  # the same fields as every other item
    plain = cli("due", "--within", "60")
    assert "write the next plan version (version 2 was rejected)" in plain.stdout and NOTE not in plain.stdout
    assert "plan-revision" not in {i["code"] for i in items(sup, case_id)}  # the worker's, not the supervisor's
    assert "plan-approval" not in {i["code"] for i in items(sup, case_id)}

    # past its limit: cpcm check reports it (an error, exit 1), as every clock past its limit
    later = cli_as("amina", CPCM_NOW="2026-12-08T09:00:00+03:00")
    checked = later("check", case_id, "--json")
    assert checked.code == 1 and "plan-revision-overdue" in {p["code"] for p in checked.json()}
    assert "plan-not-approved" not in {p["code"] for p in checked.json()}  # version 1 is in force
    assert [i["state"] for i in items(later, case_id) if i["code"] == "plan-revision"] == ["overdue"]

    # the next version written: gone from amina's list; its approval is sup's item
    third = cli("plan", case_id, "--from-current", "--reason", "correction", "--set", "actions.new.what=Birth certificate",
                "--set", "actions.new.who=caseworker", "--set", "actions.new.by=2026-12-20", "--set", "actions.new.mode=direct")
    assert third.code == 0, third.stderr
    assert "plan-revision" not in {i["code"] for i in items(cli, case_id)}
    assert "plan-approval" in {i["code"] for i in items(sup, case_id)}

    # rejected again: the item is back, naming version 3; a case review recorded after it keeps version 1 and ends it
    assert sup("reject", case_id, "plan", "--note", "not yet").code == 0
    again = [i for i in items(cli, case_id) if i["code"] == "plan-revision"]
    assert [i["title"] for i in again] == ["write the next plan version (version 3 was rejected)"]
    reviewed = cli_as("amina", CPCM_NOW="2026-11-24T09:00:00+03:00")
    assert reviewed("review", case_id, "--from-file", "-", input=json.dumps(REVIEW)).code == 0
    assert "plan-revision" not in {i["code"] for i in items(reviewed, case_id)}


def test_a_rejected_first_version_keeps_its_case_plan_item_and_a_waiting_version_gives_none():
    """Only a revision rejected over a version in force: a first version rejected is the case-plan
    item's ("plan version 1 was rejected: write a new version"), as before."""
    from test_assess_plan import assessed_in

    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = assessed_in(mem)
    service.plan(amina, case_id, plan_doc())
    codes = {i.code for i in service.due(amina, within_days=60) if i.case_id == case_id}
    assert "plan-revision" not in codes
    service.reject(sup, case_id, "plan", note=NOTE)
    due = {i.code: i for i in service.due(amina, within_days=60) if i.case_id == case_id}
    assert "plan-revision" not in due and "version 1 was rejected" in due["case-plan"].why


# -- while a closure is requested: the ways out of the wait that exist for the case and the team ------------
def _closing(cli, closer) -> str:
    """amina's case at high risk, its initial assessment recorded and nothing done since (the
    response to the risk is due), its closure requested by `closer`."""
    from conftest import register
    from test_assess_plan import INITIAL
    from test_followup_close import DECLINED

    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    asked = closer("close", case_id, "--reason", "declined", *[x for c in DECLINED["checklist"] for x in ("--check", c)])
    assert asked.code == 0, asked.stderr
    return case_id


def _response(cli, case_id: str, *args: str) -> dict:
    [found] = [i for i in items(cli, case_id, *args) if i["code"] == "risk-response"]
    return found


def test_cli__while_a_closure_waits_the_response_to_the_risk_names_a_rejection_only_where_someone_may_decide(
        cli, cli_as, without_views):
    sup = cli_as("sup")
    # amina asked: sup, the one supervisor, may decide it; amina may withdraw it
    decidable = _closing(cli, cli)
    why = _response(cli, decidable)["why"]
    assert why.endswith(f"if the case is not to close, the one who asked withdraws it (cpcm close {decidable} --withdraw "
                        "--reason ...) or a supervisor rejects it")
    # sup asked for the closure of amina's case: sup (who asked) and amina (the case's worker) may not decide it,
    # and nobody else in the team may: no supervisor's rejection is named, the ways out that exist are
    stuck = _closing(cli, sup)
    expected = (f"nobody in the team may decide it: if the case is not to close, the one who asked (sup) withdraws it "
                f"(cpcm close {stuck} --withdraw --reason ...), add a supervisor (cpcm team add), or allow self-approval with "
                "a recorded reason (.cpcm/policy.yaml, put in force with cpcm policy set)")
    for _ in range(2):  # the list made, then read from the view kept for the commit
        for listed in (_response(cli, stuck), _response(sup, stuck, "--worker", "all")):
            assert listed["why"].endswith(expected) and "rejects it" not in listed["why"]
        plain = cli("due", "--within", "60").stdout
        assert expected in plain and f"cpcm close {stuck} --withdraw --reason ...) or a supervisor rejects it" not in plain
        assert f"cpcm close {decidable} --withdraw --reason ...) or a supervisor rejects it" in plain
    lists = [("due",), ("due", "--json"), ("due", "--worker", "all", "--json"), ("due", "--overdue", "--json")]
    same(cli, without_views, lists)  # from the due view as when every case's deadlines are computed
    same(sup, without_views, lists)
    shown = [i for i in cli("show", stuck, "--json").json()["due"] if i["code"] == "risk-response"]
    assert [i["why"].endswith(expected) for i in shown] == [True]
    late = cli_as("amina", CPCM_NOW="2026-12-08T09:00:00+03:00")  # past the 72 hours: cpcm check says the same
    problems = [p for p in late("check", stuck, "--json").json() if p["code"] == "risk-response-overdue"]
    assert len(problems) == 1 and problems[0]["message"].endswith(expected)


def test_closure_ways_out__each_names_only_the_ways_that_exist():
    from cpcm.workflow.approvals import closure_ways_out

    both = closure_ways_out("CP-AAAA-BBBB", "sup")
    assert "withdraw" in both and "rejects it" in both and "team add" not in both
    gone = closure_ways_out("CP-AAAA-BBBB", "sup", decidable=True, withdrawable=False)
    assert "cpcm reject CP-AAAA-BBBB closure" in gone and "--withdraw" not in gone and "no longer on the team" in gone
    nobody = closure_ways_out("CP-AAAA-BBBB", "sup", decidable=False)
    assert "rejects it" not in nobody and "--withdraw" in nobody and "cpcm team add" in nobody
    neither = closure_ways_out("CP-AAAA-BBBB", "sup", decidable=False, withdrawable=False)
    assert "rejects it" not in neither and "--withdraw" not in neither and "cpcm team add" in neither
