"""Records to YAML bytes and back (ruamel.yaml, safe; the C loader when installed, imported only
when needed: store/yamllib.py).

Two ways in: `loads` reads what cpcm itself wrote (records, configuration): cpcm's own text
without ruamel (`emit.read`), anything else with the C loader;
`load_input` reads YAML typed by a person (`--from-file`, batch files) with limits, see there.
One way out: `dumps`, which refuses any text that could not be read back.
"""
from __future__ import annotations

import copy
import functools
import io
import math
import re
import warnings
from datetime import date
from typing import Any, Callable

from cpcm.domain.records import HEADER, plain


# the words a YAML 1.1 reader takes for true or false: written in single quotes (yamllib, emit)
YAML11_WORDS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


@functools.cache
def _lib():
    """ruamel.yaml's loaders and dumper (store/yamllib.py), imported when first needed: what cpcm
    wrote itself is read without them (`emit.read`), and importing ruamel costs a command about
    25 ms of its start."""
    from cpcm.store import yamllib

    return yamllib


# The form `loads` gives a record in, as the record table of the local cache keeps it (store/cache.py
# `codec_fingerprint`): raised whenever any text is read to another value, so tables of the earlier
# form are dropped. tests/test_codec_golden.py holds texts and what they read to, and fails until it is.
PARSED_FORM = 1


class BadYaml(Exception):
    pass


def dumps(data: dict[str, Any]) -> bytes:
    # the last line of defence: a string holding a lone surrogate (a byte that was not UTF-8)
    # would be written escaped and could never be read back; nothing like it is ever committed
    from cpcm.domain.text import check_data

    check_data(data, "a record")
    ordered = {k: data[k] for k in HEADER if k in data}
    ordered.update((k, v) for k, v in data.items() if k not in ordered)
    stream = io.StringIO()
    _lib().DUMPER.dump(ordered, stream)
    return stream.getvalue().encode("utf-8")


class _TooDeep(Exception):
    """Lists and mappings nested deeper than MAX_DEPTH: the limited reader says where."""


def loads(data: bytes | str) -> Any:
    """A document cpcm wrote (a record, the configuration, the team), with the fast C loader.

    The C loader composes nested structures by recursion in C: a document nested some 20,000
    levels deep overflows the stack and kills the process, and it expands aliases without
    limit. So a document that could be nested that deep (as many structural characters as
    levels) or that holds both an anchor and an alias character goes through `load_input`'s
    limits instead; cpcm itself writes neither, so that costs nothing in practice."""
    return _load(data)[0]


def loads_plain(data: bytes | str) -> Any:
    """`plain(loads(data))` (domain/records.py: dates as ISO text, every key text), a document of
    its own. What cpcm's own reader reads (`emit.read`) is of those kinds already and is not
    copied again: a cold fill made that copy of every record."""
    found, own = _load(data)
    return found if own else plain(found)


def _load(data: bytes | str) -> tuple[Any, bool]:
    """(`loads(data)`, whether cpcm's own reader read it)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if (raw.count(b"[") + raw.count(b"{") + raw.count(b"-") + raw.count(b":") + raw.count(b"?") > _FAST_STRUCTURE
            or (b"&" in raw and b"*" in raw)):
        try:
            text = data if isinstance(data, str) else data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadYaml(f"not valid UTF-8 text (the byte at offset {exc.start} cannot be read)") from None
        return load_input(text, max_chars=None, strict_dates=True), False
    if _SUBSET and len(raw) <= _SUBSET_LARGEST:
        found = _emit.read(raw)  # the text cpcm's own writer makes, read without ruamel
        if found is not None:
            return found, True
    return _load_yaml(data), False


def _load_yaml(data: bytes | str) -> Any:
    """`loads` of a document `emit.read` does not read, with ruamel's loaders."""
    failed: Exception | None = None
    lib = _lib()
    try:
        if lib.CLoader is None:
            loaded = lib.LOADER.load(data)
            if not _plain_keys(loaded):
                raise BadYaml("a mapping key is a list or a mapping; keys are plain names")
            return loaded
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ruamel warns of YAML 1.1 float spellings, quoting the value
            if lib.QUICK:
                try:
                    return lib.quick(data)
                except lib.Unusual:
                    pass
            loader = lib.CLoader(data)
            try:
                loaded = loader.get_single_data()
            finally:
                loader.dispose()
        if not _plain_keys(loaded):
            raise BadYaml("a mapping key is a list or a mapping; keys are plain names")
        return loaded
    except lib.YAMLError as exc:
        from ruamel.yaml.constructor import ConstructorError, DuplicateKeyError

        if not isinstance(exc, ConstructorError) or isinstance(exc, DuplicateKeyError):
            raise BadYaml(_malformed(exc)) from None
        failed = exc  # a constructor's message quotes the value: the limited reader's does not
    except (ValueError, TypeError, OverflowError, IndexError, KeyError, AttributeError) as exc:
        failed = exc  # a constructor's own error (an impossible date, !!float on text, a 5,000-digit number, an empty !!int)
    except (_TooDeep, RecursionError) as exc:
        failed = exc  # nested deeper than anything cpcm writes (a forged file): the limited reader refuses it
    if failed is not None:
        # the limited reader names the line and the field, never the value
        try:
            text = data if isinstance(data, str) else data.decode("utf-8")
            load_input(text, max_chars=None, strict_dates=True)
        except (BadYaml, UnicodeDecodeError) as exc:
            raise BadYaml(str(exc)) from None
        raise BadYaml("a value cannot be read as what its YAML says it is") from None


