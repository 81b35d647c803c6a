"""The audit behind `cpcm verify`: the working tree, git's objects, the history of every record
file, the age header of every version of every record, and what the runner can decrypt.

Each problem has a stable code (docs/commands/cases.md#cpcm-verify). Messages name paths,
case and record IDs, worker ids and commit ids only: never a file's content, and never a commit
message (a forged commit's message could hold anything).
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from cpcm.crypto import cipher
from cpcm.domain.team import AFTER_REMOVAL, OVERSIGHT, Team, Worker
from cpcm.errors import CannotDecrypt, Corrupt, restore_hint
from cpcm.store import atomic, codec
from cpcm.store.git import Git, GitError, git_env, named_ids, read_named
from cpcm.store.upgrade import MESSAGE as UPGRADE_MESSAGE, config_text as upgraded_config
from cpcm.store.layout import format_of as layout_format_of
from cpcm.store.layout import (CASES, CONFERENCES, CONFIG, FORMAT_VERSION, POLICY, RECIPIENTS, RECORD_FILE, SUPERVISION, COMPLAINTS, CONFIDENTIAL, TEAM,
                               TMP_PREFIX, TOPS, case_dir, case_restricted, covers_from, current_rel, folder_rel, history_rels, readers_from,
                               split_rel)
from cpcm.domain.problems import Problem
from cpcm.domain.records import Record, repaired_away

VERIFIED = "cpcm-verified.json"
SIGNATURES = "cpcm-signatures"  # in .git/ too: commits whose signature was found good (a commit id names its bytes)  # in git's own folder (.git/): local, never committed; the last verified head only
DOC = "docs/commands/cases.md#cpcm-verify"
STEADY_FOLDERS = 64  # folders checked with the write generation read once around them (`Audit.steadily`)

_ID = r"[A-Z]{2}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}"
_REC = r"[0-9A-HJKMNP-TV-Z]{26}"
_WORKER = r"[a-z0-9][a-z0-9._-]{0,31}"
WORKER_ID = re.compile(rf"^{_WORKER}$")
# plaintext files a casefile repository may hold (docs/case-format.md#layout), besides each folder's `recipients`
# file (`plaintext_ok`); nothing else
SETTINGS_FILES = re.compile(
    rf"^(\.gitignore|\.gitattributes|\.cpcm/(config|team|services|policy)\.yaml|\.cpcm/forms/[a-z0-9][a-z0-9_-]*\.yaml"
    rf"|\.cpcm/templates/[A-Za-z0-9_][A-Za-z0-9_.-]*|{CASES}/\.keep)$")
CONFIG_FILES = re.compile(r"^(\.gitignore|\.gitattributes|\.cpcm/.*)$")
_SHARD = re.compile(r"^[0-9A-HJKMNP-TV-Z]{2}$")  # a name a second level of cases/ has (layout.shard)


def folder_file(path: str, fmt: int = FORMAT_VERSION) -> tuple[str, str, str] | None:
    """(top, folder id, file name) of a file directly in a folder of `TOPS` whose name is an ID (a record, a
    `recipients` file), as a tree of casefile format `fmt` lays it out: format 2's (layout.split_rel), or format 1's
    (every case folder directly in cases/, read through layout.current_rel). None for any other path: a case path of
    the other format too, which is no case's file in a tree of this one."""
    rel = path
    if fmt < 2:
        rel = current_rel(path)
        if rel == path and path.startswith(f"{CASES}/"):
            return None  # format 2's shape (or none) in a tree of format 1
    found = split_rel(rel)
    return found if found is not None and re.fullmatch(_ID, found[1]) else None


def in_folder(path: str) -> tuple[str, str, str] | None:
    """`folder_file` in a tree of either format: for what does not depend on where a commit's format puts a case (which
    records a commit adds, for its signer's role; which cases it writes to)."""
    return folder_file(path) or folder_file(path, 1)


def plaintext_ok(path: str, fmt: int = FORMAT_VERSION) -> bool:
    """Whether `path` is a plaintext file a casefile repository of format `fmt` may hold."""
    found = folder_file(path, fmt)
    return bool(SETTINGS_FILES.match(path)) or (found is not None and found[2] == RECIPIENTS)


def stray(path: str, fmt: int | None = None) -> bool:
    """Whether `path` is a file a casefile repository of format `fmt` holds neither as a folder's record nor as a
    plaintext file it may hold (`plaintext_ok`): what `cpcm verify` reports as plaintext-committed by its path alone.
    `fmt` None: of neither format (the commits a sync brings, whose format is not worked out one by one)."""
    return all(not _record_in(path, f) and not plaintext_ok(path, f) for f in ((fmt,) if fmt else (1, FORMAT_VERSION)))


def _record_in(path: str, fmt: int | None = None) -> bool:
    """Whether `path` is a record file of a folder in a tree of format `fmt` (None: of either format)."""
    found = folder_file(path, fmt) if fmt else in_folder(path)
    return bool(found and RECORD_FILE.match(found[2]))


def folder_path(path: str) -> str | None:
    """The case, conference, session, complaint or entry folder that `path` lies in (at any depth), as the path names
    it, of either format: cases/4F/CP-4F7K-9X2N, cases/CP-4F7K-9X2N (format 1), conferences/CC-...; None for none."""
    parts = path.split("/")
    for n in (2, 3):
        if len(parts) > n and re.fullmatch(_ID, parts[n - 1]):
            found = in_folder("/".join(parts[:n]) + "/" + RECIPIENTS)
            if found is not None and found[1] == parts[n - 1]:
                return "/".join(parts[:n])
    return None


def shown_path(path: str, lister: str) -> str:
    """A path for a message: as it is when cpcm makes such names (a record, a temp file, a settings
    file); else by its case or conference folder only. A file saved into the repository by hand
    may be named after a child ("Amani consent.pdf"), and verify's report ends up in a county's
    logs: `lister` (a git command) names it to whoever looks."""
    found = in_folder(path)
    if plaintext_ok(path) or plaintext_ok(path, 1) or CONFIG_FILES.match(path) or (
            found and (RECORD_FILE.match(found[2]) or found[2].startswith(TMP_PREFIX))):
        return path
    parts = path.rstrip("/").split("/")
    folder = folder_path(path)
    if folder is None and parts[0] in TOPS and len(parts) > 1:
        # a file or folder directly in a top folder, or in a second level of cases/, that is no folder of cpcm's
        folder = f"{CASES}/{parts[1]}" if parts[0] == CASES and len(parts) > 2 and _SHARD.match(parts[1]) else parts[0]
    return f"a file in {folder or 'the repository'} whose name is not shown (it may name someone: {lister} lists it)"


def typed_paths(paths: Sequence[str]) -> list[str]:
    """`paths` for a command to type in a message (`git restore --staged -- ...`): each as it is where `shown_path`
    shows it so, else FILE (once), as git status lists it."""
    return list(dict.fromkeys(path if shown_path(path, "") == path else "FILE" for path in paths))


# the commits that may rewrite record files (re-encryption), each with the folders it may touch
# (docs/case-format.md#git-one-commit-per-command)
REENCRYPTIONS = (
    (re.compile(rf"^assign (?P<folder>{_ID}) {_REC}$"), CASES),
    (re.compile(r"^assign batch \d+ cases$"), CASES),  # `cpcm assign --batch`: every case of the batch
    # and the conferences naming the cases assigned (their readers follow the cases' new workers)
    (re.compile(rf"^assign {_ID} {_REC}$"), CONFERENCES),
    (re.compile(r"^assign batch \d+ cases$"), CONFERENCES),
    # a team change and `team sync`: every case and conference whose readers change, the register too
    (re.compile(rf"^team (add|remove|revoke) {_WORKER}$"), CASES),
    (re.compile(rf"^team (add|remove|revoke) {_WORKER}$"), CONFERENCES),
    (re.compile(r"^team sync \d+ cases( \d+ conferences)?( \d+ complaints)?( \d+ confidential)?$"), CASES),
    (re.compile(r"^team sync \d+ cases( \d+ conferences)?( \d+ complaints)?( \d+ confidential)?$"), CONFERENCES),
    # a supervision session whose `recipients` file says a key change left it to a reader's earlier key (`# rekey:`)
    (re.compile(r"^team sync \d+ cases( \d+ conferences)?( \d+ complaints)?( \d+ confidential)?$"), SUPERVISION),
    # a worker's new key (cpcm key rotate, cpcm team recover): every folder they read, conferences too
    (re.compile(rf"^team (rotate|recover) {_WORKER}$"), CASES),
    (re.compile(rf"^team (rotate|recover) {_WORKER}$"), CONFERENCES),
    (re.compile(rf"^team (rotate|recover) {_WORKER}$"), SUPERVISION),  # a supervision session they took part in
    # a complaint: its readers follow the team (a supervisor or manager added comes, a worker removed goes)
    (re.compile(rf"^team (add|remove|revoke|rotate|recover) {_WORKER}$"), COMPLAINTS),
    (re.compile(r"^team sync \d+ cases( \d+ conferences)?( \d+ complaints)?( \d+ confidential)?$"), COMPLAINTS),
    # an entry of a case's strictly confidential section: its readers follow the team as a complaint's do
    (re.compile(rf"^team (add|remove|revoke|rotate|recover) {_WORKER}$"), CONFIDENTIAL),
    (re.compile(r"^team sync \d+ cases( \d+ conferences)?( \d+ complaints)?( \d+ confidential)?$"), CONFIDENTIAL),
    (re.compile(rf"^conference add-case (?P<folder>{_ID}) {_ID}$"), CONFERENCES),
    # a case taken off the list: its worker, a reader through it only, no longer reads the conference
    (re.compile(rf"^conference remove-case (?P<folder>{_ID}) {_ID}$"), CONFERENCES),
    (re.compile(rf"^conference (sign|bar|lift) (?P<folder>{_ID}) {_REC}$"), CONFERENCES),  # the Form 5 register, shared with the team
    (re.compile(rf"^conference share (?P<folder>{_ID})$"), CONFERENCES),
    # a closed case restricted to the managers once its retention period ended (cpcm retention --restrict)
    (re.compile(rf"^retention (?P<folder>{_ID}) {_REC}$"), CASES),
    # and the entries of its strictly confidential section (the managers only); an assignment that ends a
    # restriction gives them back their readers
    (re.compile(rf"^retention {_ID} {_REC}$"), CONFIDENTIAL),
    (re.compile(rf"^assign {_ID} {_REC}$"), CONFIDENTIAL),
    (re.compile(r"^assign batch \d+ cases$"), CONFIDENTIAL),
    # a write to a case that also took a cover whose time had passed off it (service/context.py)
    (re.compile(rf"^[a-z][a-z-]* (?P<folder>{_ID})( {_REC})+ \(cover ended\)$"), CASES),
    (re.compile(r"^(review batch|consent batch|export) \d+ cases \(cover ended\)$"), CASES),  # the same, in a write to many cases
    (re.compile(rf"^conference close {_ID} \(cover ended\)$"), CASES),
    (re.compile(r"^sync reencrypt \d+ cases$"), CASES),
    (re.compile(r"^sync reencrypt \d+ cases$"), CONFERENCES),
    (re.compile(r"^sync reencrypt \d+ cases$"), COMPLAINTS),
    (re.compile(r"^sync reencrypt \d+ cases$"), CONFIDENTIAL),
    (re.compile(r"^sync reencrypt \d+ cases$"), SUPERVISION),
)
# a sync's merge (service/sync.py): it may re-encrypt records, add the conflict and alias records it
# finds, and move the records of a case that drew an ID already used to the case's new folder
SYNC_MERGE = re.compile(r"^sync merge [0-9a-f]{10}$")
RECEIVE = re.compile(rf"^receive (?P<folder>{_ID}) (?P<record>{_REC})$")
# the commits a worker's sync (or bundle apply) makes itself: the merge, or the one commit of a
# fast-forward that needed re-encryption. A sync that only sends or only takes commits makes none.
SYNCED = re.compile(r"^sync (merge [0-9a-f]{10}|reencrypt \d+ cases)$")
_ZERO = "0" * 40
_SEP, _REC_SEP = "\x1f", "\x1e"


