"""Pure tests of case conferences: the fold of a conference's records and the SOP's checks at
their boundaries, with the exact warnings (docs/testing.md). The policy here is written out,
so the tests pin the code's behaviour, not the shipped numbers."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from cpcm.domain.policy import Policy
from cpcm.domain.records import Record
from cpcm.workflow import conferences as conf

EAT = timezone(timedelta(hours=3))
RULES = {"notice": "7d", "invitations": "1w", "confirmation": "3d", "participants_min": 5,
         "participants_max": 10, "max_cases": {"internal": 6, "external": 4}, "start_time": "08:30",
         "source": "SOP §4; Form 3 (more)"}
POLICY = Policy("t", "t", {"conference": RULES, "conference_report": {"limit": "24h", "source": "Form 3 item 8 (more)"}})
DAY = date(2026, 12, 10)


def rec(kind, id_, at="2026-12-01T09:00:00+03:00", by="sup", recorded_at="2026-12-01T06:00:00+00:00", **body):
    return Record(kind, 1, id_, "CC-0000-0000", at, recorded_at, by, body)


def test_fold__a_conference_as_its_records_stand():
    records = [
        rec("nomination", "01C", case_id="CP-A", reason="especially_difficult", by="amina"),
        rec("conference", "01A", type="internal", date="2026-12-10", chair="sup", venue="Hall", notice_sent="2026-12-01",
            other="ignored"),
        rec("nomination", "01D", case_id="CP-B"),
        rec("nomination", "01E", case_id="CP-A", reason="unresolved_protection_concern"),
        rec("attendance", "01F", name="Jane  Doe", institution="Health", present=True),
        rec("attendance", "01G", name="john", institution="School", present=False),
        rec("attendance", "01H", name="jane doe", institution=" health ", present=False),
        rec("attendance", "01I", name="Ann", institution="Police", present=True),
    ]
    c = conf.fold("CC-0000-0000", records)
    assert (c.id, c.kind, c.date, c.chair, c.venue, c.created_by) == ("CC-0000-0000", "internal", "2026-12-10", "sup", "Hall", "sup")
    assert c.created_at == "2026-12-01T06:00:00+00:00"
    assert c.checklist == {"notice_sent": "2026-12-01", "invitations_sent": None, "attendance_confirmed": None}
    assert c.case_ids == ["CP-B", "CP-A"]
    assert c.cases[1] == {"case_id": "CP-A", "reason": "unresolved_protection_concern", "record_id": "01E", "by": "sup"}
    assert [(a["name"], a["present"], a["record_id"]) for a in c.attendees] == [
        ("john", False, "01G"), ("jane doe", False, "01H"), ("Ann", True, "01I")]
    assert [a["name"] for a in c.present] == ["Ann"]
    assert c.status == "planned" and c.minutes is None and c.closed_at is None
    assert [h[0] for h in c.history] == ["01A", "01C", "01D", "01E", "01F", "01G", "01H", "01I"]
    assert c.history[0] == ("01A", "conference", "2026-12-01T09:00:00+03:00", "sup")


def test_fold__minutes_close_and_the_report():
    records = [rec("conference", "01A", type="external", date="2026-12-10"),
               rec("rendered", "01B", template="conference-report", recorded_at="2026-12-10T05:00:00+00:00"),
               rec("minutes", "01C", decisions=["d"]),
               rec("conference_close", "01D", at="2026-12-10T12:00:00+03:00", by="chair"),
               rec("rendered", "01E", template="agenda", recorded_at="2026-12-10T10:00:00+00:00")]
    c = conf.fold("CC-1", records[:3])
    assert c.status == "minuted" and c.minutes == {"decisions": ["d"]} and c.minutes_id == "01C"
    assert c.report_rendered_at == "2026-12-10T05:00:00+00:00"  # open: any report counts
    closed = conf.fold("CC-1", records)
    assert closed.status == "closed" and closed.closed_at == "2026-12-10T09:00:00+00:00" and closed.closed_by == "chair"
    assert closed.report_rendered_at is None  # a report rendered before closing does not count, nor another template
    at_close = conf.fold("CC-1", records + [rec("rendered", "01F", template="conference-report", recorded_at="2026-12-10T09:00:00+00:00")])
    assert at_close.report_rendered_at == "2026-12-10T09:00:00+00:00"
    later = records + [rec("rendered", "01F", template="conference-report", recorded_at="2026-12-10T09:00:00+00:00"),
                       rec("rendered", "01G", template="conference-report", recorded_at="2026-12-11T09:00:00+00:00")]
    assert conf.fold("CC-1", later).report_rendered_at == "2026-12-11T09:00:00+00:00"
    assert closed.renders[1] == {"template": "agenda", "at": "2026-12-10T10:00:00+00:00", "by": "sup"}


def test_fold__minutes_written_apart_stay_a_conflict_until_the_minutes_as_agreed_are_written():
    """Two copies' minutes merged (a sync's `sync_conflict`, MINUTES_CONCURRENT): the later in the records stands,
    both stay readable by their records, and an update of the minutes settles the conflict (a `minutes` record does not)."""
    records = [rec("conference", "01A", type="internal", date="2026-12-10", chair="sup"),
               rec("minutes", "01C", key_issues="office"), rec("minutes", "01D", key_issues="laptop", by="amina"),
               rec("sync_conflict", "01E", at="2026-12-10T12:00:00+03:00", code="minutes-concurrent", records=["01C", "01D"])]
    c = conf.fold("CC-1", records)
    assert (c.minutes, c.minutes_id) == ({"key_issues": "laptop"}, "01D")
    assert c.conflicts == ({"record_id": "01E", "code": "minutes-concurrent", "records": ["01C", "01D"],
                            "at": "2026-12-10T09:00:00+00:00", "settled_by": None},)
    assert conf.open_conflicts(c, conf.MINUTES_CONCURRENT) == list(c.conflicts)
    assert [conf.minutes_held(records, r) for r in ("01C", "01D", "01A", "01X")] == [
        {"key_issues": "office"}, {"key_issues": "laptop"}, None, None]
    item, = conf.minutes_conflict_due(c, POLICY, EAT)
    assert (item.case_id, item.code, item.owner, item.due) == ("CC-1", "conference-minutes-concurrent", "sup",
                                                               datetime(2026, 12, 10, 12, 0, tzinfo=EAT))
    assert "01C, 01D" in item.why and "office" not in item.why and "laptop" not in item.why
    chairless = conf.fold("CC-1", [rec("conference", "01A", type="internal", date="2026-12-10")] + records[1:])
    assert [i.owner for i in conf.minutes_conflict_due(chairless, POLICY, EAT)] == [conf.SUPERVISORS]
    # found twice (two merges of the same copies): one conflict
    again = rec("sync_conflict", "01F", code="minutes-concurrent", records=["01C", "01D"])
    twice = conf.fold("CC-1", records + [again]).conflicts
    assert len(twice) == 1 and twice[0]["also"] == ["01F"]  # with both its records (the sync's report says it once)
    assert conf.fold("CC-1", records + [rec("minutes", "01F", key_issues="again")]).conflicts[0]["settled_by"] is None
    agreed = records + [rec("conference_update", "01G", changes={"minutes": {"key_issues": "both"}}, previous={}, reason="agreed")]
    settled = conf.fold("CC-1", agreed)
    assert settled.conflicts[0]["settled_by"] == "01G" and settled.minutes == {"key_issues": "both"}
    assert conf.open_conflicts(settled) == [] and conf.minutes_conflict_due(settled, POLICY, EAT) == []
    # an update written before the conflict was found (on one of the copies) settles nothing
    early = [rec("conference_update", "01DA", changes={"minutes": {"key_issues": "x"}}, previous={}, reason="r")]
    assert conf.fold("CC-1", records + early).conflicts[0]["settled_by"] is None


def test_fold__a_conflict_named_by_a_merge_that_could_not_read_the_minutes_is_none_where_they_hold_the_same():
    """A merge by a worker who cannot read the conference names every record written apart that may hold minutes
    (service/sync.py): the fold settles it by its own record where those holding minutes hold the same (an update
    of something else holds none; a close, the minutes it was closed with), and keeps it open otherwise."""
    head = [rec("conference", "01A", type="internal", date="2026-12-10", chair="sup"),
            rec("minutes", "01B", key_issues="before")]

    def found(*named, extra=()):
        folded = conf.fold("CC-1", head + list(extra) + [rec("sync_conflict", "01Z", code="minutes-concurrent", records=list(named))])
        return [c["settled_by"] for c in folded.conflicts]

    same = [rec("minutes", "01C", key_issues="one"), rec("minutes", "01D", key_issues="one", by="amina")]
    assert found("01C", "01D", extra=same) == ["01Z"]
    assert found("01C", "01D", extra=[same[0], rec("minutes", "01D", key_issues="two")]) == [None]
    venue = rec("conference_update", "01E", changes={"venue": "Hall"}, previous={}, reason=None)
    checked = rec("conference_update", "01F", changes={"attendance_confirmed": "2026-12-08"}, previous={}, reason=None)
    assert found("01E", "01F", extra=[venue, checked]) == ["01Z"]  # neither holds minutes
    assert found("01C", "01E", extra=[same[0], venue]) == ["01Z"]  # only one holds minutes
    close = rec("conference_close", "01G", cases=[], minutes="01B")
    assert found("01G", "01H", extra=[close, rec("conference_update", "01H", changes={"minutes": {"key_issues": "before"}},
                                                 previous={}, reason="r")]) == ["01Z"]
    assert found("01G", "01H", extra=[close, rec("conference_update", "01H", changes={"minutes": {"key_issues": "mended"}},
                                                 previous={}, reason="r")]) == [None]
    assert found("01G", "01C", extra=[rec("conference_close", "01G", cases=[]), same[0]]) == [None]  # closed naming none
    assert found("01C", "01X", extra=same) == [None]  # a record it names is not among the conference's


def test_fold__minutes_one_copy_wrote_and_then_replaced_are_not_compared_with_the_other_copy_s():
    """Minutes X written and then replaced by Y on one copy, apart, while the other copy wrote Y: both copies hold Y,
    but the merge that could not read them names X too. X stands on neither copy: the fold compares Y with Y and
    settles the conflict; minutes the other copy wrote differently keep it open, and so does a close made with X."""
    head = [rec("conference", "01A", type="internal", date="2026-12-10", chair="sup")]
    written = rec("minutes", "01B", key_issues="first")
    mended = rec("conference_update", "01C", changes={"minutes": {"key_issues": "agreed"}},
                 previous={"minutes": {"record_id": "01B"}}, reason="r")

    def found(other, *extra):
        named = sorted(r.id for r in (written, mended, other, *extra))
        records = head + [written, mended, other, *extra, rec("sync_conflict", "01Z", code="minutes-concurrent", records=named)]
        return [c["settled_by"] for c in conf.fold("CC-1", records).conflicts]

    assert found(rec("minutes", "01D", key_issues="agreed", by="amina")) == ["01Z"]
    assert found(rec("minutes", "01D", key_issues="other", by="amina")) == [None]
    assert found(rec("minutes", "01D", key_issues="agreed", by="amina"), rec("conference_close", "01E", cases=[], minutes="01B")) == [None]
    again = rec("conference_update", "01E", changes={"minutes": {"key_issues": "again"}}, previous={"minutes": {"record_id": "01C"}},
                reason="r")  # replaced twice on one copy: the last stands
    assert found(rec("minutes", "01D", key_issues="again", by="amina"), again) == ["01Z"]


def test_fold__a_conference_closed_keeps_the_minutes_it_was_closed_with():
    """Minutes a copy apart recorded while the conference was closed on the other (brought in by a sync): the minutes
    the close names stand, before or after it in the records; an update after the close still replaces them."""
    base = [rec("conference", "01A", type="internal", date="2026-12-10", chair="sup"),
            rec("minutes", "01C", key_issues="closed with")]
    close = rec("conference_close", "01E", at="2026-12-10T12:00:00+03:00", cases=[], minutes="01C")
    after = conf.fold("CC-1", base + [close, rec("minutes", "01F", key_issues="apart", by="amina")])
    assert (after.minutes, after.minutes_id, after.status) == ({"key_issues": "closed with"}, "01C", "closed")
    between = conf.fold("CC-1", base + [rec("minutes", "01D", key_issues="apart", by="amina"), close])
    assert (between.minutes, between.minutes_id) == ({"key_issues": "closed with"}, "01C")
    old_close = rec("conference_close", "01E", at="2026-12-10T12:00:00+03:00", cases=[])  # closed before closes named them
    assert conf.fold("CC-1", base + [rec("minutes", "01D", key_issues="later")] + [old_close]).minutes_id == "01D"
    mended = conf.fold("CC-1", base + [close, rec("conference_update", "01G", changes={"minutes": {"key_issues": "m"}},
                                                  previous={"minutes": {"record_id": "01C"}}, reason="r")])
    assert (mended.minutes, mended.minutes_id) == ({"key_issues": "m"}, "01G")


def test_to_dict():
    c = conf.fold("CC-1", [rec("conference", "01A", type="internal", date="2026-12-10", chair="sup"),
                           rec("attendance", "01B", name="A", present=True), rec("minutes", "01C", x=1)])
    data = c.to_dict()
    assert data == {
        "conference_id": "CC-1", "kind": "internal", "date": "2026-12-10", "chair": "sup", "venue": None, "status": "minuted",
        "created_at": "2026-12-01T06:00:00+00:00", "created_by": "sup",
        "checklist": {"notice_sent": None, "invitations_sent": None, "attendance_confirmed": None}, "cases": [], "proposals": [],
        "not_discussed": [], "removed": [],
        "attendees": [{"name": "A", "present": True, "record_id": "01B"}], "participants": 1, "minutes": {"x": 1},
        "closed_at": None, "closed_by": None, "report_rendered_at": None, "co_chair": None, "external_chair": None, "virtual": None, "updates": [],
        "conflicts": [],
        "history": [{"record_id": "01A", "kind": "conference", "at": "2026-12-01T09:00:00+03:00", "by": "sup"},
                    {"record_id": "01B", "kind": "attendance", "at": "2026-12-01T09:00:00+03:00", "by": "sup"},
                    {"record_id": "01C", "kind": "minutes", "at": "2026-12-01T09:00:00+03:00", "by": "sup"}],
    }
    assert conf.Conference("CC-2").to_dict()["minutes"] is None


def test_member_key():
    assert conf.member_key({"name": " Jane   DOE ", "institution": "Min.  Health"}) == ("jane doe", "min. health")
    assert conf.member_key({}) == ("", "")


def test_meeting_day_and_days_before():
    assert conf.meeting_day(conf.Conference("C", date="2026-12-10T14:00:00+03:00")) == DAY
    assert conf.meeting_day({"date": "2026-12-10"}) == DAY
    assert conf.days_before(POLICY, "notice") == 7 and conf.days_before(POLICY, "invitations") == 7
    assert conf.days_before(POLICY, "confirmation") == 3
    assert conf.days_before(Policy("t", "t", {"conference": {"notice": "36h"}}), "notice") == 1
    assert conf.days_before(Policy("t", "t", {"conference": {"notice": "0d"}}), "notice") == 0


def test_timeline_warnings__each_item_at_its_boundary():
    on_time = {"notice_sent": "2026-12-03", "invitations_sent": "2026-12-03T10:00:00+03:00", "attendance_confirmed": "2026-12-07"}
    assert conf.timeline_warnings(on_time, DAY, POLICY, date(2026, 12, 8)) == []
    late = {"notice_sent": "2026-12-04", "invitations_sent": "2026-12-03", "attendance_confirmed": "2026-12-08"}
    assert conf.timeline_warnings(late, DAY, POLICY, date(2026, 12, 9)) == [
        "conference.notice: participants told on 2026-12-04, 6 day(s) before the meeting on 2026-12-10; "
        "the SOP asks for at least 7 day(s) (SOP §4)",
        "conference.confirmation: attendance confirmed on 2026-12-08, 2 day(s) before the meeting on 2026-12-10; "
        "the SOP asks for at least 3 day(s) (SOP §4)",
    ]


def test_timeline_warnings__an_item_not_done_yet_counts_from_today():
    assert conf.timeline_warnings({}, DAY, POLICY, date(2026, 12, 3)) == []
    assert conf.timeline_warnings({"notice_sent": "2026-12-01", "invitations_sent": "2026-12-01"}, DAY, POLICY,
                                  date(2026, 12, 8)) == [
        "conference.confirmation: attendance confirmed not yet (today is 2026-12-08), 2 day(s) before the meeting on "
        "2026-12-10; the SOP asks for at least 3 day(s) (SOP §4)"]
    assert len(conf.timeline_warnings({}, DAY, POLICY, date(2026, 12, 4))) == 2


@pytest.mark.parametrize("kind, count, limit", [("internal", 6, 6), ("external", 4, 4)])
def test_cases_warning__at_and_above_the_limit(kind, count, limit):
    assert conf.cases_warning(kind, count, POLICY) is None
    assert conf.cases_warning(kind, count + 1, POLICY) == (
        f"conference.max_cases.{kind}: {count + 1} cases nominated for an {kind} conference; the SOP asks for at most "
        f"{limit} (SOP §4 §5.3-5.5)")


def test_max_cases__a_kind_without_a_limit():
    assert conf.max_cases(POLICY, "aac") is None
    assert conf.cases_warning("aac", 99, POLICY) is None
    assert conf.max_cases(Policy("t", "t", {"conference": {}}), "internal") is None
    assert conf.max_cases(Policy("t", "t", {"conference": {"max_cases": {"internal": "3"}}}), "internal") == 3


@pytest.mark.parametrize("count, warned", [(4, True), (5, False), (10, False), (11, True), (0, True)])
def test_participants_warning__boundaries(count, warned):
    warning = conf.participants_warning(count, POLICY)
    if warned:
        assert warning == (f"conference.participants: {count} participant(s) recorded as present; the SOP asks for 5-10 "
                           "(SOP §4 §5.3-5.5)")
    else:
        assert warning is None


def test_participants_warning__defaults():
    bare = Policy("t", "t", {"conference": {}})
    assert conf.participants_warning(5, bare) is None and conf.participants_warning(10, bare) is None
    assert conf.participants_warning(4, bare) is not None and conf.participants_warning(11, bare) is not None


def test_report_due__after_closing_until_rendered():
    # the clock runs from the meeting's start (Form 3 item 8), not from closing it in cpcm
    closed = conf.Conference("CC-1", chair="sup", date="2026-12-10T09:00:00+00:00", closed_at="2026-12-10T15:00:00+00:00")
    item = conf.report_due(closed, POLICY)
    assert item.due == datetime(2026, 12, 11, 9, 0, tzinfo=timezone.utc)
    assert (item.case_id, item.code, item.title, item.target, item.owner, item.rule) == (
        "CC-1", "conference-report", "conference report due", None, "sup", "conference_report")
    assert item.why == ("the report with the action points within 24 hours of the meeting (2026-12-10 09:00 +00:00): "
                        "cpcm render conference-report CC-1")
    assert item.source == POLICY.source("conference_report") == "Form 3 item 8 (more)"  # its own source, not the notice's
    local = conf.report_due(closed, POLICY, tz=EAT)
    assert local.due == datetime(2026, 12, 11, 12, 0, tzinfo=EAT) and local.due.utcoffset() == timedelta(hours=3)
    assert "(2026-12-10 12:00 +03:00)" in local.why  # the meeting's time as the agency reads it, with its offset
    assert conf.report_due(conf.Conference("CC-1", date="2026-12-10T09:00:00+00:00"), POLICY) is None
    rendered = conf.Conference("CC-1", date="2026-12-10T09:00:00+00:00", closed_at="2026-12-10T09:00:00+00:00",
                               renders=({"template": "conference-report", "at": "2026-12-10T10:00:00+00:00"},))
    assert conf.report_due(rendered, POLICY) is None


def test_agenda__clock_times_and_the_cases_share():
    items = conf.agenda("internal", datetime(2026, 12, 10, 9, 0), ["CP-A", "CP-B", "CP-C", "CP-D"])
    assert [(i["item"], i["start"], i["end"], i["minutes_min"], i["minutes_max"]) for i in items] == [
        ("welcome", "09:00", "09:10", 10, 10), ("updates", "09:10", "09:30", 15, 20), ("debrief", "09:30", "09:50", 15, 20),
        ("cases", "09:50", "11:20", 90, 90), ("trends", "11:20", "11:40", 15, 20), ("actions", "11:40", "11:50", 10, 10),
        ("next_meeting", "11:50", "11:55", 5, 5)]
    assert items[3]["cases"] == [{"id": "CP-A", "start": "09:50", "minutes": 22}, {"id": "CP-B", "start": "10:12", "minutes": 22},
                                 {"id": "CP-C", "start": "10:34", "minutes": 22}, {"id": "CP-D", "start": "10:56", "minutes": 22}]
    assert all(i["cases"] == [] for i in items if i["item"] != "cases")


def test_agenda__external_unknown_kind_and_no_cases():
    external = conf.agenda("external", datetime(2026, 12, 10, 14, 0), [])
    assert [i["end"] for i in external][-1] == "16:50"
    assert external[3]["cases"] == [] and external[3]["start"] == "15:05"
    assert conf.agenda("odd", datetime(2026, 12, 10, 14, 0), []) == external
    many = conf.agenda("external", datetime(2026, 12, 10, 9, 0), [f"CP-{i}" for i in range(70)])
    assert many[3]["cases"][1] == {"id": "CP-1", "start": "10:06", "minutes": 1}
    assert conf.AGENDA["aac"] == conf.AGENDA["external"]


def test_start_of__a_time_given_or_the_policy_start():
    assert conf.start_of(conf.Conference("C", date="2026-12-10T14:15:00+03:00"), POLICY) == datetime(2026, 12, 10, 14, 15, tzinfo=EAT)
    assert conf.start_of(conf.Conference("C", date="2026-12-10"), POLICY) == datetime(2026, 12, 10, 8, 30)
    assert conf.start_of(conf.Conference("C", date="2026-12-10"), Policy("t", "t", {"conference": {}})) == datetime(2026, 12, 10, 9, 0)


def _hits(names, text):
    return [p.pattern for p in conf.name_patterns(names) if p.search(text)]


def test_name_patterns__a_full_name_in_any_case_and_spacing():
    patterns = conf.name_patterns(["Amani Otieno"])
    assert len(patterns) == 3  # the phrase, then each word
    assert any(p.search("met amani   otieno today") for p in patterns)
    assert not any(p.search("the amaniotieno account") for p in patterns)


def test_name_patterns__a_single_word_only_as_a_name():
    patterns = conf.name_patterns(["Amani"])
    assert any(p.search("Amani came") for p in patterns)
    assert any(p.search("AMANI came") for p in patterns)
    assert not any(p.search("amani (peace) for all") for p in patterns)
    assert not any(p.search("Amanis") for p in patterns) and not any(p.search("XAmani") for p in patterns)


def test_name_patterns__short_words_of_long_names_and_odd_input():
    patterns = conf.name_patterns(["Jo Ann Lee", None, "", "Bo"])
    words = [p for p in patterns if "\\s+" not in p.pattern]
    assert any(p.search("Ann said") for p in patterns) and any(p.search("Lee said") for p in patterns)
    assert not any(p.search("Jo said") for p in words)  # two letters in a longer name: not alone
    assert any(p.search("Bo said") for p in patterns)  # a one-word name, however short
    assert any(p.search("jo ann lee") for p in patterns)
    assert any(p.search("7x") for p in conf.name_patterns(["7x"]))  # a first character with no case


def test_names_found__the_field_and_the_case_never_the_name():
    patterns = {"CP-A": conf.name_patterns(["Amani Otieno"]), "CP-B": conf.name_patterns(["Baraka"])}
    minutes = {"decisions": ["Otieno to attend", "nothing"], "summary": {"text": "Baraka and Amani"}, "n": 3,
               "other": "clean"}
    assert conf.names_found(minutes, patterns) == ["decisions[1] (a name registered for CP-A)",
                                                   "summary.text (a name registered for CP-A)"]
    assert conf.names_found({"x": "Baraka"}, patterns) == ["x (a name registered for CP-B)"]
    assert conf.names_found({"x": "nothing here"}, patterns) == []
    assert list(conf._texts(["a", {"b": "c"}])) == [("[1]", "a"), ("[2].b", "c")]


def test_participants_warning__reads_the_policy_numbers():
    own = Policy("t", "t", {"conference": {"participants_min": 3, "participants_max": 8, "source": "S"}})
    assert conf.participants_warning(3, own) is None and conf.participants_warning(8, own) is None
    assert conf.participants_warning(2, own) == ("conference.participants: 2 participant(s) recorded as present; "
                                                 "the SOP asks for 3-8 (S §5.3-5.5)")
    assert conf.participants_warning(9, own) is not None


def test_to_dict__the_cases_nominated():
    c = conf.fold("CC-1", [rec("conference", "01A", type="internal"), rec("nomination", "01B", case_id="CP-A", reason="r")])
    assert c.to_dict()["cases"] == [{"case_id": "CP-A", "reason": "r", "record_id": "01B", "by": "sup"}]


def test_name_patterns__no_name_no_pattern():
    assert conf.name_patterns([None, "", "  "]) == []


def test_days_before__counts_calendar_months_and_years_from_a_fixed_day():
    assert conf.days_before(Policy("t", "t", {"conference": {"notice": "1mo"}}), "notice") == 31
    assert conf.days_before(Policy("t", "t", {"conference": {"notice": "1y"}}), "notice") == 366


def test_fold__a_caseworkers_nomination_waits_until_the_chair_takes_it_in_and_is_due_a_week_before():
    start = [rec("conference", "01A", type="internal", date="2026-12-10", chair="lead")]
    proposed = start + [rec("nomination", "01B", by="amina", case_id="CP-A", reason="especially_difficult", proposed=True),
                        rec("nomination", "01C", by="sup", case_id="CP-B", reason="especially_difficult"),
                        rec("nomination", "01D", by="otieno", case_id="CP-B", reason="especially_difficult", proposed=True)]
    c = conf.fold("CC-1", proposed)
    # a nomination of a case already in the final set is not waiting
    assert c.case_ids == ["CP-B"] and [(p["case_id"], p["by"], p["record_id"]) for p in c.proposals] == [("CP-A", "amina", "01B")]
    items = conf.nominations_due(c, POLICY, datetime(2026, 12, 1, 9, tzinfo=EAT))
    assert [(i.code, i.case_id, i.owner) for i in items] == [("conference-nomination", "CC-1", "lead")]
    assert items[0].due == datetime(2026, 12, 3, 8, 30, tzinfo=EAT)  # the final set a week before the meeting
    assert "CP-A" in items[0].title and "amina" in items[0].why
    late = conf.fold("CC-1", start + [rec("nomination", "01B", by="amina", case_id="CP-A", reason="especially_difficult",
                                          proposed=True, recorded_at="2026-12-05T06:00:00+00:00")])
    assert conf.nominations_due(late, POLICY, datetime(2026, 12, 5, 10, tzinfo=EAT))[0].due == datetime(2026, 12, 5, 9, tzinfo=EAT)
    assert not conf.nominations_due(c, POLICY, datetime(2026, 12, 10, 8, 30, tzinfo=EAT))  # the meeting started: left out
    taken = conf.fold("CC-1", proposed + [rec("nomination", "01E", case_id="CP-A", reason="especially_difficult", proposal="01B")])
    assert taken.case_ids == ["CP-B", "CP-A"] and not taken.proposals and not conf.nominations_due(taken, POLICY,
                                                                                                  datetime(2026, 12, 1, tzinfo=EAT))


def test_fold__a_nomination_written_on_a_copy_apart_while_the_conference_closed_is_not_discussed_and_is_due():
    """Two copies, synced: the chair closed the conference on one (its close names the cases it
    closed with); on the other a case was nominated (record order is the laptops' clocks, so it may
    come before the close or after it). The case was not discussed: it is neither among the cases
    (the report, the admission clock) nor waiting, and its nominator is told to take it to the next
    conference, until it is nominated to one meeting later."""
    start = [rec("conference", "01A", type="internal", date="2026-12-10", chair="lead"),
             rec("nomination", "01B", case_id="CP-A", reason="r")]
    close = rec("conference_close", "01D", at="2026-12-10T13:00:00+03:00", cases=[{"case_id": "CP-A", "record_id": "01X"}])
    apart = rec("nomination", "01C", by="amina", case_id="CP-B", reason="especially_difficult")  # before the close, by its clock
    after = rec("nomination", "01E", by="otieno", case_id="CP-C", reason="especially_difficult", proposed=True)
    skewed = rec("nomination", "01F", case_id="CP-A", reason="r")  # named by the close: a clock ahead, not a copy apart
    c = conf.fold("CC-1", start + [apart, close, after, skewed])
    assert c.case_ids == ["CP-A"] and not c.proposals
    assert [(n["case_id"], n["by"]) for n in c.not_discussed] == [("CP-B", "amina"), ("CP-C", "otieno")]
    assert [n["case_id"] for n in c.to_dict()["not_discussed"]] == ["CP-B", "CP-C"]
    items = conf.not_discussed_due(c, [c], POLICY, EAT)
    # a reader's own nomination is theirs to take on; a caseworker's proposal is the chair's (they cannot read the conference)
    assert [(i.code, i.case_id, i.owner) for i in items] == [("conference-not-discussed", "CP-B", "amina"),
                                                            ("conference-not-discussed", "CP-C", "lead")]
    assert items[0].due == datetime(2026, 12, 10, 13, tzinfo=EAT) and "CC-1" in items[0].title
    assert "cpcm conference add-case CONF CP-B --reason especially_difficult" in items[0].why
    # nominated to a later conference (taken in, or a caseworker's nomination waiting there): no longer due
    nxt = conf.fold("CC-2", [rec("conference", "01G", type="internal", date="2026-12-20", chair="lead"),
                             rec("nomination", "01H", case_id="CP-B", reason="r"),
                             rec("nomination", "01I", by="otieno", case_id="CP-C", reason="r", proposed=True)])
    assert conf.not_discussed_due(c, [c, nxt], POLICY, EAT) == []
    earlier = conf.fold("CC-0", [rec("conference", "01G", type="internal", date="2026-12-01", chair="lead"),
                                 rec("nomination", "01H", case_id="CP-B", reason="r")])
    assert [i.case_id for i in conf.not_discussed_due(c, [c, earlier], POLICY, EAT)] == ["CP-B", "CP-C"]
    # a close that names no cases (written by hand): what came after it in record order was not discussed
    bare = conf.fold("CC-1", start + [apart, rec("conference_close", "01D"), after])
    assert bare.case_ids == ["CP-A", "CP-B"] and [n["case_id"] for n in bare.not_discussed] == ["CP-C"]
    # an open conference: nothing is set apart
    assert not conf.fold("CC-1", start + [apart, after]).not_discussed
