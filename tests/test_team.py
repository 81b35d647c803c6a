"""The team decides who can read a case: a new supervisor is given every case, a removed worker
loses the current files, and only a supervisor or manager changes the team."""
from __future__ import annotations

import pytest

from conftest import NOW, Cli, commit_count, git_status, head, make_identity, make_repo, record_files, register, signing_line
from cpcm.crypto import cipher
from cpcm.crypto import identity as identity_mod
from cpcm.store.layout import case_dir


def keys_of(path):
    return identity_mod.load(path, lambda: None).keys


def can_decrypt(path, identity_file) -> bool:
    try:
        cipher.decrypt(path.read_bytes(), keys_of(identity_file))
        return True
    except cipher.NotARecipient:
        return False


def readers(repo, case_id) -> list[str]:
    text = (case_dir(repo, case_id) / "recipients").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.fixture
def sup2(repo, tmp_env):
    """A second supervisor's identity (not yet in the team): (identity path, recipient, cli)."""
    path = tmp_env / "keys" / "sup2.txt"
    recipient = make_identity(path)
    return path, recipient, Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(path), "CPCM_NOW": NOW})


def test_team_add__a_supervisor_can_read_every_existing_case(cli_as, repo, sup2):
    amina_case = register(cli_as("amina"))
    otieno_case = register(cli_as("otieno"))
    path, recipient, as_sup2 = sup2
    assert as_sup2("show", amina_case).code == 5  # not in the team yet
    result = cli_as("sup")("team", "add", "sup2", "--role", "supervisor", "--recipient", recipient, "--json")
    assert result.code == 0, result.stderr
    assert result.json()["not_reencrypted"] == []
    for case_id in (amina_case, otieno_case):
        assert "sup2" in readers(repo, case_id)
        assert all(can_decrypt(p, path) for p in record_files(repo, case_id))
        shown = as_sup2("show", case_id)
        assert shown.code == 0, shown.stderr
    listed = as_sup2("list", "--json")
    assert sorted(c["case_id"] for c in listed.json()) == sorted([amina_case, otieno_case])
    # the worker of each case still reads it; the other caseworker still does not
    assert cli_as("amina")("show", amina_case).code == 0
    assert cli_as("otieno")("show", amina_case).code == 5


def test_team_add__a_caseworker_is_given_no_existing_case(cli_as, repo, tmp_env):
    case_id = register(cli_as("amina"))
    before = {p.name: p.read_bytes() for p in record_files(repo, case_id)}
    path = tmp_env / "keys" / "new.txt"
    result = cli_as("sup")("team", "add", "wanjiru", "--role", "caseworker", "--recipient", make_identity(path))
    assert result.code == 0, result.stderr
    assert {p.name: p.read_bytes() for p in record_files(repo, case_id)} == before  # not even re-encrypted
    assert "wanjiru" not in readers(repo, case_id)
    assert not any(can_decrypt(p, path) for p in record_files(repo, case_id))


def test_team_add__without_a_signing_key_says_how_it_gets_recorded(cli_as, repo, sup2):
    """Until a signing key is recorded the worker's commits are unknown-signer (and other copies
    refuse them at sync): the supervisor who left it out is told both ways to record it."""
    path, recipient, as_sup2 = sup2
    result = cli_as("sup")("team", "add", "sup2", "--role", "caseworker", "--recipient", recipient)
    assert result.code == 0, result.stderr
    assert "next: no signing key is recorded for 'sup2' yet: they run cpcm key publish" in result.stderr, result.stderr
    assert "cpcm key publish --worker sup2 --signing-key LINE" in result.stderr
    assert "cpcm key show --signing" in result.stderr
    signing = as_sup2("key", "show", "--signing")
    assert signing.code == 0, signing.stderr
    fresh = make_identity(path.parent / "w2.txt")
    line = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(path.parent / "w2.txt"), "CPCM_NOW": NOW})("key", "show", "--signing")
    given = cli_as("sup")("team", "add", "w2", "--role", "caseworker", "--recipient", fresh, "--signing-key", line.stdout.strip(),
                          "--json")
    assert given.code == 0, given.stderr
    assert "no signing key" not in given.stderr and given.json()["next_steps"] == []
    scripted = cli_as("sup")("team", "add", "w3", "--role", "caseworker", "--json",
                             "--recipient", make_identity(path.parent / "w3.txt"))
    assert scripted.code == 0, scripted.stderr  # a script is told too: in the JSON's next_steps
    assert [s[:47] for s in scripted.json()["next_steps"]] == ["no signing key is recorded for 'w3' yet: they r"]


