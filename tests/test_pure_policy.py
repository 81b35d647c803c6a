"""Pure tests of the policy value (cpcm.domain.policy), a problem (cpcm.domain.problems) and the
profiles' merge and checks (cpcm.domain.profiles): each lookup, each message in full, each
edge (docs/testing.md, "Mutation testing")."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cpcm.domain import profiles as pr
from cpcm.domain.policy import RISK_ORDER, Policy, risk_rank
from cpcm.domain.problems import Problem

RULES = {
    "initial_assessment": {"limit": "72h", "target": "24h", "source": "IAG Step 2; within 3 days (or sooner)"},
    "risk_response": {"limit": {"high": "2d", "low": None}, "source": "IAG (risk) x"},
    "review": {"interval": "3mo", "choice": True, "source": "S-review"},
    "risk_levels": {"levels": ["a", "b"]},
    "plain": {"x": 1},
}


def test_risk_rank():
    assert RISK_ORDER == ("immediate", "high", "medium", "low")
    assert [risk_rank(r) for r in ("immediate", "high", "medium", "low", None, "other")] == [0, 1, 2, 3, 4, 4]
    assert risk_rank("b", ("a", "b")) == 1 and risk_rank("high", ("a", "b")) == 2


def test_get_and_duration():
    p = Policy("p", "P", RULES)
    assert p.get("review", "interval") == "3mo"
    assert p.get("review", "nothing") is None and p.get("nothing", "x", 7) == 7 and p.get("review", "nothing", 5) == 5
    assert p.duration("review", "interval").months == 3
    with pytest.raises(KeyError):
        p.duration("nothing", "interval")


def test_risk_response():
    p = Policy("p", "P", RULES)
    assert p.risk_response("high").days == 2
    assert p.risk_response("low") is None and p.risk_response("other") is None


def test_source__as_written_the_agencys_change_or_the_projects_choice():
    p = Policy("p", "P", RULES, origins={"review.interval": "profile kenya", "initial_assessment.limit": ".cpcm/policy.yaml",
                                         "initial_assessment_x.limit": ".cpcm/policy.yaml"})
    assert p.source("initial_assessment") == "IAG Step 2; within 3 days (or sooner) (changed by this agency in .cpcm/policy.yaml)"
    assert p.source("review") == "S-review (cpcm's choice where the guidance gives no number)"
    assert p.source("risk_response") == "IAG (risk) x"
    assert p.source("nothing") == ""
    changed = Policy("p", "P", RULES, origins={"review.interval": ".cpcm/policy.yaml"})
    assert changed.source("review") == "S-review (changed by this agency in .cpcm/policy.yaml)"
    # a rule whose name another begins with is not changed by the other's override
    assert Policy("p", "P", RULES, origins={"reviewer.x": ".cpcm/policy.yaml"}).source("review") == \
        "S-review (cpcm's choice where the guidance gives no number)"


def test_short_source():
    p = Policy("p", "P", RULES)
    assert p.short_source("initial_assessment") == "IAG Step 2"
    assert p.short_source("risk_response") == "IAG"
    assert p.short_source("review") == "cpcm's choice; S-review"  # choice: true, said in tables too
    assert p.short_source("nothing") == ""
    assert Policy("p", "P", {"r": {"source": " A ; b"}}).short_source("r") == "A"


def test_risk_levels_and_defaults():
    p = Policy("p", "P", RULES)
    assert p.risk_levels == ("a", "b")
    assert p.origins == {} and p.notes == ()


def test_problem_to_json():
    problem = Problem("code-x", "error", "msg", "rule", "src", "CP-1", "amina")
    assert problem.to_json() == {"code": "code-x", "severity": "error", "message": "msg", "rule": "rule", "source": "src",
                                 "case_id": "CP-1", "worker": "amina"}
    assert Problem("c", "warning", "m", "r", "s").to_json()["case_id"] is None
    assert Problem("c", "warning", "m", "r", "s").worker is None


# --- profiles ---------------------------------------------------------------------------------------

def errors(found) -> list[tuple[str, str]]:
    return [(e.field, e.reason) for e in found]


def test_merge__deep_with_where_each_value_was_set():
    origins: dict[str, str] = {}
    base = {"a": {"x": 1, "y": {"z": 2}}, "b": [1]}
    out = pr.merge(base, {"a": {"y": {"z": 3}, "w": 4}, "b": [2], "c": {"k": 5}}, "agency", origins, "rules.")
    assert out == {"a": {"x": 1, "y": {"z": 3}, "w": 4}, "b": [2], "c": {"k": 5}}
    assert origins == {"rules.a.y.z": "agency", "rules.a.w": "agency", "rules.b": "agency", "rules.c": "agency"}
    assert base == {"a": {"x": 1, "y": {"z": 2}}, "b": [1]}             # the base is not changed
    override = {"c": {"k": [1]}}
    merged = pr.merge({}, override, "o", {}, "")
    merged["c"]["k"].append(2)
    assert override == {"c": {"k": [1]}}                                  # nor is the override


def test_check_override():
    base = {"rules": {"review": {"interval": "3mo", "source": "s"}, "caseload": {"cap": 20}}}
    assert pr.check_override(base, {"rules": {"review": {"interval": "1mo", "source": "x", "note": "n"}}}) == []
    assert errors(pr.check_override(base, {"rules": {"reveiw": {"interval": "1mo"}, "caseload": {"capp": 3, "choice": 1}}})) == [
        ("rules.reveiw", "is not a rule of the profile; did you mean 'rules.review'?"),
        ("rules.caseload.capp", "is not a setting of rules.caseload; did you mean 'rules.caseload.cap'?"),
    ]
    assert errors(pr.check_override(base, {"rules": {"zzzzzz": 1}})) == [("rules.zzzzzz", "is not a rule of the profile")]
    assert errors(pr.check_override(base, [])) == [("(top)", "must be a mapping of rules")]
    assert errors(pr.check_override(base, {"rules": 5})) == [("rules", "must be a mapping of rules")]
    assert errors(pr.check_override(base, {"rules": {"review": 5}})) == []  # a block that is no mapping: check_values says so
    assert errors(pr.check_override(base, {"review": {"interval": "1mo"}, "rulez": {}})) == [
        ("review", "is a rule: put it under 'rules:' (rules.review)"),
        ("rulez", "is not a part of a policy file; did you mean 'rules'?"),
    ]
    assert errors(pr.check_override(base, {"rules": {"caseload": {"cap": {"x": 1}}}})) == []


BASE = {
    "review": {"interval": "3mo", "source": "s", "note": 5},
    "caseload": {"cap": 20, "warn_from": 15, "over_cap": "warn"},
    "plan_approval": {"required": True},
    "consent": {"required_from": ["child"]},
    "title": {"text": "words"},
}


def test_check_values__sound():
    assert pr.check_values(BASE) == []
    assert pr.check_values({"review": {"interval": "2w"}, "caseload": {"cap": 0, "over_cap": "refuse"}}, BASE) == []
    assert pr.check_values({"new": {"x": "anything"}}, BASE) == []


def test_check_values__each_type():
    bad = {"review": {"interval": "3 fortnights"}, "caseload": {"cap": -1, "warn_from": 1.5, "over_cap": "ignore"},
           "plan_approval": {"required": "yes"}, "consent": {"required_from": []}, "title": "x"}
    assert errors(pr.check_values(bad, BASE, "rules.")) == [
        ("rules.review.interval", str(_duration_error("3 fortnights"))),
        ("rules.caseload.cap", "must not be negative"),
        ("rules.caseload.warn_from", "must be a whole number"),
        ("rules.caseload.over_cap", "must be one of: warn, refuse"),
        ("rules.plan_approval.required", "must be true or false"),
        ("rules.consent.required_from", "must be a non-empty list of names"),
        ("rules.title", "must be a mapping (text)"),
    ]
    assert errors(pr.check_values({"caseload": {"cap": True}}, BASE)) == [("caseload.cap", "must be a whole number")]
    assert errors(pr.check_values({"plan_approval": {"required": 1}}, BASE)) == [("plan_approval.required", "must be true or false")]
    assert errors(pr.check_values({"consent": {"required_from": "child"}}, BASE)) == [
        ("consent.required_from", "must be a list of names")]
    assert errors(pr.check_values({"consent": {"required_from": ["child", 3, True]}}, BASE)) == [
        ("consent.required_from[1]", "is not a name"), ("consent.required_from[2]", "is not a name")]
    assert errors(pr.check_values({"review": {"interval": "-1d"}}, BASE)) == [
        ("review.interval", str(_duration_error("-1d")))]


def _duration_error(text):
    from cpcm.domain.durations import parse_duration
    try:
        parse_duration(text)
    except ValueError as exc:
        return exc
    raise AssertionError(text)


def test_check_values__the_enum_at_the_top_level_path_too():
    assert errors(pr.check_values({"caseload.over_cap": "x"}, {"caseload.over_cap": "warn"})) == [
        ("caseload.over_cap", "must be one of: warn, refuse")]
    assert errors(pr.check_values({"over_cap": "x"}, {"over_cap": "warn"}, "caseload.")) == [
        ("caseload.over_cap", "must be one of: warn, refuse")]
    assert pr.check_values({"over_cap": "refuse"}, {"over_cap": "warn"}, "rules.caseload.") == []


def test_is_duration():
    assert pr._is_duration("3mo") is True and pr._is_duration("words") is False


def test_a_key_or_level_that_is_a_name_is_not_repeated_in_the_error():
    """A person's name typed where a policy key or a risk level belongs (capitals, a space) is
    `…` in the error, as a form's keys are; a key written as a rule's name is still named."""
    name = "Zawadi Canarykid"
    base = {"rules": {"review": {"interval": "3mo", "source": "s"}, "caseload": {"cap": 20}}}
    found = pr.check_override(base, {"rules": {name: 1, "review": {name: "1mo"}}, name: {}})
    found += pr.check_override(base, {"rules": {"Review": {"interval": "1mo"}}})
    assert errors(found) == [
        ("rules.…", "is not a rule of the profile (not shown, as a key may hold personal details; cpcm policy show lists the rules)"),
        ("rules.review.…", "is not a setting of rules.review (not shown, as a key may hold personal details; "
                           "cpcm policy show lists the rules)"),
        ("…", "is not a part of a policy file (not shown, as a key may hold personal details; cpcm policy show lists the rules)"),
        ("rules.…", "is not a rule of the profile (not shown, as a key may hold personal details; cpcm policy show lists "
                    "the rules); did you mean 'rules.review'?"),
    ]
    levels = {"risk_levels": {"levels": [name, "high"]}, "risk_response": {"limit": {"high": "1d", "Odd One": "2d"}}}
    assert errors(pr.check_consistency(levels)) == [
        ("rules.risk_response.limit.…", "risk level '…' has no response time"),
        ("rules.risk_response.limit.…", "'…' is not a risk level (…, high)"),
    ]
    everything = " ".join(f"{e.field} {e.reason}" for e in [*found, *pr.check_consistency(levels)])
    assert "zawadi" not in everything.lower() and "canarykid" not in everything.lower() and "odd" not in everything.lower()
    assert errors(pr.build(CHAIN, {"rules": {"review": {name: [1]}}})[1]) == [
        ("rules.review.…", "is not a setting of rules.review (not shown, as a key may hold personal details; "
                           "cpcm policy show lists the rules)")]  # named once, by check_override, never by check_values


def test_check_consistency():
    rules = {"risk_levels": {"levels": ["high", "low"]}, "risk_response": {"limit": {"high": "1d", "odd": "2d"}},
             "caseload": {"warn_from": 21, "cap": 20},
             "initial_assessment": {"target": "4d", "limit": "3d"}, "comprehensive_assessment": {"target": "1mo", "limit": "30d"}}
    assert errors(pr.check_consistency(rules)) == [
        ("rules.risk_response.limit.low", "risk level 'low' has no response time"),
        ("rules.risk_response.limit.odd", "'odd' is not a risk level (high, low)"),
        ("rules.caseload.warn_from", "is above the cap"),
        ("rules.initial_assessment.target", "is later than the limit"),
        ("rules.comprehensive_assessment.target", "is later than the limit"),
    ]
    sound = {"caseload": {"warn_from": 20, "cap": 20}, "initial_assessment": {"target": "3d", "limit": "3d"},
             "comprehensive_assessment": {"target": "bad", "limit": "30d"}}
    assert pr.check_consistency(sound) == []
    assert pr.check_consistency({"caseload": {"warn_from": 21, "cap": "20"}, "initial_assessment": {"limit": "1d"}}) == []
    assert pr.check_consistency({"caseload": {"warn_from": "21", "cap": 20}}) == []
    assert pr.check_consistency({}) == []


def test_check_consistency__the_target_is_counted_in_calendar_months():
    # from 1 January 2000 one month is 31 days; from 1 February it would be 29
    assert pr.check_consistency({"initial_assessment": {"target": "1mo", "limit": "31d"}}) == []
    assert errors(pr.check_consistency({"initial_assessment": {"target": "1mo", "limit": "30d"}})) == [
        ("rules.initial_assessment.target", "is later than the limit")]


def test_upgrade__old_names_moved_with_a_note():
    note = ("rules.transfer.approval_required is the old name of rules.transfer_approval.required: it is read as "
            "rules.transfer_approval.required; rename it (the old name will be refused in a later version)")
    override = {"rules": {"transfer": {"approval_required": False, "checklist": ["a"]}}, "other": 1}
    assert pr.upgrade(override) == ({"rules": {"transfer": {"checklist": ["a"]}, "transfer_approval": {"required": False}},
                                     "other": 1}, [note], [])
    assert override == {"rules": {"transfer": {"approval_required": False, "checklist": ["a"]}}, "other": 1}
    both = {"rules": {"transfer": {"approval_required": False, "self_approval": True}}}
    moved, notes, errs = pr.upgrade(both)
    assert moved == {"rules": {"transfer_approval": {"required": False, "self_approval": True}}}
    assert len(notes) == 2 and notes[1].startswith("rules.transfer.self_approval is the old name of rules.transfer_approval.self_approval")
    joined = {"rules": {"transfer": {"self_approval": True}, "transfer_approval": {"required": True}}}
    assert pr.upgrade(joined)[0] == {"rules": {"transfer_approval": {"required": True, "self_approval": True}}}
    odd = {"rules": {"transfer": {"self_approval": True}, "transfer_approval": 5}}
    assert pr.upgrade(odd)[0] == {"rules": {"transfer_approval": 5}}


def test_upgrade__both_names_given_is_an_error():
    both = {"rules": {"transfer": {"approval_required": False}, "transfer_approval": {"required": True}}}
    moved, notes, errs = pr.upgrade(both)
    assert errors(errs) == [("rules.transfer.approval_required", "is the old name of 'rules.transfer_approval.required', "
                                                                 "which is also given: keep only 'rules.transfer_approval.required'")]
    assert notes == [] and moved == both


def test_upgrade__nothing_to_move():
    assert pr.upgrade(None) == (None, [], [])
    assert pr.upgrade({"rules": 5}) == ({"rules": 5}, [], [])
    assert pr.upgrade({"x": 1}) == ({"x": 1}, [], [])
    assert pr.upgrade({"rules": {"transfer": 5}}) == ({"rules": {"transfer": 5}}, [], [])
    assert pr.upgrade({"rules": {"transfer": {"checklist": []}}}) == ({"rules": {"transfer": {"checklist": []}}}, [], [])


CHAIN = [
    ("inter-agency", {"title": "Inter-agency", "rules": {
        "review": {"interval": "3mo", "source": "S"}, "caseload": {"warn_from": 15, "cap": 20},
        "transfer_approval": {"required": True}, "transfer": {"checklist": ["a"]}}}),
    ("kenya", {"rules": {"review": {"interval": "6mo"}}}),
]


def test_build__the_chain_then_the_override():
    policy, errs = pr.build(CHAIN, {"rules": {"caseload": {"cap": 25}}}, "agency.yaml")
    assert errs == []
    assert (policy.profile, policy.title) == ("kenya", "Inter-agency")
    assert policy.rules["review"] == {"interval": "6mo", "source": "S"} and policy.rules["caseload"] == {"warn_from": 15, "cap": 25}
    assert policy.origins == {"review": "profile inter-agency", "caseload": "profile inter-agency",
                              "transfer_approval": "profile inter-agency", "transfer": "profile inter-agency",
                              "review.interval": "profile kenya", "caseload.cap": "agency.yaml"}
    assert policy.notes == ()
    titled = pr.build(CHAIN[:1] + [("kenya", {"title": "Kenya", "rules": None})], None)[0]
    assert (titled.title, titled.rules["review"]["interval"]) == ("Kenya", "3mo")
    assert pr.build(CHAIN, None)[0].origins["caseload"] == "profile inter-agency"


def test_build__the_default_override_name_and_notes():
    policy, errs = pr.build(CHAIN, {"rules": {"transfer": {"approval_required": False}}})
    assert errs == [] and policy.rules["transfer_approval"] == {"required": False}
    assert policy.origins["transfer_approval.required"] == ".cpcm/policy.yaml"
    assert len(policy.notes) == 1 and policy.notes[0].startswith("rules.transfer.approval_required is the old name")


def test_build__each_kind_of_error_stops_it():
    both = {"rules": {"transfer": {"approval_required": False}, "transfer_approval": {"required": True}}}
    assert [e.field for e in pr.build(CHAIN, both)[1]] == ["rules.transfer.approval_required"]
    assert pr.build(CHAIN, both)[0] is None
    assert errors(pr.build(CHAIN, {"rules": {"reviews": {}}})[1]) == [
        ("rules.reviews", "is not a rule of the profile; did you mean 'rules.review'?")]
    assert pr.build(CHAIN, {"rules": {"reviews": {}}})[0] is None
    assert [e.field for e in pr.build(CHAIN, {"rules": {"caseload": {"cap": -2}}})[1]] == [
        "rules.caseload.cap", "rules.caseload.warn_from"]
    assert errors(pr.build(CHAIN, {"rules": {"caseload": {"cap": -2}}})[1])[0] == ("rules.caseload.cap", "must not be negative")
    bad_base = [("x", {"rules": {"caseload": {"cap": 5, "warn_from": 6}, "review": {"interval": "3mo"}}})]
    assert errors(pr.build(bad_base, None)[1]) == [("rules.caseload.warn_from", "is above the cap")]
    assert errors(pr.build(bad_base, {})[1]) == [("rules.caseload.warn_from", "is above the cap")]
    assert errors(pr.build(CHAIN, {"rules": None})[1]) == [("rules", "must be a mapping of rules")]
    assert pr.build(CHAIN, {"rules": {}})[0].rules["caseload"]["cap"] == 20


def test_build__a_cap_set_alone_below_the_profiles_warn_from_names_that_value_and_the_way_out():
    """`caseload: {cap: 3}` alone was refused with 'rules.caseload.warn_from: is above the cap', a
    key the file does not hold: the profile's warn_from (CHAIN: 15) is named, and what to add."""
    cap = CHAIN[0][1]["rules"]["caseload"]["cap"]
    assert pr.build(CHAIN, {"rules": {"caseload": {"cap": 3}}}) == (None, [pr.FieldError(
        "rules.caseload.warn_from", "is above the cap: the profile's warn_from (15) is above the cap the file sets (3); "
                                    "set warn_from in the file too, at most the cap")])
    assert pr.build(CHAIN, {"rules": {"caseload": {"warn_from": cap + 1}}}) == (None, [pr.FieldError(
        "rules.caseload.warn_from", f"is above the cap: the profile's cap is {cap}; set a lower warn_from, or the cap in the file too")])
    assert errors(pr.build(CHAIN, {"rules": {"caseload": {"cap": 3, "warn_from": 4}}})[1]) == [
        ("rules.caseload.warn_from", "is above the cap")]  # both in the file: both are the reader's own
    assert pr.build(CHAIN, {"rules": {"caseload": {"cap": 3, "warn_from": 3}}})[0].rules["caseload"]["cap"] == 3


