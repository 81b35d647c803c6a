"""Git as the audit trail: exactly one commit per mutating command, by the acting worker, and
none for reads; nothing is ever left uncommitted."""
from __future__ import annotations

import json

from conftest import NOW, Cli, commit_count, git, git_status, head, last_commit, make_identity, register
from cpcm.store.config import load_team, team_bytes
from cpcm.store.layout import case_dir, case_rel
from cpcm.domain.team import Team, Worker


def assert_one_commit_by(root, before: int, worker: str, name: str | None = None, subject_starts: str = ""):
    assert commit_count(root) == before + 1
    commit = last_commit(root)
    assert commit["author"] == (name or worker)
    assert commit["email"] == f"{worker}@test.cpcm.invalid"
    assert (commit["committer"], commit["committer_email"]) == (commit["author"], commit["email"])
    assert commit["subject"].startswith(subject_starts)
    assert git_status(root) == []


def test_init__makes_exactly_one_commit_by_the_worker(tmp_env, team):
    root = tmp_env / "fresh"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    result = sup("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "sup", "--role", "supervisor")
    assert result.code == 0, result.stderr
    assert_one_commit_by(root, 0, "sup", subject_starts="init TEST")
    tracked = set(git(root, "ls-files").split())
    assert {".cpcm/config.yaml", ".cpcm/team.yaml", ".gitignore", ".gitattributes"} <= tracked


def test_register__makes_exactly_one_commit_by_the_worker(cli, repo):
    before = commit_count(repo)
    case_id = register(cli)
    assert_one_commit_by(repo, before, "amina", subject_starts=f"register {case_id} ")
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == sorted(
        [f"{case_rel(case_id)}/recipients"] + [str(p.relative_to(repo)) for p in case_dir(repo, case_id).glob("*.age")])


def test_register__author_is_the_workers_display_name(cli_as, repo, tmp_env):
    recipient = make_identity(tmp_env / "keys" / "wanjiru.txt")
    assert cli_as("sup")("team", "add", "wanjiru", "--role", "caseworker", "--recipient", recipient, "--name", "Wanjiru Kamau").code == 0
    wanjiru = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(tmp_env / "keys" / "wanjiru.txt"), "CPCM_NOW": NOW})
    before = commit_count(repo)
    register(wanjiru)
    assert_one_commit_by(repo, before, "wanjiru", name="Wanjiru Kamau", subject_starts="register ")


def test_assign__makes_exactly_one_commit_by_the_acting_worker(cli_as, repo):
    case_id = register(cli_as("amina"))
    before = commit_count(repo)
    result = cli_as("sup")("assign", case_id, "--worker", "otieno")
    assert result.code == 0, result.stderr
    assert_one_commit_by(repo, before, "sup", subject_starts=f"assign {case_id} ")


def test_team_add__makes_exactly_one_commit(cli_as, repo, tmp_env):
    register(cli_as("amina"))
    before = commit_count(repo)
    result = cli_as("sup")("team", "add", "sup2", "--role", "supervisor", "--recipient", make_identity(tmp_env / "keys" / "s2.txt"))
    assert result.code == 0, result.stderr
    assert_one_commit_by(repo, before, "sup", subject_starts="team add sup2")
    # the team file and the re-encrypted case travel in that one commit
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert ".cpcm/team.yaml" in changed and any(p.endswith("/recipients") for p in changed)


def test_team_remove__makes_exactly_one_commit(cli_as, repo):
    before = commit_count(repo)
    result = cli_as("sup")("team", "remove", "otieno")
    assert result.code == 0, result.stderr
    assert_one_commit_by(repo, before, "sup", subject_starts="team remove otieno")


