"""Reintegration readiness: a case review's benchmark answers scored against the `scoring`
section of a form definition (the Kenya profile: the DCS Child and Caregiver Case Review,
AFC Form 7A, in cpcm/forms/assessment-comprehensive-kenya.yaml; docs/kenya-readiness.md).

Each item scores the points of its answer (yes and na 1, no 0); a domain's maximum is its items
times the highest score and it passes when its score reaches its pass mark. A case is ready for
closure when at least `min_domains_passed` domains pass and every one of `required_domains`
passes. An unanswered item scores nothing, as on the paper form.

Pure: takes the definition's scoring data and a record body, reads no file and no clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class DomainScore:
    key: str
    label: Mapping[str, str]
    score: int
    maximum: int
    pass_mark: int
    passed: bool
    answered: int          # items answered
    items: int             # items in the domain
    required: bool         # the closure rule requires this domain to pass

    @property
    def complete(self) -> bool:
        return self.answered == self.items

    def name(self, lang: str = "en") -> str:
        return self.label.get(lang) or self.label.get("en") or self.key

    def to_json(self) -> dict:
        return {"domain": self.key, "label": self.name(), "score": self.score, "maximum": self.maximum,
                "pass_mark": self.pass_mark, "passed": self.passed, "answered": self.answered, "items": self.items,
                "required_for_closure": self.required}


@dataclass(frozen=True)
class Readiness:
    version: str
    domains: tuple[DomainScore, ...]
    domains_passed: int
    min_domains_passed: int
    ready_for_closure: bool
    failed_required: tuple[str, ...]   # keys of required domains that do not pass
    reasons: tuple[str, ...]           # why the case is not ready; empty when it is

    def domain(self, key: str) -> DomainScore:
        return next(d for d in self.domains if d.key == key)

    @property
    def answered(self) -> bool:
        """Whether any benchmark item was answered at all."""
        return any(d.answered for d in self.domains)

    def to_json(self) -> dict:
        return {"version": self.version, "ready_for_closure": self.ready_for_closure,
                "domains_passed": self.domains_passed, "min_domains_passed": self.min_domains_passed,
                "failed_required": list(self.failed_required), "reasons": list(self.reasons),
                "domains": [d.to_json() for d in self.domains]}


def score(scoring: Mapping[str, Any], body: Mapping[str, Any]) -> Readiness:
    """Every domain's score against its pass mark, and whether the case is ready for closure
    with the reasons it is not. ValueError when the scoring data is malformed, when an answer is
    not one the scoring knows, or when the body says it follows another version of the benchmarks."""
    problems = check_scoring(scoring)
    if problems:
        raise ValueError("scoring: " + "; ".join(problems))
    prefix = str(scoring.get("prefix") or "")
    points = {str(k).lower(): int(v) for k, v in scoring["points"].items()}
    top = max(points.values())
    version = str(scoring.get("version") or "")
    given_version = _get(body, str(scoring["version_field"])) if scoring.get("version_field") else None
    if given_version not in (None, "") and version and str(given_version) != version:
        raise ValueError(f"{scoring['version_field']}: the answers follow another version; this scoring is '{version}'")
    closure = scoring["closure"]
    required = [str(k) for k in closure.get("required_domains") or ()]
    domains = []
    for raw in scoring["domains"]:
        key = str(raw["key"])
        keys = [str(item) for bench in raw["benchmarks"] for item in bench["items"]]
        total = answered = 0
        for item in keys:
            path = ".".join(p for p in (prefix, key, item) if p)
            value = _get(body, path)
            if value is None or value == "":
                continue
            word = str(value).strip().lower()
            if word not in points:
                raise ValueError(f"{path}: is not one of: {', '.join(points)}")
            total += points[word]
            answered += 1
        pass_mark = int(raw["pass_mark"])
        domains.append(DomainScore(
            key=key, label=raw.get("label") or {"en": key.replace("_", " ")}, score=total, maximum=len(keys) * top,
            pass_mark=pass_mark, passed=total >= pass_mark, answered=answered, items=len(keys), required=key in required,
        ))
    passed = sum(d.passed for d in domains)
    minimum = int(closure.get("min_domains_passed", 0))
    failed = tuple(d.key for d in domains if d.required and not d.passed)
    reasons = [_failed_reason(d) for d in domains if d.key in failed]
    if passed < minimum:
        reasons.append(f"{passed} of {len(domains)} domains pass; at least {minimum} must")
    return Readiness(version=version, domains=tuple(domains), domains_passed=passed, min_domains_passed=minimum,
                     ready_for_closure=not failed and passed >= minimum, failed_required=failed, reasons=tuple(reasons))


def _failed_reason(domain: DomainScore) -> str:
    text = f"{domain.name()} scores {domain.score} of {domain.maximum} and must reach {domain.pass_mark} (required for closure)"
    if domain.answered == 0:
        return text + "; not answered"
    if not domain.complete:
        return text + f"; {domain.answered} of {domain.items} items answered"
    return text


def check_scoring(scoring: Any) -> list[str]:
    """What is wrong with a form's scoring data (empty when nothing is), each naming its key."""
    if not isinstance(scoring, Mapping):
        return ["must be a mapping (points, domains, closure)"]
    problems = []
    points = scoring.get("points")
    if not isinstance(points, Mapping) or not points or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                                for v in points.values()):
        problems.append("points must map each answer to a whole number of points, e.g. {yes: 1, na: 1, no: 0}")
    domains = scoring.get("domains")
    if not isinstance(domains, list) or not domains:
        return problems + ["domains must be a non-empty list"]
    seen: set[str] = set()
    top = max(points.values()) if not problems else 1
    for index, raw in enumerate(domains):
        where = f"domains[{index + 1}]"
        if not isinstance(raw, Mapping) or not raw.get("key"):
            problems.append(f"{where} needs a key")
            continue
        key = str(raw["key"])
        where = f"domains.{key}"
        if key in seen:
            problems.append(f"{where} is given twice")
        seen.add(key)
        benchmarks = raw.get("benchmarks")
        if not isinstance(benchmarks, list) or not benchmarks or not all(
                isinstance(b, Mapping) and isinstance(b.get("items"), list) and b["items"] for b in benchmarks):
            problems.append(f"{where}.benchmarks must be a non-empty list, each with a non-empty list of items")
            continue
        items = [str(item) for bench in benchmarks for item in bench["items"]]
        if len(set(items)) != len(items):
            problems.append(f"{where} lists an item twice")
        mark = raw.get("pass_mark")
        if not isinstance(mark, int) or isinstance(mark, bool) or not 0 <= mark <= len(items) * top:
            problems.append(f"{where}.pass_mark must be a whole number from 0 to the domain's maximum ({len(items) * top})")
    closure = scoring.get("closure")
    if not isinstance(closure, Mapping):
        return problems + ["closure must be a mapping (min_domains_passed, required_domains)"]
    for key in closure.get("required_domains") or ():
        if str(key) not in seen:
            problems.append(f"closure.required_domains: '{key}' is not a domain ({', '.join(sorted(seen))})")
    minimum = closure.get("min_domains_passed", 0)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or not 0 <= minimum <= len(domains):
        problems.append(f"closure.min_domains_passed must be a whole number from 0 to {len(domains)}")
    return problems


def _get(body: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a nested body (a flat key with dots is read too)."""
    if path in body:
        return body[path]
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
