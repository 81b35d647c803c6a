"""cpcm show / list / log / assign: reading cases and their audit trail."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from cpcm.domain.dates import local_day, local_text
from cpcm.errors import N_, in_english
from cpcm.cli.common import open_ctx, parse_at, print_json, print_json_items, print_json_of, print_table, print_text, report_problems, say, warn

if TYPE_CHECKING:
    import typer


def _typer() -> None:
    """typer and the shared options, as globals of this module (the commands' annotations are
    read from them), imported only when the commands are built: `show_case` needs neither."""
    import typer

    from cpcm.cli.common import AtOpt, IdentityOpt, JsonOpt, RepoOpt

    globals().update(typer=typer, AtOpt=AtOpt, IdentityOpt=IdentityOpt, JsonOpt=JsonOpt, RepoOpt=RepoOpt)


def show_case(case: str, record: str | None, repo: Path | None, identity: Path | None, json_out: bool) -> None:
    """What `cpcm show` does, once its arguments are parsed (by typer, or by the fast path in
    `cpcm.cli.fast`, which gives the same output without building the command line)."""
    from cpcm import service

    ctx = open_ctx(repo, identity)
    data = service.show(ctx, service.parse_case_id(case), record)
    if json_out:
        print_json(data)
    elif record is not None:
        from cpcm.service.wording import say_for

        print_record(data, ctx.zone, say_for(ctx))
    else:
        print_case(data, ctx.zone)


def list_cases(status: str | None, risk: str | None, worker: str | None, stage: str | None, names: bool,
               repo: Path | None, identity: Path | None, json_out: bool) -> None:
    """What `cpcm list` does, once its arguments are parsed (by typer, or by the fast path in
    `cpcm.cli.fast`)."""
    from cpcm import service

    ctx = open_ctx(repo, identity)
    rows = service.list_rows(ctx, status=status, risk=risk, worker=worker, stage=stage, names=names)
    columns = ["case_id", "status", "stage", "risk", "worker", "sex", "age", "registered_at"] + (["name"] if names else [])
    if json_out:
        print_json_of(rows, lambda: rows)
    elif not print_text(rows, [c.replace("_", " ") for c in columns]):
        # the stage in words on a terminal ('comprehensive assessment', wrapping at its space): as the code
        # 'comprehensive_assessment' the table took 83 columns and was printed plain on an old laptop's 80
        print_table([c.replace("_", " ") for c in columns],
                    ([r[c] if c != "registered_at" else (r[c] or "")[:10] for c in columns] for r in rows),
                    title=f"{len(rows)} case(s)", worded=("stage",))
    report_problems(ctx)


def register(app: typer.Typer) -> None:
    _typer()
    register_verify(app)

    @app.command("show")
    def show(case: str = typer.Argument(..., help="Case ID, e.g. CP-4F7K-9X2N."),
             record: Optional[str] = typer.Argument(None, help="One record in full: its ID, or plan, plan@2, assessment, "
                                                    "assessment@initial, R1, followup, review, consent, update, last ..."),
             repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """The case as it stands: the child and what was registered, stage, risk, worker,
        consents on file, the plan's open actions, referrals, assessments, reviews and what is due. With
        a RECORD, that one record in full, every answer with its question.

        Example: cpcm show CP-4F7K-9X2N
        Example: cpcm show CP-4F7K-9X2N assessment@comprehensive
        """
        show_case(case, record, repo, identity, json_out)

    @app.command("list")
    def list_(
        status: Optional[str] = typer.Option(None, "--status", help="open, closed or transferred."),
        risk: Optional[str] = typer.Option(None, "--risk", help="immediate, high, medium or low."),
        worker: Optional[str] = typer.Option(None, "--worker", help="Only this worker's cases."),
        stage: Optional[str] = typer.Option(None, "--stage", help="Only cases at this stage."),
        names: bool = typer.Option(False, "--names", help="Include children's names (off by default)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """One line per case you can read; no names unless --names.

        Example: cpcm list --risk high --worker amina
        """
        list_cases(status, risk, worker, stage, names, repo, identity, json_out)

    @app.command("log")
    def log(case: str = typer.Argument(..., help="Case ID."), repo: RepoOpt = None, identity: IdentityOpt = None,
            json_out: JsonOpt = False) -> None:
        """The audit trail of a case: every record (corrected ones too) by when it happened,
        what it is, who made it, its place in the order written (#), the commit behind it and
        who signed that commit ("sup, good"; or why the signature does not stand).

        Example: cpcm log CP-4F7K-9X2N
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        entries = service.log(ctx, service.parse_case_id(case))
        if json_out:
            print_json_items(e.to_json() for e in entries)
            return
        print_table(["at", "#", "kind", "what", "by", "record", "recorded", "commit", "signed"],
                    [[local_text(e.at, ctx.zone), e.order, _kind(e), _what(e),
                      e.by, e.record_id, local_text(e.recorded_at, ctx.zone), (e.commit or "uncommitted")[:10], _signed(e)] for e in entries])
        say(service.records_text(len(entries), sum(1 for e in entries if e.superseded_by and not e.misfiled_by),
                                 sum(1 for e in entries if e.misfiled_by)))

    @app.command("link")
    def link(case: str = typer.Argument(..., help="A child's case ID."),
             other: str = typer.Argument(..., help="The case of their brother or sister."),
             sibling: bool = typer.Option(False, "--sibling", help="The two children are siblings (the one relation "
                                          "this command records; two cases of one child: cpcm merge-cases)."),
             remove: bool = typer.Option(False, "--remove", help="Take out a sibling link made by mistake (with --reason)."),
             reason: Optional[str] = typer.Option(None, "--reason", help="With --remove: why the link was wrong."),
             repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Record that two registered children are siblings: each case gets a link to the other
        (cpcm show lists it: "sibling of CP-..."), in one commit. You must be able to read both.
        With --remove --reason, a link made by mistake is taken out (the history keeps both).

        Example: cpcm link CP-4F7K-9X2N CP-7YY9-TW8D --sibling
        Example: cpcm link CP-4F7K-9X2N CP-7YY9-TW8D --sibling --remove --reason "wrong case ID typed"
        """
        from cpcm import service
        from cpcm.cli.common import report_written
        from cpcm.errors import UsageError

        first, second = service.parse_case_id(case), service.parse_case_id(other)
        if not sibling:
            raise UsageError("say how the two cases are linked: --sibling (the children are brothers or sisters)",
                             f"cpcm link {first} {second} --sibling; two cases of one child are linked by a supervisor or "
                             f"manager: cpcm merge-cases {first} {second}")
        if reason is not None and not remove:
            raise UsageError("--reason goes with --remove (why a link made by mistake is taken out)",
                             f"cpcm link {first} {second} --sibling --remove --reason TEXT")
        ctx = open_ctx(repo, identity)
        result = service.link_siblings(ctx, first, second, (reason or "") if remove else None)
        report_written(result, json_out, f"{first} and {second} are no longer linked as siblings" if remove
                       else f"{first} and {second} are linked as siblings")

    @app.command("assign")
    def assign(case: Optional[str] = typer.Argument(None, help="Case ID (or use --batch)."),
               worker: Optional[str] = typer.Option(None, "--worker", help="The worker's id: the case becomes theirs.", show_default=False),
               cover: Optional[str] = typer.Option(None, "--cover", help="A colleague's id: they read and write the case until --until, "
                                                   "and it stays with its worker.", show_default=False),
               until: Optional[str] = typer.Option(None, "--until", help="With --cover: the last day of the cover (a date: to the end "
                                                   "of that day in the agency's time zone; or a date-time).", show_default=False),
               batch: Optional[Path] = typer.Option(None, "--batch", help="A YAML list or CSV file, one case per row: its 'case' "
                                                    "and the 'worker' who takes it over; all assigned in one commit.", show_default=False),
               from_worker: Optional[str] = typer.Option(None, "--from-worker", help="With --worker: every open case of this "
                                                         "worker (one leaving) goes to --worker, in one commit.", show_default=False),
               dry_run: bool = typer.Option(False, "--dry-run", help="With --batch or --from-worker: check everything, write nothing."),
               keyworker: Optional[str] = typer.Option(None, "--keyworker", help="Nominate the case's keyworker, the child's and "
                                                       "family's main point of contact: a worker of the team, by id (with "
                                                       "--reason).", show_default=False),
               keyworker_name: Optional[str] = typer.Option(None, "--keyworker-name", help="Nominate someone outside the team as "
                                                            "keyworker (a teacher, a community volunteer ...): their name (with "
                                                            "--keyworker-role and --reason; kept encrypted). A name on the command line "
                                                            "can show in the process list and your shell's history.",
                                                            show_default=False),
               keyworker_role: Optional[str] = typer.Option(None, "--keyworker-role", help="With --keyworker-name: who they are to "
                                                            "the child: teacher, community_volunteer, relative, faith_leader, "
                                                            "health_worker, other_agency_worker, foster_carer or other.",
                                                            show_default=False),
               keyworker_contact: Optional[str] = typer.Option(None, "--keyworker-contact", help="With --keyworker-name: how to "
                                                               "reach them (kept encrypted).", show_default=False),
               reason: Optional[str] = typer.Option(None, "--reason", help="With --keyworker or --keyworker-name: why this "
                                                    "keyworker (required).", show_default=False),
               at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Assign a case to a worker (the case is re-encrypted so they can read it), or with
        --cover have a colleague cover it for a time (leave, say): they read and write it until
        --until, then `cpcm team sync` or the next write to the case takes them off it. With
        --batch, assign many cases (a worker leaving) in one commit; with --from-worker, every
        open case of a leaving worker to one colleague, in one commit (a supervisor's). With
        --keyworker (a colleague) or --keyworker-name and --keyworker-role (someone outside the
        team), nominate the case's keyworker, with --reason; without one, the caseworker is.

        Example: cpcm assign CP-4F7K-9X2N --worker otieno
        Example: cpcm assign CP-4F7K-9X2N --cover baraka --until 2026-03-01
        Example: cpcm assign CP-4F7K-9X2N --keyworker-name "..." --keyworker-role teacher --reason "the child trusts her"
        Example: cpcm assign --batch handover.csv --dry-run
        Example: cpcm assign --from-worker amina --worker baraka
        """
        from cpcm import service
        from cpcm.errors import UsageError

        nominating = {"--keyworker": keyworker, "--keyworker-name": keyworker_name, "--keyworker-role": keyworker_role,
                      "--keyworker-contact": keyworker_contact}
        if any(value is not None for value in nominating.values()):
            # a nomination: the case stays with its worker; none of the other ways of assigning goes with it
            other = {"--worker": worker, "--cover": cover, "--until": until, "--batch": batch, "--from-worker": from_worker,
                     "--dry-run": dry_run}
            given = [name for name, value in other.items() if value]
            if given:
                raise UsageError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with assigning the case, not with "
                                 "nominating its keyworker", "Nominate the keyworker on its own: cpcm assign CASE --keyworker "
                                 "WORKER --reason TEXT (or --keyworker-name NAME --keyworker-role ROLE --reason TEXT).")
            if not case:
                raise UsageError("give the case ID", "Example: cpcm assign CASE --keyworker WORKER --reason TEXT")
            ctx = open_ctx(repo, identity)
            case_id = service.parse_case_id(case)
            result = service.assign_keyworker(ctx, case_id, keyworker, keyworker_name, keyworker_role, keyworker_contact, reason,
                                              parse_at(at))
            for message in result.warnings:
                warn(message)
            if json_out:
                print_json(result.to_json())
                return
            say(f"keyworker of {case_id}: {result.extra['keyworker']}; caseworker: {result.extra['worker'] or 'none'}")
            for step in result.next_steps:
                say(f"next: {step}")
            return
        if reason is not None:
            raise UsageError("--reason goes with --keyworker or --keyworker-name: why this keyworker",
                             "Example: cpcm assign CASE --keyworker WORKER --reason TEXT")
        if from_worker is not None:
            # every open case of one worker, dated now: a case, a file, a cover or a date would be dropped
            one = {"CASE": case, "--batch": batch, "--cover": cover, "--until": until, "--at": at}
            given = [name for name, value in one.items() if value]
            if given:
                raise UsageError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with one case, not with --from-worker",
                                 "cpcm assign --from-worker OLD --worker NEW hands over every open case of OLD, dated now.")
            if not worker:
                raise UsageError("--from-worker needs --worker: the colleague who takes the cases over",
                                 "Example: cpcm assign --from-worker amina --worker baraka")
            return _assign_from_worker(from_worker, worker, dry_run, repo, identity, json_out)
        if batch is not None:
            # a batch takes its cases and workers from the file only, dated now: an option for one case would be dropped
            one = {"CASE": case, "--worker": worker, "--cover": cover, "--until": until, "--at": at}
            given = [name for name, value in one.items() if value]
            if given:
                raise UsageError(f"{', '.join(given)} {'goes' if len(given) == 1 else 'go'} with one case, not with --batch",
                                 "Give each case and its worker as the columns 'case' and 'worker' of the batch file; a batch "
                                 "is dated now.")
            from cpcm.cli.batch import assign_batch_command

            return assign_batch_command(batch, dry_run, repo, identity, json_out)
        if dry_run:
            raise UsageError("--dry-run goes with --batch or --from-worker: one assignment is written when it is allowed",
                             "To check one first: cpcm assign --batch FILE --dry-run, with one row.")
        if not case:
            raise UsageError("give a case ID, or --batch FILE", "Example: cpcm assign CASE --worker WORKER")
        if (worker is None) == (cover is None):
            raise UsageError("give either --worker (assign the case) or --cover with --until (cover for its worker)",
                             "Example: cpcm assign CASE --cover WORKER --until 2026-03-01")
        if cover is None and until is not None:
            raise UsageError("--until goes with --cover", "Example: cpcm assign CASE --cover WORKER --until 2026-03-01")
        if cover is not None and until is None:
            raise UsageError("--cover needs --until: the last day of the cover", "Example: cpcm assign CASE --cover WORKER --until 2026-03-01")
        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        if cover is not None:
            result = service.assign_cover(ctx, case_id, cover, until, parse_at(at))
        else:
            result = service.assign(ctx, case_id, worker, parse_at(at))
        for message in result.warnings:
            warn(message)
        if json_out:
            print_json(result.to_json())
        elif cover is not None:
            say(f"{cover} covers {case_id} until {local_text(result.extra['until'], ctx.zone)}; it stays with {result.extra['worker']}")
        else:
            say(f"{case_id} assigned to {worker}")
            for step in result.next_steps:
                say(f"next: {step}")


