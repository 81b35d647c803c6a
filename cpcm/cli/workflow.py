"""cpcm due / check / policy: what is due, what breaks a rule, and the rules in force."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from cpcm.cli.common import open_ctx, print_json, print_json_items, print_json_of, print_table, print_text, report_problems, say

if TYPE_CHECKING:
    import typer

STATE_LABEL = {"overdue": "OVERDUE", "target_missed": "target missed", "due_soon": "due soon", "upcoming": "upcoming"}


def _when(item, now) -> str:
    return _when_hours((item.due - now).total_seconds() / 3600)


def _when_hours(hours: float) -> str:
    """How long until (or since) the due time, as `due` prints it. Each text holds over one
    interval of hours (`due` asks once per stretch of items: service/duelines.py)."""
    if hours < 0:
        late = -hours
        return f"{late:.0f} h late" if late < 48 else f"{late / 24:.0f} days late"
    return f"in {hours:.0f} h" if hours < 48 else f"in {hours / 24:.0f} days"


def _typer() -> None:
    """typer and the shared options, as globals of this module (the commands' annotations are
    read from them), imported only when the commands are built: `due_command` needs neither."""
    import typer

    from cpcm.cli.common import ForceOpt, IdentityOpt, JsonOpt, RepoOpt, UnusedIdentityOpt

    globals().update(typer=typer, ForceOpt=ForceOpt, IdentityOpt=IdentityOpt, JsonOpt=JsonOpt, RepoOpt=RepoOpt,
                     UnusedIdentityOpt=UnusedIdentityOpt)


def due_command(within: float | None, worker: str | None, overdue: bool, ics: Path | None, force: bool,
                repo: Path | None, identity: Path | None, json_out: bool) -> None:
    """What `cpcm due` does, once its arguments are parsed (by typer, or by the fast path in
    `cpcm.cli.fast`, which gives the same output without building the command line)."""
    from cpcm import service
    from cpcm.domain.dates import local_text
    from cpcm.domain.text import days
    from cpcm.workflow.deadlines import STATES, soon_window
    from cpcm.workflow.approvals import nobody_hint, subject_of_item as approvals_subject
    from cpcm.workflow.rules import off_team, unattended_hint

    within = days(within, "--within")
    ctx = open_ctx(repo, identity)
    items = service.due_list(ctx, worker=worker, within_days=within, overdue_only=overdue)
    now, soon = ctx.now, soon_window(ctx.policy, ctx.now)
    absent = off_team(ctx.team)

    def row(i) -> list:
        # an item of no policy rule (a keyworker who left the team) cites its own source, as `check` does
        why = f"{i.why} ({ctx.policy.short_source(i.rule) or i.source.split(';')[0].split(' (')[0].strip()})"
        if i.worker_removed:  # nobody has the case (docs/team.md, a worker removed on another copy)
            return [STATE_LABEL[i.state(now, soon)], i.case_id, i.title, local_text(i.due, ctx.zone), _when(i, now),
                    f"{i.owner} ({absent.standing(i.owner)}: nobody has the case)",
                    f"{unattended_hint(i.code, i.case_id, absent.leaver(i.owner))}; {why}"]
        if i.nobody_may_decide:  # a waiting approval nobody in the team may decide: on the case's worker's list
            return [STATE_LABEL[i.state(now, soon)], i.case_id, i.title, local_text(i.due, ctx.zone), _when(i, now),
                    f"{i.owner} (nobody in the team may decide it)",
                    f"{nobody_hint(approvals_subject(i.code), i.case_id, i.requested_by, i.next_decidable)}; {why}"]
        return [STATE_LABEL[i.state(now, soon)], i.case_id, i.title, local_text(i.due, ctx.zone), _when(i, now),
                i.owner + (f" (covered by {i.covered_by})" if getattr(i, "covered_by", None) else ""), why]
    if ics:
        from cpcm.cli.common import register_plain, write_plain
        from cpcm.render.ics import calendar

        data = calendar(items, now, ctx.config.agency_code).encode()
        register_plain(write_plain(ctx.root, ics, "--ics", data, force), data, "due --ics", [i.case_id for i in items], ctx=ctx)
        say(f"{len(items)} event(s) written to the --ics file")
    if json_out:
        print_json_of(items, lambda: (i.to_json(now, soon) for i in items))
    else:
        columns = ["state", "case", "what", "due", "when", "worker", "why"]
        labels = [STATE_LABEL[state] for state in STATES]
        if not print_text(items, columns, labels, _when_hours, row):
            print_table(columns, [row(i) for i in items], title=f"{len(items)} item(s) due")
        _team_overdue(ctx, worker)
        _team_quiet(ctx, worker)
    _partial_list(ctx, worker)
    report_problems(ctx)


def _partial_list(ctx, worker: str | None) -> None:
    """Another worker's list asked for by a caseworker holds only the cases of theirs the
    caseworker reads (a cover): say so on standard error, with or without --json, so that a short
    or empty list is not read as a worker with nothing due (supervisors and managers read every case)."""
    from cpcm.cli.common import warn
    from cpcm.workflow.approvals import oversees

    if worker is None or ctx.worker is None or worker == ctx.worker.id or oversees(ctx.worker):
        return
    if worker == "all":
        warn("only the cases you read are listed (yours and those you cover), not the whole team's: a supervisor or "
             "manager reads every case, and their cpcm due --worker all shows every worker's list")
        return
    warn(f"only the cases of {worker}'s that you read are listed (those you cover): a supervisor or manager reads every "
         f"case, and their cpcm due --worker {worker} shows the whole list")


def _team_overdue(ctx, worker: str | None) -> None:
    """A supervisor's or manager's own list (the default) holds the approvals and conferences,
    not the team's cases: say how many items are overdue on the others' lists, and how many are
    URGENT there and not yet overdue (a risk found increased, a readiness stop: the child not free of
    violence), and how to see them, so that an empty list is not read as a team with nothing to watch."""
    from cpcm import service
    from cpcm.workflow.approvals import oversees

    if worker is not None or not oversees(ctx.worker):
        return
    urgent, overdue = service.team_lists(ctx)  # each item's case
    if urgent:
        say(f"next: {len(urgent)} URGENT item(s) on the team's lists, not yet overdue ({len(set(urgent))} "
            "case(s)): cpcm due --worker all")
    if overdue:
        say(f"next: {len(overdue)} item(s) overdue on the team's lists ({len(set(overdue))} case(s)): "
            "cpcm due --worker all --overdue")


def _team_quiet(ctx, worker: str | None) -> None:
    """A supervisor's or manager's own list warns of each colleague of whom this copy holds no work
    made in the policy's `team_sync.quiet_after` (their laptop may not have synced for that long)."""
    from cpcm.cli.common import warn
    from cpcm.service.team import quiet_workers
    from cpcm.workflow.approvals import oversees

    if worker is not None or not oversees(ctx.worker):
        return
    quiet = quiet_workers(ctx, me=ctx.worker.id)
    if quiet:  # ids and the policy's value only
        after = ctx.policy.duration("team_sync", "quiet_after").words()
        warn(f"no work of {', '.join(quiet)} has reached this copy in {after} (team_sync.quiet_after): their laptop may "
             "not have synced; cpcm team list shows when each worker's last work here was made (docs/team.md, "
             "'Who has synced')")


