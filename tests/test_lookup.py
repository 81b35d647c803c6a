"""The split index a registration reads (cpcm/service/lookup.py): after every kind of change to
the cases (registrations, updates, assignments, closures, merges, transfers away, a sync
bringing cases from another copy, no index at all) it gives exactly the duplicate and caseload
answers of the full scan of every case (`load_index`, `duplicates.matches`, `rules.caseloads`),
brought up to date from the cases that changed, and it holds no name or birth year in plaintext."""
from __future__ import annotations

import json
import random
import re
import shutil
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CANARY, git, library_session, register, register_many, registration

from cpcm.crypto import cipher
from cpcm.service import context, lookup
from cpcm.workflow import duplicates, rules
from cpcm.workflow.duplicates import Key

CHILDREN = [  # (child, caregiver name or None)
    ({"name": "Amina Otieno", "sex": "female", "date_of_birth": "2015-04-01"}, "Grace Achieng"),
    ({"name": "Amina Otiendo", "sex": "female", "date_of_birth": "2015-09-09"}, "Grace Achieng"),  # similar, same year
    ({"name": "Amina Otieno", "sex": "female", "date_of_birth": "2012-01-01"}, "Grace Achieng"),   # same name and caregiver
    ({"name": "Otieno  Amína", "sex": "female", "age_estimate": 9}, "grace achieng"),              # normalised alike, estimated age
    ({"name": "Brian Kip", "sex": "male", "age_estimate": 11}, None),
    ({"name": "Brian Kipp", "sex": "male", "date_of_birth": "2015-02-02"}, None),
    ({"name": "Wanjiru Kamau", "sex": "female", "date_of_birth": "2010-10-10"}, "Peter Kamau"),
    ({"name": "Akinyi Amina Otieno", "sex": "female", "date_of_birth": "2013-03-03"}, "Grace Achieng"),  # a name more, same caregiver
]


def doc(child: dict, caregiver: str | None) -> dict:
    data = registration(child={"disability": "no", **child})
    if caregiver is None:
        del data["caregiver"]
        data["lives_with"] = "alone"
        data["consent"] = {"child": "given", "caregiver": "not_possible", "explained": True}
    else:
        data["caregiver"] = {"name": caregiver, "relationship": "grandmother"}
    return data


def register_doc(cli, data: dict) -> dict:
    done = cli("register", "--from-file", "-", "--json", input=json.dumps(data))
    assert done.code == 0, done.stderr
    return done.json()


def probes(keys: list[tuple[str, Key]]) -> list[Key]:
    """Children to check against the index: each case's own key, and keys near it (another year,
    no year, a letter changed, no caregiver, another caregiver, a name more or one left out)."""
    found = [Key("nobody known", "", 2001), Key("", "grace achieng", 2015)]
    for _, key in keys:
        other_year = (key.year or 2000) + 3
        changed = key.name[:-1] + ("x" if key.name[-1] != "x" else "y") if key.name else key.name
        found += [key, key._replace(year=other_year), key._replace(year=None), key._replace(name=changed),
                  key._replace(caregiver=""), key._replace(caregiver="someone else", year=other_year),
                  key._replace(name=f"{key.name} zawadi"), key._replace(name=f"{key.name} zawadi", year=other_year),
                  key._replace(name=" ".join(key.name.split()[1:]), year=other_year)]
    return found


def full_scan(cli) -> list[tuple[str, Key]]:
    """(case id, duplicate key) of every case the worker reads, from every case, in case id order."""
    return [(case.id, duplicates.key_of(case)) for case in context.load_index(library_session(cli)).values()]


def agrees(cli) -> lookup.Lookup:
    """The worker's split index, brought up to date, answers as the full scan does."""
    ctx = library_session(cli)
    with context.locked(ctx):
        assert lookup.usable(ctx)
        look = lookup.current(ctx)
        full = context.load_index(ctx)
        keys = [(case.id, duplicates.key_of(case)) for case in full.values()]
        assert look.counts == {w: n for w, n in rules.caseloads(full.values()).items() if n}
        for probe in probes(keys):  # as register asks it: a bucket found damaged makes the index again
            look, found = lookup.duplicates_of(ctx, look, probe)
            assert found == duplicates.matches(probe, keys), probe
            assert look.statuses(probe) == {c: full[c].status for c, _ in look.candidates(probe)}, probe
    return look


