"""A casefile repository of format 1 (every case folder directly in cases/, as the releases before format 2
left them: tests/format1.py) as a user meets it with this cpcm: the first command of a worker of the team moves it
to format 2 (store/upgrade.py) in one commit of theirs, says so on stderr, and then does what it was asked; the
next command finds nothing to do. A command killed in the middle of it leaves the next one to finish it; a key
that is no worker of the team (the agency's recovery key, a newcomer's) is refused (`format-old`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import CANARY, NOW, Cli, commit_count, git, git_status, make_identity, register, signing_line
from format1 import rewrite_as_format1
from test_due_rekey_kept import _decrypts
from test_recovery_drill import agency  # noqa: F401  the fixture `old_agency` starts from
from cpcm.store.layout import CASES, CONFIG, LOCK, case_dir, case_rel

NOTICE = "now in casefile format 2"


def _cases(cli: Cli) -> list[str]:
    """Three cases, one with a second record, each child named with the canary."""
    ids = [register(cli, child={"name": f"{CANARY} {n}", "sex": "female", "age_estimate": 7}) for n in ("One", "Two", "Three")]
    noted = cli("note", ids[0], "--text", "home visit")
    assert noted.code == 0, noted.stderr
    return ids


def _files(root) -> list[str]:
    return sorted(git(root, "ls-tree", "-r", "--name-only", "HEAD", "--", CASES).split())


def _format1(files: list[str]) -> list[str]:
    """Format 2 paths as format 1 has them (cases/CP-.../x)."""
    return sorted(f"{CASES}/{path.split('/', 2)[2]}" if path.count("/") == 3 else path for path in files)


def _upgrades(root) -> list[str]:
    """The commits whose message is the upgrade's, newest first."""
    return [line for line in git(root, "log", "--format=%H %s").splitlines() if line.endswith(" upgrade format 2")]


def _config_format(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("format:"))


def assert_format2(root, files: list[str]) -> None:
    """The repository as the upgrade leaves it: `files` (the case files, format 2) committed and on disk, no
    case folder directly in cases/, the configuration at format 2 on disk and in the commit, nothing uncommitted."""
    assert _files(root) == files
    assert all((root / path).is_file() for path in files)
    assert sorted(p.name for p in (root / CASES).iterdir() if p.is_dir() and len(p.name) > 2) == []
    assert _config_format((root / CONFIG).read_text()) == "format: 2"
    assert _config_format(git(root, "show", f"HEAD:{CONFIG}")) == "format: 2"
    assert git_status(root) == []


@pytest.fixture
def old(cli_as, repo):
    """A repository of format 1 holding three cases (`_cases`): (case ids, the case files in format 2, what
    amina's `due --json` and `show --json` of the first case said before it was made format 1)."""
    amina = cli_as("amina")
    ids = _cases(amina)
    files = _files(repo)
    said = {"due": amina("due", "--json").stdout, "show": amina("show", ids[0], "--json").stdout}
    rewrite_as_format1(repo)
    assert _files(repo) == _format1(files) and all(f"{CASES}/{case_id}/recipients" in _format1(files) for case_id in ids)
    assert _config_format((repo / CONFIG).read_text()) == "format: 1" and git_status(repo) == []
    return ids, files, said


def test_upgrade__the_first_command_due_moves_every_case_in_one_commit_of_that_worker(old, cli_as, repo):
    ids, files, said = old
    amina = cli_as("amina")
    before = commit_count(repo)
    folders = {case_id: git(repo, "rev-parse", f"HEAD:{CASES}/{case_id}").strip() for case_id in ids}

    due = amina("due", "--json")
    assert due.code == 0, due.stderr
    assert due.stdout == said["due"]  # the command's own output, as in format 2
    assert NOTICE in due.stderr and due.stderr.count("\n") == 1, due.stderr
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s|%an|%ae").strip() == "upgrade format 2|amina|amina@test.cpcm.invalid"
    assert "gpgsig" in git(repo, "cat-file", "commit", "HEAD")  # signed with amina's key, as every commit of hers
    assert_format2(repo, files)
    # nothing decrypted or encrypted again: every case folder keeps its tree, and the commit only moves files
    assert {case_id: git(repo, "rev-parse", f"HEAD:{case_rel(case_id)}").strip() for case_id in ids} == folders
    assert git(repo, "diff", "--name-only", "-M", "HEAD~1", "HEAD", "--diff-filter=ACDMT").split() == [CONFIG]
    # no child's data in the message, the notice or a file name
    assert CANARY.split()[0] not in git(repo, "log", "-1", "--format=%B") + due.stderr + "".join(files)

    again = amina("due", "--json")
    assert again.code == 0 and again.stdout == said["due"] and again.stderr == ""
    assert commit_count(repo) == before + 1 and git_status(repo) == []
    # a record keeps the commit that added it, not the upgrade that moved it
    logged = amina("log", ids[0], "--json")
    assert logged.code == 0, logged.stderr
    assert [e["message"].split()[0] for e in logged.json()] == ["register", "note"]
    verified = cli_as("sup")("verify")  # the upgrade by a caseworker, and the history before it
    assert verified.code == 0, verified.stdout


