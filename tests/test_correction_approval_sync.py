"""A plan version or a closure request its worker corrected on her laptop while a supervisor
approved it at the office: after the sync the approval would read as covering a correction nobody
who decides saw. The merge names the two (`correction-approved-concurrent`), `cpcm check` tells a
supervisor to check the correction and what undoes it, and a note settles it. A correction the
other copy rejected, or one of what a decision does not stand on (a summary), is no clash."""
from __future__ import annotations

import json

from conftest import register
from test_conference import planned_case
from test_sync import CLOSE, check_codes, laptops, merge_both  # noqa: F401 (laptops: a fixture)

CODE = "correction-approved-concurrent"


def _message(cli, case_id: str, code: str) -> str:
    return next(p["message"] for p in json.loads(cli("check", case_id, "--json").stdout) if p["code"] == code)


def _corrected_and_decided(laptops, decide: tuple[str, ...], field: str = "contingency=The grandmother takes the child in"):
    """amina's plan version 1 waits on both copies; she corrects it on her laptop while the supervisor
    decides it (`decide`) at the office; merged both ways: (amina, sup, case_id, correction, decision, conflicts)."""
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    case_id = planned_case(amina, "Zqxcanary Apart")
    laptops.sync("amina")
    laptops.sync("sup")
    plan_id = amina("show", case_id, "--json").json()["plan"]["record_id"]
    corrected = amina("correct", case_id, plan_id, "--set", field, "--reason", "the wrong relative", "--json")
    assert corrected.code == 0, corrected.stderr
    decided = sup(*decide[:1], case_id, "plan", *decide[1:], "--json")
    assert decided.code == 0, decided.stderr
    merged = merge_both(laptops)
    return amina, sup, case_id, corrected.json()["record_id"], decided.json()["record_id"], merged["conflicts"]


def test_a_plan_version_corrected_on_a_laptop_while_approved_at_the_office_is_named_for_a_supervisor_to_check(laptops):
    amina, sup, case_id, correction, approval, conflicts = _corrected_and_decided(laptops, ("approve",))
    assert [(c["code"], c["records"]) for c in conflicts] == [(CODE, sorted([correction, approval]))]
    for cli in (sup, amina):
        codes = check_codes(cli, case_id)
        assert CODE in codes and "plans-concurrent" not in codes, codes
    message = _message(sup, case_id, CODE)
    assert "the plan version was corrected on one copy while a supervisor approved it on another" in message
    assert f"({', '.join(sorted([correction, approval]))})" in message and f"cpcm show {case_id} {correction}" in message
    assert f"cpcm plan {case_id} --from-current --reason correction" in message and f"cpcm note {case_id}" in message
    assert "Zqxcanary" not in message
    assert sup("note", case_id, "--text", "checked the grandmother's part: it stands").code == 0
    assert CODE not in check_codes(sup, case_id)


def test_a_plan_version_corrected_while_rejected_at_the_office_stays_rejected_and_is_no_clash(laptops):
    amina, sup, case_id, correction, rejection, conflicts = _corrected_and_decided(
        laptops, ("reject", "--note", "add an action for the birth certificate"))
    assert conflicts == []
    plan = sup("show", case_id, "--json").json()["plan"]
    assert (plan["approval"], plan["rejection"]["record_id"]) == (None, rejection)
    assert not {CODE, "plans-concurrent"} & set(check_codes(amina, case_id))


def test_a_correction_of_what_no_decision_stands_on_is_no_clash(laptops):
    """The plan's notes are no `decided` field (cpcm/forms/plan.yaml): a worker may mend them after the approval too."""
    amina, sup, case_id, correction, approval, conflicts = _corrected_and_decided(
        laptops, ("approve",), field="notes=Met at the school on Tuesday")
    assert conflicts == []
    assert not {CODE, "plans-concurrent"} & set(check_codes(sup, case_id))


def test_a_closure_request_corrected_on_a_laptop_while_approved_at_the_office_is_named(laptops):
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    case_id = register(amina)
    assert amina("close", case_id, *CLOSE).code == 0
    laptops.sync("amina")
    laptops.sync("sup")
    closure_id = amina("show", case_id, "--json").json()["closure"]["record_id"]
    corrected = amina("correct", case_id, closure_id, "--set", "open_items_explained=nothing is left open",
                      "--reason", "the explanation was left out", "--json")
    assert corrected.code == 0, corrected.stderr
    approved = sup("approve", case_id, "closure", "--json")
    assert approved.code == 0, approved.stderr
    conflicts = merge_both(laptops)["conflicts"]
    found = [(c["code"], c["records"]) for c in conflicts if c["code"] == CODE]
    assert found == [(CODE, sorted([corrected.json()["record_id"], approved.json()["record_id"]]))], conflicts
    message = _message(sup, case_id, CODE)
    assert "the closure request was corrected on one copy" in message and f"cpcm reopen {case_id}" in message
