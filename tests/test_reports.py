"""Management reports and exports: a known synthetic caseload gives known numbers (golden JSON
in tests/golden/reports-*.json), small cells are suppressed with complementary suppression,
the statistics report never carries a case ID, a worker id or a child's name, report files are
age-encrypted unless --plaintext, and an export needs a recipient or the explicit plaintext
flag, and consent for sharing for identifying fields.

After a deliberate change to a report, regenerate the golden files and read the diff:

    CPCM_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_reports.py
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import CANARY, NOW, register
from test_due_unattended import orphaned  # noqa: F401 - a fixture
from cpcm.store import policies
from cpcm.domain.records import Record
from cpcm.domain.team import Team, Worker
from cpcm.reports import caseload, statistics, timeliness
from cpcm.reports.statistics import combine as combine_returns, counts as statistics_counts
from cpcm.reports.disclosure import line_check, protected_table, suppress
from cpcm.workflow.deadlines import deadlines
from cpcm.workflow.fold import fold

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CPCM_UPDATE_GOLDEN") == "1"
CASE_ID = re.compile(r"CP-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
EAT = timezone(timedelta(hours=3))
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=EAT)
AS_OF = datetime.fromisoformat(NOW)
POLICY = policies.load("inter-agency")
H, D = timedelta(hours=1), timedelta(days=1)
TEAM = Team((Worker("sup", "Supervisor", ("supervisor",), "age1sup"),
             Worker("amina", "Amina", ("caseworker",), "age1amina"),
             Worker("otieno", "Otieno", ("caseworker",), "age1otieno")))
AGES = (2, 6, 8, 11, 12, 13, 16)          # age at registration, by case number mod 7
INITIAL_AFTER = (3 * H, 20 * H, 30 * H, 60 * H)   # on target, on target, within the limit, late
REASONS = ("goals_met", "goals_met", "declined", "goals_met", "no_longer_eligible", "goals_met")
N = 36


def synthetic_cases() -> list:
    """36 children registered every 5 days from 5 January 2026, with a pattern of work done
    on time and late, closures, a reopening, a transfer, referrals and consent overrides."""
    cases = []
    for i in range(N):
        records: list[Record] = []
        case_id = f"CASE-{i:03d}"

        def rec(kind, at, by="amina", **body):
            records.append(Record(kind=kind, schema=1, id=f"01K{i:03d}{len(records):020d}", case=case_id, at=at.isoformat(),
                                  recorded_at=at.isoformat(), by=by, body=body))

        start = T0 + i * 5 * D
        worker = "amina" if i % 2 == 0 else "otieno"
        sex = "unknown" if i == 7 else ("female" if i % 3 in (0, 1) else "male")
        age = AGES[i % 7]
        child = {"name": f"Synthetic Child {i}", "sex": sex, "disability": "yes" if i % 6 == 0 else ("unknown" if i % 10 == 9 else "no")}
        if i % 9 == 4:
            child["age_estimate"] = age
        else:
            child["date_of_birth"] = date(start.year - age, 1, 1).isoformat()
        risk = ("high", "medium", "low", "immediate")[i % 4]
        rec("registration", start, worker=worker, child=child, risk=risk, concerns=["neglect"])
        if i >= 32:
            cases.append(fold(case_id, records))
            continue
        assessed = start + INITIAL_AFTER[i % 4]
        rec("assessment", assessed, type="initial", risk=risk)
        if i % 4 != 3:  # the immediate-risk cases wait for the comprehensive assessment as their response
            rec("followup", assessed + (1 * D if i % 4 == 0 else 10 * D), method="home_visit")
        if i >= 24:
            cases.append(fold(case_id, records))
            continue
        comprehensive = start + (5 * D, 10 * D, 40 * D)[i % 3]
        rec("assessment", comprehensive, type="comprehensive")
        if i >= 20:
            cases.append(fold(case_id, records))
            continue
        planned = comprehensive + (20 * D if i % 5 == 0 else 10 * D)
        rec("plan", planned, reason="initial", closure_criteria=["safe at home"])
        if i >= 16:  # waiting for the supervisor
            cases.append(fold(case_id, records))
            continue
        approved = planned + 2 * D
        rec("approval", approved, by="sup", subject="plan")
        if i < 12:
            sector = ("health", "education", "livelihoods")[i % 3]
            rec("referral", approved + 1 * D, service=f"{sector}-provider", sector=sector, need="a need")
            referral_id = records[-1].id
            outcome = ("accepted", "declined", None, "delivered")[i % 4]
            if outcome:
                answer = approved + (5 * D if i % 2 == 0 else 20 * D)
                extra = {"start": answer.date().isoformat(), "expected_duration": "3mo"} if outcome != "declined" else {"feedback": "full"}
                rec("referral_update", answer, referral=referral_id, status="accepted" if outcome == "delivered" else outcome, **extra)
                if outcome == "delivered":
                    rec("referral_update", answer + 30 * D, referral=referral_id, status="delivered", feedback="done")
        if i in (3, 9):
            rec("consent_override", approved + 2 * D, by="sup", purpose="sharing", basis="best_interests", reason="r", agency="x")
        if i < 8:
            rec("review", approved + (80 * D if i % 2 == 0 else 100 * D))
        if i < 6:
            closing = approved + 120 * D
            rec("closure", closing, reason=REASONS[i])
            rec("approval", closing + 3 * D, by="sup", subject="closure")
            if i % 2 == 0:
                rec("followup", closing + 40 * D, purpose="post_closure", method="home_visit")
            if i == 1:
                rec("reopen", closing + 50 * D, reason="new concerns")
        if i == 7:  # closed at once, as a policy without closure approval allows
            rec("closure", approved + 130 * D, reason="no_longer_eligible", immediate=True)
        if i == 14:
            rec("transfer", approved + 30 * D, to="other-agency", reason="moved")
        cases.append(fold(case_id, records))
    return cases


CASES = synthetic_cases()


def golden(name: str, data: dict) -> None:
    path = GOLDEN / f"reports-{name}.json"
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if UPDATE or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert json.loads(text) == json.loads(path.read_text(encoding="utf-8")), f"differs from {path.name} (see the module docstring)"


# -- the pure reports on the synthetic caseload ------------------------------------------------------
def test_synthetic_cases__follow_the_transition_table():
    assert all(not c.anomalies for c in CASES), [c.id for c in CASES if c.anomalies]


def test_caseload__known_numbers_and_golden():
    view = caseload(CASES, TEAM, POLICY, AS_OF)
    golden("caseload", view)
    workers = {w["worker"]: w for w in view["workers"]}
    open_cases = [c for c in CASES if c.status == "open"]
    assert view["totals"]["open"] == len(open_cases) == N - 6 - 1  # 7 closed of which 1 reopened; 1 transferred
    assert workers["amina"]["open"] + workers["otieno"]["open"] == view["totals"]["open"]
    assert workers["amina"]["state"] == "ok" and workers["amina"]["cap"] == 25
    assert "sup" not in workers  # a supervisor holding no case is not a caseworker row
    # plans written by cases 16-19 wait for a supervisor
    plans = next(a for a in view["approvals"] if a["subject"] == "plan")
    assert plans["waiting"] == 4 and plans["overdue"] == 4
    # cases 32-35 were never assessed, nor was case 1 since it was reopened: overdue
    assert sum(w["overdue"]["initial-assessment"] for w in view["workers"]) == 5
    # post-closure visits of cases 3, 5 and 7 were never made (1 was reopened)
    assert sum(w["overdue"]["post-closure-visit"] for w in view["workers"]) == 3
    # the declined referral of case 9 needs another way; that of case 1, from before its reopening, is not due (case 5 is closed)
    assert sum(w["overdue"]["referral-follow-up"] for w in view["workers"]) == 1
    assert [c["id"] for c in view["charts"]] == ["caseload", "risk"]
    assert view["charts"][0]["drawn"] == len(view["workers"])


def test_caseload__approvals_nobody_in_the_team_may_decide_are_counted_and_said():
    """The plans waiting were written by amina: with amina the only supervisor (sup gone), no
    one may decide them; the supervisors' table says so in a row of its own, with the ways out."""
    lone = Team((Worker("sup", "Supervisor", ("supervisor",), "age1sup", removed="2026-01-01T00:00:00+00:00"),
                 Worker("amina", "Amina", ("caseworker", "supervisor"), "age1amina"),
                 Worker("otieno", "Otieno", ("caseworker",), "age1otieno")))
    view = caseload(CASES, lone, POLICY, AS_OF)
    assert view["totals"]["approvals_nobody_may_decide"] == 4 and view["totals"]["approvals_waiting"] == 4
    supervisors = next(t for t in view["tables"] if t["id"] == "supervisors")
    assert supervisors["rows"] == [["amina", 0, 0], ["nobody may", 4, ""]] and "--withdraw" in supervisors["note"]
    assert caseload(CASES, TEAM, POLICY, AS_OF)["totals"]["approvals_nobody_may_decide"] == 0  # sup decides them


def test_caseload__a_readers_own_report_keeps_the_totals_of_what_they_read_and_what_nobody_may_decide():
    """`reader`: the rows are the reader's only; the totals (and the total row) still count every
    case given, and the requests nobody in the team may decide stay, since those are known."""
    lone = Team((Worker("sup", "Supervisor", ("supervisor",), "age1sup", removed="2026-01-01T00:00:00+00:00"),
                 Worker("amina", "Amina", ("caseworker", "supervisor"), "age1amina"),
                 Worker("otieno", "Otieno", ("caseworker",), "age1otieno")))
    everyone = caseload(CASES, TEAM, POLICY, AS_OF)
    view = caseload(CASES, TEAM, POLICY, AS_OF, reader="otieno")
    assert [w["worker"] for w in view["workers"]] == ["otieno"] and view["totals"] == everyone["totals"]
    assert view["workers"][0] == next(w for w in everyone["workers"] if w["worker"] == "otieno")
    workers = next(t for t in view["tables"] if t["id"] == "workers")
    assert [r[0] for r in workers["rows"]] == ["otieno", "total"] and workers["rows"][-1] == next(
        t for t in everyone["tables"] if t["id"] == "workers")["rows"][-1]
    assert "supervisors" not in [t["id"] for t in view["tables"]] and view["supervisors"] == []
    nobody = next(t for t in caseload(CASES, lone, POLICY, AS_OF, reader="otieno")["tables"] if t["id"] == "supervisors")
    assert nobody["rows"] == [["nobody may", 4, ""]]
    assert [b["label"] for b in view["charts"][0]["bars"]] == ["otieno"]