def test_team_add__the_new_supervisor_is_a_reader_of_cases_registered_afterwards(cli_as, repo, sup2):
    path, recipient, as_sup2 = sup2
    assert cli_as("sup")("team", "add", "sup2", "--role", "supervisor", "--recipient", recipient).code == 0
    case_id = register(cli_as("otieno"))
    assert readers(repo, case_id) == ["otieno", "sup", "sup2"]
    assert as_sup2("show", case_id).code == 0


def test_team_remove__refused_while_the_worker_has_open_cases(cli_as, repo):
    case_id = register(cli_as("amina"))
    sup = cli_as("sup")
    before = head(repo)
    refused = sup("team", "remove", "amina")
    assert refused.code == 4
    assert case_id in refused.stderr and "cpcm assign" in refused.stderr
    assert head(repo) == before and git_status(repo) == []
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    removed = sup("team", "remove", "amina")
    assert removed.code == 0, removed.stderr
    assert "history" in removed.stderr  # the warning about old ciphertexts in git history


def test_team_remove__the_children_the_worker_registered_are_still_updated_and_corrected(cli_as, repo):
    """The registration names the worker who registered the child; once she has left, an update
    (validated against the registration as it would stand) was refused on every field with
    'worker: is not a member of the team'. Staff move on; their children do not (docs/team.md)."""
    case_id = register(cli_as("amina"))
    sup, otieno = cli_as("sup"), cli_as("otieno")
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert sup("team", "remove", "amina").code == 0
    for argv in (("update", case_id, "--location", "Migosi", "--reason", "moved"),
                 ("update", case_id, "--set", "child.disability=yes", "--reason", "seen by a doctor"),
                 ("correct", case_id, "update@1", "--set", "location=Migosi, Kisumu", "--reason", "typo")):
        done = otieno(*argv)
        assert done.code == 0, (argv, done.stderr)
    assert otieno("show", case_id, "--json").json()["location"] == "Migosi, Kisumu"
    # a new worker named is still one of the team
    refused = otieno("correct", case_id, "registration", "--set", "worker=nobody", "--reason", "r")
    assert refused.code == 4 and "worker: is not a member of the team" in refused.stderr, refused.stderr


def test_team_remove__refused_for_more_cases_than_it_names_says_how_to_list_them_all(cli_as, repo):
    """The refusal names five of a leaving worker's open cases: the hint says how the supervisor
    sees every one of them, and what is due on each, to hand them over."""
    from conftest import register_many

    cases = register_many(cli_as("amina"), 6)
    refused = cli_as("sup")("team", "remove", "amina")
    assert refused.code == 4 and "6 open case(s)" in refused.stderr and "…" in refused.stderr
    assert "cpcm list --worker amina lists them all" in refused.stderr and "cpcm due --worker amina" in refused.stderr
    listed = cli_as("sup")("list", "--worker", "amina", "--json").json()
    assert sorted(row["case_id"] for row in listed) == sorted(cases)


def test_assign__tells_the_new_worker_what_they_take_over_overdue_and_where_to_read_it(cli_as, repo):
    """A handover: the supervisor reassigns a leaving worker's case; the message says how many of
    its deadlines are already overdue and how the new worker reads the case."""
    case_id = register(cli_as("amina"))  # the initial assessment is due within days of registration
    late = cli_as("sup", CPCM_NOW="2026-12-30T09:00:00+03:00")
    handed = late("assign", case_id, "--worker", "otieno")
    assert handed.code == 0, handed.stderr
    overdue = [i for i in cli_as("otieno", CPCM_NOW="2026-12-30T09:00:00+03:00")("due", "--json").json() if i["state"] == "overdue"]
    assert overdue
    assert (f"next: otieno takes over its deadlines ({len(overdue)} overdue): they read it with cpcm show {case_id} "
            f"and cpcm log {case_id}, and find it on cpcm due") in handed.stderr, handed.stderr


