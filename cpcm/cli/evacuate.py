"""cpcm evacuate: an emergency evacuation, making this computer's copy of the cases unreadable fast."""
from __future__ import annotations

from typing import Optional

import typer

from cpcm.cli.common import (IdentityOpt, JsonOpt, RepoOpt, folders_counted, identity_path, print_json, say, stdin_is_terminal,
                             typed_paths, typed_text, warn)

WORD = "destroy"  # typed in full to go on: not a key pressed by accident
NOT_CONFIRMED = "evacuate-not-confirmed"


def register(app: typer.Typer) -> None:
    @app.command("evacuate")
    def evacuate(
        sync: Optional[str] = typer.Option(None, "--sync", metavar="REMOTE", help="First carry your latest work away: sync with this remote (the "
                                           "USB stick or shared folder; see cpcm remote list). A sync that fails destroys nothing."),
        remove_repository: bool = typer.Option(False, "--remove-repository", help="Also delete the casefile repository folder on "
                                               "this computer: its ciphertexts, case IDs, team and history."),
        yes: bool = typer.Option(False, "--yes", help="Go on without the typed confirmation (for scripts)."),
        force: bool = typer.Option(False, "--force", help="Destroy even when the sync failed, or when --remove-repository would "
                                   "delete commits no other copy has."),
        repo: RepoOpt = None, identity: IdentityOpt = None, json_out: JsonOpt = False,
    ) -> None:
        """Emergency evacuation: make this computer's copy of the cases unreadable, fast.

        With --sync REMOTE it first syncs, so that what you wrote here is not lost. Then it stops
        the unlock agent (cpcm lock), overwrites and removes your identity (and the earlier keys
        and the passphrase file cpcm knows of), and removes the local cache (.cpcm/cache); with
        --remove-repository, the casefile repository folder too. Without your key the records
        left on this computer are ciphertext. Other copies (colleagues' laptops, the USB stick)
        and the agency's recovery key, where it has one, keep the cases. On a terminal you type the word destroy
        to go on; a script gives --yes. Afterwards: a new key (cpcm key new), which a supervisor
        puts in place of the old one (cpcm key rotate --worker).

        Example: cpcm evacuate --sync usb
        """
        from cpcm.cli.private import sweep_left_behind
        from cpcm.errors import CpcmError, NotFound, Refused, UsageError
        from cpcm.service.evacuation import evacuate as run, look
        from cpcm.store.config import resolve_repo
        from cpcm.store.layout import CONFIG

        path = identity_path(identity)
        root = resolve_repo(str(repo) if repo else None)
        given = {"--repo": repo, "--identity": identity}
        try:
            if repo is not None and not (root / CONFIG).is_file():
                raise NotFound(f"no casefile repository at {root}", "Check --repo, or leave it out.")
            found = look(path, root, sync, remove_repository, force)
        except CpcmError as exc:
            raise typed_paths(exc, **given) from None
        sweep_left_behind()  # a plan an edit left in memory (a command killed outright): gone now
        if not (found.secrets or found.public or found.cache or found.register or remove_repository or sync):
            from cpcm.service.team import lock

            lock(path)
            if json_out:
                print_json({"worker": found.worker, "synced": None, "sync_failed": None, "agent": "locked", "destroyed": [],
                            "removed": [], "cache_removed": False, "repository_removed": False,
                            "only_reader": found.only_reader, "only_reader_counts": found.only_reader_counts,
                            "unsynced_commits": found.unsynced})
            else:
                say("nothing to destroy on this computer: no identity at that path and no local cache (the unlock agent, "
                    "if it ran, forgot your key)")
            return
        _before(found, sync, remove_repository)
        if not yes:
            if not stdin_is_terminal():
                raise UsageError("cpcm evacuate destroys your key and there is no terminal to confirm it on: nothing was "
                                 "destroyed", "A script confirms with --yes.")
            answer = typer.prompt(f"Type {WORD} to go on (anything else stops; nothing is destroyed)", default="",
                                  show_default=False, err=True)
            if answer.strip().lower() != WORD:
                raise Refused("not confirmed: nothing was destroyed", f"Type {WORD} at the question to go on (a script: --yes).",
                              rule=NOT_CONFIRMED)
        if sync:
            say(f"syncing with {sync} first...")
        from cpcm.cli.common import ask_passphrase

        from cpcm.errors import NotDestroyed

        try:
            done, synced = run(found, sync, remove_repository, force, ask_passphrase)
        except NotDestroyed as exc:
            if not json_out:
                _said_plaintext(_typed(exc.done, given))  # the files left, named to the worker here, not in the message
            raise typed_paths(exc, **given) from None
        except CpcmError as exc:
            raise typed_paths(exc, **given) from None
        done = _typed(done, given)
        if json_out:
            print_json(done)
            return
        _after(done, synced, sync, found)


def _typed(done: dict, given: dict) -> dict:
    """What the evacuation reports, the paths the worker gave named by their option (the identity's
    file name may be a name), as an error's message names them (`typed_text`): why the register of
    plaintext files or the sync could not be read, and the secret files destroyed (the identity,
    the earlier keys beside it, `the --identity path.old-2026-11-01`; the passphrase file)."""
    texts = {key: typed_text(done[key], **given) for key in ("plaintext_unread", "sync_failed") if isinstance(done.get(key), str)}
    paths = {key: [typed_text(str(p), **given) for p in done[key]] for key in ("destroyed", "removed") if done.get(key)}
    return {**done, **texts, **paths}