def test_caseload__a_worker_off_the_team_who_still_holds_cases_is_no_caseload_within_the_cap():
    """otieno removed (his cases came back by a sync from a copy that had not heard of it): his
    open cases are nobody's until assigned, and the report says so rather than 'ok' against the
    cap; a worker id the team never had is said to be not on it. The other rows are as before."""
    gone = Team((Worker("sup", "Supervisor", ("supervisor",), "age1sup"),
                 Worker("amina", "Amina", ("caseworker",), "age1amina"),
                 Worker("otieno", "Otieno", ("caseworker",), "age1otieno", removed="2026-01-01T00:00:00+00:00")))
    before = {w["worker"]: w for w in caseload(CASES, TEAM, POLICY, AS_OF)["workers"]}
    view = caseload(CASES, gone, POLICY, AS_OF)
    rows = {w["worker"]: w for w in view["workers"]}
    assert rows["otieno"]["open"] == before["otieno"]["open"] > 0
    assert (rows["otieno"]["state"], rows["otieno"]["cap"], rows["otieno"]["off_team"]) == ("off_team", None, "no longer on the team")
    assert rows["amina"] == before["amina"] and "off_team" not in rows["amina"]
    table = {r[0]: r for r in next(t for t in view["tables"] if t["id"] == "workers")["rows"]}
    assert table["otieno"][2:4] == ["", "no longer on the team: nobody has them"]
    stranger = Team(tuple(w for w in gone.workers if w.id != "otieno"))
    assert {w["worker"]: w for w in caseload(CASES, stranger, POLICY, AS_OF)["workers"]}["otieno"]["off_team"] == "not on the team"
    assert next(b for b in view["charts"][0]["bars"] if b["label"] == "otieno")["state"] == "off_team"


def test_timeliness__known_numbers_and_golden():
    view = timeliness(CASES, POLICY, date(2026, 1, 1), date(2026, 10, 31), AS_OF)
    golden("timeliness", view)
    clocks = {c["clock"]: c for c in view["clocks"]}
    initial = clocks["initial_assessment"]
    # 36 registrations and 1 reopening; 32 assessed: 3 h, 20 h, 30 h, 60 h in turn (8 each)
    assert initial["started"] == N + 1
    assert (initial["on_time"], initial["on_target"], initial["late"]) == (24, 16, 8)
    assert initial["overdue"] == 5  # cases 32-35 and the reopened case 1
    assert initial["median_hours"] == 25.0
    comprehensive = clocks["comprehensive_assessment"]
    assert (comprehensive["on_time"], comprehensive["on_target"], comprehensive["late"]) == (16, 8, 8)
    plan = clocks["case_plan"]  # 14 days after the comprehensive assessment; approval 2 days after writing
    assert (plan["started"], plan["on_time"], plan["late"], plan["overdue"]) == (24, 12, 4, 8)
    post = clocks["post_closure_visit"]
    assert (post["started"], post["on_time"], post["overdue"]) == (7, 3, 3) and post["stopped"] == 1  # case 1 reopened first
    assert view["by_month"][0]["month"] == "2026-01" and len(view["by_month"]) == 10
    assert sum(m["started"] for m in view["by_month"]) == view["totals"]["started"]


def _immediate_case(registered: datetime, assessed: datetime | None = None, responded: datetime | None = None):
    """A child registered at immediate risk, its times stored in UTC as the store keeps them."""
    records: list[Record] = []

    def rec(kind, at, **body):
        utc = at.astimezone(timezone.utc).isoformat()
        records.append(Record(kind=kind, schema=1, id=f"01KZONE{len(records):019d}", case="CASE-ZONE", at=utc,
                              recorded_at=utc, by="amina", body=body))

    rec("registration", registered, child={"name": "Synthetic Child", "sex": "female", "date_of_birth": "2018-01-01"},
        risk="immediate", concerns=["neglect"])
    if assessed is not None:
        rec("assessment", assessed, type="initial", risk="immediate")
    if responded is not None:
        rec("followup", responded, method="home_visit")
    return fold("CASE-ZONE", records)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=EAT)


# (registered, assessed) in Nairobi (+03:00), and whether that is the same day there
SAME_DAY_IN_THE_ZONE = [
    (_local(10, 20), _local(10, 23, 30), "on_time"),  # 17:00Z and 20:30Z: the same day in both
    (_local(10, 20), _local(11, 1, 30), "late"),      # 22:30Z: the same UTC day, the next local day
    (_local(10, 20), _local(11, 4), "late"),          # the next day in both
    (_local(11, 2), _local(11, 23, 30), "on_time"),   # 23:00Z on the 10th, 20:30Z on the 11th: the next UTC day
    (_local(11, 2), _local(11, 2, 30), "on_time"),
]


@pytest.mark.parametrize("registered, assessed, outcome", SAME_DAY_IN_THE_ZONE)
def test_timeliness__the_same_day_is_the_agency_day_as_due_counts_it(registered, assessed, outcome):
    """An immediate risk is answered 'the same day': the day in the agency's zone (that of
    `now`), as `cpcm due` lists it, not the UTC day. The initial assessment at that risk (due the
    same day as registration) and the response (the same day as the initial assessment) are
    counted on time or late by the very time `due` listed."""
    report_now = _local(20, 12)
    listed = {d.code: d.due for d in deadlines(_immediate_case(registered), POLICY, registered)}
    assert (("on_time" if assessed <= listed["initial-assessment"] else "late"), listed["initial-assessment"]) \
        == (outcome, _local(registered.day + 1, 0))
    view = timeliness([_immediate_case(registered, assessed)], POLICY, date(2026, 3, 1), date(2026, 3, 31), report_now)
    initial = {c["clock"]: c for c in view["clocks"]}["initial_assessment"]
    assert (initial["on_time"], initial["late"]) == ((1, 0) if outcome == "on_time" else (0, 1))

    # the response to the risk, the same day as that initial assessment: the same times, one step on
    listed = {d.code: d.due for d in deadlines(_immediate_case(registered - 10 * D, registered), POLICY, registered)}
    assert ("on_time" if assessed <= listed["risk-response"] else "late") == outcome
    view = timeliness([_immediate_case(registered - 10 * D, registered, assessed)], POLICY, date(2026, 2, 1), date(2026, 3, 31), report_now)
    response = {c["clock"]: c for c in view["clocks"]}["risk_response"]
    assert (response["on_time"], response["late"]) == ((1, 0) if outcome == "on_time" else (0, 1))


def test_timeliness__a_report_in_utc_counts_the_utc_day():
    """The zone is that of `now`: the same times reported with `now` in UTC count the UTC day
    (as `due` does with a UTC clock)."""
    case = _immediate_case(_local(10, 20), _local(11, 1, 30))
    utc_now = _local(20, 12).astimezone(timezone.utc)
    listed = {d.code: d.due for d in deadlines(_immediate_case(_local(10, 20)), POLICY, _local(10, 20).astimezone(timezone.utc))}
    assert _local(11, 1, 30) <= listed["initial-assessment"]
    initial = {c["clock"]: c for c in timeliness([case], POLICY, date(2026, 3, 1), date(2026, 3, 31), utc_now)["clocks"]}
    assert (initial["initial_assessment"]["on_time"], initial["initial_assessment"]["late"]) == (1, 0)


def test_timeliness__a_review_clock_is_measured_by_whether_the_child_was_home_when_it_started():
    """Kenya: 6 months for a review clock that started while the child was home, 3 months (IAG §3
    Step 5) for one that started once the child was back in residential care after a breakdown,
    as `due` said each then; the child's return to care does not shorten the clocks before it."""
    from cpcm.reports.timeliness import case_clocks
    records: list[Record] = []

    def rec(kind, at, **body):
        records.append(Record(kind=kind, schema=1, id=f"01K{len(records):023d}", case="CASE-KE", at=at.isoformat(),
                              recorded_at=at.isoformat(), by="amina", body=body))

    rec("registration", T0, worker="amina", child={"name": "Synthetic", "date_of_birth": "2015-01-01"}, risk="medium")
    rec("assessment", T0 + H, type="initial", risk="medium")
    rec("placement", T0 + 2 * H, care_type="institutional_care", setting="residential")
    rec("assessment", T0 + 5 * D, type="comprehensive")
    rec("plan", T0 + 6 * D, closure_criteria=["x"])
    rec("approval", T0 + 6 * D, subject="plan", by="sup")
    rec("placement", T0 + 20 * D, care_type="family", setting="family", reunification=True)
    home_review, back = T0 + 30 * D, T0 + 60 * D
    rec("review", home_review)
    rec("placement", back, care_type="institutional_care", setting="residential")
    rec("review", back + D)
    clocks = {c.start: c for c in case_clocks(fold("CASE-KE", records), policies.load("kenya"), EAT) if c.clock == "review"}
    assert clocks[home_review].due == home_review.replace(month=home_review.month + 6)
    assert clocks[back + D].due == (back + D).replace(month=(back + D).month + 3)


def test_timeliness__the_review_limit_names_the_interval_after_reunification_where_the_policy_has_one():
    """Kenya reviews a reunified case every 6 months for 2 years (and counts it so): the limit
    column and its words say so, with the rule's source, not only the ordinary 3 months."""
    kenya = timeliness(CASES, policies.load("kenya"), date(2026, 1, 1), date(2026, 10, 31), AS_OF)
    review = {c["clock"]: c for c in kenya["clocks"]}["review"]
    assert review["limit_short"] == "3mo; 6mo after reunification"
    assert review["limit"] == "every 3 months; every 6 months for 2 years after reunification"
    assert "Kenya SOP glossary" in review["source"]
    inter = {c["clock"]: c for c in timeliness(CASES, POLICY, date(2026, 1, 1), date(2026, 10, 31), AS_OF)["clocks"]}["review"]
    assert inter["limit_short"] == "3mo" and inter["limit"] == "every 3 months"


