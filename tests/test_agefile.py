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

from agemade import age_file, b64, body, protect, scrypt_stanza
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


# -- files made by hand, with a right header MAC: the parsing rules themselves -----------------
# (a byte altered in a file made by pyrage breaks its MAC; these keep the MAC right, so that only
# the rules of the header and the payload decide)

def _stanza_to(file_key: bytes, public: bytes, extra: bytes = b"", wrapped_extra: bytes = b"") -> bytes:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    from cpcm.crypto.signing import hkdf_sha256

    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    wrap_key = hkdf_sha256(ephemeral.exchange(X25519PublicKey.from_public_bytes(public)), agefile.X25519_LABEL, salt=share + public)
    wrapped = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None) + wrapped_extra
    return b"-> X25519 " + b64(share) + extra + b"\n" + body(wrapped)


def test_files_made_by_hand_with_a_right_mac_open_only_as_pyrage_opens_them():
    import os

    mine = agefile._key(ME).public
    key = os.urandom(16)
    ours = _stanza_to(key, mine)
    share_text = ours.split(b" ")[2].split(b"\n")[0]
    flipped = share_text[:-1] + (b"B" if share_text[-1:] == b"A" else b"A")  # the last character's spare bits set, or another key
    cases = {  # name: (the file, whether age opens it)
        "as age writes it": (age_file(ours, key), True),
        "an unknown stanza with arguments and a 48-byte body": (age_file(b"-> grease a b\n" + body(os.urandom(48)) + ours, key), True),
        "an unknown stanza with an empty body": (age_file(ours + b"-> grease\n\n", key), True),
        "a stanza with no type": (age_file(b"-> \n\n" + ours, key), False),
        "a body line short before a full one": (age_file(b"-> grease\n" + b64(os.urandom(30)) + b"\n" + b64(os.urandom(30)) + b"\n" + ours, key), False),
        "an X25519 stanza with a third argument": (age_file(_stanza_to(key, mine, extra=b" more"), key), False),
        "a wrapped key of 33 bytes": (age_file(_stanza_to(key, mine, wrapped_extra=b"x"), key), False),
        "a file key of 32 bytes": (age_file(_stanza_to(os.urandom(32), mine), key), False),
        "a share not in canonical base64": (age_file(ours.replace(share_text, flipped), key), False),
        "a passphrase stanza beside ours": (age_file(ours + b"-> scrypt " + b64(os.urandom(16)) + b" 10\n" + body(os.urandom(32)), key), False),
        "the empty payload": (age_file(ours, key, chunks=((b"", True),)), True),
        "one full last chunk": (age_file(ours, key, chunks=((b"a" * agefile.CHUNK, True),)), True),
        "a full chunk, then an empty last one": (age_file(ours, key, chunks=((b"a" * agefile.CHUNK, False), (b"", True))), False),
        "no chunk marked last": (age_file(ours, key, chunks=((b"a record", False),)), False),
        "a byte after the last chunk": (age_file(ours, key, tail=b"z"), False),
        "a first stanza of ours holding another file key": (age_file(_stanza_to(os.urandom(16), mine) + ours, key), False),
    }
    made = age_file(ours, key)
    mac_end = made.index(b"\n", made.index(b"\n--- ") + 5)
    cases["a MAC padded with ="] = (made[:mac_end] + b"=" + made[mac_end:], False)
    for name, (data, opens) in cases.items():
        expected = pyrage_opens(data, [ME])
        assert (expected is not None) == opens, name  # what pyrage (the age crate) does with it
        assert agrees(data, (ME,)) in (None, expected), name
        if not opens:
            assert agefile.open_x25519(data, [ME]) is None, name


# -- passphrase-protected files (a protected identity): opened with a fixed bound on scrypt's work --

def pyrage_opens_with(data: bytes, secret: str) -> bytes | None:
    try:
        return passphrase.decrypt(data, secret)
    except pyrage.DecryptError:
        return None


def test_a_passphrase_file_opens_as_pyrage_opens_it():
    sealed = passphrase.encrypt(b"AGE-SECRET-KEY-1", "a passphrase")  # pyrage's own work factor (about a second)
    assert agefile.open_scrypt(sealed, "a passphrase") == b"AGE-SECRET-KEY-1" == passphrase.decrypt(sealed, "a passphrase")
    with pytest.raises(agefile.WrongPassphrase):  # a file of the tests' work factor: the same refusal, in a millisecond
        agefile.open_scrypt(protect(b"AGE-SECRET-KEY-1", "a passphrase"), "A passphrase")
    assert agefile.open_scrypt(pyrage.encrypt(b"x", [ME.to_public()]), "a passphrase") is None  # not a passphrase file


def test_passphrase_files_made_by_hand_open_only_as_pyrage_opens_them():
    import os

    key = os.urandom(16)
    ours = scrypt_stanza(key, "pass", 10)
    cases = {  # name: (the file, whether age opens it)
        "as age writes it": (age_file(ours, key), True),
        "a second stanza beside it": (age_file(ours + _stanza_to(key, agefile._key(ME).public), key), False),
        "a work factor with a leading zero": (age_file(scrypt_stanza(key, "pass", 10, work_text=b"010"), key), False),
        "a salt of 15 bytes": (age_file(scrypt_stanza(key, "pass", 10, salt=os.urandom(15)), key), False),
        "a byte after the last chunk": (age_file(ours, key, tail=b"z"), False),
        "no chunk marked last": (age_file(ours, key, chunks=((b"a record", False),)), False),
    }
    made = age_file(ours, key)
    cases["the payload altered"] = (made[:-1] + bytes([made[-1] ^ 1]), False)
    for name, (data, opens) in cases.items():
        expected = pyrage_opens_with(data, "pass")
        assert (expected is not None) == opens, name  # what pyrage (the age crate) does with it
        try:
            quick = agefile.open_scrypt(data, "pass")
        except agefile.WrongPassphrase:
            quick = None
        assert quick == expected if opens else quick is None, name


def test_a_work_factor_above_the_bound_is_left_to_pyrage():
    import os

    key = os.urandom(16)
    above = scrypt_stanza(key, "pass", 10, work_text=str(agefile.SCRYPT_MAX_WORK + 1).encode())  # not worked out: refused first
    assert agefile.open_scrypt(age_file(above, key), "pass") is None


def test_a_protected_identity_opens_where_pyrage_would_time_its_work_as_too_much(tmp_path, monkeypatch):
    """pyrage refuses a file whose work factor is more than 4 above what it times on the machine at
    that moment: on a busy or old laptop the right passphrase was reported as a wrong one."""
    from cpcm.crypto import identity

    made = x25519.Identity.generate()
    path = tmp_path / "protected.txt"
    path.write_bytes(protect(f"{made}\n".encode(), "a passphrase"))  # pyrage's refusal is made below, whatever the work
    secret = tmp_path / "pass.txt"
    secret.write_text("a passphrase\n")
    monkeypatch.setenv("CPCM_PASSPHRASE_FILE", str(secret))

    def busy(*args):
        raise pyrage.DecryptError("excessive work parameter for passphrase")
    monkeypatch.setattr(passphrase, "decrypt", busy)
    assert str(identity.load(path, lambda: None).keys[0]) == str(made)
    secret.write_text("another passphrase\n")
    with pytest.raises(identity.CannotDecrypt, match="wrong passphrase"):
        identity.load(path, lambda: None)