def _assign_from_worker(from_worker: str, worker: str, dry_run: bool, repo: Path | None, identity: Path | None,
                        json_out: bool) -> None:
    """`cpcm assign --from-worker OLD --worker NEW`: what it says as `assign --batch` says it, then
    each case moved (or, with --dry-run, that would be) and the cases left as they are."""
    from cpcm import service
    from cpcm.cli.batch import print_batch
    from cpcm.cli.common import with_progress

    ctx = open_ctx(repo, identity)
    result = with_progress(lambda tick: service.assign_from_worker(ctx, from_worker, worker, dry_run, tick), None, "assignments")
    moved = [f"{entry['case_id']} {'would be assigned' if dry_run else 'assigned'} to {entry['worker']} (was {entry['previous']})"
             for entry in result.extra["records"]]
    print_batch(result, "assignment", "assigned", dry_run, json_out, True, moved)


def register_verify(app: typer.Typer) -> None:
    _typer()

    @app.command("verify")
    def verify(repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Check the repository: every record you can read decrypts and is valid; nothing is
        uncommitted (policy and config included); git's objects are whole; records were only
        added (or re-encrypted), by their own worker, to their readers' keys; no plaintext file
        was ever committed; the history below the last verified commit is unchanged; every
        commit is signed by a team member active then, whose role allows what it records. Exit 1
        when something is wrong (the codes: docs/commands/cases.md); a note alone exits 0.

        Example: cpcm verify
        """
        from cpcm import service

        ctx = open_ctx(repo, identity)
        problems = service.verify(ctx)
        if json_out:
            print_json_items(p.to_json() for p in problems)
        else:
            print_table(["code", "case", "problem"], [[p.code, p.case_id or "", p.message] for p in problems],
                        title=f"{len(problems)} problem(s)")
        if any(p.severity != "note" for p in problems):
            raise typer.Exit(1)


def _signed(entry) -> str:
    """The log's `signed` column: the signer and "good", or why the signature does not stand."""
    if not entry.commit:
        return ""
    if entry.signature == "good":
        return f"{entry.signed_by}, good"
    return f"{entry.signed_by}, {entry.signature}" if entry.signed_by else entry.signature


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_value(v) for v in value)
    if isinstance(value, dict):  # a field cpcm keeps beside the form's (a closure's readiness domains)
        return ", ".join(f"{str(key).replace('_', ' ')}: {_value(item)}" for key, item in value.items())
    return str(value)


