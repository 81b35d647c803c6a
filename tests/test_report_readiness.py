"""`cpcm report readiness`: the latest readiness assessment (Form 7A) of each case the reader can
read, scored by the form's own pass marks and closure rule: how many children are ready for
closure and how many are not, by occasion; per domain, how many fall below its pass mark or left
it unanswered; the children on the path of reintegration with no readiness assessment in the
period. A case the reader cannot read is not counted; case IDs, never a child's name."""
from __future__ import annotations

import json

from conftest import CANARY, register, reunified
from test_placements import TRACING
from test_readiness import answers, failing, record

EARLY = "2026-03-02T09:00:00+03:00"  # the default period (from 2025-12-01) holds it; --to 2026-06-30 too


def report(cli, *extra: str) -> dict:
    result = cli("report", "readiness", "--json", *extra)
    assert result.code == 0, result.stderr
    return result.json()


def caseload(kenya) -> dict:
    """The kenya repository with, for amina: a reunified case assessed ready (at a review); a case
    (the canary child) assessed ready in March, then not ready now (relationship and psychosocial
    below their marks, at a follow-up); a case assessed on the three required domains only (ready,
    at a case conference); a case on the path of reintegration (family traced) never assessed; a
    case with nothing of the path. For sup alone: a case of his own assessed not ready."""
    amina, sup = kenya("amina"), kenya("sup")
    home = reunified(kenya)
    assert record(amina, home, answers()).code == 0
    canary = register(kenya("amina", now=EARLY), child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01",
                                                        "disability": "no"})
    assert record(kenya("amina", now=EARLY), canary, answers()).code == 0
    later = record(amina, canary, {**answers(no=failing("relationship", "psychosocial")), "occasion": "followup"})
    assert later.code == 0, later.stderr
    gates = register(amina)
    partial = record(amina, gates, {**answers(only=("education", "protection", "relationship")), "occasion": "case_conference"})
    assert partial.code == 0 and partial.json()["readiness"]["ready_for_closure"], partial.stderr
    traced = register(amina)
    assert amina("tracing", traced, "--from-file", "-", input=json.dumps(TRACING)).code == 0
    plain = register(amina)
    own = register(sup)
    assert record(sup, own, answers(no=failing("protection"))).code == 0
    return {"home": home, "canary": canary, "gates": gates, "traced": traced, "plain": plain, "own": own}


def test_report_readiness__counts_ready_and_not_ready_per_domain_and_the_unassessed_on_the_path(kenya):
    ids = caseload(kenya)
    view = report(kenya("amina"))
    counts = view["counts"]
    assert counts == {"cases": 5, "assessed": 3, "ready": 2, "not_ready": 1, "not_assessed": 2, "on_path": 2,
                      "on_path_not_assessed": 1, "on_path_not_assessed_home": 0, "before_going_home": 0}
    assert view["by_occasion"] == {"case_conference": {"assessed": 1, "ready": 1, "not_ready": 0},
                                   "followup": {"assessed": 1, "ready": 0, "not_ready": 1},
                                   "review": {"assessed": 1, "ready": 1, "not_ready": 0}}
    domains = {d["domain"]: (d["assessed"], d["passed"], d["below"], d["not_answered"], d["pass_marks"], d["required_for_closure"])
               for d in view["domains"]}
    assert domains == {"education": (3, 3, 0, 0, {"afc_7a_v1": 11}, True),
                       "protection": (3, 3, 0, 0, {"afc_7a_v1": 8}, True),
                       "psychosocial": (3, 1, 1, 1, {"afc_7a_v1": 14}, False),
                       "health": (3, 2, 0, 1, {"afc_7a_v1": 10}, False),
                       "relationship": (3, 2, 1, 0, {"afc_7a_v1": 12}, True),
                       "economic": (3, 2, 0, 1, {"afc_7a_v1": 6}, False)}
    rows = {r["case_id"]: r for r in view["assessed"]}
    assert set(rows) == {ids["home"], ids["canary"], ids["gates"]}  # sup's own case: amina cannot read it
    assert (rows[ids["canary"]]["ready_for_closure"], rows[ids["canary"]]["below"], rows[ids["canary"]]["failed_required"],
            rows[ids["canary"]]["occasion"]) == (False, ["psychosocial", "relationship"], ["relationship"], "followup")
    assert rows[ids["gates"]]["not_answered"] == ["psychosocial", "health", "economic"] and rows[ids["gates"]]["domains_passed"] == 3
    assert rows[ids["home"]]["on_path"] and rows[ids["home"]]["home_since"] and not rows[ids["home"]]["before_going_home"]
    assert [(m["case_id"], m["next_step"]) for m in view["not_assessed"]] == [(ids["traced"], "family_assessment")]
    assert view["meta"]["cases_read"] == 5 and view["meta"]["cases_in_repository"] == 6


