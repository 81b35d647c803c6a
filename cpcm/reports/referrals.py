"""How referrals fare with each provider (`cpcm report referrals`): per service of the directory
(and per service referred to and since removed from it, "not in the directory"), of the referrals
sent in the period from the cases counted: how many the provider accepted and declined, how many
still wait for its feedback and, of those, how many are past the policy's feedback limit (the one
rule of the `referral-feedback` item of `cpcm due`: workflow/deadlines.py `awaiting_feedback`,
`feedback_due`), how many it answered after that limit, the median days from sending to its first
answer, and the outcomes (delivered, not delivered, closed); with each provider's agreement with
the agency (`contract` of its directory entry) and a flag when it has ended or ends within the
policy's notice (`service_contract.notice`). IAG Step 4 [L894] (monitor service contracts or
agreements with providers, for timeliness and accountability); ESARO S4 (provider told, acceptance
with a start date and expected period, tracked to an outcome).

Case IDs only where a list is needed (the referrals past the feedback limit, to follow up), counts
otherwise: no child's name, no need typed for a child. Internal to the agency, like the placements
register (the file is encrypted unless --plaintext).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Iterator, Mapping

from cpcm.domain.case import Case
from cpcm.domain.policy import Policy
from cpcm.reports.common import Period, chart, median, moment, table
from cpcm.workflow import referrals as rules
from cpcm.workflow.deadlines import awaiting_feedback, feedback_due

TITLE = "Referrals by provider"
NOT_IN_DIRECTORY = "not in the directory"
ANSWERS = ("accepted", "declined")  # the provider's answer to a referral: its feedback (ESARO S4, check 5)
COUNTS = ("sent", "accepted", "declined", "waiting", "past_limit", "answered_late", "delivered", "not_delivered", "closed")


def chosen(cases: Iterable[Case], worker: str | None = None) -> Iterator[Case]:
    """The cases the report counts, in the order given: every one given (those the reader can read),
    `worker`'s only when given."""
    return (c for c in cases if worker is None or c.worker == worker)


def _day(period: Period, when: Any) -> str:
    return period.local(when).date().isoformat() if when else ""


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 1)