def lives_with_words(data: dict, zone=None) -> str | None:
    """The "lives with" row of `cpcm show`: who the child lives with now, in the words of its fixed
    list, and where that comes from: the latest placement's care type, with what the registration
    says beside it, or the registration's value (as updated; after the placement by its date, when
    there is one). Codes of fixed lists only, never free text."""
    def said(code) -> str:
        return str(code).replace("_", " ")

    value, placement = data.get("lives_with"), data.get("placement")
    if not value:
        return None
    if data.get("lives_with_source") == "placement" and placement:
        registered = data.get("lives_with_registered")
        return (f"{said(value)} (the care type of the placement of {local_day(placement['at'], zone)}"
                + (f"; registered: {said(registered)}" if registered else "") + ")")
    if placement:
        return f"{said(value)} (the registration as updated after the placement of {local_day(placement['at'], zone)})"
    return said(value)


def keyworker_words(keyworker: dict | None, zone=None, case_id: str = "CASE") -> str | None:
    """The keyworker as `cpcm show` says it to the worker (who reads the case): a team worker's
    id, or the name, role and contact of someone outside the team; the caseworker when none was
    nominated, said so; a colleague nominated who has left the team since, said so with what to do."""
    if not keyworker:
        return None
    if keyworker.get("nominated") is False:
        return f"{keyworker.get('worker') or 'none'} (the caseworker: no keyworker nominated)"
    if keyworker.get("outside"):
        role = str(keyworker.get("role") or "").replace("_", " ")
        contact = f", {keyworker['contact']}" if keyworker.get("contact") else ""
        words = f"{keyworker.get('name') or '(name not recorded)'} ({role}, outside the team{contact})"
    else:
        words = str(keyworker.get("worker") or "")
        if keyworker.get("is_caseworker"):
            words += " (the caseworker)"
    if keyworker.get("nominated") and keyworker.get("at"):
        words += f", nominated {local_day(keyworker['at'], zone)} by {keyworker.get('by')}"
    if keyworker.get("off_team"):
        words += f"; no longer on the team: nominate another keyworker (cpcm assign {case_id} --keyworker WORKER --reason ...)"
    return words


