"""The cold fill's read path made cheaper without changing what it makes: the JSON encoders made
once (store/cache.py `json_encoder`), the record files listed by name only, the readers checked
once a chunk, each table entry's key and tree made once, a case's record shard found once, the
cache's files written without asking for their folder first, the list view's printed cells
joined at once. Each test holds what is made (the same text as before) and the work left out
(counted, never timed). Names in the records are synthetic."""
from __future__ import annotations

import json
import os
import pathlib
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import library_session, register_many
from test_fill_same_bytes import _old_store  # `fill._store` as it was

from cpcm.domain.case import Case, Entry
from cpcm.service import fill, views
from cpcm.store import atomic, casestore
from cpcm.store import cache as cache_mod
from cpcm.store.layout import CASES, case_dir


@dataclass(frozen=True)
class _Point:
    x: int
    label: str


_VALUES = [
    None, True, False, 0, -7, 10**30, 1.5, -0.0, 1e300, 3.0, "", "plain", 'a "quoted" \\ key', "é\u2028\n\t\x00", "\udc80",
    [], {}, [1, [2, [3, {"a": None}]]], {"b": 1, "a": {"z": [True, "x"]}, "": "empty key"},
    {1: "an int key", 2.5: "a float key", None: "a null key"}, {True: "a boolean key"},
    (1, "a tuple", (2,)), {"nested": (1, 2)}, _Point(3, "p"), [_Point(1, "a"), {"p": _Point(2, "b")}],
    Case(id="CP-TEST-0001", child={"name": "Test Child", "sex": "female"}, concerns=("neglect",),
         history=(Entry("01AAAAAAAAAAAAAAAAAAAAAAAA", "registration", "2026-01-01T10:00:00+03:00", "2026-01-01T07:00:00+00:00",
                        "amina"),), events={"registration": ("2026-01-01T07:00:00+00:00",)}),
]


def _before(default=None, allow_nan=True):
    """The encoder as the code before made it: json's, at every call."""
    return json.JSONEncoder(separators=(",", ":"), default=default, allow_nan=allow_nan).encode


def test_the_encoder_made_once_writes_what_json_writes():
    ours, theirs = cache_mod.json_encoder(default=fill._dataclass_json), _before(default=fill._dataclass_json)
    for value in _VALUES:
        assert ours(value) == theirs(value), value
    for value in (float("nan"), float("inf"), [float("-inf")]):
        assert cache_mod.json_encoder()(value) == _before()(value)  # NaN and the infinities as json writes them
        with pytest.raises(ValueError):
            cache_mod.json_encoder(allow_nan=False)(value)
    for value in (object(), {"a": {1, 2}}, b"bytes", {(1, 2): "a tuple key"}):
        with pytest.raises(TypeError):
            cache_mod.json_encoder()(value)
        with pytest.raises(TypeError):
            _before()(value)
    looped: list = []
    looped.append(looped)
    with pytest.raises(RecursionError):  # json's check says ValueError; either way, no text
        cache_mod.json_encoder()(looped)


_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(10**40), max_value=10**40)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(st.characters(blacklist_categories=())))
_KEYS = st.text(st.characters(blacklist_categories=())) | st.integers() | st.floats() | st.booleans() | st.none()
_JSONISH = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                        | st.dictionaries(_KEYS, inner, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_JSONISH)
def test_any_value_is_written_as_json_writes_it_or_refused_as_json_refuses_it(value):
    for allow_nan in (True, False):
        try:
            expected = _before(allow_nan=allow_nan)(value)
        except ValueError:  # NaN or an infinity, not allowed
            with pytest.raises(ValueError):
                cache_mod.json_encoder(allow_nan=allow_nan)(value)
            continue
        assert cache_mod.json_encoder(allow_nan=allow_nan)(value) == expected


