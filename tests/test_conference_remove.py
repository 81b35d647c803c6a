"""Taking a case off a conference's list before it is closed (`cpcm conference add-case CONF CASE
--remove --reason T`): a case nominated by mistake, one whose concern was resolved before the
meeting, or one moved to a later conference to keep within `conference.max_cases`. A
`nomination_removed` record, one commit `conference remove-case CC-… CP-…` (IDs only); the agenda,
the minutes, the close and the report leave the case out, its worker stops reading the
conference where they read it through that case only, and the case can be nominated again. A
caseworker's nomination still waiting is withdrawn by that caseworker."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, commit_count, git
from cpcm import service
from cpcm.errors import CannotDecrypt, InvalidInput, Refused
from cpcm.service import conferences
from cpcm.store.casestore import CONFERENCES
from cpcm.workflow.deadlines import soon_window
from memory_repo import MemoryRepo
from test_conference import (CLOSE_NOW, LATER, MEMBERS, conference_in, in_one_commit, last_message, member, minutes_doc,
                             new_conference, one_commit, planned_case, planned_in)
from test_team import can_decrypt


def due_codes(ctx, code: str) -> list[dict]:
    soon = soon_window(ctx.policy, ctx.now)
    return [i.to_json(ctx.now, soon) for i in service.due(ctx, within_days=120) if i.code == code]


# -- through the CLI ----------------------------------------------------------------------------------
def test_cli__a_case_taken_off_the_list_is_left_out_of_the_agenda_minutes_close_and_report_and_its_worker_reads_no_more(
        cli, cli_as, repo, team):
    first, second = planned_case(cli, "First Child"), planned_case(cli, "Second Child")
    otieno = cli_as("otieno")
    third = planned_case(otieno, CANARY)  # otieno's only case of the conference
    sup = cli_as("sup")
    conf = new_conference(sup)
    for case_id in (first, second, third):
        assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult",
                   "--presentation", f"Presentation of {case_id}.").code == 0
    assert "otieno" in (repo / "conferences" / conf / "recipients").read_text()
    assert otieno("conference", "show", conf).code == 0
    taken = one_commit(repo, lambda: sup("conference", "add-case", conf, third, "--remove", "--reason",
                                         "concern resolved before the meeting: family reunified last week", "--json"))
    out = taken.json()
    assert out["kind"] == "nomination_removed" and out["case_id"] == third and out["cases"] == 2
    assert out["no_longer_read_by"] == ["otieno"]
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference remove-case {conf} {third}"
    assert "resolved" not in git(repo, "log", "--format=%B") and "Zqxcanary" not in git(repo, "log", "--format=%B")
    # its worker no longer reads the conference, nor a record written after
    assert "otieno" not in (repo / "conferences" / conf / "recipients").read_text()
    assert otieno("conference", "show", conf).code == 5
    shown = sup("conference", "show", conf, "--json").json()
    assert [c["case_id"] for c in shown["cases"]] == [first, second]
    assert [(r["case_id"], r["by"], r["waiting"]) for r in shown["removed"]] == [(third, "sup", False)]
    assert "nomination_removed" in [h["kind"] for h in shown["history"]]  # the nomination stays in the history
    assert "nomination" in [h["kind"] for h in shown["history"]]
    verified = sup("verify")  # the records re-encrypted by that commit are accounted for
    assert verified.code == 0, verified.stdout + verified.stderr
    text = sup("conference", "show", conf).stdout
    assert f"taken off the list\t{third} (by sup on " in text
    agenda = sup("render", "agenda", conf)
    assert agenda.code == 0 and first in agenda.stdout and second in agenda.stdout and third not in agenda.stdout
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    # a record written after the removal is not encrypted to otieno
    latest = sorted((repo / "conferences" / conf).glob("*.attendance.yaml.age"))[-1]
    assert can_decrypt(latest, team["sup"][0]) and not can_decrypt(latest, team["otieno"][0])
    assert otieno("conference", "show", conf).code == 5
    # minutes naming the removed case are refused, naming the field; without it they are taken, with no warning for it
    refused = closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([first, second, third])))
    assert refused.code == 4 and "cases[3].case" in refused.stderr and "taken off the list" in refused.stderr
    minuted = closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([first, second])))
    assert minuted.code == 0 and third not in minuted.stderr, minuted.stderr
    closed = closer("conference", "close", conf, "--json")
    assert closed.code == 0, closed.stderr
    assert sorted(c["case_id"] for c in closed.json()["cases"]) == sorted([first, second])
    assert cli_as("otieno")("show", third, "--json").json()["plan"]["version"] == 1  # nothing went into its plan
    later = cli_as("sup", CPCM_NOW=LATER)
    for document in ("minutes", "conference-report"):
        rendered = later("render", document, conf)
        assert rendered.code == 0 and first in rendered.stdout and third not in rendered.stdout, document
    # nominated again, to a later conference
    again = new_conference(sup, "--date", "2026-12-20")
    assert sup("conference", "add-case", again, third, "--reason", "unresolved_protection_concern").code == 0
    assert otieno("conference", "show", again).code == 0
    for path in (repo / "conferences" / conf).iterdir():
        assert b"Zqxcanary" not in path.read_bytes() and b"reunified" not in path.read_bytes()


def test_cli__taking_off_a_case_not_on_the_list_or_after_closing_or_with_a_name_in_the_reason_is_refused_and_writes_nothing(
        cli, cli_as, repo):
    named = planned_case(cli, CANARY)
    other = planned_case(cli, "Other Child")
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, named, "--reason", "especially_difficult").code == 0
    before = commit_count(repo)
    # not on the list
    refused = sup("conference", "add-case", conf, other, "--remove", "--reason", "typed by mistake", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "conference-case-not-nominated", refused.stdout
    # a name registered for a case of the conference in the reason: the field named, never the name
    for words in (CANARY, "Zqxcanary moved away with the family"):
        refused = sup("conference", "add-case", conf, named, "--remove", "--reason", words)
        assert refused.code == 4 and "reason" in refused.stderr and named in refused.stderr, refused.stderr
        assert "zqxcanary" not in (refused.stderr + refused.stdout).lower()
    # without a reason
    refused = sup("conference", "add-case", conf, named, "--remove")
    assert refused.code == 4 and "reason" in refused.stderr
    # --remove with a presentation: a usage error
    assert sup("conference", "add-case", conf, named, "--remove", "--reason", "x", "--presentation", "y").code == 2
    assert commit_count(repo) == before
    assert sup("conference", "show", conf, "--json").json()["cases"][0]["case_id"] == named
    # after closing
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    assert closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([named]))).code == 0
    assert closer("conference", "close", conf).code == 0
    before = commit_count(repo)
    refused = closer("conference", "add-case", conf, named, "--remove", "--reason", "moved", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "conference-closed"
    assert "add-case CONF" in refused.stderr + refused.stdout  # what to do instead: a later conference
    assert commit_count(repo) == before
    assert "Zqxcanary" not in git(repo, "log", "--format=%B")


# -- at the service level ----------------------------------------------------------------------------
def test_remove_case__the_plan_approved_waits_again_the_readers_change_and_the_case_can_be_nominated_again():
    mem = MemoryRepo(profile="kenya")
    sup = mem.as_("sup")
    kept, moved = planned_in(mem, "Kept Child"), planned_in(mem, "Moved Child", worker="otieno")
    conf = conference_in(sup, when="2026-12-20")
    conferences.add_case(sup, conf, kept, "especially_difficult")
    conferences.add_case(sup, conf, moved, "especially_difficult")
    conferences.decide_plan(sup, conf, True)
    assert conferences.show(sup, conf)[1]["plan_approval"]["state"] == "approved"
    otieno = mem.as_("otieno")
    assert conferences.load(otieno, conf).case_ids == [kept, moved]
    written = in_one_commit(mem, lambda: conferences.remove_case(sup, conf, moved, "moved to the next conference: past the limit"))
    assert last_message(mem) == f"conference remove-case {conf} {moved}"
    assert any("approv" in step for step in written.next_steps)
    assert conferences.show(sup, conf)[1]["plan_approval"]["state"] == "changed"
    assert "otieno" not in mem.store.recipients(conf, CONFERENCES)
    with pytest.raises(CannotDecrypt):
        conferences.load(otieno, conf)
    assert conferences.load(sup, conf).case_ids == [kept]
    # nominated again to the same conference: back on the list, its worker a reader again
    conferences.add_case(sup, conf, moved, "unresolved_protection_concern")
    assert conferences.load(sup, conf).case_ids == [kept, moved]
    assert conferences.load(otieno, conf).case_ids == [kept, moved]
    assert [r["case_id"] for r in conferences.load(sup, conf).removed] == [moved]


def test_remove_case__refused_while_the_minutes_discuss_it_and_by_a_worker_who_may_not():
    mem = MemoryRepo(profile="kenya")
    sup = mem.as_("sup")
    mine, theirs = planned_in(mem, "First Child"), planned_in(mem, "Second Child", worker="otieno")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, mine, "especially_difficult")
    conferences.add_case(sup, conf, theirs, "especially_difficult")
    before = mem.commits()
    with pytest.raises(Refused) as refused:  # otieno reads the conference (their case), but amina's case is not theirs
        conferences.remove_case(mem.as_("otieno"), conf, mine, "not needed")
    assert refused.value.rule == "conference-not-chair"
    with pytest.raises(InvalidInput) as refused:
        conferences.remove_case(sup, conf, mine, "  ")
    assert [e.field for e in refused.value.errors] == ["reason"]
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    conferences.minutes(closer, conf, minutes_doc([mine, theirs]))
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        conferences.remove_case(closer, conf, theirs, "resolved")
    assert refused.value.rule == "conference-case-in-minutes" and mem.commits() == before
    conferences.minutes(closer, conf, minutes_doc([mine]))
    conferences.remove_case(closer, conf, theirs, "resolved")  # the case's worker: no actions expected from it at close
    closed = conferences.close(closer, conf)
    assert [c["case_id"] for c in closed.extra["cases"]] == [mine]


def test_remove_case__a_caseworker_withdraws_their_waiting_nomination_and_the_chairs_item_goes():
    mem = MemoryRepo(profile="kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = planned_in(mem)
    conf = conference_in(sup, when="2026-12-20")
    readers = mem.store.recipients(conf, CONFERENCES)
    proposed = conferences.add_case(amina, conf, case_id, "especially_difficult", "Service options tried.")
    assert [i["case_id"] for i in due_codes(sup, "conference-nomination")] == [conf]
    # another caseworker cannot withdraw it (not their case: exit 5)
    with pytest.raises(CannotDecrypt):
        conferences.remove_case(mem.as_("otieno"), conf, case_id, "not needed")
    written = in_one_commit(mem, lambda: conferences.remove_case(amina, conf, case_id, "the family moved out of the county"))
    assert written.extra["waiting"] and last_message(mem) == f"conference remove-case {conf} {case_id}"
    assert mem.store.recipients(conf, CONFERENCES) == readers  # nothing re-encrypted, no reader gained
    found = conferences.load(sup, conf)
    assert not found.proposals and not found.case_ids
    assert [(r["case_id"], r["nomination"], r["waiting"], r["by"]) for r in found.removed] == \
        [(case_id, proposed.record_id, True, "amina")]
    assert not due_codes(sup, "conference-nomination")
    # withdrawn once: again is refused, nothing written
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        conferences.remove_case(amina, conf, case_id, "again")
    assert refused.value.rule == "conference-case-not-nominated" and mem.commits() == before
    # and it can be nominated again
    again = conferences.add_case(amina, conf, case_id, "especially_difficult")
    assert again.extra["proposed"]
    assert [p["case_id"] for p in conferences.load(sup, conf).proposals] == [case_id]


def test_remove_case__a_removal_written_apart_while_the_other_copy_closed_with_the_case_does_not_stand():
    from cpcm.domain.records import Record
    from cpcm.workflow import conferences as rules

    def record(record_id, kind, body):
        return Record(kind=kind, schema=1, id=record_id, case="CC-TEST-0001", at="2026-11-30T10:00:00+00:00",
                      recorded_at="2026-11-30T10:00:00+00:00", by="sup", body=body)

    records = [record("01A", "conference", {"type": "internal", "date": "2026-11-30", "chair": "sup"}),
               record("01B", "nomination", {"case_id": "CP-AAAA-0001", "reason": "especially_difficult"}),
               record("01C", "nomination", {"case_id": "CP-AAAA-0002", "reason": "especially_difficult"}),
               record("01D", rules.REMOVED, {"case_id": "CP-AAAA-0002", "nomination": "01B", "reason": "x"})]
    # a removal naming a nomination that is not the case's: nothing
    assert rules.fold("CC-TEST-0001", records).case_ids == ["CP-AAAA-0001", "CP-AAAA-0002"]
    records[-1] = record("01D", rules.REMOVED, {"case_id": "CP-AAAA-0002", "nomination": "01C", "reason": "x"})
    assert rules.fold("CC-TEST-0001", records).case_ids == ["CP-AAAA-0001"]
    closed = [*records, record("01E", "conference_close", {"cases": [{"case_id": "CP-AAAA-0001"}, {"case_id": "CP-AAAA-0002"}]})]
    folded = rules.fold("CC-TEST-0001", closed)
    assert sorted(folded.case_ids) == ["CP-AAAA-0001", "CP-AAAA-0002"] and not folded.removed


def test_cli__kenya_a_caseworker_withdraws_her_waiting_nomination_and_it_leaves_the_chairs_due(kenya):
    amina, sup = kenya("amina"), kenya("sup")
    repo = kenya.root
    case_id = planned_case(amina, CANARY)
    conf = new_conference(sup)
    assert amina("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    due = sup("due", "--within", "60", "--json")
    assert [i["case_id"] for i in due.json() if i["code"] == "conference-nomination"] == [conf], due.stdout
    withdrawn = one_commit(repo, lambda: amina("conference", "add-case", conf, case_id, "--remove", "--reason",
                                               "the family moved out of the county"))
    assert "withdrawn" in withdrawn.stdout + withdrawn.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference remove-case {conf} {case_id}"
    assert "amina" not in (repo / "conferences" / conf / "recipients").read_text()
    due = sup("due", "--within", "60", "--json")
    assert due.code == 0 and not [i for i in due.json() if i["code"] == "conference-nomination"], due.stdout
    assert "withdrawn before it was taken in" in sup("conference", "show", conf).stdout
    verified = sup("verify")
    assert verified.code == 0, verified.stdout + verified.stderr
    # nominated again: waiting again
    assert amina("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    assert [p["case_id"] for p in sup("conference", "show", conf, "--json").json()["proposals"]] == [case_id]


def test_remove_case__minutes_from_a_copy_apart_that_discuss_a_case_taken_off_are_left_out_at_close_with_a_warning():
    """One copy took a case off the list while the other recorded minutes still discussing it (each
    allowed there); a sync brought both together. Closing leaves the case out, as it did (no plan
    version, no link record), and now says so: which case, that it was taken off the list, and
    what to do with what the minutes hold for it."""
    from cpcm.service import context

    mem = MemoryRepo(profile="kenya")
    sup = mem.as_("sup")
    kept, moved = planned_in(mem, "Kept Child"), planned_in(mem, "Moved Child", worker="otieno")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, kept, "especially_difficult")
    conferences.add_case(sup, conf, moved, "especially_difficult")
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    # the minutes as the other copy recorded them, before it knew of the removal: both cases, each with actions
    body = conferences._minutes_body(closer, conferences.load(closer, conf), minutes_doc([kept, moved]))
    removal = conferences.remove_case(closer, conf, moved, "resolved before the meeting").record_id
    after_removal = conferences.load(closer, conf)
    record = conferences._record(closer, "minutes", conf, body, after=conferences._last_id(after_removal))
    conferences._write(closer, after_removal, "minutes", record, f"conference minutes {conf} {record.id}")
    plan_before = service.show(closer, moved)["plan"]
    closed = conferences.close(closer, conf)
    assert [c["case_id"] for c in closed.extra["cases"]] == [kept]  # the behaviour is kept: the case is left out
    assert service.show(closer, moved)["plan"] == plan_before
    assert not [r for r in context.load_records(closer, moved) if r.kind == "conference"]
    said = [w for w in closed.warnings if w.startswith(f"{moved}:")]
    assert len(said) == 1, closed.warnings
    assert "taken off the list" in said[0] and f"record {removal}" in said[0] and "by sup on 2026-11-30" in said[0]
    assert f"cpcm plan {moved} --from-current --reason conference_decision" in said[0]
    assert f"cpcm conference add-case CONF {moved}" in said[0]
    assert "Moved Child" not in " ".join(closed.warnings)
    assert said[0] in closed.to_json()["warnings"]  # --json carries it as every warning
    assert not [w for w in closed.warnings if "taken off the list" in w and kept in w]
