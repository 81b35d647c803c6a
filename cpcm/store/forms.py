"""Loading form definitions: those shipped with cpcm (data: one YAML file per record kind in
`cpcm/forms/`) and an agency's own.

An agency can replace or extend one by putting its own `<kind>.yaml` in `.cpcm/forms/` of its
casefile repository; the loader prefers that file.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cpcm.domain.forms import Form, parse_form
from cpcm.errors import Corrupt, NotFound

HERE = Path(__file__).parent.parent / "forms"  # the shipped definitions (package data)


def available(root: Path | None = None) -> list[str]:
    names = {p.stem for p in HERE.glob("*.yaml")}
    if root is not None and (root / ".cpcm" / "forms").is_dir():
        names |= {p.stem for p in (root / ".cpcm" / "forms").glob("*.yaml")}
    return sorted(names)


def load(kind: str, root: Path | None = None) -> Form:
    candidates = []
    if root is not None:
        candidates.append(root / ".cpcm" / "forms" / f"{kind}.yaml")
    candidates.append(HERE / f"{kind}.yaml")
    for path in candidates:
        if path.is_file():
            return _parse(str(path), path.stat().st_mtime_ns)
    raise NotFound(f"no form '{kind}'", f"Forms: {', '.join(available(root))}.")


def scoring(form_name: str, root: Path | None = None) -> dict | None:
    """The `scoring` section of a form definition (the Kenya readiness benchmarks), if any."""
    for path in ([root / ".cpcm" / "forms" / f"{form_name}.yaml"] if root is not None else []) + [HERE / f"{form_name}.yaml"]:
        if path.is_file():
            return _raw(str(path), path.stat().st_mtime_ns).get("scoring")
    return None


@lru_cache(maxsize=16)
def _raw(path: str, _mtime: int) -> dict:
    from cpcm.store import codec

    return codec.loads(Path(path).read_bytes()) or {}


@lru_cache(maxsize=64)
def _parse(path: str, _mtime: int) -> Form:
    from cpcm.store import codec

    try:
        return parse_form(codec.loads(Path(path).read_bytes()) or {}, Path(path).name)
    except (codec.BadYaml, ValueError) as exc:
        raise Corrupt(f"form definition {Path(path).name}: {exc}", path) from None
