"""The agenda's debrief (SOP Form 4 item 3, Form 3 item 9): the next conference of the same kind
lists the previous conference's action points by case ID, with whether each was carried into
its case's plan and its status there now, in Markdown and HTML, English and Kiswahili, and in
`conference show --json`; a case the reader cannot read is listed by its ID, its status not
read; a conference with no previous one says so. Through the CLI, git and age; and the one
rule of an action's status (`plan_actions.conference_action`) at its boundaries, pure."""
from __future__ import annotations

import html
import json
import re
from datetime import datetime

from conftest import CANARY, git
from cpcm.domain.policy import Policy
from cpcm.workflow import plan_actions
from test_conference import MEMBERS, planned_case

FIRST = "2026-11-30"                     # the first conference (internal)
CLOSE_NOW = "2026-11-30T13:00:00+03:00"  # closed on its day
SECOND = "2026-12-30"                    # the next one (internal)
AGENDA_NOW = "2026-12-20T10:00:00+03:00"  # its agenda, rendered ten days before
VISIT = ("--method", "home_visit", "--purpose", "monitoring", "--purpose-detail", "check the actions", "--visited-by",
         "professional", "--risk-increased", "no", "--no-input")
ACTIONS = {  # one action a case; the second is past its date by the time of the next agenda
    0: {"need": "education", "action": "Enrol in the ward school", "responsible": "amina", "timeline": "2026-12-15"},
    1: {"need": "food", "action": "Refer the household for food support", "responsible": "Ward social protection office",
        "timeline": "2026-12-10"},
    2: {"need": "documents", "action": "Apply for the birth certificate", "responsible": "otieno", "timeline": "2027-01-20"},
}


def _conference(sup, when: str, kind: str = "internal") -> str:
    made = sup("conference", "new", "--kind", kind, "--date", when, "--venue", "Meeting room", "--json")
    assert made.code == 0, made.stderr
    return made.json()["conference_id"]


def _close(closer, conf: str, case_ids: list[str]) -> None:
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", conf, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    minutes = {"minute_taker": "Case manager", "reminder_given": True,
               "cases": [{"case": case_id, "summary": f"Case {n}, by its ID only", "discussion": "Progress discussed.",
                          "decisions": ["continue"], "actions": [ACTIONS[n]]} for n, case_id in enumerate(case_ids)]}
    recorded = closer("conference", "minutes", conf, "--from-file", "-", input=json.dumps(minutes))
    assert recorded.code == 0, recorded.stderr
    closed = closer("conference", "close", conf)
    assert closed.code == 0, closed.stderr


def _action_id(cli, case_id: str, what: str) -> str:
    shown = cli("show", case_id, "--json").json()
    return next(a["item"] for a in shown["open_actions"] if a["what"] == what)


def _setting(cli_as):
    """Three cases at the first conference, closed: the first two cases' plans then carry its
    actions (their workers write the next version from the conference's, a supervisor approves
    it), the third's version waits for approval; the first case's action is followed up as
    done. Returns (cases, first conference, second conference)."""
    amina, otieno, sup = cli_as("amina"), cli_as("otieno"), cli_as("sup")
    cases = [planned_case(amina, CANARY), planned_case(amina, "Second Child"), planned_case(otieno, "Third Child")]
    first = _conference(sup, FIRST)
    for case_id in cases:
        assert sup("conference", "add-case", first, case_id, "--reason", "especially_difficult").code == 0
    _close(cli_as("sup", CPCM_NOW=CLOSE_NOW), first, cases)
    after = cli_as("amina", CPCM_NOW="2026-12-01T09:00:00+03:00")
    approver = cli_as("sup", CPCM_NOW="2026-12-01T10:00:00+03:00")
    for case_id in cases[:2]:  # the conference's version (by the closer) is approved through the worker's next version
        written = after("plan", case_id, "--from-current", "--reason", "conference_decision")
        assert written.code == 0, written.stderr
        approved = approver("approve", case_id, "plan", "--note", "the conference's actions")
        assert approved.code == 0, approved.stderr
    done = _action_id(after, cases[0], ACTIONS[0]["action"])
    followed = cli_as("amina", CPCM_NOW="2026-12-05T09:00:00+03:00")("followup", cases[0], *VISIT, "--done", done)
    assert followed.code == 0, followed.stderr
    second = _conference(sup, SECOND)
    for case_id in cases:
        assert sup("conference", "add-case", second, case_id, "--reason", "especially_difficult").code == 0
    return cases, first, second


