"""Files of a casefile repository deleted, damaged or edited by hand on disk (no commit): every
command that reads many cases says the same of them whether its cache is warm or cold; `check`
over every case names them as `check CASE` does; the restore is spelt one way; and a damaged
record's message names the file and the kind of damage, never what the record holds."""
from __future__ import annotations

import json
import shutil
import time

import pytest

from conftest import CANARY, git, record_files, register, registration, signed_commit
from cpcm.errors import restore_hint
from cpcm.store.layout import case_dir, case_rel
from test_repair import damage

OTHER = {"child": {"name": "Other Child", "sex": "male", "age_estimate": 9}}


def drop_cache(repo) -> None:
    shutil.rmtree(repo / ".cpcm" / "cache", ignore_errors=True)


def note_path(repo, case_id: str):
    path = next(p for p in record_files(repo, case_id) if p.name.endswith(".note.yaml.age"))
    return path, str(path.relative_to(repo))


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("problem:")]



def _as_before(repo, cli, before: dict) -> None:
    """Each command of `before` prints and exits as it did then, with the cache warm, cold and warm again."""
    for label in ("warm", "cold", "warm again"):
        if label == "cold":
            drop_cache(repo)
        for args, then in before.items():
            now = cli(*args)
            assert (now.code, now.stdout, now.stderr) == (then.code, then.stdout, then.stderr), (label, args)

def test_check_of_every_case__names_a_record_file_deleted_on_disk_as_check_case_does(cli, repo):
    """A note deleted by hand (no commit): `check CASE` stopped with exit 7 naming the restore,
    but `check` over every case read the case without the note and said nothing (exit 0). It now
    names the case and the file and how to restore it, checks the others, and exits with 1."""
    case_id, other = register(cli), register(cli, **OTHER)
    assert cli("note", case_id, "--text", "the visit went well").code == 0
    path, rel = note_path(repo, case_id)
    path.unlink()
    assert cli("check", case_id).code == 7
    for args in (("check",), ("check", "--json")):
        checked = cli(*args)
        assert checked.code == 1, (args, checked.stderr)
        assert problem_lines(checked.stderr) == [
            f"problem: {case_id}: {rel} differs from the last commit (deleted or changed by hand?); the case is left out "
            f"({restore_hint(rel)})"], checked.stderr
        assert CANARY not in checked.stdout + checked.stderr
    assert json.loads(cli("check", "--json").stdout) == json.loads(cli("check", other, "--json").stdout)  # the other case is checked
    git(repo, "checkout", "--", rel)
    assert cli("check").code == 0


def test_check_of_every_case__names_a_recipients_file_deleted_and_a_record_damaged_on_disk(cli, repo):
    deleted, damaged, good = register(cli), register(cli), register(cli, **OTHER)
    rel = f"{case_rel(deleted)}/recipients"
    (repo / rel).unlink()
    (broken,) = record_files(repo, damaged)
    broken.write_bytes(broken.read_bytes()[:100])
    checked = cli("check")
    assert checked.code == 1
    lines = problem_lines(checked.stderr)
    for case_id, path in ((deleted, rel), (damaged, str(broken.relative_to(repo)))):
        assert [line for line in lines if line.startswith(f"problem: {case_id}: ")] == [
            f"problem: {case_id}: {path} differs from the last commit (deleted or changed by hand?); the case is left out "
            f"({restore_hint(path)})"], checked.stderr
    assert not any(good in line for line in lines)


def test_list__a_recipients_file_deleted_by_hand_lists_the_case_as_committed_warm_or_cold(cli, repo):
    """The `recipients` file of a case deleted by hand: a `list` whose cache was made before
    listed the case as last committed, exit 0; one with no cache left the case out without a
    word, exit 0. `list` describes the last commit (docs/commands/cases.md): both list it, and
    `check` names the file and the restore."""
    case_id, other = register(cli), register(cli, **OTHER)
    assert cli("list").code == 0
    rel = f"{case_rel(case_id)}/recipients"
    (repo / rel).unlink()
    warm = cli("list", "--json")
    drop_cache(repo)
    cold = cli("list", "--json")
    assert (cold.code, cold.stdout, cold.stderr) == (warm.code, warm.stdout, warm.stderr)
    assert cold.code == 0 and sorted(c["case_id"] for c in cold.json()) == sorted([case_id, other])
    checked = cli("check")
    assert checked.code == 1 and f"{rel} differs from the last commit" in checked.stderr and restore_hint(rel) in checked.stderr
    assert cli("show", case_id).code == 7


