"""A worker's age identity: made, saved (passphrase-protected by default) and loaded.

The file format is the `age-keygen` one (comments, then the secret key line); a protected file
is that text encrypted with a passphrase (age scrypt), so `age -d -i FILE` reads both.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyrage
from pyrage import x25519

from cpcm.crypto.cipher import ARMOR, MAGIC

SECRET_KEY_PREFIX = "AGE-SECRET-KEY-" + "1"  # written in two parts so no scanner mistakes this file for a key
from cpcm.errors import CannotDecrypt, UsageError

# How this process opened a protected identity with its passphrase ("typed", "file"): the seconds
# of scrypt each such command spends, which the command line's daily tip about `cpcm unlock` answers
OPENED: list[str] = []


@dataclass(frozen=True)
class Identity:
    keys: tuple[x25519.Identity, ...]
    path: str

    @property
    def recipient(self) -> str:
        return str(self.keys[0].to_public())

    @property
    def recipients(self) -> set[str]:
        return {str(k.to_public()) for k in self.keys}


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "cpcm" / "identity"


def generate(created: str, label: str = "") -> tuple[str, str]:
    """(identity file text, public recipient)."""
    key = x25519.Identity.generate()
    public = str(key.to_public())
    lines = [f"# created: {created}"]
    if label:
        lines.append(f"# {label}")
    lines += [f"# public key: {public}", str(key), ""]
    return "\n".join(lines), public


def public_path(path: Path) -> Path:
    """Where the public recipient of the identity at `path` is kept (`identity.pub`): not a secret;
    it lets shell completion know whose cases to offer without asking for the passphrase."""
    return path.with_name(path.name + ".pub")


# `cpcm key rotate` keeps the identity it replaced beside the new one as `<name>.old-<date>`, until every copy of the
# team has synced (docs/commands/keys.md): it still opens a file made for the earlier key (a transfer bundle, a receipt)
EARLIER = ".old-"


def earlier_paths(path: Path) -> list[Path]:
    """The earlier identities `cpcm key rotate` kept beside the identity at `path` (`<name>.old-<date>`), newest first."""
    try:
        beside = list(path.parent.iterdir())
    except OSError:
        return []
    return sorted((p for p in beside if p.name.startswith(path.name + EARLIER) and not p.is_dir()), reverse=True)


def current_path(path: Path) -> Path | None:
    """For an earlier identity `cpcm key rotate` kept (`<name>.old-<date>`), the place of the identity that replaced
    it (`<name>`, beside it); None for a file not so named."""
    name, found, stamp = path.name.rpartition(EARLIER)
    return path.with_name(name) if found and name and stamp else None


def _exists(path: Path) -> UsageError:
    return UsageError(f"an identity already exists at {path}", "Choose another path with --out, or use the one you have (cpcm key show).")


def check_free(path: Path) -> None:
    """Refuse at once, before a passphrase is asked for, a place where an identity is already
    (`save` refuses it again when it writes: a key is never overwritten)."""
    if os.path.lexists(path):
        raise _exists(path)


def seal(plaintext: bytes, passphrase: str) -> bytes:
    """`plaintext` encrypted with `passphrase` as `age -p` does: scrypt of the work factor pyrage sets
    to about a second of this machine's time, so that guessing passphrases is that slow too."""
    return pyrage.passphrase.encrypt(plaintext, passphrase)


def save(path: Path, text: str, passphrase: str | None) -> None:
    """Write the identity (encrypted when a passphrase is given), never over an existing one."""
    data = seal(text.encode(), passphrase) if passphrase else text.encode()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise _exists(path) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def exposed(path: Path) -> int | None:
    """The permission bits of a private file (an identity, a passphrase file) when users other
    than its owner may read or write it (as ssh checks a private key), else None (also when it
    does not exist, or on a system without POSIX permissions)."""
    if os.name != "posix":
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return mode & 0o777 if mode & 0o077 else None


def public_keys(path: Path) -> list[str]:
    """The public keys of the identity at `path` known without its passphrase, the current one
    first: from its public half (`identity.pub`, when that holds an age key: one edited by hand into
    something else tells nothing), the file itself when it has no passphrase, or the unlock agent
    holding it. Empty when none of them tells."""
    from cpcm.crypto import cipher

    try:
        words = public_path(path).read_text(encoding="utf-8").split()
        if words:
            cipher.parse_recipient(words[0])
            return [words[0]]
    except (OSError, UnicodeDecodeError, ValueError):
        pass
    try:
        data = path.read_bytes()
    except OSError:
        return []
    try:
        if is_protected(data):
            from cpcm.crypto import agent

            text = agent.fetch(path)
            if text is None or not agent.held_for(text, data):
                return []
            data = text.encode("utf-8")
        found = parse(data.decode("utf-8", "replace"), str(path))
    except Exception:  # noqa: BLE001 - a damaged identity, or no agent: nothing is known
        return []
    return [found.recipient, *sorted(found.recipients - {found.recipient})]


