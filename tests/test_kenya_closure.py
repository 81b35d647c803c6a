"""Closure the Kenyan way (DCS AFC Form 9A) and transfer (Form 10A) in the kenya profile: the
form's checklist, the child's and the caregiver's feedback, and the Sub-County Children's
Officer's final approval as an external sign-off a supervisor enters (never a --check, never a
team member); the closure report prints them."""
from __future__ import annotations

import json
import re

from conftest import commit_count, git, register
from conftest import SCCO, reunified
from test_readiness import KENYA_GOALS_MET, answers, record

from cpcm.store import policies

FORM_9A = ["final_visit_scheduled", "closure_recommended_and_acc_approved", "referrals_completed_and_plans_made",
           "future_support_explained", "scco_final_approval"]


def test_policy__kenya_goals_met_is_form_9a_and_the_scco_signs_it_off():
    kenya_policy, inter = policies.load("kenya"), policies.load("inter-agency")
    assert kenya_policy.get("closure_reasons", "goals_met") == FORM_9A
    assert "paperwork_to_statutory_authority" in kenya_policy.get("closure_reasons", "transferred")
    assert kenya_policy.get("closure_reasons", "declined") == inter.get("closure_reasons", "declined")  # "other reasons"
    assert kenya_policy.get("closure_sign_off", "required") is True and inter.get("closure_sign_off", "required") is False
    assert (kenya_policy.get("closure_sign_off", "party"), kenya_policy.get("closure_sign_off", "item")) == ("scco", "scco_final_approval")
    assert "Form 9A" in kenya_policy.source("closure_sign_off") and "Form 9A" in kenya_policy.source("closure_reasons")


def test_close__goals_met_waits_for_the_scco_sign_off_that_a_supervisor_enters(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert record(amina, case_id, answers()).code == 0
    commits = commit_count(kenya.root)
    old_list = amina("close", case_id, "--reason", "goals_met", "--check", "child_safe", "--explain-open", "none", "--json")
    assert old_list.code == 4
    fields = {f["field"] for f in old_list.json()["fields"]}
    assert {"checklist.final_visit_scheduled", "checklist.future_support_explained", "checklist"} <= fields
    assert "checklist.scco_final_approval" not in fields  # confirmed by the sign-off, not asked as a --check
    ticked = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--check", "scco_final_approval",
                   "--explain-open", "none", "--json")
    assert ticked.code == 4 and [f["field"] for f in ticked.json()["fields"]] == ["sign_off", "checklist.scco_final_approval"]
    unsigned = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none", "--json")
    assert unsigned.code == 4 and unsigned.json()["rule"] == "closure-sign-off"
    assert [f["field"] for f in unsigned.json()["fields"]] == ["sign_off"]
    assert f"cpcm sign-off {case_id} --for closure --party scco" in unsigned.json()["fields"][0]["reason"]
    by_worker = amina("sign-off", case_id, *SCCO, "--json")
    assert by_worker.code == 4 and by_worker.json()["rule"] == "sign-off-role"
    assert commit_count(kenya.root) == commits  # nothing was written
    not_approved = sup("sign-off", case_id, *SCCO, "--decision", "not_approved")
    assert not_approved.code == 0, not_approved.stderr
    still = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none", "--json")
    assert still.code == 4 and still.json()["rule"] == "closure-sign-off"  # a sign-off that did not approve
    signed = sup("sign-off", case_id, *SCCO, "--reference", "SCCO/KSM/114", "--json")
    assert signed.code == 0, signed.stderr
    assert signed.json()["kind"] == "sign_off"
    read_back = sup("show", case_id, signed.json()["record_id"])  # the approver in the form's words, its code beside
    assert read_back.code == 0 and "Sub-County Children's Officer (scco)" in read_back.stdout, read_back.stdout
    read_answers = {a["field"]: a for a in sup("show", case_id, signed.json()["record_id"], "--json").json()["answers"]}
    assert read_answers["party"]["value"] == "scco" and read_answers["party"]["words"] == "Sub-County Children's Officer"
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none", "--json")
    assert closed.code == 0, closed.stderr
    assert sup("approve", case_id, "closure").code == 0
    shown = sup("show", case_id, "closure", "--json").json()
    assert "scco_final_approval" in shown["fields"]["checklist"]
    assert [o["name"] for o in shown["fields"]["sign_offs"]] == ["J. Mwangi"]


