"""Rendering the end of a case: the closure report and the transfer summary (en, sw; golden
files for Markdown, every template checked in HTML), the refusal when there is nothing to
report (exit 4), and `--out` without `--plaintext` (an age file, no name in plaintext).

Regenerate the golden files after a deliberate change, and read the diff:

    CPCM_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -o addopts="" -q tests/test_render_closure.py

Random IDs are normalised: case IDs to CP-XXXX-XXXX, record IDs to RECORD-ID and the bundle's
manifest checksum (it covers record IDs and keys) to SHA256.
"""
from __future__ import annotations

import json
import re

import pytest

from conftest import CANARY, register
from test_render import check_golden, normalise as normalise_case_id, planned_case
from test_transfer import REASON, consent

RECORD_ID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
SHA256 = re.compile(r"\b[0-9a-f]{64}\b")
GOALS_MET = ["--check", "child_safe", "--check", "wellbeing_supported", "--check", "no_further_concerns",
             "--check", "monitoring_followups_done", "--check", "child_and_family_took_part"]
REVIEW = {
    "chair": "sup", "attended": {"child": "yes", "family": "yes"}, "plan_still_right": "yes",
    "progress": [
        {"item": "G1", "status": "done", "note": "Three meals a day for two months."},
        {"item": "G2", "status": "in_progress", "note": "Back in school; attendance is good."},
        {"item": "A1", "status": "done"}, {"item": "A2", "status": "done"}, {"item": "A3", "status": "done"},
        {"item": "A4", "status": "in_progress", "note": "Attends most days."},
        {"item": "A5", "status": "dropped", "note": "The club closed."},
    ],
    "decisions": ["close the case once the term ends"], "outcome": "close",
}
SUMMARY = "Neema is back in school and eats three meals a day. The grandmother copes well with the cash transfer."


def normalise(text: str) -> str:
    return SHA256.sub("SHA256", RECORD_ID.sub("RECORD-ID", normalise_case_id(text)))


def ok(result):
    assert result.code == 0, result.stderr
    return result


def worked_case(cli, cli_as, name: str = "Neema Achieng Otieno") -> str:
    """An approved plan, two referrals (one delivered, one still open), a monitoring visit and a
    review that proposes closure; every record at a fixed time."""
    case_id = planned_case(cli, cli_as, name=name)
    sup = cli_as("sup")
    for service, provider, sector in (("clinic", "Nyalenda Health Centre", "health"), ("bursary", "County Bursary Fund", "education")):
        added = sup("service", "add", service, "--provider", provider, "--sector", sector, "--offers", "help")
        assert added.code == 0 or "already in the directory" in added.stderr, added.stderr
    for agency, at in (("clinic", "2026-11-18T09:00:00+03:00"), ("bursary", "2026-11-18T09:10:00+03:00")):
        for giver in ("child", "caregiver"):
            ok(cli("consent", case_id, "--purpose", "referral", "--agency", agency, "--by", giver, "--status", "given",
                   "--explained", "all", "--at", at))
    ok(cli("refer", case_id, "--service", "clinic", "--need", "treatment for malnutrition", "--check", "all",
           "--at", "2026-11-18T10:00:00+03:00"))
    ok(cli("refer", case_id, "--service", "bursary", "--need", "a school uniform", "--check", "all", "--action", "3",
           "--at", "2026-11-18T10:10:00+03:00"))
    ok(cli("referral", case_id, "R1", "--status", "accepted", "--start", "2026-11-25", "--expected-duration", "3mo",
           "--at", "2026-11-19T10:00:00+03:00"))
    ok(cli("referral", case_id, "R2", "--status", "accepted", "--start", "2026-11-20", "--expected-duration", "1w", "--at", "2026-11-19T11:00:00+03:00"))
    ok(cli("referral", case_id, "R2", "--status", "delivered", "--feedback", "Uniform and shoes given.",
           "--at", "2026-11-20T09:00:00+03:00"))
    ok(cli("followup", case_id, "--method", "home_visit", "--purpose", "pre_closure", "--purpose-detail", "check food and school",
           "--visited-by", "professional", "--risk-increased", "no", "--risk", "low", "--risk-reason", "eats well, in school",
           "--at", "2026-11-20T10:00:00+03:00"))
    ok(cli("review", case_id, "--from-file", "-", "--at", "2026-11-21T10:00:00+03:00", input=json.dumps(REVIEW)))
    return case_id


