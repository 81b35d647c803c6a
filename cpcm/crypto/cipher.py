"""Encrypt and decrypt bytes for age X25519 recipients (readable by the `age` tool)."""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Sequence

import pyrage
from pyrage import x25519

MAGIC = b"age-encryption.org/v1\n"
ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"


class NotARecipient(Exception):
    """None of the given identities can open this file."""


class Damaged(Exception):
    """The bytes are not a whole age file."""


@lru_cache(maxsize=4096)
def parse_recipient(text: str) -> x25519.Recipient:
    """ValueError when the text is not an age X25519 recipient (age1...)."""
    try:
        return x25519.Recipient.from_str(text.strip())
    except Exception:
        raise ValueError("is not an age recipient (age1…)") from None


def encrypt(plaintext: bytes, recipients: Iterable[str]) -> bytes:
    parsed = [parse_recipient(r) for r in sorted(set(recipients))]
    if not parsed:
        raise ValueError("no recipients to encrypt to")
    return pyrage.encrypt(plaintext, parsed)


QUICK_FROM = 32  # files opened by a process before the quick way is worth importing its primitives (about 10 ms)
_opened = 0


def decrypt(ciphertext: bytes, identities: Sequence[x25519.Identity]) -> bytes:
    if not (ciphertext.startswith(MAGIC) or ciphertext.startswith(ARMOR)):
        raise Damaged("not an age file (the header is missing)")
    global _opened
    _opened += 1
    if _opened > QUICK_FROM:  # many files: the quick way (crypto/agefile.py); None from it: pyrage's way
        from cpcm.crypto import agefile

        opened = agefile.open_x25519(ciphertext, identities)
        if opened is not None:
            return opened
    try:
        return pyrage.decrypt(ciphertext, list(identities))
    except pyrage.DecryptError as exc:
        text = str(exc).lower()
        if "no matching" in text or "no identity matched" in text:
            raise NotARecipient(str(exc)) from None
        raise Damaged(str(exc)) from None
