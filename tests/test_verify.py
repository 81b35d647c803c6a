"""cpcm verify: each kind of tampering is found, with its own problem code; a repository that
only cpcm has written verifies clean.

Each tamper is built here with git itself (commits made by hand, with a worker's address or a
stranger's), as someone with write access to the repository would.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from conftest import NOW, Cli, git, make_identity, register, signing_line
from cpcm.errors import restore_hint
from cpcm.store.layout import case_dir, case_rel, folder_dir
from test_assess_plan import COMPREHENSIVE, INITIAL, plan_doc

AGENCY = "test"  # the repository fixture's agency code, as it appears in commit addresses


def commit_as(repo: Path, worker: str, message: str, *paths: str) -> str:
    """Stage `paths` (added, changed or deleted) and commit them with `worker`'s cpcm address,
    signed with their key (a stranger without a key file: unsigned)."""
    from conftest import signed_commit

    return signed_commit(repo, worker, message, *paths, agency=AGENCY)


def codes(result) -> set[str]:
    return {p["code"] for p in result.json()}


def verify(cli) -> set[str]:
    result = cli("verify", "--json")
    assert result.code == (1 if result.json() else 0), result.stderr
    return codes(result)


def records(repo: Path, case_id: str, top: str = "cases") -> list[Path]:
    return sorted(folder_dir(repo, top, case_id).glob("*.yaml.age"))


def identity_keys(path: Path):
    from cpcm.crypto import identity

    return identity.load(path, lambda: None).keys


def readers_keys(repo: Path, case_id: str, top: str = "cases") -> list[str]:
    from cpcm.store.config import load_team

    readers = [r for r in (folder_dir(repo, top, case_id) / "recipients").read_text().splitlines() if r and not r.startswith("#")]
    return load_team(repo).recipients_of(readers)


def forge(repo: Path, case_id: str, by: str, keys: list[str]) -> str:
    """Write a valid note record claiming to be by `by`; returns its path (not committed)."""
    from cpcm.crypto import cipher
    from cpcm.domain.ids import RecordIds
    from cpcm.domain.records import Record
    from cpcm.store import codec

    last = records(repo, case_id)[-1].name.split(".")[0]
    record_id = RecordIds().new(int(time.time() * 1000), after=last)
    record = Record(kind="note", schema=1, id=record_id, case=case_id, at=NOW, recorded_at=NOW, by=by, body={"text": "seen"})
    rel = f"{case_rel(case_id)}/{record_id}.note.yaml.age"
    (repo / rel).write_bytes(cipher.encrypt(codec.dumps(record.to_dict()), keys))
    return rel


@pytest.fixture
def sup(cli_as):
    return cli_as("sup")


def test_verify__a_clean_repository_passes(cli, sup):
    case_id = register(cli)
    assert cli("assign", case_id, "--worker", "otieno").code == 0  # re-encryption touches records: allowed
    result = sup("verify", "--json")
    assert result.code == 0, result.stdout
    assert result.json() == []


def test_verify__a_damaged_file_and_a_rewritten_record_are_reported(cli, repo):
    case_id = register(cli)
    record = records(repo, case_id)[0]
    record.write_bytes(record.read_bytes()[:-10])
    assert {"uncommitted-change", "record-unreadable"} <= verify(cli)
    # committed under a workflow command's message: a record changed after it was written
    commit_as(repo, "amina", f"note {case_id} 01M84N5AEN51ATC26YE94JZYAV", record.relative_to(repo).as_posix())
    found = verify(cli)
    assert "record-rewritten" in found and "uncommitted-change" not in found


def test_verify__a_record_deleted_under_another_message(cli, repo):
    case_id = register(cli)
    assert cli("note", case_id, "--text", "first visit").code == 0
    assert verify(cli) == set()
    gone = records(repo, case_id)[-1]
    gone.unlink()
    commit_as(repo, "amina", f"note {case_id} {records(repo, case_id)[0].name.split('.')[0]}", str(gone.relative_to(repo)))
    result = cli("verify", "--json")
    assert result.code == 1
    deleted = [p for p in result.json() if p["code"] == "record-deleted"]
    assert len(deleted) == 1 and gone.name in deleted[0]["message"] and deleted[0]["case_id"] == case_id


def test_verify__a_re_encryption_message_does_not_cover_another_case(cli, repo):
    """`assign A` may re-encrypt A's records only: B's changed in that commit is a rewrite."""
    first, second = register(cli), register(cli)
    from cpcm.crypto import cipher

    keys = identity_keys(repo.parent / "keys" / "amina.txt")
    path = records(repo, second)[0]
    path.write_bytes(cipher.encrypt(cipher.decrypt(path.read_bytes(), keys), readers_keys(repo, second)))
    commit_as(repo, "amina", f"assign {first} {records(repo, first)[0].name.split('.')[0]}", str(path.relative_to(repo)))
    problems = cli("verify", "--json").json()
    assert [(p["code"], p["case_id"]) for p in problems] == [("record-rewritten", second)]


def test_verify__a_reset_or_rebase_below_the_last_verified_head(cli, repo):
    case_id = register(cli)
    assert cli("note", case_id, "--text", "a").code == 0
    assert cli("note", case_id, "--text", "b").code == 0
    assert verify(cli) == set()  # remembers the head
    assert json.loads((repo / ".git" / "cpcm-verified.json").read_text())["head"] == git(repo, "rev-parse", "HEAD").strip()
    # a rebase that drops the middle commit (the first note)
    git(repo, "-c", "user.name=x", "-c", "user.email=x@x", "rebase", "-q", "--onto", "HEAD~2", "HEAD~1")
    found = verify(cli)
    assert found == {"history-rewritten", "unsigned-commit"}  # git rebase wrote its commit unsigned
    assert verify(cli) == {"history-rewritten", "unsigned-commit"}  # still reported: the marker stays where it was
    # put back as it was (from the reflog): clean again
    old = json.loads((repo / ".git" / "cpcm-verified.json").read_text())["head"]
    git(repo, "reset", "-q", "--hard", old)
    assert verify(cli) == set()
    # a reset that drops the newest commit
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert verify(cli) == {"history-rewritten"}


def test_verify__a_forged_record_by_someone_else_or_a_stranger(cli, repo, team):
    case_id = register(cli)
    assert verify(cli) == set()
    rel = forge(repo, case_id, "amina", readers_keys(repo, case_id))
    commit_as(repo, "otieno", f"note {case_id} {Path(rel).name.split('.')[0]}", rel)  # otieno writes as amina
    problems = cli("verify", "--json").json()
    # otieno's own signature is good, but the record names amina: the record's `by` is not its signer
    assert [(p["code"], p["case_id"]) for p in problems] == [("by-not-signer", case_id)]
    assert "otieno" in problems[0]["message"] and "amina" in problems[0]["message"]
    # a commit by an address that is no worker of the team, its record claiming to be by one
    rel = forge(repo, case_id, "mallory", readers_keys(repo, case_id))
    commit_as(repo, "mallory", f"note {case_id} {Path(rel).name.split('.')[0]}", rel)
    found = verify(cli)
    assert {"commit-author-not-member", "unsigned-commit", "by-not-signer"} <= found


def test_verify__a_removed_worker_is_not_a_member_any_more(cli, sup, repo):
    case_id = register(sup)
    assert sup("team", "remove", "otieno").code == 0
    assert verify(sup) == set()
    rel = forge(repo, case_id, "otieno", readers_keys(repo, case_id))
    commit_as(repo, "otieno", f"note {case_id} {Path(rel).name.split('.')[0]}", rel)
    # signed with otieno's key after he left: neither a member nor a key that still stands
    assert verify(sup) == {"commit-author-not-member", "unknown-signer"}


def test_verify__a_re_encryption_that_adds_a_strangers_key(cli, repo, tmp_path):
    from cpcm.crypto import cipher

    case_id = register(cli)
    stranger = make_identity(tmp_path / "stranger.txt")
    keys = identity_keys(repo.parent / "keys" / "amina.txt")
    path = records(repo, case_id)[0]
    path.write_bytes(cipher.encrypt(cipher.decrypt(path.read_bytes(), keys), readers_keys(repo, case_id) + [stranger]))
    # under an assignment's message, so the rewrite itself looks like a re-encryption
    commit_as(repo, "amina", f"assign {case_id} {path.name.split('.')[0]}", str(path.relative_to(repo)))
    problems = cli("verify", "--json").json()
    assert [(p["code"], p["case_id"]) for p in problems] == [("record-recipients-mismatch", case_id)]
    assert "3 key(s)" in problems[0]["message"] and "2" in problems[0]["message"]
    # put back to the right keys: the old version stays in git, readable by the stranger, and is still reported
    path.write_bytes(cipher.encrypt(cipher.decrypt(path.read_bytes(), keys), readers_keys(repo, case_id)))
    commit_as(repo, "amina", f"assign {case_id} {path.name.split('.')[0]}", str(path.relative_to(repo)))
    assert verify(cli) == {"record-recipients-mismatch"}


def test_verify__a_stanza_of_another_kind_is_reported(cli, repo):
    case_id = register(cli)
    path = records(repo, case_id)[0]
    data = path.read_bytes()
    path.write_bytes(data.replace(b"\n-> X25519 ", b"\n-> ssh-ed25519 AAAA ", 1))
    commit_as(repo, "amina", f"assign {case_id} {path.name.split('.')[0]}", str(path.relative_to(repo)))
    assert {"record-foreign-stanza", "record-recipients-mismatch"} <= verify(cli)


def test_verify__recipients_that_do_not_match_the_team(cli, sup, repo):
    case_id = register(cli)
    recipients = case_dir(repo, case_id) / "recipients"
    recipients.write_text("# worker ids who may read this case (see .cpcm/team.yaml)\namina\n")  # the supervisor left out
    commit_as(repo, "amina", f"note {case_id} {records(repo, case_id)[0].name.split('.')[0]}", str(recipients.relative_to(repo)))
    assert verify(cli) == {"recipients-stale"}


def test_verify__a_committed_plaintext_file_is_reported_by_its_folder__its_name_and_content_never_shown(cli, repo):
    """A file saved into the repository by hand may be named after a child: verify names the case
    folder it is in (or none), and the git command that lists it; a file under a record's name is
    named, as cpcm makes such names."""
    case_id = register(cli)
    (case_dir(repo, case_id) / "Zqxcanary-visit-notes.txt").write_text("Zqxcanary lives at the market\n")
    commit_as(repo, "amina", f"note {case_id} {records(repo, case_id)[0].name.split('.')[0]}",
              f"{case_rel(case_id)}/Zqxcanary-visit-notes.txt")
    (repo / "Zqxcanary.csv").write_text("Zqxcanary,2015\n")
    commit_as(repo, "amina", "export 1 cases", "Zqxcanary.csv")
    (repo / "Zqxcanary.csv").unlink()  # deleted again: still in the history
    commit_as(repo, "amina", "export 1 cases", "Zqxcanary.csv")
    # a plaintext record under a record's name
    fake = f"{case_rel(case_id)}/01M84N5AEN51ATC26YE94JZYAV.note.yaml.age"
    (repo / fake).write_text("kind: note\ntext: Zqxcanary\n")
    commit_as(repo, "amina", f"note {case_id} 01M84N5AEN51ATC26YE94JZYAV", fake)
    result = cli("verify", "--json")
    assert result.code == 1
    messages = [p["message"] for p in result.json() if p["code"] == "plaintext-committed"]
    assert len(messages) == 3, messages
    assert sum(m.startswith("a file in the repository whose name is not shown") for m in messages) == 1
    assert sum(m.startswith(f"a file in {case_rel(case_id)} whose name is not shown") for m in messages) == 1
    assert sum(m.startswith(f"{fake} as committed in") for m in messages) == 1
    assert all("git show --stat" in m for m in messages if not m.startswith(fake))
    assert "Zqxcanary" not in result.stdout + result.stderr


def test_verify__damaged_conference_records(cli, sup, repo):
    case_id = register(cli)
    result = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--venue", "Meeting room",
                 "--notice-sent", "2026-11-23", "--invitations-sent", "2026-11-23", "--json")
    conf = result.json()["conference_id"]
    assert sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult").code == 0
    assert verify(sup) == set()
    path = records(repo, conf, "conferences")[-1]
    path.write_bytes(path.read_bytes()[:60])
    problems = sup("verify", "--json").json()
    assert {(p["code"], p["case_id"]) for p in problems} == {("uncommitted-change", conf), ("record-unreadable", conf)}
    commit_as(repo, "sup", f"conference attend {conf} {path.name.split('.')[0]}", str(path.relative_to(repo)))
    found = {(p["code"], p["case_id"]) for p in sup("verify", "--json").json()}
    assert ("record-unreadable", conf) in found and ("record-rewritten", conf) in found


def test_verify__a_corrupt_git_object(cli, repo):
    case_id = register(cli)
    assert cli("assign", case_id, "--worker", "otieno").code == 0
    # the registration as first written: a blob no longer in the last commit, only in history
    path = f"{case_rel(case_id)}/{records(repo, case_id)[0].name}"
    old = git(repo, "rev-parse", f"HEAD~1:{path}").strip()
    loose = repo / ".git" / "objects" / old[:2] / old[2:]
    assert loose.exists()
    loose.chmod(0o644)
    loose.write_bytes(zlib.compress(b"blob 5\0oops!"))  # a valid object, but not the one its name promises
    assert "git-object-corrupt" in verify(cli)


def test_verify__policy_edits_outside_a_commit(cli, repo):
    register(cli)
    (repo / ".cpcm" / "policy.yaml").write_text("caseload:\n  cap: 200\n")
    problems = cli("verify", "--json").json()
    assert [(p["code"], p["message"].split()[0]) for p in problems] == [("config-uncommitted", ".cpcm/policy.yaml")]
    (repo / ".cpcm" / "policy.yaml").unlink()
    config = repo / ".cpcm" / "config.yaml"
    config.write_text(config.read_text().replace("inter-agency", "kenya"))
    assert verify(cli) == {"config-uncommitted"}


def test_list_and_due_describe_the_last_commit_check_and_verify_read_the_changed_files(cli, repo):
    """`list`, `due` and `report statistics` print the last commit; `check`, `show` and `verify` see
    a file changed on disk since (docs/security.md, "what list, due and the reports read")."""
    case_id = register(cli)
    listed_before, due_before = cli("list", "--json"), cli("due", "--json")  # the cache is now warm
    assert listed_before.code == 0 and due_before.code == 0
    path = records(repo, case_id)[0]
    path.write_bytes(path.read_bytes()[:-10])
    listed, due = cli("list", "--json"), cli("due", "--json")
    assert (listed.code, listed.stdout) == (0, listed_before.stdout)
    assert (due.code, due.stdout) == (0, due_before.stdout)
    for args in (("check",), ("show", case_id)):
        found = cli(*args)
        assert found.code != 0 and path.name in found.stderr, args
    assert cli("verify").code != 0
    git(repo, "checkout", "--", str(path.relative_to(repo)))
    assert cli("list", "--json").code == 0 and cli("due").code == 0 and cli("check").code == 0


def test_the_dirty_cases_leave_the_cache_alone(cli, repo):
    """A summary read from changed files is never cached under the committed tree's id."""
    from cpcm.store.cache import SummaryCache

    case_id = register(cli)
    assert cli("list", "--json").code == 0
    path = records(repo, case_id)[0]
    path.write_bytes(path.read_bytes()[:-10])
    cache = SummaryCache(repo, "amina", "", (), "")
    assert cache.dirty == {case_id}
    tree = git(repo, "rev-parse", f"HEAD:{case_rel(case_id)}").strip()
    assert cache.get(case_id, tree) is None
    cache.put(case_id, tree, {"x": 1})
    assert not cache.changed


