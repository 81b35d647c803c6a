"""The post-closure visit is owed after the closures the policy lists (`post_closure_visit.reasons`:
closures after services, IAG Step 6 [L936-944]), not after a closure as registered in error, after a
death, a transfer or the agency's exit: `cpcm close` (where no approval is needed) and `cpcm approve
CASE closure` say what comes next, `cpcm due` lists it or not, `cpcm check` reports it overdue or
not and the timeliness report counts it or not, each from the one rule
(deadlines.post_closure_visit_owed). It is computed: a case closed before the rule changed follows it."""
from __future__ import annotations

import pytest

from conftest import register

from test_merge_closed import LATER, MONTHS_ON, close, visits  # noqa: F401  the same closed-case steps
from test_merge_closed import timeliness_visits as visit_clock


def overdue_visits(cli_as) -> list[str]:
    checked = cli_as("sup", CPCM_NOW=MONTHS_ON)("check", "--json")
    return [p.get("case_id") for p in checked.json() if p["code"] == "post-closure-visit-overdue"]


@pytest.mark.parametrize("reason", ["registered_in_error", "death", "transferred", "agency_exit"])
def test_approve_closure__no_post_closure_visit_after_a_closure_that_ended_no_service(cli_as, reason):
    case_id = register(cli_as("amina"))
    said = close(cli_as, case_id, reason)
    assert "a post-closure visit is due" not in said and "--purpose post_closure" not in said, said
    assert f"{case_id} is closed ({reason}): no post-closure visit is due after a closure for this reason" in said
    assert visits(cli_as) == [] and visits(cli_as, "sup", "--worker", "all") == []
    assert overdue_visits(cli_as) == []
    clock = visit_clock(cli_as)
    assert clock["started"] == 0 and clock["overdue"] == 0
    report = cli_as("amina", CPCM_NOW=LATER)("render", "closure-report", case_id)  # the closure report says so too
    assert report.code == 0 and "None is owed after this closure" in report.stdout and "Due by" not in report.stdout


def test_approve_closure__a_closure_after_services_still_owes_its_visit_and_counts_it(cli_as):
    declined, error = register(cli_as("amina")), register(cli_as("amina"))
    said = close(cli_as, declined, "declined")
    assert "a post-closure visit is due within 3 months" in said and f"cpcm followup {declined} --purpose post_closure" in said
    close(cli_as, error, "registered_in_error")
    assert visits(cli_as) == [declined]
    report = cli_as("amina", CPCM_NOW=LATER)("render", "closure-report", declined)
    assert report.code == 0 and "Due by" in report.stdout and "None is owed" not in report.stdout
    assert overdue_visits(cli_as) == [declined]
    clock = visit_clock(cli_as)
    assert clock["started"] == 1 and clock["overdue"] == 1


def test_policy__the_reasons_that_owe_the_visit_are_the_agencys_and_apply_to_cases_closed_before(cli_as, repo):
    case_id = register(cli_as("amina"))
    close(cli_as, case_id, "declined")
    assert visits(cli_as) == [case_id]
    # the agency owes the visit after goals met only: the case closed as declined owes none any more
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  post_closure_visit:\n    reasons: [goals_met]\n", encoding="utf-8")
    assert visits(cli_as) == []
    assert visit_clock(cli_as)["started"] == 0


def test_policy__a_reason_that_is_no_closure_reason_is_refused_naming_the_list(cli_as, repo):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  post_closure_visit:\n    reasons: [goals_met, finished]\n",
                                                encoding="utf-8")
    result = cli_as("sup")("due", "--json")
    assert result.code != 0
    assert "rules.post_closure_visit.reasons" in result.stderr and "'finished' is not a closure reason" in result.stderr
