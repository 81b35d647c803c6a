"""The due and statistics entries a cold fill makes (`tables.made_rows`) are byte for byte those
the code made before the rules, the watched `now` and the entries were made cheaper: generated
cases of many shapes (test_fill_rows_same.py's generator, another seed), under two policies, in
five zones, at `now`s around the cases' times, each run's entries (their JSON and the due texts)
digested and compared with the digests that code gave (`GOLDEN`).

A change that is meant to change the entries changes these digests: print `digests()` and
replace `GOLDEN`, saying in the commit why the entries changed.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from types import SimpleNamespace

from cpcm.service import tables
from cpcm.workflow import fold as fold_module
from cpcm.workflow.retention import restricted  # the recipients file as the records have it: no mismatch
from test_fill_rows_same import ALL_ZONES, NOWS, POLICIES, _session, shapes

ZONE_NAMES = ("nairobi", "nairobi-again", "plus3-named", "new-york", "santiago")
TIMES = (NOWS[0], NOWS[0] + timedelta(days=37, hours=5), NOWS[1], NOWS[1] - timedelta(days=90, minutes=7))


def digests() -> dict[str, str]:
    """For each policy, zone and `now`: a digest of every case's `made_rows`, made one after the
    other with one session (what one case leaves in it is there for the next)."""
    folded = [fold_module.fold(case_id, records) for case_id, records in shapes(140, 20261202)]
    found = {}
    for policy_name, policy in POLICIES.items():
        for zone_name in ZONE_NAMES:
            zone = ALL_ZONES[zone_name]
            for number, now in enumerate(TIMES):
                session = _session(zone, zone_name)
                ctx = SimpleNamespace(policy=policy, now=now.astimezone(zone), config=SimpleNamespace(policy_since=""))
                original = tables._session
                tables._session = lambda ctx, session=session: session
                try:
                    digest = hashlib.sha256()
                    for case in folded:
                        made = tables.made_rows(ctx, ("due", "statistics"), "ab" * 20, case, line=restricted(case))
                        digest.update(repr(sorted(made.items())).encode() + b"\n")
                finally:
                    tables._session = original
                found[f"{policy_name}/{zone_name}/{number}"] = digest.hexdigest()[:20]
    return found


# made by the code before (commit f3968f0); made again when a reopened case's assessment items
# began to say they count "of the reopening" (every run holds reopened cases); made again when a monitoring
# visit began to name the day of its placement in the zone of `now`, not in UTC (the kenya runs); made again
# when the review interval after reunification became the one in force when the review clock starts, not at
# `now` (kenya: a review due under the 6-month interval stays due after the period; inter-agency: the rule
# is named `review` at a `now` before the reunification; and no entry ends where that period ends); made again
# when a plan for reunification_done became a confirmation of the placement home of the same stay, not a second
# reunification (the kenya runs: the monitoring visits count from the placement); made again when the item
# taking a child admitted to a CCI to a case conference began to say that the chair or a supervisor nominates the case
# (the kenya runs); made again when plan action items began to cite their own rule, `plan_action`, and its source
# instead of the case-plan deadline's (every run: only the rule and source of plan-action items changed; no generated
# case is reopened with dated actions open on a plan in force from before the reopening, whose actions are no longer due); made again when approval items began to name who asked and on which
# day, and case-plan items to say that the latest version was rejected (every run: only those why texts changed); made
# again when the response to a risk the policy wants the same day (immediate) began to be titled URGENT (every run: only
# that title, and so its text's id, changed: compared with the rows before, those two put back); made again when a plan
# version waiting while the case's closure is requested stopped being an approval item (the stage lets nobody decide it:
# only the plan-approval items of cases at closure_requested went, one per such case and run; nothing else changed); made again
# when a risk increase re-rated in the follow-up that found it began to stay urgent until a later check, a post-closure
# visit that found the risk increased began to ask to reopen the case, and a plan rejected before the comprehensive
# assessment with no version in force began to ask for a new version (each commit of these says which rows changed); made again
# when an approved transfer whose bundle is not written became an item (approved-transfer) and a risk increase began to
# wait for a re-rating recorded after it in the records' order (each commit of these says which rows changed); made
# again when a referral not moved on since before the latest reopening stopped being due after it, as the old plan's
# actions (`plan_action.due_after_reopening: false`): compared with the rows before, the only change in every run is the
# referral-feedback entry of the 7 generated cases reopened with a referral still waiting from before the reopening,
# gone (its text and its place in the case's row); no other entry, text or statistics row changed; made again when
# the item taking a child admitted to a CCI to a case conference began to say that the caseworker nominates the case
# and the chair or a supervisor takes it into the final set (the kenya runs: compared with the rows before, only the
# why text of the conference-after-admission items of 9 generated cases changed, with its text's id; nothing else); made again when
# `due` stopped asking for a step the case's stage refuses (deadlines.at_stage): compared with the rows before, entry
# by entry, only cases at closure_requested changed (no statistics row): their initial-assessment, comprehensive-assessment,
# case-plan and turning-18 items went, and their risk-response and risk-increased items' why texts now name the follow-up
# (their titles and due times as before); no entry of a case at another stage changed; made again when the
# initial assessment of a child at a risk the policy wants answered the same day (immediate) became due that same day
# and URGENT (`deadlines.initial_assessment_due`): compared with the rows before, the only change in every run is that
# item of the generated cases at immediate risk still waiting for it (20 a run) (its text, its due time sooner, no target); no
# other entry, text, interval or statistics row changed; made again when the statistics rows began to hold each plan
# version's approval and rejection (the report counts the versions in force, and the rejected ones apart): compared with
# the rows before, the only change in every run is the statistics rows of the 7 generated cases with a plan decided,
# rows added after their own (plans rejected, plans approved, plans approved the child took part in: 7 a run); no due
# entry and no row there before changed; made again when the approved closure began to meet the turning-18 clock (a
# closure proposed answers it, as documented): compared with the rows before, entry by entry, the only change in every
# run is the turning-18 item of the one generated case whose closure was approved after the notice before its 18th
# birthday and which was reopened since: gone from its due row (from the interval that begins at the notice, with its
# text); no other entry, text, interval bound or statistics row changed; made again when a best-interests assessment
# became allowed while a closure is requested, so the text of the risk-response and risk-increased items at that stage
# says that an initial or comprehensive assessment (not any assessment) waits for the closure's decision: compared with
# the rows before, entry by entry, the only change in every run is the why text of those items of the 6 generated cases
# at closure_requested (and so its text's id); no other entry, text, interval bound or statistics row changed;
# and made again when a second decision of a plan version already decided (made apart on another copy) stopped
# deciding it again: compared with the rows before, entry by entry, the only change in every run is the one generated
# case whose plan version was approved twice, the second time after a reopening (out of order, at closure_requested):
# its review is due from the first approval, and the three plan-action items of that version, approved before the
# reopening, went (plan_action.due_after_reopening: false); no other entry, text or statistics row changed
# both of the last two together (compared case by case and run by run with the code before either and with each
# alone: every entry either left unchanged is as before, every entry one changed is that one's, and the one case
# both change, at closure_requested with its plan approved twice, holds both); made again when the kenya profile's
# `conference_after_admission` source began to say what the conference is counted from for a child reassessed before
# the repository took the kenya rules (the kenya runs only: that item's source text; every inter-agency digest as before);
# made again when a placement became a response to the risk (clocks.RESPONSES) and its text says so: compared with the
# code before, deadline by deadline over the generated cases, both policies and the four `now`s, the only items gone are
# 8 risk-response items of cases placed after their initial assessment, none added; every risk-response text says
# 'plan, placement or protection action' (no generated case is placed on a supervisor's reason, so the new
# placement-best-interests item is in none); made again when the items that go on while a closure is requested began to
# carry who asked for it and whom it bars from deciding it (`due` words their ways out of the wait for its team:
# approvals.closure_ways_out, rules.NobodyDecides.told): compared with the code before, deadline by deadline over the
# generated cases, both policies, five zones and four `now`s, the only items changed are the risk-increased items of 4
# cases and the risk-response item of 1 case, all at closure_requested, in every run, and in them only `requested_by`
# and `barred` (their titles, texts and due times as before); no item added or gone (no generated case has a revision
# rejected over a version in force, so the new plan-revision item is in none), no statistics row changed. Unchanged
# when `due` began to list, before a step the policy checks consent at (`consent.checked_at`), a consent refused for
# it (deadlines._step_consent: `step-consent-refused`): no generated case has one, and the fold's new `consents` and
# the consent rule's `now` compared rather than read change no entry. (The items of `keyworker-off-team` and of a
# consent taken away since are in no generated case either: no keyworker nominated, no consent refused or corrected
# after an action relied on it.) Made again when each open case's entry began to keep its risk level beside its
# worker (`tables.worker_cell`: [worker, keyworker or None, risk]), so that `due` lists `cadre-escalation` from the team
# now (every run: only that cell changed; with the cell made as before, every digest here is the one before).
# Made again when a closed or transferred case began to carry the managers' item of its retention (`retention-ended`,
# workflow/retention.py, due when the policy's `retention.closed_for` has passed since the closure): compared with the
# code before, the only change is that item added to each of the 9 closed cases in every run (360 items).
# Made again when each open case's risk cell began to keep when the case would have gone above its worker's cadre
# (`tables.worker_cell`: [worker, keyworker or None, risk, since], since `rules.cadre_since`, dated by `Case.risk_since`,
# when the risk came to its current level) so that `due` reads no case's records for `cadre-escalation`: every run
# changed, and only that cell (with the cell made as before, [worker, keyworker or None, risk], every digest here is
# the one before: the fold's new `risk_since` changes no deadline, text, interval or statistics row).
# Made again when the retention item's text began to say the period "ended" once its day has come ("ends"
# before it: workflow/retention.py `why` compares `now` with the period's end): compared with the code before, entry
# by entry, the only change is the upper bound of the one piece of each of the 9 closed cases' entries in every run
# (360 entries), which now ends at the retention end (the item's due time) instead of being open; no item, text or
# statistics row changed (the generated `now`s are years before any retention end). Both last changes made together
# here, each checked alone on its own against the code before.
# Made again when the retention item's title became one that holds before and after the period's end ("retention
# period: decide: keep or restrict", its text saying "ends" or "ended"): only that item's text changed.
# Made again when the post-closure visit became owed only after the closures the policy lists
# (`post_closure_visit.reasons`, deadlines.post_closure_visit_owed) and a review's decision became an item
# (review-decision): compared with the code before, deadline by deadline over the generated cases, both policies,
# five zones and four `now`s, the only change is the post-closure-visit item of the one generated case closed as
# `transferred` (CP-TEST-0056), gone in every run (40 entries); no item added (no generated review decides
# anything but continue), no other entry, text or statistics row changed.
# Made again when the turning-18 item became due by the end of the birthday (23:59:59 there, not its first moment: a
# closure for reached_18 is taken from that day) and the item after a closure whose later follow-up found the risk
# increased began to say "a follow-up dated after the closure": compared entry by entry with the code before
# (5fb8a4dc), 1,770 of 5,600 case runs differ only in a turning-18 time 86,399 s later, and 40 in that text; nothing else.
# Made again when the path of reintegration began to follow the profile (placements.steps_of: no monitoring visits
# where none are scheduled, no readiness benchmarks where closure waits for none): compared entry by entry with the
# code before, the only change is the due time of the reintegration-step item of the 3 generated inter-agency cases
# in residential care with a home visit or a readiness record made there (no longer a step of that profile's path, so
# no longer the last step the month runs from: the item falls due sooner; its title and texts as before), in every
# inter-agency run; every kenya digest as before.
# Made again when a court order became due at the end of its expiry day (23:59:59 there, as a deadline given as a date
# alone, dates.end_of_day), not its first moment: compared deadline by deadline with the code before, over the generated
# cases, both policies, five zones and four `now`s, the only change is the court-order item of the 13 generated cases
# placed under an order with an expiry, in every run (520 entries): its due time and target 86,399 s later, its title
# and texts as before; no item added or gone, no statistics row changed.
# Made again when a home visit or a readiness record made before the child went home stopped being a step of the
# path of reintegration (placements.AFTER_HOME): compared deadline by deadline with the code before, the only change
# is the due time of the reintegration-step item of the 3 generated kenya cases in residential care with a home visit
# or a readiness record made there (no longer the last step the month runs from: the item falls due sooner; its title
# and texts as before), in every kenya run (60 entries); every inter-agency digest as before.
# Made again when the review clock stopped running, after a reopening, from the plan version approved before it
# (deadlines._review: none until a plan comes into force since the reopening): compared deadline by deadline with the
# code before, the only change is the review item gone from the 2 generated cases (one per policy) that are planned
# again after a reopening with the version from before it still the latest approved, in every run (40 entries); no
# item added or changed, no statistics row changed.
# Made again when the conference after an admission to a CCI stopped being owed once the child has left residential care
# (conferences.admission_conference_due, placements.in_residential_care): compared deadline by deadline with the code
# before, the only change is the conference-after-admission item gone from the 2 generated kenya cases registered as
# living in an institution and placed in kinship care since (CP-TEST-0008, CP-TEST-0052), in every kenya run (40
# entries); no item added or changed, no statistics row changed; every inter-agency digest as before.
# Made again when the due table began to keep a case's own ID in its texts as a mark (tables.CASE_MARK: one text for
# every case whose plan action or other item names the case in what to run, where it was one text a case): with the
# mark put back (tables.marked left out) every digest is the one above, in every run (40 entries); the view and `due`
# put the case's ID back (tables.with_case, CaseDue.deadline).
GOLDEN = {
    "kenya/nairobi/0": "4f032fadb588c4fd4e63",
    "kenya/nairobi/1": "d8bfb9241fa72378cfc4",
    "kenya/nairobi/2": "21a2f833f23431547849",
    "kenya/nairobi/3": "98d1d1a2dd99008aa40a",
    "kenya/nairobi-again/0": "4f032fadb588c4fd4e63",
    "kenya/nairobi-again/1": "d8bfb9241fa72378cfc4",
    "kenya/nairobi-again/2": "21a2f833f23431547849",
    "kenya/nairobi-again/3": "98d1d1a2dd99008aa40a",
    "kenya/plus3-named/0": "4f032fadb588c4fd4e63",
    "kenya/plus3-named/1": "d8bfb9241fa72378cfc4",
    "kenya/plus3-named/2": "21a2f833f23431547849",
    "kenya/plus3-named/3": "98d1d1a2dd99008aa40a",
    "kenya/new-york/0": "1c83cc5911a4674e4760",
    "kenya/new-york/1": "d9753e860f0f75734744",
    "kenya/new-york/2": "3834e3f9776e4d020380",
    "kenya/new-york/3": "4a89a6d519c802400661",
    "kenya/santiago/0": "ec81fda399ca31427653",
    "kenya/santiago/1": "80fb3d5d2d93e10eced7",
    "kenya/santiago/2": "fa640b19225cb84b8ebf",
    "kenya/santiago/3": "d05dd28dee672bcb94c8",
    "inter-agency/nairobi/0": "f7c509d3bf828bbfc97a",
    "inter-agency/nairobi/1": "8cd7973b99eeb8e22454",
    "inter-agency/nairobi/2": "7d0e36adfe9e41f24d99",
    "inter-agency/nairobi/3": "ab5487fa8affba7c50cb",
    "inter-agency/nairobi-again/0": "f7c509d3bf828bbfc97a",
    "inter-agency/nairobi-again/1": "8cd7973b99eeb8e22454",
    "inter-agency/nairobi-again/2": "7d0e36adfe9e41f24d99",
    "inter-agency/nairobi-again/3": "ab5487fa8affba7c50cb",
    "inter-agency/plus3-named/0": "f7c509d3bf828bbfc97a",
    "inter-agency/plus3-named/1": "8cd7973b99eeb8e22454",
    "inter-agency/plus3-named/2": "7d0e36adfe9e41f24d99",
    "inter-agency/plus3-named/3": "ab5487fa8affba7c50cb",
    "inter-agency/new-york/0": "8d9fda09c5ed8fa30303",
    "inter-agency/new-york/1": "af196bf19860e7e648fb",
    "inter-agency/new-york/2": "4a3b66a7c7e463c614de",
    "inter-agency/new-york/3": "a5f272313ee5f8c53c67",
    "inter-agency/santiago/0": "97f60c74495e8c58a73c",
    "inter-agency/santiago/1": "f206d0e34cb2559d868c",
    "inter-agency/santiago/2": "c903d14e88ba57017748",
    "inter-agency/santiago/3": "acb5dec3303b5ba75f1f",
}


def test_made_rows__byte_for_byte_as_before():
    assert digests() == GOLDEN


def test_policy_parts__each_policy_object_its_own():
    """The parts kept per policy (`deadlines._parts`) follow the policy object: a policy read
    again with other limits, risk levels, an age limit or sources, used after and between runs
    with the first, gives its own items; and the kept policies stay few."""
    from dataclasses import replace

    from cpcm.workflow import deadlines

    case = fold_module.fold(*shapes(1, 5)[0])
    case = replace(case, status="open", child={"date_of_birth": "2009-01-10"}, risk="high",
                   registered_at="2026-11-01T08:00:00+00:00", events={})
    first = POLICIES["kenya"]
    rules = {name: dict(block) for name, block in first.rules.items()}
    rules["initial_assessment"].update(limit="9d", target="4d", source="Another source")
    rules["risk_response"]["limit"] = {**rules["risk_response"]["limit"], "high": "5d"}
    rules["child_age_limit"] = {**rules.get("child_age_limit", {}), "years": 17}
    second = replace(first, rules=rules)
    now = datetime(2026, 11, 2, 9, 0, tzinfo=ALL_ZONES["nairobi"])

    def view(policy):
        return [(d.code, d.title, d.due, d.target, d.why, d.source) for d in deadlines.deadlines(case, policy, now)]

    before = view(first)
    other = view(second)
    assert view(first) == before and view(second) == other and other != before
    initial = {d[0]: d for d in other}["initial-assessment"]
    assert initial[2] == datetime(2026, 11, 10, 11, 0, tzinfo=now.tzinfo) and "9 days" in initial[4] and initial[5] == "Another source"
    for _ in range(deadlines._PARTS_KEPT + 3):
        view(replace(first))  # a policy read again each time: equal, another object
    assert len(deadlines._PARTS) <= deadlines._PARTS_KEPT
    assert view(first) == before