@pytest.fixture
def incremental(monkeypatch):
    """After `allow()`, a rebuild of an index that exists fails the test: it must follow changes."""
    real = lookup.rebuild
    state = {"allowed": True}

    def rebuild(ctx, look, tree):
        assert state["allowed"], "the index was rebuilt instead of brought up to date"
        return real(ctx, look, tree)
    monkeypatch.setattr(lookup, "rebuild", rebuild)
    return lambda allowed=False: state.update(allowed=allowed)


def test_registrations_and_updates_give_the_answers_of_the_full_scan(cli, cli_as, incremental):
    sup = cli_as("sup")
    first = register_doc(cli, doc(*CHILDREN[0]))
    assert first["possible_duplicates"] == []
    agrees(cli), agrees(sup)
    incremental()
    ids = [first["case_id"]]
    for child, caregiver in CHILDREN[1:]:
        keys = full_scan(cli)
        done = register_doc(cli, doc(child, caregiver))
        key = duplicates.key_of(context.load_case(library_session(cli), done["case_id"]))
        assert [(d["case_id"], d["reason"]) for d in done["possible_duplicates"]] == duplicates.matches(key, keys)
        ids.append(done["case_id"])
        agrees(cli)
    found = {d["case_id"] for d in register_doc(cli, doc(*CHILDREN[0]))["possible_duplicates"]}
    assert found == set(ids[:4] + ids[7:])  # the first four are the same child three ways, the last a fourth
    agrees(cli), agrees(sup)
    assert cli("update", ids[5], "--set", "child.date_of_birth=2011-06-06", "--reason", "birth certificate seen").code == 0
    assert cli("update", ids[0], "--caregiver", "Someone Else", "--reason", "moved to an aunt").code == 0
    agrees(cli), agrees(sup)


def test_assignments_closures_and_merges(cli, cli_as, incremental):
    sup, otieno = cli_as("sup"), cli_as("otieno")
    ids = [register_doc(cli, doc(child, caregiver))["case_id"] for child, caregiver in CHILDREN[:4]]
    for who in (cli, sup, otieno):
        agrees(who)
    incremental()
    assert sup("assign", ids[0], "--worker", "otieno").code == 0  # amina no longer reads it
    assert "amina" in agrees(sup).counts and agrees(otieno).counts == {"otieno": 1}
    assert ids[0] not in {c for c, _ in agrees(cli).candidates(Key("amina otieno", "achieng grace", 2015))}
    assert cli("close", ids[1], "--reason", "registered_in_error", "--check", "error_confirmed").code == 0
    agrees(sup)
    assert sup("approve", ids[1], "closure").code == 0
    assert agrees(sup).counts == {"amina": 2, "otieno": 1}
    assert sup("merge-cases", ids[2], ids[3]).code == 0
    for who in (cli, sup, otieno):
        agrees(who)
    assert sup("assign", ids[0], "--worker", "amina").code == 0
    assert agrees(cli).counts == agrees(sup).counts


def test_a_transfer_away(cli, cli_as, tmp_path, incremental):
    from pyrage import x25519

    from test_transfer import REASON, approved_case

    sup = cli_as("sup")
    register(cli)
    agrees(cli)
    incremental()
    case_id = approved_case(cli, sup)
    agrees(cli)
    agency = str(x25519.Identity.generate().to_public())
    sent = cli("transfer", case_id, *REASON, "--check", "all", "--out", str(tmp_path / "bundle"), "--recipient", agency, "--json")
    assert sent.code == 0, sent.stderr
    look = agrees(cli)
    assert look.counts == {"amina": 1}  # the case transferred away is no longer open