def _rows(text: str, case_ids: list[str]) -> dict[str, list[str]]:
    """The debrief table's row of each case (Markdown or HTML), its cells."""
    out = {}
    for line in text.splitlines():
        for case_id in case_ids:
            if re.match(rf"^(\| |<tr><td>){case_id}( \||</td>)", line) and ("Enrol" in line or "Refer" in line or "Apply" in line):
                out[case_id] = [html.unescape(c.strip()) for c in re.split(r"\||</td><td>|<tr><td>|</td></tr>", line) if c.strip()]
    return out


def test_cli__the_next_agenda_debriefs_the_previous_conferences_actions_with_their_status_now(cli_as, repo):
    cases, first, second = _setting(cli_as)
    chair = cli_as("sup", CPCM_NOW=AGENDA_NOW)
    expected = (("done", "yes"), ("overdue: its date has passed", "yes"),
                ("not carried into the plan", "waiting for a supervisor's approval"))
    for lang in ("en", "sw"):
        for fmt in ("md", "html"):
            agenda = chair("render", "agenda", second, "--lang", lang, "--format", fmt)
            assert agenda.code == 0, agenda.stderr
            assert first in agenda.stdout, (lang, fmt)
            rows = _rows(agenda.stdout, cases)
            assert set(rows) == set(cases), (lang, fmt, agenda.stdout)
            if lang == "en":
                for case_id, (status, carried) in zip(cases, expected):
                    assert rows[case_id][-1] == status and rows[case_id][-2] == carried, (fmt, rows[case_id])
                assert rows[cases[1]][1] == "Refer the household for food support"
                assert rows[cases[1]][2] == "Ward social protection office"
            else:  # the words of the catalog, not the English
                assert rows[cases[0]][-1] == "imekamilika" and rows[cases[0]][-2] == "ndiyo", rows[cases[0]]
                assert "overdue" not in agenda.stdout and "not carried" not in agenda.stdout
            assert "Zqxcanary" not in agenda.stdout and "Second Child" not in agenda.stdout
    shown = chair("conference", "show", second, "--json").json()["debrief"]
    assert shown["conference"]["id"] == first and shown["not_read"] == 0
    assert [(a["case_id"], a["carried"], a["status"]) for a in shown["actions"]] == [
        (cases[0], "yes", "done"), (cases[1], "yes", "overdue"), (cases[2], "waiting", "not_carried")]
    assert shown["actions"][1]["due"] == "2026-12-10" and shown["actions"][1]["responsible"] == "Ward social protection office"
    assert all(re.fullmatch(r"A\d+", a["action_id"]) for a in shown["actions"])
    # nothing of the children in plaintext: the rendered agenda leaves a record, encrypted
    for path in (repo / "conferences" / second).iterdir():
        assert b"Zqxcanary" not in path.read_bytes()
    assert "Zqxcanary" not in git(repo, "log", "--format=%B")


def test_cli__an_action_not_yet_done_before_its_date_is_not_started_and_after_it_overdue(cli_as, repo):
    cases, _first, second = _setting(cli_as)
    early = cli_as("sup", CPCM_NOW="2026-12-08T10:00:00+03:00")("conference", "show", second, "--json").json()["debrief"]
    assert [a["status"] for a in early["actions"]] == ["done", "not_started", "not_carried"]
    late = cli_as("sup", CPCM_NOW="2026-12-11T10:00:00+03:00")("conference", "show", second, "--json").json()["debrief"]
    assert [a["status"] for a in late["actions"]] == ["done", "overdue", "not_carried"]


def test_cli__a_case_the_reader_cannot_read_is_listed_by_its_id_with_its_status_not_read(cli_as, repo):
    cases, first, second = _setting(cli_as)
    otieno = cli_as("otieno", CPCM_NOW=AGENDA_NOW)  # reads both conferences (the third case is his), not amina's cases
    agenda = otieno("render", "agenda", second)
    assert agenda.code == 0, agenda.stderr
    rows = _rows(agenda.stdout, cases)
    assert [rows[c][-1] for c in cases] == ["status not readable by you", "status not readable by you", "not carried into the plan"]
    assert "Zqxcanary" not in agenda.stdout + agenda.stderr
    shown = otieno("conference", "show", second, "--json").json()["debrief"]
    assert [(a["status"], a["carried"]) for a in shown["actions"]] == [
        ("not_readable", None), ("not_readable", None), ("not_carried", "waiting")]
    assert shown["actions"][0]["action"] == ACTIONS[0]["action"] and shown["actions"][0]["case_id"] == cases[0]