def print_case(data: dict, zone=None) -> None:
    """`cpcm show CASE` for a person: one table of the case, then consents, open actions, reviews,
    due (times local to the agency's `zone`, with the offset)."""
    from cpcm.service.cases import records_text

    child, plan, items, consent = data["child"], data["plan"], data["due"], data["registration_consent"]
    state = data.get("registration_consent_state")  # consent to the case's work not settled: refused, not informed, missing
    unsettled = f"not settled: {state.replace('_', ' ')} (see the problems and what is due)" if state else ""
    if data.get("registration_consent_override"):
        unsettled = f"settled by an override ({data['registration_consent_override']}, see the consents on file)"
    caregiver, relationship = data["caregiver_name"] or "", data.get("caregiver_relationship")
    if relationship:  # the relationship alone where no name was recorded ("grandmother", not " (grandmother)")
        caregiver = f"{caregiver} ({relationship})" if caregiver else f"{relationship} (name not recorded)"
    rows = [
        ("case", data["case_id"]), ("name", data["name"]), ("other names", child.get("other_names")), ("sex", data["sex"]),
        ("age", data["age"]), ("date of birth", child.get("date_of_birth") or "(estimated from age)"),
        ("birth certificate", child.get("birth_certificate")), ("disability", child.get("disability")),
        ("location", data["location"]), ("lives with", lives_with_words(data, zone)), ("caregiver", caregiver), ("contact", data["contact"]),
        ("status", data["status"]), ("stage", data["stage"]), ("risk", data["risk"]), ("worker", data["worker"]),
        ("covered by", "; ".join(f"{c['worker']} until {local_text(c['until'], zone)}" for c in data.get("covers") or []
                                 if c.get("in_force"))),
        ("keyworker", keyworker_words(data.get("keyworker"), zone, data.get("case_id") or "CASE")),
        ("registered", local_text(data["registered_at"], zone)), ("registered at", data["registration_place"]),
        ("reopened", local_text(data["reopened_at"], zone) + ": rows marked 'before the reopening' are of the earlier episode"
         if data.get("reopened_at") else None),
        ("identified by", data["identified_by"]),
        ("concerns", ", ".join(data["concerns"]) + (f" ({data['concerns_other']})" if data.get("concerns_other") else "")),
        ("case categories", ", ".join(data["case_categories"])),
        ("eligibility criteria", "; ".join(c["label"] for c in data.get("criteria") or ())),
        ("immediate needs", "; ".join(data["immediate_needs"])),
        ("registration consent", "; ".join(filter(None, [", ".join(f"{k} {_value(v)}" for k, v in consent.items()), unsettled]))),
        ("notes", data["notes"]), ("records", records_text(data["records_total"], data["records_corrected"], data.get("records_misfiled", 0))),
    ]
    rows = [(k, v) for k, v in rows if v not in (None, "")]
    if plan:
        rejection = plan.get("rejection")
        if rejection:
            state = (f"rejected by {rejection['by']} on {local_text(rejection['at'], zone)[:10]}"
                     + (f" ({rejection['note']})" if rejection.get("note") else "") + ": a new version is needed")
        else:
            ended = {"transferred": "approved; was in force when the case was transferred",
                     "closed": "approved; was in force when the case was closed"}.get(plan.get("ended_with") or "")
            if plan.get("before_reopening"):  # approved in the cycle a closure ended: not in force since the reopening
                ended = "approved before the reopening, not in force since"
            state = ((ended or "in force (approved)") if plan.get("approved_at") else "rejected: a new version is needed" if plan.get("rejected_at")
                     else "withdrawn by its author" if plan.get("withdrawn_at") else "waiting for a supervisor's approval")
        if not plan.get("approved_at") and (plan.get("previous") or {}).get("version"):
            state += (f"; version {plan['previous']['version']}, approved before the reopening, is not in force"
                      if plan.get("before_reopening") else f"; version {plan['previous']['version']} stays in force")
        if plan.get("before_reopening"):
            state += "; the plan from before the reopening: its actions are not due"
        content = plan["content"] or {}
        interim = ", interim" if content.get("interim") else ""
        rows.append(("plan", f"version {plan['version']} ({plan.get('reason')}{interim}), {state}"))
        approval = plan.get("approval")
        kept = (plan.get("previous") or {}) if not plan.get("approved_at") else {}
        if approval and approval.get("note"):  # the conditions the supervisor approved it on
            rows.append(("plan approval", f"by {approval['by']} on {local_text(approval['at'], zone)[:10]}: {approval['note']}"))
        elif (kept.get("approval") or {}).get("note"):  # while a new version waits: those of the version in force
            held = kept["approval"]
            # one approved before the reopening is not in force since (the plan row says so)
            kept_state = "approved before the reopening, not in force" if plan.get("before_reopening") else "in force"
            rows.append(("plan approval", f"version {kept.get('version')}, {kept_state}: by {held['by']} on "
                                          f"{local_text(held['at'], zone)[:10]}: {held['note']}"))
        for goal in content.get("goals", []):
            rows.append((f"goal {goal.get('id')}", f"[{goal.get('term')}] {goal.get('goal')}"))
    if data.get("closure"):
        rows.append(("closure", closure_words(data["closure"], zone)))
    for complaint in data.get("complaints") or ():  # a complaint naming the case, shown only to those who read it
        rows.append(("complaint", f"{complaint['complaint_id']} ({'about staff, ' if complaint['about_staff'] else ''}"
                                  f"{complaint['status']})"))
    if data.get("confidential"):  # to a reader of the entries only: nothing at all for anyone else
        rows.append(("strictly confidential", f"{data['confidential']} entr(ies): cpcm confidential list {data['case_id']}"))
    for met in data.get("conferences") or ():  # what each case conference that discussed it decided
        decided = "; ".join(met["decisions"]) or "no decision recorded"
        rows.append((f"conference {met['conference']}", f"{met['date']} ({met.get('reason')}): decided: {decided}; "
                     f"{met['actions']} action(s) into the plan ({met['record_id']})"))
    for ref in data["referrals"]:
        trail = " → ".join(f"{h['status']} {h['at'][:10]}" for h in ref["history"])
        rows.append((f"referral {ref['ref']}", f"{ref['service']}: {ref['status']} ({trail})" + _before(ref)))
    for entry in data["assessments"]:
        line = f"{entry['at'][:10]} by {entry['by']}" + (f", risk {entry['risk']}" if entry.get("risk") else "")
        if entry.get("changed"):
            line += f"; {len(entry['changed'])} answer(s) changed since the previous one"
        rows.append((f"{entry['type'].replace('_', '-')} assessment", line + f" ({entry['record_id']})" + _before(entry)))
        if entry.get("readiness"):
            ready = entry["readiness"]
            scores = ", ".join(f"{d['domain']} {d['score']}/{d['maximum']}{'' if d['passed'] else ' (below ' + str(d['pass_mark']) + ')'}"
                               for d in ready["domains"])
            verdict = "ready for closure" if ready["ready_for_closure"] else "not ready: " + "; ".join(ready["reasons"])
            rows.append(("readiness", f"{scores}: {verdict}"))
    if data.get("readiness"):
        from cpcm.service.reintegration import words

        rows.append(("readiness (latest)", words(data["readiness"])))
    if data.get("graduation"):
        from cpcm.service.reintegration import graduation_line

        rows.append(("graduation (latest)", graduation_line(data["graduation"])))
    if data.get("csi"):
        from cpcm.service.csi import change_words, line

        rows.append(("child status index (latest)", line(data["csi"])))
        if data["csi"].get("changes") is not None:
            rows.append(("CSI change since previous", change_words(data["csi"]["changes"])))
    if data.get("placement"):
        from cpcm.service.placements import words as placement_words

        rows.append(("placement", placement_words(data["placement"], zone)))
    if (planned := data.get("followup_plan")) and (planned.get("every") or planned.get("next")):
        from cpcm.workflow.followups import planner, words as followup_words

        rows.append(("follow-up", f"{followup_words(planned) or 'nothing planned'} "
                                  f"(planned by {planner(planned, local_day(planned['at'], zone))})"))
    if data.get("home_best_interests_owed"):  # the plan for reunification_done a supervisor wrote without one
        rows.append(("best interests", f"owed: the child's return home ({local_day(data['home_best_interests_owed']['at'], zone)}, "
                                       "a plan for reunification_done) was recorded without a best-interests record, on a "
                                       f"supervisor's reason: cpcm assess {data['case_id']} --type best-interests"))
    if data.get("reintegration"):
        rows += reintegration_rows(data["reintegration"], data["case_id"], zone)
    # the other cases of the same child as linked; the siblings as one group, those linked through another sibling too
    rows += [("linked case", link["text"]) for link in data.get("links") or [] if link["relation"] != "sibling"]
    rows += [("linked case", member["text"]) for member in data.get("siblings") or []]
    if data.get("continuation"):
        kept = data["continuation"]
        review = f"; next case review due {local_day(kept['review_due'], zone)}" if kept.get("review_due") else ""
        rows.append(("continued past 18", f"{local_day(kept['at'], zone)} by {kept['by']}: {kept['justification']}{review} "
                                          f"({kept['record_id']})"))
    if data.get("received"):
        rows.append(("received", received_words(data["received"], zone)))
    if data.get("transfer"):
        rows.append(("transferred", transfer_words(data["transfer"], data["case_id"], zone)))
    ended = data["status"] != "open" and data["open_actions"]  # left open when the case was closed or transferred: none is due
    if ended:
        rows.append(("plan actions not done", f"{', '.join(a['item'] for a in data['open_actions'])} (none is due: the case is "
                                              f"{data['status']})"))
    titled_table(["field", "value"], rows, title=f"Case {data['case_id']}")
    if data.get("problems"):
        gap()
        titled_table(["problem", "severity", "what", "rule"],
                     [[p["code"], p["severity"], p["message"], p["rule"]] for p in data["problems"]], title="Problems (cpcm check)")
    if data["consents"]:
        gap()
        reopened = bool(data.get("reopened_at"))  # a column saying which consents are of the episode before it
        titled_table(["purpose", "agency", "from", "answer", "on", "until", "state"] + ["episode"] * reopened,
                     [[c["purpose"], c["agency"] or "", c["given_by"] or f"override ({c['basis']}) by {c['by']}", c["status"] or "",
                       c["at"][:10], c["until"] or ("one-off" if c["one_off"] else ""),
                       c["state"] + (f"; override {c['overridden_by']} by {c.get('overridden_by_worker') or 'unknown'} stands in"
                                     if c.get("overridden_by") else "")]
                      + [_episode(c)] * reopened
                      for c in data["consents"]],
                     title="Consents on file")
    if data.get("keyworkers"):
        gap()
        titled_table(["on", "by", "keyworker", "caseworker then", "reason", "record"],
                     [[local_text(k["at"], zone)[:16], k["by"], keyworker_words(k), k.get("case_worker") or "",
                       k.get("reason") or "", k["record_id"] + (f" (corrects {k['corrects']})" if k.get("corrects") else "")]
                      for k in data["keyworkers"]],
                     title="Keyworker nominations")
    if data.get("mandatory_reports"):
        gap()
        reopened = bool(data.get("reopened_at"))
        titled_table(["on", "by", "decision", "concerns", "to", "reported on", "reference", "explained", "supervisor", "record"]
                     + ["episode"] * reopened,
                     [mandatory_report_cells(m, zone) + [_episode(m)] * reopened for m in data["mandatory_reports"]],
                     title="Mandatory-reporting decisions")
    if data["open_actions"] and not ended:
        from cpcm.workflow.open_items import referral_open

        linked: dict[str, list[dict]] = {}
        for referral in data["referrals"]:
            if referral.get("plan_action"):
                linked.setdefault(referral["plan_action"], []).append(referral)

        def referred(item: str) -> str:  # an action's open referrals, else its latest one
            found = linked.get(item) or []
            refs = [r["ref"] for r in found if referral_open(r.get("status"))] or [r["ref"] for r in found[-1:]]
            return f" → {', '.join(refs)}" if refs else ""

        gap()
        titled_table(["action", "what", "who", "by", "progress"],
                     [[a["item"] + referred(a["item"]), a["what"], a["who"],
                       (a["by"] or "") + (" (late)" if a["late"] else ""), a["progress"] or ""] for a in data["open_actions"]],
                     title="Open plan actions")
    if data.get("reviews"):
        gap()
        reopened = bool(data.get("reopened_at"))  # a column saying which reviews are of the episode before it, as for consents
        titled_table(["on", "by", "outcome", "found", "record"] + ["episode"] * reopened,
                     [review_cells(r, zone) + [_episode(r)] * reopened for r in data["reviews"]],
                     title="Reviews")
    if items:
        gap()
        titled_table(["due", "what", "state", "why"],
                     [[local_text(i["due"], zone), i["title"], i["state"], f"{i['why']} ({i['source']})"] for i in items],
                     title="Due")


