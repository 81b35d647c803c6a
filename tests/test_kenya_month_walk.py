"""A month of a small children's home (CCI) in the `kenya` profile, as its supervisor walks it: what
the walk found a worker could not trust, each checked through the CLI as the worker meets it
(the message, `cpcm due`, `cpcm check`)."""
from __future__ import annotations

import json

from conftest import build_planned, register, reunified
from test_assess_plan import plan_doc
from test_readiness import KENYA_GOALS_MET, answers, record

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


def _closed(kenya) -> str:
    """A reunified case closed for goals_met (readiness met, SCCO signed off), its closure approved."""
    case_id = reunified(kenya)
    amina, sup = kenya("amina"), kenya("sup")
    assert record(amina, case_id, answers()).code == 0
    closing = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closing.code == 0, closing.stderr
    assert sup("approve", case_id, "closure").code == 0
    return case_id


def test_followup__a_post_closure_visit_that_finds_the_risk_increased_asks_for_reopening_at_once(kenya):
    case_id = _closed(kenya)
    amina, sup = kenya("amina", NEXT_DAY), kenya("sup", NEXT_DAY)
    visit = amina("followup", case_id, "--method", "home_visit", "--purpose", "post_closure", "--purpose-detail", "feedback",
                  "--visited-by", "professional", "--risk-increased", "yes", "--no-input")
    assert visit.code == 0, visit.stderr
    assert "urgent item" in visit.stderr and f"cpcm reopen {case_id}" in visit.stderr
    later = "2026-11-24T12:00:00+03:00"
    assert (case_id, "risk-increased") in _due(amina, later)  # the warning's urgent item, on the worker's list
    shown = amina("show", case_id, "--json", env={"CPCM_NOW": later}).json()
    assert shown["due"][0]["code"] == "risk-increased" and "reopen" in shown["due"][0]["title"]
    checked = sup("check", case_id, env={"CPCM_NOW": later})
    assert checked.code == 1 and "risk-increased-overdue" in checked.stdout
    # reopened, it is an open case whose risk has increased: re-rated by its new assessment
    reopened = amina("reopen", case_id, "--reason", "violence at home again", env={"CPCM_NOW": later})
    assert reopened.code == 0, reopened.stderr
    after = amina("show", case_id, "--json", env={"CPCM_NOW": later}).json()["due"]
    assert [i["title"] for i in after if i["code"] == "risk-increased"] == ["URGENT: the risk has increased: re-rate it and act"]


def test_approve_reject__each_decision_says_what_comes_next_and_for_whom(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina, risk="immediate")
    interim = plan_doc(interim="yes")
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(interim)).code == 0
    rejected = sup("reject", case_id, "plan", "--note", "add who the child calls when afraid")
    assert rejected.code == 0, rejected.stderr
    assert "plan version 1 is not in force and the case has no plan in force: amina writes a new version" in rejected.stderr
    assert f"cpcm plan {case_id} --from-current" in rejected.stderr
    assert amina("plan", case_id, "--from-current", "--reason", "correction").code == 0
    approved = sup("approve", case_id, "plan")
    assert approved.code == 0 and "plan version 2 is in force" in approved.stderr, approved.stderr


