"""The due view brought up to date after a write (service/dueview.py `_spliced`): the old view's
items kept as they are, the changed cases' put in their places. What is checked: the view holds
what a view made whole from the same cases holds (the same items in the same order, by name), and
`due` prints after writes what it prints without views and from a view made anew."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest

from conftest import git, register_many
from cpcm.service import dueview
from cpcm.store.layout import case_dir
from test_dueview_stream import DUE, _builder_pieces, _folder, ctx, described, entries, same  # noqa: F401 - ctx: a fixture
from cpcm.service import views

ZONE = ZoneInfo("Africa/Nairobi")
COVERS = {"CP-CCCC-0003": {"otieno": "2027-01-01"}}


def _whole(ctx, cases: dict[str, list], order: list[str]) -> dueview._Builder:
    builder = dueview._Builder(ctx, ZONE)
    for case_id in order:
        builder.add(case_id, cases[case_id][1], COVERS.get(case_id, {}), _builder_pieces(cases[case_id], case_id))
    return builder


def _moved(entry: list, days: int) -> list:
    """The entry with every due time `days` later (a case changed by a write)."""
    moved = json.loads(json.dumps(entry))
    for piece in moved[2:]:
        for i in range(4, len(piece), 3):
            if isinstance(piece[i], int):
                piece[i] += days * 86_400
    return moved


@pytest.mark.parametrize("dropped, changed", [
    (set(), {}),
    ({"CP-BBBB-0002"}, {"CP-BBBB-0002": 1}),
    ({"CP-CCCC-0003"}, {"CP-CCCC-0003": -2}),  # a case with times kept with their local time
    ({"CP-AAAA-0001"}, {}),  # a case gone
    (set(), {"CP-DDDD-0005": 0}),  # a new case
    ({"CP-BBBB-0002", "CP-0000-0004", "CP-AAAA-0001", "CP-CCCC-0003"}, {"CP-0000-0004": 3}),
])
def test_a_spliced_view_holds_what_the_view_made_whole_holds(ctx, dropped, changed):
    before = entries()
    old_order = sorted(before)
    old = _whole(ctx, before, old_order)
    small, data = old.body()
    body = dueview.ViewBody(json.loads(json.dumps(small)), memoryview(bytes(data)))
    after = {k: v for k, v in before.items() if k not in dropped}
    fresh = dueview._Builder(ctx, ZONE)
    for case_id, days in changed.items():
        source = before.get(case_id, before["CP-BBBB-0002"])
        after[case_id] = _moved(source, days)
        fresh.add(case_id, after[case_id][1], COVERS.get(case_id, {}), _builder_pieces(after[case_id], case_id))
    got_small, parts, window, _ = dueview._spliced(body, dropped | set(changed), fresh)
    got_data = b"".join(parts.values())
    whole = _whole(ctx, after, [c for c in old_order if c not in dropped and c not in changed] + list(changed))
    assert described(got_small, got_data) == described(*whole.body())
    assert window == [whole.lo, whole.hi]


def _spliced_calls(monkeypatch) -> list:
    calls = []
    real = dueview._spliced

    def counted(*args):
        calls.append(1)
        return real(*args)
    monkeypatch.setattr(dueview, "_spliced", counted)
    return calls


def test_due_after_writes_prints_what_it_prints_without_views_and_from_a_view_made_anew(cli, cli_as, without_views,
                                                                                         monkeypatch):
    ids = register_many(cli, 4)
    register_many(cli_as("otieno"), 2)
    assert cli("due", "--worker", "all").code == 0  # the view made
    calls = _spliced_calls(monkeypatch)
    sup = cli_as("sup")
    writes = [lambda: cli("note", ids[0], "--text", "visited the family"),
              lambda: sup("assign", ids[1], "--worker", "otieno"),
              lambda: cli("note", ids[3], "--text", "school visit")]
    for write in writes:
        done = write()
        assert done.code == 0, done.stderr
        same(cli, without_views)
        for now in ("2026-11-24T08:00:00+03:00", "2027-01-15T10:00:00+03:00"):
            same(cli, without_views, DUE[:2], env={"CPCM_NOW": now})
    assert calls  # brought up to date by splicing, not made anew
    printed = {args: cli(*args).stdout for args in DUE}
    (_folder(cli) / views.FOLDER / "due.view").unlink()
    assert {args: cli(*args).stdout for args in DUE} == printed


# -- the statistics view: its tally brought up to date -------------------------------------------------
def tally_of(per_case: dict[str, list[list]]) -> list[list]:
    """The tally a statistics view made anew keeps of these cases' rows (`views._tally` of each row's JSON counted)."""
    counted: dict[str, int] = {}
    for rows in per_case.values():
        for row in rows:
            counted[views._dumps(row)] = counted.get(views._dumps(row), 0) + 1
    return views._tally(counted)


def test_a_tally_brought_up_to_date_is_the_tally_made_whole():
    import random

    rng = random.Random(3)
    rows = [["2026-01", "registered", "female", "0-4"], ["2026-01", "closed", "male", "5-9"], ["2026-02", "registered", "x", None],
            ["2026-02", "referral", "female", "10-14", "health"], ["2026-03", "registered", "male", "15-17"]]
    before = {f"CP-{n:04d}": [rng.choice(rows) for _ in range(rng.randint(0, 4))] for n in range(60)}
    for turn in range(30):  # cases changed (taken out, put in again), gone (taken out), new (put in)
        removed = {c: before[c] for c in rng.sample(sorted(before), rng.randint(0, 5))}
        added = {c: [rng.choice(rows) for _ in range(rng.randint(0, 4))] for c in [*list(removed)[1:], f"CP-NEW{turn}"]}
        after = {c: r for c, r in before.items() if c not in removed}
        after.update(added)
        earlier = tally_of(before)
        assert views._tally_updated(earlier, removed, added) == tally_of(after)
        assert earlier == tally_of(before)  # the earlier tally is left as it was
        before = after
    with pytest.raises(KeyError):  # a row taken out that the tally does not count
        views._tally_updated(tally_of(before), {"CP-X": [["2027-01", "registered", "female", "0-4"]]}, {})


@pytest.mark.parametrize("one_by_one", [16, 0], ids=["each case searched for", "every key in one pass"])
def test_entries_found_in_a_per_case_file_and_replaced_are_the_mapping_changed(monkeypatch, one_by_one):
    import random

    monkeypatch.setattr(views, "FIND_EACH", one_by_one)
    rng = random.Random(5)
    ids = ["CP-1", "CP-10", "CP-1A", 'CP-"q"', "CP-\u00e9", "CP-\\", "X", "CP-1:", ",", "],["]
    values = [[], [["2026-01", "registered"]], [["CP-1", '"CP-1":', None, 3]], [["a,b", "}{"]], [[":", ","]],
              [["x,", ":", "CP-1"]], [["CP-1,", ":"], [",", "X"]]]
    for _ in range(300):
        before = {case_id: rng.choice(values) for case_id in rng.sample(ids, rng.randint(0, len(ids)))}
        text = views._dumps(before)
        asked = set(rng.sample(ids, rng.randint(0, len(ids))))
        if any(not case_id[0].isalnum() for case_id in asked):  # a separator first could be taken for one
            with pytest.raises(ValueError):
                views._case_entries(text, asked)
            asked = {case_id for case_id in asked if case_id[0].isalnum()}
        found = views._case_entries(text, asked)
        assert {case_id: rows for case_id, (_s, _e, rows) in found.items()} == {c: before[c] for c in asked if c in before}
        added = {case_id: rng.choice(values) for case_id in rng.sample(sorted(asked), rng.randint(0, len(asked)))}
        spliced = views._spliced_cases(text, [(start, end) for start, end, _rows in found.values()], added)
        after = {c: r for c, r in before.items() if c not in asked}
        after.update(added)
        assert json.loads(spliced) == after and len(json.loads(spliced)) == len(after)


def test_report_statistics_after_writes_is_brought_up_to_date_without_counting_every_case(cli, without_views, monkeypatch):
    ids = register_many(cli, 5)
    args = ("report", "statistics")
    assert cli(*args).code == 0  # the view made
    whole, updated = [], []
    real, real_updated = views._tally, views._tally_updated
    monkeypatch.setattr(views, "_tally", lambda per_case: whole.append(1) or real(per_case))
    monkeypatch.setattr(views, "_tally_updated", lambda *args: updated.append(1) or real_updated(*args))
    spliced, real_spliced = [], views._statistics_spliced

    def noting(*args):
        done = real_spliced(*args)
        spliced.append(done is not None)
        return done
    monkeypatch.setattr(views, "_statistics_spliced", noting)
    for write in (lambda: cli("note", ids[0], "--text", "visited"), lambda: register_many(cli, 1),
                  lambda: cli("note", ids[1], "--text", "school visit")):
        done = write()
        assert not hasattr(done, "code") or done.code == 0, done.stderr
        kept, computed = cli(*args), without_views(cli, *args)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr)
    assert len(updated) == 3 and not whole  # brought up to date from the earlier tally each time
    assert spliced == [True] * 3  # and its per-case file's entries replaced in its text, not read whole


def test_a_view_brought_up_to_date_keeps_no_text_of_a_case_the_worker_no_longer_reads(cli, cli_as, monkeypatch):
    """A case assigned away (re-encrypted: amina no longer reads it): the view spliced keeps none
    of its texts (a referral's service names the case's need), as a view made anew keeps none."""
    from conftest import CLINIC, consent_both
    from test_dueview_stream import due_view_bytes

    sup = cli_as("sup")
    assert sup(*CLINIC).code == 0
    ids = register_many(cli, 2)
    consent_both(cli, ids[0])
    done = cli("refer", ids[0], "--service", "clinic", "--need", "a check-up", "--check", "all")
    assert done.code == 0, done.stderr
    assert cli("due", "--worker", "all").code == 0  # the view made
    assert b"clinic" in due_view_bytes(cli)
    calls = _spliced_calls(monkeypatch)
    assert sup("assign", ids[0], "--worker", "otieno").code == 0
    assert cli("due", "--worker", "all").code == 0
    assert calls  # brought up to date by splicing
    view = due_view_bytes(cli)
    assert ids[0].encode() not in view
    assert b"clinic" not in view



def test_a_changed_case_that_cannot_be_kept_leaves_nothing_in_the_view_spliced(ctx):
    """A changed case whose second piece has an owner that is no text (`add` raises NotKept: it is
    computed each time instead): none of its items, nor the case, goes into the view, or `due`
    would list its first piece's items twice (from the view and computed)."""
    from cpcm.service import tables as tables_mod
    from test_dueview_stream import TEXTS

    before = entries()
    old = _whole(ctx, before, sorted(before))
    small, data = old.body()
    body = dueview.ViewBody(json.loads(json.dumps(small)), memoryview(bytes(data)))
    fresh = dueview._Builder(ctx, ZONE)
    pieces = _builder_pieces(before["CP-BBBB-0002"], "CP-BBBB-0002")
    lo, hi, n, triples = pieces[1]
    no_owner = [*TEXTS["t2"][:2], None, *TEXTS["t2"][3:]]
    pieces[1] = (lo, hi, n, [(no_owner, *triples[0][1:]), *triples[1:]])
    with pytest.raises(tables_mod.NotKept):
        fresh.add("CP-BBBB-0002", "amina", {}, pieces)
    got_small, parts, _, _ = dueview._spliced(body, {"CP-BBBB-0002"}, fresh)
    got_data = b"".join(parts.values())
    got = described(got_small, got_data)
    assert "CP-BBBB-0002" not in got["cases"] and all(item[4] != "CP-BBBB-0002" for item in got["items"])


