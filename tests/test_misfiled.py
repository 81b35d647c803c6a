"""A record written in the wrong case (docs/commands/update-correct.md#a-record-in-the-wrong-case):
a note about a brother written in his sister's case, taken out of hers with `cpcm correct CASE
RECORD --misfiled --reason ... [--to OTHER-CASE]`. Nothing is rewritten or deleted; her case, its
transfer bundle and its documents leave the note out; `cpcm show CASE RECORD` still reads it to
her case's readers under a MISFILED line; with --to, his case holds it, for his case's readers."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, commit_count, git_status, last_commit, register
from test_sync import Laptops, check_codes, merge_both
from test_transfer import REASON, consent, decrypt, leaks

COUGH = f"{CANARY} has a cough; grandmother to take him to the clinic."


def _note(cli, case_id: str, text: str = COUGH) -> str:
    done = cli("note", case_id, "--text", text, "--json")
    assert done.code == 0, done.stderr
    return done.json()["record_id"]


def _siblings(amina, otieno_case: bool = False) -> tuple[str, str]:
    """The sister's case (amina's) and the brother's (amina's, or otieno's: amina does not read it)."""
    sister = register(amina)
    brother = register(amina, worker="otieno") if otieno_case else register(amina)
    return sister, brother


def test_misfiled_note__moved_to_the_brothers_case_and_left_out_of_the_sisters_transfer_and_documents(
        sending, receiving, cli_as, tmp_env):
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    sister, brother = _siblings(amina, otieno_case=True)
    note = _note(amina, sister)
    assert leaks(amina("show", sister, note).stdout.encode())  # as written: in her case

    # amina does not read the brother's case: she may not write in it
    before = commit_count(sending.root)
    refused = amina("correct", sister, note, "--misfiled", "--to", brother, "--reason", "about the brother", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "misfiled-move-not-allowed", refused.stdout
    assert brother in refused.json()["message"] and not leaks(refused.stdout.encode() + refused.stderr.encode())
    assert commit_count(sending.root) == before

    # a supervisor, who reads both, moves it: one commit, by sup, naming ids only
    done = sup("correct", sister, note, "--misfiled", "--to", brother, "--reason", "about the brother", "--json")
    assert done.code == 0, done.stderr
    mark, moved = done.json()["record_id"], done.json()["moved_to"]
    assert done.json()["kind"] == "misfiled" and done.json()["supersedes"] == note and moved["case"] == brother
    assert commit_count(sending.root) == before + 1 and git_status(sending.root) == []
    commit = last_commit(sending.root)
    assert commit["author"] == "sup" and commit["subject"] == f"misfiled {sister} {mark} to {brother} {moved['record']}"
    assert not leaks(done.stdout.encode() + done.stderr.encode())

    # her case no longer holds it; asked for by its ID, it is read under the MISFILED line
    for worker in (amina, sup):
        shown = worker("show", sister)
        assert shown.code == 0 and not leaks(shown.stdout.encode()), shown.stdout
        assert not leaks(worker("show", sister, "--json").stdout.encode())
        assert note not in [h["record_id"] for h in worker("show", sister, "--json").json()["history"]]
    original = amina("show", sister, note)
    assert original.code == 0 and leaks(original.stdout.encode())
    assert f"MISFILED by {mark}" in original.stdout and f"moved to {brother} as {moved['record']}" in original.stdout
    assert "reason: about the brother" in original.stdout and "CORRECTED by" not in original.stdout
    as_json = amina("show", sister, note, "--json").json()
    assert as_json["misfiled"]["record_id"] == mark and as_json["misfiled"]["moved_to"] == moved
    logged = {e["record_id"]: e for e in amina("log", sister, "--json").json()}
    assert logged[note]["misfiled_by"] == mark and logged[mark]["kind"] == "misfiled"
    assert f"[MISFILED: written in the wrong case; see {mark}]" in amina("log", sister).stdout
    assert otieno("show", sister, note).code == 5  # not one of her case's readers

    # his case holds it, with its time, for his case's readers
    there = otieno("show", brother, moved["record"], "--json")
    assert there.code == 0 and there.json()["fields"]["text"] == COUGH, there.stdout
    assert there.json()["at"] == as_json["at"] and there.json()["by"] == "sup"
    assert there.json()["fields"]["moved_from"] == {"case": sister, "record": note, "by": "amina"}  # its writer kept
    assert f"written by amina in another case ({sister}, record {note}), moved here by sup on" in otieno(
        "show", brother, moved["record"]).stdout

    # the documents of her case leave it out
    for template in ("case-file", "child-file"):
        rendered = amina("render", template, sister)
        assert rendered.code == 0 and not leaks(rendered.stdout.encode()), (template, rendered.stderr)

    # the receiving agency gets her case without it
    consent(amina, sister)
    assert amina("transfer", sister, *REASON, "--check", "all").code == 0
    assert sup("approve", sister, "transfer").code == 0
    bundle = tmp_env / "sister.transfer.age"
    sent = amina("transfer", sister, *REASON, "--check", "all", "--out", str(bundle), "--json")
    assert sent.code == 0 and sent.json()["kind"] == "transfer", sent.stderr
    container = decrypt(bundle.read_bytes(), receiving.keys["wanjiru"][0])
    assert not leaks(container) and note.encode() not in container and mark.encode() not in container
    got = receiving.as_("wanjiru")("receive", str(bundle), "--json")
    assert got.code == 0, got.stderr
    there_log = receiving.as_("wanjiru")("log", sister, "--json").json()
    assert not {note, mark} & {e["record_id"] for e in there_log}
    assert not leaks(receiving.as_("wanjiru")("render", "case-file", sister).stdout.encode())


def test_misfiled_followup__without_to_leaves_the_case_as_before_it(cli_as):
    amina = cli_as("amina")
    case_id = register(amina)
    before = amina("due", "--json").json()
    visit = amina("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school", "--visited-by", "professional",
                  "--risk-increased", "no", "--set", f"observations={COUGH}", "--json")
    assert visit.code == 0, visit.stderr
    done = amina("correct", case_id, "followup", "--misfiled", "--reason", "the visit was to the neighbour's child", "--json")
    assert done.code == 0 and done.json()["supersedes"] == visit.json()["record_id"], done.stderr
    assert done.json()["moved_to"] is None and any("cpcm note OTHER-CASE" in s for s in done.json()["next_steps"])
    assert amina("due", "--json").json() == before  # its clocks as before the visit
    assert not leaks(amina("show", case_id).stdout.encode())
    assert "not moved by cpcm" in amina("show", case_id, visit.json()["record_id"]).stdout


@pytest.mark.parametrize("args,rule", [
    (["registration"], "misfiled-not-supported"),
    (["assessment"], "misfiled-not-supported"),
    (["approval"], "misfiled-not-supported"),
])
def test_misfiled__a_record_the_case_stands_on_is_refused_with_what_to_do_instead(sending, cli_as, args, rule):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    assert amina("assess", case_id, "--type", "initial", "--risk", "high", "--set", "safe=yes", "--set", "basic_needs.food=yes",
                 "--set", "basic_needs.shelter=yes", "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=no",
                 "--outcome", "proceed").code == 0
    consent(amina, case_id)
    assert amina("transfer", case_id, *REASON, "--check", "all").code == 0
    assert sup("approve", case_id, "transfer").code == 0
    before = commit_count(sending.root)
    refused = sup("correct", case_id, *args, "--misfiled", "--reason", "wrong case", "--json")
    assert refused.code == 4 and refused.json()["rule"] == rule, refused.stdout
    if args == ["registration"]:
        assert "registered_in_error" in refused.json()["hint"]
    assert commit_count(sending.root) == before


def test_misfiled__refusals_write_nothing(cli_as, repo):
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    case_id, other = _siblings(amina)
    hers = _note(amina, case_id)
    sups = _note(sup, case_id, "a call from the school")
    before = commit_count(repo)

    def refused(cli, *args, code=4):
        done = cli("correct", *args, "--json")
        assert done.code == code, (args, done.code, done.stdout, done.stderr)
        assert not leaks(done.stdout.encode() + done.stderr.encode())
        return done.json() if code == 4 else done

    # someone else's note: only its writer or a supervisor marks it
    assert refused(amina, case_id, sups, "--misfiled", "--reason", "not hers")["rule"] == "misfiled-writer-or-supervisor"
    assert refused(otieno, case_id, hers, "--misfiled", "--reason", "x", code=5)  # not a reader of the case
    # the reason is required
    no_reason = refused(amina, case_id, hers, "--misfiled", "--reason", " ")
    assert no_reason["fields"][0]["field"] == "reason"
    # usage: --to alone, the same case, fields with --misfiled
    assert refused(amina, case_id, hers, "--to", other, "--reason", "x", code=2)
    assert refused(amina, case_id, hers, "--misfiled", "--to", case_id, "--reason", "x", code=2)
    assert refused(amina, case_id, hers, "--misfiled", "--set", "text=x", "--reason", "x", code=2)
    assert commit_count(repo) == before

    # marked: not marked again, not corrected; a correction of a note is marked through the correction in force
    corrected = amina("correct", case_id, hers, "--set", "text=Jabari coughs", "--reason", "typo", "--json").json()["record_id"]
    assert refused(amina, case_id, hers, "--misfiled", "--reason", "x")["rule"] == "already-corrected"
    assert amina("correct", case_id, corrected, "--misfiled", "--to", other, "--reason", "about the brother").code == 0
    assert refused(amina, case_id, corrected, "--misfiled", "--reason", "x")["rule"] == "already-misfiled"
    assert refused(amina, case_id, hers, "--misfiled", "--reason", "x")["rule"] == "already-misfiled"
    assert refused(amina, case_id, corrected, "--set", "text=y", "--reason", "x")["rule"] == "already-misfiled"
    # the whole chain is out of her case, and the corrected text went to his
    shown = amina("show", case_id, "--json").json()
    assert not {hers, corrected} & {h["record_id"] for h in shown["history"]}
    moved = [h for h in amina("show", other, "--json").json()["history"] if h["kind"] == "note"]
    assert len(moved) == 1 and amina("show", other, moved[0]["record_id"], "--json").json()["fields"]["text"] == "Jabari coughs"


def test_misfiled_and_corrected_on_two_copies_apart__the_mark_stands_both_are_kept_and_check_says_so(repo, team, tmp_env):
    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    case_id, other = register(amina), register(amina)
    note = _note(amina, case_id)
    laptops.sync("amina")
    laptops.sync("sup")
    sup = laptops.cli("sup")
    mark = amina("correct", case_id, note, "--misfiled", "--to", other, "--reason", "about the brother", "--json").json()
    correction = sup("correct", case_id, note, "--set", "text=Jabari coughs at night", "--reason", "more", "--json")
    assert correction.code == 0, correction.stderr
    merged = merge_both(laptops)
    conflicts = [c for c in merged["conflicts"] if c["case"] == case_id]
    assert [c["code"] for c in conflicts] == ["corrections-concurrent"], merged["conflicts"]
    assert sorted(conflicts[0]["records"]) == sorted([mark["record_id"], correction.json()["record_id"]])
    for cli in (amina, sup):
        logged = {e["record_id"]: e for e in cli("log", case_id, "--json").json()}
        assert {note, mark["record_id"], correction.json()["record_id"]} <= set(logged)  # nothing lost
        history = {h["record_id"] for h in cli("show", case_id, "--json").json()["history"]}
        assert not {note, correction.json()["record_id"]} & history  # the mark stands over the correction
        assert logged[correction.json()["record_id"]]["misfiled_by"] == mark["record_id"]
        assert cli("show", other, mark["moved_to"]["record"]).code == 0
    problem = [p for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "corrections-concurrent"]
    assert problem and f"cpcm show {case_id} {mark['record_id']}" in problem[0]["message"], problem
    assert "corrections-concurrent" in check_codes(sup, case_id)
    assert sup("note", case_id, "--text", "the correction is copied to the brother's case").code == 0
    assert "corrections-concurrent" not in check_codes(sup, case_id)


def test_fold__a_mark_takes_out_the_record_and_every_correction_of_it_whatever_their_order():
    from cpcm.domain.records import Record
    from cpcm.workflow.fold import effective, fold, misfiled, misfiled_out

    at, case_id = "2026-11-23T09:00:00+03:00", "CP-0000-0000"

    def record(n: int, kind: str, **body) -> Record:
        return Record(kind, 1, f"01JD{n:022d}", case_id, at, at, "amina", body)

    registration = record(1, "registration", child={"name": "x"}, risk="high")
    note = record(2, "note", text="about the brother")
    mark = record(3, "misfiled", supersedes=note.id, reason="wrong case", record_kind="note")
    correction = record(4, "note", text="corrected apart", supersedes=note.id, correction_reason="typo")  # later than the mark
    other = record(5, "note", text="hers")
    records = [registration, note, mark, correction, other]
    assert misfiled(records) == {note.id: mark.id, correction.id: mark.id}
    assert misfiled_out(records) == {note.id, correction.id, mark.id}
    assert [r.id for r in effective(records)] == [registration.id, mark.id, other.id]
    assert [e.id for e in fold(case_id, records).history] == [registration.id, mark.id, other.id]
    assert fold(case_id, records).anomalies == ()  # a mark is allowed at every stage
    # without a mark, the later correction stands, as before
    assert [r.id for r in effective([registration, note, correction, other])] == [registration.id, correction.id, other.id]
    assert misfiled([registration, note, correction]) == {} and misfiled_out([registration, note]) == set()


def test_fold__a_record_moved_in_from_another_case_settles_none_of_its_conflicts():
    """A note or follow-up moved in with --to keeps its original's `at` and was written by someone who never saw
    this case's sync conflicts: it settles none (a note written here lists what it settles; an old note, without
    that list, settles every open conflict before it, as it did)."""
    from cpcm.domain.records import Record
    from cpcm.workflow.fold import MOVED_FROM, fold, settled_by

    at, later, case_id = "2026-11-23T09:00:00+03:00", "2026-11-24T09:00:00+03:00", "CP-0000-0000"

    def record(n: int, kind: str, when: str = at, schema: int = 3, **body) -> Record:
        return Record(kind, schema if kind == "note" else 1, f"01JD{n:022d}", case_id, when, when, "amina", body)

    registration = record(1, "registration", child={"name": "x"}, risk="high")
    conflict = record(2, "sync_conflict", later, code="updates-concurrent", records=["01JDX", "01JDY"])
    moved = record(3, "note", at, text="about him", **{MOVED_FROM: {"case": "CP-1111-1111", "record": "01JDZ"}})
    assert [c["settled_by"] for c in fold(case_id, [registration, conflict, moved]).conflicts] == [None]
    before = fold(case_id, [registration, conflict])
    assert settled_by(before, "note", moved.body) == []
    old_note = record(4, "note", at, schema=2, text="checked")  # schema 2: written before notes listed what they settle
    assert [c["settled_by"] for c in fold(case_id, [registration, conflict, old_note]).conflicts] == [old_note.id]
    listed = record(5, "note", at, text="checked", settles=[conflict.id])
    assert [c["settled_by"] for c in fold(case_id, [registration, conflict, listed]).conflicts] == [listed.id]
    apart = record(6, "note", later, text="a cough")  # schema 3 without `settles`: no conflict was open where written
    assert [c["settled_by"] for c in fold(case_id, [registration, conflict, apart]).conflicts] == [None]
    # the same conflict found again by a second merge: a note listing either merge's record settles it
    again = record(7, "sync_conflict", later, code="updates-concurrent", records=["01JDX", "01JDY"])
    for listed_id in (conflict.id, again.id):
        seen = record(8, "note", later, text="checked", settles=[listed_id])
        assert [c["settled_by"] for c in fold(case_id, [registration, conflict, again, seen]).conflicts] == [seen.id]


def _open_actions(cli, case_id: str) -> list[str]:
    """The plan actions of the case still to do, as `cpcm show CASE --json` lists them."""
    return sorted(a["item"] for a in cli("show", case_id, "--json").json()["open_actions"])


def test_misfiled_followup_that_ticked_off_plan_actions__is_not_moved_to_a_case_whose_plan_has_the_same_ids(cli_as, repo):
    """A follow-up's `actions_done` names actions of the plan of the case it was written in: moved,
    the same IDs would tick off the other child's actions (ACTS_ON_CASE)."""
    from test_followup_close import planned, visit

    amina = cli_as("amina")
    sister, brother = planned(amina, cli_as), planned(amina, cli_as)
    assert _open_actions(amina, brother) == _open_actions(amina, sister) == ["A1", "A2"]
    done = visit(amina, sister, "--done", "A1", "--set", f"observations={COUGH}", "--json")
    assert done.code == 0, done.stderr
    assert _open_actions(amina, sister) == ["A2"]
    before = commit_count(repo)
    refused = amina("correct", sister, done.json()["record_id"], "--misfiled", "--to", brother, "--reason", "his visit", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "misfiled-move-ticks-actions", refused.stdout
    assert "ticked off actions of the case's plan" in refused.json()["message"]
    assert f"Mark it without --to, and record the visit in {brother}" in refused.json()["hint"]
    assert not leaks(refused.stdout.encode() + refused.stderr.encode())
    assert commit_count(repo) == before and _open_actions(amina, brother) == ["A1", "A2"]
    # marked without --to, it leaves her case: her action is to do again
    assert amina("correct", sister, done.json()["record_id"], "--misfiled", "--reason", "his visit").code == 0
    assert _open_actions(amina, sister) == ["A1", "A2"] and _open_actions(amina, brother) == ["A1", "A2"]


def test_fold__acts_on_case_names_the_risk_and_the_actions_done_of_a_followup():
    from cpcm.domain.records import Record
    from cpcm.workflow.fold import ACTS_ON_CASE, acts_on_case

    at = "2026-11-23T09:00:00+03:00"
    visit = Record("followup", 1, "01JD" + "1" * 22, "CP-0000-0000", at, at, "amina", {"risk": "high", "actions_done": ["A1"]})
    assert acts_on_case(visit) == list(ACTS_ON_CASE) == ["risk", "actions_done"]
    assert acts_on_case(Record("note", 2, visit.id, "CP-0000-0000", at, at, "amina", {"text": "x", "risk": "high"})) == []


def test_moved_copy__keeps_its_writer_who_marks_it_there_and_show_says_who_moved_it(cli_as, repo):
    amina, sup, otieno = cli_as("amina"), cli_as("sup"), cli_as("otieno")
    sister, brother = register(amina), register(amina)
    note = _note(amina, sister)
    done = sup("correct", sister, note, "--misfiled", "--to", brother, "--reason", "about the brother", "--json")
    assert done.code == 0, done.stderr
    copy = done.json()["moved_to"]["record"]
    shown = amina("show", brother, copy)
    assert f"written by amina in another case ({sister}, record {note}), moved here by sup on" in shown.stdout, shown.stdout
    assert amina("show", brother, copy, "--json").json()["fields"]["moved_from"]["by"] == "amina"
    # a colleague who neither wrote it nor moved it is refused, naming its writer
    assert otieno("correct", brother, copy, "--misfiled", "--reason", "x").code in (4, 5)
    # its writer marks the copy in the case it went to (it was not that case's either)
    again = amina("correct", brother, copy, "--misfiled", "--reason", "not his either", "--json")
    assert again.code == 0, again.stdout
    assert again.json()["supersedes"] == copy


def test_moved_copy__its_writer_is_named_when_someone_else_is_refused(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    sister, brother = register(amina), register(amina)
    note = _note(sup, sister, "a call from the school")
    copy = sup("correct", sister, note, "--misfiled", "--to", brother, "--reason", "wrong case", "--json").json()["moved_to"]
    refused = amina("correct", brother, copy["record"], "--misfiled", "--reason", "x", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "misfiled-writer-or-supervisor", refused.stdout
    assert "written by sup" in refused.json()["message"]


def test_conference_at_meeting__a_followup_marked_after_the_meeting_stays_out(monkeypatch):
    """The minutes, the conference report and Form 8 fold each case as it stood at the meeting
    (service/conferences.py `_at_meeting`, `form8_facts`): a mark is dated when it is written, so a
    cut by time before taking the misfiled records out would bring the follow-up, its risk rating
    and its plan actions, back."""
    from datetime import timezone
    from types import SimpleNamespace

    from cpcm.domain.records import Record, utc
    from cpcm.service import conferences
    from cpcm.workflow.fold import before_cut, fold

    case_id = "CP-0000-0000"

    def record(n: int, kind: str, at: str, **body) -> Record:
        return Record(kind, 1, f"01JD{n:022d}", case_id, at, at, "amina", body)

    registration = record(1, "registration", "2026-10-01T09:00:00+03:00", child={"name": "x"}, risk="low")
    visit = record(2, "followup", "2026-11-10T09:00:00+03:00", risk="high", method="home_visit")
    mark = record(3, "misfiled", "2026-12-01T09:00:00+03:00", supersedes=visit.id, reason="wrong case", record_kind="followup")
    meeting_end = utc("2026-11-20T23:59:59+03:00")
    cut = before_cut([registration, visit, mark], lambda r: utc(r.at) <= meeting_end)
    assert [r.id for r in cut] == [registration.id]
    assert fold(case_id, [registration, visit]).risk == "high"  # as a cut by time alone would have it

    monkeypatch.setattr(conferences.context, "load_records", lambda ctx, wanted: [registration, visit, mark])
    monkeypatch.setattr(conferences.rules, "meeting_end", lambda conference, zone: meeting_end)
    at_meeting = conferences._at_meeting(SimpleNamespace(zone=timezone.utc), None, [case_id])
    assert at_meeting[case_id].risk == "low" and visit.id not in [e.id for e in at_meeting[case_id].history]


def test_misfiled_on_two_copies_apart_to_two_cases__check_names_both_cases_the_content_went_to(repo, team, tmp_env):
    laptops = Laptops(repo, team, tmp_env)
    amina = laptops.laptop("amina")
    case_id, brother, cousin = register(amina), register(amina), register(amina)
    note = _note(amina, case_id)
    laptops.sync("amina")
    laptops.sync("sup")
    sup = laptops.cli("sup")
    hers = amina("correct", case_id, note, "--misfiled", "--to", brother, "--reason", "about the brother", "--json").json()
    his = sup("correct", case_id, note, "--misfiled", "--to", cousin, "--reason", "about the cousin", "--json")
    assert his.code == 0, his.stderr
    his = his.json()
    merge_both(laptops)
    problem = [p for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "corrections-concurrent"]
    assert len(problem) == 1, problem
    message = problem[0]["message"]
    for went in (hers["moved_to"], his["moved_to"]):  # both cases hold the content: each named, with its copy
        assert f"{went['case']} (as {went['record']}" in message, message
        assert sup("show", went["case"], went["record"]).code == 0
    assert "a copy may need taking out" in message and "--misfiled" in message
    assert not leaks(message.encode())


def test_log_and_show__count_the_records_taken_out_as_misfiled_apart_from_the_corrected(cli_as):
    amina = cli_as("amina")
    case_id, other = register(amina), register(amina)
    note = _note(amina, case_id)
    fixed = _note(amina, case_id, "a call from the school")
    assert amina("correct", case_id, fixed, "--set", "text=a call from the clinic", "--reason", "typo").code == 0
    assert amina("correct", case_id, note, "--misfiled", "--to", other, "--reason", "about the brother").code == 0
    shown = amina("show", case_id, "--json").json()
    # registration, the note, the note and its correction, the mark
    assert (shown["records_total"], shown["records_corrected"], shown["records_misfiled"]) == (5, 1, 1)
    assert shown["records"] == len(shown["history"]) == 3
    assert "5 records (1 corrected, 1 taken out as misfiled)" in amina("log", case_id).stderr
    assert "5 records (1 corrected, 1 taken out as misfiled)" in amina("show", case_id).stdout


def _next_followup(cli, case_id: str) -> list[str]:
    """When `cpcm due` has the next follow-up of the case (the minute, agency time)."""
    return [i["due"][:16] for i in cli("due", "--within", "60", "--json").json()
            if i["code"] == "next-followup" and i["case_id"] == case_id]


@pytest.mark.parametrize("keep", [False, True])
def test_misfiled_followup_that_planned_the_next_visit__moved_plans_the_other_case_only_with_keep_schedule(cli_as, keep):
    """A follow-up's next visit (--next-followup, --every) was planned in the case it was written in:
    marked, that case's next follow-up is as its own follow-ups plan it; moved, the copy counts as the
    other child's visit, and plans that child's next one only when the worker says so (--keep-schedule)."""
    amina = cli_as("amina")  # 2026-11-23 09:00 +03:00
    sister, brother = register(amina), register(amina)
    base = ("--method", "phone", "--purpose", "monitoring", "--visited-by", "professional", "--risk-increased", "no")
    assert amina("followup", sister, *base, "--every", "2w").code == 0
    assert amina("followup", brother, *base, "--every", "1mo").code == 0
    assert _next_followup(amina, sister) == ["2026-12-07T09:00"] and _next_followup(amina, brother) == ["2026-12-23T09:00"]
    later = cli_as("amina", CPCM_NOW="2026-11-24T10:00:00+03:00")
    misfiled_visit = later("followup", sister, *base, "--next-followup", "2026-11-26", "--every", "1w",
                           "--set", f"observations={COUGH}", "--json")
    assert misfiled_visit.code == 0, misfiled_visit.stderr
    assert _next_followup(later, sister) == ["2026-11-26T23:59"]

    keeping = ("--keep-schedule",) if keep else ()
    done = later("correct", sister, misfiled_visit.json()["record_id"], "--misfiled", "--to", brother, *keeping,
                 "--reason", "his visit", "--json")
    assert done.code == 0, done.stderr
    copy = done.json()["moved_to"]["record"]
    # her case: the next follow-up as before the visit, two weeks after her own follow-up
    assert _next_followup(later, sister) == ["2026-12-07T09:00"]
    fields = later("show", brother, copy, "--json").json()["fields"]
    assert fields["observations"] == COUGH  # the visit's notes are his
    if keep:
        assert _next_followup(later, brother) == ["2026-11-26T23:59"]  # the plan went with it
        assert (fields["next_followup"], fields["followup_every"]) == ("2026-11-26", "1w")
        assert "left_out" not in fields["moved_from"]
        assert not any("counts as a visit" in step for step in done.json()["next_steps"])
    else:
        # his plan stands (every month), counted from his visit the copy records
        assert _next_followup(later, brother) == ["2026-12-24T10:00"]
        assert "next_followup" not in fields and "followup_every" not in fields
        assert fields["moved_from"]["left_out"] == ["next_followup", "followup_every"]
        step = [s for s in done.json()["next_steps"] if "counts as a visit" in s]
        assert step and f"in {brother} the copy counts as a visit on 2026-11-24" in step[0], done.json()["next_steps"]
        assert "the next follow-up, due 2026-12-23, is met; the next is now due 2026-12-24" in step[0], step[0]
        assert "was not changed" not in step[0]
        assert "every 1 week, the next on 2026-11-26" in step[0] and f"cpcm followup {brother} ... --next-followup DATE" in step[0]
        assert f"cpcm correct {brother} {copy} --set next_followup=DATE" in step[0]
        assert "was not moved: it was planned for" in later("show", brother, copy).stdout
        human = later("correct", brother, copy, "--set", "next_followup=2026-11-27", "--reason", "planned for him")
        assert human.code == 0, human.stderr  # the plan put on the copy, as the next step says
        assert _next_followup(later, brother) == ["2026-11-27T23:59"]
        assert not leaks(done.stdout.encode() + done.stderr.encode())


def test_misfiled_keep_schedule__only_with_to_and_a_followup_that_planned_a_visit(cli_as, repo):
    amina = cli_as("amina")
    sister, brother = register(amina), register(amina)
    note = _note(amina, sister)
    visit = amina("followup", sister, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
                  "--risk-increased", "no", "--json").json()["record_id"]
    before = commit_count(repo)
    for args, why in (((sister, visit, "--misfiled", "--keep-schedule", "--reason", "x"), "goes with --misfiled --to"),
                      ((sister, visit, "--keep-schedule", "--set", "observations=x", "--reason", "x"), "goes with --misfiled --to"),
                      ((sister, note, "--misfiled", "--to", brother, "--keep-schedule", "--reason", "x"), "nothing to keep"),
                      ((sister, visit, "--misfiled", "--to", brother, "--keep-schedule", "--reason", "x"), "nothing to keep")):
        refused = amina("correct", *args)
        assert refused.code == 2 and why in refused.stderr, (args, refused.code, refused.stderr)
    assert commit_count(repo) == before


def test_misfiled_followup_that_ticked_off_plan_actions__the_warning_names_the_actions_open_again(cli_as):
    from test_followup_close import planned, visit

    amina = cli_as("amina")
    case_id = planned(amina, cli_as)
    done = visit(amina, case_id, "--done", "A1", "--done", "A2", "--json")
    assert done.code == 0, done.stderr
    assert visit(amina, case_id, "--done", "A2").code == 0  # A2 done again at a visit of her own
    assert _open_actions(amina, case_id) == []
    marked = amina("correct", case_id, done.json()["record_id"], "--misfiled", "--reason", "his visit", "--json")
    assert marked.code == 0, marked.stderr
    assert _open_actions(amina, case_id) == ["A1"]
    warned = [w for w in marked.json()["warnings"] if "ticked off" in w]
    assert warned and "action A1:" in warned[0] and "A2" not in warned[0], marked.json()["warnings"]
    assert f"cpcm followup {case_id} ... --done A1" in warned[0]
    # on a terminal's stderr too
    again = visit(amina, case_id, "--done", "A1", "--json")
    human = amina("correct", case_id, again.json()["record_id"], "--misfiled", "--reason", "his visit too")
    assert human.code == 0 and "ticked off the plan's action A1" in human.stderr, human.stderr



def test_misfiled_followup_moved__the_other_case_s_one_off_visit_is_met_and_the_next_step_says_so(cli_as, repo):
    """The copy counts as a visit in the case it goes to: a visit planned there for one date is met by
    it, and `cpcm due` has no next follow-up there any more; the next step says that, not that the
    other case's next follow-up was not changed."""
    amina = cli_as("amina")
    sister, brother = register(amina), register(amina)
    base = ("--method", "phone", "--purpose", "monitoring", "--visited-by", "professional", "--risk-increased", "no")
    assert amina("followup", brother, *base, "--next-followup", "2026-12-20").code == 0
    later = cli_as("amina", CPCM_NOW="2026-11-24T10:00:00+03:00")
    assert _next_followup(later, brother) == ["2026-12-20T23:59"]
    visit = later("followup", sister, *base, "--next-followup", "2026-11-26", "--json").json()["record_id"]
    done = later("correct", sister, visit, "--misfiled", "--to", brother, "--reason", "his visit", "--json")
    assert done.code == 0, done.stderr
    assert _next_followup(later, brother) == []
    [step] = [s for s in done.json()["next_steps"] if "counts as a visit" in s]
    assert f"in {brother} the copy counts as a visit on 2026-11-24: the visit planned for 2026-12-20 is met; no next " \
           f"follow-up is planned in {brother} now" in step, step
    assert "was not changed" not in step and "the next on 2026-11-26" in step, step


def test_misfiled_keep_schedule_without_to__refused_by_the_service_naming_the_case_and_record(cli_as, repo):
    amina = cli_as("amina")
    sister = register(amina)
    visit = amina("followup", sister, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
                  "--risk-increased", "no", "--next-followup", "2026-12-01", "--json").json()["record_id"]
    before = commit_count(repo)
    refused = amina("correct", sister, visit, "--misfiled", "--keep-schedule", "--reason", "x")
    assert refused.code == 2 and "goes with --misfiled --to" in refused.stderr, refused.stderr
    assert f"cpcm correct {sister} {visit} --misfiled --to OTHER-CASE --keep-schedule" in refused.stderr, refused.stderr
    assert commit_count(repo) == before
