"""Worker cadres (ESARO N2: a workforce registry with each worker's cadre; assignment and escalation,
volunteer -> professional; IAG §2 [L558]: cadres vary by case complexity). A team member's cadre in
.cpcm/team.yaml (`team add --cadre`, `team cadre`), merged by worker when copies meet; the policy's
`cadre_risk` says which cadre may be a case's assigned worker at which risk: `assign` and `register`
with a worker refuse (or warn of) one who may not; a case whose risk rises above what its worker's
cadre may hold is on `due` (`cadre-escalation`) for its worker and every supervisor until it is
reassigned or its risk falls, and a `check` warning; `report caseload` counts by cadre. The child's
name (the canary) is never in what these print."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, NOW, Cli, make_identity, register, register_many, registration

from cpcm.domain.team import Team, Worker
from cpcm.store import codec, policies
from cpcm.store.config import team_bytes
from cpcm.store.merge import merge_team

CHILD = {"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}
VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check home",
         "--visited-by", "professional", "--no-input")


def _team(*workers: Worker) -> bytes:
    return team_bytes(Team(tuple(workers)))


def _worker(worker_id: str, cadre: str = "") -> Worker:
    return Worker(worker_id, worker_id, ("caseworker",), "age1" + worker_id, "2026-01-01T00:00:00+03:00", cadre=cadre)


def test_team_file__a_cadre_is_written_and_read_back_and_a_file_without_cadres_reads_as_not_known():
    team = Team((_worker("otieno", "volunteer"), _worker("amina")))
    data = codec.loads(team_bytes(team))
    assert data["workers"][0]["cadre"] == "volunteer"
    assert "cadre" not in data["workers"][1]  # none given: nothing written, as before cadres
    back = [Worker.from_dict(w) for w in data["workers"]]
    assert [w.cadre for w in back] == ["volunteer", ""]
    # a file written before cadres (no key), and one with a cadre this version does not know: not known, no crash
    assert Worker.from_dict({"id": "old", "recipient": "age1old", "roles": ["caseworker"]}).cadre == ""
    assert Worker.from_dict({"id": "odd", "recipient": "age1odd", "roles": ["caseworker"], "cadre": "intern"}).cadre == ""


def test_merge_team__two_copies_that_changed_different_workers_cadres_keep_both():
    base = _team(_worker("amina"), _worker("otieno"))
    ours = _team(_worker("amina", "professional"), _worker("otieno"))
    theirs = _team(_worker("amina"), _worker("otieno", "volunteer"))
    merged, notes = merge_team(base, ours, theirs)
    cadres = {w["id"]: w.get("cadre") for w in codec.loads(merged)["workers"]}
    assert cadres == {"amina": "professional", "otieno": "volunteer"} and notes == []
    assert merged == merge_team(base, theirs, ours)[0]  # the same file on either copy


def test_merge_team__one_worker_given_two_cadres_keeps_the_one_that_may_hold_less_on_every_copy():
    base = _team(_worker("otieno"))
    ours, theirs = _team(_worker("otieno", "professional")), _team(_worker("otieno", "volunteer"))
    for one, other in ((ours, theirs), (theirs, ours)):
        merged, notes = merge_team(base, one, other)
        assert codec.loads(merged)["workers"][0]["cadre"] == "volunteer"  # escalated rather than left with a volunteer
        assert notes and "cpcm team cadre otieno" in notes[0]


@pytest.mark.parametrize("override, field, reason_part", [
    ("rules:\n  cadre_risk:\n    max_risk:\n      volunteer: severe\n", "rules.cadre_risk.max_risk.volunteer", "is not a risk level"),
    ("rules:\n  cadre_risk:\n    max_risk:\n      volunteer: 3\n", "rules.cadre_risk.max_risk.volunteer", "is not a risk level"),
    ("rules:\n  cadre_risk:\n    max_risk:\n      intern: low\n", "rules.cadre_risk.max_risk.intern", "not a setting"),
    ("rules:\n  cadre_risk:\n    over_max: shout\n", "rules.cadre_risk.over_max", "warn, refuse"),
])
def test_policy__an_invalid_cadre_rule_is_refused_with_its_key_and_why(override, field, reason_part):
    with pytest.raises(Exception) as raised:
        policies.with_override("inter-agency", override)
    errors = getattr(raised.value, "errors", [])
    assert any(e.field == field and reason_part in e.reason for e in errors), errors


def test_policy__the_rule_names_its_sources_and_what_is_cpcms_choice():
    for name in ("inter-agency", "kenya"):
        policy = policies.load(name)
        assert policy.get("cadre_risk", "over_max") == "refuse"
        assert policy.get("cadre_risk", "max_risk")["volunteer"] == "medium"
        source = policy.source("cadre_risk")
        assert "ESARO" in source and "N2" in source and "L558" in source and "cpcm's choice" in source


def _team_json(cli) -> dict:
    listed = cli("team", "list", "--json")
    assert listed.code == 0, listed.stderr
    return {w["id"]: w["cadre"] for w in listed.json()}


def test_team__a_supervisor_sets_a_cadre_and_team_list_shows_it(cli_as, repo):
    sup, amina = cli_as("sup"), cli_as("amina")
    assert _team_json(sup) == {"sup": None, "amina": None, "otieno": None}  # a team of before cadres: not known
    assert "not known" in sup("team", "list").stdout
    before = _commits(repo)
    refused = amina("team", "cadre", "otieno", "volunteer")
    assert refused.code != 0 and "supervisor" in refused.stderr
    bad = sup("team", "cadre", "otieno", "intern")
    assert bad.code == 4 and "cadre" in bad.stderr and "para_social_worker" in bad.stderr, bad.stderr
    assert _commits(repo) == before
    done = sup("team", "cadre", "otieno", "volunteer")
    assert done.code == 0, done.stderr
    assert "volunteer" in done.stderr and "was not known" in done.stderr
    assert _team_json(amina)["otieno"] == "volunteer"
    assert "volunteer" in sup("team", "list").stdout
    assert "cadre: volunteer" in (repo / ".cpcm" / "team.yaml").read_text()
    assert _commits(repo) == before + 1
    same = sup("team", "cadre", "otieno", "volunteer")
    assert same.code != 0 and "already" in same.stderr


def _commits(repo) -> int:
    import subprocess

    return int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True,
                              check=True).stdout)


def test_assign__a_volunteer_is_refused_a_high_risk_case_with_what_to_do_and_nothing_changes(cli_as, repo):
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    case_id = register(amina, child=CHILD)  # high risk
    before = _commits(repo)
    refused = sup("assign", case_id, "--worker", "otieno")
    assert refused.code == 4, (refused.code, refused.stderr)
    for words in ("otieno", "volunteer", "high", "medium", "professional", "cadre_risk"):
        assert words in refused.stderr, (words, refused.stderr)
    assert CANARY not in refused.stderr + refused.stdout
    assert _commits(repo) == before
    assert sup("show", case_id, "--json").json()["worker"] == "amina"
    # a case the volunteer's cadre may hold (medium) is theirs
    medium = register(amina, risk="medium")
    assert sup("assign", medium, "--worker", "otieno").code == 0
    # a worker whose cadre is not known is not judged
    assert sup("assign", case_id, "--worker", "sup").code == 0


def test_assign__where_the_policy_says_warn_the_supervisor_assigns_and_is_warned(cli_as, repo):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  cadre_risk:\n    over_max: warn\n")
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "para_social_worker").code == 0
    case_id = register(amina, child=CHILD)
    assigned = sup("assign", case_id, "--worker", "otieno")
    assert assigned.code == 0, assigned.stderr
    assert "cadre" in assigned.stderr and "para-social-worker" in assigned.stderr and "escalate" in assigned.stderr
    # and it is escalated on due at once
    assert ("cadre-escalation", case_id, "otieno") in _codes(sup)


def test_assign_cover__a_cover_above_the_colleagues_cadre_is_refused_or_warned_as_assign_is(cli_as, repo):
    """A cover holds the case's work for a while: the cadre rule applies to it as to `assign --worker`,
    with the same message; where the policy says warn, the cover is given and the warning said."""
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "para_social_worker").code == 0
    case_id = register(amina, child=CHILD)  # high risk
    before = _commits(repo)
    as_worker = sup("assign", case_id, "--worker", "otieno")
    refused = sup("assign", case_id, "--cover", "otieno", "--until", "2026-12-31")
    assert as_worker.code == refused.code == 4, (refused.code, refused.stderr)
    said = "cadre: otieno is a para-social-worker, who may hold cases up to medium risk"
    assert said in as_worker.stderr and said in refused.stderr, refused.stderr
    assert "cover the case" in refused.stderr and CANARY not in refused.stderr + refused.stdout
    assert _commits(repo) == before
    assert sup("show", case_id, "--json").json()["covers"] == []
    medium = register(amina, risk="medium")  # one the cadre may hold: covered, no word of the cadre
    covered = sup("assign", medium, "--cover", "otieno", "--until", "2026-12-31")
    assert covered.code == 0 and "cadre" not in covered.stderr, covered.stderr
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  cadre_risk:\n    over_max: warn\n")
    warned = cli_as("sup")("assign", case_id, "--cover", "otieno", "--until", "2026-12-31", "--json")
    assert warned.code == 0, warned.stderr
    assert any(said in w for w in warned.json()["warnings"]) and said in warned.stderr, warned.stderr


def test_assign_cover__a_cover_rated_above_the_colleagues_cadre_can_still_be_ended_sooner_not_made_longer(cli_as, repo):
    """Given again with an earlier end, a cover ends sooner (the documented way, and what settles two
    covers apart): a risk rated above the colleague's cadre during the cover does not stand against it,
    by the case's worker or a supervisor; a later end gives the case's work for longer and is judged."""
    sup, amina, otieno = cli_as("sup"), cli_as("amina"), cli_as("otieno")
    assert sup("team", "cadre", "otieno", "para_social_worker").code == 0
    case_id = register(amina, child=CHILD, risk="medium")
    assert amina("assign", case_id, "--cover", "otieno", "--until", "2026-12-31").code == 0
    rated = otieno("followup", case_id, *VISIT, "--risk-increased", "yes", "--risk", "high", "--risk-reason", "violence at home")
    assert rated.code == 0, rated.stderr
    before = _commits(repo)
    longer = amina("assign", case_id, "--cover", "otieno", "--until", "2027-01-31")
    assert longer.code == 4 and "cadre: otieno is a para-social-worker" in longer.stderr, longer.stderr
    assert _commits(repo) == before
    for cli, until in ((amina, "2026-12-15"), (sup, "2026-11-24"), (sup, "2026-11-24")):
        shorter = cli("assign", case_id, "--cover", "otieno", "--until", until, "--json")
        assert shorter.code == 0 and "cadre" not in shorter.stderr, shorter.stderr
        assert shorter.json()["warnings"] == []
    assert _commits(repo) == before + 3
    covers = sup("show", case_id, "--json").json()["covers"]
    assert [c["until"][:10] for c in covers if c["worker"] == "otieno"] == ["2026-11-24"], covers
    assert CANARY not in longer.stderr + longer.stdout


def test_assign_cover__where_the_policy_says_warn_the_warning_is_worded_for_a_cover(cli_as, repo):
    """A cover makes nobody the case's worker: its warning says who is to cover it, not to escalate the case."""
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "para_social_worker").code == 0
    case_id = register(amina, child=CHILD)  # high risk
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  cadre_risk:\n    over_max: warn\n")
    warned = cli_as("sup")("assign", case_id, "--cover", "otieno", "--until", "2026-12-31", "--json")
    assert warned.code == 0, warned.stderr
    [warning] = warned.json()["warnings"]
    assert warning.startswith("cadre: otieno is a para-social-worker") and "escalate" not in warning, warning
    assert "a professional or an officer is the one to cover it" in warning and "--until" in warning, warning


