"""The list view brought up to date in a small changes file (service/views.py `_changed`, `_merged`):
the rows of the cases changed since the view was made whole, merged in where they belong when it
is read. What `list` prints is compared with the list computed without views, byte for byte; no
time or memory is measured here."""
from __future__ import annotations

import random
from pathlib import Path

from conftest import Cli, git, register, register_many
from cpcm.crypto import cipher
from cpcm.service import context, views
from cpcm.store.layout import case_dir, case_rel
from test_views import LIST, same

COMMANDS = [("list", *a) for a in LIST]


def _views(cli: Cli) -> Path:
    return Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / "amina" / views.FOLDER


def _plain(path: Path, cli: Cli) -> bytes:
    keys = context.identity_mod.load(Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys
    return cipher.decrypt(path.read_bytes(), keys)


# -- the merge: the view made whole from the same rows ----------------------------------------------------
def _row(rng: random.Random) -> list:
    registered = rng.choice([None, "", "2024-01-01T09:00:00+03:00", "2024-01-01", "2024-01-01T09:00:00+03:00x",
                             "2023-12-31T23:59:59+03:00", "2025-06-01T10:00:00+03:00", "2024-\u00e9"])
    status = rng.choice(["open", "closed", None, "odd\tstatus"])
    name = rng.choice(["Amani", "Tab\tIn Name", None, "", "Line\nBreak", "Ẓ𝔘"])
    birth = rng.choice([None, "2016-11-23", "2010-02-28"])
    return [status, rng.choice(["registered", "plan"]), rng.choice(["high", None]), rng.choice(["amina", "otieno"]),
            registered, rng.choice(["female", "male", None]), birth, rng.randint(1, 9), registered, name]


def _laid_out(rows: list) -> tuple[dict, memoryview]:
    layout = views._Layout()
    if rows:
        layout.take(rows)
    where, body = views.sections(layout.texts())
    head = {"exact": layout.exact, "keyed": layout.keyed, "stamp": "s", "tree": "t0", "retry": [], "sections": where}
    return head, memoryview(body)


def test_a_view_with_its_changes_is_the_view_made_whole_from_the_rows_now():
    rng = random.Random(11)
    for turn in range(200):
        base = sorted(([f"CP-{n:03d}", _row(rng)] for n in rng.sample(range(300), rng.randint(0, 40))), key=views._sort_key)
        head, body = _laid_out(base)
        ids = [case_id for case_id, _row_ in base]
        gone = set(rng.sample(ids, rng.randint(0, len(ids))))
        changed = {case_id: _row(rng) for case_id in rng.sample(sorted(gone), rng.randint(0, len(gone)))}
        changed.update({f"CP-N{turn}-{n}": _row(rng) for n in range(rng.randint(0, 4))})
        gone.update(changed)
        rows = sorted(([case_id, row] for case_id, row in changed.items()), key=views._sort_key)
        changes = {"tree": "t1", "retry": ["CP-X"], "exact": views._list_text(rows)[1], "rows": rows, "gone": sorted(gone)}
        now = sorted([item for item in base if item[0] not in gone] + rows, key=views._sort_key)
        whole_head, whole_body = _laid_out(now)

        merged_head, texts, count = views._merged(head, body, changes)
        assert count == len(now)
        assert texts == {name: views._section(whole_head, whole_body, name) for name in whole_head["sections"]}
        # exact only when the view made whole is (filtered by its text); else filtered by the rows: the same lines
        assert merged_head["exact"] == (head["exact"] and changes["exact"]) and (whole_head["exact"] or not merged_head["exact"])
        assert (merged_head["tree"], merged_head["retry"]) == ("t1", ["CP-X"])
        assert views._with_changes([list(item) for item in base], changes) == now


# -- the changes file's life --------------------------------------------------------------------------------
def test_writes_go_to_the_changes_file_until_many_cases_changed(cli, without_views, monkeypatch):
    ids = register_many(cli, 4, child={"name": "Amani Otieno", "sex": "female", "date_of_birth": "2016-11-23"})
    same(cli, without_views, COMMANDS)  # the view made whole
    base = {name: (_views(cli) / name).read_bytes() for name in ("list.view", "list-rows.view")}
    assert b"Amani" in _plain(_views(cli) / "list.view", cli)
    monkeypatch.setattr(views, "CHANGES_MAX", 3)

    assert cli("note", ids[1], "--text", "visited").code == 0
    same(cli, without_views, COMMANDS)
    register_many(cli, 1, child={"name": "Later Child", "sex": "male", "date_of_birth": "2012-05-05"})
    assert cli("update", ids[2], "--name", "Renamed Child", "--reason", "spelling").code == 0
    same(cli, without_views, COMMANDS)
    assert {name: (_views(cli) / name).read_bytes() for name in base} == base  # the view itself untouched
    changes = _plain(_views(cli) / "list-changes.view", cli)
    assert b"Later Child" in changes and b"Renamed Child" in changes and changes.count(b'"CP-') >= 6  # three rows, three gone

    assert cli("note", ids[3], "--text", "visited").code == 0  # a fourth case changed: made whole
    same(cli, without_views, COMMANDS)
    assert (_views(cli) / "list.view").read_bytes() != base["list.view"]
    assert not (_views(cli) / "list-changes.view").exists()
    assert b"Later Child" in _plain(_views(cli) / "list.view", cli)


def test_a_case_assigned_away_leaves_no_row_behind(cli, cli_as, without_views):
    """A case the worker no longer reads (assigned to another) makes the view whole again, as
    before the changes file: no row of it (its child's name) stays in the worker's cache."""
    ids = register_many(cli, 3)
    away = register_many(cli, 1, child={"name": "Moved Away", "sex": "male", "date_of_birth": "2014-01-01"})[0]
    same(cli, without_views, COMMANDS)
    assert cli("note", ids[0], "--text", "visited").code == 0
    same(cli, without_views, COMMANDS)
    assert (_views(cli) / "list-changes.view").exists()
    assert cli_as("sup")("assign", away, "--worker", "otieno").code == 0
    same(cli, without_views, COMMANDS)
    assert not (_views(cli) / "list-changes.view").exists()
    assert b"Moved Away" not in _plain(_views(cli) / "list.view", cli)
    assert away.encode() not in _plain(_views(cli) / "list.view", cli)


def test_a_case_the_worker_never_read_changes_nothing_in_the_view(cli, cli_as, without_views):
    """Another worker's new case (which this worker does not read): the view and its changes file
    are left as they are, as in a team most writes are to others' cases."""
    ids = register_many(cli, 3)
    same(cli, without_views, COMMANDS)
    assert cli("note", ids[0], "--text", "visited").code == 0
    same(cli, without_views, COMMANDS)
    base = (_views(cli) / "list.view").read_bytes()
    register(cli_as("otieno"), child={"name": "Other Child", "sex": "male", "date_of_birth": "2012-02-02"})
    same(cli, without_views, COMMANDS)
    assert (_views(cli) / "list.view").read_bytes() == base
    assert b"Other Child" not in _plain(_views(cli) / "list-changes.view", cli)


def test_a_damaged_case_is_reported_once_when_the_changes_file_gives_way_to_a_whole_view(cli, repo, without_views):
    ids = register_many(cli, 4)
    assert cli("list").code == 0  # the view made whole
    assert cli("note", ids[0], "--text", "visited").code == 0
    assert cli("list").code == 0  # and a changes file
    assert (_views(cli) / "list-changes.view").exists()
    damaged = sorted(case_dir(repo, ids[1]).glob("*.age"))[0]
    damaged.write_bytes(b"damaged")
    git(repo, "rm", "-r", "-q", case_rel(ids[2]))  # a case with a row leaves: the view is made whole
    git(repo, "add", "-A", "cases")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "by hand")
    kept, computed = cli("list"), without_views(cli, "list")
    assert computed.stderr.count(damaged.name) == 1
    assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr)


