"""git plumbing for sync: remotes, fetching into a private ref, trees as path maps, objects in
memory, bundles, and moving the branch to a merged commit.

Every call goes through `Git.run` (cpcm's own environment, store/git.py). A merge is built as git
objects and a temporary index inside `.git/`; only `CaseStore`'s transaction moves the branch and
the working tree to it (`check_out`), so a sync that fails before that leaves the repository as it
was (its refs, index and files).

Remotes are git's own (`git remote add`, in `.git/config`): local to one laptop, never shared.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from cpcm.store import atomic
from cpcm.store.git import (Git, GitError, ancestry_read, blob_id, file_settings, files_at, git_env, read_named, read_ref, ref_packed,
                            tree_diff, trusted_folders, with_settings)
from cpcm.store.layout import CASES, CONFIG, FORMAT_VERSION, current_rel, folder_rel, format_of, history_rels, split_rel

BRANCH = "main"
INCOMING = "refs/cpcm/incoming"      # what a fetch or a bundle brought, until the sync ends
MERGE_INDEX = "cpcm-merge-index"     # the temporary index a merge tree is built in (inside .git/)
MERGE_TREE_REF = b"refs/cpcm/merge-tree"  # the ref of `tree_of`'s import while it runs: deleted in the same import
FILE_MODES = ("100644", "100755")  # plain files, which `check_out` moves itself (anything else: read-tree)
PATHS_NAMED = 200  # `check_out` asks git for the index entries of up to this many paths by name
RESTORE_PATHS = 32  # `check_out` moves up to this many paths with one git process (`restore`), more with two
REMOTE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# git's settings for the `pack-objects` that finds the objects to send (a push's here; a fetch's in
# the remote's git, given them by `--upload-pack` when the remote is a folder). Without the "sparse"
# walk it takes about two-thirds of the time at 100,000 cases (0.6 s of CPU against 0.9 s): that walk
# keeps every path of the `cases` folder (100,000 names) in a table to find the few folders that
# changed, where the plain one looks up each sub-folder's id in the older tree.
TRANSFER = (("pack.useSparse", "false"),)


@dataclass(frozen=True)
class Entry:
    mode: str
    blob: str


class Tree(dict):
    """path -> Entry, with the file names of each folder of records (cases/4F/CP-..., conferences/CC-...:
    `layout.folder_rel`) indexed once.

    A tree from `trees_of_change` holds only the part of its commit that a merge can change
    (`source` is then the repository and the commit, to ask about anything else)."""

    _index: dict[str, set[str]] | None = None
    source: tuple[Git, str] | None = None

    def names(self, folder: str) -> set[str]:
        """The file names in `folder` (cases/4F/CP-..., conferences/CC-...: `layout.folder_rel`)."""
        if self._index is None:
            index: dict[str, set[str]] = {}
            for path in self:
                split = split_rel(path)
                if split is not None:
                    index.setdefault(folder_rel(split[0], split[1]), set()).add(split[2])
            self._index = index
        return self._index.get(folder, set())

    def folders(self) -> set[str]:
        self.names("")
        assert self._index is not None
        return set(self._index)

    def has_folder(self, folder: str) -> bool:
        """Whether the commit has the folder (asked of git when this tree holds only a part)."""
        if folder in self.folders():
            return True
        if self.source is None:
            return False
        git, commit = self.source
        try:
            return git.run(["cat-file", "-t", f"{commit}:{folder}"]).strip() == "tree"
        except GitError:
            return False


class Objects:
    """New blobs of a merge, kept in memory and written to git's object store in one
    `git fast-import` (one process, however many re-encrypted records)."""

    def __init__(self, git: Git):
        self.git = git
        self.pending: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        sha = blob_id(data)
        self.pending[sha] = data
        return sha

    def get(self, sha: str) -> bytes | None:
        return self.pending.get(sha)

    def flush(self) -> None:
        if not self.pending:
            return
        stream = bytearray()
        for data in self.pending.values():
            stream += b"blob\ndata %d\n" % len(data) + data + b"\n"
        self.git.run(["fast-import", "--quiet", "--done"], input=bytes(stream) + b"done\n")
        self.pending.clear()


def _own_settings(git: Git) -> dict[str, str] | None:
    """The settings of the repository's config file when it includes no other file (`file_settings`: read again
    only when it changed): there are its remotes and cpcm's marks of them. None otherwise: git answers."""
    settings = file_settings(os.path.join(git.git_dir, "config"))
    if settings is None or any(key.lower().startswith(("include.", "includeif.")) for key in settings):
        return None
    return settings


def remotes(git: Git) -> dict[str, str]:
    """name -> URL of every remote: from the repository's config file when it includes no other, else from git."""
    settings = _own_settings(git)
    if settings is not None:
        return {key[len("remote."):-len(".url")]: url for key, url in settings.items()
                if key.lower().startswith("remote.") and key.lower().endswith(".url") and key.count(".") >= 2}
    try:
        out = git.run(["config", "--get-regexp", r"^remote\..*\.url$"])
    except GitError:
        return {}  # git config exits 1 when nothing matches
    found = {}
    for line in out.splitlines():
        key, _, url = line.partition(" ")
        found[key[len("remote."):-len(".url")]] = url
    return found


SYNCED_KEY = "cpcm-synced"  # remote.NAME.cpcm-synced: the commit cpcm's last sync with NAME left both copies at


