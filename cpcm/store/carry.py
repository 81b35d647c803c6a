"""A sync's objects carried between this repository and a remote that is a folder on this machine
(a bare repository on a USB stick or a shared folder), without git's transport.

git's `fetch` and `push` each walk the whole `cases` tree twice, whatever arrived: the sender's
object enumeration (`pack-objects --revs`) and the receiver's connectivity check (`rev-list
--objects --not --all`), about 1 s of CPU each at 100,000 cases. Here the objects to send are
found from what changed:

- the new commits: `rev-list TIP --not HAVE...` (commits only);
- per new commit, the entries that differ from every parent (`diff-tree -c -r -t`: git skips a
  sub-tree whose id equals the parent's without reading it): the trees on changed paths and the
  new blobs. An entry a commit shares with one of its parents is in that parent's tree, which
  the other side has (an older commit) or gets (a new one);
- the commits and their root trees.

`git pack-objects` (ids on its input, no `--revs`) packs them in the sending repository and the
receiving one reads the pack (`unpack-objects`, or `index-pack` from `UNPACK_LIMIT` objects on, as
git's `transfer.unpackLimit`) into a quarantine folder inside its object store (`tmp_objdir-cpcm-*`,
as git's own `receive-pack` does), where nothing reads it but the check below. The receiving side
then checks completeness itself, in time proportional to the change (git's own check is skipped):
for each commit its side lacks (`rev-list TIP --not` what its refs already reach), the same
`diff-tree -c` lists every entry not taken from a parent, and each must be there with the type its
mode says (`cat-file --batch-check`; `diff-tree` itself fails on a missing tree). A commit's parents
are either checked the same way or reached from a ref, and a repository's refs reach complete
histories (git's own rule). Only then are the objects moved into the store and the ref set: the
remote's branch with `update-ref BRANCH NEW OLD` (old value checked: a push that raced another
writer is refused and loses nothing), this side's INCOMING.

Anything doubtful raises `NotHere`, and the caller uses git's fetch or push as before: a remote
that is not a plain bare repository (hooks, alternates, shallow, settings this module does not
know), no branch on it yet, nothing in common to start from, a pack git refuses, or a missing
object. Messages and file names hold object ids and fixed text only.
"""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from cpcm.store import objects
from cpcm.store.atomic import fsync_dir
from cpcm.store.faults import crash_point
from cpcm.store.git import NO_INDEX, ancestry_read, file_settings, gc_due, git_env, read_ref

QUARANTINE = "tmp_objdir-cpcm-"  # git's `prune` removes `tmp_*` in the object store after two weeks
STALE_SECONDS = 86400  # a quarantine folder untouched this long in a remote is left by a killed sync: removed
UNPACK_LIMIT = 100  # git's transfer.unpackLimit: fewer objects are stored loose, more are kept as a pack
HAVES = 64  # a fetch offers the remote this many of this copy's newest commits to start from
ZERO = "0" * 40
# each object file the receiving side writes is on disk before the branch names it (git's default
# leaves loose objects to the system's write-back: a stick pulled after "pushed" could lack them);
# the folders they are moved into are fsynced here, the branch's file by `update-ref`
DURABLE_OBJECTS = ("-c", "core.fsync=loose-object,pack", "-c", "core.fsyncMethod=fsync")
DURABLE_REF = ("-c", "core.fsync=reference", "-c", "core.fsyncMethod=fsync")
GITLINK = "160000"
TREE_MODE = "040000"
# hooks git runs on the receiving side of a push: a remote with any of them gets git's push
RECEIVE_HOOKS = ("pre-receive", "update", "post-receive", "post-update", "reference-transaction", "push-to-checkout",
                 "proc-receive")
# the settings of a remote this module knows to change nothing it does (anything else: git's transport)
_SECTIONS = ("gc.", "pack.", "repack.", "maintenance.", "remote.", "branch.", "init.", "user.", "advice.", "color.",
             "fetch.", "commitgraph.", "index.", "http.")
_KEYS = {"core.repositoryformatversion", "core.filemode", "core.bare", "core.logallrefupdates", "core.ignorecase",
         "core.precomposeunicode", "core.symlinks", "core.compression", "core.loosecompression", "core.fsync",
         "core.fsyncmethod", "core.fsyncobjectfiles", "core.commitgraph", "core.multipackindex",
         "core.packedgitlimit", "core.packedgitwindowsize", "core.bigfilethreshold", "core.deltabasecachelimit",
         "receive.autogc", "receive.unpacklimit", "transfer.unpacklimit"}


