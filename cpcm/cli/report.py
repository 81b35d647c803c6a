"""cpcm report / cpcm export: management reports and case data for analysis or a national system.

The options are parsed here; `cpcm.service.reports` builds the report (from every case you can
read, by the pure functions in cpcm.reports) and renders it, or builds the export.

Files: `--out` writes the caseload and timeliness reports age-encrypted to you (and any
--recipient) unless --plaintext is given; the statistics report holds no case-level data and
is written as it is unless --recipient is given. An export is always encrypted to the named
recipients unless --plaintext says otherwise, and identifying fields leave only for cases
with consent for sharing with the receiving agency.
"""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import (ForceOpt, IdentityOpt, JsonOpt, RepoOpt, check_encrypted_name, check_plain_name, open_ctx, print_json,
                             print_table, a_file, out_format, register_plain, report_problems, say, stdout_is_terminal, to_stdout,
                             warn, write_output)

FORMATS = ("md", "html", "csv", "json")
EXPORT_FORMATS = ("csv", "json")  # cpcm export writes these


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        kind: str = typer.Argument(..., help="caseload, timeliness, statistics, placements, readiness, referrals, complaints, retention, or combine (a county: add up agencies' returns)."),
        returns: Optional[List[Path]] = typer.Argument(None, help="For combine: the agencies' returns (files from --for-aggregation).", show_default=False),
        from_: Optional[str] = typer.Option(None, "--from", help="First day of the period (YYYY-MM-DD; default: the first day of the month 11 months ago).", show_default=False),
        to: Optional[str] = typer.Option(None, "--to", help="Last day of the period (YYYY-MM-DD; default: today).", show_default=False),
        format_: Optional[str] = typer.Option(None, "--format", help="md, html (printable, with charts), csv or json; default: tables on the terminal, or from the --out file's name.", show_default=False),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of printing (age-encrypted to you, except the statistics report).", show_default=False),
        plaintext: bool = typer.Option(False, "--plaintext", help="With --out: write the caseload, timeliness, placements, readiness or referrals report unencrypted (they name workers; placements, readiness and referrals, children's cases)."),
        recipient: List[str] = typer.Option([], "--recipient", "-r", help="With --out: also encrypt to this age recipient (age1...) or team member id (repeat); for statistics, encrypt at all."),
        for_aggregation: bool = typer.Option(False, "--for-aggregation", help="With statistics: write a return for a county office to combine (every count, none hidden), encrypted to --recipient."),
        status: Optional[str] = typer.Option(None, "--status", help="With readiness: the cases counted, open (default), closed, transferred or all.", show_default=False),
        worker: Optional[str] = typer.Option(None, "--worker", help="With readiness or referrals: only this worker's cases.", show_default=False),
        force: ForceOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Management reports over every case you can read: the caseload per worker (a snapshot
        now), the timeliness of each clock of the policy, and statistics safe to share outside
        the agency (counts by sex, age band and disability; small counts hidden), and the
        alternative-care register (placements: children in care now, those who left a CCI), and
        reintegration readiness (readiness: each case's latest Form 7A or 8A in the period, ready for
        closure or not, the domains below their pass marks, the children on the path of reintegration
        not yet assessed; case IDs, no names), and how referrals fare with each provider (referrals:
        sent, accepted, declined, waiting past the feedback limit, answered late, the median days to an
        answer, the outcomes, each provider's agreement and its end), the complaints register (complaints: those you
        read received and resolved in the period, by setting and whether about staff; counts only), and the retention of closed cases
        (retention, a snapshot now: by year of closure, within the retention period, ended with no
        decision, kept until a date, restricted; the cases to decide on). A county office adds up agencies' statistics returns
        with `combine`, hiding small cells only after the sum.

        Example: cpcm report caseload
        Example: cpcm report timeliness --from 2026-01-01 --to 2026-06-30 --format html --out timeliness.html.age
        Example: cpcm report statistics --from 2026-07-01 --to 2026-09-30 --format html --out county-q3.html
        Example: cpcm report statistics --from 2026-07-01 --to 2026-09-30 --for-aggregation --recipient age1... --out ksm-q3.return.age
        Example: cpcm report combine ksm-q3.return.age nbi-q3.return.age --format html --out county-q3.html
        Example: cpcm report placements --format html --out register.html.age
        Example: cpcm report readiness --worker amina --from 2026-07-01 --to 2026-12-31
        Example: cpcm report referrals --from 2026-07-01 --to 2026-09-30 --format html --out referrals-q3.html.age
        Example: cpcm report retention --json
        """
        from cpcm import service
        from cpcm.reports import REPORTS
        from cpcm.reports.readiness import STATUSES
        from cpcm.service.reports import SHAREABLE
        from cpcm.errors import UsageError

        out = to_stdout(out)  # --out -: printed, as without --out
        if (kind != "readiness" and status is not None) or (kind not in ("readiness", "referrals") and worker is not None):
            raise UsageError(f"{'--status' if status is not None else '--worker'} goes with the readiness report"
                             + ("" if status is not None else " or the referrals report"),
                             "The other reports count every case you can read.")
        if kind == "combine":
            _combine(returns or [], format_, out, recipient, force, identity, json_out)
            return
        if returns:
            raise UsageError("only 'combine' takes files", "The other reports read the casefile repository.")
        if for_aggregation:
            _for_aggregation(kind, from_, to, format_, out, recipient, plaintext, force, repo, identity, json_out)
            return
        if kind not in REPORTS:
            raise UsageError("there is no report by that name", f"Reports: {', '.join(REPORTS)}.")
        if status is not None and status.strip().lower() not in STATUSES:
            raise UsageError(f"--status is one of: {', '.join(STATUSES)}")
        if out is None and (recipient or plaintext):
            raise UsageError(f"{'--recipient' if recipient else '--plaintext'} needs --out FILE", "Without --out the report is printed.")
        if plaintext and recipient:
            raise UsageError("--plaintext and --recipient do not go together", "Recipients are for an encrypted file.")
        encrypt = bool(recipient) if kind in SHAREABLE else not plaintext
        # with --out, --json describes the file written: the file's name (or --format) picks its format
        fmt = "json" if json_out and format_ is None and out is None else _format(format_, out, encrypt)
        if out is not None and fmt is None:
            fmt = "md"
        if out is not None and encrypt:
            # before the report is made; caseload and timeliness hold no child's data (docs/commands/reports.md)
            check_encrypted_name(out, holds="workers' names and how each is doing" if kind in ("caseload", "timeliness")
                                 else "personal data")
        elif out is not None:
            check_plain_name(out, encryptable=kind not in SHAREABLE or bool(recipient))  # before the report is made too
        ctx = open_ctx(repo, identity)
        ctx.need_worker()
        today = ctx.now.date()
        # statistics say a period not over once, below (a --to after today too); the others, a --to after today here
        start, end = _period(from_, to, today, said_after_today=kind != "statistics") if kind != "retention" \
            else _period(None, None, today)
        if kind == "retention" and (from_ or to):
            warn("the retention report is a snapshot now: --from and --to are not used")
        built = service.report(ctx, kind, start, end, fmt, (status or "open").strip().lower(), worker)
        if kind == "caseload" and (from_ or to):  # only its supervision table has a period, and only a supervisor's report has it
            warn("the caseload report's cases, stages, overdue items and approvals are a snapshot now: --from and --to "
                 "set only the period of its supervision table" if built.view.get("supervision") is not None else
                 "the caseload report is a snapshot now: --from and --to are not used (only a supervisor's or manager's "
                 "report has a table with a period: its supervision sessions)")
        over = {"period_over": built.view["period_over"]} if "period_over" in built.view else {}
        if fmt is None:
            print_tables(built.view)
        else:
            text = built.text
            if out is None:
                _print(kind, fmt, text, json_out, over)
            else:
                path, encrypted, readers = write_output(ctx, out, text.encode("utf-8"), encrypt, recipient, include_self=True, force=force)
                if not encrypted:  # every case read counts in it (placements and readiness name them): no list of IDs
                    register_plain(path, text.encode("utf-8"), f"report {kind}", ctx=ctx, case_data=kind not in SHAREABLE)
                _said_written(path, encrypted, readers, kind in SHAREABLE, kind)
                if json_out:
                    print_json({"report": kind, "format": fmt, "out": str(path), "encrypted": encrypted, **over})
        if over and not over["period_over"]:  # after the report, as its legend: a reader gone stops it before
            _said_running(end, today, "this report counts only up to today")
        report_problems(ctx)

    @app.command("export")
    def export(
        format_: Optional[str] = typer.Option(None, "--format", help="csv or json (default: the one the --out file's name ends in, "
                                                                    ".csv or .json, with or without .age after).", show_default=False),
        out: Path = typer.Option(..., "--out", "-o", help="The file to write."),
        recipient: List[str] = typer.Option([], "--recipient", "-r", help="Encrypt to this age recipient (age1...) or team member id (repeat); required unless --plaintext."),
        plaintext: bool = typer.Option(False, "--plaintext", help="Write the file unencrypted (it holds case data: keep it safe)."),
        fields: Optional[str] = typer.Option(None, "--fields", help="Fields, comma-separated, or 'all' (default: every field that does not identify the child; see docs/commands/reports.md).", show_default=False),
        agency: Optional[str] = typer.Option(None, "--agency", help="Who receives the export (a service id): needed for identifying fields, which leave only for cases with consent for sharing with it.", show_default=False),
        primero: bool = typer.Option(False, "--primero", help="Primero (CPIMS+) column names and values (docs/primero-mapping.md)."),
        cpims: bool = typer.Option(False, "--cpims", help="Kenya's CPIMS list codes for sex, risk, case categories, closure reasons and CCI exits (docs/cpims-mapping.md)."),
        status: Optional[str] = typer.Option(None, "--status", help="Only cases with this status: open, closed or transferred.", show_default=False),
        force: ForceOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Export case data, one row per case, for the agency's own analysis or a national
        system: encrypted to the named recipient unless --plaintext. Identifying fields (name,
        date of birth, location, caregiver, contact) need consent for sharing with --agency;
        cases without it are left out and counted.

        Example: cpcm export --format csv --recipient age1... --out cases.csv.age
        Example: cpcm export --format csv --primero --agency county-cpims --recipient age1... --out primero.csv.age
        Example: cpcm export --format csv --cpims --recipient age1... --out cpims.csv.age
        Example: cpcm export --format json --fields case_id,status,risk,sex,age_band --plaintext --out ~/analysis.json
        """
        from cpcm import service
        from cpcm.errors import UsageError
        from cpcm.reports import export as export_mod

        a_file(out)  # an export is always a file
        # the format --format or the file's name says: `--format csv --out cases.pdf` (or cases.json) is refused, as a
        # report's --out is (common.out_format: the file would hold one format under another's name)
        fmt = out_format(out, format_, EXPORT_FORMATS, not plaintext, stem="export")
        if fmt is None:
            raise UsageError("--format is needed: csv or json (or end the --out file's name in .csv or .json)")
        if not plaintext and not recipient:
            raise UsageError("an export is encrypted to a named recipient: give --recipient AGE1... (or a team member id)",
                             "Or write it unencrypted with --plaintext, if you must; it holds case data.")
        if plaintext and recipient:
            raise UsageError("--plaintext and --recipient do not go together", "Recipients are for an encrypted file.")
        if not plaintext:
            check_encrypted_name(out)  # before anything is read
        else:
            check_plain_name(out)
        if primero and cpims:
            raise UsageError("--primero and --cpims do not go together", "One national system's codes per file.")
        if status and status not in ("open", "closed", "transferred"):
            raise UsageError("--status is open, closed or transferred")
        try:
            chosen = export_mod.parse_fields(fields, primero)
        except ValueError as exc:
            raise UsageError(f"--fields: {exc}") from None
        identifying = [f for f in chosen if f in export_mod.IDENTIFYING]
        if identifying and not agency:
            raise UsageError(f"--agency is needed: {', '.join(identifying)} identify the child, and leave only for cases with "
                             "consent for sharing with the receiving agency",
                             "Name the agency (a service id), or leave those fields out with --fields.")
        ctx = open_ctx(repo, identity)
        wrote: list[bytes] = []

        def write(data: bytes):
            wrote.append(data)
            return write_output(ctx, out, data, not plaintext, recipient, include_self=False, force=force)

        done = service.export(ctx, fmt, chosen, write, agency, primero, status, cpims)
        if not done.encrypted:
            register_plain(done.path, wrote[0], "export", done.case_ids, ctx=ctx)
        encrypted, readers, left_out = done.encrypted, done.readers, done.left_out
        if encrypted:
            me = {ctx.worker.id if ctx.worker else None, ctx.identity.recipient if ctx.identity else None} - {None}
            yours = "you are one of them" if me & {r.strip() for r in recipient} else "not you: you cannot read it back"
            say(f"exported {done.cases} case(s) to the --out file: age-encrypted to {readers} recipient{'s' if readers > 1 else ''} "
                f"({yours})")
        else:
            warn(f"exported {done.cases} case(s) to the --out file unencrypted: it holds case data; keep it safe and delete it when done")
        if left_out:
            say(f"left out {left_out} case(s) without valid consent for sharing with {agency} "
                f"(cpcm consent CASE --purpose sharing --agency {agency} ..., or a supervisor's override)")
        if json_out:
            print_json(done.to_json())
        report_problems(ctx)


