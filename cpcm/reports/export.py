"""Case data for the agency's own analysis or a national system (`cpcm export`): one row per
case from the folded case, and the mapping to Primero's case export columns
(docs/primero-mapping.md). Pure: the CLI reads the cases, checks consent and writes the file.

Identifying fields (the child's names and date of birth, where the child lives, the
caregiver, how to reach them) leave the agency only for cases with valid consent for
sharing with the receiving agency; the CLI checks that.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

from cpcm.domain.case import Case
from cpcm.reports.common import age_band, moment
from cpcm.workflow.placements import lives_now

LIST_SEPARATOR = ";"


def _date(value: str | None, now: datetime) -> str | None:
    """The date of a stored time in the zone of `now` (the agency's)."""
    return moment(value).astimezone(now.tzinfo).date().isoformat() if value else None


def _last(case: Case, event: str, now: datetime) -> str | None:
    return _date(case.last(event), now)


FIELDS: dict[str, tuple[Callable[[Case, datetime], Any], bool, str]] = {
    # name: (value, identifying, what it is)
    "case_id": (lambda c, now: c.id, False, "the case ID (random; not derived from the child)"),
    "status": (lambda c, now: c.status, False, "open, closed or transferred"),
    "stage": (lambda c, now: c.stage, False, "the step of the case-management process"),
    "risk": (lambda c, now: c.risk, False, "current risk level"),
    "worker": (lambda c, now: c.worker, False, "assigned worker id"),
    "registered_at": (lambda c, now: _date(c.registered_at, now), False, "registration date"),
    "sex": (lambda c, now: c.child.get("sex"), False, "female, male, other or unknown"),
    "age": (lambda c, now: c.age_on(now.date()), False, "age in years today"),
    "age_band": (lambda c, now: age_band(c.age_on(now.date())), False, "0-4, 5-9, 10-14, 15-17, 18+ or unknown"),
    "age_estimated": (lambda c, now: (not c.child.get("date_of_birth")) and c.child.get("age_estimate") is not None, False,
                      "true when the age comes from an estimate, not a date of birth"),
    "disability": (lambda c, now: c.child.get("disability"), False, "yes, no or unknown"),
    "concerns": (lambda c, now: list(c.concerns), False, "protection concerns at registration"),
    "closure_reason": (lambda c, now: (c.closure or {}).get("reason") if c.status == "closed" else None, False,
                       "why the case was closed"),
    "closed_at": (lambda c, now: _last(c, "closed", now) if c.status == "closed" else None, False, "closure date"),
    "reopened": (lambda c, now: len(c.events.get("reopen", ())), False, "how many times the case was reopened"),
    "transferred_at": (lambda c, now: _last(c, "transfer", now) if c.status == "transferred" else None, False,
                       "date of the transfer to another agency"),
    "plan_version": (lambda c, now: (c.plan or {}).get("version"), False, "latest case plan version"),
    "plan_at": (lambda c, now: _date((c.plan or {}).get("at"), now), False, "date of the latest case plan"),
    "plan_approved_at": (lambda c, now: _date((c.plan or {}).get("approved_at"), now), False, "date it was approved"),
    "referrals": (lambda c, now: len(c.referrals), False, "number of referrals made"),
    "last_activity": (lambda c, now: _date(c.last_at, now), False, "date of the latest record"),
    "name": (lambda c, now: c.child.get("name"), True, "the child's name"),
    "other_names": (lambda c, now: c.child.get("other_names"), True, "other names or nickname"),
    "date_of_birth": (lambda c, now: c.child.get("date_of_birth"), True, "date of birth, when known"),
    # where and with whom the child lives now: the latest placement's, as `cpcm show` and the case file say
    "location": (lambda c, now: lives_now(c)["location"], True, "where the child lives now"),
    "caregiver_name": (lambda c, now: lives_now(c)["caregiver"], True, "the main caregiver's name (the one the child lives with now)"),
    "contact": (lambda c, now: lives_now(c)["contact"], True, "how to reach the child or caregiver now"),
    # the Case Record Sheet's case history (the kenya registration): codes, but about the event and another person, so
    # given only when asked for, with consent to share as for the fields above
    "event_date": (lambda c, now: str((c.registration or {}).get("event_date") or "")[:10] or None, True,
                   "the date of the event (kenya registration)"),
    "event_place": (lambda c, now: (c.registration or {}).get("event_place"), True, "where the event happened, a code (kenya registration)"),
    "case_nature": (lambda c, now: (c.registration or {}).get("case_nature"), True,
                    "chronic_ongoing, one_off or emergency (kenya registration)"),
    "perpetrator_status": (lambda c, now: (c.registration or {}).get("perpetrator_status"), True,
                           "whether the alleged perpetrator is known, a code (kenya registration)"),
    "perpetrator_relationship": (lambda c, now: (c.registration or {}).get("perpetrator_relationship"), True,
                                 "the alleged perpetrator's relationship to the child, a code (kenya registration)"),
}
IDENTIFYING = tuple(name for name, (_, identifying, _) in FIELDS.items() if identifying)
DEFAULT_FIELDS = tuple(name for name in FIELDS if name not in IDENTIFYING)

# cpcm field -> Primero (CPIMS+) case field (peers.md §1.2-1.3); cpcm_* where Primero has none
PRIMERO_COLUMNS: dict[str, str] = {
    "case_id": "case_id_display",
    "status": "status",
    "stage": "cpcm_stage",
    "risk": "risk_level",
    "worker": "owned_by",
    "registered_at": "registration_date",
    "sex": "sex",
    "age": "age",
    "age_band": "cpcm_age_band",
    "age_estimated": "estimated",
    "disability": "cpcm_disability",
    "concerns": "protection_concerns",
    "closure_reason": "closure_reason",
    "closed_at": "date_closure",
    "reopened": "case_status_reopened",
    "transferred_at": "cpcm_transferred_at",
    "plan_version": "cpcm_plan_version",
    "plan_at": "date_case_plan",
    "plan_approved_at": "case_plan_approved_date",
    "referrals": "cpcm_referrals",
    "last_activity": "cpcm_last_activity",
    "name": "name",
    "other_names": "name_other",
    "date_of_birth": "date_of_birth",
    "location": "address_current",
    "caregiver_name": "name_caregiver",
    "contact": "telephone_current",
    "event_date": "cpcm_event_date",
    "event_place": "cpcm_event_place",
    "case_nature": "cpcm_case_nature",
    "perpetrator_status": "cpcm_perpetrator_status",
    "perpetrator_relationship": "cpcm_perpetrator_relationship",
}
PRIMERO_FIELDS = tuple(PRIMERO_COLUMNS)
# Primero's risk lookup is high/medium/low; 'immediate' becomes high plus the urgent flag
PRIMERO_RISK = {"immediate": "high", "high": "high", "medium": "medium", "low": "low"}
# the protection concerns whose Primero value is known (peers.md §1.3); the others keep cpcm's code
PRIMERO_CONCERNS = {"trafficking": "trafficked_smuggled", "associated_with_armed_groups": "caafag",
                    "street_connected": "street_child", "child_headed_household": "child_headed_household",
                    "physical_abuse": "physically_or_mentally_abused", "emotional_abuse": "physically_or_mentally_abused"}


def parse_fields(text: str | None, primero: bool = False) -> list[str]:
    """The fields asked for ('a,b,c'; 'all'; default: every non-identifying field, or with
    `primero` every field Primero has a column for); ValueError naming an unknown one."""
    if not text:
        return list(PRIMERO_FIELDS if primero else DEFAULT_FIELDS)
    wanted = [f.strip() for f in text.split(",") if f.strip()]
    if wanted == ["all"]:
        return list(FIELDS)
    unknown = [number for number, f in enumerate(wanted, start=1) if f not in FIELDS]
    if unknown:  # the position, not the text: what was typed is never echoed
        raise ValueError(f"field {unknown[0]} of {len(wanted)} is not a field; fields: {', '.join(FIELDS)}")
    return list(dict.fromkeys(wanted))


def row(case: Case, fields: Iterable[str], now: datetime) -> dict[str, Any]:
    return {name: FIELDS[name][0](case, now) for name in fields}


def primero_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row with Primero's column names and, where they differ, its values."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        column = PRIMERO_COLUMNS[name]
        if name == "risk":
            out[column] = PRIMERO_RISK.get(value, value) if value else value
            out["urgent_protection_concern"] = value == "immediate"
        elif name == "concerns":
            out[column] = list(dict.fromkeys(PRIMERO_CONCERNS.get(c, c) for c in value or ()))
        elif name == "reopened":
            out[column] = bool(value)
        else:
            out[column] = value
    return out


def csv_value(value: Any) -> str:
    """A cell: lists joined with ';', booleans as true/false, nothing as empty; text that a
    spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        value = LIST_SEPARATOR.join(str(v) for v in value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- CPIMS (Kenya's Child Protection Information Management System) ------------------------------
# cpcm's values as the codes of the DCS CPIMS lists (kenya-forms-facts §1, §4.2-4.3, §5.2, §5.4;
# docs/cpims-mapping.md lists each). A value with no CPIMS code is exported empty, with cpcm's own
# value kept in a cpcm_ column, never guessed.
# The Case Record Sheet's case history a kenya registration records (registration-kenya's fields,
# each a list of its `codes`): the CPIMS column of each, written when the export names the field.
CPIMS_CASE_HISTORY = {"event_place": "event_place_id", "case_nature": "case_nature_id",
                      "perpetrator_status": "perpetrator_status_id", "perpetrator_relationship": "perpetrator_id"}
CPIMS_COLUMNS: dict[str, str] = {
    "case_id": "case_id", "sex": "sex_id", "risk": "risk_level_id", "concerns": "case_category_id",
    "closure_reason": "case_closure_reason", "registered_at": "date_of_registration", "closed_at": "date_of_closure",
    "event_date": "date_of_event", **CPIMS_CASE_HISTORY,
}
CPIMS_SEX = {"female": "SFEM", "male": "SMAL"}  # list sex_id; 'other' and 'unknown' have no code (SINT is intersex)
CPIMS_RISK = {"low": "RLLW", "medium": "RLMD", "high": "RLHG", "immediate": "RLHG"}  # risk_level_id has no 'immediate'
# case_closure_reasons (Form 9A): every other reason (not_eligible, no_concerns, ...) is CCOTH, the list having no closer
# code and no free-text reason column; cpcm's reason goes beside it in cpcm_closure_reason (docs/cpims-mapping.md)
CPIMS_CLOSURE = {"goals_met": "CCCPA", "death": "CCDEA", "transferred": "CCCTR"}
CPIMS_CLOSURE_OTHER = "CCOTH"
CPIMS_CCI_EXITS = {"family_reintegration": "CEFR", "alternative_family_based_care": "CEFC", "community_based_care": "CECC"}
# cpcm's protection concerns -> case_category_id, where one category says the same thing; the
# national categories a kenya registration records (case_categories) are used first
CPIMS_CONCERNS = {
    "physical_abuse": "CSNG", "sexual_abuse": "CSRG", "emotional_abuse": "CCEA", "neglect": "CSIC", "abandonment": "CDIS",
    "separated_unaccompanied": "CHCP", "child_labour": "CTRF", "child_marriage": "CCCM", "female_genital_mutilation": "CSCS",
    "trafficking": "CSTC", "online_exploitation": "CCOA", "street_connected": "CCIP", "child_headed_household": "COSR",
    "out_of_school": "CSAD", "conflict_with_the_law": "CSAB", "custody_dispute": "CCCP",
}


def concerns_beside(concerns: Iterable[str], categories: Iterable[str], category_codes: Mapping[str, str]) -> list[str]:
    """The registration's `concerns` (each once, in their order) that none of its national case
    `categories` already says: a concern whose case category (`CPIMS_CONCERNS`) is the CPIMS code
    of a recorded category (`category_codes`: registration-kenya's `codes.case_category`) is the
    same category, given once by the national one (the concern neglect beside the category
    neglect, both CSIC)."""
    named = {category_codes[c] for c in categories if c in category_codes}
    return [c for c in dict.fromkeys(concerns) if CPIMS_CONCERNS.get(c) not in named]


def cpims_row(case: Case, values: Mapping[str, Any], category_codes: Mapping[str, str],
              form_codes: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """A row with CPIMS's column names and codes. `category_codes`: the national case
    categories' codes (registration-kenya's `codes.case_category`); `form_codes`: that form's
    codes of every list, for the case history fields the export names (`CPIMS_CASE_HISTORY`)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        column = CPIMS_COLUMNS.get(name, f"cpcm_{name}")
        if name == "sex":
            out[column] = CPIMS_SEX.get(value)
            out["cpcm_sex"] = value
        elif name == "risk":
            out[column] = CPIMS_RISK.get(value) if value else None
            out["case_nature_emergency"] = value == "immediate"
        elif name == "concerns":
            national = [category_codes[c] for c in case.registration.get("case_categories") or () if c in category_codes]
            mapped = [CPIMS_CONCERNS[c] for c in value or () if c in CPIMS_CONCERNS]
            out[column] = list(dict.fromkeys(national or mapped))
            out["cpcm_concerns"] = list(value or ())
        elif name in CPIMS_CASE_HISTORY:
            out[column] = (form_codes or {}).get(name, {}).get(str(value or "")) or None
        elif name == "closure_reason":
            out[column] = (CPIMS_CLOSURE.get(value, CPIMS_CLOSURE_OTHER) if value else None)
            out["cpcm_closure_reason"] = value
        else:
            out[column] = value
    exit_kind = next((p.get("cci_exit") for p in sorted(case.placements, key=lambda p: (p["at"], p["record_id"]), reverse=True)
                      if p.get("cci_exit")), None)
    out["cci_exit"] = CPIMS_CCI_EXITS.get(exit_kind) if exit_kind else None
    return out
