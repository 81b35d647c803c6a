"""Finding and reading a casefile repository's configuration and team (plain YAML, no
personal data about children)."""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from cpcm.domain.team import ROLES, Team, Worker
from cpcm.errors import Corrupt, NotFound, restore_hint
from cpcm.store import codec, memo
from cpcm.store.layout import CONFIG, TEAM, find_root


# the settings of .cpcm/config.yaml that `cpcm config set KEY VALUE` changes (service/settings.py);
# the others (the agency's code, the format, the recovery keys) are set once, by `cpcm init`
CONFIG_KEYS = ("timezone", "language", "policy", "agency.name")


@dataclass(frozen=True)
class Config:
    agency_code: str
    agency_name: str
    policy: str = "inter-agency"
    language: str = "en"
    recovery_recipients: tuple[str, ...] = ()
    format: int = 2  # layout.FORMAT_VERSION: what `cpcm init` makes
    extra: dict = field(default_factory=dict)
    timezone: str = ""  # the agency's IANA time zone ('Africa/Nairobi'); '' = the system's, else UTC
    # the signing keys of the recovery identities (`init --recovery-signing-key`): what a `team
    # recover` commit may be signed with (store/audit.py)
    recovery_signing_keys: tuple[str, ...] = ()
    # when the profile in force (`policy`) took effect: an ISO time, written by `cpcm init` and by `cpcm config set
    # policy` with the profile; '' in a repository made before cpcm recorded it (its rules count from the repository's
    # start, workflow/conferences.py `cadence_due`). A time, not personal
    policy_since: str = ""
    # when each concern of the policy's `mandatory_report.concerns` became reportable, where that was after the start:
    # concern code -> ISO time, written by `cpcm policy set` and `cpcm config set policy` for a concern they list that
    # was not listed before (workflow/mandatory_report.py `listings`). A concern listed from the start (the profile as
    # set by `cpcm init`, or listed before cpcm recorded these times) has none: it is owed from when a case recorded it.
    # Codes and times, not personal
    reportable_since: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "format": self.format,
            "agency": {"code": self.agency_code, "name": self.agency_name},
            "policy": self.policy,
            "language": self.language,
            "recovery_recipients": list(self.recovery_recipients),
        }
        if self.timezone:
            data["timezone"] = self.timezone
        if self.policy_since:
            data["policy_since"] = self.policy_since
        if self.reportable_since:
            data["reportable_since"] = dict(self.reportable_since)
        if self.recovery_signing_keys:
            data["recovery_signing_keys"] = list(self.recovery_signing_keys)
        data.update(self.extra)
        return data


def resolve_repo(option: str | None) -> Path:
    """--repo, else $CPCM_REPO, else the nearest parent holding .cpcm/, else ./casefiles."""
    if option:
        return Path(option).expanduser().resolve()
    env = os.environ.get("CPCM_REPO")
    if env:
        return Path(env).expanduser().resolve()
    found = find_root(Path.cwd())
    if found:
        return found
    return (Path.cwd() / "casefiles").resolve()


def _read_yaml(root: Path, rel: str) -> Any:
    """The file's parsed YAML, parsed once per version of the file: the one parse every reader
    shares, which no caller changes (each makes its own values of it: `load_config`, `load_team`)."""
    path = root / rel
    key = memo.file_key(path)
    known = memo.FILES.get(key) if key else None
    if known is None:
        try:
            known = codec.loads(path.read_bytes())
        except NotADirectoryError:  # the repository's path, or .cpcm in it, is a file: the file is not there
            raise FileNotFoundError(rel) from None
        except FileNotFoundError:
            raise
        except codec.BadYaml as exc:
            raise Corrupt(f"{rel}: {exc}", rel, _mend_hint(root, rel)) from None
        if key is not None and key == memo.file_key(path):  # not replaced while it was read
            memo.FILES.put(key, known)
    return known


