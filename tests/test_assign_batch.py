"""`cpcm assign --batch FILE`: a supervisor hands a leaving worker's cases over in one commit.

Every row is checked first (one bad row and nothing is written); each case gets an assignment
record and is re-encrypted to its new readers, as one `cpcm assign` does; `cpcm verify` accepts
the commit; what each new worker takes over is said once per worker."""
from __future__ import annotations

import json

from conftest import CANARY, git, git_status, head, record_files, register, register_many
from cpcm.crypto import cipher
from cpcm.crypto import identity as identity_mod
from cpcm.store.layout import case_dir


def readers(repo, case_id) -> list[str]:
    text = (case_dir(repo, case_id) / "recipients").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def can_decrypt(path, identity_file) -> bool:
    try:
        cipher.decrypt(path.read_bytes(), identity_mod.load(identity_file, lambda: None).keys)
        return True
    except cipher.NotARecipient:
        return False


def test_assign_batch__a_leaving_workers_cases_in_one_commit_that_verify_accepts(cli_as, repo, team, tmp_path):
    amina, sup = cli_as("amina"), cli_as("sup")
    cases = register_many(amina, 3)
    path = tmp_path / "handover.yaml"
    path.write_text(json.dumps([{"case": cases[0], "worker": "otieno"}, {"case": cases[1], "worker": "otieno"},
                                {"case": cases[2].lower(), "worker": "sup"}]))
    before = head(repo)
    dry = sup("assign", "--batch", str(path), "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    assert dry.json()["checked"] == 3 and dry.json()["assigned"] == 0 and dry.json()["dry_run"] is True
    assert head(repo) == before and git_status(repo) == []

    done = sup("assign", "--batch", str(path))
    assert done.code == 0, done.stderr
    assert "3 assignment(s) checked, 3 written in one commit" in done.stderr
    # what one `assign` says of each case, once per worker
    assert "next: otieno takes over 2 cases and their deadlines" in done.stderr, done.stderr
    assert "next: sup takes over 1 case and its deadlines" in done.stderr, done.stderr
    assert "cpcm list --worker otieno" in done.stderr
    assert git(repo, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert git(repo, "log", "-1", "--format=%s").strip() == "assign batch 3 cases"
    assert git_status(repo) == []
    # each case: an assignment record, re-encrypted to its new readers
    for case_id, worker in ((cases[0], "otieno"), (cases[1], "otieno"), (cases[2], "sup")):
        assert readers(repo, case_id)[0] == worker and "amina" not in readers(repo, case_id)
        files = record_files(repo, case_id)
        assert len(files) == 2  # the registration and the assignment
        assert not any(can_decrypt(p, team["amina"][0]) for p in files)
        assert all(can_decrypt(p, team[worker][0]) for p in files)
        shown = cli_as(worker)("show", case_id, "--json")
        assert shown.code == 0 and shown.json()["worker"] == worker
    assert amina("show", cases[0]).code == 5
    verified = sup("verify", "--json")
    assert verified.code == 0, verified.stdout
    assert verified.json() == []
    # the worker can leave now
    assert sup("team", "remove", "amina").code == 0


def test_assign_batch__a_clock_before_a_cases_registration_is_warned_that_the_assignment_counts_for_no_clock(cli_as, repo,
                                                                                                           tmp_path):
    """The batch is dated now: a clock behind a case's registration (a colleague's laptop whose clock
    was ahead registered it) dates its assignment before the case began; a handover still goes, with
    the warning that says so and what mends it, as one assignment's."""
    cases = register_many(cli_as("amina"), 2)
    path = tmp_path / "handover.yaml"
    path.write_text(json.dumps([{"case": c, "worker": "otieno"} for c in cases]))
    back = cli_as("sup", CPCM_NOW="2026-11-22T09:00:00+03:00")
    result = back("assign", "--batch", str(path))
    assert result.code == 0, result.stderr
    assert "so this record counts for no clock" in result.stderr and f"cpcm correct {cases[0]} registration --at WHEN" in result.stderr


def test_assign_batch__json_names_every_case_and_what_each_worker_takes_over(cli_as, repo, tmp_path):
    cases = register_many(cli_as("amina"), 2)
    path = tmp_path / "handover.csv"
    path.write_text("Case,Worker\n" + "".join(f"{case_id},otieno\n" for case_id in cases))
    late = cli_as("sup", CPCM_NOW="2026-12-30T09:00:00+03:00")  # the initial assessments are overdue by then
    result = late("assign", "--batch", str(path), "--json")
    assert result.code == 0, result.stderr
    data = result.json()
    assert data["assigned"] == 2 and data["checked"] == 2 and data["dry_run"] is False
    assert [(r["case_id"], r["worker"], r["previous"]) for r in data["records"]] == [(c, "otieno", "amina") for c in cases]
    assert all(len(r["record_id"]) == 26 for r in data["records"])
    (entry,) = data["workers"]
    assert entry["worker"] == "otieno" and entry["cases"] == 2 and entry["overdue"] >= 2
    assert data["next_steps"][0].startswith(f"otieno takes over 2 cases and their deadlines ({entry['overdue']} overdue")
    assert data["warnings"] == []


def test_assign_batch__every_bad_row_is_named_and_nothing_is_written(cli_as, repo, tmp_path):
    amina, sup = cli_as("amina"), cli_as("sup")
    cases = register_many(amina, 3)
    rows = [{"case": cases[0], "worker": "otieno"},           # good
            {"case": cases[1], "worker": CANARY},             # no such worker (its value never comes back)
            {"case": "CP-0000-0000", "worker": "otieno"},     # not a case ID
            {"case": cases[0], "worker": "sup"},              # twice
            {"case": cases[2], "worker": "amina"},            # already hers
            {"case": cases[2], "wroker": "otieno"},           # a typo of a column, and twice
            {"case": cases[1], "worker": "otieno", CANARY: "x"},  # a key that is no column (not shown), and twice
            {"case": CANARY, "worker": "otieno"}]              # not a case ID (not shown)
    path = tmp_path / "handover.yaml"
    path.write_text(json.dumps(rows))
    before = head(repo)
    for extra in ([], ["--dry-run"]):
        result = sup("assign", "--batch", str(path), *extra, "--json")
        assert result.code == 4, result.stdout
        fields = [(f["field"], f["reason"]) for f in result.json()["fields"]]
        assert [field for field, _ in fields] == [
            "row 2: worker", "row 3: case", "row 4: case", "row 5: worker", "row 6: wroker", "row 6: case", "row 6: worker",
            "row 7: …", "row 7: case", "row 8: case"], fields
        assert "already assigned to 'amina'" in dict(fields)["row 5: worker"]
        assert "did you mean 'worker'" in dict(fields)["row 6: wroker"]
        assert "nothing was written" in result.json()["hint"]
        assert CANARY.split()[0].lower() not in (result.stdout + result.stderr).lower()
    assert head(repo) == before and git_status(repo) == []
    assert all(readers(repo, case_id)[0] == "amina" for case_id in cases)


def test_assign_batch__a_case_the_runner_cannot_read_is_a_bad_row_and_nothing_is_written(cli_as, repo, tmp_path):
    """A worker who cannot read a case cannot hand it over: in a batch that row is named (the
    case, and why), and the other rows are not written either."""
    mine = register(cli_as("amina"))
    theirs = register(cli_as("otieno"))
    path = tmp_path / "handover.yaml"
    path.write_text(json.dumps([{"case": mine, "worker": "otieno"}, {"case": theirs, "worker": "amina"}]))
    before = head(repo)
    result = cli_as("amina")("assign", "--batch", str(path), "--json")
    assert result.code == 5, result.stdout  # every wrong row is one the worker cannot read: as for one case
    (field,) = result.json()["fields"]
    assert field["field"] == "row 2: case" and f"not a recipient of {theirs}" in field["reason"] and field["exit_code"] == 5
    assert head(repo) == before and git_status(repo) == []
    assert readers(repo, mine)[0] == "amina"


def test_assign_batch__csv_columns_other_than_case_and_worker_are_refused_before_any_row(cli_as, repo, tmp_path):
    cases = register_many(cli_as("amina"), 1)
    path = tmp_path / "handover.csv"
    path.write_text(f"case,worker,{CANARY},wrker\n{cases[0]},otieno,x,y\n")
    before = head(repo)
    result = cli_as("sup")("assign", "--batch", str(path), "--json")
    assert result.code == 4
    assert [f["field"] for f in result.json()["fields"]] == ["column 3", "column 4 (wrker)"]
    assert CANARY.split()[0].lower() not in (result.stdout + result.stderr).lower()
    path.write_text(f"case\n{cases[0]}\n")
    missing = cli_as("sup")("assign", "--batch", str(path), "--json")
    assert missing.code == 4 and [f["field"] for f in missing.json()["fields"]] == ["columns"]
    assert head(repo) == before


def test_assign_batch__the_caseload_counts_the_cases_given_earlier_in_the_batch(cli_as, repo, tmp_path):
    """Twenty cases to one worker: the caseload warning counts the cases the rows before gave
    them (the inter-agency profile warns from 20 open cases), as twenty single assignments would."""
    cases = register_many(cli_as("amina"), 21)
    path = tmp_path / "handover.yaml"
    path.write_text(json.dumps([{"case": case_id, "worker": "otieno"} for case_id in cases]))
    result = cli_as("sup")("assign", "--batch", str(path), "--dry-run", "--json")
    assert result.code == 0, result.stderr
    warnings = result.json()["warnings"]
    assert warnings and all(w.startswith("caseload: otieno") for w in warnings)
    assert cases[-1] in warnings[-1] and not any(case_id in w for w in warnings for case_id in cases[:15])


def test_assign_batch__an_option_for_one_case_and_a_dry_run_without_batch_are_usage_errors(cli_as, repo, tmp_path):
    case_id = register(cli_as("amina"))
    path = tmp_path / "handover.yaml"
    path.write_text(json.dumps([{"case": case_id, "worker": "otieno"}]))
    sup = cli_as("sup")
    both = sup("assign", case_id, "--batch", str(path))
    assert both.code == 2 and "CASE goes with one case, not with --batch" in both.stderr
    worker = sup("assign", "--batch", str(path), "--worker", "otieno")
    assert worker.code == 2 and "--worker goes with one case" in worker.stderr
    dry = sup("assign", case_id, "--worker", "otieno", "--dry-run")
    assert dry.code == 2 and "--dry-run goes with --batch" in dry.stderr
    single = tmp_path / "one.yaml"
    single.write_text(json.dumps({"case": case_id, "worker": "otieno"}))
    mapping = sup("assign", "--batch", str(single), "--json")
    assert mapping.code == 2 and "cpcm assign CASE --worker WORKER" in mapping.json()["hint"]
    assert readers(repo, case_id)[0] == "amina"
