"""A plan version a conference's close wrote is the conference's decision, not its chair's alone:
in a team with one supervisor, the chair who closed it approves it (the policy's
plan_approval.conference_versions_by_chair), while every other rule of approval stays: a version
a person writes with the reason conference_decision is still theirs, and one who corrected the
conference's version may not approve it. The fold tells the conference's version by the
`conference` link record its close writes after it, by the same author."""
from __future__ import annotations

import json

from conftest import CANARY, commit_count
from cpcm.domain.policy import Policy
from cpcm.domain.records import Record
from cpcm.workflow import approvals
from cpcm.workflow.fold import fold
from test_conference import CLOSE_NOW, MEMBERS, minutes_doc, new_conference, planned_case

ON = Policy("test", "Test", {"plan_approval": {"required": True, "self_approval": False, "conference_versions_by_chair": True}})
OFF = Policy("test", "Test", {"plan_approval": {"required": True, "self_approval": False, "conference_versions_by_chair": False}})


# -- the fold and the rule, pure ------------------------------------------------------------------------
def rec(kind: str, id_: str, by: str, **body) -> Record:
    return Record(kind, 1, id_, "CP-1", "2026-11-30T13:00:00+03:00", "2026-11-30T10:00:00+00:00", by, body)


PLAN = {"reason": "conference_decision", "goals": [{"id": "G1", "goal": "School"}], "actions": [{"what": "Enrol", "goal": "G1"}]}
FIRST = rec("plan", "01A0", "amina", **dict(PLAN, reason="initial"))


def barred_writers(*records: Record, policy: Policy = ON) -> tuple[str, ...]:
    return approvals.barring_writers(policy, "plan", fold("CP-1", records).plan)


def test_fold__only_the_version_its_close_wrote_and_linked_by_the_same_author_is_the_conferences():
    link = rec("conference", "01A2", "sup", conference="CC-1", plan="01A1")
    assert barred_writers(FIRST, rec("plan", "01A1", "sup", **PLAN), link) == ()
    assert barred_writers(FIRST, rec("plan", "01A1", "sup", **PLAN), link, policy=OFF) == ("sup",)  # the switch off: barred
    # typed by a person: no link, whatever its reason
    assert barred_writers(FIRST, rec("plan", "01A1", "sup", **PLAN)) == ("sup",)
    # a link by someone else, or naming an earlier version, marks nothing
    assert barred_writers(FIRST, rec("plan", "01A1", "sup", **PLAN), rec("conference", "01A2", "amina", conference="CC-1",
                                                                           plan="01A1")) == ("sup",)
    assert barred_writers(FIRST, rec("plan", "01A1", "sup", **PLAN), rec("conference", "01A2", "sup", conference="CC-1",
                                                                         plan="01A0")) == ("sup",)
    # the next version, written after the conference's, is its writer's own
    assert barred_writers(FIRST, rec("plan", "01A1", "sup", **PLAN), link, rec("plan", "01A3", "sup", **PLAN)) == ("sup",)


def test_fold__a_correction_of_the_conferences_version_bars_its_corrector_the_chair_too():
    version, link = rec("plan", "01A1", "sup", **PLAN), rec("conference", "01A2", "sup", conference="CC-1", plan="01A1")
    by_amina = rec("plan", "01A3", "amina", **dict(PLAN, supersedes="01A1", correction_reason="typo"))
    by_chair = rec("plan", "01A3", "sup", **dict(PLAN, supersedes="01A1", correction_reason="typo"))
    assert barred_writers(FIRST, version, link, by_amina) == ("amina",)
    assert barred_writers(FIRST, version, link, by_chair) == ("sup",)


def test_fold__the_link_corrected_by_another_when_the_minutes_were_replaced_keeps_the_mark_its_close_made():
    version, link = rec("plan", "01A1", "sup", **PLAN), rec("conference", "01A2", "sup", conference="CC-1", plan="01A1")
    corrected = rec("conference", "01A3", "amina", conference="CC-1", plan="01A1", supersedes="01A2",
                    correction_reason="the minutes of CC-1 replaced")
    assert barred_writers(FIRST, version, link, corrected) == ()
    assert fold("CP-1", [FIRST, version, link, corrected]).plan["conference"] == {"id": "CC-1", "by": "sup", "record": "01A1"}
    # the link its close wrote decides: one by another hand marks nothing, corrected or not
    by_amina = rec("conference", "01A2", "amina", conference="CC-1", plan="01A1")
    by_sup = rec("conference", "01A3", "sup", conference="CC-1", plan="01A1", supersedes="01A2", correction_reason="x")
    assert barred_writers(FIRST, version, by_amina, by_sup) == ("sup",)


def test_may_correct__the_chair_corrects_the_conferences_version_she_may_approve_where_the_policy_says_so():
    from cpcm.domain.case import Case
    from cpcm.domain.team import Worker
    from cpcm.workflow.fold import conference_version

    version, link = rec("plan", "01A1", "sup", **PLAN), rec("conference", "01A2", "sup", conference="CC-1", plan="01A1")
    made = conference_version([FIRST, version, link], version)
    assert made == {"id": "CC-1", "by": "sup", "record": "01A1"}
    assert conference_version([FIRST, version, rec("conference", "01A2", "amina", conference="CC-1", plan="01A1")],
                              version) is None  # a link by another hand marks nothing, as in the fold
    sup, case = Worker("sup", "Sup", ("supervisor",), "age1sup"), Case(id="CP-1", worker="amina")
    assert approvals.may_correct(ON, "plan", sup, case, "sup", made)
    assert not approvals.may_correct(OFF, "plan", sup, case, "sup", made)
    assert not approvals.may_correct(ON, "plan", sup, case, "sup")  # a version she typed herself


