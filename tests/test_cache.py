"""The local cache (cpcm/store/cache.py): a write reads only its small index, a second write adds a
small segment instead of rewriting the cache, records parsed once are re-folded with no decryption
after the fold's code changes, and the segments of a table are merged when there are many."""
from __future__ import annotations

import json
import pathlib

import pytest

from conftest import register, registration

import cpcm.service
from cpcm.crypto import cipher
from cpcm.service import context
from cpcm.store import cache as cache_mod


def cache_files(repo) -> dict[str, bytes]:
    folder = repo / ".cpcm" / "cache"
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.age")}


def test_a_second_register_rewrites_only_a_few_files_of_the_split_index(cli, repo):
    for _ in range(3):
        register(cli)
    assert cli("list").code == 0
    register(cli)
    before = cache_files(repo)
    assert before
    register(cli, child={"name": "Another Child", "sex": "male", "date_of_birth": "2012-02-02"})
    after = cache_files(repo)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    # service/lookup.py: its head, the new child's year bucket and name-and-caregiver bucket, and one
    # map shard; no summary, index or record segment is read or written
    assert changed and all(k.startswith("amina/lookup/") for k in changed), changed
    assert len(changed) <= 4, changed


def test_register_checks_duplicates_and_caseload_from_the_index_without_reading_summaries(cli, repo, monkeypatch):
    existing = register(cli)
    assert cli("list").code == 0
    summary = repo / ".cpcm" / "cache" / "amina" / "summary"
    assert any(summary.iterdir())
    for path in summary.iterdir():
        path.write_bytes(b"damaged")  # a read of the summaries would find nothing usable and rebuild them
    result = cli("register", "--from-file", "-", "--json", input=json.dumps(registration()))
    assert result.code == 0, result.stderr
    found = [d["case_id"] for d in result.json()["possible_duplicates"]]
    assert found == [existing]  # the duplicate was found, from the index
    assert all(p.read_bytes() == b"damaged" for p in summary.iterdir())  # the summaries were not read, so not rebuilt


def test_register__a_possible_duplicate_says_how_to_link_the_two_cases_and_the_command_works(cli, cli_as):
    """The warning said only 'check before working on both', and register.md that no command
    merges two cases; `cpcm merge-cases` links them."""
    existing = register(cli)
    result = cli("register", "--from-file", "-", "--json", input=json.dumps(registration()))
    new = result.json()["case_id"]
    hint = f"cpcm merge-cases {existing} {new}"
    assert hint in result.stderr, result.stderr
    merged = cli_as("sup")(*hint.split()[1:])
    assert merged.code == 0, merged.stderr


def open_ctx(repo, team):
    return cpcm.service.open_repo(repo, team["amina"][0])


def test_after_a_change_of_the_fold_cases_are_refolded_from_parsed_records_without_decrypting(cli, repo, team, monkeypatch):
    ids = {register(cli), register(cli)}
    cases = context.load_cases(open_ctx(repo, team))
    assert set(cases) == ids
    monkeypatch.setattr(context, "fold_fingerprint", lambda: "another-fold")

    def refuse(*args, **kwargs):
        raise AssertionError("decrypted a record the record cache holds")
    monkeypatch.setattr("cpcm.store.casestore.CaseStore._decrypt", refuse)  # a record file's, not the cache's own files
    again = context.load_cases(open_ctx(repo, team))
    assert again == cases


def test_a_record_cache_entry_is_checked_against_its_file_name(cli, repo, team):
    case_id = register(cli)
    context.load_cases(open_ctx(repo, team))
    ctx = open_ctx(repo, team)
    context.load_cases(ctx)
    (path,) = ctx.store.record_files(case_id)
    renamed = path.with_name("01AAAAAAAAAAAAAAAAAAAAAAAA.note.yaml.age")
    path.rename(renamed)
    with pytest.raises(cpcm.errors.Corrupt):  # the cache knows these bytes, and the name is still checked
        ctx.store.read_records(case_id, ctx.keys)


def test_a_table_merges_its_segments_when_there_are_many(tmp_path):
    from pyrage import x25519

    key = x25519.Identity.generate()
    folder = tmp_path / "table"
    for n in range(cache_mod.MERGE_FROM + 2):
        table = cache_mod.Table(folder, str(key.to_public()), [key], "tag")
        table.set(f"k{n}", n)
        if n == 3:
            table.delete("k1")
        table.save()
        assert len(list(folder.iterdir())) < cache_mod.MERGE_FROM
    table = cache_mod.Table(folder, str(key.to_public()), [key], "tag").load()
    expected = {f"k{n}": n for n in range(cache_mod.MERGE_FROM + 2) if n != 1}
    assert table.entries == expected
    assert cache_mod.Table(folder, str(key.to_public()), [key], "other").load().entries == {}  # other code's: not used


def test_an_encrypted_cache_file_cut_short_leaves_the_old_one_and_no_temp_file(tmp_path):
    from pyrage import x25519

    key = x25519.Identity.generate()
    path = tmp_path / "view" / "list.age"
    cache_mod.write_encrypted(path, str(key.to_public()), [b"old ", b"rows"])

    def pieces():
        yield b"new rows, "
        raise OSError("disk full")
    with pytest.raises(Exception, match="disk full"):
        cache_mod.write_encrypted(path, str(key.to_public()), pieces())
    assert [p.name for p in path.parent.iterdir()] == ["list.age"]
    assert cipher.decrypt(path.read_bytes(), [key]) == b"old rows"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_record_that_json_would_change_is_not_kept(tmp_path):
    assert cache_mod.plain_json({"a": [1, "x", None, True, 2.5]})
    assert not cache_mod.plain_json({"a": (1, 2)}) and not cache_mod.plain_json({1: "x"})
    assert not cache_mod.plain_json({"a": float("nan")})


def test_the_cold_fill_parses_on_worker_processes_and_reports_progress(tmp_path):
    from pyrage import x25519

    from cpcm.store import parallel

    key = x25519.Identity.generate()
    docs = [{"kind": "note", "id": f"R{n}", "body": {"text": f"note {n}", "when": "2026-01-02"}} for n in range(150)]
    items = [(f"{n:040x}", cipher.encrypt(codec_dumps(doc), [str(key.to_public())])) for n, doc in enumerate(docs)]
    items.append(("f" * 40, b"age-encryption.org/v1\ndamaged"))  # unreadable: left out, for the read that follows to report
    seen = []
    parsed = dict(parallel.parse_all(items, [key], lambda done, total: seen.append((done, total))))
    assert parsed == {f"{n:040x}": doc for n, doc in enumerate(docs)}
    assert seen and seen[-1] == (len(items), len(items)) and seen == sorted(seen)


def codec_dumps(doc):
    from cpcm.store import codec

    return codec.dumps(doc)
