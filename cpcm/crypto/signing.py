"""A worker's signing key and git's SSH commit signatures, without ssh-keygen.

One secret, one passphrase: the Ed25519 signing key is derived from the worker's age identity
(HKDF-SHA256 over the identity's secret key line, with a fixed `info`), so it is never written
to disk and is unlocked with the identity. Its public half is an OpenSSH line
(`ssh-ed25519 AAAA... cpcm:<worker>`), recorded in the team file.

Signatures are SSHSIG (OpenSSH's PROTOCOL.sshsig), namespace "git", hash sha512, armored at
70 columns: byte for byte what `ssh-keygen -Y sign -n git` makes, and what git puts in a
commit's `gpgsig` header when `gpg.format=ssh`. So `git verify-commit` with an allowed-signers
file (`cpcm team signers`) checks cpcm's commits, and cpcm checks them itself in Python
(`verify_commit`) without a process per commit.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
# `cryptography` itself (20 to 30 ms to import) is imported where a key is made or a signature checked:
# a command that only reads (`due`, `list`, `show`) signs and checks nothing

KEY_TYPE = "ssh-ed25519"
NAMESPACE = "git"
HASH = "sha512"
MAGIC = b"SSHSIG"
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
LINE = 70  # ssh-keygen's armor width
# the HKDF `info`: names what the derived bytes are for, so the same identity gives no other key by it
INFO = b"cpcm commit signing key (ssh-ed25519) v1"


class BadSignature(ValueError):
    """A signature that does not verify, or is not an SSHSIG of the expected kind."""


# -- keys ------------------------------------------------------------------------------------------
def hkdf_sha256(secret: bytes, info: bytes, length: int = 32, salt: bytes = b"") -> bytes:
    """RFC 5869 HKDF with SHA-256 (stdlib hmac, each step one call): extract, then expand."""
    prk = hmac.digest(salt or b"\0" * 32, secret, "sha256")
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        out += block
        counter += 1
    return out[:length]


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def public_blob(raw: bytes) -> bytes:
    """The SSH wire form of an Ed25519 public key."""
    return _string(KEY_TYPE.encode()) + _string(raw)


def public_line(raw: bytes, comment: str = "") -> str:
    text = f"{KEY_TYPE} {base64.b64encode(public_blob(raw)).decode()}"
    return f"{text} {comment}" if comment else text


def fingerprint(raw: bytes) -> str:
    """As `ssh-keygen -l` prints it: SHA256:<base64 without padding>."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(public_blob(raw)).digest()).decode().rstrip("=")


def parse_public_line(line: str) -> bytes:
    """The 32 raw bytes of an `ssh-ed25519 AAAA... [comment]` line; ValueError otherwise."""
    parts = (line or "").strip().split()
    if len(parts) < 2 or parts[0] != KEY_TYPE:
        raise ValueError("is an OpenSSH ed25519 public key line (ssh-ed25519 AAAA...), as cpcm key show --signing prints it")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key part of the ssh-ed25519 line is not base64") from None
    try:
        kind, rest = _take(blob)
        raw, rest = _take(rest)
    except ValueError:
        raise ValueError("the ssh-ed25519 line holds a damaged key") from None
    if kind != KEY_TYPE.encode() or len(raw) != 32 or rest:
        raise ValueError("the ssh-ed25519 line holds a damaged key")
    return raw


def canonical(line: str) -> str:
    """The key part of a public key line (type and base64, no comment): what the team records compare."""
    return public_line(parse_public_line(line))


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    public: bytes  # 32 raw bytes

    def line(self, comment: str = "") -> str:
        return public_line(self.public, comment)

    def sign(self, data: bytes, namespace: str = NAMESPACE) -> str:
        """An armored SSHSIG of `data`, as `ssh-keygen -Y sign -n NAMESPACE` writes it."""
        signature = self.private.sign(_signed_data(data, namespace))
        blob = (MAGIC + struct.pack(">I", 1) + _string(public_blob(self.public)) + _string(namespace.encode())
                + _string(b"") + _string(HASH.encode()) + _string(_string(KEY_TYPE.encode()) + _string(signature)))
        text = base64.b64encode(blob).decode()
        lines = [text[i:i + LINE] for i in range(0, len(text), LINE)]
        return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


def from_secret_line(secret_line: str) -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hkdf_sha256(secret_line.strip().encode("ascii"), INFO)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes_raw()
    return SigningKey(private, public)


def for_identity(identity) -> SigningKey:
    """The signing key of an age identity (its first key, the one `key show` prints)."""
    return from_secret_line(str(identity.keys[0]))