def test_team_remove__warns_when_no_signing_key_was_ever_recorded_for_the_worker(cli_as, repo, tmp_env):
    """A worker added without --signing-key who never published one leaves commits cpcm verify
    reports as unknown-signer for good: the removal says so, and how to avoid it next time."""
    sup = cli_as("sup")
    recipient = make_identity(tmp_env / "keys" / "njeri.txt")
    assert sup("team", "add", "njeri", "--role", "caseworker", "--recipient", recipient).code == 0
    njeri = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(tmp_env / "keys" / "njeri.txt"), "CPCM_NOW": NOW})
    case_id = register(njeri)
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    removed = sup("team", "remove", "njeri")
    assert removed.code == 0, removed.stderr
    assert "no signing key was ever recorded for 'njeri'" in removed.stderr
    assert "cpcm key publish --worker WORKER --signing-key LINE" in removed.stderr
    verified = sup("verify")
    assert verified.code == 1 and "unknown-signer" in verified.stdout  # what the warning told
    # a worker whose key is recorded: no such warning
    assert "no signing key" not in sup("team", "remove", "amina").stderr


def test_team_remove__the_removed_worker_cannot_decrypt_the_current_files(cli_as, repo, team):
    sup = cli_as("sup")
    case_id = register(cli_as("amina"))
    old_files = {p.name: p.read_bytes() for p in record_files(repo, case_id)}
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert sup("team", "remove", "amina").code == 0
    files = record_files(repo, case_id)
    assert len(files) == 2  # the registration and the assignment
    amina_key = team["amina"][0]
    assert not any(can_decrypt(p, amina_key) for p in files)
    assert all(can_decrypt(p, team["otieno"][0]) for p in files)
    assert "amina" not in readers(repo, case_id)
    # the removed worker is no longer a member at all
    result = cli_as("amina")("show", case_id)
    assert result.code == 5 and "not a member" in result.stderr
    # what history still holds: the old ciphertext, readable with the old key (docs/security.md)
    (name, data), = old_files.items()
    assert cipher.decrypt(data, keys_of(amina_key))


def test_team_remove__deletes_the_removed_workers_cache_here_and_says_where_else_to(cli_as, repo):
    """The removed worker's cache holds what their cases hold, encrypted to their key: removal
    deletes it on this computer and the next: line names the folder to delete on the others
    (docs/security.md gave a file name the cache no longer has)."""
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = register(amina)
    assert amina("list").code == 0 and amina("due").code == 0  # fills amina's cache here
    cache = repo / ".cpcm" / "cache" / "amina"
    assert cache.is_dir() and any(cache.rglob("*.age"))
    assert sup("list").code == 0
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    removed = sup("team", "remove", "amina")
    assert removed.code == 0, removed.stderr
    assert not cache.exists()
    assert (repo / ".cpcm" / "cache" / "sup").is_dir()  # nobody else's
    assert ("next: on any other computer 'amina' worked on a copy, delete .cpcm/cache/amina/ (deleted on this one)"
            in removed.stderr), removed.stderr
    assert git_status(repo) == []
    # a worker with no cache here: nothing deleted, the other computers named all the same
    assert sup("assign", case_id, "--worker", "sup").code == 0
    gone = sup("team", "remove", "otieno", "--json")
    assert gone.code == 0 and gone.json()["cache"] == "none", gone.stdout


def test_team_remove__a_removed_supervisor_loses_every_case(cli_as, repo, sup2):
    path, recipient, as_sup2 = sup2
    sup = cli_as("sup")
    assert sup("team", "add", "sup2", "--role", "supervisor", "--recipient", recipient).code == 0
    case_id = register(cli_as("amina"))
    assert all(can_decrypt(p, path) for p in record_files(repo, case_id))
    assert sup("team", "remove", "sup2").code == 0
    assert readers(repo, case_id) == ["amina", "sup"]
    assert not any(can_decrypt(p, path) for p in record_files(repo, case_id))
    assert as_sup2("show", case_id).code == 5


def test_team_remove__an_unknown_worker_gives_3(cli_as, repo):
    assert cli_as("sup")("team", "remove", "nobody").code == 3