def closed_case(cli, cli_as, name: str = "Neema Achieng Otieno", approve: bool = True) -> str:
    case_id = worked_case(cli, cli_as, name)
    ok(cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--summary", SUMMARY,
           "--explain-open", "The clinic follows up the treatment itself; Neema now goes to school on her own.",
           "--at", "2026-11-22T09:00:00+03:00"))
    if approve:
        ok(cli_as("sup")("approve", case_id, "closure", "--note", "Goals met; agreed.", "--at", "2026-11-22T15:00:00+03:00"))
    return case_id


def transferred_case(cli, cli_as, receiving, tmp_path, acknowledge: bool = True) -> str:  # noqa: F811
    """A worked case transferred to 'recv' (approved, bundle sent), received there, and the
    receipt brought back."""
    case_id = worked_case(cli, cli_as)
    for giver in ("child", "caregiver"):
        ok(cli("consent", case_id, "--purpose", "transfer", "--agency", "recv", "--status", "given", "--explained", "all",
               "--by", giver, "--at", "2026-11-21T12:00:00+03:00"))
    ok(cli("transfer", case_id, *REASON, "--check", "all", "--at", "2026-11-22T09:00:00+03:00"))
    ok(cli_as("sup")("approve", case_id, "transfer", "--at", "2026-11-22T12:00:00+03:00"))
    bundle, receipt = tmp_path / "bundle.age", tmp_path / "receipt.age"
    ok(cli("transfer", case_id, *REASON, "--check", "all", "--out", str(bundle), "--at", "2026-11-22T16:00:00+03:00"))
    if acknowledge:
        ok(receiving.as_("wanjiru")("receive", str(bundle), "--receipt", str(receipt)))
        ok(cli("transfer-ack", str(receipt)))
    return case_id


# -- golden files --------------------------------------------------------------------------------
def _golden(cli, document: str, case_id: str) -> None:
    failures = []
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            result = cli("render", document, case_id, "--lang", lang, "--format", fmt)
            assert result.code == 0, result.stderr
            if fmt == "md":
                try:
                    check_golden(f"{document}.{lang}.md", normalise(result.stdout))
                except AssertionError as exc:
                    failures.append(str(exc))
            else:
                assert result.stdout.startswith("<!DOCTYPE html>") and "<style>" in result.stdout
                assert result.stdout.rstrip().endswith("</html>")
    assert not failures, "\n".join(failures)


def test_closure_report__matches_the_golden_files(cli, cli_as):
    _golden(cli, "closure-report", closed_case(cli, cli_as))


def test_transfer_summary__matches_the_golden_files(sending, receiving, cli_as, tmp_path):  # noqa: F811
    cli = cli_as("amina")
    case_id = transferred_case(cli, cli_as, receiving, tmp_path)
    _golden(cli, "transfer-summary", case_id)
    # at the receiving agency the case has no transfer of its own (the request travelled with it)
    there = receiving.as_("wanjiru")("render", "transfer-summary", case_id)
    assert there.code == 4 and "no transfer to summarise" in there.stderr


# -- what the documents say in the other states --------------------------------------------------
def test_closure_report__a_request_waiting_for_approval_says_so(cli, cli_as):
    case_id = closed_case(cli, cli_as, approve=False)
    text = ok(cli("render", "closure-report", case_id)).stdout
    assert "Waiting for approval" in text and "not closed yet" in text
    assert "Due once the closure is approved" in text
    sw = ok(cli("render", "closure-report", case_id, "--lang", "sw")).stdout
    assert "Inasubiri kuidhinishwa" in sw


