"""What `cpcm check` says after two copies of the repository wrote to one case apart and a sync
brought them together: each line says what happened in the worker's terms and what to do. A
record out of order (`transition-out-of-order`) names the sync conflict that settles it, or asks
for a note where none does (and a note then answers it); records written while the other copy
closed the case (`record-after-closure`) are told as the case now stands: its closure waiting, the
case closed, or no closure standing, the request withdrawn on one copy before the other approved it."""
from __future__ import annotations

from cpcm.domain.case import Case, Entry
from cpcm.domain.records import Record
from cpcm.workflow.fold import NOTE_SCHEMA, answered
from cpcm.workflow import rules
from test_cci_month_sync_walk import conflicts, day, home  # noqa: F401 (the fixture)
from test_followup_close import GOALS_MET
from test_pure_workflow import NOW, SHIPPED

VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school", "--visited-by",
         "professional", "--risk-increased", "no", "--no-input")


def entry(record_id: str, kind: str) -> Entry:
    return Entry(record_id, kind, "2026-11-20T09:00:00+03:00", "2026-11-20T06:00:00Z", "amina")


def messages(case: Case) -> dict[str, str]:
    return {p.code: p.message for p in rules.check_case(case, SHIPPED, NOW)}


def test_a_closure_withdrawn_on_one_laptop_and_approved_at_the_office__check_says_so_and_a_note_settles_it(home):
    home, case_id = home
    home.ok("sue", day(5), "approve", case_id, "plan")
    home.ok("amina", day(5), "followup", case_id, *VISIT)
    home.meet(day(5, 12))
    home.ok("amina", day(6), "close", case_id, "--reason", "goals_met", *GOALS_MET, "--explain-open", "the family does it")
    home.meet(day(6, 12))
    # apart: amina takes her request back on her laptop and visits again; sue approves it at the office later that day
    withdrawn = home.ok("amina", day(7, 9), "close", case_id, "--withdraw", "--reason", "not yet", "--json").json()["record_id"]
    home.ok("amina", day(7, 10), "followup", case_id, *VISIT)
    approved = home.ok("sue", day(7, 11), "approve", case_id, "closure", "--json").json()["record_id"]
    assert conflicts(home.meet(day(8)), case_id) == ["record-after-closure"]
    shown = home.ok("sue", day(8, 10), "show", case_id, "--json").json()
    assert (shown["status"], shown["stage"]) == ("open", "implementation")
    said = home.checks("sue", day(8, 10), case_id)
    after = said["record-after-closure"]
    assert "being closed" not in after and "no closure stands" in after and "the case is open" in after, after
    assert f"withdrawn on the first ({withdrawn})" in after and f"({approved}) decided nothing" in after, after
    assert f"cpcm note {case_id} --text" in after and f"cpcm close {case_id} --reason" in after, after
    out_of_order = said["transition-out-of-order"]
    assert approved in out_of_order and "merged?" not in out_of_order, out_of_order
    assert "written on one copy while another, apart" in out_of_order and "decided nothing" in out_of_order, out_of_order
    assert "sync conflict record-after-closure" in out_of_order and "settle that" in out_of_order, out_of_order
    home.ok("sue", day(8, 11), "note", case_id, "--text", "seen: the case stays open, the family still needs visits")
    assert not {"record-after-closure", "transition-out-of-order"} & set(home.checks("sue", day(8, 11), case_id))
    home.no_name_on_disk()


def test_record_after_closure__the_wording_is_true_to_the_case_as_it_stands():
    conflict = {"code": "record-after-closure", "records": ["01B", "01C"]}
    waiting = Case("CP-0000-0000", worker="amina", stage="closure_requested", conflicts=(conflict,),
                   closure={"record_id": "01A", "at": "2026-11-20T06:00:00Z", "by": "amina", "decided_at": None,
                            "approved": None})
    said = messages(waiting)["record-after-closure"]
    assert "closure was asked for on another" in said and "cpcm close CP-0000-0000 --withdraw" in said, said
    closed = Case("CP-0000-0000", worker="amina", status="closed", stage="closed", conflicts=(conflict,))
    said = messages(closed)["record-after-closure"]
    assert "while the case was closed on another" in said and "stays closed" in said and "cpcm reopen" in said, said
    open_ = Case("CP-0000-0000", worker="amina", stage="implementation", conflicts=(conflict,), anomalies=("01C",),
                 history=(entry("01A", "closure"), entry("01B", "withdrawal"), entry("01C", "approval")))
    said = messages(open_)["record-after-closure"]
    assert "being closed" not in said and "approved its closure" in said and "withdrawn on the first (01B)" in said, said
    assert "(01C) decided nothing" in said and "the case is open, at stage implementation" in said, said


