"""cpcm due and cpcm check end to end: the worker's morning list, a supervisor's team view,
the iCalendar file, and the rule codes."""
from __future__ import annotations

import icalendar

from conftest import CANARY, register


def test_due__lists_the_initial_assessment_with_its_rule_and_source(cli):
    case_id = register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-01-01"})
    due = cli("due", "--json")
    assert due.code == 0, due.stderr
    items = {(i["case_id"], i["code"]): i for i in due.json()}
    item = items[(case_id, "initial-assessment")]
    assert item["rule"] == "initial_assessment" and "IAG" in item["source"] and "48 hours" in item["why"]
    assert item["state"] == "due_soon"


def test_due__boundary_47h59_due_soon_48h01_overdue_through_the_clock(cli):
    case_id = register(cli, "--at", "2026-11-23T09:00:00+03:00")
    soon = cli("due", "--json", env={"CPCM_NOW": "2026-11-25T08:59:00+03:00"}).json()
    late = cli("due", "--json", env={"CPCM_NOW": "2026-11-25T09:01:00+03:00"}).json()
    state = lambda items: next(i["state"] for i in items if i["case_id"] == case_id and i["code"] == "initial-assessment")
    assert state(soon) == "target_missed"
    assert state(late) == "overdue"
    overdue_only = cli("due", "--overdue", "--json", env={"CPCM_NOW": "2026-11-25T09:01:00+03:00"}).json()
    assert {i["code"] for i in overdue_only} == {"initial-assessment"}


def test_due__most_urgent_first(cli):
    older = register(cli, "--at", "2026-11-20T09:00:00+03:00")
    newer = register(cli, "--at", "2026-11-23T08:00:00+03:00")
    items = [i for i in cli("due", "--json").json() if i["code"] == "initial-assessment"]
    assert [i["case_id"] for i in items] == [older, newer]


def test_due__a_caseworker_sees_their_cases_a_supervisor_sees_the_team(cli, cli_as):
    mine = register(cli)
    other = register(cli_as("otieno"))
    assert {i["case_id"] for i in cli("due", "--json").json()} == {mine}
    team = cli_as("sup")("due", "--worker", "all", "--json")
    assert team.code == 0
    assert {mine, other} <= {i["case_id"] for i in team.json()}
    assert {i["case_id"] for i in cli_as("sup")("due", "--worker", "otieno", "--json").json()} == {other}


def test_due__ics_parses_and_holds_no_personal_data(cli, tmp_path):
    case_id = register(cli, child={"name": CANARY, "sex": "male", "date_of_birth": "2012-02-02"}, location=f"{CANARY} village")
    path = tmp_path / "due.ics"
    result = cli("due", "--ics", str(path), "--within", "40")
    assert result.code == 0, result.stderr
    text = path.read_text()
    assert CANARY.split()[0] not in text and CANARY.split()[1] not in text and "2012-02-02" not in text
    calendar = icalendar.Calendar.from_ical(text)
    events = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert {str(e["SUMMARY"]) for e in events} == {f"{case_id}: initial assessment", f"{case_id}: comprehensive assessment"}
    for event in events:
        assert event.decoded("DTSTART").tzinfo is not None


def test_show__says_what_is_due_and_why(cli):
    case_id = register(cli)
    shown = cli("show", case_id, "--json").json()
    codes = {d["code"]: d for d in shown["due"]}
    assert {"initial-assessment", "comprehensive-assessment"} <= set(codes)
    assert "IAG" in codes["comprehensive-assessment"]["source"]


def test_check__exit_1_with_stable_codes_when_deadlines_are_missed(cli):
    case_id = register(cli, "--at", "2026-10-01T09:00:00+03:00")
    result = cli("check", case_id, "--json")
    assert result.code == 1
    codes = {p["code"] for p in result.json()}
    assert {"initial-assessment-overdue", "comprehensive-assessment-overdue"} <= codes
    fresh = register(cli)
    ok = cli("check", fresh, "--json")
    assert ok.code == 0 and ok.json() == []


def test_kenya_profile__repository_made_with_it_uses_its_caseload(tmp_env, team):
    from conftest import Cli, NOW

    root = tmp_env / "kenya"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert sup("init", "--agency", "KE", "--name", "Kenya test", "--worker", "sup", "--role", "supervisor", "--policy", "kenya").code == 0
    rows = sup("policy", "show", "--json").json()
    assert rows["profile"] == "kenya"
    cap = next(r for r in rows["rules"] if r["rule"] == "caseload" and r["key"] == "cap")
    assert cap["value"] == 20 and cap["set_in"] == "profile kenya"
    assert sup("init", str(tmp_env / "x"), "--agency", "KE", "--name", "n", "--policy", "narnia").code == 4
