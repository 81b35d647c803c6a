"""Reintegration readiness across the caseload (`cpcm report readiness`): of the cases counted (open
cases by default; one worker's with --worker), the latest readiness assessment of each made in the
period (DCS Form 7A, or the young person's Form 8A), as its own form scores it
(`workflow/readiness.py`: each domain against its pass mark, the closure rule); how many children
are ready for closure and how many are not, by the occasion it was recorded at; per domain, how
many fall below its pass mark; and the children on the path of reintegration
(`workflow/placements.py` `pathway`) with no readiness assessment in the period. The CTWWC
monitoring of reintegration (the wellbeing domains and the caregivers' protective factors the
benchmarks check); Kenya's readiness forms 7A and 8A.

The scoring is the form's, never done again here: each case comes with its latest readiness record
already scored (`Latest`, by the service from the case's records and the form's scoring data).
Case IDs where a list is needed (as reports for meetings are), counts otherwise: no child's name.
Internal to the agency, like the placements register (the file is encrypted unless --plaintext).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Iterator, Mapping

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.reports.common import Period, chart, table
from cpcm.workflow import placements as path_rules
from cpcm.workflow import readiness as rules

TITLE = "Reintegration readiness"
STATUSES = ("open", "closed", "transferred", "all")
NOT_RECORDED = "not recorded"  # the occasion of answers recorded the old way, inside an assessment


@dataclass(frozen=True)
class Assessed:
    """A case's latest readiness record in the period, scored by its form, and the occasion it
    was recorded at (None for answers recorded inside an assessment, which have none)."""

    latest: rules.Latest
    occasion: str | None = None


def chosen(cases: Iterable[Case], status: str = "open", worker: str | None = None) -> Iterator[Case]:
    """The cases the report counts, in the order given: of `status` ('all': every one), and `worker`'s when given."""
    return (c for c in cases if (status == "all" or c.status == status) and (worker is None or c.worker == worker))


@dataclass(frozen=True)
class Counted:
    """What the report reads of a case it counts, so that the cases need not be held (the service reads them a case
    at a time, service/context.py `CaseStream`): its path of reintegration now (`pathway`) and when the child went
    home (`reunified_at`)."""

    id: str
    worker: str
    status: str
    path: dict | None
    reunified: str | None

    @classmethod
    def of(cls, case: Case, policy: Policy, now: datetime) -> "Counted":
        return cls(case.id, case.worker or "", case.status, path_rules.pathway(case, policy, now), path_rules.reunified_at(case))


def _words(key: str) -> str:
    return key.replace("_", " ")


def _day(period: Period, when: str | None) -> str:
    return period.local(when).date().isoformat() if when else ""