def test_a_sync_bringing_cases_from_another_copy(repo, team, tmp_env, incremental):
    from test_sync import Laptops

    laptops = Laptops(repo, team, tmp_env)
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    register_doc(amina, doc(*CHILDREN[0]))
    agrees(sup), agrees(amina)
    incremental()
    for child, caregiver in CHILDREN[1:4]:
        register_doc(amina, doc(child, caregiver))
    assert amina("sync").code == 0 and sup("sync").code == 0
    assert len(agrees(sup).counts) == 1 and agrees(sup).counts["amina"] == 4
    found = register_doc(sup, doc(*CHILDREN[0]))["possible_duplicates"]
    assert len(found) == 4
    assert amina("sync").code == 0
    agrees(amina)


def test_a_cold_start_an_interrupted_update_and_a_damaged_file_rebuild_the_index(cli, repo):
    register_many(cli, 2, child={"name": "Same Child", "sex": "female", "date_of_birth": "2014-01-01", "disability": "no"})
    folder = repo / ".cpcm" / "cache" / "amina" / "lookup"
    shutil.rmtree(folder, ignore_errors=True)
    assert len(register_doc(cli, doc({"name": "Same Child", "sex": "male", "date_of_birth": "2014-05-05"}, "Test Caregiver"))
               ["possible_duplicates"]) == 2
    assert (folder / "head.age").exists()
    agrees(cli)
    (folder / "head.age").unlink()  # an update stopped before its head was written
    buckets = sorted(p for p in folder.iterdir() if p.name.startswith("y-"))
    buckets[0].write_bytes(b"damaged")
    agrees(cli)
    buckets[0].write_bytes(b"damaged")
    look = agrees(cli)  # a damaged bucket: rebuilt, with a new key
    assert len(look.duplicates(Key("child same", "caregiver test", 2014))) == 3


def test_a_home_whose_children_share_one_caregiver_is_not_one_bucket_read_whole_at_each_registration(cli):
    """A children's home registers every child with the matron's name as the caregiver: the caregiver
    bucket held all of them, so each registration of another of its children read and compared every
    one. The index answers as the full scan still (the same name, or a name with a word left out, of
    the same caregiver in another year, is found), and a child is offered only the cases of its own
    birth year and those of the same caregiver that share a pair of its name's words."""
    from cpcm import service

    ctx = library_session(cli)
    matron = {"name": "Matron Achieng Otieno", "relationship": "other"}
    names = [f"{first} {family}" for first in ("Akinyi", "Baraka", "Chebet", "Dedan", "Ekai", "Faith", "Gitau", "Halima")
             for family in ("Mwangi", "Njeri", "Odhiambo", "Wafula", "Kiprono")]
    for n, name in enumerate(names + ["Kevin Otieno Ouma", "Kevin Otieno"]):
        service.register(ctx, registration(child={"name": name, "sex": "female", "age_estimate": 3 + n % 14, "disability": "no"},
                                           caregiver=matron))
    agrees(cli)
    again = register_doc(cli, registration(child={"name": "Otieno Kevin", "sex": "male", "date_of_birth": "2025-01-01",
                                                  "disability": "no"}, caregiver=matron))
    assert {d["reason"] for d in again["possible_duplicates"]} == {duplicates.SAME_CAREGIVER, duplicates.WORDS_CAREGIVER}
    look = agrees(cli)
    newcomer = Key("newchild number", duplicates.normalise_name(matron["name"]), 2025)
    offered = [case_id for case_id, key in look.candidates(newcomer) if key.year != 2025]
    assert len(offered) < 10, f"{len(offered)} of the home's {len(names) + 2} children offered"  # a bucket shared by chance


def test_the_index_after_many_changes_at_once_is_rebuilt_from_the_cache(cli, monkeypatch):
    monkeypatch.setattr(lookup, "REBUILD_FROM", 3)
    register(cli)
    agrees(cli)
    folder = library_session(cli).root / ".cpcm" / "cache" / "amina" / "lookup"
    shutil.copytree(folder, folder.parent / "saved")
    calls = []
    real = lookup.rebuild
    monkeypatch.setattr(lookup, "rebuild", lambda *a: calls.append(1) or real(*a))
    register_many(cli, 4)  # each write moves the index on with its own case: nothing to rebuild
    assert calls == []
    shutil.rmtree(folder)
    shutil.copytree(folder.parent / "saved", folder)  # 4 cases behind
    agrees(cli)
    assert calls == [1]