def mandatory_report_cells(entry: dict, zone=None) -> list[str]:
    """A mandatory-reporting decision's row of `cpcm show`: the day, who decided, the decision (with
    its basis when not reported), the concerns, to whom, when and the authority's reference, whether
    the rules were explained, the supervisor's decision of one not to report, and the record (the
    rationale is read in it: `cpcm show CASE RECORD`)."""
    decision = _value(entry.get("decision")) + (f" ({_value(entry['basis'])})" if entry.get("basis") else "")
    supervisor = entry.get("supervisor")
    if supervisor is None:
        said = ""
    elif supervisor["decision"] == "waiting":
        said = "waiting for a supervisor's decision"
    elif supervisor["decision"] == "not_needed":  # reported on another copy apart (a sync's mandatory-reports-concurrent)
        said = f"not needed: reported on another copy ({supervisor.get('reported')})"
    elif supervisor["decision"] == "replaced":  # a later decision was recorded before a supervisor decided this one
        said = f"not needed: replaced by a later decision ({supervisor.get('by_decision')})"
    else:
        said = f"{supervisor['decision']} by {supervisor['by']} on {local_day(supervisor['at'], zone)}" + (
            f": {supervisor['note']}" if supervisor.get("note") else "")
    return [local_day(entry["at"], zone), entry["by"], decision, ", ".join(entry.get("concerns") or []),
            (entry.get("to_other") if entry.get("to") == "other" and entry.get("to_other") else _value(entry.get("to"))) or "",
            str(entry.get("reported_on") or "")[:10], entry.get("reference") or "",
            _value(entry.get("law_explained")) or "", said, entry["record_id"]]