def test_report_readiness__a_supervisor_counts_every_case_and_worker_narrows_it(kenya):
    ids = caseload(kenya)
    sup = kenya("sup")
    everyone = report(sup)
    assert (everyone["counts"]["cases"], everyone["counts"]["assessed"], everyone["counts"]["not_ready"]) == (6, 4, 2)
    assert ids["own"] in {r["case_id"] for r in everyone["assessed"]}
    protection = next(d for d in everyone["domains"] if d["domain"] == "protection")
    assert (protection["assessed"], protection["below"]) == (4, 1)
    hers = report(sup, "--worker", "amina")
    assert hers["worker"] == "amina" and hers["counts"]["cases"] == 5 and ids["own"] not in {r["case_id"] for r in hers["assessed"]}
    assert hers["meta"]["coverage"].startswith("The 5 cases of amina, of "), hers["meta"]  # not "All N cases", as referrals
    closed = report(sup, "--status", "closed")
    assert closed["counts"]["cases"] == 0 and closed["assessed"] == []


def test_report_readiness__the_latest_assessment_in_the_period_is_the_one_counted(kenya):
    ids = caseload(kenya)
    march = report(kenya("amina"), "--from", "2026-01-01", "--to", "2026-06-30")
    assert [(r["case_id"], r["ready_for_closure"], r["assessed_on"]) for r in march["assessed"]] == [(ids["canary"], True, "2026-03-02")]
    # the reunified case was assessed after the period (it is home: the benchmarks are for it now); the traced one never
    assert (march["counts"]["on_path_not_assessed"], march["counts"]["on_path_not_assessed_home"]) == (2, 1)
    assert {m["case_id"]: bool(m["home_since"]) for m in march["not_assessed"]} == {ids["home"]: True, ids["traced"]: False}


def test_report_readiness__names_no_child_in_any_format_or_file(kenya, tmp_path):
    ids = caseload(kenya)
    amina = kenya("amina")
    for fmt in ("md", "html", "csv", "json"):
        shown = amina("report", "readiness", "--format", fmt)
        assert shown.code == 0, shown.stderr
        assert ids["canary"] in shown.stdout and CANARY not in shown.stdout + shown.stderr, fmt
    plain = amina("report", "readiness")
    assert plain.code == 0 and "# Children assessed (3), by case" in plain.stdout and CANARY not in plain.stdout + plain.stderr
    assert "on the path, no readiness assessment in the period\t1" in plain.stdout
    out = tmp_path / "readiness.md.age"
    assert amina("report", "readiness", "--out", str(out)).code == 0
    assert out.read_bytes().startswith(b"age-encryption.org/v1")  # case-level: encrypted unless --plaintext
    unencrypted = amina("report", "readiness", "--out", str(tmp_path / "readiness.csv"), "--plaintext")
    assert unencrypted.code == 0 and "how each scores" in unencrypted.stderr
    assert CANARY not in (tmp_path / "readiness.csv").read_text() and ids["canary"] in (tmp_path / "readiness.csv").read_text()


