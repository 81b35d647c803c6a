"""Round trips and identifiers, by Hypothesis.

- Record → YAML (codec.dumps) → age (cipher.encrypt) → cipher.decrypt → codec.loads →
  Record.from_dict gives back the same record, unknown keys and nested bodies included.
- Case IDs normalise to themselves; a single wrong character or a swap of neighbours is caught.
- Record IDs strictly increase, whatever the clock does.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyrage import x25519

from conftest import record_files, register
from cpcm.crypto import cipher
from cpcm.crypto.identity import load as load_identity
from cpcm.domain.ids import ALPHABET, RecordIds, check_char, is_case_id, is_record_id, new_case_id, normalise_case_id
from cpcm.domain.records import HEADER, Record
from cpcm.store import codec

KEY = x25519.Identity.generate()
OTHER = x25519.Identity.generate()
RECIPIENTS = [str(KEY.to_public()), str(OTHER.to_public())]

# -- records ---------------------------------------------------------------------------------
def spelled(first, rest: str, longest: int, shortest: int = 0):
    """One of `first` (characters, or strings), then `shortest` to `longest` of `rest`: what `st.from_regex`
    draws for `[first][rest]{shortest,longest}`, in a tenth of its time."""
    tail = st.text(alphabet=rest, min_size=shortest, max_size=longest)
    return st.builds(str.__add__, st.sampled_from(first), tail) if first else tail


LOWER = "abcdefghijklmnopqrstuvwxyz"
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # any unicode a person could type
lines = st.lists(text, min_size=2, max_size=5).map("\n".join)  # multi-line text, trailing newlines and all
words = spelled(LOWER, LOWER + "0123456789_", 11)
keys = words.filter(lambda k: k not in HEADER)
# text that a YAML reader (1.1 or 1.2) could take for something else if written unquoted
TRICKY = ["yes", "No", "ON", "off", "y", "n", "~", "null", "NULL", "true", "False", "010", "0o17", "0x1F", "0b101", "1_000",
          "12:30", "190:20:30", "+1", "-0", ".5", "1.", "1e3", "1.0e+3", ".inf", "-.Inf", ".NaN", "2015-04-01", "2015-4-1",
          "2015-04-01 10:00:00", "2015-04-01T10:00:00Z", "=", "<<", "!tag", "&anchor", "*alias", "%directive", "@at", "`tick",
          "- item", "? key", ": value", "key: value", "# comment", "a #b", "[1]", "{a: 1}", "|", ">", "'", '"', "---", "...",
          " leading", "trailing ", ""]
tricky = st.one_of(st.sampled_from(TRICKY), spelled(["", "-", "+"], "0123456789_.:eExXoObB", 8, 1))
scalars = st.one_of(text, lines, tricky, st.integers(-(2**63), 2**63), st.booleans(), st.none())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5))]))
iso = moments.map(lambda m: m.isoformat(timespec="seconds"))
case_ids = st.integers(0, 2**35 - 1).map(lambda v: new_case_id(lambda bits: v))


@st.composite
def records(draw) -> Record:
    return Record(
        kind=draw(st.sampled_from(["registration", "assessment", "assignment", "a_kind_from_the_future"])),
        schema=draw(st.integers(1, 5)),
        id=draw(spelled("", ALPHABET, 26, 26)),
        case=draw(case_ids),
        at=draw(st.one_of(iso, st.dates().map(lambda d: d.isoformat()))),
        recorded_at=draw(iso),
        by=draw(words),
        body=draw(st.dictionaries(keys, values, max_size=6)),
    )


def through_disk(record: Record) -> Record:
    ciphertext = cipher.encrypt(codec.dumps(record.to_dict()), RECIPIENTS)
    return Record.from_dict(codec.loads(cipher.decrypt(ciphertext, [KEY])))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
@example(Record("registration", 1, "01M84N0603RNRR0YKKTW6RR3CG", "CP-4F7K-9X2M", "2026-11-23", "2026-11-23T09:00:00+03:00",
                "amina", {"child": {"name": "Zuhura wa Özdemir — 子供", "date_of_birth": "2015-04-01"},
                          "notes": "first line\n  indented\n\ntrailing\n", "answers": ["yes", "no", "on", "off", "~", "null"],
                          "numbers_as_text": ["010", "1e3", "0x1F", ".inf", "1_000", "12:30"], "empty": "", "spaces": "  x  "}))
@example(Record("note", 1, "01M84N0603RNRR0YKKTW6RR3CG", "CP-4F7K-9X2M", "2026-11-23", "2026-11-23", "amina",
                {"line_separators": "a\u2028b\u2029c\x85d", "controls": "tab\there\r\nbell\x07", "bom": "\ufeffx",
                 "lead": "- not a list", "colon": "key: value", "hash": "# not a comment", "quote": "'\"",
                 "block": "|\n>", "nested": {"deep": {"deeper": [{"k": None}, [], {}]}}}))
def test_record__survives_yaml_and_age_unchanged(record):
    assert through_disk(record) == record


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_record__header_first_then_the_body_in_order(record):
    loaded = codec.loads(codec.dumps(record.to_dict()))
    assert list(loaded)[: len(HEADER)] == list(HEADER)
    assert list(loaded)[len(HEADER):] == list(record.body)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_record__only_a_recipient_decrypts_it(record):
    ciphertext = cipher.encrypt(codec.dumps(record.to_dict()), RECIPIENTS[:1])
    assert ciphertext.startswith(cipher.MAGIC)
    with pytest.raises(cipher.NotARecipient):
        cipher.decrypt(ciphertext, [OTHER])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.floats(0, 1, exclude_max=True))
def test_record__any_truncation_is_damage_not_a_record(record, fraction):
    ciphertext = cipher.encrypt(codec.dumps(record.to_dict()), RECIPIENTS)
    cut = int(len(ciphertext) * fraction)
    with pytest.raises(cipher.Damaged):
        cipher.decrypt(ciphertext[:cut], [KEY])


# -- case IDs --------------------------------------------------------------------------------
def raw(case_id: str) -> str:
    return case_id.removeprefix("CP-").replace("-", "")


def dressed(chars: str) -> str:
    return f"CP-{chars[:4]}-{chars[4:]}"


@given(case_ids)
@example("CP-CP00-000J")  # a body that begins with the prefix's letters
def test_case_id__normalises_to_itself(case_id):
    assert is_case_id(case_id)
    assert normalise_case_id(case_id) == case_id
    assert normalise_case_id(case_id.lower()) == case_id
    assert normalise_case_id(raw(case_id)) == case_id
    assert normalise_case_id(f"  {case_id} ") == case_id


@given(case_ids, st.integers(0, 7), st.integers(1, 31))
def test_case_id__any_single_character_change_is_rejected(case_id, position, shift):
    chars = list(raw(case_id))
    chars[position] = ALPHABET[(ALPHABET.index(chars[position]) + shift) % 32]
    assert normalise_case_id(dressed("".join(chars))) is None


# Luhn mod 32, like every Luhn mod N, misses a swap of neighbouring '0' and 'Z' (values 0 and 31):
# a documented limit of the scheme (ids.py, docs/case-format.md), so the property is every other swap.
@given(case_ids, st.integers(0, 6))
def test_case_id__swaps_of_neighbours_other_than_0_and_z_are_rejected(case_id, position):
    chars = list(raw(case_id))
    if chars[position] == chars[position + 1] or {chars[position], chars[position + 1]} == {"0", "Z"}:
        return
    chars[position], chars[position + 1] = chars[position + 1], chars[position]
    assert normalise_case_id(dressed("".join(chars))) is None


@pytest.mark.parametrize("text", ["", "CP-", "CP-1234-567", "CP-1234-56789", "CP-UUUU-UUUU", "XX-4F7K-9X2M", "CP-4F7K-9X2?"])
def test_case_id__malformed_text_is_rejected(text):
    assert normalise_case_id(text) is None


def test_case_id__typing_slips_i_l_o_are_read_as_1_1_0():
    case_id = next(c for c in (new_case_id() for _ in range(10_000)) if "1" in c and "0" in c)
    slipped = case_id.replace("1", "l", 1).replace("0", "O", 1)
    assert normalise_case_id(slipped) == case_id


# -- record IDs ------------------------------------------------------------------------------
millis = st.integers(0, 2**48 - 1)


@given(st.lists(millis, min_size=2, max_size=50))
def test_record_ids__strictly_increase_whatever_the_clock_does(clock):
    ids = RecordIds()
    made = [ids.new(t) for t in clock]
    assert all(is_record_id(i) for i in made)
    assert all(a < b for a, b in zip(made, made[1:]))


@given(st.lists(millis, min_size=1, max_size=20), spelled("01234567", ALPHABET, 25, 25))
def test_record_ids__sort_after_the_newest_on_disk(clock, newest):
    ids = RecordIds()
    for t in clock:
        made = ids.new(t, after=newest)
        assert made > newest and is_record_id(made)
        newest = made


@given(st.lists(st.integers(0, 2**10), min_size=2, max_size=30))
def test_record_ids__strictly_increase_even_when_the_random_part_repeats(clock):
    ids = RecordIds(randbits=lambda bits: 0)  # the worst randomness: always zero
    made = [ids.new(t) for t in sorted(clock)]
    assert all(a < b for a, b in zip(made, made[1:]))


# -- end to end --------------------------------------------------------------------------------
def test_register__text_with_control_characters_and_line_breaks_reads_back(cli, repo, team):
    """Pasted text (Windows line ends, a stray control character) is kept as given and the
    record stays readable."""
    notes = "first line\r\nsecond\x07 line\u2028third\x85fourth\nlast"
    case_id = register(cli, notes=notes, location="Nyalenda\u00a0B,\tKisumu")
    shown = cli("show", case_id, "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["location"] == "Nyalenda\u00a0B,\tKisumu"
    assert cli("log", case_id).code == 0
    (path,) = record_files(repo, case_id)
    keys = load_identity(team["amina"][0], lambda: None).keys
    record = Record.from_dict(codec.loads(cipher.decrypt(path.read_bytes(), keys)))
    assert record.body["notes"] == notes