def test_no_name_or_year_in_plaintext_in_the_index(cli, team):
    for year in ("2011", "2015"):
        register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": f"{year}-04-01", "disability": "no"},
                 caregiver={"name": f"{CANARY} senior", "relationship": "grandmother"})
    folder = library_session(cli).root / ".cpcm" / "cache" / "amina" / "lookup"
    names = sorted(p.name for p in folder.iterdir())
    assert names and all(re.fullmatch(r"head\.age|[ycm]-[0-9a-f]{2}\.age", n) for n in names), names
    keys = context.identity_mod.load(team["amina"][0], lambda: None).keys
    seen, normalised = b"", duplicates.normalise_name(CANARY).encode()
    for path in folder.iterdir():
        data = path.read_bytes()
        assert CANARY.encode() not in data and normalised not in data and b"2011" not in data and b"2015" not in data
        assert data.startswith(b"age-encryption.org/v1")
        seen += cipher.decrypt(data, keys)
    assert normalised in seen and b"2011" in seen  # the normalised name and the year are in it, encrypted


# -- the faster similarity check gives the same answers ------------------------------------------------
def near(rng: random.Random, name: str) -> str:
    chars = list(name)
    for _ in range(rng.randint(0, 3)):
        what = rng.random()
        at = rng.randrange(len(chars) + 1)
        if what < 0.4 and chars:
            chars[min(at, len(chars) - 1)] = rng.choice(string.ascii_lowercase)
        elif what < 0.7:
            chars.insert(at, rng.choice(string.ascii_lowercase + " "))
        elif chars:
            del chars[min(at, len(chars) - 1)]
    return "".join(chars)


def test_similar_to_answers_as_similar_on_names_near_and_far():
    rng = random.Random(7)
    words = ["amina", "otieno", "achieng", "kamau", "wanjiru", "brian", "kip", "aa", "ab", "mohamed", "mohammed"]
    for _ in range(300):
        name = " ".join(rng.sample(words, rng.randint(1, 3)))
        alike = duplicates.SimilarTo(name)
        for other in [near(rng, name) for _ in range(20)] + [" ".join(rng.sample(words, 2)), "", name]:
            assert alike(other) == duplicates.similar(name, other), (name, other)
            assert alike(other) == duplicates.similar(name, other)  # and when remembered


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcde xyz", max_size=12), st.text(alphabet="abcde xyz", max_size=12))
def test_similar_to_answers_as_similar(a, b):
    assert duplicates.SimilarTo(a)(b) == duplicates.similar(a, b)


def test_register_finds_its_buckets_damaged_makes_the_index_again_and_answers(cli, repo):
    register_many(cli, 2, child={"name": "Same Child", "sex": "female", "date_of_birth": "2014-01-01", "disability": "no"})
    folder = repo / ".cpcm" / "cache" / "amina" / "lookup"
    for bucket in folder.iterdir():
        if bucket.name[:2] in ("y-", "c-"):
            bucket.write_bytes(b"damaged")  # the head reads well: only the buckets a register asks for are found damaged
    found = register_doc(cli, doc({"name": "Same Child", "sex": "male", "date_of_birth": "2014-05-05"}, "Test Caregiver"))
    assert len(found["possible_duplicates"]) == 2
    agrees(cli)


