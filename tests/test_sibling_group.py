"""Siblings as a group: `cpcm link A B --sibling` and `cpcm link B C --sibling` make A, B and C one
sibling group, so `cpcm show A` (its table and `--json`) and A's case file name C too, linked
through B, though no record links A to C and none is written for it. The group is read through
the cases the reader reads: a sibling's case they cannot read is named by its ID only, and the
siblings only it names are not known to them (docs/commands/cases.md#cpcm-link)."""
from __future__ import annotations

import subprocess

from conftest import CANARY, register


def commits(repo) -> list[str]:
    return subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True, check=True).stdout.splitlines()


def child(name: str) -> dict:
    return {"name": name, "sex": "female", "date_of_birth": "2015-04-01"}


def members(shown: dict) -> list[tuple[str, str | None, bool]]:
    return [(m["case_id"], m["through"], m["readable"]) for m in shown["siblings"]]


def test_link__three_siblings_linked_pair_by_pair_are_one_group_in_show_and_the_case_file(cli_as, repo):
    amina = cli_as("amina")
    a, b, c = (register(amina, child=child(f"{CANARY} {n}")) for n in ("Alpha", "Beta", "Gamma"))
    before = len(commits(repo))
    assert amina("link", a, b, "--sibling").code == 0
    assert amina("link", b, c, "--sibling").code == 0
    assert len(commits(repo)) == before + 2 and commits(repo)[:2] == [f"link {b} {c}", f"link {a} {b}"]

    table = amina("show", a)  # what the worker reads first
    assert table.code == 0, table.stderr
    assert f"sibling of {b}: a brother or sister's case\n" in table.stdout
    assert f"sibling of {c}: a brother or sister's case (linked through {b})" in table.stdout
    assert f"{CANARY} Beta" not in table.stdout and f"{CANARY} Gamma" not in table.stdout  # by case ID only
    shown = amina("show", a, "--json").json()
    assert members(shown) == [(b, None, True), (c, b, True)]
    # the records of the case stay as written: its one link names B
    assert [(x["case_id"], x["relation"]) for x in shown["links"]] == [(b, "sibling")]
    assert members(amina("show", c, "--json").json()) == [(b, None, True), (a, b, True)]
    assert members(amina("show", b, "--json").json()) == [(a, None, True), (c, None, True)]
    rendered = amina("render", "case-file", a)
    assert rendered.code == 0, rendered.stderr
    assert f"**Brothers' and sisters' cases:** {b}, {c} (linked through {b})" in rendered.stdout
    assert f"{CANARY} Gamma" not in rendered.stdout
    sw = amina("render", "case-file", a, "--lang", "sw").stdout
    assert f"**Kesi za kaka na dada:** {b}, {c} (zimeunganishwa kupitia {b})" in sw
    # reading the group wrote nothing
    assert len(commits(repo)) == before + 2
    # a direct link of two cases the group holds already is still recorded (a reader of A and C
    # who does not read B sees the two linked): then C is A's own sibling
    assert amina("link", a, c, "--sibling").code == 0
    assert members(amina("show", a, "--json").json()) == [(b, None, True), (c, None, True)]


def test_link__a_sibling_case_the_reader_cannot_read_is_named_by_id_and_not_followed(cli_as):
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    a = register(amina, child=child(f"{CANARY} Alpha"))
    b = register(otieno, child=child(f"{CANARY} Beta"))  # otieno's: amina does not read it
    c = register(amina, child=child(f"{CANARY} Gamma"))
    assert sup("link", a, b, "--sibling").code == 0  # a supervisor reads every case
    assert sup("link", b, c, "--sibling").code == 0
    assert f"sibling of {c}: a brother or sister's case (linked through {b})" in sup("show", a).stdout
    assert members(sup("show", a, "--json").json()) == [(b, None, True), (c, b, True)]
    # amina reads A and C, not B: B is named by its ID, and what only B's links say (C) is not known to her
    shown = amina("show", a, "--json").json()
    assert members(shown) == [(b, None, False)]
    assert shown["siblings"][0]["text"] == f"sibling of {b}: a brother or sister's case (a case you cannot read)"
    table = amina("show", a)
    assert f"sibling of {b}: a brother or sister's case (a case you cannot read)" in table.stdout
    assert CANARY not in table.stderr and f"{CANARY} Beta" not in table.stdout
    assert members(amina("show", c, "--json").json()) == [(b, None, False)]
    rendered = amina("render", "case-file", a)
    assert rendered.code == 0, rendered.stderr
    assert f"**Brothers' and sisters' cases:** {b}\n" in rendered.stdout
    assert f"{CANARY} Beta" not in rendered.stdout