def test_team_sync__makes_one_commit_when_a_case_needs_it_and_none_otherwise(cli, repo, tmp_env):
    case_id = register(cli)
    # the team changed elsewhere (a merge of another copy): a supervisor the case was not encrypted to
    team = load_team(repo)
    extra = Worker("sup2", "sup2", ("supervisor",), make_identity(tmp_env / "keys" / "s2.txt"), since=NOW)
    (repo / ".cpcm" / "team.yaml").write_bytes(team_bytes(Team(team.workers + (extra,))))
    git(repo, "-c", "user.name=merge", "-c", "user.email=merge@test", "commit", "-q", "-am", "team add sup2")
    before = commit_count(repo)
    result = cli("team", "sync", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["reencrypted"] == 1
    assert_one_commit_by(repo, before, "amina", subject_starts="team sync 1 cases")
    assert "sup2" in (case_dir(repo, case_id) / "recipients").read_text().split()
    again = cli("team", "sync")
    assert again.code == 0, again.stderr
    assert commit_count(repo) == before + 1


def test_team_sync__makes_no_commit_when_nothing_changes(cli, repo):
    register(cli)
    before = head(repo)
    result = cli("team", "sync")
    assert result.code == 0, result.stderr
    assert head(repo) == before
    assert git_status(repo) == []


READS = [
    ("show", "{case}"), ("show", "{case}", "--json"), ("list",), ("list", "--names", "--json"), ("log", "{case}"),
    ("log", "{case}", "--json"), ("team", "list"), ("team", "list", "--json"), ("form", "blank", "registration"),
    ("key", "show"), ("key", "show", "--json"),
]


def test_reads__make_no_commit_and_leave_nothing_to_commit(cli, repo):
    case_id = register(cli)
    before = head(repo)
    for argv in READS:
        result = cli(*[a.format(case=case_id) for a in argv])
        assert result.code == 0, (argv, result.stderr)
        assert result.stdout.strip(), argv
        assert head(repo) == before, argv
        assert git_status(repo) == [], argv


def test_refused_commands__make_no_commit(cli_as, repo):
    amina = cli_as("amina")
    case_id = register(amina)
    before = head(repo)
    assert amina("assign", case_id, "--worker", "amina").code == 4
    assert amina("team", "remove", "otieno").code == 4
    assert cli_as("sup")("team", "remove", "amina").code == 4
    assert head(repo) == before
    assert git_status(repo) == []


def test_a_file_staged_by_hand_is_never_swept_into_a_commit(cli, repo):
    """cpcm commits only what it writes: a file a person staged (`git add`, `git rm`) stops the command, which
    changes nothing and says how to unstage it (the file could hold anything: a call list with names). Its name,
    which may be a child's, is not repeated: git status lists it."""
    from conftest import CANARY, registration

    case_id = register(cli)
    listed = f"call list {CANARY}.txt"
    (repo / listed).write_text(f"{CANARY} 0712 000000\n")
    git(repo, "add", listed)
    before, tip = commit_count(repo), head(repo)
    refused = cli("note", case_id, "--text", "visited")
    assert refused.code == 6
    assert "staged by hand" in refused.stderr and "whose name is not shown (it may name someone: git status lists it)" \
        in refused.stderr
    assert "git restore --staged -- FILE (the files on disk stay as they are; FILE: each that git status lists as " \
           "staged)" in refused.stderr and CANARY not in refused.stderr
    assert (commit_count(repo), head(repo)) == (before, tip)
    assert git(repo, "diff", "--cached", "--name-only") == f"{listed}\n"    # still staged, as the person left it
    trees = [line.split()[0] for line in git(repo, "cat-file", "--batch-all-objects", "--batch-check").splitlines()
             if line.split()[1] == "tree"]
    assert not [t for t in trees if CANARY in git(repo, "ls-tree", t)]     # refused before a tree named the file
    assert not [p for p in case_dir(repo, case_id).iterdir() if "note" in p.name]  # the note's file rolled back
    git(repo, "restore", "--staged", "--", listed)
    assert cli("note", case_id, "--text", "visited").code == 0
    assert listed not in git(repo, "ls-tree", "-r", "--name-only", "HEAD")
    record = next(case_dir(repo, case_id).glob("*.age")).relative_to(repo).as_posix()
    git(repo, "rm", "-q", "--cached", record)                                     # a record's removal staged
    tip = head(repo)
    refused = cli("register", "--from-file", "-", input=json.dumps(registration()))
    assert refused.code == 6 and record in refused.stderr and head(repo) == tip
    assert git(repo, "diff", "--cached", "--name-only") == f"{record}\n"


def test_the_first_commit_takes_no_file_staged_by_hand(tmp_env, team):
    """`cpcm init` in a folder where git was set up and a file staged (then deleted from the folder, as a person
    does when told the folder must be empty): the signed `init` commit does not take it in."""
    from conftest import CANARY

    root = tmp_env / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "call-list.txt").write_text(f"{CANARY} 0712 000000\n")
    git(root, "add", "call-list.txt")
    (root / "call-list.txt").unlink()
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    refused = sup("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "sup", "--role", "supervisor")
    assert refused.code == 6 and "git status lists it" in refused.stderr and "call-list.txt" not in refused.stderr
    assert CANARY not in refused.stderr
    assert git(root, "rev-list", "--all") == ""                                  # no commit made
    assert git(root, "diff", "--cached", "--name-only") == "call-list.txt\n"     # as the person left it, and only it
    git(root, "rm", "-q", "--cached", "call-list.txt")
    done = sup("init", "--agency", "TEST", "--name", "Test Agency", "--worker", "sup", "--role", "supervisor")
    assert done.code == 0, done.stderr
    assert "call-list.txt" not in git(root, "ls-tree", "-r", "--name-only", "HEAD")


def test_a_rollback_names_its_paths_to_git_a_few_at_a_time(cli, repo, monkeypatch):
    """A transaction of tens of thousands of files (a key rotation) rolled back: git is given its paths in chunks
    (one command line of them all passed the system's limit, and every later command failed the same way)."""
    from conftest import library_session
    from cpcm.store import casestore
    from cpcm.store import git as git_module
    from test_sync_proportional import git_verbs

    case_id = register(cli)
    folder = case_dir(repo, case_id)
    files = sorted(p for p in folder.iterdir() if p.is_file())
    before = {p: p.read_bytes() for p in files}
    for p in files:
        p.write_bytes(b"changed")
    (folder / "extra.note.yaml.age").write_bytes(b"new")
    paths = [p.relative_to(repo).as_posix() for p in [*files, folder / "extra.note.yaml.age"]]
    git(repo, "add", "--", *paths)
    verbs = git_verbs(monkeypatch)
    monkeypatch.setattr(git_module, "PATHS_PER_COMMAND", 1)
    casestore.rollback(library_session(cli).store, paths)
    assert verbs.count("reset") == len(paths) and verbs.count("checkout") == len(files)
    assert {p: p.read_bytes() for p in files} == before and not (folder / "extra.note.yaml.age").exists()
    assert git_status(repo) == []


def test_approving_with_nothing_waiting_in_a_copy_that_syncs_with_none_does_not_say_to_sync(cli_as, repo):
    """Several workers on one copy, no remote: nothing can arrive by a sync, and the refusal does not say to sync
    (tests/test_sync.py: a copy that syncs is told to)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    refused = sup("approve", case_id, "plan", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "nothing-to-approve"
    assert "sync" not in (refused.json().get("hint") or "")
