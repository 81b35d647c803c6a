"""A large review batch checks its rows on every core (forked workers): the same answers, the
same errors in row order, the same one commit as when the rows are checked one by one."""
from __future__ import annotations

import os

import pytest

from cpcm import service
from cpcm.errors import InvalidInput
from cpcm.service import followups
from memory_repo import MemoryRepo
from test_followup_close import REVIEW, planned_cases


def rows_for(ids: list[str]) -> list[dict]:
    rows = [dict(REVIEW, case=case_id) for case_id in ids]
    rows[2] = dict(REVIEW, case=ids[2], attended={"child": "no", "family": "yes"})  # absent child, no reason
    rows[5] = dict(REVIEW, case=ids[5], plan_still_right="maybe")                   # bad choice
    rows[6] = dict(REVIEW, case="CP-0000-0000")                                     # not a case ID
    rows.append(dict(REVIEW, case=ids[1]))                                          # twice
    return rows


def refused(amina, rows) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        service.review_batch(amina, rows)
    return [str(e) for e in caught.value.errors]


def test_rows_checked_on_every_core_give_the_errors_in_row_order_and_the_same_batch(monkeypatch):
    mem = MemoryRepo()
    amina = mem.as_("amina")
    ids = planned_cases(amina, 9)
    rows = rows_for(ids)
    one_by_one = refused(amina, rows)
    assert [e.split(":")[0] for e in one_by_one] == ["row 2", "row 3", "row 6", "row 7", "row 10"]  # row 2: given again in row 10
    spread = []
    real = followups._check_review_row
    monkeypatch.setattr(followups, "SPREAD_FROM", 2)
    monkeypatch.setattr(followups, "SPREAD_CHUNK", 2)
    monkeypatch.setattr(followups, "_check_review_row", lambda ctx, *a: (spread.append(os.getpid()), real(ctx, *a))[1])
    assert refused(amina, rows) == one_by_one
    before = mem.commits()
    good = [dict(REVIEW, case=case_id) for case_id in ids]
    done = service.review_batch(amina, good)
    assert done.extra["reviewed"] == 9 and mem.commits() == before + 1
    assert [r["case_id"] for r in done.extra["records"]] == ids  # written in row order
    assert spread == []  # every check ran in a worker process, none in this one
    assert all(service.show(amina, case_id)["stage"] == "implementation" for case_id in ids)


def test_a_row_a_worker_cannot_check_is_checked_again_here(monkeypatch):
    mem = MemoryRepo()
    amina = mem.as_("amina")
    ids = planned_cases(amina, 4)
    parent = os.getpid()
    real = followups._check_review_row

    def flaky(ctx, number, case_id, data, form=None):
        if os.getpid() != parent and number == 3:
            raise RuntimeError("a worker cannot check this row")
        return real(ctx, number, case_id, data, form)

    monkeypatch.setattr(followups, "SPREAD_FROM", 2)
    monkeypatch.setattr(followups, "SPREAD_CHUNK", 2)
    monkeypatch.setattr(followups, "_check_review_row", flaky)
    done = service.review_batch(amina, [dict(REVIEW, case=case_id) for case_id in ids])
    assert done.extra["reviewed"] == 4


def test_the_progress_moves_as_the_reviews_are_written_and_ends_with_the_commit(monkeypatch):
    from cpcm.store.memory import MemoryTransaction

    mem = MemoryRepo()
    amina = mem.as_("amina")
    ids = planned_cases(amina, 7)
    steps = []
    real_commit, real_write = MemoryTransaction.commit, MemoryTransaction.write_sealed
    monkeypatch.setattr(followups, "WRITE_TICK", 2)
    monkeypatch.setattr(MemoryTransaction, "commit", lambda self, message: (steps.append("commit"), real_commit(self, message))[1])
    monkeypatch.setattr(MemoryTransaction, "write_sealed", lambda self, *a: (steps.append("write"), real_write(self, *a))[1])
    service.review_batch(amina, [dict(REVIEW, case=case_id) for case_id in ids], progress=lambda n: steps.append(n))
    checked = steps[:steps.index("write")]
    writing = steps[steps.index("write"):]
    assert sum(checked) == 7  # one tick a row checked
    assert [s for s in writing if s not in ("write", "commit")] == [2, 2, 2, 1]  # as they are written; the last after the commit
    assert writing.index(2) < writing.index("commit") and writing[-1] == 1 and writing[-2] == "commit"


