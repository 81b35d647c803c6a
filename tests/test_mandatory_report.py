"""Mandatory reporting (IAG §5.10, §8): `cpcm mandatory-report CASE` records the decision to report a
concern to an authority, or not, with its rationale; a caseworker's decision not to report waits for
a supervisor (`cpcm approve|reject CASE mandatory-report`, on their `cpcm due`); a case registered with
a concern the agency makes reportable (`mandatory_report.concerns`), or updated to add one, has
"decide on the mandatory report" on its worker's `cpcm due`, within the policy's limit of the
registration or the update, until a decision is recorded (`cpcm check`: mandatory-report-overdue);
`cpcm report caseload` names a waiting decision in words. Read back by show, log and the case file; corrected by `cpcm correct`.
Through the CLI, as a caseworker and a supervisor use it."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from conftest import CANARY, NOW, commit_count, git, last_commit, register
from test_privacy import TEMPLATES, files_with_marker, git_log_patch, git_objects, leaks

LATER = "2026-11-25T09:00:00+03:00"  # two days on: a decision owed within 24 hours of the registration is overdue
POLICY = "rules:\n  mandatory_report:\n    concerns: [sexual_abuse, trafficking]\n"
REPORTED = ("--concern", "sexual_abuse", "--decision", "reported", "--to", "police", "--reported-on", "2026-11-23",
            "--reference", "OB 14/23/11/2026", "--rationale", "the law asks it; the child is safe at her aunt's", "--law-explained", "yes")
NOT_REPORTED = ("--concern", "sexual_abuse", "--decision", "not_reported", "--basis", "safety",
                "--rationale", "reporting now would expose the child to the household", "--law-explained", "yes")


@pytest.fixture
def agency(repo, cli_as):
    """The test repository with sexual abuse and trafficking made reportable, put in force by the
    supervisor (cpcm policy set), as an agency does from its national law."""
    path = repo.parent / "policy.yaml"
    path.write_text(POLICY)
    done = cli_as("sup")("policy", "set", str(path))
    assert done.code == 0, done.stderr
    path.unlink()
    return repo


def items(cli, case_id: str, *args: str) -> list[tuple[str, str]]:
    listed = cli("due", "--json", "--within", "60", *args)
    assert listed.code == 0, listed.stderr
    return [(i["code"], i["owner"]) for i in listed.json() if i["case_id"] == case_id]


def reports(cli, case_id: str) -> list[dict]:
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    return shown.json()["mandatory_reports"]


def test_walk__owed_then_not_reported_waits_for_a_supervisor_who_rejects_then_approves(agency, cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["neglect", "sexual_abuse"])

    # owed on the worker's list, within the policy's 24 hours; overdue after them, an error in check
    due = amina("due", "--json").json()
    owed = [i for i in due if i["case_id"] == case_id and i["code"] == "mandatory-report"]
    assert [(i["title"], i["owner"], i["rule"], i["due"]) for i in owed] == [
        ("decide on the mandatory report", "amina", "mandatory_report", "2026-11-24T09:00+03:00")], due
    assert "sexual_abuse" in owed[0]["why"] and f"cpcm mandatory-report {case_id}" in owed[0]["why"]
    assert "cpcm's choice" in owed[0]["source"]
    late = cli_as("amina", CPCM_NOW=LATER)("check", case_id, "--json")
    assert late.code == 1 and "mandatory-report-overdue" in [p["code"] for p in late.json()], late.stdout

    # a caseworker decides not to report: one commit; the decision waits on the supervisor's list, not hers
    before = commit_count(agency)
    written = amina("mandatory-report", case_id, *NOT_REPORTED, "--json")
    assert written.code == 0, written.stderr
    body = written.json()
    assert body["kind"] == "mandatory_report" and body["decision"] == "not_reported" and body["needs_approval"] is True
    assert commit_count(agency) == before + 1
    assert last_commit(agency)["message"] == f"mandatory-report {case_id} {body['record_id']}"
    assert ("mandatory-report", "amina") not in items(amina, case_id)
    assert ("mandatory-report-approval", "supervisors") in items(sup, case_id)
    assert ("mandatory-report-approval", "supervisors") not in items(amina, case_id)
    assert reports(amina, case_id)[0]["supervisor"] == {"decision": "waiting"}
    refused = amina("approve", case_id, "mandatory-report")  # not the caseworker's to decide
    assert refused.code == 4 and "supervisor" in refused.stderr

    # the supervisor rejects it: owed again on the caseworker's list, naming the rejection
    rejected = sup("reject", case_id, "mandatory-report", "--note", "report it: the police can act safely")
    assert rejected.code == 0, rejected.stderr
    assert "decision not to report" in rejected.stdout + rejected.stderr
    assert ("mandatory-report-approval", "supervisors") not in items(sup, case_id)
    again = [i for i in amina("due", "--json").json() if i["case_id"] == case_id and i["code"] == "mandatory-report"]
    assert len(again) == 1 and "rejected by sup" in again[0]["why"], again
    assert reports(amina, case_id)[0]["supervisor"]["decision"] == "rejected"

    # decided again, not reported, and approved: nothing is owed or waits
    assert amina("mandatory-report", case_id, *NOT_REPORTED).code == 0
    assert ("mandatory-report-approval", "supervisors") in items(sup, case_id)
    approved = sup("approve", case_id, "mandatory-report", "--note", "agreed; review at the next visit")
    assert approved.code == 0, approved.stderr
    assert [c for c, _ in items(sup, case_id, "--worker", "all") if c.startswith("mandatory-report")] == []
    shown = reports(sup, case_id)
    assert [(m["decision"], (m["supervisor"] or {}).get("decision")) for m in shown] == [
        ("not_reported", "rejected"), ("not_reported", "approved")]
    assert shown[1]["supervisor"]["by"] == "sup" and shown[1]["basis"] == "safety"
    assert cli_as("amina", CPCM_NOW=LATER)("check", case_id).code == 0


def test_reported__needs_no_supervisor_and_a_supervisors_own_decision_not_to_report_stands(agency, cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["trafficking"])
    written = amina("mandatory-report", case_id, *REPORTED, "--json")
    assert written.code == 0, written.stderr
    assert written.json()["needs_approval"] is False
    assert [c for c, _ in items(sup, case_id, "--worker", "all") if c.startswith("mandatory-report")] == []

    other = register(amina, concerns=["sexual_abuse"])
    own = sup("mandatory-report", other, *NOT_REPORTED, "--json")
    assert own.code == 0 and own.json()["needs_approval"] is False, own.stderr
    assert [c for c, _ in items(sup, other, "--worker", "all") if c.startswith("mandatory-report")] == []


def test_nothing_is_owed_where_the_policy_lists_no_concern(repo, cli_as):
    """The guidelines name no reportable concern: until the agency lists them, no case owes a decision,
    and one may still be recorded."""
    amina = cli_as("amina")
    case_id = register(amina, concerns=["sexual_abuse"])
    assert [c for c, _ in items(amina, case_id) if c.startswith("mandatory-report")] == []
    assert amina("mandatory-report", case_id, *REPORTED).code == 0


def test_show_log_case_file_and_correct_read_it_back(agency, cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["sexual_abuse"])
    record_id = amina("mandatory-report", case_id, *REPORTED, "--json").json()["record_id"]

    shown = amina("show", case_id)
    assert shown.code == 0 and "Mandatory-reporting decisions" in shown.stdout
    assert "OB 14/23/11/2026" in shown.stdout and "police" in shown.stdout
    entry = reports(amina, case_id)[0]
    assert {k: entry[k] for k in ("record_id", "decision", "to", "reported_on", "reference", "law_explained", "concerns")} == {
        "record_id": record_id, "decision": "reported", "to": "police", "reported_on": "2026-11-23",
        "reference": "OB 14/23/11/2026", "law_explained": "yes", "concerns": ["sexual_abuse"]}
    full = amina("show", case_id, record_id, "--json")
    assert full.code == 0 and "the child is safe at her aunt's" in json.dumps(full.json())

    logged = [e for e in amina("log", case_id, "--json").json() if e["record_id"] == record_id]
    assert [(e["kind"], e["what"]) for e in logged] == [("mandatory_report", "reported to police: sexual_abuse")], logged

    rendered = amina("render", "case-file", case_id)
    assert rendered.code == 0, rendered.stderr
    assert "Mandatory-reporting decision" in rendered.stdout and "OB 14/23/11/2026" in rendered.stdout
    assert "the child is safe at her aunt's" in rendered.stdout

    # a mistyped reference is corrected; the decision itself is not (a new decision is recorded instead)
    fixed = amina("correct", case_id, record_id, "--set", "reference=OB 15/23/11/2026", "--reason", "mistyped", "--json")
    assert fixed.code == 0, fixed.stderr
    assert [m["reference"] for m in reports(amina, case_id)] == ["OB 15/23/11/2026"]
    before = commit_count(agency)
    changed = amina("correct", case_id, fixed.json()["record_id"], "--set", "decision=not_reported", "--reason", "x")
    assert changed.code == 4 and "decision" in changed.stderr and "cpcm mandatory-report" in changed.stderr
    unknown = amina("correct", case_id, fixed.json()["record_id"], "--set", "to=chief", "--reason", "x")
    assert unknown.code == 4 and "to:" in unknown.stderr and "police" in unknown.stderr
    assert commit_count(agency) == before

    # a decision a supervisor decided: its rationale is the supervisor's to correct, not the caseworker's
    other = register(amina, concerns=["sexual_abuse"])
    waiting = amina("mandatory-report", other, *NOT_REPORTED, "--json").json()["record_id"]
    assert sup("approve", other, "mandatory-report").code == 0
    refused = amina("correct", other, waiting, "--set", "rationale=another reason", "--reason", "x")
    assert refused.code == 4 and "correction-changes-decided" in amina("correct", other, waiting, "--set",
                                                                        "rationale=another reason", "--reason", "x",
                                                                        "--json").stdout + refused.stderr
    assert sup("correct", other, waiting, "--set", "rationale=another reason", "--reason", "x").code == 0
    # approved, the case file says the decision needed a supervisor's (its approval follows), not that it still waits
    filed = amina("render", "case-file", other)
    assert "a supervisor's decision needed" in filed.stdout and "waits for a supervisor's decision" not in filed.stdout

    # an authority not on the policy's list is shown by the name given, not as 'other'
    third = register(amina, concerns=["sexual_abuse"])
    assert amina("mandatory-report", third, "--concern", "sexual_abuse", "--decision", "reported", "--to", "other",
                 "--to-other", "the area chief", "--reported-on", "2026-11-23", "--rationale", "x", "--law-explained",
                 "yes").code == 0
    row = next(line for line in amina("show", third).stdout.splitlines() if "sexual_abuse" in line and "reported" in line)
    assert "the area chief" in row.split("\t"), row


@pytest.mark.parametrize("args, fields", [
    (("--concern", "sexual_abuse", "--decision", "reported", "--to", "police", "--reported-on", "2026-11-23",
      "--law-explained", "yes"), ["rationale"]),
    (("--concern", "sexual_abuse", "--decision", "not_reported", "--rationale", "x", "--law-explained", "yes"), ["basis"]),
    (("--concern", "sexual_abuse", "--decision", "reported", "--rationale", "x", "--law-explained", "yes"), ["to", "reported_on"]),
    (("--concern", "sexual_abuse", "--decision", "reported", "--to", "chief", "--reported-on", "2026-11-23", "--rationale", "x",
      "--law-explained", "yes"), ["to"]),
    (("--concern", "other", "--decision", "reported", "--to", "other", "--reported-on", "2026-11-23", "--rationale", "x",
      "--law-explained", "yes"), ["concern_other", "to_other"]),
    (("--concern", "sexual_abuse", "--decision", "not_reported", "--basis", "safety", "--to", "police", "--rationale", "x",
      "--law-explained", "yes"), ["to"]),
    (("--concern", "sexual_abuse", "--decision", "maybe", "--rationale", "x", "--law-explained", "yes"), ["decision"]),
    (("--decision", "reported", "--to", "police", "--reported-on", "2026-11-23", "--rationale", "x"), ["concerns", "law_explained"]),
    # reported a month from now (NOW is 2026-11-23): a slip of the month, never a report made
    (("--concern", "sexual_abuse", "--decision", "reported", "--to", "police", "--reported-on", "2026-12-23", "--rationale", "x",
      "--law-explained", "yes"), ["reported_on"]),
])
def test_bad_input__names_each_field_and_changes_nothing(agency, cli_as, args, fields):
    amina = cli_as("amina")
    case_id = register(amina, concerns=["sexual_abuse"])
    before = commit_count(agency)
    result = amina("mandatory-report", case_id, *args, "--no-input", "--json")
    assert result.code == 4, (result.code, result.stderr)
    named = [e["field"] for e in json.loads(result.stderr)["errors"]] if result.stderr.lstrip().startswith("{") else None
    for field in fields:
        assert f"({field}):" in result.stderr or (named is not None and field in named), result.stderr  # by its option
    assert commit_count(agency) == before
    assert reports(amina, case_id) == []


def test_rejected_decision_is_owed_again_where_the_policy_lists_no_concern(repo, cli_as):
    """The profile as shipped lists no reportable concern (mandatory_report.concerns: []): a
    caseworker's decision not to report, rejected by a supervisor, is still owed again on the
    caseworker's list (the rejection starts the clock), as the rejection's next step says."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["sexual_abuse"])
    assert ("mandatory-report", "amina") not in items(amina, case_id)  # no concern is reportable in this profile
    assert amina("mandatory-report", case_id, *NOT_REPORTED).code == 0
    rejected = sup("reject", case_id, "mandatory-report", "--note", "report it: the police can act safely")
    assert rejected.code == 0, rejected.stderr
    assert "on their cpcm due" in rejected.stdout + rejected.stderr
    assert ("mandatory-report", "amina") in items(amina, case_id)
    again = [i for i in amina("due", "--json").json() if i["case_id"] == case_id and i["code"] == "mandatory-report"]
    assert len(again) == 1 and "rejected by sup" in again[0]["why"], again
    assert amina("mandatory-report", case_id, *REPORTED).code == 0  # decided again: nothing owed
    assert ("mandatory-report", "amina") not in items(amina, case_id)


