"""The child's age, and a closure for reached_18 that the age on file no longer lets stand.

An age given by `cpcm update --age` (or an update's correction) is the age on the update's day, as
an age given at registration is the age on the registration's day; the turning-18 item and a
closure for reached_18 count from it. A date of birth or an age corrected after a closure for
reached_18 was asked for (or approved) is said at once by the command that corrects it, and `cpcm
check` reports a case closed for reached_18 that the date of birth now on file makes under 18 on the
day it closed (closed-reached-18-under-age), one whose correction and approval were written on two
copies apart included. A correction of a closure request for reached_18 that moves its date checks
the age on the new date. A child born on 29 February is 18 on the 28th in a common year, for every
rule alike (workflow/age.py)."""
from __future__ import annotations

import json

from conftest import CANARY, commit_count, library_session, register, registration
from test_cci_month_sync_walk import Home, day


def _child(born: str | None = None, estimate: int | None = None) -> dict:
    child = {"name": CANARY, "sex": "female", "disability": "no"}
    child.update({"date_of_birth": born} if born else {"age_estimate": estimate})
    return child


def _turning_18(cli, case_id: str) -> list[dict]:
    return [i for i in cli("due", "--within", "800", "--json").json() if i["case_id"] == case_id and i["code"] == "turning-18"]


def _no_name(*results) -> None:
    for result in results:
        assert CANARY not in result.stdout and CANARY not in result.stderr


def test_update_age__is_the_age_on_the_update_s_day_not_at_registration(cli_as, repo):
    """Registered 2025-11-23 aged 15; a year less a day later she says she is 17: she turns 18 a year
    after the update, not the next day."""
    case_id = register(cli_as("amina", CPCM_NOW="2025-11-23T09:00:00+03:00"), child=_child(estimate=15))
    amina = cli_as("amina", CPCM_NOW="2026-11-22T09:00:00+03:00")
    updated = amina("update", case_id, "--age", "17", "--reason", "she says she is 17 now", "--json")
    assert updated.code == 0, updated.stderr
    assert _turning_18(amina, case_id) == []  # not tomorrow
    later = cli_as("amina", CPCM_NOW="2027-10-01T09:00:00+03:00")
    [item] = _turning_18(later, case_id)
    assert item["due"].startswith("2027-11-22"), item
    refused = amina("close", case_id, "--reason", "reached_18", "--check", "all", "--json")
    assert refused.code == 4, refused.stderr
    reason = refused.json()["fields"][0]["reason"]
    assert "the age estimated on 2026-11-22" in reason and "turns 18 on 2027-11-22" in reason, reason
    _no_name(updated, refused)


def test_update_age__corrected_counts_from_the_correction_s_day_and_a_registration_s_age_from_the_registration(cli_as, repo):
    case_id = register(cli_as("amina", CPCM_NOW="2025-11-23T09:00:00+03:00"), child=_child(estimate=15))
    seen = lambda now: [i["due"][:10] for i in _turning_18(cli_as("amina", CPCM_NOW=now), case_id)]
    assert seen("2028-11-01T09:00:00+03:00") == ["2028-11-23"]  # the registration's age: 15 on 2025-11-23
    amina = cli_as("amina", CPCM_NOW="2026-06-01T09:00:00+03:00")
    update = amina("update", case_id, "--age", "16", "--reason", "asked again", "--json").json()["record_id"]
    assert seen("2028-05-20T09:00:00+03:00") == ["2028-06-01"]
    fixed = cli_as("amina", CPCM_NOW="2026-06-03T09:00:00+03:00")(
        "correct", case_id, update, "--set", "child.age_estimate=17", "--at", "2026-06-02T10:00",
                  "--reason", "she is 17", "--json")
    assert fixed.code == 0, fixed.stderr
    assert seen("2027-05-20T09:00:00+03:00") == ["2027-06-02"]


def test_correct__a_closure_request_for_reached_18_moved_to_a_day_before_the_birthday_is_refused(cli_as, repo):
    case_id = register(cli_as("amina", CPCM_NOW="2026-11-10T09:00:00+03:00"), child=_child("2008-11-20"))
    amina = cli_as("amina")
    assert amina("close", case_id, "--reason", "reached_18", "--check", "all", "--at", "2026-11-20T10:00").code == 0
    before = commit_count(repo)
    refused = amina("correct", case_id, "closure", "--at", "2026-11-19T10:00", "--reason", "wrong day", "--json")
    assert refused.code == 4, refused.stderr
    data = refused.json()
    assert data["rule"] == "closure-reason-age", data
    assert "the child is 17 on 2026-11-19" in data["fields"][0]["reason"], data
    assert commit_count(repo) == before
    moved = amina("correct", case_id, "closure", "--at", "2026-11-21T10:00", "--reason", "wrong day", "--json")
    assert moved.code == 0, moved.stderr
    _no_name(refused, moved)