def _received_case() -> object:
    """A child registered at another agency (its initial assessment late there), assessed, planned
    and approved there, then received here on 5 March 2026 and given to wanjiru, who reviews the
    plan on 20 March. Its records are the other agency's and then this agency's, in one history."""
    records: list[Record] = []

    def rec(kind, at, by="otieno", **body):
        records.append(Record(kind=kind, schema=1, id=f"01KRECV{len(records):019d}", case="CASE-RECV", at=at.isoformat(),
                              recorded_at=at.isoformat(), by=by, body=body))

    start = datetime(2026, 2, 2, 9, 0, tzinfo=EAT)
    rec("registration", start, worker="otieno", child={"name": "Synthetic Child T", "sex": "female", "date_of_birth": "2016-01-01"},
        risk="high", concerns=["neglect"])
    rec("assessment", start + 60 * H, type="initial", risk="high")
    rec("followup", start + 4 * D, method="home_visit")
    rec("assessment", start + 6 * D, type="comprehensive")
    rec("plan", start + 10 * D, reason="initial", closure_criteria=["safe at home"])
    rec("approval", start + 12 * D, by="sup", subject="plan")
    arrived = datetime(2026, 3, 5, 9, 0, tzinfo=EAT)
    rec("transfer_in", arrived, by="wanjiru", **{"from": "OTHER"})
    rec("assignment", arrived, by="wanjiru", worker="wanjiru")
    rec("review", datetime(2026, 3, 20, 9, 0, tzinfo=EAT), by="wanjiru")
    return fold("CASE-RECV", records)


def test_timeliness__a_received_case_counts_only_the_clocks_started_since_it_came():
    """The timeliness report credited the receiving agency, and its worker, with the sending
    agency's clocks (a late initial assessment, a plan there) and, for a child sent back, counted
    the agency's own earlier work again under the new case ID. A received case counts only the
    clocks started since it came, as the statistics count only what happened since."""
    case = _received_case()
    view = timeliness([case], POLICY, date(2026, 1, 1), date(2026, 6, 30), datetime(2026, 4, 1, 9, 0, tzinfo=EAT))
    started = {c["clock"]: c["started"] for c in view["clocks"] if c["started"]}
    assert started == {"review": 1}, started  # the next review, from wanjiru's; the one she met started there
    assert view["by_worker"] == [{"worker": "wanjiru", **view["totals"]}] and view["totals"]["started"] == 1
    assert (view["totals"]["late"], view["totals"]["open"]) == (0, 1)
    # the statistics count nothing of it either: the registration and the plan were the other agency's
    totals = {row[0]: row[-1] for row in next(t for t in statistics([case], POLICY, date(2026, 1, 1), date(2026, 6, 30))["tables"]
                                              if t["id"] == "summary")["rows"]}
    assert totals["Registrations"] == 0 and totals[IN_FORCE] == 0 and totals["Case reviews"] != 0  # hers (a small cell)


def test_statistics__known_numbers_suppression_and_golden():
    view = statistics(CASES, POLICY, date(2026, 1, 1), date(2026, 12, 31))
    golden("statistics", view)
    sections = {s["measure"]: s for s in view["sections"]}
    assert sections["registrations"]["total"] == N
    assert sections["reopenings"]["total"] == "<5" and sections["transfers"]["total"] == "<5"
    assert sections["closures"]["total"] == 7  # 6 approved and 1 closed at once
    # twelve referrals, three sectors of fewer than five each: 12 would mean four in each
    assert sections["referrals"]["total"] == "x"
    tables = {t["id"]: t for t in view["tables"]}
    by_sex = tables["registrations_by_age_sex"]
    assert by_sex["columns"] == ["age band", "female", "male", "other or not recorded", "total"]
    totals = by_sex["rows"][-1]
    assert totals[0] == "total" and totals[-1] == N
    # the one child whose sex is not recorded is a small cell, and so is some other cell in its line
    assert totals[3] == "<5"
    assert by_sex["suppressed"]["primary"] > 0 and by_sex["suppressed"]["complementary"] > 0
    assert any("x" in row for t in view["tables"] for row in t["rows"])
    for table in view["tables"]:
        if table["id"] != "summary":
            assert line_check(table["rows"]) == [], table["id"]
    reasons = tables["closures_by_reason_sex"]
    # every closure keeps its reason, including one made before the case was reopened
    assert [r[0] for r in reasons["rows"]] == ["goals met", "declined", "no longer eligible", "total"]
    assert view["not_available"] == []  # consent refusals and the child's participation are counted from the fold's events


def test_statistics__a_threshold_that_hides_nothing_has_no_hidden_marks_in_its_legend():
    """An agency that publishes every count (reporting.small_cell_threshold 0 or 1) got a legend
    reading "<0: fewer than 0 (1 to -1)": the marks are explained only where cells are hidden."""
    from cpcm.domain.profiles import build

    for threshold in (0, 1):
        policy, errors = build(policies.chain("inter-agency"), {"rules": {"reporting": {"small_cell_threshold": threshold}}})
        assert errors == []
        view = statistics(CASES, policy, date(2026, 1, 1), date(2026, 12, 31))
        assert view["legend"] == {"0": "none"}, threshold
    assert set(statistics(CASES, POLICY, date(2026, 1, 1), date(2026, 12, 31))["legend"]) == {"<5", "x", "0"}


def test_statistics__carries_no_identifier():
    text = json.dumps(statistics(CASES, POLICY, date(2026, 1, 1), date(2026, 12, 31)))
    assert "CASE-" not in text and "Synthetic Child" not in text
    assert not re.search(r"\b(amina|otieno|sup)\b", text)


def _closed_twice(first_reason: str | None) -> object:
    """A child closed (reason `first_reason`; None: a closure record naming none), approved,
    reopened, then closed again as no_longer_eligible and approved, in March 2026."""
    records: list[Record] = []

    def rec(kind, at, by="amina", **body):
        records.append(Record(kind=kind, schema=1, id=f"01KREOPEN{len(records):017d}", case="CASE-REOPEN", at=at.isoformat(),
                              recorded_at=at.isoformat(), by=by, body=body))

    start = datetime(2026, 3, 2, 9, 0, tzinfo=EAT)
    rec("registration", start, child={"name": "Synthetic Child R", "sex": "female", "date_of_birth": "2016-01-01"},
        risk="low", concerns=["neglect"])
    rec("closure", start + 1 * D, **({"reason": first_reason} if first_reason else {}))
    rec("approval", start + 2 * D, by="sup", subject="closure")
    rec("reopen", start + 3 * D, reason="new concerns")
    rec("closure", start + 4 * D, reason="no_longer_eligible")
    rec("approval", start + 5 * D, by="sup", subject="closure")
    return fold("CASE-REOPEN", records)


def test_statistics__each_closure_of_a_reopened_case_keeps_its_reason_and_no_note_says_otherwise():
    """Every report said "Closures of a case reopened since carry the reason 'not known'" while its
    table showed each closure's own reason: the note is only for a closure whose records name none."""
    view = statistics([_closed_twice("registered_in_error")], POLICY, date(2026, 3, 1), date(2026, 3, 31), EAT)
    rows = {t["id"]: t for t in view["tables"]}["closures_by_reason_sex"]["rows"]
    assert [r[0] for r in rows] == ["no longer eligible", "registered in error", "total"]
    assert not any("not known" in note or "reopened" in note for note in view["notes"])

    unnamed = statistics([_closed_twice(None)], POLICY, date(2026, 3, 1), date(2026, 3, 31), EAT)
    rows = {t["id"]: t for t in unnamed["tables"]}["closures_by_reason_sex"]["rows"]
    assert [r[0] for r in rows] == ["no longer eligible", "not known", "total"]
    assert "Closures under the reason 'not known' are those whose records name no reason." in unnamed["notes"]


# -- suppression, by hand -----------------------------------------------------------------------------
def test_combine__returns_made_on_or_before_the_periods_last_day_are_not_over():
    """The day a return was made is its agency's (made_at keeps the offset): made late on the
    last day, or with no made_at, it is not known to cover the whole period."""
    def made(agency, at):
        document = statistics_counts(CASES, POLICY, date(2026, 1, 1), date(2026, 3, 31), EAT)
        return document | {"agency": agency} | ({"made_at": at} if at else {})

    view = combine_returns([made("A", "2026-04-01T00:30+03:00"), made("B", "2026-03-31T23:30+03:00"), made("C", None)], POLICY)
    assert view["combined"]["period_over"] is False
    assert view["combined"]["not_over"] == [{"file": 2, "agency": "B", "made_on": "2026-03-31"},
                                            {"file": 3, "agency": "C", "made_on": None}]
    assert view["notes"][0] == ("Not the whole period (2026-01-01 to 2026-03-31): the return in file 2 (agency B) was made on "
                                "2026-03-31, before the period ended; the return in file 3 (agency C) does not say when it "
                                "was made. Such a return counts only up to the day it was made: combine returns made after "
                                "the period ends.")
    over = combine_returns([made("A", "2026-04-01T00:30+03:00"), made("B", "2026-05-02T09:00+03:00")], POLICY)
    assert over["combined"]["period_over"] is True and over["combined"]["not_over"] == []
    assert not over["notes"][0].startswith("Not the whole period")


def test_suppress__a_small_cell_and_its_complements():
    """2 is below 5: hidden; then the smallest non-zero cell of its row (8) and of its column
    (5), then one more in the third column (6), so that every line hides two cells."""
    grid, primary, secondary = suppress([[2, 10, 8], [6, 7, 9], [5, 5, 6]], 5)
    assert grid[-1] == [13, 22, 23, 58]
    assert primary == {(0, 0)}
    assert secondary == {(0, 2), (2, 0), (2, 2)}


def test_suppress__a_small_total_is_hidden_and_the_grand_total_is_kept_when_possible():
    grid, primary, secondary = suppress([[3, 0], [9, 6]], 5)
    assert (0, 2) in primary and (0, 0) in primary  # the row total 3 as well as the cell
    assert (2, 2) not in primary | secondary        # the grand total 18 stays
    hidden = primary | secondary
    for line in [[(i, j) for j in range(3)] for i in range(3)] + [[(i, j) for i in range(3)] for j in range(3)]:
        assert sum(c in hidden for c in line) != 1


