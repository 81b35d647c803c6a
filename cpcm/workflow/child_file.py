"""The child's own file (`cpcm render child-file`): which parts of a case file are the child's
own and which are about other people, and what a worker must still screen by eye. Pure: it
takes the records' readable forms (service.cases.record_view) and returns what is kept, what is
left out by section, and which kept records hold free text.

Inter-agency guidelines, record keeping [L621-627]: the information belongs to the child; a
child may see their own file; access is handled sensitively, and the file is screened first so
that other people's confidential information is not disclosed. The decision, kind by kind and
field by field, is written down in docs/security.md ("The child's own file"); this module is it.

Free text (what a worker typed) can name anyone and cannot be screened by a program: every kept
record holding some is listed, by record ID and field, never by its words, so the worker reads
those parts before giving the file, and leaves out a record whole with --leave-out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

KIND = "child_file_release"  # the record that says the file was given (who screened it, to whom, what was left out)
GIVEN_TO = ("child", "young_person", "representative")

# The sections a left-out part is counted in (the release record keeps the counts, never the content).
SECTIONS = {
    "reporter": "who identified or reported the child",
    "alleged_perpetrator": "who is alleged to have harmed the child (the kenya registration's perpetrator codes)",
    "caregivers": "caregivers' and relatives' names, contacts, consents, statements and assessments",
    "siblings": "other children: brothers' and sisters' cases and other case links",
    "notes": "notes, which may name anyone",
    "providers": "service providers' feedback, and what was shared with them",
    "mandatory_reports": "mandatory-reporting decisions and the authorities' references",
    "conferences": "case conferences (minutes and links)",
    "other": "records that are not the child's own information (sync conflicts, repairs, kinds cpcm does not know)",
    "screened": "records the worker left out on screening (--leave-out)",
}

# Records left out whole, by kind: the section each counts in.
LEFT_OUT_KINDS = {
    "note": "notes",
    "tracing": "caregivers",
    "family_assessment": "caregivers",
    "graduation": "caregivers",  # the household's CPARA: the caregiver's HIV status, income and care among its answers
    "mandatory_report": "mandatory_reports",
    "conference": "conferences",
    "case_link": "siblings",
    "sync_conflict": "other",
    "repair": "other",
    "retention": "other",  # the agency's decision on keeping its record once the retention period ended (cpcm retention)
}

# Records kept (the child's own), less the fields below. A kind in neither list (an agency's own,
# a later cpcm's) is left out: a part not known to be the child's is not given.
KEPT_KINDS = (
    "registration", "update", "assignment", "cover", "assessment", "plan", "approval", "rejection", "withdrawal",
    "consent", "consent_override", "referral", "referral_update", "followup", "review", "readiness", "placement",
    "preparation", "sign_off", "closure", "reopen", "continuation", "sharing", "transfer_request", "transfer",
    "transfer_in", "transfer_ack", "keyworker", "csi", KIND,
)

_REGISTRATION = {"caregiver": "caregivers", "contact": "caregivers", "consent.caregiver": "caregivers",
                 "identified_by": "reporter", "perpetrator_status": "alleged_perpetrator",
                 "perpetrator_relationship": "alleged_perpetrator"}
# Fields left out of a kept record, by kind: a field path, or the path of a group of fields.
LEFT_OUT_FIELDS: dict[str, dict[str, str]] = {
    "registration": _REGISTRATION,
    "update": _REGISTRATION,  # an update changes registration fields: the same ones stay out
    "consent": {"caregiver_name": "caregivers", "caregiver_relationship": "caregivers"},
    "referral": {"shared": "providers"},  # what was sent to the provider holds the caregiver's contact
    "referral_update": {"feedback": "providers"},
    "followup": {"caregiver_feedback": "caregivers"},
    "placement": {"caregiver": "caregivers", "address": "caregivers", "contact": "caregivers",
                  "best_interests_override": "other"},  # a supervisor's reason to move the child first: the agency's
    "plan": {"best_interests_override": "other"},  # the same for a return home recorded by a plan
    "preparation": {"family_agrees": "caregivers"},
    "review": {"attended.family": "caregivers", "attended.others": "caregivers"},
    "closure": {"feedback.caregiver": "caregivers", "feedback.caregiver_given": "caregivers"},
    # a best-interests assessment's weighing of the family (ESARO P2 b); a comprehensive one's caregiving
    # capacity and family and environmental factors (ESARO Step 2 b, c)
    "assessment": {"family_situation": "caregivers", "caregiving": "caregivers", "environment": "caregivers"},
    # a Child Status Index rates the child's own wellbeing, kept; its household economic item rates the family's
    # means (the grids' free text is listed for the worker to read, as every kept record's)
    "csi": {"ratings.household_strengthening": "caregivers"},
}
# Rows of a kept record's list left out, by kind: (the list, the row's field, its value, the section): a Child
# Status Index's priorities and services for the household's economy are about the family's means, as its rating is
LEFT_OUT_ROWS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "csi": (("priorities", "domain", "household_economic", "caregivers"),
            ("services", "domain", "household_economic", "caregivers")),
}
# A field of any kept record, by the last part of its path.
LEFT_OUT_ANYWHERE = {"notes": "notes"}
# Free text that is the child's own by what it is (their names, their birth certificate's
# number): not listed for the worker to read.
OWN_TEXT = ("child.name", "child.other_names", "child.birth_certificate")

# A value that is a code, a date or an ID, not words a worker typed: lower-case words joined by
# '_' or '-', numbers, ISO dates and times, record and case IDs (upper-case letters and digits).
_CODE = re.compile(r"[a-z0-9_.:+\-]*|[A-Z0-9][A-Z0-9_.:+\-]*|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.+\-Z]*")


@dataclass(frozen=True)
class Screened:
    """What the child's file holds and leaves out: the kept records (each with its kept answers),
    the counts left out by section ({section: {"records": n, "fields": n}}), the records left out
    ([{record_id, kind, section}]), and the kept records holding free text ([{record_id, kind,
    fields: [label or field, ...]}])."""

    kept: list[dict] = field(default_factory=list)
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)
    left_out_records: list[dict] = field(default_factory=list)
    free_text: list[dict] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, int]]:
        """The counts by section, in the order of SECTIONS (what the release record keeps)."""
        return {s: dict(self.left_out[s]) for s in SECTIONS if s in self.left_out}


def record_section(entry: Mapping[str, Any]) -> str | None:
    """The section a whole record is left out under, or None when it is kept."""
    kind = str(entry.get("kind") or "")
    body = entry.get("fields") or {}
    if kind in LEFT_OUT_KINDS:
        return LEFT_OUT_KINDS[kind]
    if kind not in KEPT_KINDS:
        return "other"
    if kind == "consent" and body.get("given_by") != "child":  # a caregiver's consent: theirs
        return "caregivers"
    if kind in ("approval", "rejection", "withdrawal") and body.get("subject") == "mandatory_report":
        return "mandatory_reports"
    return None


def field_section(kind: str, path: str) -> str | None:
    """The section a field of a kept record is left out under, or None when it is kept."""
    for prefix, section in LEFT_OUT_FIELDS.get(kind, {}).items():
        if path == prefix or path.startswith(prefix + "."):
            return section
    return LEFT_OUT_ANYWHERE.get(path.rsplit(".", 1)[-1])


def is_free_text(value: Any) -> bool:
    """Whether a value holds words a worker typed (which may name someone), not only codes,
    dates, numbers and IDs."""
    if isinstance(value, str):
        return bool(value.strip()) and not _CODE.fullmatch(value.strip())
    if isinstance(value, Mapping):
        return any(is_free_text(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_free_text(v.get("value") if isinstance(v, Mapping) and "field" in v else v) for v in value)
    return False


def screen(entries: Iterable[Mapping[str, Any]], leave_out: Iterable[str] = ()) -> Screened:
    """The child's file from the records' readable forms: records and fields about other people
    left out (by the tables above), and the records the worker chose to leave out (`leave_out`,
    record IDs); each kept record that still holds free text is listed for the worker to read."""
    chosen = set(leave_out)
    result = Screened()
    for entry in entries:
        kind = str(entry.get("kind") or "")
        section = "screened" if entry.get("record_id") in chosen else record_section(entry)
        if section:
            result.left_out.setdefault(section, {"records": 0, "fields": 0})["records"] += 1
            result.left_out_records.append({"record_id": entry.get("record_id"), "kind": kind, "section": section})
            continue
        answers = []
        for answer in entry.get("answers") or []:
            section = field_section(kind, str(answer.get("field") or ""))
            if section:
                result.left_out.setdefault(section, {"records": 0, "fields": 0})["fields"] += 1
                continue
            answer = _rows_kept(kind, answer, result)
            if answer is not None:
                answers.append(answer)
        kept = dict(entry, answers=answers)
        if isinstance(entry.get("csi"), Mapping):  # the ratings shown beside the answers: the same items left out
            kept["csi"] = _csi_kept(kind, entry["csi"])
        typed = [str(a.get("label") or a.get("field")) for a in answers if a.get("field") not in OWN_TEXT and _typed(a)]
        if is_free_text(entry.get("correction_reason")):
            typed.append("correction reason")
        if typed:
            result.free_text.append({"record_id": entry.get("record_id"), "kind": kind, "fields": typed})
        result.kept.append(kept)
    return result


def _rows_kept(kind: str, answer: Mapping[str, Any], result: Screened) -> Mapping[str, Any] | None:
    """A list answer without its rows about other people (LEFT_OUT_ROWS), each counted as a field
    left out; None when no row is left; any other answer as it is."""
    rules = [r for r in LEFT_OUT_ROWS.get(kind, ()) if r[0] == answer.get("field")]
    rows = answer.get("value")
    if not rules or not isinstance(rows, list):
        return answer
    kept = []
    for row in rows:
        values = {str(sub.get("field")): sub.get("value") for sub in row if isinstance(sub, Mapping)} if isinstance(row, list) else {}
        section = next((r[3] for r in rules if values.get(r[1]) == r[2]), None)
        if section:
            result.left_out.setdefault(section, {"records": 0, "fields": 0})["fields"] += 1
        else:
            kept.append(row)
    return dict(answer, value=kept) if kept else None


def _csi_kept(kind: str, summary: Mapping[str, Any]) -> dict:
    """A Child Status Index's ratings, needs attention and changes without the items left out."""
    def keep(rows: Any) -> Any:
        if rows is None:
            return None
        return [r for r in rows if not field_section(kind, f"ratings.{r.get('key')}")]

    return {**summary, "ratings": keep(summary.get("ratings")), "needs_attention": keep(summary.get("needs_attention")),
            "changes": keep(summary.get("changes"))}


def _typed(answer: Mapping[str, Any]) -> bool:
    """Whether an answer holds free text: as its form says (`typed`, set from the field's type:
    text, longtext or a list of texts, in a repeat too), or, for a field no form describes, as its
    value reads (`is_free_text`). An update's value before counts too."""
    if "typed" in answer:
        return bool(answer["typed"])
    return is_free_text(answer.get("value")) or is_free_text(answer.get("previous"))