def _for_aggregation(kind, from_, to, format_, out, recipient, plaintext, force, repo, identity, json_out) -> None:
    """`report statistics --for-aggregation`: the unsuppressed counts, encrypted to the county."""
    from cpcm import service
    from cpcm.errors import UsageError
    from cpcm.reports.common import period_over

    if kind != "statistics":
        raise UsageError("--for-aggregation goes with the statistics report")
    if out is None or not recipient:
        raise UsageError("a return for aggregation is written to a file encrypted to the county office: give --out FILE and --recipient AGE1...",
                         "It holds every count, small ones too, so it is never written unencrypted.")
    if plaintext or format_:
        raise UsageError(f"{'--plaintext' if plaintext else '--format'} does not go with --for-aggregation", "A return is always encrypted JSON.")
    ctx = open_ctx(repo, identity)
    ctx.need_worker()
    today = ctx.now.date()
    start, end = _period(from_, to, today, said_after_today=False)  # said below, as a return's own warning
    path, encrypted, readers = write_output(ctx, out, service.report_return(ctx, start, end), True, recipient, include_self=False, force=force)
    say(f"wrote the statistics return for {start} to {end} to the --out file: age-encrypted to {readers} recipient{'s' if readers > 1 else ''}")
    over = period_over(end, today)
    if not over:  # the day it ends too: the rest of that day is still to come
        _said_running(end, today, "this return counts only up to today, and a county that combines it is told so")
    if json_out:
        print_json({"report": "statistics", "for_aggregation": True, "from": start.isoformat(), "to": end.isoformat(), "out": str(path),
                    "encrypted": encrypted, "period_over": over})


