"""A write that settles a sync conflict says so once: in its next steps where the command was made
to settle it (`planning.settles_step`), else as a warning (`context.note_settled`). Which of the two
says it is decided by what the command's result names (`Written.settled`), never by the words of
the step; an assignment of a batch says it of its own case; a correction (`cpcm correct`, which
stands in the place of the record it corrects) says what it settles, and what it leaves open again,
as every other write."""
from __future__ import annotations

import json

import pytest

from conftest import NOW, Cli, register, settling_said
from test_placement_sync import FOSTER, KINSHIP, LATER, _apart
from test_sync import check_codes, laptops, merge_both  # noqa: F401 (laptops: a fixture)

ELEVEN = "2026-11-23T11:00:00+03:00"


def _placed_apart(laptops):
    """amina's case placed with the grandmother on the office copy and with a foster parent on her laptop,
    both at 11:00, merged: `placements-concurrent`, the foster placement standing."""
    amina, sup, case_id = _apart(laptops)
    office = laptops.cli("sup", CPCM_NOW=ELEVEN)("placement", case_id, *KINSHIP, "--json")
    field = laptops.cli("amina", CPCM_NOW=ELEVEN)("placement", case_id, *FOSTER, "--json")
    assert office.code == 0 and field.code == 0, office.stderr + field.stderr
    assert [c["code"] for c in merge_both(laptops)["conflicts"]] == ["placements-concurrent"]
    return laptops.cli("amina", CPCM_NOW=LATER), case_id


# -- the step's words do not decide -----------------------------------------------------------------------
@pytest.mark.parametrize("json_output", [False, True])
def test_a_placement_made_to_settle_says_it_once_whatever_the_words_of_its_step(laptops, monkeypatch, json_output):
    """The step's words changed (say, put in Kiswahili): the warning is still left out, the step says it."""
    from cpcm.service import planning

    later, case_id = _placed_apart(laptops)
    monkeypatch.setattr(planning, "SETTLES_STEP", "hii inamaliza mgongano wa usawazishaji ({codes})")
    again = later("placement", case_id, *FOSTER, *(["--json"] if json_output else []))
    assert again.code == 0, again.stderr
    said = [line for line in (again.json()["warnings"] + again.json()["next_steps"] if json_output
                              else (again.stdout + again.stderr).splitlines()) if "placements-concurrent" in line]
    assert len(said) == 1 and "hii inamaliza mgongano wa usawazishaji (placements-concurrent)" in said[0], said
    assert "placements-concurrent" not in check_codes(later, case_id)


@pytest.mark.parametrize("json_output", [False, True])
def test_a_placement_made_to_settle_says_it_once(laptops, json_output):
    later, case_id = _placed_apart(laptops)
    again = later("placement", case_id, *FOSTER, *(["--json"] if json_output else []))
    assert again.code == 0, again.stderr
    said = settling_said(again, "placements-concurrent")
    assert len(said) == 1 and "this settles the sync conflict (placements-concurrent)" in said[0], said


