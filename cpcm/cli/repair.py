"""cpcm repair: supersede a damaged record so its case reads again."""
from __future__ import annotations

import typer

from cpcm.cli.common import AtOpt, IdentityOpt, JsonOpt, RepoOpt, open_ctx, parse_at, report_written


def register(app: typer.Typer) -> None:
    @app.command("repair")
    def repair(
        case: str = typer.Argument(..., help="Case ID."),
        record: str = typer.Argument(..., help="The damaged record's ID (the file name's first part; cpcm verify and cpcm log name it)."),
        reason: str = typer.Option(..., "--reason", help="What is wrong with the record, and what was done about it (required)."),
        at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Supersede a record that cannot be decrypted or read (cpcm verify: record-unreadable):
        a `repair` record is written in its place, and the case is read without it. The damaged
        file stays in git as it is; `cpcm log` shows both. A supervisor or the case's worker
        repairs; restore the file from git instead when git holds a good copy.

        Example: cpcm repair CP-4F7K-9X2N 01M84MZFNKYMYF8Q45X9KXS09T --reason "written with a bad character; the visit is recorded again"
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        result = service.repair(ctx, case_id, record, reason, parse_at(at))
        report_written(result, json_out, f"{case_id}: record {result.extra['supersedes']} superseded by {result.record_id}")
