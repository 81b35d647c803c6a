"""View models: the plain dictionaries templates are given, built from a case and its records.

Pure functions (no files, no clock: `today` is an argument). Every key a template may use is
always present (None, "" or [] when there is nothing), because templates run with
`StrictUndefined`: a template asks `{% if plan.notes %}`, never whether the key exists.
Codes stay codes (`who: child`, `term: short`); the wording is the template's, per language.

Must not import: service, store, crypto, cli.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.domain.records import Record

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


def first_name(name: str | None) -> str | None:
    """The first word of a known name (a child's plan uses no more)."""
    words = _text(name).split()
    return words[0] if words else None


# -- the plan's approval --------------------------------------------------------------------------
def approval_view(case: Case, plan_record: Record, names: Mapping[str, str] | None = None,
                  approval_required: bool = True) -> dict:
    """Whether this plan version is in force: approved, in force without approval (where the
    policy needs none), waiting for a supervisor, returned (rejected), or superseded by a later
    version."""
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
    return {
        "state": state,
        "in_force": state in ("approved", "in_force"),
        "required": bool(approval_required),
        "decided_on": decided_on[:10] if decided_on else None,
        "decided_by": decided_by,
    }


# -- the worker's copy ------------------------------------------------------------------------------
def _action(raw: Mapping[str, Any], number: int) -> dict:
    return {
        "number": number,
        "what": _text(raw.get("what")),
        "who": _text(raw.get("who")) or "other",
        "who_detail": _text(raw.get("who_detail")) or None,
        "by": _text(raw.get("by"))[:10] or None,
        "mode": _text(raw.get("mode")) or None,
        "goal": _text(raw.get("goal")) or None,
        "child_words": _text(raw.get("child_words")) or None,
    }


def _age(case: Case, on: date) -> dict:
    dob = case.child.get("date_of_birth")
    return {
        "years": case.age_on(on),
        "date_of_birth": str(dob)[:10] if dob else None,
        "estimated": not dob and case.child.get("age_estimate") is not None,
    }


def case_plan_view(case: Case, plan_record: Record, lang: str, *, today: date | None = None,
                   names: Mapping[str, str] | None = None, approval_required: bool = True) -> dict:
    """The worker's copy of a case plan version: who the child is, the plan's version, reason
    and approval, its goals each with its actions, review date, closure criteria, contingency and
    who took part.

    `today`: the date ages are given on and the document is dated (default: the plan's date);
    `names`: worker id -> display name; `approval_required`: the policy's plan_approval.required.
    """
    names = names or {}
    body = plan_record.body
    today = today or date.fromisoformat(plan_record.at[:10])
    actions = [_action(a, n) for n, a in enumerate(body.get("actions") or [], start=1)]
    goals = []
    for index, raw in enumerate(body.get("goals") or [], start=1):
        goal_id = _text(raw.get("id")) or f"G{index}"
        goals.append({
            "id": goal_id,
            "term": _text(raw.get("term")) or None,
            "goal": _text(raw.get("goal")),
            "need": _text(raw.get("need")) or None,
            "child_words": _text(raw.get("child_words")) or None,
            "actions": [a for a in actions if a["goal"] == goal_id],
        })
    goal_ids = {g["id"] for g in goals}
    participants = body.get("participants") or {}
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
            "worker": _person(case.worker, names),
        },
        "plan": {
            "version": _version_of(case, plan_record),
            "reason": _text(body.get("reason")) or None,
            "interim": bool(body.get("interim")),
            "written_on": plan_record.at[:10],
            "written_by": _person(plan_record.by, names),
            "permanency_goal": _text(body.get("permanency_goal")) or None,
            "review_date": _text(body.get("review_date"))[:10] or None,
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
        "approval": approval_view(case, plan_record, names, approval_required),
        "goals": goals,
        "other_actions": [a for a in actions if a["goal"] not in goal_ids],
        "actions": actions,
    }


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


def child_plan_view(case: Case, plan_record: Record, lang: str, *, today: date | None = None,
                    names: Mapping[str, str] | None = None, approval_required: bool = True) -> dict:
    """The child's copy: first name only, what the child will do (actions for `child`), who will
    help (the other actions), when we meet again, and what to do if something goes wrong.

    The child's words (`child_words`) are used wherever the worker gave them. For what to do if
    something goes wrong: a `contingency_child_words` field when the plan form has one, else the
    contingency's short sentences without jargon, and any telephone numbers it gives.
    """
    names = names or {}
    worker = case_plan_view(case, plan_record, lang, today=today, names=names, approval_required=approval_required)
    body = plan_record.body
    plan = worker["plan"]

    def words(item: Mapping[str, Any], plain_key: str) -> str:
        return item.get("child_words") or item[plain_key]

    you_will, helpers = [], []
    for action in worker["actions"]:
        if action["who"] == "child":
            you_will.append({"words": words(action, "what"), "by": action["by"]})
        else:
            helpers.append({
                "who": action["who"],
                # a worker id or a service's formal name means little to a child: their own
                # worker is "your social worker", in the template's words
                "helper": None if action["who"] == "caseworker" else action["who_detail"],
                "words": words(action, "what"),
                "by": action["by"],
                "asked": action["mode"] == "referral",
            })
    given = _text(body.get("contingency_child_words"))
    contingency = plan["contingency"] or ""
    if given:
        sentences, from_plan = [given], True
    else:
        sentences = simple_sentences(contingency)
        from_plan = False
    kept = " ".join(sentences)
    phones = [p for p in phone_numbers(contingency) if p not in kept]
    approval = worker["approval"]
    review = plan["review_date"] or (case.next_review[:10] if case.next_review else None)
    return {
        "lang": lang,
        "today": worker["today"],
        "first_name": first_name(case.child.get("name")),
        "worker_name": (worker["case"]["worker"] or {}).get("name"),
        "took_part": plan["participants"]["child"] is True,
        "goals": [{"words": words(g, "goal")} for g in worker["goals"] if words(g, "goal")],
        "you_will": you_will,
        "helpers": helpers,
        "next_meeting": review,
        "if_wrong": {
            "sentences": sentences,
            "in_child_words": from_plan,
            "phones": phones,
        },
        "in_force": approval["in_force"],
        "state": approval["state"],
    }


VIEWS = {
    "case-plan": case_plan_view,
    "child-plan": child_plan_view,
}


def documents() -> Iterable[str]:
    """The documents a case can be rendered as (each needs its view builder here)."""
    return tuple(VIEWS)