def _combine(returns: list[Path], format_, out, recipient, force, identity, json_out) -> None:
    """`report combine FILE...`: a county's statistics from agencies' returns; no repository needed."""
    from cpcm import clock, service
    from cpcm.cli.common import ask_passphrase, identity_path
    from cpcm.crypto import identity as identity_mod
    from cpcm.errors import UsageError

    if len(returns) < 2:
        raise UsageError("combine needs the returns of at least two agencies", "cpcm report combine FILE FILE ...")
    data = []
    for number, path in enumerate(returns, start=1):
        try:  # one byte over the limit is enough for the service to refuse a file as too large
            with open(path, "rb") as handle:
                data.append(handle.read(service.MAX_RETURN_BYTES + 1))
        except OSError:
            raise UsageError(f"file {number} cannot be read") from None
    key = identity_mod.load(identity_path(identity), ask_passphrase)
    fmt = "json" if json_out and format_ is None else _format(format_, out, bool(recipient))
    if out is not None and fmt is None:
        fmt = "md"
    built = service.report_combine(data, key, clock.now(), fmt)
    _said_not_over(built.view)
    if fmt is None:
        print_tables(built.view)
    elif out is None:
        _print("combine", fmt, built.text, json_out)
    else:
        path, encrypted, readers = write_output(None, out, built.text.encode("utf-8"), bool(recipient), recipient, include_self=True,
                                                force=force, me=key.recipient)
        if not encrypted:  # counts only, small ones hidden: registered all the same, as every plaintext file
            register_plain(path, built.text.encode("utf-8"), "report combine", identity=Path(key.path), recipient=key.recipient,
                           case_data=False)
        _said_written(path, encrypted, readers, True)
        if json_out:
            print_json({"report": "combine", "format": fmt, "out": str(path), "encrypted": encrypted,
                        "period_over": built.view["combined"]["period_over"]})


