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
    acknowledged = service.referral(amina, case_id, "R1", "acknowledged")
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
    assert any("within 24 hours (Kenya case-conferencing SOP Form 3 item 8): cpcm render conference-report" in step
               for step in closed.next_steps), closed.next_steps
    [item] = [i for i in service.due(closer) if i.code == "conference-report"]
    cited = mem.policy.short_source(item.rule)  # what `cpcm due` prints after the item's why
    assert cited == "Kenya case-conferencing SOP Form 3 item 8" and item.source.startswith(cited), (cited, item.source)
    assert "§4 step 2" not in item.source


def test_conference_report__an_agency_override_under_the_old_key_is_read_with_a_note():
    changed = MemoryRepo(rules={"conference": {"report": "48h"}}).policy
    assert changed.duration("conference_report", "limit").words() == "48 hours"
    assert any("rules.conference.report is the old name of rules.conference_report.limit" in n for n in changed.notes)