def test_register__naming_a_worker_whose_cadre_may_not_hold_the_risk_is_refused(cli_as, repo):
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    before = _commits(repo)
    refused = amina("register", "--from-file", "-", input=json.dumps(registration(worker="otieno", risk="immediate")))
    assert refused.code == 4 and "otieno" in refused.stderr and "volunteer" in refused.stderr and "immediate" in refused.stderr
    assert _commits(repo) == before
    # a volunteer who registers a child they found holds the case: registered, warned, escalated on due
    assert sup("team", "cadre", "amina", "volunteer").code == 0
    found = amina("register", "--from-file", "-", "--json", input=json.dumps(registration(child=CHILD)))
    assert found.code == 0, found.stderr
    assert "cadre" in found.stderr and "escalate" in found.stderr and CANARY not in found.stderr
    assert ("cadre-escalation", found.json()["case_id"], "amina") in _codes(sup)


def _codes(cli, *args: str, env: dict | None = None) -> list[tuple[str, str, str | None]]:
    result = cli("due", "--json", *args, env=env)
    assert result.code == 0, result.stderr
    return [(item["code"], item["case_id"], item["owner"]) for item in result.json()]


def _same_without_tables(cli, monkeypatch) -> None:
    from cpcm.service import tables

    for args in ((), ("--json",), ("--worker", "all")):
        kept = cli("due", *args)
        with monkeypatch.context() as patch:
            patch.setattr(tables, "_session", lambda ctx: None)
            computed = cli("due", *args)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), args


