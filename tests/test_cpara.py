"""Household graduation in Kenya's OVC programmes: the Case Plan Achievement Readiness Assessment
(CPARA), version 2 (cpcm/forms/cpara.yaml), as the OVC CPIMS encodes it (kenya-forms-facts §1.3):
9 benchmarks in Healthy (1-4), Stable (5), Safe (6-8) and Schooled (9), each achieved when all its
questions are yes (or na where the source allows it) or when its gate question is no; the score
is the number achieved and its band 0-4 highly vulnerable, 5-7 medium, 8 low, 9 ready to
graduate. `cpcm readiness CASE --form cpara` records it (kenya profile); show, the case file and
`--json` give the score, the band and the benchmarks not achieved."""
from __future__ import annotations

import copy
import json
import subprocess

import pytest

from conftest import CANARY, commit_count, register

from cpcm.store import codec, forms
from cpcm.workflow import readiness

FORM = "cpara"
DEFINITION = codec.loads((forms.HERE / f"{FORM}.yaml").read_bytes())
SCORING = DEFINITION["scoring"]
# kenya-forms-facts §1.3: benchmark -> (domain, the questions that decide it)
REFERENCE = {1: ("healthy", 5), 2: ("healthy", 9), 3: ("healthy", 3), 4: ("healthy", 4), 5: ("stable", 3),
             6: ("safe", 2), 7: ("safe", 2), 8: ("safe", 1), 9: ("schooled", 4)}
# the questions the source lets be N/A (Y/NA in cpara-validate-benchmark.js)
MAY_BE_NA = {"b1_children_screened", "b1_hei_final_status", "b1_caregiver_screened", "b2_child_appointments",
             "b2_adolescent_appointments", "b2_caregiver_appointments", "b4_no_oedema", "b4_malnourished_treated",
             "b5_school_fees", "b5_medical_costs", "b9_progressed"}


def benchmark(number: int) -> tuple[str, dict]:
    return next((d["key"], b) for d in SCORING["domains"] for b in d["benchmarks"] if b["number"] == number)


def full(no: tuple[int, ...] = ()) -> dict:
    """Every gate yes and every question yes, except the first question of each benchmark in `no`."""
    body: dict = {"occasion": "review", "benchmarks": {}}
    for field in forms.load(FORM).fields:
        if field.key.startswith("benchmarks.") and not field.key.split(".")[-1].startswith("q"):
            _, domain, item = field.key.split(".")
            body["benchmarks"].setdefault(domain, {})[item] = "yes"
    for number in no:
        domain, bench = benchmark(number)
        body["benchmarks"][domain][bench["items"][0]] = "no"
    return body


def record(cli, case_id: str, body: dict, *extra: str):
    return cli("readiness", case_id, "--form", FORM, "--from-file", "-", *extra, input=json.dumps(body))


# -- the definition against the facts -----------------------------------------------------------------
def test_form__nine_benchmarks_their_questions_gates_and_bands():
    form = forms.load(FORM)
    assert form.kind == "graduation" and SCORING["version"] == "cpara_v2" and SCORING["count"] == "benchmarks"
    assert form.title["en"] == "Case Plan Achievement Readiness Assessment (CPARA), version 2" and form.title["sw"]
    found = {b["number"]: (d["key"], len(b["items"])) for d in SCORING["domains"] for b in d["benchmarks"]}
    assert found == REFERENCE
    assert [(b["key"], b["from"], b["to"]) for b in SCORING["bands"]] == [
        ("highly_vulnerable", 0, 4), ("medium", 5, 7), ("low", 8, 8), ("ready_to_graduate", 9, 9)]
    assert readiness.check_scoring(SCORING) == []
    gated = {b["number"] for d in SCORING["domains"] for b in d["benchmarks"] for g in b.get("gates") or () if not g.get("items")}
    assert gated == {2, 3, 4, 6, 9}  # the benchmarks the source's skip gates tick when answered No
    for d in SCORING["domains"]:
        for b in d["benchmarks"]:
            for item in b["items"]:
                field = form.field(f"benchmarks.{d['key']}.{item}")
                assert ("na" in field.choices) == (item in MAY_BE_NA), item
                assert field.label["sw"]
    assert "cpara-validate-benchmark.js" in SCORING["source"] and "graduation_pathways1.csv" in SCORING["source"]


def test_graduation__gate_no_a_sub_gate_and_an_unanswered_question():
    body = full()
    assert readiness.graduation(SCORING, body).score == 9
    body["benchmarks"]["healthy"]["b4_immunisation"] = "no"
    assert readiness.graduation(SCORING, body).not_achieved[0].number == 4
    body["benchmarks"]["healthy"]["g4_under_two"] = "no"  # 4.4 only: the sub-gate covers it
    assert readiness.graduation(SCORING, body).score == 9
    del body["benchmarks"]["safe"]["b8_legal_documents"]
    result = readiness.graduation(SCORING, body)
    assert (result.score, result.band, [b.number for b in result.not_achieved]) == (8, "low", [8])
    with pytest.raises(ValueError, match="another version"):
        readiness.graduation(SCORING, {**body, "version": "cpara_v1"})


