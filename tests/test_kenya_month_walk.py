"""A month of a small children's home (CCI) in the `kenya` profile, as its supervisor walks it: what
the walk found a worker could not trust, each checked through the CLI as the worker meets it
(the message, `cpcm due`, `cpcm check`)."""
from __future__ import annotations

from conftest import register

DAY = "2026-11-23T10:00:00+03:00"    # the follow-up
LATER = "2026-11-23T11:00:00+03:00"  # an hour on
NEXT_DAY = "2026-11-24T10:00:00+03:00"
VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check home",
         "--visited-by", "professional", "--no-input")


def _due(cli, now: str) -> set[tuple[str, str]]:
    result = cli("due", "--json", env={"CPCM_NOW": now})
    assert result.code == 0, result.stderr
    return {(item["case_id"], item["code"]) for item in result.json()}


def test_followup__a_risk_raised_and_re_rated_at_one_visit_stays_urgent_until_checked_again(kenya):
    amina = kenya("amina", DAY)
    case_id = register(amina)  # registered high
    written = amina("followup", case_id, *VISIT, "--risk-increased", "yes", "--risk", "immediate",
                    "--risk-reason", "violence at home")
    assert written.code == 0, written.stderr
    assert "urgent item" in written.stderr
    assert "checked again after this visit" in written.stderr  # what to do next, as the item stays
    assert (case_id, "risk-increased") in _due(amina, LATER)  # the warning's urgent item is there
    checked = amina("check", case_id, env={"CPCM_NOW": LATER})
    assert checked.code == 1 and "risk-increased-overdue" in checked.stdout
    # a later visit that checks the risk again clears it
    assert amina("followup", case_id, *VISIT, "--risk-increased", "no", "--risk", "immediate",
                 env={"CPCM_NOW": NEXT_DAY}).code == 0
    assert (case_id, "risk-increased") not in _due(amina, NEXT_DAY)
