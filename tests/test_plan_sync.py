"""A plan version written on a laptop while the office approved (or rejected) the version before:
after the sync the decision decides the version it names, as it would have had it come first (an
approved version 1 is in force while version 2 waits, its actions on the worker's `due`), and the
merge says the two were written apart (`plans-concurrent`) until the supervisor decides the latest."""
from __future__ import annotations

import json

from conftest import NOW, Cli, settling_said
from test_conference import planned_case
from test_sync import VISIT, check_codes, folded, laptops, merge_both  # noqa: F401 (laptops: a fixture)


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


def test_approving_the_latest_version_written_apart_names_the_open_actions_of_the_version_in_force_it_leaves_out(laptops, team):
    """The office's version 2 (an action added: a conference's, say) was approved there, while amina
    moved a date on her laptop from version 1, which never held it. The merge's advice names the action
    the latest leaves out, and approving it as the advice says warns of it, as writing it would have."""
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    case_id = planned_case(amina, "Zqxcanary Plan")
    laptops.sync("amina")
    laptops.sync("sup")
    assert sup("approve", case_id, "plan").code == 0  # version 1: A1, A2
    merge_both(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})
    added = amina_office("plan", case_id, "--from-current", "--reason", "conference_decision",
                         "--set", "actions.new.what=Meet the head teacher", "--set", "actions.new.who=caseworker",
                         "--set", "actions.new.by=2026-12-07", "--set", "actions.new.mode=direct", "--json")
    assert added.code == 0 and added.json()["new_actions"] == ["A3"], added.stderr
    assert sup("approve", case_id, "plan").code == 0  # version 2, with A3, in force at the office
    moved = amina("plan", case_id, "--from-current", "--reason", "review", "--set", "actions.A1.by=2026-12-20", "--json")
    assert moved.code == 0 and moved.json()["actions"] == ["A1", "A2"], moved.stderr  # from version 1, on her laptop
    merge_both(laptops)
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "plans-concurrent")
    assert "leaves out open action(s) A3 of the version in force" in advice, advice
    decided = sup("approve", case_id, "plan", "--json")
    assert decided.code == 0, decided.stderr
    assert any(w.startswith(f"{case_id}: open action(s) A3 of the plan in force until now are not in plan version 3, in force now")
               for w in decided.json()["warnings"]), decided.json()
    assert "plans-concurrent" not in check_codes(sup, case_id)


def test_an_action_id_two_copies_gave_apart_to_two_actions_is_named_and_a_mark_of_one_does_not_close_the_other(laptops, team):
    """At the office amina adds the school uniform (A3), the supervisor approves it and amina marks A3
    done; on her laptop, apart, she added the counselling referral, numbered A3 too. After the merge the
    conflict names A3, the mark made before it counts for neither action, and once the laptop's version
    is approved its A3 (the referral) is open and due, and the approval names the uniform it drops."""
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    case_id = planned_case(amina, "Zqxcanary Plan")
    laptops.sync("amina")
    laptops.sync("sup")
    assert sup("approve", case_id, "plan").code == 0  # version 1: A1, A2
    merge_both(laptops)
    amina_office = Cli({"CPCM_REPO": str(laptops.repo), "CPCM_IDENTITY": str(team["amina"][0]), "CPCM_NOW": NOW})

    def added(cli, what, by):
        done = cli("plan", case_id, "--from-current", "--reason", "review", "--set", f"actions.new.what={what}",
                   "--set", "actions.new.who=family", "--set", f"actions.new.by={by}", "--set", "actions.new.mode=direct", "--json")
        assert done.code == 0 and done.json()["new_actions"] == ["A3"], done.stderr
    added(amina_office, "Buy school uniform", "2026-12-01")
    added(amina, "Refer to counselling service", "2026-12-05")  # apart: A3 too
    assert sup("approve", case_id, "plan").code == 0  # the uniform's version, at the office
    assert amina_office("followup", case_id, *VISIT, "--done", "A3").code == 0  # the uniform bought
    merge_both(laptops)
    conflict = next(c for c in folded(laptops, "sup", case_id).conflicts if c["code"] == "plans-concurrent")
    assert conflict["actions"] == ["A3"], conflict
    advice = next(p["message"] for p in json.loads(sup("check", case_id, "--json").stdout) if p["code"] == "plans-concurrent")
    assert "Action ID(s) A3 were given to a different new action on each copy" in advice, advice
    decided = sup("approve", case_id, "plan", "--json")  # the counselling referral's version
    assert decided.code == 0, decided.stderr
    assert any(w.startswith(f"{case_id}: open action(s) A3 (not the A3 of this version: numbered apart on another copy) of "
                            "the plan in force until now") for w in decided.json()["warnings"]), decided.json()
    for cli in (sup, amina):
        later = Cli({**cli.env, "CPCM_NOW": "2026-12-06T10:00+03:00"})
        due = later("due", "--worker", "all", "--within", "30", "--json").json()
        assert any(item["case_id"] == case_id and item["code"] == "plan-action" and "A3" in item["title"] for item in due), due