def test_build__an_unknown_key_and_a_bad_value_are_named_together():
    """One `policy check` names every problem: a key that is no rule does not hide a bad value."""
    given = {"rules": {"caseload": {"cap": "fifteen", "nonsense": 1}, "reveiw": {}}}
    assert errors(pr.build(CHAIN, given)[1]) == [
        ("rules.caseload.nonsense", "is not a setting of rules.caseload"),
        ("rules.reveiw", "is not a rule of the profile; did you mean 'rules.review'?"),
        ("rules.caseload.cap", "must be a whole number")]
    assert pr.build(CHAIN, given)[0] is None


def test_profiles_and_meta():
    assert pr.PROFILES == ("inter-agency", "kenya")
    assert pr.META == ("source", "sources", "choice", "note")  # sources: a key's own (conference.invitations)


def test_check_override__keys_after_a_source_are_still_checked():
    base = {"review": {"interval": "3mo", "source": "s"}}
    assert errors(pr.check_override(base, {"review": {"source": "x", "intervl": "1mo"}})) == [
        ("review.intervl", "is not a rule of the profile; did you mean 'review.interval'?")]


def test_upgrade__a_key_given_twice_does_not_stop_the_next_from_moving():
    given = {"rules": {"transfer": {"approval_required": False, "self_approval": True}, "transfer_approval": {"required": True}}}
    moved, notes, errs = pr.upgrade(given)
    assert [e.field for e in errs] == ["rules.transfer.approval_required"]
    assert len(notes) == 1 and moved["rules"]["transfer_approval"] == {"required": True, "self_approval": True}