def test_closure_report__a_post_closure_visit_done_is_reported_with_the_feedback(cli, cli_as):
    case_id = closed_case(cli, cli_as)
    ok(cli("followup", case_id, "--method", "home_visit", "--purpose", "post_closure", "--purpose-detail", "feedback",
           "--visited-by", "professional", "--risk-increased", "no", "--set", "child_feedback=I like my new school."))
    text = ok(cli("render", "closure-report", case_id)).stdout
    assert "Done on 23 November 2026 by amina" in text and "I like my new school." in text


def test_transfer_summary__before_the_receipt_and_before_approval(sending, receiving, cli_as, tmp_path):  # noqa: F811
    cli = cli_as("amina")
    case_id = transferred_case(cli, cli_as, receiving, tmp_path, acknowledge=False)
    text = ok(cli("render", "transfer-summary", case_id)).stdout
    assert "No receipt yet" in text
    other = worked_case(cli, cli_as)
    consent(cli, other)
    ok(cli("transfer", other, *REASON, "--check", "all"))
    waiting = ok(cli("render", "transfer-summary", other)).stdout
    assert "Waiting for a supervisor's approval" in waiting and "not written yet" in waiting


# -- nothing to report ---------------------------------------------------------------------------
def test_render__no_closure_or_no_transfer_exits_4_without_personal_data(cli, cli_as):
    case_id = planned_case(cli, cli_as, name=CANARY)
    for document, words in (("closure-report", "no closure to report"), ("transfer-summary", "no transfer to summarise")):
        for extra in ((), ("--json",)):
            result = cli("render", document, case_id, *extra)
            assert result.code == 4, (document, result.stderr)
            assert words in (result.stderr + result.stdout)
            assert CANARY.split()[0].lower() not in (result.stdout + result.stderr).lower()
    # reopened: the closure is over, there is nothing to report again
    registered = register(cli)
    ok(cli("close", registered, "--reason", "registered_in_error", "--check", "error_confirmed"))
    ok(cli_as("sup")("approve", registered, "closure"))
    assert cli("render", "closure-report", registered).code == 0
    ok(cli("reopen", registered, "--reason", "new report from the school"))
    assert cli("render", "closure-report", registered).code == 4


def test_closure_report__a_transferred_case_is_refused_saying_it_was_transferred(sending, receiving, cli_as, tmp_path):  # noqa: F811
    """A transferred case's closure report said "it is not closed and no closure is requested ...
    Request closure first: cpcm close ...", which a transferred case cannot do. It says the case
    was transferred, and where its transfer is reported."""
    cli = cli_as("amina")
    case_id = transferred_case(cli, cli_as, receiving, tmp_path)
    result = cli("render", "closure-report", case_id)
    assert result.code == 4, result.stderr
    assert f"{case_id} has no closure to report: it was transferred to agency recv, not closed" in result.stderr
    assert f"cpcm render transfer-summary {case_id}" in result.stderr
    assert "cpcm close" not in result.stderr and "Request closure" not in result.stderr
    assert json.loads(cli("render", "closure-report", case_id, "--json").stdout)["rule"] == "nothing-to-report"


