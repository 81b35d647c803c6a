"""cpcm complaint record | respond | list | show: a complaints register with an impartial route
(ESARO P1): read by the agency's supervisors and managers and the worker who recorded a
complaint, never by a worker it is about. `record --corrects` and `respond --corrects` correct
a complaint and its response."""
from __future__ import annotations

from typing import List, Optional

import typer

from cpcm.cli.common import AtOpt, IdentityOpt, JsonOpt, RepoOpt, open_ctx, parse_at, report_written
from cpcm.cli.folders import day, print_list, print_new, print_one


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Complaints: record one a child or anyone else made, respond to it, read back those you may read, correct one.",
                        no_args_is_help=True)
    app.add_typer(group, name="complaint")

    @group.command("record")
    def record(
        from_: Optional[str] = typer.Option(None, "--from", help="Who made it: child, caregiver, family_member, community or other.", show_default=False),
        setting: Optional[str] = typer.Option(None, "--setting", help="Where the child lives: residential, family, community or other.", show_default=False),
        summary: Optional[str] = typer.Option(None, "--summary", help="What the complaint says (encrypted only); '-' reads it from standard input.", show_default=False),
        case: Optional[str] = typer.Option(None, "--case", help="The case it concerns, by case ID; never a name.", show_default=False),
        about_worker: List[str] = typer.Option([], "--about-worker", help="A worker it is about, by team id (repeat): never among its readers."),
        concerns: List[str] = typer.Option([], "--concerns", help="staff_conduct, care, service, abuse or other (repeat)."),
        disability: Optional[str] = typer.Option(None, "--disability", help="Whether the child has a disability: yes, no or unknown (default).", show_default=False),
        corrects: Optional[str] = typer.Option(None, "--corrects", help="A complaint ID (CM-...): correct that complaint (a wrong case, a typo in the summary) with what is given; with --reason.", show_default=False),
        reason: Optional[str] = typer.Option(None, "--reason", help="With --corrects: what was wrong (required).", show_default=False),
        at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a complaint received (any member of the team: a child tells whoever they
        trust). It is encrypted to you and the agency's supervisors and managers, never to a worker
        it is about (--about-worker), whatever their role. Refused, with nothing written, when
        nobody but you would read it. --at: when it was received (default now). Prints its ID.

        Example: cpcm complaint record --from child --setting residential --about-worker baraka --concerns staff_conduct --summary - < said.txt
        Example: cpcm complaint record --from caregiver --case CP-4F7K-9X2N --setting family --concerns service --summary "no visit since May"

        With --corrects COMPLAINT a mistake is corrected (by who recorded it, or a supervisor or
        manager not named in it): a new record that supersedes the one standing, with the fields
        given laid over it (--case "" unlinks the case; --concerns "" clears them); the original
        stays in its history. Who it is about (--about-worker) is not corrected: record it again.

        Example: cpcm complaint record --corrects CM-4F7K-9X2N --case CP-6KG7-M9F9 --reason "the brother's case"
        """
        from cpcm.cli.common import read_input
        from cpcm.errors import UsageError
        from cpcm.service import complaints

        ctx = open_ctx(repo, identity)
        text = read_input("-", "--summary (standard input)") if summary == "-" else summary
        if corrects is None:
            if reason is not None:
                raise UsageError("--reason goes with --corrects: a new complaint needs none", "See cpcm complaint record --help.")
            result = complaints.record(ctx, from_, setting, text, case, about_worker, concerns, disability, parse_at(at))
            print_new(result, json_out, f"complaint recorded: {result.subject_id}")
            return
        complaint_id = complaints.parse_complaint_id(corrects)
        given = {"from": from_, "setting": setting, "summary": text, "case_id": case, "disability": disability,
                 "about_workers": list(about_worker) or None, "concerns": [c for c in concerns if c.strip()] if concerns else None}
        result = complaints.correct(ctx, complaint_id, {k: v for k, v in given.items() if v is not None}, reason, parse_at(at))
        _corrected(result, json_out, complaint_id)

    @group.command("respond")
    def respond(
        complaint: str = typer.Argument(..., help="Complaint ID (CM-...)."),
        outcome: Optional[str] = typer.Option(None, "--outcome", help="upheld, partly_upheld, not_upheld, withdrawn or referred.", show_default=False),
        response: Optional[str] = typer.Option(None, "--response", help="The response given (encrypted only); '-' reads it from standard input.", show_default=False),
        action: Optional[str] = typer.Option(None, "--action", help="The action taken (encrypted only).", show_default=False),
        corrects: bool = typer.Option(False, "--corrects", help="Correct the response given (a wrong outcome, a typo) with what is given; with --reason."),
        reason: Optional[str] = typer.Option(None, "--reason", help="With --corrects: what was wrong (required).", show_default=False),
        at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Respond to a complaint (a supervisor or manager who reads it and is not named in it):
        the outcome, the response given and the action taken. The complaint is then resolved.

        Example: cpcm complaint respond CM-4F7K-9X2N --outcome upheld --response "apology given" --action "staff retrained"

        With --corrects the response given is corrected (by a supervisor or manager not named in
        it): a new record that supersedes it, with the fields given laid over it (--action ""
        removes the action); the original stays in the complaint's history.

        Example: cpcm complaint respond CM-4F7K-9X2N --corrects --outcome partly_upheld --reason "outcome mistyped"
        """
        from cpcm.cli.common import read_input
        from cpcm.errors import UsageError
        from cpcm.service import complaints

        ctx = open_ctx(repo, identity)
        complaint_id = complaints.parse_complaint_id(complaint)
        text = read_input("-", "--response (standard input)") if response == "-" else response
        if corrects:
            given = {"outcome": outcome, "response": text, "action": action}
            result = complaints.correct(ctx, complaint_id, {k: v for k, v in given.items() if v is not None}, reason,
                                        parse_at(at), response=True)
            _corrected(result, json_out, complaint_id)
            return
        if reason is not None:
            raise UsageError("--reason goes with --corrects: a first response needs none", "See cpcm complaint respond --help.")
        result = complaints.respond(ctx, complaint_id, outcome, text, action, parse_at(at))
        report_written(result, json_out, f"{complaint_id} resolved ({result.extra['outcome']})")

    @group.command("list")
    def list_(
        status: Optional[str] = typer.Option(None, "--status", help="open or resolved only.", show_default=False),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """The complaints you may read, by when they were received: ID, received, setting, whether
        about staff, status; never what was said (that is in 'cpcm complaint show').

        Example: cpcm complaint list --status open
        """
        from cpcm.errors import UsageError
        from cpcm.service import complaints
        from cpcm.workflow.complaints import OPEN, RESOLVED

        if status is not None and status.strip().lower() not in (OPEN, RESOLVED):
            raise UsageError("--status is open or resolved")
        ctx = open_ctx(repo, identity)
        found = complaints.list_complaints(ctx, status.strip().lower() if status else None)
        print_list(ctx, found, json_out, lambda c: c.summary_row(), ["complaint", "received", "setting", "about staff", "case", "status"],
                   lambda c: [c.id, day(c.at, ctx.zone), c.setting, "yes" if c.about_staff else "no", c.case or "", c.status],
                   f"{len(found)} complaint(s)")

    @group.command("show")
    def show(
        complaint: str = typer.Argument(..., help="Complaint ID (CM-...)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """A complaint you may read: what it says, who it is about, its response and history.

        Example: cpcm complaint show CM-4F7K-9X2N
        """
        from cpcm.service import complaints

        ctx = open_ctx(repo, identity)
        found = complaints.show(ctx, complaints.parse_complaint_id(complaint))
        print_one(found, json_out, lambda: _rows(found, ctx.zone))


def _corrected(result, json_out: bool, complaint_id: str) -> None:
    report_written(result, json_out, f"{complaint_id} corrected (the record {result.extra['supersedes']} stays in its history)")


def _rows(found, zone) -> list[tuple[str, str]]:
    """The fields of `cpcm complaint show`, with its response and history."""
    rows = [("complaint", found.id), ("received", day(found.at, zone)), ("recorded by", found.recorded_by),
            ("from", found.source), ("setting", found.setting), ("case", found.case or "none"),
            ("about workers", ", ".join(found.about) or "none"), ("concerns", ", ".join(found.concerns) or "none"),
            ("disability", found.disability), ("summary", found.summary), ("status", found.status)]
    if found.response:
        rows += [("outcome", str(found.response.get("outcome"))), ("response", str(found.response.get("response") or "")),
                 ("responded", f"{day(str(found.response.get('at')), zone)} by {found.response.get('by')}")]
        if found.response.get("action"):
            rows.append(("action", str(found.response["action"])))
    rows += [(f"record {h['record_id']}", f"{h['kind']} by {h['by']}" + (f" ({h['outcome']})" if h.get("outcome") else "")
              + (f", corrects {h['supersedes']} ({h.get('reason')})" if h.get("supersedes") else "")) for h in found.history]
    return rows
