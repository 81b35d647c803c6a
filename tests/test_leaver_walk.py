"""A worker leaves the team, lived as a children's institution lives it: a supervisor (sue) and two
caseworkers (amina, baraka), each on a copy of their own meeting through a shared folder. Amina has
five cases in different stages (a plan approved with actions open, a referral waiting, a closure
waiting for approval, a case on a conference's agenda, a consent given); she leaves: sue hands her
cases to baraka, removes her from the team, and the copies sync. Then what baraka, sue and amina's
own copy see: due, show, log, caseload, check, the conference, amina's sync.

The team is built once for the module (`walked`); every test only reads it, or works on a copy of
it of its own, so each passes run alone."""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import CANARY, CLINIC, Cli, consent_both, git, make_identity, make_repo, private_env, register
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_followup_close import GOALS_MET
from cpcm.store.layout import case_rel

WORKERS = {"sue": "supervisor", "amina": "caseworker", "baraka": "caseworker"}
# A week after the day it runs (cpcm dates its commits by CPCM_NOW, as the removal; when git dated them by
# the machine's clock, days before it took every commit amina made before her removal for one signed after it)
START = date.today() + timedelta(days=7)


def day(offset: int) -> str:
    """The walk's day `offset` (DAY0 is 0), 09:00 in Kisumu."""
    return f"{START + timedelta(days=offset)}T09:00:00+03:00"


DAY0, DAY1, DAY2 = day(0), day(1), day(2)   # DAY1: amina's last day: sue hands her cases over and removes her
LATER = [day(16), day(37), day(98)]   # baraka's first morning with them
PLAN = plan_doc(actions=[{"what": "Pay fees through the bursary", "who": "service", "by": str(START + timedelta(days=11)), "mode": "referral", "goal": "G1"},
                         {"what": "Go to school", "who": "child", "by": str(START + timedelta(days=37)), "mode": "direct", "goal": "G1"}])
VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school", "--visited-by",
         "professional", "--risk-increased", "no")


class Team:
    """The home's laptops: sue's copy made at `day0`, a laptop each for the others once cloned from
    the shared folder (`laptop`); `team(worker, now)` runs cpcm as that worker on their copy;
    `sync` (at `synced`, `day0` when not given) must succeed and gives its JSON."""

    def __init__(self, base: Path, day0: str = DAY0, synced: str | None = None):
        self.base, self.day0, self.synced = base, day0, synced or day0
        self.keys = {w: (base / "keys" / f"{w}.txt", "") for w in WORKERS}
        for worker, (path, _) in list(self.keys.items()):
            self.keys[worker] = (path, make_identity(path))
        self.office = make_repo(base / "sue", self.keys, workers=WORKERS, now=day0)
        self.copies = {"sue": self.office}
        self.bare = base / "shared.git"

    def __call__(self, worker: str, now: str | None = None) -> Cli:
        return Cli({"CPCM_REPO": str(self.copies[worker]), "CPCM_IDENTITY": str(self.keys[worker][0]),
                    "CPCM_NOW": now or self.day0})

    def laptop(self, worker: str) -> None:
        path = self.base / worker
        subprocess.run(["git", "clone", "-q", str(self.bare), str(path)], check=True, capture_output=True)
        self.copies[worker] = path

    def sync(self, worker: str, now: str | None = None) -> dict:
        done = self(worker, now or self.synced)("sync", "--json")
        assert done.code == 0, done.stderr
        return done.json()

    def no_name_on_disk(self) -> None:
        """The canary child's name is in no commit, no file name and no file outside git's objects, on any copy."""
        for root in self.copies.values():
            log = git(root, "log", "--all", "--format=%an %s %b")
            assert CANARY not in log and CANARY.split()[0] not in log
            for path in root.rglob("*"):
                assert CANARY.split()[0] not in path.name
                if path.is_file() and ".git" not in path.parts:
                    assert CANARY.encode() not in path.read_bytes(), path


def ok(result):
    assert result.code == 0, result.stderr
    return result


