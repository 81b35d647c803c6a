"""`due --json` from the due view (service/duelines.py `DueView.json_items`, written by `cli.common.write_json_list`): exactly the text
`json.dumps` gives of each item's `to_json`, over random views (time codes kept apart where the
instant does not give them back, covers, targets, every state, computed items among them, case
ids and texts that JSON escapes), whole and in pieces."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest

from cpcm.cli import common
from cpcm.service import dueview, duelines
from cpcm.workflow.deadlines import Deadline
from test_dueview_splice import ZONE, _builder_pieces
from test_dueview_splice_random import T0, _covers, _entry
from test_dueview_stream import ctx  # noqa: F401 - a fixture


@pytest.mark.parametrize("seed", range(16))
def test_due_json_from_the_view_is_json_dumps_of_each_item(ctx, monkeypatch, capsys, seed):
    rng = random.Random(seed)
    if seed % 2:
        monkeypatch.setattr(common, "JSON_PIECE", 3)  # the text in pieces of three items
    builder = dueview._Builder(ctx, ZONE)
    for i in range(rng.randint(0, 9)):
        entry = _entry(rng)
        for piece in entry[2:]:  # a time kept with its local time (as in a gap of daylight saving): at the
            for code in piece[3:]:  # instant of other items, printed a minute later (which no state tells apart here)
                if isinstance(code, list):
                    code[0] -= 3_600 * 10**6
                    local = datetime.fromtimestamp(code[0] / 10**6 + 60, ZONE).replace(tzinfo=None)
                    code[1:] = [(local - datetime(1970, 1, 1)) // timedelta(microseconds=1), 0]
        case_id = f'CP-{i:04d}-\u00e9"\\'
        builder.add(case_id, entry[1], _covers(rng), _builder_pieces(entry, case_id))
    small, data = builder.body()
    body = dueview.ViewBody(json.loads(json.dumps(small)), memoryview(bytes(data)))
    now = datetime.fromtimestamp(T0 + rng.choice([-86_400, 0, 3_600, 2 * 86_400]), ZONE)
    computed = [Deadline("CP-9999-ZZZZ", "cc", "conference\t\u00e9", now + timedelta(hours=h), None, "amina", "conference",
                         "meet", "KE SOP", "high") for h in rng.sample([-30, -1, 2, 50, 300], rng.randint(0, 2))]
    for whose, oversees in (("all", True), ("amina", False), ("otieno", False), ("sup", True)):
        view = duelines.DueView(body, ZONE, now, timedelta(days=7), now + timedelta(days=rng.choice([7, 400])), whose,
                                oversees, rng.random() < 0.3, list(computed),
                                lambda covers, whose=whose: whose in covers)
        expected = json.dumps([item.to_json(now, view.soon) for item in view], indent=2, ensure_ascii=False,
                              default=str) + "\n"
        common.write_json_list(view.json_items())
        assert capsys.readouterr().out == expected, whose


@pytest.mark.parametrize("zone", ["Africa/Nairobi", "Europe/London", "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu"])
def test_times_written_by_arithmetic_are_those_isoformat_writes(zone):
    """`LocalClock`: every instant as `isoformat(timespec="minutes")` in the zone writes it, and its
    clock time as the datetime's without its zone, around
    changes of the offset (daylight saving, half-hour ones, the local mean time of the old days,
    whose offsets hold seconds) and in between."""
    from zoneinfo import ZoneInfo

    from cpcm.service import tables

    place = ZoneInfo(zone)
    clock = duelines.LocalClock(place)
    rng = random.Random(zone)
    starts = [datetime(year, month, 1, tzinfo=place) for year in (1900, 1928, 1986, 2026, 2027) for month in (1, 3, 4, 9, 10, 12)]
    for start in starts:
        base = tables.instant(start)
        samples = [base + rng.randrange(-40 * 86_400, 40 * 86_400) * 10**6 + rng.choice([0, 0, rng.randrange(10**6)])
                   for _ in range(400)]
        for hour in range(-40 * 24, 40 * 24):  # every minute of an hour in which (or at whose start) the offset changes,
            first = (base // (3_600 * 10**6) + hour) * 3_600 * 10**6  # and the day before it (hours of UTC, as `LocalClock` keeps them)
            if tables.time_of([first - 1], place).utcoffset() != tables.time_of([first + 3_599 * 10**6], place).utcoffset():
                samples += [first + minute * 60 * 10**6 + second * 10**6 for minute in range(60) for second in (0, 29, 59)]
                samples += [first - hours * 3_600 * 10**6 + minute * 60 * 10**6 for hours in range(1, 27) for minute in range(0, 60, 7)]
        for at in samples:
            moment = tables.time_of([at], place)
            assert clock.text(at) == moment.isoformat(timespec="minutes"), at
            assert clock.wall(at) == (moment.replace(tzinfo=None) - datetime(1970, 1, 1)) // timedelta(microseconds=1), at
        for column in (samples, sorted(samples)):  # the same texts made over a whole column, in three parts (in order: by stretches)
            parts = duelines.LocalClock(place).columns(column)
            assert list(map("".join, zip(*parts))) == [clock.text(at) for at in column]
            parts = duelines.LocalClock(place).columns(column, utf8=True)  # as `due --json` takes them
            assert list(map(b"".join, zip(*parts))) == [clock.text(at).encode() for at in column]


def _one_item_view(ctx, zone, static: list, due: datetime, now: datetime, soon: timedelta,
                   target: datetime | None = None) -> duelines.DueView:
    builder = dueview._Builder(ctx, zone)
    builder.add("CP-0001-AAAA", "amina", {}, [(None, None, 1, [(static, int(due.timestamp()),
                                                               target and int(target.timestamp()))])])
    small, data = builder.body()
    body = dueview.ViewBody(json.loads(json.dumps(small)), memoryview(bytes(data)))
    return duelines.DueView(body, zone, now, soon, now + timedelta(days=400), "all", True, False, [], lambda covers: False)


@pytest.mark.parametrize("zone, now, due", [
    ("Europe/London", datetime(2026, 10, 20, 12, 0), datetime(2026, 10, 27, 11, 30)),  # clocks back within the week
    ("Europe/London", datetime(2026, 3, 22, 12, 0), datetime(2026, 3, 29, 12, 30)),  # clocks forward
    ("Europe/London", datetime(2026, 10, 25, 1, 30, fold=0), datetime(2026, 10, 25, 1, 10, fold=1)),  # the hour repeated
    ("Europe/London", datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 29, 2, 10)),  # `now` a time the clocks skip
    ("Africa/Nairobi", datetime(2026, 10, 20, 12, 0), datetime(2026, 10, 27, 11, 59)),
])
def test_due_json_gives_the_state_to_json_gives_across_a_change_of_the_clocks(ctx, capsys, zone, now, due):
    """`Deadline.state` compares `now` with the item's times on the clock when they share the zone
    (Python's rule for one tzinfo): near `now` and the due-soon edge, across a change of the
    clocks, that is not what the view's instants say, and `--json` says what `to_json` says."""
    from zoneinfo import ZoneInfo

    place = ZoneInfo(zone)
    now, due = now.replace(tzinfo=place), due.replace(tzinfo=place)
    static = ["ia", "initial assessment", "amina", "initial_assessment", "assess", "IAG", "high", None, []]
    for later in (timedelta(0), timedelta(minutes=-45), timedelta(minutes=45)):
        # the due time near `now` without a target, or with one missed long ago; the target near it, the due time far
        for when, target in ((due + later, None), (due + later, due - timedelta(days=20)),
                             (due + timedelta(days=20), due + later)):
            view = _one_item_view(ctx, place, static, when, now, timedelta(days=7), target)
            common.write_json_list(view.json_items())
            assert capsys.readouterr().out == json.dumps([i.to_json(now, view.soon) for i in view], indent=2,
                                                         ensure_ascii=False, default=str) + "\n"


def test_a_field_that_is_not_text_is_written_as_json_writes_it_in_the_list(ctx, capsys):
    """A risk read from a record as a list (a hand-made record): laid out over lines, as json does."""
    static = ["review", "case review", "amina", "review", "review", "IAG", ["high", {"a": 1}], None, []]
    now = datetime(2026, 12, 1, 9, 0, tzinfo=ZONE)
    view = _one_item_view(ctx, ZONE, static, now + timedelta(days=1), now, timedelta(days=7))
    common.write_json_list(view.json_items())
    assert capsys.readouterr().out == json.dumps([i.to_json(now, view.soon) for i in view], indent=2,
                                                 ensure_ascii=False, default=str) + "\n"


def test_an_item_covered_by_nobody_named_has_no_covered_by(ctx, capsys):
    """`to_json` leaves out an empty `covered_by` (a caller of the view that names no worker)."""
    now = datetime(2026, 12, 1, 9, 0, tzinfo=ZONE)
    static = ["ia", "initial assessment", "amina", "initial_assessment", "assess", "IAG", "high", None, []]
    builder = dueview._Builder(ctx, ZONE)
    builder.add("CP-0001-AAAA", "amina", {"": "x"}, [(None, None, 1, [(static, int(now.timestamp()) + 3_600, None)])])
    small, data = builder.body()
    body = dueview.ViewBody(json.loads(json.dumps(small)), memoryview(bytes(data)))
    view = duelines.DueView(body, ZONE, now, timedelta(days=7), now + timedelta(days=400), "", False, False, [],
                            lambda covers: "" in covers)
    common.write_json_list(view.json_items())
    assert capsys.readouterr().out == json.dumps([i.to_json(now, view.soon) for i in view], indent=2,
                                                 ensure_ascii=False, default=str) + "\n"
