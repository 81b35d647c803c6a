"""What a cold fill makes of each case (service/fill.py `read_one`: the fold, the summary's JSON,
and `tables.made_rows`, the due and statistics entries) is what the rules give computed plainly,
for cases of many shapes, under two policies, in zones that are equal as values but not the same
object, at two times, all in one process and interleaved: a cache that answered for another
policy, zone or case would show.

The plain computation is the code with its shortcuts taken out: `dataclasses.replace` for the
fold's copy of a case, the stored times, UTC texts and duration words worked out at every call,
`Case.last` as a list of the times, the statistics rows as each event's item was made before, and
the deadlines evaluated directly (`deadlines.deadlines`, `admission_conference_due`) at times
across every piece of the due entry: its ends and its middle. Names in the records are synthetic.
"""
from __future__ import annotations

import importlib
import json
import random
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from cpcm.domain import durations, records
from cpcm.domain.case import Case
from cpcm.domain.dates import parse_datetime
from cpcm.domain.records import Record
from cpcm.reports.common import Period, age_band, disability_group, sex_group
from cpcm.service import fill, tables
from cpcm.store import policies
from cpcm.workflow import conferences, deadlines
from cpcm.workflow import fold as fold_module
from cpcm.workflow.deadlines import Deadline
from cpcm.workflow.retention import restricted  # the recipients file as the records have it: no mismatch

statistics = importlib.import_module("cpcm.reports.statistics")  # the module (the package names a function so)
POLICIES = {"kenya": policies.load("kenya"), "inter-agency": policies.load("inter-agency")}
NAIROBI = ZoneInfo("Africa/Nairobi")
ZONES = {  # two pairs equal as values (==, one hash) that name their times apart (the object, tzname)
    "nairobi": NAIROBI, "nairobi-again": ZoneInfo.no_cache("Africa/Nairobi"),
    "plus3": timezone(timedelta(hours=3)), "plus3-named": timezone(timedelta(hours=3), "EAT"),
    "new-york": ZoneInfo("America/New_York"), "utc": timezone.utc,
}
ALL_ZONES = {**ZONES, "santiago": ZoneInfo("America/Santiago")}  # and one whose clock skips midnight, for one test
NOWS = (datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc), datetime(2027, 3, 14, 7, 30, tzinfo=timezone.utc))
OFFSETS = ("+03:00", "+00:00", "-05:00", "Z")
TICK = timedelta(microseconds=1)


# -- cases of many shapes -------------------------------------------------------------------------
def _at(moment: datetime, rng: random.Random) -> str:
    offset = rng.choice(OFFSETS)
    if offset == "Z":
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    hours = -5 if offset == "-05:00" else int(offset[1:3])
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat(timespec="seconds")


