"""The conference plan approved ahead of the meeting (Kenya case-conferencing SOP Form 3 item 4):
`cpcm approve|reject CONF conference-plan` by a supervisor or manager, on their `cpcm due` a week
before the meeting, shown by `conference show` among the preparation steps; a plan changed after
its approval (date, venue, chairs, online details, cases) waits for approval again; a meeting
held on a plan not approved warns and `cpcm check` lists it; off in the inter-agency profile."""
from __future__ import annotations

import json

import pytest

from conftest import NOW, commit_count, git, register
from cpcm.domain.records import Record
from cpcm.store import policies
from cpcm.workflow import conferences as rules
from test_conference import MEMBERS, minutes_doc, planned_case

KENYA, INTER = policies.load("kenya"), policies.load("inter-agency")
MEETING = "2026-12-10"                      # 17 days after NOW (2026-11-23 09:00 +03:00)
APPROVE_BY = "2026-12-03T09:00+03:00"    # a week before the meeting's start (conference.start_time 09:00)
ON_THE_DAY = "2026-12-10T10:00:00+03:00"


def planned(sup, *extra: str, when: str = MEETING) -> str:
    result = sup("conference", "new", "--kind", "aac", "--date", when, "--venue", "Sub-county office", "--json", *extra)
    assert result.code == 0, result.stderr
    return result.json()["conference_id"]


def plan_items(cli, *extra: str) -> list[dict]:
    result = cli("due", "--within", "30", "--json", *extra)
    assert result.code == 0, result.stderr
    return [i for i in result.json() if i["code"] == rules.PLAN_CODE]


def shown(cli, conf: str) -> str:
    """The `plan approved` row of `conference show`, piped."""
    result = cli("conference", "show", conf)
    assert result.code == 0, result.stderr
    return next(line.split("\t", 1)[1] for line in result.stdout.splitlines() if line.startswith("plan approved\t"))


# -- the policy ----------------------------------------------------------------------------------------
def test_policy__kenya_requires_the_plan_approved_a_week_ahead_by_a_supervisor_or_manager_with_its_source():
    assert KENYA.get(rules.PLAN_APPROVAL, "required") is True and INTER.get(rules.PLAN_APPROVAL, "required") is False
    for policy in (KENYA, INTER):
        assert rules.days_before(policy, rules.PLAN_KEY) == 7
        assert rules.plan_roles(policy) == ("supervisor", "manager")
        assert "Form 3 item 4" in policy.source(rules.PLAN_DUE) and "Form 3 item 4" in policy.source(rules.PLAN_APPROVAL)
        assert "cpcm's" in policy.source(rules.PLAN_APPROVAL)  # who approves is the project's reading, said so
    assert "inter-agency guidelines" in INTER.source(rules.PLAN_APPROVAL)  # why it is off there


def test_policy__a_caseworker_cannot_be_made_an_approver():
    from cpcm.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        policies.with_override("kenya", "rules:\n  conference_plan_approval:\n    roles: [caseworker]\n")
    assert "rules.conference_plan_approval.roles" in str(refused.value) and "caseworker" in str(refused.value)
    assert policies.with_override("kenya", "rules:\n  conference_plan_approval:\n    roles: [manager]\n")


# -- what the plan holds, pure --------------------------------------------------------------------------
def _records(*bodies):
    out = [Record("conference", 1, "01JD0000000000000000000001", "CC-0000-0001", "2026-11-20T09:00:00+03:00",
                  "2026-11-20T09:00:00+03:00", "sup", {"type": "internal", "date": MEETING, "chair": "sup", "venue": "Room"})]
    for n, (kind, by, body) in enumerate(bodies, start=2):
        out.append(Record(kind, 1, f"01JD00000000000000000000{n:02d}", "CC-0000-0001", "2026-11-21T09:00:00+03:00",
                          "2026-11-21T09:00:00+03:00", by, body))
    return out