_SUBSET = True  # loads reads what `emit.dumps` writes with `emit.read` (tests turn it off to compare)
_SUBSET_LARGEST = 64 * 1024  # bytes: far from the limits of `load_input` (MAX_NODES), which larger text may meet


def _plain_keys(value: Any) -> bool:
    """No key is a list or mapping (the C loader makes them tuples): messages name keys, and a
    key typed as `? [a value]` would be echoed. _TooDeep when lists and mappings nest deeper than
    MAX_DEPTH (what `load_input` refuses too): a forged file must not overflow a reader of it.
    Depth first in the document's order, without recursion."""
    todo = [(value, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise _TooDeep
            if any(isinstance(k, (tuple, frozenset)) for k in value):
                return False
            todo.extend((v, depth + 1) for v in reversed(value.values()))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise _TooDeep
            todo.extend((v, depth + 1) for v in reversed(value))
    return True


def load_text(text: str) -> Any:
    return loads(text)


def dump_text(data: Any) -> str:
    from cpcm.domain.text import check_data

    check_data(data, "a file")
    stream = io.StringIO()
    _lib().DUMPER.dump(data, stream)
    return stream.getvalue()


# --- YAML typed by a person ------------------------------------------------------------------

MAX_DEPTH = 32            # lists and mappings inside each other; a form needs fewer than 8
MAX_NODES = 200_000       # values in the document, each use of an alias counted in full
MAX_CHARS = 1024 * 1024   # the caller has already refused more than 1 MiB of bytes
_FAST_STRUCTURE = 5_000   # loads: below this many structural characters, no nesting can reach the C loader's limit

_Y = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_Y + name: name for name in ("str", "int", "float", "bool", "null", "timestamp")}
_WHAT = {"int": "a whole number", "float": "a number", "bool": "true or false", "null": "empty (null)",
         "timestamp": "a real date or date-time (YYYY-MM-DD)", "str": "text"}
_helper = None


def _scalar_helper():
    """A loader used only for its resolver and constructors, so scalars read exactly as `loads`
    reads them (the same YAML version, the same rules for numbers, dates and booleans)."""
    global _helper
    if _helper is None:
        if _lib().CLoader is not None:
            _helper = _lib().CLoader("")
        else:  # pragma: no cover - without the C extension
            from ruamel.yaml.loader import SafeLoader

            _helper = SafeLoader("")
    return _helper


def _events(text: str):
    if _lib().CLoader is not None:
        from ruamel.yaml.clib._ruamel_yaml import CParser

        parser = CParser(text)
        try:
            while True:
                event = parser.get_event()
                yield event
                if type(event).__name__ == "StreamEndEvent":
                    return
        finally:
            parser.dispose()
    else:  # pragma: no cover - without the C extension
        yield from _lib().yaml(pure=True).parse(text)


def _tag_name(tag: Any) -> str:
    text = str(getattr(tag, "value", tag))
    if text.startswith(_Y):
        text = "!!" + text[len(_Y):]
    return text if len(text) <= 40 and text.isprintable() else "a custom tag"


class _Frame:
    __slots__ = ("value", "path", "anchor", "start", "key", "line")

    def __init__(self, value, path, anchor, start, line):
        self.value, self.path, self.anchor, self.start, self.line = value, path, anchor, start, line
        self.key = None


# characters YAML does not take as they are in a stream (it takes them escaped), reads as line breaks
# (U+0085, U+2028, U+2029) or as a byte order mark, and the tab, which it does not take everywhere JSON
# does; a lone surrogate (from a JSON escape) is not text
# (a pattern, compiled by `re` when text typed by a person is first read: 10 ms, not at every start)
_NOT_YAML_TEXT = "[^\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"


_NOT_JSON = object()  # what `_plain_json` gives for text it leaves to the YAML reader


class _NotPlain(Exception):
    """JSON that the YAML reader might read otherwise, or refuse: left to it."""


def _pairs(pairs: list) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise _NotPlain  # a key given twice: the YAML reader names it
    return data


def _refuse(_value: str):
    raise _NotPlain  # NaN, Infinity: the YAML reader refuses them


def _spelled_back(value: Any, written: str) -> bool:
    """Whether a number reads back as it was written (`str`): 12, -3, 0.5 do; 0712345678 (a
    phone), 00123, 1e3, 1.50, 0x1F, 1_000 do not, and are kept as the text written. A text field
    then holds what was typed; a number field reads the text as a number."""
    return str(value) == written


def _as_written(make: Callable[[str], Any]) -> Callable[[str], Any]:
    """A json number hook: the number, or _NotPlain where the YAML reader keeps the text (1e3, 1.50, -0)."""
    def number(text: str) -> Any:
        value = make(text)
        if not _spelled_back(value, text):
            raise _NotPlain
        return value
    return number


def _plain_json(text: str) -> Any:
    """`text` read with Python's json module, when the YAML reader (`_read_yaml`, 20 times slower)
    would read it to exactly the same value: JSON without tabs, duplicate keys, non-finite
    numbers, long keys, lone surrogates, and within the reader's limits of nesting and size. A
    character past U+FFFF written as JSON's pair of escapes (`\\ud83d\\ude0a`, as Python's
    `json.dumps` and cpcm's own `--json` on a stream without UTF-8 write it) is read as that
    character, which the YAML reader would take written as it is or as `\\U0001f60a`, not as
    the pair. _NOT_JSON for anything else (or when it does not read as JSON): the YAML reader
    reads it, and says what is wrong with it."""
    import json

    if len(text) > MAX_CHARS or re.search(_NOT_YAML_TEXT, text):
        return _NOT_JSON
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_refuse,
                          parse_float=_as_written(float), parse_int=_as_written(int))
    except (ValueError, RecursionError, _NotPlain):
        return _NOT_JSON
    count = 0
    todo = [(data, 0)]
    while todo:
        value, depth = todo.pop()
        count += 1
        if count > MAX_NODES:
            return _NOT_JSON
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                return _NOT_JSON
            if isinstance(value, dict):
                for key in value:
                    if len(key) > 1000 or _has_surrogate(key):
                        return _NOT_JSON
                    count += 1
                items = value.values()
            else:
                items = value
            todo.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            if _has_surrogate(value):
                return _NOT_JSON
        elif isinstance(value, float) and not math.isfinite(value):
            return _NOT_JSON
    return data