def test_bad_input__an_open_stage_only_and_a_case_that_exists(agency, cli_as):
    amina = cli_as("amina")
    assert amina("mandatory-report", "CP-0000-0000", *REPORTED).code == 3


def test_canary__the_rationale_never_reaches_a_file_name_a_commit_an_error_or_the_disk(agency, cli_as, tmp_env):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["sexual_abuse"])
    stderr = []
    for who, args in ((amina, ("--concern", "sexual_abuse", "--decision", "not_reported", "--basis", "best_interests",
                               "--rationale", f"{CANARY} would be harmed", "--law-explained", "yes")),
                      (amina, ("--concern", "other", "--concern-other", CANARY, "--decision", "reported", "--to", "other",
                               "--to-other", f"{CANARY} chief", "--reported-on", "2026-11-23", "--reference", CANARY,
                               "--rationale", CANARY, "--law-explained", "yes")),
                      # refused: the marker in a field that is checked, and in one that is not
                      (amina, ("--concern", "sexual_abuse", "--decision", "reported", "--to", CANARY, "--rationale", CANARY,
                               "--law-explained", "yes", "--no-input"))):
        result = who("mandatory-report", case_id, *args)
        stderr.append(result.stderr)
    assert sup("reject", case_id, "mandatory-report", "--note", "report it").code == 4  # decided again since: nothing waits
    for command in (("show", case_id), ("log", case_id), ("due",), ("check", case_id)):
        stderr.append(amina(*command).stderr)
    assert not any(leaks(text.encode()) for text in stderr), stderr
    assert files_with_marker(agency) == []
    assert files_with_marker(tmp_env / "tmp") == []
    assert not leaks(git_objects(agency)) and not leaks(git_log_patch(agency))
    assert not leaks("\n".join(str(p) for p in agency.rglob("*")).encode())  # no file name
    messages = [m.strip() for m in git(agency, "log", "--format=%B%x00").split("\0") if m.strip()]
    assert [m for m in messages if m.startswith("mandatory-report")] and all(
        TEMPLATES.match(m) for m in messages if m.startswith("mandatory-report"))
    # the marker is in the case: the scans above could have found it
    assert CANARY in json.dumps(amina("show", case_id, "--json").json()) or CANARY in amina("render", "case-file", case_id).stdout


