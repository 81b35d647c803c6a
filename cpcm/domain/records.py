"""Records: one event in a case, as written to one file.

Every record carries the header below and a body. Keys the reader does not know are kept in
the body and written back untouched, so an older cpcm never drops what a newer one wrote.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any, Iterable, Mapping

HEADER = ("kind", "schema", "id", "case", "at", "recorded_at", "by")
_HEADER_KEYS = frozenset(HEADER)


def plain(value: Any) -> Any:
    """YAML timestamps and other scalars as JSON-friendly values; dates as ISO strings."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool or kind is float:
        return value  # the common cases first: `isinstance(value, Mapping)` is slow
    if kind is dict:
        return {k if type(k) is str else str(k): plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Record:
    kind: str
    schema: int
    id: str
    case: str
    at: str
    recorded_at: str
    by: str
    body: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Record":
        """Raises KeyError naming the first missing header key."""
        return cls.from_plain(plain(data))

    @classmethod
    def from_plain(cls, data: Any) -> "Record":
        """`from_dict` of what `plain` made of a record's data: the same record and the same
        errors, without making it plain again. The record's body holds `data`'s own lists and
        dictionaries (not copies): `data` is not to be changed afterwards."""
        if type(data) is dict and _HEADER_KEYS <= data.keys():  # the usual shape: every header key there
            body = data.copy()
            for key in HEADER:
                del body[key]
        else:
            missing = [key for key in HEADER if key not in data]
            if missing:
                raise KeyError(missing[0])
            body = {k: v for k, v in data.items() if k not in HEADER}
        return cls(
            kind=str(data["kind"]), schema=int(data["schema"]), id=str(data["id"]),
            case=str(data["case"]), at=str(data["at"]), recorded_at=str(data["recorded_at"]),
            by=str(data["by"]), body=body,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {key: getattr(self, key) for key in HEADER}
        data.update(self.body)
        return data

    def get(self, path: str, default: Any = None) -> Any:
        """A body value by dotted path: ``record.get("child.name")``."""
        return get_path(self.body, path, default)


def repaired_away(records: Iterable[Record], record_id: str, data: bytes) -> bool:
    """Whether a `repair` among `records` supersedes the record `record_id` whose file holds `data`, naming
    those very bytes (its `sha256`, as `cpcm repair` wrote it): a record file your key does not open is then
    left out as a damaged one is (one left on an earlier key of a reader because no key opens it, the other
    records of its folder encrypted again: cli `team sync`). Other bytes under that name are not vouched for."""
    digest = hashlib.sha256(data).hexdigest()
    return any(r.kind == "repair" and str(r.body.get("supersedes")) == record_id and r.body.get("sha256") == digest
               for r in records)


def record_damage(exc: Exception) -> str:
    """Why `Record.from_dict` (or `from_plain`) refused a record, for a message: a missing header
    key is named; the exception's text is not shown (`int()` of a value quotes the value)."""
    missing = exc.args[0] if isinstance(exc, KeyError) and exc.args else None
    if missing in HEADER:
        return f"missing or bad '{missing}'"
    return "its header is not a record's"


def utc(text: str) -> str:
    """An ISO date-time as UTC, so that times written with different offsets compare in the
    order they happened (a naive time counts as UTC)."""
    if type(text) is str:
        return _utc_text(text)  # the same text gives the same answer: the fold and the rules ask again and again
    return _utc(text)


@lru_cache(maxsize=4096)
def _utc_text(text: str) -> str:
    if _UTC_SECONDS.fullmatch(text):  # already as `_utc` writes it (every time the fold keeps): `_utc` gives it back as it is
        datetime.fromisoformat(text)  # a day or time that does not exist fails here as there
        return text
    return _utc(text)


# A UTC time to the second as `_utc` writes it: `isoformat` costs more than the rest of `_utc`
_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00")


def _utc(text: Any) -> str:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def get_path(data: Mapping[str, Any], path: str, default: Any = None) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"child": {"name": x}}`` → ``{"child.name": x}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


# a correction's own fields (`cpcm correct`: the record it supersedes and why), not answers of the record
CORRECTION_KEYS = ("supersedes", "correction_reason")
# the kind of the record that takes a record written in the wrong case out of it (`cpcm correct --misfiled`)
MISFILED = "misfiled"


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, str]]:
    """What a new version changed: each field path with 'added', 'removed' or 'changed' (a
    correction's own fields, `CORRECTION_KEYS`, are not answers: never counted)."""
    old, new = (flatten({k: v for k, v in body.items() if k not in CORRECTION_KEYS}) for body in (before, after))
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append({"field": key, "change": "added"})
        elif key not in new:
            changes.append({"field": key, "change": "removed"})
        elif old[key] != new[key]:
            changes.append({"field": key, "change": "changed"})
    return changes