def test_due_after_covers_assignments_and_a_case_assigned_back_prints_what_a_view_made_anew_prints(
        cli, cli_as, without_views, monkeypatch):

    ids = []
    for at in ("2026-11-20T14:37:00+03:00", "2026-11-22T23:05:00+03:00"):
        ids += register_many(cli_as("amina", CPCM_NOW=at), 3)
    ids += register_many(cli_as("otieno", CPCM_NOW="2026-11-22T10:20:00+03:00"), 2)
    assert cli("assign", ids[0], "--cover", "otieno", "--until", "2026-12-31").code == 0
    assert cli("due", "--worker", "all").code == 0  # the view made
    calls = _spliced_calls(monkeypatch)
    sup = cli_as("sup")
    writes = [lambda: cli("assign", ids[1], "--cover", "otieno", "--until", "2026-12-31"),
              lambda: sup("assign", ids[2], "--worker", "otieno"),
              lambda: sup("assign", ids[2], "--worker", "amina"),  # dropped, then back
              lambda: cli("note", ids[0], "--text", "visited"),
              lambda: sup("assign", ids[0], "--worker", "otieno")]
    for write in writes:
        done = write()
        assert done.code == 0, done.stderr
        same(cli, without_views)
        same(cli, without_views, [("due", "--worker", "otieno"), ("due", "--worker", "otieno", "--json")])
        printed = {args: cli(*args).stdout for args in DUE}
        (_folder(cli) / views.FOLDER / "due.view").unlink()
        assert {args: cli(*args).stdout for args in DUE} == printed
    assert calls


