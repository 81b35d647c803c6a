"""Records to YAML bytes and back (ruamel.yaml, safe; the C loader when installed)."""
from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import SafeRepresenter

from cpcm.domain.records import HEADER


_YAML11_WORDS = {"yes", "no", "on", "off", "y", "n", "true", "false"}


def _str(representer: SafeRepresenter, value: str):
    if not value.replace("\n", "").replace("\t", "").isprintable():
        # control characters, CR, NEL, line/paragraph separators...: a literal block or single
        # quotes would write them raw (unreadable, or read back changed); double quotes escape them
        style = '"'
    elif "\n" in value:
        style = "|"
    elif value.lower() in _YAML11_WORDS:
        style = "'"  # a YAML 1.1 reader would take these for true/false: quoted, they read the same everywhere
    else:
        style = None
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _yaml(pure: bool = False) -> YAML:
    yaml = YAML(typ="safe", pure=pure)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # keep the header first, as written
    yaml.allow_unicode = True
    yaml.width = 4096
    return yaml


_LOADER = _yaml()
_DUMPER = _yaml(pure=True)
_DUMPER.representer.add_representer(str, _str)


class BadYaml(Exception):
    pass


def dumps(data: dict[str, Any]) -> bytes:
    ordered = {k: data[k] for k in HEADER if k in data}
    ordered.update((k, v) for k, v in data.items() if k not in ordered)
    stream = io.StringIO()
    _DUMPER.dump(ordered, stream)
    return stream.getvalue().encode("utf-8")


try:  # the C loader directly: a third of the time of the YAML() wrapper
    from ruamel.yaml import CSafeLoader as _CLoader
except ImportError:  # pragma: no cover - without the C extension
    _CLoader = None


def loads(data: bytes | str) -> Any:
    try:
        if _CLoader is None:
            return _LOADER.load(data)
        loader = _CLoader(data)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BadYaml(f"malformed YAML{where}: {getattr(exc, 'problem', None) or 'cannot parse'}") from None


def load_text(text: str) -> Any:
    return loads(text)


def dump_text(data: Any) -> str:
    stream = io.StringIO()
    _DUMPER.dump(data, stream)
    return stream.getvalue()
