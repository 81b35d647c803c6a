"""The clocks table of docs/workflow.md, from cpcm/workflow/deadlines.py and the policy profiles.

Which clocks exist, which rule each cites and which policy values set it are read from the code
(every `Deadline(...)` made in deadlines.py, and the `policy.duration/get/risk_response` reads its
due time depends on); the values and sources come from each profile. Only what a reader needs in
words (what starts and stops each clock) is written here, in WORDS, and `table()` refuses to run
when a clock has no words or words are left for a clock that is gone.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEADLINES = ROOT / "cpcm" / "workflow" / "deadlines.py"

# code -> (name, counted from, what stops it)
WORDS = {
    "initial-assessment": ("initial assessment", "registration (or reopening)", "an initial or comprehensive assessment"),
    "risk-response": ("response to the risk level", "the latest initial assessment",
                      "a response: a protection action at the assessment, a follow-up, referral, plan or further assessment"),
    "comprehensive-assessment": ("comprehensive assessment", "registration (or reopening)", "a comprehensive assessment"),
    "case-plan": ("case plan", "the latest comprehensive assessment",
                  "a plan written after it **and in force** (approved, where approval is needed)"),
    "review": ("case review", "the plan coming into force, or the last review, whichever is later", "a review"),
    "plan-approval": ("plan approval", "the plan version", "a supervisor's approval or rejection"),
    "closure-approval": ("closure approval", "the closure request", "approval or rejection"),
    "transfer-approval": ("transfer approval", "the transfer request", "approval or rejection"),
    "post-closure-visit": ("post-closure visit", "the closure", "`cpcm followup --purpose post_closure`"),
    "referral-feedback": ("referral feedback", "the referral",
                          "the provider's answer (`acknowledged` keeps it waiting; `accepted`, `declined` or `closed` stop it)"),
    "referral-follow-up": ("declined or undelivered referral (due at once)", "the `declined` or `not_delivered` update",
                           "closing the referral (`cpcm referral CASE R1 --status closed`)"),
    "referral-outcome": ("referral outcome (due when the expected duration given on acceptance ends)",
                         "the service's start date", "`delivered`, `not_delivered` or `closed`"),
    "risk-increased": ("risk increased (urgent, due at once)", "a follow-up that says the risk increased",
                       "a later assessment, or a later follow-up by a professional or one that records a risk level"),
    "concern": ("a concern reported at a follow-up", "a follow-up with `concern: yes`", "any later follow-up"),
    "turning-18": ("turning 18 (shown ahead by the notice, due on the birthday)",
                   "the date of birth (or the one estimated from the age at registration)",
                   "closing the case, or `cpcm continue` recorded in the notice period"),
}


@dataclass
class Clock:
    code: str
    rules: list[str]
    reads: list[tuple[str, str]] = field(default_factory=list)  # (rule, key) of the policy values that set the due time
    has_target: bool = False  # a target before the limit (a "target missed" warning)
    for_supervisors: bool = False  # owned by the supervisors: a waiting approval, not a fault of the case


def _policy_reads(node: ast.AST) -> list[tuple[str, str]]:
    reads = []
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) \
                and call.func.value.id == "policy":
            args = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if call.func.attr in ("duration", "get") and len(args) >= 2:
                reads.append((args[0], args[1]))
            elif call.func.attr == "risk_response":
                reads.append(("risk_response", "limit"))
    return reads


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _called(node: ast.AST, functions: dict[str, ast.FunctionDef]) -> list[ast.FunctionDef]:
    return [functions[n.func.id] for n in ast.walk(node)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in functions]


def _depends(expr: ast.AST, function: ast.FunctionDef, functions: dict) -> list[ast.AST]:
    """`expr` and every expression assigned to a name it uses, transitively, within `function`."""
    assigned: dict[str, list[ast.AST]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in _names(target):
                    assigned.setdefault(name, []).append(node.value)
    seen, todo, out = set(), [expr], []
    while todo:
        node = todo.pop()
        out.append(node)
        out += _called(node, functions)
        for name in _names(node) - seen:
            seen.add(name)
            todo += assigned.get(name, [])
    return out


def scan(path: Path = DEADLINES, rule_names: set[str] | None = None) -> list[Clock]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    clocks: dict[str, Clock] = {}
    for function in functions.values():
        calls = [c for c in ast.walk(function) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "Deadline"]
        for call in calls:
            code = call.args[1].value
            rule = call.args[6]
            if isinstance(rule, ast.Constant):
                rules = [rule.value]
            else:  # a rule chosen in the function or a helper: every rule name written where it comes from
                scope = _depends(rule, function, functions)
                rules = sorted({n.value for s in scope for n in ast.walk(s) if isinstance(n, ast.Constant)
                                and isinstance(n.value, str) and n.value in (rule_names or set())})
            if len(calls) == 1:  # the function makes only this clock: every value it reads sets it
                parts = [function, *_called(function, functions)]
            else:
                parts = _depends(call.args[3], function, functions)
            reads = []
            for part in parts:
                reads += [r for r in _policy_reads(part) if r not in reads]
            owner = call.args[5]
            clocks[code] = Clock(code, rules, reads, has_target=not (isinstance(call.args[4], ast.Constant) and call.args[4].value is None),
                                 for_supervisors=isinstance(owner, ast.Name) and owner.id == "SUPERVISORS")
    return list(clocks.values())


def _value(policy, rule: str, key: str) -> str:
    from cpcm.workflow.durations import parse_duration

    value = policy.rules.get(rule, {}).get(key)
    if isinstance(value, dict):
        return ", ".join(f"{level} {_value_text(parse_duration, v)}" for level, v in value.items())
    return _value_text(parse_duration, value)


def _value_text(parse, value) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        try:
            return f"**{parse(value).words()}**"
        except ValueError:
            return f"`{value}`"
    return f"**{value}**"


def table() -> str:
    from cpcm.store import policies

    profiles = {name: policies.load(name) for name in ("inter-agency", "kenya")}
    base = profiles["inter-agency"]
    clocks = scan(rule_names=set().union(*(p.rules for p in profiles.values())))
    found = {c.code for c in clocks}
    if found != set(WORDS):
        raise SystemExit(f"docs/tools/clocks.py: clocks without words: {sorted(found - set(WORDS))}; "
                         f"words for clocks that do not exist: {sorted(set(WORDS) - found)}")
    lines = ["| clock (code) | set by (policy values) | counted from | what stops it | rule | source | cpcm's choice? |",
             "|---|---|---|---|---|---|---|"]
    for clock in clocks:
        name, start, stops = WORDS[clock.code]
        settings = []
        for profile_name, policy in profiles.items():
            text = "; ".join(f"`{rule}.{key}` {_value(policy, rule, key)}" for rule, key in clock.reads) or "no policy value"
            if not settings or text != settings[0][1]:
                settings.append((profile_name, text))
        set_by = settings[0][1] if len(settings) == 1 else "<br>".join(f"{p}: {t}" for p, t in settings)
        rules = sorted(set(clock.rules) | {rule for rule, _ in clock.reads if rule in base.rules})
        sources = []
        for rule in clock.rules:
            for policy in profiles.values():
                text = str(policy.rules.get(rule, {}).get("source", "")).split(" (")[0].strip()
                if text and text not in sources:
                    sources.append(text)
        # a choice when a value that sets the time is one the guidance does not give (policy `choice: true`)
        timed = set(clock.rules) | {rule for rule, key in clock.reads if isinstance(base.rules.get(rule, {}).get(key), (str, dict))}
        choice = "**yes**" if any(p.rules.get(r, {}).get("choice") for p in profiles.values() for r in timed) else "no"
        lines.append(f"| {name} (`{clock.code}`) | {set_by} | {start} | {stops} | {', '.join(f'`{r}`' for r in rules)} | "
                     f"{'; '.join(sources)} | {choice} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
