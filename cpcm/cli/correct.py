"""cpcm correct: correct a record by a new one that supersedes it (the original is kept)."""
from __future__ import annotations

from typing import Any, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, RepoOpt, SetOpt, open_ctx, parse_at, read_yaml_input,
                             report_written, set_pairs)


def register(app: typer.Typer) -> None:
    @app.command("correct")
    def correct(
        case: str = typer.Argument(..., help="Case ID."),
        record: str = typer.Argument(..., help="The record to correct: its ID (cpcm log), or plan, assessment@initial, followup, R1@declined, last ..."),
        reason: Optional[str] = typer.Option(None, "--reason", help="What was wrong (required)."),
        from_file: FromFileOpt = None, sets: SetOpt = None,
        at: AtOpt = None,
        misfiled: bool = typer.Option(False, "--misfiled", help="The record was written in the wrong case: take it out of "
                                      "this one (a note or a follow-up; its writer or a supervisor). Takes --reason, --to and --keep-schedule only."),
        to: Optional[str] = typer.Option(None, "--to", help="With --misfiled: the case it belongs to; its content is written "
                                         "there, for that case's readers, dated when it happened."),
        keep_schedule: bool = typer.Option(False, "--keep-schedule", help="With --to, for a follow-up that planned the next "
                                           "visit (--next-followup, --every): the copy keeps that plan, and it becomes the "
                                           "other case's. Without it, the copy counts as a visit there and that case's own plan runs from it."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Correct a record (a mistyped date or answer): a new record of the same kind that
        supersedes it, holding the original's fields with those given laid over them (a field
        given empty is removed; --at corrects when it happened). The case uses the correction
        from then on; the original stays in git, in cpcm log and in cpcm show CASE RECORD.
        What a supervisor approved or rejected (an approved plan's goals and actions, a closure's
        reason) is corrected only by one who may decide it: a plan's change is its next version
        (cpcm plan CASE --from-current --set ...), which waits for approval.

        Example: cpcm correct CP-4F7K-9X2N followup --at 2026-01-28T11:00 --reason "date mistyped"
        Example: cpcm correct CP-4F7K-9X2N assessment@comprehensive --from-file fix.yaml --reason "wrong rating"
        Example: cpcm correct CP-4F7K-9X2N plan --set actions.A3.by=2026-12-20 --reason "date wrong"
        Example: cpcm correct CP-4F7K-9X2N R1@declined --set status=accepted --set start=2026-12-01 --set expected_duration=3mo --reason "the provider accepted"

        A record written in the wrong case (a note about a sibling, say) is taken out of it with
        --misfiled: the case, its transfers, the case file and the child's file leave it out;
        cpcm show CASE RECORD still reads it, marked MISFILED. --to OTHER-CASE writes it again there;
        a follow-up's next visit (--next-followup, --every) goes with it only with --keep-schedule.

        Example: cpcm correct CP-4F7K-9X2N note --misfiled --to CP-6KG7-M9F9 --reason "about the brother"
        Example: cpcm correct CP-4F7K-9X2N followup --misfiled --to CP-6KG7-M9F9 --keep-schedule --reason "his visit"
        """
        from cpcm import service
        from cpcm.errors import UsageError

        if keep_schedule and not misfiled:  # a plain correction does not take it; with --misfiled, the service asks for --to
            from cpcm.service.misfiled import keep_schedule_alone

            raise keep_schedule_alone(service.parse_case_id(case), record)
        if misfiled or to is not None:
            given = [name for name, value in (("--set", sets), ("--from-file", from_file), ("--at", at)) if value]
            if not misfiled:
                raise UsageError("--to goes with --misfiled: it names the case a record written in the wrong case belongs to",
                                 "cpcm correct CASE RECORD --misfiled --to OTHER-CASE --reason TEXT")
            if given:
                raise UsageError(f"--misfiled takes the record out of the case as it was written: {', '.join(given)} cannot "
                                 "go with it", "Correct the record where it belongs (its copy there, after --to).")
        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        if misfiled:
            result = service.correct_misfiled(ctx, case_id, record, reason, to, keep_schedule)
            moved = result.extra.get("moved_to") or {}
            report_written(result, json_out, f"{result.record_id} marks {result.extra['supersedes']} of {case_id} as written "
                           "in the wrong case" + (f"; moved to {moved['case']} as {moved['record']}" if moved else ""))
            return
        data: dict[str, Any] = {}
        if from_file:
            loaded = read_yaml_input(from_file)
            if loaded is not None and not isinstance(loaded, dict):
                raise UsageError("--from-file: a correction is a YAML mapping of the record's fields (key: value)",
                                 f"cpcm show {case_id} RECORD --json lists them under 'fields'.")
            data = loaded or {}
        result = service.correct(ctx, case_id, record, data, reason, parse_at(at), set_pairs(sets, "observations='...'"))
        placed = result.extra.get("placement")  # a placement: which one, by its day and care type
        said = f": the placement of {placed['at']} ({str(placed['care_type'] or '').replace('_', ' ')})" if placed else ""
        report_written(result, json_out, f"{result.record_id} corrects {result.extra['supersedes']} of {case_id}{said}")