def review_cells(review: dict, zone=None) -> list[str]:
    """A review's row of `cpcm show`: the day, who recorded it, the outcome, what else it found
    (the chair when a worker chaired it, whether the plan is still right, who attended, the
    progress counted by status, the actions found done, the next review it set), and the record
    (`cpcm show CASE RECORD` reads it in full). Codes, dates and counts only: the free text
    (decisions, notes, a chair who is not a worker) is read in the record."""
    attended = review.get("attended") or {}
    # each status as often as the review gives it, in the order it first does
    counted = [f"{count} {str(status).replace('_', ' ')}" for status, count in (review.get("progress") or {}).items()]
    found = [f"chair {review['chair']}" if review.get("chair") else None,
             f"plan still right: {_value(review.get('plan_still_right'))}" if review.get("plan_still_right") else None,
             f"attended: child {_value(attended.get('child')) or '?'}, family {_value(attended.get('family')) or '?'}",
             f"progress: {', '.join(counted)}" if counted else None,
             f"actions done: {', '.join(review['actions_done'])}" if review.get("actions_done") else None,
             f"next review {review['next_review']}" if review.get("next_review") else None]
    return [local_day(review["at"], zone), review["by"], _value(review.get("outcome")), "; ".join(f for f in found if f),
            review["record_id"]]