def problem(code: str, message: str, case_id: str | None = None, rule: str = "history", severity: str = "error") -> Problem:
    return Problem(code, severity, message, rule, DOC, case_id)


# -- git, as bytes -------------------------------------------------------------------------------
def _git_bytes(root: Path, args: Sequence[str], data: bytes | None = None) -> bytes:
    """git's raw output (blobs are binary), with the environment and repository of every cpcm git call."""
    done = subprocess.run(Git(root).command(args), cwd=root, env=git_env(), input=data, capture_output=True)
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else 'exit ' + str(done.returncode)}")
    return done.stdout


def read_blobs(root: Path, shas: Iterable[str], kind: bytes = b"blob") -> dict[str, bytes]:
    """Blob id (or commit id, with `kind` b"commit") -> content, read from git's files where they
    can be (`git.read_named`), the others in one `git cat-file --batch`."""
    wanted = list(dict.fromkeys(s for s in shas if s and s != _ZERO))
    if not wanted:
        return {}
    known = read_named(Git(root).git_dir, wanted)
    blobs = {sha: read[1] for sha, read in known.items() if read is not None and read[0] == kind}
    wanted = [sha for sha in wanted if sha not in known]
    if not wanted:
        return blobs
    out, pos = _git_bytes(root, ["cat-file", "--batch"], ("\n".join(wanted) + "\n").encode()), 0
    for sha in wanted:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) == 3:  # else "SHA missing"
            size = int(header[2])
            if header[1] == kind:
                blobs[sha] = out[pos:pos + size]
            pos += size + 1
    return blobs


# -- age headers ---------------------------------------------------------------------------------
def stanzas(data: bytes) -> list[str] | None:
    """The stanza types of a binary age file's header ('X25519', 'scrypt', ...), without the
    grease stanzas age adds at random; None when the bytes are not a binary age file."""
    if not data.startswith(cipher.MAGIC):
        return None
    end = data.find(b"\n--- ", 0, 1 << 16)
    if end < 0:
        return None
    types = []
    for line in data[len(cipher.MAGIC):end].split(b"\n"):
        if line.startswith(b"-> "):
            kind = line[3:].split(b" ", 1)[0].decode("ascii", "replace")
            if not kind.endswith("-grease"):
                types.append(kind)
    return types


# -- teams and recipients from history -------------------------------------------------------------
def team_from(data: bytes) -> Team | None:
    try:
        raw = codec.loads(data) or {}
        return Team(tuple(Worker.from_dict(entry) for entry in raw.get("workers") or []))
    except Exception:  # a damaged team file in history: nobody is a member by it
        return None


def recovery_from(data: bytes) -> tuple[str, ...]:
    try:
        return tuple(str(r) for r in ((codec.loads(data) or {}).get("recovery_recipients") or ()))
    except Exception:
        return ()


@dataclass
class Commit:
    sha: str
    parents: list[str]
    author: str | None  # the worker id from the author's e-mail (`<id>@<agency>.cpcm.invalid`), None if not one
    message: str
    changes: list[tuple[str, str, str, str]]  # (status, old blob, new blob, path)
    merge_changes: list[tuple[str, str, str]]  # (statuses, new blob, path): changes a merge made itself
    modes: list[tuple[str, str]] = field(default_factory=list)  # (old mode, new mode) of each of `changes`, in order


def history(root: Path, agency_code: str, revs: Sequence[str] = ()) -> list[Commit]:
    """Every commit (of `revs`, default HEAD's history), parents first, with the files it changed
    (one `git log`)."""
    fmt = _REC_SEP + _SEP.join(["%H", "%P", "%ae", "%s"])
    out = _git_bytes(root, ["log", "--reverse", "--topo-order", "--no-renames", "--raw", "--no-abbrev", "--cc",
                            f"--format={fmt}", *revs, "--"]).decode("utf-8", "replace")
    suffix = f"@{agency_code.lower()}.cpcm.invalid"
    commits = []
    for chunk in out.split(_REC_SEP)[1:]:
        head, _, body = chunk.partition("\n")
        sha, parents, email, message = (head.split(_SEP) + ["", "", "", ""])[:4]
        author = email[:-len(suffix)] if email.endswith(suffix) else None
        if author is not None and not WORKER_ID.match(author):
            author = None  # not a worker id: never echoed
        changes, merged, modes = [], [], []
        for line in body.splitlines():
            meta, tab, path = line.partition("\t")
            if not tab:
                continue
            path = _unquote(path)
            if meta.startswith("::"):
                fields = meta[2:].split()
                merged.append((fields[-1], fields[-2], path))
            elif meta.startswith(":"):
                fields = meta[1:].split()
                changes.append((fields[4][0], fields[2], fields[3], path))
                modes.append((fields[0], fields[1]))
        commits.append(Commit(sha, parents.split(), author, message, changes, merged, modes))
    return commits


def _unquote(path: str) -> str:
    if len(path) >= 2 and path[0] == path[-1] == '"':
        return path[1:-1]
    return path


# -- the upgrade of a repository to this casefile format (store/upgrade.py) ----------------------------
UPGRADE_NOT_ONLY_MOVES = "upgrade-not-only-moves"


def format_of(config: bytes | None, default: int = FORMAT_VERSION) -> int:
    """The casefile format a `.cpcm/config.yaml` says (`layout.format_of`: 1 when it says none); `default` for a
    tree without one."""
    return default if config is None else layout_format_of(config)


def is_upgrade(commit: Commit) -> bool:
    """Whether `commit` says it is the upgrade to this format (its message, one parent): then `upgrade_parts` tells
    what of it is the upgrade."""
    return commit.message == UPGRADE_MESSAGE and len(commit.parents) == 1


def upgrade_parts(commit: Commit, blobs: Mapping[str, bytes]) -> tuple[set[str], list[str]]:
    """What an upgrade commit (`is_upgrade`) does that is the upgrade: the paths of every file moved from its format-1
    place to `layout.current_rel`'s with the same blob and mode (both paths), and `.cpcm/config.yaml` when its `format:`
    line alone changed, from 1 to 2 (upgrade.config_text); and every other path it adds, changes or removes. `blobs`:
    the config's versions (`upgrade_blobs`). Empty for any other commit."""
    if not is_upgrade(commit):
        return set(), []
    removed = {path: (old, modes[0]) for (status, old, _, path), modes in zip(commit.changes, commit.modes) if status == "D"}
    added = {path: (new, modes[1]) for (status, _, new, path), modes in zip(commit.changes, commit.modes) if status == "A"}
    moves: set[str] = set()
    for path, version in removed.items():
        target = current_rel(path)
        if target != path and added.get(target) == version:
            moves.update((path, target))
    others = []
    for (status, old, new, path), (old_mode, new_mode) in zip(commit.changes, commit.modes):
        if path in moves:
            continue
        if path == CONFIG and status == "M" and old_mode == new_mode and old in blobs and new in blobs and \
                format_of(blobs[old], 0) == 1 and upgraded_config(blobs[old]) == blobs[new]:
            moves.add(path)
            continue
        others.append(path)
    return moves, others


def upgrade_blobs(root: Path, commits: Iterable[Commit]) -> dict[str, bytes]:
    """The versions of `.cpcm/config.yaml` the upgrade commits of `commits` change (`upgrade_parts`), in one read."""
    return read_blobs(root, [blob for commit in commits if is_upgrade(commit)
                             for status, old, new, path in commit.changes if path == CONFIG and status == "M" for blob in (old, new)])


# -- signatures ----------------------------------------------------------------------------------
UNSIGNED = "unsigned-commit"
UNKNOWN = "unknown-signer"
BAD = "bad-signature"
NOT_ALLOWED = "signer-not-allowed"
BY_NOT_SIGNER = "by-not-signer"
REVOKED = "revoked-key"
SIGNATURE_CODES = (UNSIGNED, UNKNOWN, BAD, NOT_ALLOWED, BY_NOT_SIGNER, REVOKED)
PRE_SIGNING = "history-before-signing"
SIGNING = "signing"  # the rule of the signature problems (docs/security.md#signed-history)


@dataclass
class Signature:
    """Who signed a commit and whether the signature stands (docs/security.md#signed-history)."""

    sha: str
    signer: str | None = None     # the worker whose recorded key made the signature
    good: bool = False            # the signature verifies with a key of a member active then
    code: str | None = None       # the first problem with the signature, when not good
    pre_signing: bool = False     # unsigned, made before this repository's history began to be signed
    problems: list[tuple[str, str]] = field(default_factory=list)  # (code, message)
    after_removal: str = ""       # good, and dated after its signer's removal: the removal's moment (AFTER_REMOVAL)


def team_blobs(root: Path, commits: Sequence[Commit]) -> dict[str, tuple[str | None, str | None]]:
    """sha -> (the team file's blob in its first parent's tree, in its own tree), from the changes
    of the commits walked, and one `git cat-file --batch-check` for what they cannot tell (a
    parent outside `commits`, a merge's result)."""
    seen: set[str] = set()
    lookups: list[str] = []
    for commit in commits:
        if commit.parents and commit.parents[0] not in seen:
            lookups.append(commit.parents[0])
        if len(commit.parents) > 1:
            lookups.append(commit.sha)
        seen.add(commit.sha)
    found: dict[str, str | None] = {}
    wanted = list(dict.fromkeys(lookups))
    known = named_ids(Git(root).git_dir, [f"{sha}:{TEAM}" for sha in wanted])
    for sha in wanted:
        if f"{sha}:{TEAM}" in known:
            entry = known[f"{sha}:{TEAM}"]
            found[sha] = entry[0] if entry and entry[1] == b"blob" else None
    wanted = [sha for sha in wanted if sha not in found]
    if wanted:
        out = _git_bytes(root, ["cat-file", "--batch-check"], "".join(f"{sha}:{TEAM}\n" for sha in wanted).encode())
        for sha, line in zip(wanted, out.decode("utf-8", "replace").splitlines()):
            parts = line.split()
            found[sha] = parts[0] if len(parts) == 3 and parts[1] == "blob" else None
    after: dict[str, str | None] = {}
    states = {}
    for commit in commits:
        first = commit.parents[0] if commit.parents else None
        before = (after[first] if first in after else found.get(first)) if first else None
        now = before
        if len(commit.parents) > 1:
            now = found.get(commit.sha)
        else:
            for status, _, new, path in commit.changes:
                if path == TEAM:
                    now = None if status == "D" else new
        after[commit.sha] = now
        states[commit.sha] = (before, now)
    return states


