"""A `next:` line that gives a deadline gives its source, as `cpcm due` does: the rule's citation
(`Policy.short_source`), saying so where the number is cpcm's choice or this agency's setting
(`Policy.cited`, one helper for every such line). Over a repository in memory."""
from __future__ import annotations

import json

from conftest import registration
from cpcm import service
from memory_repo import MemoryRepo
from test_assess_plan import COMPREHENSIVE, INITIAL_DATA
from test_referrals import CLINIC_ENTRY, consented, refer


def test_cited__the_number_with_the_citation_and_whose_number_it_is():
    policy = MemoryRepo().policy
    assert policy.cited("case_plan") == "14 days (IAG §3 Step 3 [L837])"
    assert policy.cited("referral_feedback") == "14 days (cpcm's choice; IAG Step 4)"  # choice: true
    assert policy.cited("initial_assessment", also="target 24 hours") == "48 hours (target 24 hours; IAG §3 Step 2 [L796])"
    changed = MemoryRepo(rules={"case_plan": {"limit": "10d"}}).policy
    assert changed.cited("case_plan") == "10 days (this agency's setting; IAG §3 Step 3 [L837])"


def test_short_source__says_whose_the_number_is_in_due_check_and_the_reports_as_the_next_line_does():
    """`cpcm due`, `check`, the timeliness report and the calendar print a deadline's citation alone
    (`short_source`): it left out that the referral's feedback time is cpcm's choice, or that an
    agency set the supervision cadence, which `show` and --json said, so a supervisor read the
    guidelines as giving numbers they do not give."""
    policy = MemoryRepo().policy
    assert policy.short_source("referral_feedback") == "cpcm's choice; IAG Step 4"
    assert policy.short_source("case_plan") == "IAG §3 Step 3 [L837]"  # the guidance's own number
    changed = MemoryRepo(rules={"case_plan": {"limit": "10d"}}).policy
    assert changed.short_source("case_plan") == "this agency's setting; IAG §3 Step 3 [L837]"
    assert changed.whose("case_plan") == changed.whose("case_plan", "limit") == "this agency's setting"
    assert changed.whose("referral_feedback") == "cpcm's choice" and changed.whose("case_plan", "other") == ""


def test_next__register_comprehensive_assessment_and_refer_give_the_deadlines_source():
    mem = MemoryRepo()
    amina = mem.as_("amina")
    service.service_add(amina, CLINIC_ENTRY)
    registered = service.register(amina, json.loads(json.dumps(registration())), None)
    assert any("the initial assessment within 48 hours (target 24 hours; IAG §3 Step 2 [L796]): cpcm assess" in step
               for step in registered.next_steps), registered.next_steps
    case_id = registered.subject_id
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="high"))
    assessed = service.assess(amina, case_id, "comprehensive", COMPREHENSIVE)
    assert f"case plan within 14 days (IAG §3 Step 3 [L837]): cpcm plan {case_id}" in assessed.next_steps, assessed.next_steps
    consented(amina, case_id)
    sent = refer(amina, case_id, need="x")
    assert "is expected within 14 days (cpcm's choice; IAG Step 4): cpcm referral" in sent.next_steps[0], sent.next_steps
    acknowledged = service.referral(amina, case_id, "R1", {"status": "acknowledged"})
    assert any("still expected within 14 days (cpcm's choice; IAG Step 4) of the referral" in step
               for step in acknowledged.next_steps), acknowledged.next_steps


def test_conference_report__due_and_the_close_next_line_cite_form_3_item_8_not_the_notice_period():
    """The report after a conference (within 24 hours of the meeting) is Form 3 item 8 of the Kenya
    SOP; the notice 7 days ahead (SOP §4 step 2) is another rule's source."""
    from test_conference import CLOSE_NOW, minuted_with, planned_in
    from cpcm.service import conferences
    mem = MemoryRepo("kenya")
    case_id = planned_in(mem)
    conf = minuted_with(mem, case_id)
    closer = mem.as_("sup", now=CLOSE_NOW)
    closed = conferences.close(closer, conf)
    assert any("24 hours after the meeting's start (Kenya case-conferencing SOP Form 3 item 8), is due by " in step
               and ": cpcm render conference-report" in step for step in closed.next_steps), closed.next_steps
    [item] = [i for i in service.due(closer) if i.code == "conference-report"]
    cited = mem.policy.short_source(item.rule)  # what `cpcm due` prints after the item's why
    assert cited == "Kenya case-conferencing SOP Form 3 item 8" and item.source.startswith(cited), (cited, item.source)
    assert "§4 step 2" not in item.source


def test_conference_report__an_agency_override_under_the_old_key_is_read_with_a_note():
    changed = MemoryRepo(rules={"conference": {"report": "48h"}}).policy
    assert changed.duration("conference_report", "limit").words() == "48 hours"
    assert any("rules.conference.report is the old name of rules.conference_report.limit" in n for n in changed.notes)


