"""The record table of the cache keeps only records of the last commit: when a shard's segments
are merged, the parsed records of files no longer committed (a case re-encrypted to new readers)
are left out, and so are they in every other shard read by the same command."""
from __future__ import annotations

from conftest import register

import cpcm.service
from cpcm.crypto import identity as identity_mod
from cpcm.service import context
from cpcm.store import cache as cache_mod
from cpcm.store.casestore import CaseStore
from cpcm.store.git import blob_id
from cpcm.store.layout import case_dir


def record_table(repo, worker: str, identity_path) -> set[str]:
    ident = identity_mod.load(identity_path, lambda: None)
    table = cache_mod.RecordCache(repo / ".cpcm" / "cache" / worker / "records", ident.recipient, ident.keys)
    return {blob for shard in table.every_shard() for blob in shard.load().entries}


def test_merging_the_record_table_leaves_out_records_no_longer_committed(cli, cli_as, repo, team, monkeypatch):
    sup = cli_as("sup")
    case_id = register(cli)
    assert cli("note", case_id, "--text", "visited the family").code == 0
    assert sup("list").code == 0
    before = record_table(repo, "sup", team["sup"][0])
    assert len(before) == 2  # the registration and the note, as sup read them

    assert sup("assign", case_id, "--worker", "otieno").code == 0  # re-encrypted: new files, new blob ids
    assert sup("list").code == 0
    live = CaseStore(repo).live_blobs()
    assert before <= record_table(repo, "sup", team["sup"][0])  # no merge yet: the old entries are still there
    assert not before & live

    monkeypatch.setattr(cache_mod, "MERGE_FROM", 1)  # the next save merges
    ctx = cpcm.service.open_repo(repo, team["sup"][0])
    cache = ctx.store.summaries("sup", ctx.identity.recipient, ctx.keys, context.fold_fingerprint())
    for shard in cache.records.every_shard():
        shard.load()  # every shard read by this command ...
    cache.records.put("0" * 40, {"a": 1}, case_id)  # ... and one merged
    cache.save()
    after = record_table(repo, "sup", team["sup"][0])
    assert after and after <= live
    assert not after & before  # the records of the files before the re-encryption are gone


def test_a_shard_keeps_what_keep_says_when_it_merges(tmp_path):
    from pyrage import x25519

    key = x25519.Identity.generate()
    kept = {"a", "c"}
    table = cache_mod.Table(tmp_path / "t", str(key.to_public()), [key], "tag", keep=lambda: kept)
    for name in "abc":
        table.set(name, 1)
        table.save()  # one segment each: no merge, nothing left out
    assert set(cache_mod.Table(tmp_path / "t", str(key.to_public()), [key], "tag").load().entries) == {"a", "b", "c"}
    table.stale = True
    table.save()
    assert set(cache_mod.Table(tmp_path / "t", str(key.to_public()), [key], "tag").load().entries) == kept


def test_live_blobs_are_the_committed_files_under_cases(cli, repo):
    case_id = register(cli)
    store = CaseStore(repo)
    files = [p for top in ("cases", "conferences") if (repo / top).is_dir() for p in (repo / top).rglob("*") if p.is_file()]
    assert store.record_files(case_id)[0] in files
    assert store.live_blobs() == {blob_id(path.read_bytes()) for path in files}
    (case_dir(repo, case_id) / "uncommitted").write_bytes(b"not in git")
    assert blob_id(b"not in git") not in store.live_blobs()