def test_the_table_values_and_the_list_views_text_are_encoded_without_making_an_encoder_each_time(monkeypatch):
    from json import encoder

    views._dumps([])  # the list view's encoder is made at its first use
    made = []
    real = encoder.c_make_encoder
    monkeypatch.setattr(encoder, "c_make_encoder", lambda *a: made.append(a) or real(*a))
    ctx = type("Ctx", (), {"zone": ZoneInfo("Africa/Nairobi")})()
    for value in _VALUES[-1:] * 5:
        fill._values(ctx, value, fill.TABLES)
        fill._Collect(None).put("blob", {"kind": "note", "n": [1, 2]}, "CP-TEST-0001")
        views._dumps(["CP-TEST-0001", ["open", "registered", None, "amina", "2026-01-01", None, None, 1, None, "Test Child"]])
    assert made == []


def test_a_record_the_table_cannot_hold_is_not_collected():
    collect = fill._Collect(None)
    looped: dict = {"kind": "note"}
    looped["self"] = looped
    for loaded in ({"kind": "note", "n": float("nan")}, {"kind": "note", "n": [float("inf")]}, looped, {"kind": {1, 2}}):
        collect.put("blob", loaded, "CP-TEST-0001")
    assert collect.found == []
    collect.put("blob", {"kind": "note", "text": "é"}, "CP-TEST-0001")
    assert collect.found == [("CP-TEST-0001", "blob", '{"kind":"note","text":"\\u00e9"}')]


def test_a_case_folders_record_files_are_listed_by_name_without_an_entry_for_each(tmp_path, monkeypatch):
    folder = tmp_path / "CP-TEST-0001"
    folder.mkdir()
    names = ["01BBBBBBBBBBBBBBBBBBBBBBBB.note.yaml.age", "01AAAAAAAAAAAAAAAAAAAAAAAA.registration.yaml.age"]
    for name in names + ["recipients", ".tmp-0123", "notes.txt", "01AAAAAAAAAAAAAAAAAAAAAAAA.registration.yaml"]:
        (folder / name).write_bytes(b"")
    (folder / "01CCCCCCCCCCCCCCCCCCCCCCCC.note.yaml.age").mkdir()  # a folder so named is listed as before: by its name
    monkeypatch.setattr(casestore.os, "scandir", None)  # not asked for
    assert casestore._record_names(folder) == sorted(names + ["01CCCCCCCCCCCCCCCCCCCCCCCC.note.yaml.age"])
    assert casestore._record_names(str(folder)) == casestore._record_names(folder)
    assert casestore._record_names(tmp_path / "absent") == []
    assert casestore._record_names(folder / "recipients") == []


def test_a_chunk_asks_for_the_worker_once_and_reads_what_each_case_read_alone_reads(cli, monkeypatch):
    ids = register_many(cli, 4)
    root = pathlib.Path(cli.env["CPCM_REPO"])
    (case_dir(root, ids[1]) / "recipients").write_text("someone-else\n")  # not a case this worker reads
    ctx = library_session(cli)
    asked = []
    real = type(ctx).need_worker
    monkeypatch.setattr(type(ctx), "need_worker", lambda self: asked.append(1) or real(self))
    chunk = fill.read_chunk(ctx, ids, fill.TABLES)
    assert len(asked) == 1
    assert [item is not None and item.values is None for item in chunk] == [False, True, False, False]
    for case_id, item in zip(ids, chunk):
        alone = fill.read_one(ctx, case_id, fill.TABLES)
        assert (item.values, item.records) == (alone.values, alone.records)


class _Writer:
    def __init__(self):
        self.texts: list[str] = []

    def add(self, key, value_json):
        self.texts.append(json.dumps(key) + ":" + value_json)

    def add_text(self, entry):
        self.texts.append(entry)


class _Shards(fill.RecordWriters):
    def __init__(self):
        self.writers = {}
        self.made: list[str] = []

    def _writer(self, name):
        self.made.append(name)
        return self.writers.setdefault(name, _Writer())