def test_due_after_a_few_writes_lists_their_cases_over_the_view_as_it_is(cli, cli_as, without_views, monkeypatch):
    """Up to OVERLAY cases changed since the view's commit: `due` takes them from their files
    (computed now) over the view as it is, which it neither splices nor writes; one more, and the
    view is spliced and stored. Printed the same throughout, for the worker and for a colleague
    covering one of the cases, at other times too. Below OVERLAY_FROM items the view is spliced
    at once (the tests above)."""
    from test_sync import VISIT

    monkeypatch.setattr(dueview, "OVERLAY_FROM", 0)  # (a view of 50,000 items and more)
    ids = register_many(cli, 2 + dueview.OVERLAY)
    register_many(cli_as("otieno"), 2)
    assert cli("assign", ids[0], "--cover", "otieno", "--until", "2026-12-31").code == 0
    otieno = cli_as("otieno")
    views_of = {"amina": _folder(cli) / views.FOLDER / "due.view",
                "otieno": _folder(cli).parent / "otieno" / views.FOLDER / "due.view"}
    for who in (cli, otieno):
        assert who("due", "--worker", "all").code == 0  # each one's view made
    stored = {name: path.read_bytes() for name, path in views_of.items()}
    calls = _spliced_calls(monkeypatch)
    writes = [lambda: cli("followup", ids[0], *VISIT),  # the case otieno covers
              lambda: otieno("note", ids[0], "--text", "covering: called the school"),
              lambda: cli("followup", ids[1], *VISIT)]
    writes += [lambda case_id=case_id: cli("note", case_id, "--text", "visited") for case_id in ids[2:dueview.OVERLAY]]
    for write in writes:
        done = write()
        assert done.code == 0, done.stderr
        same(cli, without_views)
        same(otieno, without_views, [("due",), ("due", "--json"), ("due", "--worker", "all")])
        same(cli, without_views, DUE[:3], env={"CPCM_NOW": "2027-01-15T10:00:00+03:00"})
    assert calls == [] and {name: path.read_bytes() for name, path in views_of.items()} == stored  # neither spliced nor written
    assert cli("followup", ids[dueview.OVERLAY], *VISIT).code == 0  # one case more than OVERLAY changed
    same(cli, without_views)
    assert calls and views_of["amina"].read_bytes() != stored["amina"]  # the view spliced and stored
    calls.clear()
    same(cli, without_views)
    assert calls == []  # and read as it is