def test_form_blank_and_the_concern_codes_are_the_registrations():
    from cpcm.store import forms

    assert forms.load("mandatory-report").lists["concerns"] == forms.load("registration").lists["concerns"]


def test_owed__pure(agency):
    """workflow/mandatory_report.owed: from the registration, met by a decision after it, owed again
    after a rejection, not owed on a closed case."""
    from cpcm.domain.case import Case
    from cpcm.store import policies
    from cpcm.workflow import mandatory_report as rules

    policy = policies.load("inter-agency", agency)
    case = Case(id="CP-0000-0000", registered_at="2026-11-23T06:00:00+00:00", concerns=("neglect", "sexual_abuse"))
    assert rules.owed(case, policy, {}) == ("2026-11-23T06:00:00+00:00", ["sexual_abuse"], None)
    assert rules.owed(Case(id=case.id, registered_at=case.registered_at, concerns=("neglect",)), policy, {}) is None
    decided = {"record_id": "R1", "at": "2026-11-23T07:00:00+00:00", "by": "amina", "decision": "not_reported",
               "needs_approval": True, "decided_at": None, "decided_by": None, "approved": None}
    waiting = Case(id=case.id, registered_at=case.registered_at, concerns=case.concerns, mandatory_report=decided)
    assert rules.owed(waiting, policy, {}) is None and rules.waiting(decided)
    rejected = rules.decided(decided, "R1", "2026-11-24T06:00:00+00:00", "sup", False)
    assert rules.decided(decided, "R0", "2026-11-24T06:00:00+00:00", "sup", False) is decided  # of another record
    assert rules.owed(Case(id=case.id, registered_at=case.registered_at, concerns=case.concerns, mandatory_report=rejected),
                      policy, {})[0] == "2026-11-24T06:00:00+00:00"
    closed = Case(id=case.id, status="closed", stage="closed", registered_at=case.registered_at, concerns=case.concerns)
    assert rules.owed(closed, policy, {}) is None
    assert datetime.fromisoformat(NOW).astimezone(timezone.utc).isoformat() == "2026-11-23T06:00:00+00:00"


