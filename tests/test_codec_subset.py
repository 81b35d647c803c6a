"""`emit.read` reads the text `emit.dumps` writes without ruamel, and `codec.loads` uses it first:
for any text at all it must give what ruamel gives (the same values of the same types, keys in
the same order) or None, never another value, and never a value where ruamel refuses the text."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpcm.store import codec, emit
from test_codec_quick import check, ruamel_loads, same
from test_roundtrip import TRICKY, records

WORDS = ["a", "Amina Otieno", "school_fees", "Kisumu, Nyando", "it's", "x-ray", "1", "-3", "0", "007", "+5", "1.5", "1e3",
         "2026-01-02", "2026-01-02T03:04:05+03:00", "12:30", "1:20:30", "true", "True", "yes", "no", "on", "null", "~",
         "", " ", "a ", " a", "a: b", "a #b", "#a", "- a", "'a'", "a'", "*a", "&a", "!a", "%a", "@a", "{a}", "[a]",
         "a,b", "é", "\u00a0a", "a\u2028b", "a\tb", "a\nb", "\ufeffa", "a" * 70, *TRICKY]
KEYS = ["kind", "id", "case", "at", "by", "child", "name", "x_1", "_y", "on", "yes", "true", "null", "1", "a b", "a:", "é"]
leaves = st.one_of(st.sampled_from(WORDS), st.integers(-(2**63), 2**63), st.booleans(), st.none(), st.just({}), st.just([]))
values = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.sampled_from(KEYS), inner, min_size=1, max_size=4)),
                      max_leaves=24)
documents = st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=6)
# what records mostly hold: emit writes all of it, so an edit of it is what the reader most often sees
usual = st.recursive(st.one_of(st.sampled_from(WORDS[:16]), st.integers(-99, 99), st.booleans(), st.none()),
                     lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3),
                                             st.dictionaries(st.sampled_from(KEYS[:10]), inner, min_size=1, max_size=3)),
                     max_leaves=16)
usual_documents = st.dictionaries(st.sampled_from(KEYS[:10]), usual, min_size=1, max_size=5)


def agrees(data: bytes) -> None:
    """`emit.read` gives None or exactly ruamel's value; `codec.loads` gives what ruamel gives."""
    found = emit.read(data)
    if found is not None:
        kind, value = ruamel_loads(data)
        assert kind == "value", (data, found, value)
        assert same(found, value), (data, found, value)
    check(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_what_emit_writes_reads_back_as_ruamel_reads_it(document):
    data = emit.dumps(document)
    agrees(data)
    if data != codec.dumps(document) or emit.read(data) is None:
        return
    assert same(emit.read(data), ruamel_loads(data)[1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_any_record_written_by_emit_reads_as_ruamel_reads_it(record):
    agrees(emit.dumps(record.to_dict()))


edits = st.tuples(st.sampled_from(["indent", "dedent", "drop", "twice", "swap", "insert", "cut"]), st.integers(0, 400),
                  st.sampled_from(["#", " ", "\t", ":", ": ", "- ", "'", "\"", "\r", "&x ", "*x", "!!str ", "?", "-", "{", "|"]))


def edited(data: bytes, steps) -> bytes:
    lines = data.decode("utf-8").split("\n")
    for step, at, piece in steps:
        n = at % len(lines)
        if step == "indent":
            lines[n] = "  " + lines[n]
        elif step == "dedent":
            lines[n] = lines[n][2:] if lines[n].startswith("  ") else lines[n][1:]
        elif step == "drop":
            del lines[n]
        elif step == "twice":
            lines.insert(n, lines[n])
        elif step == "swap":
            lines[n], lines[n - 1] = lines[n - 1], lines[n]
        elif step == "insert":
            text = "\n".join(lines)
            spot = at % (len(text) + 1)
            lines = (text[:spot] + piece + text[spot:]).split("\n")
        else:
            lines[n] = lines[n][: at % (len(lines[n]) + 1)]
        if not lines:
            lines = [""]
    return "\n".join(lines).encode("utf-8")


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(documents, usual_documents), st.lists(edits, min_size=1, max_size=3))
def test_text_emit_did_not_write_is_left_to_ruamel_or_read_as_ruamel_reads_it(document, steps):
    agrees(edited(emit.dumps(document), steps))


@pytest.mark.parametrize("word", WORDS)
@pytest.mark.parametrize("form", ["k: {}\n", "k:\n- {}\n", "k: '{}'\n", "{}: x\n", "k:\n  - {}\n", "k:\n  j: {}\n",
                                  "- {}\n", "k:\n- - {}\n- j: {}\n  i: {}\n"])
def test_a_value_in_any_place_reads_as_ruamel_reads_it(word, form):
    agrees(form.replace("{}", word).encode("utf-8", "surrogatepass"))


def test_deep_nesting_is_left_to_codecs_readers():
    value: object = "x"
    for _ in range(20):
        value = [value]
    data = emit.dumps({"a": value})
    assert emit.read(data) is None  # deeper than emit.read goes: codec's readers and their limits
    agrees(data)


def test_a_record_is_read_without_ruamel(monkeypatch):
    data = emit.dumps({"kind": "registration", "schema": 1, "id": "01M84N0603RNRR0YKKTW6RR3CG", "case": "CP-4F7K-9X2M",
                       "at": "2026-11-23T09:00:00+03:00", "by": "amina", "child": {"name": "Amina Otieno", "date_of_birth":
                       "2015-04-01", "disability": "no"}, "concerns": ["neglect", "health_or_disability"],
                       "consent": {"explained": True, "note": None}, "plans": [{"n": 3, "steps": ["visit", "call"]}, {}, []]})
    expected = ruamel_loads(data)[1]

    def refuse(*args, **kwargs):
        raise AssertionError("ruamel's loader was used")
    monkeypatch.setattr(codec, "_lib", refuse)  # ruamel's loaders, and the resolvers emit writes and reads by
    assert same(codec.loads(data), expected)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.sampled_from(["emit", "ruamel"]))
def test_loads_plain_is_plain_of_loads_and_a_document_of_its_own(document, writer):
    """`codec.loads_plain`: `plain(codec.loads(text))`, the same values of the same types, whoever
    reads the text (cpcm's own reader, or ruamel for text emit did not write: dates are read as
    dates there, and made text); two reads share no list or mapping."""
    from cpcm.domain.records import plain

    data = emit.dumps(document) if writer == "emit" else codec.dumps(document) + b"read_as: 2026-01-02\n"
    try:
        expected = plain(codec.loads(data))
    except codec.BadYaml:
        with pytest.raises(codec.BadYaml):
            codec.loads_plain(data)
        return
    first, second = codec.loads_plain(data), codec.loads_plain(data)
    assert same(first, expected) and same(second, expected)
    if writer == "ruamel":
        assert first["read_as"] == "2026-01-02"  # a date to ruamel, text as `plain` makes it
    if isinstance(first, dict) and first:
        first.clear()
        assert same(codec.loads_plain(data), expected)  # what one read gave is its own
