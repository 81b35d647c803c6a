"""The reports that read every case once (`report timeliness`, `placements`, `retention`, `referrals`, `readiness`)
read the cases a case at a time (service/context.py `CaseStream`): the same cases as `load_cases`, the summary table read a
segment and an entry at a time and never whole, the cases written since appended to it, and the report the same
whatever order the cases come in. At 100,000 cases each held every folded case: about 1.1 GB (docs/performance.md).
The tables it reads (store/cache.py) are kept in segments of a few MB, so one segment is what a reader holds."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import CANARY, library_session, record_files, register, register_many
from test_closure_in_care import DECLINED, in_cci
from test_placements import BID, KINSHIP, placed

from cpcm.service import context
from cpcm.store import cache as cache_mod


def _summary_folder(cli):
    return library_session(cli).root / ".cpcm" / "cache" / "amina" / "summary"


def _streamed(cli) -> tuple[dict[str, dict], context.CaseStream]:
    stream = context.CaseStream(library_session(cli))
    cases = {}
    for case in stream:
        assert case.id not in cases  # each case once
        cases[case.id] = case.to_dict()
    return cases, stream


STATES = ["warm", "cache gone, filled on every core", "cache gone, read case by case", "another fold",
          "a case written since", "a record changed on disk since its commit"]


@pytest.mark.parametrize("state", STATES)
def test_case_stream__gives_the_cases_load_cases_gives_reading_no_table_whole(cli, monkeypatch, state):
    ids = register_many(cli, 5)
    committed = {case_id: case.to_dict() for case_id, case in context.load_cases(library_session(cli)).items()}
    folder = _summary_folder(cli)
    if state.startswith("cache gone"):
        shutil.rmtree(folder.parent)
        monkeypatch.setattr(context, "PREFETCH_FROM", 1 if "every core" in state else 10_000)
    elif state == "another fold":  # an upgrade: the cases filled on every core
        monkeypatch.setattr(context, "fold_fingerprint", lambda: "another fold")
        monkeypatch.setattr(context, "PREFETCH_FROM", 1)
    elif state == "a case written since":
        assert cli("note", ids[2], "--text", "met the teacher").code == 0
        committed[ids[2]] = context.load_case(library_session(cli), ids[2]).to_dict()
    elif state == "a record changed on disk since its commit":  # read as the commit holds it, as load_cases reads it
        path = record_files(library_session(cli).root, ids[1])[-1]
        path.write_bytes(path.read_bytes()[:100])
    before = set(folder.iterdir()) if folder.is_dir() else set()
    loaded: list[str] = []
    real_load = cache_mod.Table.load
    monkeypatch.setattr(cache_mod.Table, "load", lambda self: loaded.append(self.folder.name) or real_load(self))
    given, stream = _streamed(cli)
    assert given == committed and (stream.read, stream.total) == (5, 5)
    assert "summary" not in loaded and "index" not in loaded, loaded
    if state == "a case written since":  # appended to the table as a segment of its own, and served from it next
        assert len(set(folder.iterdir()) - before) == 1
        folded = []
        real_fold = context.folded_or_noted
        monkeypatch.setattr(context, "folded_or_noted", lambda *a: folded.append(a[1]) or real_fold(*a))
        assert _streamed(cli)[0] == committed and folded == []
    monkeypatch.setattr(cache_mod.Table, "load", real_load)
    assert {case_id: case.to_dict() for case_id, case in context.load_cases(library_session(cli)).items()} == committed


def test_case_stream__a_case_not_the_workers_is_not_given_and_a_deleted_one_not_counted(cli, cli_as):
    """Another worker's case (not a recipient) is read by neither; a case folder deleted and committed is gone."""
    mine = register_many(cli, 2)
    theirs = register(cli_as("otieno"))
    given, stream = _streamed(cli)
    assert sorted(given) == sorted(mine) and theirs not in given and stream.total == 3
    assert given == {case_id: case.to_dict() for case_id, case in context.load_cases(library_session(cli)).items()}


def _shards_held(monkeypatch) -> list[int]:
    """The shards of the record table loaded at each record looked up in it from now on."""
    held: list[int] = []
    real_get = cache_mod.RecordCache.get

    def get(self, blob, case_id):
        found = real_get(self, blob, case_id)
        held.append(sum(1 for table in self.shards.values() if table.loaded))
        return found
    monkeypatch.setattr(cache_mod.RecordCache, "get", get)
    return held