def test_conference_invitations_and_confirmation__cite_their_own_form_3_items_not_the_notice_period():
    """The invitations (and the plan with the final set of cases) a week ahead are Form 3 items 4
    and 6 of the Kenya SOP, the confirmation 3 days ahead item 7: each key of the conference rule
    cites its own source (`sources:`), the notice 7 days ahead (SOP §4 step 2) keeps the rule's.
    In the nomination's `cpcm due` item, the timeline warnings of `conference new`/`update`, the
    policy's rows (`cpcm policy show`) and `Policy.cited`."""
    from datetime import date, datetime, timedelta, timezone

    from cpcm.domain.records import Record
    from cpcm.workflow import conferences as conf

    policy = MemoryRepo("kenya").policy
    form_3 = {"invitations": "Kenya case-conferencing SOP Form 3 items 4, 6", "confirmation": "Kenya case-conferencing SOP Form 3 item 7",
              "notice": "Kenya case-conferencing SOP §4 step 2"}
    for key, cited in form_3.items():
        assert policy.short_source("conference", key) == cited and policy.short_source(f"conference.{key}") == cited
        assert policy.source("conference", key).startswith(cited)
    assert policy.cited("conference", "invitations") == "7 days (Kenya case-conferencing SOP Form 3 items 4, 6)"
    assert policy.cited("conference", "confirmation") == "3 days (Kenya case-conferencing SOP Form 3 item 7)"
    assert policy.short_source("conference") == form_3["notice"]  # the rule's own, for its other keys
    # conference new / update: each late item cites its own source
    warned = conf.timeline_warnings({}, date(2026, 12, 10), policy, date(2026, 12, 9))
    for key, cited in form_3.items():
        [line] = [w for w in warned if w.startswith(f"conference.{key}:")]
        assert line.endswith(f"({cited})"), line
    # cpcm due: the nomination waiting for the chair is due with the plan, a week ahead (the invitations' time)
    eat = timezone(timedelta(hours=3))

    def rec(kind, id_, **body):
        return Record(kind, 1, id_, "CC-1", "2026-11-20T09:00:00+03:00", "2026-11-20T06:00:00+00:00", "sup", body)
    c = conf.fold("CC-1", [rec("conference", "01A", type="internal", date="2026-12-10", chair="lead"),
                           rec("nomination", "01B", by="amina", case_id="CP-A", reason="especially_difficult", proposed=True)])
    [item] = conf.nominations_due(c, policy, datetime(2026, 12, 1, 9, tzinfo=eat))
    assert policy.short_source(item.rule) == form_3["invitations"], item.rule  # what `cpcm due` prints after the why
    assert item.source.startswith(form_3["invitations"]) and "§4 step 2" not in item.source
    # cpcm policy show: a row per key, with its own source; `sources` is no row
    rows = {(r["rule"], r["key"]): r["source"] for r in service.policy_rows(policy)}
    assert rows[("conference", "invitations")].startswith(form_3["invitations"])
    assert rows[("conference", "confirmation")].startswith(form_3["confirmation"])
    assert rows[("conference", "notice")].startswith(form_3["notice"])
    assert not [key for rule, key in rows if key.startswith("sources")]


def test_conference_invitations__an_agency_override_keeps_its_key_and_the_key_keeps_its_source():
    changed = MemoryRepo("kenya", rules={"conference": {"invitations": "10d", "confirmation": "2d"}}).policy
    assert changed.duration("conference", "invitations").words() == "10 days" and not changed.notes
    assert changed.cited("conference", "invitations") == "10 days (this agency's setting; Kenya case-conferencing SOP Form 3 items 4, 6)"
    assert changed.source("conference", "confirmation").startswith("Kenya case-conferencing SOP Form 3 item 7")
    assert changed.source("conference", "confirmation").endswith("(changed by this agency in .cpcm/policy.yaml)")


def test_next__a_step_dated_back_says_when_its_clock_is_due_as_due_lists_it_not_within():
    """Was: `register --at` five days back said "the initial assessment within 48 hours" while
    `cpcm due` listed it overdue since three days; a next line of a step dated back (--at) now gives
    the due time of `due`'s own item: 'was due by WHEN (overdue)' once passed, else 'is due by WHEN'.
    Dated now, it still says 'within'."""
    from datetime import timedelta

    from cpcm.domain.dates import local_text

    mem = MemoryRepo()
    amina = mem.as_("amina")
    back = mem.now - timedelta(days=5)
    registered = service.register(amina, json.loads(json.dumps(registration(risk="medium"))), back)
    case_id = registered.subject_id
    [item] = [i for i in service.due(amina) if i.case_id == case_id and i.code == "initial-assessment"]
    assert item.due < mem.now
    assert (f"the initial assessment was due by {local_text(item.due, amina.zone)} (overdue): cpcm assess {case_id} --type initial"
            in registered.next_steps), registered.next_steps
    assert not any("within 48 hours" in step for step in registered.next_steps), registered.next_steps
    # the comprehensive assessment dated back a day: the case plan is still to come, by its date
    service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk="medium", risk_reason="x"), back + timedelta(hours=1))
    assessed = service.assess(amina, case_id, "comprehensive", COMPREHENSIVE, mem.now - timedelta(days=1))
    [plan] = [i for i in service.due(amina, within_days=30) if i.case_id == case_id and i.code == "case-plan"]
    assert f"case plan is due by {local_text(plan.due, amina.zone)}: cpcm plan {case_id}" in assessed.next_steps, assessed.next_steps
    # dated now: 'within', as before
    now = service.register(amina, json.loads(json.dumps(registration(risk="medium"))), None)
    assert any(step.startswith("the initial assessment within 48 hours") for step in now.next_steps), now.next_steps