def test_list_and_due__a_record_damaged_on_disk_gives_the_same_answer_warm_or_cold(cli, repo):
    """A note truncated on disk after its commit: `list` with its cache made before said
    nothing (exit 0); after `rm -rf .cpcm/cache` it left the case out (exit 1). Both now list
    the case as last committed; `check` and `show` name the file."""
    case_id, other = register(cli), register(cli, **OTHER)
    assert cli("note", case_id, "--text", "the visit went well").code == 0
    for args in (("list",), ("due",)):
        assert cli(*args).code == 0
    path, rel = note_path(repo, case_id)
    path.write_bytes(path.read_bytes()[:100])
    warm = {args: cli(*args) for args in (("list",), ("list", "--json"), ("due", "--json"))}
    drop_cache(repo)
    for args, before in warm.items():
        cold = cli(*args)
        assert (cold.code, cold.stdout, cold.stderr) == (before.code, before.stdout, before.stderr), args
        assert cold.code == 0 and case_id in cold.stdout, args
    assert cli("list").code == 0  # and warm again
    checked = cli("check")
    assert checked.code == 1 and restore_hint(rel) in checked.stderr
    assert cli("show", case_id).code == 7


def test_list_and_check__a_case_folder_deleted_by_hand(cli, repo, without_views):
    """A whole case folder deleted by hand: `list` lists the case as committed with a warm cache,
    with none, and without views; `check` over every case names a file of it and the restore."""
    case_id, other = register(cli), register(cli, **OTHER)
    assert cli("list").code == 0
    shutil.rmtree(case_dir(repo, case_id))
    warm = cli("list")
    drop_cache(repo)
    cold, computed = cli("list"), without_views(cli, "list")
    assert (warm.code, warm.stdout, warm.stderr) == (cold.code, cold.stdout, cold.stderr) == (computed.code, computed.stdout, computed.stderr)
    assert cold.code == 0 and case_id in cold.stdout and other in cold.stdout
    checked = cli("check")
    (line,) = problem_lines(checked.stderr)
    assert checked.code == 1 and line.startswith(f"problem: {case_id}: {case_rel(case_id)}/") and "git checkout HEAD -- " in line

def test_due_and_statistics__a_case_folder_deleted_by_hand_are_as_committed_warm_or_cold(cli, repo):
    """A whole case folder deleted by hand (no commit): `list` lists the case as committed, but
    `due` and `report statistics` made anew (no cache) left it out without a word. They describe
    the last commit too: the same answer as before the deletion, warm and cold; and `check` names
    the folder's files."""
    case_id, other = register(cli), register(cli, **OTHER)
    commands = (("due", "--worker", "all"), ("due", "--worker", "all", "--json"), ("report", "statistics"),
                ("report", "statistics", "--json"))
    before = {args: cli(*args) for args in commands}
    for args, result in before.items():
        assert result.code == 0, (args, result.stderr)
    assert case_id in before[("due", "--worker", "all", "--json")].stdout
    shutil.rmtree(case_dir(repo, case_id))
    _as_before(repo, cli, before)
    checked = cli("check")
    assert checked.code == 1 and f"problem: {case_id}: {case_rel(case_id)}/" in checked.stderr


