"""Encrypt and decrypt bytes for age X25519 recipients (readable by the `age` tool)."""
from __future__ import annotations

import binascii
from functools import lru_cache
from typing import Iterable, Sequence

import pyrage
from pyrage import x25519

MAGIC = b"age-encryption.org/v1\n"
ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
HEADER_LIMIT = 64 * 1024  # bytes of header (its stanzas: about 100 bytes a reader); see `_header_fits`


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
    ciphertext = pyrage.encrypt(plaintext, parsed)
    if not _header_fits(ciphertext):
        from cpcm.errors import Refused

        raise Refused(f"{len(parsed)} readers are more than one file can be encrypted to "
                      f"(its header would pass {HEADER_LIMIT // 1024} KiB, about 600 readers)",
                      "Remove the team members who have left (cpcm team remove) and try again.")
    return ciphertext


def _header_fits(ciphertext: bytes) -> bool:
    """Whether an age file's header ends within `HEADER_LIMIT` bytes (or the file is shorter).
    The age library's header reader takes time quadratic in the header's length (a forged file
    with a 15 KB header: 0.6 s, 40 KB: 6 s, 120 KB: 37 s), so a longer header is refused before
    it is read: a forged file then costs a read at most about 13 s, twice what the largest file
    cpcm writes costs (600 readers); `encrypt` never writes a longer one."""
    if ciphertext.startswith(ARMOR):
        body = ciphertext[len(ARMOR):]
        end = body.find(b"-----END")
        text = (body if end < 0 else body[:end]).translate(None, b" \t\r\n")
        try:
            binary = binascii.a2b_base64(text[:(HEADER_LIMIT // 3 + 2) * 4])
        except binascii.Error:
            return True  # not base64: the age library refuses it, quickly
    else:
        binary = ciphertext
    return len(binary) <= HEADER_LIMIT or binary.find(b"\n--- ", 0, HEADER_LIMIT) >= 0


QUICK_FROM = 32  # files opened by a process before the quick way is worth importing its primitives (about 10 ms)
_opened = 0


def decrypt(ciphertext: bytes, identities: Sequence[x25519.Identity]) -> bytes:
    if not (ciphertext.startswith(MAGIC) or ciphertext.startswith(ARMOR)):
        raise Damaged("not an age file (the header is missing)")
    if not _header_fits(ciphertext):
        raise Damaged(f"its age header is longer than {HEADER_LIMIT // 1024} KiB: not a file cpcm writes")
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
