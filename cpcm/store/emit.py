"""Records to YAML text without ruamel's representer, for what most records hold: the same bytes
as `codec.dumps`, about twenty times faster (a batch of 10,000 reviews spent 6 s in the
representer and its tag handling).

`dumps(data)` writes a record whose every value is of the plain kinds below and gives way to
`codec.dumps` for anything else, so what it writes is always exactly what `codec.dumps` would
write (tests/test_codec_emitters.py checks that for any record): text any YAML reader reads
back as it was, and records that read back the same whichever writer made them.

Written here: mappings with plain names as keys, lists, whole numbers, true/false, null, and
text that YAML writes unquoted (a letter first; letters, digits, spaces and `_ . , ; ( ) / + ' -`
after it) or in single quotes (the words a YAML 1.1 reader takes for true, false or null).
Everything else (other text, numbers with a fraction, line breaks, long values) goes to
`codec.dumps`.
"""
from __future__ import annotations

import re
from typing import Any

from cpcm.domain.records import HEADER
from cpcm.store import codec

# text written as it is, when YAML reads it as text: a letter or digit first, no ': ', no
# leading or trailing space, only characters of the Basic Multilingual Plane, short enough that
# no line reaches the emitter's width (4,096)
_PLAIN = re.compile(r"[^\W_](?:[\w .,;:()/+'-]*[\w.,;()/+'-])?")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_STR = "tag:yaml.org,2002:str"
_LONGEST = 1000  # characters of plain text written here; longer text goes to codec.dumps
_INDENT = 64  # levels deeper than this go to codec.dumps