def mark_synced(git: Git, name: str, commit: str) -> None:
    """Record, in git's own settings of the remote, that a sync with `name` ended at `commit`; a
    copy made by `git clone` has the remote's branch from the clone, and no such mark. Not written again when the
    config file says so already."""
    settings = file_settings(os.path.join(git.git_dir, "config"))
    if settings is not None and settings.get(f"remote.{name}.{SYNCED_KEY}") == commit:
        return
    git.run(["config", f"remote.{name}.{SYNCED_KEY}", commit])


UNCHECKED = "cpcm-unchecked"  # inside .git/: what a merge brought and its sync has not yet checked or said (`note_merged`)
MERGE_KINDS = ("sync", "bundle")
COMMIT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
NOTE_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(Z|[+-]\d\d:\d\d)?$")  # when the merge was made, to the minute


@dataclass(frozen=True)
class Unreported:
    """A merge whose report its sync (or bundle apply) has not given yet: what arrived between the commits `ours` and
    `theirs`, merged as the commit `merged`; the `kind` of the command that made it (sync, bundle) and its `date`."""
    kind: str
    date: str
    ours: str
    theirs: str
    merged: str

    def line(self) -> str:
        return f"{self.kind} {self.date} {self.ours} {self.theirs} {self.merged}"

    @classmethod
    def read(cls, words: list[str]) -> "Unreported | None":
        """The merge a line of the note names (its words), or None for a line that is not one."""
        if len(words) != 5 or words[0] not in MERGE_KINDS or not NOTE_DATE.match(words[1]) \
                or not all(COMMIT_ID.match(word) for word in words[2:]):
            return None
        return cls(*words)


def note_merged(git: Git, merge: Unreported, case_ids: Iterable[str]) -> None:
    """Note, before a merge moves the branch, that its report is not given yet (`merge`), and the cases registered
    on the other copy that it brings (`case_ids`, as the caller checked them): its sync (or bundle apply) stopped
    after it (Ctrl-C, a power cut), the next one says what it brought (service/sync.py `_retold`) and makes the
    duplicate check of those cases (`_after`). One small file in git's own folder, local to this copy, never shared,
    with what was noted before and not yet said or checked: a case ID a line (a file of earlier releases holds only
    these), and a line of IDs and a date for each merge. A note that cannot be written stops no sync: only what it
    would have said after a stop is lost."""
    cases, merges = _note(git)
    _write_note(git, sorted(set(cases) | set(case_ids)), [*merges, merge])


def unchecked(git: Git) -> list[str]:
    """The cases `note_merged` noted, the duplicate check not yet made of them (none: an empty list)."""
    return _note(git)[0]


def checked(git: Git) -> None:
    """The duplicate check was made of every case `note_merged` noted."""
    cases, merges = _note(git)
    if cases:
        _write_note(git, [], merges)


def unreported(git: Git) -> list[Unreported]:
    """The merges `note_merged` noted whose report was not given yet, oldest first."""
    return _note(git)[1]


def reported(git: Git) -> None:
    """What every merge `note_merged` noted brought was said."""
    cases, merges = _note(git)
    if merges:
        _write_note(git, cases, [])


def _note(git: Git) -> tuple[list[str], list[Unreported]]:
    """The note's case IDs (one word a line) and merges (`Unreported.read`); a line that is neither is passed over."""
    try:
        text = _unchecked_path(git).read_text("utf-8", "replace")
    except (OSError, GitError):
        return [], []
    lines = [line.split() for line in text.splitlines()]
    merges = [merge for words in lines if (merge := Unreported.read(words)) is not None]
    return [words[0] for words in lines if len(words) == 1], merges


def _write_note(git: Git, cases: list[str], merges: list[Unreported]) -> None:
    """The note as `cases` and `merges` (fsynced); no file when there is nothing in it. Never fails a sync."""
    lines = [*cases, *(merge.line() for merge in merges)]
    try:
        if lines:
            atomic.write(_unchecked_path(git), "".join(f"{line}\n" for line in lines).encode())
        else:
            os.unlink(_unchecked_path(git))
    except (OSError, GitError):
        pass


def _unchecked_path(git: Git) -> Path:
    """Where `note_merged` keeps its note: in `.git/`, or, where `.git` is a file naming the git folder
    (`--separate-git-dir`, a linked work tree), in the folder git names."""
    here = Path(git.root) / ".git"
    if here.is_dir():
        return here / UNCHECKED
    return Path(git.root) / git.run(["rev-parse", "--git-path", UNCHECKED]).strip()


def synced(git: Git, name: str) -> tuple[str | None, str | None]:
    """(the commit the last sync with `name` ended at, or None; the commit this copy was made at
    by `git clone` of `name` when it has never synced with it, or None). A copy that synced
    before syncs were marked has the reflog of the remote's branch that `git clone` never writes."""
    ref = f"refs/remotes/{name}/{BRANCH}"
    settings = _own_settings(git)
    if settings is not None:
        marked = settings.get(f"remote.{name}.{SYNCED_KEY}", "").strip() or None
    else:
        try:
            marked = git.run(["config", "--get", f"remote.{name}.{SYNCED_KEY}"]).strip() or None
        except GitError:
            marked = None  # git config exits 1 when the key is not set
    if marked is not None:
        return marked, None
    at = rev(git, ref)
    try:
        git.run(["reflog", "exists", ref])
        return at, None
    except GitError:
        return None, at


def remote_add(git: Git, name: str, url: str) -> None:
    git.run(["remote", "add", name, url])


def remote_remove(git: Git, name: str) -> None:
    git.run(["remote", "remove", name])


