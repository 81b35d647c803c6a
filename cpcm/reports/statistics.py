"""Statistics safe to share outside the agency: counts only, every one disaggregated by sex,
age band and disability (ESARO §6 equity; P3, P4), small cells suppressed.

What is never in this report: names, case IDs, worker ids, dates of single events, places.
Every count from 1 to the policy's `reporting.small_cell_threshold` - 1 is shown as "<5"
(for the default threshold of 5), and further cells are hidden ("x") so that no hidden count
can be worked out from the totals (see cpcm.reports.disclosure).

Counted in the period (by each event's own date; for a case received from another agency, only
what happened since it was received here): registrations, closures by reason,
reopenings, transfers, referrals by sector and outcome, consent overrides, case plan versions
coming into force (on the day of their approval where the policy needs approval, else on the
day written; `in_force`) and those rejected, reviews. The age is the
child's age on the day of the event (from the date of birth, or the estimated age as the age on
the day it was given: at registration, or by an update; `Case.birth_date`).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone, tzinfo
from typing import Iterable

from cpcm.domain.case import Case
from cpcm.domain.dates import parse_datetime
from cpcm.reports.common import (AGE_BANDS, DISABILITY_GROUPS, OVER_AGE, SEX_GROUPS, UNKNOWN, Period, age_band, period_over,
                                 disability_group, received_at, sex_group)
from cpcm.reports.disclosure import SECONDARY, linked_tables, marker
from cpcm.domain.policy import Policy
from cpcm.workflow import plan_actions
from cpcm.workflow.deadlines import closure_reason

DEFAULT_THRESHOLD = 5
REASON_NOT_KEPT = "not_known"  # a closure whose records name no reason (the fold keeps each closure's own, past a reopening)
REFERRAL_OUTCOMES = (("waiting", ("sent", "acknowledged")), ("accepted", ("accepted",)), ("delivered", ("delivered",)),
                     ("declined", ("declined",)), ("not_delivered", ("not_delivered",)), ("closed", ("closed",)))
NOT_AVAILABLE: tuple = ()


def _closure_reason(case: Case, when: str) -> str:
    """The reason of the closure at `when` (deadlines.closure_reason: the fold keeps an event per
    closure and reason, also for a closure of a case reopened since); REASON_NOT_KEPT where its
    records name none."""
    return closure_reason(case, when) or REASON_NOT_KEPT


MEASURE_KEYS = ("registrations", "closures", "reopenings", "transfers", "referrals", "consent_overrides", "consent_refusals",
                "plans", "plans_with_child", "reviews", "reviews_with_child", "plans_rejected",
                "plans_approved", "plans_with_child_approved")
ROW_KEYS = ("category", "sex", "age", "disability", "outcome")  # a row: [measure, local day, *these]; outcome for referrals

# Case plan versions in force: a case's rows hold every version written ("plans", "plans_with_child", on the day
# written) and every version approved ("plans_approved", "plans_with_child_approved", on the day approved), so
# that they hold no policy; the report counts as "plans" those that came into force under the agency's policy
# (`in_force`: the approved ones where the policy needs approval, else those written). Rejected versions are
# counted on their own ("plans_rejected", on the day rejected), never among the plans.
_BY_IN_FORCE_EVENT = {plan_actions.WRITTEN: ("plans", "plans_with_child"),
                      plan_actions.APPROVED: ("plans_approved", "plans_with_child_approved")}
_PLAN_ROWS = frozenset(key for keys in _BY_IN_FORCE_EVENT.values() for key in keys)


# the fold's events counted as they are, each under its measure, in this order
_COUNTED = (("reopen", "reopenings"), ("transfer", "transfers"), ("consent_override", "consent_overrides"),
            ("consent_refused", "consent_refusals"), ("plan", "plans"), ("plan_with_child", "plans_with_child"),
            ("review", "reviews"), ("review_with_child", "reviews_with_child"), ("plan_rejected", "plans_rejected"),
            ("plan_approved", "plans_approved"), ("plan_with_child_approved", "plans_with_child_approved"))
# (the fold's event names, as fold.PLAN_REJECTED and the others name them: the fold is not imported here, so that
# the code digest of the statistics rows does not cover it; the rows are made from a folded case)
_COUNTED_NAMES = frozenset(name for name, _ in _COUNTED)


def in_force(found: dict[str, list], policy: Policy) -> dict[str, list]:
    """`found` (each measure's items, or cells) with "plans" and "plans_with_child" the plan
    versions that came into force under `policy` (`plan_actions.in_force_event`: approved where
    the policy needs approval, else written), and the other plan rows left out."""
    counted = _BY_IN_FORCE_EVENT[plan_actions.in_force_event(policy)]
    out = {measure: items for measure, items in found.items() if measure not in _PLAN_ROWS}
    out.update({shown: found.get(kept, []) for shown, kept in zip(("plans", "plans_with_child"), counted)})
    return out


def _moment(when) -> datetime:
    return when if isinstance(when, datetime) else parse_datetime(when)


def case_rows(case: Case, zone: tzinfo | None = None) -> list[list]:
    """Every event of a case the report counts, whatever the period: [measure (its place in
    MEASURE_KEYS), the event's day in `zone` (ISO), category, sex, age band, disability (, outcome
    for a referral)]. What a period
    counts is the rows whose day falls in it (`rows_in`). Holds no identifier and no time of
    day; still kept encrypted (it is a case's history in outline)."""
    zone = zone or timezone.utc
    rows: list[list] = []
    sex, disability = sex_group(case.child.get("sex")), disability_group(case.child.get("disability"))
    born: list = []  # the date of birth (`case.birth_date()`), once a row needs it

    # a case received from another agency (`cpcm receive`): only what happened since it came (`received_at`)
    received = received_at(case)

    def add(measure: str, when: str, category: str | None = None, outcome: str | None = None) -> None:
        moment = _moment(when)
        if received is not None and moment < received:
            return
        # the event's local day (`Period.local`: every `when` here is set); then the columns of ROW_KEYS[:4], in that order
        day = moment.astimezone(zone).date()
        if not born:
            born.append(case.birth_date())
        birth = born[0]  # the age as `case.age_on(day)` counts it
        age = None if birth is None else day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
        rows.append([MEASURE_KEYS.index(measure), day.isoformat(), category, sex, age_band(age), disability]
                    + ([outcome] if outcome is not None else []))

    if case.registered_at:
        add("registrations", case.registered_at)
    closures = sorted(case.events.get("closed", ()))
    for when in closures:
        if when:
            add("closures", when, _closure_reason(case, when))
    if not _COUNTED_NAMES.isdisjoint(case.events):  # most cases have none of them
        for name, key in _COUNTED:
            for when in case.events.get(name, ()):
                if when:
                    add(key, when)
    for referral in case.referrals:
        if referral.get("at"):
            status = referral.get("status")
            outcome = next((name for name, statuses in REFERRAL_OUTCOMES if status in statuses), UNKNOWN)
            add("referrals", referral["at"], referral.get("sector") or UNKNOWN, outcome)
    return rows


def rows_in(rows: Iterable[Iterable[list]], period: Period) -> dict[str, list[dict]]:
    """The items of `rows` (each case's `case_rows`, made in the zone of `period`) dated in the period."""
    lists: list[list[dict]] = [[] for _ in MEASURE_KEYS]
    first, last = period.start.isoformat(), period.end.isoformat()
    items: dict[tuple, dict] = {}  # one item for equal rows: items are only read
    for case in rows:
        for row in case:
            if first <= row[1] <= last:
                key = tuple(row[2:])
                item = items.get(key)
                if item is None:
                    item = items[key] = dict(zip(ROW_KEYS, key))
                lists[row[0]].append(item)
    return dict(zip(MEASURE_KEYS, lists))


def _events(cases: list[Case], period: Period) -> dict[str, list[dict]]:
    return rows_in((case_rows(case, period.zone) for case in cases), period)


def _ages(items: list[dict]) -> list[str]:
    bands = [label for label, _, _ in AGE_BANDS]
    return bands + ([OVER_AGE] if any(i["age"] == OVER_AGE for i in items) else []) + [UNKNOWN]


def _matrix(items: list[dict], row_key: str, rows: list[str], col_key: str, cols: Iterable[str]) -> list[list[int]]:
    cols = list(cols)
    counted = Counter((i[row_key], i[col_key]) for i in items)  # one pass, not one per cell
    return [[counted[(r, c)] for c in cols] for r in rows]


SEX_LABELS = {"female": "female", "male": "male", "other_or_unknown": "other or not recorded"}
DISABILITY_LABELS = {"yes": "with a disability", "no": "no disability", UNKNOWN: "not recorded"}


def _specs(measure: str, what: str, items: list[dict], categories: list[str] | None = None,
           category_label: str = "") -> list[dict]:
    """The measure by category (when it has some), by age band and by disability, each
    against sex."""
    sexes = [SEX_LABELS[s] for s in SEX_GROUPS]
    specs = []
    if categories is not None:
        specs.append({"table_id": f"{measure}_by_{category_label.replace(' ', '_')}_sex", "title": f"{what} by {category_label} and sex",
                      "row_header": category_label, "row_labels": [c.replace("_", " ") for c in categories], "columns": sexes,
                      "matrix": _matrix(items, "category", categories, "sex", SEX_GROUPS)})
    ages = _ages(items)
    specs.append({"table_id": f"{measure}_by_age_sex", "title": f"{what} by age band and sex", "row_header": "age band",
                  "row_labels": ages, "columns": sexes, "matrix": _matrix(items, "age", ages, "sex", SEX_GROUPS)})
    specs.append({"table_id": f"{measure}_by_disability_sex", "title": f"{what} by disability and sex", "row_header": "disability",
                  "row_labels": [DISABILITY_LABELS[d] for d in DISABILITY_GROUPS], "columns": sexes,
                  "matrix": _matrix(items, "disability", list(DISABILITY_GROUPS), "sex", SEX_GROUPS)})
    return specs


MEASURES = (
    ("registrations", "Registrations"),
    ("closures", "Closures"),
    ("reopenings", "Reopenings"),
    ("transfers", "Transfers to another agency"),
    ("referrals", "Referrals"),
    ("consent_overrides", "Consent overrides (legal mandate or best interests)"),
    ("consent_refusals", "Consent refused or not possible"),
    ("plans", "Case plan versions in force (approved, where the policy needs approval)"),
    ("plans_with_child", "Case plan versions in force the child took part in"),
    ("plans_rejected", "Case plan versions rejected"),
    ("reviews", "Case reviews"),
    ("reviews_with_child", "Case reviews the child attended"),
)


def statistics(cases: Iterable[Case], policy: Policy, start, end, zone: tzinfo | None = None) -> dict:
    """Counts for the period, disaggregated and with small cells suppressed; no identifiers.
    `zone`: the agency's time zone, in which events are dated (default UTC)."""
    period = Period.of(start, end, zone)
    return _view(in_force(_events(list(cases), period), policy), period, policy)


def statistics_of_rows(rows: Iterable[Iterable[list]], policy: Policy, start, end, zone: tzinfo | None = None) -> dict:
    """`statistics` from each case's `case_rows` (made in the same zone) instead of the cases."""
    period = Period.of(start, end, zone)
    return _view(in_force(rows_in(rows, period), policy), period, policy)


# A return for aggregation (`report statistics --for-aggregation`): the same counts before any
# cell is hidden, so that a county can add up several agencies' returns and only then hide small
# cells (`report combine`). Never published as it is: it is encrypted to the county's key.
RETURN_FORMAT = "cpcm-statistics-return"
CELL_KEYS = ("category", "outcome", "sex", "age", "disability")


def counts(cases: Iterable[Case], policy: Policy, start, end, zone: tzinfo | None = None) -> dict:
    """The unsuppressed counts of the period, as cells: {measure: [[category, outcome, sex, age,
    disability, count], ...]}; the plan versions those in force under the agency's `policy`
    (`in_force`). No names, IDs, dates of single events or places."""
    period = Period.of(start, end, zone)
    return _counts(in_force(_events(list(cases), period), policy), period)


def counts_of_rows(rows: Iterable[Iterable[list]], policy: Policy, start, end, zone: tzinfo | None = None) -> dict:
    """`counts` from each case's `case_rows` (made in the same zone) instead of the cases."""
    period = Period.of(start, end, zone)
    return _counts(in_force(rows_in(rows, period), policy), period)


def _counts(found: dict[str, list[dict]], period: Period) -> dict:
    measures = {}
    for measure, items in found.items():
        tally: dict[tuple, int] = {}
        for item in items:
            key = tuple(item.get(k) for k in CELL_KEYS)
            tally[key] = tally.get(key, 0) + 1
        measures[measure] = [[*key, n] for key, n in sorted(tally.items(), key=lambda kv: [str(v) for v in kv[0]])]
    return {"format": RETURN_FORMAT, "version": 1, "period": period.to_dict(), "measures": measures}


def combine(returns: list[dict], policy: Policy) -> dict:
    """The statistics of several agencies' returns added up, small cells hidden only after the
    sum. ValueError when a return is not one, two come from the same agency, or the periods differ."""
    if not returns:
        raise ValueError("no returns to combine")
    agencies, periods = [], set()
    for number, document in enumerate(returns, start=1):
        if not isinstance(document, dict) or document.get("format") != RETURN_FORMAT or document.get("version") != 1:
            raise ValueError(f"file {number} is not a statistics return (cpcm report statistics --for-aggregation makes them)")
        agency = str(document.get("agency") or "")
        if not agency:
            raise ValueError(f"file {number} names no agency")
        if agency in agencies:
            raise ValueError(f"files {agencies.index(agency) + 1} and {number} are both from agency {agency}: "
                             "each agency's return is counted once")
        agencies.append(agency)
        periods.add((document.get("period") or {}).get("from", "") + ".." + (document.get("period") or {}).get("to", ""))
    if len(periods) != 1:
        raise ValueError("the returns cover different periods: combine returns of one period only")
    first = returns[0]["period"]
    period = Period.of(first["from"], first["to"])
    found: dict[str, list[dict]] = {}
    for document in returns:
        for measure, cells in (document.get("measures") or {}).items():
            for cell in cells:
                if not isinstance(cell, list) or len(cell) != len(CELL_KEYS) + 1 or not isinstance(cell[-1], int) or cell[-1] < 0:
                    raise ValueError(f"a return from agency {document['agency']} holds a damaged count")
                found.setdefault(measure, []).extend([dict(zip(CELL_KEYS, cell[:-1]))] * cell[-1])
    view = _view(found, period, policy)
    not_over = [{"file": number, "agency": document["agency"], "made_on": made}
                for number, document in enumerate(returns, start=1)
                if (made := made_on(document)) is None or not period_over(period.end, date.fromisoformat(made))]
    view["combined"] = {"agencies": sorted(agencies), "returns": len(returns), "period_over": not not_over,
                        "not_over": not_over}
    view["notes"].insert(0, f"The returns of {len(returns)} agencies added up; small cells were hidden after the sum, "
                            "so no single agency's small counts can be read from it.")
    if not_over:
        view["notes"].insert(0, f"Not the whole period ({period.start} to {period.end}): "
                                f"{'; '.join(not_over_text(r) for r in not_over)}. Such a return counts only up to the day "
                                "it was made: combine returns made after the period ends.")
    return view


def made_on(document: dict) -> str | None:
    """The day a return was made, in its agency's time zone ('YYYY-MM-DD'; `made_at` keeps the
    zone's offset), or None when it does not say."""
    try:
        return datetime.fromisoformat(str(document.get("made_at") or "").replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def not_over_text(entry: dict) -> str:
    """One of `combine`'s `not_over`, said: the file by its number on the command line, the agency
    by its code, and the day the return was made."""
    which = f"the return in file {entry['file']} (agency {entry['agency']})"
    return f"{which} was made on {entry['made_on']}, before the period ended" if entry["made_on"] else \
        f"{which} does not say when it was made"


def _view(found: dict[str, list[dict]], period: Period, policy: Policy) -> dict:
    threshold = int(policy.get("reporting", "small_cell_threshold", DEFAULT_THRESHOLD))
    for measure, _ in MEASURES:
        found.setdefault(measure, [])
    # the policy's closure reasons in its order (Policy.closure_reasons, the one list of them), then any other a closure
    # holds; each closure under the reason it was recorded with (records are never rewritten: a child screened out at
    # intake and closed with no_longer_eligible before not_eligible existed stays under no_longer_eligible)
    reasons = list(policy.closure_reasons)
    seen = {i["category"] for i in found["closures"]}
    reasons = [r for r in reasons if r in seen] + sorted(seen - set(reasons) - {REASON_NOT_KEPT}) + \
        ([REASON_NOT_KEPT] if REASON_NOT_KEPT in seen else [])
    # each closure keeps its own reason, one of a case reopened since too: 'not known' only where its records name none
    unnamed = ["Closures under the reason 'not known' are those whose records name no reason."] if REASON_NOT_KEPT in seen else []
    sectors = sorted({i["category"] for i in found["referrals"]} - {UNKNOWN}) + \
        ([UNKNOWN] if any(i["category"] == UNKNOWN for i in found["referrals"]) else [])
    outcomes = [name for name, _ in REFERRAL_OUTCOMES] + ([UNKNOWN] if any(i["outcome"] == UNKNOWN for i in found["referrals"]) else [])

    sections = []
    for measure, what in MEASURES:
        items = found[measure]
        if not items:  # nothing to break down: the summary says 0
            sections.append({"measure": measure, "title": what, "total": 0, "tables": []})
            continue
        if measure == "closures":
            specs = _specs(measure, what, items, reasons, "reason")
        elif measure == "referrals":
            specs = [{"table_id": "referrals_by_sector_outcome", "title": "Referrals by sector and outcome (status today)",
                      "row_header": "sector", "row_labels": sectors, "columns": [o.replace("_", " ") for o in outcomes],
                      "matrix": _matrix(items, "category", sectors, "outcome", outcomes)}] + _specs(measure, what, items)
        else:
            specs = _specs(measure, what, items)
        tables = linked_tables(specs, threshold)
        # the headline is the grand total as the tables show it (hidden there, hidden here)
        total = tables[-1]["rows"][-1][-1]
        sections.append({"measure": measure, "title": what, "total": total, "tables": tables})
    small = marker(threshold)
    summary = {"id": "summary", "title": "In the period", "columns": ["measure", "count"],
               "rows": [[s["title"], s["total"]] for s in sections], "note": ""}
    return {
        "report": "statistics",
        "title": "Case statistics",
        "period": period.to_dict(),
        "policy": {"profile": policy.profile, "small_cell_threshold": threshold, "source": policy.source("reporting")
                   if "reporting" in policy.rules else ""},
        # nothing is hidden under a threshold of 0 or 1 (an agency's reporting.small_cell_threshold): no mark to explain
        "legend": ({small: f"fewer than {threshold} (1 to {threshold - 1}): hidden so that no child can be singled out",
                    SECONDARY: f"hidden as well, so that a '{small}' cell cannot be worked out from the totals"} if threshold > 1 else {})
        | {"0": "none"},
        "sections": sections,
        "not_available": [{"measure": m, "title": t, "why": why} for m, t, why in NOT_AVAILABLE],
        "notes": [
            "Counts of events dated in the period (each event on its own date, in the agency's time zone). A child counts once per event: "
            "a child registered and closed in the period is in both.",
            "Age bands use the child's age on the day of the event, from the date of birth or the estimated age (the "
            "age on the day it was given: at registration, or by an update); 'unknown' when neither was recorded.",
            *unnamed,
            "Referral outcomes are the referral's status today.",
            "Case plan versions count when they came into force: on the day a supervisor approved them where the policy "
            "needs approval, else on the day written. A version rejected is counted on its own, on the day rejected; one "
            "still waiting or withdrawn by its author is not counted.",
        ],
        "tables": [summary] + [t for s in sections for t in s["tables"]],
        "charts": [],
    }
