"""Minutes of one conference recorded on two copies apart (two laptops of a CCI, synced later): the
later in the records would replace the earlier, whose minute-taker is never told. The merge records
`minutes-concurrent` in the conference's folder; `conference show` names both minutes records (and
shows each with --minutes-record), the chair's `due` lists it, and `conference update --minutes
--reason` writing the minutes as agreed settles it."""
from __future__ import annotations

import json

from conftest import settling_said
from test_conference import CLOSE_NOW, LATER, MEMBERS, minutes_doc, new_conference, planned_case
from test_sync import laptops, merge_both  # noqa: F401 (laptops: a fixture)


def _ok(result):
    assert result.code == 0, result.stderr
    return result


def _held(laptops):
    """A conference of one of amina's cases on both copies, its members registered present; the meeting has started."""
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    case_id = planned_case(amina, "Zqxcanary One")
    laptops.sync("amina")
    laptops.sync("sup")
    conf = new_conference(sup)
    _ok(sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult"))
    held = laptops.cli("sup", CPCM_NOW=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        _ok(held("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                "--contact", "0700 000000", "--confidentiality-signed", "yes"))
    laptops.sync("sup")
    laptops.sync("amina")
    return {w: laptops.cli(w, CPCM_NOW=CLOSE_NOW) for w in ("sup", "amina")}, conf, case_id


def _minutes(case_id: str, words: str) -> str:
    doc = minutes_doc([case_id])
    doc["cases"][0]["discussion"] = f"Discussion: {words}."
    return json.dumps(doc)


def _conflicts(shown: dict) -> list[tuple[str, list[str]]]:
    return [(c["code"], c["records"]) for c in shown.get("conflicts") or [] if not c.get("settled_by")]


def _due(cli, conf: str) -> list[str]:
    return [i["owner"] for i in cli("due", "--worker", "all", "--json").json()
            if i["case_id"] == conf and i["code"] == "conference-minutes-concurrent"]


def _write_minutes(cli, conf: str, case_id: str, words: str) -> str:
    return _ok(cli("conference", "minutes", conf, "--from-file", "-", "--json", input=_minutes(case_id, words))).json()["record_id"]


def test_minutes_recorded_on_two_copies_apart_are_a_conflict_each_readable_until_the_minutes_as_agreed_are_written(laptops):
    at, conf, case_id = _held(laptops)
    office = _write_minutes(at["sup"], conf, case_id, "office copy")
    laptop = _write_minutes(at["amina"], conf, case_id, "laptop copy")  # later in the records: it would replace the office's
    laptops.sync("amina")
    merged = laptops.sync("sup")  # the office's merge finds it ...
    assert merged["conflicts"] == [{"conference": conf, "code": "minutes-concurrent", "records": sorted([office, laptop])}]
    took = laptops.cli("amina")("sync")  # ... and amina's sync that brings it names it too
    assert took.code == 0 and (f"{conf}: minutes-concurrent ({', '.join(sorted([office, laptop]))}); see cpcm conference show "
                               f"{conf}") in took.stderr, took.stderr
    said = laptops.cli("sup")("sync", "--json")
    assert said.code == 0 and said.json()["conflicts"] == []  # nothing new arrived
    for worker in ("sup", "amina"):
        cli = at[worker]
        shown = cli("conference", "show", conf, "--json").json()
        assert _conflicts(shown) == [("minutes-concurrent", sorted([office, laptop]))]
        text = cli("conference", "show", conf).stdout
        assert f"sync conflict (minutes-concurrent)\tminutes recorded on two copies apart, differently: {office}, {laptop}" in text
        assert "office copy" not in text and "laptop copy" not in text  # by their records, never their text
        # both stay readable, whichever stands
        for record, words in ((office, "office copy"), (laptop, "laptop copy")):
            held = cli("conference", "show", conf, "--minutes-record", record, "--json")
            assert held.code == 0 and held.json()["cases"][0]["discussion"] == f"Discussion: {words}.", held.stderr
        assert f"Discussion: office copy." in cli("conference", "show", conf, "--minutes-record", office).stdout
    missing = at["sup"]("conference", "show", conf, "--minutes-record", "01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert missing.code == 3 and "01ZZZ" not in missing.stderr, (missing.code, missing.stderr)
    assert _due(at["sup"], conf) == ["sup"]  # the chair's
    # closing would copy one of them into the plans; recording minutes again would not say which they replace
    for args in (("close", conf), ("minutes", conf, "--from-file", "-")):
        refused = at["sup"]("conference", *args, input=_minutes(case_id, "third"))
        assert refused.code == 4 and "two copies apart" in refused.stderr and office in refused.stderr, refused.stderr
    rendered = at["sup"]("render", "minutes", conf)  # printed before they are agreed: said, by their records
    assert rendered.code == 0 and f"recorded on two copies apart ({office}, {laptop}) and are not agreed yet: this prints " \
        f"{laptop}" in rendered.stderr, rendered.stderr
    # the chair agrees them with amina (the laptop's, as they stand) and writes them as agreed
    agreed = at["sup"]("conference", "update", conf, "--minutes", "-", "--reason", "agreed with amina", "--json",
                       input=_minutes(case_id, "laptop copy"))
    assert agreed.code == 0, agreed.stderr
    assert "this settles the sync conflict (minutes-concurrent): these minutes stand" in agreed.json()["next_steps"]
    assert len(settling_said(agreed, "minutes-concurrent")) == 1, agreed.json()
    shown = at["sup"]("conference", "show", conf, "--json").json()
    assert _conflicts(shown) == [] and shown["minutes"]["cases"][0]["discussion"] == "Discussion: laptop copy."
    assert _due(at["sup"], conf) == []
    assert "two copies apart" not in _ok(at["sup"]("render", "minutes", conf)).stderr
    _ok(at["sup"]("conference", "close", conf))
    laptops.sync("sup")
    laptops.sync("amina")
    assert _conflicts(at["amina"]("conference", "show", conf, "--json").json()) == []


def test_the_same_minutes_on_both_copies_are_no_conflict_and_an_update_apart_against_minutes_is(laptops):
    at, conf, case_id = _held(laptops)
    _write_minutes(at["sup"], conf, case_id, "one text")
    _write_minutes(at["amina"], conf, case_id, "one text")
    assert merge_both(laptops)["conflicts"] == []
    assert _conflicts(at["sup"]("conference", "show", conf, "--json").json()) == []
    # both hold those minutes now: the chair replaces them at the office, amina records hers on the laptop
    replaced = _ok(at["sup"]("conference", "update", conf, "--minutes", "-", "--reason", "typo", "--json",
                             input=_minutes(case_id, "office mended"))).json()["record_id"]
    laptop = _write_minutes(at["amina"], conf, case_id, "laptop again")
    merged = merge_both(laptops)
    assert [(c["conference"], c["code"], c["records"]) for c in merged["conflicts"]] == [
        (conf, "minutes-concurrent", sorted([replaced, laptop]))]
    assert _due(at["amina"], conf) == ["sup"]  # `due --worker all`: the chair's


def test_minutes_recorded_on_one_copy_while_the_other_closed_the_conference_leave_the_minutes_it_was_closed_with(laptops):
    at, conf, case_id = _held(laptops)
    first = _write_minutes(at["sup"], conf, case_id, "as closed")
    laptops.sync("sup")
    laptops.sync("amina")
    closed = _ok(at["sup"]("conference", "close", conf, "--json")).json()["record_id"]
    laptop = _write_minutes(at["amina"], conf, case_id, "laptop after")  # she did not know it was closed
    merged = merge_both(laptops)
    assert [(c["code"], c["records"]) for c in merged["conflicts"]] == [("minutes-concurrent", sorted([first, closed, laptop]))]
    shown = at["sup"]("conference", "show", conf, "--json").json()
    assert shown["status"] == "closed" and shown["minutes"]["cases"][0]["discussion"] == "Discussion: as closed."
    assert _conflicts(shown) == [("minutes-concurrent", sorted([first, closed, laptop]))]
    assert "Discussion: laptop after." in at["sup"]("conference", "show", conf, "--minutes-record", laptop).stdout
    assert _due(at["sup"], conf) == ["sup"]
    # the closed conference's minutes as agreed (the ones it was closed with): written again, they settle it
    agreed = at["sup"]("conference", "update", conf, "--minutes", "-", "--reason", "the meeting's", "--json",
                       input=_minutes(case_id, "as closed"))
    assert agreed.code == 0, agreed.stderr
    steps = agreed.json()["next_steps"]
    assert "this settles the sync conflict (minutes-concurrent): these minutes stand" in steps
    assert len(settling_said(agreed, "minutes-concurrent")) == 1, agreed.json()
    assert any("the plans keep the actions the conference was closed with" in s for s in steps)
    assert _conflicts(at["sup"]("conference", "show", conf, "--json").json()) == [] and _due(at["sup"], conf) == []


def test_a_merge_decrypts_each_record_of_a_conference_once_for_its_minutes_check_and_its_readers(laptops, monkeypatch):
    """The minutes check reads every record of each copy's conference; working out its readers after the merge takes
    those records from there, not from git and the cipher again."""
    import collections
    import hashlib

    from cpcm.service import sync

    at, conf, case_id = _held(laptops)
    _write_minutes(at["sup"], conf, case_id, "office copy")
    _write_minutes(at["amina"], conf, case_id, "laptop copy")
    laptops.sync("amina")
    seen: collections.Counter = collections.Counter()
    real = sync.cipher

    class Counting:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def decrypt(data, keys):
            seen[hashlib.sha256(data).hexdigest()] += 1
            return real.decrypt(data, keys)
    monkeypatch.setattr(sync, "cipher", Counting())
    merged = laptops.sync("sup")
    assert [c["code"] for c in merged["conflicts"]] == ["minutes-concurrent"]
    assert seen and max(seen.values()) == 1, sorted(seen.values())


def test_minutes_from_one_copy_that_discuss_a_case_taken_off_on_the_other_are_left_out_at_close_and_said_so(laptops):
    """On the office copy the supervisor records minutes discussing both cases; on amina's laptop,
    apart, she takes one of her cases off the list. After the sync, closing leaves that case out (as
    before) and warns, naming it, that it was taken off the list and what to do; never a name."""
    sup = laptops.cli("sup")
    amina = laptops.laptop("amina")
    kept, moved = planned_case(amina, "Zqxcanary One"), planned_case(amina, "Zqxcanary Two")
    laptops.sync("amina")
    laptops.sync("sup")
    conf = new_conference(sup)
    for case_id in (kept, moved):
        _ok(sup("conference", "add-case", conf, case_id, "--reason", "especially_difficult"))
    held = laptops.cli("sup", CPCM_NOW=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        _ok(held("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                 "--contact", "0700 000000", "--confidentiality-signed", "yes"))
    laptops.sync("sup")
    laptops.sync("amina")
    _ok(laptops.cli("amina", CPCM_NOW=CLOSE_NOW)("conference", "add-case", conf, moved, "--remove", "--reason",
                                                 "the concern was resolved before the meeting"))
    _ok(held("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes_doc([kept, moved]))))
    merge_both(laptops)
    closed = held("conference", "close", conf)
    assert closed.code == 0, closed.stderr
    said = [line for line in closed.stderr.splitlines() if line.startswith(f"warning: {moved}:")]
    assert len(said) == 1, closed.stderr
    assert f"taken off the list of {conf} (by amina on 2026-11-30" in said[0] and "closing left it out" in said[0]
    assert f"cpcm plan {moved} --from-current --reason conference_decision" in said[0]
    assert "Zqxcanary" not in closed.stdout + closed.stderr
    shown = held("conference", "show", conf, "--json").json()
    assert shown["status"] == "closed" and [c["case_id"] for c in shown["cases"]] == [kept]
