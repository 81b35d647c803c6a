"""The cold fill's reading (service/fill.py, store/casestore.py `read_steady`): a chunk of cases
is read from the working tree with the write generation checked once around it, and a write
that starts meanwhile is still caught (the chunk is read again from the last commit, and not
stored); and a fill writes a table whose many segments are all of an earlier version."""
from __future__ import annotations

import json
import pathlib

import pytest

from conftest import library_session, register_many

import cpcm.service
from cpcm.crypto import identity
from cpcm.service import context, fill
from cpcm.store import cache as cache_mod
from cpcm.store import casestore, lock, memo
from cpcm.store.layout import CASES, case_dir


def _cache_dir(cli) -> pathlib.Path:
    return pathlib.Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / "amina"


def _keys(cli):
    return identity.load(pathlib.Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys


def _folded(cli) -> dict[str, dict]:
    """Every case folded from its files, one by one, as JSON (no cache)."""
    ctx = library_session(cli)
    ctx.store.record_cache = None
    return {case_id: json.loads(fill.dumps(context.load_case(ctx, case_id))) for case_id in ctx.store.case_ids()}


def _job(cli, ids):
    """A fill's chunk job (what a worker process runs) over `ids`, in this process."""
    ctx = library_session(cli)
    trees = ctx.store.versions(CASES)
    return ctx, fill._chunk_job(ctx, ctx.store.generation(), None, trees, ["due", "statistics"])


def test_a_chunk_is_read_with_the_generation_read_twice_and_equals_the_cases_folded_one_by_one(cli, monkeypatch):
    ids = register_many(cli, 5)
    expected = _folded(cli)
    ctx, job = _job(cli, ids)
    reads = []
    real = lock.generation
    monkeypatch.setattr(casestore, "generation", lambda path: reads.append(path) or real(path))
    done = job(ids)
    assert len(reads) == 2  # once before the chunk, once after: not around each case's reads
    assert [item.case_id for item in done] == ids and all(item.keep for item in done)
    assert {item.case_id: json.loads(item.values["summary"]) for item in done} == {c: expected[c] for c in ids}


def test_a_write_that_starts_during_a_chunk_is_caught_and_the_chunk_read_from_the_last_commit(cli, monkeypatch):
    """The seqlock around a chunk: a writer that starts after the chunk's first case and leaves a
    damaged file in a later case's folder sends the chunk to the last commit; nothing is kept."""
    ids = register_many(cli, 4)
    expected = _folded(cli)
    ctx, job = _job(cli, ids)
    root = pathlib.Path(cli.env["CPCM_REPO"])
    victim = sorted(case_dir(root, ids[2]).glob("*.yaml.age"))[0]
    writer = casestore.CaseStore(root).transaction("note", "amina", "amina", "amina@test.invalid")
    real = casestore.CaseStore._places_live
    started = []

    def places(store, case_id, *args):
        if case_id == ids[1] and not started:  # a writer starts between the chunk's first and second case
            started.append(writer.__enter__())
            writer.replace_file(writer.store.rel(victim), b"age-encryption.org/v1\n-> X25519 half")
        return real(store, case_id, *args)

    monkeypatch.setattr(casestore.CaseStore, "_places_live", places)
    try:
        done = job(ids)
    finally:
        writer.__exit__(None, None, None)
    assert started and ctx.store.view is not None  # read again from the last commit
    assert [getattr(item, "case_id", item) for item in done] == ids
    assert not any(item.keep for item in done)  # the generation moved: used, never stored
    assert {item.case_id: json.loads(item.values["summary"]) for item in done} == {c: expected[c] for c in ids}


def test_a_fill_stores_nothing_of_a_chunk_read_while_a_write_started(cli, monkeypatch):
    """The whole fill (its chunks run here): cases read before a write started are stored, the
    chunk the write started in and those after it are used, not stored."""
    ids = register_many(cli, 6)
    expected = _folded(cli)
    monkeypatch.setattr(fill, "CHUNK", 3)
    ctx = library_session(cli)
    root = pathlib.Path(cli.env["CPCM_REPO"])
    cache = ctx.store.summaries("amina", ctx.identity.recipient, ctx.keys, context.fold_fingerprint())
    writer = casestore.CaseStore(root).transaction("note", "amina", "amina", "amina@test.invalid")
    real = casestore.CaseStore._places_live
    started = []

    def places(store, case_id, *args):
        if case_id == ids[4] and not started:  # in the second chunk
            started.append(writer.__enter__())
        return real(store, case_id, *args)

    monkeypatch.setattr(casestore.CaseStore, "_places_live", places)
    try:
        done = list(fill.fill(ctx, cache, ctx.store.versions(CASES), ids, spread=False))
    finally:
        writer.__exit__(None, None, None)
    assert started and [item.case_id for item in done] == ids
    assert [item.keep for item in done] == [True] * 3 + [False] * 3
    assert {item.case_id: json.loads(item.values["summary"]) for item in done} == expected
    stored = cache_mod.Table(_cache_dir(cli) / "summary", "", _keys(cli), context.fold_fingerprint()).load().entries
    assert sorted(stored) == sorted(ids[:3])


def test_a_cold_fill_writes_a_table_whose_many_segments_are_all_of_an_earlier_version(cli, few, monkeypatch):
    """After an upgrade that changes the fold, the summary table may hold more segments than a
    fill appends to (`PILE_UP`), all of them unusable: the fill drops them and writes the table."""
    ids = register_many(cli, 4)
    ctx = library_session(cli)
    expected = {c.id: json.loads(fill.dumps(c)) for c in cpcm.service.list_(ctx)}
    folder = _cache_dir(cli) / "summary"
    for old in folder.glob("*.age"):
        old.unlink()
    for n in range(fill.PILE_UP + 2):  # an earlier fold's table, in many segments
        writer = cache_mod.Appender(folder, ctx.identity.recipient, "an earlier fold")
        writer.add(ids[n % len(ids)], json.dumps({"tree": "0" * 40, "case": {"id": ids[n % len(ids)]}}))
        writer.flush()
    for name in ("rows", "index"):  # and the row table gone: `list` fills cold
        for old in (_cache_dir(cli) / name).glob("*.age"):
            old.unlink()
    assert cli("list").code == 0
    summary = cache_mod.Table(folder, "", _keys(cli), context.fold_fingerprint()).load()
    assert {k: v["case"] for k, v in summary.entries.items()} == expected  # written by the fill
    assert len(summary.files) < fill.PILE_UP  # the earlier version's segments are gone
    read = []
    real = fill.read_one
    monkeypatch.setattr(fill, "read_one", lambda ctx_, case_id, *a, **k: read.append(case_id) or real(ctx_, case_id, *a, **k))
    assert {c.id for c in cpcm.service.list_(library_session(cli))} == set(ids)
    assert read == []  # the summaries are all there: no case read again


def test_read_steady_raises_a_damaged_read_only_when_no_write_moved_the_generation(cli):
    from cpcm.errors import Corrupt

    register_many(cli, 1)
    root = pathlib.Path(cli.env["CPCM_REPO"])
    store = casestore.CaseStore(root)
    basis = store.generation()

    def damaged():
        raise Corrupt("cases/X is damaged", "cases/X")
    with pytest.raises(Corrupt):
        store.read_steady(damaged, basis)
    writer = casestore.CaseStore(root).transaction("note", "amina", "amina", "amina@test.invalid")

    def damaged_while_written():
        writer.__enter__()  # a write starts: what was read is not to be trusted, nor its error
        raise Corrupt("cases/X is damaged", "cases/X")
    try:
        assert store.read_steady(damaged_while_written, basis) == (None, False)
    finally:
        writer.__exit__(None, None, None)
    assert store.read_steady(lambda: "read", basis) == (None, False)  # the generation moved since `basis`
    assert store.read_steady(lambda: "read", store.generation()) == ("read", True)


def test_plain_json_says_of_nested_values_what_json_would_change():
    from datetime import date

    class Text(str):
        pass

    plain = cache_mod.plain_json
    assert plain({"a": [{"b": [1, "x", None, True, {"c": 2.5}]}], Text("k"): Text("v")})
    for changed in ({"a": [{"b": [1, (2, 3)]}]}, {"a": [{"b": {1: "x"}}]}, {"a": [[float("inf")]]},
                    [{"when": date(2026, 1, 1)}], {"a": {"b": {"c": {None: 1}}}}, [[[float("nan")]]]):
        assert not plain(changed), changed


def test_a_chunk_read_a_step_at_a_time_gives_what_each_case_read_alone_gives(cli, monkeypatch):
    """`read_chunk` (each step for every case of the chunk: the store's `read_many`, the folds, the
    values, the due and statistics entries) against `read_one` of each case: the same values,
    records and entries; a case the worker cannot read, and a damaged one, as `read_one` has them."""
    ids = register_many(cli, 6)
    for case_id in ids[:3]:
        assert cli("note", case_id, "--text", "visited the family").code == 0
    root = pathlib.Path(cli.env["CPCM_REPO"])
    (case_dir(root, ids[3]) / "recipients").write_text("someone-else\n")  # not a case this worker reads
    damaged = sorted(case_dir(root, ids[4]).glob("*.yaml.age"))[0]
    damaged.write_bytes(b"age-encryption.org/v1\n-> X25519 half")
    ctx, job = _job(cli, ids)
    trees = ctx.store.versions(CASES)
    kinds = ["due", "statistics"]
    memo.RECORDS.clear()  # nothing decrypted before in this process: every record read afresh, and collected
    steps = []
    for name, module in (("decrypt", casestore.cipher), ("loads_plain", casestore.codec)):
        real_step = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real_step, _name=name, **k: steps.append(_name) or _real(*a, **k))

    chunk = fill.read_chunk(ctx, ids, fill.TABLES, None, kinds, trees)
    assert "decrypt" not in steps[steps.index("loads_plain"):]  # every file decrypted before the first is parsed
    assert chunk[4] is None  # left to `read_one`, which says why
    with pytest.raises(context.Corrupt):
        fill.read_one(ctx, ids[4], fill.TABLES, kinds=kinds, tree=trees[ids[4]])
    for case_id, filled in zip(ids, chunk):
        if case_id == ids[4]:
            continue
        memo.RECORDS.clear()
        alone = fill.read_one(ctx, case_id, fill.TABLES, kinds=kinds, tree=trees[case_id])
        assert (filled.values, filled.records, filled.rows) == (alone.values, alone.records, alone.rows), case_id
        assert (filled.values is None) == (case_id == ids[3])
        assert len(filled.records) == (2 if case_id in ids[:3] else 0 if case_id == ids[3] else 1)
    assert [getattr(item, "case_id", item) for item in job(ids)] == ids[:4] + [ids[4]] + ids[5:]  # the damaged one by id


