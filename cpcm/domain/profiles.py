"""Policy profiles: the guidelines' rules and numbers as data.

A profile (cpcm/policies/<name>.yaml) is a mapping of rules, each a block of values with the
`source` it comes from. A profile may `extends:` another; an agency overrides single values in
.cpcm/policy.yaml. This module is pure: it merges and validates mappings already loaded.
Types are inferred from the base profile (a duration stays a duration, a number a number), so
an override can only change a value, never invent a rule.
"""
from __future__ import annotations

import copy
import difflib
import re
from datetime import datetime, timezone
from typing import Any, Mapping

from cpcm.domain.durations import parse_duration
from cpcm.domain.forms import CODE_SAID, FIELD_NAME, is_code
from cpcm.domain.policy import Policy
from cpcm.domain.team import OVERSIGHT
from cpcm.errors import FieldError

PROFILES = ("inter-agency", "kenya")
META = ("source", "sources", "choice", "note")  # `sources`: a key's own source, where it has one (Policy.source)
ENUMS = {"caseload.over_cap": ("warn", "refuse"), "cadre_risk.over_max": ("warn", "refuse"),
         "consent_decision.at_sharing": ("warn", "refuse")}
# Keys an agency's override may still use under their old name: (rule, key) -> (rule, key).
# Each approval is one rule `<subject>_approval` with `required` and `self_approval`; the
# transfer's two switches used to sit in the `transfer` rule; the conference report's time, with
# its own source (Form 3 item 8), in the `conference` rule; who the child lives with at home, which the
# placements read too, in the `conference_readiness` rule.
RENAMED: dict[tuple[str, str], tuple[str, str]] = {
    ("transfer", "approval_required"): ("transfer_approval", "required"),
    ("transfer", "self_approval"): ("transfer_approval", "self_approval"),
    ("conference", "report"): ("conference_report", "limit"),
    ("conference_readiness", "at_home"): ("placement", "at_home"),
}
# Lists an agency may leave empty though the profile's names something: each purpose's steps of
# `consent.checked_at` (an empty list: that purpose's consent is checked at no step); the purposes
# of a home visit that is no monitoring visit (`placement_monitoring.not_counted`; empty: every one counts); who
# the child lives with at home (`placement.at_home`; empty: every child counts as apart from their family), and
# by setting otherwise (`placement.lives_with.SETTING`; empty: none means that setting).
MAY_BE_EMPTY = ("rules.consent.checked_at.", "rules.placement_monitoring.not_counted", "rules.placement.at_home",
                "rules.placement.lives_with.")
# The steps `consent.checked_at` may name, by purpose: assessment types (cpcm assess --type) and
# placement settings (the placement rule's groups of care types, workflow/placements.py).
ASSESSMENT_TYPES = ("initial", "comprehensive", "best_interests")
PLACEMENT_SETTINGS = ("family", "family_based", "community_based", "residential")
CONSENT_STEPS = {"assessment": ASSESSMENT_TYPES, "placement": PLACEMENT_SETTINGS, "reintegration": PLACEMENT_SETTINGS}
# what a consent records as explained (the consent form's `explained.ITEM`, cpcm consent --explained ITEM): the items
# `consent.explained` may ask for before a consent counts
CONSENT_EXPLAINED = ("information", "use", "sharing", "confidentiality_limits")
# what a follow-up was for (the follow-up form's `purpose_kind`, cpcm followup --purpose): the purposes
# `placement_monitoring.not_counted` may name as home visits that are no monitoring visit
# The checks a worker confirms before referring (ESARO S4; `cpcm refer --check`, the referral form's
# `checks`): what the policy's referral_checks.required may name.
REFERRAL_CHECKS = ("eligibility_known", "need_matched", "cost_distance_considered", "provider_told")
FOLLOWUP_PURPOSES = ("monitoring", "plan_action", "crisis", "pre_closure", "post_closure", "other")
# who the child lives with (the registration form's `lives_with`): the answers `placement.at_home` and
# `placement.lives_with` may list
LIVES_WITH = ("both_parents", "mother", "father", "relatives", "foster_family", "institution", "friends", "employer",
              "alone", "street", "nobody", "other")
# Lists of entries rather than of names: path -> (the key that names an entry, the key of its words in each
# language). `eligibility.criteria`: the agency's criteria, each an id and a label ({en: ..., sw: ...}); the
# agency's list replaces the profile's whole; an empty one: no child is screened against criteria.
ENTRY_LISTS = {"rules.eligibility.criteria": ("id", "label")}
ENTRY_ID = re.compile(r"[a-z][a-z0-9_]{0,40}")
NOT_SHOWN = " (not shown, as a key may hold personal details; cpcm policy show lists the rules)"


