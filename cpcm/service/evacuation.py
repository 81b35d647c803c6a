"""cpcm evacuate: make this computer's copy unreadable, fast (an emergency evacuation).

The records are ciphertext at rest; what makes this computer's copy readable is the worker's
identity file (and an earlier or pending key beside it, and a passphrase file), the unlock agent
holding the key in memory, and the local cache. `look` says what there is to destroy and what the
worker should know first (cases nobody else reads, work no other copy has), without the
passphrase; `evacuate` carries the latest work away by a sync when asked, then destroys it.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cpcm.crypto import identity as identity_mod
from cpcm.errors import CpcmError, NotDestroyed, NotFound, Refused
from cpcm.store.layout import (CACHE_DIR, CASES, COMPLAINTS, CONFIDENTIAL, CONFIG, FORMAT_VERSION, RECIPIENTS, SUPERVISION, current_rel,
                               history_rels, readers_from)
from cpcm.store.outputs import shred
from cpcm.workflow.rules import folders_by_kind, read_by_one

CONFERENCES = "conferences"
SYNC_FAILED = "evacuate-sync-failed"
UNSYNCED = "evacuate-unsynced"


@dataclass
class Evacuation:
    """What `evacuate` would destroy on this computer, and what to know before it does."""

    identity: Path
    secrets: list[Path] = field(default_factory=list)  # overwritten, then removed: the identity, earlier keys, the passphrase file
    public: list[Path] = field(default_factory=list)   # removed: the identity's public half (identity.pub)
    repository: Path | None = None                     # the casefile repository found (None: none here)
    cache: Path | None = None                          # its local cache, when there is one
    worker: str | None = None                          # whose key it is, when that can be told without the passphrase
    only_reader: list[str] | None = None               # folders nobody else can read (None: whose key it is is not known)
    unsynced: int = 0                                  # commits of this copy that no remote holds, as far as it knows
    remotes: list[str] = field(default_factory=list)
    recovery: bool = False                             # the agency has a recovery key (it reads every case)
    known: bool = False                                # whose key it is could be told without the passphrase
    recovery_key: bool = False                         # the identity is one of the agency's recovery keys
    unchecked: str | None = None                       # why the repository could not be looked at (it is destroyed all the same)
    register: Path | None = None                       # the worker's register of plaintext files cpcm wrote (beside the identity)
    registered: int = 0                                # its entries (counted without the key)

    @property
    def only_reader_counts(self) -> dict[str, int] | None:
        """`only_reader` counted by kind (workflow/rules.py `folders_by_kind`: every kind, 0 where none), None
        when whose key it is is not known. It holds only folders the worker reads, so it counts no complaint
        or strictly confidential entry they do not read."""
        return None if self.only_reader is None else folders_by_kind(self.only_reader)


def look(identity_path: Path, root: Path | None, remote: str | None = None, remove_repository: bool = False,
         force: bool = False) -> Evacuation:
    """What `evacuate` would destroy, found without the passphrase. Refuses before anything is
    destroyed: a remote that this copy does not have (NotFound); `remove_repository` while this
    copy holds commits no remote has and no sync was asked for (`evacuate-unsynced`, unless
    `force`)."""
    found = Evacuation(identity_path, secrets=_secrets(identity_path))
    from cpcm.store import outputs

    register = outputs.register_path(identity_path)
    if os.path.lexists(register):
        found.register, found.registered = register, outputs.count(register)
    public = identity_mod.public_path(identity_path)
    if os.path.lexists(public):
        found.public.append(public)
    if root is None or not (root / CONFIG).is_file():
        if remote or remove_repository:
            raise NotFound("no casefile repository here", "Give it with --repo PATH or $CPCM_REPO.")
        return found
    from cpcm.service.context import open_repo
    from cpcm.service.sync import remote_list

    found.repository = root
    cache = root / CACHE_DIR
    found.cache = cache if os.path.lexists(cache) else None
    try:
        ctx = open_repo(root, need_identity=False)
    except CpcmError as exc:  # a damaged team or settings file does not keep the key from being destroyed
        if (remote or remove_repository) and not force:
            raise
        found.unchecked = exc.message
        return found
    found.remotes = [row["name"] for row in remote_list(ctx)]
    found.recovery = bool(ctx.config.recovery_recipients)
    if remote is not None and remote not in found.remotes:
        raise NotFound("--sync: no remote by that name", "See cpcm remote list; add the USB stick with cpcm remote add NAME PATH.")
    recipients = _recipients_known(identity_path)
    found.known = bool(recipients)
    found.recovery_key = bool(recipients & set(ctx.config.recovery_recipients))
    worker = ctx.team.by_recipient(recipients) if recipients else None
    if worker is not None:
        found.worker = worker.id
        try:
            readers = {folder: ctx.store.recipients(folder, top) for top in (CASES, CONFERENCES, SUPERVISION, COMPLAINTS, CONFIDENTIAL)
                       for folder in ctx.store.case_ids(top)}
            if ctx.config.format < FORMAT_VERSION:  # not upgraded yet (no worker's command ran here): its cases in format 1
                readers.update(_format1_readers(root))
        except CpcmError as exc:
            found.unchecked = exc.message
        else:
            found.only_reader = read_by_one(readers, worker.id, ctx.team, ctx.config.recovery_recipients)
    found.unsynced = _unsynced(ctx)
    if remove_repository and found.unsynced and remote is None and not force:
        raise Refused(f"this copy holds {found.unsynced} commit(s) that no other copy has (as far as it knows): "
                      "--remove-repository would delete them for ever; nothing was destroyed",
                      "Carry them away first: cpcm evacuate --sync REMOTE --remove-repository (the USB stick or shared folder, "
                      "see cpcm remote list); or destroy them too: add --force.", rule=UNSYNCED)
    return found


def _format1_readers(root: Path) -> dict[str, list[str]]:
    """The readers of each case of a repository of format 1 (its folders directly in cases/, as the releases before
    format 2 left them, until a worker's first command upgrades it: store/upgrade.py), from its `recipients` file:
    what `look` asks of the store for a repository of this format. Case id -> readers."""
    found: dict[str, list[str]] = {}
    try:
        entries = list(os.scandir(root / CASES))
    except OSError:
        return found
    for entry in entries:
        folder = history_rels(entry.name)[-1]  # cases/CP-.../: where format 1 has the case
        if not entry.is_dir() or entry.name.startswith(".") or current_rel(f"{folder}/{RECIPIENTS}") == f"{folder}/{RECIPIENTS}":
            continue
        try:
            found[entry.name] = readers_from((root / folder / RECIPIENTS).read_bytes())
        except OSError:
            continue
    return found


def evacuate(found: Evacuation, remote: str | None = None, remove_repository: bool = False, force: bool = False,
             ask_passphrase: Callable[[], str | None] = lambda: None,
             progress: Callable[[str], None] = lambda step: None) -> tuple[dict, Any]:
    """Sync with `remote` first when it is given (a failed sync destroys nothing, unless `force`);
    then stop the unlock agent, overwrite and remove the identity files `look` found, remove the
    local cache, and with `remove_repository` the casefile repository. (What was done, as JSON;
    the sync's report, `Synced`, or None); NotDestroyed (exit 74) when a file to destroy is still
    there at the end."""
    done: dict = {"worker": found.worker, "synced": None, "sync_failed": None, "notices": []}
    synced = key = None
    if remote is not None:
        from cpcm.service import sync as sync_mod
        from cpcm.service.context import open_repo

        assert found.repository is not None  # `look` refused a remote without a repository
        try:
            ctx = open_repo(found.repository, found.identity, ask_passphrase, joining=True)
            key = ctx.identity
            synced = sync_mod.sync(ctx, remote, progress)
            done["synced"] = synced.to_json()
            done["notices"] = list(ctx.notices)  # the repository's upgrade to this casefile format, say
        except CpcmError as exc:
            if not force:
                raise Refused(f"the sync with {remote} did not complete: {exc.message}; nothing was destroyed",
                              "Put right what stopped the sync (the USB stick plugged in, the shared folder reached, the "
                              "passphrase) and run cpcm evacuate again; to destroy this copy without it, add --force (what no "
                              "other copy has then stays only in this folder, or is lost with --remove-repository).",
                              rule=SYNC_FAILED) from None
            done["sync_failed"] = exc.message
    # the register of plaintext files is read while the key can still open it (the agent's, or the passphrase)
    plain, unread = _registered(found, ask_passphrase, key)
    from cpcm.service.team import lock

    held = lock(found.identity)  # the agent holds the key in memory: it forgets it first
    done["agent"] = "waiting_for_command" if held is None else ("locked" if held else "not_unlocked")
    failed: list[str] = []
    from cpcm.service.outputs import destroy

    removed = destroy(plain) if plain else None
    done["plaintext_removed"] = removed.removed if removed else []
    done["plaintext_gone"] = removed.gone if removed else []
    done["plaintext_not_removed"] = removed.failed if removed else []
    done["plaintext_unread"] = unread
    done["destroyed"] = [str(p) for p in found.secrets if shred(p, failed)]
    done["register_removed"] = bool(found.register) and shred(found.register, failed)  # opened by the key alone: gone with it
    done["removed"] = [str(p) for p in found.public if _remove(p, failed)]
    done["cache_removed"] = bool(found.cache) and _remove_tree(found.cache, failed)
    done["repository_removed"] = bool(remove_repository and found.repository) and _remove_tree(found.repository, failed)
    done["only_reader"] = found.only_reader
    done["only_reader_counts"] = found.only_reader_counts
    done["unsynced_commits"] = 0 if done["synced"] else found.unsynced
    if failed or done["plaintext_not_removed"]:
        plain_left = len(done["plaintext_not_removed"])  # named to the worker by the command, not in the message (a file name can be a name)
        raise NotDestroyed(f"could not destroy {len(failed) + plain_left} file(s) or folder(s): " + ", ".join(
                               failed + ([f"{plain_left} plaintext file(s) cpcm wrote"] if plain_left else [])),
                           "Remove them by hand (they are named as cpcm found them), or power the computer off and remove "
                           "the disk; everything else was destroyed.", done)
    return done, synced


def _registered(found: Evacuation, ask_passphrase: Callable[[], str | None], key=None) -> tuple[list, str | None]:
    """The plaintext files the register answers for (cpcm/service/outputs.py), read with the
    worker's key (`key`, when the sync opened it; else the unlock agent's, the identity's without a
    passphrase, $CPCM_PASSPHRASE_FILE's or the one typed), and why it could not be read (None
    when it was). Nothing registered: nothing asked."""
    if found.register is None or not found.registered:
        return [], None
    from cpcm.service import outputs

    try:
        if key is None:
            key = identity_mod.load(found.identity, ask_passphrase)
        entries, unread = outputs.read_entries(found.identity, key.keys)
    except CpcmError as exc:
        return [], exc.message
    return outputs.open_entries(entries), (f"{unread} entries could not be read with this key" if unread else None)


def _secrets(path: Path) -> list[Path]:
    """The identity at `path`, the earlier and pending keys `cpcm key rotate` keeps beside it
    (`<name>.old-*`, `<name>.new-*`), and the passphrase file of $CPCM_PASSPHRASE_FILE."""
    found = [path] if os.path.lexists(path) else []
    try:
        beside = sorted(path.parent.iterdir())
    except OSError:
        beside = []
    found += [p for p in beside if p.name.startswith((f"{path.name}{identity_mod.EARLIER}", f"{path.name}.new-")) and not p.is_dir()]
    passphrase = os.environ.get("CPCM_PASSPHRASE_FILE")
    if passphrase and os.path.lexists(passphrase) and not os.path.isdir(passphrase):
        found.append(Path(passphrase).expanduser())
    return found


def _recipients_known(path: Path) -> set[str]:
    """The identity's public keys, told without its passphrase (identity.public_keys)."""
    return set(identity_mod.public_keys(path))


def _unsynced(ctx) -> int:
    """Commits of this copy that no remote holds as this copy last saw it (every commit, with no
    remote): what a sync would carry away."""
    git = getattr(ctx.store, "git", None)
    if git is None or git.head() is None:
        return 0
    try:
        return int(git.run(["rev-list", "--count", "HEAD", "--not", "--remotes"]).strip() or 0)
    except (CpcmError, ValueError):
        return 0


def _remove(path: Path, failed: list[str]) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        failed.append(str(path))
        return False
    return True


def _remove_tree(folder: Path, failed: list[str]) -> bool:
    if folder.is_symlink() or not folder.is_dir():
        return _remove(folder, failed)
    shutil.rmtree(folder, ignore_errors=True)
    if os.path.lexists(folder):
        failed.append(str(folder))
        return False
    return True
