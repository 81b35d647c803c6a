"""cpcm supervision record | list | show: supervision sessions, individual or group, confidential
to the supervisor who held them and the workers supervised (IAG §2; ESARO N2)."""
from __future__ import annotations

from typing import List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, gather, open_ctx, parse_at,
                             report_written, written)
from cpcm.cli.folders import day, print_list, print_new, print_one


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Supervision sessions: record one you held, read back those you took part in, correct one.",
                        no_args_is_help=True)
    app.add_typer(group, name="supervision")

    @group.command("record")
    def record(
        worker: List[str] = typer.Option([], "--worker", help="A worker supervised, by team id (repeat for group supervision)."),
        kind: List[str] = typer.Option([], "--kind", help="clinical (cases and practice), support (wellbeing, burnout, self-care) or operational (issues for management); repeat."),
        case: List[str] = typer.Option([], "--case", help="A case discussed, by case ID (repeat); never a name."),
        discussed: Optional[str] = typer.Option(None, "--discussed", help="What was discussed (encrypted).", show_default=False),
        decision: List[str] = typer.Option([], "--decision", help="A decision (repeat; encrypted)."),
        wellbeing: Optional[str] = typer.Option(None, "--wellbeing", help="Wellbeing: coping, workload, self-care (encrypted).", show_default=False),
        operational: Optional[str] = typer.Option(None, "--operational", help="Operational issues to raise with management (encrypted).", show_default=False),
        corrects: Optional[str] = typer.Option(None, "--corrects", help="A session ID (SV-...): correct that session (a mistyped date, kind or note) with what is given; with --reason.", show_default=False),
        reason: Optional[str] = typer.Option(None, "--reason", help="With --corrects: what was wrong (required).", show_default=False),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a supervision session you held (a supervisor or manager): with one worker, or a
        group; its kinds, the cases discussed (case IDs), what was discussed, decisions, actions
        (each with who and by when: in a form file, 'cpcm form blank supervision'), wellbeing.
        It is encrypted to you and the workers supervised only (and the agency's recovery keys),
        never to the rest of the team. --at: when it was held (default now).

        With --corrects SESSION a mistake is corrected: a new record that supersedes the one
        standing, with the fields given laid over it; the original stays in the history.

        Example: cpcm supervision record --worker amina --kind clinical --kind support --case CP-4F7K-9X2N --discussed "the home visit plan" --at 2026-12-01
        Example: cpcm supervision record --worker amina --worker baraka --kind clinical --from-file session.yaml
        Example: cpcm supervision record --corrects SV-4F7K-9X2N --at 2026-11-30 --reason "date mistyped"
        """
        from cpcm.errors import UsageError
        from cpcm.service import supervision

        ctx = open_ctx(repo, identity)
        flags = {"workers": Opt("--worker", list(worker) or None), "kinds": Opt("--kind", [k.strip().lower() for k in kind] or None), "cases": Opt("--case", list(case) or None),
                 "discussed": Opt("--discussed", discussed), "decisions": Opt("--decision", list(decision) or None), "wellbeing": Opt("--wellbeing", wellbeing),
                 "operational_issues": Opt("--operational", operational)}
        if corrects is None:
            if reason is not None:
                raise UsageError("--reason goes with --corrects: a new session needs none", "See cpcm supervision record --help.")
            data = gather(ctx, "supervision", from_file, set_, flags, no_input)
            when = parse_at(at)
            result = written(ctx, data, lambda answers: supervision.record(ctx, answers, when))
            print_new(result, json_out, f"supervision session recorded: {result.subject_id} "
                                        f"({result.extra['format']}, with {', '.join(result.extra['workers'])})")
            return
        session_id = supervision.parse_session_id(corrects)
        data = gather(ctx, "supervision", from_file, set_, flags, True, hint=False)
        result = supervision.correct(ctx, session_id, data, reason, parse_at(at))
        report_written(result, json_out, f"{session_id} corrected (the record {result.extra['supersedes']} stays in its history)")

    @group.command("list")
    def list_(
        worker: Optional[str] = typer.Option(None, "--worker", help="Only the sessions that supervised this worker.", show_default=False),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """The supervision sessions you took part in (held, or were supervised in), by date: who,
        when, which kinds, how many cases; what was said is in 'cpcm supervision show'. A session
        you did not take part in is not listed: it is confidential to those who did.

        Example: cpcm supervision list --worker amina
        """
        from cpcm.service import supervision

        ctx = open_ctx(repo, identity)
        found = supervision.list_sessions(ctx, worker)
        print_list(ctx, found, json_out, lambda s: s.summary(),
                   ["session", "date", "held by", "workers", "format", "kinds", "cases", "corrected"],
                   lambda s: [s.id, day(s.at, ctx.zone), s.held_by, ", ".join(s.workers), "group" if s.group else "individual",
                              ", ".join(s.kinds), len(s.cases), "yes" if s.summary()["corrected"] else "no"],
                   f"{len(found)} supervision session(s)")

    @group.command("show")
    def show(
        session: str = typer.Argument(..., help="Session ID (SV-...)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """A supervision session you took part in, as it stands (with a correction: the corrected
        one), and its history.

        Example: cpcm supervision show SV-4F7K-9X2N
        """
        from cpcm.service import supervision

        ctx = open_ctx(repo, identity)
        found = supervision.show(ctx, supervision.parse_session_id(session))
        print_one(found, json_out, lambda: _rows(found, ctx.zone))


def _rows(found, zone) -> list[tuple[str, str]]:
    """The fields of `cpcm supervision show`, with its corrections in the history."""
    data = found.to_dict()
    rows = [("session", found.id), ("date", day(found.at, zone)), ("held by", found.held_by),
            ("workers", ", ".join(found.workers)), ("format", data["format"]), ("kinds", ", ".join(found.kinds)),
            ("cases", ", ".join(found.cases) or "none")]
    if data.get("discussed"):
        rows.append(("discussed", data["discussed"]))
    rows += [("decision", text) for text in data.get("decisions") or ()]
    rows += [("action", f"{a.get('action')} (who: {a.get('owner')}, by {a.get('by')})") for a in data.get("actions") or ()]
    for key, label in (("wellbeing", "wellbeing"), ("operational_issues", "operational issues")):
        if data.get(key):
            rows.append((label, data[key]))
    rows += [(f"record {h['record_id']}", f"by {h['by']}" + (f", corrects {h['supersedes']} ({h.get('reason')})"
                                                             if h.get("supersedes") else "")) for h in found.history]
    return rows
