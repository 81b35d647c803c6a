"""View models: the plain dictionaries templates are given, built from a case and its records.

Pure functions (no files, no clock: `today` is an argument). Every key a template may use is
always present (None, "" or [] when there is nothing), because templates run with
`StrictUndefined`: a template asks `{% if plan.notes %}`, never whether the key exists.
Codes stay codes (`who: child`, `term: short`); the wording is the template's, per language.

Must not import: service, store, crypto, cli.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.dates import local, local_day
from cpcm.domain.records import Record, utc
from cpcm.errors import Refused
from cpcm.workflow import approvals, deadlines, open_items, placements, plan_actions, transitions
from cpcm.workflow import conferences as conference_rules
from cpcm.workflow import readiness as readiness_rules
from cpcm.workflow.fold import effective, places

YES = ("yes", True)
NO = ("no", False)


def _yes_no(value: Any) -> bool | None:
    if value in YES:
        return True
    if value in NO:
        return False
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _person(worker_id: str | None, names: Mapping[str, str]) -> dict | None:
    if not worker_id:
        return None
    return {"id": worker_id, "name": names.get(worker_id) or worker_id}


def _named(value: Any, names: Mapping[str, str]) -> str:
    """A person the minutes name in a free-text field (the responsible person, the minute-taker):
    a team member given by worker id is printed by the name colleagues know, anyone else (an
    institution, an officer) as written."""
    text = _text(value)
    return names.get(text) or text


def first_name(name: str | None) -> str | None:
    """The first word of a known name (a child's plan uses no more)."""
    words = _text(name).split()
    return words[0] if words else None


# -- the plan's approval --------------------------------------------------------------------------
def approval_view(case: Case, plan_record: Record, names: Mapping[str, str] | None = None,
                  approval_required: bool = True, before_reopening: bool = False, note: str | None = None,
                  zone: tzinfo | None = None) -> dict:
    """Whether this plan version is in force: approved, in force without approval (where the
    policy needs none), waiting for a supervisor, returned (rejected), or superseded by a later
    version. `before_reopening`: the plan came into force before the case's latest reopening and
    its actions are not due (`deadlines.plan_actions_due`: the reopened case goes back to
    assessment and a new plan, IAG Step 6 [L946]); approved then, it is not in force now. `note`:
    the supervisor's note on the decision of this version (the conditions of an approval, what a
    rejection asks to change), printed with an approval or a rejection. `ended_with`: 'closed' or
    'transferred' when the case ended with this version approved (or in force without approval):
    it was in force when the case was closed (transferred) and is not now, as `cpcm show` says.
    `decided_on`: the day of the
    decision in the agency's `zone` (the fold keeps its time in UTC: an approval at 01:00 in
    Nairobi is on the evening before in UTC)."""
    names = names or {}
    latest = case.plan or {}
    decided_on = decided_by = None
    if latest.get("record_id") != plan_record.id:
        state = "superseded"
    elif latest.get("rejected_at"):
        state, decided_on = "rejected", latest["rejected_at"]
    elif latest.get("approved_at"):
        state, decided_on = "approved", latest["approved_at"]
        decided_by = _person(latest.get("approved_by"), names)
    elif not approval_required:
        state = "in_force"
    else:
        state = "waiting"
    if before_reopening and state in ("approved", "in_force"):
        state = "before_reopening"
    ended = case.status if case.status in ("closed", "transferred") and state in ("approved", "in_force") else None
    return {
        "state": state,
        "in_force": state in ("approved", "in_force"),
        "ended_with": ended,
        "required": bool(approval_required),
        "decided_on": _day(decided_on, zone),
        "decided_by": decided_by,
        "note": (_text(note) or None) if state in ("approved", "rejected") else None,
    }


# -- the worker's copy ------------------------------------------------------------------------------
def child_words(value: Any, lang: str, typed_lang: str | None = None) -> str | None:
    """The child's words in `lang`: from `{en: ..., sw: ...}`; or a plain text (as plans were
    written before the words were kept per language), which is in the language the worker types
    in (`typed_lang`; any language when not given). None when there are none in `lang`."""
    if isinstance(value, Mapping):
        return _text(value.get(lang)) or None
    return (_text(value) or None) if typed_lang in (None, lang) else None


def _any_child_words(value: Any, lang: str) -> str | None:
    """For the worker's copy: the child's words in `lang`, else in any language given."""
    found = child_words(value, lang)
    if found or not isinstance(value, Mapping):
        return found
    return next((_text(v) for v in value.values() if _text(v)), None)


def _action(raw: Mapping[str, Any], number: int, action_id: str | None = None, lang: str = "en") -> dict:
    """A plan action; `number` is that of its ID (A3: 3): `action_id` where the caller worked it
    out (open_items.action_ids), else the ID the version gives it, else its position."""
    stored = plan_actions.id_number(action_id or raw.get("id"), plan_actions.ACTION)
    return {
        "id": _text(action_id or raw.get("id")) or f"A{stored or number}",
        "number": stored or number,
        "what": _text(raw.get("what")),
        "who": _text(raw.get("who")) or "other",
        "who_detail": _text(raw.get("who_detail")) or None,
        "by": _text(raw.get("by"))[:10] or None,
        "mode": _text(raw.get("mode")) or None,
        "goal": _text(raw.get("goal")) or None,
        "child_words": _any_child_words(raw.get("child_words"), lang),
    }


def _age(case: Case, on: date) -> dict:
    dob = case.child.get("date_of_birth")
    return {
        "years": case.age_on(on),
        "date_of_birth": str(dob)[:10] if dob else None,
        "estimated": not dob and case.child.get("age_estimate") is not None,
    }


def case_plan_view(case: Case, plan_record: Record, lang: str, *, today: date | None = None,
                   names: Mapping[str, str] | None = None, approval_required: bool = True,
                   next_review: str | None = None, before_reopening: bool = False, decision_note: str | None = None,
                   zone: tzinfo | None = None) -> dict:
    """The worker's copy of a case plan version: who the child is, the plan's version, reason
    and approval, its goals each with its actions, review date, closure criteria, contingency and
    who took part.

    `today`: the date ages are given on and the document is dated (default: the plan's date);
    `names`: worker id -> display name; `approval_required`: the policy's plan_approval.required;
    `before_reopening`: the plan is from before the case's latest reopening (`approval_view`).
    The review: `review_on`, the date the case is next due for review (`next_review`, the
    review clock's date as `cpcm due` has it, given by the service), or the plan's own
    `review_date` where no review clock runs (a plan waiting for approval); `review_set_in_plan`,
    the plan's own date when it says another day than the clock (a later review moved it).
    `decision_note`: the supervisor's note on the approval or rejection of this version.
    `zone`: the agency's time zone, the days of stored times are given in (`_day`).
    """
    names = names or {}
    body = plan_record.body
    today = today or _local_date(plan_record.at, zone)
    actions = [_action(a, n, lang=lang) for n, a in enumerate(body.get("actions") or [], start=1)]
    goals = [dict(goal, need=_text(raw.get("need")) or None, indicator=_text(raw.get("indicator")) or None,
                  child_words=_any_child_words(raw.get("child_words"), lang))
             for goal, raw in zip(_goals(body, actions), body.get("goals") or [])]
    goal_ids = {g["id"] for g in goals}
    participants = body.get("participants") or {}
    planned_review = _text(body.get("review_date"))[:10] or None
    next_review = next_review[:10] if next_review else None
    return {
        "lang": lang,
        "today": today.isoformat(),
        "case": {
            "id": case.id,
            "name": case.child.get("name") or None,
            "sex": case.child.get("sex"),
            "age": _age(case, today),
            "risk": case.risk,
            "stage": case.stage,
            "status": case.status,  # closed or transferred: no review is due (here)
            "worker": _person(case.worker, names),
        },
        "plan": {
            "version": _version_of(case, plan_record),
            "reason": _text(body.get("reason")) or None,
            "interim": bool(body.get("interim")),
            "written_on": _day(plan_record.at, zone),
            "written_by": _person(_asked_by(case.plan, plan_record), names),  # not who corrected it
            "permanency_goal": _text(body.get("permanency_goal")) or None,
            "aftercare": _text(body.get("aftercare")) or None,
            "review_date": planned_review,
            "review_on": next_review or planned_review,
            "review_set_in_plan": planned_review if next_review and planned_review and planned_review != next_review else None,
            "closure_criteria": [_text(c) for c in body.get("closure_criteria") or [] if _text(c)],
            "contingency": _text(body.get("contingency")) or None,
            "participants": {
                "child": _yes_no(participants.get("child")),
                "caregivers": _yes_no(participants.get("caregivers")),
                "others": _text(participants.get("others")) or None,
            },
            "child_copy_given": _yes_no(body.get("child_copy_given")),
            "notes": _text(body.get("notes")) or None,
        },
        "approval": approval_view(case, plan_record, names, approval_required, before_reopening, decision_note, zone),
        "goals": goals,
        "other_actions": [a for a in actions if a["goal"] not in goal_ids],
        "actions": actions,
    }


def _asked_by(request: Mapping[str, Any] | None, record: Record) -> str | None:
    """Who wrote the request `record` (a plan version, a closure or a transfer request): the writer
    of the first record of its chain, also when someone else corrected it since (approvals.asker of
    the fold's `request`, where that is this record); else the record's own writer."""
    if request and request.get("record_id") == record.id:
        return approvals.asker(request) or record.by
    return record.by


def _version_of(case: Case, plan_record: Record) -> int | None:
    """A plan record's version number: its place among the case's plans, as the fold counts."""
    plans = [e.id for e in case.history if e.kind == "plan"]
    return plans.index(plan_record.id) + 1 if plan_record.id in plans else None


# -- the child's copy -------------------------------------------------------------------------------
# Words a child should not meet; a contingency sentence holding one is left out of the child's
# plan (the template then says in its own words what to do if something goes wrong).
JARGON = re.compile(
    r"\b(case ?workers?|case ?management|case ?plan|referr\w*|refer|contingency|interim|placement|place\w* in care"
    r"|assessment|supervisor|protocol|statutory|intervention|alternative care|CCI|DCS|SCCO|OCS|mandated"
    r"|rufaa|tathmini|msimamizi)\b",
    re.IGNORECASE,
)
SIMPLE_WORDS = 20  # at most this many words in a sentence for a child
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_PHONE = re.compile(r"(?<![\w+-])\+?\d[\d ]{1,14}\d(?![\w-])|(?<![\w+-])\d{3,4}(?:-\d{3,4}){1,3}(?![\w-])")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^(19|20)\d\d$")


def phone_numbers(text: str) -> list[str]:
    """Telephone numbers and short codes (116, 0712 345 678, +254 20 123 4567) in a text;
    not dates or years."""
    found = []
    for match in _PHONE.finditer(text or ""):
        number = match.group(0).strip()
        digits = re.sub(r"\D", "", number)
        if not 3 <= len(digits) <= 15 or _DATE_LIKE.match(number):
            continue
        if number not in found:
            found.append(number)
    return found


def simple_sentences(text: str) -> list[str]:
    """The sentences of `text` short enough and free enough of jargon for a child."""
    out = []
    for sentence in _SENTENCE.split(_text(text)):
        sentence = sentence.strip(" -*•\t")
        if not sentence or len(sentence.split()) > SIMPLE_WORDS or JARGON.search(sentence):
            continue
        out.append(sentence)
    return out


def in_child_plan(raw: Mapping[str, Any]) -> bool:
    """Whether a plan action is in the child's plan: as its `with_child` says when the worker set
    it; else when the child does it (`who: child`) or the worker wrote it in the child's words.
    An action the child has no part in (an officer's listing, a letter between agencies) is not."""
    if isinstance(raw.get("with_child"), bool):
        return raw["with_child"]
    given = raw.get("child_words")
    has_words = any(_text(v) for v in given.values()) if isinstance(given, Mapping) else bool(_text(given))
    return raw.get("who") == "child" or has_words


def child_plan_view(case: Case, plan_record: Record, lang: str, *, today: date | None = None,
                    names: Mapping[str, str] | None = None, approval_required: bool = True,
                    next_review: str | None = None, typed_lang: str | None = None, before_reopening: bool = False,
                    decision_note: str | None = None, zone: tzinfo | None = None) -> dict:
    """The child's copy: first name only, what the child will do (actions for `child`), who will
    help (the other actions the child has a part in: `in_child_plan`), when we meet again, and
    what to do if something goes wrong.

    The child's words (`child_words`, per language: `{en: ..., sw: ...}`, or one plain text, taken
    as in `typed_lang`) in the document's language are used wherever the worker gave them. Where there are none, the
    worker's own text is used only when the document is in the language the worker types in
    (`typed_lang`, the repository's language): a Kiswahili plan never prints English text. What
    is left out for want of words is counted (`untold`), so the child is told there is more.

    When we meet again: the review clock's date (`next_review`, from the clock table as `cpcm due`
    has it), or the plan's own review date when it is earlier and not past and no review was
    held since the plan was written (a review held since set the next date).

    For what to do if something goes wrong: `contingency_child_words` (per language or plain)
    when the plan has it, else (in the language the worker types in) the contingency's short
    sentences without jargon, and any telephone numbers it gives.
    """
    names = names or {}
    worker = case_plan_view(case, plan_record, lang, today=today, names=names, approval_required=approval_required,
                            next_review=next_review, before_reopening=before_reopening, decision_note=decision_note,
                            zone=zone)
    body = plan_record.body
    plan = worker["plan"]
    typed = (typed_lang or "en") == lang
    untold = 0

    def words(raw: Mapping[str, Any], plain: str) -> str | None:
        nonlocal untold
        found = child_words(raw.get("child_words"), lang, typed_lang or "en") or (_text(raw.get(plain)) if typed else None)
        if not found:
            untold += 1
        return found

    goals = [{"words": found} for raw in body.get("goals") or [] if (found := words(raw, "goal"))]
    you_will, helpers = [], []
    for action, raw in zip(worker["actions"], body.get("actions") or []):
        if not in_child_plan(raw):
            continue
        said = words(raw, "what")
        if not said:
            continue
        if action["who"] == "child":
            you_will.append({"id": action["id"], "words": said, "by": action["by"]})
        else:
            helpers.append({
                "id": action["id"],
                "who": action["who"],
                # a worker id or a service's formal name means little to a child: their own
                # worker is "your social worker", in the template's words
                "helper": None if action["who"] == "caseworker" or not typed else action["who_detail"],
                "words": said,
                "by": action["by"],
                "asked": action["mode"] == "referral",
            })
    given = child_words(body.get("contingency_child_words"), lang, typed_lang or "en")
    contingency = plan["contingency"] or ""
    if given:
        sentences, from_plan = [given], True
    else:
        sentences = simple_sentences(contingency) if typed else []
        from_plan = False
    kept = " ".join(sentences)
    phones = [p for p in phone_numbers(contingency) if p not in kept]
    approval = worker["approval"]
    return {
        "lang": lang,
        "today": worker["today"],
        "first_name": first_name(case.child.get("name")),
        "worker_name": (worker["case"]["worker"] or {}).get("name"),
        "took_part": plan["participants"]["child"] is True,
        "goals": goals,
        "you_will": you_will,
        "helpers": helpers,
        "untold": untold,
        "next_meeting": _next_meeting(next_review, plan["review_date"], case, worker["today"],
                                      reviewed=bool(case.last("review", utc(plan_record.at)))),
        "closed": case.status == "closed",
        "if_wrong": {
            "sentences": sentences,
            "in_child_words": from_plan,
            "phones": phones,
        },
        "in_force": approval["in_force"],
        "state": approval["state"],
    }


def _next_meeting(clock: str | None, planned: str | None, case: Case, today: str, reviewed: bool = False) -> str | None:
    """The next review: the review clock's date, or the plan's own date when earlier and not
    past and the case was not `reviewed` since the plan was written (a review held since set the
    next date, and the clock has it); where no clock runs (a plan waiting for approval), the
    plan's date or a review's."""
    dates = [d for d in (clock, planned if planned and planned >= today and not (reviewed and clock) else None) if d]
    if dates:
        return min(d[:10] for d in dates)
    if case.status != "open":
        return None
    return planned or (case.next_review[:10] if case.next_review else None)


# -- closure and transfer: the case's whole file, not one plan version ------------------------------
def _refused(message: str, hint: str, rule: str) -> Refused:
    return Refused(message, hint, rule=rule)


def _day(at: Any, zone: tzinfo | None = None) -> str | None:
    """The day of a stored time in the agency's `zone` (`dates.local_day`: never the day in UTC,
    nor in a zone the time was written in before the agency set its own); a date alone is that
    date. Without a zone, the day as written."""
    return local_day(_text(at), zone) or None


def _local_date(at: str, zone: tzinfo | None) -> date:
    """The day of a stored time in `zone`, as a date (a document's date when no `today` is given)."""
    return local(at, zone).date()


def _moment(at: str) -> datetime:
    return datetime.fromisoformat(at.strip().replace("Z", "+00:00"))


def _ordered(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: r.id)


def _received_at(records: list[Record]) -> str:
    """The id of the latest transfer_in (the case came from another agency), or "": what was
    requested before it was requested there, not here."""
    return max((r.id for r in records if r.kind == "transfer_in"), default="")


def _latest_plan(case: Case, records: list[Record]) -> Record | None:
    wanted = (case.plan or {}).get("record_id")
    return next((r for r in records if r.id == wanted), None) if wanted else None


def _progress(records: list[Record], plan_record: Record | None, before: str | None = None,
              zone: tzinfo | None = None) -> tuple[dict, Record | None]:
    """The latest status of each plan item (G1, A1) from the reviews since the plan (before
    `before`, a record id, when given), as cpcm close counts unfinished actions
    (open_items.progress); and the last review."""
    found, last = open_items.progress(records, plan_record, before)
    status = {key: {"status": _text(item.get("status")) or None, "note": _text(item.get("note")) or None, "on": _day(record.at, zone)}
              for key, (record, item) in found.items()}
    return status, last


def _plan_items(plan_record: Record | None, status: Mapping[str, Mapping],
                ids: list[str] | None = None) -> tuple[list[dict], list[dict]]:
    """The plan's goals (each with its actions) and all its actions, each with its review
    progress; `ids`: the actions' IDs (open_items.action_ids)."""
    if plan_record is None:
        return [], []
    body = plan_record.body
    none = {"status": None, "note": None, "on": None}
    actions = []
    for number, raw in enumerate(body.get("actions") or [], start=1):
        action = _action(raw, number, ids[number - 1] if ids and number <= len(ids) else None)
        action["progress"] = dict(status.get(f"A{action['number']}", none))
        actions.append(action)
    goals = [dict(goal, progress=dict(status.get(goal["id"].upper(), none))) for goal in _goals(body, actions)]
    return goals, actions


def _goals(body: Mapping[str, Any], actions: list[dict]) -> list[dict]:
    """A plan's goals, each with its id (G1… when none was given) and the actions serving it."""
    goals = []
    for index, raw in enumerate(body.get("goals") or [], start=1):
        goal_id = _text(raw.get("id")) or f"G{index}"
        goals.append({"id": goal_id, "term": _text(raw.get("term")) or None, "goal": _text(raw.get("goal")),
                      "actions": [a for a in actions if a["goal"] == goal_id]})
    return goals


def _referral(entry: Mapping[str, Any], services: Mapping[str, str], zone: tzinfo | None = None) -> dict:
    history = list(entry.get("history") or [])
    service = _text(entry.get("service"))
    return {
        "ref": entry.get("ref"),
        "service": service or None,
        "provider": services.get(service) or None,
        "sector": entry.get("sector"),
        "need": _text(entry.get("need")) or None,
        "urgent": bool(entry.get("urgent")),
        "sent_on": _day(history[0]["at"], zone) if history else _day(entry.get("at"), zone),
        "status": entry.get("status"),
        "status_on": _day(history[-1]["at"], zone) if history else _day(entry.get("status_at"), zone),
        "start": _day(entry.get("start"), zone),
        "feedback": _text(entry.get("feedback")) or None,
        "plan_action": entry.get("plan_action"),
        "open": open_items.referral_open(entry.get("status")),
    }


def _case_facts(case: Case, on: date, names: Mapping[str, str], zone: tzinfo | None = None) -> dict:
    return {
        "id": case.id,
        "name": case.child.get("name") or None,
        "sex": case.child.get("sex"),
        "age": _age(case, on),
        "risk": case.risk,
        "stage": case.stage,
        "status": case.status,
        "worker": _person(case.worker, names),
        "registered_on": _day(case.registered_at, zone),
    }


def keyworker_facts(keyworker: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict | None:
    """The keyworker nominated for a case (workflow/keyworker.py `current`), for a document: a
    team worker by the name colleagues know (`worker`), or someone outside the team (`name`, the
    words of their `role`, `contact`); `is_caseworker` when it is the caseworker. None when none
    was nominated: the caseworker is the keyworker. `off_team`: a colleague nominated who has
    left the team since."""
    if not keyworker or not keyworker.get("nominated"):
        return None
    outside = bool(keyworker.get("outside"))
    return {"outside": outside, "worker": None if outside else _person(keyworker.get("worker"), names),
            "name": _text(keyworker.get("name")) or None if outside else None,
            "role": str(keyworker.get("role") or "").replace("_", " ") or None if outside else None,
            "contact": _text(keyworker.get("contact")) or None if outside else None,
            "is_caseworker": bool(keyworker.get("is_caseworker")), "off_team": bool(keyworker.get("off_team"))}


def _decided(record: Record | None, names: Mapping[str, str], zone: tzinfo | None = None) -> dict | None:
    if record is None:
        return None
    return {"by": _person(record.by, names), "on": _day(record.at, zone), "note": _text(record.body.get("note")) or None}


def _duration_parts(duration) -> dict:
    return {"months": duration.months, "days": duration.days + duration.minutes // 1440, "same_day": duration.same_day}


def _closure_readiness(body: Mapping[str, Any], zone: tzinfo | None = None) -> dict | None:
    """The latest readiness record (Form 7A) as the closure request kept it, and a supervisor's
    reason to close without one that meets the rule; None when the closure has neither."""
    summary = body.get("readiness") if isinstance(body.get("readiness"), Mapping) else None
    override = _text(body.get("readiness_override")) or None
    if summary is None and override is None:
        return None
    domains = [{"domain": str(d.get("domain")), "score": d.get("score"), "maximum": d.get("maximum"),
                "pass_mark": d.get("pass_mark"), "passed": bool(d.get("passed"))} for d in (summary or {}).get("domains") or ()]
    return {
        "recorded": summary is not None,
        "on": _day(summary.get("at"), zone) if summary else None,
        "ready": bool(summary.get("ready_for_closure")) if summary else False,
        "domains_passed": summary.get("domains_passed") if summary else 0,
        "total": len(domains),
        "domains": domains,
        "override": override,
        # why the rule was not met, as the closure kept it (codes, worded by _values.j2 in the document's language)
        "problems": [_readiness_why(p) for p in body.get(readiness_rules.KEPT_PROBLEMS) or ()] if override else [],
    }


def _sign_offs(body: Mapping[str, Any], parties: Mapping[str, str], records: list[Record],
               place: Mapping[str, str], zone: tzinfo | None = None) -> list[dict]:
    """The external sign-offs (an approver outside the team, Form 9A) a closure request kept, each
    as its latest correction says where it was corrected since (`records`: the case's in force, in
    the order written; `place`: each correction's first original, `places` of all the records, so
    that a sign-off kept as a correction and corrected again is found by the chain's first record);
    `parties`: each approver's words (the sign-off form's choice_labels), else its code."""
    latest = {place.get(r.id, r.id): r.body for r in records if r.kind == "sign_off"}
    kept = [latest.get(place.get(str(o.get("record_id")), str(o.get("record_id"))), o)
            for o in body.get("sign_offs") or () if isinstance(o, Mapping)]
    return [{"party": _text(o.get("party")) or None, "party_words": parties.get(_text(o.get("party"))) or _text(o.get("party")) or None,
             "name": _text(o.get("name")) or None, "title": _text(o.get("title")) or None,
             "on": _day(o.get("date"), zone), "reference": _text(o.get("reference")) or None}
            for o in kept]


def _closure_feedback(body: Mapping[str, Any]) -> dict | None:
    """The child's and the caregiver's feedback on the services given at closure (Form 9A), or
    None when the request says nothing about it."""
    raw = body.get("feedback") if isinstance(body.get("feedback"), Mapping) else {}
    out = {who: {"given": raw.get(f"{who}_given") if isinstance(raw.get(f"{who}_given"), bool) else None,
                 "text": _text(raw.get(who)) or None} for who in ("child", "caregiver")}
    return out if any(v["given"] is not None or v["text"] for v in out.values()) else None


def closure_report_view(case: Case, records: Iterable[Record], policy, lang: str, *, today: date | None = None,
                        names: Mapping[str, str] | None = None, services: Mapping[str, str] | None = None,
                        agency: Mapping[str, str] | None = None, parties: Mapping[str, str] | None = None,
                        zone: tzinfo | None = None) -> dict:
    """The worker's file copy of a case's closure: the child, the reason and its checklist, the
    closing summary, the open items left and why, who asked and who approved (or that it waits),
    the last plan's goals with the reviews' progress, the referrals and their outcomes, the
    post-closure visit (due by the policy's limit, or done), and the readiness record (Form 7A)
    the request was made on, with a supervisor's reason where it did not meet the rule.

    Refused (exit 4) when the case has no closure request (never closed, or reopened since), or
    was transferred to another agency (saying so: it is not closed, and cannot be, here).
    `records`: all of the case's records, corrected ones too (`CASE_VIEWS`).
    `services`: service id -> provider name; `agency`: {code, name} of this agency; `parties`: an
    external approver's code -> its words in `lang` (the sign-off form's choice_labels).
    `zone`: the agency's time zone, the days of stored times are given in (`_day`).
    """
    names, services = names or {}, services or {}
    records = records if isinstance(records, list) else list(records)
    applied = effective(records)  # as the fold applies them: a correction in its original's place
    ordered = _ordered(applied)
    # a corrected record counts where the first record of its chain was (a correction of a correction
    # too: `places` of all the records): a follow-up corrected after the request is still a visit before
    # it, one made after a plan version that was corrected later is since it
    place = places(records)
    if case.status == "transferred":  # its work went to another agency: no closure here (one asked before is not decided)
        to = _text((case.transfer_out or {}).get("to"))
        raise _refused(f"{case.id} has no closure to report: it was transferred to {f'agency {to}' if to else 'another agency'}, "
                       "not closed", f"A transferred case is not closed here; its transfer is reported by: "
                       f"cpcm render transfer-summary {case.id}", "nothing-to-report")
    if not case.closure or case.closure["record_id"] < _received_at(ordered):  # a request made at another agency
        raise _refused(f"{case.id} has no closure to report: it is not closed and no closure is requested",
                       f"Request closure first: cpcm close {case.id} --reason REASON --check ITEM ...", "nothing-to-report")
    record = next((r for r in ordered if r.id == case.closure["record_id"]), None)
    if record is None:
        raise _refused(f"{case.id}: the closure record is missing", "Run cpcm check on the case.", "nothing-to-report")
    body = record.body
    today = today or _local_date(record.at, zone)
    reason = _text(body.get("reason")) or None
    needed = [str(i) for i in (policy.get("closure_reasons", reason) or [])] if reason else []
    given = [str(i) for i in body.get("checklist") or []]
    # the checklist the request was judged against is the one it confirmed: cpcm close (and a correction
    # that changes it) refuses one that leaves out an item of the reason's list then in force, and the
    # approval decides the request as written; an item the agency added to the list since is not its
    # own. In the order of the list in force, then the items it no longer lists.
    checklist = [{"item": i, "confirmed": True} for i in needed if i in given]
    checklist += [{"item": i, "confirmed": True} for i in given if i not in needed]
    sign_offs = _sign_offs(body, parties or {}, ordered, place, zone)
    signed_item, party = policy.get("closure_sign_off", "item"), policy.get("closure_sign_off", "party")
    for entry in checklist:  # the item an external sign-off confirms (Form 9A item 5) names who signed
        entry["sign_off"] = next((o for o in sign_offs if o["party"] == party), None) if entry["item"] == signed_item else None

    # a request corrected since it was decided is decided by its original's decision (read through the chain)
    decision = approvals.decision_on(applied, "closure", record.id)
    if body.get("immediate"):
        state, closed_record = "not_required", record
    elif decision is None:
        state, closed_record = "waiting", None
    elif decision.kind == "approval":
        state, closed_record = "approved", decision
    else:
        state, closed_record = "rejected", None
    closed_on = _day(closed_record.at, zone) if closed_record else None

    plan_record = _latest_plan(case, ordered)
    status, last_review = _progress(records, plan_record, before=record.id, zone=zone)
    goals, actions = _plan_items(plan_record, status, open_items.action_ids(records, plan_record))
    by_number = {f"A{a['number']}": a for a in actions}
    referrals = [_referral(r, services, zone) for r in case.referrals]
    by_ref = {r["ref"]: r for r in referrals}
    left = body.get("open_items") or {}

    where = lambda r: place.get(r.id, r.id)  # noqa: E731
    since = where(plan_record) if plan_record else ""
    followups = sorted((r for r in ordered if r.kind == "followup" and where(r) < where(record)
                        and r.body.get("purpose") != "post_closure"), key=lambda r: (where(r), r.id))
    counted = [r for r in followups if since < where(r)]
    # the rule's count (follow-ups of any kind) starts again at every plan version (one that only
    # moved a date too): the same follow-ups since the reunification, else since the first plan,
    # say how many there were in all
    reunified = max((t for t in case.events.get("reunification", ()) if t <= utc(record.at)), default=None)
    # the monitoring visits (home visits since the child went home) as `cpcm show` counts them, where the
    # profile schedules them: not the follow-ups the rule counts, which a phone call or an office contact meets
    visits = (placements.monitoring_visits_since(case, policy, reunified, utc(record.at))
              if reunified and placements.schedules_visits(policy) else None)
    first_plan = min((r for r in ordered if r.kind == "plan"), key=where, default=None)  # by its place: v1 corrected since
    if reunified:
        in_all = [r for r in followups if utc(r.at) >= reunified]
    else:
        in_all = [r for r in followups if first_plan and where(first_plan) < where(r)]

    visit = None
    # the one rule of which closures owe the visit (the reason's, and not a case merged into another)
    owed = deadlines.post_closure_visit_owed(case, policy, reason=reason)
    if closed_record is not None and owed:
        limit = policy.duration("post_closure_visit", "limit")
        due = local(limit.after(_moment(closed_record.at)), zone).date()  # its day in the agency's zone, as `today` is
        done = next((r for r in ordered if r.kind == "followup" and where(r) > where(closed_record)
                     and r.body.get("purpose") == "post_closure"), None)
        visit = {
            "due": due.isoformat(),
            "within": _duration_parts(limit),
            "done": done is not None,
            "done_on": _day(done.at, zone) if done else None,
            "done_by": _person(done.by, names) if done else None,
            "child_feedback": _text(done.body.get("child_feedback")) or None if done else None,
            "caregiver_feedback": _text(done.body.get("caregiver_feedback")) or None if done else None,
            "overdue": done is None and today > due,
        }
    return {
        "lang": lang,
        "today": today.isoformat(),
        "agency": dict(agency or {}),
        "case": _case_facts(case, today, names, zone),
        "closure": {
            "reason": reason,
            "checklist": checklist,
            "summary": _text(body.get("summary")) or None,
            "notes": _text(body.get("notes")) or None,
            "requested_on": _day(record.at, zone),
            "requested_by": _person(_asked_by(case.closure, record), names),
            "state": state,
            "closed": closed_record is not None,
            "closed_on": closed_on,
            "decision": _decided(decision, names, zone),
            "sign_offs": sign_offs,
            "feedback": _closure_feedback(body),
        },
        "open_items": {
            "referrals": [by_ref.get(ref) or {"ref": ref, "service": None, "provider": None, "need": None, "status": None}
                          for ref in left.get("referrals") or []],
            "actions": [by_number.get(str(a).upper()) or {"number": str(a).lstrip("Aa"), "what": "", "who": "other",
                                                          "who_detail": None, "by": None}
                        for a in left.get("actions") or []],
            "explained": _text(body.get("open_items_explained")) or None,
        },
        "monitoring": {
            # the follow-ups since the latest plan version, as the pre_closure_monitoring rule counts them
            "followups": len(counted),
            "wanted": transitions.pre_closure_followups(policy, reason),  # none where no rule asks for visits
            "last_on": _day(counted[-1].at, zone) if counted else None,
            # the plan version the rule counts from
            "plan_version": (case.plan or {}).get("version") if plan_record else None,
            "plan_on": _day(plan_record.at, zone) if plan_record else None,
            # more follow-ups than the rule counts: how many in all, and since when
            "in_all": len(in_all) if len(in_all) > len(counted) else None,
            "in_all_since": "reunification" if reunified else "first_plan",
            # the monitoring visits since the child went home (None: not reunified, or no visits scheduled)
            "visits": len(visits) if visits is not None else None,
            "visits_last_on": _day(max(visits), zone) if visits else None,
            "reunified_on": _day(reunified, zone) if visits is not None else None,
        },
        "plan": {
            "exists": plan_record is not None,
            "version": (case.plan or {}).get("version"),
            "written_on": _day(plan_record.at, zone) if plan_record else None,
            "goals": goals,
            "other_actions": [a for a in actions if a["goal"] not in {g["id"] for g in goals}],
            "last_review": {"on": _day(last_review.at, zone), "outcome": last_review.body.get("outcome"),
                            "chair": _text(last_review.body.get("chair")) or None} if last_review else None,
        },
        "referrals": referrals,
        "post_closure_visit": visit,
        "post_closure_visit_owed": owed,
        "readiness": _closure_readiness(body, zone),
    }


TRANSFER_DETAILS = ("reason", "removed_by", "new_placement", "case_manager_contact", "household_strengths", "ongoing_needs",
                    "final_assistance", "new_services", "next_followup")


def _transfer_details(body: Mapping[str, Any]) -> list[dict] | None:
    """The transfer form's fields (the kenya profile: DCS Form 10A) in the form's order, each
    {field, value}; None when the transfer has none."""
    raw = body.get("details") if isinstance(body.get("details"), Mapping) else None
    if not raw:
        return None
    keys = [k for k in TRANSFER_DETAILS if k in raw] + [k for k in raw if k not in TRANSFER_DETAILS]
    return [{"field": str(k), "value": _text(raw[k])} for k in keys if _text(raw[k])]


def transfer_summary_view(case: Case, records: Iterable[Record], policy, lang: str, *, today: date | None = None,
                          names: Mapping[str, str] | None = None, services: Mapping[str, str] | None = None,
                          agency: Mapping[str, str] | None = None, next_review: str | None = None,
                          zone: tzinfo | None = None) -> dict:
    """The summary of a case's transfer to another agency: the child, from and to, the reason,
    the file-review checklist, the consent (or override) relied on, the approval, the bundle
    (manifest checksum, number of records), whether the receipt came back, the current risk,
    and the open plan actions and referrals the receiving agency should pick up.

    The latest transfer: a request still waiting (or approved, bundle not yet written) when it
    is newer than the last bundle sent. Refused (exit 4) when the case has no transfer at all.

    `next_review`: the review clock's date as `cpcm due` has it, given by the service (while the
    case is open here, or as it was when the case left); the plan's own date is given beside it
    when it says another day, as in the case plan. `zone`: the agency's time zone, the days of
    stored times are given in (`_day`).
    """
    names, services, agency = names or {}, services or {}, dict(agency or {})
    records = records if isinstance(records, list) else list(records)
    applied = effective(records)  # as the fold applies them: a correction in its original's place
    ordered = _ordered(applied)
    here = _received_at(ordered)  # a transfer asked for at the agency the case came from is not this one's
    sent = next((r for r in reversed(ordered) if r.kind == "transfer" and r.id > here), None)
    asked = next((r for r in reversed(ordered) if r.kind == "transfer_request" and r.id > here), None)
    if asked is not None and (sent is None or asked.id > sent.id):
        subject, request = asked, asked
    elif sent is not None:
        subject = sent
        wanted = (sent.body.get("approval") or {}).get("request")
        request = next((r for r in ordered if r.id == wanted), None) if wanted else None
    else:
        raise _refused(f"{case.id} has no transfer to summarise: none was requested or sent",
                       f"Request one first: cpcm transfer {case.id} --to AGENCY --reason TEXT --reason-code CODE --check all",
                       "nothing-to-report")
    body = subject.body
    today = today or _local_date(subject.at, zone)
    to = _text(body.get("to")) or None
    items = [str(i) for i in policy.get("transfer", "checklist") or []]
    given = [str(i) for i in body.get("checklist") or []]
    checklist = [{"item": i, "confirmed": i in given} for i in items] + [{"item": i, "confirmed": True} for i in given
                                                                         if i not in items]
    decision = approvals.decision_on(applied, "transfer", request.id) if request is not None else None
    required = approvals.required(policy, "transfer")
    if decision is not None:
        approval_state = "approved" if decision.kind == "approval" else "rejected"
    elif request is not None:
        approval_state = "waiting"
    else:
        approval_state = "not_required" if not required else "missing"

    def consent_entry(record: Record) -> dict:
        b = record.body
        if record.kind == "consent_override":
            return {"kind": "override", "given_by": None, "status": None, "basis": b.get("basis"),
                    "reason": _text(b.get("reason")) or None, "by": _person(record.by, names), "on": _day(record.at, zone)}
        return {"kind": "consent", "given_by": b.get("given_by"), "status": b.get("status"), "basis": None, "reason": None,
                "by": _person(record.by, names), "on": _day(record.at, zone)}

    if subject.kind == "transfer":
        used = set(body.get("consent_ids") or ())
        consents = [consent_entry(r) for r in ordered if r.id in used]
        override_used = bool(body.get("consent_override"))
    else:  # not sent yet: what is on file for a transfer to that agency (checked when the bundle is written)
        consents = [consent_entry(r) for r in ordered if r.kind in ("consent", "consent_override")
                    and r.body.get("purpose") == "transfer" and _text(r.body.get("agency")) in ("", to or "")]
        override_used = any(c["kind"] == "override" for c in consents)

    ack = None
    if subject.kind == "transfer":
        ack = next((r for r in ordered if r.kind == "transfer_ack" and r.body.get("transfer_record") == subject.id), None)
    receiving = (ack.body.get("receiving_agency") or {}) if ack else {}

    plan_record = _latest_plan(case, ordered)
    planned_review = _day(plan_record.body.get("review_date"), zone) if plan_record else None
    status, _last = _progress(records, plan_record, before=subject.id, zone=zone)
    goals, actions = _plan_items(plan_record, status, open_items.action_ids(records, plan_record))
    open_actions = [a for a in actions if open_items.item_open(a["progress"]["status"])]
    referrals = [_referral(r, services, zone) for r in case.referrals]
    if subject.kind == "transfer":
        state = "acknowledged" if ack else "sent"
    else:
        state = {"approved": "approved", "rejected": "rejected"}.get(approval_state, "requested")
    return {
        "lang": lang,
        "today": today.isoformat(),
        "case": _case_facts(case, today, names, zone),
        "transfer": {
            "state": state,
            "sent": subject.kind == "transfer",
            "from": {"code": agency.get("code"), "name": agency.get("name")},
            "to": {"code": to, "name": services.get(to or "") or None},
            "reason": _text(body.get("reason")) or None,
            "reason_code": body.get("reason_code"),
            "earlier_transfers": int(body.get("earlier_transfers") or 0),
            "requested_on": _day(request.at, zone) if request else None,
            "requested_by": _person(_asked_by(case.transfer_request, request), names) if request else None,
            "sent_on": _day(subject.at, zone) if subject.kind == "transfer" else None,
            "sent_by": _person(subject.by, names) if subject.kind == "transfer" else None,
            "details": _transfer_details(body),
        },
        "checklist": checklist,
        "consent": {
            "checked": subject.kind == "transfer",
            "override_used": override_used,
            "records": consents,
        },
        "approval": {
            "required": required,
            "state": approval_state,
            "decision": _decided(decision, names, zone),
        },
        "bundle": {
            "manifest_sha256": body.get("manifest_sha256"),
            "records": body.get("records"),
        } if subject.kind == "transfer" else None,
        "receipt": {
            "received_on": _day(ack.body.get("received_at"), zone),
            "received_by": _text(ack.body.get("received_by")) or None,
            "agency": {"code": receiving.get("code"), "name": receiving.get("name")},
            "received_as": ack.body.get("received_as"),
            "recorded_on": _day(ack.at, zone),
        } if ack else None,
        "plan": {
            "exists": plan_record is not None,
            "version": (case.plan or {}).get("version"),
            # the review clock's date as cpcm due has it (`next_review`: while the case is open here, or as it was
            # when the case left), else the plan's own date or a review's; the plan's own date beside it when it
            # says another day (a later review moved the next one), as the case plan gives it
            "review_date": _day(next_review, zone) or planned_review or _day(case.next_review, zone),
            "review_set_in_plan": planned_review if next_review and planned_review and planned_review != _day(next_review, zone) else None,
        },
        "open_actions": open_actions,
        "open_referrals": [r for r in referrals if r["open"]],
    }


# -- the whole case file: every record in order of `at` ----------------------------------------------
def _value(value: Any, nested: Mapping[str, Mapping[str, str]] | None = None) -> dict:
    """A recorded value for a document: `kind` says how to write it (yes/no, a list of words or
    codes, a list of entries each a list of answers, a date, text); codes stay codes (the template
    has their words per language)."""
    if isinstance(value, bool):
        return {"kind": "yes_no", "value": value}
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            return {"kind": "entries", "value": [[_answer(part) for part in entry] for entry in value]}
        if value and all(isinstance(v, Mapping) for v in value):  # kept summaries (a closure's sign-offs, readiness domains)
            return {"kind": "entries", "value": [[_answer({"field": k, "label": None, "value": v}, (nested or {}).get(k), nested)
                                                  for k, v in entry.items() if v not in (None, "")] for entry in value]}
        return {"kind": "list", "value": [_text(v) for v in value if not isinstance(v, (list, dict))]}
    if isinstance(value, Mapping):  # not flattened (a kind without a form): its items, as answers
        return {"kind": "entries", "value": [[_answer({"field": k, "label": None, "value": v}) for k, v in value.items()]]}
    text = _text(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) and _real_date(text):  # '2015-02-31' typed in a text field is text
        return {"kind": "date", "value": text, "time": None}
    moment = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?", text)
    if moment and _real_date(moment.group(1)):  # a kept time ('at' of a readiness record): its day in words, its hour
        return {"kind": "date", "value": moment.group(1), "time": moment.group(2)}
    return {"kind": "text", "value": text}


def _real_date(text: str) -> bool:
    from cpcm.domain.dates import as_date

    try:
        as_date(text)
    except ValueError:
        return False
    return True


# What a closure (or a review) keeps of why the readiness rule was not met: codes and numbers
# (workflow/readiness.py: closure_gaps, Readiness.why_not), which templates/_values.j2 words in the
# document's language; a closure written before the codes keeps English sentences, printed as they are.
READINESS_WHY = (readiness_rules.KEPT_REASONS, readiness_rules.KEPT_PROBLEMS)


def _readiness_why(item: Any) -> dict:
    """One reason a readiness record does not meet the closure rule, or one problem a closure
    was made with: {code, ...its numbers}; a kept sentence as {code: None, text}."""
    if not isinstance(item, Mapping):
        return {"code": None, "text": _text(item)}
    out = {str(k): v for k, v in item.items() if k != "reasons"}
    out["code"] = _text(item.get("code")) or None
    if "reasons" in item:
        out["reasons"] = [_readiness_why(r) for r in item.get("reasons") or ()]
    if item.get("max_age") is not None:
        from cpcm.domain.durations import parse_duration

        try:
            age = parse_duration(_text(item.get("max_age")))
        except ValueError:
            age = None
        out["max_age"] = _duration_parts(age) if age is not None and not age.minutes % 1440 else None
        out["max_age_text"] = _text(item.get("max_age"))
    return out


def _answer(answer: Mapping[str, Any], words: Mapping[str, str] | None = None,
            nested: Mapping[str, Mapping[str, str]] | None = None) -> dict:
    """One answer for a document; `words`: the words of its choices where its form names them
    (the national case categories' choice_labels), in the document's language."""
    out = {"field": str(answer.get("field") or ""), "label": answer.get("label") or None, **_value(answer.get("value"), nested)}
    out["words"] = dict(words) if words else None
    if out["kind"] == "text" and out["field"].split(".")[-1] == "expected_duration":  # '3mo': in words, in the document's language
        from cpcm.domain.durations import parse_duration

        try:
            duration = parse_duration(out["value"])
        except ValueError:
            duration = None
        if duration is not None and not duration.minutes % 1440:
            out.update(kind="duration", parts=_duration_parts(duration))
    if out["field"] in READINESS_WHY and isinstance(answer.get("value"), list):  # codes: the template words them
        out.update(kind="readiness_why", value=[_readiness_why(v) for v in answer["value"]])
    previous = answer.get("previous")
    out["previous"] = dict(_value(previous), field=out["field"], label=out["label"], words=out["words"]) if previous is not None else None
    out["changed"] = "previous" in answer and out["field"] != "reason"
    return out


def choice_words(labels: Mapping[str, Mapping[str, Mapping[str, str]]], codes: Mapping[str, Mapping[str, str]],
                 field_lists: Mapping[str, str], lang: str) -> dict[str, dict[str, str]]:
    """{field: {value: words}} for the fields of a form whose list the form names in words
    (`labels`: its choice_labels, {list: {value: {lang: text}}}): the label in `lang` (else
    English), with the national code in brackets where the form has one (`codes`: {list: {value:
    code}}, the CPIMS code of a case category)."""
    out: dict[str, dict[str, str]] = {}
    for field, list_name in field_lists.items():
        named = labels.get(list_name) or {}
        if not named:
            continue
        coded = codes.get(list_name) or {}
        out[field] = {str(value): (str(text.get(lang) or text.get("en") or value)
                                   + (f" ({coded[value]})" if coded.get(value) else ""))
                      for value, text in named.items() if isinstance(text, Mapping)}
    return out


def _shown(kind: str, answer: Mapping[str, Any]) -> bool:
    """Whether a case file prints an answer: not an empty one (an update's removed value is a
    change, and is printed), nor an assessment's type (its heading says it)."""
    if kind == "assessment" and answer.get("field") == "type":
        return False
    value = answer.get("value")
    empty = value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, (list, dict)) and not value)
    return "previous" in answer or not empty


def _grouped(answers: list[dict], prefix: str = "") -> list[dict]:
    """A record's answers with each field of a group that its form does not label (a field kept
    in a mapping: the agency a case came from, `from_agency.code`; the transfer form's
    `details.reason`; the readiness a closure keeps) under its group's heading, as `cpcm show CASE
    RECORD` names it by its path: two fields named alike in two groups ("code", "reason") are told
    apart. A group is an answer of kind `group` (`field`: its path, `value`: its answers in order,
    a group in a group the same way); labelled answers stay where they are."""
    out: list[dict] = []
    for answer in answers:
        head, nested, _ = answer["field"][len(prefix):].partition(".")
        if answer["label"] or not nested:
            out.append(answer)
            continue
        path = prefix + head
        if out and out[-1]["kind"] == "group" and out[-1]["field"] == path:
            out[-1]["value"].append(answer)
        else:
            out.append({"field": path, "label": None, "kind": "group", "value": [answer], "words": None, "previous": None,
                        "changed": False})
    return [dict(a, value=_grouped(a["value"], a["field"] + ".")) if a["kind"] == "group" else a for a in out]


def _when(at: str, zone: tzinfo | None = None) -> dict:
    """A stored time for a document: its day and its clock time in the agency's `zone` (without a
    zone, as the worker wrote it, in the zone it was written in)."""
    text = _text(at)
    if text and zone is not None and len(text) > 10:
        try:
            text = local(text, zone).isoformat(timespec="minutes")
        except ValueError:
            pass  # not a time: as written
    return {"date": text[:10] or None, "time": text[11:16] or None}


# a record written this long or longer after (or before) the time it is dated at: the case file says when it was
# recorded and by whom, as `cpcm show` and `cpcm log` say it (`recorded`), so that a correction (which keeps the
# time of what it corrects) or a record entered late from paper is not read as written on the day it is dated
RECORDED_APART = timedelta(days=1)


def _recorded(at: str, recorded_at: str | None, zone: tzinfo | None = None) -> dict | None:
    """When a record was written (`_when`, in the agency's `zone`, else on the clock of its own `at`, so that the two
    read alike), where that is a day or more apart from the time it is dated at (RECORDED_APART); else None: its `at`
    says it."""
    try:
        moment, written = _moment(at), _moment(recorded_at or "")
        if abs(written - moment) < RECORDED_APART:
            return None
        return _when(written.astimezone(zone or moment.tzinfo).isoformat())
    except (TypeError, ValueError):  # a time without its offset, or none: nothing to tell apart
        return None


# the records the case file (and `cpcm show`) marks when they came before the case's latest reopening
EPISODE_MARKED = ("assessment", "consent", "consent_override", "referral", "review")


def case_file_view(case: Case, entries: Iterable[Mapping[str, Any]], lang: str, *, today: date,
                   names: Mapping[str, str] | None = None, services: Mapping[str, str] | None = None,
                   agency: Mapping[str, str] | None = None, next_review: str | None = None,
                   choices: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
                   siblings: Iterable[Mapping[str, Any]] = (), keyworker: Mapping[str, Any] | None = None,
                   overridden: Mapping[str, tuple[str, str | None]] | None = None, zone: tzinfo | None = None) -> dict:
    """The whole case file, as a supervisor reviews it or a court asks for it: the child as the
    case now stands, then every record (corrected and repaired ones too) in order of `at` (the
    order written where two have the same time), each with every answer and its question's label
    in the document's language (the fields of a group its form does not label under the group's
    name, as `cpcm show` names them by their path: `_grouped`).

    `entries`: each record's readable form, as `cpcm show CASE RECORD --json` gives it
    (service.cases.record_view: kind, what, at, by, supersedes, superseded_by, answers...).
    `choices`: {form: {field: {value: words}}} (choice_words) for the choices a form names in
    words, printed in words instead of their codes.
    `siblings`: the case's sibling group as `cpcm show` gives it (service.cases.sibling_group):
    each brother's or sister's case by its ID only, those linked through another sibling too.
    `keyworker`: the case's keyworker now (workflow/keyworker.py `current`; `keyworker_facts`).
    `overridden`: each consent refused or not possible that a supervisor's override stands in for, as
    `cpcm show` lists them (consent record id -> (the override's record id, who recorded it)).
    `zone`: the agency's time zone, each record's day and time are given in (`_when`).
    """
    names, services, choices, overridden = names or {}, services or {}, choices or {}, overridden or {}
    rows = sorted(entries, key=lambda e: (_moment(e["at"]), e["record_id"]))
    at_of = {e["record_id"]: e["at"] for e in rows}
    plan_ids = [e["record_id"] for e in rows if e["kind"] == "plan" and not e.get("supersedes")]
    plan_ids = sorted(plan_ids)  # versions count in the order written, as the fold counts them
    versions = {record_id: n for n, record_id in enumerate(plan_ids, start=1)}
    for e in sorted(rows, key=lambda e: e["record_id"]):  # a correction keeps the number of what it corrects
        if e["kind"] == "plan" and e.get("supersedes"):
            versions[e["record_id"]] = versions.get(e["supersedes"])
    referral_refs = {e["record_id"]: e.get("ref") for e in rows if e["kind"] == "referral"}
    # a summary a record keeps of another (a closure's sign-offs): its choices in the words that record's form gives them
    nested = {field: words for form in choices.values() for field, words in (form or {}).items()}
    records = []
    for number, e in enumerate(rows, start=1):
        fields = e.get("fields") or {}
        referral = fields.get("referral") if e["kind"] == "referral_update" else None
        records.append({
            "number": number,
            "record_id": e["record_id"],
            "kind": e["kind"],
            "type": _text(fields.get("type")) or None if e["kind"] == "assessment" else None,
            "what": e.get("what") or "",
            "at": _when(e["at"], zone),
            "recorded_at": _when(e.get("recorded_at") or "", zone),
            # written a day or more apart from `at` (a correction, a record entered late): when, else None
            "recorded": _recorded(e["at"], e.get("recorded_at"), zone),
            "by": _person(e.get("by"), names),
            "version": versions.get(e["record_id"]) if e["kind"] == "plan" else None,
            "ref": e.get("ref") or (referral_refs.get(str(referral)) if referral else None),
            "service": services.get(_text(fields.get("service"))) or _text(fields.get("service")) or None,
            # the other end of a correction may not be in this copy (the child's own file leaves records out): then unnamed
            "supersedes": {"record_id": e["supersedes"], "at": _when(at_of.get(e["supersedes"], ""), zone),
                           "shown": e["supersedes"] in at_of} if e.get("supersedes") else None,
            "correction_reason": _text(e.get("correction_reason")) or None,
            "superseded_by": e.get("superseded_by") or None,
            "superseded_by_shown": e.get("superseded_by") in at_of,
            # a consent refused or not possible: the supervisor's override that stands in for it, and who recorded it
            "overridden_by": {"record_id": overridden[e["record_id"]][0], "by": _person(overridden[e["record_id"]][1], names),
                              "shown": overridden[e["record_id"]][0] in at_of}
            if e["kind"] == "consent" and e["record_id"] in overridden else None,
            # an assessment, consent, referral or review of the episode before the latest reopening, as `cpcm show` marks it
            "before_reopening": e["kind"] in EPISODE_MARKED and deadlines.before_reopening(case, e["at"]),
            "answers": _grouped([_answer(a, (choices.get(e.get("form") or "") or {}).get(str(a.get("field") or "")), nested)
                                 for a in e.get("answers") or [] if _shown(e["kind"], a)]),
            # a household graduation record (the CPARA) scored: the benchmarks achieved, the band, those not achieved
            "graduation": _graduation(e.get("graduation")),
            # a Child Status Index: its ratings, those rated 1 or 2 (needs attention), the change since the one before
            "csi": e.get("csi"),
        })
    registration = case.registration or {}
    lives = placements.lives_now(case)  # where the child lives now: the latest placement's, since the registration
    who = placements.lives_with_now(case)  # who the child lives with now (a code of a fixed list), as `cpcm show` says
    # the day of the latest reopening (the fold's), as its record has it
    reopened_on = next((r["at"]["date"] for r in reversed(records) if r["kind"] == "reopen" and not r["superseded_by"]
                        and case.reopened and utc(at_of[r["record_id"]]) == case.reopened), None)
    return {
        "lang": lang,
        "today": today.isoformat(),
        "agency": dict(agency or {}),
        "case": dict(_case_facts(case, today, names, zone), reopened_on=reopened_on, location=lives["location"] or None,
                     caregiver=lives["caregiver"] or None, lives_with=who["value"] or None, closed=case.status == "closed",
                     keyworker=keyworker_facts(keyworker, names),
                     other_names=_text((registration.get("child") or {}).get("other_names")) or None),
        "next_review": next_review,
        "siblings": [{"case_id": str(m["case_id"]), "through": m.get("through")} for m in siblings],
        "counts": {"records": len(records), "corrected": len([r for r in records if r["superseded_by"]])},
        "records": records,
    }


def _graduation(scored: Mapping[str, Any] | None) -> dict | None:
    """What the case file says of a scored graduation record: the score, the band and the
    benchmarks not achieved (number and name, in the document's language)."""
    if not scored:
        return None
    return {"score": scored["score"], "maximum": scored["maximum"], "band": scored["band"], "band_label": scored["band_label"],
            "version": scored.get("version"),
            "not_achieved": [{"number": b["number"], "title": b["title"]} for b in scored.get("benchmarks") or ()
                             if not b.get("achieved")]}


def child_file_view(case: Case, entries: Iterable[Mapping[str, Any]], lang: str, *, today: date,
                    left_out: Mapping[str, Mapping[str, int]], given_to: str | None = None, **kwargs: Any) -> dict:
    """The child's own file (workflow/child_file.py): the case file of the records and answers
    kept for the child (`entries`, already screened), without the caregiver and the brothers'
    and sisters' cases the case file's head shows, and with the sections left out
    ({section: {"records": n, "fields": n}}), counted, never shown. `given_to`: None while the
    worker screens it (the document says it is a screening copy)."""
    view = case_file_view(case, entries, lang, today=today, siblings=(), **kwargs)
    view["case"]["caregiver"] = None
    view["left_out"] = [{"section": section, "records": n.get("records", 0), "fields": n.get("fields", 0)}
                        for section, n in left_out.items()]
    view["given_to"] = given_to
    return view


VIEWS = {
    "case-plan": case_plan_view,
    "child-plan": child_plan_view,
}

# Documents about the whole case file (not one plan version): view(case, records, policy, lang,
# today=, names=, services=, agency=); `records`: all of the case's records, as written (each view
# reads them as the fold applies them, fold.effective, and a correction where its first original was).
CASE_VIEWS = {
    "closure-report": closure_report_view,
    "transfer-summary": transfer_summary_view,
}

# The whole case file: built from every record's readable form (case_file_view); the child's
# own file, from the records kept for the child (child_file_view).
CASE_FILE = "case-file"
CHILD_FILE = "child-file"


def documents() -> Iterable[str]:
    """The documents a case can be rendered as (each needs its view builder here)."""
    return (*VIEWS, *CASE_VIEWS, "referral-letter", CASE_FILE, CHILD_FILE)


def referral_letter_view(case, referral, service: Mapping[str, Any] | None, lang: str, *, today: date,
                         names: Mapping[str, str], agency: Mapping[str, str], feedback_days: int,
                         signer: str | None = None, keyworker: Mapping[str, Any] | None = None,
                         zone: tzinfo | None = None) -> dict:
    """A referral letter: exactly the groups the policy let this referral carry (stored with the
    referral when it was made), the need and urgency, and who to answer. Nothing else of the
    case is put into the view, so nothing else can reach the letter. The child's details in
    those groups are the case's current ones (a `cpcm update` since the referral shows); the
    referral record keeps what was shared when it was made.

    The letter is `agency`'s, signed (`from`) by `signer`, the worker of that agency who renders
    it (default: who made the referral): a case received from another agency keeps referrals its
    worker made there, who is not of this agency.

    "Keyworker, and caseworker if different" (IAG Step 3): where a keyworker other than the
    caseworker was nominated (`keyworker`, workflow/keyworker.py `current`), the letter names both.
    Someone outside the team is named (with how to reach them) only where the referral shares how
    to reach the child (the `contact` group); else by who they are to the child alone."""
    from cpcm.workflow.referrals import shared_view

    body = referral.body
    shared = dict(body.get("shared") or {})
    groups = list(body.get("shared_groups") or [])
    now = shared_view(groups, case, shared.get("need") or "", shared.get("urgency") == "urgent", today)
    for group in ("identity", "contact", "medical", "schooling"):
        if group in shared and group in now:
            shared[group] = now[group]
    entry = next((r for r in case.referrals if r["record_id"] == referral.id), {})
    return {
        "lang": lang,
        "agency": dict(agency),
        "date": today.isoformat(),
        "case_id": case.id,
        "ref": entry.get("ref", ""),
        "sent_on": _day(referral.at, zone),  # in the agency's `zone`
        "to": {"id": body.get("service"), "provider": (service or {}).get("provider") or body.get("service"),
               "contact": (service or {}).get("contact"), "how_to_refer": (service or {}).get("how_to_refer")},
        "from": {"id": signer or referral.by, "name": names.get(signer or referral.by, signer or referral.by)},
        "groups": list(body.get("shared_groups") or []),
        "identity": shared.get("identity"),
        "contact": shared.get("contact"),
        "need": shared.get("need"),
        "urgency": shared.get("urgency"),
        "medical": shared.get("medical"),
        "schooling": shared.get("schooling"),
        "accompany": bool(body.get("accompany")),
        "feedback_days": feedback_days,
        "keyworker": _letter_keyworker(keyworker_facts(keyworker, names), "contact" in groups),
        "caseworker": _person(case.worker, names),
    }


def _letter_keyworker(facts: Mapping[str, Any] | None, contact_shared: bool) -> dict | None:
    """The keyworker a referral letter names: None where it is the caseworker (none nominated, or
    the caseworker nominated, or a colleague who has left the team since: no one's point of contact
    now); someone outside the team without their name and contact unless the referral shares how to
    reach the child."""
    if not facts or facts["is_caseworker"] or facts["off_team"]:
        return None
    if facts["outside"] and not contact_shared:
        return dict(facts, name=None, contact=None)
    return dict(facts)


# -- a case conference's documents (agenda, minutes, conference-report) ----------------------------------
def _digits(text: Any) -> str:
    return re.sub(r"\D", "", str(text or ""))


_PHONE = re.compile(r"\+?\d[\d\s().-]*\d")


def _phones(text: Any) -> list[str]:
    """The phone numbers written in a text, each as its digits (7 or more): a run of digits that
    spaces, dashes, dots or brackets may break, with or without a leading + ("Kondele 0712 345 678",
    "+254 (712) 345-678")."""
    return [d for d in (_digits(run) for run in _PHONE.findall(str(text or ""))) if len(d) >= 7]


def _tokens(text: Any) -> set[str]:
    return set(re.split(r"\W+", str(text or "").casefold())) - {""}


def might_be_family(attendee: Mapping[str, Any], names: Iterable[Any], contacts: Iterable[Any]) -> bool:
    """Whether `is_family` could find the entry a family member's of a case that registers `names`
    and `contacts`: a word of one of the names is a word of one of its fields (in any case), or it
    holds a phone number and the case a contact. Never False where `is_family` is True, each of
    whose tests needs one or the other: a quick first test, before the names' patterns are made,
    for an entry checked against every case (the confidentiality register)."""
    words = set().union(*(_tokens(attendee.get(k)) for k in ("name", "contact", "institution", "position")))
    if any(words & _tokens(name) for name in names):
        return True
    numbered = _digits(attendee.get("contact")) or any(_phones(attendee.get(k)) for k in ("name", "institution", "position"))
    return bool(numbered) and any(contacts)


def is_family(attendee: Mapping[str, Any], clients: Iterable[Mapping[str, Any]] = ()) -> bool:
    """Whether an attendance entry is a child's or family member's, not a professional's: recorded
    so (`role: family`), or its name or contact is one registered for a case of the conference
    (`clients`: {"names": [...], "contacts": [...], "people": [...]} per case): every word of the
    attendee's name is a word of one registered name, or a registered name is within it (an
    institution registered as a caregiver only so: conference_rules.same_name), or a registered
    phone (7 digits or more, by its last 9) is its contact or is written in its name, institution,
    position or contact (`_phones`); or its institution or position holds a registered
    name of a person as the minutes' check finds one (`people`, from workflow/conferences.name_patterns
    with the documents' common words, an institution registered as a caregiver left out: its staff
    are recorded under its name; without them, the names' patterns with none)."""
    if attendee.get("role") == "family":
        return True
    patterns = [p for client in clients for p in (
        client["people"] if "people" in client else conference_rules.name_patterns(
            [n for n in client.get("names") or () if not isinstance(n, conference_rules.WholeName)]))]
    if conference_rules.names_found({k: _text(attendee.get(k)) for k in ("institution", "position")}, {"": patterns}):
        return True  # recorded as a professional, but "Family of <child>", "<child>'s aunt": a client's name, as the minutes see one
    # a registered phone in any field, not only the contact: typed as the name, or in the institution
    # or position ("Kondele 0712 345 678"), it tells the family member as the contact does
    numbers = [_digits(attendee.get("contact")), *(n for k in ("name", "institution", "position", "contact")
                                                   for n in _phones(attendee.get(k)))]
    numbers = [n for n in numbers if len(n) >= 7]
    for client in clients:
        if any(conference_rules.same_name(attendee.get("name"), name) for name in client.get("names") or ()):
            return True
        for contact in client.get("contacts") or ():
            theirs = _digits(contact)
            if len(theirs) >= 7 and any(digits[-9:] in theirs or theirs[-9:] in digits for digits in numbers):
                return True
    return False


def _debrief(debrief: Mapping[str, Any], names: Mapping[str, str]) -> dict:
    """The agenda's debrief (item 3): the previous conference by ID, kind and day, and each of its
    actions by case ID with its responsible person by the name colleagues know (`_named`)."""
    previous = debrief.get("conference")
    return {
        "conference": {"id": previous["id"], "kind": previous.get("kind"), "date": _text(previous.get("date"))[:10]} if previous else None,
        "actions": [{"case": a["case_id"], "action": _text(a.get("action")), "responsible": _named(a.get("responsible"), names),
                     "due": _text(a.get("due"))[:10] or None, "action_id": a.get("action_id"), "carried": a.get("carried"),
                     "status": a["status"]} for a in debrief.get("actions") or []],
        "not_read": int(debrief.get("not_read") or 0),
    }


def _preparation(answers: Mapping[str, Any] | None, labels: Mapping[str, str]) -> list[dict]:
    """A nomination's Form 2 answers (conference-preparation) as [{key, label, answer}] in the
    form's order (`labels`), each answer a text: a list of steps as "step; responsible; timeline"
    lines. Empty answers are left out."""
    flat: dict[str, Any] = {}
    for section, values in (answers or {}).items():
        if isinstance(values, Mapping):
            for key, value in values.items():
                flat[f"{section}.{key}"] = value
        else:
            flat[str(section)] = values
    out = []
    for key in [*labels, *(k for k in flat if k not in labels)]:
        value = flat.get(key)
        if isinstance(value, list):
            text = "\n".join("; ".join(_text(v) for v in item.values() if _text(v)) if isinstance(item, Mapping) else _text(item)
                             for item in value)
        else:
            text = _text(value)
        if text:
            out.append({"key": key, "label": labels.get(key) or key, "answer": text})
    return out


def conference_view(conference: conference_rules.Conference, policy, lang: str, today: date, names: Mapping[str, str],
                    clients: Iterable[Mapping[str, Any]] = (), zone=None, risks: Mapping[str, str | None] | None = None,
                    workers: Mapping[str, str | None] | None = None, debrief: Mapping[str, Any] | None = None,
                    facts: Mapping[str, Mapping[str, Any]] | None = None, roles: Mapping[str, Iterable[str]] | None = None,
                    preparation_labels: Mapping[str, str] | None = None) -> dict:
    """The plain data the meeting documents are rendered from. Cases appear by ID only: there
    is no field for a child's name at all. `risks`: each case's risk as it stood at the meeting
    (`conferences.meeting_end`); a case not in it shows the risk its nomination recorded.
    `workers`: each case's worker as it stood at the meeting, who presents it (a case handed
    over since its nomination: its new worker); a case not in it shows its nomination's. The attendance register lists professionals (Form 6):
    a child or family member present (recorded with `role: family`, or whose name or phone is
    one registered for a case: `clients`, see `is_family`) is counted, never named. `debrief`: the
    previous conference's action points with their status now (service `conferences.debrief`), for
    the agenda's item 3; by case ID, never a name. `facts`: Form 8 Part I for each case you can
    read (service `conferences.form8_facts`: location, sex, age band, care arrangement,
    vulnerabilities, the plan's actions with their status; no name, no birth date); a case not
    in it has them blank. `roles`: each team member's roles, the chair's title.
    `preparation_labels`: the Form 2 prompts' words by their keys (`background.p01_referral`), for
    each case's Form 2 answers given with its nomination (`preparation`), in the form's order."""
    clients = list(clients)
    family = [a for a in conference.attendees if is_family(a, clients)]
    minutes = conference.minutes or {}
    by_case = {e["case"]: e for e in minutes.get("cases") or []}
    cases, actions = [], []
    for nomination in conference.cases:
        case_id = nomination["case_id"]
        entry = by_case.get(case_id) or {}
        case_actions = [{"case": case_id, "need": _text(a.get("need")), "action": _text(a.get("action")),
                         "responsible": _named(a.get("responsible"), names),
                         "timeline": _text(a.get("timeline"))[:10],
                         "resources": _text(a.get("resources")) or None, "summary": _text(entry.get("summary")) or None}
                        for a in entry.get("actions") or []]
        actions += case_actions
        cases.append({
            "id": case_id, "reason": nomination.get("reason"), "presentation": _text(nomination.get("presentation")) or None,
            "worker": _person(workers[case_id] if workers and workers.get(case_id) else nomination.get("worker"), names), "opened": nomination.get("opened"),
            "risk": risks[case_id] if risks and case_id in risks else nomination.get("risk"),
            "stage": nomination.get("stage"), "summary": _text(entry.get("summary")) or None,
            "discussion": _text(entry.get("discussion")) or None, "decisions": [_text(d) for d in entry.get("decisions") or []],
            "actions": case_actions, "minuted": bool(entry),
            # the report's Part I table, "presentation and summary": what the caseworker presented, and the
            # minutes' summary of the case (both checked for names when written); Form 8's "progress and
            # actions to date" is the plan's actions with their status (`facts`)
            "progress": [t for t in (_text(nomination.get("presentation")), _text(entry.get("summary"))) if t],
            # Form 8: Part I's successes and challenges to date, Part II's bottlenecks (the minutes' optional fields)
            "successes": _text(entry.get("successes")) or None, "challenges": _text(entry.get("challenges")) or None,
            "bottlenecks": _text(entry.get("bottlenecks")) or None,
            "facts": dict((facts or {}).get(case_id) or {}) or None,
            "preparation": _preparation(nomination.get("preparation"), preparation_labels or {}),
        })
    start = conference_rules.start_of(conference, policy)
    day = conference_rules.meeting_day(conference)
    checklist = []
    for key, rule_key, _ in conference_rules.TIMELINE:
        days = conference_rules.days_before(policy, rule_key)
        given = conference.checklist.get(key)
        checklist.append({"item": key, "date": given, "days_before": days, "by": date.fromordinal(day.toordinal() - days).isoformat(),
                          "ok": bool(given) and (day - date.fromisoformat(str(given)[:10])).days >= days})
    low, high = int(policy.get(conference_rules.RULE, "participants_min", 5)), int(policy.get(conference_rules.RULE, "participants_max", 10))
    online = conference.virtual
    # held online (SOP §8.1): the platform, the record keeper (a team member by the name colleagues know), whether the
    # session is recorded and who holds the recording (cpcm keeps none), or why it is not
    virtual = {"platform": _text(online.get("platform")), "record_keeper": _named(online.get("record_keeper"), names),
               "recorded": online.get("recorded"), "recording_held_by": _named(online.get("recording_held_by"), names) or None,
               "not_recorded_reason": _text(online.get("not_recorded_reason")) or None} if online else None
    return {
        "lang": lang,
        "today": today.isoformat(),
        "conference": {
            "id": conference.id, "kind": conference.kind, "date": day.isoformat(), "start": start.strftime("%H:%M"),
            "venue": conference.venue or None, "chair": _person(conference.chair, names), "status": conference.status,
            # the chair's title (Forms 7 and 8): the team member's role, the highest held
            "chair_role": next((r for r in ("manager", "supervisor", "caseworker") if r in (roles or {}).get(conference.chair or "", ())),
                               None),
            "co_chair": dict(conference.co_chair) if conference.co_chair else None,
            "external_chair": dict(conference.external_chair) if conference.external_chair else None,
            "virtual": virtual,
            "closed_on": _day(conference.closed_at, zone),  # kept in UTC: its day in the agency's zone
            # Form 8 "report compiled": the first print after closing (a reprint keeps its day), else today
            "compiled_on": (datetime.fromisoformat(conference.report_compiled_at).astimezone(zone).date().isoformat()
                            if conference.report_compiled_at and zone else
                            (conference.report_compiled_at or today.isoformat())[:10]),
            # local to the agency's `zone`, with its offset: never UTC presented as local; the same
            # on every print of a closed conference's report (a reprint is the same document)
            "report_by": (conference_rules.report_by(conference, policy, zone).isoformat(timespec="minutes")
                          if conference.closed_at else None),
        },
        "checklist": checklist,
        "agenda": conference_rules.agenda(conference.kind or "external", start, conference.case_ids),
        "trend_months": conference_rules.TREND_MONTHS.get(conference.kind or "external", 2),
        "cases": cases,
        "actions": actions,
        "debrief": _debrief(debrief, names) if debrief is not None else None,
        "attendees": [{"institution": a.get("institution"), "name": a.get("name"), "position": a.get("position"),
                       "contact": a.get("contact"), "agreement": a.get("confidentiality_signed"), "present": bool(a.get("present"))}
                      for a in conference.attendees if not any(a is f for f in family)],
        "family_present": len([a for a in family if a.get("present")]),
        "participants": len(conference.present),
        "participants_range": {"min": low, "max": high, "ok": low <= len(conference.present) <= high},
        "case_limit": conference_rules.max_cases(policy, conference.kind or "external"),
        "minutes": {
            # the record keeper of a virtual conference takes the minutes unless the minutes name another
            "minute_taker": _named(minutes.get("minute_taker"), names) or (virtual or {}).get("record_keeper") or None,
            "reminder_given": minutes.get("reminder_given"),
            "key_issues": _text(minutes.get("key_issues")) or None,
            "service_gaps": _text(minutes.get("service_gaps")) or None,
            "cross_sectoral": _text(minutes.get("cross_sectoral")) or None,
            "referral_pathways": _text(minutes.get("referral_pathways")) or None,
            "next_meeting": _text(minutes.get("next_meeting"))[:10] or None,
        } if conference.minutes is not None else None,
    }