def _records(case_id: str, rng: random.Random, base: datetime) -> list[Record]:
    """A case's records: a registration, then a random run of what happens to a case."""
    moment = base - timedelta(days=rng.randint(0, 500), minutes=rng.randint(0, 1440))
    out: list[Record] = []
    referrals: list[str] = []

    def add(kind: str, **body) -> str:
        nonlocal moment
        moment += timedelta(hours=rng.choice((1, 5, 20, 49, 200, 900)), minutes=rng.randint(0, 59))
        record_id = f"{len(out) + 1:04d}"
        out.append(Record(kind, 1, record_id, case_id, _at(moment, rng), moment.astimezone(timezone.utc).isoformat(),
                          rng.choice(("amina", "baraka", "sup")), body))
        return record_id

    child = {"name": "Test Child", "sex": rng.choice(("female", "male", None))}
    if rng.random() < 0.6:  # born so that the 18th birthday falls near the times the rows are made for
        born = base.date() - timedelta(days=18 * 365 + rng.randint(-500, 500))
        child["date_of_birth"] = born.isoformat() if (born.month, born.day) != (2, 29) else "2009-03-01"
    elif rng.random() < 0.5:
        child["age_estimate"] = rng.randint(0, 17)
    if rng.random() < 0.4:
        child["disability"] = rng.choice(("yes", "no"))
    registration = {"child": child, "risk": rng.choice(("immediate", "high", "medium", "low", None)),
                    "worker": rng.choice(("amina", "baraka"))}
    if rng.random() < 0.3:
        registration["lives_with"] = "institution"
    add("registration", **registration)
    kinds = ["assessment", "assessment", "plan", "approval", "rejection", "review", "followup", "followup", "referral",
             "referral_update", "placement", "readiness", "tracing", "closure", "reopen", "transfer_request", "continuation",
             "note", "assignment", "update", "withdrawal"]
    for _ in range(rng.choice((0, 1, 3, 6, 10, 16))):
        kind = rng.choice(kinds)
        day = (moment + timedelta(days=rng.randint(-20, 120))).date().isoformat()
        if kind == "assessment":
            body = {"type": rng.choice(("initial", "initial", "comprehensive", "comprehensive", "best_interests"))}
            if rng.random() < 0.5:
                body["risk"] = rng.choice(("immediate", "high", "medium", "low"))
            if rng.random() < 0.2:
                body["immediate_actions"] = ["moved to a safe place"]
            add(kind, **body)
        elif kind == "plan":
            actions = [{"what": f"action {n}", "by": (moment + timedelta(days=rng.randint(-10, 200))).date().isoformat()
                        if rng.random() < 0.8 else None, "who": rng.choice((None, "caregiver"))} for n in range(rng.randint(0, 3))]
            add(kind, goals=[{"goal": "a goal"}], actions=actions,
                reason=rng.choice((None, "reunification_done", "review")), participants={"child": rng.choice(("yes", "no"))})
        elif kind in ("approval", "rejection"):
            add(kind, subject=rng.choice(("plan", "plan", "closure", "transfer")))
        elif kind == "review":
            body = {"attended": {"child": rng.choice(("yes", "no"))}}
            if rng.random() < 0.5:
                body["next_review"] = (moment + timedelta(days=rng.randint(1, 120))).date().isoformat()
            if rng.random() < 0.3:
                body["actions_done"] = ["A1"]
            add(kind, **body)
        elif kind == "followup":
            body = {"purpose": rng.choice((None, "crisis", "post_closure", "monitoring"))}
            for key, chance in (("risk_increased", 0.2), ("concern", 0.2)):
                if rng.random() < chance:
                    body[key] = "yes"
            if rng.random() < 0.3:
                body["method"] = "home_visit"
            if rng.random() < 0.3:
                body["risk"] = rng.choice(("high", "low"))
            if rng.random() < 0.2:
                body["actions_done"] = ["A1", "A2"]
            add(kind, **body)
        elif kind == "referral":
            referrals.append(add(kind, service="a service", sector=rng.choice(("health", "education", None))))
        elif kind == "referral_update" and referrals:
            body = {"referral": rng.choice(referrals),
                    "status": rng.choice(("acknowledged", "accepted", "declined", "delivered", "not_delivered", "closed"))}
            if body["status"] == "accepted" and rng.random() < 0.7:
                body["start"] = day if rng.random() < 0.5 else _at(moment + timedelta(days=3), rng)
                body["expected_duration"] = rng.choice(("2w", "3mo", "10d"))
            add(kind, **body)
        elif kind == "placement":
            residential = rng.random() < 0.5
            body = {"care_type": "institutional_care" if residential else "kinship",
                    "setting": "residential" if residential else "family_based", "reunification": not residential}
            if rng.random() < 0.5:
                body["decision"] = {"court_order": {"expires": (moment + timedelta(days=rng.randint(-30, 300))).date().isoformat()}}
            add(kind, **body)
        elif kind == "readiness":
            add(kind, stops=["safe_at_home"] if rng.random() < 0.5 else [])
        elif kind == "tracing":
            add(kind, outcome=rng.choice(("family_found", "not_found")))
        elif kind == "closure":
            add(kind, reason=rng.choice(("goals_met", "reached_18", "transferred")), immediate=rng.random() < 0.2)
        elif kind == "transfer_request":
            add(kind, to="another agency")
        elif kind == "assignment":
            add(kind, worker=rng.choice(("amina", "baraka")))
        elif kind == "update":
            add(kind, changes={"child.sex": rng.choice(("female", "male", None))})
        elif kind == "withdrawal":
            add(kind, subject="plan")
        elif kind != "referral_update":
            add(kind)
    return out


