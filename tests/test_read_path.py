"""The read path of a cold fill (store/casestore.py `read_records`, domain/records.py
`Record.from_plain`, service/fill.py `_Collect`) gives what the code it replaced gave: the same
records (every value, in the same order), the same errors for damaged or unreadable files
(type, message, path, hint), and the same text for each record in the record table.

The reference below is the earlier code, kept here as it was: file paths made with pathlib,
`Record.from_dict` making the parsed YAML plain once for the record and once for the record
table, and the table's text written only when `plain_json` says it reads back as it is."""
from __future__ import annotations

import json
import os
import pathlib

import pytest

from conftest import git, library_session, register_many

from cpcm.crypto import cipher, identity
from cpcm.domain.records import HEADER, Record, plain, record_damage
from cpcm.errors import CannotDecrypt, Corrupt
from cpcm.service import fill
from cpcm.store import codec, memo
from cpcm.store.cache import plain_json, record_shard
from cpcm.store.git import blob_id
from cpcm.store.casestore import CaseStore
from cpcm.store.layout import CASES, RECORD_FILE, case_dir, folder_dir

_OLD_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def old_from_dict(data) -> Record:
    data = plain(data)
    missing = [key for key in HEADER if key not in data]
    if missing:
        raise KeyError(missing[0])
    body = {k: v for k, v in data.items() if k not in HEADER}
    return Record(
        kind=str(data["kind"]), schema=int(data["schema"]), id=str(data["id"]),
        case=str(data["case"]), at=str(data["at"]), recorded_at=str(data["recorded_at"]),
        by=str(data["by"]), body=body,
    )


def old_read(root: pathlib.Path, case_id: str, keys, top: str = CASES):
    """(records, [(case id, blob id, JSON text)] for the record table) as the earlier code read a case, in the
    case's folder of format 2 (cases/XX/ID) as pathlib makes it; with the check of a record's kind against its file
    name, added since."""
    folder = folder_dir(root, top, case_id)
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if RECORD_FILE.match(e.name))
    except (FileNotFoundError, NotADirectoryError):
        names = []
    records, found = [], []
    for path in [folder / name for name in names]:
        rel = str(path.relative_to(root))
        data = path.read_bytes()
        try:
            plaintext = cipher.decrypt(data, keys)
        except cipher.NotARecipient:
            raise CannotDecrypt(f"{rel} is not encrypted to your key",
                                "Only the case's worker, supervisors and managers can read it; check --identity.") from None
        except cipher.Damaged as exc:
            raise Corrupt(f"{rel} is damaged or truncated ({exc})", rel, "Restore it from git: git checkout HEAD -- " + rel) from None
        try:
            loaded = codec.loads(plaintext)
        except codec.BadYaml:
            raise Corrupt(f"{rel} decrypts but is not a valid record (it is not YAML cpcm reads)", rel) from None
        try:
            record = old_from_dict(loaded)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Corrupt(f"{rel} decrypts but is not a valid record ({record_damage(exc)})", rel) from None
        match = RECORD_FILE.match(path.name)
        if not match or match["id"] != record.id or match["kind"] != record.kind or path.parent.name != record.case:
            raise Corrupt(f"{rel} holds a record whose id, kind or case does not match its file name", rel)
        value = plain(loaded)
        if plain_json(value):
            found.append((case_id, blob_id(data), _OLD_COMPACT(value)))
        records.append(record)
    return records, found


def outcome(read):
    """What a read gave: its records as their repr (every value, its type and the order of the
    keys), or its error as (type, message, path, hint)."""
    try:
        records = read()
    except (Corrupt, CannotDecrypt) as exc:
        return ("error", type(exc).__name__, exc.message, getattr(exc, "path", None), exc.hint)
    return ("records", [repr(r) for r in records])


HEAD = "kind: {kind}\nschema: 1\nid: {id}\ncase: {case}\nat: '2026-01-02T03:04:05+00:00'\n" \
       "recorded_at: '2026-01-02T03:04:05+00:00'\nby: amina\n"
