"""The YAML files shipped with cpcm (`cpcm/policies/*.yaml`, `cpcm/forms/*.yaml`), read without ruamel.

`parsed.json` in each of the two folders holds what each of its files reads to (`codec.loads`),
with the SHA-256 of the bytes it was read from. A file is taken from there only while its bytes have that digest: an
edited file, or an agency's own (`.cpcm/policy.yaml`, `.cpcm/forms/`), is read as YAML, as
before. Most commands read a policy profile, and importing ruamel costs a command about 25 ms of
its start. tests/test_shipped.py fails while a parsed.json is not what the files read to;
`python -m cpcm.store.shipped` writes them again.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).parent.parent
FOLDERS = ("policies", "forms")
TWINS = "parsed.json"


def read(path: Path) -> Any:
    """What `codec.loads` reads the file at `path` to: its twin in shipped.json when the file is
    one of cpcm's own, unchanged; codec.BadYaml when YAML it is read as cannot be read."""
    raw = path.read_bytes()
    folder, name = os.path.split(os.fspath(path))
    top, kind = os.path.split(folder)
    twin = _twins(kind).get(name) if kind in FOLDERS and top == os.fspath(PACKAGE) else None
    if twin is not None and twin["sha256"] == hashlib.sha256(raw).hexdigest():
        return copy.deepcopy(twin["data"])  # a document of its own, as codec.loads gives
    from cpcm.store import codec

    return codec.loads(raw)


@lru_cache(maxsize=len(FOLDERS))
def _twins(kind: str) -> dict[str, dict]:
    try:
        return json.loads((PACKAGE / kind / TWINS).read_bytes())
    except (OSError, ValueError):  # not installed with cpcm: every file is read as YAML
        return {}


def made(kind: str) -> dict[str, dict]:
    """What `kind`'s parsed.json should hold: each of its files' digest and what it reads to."""
    from cpcm.store import codec

    twins = {}
    for path in sorted((PACKAGE / kind).glob("*.yaml")):
        raw = path.read_bytes()
        data = codec.loads(raw)
        if not same(json.loads(json.dumps(data, allow_nan=False, default=_refuse)), data):
            raise ValueError(f"{kind}/{path.name} reads to values JSON does not keep (a date, a key that is not text)")
        twins[path.name] = {"sha256": hashlib.sha256(raw).hexdigest(), "data": data}
    return twins


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all through (1, 1.0 and True are not the same)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


def _refuse(value: Any) -> Any:
    raise TypeError(f"a {type(value).__name__}")


def write() -> None:
    for kind in FOLDERS:
        text = json.dumps(made(kind), ensure_ascii=False, separators=(",", ":")) + "\n"
        (PACKAGE / kind / TWINS).write_text(text, encoding="utf-8")
        print(f"wrote cpcm/{kind}/{TWINS}")


if __name__ == "__main__":
    write()