def test_plan__a_change_of_what_the_plan_holds_reopens_it_and_the_checklist_dates_do_not():
    first = rules.fold("CC-0000-0001", _records())
    approval = ("approval", "sup", {"subject": rules.PLAN_SUBJECT, "plan": rules.plan_of(first)})
    approved = rules.fold("CC-0000-0001", _records(approval))
    assert rules.plan_approval(approved, KENYA)["state"] == "approved"
    told = rules.fold("CC-0000-0001", _records(approval, ("conference_update", "amina", {"changes": {"notice_sent": "2026-11-22"}})))
    assert rules.plan_approval(told, KENYA)["state"] == "approved"  # the notice went out: the plan is as approved
    for changes, part in (({"venue": "Hall"}, "venue"), ({"date": "2026-12-11"}, "date"),
                          ({"virtual": {"platform": "Zoom", "record_keeper": "sup"}}, "online")):
        moved = rules.fold("CC-0000-0001", _records(approval, ("conference_update", "amina", {"changes": changes})))
        state = rules.plan_approval(moved, KENYA)
        assert state["state"] == "changed" and state["changed"] == [part] and moved.plan_by == "amina"
    nominated = rules.fold("CC-0000-0001", _records(approval, ("nomination", "sup", {"case_id": "CP-0000-0001", "reason": "x"})))
    assert rules.plan_approval(nominated, KENYA)["changed"] == ["cases"]
    proposed = rules.fold("CC-0000-0001", _records(approval, ("nomination", "amina", {"case_id": "CP-0000-0001", "proposed": True})))
    assert rules.plan_approval(proposed, KENYA)["state"] == "approved"  # a nomination waiting to be taken in is not the plan yet


# -- through the CLI, kenya --------------------------------------------------------------------------------
def test_cli__kenya_approve_a_plan_due_for_the_supervisor_a_week_ahead_shown_and_gone_once_approved(kenya):
    sup, amina = kenya("sup"), kenya("amina")
    conf = planned(sup)
    assert shown(sup, conf) == "not yet (due by 2026-12-03 09:00 +03:00)"
    rows = [line.split("\t")[0] for line in sup("conference", "show", conf).stdout.splitlines()]
    assert rows.index("notice sent") < rows.index("plan approved") < rows.index("invitations sent")  # Form 3 items 3, 4, 6
    (item,) = plan_items(sup)
    assert item["case_id"] == conf and item["title"] == f"approve the plan of conference {conf}"
    assert item["due"] == APPROVE_BY and item["owner"] == "supervisors" and item["rule"] == rules.PLAN_APPROVAL
    assert "Form 3 item 4" in item["source"] and f"cpcm approve {conf} conference-plan" in item["why"]
    assert plan_items(amina) == []  # a caseworker's list: not theirs to approve
    before = commit_count(kenya.root)
    done = sup("approve", conf, "conference-plan", "--json")
    assert done.code == 0, done.stderr
    assert commit_count(kenya.root) == before + 1
    assert git(kenya.root, "log", "-1", "--format=%s").strip() == f"approve {conf} {done.json()['record_id']}"
    assert shown(sup, conf) == "approved by sup on 2026-11-23 09:00 +03:00"
    assert sup("conference", "show", conf, "--json").json()["plan_approval"]["state"] == "approved"
    assert plan_items(sup) == []
    again = sup("approve", conf, "conference-plan", "--json")
    assert again.code == 4 and again.json()["rule"] == "nothing-to-approve" and commit_count(kenya.root) == before + 1


def test_cli__kenya_a_plan_changed_after_approval_waits_for_approval_again(kenya):
    sup = kenya("sup")
    conf = planned(sup)
    assert sup("approve", conf, "conference-plan").code == 0
    told = sup("conference", "update", conf, "--notice-sent", "2026-11-23")
    assert told.code == 0 and "approving again" not in told.stderr + told.stdout and plan_items(sup) == []
    moved = sup("conference", "update", conf, "--venue", "Children's office, room 2")
    assert moved.code == 0, moved.stderr
    assert f"cpcm approve {conf} conference-plan" in moved.stdout + moved.stderr and "(venue)" in moved.stdout + moved.stderr
    (item,) = plan_items(sup)
    assert "changed since (venue)" in item["why"] and item["due"] == APPROVE_BY
    assert shown(sup, conf).startswith("approved by sup on 2026-11-23 09:00 +03:00; changed since (venue): to approve again")
    assert sup("approve", conf, "conference-plan").code == 0 and plan_items(sup) == []
    case_id = register(kenya("amina"))
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    (item,) = plan_items(sup)  # the anonymised case list is the plan's: a case taken in needs approving again
    assert "changed since (cases)" in item["why"]


