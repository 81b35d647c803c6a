"""The alternative-care register (`cpcm report placements`): every child in alternative care now
(the current placement of each open case, when it is not the child's own family), where, since
when and under which order; every child who left residential care in the period, when and to
where (the DCS `cci_exits` kinds); every closed case whose child was never recorded leaving alternative
care (the policy's `closure_in_care`: the child still lives there as far as the case says, and no one
follows the placement); counts by care type and by exit. Kenya SOP App.2 (the ACC keeps
the register of children in alternative care) and §8.1 (records of the children who left
institutions and where they were placed, and of those still in them).

Case IDs, care types, places and dates: no child's name. Internal to the agency, like the
caseload report (the file is encrypted unless --plaintext).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Iterable

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.reports.common import Period, chart, table
from cpcm.workflow import placements as rules

TITLE = "Alternative-care register"


def _order(placement) -> str:
    order = placement.get("court_order") or {}
    if not order.get("number"):
        return ""
    return str(order["number"]) + (f" (expires {order['expires']})" if order.get("expires") else "")


def _decided(placement) -> str:
    parts = []
    if placement.get("best_interests"):
        parts.append(f"best interests {placement['best_interests']}")
    if placement.get("best_interests_override"):
        parts.append("supervisor's override")
    if placement.get("acc"):
        parts.append("ACC")
    return ", ".join(parts)


def _in_care_row(case: Case, current, period: Period) -> dict:
    """A child's placement in alternative care as the register lists it: case, care type, where, since
    (when the child entered it: `rules.stay`, the same placement recorded again restarts nothing), the order."""
    return {"case_id": case.id, "care_type": current.get("care_type"), "setting": current.get("setting"),
            "place": current.get("institution") or current.get("address") or "",
            "since": period.local(current["entered_at"]).date().isoformat(), "order": _order(current),
            "order_expires": (current.get("court_order") or {}).get("expires"), "worker": case.worker or ""}


def placements(cases: Iterable[Case], policy: Policy, start: date, end: date, now: datetime) -> dict:
    """The register: in care now (open cases), left residential care in the period, the counts."""
    period = Period.of(start, end, now.tzinfo)
    choices = [t for setting in rules.SETTINGS for t in (policy.get("placement", setting) or ())]
    in_care, left, closed = [], [], []
    for case in cases:  # in any order (a case at a time: service/context.py `CaseStream`); the rows sorted below
        current = rules.stay(case.placements)  # the latest placement, with how and since when its stay began
        if case.status == "open" and rules.in_care(current):
            in_care.append(_in_care_row(case, current, period) | {"decided": _decided(current)})
        elif case.status == "closed" and rules.left_in_care(case, (case.closure or {}).get("reason"), policy):
            closed.append(_in_care_row(case, current, period) | {"reason": (case.closure or {}).get("reason") or ""})
        ordered = sorted(case.placements, key=lambda p: (p["at"], p["record_id"]))
        for before, after in zip(ordered, ordered[1:]):
            if before.get("setting") == "residential" and after.get("setting") != "residential" and period.holds(after["at"]):
                stayed = rules.stay(case.placements, before)  # a renewal recorded without the CCI's name keeps its stay's
                left.append({"case_id": case.id, "left_on": period.local(after["at"]).date().isoformat(),
                             "from": stayed.get("care_type"), "institution": stayed.get("institution") or "",
                             "to": after.get("care_type"), "cci_exit": after.get("cci_exit") or "",
                             "place": after.get("address") or after.get("institution") or "", "status": case.status})
    in_care.sort(key=lambda r: r["case_id"])
    closed.sort(key=lambda r: r["case_id"])
    left.sort(key=lambda r: (r["left_on"], r["case_id"]))  # a case's own in the order they happened
    by_type = Counter(r["care_type"] for r in in_care)
    exits = Counter(r["cci_exit"] or "not recorded" for r in left)
    exit_kinds = ["family_reintegration", "alternative_family_based_care", "community_based_care"]
    view = {
        "report": "placements", "title": TITLE, "as_of": now.isoformat(timespec="minutes"), "period": period.to_dict(),
        "policy": {"profile": policy.profile, "source": policy.source("placement")},
        "in_care": in_care, "left": left, "closed_in_care": closed,
        "counts": {"in_care": len(in_care), "left": len(left), "closed_in_care": len(closed),
                   "by_care_type": {t: by_type.get(t, 0) for t in choices if t != "family"},
                   "by_exit": {k: exits.get(k, 0) for k in exit_kinds} | ({"not recorded": exits["not recorded"]}
                                                                          if exits.get("not recorded") else {})},
    }
    view["tables"] = [
        table("in_care", f"Children in alternative care now ({len(in_care)})",
              ["case", "care type", "where", "since", "court order", "decided by", "worker"],
              [[r["case_id"], r["care_type"].replace("_", " "), r["place"], r["since"], r["order"], r["decided"], r["worker"]]
               for r in in_care], note="" if in_care else "No child is in alternative care."),
        table("left", f"Children who left residential care from {period.start} to {period.end} ({len(left)})",
              ["case", "left on", "from", "to", "exit", "where", "case status"],
              [[r["case_id"], r["left_on"], (r["from"] or "").replace("_", " ") + (f" ({r['institution']})" if r["institution"] else ""),
                (r["to"] or "").replace("_", " "), r["cci_exit"].replace("_", " "), r["place"], r["status"]] for r in left],
              note="" if left else "No child left residential care in the period."),
        table("closed_in_care", f"Closed cases whose child was never recorded leaving care ({len(closed)})",
              ["case", "care type", "where", "since", "court order", "closed for", "worker"],
              [[r["case_id"], r["care_type"].replace("_", " "), r["place"], r["since"], r["order"], r["reason"].replace("_", " "),
                r["worker"]] for r in closed],
              note="" if closed else "No closed case leaves a child in care without a recorded move out."),
        table("by_care_type", "Children in alternative care now, by care type", ["care type", "children"],
              [[t.replace("_", " "), n] for t, n in view["counts"]["by_care_type"].items()] + [["total", len(in_care)]]),
        table("by_exit", "Children who left residential care in the period, by exit", ["exit", "children"],
              [[k.replace("_", " "), n] for k, n in view["counts"]["by_exit"].items()] + [["total", len(left)]]),
    ]
    view["charts"] = [
        chart("care_type", "Children in alternative care now, by care type",
              [{"label": t.replace("_", " "), "value": n, "text": str(n)} for t, n in view["counts"]["by_care_type"].items()],
              unit="children"),
        chart("exits", "Left residential care in the period, by exit",
              [{"label": k.replace("_", " "), "value": n, "text": str(n)} for k, n in view["counts"]["by_exit"].items()],
              unit="children"),
    ]
    return view