RECOVER = re.compile(rf"^team recover {_WORKER}$")


def check_signatures(root: Path, commits: Sequence[Commit], keys: Team, strict: bool = False,
                     memo: dict[str, tuple[bytes, int]] | None = None, recovery_keys: Iterable[str] = (),
                     upgrades: Mapping[str, bytes] | None = None) -> dict[str, Signature]:
    """Each commit's signature (read in one `git cat-file --batch`, checked here): made by a
    signing key that `keys` records (crypto/signing.py), not revoked or ended at the commit's
    time, of a worker who was a team member then (the team of the commit's parent; the first
    commit's own), whose role allows what the commit records, and who is its author.
    An unsigned commit is a problem unless it is an ancestor of the first signed commit (history
    from before signing), and always when `strict` (signing began below `commits`). `memo`: the
    signatures already found good (sha -> (raw public key, commit time)): a commit id names its
    bytes, signature included, so they are not read or checked again; the new ones are added. `upgrades`: the
    upgrade commits' config versions (`upgrade_blobs`), when the caller has read them."""
    from cpcm.crypto import signing
    from cpcm.domain.team import MANAGER_FILES, ROLE_KINDS, key_standing, retired_in, signed_after_removal

    memo = memo if memo is not None else {}
    raw = read_blobs(root, [c.sha for c in commits if c.sha not in memo], kind=b"commit")
    states = team_blobs(root, commits)
    teams = {blob: team_from(data) for blob, data in read_blobs(root, {b for pair in states.values() for b in pair if b}).items()}
    signed = {sha for sha in memo} | {sha for sha, data in raw.items() if signing.split_commit(data)[1] is not None}
    recovery = set()
    for line in recovery_keys:  # config.yaml is edited by hand too: a damaged line trusts nothing
        try:
            recovery.add(signing.canonical(line))
        except ValueError:
            pass
    before_signing = set() if strict else _ancestors(commits, next((c.sha for c in commits if c.sha in signed), None))
    upgrades = upgrade_blobs(root, commits) if upgrades is None else upgrades
    result: dict[str, Signature] = {}
    for commit in commits:
        sig = Signature(commit.sha)
        result[commit.sha] = sig
        short = commit.sha[:10]
        known = memo.get(commit.sha)
        if known is None:
            data = raw.get(commit.sha, b"")
            payload, armored = signing.split_commit(data)
        else:
            data, payload, armored = b"", b"", "(checked before)"

        def add(code: str, message: str) -> None:
            sig.problems.append((code, message))
            if sig.code is None:
                sig.code = code
        if armored is None:
            if commit.sha in before_signing or (not strict and not signed):
                sig.pre_signing = True
            else:
                add(UNSIGNED, f"commit {short} is not signed (every commit cpcm makes is)")
            continue
        if known is not None:
            raw_key, when = known
        else:
            try:
                raw_key = signing.verify(armored, payload)
            except signing.BadSignature as exc:
                add(BAD, f"commit {short}: {exc}")
                continue
            when, _ = signing.ident_time(signing.commit_fields(data).get("committer", ""))
            memo[commit.sha] = (raw_key, when)
        before_blob, after_blob = states.get(commit.sha, (None, None))
        before, after = teams.get(before_blob) if before_blob else None, teams.get(after_blob) if after_blob else None
        found = keys.signer(signing.public_line(raw_key)) or (after.signer(signing.public_line(raw_key)) if after else None)
        if found is None:
            if signing.public_line(raw_key) in recovery and RECOVER.match(commit.message):
                continue  # the agency's recovery key puts a worker back (`team recover`; config's recovery_signing_keys)
            add(UNKNOWN, f"commit {short} is signed by a key that no team member has ({signing.fingerprint(raw_key)})")
            continue
        worker, entry = found
        sig.signer = worker.id
        if key_standing(worker, entry, when) is not None:
            add(REVOKED, f"commit {short} is signed by {worker.id}'s key at a time after it was revoked")
            continue
        team_then = before if before is not None else after
        if team_then is not None and retired_in(team_then, entry.key):
            add(UNKNOWN, f"commit {short} is signed by a key of {worker.id} that a newer key had replaced")
            continue
        member = team_then.get(worker.id) if team_then is not None else None
        if member is None:
            add(UNKNOWN, f"commit {short} is signed by {worker.id}, who was not an active team member then")
            continue
        if not _key_of_then(member, after, entry.key):
            add(UNKNOWN, f"commit {short} is signed by a key that the team did not record for {worker.id} then")
            continue
        sig.good = True
        if signed_after_removal(worker, when):
            sig.after_removal = worker.removed
        if commit.author != worker.id:
            add(BY_NOT_SIGNER, f"commit {short} is signed by {worker.id} but its author is "
                f"{commit.author or 'not a cpcm worker address'}")
        if len(commit.parents) > 1:
            continue  # a merge takes its content from its parents, each checked itself
        # the records a `receive` brought in, into the new folder it made, were decided at the other agency
        received = RECEIVE.match(commit.message)
        if received and not any(status == "A" and path.endswith(f"/{received['folder']}/{RECIPIENTS}")
                                for status, _, _, path in commit.changes):
            received = None  # a folder that was there before: not a case received
        # the upgrade to this casefile format moves records and changes the config's format line: any worker's to make
        moved = upgrade_parts(commit, upgrades)[0]
        for status, _, _new, path in commit.changes:
            if path in moved:
                continue
            match = in_folder(path)
            record = RECORD_FILE.match(match[2]) if match else None
            if record and received and match[1] == received["folder"] and record["id"] < received["record"]:
                continue  # imported: its approvals were made by that agency's supervisors, not by who received it
            if record and status == "A" and record["kind"] in ROLE_KINDS and not member.has_role(*ROLE_KINDS[record["kind"]]):
                add(NOT_ALLOWED, f"commit {short} adds an {record['kind']} record ({match[1]}) but its signer "
                    f"{worker.id} is not a {' or '.join(ROLE_KINDS[record['kind']])}")
            elif path in MANAGER_FILES and before is not None and not member.has_role(*OVERSIGHT):
                add(NOT_ALLOWED, f"commit {short} changes {path} but its signer {worker.id} is not a supervisor or manager")
            elif path == TEAM and before is not None and not _team_change_allowed(before, after, member):
                add(NOT_ALLOWED, f"commit {short} changes the team but its signer {worker.id} is not a supervisor or manager")
    return result


def _key_of_then(member: Worker, after: Team | None, key: str) -> bool:
    """Whether a signature by `key`, which a team of either copy records for `member`, may stand
    for `member` as the team the commit was made on lists them: a key that team records for
    them; any key while it records none (a member who signed before their key was recorded:
    `keyless_authors`); or the key their own rotation in this commit records (`_own_rotation`).
    Not a key that only a later team, of a history not yet trusted, gives a member who had one."""
    if not member.signing_keys or any(k.key == key for k in member.signing_keys):
        return True
    mine = after.get(member.id) if after is not None else None
    return mine is not None and any(k.key == key for k in mine.signing_keys) and _own_rotation(member, mine)


def _ancestors(commits: Sequence[Commit], sha: str | None) -> set[str]:
    """The commits of `commits` below `sha` (the history from before signing began)."""
    parents = {c.sha: c.parents for c in commits}
    seen: set[str] = set()
    todo = list(parents.get(sha, ())) if sha else []
    while todo:
        current = todo.pop()
        if current not in seen and current in parents:
            seen.add(current)
            todo.extend(parents[current])
    return seen


def _team_change_allowed(before: Team, after: Team | None, member: Worker) -> bool:
    """A supervisor or manager changes the team (or anyone, while it has neither: service/team.py);
    anyone else only records their own first signing key (`cpcm key publish`)."""
    if member.has_role(*OVERSIGHT) or not any(w.has_role(*OVERSIGHT) for w in before.active):
        return True
    if after is not None and _own_rotation(member, after.get(member.id)) and \
            [w for w in after.workers if w.id != member.id] == [w for w in before.workers if w.id != member.id]:
        return True
    if after is None or member.signing_keys:
        return False
    mine = after.get(member.id)
    if mine is None or len(mine.signing_keys) != 1:
        return False
    from dataclasses import replace

    return replace(mine, signing_keys=()) == member and \
        [w for w in after.workers if w.id != member.id] == [w for w in before.workers if w.id != member.id]


def _own_rotation(member: Worker, mine: Worker | None) -> bool:
    """`cpcm key rotate` of one's own key: a new recipient, the old one added to `past_keys` by the
    worker (not a recovery), the signing keys in use ended and at most one new one; nothing else
    of the entry changed."""
    from dataclasses import replace

    if mine is None or mine.recipient == member.recipient or len(mine.past_keys) != len(member.past_keys) + 1:
        return False
    past = mine.past_keys[-1]
    if mine.past_keys[:-1] != member.past_keys or past.recipient != member.recipient or past.by != member.id or past.recovered:
        return False
    kept, added = mine.signing_keys[:len(member.signing_keys)], mine.signing_keys[len(member.signing_keys):]
    if len(added) > 1 or [replace(k, until="") for k in kept] != [replace(k, until="") for k in member.signing_keys]:
        return False
    return replace(mine, recipient=member.recipient, past_keys=member.past_keys, signing_keys=member.signing_keys) == member


def incoming(root: Path, agency_code: str, ours: str, theirs: str, local: Team, recovery_keys: Iterable[str] = (),
             theirs_team: Team | None = None,
             identities: Sequence = ()) -> tuple[list[tuple[str, str, str]], list[dict], list[Commit], Team]:
    """The problems of the commits `theirs` brings that `ours` lacks, each (short sha, code,
    message): what a sync refuses. Keys are those either copy's team records (a revocation on
    either side counts; `theirs_team`: the team file of `theirs`, when the caller has read it).
    With them, from the same check, the commits that pass and are dated after their signer's
    removal (`after_removal`): taken in, and named; the commits themselves, with what each
    changed (`plaintext_arrived` reads them); and the keys they were checked against (`keyring`,
    built once: the sync names a late signer's revocation from it). `identities`: this copy's, which
    open the records a commit that says it re-encrypts changed, to check they hold what they held (`_append_only`)."""
    found, keys = _incoming(root, agency_code, ours, theirs, local, recovery_keys, theirs_team, identities)
    problems = [(sha[:10], code, message) for sha, sig, _ in found for code, message in sig.problems]
    return problems, after_removal((sig, commit) for _, sig, commit in found), [commit for _, _, commit in found], keys