def test_when_every_case_leaves_the_folder_no_view_keeps_a_row(cli, repo, without_views):
    from test_views import COMMANDS as ALL, view_files

    ids = register_many(cli, 2, child={"name": "Gone Child", "sex": "male", "date_of_birth": "2014-01-01"})
    same(cli, without_views, ALL)
    assert cli("note", ids[0], "--text", "visited").code == 0
    same(cli, without_views, ALL)
    git(repo, "rm", "-r", "-q", "cases")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "every case removed")
    same(cli, without_views, ALL)
    assert not [name for name, data in view_files(cli).items() if b"Gone Child" in data or ids[0].encode() in data]


def test_json_reads_the_rows_without_laying_out_the_printed_lines(cli, without_views, monkeypatch):
    """`list --json` over a view with its changes file: the rows are read with the changes, and the
    printed lines are not merged (at 100,000 cases that took 0.2 s `--json` never used); the
    printed list merges them when it prints."""
    ids = register_many(cli, 4)
    same(cli, without_views, COMMANDS)
    assert cli("note", ids[1], "--text", "visited").code == 0
    same(cli, without_views, COMMANDS)
    assert (_views(cli) / "list-changes.view").exists()
    merges = []
    real = views._merged
    monkeypatch.setattr(views, "_merged", lambda *args: merges.append(1) or real(*args))
    out = cli("list", "--json")
    assert out.code == 0 and merges == []
    assert out.stdout == without_views(cli, "list", "--json").stdout
    assert cli("list").stdout == without_views(cli, "list").stdout and merges == [1]