@pytest.mark.parametrize("spread", [False, True])
def test_a_row_for_a_case_not_there_or_not_yours_names_the_same_error_as_a_single_review(monkeypatch, spread):
    from cpcm.domain.ids import new_case_id
    from cpcm.errors import CannotDecrypt, NotFound

    mem = MemoryRepo()
    ids = planned_cases(mem.as_("amina"), 3)
    missing = new_case_id()
    otieno = mem.as_("otieno")
    single = []
    for case_id in (ids[0], missing):
        with pytest.raises((CannotDecrypt, NotFound)) as caught:
            service.review(otieno, case_id, dict(REVIEW))
        single.append(caught.value.message)
    if spread:
        monkeypatch.setattr(followups, "SPREAD_FROM", 2)
        monkeypatch.setattr(followups, "SPREAD_CHUNK", 1)
    errors = refused(otieno, [dict(REVIEW, case=ids[0]), dict(REVIEW, case=missing)])
    assert errors == [f"row 1: case: {single[0]}", f"row 2: case: {single[1]}"]
    before = mem.commits()
    done = service.review_batch(mem.as_("sup"), [dict(REVIEW, case=case_id) for case_id in ids])  # a supervisor reads them
    assert done.extra["reviewed"] == 3 and mem.commits() == before + 1


