"""A key the form does not know is refused, and the refusal says which one and what the form has:
a `--set` by its place among the --set given (the 2nd --set), a file's key by where it is, each
with the fields the form (or the entry) has. The key itself is never repeated: it may be a name."""
from __future__ import annotations

import json

from conftest import CANARY, commit_count, register

VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school", "--visited-by",
         "professional", "--risk-increased", "no", "--no-input")


def test_set__a_key_of_no_field_is_refused_by_its_place_with_the_fields_of_the_form(cli, repo):
    case_id = register(cli)
    before = commit_count(repo)
    refused = cli("followup", case_id, *VISIT, "--set", "observations=all well", "--set", f"{CANARY}=x", "--set",
                  "zzqmarker=y", "--json")
    assert refused.code == 4, refused.stderr
    fields = refused.json()["fields"]
    assert [f["field"] for f in fields] == ["--set (2nd)", "--set (3rd)"], fields
    assert "names no field of the followup form" in fields[0]["reason"] and "observations" in fields[0]["reason"]
    said = refused.stdout + refused.stderr
    assert CANARY not in said and "zzqmarker" not in said and "cpcm form blank followup" in said
    assert commit_count(repo) == before


def test_from_file__a_key_of_no_field_is_refused_with_the_fields_of_the_form(cli, repo):
    case_id = register(cli)
    refused = cli("followup", case_id, *VISIT, "--from-file", "-", "--json", input=json.dumps({CANARY: "x"}))
    assert refused.code == 4, refused.stderr
    [found] = [f for f in refused.json()["fields"] if f["field"] == "…"]
    assert "its fields: method, " in found["reason"] and CANARY not in refused.stdout + refused.stderr


def test_correct__a_note_given_a_key_of_no_field_says_so_not_that_its_text_is_empty(cli):
    case_id = register(cli)
    note = cli("note", case_id, "--text", "called the school", "--json")
    refused = cli("correct", case_id, note.json()["record_id"], "--set", f"{CANARY}=x", "--reason", "typo", "--json")
    assert refused.code == 4, refused.stderr
    assert [(f["field"], f["reason"]) for f in refused.json()["fields"]] == [
        ("…", "is not a field of a note (not shown, as a key may hold personal details; its fields: text)")]
    assert CANARY not in refused.stdout + refused.stderr


def test_set__two_keys_of_no_field_that_clash_are_refused_by_their_places_not_named_by_the_clash(cli, repo):
    """--set NAME=1 --set NAME.x=2 (a name typed where a field belongs) was refused as a clash that named it
    ('wanjiru is given a value, so it cannot also hold the field wanjiru.x'); a key of no field is now checked
    first, and refused by its place."""
    from conftest import CANARY, commit_count

    before = commit_count(repo)
    word = CANARY.split()[0].lower()
    clash = cli("register", "--no-input", "--name", "A B", "--set", f"{word}=1", "--set", f"{word}.x=2", "--json")
    assert clash.code == 4 and [f["field"] for f in clash.json()["fields"]] == ["--set (1st)", "--set (2nd)"], clash.stdout
    assert word not in (clash.stdout + clash.stderr).lower() and commit_count(repo) == before