def test_team_remove__a_removed_id_is_not_reused(cli_as, repo, tmp_env):
    sup = cli_as("sup")
    assert sup("team", "remove", "otieno").code == 0
    again = sup("team", "add", "otieno", "--role", "caseworker", "--recipient", make_identity(tmp_env / "keys" / "o2.txt"))
    assert again.code == 4
    listed = sup("team", "list", "--all", "--json").json()
    assert [w["id"] for w in listed if w.get("removed")] == ["otieno"]


def test_team_add__a_key_already_in_the_team_is_refused(cli_as, repo, team):
    result = cli_as("sup")("team", "add", "amina2", "--role", "caseworker", "--recipient", team["amina"][1])
    assert result.code == 4


def test_team_add__a_removed_or_replaced_key_is_refused(cli_as, repo, team, tmp_env):
    """A lost laptop's key (its worker revoked) or a key replaced by a rotation is never a worker's
    key again (docs/case-format.md, past_keys): added under a new id, it would read every case."""
    sup = cli_as("sup")
    case_id = register(cli_as("amina"))
    assert sup("assign", case_id, "--worker", "otieno").code == 0
    assert sup("team", "revoke", "amina", "--lost").code == 0
    replaced = make_identity(tmp_env / "keys" / "otieno2.txt")
    assert sup("key", "rotate", "--worker", "otieno", "--recipient", replaced, "--signing-key",
               signing_line(tmp_env / "keys" / "otieno2.txt"), "--reason", "lost").code == 0
    before = head(repo), (repo / ".cpcm" / "team.yaml").read_bytes()
    for old in (team["amina"][1], team["otieno"][1]):
        result = sup("team", "add", "newcomer", "--role", "caseworker", "--recipient", old, "--json")
        assert result.code == 4 and result.json()["rule"] == "recipient-exists", result.stderr
    assert (head(repo), (repo / ".cpcm" / "team.yaml").read_bytes()) == before
    assert git_status(repo) == []


def test_team_add__a_bad_recipient_or_role_gives_4_naming_it(cli_as, repo, team):
    sup = cli_as("sup")
    bad_key = sup("team", "add", "kamau", "--role", "caseworker", "--recipient", "age1notakey")
    assert bad_key.code == 4 and "recipient" in bad_key.stderr
    bad_role = sup("team", "add", "kamau", "--role", "director", "--recipient", team["amina"][1])
    assert bad_role.code == 4 and "role" in bad_role.stderr


@pytest.mark.parametrize("argv", [
    ("team", "add", "kamau", "--role", "caseworker", "--recipient", "{recipient}"),
    ("team", "add", "kamau", "--role", "supervisor", "--recipient", "{recipient}"),
    ("team", "remove", "otieno"),
])
def test_team_change__refused_for_a_caseworker(cli_as, repo, tmp_env, argv):
    recipient = make_identity(tmp_env / "keys" / "kamau.txt")
    before = commit_count(repo)
    team_file = (repo / ".cpcm" / "team.yaml").read_bytes()
    result = cli_as("amina")(*[a.format(recipient=recipient) for a in argv])
    assert result.code == 4
    assert "supervisor or manager" in result.stderr
    assert commit_count(repo) == before and git_status(repo) == []
    assert (repo / ".cpcm" / "team.yaml").read_bytes() == team_file


def test_team_list__needs_no_identity(cli, repo, tmp_env):
    result = cli("team", "list", "--json", env={"CPCM_IDENTITY": str(tmp_env / "keys" / "missing.txt")})
    assert result.code == 0, result.stderr
    assert [(w["id"], w["roles"]) for w in result.json()] == [
        ("sup", ["supervisor"]), ("amina", ["caseworker"]), ("otieno", ["caseworker"])]


def test_team_list__since_is_the_day_in_the_agency_s_zone_now_whatever_zone_it_was_written_in(tmp_env, team):
    # `cpcm init` on a UTC machine at 21:25 UTC, then `cpcm config set timezone Africa/Nairobi` (the docs' next
    # step), then a colleague added three minutes later (00:28 in Nairobi): both joined on 7 December there
    root = make_repo(tmp_env / "utc", team, timezone="UTC", now="2026-12-06T21:25:00+00:00", workers={"sup": "supervisor"})
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": "2026-12-06T21:26:00+00:00"})
    assert sup("config", "set", "timezone", "Africa/Nairobi").code == 0
    added = sup("team", "add", "amina", "--role", "caseworker", "--recipient", team["amina"][1],
                "--signing-key", signing_line(team["amina"][0]), env={"CPCM_NOW": "2026-12-06T21:28:00+00:00"})
    assert added.code == 0, added.stderr
    listed = sup("team", "list")
    assert listed.code == 0, listed.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.splitlines()[1:]}
    assert rows["sup"][5] == rows["amina"][5] == "2026-12-07", listed.stdout


