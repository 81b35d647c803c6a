"""Correcting the kenya profile's scored and rated records with `cpcm correct`: a readiness record
(Form 7A, or the young person's Form 8A, checked on the form it was made on), a household
graduation record (the CPARA) and a Child Status Index. The correction is checked as the command
checks the record (a CSI rating given as its code, its date not after today, every bad field
named and nothing written), a readiness record's stop answers are found again (the urgent item on
`due` comes or goes with them), and show, the scores and the order of the CSIs read the correction
in the place of what it corrected."""
from __future__ import annotations

import json
import subprocess

from conftest import CANARY, commit_count, register, reunified
import test_cpara
import test_csi
import test_readiness
import test_readiness_8a


def due_codes(cli, case_id: str) -> set[str]:
    return {i["code"] for i in cli("due", "--json").json() if i["case_id"] == case_id}


def test_readiness__a_stop_answer_corrected_away_takes_the_urgent_item_off_due_and_back(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    stopped = test_readiness.with_answer(test_readiness.answers(), test_readiness.VIOLENCE, "no")
    done = amina("readiness", case_id, "--from-file", "-", "--json", input=json.dumps({"occasion": "followup", **stopped}))
    assert done.code == 0, done.stderr
    assert "readiness-stop" in due_codes(amina, case_id)
    field = "benchmarks." + test_readiness.VIOLENCE
    fixed = amina("correct", case_id, "readiness", "--set", f"{field}=yes", "--reason", "answer misheard", "--json")
    assert fixed.code == 0, fixed.stderr
    assert fixed.json()["supersedes"] == done.json()["record_id"] and not fixed.json()["warnings"]
    assert "readiness-stop" not in due_codes(amina, case_id)
    shown = amina("show", case_id, "--json").json()["readiness"]
    assert shown["record_id"] == fixed.json()["record_id"] and shown["ready_for_closure"] is True
    back = amina("correct", case_id, fixed.json()["record_id"], "--set", f"{field}=no", "--reason", "it was no after all")
    assert back.code == 0, back.stderr
    assert "the child is not free of violence" in back.stderr  # the stop's warning, as `cpcm readiness` gives it
    assert "readiness-stop" in due_codes(amina, case_id)
    assert amina("show", case_id, "--json").json()["readiness"]["ready_for_closure"] is False


def test_readiness__a_form_8a_record_is_corrected_on_form_8a_and_scored_with_its_pass_marks(kenya):
    amina = kenya("amina")
    case_id = reunified(kenya)
    below = test_readiness_8a.record(amina, case_id, test_readiness_8a.answers(no=test_readiness_8a.failing("protection")))
    assert below.code == 0, below.stderr
    assert amina("show", case_id, "--json").json()["readiness"]["ready_for_closure"] is False
    last = test_readiness_8a.items("protection")[-1]  # answered no; a Form 8A item, not one of Form 7A's
    fixed = amina("correct", case_id, "readiness", "--set", f"benchmarks.protection.{last}=yes", "--reason", "ticked wrong")
    assert fixed.code == 0, fixed.stderr
    shown = amina("show", case_id, "--json").json()["readiness"]
    assert shown["version"] == "afc_8a_v1" and shown["ready_for_closure"] is True
    commits = commit_count(kenya.root)
    refused = amina("correct", case_id, "readiness", "--set", "benchmarks.protection.no_such_item=yes", "--reason", "x", "--json")
    assert refused.code == 4 and commit_count(kenya.root) == commits
    assert any(e["field"] == "benchmarks.protection.no_such_item" for e in refused.json()["fields"])
    kept = amina("correct", case_id, "readiness", "--set", "version=afc_7a_v1", "--reason", "x", "--json")
    assert kept.code == 4 and [e["field"] for e in kept.json()["fields"]] == ["version"]


def test_graduation__a_benchmark_corrected_changes_the_score(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    done = test_cpara.record(amina, case_id, test_cpara.full(no=(6,)), "--json")
    assert done.code == 0, done.stderr
    assert done.json()["graduation"]["score"] == 8
    domain, bench = test_cpara.benchmark(6)
    fixed = amina("correct", case_id, "graduation", "--set", f"benchmarks.{domain}.{bench['items'][0]}=yes",
                  "--reason", "typed from the wrong sheet")
    assert fixed.code == 0, fixed.stderr
    scored = amina("show", case_id, "--json").json()["graduation"]
    assert scored["score"] == 9 and scored["band"] == "ready_to_graduate"
    assert "9 of 9 benchmarks achieved: ready to graduate" in amina("show", case_id).stdout


def test_csi__a_rating_given_as_its_code_and_a_date_moved_reorder_the_csis(kenya):
    amina = kenya("amina")
    case_id = register(amina)
    first = test_csi.record(amina, case_id, {**test_csi.body(shelter=2), "date": "2026-11-10"}, "--json")
    second = test_csi.record(amina, case_id, {**test_csi.body(shelter=4), "date": "2026-11-20",
                                               "priorities": [{"domain": "protection", "needs": CANARY}]}, "--json")
    assert first.code == 0 and second.code == 0, first.stderr + second.stderr
    assert amina("show", case_id, "--json").json()["csi"]["record_id"] == second.json()["record_id"]
    coded = amina("correct", case_id, second.json()["record_id"], "--set", "ratings.care=GOOD", "--reason", "misread", "--json")
    assert coded.code == 0, coded.stderr
    fields = amina("show", case_id, coded.json()["record_id"], "--json").json()["fields"]
    assert fields["ratings"]["care"] == "4" and fields["priorities"][0]["needs"] == CANARY  # the rest kept as it was
    latest = amina("show", case_id, "--json").json()["csi"]
    assert latest["record_id"] == coded.json()["record_id"] and latest["previous"]["record_id"] == first.json()["record_id"]
    moved = amina("correct", case_id, coded.json()["record_id"], "--set", "date=2026-11-01", "--reason", "date mistyped", "--json")
    assert moved.code == 0, moved.stderr
    latest = amina("show", case_id, "--json").json()["csi"]  # the first CSI made is now the latest
    assert latest["record_id"] == first.json()["record_id"] and latest["previous"]["record_id"] == moved.json()["record_id"]
    assert {c["key"]: c["change"] for c in latest["changes"]}["shelter"] == "down"


def test_csi__a_bad_rating_or_a_date_after_today_is_refused_naming_the_field_and_nothing_is_written(kenya):
    amina = kenya("amina")
    case_id = register(amina, "--at", "2026-11-01")
    assert test_csi.record(amina, case_id, {**test_csi.body(), "priorities": [{"domain": "protection", "needs": CANARY}]}).code == 0
    commits = commit_count(kenya.root)
    for given, field in (("ratings.shelter=9", "ratings.shelter"), ("date=2026-12-30", "date")):
        refused = amina("correct", case_id, "csi", "--set", given, "--reason", "x", "--json")
        assert refused.code == 4, refused.stderr
        assert [e["field"] for e in refused.json()["fields"]] == [field]
        assert CANARY not in refused.stdout + refused.stderr
    assert commit_count(kenya.root) == commits
    emptied = amina("correct", case_id, "csi", "--set", "date=", "--at", "2026-11-21T10:00", "--reason", "date unknown", "--json")
    assert emptied.code == 0, emptied.stderr  # left empty: the day the corrected record happened, as the command dates one
    assert amina("show", case_id, "--json").json()["csi"]["date"] == "2026-11-21"
    log = subprocess.run(["git", "-C", str(kenya.root), "log", "--format=%B"], capture_output=True, text=True, check=True).stdout
    assert CANARY not in log and f"correct {case_id} {emptied.json()['record_id']}" in log


def test_readiness__the_closure_gate_reads_a_record_moved_earlier_by_its_correction(kenya):
    """A failing record dated a day late, corrected to its real day (before a passing record made
    since): the closure gate reads the passing one as the latest, not the failing record as first
    dated."""
    case_id = reunified(kenya)
    amina = kenya("amina", now="2026-11-25T09:00:00+03:00")
    passing = test_readiness.record(amina, case_id, test_readiness.answers(), "--at", "2026-11-24T09:00")
    failing = test_readiness.record(amina, case_id, test_readiness.answers(no=test_readiness.failing("protection")))
    assert passing.code == 0 and failing.code == 0, passing.stderr + failing.stderr
    moved = amina("correct", case_id, "readiness", "--at", "2026-11-23T12:00", "--reason", "dated on the wrong day")
    assert moved.code == 0, moved.stderr
    closed = amina("close", case_id, "--reason", "goals_met", *test_readiness.KENYA_GOALS_MET, "--explain-open", "none")
    assert closed.code == 0, closed.stderr


def test_readiness__the_benchmark_version_given_empty_is_kept(kenya):
    """The version a readiness record follows is the command's: given empty by a correction it is
    kept, so the record is still scored on the form it was made on."""
    amina = kenya("amina")
    case_id = reunified(kenya)
    made = test_readiness_8a.record(amina, case_id, test_readiness_8a.answers())
    assert made.code == 0, made.stderr
    fixed = amina("correct", case_id, "readiness", "--set", "version=", "--set", "occasion=followup", "--reason", "x", "--json")
    assert fixed.code == 0, fixed.stderr
    assert amina("show", case_id, fixed.json()["record_id"], "--json").json()["fields"]["version"] == "afc_8a_v1"
    assert amina("show", case_id, "--json").json()["readiness"]["version"] == "afc_8a_v1"


def test_csi__a_date_the_command_filled_in_moves_with_a_corrected_time(kenya):
    """A CSI recorded without its date takes the day it was recorded; a correction of its time
    (`--at`) without a date moves that date with it. A date given stays as given."""
    amina = kenya("amina")
    case_id = register(amina, "--at", "2026-11-01")
    made = test_csi.record(amina, case_id, test_csi.body(), "--json")
    assert made.code == 0 and made.json()["csi"]["date"] == "2026-11-23", made.stderr
    moved = amina("correct", case_id, "csi", "--at", "2026-11-20T10:00", "--reason", "typed in late", "--json")
    assert moved.code == 0, moved.stderr
    assert amina("show", case_id, "--json").json()["csi"]["date"] == "2026-11-20"
    dated = test_csi.record(amina, case_id, {**test_csi.body(), "date": "2026-11-05"}, "--json")
    assert dated.code == 0, dated.stderr
    kept = amina("correct", case_id, dated.json()["record_id"], "--at", "2026-11-21T10:00", "--reason", "x", "--json")
    assert kept.code == 0, kept.stderr
    assert amina("show", case_id, kept.json()["record_id"], "--json").json()["fields"]["date"] == "2026-11-05"