def shapes(count: int, seed: int) -> list[tuple[str, list[Record]]]:
    rng = random.Random(seed)
    return [(f"CP-TEST-{n:04d}", _records(f"CP-TEST-{n:04d}", rng, rng.choice(NOWS))) for n in range(count)]


CASES = shapes(160, 20261201)


# -- the plain computation ------------------------------------------------------------------------
def _plain_t(text, zone):
    return parse_datetime(text).astimezone(zone) if text else None


def _plain_last(self, event, since=None):
    times = [t for t in self.events.get(event, ()) if since is None or t >= since]
    return max(times) if times else None


def _plain_case_rows(case: Case, zone=None) -> list[list]:
    """`statistics.case_rows` as it was written before it read each event's day once."""
    period = Period(date.min, date.max, zone or timezone.utc)
    rows: list[list] = []

    def item(when: str, category) -> dict:
        return {"category": category, "sex": sex_group(case.child.get("sex")),
                "age": age_band(case.age_on(period.local(when).date())), "disability": disability_group(case.child.get("disability"))}

    def add(measure: str, when: str, category=None, outcome=None) -> None:
        found = item(when, category)
        rows.append([statistics.MEASURE_KEYS.index(measure), period.local(when).date().isoformat(),
                     *(found[k] for k in statistics.ROW_KEYS[:4])] + ([outcome] if outcome is not None else []))

    if case.registered_at:
        add("registrations", case.registered_at)
    closures = sorted(case.events.get("closed", ()))
    for when in closures:
        if when:
            add("closures", when, statistics._closure_reason(case, when))
    for name, key in (("reopen", "reopenings"), ("transfer", "transfers"), ("consent_override", "consent_overrides"),
                      ("consent_refused", "consent_refusals"), ("plan", "plans"), ("plan_with_child", "plans_with_child"),
                      ("review", "reviews"), ("review_with_child", "reviews_with_child"), ("plan_rejected", "plans_rejected"),
                      ("plan_approved", "plans_approved"), ("plan_with_child_approved", "plans_with_child_approved")):
        for when in case.events.get(name, ()):
            if when:
                add(key, when)
    for referral in case.referrals:
        if referral.get("at"):
            status = referral.get("status")
            outcome = next((name for name, statuses in statistics.REFERRAL_OUTCOMES if status in statuses), "unknown")
            add("referrals", referral["at"], referral.get("sector") or "unknown", outcome)
    return rows


@pytest.fixture
def plainly(monkeypatch):
    """Run a function with every shortcut taken out (see the module's docstring)."""
    def run(function, *args):
        with monkeypatch.context() as patch:
            patch.setattr(fold_module, "_changed", replace)
            patch.setattr(records, "_utc_text", records._utc)
            patch.setattr(deadlines, "_t", _plain_t)
            patch.setattr(durations, "_words", durations._words_of)
            patch.setattr(Case, "last", _plain_last)
            patch.setattr(tables, "_compact", lambda value: json.dumps(value, separators=(",", ":")))
            return function(*args)
    return run


def view(item: Deadline) -> tuple:
    """Every field; a time as written out, with its zone's name and fold (a datetime compares by its instant)."""
    def moment(value):
        return None if value is None else (value.isoformat(), value.tzname(), value.fold, value.tzinfo)
    return (item.case_id, item.code, item.title, moment(item.due), moment(item.target), item.owner, item.rule, item.why,
            item.source, item.risk, item.requested_by, tuple(item.barred), item.covered_by)


