"""Print the stage table of docs/workflow.md from cpcm/workflow/transitions.py.

The table in the docs is generated, not written by hand: `make docs` (docs/tools/generate.py)
writes it into docs/workflow.md, and a test fails when it is stale.

    python docs/tools/transitions_table.py            # by stage (the table in workflow.md)
    python docs/tools/transitions_table.py --by-command
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cpcm.workflow.transitions import RETURN, STAGES, TABLE  # noqa: E402

# what a person types for each record the table knows
COMMANDS = {
    "registration": "`register`",
    "assignment": "`assign`",
    "cover": "`assign --cover`",
    "keyworker": "`assign --keyworker`",
    "assessment.initial": "`assess -t initial`",
    "assessment.comprehensive": "`assess -t comprehensive`",
    "assessment.best_interests": "`assess -t best-interests`",
    "plan": "`plan`",
    "approval.plan": "`approve plan`",
    "rejection.plan": "`reject plan`",
    "withdrawal": "`plan --withdraw`",
    "consent": "`consent`",
    "consent_override": "`consent --override`",
    "referral": "`refer`",
    "referral_update": "`referral`",
    "followup": "`followup`",
    "followup.post_closure": "`followup --purpose post_closure`",
    "review": "`review`",
    "readiness": "`readiness`",
    "graduation": "`readiness --form cpara`",
    "csi": "`readiness --form csi`",
    "sign_off": "`sign-off`",
    "placement": "`placement`",
    "tracing": "`tracing`",
    "family_assessment": "`family-assessment`",
    "preparation": "`preparation`",
    "note": "`note`",
    "update": "`update`",
    "continuation": "`continue`",
    "closure": "`close` (approval needed)",
    "closure.immediate": "`close` (no approval needed)",
    "approval.closure": "`approve closure`",
    "rejection.closure": "`reject closure`",
    "withdrawal.closure": "`close --withdraw`",
    "reopen": "`reopen`",
    "transfer_request": "`transfer` (request)",
    "approval.transfer": "`approve transfer`",
    "rejection.transfer": "`reject transfer`",
    "withdrawal.transfer": "`transfer --withdraw`",
    "mandatory_report": "`mandatory-report`",
    "approval.mandatory_report": "`approve mandatory-report`",
    "rejection.mandatory_report": "`reject mandatory-report`",
    "transfer": "`transfer`",
    "transfer_ack": "`transfer-ack`",
    "transfer_in": "`receive`",
    "consent.sharing": "`consent --purpose sharing`",
    "consent_override.sharing": "`consent --override --purpose sharing`",
    "sharing": "`export` with identifying fields",
    "child_file_release": "`render child-file --given-to`",
    "retention": "`retention` (a manager)",
    "repair": "`repair`",
    "misfiled": "`correct --misfiled`",
}


def name(command: str) -> str:
    if command not in COMMANDS:
        raise SystemExit(f"docs/tools/transitions_table.py: no user-facing name for the record '{command}': add it to COMMANDS")
    return COMMANDS[command]


def by_stage() -> str:
    lines = ["| stage | allowed, the stage stays | allowed, the stage changes |", "|---|---|---|"]
    for stage in (None,) + STAGES:
        stays, moves = [], []
        for (at, command), after in sorted(TABLE.items(), key=lambda item: list(COMMANDS).index(item[0][1])
                                           if item[0][1] in COMMANDS else 99):
            if at != stage or (command.endswith(".sharing") and (stage, command.rpartition(".")[0]) in TABLE):
                continue  # consent to share where consent is allowed whole: said once, as consent
            if after == stage:
                stays.append(name(command))
            elif after == RETURN:
                moves.append(f"{name(command)} → back to the stage it had when the closure was requested")
            else:
                moves.append(f"{name(command)} → **{after}**")
        label = "(no case yet)" if stage is None else f"**{stage}**"
        lines.append(f"| {label} | {', '.join(stays) or '—'} | {'<br>'.join(moves) or '—'} |")
    return "\n".join(lines)


def by_command() -> str:
    lines = ["| command | allowed at | stage after |", "|---|---|---|"]
    commands = sorted({command for _, command in TABLE}, key=lambda c: list(COMMANDS).index(c) if c in COMMANDS else 99)
    for command in commands:
        pairs = [(at, after) for (at, c), after in TABLE.items() if c == command]
        stays = [at for at, after in pairs if at == after]
        targets = sorted({after for at, after in pairs if at != after})
        if len(targets) == 1 and not stays:
            moves = [f"→ {targets[0]}"]
        else:
            moves = [f"{at or '(none)'} → {after}" for at, after in pairs if at != after]
        where = ", ".join(at or "(none)" for at, _ in pairs)
        after = "; ".join(moves + (["otherwise unchanged"] if stays and moves else ["unchanged"] if stays else []))
        lines.append(f"| {name(command)} | {where} | {after} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(by_command() if "--by-command" in sys.argv[1:] else by_stage())