def test_list__a_record_damaged_in_the_commit_stays_reported_when_the_cache_is_warm(cli, repo, team):
    """A damaged record that is committed is no file restored from git: `list` leaves its case out
    and says so (exit 1) whether the cache was made before the damage, after it, or not at all."""
    case_id, other = register(cli), register(cli, **OTHER)
    assert cli("note", case_id, "--text", "home visit").code == 0
    assert cli("list").code == 0  # the cache made before the damage
    _, rel = damage(repo, team, case_id)
    runs = [cli("list"), cli("list")]
    drop_cache(repo)
    runs += [cli("list"), cli("list")]
    for listed in runs:
        assert listed.code == 1 and case_id not in listed.stdout and other in listed.stdout, listed.stderr
        assert problem_lines(listed.stderr) == [f"problem: {case_id}: {rel} cannot be read; the case is left out "
                                                f"(cpcm show {case_id} says how to put it right; cpcm verify)"]


def test_the_restore_hint__is_spelt_one_way_wherever_a_file_git_holds_is_missing_or_changed(cli, repo, team):
    """'restore it from git: git checkout HEAD -- FILE' was spelt four ways ('Restore it:', 'It differs
    from the last commit: restore it from git:', 'Fix FILE by hand or restore it:'). Every one is
    now `restore_hint`."""
    from cpcm.store.layout import TEAM

    def hint(*args: str) -> str:
        result = cli(*args, "--json")
        assert result.code in (4, 7), (args, result.stderr)
        return result.json()["hint"]

    deleted, truncated, replaced, gone, untouched = (register(cli) for _ in range(5))
    assert cli("note", deleted, "--text", "visit").code == 0
    path, rel = note_path(repo, deleted)
    path.unlink()
    assert hint("show", deleted) == restore_hint(rel)
    on_disk = [rel]  # the files verify names
    assert cli("note", truncated, "--text", "visit").code == 0
    path, rel = note_path(repo, truncated)
    path.write_bytes(path.read_bytes()[:100])
    on_disk.append(rel)
    assert hint("show", truncated).startswith(restore_hint(rel))
    assert hint("repair", truncated, path.name.split(".")[0], "--reason", "truncated").startswith(restore_hint(rel))
    assert cli("note", replaced, "--text", "visit").code == 0
    path, rel = note_path(repo, replaced)
    path.write_bytes(record_files(repo, untouched)[0].read_bytes())  # a record file of another case
    on_disk.append(rel)
    assert hint("show", replaced).startswith(restore_hint(rel))
    rel = f"{case_rel(gone)}/recipients"
    (repo / rel).unlink()
    assert hint("show", gone) == restore_hint(rel)
    team_file = repo / TEAM
    kept = team_file.read_bytes()
    team_file.write_bytes(kept + b"# edited\n")
    assert hint("note", untouched, "--text", "visit").startswith(restore_hint(TEAM))
    team_file.write_bytes(b"workers: [\n")
    assert hint("list").startswith(restore_hint(TEAM))
    team_file.unlink()
    assert hint("list") == restore_hint(TEAM)
    team_file.write_bytes(kept)
    # verify: each file changed or deleted on disk, the message ends with the same restore
    config = repo / ".cpcm" / "config.yaml"
    config.write_text(config.read_text() + "# edited\n")
    problems = [p for p in cli("verify", "--json").json() if p["code"] in ("uncommitted-change", "config-uncommitted")]
    for problem in problems:
        path = problem["message"].split()[0]
        then = "  (or keep the edit: commit it)" if problem["code"] == "config-uncommitted" else ""
        assert problem["message"].endswith(". " + restore_hint(path, then)), problem
    assert sorted(p["message"].split()[0] for p in problems) == sorted([*on_disk, rel, ".cpcm/config.yaml"])


def _services_changed_on_amina(repo, team, tmp_env):
    """The services file committed by sup and synced; amina's laptop with its own change of it, committed (not
    synced yet). Returns the laptops and the file's path."""
    from test_sync import Laptops

    laptops = Laptops(repo, team, tmp_env)
    services = ".cpcm/services.yaml"
    (repo / services).write_text("services: []\n")
    signed_commit(repo, "sup", "services", services, key=team["sup"][0])
    laptops.sync("sup")
    laptops.laptop("amina")
    root = laptops.clones["amina"]
    (root / services).write_text("services: [] # theirs\n")
    signed_commit(root, "amina", "services", services, key=team["amina"][0])
    return laptops, services


