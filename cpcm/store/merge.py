"""The three-way merge of a casefile repository's files, in memory (bytes in, bytes out).

git's own merge of text files can stop with conflict markers; cpcm never lets it touch a
casefile repository. Every path has one of these merges (docs/team.md, "What a merge does"):

- record files (`cases/*/*.yaml.age`, `conferences/*/*.yaml.age`): one record per file with a
  unique name, so the union; the same record changed on both sides (re-encrypted to different
  readers) is re-encrypted again by the service, never dropped; a record is never deleted;
- `recipients`: worked out again by the service from the merged team and assignments;
- `.cpcm/team.yaml`: by worker id; a field changed on one side takes that side; a removal on
  either side stands (the earlier date); a worker added on both sides keeps both;
- `.cpcm/services.yaml`: by service id, field by field, the same way;
- `.cpcm/config.yaml`, `.cpcm/policy.yaml`: key by key; the same key changed to two different
  values is refused (MergeRefused): the sync changes nothing and says which key; but for the
  times the config keeps (when a profile took effect, when a concern became reportable), the
  earlier where both copies set them apart;
- `.gitignore`, `.gitattributes`: the lines of both;
- any other file changed differently on both sides: refused, named.

A file changed on one side only takes that side, as in any three-way merge.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping

from cpcm.errors import Refused
from cpcm.store import codec
from cpcm.domain.records import utc
from cpcm.domain.team import CADRES, merge_signing_keys
from cpcm.store.config import CONFIG_KEYS
from cpcm.store.forms import NAME
from cpcm.store.layout import CONFIG, CPCM_DIR, POLICY, SERVICES, TEAM

FORM_FILE = re.compile(rf"^{re.escape(CPCM_DIR)}/forms/(?P<kind>{NAME.pattern})\.yaml$")  # an agency's form: `cpcm form set`


class MergeRefused(Refused):
    """Two sides changed one setting two ways: nothing is merged, and the repository is left as it was."""


def _load(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return codec.loads(data)
    except codec.BadYaml:
        return None


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def pick(base: Any, ours: Any, theirs: Any) -> tuple[bool, Any]:
    """(decided, value) of a three-way pick: the same on both sides, or changed on one."""
    if _key(ours) == _key(theirs):
        return True, ours
    if _key(ours) == _key(base):
        return True, theirs
    if _key(theirs) == _key(base):
        return True, ours
    return False, None


def merge_entries(base: Mapping | None, ours: Mapping | None, theirs: Mapping | None,
                  both_changed: Callable[[str, Any, Any], Any]) -> dict:
    """A dict merged key by key; `both_changed(key, ours, theirs)` decides a key changed two ways."""
    base, ours, theirs = dict(base or {}), dict(ours or {}), dict(theirs or {})
    out = {}
    for key in list(dict.fromkeys([*ours, *theirs])):
        decided, value = pick(base.get(key), ours.get(key), theirs.get(key))
        if not decided:
            value = both_changed(key, ours.get(key), theirs.get(key))
        if value is not None:
            out[key] = value
    return out


def _smallest(_key_name: str, ours: Any, theirs: Any) -> Any:
    """The same choice on every copy, whichever side is whose."""
    return min([ours, theirs], key=lambda v: (v is None, _key(v)))


def merge_team(base: bytes | None, ours: bytes | None, theirs: bytes | None) -> tuple[bytes, list[str]]:
    """The merged team file, and notes of what needed a choice (worker ids only)."""
    notes: list[str] = []

    def workers(data: bytes | None) -> dict[str, dict]:
        loaded = _load(data) or {}
        return {str(w.get("id")): dict(w) for w in (loaded.get("workers") or []) if isinstance(w, dict)}

    b, o, t = workers(base), workers(ours), workers(theirs)

    def field(worker_id: str) -> Callable[[str, Any, Any], Any]:
        def decide(key: str, mine: Any, other: Any) -> Any:
            if key == "removed":
                return min([v for v in (mine, other) if v], default=None)
            if key == "signing_keys":
                return merge_signing_keys(mine, other)
            if key == "cadre" and not (set(v for v in (mine, other) if v) - set(CADRES)):
                # set two ways: the one that may hold fewer cases (the later in CADRES) on every copy, so that a case
                # above it is escalated (`cadre-escalation`) until a supervisor sets it again (cpcm team cadre)
                kept = max((v for v in (mine, other) if v), key=CADRES.index, default=None)
                notes.append(f"team: worker '{worker_id}' was given two cadres; {kept} is kept on every copy "
                             f"(cpcm team cadre {worker_id} CADRE sets the right one)")
                return kept
            notes.append(f"team: worker '{worker_id}' has two values of '{key}'; one is kept on every copy")
            return _smallest(key, mine, other)
        return decide

    merged: dict[str, dict] = {}
    for worker_id in dict.fromkeys([*o, *t]):
        if worker_id in o and worker_id in t:
            merged[worker_id] = merge_entries(b.get(worker_id), o[worker_id], t[worker_id], field(worker_id))
        elif worker_id in b:
            merged[worker_id] = o.get(worker_id) or t[worker_id]  # never dropped: cpcm never deletes a worker
        else:
            merged[worker_id] = o.get(worker_id) or t[worker_id]
    order = [w for w in b if w in merged]
    order += sorted((w for w in merged if w not in b), key=lambda w: (str(merged[w].get("since", "")), w))
    keys = ("id", "name", "roles", "recipient", "since", "cadre", "removed")
    out = []
    for worker_id in order:
        entry = merged[worker_id]
        out.append({**{k: entry[k] for k in keys if k in entry}, **{k: v for k, v in entry.items() if k not in keys}})
    return codec.dump_text({"workers": out}).encode(), notes


def merge_services(base: bytes | None, ours: bytes | None, theirs: bytes | None) -> tuple[bytes, list[str]]:
    notes: list[str] = []

    def entries(data: bytes | None) -> dict[str, dict]:
        loaded = _load(data) or {}
        return {str(s.get("id")): dict(s) for s in (loaded.get("services") or []) if isinstance(s, dict)}

    b, o, t = entries(base), entries(ours), entries(theirs)

    def field(service_id: str) -> Callable[[str, Any, Any], Any]:
        def decide(key: str, mine: Any, other: Any) -> Any:
            notes.append(f"services: '{service_id}' has two values of '{key}'; one is kept on every copy")
            return _smallest(key, mine, other)
        return decide

    out = []
    for service_id in sorted(set(o) | set(t)):
        if service_id in o and service_id in t:
            out.append(merge_entries(b.get(service_id), o[service_id], t[service_id], field(service_id)))
        elif service_id in b and (o.get(service_id) or t.get(service_id)) == b[service_id]:
            continue  # removed on one side, unchanged on the other
        else:
            out.append(o.get(service_id) or t[service_id])
    return codec.dump_text({"services": out}).encode(), notes


def merge_settings(rel: str, base: bytes | None, ours: bytes | None, theirs: bytes | None) -> bytes:
    """config.yaml or policy.yaml, key by key (nested); MergeRefused for a key changed two ways."""
    def merge(b: Any, o: Any, t: Any, path: str) -> Any:
        decided, value = pick(b, o, t)
        if decided:
            return value
        if rel == CONFIG and path.startswith(f"{LISTED}."):
            found = _earlier_listing(o, t)
            if found is not None:
                return found
        if isinstance(o, Mapping) and isinstance(t, Mapping):
            bb = b if isinstance(b, Mapping) else {}
            out = {}
            for key in dict.fromkeys([*o, *t]):
                sub = merge(bb.get(key), o.get(key), t.get(key), f"{path}.{key}" if path else str(key))
                if sub is not None:
                    out[key] = sub
            return out
        raise MergeRefused(
            f"{rel}: '{path or 'the whole file'}' was changed two different ways on the two copies; nothing was merged",
            _settings_hint(rel, path), rule="sync-settings-conflict")

    o, t = _load(ours), _load(theirs)
    if (ours is not None and o is None) or (theirs is not None and t is None):
        raise MergeRefused(f"{rel} is not valid YAML on one of the copies; nothing was merged",
                           f"Fix {rel} on that copy, then sync again.", rule="sync-settings-conflict")
    if rel == CONFIG:
        o, t = _same_profile_since(o, t)
    return codec.dump_text(merge(_load(base), o, t, "")).encode()


# the config's key of when each reportable concern was listed (store/config.py `reportable_since`)
LISTED = "reportable_since"


def _earlier_listing(ours: Any, theirs: Any) -> str | None:
    """When a concern became reportable, listed on both copies apart (`cpcm policy set` on each;
    the key `reportable_since.CONCERN` changed two ways): the earlier, when the agency's rule
    first reached it, on either copy; where one copy holds none (its listing was removed, as the
    merged rules decide), the other's. None when one is not a time (edited by hand): the merge
    refuses it as any setting changed two ways."""
    times = [str(v) for v in (ours, theirs) if v]
    if not times:
        return None
    try:
        return min(times, key=utc)
    except ValueError:
        return None


def _same_profile_since(ours: Any, theirs: Any) -> tuple[Any, Any]:
    """The two configs with the same `policy_since` where both copies changed to the same profile
    at different times (`cpcm config set policy` on each): the earlier, when its rules took effect
    on one of them. A profile set two ways is refused by the merge, as any setting."""
    if not (isinstance(ours, Mapping) and isinstance(theirs, Mapping)) or ours.get("policy") != theirs.get("policy"):
        return ours, theirs
    times = [str(v) for v in (ours.get("policy_since"), theirs.get("policy_since")) if v]
    if len(times) < 2 or times[0] == times[1]:
        return ours, theirs
    try:
        earlier = min(times, key=utc)
    except ValueError:  # one is not a time (edited by hand): the merge refuses it as a setting changed two ways
        return ours, theirs
    return dict(ours, policy_since=earlier), dict(theirs, policy_since=earlier)


def _settings_hint(rel: str, path: str) -> str:
    """What a supervisor runs to make a setting changed two ways the same on one copy: the cpcm
    command that sets it (a signed commit; a file edited and committed by hand is unsigned, and
    `cpcm verify` and the other copies' syncs refuse it)."""
    if rel == POLICY:
        return "Make the rules the same on one copy (cpcm policy set FILE, with the other copy's values), then sync again."
    if path == "policy_since":  # set with the profile (cpcm config set policy): two profiles set on the copies
        path = "policy"
    if path.startswith(f"{LISTED}."):  # a time `cpcm policy set` writes; two times merge (the earlier): one is not a time
        return (f"'{path}' is a time cpcm policy set writes, and one copy holds something else: it was edited outside cpcm "
                "(cpcm verify on each copy names the commit). Ask a supervisor which copy holds the agency's settings, and "
                "take the repository again from it (git clone).")
    if path in CONFIG_KEYS:
        return (f"A supervisor gives it, on one copy, the value it has on the other (cpcm config set {path} VALUE; the "
                f"other copy's {rel} shows it), then syncs again; a third value is set after that sync.")
    return (f"'{path or 'the whole file'}' is set once, by cpcm init, and no cpcm command changes it: one of the copies "
            "was changed outside cpcm (cpcm verify on each copy names the commit). Ask a supervisor which copy holds the "
            "agency's settings, and take the repository again from it (git clone).")


def merge_lines(base: bytes | None, ours: bytes | None, theirs: bytes | None) -> bytes:
    """The lines of ours, then the lines only theirs has (.gitignore, .gitattributes)."""
    mine = (ours or b"").decode("utf-8", "replace").splitlines()
    other = (theirs or b"").decode("utf-8", "replace").splitlines()
    lines = mine + [line for line in other if line not in mine]
    return ("\n".join(lines) + "\n").encode()


def merge_file(rel: str, base: bytes | None, ours: bytes | None, theirs: bytes | None) -> tuple[bytes, list[str]]:
    """A repository file (not a record, not `recipients`) changed on both sides."""
    if rel == TEAM:
        return merge_team(base, ours, theirs)
    if rel == SERVICES:
        return merge_services(base, ours, theirs)
    if rel in (CONFIG, POLICY):
        return merge_settings(rel, base, ours, theirs), []
    if rel in (".gitignore", ".gitattributes"):
        return merge_lines(base, ours, theirs), []
    if FORM_FILE.match(rel):
        hint = (f"A supervisor puts the other copy's form in place on one copy (cpcm form set FILE --kind "
                f"{FORM_FILE.match(rel)['kind']}, FILE a copy of the other's {rel}), then syncs again.")
    else:
        hint = (f"No cpcm command writes {rel}: the copies changed it outside cpcm (cpcm verify on each copy names those "
                "commits). Ask a supervisor which copy's version stands, and take the repository again from that copy "
                "(git clone).")
    raise MergeRefused(f"{rel} was changed two different ways on the two copies; nothing was merged", hint,
                       rule="sync-file-conflict")
