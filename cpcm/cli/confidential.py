"""cpcm confidential add | list | show: a case's strictly confidential section (IAG record
keeping [L648]), read by the worker who wrote an entry and the agency's supervisors and managers
it does not exclude; never by another caseworker of the case."""
from __future__ import annotations

from typing import List, Optional

import typer

from cpcm.cli.common import AtOpt, IdentityOpt, JsonOpt, RepoOpt, open_ctx, parse_at
from cpcm.cli.folders import day, print_list, print_new, print_one


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="A case's strictly confidential section: write an entry, read back those you may read.",
                        no_args_is_help=True)
    app.add_typer(group, name="confidential")

    @group.command("add")
    def add(
        case: str = typer.Argument(..., help="Case ID (CP-...)."),
        text: Optional[str] = typer.Option(None, "--text", help="What the entry says (encrypted only); '-' reads it from standard "
                                           "input. Prefer '-': text on the command line can show in the process list and your "
                                           "shell's history.", show_default=False),
        exclude: List[str] = typer.Option([], "--exclude", help="A worker of the team who must never read it, by team id (repeat): "
                                          "a supervisor or manager, or a caseworker who may become one; never you, nor a worker "
                                          "removed from the team."),
        at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Write an entry in a case's strictly confidential section (a reader of the case). It is
        encrypted to you and the agency's supervisors and managers, less those you --exclude; no
        other caseworker reads it, the case's own worker included unless they wrote it. Refused,
        with nothing written, when no supervisor or manager would read it. Prints its ID (SC-...).

        What it says is best given on standard input (--text -): text on the command line can
        show in the process list and your shell's history.

        Example: cpcm confidential add CP-4F7K-9X2N --text - < disclosure.txt
        Example: cpcm confidential add CP-4F7K-9X2N --exclude baraka --text - < disclosure.txt
        """
        from cpcm.cli.common import read_input
        from cpcm.service import confidential
        from cpcm.service.context import parse_case_id

        case_id = parse_case_id(case)
        ctx = open_ctx(repo, identity)
        body = read_input("-", "--text (standard input)") if text == "-" else text
        result = confidential.add(ctx, case_id, body, exclude, parse_at(at))
        print_new(result, json_out, f"strictly confidential entry written: {result.subject_id} ({case_id})")

    @group.command("list")
    def list_(
        case: str = typer.Argument(..., help="Case ID (CP-...)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """The entries of a case's strictly confidential section you may read, by when written:
        ID, when, who wrote it, who is excluded; never what it says (that is in 'cpcm
        confidential show').

        Example: cpcm confidential list CP-4F7K-9X2N
        """
        from cpcm.service import confidential
        from cpcm.service.context import parse_case_id

        case_id = parse_case_id(case)
        ctx = open_ctx(repo, identity)
        found = confidential.list_entries(ctx, case_id)
        print_list(ctx, found, json_out, lambda e: e.summary_row(), ["entry", "at", "written by", "excluded"],
                   lambda e: [e.id, day(e.at, ctx.zone), e.written_by, ", ".join(e.excluded)],
                   f"{case_id}: {len(found)} strictly confidential entr(ies) you may read")

    @group.command("show")
    def show(
        entry: str = typer.Argument(..., help="Entry ID (SC-...)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """An entry of a strictly confidential section you may read: what it says, its case, who
        wrote it and who is excluded.

        Example: cpcm confidential show SC-4F7K-9X2N
        """
        from cpcm.service import confidential

        ctx = open_ctx(repo, identity)
        found = confidential.show(ctx, confidential.parse_entry_id(entry))
        print_one(found, json_out, lambda: [("entry", found.id), ("case", found.case), ("at", day(found.at, ctx.zone)),
                                            ("written by", found.written_by), ("excluded", ", ".join(found.excluded) or "none"),
                                            ("text", found.text), ("record", found.record_id)],
                  title="STRICTLY CONFIDENTIAL")
