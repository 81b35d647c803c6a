"""A leaver who was offline, lived as a children's home lives it: a supervisor (sue) and two
caseworkers (amina, baraka), three laptops meeting through a bare shared folder. Amina goes
offline on her laptop with three open cases; there she writes a note on one, registers a new
child, and refers another to a clinic. Meanwhile sue hands amina's cases to baraka
(`assign --from-worker`), removes her and syncs. Amina, still offline, writes once more (a note,
another registration: dated after her removal). Her laptop's next sync is refused, so she makes a
bundle and sue applies it; then sue and baraka sync and look at due, list, show, check and the
caseload; sue runs the handover again for the cases that came in after it.

What it answers (docs/team.md, 'A worker removed on another copy'): nothing amina wrote offline is
lost or refused; the cases she registered offline are nobody's (their worker is off the team),
read by the supervisors only (not by her: the merge re-encrypts them away from her key), named by
the bundle's report, `cpcm check`, the supervisors' `cpcm due` and the caseload report until the
handover is run again, which picks them up; her commits dated after the removal are taken in and
named. A second walk has amina's laptop sync before sue's removal reaches the shared folder.

Clocks: the removal here is dated by the clock at the moment sue makes it (what amina wrote before it
is dated before it, what she wrote after it after it); the days around it count from the day the walk
runs. (cpcm dates each commit by CPCM_NOW, as its records; the walk was written when git dated them
by the machine's clock.)"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import CANARY, CLINIC, consent_both, private_env, register
from test_leaver_walk import Team as Walk
from cpcm.store.layout import case_dir

KISUMU = timezone(timedelta(hours=3))
TODAY = datetime.now(KISUMU).replace(microsecond=0)


def moment(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


DAY0 = moment(TODAY - timedelta(days=3))    # the team's cases, all synced
OFFLINE = moment(TODAY - timedelta(days=1))  # amina's last days, offline
LATER = moment(TODAY + timedelta(days=1))    # the bundle, the syncs, the look at it
HANDED = ("noted", "referred", "quiet")       # amina's cases the team had when she went offline


def ok(result):
    assert result.code == 0, result.stderr
    return result


def now_after(seconds: float) -> str:
    """The clock's moment, once it is past `seconds` (unix time): a commit made from then on is dated after it."""
    while time.time() < seconds + 1:
        time.sleep(0.1)
    return moment(datetime.now(KISUMU).replace(microsecond=0))


class Team(Walk):
    """The home's three laptops (test_leaver_walk's), on this walk's days: syncs at LATER."""

    def __init__(self, base: Path):
        super().__init__(base, DAY0, LATER)


