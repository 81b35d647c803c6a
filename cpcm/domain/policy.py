"""The policy in force as a plain value: the profile's rules merged with the agency's
overrides. Built and validated by `cpcm.domain.profiles.build`; read by the workflow, the
reports and the documents, which receive it as an argument.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from cpcm.domain.durations import Duration, parse_duration

# The risk levels in order of urgency, where a policy names none (`risk_levels.levels` is the
# policy's own list; the shipped profiles use these).
RISK_ORDER: tuple[str, ...] = ("immediate", "high", "medium", "low")


def risk_rank(risk: str | None, levels: tuple[str, ...] = RISK_ORDER) -> int:
    """0 for the most urgent level; a level not in `levels` (or none) after every level."""
    return levels.index(risk) if risk in levels else len(levels)


@dataclass(frozen=True)
class Policy:
    profile: str
    title: str
    rules: Mapping[str, Mapping[str, Any]]
    origins: Mapping[str, str] = field(default_factory=dict)  # "rule.key" -> where the value was set
    notes: tuple[str, ...] = ()  # what `cpcm policy check` should say besides errors (keys under an old name)
    # when each concern of `mandatory_report.concerns` became reportable, where the agency listed it after the start
    # (concern code -> ISO time, the config's `reportable_since`, put here by the service with the rules in force):
    # what workflow/mandatory_report.py `owed` counts such a concern from. Empty: every concern listed from the start
    reportable_since: Mapping[str, str] = field(default_factory=dict)

    def get(self, rule: str, key: str, default: Any = None) -> Any:
        return self.rules.get(rule, {}).get(key, default)

    def duration(self, rule: str, key: str) -> Duration:
        return parse_duration(self.rules[rule][key])

    def risk_response(self, risk: str) -> Duration | None:
        value = self.rules["risk_response"]["limit"].get(risk)
        return parse_duration(value) if value is not None else None

    def _own_source(self, rule: str, key: str | None) -> str:
        """The source of `key` of `rule` where the rule gives the key one of its own (`sources:`, by
        the key or its first part: the invitations' time of the conference rule), else the rule's."""
        block = self.rules.get(rule, {})
        sources = block.get("sources")
        if key and isinstance(sources, Mapping):
            for name in (key, key.split(".")[0]):
                if sources.get(name):
                    return str(sources[name])
        return str(block.get("source", ""))

    def source(self, rule: str, key: str | None = None) -> str:
        """The rule's source, saying where the agency changed it: any of its keys, or the one
        value `key` (a dotted key under the rule) when it is named, with the key's own source
        where it has one. `rule` may name the key itself ('conference.invitations')."""
        if key is None and "." in rule:
            rule, key = rule.split(".", 1)
        text, whose = self._own_source(rule, key), self.whose(rule, key)
        if whose == "this agency's setting":
            text += " (changed by this agency in .cpcm/policy.yaml)"
        elif whose:
            text += " (cpcm's choice where the guidance gives no number)"
        return text

    @cached_property
    def _changed_here(self) -> frozenset[str]:
        """Every `rule` for which a key `rule.…` was set by the agency (an origin under .cpcm):
        each part of such a key before a dot. Made once (the deadline rules ask at every item)."""
        found = set()
        for key, origin in self.origins.items():
            if origin.startswith(".cpcm"):
                found.update(key[:at] for at, char in enumerate(key) if char == ".")
        return frozenset(found)

    def whose(self, rule: str, key: str | None = None) -> str:
        """Whose the number is, where the guidance does not give it: "this agency's setting" (the
        agency changed the rule, or its `key` when named), "cpcm's choice" (the rule is marked
        `choice`), else "" (the guidance's own): what `source` says in full, in a few words."""
        if key is None and "." in rule:
            rule, key = rule.split(".", 1)
        if rule in self._changed_here if key is None else self.origins.get(f"{rule}.{key}", "").startswith(".cpcm"):
            return "this agency's setting"
        return "cpcm's choice" if self.rules.get(rule, {}).get("choice") else ""

    def short_source(self, rule: str, key: str | None = None) -> str:
        """The citation alone ('IAG §3 Step 2 [L796]'), for tables and one-line messages, after
        whose the number is where the guidance does not give it (`whose`: "cpcm's choice; IAG Step
        4"): of `key`, where the rule gives it a source of its own (`rule` may name the key itself:
        'conference.invitations')."""
        if key is None and "." in rule:
            rule, key = rule.split(".", 1)
        text = self._own_source(rule, key)
        for stop in (";", " ("):
            text = text.split(stop)[0]
        return "; ".join(part for part in (self.whose(rule, key), text.strip()) if part)

    def cited(self, rule: str, key: str = "limit", also: str = "") -> str:
        """A number of the policy in words with its source as `cpcm due` shows it, for a next:
        line ('14 days (IAG §3 Step 3 [L837])'); saying so where the number is cpcm's choice
        ('14 days (cpcm's choice; IAG Step 4)') or this agency's ('… (this agency's setting; …)');
        `also` goes first in the brackets ('48 hours (target 24 hours; IAG §3 Step 2 [L796])')."""
        cite = "; ".join(part for part in (also, self.short_source(rule, key)) if part)
        words = self.duration(rule, key).words()
        return f"{words} ({cite})" if cite else words

    @property
    def risk_levels(self) -> tuple[str, ...]:
        return tuple(self.rules["risk_levels"]["levels"])

    @property
    def eligibility_criteria(self) -> tuple[Mapping[str, Any], ...]:
        """The agency's eligibility criteria (`eligibility.criteria`), each {id, label: {en, sw, ...}}:
        what a child is screened against at registration (IAG Step 1 [L741])."""
        return tuple(c for c in self.get("eligibility", "criteria", None) or () if isinstance(c, Mapping))

    @property
    def closure_reasons(self) -> tuple[str, ...]:
        """The reasons a case may be closed for, in the policy's order: the keys of `closure_reasons`
        that hold a checklist (IAG §1 and Step 6). The one list of them: the closure form's choices
        (`policy_list`), `cpcm close`'s checks and the statistics report's rows read it."""
        return tuple(str(reason) for reason, items in (self.rules.get("closure_reasons") or {}).items()
                     if isinstance(items, list))

    def policy_lists(self) -> dict[str, tuple[str, ...]]:
        """The ids of each list of the policy a form's choice or choices field may take
        (domain/forms.py `policy_list`): `eligibility`, the criteria's ids; `closure_reasons`, the
        closure reasons."""
        return {"eligibility": tuple(str(c.get("id")) for c in self.eligibility_criteria),
                "closure_reasons": self.closure_reasons}

    def criterion_label(self, criterion: str, lang: str = "en") -> str:
        """The label of the eligibility criterion `criterion` in `lang` (else English); the id
        itself for one the policy no longer lists (a record keeps what was chosen then)."""
        for entry in self.eligibility_criteria:
            if entry.get("id") == criterion:
                label = entry.get("label") or {}
                return str(label.get(lang) or label.get("en") or criterion)
        return criterion

    def criterion_labels(self, lang: str = "en") -> dict[str, str]:
        """Each eligibility criterion's id -> its label in `lang` (`criterion_label`), in the
        policy's order: the words the printed form, the documents and `show` give the criteria."""
        return {str(c.get("id")): self.criterion_label(str(c.get("id")), lang) for c in self.eligibility_criteria}