def test_correct__a_closure_corrected_to_reached_18_is_judged_on_its_corrected_date(cli_as, repo):
    """Asked for 'declined' on the 19th, corrected to reached_18 and to the 21st: she is 18 on the 21st."""
    case_id = register(cli_as("amina", CPCM_NOW="2026-11-10T09:00:00+03:00"), child=_child("2008-11-20"))
    amina, sue = cli_as("amina"), cli_as("sup")
    assert amina("close", case_id, "--reason", "declined", "--check", "all", "--at", "2026-11-19T10:00").code == 0
    fixed = sue("correct", case_id, "closure", "--set", "reason=reached_18", "--set",
                "checklist=young_person_consulted;adult_services_referred", "--at", "2026-11-21T10:00", "--reason", "wrong", "--json")
    assert fixed.code == 0, fixed.stderr


def test_correct_dob__after_a_reached_18_closure__warns_and_check_reports_it(cli_as, repo):
    case_id = register(cli_as("amina", CPCM_NOW="2026-11-10T09:00:00+03:00"), child=_child("2008-11-20"))
    amina, sue = cli_as("amina"), cli_as("sup")
    assert amina("close", case_id, "--reason", "reached_18", "--check", "all").code == 0
    assert sue("approve", case_id, "closure").code == 0
    assert "closed-reached-18-under-age" not in [p["code"] for p in amina("check", case_id, "--json").json()]
    fixed = amina("correct", case_id, "registration", "--set", "child.date_of_birth=2012-01-10", "--reason", "certificate", "--json")
    assert fixed.code == 0, fixed.stderr
    [warning] = [w for w in fixed.json()["warnings"] if "reached_18" in w]
    assert "closed for 'reached_18' on 2026-11-23" in warning and f"cpcm reopen {case_id}" in warning, warning
    assert "2012-01-10" not in warning
    checked = amina("check", case_id, "--json")
    [problem] = [p for p in checked.json() if p["code"] == "closed-reached-18-under-age"]
    assert problem["severity"] == "error" and f"cpcm reopen {case_id}" in problem["message"], problem
    assert checked.code == 1
    assert sue("reopen", case_id, "--reason", "found younger").code == 0
    assert "closed-reached-18-under-age" not in [p["code"] for p in amina("check", case_id, "--json").json()]
    _no_name(fixed, checked)


def test_update_dob__while_a_reached_18_closure_waits__warns_that_its_approval_would_be_refused(cli_as, repo):
    case_id = register(cli_as("amina", CPCM_NOW="2026-11-10T09:00:00+03:00"), child=_child("2008-11-20"))
    amina = cli_as("amina")
    assert amina("close", case_id, "--reason", "reached_18", "--check", "all").code == 0
    other = amina("update", case_id, "--location", "Kondele", "--reason", "moved", "--json")
    assert other.code == 0 and other.json()["warnings"] == [], other.stdout
    updated = amina("update", case_id, "--dob", "2012-01-10", "--reason", "certificate", "--json")
    assert updated.code == 0, updated.stderr
    [warning] = updated.json()["warnings"]
    assert "waits for a decision" in warning and f"cpcm close {case_id} --withdraw" in warning, warning
    _no_name(other, updated)


def test_sync__a_dob_corrected_on_a_laptop_while_the_office_approved_the_reached_18_closure__check_reports_it(tmp_env):
    home = Home(tmp_env)
    home.ok("sue", day(2), "remote", "add", "origin", str(home.shared), "--create")
    home.ok("sue", day(2), "sync")
    home.laptop("amina")
    home.laptop("baraka")
    child = {"name": CANARY, "sex": "female", "date_of_birth": "2008-11-01", "disability": "no"}
    case_id = home.ok("amina", day(2), "register", "--from-file", "-", "--json",
                      input=json.dumps(registration(child=child))).json()["case_id"]
    home.ok("amina", day(3), "close", case_id, "--reason", "reached_18", "--check", "all")
    home.meet(day(3, 17))
    # apart: amina corrects the date of birth on her laptop; sue approves the closure at the office
    home.ok("amina", day(4), "correct", case_id, "registration", "--set", "child.date_of_birth=2012-01-10", "--reason", "certificate")
    home.ok("sue", day(4, 11), "approve", case_id, "closure")
    home.meet(day(5))
    for worker in ("sue", "amina"):
        checked = home.run(worker, day(5, 10), "check", case_id, "--json")
        assert checked.code == 1, checked.stderr  # an error found
        said = {p["code"]: p["message"] for p in checked.json()}
        assert "closed-reached-18-under-age" in said and "2026-11-04" in said["closed-reached-18-under-age"], said
    home.no_name_on_disk()


