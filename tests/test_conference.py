"""Case conferences end to end: plan, nominate, attendance, minutes, close into each case's plan,
documents with case IDs only, the SOP's rules at their boundaries, one commit per command."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import CANARY, commit_count, git, library_session, register, register_many
from cpcm import service
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc

GOLDEN = Path(__file__).parent / "golden"
CLOSE_NOW = "2026-11-30T13:00:00+03:00"
LATER = "2026-11-30T15:00:00+03:00"


def planned_case(cli, name: str) -> str:
    """A registered case (with a canary name), assessed, with a plan."""
    case_id = register(cli, child={"name": name, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    assert cli("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())).code == 0
    return case_id


def one_commit(repo, run):
    before = commit_count(repo)
    result = run()
    assert result.code == 0, result.stderr
    assert commit_count(repo) == before + 1
    return result


def new_conference(sup, *extra) -> str:
    result = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--venue", "Meeting room",
                 "--notice-sent", "2026-11-23", "--invitations-sent", "2026-11-23", "--json", *extra)
    assert result.code == 0, result.stderr
    return result.json()["conference_id"]


def minutes_doc(case_ids):
    return {
        "minute_taker": "Rotating member (case manager)",
        "reminder_given": True,
        "key_issues": "School fees and food insecurity across several households.",
        "service_gaps": "No counselling service in the ward.",
        "cases": [{
            "case": case_id,
            "summary": f"Summary {n}, identified by case ID only",
            "discussion": f"Discussion of case {n}: school attendance and food.",
            "decisions": [f"Decision {n}"],
            "actions": [{"need": "education", "action": f"Enrol in school ({n})", "responsible": "amina", "timeline": "2026-12-15"},
                        {"need": "food", "action": f"Food support referral ({n})", "responsible": "Ward social protection office",
                         "timeline": "2026-12-20", "mode": "referral", "goal": "G2"}],
        } for n, case_id in enumerate(case_ids, start=1)],
    }


def normalise(text: str) -> str:
    seen: dict[str, str] = {}

    def sub(match):
        prefix = match.group(1)
        key = match.group(0)
        if key not in seen:
            seen[key] = f"{prefix}-ID{len([k for k in seen if k.startswith(prefix)]) + 1}"
        return seen[key]

    return re.sub(r"\b(CC|CP)-[0-9A-Z]{4}-[0-9A-Z]{4}\b", sub, text)


def test_full_conference__actions_reach_each_case_plan_and_the_documents_hold_no_names(cli, cli_as, repo):
    cases = [planned_case(cli, f"{CANARY} {n}") for n in range(4)]
    sup = cli_as("sup")
    before = commit_count(repo)
    conf = new_conference(sup)
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference new {conf}"
    for case_id in cases:
        added = one_commit(repo, lambda: sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult"))
        assert "Form 1" in added.stderr  # the presentation prompts
        assert git(repo, "log", "-1", "--format=%s").strip() == f"conference add-case {conf} {case_id}"
    # the caseworker of the cases is now a reader of the conference
    assert "amina" in (repo / "conferences" / conf / "recipients").read_text()
    assert cli("conference", "show", conf, "--json").json()["cases"][0]["case_id"] == cases[0]
    members = [("Children's office", "Officer One", "SCCO"), ("Health centre", "Nurse Two", "Nurse"),
               ("School", "Teacher Three", "Head teacher"), ("Agency", "Worker Four", "Social worker"),
               ("Agency", "Worker Five", "Case manager")]
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)  # attendance, minutes and closing once the meeting has started
    for institution, name, position in members:
        one_commit(repo, lambda: closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                                        "--contact", "0700 000000", "--confidentiality-signed", "yes"))
    one_commit(repo, lambda: closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc(cases))))
    closed = one_commit(repo, lambda: closer("conference", "close", conf, "--json"))
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference close {conf}"
    assert closed.json()["conference_id"] == conf
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    for n, case_id in enumerate(cases, start=1):
        shown = cli("show", case_id, "--json").json()
        plan = shown["plan"]
        assert plan["version"] == 2 and plan["reason"] == "conference_decision"
        actions = plan["content"]["actions"]
        assert len(actions) == 4  # the two of the first version and the conference's two
        assert [a["id"] for a in actions] == ["A1", "A2", "A3", "A4"]  # the first version's keep theirs, the new take the next
        assert actions[2] == {"id": "A3", "what": f"Enrol in school ({n})", "who": "caseworker", "who_detail": "amina", "by": "2026-12-15", "mode": "direct"}
        assert actions[3]["who"] == "other" and actions[3]["mode"] == "referral" and actions[3]["goal"] == "G2"
        assert plan["content"]["goals"] == plan_doc()["goals"] or len(plan["content"]["goals"]) == 2
        kinds = [h["kind"] for h in shown["history"]]
        assert kinds[-2:] == ["plan", "conference"]
        assert any(path.startswith(f"cases/{case_id}/") for path in changed)
    # the report is due for the chair, and goes once rendered
    due = [i for i in closer("due", "--json").json() if i["code"] == "conference-report"]
    assert [(i["case_id"], i["owner"]) for i in due] == [(conf, "sup")]
    assert not [i for i in cli_as("amina", CPCM_NOW=CLOSE_NOW)("due", "--json").json() if i["code"] == "conference-report"]
    later = cli_as("sup", CPCM_NOW=LATER)
    minutes = one_commit(repo, lambda: later("render", "minutes", conf))
    assert [i for i in later("due", "--json").json() if i["code"] == "conference-report"]  # minutes are not the report
    report = one_commit(repo, lambda: later("render", "conference-report", conf))
    assert not [i for i in later("due", "--json").json() if i["code"] == "conference-report"]
    assert git(repo, "log", "-1", "--format=%s").strip().startswith(f"conference render {conf} ")
    for text in (minutes.stdout, report.stdout, later("render", "agenda", conf).stdout):
        assert "Zqxcanary" not in text and "Wbvmarker" not in text
    for case_id in cases:
        assert case_id in minutes.stdout and case_id in report.stdout
    golden = GOLDEN / "conference-minutes.en.md"
    assert normalise(minutes.stdout) == golden.read_text(encoding="utf-8")
    # every format and language renders
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            for template in ("agenda", "minutes", "conference-report", "form-5"):
                result = later("render", template, conf, "--lang", lang, "--format", fmt)
                assert result.code == 0, (template, lang, fmt, result.stderr)
                assert "Zqxcanary" not in result.stdout
    # nothing about the children in plaintext in the conference folder
    for path in (repo / "conferences" / conf).iterdir():
        assert b"Zqxcanary" not in path.read_bytes()
    assert "Zqxcanary" not in git(repo, "log", "--format=%B")


def test_meeting_documents__the_view_has_no_name_field_for_children(cli, cli_as):
    from cpcm.render.views import conference_view as document_view
    from cpcm.workflow.conferences import fold

    cli_as("sup")  # the repository exists
    from cpcm.store import policies
    from cpcm.domain.records import Record

    records = [Record("conference", 1, "01JD0000000000000000000001", "CC-0000-0000", "2026-11-23T09:00:00+03:00",
                      "2026-11-23T09:00:00+03:00", "sup", {"type": "internal", "date": "2026-11-30", "chair": "sup"}),
               Record("nomination", 1, "01JD0000000000000000000002", "CC-0000-0000", "2026-11-23T09:00:00+03:00",
                      "2026-11-23T09:00:00+03:00", "sup", {"case_id": "CP-0000-0000", "reason": "especially_difficult"})]
    view = document_view(fold("CC-0000-0000", records), policies.load("kenya"), "en", __import__("datetime").date(2026, 11, 23), {})
    assert set(view["cases"][0]) == {"id", "reason", "presentation", "worker", "opened", "risk", "stage", "summary", "discussion",
                                     "decisions", "actions", "minuted", "progress"}


@pytest.mark.parametrize("kind,count,warned", [("internal", 6, False), ("internal", 7, True), ("external", 4, False), ("external", 5, True)])
def test_case_limit__warned_past_the_sops_limit(cli_as, repo, kind, count, warned):
    sup = cli_as("sup")
    cases = register_many(sup, count)
    conf = sup("conference", "new", "--kind", kind, "--date", "2026-12-10", "--json").json()["conference_id"]
    ctx = library_session(sup)  # all but the last through the library, one session: the CLI's share is the last
    earlier = [service.conferences.add_case(ctx, conf, c, "service_options_exhausted") for c in cases[:-1]]
    assert all("max_cases" not in w for r in earlier for w in r.warnings)
    last = sup("conference", "add-case", conf, cases[-1], "--reason", "service_options_exhausted")
    assert last.code == 0, last.stderr
    assert ("conference.max_cases" in last.stderr) is warned
    if warned:
        assert "SOP" in last.stderr


@pytest.mark.parametrize("notice,warned", [("2026-11-23", False), ("2026-11-24", True)])
def test_notice__seven_days_ahead_is_fine_six_is_warned(cli_as, notice, warned):
    sup = cli_as("sup")
    result = sup("conference", "new", "--kind", "external", "--date", "2026-11-30", "--notice-sent", notice,
                 "--invitations-sent", "2026-11-23", "--attendance-confirmed", "2026-11-23")
    assert result.code == 0, result.stderr
    assert ("conference.notice" in result.stderr) is warned
    if warned:
        assert "6 day(s)" in result.stderr and "SOP" in result.stderr


def test_timeline__missing_dates_are_checked_as_of_today(cli_as):
    sup = cli_as("sup")
    soon = sup("conference", "new", "--kind", "internal", "--date", "2026-11-25")
    assert soon.code == 0
    assert "conference.notice" in soon.stderr and "conference.confirmation" in soon.stderr


def test_attendance__a_member_without_a_signed_agreement_cannot_be_present(cli_as, repo):
    sup = cli_as("sup")
    conf = new_conference(sup)
    sup = cli_as("sup", CPCM_NOW=CLOSE_NOW)  # at the meeting
    before = commit_count(repo)
    refused = sup("conference", "attend", conf, "--institution", "School", "--name", "Teacher", "--position", "Teacher",
                  "--contact", "0700 000000", "--confidentiality-signed", "no")
    assert refused.code == 4
    assert "confidentiality agreement" in refused.stderr and "Form 5" in refused.stderr
    assert commit_count(repo) == before
    absent = sup("conference", "attend", conf, "--institution", "School", "--name", "Teacher", "--position", "Teacher",
                 "--contact", "0700 000000", "--confidentiality-signed", "no", "--present", "no")
    assert absent.code == 0
    assert sup("conference", "show", conf, "--json").json()["participants"] == 0


def test_participants__outside_five_to_ten_is_warned_at_minutes_and_close(cli, cli_as):
    case_id = planned_case(cli, "Test Child")
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    at_meeting = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    for n in range(4):
        assert at_meeting("conference", "attend", conf, "--institution", "Agency", "--name", f"Member {n}", "--position", "Staff",
                          "--contact", "x", "--confidentiality-signed", "yes").code == 0
    minuted = at_meeting("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id])))
    assert minuted.code == 0 and "conference.participants: 4" in minuted.stderr
    closed = at_meeting("conference", "close", conf)
    assert closed.code == 0 and "conference.participants" in closed.stderr


def test_minutes__refused_when_they_hold_a_childs_name(cli, cli_as, repo):
    case_id = planned_case(cli, CANARY)
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    doc = minutes_doc([case_id])
    doc["cases"][0]["discussion"] = "Zqxcanary is doing better at school."
    before = commit_count(repo)
    refused = cli_as("sup", CPCM_NOW=CLOSE_NOW)("conference", "minutes", conf, "--from-file", "-", input=json.dumps(doc))
    assert refused.code == 4 and "cases[1].discussion" in refused.stderr
    assert "Zqxcanary" not in refused.stderr
    assert commit_count(repo) == before


def test_list_and_show(cli_as):
    sup = cli_as("sup")
    conf = new_conference(sup)
    listed = sup("conference", "list", "--json").json()
    assert [c["conference_id"] for c in listed] == [conf]
    assert sup("conference", "show", conf, "--json").json()["status"] == "planned"
    assert sup("conference", "show", "CC-0000-0001").code == 2
