"""A case with a record that cannot be read does not take the repository down: list, due and the
reports leave it out with a problem line and exit 1; `cpcm repair` supersedes the damaged record
(the file stays in git); then the case reads again and verify is clean."""
from __future__ import annotations

import json
import time

import pytest

from conftest import NOW, CANARY, Cli, git, git_status, make_identity, record_files, register, signed_commit, stray_files
from cpcm.store.layout import case_rel

BROKEN = f"text: {CANARY} [never closed\n  - : {{".encode() + b"\xff\n"  # decrypts, but is not YAML


def damage(repo, team, case_id: str, worker: str = "amina") -> tuple[str, str]:
    """A record as a cpcm that let bad input through would have left it: a valid age file,
    encrypted to the case's readers, whose plaintext is not a YAML record; committed by the
    worker as a note. Returns (record id, path)."""
    from cpcm.crypto import cipher
    from cpcm.domain.ids import RecordIds
    from cpcm.store.layout import case_dir, case_rel, record_name

    folder = case_dir(repo, case_id)
    readers = [line.strip() for line in (folder / "recipients").read_text().splitlines() if line.strip() and not line.startswith("#")]
    after = max(p.name.split(".")[0] for p in record_files(repo, case_id))
    record_id = RecordIds().new(int(time.time() * 1000), after=after)
    rel = f"{case_rel(case_id)}/{record_name(record_id, 'note')}"
    (repo / rel).write_bytes(cipher.encrypt(BROKEN, [team[r][1] for r in readers]))
    signed_commit(repo, worker, f"note {case_id} {record_id}", rel)  # signed by the worker, as cpcm would
    return record_id, rel


@pytest.fixture
def damaged(cli, repo, team):
    """Two cases of amina's: the first has a damaged note. (damaged case, good case, record id, path)"""
    bad, good = register(cli), register(cli, child={"name": "Other Child", "sex": "male", "age_estimate": 9})
    assert cli("note", bad, "--text", "home visit").code == 0
    record_id, rel = damage(repo, team, bad)
    return bad, good, record_id, rel


def problem_line(stderr: str, case_id: str, rel: str) -> None:
    lines = [line for line in stderr.splitlines() if line.startswith("problem:")]
    assert lines == [f"problem: {case_id}: {rel} cannot be read; the case is left out "
                     f"(cpcm show {case_id} says how to put it right; cpcm verify)"], stderr
    assert CANARY not in stderr and "Traceback" not in stderr


def test_list_due_and_reports__leave_out_the_damaged_case_print_the_rest_and_exit_1(cli, damaged):
    bad, good, _, rel = damaged
    listed = cli("list", "--json")
    assert listed.code == 1, listed.stderr
    assert [c["case_id"] for c in listed.json()] == [good]
    problem_line(listed.stderr, bad, rel)
    plain = cli("list")
    assert plain.code == 1 and good in plain.stdout and bad not in plain.stdout
    problem_line(plain.stderr, bad, rel)
    due = cli("due", "--json", "--within", "30")
    assert due.code == 1, due.stderr
    cases = {item["case_id"] for item in due.json()}
    assert good in cases and bad not in cases
    problem_line(due.stderr, bad, rel)
    for kind in ("caseload", "timeliness", "statistics", "placements"):
        report = cli("report", kind, "--from", "2026-01-01", "--to", "2026-12-31")
        assert report.code == 1, (kind, report.stderr)
        assert report.stdout.strip(), kind  # the report of the other cases is printed
        problem_line(report.stderr, bad, rel)
    caseload = cli("report", "caseload", "--json")
    assert caseload.code == 1
    json.loads(caseload.stdout)  # stdout stays one JSON document; the problem is on stderr
    assert cli("show", good).code == 0
    shown = cli("show", bad)
    assert shown.code == 7 and f"cpcm repair {bad}" in shown.stderr and CANARY not in shown.stderr


def test_verify_and_log__name_the_damaged_record(cli, damaged):
    bad, _, record_id, rel = damaged
    verified = cli("verify", "--json")
    assert verified.code == 1
    assert [(p["code"], p["case_id"]) for p in verified.json()] == [("record-unreadable", bad)]
    log = cli("log", bad, "--json")
    assert log.code == 0, log.stderr
    entry = next(e for e in log.json() if e["record_id"] == record_id)
    assert entry["unreadable"] is True and entry["kind"] == "note" and entry["superseded_by"] is None
    assert entry["message"] == f"note {bad} {record_id}"