def test_cli__kenya_reject_needs_a_note_and_the_chair_changes_the_plan_then_it_waits_again(kenya):
    sup, amina = kenya("sup"), kenya("amina")
    conf = planned(sup)
    before = commit_count(kenya.root)
    bare = sup("reject", conf, "conference-plan")
    assert bare.code == 4 and "note" in bare.stderr and commit_count(kenya.root) == before
    rejected = sup("reject", conf, "conference-plan", "--note", "book the sub-county hall")
    assert rejected.code == 0, rejected.stderr
    assert git(kenya.root, "log", "-1", "--format=%s").strip().startswith(f"reject {conf} ")
    assert shown(sup, conf).startswith("rejected by sup on 2026-11-23 09:00 +03:00 (book the sub-county hall): to change")
    (item,) = plan_items(sup)
    assert item["title"] == f"change the plan of conference {conf} (rejected)" and item["owner"] == "sup"  # the chair's
    assert "book the sub-county hall" not in item["why"]  # the note is read with conference show, not on the due list
    assert sup("conference", "update", conf, "--venue", "Sub-county hall").code == 0
    (item,) = plan_items(sup)
    assert item["title"] == f"approve the plan of conference {conf}" and item["owner"] == "supervisors"
    assert plan_items(amina) == []


def test_cli__a_caseworker_cannot_approve_or_reject_a_conference_plan(kenya):
    sup, amina = kenya("sup"), kenya("amina")
    conf = planned(sup)
    before = commit_count(kenya.root)
    for verb, *note in (("approve",), ("reject", "--note", "no")):
        refused = amina(verb, conf, "conference-plan", *note, "--json")
        assert refused.code == 4, refused.stderr
        assert refused.json()["rule"] == "approval-needs-supervisor"
    assert commit_count(kenya.root) == before
    assert len(plan_items(sup)) == 1


def test_cli__the_subject_names_its_kind_of_id(kenya):
    sup = kenya("sup")
    conf = planned(sup)
    case_id = register(kenya("amina"))
    before = commit_count(kenya.root)
    wrong = sup("approve", conf, "plan")
    assert wrong.code == 2 and f"cpcm approve {conf} conference-plan" in wrong.stderr
    other = sup("approve", case_id, "conference-plan")
    assert other.code == 2 and "conference's ID" in other.stderr
    dated = sup("approve", conf, "conference-plan", "--at", "2026-11-22")
    assert dated.code == 2 and "--at" in dated.stderr
    assert commit_count(kenya.root) == before


