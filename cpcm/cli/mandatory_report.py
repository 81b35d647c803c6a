"""cpcm mandatory-report: a concern reported to an authority, or not, and why
(docs/commands/mandatory-report.md)."""
from __future__ import annotations

from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, gather, open_ctx, parse_at,
                             report_written, written)


def register(app: typer.Typer) -> None:
    @app.command("mandatory-report")
    def mandatory_report(
        case: str = typer.Argument(..., help="Case ID."),
        concern: List[str] = typer.Option([], "--concern", help="A concern the decision is about (repeat): the registration's concern codes (sexual_abuse, physical_abuse ...); other with --concern-other."),
        concern_other: Optional[str] = typer.Option(None, "--concern-other", help="With --concern other: the concern in words.", show_default=False),
        decision: Optional[str] = typer.Option(None, "--decision", help="reported or not_reported.", show_default=False),
        to: Optional[str] = typer.Option(None, "--to", help="To whom it was reported: one of the policy's mandatory_report.authorities (cpcm policy show), or other with --to-other.", show_default=False),
        to_other: Optional[str] = typer.Option(None, "--to-other", help="With --to other: the authority in words.", show_default=False),
        reported_on: Optional[str] = typer.Option(None, "--reported-on", help="When it was reported (YYYY-MM-DD).", show_default=False),
        reference: Optional[str] = typer.Option(None, "--reference", help="The authority's reference number (an OB number, say).", show_default=False),
        basis: Optional[str] = typer.Option(None, "--basis", help="Not reported: best_interests or safety (the harm reporting could cause).", show_default=False),
        rationale: Optional[str] = typer.Option(None, "--rationale", help="Why this decision is in the child's best interests (always required).", show_default=False),
        law_explained: Optional[str] = typer.Option(None, "--law-explained", help="yes or no: the mandatory-reporting rules were explained to the child and family.", show_default=False),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a mandatory-reporting decision: a concern reported to an authority (to whom,
        when, its reference number), or not reported (the best-interests or safety reason), with
        the rationale, and whether the rules were explained to the child and family. A
        caseworker's decision not to report waits for a supervisor: cpcm approve|reject CASE
        mandatory-report.

        Example: cpcm mandatory-report CP-4F7K-9X2N --concern sexual_abuse --decision reported --to police --reported-on 2026-11-23 --reference "OB 12/23/11/2026" --rationale "..." --law-explained yes
        Example: cpcm mandatory-report CP-4F7K-9X2N --concern physical_abuse --decision not_reported --basis safety --rationale "..." --law-explained yes
        Example: cpcm form blank mandatory-report > report.yaml; cpcm mandatory-report CP-4F7K-9X2N --from-file report.yaml
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        flags = {"concerns": Opt("--concern", list(concern) or None), "concern_other": Opt("--concern-other", concern_other), "decision": Opt("--decision", decision), "to": Opt("--to", to),
                 "to_other": Opt("--to-other", to_other), "reported_on": Opt("--reported-on", reported_on), "reference": Opt("--reference", reference), "basis": Opt("--basis", basis),
                 "rationale": Opt("--rationale", rationale), "law_explained": Opt("--law-explained", law_explained)}
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "mandatory_report"), from_file, set_, flags, no_input,
                      first=lambda given: service.check_writable(ctx, case_id, "mandatory_report", given, when))
        result = written(ctx, data, lambda answers: service.mandatory_report(ctx, case_id, answers, when))
        decided = "reported" if result.extra.get("decision") == "reported" else "not reported"
        waits = "; it waits for a supervisor's decision" if result.extra.get("needs_approval") else ""
        report_written(result, json_out, f"mandatory-report decision recorded for {case_id}: {decided}{waits}")
