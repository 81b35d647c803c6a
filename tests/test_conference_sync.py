"""A conference closed on one copy while a case was nominated to it on another (offline, then
synced): the case was not discussed, and its nominator is told so until it goes to a later
conference (workflow/conferences.py `not_discussed_due`)."""
from __future__ import annotations

import json

from test_conference import CLOSE_NOW, LATER, MEMBERS, minutes_doc, new_conference, planned_case
from test_sync import laptops, merge_both  # noqa: F401 (laptops: a fixture)


def _closed(cli, conf: str, case_ids) -> None:
    for institution, name, position in MEMBERS:
        done = cli("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                   "--contact", "0700 000000", "--confidentiality-signed", "yes")
        assert done.code == 0, done.stderr
    assert cli("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc(case_ids))).code == 0
    done = cli("conference", "close", conf)
    assert done.code == 0, done.stderr


def _not_discussed(cli) -> list[tuple[str, str]]:
    return [(i["case_id"], i["owner"]) for i in cli("due", "--json").json() if i["code"] == "conference-not-discussed"]


def test_a_case_nominated_on_a_copy_apart_while_the_conference_closed_is_not_discussed_and_is_due_until_nominated_again(
        laptops, team):
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    first, second = planned_case(amina, "Zqxcanary One"), planned_case(amina, "Zqxcanary Two")
    laptops.sync("amina")
    laptops.sync("sup")
    conf = new_conference(sup)
    assert sup("conference", "add-case", conf, first, "--reason", "especially_difficult").code == 0
    laptops.sync("sup")
    laptops.sync("amina")
    # apart: the chair holds the meeting and closes it at the office; amina, who reads it, adds her other case on her laptop
    _closed(laptops.cli("sup", CPCM_NOW=CLOSE_NOW), conf, [first])
    assert amina("conference", "add-case", conf, second, "--reason", "especially_difficult").code == 0
    merge_both(laptops)
    later = {w: laptops.cli(w, CPCM_NOW=LATER) for w in ("sup", "amina")}
    shown = later["sup"]("conference", "show", conf, "--json").json()
    assert [c["case_id"] for c in shown["cases"]] == [first]
    assert [(n["case_id"], n["by"]) for n in shown["not_discussed"]] == [(second, "amina")]
    assert f"not discussed (nominated while it closed)\t{second} (especially_difficult, by amina)" in later["sup"]("conference", "show",
                                                                                                                     conf).stdout
    assert _not_discussed(later["amina"]) == [(second, "amina")]
    assert _not_discussed(later["sup"]) == []  # amina's to take on (`due --worker all` shows it to a supervisor)
    assert (second, "amina") in [(i["case_id"], i["owner"]) for i in later["sup"]("due", "--worker", "all", "--json").json()
                                 if i["code"] == "conference-not-discussed"]
    report = later["sup"]("render", "conference-report", conf)
    assert report.code == 0 and first in report.stdout and second not in report.stdout  # the report holds only what was discussed
    # taken to the next conference: no longer due
    nxt = new_conference(later["sup"], "--date", "2026-12-28")
    assert later["sup"]("conference", "add-case", nxt, second, "--reason", "especially_difficult").code == 0
    laptops.sync("sup")
    laptops.sync("amina")
    assert _not_discussed(later["amina"]) == []
