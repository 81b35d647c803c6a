"""Reintegration readiness: a readiness record's benchmark answers scored against the `scoring`
section of its form definition (the DCS Child and Caregiver Case Review, AFC Form 7A, in
cpcm/forms/readiness.yaml; docs/kenya-readiness.md).

Each item scores the points of its answer (yes and na 1, no 0); a domain's maximum is its items
times the highest score and it passes when its score reaches its pass mark. A case is ready for
closure when at least `min_domains_passed` domains pass and every one of `required_domains`
passes. An unanswered item scores nothing, as on the paper form.

Besides the score: the answers the form marks as a stop (`stops`), and whether a closure may go
ahead on the latest record under the policy's `closure_readiness` rule (`closure_problems`).
Answers recorded the old way, inside a comprehensive assessment, are read with `legacy=True`.

A form whose scoring counts benchmarks (`count: benchmarks`: the CPARA household graduation
assessment, cpcm/forms/cpara.yaml) is scored by `graduation` instead: a benchmark is achieved
when every one of its items scores, or when one of its gate questions is answered as the gate
says (`gates`: the form then skips the benchmark, or only the items a gate lists); the score is
the number of benchmarks achieved and `bands` name it. It has no pass marks and no closure rule.

Pure: takes the definition's scoring data, a record body, the policy and `now`; reads no file
and no clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from cpcm.domain.dates import local_day, parse_datetime
from cpcm.domain.durations import parse_duration


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
    reasons: tuple[str, ...]           # why the case is not ready, in English words (messages); empty when it is
    why_not: tuple[Mapping[str, Any], ...] = ()  # the same as codes and numbers (what records keep: reason_words)

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


def _layout(scoring: Mapping[str, Any], legacy: bool) -> tuple[str, str]:
    """Where the answers sit in a body: (prefix of the items, path of the version)."""
    where = scoring.get("legacy") or {} if legacy else scoring
    return str(where.get("prefix") or ""), str(where.get("version_field") or "")


def score(scoring: Mapping[str, Any], body: Mapping[str, Any], legacy: bool = False) -> Readiness:
    """Every domain's score against its pass mark, and whether the case is ready for closure
    with the reasons it is not. ValueError when the scoring data is malformed, when an answer is
    not one the scoring knows, or when the body says it follows another version of the benchmarks.
    `legacy`: the body is a comprehensive assessment holding the answers the old way."""
    problems = check_scoring(scoring)
    if problems:
        raise ValueError("scoring: " + "; ".join(problems))
    if counts_benchmarks(scoring):
        raise ValueError("scoring counts benchmarks (a graduation form): it is scored by graduation()")
    prefix, version_field = _layout(scoring, legacy)
    points = {str(k).lower(): int(v) for k, v in scoring["points"].items()}
    top = max(points.values())
    version = str(scoring.get("version") or "")
    given_version = _get(body, version_field) if version_field else None
    if given_version not in (None, "") and version and str(given_version) != version:
        raise ValueError(f"{version_field}: the answers follow another version; this scoring is '{version}'")
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
    why_not = [_failed_reason(d) for d in domains if d.key in failed]
    if passed < minimum:
        why_not.append({"code": TOO_FEW_DOMAINS, "passed": passed, "domains": len(domains), "minimum": minimum})
    names = {d.key: d.name() for d in domains}
    return Readiness(version=version, domains=tuple(domains), domains_passed=passed, min_domains_passed=minimum,
                     ready_for_closure=not failed and passed >= minimum, failed_required=failed,
                     reasons=tuple(reason_words(r, names) for r in why_not), why_not=tuple(why_not))


# Why a readiness record does not meet the closure rule, and why a closure may not go ahead on it,
# as records keep them: a code and its numbers, never sentences, so that a document says them in
# its own language (templates/_values.j2: readiness_reason, readiness_problem). Records written
# before these codes hold the English sentences; reason_words and problem_words give those as
# they are.
KEPT_REASONS, KEPT_PROBLEMS = "readiness.reasons", "readiness_problems"  # where a review or a closure keeps them
DOMAIN_BELOW_PASS_MARK = "domain_below_pass_mark"
TOO_FEW_DOMAINS = "too_few_domains_passed"
NO_RECORD = "no_readiness_record"
RECORD_TOO_OLD = "readiness_record_too_old"
RECORD_NOT_READY = "readiness_record_not_ready"
RECORD_BEFORE_REUNIFICATION = "readiness_record_before_reunification"
RECORD_BEFORE_REOPENING = "readiness_record_before_reopening"


def _failed_reason(domain: DomainScore) -> dict:
    return {"code": DOMAIN_BELOW_PASS_MARK, "domain": domain.key, "score": domain.score, "maximum": domain.maximum,
            "pass_mark": domain.pass_mark, "answered": domain.answered, "items": domain.items}


def reason_words(reason: Any, names: Mapping[str, str] | None = None) -> str:
    """A reason a readiness record does not meet the closure rule, in English (`names`: each
    domain's name, else its key in words); a sentence an older record kept, as it is."""
    if not isinstance(reason, Mapping):
        return str(reason)
    code = reason.get("code")
    if code == DOMAIN_BELOW_PASS_MARK:
        key = str(reason.get("domain"))
        name = (names or {}).get(key) or key.replace("_", " ").capitalize()
        text = (f"{name} scores {reason.get('score')} of {reason.get('maximum')} and must reach {reason.get('pass_mark')} "
                "(required for closure)")
        if reason.get("answered") == 0:
            return text + "; not answered"
        if reason.get("answered") != reason.get("items"):
            return text + f"; {reason.get('answered')} of {reason.get('items')} items answered"
        return text
    if code == TOO_FEW_DOMAINS:
        return f"{reason.get('passed')} of {reason.get('domains')} domains pass; at least {reason.get('minimum')} must"
    return str(code)


def problem_words(problem: Any, names: Mapping[str, str] | None = None) -> str:
    """Why a closure may not go ahead on the latest readiness record (closure_gaps), in English;
    a sentence an older closure kept, as it is."""
    if not isinstance(problem, Mapping):
        return str(problem)
    code, at = problem.get("code"), problem.get("record_at")
    if code == NO_RECORD:
        return "no readiness record (Form 7A) is on the case: record one with cpcm readiness"
    if code == RECORD_TOO_OLD:
        try:
            age = parse_duration(str(problem.get("max_age"))).words()
        except ValueError:
            age = str(problem.get("max_age"))
        return f"the latest readiness record ({at}) is older than {age}: record it again"
    if code == RECORD_BEFORE_REUNIFICATION:
        return (f"the latest readiness record ({at}) was made before the child went home ({problem.get('reunified_at')}): "
                "Form 7A reviews the child with the caregiver after placement; record it again")
    if code == RECORD_BEFORE_REOPENING:
        return (f"the latest readiness record ({at}) was made before the case was reopened ({problem.get('reopened_at')}): "
                "it reviewed the time before the new concern; record it again")
    if code == RECORD_NOT_READY:
        return (f"the latest readiness record ({at}) does not meet the closure rule: "
                + "; ".join(reason_words(r, names) for r in problem.get("reasons") or ()))
    return str(code)


@dataclass(frozen=True)
class Stop:
    """An answer the form marks as a stop: what it means and what to do now."""
    item: str                     # domain.item, e.g. protection.b3_child_free_of_violence
    answer: str
    says: Mapping[str, str]
    action: Mapping[str, str]
    source: str

    def text(self, what: Mapping[str, str], lang: str = "en") -> str:
        return what.get(lang) or what.get("en") or ""

    def to_json(self) -> dict:
        return {"item": self.item, "answer": self.answer, "says": self.text(self.says), "action": self.text(self.action),
                "source": self.source}


def stops(scoring: Mapping[str, Any], body: Mapping[str, Any], legacy: bool = False) -> tuple[Stop, ...]:
    """The answers of `body` that the form marks as a stop (`scoring.stops`), in the form's order."""
    prefix, _ = _layout(scoring, legacy)
    found = []
    for raw in scoring.get("stops") or ():
        item = str(raw["item"])
        value = _get(body, ".".join(p for p in (prefix, item) if p))
        answer = str(value).strip().lower() if value not in (None, "") else ""
        if answer and answer in [str(a).lower() for a in raw.get("answers") or ()]:
            found.append(Stop(item=item, answer=answer, says=raw.get("says") or {}, action=raw.get("action") or {},
                              source=str(raw.get("source") or "")))
    return tuple(found)


@dataclass(frozen=True)
class Latest:
    """The latest readiness record of a case, scored: where it is and when it was made."""
    record_id: str
    at: str                       # when it happened (stored time, UTC)
    kind: str                     # 'readiness', or 'assessment' for one recorded the old way
    result: Readiness
    stops: tuple[Stop, ...] = ()

    def to_json(self) -> dict:
        return {"record_id": self.record_id, "at": self.at, "kind": self.kind, **self.result.to_json(),
                "stops": [s.to_json() for s in self.stops]}

    def summary(self) -> dict:
        """What a review or a closure keeps of it: the record, its date and the score."""
        return {"record_id": self.record_id, "at": self.at, "version": self.result.version,
                "ready_for_closure": self.result.ready_for_closure, "domains_passed": self.result.domains_passed,
                "domains": [{"domain": d.key, "score": d.score, "maximum": d.maximum, "pass_mark": d.pass_mark,
                             "passed": d.passed} for d in self.result.domains],
                "reasons": [dict(r) for r in self.result.why_not], "stops": [s.item for s in self.stops]}


def closure_gaps(latest: Latest | None, reason: str | None, policy, now: datetime,
                 reunified: str | None = None, reopened: str | None = None) -> list[dict]:
    """Why closing for `reason` may not go ahead under the policy's `closure_readiness` rule
    (empty when it may), as codes a record keeps: no readiness record, a record that does not
    meet the closure rule, one older than `max_age` at `now`, or one made before the child went
    home (`reunified`, `placements.reunified_at`): Form 7A is the child and caregiver case review
    after placement (the reviews for two years after it), so one made while the child was still in
    care does not say the reintegration holds, as the path of reintegration does not count it; nor
    one made before the case was last `reopened` (a new concern), as the Sub-County Children's
    Officer's sign-off counts only since then."""
    if not policy.get("closure_readiness", "required", False):
        return []
    if reason not in (policy.get("closure_readiness", "reasons") or ()):
        return []
    if latest is None:
        return [{"code": NO_RECORD}]
    problems = []
    when = parse_datetime(latest.at)
    max_age = policy.duration("closure_readiness", "max_age")
    day = local_day(latest.at, now.tzinfo)  # each day the closure keeps, the agency's (`now`'s zone), never UTC's
    if max_age.after(when) < now:
        problems.append({"code": RECORD_TOO_OLD, "record_at": day, "max_age": str(max_age)})
    if made_before(latest.at, reunified):
        problems.append({"code": RECORD_BEFORE_REUNIFICATION, "record_at": day, "reunified_at": local_day(reunified, now.tzinfo)})
    if made_before(latest.at, reopened):
        problems.append({"code": RECORD_BEFORE_REOPENING, "record_at": day, "reopened_at": local_day(reopened, now.tzinfo)})
    if not latest.result.ready_for_closure:
        problems.append({"code": RECORD_NOT_READY, "record_at": day,
                         "reasons": [dict(r) for r in latest.result.why_not]})
    return problems


def made_before(at: str, since: str | None) -> bool:
    """Whether a readiness record made `at` is from before `since`: the child went home
    (`placements.reunified_at`) or the case was last reopened; then it does not count for closure
    (`closure_gaps`)."""
    return bool(since) and parse_datetime(at) < parse_datetime(since)


def closure_problems(latest: Latest | None, reason: str | None, policy, now: datetime,
                     reunified: str | None = None, reopened: str | None = None) -> list[str]:
    """closure_gaps in English words, for messages."""
    names = {d.key: d.name() for d in latest.result.domains} if latest is not None else {}
    return [problem_words(p, names) for p in closure_gaps(latest, reason, policy, now, reunified, reopened)]


def check_scoring(scoring: Any) -> list[str]:
    """What is wrong with a form's scoring data (empty when nothing is), each naming its key."""
    if not isinstance(scoring, Mapping):
        return ["must be a mapping (points, domains, closure)"]
    if counts_benchmarks(scoring):
        return _check_graduation(scoring)
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
    items = {f"{raw.get('key')}.{item}" for raw in domains if isinstance(raw, Mapping)
             for bench in raw.get("benchmarks") or () if isinstance(bench, Mapping) for item in bench.get("items") or ()}
    for index, raw in enumerate(scoring.get("stops") or (), start=1):
        where = f"stops[{index}]"
        if not isinstance(raw, Mapping) or str(raw.get("item")) not in items:
            problems.append(f"{where}.item must name an item as domain.item (e.g. protection.b3_child_free_of_violence)")
            continue
        answers = raw.get("answers")
        if not isinstance(answers, list) or not answers or not all(str(a).lower() in {str(k).lower() for k in points or {}}
                                                                   for a in answers):
            problems.append(f"{where}.answers must list answers the points know ({', '.join(points or {})})")
        if not isinstance(raw.get("action"), Mapping) or not raw["action"].get("en"):
            problems.append(f"{where}.action must say what to do, at least in English (en)")
    return problems


# -- household graduation: benchmarks achieved and their band (`count: benchmarks`) ----------------
COUNT_BENCHMARKS = "benchmarks"


def counts_benchmarks(scoring: Any) -> bool:
    """Whether a form's scoring counts the benchmarks achieved (the CPARA) rather than passing
    domains against pass marks (Form 7A, Form 8A)."""
    return isinstance(scoring, Mapping) and scoring.get("count") == COUNT_BENCHMARKS


@dataclass(frozen=True)
class Benchmark:
    number: int
    domain: str
    title: Mapping[str, str]
    achieved: bool
    gate: str | None          # the gate question (domain.item) whose answer achieved it, if one did
    unmet: tuple[str, ...]    # the items (domain.item) not met: answered no, or not answered

    def name(self, lang: str = "en") -> str:
        return self.title.get(lang) or self.title.get("en") or str(self.number)

    def to_json(self, lang: str = "en") -> dict:
        return {"number": self.number, "domain": self.domain, "title": self.name(lang), "achieved": self.achieved,
                "gate": self.gate, "unmet": list(self.unmet)}


@dataclass(frozen=True)
class Graduation:
    """A household graduation record scored: the benchmarks achieved out of all, and the band."""
    version: str
    score: int
    maximum: int
    band: str
    band_label: Mapping[str, str]
    benchmarks: tuple[Benchmark, ...]
    domains: tuple[Mapping[str, Any], ...]   # each domain's key, label, benchmarks achieved and maximum

    @property
    def not_achieved(self) -> tuple[Benchmark, ...]:
        return tuple(b for b in self.benchmarks if not b.achieved)

    def band_name(self, lang: str = "en") -> str:
        return self.band_label.get(lang) or self.band_label.get("en") or self.band

    def to_json(self, lang: str = "en") -> dict:
        """As data; the band's and the benchmarks' names in `lang` (English where the form has none)."""
        return {"version": self.version, "score": self.score, "maximum": self.maximum, "band": self.band,
                "band_label": self.band_name(lang), "not_achieved": [b.number for b in self.not_achieved],
                "benchmarks": [b.to_json(lang) for b in self.benchmarks], "domains": [dict(d) for d in self.domains]}


def graduation(scoring: Mapping[str, Any], body: Mapping[str, Any]) -> Graduation:
    """The benchmarks a graduation record achieves, its score (how many) and its band. A benchmark
    is achieved when one of its gates that covers it whole is answered as the gate says, or when
    every item is met: an item is met when its answer scores (`points`), or when a gate covering
    it is answered as the gate says. An unanswered item is not met. ValueError when the scoring
    data is malformed, when an answer is not one the scoring knows, or when the body says it
    follows another version."""
    problems = check_scoring(scoring)
    if problems or not counts_benchmarks(scoring):
        raise ValueError("scoring: " + ("; ".join(problems) or "it does not count benchmarks"))
    prefix, version_field = _layout(scoring, False)
    points = {str(k).lower(): int(v) for k, v in scoring["points"].items()}
    version = str(scoring.get("version") or "")
    given_version = _get(body, version_field) if version_field else None
    if given_version not in (None, "") and version and str(given_version) != version:
        raise ValueError(f"{version_field}: the answers follow another version; this scoring is '{version}'")

    def answer(domain: str, item: str) -> str:
        path = ".".join(p for p in (prefix, domain, item) if p)
        value = _get(body, path)
        word = "" if value in (None, "") else str(value).strip().lower()
        if word and word not in points:
            raise ValueError(f"{path}: is not one of: {', '.join(points)}")
        return word

    benchmarks, domains = [], []
    for raw in scoring["domains"]:
        key = str(raw["key"])
        achieved_here = 0
        for bench in raw["benchmarks"]:
            items = [str(i) for i in bench["items"]]
            covered: set[str] = set()
            gate = None
            for g in bench.get("gates") or ():
                if answer(key, str(g["item"])) == str(g["answer"]).lower():
                    if g.get("items"):
                        covered.update(str(i) for i in g["items"])
                    elif gate is None:
                        gate = f"{key}.{g['item']}"
            unmet = () if gate else tuple(f"{key}.{i}" for i in items
                                          if i not in covered and points.get(answer(key, i), 0) <= 0)
            done = gate is not None or not unmet
            achieved_here += done
            benchmarks.append(Benchmark(number=int(bench["number"]), domain=key, title=bench.get("title") or {},
                                        achieved=done, gate=gate, unmet=unmet))
        domains.append({"domain": key, "label": (raw.get("label") or {}).get("en") or key,
                        "score": achieved_here, "maximum": len(raw["benchmarks"])})
    total = sum(b.achieved for b in benchmarks)
    band = next(b for b in scoring["bands"] if int(b["from"]) <= total <= int(b["to"]))
    return Graduation(version=version, score=total, maximum=len(benchmarks), band=str(band["key"]),
                      band_label=band.get("label") or {}, benchmarks=tuple(benchmarks), domains=tuple(domains))


def _check_graduation(scoring: Mapping[str, Any]) -> list[str]:
    """What is wrong with the scoring data of a form that counts benchmarks."""
    problems = []
    points = scoring.get("points")
    if not isinstance(points, Mapping) or not points or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                                for v in points.values()):
        problems.append("points must map each answer to a whole number of points, e.g. {yes: 1, na: 1, no: 0}")
        points = {}
    domains = scoring.get("domains")
    if not isinstance(domains, list) or not domains:
        return problems + ["domains must be a non-empty list"]
    numbers, seen = [], set()
    for index, raw in enumerate(domains):
        if not isinstance(raw, Mapping) or not raw.get("key"):
            problems.append(f"domains[{index + 1}] needs a key")
            continue
        where = f"domains.{raw['key']}"
        if raw["key"] in seen:
            problems.append(f"{where} is given twice")
        seen.add(raw["key"])
        benchmarks = raw.get("benchmarks")
        if not isinstance(benchmarks, list) or not benchmarks:
            problems.append(f"{where}.benchmarks must be a non-empty list")
            continue
        for bench in benchmarks:
            if not isinstance(bench, Mapping) or not isinstance(bench.get("items"), list) or not bench["items"] \
                    or not isinstance(bench.get("number"), int):
                problems.append(f"{where}.benchmarks: each needs a number and a non-empty list of items")
                continue
            numbers.append(bench["number"])
            for gate in bench.get("gates") or ():
                if not isinstance(gate, Mapping) or not gate.get("item") or str(gate.get("answer", "")).lower() not in points:
                    problems.append(f"{where}.benchmarks[{bench['number']}].gates: each needs an item and an answer the points know")
                elif any(str(i) not in [str(x) for x in bench["items"]] for i in gate.get("items") or ()):
                    problems.append(f"{where}.benchmarks[{bench['number']}].gates: a gate's items must be items of its benchmark")
    if len(set(numbers)) != len(numbers):
        problems.append("benchmarks: a number is given twice")
    bands = scoring.get("bands")
    if not isinstance(bands, list) or not bands or not all(
            isinstance(b, Mapping) and b.get("key") and isinstance(b.get("from"), int) and isinstance(b.get("to"), int)
            for b in bands):
        return problems + ["bands must be a non-empty list, each with a key, from and to"]
    covered = sorted(n for b in bands for n in range(b["from"], b["to"] + 1))
    if covered != list(range(len(numbers) + 1)):
        problems.append(f"bands must cover every score from 0 to {len(numbers)} once")
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