def test_the_restore_hint__of_a_sync_refused_for_a_file_edited_by_hand(repo, team, tmp_env):
    """A sync that would update a file edited by hand stops; its hint said 'undo it (git checkout --
    FILE)' in its own words, even for a file the last commit does not hold (nothing to restore). A
    file the last commit holds gets `restore_hint`; one it does not, to be moved out."""
    laptops, services = _services_changed_on_amina(repo, team, tmp_env)
    register(laptops.cli("amina"))
    laptops.sync("amina")
    (repo / services).write_text("services: [] # mine\n")
    refused = laptops.cli("sup")("sync", "--json")
    assert refused.code == 6 and refused.json()["hint"] == restore_hint([services], " (to keep an edit, copy the file elsewhere first and make the change again through cpcm after the sync: a commit made by hand is refused by the other copies); then sync again")
    (repo / services).write_text("services: []\n")
    assert laptops.cli("sup")("sync").code == 0


def commit_plaintext(repo, team, case_id: str, plaintext: bytes, worker: str = "amina") -> tuple[str, str]:
    """A record file of `case_id` holding `plaintext`, encrypted to the case's readers and committed
    by the worker, as a cpcm that let bad input through would have left it. (record id, path)"""
    from cpcm.crypto import cipher
    from cpcm.domain.ids import RecordIds
    from cpcm.store.layout import record_name

    folder = case_dir(repo, case_id)
    readers = [line.strip() for line in (folder / "recipients").read_text().splitlines() if line.strip() and not line.startswith("#")]
    after = max(p.name.split(".")[0] for p in record_files(repo, case_id))
    record_id = RecordIds().new(int(time.time() * 1000), after=after)
    rel = f"{case_rel(case_id)}/{record_name(record_id, 'note')}"
    (repo / rel).write_bytes(cipher.encrypt(plaintext, [team[r][1] for r in readers]))
    signed_commit(repo, worker, f"note {case_id} {record_id}", rel)
    return record_id, rel


FIRST, LAST = CANARY.split()
DAMAGED = {  # a record's plaintext holding the canary name, damaged so that reading it fails
    "a header value of the wrong kind (int() quotes it)": lambda case_id, record_id: (
        f"kind: note\nschema: {CANARY}\nid: {record_id}\ncase: {case_id}\nat: '2026-11-23T09:00:00+03:00'\n"
        f"recorded_at: '2026-11-23T09:00:00+03:00'\nby: amina\ntext: {CANARY}\n").encode(),
    "a tag the parser names": lambda case_id, record_id: f"child:\n  name: !!{FIRST} {LAST}\n".encode(),
    "a key the parser names twice": lambda case_id, record_id: f"{CANARY}: 1\n{CANARY}: 2\n".encode(),
}


@pytest.mark.parametrize("how", sorted(DAMAGED))
def test_a_damaged_record_s_message__names_the_file_and_the_damage_never_what_it_holds(cli, repo, team, how):
    """A record whose plaintext holds a child's name and does not parse: the message said what the
    parser or Python said of it, which can quote the value ("invalid literal for int() with base
    10: '<name>'"). It now names the file and the kind of damage only."""
    case_id = register(cli)
    record_id = "01" + "0" * 24
    _, rel = commit_plaintext(repo, team, case_id, DAMAGED[how](case_id, record_id))
    drop_cache(repo)
    for args in (("show", case_id), ("show", case_id, "--json"), ("list",), ("check",), ("check", case_id), ("log", case_id),
                 ("verify",), ("verify", "--json"), ("due",), ("report", "caseload")):
        result = cli(*args)
        out = result.stdout + result.stderr
        assert FIRST not in out and LAST not in out, (args, out)
    shown = cli("show", case_id)
    assert shown.code == 7 and rel in shown.stderr and "is not a valid record" in shown.stderr, shown.stderr