def test_close__after_a_reopening_only_an_scco_approval_dated_since_it_lets_the_closure_through(kenya):
    """The Sub-County Children's Officer's approval must be one given since the case was last
    reopened, by the approval's own date: one dated before the reopening, entered after it, was for
    the earlier closure (the gate read when it was entered and let it close the new episode). The
    refusal says none since the reopening while the earlier one is on the case; the sign-off
    dated before it says so when it is entered; one dated the day of the reopening counts."""
    case_id = reunified(kenya)  # the sign-off of the first closure, dated 2026-11-20
    amina, sup = kenya("amina"), kenya("sup")
    assert record(amina, case_id, answers()).code == 0
    assert amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "the family carries on").code == 0
    assert sup("approve", case_id, "closure").code == 0
    assert kenya("amina", "2027-05-01T09:00:00+03:00")("reopen", case_id, "--reason", "new report from the school").code == 0
    worker, supervisor = kenya("amina", "2027-05-03T09:00:00+03:00"), kenya("sup", "2027-05-03T09:00:00+03:00")
    assert record(worker, case_id, answers()).code == 0
    close = ("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "the family carries on", "--json")
    refused = worker(*close)
    assert refused.code == 4 and [f["field"] for f in refused.json()["fields"]] == ["sign_off"], refused.stdout
    said = refused.json()["fields"][0]["reason"]
    assert "none given since the case was reopened on 2027-05-01 is on the case" in said and "none is on the case" not in said
    dated_before = supervisor("sign-off", case_id, *SCCO[:-1], "2027-04-30")
    assert dated_before.code == 0 and "dated before the case was reopened (2027-05-01)" in dated_before.stderr, dated_before.stderr
    assert "the closure can be requested now" not in dated_before.stdout + dated_before.stderr
    still = worker(*close)
    assert still.code == 4 and still.json()["rule"] == "closure-sign-off", still.stdout
    signed = supervisor("sign-off", case_id, *SCCO[:-1], "2027-05-01")
    assert signed.code == 0 and "dated before" not in signed.stderr and "the closure can be requested now" in signed.stdout + signed.stderr
    closed = worker(*close)
    assert closed.code == 0, closed.stdout
    kept = supervisor("show", case_id, "closure", "--json").json()["fields"]
    assert "scco_final_approval" in kept["checklist"]
    assert [o["date"] for o in kept["sign_offs"]] == ["2027-05-01"]  # not the one dated before the reopening


def test_close__after_a_reopening_a_readiness_record_of_before_it_does_not_count(kenya):
    """Form 7A recorded before the case was reopened reviewed the time before the new concern: the
    closure of the reopened case needs one since, as the officer's sign-off does (it let the case
    close again, while still recent enough). The refusal says so; recorded again, it closes."""
    case_id = reunified(kenya)
    amina, sup = kenya("amina"), kenya("sup")
    assert record(amina, case_id, answers()).code == 0
    assert amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "the family carries on").code == 0
    assert sup("approve", case_id, "closure").code == 0
    assert kenya("amina", "2026-11-25T09:00:00+03:00")("reopen", case_id, "--reason", "new report from the school").code == 0
    worker, supervisor = kenya("amina", "2026-11-26T09:00:00+03:00"), kenya("sup", "2026-11-26T09:00:00+03:00")
    assert supervisor("sign-off", case_id, *SCCO[:-1], "2026-11-25").code == 0
    close = ("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "the family carries on", "--json")
    refused = worker(*close)
    assert refused.code == 4 and [f["field"] for f in refused.json()["fields"]] == ["readiness"], refused.stdout
    assert "was made before the case was reopened (2026-11-25)" in refused.json()["fields"][0]["reason"]
    # cpcm show says it of the latest readiness record, as it says one made before the child went home
    assert "made before the case was reopened (2026-11-25), so it does not count for closure" in worker("show", case_id).stdout
    assert worker("show", case_id, "--json").json()["readiness"]["reopened_at"].startswith("2026-11-25")
    assert record(worker, case_id, answers()).code == 0
    assert worker(*close).code == 0


def test_close__every_problem_in_one_refusal_the_records_to_make_first(kenya):
    """A Form 9A closure asked for with nothing ready (no readiness record, no sign-off, no
    feedback, open items unexplained) is refused once, naming every problem, each with the rule
    it breaks and what to do, the records to make first in the order they are made; nothing is
    written. Once they are recorded and the fields given, it goes through."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    commits = commit_count(kenya.root)
    asked = ("close", case_id, "--reason", "goals_met", "--check", "all")
    refused = amina(*asked, "--json")
    assert refused.code == 4, refused.stderr
    body = refused.json()
    assert [f["field"] for f in body["fields"]] == ["readiness", "sign_off", "feedback.child_given", "feedback.caregiver_given",
                                                    "open_items_explained"]
    assert body["rule"] == "closure-readiness"  # the first to put right
    assert body["rules"] == ["closure-readiness", "closure-sign-off", "form-validation"]
    reasons = {f["field"]: f["reason"] for f in body["fields"]}
    assert f"cpcm readiness {case_id}" in reasons["readiness"] and "--override-readiness" in reasons["readiness"]
    assert f"cpcm sign-off {case_id} --for closure --party scco" in reasons["sign_off"]
    assert "--child-feedback" in reasons["feedback.child_given"] and "--explain-open" in reasons["open_items_explained"]
    said = amina(*asked)  # on stderr, in the same order, in one message
    assert said.code == 4 and said.stdout == ""
    lines = [line.strip() for line in said.stderr.splitlines() if line.strip().startswith("- ")]
    assert [line.split(":")[0] for line in lines] == ["- readiness", "- sign_off", "- feedback.child_given",
                                                      "- feedback.caregiver_given", "- --explain-open (open_items_explained)"], said.stderr
    assert said.stderr.count("error:") == 1 and "(5 problems)" in said.stderr and "nothing was written" in said.stderr
    assert commit_count(kenya.root) == commits  # nothing was written
    assert record(amina, case_id, answers()).code == 0
    assert sup("sign-off", case_id, *SCCO).code == 0
    left = amina(*asked, "--json")  # what is left: the request's own fields
    assert left.code == 4 and left.json()["rule"] == "form-validation" and "rules" not in left.json()
    assert [f["field"] for f in left.json()["fields"]] == ["feedback.child_given", "feedback.caregiver_given", "open_items_explained"]
    closed = amina(*asked, "--set", "feedback.child_given=no", "--caregiver-feedback", "the visits helped", "--explain-open", "none")
    assert closed.code == 0, closed.stderr


def test_close__a_check_not_on_the_checklist_is_counted_and_the_checklist_listed_not_named_as_the_wrong_one(kenya):
    """An item of another reason's list and a misspelt one, beside `--check all`: the refusal says
    how many values are not on the reason's checklist and lists that checklist (Form 9A, without
    the sign-off's item); it never lists a required item as the wrong one, nor repeats a value."""
    amina = kenya("amina")
    case_id = register(amina)
    commits = commit_count(kenya.root)
    refused = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--check", "all", "--check", "child_safe",
                    "--check", "final_visitt", "--explain-open", "none", "--json")
    assert refused.code == 4 and commit_count(kenya.root) == commits
    reasons = [f["reason"] for f in refused.json()["fields"] if f["field"] == "checklist"]
    assert len(reasons) == 1, refused.json()
    assert reasons[0].startswith("2 --check value(s) given are not on the 'goals_met' checklist")
    assert ("final_visit_scheduled, closure_recommended_and_acc_approved, referrals_completed_and_plans_made, "
            "future_support_explained") in reasons[0]
    assert "scco_final_approval" not in reasons[0] and "child_safe" not in reasons[0] and "visitt" not in reasons[0]
    assert reasons[0].endswith("(or all)")