def test_upgrade__the_first_command_show_of_another_worker(old, cli_as, repo):
    ids, files, said = old
    sup = cli_as("sup")
    before = commit_count(repo)
    shown = sup("show", ids[0], "--json")
    assert shown.code == 0, shown.stderr
    assert json.loads(shown.stdout) == json.loads(said["show"])
    assert NOTICE in shown.stderr
    assert commit_count(repo) == before + 1 and git(repo, "log", "-1", "--format=%s|%an").strip() == "upgrade format 2|sup"
    assert_format2(repo, files)
    assert cli_as("amina")("show", ids[0]).stderr == ""


def test_upgrade__the_first_command_a_write_lands_in_format_2_after_the_upgrade(old, cli_as, repo):
    ids, files, _said = old
    amina = cli_as("amina")
    before = commit_count(repo)
    noted = amina("note", ids[1], "--text", "school visit", "--json")
    assert noted.code == 0, noted.stderr
    assert NOTICE in noted.stderr
    assert commit_count(repo) == before + 2
    assert git(repo, "log", "-2", "--format=%s").split("\n")[1] == "upgrade format 2"
    written = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert written == [f"{case_rel(ids[1])}/{noted.json()['record_id']}.note.yaml.age"]
    assert_format2(repo, sorted(files + written))
    assert not (repo / CASES / ids[1]).exists()


def _steps(repo, *done: str) -> None:
    """The upgrade's steps `done` run by hand as a killed command leaves them: holding the lock, the working tree
    marked as being changed (the generation odd), and never marked done. The commit is amina's, signed with her key
    as the command signs it."""
    from cpcm.crypto import identity, signing
    from cpcm.store import upgrade
    from cpcm.store.git import Git
    from cpcm.store.lock import RepoLock

    signer = signing.for_identity(identity.load(repo.parent / "keys" / "amina.txt", lambda: None))

    lock = RepoLock(repo / LOCK)
    lock.__enter__()
    try:
        lock.begin_write()
        if "commit" in done:
            assert upgrade._commit(Git(repo, signer), "amina", "amina@test.cpcm.invalid")
        if "move" in done:
            assert upgrade._move_folders(repo) == 3
        if "move one" in done:
            folder = next(p for p in sorted((repo / CASES).iterdir()) if p.is_dir())
            (repo / CASES / folder.name[3:5]).mkdir()
            os.rename(folder, repo / CASES / folder.name[3:5] / folder.name)
        if "read-tree" in done:
            Git(repo).run(["read-tree", "HEAD"])
    finally:
        lock.release()


@pytest.mark.parametrize("done", [("commit",), ("commit", "move one"), ("commit", "move"), ("commit", "move", "read-tree"),
                                  ("move one",), ("move",)])
def test_upgrade__killed_in_the_middle_the_next_command_finishes_it(old, cli_as, repo, done):
    ids, files, said = old
    before = commit_count(repo)
    _steps(repo, *done)
    due = cli_as("amina")("due", "--json")
    assert due.code == 0, due.stderr
    assert due.stdout == said["due"] and NOTICE in due.stderr
    assert commit_count(repo) == before + 1 and len(_upgrades(repo)) == 1  # the commit is never made twice
    assert_format2(repo, files)
    assert cli_as("amina")("show", ids[0]).code == 0
    assert cli_as("sup")("verify").code == 0


