"""A supervisor's month in a small children's home (CCI), lived through the CLI: one supervisor
(sue) and three caseworkers (amina, baraka, chebet) on the home's repository, each with a key and
a clock of their own. In the month: plans sent for approval, one rejected with a reason, revised
and approved, one approved on conditions, one approved and then revised; a closure requested,
rejected, requested again and approved; a case conference planned, cases nominated, minutes
recorded, closed and rendered; the caseload and the monthly reports; `cpcm due` as the
supervisor (what waits for her) and as each worker.

At each step the walk asks what the supervisor and the worker ask: can I read back what was
decided and why (the rejection's reason, an approval's conditions, the conference's decisions)
in `show`, `log`, `due` and the documents? Does what waits for me leave my `due` when I have
done it, and not before? Is a document the same when rendered twice? Is the child's name kept
out of commit messages and file names?

The month is walked once for the module (`month`); every test only reads what it said, so each
passes run alone."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CANARY, Cli, git, make_identity, make_repo, private_env, register
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_followup_close import GOALS_MET

WORKERS = {"sue": "supervisor", "amina": "caseworker", "baraka": "caseworker", "chebet": "caseworker"}
CASEWORKERS = ("amina", "baraka", "chebet")
REJECTED = "add an action for the birth certificate"
CONDITIONS = "on condition the school fees are confirmed by 2026-12-01"
CLOSURE_REJECTED = "visit the school once more first"
CLOSURE_APPROVED = "the post-closure visit at the start of term"
DECIDED = "keep the child at the home one more term"
MEMBERS = ["A. Otieno", "B. Wanjiru", "C. Kamau", "D. Achieng", "E. Mutua"]
VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school", "--visited-by",
         "professional", "--risk-increased", "no", "--no-input")


def day(n: int, hour: str = "09:00") -> str:
    """Day `n` of November 2026, in Kisumu."""
    return f"2026-11-{n:02d}T{hour}:00+03:00"


def ok(result):
    assert result.code == 0, result.stderr
    return result


def rows(text: str) -> dict[str, str]:
    """The `field<TAB>value` rows of `cpcm show`'s first table, piped."""
    return dict(line.split("\t", 1) for line in text.split("\n\n")[0].splitlines()[2:] if "\t" in line)


def codes(result) -> set[tuple[str, str]]:
    return {(i["case_id"], i["code"]) for i in ok(result).json()}


class Home:
    """The home's repository; `home(worker, now)` is cpcm as that worker at that time."""

    def __init__(self, base: Path):
        self.keys = {}
        for worker in WORKERS:
            path = base / "keys" / f"{worker}.txt"
            self.keys[worker] = (path, make_identity(path))
        self.root = make_repo(base / "cci", self.keys, agency="KSM-CCI", name="Kisumu Children's Home", workers=WORKERS,
                              now=day(1))

    def __call__(self, worker: str, now: str) -> Cli:
        return Cli({"CPCM_REPO": str(self.root), "CPCM_IDENTITY": str(self.keys[worker][0]), "CPCM_NOW": now})


