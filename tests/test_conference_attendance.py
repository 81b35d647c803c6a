"""Attendance (the case-conferencing SOP's Form 6) records who came to a meeting: it is refused
before the meeting's date, with the field, the reason and what to do, and nothing is written;
on the day (before or after the start: members sign in as they arrive) and after, it is taken."""
from __future__ import annotations

from datetime import datetime, timezone

from conftest import commit_count
from test_conference import new_conference

from cpcm.workflow import conferences as rules

MEMBER = ["--institution", "Children's office", "--name", "Officer One", "--position", "SCCO", "--contact", "0700",
          "--confidentiality-signed", "yes"]


def test_attend__before_the_meetings_date_is_refused_on_the_day_and_after_taken(cli_as, repo):
    sup = cli_as("sup")  # 2026-11-23; the meeting is on 2026-11-30
    conf = new_conference(sup)
    for now in ("2026-11-23T09:00:00+03:00", "2026-11-29T23:59:00+03:00"):
        before = commit_count(repo)
        refused = cli_as("sup", CPCM_NOW=now)("conference", "attend", conf, *MEMBER, "--json")
        assert refused.code == 4, refused.stderr
        answer = refused.json()
        assert answer["rule"] == "conference-attendance-before-meeting"
        assert "date" in answer["message"] and "2026-11-30" in answer["message"] and "before the meeting's date" in answer["message"]
        assert f"cpcm conference update {conf} --date DATE" in answer["hint"] and "--attendance-confirmed" in answer["hint"]
        assert "Officer One" not in refused.stdout + refused.stderr  # the value typed is not repeated
        assert commit_count(repo) == before
        assert sup("conference", "show", conf, "--json").json()["attendees"] == []
    arriving = cli_as("sup", CPCM_NOW="2026-11-30T00:01:00+03:00")  # the day itself, before the start time
    assert arriving("conference", "attend", conf, *MEMBER).code == 0
    later = cli_as("sup", CPCM_NOW="2026-12-02T10:00:00+03:00")  # typed in from the paper register afterwards
    assert later("conference", "attend", conf, "--institution", "School", "--name", "Teacher Two", "--position", "Head",
                 "--contact", "0700", "--confidentiality-signed", "yes").code == 0
    assert sup("conference", "show", conf, "--json").json()["participants"] == 2


def test_attend__a_meeting_moved_earlier_takes_attendance_from_its_new_date(cli_as):
    sup = cli_as("sup")
    conf = new_conference(sup)
    assert sup("conference", "update", conf, "--date", "2026-11-23", "--reason", "brought forward").code == 0
    assert sup("conference", "attend", conf, *MEMBER).code == 0


def test_attendance_too_early__the_rule_at_its_boundary():
    conference = rules.Conference(id="CC-AAAA-BBBB", kind="internal", date="2026-11-30T10:00")
    zone = timezone.utc
    assert rules.attendance_too_early(conference, datetime(2026, 11, 29, 23, 59, tzinfo=zone))
    assert rules.attendance_too_early(conference, datetime(2026, 11, 30, 0, 0, tzinfo=zone)) is None
    assert rules.attendance_too_early(conference, datetime(2026, 12, 30, 0, 0, tzinfo=zone)) is None
