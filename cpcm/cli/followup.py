"""cpcm followup / review / close / reopen / continue / note: following a case to its end."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, RepoOpt, SetOpt, gather, open_ctx, parse_at,
                             print_json, read_yaml_input, report_written, say, warn, with_progress)


def register(app: typer.Typer) -> None:
    @app.command("followup")
    def followup(
        case: str = typer.Argument(..., help="Case ID."),
        method: Optional[str] = typer.Option(None, "--method", help="home_visit, phone, office, provider or community."),
        purpose: Optional[str] = typer.Option(None, "--purpose", help="monitoring, plan_action, crisis, pre_closure, post_closure, other."),
        purpose_detail: Optional[str] = typer.Option(None, "--purpose-detail", help="What the visit is for (required before a home visit)."),
        visited_by: Optional[str] = typer.Option(None, "--visited-by", help="professional, para_social_worker or volunteer."),
        risk_increased: Optional[str] = typer.Option(None, "--risk-increased", help="yes or no."),
        risk: Optional[str] = typer.Option(None, "--risk", help="The risk level now, when re-rated."),
        risk_reason: Optional[str] = typer.Option(None, "--risk-reason"),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a follow-up or monitoring contact; "risk increased" raises an urgent item.

        Example: cpcm followup CP-4F7K-9X2M --method home_visit --purpose monitoring --purpose-detail "check school attendance" --visited-by professional --risk-increased no
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        data = gather(ctx, service.form_for(ctx, "followup"), from_file, set_,
                      {"method": method, "purpose": purpose, "purpose_detail": purpose_detail, "visited_by": visited_by,
                       "risk_increased": risk_increased, "risk": risk, "risk_reason": risk_reason}, no_input)
        report_written(service.followup(ctx, case_id, data, parse_at(at)), json_out, f"follow-up recorded for {case_id}")

    @app.command("review")
    def review(
        case: Optional[str] = typer.Argument(None, help="Case ID (or use --batch)."),
        batch: Optional[Path] = typer.Option(None, "--batch", help="A YAML list or CSV file, one review per row, with a 'case' column."),
        dry_run: bool = typer.Option(False, "--dry-run", help="With --batch: check every row, write nothing."),
        chair: Optional[str] = typer.Option(None, "--chair", help="A worker id, or the name and role of someone not involved."),
        outcome: Optional[str] = typer.Option(None, "--outcome", help="continue, replan, reassess or close."),
        decision: List[str] = typer.Option([], "--decision", help="A decision (repeat)."),
        next_review: Optional[str] = typer.Option(None, "--next-review", help="Only earlier than the policy's interval."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a case review; or review many cases from a file in one commit (--batch).

        Example: cpcm review CP-4F7K-9X2M --from-file review.yaml
        Example: cpcm review --batch reviews.csv --dry-run
        """
        from cpcm import service
        from cpcm.errors import UsageError

        ctx = open_ctx(repo, identity)
        if batch is not None:
            rows = _read_rows(batch)
            result = with_progress(lambda tick: service.review_batch(ctx, rows, dry_run, tick), len(rows) * (1 if dry_run else 2), "reviews")
            for message in result.warnings:
                warn(message)
            if json_out:
                print_json(result.to_json())
            else:
                say(f"{result.extra['checked']} review(s) checked"
                    + (", nothing written (--dry-run)" if dry_run else f", {result.extra['reviewed']} written in one commit"))
            return
        if not case:
            raise UsageError("give a case ID, or --batch FILE")
        case_id = service.parse_case_id(case)
        data = gather(ctx, service.form_for(ctx, "review"), from_file, set_,
                      {"chair": chair, "outcome": outcome, "decisions": list(decision) or None, "next_review": next_review}, no_input)
        report_written(service.review(ctx, case_id, data, parse_at(at)), json_out, f"review recorded for {case_id}")

    @app.command("close")
    def close(
        case: str = typer.Argument(..., help="Case ID."),
        reason: Optional[str] = typer.Option(None, "--reason", help="goals_met, declined, reached_18, death, no_longer_eligible, transferred, agency_exit, registered_in_error."),
        check: List[str] = typer.Option([], "--check", help="A checklist item confirmed (repeat); 'cpcm policy show' lists each reason's items."),
        explain: Optional[str] = typer.Option(None, "--explain-open", help="Why open referrals or unfinished actions can be left."),
        summary: Optional[str] = typer.Option(None, "--summary"),
        override_readiness: Optional[str] = typer.Option(None, "--override-readiness", help="A supervisor's or manager's reason to close without a recent readiness record that meets the closure rule (kenya profile)."),
        from_file: FromFileOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Request closure, with the reason's checklist; a supervisor or manager approves it.

        Example: cpcm close CP-4F7K-9X2M --reason goals_met --check child_safe --check wellbeing_supported --check no_further_concerns --check monitoring_followups_done --check child_and_family_took_part
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        data = gather(ctx, service.form_for(ctx, "closure"), from_file, None,
                      {"reason": reason, "checklist": list(check) or None, "open_items_explained": explain, "summary": summary,
                       "readiness_override": override_readiness}, True)
        report_written(service.close(ctx, case_id, data, parse_at(at)), json_out, f"closure recorded for {case_id}")

    @app.command("reopen")
    def reopen(case: str = typer.Argument(..., help="Case ID."), reason: str = typer.Option(..., "--reason", help="The new information or changed situation."),
               at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Reopen a closed case: same case ID, history kept, back to assessment.

        Example: cpcm reopen CP-4F7K-9X2M --reason "new report from the school"
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        report_written(service.reopen(ctx, case_id, reason, parse_at(at)), json_out, f"{case_id} reopened")

    @app.command("continue")
    def continue_(case: str = typer.Argument(..., help="Case ID."),
                  justification: str = typer.Option(..., "--justification", help="Why the young person still needs the service at 18."),
                  at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Keep a case open as the child reaches 18, with the justification.

        Example: cpcm continue CP-4F7K-9X2M --justification "finishing secondary school; no family support"
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        report_written(service.continue_(ctx, case_id, justification, parse_at(at)), json_out, f"{case_id} stays open")

    @app.command("note")
    def note(case: str = typer.Argument(..., help="Case ID."), text: Optional[str] = typer.Option(None, "--text", help="The note ('-' reads standard input)."),
             at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Add a note to a case (closed and transferred cases too).

        Example: echo "Grandmother called: all well" | cpcm note CP-4F7K-9X2M --text -
        """
        from cpcm import service
        from cpcm.cli.common import read_input

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        body = read_input("-", "--text (standard input)") if text == "-" else (text or "")
        report_written(service.note(ctx, case_id, body, parse_at(at)), json_out, f"note added to {case_id}")


def _read_rows(path: Path) -> list[dict]:
    """Rows of a batch file: a YAML list of mappings, or CSV with dotted column names
    (attended.child) and ';' between the items of a list (decisions)."""
    from cpcm.cli.common import read_table
    from cpcm.domain.text import put
    from cpcm.errors import UsageError

    if path.suffix.lower() == ".csv":
        rows = []
        for number, raw in enumerate(read_table(path, "--batch"), start=2):
            row: dict = {}
            for key, value in raw.items():
                if key and isinstance(value, str) and value.strip():
                    put(row, key.strip(), value.strip(), f"--batch: row {number}")
            rows.append(row)
        return rows
    data = read_yaml_input(str(path), "--batch")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise UsageError("--batch: a batch is a YAML list of mappings (one per case) or a CSV file")
    return data

