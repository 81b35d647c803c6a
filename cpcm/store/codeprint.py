"""Digests of cpcm's own code, for what the local cache keeps: a table is tagged with a digest
of the code its values come from, and a table of other code is not read.

A digest covers the modules named and every cpcm module they import, directly or through each
other, at the top of a file or inside a function: they are found by reading the import
statements of each file, so a dependency cannot be left out of a list kept by hand (the fold's
digest once named seven modules of the seventeen it runs). `own` names files of the service
layer, which import half of cpcm: of those, the file's own text is covered, and the rules it
imports (the pure packages, `PURE`) with all they import; the service and store modules it
calls are not. cpcm's modules import each other by their full names (a relative import would
not be seen: tests/test_codeprint.py holds the package to that).

The five digests a `list` needs cost a few milliseconds; each is made once a process.
"""
from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the cpcm package's folder
# `from cpcm.a.b import c, d as e` (names in parentheses over several lines too) and `import cpcm.a.b as c, x`,
# at the start of a line, indented or not; a docstring line of that shape is read as one (it can only add a file).
# Found after a line break (the text is read with one put before it): about three times as quick as `^` in multi-line mode
_IMPORT = re.compile(rb"\n[ \t]*(?:from[ \t]+(cpcm(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)|import[ \t]+([^\n]*cpcm[^\n]*))")
_COMMENT = re.compile(rb"#[^\n]*")
PURE = ("cpcm.domain.", "cpcm.workflow.", "cpcm.reports.", "cpcm.errors")  # the rules: what a cached value is made by


def module_file(name: str) -> str | None:
    """The source file of cpcm module `name` ("cpcm.workflow.fold"), None when it is not one."""
    return _modules().get(name)


@lru_cache(maxsize=None)
def _modules() -> dict[str, str]:
    """Every module of the installed package: name -> its source file."""
    found = {}
    for folder, folders, files in os.walk(PACKAGE):
        folders[:] = [f for f in folders if f != "__pycache__"]
        package = ".".join(("cpcm", *Path(folder).relative_to(PACKAGE).parts))
        for file in files:
            if file.endswith(".py"):
                stem = file[:-3]
                found[package if stem == "__init__" else f"{package}.{stem}"] = os.path.join(folder, file)
    return found


@lru_cache(maxsize=None)
def _read(name: str) -> tuple[bytes, frozenset[str]]:
    path = module_file(name)
    if path is None:
        raise ValueError(f"{name} is not a module of cpcm")
    with open(path, "rb") as file:
        source = file.read()
    return source, frozenset(imported(source))


def imported(source: bytes) -> set[str]:
    """The cpcm modules a module's source imports: `from cpcm.x import y` names cpcm.x, and
    cpcm.x.y too when that is a module; `import cpcm.x.y` names cpcm.x.y. The packages on the way
    (cpcm, cpcm.x) run too when a module is imported, so they are named as well."""
    found: set[str] = set()
    for match in _IMPORT.finditer(b"\n" + source):
        origin, names, plain = match.groups()
        if origin is not None:
            found.add(origin.decode())
            for name in _names(names.strip(b"()")):
                if name != b"*":
                    found.add(f"{origin.decode()}.{name.decode()}")
        else:
            found.update(name.decode() for name in _names(plain) if name.startswith(b"cpcm"))
    with_packages = set(found)
    for name in found:
        parts = name.split(".")
        with_packages.update(".".join(parts[:n]) for n in range(1, len(parts)))
    return {name for name in with_packages if module_file(name) is not None}


def _names(listed: bytes) -> list[bytes]:
    """The names of an import's list (`a, b as c  # comment`): a, b."""
    return [words[0] for words in (part.split() for part in _COMMENT.sub(b"", listed).split(b",")) if words]


def closure(*modules: str) -> dict[str, bytes]:
    """The modules named and every cpcm module they import, directly or not: name -> source."""
    sources: dict[str, bytes] = {}
    waiting = list(modules)
    while waiting:
        name = waiting.pop()
        if name in sources:
            continue
        sources[name], imports = _read(name)
        waiting.extend(imports - sources.keys())
    return sources


@lru_cache(maxsize=None)
def digest(*modules: str, own: tuple[str, ...] = ()) -> str:
    """A digest (hex) of the source of `modules` and of everything they import (`closure`), and of
    the files `own` (paths) with the pure modules each imports (`PURE`) and everything those import."""
    hashed = hashlib.sha256()
    rules = list(modules)
    for path in own:
        source = Path(path).read_bytes()
        rules += sorted(name for name in imported(source) if name.startswith(PURE))
        hashed.update(b"own\0" + Path(path).name.encode() + b"\0" + hashlib.sha256(source).digest())
    for name, source in sorted(closure(*rules).items()):
        hashed.update(name.encode() + b"\0" + hashlib.sha256(source).digest())
    return hashed.hexdigest()