NEXT_DAY = "2026-11-24T10:00:00+03:00"  # the day after the registration (NOW): the concern is told then
ADDED = "2026-11-25T10:00+03:00"  # the policy's 24 hours after that update
TRAFFICKING_NOT_REPORTED = ("--concern", "trafficking", "--decision", "not_reported", "--basis", "safety",
                            "--rationale", "reporting now would expose the child to the recruiter", "--law-explained", "yes")
TRAFFICKING_REPORTED = ("--concern", "trafficking", "--decision", "reported", "--to", "police", "--reported-on", "2026-11-24",
                        "--rationale", "the police can act safely now", "--law-explained", "yes")


def owed_items(cli, case_id: str, *args: str) -> list[dict]:
    listed = cli("due", "--json", "--within", "60", *args)
    assert listed.code == 0, listed.stderr
    return [i for i in listed.json() if i["case_id"] == case_id and i["code"].startswith("mandatory-report")]


def problems(cli, case_id: str) -> list[str]:
    """The codes `cpcm check CASE` reports."""
    checked = cli("check", case_id, "--json")
    assert checked.code in (0, 1), checked.stderr
    return [p["code"] for p in checked.json()]


def test_walk__a_concern_added_by_an_update_is_owed_from_the_update_through_a_rejection_to_a_report(agency, cli_as):
    """The agency lists trafficking; a child registered without it; the next day an update adds it:
    the decision is due 24 hours after the update, not overdue at once. A caseworker's decision not
    to report goes to the supervisor, who rejects it; the caseworker reports; nothing is owed."""
    amina, sup = cli_as("amina", CPCM_NOW=NEXT_DAY), cli_as("sup", CPCM_NOW=NEXT_DAY)
    case_id = register(cli_as("amina"), concerns=["neglect"])
    assert owed_items(amina, case_id, "--worker", "all") == []

    updated = amina("update", case_id, "--concern", "neglect", "--concern", "trafficking",
                    "--reason", "the child told of being moved for work")
    assert updated.code == 0, updated.stderr
    owed = owed_items(amina, case_id)
    assert [(i["code"], i["owner"], i["due"]) for i in owed] == [("mandatory-report", "amina", ADDED)], owed
    assert "trafficking" in owed[0]["why"]
    assert "mandatory-report-overdue" not in problems(amina, case_id)  # not overdue: the 24 hours run from the update
    late = cli_as("amina", CPCM_NOW="2026-11-25T11:00:00+03:00")("check", case_id, "--json")
    assert late.code == 1 and "mandatory-report-overdue" in [p["code"] for p in late.json()], late.stdout

    # a caseworker's decision not to report: on the supervisor's due, no longer on hers
    written = amina("mandatory-report", case_id, *TRAFFICKING_NOT_REPORTED, "--json")
    assert written.code == 0 and written.json()["needs_approval"] is True, written.stderr
    assert [(i["code"], i["owner"]) for i in owed_items(sup, case_id)] == [("mandatory-report-approval", "supervisors")]
    assert owed_items(amina, case_id) == []

    # rejected: back on the worker's due, naming the rejection, within 24 hours of it
    rejected = sup("reject", case_id, "mandatory-report", "--note", "report it: the police can act safely")
    assert rejected.code == 0, rejected.stderr
    assert owed_items(sup, case_id) == []
    again = owed_items(amina, case_id)
    assert [(i["code"], i["owner"], i["due"]) for i in again] == [("mandatory-report", "amina", ADDED)], again
    assert "rejected by sup" in again[0]["why"]

    # reported: nothing is owed, by anyone, and check is clean days later
    assert amina("mandatory-report", case_id, *TRAFFICKING_REPORTED).code == 0
    assert owed_items(sup, case_id, "--worker", "all") == []
    assert "mandatory-report-overdue" not in problems(cli_as("amina", CPCM_NOW="2026-11-28T09:00:00+03:00"), case_id)