def load_input(text: str, max_chars: int | None = MAX_CHARS, strict_dates: bool = False, typed_numbers: bool = True) -> Any:
    """YAML typed by a person, read with limits; BadYaml (naming the line and field, never a
    value) for anything else.

    Accepted: one document of plain mappings, lists and scalars: text, whole numbers, finite
    numbers, true/false, null, dates and date-times. A value written as a date that is no date
    (2026-02-30, unquoted) is read as the text written, so that a form's date field names it
    together with every other problem of the document; with `strict_dates` (a document cpcm
    wrote) it is refused. With `typed_numbers` (a record's data; not a policy or a form
    definition, whose numbers are settings) and without `strict_dates`, a number that would not
    be written back as typed (0712345678, 00123, 1e3) is also the text typed: a phone number
    keeps its 0. Refused: tags such as !!binary, !!set or
    !!python/..., an explicitly tagged impossible date, .nan and .inf, a mapping key that is not a
    name, a duplicate key, an alias to a structure that holds itself, nesting deeper than
    MAX_DEPTH, more than MAX_NODES values once aliases are expanded (the "billion laughs"), more
    than MAX_CHARS characters. Parsed event by event (no recursion), so nothing can exhaust
    the stack. Aliases are expanded into copies: the data holds no shared objects.

    JSON (a list or a mapping) that the YAML reader would read to exactly the same value is read
    by Python's json module instead, twenty times faster (`_plain_json`); there, a character
    past U+FFFF may be written as JSON's pair of escapes, as JSON writers write it."""
    if max_chars is not None and len(text) > max_chars:
        raise BadYaml(f"larger than {max_chars // (1024 * 1024)} MiB")
    if text[:1] in ("[", "{"):
        value = _plain_json(text)
        if value is not _NOT_JSON:
            return value
    return _read_yaml(text, strict_dates, typed_numbers)


