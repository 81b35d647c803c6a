"""The due table keeps a case's own ID in the texts of its deadlines as a mark (service/tables.py `CASE_MARK`): the
rules name the case in what to run ("cpcm followup CP-… ... --done A1"), and a text kept with the ID in it was one
text a case (at 100,000 cases with plans, about 100 MB of the table, held whole by a cold fill). `due` and the due view
put the case's ID back (`tables.with_case`): what a worker reads is as the rules wrote it."""
from __future__ import annotations

from conftest import library_session
from test_conference import planned_case

from cpcm.service import tables


def test_the_due_table_keeps_one_text_for_the_cases_an_item_names_and_due_names_each_case(cli, cli_as):
    ids = [planned_case(cli, name) for name in ("Achieng Test", "Wanjiru Test", "Njeri Test")]
    for case_id in ids:  # the plan in force: its actions are due
        assert cli_as("sup")("approve", case_id, "plan").code == 0
    listed = cli("due", "--within", "400", "--json")
    assert listed.code == 0, listed.stderr
    actions = [item for item in listed.json() if item["code"] == "plan-action"]
    for case_id in ids:  # each case's own item, naming it as the rule wrote it
        mine = [item for item in actions if item["case_id"] == case_id]
        assert mine and all(f"cpcm followup {case_id} " in item["why"] for item in mine), mine
    assert not any(tables.CASE_MARK in str(item) for item in listed.json())
    plain = cli("due", "--within", "400")
    assert plain.code == 0 and all(f"cpcm followup {case_id} " in plain.stdout for case_id in ids)
    assert tables.CASE_MARK not in plain.stdout
    ctx = library_session(cli)
    table = tables._session(ctx).table(ctx, "due").load()
    texts = [value for key, value in table.entries.items() if key.startswith(tables.TEXT) and value[0] == "plan-action"]
    assert texts and all(tables.CASE_MARK in text[4] and not any(case_id in text[4] for case_id in ids) for text in texts)
    assert len(texts) < len(actions)  # one text for the three cases' actions, not one a case


def test_the_due_view_keeps_a_reason_that_names_its_case_once_for_every_case(cli, cli_as, monkeypatch):
    from cpcm.service import dueview

    ids = [planned_case(cli, name) for name in ("Achieng Test", "Wanjiru Test")]
    for case_id in ids:
        assert cli_as("sup")("approve", case_id, "plan").code == 0
    first = cli("due", "--within", "400")
    assert first.code == 0, first.stderr
    bodies = []
    real = dueview.ViewBody.__init__
    monkeypatch.setattr(dueview.ViewBody, "__init__", lambda self, small, *a, **k: bodies.append(small) or real(self, small, *a, **k))
    again = cli("due", "--within", "400")  # from the view kept
    assert (again.code, again.stdout) == (0, first.stdout) and bodies
    whys = [why for why in bodies[-1]["whys"] if "--done" in why]
    assert whys and all(tables.CASE_MARK in why and not any(case_id in why for case_id in ids) for why in whys)
    assert len(whys) < sum(again.stdout.count(f"cpcm followup {case_id} ") for case_id in ids)


def test_a_text_without_the_case_is_kept_as_it_is_and_another_cases_id_is_not_marked():
    assert tables.marked("review the case", "CP-AAAA-0001") == "review the case"
    assert tables.marked("cpcm show CP-BBBB-0002", "CP-AAAA-0001") == "cpcm show CP-BBBB-0002"
    text = tables.marked("merged into CP-BBBB-0002: cpcm followup CP-AAAA-0001 ...", "CP-AAAA-0001")
    static = ["plan-action", "title", "amina", "plan_action", text, "source", "high", None, []]
    assert tables.holds_case(static)
    assert tables.with_case(static, "CP-AAAA-0001")[4] == "merged into CP-BBBB-0002: cpcm followup CP-AAAA-0001 ..."
    plain = ["review", "title", "amina", "review", "no case here", "source", "high", None, []]
    assert not tables.holds_case(plain) and tables.with_case(plain, "CP-AAAA-0001") is plain
