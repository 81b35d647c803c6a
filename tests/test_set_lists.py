"""`--set` gives a list as the form's field types say: a field that holds several values (a text
list, several choices) takes `--set` again for each value; a list of entries (a tracing's people, a
review's progress) takes each entry's fields by its number (people.1.name=...); any other field
given twice is refused, naming it, and nothing is written (the later one silently won before)."""
from __future__ import annotations

import pytest

from conftest import CANARY, commit_count, register
from cpcm.domain.setpaths import put_pairs
from cpcm.errors import UsageError
from cpcm.store import forms
from test_assess_plan import INITIAL

PEOPLE = ["--set", f"people.1.name={CANARY}", "--set", "people.1.relationship=aunt", "--set", "people.1.found=yes",
          "--set", "people.2.name=Baraka", "--set", "people.2.relationship=uncle", "--set", "people.2.found=no"]


def test_tracing__the_people_traced_entry_by_entry_and_the_sources_by_repeating_set(cli):
    case_id = register(cli)
    traced = cli("tracing", case_id, "--outcome", "ongoing", "--set", "sources=child", "--set", "sources=records", *PEOPLE,
                 "--no-input", "--json")
    assert traced.code == 0, traced.stderr
    fields = cli("show", case_id, traced.json()["record_id"], "--json").json()["fields"]
    assert fields["sources"] == ["child", "records"]
    assert fields["people"] == [{"name": CANARY, "relationship": "aunt", "found": "yes"},
                                {"name": "Baraka", "relationship": "uncle", "found": "no"}]


def test_assess__a_text_list_takes_set_again_for_each_value_and_once_is_split_as_before(cli):
    case_id = register(cli)
    done = cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL, "--set", "immediate_actions=moved to the aunt",
               "--set", "immediate_actions=police told; school told", "--json")
    assert done.code == 0, done.stderr
    fields = cli("show", case_id, done.json()["record_id"], "--json").json()["fields"]
    assert fields["immediate_actions"] == ["moved to the aunt", "police told; school told"]


def test_set__a_field_of_one_value_given_twice_is_refused_naming_it_and_nothing_is_written(cli, repo):
    case_id = register(cli)
    before = commit_count(repo)
    twice = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", *PEOPLE, "--set", "notes=first",
                "--set", f"notes={CANARY}", "--no-input")
    assert twice.code == 2 and "--set: notes is given twice: it holds one value" in twice.stderr, twice.stderr
    again = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", *PEOPLE, "--set", "people.2.found=yes",
                "--no-input")
    assert again.code == 2 and "people.2.found is given twice" in again.stderr, again.stderr
    assert CANARY not in twice.stderr + again.stderr and commit_count(repo) == before


def test_set__entries_are_numbered_from_1_with_none_left_out_and_a_plain_value_says_how_to_give_them(cli, repo):
    case_id = register(cli)
    before = commit_count(repo)
    gap = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", *PEOPLE[:6], "--set", f"people.3.name={CANARY}",
              "--set", "people.3.relationship=uncle", "--set", "people.3.found=no", "--no-input", "--json")
    assert gap.code == 4 and [f["field"] for f in gap.json()["fields"]] == ["people"], gap.stdout
    assert "entry 2 is missing (--set people.2.name=...)" in gap.json()["fields"][0]["reason"]
    plain = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", "--set", f"people={CANARY}", "--no-input")
    assert plain.code == 4 and "--set people.1.name=... --set people.2.name=..." in plain.stderr, plain.stderr
    assert CANARY not in gap.stdout + gap.stderr + plain.stderr and commit_count(repo) == before


def test_update__a_value_and_a_field_under_it_are_refused_not_an_internal_error(cli):
    case_id = register(cli)
    both = cli("update", case_id, "--set", "child=x", "--set", f"child.name={CANARY}", "--reason", "typo")
    assert both.code == 2 and "child is given a value, so it cannot also hold the field child.name" in both.stderr, both.stderr


def test_correct__an_entry_of_a_list_corrected_by_its_number_keeps_the_others_and_one_past_the_last_adds_one(cli):
    """A worker corrects one fact of one person traced (--set people.2.found=yes) without typing the list again:
    the other entries and fields stay as recorded (it was refused: entry 1 missing)."""
    case_id = register(cli)
    traced = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", *PEOPLE, "--no-input", "--json").json()["record_id"]
    fixed = cli("correct", case_id, traced, "--set", "people.2.found=yes", "--set", "people.3.name=Achieng",
                "--set", "people.3.relationship=grandmother", "--set", "people.3.found=no", "--reason", "found on the second visit",
                "--json")
    assert fixed.code == 0, fixed.stderr
    fields = cli("show", case_id, fixed.json()["record_id"], "--json").json()["fields"]
    assert fields["people"] == [{"name": CANARY, "relationship": "aunt", "found": "yes"},
                                {"name": "Baraka", "relationship": "uncle", "found": "yes"},
                                {"name": "Achieng", "relationship": "grandmother", "found": "no"}]
    assert fields["sources"] == ["child"] and fields["outcome"] == "ongoing"


def test_set__an_entry_numbered_0_or_one_number_written_twice_is_refused_naming_it_not_an_internal_error(cli, repo):
    """people.0.name, or people.1 beside people.01, ended cpcm with an internal error (exit 70)."""
    case_id = register(cli)
    before = commit_count(repo)
    zero = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", "--set", f"people.0.name={CANARY}",
               "--set", "people.0.relationship=aunt", "--set", "people.0.found=no", "--no-input", "--json")
    assert zero.code == 4 and "there is no entry 0" in zero.json()["fields"][0]["reason"], (zero.code, zero.stdout)
    twice = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", *PEOPLE[:6], "--set", "people.01.name=Baraka",
                "--no-input", "--json")
    assert twice.code == 4 and "gives entry 1 twice, as 01 and 1" in twice.json()["fields"][0]["reason"], twice.stdout
    assert CANARY not in zero.stdout + zero.stderr and commit_count(repo) == before


