"""A caseworker nominates their own case to a conference they do not read (SOP Form 3 items 1-2,
§5.4: caseworkers nominate, the lead social worker picks the final set): the nomination waits,
encrypted to the conference's readers, and the chair or a supervisor takes it in with `add-case`,
which makes the caseworker a reader. A case that is not theirs is refused; nothing they could not
read before becomes readable to them by nominating."""
from __future__ import annotations

import pytest

from conftest import CANARY, commit_count, git, make_identity, signing_line
from cpcm import service
from cpcm.errors import CannotDecrypt, InvalidInput, Refused
from cpcm.service import conferences
from cpcm.store.casestore import CONFERENCES
from cpcm.workflow.deadlines import soon_window
from memory_repo import MemoryRepo
from test_conference import (CLOSE_NOW, MEMBERS, closed_through_cli, conference_in, in_one_commit, last_message, member,
                             minutes_doc, new_conference, one_commit, planned_case, planned_in)


def nomination_items(ctx) -> list[dict]:
    soon = soon_window(ctx.policy, ctx.now)
    return [i.to_json(ctx.now, soon) for i in service.due(ctx, within_days=120) if i.code == "conference-nomination"]


def test_add_case__a_caseworker_nominates_their_own_case_and_the_supervisor_takes_it_in():
    mem = MemoryRepo(profile="kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = planned_in(mem)
    conf = conference_in(sup)
    readers = mem.store.recipients(conf, CONFERENCES)
    assert "amina" not in readers
    added = in_one_commit(mem, lambda: conferences.add_case(amina, conf, case_id, "especially_difficult",
                                                            "Service options tried; school absence continues."))
    assert added.extra["proposed"] and last_message(mem) == f"conference add-case {conf} {case_id}"
    # nothing re-encrypted, no reader gained: the nomination is encrypted to the conference's readers as they stand
    assert mem.store.recipients(conf, CONFERENCES) == readers
    with pytest.raises(CannotDecrypt):
        conferences.load(amina, conf)
    waiting = conferences.load(sup, conf)
    assert waiting.case_ids == [] and [(p["case_id"], p["by"], p["reason"]) for p in waiting.proposals] == \
        [(case_id, "amina", "especially_difficult")]
    # on the chair's due list, a week before the meeting (the conference plan lists the final set)
    items = nomination_items(sup)
    assert [(i["case_id"], i["owner"]) for i in items] == [(conf, "sup")] and case_id in items[0]["why"]
    assert not nomination_items(amina)
    # nominated once
    with pytest.raises(Refused) as again:
        conferences.add_case(amina, conf, case_id, "especially_difficult")
    assert again.value.rule == "conference-case-nominated"
    # the supervisor takes it into the final set: its reason and presentation, the caseworker a reader, in one commit
    taken = in_one_commit(mem, lambda: conferences.add_case(sup, conf, case_id, None))
    assert not taken.extra["proposed"] and taken.extra["proposal"] == added.record_id
    assert "amina" in mem.store.recipients(conf, CONFERENCES)
    mine = conferences.load(amina, conf)
    assert mine.case_ids == [case_id] and not mine.proposals
    assert mine.cases[0]["reason"] == "especially_difficult" and mine.cases[0]["presentation"].startswith("Service options")
    assert not nomination_items(sup)
    # and the conference runs as before
    closer = mem.as_("sup", now=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    conferences.minutes(closer, conf, minutes_doc([case_id]))
    closed = conferences.close(closer, conf)
    assert [c["case_id"] for c in closed.extra["cases"]] == [case_id]


def test_add_case__a_caseworker_cannot_nominate_a_case_not_theirs_nor_read_the_conference_by_it():
    mem = MemoryRepo(profile="kenya")
    otieno, sup = mem.as_("otieno"), mem.as_("sup")
    theirs = planned_in(mem)  # amina's
    conf = conference_in(sup)
    before = mem.commits()
    with pytest.raises(CannotDecrypt) as refused:  # exit 5: not a recipient of the case
        conferences.add_case(otieno, conf, theirs, "especially_difficult")
    assert theirs in str(refused.value) and mem.commits() == before
    # a caseworker who reads the conference (a case of theirs is in it) does not read another's nomination's case either
    own = planned_in(mem, "Other Child", worker="otieno")
    conferences.add_case(sup, conf, own, "especially_difficult")
    before = mem.commits()
    with pytest.raises(CannotDecrypt):
        conferences.add_case(otieno, conf, theirs, "especially_difficult")
    assert mem.commits() == before


def test_add_case__a_caseworkers_nomination_of_a_closed_conference_or_without_a_reason_is_refused():
    mem = MemoryRepo(profile="kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = planned_in(mem)
    conf = conference_in(sup)
    with pytest.raises(InvalidInput) as bad:
        conferences.add_case(amina, conf, case_id, None)
    assert [e.field for e in bad.value.errors] == ["reason"]
    closer = mem.as_("sup", now=CLOSE_NOW)
    other = planned_in(mem, "Third Child", worker="otieno")
    conferences.add_case(sup, conf, other, "especially_difficult")
    for institution, name, position in MEMBERS:
        conferences.attend(closer, conf, member(institution, name, position))
    conferences.minutes(closer, conf, minutes_doc([other]))
    assert conferences.unreadable_conferences(amina) == [{"conference_id": conf, "closed": False}]
    conferences.close(closer, conf)
    # the caseworker's list shows it closed, from its record files' names
    assert conferences.unreadable_conferences(amina) == [{"conference_id": conf, "closed": True}]
    with pytest.raises(Refused) as closed:
        conferences.add_case(mem.as_("amina", now=CLOSE_NOW), conf, case_id, "especially_difficult")
    assert closed.value.rule == "conference-closed"


def test_cli__kenya_a_caseworker_nominates_the_supervisor_prioritises_and_verify_stays_clean(kenya, tmp_env):
    amina, sup = kenya("amina"), kenya("sup")
    repo = kenya.root
    case_id = planned_case(amina, CANARY)
    conf = new_conference(sup)
    nominated = one_commit(repo, lambda: amina("conference", "add-case", conf, case_id, "--reason", "especially_difficult",
                                               "--presentation", "Service options tried.", "--json"))
    assert nominated.json()["conference_id"] == conf
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference add-case {conf} {case_id}"
    assert "amina" not in (repo / "conferences" / conf / "recipients").read_text()
    listed = sup("conference", "list", "--json").json()
    assert [(c["conference_id"], c["cases"], c["nominated"]) for c in listed] == [(conf, 0, 1)]
    assert f"{case_id} (especially_difficult, by amina)" in sup("conference", "show", conf).stdout
    due = sup("due", "--within", "60", "--json")
    assert due.code == 0 and [i["case_id"] for i in due.json() if i["code"] == "conference-nomination"] == [conf], due.stdout
    assert amina("conference", "show", conf).code == 5  # not a reader yet
    # another caseworker, without the case: exit 5, naming the case, nothing written
    key = tmp_env / "keys" / "wanjiru.txt"
    assert sup("team", "add", "wanjiru", "--role", "caseworker", "--recipient", make_identity(key),
               "--signing-key", signing_line(key)).code == 0
    wanjiru = type(amina)({**amina.env, "CPCM_IDENTITY": str(key)})
    before = commit_count(repo)
    refused = wanjiru("conference", "add-case", conf, case_id, "--reason", "especially_difficult")
    assert refused.code == 5 and case_id in refused.stderr and "not a recipient" in refused.stderr, refused.stderr
    assert commit_count(repo) == before
    # the supervisor takes it in (Form 3 item 2): the caseworker reads the conference from then on
    one_commit(repo, lambda: sup("conference", "add-case", conf, case_id))
    assert "amina" in (repo / "conferences" / conf / "recipients").read_text()
    shown = amina("conference", "show", conf, "--json").json()
    assert [c["case_id"] for c in shown["cases"]] == [case_id] and shown["proposals"] == []
    closer = kenya("sup", CLOSE_NOW)
    closed_through_cli(closer, conf, [case_id])
    assert closer("render", "conference-report", conf).code == 0
    verified = sup("verify")
    assert verified.code == 0, verified.stdout + verified.stderr


def test_cli__kenya_a_caseworker_lists_a_conference_they_cannot_read_and_nominates_through_the_id_shown(kenya):
    """`conference list` shows a caseworker the conferences they cannot read with only what the folder shows without a
    key (the ID, whether it is closed) and how to nominate; the kind, date, chair and venue are encrypted."""
    amina, sup = kenya("amina"), kenya("sup")
    case_id = planned_case(amina, CANARY)
    planned = sup("conference", "new", "--kind", "external", "--date", "2026-11-30T10:30", "--venue", "Hall Zeta",
                  "--notice-sent", "2026-11-23", "--invitations-sent", "2026-11-23", "--json")
    assert planned.code == 0, planned.stderr
    conf = planned.json()["conference_id"]
    listed = amina("conference", "list", "--json")
    assert listed.code == 0, listed.stderr
    nominate = f"cpcm conference add-case {conf} CASE --reason REASON"
    assert listed.json() == [{"conference_id": conf, "kind": None, "date": None, "chair": None, "status": None,
                              "cases": None, "nominated": None, "participants": None, "readable": False, "closed": False,
                              "nominate": nominate}]
    text = amina("conference", "list")
    assert text.code == 0 and f"{conf}\t\t\t\t\t\t\t\tno\t{nominate}\n" in text.stdout, text.stdout
    for hidden in ("external", "2026-11-30", "10:30", "Hall Zeta", "\tsup", '"sup"', CANARY):  # nothing encrypted shown
        assert hidden not in listed.stdout + text.stdout + listed.stderr + text.stderr, hidden
    # the caseworker nominates a case of theirs through the ID and the command shown
    row = listed.json()[0]
    command = row["nominate"].split()[1:]
    assert command[:3] == ["conference", "add-case", conf]
    one_commit(kenya.root, lambda: amina(*command[:3], case_id, "--reason", "especially_difficult"))
    assert [(r["conference_id"], r["readable"]) for r in amina("conference", "list", "--json").json()] == [(conf, False)]
    mine = sup("conference", "list", "--json").json()  # the supervisor reads it: its rows as before, with the new keys
    assert [(r["conference_id"], r["kind"], r["chair"], r["status"], r["nominated"], r["readable"], r["closed"])
            for r in mine] == [(conf, "external", "sup", "planned", 1, True, False)]
    # taken in, the caseworker reads it
    one_commit(kenya.root, lambda: sup("conference", "add-case", conf, case_id))
    now = amina("conference", "list", "--json").json()
    assert [(r["conference_id"], r["kind"], r["cases"], r["readable"]) for r in now] == [(conf, "external", 1, True)]


def test_add_case__names_in_a_caseworkers_presentation_are_refused_theirs_at_once_the_others_when_taken_in():
    mem = MemoryRepo(profile="kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = planned_in(mem, "Zawadi Testchild")
    other = planned_in(mem, "Baraka Othername", worker="otieno")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, other, "especially_difficult")
    before = mem.commits()
    with pytest.raises(Refused) as own:  # the case's own child: refused when nominating, naming the field, not the name
        conferences.add_case(amina, conf, case_id, "especially_difficult", "Zawadi Testchild misses school.")
    assert own.value.rule == "conference-no-names" and "Zawadi" not in str(own.value) and mem.commits() == before
    # another case's child, which the caseworker cannot read: found when the supervisor takes the case in
    conferences.add_case(amina, conf, case_id, "especially_difficult", "Stays with Baraka Othername after school.")
    with pytest.raises(Refused) as others:
        conferences.add_case(sup, conf, case_id, None)
    assert others.value.rule == "conference-no-names" and "Baraka" not in str(others.value)
    assert conferences.load(sup, conf).case_ids == [other]
    taken = conferences.add_case(sup, conf, case_id, None, "Stays with a relative after school.")
    assert conferences.load(amina, conf).cases[1]["presentation"] == "Stays with a relative after school."
    assert taken.extra["proposal"]


LIST_COLUMNS = ["conference", "kind", "date", "chair", "status", "cases", "nominated", "present", "readable",
                "to nominate a case of yours"]


@pytest.mark.parametrize("closed", [False, True])
def test_cli__conference_list_piped_is_one_table_with_a_readable_column(kenya, monkeypatch, closed):
    """Piped, `conference list` is one table, a line a conference: those the worker reads (`readable` yes), then those
    they do not (`no`: the ID, closed or not, how to nominate), never a second table after a blank line. On a terminal
    the conferences not read are a table of their own; --json is as it was."""
    from cpcm.cli import common

    amina, sup = kenya("amina"), kenya("sup")
    case_id = planned_case(amina, CANARY)
    theirs = new_conference(sup)  # amina reads it once her case is in it
    one_commit(kenya.root, lambda: sup("conference", "add-case", theirs, case_id, "--reason", "especially_difficult"))
    other = new_conference(sup, "--venue", "Hall Zeta")  # amina does not read this one
    if closed:
        own = planned_case(sup, CANARY)  # a case of the supervisor's: amina does not read the conference
        one_commit(kenya.root, lambda: sup("conference", "add-case", other, own, "--reason", "especially_difficult"))
        closed_through_cli(kenya("sup", CLOSE_NOW), other, [own])
    listed = amina("conference", "list")
    assert listed.code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "" not in lines and [line.split("\t") for line in lines] == [
        LIST_COLUMNS,
        [theirs, "internal", "2026-11-30", "sup", "planned", "1", "0", "0", "yes", ""],
        [other, "", "", "", "closed" if closed else "", "", "", "", "no",
         "" if closed else f"cpcm conference add-case {other} CASE --reason REASON"]], listed.stdout
    assert [(r["conference_id"], r["readable"], r["closed"]) for r in amina("conference", "list", "--json").json()] == \
        [(theirs, True, False), (other, False, closed)]
    # the supervisor reads both: one table, each readable
    mine = sup("conference", "list").stdout.splitlines()
    assert mine[0].split("\t") == LIST_COLUMNS and [line.split("\t")[8] for line in mine[1:]] == ["yes", "yes"], mine
    # on a terminal: the two tables as before, drawn
    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "200")
    drawn = amina("conference", "list")
    assert drawn.code == 0 and "1 conference(s) you cannot read" in drawn.stdout, drawn.stdout
    assert ("closed" if closed else "not readable") in drawn.stdout and "readable" not in drawn.stdout.split("you cannot read")[0]
    for hidden in ("Hall Zeta", CANARY):
        assert hidden not in listed.stdout + drawn.stdout