def test_report_readiness__usage(kenya):
    amina = kenya("amina")
    assert amina("report", "readiness", "--worker", "nobody").code == 3
    assert amina("report", "readiness", "--status", "pending").code == 2
    assert amina("report", "caseload", "--worker", "amina").code == 2
    empty = report(amina)
    assert empty["counts"]["cases"] == 0 and empty["assessed"] == [] and empty["domains"] == []


def test_report_readiness__the_path_table_says_none_is_on_it_or_each_was_assessed(kenya):
    """The table of children on the path of reintegration with no assessment, when it is empty:
    with no child on the path it said 'Every child on the path of reintegration was assessed in the
    period.', a claim of full coverage of no one; it now says no child is on the path, and says
    each was assessed only when some are on it."""
    amina = kenya("amina")
    nobody = amina("report", "readiness")  # the repository as made: no case, so none on the path
    assert nobody.code == 0, nobody.stderr
    said = nobody.stdout + nobody.stderr  # a table's note is said on stderr, under the table
    assert "No child is on the path of reintegration." in said and "Every child on the path" not in said
    home = reunified(kenya)
    assert record(amina, home, answers()).code == 0
    everyone = amina("report", "readiness", "--format", "md")
    assert everyone.code == 0, everyone.stderr
    assert "Every child on the path of reintegration was assessed in the period." in everyone.stdout
    assert "No child is on the path" not in everyone.stdout


def test_report_readiness__a_young_persons_form_8a_is_counted_by_its_own_pass_marks(kenya):
    """Form 8A's psychosocial domain passes at 13 of 14 (Form 7A's at 14 of 16): a young person
    who scores 13 passes it, and each form's mark is shown."""
    from test_readiness_8a import answers as answers_8a

    amina = kenya("amina")
    child, young = register(amina), register(amina)
    assert record(amina, child, answers(no=failing("psychosocial"))).code == 0  # 7A: 13 of 16, below 14
    done = record(amina, young, {**answers_8a(no={"psychosocial": 1}), "occasion": "followup"}, "--form", "readiness-8a")
    assert done.code == 0, done.stderr
    view = report(amina)
    psychosocial = next(d for d in view["domains"] if d["domain"] == "psychosocial")
    assert (psychosocial["assessed"], psychosocial["passed"], psychosocial["below"]) == (2, 1, 1)
    assert psychosocial["pass_marks"] == {"afc_7a_v1": 14, "afc_8a_v1": 13}
    rows = {r["case_id"]: r for r in view["assessed"]}
    assert (rows[young]["version"], rows[young]["below"], rows[young]["ready_for_closure"]) == ("afc_8a_v1", [], True)
    assert rows[child]["below"] == ["psychosocial"] and rows[child]["ready_for_closure"]
    assert "14 (afc_7a_v1); 13 (afc_8a_v1)" in amina("report", "readiness").stdout


def test_report_readiness__a_record_made_before_the_child_went_home_is_not_ready_for_closure(kenya):
    """Form 7A reviews the child back home: a record whose scores meet the closure rule but was
    made before the reunification counts for no closure (as `cpcm close` says), so it is not
    counted ready; `scores_met` keeps what the scores said."""
    from test_placements import BID

    amina = kenya("amina")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    assert amina("placement", case_id, "--care-type", "institutional_care", "--institution", "Tumaini Children's Home").code == 0
    assert record(amina, case_id, answers()).code == 0
    later = kenya("amina", now="2026-11-25T09:00:00+03:00")
    assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
    home = {"care_type": "family", "cci_exit": "family_reintegration", "caregiver": {"name": "Grace Achieng", "relationship": "mother"}}
    went = later("placement", case_id, "--from-file", "-", "--json", input=json.dumps(home))
    assert went.code == 0, went.stderr
    view = report(later)
    row = next(r for r in view["assessed"] if r["case_id"] == case_id)
    assert row["before_going_home"] and row["scores_met"] and not row["ready_for_closure"]
    assert (view["counts"]["ready"], view["counts"]["before_going_home"]) == (0, 1)