def _before(found, sync: str | None, remove_repository: bool) -> None:
    """What is about to happen, and what to know first (on stderr, before the question)."""
    if found.only_reader:
        shown = " ".join(found.only_reader[:10]) + (" …" if len(found.only_reader) > 10 else "")
        warn(f"you are the only reader of {folders_counted(found.only_reader, exact=True)}, and "
             f"the agency has no recovery key: once your key is destroyed nothing can ever read them again: {shown}")
    elif not found.known and found.repository is not None and found.secrets and not found.unchecked:
        warn("cpcm cannot tell whose key this is without its passphrase (no identity.pub beside it), so it cannot check "
             "which cases only you read")
    if found.unchecked:
        warn(f"the casefile repository could not be looked at ({found.unchecked}): cpcm cannot check which cases only you "
             "read, nor what no other copy has")
    if found.recovery_key:
        warn("this identity is one of the agency's recovery keys (it reads every case, and puts back a supervisor whose key "
             "is lost): destroy it only if the agency's protocol says so")
    if found.unsynced and not sync:
        warn(f"this copy holds {found.unsynced} commit(s) that no other copy has, as far as it knows (no sync since): "
             + ("--force deletes them with the repository" if remove_repository else
                "they stay here as ciphertext, readable by the cases' other readers with this folder; --sync REMOTE carries "
                "them away"))
    steps = []
    if sync:
        steps.append(f"sync with {sync} first (if it fails, nothing is destroyed)")
    steps.append("stop the unlock agent: it forgets your key")
    if found.registered:
        steps.append("overwrite and delete the plaintext files cpcm wrote for you that are still there (your register of them "
                     f"holds {found.registered} entr{'y' if found.registered == 1 else 'ies'}; cpcm outputs list shows them)")
    if found.secrets:
        extra = len(found.secrets) - 1
        steps.append("overwrite and remove your identity" + (f" and {extra} more secret file(s) (earlier keys beside it, the "
                                                             "passphrase file)" if extra else ""))
    else:
        steps.append("(no identity at that path: already gone?)")
    if found.cache:
        steps.append("remove the local cache (.cpcm/cache)")
    if remove_repository:
        steps.append("remove the casefile repository folder on this computer")
    say("cpcm evacuate will make this computer's copy unreadable:")
    for step in steps:
        say(f"  - {step}")
    say("Other copies (colleagues' laptops, the USB stick)" + (" and the agency's recovery key" if found.recovery else "")
        + " keep the cases" + (" as far as their last sync with this one" if found.unsynced and not sync else "") + ".")


def _after(done: dict, synced, sync: str | None, found) -> None:
    for notice in done.get("notices", ()):
        warn(notice)
    if synced is not None:
        from cpcm.cli.sync import report_synced

        report_synced(synced, False, f"sync {sync}")
    if done["sync_failed"]:
        warn(f"the sync with {sync} did not complete ({done['sync_failed']}); --force: destroyed all the same")
    if done["agent"] == "locked":
        say("the unlock agent forgot your key")
    elif done["agent"] == "waiting_for_command":
        say("the unlock agent is running a command: it forgets your key and stops as soon as that command is done")
    _said_plaintext(done)
    if done["destroyed"]:
        say(f"overwritten and removed: your identity{' and ' + str(len(done['destroyed']) - 1) + ' more secret file(s)' if len(done['destroyed']) > 1 else ''}")
    if done["cache_removed"]:
        say("removed: the local cache (.cpcm/cache)")
    if done["repository_removed"]:
        say("removed: the casefile repository folder")
    worker = done["worker"] or "YOUR-ID"
    say("This computer's copy can no longer be read. To work again: make a new key (cpcm key new) and give its two public "
        f"lines (cpcm key show, cpcm key show --signing) to a supervisor, who runs cpcm key rotate --worker {worker} "
        "--recipient age1... --signing-key ... --reason compromised (or lost, when no one else can have this computer) "
        "(docs/commands/keys.md, 'cpcm evacuate').")



def _said_plaintext(done: dict) -> None:
    """What became of the plaintext files cpcm wrote (the register's): how many were overwritten
    and deleted, and which could not be (gone: moved or deleted before; or left: another user's, a
    read-only disk), named to the worker, who wrote them."""
    removed, gone, left = (done.get(key) or [] for key in ("plaintext_removed", "plaintext_gone", "plaintext_not_removed"))
    if removed:
        say(f"overwritten and removed: {len(removed)} plaintext file(s) cpcm wrote for you")
    if gone:
        say(f"not found (moved or deleted before; if moved, delete them where they are now): {len(gone)} plaintext file(s)")
        for name in gone:
            say(f"  {name}")
    if left:
        warn(f"could not be removed (not yours, or a read-only disk): {len(left)} plaintext file(s); delete them by hand")
        for name in left:
            say(f"  {name}")
    if done.get("plaintext_unread"):
        warn(f"the register of plaintext files could not be read ({done['plaintext_unread']}): plaintext files cpcm wrote for "
             "you may be left; it is removed with your key")