def test_a_filled_case_is_stored_as_before_its_key_made_once_and_its_records_shard_found_once(monkeypatch):
    values = {"summary": '{"id":"CP-T\\u00c9ST-1"}', "index": '{"id":"CP-T\\u00c9ST-1"}', "rows": '["open",1]'}
    records = [("CP-TÉST-1", f"blob{n}", '{"kind":"note"}') for n in range(3)]
    item = fill.Filled("CP-TÉST-1", values, records)
    unread = fill.Filled("CP-TEST-2", None, [])
    for filled in (item, unread):
        new = {t.name: _Writer() for t in fill.TABLES if t.name != "index"}
        old = {t.name: _Writer() for t in fill.TABLES if t.name != "index"}
        new_shards, old_shards = _Shards(), _Shards()
        quoted = []
        real_quoted = cache_mod.quoted
        monkeypatch.setattr(cache_mod, "quoted", lambda key: quoted.append(key) or real_quoted(key))
        fill._store(filled, "0123abcd", new, {}, new_shards)
        monkeypatch.setattr(cache_mod, "quoted", real_quoted)
        _old_store(filled, "0123abcd", old, {}, old_shards)
        assert {n: w.texts for n, w in new.items()} == {n: w.texts for n, w in old.items()}
        assert {n: w.texts for n, w in new_shards.writers.items()} == {n: w.texts for n, w in old_shards.writers.items()}
        assert quoted == [filled.case_id, "0123abcd"]  # once each, for every table
        assert len(new_shards.made) == (1 if filled.records else 0) and len(old_shards.made) == len(filled.records)
    assert json.loads("{%s}" % new["summary"].texts[0]) == {"CP-TEST-2": {"tree": "0123abcd", "case": None}}


def test_a_cache_file_is_written_without_asking_for_its_folder_and_its_folder_made_when_missing(tmp_path, monkeypatch):
    made = []
    real = pathlib.Path.mkdir
    monkeypatch.setattr(pathlib.Path, "mkdir", lambda self, *a, **k: made.append(self) or real(self, *a, **k))
    target = tmp_path / "cache" / "amina" / "records" / "0a" / "segment.age"
    atomic.write_local(target, b"first")
    assert target.read_bytes() == b"first" and made  # made where it was not
    assert (target.parent.stat().st_mode & 0o777) == 0o700 and (target.stat().st_mode & 0o777) == 0o600
    made.clear()
    atomic.write_local(target.with_name("other.age"), lambda handle: handle.write(b"second"))
    atomic.write_local(target, b"third")
    assert made == []  # the folder is there: not asked for
    assert target.read_bytes() == b"third" and target.with_name("other.age").read_bytes() == b"second"
    assert sorted(os.listdir(target.parent)) == ["other.age", "segment.age"]  # no temp file left
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OSError):
        atomic.write_local(tmp_path / "file" / "segment.age", b"x")  # a file where the folder would be: an error, as before


def _old_list_text(rows):
    pre, born, post, name = [], [], [], []
    exact = True
    for case_id, row in rows:
        status, stage, risk, worker, registered_at, sex, birth, _records, _last, child = row
        for value in (status, stage, risk, worker):
            if value is not None and (not isinstance(value, str) or "\t" in value or "\n" in value):
                exact = False
        pre.append("\t".join((views._cell(case_id), views._cell(status), views._cell(stage), views._cell(risk),
                              views._cell(worker), views._cell(sex))))
        born.append(birth or "")
        post.append(views._cell((registered_at or "")[:10]))
        name.append(views._cell(child))
    return {"pre": "\n".join(pre), "born": "\n".join(born), "post": "\n".join(post), "name": "\n".join(name)}, exact