def test_review_batch__fast_path_prints_what_typer_prints_and_imports_no_typer(cli, repo, team, monkeypatch, tmp_path):
    import json
    import subprocess
    import sys

    from cpcm.cli import fast
    from test_fast_path import both
    from test_followup_close import _planned_cases

    ids = _planned_cases(repo, team["amina"][0], 3)
    good = tmp_path / "good.json"
    good.write_text(json.dumps([dict(REVIEW, case=case_id) for case_id in ids]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([dict(REVIEW, case=ids[0]), dict(REVIEW, case=ids[1], plan_still_right="maybe")]))
    runs = []

    def anew(*args):  # each run a review of its own: the same batch again is recorded once (already_recorded)
        runs.append(args)
        good.write_text(json.dumps([dict(REVIEW, case=case_id, decisions=[f"continue the plan ({len(runs)})"]) for case_id in ids]))
        return cli(*args)

    for args in [("review", "--batch", str(good), "--dry-run"), ("review", "--dry-run", f"--batch={good}", "--json"),
                 ("review", "--batch", str(good)), ("review", "--batch", str(good), "--repo", str(repo)),
                 ("review", "--batch", str(good), "-i", str(team["amina"][0]))]:
        quick, slow = both(anew, monkeypatch, *args)
        assert quick.code == slow.code == 0, (args, quick.stderr, slow.stderr)
        assert quick.stdout == slow.stdout and quick.stderr == slow.stderr, args
    for args in [("review", "--batch", str(bad)), ("review", "--batch", str(bad), "--json"), ("review", "--batch", str(tmp_path / "none.json")),
                 ("review", "--batch", str(tmp_path / "\udcff.json")), ("review", "--batch", str(good), "--repo", str(tmp_path / "nowhere"))]:
        quick, slow = both(cli, monkeypatch, *args)
        assert quick.code == slow.code != 0, (args, quick.code, slow.code)
        assert quick.stdout == slow.stdout and quick.stderr == slow.stderr, args
    for args in (["review", "CP-4F7K-9X2M"], ["review", "--batch", "f", "--done", "A1"], ["review", "--batch"],
                 ["review", "--batch", "f", "--json", "--json"], ["review", "--batch", "f", "--help"], ["review", "--dry-run"]):
        assert fast.parse(args) is None, args
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: sys.stderr.write('\\ntyper imported: %s\\n' % ('typer' in sys.modules)))\n"
             "from cpcm.cli import main\nmain(sys.argv[1:])\n")
    env = {**os.environ, "CPCM_REPO": str(repo), "CPCM_IDENTITY": str(team["amina"][0])}
    done = subprocess.run([sys.executable, "-c", probe, "review", "--batch", str(good)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "typer imported: False" in done.stderr and "3 review(s) checked, 3 written in one commit" in done.stderr


from hypothesis import given, settings
from hypothesis import strategies as st

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)


def _both_readers(text: str):
    """(the JSON reader's value or None, the YAML reader's value or its error's text)."""
    from cpcm.store import codec

    fast = codec._plain_json(text)
    if fast is codec._NOT_JSON:
        fast = None
    try:
        slow = codec._read_yaml(text)
    except codec.BadYaml as exc:
        slow = ("error", str(exc))
    return fast, slow


def _yaml_escapes(text: str) -> str:
    """JSON's pairs of escapes for a character past U+FFFF written as YAML writes it (`\\U0001f60a`);
    every backslash of a JSON text stands in a double-quoted string, where both mean the character."""
    import re

    def one(match):
        high, low = int(match[2], 16), int(match[3], 16)
        return match[1] + "\\U%08x" % (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    return re.sub(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", one, text, flags=re.IGNORECASE)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, indent=st.sampled_from([None, 1, 2]))
def test_json_read_without_yaml_reads_as_the_yaml_reader_reads_it(value, indent):
    """Read the quick way only to the value the YAML reader gives; a character past U+FFFF, which
    JSON writes as a pair of escapes and YAML as one, is compared written YAML's way."""
    import json

    text = json.dumps([value], indent=indent, ensure_ascii=indent is None)
    fast = _both_readers(text)[0]
    slow = _both_readers(_yaml_escapes(text))[1]
    if fast is not None:
        assert fast == slow and type(fast) is type(slow)
        assert json.dumps(fast) == json.dumps(slow)  # the same kinds of numbers too


def test_json_a_character_past_the_first_plane_escaped_as_json_writes_it_is_read():
    """`json.dumps` (and cpcm's own --json on a stream without UTF-8) writes a character past
    U+FFFF as two escapes: read as the character; an escape of half a pair is refused."""
    import json

    from cpcm.store import codec

    note = {"text": "a visit \U0001f60a, \U0001d538 and \\ud83d as typed"}
    assert "\\ud83d\\ude0a" in json.dumps(note)
    assert codec.load_input(json.dumps(note)) == note
    for half in ('{"text": "\\ud83d"}', '{"text": "\\ude0a\\ud83d"}', '{"\\ud83d": 1}', '{"text": "\\ud83d x"}'):
        with pytest.raises(codec.BadYaml, match="line 1"):
            codec.load_input(half)


@pytest.mark.parametrize("text", [
    '[{"case": "a",\t"x": 1}]', '[{"case": "a", "case": "b"}]', '[{"x": NaN}]', '[{"x": 1e400}]', '[{"x": "\\ud800"}]',
    '[{"x": "a\x7fb"}]', '[{"x": "a\x85b"}]', "[" * 40 + "]" * 40, '\ufeff[{"x": 1}]', '[{"x": "\\u0007"}]', '{"x": 1}',
    '[{"x": 1}] [', "[{x: 1}]", '[{"%s": 1}]' % ("k" * 1100), '[{"x": 1.5e3, "y": -0, "z": 10000000000000000000000}]',
])
def test_json_the_yaml_reader_would_refuse_or_read_otherwise_is_left_to_it(text):
    fast, slow = _both_readers(text)
    assert fast is None or fast == slow, (fast, slow)


def test_a_batch_gives_the_cycle_collector_back_with_nothing_young_to_look_at():
    import gc

    mem = MemoryRepo()
    amina = mem.as_("amina")
    ids = planned_cases(amina, 3)
    assert gc.isenabled()
    seen = []

    def during(ctx, number, case_id, data, form=None):
        seen.append(gc.isenabled())
        return real(ctx, number, case_id, data, form)
    real = followups._check_review_row
    followups._check_review_row = during
    try:
        done = service.review_batch(amina, [dict(REVIEW, case=case_id) for case_id in ids])
    finally:
        followups._check_review_row = real
    assert seen == [False] * 3  # paused while the rows are checked
    # back on, with what the batch made counted as old (the oldest generation): the next passes do not
    # look at it all again
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.is_tracked(done.extra) and any(o is done.extra for o in gc.get_objects(generation=2))


def test_every_input_of_plain_json_is_read_without_the_yaml_reader_and_the_rest_by_it(monkeypatch):
    from cpcm.store import codec

    def no_yaml(text):
        raise AssertionError("read by the YAML reader")
    monkeypatch.setattr(codec, "_read_yaml", no_yaml)
    assert codec.load_input('{"child": {"name": "A"}, "decisions": ["x", 2, 1.5, null, true]}') == {
        "child": {"name": "A"}, "decisions": ["x", 2, 1.5, None, True]}
    monkeypatch.undo()
    with pytest.raises(codec.BadYaml, match="line 1"):
        codec.load_input('{"x": 1, "x": 2}')  # a key given twice: the YAML reader names the line
    assert codec.load_input('{"a":\t1}') == {"a": 1}  # a tab: read by the YAML reader, to the same value