@pytest.mark.parametrize("overlaid", [False, True], ids=["view-spliced", "view-overlaid"])
def test_due__a_risk_that_rises_above_the_workers_cadre_is_escalated_until_the_case_is_reassigned(
        cli_as, repo, monkeypatch, overlaid):
    from cpcm.service import dueview

    if overlaid:
        monkeypatch.setattr(dueview, "OVERLAY_FROM", 0)
    sup, amina, otieno = cli_as("sup"), cli_as("amina"), cli_as("otieno")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    case_id = register(amina, child=CHILD, risk="medium")
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    for cli in (sup, otieno):
        assert "cadre-escalation" not in [code for code, _case, _owner in _codes(cli, "--worker", "all")]
    # the volunteer's follow-up re-rates the risk high: above what a volunteer may hold
    rated = otieno("followup", case_id, *VISIT, "--risk-increased", "yes", "--risk", "high", "--risk-reason", "violence at home")
    assert rated.code == 0, rated.stderr
    for cli in (otieno, sup):
        assert ("cadre-escalation", case_id, "otieno") in _codes(cli)
        _same_without_tables(cli, monkeypatch)
    assert ("cadre-escalation", case_id, "otieno") not in _codes(amina)  # not hers, and she does not oversee
    item = next(i for i in sup("due", "--json").json() if i["code"] == "cadre-escalation")
    assert item["title"] == "escalate to a professional" and item["rule"] == "cadre_risk" and item["risk"] == "high"
    assert f"cpcm assign {case_id} --worker" in item["why"] and "volunteer" in item["why"] and "ESARO" in item["source"]
    text = sup("due")
    assert "escalate to a professional" in text.stdout and CANARY not in text.stdout + text.stderr
    checked = sup("check", "--json")
    assert [p for p in checked.json() if p["code"] == "cadre-escalation" and p["case_id"] == case_id]
    assert CANARY not in checked.stdout
    # a supervisor makes otieno a para-social worker: still above (medium at most), no case changed
    assert sup("team", "cadre", "otieno", "para_social_worker").code == 0
    assert ("cadre-escalation", case_id, "otieno") in _codes(sup)
    # reassigned to a professional: it goes
    assert sup("team", "cadre", "amina", "professional").code == 0
    assert sup("assign", case_id, "--worker", "amina").code == 0
    for cli in (sup, amina, otieno):
        assert "cadre-escalation" not in [code for code, _case, _owner in _codes(cli, "--worker", "all")]
        _same_without_tables(cli, monkeypatch)
    assert not [p for p in sup("check", "--json").json() if p["code"] == "cadre-escalation"]