def test_a_bundle_record_that_does_not_parse__names_the_member_never_what_it_holds():
    from cpcm.store import bundle

    for make in DAMAGED.values():
        with pytest.raises(bundle.BundleError) as refused:
            bundle._record(make("CP-0000-0000", "01" + "0" * 24), "records/x.yaml")
        assert "records/x.yaml" in str(refused.value) and FIRST not in str(refused.value) and LAST not in str(refused.value)


def test_a_library_session__reads_a_case_as_it_is_once_the_listing_that_read_it_as_committed_has_ended(cli, repo):
    """A long library session: a listing ran while a note was deleted by hand, and read the case as
    last committed. The worker restored the note and wrote another through the same session; the
    session went on reading the case from the commit the listing had seen (the new note missing).
    Reading a case as committed lasts as long as the listing that asked for it."""
    from cpcm import service
    from conftest import library_session

    case_id, other = register(cli), register(cli, **OTHER)
    assert cli("note", case_id, "--text", "the visit went well").code == 0
    ctx = library_session(cli)
    read = len(service.load_records(ctx, case_id))
    path, rel = note_path(repo, case_id)
    path.unlink()
    assert sorted(row["case_id"] for row in service.list_rows(ctx)) == sorted([case_id, other])
    assert {d.case_id for d in service.due_list(ctx, "all")} >= {case_id, other}
    git(repo, "checkout", "--", rel)
    service.note(ctx, case_id, "a second visit")
    assert len(service.load_records(ctx, case_id)) == read + 1
    assert len(service.load_records(library_session(cli), case_id)) == read + 1


def _truncate_last_record(repo, case_id: str) -> str:
    path = record_files(repo, case_id)[-1]  # the placement: the record the placements report reads
    path.write_bytes(path.read_bytes()[:100])
    return str(path.relative_to(repo))


def _delete_last_record(repo, case_id: str) -> str:
    path = record_files(repo, case_id)[-1]
    path.unlink()
    return str(path.relative_to(repo))


def _delete_recipients(repo, case_id: str) -> str:
    (case_dir(repo, case_id) / "recipients").unlink()
    return f"{case_rel(case_id)}/recipients"


def _delete_folder(repo, case_id: str) -> str:
    shutil.rmtree(case_dir(repo, case_id))
    return f"{case_rel(case_id)}/"


ON_DISK = {"record truncated": _truncate_last_record, "record deleted": _delete_last_record,
           "recipients deleted": _delete_recipients, "folder deleted": _delete_folder}


@pytest.mark.parametrize("how", ON_DISK)
@pytest.mark.parametrize("kind", ["caseload", "timeliness", "placements", "statistics"])
def test_reports__a_case_changed_on_disk_is_counted_as_committed_warm_or_cold(cli, cli_as, repo, without_views, kind, how):
    """A record file truncated on disk after its commit (no commit since): `report caseload`,
    `timeliness` and `placements` left the case out and exited with 1 while `list`, `due` and
    `report statistics` counted it as last committed and exited with 0, so the caseload report and
    `list` disagreed by one case (a recipients file or a case folder deleted by hand: left out
    without a word). Every report now describes the last commit, as `list` and `due` do
    (docs/security.md): the same output, exit code and stderr as before the change, warm, cold,
    and made from every case without the views and tables; `check` names the file."""
    case_id, other = register(cli), register(cli, **OTHER)
    placed = cli_as("sup")("placement", case_id, "--care-type", "temporary_shelter", "--institution", "Kisumu place of safety",
                           "--override-reason", "police brought her at night")
    assert placed.code == 0, placed.stderr
    commands = (("report", kind, "--json"), ("report", kind), ("list", "--json"))
    before = {args: cli(*args) for args in commands}
    for args, result in before.items():
        assert result.code == 0, (args, result.stderr)
    view = before[("report", kind, "--json")].json()
    assert (view["meta"]["cases_read"], view["meta"]["cases_in_repository"]) == (2, 2)
    if kind == "placements":
        assert [row["case_id"] for row in view["in_care"]] == [case_id]
    elif kind == "caseload":
        assert sum(row["open"] for row in view["workers"]) == 2
    rel = ON_DISK[how](repo, case_id)
    _as_before(repo, cli, before)
    for args, then in before.items():
        computed = without_views(cli, *args)
        assert (computed.code, computed.stdout, computed.stderr) == (then.code, then.stdout, then.stderr), args
    checked = cli("check")
    assert checked.code == 1 and f"problem: {case_id}: {rel}" in checked.stderr, checked.stderr
    assert CANARY not in checked.stdout + checked.stderr


