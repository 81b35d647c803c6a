"""`codec.loads` builds lists, mappings and strings itself from the C loader's nodes (the quick
construction), and reads the text cpcm's own writer makes without ruamel (`emit.read`), leaving
everything else to ruamel's constructor: whatever the text, it must give exactly what ruamel's own
construction gives (the same values of the same types, keys in the same order) or refuse it with
the same message. tests/test_codec_subset.py tries the reader of cpcm's own text harder."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.resolver import Resolver

from cpcm.store import codec, yamllib
from test_roundtrip import TRICKY, records, scalars, text

pytestmark = pytest.mark.skipif(not yamllib.QUICK, reason="ruamel's C loader is not installed")


def ruamel_loads(data):
    """`codec.loads` with ruamel's own construction only (the code before the quick one and
    before the reader of cpcm's own text, `emit.read`)."""
    held = yamllib.QUICK, codec._SUBSET
    yamllib.QUICK = codec._SUBSET = False
    try:
        return outcome(codec.loads, data)
    finally:
        yamllib.QUICK, codec._SUBSET = held


def outcome(load, data):
    try:
        return ("value", load(data))
    except codec.BadYaml as exc:
        return ("refused", str(exc))
    except Exception as exc:  # noqa: BLE001 - anything else must be alike too (and is a bug of its own)
        return ("raised", type(exc).__name__)


