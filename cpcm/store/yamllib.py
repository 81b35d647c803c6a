"""ruamel.yaml for `codec`: its loaders and dumper, and the quick construction of what its C loader
composes. Imported only when `codec` needs one of them (text cpcm did not write itself, YAML
typed by a person, a record `emit` leaves to `codec.dumps`): importing ruamel costs a command
about 25 ms of its start, and most commands read only what cpcm wrote (`emit.read`).
"""
from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import SafeRepresenter

from cpcm.store.codec import MAX_DEPTH, YAML11_WORDS

__all__ = ["CLoader", "DUMPER", "LOADER", "QUICK", "QuickLoader", "Unusual", "YAMLError", "quick", "represent_str",
           "yaml"]


def represent_str(representer: SafeRepresenter, value: str):
    if not value.replace("\n", "").replace("\t", "").isprintable() or ("\n" in value and "\t" in value):
        # control characters, CR, NEL, line/paragraph separators...: a literal block or single
        # quotes would write them raw (unreadable, or read back changed); double quotes escape them.
        # Tabs with line breaks too: the C emitter writes them so, and the pure one's literal block
        # does not read back when its first line starts with a tab
        style = '"'
    elif "\n" in value:
        style = "|"
    elif value.lower() in YAML11_WORDS:
        style = "'"  # a YAML 1.1 reader would take these for true/false: quoted, they read the same everywhere
    else:
        style = None
    return representer.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def yaml(pure: bool = False) -> YAML:
    yaml = YAML(typ="safe", pure=pure)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # keep the header first, as written
    yaml.allow_unicode = True
    yaml.width = 4096
    return yaml


LOADER = yaml()
# the C emitter when installed (a record in a quarter of the time: a batch of 1,000 reviews spent
# seconds in the pure one); it reads back the same, see tests/test_codec_emitters.py
DUMPER = yaml()
DUMPER.representer.add_representer(str, represent_str)


try:  # the C loader directly: a third of the time of the YAML() wrapper
    from ruamel.yaml import CSafeLoader as CLoader
except ImportError:  # pragma: no cover - without the C extension
    CLoader = None


# -- the quick construction (`quick`) --------------------------------------------------------------------
# ruamel's constructor in Python was more than half of a record's decrypt+parse time (a cold fill
# reads every record): for each value a tag object, a tag lookup, a generator per mapping. Records
# are lists, mappings and strings with a few numbers, dates and booleans, so `loads` builds those
# itself from the nodes the C loader composes and leaves each other value to ruamel's constructor
# (the same call ruamel makes). Anything else (a merge key `<<`, a key that is a list or a mapping,
# a key given twice, a tag on a list or a mapping, an error) is built again by ruamel's own
# constructor from the start, so what `loads` gives or refuses is exactly what ruamel gives or refuses.

class Unusual(Exception):
    """`quick` leaves this document to ruamel's constructor."""


if CLoader is not None:
    from ruamel.yaml.nodes import MappingNode, ScalarNode
    from ruamel.yaml.resolver import Resolver
    from ruamel.yaml.tag import Tag

    _STR_TAG, _MAP_TAG, _SEQ_TAG = Resolver.DEFAULT_SCALAR_TAG, Resolver.DEFAULT_MAPPING_TAG, Resolver.DEFAULT_SEQUENCE_TAG
    _TAGS: dict[str, Tag] = {}
    # the scalars whose ruamel constructor makes the value at once (a set, an omap... are made later, from a mapping)
    _SCALARS = {"tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "timestamp", "binary")}

    def _tag(name: str) -> Tag:
        found = _TAGS.get(name)
        if found is None:
            found = _TAGS[name] = Tag(suffix=name)
        return found

    class QuickLoader(CLoader):  # type: ignore[misc,valid-type]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            """What ruamel's `BaseResolver.resolve` gives (the same table of implicit resolvers,
            read at each call), with one tag object per tag rather than one per value. Used only
            where ruamel's own would give the same: no path resolvers and no resolver for every
            first character (`QUICK`)."""
            if kind is ScalarNode:
                if implicit[0]:
                    for name, regexp in self.yaml_implicit_resolvers.get(value[0] if value else "", ()):
                        if regexp.match(value):
                            return _tag(name)
                return _STR_TAG
            return _MAP_TAG if kind is MappingNode else _SEQ_TAG

    def _built(loader: Any, node: Any, depth: int = 1) -> Any:
        tag = node.ctag
        if tag is _STR_TAG:
            return node.value
        if depth > MAX_DEPTH:
            raise Unusual  # ruamel's way finds it too deep, or finds what else is wrong first
        if tag is _MAP_TAG:
            mapping: dict = {}
            for key_node, value_node in node.value:
                if key_node.ctag is _STR_TAG:
                    key = key_node.value
                elif type(key_node) is ScalarNode and str(key_node.ctag) in _SCALARS:  # not a merge key `<<`
                    key = loader.construct_object(key_node)
                else:
                    raise Unusual
                if key in mapping:
                    raise Unusual
                mapping[key] = _built(loader, value_node, depth + 1)
            return mapping
        if tag is _SEQ_TAG:
            return [_built(loader, item, depth + 1) for item in node.value]
        if type(node) is ScalarNode and str(tag) in _SCALARS:
            return loader.construct_object(node)
        raise Unusual

    def quick(data: bytes | str) -> Any:
        """The document built from the C loader's nodes; Unusual when ruamel's constructor is
        to build it instead."""
        loader = QuickLoader(data)
        try:
            try:
                node = loader.get_single_node()
                return None if node is None else _built(loader, node)
            except Exception:  # noqa: BLE001 - ruamel's constructor builds it again, and raises its own error
                raise Unusual from None
        finally:
            loader.dispose()

    QUICK = not Resolver.yaml_path_resolvers and None not in Resolver.yaml_implicit_resolvers
else:  # pragma: no cover - without the C extension
    QUICK = False
