"""cpcm assess / plan / approve / reject: assessments, versioned case plans, a supervisor's decision."""
from __future__ import annotations

from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, RepoOpt, SetOpt, gather, open_ctx, parse_at,
                             report_written)

FORMS = {"initial": "assessment-initial", "comprehensive": "assessment-comprehensive", "best-interests": "best-interests",
         "best_interests": "best-interests"}


def register(app: typer.Typer) -> None:
    @app.command("assess")
    def assess(
        case: str = typer.Argument(..., help="Case ID."),
        type_: str = typer.Option(..., "--type", "-t", help="initial, comprehensive or best-interests."),
        risk: Optional[str] = typer.Option(None, "--risk", help="Risk level now: immediate, high, medium, low."),
        risk_reason: Optional[str] = typer.Option(None, "--risk-reason", help="Why the risk level changed (required when it does)."),
        outcome: Optional[str] = typer.Option(None, "--outcome", help="Initial: proceed, close_no_concerns, close_registered_in_error, transfer."),
        action: List[str] = typer.Option([], "--action", help="Initial: an immediate protection action taken (repeat)."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record an assessment: initial (safety, basic needs, risk), comprehensive (wellbeing
        dimensions, the child's views, needs) or best-interests (before any care decision).

        Example: cpcm assess CP-4F7K-9X2M --type initial --from-file initial.yaml
        Example: cpcm form blank assessment-comprehensive > a.yaml; cpcm assess CP-4F7K-9X2M -t comprehensive -f a.yaml
        """
        from cpcm import service
        from cpcm.errors import UsageError

        if type_ not in FORMS:
            raise UsageError("--type is one of: initial, comprehensive, best-interests")
        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        data = gather(ctx, service.form_for(ctx, type_.replace("-", "_")), from_file, set_,
                      {"risk": risk, "risk_reason": risk_reason, "outcome": outcome, "immediate_actions": list(action) or None},
                      no_input)
        result = service.assess(ctx, case_id, type_, data, parse_at(at))
        report_written(result, json_out, f"{type_} assessment recorded for {case_id}")

    @app.command("plan")
    def plan(
        case: str = typer.Argument(..., help="Case ID."),
        reason: Optional[str] = typer.Option(None, "--reason", help="initial, review, crisis, reunification_date_set, reunification_done, conference_decision, correction."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a new version of the case plan (goals, actions, review date, closure criteria,
        contingency, who took part). Earlier versions stay in the history.

        Example: cpcm form blank plan > plan.yaml; cpcm plan CP-4F7K-9X2M --from-file plan.yaml
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        data = gather(ctx, service.form_for(ctx, "plan"), from_file, set_, {"reason": reason}, no_input)
        result = service.plan(ctx, case_id, data, parse_at(at))
        report_written(result, json_out, f"plan recorded for {case_id}")

    for approve in (True, False):
        _decision_command(app, approve)


def _decision_command(app: typer.Typer, approve: bool) -> None:
    verb = "approve" if approve else "reject"

    def command(
        case: str = typer.Argument(..., help="Case ID."),
        subject: str = typer.Argument(..., help="plan, closure or transfer."),
        note: Optional[str] = typer.Option(None, "--note", help="A note for the worker" + ("." if approve else " (required: what to change)."),),
        at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        result = (service.approve if approve else service.reject)(ctx, case_id, subject, note, parse_at(at))
        report_written(result, json_out, f"{subject} of {case_id} {'approved' if approve else 'rejected'}")

    command.__doc__ = (f"A supervisor's {'approval' if approve else 'rejection'} of a case plan, a closure or a transfer "
                       f"(not of one's own, unless the policy allows it).\n\n"
                       f"Example: cpcm {verb} CP-4F7K-9X2M plan" + (' --note "add a goal for school"' if not approve else ""))
    app.command(verb)(command)