def test_due__the_escalation_goes_when_the_risk_falls(cli_as, repo):
    sup, otieno = cli_as("sup"), cli_as("otieno")
    case_id = register(sup, risk="high", worker="otieno")  # cadre not known: assigned, not judged
    assert ("cadre-escalation", case_id, "otieno") not in _codes(sup)
    changed = sup("team", "cadre", "otieno", "volunteer")
    assert changed.code == 0 and case_id in changed.stderr and "cadre-escalation" in changed.stderr  # named at once
    assert ("cadre-escalation", case_id, "otieno") in _codes(otieno)
    rated = otieno("followup", case_id, *VISIT, "--risk-increased", "no", "--risk", "low", "--risk-reason", "safe with grandmother")
    assert rated.code == 0, rated.stderr
    assert ("cadre-escalation", case_id, "otieno") not in _codes(otieno)
    assert ("cadre-escalation", case_id, "otieno") not in _codes(sup)


def test_report_caseload__counts_open_cases_by_cadre(cli_as, repo):
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    assert sup("team", "cadre", "amina", "professional").code == 0
    register(amina)
    register(amina, risk="low")
    low = register(amina, risk="low")
    assert sup("assign", low, "--worker", "otieno").code == 0
    report = sup("report", "caseload", "--json")
    assert report.code == 0, report.stderr
    by_cadre = {row["cadre"]: row for row in report.json()["by_cadre"]}
    assert by_cadre["professional"]["open"] == 2 and by_cadre["professional"]["workers"] == 1
    assert by_cadre["volunteer"]["open"] == 1 and by_cadre["volunteer"]["by_risk"]["low"] == 1
    assert by_cadre["not known"]["workers"] == 1 and by_cadre["not known"]["open"] == 0  # sup
    assert next(w for w in report.json()["workers"] if w["worker"] == "otieno")["cadre"] == "volunteer"
    text = sup("report", "caseload")
    assert "Open cases by cadre" in text.stdout and "volunteer" in text.stdout