def build(base: Path) -> tuple[Team, dict]:
    team = Team(base)
    sue = team("sue")
    ok(sue("remote", "add", "origin", str(team.bare), "--create"))
    team.sync("sue")
    team.laptop("amina")
    team.laptop("baraka")
    amina = team("amina")
    ok(amina(*CLINIC))
    cases = {}
    # a plan approved, its actions open
    cases["plan"] = planned = register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    ok(amina("assess", planned, "--type", "initial", "--risk", "high", *INITIAL))
    ok(amina("assess", planned, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)))
    ok(amina("plan", planned, "--from-file", "-", input=json.dumps(PLAN)))
    # a closure to approve: planned, visited, closure asked for
    cases["closure"] = closing = register(amina)
    ok(amina("assess", closing, "--type", "initial", "--risk", "high", *INITIAL))
    ok(amina("assess", closing, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)))
    ok(amina("plan", closing, "--from-file", "-", input=json.dumps(PLAN)))
    # a referral sent, no feedback yet
    cases["referral"] = referred = register(amina)
    consent_both(amina, referred)
    ok(amina("refer", referred, "--service", "clinic", "--need", "treatment", "--check", "all"))
    # on a conference's agenda
    cases["conference"] = register(amina)
    # a consent given
    cases["consent"] = consented = register(amina)
    consent_both(amina, consented)
    team.sync("amina")
    team.sync("sue")
    ok(sue("approve", planned, "plan"))
    ok(sue("approve", closing, "plan"))
    made = ok(sue("conference", "new", "--kind", "internal", "--date", str(START + timedelta(days=7)), "--venue", "Meeting room",
                  "--notice-sent", str(START), "--invitations-sent", str(START), "--json"))
    cases["conf_id"] = conf = made.json()["conference_id"]
    ok(sue("conference", "add-case", conf, cases["conference"], "--reason", "especially_difficult"))
    team.sync("sue")
    team.sync("amina")
    ok(amina("followup", closing, *VISIT))
    ok(amina("close", closing, "--reason", "goals_met", *GOALS_MET, "--explain-open", "done by the family"))
    team.sync("amina")
    # amina's last day: sue hands her cases over, then removes her
    team.sync("sue", DAY1)
    return team, cases


def hand_over(team: Team, cases: dict) -> dict:
    """Amina's last day (DAY1): sue gives all her cases to baraka in one commit, removes her from
    the team, and syncs; the next morning (DAY2) baraka syncs. What each said, by step."""
    sue = team("sue", DAY1)
    said = {"list": ok(sue("list", "--worker", "amina", "--json")).json()}
    handover = team.base / "handover.csv"
    handover.write_text("case,worker\n" + "".join(f"{cases[k]},baraka\n" for k in KINDS))
    said["assign"] = ok(sue("assign", "--batch", str(handover), "--json")).json()
    said["remove"] = ok(sue("team", "remove", "amina"))
    team.sync("sue", DAY1)
    said["baraka_sync"] = team.sync("baraka", DAY2)
    return said


KINDS = ("plan", "closure", "referral", "conference", "consent")


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    base = tmp_path_factory.mktemp("leaver")
    with private_env(base):
        team, cases = build(base)
        said = hand_over(team, cases)
        yield team, cases, said


def own_copy(team: Team, worker: str, tmp_path: Path) -> Cli:
    """`worker` on a copy of their copy of their own (for a test that writes: the module's stay as they are)."""
    path = tmp_path / f"{worker}-copy"
    shutil.copytree(team.copies[worker], path, symlinks=True)
    return Cli({"CPCM_REPO": str(path), "CPCM_IDENTITY": str(team.keys[worker][0]), "CPCM_NOW": DAY2})


