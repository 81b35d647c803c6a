"""Pure tests of the domain values at their edges: dates, durations, ids, records, the case,
the team and the input gate's text checks. Each assertion pins a behaviour a mutant would
change (docs/testing.md, "Mutation testing")."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from cpcm.domain import ids, text
from cpcm.domain.case import NAME_UNKNOWN, Case, Entry
from cpcm.domain.dates import as_date, parse_datetime
from cpcm.domain.durations import Duration, add_months, parse_duration
from cpcm.domain.records import HEADER, Record, changed_fields, flatten, get_path, plain, set_path, utc
from cpcm.domain.team import Team, Worker
from cpcm.errors import UsageError

EAT = timezone(timedelta(hours=3))


# --- dates ---------------------------------------------------------------------------------

def test_parse_datetime__a_date_is_midnight_utc():
    assert parse_datetime("2026-11-23") == datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert parse_datetime("  2026-11-23 ") == datetime(2026, 11, 23, tzinfo=timezone.utc)


def test_parse_datetime__keeps_an_offset_and_reads_z_and_naive_as_utc():
    assert parse_datetime("2026-11-23T14:30:00+03:00") == datetime(2026, 11, 23, 14, 30, tzinfo=EAT)
    assert parse_datetime("2026-11-23T14:30:00+03:00").utcoffset() == timedelta(hours=3)
    assert parse_datetime("2026-11-23T14:30:00Z") == datetime(2026, 11, 23, 14, 30, tzinfo=timezone.utc)
    naive = parse_datetime("2026-11-23T14:30:00")
    assert naive.tzinfo is timezone.utc and naive.hour == 14


def test_parse_datetime__error_names_the_field_never_the_value():
    with pytest.raises(UsageError) as error:
        parse_datetime("23/11/2026 secret", "--at")
    assert error.value.message == ("--at: is not a date or a date-time (use YYYY-MM-DD, or YYYY-MM-DDTHH:MM with the time) "
                                   "(the value is not repeated here)")
    assert error.value.hint == "Use for example 2026-11-23 or 2026-11-23T14:30:00+03:00."
    with pytest.raises(UsageError) as default:
        parse_datetime("2026-13-45")
    assert default.value.message.startswith("date: ")


def test_as_date__from_each_kind_of_value():
    assert as_date(datetime(2026, 12, 1, 23, 30, tzinfo=EAT)) == date(2026, 12, 1)
    assert as_date(date(2026, 12, 1)) == date(2026, 12, 1)
    assert as_date(" 2026-12-01T09:00+03:00") == date(2026, 12, 1)
    assert as_date("2026-12-01") == date(2026, 12, 1)


@pytest.mark.parametrize("value, kind", [("not a date", "str"), (12, "int"), (None, "NoneType")])
def test_as_date__error_names_the_type(value, kind):
    with pytest.raises(ValueError) as error:
        as_date(value)
    assert str(error.value) == f"not a date: a {kind}"


# --- durations -----------------------------------------------------------------------------

T = datetime(2026, 1, 31, 10, 0, tzinfo=EAT)


@pytest.mark.parametrize("written, months, days, minutes", [
    ("24h", 0, 0, 1440), ("7d", 0, 7, 0), ("2w", 0, 14, 0), ("3mo", 3, 0, 0), ("2y", 24, 0, 0),
    ("90min", 0, 0, 90), ("1d 12h", 0, 1, 720), ("1y2mo", 14, 0, 0), ("0d", 0, 0, 0), ("1W", 0, 7, 0),
])
def test_parse_duration__each_unit(written, months, days, minutes):
    parsed = parse_duration(written)
    assert (parsed.months, parsed.days, parsed.minutes, parsed.same_day) == (months, days, minutes, False)
    assert parsed.text == written.lower().replace(" ", "")
    assert str(parsed) == parsed.text


@pytest.mark.parametrize("written", ["same_day", "same day", " Same_Day "])
def test_parse_duration__same_day(written):
    parsed = parse_duration(written)
    assert parsed == Duration(same_day=True, text="same_day")


@pytest.mark.parametrize("written", ["", "7", "d", "7x", "7d!", "abc7d", "7d x"])
def test_parse_duration__not_a_duration(written):
    with pytest.raises(ValueError) as error:
        parse_duration(written)
    assert str(error.value) == "is not a duration (write e.g. 24h, 7d, 2w, 3mo, 2y or same_day)"


def test_parse_duration__negative():
    with pytest.raises(ValueError) as error:
        parse_duration("-7d")
    assert str(error.value) == "is negative; a duration is 0 or more"


def test_parse_duration__reads_a_number_given_as_a_number():
    with pytest.raises(ValueError):
        parse_duration(7)
    assert parse_duration(" 7D ").days == 7


def test_parse_duration__longer_than_any_calendar_parses_and_after_overflows():
    """Parsing takes any number of days or hours (a caller's range check says what is allowed:
    `cpcm unlock --for`); only `after` finds that no date is that far."""
    for written in ("1000000000d", "99999999999999h"):
        parsed = parse_duration(written)
        assert str(parsed) == written
        with pytest.raises(OverflowError):
            parsed.after(T)


def test_duration_after__calendar_months_and_minutes():
    assert parse_duration("1mo").after(T) == datetime(2026, 2, 28, 10, 0, tzinfo=EAT)
    assert parse_duration("1mo1d").after(T) == datetime(2026, 3, 1, 10, 0, tzinfo=EAT)
    assert parse_duration("24h").after(T) == T + timedelta(days=1)
    assert parse_duration("90min").after(T) == T + timedelta(minutes=90)
    assert parse_duration("2w").after(T) == T + timedelta(days=14)
    assert parse_duration("0d").after(T) == T


def test_duration_after__same_day_ends_at_midnight_in_the_start_zone():
    end = parse_duration("same_day").after(T)
    assert end == datetime(2026, 2, 1, 0, 0, tzinfo=EAT)
    assert end.tzinfo is EAT


def test_add_months__year_ends_and_leap_days():
    assert add_months(datetime(2026, 12, 15), 1) == datetime(2027, 1, 15)
    assert add_months(datetime(2026, 11, 30), 3) == datetime(2027, 2, 28)
    assert add_months(datetime(2028, 1, 31), 1) == datetime(2028, 2, 29)
    assert add_months(datetime(2026, 1, 31), 12) == datetime(2027, 1, 31)
    assert add_months(datetime(2026, 1, 31), 11) == datetime(2026, 12, 31)
    assert add_months(datetime(2026, 3, 31), 1) == datetime(2026, 4, 30)
    assert add_months(datetime(2026, 5, 10), 0) == datetime(2026, 5, 10)


@pytest.mark.parametrize("written, words", [
    ("72h", "72 hours"), ("1h", "1 hour"), ("3mo", "3 months"), ("1mo", "1 month"), ("1y", "1 year"),
    ("2y", "2 years"), ("1w", "1 week"), ("2w", "2 weeks"), ("1d", "1 day"), ("10d", "10 days"),
    ("1min", "1 minute"), ("5min", "5 minutes"), ("1d12h", "1 day 12 hours"), ("same_day", "the same day"),
])
def test_duration_words(written, words):
    assert parse_duration(written).words() == words


def test_duration_words__nothing_written_is_0_days():
    assert Duration().words() == "0 days"


# --- ids -----------------------------------------------------------------------------------

def _fixed(value):
    return lambda bits: value


def test_new_id__shape_and_check_character():
    assert ids.new_id("CP", _fixed(0)) == "CP-0000-0000"
    made = ids.new_case_id(_fixed(2**35 - 1))
    assert made == "CP-ZZZZ-ZZZ" + ids.check_char("ZZZZZZZ")
    assert ids.is_case_id(made)
    conference = ids.new_conference_id(_fixed(12345))
    assert conference.startswith("CC-") and ids.is_conference_id(conference) and not ids.is_case_id(conference)


def test_new_id__asks_for_35_bits_and_uses_them_low_first():
    asked = []
    made = ids.new_id("CP", lambda bits: asked.append(bits) or 1)
    assert asked == [35]
    assert made[3:7] == "1000"
    assert ids.new_id("CP", _fixed(32))[3:7] == "0100"


def test_check_char__known_values():
    assert ids.check_char("0000000") == "0"
    assert ids.check_char("1000000") == "Y"  # weight 2 on the first and the last of seven
    assert ids.check_char("0000001") == "Y"
    assert ids.check_char("0000010") == "Z"  # weight 1 on the next
    assert ids.check_char("000000G") == "Z"  # 2 × 16 = 32: digits summed (1 + 0)
    assert ids.check_char("000000Z") == ids.ALPHABET[(32 - (62 // 32 + 62 % 32)) % 32]


def test_check_char__catches_every_single_wrong_character():
    body = "4F7K9X2"
    good = ids.check_char(body)
    for position in range(7):
        for char in ids.ALPHABET:
            if char != body[position]:
                assert ids.check_char(body[:position] + char + body[position + 1:]) != good


def test_normalise_id__typing_slips():
    good = ids.new_case_id(_fixed(987654321))
    body = good.replace("-", "")[2:]
    assert ids.normalise_case_id(good) == good
    assert ids.normalise_case_id(good.lower()) == good
    assert ids.normalise_case_id(body) == good
    assert ids.normalise_case_id(f" cp {body[:4]} {body[4:]} ") == good
    assert ids.normalise_case_id("CP" + body) == good


def test_normalise_id__aliases_i_l_o():
    body = "1000000"
    full = body + ids.check_char(body)
    assert ids.normalise_case_id("I" + full[1:]) == f"CP-{full[:4]}-{full[4:]}"
    assert ids.normalise_case_id("L" + full[1:]) == f"CP-{full[:4]}-{full[4:]}"
    zero = "0000000" + ids.check_char("0000000")
    assert ids.normalise_case_id("O" + zero[1:]) == "CP-0000-0000"


def test_normalise_id__a_body_that_begins_with_the_prefix_letters():
    body = "CP00000"
    full = body + ids.check_char(body)
    assert ids.normalise_case_id(full) == f"CP-{full[:4]}-{full[4:]}"
    assert ids.normalise_case_id("CP" + full) == f"CP-{full[:4]}-{full[4:]}"
    assert ids.is_case_id(f"CP-{full[:4]}-{full[4:]}")


@pytest.mark.parametrize("typed", ["", "CP-0000-000", "CP-0000-00000", "CP-0000-000U", "CP-0000-0001", "CP-0000-000*"])
def test_normalise_id__refuses_wrong_length_letter_or_check(typed):
    assert ids.normalise_case_id(typed) is None


def test_is_id__only_the_canonical_form_with_its_prefix():
    good = ids.new_case_id(_fixed(5))
    assert ids.is_case_id(good)
    assert not ids.is_case_id(good.lower())
    assert not ids.is_case_id(good.replace("-", ""))
    assert not ids.is_conference_id(good)
    assert not ids.is_case_id(good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not ids.is_case_id("XX-" + good[3:])
    assert ids.normalise_conference_id(good[3:]) == "CC-" + good[3:]


def test_record_ids__shape_order_and_millis():
    minted = ids.RecordIds(_fixed(0))
    first = minted.new(1000)
    assert ids.is_record_id(first) and len(first) == 26
    assert ids.record_id_millis(first) == 1000
    assert first == ids._encode(1000, 10) + "0" * 16
    assert not ids.is_record_id(first[:-1]) and not ids.is_record_id(first + "0") and not ids.is_record_id(first.lower())
    assert not ids.is_record_id(first[:-1] + "U")


def test_record_ids__strictly_increase_when_the_clock_stands_or_goes_back():
    minted = ids.RecordIds(_fixed(0))
    a = minted.new(5000)
    b = minted.new(5000)
    c = minted.new(4000)
    assert a < b < c
    assert ids._decode(b) == ids._decode(a) + 1
    assert ids._decode(c) == ids._decode(b) + 1


def test_record_ids__sort_after_the_newest_on_disk():
    disk = ids.RecordIds(_fixed(7)).new(9000)
    later = ids.RecordIds(_fixed(0)).new(1000, after=disk)
    assert later > disk and ids._decode(later) == ids._decode(disk) + 1
    ahead = ids.RecordIds(_fixed(0)).new(10000, after=disk)
    assert ids.record_id_millis(ahead) == 10000


def test_record_ids__equal_to_the_floor_is_moved_past_it():
    floor = ids._encode(3000, 10) + ids._encode(0, 16)
    minted = ids.RecordIds(_fixed(0))
    assert minted.new(3000, after=floor) == ids._encode(ids._decode(floor) + 1, 26)


def test_id_patterns__worker_ids_and_agency_codes():
    assert ids.WORKER_ID.match("amina") and ids.WORKER_ID.match("a" * 32)
    assert not ids.WORKER_ID.match("a" * 33) and not ids.WORKER_ID.match("Amina") and not ids.WORKER_ID.match("-a")
    assert ids.AGENCY_CODE.match("KE-NBO") and ids.AGENCY_CODE.match("A" * 32)
    assert not ids.AGENCY_CODE.match("A" * 33) and not ids.AGENCY_CODE.match(".ke")


# --- records -------------------------------------------------------------------------------

def _record(**body):
    return Record("note", 1, "01ID", "CP-0000-0000", "2026-11-23T09:00:00+03:00", "2026-11-23T06:00:00+00:00", "amina", body)


def test_plain__dates_times_and_nested_values():
    moment = datetime(2026, 11, 23, 9, 0, 5, 123, tzinfo=EAT)
    assert plain(moment) == "2026-11-23T09:00:05+03:00"
    assert plain(date(2026, 11, 23)) == "2026-11-23"
    assert plain({1: [date(2026, 1, 2), (3,)]}) == {"1": ["2026-01-02", [3]]}
    assert plain("x") == "x" and plain(None) is None


def test_record_from_dict__header_and_body():
    data = {"kind": "note", "schema": "2", "id": "01ID", "case": "CP-0000-0000", "at": date(2026, 11, 23),
            "recorded_at": "r", "by": "amina", "text": "hello", "when": date(2026, 1, 1)}
    record = Record.from_dict(data)
    assert record == Record("note", 2, "01ID", "CP-0000-0000", "2026-11-23", "r", "amina", {"text": "hello", "when": "2026-01-01"})
    assert record.to_dict() == {"kind": "note", "schema": 2, "id": "01ID", "case": "CP-0000-0000", "at": "2026-11-23",
                                "recorded_at": "r", "by": "amina", "text": "hello", "when": "2026-01-01"}
    assert list(record.to_dict())[:7] == list(HEADER)


@pytest.mark.parametrize("missing", HEADER)
def test_record_from_dict__names_the_first_missing_header_key(missing):
    data = {key: "1" for key in HEADER}
    del data[missing]
    with pytest.raises(KeyError) as error:
        Record.from_dict(data)
    assert error.value.args == (missing,)


def test_record_from_dict__first_of_several_missing():
    with pytest.raises(KeyError) as error:
        Record.from_dict({"kind": "note", "by": "x"})
    assert error.value.args == ("schema",)


def test_record_get__dotted_paths():
    record = _record(child={"name": "N", "tags": ["a"]}, flat=1)
    assert record.get("child.name") == "N"
    assert record.get("flat") == 1
    assert record.get("child.age") is None
    assert record.get("child.name.first", "d") == "d"
    assert record.get("nothing", 5) == 5


def test_get_set_path():
    data: dict = {}
    set_path(data, "a.b.c", 1)
    set_path(data, "a.d", 2)
    set_path(data, "e", 3)
    assert data == {"a": {"b": {"c": 1}, "d": 2}, "e": 3}
    assert get_path(data, "a.b") == {"c": 1}
    assert get_path(data, "a.b.c") == 1
    assert get_path(data, "e.x", "no") == "no"


def test_utc__offsets_z_and_naive():
    assert utc("2026-11-23T09:00:00+03:00") == "2026-11-23T06:00:00+00:00"
    assert utc("2026-11-23T09:00:00Z") == "2026-11-23T09:00:00+00:00"
    assert utc("2026-11-23T09:00:00") == "2026-11-23T09:00:00+00:00"
    assert utc("2026-11-23T09:00:00.500+03:00") == "2026-11-23T06:00:00+00:00"


def test_flatten_and_changed_fields():
    before = {"child": {"name": "A", "sex": "f"}, "list": [1], "gone": 1}
    after = {"child": {"name": "B", "sex": "f"}, "list": [1], "new": {"x": 2}}
    assert flatten(before) == {"child.name": "A", "child.sex": "f", "list": [1], "gone": 1}
    assert flatten(after, "p.") == {"p.child.name": "B", "p.child.sex": "f", "p.list": [1], "p.new.x": 2}
    assert changed_fields(before, after) == [
        {"field": "child.name", "change": "changed"},
        {"field": "gone", "change": "removed"},
        {"field": "new.x", "change": "added"},
    ]
    assert changed_fields(before, before) == []


# --- the case ------------------------------------------------------------------------------

def _case(**values):
    return Case("CP-0000-0000", **values)


def test_case__referral_by_ref_or_record_id():
    r1 = {"ref": "R1", "record_id": "01AAA", "status": "sent"}
    r2 = {"ref": "R2", "record_id": "01BBB", "status": "closed"}
    case = _case(referrals=(r1, r2))
    assert case.referral(" r2 ") is r2
    assert case.referral("01aaa") is r1
    assert case.referral("R3") is None


def test_case__first_and_last_events_since():
    case = _case(events={"review": ("2026-01-02", "2026-03-01", "2026-02-01")})
    assert case.last("review") == "2026-03-01"
    assert case.first("review") == "2026-01-02"
    assert case.first("review", since="2026-02-01") == "2026-02-01"  # at `since` counts
    assert case.last("review", since="2026-03-01") == "2026-03-01"
    assert case.last("review", since="2026-03-02") is None
    assert case.first("review", since="2026-03-02") is None
    assert case.last("visit") is None and case.first("visit") is None


def test_case__cycle_start_is_the_latest_reopening_else_the_registration_in_utc():
    registered = _case(registered_at="2026-11-23T09:00:00+03:00")
    assert registered.cycle_start == "2026-11-23T06:00:00+00:00"
    reopened = _case(registered_at="2026-11-23T09:00:00+03:00", events={"reopen": ("2027-01-01T00:00:00+00:00",)})
    assert reopened.cycle_start == "2027-01-01T00:00:00+00:00"
    assert _case().cycle_start is None


def test_case__name_and_last_at():
    assert _case().name == NAME_UNKNOWN == "(name unknown)"
    assert _case(child={"name": ""}).name == NAME_UNKNOWN
    assert _case(child={"name": "Asha"}).name == "Asha"
    entries = (Entry("1", "note", "2026-01-02", "r", "a"), Entry("2", "note", "2026-01-05", "r", "a"),
               Entry("3", "note", "2026-01-03", "r", "a"))
    assert _case(history=entries).last_at == "2026-01-05"
    assert _case().last_at is None


def test_case__birth_date_known_estimated_or_none():
    assert _case(child={"date_of_birth": "2015-06-30", "age_estimate": 3}).birth_date() == date(2015, 6, 30)
    assert _case(child={"age_estimate": 10}, registered_at="2026-11-23T09:00:00+03:00").birth_date() == date(2016, 11, 23)
    assert _case(child={"age_estimate": "7"}, registered_at="2026-11-23").birth_date() == date(2019, 11, 23)
    assert _case(child={"age_estimate": 0}, registered_at="2026-11-23").birth_date() == date(2026, 11, 23)
    assert _case(child={"age_estimate": 1}, registered_at="2028-02-29").birth_date() == date(2027, 2, 28)
    assert _case(child={"age_estimate": 4}, registered_at="2028-02-29").birth_date() == date(2024, 2, 29)
    assert _case(child={"age_estimate": 10}).birth_date() is None
    assert _case(child={}, registered_at="2026-11-23").birth_date() is None


def test_case__age_on_the_birthday_and_the_day_before():
    case = _case(child={"date_of_birth": "2010-06-15"})
    assert case.age_on(date(2028, 6, 14)) == 17
    assert case.age_on(date(2028, 6, 15)) == 18
    assert case.age_on(date(2028, 6, 16)) == 18
    assert case.age_on(date(2028, 5, 20)) == 17
    assert case.age_on(date(2028, 7, 1)) == 18
    assert _case().age_on(date(2028, 1, 1)) is None


def test_case__to_dict_and_from_dict_round_trip():
    case = _case(history=(Entry("1", "note", "a", "r", "amina"),), concerns=("neglect",),
                 events={"review": ("2026-01-01",)}, anomalies=("01X",), referrals=({"ref": "R1"},), risk="high")
    data = case.to_dict()
    assert list(data["history"]) == [{"id": "1", "kind": "note", "at": "a", "recorded_at": "r", "by": "amina"}]
    data["concerns"] = list(data["concerns"])
    data["events"] = {"review": ["2026-01-01"]}
    data["anomalies"] = ["01X"]
    data["referrals"] = [{"ref": "R1"}]
    assert Case.from_dict(data) == case
    assert Case.from_dict({"id": "CP-0000-0000"}) == _case()


# --- team ----------------------------------------------------------------------------------

SUP = Worker("sup", "S", ("supervisor",), "age1sup", "2026-01-01")
AMINA = Worker("amina", "A", ("caseworker",), "age1amina", "2026-01-01")
MGR = Worker("mgr", "M", ("manager", "caseworker"), "age1mgr")
GONE = Worker("gone", "G", ("supervisor",), "age1gone", "2026-01-01", "2026-06-01")
TEAM = Team((AMINA, SUP, GONE, MGR))


def test_worker__active_roles_and_dict():
    assert AMINA.active and not GONE.active
    assert MGR.has_role("manager") and MGR.has_role("x", "caseworker") and not AMINA.has_role("supervisor", "manager")
    assert not AMINA.has_role()
    assert AMINA.to_dict() == {"id": "amina", "name": "A", "roles": ["caseworker"], "recipient": "age1amina", "since": "2026-01-01"}
    assert GONE.to_dict()["removed"] == "2026-06-01"


def test_team__active_get_and_recipients():
    assert TEAM.active == (AMINA, SUP, MGR)
    assert TEAM.get("gone") is None and TEAM.get("gone", include_removed=True) is GONE
    assert TEAM.get("amina") is AMINA and TEAM.get("nobody") is None
    assert TEAM.by_recipient(["age1x", "age1sup"]) is SUP
    assert TEAM.by_recipient(["age1gone"]) is None
    assert TEAM.by_recipient([]) is None
    assert TEAM.recipients_of(["sup", "nobody", "gone", "amina"]) == ["age1sup", "age1amina"]


def test_team__case_readers_assigned_first_then_oversight():
    assert TEAM.case_readers(["amina", "amina", "gone", "nobody"]) == ["amina", "sup", "mgr"]
    assert TEAM.case_readers(["mgr"]) == ["mgr", "sup"]
    assert TEAM.case_readers([]) == ["sup", "mgr"]


# --- text (the input gate) -----------------------------------------------------------------

BAD = "ab\udc80c"


def test_invalid_offset_and_check():
    assert text.invalid_offset("fine ü") is None
    assert text.invalid_offset(BAD) == 2
    assert text.invalid_offset("ü\udcff") == 2  # bytes, not characters
    assert text.check("fine", "--note") == "fine"
    with pytest.raises(UsageError) as error:
        text.check(BAD, "--note")
    assert error.value.message == "--note is not valid UTF-8 text (the byte at offset 2 cannot be read)"
    assert error.value.hint == text.UTF8_HINT


def test_decode__limit_bom_and_bad_bytes():
    assert text.decode(b"\xef\xbb\xbfhello", "file") == "hello"
    assert text.decode(b"abc", "file", limit=3) == "abc"
    with pytest.raises(UsageError) as error:
        text.decode(b"abcd", "the file", limit=3)
    assert error.value.message == "the file is larger than 0 KiB; cpcm reads at most that much from one input"
    assert error.value.hint == "Split it into smaller files; nothing was written."
    with pytest.raises(UsageError) as big:
        text.decode(b"x" * (text.MIB + 1), "stdin")
    assert "larger than 1 MiB" in big.value.message
    with pytest.raises(UsageError) as bad:
        text.decode(b"ab\xffc", "stdin")
    assert bad.value.message == "stdin is not valid UTF-8 text (the byte at offset 2 cannot be read)"
    assert bad.value.hint == text.UTF8_HINT
    # a file of many lines (a CSV batch saved as 'ANSI' by a spreadsheet): its line too
    with pytest.raises(UsageError) as saved_as_ansi:
        text.decode(b"case,decisions\nCP-1,keep\nCP-2,caf\xe9 visit\n", "--batch")
    assert saved_as_ansi.value.message == "--batch is not valid UTF-8 text (the byte at offset 33, on line 3, cannot be read)"
    assert "'CSV UTF-8'" in saved_as_ansi.value.hint


def test_check_text__limit_and_bom():
    assert text.check_text("\ufeffhi", "stdin") == "hi"
    assert text.check_text("abc", "stdin", limit=3) == "abc"
    with pytest.raises(UsageError) as error:
        text.check_text("abcd", "stdin", limit=2048)
        text.check_text("abcd", "stdin", limit=3)
    with pytest.raises(UsageError) as error:
        text.check_text("abcd", "stdin", limit=3)
    assert error.value.message == "stdin is larger than 0 KiB; cpcm reads at most that much from one input"
    with pytest.raises(UsageError):
        text.check_text(BAD, "stdin")


def test_size():
    assert text.size(text.MIB) == "1 MiB" and text.size(8 * text.MIB) == "8 MiB"
    assert text.size(64 * text.KIB) == "64 KiB" and text.size(text.MIB + text.KIB) == "1025 KiB"


def test_check_data__names_the_field_path():
    text.check_data({"a": [1, "ok", {"b": "fine"}]}, "record")
    with pytest.raises(UsageError) as error:
        text.check_data({"child": {"names": ["ok", BAD]}}, "record")
    assert error.value.message == "record: child.names[2] is not valid UTF-8 text (the byte at offset 2 cannot be read)"
    with pytest.raises(UsageError) as top:
        text.check_data(BAD, "record")
    assert top.value.message.startswith("record: a value is not valid")
    with pytest.raises(UsageError) as key:
        text.check_data({"child": {BAD: 1}}, "record")
    assert key.value.message == "record: a field name in child is not valid UTF-8 text"
    with pytest.raises(UsageError) as top_key:
        text.check_data({BAD: 1}, "record")
    assert top_key.value.message == "record: a field name is not valid UTF-8 text"
    with pytest.raises(UsageError) as hidden:
        text.check_data({"a secret value": (BAD,)}, "record")
    assert hidden.value.message.startswith("record: …[1] is")  # a key with a space may be a person's name
    with pytest.raises(UsageError) as odd:
        text.check_data({"x=1!": (BAD,)}, "record")
    assert odd.value.message.startswith("record: …[1] is")


def test_shown__names_only():
    assert text.shown("child_name-2") == "child_name-2"
    assert text.shown("child_name x") == "…" and text.shown("Amani Otieno") == "…" and text.shown("Amani") == "…"
    assert text.shown("a" * 64) == "a" * 64
    assert text.shown("a" * 65) == "…"
    assert text.shown("-a") == "…" and text.shown("") == "…" and text.shown("a.b") == "…"


def test_put__paths_and_conflicts():
    data: dict = {}
    text.put(data, "child.name", "N", "--set")
    text.put(data, "child.sex", "f", "--set")
    text.put(data, "risk", "high", "--set")
    assert data == {"child": {"name": "N", "sex": "f"}, "risk": "high"}
    text.put(data, "child", {"name": "M"}, "--set")
    assert data["child"] == {"name": "M"}
    with pytest.raises(UsageError) as empty:
        text.put(data, "child..name", 1, "--set")
    assert empty.value.message == "--set: a field path is names joined by dots (e.g. child.name), with no empty part"
    with pytest.raises(UsageError):
        text.put(data, " ", 1, "--set")
    with pytest.raises(UsageError) as value_then_group:
        text.put(data, "risk.level.x", 1, "--set")
    assert value_then_group.value.message == "--set: risk is given a value, so it cannot also hold the field risk.level.x"
    assert value_then_group.value.hint == "Give either the whole value or its fields, not both."
    with pytest.raises(UsageError) as deeper:
        text.put({"a": {"b": 1}}, "a.b.c", 1, "--set")
    assert deeper.value.message == "--set: a.b is given a value, so it cannot also hold the field a.b.c"
    with pytest.raises(UsageError) as group_then_value:
        text.put(data, "child", "x", "--set")
    assert group_then_value.value.message == "--set: child is a group of fields and cannot be given one value"
    assert group_then_value.value.hint == "Set its fields one by one (e.g. child.name=...)."


def test_csv_rows__rows_bom_and_cell_limits():
    assert text.csv_rows("\ufeffa,b\n1,2\n", "file") == [{"a": "1", "b": "2"}]
    assert text.csv_rows("a\n" + "x" * 5 + "\n", "file", max_cell=5) == [{"a": "xxxxx"}]
    with pytest.raises(UsageError) as long:
        text.csv_rows("a,b\n1,2\n3," + "x" * 6 + "\n", "file", max_cell=5)
    assert long.value.message == "file: row 3, column 2 (b): the cell is longer than 5 characters"
    assert long.value.hint == "Shorten it; nothing was written."
    with pytest.raises(UsageError) as extra:
        text.csv_rows("a,b\n1,2,ok," + "x" * 6 + "\n", "file", max_cell=5)
    assert extra.value.message == "file: row 2, column 4: the cell is longer than 5 characters"
    assert text.csv_rows("a,b\n1\n", "file") == [{"a": "1", "b": None}]


def test_csv_rows__header_names_at_most_200_characters():
    assert text.csv_rows("a," + "h" * 200 + "\n", "file") == []
    with pytest.raises(UsageError) as error:
        text.csv_rows("a," + "h" * 201 + "\n", "file")
    assert error.value.message == "file: row 1, column 2: a column name is longer than 200 characters"


def test_csv_rows__bad_quoting_names_the_row():
    with pytest.raises(UsageError) as error:
        text.csv_rows('a,b\n1,2\n"3,4\n', "file")
    assert error.value.message.startswith("file: row 3 (line ")
    assert error.value.hint == "Check the quoting of that row; nothing was written."


def test_csv_rows__rows_and_lines_are_numbered_as_a_spreadsheet_and_an_editor_show_them():
    """A blank line is no row but takes a number, as in a spreadsheet; a cell over two lines is
    one row; bad quoting names the row it is in and the line where the text stops being CSV
    (was: the line where the row before ended, 'line 0' in the header, and 'row 2' for it)."""
    rows = text.csv_rows('a,b\n1,2\n\n"3\nthree",4\n5,6\n\n', "file")
    assert rows == [{"a": "1", "b": "2"}, {"a": "3\nthree", "b": "4"}, {"a": "5", "b": "6"}]
    assert rows.numbers == [2, 4, 5]
    # a row a spreadsheet shows blank, saved as empty cells (its cells cleared): a blank row
    cleared = text.csv_rows("a,b\n1,2\n,\n , \n3,4\n,,\n", "file")
    assert cleared == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}] and cleared.numbers == [2, 5]
    for bad, where in [('a,"b"x\n1,2\n', "row 1 (line 1)"), ('a,b\n1,2\n3,"4"x\n5,6\n', "row 3 (line 3)"),
                       ('a,b\n\n\n1,"2"x\n', "row 4 (line 4)"), ('a,b\n"1\n2",3\n4,"5"x\n', "row 3 (line 4)"),
                       ('a,b\n1,2\n"3,4\n', "row 3 (line 3)")]:
        with pytest.raises(UsageError) as error:
            text.csv_rows(bad, "file")
        assert error.value.message.startswith(f"file: {where} cannot be read as CSV"), bad
    with pytest.raises(UsageError) as long:
        text.csv_rows("a,b\n\n1,2\n3," + "x" * 6 + "\n", "file", max_cell=5)
    assert long.value.message == "file: row 4, column 2 (b): the cell is longer than 5 characters"


def test_csv_rows__raises_the_module_limit_for_long_cells():
    import csv
    saved = csv.field_size_limit()
    try:
        csv.field_size_limit(10)
        assert text.csv_rows("a\n" + "x" * 20 + "\n", "file") == [{"a": "x" * 20}]
        assert csv.field_size_limit() == text.MAX_TABLE_BYTES
    finally:
        csv.field_size_limit(saved)


@pytest.mark.parametrize("value", [None, 0, 0.5, 14, 3660])
def test_days__accepted(value):
    assert text.days(value, "--within") == value


@pytest.mark.parametrize("value", [-0.1, -1, 3661, float("inf"), float("nan")])
def test_days__refused(value):
    with pytest.raises(UsageError) as error:
        text.days(value, "--within")
    assert error.value.message == "--within takes a number of days from 0 to 3660"
    assert error.value.hint == "For example --within 14"


def test_days__own_maximum():
    assert text.days(30, "--days", maximum=30) == 30
    with pytest.raises(UsageError) as error:
        text.days(31, "--days", maximum=30)
    assert error.value.message == "--days takes a number of days from 0 to 30"


# --- survivors of the first mutation run, killed -----------------------------------------------

def test_new_conference_id__uses_the_bits_given():
    assert ids.new_conference_id(_fixed(0)) == "CC-0000-0000"
    assert ids.new_case_id(_fixed(0)) == "CP-0000-0000"


def test_check_text__messages_name_the_input():
    with pytest.raises(UsageError) as bad:
        text.check_text(BAD, "standard input")
    assert bad.value.message == "standard input is not valid UTF-8 text (the byte at offset 2 cannot be read)"
    with pytest.raises(UsageError) as big:
        text.check_text("abcd", "standard input", limit=3)
    assert big.value.hint == "Split it into smaller files; nothing was written."
    assert text.check_text("x" * text.MIB, "stdin") == "x" * text.MIB


def test_put__a_deeper_group_is_named_whole():
    with pytest.raises(UsageError) as error:
        text.put({"a": {"b": {"c": 1}}}, "a.b", "x", "--set")
    assert error.value.message == "--set: a.b is a group of fields and cannot be given one value"


def test_csv_rows__a_line_break_inside_a_quoted_cell_is_kept_as_written():
    assert text.csv_rows('a,b\n"x\r\ny",2\n', "file") == [{"a": "x\r\ny", "b": "2"}]


def test_record_ids__ask_for_80_random_bits_and_16_past_the_floor():
    asked = []
    minted = ids.RecordIds(lambda bits: asked.append(bits) or 0)
    minted.new(5000)
    minted.new(5000)
    assert asked == [80, 80, 16]


def test_check_data__a_bad_field_name_gets_the_utf8_hint():
    with pytest.raises(UsageError) as error:
        text.check_data({BAD: 1}, "record")
    assert error.value.hint == text.UTF8_HINT


@pytest.fixture
def nairobi_local_time(monkeypatch):
    """The machine's local zone set to UTC+3, so that a time read or written as local differs from UTC."""
    import time
    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    monkeypatch.setenv("TZ", "EAT-3")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_utc__does_not_depend_on_the_machine_zone(nairobi_local_time):
    assert utc("2026-11-23T09:00:00") == "2026-11-23T09:00:00+00:00"
    assert utc("2026-11-23T09:00:00+03:00") == "2026-11-23T06:00:00+00:00"


def test_a_commit_is_dated_after_its_signers_removal_only_past_the_removals_second():
    """`signed_after_removal`: what a sync and verify name (a commit a removed worker made on a copy that
    had not heard of the removal); the removal's own second is not after it, a worker never removed never is."""
    from dataclasses import replace

    from cpcm.domain.team import signed_after_removal

    removed = Worker("amina", "Amina", ("caseworker",), "age1x", removed="2026-11-25T09:00:00+03:00")
    moment = datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc).timestamp()
    assert not signed_after_removal(removed, moment - 60)
    assert not signed_after_removal(removed, moment)
    assert signed_after_removal(removed, moment + 1)
    assert not signed_after_removal(replace(removed, removed=""), moment + 1)