def test_repair__supersedes_the_damaged_record_then_the_case_reads_and_verify_is_clean(cli, cli_as, repo, damaged):
    bad, good, record_id, rel = damaged
    damaged_bytes = (repo / rel).read_bytes()
    before = git(repo, "rev-list", "--count", "HEAD").strip()
    repaired = cli("repair", bad, record_id.lower(), "--reason", "saved with a bad character; the visit is noted again", "--json")
    assert repaired.code == 0, repaired.stderr
    out = repaired.json()
    assert out["case_id"] == bad and out["kind"] == "repair" and out["supersedes"] == record_id
    # one commit, `repair CASE RECORDID`, with one new file; the damaged file is untouched and still committed
    assert int(git(repo, "rev-list", "--count", "HEAD")) == int(before) + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"repair {bad} {out['record_id']}"
    assert git(repo, "show", "--name-status", "--format=", "HEAD").split() == ["A", f"{case_rel(bad)}/{out['record_id']}.repair.yaml.age"]
    assert (repo / rel).read_bytes() == damaged_bytes
    assert git(repo, "cat-file", "-t", f"HEAD:{rel}").strip() == "blob"
    assert git_status(repo) == [] and stray_files(repo) == []
    # the case reads again, without the damaged record
    listed = cli("list", "--json")
    assert listed.code == 0, listed.stderr
    assert {c["case_id"] for c in listed.json()} == {bad, good} and "problem" not in listed.stderr
    assert cli("due").code == 0
    assert cli("report", "statistics", "--from", "2026-01-01", "--to", "2026-12-31").code == 0
    shown = cli("show", bad, "--json")
    assert shown.code == 0, shown.stderr
    assert [e["kind"] for e in shown.json()["history"]] == ["registration", "note", "repair"]
    # log shows both: the damaged record, superseded, and the repair
    log = {e["record_id"]: e for e in cli("log", bad, "--json").json()}
    assert log[record_id]["unreadable"] and log[record_id]["superseded_by"] == out["record_id"]
    assert log[out["record_id"]]["kind"] == "repair" and log[out["record_id"]]["message"] == f"repair {bad} {out['record_id']}"
    table = cli("log", bad)
    assert f"note (unreadable, superseded by {out['record_id']})" in table.stdout
    # verify: a damaged record that a repair supersedes is no problem any more
    verified = cli("verify", "--json")
    assert verified.code == 0, verified.stdout
    assert verified.json() == []
    again = cli("repair", bad, record_id, "--reason", "twice", "--json")
    assert again.code == 4 and again.json()["rule"] == "repair-already-superseded"


