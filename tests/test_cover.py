"""The rules of cover for a colleague (cpcm/workflow/cover.py), as pure functions: when a cover is
in force, who reads a covered case, who may cover, and the covers a case records. The commands
are tested end to end in test_time_cover.py."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from cpcm.domain.records import Record
from cpcm.domain.team import Team, Worker
from cpcm.workflow import cover

NAIROBI = ZoneInfo("Africa/Nairobi")
NOW = datetime.fromisoformat("2026-02-15T09:00:00+03:00")
TEAM = Team(tuple(Worker(id=w, name=w, roles=(r,), recipient=f"age1{w}", removed=gone) for w, r, gone in (
    ("sup", "supervisor", ""), ("amina", "caseworker", ""), ("baraka", "caseworker", ""), ("otieno", "caseworker", ""),
    ("mwangi", "manager", ""), ("left", "caseworker", "2026-01-01T00:00:00+00:00"))))


def record(kind: str, rid: str, by: str = "amina", at: str = "2026-02-01T10:00:00+00:00", **body) -> Record:
    return Record(kind=kind, schema=1, id=rid, case="NBO-2026-0001", at=at, recorded_at=at, by=by, body=body)


def test_ends__a_date_alone_is_the_end_of_that_day_in_the_zone_and_a_time_is_itself():
    assert cover.ends("2026-03-01", NAIROBI).isoformat() == "2026-03-01T23:59:59+03:00"
    assert cover.ends("2026-03-01T10:00:00+00:00", NAIROBI) == datetime.fromisoformat("2026-03-01T13:00:00+03:00")


def test_in_force__a_cover_ending_at_now_has_ended():
    assert cover.in_force({"baraka": "2026-02-15T09:00:00+03:00"}, NOW) == {}
    assert cover.in_force({"baraka": "2026-02-15T09:01:00+03:00"}, NOW) == {"baraka": "2026-02-15T09:01:00+03:00"}


def test_in_force__an_unreadable_end_is_no_cover_and_the_covers_after_it_still_count():
    covers = {"otieno": "not a time", "baraka": "2026-03-01", "amina": "2026-02-01"}
    assert cover.in_force(covers, NOW) == {"baraka": "2026-03-01"}
    assert cover.covering(covers, "baraka", NOW) is True
    assert cover.covering(covers, "otieno", NOW) is False
    assert cover.covering(covers, "amina", NOW) is False


def test_readers__a_case_without_a_worker_is_read_by_its_covers_and_oversight():
    covers = {"baraka": "2026-03-01", "left": "2026-03-01"}  # a removed worker reads nothing
    assert cover.readers(TEAM, None, covers, NOW) == ["baraka", "sup", "mwangi"]
    assert cover.readers(TEAM, "amina", covers, NOW) == ["amina", "baraka", "sup", "mwangi"]


def test_access__the_readers_and_the_cover_lines_kept_one_rule_for_every_change_of_readers():
    covers = {"baraka": "2026-03-01", "otieno": "2026-02-01", "left": "2026-03-01", "amina": "2026-03-01"}
    # ended (otieno), no longer in the team (left), the case's own worker now (amina): neither reader nor line
    assert cover.access(TEAM, "amina", covers, NOW) == (["amina", "baraka", "sup", "mwangi"], {"baraka": "2026-03-01"})
    assert cover.access(TEAM, "baraka", covers, NOW) == (["baraka", "amina", "sup", "mwangi"], {"amina": "2026-03-01"})
    assert cover.access(TEAM, "amina", {}, NOW) == (["amina", "sup", "mwangi"], {})
    assert cover.readers(TEAM, "amina", covers, NOW) == cover.access(TEAM, "amina", covers, NOW)[0]


def test_problems__who_may_not_cover_and_why_in_full():
    end = datetime.fromisoformat("2026-03-01T00:00:00+03:00")
    assert cover.problems(TEAM, "amina", "nobody", end, NOW) == [
        ("cover", "is not an active worker of the team (cpcm team list)")]
    assert cover.problems(TEAM, "amina", "left", end, NOW) == [
        ("cover", "is not an active worker of the team (cpcm team list)")]
    assert cover.problems(TEAM, "amina", "amina", end, NOW) == [("cover", "is the case's own worker")]
    for oversight in ("sup", "mwangi"):
        assert cover.problems(TEAM, "amina", oversight, end, NOW) == [
            ("cover", "is a supervisor or manager, who reads every case already")]
    assert cover.problems(TEAM, "amina", "baraka", end, NOW) == []


def test_problems__an_end_at_now_or_before_has_passed():
    passed = [("until", "has passed: a cover ends in the future")]
    assert cover.problems(TEAM, "amina", "baraka", NOW, NOW) == passed
    assert cover.problems(TEAM, "amina", "baraka", datetime.fromisoformat("2026-02-14T09:00:00+03:00"), NOW) == passed
    assert cover.problems(TEAM, None, "baraka", datetime.fromisoformat("2026-02-15T09:01:00+03:00"), NOW) == []
    assert [f for f, _ in cover.problems(TEAM, "amina", "nobody", NOW, NOW)] == ["cover", "until"]


def test_latest_covers__the_latest_per_worker_in_record_order_with_who_and_when():
    records = [
        record("cover", "0003", by="sup", at="2026-02-03T10:00:00+00:00", worker="baraka", until="2026-03-10T23:59:59+03:00"),
        record("cover", "0001", worker="baraka", until="2026-02-20T23:59:59+03:00"),
        record("note", "0002", worker="otieno", until="2026-02-20"),  # not a cover
        record("cover", "0004", worker="", until="2026-02-20"),       # names no one
        record("cover", "0005", at="2026-02-05T10:00:00+00:00", worker="otieno"),
    ]
    assert cover.latest_covers(records) == [
        {"worker": "baraka", "until": "2026-03-10T23:59:59+03:00", "record_id": "0003", "at": "2026-02-03T10:00:00+00:00",
         "by": "sup"},
        {"worker": "otieno", "until": None, "record_id": "0005", "at": "2026-02-05T10:00:00+00:00", "by": "amina"},
    ]
    assert cover.latest_covers([]) == []
