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
