"""cpcm due and cpcm check: the worker's morning list, a supervisor's team view, the iCalendar
file, and the rule codes. The rules at the service level over a repository in memory (fixed
`now`, no disk, git or age); the exit codes, --json and the iCalendar file end to end."""
from __future__ import annotations

from datetime import timedelta

import icalendar

from conftest import CANARY, register
from cpcm import service
from cpcm.workflow.deadlines import soon_window
from memory_repo import MemoryRepo


def as_json(ctx, items) -> list[dict]:
    """The items as `cpcm due --json` prints them."""
    soon = soon_window(ctx.policy, ctx.now)
    return [i.to_json(ctx.now, soon) for i in items]


# -- the rules, at the service level ---------------------------------------------------------------
def test_due__lists_the_initial_assessment_with_its_rule_and_source():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-01-01"})
    items = {(i["case_id"], i["code"]): i for i in as_json(amina, service.due(amina))}
    item = items[(case_id, "initial-assessment")]
    assert item["rule"] == "initial_assessment" and "IAG" in item["source"] and "48 hours" in item["why"]
    assert item["state"] == "due_soon"


def test_due__boundary_47h59_target_missed_48h01_overdue():
    mem = MemoryRepo()
    case_id = mem.register(mem.as_("amina"), at="2026-11-23T09:00:00+03:00")

    def state(now: str) -> str:
        ctx = mem.as_("amina", now=now)
        return next(i["state"] for i in as_json(ctx, service.due(ctx)) if i["case_id"] == case_id and i["code"] == "initial-assessment")
    assert state("2026-11-25T08:59:00+03:00") == "target_missed"
    assert state("2026-11-25T09:01:00+03:00") == "overdue"
    late = mem.as_("amina", now="2026-11-25T09:01:00+03:00")
    assert {i.code for i in service.due(late, overdue_only=True)} == {"initial-assessment"}


def test_due__most_urgent_first():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    older = mem.register(amina, at="2026-11-20T09:00:00+03:00")
    newer = mem.register(amina, at="2026-11-23T08:00:00+03:00")
    items = [i for i in service.due(amina) if i.code == "initial-assessment"]
    assert [i.case_id for i in items] == [older, newer]


def test_due__within_sets_the_horizon():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    comprehensive = next(i for i in service.due(amina, within_days=60) if i.code == "comprehensive-assessment")
    days = ((comprehensive.target or comprehensive.due) - amina.now) / timedelta(days=1)  # shown from its target on
    assert comprehensive.case_id == case_id
    assert "comprehensive-assessment" in {i.code for i in service.due(amina, within_days=days)}
    assert "comprehensive-assessment" not in {i.code for i in service.due(amina, within_days=days - 0.01)}


def test_due__a_caseworker_sees_their_cases_a_supervisor_sees_the_team():
    mem = MemoryRepo()
    amina, sup = mem.as_("amina"), mem.as_("sup")
    mine = mem.register(amina)
    other = mem.register(mem.as_("otieno"))
    assert {i.case_id for i in service.due(amina)} == {mine}
    assert {mine, other} <= {i.case_id for i in service.due(sup, worker="all")}
    assert {i.case_id for i in service.due(sup, worker="otieno")} == {other}


def test_show__says_what_is_due_and_why():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina)
    codes = {d["code"]: d for d in service.show(amina, case_id)["due"]}
    assert {"initial-assessment", "comprehensive-assessment"} <= set(codes)
    assert "IAG" in codes["comprehensive-assessment"]["source"]


def test_check__stable_codes_when_deadlines_are_missed_none_for_a_fresh_case():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    late = mem.register(amina, at="2026-10-01T09:00:00+03:00")
    problems = service.check(amina, late)
    assert {"initial-assessment-overdue", "comprehensive-assessment-overdue"} <= {p.code for p in problems}
    assert all(p.severity == "error" for p in problems if p.code.endswith("-overdue"))
    assert service.check(amina, mem.register(amina)) == []


# -- end to end: the CLI, git and age --------------------------------------------------------------
def test_cli__due_json_shape_and_the_caseworkers_own_list(cli, cli_as):
    case_id = register(cli)
    register(cli_as("otieno"))
    due = cli("due", "--json")
    assert due.code == 0, due.stderr
    items = due.json()
    assert {i["case_id"] for i in items} == {case_id}
    assert {"case_id", "code", "title", "due", "target", "state", "rule", "source", "why"} <= set(items[0])
    team = cli_as("sup")("due", "--worker", "all", "--json")
    assert team.code == 0 and len({i["case_id"] for i in team.json()}) == 2
    assert cli("due", "--worker", "nobody").code != 0


def test_cli__a_caseworker_asking_for_another_workers_list_is_told_it_holds_only_the_cases_they_read(cli, cli_as):
    """A script run by a caseworker (otieno) asking for amina's list got `[]` and exit 0, as if
    amina had nothing due: otieno reads none of her cases. It still lists what otieno reads, and
    says on standard error that the list is partial; a supervisor's, or amina's own, says nothing."""
    register(cli)
    asked = cli_as("otieno")("due", "--worker", "amina", "--json")
    assert asked.code == 0 and asked.json() == []
    assert "warning: only the cases of amina's that you read are listed" in asked.stderr
    assert "warning" not in cli_as("otieno")("due", "--worker", "amina").stdout  # data on stdout only
    for whose, args in (("sup", ("--worker", "amina")), ("amina", ()), ("amina", ("--worker", "amina")), ("sup", ("--worker", "all"))):
        done = cli_as(whose)("due", *args, "--json")
        assert done.code == 0 and "only the cases" not in done.stderr, (whose, args)
    everyone = cli_as("otieno")("due", "--worker", "all", "--json")  # the team's list, as far as a caseworker reads it
    assert everyone.code == 0 and everyone.json() == []
    assert "warning: only the cases you read are listed (yours and those you cover), not the whole team's" in everyone.stderr
    assert len(cli_as("sup")("due", "--worker", "amina", "--json").json()) == 2


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


def test_cli__check_exits_1_with_stable_codes_when_deadlines_are_missed(cli):
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
    assert sup("init", "--agency", "KE", "--name", "Kenya test", "--worker", "sup", "--role", "supervisor", "--policy", "kenya",
               "--timezone", "Africa/Nairobi").code == 0
    rows = sup("policy", "show", "--json").json()
    assert rows["profile"] == "kenya"
    cap = next(r for r in rows["rules"] if r["rule"] == "caseload" and r["key"] == "cap")
    assert cap["value"] == 20 and cap["set_in"] == "profile kenya"
    assert sup("init", str(tmp_env / "x"), "--agency", "KE", "--name", "n", "--policy", "narnia").code == 4