# -- a batch of assignments: each case's own ------------------------------------------------------------
def _assigned_apart(laptops, team):
    """Two of amina's cases, each assigned to otieno on the office copy and on the supervisor's second laptop
    (amina's copy) apart, merged: `two-assignments` in both."""
    amina = laptops.laptop("amina")
    cases = [register(amina), register(amina)]
    laptops.sync("amina")
    laptops.sync("sup")
    sup = laptops.cli("sup")
    sup_away = Cli({"CPCM_REPO": str(laptops.clones["amina"]), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    for case_id in cases:
        assert sup_away("assign", case_id, "--worker", "otieno").code == 0
        assert sup("assign", case_id, "--worker", "otieno").code == 0
    merge_both(laptops)
    for case_id in cases:
        assert "two-assignments" in check_codes(sup, case_id)
    return sup, cases


@pytest.mark.parametrize("json_output", [False, True])
def test_a_batch_says_once_what_each_assignment_settles(laptops, team, tmp_path, json_output):
    """The first row confirms otieno (its next step says it settles the conflict), the second gives the case
    to the supervisor (which settles it too, and only the warning says so): each is said once, of its case."""
    sup, (confirmed, given) = _assigned_apart(laptops, team)
    rows = tmp_path / "rows.yaml"
    rows.write_text(json.dumps([{"case": confirmed, "worker": "otieno"}, {"case": given, "worker": "sup"}]))
    done = sup("assign", "--batch", str(rows), *(["--json"] if json_output else []))
    assert done.code == 0, done.stderr
    first, second = settling_said(done, "two-assignments", confirmed), settling_said(done, "two-assignments", given)
    assert len(first) == 1 and f"the assignment of {confirmed} to otieno is confirmed" in first[0], first
    assert len(second) == 1 and second[0].startswith(("this assignment", "warning: this assignment")), second
    assert "('two-assignments'" not in done.stderr
    if json_output:
        assert second[0] in done.json()["warnings"]
    for case_id in (confirmed, given):
        assert "two-assignments" not in check_codes(sup, case_id)


# -- a correction -------------------------------------------------------------------------------------
@pytest.mark.parametrize("json_output", [False, True])
def test_a_placement_corrected_to_a_later_date_says_it_settles_the_conflict(laptops, json_output):
    """A placement dated behind the one that stands settles nothing; corrected (`--at`) to the latest date,
    where the child lives now, it settles `placements-concurrent`: the correction says so, once."""
    later, case_id = _placed_apart(laptops)
    behind = later("placement", case_id, *FOSTER, "--at", "2026-11-23T10:00:00+03:00", "--json")
    assert behind.code == 0, behind.stderr
    assert "placements-concurrent" in check_codes(later, case_id)
    original = behind.json()["record_id"]
    fixed = later("correct", case_id, original, "--at", "2026-11-23T11:30:00+03:00", "--reason", "the time was typed wrong",
                  *(["--json"] if json_output else []))
    assert fixed.code == 0, fixed.stderr
    assert "placements-concurrent" not in check_codes(later, case_id)
    said = settling_said(fixed, "placements-concurrent", case_id)
    assert len(said) == 1 and f"a correction of {original}, settles the sync conflict placements-concurrent on {case_id}" in said[0], said
    for value in ("Mary", "Wanjiru", "Kondele", "foster parent"):  # ids and fixed words only
        assert value not in fixed.stdout + fixed.stderr


def test_a_settling_placement_corrected_behind_the_one_that_stands_says_the_conflict_is_open_again(laptops):
    later, case_id = _placed_apart(laptops)
    now = later("placement", case_id, *FOSTER, "--json")
    assert now.code == 0 and "placements-concurrent" not in check_codes(later, case_id), now.stderr
    fixed = later("correct", case_id, now.json()["record_id"], "--at", "2026-11-23T10:00:00+03:00", "--reason", "it was earlier",
                  "--json")
    assert fixed.code == 0, fixed.stderr
    assert "placements-concurrent" in check_codes(later, case_id)
    opened = [w for w in fixed.json()["warnings"] if "placements-concurrent" in w]
    assert len(opened) == 1 and "open again" in opened[0] and "cpcm check reports it again" in opened[0], fixed.json()


def test_a_note_corrected_settles_nothing_its_note_did_not(laptops):
    """A correction of a note keeps the conflicts it lists (`settles`, set when it was written): a note written
    on a copy apart, before the merge found the conflict, lists nothing of it and, corrected, still settles nothing."""
    amina, sup, case_id = _apart(laptops)
    assert laptops.cli("sup", CPCM_NOW=ELEVEN)("placement", case_id, *KINSHIP).code == 0
    assert laptops.cli("amina", CPCM_NOW=ELEVEN)("placement", case_id, *FOSTER).code == 0
    apart = amina("note", case_id, "--text", "visited the family", "--json")
    assert apart.code == 0, apart.stderr
    assert [c["code"] for c in merge_both(laptops)["conflicts"]] == ["placements-concurrent"]
    later = laptops.cli("amina", CPCM_NOW=LATER)
    fixed = later("correct", case_id, apart.json()["record_id"], "--set", "text=visited the school", "--reason", "wrong place",
                  "--json")
    assert fixed.code == 0, fixed.stderr
    assert not settling_said(fixed, "placements-concurrent") and "placements-concurrent" in check_codes(later, case_id)