def test_record_after_closure__the_closures_own_records_are_not_named_among_those_written_while_it_closed():
    """The merge names a closure written apart and its approval first, then what the other copy wrote (a follow-up):
    `check` tells them apart, the follow-up as written on one copy, the closure and its approval as the other's."""
    history = (entry("01A", "closure"), entry("01B", "approval"), entry("01C", "followup"))
    closed = Case("CP-0000-0000", worker="amina", status="closed", stage="closed", history=history,
                  conflicts=({"code": "record-after-closure", "records": ["01A", "01B", "01C"]},))
    said = messages(closed)["record-after-closure"]
    assert "written on one copy (01C) while the case was closed on another (01A, 01B), and it stays closed" in said, said
    waiting = Case("CP-0000-0000", worker="amina", stage="closure_requested", history=history[::2],
                   conflicts=({"code": "record-after-closure", "records": ["01A", "01C"]},),
                   closure={"record_id": "01A", "at": "2026-11-20T06:00:00Z", "by": "amina", "decided_at": None,
                            "approved": None})
    said = messages(waiting)["record-after-closure"]
    assert "written on one copy (01C) while the case's closure was asked for on another (01A), and it still waits" in said, said


def test_transition_out_of_order__no_conflict_names_it__check_asks_for_a_note_which_answers_it():
    case = Case("CP-0000-0000", worker="amina", stage="implementation", anomalies=("01C",),
                history=(entry("01A", "note"), entry("01B", "plan"), entry("01C", "approval")))
    said = messages(case)["transition-out-of-order"]
    assert "(an approval)" in said and "merged?" not in said and "decided nothing" in said, said
    assert "cpcm show CP-0000-0000 01C" in said and "cpcm note CP-0000-0000 --text" in said, said
    # one a conflict names is answered by settling that conflict, not by any note
    named = Case("CP-0000-0000", worker="amina", stage="implementation", anomalies=("01C",),
                 history=case.history + (entry("01D", "note"),), conflicts=({"code": "two-closures", "records": ["01B", "01C"]},))
    said = messages(named)["transition-out-of-order"]
    assert "sync conflict two-closures" in said and "cpcm note" not in said, said


def note(record_id: str, schema: int = NOTE_SCHEMA, **body) -> Record:
    return Record("note", schema, record_id, "CP-0000-0000", "2026-11-20T09:00:00+03:00", "2026-11-20T06:00:00Z", "amina",
                  {"text": "checked", **body})


def test_transition_out_of_order__a_note_answers_what_it_lists_as_seen():
    """A note answers the records out of order it lists (`seen`: what check reported where it was
    written), whatever its place; one that lists nothing answers nothing, though later in the
    records' order (written on a copy apart, it saw nothing of them); a note from before notes
    listed them (schema 1) answers those before it; none answers one a sync conflict names."""
    others = [note("01A", 1)]
    assert answered(["01C"], others + [note("01D", seen=["01C"])], ()) == {"01C"}
    assert answered(["01C"], others + [note("01D")], ()) == set()  # written apart: later, but it saw nothing
    assert answered(["01C", "01E"], [note("01D", seen=["01E"])], ()) == {"01E"}
    assert answered(["01C"], [note("01D", 1)], ()) == {"01C"}  # before notes listed them: one after it
    assert answered(["01C"], [note("01B", 1)], ()) == set()
    corrected = note("01F", supersedes="01D", seen=["01C"])  # a note corrected keeps what it saw
    assert answered(["01C"], [note("01D", seen=["01C"]), corrected], ()) == {"01C"}
    conflict = {"code": "two-closures", "records": ["01B", "01C"]}
    assert answered(["01C"], [note("01D", seen=["01C"])], (conflict,)) == set()