def test_a_concern_removed_by_an_update_before_a_decision_is_no_longer_owed_and_added_again_is_owed_from_then(agency, cli_as):
    amina = cli_as("amina")
    case_id = register(amina, concerns=["neglect", "trafficking"])
    assert [i["due"] for i in owed_items(amina, case_id)] == ["2026-11-24T09:00+03:00"]
    removed = cli_as("amina", CPCM_NOW=NEXT_DAY)("update", case_id, "--concern", "neglect", "--reason", "recorded in error")
    assert removed.code == 0, removed.stderr
    assert owed_items(cli_as("amina", CPCM_NOW=NEXT_DAY), case_id, "--worker", "all") == []
    assert "mandatory-report-overdue" not in problems(cli_as("amina", CPCM_NOW=LATER), case_id)
    back = cli_as("amina", CPCM_NOW=LATER)("update", case_id, "--concern", "neglect", "--concern", "trafficking",
                                          "--reason", "the child told of it again")
    assert back.code == 0, back.stderr
    assert [i["due"] for i in owed_items(cli_as("amina", CPCM_NOW=LATER), case_id)] == ["2026-11-26T09:00+03:00"]


def test_a_decision_before_a_concern_was_added_does_not_meet_the_new_concern(agency, cli_as):
    """A decision on the registration's concern is recorded; an update adds another reportable one:
    a decision on it is owed from the update."""
    amina = cli_as("amina")
    case_id = register(amina, concerns=["sexual_abuse"])
    assert amina("mandatory-report", case_id, *REPORTED).code == 0
    assert owed_items(amina, case_id) == []
    later = cli_as("amina", CPCM_NOW=NEXT_DAY)
    assert later("update", case_id, "--concern", "sexual_abuse", "--concern", "trafficking", "--reason", "told later").code == 0
    owed = owed_items(later, case_id)
    assert [(i["code"], i["due"]) for i in owed] == [("mandatory-report", ADDED)], owed
    assert "trafficking" in owed[0]["why"] and "sexual_abuse" not in owed[0]["why"]