def is_protected(data: bytes) -> bool:
    return data.startswith(MAGIC) or data.startswith(ARMOR)


def parse(text: str, path: str) -> Identity:
    keys = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(SECRET_KEY_PREFIX):
            try:
                keys.append(x25519.Identity.from_str(line))
            except Exception:
                raise CannotDecrypt(f"the identity file {path} holds a damaged key", "Check the file, or make a new key with cpcm key new.") from None
        else:
            raise CannotDecrypt(f"the identity file {path} holds a line that is not an age X25519 key", "cpcm reads files made by cpcm key new or age-keygen.")
    if not keys:
        raise CannotDecrypt(f"the identity file {path} holds no key", "Make one with cpcm key new.")
    return Identity(tuple(keys), path)


def load(path: Path, ask_passphrase: Callable[[], str | None], held: bool = True) -> Identity:
    """Load an identity; a protected one needs the passphrase from $CPCM_PASSPHRASE_FILE or
    from `ask_passphrase` (a prompt on a terminal; None when there is no terminal), unless the
    agent holds it unlocked (`held`; False for `cpcm unlock` itself: the passphrase is what lets
    the agent hold it longer, so a key held already is not unlocked again without it)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CannotDecrypt(
            f"no identity at {path}",
            "Make one with 'cpcm key new', or point to yours with --identity or $CPCM_IDENTITY.",
        ) from None
    except OSError as exc:
        raise CannotDecrypt(f"cannot read the identity at {path}: {exc.strerror}") from None
    if not is_protected(data):
        return parse(data.decode("utf-8", "replace"), str(path))
    from cpcm.crypto import agent

    unlocked = agent.fetch(path) if held else None  # `cpcm unlock` holds it in memory: no passphrase, no scrypt
    if unlocked is not None and agent.held_for(unlocked, data):  # the key opened from this file, not one it held before
        try:
            return parse(unlocked, str(path))
        except CannotDecrypt:
            pass
    from_file = passphrase_from_file()
    passphrase = from_file or ask_passphrase()
    if not passphrase:
        raise CannotDecrypt(
            f"the identity at {path} is passphrase-protected and no passphrase was given",
            "On a terminal, unlock it once for the day (cpcm unlock) or run the command to be asked; a script sets "
            "$CPCM_PASSPHRASE_FILE to a file holding it.",
        )
    from cpcm.crypto import agefile

    try:
        plain = agefile.open_scrypt(data, passphrase)  # a work factor bounded by a fixed limit, not by this moment's speed
        text = (plain if plain is not None else pyrage.passphrase.decrypt(data, passphrase)).decode()
    except Exception:
        if from_file:  # typing it again would not help: the file is what is wrong
            hint = ("The passphrase comes from the file $CPCM_PASSPHRASE_FILE names: check that its "
                    "first line is this identity's passphrase (it is case-sensitive), or unset the variable to type it.")
        else:
            hint = "Try again; the passphrase is case-sensitive."
        raise CannotDecrypt(f"wrong passphrase for the identity at {path}", hint) from None
    identity = parse(text, str(path))
    OPENED.append("file" if from_file else "typed")
    return identity


def secret_text(identity: Identity) -> str:
    """The identity as its file's text (the secret key lines), for the agent's memory."""
    return "".join(f"{key}\n" for key in identity.keys)


def passphrase_from_file() -> str | None:
    name = os.environ.get("CPCM_PASSPHRASE_FILE")
    if not name:
        return None
    try:
        return Path(name).read_text().rstrip("\r\n")
    except OSError as exc:
        raise CannotDecrypt(f"cannot read $CPCM_PASSPHRASE_FILE: {exc.strerror}",
                            "Set $CPCM_PASSPHRASE_FILE to a file that holds your identity's passphrase on its first line, "
                            "readable by you only (chmod 600), or unset it to be asked on a terminal; an identity without "
                            "a passphrase needs none (cpcm key new --no-passphrase, for scripts on a trusted machine).") from None
