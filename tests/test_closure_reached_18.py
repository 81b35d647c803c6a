"""A closure for `reached_18` closes the case of a young person of 18 or more (the policy's
child_age_limit, IAG §1): refused (exit 4, field `reason`, rule `closure-reason-age`, nothing
written) for a child under 18 on the closure's date, by the date of birth the case holds, known or
estimated, the day they turn 18 counted as the turning-18 item counts it (`Case.turns`); refused
too when the case holds no age at all. Checked again when a supervisor approves it (the age
corrected since). Through the CLI, as a lone worker and a supervisor use it, in both profiles."""
from __future__ import annotations

from datetime import date

from conftest import CANARY, commit_count, register
from cpcm.domain.case import Case
from cpcm.workflow import transitions


def _child(born: str | None = None, estimate: int | None = None) -> dict:
    child = {"name": CANARY, "sex": "female", "disability": "no"}
    child.update({"date_of_birth": born} if born else {"age_estimate": estimate})
    return child


def _refused_for_age(result) -> dict:
    assert result.code == 4, result.stderr
    data = result.json()
    assert data["rule"] == "closure-reason-age", data
    assert data["fields"][0]["field"] == "reason" and data["fields"][0]["rule"] == "closure-reason-age", data
    assert CANARY not in result.stderr and CANARY not in result.stdout
    return data


def test_close__reached_18_for_a_child_of_10_is_refused_with_the_age_the_birthday_and_what_to_do(cli_as, repo):
    amina = cli_as("amina")
    case_id = register(amina, child=_child("2016-02-13"))
    before = commit_count(repo)
    refused = amina("close", case_id, "--reason", "reached_18", "--check", "all", "--json")
    data = _refused_for_age(refused)
    reason = data["fields"][0]["reason"]
    assert "the child is 10 on 2026-11-23" in reason and "turns 18 on 2034-02-13" in reason, reason
    assert "choose the reason that fits" in reason and "on or after 2034-02-13" in reason, reason
    assert f"cpcm update {case_id} --dob" in reason, reason
    assert "2016-02-13" not in refused.stderr  # the date of birth itself is not repeated
    assert commit_count(repo) == before
    assert amina("show", case_id, "--json").json()["stage"] != "closure_requested"


def test_close__reached_18_by_an_estimated_age_counts_from_the_registration(cli_as, repo):
    """A child registered today with an estimated age of 17 turns 18 a year from the registration,
    as the turning-18 item counts it."""
    amina = cli_as("amina")
    case_id = register(amina, child=_child(estimate=17))
    due = cli_as("amina", CPCM_NOW="2027-10-01T09:00:00+03:00")("due", "--within", "90", "--json").json()
    [item] = [i for i in due if i["case_id"] == case_id and i["code"] == "turning-18"]
    assert item["due"].startswith("2027-11-23"), item
    before = commit_count(repo)
    data = _refused_for_age(amina("close", case_id, "--reason", "reached_18", "--check", "all", "--json"))
    reason = data["fields"][0]["reason"]
    assert "the age estimated on 2026-11-23" in reason and "turns 18 on 2027-11-23" in reason, reason
    assert commit_count(repo) == before


def test_close__reached_18_on_or_after_the_birthday_is_taken_and_a_closure_dated_before_it_is_not(cli_as, repo):
    """A young person who turned 18 on 2026-11-20: a closure dated (--at) the day before is refused,
    naming the day; one dated on the birthday is asked for and approved."""
    early = cli_as("amina", CPCM_NOW="2026-11-10T09:00:00+03:00")
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(early, child=_child("2008-11-20"))
    before = commit_count(repo)
    data = _refused_for_age(amina("close", case_id, "--reason", "reached_18", "--check", "all", "--at",
                                  "2026-11-19T10:00", "--json"))
    assert "the child is 17 on 2026-11-19" in data["fields"][0]["reason"], data
    assert "on or after 2026-11-20" in data["fields"][0]["reason"]
    assert commit_count(repo) == before
    asked = amina("close", case_id, "--reason", "reached_18", "--check", "all", "--at", "2026-11-20T10:00")
    assert asked.code == 0, asked.stderr
    approved = sup("approve", case_id, "closure")
    assert approved.code == 0, approved.stderr
    shown = amina("show", case_id, "--json").json()
    assert shown["status"] == "closed" and shown["closure"]["reason"] == "reached_18", shown


def test_approve__a_reached_18_closure_whose_date_of_birth_was_corrected_since_is_not_approved(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=_child("2008-01-10"))
    assert amina("close", case_id, "--reason", "reached_18", "--check", "all").code == 0
    fixed = amina("correct", case_id, "registration", "--set", "child.date_of_birth=2012-01-10", "--reason",
                  "the birth certificate was found")
    assert fixed.code == 0, fixed.stderr
    before = commit_count(repo)
    refused = sup("approve", case_id, "closure", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "closure-reason-age", refused.stderr
    assert "the child is 14 on 2026-11-23" in refused.json()["message"], refused.json()
    assert f"cpcm reject {case_id} closure" in refused.json()["hint"]
    assert CANARY not in refused.stderr and commit_count(repo) == before
    assert sup("reject", case_id, "closure", "--note", "she is 14: another reason").code == 0


def test_correct__a_closure_request_corrected_to_reached_18_for_a_younger_child_is_refused(cli_as, repo):
    """A supervisor who may decide a waiting request corrects its reason: to reached_18 for a child
    of 10 on the request's day, refused as `cpcm close` refuses it."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, child=_child("2016-02-13"))
    asked = amina("close", case_id, "--reason", "declined", "--check", "all")
    assert asked.code == 0, asked.stderr
    before = commit_count(repo)
    refused = sup("correct", case_id, "closure", "--set", "reason=reached_18", "--set",
                  "checklist=young_person_consulted;adult_services_referred", "--reason", "the reason", "--json")
    _refused_for_age(refused)
    assert commit_count(repo) == before


def test_close__reached_18_in_the_kenya_profile_is_refused_for_a_child_of_10(kenya):
    amina = kenya("amina")
    case_id = register(amina, child=_child("2016-02-13"))
    before = commit_count(kenya.root)
    data = _refused_for_age(amina("close", case_id, "--reason", "reached_18", "--check", "all", "--json"))
    assert "turns 18 on 2034-02-13" in data["fields"][0]["reason"]
    assert commit_count(kenya.root) == before


def test_closure_age_problem__a_case_with_no_age_is_refused_with_how_to_record_it():
    """A case holding neither a date of birth nor an estimated age (the registration form asks for
    one; a record made elsewhere may lack both): reached_18 is refused, naming how to record the age;
    another reason is not this rule's."""
    case = Case(id="CP-0000-0000", child={"sex": "female"}, registered_at="2026-11-23T06:00:00+00:00")
    said = transitions.closure_age_problem(case, "reached_18", 18, date(2026, 11, 23))
    assert said and "neither a date of birth nor an estimated age" in said and "cpcm update CP-0000-0000 --dob" in said
    assert transitions.closure_age_problem(case, "declined", 18, date(2026, 11, 23)) is None
    adult = Case(id="CP-0000-0000", child={"date_of_birth": "2008-02-29"}, registered_at="2026-01-05T06:00:00+00:00")
    assert adult.turns(18) == date(2026, 2, 28)  # born on 29 February: the 28th in a common year, as the due item has it
    assert transitions.closure_age_problem(adult, "reached_18", 18, date(2026, 2, 28)) is None
    assert "turns 18 on 2026-02-28" in transitions.closure_age_problem(adult, "reached_18", 18, date(2026, 2, 27))
