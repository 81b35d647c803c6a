"""Record files are opened with the `cryptography` package's primitives when they are of the usual
shape (crypto/agefile.py) and by pyrage otherwise. It must never open a file pyrage refuses, nor
open one to other bytes: checked on files made for any recipients, cut, altered and extended."""
from __future__ import annotations

import shutil
import subprocess

import pyrage
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyrage import passphrase, x25519

from cpcm.crypto import agefile, cipher

ME, OTHER, THIRD = (x25519.Identity.generate() for _ in range(3))


def pyrage_opens(data: bytes, identities) -> bytes | None:
    try:
        return pyrage.decrypt(data, list(identities))
    except pyrage.DecryptError:
        return None


def agrees(data: bytes, identities=(ME,)) -> bytes | None:
    """What agefile opens, checked against pyrage: the same bytes, or nothing."""
    quick = agefile.open_x25519(data, identities)
    if quick is not None:
        assert quick == pyrage_opens(data, identities)
    return quick


readers = st.permutations([ME, OTHER, THIRD]).flatmap(lambda people: st.integers(1, 3).map(lambda n: people[:n]))
plaintexts = st.one_of(st.binary(max_size=3000), st.sampled_from([b"", b"x" * 65535, b"x" * 65536, b"x" * 65537]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plaintexts, readers, st.sampled_from([(ME,), (OTHER,), (THIRD, ME), (ME, OTHER)]))
def test_a_file_for_any_readers_opens_as_pyrage_opens_it(plaintext, people, identities):
    data = pyrage.encrypt(plaintext, [p.to_public() for p in people])
    quick = agrees(data, identities)
    can_read = any(i in people for i in identities)
    if can_read and len(plaintext) <= agefile.CHUNK:
        assert quick == plaintext  # the quick way is taken for every record-sized file
    else:
        assert quick is None


def _altered(data: bytes, how: str, where: int, byte: int) -> bytes:
    at = where % (len(data) + 1)
    if how == "flip":
        at = min(at, len(data) - 1)
        return data[:at] + bytes([data[at] ^ (1 << (byte % 8))]) + data[at + 1:]
    if how == "cut":
        return data[:at]
    if how == "insert":
        return data[:at] + bytes([byte]) + data[at:]
    if how == "drop":
        return data[:at] + data[at + 1:]
    lines = data.split(b"\n")
    i = where % max(len(lines) - 1, 1)
    if how == "repeat line":
        return b"\n".join(lines[:i + 1] + lines[i:])
    return b"\n".join(lines[:i] + lines[i + 2:i + 3] + lines[i + 1:i + 2] + lines[i:i + 1] + lines[i + 3:])  # swap lines


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), readers, st.sampled_from(["flip", "cut", "insert", "drop", "repeat line", "swap"]),
       st.integers(0, 2000), st.integers(0, 255))
def test_a_file_cut_altered_or_extended_is_never_opened_where_pyrage_refuses_it(plaintext, people, how, where, byte):
    data = pyrage.encrypt(plaintext, [p.to_public() for p in people])
    agrees(_altered(data, how, where, byte), (ME,))
    agrees(_altered(data, how, where, byte), (OTHER, ME))


def test_the_identity_is_read_to_its_own_public_key():
    recipient = str(ME.to_public())
    assert agefile._key(ME).public == agefile._bech32_secret(recipient)


def test_files_the_quick_way_leaves_to_pyrage():
    assert agefile.open_x25519(pyrage.encrypt(b"x" * 70_000, [ME.to_public()]), [ME]) is None  # more than one chunk
    armored = pyrage.encrypt(b"x", [ME.to_public()], armored=True)
    assert agefile.open_x25519(armored, [ME]) is None and cipher.decrypt(armored, [ME]) == b"x"
    sealed = passphrase.encrypt(b"x", "a passphrase")
    assert agefile.open_x25519(sealed, [ME]) is None
    assert agefile.open_x25519(b"not age at all", [ME]) is None
    assert agefile.open_x25519(pyrage.encrypt(b"x", [ME.to_public()]), ["not an identity"]) is None


def test_a_stanza_of_low_order_is_left_to_pyrage():
    data = pyrage.encrypt(b"x", [ME.to_public()])
    head, _, rest = data.partition(b"-> X25519 ")
    share, _, rest = rest.partition(b"\n")
    zero_share = head + b"-> X25519 " + b"A" * 43 + b"\n" + rest  # the point 0: the exchange gives all zeros
    assert agefile.open_x25519(zero_share, [ME]) is None
    with pytest.raises(cipher.Damaged):
        cipher.decrypt(zero_share, [ME])


def test_cipher_errors_are_those_pyrage_gives():
    with pytest.raises(cipher.NotARecipient):
        cipher.decrypt(pyrage.encrypt(b"x", [OTHER.to_public()]), [ME])
    data = pyrage.encrypt(b"x", [ME.to_public()])
    with pytest.raises(cipher.Damaged):
        cipher.decrypt(data[:-1], [ME])
    assert cipher.decrypt(data, [ME]) == b"x"


@pytest.mark.skipif(shutil.which("age") is None, reason="the reference `age` tool is not installed (make test installs it)")
@pytest.mark.parametrize("size", [0, 1, 500, 65536])
def test_files_the_age_tool_writes_open_the_quick_way(tmp_path, size):
    plaintext = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    data = subprocess.run(["age", "-r", str(OTHER.to_public()), "-r", str(ME.to_public())], input=plaintext,
                          capture_output=True, check=True).stdout
    assert agrees(data, (ME,)) == plaintext


def test_a_process_opening_many_files_opens_them_the_quick_way(monkeypatch):
    data = pyrage.encrypt(b"a record", [OTHER.to_public(), ME.to_public()])
    monkeypatch.setattr(cipher, "_opened", cipher.QUICK_FROM)

    def refuse(*args):
        raise AssertionError("pyrage was used")
    monkeypatch.setattr(pyrage, "decrypt", refuse)
    assert cipher.decrypt(data, [ME]) == b"a record"