def after_removal(checked: Iterable[tuple[Signature, Commit]]) -> list[dict]:
    """Each commit whose signature stands and is dated after its signer's removal (made on a copy whose team
    still listed them: domain/team.py AFTER_REMOVAL): its short id, the worker, the removal's moment, and the
    cases and conferences it writes to (ids only)."""
    found = []
    for sig, commit in checked:
        if sig.good and sig.after_removal and sig.signer:
            paths = [p for _, _, _, p in commit.changes] + [p for _, _, p in commit.merge_changes]
            folders = {top: sorted({m[1] for m in map(in_folder, paths) if m and m[0] == top})
                       for top in (CASES, CONFERENCES)}
            found.append({"commit": sig.sha[:10], "worker": sig.signer, "removed": sig.after_removal,
                          "cases": folders[CASES], "conferences": folders[CONFERENCES]})
    return found


def after_removal_message(entry: dict) -> str:
    """What a sync's report and `cpcm verify` say of a commit `after_removal` found (ids and a date only). Which copy
    made it is not guessed: one the removal had not reached, or the worker's own after a sync told them of it (a
    refused sync leaves their copy as it was, still listing them)."""
    where = " ".join(entry["cases"] + entry["conferences"])
    worker = entry["worker"]
    return (f"commit {entry['commit']} by {worker} is dated after {worker} was removed from the team "
            f"({entry['removed'][:10]}): it was made on a copy that had not heard of the removal, or after {worker} was "
            "told of it (the commit does not say which), and was taken in"
            + (f" ({where})" if where else ""))


def after_removal_check(entry: dict) -> str:
    """How to see what a commit `after_removal` found records: the log of each case it wrote in,
    and each conference (ids only); the commit itself where it wrote in neither."""
    where = [f"cpcm log {case}" for case in entry["cases"]] + [f"cpcm conference show {c}" for c in entry["conferences"]]
    return f"check what it records ({'; '.join(where) or 'git show --stat ' + entry['commit']})"


def plaintext_arrived(root: Path, commits: Sequence[Commit]) -> list[tuple[str, dict]]:
    """The files `commits` add or change that `cpcm verify` reports as plaintext-committed: one no casefile
    repository holds (`stray`, in either format), or a record file that is not an age file (`stanzas`). Each path once,
    as (path, {commit, worker, folder, file}): the short id of the first commit that writes it, that commit's author (a
    worker id), the ID of the case, conference, ... folder it is in (None for none), and the path as `shown_path` shows
    it (the path itself is for the caller, never to be shown). Reads the record files these commits write, and nothing
    else of the repository."""
    written = [(commit, new, path) for commit in commits for status, _, new, path in commit.changes if status != "D"]
    written += [(commit, new, path) for commit in commits for _, new, path in commit.merge_changes if new != _ZERO]
    blobs = read_blobs(root, [new for _, new, path in written if _record_in(path)])
    found, seen = [], set()
    for commit, new, path in written:
        if path in seen or not (stray(path) or (_record_in(path) and stanzas(blobs.get(new, b"")) is None)):
            continue
        seen.add(path)
        short = commit.sha[:10]
        found.append((path, {"commit": short, "worker": commit.author, "folder": _folder_of(path),
                             "file": shown_path(path, f"git show --stat {short}")}))
    return found


def plaintext_arrived_message(entry: dict) -> str:
    """What a sync's report says of a file `plaintext_arrived` found (ids, a commit and a path as `shown_path` shows
    it), and what to do."""
    return (f"commit {entry['commit']} by {entry['worker'] or 'an author who is no cpcm worker'} committed {entry['file']}, "
            "which is not encrypted (not a file cpcm writes, or a record that is not an age file): it may hold personal "
            "data in plain text, and every copy that syncs takes it in. Remove it from the history of every copy "
            "(docs/security.md#a-file-committed-by-hand); until then cpcm verify reports it (plaintext-committed)")


def _incoming(root: Path, agency_code: str, ours: str | None, theirs: str, local: Team,
              recovery_keys: Iterable[str] = (), theirs_team: Team | None = None,
              identities: Sequence = ()) -> tuple[list[tuple[str, Signature, Commit]], Team]:
    """Each commit `theirs` brings that `ours` lacks (every commit of `theirs` when `ours` is None:
    a copy that has none yet) with its signature, and the keys they were checked against (`keyring`
    of both copies' teams). `identities`: this copy's, to open what a re-encryption changed (`_append_only`)."""
    from cpcm.domain.team import keyring

    commits = history(root, agency_code, [theirs] + ([f"^{ours}"] if ours else []))
    if not commits:
        return [], local
    from cpcm.crypto import signing

    keys = keyring(local, theirs_team or team_at(root, theirs))
    # signing began on this copy (its last commit is signed): every commit brought in must be
    strict = ours is not None and any(signing.split_commit(data)[1] is not None
                                      for data in read_blobs(root, [ours], kind=b"commit").values())
    upgrades = upgrade_blobs(root, commits)  # read once, for both checks
    checked = check_signatures(root, commits, keys, strict, recovery_keys=recovery_keys, upgrades=upgrades)
    _append_only(root, commits, checked, upgrades, identities)
    by_sha = {c.sha: c for c in commits}
    return [(sha, sig, by_sha[sha]) for sha, sig in checked.items()], keys


def _append_only(root: Path, commits: Sequence[Commit], checked: Mapping[str, Signature], upgrades: Mapping[str, bytes],
                 identities: Sequence = ()) -> None:
    """Added to each commit's problems (`checked`), as `cpcm verify` says them of the whole history: a record it
    deletes (record-deleted) or changes (record-rewritten) when it is not a re-encryption, nor the upgrade's move
    (records are append-only). A sync refuses them whoever signed them: a member's signature does not make a
    record's deletion, or a rewritten one, anything but lost work. A merge is checked against each of its parents
    (`_merge_changes`). A record a commit says it re-encrypts must still hold what it held, where `identities` (this
    copy's) open both versions (`_not_reencrypted`). `upgrades`: `upgrade_blobs` of `commits`."""
    reencrypted: list[tuple[Commit, str, str, str]] = []  # (commit, path, old blob, new blob): said to be re-encryptions
    for commit in commits:
        if len(commit.parents) > 1:
            continue
        moved = upgrade_parts(commit, upgrades)[0]
        for status, old, new, path in commit.changes:
            match = in_folder(path) if status != "A" and path not in moved else None
            if not match or not RECORD_FILE.match(match[2]):
                continue
            if status == "D":
                _against(checked, commit, "record-deleted", f"commit {commit.sha[:10]} deletes the record {path}")
            elif not _reencrypts(commit.message, match[0], match[1]):
                _against(checked, commit, "record-rewritten", f"commit {commit.sha[:10]} changes the record {path}")
            else:
                reencrypted.append((commit, path, old, new))
    merges = [commit for commit in commits if len(commit.parents) > 1]
    for commit, code, message in _merge_changes(root, merges, reencrypted):
        _against(checked, commit, code, message)
    for commit, path in _not_reencrypted(root, reencrypted, identities):
        _against(checked, commit, "record-rewritten", f"commit {commit.sha[:10]} says it re-encrypts the record {path} "
                 "but changes what it holds")


def _against(checked: Mapping[str, Signature], commit: Commit, code: str, what: str) -> None:
    sig = checked[commit.sha]
    sig.problems.append((code, f"{what} (records are append-only: only a re-encryption rewrites one, and none is deleted)"))
    sig.code = sig.code or code


def _merge_changes(root: Path, merges: Sequence[Commit], reencrypted: list) -> Iterator[tuple[Commit, str, str]]:
    """What each of `merges` does to the records of its parents, each parent's tree against its own (one `git
    diff-tree`): (merge, code, message) of a record a parent holds that it leaves out (record-deleted: but a record a
    sync merge moves to a case's new ID, `Synced.reidentified`, which it holds under its file name elsewhere) or holds
    otherwise than every parent (record-rewritten: but a sync merge's, added to `reencrypted` to be opened), or holds
    when no parent does (record-rewritten: `_added_itself`). A record one parent holds as the merge does is taken from
    that side, whose commits are checked themselves."""
    if not merges:
        return
    lines = [f"{merge.sha} {parent}" for merge in merges for parent in merge.parents]
    out = _git_bytes(root, ["diff-tree", "--stdin", "--always", "-r", "--no-renames", "--no-abbrev", "--raw"],
                     ("\n".join(lines) + "\n").encode()).decode("utf-8", "replace")
    versions = iter(_record_versions(out))
    chunks = [[next(versions) for _ in merge.parents] for merge in merges]
    moves = _moves(root, merges, chunks)
    for merge, sides in zip(merges, chunks):
        sync = bool(SYNC_MERGE.match(merge.message))
        found: dict[str, tuple[str, str]] = {}  # record -> (code, message): a record both hold, once
        for parent, side in zip(merge.parents, sides):
            for rel, (was, now) in side.items():
                if was is None or was == now:
                    continue  # not in this parent, or as it has it (moved to format 2's place)
                if now is None:
                    moved = moves.get((merge.sha, rel.rsplit("/", 1)[1])) if sync else None
                    if moved is None:
                        found.setdefault(rel, ("record-deleted", f"leaves out the record {rel} that its parent {parent[:10]} holds"))
                    else:  # compared with what a sync writes of it in its new folder (`_not_reencrypted`)
                        reencrypted.append((merge, moved[0], was, moved[1], _folder_of(rel)))
                elif any(other.get(rel, (now,))[0] == now for other in sides if other is not side):
                    continue  # as another parent has it: taken from that side
                elif sync:
                    reencrypted.append((merge, rel, was, now))
                else:
                    found.setdefault(rel, ("record-rewritten", f"changes the record {rel} (as neither parent has it)"))
        for rel in _added_itself(sides, sync):
            found.setdefault(rel, ("record-rewritten", f"adds the record {rel} itself (neither parent holds it)"))
        for rel, (code, message) in found.items():
            yield merge, code, f"merge commit {merge.sha[:10]} {message}"


