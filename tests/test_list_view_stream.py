"""The list view made and printed a batch at a time (service/views.py): rows kept as one text each
while they are put in order, the rows file and the printed sections made as the rows pass, the
lines printed a few thousand at a time; a view of another tag read no further than its head.
What `list` prints is compared with the list computed without views, byte for byte; no time or
memory is measured here."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyrage import x25519

from conftest import Cli, register, register_many
from cpcm.service import context, fill, views
from cpcm.service import tables as tables_mod
from cpcm.store import cache as cache_mod
from cpcm.store.layout import case_rel
from test_views import LIST, same


def _folder(cli: Cli) -> Path:
    return Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / "amina"


@pytest.fixture
def batches_of_two(monkeypatch):
    """Two rows a batch: every list of a few cases is laid out, written and printed in several."""
    monkeypatch.setattr(views, "LINES", 2)


def test_a_list_made_and_printed_in_batches_is_the_list_printed_whole(cli, without_views, batches_of_two):
    ids = register_many(cli, 4, child={"name": "Tab\tIn Name", "sex": "female", "date_of_birth": "2016-11-23"})
    register(cli, child={"name": "No Birth", "sex": "male", "age_estimate": 7})
    commands = [("list", *a) for a in LIST] + [("list", "--names", "--worker", "amina")]
    shutil.rmtree(_folder(cli) / views.FOLDER, ignore_errors=True)
    same(cli, without_views, commands)  # made anew, then read from the view
    assert cli("note", ids[1], "--text", "visited").code == 0
    register(cli, child={"name": "Later Child", "sex": "female", "date_of_birth": "2012-05-05"})
    same(cli, without_views, commands)  # brought up to date: the changed rows merged into the rows file's
    shutil.rmtree(_folder(cli), ignore_errors=True)
    same(cli, without_views, commands)  # a cold cache


def test_one_row_with_empty_values_is_printed_as_its_line():
    """A view of one row whose "born" and "name" sections are empty texts prints the row (an empty
    section of one row is one empty line, not no line), filtered or not, in batches or not."""
    from datetime import date

    texts = {"pre": "CP-1\topen\tregistered\thigh\tamina\tfemale", "born": "", "post": "2024-01-01", "name": ""}
    for filters in ((None, None, None, None), ("open", None, None, None)):
        view = views.ListView({"exact": True}, texts.__getitem__, lambda: [], date(2026, 12, 1), True, filters)
        assert len(view) == 1
        assert "".join(view.plain_text("h")) == "h\nCP-1\topen\tregistered\thigh\tamina\tfemale\t\t2024-01-01\t\n"


@pytest.mark.parametrize("whole", [False, True], ids=["a segment at a time", "read whole"])
def test_the_row_table_gives_each_row_shaped_as_it_is_read(cli, monkeypatch, whole):
    """`fill.rows_of(..., shape=)` keeps `shape(case id, row)` of every row, whether read from the
    table, made by a cold fill and read back, or with the table read whole: the list view holds
    no list of values per case while it sorts them."""
    monkeypatch.setattr(fill, "FILL_FROM", 2)
    monkeypatch.setattr(tables_mod, "BULK_FROM", 2)
    monkeypatch.setattr(context, "PREFETCH_FROM", 2)
    if whole:
        monkeypatch.setattr(cache_mod, "MERGE_FROM", 1)
    register_many(cli, 5)
    from conftest import library_session
    from cpcm.store.layout import CASES

    def both():
        ctx = library_session(cli)
        worker = ctx.need_worker()
        cache = ctx.store.summaries(worker.id, ctx.identity.recipient, ctx.keys, context.fold_fingerprint())
        trees, ids = ctx.store.versions(CASES), ctx.store.case_ids()
        shaped = fill.rows_of(ctx, cache, trees, ids, shape=lambda case_id, row: ("shaped", case_id, json.dumps(row)))
        return shaped, fill.rows_of(ctx, cache, trees, ids)

    for _ in range(2):  # cold (filled, then read back), then from the table
        shutil.rmtree(_folder(cli), ignore_errors=True) if _ == 0 else None
        shaped, plain = both()
        assert len(plain) == 5
        assert shaped == {case_id: ("shaped", case_id, json.dumps(row)) for case_id, row in plain.items()}


def test_the_made_anew_list_keeps_one_text_per_row(cli, without_views, monkeypatch):
    register_many(cli, 3)
    kept: list = []
    original = fill.rows_of

    def spy(*args, **kw):
        found = original(*args, **kw)
        kept.append(list(found.values()))
        return found
    monkeypatch.setattr(fill, "rows_of", spy)
    shutil.rmtree(_folder(cli) / views.FOLDER, ignore_errors=True)
    assert cli("list").code == 0
    (values,) = kept
    assert len(values) == 3 and all(type(value) is str for value in values)
    same(cli, without_views, [("list",)])


ROWS = [
    ("CP-1", [None, None, None, None, "2024-01-01T09:00:00+03:00", None, None, 1, None, None]),
    ("CP-10", [None, None, None, None, "2024-01-01T09:00:00+03:00", None, None, 1, None, None]),
    ("CP-2", [None, None, None, None, "2024-01-01", None, None, 1, None, None]),
    ("CP-3", [None, None, None, None, "2024", None, None, 1, None, None]),
    ("CP-4", [None, None, None, None, None, None, None, 1, None, None]),
    ("CP-5", [None, None, None, None, "", None, None, 1, None, None]),
    ("CP-0", [None, None, None, None, "2024-01-01T09:00:00+03:00", None, None, 1, None, "Ẓ𝔘 name"]),
    ("CP-6", [None, None, None, None, "2024-\u00e9", None, None, 1, None, None]),
    ("CP-7", [None, None, None, None, "2023-12-31T23:59:59+03:00", None, None, 1, None, None]),
    ("CP-11", [None, None, None, None, "2024\x01x", None, None, 1, None, None]),
    ("CP-12", [None, None, None, None, "2024\tx", None, None, 1, None, None]),
]


@pytest.mark.parametrize("rows", [ROWS, ROWS + [("CP-8", [None, None, None, None, "2024\0odd", None, None, 1, None, None]),
                                                 ("CP-9", [None, None, None, None, "2024", None, None, 1, None, None])]],
                         ids=["texts", "a NUL in a key"])
def test_rows_kept_as_texts_come_in_the_order_of_the_sort_key(rows):
    expected = [views._dumps(item) for item in sorted([[c, r] for c, r in rows], key=views._sort_key)]
    packed = [views._packed(c, r) for c, r in reversed(rows)]
    got = list(views._in_order(packed))
    assert [text for _item, text in got] == expected
    assert [item for item, _text in got] == [json.loads(text) for text in expected]
    assert packed == []  # emptied as read


def test_a_rows_file_is_read_one_row_at_a_time_as_written():
    rows = [[c, r] for c, r in ROWS]
    data = views._dumps(rows).encode()
    assert [item for item, _text in views._items(memoryview(data))] == rows
    assert [text for _item, text in views._items(memoryview(data))] == [views._dumps(item) for item in rows]
    assert list(views._items(memoryview(b"[]"))) == [] and list(views._items(memoryview(b" [ ] "))) == []
    assert [item for item, _text in views._items(memoryview(json.dumps(rows, indent=1).encode()))] == rows  # spaced too
    layout = views._Layout()
    assert b"".join(views._passed(views._items(memoryview(data)), layout)) == data
    assert layout.count == len(rows) and layout.texts() == {**views._list_text(rows)[0], "key": "\n".join(views._keys(rows))}


def test_a_view_of_another_tag_is_read_no_further_than_its_head(tmp_path, monkeypatch):
    identity = x25519.Identity.generate()
    path = tmp_path / "list.view"
    body = bytes(range(256)) * 8192  # 2 MB
    views.write_view(path, str(identity.to_public()), {"version": views.VERSION, "tag": "old", "stamp": "s"}, [body])
    given: list[int] = []
    original = views._Plain.write
    monkeypatch.setattr(views._Plain, "write", lambda self, chunk: given.append(len(chunk)) or original(self, chunk))
    assert views.read_view(path, [identity], "new") is None
    assert 0 < sum(given) < 1 << 20  # stopped at the head's chunk: not decrypted whole
    given.clear()
    head, data = views.read_view(path, [identity], "old")
    assert head["stamp"] == "s" and bytes(data) == body and sum(given) > len(body)
    head, data = views.read_view(path, [identity])
    assert bytes(data) == body
    assert views.read_view(path, [x25519.Identity.generate()], "old") is None  # not ours
    path.write_bytes(path.read_bytes()[:-100])
    assert views.read_view(path, [identity], "old") is None  # cut short: damaged


def _due_table(cli: Cli) -> tuple[dict, set[str]]:
    """The due table as loaded whole (each key's newest entry), and its segments' names."""
    keys = context.identity_mod.load(Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys
    folder = _folder(cli) / "due"
    names = {p.name for p in folder.glob("*.age")}
    tags = {json.loads(views.cipher.decrypt((folder / n).read_bytes(), keys))["tag"] for n in names}
    (tag,) = tags
    return cache_mod.Table(folder, "", keys, tag).load().entries, names


def test_due_merges_the_due_table_when_a_view_made_anew_finds_it_in_many_segments(cli, repo, without_views, monkeypatch):
    """Each view made anew that misses a case appends a segment to the due table; when they are
    `MERGE_FROM` (and more than the table's size fills), `due` merges them as it reads them: the
    same entries (each key's newest) in fewer segments, a case gone from the folder left out, and
    the same `due` after."""
    from conftest import git

    monkeypatch.setattr(cache_mod, "MERGE_FROM", 4)
    ids = register_many(cli, 4)
    commands = [("due",), ("due", "--worker", "all"), ("due", "--json")]
    same(cli, without_views, commands)
    counts = []
    for n in range(3):  # a case changed, the view made anew: a segment appended for it
        assert cli("note", ids[n], "--text", "visited").code == 0
        shutil.rmtree(_folder(cli) / views.FOLDER)
        assert cli("due", "--worker", "all").code == 0
        counts.append(len(_due_table(cli)[1]))
    assert counts == [2, 3, 1]  # merged on the fourth segment
    entries, _names = _due_table(cli)
    assert {k for k in entries if not k.startswith(tables_mod.TEXT)} == set(ids)
    same(cli, without_views, commands)
    before = _due_table(cli)[0]
    git(repo, "rm", "-r", "-q", case_rel(ids[3]))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "remove a case folder")
    counts = []
    for n in range(2):
        assert cli("note", ids[n], "--text", "again").code == 0
        shutil.rmtree(_folder(cli) / views.FOLDER)
        assert cli("due", "--worker", "all").code == 0
        counts.append(len(_due_table(cli)[1]))
    assert counts == [3, 1]  # the case's rows and the deletion of the case gone; then merged
    entries, names = _due_table(cli)
    assert {k for k in entries if not k.startswith(tables_mod.TEXT)} == set(ids[:3])
    assert all(entries[k] == before[k] for k in entries if k.startswith(tables_mod.TEXT) and k in before)
    same(cli, without_views, commands)


def test_a_due_table_merge_that_cannot_write_leaves_the_table_as_it_was(cli, without_views, monkeypatch):
    from cpcm.service import dueview

    ids = register_many(cli, 3)
    assert cli("due").code == 0
    assert cli("note", ids[0], "--text", "visited").code == 0
    shutil.rmtree(_folder(cli) / views.FOLDER)
    assert cli("due").code == 0
    entries, names = _due_table(cli)
    assert len(names) >= 2
    monkeypatch.setattr(cache_mod, "MERGE_FROM", 2)
    original = cache_mod.write_segment
    written = []

    def full(folder, recipient, payload):
        if folder.name == "due":
            if written:
                raise OSError(28, "No space left on device")
            written.append(original(folder, recipient, payload))  # the first segment of the merge, then the disk is full
            return written[-1]
        return original(folder, recipient, payload)
    merged = []
    real_merge = dueview.merge_due_table
    monkeypatch.setattr(dueview, "merge_due_table", lambda ctx, session: merged.append(real_merge(ctx, session)) or merged[-1])
    appender = cache_mod.Appender
    monkeypatch.setattr(cache_mod, "Appender", lambda folder, recipient, tag, limit=None: appender(folder, recipient, tag, 200))
    monkeypatch.setattr(cache_mod, "write_segment", full)
    shutil.rmtree(_folder(cli) / views.FOLDER)
    same(cli, without_views, [("due", "--worker", "all")])
    assert merged == [False] and len(written) == 1
    assert _due_table(cli) == (entries, names)  # the segment written removed, the others kept
    monkeypatch.setattr(cache_mod, "write_segment", original)
    monkeypatch.setattr(cache_mod, "Appender", appender)
    shutil.rmtree(_folder(cli) / views.FOLDER)
    same(cli, without_views, [("due", "--worker", "all")])
    assert merged[-1] is True and _due_table(cli)[0] == entries


def test_a_cold_fill_hands_its_freed_memory_back_once_it_ends(cli, monkeypatch):
    """A cold fill on every core gives back what it freed (`fill.give_back`) when it ends, before
    the list reads its rows back and lays them out; a fill of a few cases in the command's own
    process does not."""
    monkeypatch.setattr(fill, "FILL_FROM", 2)
    monkeypatch.setattr(tables_mod, "BULK_FROM", 2)
    monkeypatch.setattr(context, "PREFETCH_FROM", 2)
    ids = register_many(cli, 4)
    given: list[str] = []
    original = fill.give_back
    monkeypatch.setattr(fill, "give_back", lambda: given.append("given") or original())
    read_back = []
    newest = cache_mod.newest_entries
    monkeypatch.setattr(cache_mod, "newest_entries", lambda table, *a: read_back.append(list(given)) or newest(table, *a))
    shutil.rmtree(_folder(cli))
    assert {r["case_id"] for r in cli("list", "--json").json()} == set(ids)
    assert given == ["given"] and read_back and read_back[0] == ["given"]  # given back before the rows are read back
    assert cli("note", ids[0], "--text", "visited").code == 0
    shutil.rmtree(_folder(cli) / views.FOLDER)
    assert cli("list").code == 0 and given == ["given"]  # one case read again: no fill on every core
    original()  # callable where the C library has it, a no-op elsewhere


def test_the_due_view_columns_are_read_in_place_in_its_bytes(cli):
    """`dueview.ViewBody` reads each column in the view's bytes (no copy of it), giving the values
    the arrays it was written from hold."""
    from array import array

    from cpcm.service import dueview

    register_many(cli, 3)
    assert cli("due", "--worker", "all").code == 0
    keys = context.identity_mod.load(Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys
    head, data = views.read_view(_folder(cli) / views.FOLDER / "due.view", keys)
    body = dueview.ViewBody(head["body"], data)
    assert body.items["due"] and body.items["case"]
    for name, column in body.items.items():
        start, end = head["body"]["sections"][name]
        copied = array(column.format)
        copied.frombytes(bytes(data[start:end]))
        assert column.obj is data.obj and list(column) == list(copied), name  # the file's buffer, not a copy


def test_a_view_brought_up_to_date_that_cannot_be_written_reads_only_the_changed_cases(cli, without_views, monkeypatch):
    ids = register_many(cli, 4)
    assert cli("list").code == 0  # the view of this commit
    assert cli("note", ids[2], "--text", "visited").code == 0
    anew: list = []
    real_rows_of = fill.rows_of
    monkeypatch.setattr(fill, "rows_of", lambda *a, **kw: anew.append(1) or real_rows_of(*a, **kw))
    real_write = views.write_view

    def full_disk(path, *args, **kw):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(views, "write_view", full_disk)
    printed = cli("list")
    assert anew == []  # not made anew from every case: the kept rows and the changed case
    monkeypatch.setattr(fill, "rows_of", real_rows_of)
    expected = without_views(cli, "list")
    assert (printed.code, printed.stdout, printed.stderr) == (expected.code, expected.stdout, expected.stderr)
    monkeypatch.setattr(views, "write_view", real_write)
    same(cli, without_views, [("list",)])