class NotHere(Exception):
    """The objects cannot be carried this way (or something is doubtful): use git's transport."""


@dataclass(frozen=True)
class Repo:
    """A repository's git directory, and how git commands run in it (cpcm's environment, no
    index read, no replacement objects; `objects`: a quarantine folder to read and write first)."""

    git_dir: str
    objects: str | None = None

    def env(self) -> dict[str, str]:
        extra = {"GIT_INDEX_FILE": os.path.join(self.git_dir, NO_INDEX), "GIT_NO_REPLACE_OBJECTS": "1"}
        if self.objects:
            extra["GIT_OBJECT_DIRECTORY"] = self.objects
            extra["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = os.path.join(self.git_dir, "objects")
        return git_env(extra)

    def command(self, args: Sequence[str]) -> list[str]:
        return ["git", f"--git-dir={self.git_dir}", *args]

    def run(self, args: Sequence[str], input: bytes | None = None) -> bytes:
        try:
            done = subprocess.run(self.command(args), cwd=self.git_dir, env=self.env(), input=input, capture_output=True)
        except OSError:
            raise NotHere("git could not be started") from None
        if done.returncode != 0:
            raise NotHere(f"git {args[0]} failed")
        return done.stdout

    def quarantined(self, folder: str) -> "Repo":
        return Repo(self.git_dir, folder)


# -- which repositories ----------------------------------------------------------------------------
def local(root) -> Repo:
    """This repository, when it is one the fast way can read and write (a `.git` folder, not
    shallow, no alternates, no repository extensions)."""
    git_dir = os.path.join(os.path.abspath(root), ".git")
    _plain(git_dir)
    return Repo(git_dir)


def bare(path: str) -> Repo:
    """The remote at `path`, when it is a plain bare repository: its settings all known here, no
    hook git would run on a push, no alternates, not shallow."""
    git_dir = os.path.abspath(path)
    settings = _plain(git_dir)
    if settings.get("core.bare") != "true":
        raise NotHere("the remote is not a bare repository")
    for key in settings:
        if key not in _KEYS and not key.startswith(_SECTIONS):
            raise NotHere("the remote has a setting the fast way does not know")
    hooks = os.path.join(git_dir, "hooks")
    if any(os.path.lexists(os.path.join(hooks, name)) for name in RECEIVE_HOOKS):
        raise NotHere("the remote has hooks")
    return Repo(git_dir)


def _plain(git_dir: str) -> dict[str, str]:
    """The settings of a git directory with none of what the fast way does not handle."""
    for name in ("HEAD", "config", "objects", "refs"):
        if not os.path.exists(os.path.join(git_dir, name)):
            raise NotHere("not a git directory")
    if not os.path.isdir(os.path.join(git_dir, "objects")):
        raise NotHere("not a git directory")
    for name in ("shallow", "commondir", "info/grafts", "objects/info/alternates", "objects/info/http-alternates"):
        if os.path.lexists(os.path.join(git_dir, name)):
            raise NotHere("a shallow repository, a linked one or one with alternates")
    settings = _settings(os.path.join(git_dir, "config"))
    if settings.get("core.repositoryformatversion", "0") not in ("0", "1") or \
            any(key.startswith(("extensions.", "include.", "includeif.", "core.hookspath", "core.sharedrepository"))
                for key in settings):
        raise NotHere("repository extensions or shared permissions")
    return settings


def _settings(path: str) -> dict[str, str]:
    """The settings of the config file `path`, keys and values in lower case."""
    settings = file_settings(path)
    if settings is None:
        raise NotHere("the settings cannot be read")
    return {key.lower(): value.strip().lower() for key, value in settings.items()}


READ_HERE = 256  # objects up to which a check reads them from git's files rather than asking git


def _kind(repo: Repo, sha: str) -> str | None:
    """The type of the object `sha` read from the repository's own object files, or a loose one of its quarantine
    folder (`objects.read`, `objects.read_loose`); None when it is not read there (git answers)."""
    found = (objects.read_loose(repo.objects, sha) if repo.objects else None) or objects.read(repo.git_dir, sha)
    return found[0].decode("ascii") if found is not None else None


# -- reading -----------------------------------------------------------------------------------------
def branch(repo: Repo, ref: str) -> str:
    """The commit a branch names (a plain ref, not a symbolic one); NotHere when there is none."""
    sha = read_ref(repo.git_dir, ref)
    if sha is not None and _kind(repo, sha) == "commit":
        return sha
    out = repo.run(["for-each-ref", "--format=%(refname)%00%(objectname)%00%(objecttype)%00%(symref)", ref])
    for line in out.decode("utf-8", "replace").splitlines():
        name, sha, kind, symref = (line.split("\0") + ["", "", ""])[:4]
        if name == ref:
            if kind != "commit" or symref or not _is_id(sha):
                raise NotHere("the branch is not as expected")
            return sha
    raise NotHere("no branch there yet")


def is_ancestor(repo: Repo, older: str, newer: str) -> bool:
    """Whether commit `older` is in the history of `newer` (False when `older` is not there)."""
    known = ancestry_read(repo.git_dir, older, newer)
    if known is not None:
        return known
    done = subprocess.run(repo.command(["merge-base", "--is-ancestor", older, newer]), cwd=repo.git_dir,
                          env=repo.env(), capture_output=True)
    return done.returncode == 0


def present_commits(repo: Repo, ids: Iterable[str]) -> list[str]:
    """Which of `ids` the repository holds as commits."""
    wanted = list(dict.fromkeys(ids))
    if len(wanted) <= READ_HERE and all(_kind(repo, sha) == "commit" for sha in wanted):
        return wanted
    out = repo.run(["cat-file", "--batch-check=%(objectname) %(objecttype)"], input="".join(f"{i}\n" for i in wanted).encode())
    found = []
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "commit":
            found.append(parts[0])
    return found


@dataclass(frozen=True)
class NewObjects:
    """What a span of commits brought: the commits, their root trees, and each entry (mode, id,
    path) that differs from every parent of its commit."""

    commits: tuple[str, ...]
    trees: tuple[str, ...]
    entries: tuple[tuple[str, str, str], ...]

    def objects(self) -> list[str]:
        """The lines `pack-objects` reads: each object once, trees and blobs with their path (git
        pairs objects of one path to look for deltas)."""
        lines = dict.fromkeys([*self.commits, *self.trees])
        for mode, sha, path in self.entries:
            if mode != GITLINK:
                lines.setdefault(sha, path if "\n" not in path else None)  # (one line each: no hint then)
        return [f"{sha} {path}" if path else sha for sha, path in lines.items()]


def change(repo: Repo, tip: str, nots: Sequence[str]) -> NewObjects:
    """The commits in `tip`'s history that `nots` (commits, or `--all`) do not reach, and the
    entries of their trees that are new against every parent. Two git processes; what they read
    is the commits and the trees on the changed paths (the `cases` tree of each commit, read
    whole once: git compares its entries' ids, and opens no case's folder that did not change)."""
    out = repo.run(["rev-list", "--no-commit-header", "--format=%H %T", tip, "--not", *nots])
    commits, trees = [], []
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) != 2 or not (_is_id(parts[0]) and _is_id(parts[1])):
            raise NotHere("git rev-list gave what it should not")
        commits.append(parts[0])
        trees.append(parts[1])
    if not commits:
        return NewObjects((), (), ())
    out = repo.run(["diff-tree", "--stdin", "-c", "-r", "-t", "--root", "-z", "--no-renames", "--no-commit-id"],
                   input="".join(f"{c}\n" for c in commits).encode())
    return NewObjects(tuple(commits), tuple(trees), tuple(_entries(out)))


