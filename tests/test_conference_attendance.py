"""Attendance (the case-conferencing SOP's Form 6) records who came to a meeting: it is refused
before the meeting's date, with the field, the reason and what to do, and nothing is written;
on the day (before or after the start: members sign in as they arrive) and after, it is taken.
At the service level over a repository in memory; the exit code and --json of a refusal through
the CLI."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from conftest import commit_count
from cpcm.errors import Refused
from cpcm.service import conferences
from cpcm.workflow import conferences as rules
from memory_repo import MemoryRepo
from test_conference import conference_in, member, new_conference

MEMBER = ["--institution", "Children's office", "--name", "Officer One", "--position", "SCCO", "--contact", "0700",
          "--confidentiality-signed", "yes"]
OFFICER = member("Children's office", "Officer One", "SCCO")


def test_attend__before_the_meetings_date_is_refused_on_the_day_and_after_taken():
    mem = MemoryRepo()  # 2026-11-23; the meeting is on 2026-11-30
    conf = conference_in(mem.as_("sup"))
    for now in ("2026-11-23T09:00:00+03:00", "2026-11-29T23:59:00+03:00"):
        before = mem.commits()
        with pytest.raises(Refused) as refused:
            conferences.attend(mem.as_("sup", now=now), conf, OFFICER)
        answer = refused.value
        assert answer.rule == "conference-attendance-before-meeting"
        assert "date" in answer.message and "2026-11-30" in answer.message and "before the meeting's date" in answer.message
        assert f"cpcm conference update {conf} --date DATE" in answer.hint and "--attendance-confirmed" in answer.hint
        assert "Officer One" not in answer.message + answer.hint  # the value typed is not repeated
        assert mem.commits() == before
        assert conferences.load(mem.as_("sup"), conf).attendees == ()
    arriving = mem.as_("sup", now="2026-11-30T00:01:00+03:00")  # the day itself, before the start time
    conferences.attend(arriving, conf, OFFICER)
    later = mem.as_("sup", now="2026-12-02T10:00:00+03:00")  # typed in from the paper register afterwards
    conferences.attend(later, conf, member("School", "Teacher Two", "Head"))
    assert len(conferences.load(later, conf).present) == 2


def test_attend__a_meeting_moved_earlier_takes_attendance_from_its_new_date():
    mem = MemoryRepo()
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.update(sup, conf, {"date": "2026-11-23"}, "brought forward")
    assert conferences.attend(mem.as_("sup"), conf, OFFICER).kind == "attendance"


def test_attendance_too_early__the_rule_at_its_boundary():
    conference = rules.Conference(id="CC-AAAA-BBBB", kind="internal", date="2026-11-30T10:00")
    zone = timezone.utc
    assert rules.attendance_too_early(conference, datetime(2026, 11, 29, 23, 59, tzinfo=zone))
    assert rules.attendance_too_early(conference, datetime(2026, 11, 30, 0, 0, tzinfo=zone)) is None
    assert rules.attendance_too_early(conference, datetime(2026, 12, 30, 0, 0, tzinfo=zone)) is None


def test_cli__attendance_before_the_meeting_exits_4_with_the_rule_and_the_value_not_echoed(cli_as, repo):
    sup = cli_as("sup")
    conf = new_conference(sup)
    before = commit_count(repo)
    refused = sup("conference", "attend", conf, *MEMBER, "--json")
    assert refused.code == 4, refused.stderr
    assert refused.json()["rule"] == "conference-attendance-before-meeting"
    assert "Officer One" not in refused.stdout + refused.stderr
    assert commit_count(repo) == before
    arriving = cli_as("sup", CPCM_NOW="2026-11-30T00:01:00+03:00")
    assert arriving("conference", "attend", conf, *MEMBER).code == 0
    assert commit_count(repo) == before + 1