# What a safe YAML 1.2 reader reads a plain scalar as, by its first character: the implicit
# resolvers of ruamel's YAML 1.2 resolver, which codec's dumper quotes by (YAML 1.2's core schema),
# kept here so that neither writing nor reading cpcm's own text imports ruamel (about 25 ms of a
# command's start); tests/test_codec_emitters.py holds them to ruamel's table. Each: (the tag's
# name, the first characters it applies to, verbose?, the pattern), in ruamel's order.
_RESOLVERS = (
    ('bool', ('t', 'T', 'f', 'F'), True,
     '^(?:true|True|TRUE|false|False|FALSE)$'),
    ('float', ('-', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.'), True,
     '^(?:\n         [-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+]?[0-9]+)?\n        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)\n        |[-+]?\\.[0-9_]+(?:[eE][-+][0-9]+)?\n        |[-+]?\\.(?:inf|Inf|INF)\n        |\\.(?:nan|NaN|NAN))$'),
    ('int', ('-', '+', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'), True,
     '^(?:[-+]?0b[0-1_]+\n        |[-+]?0o?[0-7_]+\n        |[-+]?[0-9_]+\n        |[-+]?0x[0-9a-fA-F_]+)$'),
    ('timestamp', ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'), True,
     '^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]\n        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?\n        (?:[Tt]|[ \\t]+)[0-9][0-9]?\n        :[0-9][0-9] :[0-9][0-9] (?:\\.[0-9]*)?\n        (?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$'),
    ('merge', ('<',), False,
     '^(?:<<)$'),
    ('null', ('~', 'n', 'N', ''), True,
     '^(?: ~\n        |null|Null|NULL\n        | )$'),
    ('value', ('=',), False,
     '^(?:=)$'),
    ('yaml', ('!', '&', '*'), False,
     '^(?:!|&|\\*)$'),
)
_IMPLICIT: dict[str, tuple] = {}  # first character -> ((tag, compiled pattern), ...): compiled at the first use


def implicit_rules() -> dict[str, tuple]:
    if not _IMPLICIT:
        for name, firsts, verbose, pattern in _RESOLVERS:
            rule = ("tag:yaml.org,2002:" + name, re.compile(pattern, re.X if verbose else 0))
            for first in firsts:
                _IMPLICIT[first] = _IMPLICIT.get(first, ()) + (rule,)
    return _IMPLICIT




class _Other(Exception):
    """A value this writer leaves to codec.dumps."""


def dumps(data: dict[str, Any]) -> bytes:
    """A record (or any mapping) as YAML bytes: exactly what `codec.dumps(data)` returns."""
    ordered = {k: data[k] for k in HEADER if k in data}
    ordered.update((k, v) for k, v in data.items() if k not in ordered)
    out: list[str] = []
    try:
        if not ordered:
            raise _Other
        _mapping(ordered, "", out)
    except _Other:
        return codec.dumps(data)
    return "".join(out).encode("utf-8")


_SEEN: dict[str, str] = {}  # short text written or read before (keys, names, choices repeat from record to record) -> as written
_SEEN_MAX = 4096
_SEEN_LONGEST = 64


def forget() -> None:
    """Drop the texts kept from the records written and read (children's names among them): the
    unlock agent, one process for many commands, keeps nothing of a case from one to the next."""
    _SEEN.clear()


def _text(value: str) -> str:
    known = _SEEN.get(value)
    if known is not None:
        return known
    written = _written(value)
    if len(value) <= _SEEN_LONGEST and len(_SEEN) < _SEEN_MAX:
        _SEEN[value] = written
    return written


def _written(value: str) -> str:
    if not value or value.lower() in codec.YAML11_WORDS:
        return f"'{value}'"  # as codec's representer writes them
    if len(value) > _LONGEST or ": " in value or not _PLAIN.fullmatch(value) or not value.isprintable() \
            or max(value) > "\uffff":
        raise _Other
    for tag, rule in (_IMPLICIT or implicit_rules()).get(value[0], ()):
        if rule.match(value):
            if tag != _STR:
                return f"'{value}'"  # a number, a date, null: quoted, as text (no quote mark can be in it)
            break
    return value


def _key(key: Any) -> str:
    if type(key) is not str or not _KEY.fullmatch(key):
        raise _Other
    return _text(key)


def _scalar(value: Any) -> str | None:
    """The text of a scalar; None for a list or mapping."""
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is dict:
        return "{}" if not value else None
    if kind is list:
        return "[]" if not value else None
    raise _Other


def _mapping(data: dict, indent: str, out: list[str], first: str | None = None) -> None:
    """A block mapping whose keys start at `indent`; `first`: what goes before the first key
    instead of `indent` (a list item's dash)."""
    if len(indent) > 2 * _INDENT:
        raise _Other
    lead = indent if first is None else first
    for key, value in data.items():
        text = _scalar(value)
        if text is not None:
            out.append(f"{lead}{_key(key)}: {text}\n")
        elif type(value) is dict:
            out.append(f"{lead}{_key(key)}:\n")
            _mapping(value, indent + "  ", out)
        else:
            out.append(f"{lead}{_key(key)}:\n")
            _sequence(value, indent, out)
        lead = indent


def _sequence(items: list, indent: str, out: list[str], first: str | None = None) -> None:
    """A block sequence whose dashes stand at `indent` (under a key: the key's own column)."""
    if len(indent) > 2 * _INDENT:
        raise _Other
    lead = indent if first is None else first
    for item in items:
        text = _scalar(item)
        if text is not None:
            out.append(f"{lead}- {text}\n")
        elif type(item) is dict:
            _mapping(item, indent + "  ", out, first=f"{lead}- ")
        else:
            _sequence(item, indent + "  ", out, first=f"{lead}- ")
        lead = indent


# -- reading it back ---------------------------------------------------------------------------
# A record is read far more often than written (a cold fill reads every one), and ruamel's C
# loader and constructor took about 160 µs a record. `read` takes the text this module writes in
# about 60 µs: it follows `_mapping` and `_sequence` line by line, and takes a value only where
# this module writes that value as exactly that text (`_text`, `_scalar`), which any YAML reader
# reads back as the value (tests/test_codec_emitters.py). Anything else, a line or a value written
# otherwise (by `codec.dumps`, by a person, a forged file), gives None: `codec.loads` reads it.

_READ_DEPTH = 16  # lists and mappings inside each other read here; deeper goes to codec's readers
_KEYED = re.compile(r"('?)([A-Za-z_][A-Za-z0-9_]{0,63})\1:(?: (.+))?\Z", re.S)  # a key, quoted or not, and its value
_WHOLE = re.compile(r"-?[0-9]{1,18}\Z")
_WORDS = {"true": True, "false": False, "null": None}


def read(raw: bytes) -> Any:
    """The mapping `dumps` wrote as `raw`, exactly as `codec.loads` reads it (the same values of
    the same types, keys in the same order); None when `raw` is not such text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.endswith("\n"):
        return None
    lines = []
    for line in text[:-1].split("\n"):
        body = line.lstrip(" ")
        if not body:
            return None
        lines.append((len(line) - len(body), body))
    at = [0]
    try:
        value = _read_mapping(lines, at, 0, 1)
    except (_Other, IndexError):
        return None
    return value if at[0] == len(lines) else None


def _read_scalar(token: str) -> Any:
    if _SEEN.get(token) == token:  # text this module wrote before as it is (most values are)
        return token
    if token[0] == "'":
        value: Any = token[1:-1]
    elif token in _WORDS:
        return _WORDS[token]
    elif token == "{}":
        return {}
    elif token == "[]":
        return []
    elif _WHOLE.match(token):
        value = int(token)
        if str(value) != token:
            raise _Other
        return value
    else:
        value = token
    if _text(value) != token:  # not how this module writes it (_Other: not something it writes)
        raise _Other
    return value


def _read_mapping(lines: list, at: list, indent: int, depth: int, first: str | None = None) -> dict:
    """The block mapping whose keys stand at `indent`, from line `at[0]` on; `first`: its first
    line's text after a list item's dash."""
    if depth > _READ_DEPTH:
        raise _Other
    out: dict = {}
    n, count = at[0], len(lines)
    while n < count:
        column, body = lines[n]
        if first is not None:
            body, first = first, None
        elif column != indent or body.startswith("- "):
            if column > indent:
                raise _Other
            break
        match = _KEYED.match(body)
        if match is None:
            raise _Other
        quote, key, token = match.groups()
        written = f"'{key}'" if quote else key
        if key in out or (_SEEN.get(key) != written and _text(key) != written):
            raise _Other
        n += 1
        if token is not None:
            out[key] = _read_scalar(token)
            continue
        column, body = lines[n]  # what the key holds: a list at its column, a mapping under it
        at[0] = n
        if column == indent and body.startswith("- "):
            out[key] = _read_sequence(lines, at, indent, depth + 1)
        elif column == indent + 2 and not body.startswith("- "):
            out[key] = _read_mapping(lines, at, indent + 2, depth + 1)
        else:
            raise _Other
        n = at[0]
    if not out:
        raise _Other
    at[0] = n
    return out


def _read_sequence(lines: list, at: list, indent: int, depth: int, first: str | None = None) -> list:
    """The block sequence whose dashes stand at `indent`, from line `at[0]` on; `first`: its
    first line's text after a list item's dash."""
    if depth > _READ_DEPTH:
        raise _Other
    out: list = []
    n, count = at[0], len(lines)
    while n < count:
        column, body = lines[n]
        if first is not None:
            body, first = first, None
        elif column != indent:
            if column > indent:
                raise _Other
            break
        if not body.startswith("- "):
            break
        item = body[2:]
        at[0] = n
        if item.startswith("- "):
            out.append(_read_sequence(lines, at, indent + 2, depth + 1, first=item))
        elif _KEYED.match(item):
            out.append(_read_mapping(lines, at, indent + 2, depth + 1, first=item))
        else:
            out.append(_read_scalar(item))
            at[0] = n + 1
        n = at[0]
    at[0] = n
    return out
