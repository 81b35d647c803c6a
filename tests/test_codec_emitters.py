"""Records are written with ruamel's C emitter when it is installed (a quarter of the pure
emitter's time) and the pure one otherwise: both must write text that reads back as the same
record, whatever a person typed. Record files are written by `emit.dumps`, which writes the
plain values most records hold itself and must write exactly the bytes `codec.dumps` writes."""
from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml.emitter import Emitter

from cpcm.store import codec, emit, yamllib
from test_roundtrip import TRICKY, keys, records, spelled

REVIEW_HEADER = {"kind": "review", "schema": 1, "id": "01M84N0603RNRR0YKKTW6RR3CG", "case": "CP-4F7K-9X2M",
                 "at": "2026-11-23T09:00:00+03:00", "recorded_at": "2026-11-23T09:00:00+03:00", "by": "amina"}

PURE = yamllib.yaml(pure=True)
PURE.representer.add_representer(str, yamllib.represent_str)


def pure_dumps(data) -> bytes:
    stream = io.StringIO()
    PURE.dump(data, stream)
    return stream.getvalue().encode("utf-8")


def test_records_are_written_by_the_c_emitter_when_installed():
    assert yamllib.DUMPER.Emitter is not Emitter  # the C extension is a dependency's wheel on every platform we ship to


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # test_roundtrip runs 100 more through codec.dumps
@given(records())
def test_both_emitters_write_what_reads_back_as_the_record(record):
    data = record.to_dict()
    assert codec.loads(codec.dumps(data)) == data
    assert codec.loads(pure_dumps(data)) == data


def test_text_a_person_types_reads_back_from_either_emitter():
    body = {"tricky": TRICKY, "long": "x" * 5000, "quotes": "'q' and \"dq\"", "separators": "a\u2028b\x85c",
            "lines": "one\n\n  two\n", "tab": "a\tb", "tab_first": "\tindented\nnext", "tab_line": "\t\n",
            "tabs_later": "a\n\tb\n"}
    assert codec.loads(codec.dumps(body)) == body
    assert codec.loads(pure_dumps(body)) == body
    # a tab with line breaks: double-quoted by both (the pure emitter's literal block of a first line
    # that starts with a tab does not read back)
    for name in ("tab_first", "tab_line", "tabs_later"):
        assert codec.dumps({name: body[name]}) == pure_dumps({name: body[name]})
        assert codec.dumps({name: body[name]}).startswith(f'{name}: "'.encode())


# -- emit.dumps: records without ruamel's representer, byte for byte what codec.dumps writes -----

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
WORDS = spelled(LETTERS, LETTERS + "0123456789 _.,;:()/+'-", 30)
PLAIN_VALUES = st.recursive(
    st.one_of(WORDS, st.sampled_from(TRICKY), st.integers(-(2**63), 2**63), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "y", "n", "yes", "null", "Null", "nULL", "_k"]) | keys, inner, max_size=4)),
    max_leaves=15)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_the_light_writer_writes_any_record_as_codec_dumps_does(record):
    data = record.to_dict()
    assert emit.dumps(data) == codec.dumps(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, PLAIN_VALUES, max_size=8))
def test_the_light_writer_writes_the_values_it_knows_as_codec_dumps_does(body):
    data = dict(REVIEW_HEADER, **body)
    assert emit.dumps(data) == codec.dumps(data)


def test_the_light_writer_writes_a_review_itself_and_leaves_other_text_to_codec(monkeypatch):
    review = dict(REVIEW_HEADER, chair="grace", attended={"child": "yes", "family": "no"}, plan_still_right="yes",
                  decisions=["continue the plan", "visit school (term 2)"], outcome="continue", next_review="2027-02-23",
                  score=3, flags=[], extra={}, note=None, done=True)
    given_to_codec = []
    real = codec.dumps
    monkeypatch.setattr(codec, "dumps", lambda data: (given_to_codec.append(data), real(data))[1])
    text = emit.dumps(review)
    assert given_to_codec == [] and text == real(review)
    assert codec.loads(text) == review
    for other in ("two\nlines", "a: b", " lead", "x" * 2000, "tab\there", "Özdemir — 子供 😀", 1.5):
        given_to_codec.clear()
        assert emit.dumps(dict(review, note=other)) == real(dict(review, note=other))
        assert len(given_to_codec) == 1