def test_a_correction_of_the_registration_that_adds_a_concern_is_owed_from_the_registration(agency, cli_as):
    """A correction stands in the registration's place, as if right from the start: the concern was
    known then, and the decision is owed from the registration (overdue, two days on)."""
    amina = cli_as("amina", CPCM_NOW=LATER)
    case_id = register(cli_as("amina"), concerns=["neglect"])
    path = agency.parent / "fix.yaml"
    path.write_text("concerns: [neglect, trafficking]\n")
    fixed = amina("correct", case_id, "registration", "--from-file", str(path), "--reason", "mistyped")
    path.unlink()
    assert fixed.code == 0, fixed.stderr
    assert [i["due"] for i in owed_items(amina, case_id)] == ["2026-11-24T09:00+03:00"]
    assert "mandatory-report-overdue" in [p["code"] for p in amina("check", case_id, "--json").json()]


def test_owed__pure_from_when_each_concern_was_recorded(agency):
    """workflow/mandatory_report.owed reads when each concern was recorded (`Case.concerns_since`,
    the fold's): from the update that added it, or the reopening, whichever is later."""
    from cpcm.domain.case import Case
    from cpcm.store import policies
    from cpcm.workflow import mandatory_report as rules

    policy = policies.load("inter-agency", agency)
    registered, updated = "2026-11-23T06:00:00+00:00", "2026-11-24T07:00:00+00:00"
    case = Case(id="CP-0000-0000", registered_at=registered, concerns=("neglect", "trafficking", "sexual_abuse"),
                concerns_since={"neglect": registered, "sexual_abuse": registered, "trafficking": updated})
    assert rules.owed(case, policy, {}) == (registered, ["sexual_abuse", "trafficking"], None)
    report = {"record_id": "R1", "at": "2026-11-23T08:00:00+00:00", "by": "amina", "decision": "reported",
              "needs_approval": False, "decided_at": None, "decided_by": None, "approved": None}
    decided = Case(id=case.id, registered_at=registered, concerns=case.concerns, concerns_since=case.concerns_since,
                   mandatory_report=report)
    assert rules.owed(decided, policy, {}) == (updated, ["trafficking"], None)
    reopened = Case(id=case.id, registered_at=registered, concerns=case.concerns, concerns_since=case.concerns_since,
                    mandatory_report=report, events={"reopen": ("2026-11-30T06:00:00+00:00",)})
    assert rules.owed(reopened, policy, {}) == ("2026-11-30T06:00:00+00:00", ["sexual_abuse", "trafficking"], None)