def test_set__a_field_given_by_an_option_and_by_set_is_refused_naming_it_not_one_of_them_dropped(cli, repo):
    """--source child beside --set sources=records kept only 'child' (a review's --outcome beside --set outcome=...
    kept the option's), without a word: both were typed, so the worker is asked to give it once."""
    case_id = register(cli)
    before = commit_count(repo)
    both = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", "--set", "sources=records", *PEOPLE, "--no-input")
    assert both.code == 2 and "sources is given by an option and by --set: give it once" in both.stderr, both.stderr
    update = cli("update", case_id, "--concern", "neglect", "--set", "concerns=child_labour", "--reason", "typo")
    assert update.code == 2 and "concerns is given by an option and by --set" in update.stderr, update.stderr
    assert commit_count(repo) == before


def test_close__a_list_of_codes_takes_set_again_for_each_item_as_a_text_list_does(cli):
    """A closure's checklist is a list of codes (type codes, written as a text list): each --set of it adds an
    item (it was refused as a field of one value given twice)."""
    case_id = register(cli)
    outcome = [a if a != "proceed" else "close_no_concerns" for a in INITIAL]
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *outcome).code == 0
    closing = cli("close", case_id, "--reason", "no_concerns", "--set", "checklist=child_safe",
                  "--set", "checklist=basic_needs_met", "--no-input", "--json")
    assert closing.code == 0, closing.stderr
    fields = cli("show", case_id, closing.json()["record_id"], "--json").json()["fields"]
    assert fields["checklist"] == ["child_safe", "basic_needs_met"]


def test_set__a_field_of_several_values_in_an_entry_takes_set_again_for_each_value():
    """The minutes' decisions for each case are a list of texts inside an entry: each --set of cases.1.decisions adds
    one (it was refused as a field of one value given twice); a field of one value in an entry still may not be."""
    minutes = forms.load("conference-minutes")
    data = put_pairs(minutes, {}, [("cases.1.decisions", "stays with the aunt"), ("cases.1.decisions", "school in January")])
    assert data["cases"]["1"]["decisions"] == ["stays with the aunt", "school in January"]
    with pytest.raises(UsageError) as refused:
        put_pairs(minutes, {}, [("cases.1.discussion", "first"), ("cases.1.discussion", CANARY)])
    assert "cases.1.discussion is given twice" in str(refused.value) and CANARY not in str(refused.value)


def test_correct__an_entry_given_empty_is_taken_out_and_the_others_move_up(cli, repo):
    """A person traced entered twice by mistake: --set people.1= takes that entry out of the correction (it said
    'entry 1 is missing', and only a whole file could do it); an entry that is not there is refused, naming it."""
    case_id = register(cli)
    traced = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", *PEOPLE, "--no-input", "--json").json()["record_id"]
    before = commit_count(repo)
    missing = cli("correct", case_id, traced, "--set", "people.3=", "--reason", "entered twice")
    assert missing.code == 2 and "takes out entry 3, which people does not have (2 entries)" in missing.stderr, missing.stderr
    both = cli("correct", case_id, traced, "--set", "people.1=", "--set", "people.1.found=no", "--reason", "entered twice")
    assert both.code == 2 and "entry 1 of people is both taken out and changed" in both.stderr, both.stderr
    assert commit_count(repo) == before
    fixed = cli("correct", case_id, traced, "--set", "people.1=", "--reason", "entered twice", "--json")
    assert fixed.code == 0, fixed.stderr
    fields = cli("show", case_id, fixed.json()["record_id"], "--json").json()["fields"]
    assert fields["people"] == [{"name": "Baraka", "relationship": "uncle", "found": "no"}]
    assert CANARY not in missing.stderr + both.stderr


def test_correct__a_set_of_no_field_is_refused_by_its_place_as_a_new_records_is(cli, repo):
    case_id = register(cli)
    traced = cli("tracing", case_id, "--outcome", "ongoing", "--source", "child", *PEOPLE, "--no-input", "--json").json()["record_id"]
    before = commit_count(repo)
    wrong = cli("correct", case_id, traced, "--set", "people.2.found=yes", "--set", f"{CANARY.split()[0]}.x=1", "--reason", "typo",
                "--json")
    assert wrong.code == 4 and [f["field"] for f in wrong.json()["fields"]] == ["--set (2nd)"], wrong.stdout
    assert CANARY.split()[0] not in wrong.stdout + wrong.stderr and commit_count(repo) == before


@pytest.mark.parametrize("field, expected", [
    ("actions[3].by", "actions.A3.by"), ("goals[1]", "goals.G1"), ("people[1].found", "people.1.found"),
    ("people[4].found", "people.4.found"), ("child.name", "child.name"), ("cases[2].decisions", "cases.2.decisions"),
])
def test_as_set__an_entrys_field_named_as_set_reaches_it(field, expected):
    """A correction's refusal names an entry's field as `--set` reaches it: by its ID where the entry has one
    (a plan's goals and actions), else by its number; the form's `actions[3].by` is a path --set refuses."""
    from cpcm.domain.setpaths import as_set

    body = {"actions": [{"id": "A1"}, {"id": "A2"}, {"id": "A3"}], "goals": [{"id": "G1"}],
            "people": [{"found": "maybe"}], "cases": [{}, {}]}
    assert as_set(field, body) == expected
