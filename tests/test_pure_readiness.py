"""Pure tests of the readiness score (cpcm.workflow.readiness) on a small scoring of its own:
points other than 1 and 0, a label missing, a pass mark of 0, items answered in capitals, so
that each count, each edge and each message is pinned (docs/testing.md, "Mutation testing")."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from cpcm.domain.policy import Policy
from cpcm.workflow import readiness as rd

EAT = timezone(timedelta(hours=3))
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=EAT)

SCORING = {
    "version": "v1", "version_field": "version", "prefix": "b",
    "legacy": {"prefix": "old", "version_field": "old.version"},
    "points": {"Yes": 2, "na": 1, "no": 0},
    "domains": [
        {"key": "edu_x", "label": {"en": "Education", "sw": "Elimu"}, "pass_mark": 3,
         "benchmarks": [{"items": ["i1", "i2"]}, {"items": ["i3"]}]},
        {"key": "safe_home", "pass_mark": 2, "benchmarks": [{"items": ["s1", "s2"]}]},
        {"key": "econ", "label": {"sw": "Uchumi"}, "pass_mark": 1, "benchmarks": [{"items": ["e1"]}]},
    ],
    "closure": {"min_domains_passed": 2, "required_domains": ["edu_x", "safe_home"]},
    "stops": [
        {"item": "safe_home.s1", "answers": ["No"], "says": {"en": "unsafe", "sw": "hatari"}, "action": {"en": "act now"},
         "source": "Form 7A 3.6"},
        {"item": "edu_x.i2", "answers": ["no", "na"], "action": {"en": "look"}},
    ],
}


def scoring(**changes):
    out = copy.deepcopy(SCORING)
    out.update(changes)
    return out


def body(edu=("yes", "yes", "no"), safe=("yes", "no"), econ=("na",), version="v1"):
    return {"version": version, "b": {"edu_x": dict(zip(("i1", "i2", "i3"), edu)), "safe_home": dict(zip(("s1", "s2"), safe)),
                                      "econ": dict(zip(("e1",), econ))}}


def test_score__every_domain_whole():
    result = rd.score(SCORING, body())
    assert result.to_json() == {
        "version": "v1", "ready_for_closure": True, "domains_passed": 3, "min_domains_passed": 2, "failed_required": [],
        "reasons": [],
        "domains": [
            {"domain": "edu_x", "label": "Education", "score": 4, "maximum": 6, "pass_mark": 3, "passed": True, "answered": 3,
             "items": 3, "required_for_closure": True},
            {"domain": "safe_home", "label": "safe home", "score": 2, "maximum": 4, "pass_mark": 2, "passed": True,
             "answered": 2, "items": 2, "required_for_closure": True},
            {"domain": "econ", "label": "econ", "score": 1, "maximum": 2, "pass_mark": 1, "passed": True, "answered": 1,
             "items": 1, "required_for_closure": False},
        ]}
    assert result.domain("safe_home").label == {"en": "safe home"}
    assert result.answered is True


def test_score__at_the_pass_mark_and_one_below():
    at = rd.score(SCORING, body(edu=("yes", "na", "no")))
    assert at.domain("edu_x").score == 3 and at.domain("edu_x").passed is True
    below = rd.score(SCORING, body(edu=("na", "na", "no")))
    assert below.domain("edu_x").score == 2 and below.domain("edu_x").passed is False
    assert below.ready_for_closure is False and below.failed_required == ("edu_x",)
    assert below.reasons == ("Education scores 2 of 6 and must reach 3 (required for closure)",)


def test_score__the_minimum_number_of_domains_at_its_edge():
    # the two required pass, econ fails: 2 of 3 pass, the minimum is 2
    two = rd.score(SCORING, body(econ=("no",)))
    assert (two.domains_passed, two.ready_for_closure, two.reasons) == (2, True, ())
    three = rd.score(scoring(closure={"min_domains_passed": 3, "required_domains": []}), body(econ=("no",)))
    assert (three.ready_for_closure, three.failed_required, three.reasons) == (
        False, (), ("2 of 3 domains pass; at least 3 must",))
    assert [d.required for d in three.domains] == [False, False, False]
    none = rd.score(scoring(closure={}), body(edu=("no", "no", "no"), safe=("no", "no"), econ=("no",)))
    assert (none.min_domains_passed, none.domains_passed, none.ready_for_closure) == (0, 0, True)


def test_score__unanswered_items_and_the_reasons_for_each():
    result = rd.score(SCORING, {"b": {"edu_x": {"i1": "yes", "i2": "", "i3": None}}})
    edu, safe = result.domain("edu_x"), result.domain("safe_home")
    assert (edu.score, edu.answered, edu.items, edu.complete) == (2, 1, 3, False)
    assert (safe.answered, safe.complete) == (0, False)
    assert result.reasons == (
        "Education scores 2 of 6 and must reach 3 (required for closure); 1 of 3 items answered",
        "safe home scores 0 of 4 and must reach 2 (required for closure); not answered",
        "0 of 3 domains pass; at least 2 must",
    )
    assert result.answered is True
    assert rd.score(SCORING, {}).answered is False


def test_score__answers_are_read_whatever_their_case_and_spaces():
    result = rd.score(SCORING, body(edu=(" YES ", "Na", "no")))
    assert result.domain("edu_x").score == 3


def test_score__an_unknown_answer_names_the_item_and_the_answers():
    with pytest.raises(ValueError) as raised:
        rd.score(SCORING, body(safe=("yes", "maybe")))
    assert str(raised.value) == "b.safe_home.s2: is not one of: yes, na, no"


def test_score__another_version_is_refused_an_empty_one_is_not():
    with pytest.raises(ValueError) as raised:
        rd.score(SCORING, body(version="v2"))
    assert str(raised.value) == "version: the answers follow another version; this scoring is 'v1'"
    assert rd.score(SCORING, body(version="")).version == "v1"
    assert rd.score(SCORING, body(version=None)).version == "v1"
    assert rd.score(scoring(version=None), body(version="v2")).version == ""
    assert rd.score(scoring(version_field=None), body(version="v2")).version == "v1"


def test_score__malformed_scoring_is_refused_with_its_problems():
    with pytest.raises(ValueError) as raised:
        rd.score(scoring(points={}, closure=None), body())
    assert str(raised.value) == ("scoring: points must map each answer to a whole number of points, e.g. {yes: 1, na: 1, "
                                 "no: 0}; closure must be a mapping (min_domains_passed, required_domains)")


def test_score__the_old_layout_inside_an_assessment():
    old = {"old": {"version": "v1", "edu_x": {"i1": "yes", "i2": "yes", "i3": "yes"}}}
    result = rd.score(SCORING, old, legacy=True)
    assert result.domain("edu_x").score == 6
    with pytest.raises(ValueError) as raised:
        rd.score(SCORING, {"old": {"version": "v0"}}, legacy=True)
    assert str(raised.value) == "old.version: the answers follow another version; this scoring is 'v1'"
    assert rd.score(SCORING, old).answered is False
    # a scoring without a legacy layout reads the answers at the top of the body
    flat = {"edu_x": {"i1": "yes"}, "version": "v9"}
    assert rd.score(scoring(legacy=None), flat, legacy=True).domain("edu_x").score == 2


def test_layout():
    assert rd._layout(SCORING, False) == ("b", "version")
    assert rd._layout(SCORING, True) == ("old", "old.version")
    assert rd._layout({}, True) == ("", "")
    assert rd._layout({"legacy": {}}, False) == ("", "")


def test_domain_name_in_a_language():
    domain = rd.score(SCORING, body()).domain("edu_x")
    assert (domain.name(), domain.name("sw"), domain.name("fr")) == ("Education", "Elimu", "Education")
    econ = rd.score(SCORING, body()).domain("econ")
    assert (econ.name("sw"), econ.name(), econ.name("fr")) == ("Uchumi", "econ", "econ")


# --- stops ---------------------------------------------------------------------------------------

def test_stops__the_marked_answers_in_the_forms_order():
    found = rd.stops(SCORING, body(edu=("yes", "NA", "yes"), safe=(" no ", "yes")))
    assert [s.to_json() for s in found] == [
        {"item": "safe_home.s1", "answer": "no", "says": "unsafe", "action": "act now", "source": "Form 7A 3.6"},
        {"item": "edu_x.i2", "answer": "na", "says": "", "action": "look", "source": ""},
    ]
    assert found[0].says == {"en": "unsafe", "sw": "hatari"} and found[1].says == {}
    assert found[0].text(found[0].says, "sw") == "hatari"
    assert found[0].text(found[0].says, "fr") == "unsafe"
    assert rd.stops(SCORING, body()) == ()
    assert rd.stops(SCORING, {"b": {"safe_home": {"s1": ""}}}) == ()
    assert rd.stops(scoring(stops=None), body(safe=("no", "no"))) == ()


def test_stops__the_old_layout():
    found = rd.stops(SCORING, {"old": {"safe_home": {"s1": "no"}}}, legacy=True)
    assert [s.item for s in found] == ["safe_home.s1"]
    assert rd.stops(SCORING, {"old": {"safe_home": {"s1": "no"}}}) == ()
    no_answers = scoring(stops=[{"item": "safe_home.s1", "action": {"en": "x"}}])
    assert rd.stops(no_answers, body(safe=("no", "no"))) == ()


# --- the latest record and closure ------------------------------------------------------------------

def latest(at="2026-10-01T06:00:00+00:00", **parts):
    result = rd.score(SCORING, body(**parts))
    return rd.Latest("01R", at, "readiness", result, rd.stops(SCORING, body(**parts)))


def test_latest__json_and_summary():
    record = latest(safe=("no", "no"))
    assert record.to_json() == {"record_id": "01R", "at": "2026-10-01T06:00:00+00:00", "kind": "readiness",
                                **record.result.to_json(), "stops": [record.stops[0].to_json()]}
    assert record.summary() == {
        "record_id": "01R", "at": "2026-10-01T06:00:00+00:00", "version": "v1", "ready_for_closure": False, "domains_passed": 2,
        "domains": [{"domain": "edu_x", "score": 4, "maximum": 6, "pass_mark": 3, "passed": True},
                    {"domain": "safe_home", "score": 0, "maximum": 4, "pass_mark": 2, "passed": False},
                    {"domain": "econ", "score": 1, "maximum": 2, "pass_mark": 1, "passed": True}],
        "reasons": [{"code": "domain_below_pass_mark", "domain": "safe_home", "score": 0, "maximum": 4, "pass_mark": 2,
                     "answered": 2, "items": 2}], "stops": ["safe_home.s1"]}


GATED = Policy("t", "T", {"closure_readiness": {"required": True, "max_age": "3mo", "reasons": ["goals_met"]}})


def test_closure_problems__only_where_the_policy_gates_the_reason():
    assert rd.closure_problems(None, "goals_met", Policy("t", "T", {}), NOW) == []
    off = Policy("t", "T", {"closure_readiness": {"required": False, "max_age": "3mo", "reasons": ["goals_met"]}})
    assert rd.closure_problems(None, "goals_met", off, NOW) == []
    assert rd.closure_problems(None, "transferred", GATED, NOW) == []
    no_reasons = Policy("t", "T", {"closure_readiness": {"required": True, "max_age": "3mo"}})
    assert rd.closure_problems(None, "goals_met", no_reasons, NOW) == []
    assert rd.closure_problems(None, "goals_met", GATED, NOW) == [
        "no readiness record (Form 7A) is on the case: record one with cpcm readiness"]


def test_closure_problems__age_at_its_edge_and_a_record_that_does_not_pass():
    edge = NOW.astimezone(timezone.utc) - timedelta(days=92)   # 3 months before 23 November: 23 August
    at = edge.isoformat(timespec="seconds")
    assert rd.closure_problems(latest(at=at), "goals_met", GATED, NOW) == []
    older = (edge - timedelta(seconds=1)).isoformat(timespec="seconds")
    assert rd.closure_problems(latest(at=older), "goals_met", GATED, NOW) == [
        "the latest readiness record (2026-08-23) is older than 3 months: record it again"]
    failing = latest(at=older, edu=("no", "no", "no"), safe=("no", "no"))
    assert rd.closure_problems(failing, "goals_met", GATED, NOW) == [
        "the latest readiness record (2026-08-23) is older than 3 months: record it again",
        "the latest readiness record (2026-08-23) does not meet the closure rule: Education scores 0 of 6 and must reach 3 "
        "(required for closure); safe home scores 0 of 4 and must reach 2 (required for closure); 1 of 3 domains pass; at least 2 "
        "must",
    ]


# --- check_scoring -------------------------------------------------------------------------------------

def test_check_scoring__sound():
    assert rd.check_scoring(SCORING) == []
    assert rd.check_scoring(scoring(stops=None, closure={})) == []


def test_check_scoring__not_a_mapping():
    assert rd.check_scoring([]) == ["must be a mapping (points, domains, closure)"]


POINTS = "points must map each answer to a whole number of points, e.g. {yes: 1, na: 1, no: 0}"


@pytest.mark.parametrize("points", [None, {}, {"yes": -1}, {"yes": True}, {"yes": "1"}, {"yes": 1, "no": 1.0}])
def test_check_scoring__points(points):
    assert rd.check_scoring(scoring(points=points, stops=None))[0] == POINTS


def test_check_scoring__points_of_zero_and_more_are_sound():
    assert rd.check_scoring(scoring(points={"yes": 3, "no": 0}, stops=None)) == []


@pytest.mark.parametrize("domains", [None, [], {"key": "x"}])
def test_check_scoring__domains_must_be_a_list(domains):
    assert rd.check_scoring(scoring(domains=domains)) == ["domains must be a non-empty list"]
    assert rd.check_scoring(scoring(domains=domains, points=None)) == [POINTS, "domains must be a non-empty list"]


def test_check_scoring__each_domain():
    bad = scoring(stops=None, closure={"required_domains": []}, domains=[
        "x", {"key": ""}, {"key": "a", "pass_mark": 1, "benchmarks": [{"items": ["i"]}]},
        {"key": "a", "pass_mark": 1, "benchmarks": [{"items": ["i", "j"]}, {"items": ["j"]}]},
        {"key": "b", "pass_mark": 1, "benchmarks": []}, {"key": "c", "pass_mark": 1, "benchmarks": [{"items": []}]},
        {"key": "d", "pass_mark": 1, "benchmarks": ["i"]}, {"key": "e", "pass_mark": 1, "benchmarks": [{"items": "i"}]},
        {"key": "f", "pass_mark": 1, "benchmarks": {"items": ["i"]}},
        {"key": "g", "pass_mark": 3, "benchmarks": [{"items": ["i"]}]},
        {"key": "h", "pass_mark": -1, "benchmarks": [{"items": ["i"]}]},
        {"key": "k", "pass_mark": True, "benchmarks": [{"items": ["i"]}]},
        {"key": "m", "pass_mark": "1", "benchmarks": [{"items": ["i"]}]},
        {"key": "n", "pass_mark": 2, "benchmarks": [{"items": ["i"]}]},
        {"key": "o", "pass_mark": 0, "benchmarks": [{"items": ["i"]}]},
    ])
    benchmarks = "benchmarks must be a non-empty list, each with a non-empty list of items"
    assert rd.check_scoring(bad) == [
        "domains[1] needs a key", "domains[2] needs a key",
        "domains.a is given twice", "domains.a lists an item twice",
        f"domains.b.{benchmarks}", f"domains.c.{benchmarks}", f"domains.d.{benchmarks}", f"domains.e.{benchmarks}",
        f"domains.f.{benchmarks}",
        "domains.g.pass_mark must be a whole number from 0 to the domain's maximum (2)",
        "domains.h.pass_mark must be a whole number from 0 to the domain's maximum (2)",
        "domains.k.pass_mark must be a whole number from 0 to the domain's maximum (2)",
        "domains.m.pass_mark must be a whole number from 0 to the domain's maximum (2)",
    ]


def test_check_scoring__a_pass_mark_with_bad_points_counts_one_point_an_item():
    bad = scoring(points=None, stops=None, domains=[{"key": "a", "pass_mark": 3, "benchmarks": [{"items": ["i", "j"]}]}],
                  closure={})
    assert rd.check_scoring(bad) == [POINTS, "domains.a.pass_mark must be a whole number from 0 to the domain's maximum (2)"]


def test_check_scoring__closure():
    assert rd.check_scoring(scoring(closure=[]))[-1] == "closure must be a mapping (min_domains_passed, required_domains)"
    assert rd.check_scoring(scoring(closure={"required_domains": ["edu_x", "nope"]})) == [
        "closure.required_domains: 'nope' is not a domain (econ, edu_x, safe_home)"]
    for minimum in (-1, 4, True, "2", 1.0):
        assert rd.check_scoring(scoring(closure={"min_domains_passed": minimum})) == [
            "closure.min_domains_passed must be a whole number from 0 to 3"], minimum
    for minimum in (0, 3):
        assert rd.check_scoring(scoring(closure={"min_domains_passed": minimum})) == []


def test_check_scoring__stops():
    item = "stops[{}].item must name an item as domain.item (e.g. protection.b3_child_free_of_violence)"
    answers = "stops[{}].answers must list answers the points know (Yes, na, no)"
    action = "stops[{}].action must say what to do, at least in English (en)"
    stops = [
        "edu_x.i1",
        {"item": "edu_x.zz", "answers": ["no"], "action": {"en": "x"}},
        {"item": "i1", "answers": ["no"], "action": {"en": "x"}},
        {"item": "edu_x.i1", "answers": ["maybe"], "action": {"en": "x"}},
        {"item": "edu_x.i1", "answers": [], "action": {"en": "x"}},
        {"item": "edu_x.i1", "answers": "no", "action": {"en": "x"}},
        {"item": "edu_x.i1", "answers": ["YES", "no"], "action": {"sw": "x"}},
        {"item": "edu_x.i1", "answers": ["no"], "action": "x"},
        {"item": "edu_x.i1", "answers": ["no"]},
        {"item": "safe_home.s2", "answers": ["na"], "action": {"en": "x"}},
    ]
    assert rd.check_scoring(scoring(stops=stops)) == [
        item.format(1), item.format(2), item.format(3), answers.format(4), answers.format(5), answers.format(6),
        action.format(7), action.format(8), action.format(9)]


def test_check_scoring__stops_with_bad_points_and_domains():
    bad = scoring(points=None, stops=[{"item": "edu_x.i1", "answers": ["no"], "action": {"en": "x"}}])
    assert rd.check_scoring(bad) == [POINTS, "stops[1].answers must list answers the points know ()"]
    odd = scoring(domains=SCORING["domains"] + ["x", {"key": "z", "benchmarks": None, "pass_mark": 0}])
    assert "stops[1].item" not in " ".join(rd.check_scoring(odd))


# --- reading a nested body -------------------------------------------------------------------------

def test_get():
    assert rd._get({"a.b": 1, "a": {"b": 2}}, "a.b") == 1
    assert rd._get({"a": {"b": {"c": 3}}}, "a.b.c") == 3
    assert rd._get({"a": {"b": 2}}, "a.c") is None
    assert rd._get({"a": 5}, "a.b") is None
    assert rd._get({"a": {"b": 0}}, "a.b") == 0


def test_score__without_a_version_field_nothing_in_the_body_is_read_as_one():
    assert rd.score(scoring(version_field=None), {"": "v2", **body()}).version == "v1"


def test_stops__a_missing_answer_is_no_answer_even_where_a_stop_names_none():
    odd = scoring(points={"yes": 1, "none": 0}, stops=[{"item": "safe_home.s1", "answers": ["none"], "action": {"en": "x"}}])
    assert rd.stops(odd, {"b": {"safe_home": {}}}) == ()
    assert [s.answer for s in rd.stops(odd, {"b": {"safe_home": {"s1": "None"}}})] == ["none"]


def test_closure_problems__reasons_without_required_gate_nothing():
    unset = Policy("t", "T", {"closure_readiness": {"max_age": "3mo", "reasons": ["goals_met"]}})
    assert rd.closure_problems(None, "goals_met", unset, NOW) == []