def _said_running(end: date, today: date, counts: str) -> None:
    """The warning for a report or return made before its period ended (`period_over` false)."""
    warn(f"the period has not ended (it ends {end.isoformat()}; today is {today.isoformat()}): {counts}; "
         f"for the whole period, make it again after {end.isoformat()}")


def _said_not_over(view: dict) -> None:
    """A warning for each return made before its period ended (`combined.not_over`): by its
    number on the command line and its agency's code, never by what it holds."""
    from cpcm.reports.statistics import not_over_text

    period = view["period"]
    for entry in view["combined"]["not_over"]:
        said = f"({period['from']} to {period['to']}): it counts only up to that day, so the combination is not the whole period" \
            if entry["made_on"] else f"(perhaps before the period, {period['from']} to {period['to']}, ended)"
        warn(f"{not_over_text(entry)} {said}; ask the agency for a return made after {period['to']}")


def _print(kind: str, fmt: str, text: str, json_out: bool, over: dict | None = None) -> None:
    """A report printed in `fmt`; with --json in another format, JSON all the same with the
    document in it (as render prints one), and the statistics' `period_over` (`over`)."""
    if json_out and fmt != "json":
        print_json({"report": kind, "format": fmt, "out": None, "encrypted": False, **(over or {}), "document": text})
    else:
        sys.stdout.write(text)