def _mend_hint(root: Path, rel: str) -> str:
    """How to mend a settings file of the repository `root` that cannot be read: restored from git
    where the last commit holds a copy the file on disk differs from, else fixed by hand (git holds
    none, or holds it as it is: `git checkout HEAD -- rel` would put nothing back)."""
    from cpcm.store.git import against_head

    held = against_head(root, rel)
    if held == "differs":
        return restore_hint(rel, "  (or fix it by hand)")
    return (f"Fix it by hand: the last commit holds {'no copy of it' if held == 'absent' else 'it as it is'}, so git has "
            "none to put back.")


def load_config(root: Path) -> Config:
    try:
        data = _read_yaml(root, CONFIG) or {}
    except FileNotFoundError:
        raise NotFound(
            f"no casefile repository at {root}",
            "Make one with 'cpcm init', copy your team's (git clone of the shared place, or 'cpcm bundle clone FILE PATH' "
            "from a bundle), or point to yours with --repo or $CPCM_REPO.",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("agency"), dict):
        raise Corrupt(f"{CONFIG} has no 'agency' section", CONFIG)
    check_format(data.get("format", 1), "this casefile repository")
    known = {"format", "agency", "policy", "language", "recovery_recipients", "timezone", "recovery_signing_keys", "policy_since",
             "reportable_since"}
    return Config(
        agency_code=str(data["agency"].get("code", "")), agency_name=str(data["agency"].get("name", "")),
        policy=str(data.get("policy", "inter-agency")), language=str(data.get("language", "en")),
        recovery_recipients=tuple(data.get("recovery_recipients") or ()), format=int(data.get("format", 1)),
        extra={k: copy.deepcopy(v) for k, v in data.items() if k not in known}, timezone=str(data.get("timezone") or ""),
        recovery_signing_keys=tuple(str(k) for k in data.get("recovery_signing_keys") or ()),
        policy_since=str(data.get("policy_since") or ""),
        reportable_since=_reportable_since(data.get("reportable_since"), root),
    )


def _reportable_since(value: Any, root: Path) -> dict[str, str]:
    """The config's `reportable_since` (concern code -> ISO time), checked: a file edited by hand
    into another shape is named, as a setting cpcm cannot read."""
    if value in (None, {}):
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
        raise Corrupt(f"{CONFIG}: reportable_since is not a list of concern codes, each with the time it became reportable",
                      CONFIG, _mend_hint(root, CONFIG))
    return dict(value)


def check_format(value: Any, what: str) -> None:
    """Refused when `what` (a repository, or the other copy a sync would merge) is in a casefile
    format newer than this cpcm knows (`layout.FORMAT_VERSION`): a later release that lays cases
    out otherwise would be misread, and a merge by this one would mix the two."""
    from cpcm.errors import Refused
    from cpcm.store.layout import FORMAT_VERSION

    try:
        found = int(value)
    except (TypeError, ValueError):
        raise Corrupt(f"{CONFIG}: format is not a whole number", CONFIG) from None
    if found > FORMAT_VERSION:
        raise Refused(f"{what} is in casefile format {found}; this cpcm knows format {FORMAT_VERSION} and older",
                      "Upgrade cpcm on this computer first (every copy of a team's repository needs the release that made "
                      "it); nothing was read or written.", rule="format-too-new")


def load_team(root: Path) -> Team:
    try:
        data = _read_yaml(root, TEAM) or {}
    except FileNotFoundError:
        raise Corrupt(f"{TEAM} is missing", TEAM, restore_hint(TEAM)) from None
    workers = []
    for index, raw in enumerate(data.get("workers") or []):
        try:
            roles = tuple(raw.get("roles") or ())
            if not roles or any(r not in ROLES for r in roles):
                raise ValueError("roles")
            workers.append(Worker.from_dict(raw))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Corrupt(f"{TEAM}: worker {index + 1} is missing or has a bad '{exc}'", TEAM) from None
    return Team(tuple(workers))


def team_bytes(team: Team) -> bytes:
    return codec.dump_text({"workers": [w.to_dict() for w in team.workers]}).encode()


def config_bytes(config: Config) -> bytes:
    return codec.dump_text(config.to_dict()).encode()