@pytest.mark.parametrize("step, committed", [("git-update-ref", False), ("git-update-ref-done", True), ("atomic-written", True)])
def test_upgrade__a_command_killed_during_it_leaves_it_to_the_next(old, cli_as, repo, step, committed):
    """Killed (SIGKILL: a power cut) before the commit moves the branch, just after, and writing the configuration
    (the last step): the next command does what is left, and the commit is made once."""
    _ids, files, said = old
    amina = cli_as("amina")
    before = commit_count(repo)
    killed = subprocess.run([sys.executable, "-m", "cpcm", "due"], env={**os.environ, **amina.env,
                            "CPCM_TEST_CRASH_AT": step}, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert _config_format((repo / CONFIG).read_text()) == "format: 1" and commit_count(repo) == before + committed
    due = amina("due", "--json")
    assert due.code == 0 and due.stdout == said["due"], due.stderr
    assert commit_count(repo) == before + 1 and len(_upgrades(repo)) == 1
    assert_format2(repo, files)


def test_upgrade__a_configuration_edited_by_hand_keeps_its_other_lines(cli_as, repo):
    amina = cli_as("amina")
    _cases(amina)
    config = repo / CONFIG
    # committed with a comment and a key cpcm does not know (kept, docs/case-format.md)
    config.write_text("# Kisumu office: settings\n" + config.read_text() + "extra: kept\n")
    git(repo, "-c", "user.name=sup", "-c", "user.email=sup@test.cpcm.invalid", "commit", "-q", "-m", "settings by hand", CONFIG)
    rewrite_as_format1(repo)
    committed = config.read_text()
    assert committed.startswith("# Kisumu office: settings\n") and "format: 1\n" in committed
    # and an edit not committed (cpcm verify reports it; every write refuses while it is there)
    config.write_text(committed.replace("# Kisumu office: settings", "# Kisumu office: settings, checked"))
    before = commit_count(repo)
    due = amina("due")
    assert due.code == 0, due.stderr
    assert git(repo, "show", f"HEAD:{CONFIG}") == committed.replace("format: 1", "format: 2")
    assert config.read_text() == committed.replace("format: 1", "format: 2").replace("settings\n", "settings, checked\n")
    assert git_status(repo) == [f" M {CONFIG}"]
    assert commit_count(repo) == before + 1
    again = amina("due")
    assert again.code == 0 and again.stderr == "" and len(_upgrades(repo)) == 1


def test_upgrade__a_format_1_config_without_a_format_key_is_upgraded_too(cli_as, repo):
    amina = cli_as("amina")
    ids = _cases(amina)
    rewrite_as_format1(repo)
    config = repo / CONFIG
    config.write_text("".join(line for line in config.read_text().splitlines(True) if not line.startswith("format:")))
    git(repo, "-c", "user.name=sup", "-c", "user.email=sup@test.cpcm.invalid", "commit", "-q", "-m", "older", CONFIG)
    shown = amina("show", ids[0])
    assert shown.code == 0 and NOTICE in shown.stderr, shown.stderr
    assert _config_format(config.read_text()) == "format: 2" and git_status(repo) == []
    assert all(case_dir(repo, case_id).is_dir() for case_id in ids)


@pytest.fixture
def old_agency(agency):
    """The recovery drill's agency (the manager 'mgr' with a recovery recipient, 'amina' a caseworker), with a case of
    amina's, made format 1. Returns (root, {worker: identity path}, recovery identity path, the case)."""
    root, keys, recovery = agency
    amina = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys["amina"]), "CPCM_NOW": NOW})
    case_id = register(amina, child={"name": f"{CANARY} Four", "sex": "male", "age_estimate": 9})
    rewrite_as_format1(root)
    return root, keys, recovery, case_id


def _refused_old(done, root, before: str) -> None:
    assert done.code == 4, done.stderr
    assert done.json()["rule"] == "format-old" and "format 1" in done.json()["message"]
    assert git(root, "rev-parse", "HEAD").strip() == before and git_status(root) == []
    assert _config_format((root / CONFIG).read_text()) == "format: 1"
    assert CANARY.split()[0] not in done.stdout + done.stderr


def test_upgrade__the_recovery_key_reads_nothing_of_format_1_and_moves_nothing(old_agency):
    root, keys, recovery, case_id = old_agency
    before = git(root, "rev-parse", "HEAD").strip()
    reader = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(recovery), "CPCM_NOW": NOW})
    for args in (("show", case_id), ("list",), ("due",)):
        _refused_old(reader(*args, "--json"), root, before)
    # nor does it put a manager's key back there (cpcm team recover): a worker's command upgrades it first
    new_key = root.parent / "laptop2" / "identity"
    recipient = make_identity(new_key)
    recovered = Cli({"CPCM_REPO": str(root), "CPCM_NOW": NOW})(
        "team", "recover", "mgr", "--recipient", recipient, "--recovery-identity", str(recovery), "--reason", "lost",
        "--signing-key", signing_line(new_key), "--json")
    _refused_old(recovered, root, before)
    # a worker's first command moves it; then the recovery key reads it
    amina = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys["amina"]), "CPCM_NOW": NOW})
    assert NOTICE in amina("list").stderr and len(_upgrades(root)) == 1
    shown = reader("show", case_id, "--json")
    assert shown.code == 0 and shown.json()["case_id"] == case_id, shown.stderr