# -- --out ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("document", ["closure-report", "transfer-summary"])
def test_render__out_without_plaintext_writes_an_age_file(document, sending, receiving, cli_as, team, tmp_path):  # noqa: F811
    from cpcm.crypto import cipher, identity

    cli = cli_as("amina")
    if document == "closure-report":
        case_id = closed_case(cli, cli_as, name=CANARY)
    else:
        case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
        consent(cli, case_id)
        ok(cli("transfer", case_id, *REASON, "--check", "all"))
    out = tmp_path / "outside" / f"{document}.html.age"  # the encrypted file's name says so (a .html name is refused)
    out.parent.mkdir()
    result = cli("render", document, case_id, "--out", str(out), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["encrypted"] is True and result.json()["format"] == "html"
    data = out.read_bytes()
    assert data.startswith(cipher.MAGIC)
    for part in CANARY.split():
        assert part.encode() not in data and part.lower().encode() not in data.lower()
    assert CANARY not in result.stderr + result.stdout
    text = cipher.decrypt(data, identity.load(team["amina"][0], lambda: None).keys).decode()
    assert text.startswith("<!DOCTYPE html>") and CANARY in text
    assert not [p for p in out.parent.iterdir() if p.name != out.name]  # no temp file left


def test_closure_report__a_child_never_reunified_has_the_visits_in_all_since_the_first_plan(cli, cli_as):
    """The rule counts the follow-ups since the latest plan version; a version that moved a date
    after the first visit leaves one there, and the report says both."""
    case_id = worked_case(cli, cli_as)
    ok(cli("plan", case_id, "--from-current", "--reason", "review", "--set", "actions.A4.by=2027-03-31",
           "--at", "2026-11-21T12:00:00+03:00"))
    ok(cli_as("sup")("approve", case_id, "plan", "--at", "2026-11-21T13:00:00+03:00"))
    ok(cli("followup", case_id, "--method", "phone", "--purpose", "pre_closure", "--purpose-detail", "school",
           "--visited-by", "professional", "--risk-increased", "no", "--at", "2026-11-21T14:00:00+03:00"))
    ok(cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "The clinic follows up itself.",
           "--at", "2026-11-22T09:00:00+03:00"))
    text = ok(cli("render", "closure-report", case_id)).stdout
    assert ("1 follow-up since plan version 2 of 21 November 2026, the last on 21 November 2026 "
            "(the policy asks for 1); 2 in all since the first plan.") in text, text
    sw = ok(cli("render", "closure-report", case_id, "--lang", "sw", "--format", "html")).stdout
    assert "; jumla ya 2 tangu mpango wa kwanza.</p>" in sw, sw


def test_closure_report__follow_ups_of_a_case_with_no_plan_are_not_said_to_count_since_the_plan(cli, cli_as):
    case_id = register(cli)
    ok(cli("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
           "--risk-increased", "no"))
    ok(cli("close", case_id, "--reason", "declined", "--check", "all", "--explain-open", "none"))
    for fmt in ("md", "html"):
        report = ok(cli_as("sup")("render", "closure-report", case_id, "--format", fmt)).stdout
        assert "1 follow-up before closure" in report and "the case had no plan to count them from" in report
        assert "since the plan" not in report


def test_closure_report__an_approved_request_corrected_since_is_still_approved(cli, cli_as):
    """A correction stands in its original's place: the approval of the request is read through
    the chain (fold.effective), as `cpcm show` reads it, not looked up by the correction's ID."""
    case_id = closed_case(cli, cli_as)
    ok(cli("correct", case_id, "closure", "--set", "summary=Back in school.", "--reason", "typo",
           "--at", "2026-11-22T09:00:00+03:00"))
    ok(cli("correct", case_id, "closure", "--set", "notes=Seen by the head teacher.", "--reason", "added"))
    text = ok(cli("render", "closure-report", case_id)).stdout
    assert "Approved on 22 November 2026 by sup. The case is closed." in text, text
    assert '**Approved:** on 22 November 2026 by sup: "Goals met; agreed."' in text
    assert "Not closed" not in text and "waiting for approval" not in text.lower()
    assert "Due by **Monday 22 February 2027**" in text and "Due once the closure is approved" not in text
    sw = ok(cli("render", "closure-report", case_id, "--lang", "sw", "--format", "html")).stdout
    assert "Inasubiri kuidhinishwa" not in sw


def test_closure_report__a_visit_before_the_plan_corrected_twice_is_not_counted_since_the_plan(cli, cli_as):
    """A correction counts where its original was, a correction of a correction too: the visit of
    20 November, corrected twice after plan version 2, is still a visit from before that version."""
    case_id = worked_case(cli, cli_as)
    ok(cli("plan", case_id, "--from-current", "--reason", "review", "--set", "actions.A4.by=2027-03-31",
           "--at", "2026-11-21T12:00:00+03:00"))
    ok(cli_as("sup")("approve", case_id, "plan", "--at", "2026-11-21T13:00:00+03:00"))
    ok(cli("correct", case_id, "followup", "--set", "purpose_detail=check food", "--reason", "typo"))
    ok(cli("correct", case_id, "followup", "--set", "purpose_detail=check food and school", "--reason", "typo again"))
    # the first version corrected after the second: still the first plan, by its place (not the second by its ID)
    ok(cli_as("sup")("correct", case_id, "plan@1", "--set", "aftercare=Monthly calls from the school.", "--reason", "typo"))
    ok(cli("followup", case_id, "--method", "phone", "--purpose", "pre_closure", "--purpose-detail", "school",
           "--visited-by", "professional", "--risk-increased", "no", "--at", "2026-11-21T14:00:00+03:00"))
    ok(cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "The clinic follows up itself.",
           "--at", "2026-11-22T09:00:00+03:00"))
    text = ok(cli("render", "closure-report", case_id)).stdout
    assert ("1 follow-up since plan version 2 of 21 November 2026, the last on 21 November 2026 "
            "(the policy asks for 1); 2 in all since the first plan.") in text, text


