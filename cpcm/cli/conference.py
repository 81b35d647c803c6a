"""cpcm conference new | update | add-case | attend | minutes | close | list | show | sign |
register: case conferences (Kenya case-conferencing SOP, usable in any policy profile) and the
standing confidentiality register (Form 5). Documents: cpcm render agenda | minutes |
conference-report | form-5 CONF."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from cpcm.cli.common import (FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, RepoOpt, SetOpt, gather, open_ctx, print_json,
                             print_table, report_problems, report_written, say, written)


# a virtual conference's details (SOP §8.1), the same for `conference new` and `conference update`
VirtualOpt = Annotated[bool, typer.Option("--virtual", help="Held online (SOP §8.1): with --platform and --record-keeper; each case needs a written presentation.", show_default=False)]
PlatformOpt = Annotated[Optional[str], typer.Option("--platform", help="The platform a virtual conference is held on, by name (e.g. Zoom, Google Meet), never its link.", show_default=False)]
RecordKeeperOpt = Annotated[Optional[str], typer.Option("--record-keeper", help="Who keeps a virtual conference's record (SOP §8.1), a worker id or a name and title; the minute-taker unless the minutes name another.", show_default=False)]
RecordedOpt = Annotated[Optional[str], typer.Option("--recorded", help="yes or no: whether the virtual session is (or was) recorded; yes with --recording-held-by, no with --not-recorded-reason.", show_default=False)]
RecordingHeldByOpt = Annotated[Optional[str], typer.Option("--recording-held-by", help="Who holds the recording (a person or an office; cpcm keeps no recording and no link to one).", show_default=False)]
NotRecordedReasonOpt = Annotated[Optional[str], typer.Option("--not-recorded-reason", help="Why the session is not recorded (case IDs only, no names).", show_default=False)]


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
        co_chair: Optional[str] = typer.Option(None, "--co-chair", help="A co-chair from outside the team, by name (SOP §5.4: DCS, usually the SCCO); with --co-chair-title.", show_default=False),
        co_chair_title: Optional[str] = typer.Option(None, "--co-chair-title", help="The co-chair's title, e.g. \"Sub-County Children's Officer\".", show_default=False),
        external_chair: Optional[str] = typer.Option(None, "--external-chair", help="A chair from outside the team, by name (SOP §5.5: DCS chairs the sub-county AAC); with --external-chair-title. --chair stays the team member who convenes it.", show_default=False),
        external_chair_title: Optional[str] = typer.Option(None, "--external-chair-title", show_default=False),
        virtual: VirtualOpt = False,
        platform: PlatformOpt = None,
        record_keeper: RecordKeeperOpt = None,
        recorded: RecordedOpt = None,
        recording_held_by: RecordingHeldByOpt = None,
        not_recorded_reason: NotRecordedReasonOpt = None,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Plan a case conference; prints its ID and warns where the dates break the SOP's timeline.

        Example: cpcm conference new --kind internal --date 2026-12-03 --venue "Meeting room" --notice-sent 2026-11-23
        Example: cpcm conference new --kind external --date 2026-12-10T10:00 --co-chair "A. Officer" --co-chair-title "Sub-County Children's Officer"
        Example: cpcm conference new --kind internal --date 2026-12-03T10:00 --virtual --platform "Google Meet" --record-keeper akinyi --recorded yes --recording-held-by "Lead social worker"
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        result = conferences.new(ctx, kind.strip().lower(), date, chair, venue, notice_sent, invitations_sent, attendance_confirmed,
                                 (co_chair, co_chair_title), (external_chair, external_chair_title),
                                 _virtual(virtual, False, platform, record_keeper, recorded, recording_held_by, not_recorded_reason))
        report_written(result, json_out, f"conference planned: {result.subject_id}")
        if not json_out:
            print(result.subject_id)

    @group.command("update")
    def update(
        conf: str = typer.Argument(..., help="Conference ID."),
        date: Optional[str] = typer.Option(None, "--date", help="A new date (and time): the meeting is rescheduled; needs --reason.", show_default=False),
        venue: Optional[str] = typer.Option(None, "--venue", show_default=False),
        notice_sent: Optional[str] = typer.Option(None, "--notice-sent", help="When participants were told (Form 3).", show_default=False),
        invitations_sent: Optional[str] = typer.Option(None, "--invitations-sent", help="When invitations went out (Form 3 item 6).", show_default=False),
        attendance_confirmed: Optional[str] = typer.Option(None, "--attendance-confirmed", help="When attendance was confirmed (Form 3 item 7).", show_default=False),
        co_chair: Optional[str] = typer.Option(None, "--co-chair", help="A co-chair from outside the team, by name; with --co-chair-title.", show_default=False),
        co_chair_title: Optional[str] = typer.Option(None, "--co-chair-title", show_default=False),
        external_chair: Optional[str] = typer.Option(None, "--external-chair", help="A chair from outside the team, by name; with --external-chair-title.", show_default=False),
        external_chair_title: Optional[str] = typer.Option(None, "--external-chair-title", show_default=False),
        case: Optional[str] = typer.Option(None, "--case", help="The case whose presentation --presentation replaces.", show_default=False),
        presentation: Optional[str] = typer.Option(None, "--presentation", help="The case's presentation, replaced (case ID only, no names; \"\" takes it out); with --case and --reason. After closing too.", show_default=False),
        preparation_file: Optional[str] = typer.Option(None, "--preparation-file", help="The case's Form 2 answers, replaced: a YAML file as for 'add-case --preparation-file' (- for standard input; \"\" takes them out); with --case and --reason. After closing too.", show_default=False),
        in_person: bool = typer.Option(False, "--in-person", help="A virtual conference held in person after all: its platform, record keeper and recording go.", show_default=False),
        virtual: VirtualOpt = False,
        platform: PlatformOpt = None,
        record_keeper: RecordKeeperOpt = None,
        recorded: RecordedOpt = None,
        recording_held_by: RecordingHeldByOpt = None,
        not_recorded_reason: NotRecordedReasonOpt = None,
        minutes: Optional[str] = typer.Option(None, "--minutes", help="The minutes, replaced: a YAML file as for 'conference minutes --from-file' (- for standard input; case IDs only, no names); with --reason. The chair or a supervisor or manager; after closing too.", show_default=False),
        reason: Optional[str] = typer.Option(None, "--reason", help="Why (required for a new date, a presentation, the minutes, or a closed conference's venue or virtual meeting details).", show_default=False),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Update the Form 3 checklist and the meeting after 'new': reschedule it, change its venue,
        record when participants were told, invited and confirmed, name an external chair or
        co-chair, replace a case's presentation or the minutes. A new record: what was there before
        stays in the history (conference show). The presentations, the venue and the minutes can be
        replaced after closing too (a name in them stops the documents being rendered).

        Example: cpcm conference update CC-4F7K-9X2N --attendance-confirmed 2026-12-01
        Example: cpcm conference update CC-4F7K-9X2N --date 2026-12-10T10:00 --venue "Hall" --reason "the SCCO cannot come on the 3rd"
        Example: cpcm conference update CC-4F7K-9X2N --case CP-7H3D-2K95 --presentation "Back at school since May." --reason "named a sibling"
        Example: cpcm conference update CC-4F7K-9X2N --minutes minutes.yaml --reason "the discussion named a child"
        Example: cpcm conference update CC-4F7K-9X2N --recorded no --not-recorded-reason "members joined by phone; no recording possible"
        """
        from cpcm.cli.common import read_yaml_input
        from cpcm.domain import text
        from cpcm.errors import UsageError
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        new_minutes = preparation = None
        if preparation_file:
            preparation = read_yaml_input(preparation_file, "--preparation-file")
            text.check_data(preparation, "--preparation-file", controls=True)
        if minutes is not None:
            new_minutes = read_yaml_input(minutes, "--minutes")
            if not isinstance(new_minutes, dict):
                raise UsageError("--minutes: the minutes are a YAML mapping (key: value)", "cpcm form blank conference-minutes prints one to fill in.")
            text.check_data(new_minutes, "--minutes", controls=True)
        changes = {"date": date, "venue": venue, "notice_sent": notice_sent, "invitations_sent": invitations_sent,
                   "attendance_confirmed": attendance_confirmed,
                   "co_chair": (co_chair, co_chair_title) if co_chair or co_chair_title else None,
                   "external_chair": (external_chair, external_chair_title) if external_chair or external_chair_title else None,
                   "presentation": (case, presentation) if presentation is not None else None, "minutes": new_minutes,
                   "preparation": (case, preparation) if preparation_file is not None else None,
                   "virtual": _virtual(virtual, in_person, platform, record_keeper, recorded, recording_held_by, not_recorded_reason)}
        if case is not None and presentation is None and preparation_file is None:
            raise UsageError("--case goes with --presentation or --preparation-file: the case whose presentation or Form 2 answers "
                             "are replaced",
                             "See cpcm conference update --help.")
        if all(v is None for v in changes.values()):
            raise UsageError("nothing to update: give at least one option", "See cpcm conference update --help.")
        result = conferences.update(ctx, conference_id, changes, reason)
        changed = [f"{key} of {result.extra['case_id']}" if key in ("presentation", "preparation") else key for key in result.extra["changed"]]
        said = f"{conference_id} updated: {', '.join(changed)}"
        if result.extra.get("corrected"):  # the minutes replaced after closing: each case's conference record in line
            said += "; corrected with them: " + ", ".join(f"the conference record of {c['case_id']} ({c['record_id']})"
                                                          for c in result.extra["corrected"])
        report_written(result, json_out, said)

    @group.command("sign")
    def sign(
        name: str = typer.Option(..., "--name", help="The member's name (a professional; kept encrypted)."),
        institution: str = typer.Option(..., "--institution"),
        position: str = typer.Option(..., "--position", help="Position/designation (Form 5)."),
        contact: Optional[str] = typer.Option(None, "--contact", show_default=False),
        date: Optional[str] = typer.Option(None, "--date", help="The date on the signed form (default: today).", show_default=False),
        verbal: bool = typer.Option(False, "--verbal", help="Verbal consent, noted where signing is impossible."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record that a member signed the confidentiality agreement (Form 5) on the standing
        register: once, for every conference from then on. 'cpcm render form-5 CONF' prints the
        form to sign.

        Example: cpcm conference sign --name "A. Officer" --institution "Sub-county children's office" --position SCCO --date 2026-11-20
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        result = conferences.sign(ctx, {"name": name, "institution": institution, "position": position, "contact": contact,
                                        "signed_on": date, "how": "verbal" if verbal else "signed"})
        report_written(result, json_out, "the confidentiality agreement is on the register")

    @group.command("register")
    def register_(
        bar: bool = typer.Option(False, "--bar", help="Bar a member after a breach of the agreement (a supervisor or manager; with --name, --institution, --reason)."),
        lift: bool = typer.Option(False, "--lift", help="Lift a member's bar (a supervisor or manager; with --name, --institution, --reason)."),
        share: bool = typer.Option(False, "--share", help="Share the register with every member of the team (one who joined since its last change)."),
        name: Optional[str] = typer.Option(None, "--name", show_default=False),
        institution: Optional[str] = typer.Option(None, "--institution", show_default=False),
        reason: Optional[str] = typer.Option(None, "--reason", help="The breach (with --bar), or why the bar is lifted.", show_default=False),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """The standing confidentiality register (Form 5): who signed and when, who is barred.
        With --bar a supervisor bars a member after a breach: the member cannot be recorded as
        present at any conference until the bar is lifted (--lift).

        Example: cpcm conference register
        Example: cpcm conference register --bar --name "A. Member" --institution "Agency" --reason "shared a case outside the conference"
        """
        from cpcm.errors import UsageError
        from cpcm.service import conferences

        if sum([bar, lift, share]) > 1:
            raise UsageError("--bar, --lift and --share do not go together", "Give one of them.")
        if not (bar or lift) and (name or institution or reason):
            raise UsageError("--name, --institution and --reason go with --bar or --lift", "See cpcm conference register --help.")
        ctx = open_ctx(repo, identity)
        if bar or lift:
            result = conferences.bar(ctx, {"name": name, "institution": institution}, reason, lift=lift)
            report_written(result, json_out, "the member is barred from case conferences" if bar else "the bar is lifted")
            return
        if share:
            result = conferences.share_register(ctx)
            report_written(result, json_out, "the register is shared with every member of the team")
            return
        rows = conferences.register_list(ctx)
        if json_out:
            print_json(rows)
            return
        print_table(["name", "institution", "position", "signed", "how", "barred"],
                    [[r["name"], r["institution"], r["position"] or "", r["signed_on"] or "not yet", r["how"] or "",
                      f"since {r['barred_since']}" if r["barred"] else ""] for r in rows],
                    title=f"{len(rows)} member(s) on the confidentiality register (Form 5)")

    @group.command("add-case")
    def add_case(
        conf: str = typer.Argument(..., help="Conference ID."),
        case: str = typer.Argument(..., help="Case ID."),
        reason: Optional[str] = typer.Option(None, "--reason", help="service_options_exhausted, unresolved_protection_concern, especially_difficult or reintegration_decision (taking a caseworker's nomination in: its reason unless given); with --remove, why it comes off the list (free text, case IDs only, no names).", show_default=False),
        presentation: Optional[str] = typer.Option(None, "--presentation", help="A short written presentation (case ID only, no names).", show_default=False),
        preparation_file: Optional[str] = typer.Option(None, "--preparation-file", help="The presenter's answers to the SOP's Form 2 (26 prompts), a YAML file (- for standard input) whose keys are the conference-preparation form's (cpcm form blank conference-preparation); case ID only, no names.", show_default=False),
        remove: bool = typer.Option(False, "--remove", help="Take the case off the list before the conference is closed, or withdraw your nomination waiting to be taken in (with --reason: why)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Nominate a case for the conference (once); prints the SOP's presentation prompts (Forms 1 and 2).

        A caseworker who does not read the conference nominates a case of their own: it waits for
        the chair or a supervisor, who takes it into the final set of cases by running add-case
        again (the reason and presentation then default to the nomination's). With --remove
        --reason, a case comes off the list before the conference is closed (nominated by
        mistake, resolved, moved to a later conference); the history keeps both.

        Example: cpcm conference add-case CC-4F7K-9X2N CP-7H3D-2K95 --reason unresolved_protection_concern
        Example: cpcm conference add-case CC-4F7K-9X2N CP-7H3D-2K95 --reason especially_difficult --preparation-file form2.yaml
        Example: cpcm conference add-case CC-4F7K-9X2N CP-7H3D-2K95 --remove --reason "moved to the next conference: six cases already"
        """
        from cpcm import service
        from cpcm.cli.common import read_yaml_input
        from cpcm.errors import UsageError
        from cpcm.service import conferences

        if remove and (presentation is not None or preparation_file is not None):
            raise UsageError("--remove goes with --reason only: a case taken off the list has no presentation",
                             "cpcm conference add-case CONF CASE --remove --reason TEXT")
        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        case_id = service.parse_case_id(case)
        if remove:
            from cpcm.domain import text

            text.check_data(reason or "", "--reason", controls=True)
            result = conferences.remove_case(ctx, conference_id, case_id, reason)
            report_written(result, json_out, f"the nomination of {case_id} to {conference_id} is withdrawn" if result.extra["waiting"]
                           else f"{case_id} taken off the list of {conference_id} ({result.extra['cases']} case(s) left)")
            return
        preparation = None
        if preparation_file is not None:
            preparation = read_yaml_input(preparation_file, "--preparation-file")
            if not isinstance(preparation, dict) or not preparation:
                raise UsageError("--preparation-file: the Form 2 answers are a YAML mapping (prompt: answer)",
                                 "cpcm form blank conference-preparation prints one to fill in.")
        result = conferences.add_case(ctx, conference_id, case_id, reason.strip().lower() if reason else None, presentation,
                                      preparation)
        report_written(result, json_out, f"{case_id} nominated for {conference_id}: waiting for the chair or a supervisor to take it in"
                       if result.extra["proposed"] else f"{case_id} nominated for {conference_id} ({result.extra['cases']} case(s))")
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
        signed: Optional[str] = typer.Option(None, "--confidentiality-signed", help="yes, no, or verbal (consent noted where signing is impossible); not needed for a member on the Form 5 register (cpcm conference register).", show_default=False),
        present: str = typer.Option("yes", "--present", help="yes or no."),
        family: bool = typer.Option(False, "--family", help="A child or family member (only --name is needed): counted in the meeting documents, never named."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a member in the attendance register (Form 6) with the confidentiality agreement
        (Form 5); a member who has not signed cannot be recorded as present, nor a member barred
        after a breach. A member signs once: one who signs now is added to the standing register. A
        child or family member present is recorded with --family: the documents count them and
        never name them.

        Example: cpcm conference attend CC-4F7K-9X2N --institution "Sub-county children's office" --name "A. Officer" --position SCCO --contact 0700000000 --confidentiality-signed yes
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        data = {"institution": institution, "name": name, "position": position, "contact": contact,
                "confidentiality_signed": signed, "present": present, "role": "family" if family else None}
        result = conferences.attend(ctx, conference_id, data)
        signed_now = "; the agreement is on the Form 5 register from now on" if result.extra.get("signed_now") else ""
        report_written(result, json_out, f"attendance recorded for {conference_id} ({result.extra['participants']} present){signed_now}")

    @group.command("minutes")
    def minutes(
        conf: str = typer.Argument(..., help="Conference ID."),
        from_file: FromFileOpt = None, set_: SetOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record the minutes (Form 7): discussion notes, and per case the discussion, decisions and
        actions (risk or need, action, responsible person or institution, timeline). Case IDs only.
        'cpcm form blank conference-minutes' prints a skeleton.

        Example: cpcm conference minutes CC-4F7K-9X2N --from-file minutes.yaml
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        data = gather(ctx, "conference-minutes", from_file, set_, {}, no_input,
                      first=lambda _given: conferences.check_minutes(ctx, conference_id))
        report_written(written(ctx, data, lambda answers: conferences.minutes(ctx, conference_id, answers)), json_out,
                       f"minutes recorded for {conference_id}")

    @group.command("close")
    def close(
        conf: str = typer.Argument(..., help="Conference ID."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Close the conference: each case's actions go into its plan as a new version (reason
        conference_decision), each case gets a record linking to the conference, and the report is
        due 24 hours after the meeting's start (the next: line says when). One commit.

        Example: cpcm conference close CC-4F7K-9X2N
        """
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        result = conferences.close(ctx, conference_id)
        report_written(result, json_out, f"{conference_id} closed: actions copied into {len([c for c in result.extra['cases'] if c['plan_record_id']])} case plan(s)")

    @group.command("list")
    def list_(repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """The conferences you can read, by date; then those you cannot read, by ID, with only what
        is visible without a key (the ID, whether it is closed) and how to nominate a case of yours.
        On a terminal two tables; to a file or a pipe one, with a column saying whether each is
        readable.

        Example: cpcm conference list --json
        """
        from cpcm.cli.common import drawn
        from cpcm.service import conferences

        ctx = open_ctx(repo, identity)
        found = conferences.list_conferences(ctx)
        rows = [{"conference_id": c.id, "kind": c.kind, "date": c.date, "chair": c.chair, "status": c.status,
                 "cases": len(c.cases), "nominated": len(c.proposals), "participants": len(c.present), "readable": True,
                 "closed": c.closed_at is not None, "nominate": None if c.closed_at else _nominate(c.id)} for c in found]
        unread = [{"conference_id": c["conference_id"], "kind": None, "date": None, "chair": None,
                   "status": "closed" if c["closed"] else None, "cases": None, "nominated": None, "participants": None,
                   "readable": False, "closed": c["closed"], "nominate": None if c["closed"] else _nominate(c["conference_id"])}
                  for c in conferences.unreadable_conferences(ctx)]
        columns = ["conference", "kind", "date", "chair", "status", "cases", "nominated", "present"]
        readable = [[r["conference_id"], r["kind"], _when(r["date"], ctx.zone), r["chair"], r["status"], r["cases"],
                     r["nominated"], r["participants"]] for r in rows]
        if json_out:
            print_json(rows + unread)
        elif not drawn(len(rows) + len(unread)):
            # plain (a file or a pipe): one table, a line a conference, that a script reads as one; a conference
            # not read has only what the folder shows without a key (its ID, whether it is closed) and how to
            # nominate a case of yours, its other columns empty
            print_table(columns + ["readable", "to nominate a case of yours"],
                        [row + ["yes", ""] for row in readable]
                        + [[r["conference_id"], "", "", "", r["status"], "", "", "", "no", r["nominate"]] for r in unread])
        else:
            print_table(columns, readable, title=f"{len(rows)} conference(s)")
            if unread:
                print()
                print_table(["conference", "status", "to nominate a case of yours"],
                            [[r["conference_id"], "closed" if r["closed"] else "not readable", r["nominate"] or ""]
                             for r in unread],
                            title=f"{len(unread)} conference(s) you cannot read (kind, date, chair and cases are encrypted)")
        report_problems(ctx)

    @group.command("show")
    def show(conf: str = typer.Argument(..., help="Conference ID."),
             minutes_record: Optional[str] = typer.Option(
                 None, "--minutes-record", help="Show the minutes this record holds (a minutes record, or an update that "
                 "replaced them), whether or not they stand: each of minutes written on two copies apart.", show_default=False),
             repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """A conference as it stands: kind, date, chair, the Form 3 checklist, cases, attendance, minutes.

        Example: cpcm conference show CC-4F7K-9X2N
        Example: cpcm conference show CC-4F7K-9X2N --minutes-record 01J9Z3K7T8Q2W5E6R7Y8U9I0PA
        """
        from cpcm.service import conferences
        from cpcm.workflow import conferences as rules

        ctx = open_ctx(repo, identity)
        conference_id = conferences.parse_conference_id(conf)
        if minutes_record is not None:
            held = conferences.minutes_of(ctx, conference_id, minutes_record)
            if json_out:
                print_json(held)
            else:
                from cpcm.store import codec

                typer.echo(codec.dumps(held).decode("utf-8"), nl=False)
            return
        found, data = conferences.show(ctx, conference_id, presenting=json_out)
        if json_out:
            print_json(data)
            return
        rows = [("conference", found.id), ("kind", found.kind), ("date", _when(found.date, ctx.zone)), ("chair", found.chair)]
        rows += [(label, f"{person['name']}, {person['title']}") for label, person in
                 (("external chair", found.external_chair), ("co-chair", found.co_chair)) if person]
        rows += [("venue", found.venue or "")]
        if found.virtual:  # held online (SOP §8.1)
            rows += [("virtual", f"yes, on {found.virtual.get('platform')}"), ("record keeper", found.virtual.get("record_keeper")),
                     ("recording", _online(found.virtual))]
        rows += [("status", found.status)]
        checklist = [(key.replace("_", " "), value or "not yet") for key, value in found.checklist.items()]
        checklist.insert(1, ("plan approved", _plan_approval(data["plan_approval"], ctx.zone)))  # Form 3 item 4, before item 6
        rows += checklist
        from cpcm.domain.dates import local_day

        rows += [("cases", ", ".join(f"{c['case_id']} ({c['reason']})" for c in found.cases) or "none")]
        if found.proposals:  # a caseworker's nominations waiting for the chair or a supervisor (Form 3 items 1-2)
            rows += [("nominated, to take in", ", ".join(f"{p['case_id']} ({p['reason']}, by {p['by']})" for p in found.proposals))]
        if found.removed:  # taken off the list (or a waiting nomination withdrawn) before the meeting: add-case --remove
            rows += [("taken off the list", ", ".join(f"{r['case_id']} ({'withdrawn before it was taken in, ' if r['waiting'] else ''}"
                                                      f"by {r['by']} on {local_day(r['at'], ctx.zone)}: {r['reason']})"
                                                      for r in found.removed))]
        if found.not_discussed:  # nominated on a copy apart while it closed elsewhere (workflow/conferences.py)
            rows += [("not discussed (nominated while it closed)",
                      ", ".join(f"{n['case_id']} ({n['reason']}, by {n['by']})" for n in found.not_discussed))]
        rows += [("present", f"{len(found.present)} of {len(found.attendees)} in the register"),
                 ("minutes", f"recorded ({found.minutes_id})" if found.minutes is not None else "not yet"),
                 ("report", "rendered" if found.report_rendered_at else ("due" if found.closed_at else "after closing"))]
        rows += [(f"updated {local_day(u['at'], ctx.zone)}", ", ".join(_change(k, v, u["previous"].get(k)) for k, v in u["changes"].items())
                  + (f" ({u['reason']})" if u.get("reason") else "")) for u in found.updates]
        for conflict in rules.open_conflicts(found):  # minutes written on two copies apart: by their records, never their text
            rows += [(f"sync conflict ({conflict['code']})",
                      f"minutes recorded on two copies apart, differently: {', '.join(conflict['records'])}; {found.minutes_id} "
                      f"stand{' (those it was closed with)' if found.closed_at else ''}. Read each: cpcm conference show "
                      f"{found.id} --minutes-record RECORD; write them as agreed: cpcm conference update {found.id} --minutes "
                      "FILE --reason TEXT")]
        print_table(["field", "value"], rows)  # as cpcm show CASE: a script reads a header, not an empty line
        for warning in data["warnings"]:
            say(f"warning: {warning}")


def _virtual(virtual: bool, in_person: bool, platform, record_keeper, recorded, recording_held_by, not_recorded_reason) -> dict | None:
    """The virtual meeting's options as `conferences.new` and `update` take them; None when none is given."""
    given = {"platform": platform, "record_keeper": record_keeper, "recorded": recorded, "recording_held_by": recording_held_by,
             "not_recorded_reason": not_recorded_reason}
    if not virtual and not in_person and all(v is None for v in given.values()):
        return None
    return {"virtual": virtual, "in_person": in_person, **given}


def _plan_approval(state, zone) -> str:
    """The conference plan's approval (Form 3 item 4) as `show` lists it: who approved it and when,
    or what it waits for."""
    from cpcm.domain.dates import local_text

    due = f"due by {local_text(state['due'], zone)}"
    decided = f"{'approved' if state['decision'] == 'approval' else 'rejected'} by {state['by']} on {local_text(state['at'], zone)}"
    if state["state"] == "approved":
        return decided
    if state["state"] == "rejected":
        return f"{decided}" + (f" ({state['note']})" if state.get("note") else "") + f": to change; {due}"
    if not state["required"]:
        return "not required by the policy (conference_plan_approval)"
    if state["state"] == "changed":
        return f"{decided}; changed since ({', '.join(state['changed'])}): to approve again, {due}"
    return f"not yet ({due})"


def _online(virtual) -> str:
    """A virtual conference's recording as `show` lists it: recorded and who holds it, or not and why."""
    if virtual.get("recorded") is True:
        return f"recorded; held by {virtual.get('recording_held_by')} (not in cpcm)"
    if virtual.get("recorded") is False:
        return f"not recorded: {virtual.get('not_recorded_reason')}"
    return "not stated yet"


def _nominate(conference_id: str) -> str:
    """How a worker nominates a case to a conference (one they do not read: a case of their own)."""
    return f"cpcm conference add-case {conference_id} CASE --reason REASON"


def _change(key: str, value, previous) -> str:
    """One change of an update as `show` lists it. A presentation by its case and the record it
    replaced, the venue and the minutes by the record they replaced, never by their text: the text
    replaced may be what had to go (a child's name)."""
    if key == "presentation" and isinstance(value, dict):
        done = "replaced" if value.get("text") else "taken out"
        return f"presentation of {value.get('case_id')}: {done} (was {(previous or {}).get('record_id')})"
    if key == "virtual":  # the details replaced by their record (a reason is free text), the new ones as `virtual` lists them
        was = (previous or {}).get("record_id") if isinstance(previous, dict) else None
        now = "in person" if not value else "replaced" if value.get("record_id") else f"on {value.get('platform')}"
        return f"virtual: {now}" + (f" (was {was})" if was else "")
    if key in ("venue", "minutes"):  # texts the name guard checks: by their records, never their text (`venue` gives the current one)
        was = (previous or {}).get("record_id") if isinstance(previous, dict) else None
        return f"{key}: replaced (was {was})" if was else f"{key}: {'replaced' if previous else 'set'}"
    return f"{key}: {_shown(previous)} → {_shown(value)}"


def _shown(value) -> str:
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values())
    return str(value) if value else "none"


def _when(value, zone) -> str:
    """A meeting's date as people read it: a date alone as it is, a time local with its offset
    (never UTC, or a time without its offset, presented as local)."""
    from cpcm.domain.dates import is_date_only, local_text

    return "" if not value else str(value) if is_date_only(value) else local_text(value, zone)