def test_upgrade__a_newcomer_on_a_format_1_copy_is_refused_before_anything_is_read(old_agency, tmp_env):
    root, _keys, _recovery, _case_id = old_agency
    before = git(root, "rev-parse", "HEAD").strip()
    newcomer = tmp_env / "keys" / "baraka.txt"
    make_identity(newcomer)
    joining = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(newcomer), "CPCM_NOW": NOW})
    _refused_old(joining("bundle", "apply", str(tmp_env / "from-the-office.cpcm"), "--json"), root, before)
    _refused_old(joining("sync", "--json"), root, before)


def test_upgrade__a_command_begun_while_another_wrote_reads_the_repository_it_upgraded(old, cli_as, repo):
    """The first command starts while another cpcm holds the lock in the middle of a write (it reads the last
    commit meanwhile, store/casestore.py `open_for_read`), then waits for the lock to upgrade: once it has, it
    reads the repository as the upgrade left it, not the format-1 commit it began on."""
    import time

    from cpcm.store.lock import RepoLock

    _ids, files, said = old
    writer = RepoLock(repo / LOCK)
    writer.__enter__()
    writer.begin_write()
    try:
        waiting = cli_as("amina").process("due", "--json", wait=False)
        time.sleep(2)  # it has begun (reading the last commit) and waits for the lock
        assert waiting.poll() is None
        writer.end_write()
    finally:
        writer.release()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert out == said["due"] and NOTICE in err
    assert len(_upgrades(repo)) == 1
    assert_format2(repo, files)


def test_upgrade__a_register_imported_in_format_1_is_known_as_imported_after_it(cli_as, repo, tmp_env):
    """`cpcm import cases` finds a register imported before (its commit, of format 1 here) and names its cases
    by the rows they came from: the commit's paths are read as they are now (service/imports.py)."""
    from test_import import child, write_csv

    amina = cli_as("amina")
    path = tmp_env / "register.csv"
    write_csv(path, [child(n) for n in range(3)])
    done = amina("import", "cases", str(path), "--json")
    assert done.code == 0, done.stderr
    made = [(c["row"], c["case_id"]) for c in done.json()["cases"]]
    rewrite_as_format1(repo)
    again = amina("import", "cases", str(path), "--json")
    assert again.code == 0 and NOTICE in again.stderr, again.stderr
    assert [(c["row"], c["case_id"]) for c in again.json()["already_imported"]["cases"]] == made
    assert again.json()["imported"] == 0 and len(_upgrades(repo)) == 1 and git_status(repo) == []


def test_upgrade__a_write_of_an_earlier_release_killed_before_the_upgrade_is_rolled_back_first(old, cli_as, repo):
    """An earlier release's write, killed (its note left, a record half-written in the case's format-1 folder, a
    temp file), then cpcm upgraded: the first command rolls that write back as cpcm's own, then upgrades; nothing
    of it is left in a case folder, moved or not, and nothing is named as a person's file."""
    ids, files, _said = old
    folder = repo / CASES / ids[1]
    (folder / "01JE0000000000000000000000.note.yaml.age").write_bytes(b"age-encryption.org/v1\nhalf")
    (folder / ".tmp-note").write_bytes(b"age-encryption.org/v1\n")
    (repo / ".cpcm" / "pending.json").write_text(json.dumps({"verb": "note", "worker": "amina"}))

    due = cli_as("amina")("due")
    assert due.code == 0, due.stderr
    assert NOTICE in due.stderr and "left" not in due.stderr.lower(), due.stderr
    assert len(_upgrades(repo)) == 1
    assert_format2(repo, files)
    assert not (repo / ".cpcm" / "pending.json").exists()
    assert sorted(p.name for p in case_dir(repo, ids[1]).iterdir()) == sorted(
        path.rsplit("/", 1)[1] for path in files if path.startswith(case_rel(ids[1]) + "/"))
    assert cli_as("sup")("verify").code == 0


def test_upgrade__the_first_command_after_it_decrypts_no_record_the_cache_held(old, cli_as, repo, monkeypatch):
    """An upgrade of cpcm that comes with format 2 leaves the cache's record table (records by blob id, which the
    upgrade keeps) and remakes the rest: the first command, the upgrade's, decrypts nothing it had read before."""
    import shutil

    from cpcm.store.cache import worker_folder
    ids, _files, said = old
    folder = worker_folder(repo, "amina")
    assert (folder / "records").is_dir()
    for entry in folder.iterdir():  # what an earlier release's views and tables are to this one: gone
        if entry.name != "records":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    decrypted = _decrypts(monkeypatch)
    due = cli_as("amina")("due", "--json")
    assert due.code == 0 and NOTICE in due.stderr, due.stderr
    assert due.stdout == said["due"]
    assert decrypted == [], decrypted