def _read_yaml(text: str, strict_dates: bool = False, typed_numbers: bool = True) -> Any:
    """`load_input`'s reader of YAML, event by event."""
    from ruamel.yaml import events as ev
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import ScalarNode

    helper = _scalar_helper()
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    open_anchors: set[str] = set()
    count = 0
    documents = 0
    result: Any = None

    def fail(event, message: str) -> BadYaml:
        mark = getattr(event, "start_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return BadYaml(f"{where}{message}")

    def child_path() -> str:
        if not stack:
            return ""
        top = stack[-1]
        if isinstance(top.value, list):
            return f"{top.path}[{len(top.value) + 1}]"
        return f"{top.path}.{top.key}" if top.path else str(top.key)

    def field(path: str) -> str:
        return _field(path)

    def add(event, value: Any) -> None:
        nonlocal result
        if not stack:
            result = value
            return
        top = stack[-1]
        if isinstance(top.value, list):
            top.value.append(value)
        else:
            top.value[top.key] = value
            top.key = None

    def counted(event, n: int) -> None:
        nonlocal count
        count += n
        if count > MAX_NODES:
            raise fail(event, f"holds more than {MAX_NODES:,} values (each use of an alias counts in full)")

    def scalar(event, path: str) -> Any:
        tag = event.tag
        if tag is None:
            tag = helper.resolve(ScalarNode, event.value, event.implicit)
        elif str(getattr(tag, "value", tag)) == "!":
            tag = _Y + "str"
        name = _SCALAR_TAGS.get(str(getattr(tag, "value", tag)))
        if name is None:
            raise fail(event, f"{field(path)}: the tag {_tag_name(tag)} is not accepted; give plain text, numbers, "
                              "dates, lists and mappings")
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ruamel warns (to stderr) of YAML 1.1 float spellings
                value = getattr(helper, f"construct_yaml_{name}")(node)
        except Exception:  # noqa: BLE001 - whatever the constructor makes of a bad value, it is a bad value
            value = _BAD
        if name == "float" and value is not _BAD and not math.isfinite(value):
            raise fail(event, f"{field(path)} is not a finite number (.nan and .inf are not accepted)")
        if name == "timestamp" and event.tag is None and not strict_dates and not isinstance(value, date):
            value = event.value  # looks like a date and is none (2026-02-31): text, which a form's date field names with the rest
        elif (name in ("int", "float") and event.tag is None and typed_numbers and not strict_dates
              and not _spelled_back(value, event.value)):
            value = event.value  # a number its text would not give back (0712345678, 1e3, 00123): the text typed
        elif value is _BAD or (name == "timestamp" and not isinstance(value, date)):
            quote = "; quote it if it is meant as text" if event.tag is None else ""
            raise fail(event, f"{field(path)} is not {_WHAT[name]}{quote}")
        if isinstance(value, str) and _has_surrogate(value):
            raise fail(event, f"{field(path)} is not valid UTF-8 text")
        return value

    try:
        for event in _events(text):
            kind = type(event)
            if kind in (ev.StreamStartEvent, ev.StreamEndEvent, ev.DocumentEndEvent):
                continue
            if kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise fail(event, "holds more than one YAML document (---); give one")
                continue
            in_key = bool(stack) and isinstance(stack[-1].value, dict) and stack[-1].key is None
            if kind is ev.AliasEvent:
                name = event.anchor
                if name in open_anchors:
                    raise fail(event, f"{field(child_path()) if not in_key else 'a key'}: an alias refers to a structure "
                                      "that contains it (a recursive alias)")
                if name not in anchors:
                    raise fail(event, "an alias (*) refers to no anchor (&) before it")
                value, size = anchors[name]
                counted(event, size)
                if in_key:
                    if not isinstance(value, str):
                        raise fail(event, f"a key in {field(stack[-1].path)} is not a name")
                    _set_key(stack[-1], value, event, fail, field)
                    continue
                add(event, copy.deepcopy(value))
                continue
            if kind is ev.ScalarEvent:
                counted(event, 1)
                if in_key:
                    if event.tag is not None and str(getattr(event.tag, "value", event.tag)) not in ("!", _Y + "str"):
                        raise fail(event, f"a key in {field(stack[-1].path)} has the tag {_tag_name(event.tag)}; "
                                          "keys are plain names")
                    if _has_surrogate(event.value):
                        raise fail(event, f"a key in {field(stack[-1].path)} is not valid UTF-8 text")
                    _set_key(stack[-1], event.value, event, fail, field)
                    if event.anchor:
                        anchors[event.anchor] = (event.value, 1)
                    continue
                value = scalar(event, child_path())
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                add(event, value)
                continue
            if kind in (ev.MappingStartEvent, ev.SequenceStartEvent):
                if in_key:
                    raise fail(event, f"a key in {field(stack[-1].path)} is a list or mapping; keys are plain names")
                counted(event, 1)
                mapping = kind is ev.MappingStartEvent
                path = child_path()
                tag = event.tag
                if tag is not None and str(getattr(tag, "value", tag)) not in ("!", _Y + ("map" if mapping else "seq")):
                    raise fail(event, f"{field(path)}: the tag {_tag_name(tag)} is not accepted; give plain text, numbers, "
                                      "dates, lists and mappings")
                if len(stack) >= MAX_DEPTH:
                    raise fail(event, f"lists and mappings nest deeper than {MAX_DEPTH} levels")
                if event.anchor:
                    open_anchors.add(event.anchor)
                stack.append(_Frame({} if mapping else [], path, event.anchor, count, event.start_mark))
                continue
            if kind in (ev.MappingEndEvent, ev.SequenceEndEvent):
                frame = stack.pop()
                if frame.anchor:
                    open_anchors.discard(frame.anchor)
                    anchors[frame.anchor] = (frame.value, count - frame.start + 1)
                add(event, frame.value)
                continue
    except YAMLError as exc:
        raise BadYaml(_malformed(exc)) from None
    except UnicodeError:
        raise BadYaml("is not valid UTF-8 text") from None
    return result


_BAD = object()


def _malformed(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None)
    if type(exc).__name__ == "DuplicateKeyError":  # its text quotes both values: name the key only
        from cpcm.domain.text import shown

        found = re.match(r'found duplicate key "(.*?)" with value', str(problem or ""), re.S)
        problem = f"the key {shown(found.group(1)) if found else '…'} appears twice"
    elif problem is None and isinstance(getattr(exc, "character", None), (str, int)):  # the reader: a control character
        character = exc.character
        code = character if isinstance(character, int) else ord(character[:1] or "\0")
        problem = f"a control character (#x{code:04x}) that YAML does not allow, at character {exc.position + 1}"
    return f"malformed YAML{where}: {problem or 'cannot parse'}"


def _field(path: str) -> str:
    """A field path for a message: names shown, anything else masked, deep paths cut short."""
    from cpcm.domain.text import shown

    if not path:
        return "the document"
    parts = []
    for part in path.split("."):
        name, bracket, rest = part.partition("[")
        parts.append((shown(name) if name else "") + bracket + rest)
    return ".".join(parts) if len(parts) <= 8 else ".".join(parts[:8]) + "…"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _set_key(frame: _Frame, key: str, event, fail, field) -> None:
    if key in frame.value:
        from cpcm.domain.text import shown

        raise fail(event, f"the key {shown(key)} appears twice in {field(frame.path)}")
    frame.key = key


from cpcm.store import emit as _emit  # noqa: E402 - emit writes with `dumps` above, and reads here
