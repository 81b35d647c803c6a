"""What shell completion offers: IDs read from plain files only (case and conference folders,
each case's `recipients`, the team, the service directory), never a decrypted record.

A completion runs at every press of Tab, so it must be quick and must never ask for a
passphrase. The case IDs offered are those of the cases the user may read: the worker whose
public key is the user's (read from an unprotected identity, or from the `.pub` file that
`cpcm key new` writes next to a protected one) must be listed in the case's `recipients`.
When the user's worker cannot be told without the passphrase, every case ID is offered (IDs
carry no personal data; opening a case still needs the key).
"""
from __future__ import annotations

from pathlib import Path

from cpcm.crypto import identity as identity_mod
from cpcm.errors import CpcmError
from cpcm.store.config import load_team
from cpcm.store import directory
from cpcm.store.layout import CASES, RECIPIENTS, SERVICES, format1_case, shard

CONFERENCES = "conferences"


def public_key(identity_path: Path) -> str | None:
    """The user's recipient without a passphrase: from an unprotected identity, or its `.pub` file."""
    try:
        data = identity_path.read_bytes()
    except OSError:
        return None
    if not identity_mod.is_protected(data):
        try:
            return identity_mod.parse(data.decode("utf-8", "replace"), str(identity_path)).recipient
        except CpcmError:
            return None
    try:
        text = (identity_mod.public_path(identity_path).read_text(encoding="utf-8").split() or [""])[0]  # the age1 line
    except OSError:
        return None
    return text if text.startswith("age1") else None


def _worker_ids_for(root: Path, recipient: str | None) -> set[str] | None:
    if recipient is None:
        return None
    try:
        team = load_team(root)
    except CpcmError:
        return None
    ids = {w.id for w in team.workers if w.recipient == recipient}
    return ids or None


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _folders(root: Path, top: str, prefix: str) -> list[Path]:
    """The folders of `top` whose name starts with `prefix`: for cases/, those of its second level
    (store/layout.py), only the one the prefix names once it is long enough to."""
    wanted = prefix.upper()
    levels = [root / top]
    found = []
    if top == CASES:
        entries = [p for p in _entries(root / top) if p.is_dir()]
        levels = [p for p in entries if len(p.name) == 2 and (len(wanted) < 5 or p.name == shard(wanted))]
        # a repository of format 1 (no command has upgraded it yet: completion writes nothing): its case folders
        found = [p for p in entries if format1_case(p.name) and p.name.startswith(wanted)]
    return sorted(found + [p for level in levels for p in _entries(level) if p.is_dir() and p.name.startswith(wanted)])


def case_ids(root: Path, prefix: str, identity_path: Path) -> list[str]:
    """IDs of the cases the user may read that start with `prefix` (any case when the user's worker is unknown)."""
    readers = _worker_ids_for(root, public_key(identity_path))
    found = []
    for folder in _folders(root, CASES, prefix):
        if readers is not None:
            try:
                listed = set((folder / RECIPIENTS).read_text(encoding="utf-8").split())
            except OSError:
                continue
            if not readers & listed:
                continue
        found.append(folder.name)
    return found


def conference_ids(root: Path, prefix: str) -> list[str]:
    return [p.name for p in _folders(root, CONFERENCES, prefix)]


def worker_ids(root: Path, prefix: str) -> list[str]:
    try:
        team = load_team(root)
    except CpcmError:
        return []
    return sorted(w.id for w in team.active if w.id.startswith(prefix))


def service_ids(root: Path, prefix: str) -> list[str]:
    try:
        path = root / SERVICES  # read from the folder, as every completion is: no store, no waiting
        services = directory.parse(path.read_bytes() if path.is_file() else None)
    except (CpcmError, OSError):
        return []
    return sorted(str(s.get("id")) for s in services if str(s.get("id", "")).startswith(prefix))