def shown(key: Any) -> str:
    """A key of a policy file, or a name in it, as a message may repeat it: one written as a rule's
    name is (`rules.reveiw`); anything else (a person's name typed where a key belongs: capitals,
    a space) is `…`, as for a form's keys (domain/forms.py)."""
    text = str(key)
    return text if FIELD_NAME.fullmatch(text) else "…"


def merge(base: Mapping[str, Any], override: Mapping[str, Any], origin: str, origins: dict[str, str],
          prefix: str = "") -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value, origin, origins, path + ".")
        else:
            out[key] = copy.deepcopy(value)
            origins[path] = origin
    return out


def check_override(base: Mapping[str, Any], override: Any, prefix: str = "") -> list[FieldError]:
    """Every key of an override must exist in the base profile, with a value of the same type."""
    if not isinstance(override, Mapping):
        return [FieldError(prefix.rstrip(".") or "(top)", "must be a mapping of rules")]
    errors = []
    for key, value in override.items():
        path = f"{prefix}{key}"
        if key in META:
            continue
        if key not in base:
            close = difflib.get_close_matches(str(key), [str(k) for k in base], n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
            hidden = "" if shown(key) != "…" else NOT_SHOWN
            if not prefix:  # the top of the file: only `rules:` (and notes) belong there
                rule = key in (base.get("rules") or {})
                message = (f"is a rule: put it under 'rules:' (rules.{key})" if rule
                           else f"is not a part of a policy file{hidden}{hint}")
            else:
                what = "a rule of the profile" if prefix.count(".") < 2 else f"a setting of {prefix.rstrip('.')}"
                message = f"is not {what}{hidden}{hint}"
            errors.append(FieldError(f"{prefix}{shown(key)}", message))
            continue
        if isinstance(base[key], Mapping) and (isinstance(value, Mapping) or not prefix):
            errors += check_override(base[key], value, path + ".")  # a rule's block that is no mapping: check_values
    return errors


def check_values(rules: Mapping[str, Any], base: Mapping[str, Any] | None = None, prefix: str = "") -> list[FieldError]:
    """Each value has the type of the base profile's value: durations parse and are not
    negative, numbers are whole and not negative, switches are true or false."""
    base = rules if base is None else base
    errors = []
    for key, value in rules.items():
        path = f"{prefix}{key}"
        if key in META or key not in base:  # a key that is no rule: check_override names it
            continue
        model = base[key]
        if isinstance(model, Mapping):
            if not isinstance(value, Mapping):
                keys = ", ".join(str(k) for k in model if k not in META)
                errors.append(FieldError(path, f"must be a mapping ({keys})"))
            else:
                errors += check_values(value, model, path + ".")
        elif path.split(".", 1)[-1] in ENUMS or path in ENUMS:
            allowed = ENUMS.get(path) or ENUMS[path.split(".", 1)[-1]]
            if value not in allowed:
                errors.append(FieldError(path, f"must be one of: {', '.join(allowed)}"))
        elif isinstance(model, bool):
            if not isinstance(value, bool):
                errors.append(FieldError(path, "must be true or false"))
        elif isinstance(model, int):
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append(FieldError(path, "must be a whole number"))
            elif value < 0:
                errors.append(FieldError(path, "must not be negative"))
        elif path in ENTRY_LISTS:
            errors += _entries(path, value, ENTRY_LISTS[path])
        elif isinstance(model, list):
            # a list the profile leaves empty (mandatory_report.concerns: none until the agency lists
            # them) may stay empty; any other must name at least one
            empty_ok = not model or path.startswith(MAY_BE_EMPTY)
            if not isinstance(value, list):
                errors.append(FieldError(path, "must be a list of names"))
            elif not value and not empty_ok:
                errors.append(FieldError(path, "must be a non-empty list of names"))
            else:  # each entry that is not a name by its place, counted from 0, as `_unknown` names a misspelt one
                errors += [FieldError(f"{path}[{number}]", "is not a name") for number, name in enumerate(value)
                           if not isinstance(name, str)]
        elif isinstance(model, str) and _is_duration(model):
            try:
                parse_duration(value)
            except ValueError as exc:
                errors.append(FieldError(path, str(exc)))
    return errors


def _entries(path: str, value: Any, keys: tuple[str, str]) -> list[FieldError]:
    """Each entry of a list of entries (ENTRY_LISTS) is a mapping of its id (a name, as a rule's:
    lower case, digits and _) and its label (text in English at least, and in any other language),
    with no id twice and no other key."""
    name, words = keys
    if not isinstance(value, list):
        return [FieldError(path, f"must be a list of entries, each with {name} and {words}")]
    errors, seen = [], set()
    for number, entry in enumerate(value):
        at = f"{path}[{number}]"
        if not isinstance(entry, Mapping):
            errors.append(FieldError(at, f"must be a mapping: {name}: a short name, {words}: {{en: ..., sw: ...}}"))
            continue
        for key in entry:
            if key not in (name, words):
                errors.append(FieldError(f"{at}.{shown(key)}", f"is not a key of an entry ({name}, {words})"
                                         + ("" if shown(key) != "…" else NOT_SHOWN)))
        ident = entry.get(name)
        if not isinstance(ident, str) or not ENTRY_ID.fullmatch(ident):
            errors.append(FieldError(f"{at}.{name}", "must be a short name of lower-case letters, digits and _ "
                                                     "(abuse_or_great_need), as the records store it"))
        elif ident in seen:
            errors.append(FieldError(f"{at}.{name}", f"'{ident}' is listed twice: each entry has its own {name}"))
        else:
            seen.add(ident)
        label = entry.get(words)
        if not isinstance(label, Mapping) or not isinstance(label.get("en"), str) or not label["en"].strip():
            errors.append(FieldError(f"{at}.{words}", "must give the words in English at least ({en: ..., sw: ...})"))
        else:
            for lang, text in label.items():
                if not isinstance(text, str) or not text.strip():
                    errors.append(FieldError(f"{at}.{words}.{shown(lang)}", "must be text"))
    return errors


def _is_duration(text: str) -> bool:
    try:
        parse_duration(text)
        return True
    except ValueError:
        return False


def _mapping(value: Any) -> Mapping[str, Any]:
    """A rule's block as a mapping; {} for a value that is none (check_values names it)."""
    return value if isinstance(value, Mapping) else {}


def check_consistency(rules: Mapping[str, Any], origins: Mapping[str, str] | None = None) -> list[FieldError]:
    """The checks across values of the rules, on whatever parts of them are well formed (a
    malformed part is named by check_values and skipped here). `origins` (`build`'s: where each
    value was set) lets a check say which of two values at odds the override did not set."""
    errors = []
    levels = _mapping(rules.get("risk_levels")).get("levels") or []
    levels = levels if isinstance(levels, list) else []
    responses = _mapping(_mapping(rules.get("risk_response")).get("limit"))
    for level in levels:
        if level not in responses:
            errors.append(FieldError(f"rules.risk_response.limit.{shown(level)}", f"risk level '{shown(level)}' has no response time"))
    for level in responses:
        if level not in levels:
            errors.append(FieldError(f"rules.risk_response.limit.{shown(level)}",
                                     f"'{shown(level)}' is not a risk level ({', '.join(shown(each) for each in levels)})"))
    caseload = _mapping(rules.get("caseload"))
    if isinstance(caseload.get("warn_from"), int) and isinstance(caseload.get("cap"), int) and caseload["warn_from"] > caseload["cap"]:
        errors.append(FieldError("rules.caseload.warn_from", "is above the cap" + _caseload_whose(caseload, origins or {})))
    errors += _consent_steps(_mapping(_mapping(rules.get("consent")).get("checked_at")))
    # a misspelt item would ask for nothing, without a word
    errors += _unknown("rules.consent.explained", _mapping(rules.get("consent")).get("explained"), CONSENT_EXPLAINED,
                       "an item a consent records as explained")
    for cadre, level in _mapping(_mapping(rules.get("cadre_risk")).get("max_risk")).items():
        if not isinstance(level, str) or level not in levels:  # the highest level a cadre may hold: one of the levels
            errors.append(FieldError(f"rules.cadre_risk.max_risk.{shown(cadre)}",
                                     f"'{shown(level)}' is not a risk level ({', '.join(shown(each) for each in levels)})"))
    errors += _lives_with_lists(_mapping(rules.get("placement")))
    errors += _unknown("rules.placement_monitoring.not_counted", _mapping(rules.get("placement_monitoring")).get("not_counted"),
                       FOLLOWUP_PURPOSES, "a follow-up's purpose (cpcm followup --purpose)")
    errors += _unknown("rules.referral_checks.required", _mapping(rules.get("referral_checks")).get("required"), REFERRAL_CHECKS,
                       "a check done before referring (cpcm refer --check)")  # a misspelt check could never be confirmed
    reasons = _mapping(rules.get("closure_reasons"))
    errors += _checklists(reasons)
    owed = _mapping(rules.get("post_closure_visit")).get("reasons")
    for reason in owed if isinstance(owed, list) else ():  # a misspelt reason would owe no visit, without a word
        if reason not in reasons or reason in META:
            errors.append(FieldError("rules.post_closure_visit.reasons",
                                     f"'{shown(reason)}' is not a closure reason "
                                     f"({', '.join(shown(each) for each in reasons if each not in META)})"))
    roles = _mapping(rules.get("conference_plan_approval")).get("roles")
    if isinstance(roles, list):  # a conference plan is approved as every approval is: by those who oversee (workflow/approvals.py)
        wrong = [role for role in roles if role not in OVERSIGHT]
        if wrong:
            errors.append(FieldError("rules.conference_plan_approval.roles",
                                     f"names {', '.join(shown(role) for role in wrong)}: only {' and '.join(OVERSIGHT)} approve"))
    for rule in ("initial_assessment", "comprehensive_assessment"):
        block = _mapping(rules.get(rule))
        try:
            target, limit = parse_duration(block["target"]), parse_duration(block["limit"])
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
        start = datetime(2000, 1, 1, tzinfo=timezone.utc)
        if target.after(start) > limit.after(start):
            errors.append(FieldError(f"rules.{rule}.target", "is later than the limit"))
    return errors


def _caseload_whose(caseload: Mapping[str, Any], origins: Mapping[str, str]) -> str:
    """What to add to 'is above the cap' where the override set one of `caseload.warn_from` and
    `caseload.cap` and the profile the other: that one is not in the file, so name its value
    and how the file settles it (a file setting `cap: 3` alone was refused over a warn_from it
    does not hold)."""
    profile = {key: origins.get(f"caseload.{key}", "profile").startswith("profile") for key in ("warn_from", "cap")}
    if profile["warn_from"] and not profile["cap"]:
        return (f": the profile's warn_from ({caseload['warn_from']}) is above the cap the file sets ({caseload['cap']}); "
                "set warn_from in the file too, at most the cap")
    if profile["cap"] and not profile["warn_from"]:
        return f": the profile's cap is {caseload['cap']}; set a lower warn_from, or the cap in the file too"
    return ""


def _checklists(reasons: Mapping[str, Any]) -> list[FieldError]:
    """Each item of a closure reason's checklist is a code, listed once: the closure form's
    `checklist` holds codes (`cpcm close --check ITEM`), so an item with a space could never be
    confirmed, and the case never closed for that reason but with --check all. An item is named
    by its place in the list, counted from 0 (`shown`: one that is not a code may be words)."""
    errors = []
    for reason, items in reasons.items():
        if reason in META or not isinstance(items, list):
            continue  # not a list: check_values names it
        seen: set[str] = set()
        for number, item in enumerate(items):
            at = f"rules.closure_reasons.{shown(reason)}[{number}]"
            if not is_code(item):
                errors.append(FieldError(at, f"is not a code ({CODE_SAID}): a checklist item is confirmed with "
                                             "cpcm close --check ITEM"))
            elif item in seen:
                errors.append(FieldError(at, f"'{shown(item)}' is listed twice: each item once"))
            else:
                seen.add(item)
    return errors


def _unknown(path: str, names: Any, known: tuple[str, ...], what: str) -> list[FieldError]:
    """An error for each of `names` (a list of the policy at `path`; anything else, or an entry
    that is not a name, is check_values's) that is not one of `known`: a misspelt name would match
    nothing, without a word. Each is named by its place in the list, counted from 0, as a closure
    checklist's items are (`_checklists`): `shown` makes two entries that are words alike."""
    return [FieldError(f"{path}[{number}]", f"'{shown(name)}' is not {what} ({', '.join(known)})")
            for number, name in enumerate(names if isinstance(names, list) else ())
            if isinstance(name, str) and name not in known]


def _lives_with_lists(placement: Mapping[str, Any]) -> list[FieldError]:
    """Each answer of who the child lives with is one the registration asks (LIVES_WITH: a misspelt one would
    match no child, and a child living with their mother could count as apart from their family), in one list
    only of `placement.at_home` (the family) and `placement.lives_with` (a setting, or apart and in no care):
    one in two would mean two settings, and a child's first placement would be read from the first found,
    without a word."""
    lists = {"at_home": placement.get("at_home")}
    lists.update((f"lives_with.{key}", names) for key, names in _mapping(placement.get("lives_with")).items() if key not in META)
    errors, seen = [], {}
    for where, names in lists.items():
        errors += _unknown(f"rules.placement.{where}", names, LIVES_WITH, "who a child lives with (cpcm register: lives_with)")
        for name in names if isinstance(names, list) else ():  # not a list, or not names: check_values names it
            if not isinstance(name, str):
                continue
            if name in seen:
                errors.append(FieldError(f"rules.placement.{where}", f"'{shown(name)}' is listed under "
                                                                     f"placement.{seen[name]} too: it means one setting"))
            else:
                seen[name] = where
    return errors


def _consent_steps(checked: Mapping[str, Any]) -> list[FieldError]:
    """Each step `consent.checked_at` names is one its purpose can be checked at (a misspelt step
    would turn a check off without a word), and under one purpose only."""
    errors, seen = [], {}
    for purpose, steps in checked.items():
        allowed = CONSENT_STEPS.get(purpose)
        if allowed is None or not isinstance(steps, list):
            continue  # a purpose that is no key of the profile, or not a list: check_override and check_values name it
        path = f"rules.consent.checked_at.{shown(purpose)}"
        for step in steps:
            if step not in allowed:
                errors.append(FieldError(path, f"'{shown(step)}' is not a step {purpose} consent can be checked at "
                                               f"({', '.join(allowed)})"))
            elif step in seen:
                errors.append(FieldError(path, f"'{step}' is listed under {seen[step]} too: a step checks one purpose"))
            else:
                seen[step] = purpose
    return errors


def upgrade(override: Any) -> tuple[Any, list[str], list[FieldError]]:
    """An override with keys under their old name (RENAMED) moved to the new one: the override
    to use, a note for each key moved, and an error where both names are given."""
    rules = override.get("rules") if isinstance(override, Mapping) else None
    if not isinstance(rules, Mapping):
        return override, [], []
    moved = copy.deepcopy(dict(rules))
    notes, errors = [], []
    for (old_rule, old_key), (new_rule, new_key) in RENAMED.items():
        block = moved.get(old_rule)
        if not isinstance(block, Mapping) or old_key not in block:
            continue
        old, new = f"rules.{old_rule}.{old_key}", f"rules.{new_rule}.{new_key}"
        target = moved.get(new_rule)
        if isinstance(target, Mapping) and new_key in target:
            errors.append(FieldError(old, f"is the old name of '{new}', which is also given: keep only '{new}'"))
            continue
        block = dict(block)
        value = block.pop(old_key)
        moved[old_rule] = block
        if not block:
            del moved[old_rule]
        if target is None:
            moved[new_rule] = {new_key: value}
        elif isinstance(target, Mapping):
            moved[new_rule] = dict(target, **{new_key: value})
        # any other value under the new name is refused by check_override with its path
        notes.append(f"{old} is the old name of {new}: it is read as {new}; rename it (the old name will be refused "
                     "in a later version)")
    return dict(override, rules=moved), notes, errors


def build(chain: list[tuple[str, Mapping[str, Any]]], override: Mapping[str, Any] | None,
          override_name: str = ".cpcm/policy.yaml") -> tuple[Policy | None, list[FieldError]]:
    """A Policy from a profile chain (base first) and an agency override, or the errors."""
    origins: dict[str, str] = {}
    merged: dict[str, Any] = {}
    title = profile = ""
    for name, data in chain:
        merged = merge(merged, data.get("rules") or {}, f"profile {name}", origins, "")
        title, profile = data.get("title", title), name
    errors: list[FieldError] = []
    notes: list[str] = []
    if override:
        override, notes, errors = upgrade(override)
        if errors:
            return None, errors
        rules = override.get("rules") if isinstance(override, Mapping) else None
        errors = check_values(rules, merged, "rules.") if isinstance(rules, Mapping) else []
        errors = check_override({"rules": merged}, override) + errors  # keys that are no rule, with the bad values
        if isinstance(rules, Mapping):  # laid over, whatever is wrong, so that the checks across rules see it too
            merged = merge(merged, rules, override_name, origins, "")
    else:
        errors = check_values(merged, prefix="rules.")
    named = {e.field for e in errors}  # a check across rules says nothing more of a part already named
    errors += [e for e in check_consistency(merged, origins) if not any(e.field == n or e.field.startswith(n + ".") for n in named)]
    if errors:
        return None, errors
    return Policy(profile=profile, title=title, rules=merged, origins=origins, notes=tuple(notes)), []