def _entries(out: bytes) -> list[tuple[str, str, str]]:
    """(mode, id, path) of the new side of each entry of `diff-tree -r -z` output, plain or
    combined (`::` lines of a merge: a mode per parent and the result's, then as many ids)."""
    fields = out.split(b"\0")
    found, at = [], 0
    while at < len(fields):
        meta = fields[at].decode("ascii", "replace")
        if not meta.startswith(":"):
            at += 1  # a commit id line, or the end
            continue
        if at + 1 >= len(fields):
            raise NotHere("git diff-tree gave what it should not")
        path = fields[at + 1].decode("utf-8", "surrogateescape")
        at += 2
        colons = len(meta) - len(meta.lstrip(":"))
        parts = meta[colons:].split()
        if len(parts) < 2 * (colons + 1):
            raise NotHere("git diff-tree gave what it should not")
        mode, sha = parts[colons], parts[2 * (colons + 1) - 1]
        if sha == ZERO or set(mode) == {"0"}:
            continue  # gone from this commit
        if not _is_id(sha):
            raise NotHere("git diff-tree gave what it should not")
        found.append((mode, sha, path))
    return found


def _is_id(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


# -- moving the objects ------------------------------------------------------------------------------
def carry(sender: Repo, receiver: Repo, tip: str, sent: NewObjects, receiver_nots: Sequence[str]) -> None:
    """Pack `sent`'s objects in `sender`, read the pack into a quarantine folder of `receiver`,
    check there that `tip`'s history is complete against what `receiver_nots` reach, move the
    objects into `receiver`'s store and check the same objects there (a file that left the
    quarantine folder on the way is refused, not skipped). NotHere (and nothing left in
    `receiver`'s refs) when any step fails."""
    objects = os.path.join(receiver.git_dir, "objects")
    clear_quarantines(objects, STALE_SECONDS)
    try:
        folder = tempfile.mkdtemp(prefix=QUARANTINE, dir=objects)
    except OSError:
        raise NotHere("the receiving object store is not writable") from None
    try:
        quarantine = receiver.quarantined(folder)
        lines = sent.objects()
        if lines:
            _pipe(sender, quarantine, lines)
        files = _listing(folder)  # what the pack brought: every one of them is moved, or the carry refused
        _in_use(folder)
        crash_point("carry-read")
        wanted = check(quarantine, tip, receiver_nots)
        _in_use(folder)
        crash_point("carry-checked")
        _migrate(folder, objects, files)
        _missing(receiver, wanted)  # in the store itself now, without the quarantine folder
    except OSError:
        raise NotHere("the objects could not be moved into the store") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _in_use(folder: str) -> None:
    """Mark the quarantine folder as in use (its time: another copy sweeping a shared remote takes
    only a folder left untouched for `STALE_SECONDS`)."""
    os.utime(folder)


def _pipe(sender: Repo, receiver: Repo, lines: list[str]) -> None:
    """`pack-objects --stdout` in the sender piped into the receiver's `unpack-objects` or
    `index-pack --stdin` (whole objects: no deltas against what the receiver has, which only a
    walk of its trees would find)."""
    if len(lines) < UNPACK_LIMIT:
        # stored as they come (no compression): a new `cases` tree is 4 MB at 100,000 cases, which
        # zlib makes 3 MB in 0.1 s of CPU; gc compresses it later (as a merge's trees, store/remote.py)
        reader = [*DURABLE_OBJECTS, "-c", "core.looseCompression=0", "unpack-objects", "-q"]
    else:
        os.makedirs(os.path.join(receiver.objects or "", "pack"), exist_ok=True)
        reader = [*DURABLE_OBJECTS, "index-pack", "--stdin"]
    try:
        # no compression either between the two (a pipe on one machine; records are ciphertext, which
        # does not compress): deltas between the objects sent are still looked for (two `cases` trees)
        packer = subprocess.Popen(sender.command(["-c", "pack.compression=0", "pack-objects", "--stdout", "-q"]),
                                  cwd=sender.git_dir, env=sender.env(),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        raise NotHere("git could not be started") from None
    assert packer.stdout is not None and packer.stdin is not None
    try:
        try:
            taker = subprocess.Popen(receiver.command(reader), cwd=receiver.git_dir, env=receiver.env(),
                                     stdin=packer.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except BaseException as exc:
            packer.kill()  # nothing reads its pack: ended, or the wait below would wait for ever
            packer.stdin.close()
            packer.stdout.close()
            if isinstance(exc, OSError):
                raise NotHere("git could not be started") from None
            raise
        packer.stdout.close()  # the taker holds the pipe's reading end now: it sees the end when the packer ends
        try:
            packer.stdin.write("".join(f"{line}\n" for line in lines).encode("utf-8", "surrogateescape"))
        except BrokenPipeError:
            pass  # the packer failed early: its exit code says so below
        finally:
            try:
                packer.stdin.close()
            except BrokenPipeError:
                pass
        taken = taker.wait()
    finally:
        packed = packer.wait()
    if packed != 0 or taken != 0:
        raise NotHere("the pack was not made or not read")


def check(repo: Repo, tip: str, nots: Sequence[str]) -> dict[str, str]:
    """That everything `tip` names is in `repo` (its quarantine folder included), checked in
    proportion to what is new: every commit `nots` do not reach has its tree's entries that are
    not a parent's there, each with the type its mode says. NotHere when anything is missing;
    the objects checked (id: type)."""
    new = change(repo, tip, nots)  # fails on a missing commit or a missing tree on a changed path
    wanted: dict[str, str] = {sha: "commit" for sha in new.commits}
    for tree in new.trees:
        wanted.setdefault(tree, "tree")
    for mode, sha, _path in new.entries:
        if mode == GITLINK:
            continue  # a submodule's commit is not part of this repository's history
        kind = "tree" if mode == TREE_MODE else "blob"
        if wanted.setdefault(sha, kind) != kind:
            raise NotHere("an object is named with two types")
    _missing(repo, wanted)
    return wanted


def _missing(repo: Repo, wanted: dict[str, str]) -> None:
    """NotHere unless `repo` holds each of `wanted` (id: type) with its type."""
    if len(wanted) <= READ_HERE:
        wanted = {sha: kind for sha, kind in wanted.items() if _kind(repo, sha) != kind}
    if not wanted:
        return
    out = repo.run(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                   input="".join(f"{sha}\n" for sha in wanted).encode())
    found = {}
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2:
            found[parts[0]] = parts[1]
    for sha, kind in wanted.items():
        if found.get(sha) != kind:
            raise NotHere(f"object {sha[:10]} is missing")


PACK_ORDER = {".pack": 0, ".rev": 1, ".bitmap": 2, ".idx": 3}  # a pack is used once its index is there


def _listing(folder: str) -> list[str]:
    """The object files in a quarantine folder (paths in it), in the order they are moved: loose
    objects, then each pack with its index last."""
    loose, packs = [], []
    for name in sorted(os.listdir(folder)):
        source = os.path.join(folder, name)
        if len(name) == 2 and os.path.isdir(source):
            loose.extend(f"{name}/{item}" for item in sorted(os.listdir(source)))
    pack_dir = os.path.join(folder, "pack")
    if os.path.isdir(pack_dir):
        names = [n for n in os.listdir(pack_dir) if os.path.splitext(n)[1] in PACK_ORDER]
        packs = [f"pack/{n}" for n in sorted(names, key=lambda n: (PACK_ORDER[os.path.splitext(n)[1]], n))]
    return loose + packs


def _migrate(folder: str, objects: str, files: Sequence[str]) -> None:
    """Move `files` (from `_listing`) from the quarantine folder into the object store, as git's
    own quarantine is moved: loose objects each to its place (kept when already there), then each
    pack with its index last. NotHere when one of them is no longer there (another process removed
    it): the store may then lack an object the branch would name. Every folder a file was placed
    in (and the store's own, where a folder was made) is fsynced before this returns."""
    touched: dict[str, None] = {}
    for rel in files:
        source = os.path.join(folder, rel)
        if not os.path.lexists(source):
            raise NotHere("an object file left the quarantine folder")
        target_dir = os.path.join(objects, os.path.dirname(rel))
        if not os.path.isdir(target_dir):
            os.makedirs(target_dir, exist_ok=True)
            touched[objects] = None
        _finalize(source, os.path.join(target_dir, os.path.basename(rel)))
        touched[target_dir] = None
    for place in sorted(touched, key=len, reverse=True):  # a made folder's own entries, then its name
        _sync_folder(place)


def _sync_folder(folder: str) -> None:
    """fsync a folder (its entries durable); a file system that cannot fsync a folder says so
    with EINVAL, and has nothing more to give."""
    try:
        fsync_dir(folder)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def _finalize(source: str, target: str) -> None:
    """git's way of placing an object file: a hard link (never over a file already there, which
    holds the same bytes), or a rename where the file system has no hard links."""
    try:
        os.link(source, target)
    except FileExistsError:
        pass
    except FileNotFoundError:
        raise NotHere("an object file left the quarantine folder") from None
    except OSError:
        os.replace(source, target)
        return
    os.unlink(source)


def clear_quarantines(objects: str, older_than: float = 0) -> None:
    """Remove the quarantine folders a killed sync left in object store `objects`: every one (this
    repository's own store, under its lock: no other sync of it runs), or only those untouched for
    `older_than` seconds (a remote's: another copy may be carrying objects into a shared remote
    right now, and the clocks of the computers that share a folder need not agree)."""
    try:
        names = [n for n in os.listdir(objects) if n.startswith(QUARANTINE)]
    except OSError:
        return
    now = time.time()
    for name in names:
        path = os.path.join(objects, name)
        try:
            if older_than <= 0 or now - os.stat(path).st_mtime >= older_than:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


# -- push and fetch ----------------------------------------------------------------------------------
def set_ref(repo: Repo, ref: str, new: str, old: str | None = None) -> bool:
    """`update-ref REF NEW [OLD]`: False when the ref is no longer `old` (another writer moved it).
    The ref's file is fsynced by git, and its folder here."""
    args = [*DURABLE_REF, "update-ref", "-m", "cpcm sync", ref, new] + ([old] if old else [])
    try:
        done = subprocess.run(repo.command(args), cwd=repo.git_dir, env=repo.env(), capture_output=True)
    except OSError:  # the folder went away (a stick pulled out): git did not start, the branch did not move
        raise NotHere("git update-ref could not be started") from None
    if done.returncode == 0:
        loose = os.path.join(repo.git_dir, *ref.split("/"))
        if os.path.exists(loose):
            try:
                _sync_folder(os.path.dirname(loose))
            except OSError:
                pass  # the branch is set: at worst a stick pulled now shows the old one, which loses nothing
        return True
    if old is not None:
        try:
            now = branch(repo, ref)
        except NotHere:
            now = None
        if now != old:
            return False
    raise NotHere("git update-ref failed")


def push(root, path: str, ref: str, commit: str, moved_now: Callable[[], object] | None = None) -> bool:
    """Make `commit` the remote's `ref` (a fast-forward only, as `git push` without force): True
    when it is (or already was), False when the remote's branch is not in `commit`'s history or
    moved while this ran. NotHere when the remote's branch was not moved (objects checked and moved
    into its store stay there unnamed, as after a push git refused): use `git push`. `moved_now()`:
    called as soon as this moved the remote's branch, before anything else (an interruption after
    it is told that the commits were sent)."""
    here, there = local(root), bare(path)
    old = branch(there, ref)
    if old == commit:
        return True
    if not is_ancestor(here, old, commit):
        return False  # the remote moved on (or has what this copy has not): fetch and merge first
    carry(here, there, commit, change(here, commit, [old]), [old])
    crash_point("carry-push-ref")
    moved = set_ref(there, ref, commit, old)
    if moved:
        if moved_now is not None:
            moved_now()
        _gc(there)  # what git's receive-pack does after a push
    return moved


def fetch(root, path: str, ref: str, into: str) -> str:
    """Bring the remote's `ref` and its history into this repository, as ref `into`; the commit.
    NotHere when the fast way does not apply (the remote has no branch yet, or nothing this copy
    has): use `git fetch`."""
    here, there = local(root), bare(path)
    clear_quarantines(os.path.join(here.git_dir, "objects"))
    tip = branch(there, ref)
    if not is_ancestor(here, tip, "HEAD"):
        # what this copy has that the remote may have too: the newest commits of its branches (the
        # remote's branch as the last sync left it among them), as git's negotiation offers them
        out = here.run(["rev-list", f"--max-count={HAVES}", "HEAD", "--branches", "--remotes"])
        haves = present_commits(there, [line for line in out.decode("ascii", "replace").split() if _is_id(line)])
        if not haves:
            raise NotHere("nothing in common to start from")
        carry(there, here, tip, change(there, tip, haves), ["--all"])
    set_ref(here, into, tip)
    return tip


def _gc(repo: Repo) -> None:
    """`git gc --auto` in `repo`, when git would pack there (`gc_due`; always when its settings say anything of gc:
    git reads them)."""
    try:
        told = any(key.startswith("gc.") for key in _settings(os.path.join(repo.git_dir, "config")))
    except NotHere:
        told = True
    if not told and not gc_due(repo.git_dir):
        return
    try:
        # (when gc is due it goes on in the background, as after git's push: no pipe is kept waiting for it)
        subprocess.run(repo.command(["gc", "--auto", "--quiet"]), cwd=repo.git_dir, env=repo.env(),
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        pass