def test_fold_keeps_when_each_concern_was_first_recorded(agency, cli_as):
    from conftest import library_session
    from cpcm.service.context import load_case

    amina = cli_as("amina")
    case_id = register(amina, concerns=["neglect"])
    later = cli_as("amina", CPCM_NOW=NEXT_DAY)
    assert later("update", case_id, "--concern", "neglect", "--concern", "trafficking", "--reason", "told later").code == 0
    assert cli_as("amina", CPCM_NOW=LATER)("update", case_id, "--concern", "neglect", "--concern", "trafficking",
                                           "--concern", "child_labour", "--reason", "more").code == 0
    case = load_case(library_session(amina), case_id)
    assert dict(case.concerns_since) == {"neglect": "2026-11-23T06:00:00+00:00", "trafficking": "2026-11-24T07:00:00+00:00",
                                         "child_labour": "2026-11-25T06:00:00+00:00"}


def test_caseload_report_names_a_waiting_decision_in_words_in_every_format(agency, cli_as):
    """`cpcm report caseload`'s approvals table says "decision not to report", as it says plan,
    closure and transfer, on the terminal and in Markdown, CSV, HTML and --json's tables; --json's
    `approvals[].subject` stays the code `cpcm approve` takes, with its words beside it."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["sexual_abuse"])
    assert amina("mandatory-report", case_id, *NOT_REPORTED).code == 0
    for fmt in ((), ("--format", "md"), ("--format", "csv"), ("--format", "html")):
        made = sup("report", "caseload", *fmt)
        assert made.code == 0, made.stderr
        assert "decision not to report" in made.stdout and "mandatory_report" not in made.stdout, (fmt, made.stdout)
    view = sup("report", "caseload", "--json").json()
    assert {a["subject"]: (a["words"], a["waiting"]) for a in view["approvals"]} == {
        "plan": ("plan", 0), "closure": ("closure", 0), "transfer": ("transfer", 0),
        "mandatory_report": ("decision not to report", 1)}
    table = next(t for t in view["tables"] if t["id"] == "approvals")
    assert [r[0] for r in table["rows"]] == ["plan", "closure", "transfer", "decision not to report"]


def test_a_decision_not_to_report_replaced_before_a_supervisor_decided_it_waits_no_more(agency, cli_as):
    """amina decides not to report, then (the family's situation known better) reports it before
    a supervisor decided the first: show says the first waits for nobody, naming the report, and
    no approval is on anyone's due list."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["sexual_abuse"])
    first = amina("mandatory-report", case_id, *NOT_REPORTED, "--json")
    assert first.code == 0 and first.json()["needs_approval"] is True, first.stderr
    assert reports(sup, case_id)[0]["supervisor"] == {"decision": "waiting"}
    report = amina("mandatory-report", case_id, *REPORTED, "--json")
    assert report.code == 0, report.stderr
    shown = reports(sup, case_id)
    assert shown[0]["supervisor"] == {"decision": "replaced", "by_decision": report.json()["record_id"]}
    assert shown[1]["supervisor"] is None
    assert not [c for c, _ in items(sup, case_id, "--worker", "all") if c.startswith("mandatory-report")]
    printed = sup("show", case_id).stdout
    assert f"not needed: replaced by a later decision ({report.json()['record_id']})" in printed, printed
    assert "waiting for a supervisor's decision" not in printed, printed


def test_approve_with_no_decision_waiting_says_so_in_words(agency, cli_as):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["sexual_abuse"])
    none = sup("approve", case_id, "mandatory-report")
    assert none.code == 4 and f"{case_id} has no decision not to report waiting for a decision" in none.stderr, none.stderr
    assert "mandatory_report" not in none.stderr
    refused = amina("approve", case_id, "mandatory-report")
    assert refused.code == 4 and "only a supervisor or manager can approve a decision not to report" in refused.stderr