def init_bare(path: Path) -> None:
    """An empty bare repository (a remote on a USB stick or a shared folder)."""
    done = subprocess.run(["git", "init", "-q", "--bare", "-b", BRANCH, str(path)], env=git_env(), capture_output=True)
    if done.returncode != 0:
        raise GitError("git init --bare failed: the folder for the remote cannot be made there",
                       "Check that the USB stick or shared folder is mounted and writable.")


def fetch(git: Git, url: str) -> str | None:
    """Fetch the remote's branch into INCOMING; its commit, or None when the remote is empty.
    From a remote that is a folder the objects are carried without git's transport when it can
    be done safely (store/carry.py); otherwise, and over a network, by `git fetch`."""
    if _carried(git, url):
        from cpcm.store import carry

        try:
            return carry.fetch(git.root, _folder_path(git, url), f"refs/heads/{BRANCH}", INCOMING)
        except carry.NotHere:
            pass  # git's fetch, as before
    try:
        # no submodules in a casefile repository: without saying so git reads the whole index to look for them
        args = ["fetch", "-q", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules"]
        if _is_folder(git, url):  # (over ssh the other side runs git-upload-pack, as its server allows)
            args.append(f"--upload-pack={_on_the_folder('upload-pack', *TRANSFER)}")
        git.run([*args, url, f"+refs/heads/{BRANCH}:{INCOMING}"])
    except GitError as exc:
        if "couldn't find remote ref" in exc.message:
            return None
        _diagnose(git, url, exc)
        raise
    return rev(git, INCOMING)


# what git says of a remote it reached that cannot be used as it is: the words of the git that ran
# in the remote's folder (`remote: ...` lines, its upload-pack's, a push's `[remote rejected]`), and a
# fetch's check of what the remote sent
_FROM_THE_REMOTE = ("remote:", "remote error", "upload-pack", "remote side", "[remote rejected]",
                    "did not send all necessary objects")
_DAMAGED = ("corrupt", "bad object", "missing necessary objects", "did not send all necessary objects", "missing object")
_NOT_OURS = re.compile(r"not our ref ([0-9a-f]{40})")
_REMOTE_LOCK = re.compile(r"Unable to create '(.*\.lock)': File exists")


def _diagnose(git: Git, url: str, failed: GitError) -> None:
    """Tell from git's stderr (`failed.detail`) a remote that was reached but cannot be used as it
    is from one that was not reached, and say so on `failed`: `remote_trouble` "locked" (a `.lock`
    file of one of its refs exists: another copy's push under way, or left by one stopped halfway,
    a USB stick pulled out), with `remote_lock` the file within the remote's folder; or "damaged"
    (an object its branch needs is corrupt or missing there: a file half-copied to a stick pulled
    out). Syncing again mends neither, where it mends an unreachable remote. Nothing is set
    otherwise. Only ref and object names are kept from what git said."""
    said = [line for line in getattr(failed, "detail", "").splitlines()
            if any(mark in line for mark in _FROM_THE_REMOTE)]
    for line in said:
        locked = _REMOTE_LOCK.search(line)
        if locked:
            failed.remote_trouble = "locked"
            folder = os.path.normpath(_folder_path(git, url)) if _is_folder(git, url) else None
            path = os.path.normpath(locked.group(1))
            failed.remote_lock = (os.path.relpath(path, folder) if folder and path.startswith(folder + os.sep)
                                  else f"refs/heads/{BRANCH}.lock")
            return
    if any(word in line for line in said for word in _DAMAGED):
        failed.remote_trouble = "damaged"
        return
    for line in said:  # its branch names a commit it does not hold, or another copy moved the branch meanwhile
        missing = _NOT_OURS.search(line)
        if missing and _is_folder(git, url) and not _holds(_folder_path(git, url), missing.group(1)):
            failed.remote_trouble = "damaged"
            return


def _holds(folder: str, sha: str) -> bool:
    """Whether the repository in `folder` holds object `sha`."""
    from cpcm.store import carry

    try:
        carry.Repo(os.path.abspath(folder)).run(["cat-file", "-e", sha])
    except carry.NotHere:
        return False
    return True


def _on_the_folder(program: str, *settings: tuple[str, str]) -> str:
    """The command git runs in a remote folder (upload-pack, receive-pack), with `settings` and the folders the user
    trusts though another user owns them (`trusted_folders`): git gives that command none of the settings of the
    environment, so they are on its command line."""
    pairs = [*settings, *(("safe.directory", folder) for folder in trusted_folders())]
    return " ".join(["git", *(f"-c {shlex.quote(f'{key}={value}')}" for key, value in pairs), program])


def _is_folder(git: Git, url: str) -> bool:
    """Whether git reaches the remote at `url` as a folder on this machine (a USB stick, a shared
    folder), not over a network protocol."""
    return "://" not in url and os.path.isdir(os.path.join(os.path.abspath(git.root), url))


def _folder_path(git: Git, url: str) -> str:
    """The remote's folder (a path relative to the repository, as git takes it, made absolute)."""
    return os.path.join(os.path.abspath(git.root), url)


def _carried(git: Git, url: str) -> bool:
    """Whether the objects may be carried by store/carry.py: a folder, and a URL git also reads as
    a path (git reads `host:path`, a colon before any slash, as ssh)."""
    colon, slash = url.find(":"), url.find("/")
    return _is_folder(git, url) and (colon < 0 or 0 <= slash < colon)


PUSHED: list[str] = []  # the commits this process's pushes made the remote's branch, newest last (cli.main says so)


def push(git: Git, url: str, commit: str) -> bool:
    """Push `commit` as the remote's branch (never forced); False when the remote moved on.
    To a remote that is a folder the objects are carried without git's transport when it can be
    done safely (store/carry.py); otherwise, and over a network, by `git push`."""
    if _carried(git, url):
        from cpcm.store import carry

        try:
            return carry.push(git.root, _folder_path(git, url), f"refs/heads/{BRANCH}", commit,
                              moved_now=lambda: PUSHED.append(commit))
        except carry.NotHere:
            pass  # git's push, as before: nothing in the remote was changed
    try:
        other_side = [f"--receive-pack={_on_the_folder('receive-pack')}"] if _is_folder(git, url) else []
        git.run(["push", "-q", *other_side, url, f"{commit}:refs/heads/{BRANCH}"], env=with_settings(*TRANSFER))
        PUSHED.append(commit)
        return True
    except GitError as exc:
        text = exc.message
        if "rejected" in text or "non-fast-forward" in text or "fetch first" in text:
            return False
        _diagnose(git, url, exc)
        raise


def rev(git: Git, ref: str) -> str | None:
    """The commit `ref` names, or None. The name goes to git on its standard input, never on its
    command line: `bundle create --since` passes what was typed, and another user of the computer
    sees a process's command line (`ps`), where a name typed in the wrong place would show."""
    if not ref or any(ch.isspace() or not ch.isprintable() for ch in ref):
        return None  # no commit's name has a space, a line break or a control character in it
    try:
        answer = git.run(["cat-file", "--batch-check"], input=f"{ref}^{{commit}}\n".encode("utf-8", "surrogateescape"))
    except GitError:
        return None
    found = answer.split()
    return found[0] if len(found) == 3 and found[1] == "commit" else None


def drop_ref(git: Git, ref: str) -> None:
    git_dir = git.git_dir
    if not os.path.lexists(os.path.join(git_dir, *ref.split("/"))) and not ref_packed(git_dir, ref):
        return  # neither its file nor a line of packed-refs: no such ref
    if read_ref(git_dir, ref) or rev(git, ref):
        git.run(["update-ref", "-d", ref])


def set_ref(git: Git, ref: str, commit: str) -> None:
    """Point `ref` at `commit`; nothing to do (as git finds too: no reflog line) when it names it already."""
    if read_ref(git.git_dir, ref) == commit:
        return
    git.run(["update-ref", ref, commit])


def is_ancestor(git: Git, older: str, newer: str) -> bool:
    known = ancestry_read(git.git_dir, older, newer)
    if known is not None:
        return known
    try:
        git.run(["merge-base", "--is-ancestor", older, newer])
        return True
    except GitError:
        return False


def merge_base(git: Git, a: str, b: str) -> str | None:
    try:
        return git.run(["merge-base", a, b]).strip() or None
    except GitError:
        return None


def trees_of_change(git: Git, base: str, ours: str, theirs: str, folder_of, always: Iterable[str] = ()) -> tuple[Tree, Tree, Tree]:
    """The three trees of a merge, each holding only what the merge can change: every file of
    each folder (`folder_of(path)`: cases/4F/CP-..., conferences/CC-..., or None) that either side
    changed, every other file either side changed, and the files `always`. Files neither side touched
    stay as they are in both sides and are left out, so a merge costs what arrived and what was
    written here, not the size of the repository. Read from git's files, with no process; where they
    cannot be, five git processes, whatever the sizes.
    `base`, `ours` and `theirs` are commits or trees of one casefile format (`current_tree`)."""
    paths = set(changed_files(git, base, ours)) | set(changed_files(git, base, theirs))
    folders = sorted({f for f in map(folder_of, paths) if f})
    loose = sorted({p for p in paths if not folder_of(p)} | set(always))
    commits = (base, ours, theirs)
    # each folder's parent (cases/4F, conferences): the tree it is an entry of
    parents: dict[str, list[str]] = {}
    for folder in folders:
        parent, _, name = folder.rpartition("/")
        parents.setdefault(parent, []).append(name)
    found = _batch(git, [f"{commit}:{parent}" for commit in commits for parent in parents])
    folder_ids: dict[tuple[str, str], str] = {}  # (commit, folder) -> tree id
    for commit in commits:
        for parent, wanted in parents.items():
            listing = found.get(f"{commit}:{parent}")
            if listing is None:
                continue
            for name, sha in _sub_trees(listing, wanted).items():
                folder_ids[(commit, f"{parent}/{name}")] = sha
    listings = _batch(git, sorted(set(folder_ids.values())))
    trees = []
    for commit in commits:
        tree = Tree()
        tree.source = (git, commit)
        for folder in folders:
            sha = folder_ids.get((commit, folder))
            for mode, name, blob in _tree_entries(listings[sha]) if sha else ():
                if mode != "40000":
                    tree[f"{folder}/{name}"] = Entry(mode, blob)
        files = files_at(git.git_dir, commit, loose) if loose else []
        for mode, path, blob in files or ():
            tree[path] = Entry(mode, blob)
        if files is None:
            out = git.run(["ls-tree", "-r", "-z", "--full-tree", commit, "--", *loose])
            for item in out.split("\0"):
                meta, _, path = item.partition("\t")
                parts = meta.split()
                if len(parts) == 3 and parts[1] == "blob":
                    tree[path] = Entry(parts[0], parts[2])
        trees.append(tree)
    return trees[0], trees[1], trees[2]


TREE_MODE = "040000"
_KINDS = {"40000": "040000 tree", "160000": "160000 commit"}  # a raw tree entry's mode -> `git mktree`'s mode and type


def current_tree(git: Git, commit: str) -> str:
    """The commit's content as this casefile format has it (store/layout.py `FORMAT_VERSION`): the
    commit itself when it is of this format; else (a commit of format 1: before the repository's
    upgrade, or made by an older release) a tree with each case folder moved to its place in two
    levels (`layout.current_rel`; every folder keeps its tree id, no file is read or changed) and the
    configuration's `format:` line saying this format (store/upgrade.py `config_text`), as the
    upgrade's commit makes them. What a merge compares, so that a case folder the upgrade moved is
    the same folder on every side, and the `format:` line no change. Two small reads for a commit of
    this format; for one of format 1, the `cases` tree read and one `git mktree` that writes the new
    `cases/XX` trees and `cases` (0.2 s at 20,000 cases), then `tree_of`."""
    from cpcm.store.upgrade import config_text

    found = _batch(git, [f"{commit}:{CASES}", f"{commit}:{CONFIG}"])
    if format_of(found.get(f"{commit}:{CONFIG}")) >= FORMAT_VERSION:
        return commit  # told by its configuration, not by its tree: a folder a person put in cases/ stays theirs
    changes: dict[str, Entry | None] = {}
    moved: dict[str, list[str]] = {}  # cases/XX -> the entries of its tree, as `git mktree` reads them
    kept: list[tuple[str, str, str]] = []  # the other entries of `cases`
    for mode, name, sha in _tree_entries(found.get(f"{commit}:{CASES}", b"")):
        before = f"{CASES}/{name}"
        after = current_rel(f"{before}/-").rpartition("/")[0]
        if mode == "40000" and after != before:
            moved.setdefault(after.split("/")[1], []).append(f"{TREE_MODE} tree {sha}\t{name}")
        else:
            kept.append((mode, name, sha))
    if moved:
        # a cases/XX folder there already (a tree of both formats, not one cpcm makes) keeps what it holds
        there = {name: sha for mode, name, sha in kept if mode == "40000" and name in moved}
        listings = _batch(git, list(there.values())) if there else {}
        for shard, sha in there.items():
            moved[shard] += [f"{_KINDS.get(m, m + ' blob')} {s}\t{n}" for m, n, s in _tree_entries(listings.get(sha, b""))]
        shards = sorted(moved)
        batch = "\n".join("\n".join(moved[shard]) + "\n" for shard in shards)
        ids = git.run(["mktree", "--batch"], input=batch.encode("utf-8", "surrogateescape")).split()
        if len(ids) != len(shards):
            raise GitError("git mktree did not give the trees of a format-1 commit's case folders")
        entries = [f"{_KINDS.get(m, m + ' blob')} {s}\t{n}" for m, n, s in kept if n not in moved]
        entries += [f"{TREE_MODE} tree {sha}\t{shard}" for shard, sha in zip(shards, ids)]
        cases = git.run(["mktree"], input=("\n".join(entries) + "\n").encode("utf-8", "surrogateescape")).strip()
        changes[CASES] = Entry(TREE_MODE, cases)
    config = found.get(f"{commit}:{CONFIG}")
    if config is not None and config_text(config) != config:
        changes[CONFIG] = Entry("100644", git.run(["hash-object", "-w", "--stdin"], input=config_text(config)).strip())
    return tree_of(git, commit, changes) if changes else commit


def _tree_entries(data: bytes) -> Iterator[tuple[str, str, str]]:
    """(mode, name, object id) of each entry of a raw tree object."""
    pos, end = 0, len(data)
    while pos < end:
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        yield data[pos:space].decode(), data[space + 1:nul].decode("utf-8", "surrogateescape"), data[nul + 1:nul + 21].hex()
        pos = nul + 21


def _sub_trees(data: bytes, names: Iterable[str]) -> dict[str, str]:
    """The ids of the sub-trees `names` in a raw tree object, found in one forward pass: git
    keeps a tree's entries sorted by name (a sub-tree's name as if it ended in "/"), so each
    name is looked for after the one before. No per-entry work in Python: at 100,000 cases the
    `cases` tree has 100,000 entries, and a merge wants a few of them."""
    found, pos = {}, 0
    for name in sorted(names, key=lambda n: n.encode("utf-8") + b"/"):
        needle = b"40000 " + name.encode("utf-8") + b"\0"
        at = data.find(needle, pos)
        if at < 0 or (at > 0 and at < 21):  # not there (an entry starts at 0 or after a 20-byte id)
            continue
        start = at + len(needle)
        found[name] = data[start:start + 20].hex()
        pos = start + 20
    return found


def _batch(git: Git, names: list[str]) -> dict[str, bytes]:
    """The contents of objects named as `git cat-file --batch` reads them (an id, or
    COMMIT:PATH), read from git's files where they can be (`git.read_named`), the others in one
    `git cat-file --batch`; a name git cannot find is left out."""
    if not names:
        return {}
    known = read_named(git.git_dir, names)
    found = {name: read[1] for name, read in known.items() if read is not None}
    names = [name for name in names if name not in known]
    if not names:
        return found
    done = subprocess.run(git.command(["cat-file", "--batch"]), cwd=git.root, env=git_env(),
                          input="".join(f"{name}\n" for name in names).encode(), capture_output=True)
    if done.returncode != 0:
        raise GitError("git cat-file failed while reading objects for a merge")
    out, pos = done.stdout, 0
    for name in names:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        if len(header) != 3:  # "NAME missing" (or ambiguous): no such object
            pos = end + 1
            continue
        size = int(header[2])
        found[name] = out[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
    return found


def read_files(git: Git, commit: str, paths: Iterable[str]) -> dict[str, bytes]:
    """The contents of `paths` as `commit` has them, in one `git cat-file --batch` (path ->
    bytes); a path the commit does not have is left out."""
    wanted = list(dict.fromkeys(paths))
    found = _batch(git, [f"{commit}:{path}" for path in wanted])
    return {path: found[f"{commit}:{path}"] for path in wanted if f"{commit}:{path}" in found}


def read_blobs(git: Git, blobs: Iterable[str]) -> dict[str, bytes]:
    """Blob contents in one `git cat-file --batch` (in memory)."""
    wanted = list(dict.fromkeys(blobs))
    found = _batch(git, wanted)
    for blob in wanted:
        if blob not in found:
            raise GitError(f"git cat-file could not read object {blob[:10]}")
    return found


def write_tree(git: Git, base: str, changes: Mapping[str, Entry | None]) -> str:
    """The tree of commit `base` with `changes` applied (None deletes a path), built in a
    temporary index inside .git/ that is removed afterwards."""
    index = os.path.join(os.path.abspath(git.root), ".git", MERGE_INDEX)
    env = {"GIT_INDEX_FILE": index}
    try:
        git.run(["read-tree", base], env=env)
        lines = []
        for path, entry in sorted(changes.items()):
            if entry is None:
                lines.append(f"0 {'0' * 40}\t{path}")
            else:
                lines.append(f"{entry.mode} {entry.blob}\t{path}")
        if lines:
            git.run(["update-index", "-z", "--index-info"], env=env, input="\0".join(lines).encode() + b"\0")
        return git.run(["write-tree"], env=env).strip()
    finally:
        try:
            os.unlink(index)
        except FileNotFoundError:
            pass


def commit_tree(git: Git, tree_id: str, parents: Iterable[str], message: str, author: str, email: str) -> str:
    """A commit object, signed by the acting worker (store/git.py `commit_object`)."""
    return git.commit_object(tree_id, list(parents), message, author, email)


@dataclass(frozen=True)
class Arrived:
    """One commit that a sync brought: its author's worker id (from the address), its message,
    the paths it added, and every path it touched (added, changed or deleted); paths as this
    casefile format has them (`layout.current_rel`: a commit of format 1 names cases/CP-.../x)."""
    author: str
    message: str
    added: tuple[str, ...]
    paths: tuple[str, ...] = ()


def arrived(git: Git, old: str | None, new: str) -> list[Arrived]:
    """The commits in `new` that `old` did not have (first parents and merged sides alike), each
    with the files it added, oldest first (a commit after its parents, the others in the order they
    were made): what a sync says of them (a team change, a setting) reads in the order it was done,
    so a worker added and then removed ends on the removal. Every one of them: one that adds no
    file (a policy or team change) arrived too (a filter on added files would leave it out). A
    merge commit's added files are those in none of its parents (`-c`: a conflict record its merge
    found), not those it took from a side, which arrive with that side's own commits.

    A file moved by the upgrade to format 2 (store/upgrade.py) is not added: the upgrade's commit
    deletes cases/CP-.../x and adds cases/4F/CP-.../x, the same file. Nor is one a merge of a side of
    format 1 holds at its format-1 path (the merge holds it at its format-2 path, in none of its
    parents by name)."""
    span = [new] if old is None else [new, f"^{old}"]
    out = git.run(["log", "--date-order", "--reverse", "--no-renames", "--format=\x1e%ae\x1f%P\x1f%s", "-c", "--name-status",
                   *span])
    commits = []
    for chunk in out.split("\x1e")[1:]:
        head, _, body = chunk.partition("\n")
        email, _, rest = head.partition("\x1f")
        parents, _, message = rest.partition("\x1f")
        changes = [(status, path) for status, tab, path in (line.partition("\t") for line in body.splitlines()) if tab and status]
        moved = {current_rel(path) for status, path in changes if set(status) == {"D"} and current_rel(path) != path}
        added = [current_rel(path) for status, path in changes if set(status) == {"A"} and current_rel(path) not in moved]
        commits.append((email.split("@", 1)[0], parents.split(), message, added, [current_rel(p) for _, p in changes]))
    # a merge's files that a parent of format 1 holds at their format-1 path: not added by it
    asked = {}
    for _, parents, _, added, _ in commits:
        if len(parents) > 1:
            for path in added:
                for old_path in _format1_of(path):
                    for parent in parents:
                        asked[f"{parent}:{old_path}"] = path
    held = git.present(asked)
    found = []
    for author, parents, message, added, paths in commits:
        if len(parents) > 1 and held:
            added = [path for path in added
                     if not any(f"{parent}:{old}" in held for parent in parents for old in _format1_of(path))]
        found.append(Arrived(author, message, tuple(added), tuple(paths)))
    return found


def _format1_of(path: str) -> list[str]:
    """The format-1 path of a file of a case folder (cases/4F/CP-.../x -> cases/CP-.../x), as a list (none for another)."""
    split = split_rel(path)
    return [f"{history_rels(split[1])[1]}/{split[2]}"] if split is not None and split[0] == CASES else []


# -- bundles ---------------------------------------------------------------------------------------
def bundle_create(git: Git, since: str | None) -> bytes:
    """A git bundle of the branch (everything after `since` when given), in memory."""
    args = ["bundle", "create", "-q", "-", BRANCH]
    if since:
        args.append(f"^{since}")
    try:
        done = subprocess.run(git.command(args), cwd=git.root, env=git_env(), capture_output=True)
    except FileNotFoundError:
        raise GitError("git is not installed", "Install git (apt-get install git) and try again.") from None
    if done.returncode != 0:
        text = done.stderr.decode("utf-8", "replace")
        if "empty bundle" in text:
            raise GitError("nothing to put in the bundle: no commit after --since", "Leave out --since, or give an older commit.")
        raise GitError("git bundle create failed: " + (text.strip().splitlines() or ["?"])[-1])
    return done.stdout


class BadBundle(GitError):
    pass


def bundle_read(git: Git, data: bytes) -> str:
    """Take a git bundle (v2) from memory into the object store, with its branch as INCOMING;
    returns that commit. Refused when it needs commits this repository does not have."""
    header_end = data.find(b"\n\n")
    if not data.startswith(b"# v2 git bundle\n") or header_end < 0:
        raise BadBundle("the file is not a cpcm sync bundle (or it is damaged)")
    lines = data[len(b"# v2 git bundle\n"):header_end].decode("ascii", "replace").splitlines()
    prerequisites, head = [], None
    for line in lines:
        if line.startswith("-"):
            prerequisites.append(line[1:].split()[0])
        else:
            sha, _, ref = line.partition(" ")
            if ref == f"refs/heads/{BRANCH}":
                head = sha
    if head is None or not re.fullmatch(r"[0-9a-f]{40}", head):
        raise BadBundle("the bundle holds no branch to merge")
    missing = [p for p in prerequisites if not _has_commit(git, p)]
    if missing:
        raise BadBundle(f"the bundle starts after commit {missing[0][:10]}, which this repository does not have",
                        "Nothing was changed. A bundle made earlier on that laptop may hold that commit: apply it first, "
                        "then this one again; otherwise ask for a bundle made without --since (or with an older --since).")
    pack = data[header_end + 2:]
    if pack:
        git.run(["index-pack", "--stdin", "--fix-thin"], input=pack)
    if not _has_commit(git, head):
        raise BadBundle("the bundle's branch commit is missing from it (damaged)")
    set_ref(git, INCOMING, head)
    return head


def _has_commit(git: Git, sha: str) -> bool:
    try:
        git.run(["cat-file", "-e", f"{sha}^{{commit}}"])
        return True
    except GitError:
        return False


# -- a merge's tree and check-out, in proportion to what changed -----------------------------------
@dataclass(frozen=True)
class Change:
    """A file that differs between two commits: its entry in the older one and in the newer one
    (None: not there)."""
    old: Entry | None
    new: Entry | None


def changed_files(git: Git, old: str, new: str) -> dict[str, Change]:
    """The files that differ between two commits (added, removed or changed), with both entries.
    Proportional to the change, not to the repository: git descends only into the sub-trees whose
    ids differ, and reads no index. Read from git's files where they can be (`git.tree_diff`)."""
    known = tree_diff(git.git_dir, old, new)
    if known is not None:
        return {path: Change(*(Entry(*entry) if entry else None for entry in pair)) for path, pair in known.items()}
    fields = git.run(["diff-tree", "-r", "-z", "--no-renames", old, new], env=git.tree_only()).split("\0")
    found: dict[str, Change] = {}
    for meta, path in zip(fields[0::2], fields[1::2]):
        parts = meta.lstrip(":").split()
        if len(parts) < 4:
            continue
        old_mode, new_mode, old_blob, new_blob = parts[:4]
        found[path] = Change(None if old_blob.strip("0") == "" else Entry(old_mode, old_blob),
                             None if new_blob.strip("0") == "" else Entry(new_mode, new_blob))
    return found


def tree_of(git: Git, base: str, changes: Mapping[str, Entry | None]) -> str:
    """The tree of commit `base` with `changes` applied (None deletes a path; a folder left empty
    goes), built by one `git fast-import` from `base`: it reads the trees on the changed paths
    only and writes a new tree for each folder on them. (`write_tree` read the whole of `base`
    into a temporary index and wrote it back: 3 s at 100,000 cases.) The import's commit is
    unsigned and no ref keeps it (its ref is deleted in the same import); the merge commit is
    made from the tree by `commit_tree`, signed."""
    if any("\n" in path or path.startswith('"') for path in changes):
        return write_tree(git, base, changes)  # a path fast-import would need quoted
    stream = bytearray(b"commit %s\nmark :1\ncommitter cpcm <cpcm> 0 +0000\ndata 0\nfrom %s\n" % (MERGE_TREE_REF, base.encode()))
    for path, entry in sorted(changes.items()):
        if entry is None:
            stream += b"D %s\n" % path.encode("utf-8")
        else:
            stream += b"M %s %s %s\n" % (entry.mode.encode(), entry.blob.encode(), path.encode("utf-8"))
    stream += b'\nls :1 ""\nreset %s\nfrom %s\n\ndone\n' % (MERGE_TREE_REF, b"0" * 40)
    # stored as they are (no compression): the `cases` tree is 4 MB at 100,000 cases, and what reads it
    # next (the push, the next sync) then inflates nothing; gc compresses it later
    out = git.run(["fast-import", "--quiet", "--done", "--depth=0"], input=bytes(stream),
                  env=with_settings(("pack.compression", "0"), ("core.looseCompression", "0")))
    meta = out.partition("\t")[0].split()
    if len(meta) != 3 or meta[1] != "tree":
        raise GitError("git fast-import did not give the merge's tree")
    return meta[2]


def check_out(git: Git, old: str, new: str, changed: Mapping[str, Change]) -> None:
    """Move the index and the working tree from commit `old` to `new` for the files that differ
    (`changed`, from `changed_files`), as `git read-tree -m -u old new` would, in time that grows
    with the change rather than the repository (read-tree's two-tree merge reads and writes every
    entry of the index: 0.5 s at 100,000 cases). The caller has checked that the files are as `old`
    has them (`Git.edited`) and that none of them is staged by hand (`staged_by_hand`). A path that
    is not a plain file is left to `read-tree`.

    Up to `RESTORE_PATHS` paths, while the index holds `old` exactly (`Git.index_holds`), are set in
    the index and the working tree as `new` has them by one git process (`restore --source --staged
    --worktree`, literal paths, sparse-checkout bits ignored): it writes the files, removes those that
    left with the folders they leave empty, and records the entries' stat data, reading and writing the
    whole index once (240,000 entries at 100,000 cases: 0.10-0.13 s of CPU for 20 paths). It matches
    every entry against every path, though (0.7 s for 400 paths there), so more paths, or an index that
    may differ from `old`, take two processes that read it whole but name the paths in a list: their
    entries are set (`update-index --index-info`: the commit's entries, whatever flags the old ones
    had), git writes their files and records their stat data (`checkout-index -f -u`), and the files
    that left are removed here with the folders they leave empty (0.14-0.18 s for 20 paths, 0.25 s for
    2,000)."""
    if not changed:
        return
    if any(c.new is not None and c.new.mode not in FILE_MODES for c in changed.values()) or \
            any(c.old is not None and c.old.mode not in FILE_MODES for c in changed.values()):
        return read_tree(git, old, new)
    paths = sorted(changed)
    # a path below another changed path (a folder that became a file, or the other way) is named by that
    # one: git matches a path with what is below it, and one it has already replaced would match nothing
    named = [path for path in paths if not any(folder in changed for folder in _folders_of(path))]
    # `restore` names paths to git, and one in neither the index nor `new` matches nothing (a file the sync
    # deletes that a person took out of the index, `git rm --cached`): only when the index holds `old` exactly
    if len(named) <= RESTORE_PATHS and git.index_holds(old):
        # a person's post-checkout hook is not run: this is a sync's own step, not a checkout they asked for
        git.run(["restore", f"--source={new}", "--staged", "--worktree", "--ignore-skip-worktree-bits",
                 "--pathspec-from-file=-", "--pathspec-file-nul"],
                input=b"".join(path.encode("utf-8") + b"\0" for path in named),
                env={"GIT_LITERAL_PATHSPECS": "1", **with_settings(("core.hooksPath", os.devnull))})
        return
    lines = []
    for path in paths:
        entry = changed[path].new
        lines.append(f"{entry.mode} {entry.blob}\t{path}" if entry else f"0 {'0' * 40}\t{path}")
    git.run(["update-index", "-z", "--index-info"], input="\0".join(lines).encode("utf-8") + b"\0")
    root = os.path.abspath(git.root)
    for path in paths:
        if changed[path].new is None:
            atomic.remove_file(root, path)
    written = [path for path in paths if changed[path].new is not None]
    if written:
        git.run(["checkout-index", "-f", "-u", "-z", "--stdin"], input=b"".join(p.encode("utf-8") + b"\0" for p in written))


def _folders_of(path: str) -> Iterator[str]:
    """The folders `path` is in, nearest first ("a/b/c" -> "a/b", "a")."""
    while "/" in path:
        path = path.rpartition("/")[0]
        yield path


def staged_by_hand(git: Git, old: str, changed: Mapping[str, Change]) -> list[str]:
    """The `changed` paths whose index entry is neither as the commit `old` nor as the newer one has
    it: staged by hand (`git add`, `git rm`). Nothing when the index's cached trees say it holds `old`
    exactly (`Git.index_holds`, read here: no process); otherwise git's entries of those paths are
    read (`ls-files`: it reads the whole index, 0.05 s at 100,000 cases)."""
    if not changed or git.index_holds(old):
        return []
    paths = sorted(changed)
    staged: dict[str, list] = {}
    # git matches every entry against every path given: past a few hundred, the whole list is cheaper
    out = git.run(["ls-files", "-s", "-z", "--", *paths] if len(paths) <= PATHS_NAMED else ["ls-files", "-s", "-z"],
                  env={"GIT_LITERAL_PATHSPECS": "1"})
    for item in out.split("\0"):
        meta, _, path = item.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and path in changed:
            staged.setdefault(path, []).append((parts[0], parts[1], parts[2]))
    found = []
    for path in paths:
        change = changed[path]
        wanted = [[(e.mode, e.blob, "0")] if e else [] for e in (change.old, change.new)]
        if staged.get(path, []) not in wanted:
            found.append(path)
    return found


def read_tree(git: Git, old: str, new: str) -> None:
    """`git read-tree -m -u old new`: the whole index and working tree moved from `old` to `new`."""
    try:  # read-tree checks, before it changes anything, the index entries of the files it updates
        git.run(["read-tree", "-m", "-u", old, new])
    except GitError as exc:
        if "not uptodate" not in exc.message:
            raise
        # stat data of files rewritten with the same bytes (re-encryption, the team file): not
        # a change, once the index looks again (a stat of every file: only when needed)
        try:
            git.run(["update-index", "-q", "--refresh"])
        except GitError:
            pass  # a file that differs is caught above; read-tree names anything else
        git.run(["read-tree", "-m", "-u", old, new])
