"""A plan's goal and action IDs, the plan in force and revising a plan (cpcm/workflow/plan_actions.py),
as pure functions: each rule of the numbering, each mark a follow-up or review sets, each reason a
revision is refused, in full (test_plan_revision.py tests the same through the service)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cpcm.domain.policy import Policy
from cpcm.domain.records import Record
from cpcm.workflow import plan_actions as pa

APPROVAL = Policy("p", "P", {"plan_approval": {"required": True}})
NO_APPROVAL = Policy("p", "P", {"plan_approval": {"required": False}})


def rec(kind: str, rid: str, at: str = "2026-11-23T09:00:00+03:00", by: str = "amina", **body) -> Record:
    return Record(kind=kind, schema=1, id=rid, case="CP-TEST-0001", at=at, recorded_at=at, by=by, body=body)


# -- IDs -------------------------------------------------------------------------------------------
def test_key__the_same_text_whatever_its_case_and_spacing():
    assert pa.key("Medical check  at the\tclinic ") == pa.key("medical CHECK at the clinic")
    assert pa.key("medical check") != pa.key("medical checks") and pa.key("a b") != pa.key("ab")
    assert pa.key(None) == pa.key("") and len(pa.key("x")) == 16 and int(pa.key("x"), 16) >= 0
    assert pa.key(12) == pa.key("12")


@pytest.mark.parametrize("value, prefix, number", [
    ("A12", "A", 12), (" a3 ", "A", 3), ("G2", "G", 2), ("g7", "G", 7), ("A999999", "A", 999999),
    ("G2", "A", None), ("A2", "G", None), ("A0", "A", None), ("A01", "A", None), ("A1234567", "A", None),
    ("AA1", "A", None), ("12", "A", None), ("A1x", "A", None), ("", "A", None), (None, "A", None), ("A", "A", None),
])
def test_id_number(value, prefix, number):
    assert pa.id_number(value, prefix) == number


def test_number__ids_given_are_kept_a_text_seen_before_keeps_its_id_others_take_the_next_number():
    before = pa.number({"goals": [{"goal": "Health"}], "actions": [{"what": "Clinic visit"}, {"what": "School fees"}]}, None)
    assert [a["id"] for a in before["actions"]] == ["A1", "A2"] and before["last"] == {"A": 2, "G": 1}
    body = {"goals": [{"goal": "health "}, {"id": "safety", "goal": "Safe at night"}],
            "actions": [{"what": "school  FEES", "by": "2026-12-01T10:00:00+03:00", "who": "caseworker", "goal": "G1"},
                        {"id": "a7", "what": "New"}, {"what": "Another"}, "not an action"]}
    numbered = pa.number(body, before)
    assert numbered["goals"] == [{"id": "G1", "key": pa.key("Health")}, {"id": "safety", "key": pa.key("safe at night")}]
    assert numbered["actions"] == [
        {"id": "A2", "key": pa.key("School fees"), "by": "2026-12-01", "who": "caseworker", "goal": "G1"},
        {"id": "A7", "key": pa.key("New"), "by": None, "who": None, "goal": None},
        {"id": "A8", "key": pa.key("Another"), "by": None, "who": None, "goal": None},  # after every number used
    ]
    assert numbered["last"] == {"A": 8, "G": 1}
    assert numbered["known"] == {
        "A": {pa.key("clinic visit"): "A1", pa.key("school fees"): "A2", pa.key("new"): "A7", pa.key("another"): "A8"},
        "G": {pa.key("health"): "G1", pa.key("safe at night"): "safety"}}
    assert before["known"]["A"] == {pa.key("clinic visit"): "A1", pa.key("school fees"): "A2"}  # not changed in place


def test_number__an_id_given_twice_or_a_text_whose_id_is_taken_gets_a_new_number():
    before = pa.number({"actions": [{"what": "Clinic visit"}]}, None)
    numbered = pa.number({"actions": [{"id": "A1", "what": "Something else"}, {"what": "clinic visit"},
                                      {"id": "A1", "what": "Third"}, {"id": "  ", "what": "Fourth"}]}, before)
    assert [a["id"] for a in numbered["actions"]] == ["A1", "A2", "A3", "A4"]
    assert numbered["last"] == {"A": 4, "G": 0}


def test_number__the_highest_number_given_counts_even_for_goals_given_a_short_id():
    numbered = pa.number({"goals": [{"id": "G5", "goal": "a"}, {"goal": "b"}], "actions": [{"id": "A3", "what": "x"}, {"what": "y"}]},
                         {"last": {"A": 1, "G": 1}})
    assert [g["id"] for g in numbered["goals"]] == ["G5", "G6"]
    assert [a["id"] for a in numbered["actions"]] == ["A3", "A4"]
    assert pa.number({}, None) == {"goals": [], "actions": [], "last": {"A": 0, "G": 0}, "known": {"A": {}, "G": {}}}


def test_with_ids__every_item_carries_its_id_first_and_a_goal_named_by_position_is_named_by_its_id():
    before = pa.number({"goals": [{"goal": "Health"}, {"goal": "School"}]}, None)
    body = {"reason": "review", "goals": [{"goal": "School"}, {"goal": "Safety"}],
            "actions": [{"what": "Fees", "goal": "G1"}, {"what": "Night visit", "goal": "G2", "id": ""}, {"what": "x", "goal": "G9"}]}
    out = pa.with_ids(body, before)
    assert out["reason"] == "review"
    assert out["goals"] == [{"id": "G2", "goal": "School"}, {"id": "G3", "goal": "Safety"}]
    assert [list(g) for g in out["goals"]] == [["id", "goal"], ["id", "goal"]]
    assert out["actions"] == [{"id": "A1", "what": "Fees", "goal": "G2"}, {"id": "A2", "what": "Night visit", "goal": "G3"},
                              {"id": "A3", "what": "x", "goal": "G9"}]
    assert [list(a)[0] for a in out["actions"]] == ["id"] * 3
    assert body["goals"][0] == {"goal": "School"}  # the body given is not changed


def test_with_ids__a_goal_named_by_an_id_the_version_gives_is_that_goal():
    body = {"goals": [{"id": "G2", "goal": "Health"}, {"goal": "School"}], "actions": [{"what": "Fees", "goal": "G2"}]}
    out = pa.with_ids(body, None)
    assert [g["id"] for g in out["goals"]] == ["G2", "G3"]
    assert out["actions"][0]["goal"] == "G2"  # the given G2, not the second goal (G3)


def test_ids_by_version__each_plan_version_in_order_other_records_skipped():
    records = [rec("plan", "P1", actions=[{"what": "a"}, {"what": "b"}], goals=[{"goal": "g"}]), rec("note", "N1"),
               rec("plan", "P2", actions=[{"what": "b"}, {"what": "c"}])]
    assert pa.ids_by_version(records) == {"P1": {"goals": ["G1"], "actions": ["A1", "A2"]},
                                          "P2": {"goals": [], "actions": ["A2", "A3"]}}
    assert pa.ids_by_version([rec("note", "N1")]) == {}


# -- the fold's summary ----------------------------------------------------------------------------
def test_summary__the_versions_facts_and_what_the_case_carries_over():
    first = pa.summary(rec("plan", "P1", reason="initial", closure_criteria=["safe"], review_date="2027-01-01",
                           actions=[{"what": "a"}]), None)
    assert {k: first[k] for k in ("record_id", "at", "by", "version", "count", "reason", "closure_criteria", "review_date",
                                  "approved_at", "approved_by", "rejected_at", "withdrawn_at", "stored_ids", "versions",
                                  "status", "previous", "last")} == {
        "record_id": "P1", "at": "2026-11-23T06:00:00+00:00", "by": "amina", "version": 1, "count": 1, "reason": "initial",
        "closure_criteria": True, "review_date": "2027-01-01", "approved_at": None, "approved_by": None, "rejected_at": None,
        "withdrawn_at": None, "stored_ids": False, "versions": {"P1": ["A1"]}, "status": {}, "previous": None,
        "last": {"A": 1, "G": 0}}
    approved = dict(first, approved_at="2026-11-24T06:00:00+00:00", approved_by="sup", status={"A1": {"status": "done"}})
    second = pa.summary(rec("plan", "P2", by="otieno", closure_criteria=[], actions=[{"id": "A1", "what": "a"}, {"what": "b"}]),
                        approved)
    assert (second["version"], second["count"], second["closure_criteria"], second["stored_ids"]) == (2, 2, False, False)
    assert second["versions"] == {"P1": ["A1"], "P2": ["A1", "A2"]} and second["status"] == {"A1": {"status": "done"}}
    assert second["previous"]["record_id"] == "P1" and second["previous"]["approved_by"] == "sup"
    assert not set(pa.CARRIED + ("previous",)) & set(second["previous"])
    assert pa.summary(rec("plan", "P3"), {"version": 4})["count"] == 5  # a summary written before `count`


def test_summary__while_a_version_waits_the_one_in_force_before_it_stays():
    first = dict(pa.summary(rec("plan", "P1", actions=[{"what": "a"}]), None), approved_at="2026-11-24T06:00:00+00:00")
    second = pa.summary(rec("plan", "P2", actions=[{"what": "b"}]), first)   # waits
    third = pa.summary(rec("plan", "P3", actions=[{"what": "c"}]), second)   # still nothing approved after P1
    assert third["previous"]["record_id"] == "P1"
    assert pa.summary(rec("plan", "P2"), dict(first, approved_at=None))["previous"] is None


# -- links and marks -------------------------------------------------------------------------------
PLAN = {"record_id": "P2", "actions": [{"id": "A2"}, {"id": "A3"}], "versions": {"P1": ["A1", "A2"], "P2": ["A2", "A3"]}}


@pytest.mark.parametrize("plan_action, action_id", [
    ({"plan": "P1", "action": "a2 "}, "A2"), ({"plan": "P9", "action": "A7"}, "A7"),
    ({"plan": "P1", "action": 1}, "A1"), ({"plan": "P2", "action": 2}, "A3"), ({"plan": "P1", "action": 3}, None),
    ({"plan": "P1", "action": 0}, None), ({"plan": "P9", "action": 4}, "A4"), ({"plan": "P1", "action": True}, None),
    ({"plan": "P1", "action": "second"}, None), ({"plan": "P1", "action": "G1"}, None), ({"plan": "P1"}, None),
    ("P1/2", None), (None, None),
])
def test_link__an_action_id_or_a_position_in_the_version_named(plan_action, action_id):
    assert pa.link(PLAN, plan_action) == action_id


def test_link__the_latest_version_read_from_its_actions_where_no_versions_are_kept():
    plan = {"record_id": "P2", "actions": [{"id": "A2"}, {"id": "A3"}]}
    assert pa.link(plan, {"plan": "P2", "action": 2}) == "A3"
    assert pa.link(plan, {"plan": "P1", "action": 2}) == "A2"  # a version not held: its position is all there is
    assert pa.link(None, {"plan": "P1", "action": 2}) == "A2"


def test_marks__a_reviews_progress_and_the_actions_done_of_a_followup_or_review():
    by_position = {"record_id": "P2", "actions": [{"id": "A2"}, {"id": "A3"}], "stored_ids": False}
    review = rec("review", "R1", progress=["A1 done", {"item": "G1", "status": "done"}, {"item": "A2", "status": None},
                                           {"item": "a1", "status": " done "}, {"item": "A2", "status": "in_progress"},
                                           {"item": "A5", "status": "dropped"}],
                 actions_done=["a7 ", "G2", "x"])
    assert pa.marks(review, by_position) == {"A2": "done", "A3": "in_progress", "A5": "dropped", "A7": "done"}
    assert pa.marks(review, dict(by_position, stored_ids=True)) == {"A1": "done", "A2": "in_progress", "A5": "dropped",
                                                                    "A7": "done"}
    assert pa.marks(review, None) == {"A1": "done", "A2": "in_progress", "A5": "dropped", "A7": "done"}
    followup = rec("followup", "F1", progress=[{"item": "A1", "status": "done"}], actions_done=["A3"])
    assert pa.marks(followup, by_position) == {"A3": "done"}  # a follow-up has no progress items
    assert pa.marks(rec("note", "N1", actions_done=["A3"]), by_position) == {}


def test_track__marks_on_actions_and_the_withdrawal_of_the_waiting_version():
    plan = {"record_id": "P2", "actions": [{"id": "A1"}], "stored_ids": True, "status": {"A9": {"status": "done"}}}
    marked = pa.track(plan, rec("followup", "F1", at="2026-11-24T09:00:00+03:00", by="otieno", actions_done=["A1"]))
    assert marked["status"] == {"A9": {"status": "done"},
                                "A1": {"status": "done", "at": "2026-11-24T06:00:00+00:00", "by": "otieno"}}
    assert plan["status"] == {"A9": {"status": "done"}}  # not changed in place
    assert pa.track(plan, rec("followup", "F1")) is plan and pa.track(plan, rec("note", "N1", actions_done=["A1"])) is plan
    withdrawn = pa.track(plan, rec("withdrawal", "W1", at="2026-11-24T09:00:00+03:00", target="P2"))
    assert (withdrawn["withdrawn_at"], withdrawn["withdrawn_by"]) == ("2026-11-24T06:00:00+00:00", "amina")
    assert pa.track(plan, rec("withdrawal", "W1", subject="plan"))["withdrawn_by"] == "amina"  # no target: the latest
    for unchanged in (rec("withdrawal", "W1", target="P1"), rec("withdrawal", "W1", subject="closure")):
        assert pa.track(plan, unchanged) is plan
    for decided in ("approved_at", "rejected_at", "withdrawn_at"):
        settled = dict(plan, **{decided: "2026-11-23T06:00:00+00:00"})
        assert pa.track(settled, rec("withdrawal", "W1")) is settled
    assert pa.track(None, rec("withdrawal", "W1")) is None and pa.track({}, rec("followup", "F1", actions_done=["A1"])) == {}


def test_stored__only_when_every_action_carries_an_id():
    assert pa.stored({"actions": [{"id": "A1"}, {"id": "a2"}]}) is True
    assert pa.stored({"actions": [{"id": "A1"}, {"what": "x"}]}) is False
    assert pa.stored({"actions": [{"id": "A1"}, "A2"]}) is False
    assert pa.stored({"actions": []}) is False and pa.stored({}) is False


# -- the plan in force and its open actions ---------------------------------------------------------
WAITING = {"record_id": "P2", "approved_at": None, "actions": [{"id": "A2"}, {"id": "A4"}],
           "previous": {"record_id": "P1", "actions": [{"id": "A1"}, {"id": "A2"}, {"id": "A3"}]},
           "status": {"A1": {"status": "done"}, "A3": {"status": " dropped "}, "A2": {"status": "in_progress"}}}


def test_in_force_and_waiting_over():
    assert pa.in_force(WAITING, APPROVAL)["record_id"] == "P1" and pa.waiting_over(WAITING, APPROVAL)["record_id"] == "P1"
    assert pa.in_force(WAITING, NO_APPROVAL) is WAITING and pa.waiting_over(WAITING, NO_APPROVAL) is None
    approved = dict(WAITING, approved_at="2026-11-24T06:00:00+00:00")
    assert pa.in_force(approved, APPROVAL) is approved and pa.waiting_over(approved, APPROVAL) is None
    first = dict(WAITING, previous=None)
    assert pa.in_force(first, APPROVAL) is None and pa.waiting_over(first, APPROVAL) is None
    assert pa.in_force(None, APPROVAL) is None and pa.in_force({}, NO_APPROVAL) is None and pa.waiting_over(None, APPROVAL) is None
    assert pa.in_force(WAITING, Policy("p", "P", {}))["record_id"] == "P1"  # approval is required unless switched off


def test_open_actions__of_the_version_in_force_not_done_or_dropped_with_their_status():
    assert pa.open_actions(WAITING, APPROVAL) == [{"id": "A2", "status": "in_progress"}]
    assert pa.open_actions(WAITING, NO_APPROVAL) == [{"id": "A2", "status": "in_progress"}, {"id": "A4", "status": None}]
    assert pa.open_actions(dict(WAITING, previous=None), APPROVAL) == [] and pa.open_actions(None, APPROVAL) == []
    assert pa.action_status(WAITING, "A2") == "in_progress" and pa.action_status(WAITING, "A4") is None
    assert pa.action_status(None, "A1") is None
    assert [pa.is_open(s) for s in (None, "", "in_progress", "done", " done ", "dropped")] == \
        [True, True, True, False, False, False]


def test_action_ids__of_the_latest_version_then_the_one_in_force():
    assert pa.action_ids(WAITING, APPROVAL) == ["A2", "A4", "A1", "A3"]
    assert pa.action_ids(WAITING, NO_APPROVAL) == ["A2", "A4"] and pa.action_ids(None, APPROVAL) == []


@pytest.mark.parametrize("typed, action_id", [
    ("A2", "A2"), (" a2 ", "A2"), ("2", "A2"), (2, "A2"), ("02", "A2"), ("A02", None), ("G2", None), ("0", None),
    ("two", None), ("", None),
])
def test_parse_action(typed, action_id):
    assert pa.parse_action(typed) == action_id


def test_due_at__the_end_of_the_day_in_the_zone_given():
    zone = timezone(timedelta(hours=3))
    assert pa.due_at("2026-12-01", zone) == datetime(2026, 12, 1, 23, 59, 59, tzinfo=zone)
    assert pa.due_at("2026-12-01T08:00:00+00:00", zone).isoformat() == "2026-12-01T23:59:59+03:00"


# -- revising a version ----------------------------------------------------------------------------
def test_current_body__the_latest_unless_its_author_withdrew_it():
    records = [rec("plan", "P1"), rec("plan", "P2")]
    assert pa.current_body(records, WAITING, APPROVAL).id == "P2"
    withdrawn = dict(WAITING, withdrawn_at="2026-11-24T06:00:00+00:00")
    assert pa.current_body(records, withdrawn, APPROVAL).id == "P1"
    assert pa.current_body(records, dict(withdrawn, previous=None), APPROVAL) is None
    assert pa.current_body(records, None, APPROVAL) is None and pa.current_body(records, {"record_id": "P9"}, APPROVAL) is None
    assert pa.current_body(records, {"record_id": ""}, APPROVAL) is None


BODY = {"reason": "initial", "review_date": "2027-01-01", "closure_criteria": ["safe"],
        "goals": [{"goal": "Health", "term": "short"}, {"id": "G2", "goal": "School"}],
        "actions": [{"what": "Clinic", "by": "2026-12-01", "goal": "G1"}, {"id": "x", "what": "Fees", "who": "caseworker"}]}
IDS = {"goals": ["G1", "G2"], "actions": ["A1", "A2"]}


def test_revise__changes_new_items_and_removals_each_item_keeping_its_id():
    out, problems = pa.revise(BODY, IDS, {
        "reason": "review", "review_date": "", "note": None, "closure_criteria": ["safe", "in school"],
        "goals": {"g2": {"goal": "School every day", "term": ""}, "new": {"goal": "Safety", "term": "short", "need": None}},
        "actions": {"a1": {"by": "2027-01-15", "goal": None}, "new1": {"what": "Night visit", "goal": "new", "who": ""},
                    "NEW2": {"what": "Uniform", "goal": "G2"}},
    }, remove=["a2"], last={"A": 5, "G": 2})
    assert problems == []
    assert {k: v for k, v in out.items() if k not in ("goals", "actions")} == {
        "reason": "review", "closure_criteria": ["safe", "in school"]}
    assert out["goals"] == [{"id": "G1", "goal": "Health", "term": "short"}, {"id": "G2", "goal": "School every day"},
                            {"id": "G3", "goal": "Safety", "term": "short"}]
    assert out["actions"] == [{"id": "A1", "what": "Clinic", "by": "2027-01-15"},
                              {"id": "A6", "what": "Night visit", "goal": "G3"}, {"id": "A7", "what": "Uniform", "goal": "G2"}]
    assert BODY["goals"][0] == {"goal": "Health", "term": "short"} and "id" not in BODY["actions"][0]  # not changed in place


def test_revise__without_last_new_items_take_1_and_nothing_changed_keeps_the_version():
    out, problems = pa.revise({}, {}, {"goals": {"new": {"goal": "a"}}, "actions": {"new": {"what": "b", "goal": "new"}}})
    assert problems == [] and out == {"goals": [{"id": "G1", "goal": "a"}], "actions": [{"id": "A1", "what": "b", "goal": "G1"}]}
    same, none = pa.revise(BODY, IDS, {})
    assert none == [] and same["actions"][1] == {"id": "A2", "what": "Fees", "who": "caseworker"} and same["reason"] == "initial"


def test_revise__each_problem_names_its_path_and_why():
    _, problems = pa.revise(BODY, IDS, {"goals": ["G1"], "actions": "A1"})
    assert problems == [("goals", "takes the goals by ID (--set goals.G1.goal=...)"),
                        ("actions", "takes the actions by ID (--set actions.A1.by=...)")]
    _, problems = pa.revise(BODY, IDS, {
        "goals": {"G1": "Health", "G9": {"goal": "x"}, "Grace Achieng": {"goal": "x"}},
        "actions": {"A1": "soon", "A2": {"id": "A5"}, "a9": {"by": "2027-01-01"}, "new": {"what": "x", "goal": "new3"}},
    }, remove=["A8", "g7"])
    assert problems == [
        ("goals.G1", "takes fields (e.g. goals.G1.goal=...)"),
        ("goals.G9", "no goal with that ID in the current version (G1, G2; new, new1 … for a new one)"),
        ("goals (a key)", "no goal with that ID in the current version (G1, G2; new, new1 … for a new one)"),  # no name echoed
        ("actions.A1", "takes fields (e.g. actions.A1.by=...)"),
        ("actions.A2.id", "cannot be changed: IDs stay with their goal or action"),
        ("actions.a9", "no action with that ID in the current version (A1, A2; new, new1 … for a new one)"),
        ("--remove action", "no action with that ID in the current version"),
        ("--remove goal", "no goal with that ID in the current version"),
        ("actions.A1.goal", "names a new goal that the changes do not add"),
    ]
    _, empty = pa.revise({}, {}, {"actions": {"A1": {"by": "x"}}})
    assert empty == [("actions.A1", "no action with that ID in the current version (none; new, new1 … for a new one)")]


def test_revise__an_item_named_by_its_place_in_the_list_is_told_to_use_its_id():
    out, problems = pa.revise(BODY, IDS, {"actions[1]": {"by": "2027-01-15"}, "goals[0]": {"goal": "x"}})
    assert problems == [
        ("actions", "takes an action by its ID, not by its place in the list: --set actions.A1.by=... (the IDs: A1, A2)"),
        ("goals", "takes a goal by its ID, not by its place in the list: --set goals.G1.goal=... (the IDs: G1, G2)")]
    assert "actions[1]" not in out and "goals[0]" not in out


def test_revise__plan_fields_after_the_items_in_the_changes_are_applied_too():
    out, problems = pa.revise(BODY, IDS, {"actions": {"A1": {"by": "2027-01-15"}}, "goals": {}, "reason": "review",
                                          "review_date": ""})
    assert problems == [] and out["reason"] == "review" and "review_date" not in out
    assert out["actions"][0]["by"] == "2027-01-15"


def test_revise__a_new_item_without_fields_and_a_key_matching_no_id_whatever_the_ids_are():
    _, problems = pa.revise(BODY, IDS, {"actions": {"new": "Night visit"}, "goals": {"NEW1": ["x"]}})
    assert problems == [("goals.NEW1", "takes fields (e.g. goals.NEW1.goal=...)"),
                        ("actions.new", "takes fields (e.g. actions.new.by=...)")]
    named = {"goals": [{"id": "None", "goal": "x"}, {"id": "safety", "goal": "y"}]}
    out, problems = pa.revise(named, {"goals": ["None", "safety"]}, {"goals": {"G7": {"goal": "z"}, "Safety": {"term": "long"}}})
    assert problems == [("goals.G7", "no goal with that ID in the current version (None, safety; new, new1 … for a new one)")]
    assert out["goals"] == [{"id": "None", "goal": "x"}, {"id": "safety", "goal": "y", "term": "long"}]
    _, problems = pa.revise(BODY, IDS, {"goals": {"None": {"goal": "z"}}})
    assert problems == [("goals (a key)", "no goal with that ID in the current version (G1, G2; new, new1 … for a new one)")]


def test_number__the_next_number_follows_the_highest_used_even_when_its_text_is_no_longer_known():
    numbered = pa.number({"goals": [{"goal": "g"}], "actions": [{"what": "x"}]}, {"last": {"A": 5, "G": 3}})
    assert [g["id"] for g in numbered["goals"]] == ["G4"] and [a["id"] for a in numbered["actions"]] == ["A6"]
    assert numbered["last"] == {"A": 6, "G": 4}


def test_number__a_text_written_twice_keeps_its_id_once_and_a_goals_short_id_found_by_its_text_takes_no_number():
    before = pa.number({"goals": [{"id": "safety", "goal": "Safe"}], "actions": [{"what": "Clinic"}]}, None)
    numbered = pa.number({"goals": [{"goal": "safe"}, {"goal": "School"}], "actions": [{"what": "clinic"}, {"what": "Clinic"}]},
                         before)
    assert [g["id"] for g in numbered["goals"]] == ["safety", "G1"]
    assert [a["id"] for a in numbered["actions"]] == ["A1", "A2"]


def test_clashes__an_id_each_copy_gave_apart_to_another_new_action_and_nothing_else():
    shared = [{"actions": [{"id": "A1", "what": "Pay fees"}, {"id": "A2", "what": "Go to school"}]}]

    def side(*actions):
        return [{"actions": [{"id": "A1", "what": "Pay fees"}, {"id": "A2", "what": "Go to school"}, *actions]}]
    uniform, counselling = {"id": "A3", "what": "Buy school uniform"}, {"id": "A3", "what": "Refer to counselling"}
    assert pa.clashes(shared, (side(uniform), side(counselling))) == ["A3"]
    assert pa.clashes(shared, (side(uniform), side({"id": "A3", "what": " buy  School uniform"}))) == []  # the same action
    reworded = [{"actions": [{"id": "A1", "what": "Pay the fees by bursary"}, {"id": "A2", "what": "Go to school"}]}]
    assert pa.clashes(shared, (reworded, side())) == []  # an action both had keeps its ID, reworded or not
    conflict = rec("sync_conflict", "01K0000000000000000000000Z", code="plans-concurrent", records=["x", "y"], actions=["A3"])
    assert pa.clashed(conflict) == ["A3"] and pa.clashed(rec("sync_conflict", "01K0000000000000000000000Y",
                                                             code="two-assignments", actions=["A3"])) == []
