"""cpcm assess / plan / approve / reject: assessments, versioned case plans, a supervisor's decision."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, List, Optional

import typer

from cpcm.cli.common import (AtOpt, FromFileOpt, IdentityOpt, JsonOpt, NoInputOpt, Opt, RepoOpt, SetOpt, gather, open_ctx, option_values, parse_at,
                             report_written, risk_reason_needed, say, stdin_is_terminal, written)
from cpcm.cli.private import FOLDER_PREFIX, PRIVATE_DIRS, sweep_left_behind, wipe

FORMS = {"initial": "assessment-initial", "comprehensive": "assessment-comprehensive", "best-interests": "best-interests",
         "best_interests": "best-interests"}


def register(app: typer.Typer) -> None:
    @app.command("assess")
    def assess(
        case: str = typer.Argument(..., help="Case ID."),
        type_: str = typer.Option(..., "--type", "-t", help="initial, comprehensive or best-interests."),
        risk: Optional[str] = typer.Option(None, "--risk", help="Risk level now: immediate, high, medium, low."),
        risk_reason: Optional[str] = typer.Option(None, "--risk-reason", help="Why the risk level changed (required when it does)."),
        outcome: Optional[str] = typer.Option(None, "--outcome", help="Initial: proceed, close_no_concerns, close_registered_in_error, close_not_eligible (with --set referrer_feedback=...), transfer."),
        action: List[str] = typer.Option([], "--action", help="Initial: an immediate protection action taken (repeat)."),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record an assessment: initial (safety, basic needs, risk), comprehensive (wellbeing
        dimensions, the child's views, needs) or best-interests (before any care decision).

        Example: cpcm assess CP-4F7K-9X2N --type initial --from-file initial.yaml
        Example: cpcm form blank assessment-comprehensive > a.yaml; cpcm assess CP-4F7K-9X2N -t comprehensive -f a.yaml
        """
        from cpcm import service
        from cpcm.errors import UsageError

        if type_ not in FORMS:
            raise UsageError("--type is one of: initial, comprehensive, best-interests")
        ctx = open_ctx(repo, identity)
        case_id = service.parse_case_id(case)
        when = parse_at(at)
        data = gather(ctx, service.form_for(ctx, type_.replace("-", "_")), from_file, set_,
                      {"risk": Opt("--risk", risk), "risk_reason": Opt("--risk-reason", risk_reason), "outcome": Opt("--outcome", outcome), "immediate_actions": Opt("--action", list(action) or None)},
                      no_input, risk_reason_needed(ctx, case_id),
                      first=lambda _given: service.check_writable(ctx, case_id, "assessment", {"type": type_.replace("-", "_")}, when))
        result = written(ctx, data, lambda answers: service.assess(ctx, case_id, type_, answers, when))
        report_written(result, json_out, f"{type_} assessment recorded for {case_id}")

    @app.command("plan")
    def plan(
        case: str = typer.Argument(..., help="Case ID."),
        reason: Optional[str] = typer.Option(None, "--reason", help="initial, after_reopening (the first plan after a reopening), review, crisis, reunification_date_set, reunification_done, conference_decision, correction; with --withdraw: why."),
        from_current: bool = typer.Option(False, "--from-current", help="The next version from the current one, changed by --set and --remove (for scripts)."),
        edit: bool = typer.Option(False, "--edit", help="Open the current version as YAML in $VISUAL or $EDITOR; the next version is what you save."),
        remove: List[str] = typer.Option([], "--remove", help="With --from-current: a goal or action to take out, by its ID (A3, G2; repeat)."),
        withdraw: bool = typer.Option(False, "--withdraw", help="Take back your own plan version that still waits for approval (with --reason)."),
        override_reason: Optional[str] = typer.Option(None, "--override-reason", help="A supervisor or manager: record the child's return home (reason reunification_done) without a best-interests record, for this reason.", show_default=False),
        from_file: FromFileOpt = None, set_: SetOpt = None, at: AtOpt = None, no_input: NoInputOpt = False,
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a new version of the case plan (goals, actions, review date, closure criteria,
        contingency, who took part). Earlier versions stay in the history; goals and actions keep
        their IDs (G1, A1 …) from version to version.

        Example: cpcm form blank plan > plan.yaml; cpcm plan CP-4F7K-9X2N --from-file plan.yaml
        Example: cpcm plan CP-4F7K-9X2N --from-current --reason review --set actions.A2.by=2027-01-10 --remove A3
        Example: cpcm plan CP-4F7K-9X2N --edit --reason reunification_done
        Example: cpcm plan CP-4F7K-9X2N --from-current --reason reunification_done --override-reason "court ordered her home today"
        Example: cpcm plan CP-4F7K-9X2N --withdraw --reason "written by mistake"
        """
        from cpcm import service
        from cpcm.errors import UsageError

        modes = [name for name, on in (("--from-current", from_current), ("--edit", edit), ("--withdraw", withdraw),
                                        ("--from-file", bool(from_file))) if on]
        if len(modes) > 1:
            raise UsageError(f"{' and '.join(modes)} cannot be used together", "Give one way of writing the version.")
        if remove and not from_current:
            raise UsageError("--remove goes with --from-current")
        ctx = open_ctx(repo, identity)
        option_values(ctx, {"reason": Opt("--reason", reason)}, only=not from_file and not set_)  # in every way of writing
        case_id = service.parse_case_id(case)
        if withdraw:
            if set_ or override_reason:
                raise UsageError("--withdraw takes only --reason")
            result = service.plan_withdraw(ctx, case_id, reason or "", parse_at(at))
            report_written(result, json_out, f"the waiting plan version of {case_id} is withdrawn")
            return
        if from_current:
            changes = gather(ctx, "plan", None, set_, {}, True)
            result = service.plan_revise(ctx, case_id, reason, changes, remove, parse_at(at), override_reason)
        elif edit:
            if set_:
                raise UsageError("--edit takes no --set: change the file in the editor")
            based_on, current = service.plan_current(ctx, case_id)
            current["reason"] = reason

            def write(data: dict):
                if reason and not data.get("reason"):
                    data["reason"] = reason
                return service.plan(ctx, case_id, data, parse_at(at), based_on=based_on, override_reason=override_reason)

            result = edit_in_private(current, case_id, write, _edit_again if stdin_is_terminal() else None)
            if result is None:
                say("nothing changed: nothing was written")
                return
        else:
            when = parse_at(at)
            data = gather(ctx, service.form_for(ctx, "plan"), from_file, set_, {"reason": Opt("--reason", reason)}, no_input,
                          first=lambda given: service.check_writable(ctx, case_id, "plan", given, when))
            result = written(ctx, data, lambda answers: service.plan(ctx, case_id, answers, when, override_reason=override_reason))
        version = result.extra.get("version")
        report_written(result, json_out, f"plan version {version} recorded for {case_id}: actions {', '.join(result.extra.get('actions') or [])}")

    for approve in (True, False):
        _decision_command(app, approve)


def _decision_command(app: typer.Typer, approve: bool) -> None:
    verb = "approve" if approve else "reject"

    def command(
        case: str = typer.Argument(..., help="Case ID, or a conference's ID (CC-…) for its plan."),
        subject: str = typer.Argument(..., help="plan, closure, transfer or mandatory-report (a caseworker's decision not to report) "
                                                "of a case; conference-plan of a conference."),
        note: Optional[str] = typer.Option(None, "--note", help="A note for the worker" + ("." if approve else " (required: what to change)."),),
        at: AtOpt = None, repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        from cpcm import service

        from cpcm.domain.ids import normalise_conference_id

        ctx = open_ctx(repo, identity)
        case_id = normalise_conference_id(case) or service.parse_case_id(case)  # a conference: its plan (Form 3 item 4)
        result = (service.approve if approve else service.reject)(ctx, case_id, subject, note, parse_at(at))
        what = {"mandatory_report": "the decision not to report", "conference_plan": "the plan"}.get(
            subject.strip().replace("-", "_"), subject)
        report_written(result, json_out, f"{what} of {case_id} {'approved' if approve else 'rejected'}")

    command.__doc__ = (f"A supervisor's {'approval' if approve else 'rejection'} of a case plan, a closure, a transfer "
                       f"or a caseworker's decision not to make a mandatory report (not of one's own, unless the policy "
                       f"allows it); or of a case conference's plan (Kenya SOP Form 3 item 4), by the conference's ID.\n\n"
                       f"Example: cpcm {verb} CP-4F7K-9X2N plan" + (' --note "add a goal for school"' if not approve else "") +
                       f"\nExample: cpcm {verb} CP-4F7K-9X2N mandatory-report --note \"...\""
                       f"\nExample: cpcm {verb} CC-4F7K-9X2N conference-plan" + (' --note "book a room at the sub-county office"'
                                                                               if not approve else ""))
    app.command(verb)(command)


# -- plan --edit: the current version in an editor, never on a disk (where: cli/private.py) -----------
EDIT_HEADER = ("# The current version of the plan of {case}. Change what needs changing and save; close without\n"
               "# saving to write nothing. Keep each goal's and action's id; leave id out for a new one; take an\n"
               "# action out by deleting it. `reason` says why this version (cpcm plan --help lists them).\n")


def private_dir() -> str:
    """A folder of memory (tmpfs) to hold the file the editor opens, or UsageError (exit 2)."""
    import os

    for folder in PRIVATE_DIRS:
        if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK):
            return folder
    from cpcm.errors import UsageError

    raise UsageError("--edit needs a memory file system (/dev/shm) for the file the editor opens, and this computer has none",
                     "The plan must not be written to a disk in plain text. Use --from-current with --set and --remove instead.")


@contextlib.contextmanager
def _hangup_as_interrupt():
    """While the editor runs, SIGTERM and SIGHUP (the terminal window closed, the session ended)
    end cpcm as Ctrl-C does: an exception, so that the editor is stopped and the plan's file is
    removed on the way out. Their default action would end the process at once and leave the
    file in /dev/shm until the computer is turned off."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # a signal ignored (nohup) or handled by the caller stays as it is
    names = [name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
             and signal.getsignal(getattr(signal, name)) is signal.SIG_DFL]
    saved = {name: signal.signal(getattr(signal, name), interrupt) for name in names}
    try:
        yield
    finally:
        for name, handler in saved.items():
            signal.signal(getattr(signal, name), handler)


def _edit_again(problems: str) -> bool:
    """Shown the problems of what was saved, the worker says whether to open it again."""
    import typer

    typer.echo(problems, err=True)
    return typer.confirm("Open the plan again to correct it? (no: nothing is written, and what you typed is gone)",
                         default=True, err=True)


# the lines cpcm puts at the top of the file opened again, with the problems of what was saved
_PROBLEM_LINE = "# cpcm: "


def edit_in_private(content: dict, case_id: str, write: Callable[[dict], Any],
                    again: Callable[[str], bool] | None = None) -> Any:
    """Open `content` as YAML in $VISUAL or $EDITOR, in a private folder (0700) on a memory file
    system with the file 0600, and `write` what was saved; None when nothing changed. When what
    was saved is refused as input (YAML that is not well formed, or the form's problems) and
    `again(problems)` says so (a person at the terminal), the file opens again as it was saved,
    with the problems at its top: nothing typed is lost to a slip. The folder and everything the
    editor left in it (swap and backup files) are removed whatever happens."""
    import os
    import shlex
    import subprocess
    import tempfile

    from cpcm.cli.common import read_yaml_input
    from cpcm.errors import InvalidInput, UsageError
    from cpcm.store import codec

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        raise UsageError("--edit needs an editor: set $EDITOR (for example EDITOR=nano)",
                         "Or use --from-current with --set and --remove.")
    text = EDIT_HEADER.format(case=case_id) + codec.dump_text(content)
    sweep_left_behind()
    folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=private_dir())
    try:
        os.chmod(folder, 0o700)
        path = os.path.join(folder, "plan.yaml")
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        while True:
            try:
                with _hangup_as_interrupt():
                    done = subprocess.run([*shlex.split(editor), path])
            except OSError:
                raise UsageError("--edit: the editor named by $EDITOR could not be started", "Check $EDITOR (or $VISUAL).") from None
            if done.returncode != 0:
                raise UsageError("--edit: the editor ended with an error; nothing was written")
            with open(path, encoding="utf-8", errors="replace") as handle_in:
                saved = handle_in.read()
            if saved == text:
                return None
            try:
                data = read_yaml_input(path, "--edit")
                if data is not None and not isinstance(data, dict):
                    raise UsageError("--edit: the plan is a YAML mapping (key: value)")
                return write(data or {})
            except (InvalidInput, UsageError) as refused:
                if again is None or not again(f"error: {refused.message}"):
                    raise
                kept = "".join(line for line in saved.splitlines(keepends=True) if not line.startswith(_PROBLEM_LINE))
                problems = [line for line in refused.message.splitlines() if line.strip()]
                text = "".join(f"{_PROBLEM_LINE}{line.strip()}\n" for line in problems) + kept
                with open(path, "w", encoding="utf-8") as out:  # the same private file, in memory
                    out.write(text)
    finally:
        wipe(folder)
