"""Loading rule profiles (shipped data in `cpcm/policies/`) and an agency's overrides (.cpcm/policy.yaml)."""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

from cpcm.errors import InvalidInput, NotFound
from cpcm.domain.policy import Policy
from cpcm.domain.profiles import PROFILES, build
from cpcm.store import memo

HERE = Path(__file__).parent.parent / "policies"  # the shipped profiles (package data)
OVERRIDE = ".cpcm/policy.yaml"


def _read(path: Path, name: str | None = None, root: Path | None = None) -> Any:
    """A policy file's parsed text; InvalidInput naming it `name` (default: the file's own name,
    for a shipped profile) when it is not YAML (`root`: the repository it is the override of)."""
    from cpcm.store import codec, shipped

    name = name or path.name
    try:
        return shipped.read(path)
    except codec.BadYaml as exc:
        raise InvalidInput([_err(name, str(exc))], f"policy {name}", hint=_hint(name, root)) from None


def _hint(name: str, root: Path | None = None) -> str:
    """What to do when the policy file `name` is wrong; for the override of the repository `root`,
    by what the last commit holds of it: git's copy is put back only where there is one the file
    on disk differs from (a file made by hand and never committed is removed or corrected instead)."""
    if name != OVERRIDE:
        return f"Correct {name}; 'cpcm policy show' lists every rule and its value."
    from cpcm.store.git import mend_hint

    return mend_hint(root, OVERRIDE, f"Correct {OVERRIDE} and commit it with 'cpcm policy set', or put a checked file in its place: "
                     "cpcm policy set FILE (a supervisor or manager). 'cpcm policy show' lists every rule and its value.",
                     "rule", "the rules the last commit holds (the profile's)")


def _err(field: str, reason: str):
    from cpcm.errors import FieldError

    return FieldError(field, reason)


@lru_cache(maxsize=8)
def _shipped(path: str, _mtime: int) -> Any:
    """A shipped profile's parsed text, once per process and file version (a process that opens
    several repositories, or a test run, does not parse the same YAML again)."""
    return _read(Path(path))


def chain(profile: str) -> list[tuple[str, dict]]:
    if profile not in PROFILES:
        raise NotFound("no policy profile by that name", f"Profiles: {', '.join(PROFILES)}.")
    path = HERE / f"{profile}.yaml"
    data = copy.deepcopy(_shipped(str(path), path.stat().st_mtime_ns)) or {}
    parent = data.get("extends")
    return (chain(parent) if parent else []) + [(profile, data)]


def load(profile: str, root: Path | None = None) -> Policy:
    """The policy in force: the profile with the agency's overrides (.cpcm/policy.yaml of `root`).
    InvalidInput (exit 4) naming every bad key when the override is wrong."""
    override = None
    path = root / OVERRIDE if root is not None else None
    key = (profile, memo.file_key(path) if path is not None else None)
    known = memo.POLICIES.get(key)
    if known is not None:
        return known
    if path is not None and path.is_file():
        override = _read(path, OVERRIDE, root) or {}
    policy = _built(profile, override, OVERRIDE, root)
    if key == (profile, memo.file_key(path) if path is not None else None):
        memo.POLICIES.put(key, policy)  # the same Policy again while its files stay as they are
    return policy


def in_force(root: Path | None, config: Any = None) -> Policy:
    """The rules in force in the repository `root`, the one answer every command reads (`ctx.policy`,
    a form's policy lists, a printed form's criteria): the profile its configuration names with the
    agency's overrides (`load`), and when each concern it makes reportable was listed after the
    start (the configuration's `reportable_since`, of the concerns the policy lists: what
    workflow/mandatory_report.py `owed` counts such a concern from). `config`: the repository's
    configuration as the caller read it (else read from `root`). The default profile as shipped
    without a repository."""
    from dataclasses import replace

    from cpcm.store import config as config_store

    if config is None:
        if root is None or not (root / config_store.CONFIG).is_file():
            return load(PROFILES[0])
        config = config_store.load_config(root)
    policy = load(config.policy, root)
    listed = policy.get("mandatory_report", "concerns", None) or ()
    times = {code: at for code, at in config.reportable_since.items() if code in listed}
    return replace(policy, reportable_since=times) if times else policy


def with_override(profile: str, text: str, name: str = "FILE", root: Path | None = None) -> Policy:
    """The policy `profile` with the override `text` (a policy file typed by a person, through the
    input gate): InvalidInput (exit 4) naming every bad key, as `load` does (`root`: the repository
    whose override it is, when `name` is that file's)."""
    from cpcm.store import codec

    try:
        override = codec.load_input(text, typed_numbers=False) or {}  # cap: 030 is the number 30
    except codec.BadYaml as exc:
        raise InvalidInput([_err(name, str(exc))], f"policy {name}", hint=_hint(name, root)) from None
    return _built(profile, override, name, root)


def _built(profile: str, override: Any, name: str, root: Path | None = None) -> Policy:
    policy, errors = build(chain(profile), override, name)
    if errors:
        raise InvalidInput(errors, f"the policy ({profile} with {name})" if override else f"the policy profile {profile}",
                           hint=_hint(name, root))
    return policy