# -- signatures ------------------------------------------------------------------------------------
def _take(data: bytes) -> tuple[bytes, bytes]:
    if len(data) < 4:
        raise ValueError("short")
    (size,) = struct.unpack(">I", data[:4])
    if len(data) < 4 + size:
        raise ValueError("short")
    return data[4:4 + size], data[4 + size:]


def _signed_data(data: bytes, namespace: str) -> bytes:
    return (MAGIC + _string(namespace.encode()) + _string(b"") + _string(HASH.encode())
            + _string(hashlib.sha512(data).digest()))


@lru_cache(maxsize=256)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(raw)


def verify(armored: str | bytes, data: bytes, namespace: str = NAMESPACE) -> bytes:
    """Check an armored SSHSIG over `data`; returns the signer's raw public key, or raises
    BadSignature (with a reason that names no content)."""
    text = armored.decode("ascii", "replace") if isinstance(armored, bytes) else armored
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise BadSignature("not an SSH signature")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
        if not blob.startswith(MAGIC) or blob[6:10] != struct.pack(">I", 1):
            raise BadSignature("not an SSH signature (version 1)")
        key_blob, rest = _take(blob[10:])
        space, rest = _take(rest)
        _reserved, rest = _take(rest)
        hash_name, rest = _take(rest)
        sig_blob, rest = _take(rest)
        kind, key_rest = _take(key_blob)
        raw, _ = _take(key_rest)
        sig_kind, sig_rest = _take(sig_blob)
        signature, _ = _take(sig_rest)
    except (ValueError, binascii.Error):
        raise BadSignature("a damaged SSH signature") from None
    if kind != KEY_TYPE.encode() or sig_kind != KEY_TYPE.encode() or len(raw) != 32:
        raise BadSignature("signed with a key that is not ssh-ed25519")
    if space.decode("ascii", "replace") != namespace:
        raise BadSignature(f"signed for another purpose than '{namespace}'")
    if hash_name not in (b"sha512", b"sha256"):
        raise BadSignature("an unknown hash")
    digest = hashlib.sha512(data).digest() if hash_name == b"sha512" else hashlib.sha256(data).digest()
    signed = MAGIC + _string(space) + _string(b"") + _string(hash_name) + _string(digest)
    from cryptography.exceptions import InvalidSignature

    try:
        _public_key(raw).verify(signature, signed)
    except (InvalidSignature, ValueError):
        raise BadSignature("the signature does not match the commit") from None
    return raw


# -- commit objects --------------------------------------------------------------------------------
def commit_with_signature(payload: bytes, armored: str) -> bytes:
    """The commit object `payload` with its `gpgsig` header (after the last header line, where git
    puts it; each line of the signature after the first starts with a space)."""
    end = payload.index(b"\n\n") + 1
    header = "gpgsig " + "\n ".join(armored.rstrip("\n").split("\n")) + "\n"
    return payload[:end] + header.encode("ascii") + payload[end:]


def split_commit(raw: bytes) -> tuple[bytes, str | None]:
    """(the signed payload: the commit object without its `gpgsig` header, the armored signature
    or None). As git does in `parse_signed_commit`."""
    end = raw.find(b"\n\n")
    head, body = (raw, b"") if end < 0 else (raw[:end + 1], raw[end + 1:])
    kept, sig, in_sig = [], [], False
    for line in head.split(b"\n")[:-1]:
        if line.startswith(b"gpgsig "):
            in_sig = True
            sig.append(line[7:])
            continue
        if in_sig and line.startswith(b" "):
            sig.append(line[1:])
            continue
        in_sig = False
        kept.append(line)
    payload = b"\n".join(kept) + b"\n" + body
    return payload, (b"\n".join(sig).decode("ascii", "replace") + "\n") if sig else None


def commit_fields(raw: bytes) -> dict:
    """The headers of a commit object git's way: tree, parents, author and committer lines."""
    end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[:end]
    fields: dict = {"parents": []}
    for line in head.split(b"\n"):
        name, _, value = line.partition(b" ")
        if name == b"parent":
            fields["parents"].append(value.decode("ascii", "replace"))
        elif name in (b"tree", b"author", b"committer") and name.decode() not in fields:
            fields[name.decode()] = value.decode("utf-8", "replace")
    fields["message"] = raw[end + 2:].decode("utf-8", "replace") if end >= 0 else ""
    return fields


def ident_time(ident: str) -> tuple[int, str]:
    """(unix seconds, '+0300') from an author or committer line's value."""
    parts = ident.rsplit(" ", 2)
    try:
        return int(parts[-2]), parts[-1]
    except (ValueError, IndexError):
        return 0, "+0000"


def ident_email(ident: str) -> str:
    start, end = ident.rfind("<"), ident.rfind(">")
    return ident[start + 1:end] if 0 <= start < end else ""
