"""The young person's readiness review (DCS AFC Form 8A, cpcm/forms/readiness-8a.yaml): the items,
domains and pass marks CPIMS encodes (templates/afc/new_form_8A.html, cpims-dcs-3.0), scored at
every pass mark's boundary and against the closure rule; `cpcm readiness --form readiness-8a`
records it, show and the closure gate score it with its own pass marks."""
from __future__ import annotations

import copy
import json
import re

import pytest

from conftest import commit_count
from conftest import reunified
from test_readiness import KENYA_GOALS_MET, due_codes

from cpcm.store import codec, forms
from cpcm.workflow import readiness

FORM = "readiness-8a"
DEFINITION = codec.loads((forms.HERE / f"{FORM}.yaml").read_bytes())
SCORING = DEFINITION["scoring"]
# kenya-forms-facts §8.2 and the CPIMS script: domain -> (items, pass mark); 49 items
REFERENCE = {"education": (11, 11), "protection": (6, 6), "psychosocial": (14, 13),
             "health": (5, 5), "relationship": (6, 6), "economic": (7, 6)}
# the CPIMS template's question numbers per domain (qf8A11 ... qf8A127)
NUMBERS = {"education": ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1", "2.2", "2.3", "2.4"],
           "protection": ["3.1", "3.2", "3.3", "3.4", "3.5", "3.6"],
           "psychosocial": ["4.1", "4.2", "4.3", "4.4", "4.5", "5.1", "5.2", "5.3", "5.4", "5.5", "6.1", "6.2", "6.3", "6.4"],
           "health": ["7.1", "8.1", "8.2", "9.1", "9.2"],
           "relationship": ["10.1", "10.2", "11.1", "11.2", "11.3", "11.4"],
           "economic": ["12.1", "12.2", "12.3", "12.4", "12.5", "12.6", "12.7"]}
GATES = ("education", "protection", "relationship")
TRAVEL, VIOLENCE = "education.b1_travels_safely", "protection.b3_free_of_violence"


def items(domain: str) -> list[str]:
    raw = next(d for d in SCORING["domains"] if d["key"] == domain)
    return [item for bench in raw["benchmarks"] for item in bench["items"]]


def answers(no: dict[str, int] | None = None, only: tuple[str, ...] | None = None, answer: str = "yes") -> dict:
    """Every item of every domain (or of `only`) answered `answer`, except the last `no[domain]`
    items of a domain, answered no (the last: the first items hold the stops)."""
    no = no or {}
    benchmarks = {}
    for domain in only or REFERENCE:
        keys = items(domain)
        benchmarks[domain] = {item: ("no" if index >= len(keys) - no.get(domain, 0) else answer) for index, item in enumerate(keys)}
    return {"version": "afc_8a_v1", "benchmarks": benchmarks}


def failing(*domains: str) -> dict[str, int]:
    """Enough no answers to put each domain one point below its pass mark."""
    return {d: REFERENCE[d][0] - REFERENCE[d][1] + 1 for d in domains}


# -- the definition against the CPIMS template --------------------------------------------------------
def test_form__the_cpims_domains_items_numbers_and_pass_marks():
    form = forms.load(FORM)
    assert form.kind == "readiness" and SCORING["version"] == "afc_8a_v1"
    found = {d["key"]: (len(items(d["key"])), d["pass_mark"]) for d in SCORING["domains"]}
    assert found == REFERENCE and sum(n for n, _ in found.values()) == 49
    assert [b["number"] for d in SCORING["domains"] for b in d["benchmarks"]] == list(range(1, 13))
    assert SCORING["closure"] == {"min_domains_passed": 3, "required_domains": list(GATES)}
    assert SCORING["points"] == {"yes": 1, "na": 1, "no": 0}
    assert readiness.check_scoring(SCORING) == []
    for domain, numbers in NUMBERS.items():
        labels = [form.field(f"benchmarks.{domain}.{item}").label for item in items(domain)]
        assert [re.search(r" (\d+\.\d+): ", label["en"]).group(1) for label in labels] == numbers, domain
        assert all(label.get("sw") for label in labels)
    assert "under 18" in form.field("benchmarks.economic.b12_income_assets").help["en"]  # 12.1: na under 18
    assert "na" in form.field("benchmarks.education.b1_hygiene_facilities").help["en"]  # 1.7: a boy scores 1
    assert {s["item"] for s in SCORING["stops"]} == {TRAVEL, VIOLENCE}


# -- scoring at the boundaries (pure) ------------------------------------------------------------------
@pytest.mark.parametrize("domain", list(REFERENCE))
def test_score__each_domain_passes_at_its_pass_mark_and_fails_one_below(domain):
    size, mark = REFERENCE[domain]
    at_mark = readiness.score(SCORING, answers(no={domain: size - mark})).domain(domain)
    below = readiness.score(SCORING, answers(no={domain: size - mark + 1})).domain(domain)
    assert (at_mark.score, at_mark.passed) == (mark, True)
    assert (below.score, below.passed) == (mark - 1, False)


