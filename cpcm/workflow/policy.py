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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from cpcm.errors import FieldError
from cpcm.workflow.durations import Duration, parse_duration

PROFILES = ("inter-agency", "kenya")
META = ("source", "choice", "note")
ENUMS = {"caseload.over_cap": ("warn", "refuse")}


@dataclass(frozen=True)
class Policy:
    profile: str
    title: str
    rules: Mapping[str, Mapping[str, Any]]
    origins: Mapping[str, str] = field(default_factory=dict)  # "rule.key" -> where the value was set

    def get(self, rule: str, key: str, default: Any = None) -> Any:
        return self.rules.get(rule, {}).get(key, default)

    def duration(self, rule: str, key: str) -> Duration:
        return parse_duration(self.rules[rule][key])

    def risk_response(self, risk: str) -> Duration | None:
        value = self.rules["risk_response"]["limit"].get(risk)
        return parse_duration(value) if value is not None else None

    def source(self, rule: str) -> str:
        block = self.rules.get(rule, {})
        text = str(block.get("source", ""))
        if any(origin.startswith(".cpcm") for key, origin in self.origins.items() if key.startswith(rule + ".")):
            text += " (changed by this agency in .cpcm/policy.yaml)"
        elif block.get("choice"):
            text += " (cpcm's choice where the guidance gives no number)"
        return text

    def short_source(self, rule: str) -> str:
        """The citation alone ('IAG §3 Step 2 [L796]'), for tables."""
        text = str(self.rules.get(rule, {}).get("source", ""))
        for stop in (";", " ("):
            text = text.split(stop)[0]
        return text.strip()

    @property
    def risk_levels(self) -> tuple[str, ...]:
        return tuple(self.rules["risk_levels"]["levels"])


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
            errors.append(FieldError(path, f"is not a rule of the profile{hint}"))
            continue
        if isinstance(base[key], Mapping):
            errors += check_override(base[key], value, path + ".")
    return errors


def check_values(rules: Mapping[str, Any], base: Mapping[str, Any] | None = None, prefix: str = "") -> list[FieldError]:
    """Each value has the type of the base profile's value: durations parse and are not
    negative, numbers are whole and not negative, switches are true or false."""
    base = rules if base is None else base
    errors = []
    for key, value in rules.items():
        path = f"{prefix}{key}"
        if key in META:
            continue
        model = base.get(key, value)
        if isinstance(model, Mapping):
            if not isinstance(value, Mapping):
                errors.append(FieldError(path, "must be a mapping"))
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
        elif isinstance(model, list):
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                errors.append(FieldError(path, "must be a non-empty list of names"))
        elif isinstance(model, str) and _is_duration(model):
            try:
                parse_duration(value)
            except ValueError as exc:
                errors.append(FieldError(path, str(exc)))
    return errors


def _is_duration(text: str) -> bool:
    try:
        parse_duration(text)
        return True
    except ValueError:
        return False


def check_consistency(rules: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    levels = rules.get("risk_levels", {}).get("levels") or []
    responses = rules.get("risk_response", {}).get("limit") or {}
    for level in levels:
        if level not in responses:
            errors.append(FieldError(f"rules.risk_response.limit.{level}", f"risk level '{level}' has no response time"))
    for level in responses:
        if level not in levels:
            errors.append(FieldError(f"rules.risk_response.limit.{level}", f"'{level}' is not a risk level ({', '.join(levels)})"))
    caseload = rules.get("caseload", {})
    if isinstance(caseload.get("warn_from"), int) and isinstance(caseload.get("cap"), int) and caseload["warn_from"] > caseload["cap"]:
        errors.append(FieldError("rules.caseload.warn_from", "is above the cap"))
    for rule in ("initial_assessment", "comprehensive_assessment"):
        block = rules.get(rule, {})
        try:
            target, limit = parse_duration(block["target"]), parse_duration(block["limit"])
        except (KeyError, ValueError):
            continue
        start = datetime(2000, 1, 1, tzinfo=timezone.utc)
        if target.after(start) > limit.after(start):
            errors.append(FieldError(f"rules.{rule}.target", "is later than the limit"))
    return errors


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
    if override:
        errors = check_override({"rules": merged}, override)
        if errors:
            return None, errors
        errors = check_values(override.get("rules") or {}, merged, "rules.")
        merged = merge(merged, override.get("rules") or {}, override_name, origins, "")
    else:
        errors = check_values(merged, prefix="rules.")
    errors += check_consistency(merged)
    if errors:
        return None, errors
    return Policy(profile=profile, title=title, rules=merged, origins=origins), []