def start(base: Path) -> tuple[Team, dict]:
    """The team, amina's three cases synced, then amina offline: a note, a new child, a referral."""
    team = Team(base)
    ok(team("sue")("remote", "add", "origin", str(team.bare), "--create"))
    team.sync("sue", DAY0)
    team.laptop("amina")
    team.laptop("baraka")
    amina = team("amina")
    ok(amina(*CLINIC))
    cases = {"noted": register(amina), "referred": register(amina), "quiet": register(amina)}
    consent_both(amina, cases["referred"])
    for worker in ("amina", "sue", "baraka"):
        team.sync(worker, DAY0)
    offline = team("amina", OFFLINE)
    ok(offline("note", cases["noted"], "--text", "Grandmother called: all well"))
    cases["new"] = register(offline, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    ok(offline("refer", cases["referred"], "--service", "clinic", "--need", "treatment", "--check", "all"))
    return team, cases


def walk(base: Path) -> tuple[Team, dict, dict]:
    team, cases = start(base)
    said: dict = {}
    removal = moment(datetime.now(KISUMU).replace(microsecond=0))
    sue = team("sue", removal)
    said["handover"] = ok(sue("assign", "--from-worker", "amina", "--worker", "baraka", "--json")).json()
    ok(sue("team", "remove", "amina"))
    team.sync("sue", removal)
    said["removed"] = removal
    # amina, still offline, writes on: dated after her removal
    after = team("amina", now_after(datetime.fromisoformat(removal).timestamp()))
    ok(after("note", cases["quiet"], "--text", "Called the school"))
    cases["late"] = register(after)
    # her laptop's next sync is refused; she makes a bundle, sue applies it
    amina = team("amina", LATER)
    said["amina_sync"] = amina("sync")
    bundle = base / "amina.cpcm-bundle"
    ok(amina("bundle", "create", str(bundle)))
    sue = team("sue", LATER)
    said["apply"] = ok(sue("bundle", "apply", str(bundle), "--json")).json()
    team.sync("sue")
    said["baraka_sync"] = team.sync("baraka")
    baraka = team("baraka", LATER)
    said["before"] = {
        "due": ok(sue("due", "--json")).json(),
        "baraka_due": ok(baraka("due", "--within", "400", "--json")).json(),
        "check": json.loads(sue("check", "--json").stdout),
        "caseload": ok(sue("report", "caseload", "--json")).json(),
        "caseload_text": ok(sue("report", "caseload")).stdout,
        "baraka_list": ok(baraka("list", "--worker", "baraka", "--json")).json(),
        "baraka_show": {k: baraka("show", cases[k]) for k in ("new", "late")},
        "sue_show": {k: ok(sue("show", cases[k], "--json")).json() for k in ("new", "late")},
        "recipients": {k: _readers(team.copies["sue"], cases[k]) for k in ("new", "late")},
    }
    # the handover once more: the cases that came in after it
    said["again"] = ok(sue("assign", "--from-worker", "amina", "--worker", "baraka", "--json")).json()
    team.sync("sue")
    said["baraka_again"] = team.sync("baraka")
    return team, cases, said


def _readers(root: Path, case_id: str) -> list[str]:
    return [line for line in (case_dir(root, case_id) / "recipients").read_text().splitlines() if not line.startswith("#")]


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    base = tmp_path_factory.mktemp("removed-old")
    with private_env(base):
        yield walk(base)


# -- nothing she wrote offline is lost or refused --------------------------------------------------
def test_her_laptop_s_sync_is_refused_and_asks_for_a_bundle(walked):
    _, _, said = walked
    refused = said["amina_sync"]
    assert refused.code == 5 and "you (amina) were removed from the team on the other copy" in refused.stderr
    assert "cpcm bundle create" in refused.stderr and "no bundle is needed" not in refused.stderr


def test_the_bundle_brings_in_everything_she_wrote_offline(walked):
    team, cases, said = walked
    applied = said["apply"]
    assert sorted(applied["cases"]) == sorted(cases[k] for k in (*HANDED, "new", "late"))
    assert applied["records"] == 5 and applied["by"] == {"amina": 5}
    baraka = team("baraka", LATER)
    history = {k: [(h["kind"], h["by"]) for h in ok(baraka("show", cases[k], "--json")).json()["history"]] for k in HANDED}
    assert ("note", "amina") in history["noted"] and ("referral", "amina") in history["referred"]
    assert ("note", "amina") in history["quiet"]  # written after her removal
    assert all(("assignment", "sue") in h for h in history.values())  # the handover's
    # the referral she made offline is baraka's to follow up
    feedback = [i for i in said["before"]["baraka_due"] if i["case_id"] == cases["referred"] and i["code"] == "referral-feedback"]
    assert feedback and feedback[0]["owner"] == "baraka"
    assert ok(team("sue", LATER)("verify")).code == 0


def test_her_commits_dated_after_the_removal_are_taken_in_and_named(walked):
    _, cases, said = walked
    late = said["apply"]["after_removal"]
    assert late and {e["worker"] for e in late} == {"amina"}
    assert {e["removed"] for e in late} == {said["removed"]}
    assert sorted(c for e in late for c in e["cases"]) == sorted([cases["quiet"], cases["late"]])
    assert cases["new"] not in {c for e in late for c in e["cases"]}  # written before the removal: not named
    assert said["baraka_sync"]["after_removal"] == late  # a colleague's sync names them the same way


# -- the cases she registered offline: nobody's until the handover runs again -----------------------
def test_the_cases_she_registered_offline_are_the_supervisors_to_read_and_said_to_be_nobody_s(walked):
    team, cases, said = walked
    before = said["before"]
    new = [cases["new"], cases["late"]]
    for kind in ("new", "late"):
        assert before["sue_show"][kind]["worker"] == "amina"
        assert before["recipients"][kind] == ["sue"]  # not amina: re-encrypted away from her key
        assert before["baraka_show"][kind].code == 5
    notes = " ".join(said["apply"]["notes"])
    assert all(f"{c}: its worker (amina) is no longer on the team, and nobody has the case" in notes for c in new), notes
    removed = sorted(p["case_id"] for p in before["check"] if p["code"] == "case-worker-removed")
    assert removed == sorted(new)
    nobody = {i["case_id"] for i in before["due"] if i.get("worker_removed")}
    assert nobody == set(new) and {i["owner"] for i in before["due"] if i.get("worker_removed")} == {"amina"}
    assert sorted(r["case_id"] for r in before["baraka_list"]) == sorted(cases[k] for k in HANDED)


def test_the_caseload_report_says_her_cases_are_nobody_s_not_a_caseload_within_the_cap(walked):
    _, _, said = walked
    rows = {w["worker"]: w for w in said["before"]["caseload"]["workers"]}
    assert rows["amina"]["open"] == 2 and rows["amina"]["active"] is False
    assert rows["amina"]["state"] == "off_team" and rows["amina"]["cap"] is None
    assert rows["amina"]["off_team"] == "no longer on the team"
    assert rows["baraka"]["state"] == "ok" and "off_team" not in rows["baraka"]
    line = [l for l in said["before"]["caseload_text"].splitlines() if l.startswith("amina\t")][0].split("\t")
    assert line[:4] == ["amina", "2", "", "no longer on the team: nobody has them"], line


def test_the_handover_run_again_picks_them_up(walked):
    team, cases, said = walked
    again = said["again"]
    new = sorted([cases["new"], cases["late"]])
    assert again["from_worker"] == "amina" and [(r["case_id"], r["previous"]) for r in again["records"]] == [(c, "amina") for c in new]
    assert sorted(said["baraka_again"]["assigned_to_you"]) == new
    baraka, sue = team("baraka", LATER), team("sue", LATER)
    for case_id in new:
        assert ok(baraka("show", case_id, "--json")).json()["worker"] == "baraka"
        assert _readers(team.copies["baraka"], case_id) == ["baraka", "sue"]
    mine = sorted(r["case_id"] for r in ok(baraka("list", "--worker", "baraka", "--json")).json())
    assert mine == sorted(cases[k] for k in (*HANDED, "new", "late"))
    assert not [i for i in ok(sue("due", "--json")).json() if i.get("worker_removed")]
    assert "case-worker-removed" not in {p["code"] for p in json.loads(sue("check", "--json").stdout)}
    rows = {w["worker"]: w for w in ok(sue("report", "caseload", "--json")).json()["workers"]}
    assert "amina" not in rows and rows["baraka"]["open"] == 5
    assert {i["owner"] for i in ok(baraka("due", "--json")).json()} == {"baraka"}


def test_no_child_s_name_in_any_message_file_name_or_commit(walked):
    team, _, said = walked
    team.no_name_on_disk()
    messages = {k: v for k, v in said.items() if k != "before"} | {k: v for k, v in said["before"].items() if "show" not in k}
    assert CANARY not in json.dumps(messages, default=lambda r: r.stdout + r.stderr)  # `show` is the one to print a name
    assert not [r for r in said["before"]["baraka_show"].values() if CANARY in r.stdout + r.stderr]


# -- her laptop syncs before the removal reaches the shared folder ------------------------------------
def test_her_laptop_syncing_before_the_removal_arrives_the_supervisor_s_sync_names_the_case_nobody_has(tmp_path):
    """Sue hands over and removes amina but has not synced yet; amina's laptop syncs its offline work
    first (the shared folder does not know of the removal). Sue's sync brings in the child amina
    registered: nobody's, and said so; the note and the referral are on baraka's cases."""
    with private_env(tmp_path):
        team, cases = start(tmp_path)
        sue = team("sue", moment(datetime.now(KISUMU).replace(microsecond=0)))
        ok(sue("assign", "--from-worker", "amina", "--worker", "baraka"))
        ok(sue("team", "remove", "amina"))
        team.sync("amina", OFFLINE)
        synced = team.sync("sue")
        assert synced["after_removal"] == []  # all written before the removal
        assert any(f"{cases['new']}: its worker (amina) is no longer on the team, and nobody has the case" in n
                   for n in synced["notes"]), synced["notes"]
        assert _readers(team.copies["sue"], cases["new"]) == ["sue"]
        assert sorted(team.sync("baraka")["assigned_to_you"]) == sorted(cases[k] for k in HANDED)
        again = ok(team("sue", LATER)("assign", "--from-worker", "amina", "--worker", "baraka", "--json")).json()
        assert [r["case_id"] for r in again["records"]] == [cases["new"]]