def _reversed(monkeypatch):
    """The cases given in the opposite order to the one they come in."""
    real = context.CaseStream._cases
    monkeypatch.setattr(context.CaseStream, "_cases", lambda self: iter(list(real(self))[::-1]))


def test_reports_read_a_case_at_a_time_are_the_same_in_any_order_of_the_cases(kenya, monkeypatch):
    """Each of these reports sorted the folded cases by ID before reading them; given a case at a time in no set
    order, each sorts what it lists instead: the same report, row for row, whatever order the cases come in."""
    cases = [in_cci(kenya) for _ in range(5)]
    later = kenya("amina", now="2026-12-05T09:00:00+03:00")
    home = {**KINSHIP, "care_type": "family", "caregiver": {"name": CANARY, "relationship": "mother"}}
    for case_id in cases[:2]:  # two children left the CCI on the same day
        assert later("assess", case_id, "--type", "best-interests", "--from-file", "-", input=json.dumps(BID)).code == 0
        assert placed(later, case_id, home).code == 0
    for case_id in (cases[0], cases[3]):  # one closed at home, one closed still in the CCI
        assert later("close", case_id, *DECLINED).code == 0
        assert kenya("sup", now="2026-12-06T09:00:00+03:00")("approve", case_id, "closure").code == 0
    sup = kenya("sup", now="2026-12-07T09:00:00+03:00")
    reports = {kind: sup("report", kind, "--json") for kind in ("placements", "timeliness", "retention", "referrals", "readiness")}
    for kind, made in reports.items():
        assert made.code == 0, (kind, made.stderr)
    view = reports["placements"].json()
    assert len(view["in_care"]) == 2 and len(view["left"]) == 2 and len(view["closed_in_care"]) == 1
    assert len(reports["readiness"].json()["not_assessed"]) >= 2  # on the path of reintegration, not assessed
    loaded: list[str] = []
    real_load = cache_mod.Table.load
    monkeypatch.setattr(cache_mod.Table, "load", lambda self: loaded.append(self.folder.name) or real_load(self))
    _reversed(monkeypatch)
    for kind, made in reports.items():
        again = sup("report", kind, "--json")
        assert (again.code, again.stdout) == (0, made.stdout), kind
    assert "summary" not in loaded, loaded  # no folded case held but the one being read



def test_readiness_reads_the_records_it_scores_holding_one_shard_of_the_record_table_at_a_time(kenya, monkeypatch):
    """`report readiness` reads the records of each case that may hold a readiness, graduation or CSI record. Read
    while the cases were, through the record table, they loaded nearly every shard of it and held them (249 of 256
    at 100,000 cases, 101,000 records): it reads them once the cases were given, in the order of the shards, holding
    one (`CaseStream.read_each`), and the report is the same."""
    cases = [in_cci(kenya) for _ in range(6)]
    assert len({cache_mod.record_shard(case_id) for case_id in cases}) >= 2  # the cases' records are in several shards
    sup = kenya("sup", now="2026-12-07T09:00:00+03:00")
    made = sup("report", "readiness", "--json")
    assert made.code == 0 and len(made.json()["not_assessed"]) >= 2, made.stderr
    held = _shards_held(monkeypatch)
    again = sup("report", "readiness", "--json")
    assert (again.code, again.stdout) == (0, made.stdout)
    assert held and max(held) == 1, held


def test_conference_sign_reads_the_records_that_name_a_family_holding_one_shard_of_the_record_table_at_a_time(
        cli, cli_as, monkeypatch):
    """`conference sign` checks the member against every case's family, reading the records of each case that holds one
    naming a family member (a consent, a tracing, a family assessment): once the cases were given, a shard of the record
    table at a time (`CaseStream.read_each`), not every shard held; a registered name is still refused, every case named."""
    ids = register_many(cli, 6)
    assert len({cache_mod.record_shard(case_id) for case_id in ids}) >= 2  # the cases' records are in several shards
    for case_id in ids:
        for giver in ("child", "caregiver"):
            given = cli("consent", case_id, "--purpose", "assessment", "--by", giver, "--status", "given", "--explained", "all")
            assert given.code == 0, given.stderr
    sup = cli_as("sup")
    refused = sup("conference", "sign", "--name", "Test Caregiver", "--institution", "Home", "--position", "grandmother")
    assert refused.code == 4 and all(case_id in refused.stderr for case_id in ids), refused.stderr
    held = _shards_held(monkeypatch)
    again = sup("conference", "sign", "--name", "Test Caregiver", "--institution", "Home", "--position", "grandmother")
    assert (again.code, again.stderr) == (refused.code, refused.stderr)
    assert sup("conference", "sign", "--name", "Member One", "--institution", "Agency", "--position", "Officer").code == 0
    assert held and max(held) == 1, held


