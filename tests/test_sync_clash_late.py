"""A record written to a case after another copy's sync gave that case a new ID (two copies had registered different
children under one case ID: docs/team.md, 'Two cases that drew one ID') follows it to its new ID when a later sync
brings the move: it never lands in the other child's case, which keeps the old ID."""
import json

import pytest

from conftest import Cli, git
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc
from test_sync import laptops, same_id_on_two_copies, tree_state  # noqa: F401 (the fixture)

LATE = {  # a record sup writes to their case, on their copy, after amina's sync moved it
    "note": lambda sup, case_id: sup("note", case_id, "--text", "late note"),
    "correction": lambda sup, case_id: sup("correct", case_id, "registration", "--set", "child.date_of_birth=2012-01-02",
                                           "--reason", "certificate"),
    "approval": lambda sup, case_id: sup("approve", case_id, "plan"),
}


def planned(worker: Cli, case_id: str) -> None:
    assert worker("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert worker("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    done = worker("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc()))
    assert done.code == 0, done.stderr


def kinds(cli: Cli, case_id: str) -> tuple[str, list[str]]:
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    return shown.json()["child"]["name"], [e["kind"] for e in shown.json()["history"]]


@pytest.mark.parametrize("late", sorted(LATE))
@pytest.mark.parametrize("how", ["synced", "bundle", "bundle-unpushed"])
def test_a_record_written_to_a_case_after_another_copy_moved_it_to_a_new_id_follows_it(
        laptops, monkeypatch, tmp_env, late, how):
    """amina registered "First Child" as CP-X first, on her laptop; sup registered "Other Child" as CP-X later, and took
    it to amina (pushed to the shared place, or in a bundle amina applied). amina's merge kept her CP-X and moved sup's
    case to CP-Y. Meanwhile sup wrote one more record to their CP-X. The sync that meets the move and that record (sup's,
    or amina's when she had not pushed her merge yet: bundle-unpushed) takes the record to CP-Y, rewritten as the move
    writes its records (the same record but its case ID), and says so. Before, the three-way merge kept it in CP-X: a
    record of Other Child in First Child's case, shown there (a correction of the registration even showed First
    Child's case under Other Child's name), on both copies."""
    amina, sup, case_id, _ = same_id_on_two_copies(laptops, monkeypatch)
    if late == "approval":  # the plan of sup's case written by its worker, amina, on sup's copy
        planned(Cli({**sup.env, "CPCM_IDENTITY": str(laptops.keys["amina"][0])}), case_id)
    if how == "synced":
        laptops.sync("sup")
        [moved] = laptops.sync("amina")["reidentified"]
    else:
        bundle = tmp_env / "sup.bundle"
        assert sup("bundle", "create", str(bundle)).code == 0
        applied = amina("bundle", "apply", str(bundle), "--json")
        assert applied.code == 0, applied.stderr
        [moved] = applied.json()["reidentified"]
    if how == "bundle":
        laptops.sync("amina")
    new = moved["new"]
    written = LATE[late](sup, case_id)
    assert written.code == 0, written.stderr
    before = kinds(sup, case_id)[1]
    held = len(list(next(laptops.clones["sup"].glob(f"cases/*/{case_id}")).glob("*.age")))
    merger, other = ("amina", "sup") if how == "bundle-unpushed" else ("sup", "amina")
    if how == "bundle-unpushed":
        laptops.sync("sup")
    done = laptops.sync(merger)
    assert kinds(laptops.cli(merger), case_id) == ("First Child", ["registration"])  # before: with sup's late record
    assert any(f"went with it to {new}" in note for note in done["notes"]), done
    laptops.sync(other)
    for cli in (sup, amina):
        assert kinds(cli, case_id) == ("First Child", ["registration"])
        name, history = kinds(cli, new)
        assert name == "Other Child" and sorted(history) == sorted(before + ["case_link"])
        checked = cli("verify")
        assert checked.code == 0, checked.stdout
    for worker in ("sup", "amina"):
        files = git(laptops.clones[worker], "ls-files", "cases").split()
        assert [sum(f"/{c}/" in f and f.endswith(".age") for f in files) for c in (case_id, new)] == [1, held + 1]


def test_a_record_written_to_a_moved_case_that_the_merging_worker_cannot_read_stops_the_sync(laptops, monkeypatch, tmp_env):
    """As above (bundle-unpushed), but sup gave their case to otieno before writing the late note: amina, whose merge
    moved the case, cannot read that note, so cannot move it. Her sync stops, naming the two IDs only, and changes
    nothing; a supervisor who applies a bundle of her copy (sup, here) moves it."""
    amina, sup, case_id, _ = same_id_on_two_copies(laptops, monkeypatch)
    bundle = tmp_env / "sup.bundle"
    assert sup("bundle", "create", str(bundle)).code == 0
    [moved] = amina("bundle", "apply", str(bundle), "--json").json()["reidentified"]
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert sup("note", case_id, "--text", "late note").code == 0
    laptops.sync("sup")
    before = tree_state(laptops.clones["amina"])
    refused = amina("sync", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "sync-same-case-id", refused.stderr
    assert f"case {case_id} moved to {moved['new']} (two copies" in refused.stderr and "Child" not in refused.stderr
    assert tree_state(laptops.clones["amina"]) == before
    mine = tmp_env / "amina.bundle"
    assert amina("bundle", "create", str(mine)).code == 0
    applied = sup("bundle", "apply", str(mine), "--json")
    assert applied.code == 0, applied.stderr
    assert any(f"went with it to {moved['new']}" in note for note in applied.json()["notes"])
    assert kinds(sup, case_id) == ("First Child", ["registration"])
    assert kinds(sup, moved["new"]) == ("Other Child", ["registration", "case_link", "assignment", "note"])
