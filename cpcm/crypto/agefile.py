"""Opening an age file of one payload chunk for X25519 identities with the `cryptography`
package's primitives: the quick way in for record files (a cold fill opens every record).

pyrage (the age crate) derives the identity's public key again for every stanza it tries, so a
record with two recipients cost 140 to 220 µs to open, most of it elliptic-curve work; here the
public key is derived once per identity and each stanza costs one X25519 exchange (about half
the time in all). It follows age's specification (https://age-encryption.org/v1):

    age-encryption.org/v1
    -> X25519 SHARE          (one stanza per recipient, and others: grease, scrypt, plugins)
    BODY                     (base64 lines of 64 characters, the last one shorter)
    --- MAC
    NONCE(16) PAYLOAD        (ChaCha20-Poly1305 STREAM, chunks of 64 KiB)

`open_x25519` gives the plaintext only when the file is exactly of that shape, the header's MAC
is right and the payload's tag is right, and None otherwise; the caller then opens the file with
pyrage, which gives the answer or the error it always gave. So this can open fewer files than
age does (armored, several chunks, anything unusual), never more, and never opens one
differently: tests/test_agefile.py checks that against pyrage on files made, cut and altered.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from cpcm.crypto.signing import hkdf_sha256

VERSION_LINE = b"age-encryption.org/v1\n"
X25519_LABEL = b"age-encryption.org/v1/X25519"
SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
# the highest scrypt work factor opened here: 2^20 takes 1 GiB of memory and a few seconds on an
# old laptop, and hashlib's scrypt takes at most 2 GiB; a file above it is left to pyrage
SCRYPT_MAX_WORK = 20
_SCRYPT_BLOCK = 128 * 8  # bytes of scrypt's memory per unit of N with r = 8 (OpenSSL needs N + 3 of them with p = 1)
_WORK = re.compile(rb"^[1-9][0-9]?$")  # a work factor: a decimal without leading zeros
CHUNK = 64 * 1024
TAG = 16
# a stanza: "-> " and its arguments (each of one or more visible ASCII characters, one space
# between them) on a line, then its body in lines of 64 base64 characters, the last one shorter
_STANZA = re.compile(rb"-> ([\x21-\x7e]+(?: [\x21-\x7e]+)*)\n((?:[A-Za-z0-9+/]{64}\n)*[A-Za-z0-9+/]{0,63})\n")
_ZERO_NONCE = bytes(12)
_LAST_CHUNK_NONCE = bytes(11) + b"\x01"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


class _Unusual(Exception):
    """Not a file this module opens: pyrage opens it, or says why it cannot."""


def _base64(text: bytes) -> bytes:
    """Canonical unpadded base64, as age writes and requires."""
    try:
        raw = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise _Unusual from None
    if base64.b64encode(raw).rstrip(b"=") != text:
        raise _Unusual
    return raw


def _header(data: bytes) -> tuple[list[tuple[list[bytes], bytes]], bytes, bytes, int]:
    """(stanzas as (arguments, body), the bytes the MAC covers, the MAC, where the payload starts)."""
    if not data.startswith(VERSION_LINE):
        raise _Unusual
    pos = len(VERSION_LINE)
    stanzas = []
    while (stanza := _STANZA.match(data, pos)) is not None:
        stanzas.append((stanza[1].split(b" "), _base64(stanza[2].replace(b"\n", b""))))
        pos = stanza.end()
    end = data.find(b"\n", pos)
    if end < 0 or not data.startswith(b"--- ", pos):
        raise _Unusual
    return stanzas, data[:pos + 3], _base64(data[pos + 4:end]), end + 1


class _Key:
    """An X25519 identity as the `cryptography` package holds it, with its public key."""

    def __init__(self, secret: bytes):
        self.private = X25519PrivateKey.from_private_bytes(secret)
        self.public = self.private.public_key().public_bytes_raw()

    def file_key(self, share: bytes, wrapped: bytes) -> bytes | None:
        try:
            shared = self.private.exchange(X25519PublicKey.from_public_bytes(share))
        except ValueError:  # a share of low order: age refuses the file
            raise _Unusual from None
        wrap_key = hkdf_sha256(shared, X25519_LABEL, salt=share + self.public)
        try:
            return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, wrapped, None)
        except InvalidTag:
            return None  # another recipient's stanza


def _bech32_secret(text: str) -> bytes:
    """The 32 bytes of an age identity's bech32 text (its checksum was checked where it was read)."""
    data = text.lower().rpartition("1")[2][:-6]
    acc = bits = 0
    out = bytearray()
    for char in data:
        acc = (acc << 5) | _BECH32.index(char)
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if len(out) != 32:
        raise _Unusual
    return bytes(out)