def test_service_gaps_read_each_open_cases_records_holding_one_shard_of_the_record_table_at_a_time(cli, monkeypatch):
    """`service gaps` reads the content of every open case (its assessments' needs, its plan's referrals): in the order of
    the record table's shards, holding one at a time (`context.by_record_shard`), where in case-ID order it loaded
    nearly every shard and held them; the same gaps."""
    ids = register_many(cli, 6)
    assert len({cache_mod.record_shard(case_id) for case_id in ids}) >= 2
    made = cli("service", "gaps", "--json")
    assert made.code == 0, made.stderr
    held = _shards_held(monkeypatch)
    again = cli("service", "gaps", "--json")
    assert (again.code, again.stdout) == (0, made.stdout)
    assert held and max(held) == 1, held

def test_check_reads_the_cases_a_case_at_a_time_and_lists_each_kind_of_problem_by_case(cli, cli_as, monkeypatch):
    """`cpcm check` over every case held every folded case (about 1.1 GB at 100,000 cases): it reads them a case at a
    time (`CaseStream` with `on_disk`), and lists the problems as it did, each kind by case ID, whatever order the
    cases come in; a case whose record was cut short on disk is left out and named, as before."""
    ids = register_many(cli, 4)
    late = cli_as("amina", CPCM_NOW="2027-03-01T09:00:00+03:00")  # every deadline of the four long past
    path = record_files(library_session(cli).root, ids[2])[-1]
    path.write_bytes(path.read_bytes()[:100])
    made = late("check", "--json")
    assert made.code == 1 and f"problem: {ids[2]}" in made.stderr
    listed = made.json()
    assert len({p["case_id"] for p in listed if p["case_id"]}) == 3 and ids[2] not in {p["case_id"] for p in listed}
    loaded: list[str] = []
    real_load = cache_mod.Table.load
    monkeypatch.setattr(cache_mod.Table, "load", lambda self: loaded.append(self.folder.name) or real_load(self))
    _reversed(monkeypatch)
    again = late("check", "--json")
    assert (again.code, again.stdout, again.stderr) == (made.code, made.stdout, made.stderr)
    assert "summary" not in loaded, loaded



def test_an_export_without_identifying_fields_reads_the_cases_a_case_at_a_time(cli, tmp_path, monkeypatch):
    """`cpcm export` of every case (no identifying field: no consent to read) held every folded case (about 1.1 GB at
    100,000 cases): it makes each case's row as the case is given, the file in the order of registration as before,
    whatever order the cases come in; the summary table never loaded whole."""
    register_many(cli, 4)
    made = cli("export", "--format", "csv", "--fields", "case_id,status,risk,stage", "--plaintext", "--out",
               str(tmp_path / "first.csv"))
    assert made.code == 0, made.stderr
    first = (tmp_path / "first.csv").read_bytes()
    assert first.count(b"\n") == 5, first  # the heading and a row for each case
    loaded: list[str] = []
    real_load = cache_mod.Table.load
    monkeypatch.setattr(cache_mod.Table, "load", lambda self: loaded.append(self.folder.name) or real_load(self))
    _reversed(monkeypatch)
    again = cli("export", "--format", "csv", "--fields", "case_id,status,risk,stage", "--plaintext", "--out",
                str(tmp_path / "again.csv"))
    assert again.code == 0, again.stderr
    assert (tmp_path / "again.csv").read_bytes() == first
    assert "summary" not in loaded, loaded

