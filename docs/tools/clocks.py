"""The clocks table of docs/workflow.md, from the clock table (cpcm/workflow/clocks.py) and the
policy profiles: each clock's code, what starts and stops it, its rule, the policy values that set
its due time (with the `kenya` profile's where they differ), their sources, and whether a value is
cpcm's choice (`choice: true` in the profile)."""
from __future__ import annotations

NOT_VALUES = {"source", "sources", "choice", "note", "levels"}


def _value_text(value) -> str:
    from cpcm.domain.durations import parse_duration

    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        return ", ".join(f"{level} {_value_text(v)}" for level, v in value.items())
    if isinstance(value, list):  # a list of names (post_closure_visit.reasons)
        return ", ".join(f"`{v}`" for v in value)
    if isinstance(value, str):
        try:
            return f"**{parse_duration(value).words()}**"
        except ValueError:
            return f"`{value}`"
    return f"**{value}**"


def _settings(policy, rules: list[str]) -> str:
    parts = [f"`{rule}.{key}` {_value_text(value)}"
             for rule in rules for key, value in sorted(policy.rules.get(rule, {}).items()) if key not in NOT_VALUES]
    return "; ".join(parts) or "no policy value"


def table() -> str:
    from cpcm.store import policies
    from cpcm.workflow.clocks import CLOCKS

    profiles = {name: policies.load(name) for name in ("inter-agency", "kenya")}
    lines = ["| clock (code) | set by (policy values) | counted from | what stops it | rule | source | cpcm's choice? |",
             "|---|---|---|---|---|---|---|"]
    for clock in CLOCKS:
        rules = list(dict.fromkeys((clock.limit, clock.rule, *clock.also)))
        settings: list[tuple[str, str]] = []
        for name, policy in profiles.items():
            text = _settings(policy, rules)
            if not settings or text != settings[0][1]:
                settings.append((name, text))
        set_by = settings[0][1] if len(settings) == 1 else "<br>".join(f"{p}: {t}" for p, t in settings)
        if clock.at_once:  # due when it starts: no value moves it (the rule's values are the response it asks for)
            set_by = "no policy value: due **at once**, listed first (urgent)"
        elif clock.on_start:  # due when it starts, not urgent: the rule named is the one it applies, not its time
            set_by = "no policy value: due **at once**"
        sources: list[str] = []
        for rule in rules:
            for policy in profiles.values():
                text = str(policy.rules.get(rule, {}).get("source", "")).split(" (")[0].strip()
                if text and text not in sources:
                    sources.append(text)
        choice = "**yes**" if any(p.rules.get(r, {}).get("choice") for p in profiles.values() for r in rules) else "no"
        lines.append(f"| {clock.title} (`{clock.code}`) | {set_by} | {clock.starts_text} | {clock.done_text} | "
                     f"{', '.join(f'`{r}`' for r in rules)} | {'; '.join(sources)} | {choice} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
