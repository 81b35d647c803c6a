"""Kenya reintegration readiness (DCS AFC Form 7A): the scoring at the reference's boundaries,
the form definition against the reference, and the Kenya profile's comprehensive assessment
end to end."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import NOW, Cli, commit_count, register

from cpcm.store import forms, policies
from cpcm.store import codec
from cpcm.workflow import readiness

FORM = "assessment-comprehensive-kenya"
DEFINITION = codec.loads((forms.HERE / f"{FORM}.yaml").read_bytes())
SCORING = DEFINITION["scoring"]

# kenya-forms-facts §8.2, Form 7A: domain -> (items, pass mark); 12 benchmarks, 65 items
REFERENCE = {"education": (11, 11), "protection": (8, 8), "psychosocial": (16, 14),
             "health": (11, 10), "relationship": (12, 12), "economic": (7, 6)}
BENCHMARKS = {"education": [1, 2], "protection": [3], "psychosocial": [4, 5, 6], "health": [7, 8, 9],
              "relationship": [10, 11], "economic": [12]}
GATES = ("education", "protection", "relationship")


def items(domain: str) -> list[str]:
    raw = next(d for d in SCORING["domains"] if d["key"] == domain)
    return [item for bench in raw["benchmarks"] for item in bench["items"]]


def answers(no: dict[str, int] | None = None, only: tuple[str, ...] | None = None, answer: str = "yes") -> dict:
    """A readiness section: every item of every domain (or of `only`) answered `answer`, except
    the first `no[domain]` items of a domain, answered no."""
    no = no or {}
    section: dict = {"version": "afc_7a_v1"}
    for domain in only or REFERENCE:
        section[domain] = {item: ("no" if index < no.get(domain, 0) else answer) for index, item in enumerate(items(domain))}
    return {"readiness": section}


def failing(*domains: str) -> dict[str, int]:
    """Enough no answers to put each domain one point below its pass mark."""
    return {d: REFERENCE[d][0] - REFERENCE[d][1] + 1 for d in domains}


# -- scoring (pure) ---------------------------------------------------------------------------
@pytest.mark.parametrize("domain", list(REFERENCE))
def test_score__a_domain_exactly_at_its_pass_mark_passes_one_below_fails(domain):
    maximum, pass_mark = REFERENCE[domain]
    at = readiness.score(SCORING, answers(no={domain: maximum - pass_mark})).domain(domain)
    assert (at.score, at.maximum, at.pass_mark, at.passed) == (pass_mark, maximum, pass_mark, True)
    below = readiness.score(SCORING, answers(no={domain: maximum - pass_mark + 1})).domain(domain)
    assert (below.score, below.passed) == (pass_mark - 1, False)


def test_score__na_scores_like_yes():
    result = readiness.score(SCORING, answers(answer="na"))
    assert all(d.score == d.maximum and d.passed for d in result.domains)
    assert result.ready_for_closure


def test_score__all_domains_pass__ready_for_closure():
    result = readiness.score(SCORING, answers())
    assert result.ready_for_closure and result.domains_passed == 6
    assert result.reasons == () and result.failed_required == ()
    assert sum(d.maximum for d in result.domains) == 65


def test_score__three_passing_domains_without_education__not_ready():
    result = readiness.score(SCORING, answers(no=failing("education", "health", "economic")))
    assert {d.key for d in result.domains if d.passed} == {"protection", "psychosocial", "relationship"}
    assert result.domains_passed == 3
    assert not result.ready_for_closure
    assert result.failed_required == ("education",)
    assert len(result.reasons) == 1 and "Education scores 10 of 11 and must reach 11" in result.reasons[0]


def test_score__only_the_three_required_domains_pass__ready():
    result = readiness.score(SCORING, answers(no=failing("psychosocial", "health", "economic")))
    assert result.domains_passed == 3 and result.ready_for_closure


@pytest.mark.parametrize("gate", GATES)
def test_score__each_required_domain_blocks_closure_on_its_own(gate):
    result = readiness.score(SCORING, answers(no=failing(gate)))
    assert result.domains_passed == 5 and not result.ready_for_closure and result.failed_required == (gate,)


def test_score__fewer_domains_than_the_minimum__not_ready_with_the_count_as_reason():
    scoring = copy.deepcopy(SCORING)
    scoring["closure"]["required_domains"] = ["education"]
    result = readiness.score(scoring, answers(no=failing("protection", "psychosocial", "health", "economic")))
    assert result.domains_passed == 2 and result.failed_required == ()
    assert not result.ready_for_closure and result.reasons == ("2 of 6 domains pass; at least 3 must",)


def test_score__nothing_answered__not_ready_and_says_so():
    result = readiness.score(SCORING, {"child_views": "..."})
    assert not result.answered and not result.ready_for_closure
    assert result.failed_required == GATES
    assert all(reason.endswith("not answered") for reason in result.reasons[:3])


def test_score__unanswered_items_score_nothing():
    body = answers(only=("psychosocial",))
    for item in items("psychosocial")[:2]:
        del body["readiness"]["psychosocial"][item]
    domain = readiness.score(SCORING, body).domain("psychosocial")
    assert (domain.score, domain.answered, domain.complete, domain.passed) == (14, 14, False, True)


def test_score__refuses_an_unknown_answer_and_another_version():
    body = answers()
    body["readiness"]["economic"][items("economic")[0]] = "maybe"
    with pytest.raises(ValueError, match="readiness.economic.b12_income_assets"):
        readiness.score(SCORING, body)
    other = answers()
    other["readiness"]["version"] = "afc_8a_v1"
    with pytest.raises(ValueError, match="readiness.version"):
        readiness.score(SCORING, other)


def test_score__reads_a_flat_body_too():
    flat = {f"readiness.{d}.{k}": v for d, section in answers()["readiness"].items() if d != "version" for k, v in section.items()}
    assert readiness.score(SCORING, flat).ready_for_closure


def test_check_scoring__the_shipped_scoring_is_sound_and_mistakes_are_named():
    assert readiness.check_scoring(SCORING) == []
    broken = copy.deepcopy(SCORING)
    broken["domains"][0]["pass_mark"] = 12
    broken["closure"]["required_domains"].append("housing")
    problems = readiness.check_scoring(broken)
    assert any("domains.education.pass_mark" in p for p in problems)
    assert any("'housing' is not a domain" in p for p in problems)
    with pytest.raises(ValueError, match="scoring"):
        readiness.score(broken, answers())


# -- the form definition ----------------------------------------------------------------------
def test_form__loads_with_the_reference_domains_benchmarks_items_and_pass_marks():
    form = forms.load(FORM)
    assert form.kind == "assessment" and DEFINITION["form"] == FORM
    for domain, (count, pass_mark) in REFERENCE.items():
        keys = [f.key for f in form.fields if f.key.startswith(f"readiness.{domain}.")]
        assert len(keys) == count, domain
        assert keys == [f"readiness.{domain}.{item}" for item in items(domain)], domain
        raw = next(d for d in SCORING["domains"] if d["key"] == domain)
        assert raw["pass_mark"] == pass_mark
        assert [b["number"] for b in raw["benchmarks"]] == BENCHMARKS[domain]
        for key in keys:
            field = form.field(key)
            assert field.type == "choice" and field.choices == ("yes", "no", "na") and not field.required
            assert field.label.get("en") and field.label.get("sw")
    assert sum(1 for f in form.fields if f.key.startswith("readiness.") and f.key != "readiness.version") == 65
    assert [d["key"] for d in SCORING["domains"]] == list(REFERENCE)
    assert SCORING["closure"] == {"min_domains_passed": 3, "required_domains": list(GATES)}
    assert SCORING["points"] == {"yes": 1, "na": 1, "no": 0}
    assert form.field("readiness.version").choices == (SCORING["version"],)


def test_form__keeps_every_field_and_rule_of_the_comprehensive_assessment():
    base, kenya = forms.load("assessment-comprehensive"), forms.load(FORM)
    for field in base.fields:
        assert kenya.field(field.key) == field, field.key
    assert all(rule in kenya.rules for rule in base.rules)


def test_profiles__kenya_uses_the_kenya_comprehensive_form_inter_agency_does_not():
    assert policies.load("kenya").get("forms", "comprehensive") == FORM
    assert policies.load("inter-agency").get("forms", "comprehensive") == "assessment-comprehensive"
    assert "Form 7A" in policies.load("kenya").source("forms")


# -- end to end -------------------------------------------------------------------------------
@pytest.fixture
def kenya(tmp_env, team):
    """A casefile repository made with --policy kenya; 'amina' is a caseworker. Returns cli_as."""
    root = tmp_env / "kenya"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    made = sup("init", "--agency", "KE", "--name", "Kenya test", "--worker", "sup", "--role", "supervisor", "--policy", "kenya")
    assert made.code == 0, made.stderr
    assert sup("team", "add", "amina", "--role", "caseworker", "--recipient", team["amina"][1]).code == 0

    def make(worker: str) -> Cli:
        return Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team[worker][0]), "CPCM_NOW": NOW})
    make.root = root
    return make


def comprehensive(**extra) -> dict:
    doc = {"dimensions": {"physical": {"narrative": "settled at home"}}, "child_views": "wants to stay with grandmother",
           "outcome_explained_to_child": "yes", "consulted": ["child", "caregivers"], "needs": ["to feel safe at home"]}
    doc.update(extra)
    return doc


def assess(cli: Cli, case_id: str, doc: dict):
    return cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", "--json", input=json.dumps(doc))


def stored_assessment(root: Path, identity: Path, case_id: str) -> dict:
    from cpcm import service

    ctx = service.open_repo(root, identity)
    return next(r.body for r in service.load_records(ctx, case_id) if r.kind == "assessment")


def test_kenya__comprehensive_assessment_with_readiness_answers_is_accepted_and_scores(kenya, team):
    amina = kenya("amina")
    case_id = register(amina)
    done = assess(amina, case_id, comprehensive(**answers(no=failing("health"))))
    assert done.code == 0, done.stderr
    body = stored_assessment(kenya.root, team["amina"][0], case_id)
    assert body["readiness"]["version"] == "afc_7a_v1"
    result = readiness.score(SCORING, body)
    assert result.ready_for_closure and result.domains_passed == 5 and not result.domain("health").passed
    shown = amina("show", case_id, "--json").json()["assessments"][-1]["readiness"]
    assert shown["ready_for_closure"] and shown["domains_passed"] == 5
    assert next(d for d in shown["domains"] if d["domain"] == "health")["passed"] is False


def test_kenya__readiness_section_is_optional_as_a_whole(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    done = assess(amina, case_id, comprehensive())
    assert done.code == 0, done.stderr


def test_kenya__a_partly_answered_domain_is_refused_naming_the_missing_item(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    before = commit_count(kenya.root)
    doc = comprehensive(**answers(only=("education", "protection")))
    missing = items("protection")[-1]
    del doc["readiness"]["protection"][missing]
    refused = assess(amina, case_id, doc)
    assert refused.code == 4
    fields = [f["field"] for f in json.loads(refused.stdout)["fields"]]
    assert fields == [f"readiness.protection.{missing}"]
    assert commit_count(kenya.root) == before
    plain = amina("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(doc))
    assert plain.code == 4 and f"readiness.protection.{missing}" in plain.stderr


def test_kenya__answers_without_the_benchmark_version_are_refused(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    doc = comprehensive(**answers(only=("education",)))
    del doc["readiness"]["version"]
    refused = assess(amina, case_id, doc)
    assert refused.code == 4
    assert [f["field"] for f in json.loads(refused.stdout)["fields"]] == ["readiness.version"]


def test_inter_agency__the_readiness_section_is_not_a_field_there(cli):
    case_id = register(cli)
    refused = assess(cli, case_id, comprehensive(**answers(only=("education",))))
    assert refused.code == 4 and "is not a field of the assessment form" in refused.stdout


def test_form_blank__the_kenya_skeleton_parses_as_yaml_with_the_six_domains(kenya):
    blank = kenya("amina")("form", "blank", FORM)
    assert blank.code == 0, blank.stderr
    doc = YAML(typ="safe").load(blank.stdout)
    assert list(doc["readiness"]) == ["version", *REFERENCE]
    assert {domain: len(doc["readiness"][domain]) for domain in REFERENCE} == {d: n for d, (n, _) in REFERENCE.items()}
