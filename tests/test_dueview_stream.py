"""The due view made anew case by case (service/dueview.py `_Streamed`, `_made_anew`): from the
due table's segments one entry at a time (store/cache.py `newest_entries`, service/tables.py
`due_stream`), the covers from one git listing. What is checked: the view holds what the view
made whole from the same cases holds (`_Builder`), in the same order; `due` prints what it prints
without views or tables, with the table in many small segments, after an upgrade, with a text
missing from the table, with a cover; a case that left the folder leaves the view and the table.
What is compared is output and content: no time is measured here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Cli, git, register, register_many
from cpcm.crypto import cipher
from cpcm.service import context, dueview, views
from cpcm.service import tables as tables_mod
from cpcm.store import cache as cache_mod
from cpcm.store.layout import case_dir, case_rel
from test_table_rebuild import table, upgrade

DUE = [("due", "--worker", "all"), ("due",), ("due", "--worker", "all", "--json"), ("due", "--overdue"),
       ("due", "--worker", "all", "--within", "400"), ("due", "--worker", "otieno")]


def same(cli: Cli, without_views, commands=DUE, env: dict | None = None) -> None:
    for args in commands:
        kept, computed = cli(*args, env=env), without_views(cli, *args, env=env)
        assert (kept.code, kept.stdout, kept.stderr) == (computed.code, computed.stdout, computed.stderr), args


def _folder(cli: Cli) -> Path:
    return Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / "amina"


def _keys(cli: Cli):
    return context.identity_mod.load(Path(cli.env["CPCM_IDENTITY"]), lambda: None).keys


def due_view_bytes(cli: Cli) -> bytes:
    return cipher.decrypt((_folder(cli) / views.FOLDER / "due.view").read_bytes(), _keys(cli))


# -- the view made in pieces is the view made whole -------------------------------------------------
TEXTS = {
    "t1": ["ia", "initial assessment", "amina", "initial_assessment", "assess", "IAG", "high", None, []],
    "t2": ["cp", "case plan", "amina", "case_plan", "plan", "IAG", "low", None, []],
    "t3": ["ap", "approval", "supervisors", "approval", "approve", "IAG", "medium", "amina", ["amina"]],
    "t4": ["cc", "conference", "amina", "conference", "meet", "IAG", "high", None, []],
    "t5": ["tab", "title\twith a tab", "otieno", "case_plan", "plan\nagain", "IAG", None, None, []],
}
DAY = 86_400


def entries() -> dict[str, list]:
    """Due table entries of several cases: ties of due time across cases and risks, several pieces
    of time, a conference after an admission, a time kept with its local time (a gap of daylight
    saving), unbounded pieces."""
    t0 = 1_790_000_000
    return {
        "CP-BBBB-0002": ["tree", "amina", [None, (t0 + DAY) * 10**6, 2, "t1", t0, t0 - 3600, "t2", t0, None],
                         [(t0 + DAY) * 10**6, None, 1, "t2", t0 + 5 * DAY, None, "t4", t0 + 9 * DAY, None]],
        "CP-AAAA-0001": ["tree", "otieno", [None, None, 3, "t2", t0, None, "t1", t0, t0 - 60, "t5", [(t0 + 7) * 10**6 + 5], None]],
        "CP-CCCC-0003": ["tree", "amina", [(t0 - DAY) * 10**6, (t0 + 2 * DAY) * 10**6, 2, "t3", t0, None,
                                           "t1", [(t0 + 3600) * 10**6, 123, 1], [t0 * 10**6, 456, 0]]],
        "CP-0000-0004": ["tree", None, [None, (t0 + 3 * DAY) * 10**6, 1, "t1", t0 - DAY, None]],
    }


def _builder_pieces(entry: list, case_id: str) -> list[tuple]:
    return dueview._pieces(entry, {tables_mod.TEXT + k: v for k, v in TEXTS.items()}, case_id)


def described(small: dict, data, parts: dict | None = None) -> dict:
    """What a view's body says, by name rather than number: its items in order, its cases, the window
    (`parts`: the body in its sections, `data` None)."""
    body = dueview.ViewBody(json.loads(json.dumps(small)), None if data is None else memoryview(bytes(data)), parts=parts)
    items = body.items
    listed = []
    for k in range(len(items["due"])):
        piece = items["piece"][k]
        listed.append((items["due"][k], items["target"][k], items["aim"][k], items["rank"][k], body.ids[items["case"][k]],
                       body.owners[items["owner"][k]], body.whys[items["why"][k]], body.texts[items["static"][k]],
                       body.local[k], (items["piece_lo"][piece], items["piece_hi"][piece]), body.codes(k),
                       body.tails[items["tail"][k]] == [items["owner"][k], items["why"][k]]))
    cases = {case_id: (body.worker(index), body.covers.get(index, {}), items["span_lo"][index], items["span_hi"][index])
             for index, case_id in enumerate(body.ids)}
    return {"items": listed, "cases": cases, "admission": sorted(small["admission"]), "counts": (small["items"], small["cases"])}


@pytest.fixture
def ctx(cli):
    return context.open_repo(Path(cli.env["CPCM_REPO"]), Path(cli.env["CPCM_IDENTITY"]))


@pytest.mark.parametrize("lines", [10_000, 2], ids=["texts at once", "texts in pieces"])
def test_the_view_made_case_by_case_is_the_view_made_whole(ctx, monkeypatch, lines):
    from zoneinfo import ZoneInfo

    monkeypatch.setattr(dueview, "LINES", lines)
    zone = ZoneInfo("Africa/Nairobi")
    made = entries()
    covers = {"CP-CCCC-0003": {"otieno": "2027-01-01"}}
    whole = dueview._Builder(ctx, zone)
    for case_id in sorted(made):
        whole.add(case_id, made[case_id][1], covers.get(case_id, {}), _builder_pieces(made[case_id], case_id))
    streamed = dueview._Streamed(ctx, zone)
    for case_id in ("CP-CCCC-0003", "CP-AAAA-0001", "CP-0000-0004", "CP-BBBB-0002"):  # as the segments give them
        streamed.add(case_id, made[case_id][1], covers.get(case_id, {}), made[case_id])
    streamed.texts.update(TEXTS)  # the texts after the entries that use them
    assert streamed.left_out() == set()
    expected, got = described(*whole.body()), described(*streamed.body())
    assert len(expected["items"]) == 9 and len(expected["admission"]) == 1
    assert got == expected
    assert (streamed.lo, streamed.hi) == (whole.lo, whole.hi)


def test_a_case_whose_text_is_missing_or_whose_owner_is_no_text_is_left_out(ctx):
    from zoneinfo import ZoneInfo

    made = entries()
    streamed = dueview._Streamed(ctx, ZoneInfo("Africa/Nairobi"))
    for case_id, entry in made.items():
        streamed.add(case_id, entry[1], {}, entry)
    streamed.texts.update({k: v for k, v in TEXTS.items() if k != "t4"})  # the admission's text is missing
    streamed.texts["t3"] = [*TEXTS["t3"][:2], None, *TEXTS["t3"][3:]]  # an owner that is no text
    assert streamed.left_out() == {"CP-BBBB-0002", "CP-CCCC-0003"}
    streamed.leave = streamed.left_out()
    got = described(*streamed.body())
    assert set(got["cases"]) == {"CP-AAAA-0001", "CP-0000-0004"} and got["admission"] == []
    assert {item[4] for item in got["items"]} == {"CP-AAAA-0001", "CP-0000-0004"}


# -- the table read one entry at a time -------------------------------------------------------------
def test_newest_entries_gives_what_the_table_loads(tmp_path):
    from pyrage import x25519

    key = x25519.Identity.generate()
    recipient = str(key.to_public())
    folder = tmp_path / "t"
    first = cache_mod.Table(folder, recipient, [key], "tag")
    for n in range(30):
        first.set(f"k{n}", [n, {"x": "a b", "y": [1, None]}, "é\t\n"])
    first.save()
    writer = cache_mod.Appender(folder, recipient, "tag", limit=40)
    for n in range(0, 30, 3):
        writer.add(f"k{n}", json.dumps({"again": n}, indent=1))  # spaces inside a value
    writer.add("k4", "null")
    writer.add("new", "[]")
    writer.flush()
    cache_mod.write_segment(folder, recipient, b'{"version":2,"tag":"another","entries":{"k5":1}}')
    head = b'{"version":%d,"tag":"tag",' % cache_mod.VERSION
    cache_mod.write_segment(folder, recipient, head + b'"entries": {"k7" : "spaced"}}')  # read whole
    cache_mod.write_segment(folder, recipient, head + b'"entries":{ "k8" : 1 ,\n"k9":[ 2 ] }}')  # one entry at a time
    later = cache_mod.Table(folder, recipient, [key], "tag")
    streamed = list(cache_mod.newest_entries(later))
    expected = cache_mod.Table(folder, recipient, [key], "tag").load().entries
    assert len(streamed) == len({k for k, _ in streamed}) == len(expected)
    assert dict(streamed) == expected and expected["k7"] == "spaced" and "k4" not in expected
    assert expected["k8"] == 1 and expected["k9"] == [2]
    assert later.stale  # the segment of another tag
    alone = dict(cache_mod.newest_entries(later, later.segments()[-4:-3]))  # the appender's last segment only
    assert alone["new"] == [] and "k4" not in alone and set(alone) <= {"new", "k27", "k24"}


# -- `due` through the view made case by case --------------------------------------------------------
@pytest.fixture
def varied(cli, cli_as):
    """Cases registered at several times, by two workers, one covered, one near eighteen."""
    ids = []
    for at in ("2026-11-20T14:37:00+03:00", "2026-11-22T23:05:00+03:00"):
        ids += register_many(cli_as("amina", CPCM_NOW=at), 3)
    ids += register_many(cli_as("otieno", CPCM_NOW="2026-11-22T10:20:00+03:00"), 2)
    ids.append(register(cli, child={"name": "Near Eighteen", "sex": "male", "date_of_birth": "2008-12-20",
                                    "disability": "no"}))
    assert cli("assign", ids[0], "--cover", "otieno", "--until", "2026-12-31").code == 0
    return ids


def test_due_prints_the_same_from_a_view_made_from_many_small_segments(cli, cli_as, varied, monkeypatch,
                                                                        without_views, reads):
    same(cli, without_views, DUE[:1])  # the summaries and tables made
    monkeypatch.setattr(cache_mod, "APPEND_LIMIT", 1)  # a segment for each entry and text
    monkeypatch.setattr(tables_mod, "REBUILD_FROM", 2)
    upgrade(monkeypatch)
    reads.clear()
    assert cli("due", "--worker", "all").code == 0
    assert reads == []  # made again from the summaries, the covers from git
    assert len(list((_folder(cli) / "due").glob("*.age"))) >= 9
    made = due_view_bytes(cli)
    same(cli, without_views)
    for worker in ("otieno", "sup"):
        same(cli_as(worker), without_views)
    otieno = cli_as("otieno")("due").stdout
    assert "amina (covered by otieno)" in otieno
    # made again from the table as it is now (many segments, not read whole): the same view
    (_folder(cli) / views.FOLDER / "due.view").unlink()
    with monkeypatch.context() as patch:
        patch.setattr(cache_mod.Table, "load", lambda self: pytest.fail("the due table read whole"))
        assert cli("due", "--worker", "all").code == 0
    again = due_view_bytes(cli)
    strip = lambda data: json.dumps({k: v for k, v in json.loads(data[:data.index(b"\n")]).items() if k != "stamp"})
    assert strip(again) == strip(made) and again[again.index(b"\n"):] == made[made.index(b"\n"):]
    same(cli, without_views)


def test_a_case_that_left_the_folder_leaves_the_view_made_anew_and_the_table(cli, repo, varied, monkeypatch,
                                                                             without_views):
    same(cli, without_views)
    gone = varied[2]
    assert gone in table(cli, "due")
    git(repo, "rm", "-r", "-q", case_rel(gone))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "remove a case folder")
    monkeypatch.setattr(views, "_code_fingerprint", lambda: "another release of the due view")  # the view made anew, the table kept
    assert cli("due", "--worker", "all").code == 0
    assert gone not in table(cli, "due")  # a deletion appended to the table
    assert gone.encode() not in due_view_bytes(cli) and varied[3].encode() in due_view_bytes(cli)
    same(cli, without_views)


def test_a_case_whose_text_is_not_in_the_table_is_computed_each_time(cli, varied, monkeypatch, without_views, reads):
    same(cli, without_views)
    entries_now = table(cli, "due")
    case_id = varied[4]
    text = entries_now[case_id][2][3]
    users = {k for k, v in entries_now.items() if not k.startswith(tables_mod.TEXT) and len(v) > 1
             and any(text in piece[3::3] for piece in v[2:])}
    tag = json.loads(cipher.decrypt(next((_folder(cli) / "due").glob("*.age")).read_bytes(), _keys(cli)))["tag"]
    ctx = context.open_repo(Path(cli.env["CPCM_REPO"]), Path(cli.env["CPCM_IDENTITY"]))
    writer = cache_mod.Appender(_folder(cli) / "due", ctx.identity.recipient, tag)
    writer.add(tables_mod.TEXT + text, "null")  # as when another command's segment was lost
    writer.flush()
    monkeypatch.setattr(views, "_code_fingerprint", lambda: "another release of the due view")
    reads.clear()
    same(cli, without_views, DUE[:1])
    assert users and sorted(set(reads)) == sorted(users)  # those cases from their files, no other
    head = json.loads(due_view_bytes(cli).split(b"\n", 1)[0])
    assert set(head["live"]) == users and case_id not in head["body"]["covers"]
    same(cli, without_views)


def test_the_covers_read_from_one_listing_are_those_of_each_file(cli, repo, varied):
    ctx = context.open_repo(Path(cli.env["CPCM_REPO"]), Path(cli.env["CPCM_IDENTITY"]))
    (case_dir(repo, varied[1]) / "recipients").write_text("amina\n# cover: otieno until 2026-12-24\n")  # not committed
    dirty = {varied[1]}
    covers_of = dueview._covers_reader(ctx, dirty)
    for case_id in ctx.store.case_ids():
        assert covers_of(case_id) == context.case_covers(ctx, case_id), case_id
    assert covers_of(varied[0])["otieno"].startswith("2026-12-31") and covers_of(varied[1]) == {"otieno": "2026-12-24"}
