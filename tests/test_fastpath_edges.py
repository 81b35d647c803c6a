"""Edges of the two quick ways in (crypto/agefile.py, codec.loads) that the tests made from real
files cannot reach: age files whose header is hand-made yet carries a right MAC (a cut or altered
file never does, so the header grammar is only exercised here), and documents nested deep enough
for Python's recursion limit to matter."""
from __future__ import annotations

import hashlib
import hmac
import os

import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrage import x25519

from agemade import b64
from agemade import body as body_lines
from cpcm.crypto import agefile
from cpcm.store import codec
from test_codec_quick import check, outcome

ME, OTHER = x25519.Identity.generate(), x25519.Identity.generate()
LABEL = b"age-encryption.org/v1/X25519"


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def x25519_stanza(identity, file_key: bytes) -> bytes:
    public = agefile._key(identity).public
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public))
    body = ChaCha20Poly1305(hkdf(shared, share + public, LABEL)).encrypt(bytes(12), file_key, None)
    return b"-> X25519 " + b64(share) + b"\n" + body_lines(body)


def sealed(header_to_dashes: bytes, file_key: bytes, plaintext: bytes, mac_line=lambda line: line) -> bytes:
    """A whole file for `header_to_dashes` (everything the MAC covers), its MAC right."""
    mac = hmac.new(hkdf(file_key, b"", b"header"), header_to_dashes, hashlib.sha256).digest()
    nonce = os.urandom(16)
    payload = ChaCha20Poly1305(hkdf(file_key, nonce, b"payload")).encrypt(bytes(11) + b"\x01", plaintext, None)
    return header_to_dashes + mac_line(b" " + b64(mac) + b"\n") + nonce + payload


def pyrage_opens(data: bytes, identities):
    try:
        return pyrage.decrypt(data, list(identities))
    except pyrage.DecryptError:
        return None


EDITS = [b" ", b"\n", b"\r", b"\t", b"=", b"-", b">", b"A", b"/", b"\x00", b"\x7f", b"\x80", b"-> ", b"---", b"\n\n"]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([0, 1, 2, 3, 31, 32, 47, 48, 49, 96]), max_size=3), st.randoms(use_true_random=False),
       st.lists(st.tuples(st.sampled_from(["insert", "delete", "duplicate line", "drop line"]), st.integers(0, 10_000),
                          st.sampled_from(EDITS)), max_size=2),
       st.sampled_from([None, b"=\n", b"  ", b" \n", b"\r\n", b"cut"]))
def test_a_hand_made_header_with_a_right_mac_opens_only_as_pyrage_opens_it(grease, rnd, edits, mac_edit):
    file_key = os.urandom(16)
    parts = [x25519_stanza(OTHER, file_key), x25519_stanza(ME, file_key)]
    parts += [b"-> g-grease" + b" a!" * (size % 3) + b"\n" + body_lines(os.urandom(size)) for size in grease]
    rnd.shuffle(parts)
    header = b"age-encryption.org/v1\n" + b"".join(parts) + b"---"
    for how, where, text in edits:
        at = where % (len(header) + 1)
        if how == "insert":
            header = header[:at] + text + header[at:]
        elif how == "delete":
            header = header[:at] + header[at + 1:]
        else:
            lines = header.split(b"\n")
            i = where % len(lines)
            lines[i:i + 1] = [lines[i]] * 2 if how == "duplicate line" else []
            header = b"\n".join(lines)

    def mac_line(line: bytes) -> bytes:
        if mac_edit is None:
            return line
        if mac_edit == b"cut":
            return line[:-2] + b"\n"
        return line[:-1] + mac_edit if mac_edit.endswith(b"\n") else line.replace(b" ", mac_edit, 1)
    data = sealed(header, file_key, b"a record", mac_line)
    quick = agefile.open_x25519(data, [ME])
    if quick is not None:
        assert quick == pyrage_opens(data, [ME])


def test_a_hand_made_file_of_the_usual_shape_opens_the_quick_way():
    file_key = os.urandom(16)
    header = b"age-encryption.org/v1\n-> g-grease\n\n" + x25519_stanza(OTHER, file_key) + x25519_stanza(ME, file_key) + b"---"
    data = sealed(header, file_key, b"a record")
    assert agefile.open_x25519(data, [ME]) == pyrage_opens(data, [ME]) == b"a record"


# -- codec.loads: nesting under the structural-character limit but over Python's recursion limit -----

DEEP = ["[" * 450 + "]" * 450, "{a: " * 800 + "x" + "}" * 800, "[" * 1200 + "]" * 1200, "{a: " * 1200 + "x" + "}" * 1200,
        "[" * 33 + "]" * 33, "a:\n" + "".join(" " * (2 * n) + "- b:\n" for n in range(40)), "[[a]]: " + "[" * 40 + "]" * 40]


@pytest.mark.parametrize("data", DEEP)
def test_a_deep_document_is_refused_both_ways_never_raised(data):
    """A forged record nested deeper than anything cpcm writes (and than `load_input` accepts),
    yet under the 5,000 structural characters that send a document to the limited reader, is
    refused with BadYaml by both constructions alike, never a RecursionError."""
    check(data)
    assert outcome(codec.loads, data)[0] == "refused"


def test_the_deepest_document_that_is_read():
    data = "[" * codec.MAX_DEPTH + "x" + "]" * codec.MAX_DEPTH
    check(data)
    value = codec.loads(data)
    for _ in range(codec.MAX_DEPTH - 1):
        value = value[0]
    assert value == ["x"]
