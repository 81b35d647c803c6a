"""age files made by hand in the tests, following age's specification (https://age-encryption.org/v1),
with the `cryptography` package's primitives: the parts of a file (a stanza's body, the header and
its MAC, the payload's chunks) for the tests of cpcm's own reader (tests/test_agefile.py), and a
passphrase-protected file of a chosen scrypt work factor (`protect`).

`protect` is what a test's protected identity is sealed with (tests/conftest.py): pyrage seals one
with the work factor it calibrates to about a second of this machine (2^19 here), and every
command that opens it spends that again; at 2^10 the file is the same kind of file, opened by the
same code (age, pyrage and cpcm read any work factor up to their bound), in a millisecond. The tests
of the work factor itself keep pyrage's (the `real_scrypt` fixture)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from cpcm.crypto import agefile
from cpcm.crypto.signing import hkdf_sha256

QUICK_WORK = 10  # scrypt's work factor of a test's protected identity: N = 2^10


def b64(data: bytes) -> bytes:
    """Unpadded base64, as age writes it."""
    return base64.b64encode(data).rstrip(b"=")


def body(data: bytes) -> bytes:
    """A stanza's body: base64 lines of 64 characters, the last one shorter."""
    text = b64(data)
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    if not lines or len(lines[-1]) == 64:
        lines.append(b"")  # a body's last line is shorter than 64 characters, if need be empty
    return b"\n".join(lines) + b"\n"


def age_file(stanzas: bytes, file_key: bytes, chunks=((b"a record", True),), tail: bytes = b"") -> bytes:
    """The file of these stanzas for `file_key`, its header's MAC right, the payload in `chunks`
    ((plaintext, whether marked last), ...) and `tail` after it."""
    header = agefile.VERSION_LINE + stanzas + b"---"
    mac = hmac.digest(hkdf_sha256(file_key, b"header"), header, "sha256")
    nonce = os.urandom(16)
    payload = ChaCha20Poly1305(hkdf_sha256(file_key, b"payload", salt=nonce))
    sealed = b"".join(payload.encrypt(i.to_bytes(11, "big") + (b"\x01" if last else b"\x00"), chunk, None)
                      for i, (chunk, last) in enumerate(chunks))
    return header + b" " + b64(mac) + b"\n" + nonce + sealed + tail


def scrypt_stanza(file_key: bytes, secret: str, work: int, salt: bytes | None = None, work_text: bytes | None = None) -> bytes:
    """A passphrase's stanza wrapping `file_key`, of scrypt's work factor `work` (written as `work_text` where given)."""
    salt = os.urandom(16) if salt is None else salt
    wrap_key = hashlib.scrypt(secret.encode(), salt=agefile.SCRYPT_LABEL + salt, n=1 << work, r=8, p=1, maxmem=2 ** 30, dklen=32)
    wrapped = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)
    return b"-> scrypt " + b64(salt) + b" " + (work_text or str(work).encode()) + b"\n" + body(wrapped)


def protect(plaintext: bytes, passphrase: str, work: int = QUICK_WORK) -> bytes:
    """`plaintext` encrypted with `passphrase` as `age -p` does, of scrypt's work factor 2^`work`."""
    file_key = os.urandom(16)
    whole = agefile.CHUNK
    pieces = [plaintext[i:i + whole] for i in range(0, len(plaintext), whole)] or [b""]
    return age_file(scrypt_stanza(file_key, passphrase, work), file_key,
                    chunks=tuple((piece, i == len(pieces) - 1) for i, piece in enumerate(pieces)))