def test_merge__the_result_shares_nothing_with_the_base():
    base = {"consent": {"required_from": ["child"]}, "levels": ["high"]}
    merged = pr.merge(base, {}, "o", {}, "")
    merged["consent"]["required_from"].append("caregiver")
    merged["levels"].append("low")
    assert base == {"consent": {"required_from": ["child"]}, "levels": ["high"]}


def test_check_values__keys_after_a_source_are_still_checked_and_a_value_at_the_top_level_too():
    assert errors(pr.check_values({"review": {"source": "s", "interval": "soon"}}, BASE)) == [
        ("review.interval", str(_duration_error("soon")))]
    assert pr.check_values({"cap": 3}, {"cap": 2}) == []
    assert errors(pr.check_values({"cap": -3}, {"cap": 2})) == [("cap", "must not be negative")]


def test_check_consistency__the_comprehensive_assessment_is_checked_when_the_initial_one_cannot_be():
    assert errors(pr.check_consistency({"initial_assessment": {"target": "1d"},
                                        "comprehensive_assessment": {"target": "2mo", "limit": "30d"}})) == [
        ("rules.comprehensive_assessment.target", "is later than the limit")]


def test_build__a_profile_without_a_title_and_a_bad_value_in_the_profile_itself():
    policy, errs = pr.build([("x", {"rules": {"review": {"interval": "3mo"}}})], None)
    assert errs == [] and (policy.profile, policy.title) == ("x", "")
    assert errors(pr.build([("x", {"rules": {"caseload": {"cap": -1}}})], None)[1]) == [
        ("rules.caseload.cap", "must not be negative")]