def _episode(entry: dict) -> str:
    """The `episode` column of a table of `cpcm show` on a reopened case (consents, reviews): whether
    the row was recorded before the latest reopening (`before_reopening` in `cpcm show --json`)."""
    return "before the reopening" if entry.get("before_reopening") else "since the reopening"


def closure_words(closure: dict, zone=None) -> str:
    """The latest closure request and what became of it, with the supervisor's note: `requested
    by baraka on 2026-11-06 (goals_met), rejected by sue on 2026-11-07 (visit the school first):
    the case stays open`."""
    asked = f"requested by {closure['by']} on {local_text(closure['at'], zone)[:10]} ({closure.get('reason')})"
    decision = closure.get("decision")
    if closure["state"] == "waiting":
        return asked + ", waiting for a supervisor or manager"
    said = ""
    if decision:
        said = f" by {decision['by']} on {local_text(decision['at'], zone)[:10]}" + (f" ({decision['note']})" if decision.get("note") else "")
    if closure["state"] == "rejected":
        return f"{asked}, rejected{said}: the case stays open; ask again when the note is met"
    return f"{asked}, approved{said}"


def _before(entry: dict) -> str:
    """The mark of an assessment's or referral's row recorded before the case's latest reopening
    (`before_reopening` in `cpcm show --json`): of the episode a closure ended."""
    return "; before the reopening" if entry.get("before_reopening") else ""


def titled_table(columns: list[str], rows: list, title: str) -> None:
    """One table of `cpcm show CASE`: drawn on a terminal with its title; printed plain (piped),
    its title first on a line of its own, '# ' and the same words ('# Consents on file'), as a
    piped report heads its tables, so that a script tells the tables apart by their titles."""
    from cpcm.cli.common import drawn

    rows = list(rows)
    if not drawn(len(rows)):
        print(f"# {title}")
    print_table(columns, rows, title=title)


def gap() -> None:
    """A blank line between two tables of `cpcm show` printed plain (piped: a drawn table has its
    own lines and title)."""
    from cpcm.cli.common import stdout_is_terminal

    if not stdout_is_terminal():
        print()


def transfer_words(sent: dict, case_id: str, zone=None) -> str:
    """Where a transferred case went, when, and whether the receiving agency's receipt came back
    (with what to do while it has not)."""
    to = sent.get("to") or "the receiving agency"
    named = f"{to} ({sent['to_name']})" if sent.get("to_name") else to
    line = f"to {named} on {local_day(sent['at'], zone)}" + (f" by {sent['by']}" if sent.get("by") else "")
    if sent.get("acknowledged_at"):
        return line + f"; receipt acknowledged on {local_day(sent['acknowledged_at'], zone)}"
    return (line + f"; receipt not acknowledged yet: follow it up with {to}, record their receipt with cpcm transfer-ack RECEIPT "
            f"(or, if the case never reached them, cpcm reopen {case_id} --reason ...)")


def received_words(got: dict, zone=None) -> str:
    """Where a received case came from and when; with the case ID it had there when that ID was
    already used here (the earlier case of the same child, sent from here once)."""
    agency = got.get("from") or "the sending agency"
    named = f"{agency} ({got['from_name']})" if got.get("from_name") else agency
    line = f"from {named} on {local_day(got['at'], zone)}" + (f" by {got['by']}" if got.get("by") else "")
    if got.get("alias"):
        line += (f"; its case ID there, {got['alias']}, was already used here, so it has a new one (if the child was sent "
                 f"from here before, that is its earlier case here: cpcm show {got['alias']})")
    return line


def _with_code(words: str, code) -> str:
    """A choice in the form's words with its code beside them (what --set takes), once: words that
    begin with the code already (a CSI rating, "2 Bad") are not followed by it again."""
    text = str(words)
    return text if text.split(" ", 1)[0] == str(code) else f"{text} ({code})"


def _said(value, words) -> str:
    """A value as `show CASE RECORD` prints it: a choice with words (`words`, aligned with it) in
    those words with its code beside them (`_with_code`), else as it is (`_value`)."""
    if not words:
        return _value(value)
    if isinstance(value, list):
        return "; ".join(map(_with_code, words, map(_value, value)))
    return _with_code(words, _value(value))


# the label of the reason an update of the registration gives, which no form labels (the documents name it so too:
# `field_words` in templates/_values.j2)
UPDATE_REASON = N_("reason")
# Translators: an update's change in `cpcm show CASE update`, after the new value: the value before it; %(value)s is
# that value (a code and its words, as the record holds it) or NO_VALUE below.
BEFORE = N_("(before: %(value)s)")
# Translators: the value of a field an update removed (REMOVED) or had none before (NO_VALUE), in `cpcm show CASE update`.
REMOVED = N_("(removed)")
NO_VALUE = N_("(none)")