def print_tables(view: dict) -> None:
    """The report's heading (what, over which period or as of when, whose cases), then each table
    of the view: rich tables on a terminal, '# title' and tab-separated text otherwise."""
    for line in heading(view):
        print(f"# {line}" if not stdout_is_terminal() else line)
    print()
    for table in view["tables"]:
        if not stdout_is_terminal():
            print(f"# {table['title']}")
        print_table(table["columns"], table["rows"], title=table["title"])
        if table.get("note"):
            say(table["note"])
        if not stdout_is_terminal():
            print()
    if view.get("legend"):
        for mark, meaning in view["legend"].items():
            say(f"{mark}: {meaning}")


def heading(view: dict) -> list[str]:
    """What a printed report is: its title with its period (or the time it was made as of), the
    agency and which cases it counts, then the report's own `heading` lines, as the HTML and
    Markdown formats head it."""
    from cpcm.domain.dates import local_text

    period, meta = view.get("period") or {}, view.get("meta") or {}
    when = f"{period['from']} to {period['to']}" if period.get("from") else \
        f"as of {local_text(view['as_of'], None)}" if view.get("as_of") else ""
    lines = [f"{view.get('title') or 'Report'}: {when}" if when else str(view.get("title") or "Report")]
    agency = meta.get("agency") or {}
    about = [f"{agency.get('name')} ({agency.get('code')})" if agency.get("name") else "", meta.get("coverage") or ""]
    if any(about):
        lines.append("; ".join(part for part in about if part))
    return lines + list(view.get("heading") or [])  # what the report adds to it (referrals: the flagged agreements)


# -- options -----------------------------------------------------------------------------------
def _format(option: str | None, out: Path | None, encrypted: bool) -> str | None:
    """--format, else the format the --out file's name picks (None: neither says); a --format not one
    of FORMATS, or a name whose extension is not one of theirs, or not --format's, is refused
    (common.out_format)."""
    return out_format(out, option, FORMATS, encrypted)


def _period(start: str | None, end: str | None, today: date, said_after_today: bool = True) -> tuple[date, date]:
    """--from and --to as dates; by default the twelve calendar months up to today. A period that
    ends after today is accepted with a warning (`said_after_today`: here; else the caller's)."""
    from cpcm.clock import parse_datetime
    from cpcm.errors import UsageError

    for option, given in (("--from", start), ("--to", end)):
        if given is not None and not given.strip():  # a script's variable left empty: not the default period, silently
            raise UsageError(f"{option} is empty", f"Give a date such as 2026-11-01, or leave {option} out "
                             "(the period is then the twelve calendar months up to today).")
    last = parse_datetime(end, "--to").date() if end else today
    if start:
        first = parse_datetime(start, "--from").date()
    else:
        index = last.year * 12 + last.month - 1 - 11
        first = date(index // 12, index % 12 + 1, 1) if index >= 12 else date.min  # the calendar's first day at most
    if first > last and end:  # without --to the period ends today: that is the check below, and it says today
        raise UsageError("--from is after --to", "Give --from on or before --to (both days count).")
    if first > today:  # with --to too: a period still to come holds no event, and its report would be all noughts
        raise UsageError(f"--from is after today ({today.isoformat()})", "A report counts what has happened: give a period that has begun.")
    if last > today and said_after_today:
        warn(f"the period ends after today ({today.isoformat()}): it counts what happened up to today, and a report of it "
             "made later will count more")
    return first, last


# -- writing -----------------------------------------------------------------------------------
# what an unencrypted --out file of each report holds, for the warning written with it
UNENCRYPTED_HOLDS = {"placements": "it lists children's cases and where each is placed",
                     "readiness": "it lists children's cases and how each scores on the readiness benchmarks",
                     "referrals": "it lists children's cases whose referrals wait past the feedback limit",
                     "retention": "it lists children's cases, by case ID, with when each closed and its retention ended",
                     "complaints": "it counts the complaints received and resolved, small counts hidden, with how many "
                                   "you read"}


def _said_written(path: Path, encrypted: bool, readers: int, shareable: bool, kind: str = "") -> None:
    if encrypted:
        others = f" and {readers - 1} other recipient{'s' if readers > 2 else ''}" if readers > 1 else ""
        say(f"wrote the --out file: age-encrypted to you{others}")
        say("  read it with: age -d -i YOUR-IDENTITY-FILE FILE")
    elif shareable:
        say("wrote the --out file (counts only, small counts hidden: safe to share)")
    else:
        holds = UNENCRYPTED_HOLDS.get(kind, "it names workers and their caseloads")  # caseload, timeliness
        warn(f"wrote the --out file unencrypted: {holds}; keep it within the agency")
