"""A plan version written on a laptop while the office approved (or rejected) the version before:
after the sync the decision decides the version it names, as it would have had it come first (an
approved version 1 is in force while version 2 waits, its actions on the worker's `due`), and the
merge says the two were written apart (`plans-concurrent`) until the supervisor decides the latest."""
from __future__ import annotations

import json

from conftest import NOW, Cli, settling_said
from test_conference import planned_case
from test_sync import check_codes, laptops, merge_both  # noqa: F401 (laptops: a fixture)


def test_a_version_written_apart_from_the_approval_of_the_one_before_leaves_that_one_in_force_until_the_latest_is_decided(laptops, team):
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    case_id = planned_case(amina, "Zqxcanary Plan")  # version 1, waiting for a supervisor
    laptops.sync("amina")
    laptops.sync("sup")
    revised = amina("plan", case_id, "--from-current", "--reason", "correction", "--json")  # version 2, on her laptop
    assert revised.code == 0, revised.stderr
    approved = sup("approve", case_id, "plan", "--json")  # of version 1, at the office
    assert approved.code == 0, approved.stderr
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [
        ("plans-concurrent", sorted([revised.json()["record_id"], approved.json()["record_id"]]))]
    for cli in (sup, amina):
        codes = check_codes(cli, case_id)
        assert "plans-concurrent" in codes and "transition-out-of-order" not in codes, codes
        shown = cli("show", case_id, "--json").json()["plan"]
        assert (shown["version"], shown["approved_at"]) == (2, None)  # version 2 waits for a decision
        assert (shown["previous"]["version"], shown["previous"]["approved_by"]) == (1, "sup")  # version 1 in force
        assert "version 1 stays in force" in cli("show", case_id).stdout
        due = cli("due", "--worker", "amina", "--within", "30", "--json").json()
        assert any(item["case_id"] == case_id and item["code"] == "plan-action" and "version 1" in item["why"] for item in due), due
    decided = sup("approve", case_id, "plan", "--json")
    assert decided.code == 0 and "this settles the sync conflict (plans-concurrent)" in " ".join(decided.json()["next_steps"])
    assert len(settling_said(decided, "plans-concurrent")) == 1, decided.json()
    codes = check_codes(sup, case_id)
    assert "plans-concurrent" not in codes and "transition-out-of-order" not in codes, codes
