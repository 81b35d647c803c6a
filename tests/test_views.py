"""The views of the whole `cases` folder (service/views.py, service/dueview.py): `cpcm list`,
`cpcm due` and `cpcm report statistics` print the same from them as computed without them; a
view is brought up to date by reading only the case folders that changed since its tree; a case
that leaves the folder, or that the worker no longer reads, leaves every view; a case that cannot
be read is reported by every command; a cold fill writes the due and statistics rows as it goes.
What is compared is output, byte for byte: no time is measured here."""
from __future__ import annotations

import json

import pytest

from conftest import CANARY, Cli, git, register, register_many
from cpcm.crypto import cipher
from cpcm.service import context, fill, views
from cpcm.service import tables as tables_mod
from cpcm.store import cache as cache_mod
from cpcm.store.layout import case_dir, case_rel

LIST = [(), ("--json",), ("--names",), ("--worker", "otieno"), ("--risk", "high", "--names"), ("--status", "open", "--json"),
        ("--stage", "registered",)]
DUE = [(), ("--json",), ("--worker", "all"), ("--worker", "all", "--within", "400"), ("--overdue", "--worker", "all"),
       ("--worker", "otieno")]
STATISTICS = [(), ("--from", "2026-01-01", "--to", "2026-12-31", "--json")]
COMMANDS = [("list", *a) for a in LIST] + [("due", *a) for a in DUE] + [("report", "statistics", *a) for a in STATISTICS]


def same(cli: Cli, without_views, commands=COMMANDS, env: dict | None = None) -> None:
    for args in commands:
        kept, computed = cli(*args, env=env), without_views(cli, *args, env=env)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), args


def view_files(cli: Cli, worker: str = "amina") -> dict[str, bytes]:
    from pathlib import Path

    keys = context.identity_mod.load(Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys
    folder = Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / worker / views.FOLDER
    return {p.name: cipher.decrypt(p.read_bytes(), keys) for p in sorted(folder.glob("*.view"))}


def test_each_command_prints_the_same_from_its_view_and_reads_only_the_changed_cases(cli, cli_as, without_views, reads):
    ids = register_many(cli, 4)
    other = register(cli_as("otieno"), child={"name": "Other Child", "sex": "male", "date_of_birth": "2012-02-02"})
    same(cli, without_views)
    same(cli_as("sup"), without_views)
    assert set(view_files(cli)) == {"list.view", "list-rows.view", "due.view", "statistics.view", "statistics-cases.view"}
    reads.clear()
    for args in COMMANDS:
        assert cli(*args).code == 0
    assert reads == []  # every answer came from the views
    new = register(cli, child={"name": "New Child", "sex": "female", "date_of_birth": "2010-01-01"})
    assert cli("note", ids[0], "--text", "visited").code == 0
    for command in (("list",), ("due",), ("report", "statistics")):
        reads.clear()
        assert cli(*command).code == 0
        assert sorted(set(reads)) == sorted([new, ids[0]]), command  # the changed cases, no other
    reads.clear()
    same(cli, without_views)
    assert other not in json.dumps([r for r in cli("list", "--json").json() if r["worker"] == "amina"])


def test_the_views_follow_a_reassignment_a_policy_change_and_the_clock(cli, cli_as, repo, without_views):
    sup = cli_as("sup")
    ids = register_many(cli, 3)
    near = register(cli, child={"name": "Near Eighteen", "sex": "male", "date_of_birth": "2008-12-10", "disability": "no"})
    same(cli, without_views)
    assert sup("assign", ids[1], "--worker", "otieno").code == 0  # amina no longer reads it
    same(cli, without_views)
    assert ids[1] not in {r["case_id"] for r in cli("list", "--json").json()}
    (repo / ".cpcm" / "policy.yaml").write_text("rules:\n  initial_assessment:\n    limit: 96h\n    target: 48h\n")
    same(cli, without_views, [c for c in COMMANDS if c[0] == "due"])
    for now in ("2026-11-24T08:59:00+03:00", "2026-12-20T12:00:00+03:00", "2027-06-01T09:00:00+03:00", "2025-01-01T09:00:00+03:00"):
        same(cli, without_views, env={"CPCM_NOW": now})
    assert near in cli("due", "--worker", "all", "--within", "400", env={"CPCM_NOW": "2026-11-24T08:59:00+03:00"}).stdout


def test_a_case_that_leaves_the_folder_leaves_every_view(cli, repo, without_views):
    """A case folder gone from the last commit (a copy reset to an earlier commit, a folder removed
    by hand and committed): its rows are pruned from each view, not only hidden."""
    ids = register_many(cli, 3, child={"name": CANARY, "sex": "female", "date_of_birth": "2011-04-04"})
    same(cli, without_views)
    gone = ids[1]
    assert any(gone.encode() in data for data in view_files(cli).values())
    git(repo, "rm", "-r", "-q", case_rel(gone))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "remove a case folder")
    same(cli, without_views)
    assert gone not in cli("list").stdout and gone not in cli("due", "--worker", "all").stdout
    files = view_files(cli)
    assert files and not any(gone.encode() in data for data in files.values())
    assert all(ids[0].encode() in data for name, data in files.items() if not name.startswith("statistics"))