def test_approve__a_closure_approved_names_the_post_closure_visit_due(kenya):
    case_id = reunified(kenya)
    amina, sup = kenya("amina"), kenya("sup")
    assert record(amina, case_id, answers()).code == 0
    close = ("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert amina(*close).code == 0
    rejected = sup("reject", case_id, "closure", "--note", "monitoring visits first")
    assert rejected.code == 0 and "stays open: amina goes on with the plan" in rejected.stderr, rejected.stderr
    assert amina(*close).code == 0
    approved = sup("approve", case_id, "closure")
    assert approved.code == 0, approved.stderr
    assert "a post-closure visit is due within 3 months" in approved.stderr
    assert f"cpcm followup {case_id} --purpose post_closure" in approved.stderr


def test_assess__the_hint_for_keys_not_on_the_form_names_a_form_that_form_blank_prints(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    doc = {"decision": "reintegration",
           "options": [{"option_kind": "kinship", "for_and_against": "willing", "favourite_colour": "blue"}]}
    refused = amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(doc))
    assert refused.code == 4
    assert "cpcm form blank best-interests prints them" in refused.stderr, refused.stderr  # the key near nothing
    # the keys whose words are those of a field's name or label are given it ('For and against')
    assert "options[1].option_kind: is not a field of the assessment form; did you mean 'options[1].kind'?" in refused.stderr
    assert "did you mean 'options[1].assessment'?" in refused.stderr, refused.stderr
    assert amina("form", "blank", "best-interests").code == 0  # the command the hint gives works


def test_placement__a_child_registered_in_a_cci_leaving_it_is_told_to_record_the_admission_first(kenya):
    amina = kenya("amina")
    case_id = register(amina, lives_with="institution", location="Tumaini Children's Home")
    home = amina("placement", case_id, "--care-type", "kinship", "--caregiver", "Test Caregiver", "--relationship", "grandmother",
                 "--address", "Nyakach", "--cci-exit", "family_reintegration", "--no-input")
    assert home.code == 4
    assert (f"no placement is recorded for this case: record the admission first (cpcm placement {case_id} "
            "--care-type institutional_care") in home.stderr, home.stderr


def test_plan__a_version_that_leaves_out_open_actions_of_the_plan_in_force_says_so(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina, risk="immediate")
    interim = plan_doc(interim="yes")  # A1 (the bursary, by referral) and A2
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(interim)).code == 0
    assert sup("approve", case_id, "plan").code == 0
    assert amina("followup", case_id, *VISIT, "--risk-increased", "no", "--done", "A2").code == 0
    full = plan_doc()
    full["actions"] = [{"what": "Counselling", "who": "service", "by": "2026-12-20", "mode": "referral", "goal": "G1"}]
    written = amina("plan", case_id, "--from-file", "-", input=json.dumps(full))
    assert written.code == 0, written.stderr
    assert "open action(s) A1 of the plan in force are not in this version and not recorded as done" in written.stderr
    assert f"cpcm approve {case_id} plan" in written.stderr  # the next step is still given
    # taken out on purpose (--remove) it is not warned of
    assert sup("approve", case_id, "plan").code == 0
    again = amina("plan", case_id, "--from-current", "--reason", "correction", "--remove", "A3",
                  "--set", "actions.new.what=Birth certificate", "--set", "actions.new.who=caseworker",
                  "--set", "actions.new.by=2027-02-01", "--set", "actions.new.mode=direct")
    assert again.code == 0 and "open action(s)" not in again.stderr, again.stderr


def test_readiness__met_for_a_child_still_in_a_cci_says_the_move_out_comes_before_closure(kenya):
    amina = kenya("amina")
    in_cci = register(amina, lives_with="institution", location="Tumaini Children's Home")
    at_home = register(amina)
    for case_id, still in ((in_cci, True), (at_home, False)):
        written = record(amina, case_id, answers())
        assert written.code == 0, written.stderr
        steps = " ".join(written.json()["next_steps"])
        assert "the closure rule is met" in steps
        assert ("the child is still in residential care" in steps) is still, steps
        assert (f"cpcm placement {case_id} --care-type ... --cci-exit" in steps) is still


def test_register__says_what_comes_next_the_assessment_and_a_consent_not_given(kenya):
    amina = kenya("amina")
    doc = {"child": {"name": "Test Child", "sex": "female", "age_estimate": 9}, "location": "Kibera", "lives_with": "relatives",
           "identified_by": "community_member", "concerns": ["physical_abuse"], "risk": "immediate",
           "consent": {"child": "given", "caregiver": "not_possible", "explained": True}}
    urgent = amina("register", "--from-file", "-", input=json.dumps(doc))
    assert urgent.code == 0, urgent.stderr
    case_id = urgent.stdout.strip()
    assert (f"next: immediate risk: act before the child leaves your care, and assess now (the initial assessment is due the "
            f"same day): cpcm assess {case_id} --type initial") in urgent.stderr  # as `due` lists it (docs/workflow.md)
    assert (f"next: the caregiver's consent to registration is 'not_possible': acting without it needs a supervisor's or "
            f"manager's recorded basis: cpcm consent {case_id} --override --purpose registration") in urgent.stderr
    plain = amina("register", "--from-file", "-", input=json.dumps(dict(doc, risk="medium", consent={"child": "given", "caregiver": "given"})))
    assert plain.code == 0, plain.stderr
    assert "next: the initial assessment within 48 hours (target 24 hours; IAG §3 Step 2 [L796]): cpcm assess" in plain.stderr
    assert "--override" not in plain.stderr