def test_a_supervisors_handover_and_team_changes_read_the_cases_a_case_at_a_time(cli, cli_as, monkeypatch):
    """A handover (`assign --from-worker`), `team remove` refusing a worker who still holds open cases, and `team
    cadre` each read every case the supervisor reads: a case at a time, the summary table never loaded whole."""
    ids = register_many(cli, 3)
    sup = cli_as("sup")
    loaded: list[str] = []
    real_load = cache_mod.Table.load
    monkeypatch.setattr(cache_mod.Table, "load", lambda self: loaded.append(self.folder.name) or real_load(self))
    dry = sup("assign", "--from-worker", "amina", "--worker", "otieno", "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    assert sorted(case_id for case_id in ids if case_id in dry.stdout) == sorted(ids)
    refused = sup("team", "remove", "amina")
    assert refused.code == 4 and "3 open case(s)" in refused.stderr, refused.stderr
    assert "summary" not in loaded, loaded


def test_team_cadre_lists_the_cases_above_the_cadre_by_case_id_in_any_order_of_the_cases(cli_as, monkeypatch):
    from test_cadre import CHILD

    amina = cli_as("amina")
    ids = sorted(register(amina, child=CHILD) for _ in range(3))  # high risk: above what a volunteer may hold
    _reversed(monkeypatch)
    done = cli_as("sup")("team", "cadre", "amina", "volunteer", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["above"] == ids


def test_a_table_added_to_before_it_is_read_writes_only_what_was_added(tmp_path):
    from pyrage import x25519

    key = x25519.Identity.generate()
    folder = tmp_path / "table"
    table = cache_mod.Table(folder, str(key.to_public()), [key], "tag")
    for n in range(3):
        table.set(f"k{n}", n)
    table.save()
    added = cache_mod.Table(folder, str(key.to_public()), [key], "tag")
    added.add("k1", "new")
    added.add("k3", 3)
    assert not added.loaded and added.get("k1") == "new"  # what was added stands over the segments read after it
    added = cache_mod.Table(folder, str(key.to_public()), [key], "tag")
    added.add("k1", "new")
    added.save()  # a segment of its own, with only the entry added
    assert not added.loaded and len(list(folder.iterdir())) == 2
    assert cache_mod.Table(folder, str(key.to_public()), [key], "tag").load().entries == {"k0": 0, "k1": "new", "k2": 2}


def test_a_merged_table_is_written_in_segments_of_a_few_mb_and_not_merged_again(tmp_path, monkeypatch):
    """A merge wrote a whole table as one segment (165 MB of summaries at 100,000 cases), which a reader of one
    segment at a time held whole; it writes segments of about `APPEND_LIMIT`, and a table that many segments
    fill is not merged again at its next save."""
    from pyrage import x25519

    monkeypatch.setattr(cache_mod, "APPEND_LIMIT", 400)
    key = x25519.Identity.generate()
    folder = tmp_path / "table"
    expected = {}
    for n in range(cache_mod.MERGE_FROM):
        table = cache_mod.Table(folder, str(key.to_public()), [key], "tag")
        for m in range(10):
            table.set(f"k{n}-{m}", "x" * 20)
            expected[f"k{n}-{m}"] = "x" * 20
        table.save()
    sizes = [p.stat().st_size for p in folder.iterdir()]
    assert len(sizes) > 3 and max(sizes) < 3 * cache_mod.APPEND_LIMIT, sizes  # merged at the twelfth save, in pieces
    table = cache_mod.Table(folder, str(key.to_public()), [key], "tag")
    table.set("one more", 1)
    table.save()
    assert len(list(folder.iterdir())) == len(sizes) + 1  # appended: the table is as merged as its size allows
    assert cache_mod.Table(folder, str(key.to_public()), [key], "tag").load().entries == expected | {"one more": 1}


def test_merge_read_splits_a_table_of_one_large_segment_and_merges_many_small_ones(tmp_path, monkeypatch):
    from pyrage import x25519

    monkeypatch.setattr(cache_mod, "APPEND_LIMIT", 4000)
    key = x25519.Identity.generate()
    folder = tmp_path / "table"
    folder.mkdir()
    entries = {f"k{n}": "x" * 300 for n in range(100)}
    payload = json.dumps({"version": cache_mod.VERSION, "tag": "tag", "entries": entries}, separators=(",", ":"))
    cache_mod.write_segment(folder, str(key.to_public()), payload.encode())  # as an earlier version merged a table

    def table():
        return cache_mod.Table(folder, str(key.to_public()), [key], "tag")
    assert cache_mod.merge_read(table(), lambda k: k != "k7")
    del entries["k7"]
    sizes = [p.stat().st_size for p in folder.iterdir()]
    assert len(sizes) > 5 and max(sizes) < 3 * cache_mod.APPEND_LIMIT
    assert table().load().entries == entries
    assert not cache_mod.merge_read(table(), lambda k: True)  # merged already: left as it is
    for n in range(cache_mod.MERGE_FROM + 4):  # many small segments added one at a time
        added = table()
        added.add(f"new{n}", n)
        added.save()
    assert cache_mod.merge_read(table(), lambda k: True)
    assert len(list(folder.iterdir())) <= len(sizes) + 2
    assert table().load().entries == entries | {f"new{n}": n for n in range(cache_mod.MERGE_FROM + 4)}