def test_team_cadre__a_long_list_of_cases_above_the_cadre_names_ten_and_counts_the_rest(cli_as):
    sup, amina = cli_as("sup"), cli_as("amina")
    cases = register_many(amina, 12)  # high risk, amina's
    done = sup("team", "cadre", "amina", "volunteer")
    assert done.code == 0, done.stderr
    named = [case_id for case_id in cases if case_id in done.stderr]
    assert len(named) == 10 and "12 open case(s) of amina" in done.stderr
    assert "and 2 more (cpcm due --worker amina lists them all)" in done.stderr


# -- every way a worker is given a case checks the cadre (`context.assignment_checks`) ---------------------------------
def _batch(tmp_path, rows: list[dict]) -> str:
    path = tmp_path / "handover.json"
    path.write_text(json.dumps(rows))
    return str(path)


def test_assign_batch__a_row_giving_a_high_risk_case_to_a_volunteer_refuses_the_batch_naming_the_row(cli_as, repo, tmp_path):
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    medium, high = register(amina, risk="medium"), register(amina, child=CHILD)  # high risk
    before = _commits(repo)
    refused = sup("assign", "--batch", _batch(tmp_path, [{"case": medium, "worker": "otieno"},
                                                           {"case": high, "worker": "otieno"}]), "--json")
    assert refused.code == 4, (refused.code, refused.stderr)
    fields = {f["field"]: f["reason"] for f in refused.json()["fields"]}
    assert list(fields) == ["row 2: worker"], fields  # the medium-risk row is not named: only the high one
    for words in ("otieno", "volunteer", "high", "medium", "cadre_risk", "cadre-over-max"):
        assert words in fields["row 2: worker"], (words, fields)
    assert CANARY not in refused.stdout + refused.stderr
    assert _commits(repo) == before  # nothing written: not even the medium-risk row
    assert sup("show", medium, "--json").json()["worker"] == "amina"
    # a dry run says the same
    assert sup("assign", "--batch", _batch(tmp_path, [{"case": high, "worker": "otieno"}]), "--dry-run").code == 4


def test_assign_batch__where_the_policy_says_warn_each_row_above_the_cadre_is_warned_of(cli_as, repo, tmp_path):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  cadre_risk:\n    over_max: warn\n")
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    first, second, low = register(amina, child=CHILD), register(amina, risk="immediate"), register(amina, risk="low")
    done = sup("assign", "--batch", _batch(tmp_path, [{"case": c, "worker": "otieno"} for c in (first, second, low)]), "--json")
    assert done.code == 0, done.stderr
    cadre = [w for w in done.json()["warnings"] if w.startswith("cadre:")]
    assert len(cadre) == 2 and first in cadre[0] and second in cadre[1] and "escalate" in cadre[0], cadre
    assert not any(low in w for w in cadre)
    assert ("cadre-escalation", first, "otieno") in _codes(sup) and ("cadre-escalation", second, "otieno") in _codes(sup)


def test_assign_from_worker__a_handover_to_a_volunteer_of_a_high_risk_case_is_refused_and_nothing_moves(cli_as, repo):
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    register(amina, risk="low")
    high = register(amina, child=CHILD)
    before = _commits(repo)
    refused = sup("assign", "--from-worker", "amina", "--worker", "otieno", "--json")
    assert refused.code == 4, (refused.code, refused.stderr)
    assert any("volunteer" in f["reason"] and high in f["reason"] for f in refused.json()["fields"]), refused.json()
    assert _commits(repo) == before and sup("show", high, "--json").json()["worker"] == "amina"


