"""Conferences as the Kenyan case-conferencing SOP runs them: the cadence on `due` (internal
monthly, the ACC quarterly), a child admitted to a CCI due for a conference after the
reassessment, minutes and closing refused before the meeting, one nomination per case, the Form 3
updates and a reschedule as records, the report clock from the meeting time, an interim plan from
the actions of a case without a plan, and the standing Form 5 register (sign once, barred members
refused, the printable form)."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from conftest import CANARY, NOW, Cli, commit_count, git, register, signing_line
from test_assess_plan import COMPREHENSIVE, INITIAL
from test_conference import CLOSE_NOW, minutes_doc, new_conference, planned_case

from cpcm.domain.records import Record
from cpcm.store import policies
from cpcm.workflow import conferences as rules

KENYA, INTER = policies.load("kenya"), policies.load("inter-agency")


def conference(conf_id: str, kind: str, day: str, closed: bool = False, chair: str = "sup", cases=()) -> rules.Conference:
    records = [Record("conference", 1, "01JD0000000000000000000001", conf_id, "2026-01-01T09:00:00+03:00",
                      "2026-01-01T09:00:00+03:00", "sup", {"type": kind, "date": day, "chair": chair})]
    for n, case_id in enumerate(cases, start=2):
        records.append(Record("nomination", 1, f"01JD00000000000000000000{n:02d}", conf_id, "2026-01-01T09:00:00+03:00",
                              "2026-01-01T09:00:00+03:00", "sup", {"case_id": case_id, "reason": "especially_difficult"}))
    if closed:
        records.append(Record("conference_close", 1, "01JD0000000000000000000099", conf_id, day[:10] + "T15:00:00+03:00",
                              day[:10] + "T15:00:00+03:00", "sup", {"cases": []}))
    return rules.fold(conf_id, records)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- cadence, pure --------------------------------------------------------------------------------
def test_policy__the_sops_frequencies_with_their_sources():
    for policy in (KENYA, INTER):
        every = rules.cadence(policy)["every"]
        assert {k: v.words() for k, v in every.items()} == {"internal": "1 month", "external": "2 months", "aac": "2 months",
                                                            "acc": "3 months"}
        assert rules.cadence(policy)["at_least"].words() == "1 month"
        source = policy.source(rules.CADENCE)
        assert "§5.3" in source and "§5.4" in source and "§5.5" in source and "App.2" in source and "§3.2" in source
        assert "reintegration_decision" in policy.get(rules.RULE, "reasons") and "acc" in policy.get(rules.RULE, "kinds")
    assert rules.cadence(KENYA)["required"]["internal"] is True and rules.cadence(INTER)["required"]["internal"] is False
    assert "§5.3" in KENYA.source(rules.AFTER_ADMISSION)
    assert KENYA.get(rules.AFTER_ADMISSION, "required") is True and INTER.get(rules.AFTER_ADMISSION, "required") is False


@pytest.mark.parametrize("now,state", [("2026-11-05T08:59:00+03:00", "upcoming"), ("2026-11-05T09:01:00+03:00", "overdue")])
def test_cadence__internal_monthly_from_the_last_meeting(now, state):
    held = conference("CC-0000-0001", "internal", "2026-10-05", closed=True)
    items = [i for i in rules.cadence_due([held], KENYA, at(now)) if "internal" in i.title]
    assert len(items) == 1
    item = items[0]
    assert item.code == "conference-cadence" and item.rule == rules.CADENCE and item.owner == "sup"
    assert item.due == at("2026-11-05T09:00:00+03:00")  # one month after the last meeting (at the policy's start time)
    assert item.state(at(now), at(now) - at(now)) == state
    assert "CC-0000-0001" in item.why and "1 month" in item.why


def test_cadence__the_acc_quarterly_and_a_kind_never_held_only_where_required():
    acc = conference("CC-0000-0002", "acc", "2026-09-01T10:00", closed=True)
    now = at("2026-10-01T12:00:00+03:00")
    items = rules.cadence_due([acc], INTER, now)
    assert [(i.title, i.due.date().isoformat()) for i in items] == [("alternative care committee (ACC) conference to hold", "2026-12-01")]
    # kenya: the internal conference is due from the start, none held yet (due now, for a supervisor)
    kenya = {i.title: i for i in rules.cadence_due([acc], KENYA, now)}
    assert kenya["internal (staff only) conference to hold"].due == now
    assert kenya["internal (staff only) conference to hold"].owner == "supervisors"
    assert "acc" not in INTER.get(rules.CADENCE, "required") or not INTER.get(rules.CADENCE, "required")["acc"]
    assert rules.cadence_due([], INTER, now) == []  # nothing held, nothing required: nothing due


def test_cadence__a_planned_conference_is_the_one_to_hold_unless_it_is_too_late():
    held = conference("CC-0000-0001", "internal", "2026-10-05", closed=True)
    now = at("2026-10-20T09:00:00+03:00")
    soon = conference("CC-0000-0003", "internal", "2026-11-02")
    late = conference("CC-0000-0004", "internal", "2026-11-20")
    (item,) = [i for i in rules.cadence_due([held, soon], KENYA, now) if "internal" in i.title]
    assert item.case_id == "CC-0000-0003" and item.due == at("2026-11-02T09:00:00+03:00")
    (item,) = [i for i in rules.cadence_due([held, late], KENYA, now) if "internal" in i.title]
    assert item.case_id == "conference" and item.due == at("2026-11-05T09:00:00+03:00")
    assert "CC-0000-0004" in item.why and "cpcm conference update" in item.why


def test_cadence__any_kind_at_least_monthly_when_only_two_monthly_kinds_are_held():
    external = conference("CC-0000-0005", "external", "2026-10-01", closed=True)
    items = rules.cadence_due([external], INTER, at("2026-10-10T09:00:00+03:00"))
    assert sorted((i.title, i.due.date().isoformat()) for i in items) == [
        ("a case conference of any kind to hold", "2026-11-01"), ("internal with external partners conference to hold", "2026-12-01")]


# -- the report clock, pure ---------------------------------------------------------------------------
def test_report_clock__counts_from_the_meeting_not_from_closing():
    closed_late = conference("CC-0000-0006", "internal", "2026-02-05T10:00", closed=True)  # closed on 5 Feb at 15:00
    item = rules.report_due(closed_late, KENYA, at(NOW).tzinfo)
    assert item.due == at("2026-02-06T10:00:00+03:00")
    # before closing: on the chair's list from the meeting, with what to do first
    open_one = conference("CC-0000-0007", "internal", "2026-02-05T10:00")
    assert rules.report_due(open_one, KENYA, at(NOW).tzinfo, at("2026-02-05T09:59:00+03:00")) is None
    item = rules.report_due(open_one, KENYA, at(NOW).tzinfo, at("2026-02-05T10:00:00+03:00"))
    assert item.due == at("2026-02-06T10:00:00+03:00") and "conference close" in item.why


# -- the interim plan, pure -----------------------------------------------------------------------------
def test_interim_plan__is_a_valid_plan_once_the_actions_are_added():
    from cpcm.domain.forms import validate
    from cpcm.store import forms

    conf = conference("CC-0000-0008", "internal", "2026-11-30")
    body = rules.interim_plan(conf, {"actions": [{"need": "education"}, {"need": "food"}, {"need": "education"}]})
    body["actions"] = [{"what": "Enrol in school", "who": "caseworker", "by": "2026-12-15", "mode": "direct", "goal": "G1"}]
    assert body["interim"] is True and body["reason"] == "conference_decision"
    assert body["goals"][0]["need"] == "education; food"
    assert body["participants"] == {"child": "no", "caregivers": "no", "others": "case conference CC-0000-0008 (2026-11-30)"}
    _, errors = validate(forms.load("plan"), body, at(NOW).date())
    assert errors == []


# -- the register, pure -----------------------------------------------------------------------------------
def test_register__signs_once_the_first_signature_stands_and_a_bar_holds_until_lifted():
    def rec(n, kind, **body):
        return Record(kind, 1, f"01JD00000000000000000000{n:02d}", rules.REGISTER_ID, "2026-11-01T09:00:00+03:00",
                      "2026-11-01T09:00:00+03:00", "sup", {"name": "Officer One", "institution": "Office", **body})
    records = [rec(1, "agreement", signed_on="2026-10-01", how="signed", position="SCCO"),
               rec(2, "agreement", signed_on="2026-11-01", how="verbal", position="SCCO")]
    entry = rules.register_entry(rules.fold_register(records), {"name": "officer  ONE", "institution": "office"})
    assert entry["signed_on"] == "2026-10-01" and entry["how"] == "signed" and entry["barred"] is None
    barred = rules.fold_register(records + [rec(3, "bar", reason="breach")])
    assert rules.register_entry(barred, {"name": "Officer One", "institution": "Office"})["barred"]["reason"] == "breach"
    lifted = rules.fold_register(records + [rec(3, "bar", reason="breach"), rec(4, "bar_lifted", reason="trained")])
    assert rules.register_entry(lifted, {"name": "Officer One", "institution": "Office"})["barred"] is None


# -- end to end ---------------------------------------------------------------------------------------------
def due_codes(cli, *extra) -> list[dict]:
    result = cli("due", "--json", "--within", "120", *extra)
    assert result.code == 0, result.stderr
    return [i for i in result.json() if i["code"].startswith("conference")]


def test_due__kenya_internal_monthly_and_acc_quarterly_through_the_command_line(kenya):
    sup = kenya("sup")
    items = due_codes(sup)
    assert [(i["case_id"], i["title"], i["owner"]) for i in items] == [("conference", "internal (staff only) conference to hold",
                                                                         "supervisors")]
    internal = sup("conference", "new", "--kind", "internal", "--date", "2026-11-20T10:00", "--json").json()["conference_id"]
    acc = sup("conference", "new", "--kind", "acc", "--date", "2026-11-21", "--json").json()["conference_id"]
    after = due_codes(kenya("sup", "2026-11-25T09:00:00+03:00"))
    cadence = {i["title"]: i["due"] for i in after if i["code"] == "conference-cadence"}
    assert cadence["internal (staff only) conference to hold"] == "2026-12-20T10:00+03:00"
    assert cadence["alternative care committee (ACC) conference to hold"] == "2027-02-21T09:00+03:00"
    # the report of each meeting is due 24 hours after it, though neither is closed
    reports = {i["case_id"]: i["due"] for i in after if i["code"] == "conference-report"}
    assert reports == {internal: "2026-11-21T10:00+03:00", acc: "2026-11-22T09:00+03:00"}
    assert not due_codes(kenya("amina", "2026-11-25T09:00:00+03:00"))  # the chair's and the supervisors' items


def test_due__a_child_admitted_to_a_cci_is_due_for_a_conference_after_the_reassessment(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina, lives_with="institution")
    other = register(amina)  # living with relatives: no admission
    assert not [i for i in due_codes(amina) if i["code"] == "conference-after-admission"]  # not yet reassessed
    for each in (case_id, other):
        assert amina("assess", each, "--type", "initial", "--risk", "high", *INITIAL).code == 0
        assert amina("assess", each, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    items = [i for i in due_codes(amina) if i["code"] == "conference-after-admission"]
    assert [(i["case_id"], i["owner"], i["due"]) for i in items] == [(case_id, "amina", "2026-12-23T09:00+03:00")]
    assert "§5.3" in items[0]["source"]
    conf = sup("conference", "new", "--kind", "internal", "--date", "2026-12-01", "--json").json()["conference_id"]
    assert sup("conference", "add-case", conf, case_id, "--reason", "reintegration_decision").code == 0
    assert not [i for i in due_codes(amina) if i["code"] == "conference-after-admission"]


def test_minutes_and_close__refused_before_the_meeting_with_the_rule_and_what_to_do(cli, cli_as, repo):
    case_id = planned_case(cli, "Test Child")
    sup = cli_as("sup")
    conf = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30T10:00", "--json").json()["conference_id"]
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    before = commit_count(repo)
    early = cli_as("sup", CPCM_NOW="2026-11-30T09:59:00+03:00")
    refused = early("conference", "minutes", conf, "--from-file", "-", "--json", input=json.dumps(minutes_doc([case_id])))
    assert refused.code == 4 and refused.json()["rule"] == "conference-not-held-yet"
    assert "cpcm conference update" in refused.stderr or "cpcm conference update" in json.dumps(refused.json())
    closing = early("conference", "close", conf)
    assert closing.code == 4 and "2026-11-30 at 10:00" in closing.stderr and "conference update" in closing.stderr
    assert commit_count(repo) == before
    started = cli_as("sup", CPCM_NOW="2026-11-30T10:00:00+03:00")
    assert started("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]))).code == 0


def test_add_case__nominating_a_case_twice_is_refused(cli, cli_as, repo):
    case_id = planned_case(cli, "Test Child")
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "reintegration_decision").code == 0
    before = commit_count(repo)
    again = sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult", "--json")
    assert again.code == 4 and again.json()["rule"] == "conference-case-nominated"
    assert commit_count(repo) == before
    shown = sup("conference", "show", conf, "--json").json()
    assert [(c["case_id"], c["reason"]) for c in shown["cases"]] == [(case_id, "reintegration_decision")]
    agenda = sup("render", "agenda", conf).stdout
    assert "reintegration decision" in agenda


def test_update__form_3_dates_venue_and_a_reschedule_are_records(cli_as, repo):
    sup = cli_as("sup")
    conf = sup("conference", "new", "--kind", "external", "--date", "2026-12-03", "--venue", "Room 1", "--json").json()["conference_id"]
    files = sorted(p.name for p in (repo / "conferences" / conf).iterdir())
    before = commit_count(repo)
    no_reason = sup("conference", "update", conf, "--date", "2026-12-10T10:00")
    assert no_reason.code == 4 or no_reason.code == 2
    assert "reason" in no_reason.stderr and commit_count(repo) == before
    moved = sup("conference", "update", conf, "--date", "2026-12-10T10:00", "--venue", "Hall", "--reason", "the SCCO is away",
                "--co-chair", "A. Officer", "--co-chair-title", "Sub-County Children's Officer", "--json")
    assert moved.code == 0, moved.stderr
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference update {conf} {moved.json()['record_id']}"
    # append-only: the first record is untouched, one new record
    after = sorted(p.name for p in (repo / "conferences" / conf).iterdir())
    assert set(files) < set(after) and len(after) == len(files) + 1
    assert sup("conference", "update", conf, "--attendance-confirmed", "2026-12-06", "--invitations-sent", "2026-12-01").code == 0
    shown = sup("conference", "show", conf, "--json").json()
    assert shown["date"] == "2026-12-10T10:00" and shown["venue"] == "Hall"
    assert shown["co_chair"] == {"name": "A. Officer", "title": "Sub-County Children's Officer"}
    assert shown["checklist"]["attendance_confirmed"] == "2026-12-06"
    assert [u["previous"].get("date") for u in shown["updates"]] == ["2026-12-03", None]
    assert shown["updates"][0]["reason"] == "the SCCO is away"
    text = sup("conference", "show", conf).stdout
    assert "2026-12-03 → 2026-12-10T10:00" in text and "A. Officer, Sub-County Children's Officer" in text
    agenda = sup("render", "agenda", conf).stdout
    assert "Co-chair" in agenda and "A. Officer" in agenda and "10:00" in agenda
    same = sup("conference", "update", conf, "--venue", "Hall")
    assert same.code == 4 and "nothing to update" in same.stderr
    half = sup("conference", "update", conf, "--external-chair", "B. Officer")
    assert half.code == 4 and "external-chair-title" in half.stderr
    # the date cannot move once minutes are recorded
    case_id = register(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    held = cli_as("sup", CPCM_NOW="2026-12-10T12:00:00+03:00")
    assert held("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]) | {"cases": [
        {"case": case_id, "discussion": "Discussed."}]})).code == 0
    late = held("conference", "update", conf, "--date", "2026-12-12", "--reason", "typo", "--json")
    assert late.code == 4 and late.json()["rule"] == "conference-date-after-minutes"


def test_close__actions_for_a_case_without_a_plan_start_an_interim_plan(cli_as, repo):
    sup = cli_as("sup")
    case_id = register(sup)
    conf = new_conference(sup)
    added = sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult")
    assert added.code == 0 and "interim plan" in added.stderr
    doc = minutes_doc([case_id])
    for action in doc["cases"][0]["actions"]:
        action.pop("goal", None)
    at_meeting = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    assert at_meeting("conference", "minutes", conf, "--from-file", "-", input=json.dumps(doc)).code == 0
    before = commit_count(repo)
    closed = at_meeting("conference", "close", conf, "--json")
    assert closed.code == 0, closed.stderr
    assert commit_count(repo) == before + 1
    assert closed.json()["cases"][0]["interim"] is True
    shown = sup("show", case_id, "--json").json()
    plan = shown["plan"]
    assert plan["version"] == 1 and plan["reason"] == "conference_decision"
    content = plan["content"]
    assert content["interim"] is True and [g["id"] for g in content["goals"]] == ["G1"]
    assert [a["what"] for a in content["actions"]] == ["Enrol in school (1)", "Food support referral (1)"]
    assert all(a["goal"] == "G1" for a in content["actions"])
    assert shown["stage"] == "registered"  # an interim plan before the assessments keeps the stage
    assert "cpcm plan" in closed.stderr or any("cpcm plan" in s for s in closed.json().get("next_steps", []))


# -- Form 5: the standing register ------------------------------------------------------------------------------
def attend(cli, conf, name, *extra):
    """Attendance on the day of the meeting (new_conference's 2026-11-30): refused before it."""
    return cli("conference", "attend", conf, "--institution", "Agency", "--name", name, "--position", "Officer", "--contact", "0700",
               *extra, env={"CPCM_NOW": CLOSE_NOW})


def test_form5__a_member_signs_once_for_every_conference(cli_as, repo):
    sup = cli_as("sup")
    first, second = new_conference(sup), new_conference(sup)
    assert attend(sup, first, "Member One", "--confidentiality-signed", "yes").code == 0
    # signed at the first meeting: on the register, nothing to give at the second
    at_second = attend(sup, second, "member one")
    assert at_second.code == 0, at_second.stderr
    shown = sup("conference", "show", second, "--json").json()
    assert shown["attendees"][0]["confidentiality_signed"] == "yes" and shown["participants"] == 1
    listed = sup("conference", "register", "--json").json()
    assert [(r["name"], r["signed_on"], r["how"]) for r in listed] == [("Member One", "2026-11-30", "signed")]
    again = sup("conference", "sign", "--name", "Member One", "--institution", "agency", "--position", "Officer", "--json")
    assert again.code == 4 and again.json()["rule"] == "conference-already-signed"
    # never signed: must say so, or sign first
    unsigned = attend(sup, second, "Member Two")
    assert unsigned.code == 4 and "confidentiality_signed" in unsigned.stderr
    before = commit_count(repo)
    signed = sup("conference", "sign", "--name", "Member Two", "--institution", "Agency", "--position", "Nurse", "--verbal",
                 "--date", "2026-11-20")
    assert signed.code == 0, signed.stderr
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip().startswith(f"conference sign {rules.REGISTER_ID} ")
    assert attend(sup, second, "Member Two").code == 0
    assert sup("conference", "show", second, "--json").json()["attendees"][1]["confidentiality_signed"] == "verbal"
    assert rules.REGISTER_ID not in [c["conference_id"] for c in sup("conference", "list", "--json").json()]
    assert sup("verify").code == 0


def test_form5__a_barred_member_cannot_attend_and_only_a_supervisor_bars(cli_as, repo):
    sup, amina = cli_as("sup"), cli_as("amina")
    conf = new_conference(sup)
    assert attend(sup, conf, "Member One", "--confidentiality-signed", "yes").code == 0
    by_worker = amina("conference", "register", "--bar", "--name", "Member One", "--institution", "Agency", "--reason", "breach",
                      "--json")
    assert by_worker.code == 4 and by_worker.json()["rule"] == "conference-bar-needs-supervisor"
    no_reason = sup("conference", "register", "--bar", "--name", "Member One", "--institution", "Agency")
    assert no_reason.code == 4 and "reason" in no_reason.stderr
    assert sup("conference", "register", "--bar", "--name", "Member One", "--institution", "Agency",
               "--reason", "discussed a case at the market").code == 0
    other = new_conference(sup)
    before = commit_count(repo)
    refused = attend(sup, other, "Member One", "--confidentiality-signed", "yes", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "conference-member-barred"
    assert commit_count(repo) == before
    assert attend(sup, other, "Member One", "--present", "no").code == 0  # invited, not present: the register shows it
    listed = sup("conference", "register", "--json").json()
    assert listed[0]["barred"] is True and listed[0]["barred_since"] == "2026-11-23"
    form5 = sup("render", "form-5", other).stdout
    assert "Member One" not in form5  # a barred member is not offered the form
    assert sup("conference", "register", "--lift", "--name", "Member One", "--institution", "Agency", "--reason", "retrained").code == 0
    assert attend(sup, other, "Member One").code == 0
    assert sup("verify").code == 0


def test_form5__the_printable_form_lists_who_signed_and_blank_lines_in_both_languages(cli_as):
    sup = cli_as("sup")
    conf = new_conference(sup, "--co-chair", "A. Officer", "--co-chair-title", "SCCO")
    assert attend(sup, conf, "Member One", "--confidentiality-signed", "yes").code == 0
    assert attend(sup, conf, "Member Two", "--confidentiality-signed", "no", "--present", "no").code == 0
    for lang, words in (("en", ("Confidentiality agreement (Form 5)", "on file: signed", "Name of member")),
                        ("sw", ("Makubaliano ya usiri (Fomu 5)", "Jina la mwanachama"))):
        for fmt in ("md", "html"):
            result = sup("render", "form-5", conf, "--lang", lang, "--format", fmt)
            assert result.code == 0, result.stderr
            for word in words:
                assert word in result.stdout, (lang, fmt, word)
            assert "Member One" in result.stdout and "Member Two" in result.stdout and "A. Officer" in result.stdout
    md = sup("render", "form-5", conf).stdout
    assert md.count("| | | | | |") == 8  # up to ten lines: the two members and eight blank ones


def test_form5__a_newcomer_checks_the_register_once_a_supervisor_shares_it(cli_as, repo, team, tmp_env):
    from conftest import make_identity

    sup = cli_as("sup")
    conf = new_conference(sup)
    assert attend(sup, conf, "Member One", "--confidentiality-signed", "yes").code == 0
    key = tmp_env / "keys" / "wanjiru.txt"
    assert sup("team", "add", "wanjiru", "--role", "caseworker", "--recipient", make_identity(key),
               "--signing-key", signing_line(key)).code == 0
    wanjiru = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})
    mine = wanjiru("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--json").json()["conference_id"]
    before = commit_count(repo)
    refused = attend(wanjiru, mine, "Member One", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "conference-register-unreadable"
    assert commit_count(repo) == before
    assert attend(wanjiru, mine, "Member Two", "--confidentiality-signed", "yes", "--present", "no").code == 0  # invited only
    shared = sup("conference", "register", "--share")
    assert shared.code == 0, shared.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference share {rules.REGISTER_ID}"
    assert attend(wanjiru, mine, "Member One").code == 0
    assert sup("conference", "register", "--share").code == 4  # nothing to share any more
    assert sup("verify").code == 0