def test_sign_off__round_trip_in_show_and_in_the_closure_report(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert record(amina, case_id, answers()).code == 0
    acc = sup("sign-off", case_id, "--for", "closure", "--party", "acc", "--name", "Nyalenda ACC", "--title",
              "Alternative care committee, Kisumu Central", "--date", "2026-11-18", "--json")
    assert acc.code == 0, acc.stderr
    scco = sup("sign-off", case_id, *SCCO, "--note", "closure plan reviewed", "--json")
    shown = sup("show", case_id, "sign-off", "--json")
    assert shown.code == 0, shown.stderr
    view = shown.json()
    assert view["record_id"] == scco.json()["record_id"] and view["kind"] == "sign_off" and view["by"] == "sup"
    assert {k: view["fields"][k] for k in ("subject", "party", "name", "title", "date", "decision", "note")} == {
        "subject": "closure", "party": "scco", "name": "J. Mwangi", "title": "Sub-County Children's Officer",
        "date": "2026-11-20", "decision": "approved", "note": "closure plan reviewed"}
    first = sup("show", case_id, "sign-off@1", "--json").json()
    assert first["fields"]["party"] == "acc"
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET[:-4], "--child-feedback", "I like living with my aunt",
                   "--caregiver-feedback", "the visits helped", "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    for fmt in ("md", "html"):
        report = sup("render", "closure-report", case_id, "--format", fmt)
        assert report.code == 0, report.stderr
        text = report.stdout
        assert "The Sub-County Children&#39;s Officer reviewed the closure plan" in text or \
            "The Sub-County Children's Officer reviewed the closure plan" in text
        assert "Signed off by J. Mwangi" in text and "20 November 2026" in text
        assert "External sign-off" in text and "Nyalenda ACC" in text and "Alternative care committee" in text
        assert "I like living with my aunt" in text and "the visits helped" in text
        assert "A final visit with the child and the family is scheduled." in text
    sw = sup("render", "closure-report", case_id, "--lang", "sw")
    assert sw.code == 0 and "J. Mwangi" in sw.stdout and "External sign-off" not in sw.stdout


def test_sign_off__the_approver_is_named_in_words_in_the_refusal_and_the_documents_as_a_code_in_json(kenya):
    """The approver (a sign-off's party) in the words of the sign-off form's choice_labels: in the
    closure refusal, the closure report's table and the case file, in each language; the codes stay
    in what is typed (--party scco) and in --json values."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert record(amina, case_id, answers()).code == 0
    unsigned = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert unsigned.code == 4
    assert "needs the final approval of the Sub-County Children's Officer (checklist item" in unsigned.stderr, unsigned.stderr
    assert "of the scco" not in unsigned.stderr and f"cpcm sign-off {case_id} --for closure --party scco" in unsigned.stderr
    assert sup("sign-off", case_id, "--for", "closure", "--party", "acc", "--name", "Nyalenda ACC", "--title", "Committee",
               "--date", "2026-11-18").code == 0
    assert sup("sign-off", case_id, *SCCO).code == 0
    assert sup("show", case_id, "sign-off", "--json").json()["fields"]["party"] == "scco"
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    words = {"en": ("Sub-County Children's Officer", "Alternative care committee"),
             "sw": ("Afisa wa Watoto wa Kaunti Ndogo", "Kamati ya malezi mbadala")}
    for lang, (scco, acc) in words.items():
        report = sup("render", "closure-report", case_id, "--lang", lang).stdout
        rows = [line for line in report.splitlines() if "Nyalenda ACC" in line or "J. Mwangi | " in line]
        assert len(rows) == 2 and rows[0].startswith(f"| {acc} |") and rows[1].startswith(f"| {scco} |"), (lang, rows)
        case_file = sup("render", "case-file", case_id, "--lang", lang).stdout
        assert f":** {acc}" in case_file and f":** {scco}" in case_file, lang
        assert ":** acc" not in case_file and ":** scco" not in case_file, lang


def test_close__kenya_asks_whether_the_child_and_the_caregiver_gave_feedback(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    assert record(amina, case_id, answers()).code == 0
    missing = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET[:-4], "--explain-open", "none", "--json")
    assert missing.code == 4
    assert [f["field"] for f in missing.json()["fields"]] == ["feedback.child_given", "feedback.caregiver_given"]
    no_words = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET[:-4], "--set", "feedback.child_given=yes",
                     "--set", "feedback.caregiver_given=no", "--explain-open", "none", "--json")
    assert no_words.code == 4 and [f["field"] for f in no_words.json()["fields"]] == ["feedback.child"]


def test_close__a_feedback_option_combines_with_set_for_the_other_giver(kenya):
    """The documented way: --child-feedback for the child, --set feedback.caregiver_given=no for
    the caregiver (the option sets its own fields and keeps the other giver's)."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya)
    assert record(amina, case_id, answers()).code == 0
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET[:-4], "--child-feedback", "Nimefurahi",
                   "--set", "feedback.caregiver_given=no", "--explain-open", "none", "--json")
    assert closed.code == 0, closed.stderr
    feedback = sup("show", case_id, "closure", "--json").json()["fields"]["feedback"]
    assert feedback["child"] == "Nimefurahi" and feedback["child_given"] in (True, "yes")
    assert feedback["caregiver_given"] in (False, "no") and not feedback.get("caregiver")


def test_inter_agency__closure_needs_no_sign_off_and_no_feedback(cli, cli_as):
    from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
    from test_readiness import GOALS_MET

    case_id = register(cli)
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    assert cli_as("sup")("approve", case_id, "plan").code == 0
    assert cli("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
               "--risk-increased", "no").code == 0
    closed = cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    report = cli_as("sup")("render", "closure-report", case_id)
    assert "External sign-off" not in report.stdout and "Feedback on the services" not in report.stdout


# -- transfer (Form 10A) ------------------------------------------------------------------------
FORM_10A = {"reason": "moved_out_of_area", "case_manager_contact": "Tumaini CCI office, 0700 000 000",
            "household_strengths": "the aunt has a small shop and a garden", "ongoing_needs": "school fees for next term",
            "final_assistance": "uniform and books", "next_followup": "2026-12-15"}


def kenya_transfer_case(kenya, team) -> str:
    amina, sup = kenya("amina"), kenya("sup")
    assert sup("service", "add", "recv", "--provider", "Receiving CCI", "--sector", "alternative_care", "--offers",
               "case management", "--recipient", team["otieno"][1]).code == 0
    case_id = register(amina)
    for giver in ("child", "caregiver"):
        assert amina("consent", case_id, "--purpose", "transfer", "--agency", "recv", "--status", "given", "--explained", "all",
                     "--by", giver).code == 0
    return case_id


TRANSFER = ["--to", "recv", "--reason", "the family moved to Nakuru", "--reason-code", "relocation", "--check", "all"]


def test_transfer__kenya_a_missing_form_10a_says_how_its_fields_are_given_not_only_which(kenya, team):
    """`--reason` is the good cause; Form 10A's own `reason` is a field of the form: the refusal
    names the missing fields and says how to give them, and writes nothing."""
    amina = kenya("amina")
    case_id = kenya_transfer_case(kenya, team)
    commits = commit_count(kenya.root)
    bare = amina("transfer", case_id, *TRANSFER)
    assert bare.code == 4 and "reason: is required" in bare.stderr
    assert "--set reason=" in bare.stderr and "--from-file" in bare.stderr and "cpcm form blank transfer-kenya" in bare.stderr
    assert "nothing was written" in bare.stderr.lower() and commit_count(kenya.root) == commits
    fixed = amina("transfer", case_id, *TRANSFER, *[a for k, v in FORM_10A.items() for a in ("--set", f"{k}={v}")], "--json")
    assert fixed.code == 0 and fixed.json()["kind"] == "transfer_request", fixed.stderr


def test_transfer__kenya_without_consent_checklist_or_form_10a_is_refused_once_naming_all_three(kenya, team):
    """A transfer asked for with no consent recorded, no checklist and no Form 10A is refused once:
    the consent to record first, then the checklist and the form's fields, each with what to do;
    nothing is written."""
    amina, sup = kenya("amina"), kenya("sup")
    assert sup("service", "add", "recv", "--provider", "Receiving CCI", "--sector", "alternative_care", "--offers",
               "case management", "--recipient", team["otieno"][1]).code == 0
    case_id = register(amina)
    commits = commit_count(kenya.root)
    asked = ("transfer", case_id, "--to", "recv", "--reason", "the family moved to Nakuru", "--reason-code", "relocation")
    refused = amina(*asked, "--json")
    assert refused.code == 4, refused.stderr
    fields = [f["field"] for f in refused.json()["fields"]]
    assert fields[0] == "consent" and fields[-4:] == ["reason", "household_strengths", "ongoing_needs", "next_followup"]
    assert fields[1:-4] and all(f.startswith("check.") for f in fields[1:-4]), fields
    assert refused.json()["rule"] == "consent-required" and refused.json()["rules"] == ["consent-required", "form-validation"]
    assert f"cpcm consent {case_id} --purpose transfer" in refused.json()["fields"][0]["reason"]
    said = amina(*asked)
    assert said.code == 4 and said.stderr.count("error:") == 1 and "cpcm form blank transfer-kenya" in said.stderr
    assert commit_count(kenya.root) == commits
    for giver in ("child", "caregiver"):
        assert amina("consent", case_id, "--purpose", "transfer", "--agency", "recv", "--status", "given", "--explained", "all",
                     "--by", giver).code == 0
    left = amina(*asked, "--check", "all", "--json")
    assert left.code == 4 and left.json()["rule"] == "form-validation"
    assert [f["field"] for f in left.json()["fields"]] == ["reason", "household_strengths", "ongoing_needs", "next_followup"]


def test_transfer__kenya_takes_form_10a_and_the_summary_prints_it(kenya, team, tmp_env):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = kenya_transfer_case(kenya, team)
    commits = commit_count(kenya.root)
    bare = amina("transfer", case_id, *TRANSFER, "--json")
    assert bare.code == 4
    assert [f["field"] for f in bare.json()["fields"]] == ["reason", "household_strengths", "ongoing_needs", "next_followup"]
    removed = amina("transfer", case_id, *TRANSFER, "--from-file", "-", "--set", "reason=child_removed", "--json",
                    input=json.dumps(FORM_10A))
    assert removed.code == 4 and [f["field"] for f in removed.json()["fields"]] == ["removed_by"]
    assert commit_count(kenya.root) == commits
    asked = amina("transfer", case_id, *TRANSFER, "--from-file", "-", "--json", input=json.dumps(FORM_10A))
    assert asked.code == 0 and asked.json()["kind"] == "transfer_request", asked.stderr
    assert sup("approve", case_id, "transfer").code == 0
    bundle = tmp_env / "k.transfer.age"
    sent = amina("transfer", case_id, *TRANSFER, "--out", str(bundle), "--json")  # the request's Form 10A is used
    assert sent.code == 0 and sent.json()["kind"] == "transfer", sent.stderr
    shown = sup("show", case_id, "transfer", "--json").json()
    assert shown["fields"]["details"]["household_strengths"] == FORM_10A["household_strengths"]
    for fmt in ("md", "html"):
        summary = sup("render", "transfer-summary", case_id, "--format", fmt)
        assert summary.code == 0, summary.stderr
        assert "Transfer form (Form 10A)" in summary.stdout and "the aunt has a small shop and a garden" in summary.stdout
        assert "the family moved out of the operational area" in summary.stdout and "15 December 2026" in summary.stdout
    sw = sup("render", "transfer-summary", case_id, "--lang", "sw")
    assert "Form 10A" not in sw.stdout.replace("Fomu 10A", "") and "Fomu 10A" in sw.stdout
    for text in (sup("render", "transfer-summary", case_id).stdout, sw.stdout):  # one blank line between the parts
        assert "\n\n\n" not in text, re.sub(r"\n{3,}", "<<here>>", text)


def _to_be_transferred(amina, sup, receiving) -> str:
    """A case of amina's, with the receiving agency in the service directory and the child's and the
    caregiver's consent to transfer it there."""
    assert sup("service", "add", "recv", "--provider", "Receiving CCI", "--sector", "alternative_care", "--offers",
               "case management", "--recipient", receiving.keys["wanjiru"][1]).code == 0
    case_id = register(amina)
    for giver in ("child", "caregiver"):
        assert amina("consent", case_id, "--purpose", "transfer", "--agency", "recv", "--status", "given", "--explained", "all",
                     "--by", giver).code == 0
    return case_id


def test_transfer__form_10a_s_next_followup_is_due_for_the_case_s_worker_here_then_at_the_receiving_agency(
        kenya, receiving, tmp_env):
    """Form 10A's date of the next follow-up plans it as a follow-up's date does: on the case's worker's
    `cpcm due` while the case is here, and, the request going with the case, on the receiving worker's."""
    amina, sup, wanjiru = kenya("amina"), kenya("sup"), receiving.as_("wanjiru")
    case_id = _to_be_transferred(amina, sup, receiving)

    def next_followups(cli) -> list[tuple[str, str, str]]:
        due = cli("due", "--within", "60", "--json").json()
        return [(i["case_id"], i["due"][:10], i["why"]) for i in due if i["code"] == "next-followup"]
    assert next_followups(amina) == []
    asked = amina("transfer", case_id, *TRANSFER, "--from-file", "-", "--json", input=json.dumps(FORM_10A))
    assert asked.code == 0, asked.stderr
    [(due_case, day, why)] = next_followups(amina)
    assert (due_case, day) == (case_id, "2026-12-15") and why.startswith("the transfer request of 2026-11-23 planned the next on")
    assert sup("approve", case_id, "transfer").code == 0
    bundle = tmp_env / "k.transfer.age"
    assert amina("transfer", case_id, *TRANSFER, "--out", str(bundle)).code == 0
    assert next_followups(amina) == []  # transferred: no longer this agency's to follow up
    received = wanjiru("receive", str(bundle), "--json")
    assert received.code == 0, received.stderr
    assert [(c, d) for c, d, _ in next_followups(wanjiru)] == [(received.json()["case_id"], "2026-12-15")]


def test_transfer__with_no_approval_form_10a_goes_with_the_bundle_and_its_next_followup_is_due_at_the_receiving_agency(
        kenya, receiving, tmp_env):
    """Where the policy asks no approval of a transfer, the bundle is written at once, with no request
    in it: Form 10A goes in the bundle all the same, the receiving agency's record of its arrival
    holds it, and its date of the next follow-up is on the receiving worker's `cpcm due`."""
    amina, sup, wanjiru = kenya("amina"), kenya("sup"), receiving.as_("wanjiru")
    no_approval = tmp_env / "no-approval.yaml"
    no_approval.write_text("rules:\n  transfer_approval:\n    required: false\n")
    assert sup("policy", "set", str(no_approval)).code == 0
    case_id = _to_be_transferred(amina, sup, receiving)
    bundle = tmp_env / "k.transfer.age"
    sent = amina("transfer", case_id, *TRANSFER, "--from-file", "-", "--out", str(bundle), "--json", input=json.dumps(FORM_10A))
    assert sent.code == 0 and sent.json()["kind"] == "transfer", sent.stderr
    received = wanjiru("receive", str(bundle), "--json")
    assert received.code == 0, received.stderr
    here = received.json()["case_id"]
    due = [i for i in wanjiru("due", "--within", "60", "--json").json() if i["code"] == "next-followup"]
    assert [(i["case_id"], i["due"][:10]) for i in due] == [(here, "2026-12-15")], due
    assert due[0]["why"].startswith("the transfer form received on 2026-11-23 planned the next on 2026-12-15"), due[0]["why"]
    arrived = wanjiru("show", here, "transfer_in", "--json").json()
    assert arrived["fields"]["details"]["household_strengths"] == FORM_10A["household_strengths"]
    shown = wanjiru("show", here).stdout  # said as due says it: no follow-up was made that day
    assert "(planned by the transfer form received on 2026-11-23)" in shown, shown


def test_transfer__the_inter_agency_profile_takes_no_transfer_form(cli, cli_as):
    case_id = register(cli)
    refused = cli("transfer", case_id, "--to", "recv", "--reason", "moved", "--reason-code", "relocation", "--check", "all",
                  "--set", "ongoing_needs=school fees", "--json")
    assert refused.code == 4 and [f["field"] for f in refused.json()["fields"]] == ["details"]
    assert "school fees" not in refused.stdout + refused.stderr


def test_sign_off__log_says_what_was_signed_off_by_whom_without_a_name(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya)
    entry = [e for e in sup("log", case_id, "--json").json() if e["kind"] == "sign_off"][-1]
    assert entry["what"] == "closure by scco: approved" and "Mwangi" not in json.dumps(entry)
    shown = sup("show", case_id, "sign-off", "--json").json()
    assert shown["form"] == "sign-off" and shown["labels"]["name"]["en"] == "The approver's name"


def test_close__the_only_supervisor_closing_a_workers_case_is_told_and_can_withdraw_the_request(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    declined = ("--reason", "declined", "--check", "decision_respected", "--check", "no_grounds_to_override",
                "--check", "child_safe_enough")
    asked = sup("close", case_id, *declined, "--no-input")
    assert asked.code == 0, asked.stderr
    out = asked.stdout + asked.stderr
    assert "approves it" not in out  # nobody may: no `cpcm approve` is named
    assert "nobody in the team may approve the closure" in out and f"cpcm close {case_id} --withdraw" in out
    assert sup("approve", case_id, "closure").code == 4
    commits = commit_count(kenya.root)
    theirs = amina("close", case_id, "--withdraw", "--reason", "not mine", "--json")
    assert theirs.code == 4 and theirs.json()["rule"] == "withdraw-own-only"
    mixed = sup("close", case_id, "--withdraw", "--reason", "x", "--check", "decision_respected")
    assert mixed.code == 2 and "--check" in mixed.stderr
    assert commit_count(kenya.root) == commits
    withdrawn = sup("close", case_id, "--withdraw", "--reason", "asked for by mistake", "--json")
    assert withdrawn.code == 0, withdrawn.stderr
    assert withdrawn.json()["kind"] == "withdrawal"
    assert git(kenya.root, "log", "-1", "--format=%s").startswith(f"withdraw {case_id} ")
    shown = sup("show", case_id, "--json").json()
    assert (shown["stage"], shown["status"]) == ("registered", "open")
    logged = sup("log", case_id, "--json").json()
    assert [(e["kind"], e["what"]) for e in logged][-1] == ("withdrawal", "closure")
    assert "withdrawal" in sup("log", case_id).stdout
    assert sup("verify").code == 0


def test_case_file__the_sign_offs_a_closure_keeps_in_words(kenya):
    """The sign-offs a closure keeps were printed as an empty 'sign offs:' in the case file; they
    are listed, the approver in words and every field named in the document's language."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya, sign_off=False)
    assert record(amina, case_id, answers()).code == 0
    assert sup("sign-off", case_id, *SCCO).code == 0
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    case_file = sup("render", "case-file", case_id, "--lang", "sw").stdout
    closure = next(part for part in case_file.split("\n### ") if part.split("\n")[0].endswith(". Kufunga kesi"))
    kept = closure[closure.index("**idhini za nje:**"):]
    assert "**mwidhinishaji:** Afisa wa Watoto wa Kaunti Ndogo" in kept and "J. Mwangi" in kept
    labels = set(re.findall(r"^\s*- \*\*([^*]+):\*\*", kept, re.M))
    assert not labels & {"party", "title", "entered by", "reference", "record id", "sign offs"}, labels


def test_closure_report__the_visits_since_the_plan_version_the_rule_counts_and_all_since_the_reunification(kenya):
    """A plan version that only moved a date starts the rule's count again: the report says the
    follow-ups since that version (what pre_closure_monitoring counts) and how many there were in all
    since the reunification, here every one a home visit, and the monitoring visits as `show` counts
    them (was: "1 monitoring visit since the plan" beside `monitoring x6`), in both languages and formats."""
    case_id = reunified(kenya)
    visit = ("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
             "--visited-by", "professional", "--risk-increased", "no")
    for day in ("2026-12-01", "2026-12-15", "2027-01-05", "2027-01-20"):
        assert kenya("amina", f"{day}T10:00:00+03:00")(*visit).code == 0
    moved = kenya("amina", "2027-02-01T10:00:00+03:00")("plan", case_id, "--from-current", "--reason", "review",
                                                        "--set", "actions.A1.by=2027-03-31")
    assert moved.code == 0, moved.stderr
    assert kenya("sup", "2027-02-01T11:00:00+03:00")("approve", case_id, "plan").code == 0
    amina = kenya("amina", "2027-02-10T10:00:00+03:00")
    assert amina(*visit).code == 0
    assert record(amina, case_id, answers()).code == 0
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    assert "monitoring x6" in amina("show", case_id).stdout
    sup = kenya("sup", "2027-02-11T10:00:00+03:00")
    for fmt in ("md", "html"):
        text = sup("render", "closure-report", case_id, "--format", fmt).stdout
        assert ("1 follow-up since plan version 3 of 1 February 2027, the last on 10 February 2027 "
                "(the policy asks for 1); 6 in all since the reunification. Monitoring visits (home visits) since the "
                "child went home on 23 November 2026: 6, the last on 10 February 2027.") in text, text
        sw = sup("render", "closure-report", case_id, "--format", fmt, "--lang", "sw").stdout
        assert ("Ufuatiliaji tangu toleo la 3 la mpango (la tarehe 1 Februari 2027): 1; wa mwisho ulikuwa "
                "tarehe 10 Februari 2027 (sera inataka angalau 1); jumla ya 6 tangu mtoto arudi kwa familia. Ziara za "
                "ufuatiliaji (ziara za nyumbani) tangu mtoto arudi kwa familia tarehe 23 Novemba 2026: 6; ya mwisho "
                "ilikuwa tarehe 10 Februari 2027.") in sw, sw


def test_closure_report__a_phone_call_and_an_office_contact_are_follow_ups_not_monitoring_visits(kenya):
    """The report called every follow-up since the plan a monitoring visit ("6 monitoring visits"
    beside `monitoring x3` on `show`): it gives the follow-ups the pre_closure_monitoring rule
    counts (a phone call and an office contact too) as follow-ups, and the monitoring visits (home
    visits since the child went home) as `show` counts them, by the one count
    (`placements.monitoring_visits_since`)."""
    case_id = reunified(kenya)
    contact = ("--visited-by", "professional", "--risk-increased", "no")
    amina = kenya("amina", "2026-12-01T10:00:00+03:00")
    assert amina("followup", case_id, "--method", "phone", "--purpose", "monitoring", *contact).code == 0
    amina = kenya("amina", "2026-12-02T10:00:00+03:00")
    assert amina("followup", case_id, "--method", "office", "--purpose", "plan_action", *contact).code == 0
    amina = kenya("amina", "2026-12-10T10:00:00+03:00")
    assert amina("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail",
                 "check school", *contact).code == 0
    assert record(amina, case_id, answers()).code == 0
    closed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr
    assert "monitoring x2" in amina("show", case_id).stdout
    text = kenya("sup", "2026-12-11T10:00:00+03:00")("render", "closure-report", case_id).stdout
    assert ("4 follow-ups since plan version 2 of 23 November 2026, the last on 10 December 2026 (the policy asks "
            "for 1). Monitoring visits (home visits) since the child went home on 23 November 2026: 2, the last on "
            "10 December 2026.") in text, text
    assert "monitoring visits since" not in text, text


def test_sign_off__dated_before_the_case_was_received_here_is_not_this_agencys():
    """An approval dated before the case came from another agency (entered here after) was for a closure
    there: it counts for none here, as one dated before a reopening counts for none since."""
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from cpcm.domain.case import Case
    from cpcm.service.closure import _signed_before_reopening

    zone = ZoneInfo("Africa/Nairobi")
    case = Case("CP-0000-0000", registered_at="2026-01-05T08:00:00+00:00", events={"transfer_in": ["2026-06-01T08:00:00+00:00"]})
    signed = lambda day: SimpleNamespace(body={"date": day}, at="2026-06-10T08:00:00+00:00")  # noqa: E731
    assert _signed_before_reopening(case, signed("2026-05-20"), zone)
    assert not _signed_before_reopening(case, signed("2026-06-01"), zone)  # the day it came: its whole day
    assert not _signed_before_reopening(Case("CP-0000-0000", registered_at="2026-01-05T08:00:00+00:00"), signed("2026-05-20"), zone)