@pytest.mark.parametrize("line, now", [(b"format: 1", b"format: 2"), (b"format:1", b"format: 2"),
                                       (b"format: 1  # the casefile format", b"format: 2  # the casefile format"),
                                       (b"format : 1", b"format: 2"), (b'"format": 1', b"format: 2"),
                                       (b"'format': '1'", b"format: 2"), (b"format: !!int 1", b"'")])
def test_upgrade__the_format_line_is_changed_where_it_is_whatever_its_line_endings_and_comment(line, now):
    from cpcm.errors import Corrupt
    from cpcm.store.layout import format_of
    from cpcm.store.upgrade import config_text

    for end in (b"\n", b"\r\n"):
        text = end.join([b"# cpcm settings", line, b"agency:", b"  code: TEST", b""])
        if now == b"'":  # a value the line cannot be changed in place for (a YAML tag): refused, nothing changed
            with pytest.raises(Corrupt) as refused:
                config_text(text)
            assert "format line" in refused.value.message
            continue
        assert format_of(text) == 1
        changed = config_text(text)
        assert changed == text.replace(line, now) and format_of(changed) == 2, changed
    assert config_text(b"agency:\r\n  code: TEST\r\n") == b"format: 2\r\nagency:\r\n  code: TEST\r\n"


def test_upgrade__a_folder_in_cases_that_is_no_case_is_left_where_it_is(old, cli_as, repo):
    """Only case folders (named as case IDs) are moved: a folder a person committed in cases/ with another name,
    whatever its characters, stays where it is (verify names it as a stray, not the upgrade as doing more)."""
    from conftest import signed_commit

    ids, files, _said = old
    for name in ("old..notes", "abc.d", "scans-2026"):
        (repo / CASES / name).mkdir()
        (repo / CASES / name / "x.txt").write_text("by hand\n")
    signed_commit(repo, "amina", "add notes", *(f"{CASES}/{name}/x.txt" for name in ("old..notes", "abc.d", "scans-2026")))
    due = cli_as("amina")("due")
    assert due.code == 0 and NOTICE in due.stderr, due.stderr
    for name in ("old..notes", "abc.d", "scans-2026"):
        assert (repo / CASES / name / "x.txt").is_file(), name
        assert git(repo, "ls-tree", "--name-only", "HEAD", f"{CASES}/{name}/x.txt").strip() == f"{CASES}/{name}/x.txt"
    assert not (repo / "old..notes").exists() and not (repo / CASES / ".d").exists()
    assert all(case_dir(repo, case_id).is_dir() for case_id in ids)
    checked = cli_as("sup")("verify", "--json")
    assert "upgrade-not-only-moves" not in checked.stdout, checked.stdout


def test_upgrade__a_copy_checked_out_with_windows_line_endings_is_upgraded_and_reads(old, cli_as, repo):
    """A laptop whose git writes files with \\r\\n (core.autocrlf, git's default on Windows): the configuration on
    disk keeps its line endings and gets one `format:` line; the commands after it read it."""
    ids, files, said = old
    git(repo, "config", "core.autocrlf", "true")
    (repo / CONFIG).unlink()
    git(repo, "checkout", "--", CONFIG)
    on_disk = (repo / CONFIG).read_bytes()
    assert b"\r\n" in on_disk and b"format: 1\r\n" in on_disk
    due = cli_as("amina")("due", "--json")
    assert due.code == 0, due.stderr
    assert NOTICE in due.stderr and due.stdout == said["due"]
    text = (repo / CONFIG).read_bytes()
    assert text.count(b"format:") == 1 and b"format: 2\r\n" in text
    assert cli_as("amina")("show", ids[0]).code == 0


def test_upgrade__a_command_that_waited_while_another_upgraded_says_nothing_of_it(old, repo):
    """Two commands at once on a format-1 copy: the one that waited for the lock finds everything done, makes
    no commit and has nothing to say (the notice is the other's)."""
    from cpcm.store import upgrade
    from cpcm.store.git import Git

    assert upgrade.upgrade(repo, Git(repo), "Amina", "amina@test.cpcm.invalid") is True
    assert upgrade.upgrade(repo, Git(repo), "Amina", "amina@test.cpcm.invalid") is False
    assert len(_upgrades(repo)) == 1
