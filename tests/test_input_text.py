"""The input gate's parts, without the command line: text checks (cpcm/domain/text.py), YAML
typed by a person read with limits (codec.load_input), the codec refusing to write what it
could not read back, and form coercion taking only plain values."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpcm.domain import forms, text
from cpcm.errors import UsageError
from cpcm.store import codec

TODAY = date(2026, 11, 23)


# -- text ------------------------------------------------------------------------------------
def test_invalid_offset_is_the_byte_offset_of_the_first_bad_byte():
    assert text.invalid_offset("plain") is None
    assert text.invalid_offset(b"caf\xe9".decode("utf-8", "surrogateescape")) == 3
    assert text.invalid_offset(b"\xc3\xa9t\xe9".decode("utf-8", "surrogateescape")) == 3  # after a two-byte letter
    assert text.invalid_offset("\ud800") == 0


def test_check_and_decode_name_the_input_and_offset_never_the_value():
    with pytest.raises(UsageError) as raised:
        text.check("Secretname\udce9", "--text")
    assert raised.value.exit_code == 2
    assert raised.value.message == "--text is not valid UTF-8 text (the byte at offset 10 cannot be read)"
    with pytest.raises(UsageError) as raised:
        text.decode("Secretname ".encode() + b"\xff", "child.yaml")
    assert "child.yaml" in raised.value.message and "offset 11" in raised.value.message
    assert "Secretname" not in raised.value.message
    assert text.decode("\ufeffname: x".encode(), "f") == "name: x"  # a byte-order mark is dropped
    with pytest.raises(UsageError, match="larger than 1 MiB"):
        text.decode(b"x" * (text.MAX_INPUT_BYTES + 1), "-")


def test_check_data_names_the_field_holding_a_bad_string():
    with pytest.raises(UsageError) as raised:
        text.check_data({"child": {"names": ["ok", "Secret\udce9"]}}, "the input")
    assert "child.names[2]" in raised.value.message and "Secret" not in raised.value.message
    text.check_data({"child": {"name": "Amélie", "age": 3, "when": date(2026, 1, 1)}}, "the input")


@pytest.mark.parametrize("bad", ["\x00", "\x1b[2J", "\x9b2J"])
def test_control_characters_are_refused_named_never_shown(bad):
    """Typed text holds no NUL, escape or CSI: an escape sequence in a record would make a
    terminal act when the record is shown (other pasted control characters are kept:
    tests/test_roundtrip.py)."""
    for call in (lambda: text.check(f"Zawadi{bad}x", "--text"), lambda: text.decode(f"é{bad}".encode(), "--from-file")):
        with pytest.raises(UsageError) as raised:
            call()
        assert "control character" in raised.value.message and "Zawadi" not in raised.value.message
    with pytest.raises(UsageError) as raised:
        text.check_data({"child": {"name": f"Zawadi{bad}"}}, "the input", controls=True)
    assert "the input: child.name holds a control character" in raised.value.message
    text.check_data({"child": {"name": f"Zawadi{bad}"}}, "a record")  # what is already on record is written back as it is
    assert text.check("line one\n\tline\x07 two\x0b\x85\r\n", "--text") == "line one\n\tline\x07 two\x0b\x85\r\n"


def test_put_refuses_conflicting_paths_both_ways():
    data: dict = {}
    text.put(data, "child.name", "x", "--set")
    text.put(data, "child.name", "y", "--set")  # the same path again: the later wins, as before
    assert data == {"child": {"name": "y"}}
    with pytest.raises(UsageError, match="child.name is given a value, so it cannot also hold the field child.name.first"):
        text.put(data, "child.name.first", "z", "--set")
    with pytest.raises(UsageError, match="child is a group of fields"):
        text.put(data, "child", "z", "--set")
    with pytest.raises(UsageError, match="no empty part"):
        text.put(data, "a..b", "z", "--set")
    with pytest.raises(UsageError) as raised:
        text.put({"Jane Doe Secret!": "x"}, "Jane Doe Secret!.b", "z", "--set")
    assert "Secret" not in raised.value.message  # a key that is not a field name is not shown


def test_csv_rows_name_row_and_column_never_the_cell():
    rows = text.csv_rows("\ufeffcase,chair\nCP-1,Amina\n", "f.csv")
    assert rows == [{"case": "CP-1", "chair": "Amina"}]
    with pytest.raises(UsageError) as raised:
        text.csv_rows("case,chair\nCP-1,ok\nCP-2,Secret" + "x" * 70_000 + "\n", "f.csv")
    assert "f.csv: row 3, column 2 (chair)" in raised.value.message and "Secret" not in raised.value.message
    with pytest.raises(UsageError, match="row 2, column 3"):
        text.csv_rows("id\nx,ok,Secret" + "y" * 70_000 + "\n", "f.csv")  # a cell beyond the header
    with pytest.raises(UsageError, match="cannot be read as CSV"):
        text.csv_rows('a,b\n"Secret"x,y\n', "f.csv")
    with pytest.raises(UsageError, match="cannot be read as CSV"):
        text.csv_rows('a,b\nx,"Secret\n', "f.csv")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 4000.0])
def test_days_refuses_what_is_not_a_number_of_days(value):
    with pytest.raises(UsageError, match="--within takes a number of days"):
        text.days(value, "--within")


def test_days_takes_a_plain_number():
    assert text.days(14.5, "--within") == 14.5 and text.days(None, "--within") is None and text.days(0.0, "--within") == 0.0


# -- YAML typed by a person ------------------------------------------------------------------
def refused(document: str) -> str:
    with pytest.raises(codec.BadYaml) as raised:
        codec.load_input(document)
    assert "Secret" not in str(raised.value)
    return str(raised.value)


def test_load_input_reads_plain_documents_as_loads_does():
    document = ("child:\n  name: Amina\n  date_of_birth: 2015-04-01\n  age_estimate: 11\n  weight: 31.5\n"
                "  disability: null\nflag: true\nwords: [yes, 'no', on]\nwhen: 2026-01-01T10:00:00+03:00\n"
                "shared: &s {a: 1}\nagain: *s\nnote: |\n  two\n  lines\n")
    assert codec.load_input(document) == codec.loads(document)
    loaded = codec.load_input(document)
    assert loaded["again"] == {"a": 1} and loaded["again"] is not loaded["shared"]  # aliases become copies
    assert codec.load_input("") is None and codec.load_input("# a comment\n") is None


@pytest.mark.parametrize("document, expected", [
    ("child:\n  date_of_birth: !!timestamp 2026-02-30\n", "line 2: child.date_of_birth is not a real date or date-time (YYYY-MM-DD)"),
    ("age: !!float Secret\n", "age is not a number"),
    ("age: !!int Secret\n", "age is not a whole number"),
    ("age: .nan\n", "age is not a finite number"),
    ("age: -.inf\n", "age is not a finite number"),
    ("name: !!binary U2VjcmV0\n", "name: the tag !!binary is not accepted"),
    ("x: !!python/object/apply:os.system [Secret]\n", "the tag !!python/object/apply:os.system is not accepted"),
    ("x: !!set {Secret}\n", "the tag !!set is not accepted"),
    ("x: !mine Secret\n", "the tag !mine is not accepted"),
    ("a: &a [Secret, *a]\n", "a[2]: an alias refers to a structure that contains it"),
    ("a: &a {b: *a}\n", "a.b: an alias refers to a structure that contains it"),
    ("a: *Secret\n", "an alias (*) refers to no anchor"),
    ("child:\n  name: Secret\n  name: Secret\n", "the key name appears twice in child"),
    ("? [Secret]\n: x\n", "keys are plain names"),
    ("a: 1\n---\nb: 2\n", "more than one YAML document"),
    ('name: "Secret \\udce9"\n', "malformed YAML"),
    ("name: Secret\x07\n", "control character (#x0007)"),
    ("[" * 33 + "]" * 33, "nest deeper than 32 levels"),
])
def test_load_input_refuses_with_the_line_and_field(document, expected):
    assert expected in refused(document)


def test_an_impossible_date_typed_is_read_as_the_text_written_and_refused_where_cpcm_wrote_it():
    """A person's impossible date reaches the form, which names it with the document's other
    problems; a record or configuration (`loads`) with one is refused, naming the line."""
    assert codec.load_input("child:\n  date_of_birth: 2026-02-30\nat: 2026-13-01 10:00\n") == {
        "child": {"date_of_birth": "2026-02-30"}, "at": "2026-13-01 10:00"}
    with pytest.raises(codec.BadYaml, match="line 3: child.date_of_birth is not a real date or date-time .*quote it"):
        codec.loads("kind: x\nchild:\n  date_of_birth: 2026-02-30\n")


def test_load_input_limits_alias_expansion_depth_and_size():
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefghi", "bcdefghij"))
    assert "more than 200,000 values" in refused(laughs)
    assert codec.load_input("[" * 32 + "]" * 32) is not None  # the limit itself is allowed
    assert "nest deeper" in refused("- " * 100_000 + "x")
    assert "nest deeper" in refused("[" * 100_000)
    assert "larger than 1 MiB" in refused("x" * (codec.MAX_CHARS + 1))


def test_loads_from_disk_survives_what_crashed_the_c_loader(tmp_path):
    """A forged record nested 100,000 levels deep killed the process (a segfault in the C
    composer); loads now sends such a document through the limits: a clean BadYaml. Run in a
    child process, so that a regression fails this test instead of killing the suite."""
    script = ("from cpcm.store import codec\n"
              "for doc in ('[' * 100000 + 'x' + ']' * 100000, '- ' * 100000 + 'x',"
              " 'a: &a [x,x,x,x,x,x,x,x,x]\\n' + ''.join(f'{n}: &{n} [' + ','.join(['*' + p] * 9) + ']\\n'"
              " for p, n in zip('abcdefghi', 'bcdefghij'))):\n"
              "    try:\n        codec.loads(doc)\n    except codec.BadYaml:\n        print('refused')\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["refused"] * 3


def test_load_input_keeps_a_number_as_typed_when_it_would_not_read_back_so():
    """contact: 0712345678 unquoted was read as 712345678 and a text field kept that; the number's
    own spelling stays a number, anything else is the text typed (a YAML or a JSON document)."""
    assert codec.load_input("contact: 0712345678\nid: 00123\ne: 1e3\nx: 0x1F\nn: 12\nm: -3\nf: 0.5\n") == {
        "contact": "0712345678", "id": "00123", "e": "1e3", "x": "0x1F", "n": 12, "m": -3, "f": 0.5}
    assert codec.load_input('{"a": 1.50, "b": 2, "c": 0.25}') == {"a": "1.50", "b": 2, "c": 0.25}
    assert codec.loads("contact: 0712345678\n") == {"contact": 712345678}  # what cpcm wrote is read as before
    # a policy override or a form definition: its numbers are settings (cap: 030 is 30)
    assert codec.load_input("cap: 030\nmax_length: 1e2\n", typed_numbers=False) == {"cap": 30, "max_length": 100.0}


def test_loads_names_a_duplicate_key_but_not_its_values():
    with pytest.raises(codec.BadYaml) as raised:
        codec.loads(b"child:\n  name: Secret One\n  name: Secret Two\n")
    assert "the key name appears twice" in str(raised.value) and "Secret" not in str(raised.value)


def test_loads_refuses_a_key_that_is_a_list():
    with pytest.raises(codec.BadYaml, match="keys are plain names"):
        codec.loads(b"? [Secret]\n: x\n")


@pytest.mark.parametrize("document", ["d: 2026-02-30\n", "a: !!float abc\n", "a: !!int " + "9" * 5000 + "\n"])
def test_loads_turns_a_constructor_error_into_badyaml_naming_the_line(document):
    with pytest.raises(codec.BadYaml, match="line 1"):
        codec.loads(document.encode())


YAMLISH = st.lists(st.sampled_from(["a", "b", ":", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "!!str ", "!!int ",
                                    "!!binary ", "'", '"', "#", "|", ">", "? ", "~", "1", "0x1f", ".5", "2026-02-30", "2026-01-01",
                                    ".nan", "---\n", "\\u00e9", "\t", "%YAML 1.2\n", "@", "é"]), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(document=YAMLISH)
def test_hypothesis__load_input_raises_only_badyaml_and_agrees_with_loads(document):
    try:
        loaded = codec.load_input(document)
    except codec.BadYaml:
        return
    try:
        expected = codec.loads(document)
    except codec.BadYaml:
        return  # the C loader refuses some documents the event parser takes (it checks more, later)
    # keys are read as the names typed (`1:` is the key '1'), and `!` marks text (the C loader
    # resolves it as if untagged); a number not written as it reads back (0x1f) is the text typed:
    # otherwise the two read the same
    if "!" not in document.replace("!!int", "") and not _other_keys(expected):
        assert _same_but_numbers_as_typed(loaded, expected)


def _same_but_numbers_as_typed(loaded, expected) -> bool:
    if isinstance(expected, dict):
        return isinstance(loaded, dict) and loaded.keys() == expected.keys() and all(
            _same_but_numbers_as_typed(loaded[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(loaded, list) and len(loaded) == len(expected) and all(
            _same_but_numbers_as_typed(a, b) for a, b in zip(loaded, expected))
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and isinstance(loaded, str):
        return loaded != str(expected) and codec.loads(loaded) == expected
    return loaded == expected


def _other_keys(value) -> bool:
    if isinstance(value, dict):
        return any(not isinstance(k, str) or _other_keys(v) for k, v in value.items())
    return isinstance(value, list) and any(_other_keys(v) for v in value)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_hypothesis__decode_and_csv_raise_only_usage_errors(data):
    try:
        decoded = text.decode(data, "f")
    except UsageError:
        return
    try:
        text.csv_rows(decoded, "f")
    except UsageError:
        pass


# -- writing ---------------------------------------------------------------------------------
def test_dumps_refuses_a_string_that_could_not_be_read_back():
    with pytest.raises(UsageError) as raised:
        codec.dumps({"id": "x", "body": {"note": "caf\udce9 Secret"}})
    assert "body.note" in raised.value.message and "Secret" not in raised.value.message
    with pytest.raises(UsageError):
        codec.dumps({"id": "x", "body": {"caf\udce9": "x"}})
    with pytest.raises(UsageError):
        codec.dump_text({"services": [{"provider": "\udce9"}]})
    assert codec.loads(codec.dumps({"id": "x", "body": {"note": "café \x00 \u2028"}}))["body"]["note"] == "café \x00 \u2028"


# -- form coercion: plain values only --------------------------------------------------------
def field(kind: str, **extra) -> forms.Field:
    return forms.Field(key="f", type=kind, required=False, choices=extra.pop("choices", ()), label={"en": "F"}, help={}, **extra)


@pytest.mark.parametrize("kind, value, reason", [
    ("text", b"hello", "must be text"),
    ("text", {"a": "b"}, "must be text"),
    ("text", True, "must be text (put it in quotes)"),
    ("text", float("nan"), "must be text"),
    ("text_list", [{"need": "x"}], "must be a list of short texts"),
    ("text_list", [["x"]], "must be a list of short texts"),
    ("text_list", {"a": 1}, "must be a list of short texts"),
    ("date", {"a": 1}, "is not a date"),
    ("date", True, "is not a date"),
    ("integer", True, "is not a whole number"),
    ("integer", [1], "is not a whole number"),
    ("integer", date(2026, 1, 1), "is not a whole number"),
    ("boolean", [True], "is not yes or no"),
    ("worker", {"id": "x"}, "must be a worker id"),
    ("worker", 12, "must be a worker id"),
])
def test_coerce_refuses_what_is_not_a_plain_value(kind, value, reason):
    clean, why = forms.coerce(field(kind), value, TODAY)
    assert clean is None and why.startswith(reason)


def test_coerce_takes_plain_values_as_before():
    assert forms.coerce(field("text"), "  Amina ", TODAY) == ("Amina", None)
    assert forms.coerce(field("text"), 12, TODAY) == ("12", None)
    assert forms.coerce(field("text"), date(2026, 1, 2), TODAY) == ("2026-01-02", None)
    assert forms.coerce(field("text_list"), "a; b;", TODAY) == (["a", "b"], None)
    assert forms.coerce(field("date"), datetime(2026, 1, 2, 10, 0), TODAY) == ("2026-01-02", None)
    assert forms.coerce(field("integer"), "7", TODAY) == (7, None)
    assert forms.coerce(field("choices", choices=("a", "b")), ["a", "b"], TODAY) == (["a", "b"], None)
    assert forms.coerce(field("choices", choices=("a", "b")), [{"x": 1}], TODAY)[1].startswith("must be a list of")