def same(a, b) -> bool:
    """Equal, of the same types all the way down, mappings in the same order (True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(map(repr_key, a)) == list(map(repr_key, b)) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b


def repr_key(key):
    return type(key), key


def check(data) -> None:
    quick, slow = outcome(codec.loads, data), ruamel_loads(data)
    assert quick[0] == slow[0], (data, quick, slow)
    assert quick[0] != "raised", (data, quick)  # loads refuses bad text with BadYaml, nothing else
    if quick[0] == "refused":
        assert quick[1] == slow[1]
    else:
        assert same(quick[1], slow[1]), (data, quick, slow)


EDGES = [
    "", "x", "~", "- a\n- b\n", "{}", "[]", "a:\n", "a: ''\n", "? a\n: b\n",
    "a: 1\na: 2\n", "1: x\ntrue: y\n", "1: x\n'1': y\n", "null: a\n~: b\n", "a: 1\nb:\n  a: 1\n  a: 2\n",
    "<<: {a: 1}\nb: 2\n", "a: {b: 1}\nc:\n  <<: {b: 2}\n  d: 3\n", "=: 1\n", "a: =\n", "<<: 1\n",
    "[a]: 1\n", "{a: 1}: 2\n", "- [a]: 1\n", "? [a, b]\n: c\n",
    "a: !!set {x}\n", "a: !!omap [{x: 1}]\n", "a: !!pairs [{x: 1}, {x: 2}]\n", "a: !!binary aGk=\n",
    "a: !!str 1\n", "!!str 1: a\n", "a: !!int '7'\n", "a: !!int x\n", "a: !!float x\n", "a: !!map {b: 1}\n",
    "a: !!seq [1]\n", "a: !foo x\n", "!foo {a: 1}\n", "a: !!python/tuple [1]\n", "a: !!timestamp 2026-02-30\n",
    "d: 2026-01-02\nt: 2026-01-02T03:04:05+03:00\nz: 2026-01-02 03:04:05.123456Z\nu: 2026-01-02T03:04:05\n",
    "2026-01-02: a\n2026-01-02 03:04:05: b\n", "d: 2026-02-30\n", "f: 1.5\ng: .inf\nh: -.Inf\nn: .nan\ne: 1e3\nk: 1_000.5\n",
    "i: 0x1f\nj: 0o17\nk: 0b101\nl: 1_000\nm: 010\nn: +7\no: -0\n", "b: [true, True, TRUE, false, yes, no, on, off]\n",
    "n: [~, null, Null, NULL, '', nuLL]\n", "s: 'yes'\nt: \"no\"\nu: 'it''s'\nv: \"tab\\there\\u00e9\\U0001F600\"\n",
    "l: |\n  one\n  two\n", "l: |-\n  one\n", "l: >\n  folded\n  text\n", "l: |+\n  kept\n\n", "a: &x 1\n",
    "a: &x {b: 1}\nc: *x\n", "a: *x\n", "--- a\n--- b\n", "---\na: 1\n...\n", "%YAML 1.1\n---\na: yes\n",
    "%TAG !e! tag:yaml.org,2002:\n---\na: !e!str 1\n", "a: [1, {b: [c, {d: e}]}]\n", "a: b: c\n", "a: 'unterminated\n",
    "\ta: 1\n", "a:\n- 1\n -2\n", "a: \"\\ud800\"\n", "a: 12345678901234567890123\n", "x" * 5000 + ": 1\n",
    "a: 1 # a comment\n#b: 2\n", "'a': 1\n\"b\": 2\n", "? |\n  block key\n: v\n", "a: -\n", "- - - x\n", "-1: a\n1.5: b\n",
]


@pytest.mark.parametrize("data", EDGES)
def test_an_unusual_text_loads_or_is_refused_as_ruamel_would(data):
    check(data)
    check(data.encode("utf-8", "surrogatepass"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_any_record_loads_as_ruamel_loads_it(record):
    check(codec.dumps(record.to_dict()))


moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.sampled_from([None, timezone.utc, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5, minutes=-30))]))
leaves = st.one_of(scalars, st.floats(allow_nan=True), st.dates(), moments, st.binary(max_size=8))
keys = st.one_of(text, st.sampled_from(TRICKY + ["<<", "=", "1", "true", "2026-01-02"]), st.integers(-9, 9), st.booleans(),
                 st.none(), st.dates(), st.floats(allow_nan=False))
documents = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
                         max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_value_ruamel_writes_loads_as_ruamel_loads_it(document):
    try:
        data = codec.dump_text(document)
    except ValueError:
        assume(False)  # a value no record could hold (check_data refuses it before writing)
    check(data)


fragments = st.sampled_from(["a", "b", "<<", "=", "1", "true", "~", "2026-01-02", "'q'", "\"d\"", "!!str", "!!int", "!!set",
                             "!!map", "&x", "*x", "[", "]", "{", "}", ",", ": ", ":", "- ", "? ", "\n", "\n  ", "\n- ",
                             "|\n  ", "#", " ", "0x1f", ".nan", "-.inf"])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(fragments, max_size=24).map("".join))
def test_any_text_made_of_yaml_pieces_loads_or_is_refused_as_ruamel_would(data):
    check(data)


def test_records_are_built_without_ruamels_constructor(monkeypatch):
    """The quick construction is used (a test of speed would be noisy: ruamel's constructor is
    made to fail instead), for the values records hold."""
    data = codec.dumps({"kind": "assessment", "schema": 1, "id": "01M84N0603RNRR0YKKTW6RR3CG", "case": "CP-4F7K-9X2M",
                        "at": "2026-11-23T09:00:00+03:00", "recorded_at": "2026-11-23T09:00:00+03:00", "by": "amina",
                        "needs": ["school fees", {"n": 3, "ok": True, "none": None, "when": date(2026, 1, 2)}], "yes": "yes"})
    expected = codec.loads(data)

    def refuse(*args, **kwargs):
        raise AssertionError("ruamel's constructor was used")
    monkeypatch.setattr(yamllib.CLoader, "get_single_data", refuse)
    assert same(codec.loads(data), expected)


@pytest.mark.parametrize("value", ["", "a", "yes", "~", "null", "True", "1", "-1.5", ".inf", ".NaN", "0x1f", "0o7", "1_0",
                                   "2026-01-02", "2026-01-02T03:04:05Z", "<<", "=", "!", "&", "-", "+", ".", "0b2"])
@pytest.mark.parametrize("plain", [True, False])
def test_the_quick_resolver_gives_ruamels_tags(value, plain):
    ours, theirs = yamllib.QuickLoader(""), Resolver()
    try:
        for kind in (ScalarNode, SequenceNode, MappingNode):
            assert str(ours.resolve(kind, value, (plain, not plain))) == str(theirs.resolve(kind, value, (plain, not plain)))
    finally:
        ours.dispose()