def test_team_change__that_fails_leaves_the_session_with_the_team_as_it_was(monkeypatch):
    """A team change that writes nothing (here the re-encryption fails) leaves the session's team
    as it was, as a key rotation does: what follows in the session is not done for a worker who
    is not in the team."""
    from memory_repo import MemoryRepo
    from pyrage import x25519

    from cpcm import service
    from cpcm.service import team as team_mod

    mem = MemoryRepo()
    sup = mem.as_("sup")
    before, commits = sup.team, mem.commits()

    def fails(*args, **kwargs):
        raise OSError("the disk is full")
    monkeypatch.setattr(team_mod, "_reencrypt_all", fails)
    with pytest.raises(OSError):
        service.team_add(sup, "wanjiru", ["caseworker"], str(x25519.Identity.generate().to_public()))
    assert sup.team is before and sup.team.get("wanjiru") is None
    assert mem.commits() == commits


# -- conferences and the confidentiality register follow the team ----------------------------------
def conference_readers(repo, folder: str) -> list[str]:
    text = (repo / "conferences" / folder / "recipients").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_team_changes_re_encrypt_conferences_and_the_register_in_the_same_commit(cli_as, repo, sup2):
    """A conference is read by its chair, the workers of its cases and every supervisor and
    manager; the Form 5 register by every active member: a team change keeps both true."""
    from cpcm.workflow.conferences import REGISTER_ID
    from test_conference import new_conference

    sup, otieno = cli_as("sup"), cli_as("otieno")
    conf = new_conference(sup, "--chair", "otieno")
    assert sup("conference", "sign", "--name", "Member One", "--institution", "Agency", "--position", "Officer").code == 0
    assert conference_readers(repo, conf) == ["otieno", "sup"]
    assert conference_readers(repo, REGISTER_ID) == ["sup", "amina", "otieno"]
    path, recipient, mgr = sup2
    before = commit_count(repo)
    added = sup("team", "add", "sup2", "--role", "manager", "--recipient", recipient, "--json")
    assert added.code == 0, added.stderr
    assert commit_count(repo) == before + 1 and added.json()["conferences_reencrypted"] == sorted([conf, REGISTER_ID])
    assert conference_readers(repo, conf) == ["otieno", "sup", "sup2"]
    assert conference_readers(repo, REGISTER_ID) == ["sup", "amina", "otieno", "sup2"]
    shown = mgr("conference", "show", conf)
    assert shown.code == 0, shown.stderr
    assert mgr("conference", "register", "--json").json()[0]["name"] == "Member One"
    before = commit_count(repo)
    assert sup("team", "remove", "otieno").code == 0
    assert commit_count(repo) == before + 1
    assert conference_readers(repo, conf) == ["sup", "sup2"]
    assert conference_readers(repo, REGISTER_ID) == ["sup", "amina", "sup2"]
    for folder in (conf, REGISTER_ID):
        files = sorted((repo / "conferences" / folder).glob("*.yaml.age"))
        assert files and not any(can_decrypt(p, repo.parent / "keys" / "otieno.txt") for p in files)
    assert otieno("conference", "show", conf).code == 5
    assert git_status(repo) == []
    assert sup("verify").code == 0, sup("verify").stdout
    assert sup("team", "sync", "--json").json() == {"reencrypted": 0, "conferences_reencrypted": 0, "supervision_reencrypted": 0, "complaints_reencrypted": 0, "confidential_reencrypted": 0,
                                                         "not_reencrypted": [], "damaged": []}