def test_repair__refusals_change_nothing(cli, cli_as, repo, team, tmp_env, damaged):
    bad, good, record_id, _ = damaged
    path = tmp_env / "keys" / "mgr.txt"
    assert cli_as("sup")("team", "add", "mgr", "--role", "manager", "--recipient", make_identity(path)).code == 0
    manager = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(path), "CPCM_NOW": NOW})
    assert cli_as("sup")("team", "sync").code == 0
    head = git(repo, "rev-parse", "HEAD")
    not_worker = manager("repair", bad, record_id, "--reason", "x", "--json")
    assert not_worker.code == 4 and not_worker.json()["rule"] == "repair-needs-supervisor-or-worker", not_worker.stderr
    not_reader = cli_as("otieno")("repair", bad, record_id, "--reason", "x")
    assert not_reader.code == 5
    readable = next(p.name.split(".")[0] for p in record_files(repo, bad) if p.name.endswith(".registration.yaml.age"))
    refused = cli("repair", bad, readable, "--reason", "x", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "repair-record-readable"
    unknown = cli("repair", bad, "01ZZZZZZZZZZZZZZZZZZZZZZZZ", "--reason", "x")
    assert unknown.code == 3 and "01ZZZZZZZZZZZZZZZZZZZZZZZZ" not in unknown.stderr
    no_reason = cli("repair", bad, record_id, "--reason", "  ", "--json")
    assert no_reason.code == 4 and no_reason.json()["fields"][0]["field"] == "reason"
    assert cli("repair", bad, record_id).code == 2  # --reason is required
    assert git(repo, "rev-parse", "HEAD") == head and git_status(repo) == []
    # a supervisor may repair a case that is not theirs
    assert cli_as("sup")("repair", bad, record_id, "--reason", "restored by the supervisor").code == 0


def test_fold__a_superseded_record_is_left_out():
    from cpcm.domain.records import Record
    from cpcm.workflow.fold import fold, superseded_ids

    def record(kind, rid, **body):
        return Record(kind=kind, schema=1, id=rid, case="CP-TEST", at="2026-11-01T09:00:00+03:00",
                      recorded_at="2026-11-01T09:00:00+03:00", by="amina", body=body)

    records = [record("registration", "01A", worker="amina", risk="high"), record("assignment", "01B", worker="otieno"),
               record("repair", "01C", supersedes="01B", reason="damaged")]
    assert superseded_ids(records) == {"01B"}
    case = fold("CP-TEST", records)
    assert case.worker == "amina"
    assert [e.kind for e in case.history] == ["registration", "repair"]
    assert fold("CP-TEST", records[:2]).worker == "otieno"


def test_repair__a_record_damaged_on_disk_whose_good_copy_is_committed_is_restored_not_superseded(cli, repo):
    """A note truncated on disk after its commit: `list` says the case is left out, and `repair`
    would supersede it, dropping the note from the case although git holds it whole. repair
    refuses and says how to restore it; following that literally brings the note back."""
    case_id = register(cli)
    assert cli("note", case_id, "--text", "the visit went well").code == 0
    path = next(p for p in record_files(repo, case_id) if p.name.endswith(".note.yaml.age"))
    record_id, rel = path.name.split(".")[0], str(path.relative_to(repo))
    path.write_bytes(path.read_bytes()[:100])
    head = git(repo, "rev-parse", "HEAD")
    refused = cli("repair", case_id, record_id, "--reason", "truncated", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "repair-restore-from-git", refused.stdout + refused.stderr
    assert f"git checkout HEAD -- {rel}" in refused.stdout + refused.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    git(repo, "checkout", "--", rel)
    shown = cli("show", case_id, record_id)
    assert shown.code == 0 and "the visit went well" in shown.stdout, shown.stderr
    assert git_status(repo) == []


def test_a_record_deleted_on_disk_without_a_commit__show_and_writes_stop_and_name_the_restore(cli, repo):
    """A note deleted by hand (no commit): show printed the case without it and a new note was
    written onto the shortened case, with no word said. Now show, check CASE and writes stop
    with exit 7, naming the file and the git command that brings it back; after it, all reads."""
    case_id = register(cli)
    assert cli("note", case_id, "--text", "the visit went well").code == 0
    path = next(p for p in record_files(repo, case_id) if p.name.endswith(".note.yaml.age"))
    rel = str(path.relative_to(repo))
    path.unlink()
    head = git(repo, "rev-parse", "HEAD")
    for args in (("show", case_id), ("check", case_id), ("log", case_id), ("note", case_id, "--text", "later")):
        stopped = cli(*args)
        assert stopped.code == 7, (args, stopped.stderr)
        assert rel in stopped.stderr and f"git checkout HEAD -- {rel}" in stopped.stderr and CANARY not in stopped.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    git(repo, "checkout", "--", rel)
    assert cli("show", case_id, path.name.split(".")[0]).code == 0
    assert cli("note", case_id, "--text", "later").code == 0


def test_a_recipients_file_edited_by_hand__writes_stop_before_encrypting_to_it(cli, cli_as, repo):
    """A worker id added by hand to a case's `recipients` (no commit): the next note was
    encrypted to that worker too, who could then read it. Now the write stops (exit 7), naming
    the file and the git command that restores it; nothing is written."""
    case_id = register(cli)
    rel = f"{case_rel(case_id)}/recipients"
    with open(repo / rel, "a", encoding="utf-8") as handle:
        handle.write("otieno\n")
    head = git(repo, "rev-parse", "HEAD")
    stopped = cli("note", case_id, "--text", "what the family said")
    assert stopped.code == 7, stopped.stderr
    assert f"git checkout HEAD -- {rel}" in stopped.stderr and CANARY not in stopped.stderr
    assert git(repo, "rev-parse", "HEAD") == head and git_status(repo) == [f" M {rel}"]
    git(repo, "checkout", "--", rel)
    assert cli("note", case_id, "--text", "what the family said").code == 0
    assert cli_as("otieno")("show", case_id, "last").code == 5


def test_a_record_replaced_on_disk_by_another_case_file__show_names_the_git_restore_not_repair(cli, repo):
    """A note overwritten on disk by a record file of another case (no commit): show said 'if git
    holds no good copy of it: cpcm repair'; it does hold one. The hint now names the restore."""
    case_id, other = register(cli), register(cli, child={"name": "Other Child", "sex": "male", "age_estimate": 9})
    assert cli("note", case_id, "--text", "the visit went well").code == 0
    path = next(p for p in record_files(repo, case_id) if p.name.endswith(".note.yaml.age"))
    rel = str(path.relative_to(repo))
    path.write_bytes(record_files(repo, other)[0].read_bytes())
    shown = cli("show", case_id)
    assert shown.code == 7 and f"git checkout HEAD -- {rel}" in shown.stderr and "cpcm repair" not in shown.stderr, shown.stderr
    assert CANARY not in shown.stderr
    git(repo, "checkout", "--", rel)
    assert cli("show", case_id, path.name.split(".")[0]).code == 0


def test_a_recipients_file_deleted_by_hand__show_names_the_restore_not_no_such_case(cli, repo):
    """The `recipients` file of a case deleted by hand (no commit): show and every write said
    'no case ... in this casefile repository' (exit 3), as if the case had never been. They now
    say the file is missing and how to restore it (exit 7); after it the case reads again."""
    case_id = register(cli)
    rel = f"{case_rel(case_id)}/recipients"
    (repo / rel).unlink()
    for args in (("show", case_id), ("note", case_id, "--text", "later")):
        stopped = cli(*args)
        assert stopped.code == 7, (args, stopped.stderr)
        assert f"git checkout HEAD -- {rel}" in stopped.stderr and "no case" not in stopped.stderr
    assert cli("show", "CP-ZZZZ-ZZZZ").code in (2, 3)
    git(repo, "checkout", "--", rel)
    assert cli("show", case_id).code == 0


def test_a_record_damaged_in_the_last_commit_itself__show_names_the_earlier_good_copy_else_repair(cli, repo, team):
    """A note truncated and committed so (the damage in the last commit itself): show said
    'Restore it from git: git checkout HEAD -- FILE', which changed nothing (HEAD holds the damaged
    bytes). It now names the earlier commit that holds a good copy and the way back that stays
    signed (the damaging commit, the latest, undone: a restore committed with git would never be
    pushed), which makes the case read again; a record committed damaged from the start (no good
    copy in git) gets `cpcm repair`, as list, due and the reports say."""
    case_id = register(cli)
    assert cli("note", case_id, "--text", "the visit went well").code == 0
    good = git(repo, "rev-parse", "HEAD").strip()
    path = next(p for p in record_files(repo, case_id) if p.name.endswith(".note.yaml.age"))
    rel, record_id = str(path.relative_to(repo)), path.name.split(".")[0]
    path.write_bytes(path.read_bytes()[:100])
    signed_commit(repo, "amina", "damage", rel)
    shown = cli("show", case_id, "--json")
    assert shown.code == 7, shown.stderr
    hint = shown.json()["hint"]
    assert f"commit {good[:10]} holds a good copy" in hint, hint
    # the way that stays signed: the damaging commit undone (a restore committed with git would not be pushed)
    assert f"git reset --soft HEAD~1, then git checkout HEAD -- {rel}" in hint and "git commit" not in hint, hint
    assert f"cpcm repair {case_id} {record_id}" in hint
    assert CANARY not in shown.stdout + shown.stderr
    git(repo, "reset", "--soft", "HEAD~1")  # as the hint says
    git(repo, "checkout", "HEAD", "--", rel)
    assert cli("show", case_id, record_id).code == 0 and git(repo, "rev-parse", "HEAD").strip() == good
    # committed damaged from the start: git holds no good copy, so repair
    from cpcm.crypto import cipher
    from cpcm.domain.ids import RecordIds
    from cpcm.store.layout import record_name

    second = RecordIds().new(int(time.time() * 1000), after=record_id)
    added = f"{case_rel(case_id)}/{record_name(second, 'note')}"
    (repo / added).write_bytes(cipher.encrypt(b"kind: note", [team["amina"][1]])[:100])
    untracked = cli("show", case_id)  # put in the folder by hand, never committed: not "committed damaged"
    assert untracked.code == 7 and "does not hold it (added by hand?): move it out" in untracked.stderr, untracked.stderr
    assert "committed damaged" not in untracked.stderr
    listed = cli("list")  # list's line sends to show, which says how to put it right (one place)
    assert f"(cpcm show {case_id} says how to put it right; cpcm verify)" in listed.stderr, listed.stderr
    signed_commit(repo, "amina", f"note {case_id} {second}", added)
    stopped = cli("show", case_id)
    assert stopped.code == 7 and "git checkout" not in stopped.stderr, stopped.stderr
    assert f"cpcm repair {case_id} {second} --reason TEXT" in stopped.stderr and "committed damaged" in stopped.stderr


def test_conference_sign__a_damaged_case_is_named_in_a_warning_and_the_others_still_checked(cli, cli_as, damaged):
    """`conference sign` checks the member against every case the worker reads: a damaged case was
    a failure of the whole signature (or, read as `list` reads, left out without a word); it is named
    in a warning (its names not checked), and a family member of another case is still refused."""
    bad, good, _, _ = damaged
    signed = cli("conference", "sign", "--name", "Member One", "--institution", "Agency", "--position", "Officer", "--json")
    assert signed.code == 0, signed.stderr
    assert any(bad in w and "not checked" in w for w in signed.json()["warnings"])
    assert all(good not in w for w in signed.json()["warnings"])
    refused = cli("conference", "sign", "--name", "Other Child", "--institution", "Agency", "--position", "Officer")
    assert refused.code == 4 and f"name (a name or phone registered for {good})" in refused.stderr