# -- the handover ----------------------------------------------------------------------------------
def test_the_supervisor_hands_all_of_amina_s_cases_over_in_one_commit_and_removes_her(walked):
    team, cases, said = walked
    assert sorted(r["case_id"] for r in said["list"]) == sorted(cases[k] for k in KINDS)
    assert said["assign"]["assigned"] == 5 and {r["previous"] for r in said["assign"]["records"]} == {"amina"}
    assert said["assign"]["workers"][0]["worker"] == "baraka" and said["assign"]["workers"][0]["cases"] == 5
    assert "'amina' removed" in said["remove"].stderr and "next: cpcm sync" in said["remove"].stderr
    assert sorted(said["baraka_sync"]["assigned_to_you"]) == sorted(cases[k] for k in KINDS)
    sue = team("sue", DAY2)
    assert ok(sue("list", "--worker", "amina", "--json")).json() == []
    assert [w["id"] for w in ok(sue("team", "list", "--json")).json()] == ["sue", "baraka"]
    gone = [w for w in ok(sue("team", "list", "--all", "--json")).json() if w["id"] == "amina"]
    assert gone and gone[0]["removed"].startswith(DAY1[:10])


def test_every_open_item_of_amina_s_cases_is_baraka_s_and_none_is_left_on_her(walked):
    """The plan's actions, the referral's follow-up, the assessments: baraka's, on his own due list;
    the closure amina asked for waits for the supervisors; nothing on the team's list names amina."""
    team, cases, _ = walked
    baraka = team("baraka", LATER[0])
    items = ok(baraka("due", "--json")).json()
    mine = {(i["case_id"], i["code"]) for i in items}
    assert any(c == cases["plan"] and code.startswith("plan-action") for c, code in mine), mine
    assert any(c == cases["referral"] and code.startswith("referral-feedback") for c, code in mine), mine
    assert {i["owner"] for i in items} == {"baraka"}
    everyone = ok(team("sue", LATER[0])("due", "--worker", "all", "--json")).json()
    assert "amina" not in {i["owner"] for i in everyone}
    closure = [i for i in everyone if i["case_id"] == cases["closure"] and "closure" in i["code"]]
    assert closure and closure[0]["owner"] != "amina"
    for result in (baraka("check", "--json"), team("sue", LATER[0])("check", "--json")):
        problems = json.loads(result.stdout)
        assert problems and "amina" not in {p.get("worker") for p in problems}
        assert "case-worker-removed" not in {p["code"] for p in problems}


def test_show_and_log_name_baraka_and_keep_what_amina_wrote(walked):
    team, cases, _ = walked
    baraka = team("baraka", DAY2)
    shown = ok(baraka("show", cases["plan"], "--json")).json()
    assert shown["worker"] == "baraka"
    assert [h["kind"] for h in shown["history"]][-1] == "assignment"
    assert [h["by"] for h in shown["history"]][:4] == ["amina"] * 4  # registration, two assessments, the plan
    assert [a["item"] for a in shown["open_actions"]] == ["A1", "A2"], shown["open_actions"]
    log = ok(baraka("log", cases["plan"]))
    assert log.stdout.count("\tamina\t") == 4 and "assignment\tto baraka\tsue" in log.stdout
    consents = ok(baraka("show", cases["consent"], "--json")).json()["consents"]
    assert len(consents) == 2
    assert ok(baraka("verify")).stdout.strip() == "code\tcase\tproblem"


def test_the_caseload_counts_her_cases_under_baraka_and_no_longer_lists_her(walked):
    team, cases, _ = walked
    report = ok(team("sue", DAY2)("report", "caseload")).stdout
    rows = [line.split("\t") for line in report.splitlines()]
    assert ["baraka", "5"] == [r for r in rows if r[0] == "baraka"][0][:2]
    assert not [r for r in rows if r[0] == "amina"]


def test_the_closure_she_asked_for_cannot_be_withdrawn_by_baraka_and_the_message_says_she_has_left(walked):
    team, cases, _ = walked
    refused = team("baraka", DAY2)("close", cases["closure"], "--withdraw", "--reason", "not ready yet")
    assert refused.code == 4 and "withdraw" in refused.stderr
    assert "amina is no longer on the team, so nobody can withdraw it now" in refused.stderr, refused.stderr
    assert f"cpcm approve|reject {cases['closure']} closure" in refused.stderr