# -- a clean repository after many mixed commands -----------------------------------------------------
# 200 in every run (about 30 s); CPCM_TEST_MIXED=1000 for the long run (docs/testing.md)
MIXED = int(os.environ.get("CPCM_TEST_MIXED", "200"))


def test_verify__clean_after_many_mixed_commands(cli_as, repo, team, tmp_path):
    """MIXED commands (200, or $CPCM_TEST_MIXED) of every writing kind, chosen at random (seeded),
    by three workers; then verify finds nothing, for a supervisor and for a caseworker."""
    from test_conference import minutes_doc

    rng = random.Random(11)
    sup, amina, otieno = cli_as("sup"), cli_as("amina"), cli_as("otieno")
    grace_key = tmp_path / "keys" / "grace.txt"
    assert sup("team", "add", "grace", "--role", "supervisor", "--recipient", make_identity(grace_key),
               "--signing-key", signing_line(grace_key)).code == 0
    grace = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(grace_key), "CPCM_NOW": NOW})
    assert sup("service", "add", "clinic", "--provider", "Clinic", "--sector", "health", "--offers", "care").code == 0
    cases: list[str] = [register(amina), register(otieno)]
    planned: list[str] = []
    ran = 0
    done: dict[str, int] = {}

    def ok(result, what):
        assert result.code in (0, 4, 5), (what, result.stderr)  # refused by a rule, or not a reader: fine; nothing else
        done[what] = done.get(what, 0) + (result.code == 0)
        return result.code == 0

    newcomer = None
    while ran < MIXED:
        choice = rng.random()
        case_id = rng.choice(cases)
        who = rng.choice([sup, amina, otieno])
        if choice < 0.2:
            cases.append(register(rng.choice([sup, amina, otieno])))
        elif choice < 0.35:
            ok(sup("note", case_id, "--text", f"visit {ran}"), "note")
        elif choice < 0.45:
            ok(sup("assign", case_id, "--worker", rng.choice(["amina", "otieno"])), "assign")
        elif choice < 0.55:
            ok(sup("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL), "assess")
        elif choice < 0.62:
            if ok(sup("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)), "assess"):
                if ok(sup("plan", case_id, "--from-file", "-", input=json.dumps(plan_doc())), "plan"):
                    planned.append(case_id)
                ran += 1
        elif choice < 0.68:
            ok(grace("approve", case_id, "plan"), "approve")  # not the supervisor who wrote the plan
        elif choice < 0.74:
            for giver in ("child", "caregiver"):
                ok(sup("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", giver, "--status", "given",
                       "--explained", "all"), "consent")
            ok(sup("refer", case_id, "--service", "clinic", "--need", "care", "--check", "all"), "refer")
            ran += 2
        elif choice < 0.8:
            ok(who("note", case_id, "--text", f"call {ran}"), "note")  # a caseworker may not read it: exit 5 is fine
        elif choice < 0.84 and planned:
            conf = sup("conference", "new", "--kind", "internal", "--date", "2026-11-30", "--venue", "Room",
                       "--notice-sent", "2026-11-23", "--invitations-sent", "2026-11-23", "--json").json()["conference_id"]
            chosen = sorted(set(rng.sample(planned, min(2, len(planned)))))
            for each in chosen:
                ok(sup("conference", "add-case", conf, each, "--reason", "especially_difficult"), "add-case")
            at_meeting = cli_as("sup", CPCM_NOW="2026-11-30T13:00:00+03:00")  # attendance, minutes, closing once the meeting has started
            ok(at_meeting("conference", "attend", conf, "--institution", "School", "--name", "Teacher", "--position", "Head",
                          "--contact", "0700 000000", "--confidentiality-signed", "yes"), "attend")
            ok(at_meeting("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc(chosen))), "minutes")
            ok(at_meeting("conference", "close", conf), "close")
            ran += 3 + len(chosen)
        elif choice < 0.87:
            if newcomer is None:
                path = tmp_path / "keys" / "wanjiru.txt"
                newcomer = make_identity(path)
                ok(sup("team", "add", "wanjiru", "--role", "supervisor", "--recipient", newcomer), "team add")
            else:
                ok(sup("team", "sync"), "team sync")
        elif choice < 0.9:
            ok(sup("followup", case_id, "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check school",
                   "--visited-by", "professional", "--risk-increased", "no"), "followup")
        else:
            ok(who("note", case_id, "--text", f"later {ran}"), "note")
        ran += 1
    # every kind of write happened (not only refusals)
    assert {k for k, n in done.items() if n} >= {"note", "assign", "assess", "plan", "approve", "consent", "refer", "add-case",
                                                  "attend", "minutes", "close", "team add", "followup"}, done
    result = sup("verify", "--json")
    assert result.code == 0 and result.json() == [], result.stdout
    assert cli_as("amina")("verify", "--json").json() == []
    assert int(git(repo, "rev-list", "--count", "HEAD").strip()) > 100


def test_verify__a_write_that_starts_while_the_folders_are_read(cli, repo, monkeypatch):
    """The folders are read with the write generation checked once around each group of them
    (`Audit.steadily`): a write that starts meanwhile and leaves a damaged file in a later case
    sends the group to the last commit, and what the first pass found is not told twice."""
    from cpcm.store import audit, casestore

    first, second, third = sorted(register(cli) for _ in range(3))
    damaged = records(repo, first)[0]
    damaged.write_bytes(damaged.read_bytes()[:-10])
    commit_as(repo, "amina", f"note {first} 01M84N5AEN51ATC26YE94JZYAV", damaged.relative_to(repo).as_posix())
    unreadable = [(p["code"], p["case_id"]) for p in cli("verify", "--json").json() if p["code"] == "record-unreadable"]
    assert unreadable == [("record-unreadable", first)]

    writer = casestore.CaseStore(repo).transaction("note", "amina", "amina", "amina@test.invalid")
    victim = records(repo, third)[0]
    real_folder, real_folders = audit.Audit.folder, audit.Audit.folders
    started = []

    def folder(self, top, name):
        if name == second and not started:  # a writer starts between the first and the second case
            started.append(writer.__enter__())
            writer.replace_file(writer.store.rel(victim), b"age-encryption.org/v1\n-> X25519 half")
        return real_folder(self, top, name)

    def folders(self):
        try:
            real_folders(self)
        finally:
            writer.__exit__(None, None, None)  # not committed: the victim is as it was again

    monkeypatch.setattr(audit.Audit, "folder", folder)
    monkeypatch.setattr(audit.Audit, "folders", folders)
    during = cli("verify", "--json").json()
    assert started
    assert [(p["code"], p["case_id"]) for p in during if p["code"] == "record-unreadable"] == unreadable


def test_uncommitted_change__says_what_to_do_and_following_it_leaves_verify_clean(cli, repo):
    """A record deleted by hand, and a file put in a case folder by hand: verify said only that
    each 'differs from the last commit (an interrupted write, or an edit by hand)'. It now says
    to restore the one with git checkout and to move the other out; doing so verifies clean."""
    case_id = register(cli)
    assert cli("note", case_id, "--text", "home visit").code == 0
    note = next(p for p in records(repo, case_id) if p.name.endswith(".note.yaml.age"))
    rel = str(note.relative_to(repo))
    note.unlink()
    stray = case_dir(repo, case_id) / "scan.txt"
    stray.write_text("a scan\n")
    found = {p["message"] for p in cli("verify", "--json").json() if p["code"] == "uncommitted-change"}
    assert found == {f"{rel} differs from the last commit (an interrupted write, or an edit by hand). {restore_hint(rel)}",
                     f"a file in {case_rel(case_id)} whose name is not shown (it may name someone: git status lists it) differs "
                     "from the last commit (an interrupted write, or an edit by hand: not cpcm's and not committed: move it "
                     "out of the repository)"}, found
    git(repo, "checkout", "--", rel)
    stray.rename(repo.parent / "scan.txt")
    assert verify(cli) <= {"history-before-signing"}


def test_verify__a_settings_file_added_by_hand_is_to_be_committed_or_moved_out_not_restored(cli, repo):
    """`.cpcm/policy.yaml` written by hand where the last commit holds none: verify's advice was
    'restore it with git checkout -- .cpcm/policy.yaml', which git refuses (no such file in the
    commit). It now says to commit it or move it out; one edited in place, to restore it."""
    register(cli)
    policy = repo / ".cpcm" / "policy.yaml"
    assert not policy.exists()
    policy.write_text("caseload:\n  cap: 200\n")
    (problem,) = cli("verify", "--json").json()
    assert problem["code"] == "config-uncommitted" and problem["message"] == (
        ".cpcm/policy.yaml differs from the last commit (added by hand outside a commit: cpcm policy set commits it, "
        "or move it out of the repository)")
    policy.unlink()
    config = repo / ".cpcm" / "config.yaml"
    config.write_text(config.read_text() + "# edited\n")
    (problem,) = cli("verify", "--json").json()
    assert problem["message"] == (".cpcm/config.yaml differs from the last commit (an edit by hand outside a commit). "
                                  + restore_hint(".cpcm/config.yaml", "  (or keep the edit: commit it)"))
    git(repo, "checkout", "--", ".cpcm/config.yaml")
    assert cli("verify", "--json").json() == []


def test_verify__the_advice_for_a_file_changed_through_gits_index_works_when_followed(cli, repo):
    """A record file edited and staged (`git add`), or removed with `git rm`: `git checkout -- FILE`
    takes the index's copy (the edit itself) or is refused; the advice names the last commit
    (`git checkout HEAD -- FILE`), and running it as written clears verify. A file added to the
    index by hand is to be taken out of it and moved out of the repository."""
    import shlex

    case_id = register(cli)
    rel = next(p for p in git(repo, "ls-files", case_rel(case_id)).split() if p.endswith(".age"))

    def followed(command: str) -> None:
        git(repo, *shlex.split(command)[1:])

    for change in (lambda: ((repo / rel).write_bytes(b"x"), git(repo, "add", rel)), lambda: git(repo, "rm", "-q", rel)):
        change()
        (problem,) = [p for p in cli("verify", "--json").json() if p["code"] == "uncommitted-change"]
        assert f"git checkout HEAD -- {rel}" in problem["message"]
        followed(f"git checkout HEAD -- {rel}")
        assert cli("verify", "--json").json() == []
    stray = case_dir(repo, case_id) / "notes.txt"
    stray.write_text("by hand\n")
    git(repo, "add", str(stray.relative_to(repo)))
    (problem,) = [p for p in cli("verify", "--json").json() if p["code"] == "uncommitted-change"]
    assert "take it out of git's index (git rm --cached FILE)" in problem["message"] and "notes.txt" not in problem["message"]
    followed(f"git rm -q --cached {case_rel(case_id)}/notes.txt")
    stray.unlink()
    assert cli("verify", "--json").json() == []



def test_verify__a_folder_made_by_hand_in_cases_is_not_named(cli, repo):
    """A folder saved into `cases/` by hand under a child's name is no case: verify reports its file
    by the `cases` folder only, and no `recipients-missing` naming the folder."""
    register(cli)
    folder = repo / "cases" / "Zqxcanary papers"
    folder.mkdir()
    (folder / "Zqxcanary.txt").write_text("notes\n")
    result = cli("verify", "--json")
    assert result.code == 1 and "Zqxcanary" not in result.stdout + result.stderr
    assert [(p["code"], p["message"].split(" (it may")[0]) for p in result.json()] == [
        ("uncommitted-change", "a file in cases whose name is not shown")]