def test_suppress__a_total_that_gives_away_a_small_cell_is_hidden_too():
    """Disability by sex: 1 with a disability, 5 without, 6 in all. Showing 5 and 6 would
    tell that 1 child has a disability; so 6 (or 5) must go."""
    table = protected_table("d", "d", "disability", ["yes", "no", "not recorded"], ["female", "male", "other"],
                            [[1, 0, 0], [3, 2, 0], [0, 0, 0]], 5)
    assert not (isinstance(table["rows"][1][-1], int) and isinstance(table["rows"][-1][-1], int))
    assert all(len(values) > 1 for values in attack(table["rows"], 5, 20).values())


@pytest.mark.parametrize("seed", range(20))
def test_suppress__no_small_cell_can_be_worked_out_by_a_full_search(seed):
    """An attacker who tries every table the published one could be ('<5' is 1 to 4, 'x' is 0
    or at least 5; the grand total known, or below 3 times it plus 10 when hidden) never
    finds a single value for a '<5' cell."""
    import random

    rng = random.Random(seed)
    rows, cols = rng.choice([2, 3]), rng.choice([2, 3])
    matrix = [[rng.choice([0, 0, 1, 2, 3, 5, 6, 8]) for _ in range(cols)] for _ in range(rows)]
    total = sum(map(sum, matrix))
    table = protected_table("t", "t", "r", [str(i) for i in range(rows)], [str(j) for j in range(cols)], matrix, 5)
    assert line_check(table["rows"]) == []
    found = attack(table["rows"], 5, total if isinstance(table["rows"][-1][-1], int) else 3 * total + 10)
    if found is None:
        pytest.skip("too many tables to try")
    assert [cell for cell, values in found.items() if len(values) < 2] == [], (matrix, table["rows"])


def attack(rows, threshold: int, bound: int, limit: int = 400_000):
    """Every value each '<5' cell can take in some table consistent with the published one;
    None when there are more than `limit` tables to try."""
    import itertools

    body = [list(r[1:]) for r in rows]
    n, m = len(body) - 1, len(body[0]) - 1

    def domain(value):
        if isinstance(value, int):
            return [value]
        return list(range(1, threshold)) if value.startswith("<") else [0, *range(threshold, bound + 1)]

    options = [[combo for combo in itertools.product(*[domain(v) for v in body[i][:m]]) if sum(combo) in domain(body[i][m])]
               for i in range(n)]
    tried, possible = 0, {}
    for chosen in itertools.product(*options):
        tried += 1
        if tried > limit:
            return None
        columns = [sum(r[j] for r in chosen) for j in range(m)]
        if not all(columns[j] in domain(body[n][j]) for j in range(m)) or sum(columns) not in domain(body[n][m]):
            continue
        full = [list(r) + [sum(r)] for r in chosen] + [columns + [sum(columns)]]
        for i in range(n + 1):
            for j in range(m + 1):
                if isinstance(body[i][j], str) and body[i][j].startswith("<"):
                    possible.setdefault((i, j), set()).add(full[i][j])
    return possible


@pytest.mark.parametrize("matrix", [[[1, 5, 5], [0, 0, 0], [6, 3, 0]], [[5, 1, 3], [0, 0, 0], [1, 6, 1], [0, 0, 3]],
                                    [[0, 0, 0], [3, 0, 3], [8, 6, 0], [0, 0, 6]]])
def test_suppress__a_line_whose_total_is_0_hides_none_of_its_cells(matrix):
    """Its cells are 0 whatever they show: "with a disability: x 0 x 0" hid nothing, and the cells
    that do protect the small ones are hidden instead."""
    labels = [str(i) for i in range(len(matrix))]
    rows = protected_table("t", "t", "r", labels, ["f", "m", "o"], matrix, 5)["rows"]
    zero = next(r for r in rows if r[-1] == 0)
    assert zero[1:] == [0, 0, 0, 0]
    assert line_check(rows) == []
    found = attack(rows, 5, sum(map(sum, matrix)) if isinstance(rows[-1][-1], int) else 3 * sum(map(sum, matrix)) + 10)
    assert found is None or [cell for cell, values in found.items() if len(values) < 2] == []  # None: too many to try


@pytest.mark.parametrize("matrix", [[[6, 0, 0], [0, 2, 2]], [[0, 8, 0], [1, 0, 2]], [[0, 3, 1], [8, 1, 3]]])
def test_suppress__the_grand_total_is_hidden_only_where_no_other_cell_protects_the_small_ones(matrix):
    """The headline count (10, 11, 16: at least the threshold) was hidden as the first cell found
    that protected a small one; another cell does, so it is shown."""
    rows = protected_table("t", "t", "r", ["a", "b"], ["f", "m", "o"], matrix, 5)["rows"]
    assert rows[-1][-1] == sum(map(sum, matrix))
    found = attack(rows, 5, sum(map(sum, matrix)))
    assert found is not None and [cell for cell, values in found.items() if len(values) < 2] == []


def test_suppress__the_grand_total_is_hidden_where_it_would_give_small_cells_away():
    """Three rows of fewer than five adding up to 12 are four each: 12 is hidden, whatever else is."""
    rows = protected_table("t", "t", "r", ["a", "b", "c"], ["n"], [[4], [4], [4]], 5)["rows"]
    assert rows[-1][-1] == "x"


def test_suppress__zeros_are_shown():
    _, primary, secondary = suppress([[0, 12], [7, 9]], 5)
    assert not primary and not secondary


# -- the commands --------------------------------------------------------------------------------------
@pytest.fixture
def small_repo(cli, cli_as):
    """Three children (one of them the canary), one assessed, one with a plan waiting."""
    ids = [register(cli, child={"name": CANARY, "sex": "female", "date_of_birth": "2015-04-01", "disability": "no"}),
           register(cli, child={"name": "Test Child Two", "sex": "male", "age_estimate": 6}, risk="medium"),
           register(cli_as("otieno"), child={"name": "Test Child Three", "sex": "female", "date_of_birth": "2010-02-03"})]
    assert cli("assess", ids[0], "--type", "initial", "--no-input", "--set", "safe=yes", "--set", "basic_needs.food=yes",
               "--set", "basic_needs.shelter=yes", "--set", "basic_needs.medical=yes", "--set", "interim_plan_needed=no",
               "--outcome", "proceed", "--risk", "high").code == 0
    return ids


def test_report__caseload_on_the_terminal_lists_each_worker(cli_as, small_repo):
    result = cli_as("sup")("report", "caseload")
    assert result.code == 0, result.stderr
    assert "# Open cases per worker" in result.stdout
    head, first = result.stdout.split("\n\n")[:2]
    rows = {line.split("\t")[0]: line.split("\t") for line in first.splitlines() if "\t" in line}
    assert rows["amina"][1] == "2" and rows["otieno"][1] == "1" and rows["total"][1] == "3"
    # what the report is, when, and whose cases, as the HTML and Markdown formats head it
    assert head.splitlines() == ["# Caseload: as of 2026-11-23 09:00 +03:00", "# Test Agency (TEST); All 3 cases of the repository"]


def test_report__a_caseworkers_caseload_shows_their_own_row_not_colleagues_with_none(cli_as, small_repo):
    """amina reads her 2 cases, not otieno's: her report listed otieno with 0 open cases (and sup
    able to decide 0 requests), numbers it cannot know. Now it shows her own row, says why, and
    leaves colleagues to a supervisor's report, in every format; the supervisor's is as it was."""
    amina = cli_as("amina")
    table = amina("report", "caseload")
    assert table.code == 0, table.stderr
    head, first = table.stdout.split("\n\n")[:2]
    rows = {line.split("\t")[0]: line.split("\t") for line in first.splitlines() if "\t" in line}
    assert set(rows) == {"worker", "amina", "total"} and rows["amina"][1] == "2" and rows["total"][1] == "2"
    assert head.splitlines()[1] == "# Test Agency (TEST); The 2 cases you can read, of 3 in the repository"
    theirs = cli_as("otieno")("report", "caseload").stdout.split("\n\n")[0]  # otieno reads one: said as one
    assert theirs.splitlines()[1] == "# Test Agency (TEST); The 1 case you can read, of 3 in the repository", theirs
    assert "Only your own row" in table.stderr and "a supervisor's report shows them" in table.stderr
    assert "# Approvals each supervisor" not in table.stdout  # what sup may decide comes from cases amina cannot read
    view = amina("report", "caseload", "--json").json()
    assert [w["worker"] for w in view["workers"]] == ["amina"] and view["workers"][0]["open"] == 2
    assert view["workers_shown"] == "yours" and view["supervisors"] == []
    assert view["meta"]["cases_read"] == 2 and view["meta"]["cases_in_repository"] == 3
    for fmt in ("md", "html", "csv", "json"):
        rendered = amina("report", "caseload", "--format", fmt)
        assert rendered.code == 0, rendered.stderr
        assert "otieno" not in rendered.stdout, fmt  # no row, no bar, no count for a colleague
        if fmt in ("md", "html"):
            assert "Only your own row" in rendered.stdout and "Open cases: " not in rendered.stdout, fmt
    assert [w["worker"] for w in cli_as("otieno")("report", "caseload", "--json").json()["workers"]] == ["otieno"]
    # the supervisor reads every case: every caseworker's row, what each supervisor decides, no marker
    sup = cli_as("sup")("report", "caseload", "--json").json()
    assert {w["worker"]: w["open"] for w in sup["workers"]} == {"amina": 2, "otieno": 1}
    assert "workers_shown" not in sup and [s["worker"] for s in sup["supervisors"]] == ["sup"]
    assert "Only your own row" not in cli_as("sup")("report", "caseload", "--format", "md").stdout


