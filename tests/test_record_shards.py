"""The record table is sharded by case (`cache.record_shard`): a fill reads whole shards in a
chunk, so a worker holds one small shard at a time, and an upgrade that changes the fold
refolds every case from the records as parsed, without decrypting one, however large the table."""
from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

from conftest import library_session, register_many
from test_table_rebuild import _folder, drop

from cpcm.service import fill
from cpcm.store import cache as cache_mod
from cpcm.store import parallel
from cpcm.store.cache import RecordCache, record_shard
from cpcm.store.casestore import CaseStore

IDS = [f"CP-{n:04d}-{n * 7 % 10000:04d}" for n in range(3000)]


def test_a_fill_on_every_core_reads_whole_shards_in_a_chunk():
    chunks = fill.chunks_of(IDS, spread=True)
    assert sorted(c for chunk in chunks for c in chunk) == sorted(IDS)  # each case once
    assert all(len(chunk) >= fill.CHUNK for chunk in chunks[:-1])
    shard_chunks: dict[str, set[int]] = {}
    for n, chunk in enumerate(chunks):
        for case_id in chunk:
            shard_chunks.setdefault(record_shard(case_id), set()).add(n)
    assert all(len(found) == 1 for found in shard_chunks.values())  # a shard in one chunk
    assert len(shard_chunks) == cache_mod.RECORD_SHARDS


def test_a_large_shard_is_read_in_pieces_and_a_fill_here_keeps_the_order(monkeypatch):
    monkeypatch.setattr(fill, "LARGEST_CHUNK", 4)
    chunks = fill.chunks_of(IDS, spread=True)
    assert sorted(c for chunk in chunks for c in chunk) == sorted(IDS)
    assert max(len(chunk) for chunk in chunks) < fill.CHUNK + 4
    here = fill.chunks_of(IDS[:40], spread=False)
    assert [c for chunk in here for c in chunk] == IDS[:40] and [len(c) for c in here] == [16, 16, 8]


def _table(tmp_path: Path) -> tuple[RecordCache, list[str]]:
    from pyrage import x25519

    key = x25519.Identity.generate()
    table = RecordCache(tmp_path / "records", str(key.to_public()), [key])
    a, b = "CP-0001-0001", next(c for c in IDS if record_shard(c) != record_shard("CP-0001-0001"))
    table.put("1" * 40, {"n": 1}, a)
    table.put("2" * 40, {"n": 2}, b)
    table.save()
    return RecordCache(tmp_path / "records", str(key.to_public()), [key]), [a, b]


def test_lookup_holds_one_shard_loaded(tmp_path):
    table, (a, b) = _table(tmp_path)
    assert table.lookup("1" * 40, a) == {"n": 1}
    assert table.lookup("2" * 40, b) == {"n": 2}
    assert list(table.shards) == [record_shard(b)]  # a's shard let go
    assert table.lookup("1" * 40, b) is None  # looked up in the case's shard only
    table.put("3" * 40, {"n": 3}, b)
    assert table.lookup("1" * 40, a) == {"n": 1}
    assert set(table.shards) == {record_shard(a), record_shard(b)}  # a shard with changes is kept to be saved


def test_the_record_table_of_earlier_versions_by_blob_id_is_removed(tmp_path):
    table, (a, _) = _table(tmp_path)
    folder = tmp_path / "records"
    for digit in "0123456789abcdef":  # the shards of earlier versions
        (folder / digit).mkdir()
        (folder / digit / "00000000000000000001-1-abcdef.age").write_bytes(b"old")
    kept = table.shard(record_shard(a)).folder
    again = RecordCache(folder, table.recipient, table.keys)
    assert not any((folder / digit).exists() for digit in "0123456789abcdef")
    assert kept.is_dir() and again.get("1" * 40, a) == {"n": 1}


def test_an_upgrade_that_changes_the_fold_refolds_on_every_core_without_decrypting(cli, few, monkeypatch):
    """The summaries, index, rows and views made by other code (as after an upgrade): the next
    `list` folds every case again from the record table, in worker processes that decrypt no
    record and hold one shard of the table at a time, and lists what it listed before."""
    register_many(cli, 12)
    for case_id in [c["case_id"] for c in cli("list", "--json").json()][:3]:
        assert cli("note", case_id, "--text", "visited").code == 0
    drop(cli, "summary", "index", "rows", "views", "due", "statistics", "records")
    expected = cli("list", "--json", "--names").json()  # a cold fill: the record table written
    assert len(expected) == 12
    assert len(list((_folder(cli) / "records").glob("*/*.age"))) == len({record_shard(c["case_id"]) for c in expected})
    drop(cli, "summary", "index", "rows", "views", "due", "statistics")

    decrypted = multiprocessing.Value("i", 0)  # shared with the forked workers
    held = multiprocessing.Value("i", 0)
    workers = multiprocessing.Value("i", 0)
    parent = multiprocessing.current_process().pid
    real_decrypt, real_lookup = CaseStore._decrypt, RecordCache.lookup

    def counted_decrypt(self, *args):
        with decrypted.get_lock():
            decrypted.value += 1
        return real_decrypt(self, *args)

    def counted_lookup(self, blob, case_id):
        found = real_lookup(self, blob, case_id)
        if multiprocessing.current_process().pid != parent:
            with workers.get_lock():
                workers.value += 1
        with held.get_lock():
            held.value = max(held.value, len([s for s in self.shards.values() if s.loaded]))
        return found

    monkeypatch.setattr(CaseStore, "_decrypt", counted_decrypt)
    monkeypatch.setattr(RecordCache, "lookup", counted_lookup)
    assert cli("list", "--json", "--names").json() == expected
    assert decrypted.value == 0
    assert held.value == 1
    if parallel.workers() > 1:
        assert workers.value >= 12  # looked up in the worker processes
    assert cli("due", "--worker", "all").code == 0
    assert decrypted.value == 0


def test_a_case_read_after_a_write_is_kept_in_its_shard(cli):
    case_id = register_many(cli, 1)[0]
    shutil.rmtree(_folder(cli) / "records", ignore_errors=True)
    assert cli("note", case_id, "--text", "visited").code == 0
    assert cli("list").code == 0
    ctx = library_session(cli)
    cache = ctx.store.summaries(ctx.worker.id, ctx.identity.recipient, ctx.keys, fill.fold_fingerprint())
    shards = {s.folder.name for s in cache.records.every_shard() if s.load().entries}
    assert shards == {record_shard(case_id)}
