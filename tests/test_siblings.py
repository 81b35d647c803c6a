"""Siblings who arrive together: `cpcm register --sibling-of CASE` starts the child's registration
from the family and home part of CASE's (never the child's own details), and links the two
cases in the registration's one commit; `cpcm link A B --sibling` links two registered cases;
`cpcm show` lists "sibling of CP-…" by case ID only (docs/commands/register.md#siblings)."""
from __future__ import annotations

import json
import subprocess

from conftest import CANARY, register
from cpcm.store.layout import case_rel, split_rel

FAMILY_NAME = CANARY.split()[1]  # the brothers' and sisters' own names share it, not the eldest's whole name (a duplicate's sign)
FAMILY = {"location": "Nyalenda, Kisumu", "lives_with": "relatives", "caregiver_name": f"{CANARY} Carer",
          "caregiver_relationship": "grandmother", "contact": "0700 000 001", "identified_by": "community_member",
          "registration_place": "Kisumu children's office"}


def commits(repo) -> list[str]:
    return subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True, check=True).stdout.splitlines()


def changed(repo) -> list[str]:
    """The files the last commit added."""
    return subprocess.run(["git", "-C", str(repo), "show", "--name-only", "--format=", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.split()


def eldest(cli) -> str:
    return register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2014-04-01", "disability": "yes"},
                    caregiver={"name": f"{CANARY} Carer", "relationship": "grandmother"}, contact="0700 000 001",
                    registration_place="Kisumu children's office", immediate_needs=["food"], notes=f"{CANARY} notes",
                    concerns=["neglect", "child_labour"], risk="high")


def sibling_form(name: str, sex: str, dob: str, risk: str = "medium") -> dict:
    """Only the child's own part: the family and home fields are left to the sibling's case."""
    return {"child": {"name": name, "sex": sex, "date_of_birth": dob}, "concerns": ["neglect"], "risk": risk,
            "consent": {"child": "given", "caregiver": "refused"}}


def test_register_sibling_of__three_siblings_share_the_family_part_and_nothing_else(cli_as, repo):
    amina = cli_as("amina")
    first = eldest(amina)
    before = len(commits(repo))
    done = amina("register", "--sibling-of", first, "--from-file", "-", "--json", "--no-input",
                 input=json.dumps(sibling_form(f"Baraka {FAMILY_NAME}", "male", "2016-02-01")))
    assert done.code == 0, done.stderr
    second = done.json()["case_id"]
    assert done.json()["sibling_of"] == first and done.json()["siblings"] == [first]
    assert done.json()["possible_duplicates"] == []
    # the fields taken over are named, never their values
    assert "from " + first + ": location, lives_with, caregiver.name, caregiver.relationship, contact, identified_by, " \
           "registration_place" in done.stderr
    third = amina("register", "--sibling-of", first, "--from-file", "-", "--json", "--no-input", "--location", "Manyatta B",
                  input=json.dumps(sibling_form(f"Neema {FAMILY_NAME}", "female", "2019-06-01", "low"))).json()["case_id"]
    # one commit each, the registration's, holding the links of the group: the third child is the
    # first's sibling and the second's, which the first's case lists
    assert len(commits(repo)) == before + 2
    assert commits(repo)[0].startswith(f"register {third} ")
    files = changed(repo)
    assert sum(f.startswith(f"{case_rel(third)}/") and "case_link" in f for f in files) == 2
    assert sum(f.startswith(f"{case_rel(first)}/") and "case_link" in f for f in files) == 1
    assert sum(f.startswith(f"{case_rel(second)}/") and "case_link" in f for f in files) == 1
    shown = {c: amina("show", c, "--json").json() for c in (first, second, third)}
    for case_id in (second, third):
        for key, value in FAMILY.items():
            if not (case_id == third and key == "location"):
                assert shown[case_id][key] == value, key
        # never the child's own details, consent, risk, concerns, needs or notes
        assert shown[case_id]["child"]["name"] != CANARY and shown[case_id]["child"].get("disability") is None
        assert shown[case_id]["immediate_needs"] == [] and shown[case_id]["notes"] is None
        assert shown[case_id]["concerns"] == ["neglect"] and shown[case_id]["risk"] != "high"
        assert shown[case_id]["registration_consent"]["caregiver"] == "refused"
    assert shown[third]["location"] == "Manyatta B"  # a flag overrides what the sibling's case gives
    assert shown[second]["child"]["sex"] == "male" and shown[second]["child"]["date_of_birth"] == "2016-02-01"
    # each case lists its siblings by ID, with the relation
    assert [(link["case_id"], link["relation"]) for link in shown[first]["links"]] == [(second, "sibling"), (third, "sibling")]
    assert [(link["case_id"], link["relation"]) for link in shown[second]["links"]] == [(first, "sibling"), (third, "sibling")]
    assert [(link["case_id"], link["relation"]) for link in shown[third]["links"]] == [(first, "sibling"), (second, "sibling")]
    text = amina("show", second)
    assert f"sibling of {first}" in text.stdout
    assert sum(FAMILY_NAME in line for line in text.stdout.splitlines()) == 2  # its own name and its caregiver's: no one else's
    assert cli_as("sup")("verify").code == 0
    assert not any(FAMILY_NAME in message for message in commits(repo))


def test_register_sibling_of__the_empty_fields_of_a_blank_form_are_taken_from_the_sibling(cli_as):
    """`cpcm form blank registration` leaves every field empty: an empty one counts as not given."""
    amina = cli_as("amina")
    first = eldest(amina)
    form = dict(sibling_form("Test Two", "male", "2016-02-01"), location=None, contact="", registration_place=None,
                caregiver={"name": None, "relationship": None}, lives_with=None, identified_by="")
    done = amina("register", "--sibling-of", first, "--from-file", "-", "--json", "--no-input",
                 "--set", "caregiver.relationship=aunt", input=json.dumps(form))
    assert done.code == 0, done.stderr
    shown = amina("show", done.json()["case_id"], "--json").json()
    assert {key: shown[key] for key in FAMILY} == dict(FAMILY, caregiver_relationship="aunt")


def test_register_sibling_of__a_case_the_worker_cannot_read_is_refused_and_nothing_written(cli_as, repo):
    first = eldest(cli_as("amina"))
    before = commits(repo)
    folders = sorted(str(p.relative_to(repo)) for p in (repo / "cases").rglob("*"))  # every folder and file
    refused = cli_as("otieno")("register", "--sibling-of", first, "--from-file", "-", "--no-input",
                               input=json.dumps(sibling_form(f"{CANARY} Two", "male", "2016-02-01")))
    assert refused.code == 5, refused.stderr
    assert first in refused.stderr and CANARY not in refused.stderr + refused.stdout
    assert commits(repo) == before and sorted(str(p.relative_to(repo)) for p in (repo / "cases").rglob("*")) == folders
    from cpcm.domain.ids import new_case_id

    missing = cli_as("amina")("register", "--sibling-of", new_case_id(), "--from-file", "-", "--no-input",
                              input=json.dumps(sibling_form("Test Two", "male", "2016-02-01")))
    assert missing.code == 3 and commits(repo) == before


def test_register_sibling_of__a_sibling_case_the_worker_cannot_read_is_named_not_linked(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    first, theirs = eldest(amina), register(cli_as("otieno"))
    assert sup("link", first, theirs, "--sibling").code == 0
    done = amina("register", "--sibling-of", first, "--from-file", "-", "--no-input",
                 input=json.dumps(sibling_form("Test Two", "male", "2016-02-01")))
    assert done.code == 0, done.stderr
    new = done.stdout.strip()
    assert f"registered {new}, linked as a sibling of {first}\n" in done.stderr
    assert f"{theirs} is a sibling's case that you cannot read" in done.stderr and f"cpcm link {new} {theirs} --sibling" in done.stderr
    assert not any(f.startswith(f"{case_rel(theirs)}/") for f in changed(repo))
    assert sup("link", new, theirs, "--sibling").code == 0
    assert [x["case_id"] for x in sup("show", theirs, "--json").json()["links"]] == [first, new]


def test_register_sibling_of__the_duplicate_check_does_not_take_the_shared_family_for_the_same_child(cli_as):
    """It compares names (and the birth year or the caregiver): a sibling born the same year, with
    the caregiver copied, is no possible duplicate; the same child again still is."""
    amina = cli_as("amina")
    first = register(amina, child={"name": "Test Child Achieng", "sex": "female", "date_of_birth": "2015-04-01"})
    twin = amina("register", "--sibling-of", first, "--from-file", "-", "--json", "--no-input",
                 input=json.dumps(sibling_form("Test Child Otieno", "male", "2015-04-01")))
    assert twin.code == 0 and twin.json()["possible_duplicates"] == []
    again = amina("register", "--sibling-of", first, "--from-file", "-", "--json", "--no-input",
                  input=json.dumps(sibling_form("Test Child Achieng", "female", "2015-04-01")))
    assert [d["case_id"] for d in again.json()["possible_duplicates"]] == [first]


def test_link_sibling__two_registered_cases_one_commit_both_links(cli_as, repo):
    amina = cli_as("amina")
    a, b = eldest(amina), register(amina, child={"name": f"{CANARY} Beta", "sex": "male", "age_estimate": 7})
    before = len(commits(repo))
    done = amina("link", a, b, "--sibling", "--json")
    assert done.code == 0, done.stderr
    assert done.json() == {"case_id": a, "record_id": done.json()["record_id"], "kind": "case_link", "sibling": b,
                           "removed": False, "warnings": [], "next_steps": []}
    assert commits(repo)[0] == f"link {a} {b}" and len(commits(repo)) == before + 1
    assert sorted(split_rel(f)[1] for f in changed(repo)) == sorted([a, b])
    assert [(x["case_id"], x["relation"]) for x in amina("show", a, "--json").json()["links"]] == [(b, "sibling")]
    assert [(x["case_id"], x["relation"]) for x in amina("show", b, "--json").json()["links"]] == [(a, "sibling")]
    assert f"sibling of {a}" in amina("show", b).stdout
    again = amina("link", b, a, "--sibling")
    assert again.code == 4 and "linked as siblings already" in again.stderr and len(commits(repo)) == before + 1
    assert amina("link", a, b).code == 2  # the relation is said
    assert amina("link", a, a, "--sibling").code == 2
    assert cli_as("otieno")("link", a, b, "--sibling").code == 5
    assert len(commits(repo)) == before + 1
    assert cli_as("sup")("verify").code == 0


def test_link_sibling__two_cases_of_one_child_are_not_siblings(cli_as, repo):
    sup = cli_as("sup")
    keep, other = register(cli_as("amina")), register(cli_as("amina"))
    assert sup("merge-cases", keep, other).code == 0
    refused = sup("link", other, keep, "--sibling")
    assert refused.code == 4 and "two cases of one child" in refused.stderr


def test_register_sibling_of__on_a_terminal_only_the_childs_own_questions_are_asked(cli_as, monkeypatch):
    import typer

    from cpcm.cli import common

    amina = cli_as("amina")
    first = eldest(amina)
    answers = {"Child's name": "Test Two", "Sex": "male", "Date of birth": "2016-02-01", "Initial protection concerns": "neglect",
               "Initial risk level": "medium", "Child's assent": "given", "Caregiver's consent": "given"}
    asked = []

    def prompt(text, **_):
        asked.append(text)
        return next((answer for start, answer in answers.items() if text.startswith(start)), "")

    monkeypatch.setattr(common, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(typer, "confirm", lambda text, **_: asked.append(text) or False)
    done = amina("register", "--sibling-of", first, "--json")
    assert done.code == 0, done.stderr
    assert any(t.startswith("Child's name") for t in asked) and any(t.startswith("Initial risk level") for t in asked)
    for family in ("Where the child lives now", "Who the child lives with", "Main caregiver's name", "Caregiver's relationship",
                   "How to reach", "How the child was identified", "Where the registration took place"):
        assert not any(t.startswith(family) for t in asked), family
    shown = amina("show", done.json()["case_id"], "--json").json()
    assert {key: shown[key] for key in FAMILY} == FAMILY and shown["child"]["name"] == "Test Two"


def test_link_remove__a_link_made_by_mistake_is_taken_out_of_both_cases_in_one_commit_and_can_be_made_again(cli_as, repo):
    amina = cli_as("amina")
    a, b = eldest(amina), register(amina, child={"name": f"{CANARY} Beta", "sex": "male", "age_estimate": 7})
    c = register(amina, child={"name": f"{CANARY} Gamma", "sex": "female", "age_estimate": 5})
    assert amina("link", a, b, "--sibling").code == 0 and amina("link", b, c, "--sibling").code == 0
    assert [m["case_id"] for m in amina("show", a, "--json").json()["siblings"]] == [b, c]  # c through b
    before = len(commits(repo))
    missing = amina("link", a, b, "--sibling", "--remove", "--json")
    assert missing.code == 4 and [f["field"] for f in missing.json()["fields"]] == ["reason"]
    not_linked = amina("link", a, c, "--sibling", "--remove", "--reason", "x")
    assert not_linked.code == 4 and "not linked as siblings" in not_linked.stderr  # linked through b only
    assert amina("link", a, b, "--sibling", "--reason", "x").code == 2  # --reason goes with --remove
    assert len(commits(repo)) == before
    named = amina("link", b, a, "--sibling", "--remove", "--reason", f"{CANARY} is not his sister", "--json")
    assert named.code == 4 and [f["field"] for f in named.json()["fields"]] == ["reason"]  # written in both: no names
    assert CANARY not in named.stdout + named.stderr and len(commits(repo)) == before
    done = amina("link", b, a, "--sibling", "--remove", "--reason", "typed the wrong case ID", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["removed"] is True and done.json()["sibling"] == a
    assert commits(repo)[0] == f"unlink {b} {a}" and len(commits(repo)) == before + 1
    assert sorted(split_rel(f)[1] for f in changed(repo)) == sorted([a, b])
    assert amina("show", a, "--json").json()["links"] == [] and amina("show", a, "--json").json()["siblings"] == []
    assert [m["case_id"] for m in amina("show", b, "--json").json()["siblings"]] == [c]  # b and c stay siblings
    assert f"sibling of {b}" not in amina("show", a).stdout
    log = amina("log", a).stdout
    assert f"no longer sibling of {b}" in log and "wrong case ID" not in log  # the reason is in the record only
    assert amina("link", a, b, "--sibling").code == 0  # linked again: listed again
    assert [(x["case_id"], x["relation"]) for x in amina("show", a, "--json").json()["links"]] == [(b, "sibling")]
    assert all(CANARY not in m for m in commits(repo))
    assert cli_as("sup")("verify").code == 0