def test_report__a_caseworkers_total_row_counts_the_cases_she_reads_not_her_row_again(cli_as, small_repo):
    """Her row and the total row agree while she reads only her own cases (no case is listed
    twice: the total is of every open case she can read); covering a colleague's case, the total
    counts it and her row does not (docs/commands/reports.md, "A caseworker's report")."""
    amina, otieno = cli_as("amina"), cli_as("otieno")
    register(otieno)  # one she does not read: her report has her own row only
    assert otieno("assign", small_repo[2], "--cover", "amina", "--until", "2026-12-20").code == 0
    view = amina("report", "caseload", "--json").json()
    assert [(w["worker"], w["open"]) for w in view["workers"]] == [("amina", 2)] and view["totals"]["open"] == 3
    rows = [line.split("\t")[:2] for line in amina("report", "caseload").stdout.split("\n\n")[1].splitlines()]
    assert rows == [["# Open cases per worker (cap 25, warning from 20)"], ["worker", "open"], ["amina", "2"], ["total", "3"]]


def test_report__a_printed_report_names_its_period_and_agency(cli_as, small_repo):
    result = cli_as("sup")("report", "statistics", "--from", "2026-07-01", "--to", "2026-09-30")
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[:3] == ["# Case statistics: 2026-07-01 to 2026-09-30",
                                              "# Test Agency (TEST); All 3 cases of the repository", ""]


@pytest.mark.parametrize("fmt", ["md", "html", "csv"])
def test_report__json_with_another_format_is_json_holding_the_document(cli_as, small_repo, fmt):
    args = ["report", "statistics", "--from", "2026-01-01", "--to", "2026-12-31", "--format", fmt]
    plain = cli_as("sup")(*args)
    wrapped = cli_as("sup")(*args, "--json")
    assert plain.code == wrapped.code == 0, wrapped.stderr
    assert wrapped.json() == {"report": "statistics", "format": fmt, "out": None, "encrypted": False, "period_over": False,
                              "document": plain.stdout}  # the period ends 2026-12-31, after today


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "json", None])
def test_report__statistics_has_no_case_id_no_worker_and_no_name_in_any_format(cli_as, small_repo, fmt):
    args = ["report", "statistics", "--from", "2026-01-01", "--to", "2026-12-31"] + (["--format", fmt] if fmt else [])
    result = cli_as("sup")(*args)
    assert result.code == 0, result.stderr
    for text in (result.stdout, result.stderr):
        assert not CASE_ID.search(text)
        assert CANARY not in text and "Test Child" not in text
        assert not re.search(r"\b(amina|otieno|sup)\b", text)
    if fmt == "json":
        data = result.json()
        assert data["sections"][0]["total"] == "<5"  # three registrations: a small count
        assert "generated_by" not in data["meta"]
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(result.stdout)))
        assert rows[0] == ["report", "table", "row", "column", "value"]
        assert ["statistics", "summary", "Registrations", "count", "<5"] in rows


def test_report__statistics_md_writes_the_small_cell_mark_as_it_reads_and_html_escapes_it(cli_as, small_repo):
    """md is read in a terminal or a text editor: its cells and legend said `&lt;5` where the
    table, the CSV and the JSON say `<5`. HTML still escapes it."""
    args = ["report", "statistics", "--from", "2026-01-01", "--to", "2026-12-31", "--format"]
    md = cli_as("sup")(*args, "md")
    assert md.code == 0, md.stderr
    assert "&lt;" not in md.stdout and "&gt;" not in md.stdout
    assert "| Registrations | <5 |" in md.stdout  # the summary's cell
    assert "- **<5**: fewer than 5 (1 to 4)" in md.stdout and "so that a '<5' cell cannot" in md.stdout  # the legend
    html = cli_as("sup")(*args, "html")
    assert html.code == 0, html.stderr
    assert "&lt;5" in html.stdout and "<5" not in html.stdout


def test_report__statistics_out_is_a_plain_shareable_file(cli_as, small_repo, tmp_path):
    out = tmp_path / "shared" / "county.html"
    out.parent.mkdir()
    result = cli_as("sup")("report", "statistics", "--out", str(out))
    assert result.code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and CANARY not in text and not CASE_ID.search(text)
    assert "safe to share" in result.stderr



@pytest.mark.parametrize("name, starts", [("county.csv", "report,table,row,column,value"), ("county.html", "<!DOCTYPE html>"),
                                          ("county.md", "# Case statistics")])
def test_report__json_with_out_describes_the_file_its_name_picks_the_format(cli_as, small_repo, tmp_path, name, starts):
    """A county script's `--out q3.csv --json` (to read where the file went): the file held the
    report as JSON, under a .csv name, where the name picks the format and --json describes it."""
    out = tmp_path / name
    result = cli_as("sup")("report", "statistics", "--out", str(out), "--json")
    assert result.code == 0, result.stderr
    assert out.read_text(encoding="utf-8").startswith(starts)
    assert result.json() == {"report": "statistics", "format": name.rsplit(".", 1)[1], "out": str(out.resolve()), "encrypted": False,
                             "period_over": False}  # the default period ends today
    named = tmp_path / "county"  # a name with no extension picks no format: --format does
    assert cli_as("sup")("report", "statistics", "--out", str(named), "--format", "json", "--json").json()["format"] == "json"
    assert named.read_text(encoding="utf-8").startswith("{")


@pytest.mark.parametrize("kind, name, options, example", [
    ("statistics", "q3.pdf", [], "report.html"),                       # shared as it is: plain
    ("statistics", "q3.txt", ["--format", "md"], "report.md"),
    ("statistics", "q3.csv", ["--format", "md"], "report.md"),          # the name says CSV, --format Markdown
    ("caseload", "caseload.pdf", [], "report.html.age"),                # encrypted: the .age after the extension
    ("caseload", "caseload.pdf.age", [], "report.html.age"),
    ("caseload", "caseload.pdf", ["--plaintext"], "report.html"),
    ("statistics", "q3.docx", ["--recipient", "otieno"], "report.html.age"),
])
def test_report__an_out_name_whose_extension_is_not_a_format_it_writes_is_refused(cli_as, small_repo, tmp_path, kind, name,
                                                                                   options, example):
    """`report statistics --out q3.pdf` wrote Markdown into a file named .pdf and exited 0 (a PDF
    reader calls it damaged); `report caseload --out caseload.pdf` was refused for its encryption
    with a hint (caseload.pdf.age, or --plaintext) that wrote Markdown under .pdf all the same. Now
    a name whose extension (before any .age) is not that of a format the report writes, or not
    --format's, is refused (exit 2, nothing written, nothing read), naming --out, the extensions
    it takes and a name that works: the hint's own example, run, writes that format. The name
    typed is not repeated."""
    folder = tmp_path / "out"
    folder.mkdir()
    word = CANARY.split()[0]
    refused = cli_as("sup")("report", kind, "--out", str(folder / f"{word}-{name}"), *options, "--json")
    assert refused.code == 2, refused.stdout
    said = refused.json()["message"] + " " + refused.json()["hint"]
    extension = "." + name.removesuffix(".age").rsplit(".", 1)[1]
    assert said.startswith(f"--out: a file whose name ends in {extension} ") and "nothing was written" in said
    assert ("(.md), HTML (.html), CSV (.csv) or JSON (.json)" in said) or ("--format md" in said)
    assert word.lower() not in (refused.stdout + refused.stderr).lower() and list(folder.iterdir()) == []
    hinted = re.search(r"--out (\S+?)\)", refused.json()["hint"]).group(1)
    assert hinted == example
    done = cli_as("sup")("report", kind, "--out", str(folder / hinted), *options, "--json")
    assert done.code == 0, done.stderr
    assert done.json()["format"] == example.split(".")[1] and done.json()["encrypted"] is example.endswith(".age")


def test_report__an_out_name_whose_extension_is_a_name_is_refused_without_saying_it(cli_as, small_repo, tmp_path):
    """`--out Otieno.Wanjiru`: the refusal said "a file whose name ends in .wanjiru", the name typed
    back in the message (and its JSON). The extension is said only where it is a document's."""
    refused = cli_as("sup")("report", "statistics", "--out", str(tmp_path / "Otieno.Wanjiru"), "--json")
    assert refused.code == 2, refused.stdout
    assert "wanjiru" not in (refused.stdout + refused.stderr).lower()
    assert refused.json()["message"].startswith("--out: a file whose name has an extension that is not one this command writes")


def test_report__caseload_out_without_plaintext_writes_an_age_file(cli_as, team, small_repo, tmp_path):
    from cpcm.crypto import cipher, identity

    out = tmp_path / "caseload.html.age"
    result = cli_as("sup")("report", "caseload", "--out", str(out))
    assert result.code == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(b"age-encryption.org/v1")
    assert b"amina" not in data and b"<html" not in data
    keys = identity.load(team["sup"][0], lambda: None).keys
    html = cipher.decrypt(data, keys).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'data-chart="caseload"' in html
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_report__caseload_plaintext_is_written_plain_but_never_into_the_repository(cli_as, small_repo, repo, tmp_path):
    sup = cli_as("sup")
    inside = repo / "caseload.md"
    refused = sup("report", "caseload", "--out", str(inside), "--plaintext")
    assert refused.code == 4 and not inside.exists()
    out = tmp_path / "caseload.md"
    assert sup("report", "caseload", "--out", str(out), "--plaintext").code == 0
    assert out.read_text(encoding="utf-8").startswith("# Caseload")


def test_report__timeliness_json_counts_the_clocks(cli_as, small_repo):
    result = cli_as("sup")("report", "timeliness", "--json")
    assert result.code == 0, result.stderr
    clocks = {c["clock"]: c for c in result.json()["clocks"]}
    assert clocks["initial_assessment"]["started"] == 3
    assert clocks["initial_assessment"]["on_time"] == 1