def test_team_sync_re_encrypts_conferences_left_behind_by_a_team_change_that_did_not(cli_as, repo, sup2):
    """A team file changed without the conferences (by an earlier cpcm): `team sync` brings them
    in line, in one commit that verify accepts."""
    from conftest import signed_commit
    from cpcm.store import codec
    from test_conference import new_conference

    sup = cli_as("sup")
    conf = new_conference(sup)
    path, recipient, mgr = sup2
    team_file = repo / ".cpcm" / "team.yaml"
    data = codec.loads(team_file.read_bytes())
    data["workers"].append({"id": "sup2", "name": "sup2", "roles": ["manager"], "recipient": recipient,
                            "since": "2026-11-23T09:00:00+03:00"})
    team_file.write_text(codec.dump_text(data))
    signed_commit(repo, "sup", "team add sup2", ".cpcm/team.yaml", key=repo.parent / "keys" / "sup.txt")
    assert mgr("conference", "show", conf).code == 5
    synced = sup("team", "sync")
    assert synced.code == 0, synced.stderr
    assert "1 conference(s)" in synced.stdout + synced.stderr
    assert mgr("conference", "show", conf).code == 0
    from conftest import git
    assert git(repo, "log", "-1", "--format=%s").strip() == "team sync 0 cases 1 conferences"
    assert sup("verify").code == 0, sup("verify").stdout


def test_a_team_file_edited_by_hand__no_write_encrypts_to_it(cli, cli_as, repo):
    """A caseworker makes themself a supervisor in .cpcm/team.yaml by hand, without a commit:
    the next registration was encrypted to them. Now every write stops (exit 7) before anything
    is written, naming the file and how to restore it; after the restore the write goes ahead."""
    import json

    from conftest import git, registration

    team_file = repo / ".cpcm" / "team.yaml"
    text = team_file.read_text(encoding="utf-8")
    at = text.index("- id: otieno")
    team_file.write_text(text[:at] + text[at:].replace("- caseworker", "- supervisor", 1), encoding="utf-8")
    head = git(repo, "rev-parse", "HEAD")
    stopped = cli("register", "--from-file", "-", input=json.dumps(registration()))
    assert stopped.code == 7, stopped.stderr
    assert "git checkout HEAD -- .cpcm/team.yaml" in stopped.stderr
    assert cli_as("otieno")("team", "sync").code == 7
    assert git(repo, "rev-parse", "HEAD") == head and git_status(repo) == [" M .cpcm/team.yaml"]
    git(repo, "checkout", "--", ".cpcm/team.yaml")
    case_id = register(cli)
    assert cli_as("otieno")("show", case_id).code == 5


def test_team_list__every_member_since_is_in_the_agency_zone(tmp_path):
    """`init` records its worker's `since` in the agency's zone, as `team add` records the others':
    a repository in UTC made at a +03:00 time listed the founder at +03:00 and the others at +00:00."""
    from conftest import make_repo

    keys = {}
    for worker in ("sup", "amina"):
        path = tmp_path / "keys" / f"{worker}.txt"
        keys[worker] = (path, make_identity(path))
    root = make_repo(tmp_path / "repo", keys, workers={"sup": "supervisor", "amina": "caseworker"}, timezone="UTC")
    listed = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys["sup"][0]), "CPCM_NOW": NOW})("team", "list", "--json")
    assert listed.code == 0, listed.stderr
    since = {member["id"]: member["since"] for member in listed.json()}
    assert since == {"sup": "2026-11-23T06:00:00+00:00", "amina": "2026-11-23T06:00:00+00:00"}


def test_init__cpcm_now_without_an_offset_is_read_in_the_agencys_zone(tmp_path, monkeypatch):
    """`CPCM_NOW=2026-11-23T09:00` with `init --timezone UTC`: the founder's `since` is 09:00 UTC, as
    every later command reads that time (was read in the machine's zone, then converted)."""
    from conftest import make_repo

    monkeypatch.setenv("TZ", "Africa/Nairobi")  # the machine's zone is not the agency's

    keys = {}
    for worker in ("sup", "amina"):
        path = tmp_path / "keys" / f"{worker}.txt"
        keys[worker] = (path, make_identity(path))
    root = make_repo(tmp_path / "repo", keys, workers={"sup": "supervisor", "amina": "caseworker"}, timezone="UTC",
                     now="2026-11-23T09:00:00")
    listed = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(keys["sup"][0]), "CPCM_NOW": NOW})("team", "list", "--json")
    since = {member["id"]: member["since"] for member in listed.json()}
    assert since == {"sup": "2026-11-23T09:00:00+00:00", "amina": "2026-11-23T09:00:00+00:00"}