def test_a_supervisor_who_corrects_a_caseworkers_decision_not_to_report_still_decides_it_and_she_stays_its_author(agency, cli_as):
    """amina decides not to report; sup, the one supervisor, corrects its rationale while it waits.
    The decision is still amina's (the one who recorded it may not decide it): show names her, the
    due list says she asked for it, and sup approves it. A correction of an approved decision keeps
    its author too."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina, concerns=["sexual_abuse"])
    record_id = amina("mandatory-report", case_id, *NOT_REPORTED, "--json").json()["record_id"]
    fixed = sup("correct", case_id, record_id, "--set", "rationale=the uncle would retaliate", "--reason", "fuller wording")
    assert fixed.code == 0, fixed.stderr
    assert [(m["by"], m["supervisor"]) for m in reports(sup, case_id)] == [("amina", {"decision": "waiting"})]
    waiting = [i for i in sup("due", "--json", "--worker", "all").json() if i["case_id"] == case_id
               and i["code"] == "mandatory-report-approval"]
    assert len(waiting) == 1 and "asked for by amina" in waiting[0]["why"] and "nobody" not in waiting[0]["why"], waiting
    refused = amina("approve", case_id, "mandatory-report")
    assert refused.code == 4 and "only a supervisor or manager" in refused.stderr
    approved = sup("approve", case_id, "mandatory-report", "--note", "agreed")
    assert approved.code == 0, approved.stderr
    shown = reports(sup, case_id)
    assert [(m["by"], m["supervisor"]["decision"], m["supervisor"]["by"]) for m in shown] == [("amina", "approved", "sup")]

    # corrected again once approved (by the supervisor who may decide it): still amina's decision
    again = sup("correct", case_id, shown[0]["record_id"], "--set", "basis=best_interests", "--reason", "basis mistyped")
    assert again.code == 0, again.stderr
    assert [(m["by"], m["basis"], m["supervisor"]["decision"]) for m in reports(sup, case_id)] == [
        ("amina", "best_interests", "approved")]
    row = next(line for line in sup("show", case_id).stdout.splitlines() if "not_reported" in line)
    assert row.split("\t")[1] == "amina", row
