"""Conferences as the Kenyan case-conferencing SOP runs them: the cadence on `due` (internal
monthly, the ACC quarterly), a child admitted to a CCI due for a conference after the
reassessment, minutes and closing refused before the meeting, one nomination per case, the Form 3
updates and a reschedule as records, the report clock from the meeting time, an interim plan from
the actions of a case without a plan, and the standing Form 5 register (sign once, barred members
refused, the printable form)."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from pyrage import x25519

from conftest import CANARY, NOW, Cli, commit_count, git, last_commit, make_repo, register, signed_commit, signing_line
from cpcm import service
from cpcm.crypto.identity import Identity
from cpcm.domain.records import Record
from cpcm.domain.team import Team, Worker
from cpcm.errors import InvalidInput, Refused
from cpcm.service import conferences
from cpcm.store import codec, policies
from cpcm.store.casestore import CONFERENCES
from cpcm.workflow import conferences as rules
from cpcm.workflow.deadlines import soon_window
from memory_repo import MemoryRepo
from test_assess_plan import COMPREHENSIVE, INITIAL_DATA, fields
from test_followup_close import VISIT
from test_conference import (CLOSE_NOW, conference_in, in_one_commit, last_message, minutes_doc, new_conference, one_commit,
                             planned_in)

KENYA, INTER = policies.load("kenya"), policies.load("inter-agency")


def conference(conf_id: str, kind: str, day: str, closed: bool = False, chair: str = "sup", cases=()) -> rules.Conference:
    records = [Record("conference", 1, "01JD0000000000000000000001", conf_id, "2026-01-01T09:00:00+03:00",
                      "2026-01-01T09:00:00+03:00", "sup", {"type": kind, "date": day, "chair": chair})]
    for n, case_id in enumerate(cases, start=2):
        records.append(Record("nomination", 1, f"01JD00000000000000000000{n:02d}", conf_id, "2026-01-01T09:00:00+03:00",
                              "2026-01-01T09:00:00+03:00", "sup", {"case_id": case_id, "reason": "especially_difficult"}))
    if closed:
        records.append(Record("conference_close", 1, "01JD0000000000000000000099", conf_id, day[:10] + "T15:00:00+03:00",
                              day[:10] + "T15:00:00+03:00", "sup", {"cases": []}))
    return rules.fold(conf_id, records)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- cadence, pure --------------------------------------------------------------------------------
def test_policy__the_sops_frequencies_with_their_sources():
    for policy in (KENYA, INTER):
        every = rules.cadence(policy)["every"]
        assert {k: v.words() for k, v in every.items()} == {"internal": "1 month", "external": "2 months", "aac": "2 months",
                                                            "acc": "3 months"}
        assert rules.cadence(policy)["at_least"].words() == "1 month"
        source = policy.source(rules.CADENCE)
        assert "§5.3" in source and "§5.4" in source and "§5.5" in source and "App.2" in source and "§3.2" in source
        assert "reintegration_decision" in policy.get(rules.RULE, "reasons") and "acc" in policy.get(rules.RULE, "kinds")
    assert rules.cadence(KENYA)["required"]["internal"] is True and rules.cadence(INTER)["required"]["internal"] is False
    assert "§5.3" in KENYA.source(rules.AFTER_ADMISSION)
    assert KENYA.get(rules.AFTER_ADMISSION, "required") is True and INTER.get(rules.AFTER_ADMISSION, "required") is False


@pytest.mark.parametrize("now,state", [("2026-11-05T08:59:00+03:00", "upcoming"), ("2026-11-05T09:01:00+03:00", "overdue")])
def test_cadence__internal_monthly_from_the_last_meeting(now, state):
    held = conference("CC-0000-0001", "internal", "2026-10-05", closed=True)
    items = [i for i in rules.cadence_due([held], KENYA, at(now)) if "internal" in i.title]
    assert len(items) == 1
    item = items[0]
    assert item.code == "conference-cadence" and item.rule == rules.CADENCE and item.owner == "sup"
    assert item.due == at("2026-11-05T09:00:00+03:00")  # one month after the last meeting (at the policy's start time)
    assert item.state(at(now), at(now) - at(now)) == state
    assert "CC-0000-0001" in item.why and "1 month" in item.why


def test_cadence__the_acc_quarterly_and_a_kind_never_held_only_where_required():
    acc = conference("CC-0000-0002", "acc", "2026-09-01T10:00", closed=True)
    now = at("2026-10-01T12:00:00+03:00")
    items = rules.cadence_due([acc], INTER, now)
    assert [(i.title, i.due.date().isoformat()) for i in items] == [("alternative care committee (ACC) conference to hold", "2026-12-01")]
    # kenya: the internal conference is due from the start, none held yet: its interval after the repository's
    # start, for a supervisor; with no start to count from, listed now and saying there is no deadline
    kenya = {i.title: i for i in rules.cadence_due([acc], KENYA, now, at("2026-09-15T08:30:00+03:00"))}
    assert kenya["internal (staff only) conference to hold"].due == at("2026-10-15T08:30:00+03:00")
    assert kenya["internal (staff only) conference to hold"].owner == "supervisors"
    undated = {i.title: i for i in rules.cadence_due([acc], KENYA, now)}["internal (staff only) conference to hold"]
    assert undated.due == now and "nothing to count the first from" in undated.why and "no deadline" in undated.why
    assert "acc" not in INTER.get(rules.CADENCE, "required") or not INTER.get(rules.CADENCE, "required")["acc"]
    assert rules.cadence_due([], INTER, now) == []  # nothing held, nothing required: nothing due


@pytest.mark.parametrize("now,state", [("2026-11-24T09:00:00+03:00", "upcoming"), ("2026-12-20T09:00:00+03:00", "due_soon"),
                                       ("2026-12-23T09:01:00+03:00", "overdue"), ("2027-02-01T09:00:00+03:00", "overdue")])
def test_cadence__kenya_the_first_internal_conference_is_due_a_month_after_the_start_whatever_the_day(now, state):
    """None held yet: the first internal conference is due one interval (`conference_cadence.every`)
    after the repository's start, the same time every day the list is asked for, and overdue once it
    has passed; never `now` (a deadline that moves with the clock is never missed)."""
    start = at("2026-11-23T09:00:00+03:00")
    (item,) = [i for i in rules.cadence_due([], KENYA, at(now), start) if "internal" in i.title]
    assert item.case_id == "conference" and item.code == "conference-cadence" and item.rule == rules.CADENCE
    assert item.due == rules.cadence(KENYA)["every"]["internal"].after(start) == at("2026-12-23T09:00:00+03:00")
    assert item.state(at(now), soon_window(KENYA, at(now))) == state
    assert "the repository's start on 2026-11-23" in item.why and "1 month" in item.why
    assert item.source == KENYA.source(rules.CADENCE) and "repository's start" in item.source


def test_cadence__kenya_a_first_conference_planned_after_the_first_was_due_is_overdue_since_then():
    start = at("2026-11-23T09:00:00+03:00")
    now = at("2026-12-28T09:00:00+03:00")  # the first was due on 23 Dec
    planned = conference("CC-0000-0003", "internal", "2027-01-05")
    (item,) = [i for i in rules.cadence_due([planned], KENYA, now, start) if "internal" in i.title]
    assert item.case_id == "CC-0000-0003" and item.due == at("2026-12-23T09:00:00+03:00")
    assert item.state(now, now - now) == "overdue" and "overdue since 2026-12-23" in item.why
    assert "bring it forward" not in item.why
    # planned before the first is due: that conference, due at its start
    early = conference("CC-0000-0004", "internal", "2026-12-10")
    (item,) = [i for i in rules.cadence_due([early], KENYA, at("2026-12-01T09:00:00+03:00"), start) if "internal" in i.title]
    assert item.case_id == "CC-0000-0004" and item.due == at("2026-12-10T09:00:00+03:00")


def test_cadence__the_repository_starts_when_its_first_member_joined():
    team = Team((Worker("amina", "Amina", ("caseworker",), "age1x", since="2026-11-24T10:00:00+03:00"),
                 Worker("sup", "Sup", ("supervisor",), "age1y", since="2026-11-23T09:00:00+03:00", removed="2026-11-25T09:00:00+03:00"),
                 Worker("old", "Old", ("caseworker",), "age1z")))
    assert rules.repository_start(team) == at("2026-11-23T09:00:00+03:00")
    assert rules.repository_start(Team((Worker("old", "Old", ("caseworker",), "age1z"),))) is None


def test_cadence__kenya_switched_to_later_counts_the_first_internal_conference_from_the_switch():
    """A repository run a year under another profile, then switched to kenya: the first internal
    conference is due a month after the kenya rules took effect (the config's `policy_since`), not a
    month after the repository's start (overdue at once); a profile in force from before the start
    (or from it: `cpcm init --policy kenya`), or none recorded, counts from the start as before."""
    start, switched = at("2025-11-23T09:00:00+03:00"), at("2026-11-23T09:00:00+03:00")
    now = at("2026-11-24T09:00:00+03:00")
    (item,) = [i for i in rules.cadence_due([], KENYA, now, start, switched) if "internal" in i.title]
    assert item.due == at("2026-12-23T09:00:00+03:00") and item.state(now, soon_window(KENYA, now)) == "upcoming"
    assert "1 month after the kenya rules took effect on 2026-11-23" in item.why and "repository's start" not in item.why
    assert "took effect" in item.source
    for profile_since in (None, start, at("2025-11-01T09:00:00+03:00")):
        (item,) = [i for i in rules.cadence_due([], KENYA, now, start, profile_since) if "internal" in i.title]
        assert item.due == at("2025-12-23T09:00:00+03:00") and item.state(now, soon_window(KENYA, now)) == "overdue"
        assert "the repository's start on 2025-11-23" in item.why, profile_since
    # no member records when they joined: the profile's time is the one to count from
    (item,) = [i for i in rules.cadence_due([], KENYA, now, None, switched) if "internal" in i.title]
    assert item.due == at("2026-12-23T09:00:00+03:00")
    assert rules.profile_start("2026-11-23T09:00:00+03:00") == switched
    assert rules.profile_start("") is None and rules.profile_start("last year") is None


def test_cadence__a_planned_conference_is_the_one_to_hold_unless_it_is_too_late():
    held = conference("CC-0000-0001", "internal", "2026-10-05", closed=True)
    now = at("2026-10-20T09:00:00+03:00")
    soon = conference("CC-0000-0003", "internal", "2026-11-02")
    late = conference("CC-0000-0004", "internal", "2026-11-20")
    (item,) = [i for i in rules.cadence_due([held, soon], KENYA, now) if "internal" in i.title]
    assert item.case_id == "CC-0000-0003" and item.due == at("2026-11-02T09:00:00+03:00")
    (item,) = [i for i in rules.cadence_due([held, late], KENYA, now) if "internal" in i.title]
    assert item.case_id == "conference" and item.due == at("2026-11-05T09:00:00+03:00")
    assert "CC-0000-0004" in item.why and "cpcm conference update" in item.why


def test_cadence__any_kind_at_least_monthly_when_only_two_monthly_kinds_are_held():
    external = conference("CC-0000-0005", "external", "2026-10-01", closed=True)
    items = rules.cadence_due([external], INTER, at("2026-10-10T09:00:00+03:00"))
    assert sorted((i.title, i.due.date().isoformat()) for i in items) == [
        ("a case conference of any kind to hold", "2026-11-01"), ("internal with external partners conference to hold", "2026-12-01")]


def test_due__a_repository_switched_to_kenya_after_a_year_has_its_first_internal_conference_due_a_month_on(tmp_env, team):
    """Started under inter-agency a year ago (CPCM_NOW a year back), switched to kenya now by a
    supervisor: `due` lists the first internal conference a month after the switch, not overdue
    since a year ago; `check` names no conference problem; the time is in .cpcm/config.yaml."""
    year_ago = "2025-11-23T09:00:00+03:00"
    root = make_repo(tmp_env / "casefiles", team, now=year_ago)
    sup = Cli({"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0]), "CPCM_NOW": NOW})
    assert "policy_since: '2025-11-23T09:00:00+03:00'" in (root / ".cpcm" / "config.yaml").read_text()  # set by init
    switched = sup("config", "set", "policy", "kenya", "--json")
    assert switched.code == 0, switched.stderr
    assert last_commit(root)["subject"] == "config set policy"
    config = (root / ".cpcm" / "config.yaml").read_text()
    assert "policy: kenya" in config and f"policy_since: '{NOW}'" in config
    listed = sup("due", "--json", "--within", "60")
    assert listed.code == 0, listed.stderr
    (item,) = [i for i in listed.json() if i["code"] == "conference-cadence" and "internal" in i["title"]]
    assert (item["due"], item["state"]) == ("2026-12-23T09:00+03:00", "upcoming")
    assert "1 month after the kenya rules took effect on 2026-11-23" in item["why"]
    assert not [i for i in sup("due", "--json", "--overdue").json() if i["code"].startswith("conference")]
    checked = sup("check", "--json")
    assert checked.code == 0, checked.stderr
    assert not [p for p in checked.json() if "conference" in json.dumps(p)]
    # the same profile set again is no change: the rules took effect when they did
    again = sup("config", "set", "policy", "kenya", env={"CPCM_NOW": "2026-12-01T09:00:00+03:00"})
    assert again.code == 0 and "no change" in again.stderr
    (item,) = [i for i in sup("due", "--json", "--within", "60", env={"CPCM_NOW": "2026-12-24T09:00:00+03:00"}).json()
               if i["code"] == "conference-cadence" and "internal" in i["title"]]
    assert (item["due"], item["state"]) == ("2026-12-23T09:00+03:00", "overdue")
    assert sup("verify").code == 0


def test_due__a_child_admitted_and_assessed_before_the_switch_to_kenya_is_due_for_a_conference_a_month_after_it(tmp_env, team):
    """A child living in the home, registered and assessed a year ago under inter-agency (which asks
    for no conference after an admission); the repository switched to kenya now: `due` lists the
    SOP §5.3 conference for the child a month after the switch, saying so, not overdue since last
    year; the due view made before the switch is not used after it."""
    from test_assess_plan import INITIAL

    year_ago, days_later = "2025-11-23T09:00:00+03:00", "2025-11-26T09:00:00+03:00"
    root = make_repo(tmp_env / "casefiles", team, now=year_ago)
    env = {"CPCM_REPO": str(root), "CPCM_IDENTITY": str(team["sup"][0])}
    then = Cli(dict(env, CPCM_NOW=days_later))
    case_id = register(then, lives_with="institution")
    assert then("assess", case_id, "--type", "initial", "--risk", "high", *INITIAL).code == 0
    assert then("assess", case_id, "--type", "comprehensive", "--from-file", "-", input=json.dumps(COMPREHENSIVE)).code == 0
    sup = Cli(dict(env, CPCM_NOW=NOW))
    before = sup("due", "--json", "--worker", "all", "--within", "60")
    assert before.code == 0 and not [i for i in before.json() if i["code"] == "conference-after-admission"]
    assert sup("config", "set", "policy", "kenya").code == 0
    items = [i for i in sup("due", "--json", "--worker", "all", "--within", "60").json() if i["code"] == "conference-after-admission"]
    assert [(i["case_id"], i["due"], i["state"]) for i in items] == [(case_id, "2026-12-23T09:00+03:00", "upcoming")]
    assert "counted from when these rules took effect on 2026-11-23" in items[0]["why"], items[0]["why"]
    assert not [p for p in sup("check", "--json").json() if p.get("rule") == "conference_after_admission"]


# -- the report clock, pure ---------------------------------------------------------------------------
def test_report_clock__counts_from_the_meeting_not_from_closing():
    closed_late = conference("CC-0000-0006", "internal", "2026-02-05T10:00", closed=True)  # closed on 5 Feb at 15:00
    item = rules.report_due(closed_late, KENYA, at(NOW).tzinfo)
    assert item.due == at("2026-02-06T10:00:00+03:00")
    # before closing: on the chair's list from the meeting, with what to do first
    open_one = conference("CC-0000-0007", "internal", "2026-02-05T10:00")
    assert rules.report_due(open_one, KENYA, at(NOW).tzinfo, at("2026-02-05T09:59:00+03:00")) is None
    item = rules.report_due(open_one, KENYA, at(NOW).tzinfo, at("2026-02-05T10:00:00+03:00"))
    assert item.due == at("2026-02-06T10:00:00+03:00") and "conference close" in item.why


# -- the interim plan, pure -----------------------------------------------------------------------------
def test_interim_plan__is_a_valid_plan_once_the_actions_are_added():
    from cpcm.domain.forms import validate
    from cpcm.store import forms

    conf = conference("CC-0000-0008", "internal", "2026-11-30")
    body = rules.interim_plan(conf, {"actions": [{"need": "education"}, {"need": "food"}, {"need": "education"}]})
    body["actions"] = [{"what": "Enrol in school", "who": "caseworker", "by": "2026-12-15", "mode": "direct", "goal": "G1"}]
    assert body["interim"] is True and body["reason"] == "conference_decision"
    assert body["goals"][0]["need"] == "education; food"
    assert body["participants"] == {"child": "no", "caregivers": "no", "others": "case conference CC-0000-0008 (2026-11-30)"}
    _, errors = validate(forms.load("plan"), body, at(NOW).date())
    assert errors == []


# -- the register, pure -----------------------------------------------------------------------------------
def test_register__signs_once_the_first_signature_stands_and_a_bar_holds_until_lifted():
    def rec(n, kind, **body):
        return Record(kind, 1, f"01JD00000000000000000000{n:02d}", rules.REGISTER_ID, "2026-11-01T09:00:00+03:00",
                      "2026-11-01T09:00:00+03:00", "sup", {"name": "Officer One", "institution": "Office", **body})
    records = [rec(1, "agreement", signed_on="2026-10-01", how="signed", position="SCCO"),
               rec(2, "agreement", signed_on="2026-11-01", how="verbal", position="SCCO")]
    entry = rules.register_entry(rules.fold_register(records), {"name": "officer  ONE", "institution": "office"})
    assert entry["signed_on"] == "2026-10-01" and entry["how"] == "signed" and entry["barred"] is None
    barred = rules.fold_register(records + [rec(3, "bar", reason="breach")])
    assert rules.register_entry(barred, {"name": "Officer One", "institution": "Office"})["barred"]["reason"] == "breach"
    lifted = rules.fold_register(records + [rec(3, "bar", reason="breach"), rec(4, "bar_lifted", reason="trained")])
    assert rules.register_entry(lifted, {"name": "Officer One", "institution": "Office"})["barred"] is None


# -- at the service level, over a repository in memory ------------------------------------------------------
def due_conference_items(ctx) -> list[dict]:
    """The conference items of `cpcm due --within 120` for the acting worker, as its --json gives them."""
    soon = soon_window(ctx.policy, ctx.now)
    return [i.to_json(ctx.now, soon) for i in service.due(ctx, within_days=120) if i.code.startswith("conference")]


def test_due__kenya_internal_monthly_and_acc_quarterly():
    mem = MemoryRepo(profile="kenya")
    sup = mem.as_("sup")
    items = due_conference_items(sup)
    assert [(i["case_id"], i["title"], i["owner"]) for i in items] == [("conference", "internal (staff only) conference to hold",
                                                                         "supervisors")]
    internal = conferences.new(sup, "internal", "2026-11-20T10:00").subject_id
    acc = conferences.new(sup, "acc", "2026-11-21").subject_id
    after = due_conference_items(mem.as_("sup", now="2026-11-25T09:00:00+03:00"))
    cadence = {i["title"]: i["due"] for i in after if i["code"] == "conference-cadence"}
    assert cadence["internal (staff only) conference to hold"] == "2026-12-20T10:00+03:00"
    assert cadence["alternative care committee (ACC) conference to hold"] == "2027-02-21T09:00+03:00"
    # the report of each meeting is due 24 hours after it, though neither is closed
    reports = {i["case_id"]: i["due"] for i in after if i["code"] == "conference-report"}
    assert reports == {internal: "2026-11-21T10:00+03:00", acc: "2026-11-22T09:00+03:00"}
    assert not due_conference_items(mem.as_("amina", now="2026-11-25T09:00:00+03:00"))  # the chair's and the supervisors' items


def test_due__a_child_admitted_to_a_cci_is_due_for_a_conference_after_the_reassessment():
    mem = MemoryRepo(profile="kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina, lives_with="institution")
    other = mem.register(amina)  # living with relatives: no admission
    assert not [i for i in due_conference_items(amina) if i["code"] == "conference-after-admission"]  # not yet reassessed
    for each in (case_id, other):
        service.assess(amina, each, "initial", dict(INITIAL_DATA, risk="high"))
        service.assess(amina, each, "comprehensive", COMPREHENSIVE)
    items = [i for i in due_conference_items(amina) if i["code"] == "conference-after-admission"]
    assert [(i["case_id"], i["owner"], i["due"]) for i in items] == [(case_id, "amina", "2026-12-23T09:00+03:00")]
    assert "§5.3" in items[0]["source"]
    conf = conferences.new(sup, "internal", "2026-12-01").subject_id
    # the item is the caseworker's: they nominate the case, the chair or a supervisor takes it into the final set
    assert f"nominate it (cpcm conference add-case CONF {case_id} --reason ...); the conference's chair or a supervisor takes it" \
        in items[0]["why"], items[0]["why"]
    conferences.add_case(amina, conf, case_id, "reintegration_decision")
    assert [i["code"] for i in due_conference_items(amina)] == ["conference-after-admission"]  # until it is taken in
    conferences.add_case(sup, conf, case_id, None)
    assert not [i for i in due_conference_items(amina) if i["code"] == "conference-after-admission"]


def _admitted_and_reassessed():
    """A kenya repository in memory with a child registered living on the street, admitted to a CCI
    with `cpcm placement` (a supervisor's override) and assessed again: (mem, amina, sup, case ID)."""
    mem = MemoryRepo(profile="kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    case_id = mem.register(amina, lives_with="street")
    service.placement(sup, case_id, {"care_type": "institutional_care", "institution": "Tumaini Children's Home",
                                     "formal": "formal"}, override_reason="emergency admission")
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    service.assess(amina, case_id, "comprehensive", COMPREHENSIVE)
    return mem, amina, sup, case_id


def test_due__a_child_placed_in_a_cci_by_cpcm_placement_is_due_for_a_conference_after_the_reassessment():
    """Registered living on the street, then admitted with `cpcm placement --care-type
    institutional_care`: the admission (the placement, not lives_with) starts the SOP §5.3 item."""
    mem, amina, sup, case_id = _admitted_and_reassessed()
    items = [i for i in due_conference_items(amina) if i["code"] == "conference-after-admission"]
    assert [(i["case_id"], i["owner"]) for i in items] == [(case_id, "amina")]
    conf = conferences.new(sup, "internal", "2026-12-01").subject_id
    conferences.add_case(sup, conf, case_id, "reintegration_decision")
    assert not [i for i in due_conference_items(amina) if i["code"] == "conference-after-admission"]


def test_due__no_conference_after_admission_once_the_child_has_left_residential_care():
    """SOP §5.3: the conference is the institution's, as soon as the child enters it, to start the work toward the
    way out. A child admitted to emergency care and home before the first comprehensive assessment is owed none
    after it; one admitted and reassessed in the CCI is owed it there, and no longer once home (the reviews and
    monitoring after reunification follow the child); back in a CCI, it is owed again for the new admission."""
    mem = MemoryRepo(profile="kenya")
    amina, sup = mem.as_("amina"), mem.as_("sup")
    home = {"care_type": "family", "caregiver": {"name": "Father F", "relationship": "father"}, "cci_exit": "family_reintegration"}

    def owed(repo: MemoryRepo, case_id: str, now: str) -> list[str]:
        items = due_conference_items(repo.as_("amina", now=now))
        return [i["case_id"] for i in items if i["code"] == "conference-after-admission" and i["case_id"] == case_id]

    early = mem.register(amina, lives_with="street")
    service.placement(sup, early, {"care_type": "emergency_care", "institution": "Place of safety"}, override_reason="at night")
    service.assess(amina, early, "initial", dict(INITIAL_DATA, risk="high"))
    service.placement(mem.as_("sup", now="2026-11-24T09:00:00+03:00"), early, home, override_reason="father came for him")
    service.assess(mem.as_("amina", now="2026-11-25T09:00:00+03:00"), early, "comprehensive", COMPREHENSIVE)
    assert owed(mem, early, "2026-11-25T10:00:00+03:00") == []
    mem, _, _, stayed = _admitted_and_reassessed()
    assert owed(mem, stayed, NOW) == [stayed]
    service.placement(mem.as_("sup", now="2026-11-24T09:00:00+03:00"), stayed, home, override_reason="father came for him")
    assert owed(mem, stayed, "2026-11-24T10:00:00+03:00") == []
    service.placement(mem.as_("sup", now="2026-12-01T09:00:00+03:00"), stayed, {"care_type": "institutional_care",
                      "institution": "Tumaini Children's Home"}, override_reason="the home broke down")
    service.assess(mem.as_("amina", now="2026-12-02T09:00:00+03:00"), stayed, "comprehensive", COMPREHENSIVE)
    assert owed(mem, stayed, "2026-12-02T10:00:00+03:00") == [stayed]


def test_a_registration_in_an_institution_is_read_one_way_by_the_admission_and_the_readiness_comment():
    """A child registered living in an institution was admitted to a CCI then
    (conference_after_admission) and so has been apart from their family (placements.separated,
    the readiness comment after a conference): both read the registration and its updates through
    placements.registered_lives_with. Gone home to relatives by an update, the child was read as
    never apart; updated into an institution, the admission is the update's."""
    from cpcm.workflow import placements
    from cpcm.workflow.fold import fold

    mem = MemoryRepo(profile="kenya")
    amina = mem.as_("amina")
    at_home = placements.family_home(KENYA)
    cci = mem.register(amina, lives_with="institution")
    service.update(mem.as_("amina", now="2026-11-25T09:00:00+03:00"), cci, {"lives_with": "relatives"}, "went home to his aunt")
    case = fold(cci, mem.store.read_records(cci, amina.keys))
    assert case.registration["lives_with"] == "relatives" and placements.separated(case, at_home)
    assert rules.admitted_at(case, KENYA) == "2026-11-23T06:00:00+00:00"  # registered in it (NOW)
    kin = mem.register(amina, lives_with="relatives")
    assert not placements.separated(fold(kin, mem.store.read_records(kin, amina.keys)), at_home)
    service.update(mem.as_("amina", now="2026-11-25T09:00:00+03:00"), kin, {"lives_with": "institution"}, "admitted to a CCI")
    case = fold(kin, mem.store.read_records(kin, amina.keys))
    assert placements.separated(case, at_home) and rules.admitted_at(case, KENYA) == "2026-11-25T06:00:00+00:00"


def test_show__lists_the_conference_after_an_admission_as_due_does_until_the_case_is_taken_to_one():
    """`cpcm show`'s Due lists the deadlines the policy sets for the case (docs/commands/cases.md): the SOP §5.3
    conference after an admission to a CCI as `cpcm due` lists it, for the case's worker and a supervisor, while
    a caseworker's nomination waits to be taken in; not once the case is taken into a conference."""
    mem, amina, sup, case_id = _admitted_and_reassessed()

    def shown(ctx) -> list[dict]:
        return [i for i in service.show(ctx, case_id)["due"] if i["code"] == "conference-after-admission"]

    listed = [i for i in due_conference_items(amina) if i["code"] == "conference-after-admission"]
    assert [i["case_id"] for i in listed] == [case_id]
    assert shown(amina) == listed and shown(sup) == listed
    conf = conferences.new(sup, "internal", "2026-12-01").subject_id
    conferences.add_case(amina, conf, case_id, "reintegration_decision")
    assert shown(amina) == listed == [i for i in due_conference_items(amina) if i["code"] == "conference-after-admission"]
    conferences.add_case(sup, conf, case_id, None)
    assert shown(amina) == [] and shown(sup) == []

def test_minutes_and_close__refused_before_the_meeting_with_the_rule_and_what_to_do():
    mem = MemoryRepo()
    case_id = planned_in(mem)
    sup = mem.as_("sup")
    conf = conferences.new(sup, "internal", "2026-11-30T10:00").subject_id
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    before = mem.commits()
    early = mem.as_("sup", now="2026-11-30T09:59:00+03:00")
    with pytest.raises(Refused) as refused:
        conferences.minutes(early, conf, minutes_doc([case_id]))
    assert refused.value.rule == "conference-not-held-yet" and "cpcm conference update" in refused.value.hint
    with pytest.raises(Refused) as closing:
        conferences.close(early, conf)
    assert closing.value.rule == "conference-not-held-yet"
    assert "2026-11-30 10:00 +03:00" in closing.value.message and "conference update" in closing.value.hint
    assert mem.commits() == before
    started = mem.as_("sup", now="2026-11-30T10:00:00+03:00")
    assert conferences.minutes(started, conf, minutes_doc([case_id])).kind == "minutes"


def test_add_case__nominating_a_case_twice_is_refused():
    mem = MemoryRepo()
    case_id = planned_in(mem)
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, case_id, "reintegration_decision")
    before = mem.commits()
    with pytest.raises(Refused) as again:
        conferences.add_case(sup, conf, case_id, "especially_difficult")
    assert again.value.rule == "conference-case-nominated"
    assert mem.commits() == before
    shown = conferences.load(sup, conf)
    assert [(c["case_id"], c["reason"]) for c in shown.cases] == [(case_id, "reintegration_decision")]
    assert "reintegration decision" in service.render(mem.as_("sup"), "agenda", conf).text


def test_update__form_3_dates_venue_and_a_reschedule_are_records():
    mem = MemoryRepo()
    sup = mem.as_("sup")
    conf = conferences.new(sup, "external", "2026-12-03", venue="Room 1").subject_id
    files = [p.name for p in mem.store.record_files(conf, CONFERENCES)]
    before = mem.commits()
    with pytest.raises(InvalidInput) as no_reason:
        conferences.update(sup, conf, {"date": "2026-12-10T10:00"})
    assert "reason" in fields(no_reason.value) and mem.commits() == before
    moved = conferences.update(sup, conf, {"date": "2026-12-10T10:00", "venue": "Hall",
                                           "co_chair": ("A. Officer", "Sub-County Children's Officer")}, "the SCCO is away")
    assert mem.commits() == before + 1
    assert last_message(mem) == f"conference update {conf} {moved.record_ids[0]}"
    # append-only: the first record is untouched, one new record
    after = [p.name for p in mem.store.record_files(conf, CONFERENCES)]
    assert set(files) < set(after) and len(after) == len(files) + 1
    future = mem.commits()
    with pytest.raises(InvalidInput) as ahead:  # a Form 3 date is a day that has come (now: 2026-11-23)
        conferences.update(sup, conf, {"attendance_confirmed": "2026-12-06"})
    assert fields(ahead.value) == {"attendance_confirmed"} and "in the future" in str(ahead.value) and mem.commits() == future
    confirmed = mem.as_("sup", now="2026-12-06T12:00:00+03:00")
    conferences.update(confirmed, conf, {"attendance_confirmed": "2026-12-06", "invitations_sent": "2026-12-01"})
    shown = conferences.load(sup, conf).to_dict()
    assert shown["date"] == "2026-12-10T10:00" and shown["venue"] == "Hall"
    assert shown["co_chair"] == {"name": "A. Officer", "title": "Sub-County Children's Officer"}
    assert shown["checklist"]["attendance_confirmed"] == "2026-12-06"
    assert [u["previous"].get("date") for u in shown["updates"]] == ["2026-12-03", None]
    assert shown["updates"][0]["reason"] == "the SCCO is away"
    agenda = service.render(mem.as_("sup"), "agenda", conf).text
    assert "Co-chair" in agenda and "A. Officer" in agenda and "10:00" in agenda
    with pytest.raises(Refused) as same:
        conferences.update(sup, conf, {"venue": "Hall"})
    assert same.value.rule == "nothing-to-update" and "nothing to update" in same.value.message
    with pytest.raises(InvalidInput) as half:
        conferences.update(sup, conf, {"external_chair": ("B. Officer", None)})
    assert "external-chair-title" in fields(half.value)
    # the date cannot move once minutes are recorded
    case_id = mem.register(sup)
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    held = mem.as_("sup", now="2026-12-10T12:00:00+03:00")
    conferences.minutes(held, conf, minutes_doc([case_id]) | {"cases": [{"case": case_id, "discussion": "Discussed."}]})
    with pytest.raises(Refused) as late:
        conferences.update(held, conf, {"date": "2026-12-12"}, "typo")
    assert late.value.rule == "conference-date-after-minutes"


def test_close__actions_for_a_case_without_a_plan_start_an_interim_plan():
    mem = MemoryRepo()
    sup = mem.as_("sup")
    case_id = mem.register(sup)
    conf = conference_in(sup)
    added = conferences.add_case(sup, conf, case_id, "especially_difficult")
    assert "interim plan" in "\n".join(added.warnings)
    doc = minutes_doc([case_id])
    for action in doc["cases"][0]["actions"]:
        action.pop("goal", None)
    at_meeting = mem.as_("sup", now=CLOSE_NOW)
    conferences.minutes(at_meeting, conf, doc)
    closed = in_one_commit(mem, lambda: conferences.close(at_meeting, conf))
    assert closed.extra["cases"][0]["interim"] is True
    shown = service.show(sup, case_id)
    plan = shown["plan"]
    assert plan["version"] == 1 and plan["reason"] == "conference_decision"
    content = plan["content"]
    assert content["interim"] is True and [g["id"] for g in content["goals"]] == ["G1"]
    assert [a["what"] for a in content["actions"]] == ["Enrol in school (1)", "Food support referral (1)"]
    assert all(a["goal"] == "G1" for a in content["actions"])
    assert shown["stage"] == "registered"  # an interim plan before the assessments keeps the stage
    assert any("cpcm plan" in step for step in closed.next_steps)


@pytest.mark.parametrize("kept", [False, True])
def test_close__a_reopened_case_whose_plan_is_from_before_the_reopening_gets_an_interim_plan(kept):
    """A plan approved, its actions marked done, the case closed and reopened, assessed again: that
    plan is not in force since the reopening and its actions are not due (docs/workflow.md,
    Reopening; `deadlines.plan_in_force`, as `cpcm show` says it). Closing a conference on the case
    makes its actions an interim plan, as for a case with none, not a version that carries the old
    goals and actions (done in the earlier episode) back into force, overdue. A policy that keeps
    the old plan in force after a reopening (plan_action.due_after_reopening) goes on from it."""
    mem = MemoryRepo(rules={"plan_action": {"due_after_reopening": True}} if kept else None)
    case_id = planned_in(mem)
    service.approve(mem.as_("sup"), case_id, "plan")
    amina = mem.as_("amina", now="2026-11-24T09:00:00+03:00")
    service.followup(amina, case_id, dict(VISIT, purpose="plan_action"), done=["A1", "A2"])
    service.close(amina, case_id, {"reason": "declined",
                                   "checklist": ["decision_respected", "no_grounds_to_override", "child_safe_enough"]})
    service.approve(mem.as_("sup", now="2026-11-24T10:00:00+03:00"), case_id, "closure")
    again = mem.as_("amina", now="2026-11-25T09:00:00+03:00")
    service.reopen(again, case_id, "new report from the school")
    service.assess(again, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    service.assess(again, case_id, "comprehensive", COMPREHENSIVE)
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(mem.as_("sup", now="2026-11-25T10:00:00+03:00"), conf, case_id, "especially_difficult")
    doc = minutes_doc([case_id])
    for action in doc["cases"][0]["actions"]:
        action.pop("goal", None)
    at_meeting = mem.as_("sup", now=CLOSE_NOW)
    conferences.minutes(at_meeting, conf, doc)
    closed = conferences.close(at_meeting, conf)
    assert closed.extra["cases"][0]["interim"] is not kept
    assert (f"{case_id} had no plan in force since its reopening: its actions start an interim plan" in " ".join(closed.next_steps)) \
        is not kept, closed.next_steps
    shown = service.show(at_meeting, case_id)
    content = shown["plan"]["content"]
    assert shown["plan"]["version"] == 2 and content["reason"] == "conference_decision"
    whats = [a["what"] for a in content["actions"]]
    if kept:  # the old plan stays in force: the conference's actions go on from it
        assert whats == ["Pay fees through the bursary", "Go to school", "Enrol in school (1)", "Food support referral (1)"]
        return
    assert whats == ["Enrol in school (1)", "Food support referral (1)"] and content["interim"] is True
    assert [g["id"] for g in content["goals"]] == ["G1"] and "Back in school" not in str(content)
    assert [a["id"] for a in content["actions"]] == ["A3", "A4"]  # new IDs: none of the earlier episode's marks
    item = next(d for d in shown["due"] if d["code"] == "case-plan")  # the version waits: the case plan's clock runs
    assert "waits for a supervisor's approval" in item["why"], item
    service.approve(at_meeting, case_id, "plan")
    later = mem.as_("amina", now="2027-02-01T09:00:00+03:00")
    due = [d for d in service.show(later, case_id)["due"] if d["code"] == "plan-action"]
    assert [d["title"] for d in due] == ["plan action A3 (caseworker)", "plan action A4 (other)"]
    overdue = [p.message for p in service.check(later, case_id) if p.code == "plan-action-overdue"]
    assert [m.split(" was due")[0] for m in overdue] == ["plan action A3 (caseworker)", "plan action A4 (other)"], overdue


@pytest.mark.parametrize("lang, others, goal, closure", [
    ("en", "case conference {conf} (30 November 2026)", "Carry out the actions agreed at case conference {conf} (30 November 2026)",
     "Not an interim plan's to set"),
    ("sw", "mkutano wa kesi {conf} (30 Novemba 2026)", "Kutekeleza hatua zilizokubaliwa katika mkutano wa kesi {conf} (30 Novemba 2026)",
     "Haviwekwi na mpango wa muda"),
])
def test_close__writes_the_plans_words_in_the_repositorys_language_and_its_day_in_words(lang, others, goal, closure):
    """The plan `close` writes is free text printed as it is written (the case plan, the case file,
    `cpcm show`): who else took part, and an interim plan's goal, closure criteria and contingency,
    are in the repository's language, the conference's day in words as the documents write a date."""
    import dataclasses

    mem = MemoryRepo()
    mem.config = dataclasses.replace(mem.config, language=lang)
    sup = mem.as_("sup")
    case_id = mem.register(sup)
    conf = conference_in(sup)
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    doc = minutes_doc([case_id])
    for action in doc["cases"][0]["actions"]:
        action.pop("goal", None)
    at_meeting = mem.as_("sup", now=CLOSE_NOW)
    conferences.minutes(at_meeting, conf, doc)
    conferences.close(at_meeting, conf)
    content = service.show(sup, case_id)["plan"]["content"]
    assert content["participants"]["others"] == others.format(conf=conf)
    assert content["goals"][0]["goal"] == goal.format(conf=conf)
    assert content["closure_criteria"][0].startswith(closure)
    assert conf in content["contingency"] and "2026-11-30" not in str(content)
    if lang == "sw":
        assert "case conference" not in str(content)
        plan = service.render(mem.as_("sup", now=CLOSE_NOW), "case-plan", case_id).text
        assert f"Wengine: mkutano wa kesi {conf} (30 Novemba 2026)" in plan and "case conference" not in plan


# -- Form 5: the standing register, in memory ----------------------------------------------------------------
def attend_in(mem: MemoryRepo, worker: str, conf: str, name: str, signed: str | None = None, present: str = "yes"):
    """Attendance on the day of the meeting (conference_in's 2026-11-30): refused before it."""
    return conferences.attend(mem.as_(worker, now=CLOSE_NOW), conf, {
        "institution": "Agency", "name": name, "position": "Officer", "contact": "0700", "confidentiality_signed": signed,
        "present": present, "role": None})


def test_form5__a_member_signs_once_for_every_conference():
    mem = MemoryRepo()
    sup = mem.as_("sup")
    first, second = conference_in(sup), conference_in(sup)
    attend_in(mem, "sup", first, "Member One", "yes")
    # signed at the first meeting: on the register, nothing to give at the second
    attend_in(mem, "sup", second, "member one")
    shown = conferences.load(sup, second)
    assert shown.attendees[0]["confidentiality_signed"] == "yes" and len(shown.present) == 1
    listed = conferences.register_list(sup)
    assert [(r["name"], r["signed_on"], r["how"]) for r in listed] == [("Member One", "2026-11-30", "signed")]
    with pytest.raises(Refused) as again:
        conferences.sign(sup, {"name": "Member One", "institution": "agency", "position": "Officer"})
    assert again.value.rule == "conference-already-signed"
    # never signed: must say so, or sign first
    with pytest.raises(InvalidInput) as unsigned:
        attend_in(mem, "sup", second, "Member Two")
    assert "confidentiality_signed" in fields(unsigned.value)
    in_one_commit(mem, lambda: conferences.sign(sup, {"name": "Member Two", "institution": "Agency", "position": "Nurse",
                                                      "how": "verbal", "signed_on": "2026-11-20"}))
    assert last_message(mem).startswith(f"conference sign {rules.REGISTER_ID} ")
    attend_in(mem, "sup", second, "Member Two")
    assert conferences.load(sup, second).attendees[1]["confidentiality_signed"] == "verbal"
    assert rules.REGISTER_ID not in [c.id for c in conferences.list_conferences(sup)]


def test_form5__a_child_or_family_member_is_neither_signed_nor_barred_onto_the_register():
    """conference.md, Form 5: a child or family member is never put on the register. `sign` and
    `register --bar` have no conference: every case the worker reads is checked, the refusal names
    the field and the case, never the name, and nothing is written."""
    mem = MemoryRepo()
    case_id = planned_in(mem, name=CANARY)
    sup = mem.as_("sup")
    before = mem.commits()
    for data, field in (({"name": CANARY, "institution": "Home", "position": "aunt"}, "name"),
                        ({"name": "Test Caregiver", "institution": "Home", "position": "grandmother"}, "name"),
                        ({"name": "A. Member", "institution": f"Family of {CANARY}", "position": "aunt"}, "institution"),
                        ({"name": "A. Member", "institution": "Agency", "position": "Officer", "contact": f"ask for {CANARY}"},
                         "contact")):
        with pytest.raises(Refused) as refused:
            conferences.sign(sup, data)
        said_ = refused.value.message + (refused.value.hint or "")
        assert refused.value.rule == "conference-no-names" and f"{field} (a name or phone registered for {case_id})" in said_
        assert CANARY not in said_ and "Test Caregiver" not in said_
    with pytest.raises(Refused) as barred:
        conferences.bar(sup, {"name": CANARY, "institution": "Home"}, "breach")
    assert barred.value.rule == "conference-no-names"
    assert mem.commits() == before
    conferences.sign(sup, {"name": "Member One", "institution": "Agency", "position": "Officer"})  # a professional signs
    assert [r["name"] for r in conferences.register_list(sup)] == ["Member One"]


def test_form5__sign_checks_a_relative_named_only_by_tracing_and_reads_no_records_of_a_case_that_names_none(monkeypatch):
    """`sign` checks every case the worker reads: a relative whom only a tracing record names is
    refused (the field and the case named, never the name), and the records of a case whose summary
    shows none that names a family member (tracing, family assessment, consent) are not read: at
    thousands of cases a signature took seconds of decrypting every record."""
    mem = MemoryRepo()
    traced = planned_in(mem)
    service.tracing(mem.as_("amina"), traced, {"sources": ["child"], "outcome": "family_found",
                                               "people": [{"name": "Wbvaunt Qxtraced", "relationship": "aunt", "found": "yes",
                                                           "willing": "yes", "contact": "0722 333444"}]})
    plain = mem.register(mem.as_("amina"))
    sup = mem.as_("sup")
    given = {}  # case id -> the records its names were taken from
    real = rules.client_names
    monkeypatch.setattr(rules, "client_names", lambda case, records, *a: given.setdefault(case.id, list(records)) and None
                        or real(case, records, *a))
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        conferences.sign(sup, {"name": "Wbvaunt Qxtraced", "institution": "Home", "position": "aunt"})
    said_ = refused.value.message + (refused.value.hint or "")
    assert f"name (a name or phone registered for {traced})" in said_ and "Wbvaunt" not in said_
    assert mem.commits() == before
    assert "tracing" in [r.kind for r in given[traced]]
    assert given[plain] == []
    conferences.sign(sup, {"name": "Member One", "institution": "Agency", "position": "Officer"})
    assert [r["name"] for r in conferences.register_list(sup)] == ["Member One"]


def test_form5__a_registered_phone_in_any_field_keeps_a_family_member_off_the_register_and_the_minutes():
    """conference.md, Form 5: anyone whose name or phone is registered for a case is never put on
    the register. A registered phone typed as the name or within the institution or position
    (its digits however spaced, with or without the country code) was signed, barred and attended
    as a professional's: on the team-wide register and in the minutes' attendance register."""
    mem = MemoryRepo()
    amina = mem.as_("amina")
    case_id = mem.register(amina, contact="+254 712 345 678")
    sup = mem.as_("sup")
    before = mem.commits()
    for data, field in (({"name": "0712345678", "institution": "County office", "position": "Officer"}, "name"),
                        ({"name": "Member One", "institution": "Kondele 0712 345 678", "position": "Officer"}, "institution"),
                        ({"name": "Member One", "institution": "Agency", "position": "Officer (+254) 712-345-678"}, "position")):
        with pytest.raises(Refused) as refused:
            conferences.sign(sup, data)
        said_ = refused.value.message + (refused.value.hint or "")
        assert refused.value.rule == "conference-no-names" and f"{field} (a name or phone registered for {case_id})" in said_
        assert "345" not in said_
    with pytest.raises(Refused) as barred:
        conferences.bar(sup, {"name": "Member One", "institution": "712 345 678"}, "breach")
    assert barred.value.rule == "conference-no-names"
    assert mem.commits() == before
    conf = conference_in(sup)
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    written = conferences.attend(mem.as_("sup", now=CLOSE_NOW), conf, {
        "institution": "Ward office", "name": "0712 345 678", "position": "Officer", "contact": "0700111222",
        "confidentiality_signed": "yes", "present": "no", "role": None})
    assert written.extra["signed_now"] is False  # counted as family: never on the register
    assert conferences.register_list(sup) == []
    assert "345" not in service.render(mem.as_("sup"), "form-5", conf).text
    conferences.sign(sup, {"name": "Member One", "institution": "Box 4512-40100", "position": "Officer",
                           "contact": "0733 000 111"})  # a professional's own numbers sign
    assert [r["name"] for r in conferences.register_list(sup)] == ["Member One"]


def test_form5__a_member_on_the_register_with_another_answer_refused_is_told_only_that_answer():
    """`attend --present labda` for a member who signed Form 5: the refusal named `present`, and also
    `confidentiality_signed` as required, which a member on the register never gives."""
    mem = MemoryRepo()
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.sign(sup, {"name": "Member One", "institution": "Agency", "position": "Officer"})
    with pytest.raises(InvalidInput) as refused:
        attend_in(mem, "sup", conf, "Member One", present="maybe")
    assert fields(refused.value) == {"present"}
    attend_in(mem, "sup", conf, "Member One")
    assert conferences.load(sup, conf).attendees[0]["confidentiality_signed"] == "yes"


def test_add_case__the_day_a_case_was_opened_is_the_agency_s_not_as_written_in_another_zone():
    """A registration typed in UTC just before midnight there (00:30 the next day in the agency's
    zone): the conference's case list said it opened the day before."""
    mem = MemoryRepo()
    ctx = mem.as_("amina")
    case_id = mem.register(ctx, at="2026-11-20T21:30:00+00:00",
                           child={"name": "Test Child", "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"})
    service.assess(ctx, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    sup = mem.as_("sup")
    conf = conference_in(sup)
    conferences.add_case(sup, conf, case_id, "especially_difficult")
    assert conferences.load(sup, conf).cases[0]["opened"] == "2026-11-21"


def test_form5__a_barred_member_cannot_attend_and_only_a_supervisor_bars():
    mem = MemoryRepo()
    sup, amina = mem.as_("sup"), mem.as_("amina")
    conf = conference_in(sup)
    attend_in(mem, "sup", conf, "Member One", "yes")
    one = {"name": "Member One", "institution": "Agency"}
    with pytest.raises(Refused) as by_worker:
        conferences.bar(amina, one, "breach")
    assert by_worker.value.rule == "conference-bar-needs-supervisor"
    with pytest.raises(InvalidInput) as no_reason:
        conferences.bar(sup, one, None)
    assert "reason" in fields(no_reason.value)
    conferences.bar(sup, one, "discussed a case at the market")
    other = conference_in(sup)
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        attend_in(mem, "sup", other, "Member One", "yes")
    assert refused.value.rule == "conference-member-barred"
    assert mem.commits() == before
    attend_in(mem, "sup", other, "Member One", present="no")  # invited, not present: the register shows it
    listed = conferences.register_list(sup)
    assert listed[0]["barred"] is True and listed[0]["barred_since"] == "2026-11-23"
    assert "Member One" not in service.render(mem.as_("sup"), "form-5", other).text  # a barred member is not offered the form
    conferences.bar(sup, one, "retrained", lift=True)
    attend_in(mem, "sup", other, "Member One")


def test_form5__the_printable_form_lists_who_signed_and_blank_lines_in_both_languages():
    mem = MemoryRepo()
    sup = mem.as_("sup")
    conf = conference_in(sup, co_chair=("A. Officer", "SCCO"))
    attend_in(mem, "sup", conf, "Member One", "yes")
    attend_in(mem, "sup", conf, "Member Two", "no", present="no")
    for lang, words in (("en", ("Confidentiality agreement (Form 5)", "on file: signed", "Name of member")),
                        ("sw", ("Makubaliano ya usiri (Fomu 5)", "Jina la mwanachama"))):
        for fmt in ("md", "html"):
            text = service.render(mem.as_("sup"), "form-5", conf, lang=lang, fmt=fmt).text
            for word in words:
                assert word in text, (lang, fmt, word)
            assert "Member One" in text and "Member Two" in text and "A. Officer" in text
    md = service.render(mem.as_("sup"), "form-5", conf).text
    assert md.count("| | | | | |") == 8  # up to ten lines: the two members and eight blank ones


def test_form5__a_newcomer_checks_the_register_once_a_supervisor_shares_it():
    mem = MemoryRepo()
    conf = conference_in(mem.as_("sup"))
    attend_in(mem, "sup", conf, "Member One", "yes")
    newcomer = Identity(keys=(x25519.Identity.generate(),), path="(in memory)")
    mem.identities["wanjiru"] = newcomer
    mem.team = Team(mem.team.workers + (Worker(id="wanjiru", name="wanjiru", roles=("caseworker",), recipient=newcomer.recipient,
                                               since="2026-11-23T09:00:00+03:00"),))
    mine = conference_in(mem.as_("wanjiru"))
    before = mem.commits()
    with pytest.raises(Refused) as refused:
        attend_in(mem, "wanjiru", mine, "Member One")
    assert refused.value.rule == "conference-register-unreadable"
    assert mem.commits() == before
    attend_in(mem, "wanjiru", mine, "Member Two", "yes", present="no")  # invited only
    in_one_commit(mem, lambda: conferences.share_register(mem.as_("sup")))
    assert last_message(mem) == f"conference share {rules.REGISTER_ID}"
    attend_in(mem, "wanjiru", mine, "Member One")
    with pytest.raises(Refused) as shared:
        conferences.share_register(mem.as_("sup"))  # nothing to share any more
    assert shared.value.rule == "nothing-to-update"


# -- through the CLI, git and age ------------------------------------------------------------------------------
def attend(cli, conf, name, *extra):
    """Attendance on the day of the meeting (new_conference's 2026-11-30): refused before it."""
    return cli("conference", "attend", conf, "--institution", "Agency", "--name", name, "--position", "Officer", "--contact", "0700",
               *extra, env={"CPCM_NOW": CLOSE_NOW})


def test_cli__update_is_one_commit_of_one_record_and_show_prints_the_change(cli_as, repo):
    sup = cli_as("sup")
    conf = sup("conference", "new", "--kind", "external", "--date", "2026-12-03", "--venue", "Room 1", "--json").json()["conference_id"]
    files = sorted(p.name for p in (repo / "conferences" / conf).iterdir())
    before = commit_count(repo)
    no_reason = sup("conference", "update", conf, "--date", "2026-12-10T10:00")
    assert no_reason.code == 4 or no_reason.code == 2
    assert "reason" in no_reason.stderr and commit_count(repo) == before
    moved = sup("conference", "update", conf, "--date", "2026-12-10T10:00", "--venue", "Hall", "--reason", "the SCCO is away",
                "--co-chair", "A. Officer", "--co-chair-title", "Sub-County Children's Officer", "--json")
    assert moved.code == 0, moved.stderr
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference update {conf} {moved.json()['record_id']}"
    after = sorted(p.name for p in (repo / "conferences" / conf).iterdir())
    assert set(files) < set(after) and len(after) == len(files) + 1
    assert sup("conference", "show", conf, "--json").json()["updates"][0]["reason"] == "the SCCO is away"
    text = sup("conference", "show", conf).stdout
    assert "2026-12-03 → 2026-12-10T10:00" in text and "A. Officer, Sub-County Children's Officer" in text
    half = sup("conference", "update", conf, "--external-chair", "B. Officer")
    assert half.code == 4 and "external-chair-title" in half.stderr


def test_cli__the_form5_register_sign_bar_and_share_one_commit_each_and_verify_accepts_them(cli_as, repo, team, tmp_env):
    from conftest import make_identity

    sup, amina = cli_as("sup"), cli_as("amina")
    before = commit_count(repo)
    signed = sup("conference", "sign", "--name", "Member One", "--institution", "Agency", "--position", "Officer", "--json")
    assert signed.code == 0, signed.stderr
    assert commit_count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s").strip().startswith(f"conference sign {rules.REGISTER_ID} ")
    again = sup("conference", "sign", "--name", "Member One", "--institution", "agency", "--position", "Officer", "--json")
    assert again.code == 4 and again.json()["rule"] == "conference-already-signed"
    listed = sup("conference", "register", "--json").json()
    assert [(r["name"], r["signed_on"], r["how"]) for r in listed] == [("Member One", "2026-11-23", "signed")]
    by_worker = amina("conference", "register", "--bar", "--name", "Member One", "--institution", "Agency", "--reason", "breach",
                      "--json")
    assert by_worker.code == 4 and by_worker.json()["rule"] == "conference-bar-needs-supervisor"
    one_commit(repo, lambda: sup("conference", "register", "--bar", "--name", "Member One", "--institution", "Agency",
                                 "--reason", "discussed a case at the market"))
    assert git(repo, "log", "-1", "--format=%s").strip().startswith(f"conference bar {rules.REGISTER_ID} ")
    conf = new_conference(sup)
    before = commit_count(repo)
    refused = attend(sup, conf, "Member One", "--confidentiality-signed", "yes", "--json")
    assert refused.code == 4 and refused.json()["rule"] == "conference-member-barred"
    assert commit_count(repo) == before
    assert sup("conference", "register", "--share").code == 4  # every member reads it already
    key = tmp_env / "keys" / "wanjiru.txt"
    assert sup("team", "add", "wanjiru", "--role", "caseworker", "--recipient", make_identity(key),
               "--signing-key", signing_line(key)).code == 0
    wanjiru = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})
    assert wanjiru("conference", "register", "--json").code == 0  # the team change shared the register with her
    assert sup("conference", "register", "--share").code == 4
    # a member added by a team change that left the register as it was (an earlier cpcm): --share shares it
    team_file = repo / ".cpcm" / "team.yaml"
    data = codec.loads(team_file.read_bytes())
    key = tmp_env / "keys" / "njeri.txt"
    data["workers"].append({"id": "njeri", "name": "njeri", "roles": ["caseworker"], "recipient": make_identity(key),
                            "since": "2026-11-23T09:00:00+03:00",
                            "signing_keys": [{"key": signing_line(key), "since": "2026-11-23T09:00:00+03:00"}]})
    team_file.write_text(codec.dump_text(data))
    signed_commit(repo, "sup", "team add njeri", ".cpcm/team.yaml", key=team["sup"][0])
    njeri = Cli({"CPCM_REPO": str(repo), "CPCM_IDENTITY": str(key), "CPCM_NOW": NOW})
    mine = new_conference(njeri)
    unreadable = attend(njeri, mine, "Member Two", "--confidentiality-signed", "yes", "--json")
    assert unreadable.code == 4 and unreadable.json()["rule"] == "conference-register-unreadable"
    one_commit(repo, lambda: sup("conference", "register", "--share"))
    assert git(repo, "log", "-1", "--format=%s").strip() == f"conference share {rules.REGISTER_ID}"
    assert attend(njeri, mine, "Member Two", "--confidentiality-signed", "yes").code == 0
    assert sup("verify").code == 0


def test_cadence__kenya_a_first_internal_conference_planned_within_the_month_is_not_asked_to_be_brought_forward():
    """kenya requires the monthly internal conference from the start: with none held yet, the one
    already planned within the month is the one to hold, due at its start."""
    now = at("2026-10-20T09:00:00+03:00")
    soon = conference("CC-0000-0003", "internal", "2026-11-02")
    (item,) = [i for i in rules.cadence_due([soon], KENYA, now) if "internal" in i.title]
    assert item.case_id == "CC-0000-0003" and item.due == at("2026-11-02T09:00:00+03:00")
    assert "bring it forward" not in item.why and "conference update" not in item.why
    # one planned later than a month from now is still asked to be brought forward
    late = conference("CC-0000-0004", "internal", "2026-12-02")
    (item,) = [i for i in rules.cadence_due([late], KENYA, now) if "internal" in i.title]
    assert item.case_id == "conference" and item.due == now and "bring it forward" in item.why


def test_cadence__kenya_overdue_with_the_next_planned_within_the_month_says_so_without_bringing_it_forward():
    held = conference("CC-0000-0001", "internal", "2026-10-05", closed=True)
    now = at("2026-11-10T09:00:00+03:00")  # due on 5 Nov: overdue
    soon = conference("CC-0000-0003", "internal", "2026-11-12")
    (item,) = [i for i in rules.cadence_due([held, soon], KENYA, now) if "internal" in i.title]
    assert item.case_id == "CC-0000-0003" and item.due == at("2026-11-05T09:00:00+03:00")  # still overdue until held
    assert item.state(now, now - now) == "overdue"
    assert "bring it forward" not in item.why and "overdue since 2026-11-05" in item.why


def test_due__kenya_a_planned_first_conference_is_on_the_list_as_itself():
    mem = MemoryRepo(profile="kenya")
    sup = mem.as_("sup", now="2026-11-20T09:00:00+03:00")
    conf = conference_in(sup, when="2026-11-30", notice_sent="2026-11-20", invitations_sent="2026-11-20")
    items = [i for i in service.due(sup, worker="all", within_days=30) if i.code == "conference-cadence" and "internal" in i.title]
    # the memory repository's team joined on 1 Jan: the first was due a month later, and is overdue since then until held
    assert [(i.case_id, i.due.date().isoformat()) for i in items] == [(conf, "2026-02-01")]
    assert "overdue since 2026-02-01" in items[0].why
    assert not any("bring it forward" in i.why for i in service.due(sup, worker="all", within_days=30))


def test_cli__a_removed_chairs_report_and_next_conference_go_to_the_supervisors_not_to_nobody(cli_as, repo):
    """A conference chaired by a caseworker who then leaves: its report (due 24 hours after the
    meeting) and the next conference of its kind were the chair's, on nobody's list once the chair
    was removed; they are the supervisors' (as for a conference without a chair)."""
    sup = cli_as("sup")
    made = sup("conference", "new", "--kind", "internal", "--date", "2026-11-22T10:00:00+03:00", "--chair", "amina", "--json")
    assert made.code == 0, made.stderr
    conference_id = made.json()["conference_id"]
    mine = [i for i in cli_as("amina")("due", "--json").json() if i["case_id"] == conference_id]
    assert [i["code"] for i in mine] == ["conference-report"] and mine[0]["owner"] == "amina"
    assert sup("team", "remove", "amina").code == 0
    theirs = [i for i in sup("due", "--json").json() if i["case_id"] == conference_id]
    assert [(i["code"], i["owner"]) for i in theirs] == [("conference-report", "supervisors")], theirs
    everyone = [i for i in sup("due", "--worker", "all", "--json").json() if i["case_id"] == conference_id]
    assert [i["owner"] for i in everyone] == ["supervisors"], everyone
    assert not [i for i in cli_as("otieno")("due", "--json").json() if i["case_id"] == conference_id]