def test_close__each_refusal_names_the_option_or_command_that_satisfies_it(kenya):
    amina = kenya("amina")
    case_id = build_planned(kenya)
    refused = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--override-readiness", "x", "--json")
    assert refused.code == 4
    said = {f["field"]: f["reason"] for f in refused.json()["fields"]}
    assert said["followups"].endswith(f"record the visit first (cpcm followup {case_id} --purpose pre_closure ...)")
    assert said["open_items_explained"].endswith("(--explain-open TEXT)")


def test_due__a_supervisors_own_list_says_how_much_is_overdue_on_the_teams(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    register(amina)
    later = {"CPCM_NOW": "2026-11-30T09:00:00+03:00"}  # the initial assessment, a week overdue
    own = sup("due", env=later)
    assert own.code == 0, own.stderr
    assert "next: 1 item(s) overdue on the team's lists (1 case(s)): cpcm due --worker all --overdue" in own.stderr
    assert sup("due", "--json", env=later).stderr == ""  # data for scripts stays as it was
    assert "team's lists" not in amina("due", env=later).stderr  # a caseworker's list is their cases
    assert "team's lists" not in sup("due", "--worker", "all", env=later).stderr


def test_due__a_rejected_interim_plan_is_on_the_workers_list_until_a_new_version_is_written(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina, risk="immediate")
    assert amina("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc(interim="yes"))).code == 0
    assert sup("reject", case_id, "plan", "--note", "add who the child calls when afraid").code == 0
    items = {i["code"]: i for i in amina("due", "--json").json() if i["case_id"] == case_id}
    assert items["case-plan"]["title"] == "write a new plan version (the last was rejected)"
    assert items["case-plan"]["due"] == "2026-11-24T00:00+03:00"  # immediate risk: the same day as the rejection
    assert amina("plan", case_id, "--from-current", "--reason", "correction").code == 0
    assert "case-plan" not in {i["code"] for i in amina("due", "--json").json() if i["case_id"] == case_id}


def _internal_to_hold(cli, now: str, *extra: str) -> list[dict]:
    result = cli("due", "--json", "--within", "60", *extra, env={"CPCM_NOW": now})
    assert result.code == 0, result.stderr
    return [item for item in result.json() if item["code"] == "conference-cadence" and "internal" in item["title"]]


def test_due__the_first_internal_conference_keeps_its_date_day_after_day_and_goes_overdue(kenya):
    """The repository was started on 23 Nov (NOW): with no internal conference held, the first is due
    a month later, the same date whichever day the supervisor asks, and overdue once it has passed;
    it was listed as due at the moment of asking, every day, and so never overdue."""
    sup = kenya("sup")
    for day, state in (("2026-11-24T09:00:00+03:00", "upcoming"), ("2026-11-25T09:00:00+03:00", "upcoming"),
                       ("2026-12-20T09:00:00+03:00", "due_soon"), ("2026-12-24T09:00:00+03:00", "overdue")):
        (item,) = _internal_to_hold(sup, day)
        assert (item["due"], item["state"], item["owner"]) == ("2026-12-23T09:00+03:00", state, "supervisors"), day
        assert "the repository's start on 2026-11-23" in item["why"] and "repository's start" in item["source"]
    assert [i["due"] for i in _internal_to_hold(sup, "2026-12-24T09:00:00+03:00", "--overdue")] == ["2026-12-23T09:00+03:00"]
    # a conference planned then, within the month, is the one to hold: still overdue since the 23rd until it is held
    planned = sup("conference", "new", "--kind", "internal", "--date", "2027-01-05", "--venue", "Meeting room", "--json",
                  env={"CPCM_NOW": "2026-12-24T09:00:00+03:00"})
    assert planned.code == 0, planned.stderr
    (item,) = _internal_to_hold(sup, "2026-12-26T09:00:00+03:00")
    assert item["case_id"] == planned.json()["conference_id"] and item["state"] == "overdue"
    assert item["due"] == "2026-12-23T09:00+03:00" and "overdue since 2026-12-23" in item["why"]