def test_report__timeliness_counts_the_same_day_as_due_lists_it_in_the_agency_zone(cli_as):
    """Through the CLI, in Nairobi (+03:00, the repository's zone): a child at immediate risk
    assessed at 20:00 and followed up at 01:30 the next night was answered late, as `due` said at
    01:30 (in UTC the same day); one assessed at 02:00 and followed up at 23:30 that day was
    answered on time (in UTC the next day), and so was one assessed at 02:00 and followed up at 23:00."""
    from test_assess_plan import INITIAL

    def at(day: int, hour: int, minute: int = 0) -> str:
        return f"2026-03-{day:02d}T{hour:02d}:{minute:02d}:00+03:00"

    states = []
    for assessed, responded in ((at(10, 20), at(11, 1, 30)), (at(11, 2), at(11, 23, 30)), (at(12, 2), at(12, 23))):
        amina = cli_as("amina", CPCM_NOW=assessed)
        case_id = register(amina, risk="immediate")
        assert amina("assess", case_id, "--type", "initial", "--risk", "immediate", *INITIAL).code == 0
        amina = cli_as("amina", CPCM_NOW=responded)
        listed = amina("due", "--json")
        assert listed.code == 0, listed.stderr
        states.append(next(i["state"] for i in listed.json() if i["case_id"] == case_id and i["code"] == "risk-response"))
        assert amina("followup", case_id, "--method", "phone", "--purpose", "monitoring", "--visited-by", "professional",
                     "--risk-increased", "no").code == 0
    assert states[0] == "overdue" and "overdue" not in states[1:]
    result = cli_as("sup", CPCM_NOW=at(20, 9))("report", "timeliness", "--json", "--from", "2026-03-01", "--to", "2026-03-31")
    assert result.code == 0, result.stderr
    response = {c["clock"]: c for c in result.json()["clocks"]}["risk_response"]
    assert (response["started"], response["on_time"], response["late"]) == (3, 2, 1)


def test_report__reads_each_case_once_then_from_the_cache(cli_as, small_repo, monkeypatch):
    from cpcm.store.casestore import CaseStore

    reads = []
    original = CaseStore.read_records
    monkeypatch.setattr(CaseStore, "read_records", lambda self, case_id, keys: reads.append(case_id) or original(self, case_id, keys))
    sup = cli_as("sup")
    assert sup("report", "statistics", "--format", "html").code == 0
    assert sorted(reads) == sorted(set(reads)) and len(reads) <= 3
    reads.clear()
    assert sup("report", "timeliness", "--format", "json").code == 0
    assert reads == []  # unchanged cases come from the encrypted summary cache


def test_report__an_agency_template_overrides_the_shipped_one_and_a_broken_one_is_named(cli_as, small_repo, repo):
    folder = repo / ".cpcm" / "templates" / "reports"
    folder.mkdir(parents=True)
    sup = cli_as("sup")
    (folder / "caseload.md").write_text("Our caseload: {{ view.totals.open }} open cases\n", encoding="utf-8")
    result = sup("report", "caseload", "--format", "md")
    assert result.code == 0 and result.stdout == "Our caseload: 3 open cases\n"
    (folder / "caseload.md").write_text("{{ view.workers[0].shoe_size }}\n", encoding="utf-8")
    broken = sup("report", "caseload", "--format", "md")
    assert broken.code == 7 and "reports/caseload.md, line 1" in broken.stderr
    assert "amina" not in broken.stderr and not CASE_ID.search(broken.stderr)


def test_report__usage_errors(cli_as, small_repo):
    sup = cli_as("sup")
    assert sup("report", "everything").code == 2
    assert sup("report", "caseload", "--plaintext").code == 2       # --plaintext needs --out
    assert sup("report", "timeliness", "--from", "2026-05-01", "--to", "2026-04-01").code == 2
    assert sup("report", "caseload", "--format", "pdf").code == 2


def test_report__a_period_near_the_calendars_start_and_one_upside_down(cli_as, small_repo):
    """--to in the calendar's first year, without --from: the default twelve months begin with the
    calendar (was: exit 70, a month before the year 1); a --from after --to says how to mend it
    (was: the bare fact). Without --to, a --from after today says today, as with --to (was:
    '--from is after --to', naming an option not given)."""
    sup = cli_as("sup")
    early = sup("report", "statistics", "--to", "0001-03-15", "--json")
    assert early.code == 0, early.stderr
    assert early.json()["period"] == {"from": "0001-01-01", "to": "0001-03-15"}
    today = sup("report", "statistics", "--json").json()["period"]["to"]
    late = sup("report", "statistics", "--from", "2999-01-01", "--json")
    assert late.code == 2 and late.json()["message"] == f"--from is after today ({today})", late.stderr
    upside_down = sup("report", "timeliness", "--from", "2026-05-01", "--to", "2026-04-01", "--json")
    assert upside_down.code == 2 and upside_down.json()["message"] == "--from is after --to"
    assert "Give --from on or before --to" in upside_down.json()["hint"]



def test_report__a_period_still_to_come_is_refused_and_one_not_ended_is_said(cli_as, small_repo):
    """A monthly script with the year mistyped (2036 for 2026): a period that has not begun was
    reported as all noughts, exit 0, labelled as that period (only a --from after today without
    --to was refused). A period that ends after today counts up to today: that is said (statistics
    say it of a period that ends today too, once: it is not over, as a return's is not)."""
    sup = cli_as("sup")
    today = sup("report", "statistics", "--json").json()["period"]["to"]
    for kind in ("statistics", "timeliness", "placements"):
        ahead = sup("report", kind, "--from", "2036-01-01", "--to", "2036-01-31", "--json")
        assert ahead.code == 2 and ahead.json()["message"] == f"--from is after today ({today})", (kind, ahead.stderr)
        assert ahead.stdout.count("{") == 1  # the error, no report
        open_ended = sup("report", kind, "--from", today, "--to", "2036-01-31", "--json")
        assert open_ended.code == 0, open_ended.stderr
        assert open_ended.stderr.count("warning:") == 1, open_ended.stderr
        said = f"warning: the period has not ended (it ends 2036-01-31; today is {today})" if kind == "statistics" \
            else f"warning: the period ends after today ({today})"
        assert said in open_ended.stderr, open_ended.stderr
        assert open_ended.json()["period"] == {"from": today, "to": "2036-01-31"}
        ended = sup("report", kind, "--from", today, "--to", today, "--json")
        if kind == "statistics":
            assert ended.code == 0 and ended.stderr.count("warning:") == 1 and ended.json()["period_over"] is False, ended.stderr
            assert f"the period has not ended (it ends {today}; today is {today})" in ended.stderr
            yesterday = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
            ended = sup("report", kind, "--from", yesterday, "--to", yesterday, "--json")
            assert ended.json()["period_over"] is True
        assert ended.code == 0 and "warning" not in ended.stderr, ended.stderr  # over (statistics: the day before today)
    # the caseload report's supervision table takes the period, as the others: the rest of it is a snapshot, and says so
    caseload = sup("report", "caseload", "--from", today, "--to", "2036-01-31", "--json")
    assert caseload.code == 0 and caseload.stderr.count("warning") == 2, caseload.stderr
    assert "the period ends after today" in caseload.stderr and "snapshot now: --from and --to set only" in caseload.stderr
    assert caseload.json()["supervision"]["end"] == "2036-01-31"


def test_report__an_empty_from_or_to_is_refused_not_read_as_the_default_period(cli_as, small_repo):
    """`--from "$START"` with START left empty in a script: refused (exit 2), not the twelve months
    up to today under the name of the period the script meant."""
    sup = cli_as("sup")
    for option in ("--from", "--to"):
        for empty in ("", "  "):
            refused = sup("report", "statistics", option, empty, "--json")
            assert refused.code == 2 and refused.json()["message"] == f"{option} is empty", refused.stderr


def test_report_and_export__help_has_examples(cli):
    for command in ("report", "export"):
        result = cli(command, "--help")
        assert result.code == 0 and "Example: cpcm " + command in result.stdout


# -- export ---------------------------------------------------------------------------------------------
def test_export__refuses_plaintext_without_the_flag(cli_as, small_repo, tmp_path):
    out = tmp_path / "cases.csv"
    result = cli_as("sup")("export", "--format", "csv", "--out", str(out))
    assert result.code == 2 and not out.exists()
    assert "--recipient" in result.stderr and "--plaintext" in result.stderr


def test_export__to_a_recipient_is_an_age_file_they_can_read(cli_as, team, small_repo, tmp_path):
    from cpcm.crypto import cipher, identity

    out = tmp_path / "cases.csv.age"
    result = cli_as("sup")("export", "--format", "csv", "--recipient", team["otieno"][1], "--out", str(out))
    assert result.code == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(b"age-encryption.org/v1")
    text = cipher.decrypt(data, identity.load(team["otieno"][0], lambda: None).keys).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 and "name" not in rows[0] and {r["case_id"] for r in rows} == set(small_repo)
    assert "not you: you cannot read it back" in result.stderr, result.stderr  # sup did not name herself
    mine = cli_as("sup")("export", "--format", "csv", "--recipient", "sup", "--out", str(tmp_path / "mine.csv.age"))
    assert mine.code == 0 and "you are one of them" in mine.stderr, mine.stderr
    sup = cli_as("sup")
    assert sup("assign", "--from-worker", "otieno", "--worker", "amina").code == 0 and sup("team", "remove", "otieno").code == 0
    gone = sup("export", "--format", "csv", "--recipient", "otieno", "--out", str(tmp_path / "gone.csv.age"))
    assert gone.code == 2 and "a worker removed from the team" in gone.stderr, gone.stderr  # not "not an age recipient"


def test_export__identifying_fields_leave_only_with_consent_for_sharing(cli_as, small_repo, tmp_path):
    sup = cli_as("sup")
    assert sup("service", "add", "county", "--provider", "County Children's Office", "--sector", "social_protection",
               "--offers", "case records").code == 0
    for giver in ("child", "caregiver"):
        given = sup("consent", small_repo[0], "--purpose", "sharing", "--agency", "county", "--by", giver, "--status", "given",
                    "--explained", "all")
        assert given.code == 0, given.stderr
    out = tmp_path / "named.json"
    needs_agency = sup("export", "--format", "json", "--fields", "case_id,name", "--plaintext", "--out", str(out))
    assert needs_agency.code == 2 and not out.exists()
    result = sup("export", "--format", "json", "--fields", "case_id,name,sex", "--agency", "county", "--plaintext", "--out", str(out))
    assert result.code == 0, result.stderr
    cases = json.loads(out.read_text(encoding="utf-8"))["cases"]
    assert [c["case_id"] for c in cases] == [small_repo[0]] and cases[0]["name"] == CANARY
    assert "left out 2 case(s)" in result.stderr
    assert CANARY not in result.stderr