# -- through the CLI: one supervisor, a conference of two cases -----------------------------------------
def _closed_by_the_only_supervisor(kenya):
    """Two cases of amina's, their plans approved by sup, the team's only supervisor, discussed at a conference she
    closed: (amina, the chair on the meeting's day, the two case IDs, the close's answer)."""
    amina, sup = kenya("amina"), kenya("sup")
    cases = [planned_case(amina, f"{CANARY} One"), planned_case(amina, f"{CANARY} Two")]
    conf = new_conference(sup)
    for case_id in cases:
        assert sup("approve", case_id, "plan", "--note", "ok").code == 0
        assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    chair = kenya("sup", CLOSE_NOW)
    for institution, name, position in MEMBERS:
        assert chair("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                     "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert chair("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc(cases))).code == 0
    closed = chair("conference", "close", conf, "--json")
    assert closed.code == 0, closed.stderr
    return amina, chair, cases, closed


def test_cli__the_only_supervisor_approves_the_versions_her_conference_close_wrote_and_not_one_she_typed(kenya):
    amina, chair, cases, closed = _closed_by_the_only_supervisor(kenya)
    said = closed.json()
    assert not [w for w in said["warnings"] if "nobody in the team may approve" in w], said["warnings"]
    for case_id in cases:  # the next: steps say it is the chair's to approve, on her list
        assert [s for s in said["next_steps"] if s.startswith(f"{case_id}: ") and "waits for your approval" in s
                and f"cpcm approve {case_id} plan" in s], said["next_steps"]
    due = chair("due", "--json")
    assert due.code == 0, due.stderr
    listed = {i["case_id"]: i for i in due.json() if i["code"] == "plan-approval"}
    assert set(listed) == set(cases) and not any(i.get("nobody_may_decide") for i in listed.values())
    first, second = cases
    approved = chair("approve", first, "plan", "--note", "as the conference decided")
    assert approved.code == 0, approved.stderr
    plan = amina("show", first, "--json").json()["plan"]
    assert plan["version"] == 2 and plan["approved_by"] == "sup" and plan["by"] == "sup"
    # typing the reason gets nobody round four-eyes: the version she wrote herself is hers
    assert chair("plan", second, "--from-current", "--reason", "conference_decision").code == 0
    refused = chair("approve", second, "plan", "--note", "mine")
    assert refused.code == 4 and "you are the one who asked for it" in refused.stderr, refused.stderr  # the rule self-approval
    assert [i for i in chair("due", "--json").json() if i["code"] == "plan-approval" and i["case_id"] == second] == []
    assert "Zqxcanary" not in closed.stdout + closed.stderr + refused.stderr


def test_cli__the_chair_corrects_the_version_she_approved_as_a_supervisor_corrects_hers(kenya):
    """The chair who approved the version her conference's close wrote corrects what she approved (`cpcm correct CASE
    plan ... --reason`), as a supervisor corrects a version she approved: a reason is required, the approval stands,
    the original stays in the history. The caseworker is still refused; where plan_approval.conference_versions_by_chair
    is false the chair is refused too, the rule named, and the next version offered."""
    amina, chair, (first, _), _ = _closed_by_the_only_supervisor(kenya)
    assert chair("approve", first, "plan", "--note", "as the conference decided").code == 0
    version = amina("show", first, "--json").json()["plan"]
    action = next(a["id"] for a in version["content"]["actions"] if a["by"] == "2026-12-20")
    before = commit_count(kenya.root)
    no_reason = chair("correct", first, "plan", "--set", f"actions.{action}.by=2026-12-22", "--reason", "...")
    assert no_reason.code == 4 and "reason" in no_reason.stderr, no_reason.stderr
    worker = amina("correct", first, "plan", "--set", f"actions.{action}.by=2026-12-22", "--reason", "date", "--json")
    assert worker.code == 4 and worker.json()["rule"] == "correction-changes-decided", worker.stderr
    assert commit_count(kenya.root) == before

    fixed = chair("correct", first, "plan", "--set", f"actions.{action}.by=2026-12-22", "--reason", "the date the "
                  "conference set", "--json")
    assert fixed.code == 0, fixed.stderr
    assert commit_count(kenya.root) == before + 1
    plan = amina("show", first, "--json").json()["plan"]
    assert (plan["version"], plan["approved_by"], plan["record_id"]) == (2, "sup", fixed.json()["record_id"])
    assert next(a["by"] for a in plan["content"]["actions"] if a["id"] == action) == "2026-12-22"
    logged = {e["record_id"]: e for e in amina("log", first, "--json").json()}
    assert version["record_id"] in logged and fixed.json()["supersedes"] == version["record_id"]

    (kenya.root / ".cpcm" / "policy.yaml").write_text("rules:\n  plan_approval:\n    conference_versions_by_chair: false\n")
    again = chair("correct", first, "plan", "--set", f"actions.{action}.by=2026-12-23", "--reason", "date", "--json")
    assert again.code == 4 and again.json()["rule"] == "correction-changes-decided", again.stderr
    assert "plan_approval.conference_versions_by_chair is false" in again.json()["hint"]
    assert f"cpcm plan {first} --from-current --reason correction" in again.json()["hint"]
    assert "Zqxcanary" not in fixed.stdout + fixed.stderr + again.stdout + again.stderr