def test_closure_report__a_request_corrected_by_the_supervisor_was_still_asked_for_by_its_worker(cli, cli_as):
    """Who asked for a closure is the writer of the request's first record (approvals.asker), as the
    one who asked takes it back: the supervisor who corrected its summary did not request it."""
    case_id = closed_case(cli, cli_as)
    ok(cli_as("sup")("correct", case_id, "closure", "--set", "summary=Back in school.", "--reason", "typo"))
    text = ok(cli("render", "closure-report", case_id)).stdout
    assert "- **Requested:** on 22 November 2026 by amina" in text, text
    assert ok(cli("show", case_id, "--json")).json()["closure"]["by"] == "amina"


def test_closure_report__visits_are_reported_against_the_rule_only_where_the_rule_asks_for_them(cli, cli_as):
    """pre_closure_monitoring counts the visits before a closure for goals_met (docs/workflow.md):
    a case closed for another reason, with no plan and no visit, owed none, and the report does not
    say the policy asked for one; nor does it of a planned case closed for another reason."""
    case_id = register(cli)
    ok(cli("close", case_id, "--reason", "declined", "--check", "all", "--explain-open", "none"))
    for fmt in ("md", "html"):
        report = ok(cli_as("sup")("render", "closure-report", case_id, "--format", fmt)).stdout
        assert "No follow-ups before closure; the case had no plan to count them from." in report, report
        assert "the policy asks" not in report and "since the plan" not in report, report
    sw = ok(cli_as("sup")("render", "closure-report", case_id, "--lang", "sw")).stdout
    assert "Hakuna ufuatiliaji kabla ya kufunga" in sw, sw

    planned = worked_case(cli, cli_as, name="Achieng Otieno")
    ok(cli("close", planned, "--reason", "declined", "--check", "all", "--explain-open", "none", "--at", "2026-11-22T09:00:00+03:00"))
    report = ok(cli_as("sup")("render", "closure-report", planned)).stdout
    assert "1 follow-up since plan version 1 of" in report and "the policy asks" not in report, report


def _add_to_goals_met(cli_as, tmp_path, item: str) -> None:
    """The supervisor puts in force a policy whose goals_met checklist has one item more."""
    path = tmp_path / f"policy-{item}.yaml"
    path.write_text("rules:\n  closure_reasons:\n    goals_met: [child_safe, wellbeing_supported, no_further_concerns, "
                    f"monitoring_followups_done, child_and_family_took_part, {item}]\n")
    done = cli_as("sup")("policy", "set", str(path))
    assert done.code == 0, done.stderr


def test_closure_report__an_item_the_policy_added_after_the_request_is_not_on_its_checklist(cli, cli_as, tmp_path):
    """The report shows the checklist the closure was judged against, as its request confirmed it:
    an item the agency added to the reason's list after the closure (or while it waited, its
    approval deciding the request as written) is not printed as 'not confirmed'."""
    closed = closed_case(cli, cli_as)
    waiting = closed_case(cli, cli_as, name="Achieng Atieno", approve=False)
    _add_to_goals_met(cli_as, tmp_path, "chief_told")
    ok(cli_as("sup")("approve", waiting, "closure", "--note", "agreed", "--at", "2026-11-22T15:00:00+03:00"))
    for case_id in (closed, waiting):
        for fmt in ("md", "html"):
            report = ok(cli_as("sup")("render", "closure-report", case_id, "--format", fmt)).stdout
            assert "not confirmed" not in report and "chief_told" not in report, report
        md = ok(cli_as("sup")("render", "closure-report", case_id)).stdout
        assert md.count("- [x] ") == 5, md


