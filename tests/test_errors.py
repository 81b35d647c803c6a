"""Exit codes and messages (CLI.md): each failure has its code, says what to do, names the file
or field at fault, writes nothing, and shows no traceback unless --debug."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from conftest import NOW, Cli, commit_count, git, git_status, head, make_identity, record_files, register, registration, signed_commit

import cpcm.service
from cpcm.store.layout import case_dir, case_rel


def assert_nothing_written(repo, before: str) -> None:
    assert head(repo) == before
    assert git_status(repo) == []


# -- 5: cannot decrypt or not allowed to read --------------------------------------------------
def test_identity__a_key_not_in_the_team_gives_5_and_says_how_to_join(cli, repo, tmp_env):
    stranger = tmp_env / "keys" / "stranger.txt"
    recipient = make_identity(stranger)
    case_id = register(cli)
    result = cli("show", case_id, "--identity", str(stranger))
    assert result.code == 5
    assert "not a member of this team" in result.stderr
    assert "cpcm team add" in result.stderr and recipient in result.stderr  # what to ask a supervisor for
    # the whole command: added without their signing key, the worker's commits are refused by every
    # other copy's sync (unknown-signer) until it is published
    assert "--signing-key KEY, KEY from cpcm key show --signing" in result.stderr
    assert "run cpcm sync here" in result.stderr  # a copy taken before the worker was added catches up, not stuck
    assert "Traceback" not in result.stderr


def test_identity__a_missing_identity_file_gives_5_and_names_the_fix(cli, repo, tmp_env):
    missing = tmp_env / "keys" / "nowhere.txt"
    for argv in (("list",), ("register", "--from-file", "-"), ("key", "show")):
        result = cli(*argv, env={"CPCM_IDENTITY": str(missing)}, input=json.dumps(registration()))
        assert result.code == 5, (argv, result.stderr)
        # named by its variable, as --identity's path is by the option (a file name can be a name)
        assert "the $CPCM_IDENTITY path" in result.stderr and str(missing) not in result.stderr, (argv, result.stderr)
        assert "cpcm key new" in result.stderr


def test_identity__a_protected_identity_without_a_passphrase_gives_5(cli, repo, tmp_env):
    path = tmp_env / "keys" / "protected.txt"
    phrase = tmp_env / "phrase"
    phrase.write_text("correct horse battery\n")
    made = cli("key", "new", "--out", str(path), env={"CPCM_PASSPHRASE_FILE": str(phrase)})
    assert made.code == 0, made.stderr
    no_phrase = cli("key", "show", "--identity", str(path))
    assert no_phrase.code == 5 and "CPCM_PASSPHRASE_FILE" in no_phrase.stderr
    phrase.write_text("wrong horse battery\n")
    wrong = cli("key", "show", "--identity", str(path), env={"CPCM_PASSPHRASE_FILE": str(phrase)})
    assert wrong.code == 5 and "wrong passphrase" in wrong.stderr
    # the passphrase came from the file: the hint names the file, not "try again" (nobody typed it)
    assert str(phrase) in wrong.stderr and "CPCM_PASSPHRASE_FILE" in wrong.stderr, wrong.stderr
    assert "Try again" not in wrong.stderr, wrong.stderr


def test_key_new__an_identity_already_there_is_refused_before_any_passphrase_or_warning(cli, tmp_env):
    """Someone who runs `cpcm key new` again was asked for a new passphrase twice (or warned that
    the key would be unprotected), and only then told that a key is already there."""
    path = tmp_env / "keys" / "mine.txt"
    assert cli("key", "new", "--out", str(path), "--no-passphrase").code == 0
    kept = path.read_bytes()
    unprotected = cli("key", "new", "--out", str(path), "--no-passphrase")
    assert unprotected.code == 2 and "an identity already exists at the --out path" in unprotected.stderr
    assert "not protected" not in unprotected.stderr, unprotected.stderr
    asked = cli("key", "new", "--out", str(path), env={"CPCM_PASSPHRASE_FILE": str(tmp_env / "no-such-phrase")})
    assert asked.code == 2 and "already exists" in asked.stderr and "CPCM_PASSPHRASE_FILE" not in asked.stderr, asked.stderr
    assert path.read_bytes() == kept


def test_identity__a_passphrase_file_that_cannot_be_read_says_what_to_do(cli, tmp_env):
    """A script whose $CPCM_PASSPHRASE_FILE names a file that is not there got exit 5 and the
    error alone: now the hint says what the variable must name, and the way without it."""
    secret = tmp_env / "phrase.txt"
    secret.write_text("correct horse battery staple\n")
    key = tmp_env / "keys" / "protected.txt"
    assert cli("key", "new", "--out", str(key), env={"CPCM_PASSPHRASE_FILE": str(secret)}).code == 0
    missing = tmp_env / "no-such-phrase"
    done = cli("list", "--json", env={"CPCM_IDENTITY": str(key), "CPCM_PASSPHRASE_FILE": str(missing)})
    assert done.code == 5, (done.code, done.stderr)
    said = done.json()
    assert "cannot read $CPCM_PASSPHRASE_FILE" in said["message"]
    assert "a file that holds your identity's passphrase" in said.get("hint", ""), said
    assert "horse" not in done.stdout + done.stderr


def test_identity__not_a_recipient_gives_5(cli_as, repo):
    case_id = register(cli_as("amina"))
    for argv in (("show", case_id), ("log", case_id)):
        result = cli_as("otieno")(*argv)
        assert result.code == 5, result.stderr
        assert "not a recipient" in result.stderr and case_id in result.stderr


def test_identity__not_a_recipient_cannot_assign_either(cli_as, repo):
    case_id = register(cli_as("amina"))
    before = head(repo)
    result = cli_as("otieno")("assign", case_id, "--worker", "otieno")
    assert result.code == 5
    assert_nothing_written(repo, before)


# -- 7: corrupt data on disk -----------------------------------------------------------------
def damage(path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped":
        middle = len(data) - 20  # inside the payload: the authentication fails
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    elif how == "not-age":
        path.write_bytes(b"child: plaintext that should never be here\n")
    elif how == "empty":
        path.write_bytes(b"")


def test_show__a_damaged_record_file_gives_7_naming_the_file(cli, repo):
    for how in ("truncated", "flipped", "not-age", "empty"):
        case_id = register(cli)
        (path,) = record_files(repo, case_id)
        damage(path, how)
        result = cli("show", case_id)
        assert result.code == 7, (how, result.stderr)
        assert f"{case_rel(case_id)}/{path.name}" in result.stderr, how
        assert "git checkout" in result.stderr, how  # how to restore it
        assert "Traceback" not in result.stderr, how


def test_show__a_record_that_decrypts_to_the_wrong_case_gives_7(cli, repo):
    first, second = register(cli), register(cli)
    (moved,) = record_files(repo, first)
    moved.rename(case_dir(repo, second) / moved.name)
    result = cli("show", second)
    assert result.code == 7
    assert moved.name in result.stderr


def test_list__lists_the_other_cases_then_a_problem_line_and_exit_1_for_a_damaged_one(cli, repo):
    """A case damaged in the commit itself (a file damaged on disk since the last commit is
    listed as committed: the test below)."""
    good, bad = register(cli), register(cli)
    (path,) = record_files(repo, bad)
    damage(path, "truncated")
    signed_commit(repo, "amina", f"note {bad}", str(path.relative_to(repo)))
    shutil.rmtree(repo / ".cpcm" / "cache")  # a cold cache: every case is read from its files
    result = cli("list")
    assert result.code == 1
    assert good in result.stdout and bad not in result.stdout
    assert f"problem: {bad}: {case_rel(bad)}/{path.name} cannot be read" in result.stderr
    as_json = cli("list", "--json")
    assert as_json.code == 1
    assert [c["case_id"] for c in json.loads(as_json.stdout)] == [good]  # the list only; the problem is on stderr
    assert f"{case_rel(bad)}/{path.name}" in as_json.stderr


def test_list__describes_the_last_commit_and_check_notices_a_damaged_file(cli, repo):
    """`list` prints the cases as last committed (docs/security.md, "what list, due and the reports
    read"): a file damaged on disk since is reported by `check` and `show`."""
    good, bad = register(cli), register(cli)
    assert cli("list").code == 0  # the cache now holds both cases
    (path,) = record_files(repo, bad)
    damage(path, "truncated")
    result = cli("list")
    assert result.code == 0 and good in result.stdout and bad in result.stdout
    for args in (("check",), ("show", bad)):
        found = cli(*args)
        assert found.code != 0 and f"{case_rel(bad)}/{path.name}" in found.stderr, args


# -- 4: refused by a rule of the form; nothing written ----------------------------------------
INVALID = [
    ({"risk": "extreme"}, "risk"),
    ({"child": {"name": "x", "sex": "female", "date_of_birth": "2027-01-01"}}, "child.date_of_birth"),
    ({"location": ""}, "location"),
    ({"location": "   "}, "location"),
    ({"identified_by": None}, "identified_by"),
    ({"concerns": []}, "concerns"),
    ({"child": {"name": "x", "sex": "female", "date_of_brith": "2015-01-01"}}, "child.date_of_brith"),
    ({"lokation": "Kisumu"}, "lokation"),
    ({"child": {"name": "x", "sex": "female", "age_estimate": 18}}, "child.age_estimate"),
    ({"worker": "nobody"}, "worker"),
]


def test_register__invalid_field_gives_4_naming_it_and_writes_nothing(cli, repo):
    before = head(repo)
    for overrides, field in INVALID:
        result = cli("register", "--from-file", "-", input=json.dumps(registration(**overrides)))
        assert result.code == 4, (field, result.stderr)
        assert f"- {field}: " in result.stderr or f" ({field}): " in result.stderr, field  # by its option too, if any
        assert "nothing was written" in result.stderr, field
        assert_nothing_written(repo, before)
        assert record_files(repo) == [], field


def test_register__birth_date_in_the_future_is_refused_by_the_clock_in_force(cli, repo):
    """$CPCM_NOW is the clock: a date after it is in the future even if the machine's clock is later."""
    tomorrow = "2026-11-24"
    result = cli("register", "--from-file", "-",
                 input=json.dumps(registration(child={"name": "x", "sex": "male", "date_of_birth": tomorrow})))
    assert result.code == 4 and "--dob (child.date_of_birth): is in the future" in result.stderr
    assert cli("register", "--from-file", "-",
               input=json.dumps(registration(child={"name": "x", "sex": "male", "date_of_birth": NOW[:10]}))).code == 0


def test_register__unknown_key_suggests_the_field_meant(cli, repo):
    result = cli("register", "--from-file", "-",
                 input=json.dumps(registration(child={"nmae": "x", "sex": "female", "date_of_birth": "2015-01-01"})))
    assert result.code == 4
    assert "child.nmae: is not a field of the registration form; did you mean 'child.name'?" in result.stderr


def test_register__an_impossible_date_in_a_file_is_named_with_the_other_problems(cli, repo):
    before = head(repo)
    result = cli("register", "--from-file", "-",
                 input="child:\n  name: x\n  sex: female\n  date_of_birth: 2015-02-31\nrisk: hihg\n")
    assert result.code == 4, result.stderr
    assert "(child.date_of_birth): is not a date" in result.stderr and "(risk): is not one of" in result.stderr
    assert_nothing_written(repo, before)


def test_register__every_problem_is_reported_at_once_as_json(cli, repo):
    result = cli("register", "--from-file", "-", "--json",
                 input=json.dumps(registration(risk="hihg", location="", lokation="x")))
    assert result.code == 4
    error = result.json()
    assert error["exit_code"] == 4 and error["rule"] == "form-validation"
    assert {f["field"] for f in error["fields"]} == {"risk", "location", "lokation"}


def test_register__event_time_in_the_future_gives_4(cli, repo):
    before = head(repo)
    result = cli("register", "--from-file", "-", "--at", "2026-12-01", input=json.dumps(registration()))
    assert result.code == 4 and "--at (at): is in the future" in result.stderr
    assert_nothing_written(repo, before)


def test_an_at_in_the_future_says_what_the_clock_reads(cli, repo):
    """A time refused as in the future says what "now" is, in the agency's zone: under a clock that
    is wrong (a dead clock battery reads 2019) the true time is refused, and the refusal shows why."""
    case_id = register(cli)
    before = head(repo)
    said = "--at (at): is in the future: the time now ($CPCM_NOW) is 2026-11-23 09:00 +03:00"
    registered = cli("register", "--from-file", "-", "--at", "2026-12-01", input=json.dumps(registration()))
    corrected = cli("correct", case_id, "registration", "--at", "2026-12-05T09:00", "--reason", "the clock was wrong")
    transferred = cli("transfer", case_id, "--to", "KSM-CCI", "--reason", "moved", "--at", "2026-12-05")
    for result in (registered, corrected, transferred):
        assert result.code == 4 and said in result.stderr, result.stderr
    clock = Cli({k: v for k, v in cli.env.items() if k != "CPCM_NOW"})  # the computer's clock
    ahead = clock("note", case_id, "--text", "a visit", "--at", "2099-01-01")
    assert ahead.code == 4 and "--at (at): is in the future: the computer's clock reads 20" in ahead.stderr, ahead.stderr
    assert "+03:00" in ahead.stderr, ahead.stderr
    assert_nothing_written(repo, before)


# -- 2: usage -----------------------------------------------------------------------------------
def test_register__malformed_yaml_gives_2_and_writes_nothing(cli, repo):
    before = head(repo)
    for text in ("child:\n  name: x\n\tsex: female\n", "child: [\n", "a: b: c\n", "'open\n"):
        result = cli("register", "--from-file", "-", input=text)
        assert result.code == 2, (text, result.stderr)
        assert "malformed YAML at line" in result.stderr, text
        assert "Traceback" not in result.stderr, text
        assert_nothing_written(repo, before)


def test_register__set_gives_the_fields_without_a_flag_and_a_conflicting_path_gives_2(cli, repo):
    """`--set PATH=VALUE` on `register`, as every command that takes a form has it: the fields
    with no flag of their own (a birth certificate, the caregiver's relationship), read back."""
    base = registration()
    del base["child"]["date_of_birth"], base["caregiver"]["relationship"]
    made = cli("register", "--from-file", "-", "--json", "--set", "child.birth_certificate=BC-1234",
               "--set", "caregiver.relationship=grandmother", "--set", "child.age_estimate=9", input=json.dumps(base))
    assert made.code == 0, made.stderr
    shown = cli("show", made.json()["case_id"], "--json").json()
    assert shown["child"]["birth_certificate"] == "BC-1234" and shown["child"]["age_estimate"] == 9, shown["child"]
    assert shown["caregiver_relationship"] == "grandmother"
    before = head(repo)
    clash = cli("register", "--from-file", "-", "--set", "child=x", "--set", "child.sex=male", input=json.dumps(registration()))
    assert clash.code == 2, clash.stderr
    assert_nothing_written(repo, before)


def test_forms__given_only_options_off_a_terminal_the_refusal_says_how_the_fields_are_given(cli, repo):
    """A script that gives a form command only its options (no file, no --set, no terminal to
    ask on) is told where the form's fields go, not only to correct them."""
    case_id = register(cli)
    before = head(repo)
    for command in (("readiness", case_id, "--occasion", "review"), ("assess", case_id, "--type", "initial"),
                    ("followup", case_id)):  # review: a registered case is refused for its stage first
        refused = cli(*command)
        assert refused.code == 4, (command, refused.stderr)
        assert "--from-file FILE (cpcm form blank" in refused.stderr and "--set PATH=VALUE" in refused.stderr, refused.stderr
        assert "Correct the fields named above" not in refused.stderr
    # with a file, the fields are there to correct
    with_file = cli("assess", case_id, "--type", "initial", "--from-file", "-", input="safe: maybe\n")
    assert with_file.code == 4 and "Correct the fields named above" in with_file.stderr, with_file.stderr
    assert_nothing_written(repo, before)


def test_register__a_yaml_list_instead_of_a_mapping_gives_2(cli, repo):
    result = cli("register", "--from-file", "-", input="- a\n- b\n")
    assert result.code == 2


def test_register__an_unreadable_file_gives_2(cli, repo, tmp_env):
    result = cli("register", "--from-file", str(tmp_env / "no-such.yaml"))
    assert result.code == 2


def test_case_id__a_wrong_check_character_gives_2(cli, repo):
    case_id = register(cli)
    wrong = case_id[:-1] + ("0" if case_id[-1] != "0" else "1")
    for argv in (("show", wrong), ("log", wrong), ("assign", wrong, "--worker", "otieno")):
        result = cli(*argv)
        assert result.code == 2, (argv, result.stderr)
        assert "check character" in result.stderr


def test_case_id__typed_loosely_is_accepted(cli, repo):
    case_id = register(cli)
    loose = case_id.lower().replace("-", "").replace("0", "o")
    assert cli("show", loose).code == 0


def test_case_id__an_unknown_case_gives_3(cli, repo):
    for argv in (("show", "CP-0000-0000"), ("log", "CP-0000-0000"), ("assign", "CP-0000-0000", "--worker", "otieno")):
        result = cli(*argv)
        assert result.code == 3, (argv, result.stderr)
        assert "CP-0000-0000" in result.stderr


def test_assign__an_unknown_worker_gives_3(cli, repo):
    case_id = register(cli)
    before = head(repo)
    assert cli("assign", case_id, "--worker", "nobody").code == 3
    assert_nothing_written(repo, before)


def test_usage__unknown_option_gives_2(cli, repo):
    assert cli("list", "--colour").code == 2


@pytest.mark.parametrize("argv, command", [(("due", "--within"), "cpcm due"), (("list", "--status"), "cpcm list"),
                                           (("team", "add", "--role"), "cpcm team add"), (("list", "--colour"), "cpcm list"),
                                           (("no-such-command", "--x"), "cpcm")])
def test_usage__the_error_names_the_help_of_the_command_given(cli, repo, argv, command):
    """An option given without its value (click says so without naming the command) points to
    that command's help, not to cpcm's."""
    result = cli(*argv)
    assert result.code == 2
    assert result.stderr.rstrip().endswith(f"Try '{command} --help'."), result.stderr


def test_no_repository__gives_3_and_says_how_to_make_one(cli, tmp_env):
    result = cli("list", env={"CPCM_REPO": str(tmp_env / "nothing-here")})
    assert result.code == 3
    assert "cpcm init" in result.stderr


def test_no_repository__a_file_given_as_the_repository_gives_3_and_init_there_4(cli, repo, tmp_env):
    """$CPCM_REPO or --repo naming a file (a script's variables swapped: the batch file for the
    repository) is no repository (was: exit 70, an internal error); init refuses to make one there
    or under it (was 70 too)."""
    a_file = tmp_env / "reviews.csv"
    a_file.write_text("case,chair\n")
    for argv in (("list", "--json"), ("due", "--json"), ("report", "statistics", "--json"), ("check", "--json"),
                 ("verify", "--json"), ("review", "--batch", str(a_file), "--json")):
        result = cli(*argv, env={"CPCM_REPO": str(a_file)})
        assert result.code == 3, (argv, result.stderr)
        assert "no casefile repository" in result.stderr and result.json()["error"] == "NotFound"
    assert cli("list", "--repo", str(a_file)).code == 3
    for path in (a_file, a_file / "sub"):
        made = cli("init", str(path), "--agency", "KSM-CCI", "--name", "Kisumu", "--json")
        assert made.code == 4, made.stderr
        assert made.json()["rule"] == "init-not-empty" and "is a file, not a folder" in made.stderr
    assert a_file.read_text() == "case,chair\n"


def test_clock__a_cpcm_now_out_of_the_calendar_gives_2(cli, repo, tmp_env):
    """$CPCM_NOW in the year 1 or 9999 left no room for the deadlines, periods and ages counted
    from it: exit 70 from due, check, the reports and a batch (was); now a usage error naming
    the variable, never its value. Nor before 1971: it dates cpcm's commits, and git dates none
    before 1970 (a negative date is a commit `git fsck` refuses)."""
    register(cli)
    batch = tmp_env / "reviews.yaml"
    batch.write_text("[]")
    for value in ("0001-01-01T00:00", "9999-12-31T23:59", "1899-12-31", "1970-12-31T23:59", "3000-01-01"):
        for argv in (("due", "--json"), ("check", "--json"), ("report", "statistics", "--json"), ("list", "--json"),
                     ("review", "--batch", str(batch), "--dry-run", "--json")):
            result = cli(*argv, env={"CPCM_NOW": value})
            assert result.code == 2, (value, argv, result.stderr)
            assert result.json()["message"].startswith("CPCM_NOW: is not a time from the year 1971 to 2999"), result.stdout
            assert value not in result.stderr + result.stdout
    for value in ("1971-01-01", "2999-12-31T23:59"):
        assert cli("due", "--json", env={"CPCM_NOW": value}).code in (0, 1)


# -- tracebacks -----------------------------------------------------------------------------------
def test_traceback__only_with_debug(cli, repo):
    plain = cli("show", "CP-0000-0001")
    debug = cli("--debug", "show", "CP-0000-0001")
    assert plain.code == debug.code == 2
    assert "Traceback" not in plain.stderr
    assert "Traceback" in debug.stderr


def test_internal_error__exit_70_without_traceback(cli, repo, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("something unexpected")

    monkeypatch.setattr(cpcm.service, "list_rows", broken)
    result = cli("list")
    assert result.code == 70
    assert "Traceback" not in result.stderr and "--debug" in result.stderr
    debug = cli("list", "--debug")
    assert debug.code == 70 and "Traceback" in debug.stderr


def test_internal_error__after_a_write_says_the_change_stands(cli, repo, monkeypatch):
    """A bug (or Ctrl-C) once the write is committed, while cpcm prints what it did: the message
    says the change was saved, in which commit, not that nothing was written."""
    import cpcm.cli.followup as followup  # where `note` prints what it did

    case_id = register(cli)
    before = commit_count(repo)

    def broken(*args, **kwargs):
        raise RuntimeError("something unexpected")
    monkeypatch.setattr(followup, "report_written", broken)
    result = cli("note", case_id, "--text", "called the school")
    assert result.code == 70 and commit_count(repo) == before + 1
    saved = head(repo)[:10]
    assert f"after the change was saved in commit {saved}; it stands" in result.stderr
    assert "nothing was written" not in result.stderr

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(followup, "report_written", interrupted)
    result = cli("note", case_id, "--text", "visited the family")
    assert result.code == 130 and commit_count(repo) == before + 2
    assert f"interrupted after the change was saved in commit {head(repo)[:10]}" in result.stderr

    monkeypatch.setattr(cpcm.service, "list_rows", broken)  # a read: nothing was written, and it says so
    result = cli("list")
    assert result.code == 70 and "nothing was written" in result.stderr and "saved" not in result.stderr


# -- init ---------------------------------------------------------------------------------------
def test_init__refuses_an_existing_repository_with_4(repo, team):
    sup = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    before = head(repo)
    config = (repo / ".cpcm" / "config.yaml").read_bytes()
    result = sup("init", "--agency", "OTHER", "--name", "Other", "--worker", "sup", "--role", "supervisor")
    assert result.code == 4
    assert "already a casefile repository" in result.stderr
    assert (repo / ".cpcm" / "config.yaml").read_bytes() == config
    assert_nothing_written(repo, before)


def test_init__refuses_a_folder_that_is_not_empty(tmp_env, team):
    folder = tmp_env / "occupied"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    sup = Cli({"CPCM_REPO": str(folder), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    result = sup("init", "--agency", "TEST", "--name", "Test", "--worker", "sup")
    assert result.code == 4
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_init__an_init_stopped_before_its_commit_is_started_over(tmp_env, team):
    """`cpcm init` killed before its commit left its files, a git repository with no commit and git's
    index.lock: init again said it was a casefile repository already ("use it as it is"), which no
    command could use (was). Now init starts over in it; with a file of a person's there too, it stops
    and says so, and removes nothing."""
    root = tmp_env / "half-made"
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    args = ("init", "--agency", "TEST", "--name", "Test", "--worker", "sup", "--role", "supervisor")
    assert sup(*args).code == 0
    shutil.rmtree(root / ".git")  # the state it was killed in: git made, the files written and staged, no commit
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".cpcm/config.yaml", ".gitignore")
    (root / ".git" / "index.lock").write_bytes(b"")
    (root / ".cpcm" / ".tmp-team.yaml").write_bytes(b"")
    (root / "notes.txt").write_text("mine")
    refused = sup(*args, "--json")
    assert refused.code == 4, refused.stderr
    assert refused.json()["rule"] == "init-not-empty" and "cpcm init that did not finish" in refused.stderr
    assert (root / "notes.txt").read_text() == "mine" and (root / ".cpcm" / "config.yaml").exists()
    (root / "notes.txt").unlink()
    made = sup(*args)
    assert made.code == 0, made.stderr
    assert commit_count(root) == 1 and git_status(root) == []
    assert not (root / ".git" / "index.lock").exists() and not (root / ".cpcm" / ".tmp-team.yaml").exists()
    assert sup("verify").code == 0
    assert sup(*args).code == 4  # made: never again
    # stopped sooner: its git made (no commit) and its cases folder, nothing else: started over too (was: 'not empty')
    sooner = tmp_env / "sooner"
    git(tmp_env, "init", "-q", "-b", "main", str(sooner))
    (sooner / "cases").mkdir()
    done = Cli({**sup.env, "CPCM_REPO": str(sooner)})(*args)
    assert done.code == 0, done.stderr
    assert commit_count(sooner) == 1 and git_status(sooner) == []


def test_init__says_how_the_next_commands_find_a_repository_made_elsewhere(tmp_env, team, monkeypatch):
    """Made in a folder the next command, run from here, would not look in: `init` says how to
    point at it (inside it, --repo, CPCM_REPO), without repeating the path typed; then what comes
    next (the team, a first child)."""
    monkeypatch.delenv("CPCM_REPO", raising=False)
    monkeypatch.chdir(tmp_env)
    sup = Cli({"CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    made = sup("init", "cf/Zawadi-home", "--agency", "TEST", "--name", "Test", "--worker", "sup", "--role", "supervisor")
    assert made.code == 0, made.stderr
    assert "export CPCM_REPO=PATH" in made.stderr and "Zawadi" not in made.stderr
    assert "next: add your colleagues: cpcm team add WORKER" in made.stderr and "cpcm register --from-file" in made.stderr
    monkeypatch.chdir(tmp_env / "cf" / "Zawadi-home")
    assert sup("list").code == 0  # found from inside its folder, as said
    monkeypatch.chdir(tmp_env)
    here = sup("init", "--agency", "TEST", "--name", "Test", "--worker", "sup", "--role", "supervisor")  # ./casefiles
    assert here.code == 0 and "CPCM_REPO" not in here.stderr and "next: add your colleagues" in here.stderr


def test_a_usage_error_with_json_prints_the_error_as_json_too(cli):
    """A script that asked for --json reads what went wrong on stdout, whatever went wrong: an
    option cpcm does not have, a value of the wrong kind (the value typed is not repeated)."""
    for args in (("list", "--bogus", "--json"), ("due", "--within", "Zawadi", "--json")):
        result = cli(*args)
        assert result.code == 2
        error = result.json()
        assert error["error"] == "UsageError" and error["exit_code"] == 2 and "--help" in error["hint"]
        assert "Zawadi" not in result.stdout + result.stderr


def test_a_control_character_typed_anywhere_is_refused_and_nothing_written(cli, repo):
    """NUL, escape or CSI through an argument, standard input, or a YAML escape in a file: exit 2
    naming where, never the text."""
    case_id = register(cli)
    before = head(repo)
    doc = json.dumps(registration()).replace('"Test Child"', '"Zawadi\\u001b[2J"')
    for args, given in ((("note", case_id, "--text", "Zawadi\x1b[2J"), None),
                        (("note", case_id, "--text", "-"), "Zawadi\x00 called"),
                        (("register", "--from-file", "-"), doc)):
        result = cli(*args, input=given)
        assert result.code == 2 and "control character" in result.stderr, (args, result.stderr)
        assert "Zawadi" not in result.stderr
    assert_nothing_written(repo, before)


def test_list__a_filter_value_no_case_can_have_is_said_and_lists_nothing(cli, cli_as):
    """`list --status opne` lists nothing and exits 0, as docs/commands/cases.md says; stderr says
    the value is none a case can have, so a script's reader can tell a typo from an empty list.
    A value a case can have that matches none says nothing."""
    case = register(cli)
    for args, said in ((("--status", "opne"), "--status opne is not a status a case can have (open, closed, transferred)"),
                       (("--risk", "hgh"), "--risk hgh is not a risk a case can have (immediate, high, medium, low)"),
                       (("--stage", "planed"), "--stage planed is not a stage a case can have (registered, "),
                       (("--worker", "nobody"), "--worker nobody is no worker of this team")):
        for json_out in ((), ("--json",)):
            done = cli("list", *args, *json_out)
            assert done.code == 0 and said in done.stderr, (args, done.stderr)
            if json_out:
                assert done.json() == []
    for args in (("--status", "closed"), ("--risk", "immediate"), ("--stage", "planned"), ("--worker", "sup")):
        done = cli("list", *args, "--json")
        assert done.code == 0 and done.json() == [] and "warning" not in done.stderr, (args, done.stderr)
    assert [row["case_id"] for row in cli("list", "--status", "open", "--json").json()] == [case]


@pytest.mark.parametrize("args, command, suggested", [(("lst",), "cpcm", "'list'"), (("report", "statistcs"), None, None),
                                                     (("team", "lst"), "cpcm team", "'list'"), (("place",), "cpcm", "'placement'"),
                                                     (("refr", "x"), "cpcm", "'referral'")])
def test_usage__a_mistyped_command_is_suggested_once_and_not_echoed(cli, args, command, suggested):
    """The word typed is masked as a whole word only: 'place' typed left the suggestion as '…ment';
    and typer's second suggestion ('(Did you mean one of: ...)') is not said again."""
    result = cli(*args)
    assert result.code != 0
    said = result.stderr
    assert said.count("Did you mean") <= 1, said
    if command is not None:
        assert said.count("Did you mean") == 1 and f"Try '{command} --help'." in said, said
    if suggested is not None:
        assert suggested in said, said
    for typed in (a for a in args if a not in ("report", "team")):  # the words typed are not echoed (they could be a name)
        assert not re.search(rf"(?<![\w-]){typed}(?![\w-])", said), (typed, said)


# -- the prefix of a message, as docs/exit-codes.md gives it -----------------------------------------
def test_exit_2__each_message_starts_as_the_docs_say_the_parser_usage_error_cpcm_error(cli, repo):
    """docs/exit-codes.md said every wrong command line starts `usage error:`; cpcm's own exit-2
    errors (`cpcm assign` with no case) start `error:`. The page's examples of exit 2 are run
    here: each command gives 2, and its message starts as the page shows it (the parser's
    wording changes with click's version: its first words are compared, cpcm's whole message)."""
    from pathlib import Path
    import re
    import shlex

    page = (Path(__file__).parent.parent / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    block = re.search(r"## 2: usage error\n.*?```\n(.*?)```", page, re.S).group(1)
    examples = re.findall(r"^\$ (cpcm .*)\n((?:(?!\$ ).*\n)+)", block, re.M)
    prefixes = set()
    for command, shown in examples:
        result = cli(*shlex.split(command)[1:])
        assert result.code == 2, (command, result.stderr)
        first = shown.splitlines()[0]
        prefix = first.split(":")[0]
        prefixes.add(prefix)
        if prefix == "error":
            assert result.stderr == shown, (command, result.stderr)
        else:
            assert result.stderr.startswith(prefix + ": ") and result.stderr.splitlines()[-1] == shown.splitlines()[-1], \
                (command, result.stderr)
    assert prefixes == {"usage error", "error"}, examples  # the page shows both kinds


def test_messages__the_usual_word_the_range_and_the_calendar_are_said_and_the_file_hint_only_where_fields_are_missing(
        cli, repo):
    """What the messages say of four slips: `child.dob` (the usual word, and `update --dob`) is the
    date of birth, not `child.sex`; a rating that is no number says the numbers it takes; a date in
    the shape YYYY-MM-DD that is no day of the calendar says so; and one wrong option value, every
    field given, is corrected where it is, not by a file of the form's fields."""
    from test_assess_plan import COMPREHENSIVE, INITIAL
    from test_sync import VISIT

    case_id = register(cli)
    before = head(repo)
    dob = cli("correct", case_id, "registration", "--set", "child.dob=2017-06-02", "--reason", "typed wrong")
    assert dob.code == 4 and "did you mean 'child.date_of_birth'?" in dob.stderr and "child.sex" not in dob.stderr, dob.stderr
    assert head(repo) == before
    assert cli("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    rated = dict(COMPREHENSIVE, dimensions={"physical": {"risks": "underweight", "rating": "concern"}})
    concern = cli("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(rated))
    assert concern.code == 4 and "dimensions.physical.rating: is not a whole number from 1 to 4" in concern.stderr, concern.stderr
    before = head(repo)
    late = cli("followup", case_id, *VISIT, "--next-followup", "2027-02-30")
    assert late.code == 4, late.stderr
    assert "--next-followup (next_followup): is not a date of the calendar: it is in the shape YYYY-MM-DD" in late.stderr, late.stderr
    assert "Only the options were given" not in late.stderr and "--from-file" not in late.stderr, late.stderr
    missing = cli("followup", case_id, "--method", "home_visit", "--next-followup", "2027-02-30")  # fields missing too
    assert missing.code == 4 and "Only the options were given" in missing.stderr, missing.stderr
    assert head(repo) == before


def test_close_and_register__the_file_hint_only_where_a_field_is_missing(cli, repo):
    """A closure given every field it needs by its options, one value wrong, is told to correct that
    value, not where a form's fields go; a registration given only options, its fields missing, is
    told where they go (as every other form is), and one from a file is not."""
    case_id = register(cli)
    before = head(repo)
    for wrong in (("--reason", "bogus_reason"),  # refused on the reason alone
                  ("--reason", "declined", "--check", "all", "--explain-open", "none", "--summary", "x" * 4001)):
        refused = cli("close", case_id, *wrong, "--no-input")
        assert refused.code == 4, refused.stderr
        assert "Only the options were given" not in refused.stderr and "--from-file" not in refused.stderr, refused.stderr
        assert "Correct the fields named above" in refused.stderr, refused.stderr
    missing = cli("close", case_id, "--check", "all", "--no-input")  # no reason: a field missing
    assert missing.code == 4 and "Only the options were given" in missing.stderr, missing.stderr
    assert "--from-file FILE (cpcm form blank closure" in missing.stderr, missing.stderr
    options = cli("register", "--sex", "female", "--risk", "high", "--no-input")
    assert options.code == 4, options.stderr
    assert "Only the options were given" in options.stderr and "--from-file FILE (cpcm form blank registration" in options.stderr
    from_file = cli("register", "--from-file", "-", input=json.dumps(registration(risk="very high")))
    assert from_file.code == 4 and "Only the options were given" not in from_file.stderr, from_file.stderr
    assert "Correct the fields named above" in from_file.stderr, from_file.stderr
    assert_nothing_written(repo, before)


def test_ctrl_c_while_cpcm_starts_says_interrupted_without_a_traceback(cli, repo):
    """Ctrl-C in the first tenths of a second (cpcm's imports, before the command handles it itself): 'interrupted;
    nothing was written' and exit 130, as later, not Python's traceback."""
    import subprocess
    import sys

    starting = ("import sys, cpcm.cli.fast as fast\n"
                "def stopped(*args, **kwargs):\n    raise KeyboardInterrupt\n"
                "fast.parse = stopped\nsys.argv = ['cpcm', 'list']\nfrom cpcm.launch import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", starting], env={**cli.env, "PATH": "/usr/bin:/bin", "CPCM_NO_AGENT": "1"},
                          capture_output=True, text=True)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "interrupted; nothing was written\n"


def test_a_ctrl_c_python_could_not_raise_stops_the_command_at_its_next_step(cli, repo):
    """A Ctrl-C that lands while Python runs an object's `__del__` is printed as "Exception ignored" and
    lost: the command ran on and wrote. It is kept and raised at the next step of the write
    (store/faults.py `keep_interrupts`): 'interrupted; nothing was written', exit 130, no commit."""
    import subprocess
    import sys

    case_id = register(cli)
    before = commit_count(repo)
    swallowed = ("import sys\nfrom cpcm.store import git\n"
                 "class Late:\n    def __del__(self):\n        raise KeyboardInterrupt\n"
                 "write = git._write_loose\n"
                 "def first(git_dir, kind, payload):\n"  # the write's first object: a file's blob, as it is staged
                 "    Late()\n"  # dropped at once: its __del__ raises, Python cannot pass it on
                 "    return write(git_dir, kind, payload)\n"
                 f"git._write_loose = first\nsys.argv = ['cpcm', 'note', '{case_id}', '--text', 'called the school']\n"
                 "from cpcm.launch import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", swallowed], env={**cli.env, "PATH": "/usr/bin:/bin", "CPCM_NO_AGENT": "1"},
                          capture_output=True, text=True)
    assert done.returncode == 130, done.stderr
    assert done.stderr.endswith("nothing was written\n") and "Exception ignored" not in done.stderr, done.stderr
    assert commit_count(repo) == before
    assert cli("note", case_id, "--text", "called the school").code == 0  # and the next command runs as ever


def test_a_ctrl_c_once_the_command_has_ended_leaves_its_exit_code(cli, repo):
    """A Ctrl-C while Python ends the process, the command done and its result printed (Python frees every object
    of it then, with Ctrl-C's default action back): the command's own code, 0, not a death by SIGINT (130) with no
    word that the change was saved, after which a script would register the child again."""
    import subprocess
    import sys

    before = commit_count(repo)
    ended = ("import os, signal, sys\n"
             "class Late:\n"  # freed as Python clears __main__, after it has let go of Ctrl-C
             "    def __del__(self, kill=os.kill, pid=os.getpid(), sigint=signal.SIGINT):\n        kill(pid, sigint)\n"
             "late = Late()\nsys.argv = ['cpcm', 'register', '--from-file', '-']\n"
             "from cpcm.launch import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", ended], env={**cli.env, "PATH": "/usr/bin:/bin", "CPCM_NO_AGENT": "1"},
                          input=json.dumps(registration()), capture_output=True, text=True)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert commit_count(repo) == before + 1 and "registered CP-" in done.stderr


def test_register__born_after_the_day_registered_gives_4(cli, repo):
    """`register --at 2019-01-01` of a child born in 2020 wrote a case registered before the child was born.
    It is refused now, the date of birth named and neither date shown (the rule an import's rows are checked by)."""
    before = head(repo)
    late = registration(child={"name": "Test Child", "sex": "female", "date_of_birth": "2020-10-10"})
    result = cli("register", "--from-file", "-", "--at", "2019-01-01", "--json", input=json.dumps(late))
    assert result.code == 4, result.stdout
    assert [(f["field"], f["reason"]) for f in result.json()["fields"]] == [
        ("child.date_of_birth", "is after the date of registration (--at): a child is registered on or after the day "
                                "they were born; correct whichever of the two is wrong")]
    assert "2020" not in result.stdout and "2019" not in result.stdout
    assert_nothing_written(repo, before)
    same_day = cli("register", "--from-file", "-", "--at", "2020-10-10", input=json.dumps(late))
    assert same_day.code == 0, same_day.stderr


def test_update_and_correct__a_date_of_birth_after_the_day_registered_gives_4(cli, repo):
    """`cpcm update --dob`, and `cpcm correct` of the registration (its date of birth or its --at) or of an
    update, wrote a date of birth after the day the child was registered, which `register --at` and
    `import cases` refuse. Each is refused now by the same rule (`born_after`), the field named with the way
    out, neither date shown, and nothing written; the day registered itself is accepted."""
    case_id = register(cli, "--at", "2026-01-10")
    late = "2026-05-01"
    before = head(repo)
    refusals = {
        "update": cli("update", case_id, "--dob", late, "--reason", "birth certificate seen", "--json"),
        "correct registration": cli("correct", case_id, "registration", "--set", f"child.date_of_birth={late}",
                                    "--reason", "typed wrong", "--json"),
        "correct --at": cli("correct", case_id, "registration", "--at", "2015-01-01", "--reason", "typed wrong", "--json"),
    }
    assert_nothing_written(repo, before)
    assert cli("update", case_id, "--dob", "2016-01-01", "--reason", "birth certificate seen").code == 0
    after_update = head(repo)
    refusals["correct update"] = cli("correct", case_id, "update", "--set", f"child.date_of_birth={late}",
                                     "--reason", "typed wrong", "--json")
    # the registration's time moved before the date of birth in force: the update's (2016), not the registration's own
    refusals["correct --at, updated"] = cli("correct", case_id, "registration", "--at", "2015-06-01", "--reason", "typed wrong",
                                            "--json")
    assert_nothing_written(repo, after_update)
    for name, result in refusals.items():
        assert result.code == 4, (name, result.stdout, result.stderr)
        fields = result.json()["fields"]
        assert [f["field"] for f in fields] == ["child.date_of_birth"], (name, fields)
        assert fields[0]["reason"].startswith("is after the date of registration ("), (name, fields)
        assert "correct whichever of the two is wrong" in fields[0]["reason"] and "--at WHEN" in fields[0]["reason"], name
        assert late not in result.stdout + result.stderr and "2026-01-10" not in result.stdout + result.stderr, name
    assert cli("update", case_id, "--dob", "2026-01-10", "--reason", "birth certificate seen").code == 0  # the day registered


def test_correct_registration_at__is_checked_against_the_date_of_birth_in_force(cli, repo):
    """The registration's time moved back (`correct CASE registration --at`, what `check`'s
    born-after-registration says to do) is checked against the date of birth in force: an update's,
    where one replaced the registration's own. Was: refused by the registration's replaced date (2015)
    though the child was born in 2012 by the update in force, so the fix `check` gives failed."""
    case_id = register(cli, child={"name": "Achieng", "sex": "female", "date_of_birth": "2015-03-04"})
    assert cli("update", case_id, "--dob", "2012-01-01", "--reason", "birth certificate seen").code == 0
    moved = cli("correct", case_id, "registration", "--at", "2014-06-01", "--reason", "registered on paper long ago")
    assert moved.code == 0, moved.stderr
    before = head(repo)
    too_early = cli("correct", case_id, "registration", "--at", "2011-06-01", "--reason", "typed wrong", "--json")
    assert too_early.code == 4 and [f["field"] for f in too_early.json()["fields"]] == ["child.date_of_birth"]
    assert_nothing_written(repo, before)
