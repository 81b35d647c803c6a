"""The record table sharded by case: a folder name that is not UTF-8, and the removal of the
table of earlier versions (16 folders by the blob id's first digit)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import library_session, register_many

from cpcm.errors import Corrupt
from cpcm.store.cache import RecordCache, record_shard
from cpcm.store.layout import case_dir, case_rel


def test_a_case_folder_whose_name_is_not_utf8_is_reported_not_a_crash(cli):
    """A committed folder `cases/\\xff/CP-\\xff` (format 2: in the folder of the ID's characters after "CP-"; a
    copy of a case's files): reading it through the record table must end in Corrupt (its record's case does not
    match the folder), as it did with the table by blob id, not in UnicodeEncodeError from the shard's name."""
    from cpcm.service.context import load_cases, read_case

    case_id = register_many(cli, 1)[0]
    root = Path(cli.env["CPCM_REPO"])
    odd = case_dir(root, os.fsdecode(b"CP-\xff"))
    shutil.copytree(case_dir(root, case_id), odd)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "odd", "--no-verify"],
                   cwd=root, check=True, env=env)
    ctx = library_session(cli)
    assert list(load_cases(ctx)) == [case_id]
    odd_rel = case_rel(odd.name) + "/"
    assert [type(p) for p in ctx.problems if getattr(p, "path", "").startswith(odd_rel)] == [Corrupt]
    ctx = library_session(cli)
    cache = ctx.store.summaries(ctx.worker.id, ctx.identity.recipient, ctx.keys, "x")
    assert cache.records is ctx.store.record_cache
    try:
        read_case(ctx, os.path.basename(odd))
    except Corrupt:
        pass
    else:
        raise AssertionError("a record whose case is not its folder's name was read")


def _key():
    from pyrage import x25519

    key = x25519.Identity.generate()
    return str(key.to_public()), [key]


def test_the_table_of_earlier_versions_is_removed_when_it_has_no_folder_0(tmp_path):
    """Earlier versions made a shard's folder only when a record's blob id began with its digit:
    a table without `records/0` (or one left half removed) is still the old table."""
    recipient, keys = _key()
    folder = tmp_path / "records"
    for digit in "123456789abcdef":
        (folder / digit).mkdir(parents=True)
        (folder / digit / "00000000000000000001-1-abcdef.age").write_bytes(b"old")
    RecordCache(folder, recipient, keys)
    assert sorted(p.name for p in folder.iterdir()) == []


def test_only_the_old_folders_are_removed(tmp_path):
    recipient, keys = _key()
    folder = tmp_path / "records"
    table = RecordCache(folder, recipient, keys)
    table.put("1" * 40, {"n": 1}, "CP-0001-0001")
    table.save()
    for name in ("0", "a", "notes", "0a"):
        (folder / name).mkdir(exist_ok=True)
    (folder / "b").write_bytes(b"a file, not a folder of the old table")
    again = RecordCache(folder, recipient, keys)
    assert sorted(p.name for p in folder.iterdir()) == sorted({"b", "notes", "0a", record_shard("CP-0001-0001")})
    assert again.get("1" * 40, "CP-0001-0001") == {"n": 1}