def test_a_case_folder_moved_or_removed_in_its_second_level_is_named_gone_and_leaves_every_view(cli, repo, without_views):
    """A case folder is in a folder of the second level (cases/XX/ID). The comparison of two `cases`
    trees that brings a view up to date (`Git.changed_entries`) names a case whose folder left, with
    that level's folder or from one that keeps another case, as (its tree then, None), and a folder
    moved to another ID as gone under the old one and added under the new one; every view drops them."""
    from cpcm.domain.ids import check_char
    from cpcm.store.git import Git
    from cpcm.store.layout import CASES, shard

    ids = register_many(cli, 4, child={"name": CANARY, "sex": "female", "date_of_birth": "2011-04-04"})
    same(cli, without_views)
    store = Git(repo)
    start, trees = store.tree_id(CASES), store.tree_ids(CASES)

    def commit(message: str) -> str:
        git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", message)
        return store.tree_id(CASES)

    body = f"{shard(ids[1])}ZZZZZ"  # an ID in the folder of the second level that holds ids[1]
    moved = f"CP-{body[:4]}-{body[4:]}{check_char(body)}"
    git(repo, "mv", case_rel(ids[0]), case_rel(moved))
    after_move = commit("move a case folder")
    assert store.changed_entries(start, after_move) == {ids[0]: (trees[ids[0]], None), moved: (None, trees[ids[0]])}
    assert store.changed_entries(after_move, start) == {ids[0]: (None, trees[ids[0]]), moved: (trees[ids[0]], None)}
    same(cli, without_views)
    assert not any(ids[0].encode() in data for data in view_files(cli).values())
    git(repo, "rm", "-r", "-q", case_rel(moved), case_rel(ids[2]))
    end = commit("remove two case folders")
    alone = shard(ids[2]) not in {shard(ids[1]), shard(ids[3])}  # its level's folder left with it
    assert bool(git(repo, "ls-tree", "HEAD", f"{CASES}/{shard(ids[2])}").strip()) == (not alone)
    assert store.changed_entries(after_move, end) == {moved: (trees[ids[0]], None), ids[2]: (trees[ids[2]], None)}
    assert store.changed_entries(start, end) == {ids[0]: (trees[ids[0]], None), ids[2]: (trees[ids[2]], None)}
    assert store.changed_entries(end, start) == {ids[0]: (None, trees[ids[0]]), ids[2]: (None, trees[ids[2]])}
    same(cli, without_views)
    files = view_files(cli)
    assert files and not any(gone.encode() in data for data in files.values() for gone in (ids[0], moved, ids[2]))
    assert all(ids[1].encode() in data and ids[3].encode() in data for name, data in files.items()
               if not name.startswith("statistics"))


def test_a_case_damaged_in_the_commit_is_reported_by_every_command(cli, repo, without_views, reads):
    good, bad = register(cli), register(cli)
    same(cli, without_views)
    (path,) = sorted(case_dir(repo, bad).glob("*.age"))
    path.write_bytes(b"damaged")
    git(repo, "add", "-A", "cases")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "damage")
    for _ in range(2):  # the first brings the views up to date, the second reads them: the same
        for args in (("list",), ("due", "--worker", "all"), ("report", "statistics")):
            reads.clear()
            kept, computed = cli(*args), without_views(cli, *args)
            assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), args
            assert kept.code == 1 and path.name in kept.stderr and bad in reads and good not in reads, args


