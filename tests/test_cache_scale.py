"""The cache at scale (service/fill.py, store/cache.py): the cold fill reads cases in chunks on
worker processes and writes every table as they come; `cpcm list` prints from the compact row
table. What is checked here is correctness, not time: the fill writes the same tables as
reading case by case, a fill stopped midway leaves a cache the next command uses, the row table
follows every kind of write, and no name reaches a cache file in plaintext."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import CANARY, Cli, library_session, register, register_many

import cpcm.service
from cpcm.crypto import cipher
from cpcm.service import context, fill
from cpcm.store import cache as cache_mod


def session(cli: Cli):
    return library_session(cli)


def reference(cli: Cli, names: bool = True) -> list[dict]:
    """What `cpcm list --json` printed before the row table: every folded case's `case_summary`."""
    ctx = library_session(cli)
    today = ctx.now.date()
    return [cpcm.service.case_summary(c, today, names, ctx.zone) for c in cpcm.service.list_(ctx)]


def _path(cli: Cli, name: str):
    import pathlib

    return pathlib.Path(cli.env[name])


def listed(cli: Cli, *args: str) -> list[dict]:
    result = cli("list", "--json", "--names", *args)
    assert result.code == 0, result.stderr
    return result.json()


def tables(cli: Cli) -> dict[str, dict]:
    """Every table of amina's cache, decrypted and merged: table -> entries."""
    keys = context.identity_mod.load(_path(cli, "CPCM_IDENTITY"), lambda: None).keys
    folder = _path(cli, "CPCM_REPO") / ".cpcm" / "cache" / "amina"
    found = {}
    for table in sorted(p for p in folder.rglob("*") if p.is_dir() and any(f.suffix == ".age" for f in p.iterdir())):
        found[str(table.relative_to(folder))] = cache_mod.Table(table, "", keys, _tag(table, keys)).load().entries
    return found


def _tag(table, keys) -> str:
    first = next(p for p in sorted(table.iterdir()) if p.suffix == ".age")
    return json.loads(cipher.decrypt(first.read_bytes(), keys))["tag"]


def drop_cache(cli: Cli) -> None:
    shutil.rmtree(_path(cli, "CPCM_REPO") / ".cpcm" / "cache", ignore_errors=True)


def test_the_cold_fill_on_workers_writes_the_tables_reading_case_by_case_writes(cli, few, monkeypatch):
    ids = register_many(cli, 6)
    ids.append(register(cli, child={"name": "Second Child", "sex": "male", "age_estimate": 9}))
    expected = reference(cli)
    drop_cache(cli)
    assert listed(cli) == expected  # the cold fill, on worker processes
    filled = tables(cli)
    assert {"summary", "index", "rows", "due", "statistics"} <= set(filled) and any(k.startswith("records/") for k in filled)
    assert set(filled["rows"]) == set(ids) and set(ids) <= set(filled["due"]) and set(ids) <= set(filled["statistics"])
    drop_cache(cli)
    monkeypatch.setattr(fill, "FILL_FROM", 10_000)
    monkeypatch.setattr(context, "PREFETCH_FROM", 10_000)
    context.load_cases(session(cli))  # the summaries and the index, case by case as before
    assert listed(cli) == expected  # the rows, case by case
    one_by_one = tables(cli)
    for name in ("summary", "index", "rows", "due", "statistics"):  # due and statistics: made as the fill goes
        assert filled[name] == one_by_one[name], name
    records = lambda found: {k: v for name, t in found.items() if name.startswith("records/") for k, v in t.items()}
    assert records(filled) == records(one_by_one)
    # and the library's cold fill (load_cases) gives the same cases as one by one
    drop_cache(cli)
    monkeypatch.setattr(context, "PREFETCH_FROM", 2)
    assert context.load_cases(session(cli)) == context.load_cases(session(cli))
    drop_cache(cli)
    cold = context.load_cases(session(cli))
    monkeypatch.setattr(context, "PREFETCH_FROM", 10_000)
    drop_cache(cli)
    assert context.load_cases(session(cli)) == cold


def test_list_filters_and_plain_output_match_the_folded_cases(cli, cli_as, few):
    register_many(cli, 3)
    other = register(cli)
    assert cli_as("sup")("assign", other, "--worker", "otieno").code == 0
    for args, keep in ((("--worker", "otieno"), lambda r: r["worker"] == "otieno"),
                       (("--status", "open"), lambda r: r["status"] == "open"),
                       (("--stage", "registered"), lambda r: r["stage"] == "registered"),
                       (("--risk", "high"), lambda r: r["risk"] == "high")):
        drop_cache(cli)
        assert listed(cli, *args) == [r for r in reference(cli) if keep(r)], args
        assert listed(cli, *args) == [r for r in reference(cli) if keep(r)], args  # warm
    plain = cli("list")
    assert plain.code == 0 and CANARY not in plain.stdout
    assert plain.stdout.splitlines()[0].split("\t") == ["case id", "status", "stage", "risk", "worker", "sex", "age",
                                                        "registered at"]
    assert sorted(line.split("\t")[0] for line in plain.stdout.splitlines()[1:]) == sorted(r["case_id"] for r in reference(cli))
    assert "name" not in cli("list", "--json").json()[0]