def test_born_on_29_february__of_age_on_the_28th_for_check_due_and_closure_alike(cli_as, repo):
    case_id = register(cli_as("amina", CPCM_NOW="2026-01-10T09:00:00+03:00"), child=_child("2008-02-29"))
    on_27th = cli_as("amina", CPCM_NOW="2026-02-27T12:00:00+03:00")
    assert "reached-18-without-justification" not in [p["code"] for p in on_27th("check", case_id, "--json").json()]
    on_28th = cli_as("amina", CPCM_NOW="2026-02-28T12:00:00+03:00")
    # the 28th is the day the child is of age, and the worker's to propose the closure: due by its end, not late
    [item] = [i for i in on_28th("due", "--json").json() if i["case_id"] == case_id and i["code"] == "turning-18"]
    assert item["due"].startswith("2026-02-28T23:59") and item["state"] != "overdue"
    codes = [p["code"] for p in on_28th("check", case_id, "--json").json()]
    assert "turning-18-overdue" not in codes and "reached-18-without-justification" not in codes, codes
    on_1st = cli_as("amina", CPCM_NOW="2026-03-01T08:00:00+03:00")
    codes = [p["code"] for p in on_1st("check", case_id, "--json").json()]
    assert "turning-18-overdue" in codes and "reached-18-without-justification" in codes, codes
    assert on_28th("close", case_id, "--reason", "reached_18", "--check", "all", "--json").code == 0


def test_update_dob_of_a_child_registered_with_an_estimated_age_says_how_to_replace_the_estimate(cli_as, repo):
    """`update --dob` of a child registered with an estimated age was refused as giving both, with
    'The fields missing are given by their options: --age': nothing was missing. The refusal says
    the case holds the estimate and how to replace it (`--set child.age_estimate=` with --dob); the
    other way round (an age given where the case holds a date of birth) alike."""
    case_id = register(cli_as("amina"), child=_child(estimate=9))
    amina = cli_as("amina")
    refused = amina("update", case_id, "--dob", "2017-06-01", "--reason", "birth certificate found")
    assert refused.code == 4, refused.stderr
    assert "missing" not in refused.stderr and "--set child.age_estimate=" in refused.stderr, refused.stderr
    assert "the case holds" in refused.stderr and "child.date_of_birth" in refused.stderr, refused.stderr
    as_json = amina("update", case_id, "--dob", "2017-06-01", "--reason", "birth certificate found", "--json").json()
    assert [f["field"] for f in as_json["fields"]] == ["child.age_estimate"], as_json
    done = amina("update", case_id, "--dob", "2017-06-01", "--set", "child.age_estimate=", "--reason", "birth certificate found",
                 "--json")
    assert done.code == 0 and done.json()["changed"] == ["child.age_estimate", "child.date_of_birth"], done.stderr
    back = amina("update", case_id, "--age", "9", "--reason", "asked again")
    assert back.code == 4 and "--set child.date_of_birth=" in back.stderr and "missing" not in back.stderr, back.stderr
    _no_name(refused, done, back)


def test_check__a_date_of_birth_stored_after_the_day_registered_is_warned_of_until_it_is_corrected(cli_as, repo):
    """A date of birth after the day the case was registered, which register, import, update and correct refuse
    (`age.born_after`), held by a case written before they did (here an update stored as it was then) or brought by
    a sync: `cpcm check` said nothing of it. It warns now (born-after-registration), for the case and among every
    case alike, naming the case and the field, never either date nor the child, with the way out whichever date is
    wrong; the date of birth updated, or the registration's time corrected, clears it."""
    from cpcm import service

    amina = cli_as("amina")

    def flagged(case_id: str) -> list[dict]:
        found = []
        for checked in (amina("check", case_id, "--json"), amina("check", "--json")):  # the case, and every case
            _no_name(checked)
            found.append([p for p in checked.json() if p["code"] == "born-after-registration" and p["case_id"] == case_id])
            assert not any(day in p["message"] for p in found[-1] for day in ("2026-05-01", "2026-01-10")), found
        assert found[0] == found[1], found
        return found[0]

    cases = [register(amina, "--at", "2026-01-10", child=_child("2015-04-01")) for _ in range(2)]
    session = library_session(amina)
    for case_id in cases:
        assert flagged(case_id) == []
        service.append(session, service.load_case(session, case_id), "update", "update",
                       {"changes": {"child.date_of_birth": "2026-05-01"}, "previous": {"child.date_of_birth": "2015-04-01"},
                        "reason": "birth certificate seen"}, None)
        [problem] = flagged(case_id)
        assert problem["severity"] == "warning", problem
        assert problem["message"].startswith("child.date_of_birth: is after the date of registration"), problem
        assert f"if the date of birth is wrong: cpcm update {case_id} --dob DATE --reason ..." in problem["message"], problem
        assert f"if the registration's time is: cpcm correct {case_id} registration --at WHEN --reason ..." in problem["message"]
    dob_wrong, time_wrong = cases
    assert amina("update", dob_wrong, "--dob", "2015-04-01", "--reason", "birth certificate read again").code == 0
    assert flagged(dob_wrong) == []
    moved = amina("correct", time_wrong, "registration", "--at", "2026-05-01", "--reason", "registered later than typed")
    assert moved.code == 0, moved.stderr
    assert flagged(time_wrong) == []