def test_cli__a_conference_with_no_previous_one_of_its_kind_says_so(cli_as, repo):
    amina, sup = cli_as("amina"), cli_as("sup")
    case_id = planned_case(amina, CANARY)
    first = _conference(sup, FIRST)
    assert sup("conference", "add-case", first, case_id, "--reason", "especially_difficult").code == 0
    _close(cli_as("sup", CPCM_NOW=CLOSE_NOW), first, [case_id])
    external = _conference(sup, SECOND, kind="external")  # the internal one is not its previous conference
    later = cli_as("sup", CPCM_NOW=AGENDA_NOW)
    for conf in (first, external):
        for lang, words in (("en", "No previous conference of this kind was closed before this one"),
                            ("sw", "Hakuna mkutano uliotangulia wa aina hii")):
            agenda = later("render", "agenda", conf, "--lang", lang)
            assert agenda.code == 0, agenda.stderr
            assert words in agenda.stdout, (conf, lang, agenda.stdout)
            assert ACTIONS[0]["action"] not in agenda.stdout
        assert later("conference", "show", conf, "--json").json()["debrief"] == {"conference": None, "actions": [], "not_read": 0}


def test_cli__a_previous_action_naming_a_child_of_this_conference_refuses_the_agenda_without_echoing_it(cli_as, repo):
    """The previous minutes were checked against their own conference's cases: an action that
    names the child of a case discussed only at the next conference is caught by its agenda."""
    amina, sup = cli_as("amina"), cli_as("sup")
    first_case, named = planned_case(amina, "Second Child"), planned_case(amina, CANARY)
    first = _conference(sup, FIRST)
    assert sup("conference", "add-case", first, first_case, "--reason", "especially_difficult").code == 0
    closer = cli_as("sup", CPCM_NOW=CLOSE_NOW)
    for institution, name, position in MEMBERS:
        assert closer("conference", "attend", first, "--institution", institution, "--name", name, "--position", position,
                      "--contact", "0700 000000", "--confidentiality-signed", "yes").code == 0
    naming = dict(ACTIONS[0], action=f"Ask the school about {CANARY}")  # the name of a case not at this conference
    minutes = {"minute_taker": "Case manager", "reminder_given": True,
               "cases": [{"case": first_case, "discussion": "Progress discussed.", "actions": [naming]}]}
    assert closer("conference", "minutes", first, "--from-file", "-", input=json.dumps(minutes)).code == 0
    assert closer("conference", "close", first).code == 0
    second = _conference(sup, SECOND)
    assert sup("conference", "add-case", second, named, "--reason", "especially_difficult").code == 0
    refused = cli_as("sup", CPCM_NOW=AGENDA_NOW)("render", "agenda", second)
    assert refused.code == 4, refused.stderr
    assert f"debrief of {first_case} (action 1).action (a name registered for {named})" in refused.stderr, refused.stderr
    assert f"cpcm conference update {first} --minutes FILE --reason TEXT" in refused.stderr
    assert "Zqxcanary" not in refused.stdout + refused.stderr


# -- the one rule of an action's status, pure -------------------------------------------------------------
def _plan(status: dict | None = None, approved: bool = True, waiting: list | None = None) -> dict:
    """A case plan summary as the fold keeps it: version P1 (the conference's, its last action A3
    the conference's), in force; or, with `waiting`, a later version P2 waiting over it."""
    p1 = {"record_id": "P1", "approved_at": "2026-12-01T07:00:00+00:00" if approved else None, "rejected_at": None,
          "withdrawn_at": None, "actions": [{"id": "A1", "by": "2026-12-20"}, {"id": "A3", "by": "2026-12-10"}]}
    plan = dict(p1, versions={"P1": ["A1", "A3"]}, known={"A": {plan_actions.key("Refer"): "A3"}}, status=status or {})
    if waiting is not None:
        plan = dict(plan, record_id="P2", approved_at=None, previous=dict(p1), actions=waiting,
                    versions={"P1": ["A1", "A3"], "P2": [a["id"] for a in waiting]})
    return plan


NOW = datetime.fromisoformat("2026-12-11T10:00:00+03:00")
APPROVAL = Policy("p", "P", {"plan_approval": {"required": True}})