@pytest.mark.parametrize("how", ON_DISK)
@pytest.mark.parametrize("identifying", [False, True], ids=["counts", "identifying"])
def test_export__a_case_changed_on_disk_is_named_never_left_out_without_a_word(cli, cli_as, repo, tmp_path, how, identifying):
    """`export` is a write: it reads the files as they are. A case whose `recipients` file or
    folder was deleted by hand (no commit) was left out without a word (exit 0, one case
    short); a record truncated or deleted, as a damaged case. It is now left out with the
    problem line `check` gives, naming the file and the restore, and exit 1."""
    sup = cli_as("sup")
    case_id, other = register(cli), register(cli, **OTHER)
    assert sup("service", "add", "county", "--provider", "County Children's Office", "--sector", "social_protection",
               "--offers", "case records").code == 0
    for each in (case_id, other):
        for giver in ("child", "caregiver"):
            assert sup("consent", each, "--purpose", "sharing", "--agency", "county", "--by", giver, "--status", "given",
                       "--explained", "all").code == 0
    fields = ("--fields", "case_id,name", "--agency", "county") if identifying else ("--fields", "case_id,status")
    rel = ON_DISK[how](repo, case_id)
    out = tmp_path / "export.json"
    result = sup("export", "--format", "json", *fields, "--plaintext", "--out", str(out))
    assert result.code == 1, result.stderr
    assert [c["case_id"] for c in json.loads(out.read_text(encoding="utf-8"))["cases"]] == [other]
    (line,) = problem_lines(result.stderr)
    named = rel if how != "folder deleted" else rel.rstrip("/")
    assert line.startswith(f"problem: {case_id}: {named}") and "differs from the last commit" in line, line
    assert "git checkout HEAD -- " in line and CANARY not in result.stdout + result.stderr


@pytest.mark.parametrize("how", ON_DISK)
@pytest.mark.parametrize("cache", ["warm", "cold"])
def test_register__a_case_changed_on_disk_still_counts_in_the_duplicate_and_caseload_checks(cli, repo, how, cache):
    """A record truncated or deleted, a `recipients` file or a whole case folder deleted by hand
    (no commit since): `register` of the same child again warned of no duplicate, warm cache or
    cold: the check read the files as they are and left the case out without a word (and the
    caseload checks, which read the same cases, counted one case short). The checks now read such a
    case as the last commit holds it, as `list` and the reports do; the registration commits its
    own files only."""
    case_id = register(cli)
    assert cli("list", "--json").code == 0  # the cache warm
    rel = ON_DISK[how](repo, case_id)
    if cache == "cold":
        drop_cache(repo)
    again = cli("register", "--from-file", "-", "--json", input=json.dumps(registration()))
    assert again.code == 0, again.stderr
    assert [d["case_id"] for d in again.json()["possible_duplicates"]] == [case_id], again.stdout
    assert CANARY not in again.stderr
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert changed and all(path.startswith(f"{case_rel(again.json()['case_id'])}/") for path in changed), changed
    assert rel.rstrip("/").startswith(case_rel(case_id))