def test_register_warns_of_a_child_registered_again_without_a_family_name(cli, repo, tmp_env):
    """As "Kevin Otieno Ouma" then "Kevin Otieno" (the canary's two words stand for Kevin Otieno):
    difflib calls the names far apart (0.83), one holds every word of the other. The warning names
    the first case by its ID; the name is in nothing else: not in what the commands print, not in
    a commit message, not in plaintext in any file. One word shared is no duplicate."""
    def registered(name: str, born: str):
        done = cli("register", "--from-file", "-", "--no-input", input=json.dumps(registration(
            child={"name": name, "sex": "male", "date_of_birth": born, "disability": "no"})))
        assert done.code == 0, done.stderr
        return done.stdout.split()[-1], done
    first, _ = registered(f"{CANARY} Ouma", "2015-04-01")
    second, again = registered(CANARY, "2015-10-10")
    assert (f"warning: possible duplicate of {first} (same or similar name and the same birth year); check before working on "
            f"both; if it is the same child, a supervisor or manager links them: cpcm merge-cases {first} {second}") in again.stderr
    third, older = registered(CANARY, "2012-10-10")  # another birth year, the same caregiver (the form's)
    assert f"possible duplicate of {first} (one name holds all the other's words and the same caregiver)" in older.stderr
    assert f"possible duplicate of {second} (same name and the same caregiver)" in older.stderr
    assert "possible duplicate" not in registered("Mary Achieng", "2015-04-01")[1].stderr
    assert "possible duplicate" not in registered("Mary Wanjiru", "2015-04-01")[1].stderr  # the same year and caregiver
    words = [word.lower() for word in CANARY.split()]
    said = (again.stdout + again.stderr + older.stdout + older.stderr + git(repo, "log", "--format=%B")).lower()
    assert not any(word in said for word in words)
    assert not [f for f in tmp_env.rglob("*") if f.is_file() and any(w.encode() in f.read_bytes().lower() for w in words)]


@pytest.mark.parametrize("index", ["split index", "full scan"])
def test_register_gives_each_possible_duplicates_status_without_reading_the_case_again(cli, cli_as, monkeypatch, index):
    """The status of each possible duplicate (open, closed: one to reopen) comes from the index
    that found it (the split index's buckets, or the summaries `load_index` reads): the duplicate's
    records are not decrypted a second time."""
    from cpcm.errors import CannotDecrypt
    from cpcm.store.casestore import CaseStore

    sup = cli_as("sup")
    open_id = register_doc(cli, doc(*CHILDREN[0]))["case_id"]
    closed_id = register_doc(cli, doc(*CHILDREN[1]))["case_id"]  # a similar name, the same birth year
    assert cli("close", closed_id, "--reason", "registered_in_error", "--check", "error_confirmed").code == 0
    assert sup("approve", closed_id, "closure").code == 0
    if index == "full scan":
        monkeypatch.setattr(lookup, "usable", lambda ctx: False)
        context.load_index(library_session(cli))  # the summaries made now: the registration reads them, not the cases
    else:
        agrees(cli)  # the index brought up to date now: the registration reads its buckets, not the cases
    read: list[str] = []
    real = CaseStore.read_records

    def read_records(self, case_id, keys, *args, **kwargs):
        if case_id in (open_id, closed_id):
            read.append(case_id)
            raise CannotDecrypt(f"{case_id} read again", "")
        return real(self, case_id, keys, *args, **kwargs)
    monkeypatch.setattr(CaseStore, "read_records", read_records)
    found = register_doc(cli, doc(*CHILDREN[0]))["possible_duplicates"]
    assert sorted((d["case_id"], d["status"]) for d in found) == sorted([(open_id, "open"), (closed_id, "closed")])
    assert read == []


def test_load_index__a_cold_fill_keeps_only_the_index_fields_of_each_case(cli, monkeypatch):
    """The index a write's duplicate and caseload checks read, when many cases are missing from the
    cache (the first use, or after an upgrade): the cases are filled on every core and `load_index`
    holds only each one's index fields (`case_index`), as it does from a warm cache. Was: every
    folded case held (a `register` right after an upgrade at 100,000 cases: 940 MB, now 420 MB);
    what the checks read is the same."""
    import shutil as shutil_mod

    from cpcm.domain.case import case_index

    register_many(cli, 3)
    warm = context.load_index(library_session(cli))
    shutil_mod.rmtree(library_session(cli).root / ".cpcm" / "cache")
    monkeypatch.setattr(context, "PREFETCH_FROM", 1)  # as many cases missing as a cold fill reads on every core
    cold = context.load_index(library_session(cli))
    assert list(cold) == list(warm) and len(cold) == 3
    for case_id, case in cold.items():
        assert case.history == () and case.registration == {}, case_id  # no more than the index holds
        assert case_index(case) == case_index(warm[case_id])


