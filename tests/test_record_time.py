"""A record's `--at` on a case: not in the future, and not before the case's cycle began (its
registration, or its latest reopening), from which every deadline counts. Refused naming `at`,
and nothing is written."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from conftest import CLINIC, commit_count, register
from cpcm.domain.case import Case
from cpcm.service.context import at_errors

pytestmark = pytest.mark.e2e


def test_a_record_dated_before_the_registration_is_refused(cli, repo):
    case_id = register(cli)  # registered at the fixed clock, 2026-11-23 09:00 +03:00
    commits = commit_count(repo)
    for args in (("note", case_id, "--text", "visited", "--at", "2026-11-20"),
                 ("assign", case_id, "--worker", "sup", "--at", "2026-11-22T10:00")):
        refused = cli(*args)
        assert refused.code == 4, (args, refused.stderr)
        assert "--at (at): is before the case was registered (2026-11-23 09:00 +03:00)" in refused.stderr
    assert f"cpcm correct {case_id} registration --at WHEN" in refused.stderr  # what to do when the case began earlier
    assert commit_count(repo) == commits
    assert cli("note", case_id, "--text", "visited", "--at", "2026-11-23T09:00").code == 0
    # the case began earlier: its registration's time corrected, the visit is taken
    moved = cli("correct", case_id, "registration", "--at", "2026-11-19T10:00", "--reason", "registered late")
    assert moved.code == 0, moved.stderr
    assert cli("show", case_id, "--json").json()["registered_at"] == "2026-11-19T10:00:00+03:00"
    assert cli("note", case_id, "--text", "visited", "--at", "2026-11-20").code == 0


def test_a_case_registered_with_an_earlier_date_takes_records_from_then(cli, repo):
    case_id = register(cli, "--at", "2026-11-01")
    assert cli("note", case_id, "--text", "visited", "--at", "2026-11-10").code == 0
    assert cli("note", case_id, "--text", "visited", "--at", "2026-10-30").code == 4


@pytest.mark.parametrize("at, events, expected", [
    (datetime(2026, 3, 1, 12, tzinfo=timezone.utc), {}, None),
    (datetime(2026, 2, 28, 12, tzinfo=timezone.utc), {}, "registered"),
    (datetime(2026, 3, 1, 12, tzinfo=timezone.utc), {"reopen": ["2026-05-01T08:00:00+00:00"]}, "reopened"),
    (datetime(2026, 5, 2, tzinfo=timezone.utc), {"reopen": ["2026-05-01T08:00:00+00:00"]}, None),
    (datetime(2026, 9, 1, tzinfo=timezone.utc), {}, "future"),
])
def test_at_errors__future_or_before_the_cycle(at, events, expected):
    # what a refusal is said through: the repository's language (English here), its catalog read once a command
    ctx = SimpleNamespace(now=datetime(2026, 6, 1, tzinfo=timezone.utc), zone=ZoneInfo("Africa/Nairobi"),
                          config=SimpleNamespace(language="en"), root=None, wordings={})
    case = Case("CP-0000-0000", registered_at="2026-03-01T08:00:00+00:00", events=events)
    found = at_errors(ctx, case, at)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].field == "at"
        assert ("in the future" if expected == "future" else f"before the case was {expected}") in found[0].reason


TWICE = {"reopen": ["2026-05-20T08:00:00+00:00", "2026-05-01T08:00:00+00:00"]}


@pytest.mark.parametrize("dated, at, expected", [
    ("2026-04-01T08:00:00+00:00", datetime(2026, 4, 15, tzinfo=timezone.utc), None),  # within its own cycle
    ("2026-04-01T08:00:00+00:00", datetime(2026, 5, 2, tzinfo=timezone.utc), "after the case was reopened"),
    ("2026-04-01T08:00:00+00:00", datetime(2026, 2, 28, tzinfo=timezone.utc), "before the case was registered"),
    ("2026-05-10T08:00:00+00:00", datetime(2026, 5, 5, tzinfo=timezone.utc), None),
    ("2026-05-10T08:00:00+00:00", datetime(2026, 4, 30, tzinfo=timezone.utc), "before the case was reopened"),
    ("2026-05-10T08:00:00+00:00", datetime(2026, 5, 25, tzinfo=timezone.utc), "after the case was reopened"),
    ("2026-05-21T08:00:00+00:00", datetime(2026, 5, 30, tzinfo=timezone.utc), None),
    ("2026-05-21T08:00:00+00:00", datetime(2026, 5, 10, tzinfo=timezone.utc), "before the case was reopened"),
])
def test_at_errors__a_correction_moves_a_record_within_its_own_cycle(dated, at, expected):
    """A correction's `--at` (`dated`: the time of the record it corrects) is checked against the
    cycle that record belongs to: after a reopening, a follow-up of before it can still have its
    time corrected, within that earlier cycle (not moved into the reopened one)."""
    ctx = SimpleNamespace(now=datetime(2026, 6, 1, tzinfo=timezone.utc), zone=ZoneInfo("Africa/Nairobi"))
    case = Case("CP-0000-0000", registered_at="2026-03-01T08:00:00+00:00", events=TWICE)
    found = at_errors(ctx, case, at, dated=dated)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].field == "at" and expected in found[0].reason, found


def test_a_consent_that_ended_before_the_day_it_is_recorded_for_is_refused(cli, cli_as, repo):
    """`--until` is the last day a consent holds: one before the day it is recorded for would be
    on the case as already expired (shown as given, then expired)."""
    assert cli_as("sup")(*CLINIC).code == 0
    case_id = register(cli)
    commits = commit_count(repo)
    args = ("consent", case_id, "--purpose", "referral", "--agency", "clinic", "--by", "caregiver", "--status", "given",
            "--explained", "all", "--until")
    refused = cli(*args, "2020-01-01")
    assert refused.code == 4 and "--until (until): is before 2026-11-23, the day it is recorded for" in refused.stderr, refused.stderr
    assert commit_count(repo) == commits
    held = cli(*args, "2026-11-23")
    assert held.code == 0, held.stderr  # the day itself: it holds that day