def test_a_case_named_twice_is_read_once(cli):
    ids = register_many(cli, 2)
    assert cli("note", ids[0], "--text", "visited the family").code == 0
    ctx = library_session(cli)
    read = ctx.store.read_many([ids[0], ids[1], ids[0]], ctx.keys)
    assert list(read) == ids and [len(records) for records in read.values()] == [2, 1]
    assert read[ids[0]] == ctx.store.read_records(ids[0], ctx.keys)


def test_a_group_where_a_step_raised_is_read_case_by_case_and_the_other_groups_are_not(cli, monkeypatch):
    ids = register_many(cli, 5)
    ctx, job = _job(cli, ids)
    monkeypatch.setattr(fill, "STAGED", 2)
    real_fold, real_one = fill.fold, fill.read_one
    once: list[str] = []

    def fold(case_id, records):
        if case_id == ids[4] and not once:  # the last group's fold fails once: read again on its own
            once.append(case_id)
            raise ValueError("a step raised")
        return real_fold(case_id, records)
    alone: list[str] = []
    monkeypatch.setattr(fill, "fold", fold)
    monkeypatch.setattr(fill, "read_one", lambda ctx_, case_id, *a, **k: alone.append(case_id) or real_one(ctx_, case_id, *a, **k))
    done = job(ids)
    assert alone == [ids[4]]  # the groups (0, 1) and (2, 3) kept what they read a step at a time
    assert [item.case_id for item in done] == ids and all(item.values is not None and item.keep for item in done)
