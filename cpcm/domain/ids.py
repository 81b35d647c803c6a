"""Case and record identifiers.

Case IDs are random, short and typeable, with a check character, so two workers offline never
mint the same one and a mistyped ID is caught: ``CP-4F7K-9X2N``. They are never derived from a
name, birth date or place.

Record IDs sort by time (a ULID: 48-bit milliseconds, 80 random bits, Crockford base 32), so a
case's files list in the order they were written and two workers never collide.
"""
from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
CASE_PREFIX = "CP"
CONFERENCE_PREFIX = "CC"  # case conferences: the same shape and check character, another prefix
SUPERVISION_PREFIX = "SV"  # supervision sessions (cpcm supervision): the same shape, another prefix
COMPLAINT_PREFIX = "CM"  # complaints (cpcm complaint): the same shape, another prefix
CONFIDENTIAL_PREFIX = "SC"  # entries of a case's strictly confidential section (cpcm confidential): the same shape
_ID_RE = re.compile(r"^(?P<prefix>[A-Z]{2})-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
_RECORD_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
WORKER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")  # a worker id in the team
AGENCY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")  # an agency code (this one, or a receiving agency)


def check_char(body: str) -> str:
    """Luhn mod 32 over Crockford digits: catches any single wrong character and a swap of two
    neighbours, except (as with every Luhn mod N) a swap of '0' and 'Z'."""
    factor, total = 2, 0
    for char in reversed(body):
        addend = factor * _VALUE[char]
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def new_id(prefix: str, randbits=secrets.randbits) -> str:
    """A random ID with a check character: ``<prefix>-XXXX-XXXX``."""
    value = randbits(35)
    body = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(7))
    full = body + check_char(body)
    return f"{prefix}-{full[:4]}-{full[4:]}"


def normalise_id(text: str, prefix: str) -> str | None:
    """The canonical form of a typed ``<prefix>-XXXX-XXXX`` ID, or None when it is not one
    (bad check char included). Accepts lower case, missing dashes and the usual I/L/O slips."""
    raw = re.sub(r"[\s-]", "", text.upper())
    # the body is always 8 characters: strip the prefix only when it is there in front of one
    # (a body may itself begin with the prefix's letters, as in CP-CP00-000J)
    if len(raw) == len(prefix) + 8 and raw.startswith(prefix):
        raw = raw[len(prefix):]
    raw = raw.translate(_ALIASES)
    if len(raw) != 8 or any(c not in _VALUE for c in raw):
        return None
    if check_char(raw[:7]) != raw[7]:
        return None
    return f"{prefix}-{raw[:4]}-{raw[4:]}"


def is_id(text: str, prefix: str) -> bool:
    match = _ID_RE.match(text)
    return bool(match) and match["prefix"] == prefix and normalise_id(text, prefix) == text


def new_case_id(randbits=secrets.randbits) -> str:
    return new_id(CASE_PREFIX, randbits)


def normalise_case_id(text: str) -> str | None:
    return normalise_id(text, CASE_PREFIX)


def is_case_id(text: str) -> bool:
    return is_id(text, CASE_PREFIX)


def new_conference_id(randbits=secrets.randbits) -> str:
    return new_id(CONFERENCE_PREFIX, randbits)


def normalise_conference_id(text: str) -> str | None:
    return normalise_id(text, CONFERENCE_PREFIX)


def is_conference_id(text: str) -> bool:
    return is_id(text, CONFERENCE_PREFIX)


def new_supervision_id(randbits=secrets.randbits) -> str:
    return new_id(SUPERVISION_PREFIX, randbits)


def normalise_supervision_id(text: str) -> str | None:
    return normalise_id(text, SUPERVISION_PREFIX)


def new_complaint_id(randbits=secrets.randbits) -> str:
    return new_id(COMPLAINT_PREFIX, randbits)


def normalise_complaint_id(text: str) -> str | None:
    return normalise_id(text, COMPLAINT_PREFIX)


def new_confidential_id(randbits=secrets.randbits) -> str:
    return new_id(CONFIDENTIAL_PREFIX, randbits)


def normalise_confidential_id(text: str) -> str | None:
    return normalise_id(text, CONFIDENTIAL_PREFIX)


def is_record_id(text: str) -> bool:
    return bool(_RECORD_RE.match(text))


def _encode(value: int, length: int) -> str:
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(length)))


def _decode(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + _VALUE[char]
    return value


def record_id_millis(record_id: str) -> int:
    return _decode(record_id[:10])


class RecordIds:
    """Mints record IDs that strictly increase within a process, and sort after ``after``
    when the clock is behind the newest record already on disk."""

    def __init__(self, randbits=secrets.randbits):
        self._randbits = randbits
        self._last = ""

    def new(self, millis: int, after: str = "") -> str:
        floor = max(self._last, after)
        candidate = _encode(millis, 10) + _encode(self._randbits(80), 16)
        if candidate <= floor:
            candidate = _encode(_decode(floor) + 1 + self._randbits(16), 26)
        self._last = candidate
        return candidate