def _moves(root: Path, merges: Sequence[Commit], chunks: Sequence[Sequence[Mapping[str, tuple[str | None, str | None]]]]
           ) -> dict[tuple[str, str], tuple[str, str]]:
    """(merge sha, record file name) -> (its path, its blob) in the merge, for each record a merge holds under the
    name of one a parent holds and it leaves out, in a case folder that no parent holds: where a sync's merge moves
    the records of a case that drew an ID already in use (service/sync.py `_reidentify`: a new ID, so a new folder).
    Or in one a parent holds, when that parent holds it as the merge does (`_taken`: its own line's move), or when it is
    the folder a move on that parent's line made for the case the record left (`_moved_before`: a record written to the
    case since, service/sync.py `_follow`).
    `chunks`: each merge's sides (`_record_versions`). The parents' trees are read (one `git cat-file`) only for a
    merge that moves records."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for merge, sides in zip(merges, chunks):
        gone = {rel.rsplit("/", 1)[1] for side in sides for rel, (was, now) in side.items() if was and now is None}
        for side in sides:
            for rel, (was, now) in side.items():
                match = in_folder(rel) if now and not was and rel.rsplit("/", 1)[1] in gone else None
                if match and match[0] == CASES:
                    found[(merge.sha, match[2])] = (rel, now)
    parents = {merge.sha: merge.parents for merge in merges}
    asked = {(sha, rel): _case_in(parents[sha], rel) for (sha, _), (rel, _) in found.items()}
    held = Git(root).present(line for each in asked.values() for line in each)
    sides_of = {merge.sha: sides for merge, sides in zip(merges, chunks)}

    def move(sha: str, rel: str) -> bool:  # into a folder no parent holds, or one a parent's line made (`_taken`...)
        holds = [not held.isdisjoint(_case_in([parent], rel)) for parent in parents[sha]]  # rel's case folder, by parent
        return not any(holds) or _moved_before(sides_of[sha], rel, holds) or _taken(sides_of[sha], rel, holds)
    return {key: (rel, now) for key, (rel, now) in found.items() if move(key[0], rel)}


def _taken(sides: Sequence[Mapping[str, tuple[str | None, str | None]]], rel: str, holds: Sequence[bool]) -> bool:
    """Whether a parent of the merge holds the record `rel` as the merge does (`sides`: none of its `_record_versions`
    names it) and no other parent holds the case folder it is in (`holds`, by parent): a move that parent's own line
    made (and its commits are checked themselves), taken from it. Not a record put under a moved record's file name in
    a case the other parent has too: a case that was there already."""
    return any(rel not in side for side in sides) and not any(held for side, held in zip(sides, holds) if rel in side)


def _moved_before(sides: Sequence[Mapping[str, tuple[str | None, str | None]]], rel: str, holds: Sequence[bool]) -> bool:
    """Whether a merge moved the record `rel` into a case folder that a parent of it holds because a sync's earlier
    merge moved that case there (service/sync.py `_follow`: a record written to a case after another copy moved it to
    a new ID goes with it): another record, which one parent holds in the case folder `rel` left (`sides`: the merge's
    `_record_versions`), another parent holds in `rel`'s folder as the merge does (`_taken`, `holds` its folder's)."""
    folder, _, name = rel.rpartition("/")
    for side in sides:
        left = {r.rpartition("/")[0] for r, (was, now) in side.items() if was and now is None and r.rpartition("/")[2] == name}
        came = [r for r, (was, now) in side.items() if now and not was and r.rpartition("/")[0] == folder and r != rel]
        if left and any(side.get(f"{f}/{r.rpartition('/')[2]}", (None, "held"))[1] is None and _taken(sides, r, holds)
                        for r in came for f in left):
            return True
    return False


def _case_in(revs: Sequence[str], rel: str) -> list[str]:
    """`rev:path` of the case folder `rel` is in, in each of `revs`, in either format's place (for `Git.present`)."""
    return [f"{rev}:{place}" for rev in revs for place in history_rels(in_folder(rel)[1])]


# the records a sync's own merge writes (service/sync.py): what it found both sides did at once, and a case's new ID
SYNC_WRITES = ("sync_conflict", "case_link")


def _added_itself(sides: Sequence[Mapping[str, tuple[str | None, str | None]]], sync: bool) -> list[str]:
    """The records a merge holds that none of its parents does (each side of `_record_versions`): written by the
    merge itself, so checked by no commit of either side (whose signer's role, whose words). A sync's own merge
    writes only `SYNC_WRITES` and moves a case's records to its new ID (under their file names, which a parent
    holds elsewhere); any other merge writes none."""
    gone = {rel.rsplit("/", 1)[1] for side in sides for rel, (was, now) in side.items() if was and now is None}
    found = []
    for rel, (was, now) in sides[0].items():
        if was is not None or now is None or any(side.get(rel, ("held",))[0] is not None for side in sides[1:]):
            continue
        name = rel.rsplit("/", 1)[1]
        record = RECORD_FILE.match(name)
        if not (sync and (name in gone or (record and record["kind"] in SYNC_WRITES))):
            found.append(rel)
    return found


def _record_versions(out: str) -> Iterator[dict[str, tuple[str | None, str | None]]]:
    """For each tree pair of `git diff-tree --stdin --always --raw` output, in order: each record path that differs
    (as format 2 has it: a record moved from format 1's place is one path) -> (its blob in the first tree, in the
    second), None where a tree lacks it."""
    side: dict[str, tuple[str | None, str | None]] | None = None
    for line in out.splitlines():
        meta, tab, path = line.partition("\t")
        if not line.startswith(":"):
            if side is not None:
                yield side
            side = {}
            continue
        path = _unquote(path)
        if side is None or not tab or not _record_in(path):
            continue
        fields = meta[1:].split()
        status, old, new = fields[4][0], fields[2], fields[3]
        rel = current_rel(path)
        was, now = side.get(rel, (None, None))
        side[rel] = (old if status != "A" else was, new if status != "D" else now)
    if side is not None:
        yield side


OPENED_AT_ONCE = 2048  # records of a re-encryption read at once to be opened (`_not_reencrypted`)


def _not_reencrypted(root: Path, changed: Sequence[tuple[Commit, str, str, str] | tuple[Commit, str, str, str, str]],
                     keys: Sequence) -> list[tuple[Commit, str]]:
    """The records of `changed` ((commit, path, old blob, new blob), each said to be a re-encryption; with the ID of
    the case it moved from, a record a sync's merge moved to `path`, its case's new ID: `_moves`) whose old version
    `keys` (this copy's identity) open and whose new version holds something else (a moved one: else than `_moved`
    of it), or is no whole age file any more.
    A record `keys` do not open, either version (one this copy's worker does not read), is taken as its commit's
    message says: nothing here can tell (docs/security.md#what-cpcm-does-not-protect-against); nor are the other
    records of its folder that the commit changed. Each version is opened once (a merge's record is compared with each
    parent's) among the `OPENED_AT_ONCE` records read together."""
    if not keys or not changed:
        return []
    from cpcm.store import parallel

    def job(bounds: tuple[int, int]) -> list[int]:  # the places in `changed` of the records found rewritten
        part = changed[bounds[0]:bounds[1]]
        blobs = read_blobs(root, [blob for _, _, old, new, *_ in part for blob in (old, new)])
        opened: dict[str, bytes | None] = {}

        def plain(blob: str) -> bytes | None:  # None: these keys do not open it; b"": no whole age file (no key does)
            if blob not in opened:
                try:
                    opened[blob] = cipher.decrypt(blobs.get(blob, b""), keys)
                except cipher.NotARecipient:
                    opened[blob] = None
                except cipher.Damaged:
                    opened[blob] = b""
            return opened[blob]
        found, unread = [], set()  # unread: (commit, folder): the records of a folder are encrypted to its readers alike
        for at, (commit, path, old, new, *moved) in enumerate(part, bounds[0]):
            folder = (commit.sha, path.rsplit("/", 1)[0])
            before = plain(old) if folder not in unread else None
            if before is None:
                unread.add(folder)  # not read here: its other records are not tried (a failed open costs the most)
            elif before and (after := plain(new)) is not None and after != (_moved(before, moved[0], path) if moved else before):
                found.append(at)
        return found

    # so many read and opened at a time (memory stays flat in a re-encryption's size), on every core when many
    chunks = [(at, at + OPENED_AT_ONCE) for at in range(0, len(changed), OPENED_AT_ONCE)]
    done = parallel.run_chunks(job, chunks) if len(chunks) > 1 else map(job, chunks)
    found = {(changed[at][0].sha, changed[at][1]): changed[at][:2] for places in done for at in places}
    return list(found.values())


def _moved(plaintext: bytes, case_id: str, path: str) -> bytes | None:
    """What a sync's merge writes of the record `plaintext` of case `case_id` when it moves it to `path`, the folder of
    the case's new ID (service/sync.py `_reidentify`): the same bytes but the case ID. None for no record (no move
    holds it)."""
    from cpcm.store.bundle import rewrite_case

    try:
        return rewrite_case(plaintext, case_id, in_folder(path)[1])[0]
    except (codec.BadYaml, AttributeError, KeyError, TypeError, ValueError):
        return None


def keyless_authors(root: Path, agency_code: str, ours: str | None, theirs: str, local: Team,
                    recovery_keys: Iterable[str] = ()) -> dict[str, str]:
    """short sha -> worker id, for the commits `theirs` brings that are signed by a key no team
    member has (unknown-signer) and made as an active member for whom neither copy's team records
    a signing key: commits that member made before their key was recorded (`cpcm key publish`),
    or made by someone else in their name; the history alone does not tell which. A sync refuses
    them (`sync-unverified`), and so a copy does not send its own (service/sync.py `_unpublished`).
    `ours` None: every commit of `theirs` (a whole bundle)."""
    found, keys = _incoming(root, agency_code, ours, theirs, local, recovery_keys)
    named = {}
    for sha, sig, commit in found:
        author = keys.get(commit.author) if commit.author else None
        if sig.code == UNKNOWN and sig.signer is None and author is not None and author.active and not author.signing_keys:
            named[sha[:10]] = author.id
    return named


def signers(root: Path, shas: Iterable[str], keys: Team) -> dict[str, tuple[str | None, str]]:
    """sha -> (the worker whose recorded key signed it, "good" or why not: unsigned-commit,
    bad-signature, unknown-signer, revoked-key), for `cpcm log`: the signature alone (verify also
    checks membership and roles)."""
    from cpcm.crypto import signing
    from cpcm.domain.team import key_standing

    found: dict[str, tuple[str | None, str]] = {}
    for sha, data in read_blobs(root, shas, kind=b"commit").items():
        payload, armored = signing.split_commit(data)
        if armored is None:
            found[sha] = (None, UNSIGNED)
            continue
        try:
            raw_key = signing.verify(armored, payload)
        except signing.BadSignature:
            found[sha] = (None, BAD)
            continue
        owner = keys.signer(signing.public_line(raw_key))
        if owner is None:
            found[sha] = (None, UNKNOWN)
            continue
        when, _ = signing.ident_time(signing.commit_fields(data).get("committer", ""))
        found[sha] = (owner[0].id, REVOKED if key_standing(owner[0], owner[1], when) else "good")
    return found


def signed_from(root: Path, keys: Iterable[str], since: float, rev: str = "HEAD") -> list[tuple[str, int]]:
    """The commits of `rev`'s history signed by one of `keys` (signing-key lines) and dated at or after
    unix time `since`, by the date `key_standing` judges (the committer's), as (sha, time), oldest
    first: what a revocation of those keys from `since` would have `cpcm verify` report here
    (`team revoke`). One `git log` of the dates; only the commits dated from `since` are read and checked."""
    from cpcm.crypto import signing

    wanted = set(keys)
    dated = {}
    for line in _git_bytes(root, ["log", "--format=%H %ct", rev, "--"]).decode("ascii", "replace").splitlines():
        sha, _, seconds = line.partition(" ")
        if seconds.strip().lstrip("-").isdigit() and int(seconds) >= since:
            dated[sha] = int(seconds)
    found = []
    for sha, data in read_blobs(root, dated, kind=b"commit").items():
        payload, armored = signing.split_commit(data)
        if armored is None:
            continue
        try:
            raw_key = signing.verify(armored, payload)
        except signing.BadSignature:
            continue
        if signing.public_line(raw_key) in wanted:
            found.append((sha, dated[sha]))
    return sorted(found, key=lambda item: item[1])


