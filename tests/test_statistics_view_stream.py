"""The statistics view made anew from the statistics table a case at a time (`tables.statistics_stream`), as the
due view is made from the due table: the table is never loaded whole, what `report statistics` prints is the
same as computed without views, and the table's segments are merged when they are many. No time or memory is
measured here."""
from __future__ import annotations

import shutil
from pathlib import Path

from conftest import Cli, register_many
from cpcm.service import views
from cpcm.store import cache as cache_mod
from test_views import STATISTICS, same

COMMANDS = [("report", "statistics", *a) for a in STATISTICS]


def _statistics_folder(cli: Cli) -> Path:
    return Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / "amina" / "statistics"


def _views_removed(cli: Cli) -> None:
    shutil.rmtree(Path(cli.env["CPCM_REPO"]) / ".cpcm" / "cache" / "amina" / views.FOLDER)


def test_a_statistics_view_made_anew_never_loads_the_statistics_table_whole(cli, without_views, monkeypatch):
    ids = register_many(cli, 5)
    assert cli("note", ids[0], "--text", "visited the family").code == 0
    same(cli, without_views, COMMANDS)  # the views made, and the statistics table filled
    loaded: list[Path] = []
    real_load = cache_mod.Table.load

    def load(table):
        loaded.append(Path(table.folder))
        return real_load(table)

    monkeypatch.setattr(cache_mod.Table, "load", load)
    for changed in (None, ids[1]):  # the view made anew from a table that holds every case; then one that misses one
        if changed is not None:
            assert cli("note", changed, "--text", "visited again").code == 0
        _views_removed(cli)
        assert cli("report", "statistics").code == 0
        assert _statistics_folder(cli) not in loaded, loaded
    monkeypatch.setattr(cache_mod.Table, "load", real_load)
    same(cli, without_views, COMMANDS)
    _views_removed(cli)
    same(cli, without_views, COMMANDS)


def test_the_statistics_table_is_merged_when_a_view_made_anew_finds_it_in_many_segments(cli, without_views, monkeypatch):
    """Each view made anew that misses a case appends a segment to the statistics table (no `Table.save` merges a
    table read a segment at a time); at `MERGE_FROM` of them the view's maker merges them: fewer segments, and the
    same report."""
    monkeypatch.setattr(cache_mod, "MERGE_FROM", 4)
    ids = register_many(cli, 4)
    same(cli, without_views, COMMANDS)
    counts = []
    for n in range(3):
        assert cli("note", ids[n], "--text", "visited").code == 0
        _views_removed(cli)
        assert cli("report", "statistics").code == 0
        counts.append(len(list(_statistics_folder(cli).glob("*.age"))))
    assert counts[-1] < max(counts), counts  # merged once the segments were many
    same(cli, without_views, COMMANDS)