def test_import__a_row_naming_a_volunteer_for_a_high_risk_child_is_refused_and_one_the_importer_holds_is_escalated(
        cli_as, repo, tmp_path):
    import csv

    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    path = tmp_path / "register.csv"

    def write(rows):
        with open(path, "w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(["Name", "Sex", "DOB", "Date of admission", "Reason for admission", "Home area", "Lives with",
                          "Identified by", "Risk", "Child consent", "Caregiver consent", "Worker"])
            out.writerows(rows)

    row = [CANARY, "F", "2014-03-02", "2025-01-05", "neglect", "Ward 1", "institution", "authority", "high", "given",
           "not_possible"]
    write([row[:8] + ["low"] + row[9:] + ["otieno"], row + ["otieno"]])
    before = _commits(repo)
    refused = amina("import", "cases", str(path), "--json")
    assert refused.code == 4, (refused.code, refused.stderr)
    assert "row 3" in refused.stderr and "volunteer" in refused.stderr and "cadre-over-max" in refused.stderr
    assert "row 2" not in refused.stderr and CANARY not in refused.stdout + refused.stderr
    assert _commits(repo) == before
    # the volunteer imports the children in their care themselves: imported, each above the cadre escalated
    assert sup("team", "cadre", "amina", "volunteer").code == 0
    write([row + [""]])
    done = amina("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    case_id = done.json()["cases"][0]["case_id"]
    assert any("row 2" in w and "cadre" in w and case_id in w for w in done.json()["warnings"]), done.json()["warnings"]
    assert ("cadre-escalation", case_id, "amina") in _codes(sup)


# -- the escalation is due from when the case went above the cadre --------------------------------------------------
LATER = "2026-12-20T09:00:00+03:00"  # four weeks after NOW
NOW_DAY = NOW[:10]


def test_due__the_escalation_is_overdue_from_the_assignment_that_put_the_case_above_the_cadre(cli_as, repo, monkeypatch):
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  cadre_risk:\n    over_max: warn\n")
    sup, amina = cli_as("sup"), cli_as("amina")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    case_id = register(amina, child=CHILD)
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    later = {"CPCM_NOW": LATER}
    for args in ((), ("--worker", "all")):
        overdue = sup("due", "--overdue", "--json", *args, env=later)
        assert overdue.code == 0, overdue.stderr
        item = next((i for i in overdue.json() if i["code"] == "cadre-escalation" and i["case_id"] == case_id), None)
        assert item is not None and item["state"] == "overdue", overdue.json()
        assert item["due"][:10] == NOW_DAY and "above the cadre since " + NOW_DAY in item["why"], item
    _same_without_tables(cli_as("sup", CPCM_NOW=LATER), monkeypatch)  # the due tables' view and the cases, the same


def test_due__a_risk_rated_above_the_cadre_later_is_dated_from_that_rating(cli_as, repo):
    sup, amina, otieno = cli_as("sup"), cli_as("amina"), cli_as("otieno")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    case_id = register(amina, risk="medium")
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    rated_at = {"CPCM_NOW": "2026-12-10T09:00:00+03:00"}
    rated = otieno("followup", case_id, *VISIT, "--risk-increased", "yes", "--risk", "high", "--risk-reason", "violence at home",
                   env=rated_at)
    assert rated.code == 0, rated.stderr
    item = next(i for i in sup("due", "--json", env={"CPCM_NOW": LATER}).json() if i["code"] == "cadre-escalation")
    assert item["due"][:10] == "2026-12-10" and item["state"] == "overdue" and "since 2026-12-10" in item["why"], item


def test_due__a_later_rating_at_the_same_level_keeps_the_date_and_a_lower_then_higher_one_dates_from_the_raise(
        cli_as, repo, monkeypatch):
    """Rated high on 1 December and again high on 10 December: above the cadre since 1 December (`Case.risk_since`),
    in `due`, `due --json` and `due --worker all`, from the due view (no case read for the item) and without the
    tables; lowered and raised again: since the raise."""
    from cpcm.service import context

    sup, amina, otieno = cli_as("sup"), cli_as("amina"), cli_as("otieno")
    assert sup("team", "cadre", "otieno", "volunteer").code == 0
    case_id = register(amina, child=CHILD, risk="medium")
    assert sup("assign", case_id, "--worker", "otieno").code == 0

    def rate(day: str, risk: str, increased: str) -> None:
        rated = otieno("followup", case_id, *VISIT, "--risk-increased", increased, "--risk", risk, "--risk-reason", "seen at home",
                       env={"CPCM_NOW": f"{day}T09:00:00+03:00"})
        assert rated.code == 0, rated.stderr

    def dated(day: str) -> None:
        later = {"CPCM_NOW": LATER}
        assert sup("due", "--json", env=later).code == 0  # the due view made for the cases as they are now
        read: list[str] = []
        load_case, load_records = context.load_case, context.load_records
        with monkeypatch.context() as patch:
            patch.setattr(context, "load_case", lambda ctx, found, *a, **k: (read.append(found), load_case(ctx, found, *a, **k))[1])
            patch.setattr(context, "load_records", lambda ctx, found, *a, **k: (read.append(found), load_records(ctx, found, *a, **k))[1])
            for args in ((), ("--worker", "all"), ("--overdue",)):
                listed = sup("due", "--json", *args, env=later)
                assert listed.code == 0, listed.stderr
                item = next(i for i in listed.json() if i["code"] == "cadre-escalation" and i["case_id"] == case_id)
                assert item["due"] == f"{day}T09:00+03:00" and item["state"] == "overdue", (args, item)
                assert item["why"].startswith(f"above the cadre since {day} 09:00 +03:00: "), (args, item)
            text = sup("due", "--worker", "all", env=later)
            assert text.code == 0 and f"above the cadre since {day} 09:00 +03:00" in text.stdout, text.stdout
            assert CANARY not in text.stdout + text.stderr
        assert case_id not in read, read
        _same_without_tables(cli_as("sup", CPCM_NOW=LATER), monkeypatch)  # the folded cases date it alike

    rate("2026-12-01", "high", "yes")
    rate("2026-12-10", "high", "no")  # the same level again: still since 1 December
    dated("2026-12-01")
    rate("2026-12-12", "medium", "no")
    assert ("cadre-escalation", case_id, "otieno") not in _codes(sup, env={"CPCM_NOW": LATER})
    rate("2026-12-15", "high", "yes")  # raised again: since the raise
    dated("2026-12-15")


def test_init__cadre_gives_the_first_worker_a_cadre_with_team_add_s_values_check_and_error(tmp_env, team):
    key = team["sup"][0]

    def init(folder: str, *extra: str):
        cli = Cli({"CPCM_REPO": str(tmp_env / folder), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})
        return cli, cli("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "sup", "--role", "supervisor",
                        "--timezone", "Africa/Nairobi", *extra)

    sup, made = init("with", "--cadre", "professional", "--json")
    assert made.code == 0, made.stderr
    assert made.json()["cadre"] == "professional"
    assert _team_json(sup) == {"sup": "professional"}
    assert "cadre: professional" in (tmp_env / "with" / ".cpcm" / "team.yaml").read_text()
    shown = init("shown", "--cadre", "para_social_worker")[1]
    assert shown.code == 0 and "cadre: para-social-worker" in shown.stderr, shown.stderr
    _, without = init("without", "--json")  # none given: not known, as before
    assert without.code == 0 and without.json()["cadre"] is None
    assert "cadre" not in (tmp_env / "without" / ".cpcm" / "team.yaml").read_text()
    # a cadre cpcm does not know: refused as team add refuses it (the field, the values, the same words), nothing made
    _, bad = init("bad", "--cadre", "intern", "--json")
    assert bad.code == 4, bad.stderr
    assert not (tmp_env / "bad").exists()
    sup_with = Cli({"CPCM_REPO": str(tmp_env / "with"), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})
    other = make_identity(tmp_env / "other.txt")
    added = sup_with("team", "add", "otieno", "--role", "caseworker", "--recipient", other, "--cadre", "intern", "--json")
    assert added.code == 4, added.stderr
    assert bad.json()["fields"] == added.json()["fields"] == [
        {"field": "cadre", "reason": "is one of: professional, officer, para_social_worker, volunteer (a job category: "
                                     "ESARO N2's workforce registry)"}]
    # every bad field named at once, the cadre with the others
    _, both = init("both", "--cadre", "intern", "--role", "chief", "--json")
    assert both.code == 4 and {f["field"] for f in both.json()["fields"]} == {"role", "cadre"}, both.stdout