def test_cli__kenya_a_meeting_held_on_a_plan_not_approved_warns_check_lists_it_and_the_close_records_it(kenya):
    sup = kenya("sup")
    case_id = planned_case(kenya("amina"), "Test Child")
    conf = planned(sup)
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    early = kenya("sup", "2026-12-04T09:00:00+03:00")  # the approval's time has passed, the meeting not come
    problems = [p for p in early("check", "--json").json() if p["code"] == rules.PLAN_PROBLEM]
    assert [p["case_id"] for p in problems] == [conf] and "overdue since 2026-12-03 09:00 +03:00" in problems[0]["message"]
    assert problems[0]["severity"] == "warning"
    day = kenya("sup", ON_THE_DAY)
    late = day("approve", conf, "conference-plan", "--json")
    assert late.code == 4 and late.json()["rule"] == "conference-plan-meeting-started"
    first = day("conference", "attend", conf, "--institution", MEMBERS[0][0], "--name", MEMBERS[0][1], "--position",
                MEMBERS[0][2], "--contact", "0700 000000", "--confidentiality-signed", "yes")
    assert first.code == 0 and f"{rules.PLAN_APPROVAL}: the plan of {conf} is not approved" in first.stderr
    for institution, name, position in MEMBERS[1:]:
        assert day("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                   "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert day("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([case_id]))).code == 0
    problems = [p for p in day("check", "--json").json() if p["code"] == rules.PLAN_PROBLEM]
    assert len(problems) == 1 and "the meeting started without an approved plan" in problems[0]["message"]
    closed = day("conference", "close", conf)
    assert closed.code == 0, closed.stderr  # a warning, not a refusal: meetings happen
    assert f"the plan of {conf} is not approved" in closed.stderr
    assert day("conference", "show", conf, "--json").json()["history"][-1]["kind"] == "conference_close"
    from datetime import datetime

    from cpcm.service import conferences
    from cpcm.service.context import open_repo

    ctx = open_repo(kenya.root, kenya.keys["sup"][0], now=datetime.fromisoformat(ON_THE_DAY))
    close = [r for r in conferences.load_records(ctx, conf) if r.kind == "conference_close"][0]
    assert close.body["plan_approved"] is False
    assert [p for p in day("check", "--json").json() if p["code"] == rules.PLAN_PROBLEM] == []


def test_cli__kenya_a_plan_approved_holds_the_meeting_without_the_warning(kenya):
    sup = kenya("sup")
    conf = planned(sup)
    assert sup("approve", conf, "conference-plan").code == 0
    day = kenya("sup", ON_THE_DAY)
    first = day("conference", "attend", conf, "--institution", MEMBERS[0][0], "--name", MEMBERS[0][1], "--position",
                MEMBERS[0][2], "--contact", "0700 000000", "--confidentiality-signed", "yes")
    assert first.code == 0 and rules.PLAN_APPROVAL not in first.stderr
    assert [p for p in day("check", "--json").json() if p["code"] == rules.PLAN_PROBLEM] == []


# -- the inter-agency profile: not required ---------------------------------------------------------------
def test_cli__inter_agency_nothing_to_approve_no_due_item_no_warning(cli_as, repo):
    sup = cli_as("sup")
    conf = planned(sup)
    assert shown(sup, conf) == "not required by the policy (conference_plan_approval)"
    assert plan_items(sup) == []
    before = commit_count(repo)
    refused = sup("approve", conf, "conference-plan", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "nothing-to-approve"
    assert "conference_plan_approval.required" in refused.json()["message"]
    assert commit_count(repo) == before
    day = cli_as("sup", CPCM_NOW=ON_THE_DAY)
    first = day("conference", "attend", conf, "--institution", MEMBERS[0][0], "--name", MEMBERS[0][1], "--position",
                MEMBERS[0][2], "--contact", "0700 000000", "--confidentiality-signed", "yes")
    assert first.code == 0 and rules.PLAN_APPROVAL not in first.stderr
    assert [p for p in day("check", "--json").json() if p["code"] == rules.PLAN_PROBLEM] == []


def test_cli__inter_agency_an_agency_that_turns_it_on_gets_it(cli_as, repo):
    sup = cli_as("sup")
    override = repo.parent / "policy.yaml"
    override.write_text("rules:\n  conference_plan_approval:\n    required: true\n")
    assert sup("policy", "set", str(override)).code == 0
    conf = planned(sup)
    assert [i["case_id"] for i in plan_items(sup)] == [conf]
    assert sup("approve", conf, "conference-plan").code == 0 and plan_items(sup) == []


def test_privacy__a_rejection_note_naming_a_child_stays_encrypted_and_verify_accepts_the_decisions(kenya, tmp_env):
    from conftest import CANARY
    from test_privacy import files_with_marker, git_log_patch, git_objects, leaks

    sup = kenya("sup")
    conf = planned(sup)
    rejected = sup("reject", conf, "conference-plan", "--note", f"{CANARY} must not be on the case list")
    assert CANARY in sup("conference", "show", conf).stdout  # read back, decrypted, where asked for
    assert not leaks(sup("due", "--within", "30").stdout.encode())  # the note is not on the due list
    approved = sup("conference", "update", conf, "--venue", "Sub-county hall"), sup("approve", conf, "conference-plan")
    for result in (rejected, *approved):
        assert result.code == 0, result.stderr
        assert not leaks(result.stderr.encode()) and not leaks(result.stdout.encode())
    assert files_with_marker(kenya.root) == [] and files_with_marker(tmp_env / "tmp") == []
    assert not leaks(git_objects(kenya.root)) and not leaks(git_log_patch(kenya.root))
    verified = sup("verify")
    assert verified.code == 0, verified.stdout + verified.stderr


def test_cli__a_rejection_of_the_note_too_long_changes_nothing(kenya):
    sup = kenya("sup")
    conf = planned(sup)
    before = commit_count(kenya.root)
    long = sup("reject", conf, "conference-plan", "--note", "x" * 501)
    assert long.code == 4 and "note" in long.stderr and commit_count(kenya.root) == before
    assert NOW  # the repository's clock: the tests' fixed now


def test_cli__the_day_a_plan_was_decided_is_the_agencys_day_not_utcs(kenya):
    """Approved at 01:00 in Nairobi on 24 November (22:00 UTC on the 23rd): the refusal to approve
    it again, and a due item after it changed, say the 24th."""
    night = kenya("sup", now="2026-11-24T01:00:00+03:00")
    conf = planned(night)
    assert night("approve", conf, "conference-plan").code == 0
    again = night("approve", conf, "conference-plan", "--json")
    assert again.code == 4 and "on 2026-11-24" in again.json()["message"], again.json()
    assert night("conference", "update", conf, "--venue", "Chief's camp").code == 0
    (item,) = plan_items(night)
    assert "approved it on 2026-11-24" in item["why"], item["why"]