def test_the_list_views_printed_cells_are_as_before_and_a_plain_rows_joined_at_once(monkeypatch):
    plain = ["CP-TEST-0001", ["open", "registered", "high", "amina", "2026-01-01T10:00:00+03:00", "female", "2010-02-03", 1,
                              None, "Test Child"]]
    odd = [
        ["CP-TEST-0002", ["open", "registered", None, "amina", None, None, None, 2, None, None]],
        ["CP-TEST-0003", ["open", "regis\ttered", "high", "ami\nna", "2026-01-01", "fe\tmale", None, 1, None, "Test\tChild"]],
        ["CP-TEST-0004", ["open", 7, True, "amina", "2026-01-01", 1.5, None, 1, None, "Test Child"]],
        ["CP\tTEST", ["open", "registered", "low", "amina", "2026-01-01", "male", None, 1, None, "Test Child"]],
        ["CP-TEST-0005", ["open", "registered", "low", "amina", "2026-01-01", "ma\nle", None, 1, None, "Test Child"]],
        ["CP-TEST-0006", ["é", "ü", "low", "amina", "2026-01-01", "", None, 1, None, ""]],
    ]
    for rows in ([plain], odd, [plain, *odd], [plain] + odd[-1:]):
        assert views._list_text(rows) == _old_list_text(rows)
    cells = []
    real = views._cell
    monkeypatch.setattr(views, "_cell", lambda value: cells.append(value) or real(value))
    views._list_text([plain] * 3)
    assert len(cells) == 3 * 2  # the registered date and the name; the line's six cells joined at once


def test_a_fill_on_worker_processes_reads_its_first_case_here_first_and_stores_what_it_stored_without(cli, few, monkeypatch):
    """The warm-up before the workers are forked (`fill._warm_up`): one case read in the parent,
    what it made dropped; the tables and what `list` prints the same as a fill without it."""
    import shutil

    from cpcm.store import parallel
    from test_fill_same_bytes import _tables

    ids = register_many(cli, 6)
    assert cli("note", ids[0], "--text", "visited the family").code == 0
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    cache = pathlib.Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache"
    here: list[list[str]] = []
    real = fill.read_chunk
    monkeypatch.setattr(fill, "read_chunk", lambda ctx, case_ids, *a, **k: here.append(list(case_ids)) or real(ctx, case_ids, *a, **k))
    shutil.rmtree(cache, ignore_errors=True)
    warm = (cli("list").stdout, _tables(cli))
    assert len(here) == 1 and len(here[0]) == 1  # read here: one case, once (the workers' reads are theirs)
    monkeypatch.setattr(fill, "_warm_up", lambda *args: None)
    shutil.rmtree(cache, ignore_errors=True)
    cold = (cli("list").stdout, _tables(cli))
    assert len(here) == 1
    # a line a case (an ID may hold "CP-" again inside: CP-ZACP-4XTF)
    assert warm == cold and sum(line.startswith("CP-") for line in warm[0].splitlines()) == 6


def test_the_warm_up_reads_nothing_while_a_write_is_under_way_and_never_pins_the_last_commit(cli, monkeypatch):
    """`fill._warm_up` reads as a worker reads a chunk (`read_steady`), so a write under way, or
    one that starts while it reads, leaves the parent's store as it was (not pinned to the last
    commit for the rest of the command, as a read checked case by case would leave it)."""
    ids = register_many(cli, 3)
    root = pathlib.Path(cli.env["CPCM_REPO"])
    ctx = library_session(cli)
    trees = ctx.store.versions(CASES)
    read = []
    real = fill.read_chunk
    monkeypatch.setattr(fill, "read_chunk", lambda c, case_ids, *a, **k: read.append(list(case_ids)) or real(c, case_ids, *a, **k))
    fill._warm_up(ctx, ctx.store.generation(), None, trees, [], [ids])
    assert read == [ids[:1]] and ctx.store.view is None
    with casestore.CaseStore(root).transaction("note", "amina", "amina", "amina@test.invalid"):  # a write under way
        fill._warm_up(ctx, ctx.store.generation(), None, trees, [], [ids])
        assert read == [ids[:1]] and ctx.store.view is None  # nothing read
    writer = casestore.CaseStore(root).transaction("note", "amina", "amina", "amina@test.invalid")
    started = []
    real_places = casestore.CaseStore._places_live
    monkeypatch.setattr(casestore.CaseStore, "_places_live",
                        lambda store, *a: started.append(writer.__enter__()) or real_places(store, *a))
    basis = ctx.store.generation()
    try:  # a write that starts while it reads
        fill._warm_up(ctx, basis, None, trees, [], [ids])
    finally:
        writer.__exit__(None, None, None)
    assert started and len(read) == 2 and ctx.store.view is None
