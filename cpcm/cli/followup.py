"""cpcm followup / review / close / reopen / continue / note: following a case to its end."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, gather, open_ctx, parse_at,
                             report_written, risk_reason_needed, written)


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
        done: List[str] = typer.Option([], "--done", help="A plan action found done, by its ID (A3; repeat): it leaves cpcm due."),
        next_followup: Optional[str] = typer.Option(None, "--next-followup", help="The date of the next follow-up (YYYY-MM-DD): it goes on cpcm due."),
        every: Optional[str] = typer.Option(None, "--every", help="How often to follow the case up from now (1d, 2w, 1mo), kept until a later follow-up changes it; none to stop."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a follow-up or monitoring contact; "risk increased" raises an urgent item; plan
        the next one by a date (--next-followup) or how often (--every): it goes on cpcm due.

        Example: cpcm followup CP-4F7K-9X2N --method home_visit --purpose monitoring --purpose-detail "check school attendance" --visited-by professional --risk-increased no --every 2w
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "followup"), from_file, set_,
                      {"method": Opt("--method", method), "purpose": Opt("--purpose", purpose), "purpose_detail": Opt("--purpose-detail", purpose_detail), "visited_by": Opt("--visited-by", visited_by),
                       "risk_increased": Opt("--risk-increased", risk_increased), "risk": Opt("--risk", risk), "risk_reason": Opt("--risk-reason", risk_reason),
                       "next_followup": Opt("--next-followup", next_followup), "followup_every": Opt("--every", every)}, no_input,
                      risk_reason_needed(ctx, case_id),  # a closed case: a post-closure visit, if that is the purpose answered
                      first=lambda given: service.check_writable(ctx, case_id, "followup", given, when, maybe=({"purpose": "post_closure"},)))
        report_written(written(ctx, data, lambda answers: service.followup(ctx, case_id, answers, when, done)), json_out,
                       f"follow-up recorded for {case_id}")

    @app.command("review")
    def review(
        case: Optional[str] = typer.Argument(None, help="Case ID (or use --batch)."),
        batch: Optional[Path] = typer.Option(None, "--batch", help="A YAML list or CSV file, one review per row, with a 'case' column."),
        dry_run: bool = typer.Option(False, "--dry-run", help="With --batch: check every row, write nothing."),
        chair: Optional[str] = typer.Option(None, "--chair", help="A worker id, or the name and role of someone not involved."),
        outcome: Optional[str] = typer.Option(None, "--outcome", help="continue, replan, reassess or close."),
        decision: List[str] = typer.Option([], "--decision", help="A decision (repeat)."),
        next_review: Optional[str] = typer.Option(None, "--next-review", help="Only earlier than the policy's interval."),
        done: List[str] = typer.Option([], "--done", help="A plan action found done, by its ID (A3; repeat): it leaves cpcm due."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a case review; or review many cases from a file in one commit (--batch).

        Example: cpcm review CP-4F7K-9X2N --from-file review.yaml
        Example: cpcm review --batch reviews.csv --dry-run
        """
        from cpcm import service
        from cpcm.errors import UsageError

        if batch is not None:
            # a batch takes its reviews from the file only, dated now: an option for one review would be dropped
            one = {"CASE": case, "--chair": chair, "--outcome": outcome, "--decision": decision, "--next-review": next_review,
                   "--done": done, "--from-file": from_file, "--set": set_, "--at": at}
            given = [name for name, value in one.items() if value]
            if given:
                raise UsageError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with one case, not with --batch",
                                 "Give each review's fields as columns of the batch file; a batch is dated now.")
            from cpcm.cli.batch import review_batch_command

            return review_batch_command(batch, dry_run, repo, identity, json_out)
        if dry_run:
            raise UsageError("--dry-run goes with --batch: a review of one case is written when it is valid",
                             "To check a review first: cpcm review --batch FILE --dry-run, with one row.")
        ctx = open_ctx(repo, identity)
        if not case:
            raise UsageError("give a case ID, or --batch FILE")
        case_id = service.parse_case_id(case)
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "review"), from_file, set_,
                      {"chair": Opt("--chair", chair), "outcome": Opt("--outcome", outcome), "decisions": Opt("--decision", list(decision) or None), "next_review": Opt("--next-review", next_review)}, no_input,
                      first=lambda given: service.check_writable(ctx, case_id, "review", given, when))
        report_written(written(ctx, data, lambda answers: service.review(ctx, case_id, answers, when, done)), json_out,
                       f"review recorded for {case_id}")

    @app.command("close")
    def close(
        case: str = typer.Argument(..., help="Case ID."),
        reason: Optional[str] = typer.Option(None, "--reason", help="The reason: one of the policy's closure_reasons, each with its checklist (cpcm policy show | grep closure_reasons); with --withdraw: why."),
        withdraw: bool = typer.Option(False, "--withdraw", help="Take back your own closure request that still waits for approval (with --reason); the case returns to the stage it had."),
        check: List[str] = typer.Option([], "--check", help="A checklist item confirmed (repeat), or all for every item of the reason; 'cpcm policy show' lists each reason's items."),
        explain: Optional[str] = typer.Option(None, "--explain-open", help="Why open referrals or unfinished actions can be left."),
        summary: Optional[str] = typer.Option(None, "--summary"),
        override_readiness: Optional[str] = typer.Option(None, "--override-readiness", help="A supervisor's or manager's reason to close without a recent readiness record that meets the closure rule (kenya profile)."),
        child_feedback: Optional[str] = typer.Option(None, "--child-feedback", help="The child's feedback on the services (Form 9A); 'no feedback' is --set feedback.child_given=no."),
        caregiver_feedback: Optional[str] = typer.Option(None, "--caregiver-feedback", help="The caregiver's feedback on the services (Form 9A); 'no feedback' is --set feedback.caregiver_given=no."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Request closure, with the reason's checklist; a supervisor or manager approves it, and
        the one who asked may take the request back while it waits (--withdraw). In the kenya profile the checklist is Form 9A's, with the child's and the caregiver's
        feedback, and the Sub-County Children's Officer's approval recorded first (cpcm sign-off).

        Example: cpcm close CP-4F7K-9X2N --reason goals_met --check child_safe --check wellbeing_supported --check no_further_concerns --check monitoring_followups_done --check child_and_family_took_part
        Example: cpcm close CP-4F7K-9X2N --reason goals_met --check final_visit_scheduled --check closure_recommended_and_acc_approved --check referrals_completed_and_plans_made --check future_support_explained --child-feedback "happy at home" --set feedback.caregiver_given=no   (kenya)
        Example: cpcm close CP-4F7K-9X2N --reason not_eligible --check all   (its initial assessment concluded close_not_eligible)
        Example: cpcm close CP-4F7K-9X2N --withdraw --reason "asked for by mistake: the family still needs support"
        """
        from cpcm import service
        from cpcm.errors import UsageError

        if withdraw:
            given = [name for name, value in (("--check", check), ("--explain-open", explain), ("--summary", summary),
                                              ("--override-readiness", override_readiness), ("--child-feedback", child_feedback),
                                              ("--caregiver-feedback", caregiver_feedback), ("--from-file", from_file),
                                              ("--set", set_)) if value]
            if given:
                raise UsageError(f"--withdraw takes only --reason (not {', '.join(given)})",
                                 "Withdraw the request alone: cpcm close CASE --withdraw --reason TEXT")
        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        if withdraw:
            result = service.close_withdraw(ctx, case_id, reason or "", parse_at(at))
            report_written(result, json_out, f"the closure request of {case_id} is withdrawn")
            return
        # each feedback option sets its own fields (feedback.child_given, feedback.child), so it
        # combines with --set or --from-file for the other giver (--set feedback.caregiver_given=no)
        feedback = {}
        for who, text in (("child", child_feedback), ("caregiver", caregiver_feedback)):
            if text is not None:
                feedback[f"feedback.{who}_given"], feedback[f"feedback.{who}"] = "yes", text
        data = gather(ctx, service.form_for(ctx, "closure"), from_file, set_,
                      {"reason": Opt("--reason", reason), "checklist": Opt("--check", list(check) or None), "open_items_explained": Opt("--explain-open", explain), "summary": Opt("--summary", summary),
                       "readiness_override": Opt("--override-readiness", override_readiness), **feedback}, True,
                      no_questions="cpcm close")
        report_written(service.close(ctx, case_id, data, parse_at(at)), json_out, f"closure recorded for {case_id}")

    @app.command("sign-off")
    def sign_off(
        case: str = typer.Argument(..., help="Case ID."),
        for_: Optional[str] = typer.Option(None, "--for", help="What is signed off: closure, transfer, placement or other."),
        party: Optional[str] = typer.Option(None, "--party", help="Who signed it off: scco (Sub-County Children's Officer), acc (alternative care committee), cco, court, government_officer or other."),
        name: Optional[str] = typer.Option(None, "--name", help="The approver's name."),
        title: Optional[str] = typer.Option(None, "--title", help="The approver's title and office."),
        date: Optional[str] = typer.Option(None, "--date", help="The date of the sign-off (YYYY-MM-DD)."),
        decision: Optional[str] = typer.Option(None, "--decision", help="approved (default) or not_approved."),
        reference: Optional[str] = typer.Option(None, "--reference", help="A letter or minute number."),
        note: Optional[str] = typer.Option(None, "--note"),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record an approver outside the team signing a decision off (the Sub-County Children's
        Officer's final approval of a closure, Form 9A): name, title and date. A supervisor or
        manager enters it; the approver is not a team member.

        Example: cpcm sign-off CP-4F7K-9X2N --for closure --party scco --name "J. Mwangi" --title "Sub-County Children's Officer, Kisumu East" --date 2026-11-20
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, "sign_off"), from_file, set_,
                      {"subject": Opt("--for", for_), "party": Opt("--party", party), "name": Opt("--name", name), "title": Opt("--title", title), "date": Opt("--date", date),
                       "decision": Opt("--decision", decision or (None if from_file or any(p.startswith("decision=") for p in set_ or []) else "approved")), "reference": Opt("--reference", reference), "note": Opt("--note", note)},
                      no_input, first=lambda given: service.check_writable(ctx, case_id, "sign_off", given, when))
        report_written(written(ctx, data, lambda answers: service.sign_off(ctx, case_id, answers, when)), json_out,
                       f"sign-off recorded for {case_id}")

    @app.command("reopen")
    def reopen(case: str = typer.Argument(..., help="Case ID."), reason: str = typer.Option(..., "--reason", help="The new information or changed situation."),
               at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Reopen a closed case: same case ID, history kept, back to assessment.

        Example: cpcm reopen CP-4F7K-9X2N --reason "new report from the school"
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

        Example: cpcm continue CP-4F7K-9X2N --justification "finishing secondary school; no family support"
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        report_written(service.continue_(ctx, case_id, justification, parse_at(at)), json_out, f"{case_id} stays open")

    @app.command("retention")
    def retention(case: str = typer.Argument(..., help="Case ID of a closed or transferred case."),
                  keep_until: Optional[str] = typer.Option(None, "--keep-until", help="Keep the case until this date (YYYY-MM-DD); "
                                                           "the managers decide again then."),
                  restrict: bool = typer.Option(False, "--restrict", help="Restrict the case to the managers (and the agency's "
                                                "recovery keys): its current records are re-encrypted to them only."),
                  reason: str = typer.Option(..., "--reason", help="Why (the agency's protocol, a court order, a pending claim); "
                                             "no names: the case ID says whose."),
                  at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """A manager's decision on a closed case whose retention period has ended (cpcm due lists it).

        Keep it longer until a date, or restrict it so that only the managers read its current records.
        Nothing is deleted: older versions stay in git history (docs/security.md).

        Example: cpcm retention CP-4F7K-9X2N --keep-until 2031-06-30 --reason "court case pending"
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        done = f"{case_id} restricted to the managers" if restrict else f"{case_id} kept until {keep_until}"
        report_written(service.retention(ctx, case_id, reason, keep_until=keep_until, restrict=restrict, at=parse_at(at)),
                       json_out, done)

    @app.command("note")
    def note(case: str = typer.Argument(..., help="Case ID."), text: Optional[str] = typer.Option(None, "--text", help="The note ('-' reads standard input)."),
             at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Add a note to a case (closed and transferred cases too).

        Example: echo "Grandmother called: all well" | cpcm note CP-4F7K-9X2N --text -
        """
        from cpcm import service
        from cpcm.cli.common import read_input

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        body = read_input("-", "--text (standard input)") if text == "-" else (text or "")
        report_written(service.note(ctx, case_id, body, parse_at(at)), json_out, f"note added to {case_id}")