def test_score__the_closure_rule():
    assert readiness.score(SCORING, answers()).ready_for_closure
    only_gates = readiness.score(SCORING, answers(only=GATES))
    assert only_gates.ready_for_closure and only_gates.domains_passed == 3
    for gate in GATES:
        result = readiness.score(SCORING, answers(no=failing(gate)))
        assert not result.ready_for_closure and result.failed_required == (gate,) and result.domains_passed == 5
    others_fail = readiness.score(SCORING, answers(no=failing("psychosocial", "health", "economic")))
    assert others_fail.ready_for_closure and others_fail.domains_passed == 3
    two = readiness.score(SCORING, answers(only=("education", "protection")))
    assert not two.ready_for_closure and "relationship" in two.failed_required
    assert readiness.score(SCORING, answers(answer="na")).ready_for_closure  # not applicable scores 1


def test_score__a_7a_record_is_not_scored_as_8a():
    with pytest.raises(ValueError):
        readiness.score(SCORING, {"version": "afc_7a_v1", "benchmarks": {}})


def test_stops__the_two_answers_the_form_marks():
    body = answers()
    body["benchmarks"]["protection"]["b3_free_of_violence"] = "no"
    assert [s.item for s in readiness.stops(SCORING, body)] == [VIOLENCE]
    assert not readiness.stops(SCORING, answers())


# -- the command -----------------------------------------------------------------------------------------
def record(cli, case_id, body, *extra):
    return cli("readiness", case_id, "--form", FORM, "--from-file", "-", "--json", *extra,
               input=json.dumps({"occasion": "review", **body}))


def test_readiness__form_8a_recorded_scored_with_its_own_pass_marks_by_show_and_the_closure_gate(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    case_id = reunified(kenya)
    below = record(amina, case_id, answers(no=failing("protection")))
    assert below.code == 0, below.stderr
    scored = below.json()["readiness"]
    protection = next(d for d in scored["domains"] if d["domain"] == "protection")
    assert (protection["score"], protection["maximum"], protection["pass_mark"]) == (5, 6, 6)
    assert scored["ready_for_closure"] is False
    shown = amina("show", case_id, "--json").json()["readiness"]
    assert shown["version"] == "afc_8a_v1" and shown["ready_for_closure"] is False
    refused = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "closure-readiness"
    assert "Protection and safety scores 5 of 6" in refused.json()["message"]
    at_marks = answers(no={d: size - mark for d, (size, mark) in REFERENCE.items()})  # every domain exactly at its mark
    assert record(amina, case_id, at_marks).code == 0
    assert amina("show", case_id, "--json").json()["readiness"]["ready_for_closure"] is True
    allowed = amina("close", case_id, "--reason", "goals_met", *KENYA_GOALS_MET, "--explain-open", "none")
    assert allowed.code == 0, allowed.stderr


def test_readiness__form_8a_a_stop_is_urgent_on_due(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    body = copy.deepcopy(answers())
    body["benchmarks"]["protection"]["b3_free_of_violence"] = "no"
    done = amina("readiness", case_id, "--form", FORM, "--from-file", "-", input=json.dumps({"occasion": "followup", **body}))
    assert done.code == 0, done.stderr
    assert "the young person is not free of violence" in done.stderr and "reporting protocol" in done.stderr
    assert due_codes(amina, case_id)["readiness-stop"]["title"].startswith("URGENT")


def test_readiness__a_form_that_is_no_readiness_form_is_refused_and_nothing_is_written(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    commits = commit_count(kenya.root)
    for name in ("review", "no-such-form", "../readiness"):
        refused = amina("readiness", case_id, "--form", name, "--from-file", "-",
                        input=json.dumps({"occasion": "review", **answers()}))
        assert refused.code == 2, (name, refused.stderr)
        assert "--form names a readiness form" in refused.stderr and "readiness-8a" in refused.stderr
    seven = amina("readiness", case_id, "--form", FORM, "--from-file", "-",
                  input=json.dumps({"occasion": "review", "benchmarks": {"protection": {"b3_child_free_of_violence": "yes"}}}))
    assert seven.code == 4  # a Form 7A item is not a field of Form 8A
    assert commit_count(kenya.root) == commits


@pytest.mark.parametrize("lang", ["en", "sw"])
def test_form_print__form_8a_blank(cli, lang):
    done = cli("form", "print", FORM, "--lang", lang, "--profile", "kenya")
    assert done.code == 0, done.stderr
    title = DEFINITION["title"][lang]
    assert title in done.stdout and done.stdout.count('class="options inline"') >= 49


def test_readiness__a_form_8a_record_is_read_back_on_its_own_form(kenya):
    """`show CASE RECORD` labels a Form 8A record with Form 8A's questions, not the profile's
    Form 7A's (a readiness record is not corrected: a new one is recorded)."""
    amina = kenya("amina")
    case_id = reunified(kenya)
    written = record(amina, case_id, answers())
    assert written.code == 0, written.stderr
    record_id = written.json()["record_id"]
    shown = amina("show", case_id, record_id, "--json").json()
    assert "benchmarks.health.b7_two_meals" in shown["labels"]
    assert shown["labels"]["benchmarks.education.b1_travels_safely"]["en"].startswith("Education 1.1: The young person")
    text = amina("show", case_id, record_id).stdout
    assert "Education 1.1: The young person can move safely" in text