def test_list_plain_text_is_print_tables(cli, cli_as, without_views):
    register_many(cli, 3, child={"name": "Tab\tIn Name", "sex": "female", "date_of_birth": "2016-11-23"})
    register(cli, child={"name": "No Birth", "sex": "male", "age_estimate": 7})
    same(cli, without_views, [("list", *a) for a in LIST] + [("list", "--names", "--worker", "amina")])


def test_a_cold_fill_writes_the_due_and_statistics_rows_as_it_goes(cli, monkeypatch):
    """Stopped midway, a cold list leaves due and statistics rows for the cases read so far (they
    go to new segments as they come, not at the end)."""
    import shutil
    from pathlib import Path

    import cpcm.service

    monkeypatch.setattr(fill, "FILL_FROM", 2)
    monkeypatch.setattr(context, "PREFETCH_FROM", 2)
    monkeypatch.setattr(tables_mod, "BULK_FROM", 2)
    monkeypatch.setattr(fill, "CHUNK", 4)
    monkeypatch.setattr(cache_mod, "APPEND_LIMIT", 200)
    ids = register_many(cli, 30)
    repo = Path(cli.env["CPCM_REPO"])
    shutil.rmtree(repo / ".cpcm" / "cache")
    keys = context.identity_mod.load(Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys

    def kept(kind: str) -> set[str]:
        folder = repo / ".cpcm" / "cache" / "amina" / kind
        found: set[str] = set()
        for path in sorted(folder.glob("*.age")) if folder.is_dir() else ():
            found |= set(json.loads(cipher.decrypt(path.read_bytes(), keys))["entries"])
        return {k for k in found if not k.startswith(tables_mod.TEXT)}

    seen = []

    def stop(done, total):
        if done >= 12:
            seen.append((kept("due"), kept("statistics")))
            raise KeyboardInterrupt
    ctx = context_session(cli)
    ctx.progress = stop
    with pytest.raises(KeyboardInterrupt):
        cpcm.service.list_rows(ctx)
    due, statistics = seen[0]
    assert len(due) >= 8 and len(statistics) >= 8 and due <= set(ids)  # written as they came
    assert 12 <= len(kept("due")) < len(ids) and kept("due") == kept("statistics")


def context_session(cli: Cli):
    from conftest import library_session

    return library_session(cli)


def test_items_computed_each_time_take_their_place_in_the_order(cli, monkeypatch, without_views):
    """The conference items (and a case's items that cannot be kept) are computed at each `due` and
    put where `deadlines.urgency` sorts them: after the kept items they tie with."""
    from dataclasses import replace

    from cpcm.service import conferences, worklist

    ids = register_many(cli, 3)
    ctx = context_session(cli)
    kept = worklist.due(ctx, worker="all", within_days=400)
    assert kept
    tie = replace(kept[1], code="conference-report", title="conference report")  # ties with a kept item
    before = replace(kept[0], code="conference-report", title="first", due=kept[0].due.replace(year=2020))
    other = replace(kept[-1], case_id="CF-0000-0000", title="last", owner="amina")
    monkeypatch.setattr(conferences, "due_items", lambda *a, **k: [tie, other, before])
    same(cli, without_views, [("due", "--worker", "all", "--within", "400"), ("due", "--within", "400"), ("due", "--overdue"),
                              ("due", "--worker", "all", "--within", "400", "--json")])
    listed = cli("due", "--worker", "all", "--within", "400").stdout
    lines = listed.splitlines()
    assert "\tfirst\t" in lines[1] and "conference report" in listed and "\tlast\t" in listed and ids[0] in listed


def test_a_case_whose_deadlines_cannot_be_kept_is_computed_at_each_due(cli, monkeypatch, without_views, reads):
    ids = register_many(cli, 3)
    odd = ids[1]
    real = tables_mod._due_entry

    def entry(ctx, session, case, tree, line=None):
        if case.id == odd:
            raise tables_mod._NotKept  # as for a case whose rules use `now` otherwise than by comparing it
        return real(ctx, session, case, tree, line)
    monkeypatch.setattr(tables_mod, "_due_entry", entry)
    for _ in range(2):
        same(cli, without_views, [("due", *a) for a in DUE])
    reads.clear()
    assert cli("due", "--worker", "all").code == 0
    assert reads == [odd]  # that case only, from its files; the view is not written again
    assert odd in cli("due", "--worker", "all").stdout


def test_a_view_not_stored_still_prints_every_form(cli, repo, without_views):
    """While a case differs on disk from the commit, a view made anew is used by that command but
    not stored (it would hold what is not committed): every form of the output still prints."""
    import shutil

    ids = register_many(cli, 3)
    (path,) = sorted(case_dir(repo, ids[0]).glob("*.age"))
    path.write_bytes(path.read_bytes()[:-10])
    shutil.rmtree(repo / ".cpcm" / "cache" / "amina" / views.FOLDER, ignore_errors=True)
    same(cli, without_views, [("list", "--json"), ("list",), ("list", "--names", "--risk", "high")])
    assert not (repo / ".cpcm" / "cache" / "amina" / views.FOLDER / "list.view").exists()


def test_due_lines_made_in_bulk_are_the_printed_table(cli, cli_as, monkeypatch, without_views):
    """`due` makes a state's lines in bulk from the text the view keeps (service/duelines.py), the
    "when" once per stretch of equal texts, and writes them in pieces: byte for byte what
    `print_table` prints for the same items, in every state, across stretches of hours and of days,
    late and ahead, with covered items and items computed each time among them."""
    from cpcm.service import duelines

    for at in ("2026-11-20T14:37:00+03:00", "2026-11-22T23:05:00+03:00", "2026-11-23T09:00:00+03:00"):
        register_many(cli_as("amina", CPCM_NOW=at), 3)
    covered = register_many(cli_as("amina", CPCM_NOW="2026-11-21T08:10:00+03:00"), 2)
    register_many(cli_as("otieno", CPCM_NOW="2026-11-22T10:20:00+03:00"), 2)
    register_many(cli, 1, child={"name": "Near Eighteen", "sex": "male", "date_of_birth": "2008-12-20", "disability": "no"})
    for case_id in covered:
        assert cli("assign", case_id, "--cover", "otieno", "--until", "2026-12-31").code == 0
    monkeypatch.setattr(duelines, "PIECE", 3)  # many pieces, stretches cut across them
    commands = [("due", *a) for a in (*DUE, ("--within", "0"), ("--within", "30"), ("--overdue",), ("--within", "400"))]
    for now in ("2026-11-23T10:00:00+03:00", "2026-11-24T18:30:00+03:00", "2026-11-26T09:15:00+03:00",
                "2026-12-08T12:00:00+03:00", "2027-02-01T09:00:00+03:00"):
        for worker in ("amina", "otieno", "sup"):
            same(cli_as(worker), without_views, commands, env={"CPCM_NOW": now})
    otieno = cli_as("otieno", CPCM_NOW="2026-11-24T18:30:00+03:00")
    lines = otieno("due", "--within", "30").stdout.splitlines()
    assert any("amina (covered by otieno)" in line for line in lines)  # covered items among otieno's own
    assert any("\totieno\t" in line for line in lines)
    cells = [line.split("\t") for now in ("2026-11-23T10:00:00+03:00", "2026-11-24T18:30:00+03:00", "2026-12-08T12:00:00+03:00")
             for line in cli("due", "--worker", "all", "--within", "400", env={"CPCM_NOW": now}).stdout.splitlines()[1:]]
    assert {c[0] for c in cells} == {"OVERDUE", "target missed", "due soon", "upcoming"}
    whens = {c[4].split()[-1] if c[4].startswith("in ") else c[4].split(" ", 1)[1] for c in cells}
    assert whens == {"h", "days", "h late", "days late"}  # stretches of each kind
    assert len({c[4] for c in cells}) >= 10


def test_due_when_gives_each_text_over_one_interval_of_hours():
    """What lets `due` ask for the "when" once per stretch of items (duelines.DueView._bulk):
    over growing hours, a text once left never comes back."""
    from cpcm.cli.workflow import _when_hours

    seen: list[str] = []
    for step in range(-400_000, 400_000, 7):
        text = _when_hours(step / 100)
        if not seen or seen[-1] != text:
            assert text not in seen, text
            seen.append(text)
    assert "48 h late" in seen and "2 days late" in seen and "in 0 h" in seen and "in 47 h" in seen and "in 2 days" in seen