# -- the conference that has one of her cases on its agenda ------------------------------------------
def test_the_agenda_names_the_case_s_new_worker_as_its_presenter(walked, tmp_path):
    """The case was nominated while amina had it; it is baraka who presents it at the meeting."""
    team, cases, _ = walked
    agenda = ok(own_copy(team, "sue", tmp_path)("render", "agenda", cases["conf_id"]))  # a render is recorded: a copy
    line = [l for l in agenda.stdout.splitlines() if cases["conference"] in l]
    assert line and "presented by baraka" in line[0] and "amina" not in agenda.stdout, line


def test_the_new_worker_may_replace_the_presentation_of_the_case_handed_to_him(walked, tmp_path):
    team, cases, _ = walked
    baraka = own_copy(team, "baraka", tmp_path)
    done = baraka("conference", "update", cases["conf_id"], "--case", cases["conference"], "--presentation",
                  "School fees unpaid for two terms.", "--reason", "the case was handed over")
    assert done.code == 0, done.stderr
    assert "not yours" not in done.stderr


# -- amina's own laptop --------------------------------------------------------------------------------
def test_amina_s_sync_is_refused_and_says_nothing_of_hers_is_left_behind(walked):
    """She synced on her last day: nothing is on her laptop only, so no bundle is asked for."""
    team, cases, _ = walked
    amina = team("amina", DAY2)
    before = git(team.copies["amina"], "rev-parse", "HEAD")
    refused = amina("sync", "--json")
    assert refused.code == 5, refused.stderr
    assert "you (amina) were removed from the team on the other copy" in refused.stderr
    assert "no bundle is needed" in refused.stderr and "cpcm bundle create" not in refused.stderr, refused.stderr
    assert refused.json()["exit_code"] == 5
    assert git(team.copies["amina"], "rev-parse", "HEAD") == before
    # what she wrote before the removal reads as it did, on her copy and on the team's
    for kind in KINDS:
        assert ok(amina("show", cases[kind], "--json")).json()["worker"] == "amina"
        assert ok(team("baraka", DAY2)("show", cases[kind])).code == 0


def test_what_she_can_still_read_is_what_security_md_says(walked):
    """docs/security.md, 'When a worker leaves': the current files are re-encrypted without her key;
    the old copies in git history stay readable with it (a copy of the shared place she can reach)."""
    from cpcm.crypto import cipher, identity

    team, cases, _ = walked
    key = identity.load(team.keys["amina"][0], lambda: None).keys
    mine = team.copies["amina"]
    subprocess.run(["git", "-C", str(mine), "fetch", "-q", "origin"], check=True, capture_output=True)
    path = [p for p in git(mine, "ls-tree", "-r", "--name-only", "HEAD", case_rel(cases['plan'])).split()
            if p.endswith(".age")][0]
    old = subprocess.run(["git", "-C", str(mine), "show", f"HEAD:{path}"], capture_output=True, check=True).stdout
    now = subprocess.run(["git", "-C", str(mine), "show", f"origin/HEAD:{path}"], capture_output=True).stdout or \
        subprocess.run(["git", "-C", str(team.copies["sue"]), "show", f"HEAD:{path}"], capture_output=True, check=True).stdout
    assert old != now
    assert cipher.decrypt(old, key)  # history: still hers to read
    with pytest.raises(Exception):
        cipher.decrypt(now, key)  # the current file: no longer


def test_no_child_s_name_in_any_message_file_name_or_commit(walked):
    team, cases, _ = walked
    team.no_name_on_disk()
    for args in (("due", "--worker", "all"), ("check",), ("report", "caseload"), ("list",)):
        result = team("sue", DAY2)(*args)
        assert CANARY not in result.stdout + result.stderr
    refused = team("amina", DAY2)("sync")
    assert CANARY not in refused.stdout + refused.stderr