def readiness(cases: Iterable[Counted], assessed: Mapping[str, Assessed], policy: Policy, start: date, end: date,
              now: datetime, status: str = "open", worker: str | None = None,
              graduated: Mapping[str, Mapping] | None = None, bands: Iterable[Mapping] = (),
              csi_table: Mapping | None = None, rated: Mapping[str, Mapping] | None = None) -> dict:
    """The readiness of the cases counted (`cases`, as `Counted.of` gives those `chosen`, in any order; listed by
    case ID): `assessed` holds, by case ID, the latest
    readiness record of each made from `start` to `end` (a case without one there is not assessed).
    `bands`: the bands of the household graduation form the profile offers (the CPARA's; none:
    no such count); `graduated` holds, by case ID, the latest household graduation record of each
    made in the period, scored by its form (`workflow/readiness.py` `graduation`, as JSON).
    `csi_table`: the `ratings` of the Child Status Index the profile offers (none: no such
    count); `rated` holds, by case ID, the body of the latest CSI record of each made in the
    period: the children counted by rating, item by item (`workflow/csi.py` `counts`, no total)."""
    period = Period.of(start, end, now.tzinfo)
    counted = sorted(cases, key=lambda c: c.id)
    rows, missing = [], []
    by_occasion: dict[str, Counter] = {}
    domains: dict[str, dict] = {}
    for case in counted:
        found = assessed.get(case.id)
        path = case.path
        if found is None:
            if path is not None:
                missing.append({"case_id": case.id, "worker": case.worker, "status": case.status,
                                "in_care_since": (path["since"] or "")[:10], "home_since": (path["reunified"] or "")[:10],
                                "next_step": path["next"]["step"] if path["next"] else None,
                                "next_title": path["next"]["title"] if path["next"] else ""})
            continue
        result = found.latest.result
        reunified = case.reunified
        below = [d.key for d in result.domains if d.answered and not d.passed]
        unanswered = [d.key for d in result.domains if not d.answered]
        # Form 7A reviews the child back home: one made before counts for no closure (readiness.made_before), so
        # it is not ready for closure, whatever its scores
        before_going_home = rules.made_before(found.latest.at, reunified)
        ready = result.ready_for_closure and not before_going_home
        occasion = found.occasion or NOT_RECORDED
        tally = by_occasion.setdefault(occasion, Counter())
        tally["assessed"] += 1
        tally["ready" if ready else "not_ready"] += 1
        for d in result.domains:
            entry = domains.setdefault(d.key, {"domain": d.key, "label": d.name(), "assessed": 0, "passed": 0, "below": 0,
                                               "not_answered": 0, "pass_marks": {}, "required_for_closure": False})
            entry["assessed"] += 1
            entry["passed" if d.passed else "below" if d.answered else "not_answered"] += 1
            entry["pass_marks"][result.version] = d.pass_mark
            entry["required_for_closure"] = entry["required_for_closure"] or d.required
        rows.append({"case_id": case.id, "worker": case.worker, "status": case.status, "record_id": found.latest.record_id,
                     "assessed_on": _day(period, found.latest.at), "version": result.version, "occasion": occasion,
                     "ready_for_closure": ready, "scores_met": result.ready_for_closure,
                     "domains_passed": result.domains_passed,
                     "domains": len(result.domains), "below": below, "not_answered": unanswered,
                     "failed_required": list(result.failed_required),
                     "on_path": path is not None, "before_going_home": before_going_home,
                     "home_since": _day(period, reunified) if reunified else ""})
    ready = sum(r["ready_for_closure"] for r in rows)
    on_path = sum(1 for r in rows if r["on_path"]) + len(missing)
    occasions = sorted(by_occasion, key=lambda k: (k == NOT_RECORDED, k))
    view = {
        "report": "readiness", "title": TITLE, "as_of": now.isoformat(timespec="minutes"), "period": period.to_dict(),
        "status": status, "worker": worker,
        "policy": {"profile": policy.profile, "source": policy.source("closure_readiness")},
        "counts": {"cases": len(counted), "assessed": len(rows), "ready": ready, "not_ready": len(rows) - ready,
                   "not_assessed": len(counted) - len(rows), "on_path": on_path, "on_path_not_assessed": len(missing),
                   "on_path_not_assessed_home": sum(1 for m in missing if m["home_since"]),
                   "before_going_home": sum(r["before_going_home"] for r in rows)},
        "by_occasion": {k: {"assessed": by_occasion[k]["assessed"], "ready": by_occasion[k]["ready"],
                            "not_ready": by_occasion[k]["not_ready"]} for k in occasions},
        "domains": list(domains.values()),
        "assessed": rows, "not_assessed": missing,
    }
    bands = list(bands)
    if bands:
        households = [graduated[c.id] for c in counted if c.id in (graduated or {})]
        tally = Counter(str(h["band"]) for h in households)
        view["graduation"] = {"assessed": len(households), "not_assessed": len(counted) - len(households),
                              "by_band": [{"band": str(b["key"]), "label": _label(b), "households": tally[str(b["key"])],
                                           "from": b["from"], "to": b["to"]} for b in bands]}
    if csi_table:
        from cpcm.workflow import csi as csi_rules

        latest_csi = {c.id: (rated or {})[c.id] for c in counted if c.id in (rated or {})}
        view["csi"] = {"assessed": len(latest_csi), "not_assessed": len(counted) - len(latest_csi),
                       "scale": csi_rules.scale_labels(csi_table), "items": csi_rules.counts(csi_table, latest_csi)}
    whose = f"{_words(status)} cases" if status != "all" else "cases"
    if worker:
        whose += f" of {worker}"
    counts = view["counts"]
    view["tables"] = [
        table("overview", f"Readiness of the {whose}, assessed from {period.start} to {period.end}", ["", "children"], [
            [f"{whose} counted", counts["cases"]],
            ["assessed in the period (their latest readiness record)", counts["assessed"]],
            ["ready for closure (the form's closure rule)", counts["ready"]],
            ["not ready for closure", counts["not_ready"]],
            ["on the path of reintegration", counts["on_path"]],
            ["on the path, no readiness assessment in the period", counts["on_path_not_assessed"]],
            ["of them back home (reunified or in family-based care)", counts["on_path_not_assessed_home"]],
        ]),
        table("by_occasion", "Assessed, by when the latest readiness record was made", ["recorded at", "assessed", "ready", "not ready"],
              [[_words(k), v["assessed"], v["ready"], v["not_ready"]] for k, v in view["by_occasion"].items()]
              + [["total", counts["assessed"], counts["ready"], counts["not_ready"]]],
              note="" if rows else "No readiness record was made in the period."),
        table("by_domain", "Each domain: children at or above its pass mark, below it, not answered",
              ["domain", "assessed", "pass", "below the pass mark", "not answered", "pass mark", "required for closure"],
              [[d["label"], d["assessed"], d["passed"], d["below"], d["not_answered"], _marks(d["pass_marks"]),
                "yes" if d["required_for_closure"] else ""] for d in view["domains"]],
              note="A domain not answered scores nothing and does not pass; it is counted apart from those below the mark."
              if rows else ""),
        table("assessed", f"Children assessed ({len(rows)}), by case",
              ["case", "worker", "assessed on", "form", "recorded at", "result", "domains pass", "below the pass mark", "not answered"],
              [[r["case_id"], r["worker"], r["assessed_on"], r["version"], _words(r["occasion"]),
                ("ready" if r["ready_for_closure"] else "not ready") + (" (made before going home)" if r["before_going_home"] else ""),
                f"{r['domains_passed']} of {r['domains']}", ", ".join(_words(k) for k in r["below"]),
                ", ".join(_words(k) for k in r["not_answered"])] for r in rows],
              note="" if rows else "No child was assessed in the period."),
        table("not_assessed", f"On the path of reintegration, no readiness assessment in the period ({len(missing)})",
              ["case", "worker", "in care since", "home since", "next step"],
              [[m["case_id"], m["worker"], m["in_care_since"], m["home_since"], m["next_title"]] for m in missing],
              note="" if missing else "Every child on the path of reintegration was assessed in the period." if on_path
              else "No child is on the path of reintegration."),
    ]
    if bands:
        grad = view["graduation"]
        view["tables"].append(table(
            "graduation_by_band", f"Household graduation (CPARA): households by band of their latest record in the period "
                                  f"({grad['assessed']} assessed)", ["band", "benchmarks achieved", "households"],
            [[b["label"], str(b["from"]) if b["from"] == b["to"] else f"{b['from']}-{b['to']}", b["households"]]
             for b in grad["by_band"]] + [["total", "", grad["assessed"]], ["no household graduation record in the period", "",
                                                                             grad["not_assessed"]]],
            note="Counted by case: each child's case with its own record (brothers and sisters of one household each count)."))
    if csi_table:
        child_status = view["csi"]
        view["tables"].append(table(
            "csi_by_rating", f"Child Status Index: children by rating of each item in their latest CSI in the period "
                             f"({child_status['assessed']} assessed, {child_status['not_assessed']} with none)",
            ["code", "item", *[f"{s['value']} {s['label'].lower()}" for s in child_status["scale"]], "not rated"],
            [[i["code"], i["label"], *[i["by_rating"][s["value"]] for s in child_status["scale"]], i["not_rated"]]
             for i in child_status["items"]],
            note="Counted by case: each child's latest Child Status Index in the period. The form has no total: none is made."))
    view["charts"] = [
        chart("result", "Assessed children: ready for closure or not",
              [{"label": "ready", "value": ready, "text": str(ready)},
               {"label": "not ready", "value": len(rows) - ready, "text": str(len(rows) - ready)}], unit="children"),
        chart("below", "Children below each domain's pass mark",
              [{"label": d["label"], "value": d["below"], "text": f"{d['below']} of {d['assessed']}"} for d in view["domains"]],
              unit="children"),
    ]
    return view


def _label(band: Mapping) -> str:
    label = band.get("label") or {}
    return str(label.get("en") or band.get("key")) if isinstance(label, Mapping) else str(label)


def _marks(marks: Mapping[str, int]) -> str:
    """A domain's pass mark; one per form when the forms counted differ (Form 7A, Form 8A)."""
    values = set(marks.values())
    if len(values) <= 1:
        return str(next(iter(values), ""))
    return "; ".join(f"{mark} ({version})" for version, mark in sorted(marks.items()))