# id(identity) -> (the identity, kept so that its id is not reused; its key). Held, like the keys a
# command is given, for the process's life: a cpcm process ends with its command, the unlock agent's
# with its key (pyrage's identities take no weak references).
_KEYS: dict[int, tuple[Any, _Key | None]] = {}


def _key(identity: Any) -> _Key | None:
    held = _KEYS.get(id(identity))
    if held is not None and held[0] is identity:
        return held[1]
    from pyrage import x25519

    key = None
    if isinstance(identity, x25519.Identity):
        try:
            key = _Key(_bech32_secret(str(identity)))
        except (_Unusual, ValueError):
            key = None
    if len(_KEYS) >= 64:
        _KEYS.clear()
    _KEYS[id(identity)] = (identity, key)
    return key


def open_x25519(data: bytes, identities: Sequence[Any]) -> bytes | None:
    """The plaintext of an age file of one chunk for one of `identities` (tried in their order,
    each against the stanzas in theirs, as age does); None when pyrage is to open it."""
    try:
        stanzas, covered, mac, start = _header(data)
        if not stanzas or any(args[0] == b"scrypt" for args, _ in stanzas):
            return None  # a passphrase file: age's own rules apply
        for identity in identities:
            key = _key(identity)
            if key is None:
                return None
            for args, body in stanzas:
                if args[0] != b"X25519":
                    continue
                if len(args) != 2 or len(body) != 32:
                    return None  # malformed: age refuses it
                share = _base64(args[1])
                if len(share) != 32:
                    return None
                file_key = key.file_key(share, body)
                if file_key is None:
                    continue
                return _payload(data, file_key, covered, mac, start)
        return None
    except (_Unusual, InvalidTag):
        return None


def _payload(data: bytes, file_key: bytes, covered: bytes, mac: bytes, start: int) -> bytes | None:
    """The plaintext of a file of one chunk whose file key is known, when its header's MAC and its
    payload's tag are right; None otherwise (InvalidTag from a payload that was altered)."""
    if not hmac.compare_digest(hmac.digest(hkdf_sha256(file_key, b"header"), covered, "sha256"), mac):
        return None
    nonce, sealed = data[start:start + 16], data[start + 16:]
    if len(nonce) != 16 or not TAG <= len(sealed) <= CHUNK + TAG:
        return None  # cut short, or more than one chunk
    return ChaCha20Poly1305(hkdf_sha256(file_key, b"payload", salt=nonce)).decrypt(_LAST_CHUNK_NONCE, sealed, None)


class WrongPassphrase(Exception):
    """The passphrase does not open the file's scrypt stanza."""


def open_scrypt(data: bytes, passphrase: str) -> bytes | None:
    """The plaintext of a passphrase-protected age file of one chunk (a protected identity), with
    age's scrypt (N = 2^LOGN, r = 8, p = 1) bounded by a fixed work factor, `SCRYPT_MAX_WORK`.
    WrongPassphrase when the passphrase does not open it; None when pyrage is to open it (any
    other shape, a higher work factor, a header or payload that does not check).

    pyrage (the age crate) refuses a file whose work factor is more than 4 above the one it times
    on the machine at that moment (about a second's work): on an old or busy laptop a right
    passphrase was refused as a wrong one. The bound here does not depend on the moment."""
    try:
        stanzas, covered, mac, start = _header(data)
        if len(stanzas) != 1 or stanzas[0][0][0] != b"scrypt":
            return None  # age allows a scrypt stanza only alone
        (args, body), = stanzas
        if len(args) != 3 or len(body) != 32 or not _WORK.match(args[2]):
            return None
        salt, work = _base64(args[1]), int(args[2])
        if len(salt) != 16 or work > SCRYPT_MAX_WORK:
            return None
        wrap_key = hashlib.scrypt(passphrase.encode("utf-8"), salt=SCRYPT_LABEL + salt, n=1 << work, r=8, p=1,
                                  maxmem=_SCRYPT_BLOCK * ((1 << work) + 3), dklen=32)
        try:
            file_key = ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, body, None)
        except InvalidTag:
            raise WrongPassphrase from None
        return _payload(data, file_key, covered, mac, start)
    except (_Unusual, InvalidTag, ValueError, MemoryError):
        return None
