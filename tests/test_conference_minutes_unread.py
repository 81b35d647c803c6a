"""Minutes of one conference written on two copies apart, merged by a worker who cannot read the
conference (otieno, a caseworker whose case is not on it): the merge cannot compare them, so it names
every record written apart that may hold minutes (`compared`: false), and the fold of those who read
the conference tells whether they differ (workflow/conferences.py `same_minutes`). The chair then
sees what a merge of their own would have found: a conflict where the minutes differ, none where the
copies wrote the same minutes or changed something else."""
from __future__ import annotations

import subprocess

import pytest

from conftest import NOW, Cli
from test_conference import CLOSE_NOW
from test_conference_minutes_sync import _conflicts, _due, _held, _minutes, _ok, _write_minutes
from test_sync import laptops  # noqa: F401 (laptops: a fixture)

CODE = "minutes-concurrent"


def _laptop(laptops, worker: str) -> Cli:
    """The copy the other records are written on: amina's laptop, or the chair's own second copy ("sup")."""
    if worker == "amina":
        return laptops.cli("amina")
    path = laptops.tmp / "laptop-sup2"
    subprocess.run(["git", "clone", "-q", str(laptops.bare), str(path)], check=True, capture_output=True)
    return Cli({"CPCM_REPO": str(path), "CPCM_IDENTITY": str(laptops.keys["sup"][0]), "CPCM_NOW": NOW})


def _merged_by_otieno(laptops, laptop: Cli, write_office, write_laptop, *flags: str) -> dict:
    """The office (the chair's copy) runs `write_office`, `laptop` runs `write_laptop`, apart (at the meeting); the
    office pushes to origin, the laptop to a USB stick; otieno, who reads neither the conference nor its case, takes
    origin's and merges the stick's, then pushes the merge to origin, and the office and the laptop take it."""
    otieno = laptops.laptop("otieno")
    usb = laptops.tmp / "usb.git"
    _ok(laptop("remote", "add", "usb", str(usb), "--create"))
    written = (write_office(laptops.cli("sup", CPCM_NOW=CLOSE_NOW)), write_laptop(Cli(dict(laptop.env, CPCM_NOW=CLOSE_NOW))))
    _ok(laptops.cli("sup")("sync"))
    _ok(laptop("sync", "usb"))
    _ok(otieno("sync", "origin"))
    _ok(otieno("remote", "add", "usb", str(usb)))
    merged = _ok(otieno("sync", "usb", *flags))
    _ok(otieno("sync", "origin"))
    took = _ok(laptops.cli("sup")("sync"))  # the chair's sync that brings the merge
    _ok(laptop("sync", "origin"))
    return {"written": written, "merged": merged, "took": took, "otieno": otieno}


def _update_minutes(conf: str, case_id: str, words: str):
    return lambda cli: _ok(cli("conference", "update", conf, "--minutes", "-", "--reason", "mended", "--json",
                               input=_minutes(case_id, words))).json()["record_id"]


