"""The child's risk rated (or found increased) on two copies apart: the later rating in the
records would answer an increase its worker never saw. The merge records `risk-concurrent`, the
increase is urgent on `due` again, and a rating made after the merge settles both."""
from __future__ import annotations

import json

from conftest import NOW, Cli, settling_said
from test_assess_plan import INITIAL
from test_sync import laptops, merge_both, shared_case  # noqa: F401 (laptops: a fixture)

VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school", "--visited-by", "professional")


def _apart(laptops, team):
    """amina's laptop and the office copy (the supervisor's), one case of hers rated high on both."""
    amina, sup, case_id = shared_case(laptops)
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    return amina, sup, office, case_id


def _codes(cli, case_id: str) -> list[str]:
    return [p["code"] for p in json.loads(cli("check", case_id, "--json").stdout)]


def test_an_increase_found_on_one_copy_and_a_lower_rating_on_the_other_is_a_conflict_and_the_increase_stays_urgent(laptops, team):
    amina, sup, office, case_id = _apart(laptops, team)
    raised = office("followup", case_id, *VISIT, "--risk-increased", "yes", "--json")  # the father came back
    assert raised.code == 0, raised.stderr
    lowered = amina("followup", case_id, *VISIT, "--risk-increased", "no", "--risk", "low", "--risk-reason", "family cooperating",
                    "--json")  # later in the records: without the conflict it would answer the increase
    assert lowered.code == 0, lowered.stderr
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [
        ("risk-concurrent", sorted([raised.json()["record_id"], lowered.json()["record_id"]]))]
    for cli in (sup, amina):
        assert "risk-concurrent" in _codes(cli, case_id)
        urgent = [i for i in json.loads(cli("due", "--worker", "all", "--json").stdout)
                  if i["case_id"] == case_id and i["code"] == "risk-increased"]
        assert urgent, cli("due", "--worker", "all").stdout
    again = amina("followup", case_id, *VISIT, "--risk-increased", "no", "--risk", "high", "--risk-reason", "seen both visits",
                  "--json")
    assert again.code == 0 and "this settles the sync conflict (risk-concurrent)" in again.json()["next_steps"], again.stdout
    assert len(settling_said(again, "risk-concurrent")) == 1, again.json()
    assert "risk-concurrent" not in _codes(amina, case_id)
    assert not [i for i in json.loads(amina("due", "--json").stdout) if i["case_id"] == case_id and i["code"] == "risk-increased"]


def test_two_ratings_apart_conflict_only_when_they_differ_and_other_follow_ups_are_no_conflict(laptops, team):
    amina, sup, office, case_id = _apart(laptops, team)
    assert office("followup", case_id, *VISIT, "--risk-increased", "no").code == 0  # no rating on either side
    assert amina("followup", case_id, *VISIT, "--risk-increased", "no").code == 0
    assert merge_both(laptops)["conflicts"] == []
    same = ("--risk", "medium", "--risk-reason", "school attendance improved")
    assert laptops.cli("sup")("followup", case_id, *VISIT, "--risk-increased", "no", *same).code == 0
    assert amina("followup", case_id, *VISIT, "--risk-increased", "no", *same).code == 0
    assert merge_both(laptops)["conflicts"] == []  # both copies saw the same
    assert laptops.cli("sup")("followup", case_id, *VISIT, "--risk-increased", "no", "--risk", "low", "--risk-reason", "x").code == 0
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", "--risk-reason", "y", *INITIAL).code == 0
    assert [c["code"] for c in merge_both(laptops)["conflicts"]] == ["risk-concurrent"]
    rated = amina("assess", case_id, "--type", "initial", "--risk", "high", "--risk-reason", "seen both", *INITIAL, "--json")
    assert rated.code == 0, rated.stderr  # a rating made after the merge settles it, and says so once
    assert "this settles the sync conflict (risk-concurrent)" in rated.json()["next_steps"], rated.json()
    assert len(settling_said(rated, "risk-concurrent")) == 1, rated.json()
    assert "risk-concurrent" not in _codes(amina, case_id)


def test_one_conflict_found_by_both_copies_applying_each_others_bundle_is_said_once_on_each(laptops, team, tmp_path):
    """Two laptops swap bundles: each one's merge finds the same risk-concurrent and records it (two
    records, both kept: neither copy could know of the other's). Each copy's merge said it; when
    they meet (a sync), the other's record of it tells nobody anything new, so no warning repeats
    it; `check` lists it once, and one rating settles it."""
    amina, sup, office, case_id = _apart(laptops, team)
    raised = office("followup", case_id, *VISIT, "--risk-increased", "yes", "--json")
    lowered = amina("followup", case_id, *VISIT, "--risk-increased", "no", "--risk", "medium", "--risk-reason", "calmer",
                    "--json")
    assert raised.code == 0 and lowered.code == 0, raised.stderr + lowered.stderr
    pair = sorted([raised.json()["record_id"], lowered.json()["record_id"]])
    bundles = {who: tmp_path / f"{who}.cpcm-bundle" for who in ("amina", "sup")}
    assert amina("bundle", "create", str(bundles["amina"])).code == 0
    assert office("bundle", "create", str(bundles["sup"])).code == 0
    for cli, other in ((amina, "sup"), (office, "amina")):
        applied = cli("bundle", "apply", str(bundles[other]), "--json")
        assert applied.code == 0, applied.stderr
        assert [(c["code"], c["records"]) for c in applied.json()["conflicts"]] == [("risk-concurrent", pair)]
    for worker in ("amina", "sup", "amina"):
        done = laptops.cli(worker)("sync", "--json")
        assert done.code == 0, done.stderr
        assert done.json()["conflicts"] == [] and "risk-concurrent" not in done.stderr, (worker, done.json())
    for cli in (amina, office):
        assert _codes(cli, case_id).count("risk-concurrent") == 1
    again = amina("followup", case_id, *VISIT, "--risk-increased", "no", "--risk", "high", "--risk-reason", "seen both",
                  "--json")
    assert again.code == 0 and len(settling_said(again, "risk-concurrent")) == 1, again.stdout
    assert "risk-concurrent" not in _codes(amina, case_id)