def stored(case: Case, session, piece: list, zone) -> list[tuple]:
    """The deadlines a due entry's piece holds, read back as `due_rows` reads them (the case's ID where the table
    keeps its mark: `tables.with_case`)."""
    out = []
    for i in range(3, len(piece), 3):
        code, title, owner, rule, why, source, risk, requested_by, barred = tables.with_case(session.texts[piece[i]], case.id)
        out.append(view(Deadline(case.id, code, title, tables.time_of(piece[i + 1], zone), tables.time_of(piece[i + 2], zone),
                                 owner, rule, why, source, risk, requested_by, tuple(barred))))
    return out


def samples(piece: list, now: datetime) -> list[datetime]:
    """Times inside a piece: its ends (as `instant`s, the start included and the end not) and its middle."""
    def at(micro):
        return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micro)
    lo, hi = piece[0], piece[1]
    found = []
    if lo is not None:
        found.append(at(lo))
    if hi is not None:
        found.append(at(hi) - TICK)
    if lo is not None and hi is not None:
        found.append(at((lo + hi) // 2))
    if lo is None and hi is not None:
        found.append(at(hi) - timedelta(days=40))
    if hi is None and lo is not None:
        found.append(at(lo) + timedelta(days=40))
    if (lo is None or tables.instant(now) >= lo) and (hi is None or tables.instant(now) < hi):
        found.append(now)
    return found


def _session(zone, name: str):
    return tables._Session(None, "amina", "age1synthetic", None, zone, tables.zone_key(zone) or name)


# -- the tests ------------------------------------------------------------------------------------
def test_fold__the_same_case_as_with_dataclasses_replace(plainly):
    for case_id, case_records in CASES:
        made = fold_module.fold(case_id, case_records)
        plain = plainly(fold_module.fold, case_id, case_records)
        assert made == plain and type(made) is Case
        assert list(vars(made)) == list(vars(plain))  # the summary's keys in the same order
        assert fill.dumps(made) == plainly(fill.dumps, plain) == json.dumps(plain.to_dict(), separators=(",", ":"))


def compare(case: Case, policy_name: str, zone_name: str, now: datetime, session, plainly, monkeypatch) -> dict:
    """`made_rows` of a case (with `session`, as the previous cases left it) against the plain
    computation: the statistics rows; the due entry (made again plainly with a session of its
    own); and each piece's deadlines against those evaluated directly at times across it.
    Returns what was compared."""
    policy, zone = POLICIES[policy_name], ALL_ZONES[zone_name]
    ctx = SimpleNamespace(policy=policy, now=now.astimezone(zone), config=SimpleNamespace(policy_since=""))
    monkeypatch.setattr(tables, "_session", lambda ctx: session)
    made = tables.made_rows(ctx, ("due", "statistics"), "ab" * 20, case, line=restricted(case))
    text, texts = made["statistics"]
    assert json.loads(text) == ["ab" * 10, _plain_case_rows(case, zone)]
    text, texts = made["due"]
    plain_session = _session(zone, zone_name)  # a session of its own: the texts made afresh
    monkeypatch.setattr(tables, "_session", lambda ctx: plain_session)
    assert plainly(tables.made_rows, ctx, ("due",), "ab" * 20, case, restricted(case)) == {"due": (text, texts)}
    if text is None:  # not kept (so too computed plainly, above)
        return {"kept": 0}
    entry = json.loads(text)
    # the worker, with the risk of an open case (and a keyworker not its worker) where it has one (`tables.worker_cell`)
    assert entry[0] == "ab" * 10 and tables.worker_of(entry[1])[0] == case.worker
    assert tables.worker_of(entry[1])[2] == (case.risk if case.status == "open" or case.keyworker else None)
    for before, after in zip(entry[2:], entry[3:]):
        assert before[1] == after[0] and before[1] is not None  # one piece after the other
    seen = {"kept": 1, "pieces": 0, "items": 0, "admissions": 0, "values": []}
    held = 0
    for piece in entry[2:]:
        seen["pieces"] += 1
        count = piece[2]
        values = stored(case, session, piece, zone)
        for moment in samples(piece, ctx.now):
            local = moment.astimezone(zone)
            held += moment is ctx.now
            due = plainly(deadlines.deadlines, case, policy, local)
            admission = plainly(conferences.admission_conference_due, case, policy, local, ())
            assert values == [view(d) for d in due + admission], (case.id, policy_name, zone_name, moment)
            assert count == len(due)
        seen["items"] += count
        seen["admissions"] += len(values) - count
        seen["values"] += values
    assert held == 1  # one piece holds `now`
    return seen


def test_made_rows__due_and_statistics_entries_as_computed_plainly(plainly, monkeypatch):
    """Every case under each policy, zone and `now`, the rows made one after the other in one
    process (what one case, policy or zone leaves behind is there for the next)."""
    folded = [fold_module.fold(case_id, case_records) for case_id, case_records in CASES]
    totals = {"kept": 0, "pieces": 0, "items": 0, "admissions": 0}
    order = [(p, z, now) for now in NOWS for z in ZONES for p in POLICIES]
    random.Random(7).shuffle(order)
    for policy_name, zone_name, now in order:
        session = _session(ZONES[zone_name], zone_name)
        for case in folded:
            seen = compare(case, policy_name, zone_name, now, session, plainly, monkeypatch)
            for key in totals:
                totals[key] += seen.get(key, 0)
    # the shapes reach what the comparison is for: kept entries, times after a change, admissions
    assert totals["kept"] > len(order) * len(folded) * 0.9 and totals["pieces"] > totals["kept"] * 1.1
    assert totals["items"] > totals["kept"] and totals["admissions"] > 0


def test_made_rows__times_in_an_hour_a_clock_repeats_or_skips(plainly, monkeypatch):
    """An increased risk found in the second 01:30 of the night New York's clock goes back (due
    at once: that time, fold=1) and a review three months after a plan approved then; a review
    three months after a plan approved at midnight, a court order and an 18th birthday on the day
    Santiago's clock skips midnight: each stored so as to read back as the same local time, as the
    plain computation gives it."""
    def rec(kind, id_, at, **body):
        return Record(kind, 1, id_, "CP-TEST-9000", at, at, "amina", body)

    repeated = fold_module.fold("CP-TEST-9000", [
        rec("registration", "0001", "2026-10-20T10:00:00-04:00", child={"name": "Test Child"}, risk="high", worker="amina"),
        rec("assessment", "0002", "2026-10-21T10:00:00-04:00", type="initial"),
        rec("assessment", "0003", "2026-10-25T10:00:00-04:00", type="comprehensive"),
        rec("plan", "0004", "2026-11-01T01:20:00-05:00", goals=[{"goal": "g"}], actions=[]),
        rec("approval", "0005", "2026-11-01T01:30:00-05:00", subject="plan"),
        rec("followup", "0006", "2026-11-01T01:30:00-05:00", risk_increased="yes"),
    ])
    seen = compare(repeated, "kenya", "new-york", datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc), _session(
        ZONES["new-york"], "new-york"), plainly, monkeypatch)
    times = {v[1]: v[3][:3] for v in seen["values"]}
    assert times["risk-increased"] == ("2026-11-01T01:30:00-05:00", "EST", 1)  # the second 01:30
    assert times["review"] == ("2027-02-01T01:30:00-05:00", "EST", 0)
    skipped = fold_module.fold("CP-TEST-9001", [
        Record("registration", 1, "0001", "CP-TEST-9001", "2026-06-01T10:00:00-04:00", "2026-06-01T14:00:00+00:00", "amina",
               {"child": {"name": "Test Child", "date_of_birth": "2008-09-06"}, "risk": "low", "worker": "amina"}),
        Record("placement", 1, "0002", "CP-TEST-9001", "2026-06-02T10:00:00-04:00", "2026-06-02T14:00:00+00:00", "amina",
               {"care_type": "kinship", "setting": "family_based", "decision": {"court_order": {"expires": "2026-09-06"}}}),
        rec("assessment", "0003", "2026-06-03T10:00:00-04:00", type="initial"),
        rec("assessment", "0004", "2026-06-04T10:00:00-04:00", type="comprehensive"),
        rec("plan", "0005", "2026-06-05T23:50:00-04:00", goals=[{"goal": "g"}], actions=[]),
        rec("approval", "0006", "2026-06-06T00:00:00-04:00", subject="plan"),
    ])
    seen = compare(skipped, "inter-agency", "santiago", datetime(2026, 8, 20, 12, 0, tzinfo=timezone.utc), _session(
        ALL_ZONES["santiago"], "santiago"), plainly, monkeypatch)
    gap = [v for v in seen["values"] if v[3][0].startswith("2026-09-06T00:00")]
    assert {v[1] for v in gap} == {"review"}
    # the court order and the 18th birthday are due by the end of their day, 23:59:59
    assert {v[1]: v[3][0] for v in seen["values"] if v[1] in ("court-order", "turning-18")} == {
        "court-order": "2026-09-06T23:59:59-03:00", "turning-18": "2026-09-06T23:59:59-03:00"}


def test_made_rows__a_zone_equal_as_a_value_gives_its_own_times(monkeypatch):
    """Two zones that compare equal (+03:00 with and without a name) and two objects of one IANA
    zone: each entry's times read back in its own zone, with its own name."""
    case = fold_module.fold(*CASES[0])
    policy = POLICIES["kenya"]
    names = {}
    for zone_name in ("plus3", "plus3-named", "plus3", "nairobi", "nairobi-again", "nairobi"):
        zone = ZONES[zone_name]
        session = _session(zone, zone_name)
        monkeypatch.setattr(tables, "_session", lambda ctx, session=session: session)
        ctx = SimpleNamespace(policy=policy, now=NOWS[0].astimezone(zone), config=SimpleNamespace(policy_since=""))
        text, _ = tables.made_rows(ctx, ("due",), "ab" * 20, case, line=restricted(case))["due"]
        assert text is not None
        entry = json.loads(text)
        times = [tables.time_of(entry[2][i + 1], zone) for i in range(3, len(entry[2]), 3)]
        assert times and all(t.tzinfo is zone for t in times)
        names[zone_name] = {t.tzname() for t in times}
    assert names["plus3-named"] == {"EAT"} and names["plus3"] == {"UTC+03:00"}


def _plain_time_code(moment, zone):
    """`tables._time_code` as it was written before it compared the two times directly."""
    if moment is None:
        return None
    micro = tables.instant(moment)
    seconds, part = divmod(micro, 1_000_000)
    code = seconds if part == 0 else [micro]
    if type(zone) is timezone:
        return code
    back = tables.time_of(code, zone)
    if back.replace(tzinfo=None) == moment.replace(tzinfo=None) and back.fold == moment.fold:
        return code
    return [micro, (moment.replace(tzinfo=None) - datetime(1970, 1, 1)) // TICK, moment.fold]


def test_time_code__as_written_plainly_around_each_change_of_the_clock():
    """Every local time in the hours around a change of the clock (the hour repeated, the hour
    skipped), with fold 0 and 1, whole seconds and not: stored as before, and read back as itself."""
    zones = [ZoneInfo("America/New_York"), ZoneInfo("America/Santiago"), NAIROBI, ZoneInfo("Europe/London"),
             timezone(timedelta(hours=3), "EAT")]
    starts = [datetime(2026, 11, 1), datetime(2026, 3, 8), datetime(2026, 9, 5, 22), datetime(2026, 4, 4, 22),
              datetime(2026, 10, 25), datetime(2026, 3, 29)]
    compared = set()
    for zone in zones:
        for start in starts:
            for minutes in range(0, 4 * 60, 7):
                for fold in (0, 1):
                    for micro in (0, 250):
                        moment = (start + timedelta(minutes=minutes, microseconds=micro)).replace(tzinfo=zone, fold=fold)
                        code = tables._time_code(moment, zone)
                        assert code == _plain_time_code(moment, zone), (zone, moment, fold)
                        back = tables.time_of(code, zone)
                        assert (back.replace(tzinfo=None), back.utcoffset()) == (moment.replace(tzinfo=None), moment.utcoffset())
                        compared.add(type(code) is int or len(code))
    assert compared == {True, 1, 3}  # whole seconds, a fraction, and a local time kept beside the instant
