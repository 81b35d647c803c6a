"""cpcm outputs: the register of the plaintext files cpcm wrote for a worker (a `--plaintext`
render, report or export, `due --ics`, a printed blank form, the import template), kept
encrypted beside the worker's identity (cpcm/store/outputs.py), and its use: `outputs list`
(where each file is, when it was written, which cases it holds, whether it is still there and
unchanged), `outputs remove` (overwritten and removed) and `cpcm evacuate` (every one still there).

An entry is written (`event: written`) each time such a file is written: its absolute path, when,
which worker, which command, which case or conference IDs it holds, and the SHA-256 of its bytes.
A file removed by `outputs remove` gets an entry of its own (`removed`, or `gone` when it was no
longer there): the register is added to, never rewritten, so it is also the record of every
plaintext copy that left the encrypted store (the Kenyan case-conferencing SOP §5.2 register of a
case file's retrievals and movements, IAG 13.6 audits for breaches).
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

from cpcm.errors import CannotDecrypt, Corrupt
from cpcm.store import outputs as register

WRITTEN, REMOVED, GONE = "written", "removed", "gone"
# what `list` says of a file: still there as written, there but changed, not there (moved or removed
# outside cpcm), removed by cpcm, or written over by a later file of cpcm's of the same path
THERE, CHANGED, MISSING, CLOSED, REPLACED = "there", "changed", "gone", "removed", "replaced"


def register_path(identity: Path) -> Path:
    return register.register_path(identity)


def public_recipient(identity: Path) -> str | None:
    """The worker's current public key, known without the passphrase (identity.public_keys), or
    None when nothing tells it."""
    from cpcm.crypto import identity as identity_mod

    return next(iter(identity_mod.public_keys(identity)), None)


def record(identity: Path, recipient: str, path: Path, data: bytes, now: datetime, command: str,
           cases: Iterable[str] = (), worker: str | None = None, repository: Path | None = None) -> dict:
    """Add the entry of a plaintext file just written (`data`: its bytes) to the worker's register.
    Raises OSError, or Corrupt when the register's file is not one; the file written stays."""
    entry = {"event": WRITTEN, "id": secrets.token_hex(8), "path": str(path), "at": now.isoformat(), "worker": worker,
             "repository": str(repository) if repository is not None else None, "command": command,
             "cases": sorted(dict.fromkeys(cases)), "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    _append(identity, recipient, [entry])
    return entry


def _append(identity: Path, recipient: str, entries: Sequence[dict]) -> None:
    try:
        register.append(register.register_path(identity), recipient, entries)
    except register.NotARegister:
        raise Corrupt("the register of plaintext files beside your identity is not one cpcm wrote",
                      "Move it away (it is named as your identity, ending in .outputs); cpcm starts a new one.") from None


@dataclass
class Entry:
    """A file cpcm wrote, as the register has it, and where it stands now."""

    id: str
    path: str
    at: str
    worker: str | None
    command: str
    cases: list[str]
    sha256: str
    repository: str | None
    state: str
    closed_at: str | None = None

    def to_json(self) -> dict:
        return {"path": self.path, "written_at": self.at, "worker": self.worker, "command": self.command, "cases": self.cases,
                "sha256": self.sha256, "repository": self.repository, "state": self.state, "closed_at": self.closed_at}


def _state(path: str, sha256: str) -> str:
    """THERE, CHANGED or MISSING: the file at `path` now, against the bytes cpcm wrote."""
    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        return MISSING
    except OSError:  # there, but not readable (another user's, a folder): it is not the file cpcm wrote
        return CHANGED if os.path.lexists(path) else MISSING
    return THERE if digest.hexdigest() == sha256 else CHANGED


def read_entries(identity: Path, keys: Sequence) -> tuple[list[Entry], int]:
    """Every file of the register, in the order written, each with its state, and how many entries
    could not be read with `keys`. A file written again at the same path replaces the earlier entry
    (REPLACED); one removed by `outputs remove` is CLOSED (or MISSING, when it was gone then)."""
    try:
        raw, unread = register.read(register.register_path(identity), keys)
    except register.NotARegister:
        raise Corrupt("the register of plaintext files beside your identity is not one cpcm wrote",
                      "Move it away (it is named as your identity, ending in .outputs); cpcm starts a new one.") from None
    except OSError as exc:
        raise CannotDecrypt(f"the register of plaintext files beside your identity cannot be read: {exc.strerror}") from None
    found: list[Entry] = []
    latest: dict[str, Entry] = {}
    for item in raw:
        path = item.get("path")
        if not isinstance(path, str):
            unread += 1
            continue
        if item.get("event") == WRITTEN:
            before = latest.get(path)
            if before is not None and before.state is None:
                before.state = REPLACED
            entry = Entry(str(item.get("id", "")), path, str(item.get("at", "")), item.get("worker"), str(item.get("command", "")),
                          [str(c) for c in item.get("cases") or ()], str(item.get("sha256", "")), item.get("repository"), None)
            latest[path] = entry
            found.append(entry)
        elif item.get("event") in (REMOVED, GONE):
            entry = latest.get(path)
            if entry is not None and entry.state is None:
                entry.state = CLOSED if item["event"] == REMOVED else MISSING
                entry.closed_at = str(item.get("at", ""))
    for entry in found:
        if entry.state is None:  # still answered for: as the file is now
            entry.state = _state(entry.path, entry.sha256)
    return found, unread


def outputs_list(identity: Path, keys: Sequence, now: datetime, all_: bool = False, older_days: float | None = None
                 ) -> tuple[list[Entry], int]:
    """`cpcm outputs list`: the files the register still answers for (with `all_`, every entry),
    those written at least `older_days` ago when it is given, and how many entries `keys` could not open."""
    entries, unread = read_entries(identity, keys)
    shown = entries if all_ else open_entries(entries)
    return (shown if older_days is None else older_than(shown, now, older_days)), unread


def open_entries(entries: Sequence[Entry]) -> list[Entry]:
    """The files the register still answers for: neither removed by cpcm, nor written over."""
    return [e for e in entries if e.closed_at is None and e.state in (THERE, CHANGED, MISSING)]


def older_than(entries: Sequence[Entry], now: datetime, cutoff_days: float) -> list[Entry]:
    from cpcm.clock import parse_datetime

    chosen = []
    for entry in entries:
        try:
            at = parse_datetime(entry.at, "at")
        except Exception:
            continue
        if (now - at).total_seconds() >= cutoff_days * 86400:
            chosen.append(entry)
    return chosen


@dataclass
class Removed:
    """What `outputs remove` or `evacuate` did to the registered files."""

    removed: list[str]
    gone: list[str]
    failed: list[str]
    changed_left: list[str]

    def to_json(self) -> dict:
        return {"removed": self.removed, "gone": self.gone, "not_removed": self.failed, "changed_left": self.changed_left}


def destroy(entries: Sequence[Entry], changed_too: bool = True) -> Removed:
    """Overwrite and remove each entry's file still there (`changed_too` false: a file changed since
    cpcm wrote it is left, as it may be another file of that name now)."""
    done = Removed([], [], [], [])
    for entry in entries:
        if not os.path.lexists(entry.path):
            done.gone.append(entry.path)
            continue
        if not changed_too and _state(entry.path, entry.sha256) == CHANGED:
            done.changed_left.append(entry.path)
            continue
        failed: list[str] = []
        if os.path.islink(entry.path):  # cpcm registered the path with its links followed: a link there now is
            try:                        # someone's since, pointing at a file cpcm did not write: only the link goes
                os.unlink(entry.path)
                done.removed.append(entry.path)
            except OSError:
                done.failed.append(entry.path)
            continue
        if register.shred(Path(entry.path), failed):
            done.removed.append(entry.path)
        else:
            done.failed.append(entry.path)
    return done


def outputs_remove(identity: Path, keys: Sequence, recipient: str, now: datetime, paths: Sequence[Path] = (),
                   all_: bool = False, older_days: float | None = None, worker: str | None = None) -> Removed:
    """`cpcm outputs remove`: the registered files named by `paths` (overwritten and removed even
    when changed since), or with `all_` / `older_days` every open one (those changed since cpcm
    wrote them are left and named: remove them by path). Each is closed in the register."""
    from cpcm.errors import NotFound

    entries = open_entries(read_entries(identity, keys)[0])
    if paths:
        # a path as typed, or through a symbolic link: cpcm registered it with the links followed
        forms = [{os.path.abspath(Path(p).expanduser()), os.path.realpath(Path(p).expanduser())} for p in paths]
        chosen = [e for e in entries if any(e.path in f for f in forms)]
        missing = sum(1 for f in forms if not any(e.path in f for e in entries))
        if missing:
            raise NotFound(f"{missing} of the paths given {'is' if missing == 1 else 'are'} not a file cpcm wrote and still "
                           "answers for; nothing was removed", "cpcm outputs list shows the files of the register.")
        if older_days is not None:
            chosen = older_than(chosen, now, older_days)
        done = destroy(chosen, changed_too=True)
    else:
        chosen = entries if older_days is None else older_than(entries, now, older_days)
        done = destroy(chosen, changed_too=False)
    closing = [{"event": REMOVED, "path": p, "at": now.isoformat(), "worker": worker, "command": "outputs remove"}
               for p in done.removed]
    closing += [{"event": GONE, "path": p, "at": now.isoformat(), "worker": worker, "command": "outputs remove"} for p in done.gone]
    if closing:
        _append(identity, recipient, closing)
    return done