ODD_BODIES = {  # YAML bodies whose values `plain` changes, or that JSON would not read back as they are
    "dates": "when: 2026-02-03\nseen: 2026-02-03T10:11:12+03:00\nlist: [2026-01-01, 1, 2.5, true, null]\n",
    "not-json": "ratio: .nan\nbig: -.inf\n",
    "binary": "blob: !!binary aGVsbG8=\n",
    "set": "things: !!set {a: null, b: null}\n",
    "keys": "7: one\nfalse: yes\nnested: {2: two, 3.5: [x, {4: y}]}\n",
    "ordered": "zeta: 1\nalpha: {z: 1, a: 2}\nmid: [b, a]\n",
    "nested": "a: {b: {c: {d: [1, [2, [3, {e: f}]]]}}}\n",
}
BAD_DOCUMENTS = {  # what a file decrypts to, and is not a record of
    "missing": "kind: note\nschema: 1\nid: {id}\ncase: {case}\n",
    "schema": HEAD.replace("schema: 1", "schema: many"),
    "schema-list": HEAD.replace("schema: 1", "schema: [1]"),
    "list": "- kind\n- schema\n",
    "text": "kind schema id case at recorded_at by\n",
    "number": "12\n",
    "null": "~\n",
    "empty": "",
    "yaml": "kind: [unclosed\n",
    "other-id": HEAD.replace("id: {id}", "id: 01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    "other-case": HEAD.replace("case: {case}", "case: CP-ZZZZ-ZZZZ"),
}
BAD_FILES = ("truncated", "flipped", "not-age", "empty-file", "other-key")


def _case(root: pathlib.Path, case_id: str, readers: list[str]) -> pathlib.Path:
    folder = case_dir(root, case_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipients").write_text("# worker ids who may read this case\n" + "".join(f"{r}\n" for r in readers))
    return folder


def _write(folder: pathlib.Path, record_id: str, kind: str, text: str, recipient: str) -> pathlib.Path:
    path = folder / f"{record_id}.{kind}.yaml.age"
    path.write_bytes(cipher.encrypt(text.encode(), [recipient]))
    return path


def _make_odd_cases(root: pathlib.Path, recipient: str, other: str) -> list[str]:
    """Cases whose records hold odd values, and one case per damaged or unreadable file."""
    made = []
    ids = iter(f"01KA{n:022d}" for n in range(1000))
    for name, body in ODD_BODIES.items():
        case_id = f"CP-ODD{len(made):02d}-{name.upper()[:4]}"
        folder = _case(root, case_id, ["amina"])
        for kind in ("note", "visit"):
            record_id = next(ids)
            _write(folder, record_id, kind, HEAD.format(kind=kind, id=record_id, case=case_id) + body, recipient)
        made.append(case_id)
    for name, document in BAD_DOCUMENTS.items():
        case_id = f"CP-BAD{len(made):02d}-DOC"
        folder = _case(root, case_id, ["amina"])
        good = next(ids)
        _write(folder, good, "note", HEAD.format(kind="note", id=good, case=case_id), recipient)
        record_id = next(ids)
        _write(folder, record_id, "note", document.replace("{id}", record_id).replace("{case}", case_id), recipient)
        made.append(case_id)
    for how in BAD_FILES:
        case_id = f"CP-BAD{len(made):02d}-FILE"
        folder = _case(root, case_id, ["amina"])
        record_id = next(ids)
        path = _write(folder, record_id, "note", HEAD.format(kind="note", id=record_id, case=case_id),
                      other if how == "other-key" else recipient)
        data = path.read_bytes()
        if how == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif how == "flipped":
            path.write_bytes(data[:-20] + bytes([data[-20] ^ 0xFF]) + data[-19:])
        elif how == "not-age":
            path.write_bytes(b"kind: note\n")
        elif how == "empty-file":
            path.write_bytes(b"")
        made.append(case_id)
    return made


@pytest.fixture
def odd_repo(cli, tmp_path):
    """A repository of registered cases and of hand-made cases with odd values and damaged files."""
    registered = register_many(cli, 3)
    root = pathlib.Path(cli.env["CPCM_REPO"])
    keys = identity.load(pathlib.Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys
    recipient = str(keys[0].to_public())
    _, other = identity.generate("2026-01-01T00:00:00+00:00", "another key")
    made = _make_odd_cases(root, recipient, other)
    return root, keys, registered, made


def test_every_case_reads_to_the_same_records_errors_and_record_table_text_as_before(odd_repo):
    root, keys, registered, made = odd_repo
    store = CaseStore(root)
    kinds_of_outcome = set()
    for case_id in [*registered, *made, "CP-NONE-0000"]:
        expected = outcome(lambda: old_read(root, case_id, keys)[0])
        kinds_of_outcome.add(expected[1] if expected[0] == "error" else "records")
        expected_found = old_read(root, case_id, keys)[1] if expected[0] == "records" else None
        for cache in (None, fill._Collect(None)):  # decrypted without a record table, and as a fill reads it
            memo.forget_records()
            store.record_cache = cache
            assert outcome(lambda: store.read_records(case_id, keys)) == expected, (case_id, cache)
            if cache is not None and expected_found is not None:
                assert cache.found == expected_found, case_id
            memo.forget_records()
            assert outcome(lambda: [store.read_file(p, keys) for p in store.record_files(case_id)]) == expected, case_id
        store.record_cache = None
    assert kinds_of_outcome == {"records", "Corrupt", "CannotDecrypt"}


def test_the_odd_values_are_kept_or_left_out_of_the_record_table_as_before(odd_repo):
    root, keys, _, made = odd_repo
    store = CaseStore(root)
    left_out = kept = 0
    for case_id in made[:len(ODD_BODIES)]:
        collect = store.record_cache = fill._Collect(None)
        records = store.read_records(case_id, keys)
        expected_records, expected_found = old_read(root, case_id, keys)
        assert [repr(r) for r in records] == [repr(r) for r in expected_records]
        assert collect.found == expected_found
        kept += len(expected_found)
        left_out += len(records) - len(expected_found)
    assert kept and left_out  # both ways are tried: NaN, bytes and sets are not kept


def test_a_record_table_that_keeps_values_gets_its_own_copy(odd_repo):
    """The record and the value kept in a record table share nothing (a record's body is its own)."""
    root, keys, registered, _ = odd_repo

    class Keeping:
        def __init__(self):
            self.kept = {}

        def usable(self, keys):
            return True

        def get(self, blob, case_id):
            return None

        def put(self, blob, loaded, case_id):
            self.kept[blob] = loaded

    store = CaseStore(root)
    cache = store.record_cache = Keeping()
    memo.forget_records()
    (record,) = store.read_records(registered[0], keys)
    (kept,) = cache.kept.values()
    assert kept["child"] == record.body["child"] and kept["child"] is not record.body["child"]
    assert kept["concerns"] is not record.body["concerns"]


# the last three: IDs whose two characters after "CP-" (their folder in cases/, format 2) pathlib would change
@pytest.mark.parametrize("case_id", ["CP-A/../CP-B", "CP-B/", "./CP-B", "CP-B//", "CP-B/.", "CP-.", "CP-", "CP-./B"])
def test_a_case_id_pathlib_would_change_is_read_as_pathlib_reads_it(odd_repo, case_id):
    root, keys, registered, _ = odd_repo
    store = CaseStore(root)
    real = registered[0]
    folder = case_dir(root, case_id)  # as pathlib makes it: cases/A/CP-A/../CP-B, cases/B/CP-B, cases/CP/CP-B, ...
    os.makedirs(folder.parent, exist_ok=True)  # cases/A/CP-A for the first
    case_dir(root, real).rename(folder)
    places = store._places_live(case_id, CASES)
    paths = store._files_live(case_id, CASES)
    assert places == [(store.rel(p), p.name, p.parent.name, p) for p in paths] and places
    text = (folder / "recipients").read_text()
    assert store.recipients(case_id) == [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert "amina" in store.recipients(case_id)
    assert outcome(lambda: store.read_records(case_id, keys)) == outcome(lambda: old_read(root, case_id, keys)[0])


def test_the_places_of_a_case_are_the_files_pathlib_lists(odd_repo):
    root, _, registered, made = odd_repo
    store = CaseStore(root)
    for case_id in [*registered, *made, "CP-NONE-0000"]:
        places = store._places_live(case_id, CASES)
        assert [(rel, name, folder, pathlib.Path(on_disk)) for rel, name, folder, on_disk in places] \
            == [(store.rel(p), p.name, p.parent.name, p) for p in store._files_live(case_id, CASES)]


RECORD_SHAPES = [
    {"kind": "k", "schema": 1, "id": "i", "case": "c", "at": "a", "recorded_at": "r", "by": "b"},
    {"by": "b", "zeta": [1, {"y": 2}], "kind": "k", "schema": True, "id": 7, "case": "c", "at": "a",
     "recorded_at": "r", "alpha": {"b": 1, "a": 2}},
    {"kind": "k", "schema": "2", "id": "i", "case": "c", "at": "a", "recorded_at": "r", "by": "b", 3: "three"},
    {"kind": "k", "schema": "x", "id": "i", "case": "c", "at": "a", "recorded_at": "r", "by": "b"},
    {"kind": "k", "schema": None, "id": "i", "case": "c", "at": "a", "recorded_at": "r", "by": "b"},
    {"kind": "k", "schema": [1], "id": "i", "case": "c", "at": "a", "recorded_at": "r", "by": "b"},
    {"kind": "k", "id": "i"},
    {},
    ["kind", "schema", "id", "case", "at", "recorded_at", "by"],
    ["kind"],
    "kind schema id case at recorded_at by",
    "nothing",
    None,
    12,
    2.5,
]


@pytest.mark.parametrize("data", RECORD_SHAPES)
def test_from_dict_gives_the_record_or_the_error_it_gave_before(data):
    def made(build):
        try:
            return ("record", repr(build(data)))
        except Exception as exc:  # noqa: BLE001 - the error itself is compared
            return ("error", type(exc), str(exc))
    expected = made(old_from_dict)
    assert made(Record.from_dict) == expected
    assert made(lambda d: Record.from_plain(plain(d))) == expected


def test_the_collector_keeps_what_plain_json_kept_with_the_same_text():
    from datetime import date, datetime, timezone

    class Text(str):
        pass

    class Number(float):
        pass

    values = [
        {"a": [1, "x", None, True, {"c": 2.5}], "d": date(2026, 1, 2), "t": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)},
        {Text("k"): Text("v"), "n": Number(1.5), 1: (2, 3)},
        {"a": float("nan")}, {"a": [float("inf")]}, {"a": {"b": -float("inf")}}, {"a": Number("nan")},
        {"a": b"bytes"}, {"a": {1, 2}}, {"a": frozenset()}, {"a": complex(1, 2)}, {"a": object},
        {"a": [[[]]], "b": {}, "c": ""}, {"é": "ü\u2028", "q": '"\\'},
    ]
    for value in values:
        value = plain(value)  # what the store gives it
        collect = fill._Collect(None)
        collect.put("blob", value, "CP-0000-0000")
        expected = [("CP-0000-0000", "blob", _OLD_COMPACT(value))] if plain_json(value) else []
        assert collect.found == expected, value


def test_memo_get_misses_without_changing_the_order():
    kept = memo.Bounded(2)
    kept.put("a", 1)
    kept.put("b", None)
    assert kept.get("x") is None
    assert kept.get("b") is None and kept.get("a") == 1  # a stored None is still used: "b" is now the oldest
    kept.put("c", 3)
    assert kept.get("b") is None and kept.get("a") == 1 and kept.get("c") == 3
    assert len(kept) == 2


def test_a_cold_fill_writes_each_record_to_the_record_table_with_the_text_of_before(cli):
    """`cpcm list` with an empty cache: every record of every case is in the record table's
    segments, decrypted, as the text the earlier code made of it (dates made text), nothing more."""
    registered = register_many(cli, 4)
    root = pathlib.Path(cli.env["CPCM_REPO"])
    keys = identity.load(pathlib.Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys
    recipient = str(keys[0].to_public())
    ids = iter(f"01KB{n:022d}" for n in range(1000))
    for case_id, body in zip(registered, ("when: 2026-02-03\n", "ratio: .nan\n", "seen:\n- 2026-02-03T10:11:12+03:00\n")):
        record_id = next(ids)
        _write(case_dir(root, case_id), record_id, "note", HEAD.format(kind="note", id=record_id, case=case_id) + body, recipient)
    git(root, "add", "-A", CASES)
    git(root, "-c", "user.name=t", "-c", "user.email=t@test.invalid", "commit", "-q", "-m", "notes")
    expected = {}
    for case_id in registered:
        expected.update({blob: (case_id, text) for _, blob, text in old_read(root, case_id, keys)[1]})
    assert len(expected) == 4 + 2  # the note with NaN is not kept
    result = cli("list", "--json")
    assert result.code == 0, result.stderr
    ctx = library_session(cli)
    cache = ctx.store.summaries(ctx.worker.id, ctx.identity.recipient, ctx.keys, fill.fold_fingerprint())
    written = {}
    for shard in cache.records.every_shard():
        for name in shard.segments():
            text = cipher.decrypt((shard.folder / name).read_bytes(), keys).decode()
            entries = json.loads(text)["entries"]
            for blob in entries:
                written[blob] = shard.folder.name, text
    assert set(written) == set(expected)
    for blob, (case_id, value_text) in expected.items():
        assert written[blob][0] == record_shard(case_id)  # in its case's shard
        assert f'{json.dumps(blob)}:{value_text}' in written[blob][1]