def test_conference_action__status_from_the_plans_tracking_and_its_date():
    policy = APPROVAL
    status = lambda plan: plan_actions.conference_action(plan, "P1", 1, 0, "Refer", policy, NOW)  # noqa: E731
    assert status(_plan())["status"] == "overdue" and status(_plan())["action_id"] == "A3"
    assert plan_actions.conference_action(_plan(), "P1", 1, 0, "Refer", policy,
                                          datetime.fromisoformat("2026-12-10T23:00:00+03:00"))["status"] == "not_started"
    assert status(_plan({"A3": {"status": "done"}}))["status"] == "done"
    assert status(_plan({"A3": {"status": "dropped"}}))["status"] == "dropped"
    in_time = _plan({"A3": {"status": "in_progress"}})
    in_time["actions"] = [{"id": "A1"}, {"id": "A3", "by": "2027-01-10"}]  # a later version moved its date
    assert status(in_time) == {"action_id": "A3", "carried": "yes", "status": "in_progress", "by": "2027-01-10"}


def test_conference_action__not_carried_while_its_version_waits_or_once_taken_out():
    policy = APPROVAL
    waiting = _plan(approved=False)
    waiting["previous"] = None
    assert plan_actions.conference_action(waiting, "P1", 1, 0, "Refer", policy, NOW)[
        "carried"] == plan_actions.CARRIED_WAITING
    taken_out = _plan(waiting=[{"id": "A1", "by": "2026-12-20"}])  # P2 waits without A3; P1, in force, holds it
    assert plan_actions.conference_action(taken_out, "P1", 1, 0, "Refer", policy, NOW)["carried"] == "yes"
    approved_out = dict(taken_out, approved_at="2026-12-05T07:00:00+00:00")  # P2 approved: A3 is out of the plan
    assert plan_actions.conference_action(approved_out, "P1", 1, 0, "Refer", policy, NOW)["status"] == "not_carried"
    unknown = plan_actions.conference_action(_plan(), "P9", 1, 0, "Refer", policy, NOW)  # a version not named: by its text
    assert unknown["action_id"] == "A3"
    assert plan_actions.conference_action(None, None, 1, 0, "Refer", policy, NOW) == {
        "action_id": None, "carried": "no", "status": "not_carried", "by": None}


def test_conference_action__found_by_its_text_when_the_minutes_were_mended_to_fewer_actions():
    """The conference closed with two actions for the case (A1 and A3 of version P1); the minutes were
    mended since to hold only the first: it is still A1 (by its text), not A3 (the last place)."""
    plan = _plan({"A1": {"status": "done"}})
    plan["known"] = {"A": {plan_actions.key("Enrol"): "A1", plan_actions.key("Refer"): "A3"}}
    found = plan_actions.conference_action(plan, "P1", 1, 0, "Enrol", APPROVAL, NOW)
    assert (found["action_id"], found["status"]) == ("A1", "done")
    reworded = plan_actions.conference_action(plan, "P1", 2, 1, "Refer her to the clinic", APPROVAL, NOW)
    assert reworded["action_id"] == "A3"  # its text changed: by its place among the two the close appended


def test_previous_conference__the_latest_closed_one_of_the_same_kind_met_before_this_one():
    from cpcm.workflow.conferences import Conference, previous_conference

    def conf(id_: str, day: str, kind: str = "internal", closed: bool = True) -> Conference:
        return Conference(id=id_, kind=kind, date=day, closed_at=f"{day}T12:00:00+00:00" if closed else None)

    this = conf("CC-THIS", "2026-12-30", closed=False)
    others = [conf("CC-OLD", "2026-10-30"), conf("CC-LAST", "2026-11-30"), conf("CC-OPEN", "2026-12-15", closed=False),
              conf("CC-EXT", "2026-12-20", kind="external"), conf("CC-LATER", "2027-01-30")]
    assert previous_conference(this, [this, *others], APPROVAL).id == "CC-LAST"
    assert previous_conference(conf("CC-X", "2026-12-21", kind="external", closed=False), others, APPROVAL).id == "CC-EXT"
    assert previous_conference(conf("CC-FIRST", "2026-10-01"), others, APPROVAL) is None
    same_day = conf("CC-NOON", "2026-11-30T14:00")  # a time given: one earlier the same day is before it
    assert previous_conference(same_day, others, APPROVAL).id == "CC-LAST"
