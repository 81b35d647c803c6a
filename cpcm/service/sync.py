"""Working as a team: cpcm remote, sync, bundle and merge-cases.

A sync brings two copies of one casefile repository together with git: fetch (or read a
bundle), merge, push. The merge is cpcm's own, built as git objects (store/merge.py says what
each file's merge is), so git never writes a conflict marker, and the branch and the working
tree move to the merged commit in one step at the end; a sync that fails before that leaves the
repository as it was. In the same commit as the merge:

- each case's `recipients` is worked out again from the merged team, the latest assignment and
  the covers in force (workflow/cover.py `access`, the rule of every change of a case's readers),
  and the records written to other readers on either copy are re-encrypted to them (by a worker
  who can read them; otherwise the file lists every reader of its records, and the next sync of
  someone who can read the case re-encrypts them);
- records written on both copies that contradict each other (two closures, two transfer
  requests, a record added while the case was closed on the other copy, two plans, two
  assignments, two placements or two statuses of one referral that differ...) are recorded as a
  `sync_conflict` record in the case, which `cpcm check` reports until it is settled;
- two cases that drew the same ID on two copies are told apart: the later registration's case is
  given a new ID (its records move to the new folder, the new case records the old ID as an alias).

What arrived is reported with case IDs, counts and worker ids only.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from cpcm.crypto import cipher
from cpcm.domain.ids import is_id, new_case_id
from cpcm.domain.records import Record
from cpcm.domain.team import REVOKING_REASONS, Team, Worker
from cpcm.errors import CannotDecrypt, CpcmError, NotFound, Refused, UsageError
from cpcm.service import context
from cpcm.service.apart import Apart, record_kind, record_names
from cpcm.service.context import Context, case_restricted, decided_changes, keys_for, locked, new_record, recipients_bytes
from cpcm.store import codec, remote
from cpcm.store import audit
from cpcm.store.audit import team_from
from cpcm.store.faults import crash_point
from cpcm.store.git import DiskFull, GitError
from cpcm.store.layout import (CASES, RECIPIENTS, RECORD_FILE, SUPERVISION, COMPLAINTS, CONFIDENTIAL, TEAM, case_rel, covers_from,
                               current_rel, folder_of, holds_own, readers_from, record_name, rekey_from, restricted_from,
                               split_rel, with_rekey)
from cpcm.store.merge import merge_file, pick
from cpcm.store.remote import Entry, Tree
from cpcm.workflow import conferences as conference_rules
from cpcm.workflow import cover as cover_rules

CONFERENCES = "conferences"
FILE_MODE = "100644"
# the record kinds that place a case with a worker: the newest of them says whose the case is
PLACING = ("registration", "assignment", "transfer_in")

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class Synced:
    """What a sync or a bundle brought, and what the merge did (ids and counts only)."""

    remote: str | None = None
    merged: bool = False          # a merge commit was made
    fast_forward: bool = False    # the copy only moved on to the other's commit
    pushed: bool = False
    commits: int = 0
    records: int = 0
    # the records that arrived by the top folder they arrived in (cases, conferences, supervision, complaints, confidential;
    # each kind of folder none arrived in left out): a conference's records are not a case's (docs/team.md)
    records_in: dict[str, int] = field(default_factory=dict)
    cases: list[str] = field(default_factory=list)
    conferences: list[str] = field(default_factory=list)
    supervision: list[str] = field(default_factory=list)  # supervision sessions (their IDs) records arrived in
    complaints: list[str] = field(default_factory=list)  # complaints (their IDs) records arrived in
    # entries of a case's strictly confidential section (their IDs) that arrived, of those you read
    confidential: list[str] = field(default_factory=list)
    by: dict[str, int] = field(default_factory=dict)        # worker id -> records that arrived from them
    team_changes: list[str] = field(default_factory=list)   # commit messages of team changes ("team add otieno")
    settings_changes: list[str] = field(default_factory=list)  # ... of the rules and settings ("policy set: caseload.cap")
    directory_changes: list[str] = field(default_factory=list)  # ... of the service directory ("service add clinic")
    conflicts: list[dict] = field(default_factory=list)     # {case, code, records}
    reencrypted: list[str] = field(default_factory=list)    # cases re-encrypted in the merge
    not_reencrypted: list[str] = field(default_factory=list)  # cases that need someone who can read them
    # {folder, file}: record files no key opens, left as they are by a re-encryption in the merge (of folders you read)
    damaged: list[dict] = field(default_factory=list)
    # {old, new, reason: same-id, here: the case that moved is one this copy held}: a case that drew an ID already used,
    # moved by this copy's merge or by another copy's that arrived (`_moves_arrived`)
    reidentified: list[dict] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)     # cases registered on the other copy
    assigned_to_you: list[str] = field(default_factory=list)  # cases the merge made yours (an assignment on the other copy)
    assigned_away: list[str] = field(default_factory=list)    # cases that were yours and are now another worker's
    covering: list[dict] = field(default_factory=list)      # {case, until}: cases the merge made you cover (`cpcm cover` on the other copy)
    duplicates: list[dict] = field(default_factory=list)    # {case, other, reason}: probable same child
    notes: list[str] = field(default_factory=list)
    # {commit, worker, removed, cases, conferences}: commits dated after their signer's removal, made on a copy
    # that had not heard of it or after they were told of it, taken in (store/audit.py `after_removal`)
    after_removal: list[dict] = field(default_factory=list)
    # {commit, worker, folder, file}: files not encrypted that arrived, taken in (store/audit.py `plaintext_arrived`)
    plaintext_committed: list[dict] = field(default_factory=list)
    joined: bool = False          # this sync brought in a worker this copy's team did not list (`_newcomer`)
    roles: list[str] = field(default_factory=list)  # ... and the roles the team gives them
    arrived_conflicts: dict[str, set[str]] = field(default_factory=dict)  # case -> conflict records that arrived (not in JSON)
    # conference -> conflict records that arrived (its minutes written apart; not in JSON)
    arrived_conference_conflicts: dict[str, set[str]] = field(default_factory=dict)
    worker_gone: set[str] = field(default_factory=set)  # cases placed since the copies met, with a worker removed (not in JSON)
    # the authors of each complaint's records that arrived (not in JSON): counted and named only for a worker who reads
    # the complaint (`_complaints_read`), never for one it is about
    complaint_authors: dict[str, list[str]] = field(default_factory=dict)
    # the same of each strictly confidential entry (not in JSON): only for a worker who reads it
    confidential_authors: dict[str, list[str]] = field(default_factory=dict)
    # the commits that arrived touching complaints or entries only, each as the folders it touches, its message and how
    # many of `team_changes` arrived before it (not in JSON): counted in `commits`, and a team change among
    # `team_changes` in the order made, only for a worker who reads one of them (`_complaints_read`)
    private_commits: list[tuple[frozenset, str, int]] = field(default_factory=list)
    # the files not encrypted that arrived in a complaint's or an entry's folder, each as the folder (top, ID) and its
    # entry of `plaintext_committed` (not in JSON): named only to a worker who reads it (`_complaints_read`)
    private_plaintext: list[tuple[tuple[str, str], dict]] = field(default_factory=list)
    # the report of each earlier sync or bundle apply stopped after its merge, before it said what arrived (`_retold`)
    earlier: list["Synced"] = field(default_factory=list)
    stopped: dict | None = None  # of one of `earlier`: {kind: sync or bundle, date, commit: the merge it made}

    def counted(self, top: str, author: str, n: int = 1) -> None:
        """`n` records by `author` that arrived in a folder of `top` (cases, conferences...), in every count of them:
        `records`, `records_in` and `by` (a negative `n` takes back records counted twice: `_moves_arrived`)."""
        self.records += n
        for counts, key in ((self.records_in, top), (self.by, author)):
            counts[key] = counts.get(key, 0) + n
            if not counts[key]:
                del counts[key]

    def to_json(self) -> dict:
        hidden = ("arrived_conflicts", "arrived_conference_conflicts", "worker_gone", "complaint_authors", "confidential_authors",
                  "private_commits", "private_plaintext")
        found = {k: v for k, v in self.__dict__.items() if k not in hidden}
        found["earlier"] = [told.to_json() for told in self.earlier]
        return found


# -- remotes ---------------------------------------------------------------------------------------
def remote_add(ctx: Context, name: str, url: str, create: bool = False) -> dict:
    """Add a git remote (a path to a bare repository on a USB stick or a shared folder, an ssh
    or https URL). `create`: make an empty bare repository at that path first."""
    if not remote.REMOTE_NAME.match(name or ""):
        raise UsageError("NAME: use 1-32 lower-case letters, digits, '-' or '_'", "For example: cpcm remote add usb /media/usb/casefiles.git")
    if not url or url.startswith("-"):
        raise UsageError("URL: give a path or a git URL")
    git = _git(ctx)
    with ctx.store.locked():
        known = remote.remotes(git)
        if name in known:
            raise Refused(f"a remote named '{name}' exists", "Remove it first (cpcm remote remove NAME), or choose another name.",
                          rule="remote-exists")
        same = sorted(other for other, there in known.items() if _same_place(there, url))
        if create:
            from pathlib import Path

            path = Path(url).expanduser()
            if path.exists() and any(path.iterdir()):
                raise Refused("URL: --create needs an empty or new folder", rule="remote-exists")
            remote.init_bare(path)
        remote.remote_add(git, name, url)
    warnings = []
    if same:  # `git clone` names it origin: with a second name for it, a plain `cpcm sync` asks which
        warnings.append(f"the remote '{same[0]}' syncs with that place too (git clone names it origin): cpcm sync now "
                        f"needs a name; to keep one, cpcm remote remove {same[0]}")
    return {"remote": name, "warnings": warnings}


def _same_place(one: str, other: str) -> bool:
    """Whether two remote URLs are one repository: equal, or two paths to one folder."""
    if one == other:
        return True
    if "://" in one or "://" in other or ":" in one.split("/")[0] or ":" in other.split("/")[0]:
        return one.rstrip("/") == other.rstrip("/")  # ssh or https: as written
    from pathlib import Path

    try:
        return Path(one).expanduser().resolve() == Path(other).expanduser().resolve()
    except (OSError, RuntimeError):
        return False


def remote_list(ctx: Context) -> list[dict]:
    """Each remote with the commit cpcm last synced with it at (`last_synced`, None when never),
    and, for a copy made by `git clone` of it and never synced since, the commit it was copied at
    (`copied_at`)."""
    git = _git(ctx)
    rows = []
    for name, url in sorted(remote.remotes(git).items()):
        last, copied = remote.synced(git, name)
        rows.append({"name": name, "url": url, "last_synced": last, "copied_at": copied})
    return rows


def remote_remove(ctx: Context, name: str) -> dict:
    git = _git(ctx)
    with ctx.store.locked():
        if name not in remote.remotes(git):
            raise NotFound("no remote by that name", "See cpcm remote list.")
        remote.remote_remove(git, name)
    return {"remote": name, "removed": True}


def _git(ctx: Context):
    git = getattr(ctx.store, "git", None)
    if git is None:
        raise UsageError("sync works on a casefile repository on disk")
    return git


# -- sync ------------------------------------------------------------------------------------------
def sync(ctx: Context, name: str | None = None, progress: Progress = _quiet) -> Synced:
    """Fetch the remote's commits, merge them, and push the result, holding the repository lock.
    A worker this copy's team does not list yet (`ctx.joining`) takes in only a history that adds
    them (`_newcomer`)."""
    _need_identity(ctx)
    git = _git(ctx)
    urls = remote.remotes(git)
    if name is None:
        if not urls:
            raise UsageError("there is no remote to sync with", "See cpcm remote list; add one with cpcm remote add NAME URL.")
        if len(urls) > 1:
            raise UsageError("NAME: say which remote to sync with",
                             " or ".join(f"cpcm sync {known}" for known in sorted(urls)) + " (see cpcm remote list).")
        name = next(iter(urls))
    if name not in urls:
        raise NotFound("no remote by that name", "See cpcm remote list.")
    url = urls[name]
    joining = ctx.joining
    with locked(ctx), _joined(ctx):
        earlier = remote.unreported(git)  # merges of syncs stopped before they said what arrived: said by this one
        if ctx.joining:
            progress("fetching")
            with _named(url, name):
                _join(ctx, lambda: remote.fetch(git, url))
        result = Synced(remote=name)
        push_failed: GitError | None = None
        for _attempt in range(3):
            # one transaction from the fetch to the new commit: killed anywhere, the next command
            # rolls back what it left (the fetched ref, the merge index, files half checked out)
            with context.transaction(ctx, "sync") as tx:
                progress("fetching")
                try:
                    with _named(url, name):
                        theirs = remote.fetch(git, url)
                    if theirs is not None:
                        _integrate(ctx, tx, theirs, result, progress)
                finally:
                    remote.drop_ref(git, remote.INCOMING)
            crash_point("sync-merged")  # the merge is the last commit, not yet pushed (a stop point for the tests)
            head = git.head()
            held = _unpublished(ctx, theirs, head) if head and head != theirs else []
            if held:  # not pushed (`_refuse_unpublished`): the remote stays at what was fetched
                head = theirs
            elif head and head != theirs:
                progress("pushing")
                try:
                    with _named(url, name):
                        pushed = remote.push(git, url, head)
                except GitError as exc:  # the stick pulled out, the folder gone: what arrived is merged and said
                    push_failed = exc
                    break
                if not pushed:
                    continue  # the remote moved on while we merged: fetch and merge again
                result.pushed = True
                crash_point("sync-pushed")  # the remote holds it, not yet marked synced (a stop point for the tests)
            if head:
                remote.set_ref(git, f"refs/remotes/{name}/{remote.BRANCH}", head)
                remote.mark_synced(git, name, head)
            break
        else:
            raise GitError("the remote kept changing while this sync pushed (three tries); nothing is lost: "
                           "the merge is in your copy", "Run cpcm sync again.")
        git.pack_when_due()  # the merge's trees, as a commit's
        _after(ctx, result, earlier)
        _joined_now(ctx, joining, result)
        if push_failed is not None:
            _refuse_unpushed(push_failed, result)
        if held:
            _refuse_unpublished(ctx, held, result, f"cpcm sync {name}")
        _signing_key_missing(ctx, result)
    return result


def _joined_now(ctx: Context, joining: bool, result: Synced) -> None:
    """A worker whose key this copy's team did not list when the sync began, and who is a member
    now: the report says so, with their roles (`joined`, `roles`)."""
    me = ctx.team.get(ctx.worker.id) if joining and ctx.worker else None
    if me is not None and me.active:
        result.joined, result.roles = True, list(me.roles)


UNPUBLISHED = "signing-key-unpublished"
OWN_UNVERIFIED = "own-commits-unverified"


def _keyless_self(ctx: Context) -> Worker | None:
    """The worker at work, when the team records no signing key for them (added without
    --signing-key, or in a repository made before cpcm signed; `cpcm key publish` not run yet):
    every other copy's sync refuses the commits they sign (unknown-signer), so their sync does not
    push them (`_unpublished`). None otherwise."""
    me = ctx.team.get(ctx.worker.id) if ctx.worker else None
    return None if me is None or not me.active or me.signing_keys else me


def _unpublished(ctx: Context, since: str | None, head: str) -> list[tuple[str, str]]:
    """The commits after `since` (None: the whole history) up to `head` that every other copy's sync
    would refuse (`audit.incoming`, the check `_refuse_unverified` makes of what arrives), and with
    them everything the shared place holds from then on: a sync does not push them and a bundle
    does not carry them (`_refuse_unpublished`). Most often the worker's own, made while the team
    records no signing key for them (`_keyless_self`: unknown-signer), or a commit made with git
    itself rather than cpcm (unsigned-commit), or one signed with a key no copy records (a recovery
    made with a recovery key the config does not list). (short id, code) each, once. The whole check
    (each signer's role, the team as it was at each commit) is made only when a commit is not signed by
    a key the team records (`_signed_by_members`): every commit cpcm makes is, by a worker it lets make it."""
    git = _git(ctx)
    if _keyless_self(ctx) is None and _signed_by_members(ctx, git, since, head):
        return []
    found = audit.incoming(git.root, ctx.config.agency_code, since, head, ctx.team, ctx.config.recovery_signing_keys)[0]
    return list(dict.fromkeys((sha, code) for sha, code, _ in found))


def _signed_by_members(ctx: Context, git, since: str | None, head: str) -> bool:
    """Whether every commit after `since` up to `head` bears a good signature by a key the team records, not revoked
    then (`audit.signers`, as `cpcm log` shows it): two git processes and a signature checked a commit (about 0.1 ms),
    in proportion to what is sent."""
    shas = git.run(["rev-list", head, *([f"^{since}"] if since else [])]).split()
    return all(standing == "good" for _, standing in audit.signers(git.root, shas, ctx.team).values())


class NotPushed(Refused):
    """A sync that took in what arrived but did not push this copy's commits (`_unpublished`):
    the report of what arrived goes with the refusal (in JSON, under `sync`)."""

    def __init__(self, message: str, hint: str, synced: Synced, rule: str):
        super().__init__(message, hint, rule=rule)
        self.synced = synced

    def to_json(self) -> dict:
        return {**super().to_json(), "sync": self.synced.to_json()}


def _refuse_unpublished(ctx: Context, held: list[tuple[str, str]], result: Synced | None, again: str) -> None:
    """Refused (exit 4): the commits `held` (`_unpublished`) are not sent. For a sync (`result`), what
    arrived is merged and stays, and their commits stay in this copy; for a bundle, none is written.
    `again`: the command to run once they are mended. The worker's own, made before their signing key
    was recorded (signing-key-unpublished), are mended by recording it; any other (own-commits-unverified),
    such as one made with git itself, by taking it out of this copy's history: undone with git when it is
    the last commit, else with a supervisor's help; one signed with a revoked key (revoked-key), by a new
    copy from the shared place."""
    me = ctx.worker.id
    if {code for _, code in held} == {audit.UNKNOWN} and _keyless_self(ctx) is not None:
        _held_back(held, result, "of yours", "the team records no signing key for you yet, so every other copy's sync "
                   "would refuse them, and with them everything the shared place holds from then on",
                   f"Record your signing key: cpcm key publish, then {again} (or a supervisor records it: cpcm key publish "
                   f"--worker {me} --signing-key LINE, the line your cpcm key show --signing prints; then {again}).",
                   rule=UNPUBLISHED)
    last = len(held) == 1 and (_git(ctx).head() or "").startswith(held[0][0])
    undo = ("It is the last commit: undo it with git reset --soft HEAD~1, then unstage its files (git restore --staged -- "
            "FILE) and move them out of the repository" if last else "Ask a supervisor: it lies under later commits "
            "(docs/security.md#a-file-committed-by-hand)")
    if any(code == audit.REVOKED for _, code in held):
        # signed with a key this copy's team revoked, dated after the revocation (taken in with plain git, or held here
        # under a revocation dated before it, which `team revoke` no longer makes): no copy that knows of the revocation
        # takes it in, and no cpcm command takes it out; the way on is a colleague's copy's (`_refuse_revoked_here`)
        overseer = ctx.worker.has_role("supervisor", "manager")
        undo = ("A commit signed with a revoked key, dated after its revocation (revoked-key), is never taken in by a copy "
                "that knows of the revocation: keep this copy as it is (nothing in it is lost), make a new copy from the "
                "team's shared place (git clone PATH FOLDER), and write again there what this copy holds since its last "
                "sync with the team (cpcm log CASE in this copy shows it)"
                + (", a revocation made here among it (cpcm team revoke ID --lost --from DATE: from after that copy's "
                   "commits of the worker)" if overseer else "; tell a supervisor") + " (docs/security.md#a-lost-laptop-team-revoke)")
        again = ("cpcm sync" if result is not None else again) + " in the new copy"
    _held_back(held, result, "of this copy", "they do not verify (docs/exit-codes.md says what each code means; a commit "
               "made with git itself rather than cpcm is not signed: unsigned-commit), so every other copy's sync would "
               "refuse them, and with them everything the shared place holds from then on", f"See what each holds, on your own screen only: git show --stat ID (cpcm verify says what is wrong "
               f"with it). {undo}. Then {again}.", rule=OWN_UNVERIFIED)


def _held_back(held: list[tuple[str, str]], result: Synced | None, whose: str, why: str, hint: str, rule: str) -> None:
    listed = ", ".join(f"{sha} {code}" for sha, code in held[:10]) + (" …" if len(held) > 10 else "")
    if result is None:
        raise Refused(f"the bundle would carry {len(held)} commit(s) that other copies refuse: {listed}; {why}; "
                      "no bundle was written", hint, rule=rule)
    raise NotPushed(f"{len(held)} commit(s) {whose} not pushed to {result.remote}: {listed}; {why}; they stay in your "
                    "copy (nothing is lost), with what arrived merged", hint, result, rule)


class PushFailed(GitError):
    """A sync that took in what arrived (merged into this copy, its conflicts recorded) and then
    could not push: the shared place went away mid-way (a USB stick pulled out, a shared folder
    gone). The report of what arrived goes with the error (in JSON, under `sync`): the next sync
    finds nothing new to say of it."""

    def __init__(self, message: str, hint: str, synced: Synced):
        super().__init__(message, hint)
        self.synced = synced

    def to_json(self) -> dict:
        return {**super().to_json(), "error": "GitError", "sync": self.synced.to_json()}


def _refuse_unpushed(failed: GitError, result: Synced) -> None:
    """PushFailed (exit 6): the push after the merge failed (`failed`, already naming the remote). What
    arrived is in this copy, and the commits to send stay there for the next sync."""
    kept = "what arrived is merged into your copy (above), and " if result.commits else ""
    full = isinstance(failed, DiskFull)  # no stick pulled out: a disk with no room (exit 74, as for any disk full)
    refused = PushFailed(f"{failed.message}: {kept}your commits were not sent; nothing is lost, they stay in your copy",
                         failed.hint if full or getattr(failed, "own_hint", False) else f"Plug the USB stick in again (or reach the shared folder) and run cpcm "
                         f"sync {result.remote}: it sends them. Leave the stick in until the sync reports it pushed.", result)
    if full:
        refused.exit_code = DiskFull.exit_code
    raise refused


def _signing_key_missing(ctx: Context, result: Synced) -> None:
    """A note for a worker whose signing key the team does not record (`_keyless_self`): every
    other copy's sync refuses the commits they sign (unknown-signer), so a sync does not push them
    until they publish it (docs/commands/keys.md, 'cpcm key publish')."""
    if _keyless_self(ctx) is None:
        return
    result.notes.append("the team does not record your signing key yet: every other copy's sync refuses the commits you "
                        "make (unknown-signer), so cpcm sync does not push them; record it with cpcm key publish, then run "
                        "cpcm sync again")


def _need_identity(ctx: Context) -> None:
    """A sync or a bundle apply needs the worker's identity; a key this copy's team does not list
    yet (`ctx.joining`) will do."""
    if not (ctx.joining and ctx.identity is not None):
        ctx.need_worker()


@contextmanager
def _joined(ctx: Context) -> Iterator[None]:
    """A sync or bundle apply that fails leaves a joining worker's session as it found it: no worker."""
    try:
        yield
    except BaseException:
        if ctx.joining:
            ctx.worker = None
        raise


def _join(ctx: Context, bring: Callable[[], str | None]) -> None:
    """Before a joining worker's sync (or bundle apply) begins: what the other copy brings
    (`bring`: the fetch, or the bundle read) is looked at, and the sync goes on only when it is a
    history that lists their key (`_newcomer`); then `ctx.worker` is their entry in it, so that the
    sync's transaction has a worker. Nothing is trusted from here: `_integrate` checks `_newcomer`
    again on the commit it takes (the remote may have moved meanwhile) and verifies it."""
    git = _git(ctx)
    try:
        theirs = bring()
        ctx.worker = _newcomer(ctx, git.head(), theirs)
    finally:
        remote.drop_ref(git, remote.INCOMING)


def _newcomer(ctx: Context, ours: str | None, theirs: str | None):
    """The entry of a worker this copy's team does not list yet (`ctx.joining`: a key it has never
    known) in the team of `theirs`, when taking `theirs` in is what brings them in: a history that
    moves this copy on (a fast-forward: they could write nothing here) and whose team lists their
    key as an active member. Otherwise CannotDecrypt, nothing changed. Whether that history may be
    trusted is decided as for any sync, by `_refuse_unverified` from this copy's own team on."""
    git = _git(ctx)
    new = theirs is not None and ours is not None and not remote.is_ancestor(git, theirs, ours)
    if new and not remote.is_ancestor(git, ours, theirs):
        raise CannotDecrypt(
            "your key is not on this copy's team, and this copy holds commits the other copy does not: only a history "
            "that moves this copy on can bring you in; nothing was changed",
            "If this copy holds your own work made with an earlier key of yours (a key rotated on another copy), sync "
            "it with that key first (CPCM_IDENTITY=EARLIER-KEY-FILE cpcm sync), then sync again with this one. Otherwise, "
            "once a supervisor has added you and synced, start your copy again (git clone of the shared place, or cpcm "
            "bundle clone FILE PATH of a new bundle): starting again would lose what only this copy holds.")
    worker = (audit.team_at(git.root, theirs) or Team(())).by_recipient(ctx.identity.recipients) if new else None
    if worker is None:
        raise CannotDecrypt(
            f"you are not on this team yet: your key ({ctx.identity.recipient[:16]}…) is in neither this copy's team nor "
            "the other copy's; nothing was changed",
            "Ask a supervisor to add you (cpcm team add YOUR-ID --role caseworker --recipient "
            f"{ctx.identity.recipient} --signing-key KEY, KEY from cpcm key show --signing) and to sync (or to make "
            "you a bundle after adding you); then run cpcm sync (or cpcm bundle apply FILE) again. "
            + context.replace_key_hint(ctx.identity.recipient))
    return worker


@contextmanager
def _named(url: str, name: str) -> Iterator[None]:
    """git's messages with the remote's URL (a path typed by someone) replaced by its name."""
    try:
        yield
    except DiskFull as exc:  # a disk full is no unreachable remote: a push's may be the remote's (a USB stick)
        if " push " in exc.message:
            raise DiskFull(f"a disk is full: git push could not write to remote '{name}' or to this computer",
                           "Make room on the remote's disk (the USB stick) or on this computer's, and sync again; nothing "
                           "was changed by this step.") from None
        raise
    except GitError as exc:
        if getattr(exc, "locked_ref", None):  # a ref of this copy locked (store/git.py `ref_locked`): no remote's fault
            raise
        verb = exc.message.split(" failed", 1)[0]
        if "dubious ownership" in getattr(exc, "detail", exc.message):
            raise GitError(f"cannot use remote '{name}' ({verb} failed): its folder belongs to another user of this "
                           "computer, and git refuses a repository it does not own",
                           "If it is the team's shared folder and you trust it, tell git so once: git config --global --add "
                           f"safe.directory PATH, with the path cpcm remote list shows for {name} (cpcm reads that setting, "
                           "and no other of your git settings); then sync again. Nothing was changed by this step.") from None
        trouble = getattr(exc, "remote_trouble", None)  # reached, but not usable as it is (store/remote.py `_diagnose`)
        changed = " Nothing was changed by this step." if verb == "git fetch" else ""
        if trouble == "locked":
            raise _as_it_is(
                f"remote '{name}' is locked ({verb} failed): {exc.remote_lock} is there (a file git keeps while a "
                "sync writes to the remote, which one stopped halfway, a USB stick pulled out, leaves behind)",
                f"Another laptop's sync may be writing to it now: wait a minute and run cpcm sync {name} again. If it "
                f"says so again and no other laptop is syncing with it, remove that file: {exc.remote_lock} inside the "
                f"remote's folder (cpcm remote list shows where); then run cpcm sync {name} again.{changed}") from None
        if trouble == "damaged":
            raise _as_it_is(
                f"the copy on remote '{name}' is damaged ({verb} failed): an object its branch needs is corrupt or "
                "missing there (a file half-written to a USB stick pulled out)",
                "Syncing again will not mend it. Make a new copy from yours: cpcm remote add NEW PATH --create (a new "
                f"folder, on this stick or another), cpcm sync NEW, then cpcm remote remove {name}; each colleague adds "
                f"the new one and syncs with it too, which brings what only they had sent.{changed}") from None
        raise GitError(f"cannot reach remote '{name}' ({verb} failed)",
                       "Check that the remote is reachable (the USB stick plugged in, the network up) and that cpcm remote "
                       "list shows the right place; nothing was changed by this step.") from None


def _as_it_is(message: str, hint: str) -> GitError:
    """A remote reached that cannot be used as it is (exit 6, as any git failure): its hint stands
    after a failed push too (`_refuse_unpushed`), where an unreachable one's says to plug the stick in."""
    failed = GitError(message, hint)
    failed.own_hint = True
    return failed


# -- bundles ---------------------------------------------------------------------------------------
def bundle_create(ctx: Context, since: str | None = None) -> tuple[bytes | None, dict]:
    """The repository's history (after `since`, a commit) as one git bundle, age-encrypted to
    every active team member and the recovery keys; in memory (the CLI writes the file). None
    when no commit comes after `since`: there is nothing to carry, which is no failure (no file
    is written, and the command ends with 0)."""
    ctx.need_worker()
    git = _git(ctx)
    if since is not None:
        resolved = remote.rev(git, since)
        if resolved is None:
            raise UsageError("--since: not a commit of this repository", "Give a commit id from cpcm log or git log.")
        since = resolved
    head = git.head()
    if since is not None and head and remote.is_ancestor(git, head, since):
        return None, {"commit": head, "since": since, "recipients": 0}
    held = _unpublished(ctx, since, head) if head else []
    if held:
        _refuse_unpublished(ctx, held, None, "cpcm bundle create FILE")
    data = remote.bundle_create(git, since)
    recipients = [w.recipient for w in ctx.team.active] + list(ctx.config.recovery_recipients)
    return cipher.encrypt(data, recipients), {"commit": git.head(), "since": since, "recipients": len(recipients)}


def _opened_bundle(data: bytes, keys, then: str = "cpcm bundle apply FILE", ctx: Context | None = None) -> bytes:
    """A bundle file decrypted with `keys`, or with the session's (`ctx`): the worker's key, or an earlier key
    of theirs kept by `cpcm key rotate` for a bundle made before (`context.open_for_me`); Refused when it is not
    for them or not a bundle. The refusal says what to do next (`then`: the command to run with the new bundle)."""
    try:
        return context.open_for_me(ctx, data) if ctx is not None else cipher.decrypt(data, keys)
    except cipher.NotARecipient:
        # this copy's team lists you (a worker it lists as removed is refused on opening it, `member_of`), or has
        # never known your key (joining): whether the bundle's team removed you cannot be told here (the bundle
        # does not name its readers), so removal is named among the reasons, with what to do in either case
        raise Refused("the bundle is not encrypted to your key: it was made for another team, before you joined it, "
                      "or after you were removed from it",
                      "On the team: ask a supervisor to make a new bundle once their copy lists you (after cpcm team add, "
                      f"or a sync that brought it): cpcm bundle create FILE, without --since; then {then} with the new one. "
                      "Removed (a supervisor can tell you; cpcm sync says so where it reaches the team's shared place): no "
                      "bundle will be made for you; see docs/team.md, 'A worker removed on another copy', for what you "
                      "wrote since your last sync. Made before your key was replaced (cpcm key rotate)? It opens while the "
                      "earlier identity is kept beside the new one.",
                      rule="bundle-not-for-you") from None
    except cipher.Damaged:
        raise Refused("the bundle file is damaged or not a cpcm bundle; nothing was changed",
                      "A bundle cut short (a USB stick pulled out while it was written or copied) cannot be read. Make it "
                      "again on the laptop it came from (cpcm bundle create FILE), let the copy to the stick finish (eject "
                      f"the stick before pulling it out), then {then} again.", rule="bundle-damaged") from None


def bundle_apply(ctx: Context, data: bytes, progress: Progress = _quiet) -> Synced:
    """Merge a bundle made by `bundle_create` on another copy; applying it twice changes nothing.
    A worker this copy's team does not list yet (`ctx.joining`) takes in only a bundle that adds
    them, as `sync` does."""
    _need_identity(ctx)
    git = _git(ctx)
    plain = _opened_bundle(data, ctx.keys, ctx=ctx)
    result = Synced()
    joining = ctx.joining
    with locked(ctx), _joined(ctx):
        earlier = remote.unreported(git)  # as for a sync
        if ctx.joining:  # a worker this copy's team does not list yet: only a bundle that adds them (`_newcomer`)
            _join(ctx, lambda: remote.bundle_read(git, plain))
        with context.transaction(ctx, "sync") as tx:
            try:
                theirs = remote.bundle_read(git, plain)
                _integrate(ctx, tx, theirs, result, progress)
            finally:
                remote.drop_ref(git, remote.INCOMING)
        git.pack_when_due()
        _after(ctx, result, earlier)
        _signing_key_missing(ctx, result)
        _joined_now(ctx, joining, result)
    return result


def bundle_clone(root: Path, identity, data: bytes) -> dict:
    """A new copy of the repository in `root` (a new or empty folder) from a whole bundle (made
    without --since): a laptop joining a team it meets only through bundles. The copy is the
    bundle's history as it is, as `git clone` of a shared place makes one. Refused, leaving no
    folder behind, when your key is not a member of the bundle's team. {commit, cases, worker}."""
    import shutil

    from cpcm.store.git import Git
    from cpcm.store.layout import CONFIG as CONFIG_FILE

    root = Path(root).expanduser()
    if (root / CONFIG_FILE).exists():
        raise Refused("PATH is already a casefile repository",
                      "Merge the bundle into it instead: cpcm bundle apply FILE --repo PATH.", rule="init-exists")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise Refused("PATH is not empty", "Choose a new or empty folder for the copy.", rule="init-not-empty")
    plain = _opened_bundle(data, identity.keys, "cpcm bundle clone FILE PATH")
    made = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        git = Git(root)
        git.init()
        head = remote.bundle_read(git, plain)  # a bundle made --since: refused (exit 6), naming the commit
        git.run(["update-ref", f"refs/heads/{remote.BRANCH}", head])
        remote.drop_ref(git, remote.INCOMING)
        git.run(["reset", "-q", "--hard", head])
        opened = context.open_repo(root, need_identity=False)
        worker = context.member_of(opened.team, identity, opened.config.recovery_recipients)
    except BaseException:
        if made:
            shutil.rmtree(root, ignore_errors=True)
        else:  # the empty folder given: emptied again
            for child in root.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        raise
    return {"commit": head, "cases": _case_folders(git, head), "worker": worker.id}


def _case_folders(git, commit: str) -> int:
    """How many case folders the commit holds, in either casefile format (a bundle made by an older release is of
    format 1, and its copy stays so until a worker's first command in it upgrades it: store/upgrade.py)."""
    try:
        listing = git.run(["ls-tree", "-r", "-d", "--name-only", "-z", commit, "--", CASES])
    except GitError:
        return 0
    return len({folder for path in listing.split("\0") if path
                and (folder := folder_of(current_rel(f"{path}/{RECIPIENTS}"))) and folder.startswith(CASES + "/")})


# -- the merge -------------------------------------------------------------------------------------
def _integrate(ctx: Context, tx, theirs: str, result: Synced, progress: Progress) -> None:
    """Merge commit `theirs` into the current branch, in the store transaction `tx`."""
    git = _git(ctx)
    ours = git.head()
    if ours is None:
        raise UsageError("this repository has no commit yet", "Make it with cpcm init, or copy it with git clone.")
    if ctx.joining:  # not on this copy's team yet: only a fast-forward whose team lists them, verified below
        ctx.worker = _newcomer(ctx, ours, theirs)
    if remote.is_ancestor(git, theirs, ours):
        return  # nothing new
    base = remote.merge_base(git, ours, theirs)
    if base is None:
        agency = _agency_at(git, theirs)
        if agency and agency != ctx.config.agency_code:  # another agency's repository: no new copy of this one is the way
            raise Refused(f"the other copy is agency {agency}'s casefile repository, not this one ({ctx.config.agency_code}); "
                          "nothing was merged or changed",
                          f"Nothing of it belongs in this copy. Work on agency {agency}'s cases happens in a copy of its own "
                          "repository (a folder of its own: cpcm bundle clone FILE PATH, or git clone of its shared place); a "
                          "child handed over from another agency comes as a transfer (cpcm receive FILE).",
                          rule="sync-unrelated")
        raise Refused("the other copy is a different casefile repository (no common history); nothing was merged or changed",
                      "Sync only copies of one repository: start a new copy with git clone of the shared place, or "
                      "cpcm bundle clone FILE PATH from a bundle.", rule="sync-unrelated")
    _refuse_newer_format(git, theirs)
    theirs_team = audit.team_at(git.root, theirs)
    # for a joining worker too: the commit that added them included
    late, arrived, keys = _refuse_unverified(ctx, ours, theirs, theirs_team, result.remote)
    _refuse_revoked_here(ctx, ours, theirs, theirs_team)
    # whose key is revoked, on either copy (the revocation may arrive with this very sync): no advice to revoke it
    # (`keys`: both copies' teams, as the commits were checked against them)
    for entry in late:
        if entry not in result.after_removal:  # (a sync tried again after a push refused: said once)
            result.after_removal.append(entry)
            signer = keys.get(entry["worker"], include_removed=True)
            revoked = signer.revoked_from if signer else ""
            result.notes.append(f"{audit.after_removal_message(entry)}; {audit.after_removal_check(entry)}; " + (
                f"their key is revoked from {revoked}: what it signs from then is refused" if revoked else
                f"if {entry['worker']} should not have written it, cpcm team revoke {entry['worker']} --lost refuses what "
                "their key signs from now on"))
    _plaintext_arrived(git, arrived, result)
    progress("merging")
    _arrivals(git, ours, theirs, result)
    fast_forward = base == ours
    # each side as this casefile format has it (`remote.current_tree`): a case folder the upgrade to format 2 moved is
    # the same folder on every side, whether the merge base is from before the upgrade, the other copy was left by an
    # older release, or each copy made its own upgrade; and the configuration's `format:` line no change of either
    views = [remote.current_tree(git, commit) for commit in (base, ours, theirs)]
    if views[1] != ours:  # (open_repo upgrades a copy of format 1 before a sync: never so)
        raise Refused("this copy is of an earlier casefile format; nothing was merged or changed",
                      "Run any cpcm command in it with a worker's key first (it moves the case folders, one commit), then "
                      "sync again.", rule="format-old")
    # only what either side changed (and the team file, which decides who reads what)
    trees = remote.trees_of_change(git, *views, _folder, always=(TEAM,))
    merged, message_counts = _merge(ctx, *trees, fast_forward, result)
    _assignments(ctx, git, trees[1], merged, result)
    _covers_given(ctx, git, trees[1], merged, result)
    parent_tree = trees[2] if fast_forward else trees[1]
    changes: dict[str, Entry | None] = {p: e for p, e in merged.items() if parent_tree.get(p) != e}
    changes.update({p: None for p in parent_tree if p not in merged})
    worker = ctx.need_worker()
    email = context.commit_email(ctx.config, worker)
    if fast_forward and not changes:
        new = theirs
        result.fast_forward = True
    else:
        tree_id = remote.tree_of(git, theirs if fast_forward else ours, changes)
        if fast_forward:
            new = remote.commit_tree(git, tree_id, [theirs], f"sync reencrypt {message_counts} cases", worker.name, email)
            result.fast_forward = True
        else:
            new = remote.commit_tree(git, tree_id, [ours, theirs], f"sync merge {theirs[:10]}", worker.name, email)
            result.merged = True
    progress("updating files")
    # what it brought is said after the merge, and the cases registered on the other copy checked (`_after`); or, if
    # this sync stops first, by the next (`_retold`)
    remote.note_merged(git, remote.Unreported("sync" if result.remote else "bundle", ctx.now.isoformat(timespec="minutes"),
                                              ours, theirs, new),
                       [c for c in (*result.registered, *(r["new"] for r in result.reidentified)) if is_id(c, "CP")])
    tx.move_to(new)
    try:
        context.refresh(ctx)
    except CannotDecrypt:
        # the merge brought a new key of this worker (cpcm key rotate on another copy): this sync
        # with the old key re-encrypted what only it could read; it is pushed, and that is all
        mine = ctx.team.get(ctx.worker.id) if ctx.worker and ctx.identity else None
        if mine is None or not any(k.recipient in ctx.identity.recipients for k in mine.past_keys):
            raise
        result.notes.append("your key was replaced on another copy (cpcm key rotate): this sync is done; use your new "
                            "identity from now on")
    _placed_gone(ctx, trees[0], merged, result)


def _placed_gone(ctx: Context, base: Tree, merged: dict[str, Entry], result: Synced) -> None:
    """The cases a registration, assignment or receipt reached since the merge `base`, when the merged team has
    removed a worker: each may be one of theirs (`_workers_gone`)."""
    if any(not w.active for w in ctx.team.workers):
        result.worker_gone |= {split[1] for p in merged if p not in base and (split := split_rel(p)) is not None
                               and split[0] == CASES and _is_record(p) and record_kind(split[2]) in PLACING}


def _assignments(ctx: Context, git, ours: Tree, merged: dict[str, Entry], result: Synced) -> None:
    """The cases whose worker (the first reader of `recipients`) the merge changes to or from the
    one who syncs: a case reassigned on the other copy, a new case assigned to them. Only where a
    registration, assignment or receipt arrived: a team change alone (a removed worker's closed
    case) changes the first reader without giving the case to anyone. A case of this copy given a new ID (`here`:
    `_reidentify`) was whoever's its old ID's was; the other copy's case that keeps that ID was nobody's here."""
    me = ctx.worker.id if ctx.worker else None
    was: dict[str, str | None] = {}
    for moved in (r for r in result.reidentified if r["here"]):
        old = f"{case_rel(moved['old'])}/{RECIPIENTS}"
        was.update({f"{case_rel(moved['new'])}/{RECIPIENTS}": old, old: None})
    placed = {_folder(p) for p in merged if p not in ours and _is_record(p) and record_kind(_name(p)) in PLACING}
    changed = {p: e for p, e in merged.items() if p.startswith(CASES + "/") and p.endswith("/" + RECIPIENTS) and _folder(p)
               and _before(ours, was, p) != e and _folder(p) in placed}
    if me is None or not changed:
        return
    blobs = remote.read_blobs(git, [x.blob for p, e in changed.items() for x in (e, _before(ours, was, p)) if x])

    def worker(entry: Entry | None) -> str | None:
        return (readers_from(blobs.get(entry.blob)) or [None])[0] if entry else None
    for path, entry in sorted(changed.items()):
        before, after = worker(_before(ours, was, path)), worker(entry)
        if before != after and me in (before, after):
            (result.assigned_to_you if after == me else result.assigned_away).append(_id_of(_folder(path)))


def _before(ours: Tree, was: dict[str, str | None], path: str) -> Entry | None:
    """This copy's entry of `path` before the merge, as `was` maps the files of a case given a new ID (`_assignments`)."""
    path = was.get(path, path)
    return ours.get(path) if path else None


def _covers_given(ctx: Context, git, ours: Tree, merged: dict[str, Entry], result: Synced) -> None:
    """The cases the merge makes the one who syncs cover (a cover recorded on the other copy), with
    its end, as the merged `recipients` files say: only where a cover record arrived, and only a
    cover in force now that this copy did not have with that end."""
    me = ctx.worker.id if ctx.worker else None
    arrived = {_folder(p) for p in merged if p not in ours and _is_record(p) and p.startswith(CASES + "/")
               and record_kind(_name(p)) == cover_rules.KIND}
    changed = {f"{folder}/{RECIPIENTS}" for folder in arrived}
    changed = {p: merged[p] for p in changed if p in merged and ours.get(p) != merged[p]}
    if me is None or not changed:
        return
    blobs = remote.read_blobs(git, [x.blob for p, e in changed.items() for x in (e, ours.get(p)) if x])
    for path, entry in sorted(changed.items()):
        after = cover_rules.in_force(covers_from(blobs.get(entry.blob, b"").decode("utf-8", "replace")), ctx.now).get(me)
        before_entry = ours.get(path)
        before = covers_from(blobs.get(before_entry.blob, b"").decode("utf-8", "replace")).get(me) if before_entry else None
        if after and after != before:
            result.covering.append({"case": _id_of(_folder(path)), "until": after})


def _config_at(git, commit: str) -> dict:
    """The configuration at `commit` as its YAML reads; {} where it cannot be read (left to the checks after)."""
    from cpcm.store.layout import CONFIG

    try:
        data = codec.loads(git.run(["show", f"{commit}:{CONFIG}"]))
    except (GitError, codec.BadYaml):
        return {}
    return data if isinstance(data, dict) else {}


def _agency_at(git, commit: str) -> str | None:
    """The agency code in the configuration at `commit` (a code, never a name: it may be printed), or None."""
    from cpcm.domain.ids import AGENCY_CODE

    agency = _config_at(git, commit).get("agency")
    code = agency.get("code") if isinstance(agency, dict) else None
    return code if isinstance(code, str) and AGENCY_CODE.match(code) else None


def _refuse_newer_format(git, theirs: str) -> None:
    """The other copy's casefile format, from its configuration: nothing is merged from a newer
    one (`config.check_format`). A configuration that cannot be read is left to the checks after."""
    from cpcm.store.config import check_format

    data = _config_at(git, theirs)
    if data:
        check_format(data.get("format", 1), "the other copy")


def _refuse_unverified(ctx: Context, ours: str, theirs: str, theirs_team: Team | None,
                       remote_name: str | None = None) -> tuple[list[dict], list[audit.Commit], Team]:
    """Every commit the other copy brings must be signed by a team member active then whose role
    allows what it records (store/audit.py `incoming`, the checks of `cpcm verify`); otherwise
    nothing is merged. Names the commits by short id and problem code only. Returns the commits
    that pass and are dated after their signer's removal (`audit.after_removal`), to be named,
    every commit it brings, with what each changed (`_plaintext_arrived`), and the keys they were
    checked against (`keyring` of both copies' teams: a late signer's revocation is named from them).
    `theirs_team`: the other copy's team file, read once for the merge. `remote_name`: the remote synced with (None for a bundle); a remote that holds a commit signed
    with a revoked key refuses every sync with it, so the supervisor is told how to move to another."""
    root = _git(ctx).root
    found, late, arrived, keys = audit.incoming(root, ctx.config.agency_code, ours, theirs, ctx.team,
                                                ctx.config.recovery_signing_keys, theirs_team, ctx.keys)
    if found:
        each = list(dict.fromkeys((sha, code) for sha, code, _ in found))  # (a commit that deletes two records: once)
        listed = ", ".join(f"{sha} {code}" for sha, code in each[:10]) + (" …" if len(each) > 10 else "")
        overseer = ctx.worker is not None and not ctx.joining and ctx.worker.has_role("supervisor", "manager")
        keyless = (audit.keyless_authors(root, ctx.config.agency_code, ours, theirs, ctx.team, ctx.config.recovery_signing_keys)
                   if any(code == audit.UNKNOWN for _, code, _ in found) else {})
        what = "the other copy holds commits not signed by a team member who may make them (docs/security.md#signed-history)"
        if keyless and all(code == audit.UNKNOWN and sha in keyless for sha, code, _ in found):
            hint = _keyless_hint(keyless, overseer)
        else:
            hint = (f"Do not take it in: {what}; each code is explained in docs/exit-codes.md. A commit signed with a revoked key "
                    "(revoked-key) is never taken in: what it holds is written again by a member. Your copy is unchanged."
                    if overseer else f"Ask a supervisor: {what}. Your copy is unchanged.")
            if overseer and remote_name is not None:
                # the shared place holds them, for every copy: the same way on whatever they are (no cpcm command takes a
                # commit out of a shared place)
                revoked = any(code == audit.REVOKED for _, code, _ in found)
                hint += (f" While {remote_name} holds them, every sync with it is refused: move the team to a new shared place"
                         + (" that the revoked key's holder cannot reach" if revoked else "") +
                         f" (cpcm remote add NEW PATH --create, then cpcm sync NEW; each colleague adds it and syncs with it "
                         f"too), stop using this one (cpcm remote remove {remote_name}), and take it out of use "
                         "(docs/security.md#when-a-worker-leaves).")
            if keyless:
                hint += " " + _keyless_hint(keyless, overseer, alone=False)
        raise Refused(f"the other copy brings {len({sha for sha, _, _ in found})} commit(s) that do not verify: {listed}; "
                      "nothing was merged", hint, rule="sync-unverified")
    return late, arrived, keys


def _plaintext_arrived(git, arrived: list[audit.Commit], result: Synced) -> None:
    """The files not encrypted that the commits taken in write (`audit.plaintext_arrived`: what `cpcm verify` reports as
    plaintext-committed), each named on a line of the report; one in a complaint's or a strictly confidential entry's
    folder only to a worker who reads it, after the merge (`_complaints_read`). Taken in all the same: the commit is a
    team member's, its file is already on the remote and on its maker's copy, and a refusal would stop every
    colleague's sync until the history is rewritten (docs/team.md#a-file-not-encrypted-that-arrives)."""
    for path, entry in audit.plaintext_arrived(git.root, arrived):
        folder = audit.folder_path(path)  # (a file at any depth in it)
        private = _private_folders((f"{folder}/{RECIPIENTS}",)) if folder else frozenset()
        if private:
            result.private_plaintext.append((next(iter(private)), entry))
        else:
            _plaintext_said(result, entry)


def _plaintext_said(result: Synced, entry: dict) -> None:
    if entry not in result.plaintext_committed:  # (a sync tried again after a push refused: said once)
        result.plaintext_committed.append(entry)
        result.notes.append(audit.plaintext_arrived_message(entry))


def _revocations(team: Team | None) -> set[tuple[str, str, str]]:
    return {(w.id, k.key, k.revoked) for w in (team.workers if team else ()) for k in w.signing_keys if k.revoked}


def _refuse_revoked_here(ctx: Context, ours: str, theirs: str, theirs_team: Team | None) -> None:
    """This copy's own commits that the other copy's team refuses: signed with a key it revoked, at a
    time after the revocation, and taken in here before the revocation reached this copy (from a
    shared place the key's holder could still push to). Merged and pushed, they would reach every
    copy that knows of the revocation, and each would refuse the shared place whole; so nothing is
    merged. Looked for only when the other copy's team revokes a key this copy's does not."""
    if not _revocations(theirs_team) - _revocations(ctx.team):
        return
    root = _git(ctx).root
    _refuse_removed(ctx, theirs_team)  # the copy of a worker removed, or of a key replaced as stolen: refused as such
    found = audit.incoming(root, ctx.config.agency_code, theirs, ours, theirs_team, ctx.config.recovery_signing_keys)[0]
    revoked = sorted({sha for sha, code, _ in found if code == audit.REVOKED})
    if not revoked:
        return
    listed = ", ".join(f"{sha} {audit.REVOKED}" for sha in revoked[:10]) + (" …" if len(revoked) > 10 else "")
    raise Refused(
        f"this copy holds {len(revoked)} commit(s) signed with a key the other copy's team has revoked, dated after the "
        f"revocation: {listed}; they came in before the revocation reached this copy; nothing was merged or pushed",
        "The team's copies never take them in, so this copy can no longer sync. Keep it as it is (nothing in it is lost) "
        "and make a new copy from the team's shared place (git clone PATH FOLDER, or cpcm bundle clone FILE FOLDER from a "
        "supervisor's bundle); in the new copy, write again what you wrote here since your last sync with the team "
        "(cpcm log CASE in this copy shows it). Tell a supervisor (docs/security.md#when-a-worker-leaves).",
        rule="sync-unverified")


def _keyless_hint(keyless: dict[str, str], overseer: bool, alone: bool = True) -> str:
    """What to do about commits signed by a key no team member has, made as a member for whom the
    team records no signing key (`audit.keyless_authors`): either that member signed them before
    their key was recorded, and recording it lets them in, or someone else made them in that
    member's name, and they are not taken in. The history alone does not tell which: both are named."""
    said = []
    for worker in sorted(set(keyless.values())):
        shas = ", ".join(sha for sha, who in keyless.items() if who == worker)
        record = (f"or record it yourself: cpcm key publish --worker {worker} --signing-key LINE, the line {worker}'s "
                  "cpcm key show --signing prints" if overseer else "or a supervisor records it: cpcm key publish --worker "
                  f"{worker} --signing-key LINE")
        said.append(f"{shas} (unknown-signer) {'was' if ', ' not in shas else 'were'} made as {worker}, for whom the team "
                    f"records no signing key yet. If {worker} made them, {worker} runs cpcm key publish and cpcm sync on "
                    f"their copy ({record}); then cpcm sync again takes them in. If {worker} did not make them, someone "
                    "else signed in their name: do not take them in.")
    return " ".join(said) + (" Your copy is unchanged." if alone else "")


def _arrivals(git, ours: str, theirs: str, result: Synced) -> None:
    cases, conferences, registered = set(result.cases), set(result.conferences), set(result.registered)
    sessions = set(result.supervision)
    folders = {CASES: cases, CONFERENCES: conferences, SUPERVISION: sessions}
    copies: dict[str, tuple[str, str]] = {}  # record file name -> (case, author): a case record a sync merge added itself
    commits = remote.arrived(git, ours, theirs)
    for commit in commits:
        private = _private_folders(commit.paths)
        if private:  # only complaints or entries: counted, and its message said where the team changes before it
            # end, after the merge, where this worker reads one of them (`_complaints_read`)
            result.private_commits.append((private, commit.message, len(result.team_changes)))
        else:
            result.commits += 1
            if commit.message.startswith("team "):
                result.team_changes.append(commit.message)
            elif commit.message.startswith(("policy set", "config set", "form set")):
                result.settings_changes.append(commit.message)
            elif commit.message.startswith("service "):
                result.directory_changes.append(commit.message)
        merge = audit.SYNC_MERGE.match(commit.message) is not None
        for path in commit.added:  # (as this casefile format names them: remote.arrived)
            split = split_rel(path)
            if split is None or not RECORD_FILE.match(split[2]):
                continue
            top, folder_id, name = split
            if top == COMPLAINTS:
                result.complaint_authors.setdefault(folder_id, []).append(commit.author)
            elif top == CONFIDENTIAL:
                result.confidential_authors.setdefault(folder_id, []).append(commit.author)
            elif top in folders:
                result.counted(top, commit.author)
                folders[top].add(folder_id)
                if top == CASES and record_kind(name) == "registration":
                    registered.add(folder_id)
                if merge and top == CASES and record_kind(name) != "sync_conflict":
                    copies[name] = (folder_id, commit.author)  # (a record moved to a case's new ID, or its case_link)
                _conflict_arrived(result, top, folder_id, name)  # found by the other copy's merge
    if copies:
        _moves_arrived(git, ours, commits, copies, result, cases, registered)
    result.cases, result.conferences, result.registered = sorted(cases), sorted(conferences), sorted(registered)
    result.supervision = sorted(sessions)


def _moves_arrived(git, ours: str, commits: list[remote.Arrived], copies: dict[str, tuple[str, str]], result: Synced,
                   cases: set[str], registered: set[str]) -> None:
    """The cases another copy's merge gave a new ID (`_reidentify`), found by their records' file names, without opening
    one: a record that merge added to the new case's folder (`copies`) holds the name of the record it moved, which
    arrived in the old case's folder with the commit that wrote it (`_originals`), or was in this copy's own (the case
    registered here is the one that moved: `_own_moved`). Each move is said as this copy's merge says its own
    (`reidentified`, with `here`), and its records are counted once, where they are now: in the new case, by the
    workers who wrote them; not as arrived in the old case too, nor as written by the worker who merged, nor at all when
    they were this copy's already. The old case stays among those records arrived in only when others did."""
    moved, stayed, registrations = _originals(commits, copies)
    moves = {pair: (False, names) for pair, names in _by_move(moved, copies).items()}
    moves.update(_own_moved(git, ours, copies, set(moved), registrations))
    for (old, new), (here, names) in sorted(moves.items()):
        for name in names:
            result.counted(CASES, copies[name][1], -1)
        if old not in stayed:
            cases.discard(old)
        if old not in registrations:
            registered.discard(old)
        told = {"old": old, "new": new, "reason": "same-id", "here": here}
        if told not in result.reidentified:  # (a sync tried again after a push refused: said once)
            result.reidentified.append(told)


def _originals(commits: list[remote.Arrived], copies: dict[str, tuple[str, str]]
               ) -> tuple[dict[str, str], set[str], set[str]]:
    """Of the case records the commits but sync merges added: the name -> case of each that a merge then moved to
    another case (a copy of the same name there); the cases a record arrived in that stays there; and those of them a
    registration arrived in."""
    moved: dict[str, str] = {}
    stayed: set[str] = set()
    registrations: set[str] = set()
    for commit in commits:
        if audit.SYNC_MERGE.match(commit.message):
            continue
        for path in commit.added:
            split = split_rel(path)
            if split is None or split[0] != CASES or not RECORD_FILE.match(split[2]):
                continue
            if split[2] in copies and copies[split[2]][0] != split[1]:
                moved[split[2]] = split[1]
                continue
            stayed.add(split[1])
            if record_kind(split[2]) == "registration":
                registrations.add(split[1])
    return moved, stayed, registrations


def _by_move(moved: dict[str, str], copies: dict[str, tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """The names of the records `moved` (name -> old case), by move: (old case, new case)."""
    found: dict[tuple[str, str], list[str]] = {}
    for name, old in sorted(moved.items()):
        found.setdefault((old, copies[name][0]), []).append(name)
    return found


def _own_moved(git, ours: str, copies: dict[str, tuple[str, str]], matched: set[str],
               clashed: set[str]) -> dict[tuple[str, str], tuple[bool, list[str]]]:
    """The moves of a case registered on this copy (old, new) -> (True, the names of its records): the registration a
    merge added to the new case's folder is one this copy holds in the folder of a case whose other registration
    arrived (`clashed`); with it, those of the merge's other records this copy holds there (not its case_link). Looked
    up in this copy's tree (`Git.present`), only when a merge added a registration that did not arrive itself."""
    firsts = {new: name for name, (new, _) in copies.items() if name not in matched and record_kind(name) == "registration"}
    asked = {f"{ours}:{case_rel(old)}/{name}": (old, new) for new, name in firsts.items() for old in clashed - {new}}
    found = {asked[line] for line in git.present(asked)}
    if not found:
        return {}
    names = {pair: [name for name, (new, _) in copies.items() if new == pair[1] and name not in matched] for pair in found}
    held = git.present(f"{ours}:{case_rel(old)}/{name}" for (old, _), each in names.items() for name in each)
    return {(old, new): (True, sorted(n for n in each if f"{ours}:{case_rel(old)}/{n}" in held))
            for (old, new), each in names.items()}


def _conflict_arrived(result: Synced, top: str, folder_id: str, name: str) -> None:
    """A record file that arrived, when it is a conflict a merge found in a case or a conference: its report says it
    (`_conflicts_arrived`) while it is open."""
    if top in (CASES, CONFERENCES) and record_kind(name) == "sync_conflict":
        arrived = result.arrived_conflicts if top == CASES else result.arrived_conference_conflicts
        arrived.setdefault(folder_id, set()).add(name.split(".", 1)[0])


def _retold(ctx: Context, merge: remote.Unreported) -> Synced | None:
    """The report of a merge that its sync (or bundle apply) did not give, stopped after it (`remote.note_merged`),
    made again from its commits by the code that made it then: what arrived between `ours` and `theirs`
    (`_arrivals`), with the files not encrypted among it (`_plaintext_arrived`); the cases the merged commit made or
    stopped being the worker's, or has them cover; and the conflicts in it (found by either copy's merge) still open
    now (`_told`). None when the merge is not in this
    copy's history (its sync was stopped before the branch moved: nothing of it stands), or git cannot read it."""
    git = _git(ctx)
    head = git.head()
    try:
        base = remote.merge_base(git, merge.ours, merge.theirs)
        if head is None or base is None or not remote.is_ancestor(git, merge.merged, head):
            return None
        result = Synced(stopped={"kind": merge.kind, "date": merge.date, "commit": merge.merged})
        _arrivals(git, merge.ours, merge.theirs, result)
        _plaintext_arrived(git, audit.history(git.root, ctx.config.agency_code, [merge.theirs, f"^{merge.ours}"]), result)
        views = [remote.current_tree(git, commit) for commit in (base, merge.ours, merge.merged)]
        older, ours, merged = remote.trees_of_change(git, *views, _folder, always=(TEAM,))
    except GitError:
        return None
    _assignments(ctx, git, ours, merged, result)
    _covers_given(ctx, git, ours, merged, result)
    _placed_gone(ctx, older, merged, result)
    for path in merged:  # the conflicts the merge itself found (with those that arrived)
        if path not in ours and _is_record(path):
            _conflict_arrived(result, *split_rel(path))
    _told(ctx, result)
    return result


def _private_folders(paths: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    """The complaints and strictly confidential entries (top, ID) a commit touches when it touches
    nothing else (empty otherwise): such a commit is counted only to a worker who reads one of them."""
    found = set()
    for path in paths:
        split = split_rel(path)
        if split is None or split[0] not in (COMPLAINTS, CONFIDENTIAL):
            return frozenset()
        found.add((split[0], split[1]))
    return frozenset(found)


def _folder(path: str) -> str | None:
    """The folder (`layout.folder_rel`: cases/4F/CP-..., conferences/CC-...) of a file directly in one; None for another path."""
    return folder_of(path)


def _is_record(path: str) -> bool:
    """Whether `path` is a record file of a folder of records."""
    split = split_rel(path)
    return split is not None and bool(RECORD_FILE.match(split[2]))


def _name(path: str) -> str:
    """A file's name (the last part of its path)."""
    return path.rpartition("/")[2]


def _id_of(folder: str) -> str:
    """The ID of the case, conference, session, complaint or entry whose folder (`layout.folder_rel`) is `folder`."""
    return folder.rpartition("/")[2]


def _merge(ctx: Context, base: Tree, ours: Tree, theirs: Tree, fast_forward: bool, result: Synced) -> tuple[dict[str, Entry], int]:
    """The merged tree (path -> Entry), with recipients worked out again, records re-encrypted
    and conflict records added; and how many cases were re-encrypted."""
    git = _git(ctx)
    objects = remote.Objects(git)
    base, ours, theirs = _follow_moves(ctx, base, ours, theirs, objects, result)
    merged: dict[str, Entry] = {}
    both_files: list[str] = []
    both_records: set[str] = set()
    for path in set(base) | set(ours) | set(theirs):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if o == t:
            chosen = o
        elif o == b:
            chosen = t
        elif t == b:
            chosen = o
        elif _is_record(path):
            # the same record changed on both copies (re-encrypted to other readers): kept, re-encrypted below
            chosen = o if t is None else t if o is None else min(o, t, key=lambda e: e.blob)
            if o is not None and t is not None:
                both_records.add(path)
        elif path.endswith("/" + RECIPIENTS) and _folder(path):
            chosen = o or t  # worked out again below
        else:
            chosen = o
            both_files.append(path)
        if chosen is not None:
            merged[path] = chosen
    if both_files:
        blobs = remote.read_blobs(git, [e.blob for p in both_files for e in (base.get(p), ours.get(p), theirs.get(p)) if e])

        def content(tree: Tree, path: str) -> bytes | None:
            entry = tree.get(path)
            return blobs[entry.blob] if entry else None
        for path in sorted(both_files):
            data, notes = merge_file(path, content(base, path), content(ours, path), content(theirs, path))
            result.notes.extend(notes)
            merged[path] = Entry(FILE_MODE, objects.put(data))
    team = _team(git, merged, objects)
    _refuse_removed(ctx, team, nothing_here_only=fast_forward)
    # each side's team: a record a side holds is encrypted to its readers' keys in that side's team
    # (a key rotated on the other copy makes it stale though its readers are the same worker ids)
    side_teams = (_team(git, base, objects), _team(git, ours, objects), _team(git, theirs, objects))
    touched_ours = {_folder(p) for p in set(base) | set(ours) if base.get(p) != ours.get(p)} - {None}
    touched_theirs = {_folder(p) for p in set(base) | set(theirs) if base.get(p) != theirs.get(p)} - {None}
    folders = sorted(touched_ours | touched_theirs)
    recipient_blobs = remote.read_blobs(git, [e.blob for f in folders for tree in (base, ours, theirs)
                                              if (e := tree.get(f"{f}/{RECIPIENTS}"))])

    def readers(tree: Tree, folder: str) -> list[str]:
        entry = tree.get(f"{folder}/{RECIPIENTS}")
        return readers_from(recipient_blobs.get(entry.blob)) if entry else []

    def covers(tree: Tree, folder: str) -> dict[str, str]:
        entry = tree.get(f"{folder}/{RECIPIENTS}")
        return covers_from(recipient_blobs.get(entry.blob, b"").decode("utf-8", "replace")) if entry else {}

    in_folder: dict[str, list[str]] = {}
    wanted_folders = set(folders)
    for path in merged:
        folder = _folder(path)
        if folder in wanted_folders and _is_record(path):
            in_folder.setdefault(folder, []).append(path)
    reencrypted = 0
    restrictions: dict[str, bool] = {}  # case id -> restricted after the merge, as decided for its folder (cases/ first)
    for folder in folders:
        assert folder is not None
        if folder.startswith(CASES + "/") and folder not in _folders(base) and folder in _folders(ours) \
                and folder in _folders(theirs) and _registrations(ours, folder) != _registrations(theirs, folder) \
                and not fast_forward:
            _reidentify(ctx, folder, base, ours, theirs, merged, team, result, objects, covers)
            continue
        both_sides = folder in touched_ours and folder in touched_theirs and not fast_forward
        read: dict[str, Record] = {}  # a conference's records decrypted for its minutes check, taken again for its readers
        new_records = [] if not both_sides or folder.startswith((SUPERVISION + "/", COMPLAINTS + "/", CONFIDENTIAL + "/")) \
            else _conflicts(ctx, folder, base, ours, theirs, result) if folder.startswith(CASES) \
            else _conference_conflicts(ctx, folder, base, ours, theirs, result, read)
        done = _recipients(ctx, folder, sorted(in_folder.get(folder, ())), base, ours, theirs, merged, both_records,
                           team, readers, new_records, result, objects, recipient_blobs, side_teams, covers, read,
                           restrictions)
        # the commit's message is read by every copy: it counts cases and conferences, never a complaint, a strictly
        # confidential entry or a session (a worker a complaint is about would learn that one exists; team sync's rule)
        if folder.startswith((CASES + "/", CONFERENCES + "/")):
            reencrypted += done
    objects.flush()
    return merged, reencrypted


def _refuse_removed(ctx: Context, team: Team, nothing_here_only: bool = False) -> None:
    """Nothing is merged by a worker whom the merged team has removed (`team remove` or `team
    revoke` on the other copy): the merge would re-encrypt what they wrote here away from them,
    in a commit no other copy takes from them. `nothing_here_only`: this copy holds no commit the
    other lacks (everything here reached the team at the last sync): the hint says no bundle is
    needed, in place of asking for one a supervisor would apply for nothing."""
    me = ctx.need_worker()
    found = team.get(me.id, include_removed=True)
    if found is not None and ctx.identity is not None and found.revoked_past_key(ctx.identity.recipients):
        raise CannotDecrypt(
            f"your key was replaced on the other copy as {'/'.join(REVOKING_REASONS)}: nothing was merged, and this copy "
            "no longer syncs", "What this key signs from that change on is refused by every copy. What you wrote here "
            "before it is on this copy only: make a bundle of it (cpcm bundle create FILE) and give it to a supervisor, "
            "who applies it (cpcm bundle apply FILE): what was signed before the change joins the team's copies (a bundle "
            "holding a commit signed after it is refused whole: revoked-key). Then work from a copy made with your new "
            "identity (git clone of the shared place, or cpcm bundle clone FILE PATH).")
    if found is None or found.active:
        return
    kept = ("Nothing is lost: everything on this copy reached the team's copies at your last sync, so no bundle is "
            "needed. " if nothing_here_only else
            "What you wrote here since your last sync is on this copy only: make a bundle of it (cpcm bundle create FILE) "
            "and give it to a supervisor, who applies it (cpcm bundle apply FILE): your records join the team's copies, "
            "re-encrypted to their readers. ")
    raise CannotDecrypt(
        f"you ({me.id}) were removed from the team on the other copy; nothing was merged, and this copy no longer syncs",
        kept + "A worker id is never used again: to work in the team again, ask a supervisor "
        "to add you under a new id. See docs/team.md, 'A worker removed on another copy'.")


def _folders(tree: Tree) -> set[str]:
    return tree.folders()


def _registrations(tree: Tree, folder: str) -> list[str]:
    return sorted(f"{folder}/{n}" for n in tree.names(folder) if record_kind(n) == "registration")


def _team(git, merged: dict[str, Entry], objects) -> Team:
    entry = merged.get(TEAM)
    data = (objects.get(entry.blob) or remote.read_blobs(git, [entry.blob])[entry.blob]) if entry else None
    team = team_from(data) if data is not None else None
    return team or Team(())


def _conflicts(ctx: Context, folder: str, base: Tree, ours: Tree, theirs: Tree, result: Synced) -> list:
    """Conflict records for what the two copies wrote to one case apart (service/apart.py)."""
    case_id = _id_of(folder)
    found = Apart(_git(ctx), ctx.keys, folder, base, ours, theirs,
                  decided=lambda kind, before, after: decided_changes(ctx, kind, before, after)).conflicts()
    records = []
    for code, record_ids, *about in found:  # about: what the conflict is about besides its records (ids, field names)
        record_ids = sorted(record_ids)
        result.conflicts.append({"case": case_id, "code": code, "records": record_ids})
        records.append(new_record(ctx, "sync_conflict", case_id, {"code": code, "records": record_ids, **(about[0] if about else {})}))
    return records


def _decrypted(ctx: Context, entries: dict[str, Entry], paths: Iterable[str],
               read: dict[str, Record] | None = None) -> list[Record] | None:
    """The records at `paths` of `entries` (a copy's tree, or the merged one), read in one git
    process, decrypted and parsed, in the order of their paths; None when this worker cannot read
    one of them, or one is damaged (cpcm verify names it). `read`: blob -> record, those of the
    folder decrypted already in this merge (a conference's, for its minutes check, then for its
    readers: one blob, one record): taken from there, and those decrypted here added to it. A record whose
    file's name is not its own (`layout.holds_own`: another ID, kind or case) is damaged, as every reader has it."""
    paths = sorted(paths)
    read = {} if read is None else read
    wanted = list(dict.fromkeys(entries[p].blob for p in paths if entries[p].blob not in read))
    contents = remote.read_blobs(_git(ctx), wanted) if wanted else {}
    try:
        for blob in wanted:
            read[blob] = Record.from_dict(codec.loads(cipher.decrypt(contents[blob], ctx.keys)))
    except (cipher.NotARecipient, cipher.Damaged, codec.BadYaml, AttributeError, KeyError, TypeError, ValueError):
        return None
    records = [read[entries[p].blob] for p in paths]
    return records if all(holds_own(path, record) for path, record in zip(paths, records)) else None


def _conference_conflicts(ctx: Context, folder: str, base: Tree, ours: Tree, theirs: Tree, result: Synced,
                          read: dict[str, Record] | None = None) -> list:
    """Conflict records for what the two copies wrote to one conference apart: its minutes recorded
    (or replaced) on both, or on one while the other closed it, and standing differently on each
    copy (conference_rules.MINUTES_CONCURRENT). The same minutes on both copies are none. Some of
    the records unreadable here: every record written apart that may hold minutes (and the close)
    is named, not compared (`compared`: false in the report); the conference's readers' fold tells
    whether they differ."""
    conference_id = _id_of(folder)
    trees = (ours, theirs)
    mine, other, before = record_names(ours, folder), record_names(theirs, folder), record_names(base, folder)
    sides = [sorted(mine - other - before), sorted(other - mine - before)]
    if not sides[0] or not sides[1]:
        return []

    def minuting(records: list[Record]) -> list[str]:
        return [r.id for r in records if r.kind == "minutes" or (r.kind == "conference_update" and isinstance(
            (r.body.get("changes") or {}).get(conference_rules.MINUTES), dict))]

    candidates = [[n for n in side if record_kind(n) in ("minutes", "conference_update", "conference_close")] for side in sides]
    if not candidates[0] or not candidates[1]:
        return []
    # every record of each copy's conference, read once (None: one cannot be read here), then those written apart
    every = [_decrypted(ctx, tree, [f"{folder}/{n}" for n in record_names(tree, folder)], read) for tree in trees]
    apart = [{n.split(".", 1)[0] for n in side} for side in candidates]
    written = [[r for r in every[i] if r.id in apart[i]] if every[i] is not None
               else _decrypted(ctx, trees[i], [f"{folder}/{n}" for n in candidates[i]], read) for i in (0, 1)]
    if written[0] is None or written[1] is None:
        # not readable here, so not compared: named, each record written apart that may hold minutes (a `minutes`
        # record, a close, an update written after minutes on its copy: it may replace them, which its name does not
        # say); the fold of whoever reads the conference finds it none where those holding minutes hold the same
        # (conference_rules.same_minutes)
        firsts = [min((n for n in record_names(tree, folder) if record_kind(n) == "minutes"), default=None) for tree in trees]
        maybe = [[n for n in side if record_kind(n) != "conference_update" or (firsts[i] is not None and n > firsts[i])]
                 for i, side in enumerate(candidates)]
        if not (maybe[0] and maybe[1]) or all(record_kind(n) == "conference_close" for side in maybe for n in side):
            return []
        found = sorted(n.split(".", 1)[0] for side in maybe for n in side)
        result.conflicts.append({"conference": conference_id, "code": conference_rules.MINUTES_CONCURRENT, "records": found,
                                 "compared": False})
        return [new_record(ctx, "sync_conflict", conference_id, {"code": conference_rules.MINUTES_CONCURRENT, "records": found})]
    else:
        minutes = [minuting(side) for side in written]
        closes = [[r.id for r in side if r.kind == "conference_close"] for side in written]
        if not ((minutes[0] and (minutes[1] or closes[1])) or (minutes[1] and closes[0])):
            return []
        folded = [conference_rules.fold(conference_id, records) if records is not None else None for records in every]
        if folded[0] is not None and folded[1] is not None:
            if folded[0].minutes == folded[1].minutes:
                return []  # the same minutes on both copies
            standing = [c.minutes_id for c in folded if c.minutes_id]
        else:
            standing = []
        found = sorted(set(minutes[0] + minutes[1] + closes[0] + closes[1] + standing))
    result.conflicts.append({"conference": conference_id, "code": conference_rules.MINUTES_CONCURRENT, "records": found})
    return [new_record(ctx, "sync_conflict", conference_id, {"code": conference_rules.MINUTES_CONCURRENT, "records": found})]


def _assigned(folder: str, base: Tree, ours: Tree, theirs: Tree, readers) -> str | None:
    """Whose the case is after the merge: the first reader on the copy that holds the newest
    registration, assignment or receipt; else the first reader both copies agree on."""
    newest = None
    for tree in (ours, theirs):
        placing = sorted(n for n in record_names(tree, folder) if record_kind(n) in PLACING)
        if placing and (newest is None or placing[-1] > newest[0]):
            newest = (placing[-1], tree)
    first = {name: (readers(tree, folder) or [None])[0] for name, tree in (("b", base), ("o", ours), ("t", theirs))}
    if newest is not None:
        in_ours, in_theirs = newest[0] in record_names(ours, folder), newest[0] in record_names(theirs, folder)
        if in_ours != in_theirs:
            return first["o"] if in_ours else first["t"]
    if first["o"] == first["t"] or first["t"] == first["b"]:
        return first["o"]
    if first["o"] == first["b"]:
        return first["t"]
    return min(x for x in (first["o"], first["t"]) if x) if (first["o"] or first["t"]) else None


def _merged_covers(folder: str, base: Tree, ours: Tree, theirs: Tree, covers) -> dict[str, str]:
    """The covers of a case after the merge (worker id -> until, from the `recipients` files):
    a cover granted, changed or taken off on one copy takes that copy's; changed two ways, the
    copy with the newest `cover` record decides (as the fold does: the latest cover of a worker
    stands), the later end when that cannot tell."""
    c_base, c_ours, c_theirs = covers(base, folder), covers(ours, folder), covers(theirs, folder)
    newest = [max((n for n in record_names(tree, folder) if record_kind(n) == cover_rules.KIND), default="") for tree in (ours, theirs)]
    out = {}
    for worker in dict.fromkeys([*c_ours, *c_theirs]):
        o, t = c_ours.get(worker), c_theirs.get(worker)
        decided, value = pick(c_base.get(worker), o, t)
        if not decided:
            value = (o if newest[0] > newest[1] else t) if newest[0] != newest[1] else max((v for v in (o, t) if v), default=None)
        if value:
            out[worker] = value
    return out


def _recipients(ctx: Context, folder: str, paths: list[str], base: Tree, ours: Tree, theirs: Tree, merged: dict[str, Entry],
                both_records: set[str], team: Team, readers, new_records: list, result: Synced, objects,
                known: dict[str, bytes], side_teams: tuple[Team, Team, Team] | None, covers,
                read: dict[str, Record] | None = None, restrictions: dict[str, bool] | None = None) -> int:
    """Work out the folder's readers again; re-encrypt the records encrypted to others. 1 when
    records were re-encrypted. `restrictions`: case id -> whether it stands restricted after the merge, kept
    for each case folder worked out here, read for the strictly confidential entries of those cases."""
    git = _git(ctx)
    top, subject = folder.split("/", 1)[0], _id_of(folder)
    if not paths and not new_records:
        return 0
    r_base, r_ours, r_theirs = readers(base, folder), readers(ours, folder), readers(theirs, folder)
    kept: dict[str, str] = {}
    restricted = False
    if top == CASES:
        # the rule of every change of a case's readers (workflow/cover.py): its worker, the covers in force, oversight;
        # a case restricted to the managers (cpcm retention --restrict), or given back to its worker by an assignment
        # after a reopening, on one copy is so on both. The two copies' `# restricted` lines disagree: as the fold of
        # the merged records has it (the one rule, workflow/retention.py: a restriction ended by a later assignment,
        # whichever copy wrote either) where this worker reads them all; else, or where the lines agree (each copy
        # wrote its line from its own fold, nothing to decide), from the lines (a yes and a no: the changed one stands)
        restricted = None
        if _line_restricted(folder, ours, known) != _line_restricted(folder, theirs, known):
            restricted = _restricted_folded(ctx, subject, paths, merged, read)
        if restricted is None:
            restricted = _restricted_merged(folder, base, ours, theirs, known)
        if restrictions is not None:
            restrictions[subject] = restricted
        assigned = _assigned(folder, base, ours, theirs, readers)
        wanted, kept = cover_rules.access(team, assigned, _merged_covers(folder, base, ours, theirs, covers), ctx.now,
                                          restricted)
    elif top in (COMPLAINTS, CONFIDENTIAL):
        # a complaint's (a strictly confidential entry's) readers as the rule has them with the merged team
        # (workflow/complaints.py: who recorded it and every supervisor and manager, never a worker it is about;
        # workflow/confidential.py: who wrote it and every supervisor and manager it does not exclude), from its
        # records where this worker reads them; else as listed (changed on both copies: the readers of both), less any
        # worker the merged team removed
        decided, listed = pick(r_base, r_ours, r_theirs)
        if not decided:
            listed = list(dict.fromkeys(r_ours + r_theirs))
        # an entry of a case restricted to the managers after the merge: the managers only (workflow/confidential.py)
        wanted = _own_readers(ctx, top, paths, merged, team,
                              lambda case_id: restrictions[case_id] if restrictions and case_id in restrictions
                              else _case_restricted_merged(ctx, case_id, base, ours, theirs, known)) \
            or [r for r in listed if team.get(r) is not None] or listed
    elif top == SUPERVISION:
        # a session's readers (who held it, who was supervised in it) never change: only their keys may
        # have, a key rotated on the other copy; its records are encrypted again to the merged team's keys
        decided, wanted = pick(r_base, r_ours, r_theirs)
        if not decided:
            wanted = list(dict.fromkeys(r_ours + r_theirs))
    else:
        # a change on one copy takes that copy's list, changed on both the readers of both; then the rule of a
        # conference's readers with the merged team (workflow/conferences.py): a member removed goes, one added comes
        decided, listed = pick(r_base, r_ours, r_theirs)
        if not decided:
            listed = list(dict.fromkeys(r_ours + r_theirs))
        wanted = _conference_readers(ctx, subject, paths, merged, ours, team, objects, known, read) \
            or conference_rules.readers_as_listed(team, subject, listed)
    # a folder's records still encrypted to an earlier key of a reader (`# rekey: WORKER` lines, a key change made by
    # someone who could not read it): a line added or taken off on one copy is so on both; every record of it is
    # encrypted again below where this worker reads it, and the lines go
    marks = [rekey_from(known.get(e.blob)) if (e := tree.get(f"{folder}/{RECIPIENTS}")) else [] for tree in (base, ours, theirs)]
    rekey = [w for w in dict.fromkeys(marks[1] + marks[2]) if pick(w in marks[0], w in marks[1], w in marks[2])[1]]
    stale = []
    moved: list[str] = []  # readers whose key a stale record is encrypted to is not the merged team's
    team_base, team_ours, team_theirs = side_teams or (team, team, team)
    merged_keys = set(team.recipients_of(wanted))
    sides = ((r_ours, team_ours, ours), (r_theirs, team_theirs, theirs), (r_base, team_base, base))
    # of each side, the same for every path: whether its list names just the readers wanted, and its team has their keys
    lists_wanted = [set(listed_) == set(wanted) for listed_, _, _ in sides]
    keys_now = [set(side_team_.recipients_of(wanted)) == merged_keys for _, side_team_, _ in sides]
    for path in paths:
        entry = merged[path]
        # the very bytes may be held by more than one side, each `recipients` file naming every reader its records are
        # encrypted to (more where they differ: `_held`): they are encrypted to the readers wanted where one of them
        # lists just those (a fast-forward over a case the other copy re-encrypted holds its records as this copy did,
        # under this copy's earlier list), whatever the order; and to their keys as they are now where no side holding
        # them has another key of one of those readers (a merge that could not re-encrypt them lists no key)
        holding = [n for n, (_, _, tree) in enumerate(sides) if tree.get(path) == entry]
        side, side_team = sides[holding[0]][:2] if holding else (r_base, team_base)
        if path in both_records or not any(lists_wanted[n] for n in holding) or not all(keys_now[n] for n in holding):
            stale.append(path)
            moved += [w for w in side if w in wanted and side_team.recipients_of([w]) != team.recipients_of([w])]
    forced = bool(rekey) and not stale  # stale by its `# rekey:` lines only: its readers are those wanted
    if rekey:
        # every record of it, not only those stale for another reason: the lines go only when none is left on an
        # earlier key (a record not stale here may be one the line names)
        stale = list(paths)
    listed = wanted

    def team_keys(ids: list[str]) -> list[str]:  # the merged team's keys: this copy's team may be out of date
        return team.recipients_of(ids) + list(ctx.config.recovery_recipients)
    keys = team_keys(wanted)
    if stale:
        contents = remote.read_blobs(git, [merged[p].blob for p in stale])
        fresh, damaged, unopened = {}, [], []
        for path in stale:
            try:
                plain = cipher.decrypt(contents[merged[path].blob], ctx.keys)
            except cipher.Damaged:
                damaged.append(path)  # no key opens it: left as it is (cpcm verify names it)
                continue
            except cipher.NotARecipient:
                unopened.append(path)
                continue
            fresh[path] = cipher.encrypt(plain, keys)
        # one of a case your key does not open whose very bytes a repair among the merged records supersedes (a damaged
        # record left on an earlier key) stays as it is, as a re-encryption of the case leaves it (context.repaired_left);
        # another: nothing of it is encrypted again here
        if unopened and (top != CASES or set(unopened) - _repaired_left(ctx, merged, paths, contents, unopened)):
            fresh, damaged = {}, []
        # only damaged ones, opened by no one: done by one of its readers (never named to another: a complaint may be
        # about them), the others having been done before
        if fresh or (damaged and ctx.worker is not None and ctx.worker.id in wanted):
            for path, data in fresh.items():
                merged[path] = Entry(FILE_MODE, objects.put(data))
            if fresh:
                result.reencrypted.append(subject)
            result.damaged += [{"folder": subject, "file": path} for path in damaged]
            # every record of it that opens is encrypted to the merged team's keys: the lines go, as no one can do more
            # for a damaged one (context.rekey_kept)
            rekey = []
        else:
            # the records stay readable by whom they were written to: the file names all of them
            # (never a reader they were not encrypted to: the file would say the folder is in line, and no one would
            # bring it to them; one of `wanted` not among them stays for its readers' team sync)
            if not forced:
                listed = _held(wanted, r_ours + r_theirs)
            # and says which reader's earlier key a complaint's or an entry's records still are encrypted to, for its
            # readers' `due` and team sync (a worker id only); a case's, a conference's or a session's where a key change
            # left it so (the records of one a merge cannot read are named to the one merging, as before)
            rekey = list(dict.fromkeys(rekey + moved)) if top in (COMPLAINTS, CONFIDENTIAL) else rekey
            # a complaint or an entry you do not read is never named nor counted to you (a complaint may be about you):
            # its readers' team sync brings it in line (their `due`: complaint-readers, confidential-readers)
            # one stale by its `# rekey:` lines only is its readers' to bring in line (their `due`), not named here
            if (top not in (COMPLAINTS, CONFIDENTIAL) and not forced) \
                    or (top in (COMPLAINTS, CONFIDENTIAL) and ctx.worker is not None and ctx.worker.id in listed):
                result.not_reencrypted.append(subject)
            keys = team_keys(listed)
    for record in new_records:
        data = cipher.encrypt(codec.dumps(record.to_dict()), keys)
        merged[f"{folder}/{record_name(record.id, record.kind)}"] = Entry(FILE_MODE, objects.put(data))
    data = recipients_bytes(listed, top, kept, restricted, rekey)
    current = merged.get(f"{folder}/{RECIPIENTS}")
    if top == SUPERVISION and current is not None:
        # written when the session was recorded, and never changed but for its `# rekey:` lines
        text = known.get(current.blob) or objects.get(current.blob)
        if text is not None and rekey_from(text) != rekey:
            merged[f"{folder}/{RECIPIENTS}"] = Entry(FILE_MODE, objects.put(with_rekey(text, rekey)))
    elif current is None or (known.get(current.blob) or objects.get(current.blob)) != data:
        merged[f"{folder}/{RECIPIENTS}"] = Entry(FILE_MODE, objects.put(data))
    return 1 if stale and subject in result.reencrypted else 0


def _held(wanted: list[str], held: list[str]) -> list[str]:
    """The readers a folder's `recipients` file lists where the merge did not encrypt its records again: those
    its records are encrypted to (`held`, each copy's list), in the order of `wanted` first (a case's first reader is
    its worker); one of `wanted` not among them is not listed. `held` itself where none of `wanted` is."""
    return list(dict.fromkeys([w for w in wanted if w in held] + held))


def _repaired_left(ctx: Context, merged: dict[str, Entry], paths: list[str], contents: dict[str, bytes],
                   unopened: list[str]) -> set[str]:
    """Those of `unopened` (record files of a case your key does not open) whose very bytes a repair among the
    merged records of the case that open supersedes (`context.repaired_left`, the rule of `context.reencrypt`)."""
    wanted = list(dict.fromkeys(merged[p].blob for p in paths if merged[p].blob not in contents))
    blobs = {**contents, **(remote.read_blobs(_git(ctx), wanted) if wanted else {})}
    records = []
    for path in paths:
        try:
            record = Record.from_dict(codec.loads(cipher.decrypt(blobs[merged[path].blob], ctx.keys)))
        except (cipher.NotARecipient, cipher.Damaged, codec.BadYaml, AttributeError, KeyError, TypeError, ValueError):
            continue  # not opened, or damaged: supersedes nothing
        if holds_own(path, record):  # one under another record's name is damaged too
            records.append(record)
    return context.repaired_left(records, {path: blobs[merged[path].blob] for path in unopened})


def _restricted_folded(ctx: Context, case_id: str, paths: list[str], merged: dict[str, Entry],
                       read: dict[str, Record] | None = None) -> bool | None:
    """Whether the case stands restricted to the managers after the merge as the fold of its merged
    records has it (retention_rules.restricted: a restrict decision, ended by a later assignment,
    whichever copy wrote either); None when this worker cannot read every record of it (or one is
    damaged: cpcm verify names it), then the `# restricted` lines decide (`_restricted_merged`)."""
    from cpcm.workflow import retention as retention_rules
    from cpcm.workflow.fold import fold

    records = _decrypted(ctx, merged, paths, read) if paths else None
    if records is None:
        return None
    try:
        return retention_rules.restricted(fold(case_id, records))
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _restricted_merged(folder: str, base: Tree, ours: Tree, theirs: Tree, known: dict[str, bytes]) -> bool:
    """Whether the case in `folder` (cases/<XX>/<id>) stands restricted to the managers after the merge, from
    the `# restricted` line of its `recipients` file on each side (layout.restricted_from): a restriction
    set, or lifted by an assignment, on one copy is so on both (a yes and a no: one of them changed it, and
    that one stands)."""
    return bool(pick(*(_line_restricted(folder, tree, known) for tree in (base, ours, theirs)))[1])


def _line_restricted(folder: str, tree: Tree, known: dict[str, bytes]) -> bool:
    """Whether the case's `recipients` file in `tree` holds the `# restricted` line (layout.restricted_from)."""
    entry = tree.get(f"{folder}/{RECIPIENTS}")
    return bool(entry and restricted_from((known.get(entry.blob) or b"").decode("utf-8", "replace")))


def _case_restricted_merged(ctx: Context, case_id: str, base: Tree, ours: Tree, theirs: Tree, known: dict[str, bytes]) -> bool:
    """`_restricted_merged` of the case an entry of a strictly confidential section belongs to; where
    neither copy changed the case's `recipients` file (the trees hold what changed only), this copy's
    file says it for both (context.case_restricted)."""
    folder = case_rel(case_id)
    sides = [e for tree in (base, ours, theirs) if (e := tree.get(f"{folder}/{RECIPIENTS}"))]
    if not sides:
        return case_restricted(ctx, case_id)
    missing = [e.blob for e in sides if e.blob not in known]
    if missing:
        known.update(remote.read_blobs(_git(ctx), missing))
    return _restricted_merged(folder, base, ours, theirs, known)


def _own_readers(ctx: Context, top: str, paths: list[str], merged: dict[str, Entry], team: Team,
                 restricted_case: Callable[[str], bool] | None = None) -> list[str] | None:
    """Who reads a complaint (top=COMPLAINTS) or a strictly confidential entry after the merge
    (the rule's `readers`, with the merged team; an entry's case restricted after the merge as
    `restricted_case` says); None when this worker cannot read its records."""
    from cpcm.workflow import complaints as complaint_rules
    from cpcm.workflow import confidential as confidential_rules

    records = _decrypted(ctx, merged, paths) if paths else None
    if records is None:
        return None
    try:
        if top == CONFIDENTIAL:
            entry = confidential_rules.fold(_id_of(_folder(paths[0])), records)
            restricted = bool(restricted_case and entry.case and restricted_case(entry.case))
            return confidential_rules.readers(team, entry.written_by, entry.excluded, restricted) or None
        complaint = complaint_rules.fold(_id_of(_folder(paths[0])), records)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return complaint_rules.readers(team, complaint.recorded_by, complaint.about) or None


def _conference_readers(ctx: Context, conference_id: str, paths: list[str], merged: dict[str, Entry], ours: Tree, team: Team,
                        objects, known: dict[str, bytes], read: dict[str, Record] | None = None) -> list[str] | None:
    """Who reads a conference after the merge, from its merged records as the rule of its readers
    has it (workflow/conferences.py): its chair and the workers of its cases as the merge leaves
    them, so a case taken into a conference on one copy and handed to another worker on the other
    is read by the new worker, not the old. None when this worker cannot read every record of it
    (then its `recipients` files decide), or for the register (every member reads it)."""
    if conference_id == conference_rules.REGISTER_ID or not paths:
        return None
    git = _git(ctx)
    records = _decrypted(ctx, merged, paths, read)  # those its minutes check decrypted, not again
    try:
        conference = conference_rules.fold(conference_id, records) if records is not None else None
    except (AttributeError, KeyError, TypeError, ValueError):
        conference = None  # a damaged record: cpcm verify names it
    if conference is None:
        return None
    files = [f"{case_rel(case_id)}/{RECIPIENTS}" for case_id in conference.cases_read_by_workers]
    text = {path: known.get(merged[path].blob) or objects.get(merged[path].blob) for path in files if path in merged}
    unread = [merged[path].blob for path, data in text.items() if data is None]
    blobs = remote.read_blobs(git, unread) if unread else {}
    text = {path: data if data is not None else blobs[merged[path].blob] for path, data in text.items()}
    if ours.source is not None:  # a case neither copy changed is not in the merge's part of the tree: as the commit has it
        text.update(remote.read_files(git, ours.source[1], [path for path in files if path not in merged]))
    workers = [first for path in files for first in readers_from(text.get(path))[:1]]  # in the order of its cases
    return conference_rules.readers(team, conference.chair, workers)


def _reidentify(ctx: Context, folder: str, base: Tree, ours: Tree, theirs: Tree, merged: dict[str, Entry], team: Team,
                result: Synced, objects, covers) -> None:
    """Two copies registered two cases under one ID: the case of the later registration moves
    to a new ID, its records rewritten with the new case ID, and records the old one as an alias."""
    git = _git(ctx)
    old = _id_of(folder)
    later = max([(_registrations(ours, folder)[0], ours), (_registrations(theirs, folder)[0], theirs)], key=lambda p: p[0])[1]
    other = ours if later is theirs else theirs
    moving = sorted(p for p in (f"{folder}/{n}" for n in record_names(later, folder)) if other.get(p) != later[p])
    contents = remote.read_blobs(git, [later[p].blob for p in moving])
    new = new_case_id()
    while any(tree.has_folder(case_rel(new)) for tree in (base, ours, theirs)):
        new = new_case_id()
    readers_entry = later.get(f"{folder}/{RECIPIENTS}")
    readers = readers_from(remote.read_blobs(git, [readers_entry.blob])[readers_entry.blob]) if readers_entry else []
    wanted, kept = cover_rules.access(team, readers[0] if readers else None, covers(later, folder), ctx.now)
    keys = keys_for(ctx, wanted)
    moved = _rewritten(ctx, {p: contents[later[p].blob] for p in moving}, old, new, keys, objects,
                       f"two copies registered two different cases as {old}; you cannot read one of them, so cannot give it "
                       "a new ID")
    for path, entry in moved.items():
        merged.pop(path, None)
        merged[f"{case_rel(new)}/{_name(path)}"] = entry
    # the case that keeps the old ID keeps its own records and readers
    for path in [p for p in merged if p.startswith(folder + "/")]:
        if path not in other:
            merged.pop(path)
    if f"{folder}/{RECIPIENTS}" in other:
        merged[f"{folder}/{RECIPIENTS}"] = other[f"{folder}/{RECIPIENTS}"]
    alias = new_record(ctx, "case_link", new, {"alias": old, "reason": "same-id"})
    merged[f"{case_rel(new)}/{record_name(alias.id, alias.kind)}"] = Entry(
        FILE_MODE, objects.put(cipher.encrypt(codec.dumps(alias.to_dict()), keys)))
    merged[f"{case_rel(new)}/{RECIPIENTS}"] = Entry(FILE_MODE, objects.put(recipients_bytes(wanted, CASES, kept)))
    # the moved folder is not a folder of either side: left alone by the recipients pass
    result.reidentified.append({"old": old, "new": new, "reason": "same-id", "here": later is ours})
    if later is theirs:  # what arrived in `old` was all the moved case's: it is in `new` now
        result.cases, result.registered = (sorted({new if c == old else c for c in listed})
                                           for listed in (result.cases, result.registered))
    _entries_left_behind(ctx, later, other, old, new, result)


def _rewritten(ctx: Context, contents: dict[str, bytes], old: str, new: str, keys: list[str], objects, cannot: str
               ) -> dict[str, Entry]:
    """The records `contents` (path -> encrypted record of case `old`) as they are in case `new`: the same bytes but the
    case ID (`rewrite_case`), encrypted to `keys`. Refused (`cannot`: why, with the case IDs only) when this worker
    cannot open one: nothing is changed."""
    from cpcm.store.bundle import rewrite_case

    try:
        plain = {p: rewrite_case(cipher.decrypt(data, ctx.keys), old, new)[0] for p, data in contents.items()}
    except (cipher.NotARecipient, cipher.Damaged):
        raise Refused(cannot, "Ask a supervisor to sync these copies (they can read both cases); nothing was changed.",
                      rule="sync-same-case-id") from None
    return {p: Entry(FILE_MODE, objects.put(cipher.encrypt(data, keys))) for p, data in plain.items()}


def _follow_moves(ctx: Context, base: Tree, ours: Tree, theirs: Tree, objects, result: Synced) -> tuple[Tree, Tree, Tree]:
    """The three trees of a merge with the records one side wrote to a case after the other side's merge moved that case
    to a new ID (`_reidentify`, on a copy the two share since `base`) taken to the new ID on that side and in `base`
    (`_follow`). The three-way merge then keeps them in the case they were written to, not in the other child's case
    that keeps the old ID."""
    base, ours = _follow(ctx, base, theirs, ours, objects, result)
    base, theirs = _follow(ctx, base, ours, theirs, objects, result)
    return base, ours, theirs


def _follow(ctx: Context, base: Tree, mover: Tree, other: Tree, objects, result: Synced) -> tuple[Tree, Tree]:
    """`base` and `other` with each case `mover` moved to a new ID (`_moves_since`) in its new folder: the moved records
    as the move wrote them, the records `other` wrote to the case since `base` rewritten as the move writes them
    (`_rewritten`, encrypted to whom they were written to), the `recipients` files with them."""
    git = _git(ctx)
    for old_folder, new_folder, names in _moves_since(base, mover, other):
        old, new = _id_of(old_folder), _id_of(new_folder)
        late = {n: other[f"{old_folder}/{n}"] for n in record_names(other, old_folder) - record_names(base, old_folder)
                if f"{old_folder}/{n}" not in mover}
        readers = other.get(f"{old_folder}/{RECIPIENTS}")
        contents = remote.read_blobs(git, [e.blob for e in late.values()] + ([readers.blob] if readers else []))
        rewritten = _rewritten(ctx, {n: contents[e.blob] for n, e in late.items()}, old, new,
                               keys_for(ctx, readers_from(contents[readers.blob]) if readers else []), objects,
                               f"case {old} moved to {new} (two copies had registered different cases as {old}), and a "
                               f"record written to it under {old} since is not readable with your key, so cannot go with it")
        moved = {n: mover[f"{new_folder}/{n}"] for n in names}
        base, other = (_moved_view(base, old_folder, new_folder, moved),
                       _moved_view(other, old_folder, new_folder, {**moved, **rewritten}))
        if late:
            objects.flush()  # read again by the merge's conflict checks (from git, as every side's records)
            result.notes.append(f"{len(late)} record(s) written to {old} on one copy after the other copy's sync moved that "
                                f"case to {new} went with it to {new} ({old} is the other case now)")
    return base, other


def _moves_since(base: Tree, mover: Tree, other: Tree) -> list[tuple[str, str, set[str]]]:
    """The case moves (`_reidentify`) `mover` holds that `other` does not: (old folder, new folder, the names of the
    records moved), for each case folder of `base` whose records `mover` holds under their file names in a case folder
    neither `base` nor `other` has (record file names are unique: the same name is the same record). The trees hold
    every folder either side changed (`remote.trees_of_change`): a new one of `mover` that `other` has is among them."""
    found = []
    new_folders = [f for f in mover.folders() - base.folders() - other.folders() if f.startswith(CASES + "/")]
    for folder in sorted(f for f in base.folders() if f.startswith(CASES + "/")):
        gone = {n for n in record_names(base, folder) if f"{folder}/{n}" not in mover}
        for new_folder in new_folders if gone else ():
            names = gone & record_names(mover, new_folder)
            if names:
                found.append((folder, new_folder, names))
    return found


def _moved_view(tree: Tree, old_folder: str, new_folder: str, replaced: dict[str, Entry]) -> Tree:
    """`tree` with the records `replaced` (name -> as the move writes it) of `old_folder`, and its `recipients`, in
    `new_folder`."""
    moving = {f"{old_folder}/{n}" for n in (*replaced, RECIPIENTS)} & set(tree)
    view = Tree({p: e for p, e in tree.items() if p not in moving})
    view.source = tree.source
    for path in moving:
        view[f"{new_folder}/{_name(path)}"] = replaced.get(_name(path), tree[path])
    return view


def _entries_left_behind(ctx: Context, later: Tree, other: Tree, old: str, new: str, result: Synced) -> None:
    """The strictly confidential entries written of the case that moved to `new` (those of `old`
    on the copy that moves, and not on the other): their record, encrypted and never rewritten,
    still names `old`, so they show in the section of the case that keeps it. Each one this worker
    reads is said to them (a note: its ID and the two case IDs), to read it and write it again in
    the section of `new`; one they do not read is neither named nor counted (its readers find it
    with cpcm confidential list, under the old ID)."""
    from cpcm.workflow import confidential as confidential_rules

    for folder in sorted(f for f in later.folders() if f.startswith(f"{CONFIDENTIAL}/") and not other.has_folder(f)):
        paths = [f"{folder}/{name}" for name in record_names(later, folder)]
        records = _decrypted(ctx, later, paths) if paths else None
        if records is None:
            continue
        try:
            entry = confidential_rules.fold(_id_of(folder), records)
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
        if entry.case == old:
            result.notes.append(
                f"strictly confidential entry {entry.id} was written of the case that is now {new}, but its record names "
                f"{old} (an entry is never rewritten), so it shows in {old}'s section: read it (cpcm confidential show "
                f"{entry.id}) and write it again in {new}'s (cpcm confidential add {new} --text -), with the same --exclude")


# -- after a sync ----------------------------------------------------------------------------------
def _complaints_read(ctx: Context, result: Synced) -> None:
    """The complaints whose records arrived, named and counted only where this worker reads them
    (their `recipients` as merged): a complaint is never made known to a worker it is about, nor
    to anyone else who does not read it, by what a sync says it brought. The same of the entries
    of strictly confidential sections."""
    _own_read(ctx, result, COMPLAINTS, result.complaint_authors, result.complaints)
    _own_read(ctx, result, CONFIDENTIAL, result.confidential_authors, result.confidential)
    me = ctx.worker.id if ctx.worker is not None else None
    readable: dict[tuple[str, str], bool] = {}

    def reads(folder: tuple[str, str]) -> bool:
        if folder not in readable:
            try:
                readable[folder] = me is not None and me in ctx.store.recipients(folder[1], folder[0])
            except CpcmError:
                readable[folder] = False
        return readable[folder]
    for folder, entry in result.private_plaintext:
        if reads(folder):
            _plaintext_said(result, entry)
    told = 0  # the team changes of these told so far: each goes where it was made among the others (oldest first)
    for folders, message, before in result.private_commits:
        if any(reads(f) for f in folders):
            result.commits += 1
            if message.startswith("team "):  # a team sync that brought only complaints or entries into line
                result.team_changes.insert(before + told, message)
                told += 1


def _own_read(ctx: Context, result: Synced, top: str, arrived: dict[str, list[str]], told: list[str]) -> None:
    me = ctx.worker.id if ctx.worker is not None else None
    for folder_id, authors in sorted(arrived.items()):
        try:
            readers = ctx.store.recipients(folder_id, top)
        except CpcmError:
            continue
        if me is None or me not in readers:
            continue
        told.append(folder_id)
        for author in authors:
            result.counted(top, author)


def _told(ctx: Context, result: Synced) -> None:
    """What a merge's report says of what arrived as the copy stands after it: the conflicts still open
    (`_conflicts_arrived`), the cases nobody has (`_workers_gone`), the complaints and entries this worker reads
    (`_complaints_read`)."""
    _conflicts_arrived(ctx, result)
    _workers_gone(ctx, result)
    _complaints_read(ctx, result)


def _after(ctx: Context, result: Synced, earlier: Iterable[remote.Unreported] = ()) -> None:
    """The report of each merge of an earlier sync stopped before it said what arrived (`earlier`, as the note read when
    this sync began: `_retold`); what arrived now (`_told`); and the duplicate check over the cases
    registered on the other copy (those this worker can read), under the repository lock: asked of the worker's split
    index (service/lookup.py, brought up to date with the cases that changed), so it reads the arrived cases and their
    matches, not every case. With them, the cases an earlier merge brought whose check was not made (that sync was
    stopped after its merge: `remote.note_merged`). Once all of it is made, no merge is left noted."""
    git = _git(ctx)
    result.earlier = [told for merge in earlier if (told := _retold(ctx, merge)) is not None]
    _told(ctx, result)
    _duplicates_arrived(ctx, result)
    crash_point("sync-checked")  # the report made, not yet given (a stop point for the tests)
    remote.reported(git)  # the report is made (this sync's own merges with the earlier ones): none is left noted


def _duplicates_arrived(ctx: Context, result: Synced) -> None:
    """The duplicate check of `_after`: the cases registered on the other copy, and those noted by a merge whose check
    was not made; once made, none is left noted (a failed check leaves them to the next sync)."""
    git = _git(ctx)
    arrived = set(result.registered) | {r["new"] for r in result.reidentified}
    arrived |= {case_id for case_id in remote.unchecked(git) if is_id(case_id, "CP")}
    if not arrived:
        return
    from cpcm.service import lookup
    from cpcm.service.cases import lives_on_in
    from cpcm.workflow.duplicates import key_of, kept_first, probable_duplicates

    found: list[tuple[str, str, str]] = []  # (arrived case, other case, reason)
    try:
        if lookup.usable(ctx):
            look = lookup.current(ctx)
            loaded = {case.id: case for case in _registered(ctx, arrived, context.load_case)}
            for case in loaded.values():
                look, matched = lookup.duplicates_of(ctx, look, key_of(case), exclude=case.id)
                found.extend((case.id, other, reason) for other, reason in matched)
            involved = {c: loaded[c] if c in loaded else context.load_case(ctx, c)
                        for c in {x for pair in found for x in pair[:2]}}
            load = lambda case_id: involved.get(case_id) or context.load_case(ctx, case_id)  # noqa: E731
        else:
            cases = context.load_cases(ctx)
            for case in _registered(ctx, arrived, lambda _, case_id: cases[case_id]):
                found.extend((case.id, other, reason) for other, reason in probable_duplicates(case, cases.values()))
            involved = {c: cases[c] for c in {x for pair in found for x in pair[:2]}}
            load = cases.get
    except (CpcmError, lookup.Unusable, OSError):
        return  # (the cases noted stay noted: the next sync checks them)
    remote.checked(git)
    seen = set()
    for case_id, other, reason in found:
        # a case merged into another is named by the case it lives on in (nothing is merged into it again:
        # merge-cases-merged-away); the child's first case first, as merge-cases KEEP OTHER takes them
        homes = [lives_on_in(involved[c], load) for c in (case_id, other)]
        if homes[0].id == homes[1].id:
            continue  # one child's cases, linked already
        unread = [home for home in homes if home.status is None]  # named by a merge link only: the case that merge kept
        keep, alias = (unread[0], homes[1 - homes.index(unread[0])]) if len(unread) == 1 else kept_first(*homes)
        if (keep.id, alias.id) in seen or alias.id in _linked(keep) or keep.id in _linked(alias):
            continue
        seen.add((keep.id, alias.id))
        result.duplicates.append({"case": keep.id, "other": alias.id, "reason": reason})


def _conflicts_arrived(ctx: Context, result: Synced) -> None:
    """The conflicts another copy's merge found and recorded (its `sync_conflict` records, which
    arrived here), in the report as this copy's merge reports its own: those still open, in the
    cases this worker reads (a supervisor, who settles them, reads every case), and in the
    conferences they read (the chair, who settles a conference's, reads it)."""
    for case_id, record_ids in sorted(result.arrived_conflicts.items()):
        try:
            case = context.load_case(ctx, case_id)
        except CpcmError:  # not for this worker (or damaged: verify names it)
            continue
        for conflict in case.conflicts:
            found = {"case": case_id, "code": conflict["code"], "records": sorted(conflict["records"])}
            if _new_here(conflict, record_ids) and conflict["settled_by"] is None and found not in result.conflicts:
                result.conflicts.append(found)
    if not result.arrived_conference_conflicts:
        return
    from cpcm.service import conferences

    for conference_id, record_ids in sorted(result.arrived_conference_conflicts.items()):  # a conference's readers
        try:
            conference = conferences.load(ctx, conference_id)
        except CpcmError:  # not for this worker (or damaged: verify names it)
            continue
        for conflict in conference_rules.open_conflicts(conference):
            found = {"conference": conference_id, "code": conflict["code"], "records": sorted(conflict["records"])}
            if _new_here(conflict, record_ids) and found not in result.conflicts:
                result.conflicts.append(found)


def _new_here(conflict: Mapping[str, Any], arrived: set[str]) -> bool:
    """Whether a conflict as the fold holds it is new to this copy: every record of it arrived now (`arrived`: the
    `sync_conflict` records that did). One found by two merges is one conflict with both records (`also`): two copies
    that applied each other's bundle each recorded it and said it then, and the other's record, when they meet, tells
    neither of them anything new."""
    return conflict["record_id"] in arrived and all(other in arrived for other in conflict.get("also", ()))


def _workers_gone(ctx: Context, result: Synced) -> None:
    """A note for each open case registered by, or given to, a worker the merged team no longer
    lists (on a copy that did not know of the removal; `cpcm check`: case-worker-removed), among
    the cases this worker reads: nobody has it. Its `recipients` file begins with a supervisor
    then, which is not an assignment to them."""
    from cpcm.workflow.rules import check_workers

    for case_id in sorted(result.worker_gone):
        try:
            case = context.load_case(ctx, case_id)
        except CpcmError:  # not for this worker (or damaged: verify names it)
            continue
        for problem in check_workers([case], ctx.team, ctx.policy, ctx.now):
            for listed in (result.assigned_to_you, result.assigned_away):
                if case_id in listed:
                    listed.remove(case_id)
            result.notes.append(f"{case_id}: {problem.message}")


def _registered(ctx: Context, case_ids: set[str], load) -> Iterator:
    """The arrived cases this worker reads whose history begins with their registration, in id order."""
    for case_id in sorted(case_ids):
        try:
            case = load(ctx, case_id)
        except (CpcmError, KeyError):  # not for this worker (or damaged: verify names it)
            continue
        if case.history and case.history[0].kind == "registration":
            yield case


def _linked(case) -> set[str]:
    return set(case.links)


# -- merge-cases -----------------------------------------------------------------------------------
def _merged_into(ctx: Context, case_id: str) -> str | None:
    """The case `case_id` was merged into (its `case_link` with `merged_into`), or None."""
    from cpcm.service.cases import case_links

    return next((link["case_id"] for link in case_links(context.load_records(ctx, case_id))
                 if link["relation"] == "alias_of"), None)


def _home(ctx: Context, case_id: str) -> str:
    """The case the work on `case_id`'s child goes on in: its merged_into links followed, as far
    as this worker reads them."""
    from cpcm.service.cases import lives_on_in

    try:
        case = context.load_case(ctx, case_id)
    except CpcmError:  # a case this worker cannot read (or damaged): the last one known
        return case_id
    return lives_on_in(case, lambda into: context.load_case(ctx, into)).id


def _refuse_merged_away(ctx: Context, keep: str, other: str) -> None:
    """A case merged into another is merged no further: neither kept (its work goes on in the
    case it was merged into) nor merged again (it would be the alias of two cases). Refused
    (merge-cases-merged-away) naming where each case lives now and what to type instead."""
    keep_into, other_into = _merged_into(ctx, keep), _merged_into(ctx, other)
    if keep_into is None and other_into is None:
        return
    keep_home, other_home = _home(ctx, keep), _home(ctx, other)
    said = ([f"{keep} was merged into {keep_into}" + (f" (which lives on in {keep_home})" if keep_home != keep_into else "")]
            if keep_into else [])
    said += ([f"{other} was merged into {other_into} already" + (f" (which lives on in {other_home})"
                                                                 if other_home != other_into else "")] if other_into else [])
    message = "; ".join(said) + ": a case merged into another is not merged again; nothing was written"
    if keep_home == other_home:
        hint = f"Both cases already lead to {keep_home}, where the work on the child goes on: nothing to do."
    elif other_into is None:
        hint = f"Merge into the case {keep} lives on in: cpcm merge-cases {keep_home} {other}"
    else:
        hint = (f"The work on {other}'s child goes on in {other_home}; if it is the same child as {keep_home}, link the two "
                f"cases in use: cpcm merge-cases {keep_home} {other_home} (or the other way round)")
    raise Refused(message, hint, rule="merge-cases-merged-away")


@context.writes
def merge_cases(ctx: Context, keep: str, other: str) -> Any:
    """Link two cases of one child: `keep` records `other` as its alias, `other` records that it
    was merged into `keep` (and is closed to new work there); nothing is deleted, and each case's
    history stays in its own folder."""
    from cpcm.service.results import Written

    worker = ctx.need_worker()
    if keep == other:
        raise UsageError("A and B are the same case")
    if not worker.has_role("supervisor", "manager"):
        raise Refused("only a supervisor or manager merges cases", rule="merge-cases-needs-supervisor")
    for case_id in (keep, other):
        context.check_readable(ctx, case_id)
    first, second = context.load_case(ctx, keep), context.load_case(ctx, other)
    if other in _linked(first) or keep in _linked(second):
        raise Refused(f"{other} is already linked to {keep}", rule="merge-cases-linked")
    _refuse_merged_away(ctx, keep, other)
    with context.transaction(ctx, "merge-cases") as tx:
        a = new_record(ctx, "case_link", keep, {"alias": other, "reason": "duplicate"},
                       after=first.history[-1].id if first.history else "")
        b = new_record(ctx, "case_link", other, {"merged_into": keep, "reason": "duplicate"},
                       after=max(a.id, second.history[-1].id if second.history else ""))
        tx.write_record(a, keys_for(ctx, ctx.store.recipients(keep)))
        tx.write_record(b, keys_for(ctx, ctx.store.recipients(other)))
        tx.commit(f"merge-cases {keep} {other}")
    steps: tuple[str, ...] = ()
    if first.status != "open":  # a closed (or transferred) case takes no work until it is reopened (IAG Step 6)
        steps += (f"{keep} is {first.status}: the work on the child goes on there once it is reopened (cpcm reopen {keep} "
                  f"--reason ...: same case ID, history kept, back to assessment)",)
    if second.status == "closed":  # the child's case is `keep` now: the visit is its own (deadlines.post_closure_visit_owed)
        steps += (f"{other} is closed: no post-closure visit is due on it any more, the child's case being {keep}"
                  + (" (its own post-closure visit stands)" if first.status == "closed" else ""),)
    if second.status == "open":  # its clocks still run and it counts in its worker's caseload until it is closed
        steps += (f"the work on the child goes on in {keep}; {other} is still open, its deadlines on cpcm due and in its "
                  f"worker's caseload: close it as registered in error once anything only it holds is in {keep} (cpcm close "
                  f"{other} --reason registered_in_error --check error_confirmed)",)
    return Written(keep, (a.id, b.id), "case_link", next_steps=steps, extra={"alias": other})