def test_a_fill_stopped_midway_leaves_a_cache_the_next_list_uses(cli, few, monkeypatch):
    ids = register_many(cli, 40)
    expected = reference(cli)
    drop_cache(cli)
    monkeypatch.setattr(fill, "CHUNK", 4)
    monkeypatch.setattr(cache_mod, "APPEND_LIMIT", 200)  # a segment every case or so

    on_disk = []

    def stop(done, total):
        if done >= 12:
            on_disk.append(len(tables(cli).get("rows", {})))  # written as they came, not at the end
            raise KeyboardInterrupt
    ctx = session(cli)
    ctx.progress = stop
    with pytest.raises(KeyboardInterrupt):
        cpcm.service.list_rows(ctx)
    kept = tables(cli).get("rows", {})
    assert on_disk[0] >= 8 and 12 <= len(kept) < len(ids)  # what was read before the stop is in the table
    read = []
    real_one, real_chunk = fill.read_one, fill.read_chunk
    monkeypatch.setattr(fill, "FILL_FROM", 10_000)  # read here, so the reads can be counted
    monkeypatch.setattr(fill, "read_one", lambda ctx, case_id, *a, **k: read.append(case_id) or real_one(ctx, case_id, *a, **k))
    monkeypatch.setattr(fill, "read_chunk", lambda ctx, case_ids, *a, **k: read.extend(case_ids) or real_chunk(ctx, case_ids, *a, **k))
    assert listed(cli) == expected
    assert sorted(read) == sorted(set(ids) - set(kept))  # only the cases the stopped fill had not written


def test_the_row_table_follows_every_write(cli, cli_as, few, tmp_path):
    from test_transfer import REASON, approved_case

    sup = cli_as("sup")
    ids = register_many(cli, 3)
    drop_cache(cli)
    assert listed(cli) == reference(cli)
    steps = [
        lambda: register(cli, child={"name": "New Child", "sex": "male", "date_of_birth": "2016-05-05"}),
        lambda: cli("note", ids[0], "--text", "visited the family"),
        lambda: cli("update", ids[0], "--set", "child.date_of_birth=2014-02-02", "--reason", "birth certificate seen"),
        lambda: cli("update", ids[1], "--location", "Kondele, Kisumu", "--reason", "moved"),
        lambda: sup("assign", ids[1], "--worker", "otieno"),
        lambda: sup("assign", ids[1], "--worker", "amina"),
    ]
    for step in steps:
        done = step()
        assert getattr(done, "code", 0) == 0, done.stderr
        assert listed(cli) == reference(cli)
    case_id = approved_case(cli, sup)
    assert listed(cli) == reference(cli)
    from pyrage import x25519

    agency = str(x25519.Identity.generate().to_public())
    sent = cli("transfer", case_id, *REASON, "--check", "all", "--out", str(tmp_path / "bundle"), "--recipient", agency, "--json")
    assert sent.code == 0, sent.stderr
    rows = {r["case_id"]: r for r in listed(cli)}
    assert rows == {r["case_id"]: r for r in reference(cli)} and rows[case_id]["status"] == "transferred"


def test_the_row_table_follows_a_sync(repo, team, tmp_env, few):
    from test_sync import Laptops

    laptops = Laptops(repo, team, tmp_env)
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    register_many(amina, 3)
    assert amina("sync").code == 0 and sup("sync").code == 0
    assert listed(sup) == reference(sup) and len(reference(sup)) == 3
    arrived = register(amina, child={"name": "Arrived Later", "sex": "female", "date_of_birth": "2013-03-03"})
    assert amina("note", arrived, "--text", "first visit").code == 0
    assert amina("sync").code == 0 and sup("sync").code == 0
    assert listed(sup) == reference(sup) and len(reference(sup)) == 4


def test_no_name_in_plaintext_in_any_cache_file(cli, few):
    register_many(cli, 3, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01"},
                  caregiver={"name": f"{CANARY} senior", "relationship": "grandmother"})
    drop_cache(cli)
    assert any(r["name"] == CANARY for r in listed(cli))  # the cold fill
    register(cli, child={"name": CANARY, "sex": "male", "date_of_birth": "2011-01-01"})
    assert len(listed(cli)) == 4  # and a warm list after a write
    folder = _path(cli, "CPCM_REPO") / ".cpcm" / "cache"
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    needles = [CANARY.encode(), CANARY.split()[0].encode(), CANARY.split()[0].lower().encode(), CANARY.lower().encode()]
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), path
        assert not any(n.decode() in str(path) for n in needles)