def walk(home: Home) -> dict:
    said: dict = {}
    cases = said["cases"] = {}
    # day 2-4: each caseworker registers a child, assesses and sends a plan for approval
    for worker in CASEWORKERS:
        me = home(worker, day(2))
        child = {"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}
        cases[worker] = case = register(me, child=child)
        ok(me("assess", case, "--type", "initial", "--risk", "high", *INITIAL))
        ok(home(worker, day(3))("assess", case, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)))
        ok(home(worker, day(4))("plan", case, "--from-file", "-", input=json.dumps(plan_doc())))
    sue = home("sue", day(5))
    said["sue_due_plans"] = codes(sue("due", "--json"))
    # day 5: amina's plan rejected with a reason; baraka's approved on conditions; chebet's approved
    said["reject"] = ok(sue("reject", cases["amina"], "plan", "--note", REJECTED))
    said["sue_due_after_reject"] = codes(sue("due", "--json"))
    ok(sue("approve", cases["baraka"], "plan", "--note", CONDITIONS))
    ok(sue("approve", cases["chebet"], "plan"))
    said["sue_due_after_decisions"] = codes(sue("due", "--json"))
    amina = home("amina", day(5, "10:00"))
    said["amina_due"] = ok(amina("due", "--within", "30", "--json")).json()
    said["amina_show_rejected"] = ok(amina("show", cases["amina"])).stdout
    said["amina_plan_rejected"] = [ok(amina("render", "case-plan", cases["amina"])).stdout for _ in range(2)]
    said["amina_log"] = ok(amina("log", cases["amina"], "--json")).json()
    baraka = home("baraka", day(5, "10:00"))
    said["baraka_show"] = ok(baraka("show", cases["baraka"])).stdout
    said["baraka_show_json"] = ok(baraka("show", cases["baraka"], "--json")).json()
    said["baraka_plan"] = [ok(baraka("render", "case-plan", cases["baraka"], "--lang", lang)).stdout for lang in ("en", "sw")]
    # day 6-7: amina's new version, approved
    doc = plan_doc()
    doc["actions"].append({"what": "Get a birth certificate", "who": "caseworker", "by": "2026-12-01", "mode": "direct", "goal": "G1"})
    ok(home("amina", day(6))("plan", cases["amina"], "--from-file", "-", input=json.dumps(doc)))
    said["sue_due_revised"] = codes(home("sue", day(6, "10:00"))("due", "--json"))
    ok(home("sue", day(7))("approve", cases["amina"], "plan"))
    said["sue_due_approved"] = codes(home("sue", day(7, "10:00"))("due", "--json"))
    # day 8-9: baraka revises his approved plan: it waits for approval again, version 1 in force meanwhile
    said["revised"] = ok(home("baraka", day(8))("plan", cases["baraka"], "--from-file", "-", input=json.dumps(plan_doc("review"))))
    said["sue_due_revision"] = codes(home("sue", day(8, "10:00"))("due", "--json"))
    said["baraka_show_revision"] = ok(home("baraka", day(8, "10:00"))("show", cases["baraka"])).stdout
    ok(home("sue", day(9))("approve", cases["baraka"], "plan"))
    # day 9-13: chebet's closure, rejected with a reason, asked again, approved on a note
    chebet_case = cases["chebet"]
    ok(home("chebet", day(9))("followup", chebet_case, *VISIT))
    close = ("close", chebet_case, "--reason", "goals_met", *GOALS_MET, "--explain-open", "the family does it")
    ok(home("chebet", day(10))(*close))
    said["sue_due_closure"] = codes(home("sue", day(10, "10:00"))("due", "--json"))
    ok(home("sue", day(11))("reject", chebet_case, "closure", "--note", CLOSURE_REJECTED))
    said["sue_due_closure_rejected"] = codes(home("sue", day(11, "10:00"))("due", "--json"))
    said["chebet_show_rejected"] = ok(home("chebet", day(11, "10:00"))("show", chebet_case)).stdout
    said["chebet_json_rejected"] = ok(home("chebet", day(11, "10:00"))("show", chebet_case, "--json")).json()
    ok(home("chebet", day(12))(*close))
    said["chebet_show_asked_again"] = ok(home("chebet", day(12, "10:00"))("show", chebet_case)).stdout
    said["sue_due_closure_again"] = codes(home("sue", day(12, "10:00"))("due", "--json"))
    ok(home("sue", day(13))("approve", chebet_case, "closure", "--note", CLOSURE_APPROVED))
    said["sue_due_closed"] = codes(home("sue", day(13, "10:00"))("due", "--json"))
    said["chebet_show_closed"] = ok(home("chebet", day(13, "10:00"))("show", chebet_case)).stdout
    said["closure_report"] = [ok(home("chebet", day(13, "10:00"))("render", "closure-report", chebet_case)).stdout for _ in range(2)]
    # the conference: planned on day 5 for day 20; amina nominates her case; sue takes it in with baraka's
    made = ok(home("sue", day(5, "11:00"))("conference", "new", "--kind", "internal", "--date", "2026-11-20", "--venue",
                                           "Meeting room", "--notice-sent", "2026-11-05", "--invitations-sent", "2026-11-05", "--json"))
    said["conf"] = conf = made.json()["conference_id"]
    ok(home("amina", day(6, "11:00"))("conference", "add-case", conf, cases["amina"], "--reason", "especially_difficult",
                                      "--presentation", "refuses school since the term began"))
    said["sue_due_nomination"] = codes(home("sue", day(13, "11:00"))("due", "--json"))
    ok(home("sue", day(13, "11:00"))("conference", "add-case", conf, cases["amina"]))
    ok(home("sue", day(13, "11:00"))("conference", "add-case", conf, cases["baraka"], "--reason", "service_options_exhausted"))
    said["sue_due_taken_in"] = codes(home("sue", day(13, "12:00"))("due", "--json"))
    at_meeting = home("sue", day(20, "08:30"))
    for name in MEMBERS:
        ok(at_meeting("conference", "attend", conf, "--institution", "Kisumu Children's Home", "--name", name, "--position",
                      "staff", "--contact", "0700 000000", "--confidentiality-signed", "yes"))
    minutes = {"minute_taker": "sue", "reminder_given": True, "key_issues": "school fees", "cases": [
        {"case": cases["amina"], "discussion": "refuses school", "decisions": [DECIDED],
         "actions": [{"need": "school", "action": "Meet the head teacher", "responsible": "amina", "timeline": "2026-12-05"}]},
        {"case": cases["baraka"], "discussion": "no bursary", "decisions": ["apply to the county bursary"],
         "actions": [{"need": "fees", "action": "Apply for the bursary", "responsible": "baraka", "timeline": "2026-12-10"}]}]}
    after = home("sue", day(20, "12:00"))
    ok(after("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes)))
    said["conference_close"] = ok(after("conference", "close", conf))
    said["sue_due_report"] = codes(home("sue", day(20, "12:30"))("due", "--json"))
    said["reports"] = [ok(home("sue", day(20, hour))("render", "conference-report", conf)).stdout for hour in ("13:00", "14:00")]
    said["minutes"] = [ok(home("sue", day(20, hour))("render", "minutes", conf)).stdout for hour in ("13:00", "14:00")]
    said["sue_due_rendered"] = codes(home("sue", day(20, "15:00"))("due", "--json"))
    # the conference's plan versions: written by its close in the name of sue, the only supervisor, they are the
    # conference's decision, which she approves (plan_approval.conference_versions_by_chair)
    amina = home("amina", day(21))
    said["amina_show_conference"] = ok(amina("show", cases["amina"])).stdout
    said["amina_log_conference"] = ok(amina("log", cases["amina"], "--json")).json()
    said["amina_due_conference_plan"] = ok(amina("due", "--json")).json()  # not hers to carry on: sue decides it
    said["sue_due_conference_plan"] = codes(home("sue", day(21, "10:00"))("due", "--json"))
    for worker in ("amina", "baraka"):
        ok(home("sue", day(21, "11:00"))("approve", cases[worker], "plan"))
    # the month's end: the reports
    sue = home("sue", day(30, "17:00"))
    said["caseload"] = ok(sue("report", "caseload", "--json")).json()
    said["timeliness"] = ok(sue("report", "timeliness", "--from", "2026-11-01", "--to", "2026-11-30", "--json")).json()
    said["statistics"] = ok(sue("report", "statistics", "--from", "2026-11-01", "--to", "2026-11-30", "--json")).json()
    said["due_all"] = ok(sue("due", "--worker", "all", "--within", "30", "--json")).json()
    return said


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    base = tmp_path_factory.mktemp("supervisor-month")
    with private_env(base):
        home = Home(base)
        yield home, walk(home)


# -- plans: sent, rejected with a reason, revised, approved ----------------------------------------
def test_a_plan_waits_on_the_supervisor_s_due_until_she_decides_it_and_not_after(month):
    _, said = month
    cases = said["cases"]
    assert {(cases[w], "plan-approval") for w in CASEWORKERS} <= said["sue_due_plans"]
    assert (cases["amina"], "plan-approval") not in said["sue_due_after_reject"]
    assert {(cases[w], "plan-approval") for w in ("baraka", "chebet")} <= said["sue_due_after_reject"]  # not before
    assert not {c for c, code in said["sue_due_after_decisions"] if code == "plan-approval"}
    assert (cases["amina"], "plan-approval") in said["sue_due_revised"]  # the new version waits again
    assert (cases["amina"], "plan-approval") not in said["sue_due_approved"]


def test_the_rejection_s_reason_is_read_back_in_show_due_and_the_case_plan(month):
    _, said = month
    case = said["cases"]["amina"]
    assert "amina writes a new version" in said["reject"].stderr
    shown = rows(said["amina_show_rejected"])
    assert shown["plan"] == f"version 1 (initial), rejected by sue on 2026-11-05 ({REJECTED}): a new version is needed"
    plan_item = [i for i in said["amina_due"] if i["case_id"] == case and i["code"] == "case-plan"]
    assert plan_item and "rejected" in plan_item[0]["why"]
    document = said["amina_plan_rejected"][0]
    assert "Returned by the supervisor on 5 November 2026" in document and f"The supervisor's note: {REJECTED}." in document
    assert said["amina_plan_rejected"][0] == said["amina_plan_rejected"][1]  # the same, rendered twice
    assert [e["kind"] for e in said["amina_log"]][-1] == "rejection" and said["amina_log"][-1]["what"] == "plan"


def test_an_approval_s_conditions_are_read_back_in_show_its_json_and_the_case_plan(month):
    _, said = month
    assert rows(said["baraka_show"])["plan approval"] == f"by sue on 2026-11-05: {CONDITIONS}"
    approval = said["baraka_show_json"]["plan"]["approval"]
    assert approval["by"] == "sue" and approval["note"] == CONDITIONS and approval["at"].startswith("2026-11-05")
    english, kiswahili = said["baraka_plan"]
    assert "Approved on 5 November 2026 by sue. This plan is in force." in english
    assert f"The supervisor's note: {CONDITIONS}." in english
    assert f"Maelezo ya msimamizi: {CONDITIONS}." in kiswahili


def test_a_plan_approved_then_revised_is_sent_for_approval_again_and_the_approved_one_stays_in_force(month):
    _, said = month
    assert "until then version 1 stays in force" in said["revised"].stderr
    assert (said["cases"]["baraka"], "plan-approval") in said["sue_due_revision"]
    assert rows(said["baraka_show_revision"])["plan"] == "version 2 (review), waiting for a supervisor's approval; version 1 stays in force"
    # the conditions of the version in force are still read back while the revision waits
    assert rows(said["baraka_show_revision"])["plan approval"] == f"version 1, in force: by sue on 2026-11-05: {CONDITIONS}"


# -- a closure: requested, rejected, requested again, approved ---------------------------------------
def test_a_closure_s_rejection_and_its_approval_are_read_back_with_the_note(month):
    _, said = month
    case = said["cases"]["chebet"]
    assert (case, "closure-approval") in said["sue_due_closure"]
    assert (case, "closure-approval") not in said["sue_due_closure_rejected"]
    assert rows(said["chebet_show_rejected"])["closure"] == (
        f"requested by chebet on 2026-11-10 (goals_met), rejected by sue on 2026-11-11 ({CLOSURE_REJECTED}): "
        "the case stays open; ask again when the note is met")
    closure = said["chebet_json_rejected"]["closure"]
    assert closure["state"] == "rejected" and closure["decision"]["note"] == CLOSURE_REJECTED
    assert rows(said["chebet_show_asked_again"])["closure"] == "requested by chebet on 2026-11-12 (goals_met), waiting for a supervisor or manager"
    assert (case, "closure-approval") in said["sue_due_closure_again"]
    assert (case, "closure-approval") not in said["sue_due_closed"]
    closed = rows(said["chebet_show_closed"])
    assert closed["status"] == "closed"
    assert closed["closure"] == f"requested by chebet on 2026-11-12 (goals_met), approved by sue on 2026-11-13 ({CLOSURE_APPROVED})"
    report = said["closure_report"][0]
    assert f'**Approved:** on 13 November 2026 by sue: "{CLOSURE_APPROVED}"' in report
    assert said["closure_report"][0] == said["closure_report"][1]


# -- the case conference ------------------------------------------------------------------------------
def test_a_nomination_and_the_conference_report_leave_the_supervisor_s_due_once_done(month):
    _, said = month
    conf = said["conf"]
    assert any(c == conf and "nomination" in code for c, code in said["sue_due_nomination"])
    assert not any(c == conf and "nomination" in code for c, code in said["sue_due_taken_in"])
    assert (conf, "conference-report") in said["sue_due_report"]
    assert (conf, "conference-report") not in said["sue_due_rendered"]


def test_the_conference_report_and_minutes_are_the_same_when_rendered_twice(month):
    _, said = month
    first, second = said["reports"]
    assert "(due by 21 November 2026 09:00 +03:00)" in first
    assert first == second
    assert said["minutes"][0] == said["minutes"][1]
    assert DECIDED in first and DECIDED in said["minutes"][0]


def test_the_conference_s_decisions_are_read_back_in_the_case_s_show_and_log(month):
    _, said = month
    conf = said["conf"]
    shown = rows(said["amina_show_conference"])
    assert shown[f"conference {conf}"].startswith(f"2026-11-20 (especially_difficult): decided: {DECIDED}; 1 action(s) into the plan")
    entry = [e for e in said["amina_log_conference"] if e["kind"] == "conference"]
    assert entry and entry[0]["what"] == conf
    # the conference's version is not stuck on amina's list: it is sue's to approve (and she does, below)
    assert not [i for i in said["amina_due_conference_plan"] if i["code"] == "plan-approval"]
    for worker in ("amina", "baraka"):
        assert (said["cases"][worker], "plan-approval") in said["sue_due_conference_plan"]


# -- the month's reports and what is left -------------------------------------------------------------
def test_the_month_s_reports_count_the_home_s_work(month):
    _, said = month
    text = json.dumps(said["caseload"])
    for worker in CASEWORKERS:
        assert worker in text
    assert said["timeliness"] and said["statistics"]
    assert not [i for i in said["due_all"] if i["code"] in ("plan-approval", "closure-approval")]  # nothing left waiting on sue


def test_the_child_s_name_is_in_no_commit_message_and_no_file_name(month):
    home, said = month
    assert CANARY in rows(said["baraka_show"])["name"]  # the canary is the child's name indeed
    log = git(home.root, "log", "--all", "--format=%an %ae %s %b")
    assert CANARY.split()[0] not in log and CANARY.split()[1] not in log
    for path in home.root.rglob("*"):
        assert CANARY.split()[0] not in path.name
        if path.is_file() and ".git" not in path.parts:
            assert CANARY.encode() not in path.read_bytes() and CANARY.split()[0].encode() not in path.read_bytes(), path
