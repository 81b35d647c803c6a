"""An age file's header longer than `cipher.HEADER_LIMIT` is refused before the age library reads
it: that reader takes time quadratic in the header's length, so one forged record (arriving by
sync or on a USB stick) could otherwise stall every read of its case for minutes. Files cpcm
writes stay far below the limit, and `encrypt` refuses to write one that would pass it."""
from __future__ import annotations

import base64
import os

import pyrage
import pytest
from pyrage import x25519

from conftest import record_files, register

from cpcm.crypto import cipher
from cpcm.errors import Refused
from cpcm.store.layout import case_rel

ME = x25519.Identity.generate()


def armored(binary: bytes) -> bytes:
    text = base64.b64encode(binary)
    lines = b"\n".join(text[k:k + 64] for k in range(0, len(text), 64))
    return b"-----BEGIN AGE ENCRYPTED FILE-----\n" + lines + b"\n-----END AGE ENCRYPTED FILE-----\n"


def with_grease(data: bytes, length: int) -> bytes:
    """`data` with a stanza of `length` bytes of well-formed body added to its header (the MAC no
    longer matches: the age library reads the whole header before it finds that)."""
    head, rest = data.split(b"\n---", 1)
    body = base64.b64encode(os.urandom(length * 3 // 4)).rstrip(b"=")
    lines = b"\n".join(body[k:k + 64] for k in range(0, len(body), 64))
    if len(body) % 64 == 0:
        lines += b"\n"
    return head + b"\n-> grease\n" + lines + b"\n---" + rest


@pytest.fixture
def no_age_library(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("the age library was asked to read a header past the limit")
    monkeypatch.setattr(pyrage, "decrypt", refused)
    monkeypatch.setattr(cipher, "_opened", 0)  # pyrage's way, not the quick one


@pytest.mark.parametrize("shape", [lambda b: b, armored], ids=["binary", "armored"])
def test_a_header_past_the_limit_is_refused_unread(shape, no_age_library):
    forged = shape(with_grease(cipher.encrypt(b"kind: note\n", [str(ME.to_public())]), cipher.HEADER_LIMIT + 100))
    with pytest.raises(cipher.Damaged, match="header is longer than 64 KiB"):
        cipher.decrypt(forged, [ME])


@pytest.mark.parametrize("shape", [lambda b: b, armored], ids=["binary", "armored"])
def test_a_header_just_under_the_limit_still_goes_to_the_age_library(shape, monkeypatch):
    monkeypatch.setattr(cipher, "HEADER_LIMIT", 4096)  # the same boundary, read quicker
    data = cipher.encrypt(b"kind: note\n", [str(ME.to_public())])
    assert cipher.decrypt(shape(data), [ME]) == b"kind: note\n"
    with pytest.raises(cipher.Damaged, match="header is longer than 4 KiB"):
        cipher.decrypt(shape(with_grease(data, 4096 + 64)), [ME])
    forged = shape(with_grease(data, 4096 - 400))
    with pytest.raises(cipher.Damaged) as refused:
        cipher.decrypt(forged, [ME])
    assert "longer than" not in str(refused.value)  # the age library's own reason (the MAC)


def test_a_large_file_with_a_short_header_reads():
    plaintext = os.urandom(cipher.HEADER_LIMIT * 4)
    data = cipher.encrypt(plaintext, [str(ME.to_public())])
    assert cipher.decrypt(data, [ME]) == plaintext
    assert cipher.decrypt(armored(data), [ME]) == plaintext


def test_many_readers_fit_and_too_many_are_refused_at_encrypt():
    readers = [x25519.Identity.generate() for _ in range(700)]
    publics = [str(r.to_public()) for r in readers]
    data = cipher.encrypt(b"x", publics[:150])
    assert cipher.decrypt(data, [readers[149]]) == b"x"
    with pytest.raises(Refused, match="700 readers are more than one file can be encrypted to") as refused:
        cipher.encrypt(b"x", publics)
    assert "cpcm team remove" in refused.value.hint


def test_show__a_record_with_a_forged_long_header_gives_7_naming_the_file(cli, repo):
    case_id = register(cli)
    (path,) = record_files(repo, case_id)
    path.write_bytes(with_grease(path.read_bytes(), 100_000))  # the age library alone: about 30 s
    result = cli("show", case_id)
    assert result.code == 7, result.stderr
    assert f"{case_rel(case_id)}/{path.name}" in result.stderr and "header is longer than 64 KiB" in result.stderr
    assert "Traceback" not in result.stderr
