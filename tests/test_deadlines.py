"""Every clock in docs/workflow.md (from POLICY.md), at its boundaries: a pure function of the
records, the policy and `now`. Each case cites the rule's source."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cpcm.store import policies
from cpcm.domain.records import Record
from cpcm.workflow.deadlines import deadlines, soon_window
from cpcm.workflow.fold import fold
from cpcm.domain.profiles import build

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=3)))
INTER = policies.load("inter-agency")
KENYA = policies.load("kenya")
_counter = iter(range(10**6))


def rec(kind: str, at: datetime, **body) -> Record:
    n = next(_counter)
    return Record(kind=kind, schema=1, id=f"01H{n:023d}", case="CP-TEST-0000", at=at.isoformat(), recorded_at=at.isoformat(),
                  by=body.pop("by", "amina"), body=body)


def registered(at=T0, risk="high", **child) -> Record:
    return rec("registration", at, risk=risk, worker="amina", child=child or {"name": "x", "date_of_birth": "2015-01-01"})


def items(records, policy=INTER, now=T0):
    return {d.code: d for d in deadlines(fold("CP-TEST-0000", records), policy, now)}


def state(records, code, now, policy=INTER):
    item = items(records, policy, now)[code]
    return item.state(now, soon_window(policy, now))


H, D = timedelta(hours=1), timedelta(days=1)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize("elapsed, expected", [
    (23 * H + 59 * MIN, "due_soon"),      # before the 24 h target
    (24 * H + MIN, "target_missed"),      # target passed, within the limit
    (47 * H + 59 * MIN, "target_missed"),  # still within 48 h
    (48 * H + MIN, "overdue"),            # past the 48 h limit
])
def test_initial_assessment__24h_target_48h_limit(elapsed, expected):
    """IAG §3 Step 2 [L796]; ESARO S2: 24 hours, never later than 48 hours after registration."""
    assert state([registered()], "initial-assessment", T0 + elapsed) == expected


def test_initial_assessment__done_stops_the_clock():
    records = [registered(), rec("assessment", T0 + 3 * H, type="initial", risk="high")]
    assert "initial-assessment" not in items(records, now=T0 + 50 * H)


@pytest.mark.parametrize("risk, limit", [("high", 72 * H), ("medium", 7 * D), ("low", 7 * D)])
def test_risk_response__by_risk_level_from_the_initial_assessment(risk, limit):
    """IAG §3 Step 2 [L803-807]: high 72 hours; medium and low 1 week."""
    assessed = T0 + 2 * H
    records = [registered(risk=risk), rec("assessment", assessed, type="initial", risk=risk)]
    assert state(records, "risk-response", assessed + limit - MIN) != "overdue"
    assert state(records, "risk-response", assessed + limit + MIN) == "overdue"


def test_risk_response__immediate_means_the_same_day():
    """IAG §3 [L805]: immediate risk, respond before the child leaves your care (same day)."""
    assessed = T0.replace(hour=15)
    records = [registered(risk="immediate"), rec("assessment", assessed, type="initial", risk="immediate")]
    assert state(records, "risk-response", assessed.replace(hour=23, minute=59)) == "due_soon"
    assert state(records, "risk-response", assessed + D - 15 * H + MIN) == "overdue"


def test_risk_response__protection_actions_at_the_assessment_are_the_response():
    records = [registered(risk="immediate"),
               rec("assessment", T0 + H, type="initial", risk="immediate", immediate_actions=["placed in emergency care"])]
    assert "risk-response" not in items(records, now=T0 + 3 * D)


def test_risk_response__rerated_risk_changes_the_clock():
    records = [registered(risk="low"), rec("assessment", T0, type="initial", risk="high")]
    assert items(records, now=T0)["risk-response"].due == T0 + 72 * H


@pytest.mark.parametrize("elapsed, expected", [
    (7 * D - MIN, "due_soon"), (7 * D + MIN, "target_missed"), (31 * D - MIN, "target_missed"), (31 * D + MIN, "overdue"),
])
def test_comprehensive_assessment__7_days_target_1_month_limit(elapsed, expected):
    """IAG §3 Step 2 [L785-789, L839]; ESARO S2: 1 week target, 1 month at most (March has 31 days)."""
    assert state([registered()], "comprehensive-assessment", T0 + elapsed) == expected


def test_case_plan__14_days_after_the_comprehensive_assessment():
    """IAG §3 Step 3 [L837]; ESARO S3."""
    done = T0 + 5 * D
    records = [registered(), rec("assessment", T0 + H, type="initial", risk="high"),
               rec("assessment", done, type="comprehensive")]
    assert items(records, now=done)["case-plan"].due == done + 14 * D
    assert state(records, "case-plan", done + 14 * D + MIN) == "overdue"


def test_case_plan__an_unapproved_plan_is_not_in_force():
    """An unapproved plan does not count (plan approval required by the profile)."""
    done = T0 + 5 * D
    base = [registered(), rec("assessment", T0 + H, type="initial"), rec("assessment", done, type="comprehensive"),
            rec("plan", done + D, closure_criteria=["safe at home"])]
    waiting = items(base, now=done + 2 * D)
    assert "case-plan" in waiting and "plan-approval" in waiting
    assert waiting["plan-approval"].owner == "supervisors"
    approved = base + [rec("approval", done + 2 * D, subject="plan", by="sup")]
    after = items(approved, now=done + 3 * D)
    assert "case-plan" not in after and "plan-approval" not in after


def test_case_plan__in_force_at_once_where_the_policy_needs_no_approval():
    policy, errors = build(policies.chain("inter-agency"), {"rules": {"plan_approval": {"required": False}}})
    assert not errors
    done = T0 + 5 * D
    records = [registered(), rec("assessment", T0 + H, type="initial"), rec("assessment", done, type="comprehensive"),
               rec("plan", done + D, closure_criteria=["x"])]
    assert "case-plan" not in items(records, policy, now=done + 2 * D)
    assert items(records, policy, now=done + 2 * D)["review"].due.date() == (done + D).replace(month=6).date()


def _planned(policy_approval=True):
    done = T0 + 5 * D
    records = [registered(), rec("assessment", T0 + H, type="initial"), rec("assessment", done, type="comprehensive"),
               rec("plan", done + D, closure_criteria=["x"])]
    if policy_approval:
        records.append(rec("approval", done + D, subject="plan", by="sup"))
    return records, done + D


def test_review__every_3_months_from_the_plan_then_from_the_last_review():
    """IAG §3 Step 5 [L921]; ESARO S5: at least every 3 months (calendar months)."""
    records, start = _planned()
    assert items(records, now=start)["review"].due == start.replace(month=6)
    reviewed = start + 20 * D
    records.append(rec("review", reviewed))
    assert items(records, now=reviewed)["review"].due == reviewed.replace(month=reviewed.month + 3)


def test_review__kenya_reviews_every_6_months_for_2_years_after_reunification():
    """Kenya SOP glossary: every 6 months for 2 years after reunification; inter-agency: 3 months."""
    records, start = _planned()
    reunified = start + 10 * D
    records.append(rec("plan", reunified, reason="reunification_done", closure_criteria=["x"]))
    records.append(rec("approval", reunified, subject="plan", by="sup"))
    now = reunified + D
    assert items(records, INTER, now)["review"].due == reunified.replace(month=reunified.month + 3)
    assert items(records, KENYA, now)["review"].due == reunified.replace(month=reunified.month + 6)
    later = reunified.replace(year=reunified.year + 2) + D  # after the two years: back to 3 months
    records.append(rec("review", later - D))
    assert items(records, KENYA, later)["review"].due == (later - D).replace(month=(later - D).month + 3)


def _reunified_and_reviewed():
    """Kenya: a plan for reunification_done approved on 16 November 2026, reviewed on 2 December."""
    eat = T0.tzinfo
    records = [registered(datetime(2026, 10, 1, 9, 0, tzinfo=eat)),
               rec("assessment", datetime(2026, 10, 2, 9, 0, tzinfo=eat), type="initial"),
               rec("assessment", datetime(2026, 10, 3, 9, 0, tzinfo=eat), type="comprehensive"),
               rec("plan", datetime(2026, 11, 16, tzinfo=eat), reason="reunification_done", closure_criteria=["x"]),
               rec("approval", datetime(2026, 11, 16, tzinfo=eat), subject="plan", by="sup"),
               rec("review", datetime(2026, 12, 2, tzinfo=eat))]
    return records, eat


def test_review__a_review_due_under_the_6_month_interval_stays_due_on_that_day_when_the_2_years_end():
    """Kenya SOP glossary: every 6 months for 2 years after reunification. The interval is the one
    in force when the review clock starts (the last review, 2 December 2026: inside the 2 years),
    whatever `now` is: the missed review does not move back to 3 months after it once the 2 years
    are over (16 November 2028)."""
    records, eat = _reunified_and_reviewed()
    for now in (datetime(2027, 5, 1, 10, 0, tzinfo=eat), datetime(2028, 11, 10, 10, 0, tzinfo=eat),
                datetime(2028, 11, 16, tzinfo=eat), datetime(2028, 11, 20, 10, 0, tzinfo=eat), datetime(2030, 1, 1, tzinfo=eat)):
        review = items(records, KENYA, now)["review"]
        assert (review.due.isoformat(), review.rule) == ("2027-06-02T00:00:00+03:00", "review_after_reunification"), now
        assert "every 6 months" in review.why
    assert state(records, "review", datetime(2028, 11, 20, 10, 0, tzinfo=eat), KENYA) == "overdue"


def test_review__the_3_month_interval_counts_from_the_first_review_after_the_2_years():
    records, eat = _reunified_and_reviewed()
    inside = records + [rec("review", datetime(2028, 11, 15, 10, 0, tzinfo=eat))]  # the last day of the 2 years
    review = items(inside, KENYA, datetime(2029, 2, 1, tzinfo=eat))["review"]
    assert (review.due.isoformat(), review.rule) == ("2029-05-15T10:00:00+03:00", "review_after_reunification")
    after = records + [rec("review", datetime(2028, 11, 20, 10, 0, tzinfo=eat))]
    review = items(after, KENYA, datetime(2028, 11, 21, tzinfo=eat))["review"]
    assert (review.due.isoformat(), review.rule) == ("2029-02-20T10:00:00+03:00", "review")
    assert review.source == KENYA.source("review")


def test_review__a_clock_started_before_the_reunification_takes_the_6_month_interval_and_inter_agency_never_does():
    records, start = _planned()
    home = start + 20 * D
    records.append(rec("placement", home, care_type="kinship", setting="family_based", reunification=True))
    assert items(records, KENYA, home + D)["review"].due == start.replace(month=start.month + 6)
    assert items(records, KENYA, home + D)["review"].rule == "review_after_reunification"
    # inter-agency: no separate interval (a period of 0), whenever the clock started
    assert (items(records, INTER, home + D)["review"].due, items(records, INTER, home + D)["review"].rule) == (
        start.replace(month=start.month + 3), "review")


def _home_then_back_in_care():
    """Kenya: a child admitted to a CCI, gone home (the reunification) and back in the CCI after a
    breakdown, the case open all the while; (records, when the child went back)."""
    records, start = _planned()
    records.append(rec("placement", start - D, care_type="institutional_care", setting="residential"))
    home = start + 20 * D
    records.append(rec("placement", home, care_type="family", setting="family", reunification=True))
    back = home + 30 * D
    records.append(rec("placement", back, care_type="institutional_care", setting="residential"))
    return records, back


def test_review__a_child_back_in_residential_care_after_a_breakdown_is_reviewed_every_3_months():
    """IAG §3 Step 5 [L921]: a child in care is reviewed at least every 3 months; the 6 months of the
    Kenya SOP glossary run while the child is home, the same rule that stops the monitoring visits
    (`placements.home_since`), not from a reunification the child has come back from."""
    records, back = _home_then_back_in_care()
    plan = back + D
    records += [rec("plan", plan, closure_criteria=["x"]), rec("approval", plan, subject="plan", by="sup")]
    found = items(records, KENYA, plan + D)
    assert (found["review"].due, found["review"].rule) == (plan.replace(month=plan.month + 3), "review")
    assert "every 3 months" in found["review"].why and "monitoring-visit" not in found
    # a clock that started while the child was home: the child is in care now, 3 months from its start
    records, back = _home_then_back_in_care()
    review = items(records, KENYA, back + D)["review"]
    assert review.rule == "review", review


def test_review__a_reopened_case_of_a_child_back_in_residential_care_is_reviewed_every_3_months():
    """After a reopening (IAG Step 6) the child went back to the CCI: the reunification of the
    closed episode no longer sets the interval (IAG §3 Step 5: every 3 months)."""
    records, start = _planned()
    records.append(rec("placement", start - D, care_type="institutional_care", setting="residential"))
    home = start + 10 * D
    records.append(rec("placement", home, care_type="family", setting="family", reunification=True))
    closed = home + 40 * D
    records += [rec("closure", closed - D, reason="goals_met"), rec("approval", closed, subject="closure", by="sup")]
    reopened = closed + 60 * D
    records += [rec("reopen", reopened, reason="new concern"), rec("assessment", reopened + H, type="initial"),
                rec("placement", reopened + 2 * H, care_type="institutional_care", setting="residential"),
                rec("assessment", reopened + 5 * D, type="comprehensive")]
    plan = reopened + 6 * D
    records += [rec("plan", plan, reason="after_reopening", closure_criteria=["x"]), rec("approval", plan, subject="plan", by="sup")]
    found = items(records, KENYA, plan + D)
    assert (found["review"].due, found["review"].rule) == (plan.replace(month=plan.month + 3), "review")
    assert "monitoring-visit" not in found
    # the same reopened case with the child still at home keeps the 6 months of the reunification
    records = [r for r in records if not (r.kind == "placement" and r.at == (reopened + 2 * H).isoformat())]
    assert items(records, KENYA, plan + D)["review"].rule == "review_after_reunification"


def test_post_closure_visit__within_3_months_of_closure():
    """IAG Step 6 [L944]; ESARO S6."""
    records, start = _planned()
    closed = start + 40 * D
    records += [rec("closure", closed - D, reason="goals_met"), rec("approval", closed, subject="closure", by="sup")]
    found = items(records, now=closed)
    assert found["post-closure-visit"].due == closed + (closed.replace(month=closed.month + 3) - closed)
    records.append(rec("followup", closed + 30 * D, purpose="post_closure"))
    assert "post-closure-visit" not in items(records, now=closed + 31 * D)


def test_closure_request__waits_for_a_supervisor():
    records, start = _planned()
    records.append(rec("closure", start + D, reason="goals_met"))
    found = items(records, now=start + 2 * D)
    assert found["closure-approval"].owner == "supervisors"
    assert found["closure-approval"].requested_by == "amina"


def test_turning_18__shows_within_90_days_and_a_justification_clears_it():
    """IAG §1 and Step 6 [L939]: propose closure at 18, or continue with a justification."""
    records = [registered(name="x", date_of_birth="2009-05-01")]
    assert "turning-18" not in items(records, now=datetime(2027, 1, 30, tzinfo=timezone.utc))
    assert "turning-18" in items(records, now=datetime(2027, 2, 1, tzinfo=timezone.utc))
    records.append(rec("continuation", datetime(2027, 2, 2, tzinfo=timezone.utc), reason="additional vulnerabilities"))
    assert "turning-18" not in items(records, now=datetime(2027, 2, 3, tzinfo=timezone.utc))


def test_reopen__restarts_the_clocks_from_the_reopening():
    """IAG Step 6; ESARO S6: reopening returns to assessment, same case ID."""
    records, start = _planned()
    records += [rec("closure", start + D, reason="goals_met"), rec("approval", start + 2 * D, subject="closure", by="sup")]
    reopened = start + 60 * D
    records.append(rec("reopen", reopened, reason="new concern"))
    found = items(records, now=reopened)
    assert found["initial-assessment"].due == reopened + 48 * H
    assert found["comprehensive-assessment"].target == reopened + 7 * D
    assert "post-closure-visit" not in found


def test_before_reopening__what_came_before_the_latest_reopening_whatever_its_offset():
    """`before_reopening` (what `cpcm show` and the case file mark as of the earlier episode)
    compares with the fold's latest reopening, in UTC: a time typed with another offset counts
    by when it happened; the reopening itself and what follows are not before it; a case never
    reopened has nothing before it."""
    from cpcm.workflow.deadlines import before_reopening

    records, start = _planned()
    assert not before_reopening(fold("CP-TEST-0000", records), start.isoformat())
    records += [rec("closure", start + D, reason="goals_met"), rec("approval", start + 2 * D, subject="closure", by="sup")]
    first, latest = start + 30 * D, start + 60 * D
    records += [rec("reopen", first, reason="new concern"), rec("closure", first + D, reason="goals_met"),
                rec("approval", first + 2 * D, subject="closure", by="sup"), rec("reopen", latest, reason="again")]
    case = fold("CP-TEST-0000", records)
    utc_latest = latest.astimezone(timezone.utc)
    assert before_reopening(case, (first + D).isoformat())  # the first episode after the first reopening too
    assert before_reopening(case, (utc_latest - timedelta(minutes=1)).isoformat())
    assert not before_reopening(case, utc_latest.isoformat()) and not before_reopening(case, latest.isoformat())
    # 08:30 at +02:00 is after 09:00 at +03:00
    assert not before_reopening(case, latest.replace(hour=8, minute=30, tzinfo=timezone(timedelta(hours=2))).isoformat())
    assert not before_reopening(case, None)


def test_changing_the_policy_changes_every_deadline_without_migration():
    policy, errors = build(policies.chain("inter-agency"), {"rules": {"initial_assessment": {"target": "12h", "limit": "36h"}}})
    assert not errors
    assert items([registered()], policy)["initial-assessment"].due == T0 + 36 * H


def _cases_with_every_main_clock():
    """(records, now) for cases that between them start the clocks every case goes through."""
    planned, start = _planned()
    unapproved, _ = _planned(policy_approval=False)
    yield [registered()], T0 + H                                                    # initial assessment, comprehensive
    yield [registered(), rec("assessment", T0 + H, type="initial", risk="high")], T0 + 2 * H  # risk response
    yield planned[:3], start                                                        # case plan
    yield unapproved, start                                                         # plan approval
    yield planned, start                                                            # review
    yield planned + [rec("closure", start + D, reason="goals_met")], start + 2 * D  # closure approval
    yield planned + [rec("closure", start + D, reason="goals_met"),
                     rec("approval", start + 2 * D, subject="closure", by="sup")], start + 3 * D  # post-closure visit
    yield [registered(name="x", date_of_birth="2009-05-01")], datetime(2027, 2, 1, tzinfo=timezone.utc)  # turning 18


@pytest.mark.parametrize("policy", [INTER, KENYA], ids=["inter-agency", "kenya"])
def test_every_deadline_names_its_rule_and_source(policy):
    seen = set()
    for records, now in _cases_with_every_main_clock():
        for item in deadlines(fold("CP-TEST-0000", records), policy, now):
            seen.add(item.code)
            assert item.rule in policy.rules, item.code
            assert item.source and item.source == policy.source(item.rule), item.code
            assert item.why.strip(), item.code
    assert seen == {"initial-assessment", "comprehensive-assessment", "risk-response", "case-plan", "plan-approval", "review",
                    "closure-approval", "post-closure-visit", "turning-18", "retention-ended"}


# -- retention of closed cases (workflow/retention.py): the managers' item once retention.closed_for has passed ----------
def _closed():
    planned, start = _planned()
    closed_at = start + 2 * D
    return planned + [rec("closure", start + D, reason="goals_met"), rec("approval", closed_at, subject="closure", by="sup")], \
        closed_at


def test_retention__due_for_the_managers_when_closed_for_has_passed_since_the_closure_was_approved():
    from cpcm.workflow.clocks import MANAGERS

    records, closed_at = _closed()
    item = items(records, now=closed_at + D)["retention-ended"]
    assert item.owner == MANAGERS and item.due == closed_at.replace(year=closed_at.year + 7)
    assert item.state(closed_at + 7 * 366 * D, soon_window(INTER, closed_at)) == "overdue"
    # kept until a date: due that day; restricted: nothing more to decide
    later = closed_at + 7 * 366 * D
    kept = records + [rec("retention", later, decision="keep", until="2040-03-01", reason="court", by="mgr")]
    assert items(kept, now=later)["retention-ended"].due == datetime(2040, 3, 1, tzinfo=later.tzinfo)  # the start of that day, local
    restricted = records + [rec("retention", later, decision="restrict", reason="period over", by="mgr")]
    assert "retention-ended" not in items(restricted, now=later)


def test_retention__a_reopened_case_is_not_closed_and_a_transferred_one_counts_from_its_transfer():
    records, closed_at = _closed()
    later = closed_at + 7 * 366 * D
    kept = records + [rec("retention", later, decision="keep", until="2040-03-01", reason="court", by="mgr")]
    reopened = kept + [rec("reopen", later + D, reason="new concern")]
    assert "retention-ended" not in items(reopened, now=later + 2 * D)
    # closed again: the period starts again from the new closure, the decision before the reopening no longer counts
    again = reopened + [rec("closure", later + 3 * D, reason="goals_met"), rec("approval", later + 4 * D, subject="closure", by="sup")]
    assert items(again, now=later + 5 * D)["retention-ended"].due == (later + 4 * D).replace(year=(later + 4 * D).year + 7)
    planned, start = _planned()
    transferred = planned + [rec("transfer", start + D, to="OTHER-AGENCY")]
    found = items(transferred, now=start + 2 * D)
    assert found["retention-ended"].due == (start + D).replace(year=(start + D).year + 7)


def test_retention__a_restriction_stands_through_a_reopening_and_a_closure_until_an_assignment():
    """The one rule (workflow/retention.py `restricted`): a restriction stands from the restrict
    decision until the case is next assigned to a worker, as the `# restricted` line of its
    recipients file does. Restricted, reopened and closed again, the case is still restricted:
    no `retention-ended` item (`cpcm retention` refuses it as restricted already); reopened and
    not given to a worker, the managers are told (`restricted-open`), and `check` says so."""
    from cpcm.workflow import retention
    from cpcm.workflow.clocks import MANAGERS
    from cpcm.workflow.rules import check_case

    records, closed_at = _closed()
    later = closed_at + 7 * 366 * D
    restricted = records + [rec("retention", later, decision="restrict", reason="period over", by="mgr")]
    reopened = restricted + [rec("reopen", later + D, reason="new concern", by="mgr")]
    case = fold("CP-TEST-0000", reopened)
    assert retention.restricted(case) and retention.restricted_open(case)
    item = items(reopened, now=later + 2 * D)["restricted-open"]
    assert item.owner == MANAGERS and item.due == later + D and "cpcm assign CP-TEST-0000 --worker W" in item.why
    assert ("restricted-open", "error") in {(p.code, p.severity) for p in check_case(case, INTER, later + 2 * D)}
    again = reopened + [rec("closure", later + 3 * D, reason="goals_met", by="mgr"),
                        rec("approval", later + 4 * D, subject="closure", by="mgr2")]
    decades = later + 4 * D + 8 * 366 * D  # long past the new closure's retention period
    closed_again = fold("CP-TEST-0000", again)
    assert retention.restricted(closed_again) and retention.state(closed_again, INTER, decades) == retention.RESTRICTED
    assert "retention-ended" not in items(again, now=decades) and "restricted-open" not in items(again, now=decades)
    assert "retention-ended" not in {p.code for p in check_case(closed_again, INTER, decades)}
    # given to a worker: the restriction ends; open, nothing for the managers; closed again, its retention runs again
    given = reopened + [rec("assignment", later + 2 * D, worker="amina", previous="amina", by="mgr")]
    assert not retention.restricted(fold("CP-TEST-0000", given))
    assert "restricted-open" not in items(given, now=later + 3 * D)
    closed = given + [rec("closure", later + 3 * D, reason="goals_met"), rec("approval", later + 4 * D, subject="closure", by="sup")]
    assert retention.state(fold("CP-TEST-0000", closed), INTER, decades) == retention.ENDED
    assert "retention-ended" in items(closed, now=decades)
