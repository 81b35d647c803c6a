"""cpcm outputs list / remove: the plaintext files cpcm wrote for you (`--plaintext` renders,
reports and exports, `due --ics`, blank forms, the import template), from the register kept
encrypted beside your identity; and removing them (overwritten with random bytes, then deleted)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cpcm.cli.common import IdentityOpt, JsonOpt

# what --repo says here: the register is the worker's, beside their key, whichever repository the files came from
REPO_HELP = "Taken as by every command, and not used: your register of plaintext files is kept beside your key, not in a repository."


def _session(identity: Optional[Path]):
    """(identity path, its keys, its public key, now) for the register's commands: the key opens
    the register (the passphrase asked, or the unlock agent's)."""
    from cpcm import clock
    from cpcm.cli.common import ask_passphrase, identity_path
    from cpcm.crypto import identity as identity_mod

    from cpcm.cli.common import typed_paths
    from cpcm.errors import CpcmError

    path = identity_path(identity)
    try:
        key = identity_mod.load(path, ask_passphrase)
    except CpcmError as exc:  # the path typed is named by its option, never repeated
        raise typed_paths(exc, **{"--identity": identity}) from None
    return path, key.keys, key.recipient, clock.now()


def _shown_now(now):
    """`now` in the zone every other command shows times in: the agency's, of the repository a
    command would open here (--repo aside: $CPCM_REPO, else the nearest one), as `agency_now`
    gives it; the clock's own zone where there is none (the register has files written outside
    any repository)."""
    from cpcm.errors import CpcmError
    from cpcm.service.context import agency_now
    from cpcm.store.config import load_config, resolve_repo
    from cpcm.store.layout import CONFIG

    root = resolve_repo(None)
    if not (root / CONFIG).is_file():
        return now
    try:
        return agency_now(load_config(root), now)
    except (CpcmError, OSError):  # a configuration it cannot read: that repository's commands say what is wrong
        return now


def _days(value: Optional[str]) -> Optional[float]:
    from cpcm.domain.durations import parse_duration
    from cpcm.errors import UsageError

    if value is None:
        return None
    try:
        duration = parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"--older-than {exc}", "For example --older-than 7d (or 24h, 2w, 3mo).") from None
    return duration.months * 30 + duration.days + duration.minutes / 1440


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The plaintext files cpcm wrote for you: list them, remove them.", no_args_is_help=True)
    app.add_typer(group, name="outputs")

    @group.command("list")
    def list_(
        all_: bool = typer.Option(False, "--all", help="Also the files cpcm removed, and those written over by a later file of the same name."),
        older_than: Optional[str] = typer.Option(None, "--older-than", help="Only files written at least this long ago (7d, 24h, 2w, 3mo).", show_default=False),
        identity: IdentityOpt = None, json_out: JsonOpt = False,
        repo: Optional[Path] = typer.Option(None, "--repo", help=REPO_HELP, show_default=False),
    ) -> None:
        """The plaintext files cpcm wrote for you, from your register: where each is, when it was
        written, by which command, which cases it holds, and whether it is still there as written
        (there), changed since (changed), or not there (gone: moved or deleted outside cpcm). Shown to
        you only: the register is encrypted to your key.

        Example: cpcm outputs list
        Example: cpcm outputs list --older-than 7d --json
        """
        from cpcm.cli.common import print_json, print_table, say, warn
        from cpcm.domain.dates import local_text
        from cpcm.service import outputs

        days = _days(older_than)
        path, keys, _, now = _session(identity)
        shown, unread = outputs.outputs_list(path, keys, now, all_, days)
        if unread:
            warn(f"{unread} entr{'y' if unread == 1 else 'ies'} of the register could not be read with this key (an earlier key's, "
                 "or damaged)")
        if json_out:
            print_json([e.to_json() for e in shown])
            return
        if not shown:
            say("no plaintext file cpcm wrote for you is on its list" + ("" if all_ else " (--all: those removed too)"))
            return
        zone = _shown_now(now).tzinfo
        print_table(["written", "path", "state", "command", "cases"],
                    # every time in one zone, as every other command shows times (`_shown_now`), so they read in order
                    [[local_text(e.at, zone), e.path, e.state, e.command, " ".join(e.cases) if e.cases else "-"] for e in shown],
                    title=f"{len(shown)} plaintext file(s) cpcm wrote")
        there = sum(1 for e in shown if e.state in (outputs.THERE, outputs.CHANGED) and e.closed_at is None)
        if there:
            say(f"{there} still there: cpcm outputs remove --all overwrites and deletes them (those changed since, by path)")

    @group.command("remove")
    def remove(
        paths: Optional[List[Path]] = typer.Argument(None, help="The files to remove (as cpcm outputs list shows them).", show_default=False),
        all_: bool = typer.Option(False, "--all", help="Every registered file still there and unchanged."),
        older_than: Optional[str] = typer.Option(None, "--older-than", help="Only files written at least this long ago (7d, 24h, 2w, 3mo).", show_default=False),
        identity: IdentityOpt = None, json_out: JsonOpt = False,
        repo: Optional[Path] = typer.Option(None, "--repo", help=REPO_HELP, show_default=False),
    ) -> None:
        """Overwrite with random bytes and delete plaintext files cpcm wrote for you: those named
        (even when changed since), or with --all or --older-than every one still there as cpcm
        wrote it (a changed one is left and named: it may be another file of that name now).
        Each removal, and each file found gone, is added to your register.

        Example: cpcm outputs remove --older-than 7d
        Example: cpcm outputs remove ~/print/plan.html
        """
        from cpcm.cli.common import print_json, say, warn
        from cpcm.errors import NotDestroyed, UsageError
        from cpcm.service import outputs

        days = _days(older_than)
        if not paths and not all_ and days is None:
            raise UsageError("name the files to remove, or give --all or --older-than", "cpcm outputs list shows them.")
        if paths and all_:
            raise UsageError("give files or --all, not both")
        path, keys, recipient, now = _session(identity)
        done = outputs.outputs_remove(path, keys, recipient, now, paths or (), all_, days)
        if json_out:
            print_json(done.to_json())
        else:
            say(f"overwritten and deleted: {len(done.removed)} file(s)")
            for name in done.removed:
                say(f"  {name}")
            if done.gone:
                say(f"not there any more (moved or deleted outside cpcm; taken off the list): {len(done.gone)} file(s)")
                for name in done.gone:
                    say(f"  {name}")
            if done.changed_left:
                warn(f"{len(done.changed_left)} file(s) changed since cpcm wrote them were left (they may be other files of those "
                     "names now); remove one by naming it: cpcm outputs remove PATH")
                for name in done.changed_left:
                    say(f"  {name}")
        if done.failed:
            for name in done.failed:
                say(f"  could not be removed: {name}")
            raise NotDestroyed(f"could not overwrite or delete {len(done.failed)} file(s) (named above)",
                               "Check who owns them and whether the disk is read-only, then remove them by hand.", done.to_json())