def test_export__an_agency_not_in_the_directory_is_refused_and_not_repeated(cli_as, small_repo, tmp_path):
    """A name typed as --agency (a service id belongs there) was taken as the agency, and the
    message on the cases left out repeated it twice; it is now refused, and no file written."""
    sup = cli_as("sup")
    for fields in ("case_id,name", "case_id,sex"):
        out = tmp_path / "named.json"
        refused = sup("export", "--format", "json", "--fields", fields, "--agency", CANARY, "--plaintext", "--out", str(out), "--json")
        assert refused.code == 4 and "agency: is not a service id in the directory" in refused.stderr, refused.stderr
        assert CANARY not in refused.stderr + refused.stdout and not out.exists()


def test_export__primero_columns(cli_as, small_repo, tmp_path):
    out = tmp_path / "primero.csv"
    result = cli_as("sup")("export", "--format", "csv", "--primero", "--fields", "case_id,sex,age,registered_at,risk,concerns,status,worker",
                           "--plaintext", "--out", str(out))
    assert result.code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == ["case_id_display", "sex", "age", "registration_date", "risk_level", "urgent_protection_concern",
                             "protection_concerns", "status", "owned_by"]
    assert {r["owned_by"] for r in rows} == {"amina", "otieno"} and {r["status"] for r in rows} == {"open"}


def test_docs__every_export_field_and_primero_column_is_documented():
    from cpcm.reports import export

    docs = Path(__file__).parents[1] / "docs"
    fields = (docs / "commands" / "reports.md").read_text(encoding="utf-8")
    mapping = (docs / "primero-mapping.md").read_text(encoding="utf-8")
    assert [f for f in export.FIELDS if f not in fields] == []
    assert [c for c in [*export.PRIMERO_COLUMNS.values(), "urgent_protection_concern"] if f"`{c}`" not in mapping] == []
    assert all(f"| `{f}` |" in mapping for f in export.FIELDS)


def test_export__unknown_field_is_a_usage_error(cli_as, small_repo, tmp_path):
    result = cli_as("sup")("export", "--format", "csv", "--fields", "case_id,shoe_size", "--plaintext", "--out", str(tmp_path / "x.csv"))
    assert result.code == 2 and "field 2 of 2" in result.stderr and "shoe_size" not in result.stderr


@pytest.mark.parametrize("name, options, example", [
    ("cases.pdf", ["--format", "csv", "--plaintext"], "export.csv"),
    ("cases.json", ["--format", "csv", "--plaintext"], "export.csv"),           # the name says JSON, --format CSV
    ("cases.xlsx.age", ["--format", "csv", "--recipient", "otieno"], "export.csv.age"),
    ("cases.md", ["--plaintext"], "export.csv"),                                # no --format: not a format it writes
])
def test_export__an_out_name_whose_extension_is_not_the_format_it_writes_is_refused(cli_as, small_repo, tmp_path, name, options,
                                                                                     example):
    """`export --format csv --out cases.pdf` (or cases.json) wrote CSV under a PDF's (a JSON file's)
    name and exited 0; it is refused as a report's --out is (common.out_format: exit 2, nothing
    written), without repeating the name typed; without --format the name picks csv or json, and a
    name with neither and no --format is refused."""
    folder = tmp_path / "out"
    folder.mkdir()
    word = CANARY.split()[0]
    sup = cli_as("sup")
    refused = sup("export", "--out", str(folder / f"{word}-{name}"), *options, "--json")
    assert refused.code == 2, refused.stdout + refused.stderr
    extension = "." + name.removesuffix(".age").rsplit(".", 1)[1]
    assert refused.json()["message"].startswith(f"--out: a file whose name ends in {extension} ")
    assert "nothing was written" in refused.json()["message"] and list(folder.iterdir()) == []
    assert word.lower() not in (refused.stdout + refused.stderr).lower()
    assert f"--out {example})" in refused.json()["hint"]
    done = sup("export", "--out", str(folder / example), *options)  # the hint's name, run, is written
    assert done.code == 0, done.stderr
    named = sup("export", "--out", str(folder / "cases.json"), "--plaintext")  # the name picks the format
    assert named.code == 0 and json.loads((folder / "cases.json").read_text(encoding="utf-8"))["cases"], named.stderr
    neither = sup("export", "--out", str(folder / "cases"), "--plaintext", "--json")
    assert neither.code == 2 and neither.json()["message"].startswith("--format is needed") and not (folder / "cases").exists()


def test_statistics__counts_consent_refusals_and_the_childs_participation():
    from cpcm.store import policies
    from cpcm.domain.records import Record
    from cpcm.workflow.fold import fold
    from cpcm.domain.profiles import build

    policy, errors = build(policies.chain("inter-agency"), {"rules": {"reporting": {"small_cell_threshold": 0}}})
    assert not errors
    at = "2026-03-01T10:00:00+00:00"

    def rec(n, kind, **body):
        return Record(kind, 1, f"01H{n:023d}", "CP-TEST-0000", at, at, "amina", body)

    records = [rec(1, "registration", risk="low", child={"sex": "female", "date_of_birth": "2015-01-01"}),
               rec(2, "consent", purpose="referral", given_by="caregiver", status="refused"),
               rec(3, "assessment", type="comprehensive"),
               rec(4, "plan", participants={"child": "yes", "caregivers": "no"}),
               rec(5, "plan", participants={"child": "no", "caregivers": "yes"})]
    view = statistics([fold("CP-TEST-0000", records)], policy, date(2026, 1, 1), date(2026, 12, 31))
    totals = {row[0]: row[-1] for row in next(t for t in view["tables"] if t["id"] == "summary")["rows"]}
    assert totals["Consent refused or not possible"] == 1
    # both versions wait for a supervisor: none is in force where the policy needs approval; each is where it does not
    assert totals[IN_FORCE] == 0 and totals[IN_FORCE_WITH_CHILD] == 0
    unapproved, errors = build(policies.chain("inter-agency"), {"rules": {"reporting": {"small_cell_threshold": 0},
                                                                          "plan_approval": {"required": False}}})
    assert not errors
    view = statistics([fold("CP-TEST-0000", records)], unapproved, date(2026, 1, 1), date(2026, 12, 31))
    totals = {row[0]: row[-1] for row in next(t for t in view["tables"] if t["id"] == "summary")["rows"]}
    assert totals[IN_FORCE] == 2 and totals[IN_FORCE_WITH_CHILD] == 1 and totals["Case plan versions rejected"] == 0


def test_statistics__counts_the_consent_refused_or_not_possible_at_registration_and_by_an_update():
    """The registration's answers are where consent is most often refused or not possible: the
    report counted only `cpcm consent` records, and said 0 in a month of two such registrations.
    Each answer counts (the child's and the caregiver's), as each `cpcm consent` record does."""
    from cpcm.domain.profiles import build
    from cpcm.domain.records import Record
    from cpcm.workflow.fold import fold

    policy, errors = build(policies.chain("inter-agency"), {"rules": {"reporting": {"small_cell_threshold": 0}}})
    assert not errors
    at = "2026-03-01T10:00:00+00:00"

    def rec(case, n, kind, **body):
        return Record(kind, 1, f"01H{n:023d}", case, at, at, "amina", body)

    child = {"sex": "female", "date_of_birth": "2015-01-01"}
    cases = [fold("CP-AAAA-0001", [rec("CP-AAAA-0001", 1, "registration", risk="low", child=child,
                                       consent={"child": "given", "caregiver": "refused"})]),
             fold("CP-AAAA-0002", [rec("CP-AAAA-0002", 2, "registration", risk="low", child=child,
                                       consent={"child": "not_possible", "caregiver": "not_possible"})]),
             fold("CP-AAAA-0003", [rec("CP-AAAA-0003", 3, "registration", risk="low", child=child,
                                       consent={"child": "given", "caregiver": "given"}),
                                   rec("CP-AAAA-0003", 4, "update", changes={"consent.caregiver": "refused"}, reason="changed her mind")])]
    view = statistics(cases, policy, date(2026, 1, 1), date(2026, 12, 31))
    totals = {row[0]: row[-1] for row in next(t for t in view["tables"] if t["id"] == "summary")["rows"]}
    assert totals["Consent refused or not possible"] == 4


IN_FORCE = "Case plan versions in force (approved, where the policy needs approval)"
IN_FORCE_WITH_CHILD = "Case plan versions in force the child took part in"


def test_statistics__plan_versions_are_those_in_force_and_rejected_ones_are_counted_apart():
    """A supervisor's month: a version rejected, the next approved, a third waiting, and one the
    author withdrew. "Case plan versions" counted every version written (4), over-reporting plans
    to the county. The report counts the versions in force (approved where the policy needs it: 1,
    on the day approved), the rejected one on its own line, and the return for aggregation the same."""
    from cpcm.domain.profiles import build

    policy, errors = build(policies.chain("inter-agency"), {"rules": {"reporting": {"small_cell_threshold": 0}}})
    assert not errors
    day = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    records = []

    def rec(kind, when, by="amina", **body):
        records.append(Record(kind, 1, f"01H{len(records) + 1:023d}", "CP-TEST-0000", when.isoformat(), when.isoformat(), by, body))
        return records[-1].id

    rec("registration", day, risk="low", child={"sex": "female", "date_of_birth": "2015-01-01"})
    rec("assessment", day, type="comprehensive")
    first = rec("plan", day + D, participants={"child": "yes"})
    rec("rejection", day + 2 * D, by="sup", subject="plan", target=first, note="add a goal for school")
    second = rec("plan", day + 3 * D, participants={"child": "yes"})
    rec("approval", datetime(2026, 4, 2, 10, 0, tzinfo=timezone.utc), by="sup", subject="plan", target=second)
    rec("approval", datetime(2026, 4, 3, 10, 0, tzinfo=timezone.utc), by="sup", subject="plan", target=second)  # decides nothing
    third = rec("plan", datetime(2026, 4, 10, tzinfo=timezone.utc), participants={"child": "no"})
    rec("withdrawal", datetime(2026, 4, 11, tzinfo=timezone.utc), subject="plan", target=third)
    rec("plan", datetime(2026, 4, 12, tzinfo=timezone.utc), participants={"child": "yes"})  # waiting
    case = fold("CP-TEST-0000", records)

    def totals(start, end):  # by the sections' JSON keys (`measure`), as a script reads them
        return {s["measure"]: s["total"] for s in statistics([case], policy, start, end)["sections"]}

    year = totals(date(2026, 1, 1), date(2026, 12, 31))
    assert (year["plans"], year["plans_with_child"], year.get("plans_rejected")) == (1, 1, 1)
    march, april = totals(date(2026, 3, 1), date(2026, 3, 31)), totals(date(2026, 4, 1), date(2026, 4, 30))
    assert (march["plans"], march.get("plans_rejected")) == (0, 1)  # written in March, in force from April
    assert (april["plans"], april["plans_with_child"], april.get("plans_rejected")) == (1, 1, 0)
    view = statistics([case], policy, date(2026, 1, 1), date(2026, 12, 31))
    assert [(s["measure"], s["title"]) for s in view["sections"]][7:10] == [
        ("plans", IN_FORCE), ("plans_with_child", IN_FORCE_WITH_CHILD), ("plans_rejected", "Case plan versions rejected")]
    # the return for aggregation counts the same, under the same keys: the county adds up plans in force
    cells = statistics_counts([case], policy, date(2026, 1, 1), date(2026, 12, 31))["measures"]
    assert [sum(c[-1] for c in cells[m]) for m in ("plans", "plans_with_child", "plans_rejected")] == [1, 1, 1]
    assert not {"plans_approved", "plans_with_child_approved"} & set(cells)