# -- through the CLI ----------------------------------------------------------------------------------
def test_cpara__a_full_record_scores_9_ready_to_graduate_and_keeps_the_version(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    done = record(amina, case_id, full(), "--json")
    assert done.code == 0, done.stderr
    scored = done.json()["graduation"]
    assert (scored["score"], scored["maximum"], scored["band"], scored["not_achieved"]) == (9, 9, "ready_to_graduate", [])
    assert scored["band_label"] == "Ready to graduate" and scored["version"] == "cpara_v2"
    shown = amina("show", case_id, "--json").json()
    assert shown["graduation"]["score"] == 9 and shown["graduation"]["record_id"] == scored["record_id"]
    assert amina("show", case_id, scored["record_id"], "--json").json()["fields"]["version"] == "cpara_v2"
    assert shown["readiness"] is None  # no reintegration readiness record (Form 7A): the closure rule does not count it
    assert "9 of 9 benchmarks achieved: ready to graduate" in amina("show", case_id).stdout


def test_cpara__a_gate_answered_no_counts_as_achieved(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    body = full()
    body["benchmarks"]["healthy"] = {k: v for k, v in body["benchmarks"]["healthy"].items() if not k[:3] in ("g3_", "b3_")}
    body["benchmarks"]["healthy"]["g3_adolescents"] = "no"  # no adolescents: 3.1-3.3 are not asked
    body["benchmarks"]["safe"]["g6_violence"] = "no"
    body["benchmarks"]["safe"]["b6_referred"] = "no"  # the form sets a skipped question to yes: its answer does not count
    done = record(amina, case_id, body, "--json")
    assert done.code == 0, done.stderr
    scored = done.json()["graduation"]
    assert scored["score"] == 9 and scored["band"] == "ready_to_graduate"
    gates = {b["number"]: b["gate"] for b in scored["benchmarks"]}
    assert gates[3] == "healthy.g3_adolescents" and gates[6] == "safe.g6_violence"
    body["benchmarks"]["safe"]["g6_violence"] = "yes"  # the same answers with violence reported: 6.4 no is not achieved
    again = record(amina, case_id, body, "--json")
    assert again.code == 0 and again.json()["graduation"]["not_achieved"] == [6]


def test_cpara__a_score_of_6_is_medium_and_lists_the_3_benchmarks_not_achieved(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    done = record(amina, case_id, full(no=(1, 5, 9)))
    assert done.code == 0, done.stderr
    assert "6 of 9 benchmarks achieved: medium vulnerability" in done.stdout + done.stderr
    shown = amina("show", case_id, "--json").json()["graduation"]
    assert (shown["score"], shown["band"], shown["not_achieved"]) == (6, "medium", [1, 5, 9])
    assert [b["unmet"] for b in shown["benchmarks"] if not b["achieved"]] == [
        ["healthy.b1_children_status_known"], ["stable.b5_school_fees"], ["schooled.b9_enrolled"]]
    titles = [benchmark(n)[1]["title"] for n in (1, 5, 9)]
    line = next(line for line in amina("show", case_id).stdout.splitlines() if "graduation (latest)" in line)
    assert "6 of 9" in line and "medium vulnerability" in line and "not achieved: 1 " in line and "; 9 " in line
    for fmt in ("md", "html"):
        rendered = amina("render", "case-file", case_id, "--format", fmt)
        assert rendered.code == 0, rendered.stderr
        assert "Score: 6 of 9 benchmarks achieved: Medium vulnerability." in rendered.stdout
        assert "Benchmarks not achieved:" in rendered.stdout
        assert all(f"{n}. {t['en']}" in rendered.stdout for n, t in zip((1, 5, 9), titles))
    sw = amina("render", "case-file", case_id, "--format", "md", "--lang", "sw")
    assert sw.code == 0 and titles[1]["sw"] in sw.stdout and "Hatari ya wastani" in sw.stdout


def test_cpara__a_missing_answer_is_refused_naming_the_field_and_nothing_is_written(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    commits = commit_count(kenya.root)
    body = full()
    del body["benchmarks"]["safe"]["b7_adult_caregiver"]
    refused = record(amina, case_id, body, "--json")
    assert refused.code == 4, refused.stderr
    assert "benchmarks.safe.b7_adult_caregiver" in refused.stderr and "required" in refused.stderr
    assert [f["field"] for f in refused.json()["fields"]] == ["benchmarks.safe.b7_adult_caregiver"]
    gated = full()
    del gated["benchmarks"]["healthy"]["b3_protection"]  # its gate is yes: asked, so required
    refused = record(amina, case_id, gated)
    assert refused.code == 4 and "benchmarks.healthy.b3_protection" in refused.stderr
    assert "g3_adolescents is yes" in refused.stderr
    na = full()
    na["benchmarks"]["safe"]["b8_legal_documents"] = "na"  # the source allows no N/A here
    refused = record(amina, case_id, na)
    assert refused.code == 4 and "benchmarks.safe.b8_legal_documents" in refused.stderr
    assert commit_count(kenya.root) == commits
    assert amina("show", case_id, "--json").json()["graduation"] is None


def test_cpara__the_childs_name_is_in_no_output_but_show_and_on_no_disk(kenya):
    amina = kenya("amina")
    case_id = register(amina, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    body = full(no=(2,))
    body["notes"] = f"visited {CANARY} at home"
    done = record(amina, case_id, body)
    assert done.code == 0, done.stderr
    assert CANARY not in done.stdout + done.stderr
    body["benchmarks"]["safe"]["b7_adult_caregiver"] = CANARY
    refused = record(amina, case_id, body, "--json")
    assert refused.code == 4 and CANARY not in refused.stdout + refused.stderr
    assert CANARY in amina("show", case_id, "--names").stdout or CANARY in amina("show", case_id, "--json").stdout
    for path in kenya.root.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    messages = subprocess.run(["git", "-C", str(kenya.root), "log", "--format=%B"], capture_output=True, text=True).stdout
    assert CANARY not in messages and f"graduation {case_id}" in messages


def test_cpara__offered_by_the_kenya_profile_only(cli, kenya):
    case_id = register(cli)  # the inter-agency profile: its guidelines have no household graduation form
    refused = record(cli, case_id, full())
    assert refused.code == 2 and "--form names a readiness form" in refused.stderr and "cpara" not in refused.stderr
    amina = kenya("amina")
    refused = amina("readiness", register(amina), "--form", "no-such-form", "--from-file", "-", input=json.dumps(full()))
    assert refused.code == 2 and "cpara" in refused.stderr


def test_cpara__no_reintegration_readiness_record_for_the_closure_rule(kenya):
    from conftest import reunified
    from test_readiness import KENYA_GOALS_MET

    amina = kenya("amina")
    case_id = reunified(kenya)
    assert record(amina, case_id, full()).code == 0
    refused = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "closure-readiness"
    assert "no readiness record" in refused.json()["message"]


@pytest.mark.parametrize("lang", ["en", "sw"])
def test_form_blank__cpara(cli, lang):
    done = cli("form", "blank", FORM, "--lang", lang)
    assert done.code == 0, done.stderr
    assert DEFINITION["title"][lang] in done.stdout and "g2_anyone_positive" in done.stdout
    assert copy.deepcopy(DEFINITION)["scoring"]["version"] in done.stdout


def test_cpara__left_out_of_the_childs_own_file(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    assert record(amina, case_id, full(no=(5,))).code == 0
    own = amina("render", "child-file", case_id)
    assert own.code == 0, own.stderr
    assert "benchmarks achieved" not in own.stdout and "Household graduation" not in own.stdout
    assert " graduation (caregivers)" in own.stderr  # counted with the caregivers' part: about the household
    assert "benchmarks achieved" in amina("render", "case-file", case_id).stdout


def test_report_readiness__counts_households_by_band_in_the_kenya_profile(kenya):
    amina = kenya("amina")
    ready, medium, low, none = (register(amina) for _ in range(4))
    early = "2025-06-02T09:00:00+03:00"  # before the default period (from 2025-12-01): not counted
    assert record(kenya("amina", now=early), ready, full(no=(1, 2, 3, 4, 5))).code == 0
    assert record(amina, ready, full()).code == 0  # the latest in the period is the one counted
    assert record(amina, medium, full(no=(1, 5, 9))).code == 0
    assert record(amina, low, full(no=(8,))).code == 0
    assert record(kenya("amina", now=early), none, full()).code == 0
    done = amina("report", "readiness", "--json")
    assert done.code == 0, done.stderr
    grad = done.json()["graduation"]
    assert {b["band"]: b["households"] for b in grad["by_band"]} == {
        "highly_vulnerable": 0, "medium": 1, "low": 1, "ready_to_graduate": 1}
    assert (grad["assessed"], grad["not_assessed"]) == (3, 1)
    assert done.json()["counts"]["assessed"] == 0  # no reintegration readiness record among them
    text = amina("report", "readiness", "--format", "md")
    assert text.code == 0 and "Household graduation (CPARA): households by band" in text.stdout
    assert "Ready to graduate" in text.stdout


def test_report_readiness__no_household_count_where_the_profile_offers_no_graduation_form(cli):
    done = cli("report", "readiness", "--json")
    assert done.code == 0 and "graduation" not in done.json()
    assert all(t["id"] != "graduation_by_band" for t in done.json()["tables"])


def test_cpara__a_record_is_read_back_on_its_form_after_the_repository_leaves_the_kenya_profile(kenya):
    """`show CASE RECORD` labels a CPARA record with the CPARA's questions, as `show CASE` scores it,
    also once the repository's profile offers no household graduation form."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = register(amina)
    done = record(amina, case_id, full(), "--json")
    assert done.code == 0, done.stderr
    assert sup("config", "set", "policy", "inter-agency").code == 0
    shown = amina("show", case_id, done.json()["record_id"], "--json").json()
    benchmarks = [key for key in shown["labels"] if key.startswith("benchmarks.")]
    assert len(benchmarks) > 9, shown["labels"]  # each question with the CPARA's words, not bare keys