def referrals(cases: Iterable[Case], services: list[Mapping[str, Any]], policy: Policy, start: date, end: date,
              now: datetime, worker: str | None = None) -> dict:
    """The report over the referrals sent from `start` to `end` (by the day they were sent, in the
    zone of `now`) in the cases `chosen` from `cases`, per service of `services` (the directory),
    as of `now`."""
    period = Period.of(start, end, now.tzinfo)
    zone = now.tzinfo
    today = now.date()
    notice = policy.duration("service_contract", "notice")
    notice_until = notice.after(now).date()
    counted = 0
    by_id = {str(s.get("id")): s for s in services}
    rows: dict[str, dict] = {}

    def row_of(service_id: str) -> dict:
        if service_id not in rows:
            entry = by_id.get(service_id)
            contract = (entry or {}).get("contract") if isinstance((entry or {}).get("contract"), Mapping) else {}
            rows[service_id] = {
                "service": service_id, "provider": str(entry.get("provider") or "") if entry else NOT_IN_DIRECTORY,
                "sector": str(entry.get("sector") or "") if entry else "", "in_directory": entry is not None,
                **{key: 0 for key in COUNTS}, "answer_days": [],
                "contract": {"reference": str(contract.get("reference") or ""), "start": str(contract.get("start") or ""),
                             "end": rules.contract_end(entry) or "", "state": rules.contract_state(entry, today, notice_until)}
                if entry is not None else None,
            }
        return rows[service_id]

    for service_id in sorted(by_id):
        row_of(service_id)
    past = []
    for case in chosen(cases, worker):  # in any order (a case at a time: service/context.py `CaseStream`)
        counted += 1
        for ref in case.referrals:
            if not period.holds(ref.get("at")):
                continue
            row = row_of(str(ref.get("service") or ""))
            sent = moment(ref["at"]).astimezone(zone)
            due = feedback_due(ref, policy, zone)
            statuses = [h.get("status") for h in ref.get("history") or ()]
            row["sent"] += 1
            for status in ("accepted", "declined", "delivered", "not_delivered"):
                row[status] += status in statuses
            row["closed"] += ref["status"] == "closed"
            answer = next((moment(str(h["at"])) for h in ref.get("history") or () if h.get("status") in ANSWERS), None)
            if answer is not None:
                row["answer_days"].append(_days(sent, answer))
                row["answered_late"] += answer > due
            if awaiting_feedback(ref):
                row["waiting"] += 1
                if now > due:
                    row["past_limit"] += 1
                    past.append({"case_id": case.id, "ref": ref["ref"], "service": row["service"], "status": ref["status"],
                                 "sent_on": _day(period, ref["at"]), "due_on": due.date().isoformat(),
                                 "days_over": (today - due.date()).days, "worker": case.worker or "", "case_status": case.status})
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (not rows[k]["in_directory"], k))]
    every_answer = [days for row in ordered for days in row["answer_days"]]
    for row in ordered:
        row["median_days_to_answer"] = median(row.pop("answer_days"))
    past.sort(key=lambda r: (r["due_on"], r["case_id"], r["ref"]))
    totals = {key: sum(r[key] for r in ordered) for key in COUNTS}
    overall = median(every_answer)
    flagged = [r for r in ordered if r["contract"] and r["contract"]["state"]]
    view = {
        "report": "referrals", "title": TITLE, "as_of": now.isoformat(timespec="minutes"), "period": period.to_dict(),
        "worker": worker,
        "policy": {"profile": policy.profile, "feedback_limit": policy.duration("referral_feedback", "limit").words(),
                   "feedback_source": policy.source("referral_feedback"),
                   "contract_notice": notice.words(), "contract_source": policy.source("service_contract")},
        "services": ordered, "past_limit": past,
        "counts": {"cases": counted, **totals, "median_days_to_answer": overall},
        "contracts_flagged": [{"service": r["service"], "end": r["contract"]["end"], "state": r["contract"]["state"]}
                              for r in flagged],
    }
    # the heading's line after its coverage, one text for every format: the printed tables' heading
    # (cli/report.py `heading`), the Markdown and the HTML
    view["heading"] = [f"Agreements ended or ending within {notice.words()}: "
                       + "; ".join(f"{c['service']} ({c['state']} {c['end']})" for c in view["contracts_flagged"]) + "."
                       ] if flagged else []
    limit = view["policy"]["feedback_limit"]
    view["tables"] = [
        table("by_service", f"Referrals sent from {period.start} to {period.end}, by service ({totals['sent']})",
              ["service", "provider", "sent", "accepted", "declined", "waiting", f"waiting past {limit}", "answered late",
               "median days to answer", "delivered", "not delivered", "closed", "agreement ends"],
              [[r["service"], r["provider"], r["sent"], r["accepted"], r["declined"], r["waiting"], r["past_limit"],
                r["answered_late"], "" if r["median_days_to_answer"] is None else r["median_days_to_answer"], r["delivered"],
                r["not_delivered"], r["closed"], _agreement(r["contract"])] for r in ordered]
              + [["total", "", *[totals[k] for k in COUNTS[:6]], "" if overall is None else overall,
                  *[totals[k] for k in COUNTS[6:]], ""]],
              note="" if ordered else "The service directory is empty and no referral was sent in the period."),
        table("past_limit", f"Referrals waiting for the provider's feedback past {limit} ({len(past)})",
              ["case", "referral", "service", "status", "sent on", "due on", "days over", "worker", "case status"],
              [[r["case_id"], r["ref"], r["service"], r["status"], r["sent_on"], r["due_on"], r["days_over"], r["worker"],
                r["case_status"]] for r in past],
              note="" if past else "No referral sent in the period waits past the feedback limit."),
    ]
    view["charts"] = [
        chart("sent", "Referrals sent in the period, by service",
              [{"label": r["service"], "value": r["sent"], "text": str(r["sent"])} for r in ordered], unit="referrals"),
        chart("median", "Median days from sending to the provider's first answer",
              [{"label": r["service"], "value": r["median_days_to_answer"],
                "text": "" if r["median_days_to_answer"] is None else f"{r['median_days_to_answer']} d"} for r in ordered],
              unit="days"),
    ]
    return view


def _agreement(contract: Mapping[str, Any] | None) -> str:
    """A service's agreement in a table cell: its last day, flagged when ended or ending soon."""
    if contract is None:
        return NOT_IN_DIRECTORY
    if not contract["end"]:
        return "none recorded" if not contract["reference"] else "no end recorded"
    return contract["end"] + (f" ({contract['state']})" if contract["state"] else "")