def team_at(root: Path, rev: str) -> Team | None:
    """The team file of commit `rev`; None when it has none, or one that cannot be read."""
    known = read_named(Git(root).git_dir, [f"{rev}:{TEAM}"])
    if known:
        read = known[f"{rev}:{TEAM}"]
        return team_from(read[1]) if read and read[0] == b"blob" else None
    out = _git_bytes(root, ["cat-file", "--batch"], f"{rev}:{TEAM}\n".encode())
    header, _, rest = out.partition(b"\n")
    parts = header.split()
    if len(parts) != 3 or parts[1] != b"blob":
        return None
    return team_from(rest[:int(parts[2])])


# -- whose work this copy holds ----------------------------------------------------------------------
def latest_by_worker(root: Path, agency_code: str, rev: str = "HEAD") -> dict[str, tuple[int, int | None]]:
    """worker id -> (when their latest commit in `rev`'s history was made, when their latest sync
    commit (`SYNCED`) was, or None), as seconds since the epoch by the clock of the laptop that made
    each; from one `git log` of the author addresses, dates and first lines. A commit whose author
    is no worker id is left out.

    What the last look found is kept in git's folder (`LAST_WORK`: worker ids and commit dates,
    which the history shows anyone who can read it) with the commit it was taken at, and the next
    look reads only the commits made since: a long history is read once."""
    memo = _last_work_memo(root)
    if memo and _is_ancestor(root, memo["head"], rev):
        work, synced, head = _latest(root, [rev, f"^{memo['head']}"])
        for kept, new in ((memo["work"], work), (memo["synced"], synced)):
            for email, at in kept.items():
                if at > new.get(email, -1):
                    new[email] = at
        head = head or memo["head"]
    else:
        work, synced, head = _latest(root, [rev])
    if head and (not memo or head != memo["head"]):
        _keep_last_work(root, {"head": head, "work": work, "synced": synced})
    return _by_worker(agency_code, work, synced)


LAST_WORK = "cpcm-last-work.json"  # in .git/: local, never committed, made again when lost


def _latest(root: Path, revs: list[str]) -> tuple[dict[str, int], dict[str, int], str | None]:
    """From one `git log` of `revs`: author address -> their latest commit's date, and -> their
    latest sync commit's date; and the newest commit read (None: none)."""
    try:
        out = _git_bytes(root, ["log", f"--format=%H{_SEP}%ae{_SEP}%at{_SEP}%s", *revs, "--"]).decode("utf-8", "replace")
    except GitError:  # no commit yet
        return {}, {}, None
    work: dict[str, int] = {}  # by author address, as git writes it
    synced: dict[str, int] = {}
    head = None
    for line in out.splitlines():
        sha, _, rest = line.partition(_SEP)
        email, _, rest = rest.partition(_SEP)
        stamp, _, message = rest.partition(_SEP)
        if not stamp.isdigit():
            continue
        head = head or sha
        at = int(stamp)
        if at > work.get(email, -1):
            work[email] = at
        if message.startswith("sync ") and SYNCED.match(message) and at > synced.get(email, -1):
            synced[email] = at
    return work, synced, head


def _by_worker(agency_code: str, work: Mapping[str, int], synced: Mapping[str, int]) -> dict[str, tuple[int, int | None]]:
    suffix = f"@{agency_code.lower()}.cpcm.invalid"
    found: dict[str, tuple[int, int | None]] = {}
    for email, at in work.items():
        worker = email[:-len(suffix)] if email.endswith(suffix) else ""
        if WORKER_ID.match(worker):
            found[worker] = (at, synced.get(email))
    return found


def _last_work_memo(root: Path) -> dict | None:
    try:
        memo = json.loads((Path(root) / ".git" / LAST_WORK).read_bytes())
    except (OSError, ValueError):
        return None
    ok = (isinstance(memo, dict) and isinstance(memo.get("head"), str) and re.fullmatch(r"[0-9a-f]{40,64}", memo["head"])
          and all(isinstance(memo.get(k), dict) and all(isinstance(v, int) for v in memo[k].values()) for k in ("work", "synced")))
    return memo if ok else None


def _is_ancestor(root: Path, older: str, rev: str) -> bool:
    """Whether `older` is in `rev`'s history (else what was kept from it may not be: a copy reset by hand)."""
    try:
        _git_bytes(root, ["merge-base", "--is-ancestor", older, rev])
    except GitError:
        return False
    return True


def _keep_last_work(root: Path, memo: dict) -> None:
    folder = Path(root) / ".git"
    if folder.is_dir():
        try:
            atomic.write_local(folder / LAST_WORK, json.dumps(memo, sort_keys=True).encode())
        except OSError:  # a read-only copy: read in full next time
            pass


# -- the audit -----------------------------------------------------------------------------------
@dataclass
class Added:
    sha: str
    author: str | None
    receive_from: str | None  # a `receive` commit: records with ids below this one were imported


RESTRICTION_MISMATCH = "restriction-mismatch"  # a case's `# restricted` line and its records' restriction disagree

# the problems of a case whose `# restricted` line (the case id, its records, the line) says other than its records
# (`RESTRICTION_MISMATCH`): from the service, which folds them and asks the one rule (the store applies no rule)
RestrictionMismatch = Callable[[str, list[Record], bool], "list[Problem]"]