@pytest.mark.parametrize("writer", ["amina", "sup"])
def test_minutes_written_apart_merged_by_one_who_cannot_read_them_are_named_and_the_chair_settles_them(laptops, writer):
    at, conf, case_id = _held(laptops)
    laptop = _laptop(laptops, writer)
    done = _merged_by_otieno(laptops, laptop, lambda cli: _write_minutes(cli, conf, case_id, "office copy"),
                             lambda cli: _write_minutes(cli, conf, case_id, "laptop copy"), "--json")
    records = sorted(done["written"])
    # otieno's merge could not compare them: it names both, and says it did not compare them
    assert done["merged"].json()["conflicts"] == [{"conference": conf, "code": CODE, "records": records, "compared": False}]
    otieno = done["otieno"]
    assert otieno("conference", "show", conf).code != 0  # he cannot read it
    assert otieno("conference", "show", conf, "--minutes-record", records[0]).code != 0
    # the chair's sync that brings the merge names it, as a merge of their own would have
    took = done["took"].stderr
    assert f"{conf}: {CODE} ({', '.join(records)}); see cpcm conference show {conf}" in took, took
    chair = laptops.cli("sup", CPCM_NOW=CLOSE_NOW)
    readers = [chair, Cli(dict(laptop.env, CPCM_NOW=CLOSE_NOW))]
    for cli in readers:
        shown = cli("conference", "show", conf, "--json").json()
        assert _conflicts(shown) == [(CODE, records)]
        text = cli("conference", "show", conf).stdout
        assert f"sync conflict ({CODE})\tminutes recorded on two copies apart, differently: {', '.join(records)}" in text
        assert "office copy" not in text and "laptop copy" not in text
        for record in records:
            assert _ok(cli("conference", "show", conf, "--minutes-record", record, "--json")).json()["cases"][0]["discussion"] in (
                "Discussion: office copy.", "Discussion: laptop copy.")
    assert _due(chair, conf) == ["sup"]
    assert _ok(chair("verify")).code == 0
    refused = chair("conference", "close", conf)
    assert refused.code == 4 and "two copies apart" in refused.stderr and records[0] in refused.stderr, refused.stderr
    # settled as when the chair's own merge found it
    agreed = _ok(chair("conference", "update", conf, "--minutes", "-", "--reason", "agreed", "--json",
                       input=_minutes(case_id, "office copy")))
    assert "this settles the sync conflict (minutes-concurrent): these minutes stand" in agreed.json()["next_steps"]
    assert _conflicts(chair("conference", "show", conf, "--json").json()) == [] and _due(chair, conf) == []
    _ok(chair("conference", "close", conf))


@pytest.mark.parametrize("what", ["same minutes", "other changes"])
def test_records_written_apart_that_hold_the_same_minutes_merged_by_one_who_cannot_read_them_are_no_conflict(laptops, what):
    """The merge names them (it cannot tell); the chair's fold finds the same minutes on both copies (or
    an update of the venue on one and of the checklist on the other, after the minutes): none open,
    nothing due, and the conference closes."""
    at, conf, case_id = _held(laptops)
    laptop = _laptop(laptops, "sup")
    if what == "same minutes":
        office = lambda cli: _write_minutes(cli, conf, case_id, "one text")  # noqa: E731
        other = lambda cli: _write_minutes(cli, conf, case_id, "one text")  # noqa: E731
    else:
        _write_minutes(at["sup"], conf, case_id, "one text")
        laptops.sync("sup")
        _ok(laptop("sync"))  # both copies hold the minutes: an update on either may replace them
        office = lambda cli: _ok(cli("conference", "update", conf, "--venue", "Hall", "--json")).json()["record_id"]  # noqa: E731
        other = lambda cli: _ok(cli("conference", "update", conf, "--attendance-confirmed", "2026-11-27",  # noqa: E731
                                    "--json")).json()["record_id"]
    done = _merged_by_otieno(laptops, laptop, office, other)
    records = sorted(done["written"])
    assert f"{conf}: {CODE} ({', '.join(records)}) may be: you cannot read {conf} to compare these records written apart; " \
           f"its chair sees whether they differ" in done["merged"].stderr, done["merged"].stderr
    assert "minutes-concurrent" not in done["took"].stderr  # the chair's sync: nothing open arrived
    chair = laptops.cli("sup", CPCM_NOW=CLOSE_NOW)
    shown = chair("conference", "show", conf, "--json").json()
    assert _conflicts(shown) == [] and [(c["code"], c["records"]) for c in shown["conflicts"]] == [(CODE, records)]
    assert all(c["settled_by"] == c["record_id"] for c in shown["conflicts"])  # settled where it was found
    assert "sync conflict" not in chair("conference", "show", conf).stdout
    assert _due(chair, conf) == []
    assert "two copies apart" not in _ok(chair("render", "minutes", conf)).stderr
    _ok(chair("conference", "close", conf))


