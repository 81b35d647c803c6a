"""The store contract (cpcm/store/contract.py), one suite run against both stores: the real one
(age-encrypted files in git, on a casefile repository made by `cpcm init`) and the one in memory
the service tests use. Whatever the service may rely on is here; a store that passes may stand in
for the other."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date

import pytest
from pyrage import x25519

from cpcm.crypto import identity
from cpcm.domain.ids import RecordIds, new_case_id
from cpcm.domain.records import Record
from cpcm.errors import CannotDecrypt
from cpcm.store import codec
from cpcm.store.casestore import CaseStore
from cpcm.store.contract import Store
from cpcm.store.git import GitError
from cpcm.store.layout import CPCM_DIR, RECIPIENTS, TEAM, case_rel
from cpcm.store.memory import MemoryStore

WORKERS = ("sup", "amina", "otieno")
IDS = RecordIds()


@dataclass
class Subject:
    """A store with the keys of three workers."""

    store: Store
    keys: dict[str, tuple]

    def recipient(self, worker: str) -> str:
        return str(self.keys[worker][0].to_public())

    def record(self, case_id: str, kind: str = "note", **body) -> Record:
        return Record(kind=kind, schema=1, id=IDS.new(1_790_000_000_000), case=case_id, at="2026-11-23T09:00:00+03:00",
                      recorded_at="2026-11-23T09:00:00+03:00", by="amina", body=body or {"text": "a visit"})

    def add_case(self, *readers: str, message: str = "register") -> tuple[str, Record]:
        """A new case readable by `readers`, with one record, in one transaction."""
        case_id = new_case_id()
        record = self.record(case_id, "registration", worker="amina")
        with self.store.transaction("register", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
            tx.replace_file(f"{case_rel(case_id)}/{RECIPIENTS}", ("# readers\n" + "\n".join(readers) + "\n").encode())
            tx.write_record(record, [self.recipient(r) for r in readers])
            tx.commit(f"{message} {case_id} {record.id}")
        return case_id, record


@pytest.fixture(params=[pytest.param("git+age", marks=pytest.mark.e2e), pytest.param("memory", marks=pytest.mark.pure)])
def subject(request) -> Subject:
    if request.param == "memory":
        return Subject(MemoryStore(), {w: (x25519.Identity.generate(),) for w in WORKERS})
    repo, team = request.getfixturevalue("repo"), request.getfixturevalue("team")
    store = CaseStore(repo)
    store.open_for_read()
    return Subject(store, {w: identity.load(team[w][0], lambda: None).keys for w in WORKERS})


class TestStoreContract:
    def test_a_transaction_is_one_commit_by_its_worker_with_its_message(self, subject):
        before = len(subject.store.log())
        case_id, record = subject.add_case("amina", "sup")
        commits = subject.store.log()
        assert len(commits) == before + 1
        last = commits[0]
        assert last.message == f"register {case_id} {record.id}"
        assert (last.author, last.email) == ("Amina", "amina@test.cpcm.invalid")
        assert set(last.files) == {f"{case_rel(case_id)}/{RECIPIENTS}", f"{case_rel(case_id)}/{record.id}.registration.yaml.age"}

    def test_a_record_reads_back_as_written_with_its_plaintext(self, subject):
        case_id, record = subject.add_case("amina")
        assert subject.store.read_records(case_id, subject.keys["amina"]) == [record]
        [(again, plaintext)] = subject.store.read_records_raw(case_id, subject.keys["amina"])
        assert again == record and plaintext == codec.dumps(record.to_dict())
        [path] = subject.store.record_files(case_id)
        assert path.name == f"{record.id}.registration.yaml.age"
        assert subject.store.rel(path) == f"{case_rel(case_id)}/{path.name}"
        assert subject.store.read_raw(path, subject.keys["amina"]) == (record, plaintext)
        assert subject.store.read_file(path, subject.keys["amina"]) == record
        assert subject.store.read_bytes(path)  # what is stored of it: ciphertext, or in memory the plaintext

    def test_a_record_of_awkward_values_reads_back_the_same_from_both(self, subject):
        case_id, _ = subject.add_case("amina")
        body = {"text": "yes", "flag": True, "none": None, "date": date(2026, 12, 20), "text_date": "2026-12-20",
                "zeros": "007", "number": 1.5, "nested": {"list": [1, "no", {"deep": ["on", "off"]}], "tuple": ("a", "b")},
                "unicode": "Wanjikũ — ñ", "empty": "", "multiline": "two\nlines"}
        note = subject.record(case_id, **body)
        with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
            tx.write_record(note, [subject.recipient("amina")])
            tx.commit("note")
        [path] = [p for p in subject.store.record_files(case_id) if p.name.startswith(note.id)]
        again, plaintext = subject.store.read_raw(path, subject.keys["amina"])
        assert plaintext == codec.dumps(note.to_dict())
        assert again == Record.from_dict(codec.loads(plaintext))  # what the YAML text gives back, in both stores
        assert again.body["date"] == "2026-12-20" and again.body["text"] == "yes" and again.body["nested"]["tuple"] == ["a", "b"]

    @pytest.mark.parametrize("spread", [False, True], ids=["one-by-one", "on-every-core"])
    def test_a_batch_of_records_is_written_in_order_each_to_its_readers(self, subject, spread, monkeypatch):
        from cpcm.store import casestore

        monkeypatch.setattr(casestore, "SPREAD_FROM", 2 if spread else 10**6)
        first, _ = subject.add_case("amina")
        second, _ = subject.add_case("amina", "otieno")
        notes = [subject.record(first, text="one"), subject.record(second, text="two"), subject.record(first, text="three")]
        readers = [["amina"], ["amina", "otieno"], ["amina"]]
        with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
            names = tx.write_records([(n, [subject.recipient(r) for r in who]) for n, who in zip(notes, readers)])
            tx.commit("notes")
        assert names == [f"{case_rel(n.case)}/{n.id}.note.yaml.age" for n in notes]
        assert subject.store.read_records(first, subject.keys["amina"])[1:] == [notes[0], notes[2]]
        assert subject.store.read_records(second, subject.keys["otieno"])[1:] == [notes[1]]
        with pytest.raises(CannotDecrypt):
            subject.store.read_records(first, subject.keys["otieno"])

    def test_cases_their_readers_and_their_records_are_listed(self, subject):
        first, _ = subject.add_case("amina", "sup")
        second, _ = subject.add_case("otieno", "sup")
        assert {first, second} <= set(subject.store.case_ids())
        assert subject.store.exists(first) and not subject.store.exists(new_case_id())
        assert subject.store.recipients(first) == ["amina", "sup"]  # the comment line is not a reader
        [recipients_file] = [p for p in subject.store.log()[0].files if p.endswith(RECIPIENTS)]
        assert subject.store.read_bytes(subject.store.record_files(second)[0].parent / RECIPIENTS) == b"# readers\notieno\nsup\n"
        assert recipients_file == f"{case_rel(second)}/{RECIPIENTS}"
        assert subject.store.recipients(new_case_id()) == []
        assert subject.store.record_files(new_case_id()) == []

    def test_only_a_recipient_can_read_a_record(self, subject):
        case_id, _ = subject.add_case("amina")
        with pytest.raises(CannotDecrypt) as refused:
            subject.store.read_records(case_id, subject.keys["otieno"])
        assert f"{case_rel(case_id)}/" in str(refused.value) and "your key" in str(refused.value)

    def test_records_are_append_only(self, subject):
        case_id, record = subject.add_case("amina")
        before = len(subject.store.log())
        with pytest.raises(FileExistsError):
            with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
                tx.write_record(record, [subject.recipient("amina")])
                tx.commit("note")
        assert len(subject.store.log()) == before
        assert subject.store.read_records(case_id, subject.keys["amina"]) == [record]

    @pytest.mark.parametrize("how", ["no commit", "an error"])
    def test_a_transaction_left_without_its_commit_leaves_nothing(self, subject, how):
        case_id, record = subject.add_case("amina")
        before = (len(subject.store.log()), subject.store.case_ids(), subject.store.recipients(case_id))
        other = new_case_id()
        with pytest.raises(RuntimeError) if how == "an error" else nullcontext():
            with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
                tx.write_record(subject.record(case_id), [subject.recipient("amina")])
                tx.replace_file(f"{case_rel(case_id)}/{RECIPIENTS}", b"otieno\n")
                tx.replace_file(f"{case_rel(other)}/{RECIPIENTS}", b"amina\n")
                tx.write_record(subject.record(other), [subject.recipient("amina")])
                if how == "an error":
                    raise RuntimeError("stopped half-way")
        assert (len(subject.store.log()), subject.store.case_ids(), subject.store.recipients(case_id)) == before
        assert subject.store.read_records(case_id, subject.keys["amina"]) == [record]
        assert subject.store.record_files(other) == [] and not subject.store.exists(other)

    def test_a_commit_with_nothing_written_is_refused(self, subject):
        before = len(subject.store.log())
        with pytest.raises(GitError):
            with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
                tx.commit("nothing")
        assert len(subject.store.log()) == before

    def test_inside_its_transaction_a_writer_reads_what_it_wrote(self, subject):
        case_id, record = subject.add_case("amina")
        note = subject.record(case_id)
        with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
            tx.write_record(note, [subject.recipient("amina")])
            assert subject.store.read_records(case_id, subject.keys["amina"]) == sorted([record, note], key=lambda r: r.id)
            tx.commit(f"note {case_id} {note.id}")
        assert len(subject.store.read_records(case_id, subject.keys["amina"])) == 2

    def test_reencrypt_gives_a_case_to_new_readers_in_one_commit(self, subject):
        case_id, record = subject.add_case("amina", "sup")
        before = len(subject.store.log())
        with subject.store.transaction("assign", "sup", "Sup", "sup@test.cpcm.invalid") as tx:
            for path in subject.store.record_files(case_id):
                tx.reencrypt(path, subject.keys["sup"], [subject.recipient("otieno"), subject.recipient("sup")])
            tx.replace_file(f"{case_rel(case_id)}/{RECIPIENTS}", b"otieno\nsup\n")
            tx.commit(f"assign {case_id}")
        assert len(subject.store.log()) == before + 1
        assert subject.store.read_records(case_id, subject.keys["otieno"]) == [record]
        assert subject.store.recipients(case_id) == ["otieno", "sup"]
        with pytest.raises(CannotDecrypt):
            subject.store.read_records(case_id, subject.keys["amina"])

    def test_a_plain_file_is_replaced_and_deleted(self, subject):
        rel = f"{TEAM}.contract-test"
        for data in (b"workers: []\n", b"workers: [x]\n"):
            with subject.store.transaction("team", "sup", "Sup", "sup@test.cpcm.invalid") as tx:
                tx.replace_file(rel, data)
                tx.commit("team")
        with subject.store.transaction("team", "sup", "Sup", "sup@test.cpcm.invalid") as tx:
            tx.delete_file(rel)
            tx.commit("team gone")
        assert [c.message for c in subject.store.log([rel])] == ["team gone", "team", "team"]
        assert [c.message for c in subject.store.log([rel], added_only=True)] == ["team"]

    def test_log_of_a_case_names_the_commit_that_added_each_record(self, subject):
        case_id, record = subject.add_case("amina")
        note = subject.record(case_id)
        with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
            tx.write_record(note, [subject.recipient("amina")])
            tx.commit(f"note {case_id} {note.id}")
        added = subject.store.log([case_rel(case_id)], added_only=True)
        assert [c.message for c in added] == [f"note {case_id} {note.id}", f"register {case_id} {record.id}"]
        assert added[0].files == (f"{case_rel(case_id)}/{note.id}.note.yaml.age",)

    def test_a_case_version_changes_with_the_case_and_only_then(self, subject):
        first, _ = subject.add_case("amina")
        second, _ = subject.add_case("amina")
        before = subject.store.versions()
        assert before[first] and before[second] and before[first] != before[second]
        with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
            tx.write_record(subject.record(first), [subject.recipient("amina")])
            tx.commit("note")
        after = subject.store.versions()
        assert after[first] != before[first] and after[second] == before[second]

    def test_the_generation_moves_with_each_transaction_and_locked_holds_one(self, subject):
        case_id, _ = subject.add_case("amina")
        before = subject.store.generation()
        subject.store.read_records(case_id, subject.keys["amina"])
        assert subject.store.generation() == before  # reading moves nothing
        with subject.store.locked():
            with subject.store.locked():  # nested: the outer one holds the lock
                with subject.store.transaction("note", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
                    tx.write_record(subject.record(case_id), [subject.recipient("amina")])
                    tx.commit("note")
        after = subject.store.generation()
        assert after != before and after % 2 == before % 2 == 0  # even again: no write under way
        assert len(subject.store.read_records(case_id, subject.keys["amina"])) == 2

    def test_the_summary_cache_serves_an_entry_only_for_its_version(self, subject):
        case_id, _ = subject.add_case("amina")
        version = subject.store.versions()[case_id]
        keys = subject.keys["amina"]
        cache = subject.store.summaries("amina", subject.recipient("amina"), keys, "fold-1")
        assert cache.get(case_id, version) is None
        cache.put(case_id, version, {"id": case_id})
        cache.save()
        again = subject.store.summaries("amina", subject.recipient("amina"), keys, "fold-1")
        assert again.get(case_id, version)["case"] == {"id": case_id}
        assert again.get(case_id, "another version") is None and again.get(case_id, None) is None
        assert subject.store.summaries("amina", subject.recipient("amina"), keys, "fold-2").get(case_id, version) is None

    def test_a_plain_file_reads_back_byte_for_byte_and_a_missing_one_is_none(self, subject):
        rel = f"{CPCM_DIR}/contract-test.yaml"
        assert subject.store.read_plain(rel) is None and not subject.store.has_file(rel)
        data = "services:\n- id: clinic\n  provider: Kliniki ya Kaunti — ñ\n".encode()
        with subject.store.transaction("service-add", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
            tx.replace_file(rel, data)
            assert subject.store.read_plain(rel) == data and subject.store.has_file(rel)  # the writer reads what it wrote
            tx.commit("service add")
        assert subject.store.read_plain(rel) == data and subject.store.has_file(rel)
        with subject.store.transaction("service-add", "amina", "Amina", "amina@test.cpcm.invalid") as tx:
            tx.replace_file(rel, b"services: []\n")  # left without its commit
        assert subject.store.read_plain(rel) == data
        assert subject.store.read_plain(f"{CPCM_DIR}/no-such-file.yaml") is None

    def test_has_file_finds_a_folders_recipients_and_records_under_either_top(self, subject):
        case_id, record = subject.add_case("amina")
        [path] = subject.store.record_files(case_id)
        assert subject.store.has_file(f"{case_rel(case_id)}/{RECIPIENTS}") and subject.store.has_file(subject.store.rel(path))
        assert not subject.store.has_file(case_rel(case_id)) and not subject.store.has_file(f"{case_rel(new_case_id())}/{RECIPIENTS}")
        conference = "CC-0000-0000"
        with subject.store.transaction("conference-new", "sup", "Sup", "sup@test.cpcm.invalid") as tx:
            tx.replace_file(f"conferences/{conference}/{RECIPIENTS}", b"sup\n")
            tx.write_record(subject.record(conference, "conference"), [subject.recipient("sup")], "conferences")
            tx.commit(f"conference new {conference}")
        assert subject.store.has_file(f"conferences/{conference}/{RECIPIENTS}")
        assert not subject.store.has_file(f"conferences/CC-0000-0001/{RECIPIENTS}")
        assert not subject.store.exists(conference)  # a case's `exists` does not look among conferences
        with pytest.raises(ValueError):
            subject.store.read_plain(subject.store.rel(path))  # a record file is not a plain file