def test_export__a_closed_case_for_a_court_on_a_supervisors_override_of_consent_to_share(cli, cli_as, tmp_path):
    """A closed case exported with names (for a court): the consent to share, or a supervisor's
    override of it, is recorded at the closed stage as the export's own record is (it was refused
    there: 'consent --override' is not allowed at 'closed', and the export's hint named it)."""
    from cpcm.workflow import transitions
    from test_reopen_walk import _closed, at

    sup = cli_as("sup")
    case_id = _closed(cli, sup)
    assert sup("service", "add", "court", "--provider", "Children's Court", "--sector", "justice", "--offers", "hearings").code == 0
    later = at(sup, "2027-02-01T09:00:00+03:00")
    override = later("consent", case_id, "--override", "--purpose", "sharing", "--agency", "court", "--basis", "legal_mandate",
                     "--reason", "a court order to produce the file")
    assert override.code == 0, override.stderr
    done = later("export", "--format", "json", "--fields", "case_id,name", "--agency", "court", "--recipient", "sup",
                 "--out", str(tmp_path / "court.json.age"), "--json")
    assert done.code == 0 and done.json()["cases"] == 1, done.stdout
    # the variants of the stage table: to share at any stage, the rest of consent while the case is open
    assert transitions.next_stage("transferred", "consent_override.sharing") == "transferred"
    assert transitions.next_stage("closed", "consent.sharing") == "closed" and transitions.next_stage("closed", "consent") is None


def test_export__records_the_disclosure_and_uses_up_a_one_off_consent(cli_as, small_repo, tmp_path):
    sup = cli_as("sup")
    assert sup("service", "add", "county", "--provider", "County Children's Office", "--sector", "social_protection",
               "--offers", "case records").code == 0
    for giver in ("child", "caregiver"):
        assert sup("consent", small_repo[0], "--purpose", "sharing", "--agency", "county", "--by", giver, "--status", "given",
                   "--explained", "all", "--one-off").code == 0
    first = sup("export", "--format", "json", "--fields", "case_id,name", "--agency", "county", "--recipient", "sup",
                "--out", str(tmp_path / "one.json.age"), "--json")
    assert first.code == 0, first.stderr
    assert first.json()["cases"] == 1
    log = sup("log", small_repo[0], "--json").json()
    assert log[-1]["kind"] == "sharing" and log[-1]["message"] == "export 1 cases"
    again = sup("export", "--format", "json", "--fields", "case_id,name", "--agency", "county", "--recipient", "sup",
                "--out", str(tmp_path / "two.json.age"), "--json")
    assert again.code == 0 and again.json()["cases"] == 0  # the one-off consent was used


# -- the caseload report from the tables ------------------------------------------------------------
CASELOAD_FORMS = [(), ("--json",), ("--format", "md"), ("--format", "html"), ("--format", "csv"), ("--format", "json")]


def _caseload_same(who, without_views, env=None) -> None:
    """`report caseload` read from the list rows and the due table is the report folded from every case, in every format."""
    for args in CASELOAD_FORMS:
        kept, folded = who("report", "caseload", *args, env=env), without_views(who, "report", "caseload", *args, env=env)
        assert kept.code == 0, kept.stderr
        assert (kept.code, kept.stdout, kept.stderr) == (folded.code, folded.stdout, folded.stderr), args


def _caseload_cases(cli_as) -> dict[str, str]:
    """Cases in many stages and risks: assessments overdue for months, one whose target passed and not its
    limit, one assessed and rated, plans and a closure waiting for a supervisor, otieno's that amina does not read."""
    from conftest import library_session
    from cpcm import service
    from test_assess_plan import COMPREHENSIVE, INITIAL_DATA, plan_doc
    from test_followup_close import DECLINED

    cases = {}
    cases["overdue"] = register(cli_as("amina", CPCM_NOW="2026-03-02T09:00:00+03:00"), risk="medium")
    cases["target_missed"] = register(cli_as("amina", CPCM_NOW="2026-11-22T03:00:00+03:00"))
    planned, closing = register(cli_as("amina", CPCM_NOW="2026-10-01T09:00:00+03:00")), \
        register(cli_as("amina", CPCM_NOW="2026-10-01T09:00:00+03:00"), risk="low")
    amina = library_session(cli_as("amina", CPCM_NOW="2026-10-02T09:00:00+03:00"))
    for case_id, risk in ((planned, "high"), (closing, "medium")):
        service.assess(amina, case_id, "initial", dict(INITIAL_DATA, risk=risk, risk_reason="rated at the assessment"))
        service.assess(amina, case_id, "comprehensive", COMPREHENSIVE)
    service.plan(library_session(cli_as("amina", CPCM_NOW="2026-10-20T09:00:00+03:00")), planned, plan_doc())
    service.close(library_session(cli_as("amina", CPCM_NOW="2026-11-10T09:00:00+03:00")), closing, DECLINED)
    cases.update(planned=planned, closing=closing, assessed=register(cli_as("amina", CPCM_NOW="2026-11-01T09:00:00+03:00")))
    service.assess(library_session(cli_as("amina", CPCM_NOW="2026-11-01T15:00:00+03:00")), cases["assessed"], "initial",
                   dict(INITIAL_DATA, risk="immediate", risk_reason="rated at the assessment"))
    theirs = cli_as("otieno", CPCM_NOW="2026-09-01T09:00:00+03:00")
    cases["otieno"] = register(theirs, risk="high")
    cases["otieno_planned"] = register(theirs)
    otieno = library_session(cli_as("otieno", CPCM_NOW="2026-09-02T09:00:00+03:00"))
    service.assess(otieno, cases["otieno_planned"], "initial", dict(INITIAL_DATA, risk="low", risk_reason="rated"))
    service.assess(otieno, cases["otieno_planned"], "comprehensive", COMPREHENSIVE)
    service.plan(library_session(cli_as("otieno", CPCM_NOW="2026-09-20T09:00:00+03:00")), cases["otieno_planned"], plan_doc())
    return cases


def test_report__caseload_from_the_tables_is_the_report_folded_from_every_case(cli_as, without_views):
    """`report caseload` reads each case's list row and its deadlines from the due table, and the
    folded case only for an approval waiting (when it was asked for), instead of folding every
    case: the report is the same as the one made from every folded case, in every format, for a
    supervisor and for a caseworker who reads only some cases, and after a case changed since the
    tables were written."""
    from cpcm.service import reports as reports_mod

    cases = _caseload_cases(cli_as)
    sup, amina, otieno = cli_as("sup"), cli_as("amina"), cli_as("otieno")
    view = sup("report", "caseload", "--json").json()
    assert view["totals"]["approvals_waiting"] == 3 and view["totals"]["overdue"] > 0
    assert sum(w["target_missed"] for w in view["workers"]) > 0
    assert {a["subject"]: a["waiting"] for a in view["approvals"]} == {"plan": 2, "closure": 1, "transfer": 0, "mandatory_report": 0}
    assert amina("report", "caseload", "--json").json()["workers_shown"] == "yours"  # otieno's cases: not hers to read
    folded = []
    real = reports_mod.CaseStream
    with pytest.MonkeyPatch.context() as patch:  # the tables are read, not every case folded
        patch.setattr(reports_mod, "CaseStream", lambda *a, **k: folded.append(1) or real(*a, **k))
        assert sup("report", "caseload").code == 0 and amina("report", "caseload").code == 0 and not folded
    for who in (sup, amina, otieno):
        _caseload_same(who, without_views)
    for who in (sup, amina):
        _caseload_same(who, without_views, env={"CPCM_NOW": "2026-12-24T09:00:00+03:00"})  # later: more overdue
    # a case changed since the tables were written: its row and deadlines as the last commit holds them
    assert amina("followup", cases["planned"], "--method", "home_visit", "--purpose", "monitoring", "--purpose-detail",
                 "check school", "--visited-by", "professional", "--risk-increased", "yes").code == 0
    assert sup("approve", cases["otieno_planned"], "plan").code == 0
    for who in (sup, amina, otieno):
        _caseload_same(who, without_views)


def test_report__caseload_from_the_tables_keeps_a_removed_workers_cases_nobodys(orphaned, without_views):
    """A case brought in after its worker was removed from the team (on another copy) is nobody's
    on the caseload report read from the tables, as on the one folded from every case."""
    laptops, case_id = orphaned
    sup = laptops.cli("sup")
    view = sup("report", "caseload", "--json").json()
    assert {w["worker"]: w["state"] for w in view["workers"]}["otieno"] == "off_team"
    _caseload_same(sup, without_views)
    _caseload_same(laptops.cli("amina"), without_views)
