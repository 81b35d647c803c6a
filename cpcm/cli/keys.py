"""cpcm key new / key show / key publish: a worker's age identity and the signing key derived from it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cpcm.cli.common import (IdentityOpt, JsonOpt, RepoOpt, UnusedRepoOpt, a_file, ask_passphrase, folders_counted, given_path, identity_path,
                             print_json, say, stdin_is_terminal, warn)


def register(app: typer.Typer) -> None:
    key = typer.Typer(help="Your age identity: the key that opens the cases you may read.", no_args_is_help=True)
    app.add_typer(key, name="key")

    @key.command("new")
    def new(
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write it (default: --identity, $CPCM_IDENTITY or ~/.config/cpcm/identity)."),
        no_passphrase: bool = typer.Option(False, "--no-passphrase", help="Leave the identity unprotected (for scripts on a trusted machine)."),
        label: str = typer.Option("", "--label", help="A comment written into the file."),
        identity: Optional[Path] = typer.Option(None, "--identity", "-i", help="Where to write it when there is no --out: the "
                                                "identity file the other commands then read with the same option.", show_default=False),
        repo: UnusedRepoOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Make a new age identity, protected by a passphrase.

        Example: cpcm key new   (then give the printed age1... recipient to your supervisor)
        """
        from cpcm import clock, service

        from cpcm.cli.common import typed_paths
        from cpcm.crypto.identity import check_free
        from cpcm.errors import CpcmError

        a_file(out)  # an identity is never printed
        a_file(identity, "--identity")
        # --out, else --identity (a script that gives -i to every command makes the key it reads after), else as every command
        option, given = ("--out", out) if out else ("--identity", identity)
        path = identity_path(given)
        try:
            check_free(path)  # before the passphrase is asked for (twice) or the unprotected key is warned of
        except CpcmError as exc:
            raise typed_paths(exc, **{option: given}) from None
        passphrase = new_passphrase(no_passphrase)
        try:
            recipient = service.key_new(path, passphrase, clock.now(), label)
        except CpcmError as exc:
            raise typed_paths(exc, **{option: given}) from None
        if json_out:
            print_json({"path": str(path), "recipient": recipient, "protected": passphrase is not None})
        else:
            say(f"identity written to {given_path(given, option, 'CPCM_IDENTITY') or path}")
            typer.echo(recipient)

    @key.command("show")
    def show(identity: IdentityOpt = None,
             signing: bool = typer.Option(False, "--signing", help="Print your signing key (ssh-ed25519 ...) instead."),
             repo: Optional[Path] = typer.Option(None, "--repo", help="Read only for the team: the signing key line's comment names "
                                                 "your worker id there (default: $CPCM_REPO, the nearest parent with .cpcm/).",
                                                 show_default=False),
             json_out: JsonOpt = False) -> None:
        """Print your public recipient (age1...), or with --signing your signing key: what you give to your team.

        The signing key is derived from your identity (no second secret): every commit you make
        with cpcm is signed with it. One line each, so that a script can take it whole.

        Example: cpcm team add amina --role caseworker --recipient "$(cpcm key show)" --signing-key "$(cpcm key show --signing)"
        """
        from cpcm import service

        from cpcm.cli.common import typed_paths
        from cpcm.errors import CpcmError

        path = identity_path(identity)
        try:
            recipient, line = service.key_signing(path, ask_passphrase, _worker_of(path, repo))
        except CpcmError as exc:
            raise typed_paths(exc, **{"--identity": identity}) from None
        if json_out:
            print_json({"path": str(path), "recipient": recipient, "signing_key": line})
        else:
            typer.echo(line if signing else recipient)

    @key.command("publish")
    def publish(
        worker: Optional[str] = typer.Option(None, "--worker", help="Another worker's id (a supervisor or manager records their key)."),
        signing_key: str = typer.Option("", "--signing-key", help="Their signing key line from 'cpcm key show --signing' (ssh-ed25519 AAAA...)."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Record a signing key in the team: yours, once, if none is recorded for you (trust on first use).

        A supervisor or manager records another worker's key with --worker and --signing-key.

        Example: cpcm key publish
        """
        from cpcm import service
        from cpcm.cli.common import open_ctx

        ctx = open_ctx(repo, identity)
        result = service.key_publish(ctx, worker, signing_key)
        if json_out:
            print_json(result.to_json())
        else:
            say(f"signing key of '{result.extra['worker']}' recorded in the team")

    key.command("rotate")(rotate)

    @app.command("unlock")
    def unlock(
        for_: str = typer.Option("8h", "--for", help="How long to keep it unlocked: 30min, 2h, 8h, 1d (at most 1d)."),
        identity: IdentityOpt = None, repo: UnusedRepoOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Type your passphrase once: an agent keeps your key unlocked, in memory only, for a while.

        Until then every command opens your key without asking. It forgets the key when the
        time is up, on 'cpcm lock', or when the computer goes to sleep.

        Example: cpcm unlock --for 4h
        """
        from cpcm import service
        from cpcm.cli.common import typed_paths
        from cpcm.domain.durations import parse_duration
        from cpcm.errors import CpcmError, UsageError

        try:
            duration = parse_duration(for_)
        except ValueError:
            raise UsageError("--for: not a duration", "Use for example 30min, 2h or 8h.") from None
        seconds = duration.minutes * 60 + duration.days * 86400 + duration.months * 31 * 86400
        if duration.same_day or not 60 <= seconds <= 86400:
            raise UsageError("--for: from 1min to 1d", "Use for example 30min, 2h or 8h.")
        path = identity_path(identity)
        try:
            recipient = service.unlock(path, _asked_for_unlock, seconds, program="cpcm.cli.resident")  # it also runs commands
        except CpcmError as exc:
            raise typed_paths(exc, **{"--identity": identity}) from None
        if json_out:
            print_json({"recipient": recipient, "unlocked_for_seconds": seconds})
        else:
            say(f"your key is unlocked for {for_}: 'cpcm lock' locks it now")

    @app.command("lock")
    def lock(identity: IdentityOpt = None, repo: UnusedRepoOpt = None, json_out: JsonOpt = False) -> None:
        """Make the agent forget your key now (after 'cpcm unlock').

        Example: cpcm lock
        """
        from cpcm import service

        held = service.lock(identity_path(identity))
        if json_out:  # held None: the agent runs a command, and locks when it is done
            print_json({"was_unlocked": held is not False, "waiting_for_command": held is None})
        elif held is None:
            say("the agent is running a command: it forgets your key and stops as soon as that command is done")
        else:
            say("your key is locked" if held else "your key was not unlocked")


def _asked_for_unlock() -> str | None:
    """The passphrase `cpcm unlock` opens the key with, typed at its prompt. Asked for only when
    neither the agent nor $CPCM_PASSPHRASE_FILE gives it (crypto/identity.load); with no terminal,
    the refusal of docs/commands/keys.md (exit 2): the hint of a command's refusal, 'unlock it once
    for the day (cpcm unlock)', would send `cpcm unlock` back to itself."""
    from cpcm.errors import UsageError

    if not stdin_is_terminal():
        raise UsageError("a passphrase is needed and there is no terminal to ask for it",
                         "Run cpcm unlock on a terminal to type it; a script sets $CPCM_PASSPHRASE_FILE to a file holding it.")
    return ask_passphrase()


def new_passphrase(no_passphrase: bool) -> str | None:
    """The passphrase of a new identity (`key new`, `key rotate`): from $CPCM_PASSPHRASE_FILE, else
    asked twice on the terminal; None with --no-passphrase (with a warning)."""
    import os

    from cpcm.crypto.identity import passphrase_from_file
    from cpcm.errors import UsageError

    if no_passphrase:
        warn("the identity is not protected by a passphrase: anyone who copies the file can read your cases")
        return None
    passphrase = passphrase_from_file() if os.environ.get("CPCM_PASSPHRASE_FILE") else None
    if passphrase is None:
        if not stdin_is_terminal():
            raise UsageError("a passphrase is needed and there is no terminal to ask for it",
                             "Set $CPCM_PASSPHRASE_FILE, or use --no-passphrase for a scripted key on a trusted machine.")
        passphrase = typer.prompt("New passphrase", hide_input=True, confirmation_prompt=True)
    if len(passphrase) < 8:
        raise UsageError("the passphrase is shorter than 8 characters", "Choose a longer one: a few words are easy to remember.")
    return passphrase


def rotate(
    worker: Optional[str] = typer.Option(None, "--worker", help="Another worker whose key is replaced (a supervisor or manager; "
                                         "with --recipient)."),
    recipient: Optional[str] = typer.Option(None, "--recipient", help="With --worker: their new public key (age1...), from "
                                            "'cpcm key new --out FILE' on their laptop."),
    signing_key: str = typer.Option("", "--signing-key", help="With --worker: their new signing key ('cpcm key show --signing' "
                                    "with the new key): needed when the team records one for them."),
    reason: str = typer.Option("routine", "--reason", help="routine, lost, stolen, compromised or forgotten-passphrase."),
    no_passphrase: bool = typer.Option(False, "--no-passphrase", help="Leave the new identity unprotected (scripts on a trusted "
                                       "machine)."),
    repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
) -> None:
    """Replace your age identity with a new one; every case you read is re-encrypted to it.

    The team records your new key, the cases and conferences you read are encrypted again to it
    in one commit, and your old identity file is kept beside the new one (identity.old-DATE):
    destroy it once every laptop of the team has synced. A supervisor or manager replaces
    another worker's key with --worker, the --recipient they made with 'cpcm key new --out' and
    the --signing-key that 'cpcm key show --signing' prints with it (a lost laptop: docs/security.md).

    Example: cpcm key rotate
    """
    from cpcm import service
    from cpcm.cli.common import open_ctx, typed_paths
    from cpcm.errors import CpcmError, UsageError

    if signing_key and worker is None:
        raise UsageError("--signing-key goes with --worker", "Your own new key's signing key is recorded by itself.")
    if (worker is None) != (recipient is None):
        raise UsageError("--worker and --recipient go together", "Your own key: cpcm key rotate. Someone else's: cpcm key rotate "
                         "--worker ID --recipient age1...")
    ctx = open_ctx(repo, identity)
    if worker is not None:
        if no_passphrase:
            raise UsageError("--no-passphrase: the new key of another worker is made on their laptop", "Leave it out.")
        result = service.key_rotate(ctx, worker, recipient, reason, signing_key)
    else:
        passphrase = new_passphrase(no_passphrase)
        try:
            result = service.key_rotate_own(ctx, identity_path(identity), passphrase, reason)
        except CpcmError as exc:
            raise typed_paths(exc, **{"--identity": identity}) from None
    extra = result.extra
    if json_out:
        print_json(dict(extra))
        return
    cases, conferences = len(extra["reencrypted"]["cases"]), len(extra["reencrypted"]["conferences"])
    sessions = len(extra["reencrypted"].get("supervision") or ())
    complaints = len(extra["reencrypted"].get("complaints") or ())
    confidential = len(extra["reencrypted"].get("confidential") or ())
    say(f"'{extra['worker']}' has a new key; {cases} case(s) and {conferences} conference(s)"
        + (f" and {sessions} supervision session(s)" if sessions else "")
        + (f" and {complaints} complaint(s)" if complaints else "")
        + (f" and {confidential} strictly confidential entr(ies)" if confidential else "") + " re-encrypted to it")
    if extra["not_reencrypted"]:
        warn(f"{folders_counted(extra['not_reencrypted'])} you cannot read keep their records encrypted to the old key (new "
             "records use the new one): " + ", ".join(extra["not_reencrypted"][:5]))
    if "old_identity" in extra:
        kept, given = Path(extra["old_identity"]).name, given_path(identity, "--identity", "CPCM_IDENTITY")
        if given:  # a name the user chose is not repeated: what cpcm added to it is
            kept = f"{given}'s name followed by {kept[len(Path(extra['identity']).name):]}"
        say(f"your old identity is kept beside the new one as {kept}: destroy it once every laptop "
            "of the team has synced (see docs/security.md for what it still reads)")
        typer.echo(extra["recipient"])
    else:
        from cpcm.domain.team import REVOKING_REASONS

        if extra["reason"] in REVOKING_REASONS:  # a supervisor's change for another worker: it revokes (domain/team.py)
            say(f"'{extra['worker']}' now uses the key made on their laptop; the old signing key is revoked from now: a copy "
                "that holds the old key syncs no more, and what it signs is refused, but it keeps what it holds "
                "(docs/security.md, 'When a worker leaves')")
        elif extra["reason"] == "lost":
            say(f"'{extra['worker']}' now uses the key made on their laptop; a laptop that still holds the old key can sync "
                "once more and keeps what it holds: if it may be in someone else's hands, remove the worker with cpcm team "
                "revoke ID --lost and add them again under a new id (docs/security.md, 'When a worker leaves')")
        else:
            say(f"'{extra['worker']}' now uses the key made on their laptop; the old one can be destroyed once every laptop "
                "has synced")
def _worker_of(path: Path, repo: Path | None = None) -> str:
    """The worker id of this identity in the casefile repository at hand (--repo, else as every
    command finds it; for the key line's comment), read from its public half without the
    passphrase; '' when there is none."""
    try:
        from cpcm.crypto.identity import public_path
        from cpcm.store.config import load_team, resolve_repo

        recipient = (public_path(path).read_text(encoding="utf-8").split() or [""])[0]
        worker = load_team(resolve_repo(str(repo) if repo else None)).by_recipient([recipient])
        return worker.id if worker else ""
    except Exception:  # noqa: BLE001 - only a comment: no repository, no public file
        return ""