def test_closure_report__a_request_and_its_approval_just_after_local_midnight_are_dated_the_agency_s_day(cli, cli_as):
    # typed with UTC times (21:30 UTC is 00:30 the next day in Nairobi): each day is the agency's, not the UTC one
    case_id = worked_case(cli, cli_as)
    ok(cli("close", case_id, "--reason", "goals_met", *GOALS_MET, "--summary", SUMMARY,
           "--explain-open", "The clinic follows up the treatment itself; Neema now goes to school on her own.",
           "--at", "2026-11-21T21:30:00+00:00"))
    ok(cli_as("sup")("approve", case_id, "closure", "--note", "Goals met; agreed.", "--at", "2026-11-22T21:10:00+00:00"))
    text = ok(cli("render", "closure-report", case_id)).stdout
    assert "on 22 November 2026 by amina" in text, text  # requested
    assert "Approved on 23 November 2026 by sup. The case is closed." in text
    sw = ok(cli("render", "closure-report", case_id, "--lang", "sw")).stdout
    assert "22 Novemba 2026" in sw and "23 Novemba 2026" in sw


def test_transfer_summary__a_request_just_after_local_midnight_is_dated_the_agency_s_day(cli, cli_as):
    case_id = worked_case(cli, cli_as)
    for giver in ("child", "caregiver"):
        ok(cli("consent", case_id, "--purpose", "transfer", "--agency", "recv", "--status", "given", "--explained", "all",
               "--by", giver, "--at", "2026-11-21T12:00:00+03:00"))
    # typed in UTC: 21:30 UTC on 21 November is 00:30 on 22 November in Nairobi
    ok(cli("transfer", case_id, *REASON, "--check", "all", "--at", "2026-11-21T21:30:00+00:00"))
    text = ok(cli("render", "transfer-summary", case_id)).stdout
    assert "on 22 November 2026 by amina" in text, text


# -- the plan of a case that has ended ---------------------------------------------------------------
def test_case_plan__of_a_closed_case_says_it_was_in_force_when_the_case_was_closed(cli, cli_as):
    # as `cpcm show` says it ("approved; was in force when the case was closed"), and no review is due
    case_id = closed_case(cli, cli_as)
    text = ok(cli("render", "case-plan", case_id)).stdout
    assert "Approved on 18 November 2026 by sup. This plan was in force when the case was closed." in text
    assert "This plan is in force" not in text and "review interval" not in text
    assert "The case is closed: no review is due." in text
    assert "- **Review:** none is due: the case is closed" in text  # the summary too, as the HTML's row
    sw = ok(cli("render", "case-plan", case_id, "--lang", "sw")).stdout
    assert "Mpango huu ulikuwa ukitumika kesi ilipofungwa." in sw and "Kesi imefungwa: hakuna mapitio yanayosubiriwa." in sw
    assert "Mpango huu unatumika" not in sw
    html = ok(cli("render", "case-plan", case_id, "--format", "html")).stdout
    assert "No longer in force" in html and "none is due: the case is closed" in html and "This plan is in force" not in html
    assert "Your case is closed." in ok(cli("render", "child-plan", case_id)).stdout


def test_case_plan__of_a_transferred_case_says_it_was_in_force_when_the_case_was_transferred(sending, receiving, cli_as, tmp_path):  # noqa: F811
    cli = cli_as("amina")
    case_id = transferred_case(cli, cli_as, receiving, tmp_path, acknowledge=False)
    text = ok(cli("render", "case-plan", case_id)).stdout
    assert "This plan was in force when the case was transferred." in text and "This plan is in force" not in text
    assert "The case was transferred to another agency: no review is due here." in text
    sw = ok(cli("render", "case-plan", case_id, "--lang", "sw")).stdout
    assert "Mpango huu ulikuwa ukitumika kesi ilipohamishwa." in sw