class Audit:
    def __init__(self, store, config, team: Team, worker: Worker, keys, mismatch: RestrictionMismatch | None = None):
        self.store = store
        self.root: Path = store.root
        self.git: Git = store.git
        self.config = config
        self.team = team
        self.worker = worker
        self.keys = keys
        self.mismatch = mismatch
        self.problems: list[Problem] = []
        self.added: dict[str, Added] = {}  # record path -> the commit that (last) added it
        self.signed: dict[str, Signature] = {}  # commit sha -> its signature (check_signatures)

    def add(self, code: str, message: str, case_id: str | None = None, rule: str = "history") -> None:
        self.problems.append(problem(code, message, case_id, rule))

    def run(self) -> list[Problem]:
        head = self.git.head()
        self.objects()
        self.working_tree()
        rewritten = False
        if head is not None:
            rewritten = self.below_verified(head)
            try:
                self.walk(head)
            except GitError as exc:
                self.add("git-object-corrupt", f"the history cannot be read ({exc.message})", rule="git")
        self.folders()
        if head is not None and not rewritten:
            self.remember(head)
        return self.problems

    # git's own consistency check
    def objects(self) -> None:
        try:
            self.git.run(["fsck", "--no-dangling", "--no-progress"])
        except GitError as exc:
            self.add("git-object-corrupt", f"git fsck finds damaged or missing objects ({exc.message}); "
                     "restore the repository from another copy", rule="git")

    # nothing uncommitted
    def working_tree(self) -> None:
        if self.store.view is not None:
            return  # another cpcm is writing (the last commit is pinned): its files are not committed yet
        try:
            out = _git_bytes(self.root, ["status", "--porcelain=v1", "-z", "--untracked-files=all"]).decode("utf-8", "replace")
        except GitError:
            return  # reported by fsck or the history walk
        entries = out.split("\0")
        skip = False
        for entry in entries:
            if skip or not entry:
                skip = False
                continue
            status, path = entry[:2], entry[3:]
            skip = "R" in status or "C" in status  # the next entry is the old name
            added = status[0] == "A"  # put in git's index by hand (git add), not in the last commit: nothing to restore
            shown = shown_path(path, "git status")
            named = typed_paths([path])[0]  # in a command to type: FILE, as git status lists it
            out = f"take it out of git's index (git rm --cached {named}) and move it out of the repository" if added \
                else "move it out of the repository"
            if CONFIG_FILES.match(path):
                fix = "cpcm policy set commits it" if path == POLICY else "commit it"
                if status == "??" or added:  # not in the last commit: nothing to restore from git
                    self.add("config-uncommitted", f"{path} differs from the last commit (added by hand outside a commit: "
                             f"{fix}, or {out})", rule="format")
                else:
                    self.add("config-uncommitted", f"{path} differs from the last commit (an edit by hand outside a commit). "
                             + restore_hint(path, f"  (or keep the edit: {fix})"), rule="format")
            elif status == "??" or added:
                self.add("uncommitted-change", f"{shown} differs from the last commit (an interrupted write, or an edit by "
                         f"hand: not cpcm's and not committed: {out})", _folder_of(path), rule="format")
            else:
                self.add("uncommitted-change", f"{shown} differs from the last commit (an interrupted write, or an edit by "
                         "hand). " + restore_hint(named), _folder_of(path), rule="format")

    # the last verified head is still in the history
    def below_verified(self, head: str) -> bool:
        path = self.marker()
        try:
            old = str(json.loads(path.read_text()).get("head") or "")
        except (OSError, ValueError, AttributeError):
            return False
        if not re.fullmatch(r"[0-9a-f]{40}", old) or old == head:
            return False
        try:
            self.git.run(["merge-base", "--is-ancestor", old, head])
            return False
        except GitError:
            self.add("history-rewritten", f"the history changed below the last verified commit {old[:10]}: commits were "
                     "dropped or rewritten (a reset or rebase). Restore them (git reflog; git reset --hard "
                     f"{old[:10]}), or, once the change is understood, delete .git/{VERIFIED}")
            return True

    def marker(self) -> Path:
        return self.root / self.git.run(["rev-parse", "--git-path", VERIFIED]).strip()

    def remember(self, head: str) -> None:
        try:
            atomic.write(self.marker(), json.dumps({"head": head}).encode(), mode=0o644)
        except OSError:
            pass  # verifying never fails because the local cache cannot be written

    # every commit: what it may change, who made it, and whom each record version is encrypted to
    def walk(self, head: str) -> None:
        commits = history(self.root, self.config.agency_code)
        self.signatures(commits)
        team: Team | None = None
        recovery: tuple[str, ...] = tuple(self.config.recovery_recipients)
        fmt = FORMAT_VERSION  # the casefile format of the tree walked (its config's `format:`): where its cases are
        team_blobs, config_blobs = {}, {}
        for commit in commits:  # the team and config files as they change
            for status, _, new, path in commit.changes:
                if path == TEAM and status != "D":
                    team_blobs[new] = None
                elif path == CONFIG and status != "D":
                    config_blobs[new] = None
        loaded = read_blobs(self.root, [*team_blobs, *config_blobs])
        upgrades = upgrade_blobs(self.root, commits)
        recipients_blob: dict[str, str] = {}  # folder (cases/4F/ID, as the tree walked has it) -> its recipients blob now
        versions = []  # (path, blob, commit sha, recipients blob, team, recovery): every record version written
        deleted_reported: set[str] = set()
        plaintext_reported: set[str] = set()
        copies: dict[str, tuple[str, Commit]] = {}  # a sync merge's record under an earlier one's name -> (its path, the merge)
        previous = None
        for commit in commits:
            # histories written apart: a commit whose parent is not the one walked before it starts
            # from its parent's team, configuration, format and readers, read from the parent's tree
            first = commit.parents[0] if commit.parents else None
            if first is not None and (first != previous or len(commit.parents) > 1):
                team, recovery, recipients_blob, fmt = self.state_at(first, team, recovery, fmt)
            previous = commit.sha
            before, was = team, fmt  # a file it removes is where its parent's format has it; one it adds, its own
            for status, _, new, path in commit.changes:
                if path == TEAM and status != "D":
                    team = team_from(loaded.get(new, b""))
                elif path == CONFIG and status != "D":
                    recovery = recovery_from(loaded.get(new, b""))
                    fmt = format_of(loaded.get(new), fmt)
                elif path.endswith("/" + RECIPIENTS):
                    recipients_blob[path.rsplit("/", 1)[0]] = new
            member_team = before if before is not None else team
            member = member_team.get(commit.author) if (member_team and commit.author) else None
            touches = False
            receive = RECEIVE.match(commit.message)
            # the upgrade to this format: each file moved keeps the commit that added it (and what was said of it)
            moved, others = upgrade_parts(commit, upgrades)
            if is_upgrade(commit):
                self.upgrade(commit, others, moved)
            for status, _, _, path in commit.changes:
                if path in moved and status == "D":
                    target = current_rel(path)
                    if path in self.added:
                        self.added[target] = self.added.pop(path)
                    if path in plaintext_reported:
                        plaintext_reported.add(target)
            for status, _, new, path in commit.changes:
                if path in moved:
                    touches = touches or in_folder(path) is not None
                    continue
                match = folder_file(path, was if status == "D" else fmt)
                is_record = bool(match and RECORD_FILE.match(match[2]))
                if match:
                    touches = True
                if not is_record:
                    if status != "D" and stray(path, fmt) and path not in plaintext_reported:
                        plaintext_reported.add(path)
                        self.add("plaintext-committed", f"{shown_path(path, f'git show --stat {commit.sha[:10]}')} was committed "
                                 f"(commit {commit.sha[:10]}) but is not a file "
                                 "cpcm writes: it may hold personal data in plain text; remove it from the history",
                                 _folder_of(path), rule="privacy")
                    continue
                top, folder_id, _ = match
                if status == "A":
                    self.added[path] = Added(commit.sha, commit.author,
                                             receive["record"] if receive and receive["folder"] == folder_id else None)
                elif status == "D":
                    deleted_reported.add(path)
                    self.add("record-deleted", f"{path} was deleted by commit {commit.sha[:10]} (records are never deleted)",
                             folder_id)
                elif not _reencrypts(commit.message, top, folder_id):
                    self.add("record-rewritten", f"{path} was changed by commit {commit.sha[:10]}, which is not a re-encryption "
                             "(records are append-only; only re-encryption may touch them)", folder_id)
                if status != "D":
                    versions.append((path, new, commit.sha, recipients_blob.get(path.rsplit("/", 1)[0]), team, recovery))
            if len(commit.parents) > 1:
                team, recovery, recipients_blob, fmt = self.state_at(commit.sha, team, recovery, fmt)
            sync_merge = bool(SYNC_MERGE.match(commit.message))
            for statuses, new, path in commit.merge_changes:
                match = folder_file(path, fmt) if new != _ZERO else in_folder(path)
                if match and RECORD_FILE.match(match[2]) and sync_merge:
                    touches = True
                    if new == _ZERO:
                        continue  # moved to a case's new folder: checked below with the rest
                    if set(statuses) == {"A"}:
                        moved = self.moved(match[2])
                        if moved is None:
                            self.added_itself(commit, path, match[1])
                        else:  # the merge's own, if the record of that name is still where it was (`copies`)
                            copies[path] = (moved, commit)
                        self.added[path] = self.added[moved] if moved else Added(commit.sha, commit.author, None)
                    versions.append((path, new, commit.sha, recipients_blob.get(path.rsplit("/", 1)[0]), team, recovery))
                elif match and RECORD_FILE.match(match[2]):
                    self.add("record-rewritten", f"{path} was changed by merge commit {commit.sha[:10]} itself (not taken "
                             "from either side)", match[1])
                    if new != _ZERO:
                        versions.append((path, new, commit.sha, recipients_blob.get(path.rsplit("/", 1)[0]), team, recovery))
                elif new != _ZERO and stray(path, fmt) and path not in plaintext_reported:
                    plaintext_reported.add(path)
                    self.add("plaintext-committed", f"{shown_path(path, f'git show --stat {commit.sha[:10]}')} was committed "
                             f"(merge commit {commit.sha[:10]}) but is not a file "
                             "cpcm writes", _folder_of(path), rule="privacy")
            if touches and member is None:
                self.add("commit-author-not-member", f"commit {commit.sha[:10]} changes cases or conferences but its author "
                         f"({commit.author or 'not a cpcm worker address'}) was not an active team member then")
        # a record ever added must still be there (a merge can drop one without a deletion in any commit)
        present = set(_git_bytes(self.root, ["ls-tree", "-r", "--name-only", head, "--", *TOPS])
                      .decode("utf-8", "replace").splitlines())
        # still there: under its name in its folder (at either format's place), or where a sync's merge moved it (its
        # case's new ID: `copies`, which reports a move into a case that was there already)
        held = {(_folder_of(p), p.rsplit("/", 1)[1]) for p in present}
        moved = {p.rsplit("/", 1)[1] for p in copies if p in present}
        self.copies(copies, present)
        for path in self.added:
            name = path.rsplit("/", 1)[1]
            if path not in present and path not in deleted_reported and (_folder_of(path), name) not in held and name not in moved:
                match = in_folder(path)
                self.add("record-deleted", f"{path} was added to the history but is not in the last commit (records are never "
                         "deleted)", match[1] if match else None)
        self.headers(versions)

    def upgrade(self, commit: Commit, others: list[str], moved: set[str]) -> None:
        """An upgrade commit (`is_upgrade`) that is not only the upgrade (`upgrade_parts`): what else it adds, changes
        or removes; the config's format line not changed from 1 to 2; a case left in format 1's place."""
        short = commit.sha[:10]
        said = f"commit {short} says it is the upgrade to casefile format {FORMAT_VERSION} ('{UPGRADE_MESSAGE}') but"
        lister = f"git show --stat {short}"
        how = {"A": "adds", "D": "removes"}
        for (status, _, _, path) in commit.changes:
            if path in others:
                found = in_folder(path)
                self.add(UPGRADE_NOT_ONLY_MOVES, f"{said} also {how.get(status, 'changes')} {shown_path(path, lister)}: an "
                         "upgrade only moves each case's files to their new place, unchanged, and changes the format line "
                         f"of {CONFIG}", found[1] if found else _folder_of(path))
        if CONFIG not in moved and CONFIG not in others:
            self.add(UPGRADE_NOT_ONLY_MOVES, f"{said} does not change the format line of {CONFIG} from 1 to {FORMAT_VERSION}")
        try:
            listing = _git_bytes(self.root, ["ls-tree", "-z", commit.sha, f"{CASES}/"]).decode("utf-8", "replace")
        except GitError:
            return  # reported by fsck or the history walk
        for entry in listing.split("\0"):
            meta, _, path = entry.partition("\t")
            if meta.split()[1:2] == ["tree"] and current_rel(f"{path}/{RECIPIENTS}") != f"{path}/{RECIPIENTS}":
                name = path.rsplit("/", 1)[1]
                shown = path if re.fullmatch(_ID, name) else \
                    f"a folder in {CASES} whose name is not shown (it may name someone: git ls-tree {short} {CASES}/ lists it)"
                self.add(UPGRADE_NOT_ONLY_MOVES, f"{said} leaves {shown} where format 1 had it (a case folder is in "
                         f"{CASES}/XX/ in format {FORMAT_VERSION})", name if re.fullmatch(_ID, name) else None)

    def signatures(self, commits: Sequence[Commit]) -> None:
        """Every commit's signature (check_signatures); the commits made before this repository's
        history began to be signed are one note, not problems."""
        from cpcm.domain.team import keyring

        memo = self.signature_memo()
        known = len(memo)
        self.signed = check_signatures(self.root, commits, keyring(self.team), memo=memo,
                                       recovery_keys=self.config.recovery_signing_keys)
        if len(memo) != known:
            self.remember_signatures(memo)
        by_sha = {commit.sha: commit for commit in commits}
        for entry in after_removal((sig, by_sha[sha]) for sha, sig in self.signed.items() if sha in by_sha):
            self.problems.append(problem(AFTER_REMOVAL, f"{after_removal_message(entry)}; {after_removal_check(entry)}", None,
                                         SIGNING, "note"))
        before = sum(1 for sig in self.signed.values() if sig.pre_signing)
        if before:
            self.problems.append(problem(PRE_SIGNING, f"history before signing began: {before} commit(s), not signed (made "
                                         "by a cpcm that did not sign); every later commit is checked", None, SIGNING, "note"))
        for sig in self.signed.values():
            for code, message in sig.problems:
                self.add(code, message, None, SIGNING)

    def signature_memo(self) -> dict[str, tuple[bytes, int]]:
        """The signatures an earlier run found good (.git/cpcm-signatures: local, never committed;
        a line per commit: id, public key, commit time). Losing it costs only time."""
        try:
            text = (self.root / self.git.run(["rev-parse", "--git-path", SIGNATURES]).strip()).read_text()
        except (OSError, GitError):
            return {}
        memo = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and len(parts[0]) == 40 and len(parts[1]) == 64:
                try:
                    memo[parts[0]] = (bytes.fromhex(parts[1]), int(parts[2]))
                except ValueError:
                    continue
        return memo

    def remember_signatures(self, memo: dict[str, tuple[bytes, int]]) -> None:
        try:
            path = self.root / self.git.run(["rev-parse", "--git-path", SIGNATURES]).strip()
            atomic.write(path, "".join(f"{sha} {key.hex()} {when}\n" for sha, (key, when) in memo.items()).encode(), mode=0o644)
        except (OSError, GitError):
            pass  # verifying never fails because the local memo cannot be written

    def moved(self, name: str) -> str | None:
        """Where a record file of this name was first added (a sync moves the records of a case
        that drew an ID already in use to its new folder, under the same file names)."""
        return next((path for path in self.added if path.rsplit("/", 1)[1] == name), None)

    def copies(self, copies: Mapping[str, tuple[str, Commit]], present: set[str]) -> None:
        """The records a sync's merge added under the name of an earlier one (path -> (that one's path, the merge)): the
        merge's own where that one is still in the last commit (`added_itself`); else moved, and reported where moved
        into a case either parent of the merge held (record-deleted: a sync moves a case's records to a new ID only)."""
        moved = {path: found for path, found in copies.items()  # to format 2's place, or from where it is no more
                 if current_rel(found[0]) == path or present.isdisjoint((found[0], current_rel(found[0])))}
        elsewhere = {path: merge for path, (earlier, merge) in moved.items()
                     if in_folder(path)[0] == CASES and _folder_of(path) != _folder_of(earlier)}
        held = Git(self.root).present(line for path, merge in elsewhere.items() for line in _case_in(merge.parents, path))
        into_held = {path for path, merge in elsewhere.items() if not held.isdisjoint(_case_in(merge.parents, path))}
        # a record written to a case after a sync's merge moved it to a new ID follows it there (a later merge moves it
        # into the folder the first one made): a move between the two cases of a first move
        made = {(_folder_of(moved[path][0]), _folder_of(path)) for path in elsewhere if path not in into_held}
        for path, (earlier, merge) in copies.items():
            if path not in moved:
                self.added_itself(merge, path, _folder_of(path))
                self.added[path] = Added(merge.sha, merge.author, None)
            elif path in into_held and (_folder_of(earlier), _folder_of(path)) not in made:
                self.add("record-deleted", f"{earlier} was moved by merge commit {merge.sha[:10]} into {_folder_of(path)}, "
                         "a case that was there already (a sync's merge moves a case's records to a new case ID only)",
                         _folder_of(earlier))

    def added_itself(self, merge: Commit, path: str, folder: str | None) -> None:
        """The record `path` that a sync's `merge` holds and neither side does (not moved: a record of that name, if any,
        is still where it was), of the case or conference `folder`: reported (record-rewritten) but for the records a
        sync's merge writes (`SYNC_WRITES`), which are the merge's, their `by` its signer (`folder`'s check)."""
        if RECORD_FILE.match(path.rsplit("/", 1)[1])["kind"] not in SYNC_WRITES:
            self.add("record-rewritten", f"{path} was added by merge commit {merge.sha[:10]} itself (neither "
                     "side holds it, and a sync's merge adds only its sync_conflict and case_link records)", folder)

    def state_at(self, sha: str, team: Team | None, recovery: tuple[str, ...], fmt: int):
        """The team, recovery keys, each folder's readers blob and the casefile format in commit `sha`'s tree."""
        out = _git_bytes(self.root, ["ls-tree", "-r", "-z", "--full-tree", sha]).decode("utf-8", "replace")
        blobs, readers = {}, {}
        for entry in out.split("\0"):
            meta, _, path = entry.partition("\t")
            parts = meta.split()
            if len(parts) != 3:
                continue
            if path in (TEAM, CONFIG):
                blobs[path] = parts[2]
            elif path.endswith("/" + RECIPIENTS):
                readers[path] = parts[2]
        loaded = read_blobs(self.root, blobs.values())
        if TEAM in blobs:
            team = team_from(loaded.get(blobs[TEAM], b"")) or team
        if CONFIG in blobs:
            recovery = recovery_from(loaded.get(blobs[CONFIG], b""))
            fmt = format_of(loaded.get(blobs[CONFIG]), fmt)
        folders = {path.rsplit("/", 1)[0]: blob for path, blob in readers.items() if folder_file(path, fmt)}
        return team, recovery, folders, fmt

    def headers(self, versions) -> None:
        """Every version of every record is a binary age file with one X25519 stanza per key of
        the folder's readers at that commit (plus the recovery keys), and no other kind of stanza."""
        blobs = read_blobs(self.root, [v[1] for v in versions] + [v[3] for v in versions if v[3]])
        expected_cache: dict[tuple, int] = {}
        seen: set[tuple[str, str]] = set()
        for path, blob, sha, recipients, team, recovery in versions:
            if (path, blob) in seen:
                continue
            seen.add((path, blob))
            folder = in_folder(path)[1]
            types = stanzas(blobs.get(blob, b""))
            if types is None:
                self.add("plaintext-committed", f"{path} as committed in {sha[:10]} is not an age file: it may hold personal "
                         "data in plain text; remove it from the history", folder, rule="privacy")
                continue
            foreign = sorted(set(t for t in types if t != "X25519"))
            if foreign:
                self.add("record-foreign-stanza", f"{path} as committed in {sha[:10]} is also encrypted to a key of another "
                         f"kind ({', '.join(foreign)}); cpcm encrypts only to its team's age keys", folder, rule="recipients")
            key = (recipients, id(team), tuple(recovery))
            if key not in expected_cache:
                readers = readers_from(blobs.get(recipients)) if recipients else []
                keys = set(team.recipients_of(readers)) if team is not None else set()
                expected_cache[key] = len(keys | set(recovery))
            count = types.count("X25519")
            if count != expected_cache[key]:
                self.add("record-recipients-mismatch", f"{path} as committed in {sha[:10]} is encrypted to {count} key(s); its "
                         f"readers at that commit have {expected_cache[key]} (recovery keys included)", folder, rule="recipients")

    # each case and conference folder as it stands: readers, and every record the runner can read
    def folders(self) -> None:
        for top in TOPS:
            # a folder whose name is no case, conference or session ID holds nothing of cpcm's (its files are named,
            # unnamed, by working_tree or the history walk: its name may be someone's)
            names = [name for name in self.store.case_ids(top) if re.fullmatch(_ID, name)]
            for n in range(0, len(names), STEADY_FOLDERS):
                self.steadily(lambda chunk=names[n:n + STEADY_FOLDERS]: [self.folder(top, name) for name in chunk])

    def steadily(self, reads: Callable[[], object]) -> None:
        """`reads()` with the write generation read once before and once after all its reads
        (`CaseStore.read_steady`, as a cold fill reads a chunk) instead of around each file; when a
        write started or ended meanwhile, what it found is dropped and it runs again the usual way,
        each read checked (the last commit from then on)."""
        steady = getattr(self.store, "read_steady", None)
        found = len(self.problems)
        if steady is not None and steady(reads, self.store.generation())[1]:
            return
        del self.problems[found:]
        reads()

    def covers(self, case_id: str) -> dict[str, str]:
        """The covers a case's `recipients` file declares (layout.covers_from): they read it too."""
        try:
            return covers_from(self.store.read_bytes(case_dir(self.store.root, case_id) / RECIPIENTS).decode("utf-8", "replace"))
        except (OSError, KeyError, ValueError):
            return {}

    def restricted(self, case_id: str) -> bool:
        """Whether a case's `recipients` file says it is restricted to the managers (layout.case_restricted)."""
        return case_restricted(self.store, case_id)

    def folder(self, top: str, folder: str) -> None:
        rel = f"{folder_rel(top, folder)}/{RECIPIENTS}"
        readers, rekey = self.store.recipients_rekey(folder, top)
        if not readers:
            self.add("recipients-missing", f"{rel} is missing or empty", folder, rule="format")
            return
        if any(self.team.get(r, include_removed=True) is None for r in readers):
            self.add("recipient-not-in-team", f"{rel} names workers who are not in the team", folder, rule="recipients")
        elif top == CASES and self.restricted(folder):
            if readers != self.team.managers():
                self.add("recipients-stale", f"{rel} is restricted (cpcm retention) but does not list every active manager, "
                         "and them only: a manager runs cpcm team sync", folder, rule="recipients")
        elif top == CASES and readers != self.team.case_readers(readers[:1] + list(self.covers(folder))):
            self.add("recipients-stale", f"{rel} does not list the case's worker and every active supervisor and manager "
                     "(or lists a removed worker): a supervisor runs cpcm team sync", folder, rule="recipients")
        if self.worker.id not in readers:
            return
        if rekey:
            # told to its readers only (one a complaint is about, one an entry excludes, is never told of it); no worker named
            who = ("a manager" if top == CASES and self.restricted(folder) else "the supervisor or manager who held it"
                   if top == SUPERVISION else "a supervisor or manager who reads it")
            self.add("recipients-rekey", f"{rel} says its records are still encrypted to an earlier key of one of its "
                     f"readers (a key change made by someone who could not read it): {who} runs cpcm team sync", folder,
                     rule="recipients")
        read, unreadable = [], []
        for path in self.store.record_files(folder, top):
            try:
                read.append((path, self.store.read_file(path, self.keys)))
            except (Corrupt, CannotDecrypt) as exc:
                unreadable.append((path, exc))
        # a damaged record that a record of the folder supersedes (cpcm repair) is known and dealt with; so is one your
        # key does not open whose very bytes a repair names (left on an earlier key when the rest was re-encrypted)
        superseded = {str(r.body["supersedes"]) for _, r in read if r.body.get("supersedes")}
        records = [r for _, r in read]
        for path, exc in unreadable:
            match = RECORD_FILE.match(path.name)
            if not (match and match["id"] in superseded and (isinstance(exc, Corrupt) or self.repaired(records, match["id"], path))):
                self.add("record-unreadable", exc.message, folder, rule="format")
        if top == CASES and not unreadable and read:
            self.restriction(folder, [record for _, record in read])
        for path, record in read:
            added = self.added.get(self.store.rel(path))
            if added is None or (added.receive_from and record.id < added.receive_from):
                continue  # not committed (reported above), or imported from another agency by `receive`
            signer = self.signed.get(added.sha)
            if signer is not None and signer.signer and record.by != signer.signer:
                self.add(BY_NOT_SIGNER, f"{self.store.rel(path)} says it was written by "
                         f"'{record.by if WORKER_ID.match(str(record.by)) else '(not a worker id)'}' but commit "
                         f"{added.sha[:10]} that added it is signed by {signer.signer}", folder, SIGNING)
            elif record.by != added.author:
                self.add("record-author-mismatch", f"{self.store.rel(path)} says it was written by "
                         f"'{record.by if WORKER_ID.match(str(record.by)) else '(not a worker id)'}' but commit "
                         f"{added.sha[:10]} that added it is by {added.author or 'someone who is not a cpcm worker'}", folder)


    def repaired(self, records: list[Record], record_id: str, path) -> bool:
        """Whether a repair among `records` names the very bytes of the record file at `path` (`records.repaired_away`)."""
        try:
            return repaired_away(records, record_id, self.store.read_bytes(path))
        except OSError:
            return False

    def restriction(self, case_id: str, records: list[Record]) -> None:
        """A case whose `# restricted` line (cpcm retention --restrict) says other than its records (a restrict
        decision, ended by a later assignment): a sync merged by a worker who could not read the case picked the
        line. The problem is the one rule's (`mismatch`: what `cpcm due` and `cpcm check` say too)."""
        if self.mismatch is None:
            return
        try:
            found = self.mismatch(case_id, records, self.restricted(case_id))
        except (AttributeError, KeyError, TypeError, ValueError):
            return  # a damaged record: named above
        for each in found:  # the rule's text (what `cpcm due` and `cpcm check` say), as a check of the recipients
            self.add(RESTRICTION_MISMATCH, each.message, case_id, rule="recipients")


def _reencrypts(message: str, top: str, folder: str) -> bool:
    for pattern, scope in REENCRYPTIONS:
        match = pattern.match(message)
        if match and scope == top and match.groupdict().get("folder") in (None, folder):
            return True
    return False


def _folder_of(path: str) -> str | None:
    """The ID of the case, conference, ... folder `path` lies in (`folder_path`), for a problem's `case_id`."""
    folder = folder_path(path)
    return folder.rsplit("/", 1)[1] if folder else None


def verify(store, config, team: Team, worker: Worker, keys, mismatch: RestrictionMismatch | None = None) -> list[Problem]:
    """Every check of `cpcm verify` (see the module's docstring). `mismatch`: the problems of a case whose
    `# restricted` line says other than its records (`RestrictionMismatch`)."""
    return Audit(store, config, team, worker, keys, mismatch).run()