def print_record(data: dict, zone=None, say=in_english) -> None:
    """`cpcm show CASE RECORD` for a person: the header, then every answer with its question (the
    form's, in the repository's language; an update's reason by UPDATE_REASON, and each change's
    value before it by BEFORE, in the language of `say`, its `Wording.say`)."""
    import typer

    lines = [f"{data['kind'].replace('_', ' ')}" + (f": {data['what']}" if data["what"] else ""),
             f"record {data['record_id']} of {data['case_id']}, at {local_text(data['at'], zone)} by {data['by']}"
             f" (recorded {local_text(data['recorded_at'], zone)})"]
    if data.get("supersedes") and data["kind"] == "misfiled":
        lines.append(f"marks {data['supersedes']} as written in the wrong case (cpcm show {data['case_id']} {data['supersedes']})")
    elif data.get("supersedes"):
        lines.append(f"corrects {data['supersedes']}: {data.get('correction_reason') or ''}")
    mark = data.get("misfiled")
    if mark:  # written in the wrong case: shown to this case's readers who ask for it, and nowhere else
        moved = mark.get("moved_to") or {}
        where = (f"; moved to {moved['case']} as {moved.get('record')}" if moved.get("case")
                 else "; not moved by cpcm (record it in the case it belongs to)")
        lines.append(f"MISFILED by {mark['record_id']} ({mark['by']}, {local_text(mark['at'], zone)}): written in the wrong "
                     f"case, no longer part of {data['case_id']}{where}")
        lines.append(f"reason: {mark.get('reason') or ''}")
    elif data.get("superseded_by"):
        lines.append(f"CORRECTED by {data['superseded_by']}: this is no longer what the case uses (cpcm show {data['case_id']} "
                     f"{data['superseded_by']})")
    came = (data.get("fields") or {}).get("moved_from")
    if isinstance(came, dict) and came.get("case"):
        writer = f"written by {came['by']} " if came.get("by") else "written "
        lines.append(f"{writer}in another case ({came['case']}, record {came.get('record')}), moved here by {data['by']} on "
                     f"{local_text(data['recorded_at'], zone)}: it was written in the wrong case")
        if came.get("left_out"):
            lines.append(f"the next visit it planned there ({', '.join(map(str, came['left_out']))}) was not moved: it was "
                         f"planned for {came['case']}")
    lines.append("")

    def put(label: str, value, indent: str = "") -> None:
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):  # a list of entries
            lines.append(f"{indent}{label}:")
            for number, entry in enumerate(value, start=1):
                lines.append(f"{indent}  {number}.")
                for part in entry:
                    put(part["label"] or part["field"], _said(part["value"], part["words"]) if part.get("words") else part["value"],
                        indent + "     ")
            return
        text = "none" if value == [] else _value(value)  # an empty list kept in the record (no open referral left)
        if "\n" in text.strip():
            lines.append(f"{indent}{label}:")
            lines.extend(f"{indent}    {line}" for line in text.strip().splitlines())
        else:
            lines.append(f"{indent}{label}: {text}")

    from cpcm.workflow import readiness

    for answer in data["answers"]:
        label = answer["label"] or (say(UPDATE_REASON) if data["kind"] == "update" and answer["field"] == "reason"
                                    else answer["field"].replace("_", " "))
        if answer["field"] in (readiness.KEPT_REASONS, readiness.KEPT_PROBLEMS) and isinstance(answer["value"], list) and answer["value"]:
            words = readiness.reason_words if answer["field"] == readiness.KEPT_REASONS else readiness.problem_words
            put(label, "; ".join(words(item) for item in answer["value"]))  # kept as codes: in words
        elif "previous" in answer and answer["field"] != "reason":  # an update's change: a choice in its words, as below
            before = _said(answer['previous'], answer.get('previous_words')) or say(NO_VALUE)
            put(label, f"{_said(answer['value'], answer.get('words')) or say(REMOVED)}   {say(BEFORE) % {'value': before}}")
        elif answer.get("words"):  # the form's words for a choice, its code beside them (what --set takes)
            put(label, _said(answer["value"], answer["words"]))
        elif answer.get("corrected_since"):  # a record it names corrected since: the one the case reads in its place
            put(label, f"{_value(answer['value'])} (corrected since: {answer['corrected_since']})")
        else:
            put(label, _local_time(answer["field"], answer["value"], zone))
    typer.echo("\n".join(lines))


def _local_time(field: str, value, zone=None):
    """A time a record keeps (a field named `at` or `..._at`: an approval's `decided_at`) local to
    the agency's `zone`, as every other time on screen; any other value as it is."""
    from datetime import datetime

    from cpcm.domain.dates import is_date_only

    last = field.rsplit(".", 1)[-1]
    if not (last == "at" or last.endswith("_at")) or not isinstance(value, (str, datetime)) or is_date_only(value):
        return value
    return local_text(value, zone)


def _what(entry) -> str:
    """A log entry's `what`, with the record that corrected it (alone when the record has no `what`)."""
    corrected = f"[corrected by {entry.superseded_by}]" if entry.superseded_by and not entry.unreadable else ""
    if getattr(entry, "misfiled_by", None):
        corrected = f"[MISFILED: written in the wrong case; see {entry.misfiled_by}]"
    return " ".join(part for part in (entry.what, corrected) if part)


def _kind(entry) -> str:
    """A log entry's kind, with what became of a damaged record."""
    if not entry.unreadable:
        return entry.kind
    return f"{entry.kind} (unreadable{', superseded by ' + entry.superseded_by if entry.superseded_by else ''})"


def reintegration_rows(path: dict, case_id: str, zone=None) -> list[tuple[str, str]]:
    """Where the case stands on the path of reintegration: each step done or not, then what is next
    (each date the day in the agency's `zone`)."""
    done = []
    later = ("monitoring", "readiness", "closure")
    for step in path["steps"]:
        if step.get("skipped") or (step["step"] in later and not path.get("reunified") and not step["done"]):
            continue
        if step["done"]:
            times = f" x{step['count']}" if step["count"] > 1 else ""
            found = " (family found)" if step.get("family_found") else ""
            done.append(f"{step['step'].replace('_', ' ')}{times} {local_day(step['last'], zone)}{found}")
        else:
            done.append(f"{step['step'].replace('_', ' ')}: not yet")
    rows = [("reintegration", "; ".join(done))]
    following = path.get("next")
    if following:
        due = f" (due {local_day(following['due'], zone)})" if following.get("due") else ""
        rows.append(("reintegration next", f"{following['title']}{due}: {following['command'].replace('CASE', case_id)}"))
    return rows