@pytest.mark.parametrize("state", ["index table warm", "cache gone, filled on every core", "cache gone, read case by case",
                                   "index table of another fold"])
def test_each_indexed__gives_the_cases_load_index_gives_a_case_at_a_time_reading_no_table_whole(cli, monkeypatch, state):
    """A split index is made again from `each_indexed`: a case at a time, with the index fields `load_index` holds
    for it, the index table read a segment and an entry at a time. Was: every case and the whole table held (the
    first `register` with no split index at 100,000 cases, 404 MB; now 194 MB)."""
    from cpcm.domain.case import case_index
    from cpcm.store import cache as cache_mod

    register_many(cli, 5)
    warm = context.load_index(library_session(cli))
    folder = library_session(cli).root / ".cpcm" / "cache" / "amina"
    if state.startswith("cache gone"):
        shutil.rmtree(folder)
        monkeypatch.setattr(context, "PREFETCH_FROM", 1 if "every core" in state else 10_000)
    elif state == "index table of another fold":  # an upgrade: the cases filled on every core
        monkeypatch.setattr(context, "fold_fingerprint", lambda: "another fold")
        monkeypatch.setattr(context, "PREFETCH_FROM", 1)
    earlier = {p.name for p in (folder / "index").iterdir()} if (folder / "index").is_dir() else set()
    loaded: list[str] = []
    real_load = cache_mod.Table.load
    monkeypatch.setattr(cache_mod.Table, "load", lambda self: loaded.append(self.folder.name) or real_load(self))
    given: list = []
    context.each_indexed(library_session(cli), lambda case_id, case: given.append((case_id, case_index(case))))
    assert sorted(given) == sorted((case_id, case_index(case)) for case_id, case in warm.items()) and len(given) == 5
    if state == "index table warm":
        assert "index" not in loaded and "summary" not in loaded, loaded
    elif state == "index table of another fold":  # its segments removed: the new entries are not read beside them
        assert earlier and not earlier & {p.name for p in (folder / "index").iterdir()}
    assert list(context.load_index(library_session(cli))) == list(warm)  # and the cache left as it reads


def test_a_rebuilt_index_answers_as_the_full_scan_after_an_upgrade(cli, monkeypatch):
    """The split index made again from a cache of another fold's code (an upgrade), its cases refilled on every core."""
    for child, caregiver in CHILDREN:
        register_doc(cli, doc(child, caregiver))
    shutil.rmtree(library_session(cli).root / ".cpcm" / "cache" / "amina" / "lookup")
    monkeypatch.setattr(context, "fold_fingerprint", lambda: "another fold")
    monkeypatch.setattr(context, "PREFETCH_FROM", 1)
    agrees(cli)


def test_a_rebuild_holds_each_entry_as_text_until_written_then_reads_the_files(cli, monkeypatch):
    """An index made anew keeps each file's entries as their JSON text until `save` (a rebuild at 100,000 cases
    held 90 MB more as lists and strings), and answers from the files written."""
    for child, caregiver in CHILDREN:
        register_doc(cli, doc(child, caregiver))
    shutil.rmtree(library_session(cli).root / ".cpcm" / "cache" / "amina" / "lookup")
    held: list[tuple] = []
    real_save = lookup.Lookup.save

    def save(self, tree):
        held.append((dict(self.files), sum(len(entries) for entries in (self.made or {}).values())))
        real_save(self, tree)
    monkeypatch.setattr(lookup.Lookup, "save", save)
    look = agrees(cli)  # made anew, then asked as a registration asks it
    files, texts = held[0]
    assert files == {} and texts >= 2 * len(CHILDREN), held  # a bucket and a map shard each, at least
    assert look.made is None and look.files  # read back from the files when asked