def test_a_sync_that_would_update_a_file_staged_by_hand_stops_and_keeps_it_staged(repo, team, tmp_env):
    """A change a person staged (`git add`) of a file the sync would update, the file on disk as the last commit
    has it: the sync stops before writing anything and says how to unstage it (a rollback used to unstage it
    silently, after git's own words)."""
    laptops, services = _services_changed_on_amina(repo, team, tmp_env)
    laptops.sync("amina")
    (repo / services).write_text("services: [] # staged\n")
    git(repo, "add", services)
    (repo / services).write_text("services: []\n")                     # on disk as the last commit has it
    tip = git(repo, "rev-parse", "HEAD")
    refused = laptops.cli("sup")("sync", "--json")
    assert refused.code == 6 and "staged by hand" in refused.json()["message"]
    assert refused.json()["hint"].startswith(f"Unstage them: git restore --staged -- {services} ")
    assert git(repo, "rev-parse", "HEAD") == tip and git(repo, "diff", "--cached", "--name-only") == f"{services}\n"
    git(repo, "restore", "--staged", "--", services)
    assert laptops.cli("sup")("sync").code == 0
    assert (repo / services).read_text() == "services: [] # theirs\n"


def test_a_file_that_differs_only_in_its_line_endings_is_said_so_with_the_way_out(cli, repo):
    """A copy whose git converts line endings (`core.autocrlf`, in a repository made before `.gitattributes` had
    `* -text`: here `* text=auto` in `.git/info/attributes`, which comes first) wrote the settings and `recipients`
    files with CRLF, and its index takes them for unchanged: the refusal says it is the line endings, not an edit
    by hand, and how to stop it; done as it says, the copy works. A real edit is still an edit."""
    from cpcm.errors import LINE_ENDINGS_HINT

    case_id = register(cli)
    team, recipients = ".cpcm/team.yaml", f"{case_rel(case_id)}/recipients"
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* text=auto\n")
    git(repo, "config", "core.autocrlf", "true")

    def converted(*rels):                     # written by the person's git, as a checkout or a clone writes them
        for rel in rels:
            (repo / rel).unlink()
        git(repo, "checkout", "HEAD", "--", *rels)
        assert all(b"\r\n" in (repo / rel).read_bytes() for rel in rels)
        time.sleep(1.1)                       # then the index's times are not those of the files: git trusts them
        git(repo, "update-index", "-q", "--refresh")
    converted(team)
    written = cli("note", case_id, "--text", "visited", "--json")
    assert written.code == 7 and written.json()["message"] == (
        ".cpcm/team.yaml differs from the last commit only in its line endings; nothing was written")
    assert written.json()["hint"] == LINE_ENDINGS_HINT and "git config core.autocrlf false" in LINE_ENDINGS_HINT
    assert "delete the file named" in LINE_ENDINGS_HINT and "git rm -r -q --cached . and then git reset -q --hard" \
        in LINE_ENDINGS_HINT                                                  # what puts back a file git converted
    git(repo, "config", "core.autocrlf", "false")                            # as the hint says
    git(repo, "checkout", "HEAD", "--", team)
    assert b"\r\n" in (repo / team).read_bytes()                             # a checkout alone leaves it
    (repo / team).unlink()
    git(repo, "checkout", "HEAD", "--", team)
    assert cli("note", case_id, "--text", "visited").code == 0
    git(repo, "config", "core.autocrlf", "true")
    converted(team, recipients)
    shown = cli("show", case_id, "--json")
    assert shown.code == 7 and shown.json()["message"] == (
        f"{recipients} differs from the last commit only in its line endings: the case is not read as it is")
    assert shown.json()["hint"] == LINE_ENDINGS_HINT
    git(repo, "config", "core.autocrlf", "false")
    git(repo, "rm", "-r", "-q", "--cached", ".")                             # every file at once, as the hint says
    git(repo, "reset", "-q", "--hard")
    assert cli("note", case_id, "--text", "visited again").code == 0 and git(repo, "status", "--porcelain") == ""
    (repo / team).write_bytes((repo / team).read_bytes() + b"# edited\n")    # more than the line endings
    edited = cli("note", case_id, "--text", "visited", "--json")
    assert edited.code == 7 and "edited by hand?" in edited.json()["message"]