def _due_overlaid(monkeypatch) -> list[bool]:
    """Per `due`: whether it listed over the view as it is (`_overlaid` gave it)."""
    found: list[bool] = []
    real = dueview._overlaid

    def overlaid(*args):
        got = real(*args)
        found.append(got is not None)
        return got
    monkeypatch.setattr(dueview, "_overlaid", overlaid)
    return found


def test_due_over_the_view_as_it_is_adds_the_records_read_to_the_record_table_once(cli, without_views, monkeypatch):
    monkeypatch.setattr(dueview, "OVERLAY_FROM", 0)
    ids = register_many(cli, 4)
    assert cli("due", "--worker", "all").code == 0
    assert cli("note", ids[0], "--text", "visited").code == 0
    records = _folder(cli) / "records"
    counts = []
    overlaid = _due_overlaid(monkeypatch)
    for _ in range(3):
        assert cli("due", "--worker", "all").code == 0
        counts.append(sum(1 for _ in records.rglob("*.age")))
    assert overlaid == [True] * 3 and counts[0] == counts[-1], counts  # not a segment more at every run
    same(cli, without_views)


def test_changes_to_cases_the_worker_does_not_read_count_toward_the_splice(cli, cli_as, without_views, monkeypatch):
    monkeypatch.setattr(dueview, "OVERLAY_FROM", 0)
    monkeypatch.setattr(dueview, "OVERLAY", 2)
    register_many(cli, 3)
    assert cli("due", "--worker", "all").code == 0
    overlaid = _due_overlaid(monkeypatch)
    otieno = cli_as("otieno")
    for _ in range(3):  # cases amina does not read
        register_many(otieno, 1)
        assert cli("due", "--worker", "all").code == 0
    assert overlaid == [True, True, False]  # the third: more than OVERLAY changed, spliced (not piled up)
    same(cli, without_views)


def test_a_case_that_cannot_be_read_does_not_keep_due_from_the_view_as_it_is(cli, repo, without_views, monkeypatch):
    monkeypatch.setattr(dueview, "OVERLAY_FROM", 0)
    good, bad = register_many(cli, 2)
    assert cli("due", "--worker", "all").code == 0
    (path,) = sorted(case_dir(repo, bad).glob("*.age"))
    path.write_bytes(b"damaged")
    git(repo, "add", "-A", "cases")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "damage")
    overlaid = _due_overlaid(monkeypatch)
    first = cli("due", "--worker", "all")  # the damaged case taken out of the view (spliced), reported
    assert first.code == 1 and path.name in first.stderr
    assert cli("note", good, "--text", "visited").code == 0
    again = cli("due", "--worker", "all")
    assert again.code == 1 and path.name in again.stderr  # still reported
    assert overlaid == [False, True]  # and the note listed over the view as it is
    same(cli, without_views, [("due", "--worker", "all"), ("due", "--json")])
