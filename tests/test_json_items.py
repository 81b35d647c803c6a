"""`print_json_items` (cli/common.py): the text `print_json(list(items))` prints, written in pieces,
for every kind of item (flat objects laid out by hand, anything else by json), and `list --json`
with it."""
from __future__ import annotations

import json
import random
from datetime import date

import pytest

from cpcm.cli import common
from conftest import register_many

VALUES = ["", "plain", 'a "quote"', "back\\slash", "line\nbreak\ttab", "\u00e9\u4e2d\U0001f600", "\u2028", 0, -7, 10**30,
          True, False, None, 1.5, float("inf"), [], [1, "x"], {}, {"k": [None]}, date(2026, 12, 1)]


def _item(rng: random.Random):
    kind = rng.random()
    if kind < 0.1:
        return rng.choice(VALUES)
    keys = rng.sample(["case_id", "status", "a b", "\u00e9", "q\"", "n"], rng.randint(0, 6))
    item = {key: rng.choice(VALUES[:13] if kind < 0.7 else VALUES) for key in keys}
    if kind > 0.95:
        item[1] = "an int key"
    return item


@pytest.mark.parametrize("seed", range(30))
def test_items_printed_in_pieces_are_json_dumps_of_the_list(capsys, monkeypatch, seed):
    rng = random.Random(seed)
    monkeypatch.setattr(common, "JSON_PIECE", rng.choice([1, 2, 3, 2_000]))
    items = [_item(rng) for _ in range(rng.choice([0, 1, 2, 5, 17]))]
    common.print_json_items(iter(items))
    written = capsys.readouterr().out
    common.print_json(items)
    assert written == capsys.readouterr().out


def test_list_json_prints_what_the_rows_are(cli):
    register_many(cli, 3)
    out = cli("list", "--json")
    assert out.code == 0
    rows = json.loads(out.stdout)
    assert len(rows) == 3 and out.stdout == json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


ROW_VALUES = ["", "open", "a \"quote\"", "line\nbreak", "\u00e9\u4e2d\U0001f600", "\u2028", None, 0, 1, True, False, 1.0,
              float("nan"), [], ["x"], {"k": None}]


def _row(rng: random.Random) -> list:
    """A `list_row`: mostly as the fold makes it, sometimes with values of any kind (written by hand)."""
    odd = rng.random() < 0.3
    pick = (lambda usual: rng.choice(ROW_VALUES) if odd and rng.random() < 0.3 else rng.choice(usual))
    born = rng.choice([None, "2010-02-28", "2012-12-01", "2012-12-02", "2008-02-29", "2026-12-01"])
    return [pick(["open", "closed", "transferred"]), pick(["assessment", "case_plan", None]), pick(["high", "low", None]),
            pick(["amina", "otieno", "w\u00e9"]), pick(["2026-01-02T09:00:00+03:00", None]), pick(["female", "male", None]),
            born, pick([0, 1, 7]), pick(["2026-02-01T10:00:00+03:00", None]), pick(["Jane \"JJ\" Doe", "\u00c9lise", None])]


@pytest.mark.parametrize("seed", range(20))
def test_summaries_laid_out_from_their_rows_are_json_dumps_of_the_list(capsys, seed):
    """`Summaries.json_items` (service/fill.py): each summary's text made from its row, the same as
    `print_json` of the summaries; a row with values of other kinds falls back to json."""
    from cpcm.service.fill import Summaries

    rng = random.Random(seed)
    rows = [(f"CP-{n:04d}", _row(rng)) for n in range(rng.choice([0, 1, 3, 40]))]
    for names in (False, True):
        summaries = Summaries(rows, date(2026, 12, 1), names)
        common.print_json_of(summaries, lambda: summaries)
        written = capsys.readouterr().out
        common.print_json(list(summaries))
        assert written == capsys.readouterr().out


def test_summaries_tell_a_boolean_from_a_number_of_the_same_value(capsys):
    """True and 1 are one key of a dict: a value's text is kept for text only."""
    from cpcm.service.fill import Summaries

    row = ["open", None, None, None, None, None, None, 0, None, None]
    rows = [("CP-1", [True, *row[1:]]), ("CP-2", [1, *row[1:]]), ("CP-3", [1.0, *row[1:]]), ("CP-4", ["1", *row[1:]])]
    summaries = Summaries(rows, date(2026, 12, 1), False)
    common.write_json_list(summaries.json_items())
    assert [item["status"] for item in json.loads(capsys.readouterr().out)] == [True, 1, 1.0, "1"]


def test_summaries_with_a_date_of_birth_that_is_not_a_date_fail_as_before():
    from cpcm.service.fill import Summaries

    rows = [("CP-1", ["open", None, None, None, None, None, "2010-02-30", 0, None, None])]
    summaries = Summaries(rows, date(2026, 12, 1), False)
    with pytest.raises(ValueError):
        list(summaries)
    with pytest.raises(ValueError):
        list(summaries.json_items())


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_items_given_as_bytes_are_written_in_order_in_stdouts_encoding(monkeypatch, encoding):
    """`write_json_list` of UTF-8 bytes (what `due --json` gives it): after the text written
    before, in pieces, and in stdout's encoding when that is not UTF-8 (PYTHONIOENCODING, a
    terminal's): the same characters as the list's json.dumps, encoded as stdout encodes text."""
    import io
    import sys

    items = ["  " + json.dumps({"case_id": f"CP-{n}", "source": "IAG \u00a73"}, indent=2, ensure_ascii=False).replace("\n", "\n  ")
             for n in range(7)]
    monkeypatch.setattr(common, "JSON_PIECE", 3)
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding=encoding)
    monkeypatch.setattr(sys, "stdout", stdout)
    sys.stdout.write("before\n")
    common.write_json_list(text.encode() for text in items)
    sys.stdout.write("after\n")
    stdout.flush()
    expected = "before\n" + json.dumps([json.loads(text) for text in items], indent=2, ensure_ascii=False) + "\nafter\n"
    assert raw.getvalue() == expected.encode(encoding)
    assert "\u00a7".encode(encoding) in raw.getvalue()