def register(app: typer.Typer) -> None:
    _typer()

    @app.command("due")
    def due(
        within: Optional[float] = typer.Option(None, "--within", help="Look this many days ahead (default: the policy's due_soon, 7 days)."),
        worker: Optional[str] = typer.Option(None, "--worker", help="Whose list: a worker id, or 'all' (default: yours)."),
        overdue: bool = typer.Option(False, "--overdue", help="Only what is overdue."),
        ics: Optional[Path] = typer.Option(None, "--ics", help="Also write an iCalendar file (case IDs only, no names) for a phone calendar: a new file outside the casefile repository."),
        force: ForceOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """What is due and overdue across your cases, most urgent first, with the rule behind each.

        Example: cpcm due            (every morning)
        Example: cpcm due --worker all --within 14 --json
        """
        due_command(within, worker, overdue, ics, force, repo, identity, json_out)

    @app.command("check")
    def check(case: Optional[str] = typer.Argument(None, help="One case (default: every case you can read, and caseloads)."),
              repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Every rule problem, each with a stable code; exit 1 when there are errors.

        Example: cpcm check
        Example: cpcm check CP-4F7K-9X2N --json
        """
        from cpcm import service

        from cpcm.errors import in_english
        from cpcm.service.wording import say_for

        ctx = open_ctx(repo, identity)
        # at the terminal, the problems marked for the catalogs in the repository's language; the JSON in English
        problems = service.check(ctx, service.parse_case_id(case) if case else None, in_english if json_out else say_for(ctx))
        if json_out:
            print_json_items(p.to_json() for p in problems)
        else:
            print_table(["severity", "code", "case", "worker", "problem", "source"],
                        [[p.severity, p.code, p.case_id or "", p.worker or "", p.message, ctx.policy.short_source(p.rule) or p.source]
                         for p in problems],
                        title=f"{len(problems)} problem(s)")
        report_problems(ctx)
        if any(p.severity == "error" for p in problems):
            raise typer.Exit(1)

    policy = typer.Typer(help="The rules in force: profile, agency overrides, sources.", no_args_is_help=True)
    app.add_typer(policy, name="policy")

    @policy.command("show")
    def show(repo: RepoOpt = None, profile: Optional[str] = typer.Option(None, "--profile", help="Show a profile as shipped, without a repository."),
             identity: UnusedIdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Every rule in force, its value, where it was set and its source.

        Example: cpcm policy show
        """
        from cpcm import service
        from cpcm.store import policies

        if profile:
            pol = policies.load(profile)
        else:
            pol = open_ctx(repo, None, need_identity=False).policy
        rows = service.policy_rows(pol)
        if json_out:
            print_json({"profile": pol.profile, "title": pol.title, "rules": rows})
        else:
            say(f"policy: {pol.profile}: {pol.title}")
            print_table(["rule", "key", "value", "set in", "source"],
                        [[r["rule"], r["key"], _value_words(r["value"]), r["set_in"], r["source"]] for r in rows])

    @policy.command("set")
    def set_policy(file: Optional[Path] = typer.Argument(
                       None, help="The override file to put in place as .cpcm/policy.yaml (default: commit the one in place)."),
                   repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Put an override file in place as .cpcm/policy.yaml, in one signed commit (a supervisor or manager).

        The file is checked first, as 'cpcm policy check FILE' checks it: when it is not valid,
        nothing changes (exit 4, naming every bad key). It is kept as written, comments and all.
        A file with 'rules: {}' takes every value back to the profile's. Without FILE, the
        .cpcm/policy.yaml in place (edited by hand) is checked and committed.

        Example: cpcm policy set new-policy.yaml
        """
        from cpcm import service
        from cpcm.cli.common import read_input, report_setting
        from cpcm.errors import NotFound
        from cpcm.store.layout import POLICY

        ctx = open_ctx(repo, identity)
        path = file if file is not None else ctx.root / POLICY
        if not path.is_file():
            raise NotFound("FILE: no such file" if file is not None else f"no {POLICY} in place",
                           None if file is not None else "Give the file to put in place: cpcm policy set FILE.")
        name = "FILE" if file is not None else POLICY  # what its errors name it, as cpcm policy check does
        result = service.policy_set(ctx, read_input(str(path), name), name)
        changed = ", ".join(result["changed"]) or "nothing: every value is the profile's"
        # a put-back names no change: the rules as committed stand, and what it undid is the edit by hand
        report_setting(result, json_out, "put back: .cpcm/policy.yaml as the last commit holds it, in place of the one changed "
                                         "by hand (no commit)" if result["put_back"] else
                       f"no change: .cpcm/policy.yaml is that file already (changing {changed})",
                       lambda commit: f"policy set: profile {result['profile']}, changing {changed} (commit {commit})")
        if result["listed_now"] and result["commit"] and not json_out:
            say(f"mandatory report: {', '.join(result['listed_now'])} reportable from now: a case that recorded it before "
                "owes a decision within the policy's limit from now, not from when it was recorded")
        for note in result["notes"]:
            say(f"note: {note}")

    @policy.command("check")
    def check_policy(file: Optional[Path] = typer.Argument(None, help="An override file to check (default: the repository's .cpcm/policy.yaml)."),
                     repo: RepoOpt = None, identity: UnusedIdentityOpt = None, json_out: JsonOpt = False) -> None:
        """Validate a policy override file against the repository's profile; exit 4 naming every bad key.

        Example: cpcm policy check .cpcm/policy.yaml
        """
        from cpcm.cli.common import read_input
        from cpcm.store import policies
        from cpcm.errors import NotFound

        ctx = open_ctx(repo, None, need_identity=False)
        if file is None:
            pol = policies.load(ctx.config.policy, ctx.root)
        elif not file.is_file():
            raise NotFound("FILE: no such file")
        else:  # read as every typed file is (UTF-8, at most 1 MiB); errors name it FILE, not the path typed
            pol = policies.with_override(ctx.config.policy, read_input(str(file), "FILE"), "FILE")
        changed = sorted(k for k, v in pol.origins.items() if not v.startswith("profile"))
        from cpcm.store.layout import POLICY

        # the file in place, edited by hand: in force on this laptop only until it is committed
        uncommitted = file is None and (ctx.root / POLICY).is_file() and not ctx.store.is_committed(POLICY)
        if json_out:
            print_json({"valid": True, "profile": pol.profile, "changed": changed, "notes": list(pol.notes),
                        "committed": not uncommitted})
        else:
            say(f"valid: profile {pol.profile}" + (f", changing {', '.join(changed)}" if changed else ", no changes"))
            for note in pol.notes:
                say(f"note: {note}")
            if uncommitted:
                say(f"next: {POLICY} is not committed: it holds on this copy only, and cpcm verify reports it "
                    "(config-uncommitted); a supervisor or manager puts it in force for the team: cpcm policy set")


def _value_words(value):
    """A rule's value as the table shows it: a list of entries (the eligibility criteria, each an id
    and its label) as 'id: label in English' one after another; any other value as it is."""
    if isinstance(value, list) and value and all(isinstance(v, dict) and "id" in v for v in value):
        return "; ".join(f"{v['id']}: {(v.get('label') or {}).get('en', '')}" for v in value)
    return value
