"""Many splices in a row, over random cases with ties of the key, compared with the view made whole."""
from __future__ import annotations

import json
import random

import pytest

from cpcm.service import dueview
from test_dueview_stream import TEXTS, ctx, described  # noqa: F401 - ctx: a fixture
from test_dueview_splice import ZONE, _builder_pieces

T0 = 1_790_000_000
DAY = 86_400


def _entry(rng: random.Random) -> list:
    worker = rng.choice(["amina", "otieno", None])
    cuts = sorted(rng.sample(range(-3, 4), rng.randint(0, 2)))
    bounds = [None] + [(T0 + c * DAY) * 10**6 for c in cuts] + [None]
    pieces = []
    for lo, hi in zip(bounds, bounds[1:]):
        n = rng.randint(0, 3)
        piece = [lo, hi, n]
        for _ in range(n):
            due = T0 + rng.choice([0, 0, DAY, 2 * DAY])
            if rng.random() < 0.15:
                due = [(due + 3600) * 10**6, 123, 1]  # an odd code
            target = rng.choice([None, None, T0 - 60, T0])
            piece += [rng.choice(["t1", "t2", "t3", "t4", "t5"]), due, target]
        if rng.random() < 0.2:
            piece += ["t4", T0 + 9 * DAY, None]
        pieces.append(piece)
    return ["tree", worker, *pieces]


def _covers(rng):
    return {"otieno": "2027-01-01"} if rng.random() < 0.3 else {}


@pytest.mark.parametrize("seed", range(40))
def test_many_splices_hold_what_the_view_made_whole_holds(ctx, monkeypatch, seed):
    if seed % 2:  # the dropped cases and their items found in one pass rather than one by one
        monkeypatch.setattr(dueview, "FEW", 0)
    rng = random.Random(seed)
    names = [f"CP-{c}-000{i}" for c in ("AAAA", "BBBB", "0000") for i in range(3)]
    cases = {name: (_entry(rng), _covers(rng)) for name in rng.sample(names, rng.randint(0, len(names)))}

    def whole(order):
        builder = dueview._Builder(ctx, ZONE)
        for case_id in order:
            entry, covers = cases[case_id]
            builder.add(case_id, entry[1], covers, _builder_pieces(entry, case_id))
        return builder

    small, data = whole(sorted(cases)).body()
    for _ in range(8):
        body = dueview.ViewBody(json.loads(json.dumps(small)), memoryview(bytes(data)))
        dropped = set(rng.sample(names, rng.randint(0, 4)))
        changed = set(rng.sample(names, rng.randint(0, 3)))
        for case_id in dropped:
            cases.pop(case_id, None)
        fresh = dueview._Builder(ctx, ZONE)
        for case_id in sorted(changed):
            cases[case_id] = (_entry(rng), _covers(rng))
            entry, covers = cases[case_id]
            fresh.add(case_id, entry[1], covers, _builder_pieces(entry, case_id))
        small, parts, window, local = dueview._spliced(body, dropped | changed, fresh)
        data = b"".join(parts.values())
        assert local == dueview.ViewBody(small, memoryview(data)).local
        assert described(small, data) == described(small, None, parts)  # read from its parts as from the whole
        made = whole(sorted(cases))
        expected_small, expected_data = made.body()
        assert described(small, data) == described(expected_small, expected_data)
        assert window == [made.lo, made.hi]
        # numbered once each and only what is in use, as in the view made anew
        for name in ("owners", "whys", "workers"):
            assert sorted(map(json.dumps, small[name])) == sorted(map(json.dumps, expected_small[name])), name
        texts = [dueview.ViewBody(small, memoryview(data)).text_keys for small, data in ((small, data), (expected_small, expected_data))]
        assert sorted(texts[0]) == sorted(texts[1])
        named = [sorted((got["owners"][o], got["whys"][w]) for o, w in got["tails"]) for got in (small, expected_small)]
        assert named[0] == named[1]
        assert len(described(small, data)["items"]) == small["items"]