@pytest.mark.parametrize("apart", ["update and minutes", "close and update"])
def test_minutes_replaced_apart_merged_by_one_who_cannot_read_them_are_a_conflict(laptops, apart):
    """The minutes on both copies, then replaced on one (`conference update --minutes`) while the other
    recorded them again, or closed the conference: an update's file name does not say what it changed,
    so the merge names it; the chair's fold finds the minutes differ."""
    at, conf, case_id = _held(laptops)
    first = _write_minutes(at["sup"], conf, case_id, "first")
    laptops.sync("sup")
    laptop = _laptop(laptops, "amina" if apart == "update and minutes" else "sup")
    _ok(laptop("sync"))
    if apart == "update and minutes":
        office = _update_minutes(conf, case_id, "office mended")
        other = lambda cli: _write_minutes(cli, conf, case_id, "laptop again")  # noqa: E731
    else:
        office = lambda cli: _ok(cli("conference", "close", conf, "--json")).json()["record_id"]  # noqa: E731
        other = _update_minutes(conf, case_id, "laptop mended")
    done = _merged_by_otieno(laptops, laptop, office, other, "--json")
    records = sorted(done["written"])
    assert done["merged"].json()["conflicts"] == [{"conference": conf, "code": CODE, "records": records, "compared": False}]
    chair = laptops.cli("sup", CPCM_NOW=CLOSE_NOW)
    shown = chair("conference", "show", conf, "--json").json()
    assert _conflicts(shown) == [(CODE, records)]
    assert shown["status"] == ("closed" if apart == "close and update" else "minuted")
    assert first not in records  # recorded before the copies parted: on both, not written apart
    assert _due(chair, conf) == ["sup"]


def test_an_update_on_a_copy_that_held_no_minutes_is_not_named(laptops):
    """An update written on a copy that held no minutes cannot have replaced them (`conference update --minutes`
    needs minutes to replace): minutes on one copy and the checklist changed on the other are nothing to compare."""
    at, conf, case_id = _held(laptops)
    laptop = _laptop(laptops, "sup")
    done = _merged_by_otieno(laptops, laptop, lambda cli: _write_minutes(cli, conf, case_id, "office copy"),
                             lambda cli: _ok(cli("conference", "update", conf, "--attendance-confirmed", "2026-11-27",
                                                 "--json")).json()["record_id"], "--json")
    assert done["merged"].json()["conflicts"] == []
    chair = laptops.cli("sup", CPCM_NOW=CLOSE_NOW)
    assert chair("conference", "show", conf, "--json").json()["conflicts"] == []
    _ok(chair("conference", "close", conf))


def test_minutes_written_and_replaced_on_one_copy_while_the_other_wrote_the_replacement_are_no_conflict(laptops):
    """The office records minutes and then replaces them (`conference update --minutes`), apart, while the laptop
    records the replacement's text as its minutes: both copies hold the same minutes. The merge that cannot read
    them names all three; the chair's fold no longer compares the minutes the office replaced (they stand on
    neither copy): none open, nothing due, and the conference closes. Before, the chair was left a conflict to
    settle by writing the minutes again."""
    at, conf, case_id = _held(laptops)
    laptop = _laptop(laptops, "sup")

    def office(cli):
        first = _write_minutes(cli, conf, case_id, "draft")
        return first, _update_minutes(conf, case_id, "as agreed")(cli)

    done = _merged_by_otieno(laptops, laptop, office, lambda cli: _write_minutes(cli, conf, case_id, "as agreed"), "--json")
    (first, mended), other = done["written"]
    assert done["merged"].json()["conflicts"] == [{"conference": conf, "code": CODE, "records": sorted([first, mended, other]),
                                                   "compared": False}]
    assert "minutes-concurrent" not in done["took"].stderr
    chair = laptops.cli("sup", CPCM_NOW=CLOSE_NOW)
    assert _conflicts(chair("conference", "show", conf, "--json").json()) == []
    assert _due(chair, conf) == []
    _ok(chair("conference", "close", conf))
