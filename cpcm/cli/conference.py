"""cpcm conference new | add-case | attend | minutes | close | list | show: case conferences
(Kenya case-conferencing SOP, usable in any policy profile). Documents: cpcm render agenda |
minutes | conference-report CONF."""
from __future__ import annotations

from typing import Optional

import typer

from cpcm.cli.common import (FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, RepoOpt, SetOpt, gather, open_ctx, print_json,
                             print_table, report_problems, report_written, say)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Case conferences: plan one, nominate cases, record attendance and minutes, close it into each case's plan.",
                        no_args_is_help=True)
    app.add_typer(group, name="conference")

    @group.command("new")
    def new(
        kind: str = typer.Option(..., "--kind", help="internal (staff only), external (with external partners) or aac (sub-county AAC/ACC)."),
        date: str = typer.Option(..., "--date", help="The day of the conference (YYYY-MM-DD, or YYYY-MM-DDTHH:MM with its start time)."),
        chair: Optional[str] = typer.Option(None, "--chair", help="The chair's worker id (default: you).", show_default=False),
        venue: Optional[str] = typer.Option(None, "--venue", show_default=False),
        notice_sent: Optional[str] = typer.Option(None, "--notice-sent", help="When participants were told (SOP: 7 days ahead).", show_default=False),
        invitations_sent: Optional[str] = typer.Option(None, "--invitations-sent", help="When invitations went out (Form 3: at least 1 week ahead).", show_default=False),
        attendance_confirmed: Optional[str] = typer.Option(None, "--attendance-confirmed", help="When attendance was confirmed (Form 3: at least 3 days ahead).", show_default=False),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Plan a case conference; prints its ID and warns where the dates break the SOP's timeline.

        Example: cpcm conference new --kind internal --date 2026-12-03 --venue "Meeting room" --notice-sent 2026-11-23
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        result = conferences.new(ctx, kind.strip().lower(), date, chair, venue, notice_sent, invitations_sent, attendance_confirmed)
        report_written(result, json_out, f"conference planned: {result.subject_id}")
        if not json_out:
            print(result.subject_id)

    @group.command("add-case")
    def add_case(
        conf: str = typer.Argument(..., help="Conference ID."),
        case: str = typer.Argument(..., help="Case ID."),
        reason: str = typer.Option(..., "--reason", help="service_options_exhausted, unresolved_protection_concern or especially_difficult."),
        presentation: Optional[str] = typer.Option(None, "--presentation", help="A short written presentation (case ID only, no names).", show_default=False),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Nominate a case for the conference; prints the SOP's presentation prompts (Forms 1 and 2).

        Example: cpcm conference add-case CC-4F7K-9X2M CP-7H3D-2K9Q --reason unresolved_protection_concern
        """
        from cpcm import service
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        case_id = service.parse_case_id(case)
        result = conferences.add_case(ctx, conference_id, case_id, reason.strip().lower(), presentation)
        report_written(result, json_out, f"{case_id} nominated for {conference_id} ({result.extra['cases']} case(s))")
        if not json_out:
            for line in result.extra["prompts"]:
                say(line)

    @group.command("attend")
    def attend(
        conf: str = typer.Argument(..., help="Conference ID."),
        institution: Optional[str] = typer.Option(None, "--institution", show_default=False),
        name: Optional[str] = typer.Option(None, "--name", help="The member's name (a professional; kept encrypted).", show_default=False),
        position: Optional[str] = typer.Option(None, "--position", show_default=False),
        contact: Optional[str] = typer.Option(None, "--contact", show_default=False),
        signed: Optional[str] = typer.Option(None, "--confidentiality-signed", help="yes, no, or verbal (consent noted where signing is impossible).", show_default=False),
        present: str = typer.Option("yes", "--present", help="yes or no."),
        family: bool = typer.Option(False, "--family", help="A child or family member (only --name is needed): counted in the meeting documents, never named."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a member in the attendance register (Form 6) with the confidentiality agreement
        (Form 5); a member who has not signed cannot be recorded as present. A child or family
        member present is recorded with --family: the documents count them and never name them.

        Example: cpcm conference attend CC-4F7K-9X2M --institution "Sub-county children's office" --name "A. Officer" --position SCCO --contact 0700000000 --confidentiality-signed yes
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        data = {"institution": institution, "name": name, "position": position, "contact": contact,
                "confidentiality_signed": signed, "present": present, "role": "family" if family else None}
        result = conferences.attend(ctx, conference_id, data)
        report_written(result, json_out, f"attendance recorded for {conference_id} ({result.extra['participants']} present)")

    @group.command("minutes")
    def minutes(
        conf: str = typer.Argument(..., help="Conference ID."),
        from_file: FromFileOpt = None, set_: SetOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record the minutes (Form 7): discussion notes, and per case the discussion, decisions and
        actions (risk or need, action, responsible person or institution, timeline). Case IDs only.
        'cpcm form blank conference-minutes' prints a skeleton.

        Example: cpcm conference minutes CC-4F7K-9X2M --from-file minutes.yaml
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        data = gather(ctx, "conference-minutes", from_file, set_, {}, no_input)
        report_written(conferences.minutes(ctx, conference_id, data), json_out, f"minutes recorded for {conference_id}")

    @group.command("close")
    def close(
        conf: str = typer.Argument(..., help="Conference ID."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Close the conference: each case's actions go into its plan as a new version (reason
        conference_decision), each case gets a record linking to the conference, and the report is
        due within 24 hours. One commit.

        Example: cpcm conference close CC-4F7K-9X2M
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        result = conferences.close(ctx, conference_id)
        report_written(result, json_out, f"{conference_id} closed: actions copied into {len([c for c in result.extra['cases'] if c['plan_record_id']])} case plan(s)")

    @group.command("list")
    def list_(repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """The conferences you can read, by date.

        Example: cpcm conference list --json
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        found = conferences.list_conferences(ctx)
        rows = [{"conference_id": c.id, "kind": c.kind, "date": c.date, "chair": c.chair, "status": c.status,
                 "cases": len(c.cases), "participants": len(c.present)} for c in found]
        if json_out:
            print_json(rows)
        else:
            print_table(["conference", "kind", "date", "chair", "status", "cases", "present"],
                        [list(r.values()) for r in rows], title=f"{len(rows)} conference(s)")
        report_problems(ctx)

    @group.command("show")
    def show(conf: str = typer.Argument(..., help="Conference ID."),
             repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """A conference as it stands: kind, date, chair, the Form 3 checklist, cases, attendance, minutes.

        Example: cpcm conference show CC-4F7K-9X2M
        """
        from cpcm.service import conferences
        from cpcm.workflow import conferences as rules

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        found = conferences.load(ctx, conference_id)
        data = found.to_dict()
        day = rules.meeting_day(found)
        data["warnings"] = ([] if found.closed_at else rules.timeline_warnings(found.checklist, day, ctx.policy, ctx.now.date()))
        data["warnings"] += [w for w in (rules.participants_warning(len(found.present), ctx.policy) if found.minutes is not None else None,
                                         rules.cases_warning(found.kind, len(found.cases), ctx.policy)) if w]
        if json_out:
            print_json(data)
            return
        rows = [("conference", found.id), ("kind", found.kind), ("date", found.date), ("chair", found.chair),
                ("venue", found.venue or ""), ("status", found.status)]
        rows += [(key.replace("_", " "), value or "not yet") for key, value in found.checklist.items()]
        rows += [("cases", ", ".join(f"{c['case_id']} ({c['reason']})" for c in found.cases) or "none"),
                 ("present", f"{len(found.present)} of {len(found.attendees)} in the register"),
                 ("minutes", "recorded" if found.minutes is not None else "not yet"),
                 ("report", "rendered" if found.report_rendered_at else ("due" if found.closed_at else "after closing"))]
        print_table(["", ""], rows)
        for warning in data["warnings"]:
            say(f"warning: {warning}")
